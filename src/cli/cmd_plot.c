/* clnn plot: options, reading the metrics file, and turning records into
 * curves; the drawing itself (with cairo) is in plot_draw.c. */
#include "args.h"
#include "cli.h"
#include "os.h"
#include "metrics.h"
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cmd_plot_help(void)
{
    printf("Usage: clnn plot FILE -o IMAGE [OPTIONS]\n"
           "Draw the loss (train and test) and test-accuracy curves of a metrics file\n"
           "written by clnn train --metrics (JSON Lines, or CSV when FILE ends in .csv)\n"
           "into IMAGE, a PNG or SVG picture of %dx%d pixels.\n\n"
           "Options:\n"
           "  -o, --output IMAGE    picture to write; its extension, .png or .svg, picks\n"
           "                        the format (required)\n"
           "      --title TEXT      title above the panels (default \"clnn training: \"\n"
           "                        and the name of FILE)\n"
           "  -h, --help            show this help\n\n"
           "Exit status: 0 success, 1 failure (unreadable or malformed FILE, IMAGE not\n"
           "written, clnn built without cairo), 2 bad usage.\n",
           PLOT_WIDTH, PLOT_HEIGHT);
#ifndef CLNN_HAVE_CAIRO
    printf("\nThis build of clnn has no cairo, so clnn plot cannot draw: install cairo\n"
           "(Debian: libcairo2-dev) and rebuild (meson setup --reconfigure BUILD -Dplot=enabled).\n");
#endif
}

enum { OPT_TITLE = 256 };

static const struct option longopts[] = {
    {"output", required_argument, NULL, 'o'},
    {"title", required_argument, NULL, OPT_TITLE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct plot_options {
    const char *input;
    const char *output;
    const char *title;
    bool svg;
} plot_options;

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && cli_strcasecmp(s + n - m, suffix) == 0;
}

/* Returns -1 to go on, or the exit status (help shown, or a usage error). */
static int parse_options(int argc, char **argv, plot_options *o)
{
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->output = optarg;
            break;
        case OPT_TITLE:
            o->title = optarg;
            break;
        case 'h':
            cmd_plot_help();
            return CLI_EXIT_OK;
        default:
            return cli_getopt_error("plot", c, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error("plot", "missing FILE (a metrics file of clnn train --metrics)");
    if (optind + 1 < argc)
        return cli_usage_error("plot", "unexpected argument '%s'", argv[optind + 1]);
    o->input = argv[optind];
    if (!o->output)
        return cli_usage_error("plot", "missing -o IMAGE (the .png or .svg file to write)");
    if (has_suffix(o->output, ".svg"))
        o->svg = true;
    else if (!has_suffix(o->output, ".png"))
        return cli_usage_error("plot", "invalid value '%s' for --output: the name must end in "
                                       ".png or .svg, which picks the format",
                               o->output);
    return -1;
}

/* Growable series; capacity doubles. */
typedef struct series_buf {
    plot_series s;
    size_t cap;
} series_buf;

static bool series_push(series_buf *b, double x, double y)
{
    if (b->s.n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        double *nx = realloc(b->s.x, cap * sizeof *nx);
        if (!nx)
            return false;
        b->s.x = nx;
        double *ny = realloc(b->s.y, cap * sizeof *ny);
        if (!ny)
            return false;
        b->s.y = ny;
        b->cap = cap;
    }
    b->s.x[b->s.n] = x;
    b->s.y[b->s.n] = y;
    b->s.n++;
    return true;
}

/* Records collected in file order; x is the step until the epoch length is known. */
typedef struct collected {
    series_buf train_loss, train_steps, test_loss, test_acc;
    double steps_per_epoch; /* from the first epoch record; 0 until then */
    size_t records;
    bool out_of_memory;
} collected;

static bool collect(void *user, const metrics_record *r, const char *line, size_t len)
{
    (void)line, (void)len;
    collected *c = user;
    if (!r)
        return true; /* the CSV header */
    c->records++;
    bool ok = true;
    double x = (double)r->step;
    if (r->kind == METRICS_STEP) {
        ok = series_push(&c->train_steps, x, r->train_loss);
    } else {
        if (c->steps_per_epoch == 0.0 && r->epoch > 0)
            c->steps_per_epoch = (double)r->step / (double)r->epoch;
        ok = series_push(&c->train_loss, x, r->train_loss) &&
             series_push(&c->test_loss, x, r->test_loss) &&
             series_push(&c->test_acc, x, r->test_acc);
    }
    if (!ok)
        c->out_of_memory = true;
    return ok;
}

static void scale_x(plot_series *s, double by)
{
    for (size_t i = 0; i < s->n; i++)
        s->x[i] /= by;
}

static void free_collected(collected *c)
{
    series_buf *all[] = {&c->train_loss, &c->train_steps, &c->test_loss, &c->test_acc};
    for (size_t i = 0; i < 4; i++) {
        free(all[i]->s.x);
        free(all[i]->s.y);
    }
}

static int draw(const plot_options *o, collected *c)
{
    char title[1024];
    if (!o->title) {
        const char *slash = strrchr(o->input, '/');
        snprintf(title, sizeof title, "clnn training: %s", slash ? slash + 1 : o->input);
    }
    plot_data d = {
        .title = o->title ? o->title : title,
        .x_label = "epoch",
        .train_loss = c->train_loss.s,
        .train_steps = c->train_steps.s,
        .test_loss = c->test_loss.s,
        .test_acc = c->test_acc.s,
    };
    /* Epochs on the x axis when the epoch length is known (step records
     * then fall between whole epochs); raw steps otherwise. */
    if (c->steps_per_epoch > 0.0) {
        scale_x(&d.train_loss, c->steps_per_epoch);
        scale_x(&d.train_steps, c->steps_per_epoch);
        scale_x(&d.test_loss, c->steps_per_epoch);
        scale_x(&d.test_acc, c->steps_per_epoch);
    } else {
        d.x_label = "step";
    }
#ifdef CLNN_HAVE_CAIRO
    char err[1024];
    if (!plot_draw(&d, o->output, o->svg, err, sizeof err))
        return cli_error("%s", err);
    printf("wrote %s (%zu records of %s)\n", o->output, c->records, o->input);
    return CLI_EXIT_OK;
#else
    (void)d;
    return CLI_EXIT_FAILURE; /* cmd_plot said why before reading anything */
#endif
}

int cmd_plot(int argc, char **argv)
{
    plot_options o = {.input = NULL};
    int status = parse_options(argc, argv, &o);
    if (status >= 0)
        return status;
#ifndef CLNN_HAVE_CAIRO
    return cli_error("this clnn was built without cairo, which clnn plot draws with: install it "
                     "(Debian: libcairo2-dev, or tools/install-deps.sh) and rebuild with "
                     "'meson setup --reconfigure BUILD -Dplot=enabled'");
#endif
    collected c = {.steps_per_epoch = 0.0};
    char err[1024];
    if (!metrics_read(o.input, collect, &c, err, sizeof err))
        status = c.out_of_memory ? cli_error("out of memory reading '%s'", o.input)
                                 : cli_error("%s", err);
    else if (c.records == 0)
        status = cli_error("'%s' holds no records yet (clnn train --metrics writes one per "
                           "epoch)",
                           o.input);
    else
        status = draw(&o, &c);
    free_collected(&c);
    return status;
}
