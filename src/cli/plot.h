/* clnn plot: loss and accuracy curves from a clnn train --metrics file. */
#ifndef CLNN_CLI_PLOT_H
#define CLNN_CLI_PLOT_H

#include <stdbool.h>
#include <stddef.h>

/* Size of the picture, in pixels (PNG) or points (SVG). */
#define PLOT_WIDTH 960
#define PLOT_HEIGHT 400

int cmd_plot(int argc, char **argv);
void cmd_plot_help(void);

/* A curve; NAN values leave gaps. */
typedef struct plot_series {
    double *x;
    double *y;
    size_t n;
} plot_series;

/* What the picture shows, read from the records by cmd_plot.c. */
typedef struct plot_data {
    const char *title;
    const char *x_label;     /* "epoch", or "step" when there are no epoch records */
    plot_series train_loss;  /* epoch records: mean over each epoch */
    plot_series train_steps; /* step records: running mean within the epoch */
    plot_series test_loss;
    plot_series test_acc;
} plot_data;

/* Draw two panels (loss: train and test; accuracy: test) into path, a PNG or
 * (svg) an SVG file, written to a temporary name and renamed. Only in builds
 * with cairo (CLNN_HAVE_CAIRO). On failure writes why to err. */
bool plot_draw(const plot_data *d, const char *path, bool svg, char *err, size_t cap);

#endif
