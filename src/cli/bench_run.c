/* clnn bench measurements: start-up, peak probes, and for each batch size
 * the samples/s of whole training steps plus a profile of one step.
 *
 * Two contexts on the same device: samples/s comes from one without
 * profiling (events and their bookkeeping cost time on some drivers), the
 * tables from one with it. Steps are queued back to back and waited for once,
 * as clnn train does, so the wall time includes launch overhead but no host
 * stall per step. */
#include "bench.h"
#include "cli.h"
#include "os.h"
#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* With --host-batches: distinct random batches cycled through, so
 * consecutive steps do not see the same data and no host time goes into
 * making more. */
#define DATA_SLOTS 4
/* Untimed steps at each batch size before timing: drivers may compile code
 * for new launch sizes on first use (PoCL does, per local size). */
#define WARMUP_STEPS 3
/* Steps timed to size a --seconds run. */
#define CALIBRATION_STEPS 3
#define MAX_AUTO_STEPS 10000000.0
/* The timed steps of a batch size run in this many rounds, each unprofiled
 * round followed by a profiled one of the same length: on a shared machine a
 * round's figures move with what else runs, so the best and the median
 * round are reported, and each round's overhead compares two runs made
 * under the same conditions. */
#define ROUNDS 5

typedef struct copy_cache {
    size_t bytes;
    double gbps;
} copy_cache;

typedef struct bench_state {
    const bench_options *o;
    bench_result *r;
    clnn_context *ctx, *prof_ctx;
    clnn_net *net, *prof_net;
    float *x;   /* rows × features */
    int32_t *y; /* rows */
    size_t rows; /* o->rows, or DATA_SLOTS × max batch with --host-batches */
    uint32_t *order; /* rows: a shuffle, the data's order on the device */
    size_t max_batch;
    size_t cursor; /* next data slot, or next batch of the order */
    copy_cache *copies;
    size_t ncopies;
} bench_state;

/* splitmix64: only needs to be quick and fixed by the seed. */
static uint64_t next_random(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Inputs uniform in [0, 1) like normalised pixels; labels uniform over the
 * network's outputs; on the device, a shuffled order of the rows. */
static int make_data(bench_state *s)
{
    const bench_options *o = s->o;
    s->max_batch = 0;
    for (size_t i = 0; i < o->nbatches; i++)
        if (o->batches[i] > s->max_batch)
            s->max_batch = o->batches[i];
    s->rows = o->host_batches ? DATA_SLOTS * s->max_batch : o->rows;
    size_t nx = s->rows * o->features;
    s->x = malloc(nx * sizeof *s->x);
    s->y = malloc(s->rows * sizeof *s->y);
    s->order = malloc(s->rows * sizeof *s->order);
    if (!s->x || !s->y || !s->order)
        return cli_error("out of host memory for %zu random rows of %zu", s->rows, o->features);
    uint64_t state = o->seed;
    for (size_t i = 0; i < nx; i++)
        s->x[i] = (float)(next_random(&state) >> 40) * 0x1.0p-24f;
    for (size_t i = 0; i < s->rows; i++)
        s->y[i] = (int32_t)(next_random(&state) % s->r->classes);
    for (size_t i = 0; i < s->rows; i++)
        s->order[i] = (uint32_t)i;
    for (size_t i = s->rows - 1; i > 0; i--) {
        size_t j = next_random(&state) % (i + 1);
        uint32_t t = s->order[i];
        s->order[i] = s->order[j];
        s->order[j] = t;
    }
    return -1;
}

/* Put the data on the device, unless steps send host batches. */
static int place_data(bench_state *s, clnn_net *net)
{
    if (s->o->host_batches)
        return -1;
    clnn_status st = clnn_net_set_data(net, s->x, s->rows, s->o->features, s->y, s->rows);
    if (st == CLNN_ERR_UNSUPPORTED)
        return cli_error("%s; or give clnn bench fewer --rows, or --host-batches",
                         clnn_last_error());
    if (st != CLNN_OK || clnn_net_set_data_order(net, s->order, s->rows) != CLNN_OK)
        return cli_library_error();
    return -1;
}

static int open_context(const bench_options *o, bool profiling, clnn_context **ctx)
{
    clnn_context_options opts;
    clnn_context_options_init(&opts);
    opts.device = o->device;
    opts.gemm = o->gemm;
    opts.profiling = profiling;
    return clnn_context_create(&opts, ctx) == CLNN_OK ? -1 : cli_library_error();
}

static int open_net(const bench_options *o, clnn_context *ctx, clnn_net **net)
{
    clnn_optimizer_options opt;
    clnn_optimizer_options_init(&opt, o->optimizer);
    /* The settings clnn train uses by default. */
    if (o->optimizer == CLNN_OPTIMIZER_SGD)
        opt.momentum = 0.9;
    if (clnn_net_create(ctx, o->features, net) != CLNN_OK ||
        clnn_net_add_layers(*net, o->layers) != CLNN_OK ||
        clnn_net_init(*net, o->seed) != CLNN_OK || clnn_net_set_optimizer(*net, &opt) != CLNN_OK)
        return cli_library_error();
    return -1;
}

/* Queue `steps` training steps of `batch` samples without waiting. */
static int queue_steps(bench_state *s, clnn_net *net, size_t batch, size_t steps)
{
    const size_t f = s->o->features;
    for (size_t i = 0; i < steps; i++) {
        clnn_status st;
        if (s->o->host_batches) {
            size_t slot = s->cursor++ % DATA_SLOTS;
            st = clnn_net_train_batch(net, s->x + slot * s->max_batch * f, batch, f,
                                      s->y + slot * s->max_batch, batch);
        } else {
            st = clnn_net_train_rows(net, s->cursor++ % (s->rows / batch) * batch, batch);
        }
        if (st != CLNN_OK)
            return cli_library_error();
    }
    return -1;
}

/* Queue steps and wait for the device; *seconds is the host wall time. */
static int timed_steps(bench_state *s, clnn_context *ctx, clnn_net *net, size_t batch,
                       size_t steps, double *seconds)
{
    const double t0 = cli_now();
    int status = queue_steps(s, net, batch, steps);
    if (status < 0 && clnn_context_finish(ctx) != CLNN_OK)
        status = cli_library_error();
    if (seconds)
        *seconds = cli_now() - t0;
    return status;
}

static int count_parameters(bench_state *s)
{
    s->r->parameters = 0;
    for (size_t i = 0; i < clnn_net_tensor_count(s->net); i++) {
        clnn_tensor_info t = {.struct_size = sizeof t};
        if (clnn_net_tensor_info(s->net, i, &t) != CLNN_OK)
            return cli_library_error();
        if (t.trainable)
            s->r->parameters += t.numel;
    }
    return -1;
}

/* From before the context exists to the end of the first step: what a user
 * waits for before training makes progress. Kernels are compiled on first
 * use, so the first step minus the second shows what compiling costs. */
static int measure_startup(bench_state *s)
{
    bench_result *r = s->r;
    const size_t batch = s->o->batches[0];
    const double t0 = cli_now();
    int status = open_context(s->o, false, &s->ctx);
    const double t1 = cli_now();
    if (status < 0)
        status = open_net(s->o, s->ctx, &s->net);
    const double t2 = cli_now();
    if (status >= 0)
        return status;
    r->device = (clnn_device_info){.struct_size = sizeof r->device};
    clnn_context_get_device_info(s->ctx, &r->device);
    /* A tuning file picks the backend per shape, so name that, as clnn train
     * does, rather than the backend of shapes the file does not list. */
    r->gemm = clnn_context_is_tuned(s->ctx)
                  ? "tuned"
                  : clnn_gemm_backend_name(clnn_context_gemm_backend(s->ctx));
    r->spec = cli_net_spec(s->net);
    r->classes = clnn_net_out_features(s->net);
    status = count_parameters(s);
    if (status < 0)
        status = make_data(s);
    if (status < 0)
        status = place_data(s, s->net);
    if (status >= 0)
        return status;
    const double t3 = cli_now();
    status = timed_steps(s, s->ctx, s->net, batch, 1, NULL);
    const double t4 = cli_now();
    if (status < 0)
        status = timed_steps(s, s->ctx, s->net, batch, 1, &r->warm_step_s);
    r->context_s = t1 - t0;
    r->network_s = t2 - t1;
    r->first_step_s = t4 - t3;
    /* Making the random data and placing it is the benchmark's own work,
     * not start-up. */
    r->first_step_latency_s = (t2 - t0) + (t4 - t3);
    return status;
}

static double rate(double amount, double seconds)
{
    return seconds > 0.0 && amount > 0.0 ? amount / seconds : -1.0;
}

static double percent(double part, double whole)
{
    return part >= 0.0 && whole > 0.0 ? 100.0 * part / whole : -1.0;
}

/* Transfers are named by the runtime ("upload"); matrix multiplies by their
 * name or, for fused kernels named otherwise, by doing at least one FLOP per
 * byte, far above any elementwise kernel. */
static bench_kind classify(const clnn_profile_entry *e)
{
    if (strcmp(e->kernel, "upload") == 0 || strcmp(e->kernel, "download") == 0)
        return BENCH_TRANSFER;
    if (strstr(e->kernel, "gemm") || (e->bytes > 0.0 && e->flops >= e->bytes))
        return BENCH_COMPUTE;
    return BENCH_MEMORY;
}

/* Copy bandwidth at the size a kernel moves per launch (half read, half
 * written), cached: kernels of one layer share sizes. */
static int copy_at(bench_state *s, double bytes_per_launch, double *gbps)
{
    size_t bytes = (size_t)(bytes_per_launch / 2.0 + 0.5);
    if (bytes == 0)
        bytes = 1;
    for (size_t i = 0; i < s->ncopies; i++) {
        if (s->copies[i].bytes == bytes) {
            *gbps = s->copies[i].gbps;
            return -1;
        }
    }
    if (clnn_context_probe_copy(s->prof_ctx, bytes, gbps) != CLNN_OK)
        return cli_library_error();
    copy_cache *c = realloc(s->copies, (s->ncopies + 1) * sizeof *c);
    if (!c)
        return cli_error("out of host memory");
    s->copies = c;
    c[s->ncopies++] = (copy_cache){bytes, *gbps};
    return -1;
}

/* The kernel run again alone, as many times as the copy probe's smallest
 * copies are. */
#define ALONE_REPS 50

static int alone(bench_state *s, size_t entry, double bytes_per_launch, bench_kernel *k)
{
    double ms;
    if (clnn_context_profile_replay(s->prof_ctx, entry, ALONE_REPS, &ms) != CLNN_OK)
        return cli_library_error();
    k->alone_us = ms * 1e3;
    k->pct_copy_alone = percent(rate(bytes_per_launch * 1e-9, ms * 1e-3), k->copy_gbps);
    return -1;
}

/* "layer 2 relu forward" belongs to part "layer 2 relu"; scopes outside
 * the layers (input, loss, optimizer) are parts of their own. */
static int phase_of(const char *scope, size_t *name_len)
{
    static const char *const suffix[2] = {" forward", " backward"};
    size_t len = strlen(scope);
    *name_len = len;
    if (strncmp(scope, "layer ", 6) != 0)
        return -1;
    for (int p = 0; p < 2; p++) {
        size_t sl = strlen(suffix[p]);
        if (len > sl && strcmp(scope + len - sl, suffix[p]) == 0) {
            *name_len = len - sl;
            return p;
        }
    }
    return -1;
}

static void add_to_part(bench_batch *b, const bench_kernel *k)
{
    size_t len;
    int phase = phase_of(k->scope, &len);
    bench_part *p = NULL;
    for (size_t i = 0; i < b->nparts && !p; i++)
        if (strlen(b->parts[i].name) == len && strncmp(b->parts[i].name, k->scope, len) == 0)
            p = &b->parts[i];
    if (!p) {
        p = &b->parts[b->nparts++];
        snprintf(p->name, sizeof p->name, "%.*s", (int)len, k->scope);
        p->forward_us = p->backward_us = phase < 0 ? -1.0 : 0.0;
        p->total_us = 0.0;
    }
    if (phase == 0)
        p->forward_us += k->us;
    else if (phase == 1)
        p->backward_us += k->us;
    p->total_us += k->us;
}

/* Turn the profile of `steps` steps into per-step rows. */
static int tabulate(bench_state *s, bench_batch *b, const clnn_profile_entry *e, size_t n,
                    size_t steps)
{
    b->kernels = calloc(n ? n : 1, sizeof *b->kernels);
    b->parts = calloc(n ? n : 1, sizeof *b->parts);
    if (!b->kernels || !b->parts)
        return cli_error("out of host memory");
    double total_ms = 0.0;
    for (size_t i = 0; i < n; i++)
        total_ms += e[i].total_ms;
    b->device_us = total_ms * 1e3 / (double)steps;
    b->nkernels = n;
    /* Copied out first: probing copies below must not depend on the table. */
    double *bytes_per_launch = calloc(n ? n : 1, sizeof *bytes_per_launch);
    if (!bytes_per_launch)
        return cli_error("out of host memory");
    for (size_t i = 0; i < n; i++) {
        bench_kernel *k = &b->kernels[i];
        snprintf(k->scope, sizeof k->scope, "%s", e[i].scope);
        snprintf(k->kernel, sizeof k->kernel, "%s", e[i].kernel);
        k->kind = classify(&e[i]);
        double sec = e[i].total_ms * 1e-3;
        k->launches = (double)e[i].launches / (double)steps;
        k->us = e[i].total_ms * 1e3 / (double)steps;
        k->gap_us = e[i].gap_ms * 1e3 / (double)steps;
        k->pct_step = percent(k->us, b->device_us);
        k->gflops = e[i].flops > 0.0 ? rate(e[i].flops * 1e-9, sec) : -1.0;
        k->gbps = e[i].bytes > 0.0 ? rate(e[i].bytes * 1e-9, sec) : -1.0;
        k->pct_peak = k->copy_gbps = k->pct_copy = k->pct_copy_best = -1.0;
        k->alone_us = k->pct_copy_alone = -1.0;
        k->best_us = e[i].launches ? e[i].min_ms * 1e3 : -1.0;
        bytes_per_launch[i] = e[i].launches ? e[i].bytes / (double)e[i].launches : 0.0;
    }
    int status = -1;
    const bench_result *r = s->r;
    for (size_t i = 0; i < n && status < 0; i++) {
        bench_kernel *k = &b->kernels[i];
        if (r->have_peak && k->kind == BENCH_COMPUTE)
            k->pct_peak = percent(k->gflops, r->peak.gflops);
        if (r->have_peak && k->kind == BENCH_MEMORY)
            k->pct_peak = percent(k->gbps, r->peak.gbps);
        if (r->have_peak && k->kind == BENCH_MEMORY && bytes_per_launch[i] > 0.0) {
            status = copy_at(s, bytes_per_launch[i], &k->copy_gbps);
            k->pct_copy = percent(k->gbps, k->copy_gbps);
            if (k->best_us > 0.0)
                k->pct_copy_best =
                    percent(rate(bytes_per_launch[i] * 1e-9, k->best_us * 1e-6), k->copy_gbps);
            if (status < 0)
                status = alone(s, i, bytes_per_launch[i], k);
        }
        add_to_part(b, k);
    }
    free(bytes_per_launch);
    for (size_t i = 0; i < b->nparts; i++)
        b->parts[i].pct_step = percent(b->parts[i].total_us, b->device_us);
    return status;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Device milliseconds profiled so far on the profiling context, and its
 * table (*entries, *n: replaced, the caller frees it). */
static int device_ms(bench_state *s, clnn_profile_entry **entries, size_t *n, double *ms)
{
    if (clnn_context_profile_read(s->prof_ctx, n) != CLNN_OK)
        return cli_library_error();
    clnn_profile_entry *e = realloc(*entries, (*n ? *n : 1) * sizeof *e);
    if (!e)
        return cli_error("out of host memory");
    *entries = e;
    *ms = 0.0;
    for (size_t i = 0; i < *n; i++) {
        e[i] = (clnn_profile_entry){.struct_size = sizeof e[i]};
        if (clnn_context_profile_entry(s->prof_ctx, i, &e[i]) != CLNN_OK)
            return cli_library_error();
        *ms += e[i].total_ms;
    }
    return -1;
}

static int measure_batch(bench_state *s, bench_batch *b, size_t batch)
{
    const bench_options *o = s->o;
    b->batch = batch;
    int status = timed_steps(s, s->ctx, s->net, batch, WARMUP_STEPS, NULL);
    size_t steps = o->steps;
    if (status < 0 && steps == 0) {
        double t = 0.0;
        status = timed_steps(s, s->ctx, s->net, batch, CALIBRATION_STEPS, &t);
        double want = ceil(o->seconds / (t / CALIBRATION_STEPS));
        steps = !(want >= 1.0) ? 1 : want > MAX_AUTO_STEPS ? (size_t)MAX_AUTO_STEPS : (size_t)want;
    }
    if (status < 0)
        status = timed_steps(s, s->prof_ctx, s->prof_net, batch, WARMUP_STEPS, NULL);
    if (status >= 0)
        return status;
    clnn_context_profile_reset(s->prof_ctx);
    const size_t rounds = steps < ROUNDS ? steps : ROUNDS;
    double rates[ROUNDS], step_us[ROUNDS], overhead_us[ROUNDS], overhead_pct[ROUNDS];
    double profiled_ms = 0.0;
    clnn_profile_entry *entries = NULL;
    size_t n = 0;
    b->seconds = 0.0;
    for (size_t r = 0; r < rounds && status < 0; r++) {
        const size_t round_steps = steps / rounds + (r + 1 == rounds ? steps % rounds : 0);
        double wall = 0.0, before = profiled_ms;
        status = timed_steps(s, s->ctx, s->net, batch, round_steps, &wall);
        if (status < 0)
            status = timed_steps(s, s->prof_ctx, s->prof_net, batch, round_steps, NULL);
        if (status < 0)
            status = device_ms(s, &entries, &n, &profiled_ms);
        b->seconds += wall;
        rates[r] = rate((double)(round_steps * batch), wall);
        step_us[r] = wall * 1e6 / (double)round_steps;
        double device = (profiled_ms - before) * 1e3 / (double)round_steps;
        overhead_us[r] = step_us[r] > device ? step_us[r] - device : 0.0;
        overhead_pct[r] = percent(overhead_us[r], step_us[r]);
    }
    if (status >= 0) {
        free(entries);
        return status;
    }
    b->steps = b->profiled_steps = steps;
    b->rounds = rounds;
    b->samples_per_s_median = median(rates, rounds);
    b->samples_per_s = rates[rounds - 1]; /* sorted by median() */
    b->step_us = median(step_us, rounds);
    b->overhead_us = median(overhead_us, rounds);
    b->overhead_pct = median(overhead_pct, rounds);
    status = tabulate(s, b, entries, n, steps);
    free(entries);
    return status;
}

static void state_free(bench_state *s)
{
    clnn_net_free(s->prof_net);
    clnn_context_free(s->prof_ctx);
    clnn_net_free(s->net);
    clnn_context_free(s->ctx);
    free(s->x);
    free(s->order);
    free(s->y);
    free(s->copies);
}

int bench_run(const bench_options *o, bench_result *r, bench_report_fn report)
{
    memset(r, 0, sizeof *r);
    bench_state s = {.o = o, .r = r};
    int status = measure_startup(&s);
    if (status < 0 && report)
        report(o, r, BENCH_STAGE_STARTUP, 0);
    if (status < 0 && o->probe) {
        r->peak = (clnn_device_peak){.struct_size = sizeof r->peak};
        if (clnn_context_probe_peak(s.ctx, &r->peak) != CLNN_OK)
            status = cli_library_error();
        r->have_peak = status < 0;
        if (status < 0 && report)
            report(o, r, BENCH_STAGE_PEAK, 0);
    }
    if (status < 0)
        status = open_context(o, true, &s.prof_ctx);
    if (status < 0)
        status = open_net(o, s.prof_ctx, &s.prof_net);
    if (status < 0)
        status = place_data(&s, s.prof_net);
    for (size_t i = 0; i < o->nbatches && status < 0; i++) {
        status = measure_batch(&s, &r->batches[i], o->batches[i]);
        r->nbatches = i + 1;
        if (status < 0 && report)
            report(o, r, BENCH_STAGE_BATCH, i);
    }
    if (status < 0 && report)
        report(o, r, BENCH_STAGE_DONE, 0);
    state_free(&s);
    return status < 0 ? CLI_EXIT_OK : status;
}

void bench_result_free(bench_result *r)
{
    for (size_t i = 0; i < r->nbatches; i++) {
        free(r->batches[i].kernels);
        free(r->batches[i].parts);
    }
    free(r->spec);
    memset(r, 0, sizeof *r);
}
