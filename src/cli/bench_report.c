/* clnn bench output: aligned tables for people, one JSON object for scripts.
 * JSON keys are an interface: add new ones, never rename or drop. */
#include "bench.h"
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ tables */

enum { MAX_COLS = 12, CELL = 160 };

typedef struct table {
    int cols;
    const char *header[MAX_COLS];
    bool right[MAX_COLS];
    char (*cells)[MAX_COLS][CELL];
    size_t rows;
} table;

/* Columns hold "µs", whose two bytes show as one character. */
static int display_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void print_padded(const char *text, int width, bool right, bool last)
{
    int pad = width - display_width(text);
    if (pad < 0)
        pad = 0;
    if (right)
        printf("%*s%s", pad, "", text);
    else
        printf("%s%*s", text, last ? 0 : pad, "");
    fputs(last ? "\n" : "  ", stdout);
}

static void print_table(const table *t, const char *indent)
{
    int width[MAX_COLS];
    for (int c = 0; c < t->cols; c++) {
        width[c] = display_width(t->header[c]);
        for (size_t r = 0; r < t->rows; r++) {
            int w = display_width(t->cells[r][c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    fputs(indent, stdout);
    for (int c = 0; c < t->cols; c++)
        print_padded(t->header[c], width[c], t->right[c], c + 1 == t->cols);
    for (size_t r = 0; r < t->rows; r++) {
        fputs(indent, stdout);
        for (int c = 0; c < t->cols; c++)
            print_padded(t->cells[r][c], width[c], t->right[c], c + 1 == t->cols);
    }
}

/* Negative values mean "not available" throughout bench_result. */
static const char *num(char *buf, double v, int decimals)
{
    if (v < 0.0 || !isfinite(v))
        snprintf(buf, CELL, "-");
    else
        snprintf(buf, CELL, "%.*f", decimals, v);
    return buf;
}

/* Rates span 0.01 to 10^5: three significant figures or whole numbers. */
static const char *rate_text(char *buf, double v)
{
    return num(buf, v, v >= 100.0 ? 0 : v >= 10.0 ? 1 : 2);
}

static const char *launches_text(char *buf, double v)
{
    return num(buf, v, v == floor(v) ? 0 : 2);
}

static const char *kind_name(bench_kind k)
{
    switch (k) {
    case BENCH_COMPUTE:
        return "compute";
    case BENCH_MEMORY:
        return "memory";
    case BENCH_TRANSFER:
        return "transfer";
    }
    return "unknown";
}

static const char *optimizer_text(clnn_optimizer_kind k)
{
    return k == CLNN_OPTIMIZER_ADAM ? "adam (lr 0.001)" : "sgd (lr 0.01, momentum 0.9)";
}

/* Start-up times run from a millisecond to minutes. */
static const char *duration(char *buf, double seconds)
{
    if (seconds < 1.0)
        snprintf(buf, CELL, "%.1f ms", seconds * 1e3);
    else
        snprintf(buf, CELL, "%.2f s", seconds);
    return buf;
}

static void text_startup(const bench_options *o, const bench_result *r)
{
    printf("device    %s (%s, %s), %s; gemm %s%s\n", r->device.name, r->device.platform,
           clnn_device_type_name(r->device.type), r->device.opencl_c_version, r->gemm,
           clnn_gemm_backend_available(CLNN_GEMM_CLBLAST) == CLNN_OK ? ""
                                                                     : " (CLBlast not available)");
    printf("network   %s: %zu inputs, %zu outputs, %zu parameters; optimizer %s\n",
           r->spec ? r->spec : o->layers, o->features, r->classes, r->parameters,
           optimizer_text(o->optimizer));
    if (o->host_batches)
        printf("data      random batches sent from the host every step\n");
    else
        printf("data      %zu random rows in device memory, batches in a shuffled order\n",
               o->rows);
    double compile = r->first_step_s - r->warm_step_s;
    char t[6][CELL];
    printf("start-up  first-step latency %s (context %s + network %s + first step %s);\n"
           "          the second step took %s, so compiling kernels took about %s\n",
           duration(t[0], r->first_step_latency_s), duration(t[1], r->context_s),
           duration(t[2], r->network_s), duration(t[3], r->first_step_s),
           duration(t[4], r->warm_step_s), duration(t[5], compile > 0.0 ? compile : 0.0));
    if (o->cold)
        printf("          cold start: the driver's on-disk kernel cache was disabled\n");
    else
        printf("          possibly a warm start: drivers such as PoCL keep compiled kernels in an\n"
               "          on-disk cache; --cold times a first-ever start\n");
    fflush(stdout);
}

static void text_peak(const bench_result *r)
{
    printf("peak      %.1f GFLOP/s (fma chains), %.1f GB/s (copy of %zu MiB, read + write)\n",
           r->peak.gflops, r->peak.gbps, r->peak.copy_bytes >> 20);
    printf("launch    %.2f µs an empty kernel queued back to back, %.1f µs enqueued and\n"
           "          waited for: no launch in a step takes less\n",
           r->peak.launch_us, r->peak.launch_wait_us);
    fflush(stdout);
}

static void text_batch(const bench_result *r, const bench_batch *b)
{
    printf("\nbatch %zu: %.0f samples/s (fastest of %zu rounds; median %.0f), %.3f ms/step "
           "(median), %zu steps in %.2f s\n",
           b->batch, b->samples_per_s, b->rounds, b->samples_per_s_median, b->step_us * 1e-3,
           b->steps, b->seconds);
    double launches = 0.0, idle_us = 0.0;
    for (size_t i = 0; i < b->nkernels; i++) {
        launches += b->kernels[i].launches;
        idle_us += b->kernels[i].gap_us;
    }
    printf("device time %.3f ms/step in %.0f launches (profiled over %zu steps)\n",
           b->device_us * 1e-3, launches, b->profiled_steps);
    printf("device idle between them %.3f ms/step (IDLE µs below)", idle_us * 1e-3);
    if (r->have_peak)
        printf("; %.0f empty kernels queued back\n"
               "  to back take %.3f ms (%.2f µs each)",
               launches, launches * r->peak.launch_us * 1e-3, r->peak.launch_us);
    putchar('\n');
    printf("launch overhead and host work %.3f ms/step, %.1f%% of the step (median round)\n",
           b->overhead_us * 1e-3, b->overhead_pct < 0.0 ? 0.0 : b->overhead_pct);
    /* Separate runs: on a busy machine the profiled one can come out slower. */
    if (b->device_us > 1.05 * b->step_us)
        printf("note: the profiled device time exceeds the unprofiled step time, so the\n"
               "machine was busy or profiling slowed the kernels; compare within one run\n");
    putchar('\n');

    table t = {.cols = 12,
               .header = {"SCOPE", "KERNEL", "KIND", "LAUNCHES/STEP", "µs/STEP", "IDLE µs",
                          "%STEP", "GFLOP/s", "GB/s", "%PEAK", "%COPY", "ALONE%COPY"},
               .right = {false, false, false, true, true, true, true, true, true, true, true,
                         true}};
    t.cells = calloc(b->nkernels ? b->nkernels : 1, sizeof *t.cells);
    if (!t.cells) {
        cli_error("out of host memory");
        return;
    }
    for (size_t i = 0; i < b->nkernels; i++) {
        const bench_kernel *k = &b->kernels[i];
        char(*c)[CELL] = t.cells[i];
        snprintf(c[0], CELL, "%s", k->scope);
        snprintf(c[1], CELL, "%s", k->kernel);
        snprintf(c[2], CELL, "%s", kind_name(k->kind));
        launches_text(c[3], k->launches);
        num(c[4], k->us, 1);
        num(c[5], k->gap_us, 1);
        num(c[6], k->pct_step, 1);
        rate_text(c[7], k->gflops);
        rate_text(c[8], k->gbps);
        num(c[9], k->pct_peak, 1);
        num(c[10], k->pct_copy, 0);
        num(c[11], k->pct_copy_alone, 0);
    }
    t.rows = b->nkernels;
    print_table(&t, "  ");
    free(t.cells);

    table p = {.cols = 5,
               .header = {"PART", "FORWARD µs", "BACKWARD µs", "TOTAL µs", "%STEP"},
               .right = {false, true, true, true, true}};
    p.cells = calloc(b->nparts ? b->nparts : 1, sizeof *p.cells);
    if (!p.cells) {
        cli_error("out of host memory");
        return;
    }
    for (size_t i = 0; i < b->nparts; i++) {
        const bench_part *q = &b->parts[i];
        snprintf(p.cells[i][0], CELL, "%s", q->name);
        num(p.cells[i][1], q->forward_us, 1);
        num(p.cells[i][2], q->backward_us, 1);
        num(p.cells[i][3], q->total_us, 1);
        num(p.cells[i][4], q->pct_step, 1);
    }
    p.rows = b->nparts;
    putchar('\n');
    print_table(&p, "  ");
    free(p.cells);
    fflush(stdout);
}

void bench_report_text(const bench_options *o, const bench_result *r, int stage,
                       size_t batch_index)
{
    switch (stage) {
    case BENCH_STAGE_STARTUP:
        text_startup(o, r);
        break;
    case BENCH_STAGE_PEAK:
        text_peak(r);
        break;
    case BENCH_STAGE_BATCH:
        text_batch(r, &r->batches[batch_index]);
        break;
    default:
        break;
    }
}

/* -------------------------------------------------------------- JSON */

/* JSON has no NaN or infinity; unavailable figures are null. */
static void json_number(double v)
{
    if (v < 0.0 || !isfinite(v))
        fputs("null", stdout);
    else
        printf("%.6g", v);
}

static void json_key(const char *key, bool *first)
{
    printf("%s\"%s\":", *first ? "" : ",", key);
    *first = false;
}

static void json_kernel(const bench_kernel *k)
{
    bool f = true;
    putchar('{');
    json_key("scope", &f);
    cli_json_string(k->scope);
    json_key("kernel", &f);
    cli_json_string(k->kernel);
    json_key("kind", &f);
    cli_json_string(kind_name(k->kind));
    json_key("launches_per_step", &f);
    json_number(k->launches);
    json_key("us_per_step", &f);
    json_number(k->us);
    json_key("pct_step", &f);
    json_number(k->pct_step);
    json_key("gflops", &f);
    json_number(k->gflops);
    json_key("gbps", &f);
    json_number(k->gbps);
    json_key("pct_peak", &f);
    json_number(k->pct_peak);
    json_key("copy_gbps", &f);
    json_number(k->copy_gbps);
    json_key("pct_copy", &f);
    json_number(k->pct_copy);
    json_key("gap_us", &f);
    json_number(k->gap_us);
    json_key("best_us", &f);
    json_number(k->best_us);
    json_key("pct_copy_best", &f);
    json_number(k->pct_copy_best);
    json_key("alone_us", &f);
    json_number(k->alone_us);
    json_key("pct_copy_alone", &f);
    json_number(k->pct_copy_alone);
    putchar('}');
}

static void json_part(const bench_part *p)
{
    bool f = true;
    putchar('{');
    json_key("part", &f);
    cli_json_string(p->name);
    json_key("forward_us", &f);
    json_number(p->forward_us);
    json_key("backward_us", &f);
    json_number(p->backward_us);
    json_key("total_us", &f);
    json_number(p->total_us);
    json_key("pct_step", &f);
    json_number(p->pct_step);
    putchar('}');
}

static void json_batch(const bench_batch *b)
{
    bool f = true;
    putchar('{');
    json_key("batch", &f);
    printf("%zu", b->batch);
    json_key("steps", &f);
    printf("%zu", b->steps);
    json_key("seconds", &f);
    json_number(b->seconds);
    json_key("rounds", &f);
    printf("%zu", b->rounds);
    json_key("samples_per_s", &f);
    json_number(b->samples_per_s);
    json_key("samples_per_s_median", &f);
    json_number(b->samples_per_s_median);
    json_key("step_us", &f);
    json_number(b->step_us);
    json_key("profiled_steps", &f);
    printf("%zu", b->profiled_steps);
    json_key("device_us", &f);
    json_number(b->device_us);
    json_key("overhead_us", &f);
    json_number(b->overhead_us);
    json_key("overhead_pct", &f);
    json_number(b->overhead_pct);
    json_key("kernels", &f);
    putchar('[');
    for (size_t i = 0; i < b->nkernels; i++) {
        if (i)
            putchar(',');
        json_kernel(&b->kernels[i]);
    }
    putchar(']');
    json_key("parts", &f);
    putchar('[');
    for (size_t i = 0; i < b->nparts; i++) {
        if (i)
            putchar(',');
        json_part(&b->parts[i]);
    }
    fputs("]}", stdout);
}

static void json_all(const bench_options *o, const bench_result *r)
{
    bool f = true;
    putchar('{');
    json_key("clnn_version", &f);
    cli_json_string(clnn_version());
    json_key("device", &f);
    {
        bool g = true;
        putchar('{');
        json_key("index", &g);
        printf("%zu", r->device.index);
        json_key("name", &g);
        cli_json_string(r->device.name);
        json_key("platform", &g);
        cli_json_string(r->device.platform);
        json_key("vendor", &g);
        cli_json_string(r->device.vendor);
        json_key("type", &g);
        cli_json_string(clnn_device_type_name(r->device.type));
        json_key("driver_version", &g);
        cli_json_string(r->device.driver_version);
        json_key("compute_units", &g);
        printf("%u", r->device.compute_units);
        putchar('}');
    }
    json_key("gemm", &f);
    cli_json_string(r->gemm ? r->gemm : "");
    json_key("clblast_available", &f);
    printf("%s", clnn_gemm_backend_available(CLNN_GEMM_CLBLAST) == CLNN_OK ? "true" : "false");
    json_key("layers", &f);
    cli_json_string(r->spec ? r->spec : o->layers);
    json_key("features", &f);
    printf("%zu", o->features);
    json_key("classes", &f);
    printf("%zu", r->classes);
    json_key("parameters", &f);
    printf("%zu", r->parameters);
    json_key("optimizer", &f);
    cli_json_string(o->optimizer == CLNN_OPTIMIZER_ADAM ? "adam" : "sgd");
    json_key("data_rows_on_device", &f);
    printf("%zu", o->host_batches ? 0 : o->rows);
    json_key("cold", &f);
    fputs(o->cold ? "true" : "false", stdout);
    json_key("startup", &f);
    {
        bool g = true;
        putchar('{');
        json_key("context_s", &g);
        json_number(r->context_s);
        json_key("network_s", &g);
        json_number(r->network_s);
        json_key("first_step_s", &g);
        json_number(r->first_step_s);
        json_key("warm_step_s", &g);
        json_number(r->warm_step_s);
        json_key("compile_s", &g);
        json_number(r->first_step_s > r->warm_step_s ? r->first_step_s - r->warm_step_s : 0.0);
        json_key("first_step_latency_s", &g);
        json_number(r->first_step_latency_s);
        putchar('}');
    }
    json_key("peak", &f);
    if (r->have_peak) {
        bool g = true;
        putchar('{');
        json_key("gflops", &g);
        json_number(r->peak.gflops);
        json_key("gbps", &g);
        json_number(r->peak.gbps);
        json_key("copy_bytes", &g);
        printf("%zu", r->peak.copy_bytes);
        json_key("launch_us", &g);
        json_number(r->peak.launch_us);
        json_key("launch_wait_us", &g);
        json_number(r->peak.launch_wait_us);
        putchar('}');
    } else {
        fputs("null", stdout);
    }
    json_key("batches", &f);
    putchar('[');
    for (size_t i = 0; i < r->nbatches; i++) {
        if (i)
            putchar(',');
        json_batch(&r->batches[i]);
    }
    fputs("]}\n", stdout);
    fflush(stdout);
}

void bench_report_json(const bench_options *o, const bench_result *r, int stage,
                       size_t batch_index)
{
    (void)batch_index;
    if (stage == BENCH_STAGE_DONE)
        json_all(o, r);
}
