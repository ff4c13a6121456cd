/* Drawing for clnn plot with cairo: two panels side by side, loss (train and
 * test) and test accuracy, each with a frame, grid, ticks, axis labels and a
 * legend, under a title. PNG through an image surface, SVG through cairo's
 * SVG surface; both written through our own FILE so errors name the cause. */
#include "os.h"
#include "plot.h"

#include <cairo.h>
#if CAIRO_HAS_SVG_SURFACE
#include <cairo-svg.h>
#endif

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define FONT "sans-serif"
#define PLOT_PI 3.14159265358979323846
#define INSET 10.0 /* pixels between the frame and the data, so end markers are whole */

typedef struct rgb {
    double r, g, b;
} rgb;

/* The usual blue and orange of plotting tools, readable by most colour-blind viewers. */
static const rgb TRAIN_COLOR = {0.122, 0.467, 0.706};
static const rgb TEST_COLOR = {1.000, 0.498, 0.055};
static const rgb GRID_COLOR = {0.88, 0.88, 0.88};
static const rgb INK = {0.15, 0.15, 0.15};

typedef struct axis {
    double lo, hi, step;
    int decimals;
} axis;

typedef struct style {
    const plot_series *s;
    rgb color;
    double width;
    double alpha;
    bool markers;
    bool dashed;
    const char *label;
} style;

typedef struct box {
    double x, y, w, h; /* the frame, in device units */
} box;

/* 1, 2, 2.5 or 5 times a power of ten, about range / target; whole numbers
 * only (1, 2, 5, 10, ...) for an axis of epochs. */
static double nice_step(double range, int target, bool whole)
{
    double raw = range / target;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    double nice = f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : (f <= 2.5 && !whole) ? 2.5 : f <= 5.0 ? 5.0 : 10.0;
    double step = nice * mag;
    return whole && step < 1.0 ? 1.0 : step;
}

static axis make_axis(double lo, double hi, int target, bool whole, double pad_fraction)
{
    if (!(hi > lo)) { /* one value: give it room around it */
        double pad = whole ? 1.0 : (fabs(lo) > 0.0 ? fabs(lo) * 0.1 : 0.5);
        lo -= pad;
        hi += pad;
    } else {
        double pad = (hi - lo) * pad_fraction;
        lo -= pad;
        hi += pad;
    }
    axis a;
    a.step = nice_step(hi - lo, target, whole);
    a.lo = floor(lo / a.step + 1e-9) * a.step;
    a.hi = ceil(hi / a.step - 1e-9) * a.step;
    /* Fewest decimals that show every tick exactly. */
    a.decimals = 0;
    while (a.decimals < 6) {
        double scaled = a.step * pow(10.0, a.decimals);
        if (fabs(scaled - round(scaled)) < 1e-6 * scaled)
            break;
        a.decimals++;
    }
    return a;
}

/* Range of the finite values of some series, x or y. */
static bool series_range(const plot_series *const *s, size_t count, bool y, double *lo, double *hi)
{
    bool any = false;
    for (size_t k = 0; k < count; k++) {
        for (size_t i = 0; i < s[k]->n; i++) {
            double v = y ? s[k]->y[i] : s[k]->x[i];
            double other = y ? s[k]->x[i] : s[k]->y[i];
            if (!isfinite(v) || !isfinite(other))
                continue;
            if (!any || v < *lo)
                *lo = v;
            if (!any || v > *hi)
                *hi = v;
            any = true;
        }
    }
    return any;
}

static double map(double v, const axis *a, double from, double to)
{
    return from + (v - a->lo) / (a->hi - a->lo) * (to - from);
}

static void set_color(cairo_t *cr, rgb c, double alpha)
{
    cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

/* Text anchored at (x, y): ha 0 left, 0.5 centre, 1 right; va 0 top, 0.5
 * middle, 1 bottom of the font's extent. */
static void text(cairo_t *cr, double x, double y, const char *s, double ha, double va)
{
    cairo_text_extents_t te;
    cairo_font_extents_t fe;
    cairo_text_extents(cr, s, &te);
    cairo_font_extents(cr, &fe);
    cairo_move_to(cr, x - te.x_advance * ha, y + fe.ascent - (fe.ascent + fe.descent) * va);
    cairo_show_text(cr, s);
}

static void font(cairo_t *cr, double size, bool bold)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static void draw_axes(cairo_t *cr, const box *b, const axis *ax, const axis *ay,
                      const char *x_label, const char *y_label)
{
    char label[64];
    font(cr, 11, false);
    cairo_set_line_width(cr, 1.0);
    /* Grid and ticks: x. */
    for (double v = ax->lo; v <= ax->hi + ax->step * 1e-6; v += ax->step) {
        double px = round(map(v, ax, b->x + INSET, b->x + b->w - INSET)) + 0.5;
        set_color(cr, GRID_COLOR, 1.0);
        cairo_move_to(cr, px, b->y);
        cairo_line_to(cr, px, b->y + b->h);
        cairo_stroke(cr);
        set_color(cr, INK, 1.0);
        cairo_move_to(cr, px, b->y + b->h);
        cairo_line_to(cr, px, b->y + b->h + 4);
        cairo_stroke(cr);
        snprintf(label, sizeof label, "%.*f", ax->decimals, v);
        text(cr, px, b->y + b->h + 6, label, 0.5, 0.0);
    }
    /* Grid and ticks: y. */
    for (double v = ay->lo; v <= ay->hi + ay->step * 1e-6; v += ay->step) {
        double py = round(map(v, ay, b->y + b->h - INSET, b->y + INSET)) + 0.5;
        set_color(cr, GRID_COLOR, 1.0);
        cairo_move_to(cr, b->x, py);
        cairo_line_to(cr, b->x + b->w, py);
        cairo_stroke(cr);
        set_color(cr, INK, 1.0);
        cairo_move_to(cr, b->x - 4, py);
        cairo_line_to(cr, b->x, py);
        cairo_stroke(cr);
        snprintf(label, sizeof label, "%.*f", ay->decimals, v);
        text(cr, b->x - 7, py, label, 1.0, 0.5);
    }
    set_color(cr, INK, 1.0);
    cairo_rectangle(cr, b->x + 0.5, b->y + 0.5, b->w - 1, b->h - 1);
    cairo_stroke(cr);
    font(cr, 12, false);
    text(cr, b->x + b->w / 2, b->y + b->h + 24, x_label, 0.5, 0.0);
    cairo_save(cr);
    cairo_translate(cr, b->x - 48, b->y + b->h / 2);
    cairo_rotate(cr, -PLOT_PI / 2);
    text(cr, 0, 0, y_label, 0.5, 1.0);
    cairo_restore(cr);
}

static void draw_series(cairo_t *cr, const box *b, const axis *ax, const axis *ay, const style *st)
{
    const plot_series *s = st->s;
    cairo_save(cr);
    cairo_rectangle(cr, b->x, b->y, b->w, b->h);
    cairo_clip(cr);
    set_color(cr, st->color, st->alpha);
    cairo_set_line_width(cr, st->width);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    if (st->dashed) {
        const double dash[] = {6.0, 3.0};
        cairo_set_dash(cr, dash, 2, 0.0);
    }
    bool pen_down = false;
    for (size_t i = 0; i < s->n; i++) {
        if (!isfinite(s->x[i]) || !isfinite(s->y[i])) { /* a gap */
            cairo_stroke(cr);
            pen_down = false;
            continue;
        }
        double px = map(s->x[i], ax, b->x + INSET, b->x + b->w - INSET);
        double py = map(s->y[i], ay, b->y + b->h - INSET, b->y + INSET);
        if (pen_down)
            cairo_line_to(cr, px, py);
        else
            cairo_move_to(cr, px, py);
        pen_down = true;
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0.0);
    for (size_t i = 0; st->markers && i < s->n; i++) {
        if (!isfinite(s->x[i]) || !isfinite(s->y[i]))
            continue;
        double px = map(s->x[i], ax, b->x + INSET, b->x + b->w - INSET);
        double py = map(s->y[i], ay, b->y + b->h - INSET, b->y + INSET);
        cairo_new_sub_path(cr);
        cairo_arc(cr, px, py, 3.5, 0, 2 * PLOT_PI);
        set_color(cr, st->color, 1.0);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_set_line_width(cr, 1.0);
        cairo_stroke(cr);
    }
    cairo_restore(cr);
}

/* Legend in the top-right (top) or bottom-right corner of the frame: the
 * corners curves that fall (loss) or rise (accuracy) leave free. */
static void draw_legend(cairo_t *cr, const box *b, const style *styles, size_t count, bool top)
{
    font(cr, 11, false);
    double wmax = 0;
    size_t shown = 0;
    for (size_t i = 0; i < count; i++) {
        if (styles[i].s->n == 0)
            continue;
        cairo_text_extents_t te;
        cairo_text_extents(cr, styles[i].label, &te);
        wmax = te.x_advance > wmax ? te.x_advance : wmax;
        shown++;
    }
    if (!shown)
        return;
    const double line = 18, pad = 8, sample = 26;
    double w = pad + sample + 6 + wmax + pad, h = pad + line * (double)shown + pad - 4;
    double x = b->x + b->w - w - 8, y = top ? b->y + 8 : b->y + b->h - h - 8;
    cairo_rectangle(cr, x + 0.5, y + 0.5, w, h);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
    cairo_fill_preserve(cr);
    set_color(cr, GRID_COLOR, 1.0);
    cairo_set_line_width(cr, 1.0);
    cairo_stroke(cr);
    double cy = y + pad + line / 2 - 2;
    for (size_t i = 0; i < count; i++) {
        const style *st = &styles[i];
        if (st->s->n == 0)
            continue;
        set_color(cr, st->color, st->alpha);
        cairo_set_line_width(cr, st->width);
        if (st->dashed) {
            const double dash[] = {6.0, 3.0};
            cairo_set_dash(cr, dash, 2, 0.0);
        }
        cairo_move_to(cr, x + pad, cy);
        cairo_line_to(cr, x + pad + sample, cy);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0.0);
        if (st->markers) {
            cairo_arc(cr, x + pad + sample / 2, cy, 3.5, 0, 2 * PLOT_PI);
            set_color(cr, st->color, 1.0);
            cairo_fill(cr);
        }
        set_color(cr, INK, 1.0);
        text(cr, x + pad + sample + 6, cy, st->label, 0.0, 0.5);
        cy += line;
    }
}

/* One panel: title, axes (x shared by both panels, y over the panel's
 * series), curves, legend. */
static void draw_panel(cairo_t *cr, const box *b, const char *title, const char *x_label,
                       const char *y_label, const style *styles, size_t count, bool legend_top,
                       const axis *ax)
{
    font(cr, 14, true);
    set_color(cr, INK, 1.0);
    text(cr, b->x + b->w / 2, b->y - 8, title, 0.5, 1.0);
    const plot_series *s[4];
    for (size_t i = 0; i < count; i++)
        s[i] = styles[i].s;
    double ylo = 0, yhi = 0;
    if (!series_range(s, count, true, &ylo, &yhi)) {
        set_color(cr, INK, 1.0);
        cairo_set_line_width(cr, 1.0);
        cairo_rectangle(cr, b->x + 0.5, b->y + 0.5, b->w - 1, b->h - 1);
        cairo_stroke(cr);
        font(cr, 12, false);
        text(cr, b->x + b->w / 2, b->y + b->h / 2, "no data in these records", 0.5, 0.5);
        return;
    }
    axis ay = make_axis(ylo, yhi, 6, false, 0.04);
    draw_axes(cr, b, ax, &ay, x_label, y_label);
    for (size_t i = 0; i < count; i++)
        draw_series(cr, b, ax, &ay, &styles[i]);
    draw_legend(cr, b, styles, count, legend_top);
}

static void draw_all(cairo_t *cr, const plot_data *d)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    font(cr, 17, true);
    set_color(cr, INK, 1.0);
    text(cr, PLOT_WIDTH / 2.0, 12, d->title, 0.5, 0.0);
    const double top = 68, bottom = 52, left = 72, gap = 84, right = 20;
    const double w = (PLOT_WIDTH - left - gap - right) / 2, h = PLOT_HEIGHT - top - bottom;
    const box loss_box = {left, top, w, h}, acc_box = {left + w + gap, top, w, h};
    const style loss[] = {
        {&d->train_steps, TRAIN_COLOR, 1.0, 0.35, false, false, "train, within epoch"},
        {&d->train_loss, TRAIN_COLOR, 2.0, 1.0, true, false, "train"},
        {&d->test_loss, TEST_COLOR, 2.0, 1.0, true, false, "test"},
    };
    const style acc[] = {{&d->test_acc, TEST_COLOR, 2.0, 1.0, true, false, "test"}};
    /* One x axis for both panels, so an epoch sits at the same place in each;
     * whole-number ticks when every point is at a whole epoch (or step). */
    const plot_series *all[] = {&d->train_steps, &d->train_loss, &d->test_loss, &d->test_acc};
    double xlo = 0, xhi = 0;
    series_range(all, 4, false, &xlo, &xhi);
    bool whole_x = true;
    for (size_t k = 0; k < 4; k++)
        for (size_t i = 0; i < all[k]->n; i++)
            if (isfinite(all[k]->x[i]) && all[k]->x[i] != floor(all[k]->x[i]))
                whole_x = false;
    const axis ax = make_axis(xlo, xhi, 8, whole_x, 0.0);
    /* Regression runs (--loss mse) record no accuracy, and their loss is
     * the mean squared error: without accuracies the loss is not named. */
    double alo = 0, ahi = 0;
    const plot_series *acc_series[] = {&d->test_acc};
    const bool classes = series_range(acc_series, 1, true, &alo, &ahi);
    draw_panel(cr, &loss_box, "Loss", d->x_label, classes ? "cross-entropy loss" : "loss", loss,
               sizeof loss / sizeof loss[0], true, &ax);
    draw_panel(cr, &acc_box, "Accuracy", d->x_label, "accuracy (fraction correct)", acc, 1, false,
               &ax);
}

static cairo_status_t write_stream(void *closure, const unsigned char *data, unsigned int length)
{
    return fwrite(data, 1, length, closure) == length ? CAIRO_STATUS_SUCCESS
                                                      : CAIRO_STATUS_WRITE_ERROR;
}

bool plot_draw(const plot_data *d, const char *path, bool svg, char *err, size_t cap)
{
#if !CAIRO_HAS_SVG_SURFACE
    if (svg) {
        snprintf(err, cap, "cannot write '%s': this cairo has no SVG support; write a .png", path);
        return false;
    }
#endif
    /* A temporary name and a rename: an existing picture is replaced whole or not at all. */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = cli_fopen(tmp, "wb");
    if (!f) {
        snprintf(err, cap, "cannot write '%s': %s", path, strerror(errno));
        return false;
    }
    cairo_surface_t *surface;
#if CAIRO_HAS_SVG_SURFACE
    if (svg)
        surface = cairo_svg_surface_create_for_stream(write_stream, f, PLOT_WIDTH, PLOT_HEIGHT);
    else
#endif
        surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, PLOT_WIDTH, PLOT_HEIGHT);
    cairo_t *cr = cairo_create(surface);
    draw_all(cr, d);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS) {
        if (svg) {
            cairo_surface_finish(surface); /* writes the document's end */
            st = cairo_surface_status(surface);
        } else {
            st = cairo_surface_write_to_png_stream(surface, write_stream, f);
        }
    }
    cairo_surface_destroy(surface);
    /* Drop cairo's font caches: the process is about to exit, and leak
     * checkers (the asan test setup) would otherwise report them. */
    cairo_debug_reset_static_data();
    int saved = errno;
    bool ok = st == CAIRO_STATUS_SUCCESS;
    if (fflush(f) != 0 || ferror(f)) {
        saved = errno;
        ok = false;
    }
    if (fclose(f) != 0 && ok) {
        saved = errno;
        ok = false;
    }
    if (ok && !cli_replace(tmp, path)) {
        snprintf(err, cap, "cannot write '%s': %s", path, strerror(errno));
        cli_remove(tmp);
        return false;
    }
    if (!ok) {
        if (st != CAIRO_STATUS_SUCCESS && st != CAIRO_STATUS_WRITE_ERROR)
            snprintf(err, cap, "cannot draw '%s': %s", path, cairo_status_to_string(st));
        else
            snprintf(err, cap, "cannot write '%s': %s", path, strerror(saved));
        cli_remove(tmp);
    }
    return ok;
}
