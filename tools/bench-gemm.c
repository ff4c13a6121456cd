/* bench-gemm: times clnn's own GEMM, CLBlast and (when built with it)
 * OpenBLAS side by side at the reference network's dense-layer shapes, and
 * checks every result against a double-precision reference.
 *
 *   bench-gemm [--batch 64,256,1024] [--op fwd|dx|dw] [--layer 1|2|3] [--rounds N]
 *              [--shape M,N,K[,TA,TB]] [--params SPEC[;SPEC...]] [--no-clblast]
 *              [--cpu-time] [--device SEL]
 *   bench-gemm --check [--small]
 *                           correctness of the own kernels over odd shapes,
 *                           all transposes, offsets, padded leading
 *                           dimensions, beta and a bias added to every row
 *                           (the fused dense-layer bias) (no timing); --small keeps
 *                           the shapes small enough for a device simulator
 *                           (oclgrind --check-api --data-races bench-gemm ...)
 *
 * SPEC overrides the own backend's parameters (clnn__gemm_own_params, in
 * order): rm,vw,nv,dm,dn,dvw,og,dg,local,groups, where og/dg = 0 walks N
 * tiles, 1 M tiles (gemm_outer / gemm_dot), local = local0 and groups =
 * min_groups. Several SPECs, separated by ';', are timed side by side.
 *
 * Each round times every OpenCL column in turn, each sample being enough
 * calls back to back for ~2 ms, and the best sample counts: on a shared
 * machine the best is the least disturbed. Columns run warm, one straight
 * after another, as in training (a pause between samples made the next one
 * slower, not fairer). OpenBLAS's rounds come after them, followed by a
 * pause, because its threads keep spinning after each call and would take
 * a core from the OpenCL device. --cpu-time measures process CPU time instead of wall
 * time (so GFLOP per CPU-second): steadier for comparing kernels under load,
 * but blind to idle cores.
 *
 * Beside the kernels, each round times an empty kernel's launch
 * (clnn_context_probe_launch): the bound% column is OpenBLAS's time over it,
 * the highest ratio any kernel launched once per product could reach, which
 * tells a launch-bound shape from a slow kernel.
 *
 * Unless POCL_AFFINITY is set, it sets POCL_AFFINITY=1 (PoCL's worker
 * threads pinned to cores) for steady figures; see main().
 *
 * OpenBLAS picks slower kernels when OPENBLAS_CORETYPE forces an older core
 * type; unset it (and OPENBLAS_L2_SIZE) to compare against its best:
 *   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/tools/bench-gemm */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm/gemm_own.h"
#include "layers/dense.h"

#ifdef CLNN_BENCH_OPENBLAS
#include <cblas.h>
#endif

typedef enum backend { OWN, CLBLAST, OPENBLAS } backend;

/* One timed column: a backend, and for OWN the parameters it runs with. */
typedef struct column {
    backend be;
    clnn__gemm_own_params params;
    char label[16];
} column;

#define MAX_COLUMNS 10

typedef struct bench {
    clnn_context *ctx;
    column cols[MAX_COLUMNS];
    size_t ncols;
    int rounds;
} bench;

/* Wall-clock time, or with --cpu-time the CPU time of all the process's
 * threads (OpenCL and OpenBLAS workers included): on a shared machine it
 * leaves out time the threads spent descheduled, which makes comparisons
 * between kernels far steadier, but it counts any spinning as work. */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now(void)
{
    struct timespec ts;
    clock_gettime(bench_clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* OpenBLAS's idle threads spin for 2^28 cycles by default (its
 * THREAD_TIMEOUT, about 0.1 s) before they sleep; wait that out with room
 * to spare before the next shape's OpenCL samples. */
static void pause_for_blas_threads(void)
{
    const struct timespec pause = {.tv_sec = 0, .tv_nsec = 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
}

static void die(const char *what, clnn_status st)
{
    fprintf(stderr, "bench-gemm: %s: %s: %s\n", what, clnn_status_name(st), clnn_last_error());
    exit(1);
}

/* A problem with host copies of all operands and device buffers for them. */
typedef struct problem {
    clnn__gemm_args g; /* the device call; host arrays use the same layout */
    float *a, *b, *c0; /* c0: C before the call (beta ≠ 0 reads it) */
    float *bias;       /* NULL, or N values from g.bias_off, NaN before them */
    size_t a_len, b_len, c_len;
    float *out;         /* result read back */
    double *ref, *mag;  /* reference and Σ|terms| per element of C */
} problem;

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "bench-gemm: out of memory\n");
        exit(1);
    }
    return p;
}

static float host_a(const problem *p, size_t m, size_t k)
{
    const clnn__gemm_args *g = &p->g;
    return p->a[g->a_off + (g->trans_a ? k * g->lda + m : m * g->lda + k)];
}

static float host_b(const problem *p, size_t k, size_t n)
{
    const clnn__gemm_args *g = &p->g;
    return p->b[g->b_off + (g->trans_b ? n * g->ldb + k : k * g->ldb + n)];
}

/* Set up operands (random in [-1, 1)), the reference, and device buffers.
 * pad_a/pad_b/pad_c widen the leading dimensions; off_* offset the start.
 * beta == 0 fills C with NaN to prove C is not read. */
static void problem_init(bench *bn, problem *p, bool ta, bool tb, size_t m, size_t n, size_t k,
                         float alpha, float beta, size_t off, size_t pad, bool bias,
                         clnn__rng *rng)
{
    clnn__gemm_args *g = &p->g;
    *g = (clnn__gemm_args){.trans_a = ta, .trans_b = tb, .m = m, .n = n, .k = k, .alpha = alpha,
                           .beta = beta, .a_off = off, .b_off = 2 * off, .c_off = 3 * off,
                           .bias_off = bias ? off + 1 : 0};
    const size_t a_rows = ta ? k : m, a_cols = ta ? m : k;
    const size_t b_rows = tb ? n : k, b_cols = tb ? k : n;
    g->lda = a_cols + pad;
    g->ldb = b_cols + 2 * pad;
    g->ldc = n + 3 * pad;
    p->a_len = g->a_off + a_rows * g->lda;
    p->b_len = g->b_off + b_rows * g->ldb;
    p->c_len = g->c_off + m * g->ldc;
    p->a = xmalloc(p->a_len * sizeof(float));
    p->b = xmalloc(p->b_len * sizeof(float));
    p->c0 = xmalloc(p->c_len * sizeof(float));
    p->out = xmalloc(p->c_len * sizeof(float));
    for (size_t i = 0; i < p->a_len; i++)
        p->a[i] = 2.0f * clnn__rng_uniform(rng) - 1.0f;
    for (size_t i = 0; i < p->b_len; i++)
        p->b[i] = 2.0f * clnn__rng_uniform(rng) - 1.0f;
    for (size_t i = 0; i < p->c_len; i++)
        p->c0[i] = beta == 0.0f ? NAN : 2.0f * clnn__rng_uniform(rng) - 1.0f;
    p->bias = NULL;
    if (bias) {
        p->bias = xmalloc((g->bias_off + n) * sizeof(float));
        for (size_t i = 0; i < g->bias_off + n; i++)
            p->bias[i] = i < g->bias_off ? NAN : 2.0f * clnn__rng_uniform(rng) - 1.0f;
    }

    p->ref = xmalloc(m * n * sizeof(double));
    p->mag = xmalloc(m * n * sizeof(double));
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double s = 0.0, s_abs = 0.0;
            for (size_t kk = 0; kk < k; kk++) {
                const double t = (double)host_a(p, i, kk) * (double)host_b(p, kk, j);
                s += t;
                s_abs += fabs(t);
            }
            double r = alpha * s, r_abs = fabs(alpha) * s_abs;
            if (beta != 0.0f) {
                const double c = p->c0[g->c_off + i * g->ldc + j];
                r += beta * c;
                r_abs += fabs(beta * c);
            }
            if (bias) {
                r += p->bias[g->bias_off + j];
                r_abs += fabs(p->bias[g->bias_off + j]);
            }
            p->ref[i * n + j] = r;
            p->mag[i * n + j] = r_abs;
        }
    }

    clnn_status st;
    if ((st = clnn__buffer_create(bn->ctx, p->a_len * sizeof(float), &g->a)) != CLNN_OK ||
        (st = clnn__buffer_create(bn->ctx, p->b_len * sizeof(float), &g->b)) != CLNN_OK ||
        (st = clnn__buffer_create(bn->ctx, p->c_len * sizeof(float), &g->c)) != CLNN_OK ||
        (st = clnn__buffer_write(bn->ctx, g->a, 0, p->a_len * sizeof(float), p->a, true,
                                 NULL)) != CLNN_OK ||
        (st = clnn__buffer_write(bn->ctx, g->b, 0, p->b_len * sizeof(float), p->b, true,
                                 NULL)) != CLNN_OK)
        die("allocating device buffers", st);
    const size_t bias_bytes = (g->bias_off + n) * sizeof(float);
    if (bias && ((st = clnn__buffer_create(bn->ctx, bias_bytes, &g->bias)) != CLNN_OK ||
                 (st = clnn__buffer_write(bn->ctx, g->bias, 0, bias_bytes, p->bias, true,
                                          NULL)) != CLNN_OK))
        die("allocating the bias", st);
}

static void problem_free(problem *p)
{
    clnn__buffer_release(&p->g.a);
    clnn__buffer_release(&p->g.b);
    clnn__buffer_release(&p->g.c);
    clnn__buffer_release(&p->g.bias);
    free(p->bias);
    free(p->a);
    free(p->b);
    free(p->c0);
    free(p->out);
    free(p->ref);
    free(p->mag);
}

static void reset_c(bench *bn, problem *p)
{
    clnn_status st = clnn__buffer_write(bn->ctx, p->g.c, 0, p->c_len * sizeof(float), p->c0,
                                        true, NULL);
    if (st != CLNN_OK)
        die("writing C", st);
    memcpy(p->out, p->c0, p->c_len * sizeof(float));
}

/* Enqueue one call (device backends) or run it (OpenBLAS, into p->out). */
static void run_once(bench *bn, problem *p, const column *col)
{
    const clnn__gemm_args *g = &p->g;
    clnn_status st = CLNN_OK;
    switch (col->be) {
    case OWN:
        st = clnn__gemm_own_with(bn->ctx, g, &col->params);
        break;
    case CLBLAST:
        st = clnn__gemm_clblast(bn->ctx, g);
        break;
    case OPENBLAS:
#ifdef CLNN_BENCH_OPENBLAS
        cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                    g->trans_b ? CblasTrans : CblasNoTrans, (int)g->m, (int)g->n, (int)g->k,
                    g->alpha, p->a + g->a_off, (int)g->lda, p->b + g->b_off, (int)g->ldb,
                    g->beta, p->out + g->c_off, (int)g->ldc);
#endif
        break;
    }
    if (st != CLNN_OK)
        die(col->label, st);
}

static void finish(bench *bn)
{
    clnn_status st = clnn_context_finish(bn->ctx);
    if (st != CLNN_OK)
        die("finishing the queue", st);
}

/* Largest error relative to the size of each element's terms (a bound that
 * scales with K and does not blow up where the sum cancels); elements
 * outside the m×n window, and NaN anywhere, count as errors of 1e30. */
static double check(bench *bn, problem *p, backend be)
{
    const clnn__gemm_args *g = &p->g;
    if (be != OPENBLAS) {
        finish(bn);
        clnn_status st = clnn__buffer_read(bn->ctx, g->c, 0, p->c_len * sizeof(float), p->out);
        if (st != CLNN_OK)
            die("reading C", st);
    }
    double worst = 0.0;
    for (size_t idx = 0; idx < p->c_len; idx++) {
        const bool inside = idx >= g->c_off && (idx - g->c_off) / g->ldc < g->m &&
                            (idx - g->c_off) % g->ldc < g->n;
        double e;
        if (!inside) {
            /* untouched: bitwise equal (NaN stays NaN) */
            e = memcmp(&p->out[idx], &p->c0[idx], sizeof(float)) ? 1e30 : 0.0;
        } else {
            const size_t i = (idx - g->c_off) / g->ldc, j = (idx - g->c_off) % g->ldc;
            const double r = p->ref[i * g->n + j];
            e = fabs((double)p->out[idx] - r) / (p->mag[i * g->n + j] + 1e-30);
            if (isnan(e))
                e = 1e30;
        }
        if (e > worst)
            worst = e;
    }
    return worst;
}

/* ---------------------------------------------------------------- timing */

static const struct {
    size_t in, out;
} layers[] = {{784, 256}, {256, 128}, {128, 10}};

typedef enum op { FWD, DX, DW } op;
/* fwd: Y = X·Wᵀ, dX = dY·W, dW = dYᵀ·X for a layer of W [out, in]; the first
 * layer keeps Wᵀ (clnn__dense_weight_transposed), so there fwd is X·(Wᵀ)
 * untransposed and dW is dWᵀ = Xᵀ·dY, and it has no dX. */
static const char *const op_names[] = {"fwd", "dX", "dW"};

static void print_params(const char *label, const clnn__gemm_own_params *p)
{
    static const char *const grids[] = {"N", "M"};
    printf("%s: outer %d×%d (vw %d, grid %s), dot %d×%d (dvw %d, grid %s), local %d, "
           "min groups/CU %d\n",
           label, p->rm, p->vw * p->nv, p->vw, grids[p->outer_grid], p->dm, p->dn, p->dvw,
           grids[p->dot_grid], p->local0, p->min_groups);
}

/* One timed shape. */
typedef struct job {
    size_t batch;     /* 0 for --shape */
    const char *name; /* "fwd", "dX", "dW", or the transposes for --shape */
    bool ta, tb;
    size_t m, n, k;
} job;

/* The dense layers' three GEMMs for each selected batch, layer and op. */
static size_t network_jobs(job *jobs, size_t cap, const size_t *batches, size_t nbatches,
                           unsigned op_mask, unsigned layer_mask)
{
    size_t n = 0;
    for (size_t bi = 0; bi < nbatches; bi++)
        for (size_t li = 0; li < CLNN__ARRAY_LEN(layers); li++)
            for (op o = FWD; o <= DW; o++) {
                if (!(layer_mask >> li & 1) || !(op_mask >> o & 1) || n == cap)
                    continue;
                const size_t b = batches[bi], in = layers[li].in, out = layers[li].out;
                const clnn__layer_spec spec = {.kind = CLNN__LAYER_DENSE, .units = out};
                const bool wt = clnn__dense_weight_transposed(&spec, li);
                if (o == FWD)
                    jobs[n++] = (job){b, op_names[o], false, !wt, b, out, in};
                else if (o == DX && li > 0)
                    jobs[n++] = (job){b, op_names[o], false, wt, b, in, out};
                else if (o == DW)
                    jobs[n++] = (job){b, op_names[o], true, false, wt ? in : out, wt ? out : in, b};
            }
    return n;
}

/* A product that OpenBLAS finishes in less time than an empty launch takes
 * cannot be matched in one launch. The machine's load moves a launch's cost
 * as much as a kernel's, so it is timed in every round beside the kernels,
 * and each shape's rounds keep their shortest. */
static void time_empty_launch(bench *bn, double *queued_us, double *waited_us)
{
    double q, w;
    const clnn_status st = clnn_context_probe_launch(bn->ctx, &q, &w);
    if (st != CLNN_OK)
        die("timing an empty launch", st);
    *queued_us = fmin(*queued_us, q);
    *waited_us = fmin(*waited_us, w);
}

static int run_timing(bench *bn, const job *jobs, size_t njobs)
{
    const column *first_own = NULL, *blas = NULL;
    for (size_t c = 0; c < bn->ncols; c++) {
        if (bn->cols[c].be == OWN) {
            print_params(bn->cols[c].label, &bn->cols[c].params);
            if (!first_own)
                first_own = &bn->cols[c];
        }
        if (bn->cols[c].be == OPENBLAS)
            blas = &bn->cols[c];
    }
#ifdef CLNN_BENCH_OPENBLAS
    printf("OpenBLAS %s, core %s\n", openblas_get_config(), openblas_get_corename());
#else
    printf("OpenBLAS: not built in (install libopenblas-dev and reconfigure)\n");
#endif
    printf("GFLOP/s, best of %d rounds (each round runs every OpenCL column in turn, then "
           "OpenBLAS's rounds); ratios to OpenBLAS;\n"
           "bound = OpenBLAS's time / an empty launch's (timed in the same rounds), the best "
           "ratio one launch can reach;\nerr = max error / Σ|terms|\n",
           bn->rounds);
    printf("%5s %-9s %5s %5s %5s  %-12s", "batch", "op", "M", "N", "K", "own kernel");
    for (size_t c = 0; c < bn->ncols; c++)
        printf(" %8s", bn->cols[c].label);
    if (blas) {
        for (size_t c = 0; c < bn->ncols; c++)
            if (bn->cols[c].be != OPENBLAS)
                printf(" %7.7s%%", bn->cols[c].label);
        printf(" %7s", "bound%");
    }
    printf("  %8s\n", "max err");

    int failures = 0;
    clnn__rng rng;
    clnn__rng_seed(&rng, 1, 0);
    double launch_us = INFINITY, waited_us = INFINITY;
    for (size_t ji = 0; ji < njobs; ji++) {
        {
            {
                const job *jb = &jobs[ji];
                problem p;
                problem_init(bn, &p, jb->ta, jb->tb, jb->m, jb->n, jb->k, 1.0f, 0.0f, 0, 0, false,
                             &rng);
                const double flops = 2.0 * (double)p.g.m * (double)p.g.n * (double)p.g.k;

                /* Warm-up (compiles kernels) and a check of every column. */
                double err = 0.0;
                int reps[MAX_COLUMNS];
                for (size_t c = 0; c < bn->ncols; c++) {
                    const column *col = &bn->cols[c];
                    reset_c(bn, &p);
                    run_once(bn, &p, col);
                    const double e = check(bn, &p, col->be);
                    if (!(e <= err))
                        err = e;
                    /* Calls per timed sample: enough for ~2 ms, so launch
                     * latency is amortised as in a training step that
                     * queues all its kernels before waiting. */
                    const double t0 = now();
                    run_once(bn, &p, col);
                    finish(bn);
                    const double t = now() - t0;
                    reps[c] = t > 2e-3 ? 1 : (int)(2e-3 / (t + 1e-7)) + 1;
                }
                double best[MAX_COLUMNS];
                for (size_t c = 0; c < bn->ncols; c++)
                    best[c] = 1e30;
                /* OpenCL columns first, then OpenBLAS's rounds, then a
                 * pause: OpenBLAS's threads spin for a while after each
                 * call, and when they spun into an OpenCL sample they took
                 * a core from the device, halving some kernels' figures. */
                double floor_us = INFINITY;
                for (int blas_pass = 0; blas_pass < 2; blas_pass++) {
                    for (int r = 0; r < bn->rounds; r++) {
                        if (!blas_pass)
                            time_empty_launch(bn, &floor_us, &waited_us);
                        for (size_t c = 0; c < bn->ncols; c++) {
                            if ((bn->cols[c].be == OPENBLAS) != blas_pass)
                                continue;
                            const double t0 = now();
                            for (int i = 0; i < reps[c]; i++)
                                run_once(bn, &p, &bn->cols[c]);
                            if (bn->cols[c].be != OPENBLAS)
                                finish(bn);
                            const double t = (now() - t0) / reps[c];
                            if (t < best[c])
                                best[c] = t;
                        }
                    }
                }
                if (blas)
                    pause_for_blas_threads();
                launch_us = fmin(launch_us, floor_us);
                const bool ok = err < 1e-4;
                failures += !ok;
                printf("%5zu %-9s %5zu %5zu %5zu  %-12s", jb->batch, jb->name, p.g.m, p.g.n,
                       p.g.k,
                       first_own ? clnn__gemm_own_kernel_for(&p.g, &first_own->params) : "-");
                for (size_t c = 0; c < bn->ncols; c++)
                    printf(" %8.1f", flops / best[c] * 1e-9);
                if (blas) {
                    const double blas_s = best[blas - bn->cols];
                    for (size_t c = 0; c < bn->ncols; c++)
                        if (bn->cols[c].be != OPENBLAS)
                            printf(" %7.0f%%", 100.0 * blas_s / best[c]);
                    /* Far above 100% the bound says nothing. */
                    const double bound = 100.0 * blas_s / (floor_us * 1e-6);
                    if (bound < 1000.0)
                        printf(" %6.0f%%", bound);
                    else
                        printf(" %7s", ">999%");
                }
                printf("  %8.1e%s\n", err, ok ? "" : "  FAILED");
                fflush(stdout);
                problem_free(&p);
            }
        }
    }
    printf("launch: %.2f µs an empty kernel queued back to back, %.1f µs enqueued and waited "
           "for (the shortest of the run)\n",
           launch_us, waited_us);
    return failures;
}

/* ----------------------------------------------------------- correctness */

/* Run one own-GEMM problem and report it if wrong; returns 1 on failure. */
static int check_one(bench *bn, const column *col, size_t set, bool ta, bool tb, size_t m,
                     size_t n, size_t k, float alpha, float beta, size_t off, size_t pad,
                     bool bias, clnn__rng *rng)
{
    problem p;
    problem_init(bn, &p, ta, tb, m, n, k, alpha, beta, off, pad, bias, rng);
    reset_c(bn, &p);
    run_once(bn, &p, col);
    const double e = check(bn, &p, OWN);
    const bool bad = !(e < 1e-5);
    if (bad)
        printf("FAILED set %zu %c%c M %zu N %zu K %zu off %zu pad %zu alpha %g beta %g%s (%s): "
               "err %.2e\n",
               set, ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, off, pad, alpha, beta,
               bias ? " +bias" : "", clnn__gemm_own_kernel_for(&p.g, &col->params), e);
    problem_free(&p);
    return bad;
}

/* A dense layer's backward pair, dW = dYᵀ·X (out × in, K = rows) and
 * dX = dY·W (rows × in, K = out), in one gemm_outer_pair launch, each result
 * checked against its own reference; returns the failures (0 when the shapes
 * do not fit the pair kernel under these parameters). */
static int check_pair(bench *bn, const column *col, size_t set, size_t rows, size_t out,
                      size_t in, size_t v, clnn__rng *rng)
{
    problem p[2];
    problem_init(bn, &p[0], true, false, out, in, rows, 1.0f, v % 2 ? 0.5f : 0.0f, v % 3, v % 2,
                 false, rng);
    problem_init(bn, &p[1], false, false, rows, in, out, v % 3 ? -1.5f : 1.0f, 0.0f, 2 * (v % 2),
                 v % 3, false, rng);
    int failures = 0;
    if (clnn__gemm_own_pairable(&p[0].g, &p[1].g, &col->params)) {
        reset_c(bn, &p[0]);
        reset_c(bn, &p[1]);
        clnn_status st = clnn__gemm_own_pair_with(bn->ctx, &p[0].g, &p[1].g, &col->params);
        if (st != CLNN_OK)
            die("gemm_outer_pair", st);
        for (int j = 0; j < 2; j++) {
            const double e = check(bn, &p[j], OWN);
            if (!(e < 1e-5)) {
                printf("FAILED set %zu pair job %d (rows %zu out %zu in %zu): err %.2e\n", set,
                       j, rows, out, in, e);
                failures++;
            }
        }
    }
    problem_free(&p[0]);
    problem_free(&p[1]);
    return failures;
}

static int run_check(bench *bn, bool small)
{
    /* The given parameter sets (the device's table entry by default) plus
     * sets that exercise other code paths: the small-register entry, odd
     * tile sizes with float2/float8 vectors, the other range order and fixed
     * work-group sizes. */
    column sets[MAX_COLUMNS + 3];
    size_t nsets = 0;
    for (size_t c = 0; c < bn->ncols; c++)
        if (bn->cols[c].be == OWN)
            sets[nsets++] = bn->cols[c];
    const clnn__gemm_own_params extra[3] = {
        {4, 4, 2, 2, 2, 4, CLNN__GRID_N, CLNN__GRID_N, 0, 0},
        {3, 8, 1, 3, 2, 8, CLNN__GRID_N, CLNN__GRID_M, 4, 0},
        {5, 2, 3, 4, 4, 16, CLNN__GRID_M, CLNN__GRID_N, 3, 5},
    };
    for (size_t i = 0; i < 3; i++)
        sets[nsets++] = (column){.be = OWN, .params = extra[i]};

    /* --small: shapes a device simulator such as oclgrind gets through. */
    const size_t dims[] = {1, 3, 17, small ? 40 : 257};
    int failures = 0, runs = 0;
    clnn__rng rng;
    clnn__rng_seed(&rng, 2, 0);
    for (size_t si = 0; si < nsets; si++) {
        const column *col = &sets[si];
        for (int t = 0; t < 4; t++)
            for (size_t mi = 0; mi < 4; mi++)
                for (size_t ni = 0; ni < 4; ni++)
                    for (size_t ki = 0; ki < 4; ki++) {
                        /* Vary layout and scalars with the shape, so every
                         * transpose meets offsets, padding and beta ≠ 0. */
                        const size_t v = mi + ni + ki + (size_t)t + si;
                        failures += check_one(bn, col, si, t & 1, t & 2, dims[mi], dims[ni],
                                              dims[ki], v % 5 == 2 ? -1.5f : 1.0f,
                                              v % 4 == 1 ? 0.5f : 0.0f, v % 2 ? 5 : 0,
                                              v % 3 ? 3 : 0, (v / 2) % 2, &rng);
                        runs++;
                    }
        /* Shapes just around the set's tile sizes, and two real ones. */
        const clnn__gemm_own_params *q = &col->params;
        const size_t tm = (size_t)q->rm, tn = (size_t)(q->vw * q->nv);
        const size_t near[][3] = {{tm, tn, 1},
                                  {tm + 1, tn + 1, 7},
                                  {2 * tm - 1, 2 * tn - 1, 33},
                                  {tm - (tm > 1), tn - 1, 16},
                                  {(size_t)q->dm + 1, (size_t)q->dn + 1, (size_t)q->dvw + 1},
                                  {17, 10, 128},
                                  {64, 784, 256}};
        for (size_t s = 0; s < CLNN__ARRAY_LEN(near) - small; s++)
            for (int t = 0; t < 4; t++) {
                failures += check_one(bn, col, si, t & 1, t & 2, near[s][0], near[s][1],
                                      near[s][2], 1.0f, s % 2 ? 0.25f : 0.0f, s % 3, s % 2,
                                      (s + (size_t)t) % 2, &rng);
                runs++;
            }
    }
    /* Backward pairs: whole tiles, edge tiles in every dimension, a real layer. */
    int pair_failures = 0, pair_runs = 0;
    for (size_t si = 0; si < nsets; si++) {
        const clnn__gemm_own_params *q = &sets[si].params;
        const size_t tm = (size_t)q->rm, tn = (size_t)(q->vw * q->nv);
        const size_t shapes[][3] = {{tm, tm, tn},
                                    {2 * tm + 1, tm + 3, 3 * tn - 1},
                                    {17, 2 * tm - 1, tn + 5},
                                    {small ? 40 : 64, 10 + tm, small ? 40 : 128}};
        for (size_t s = 0; s < CLNN__ARRAY_LEN(shapes); s++) {
            pair_failures += check_pair(bn, &sets[si], si, shapes[s][0], shapes[s][1],
                                        shapes[s][2], s + si, &rng);
            pair_runs++;
        }
    }
    failures += pair_failures;
    printf("%d of %d own GEMM checks passed (%zu parameter sets), and %d of %d backward pairs\n",
           runs - (failures - pair_failures), runs, nsets, pair_runs - pair_failures, pair_runs);
    return failures;
}

/* ------------------------------------------------------------------ main */

/* "rm,vw,nv,dm,dn,dvw,og,dg,local,groups", trailing fields optional (kept
 * from p). */
static bool parse_params(const char *s, clnn__gemm_own_params *p)
{
    int v[10];
    size_t nv = 0;
    const char *q = s;
    while (nv < 10) {
        char *end;
        long x = strtol(q, &end, 10);
        if (end == q)
            return false;
        v[nv++] = (int)x;
        if (*end == '\0' || *end == ';')
            break;
        if (*end != ',')
            return false;
        q = end + 1;
    }
    int *fields[6] = {&p->rm, &p->vw, &p->nv, &p->dm, &p->dn, &p->dvw};
    for (size_t i = 0; i < nv && i < 6; i++)
        *fields[i] = v[i];
    if (nv > 6)
        p->outer_grid = v[6];
    if (nv > 7)
        p->dot_grid = v[7];
    if (nv > 8)
        p->local0 = v[8];
    if (nv > 9)
        p->min_groups = v[9];
    return true;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench-gemm [--check [--small]] [--batch B1,B2,...] [--op fwd|dx|dw]\n"
            "                  [--layer 1|2|3] [--shape M,N,K[,TRANS_A,TRANS_B]] [--rounds N]\n"
            "                  [--params SPEC[;SPEC...]] [--no-clblast] [--cpu-time]\n"
            "                  [--device SEL]\n"
            "SPEC: rm,vw,nv,dm,dn,dvw,og,dg,local,groups (a prefix; the rest from the device's "
            "defaults)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    bool check_mode = false, small = false, clblast = true;
    const char *device = NULL, *params = NULL;
    size_t batches[16] = {64, 256, 1024}, nbatches = 3;
    int rounds = 15;
    unsigned op_mask = 7, layer_mask = 7;
    job shape = {0};
    static const char *const trans_names[] = {"NN", "TN", "NT", "TT"};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0) {
            check_mode = true;
        } else if (strcmp(argv[i], "--cpu-time") == 0) {
            bench_clock = CLOCK_PROCESS_CPUTIME_ID;
        } else if (strcmp(argv[i], "--small") == 0) {
            small = true;
        } else if (strcmp(argv[i], "--no-clblast") == 0) {
            clblast = false;
        } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            nbatches = 0;
            for (char *s = argv[++i]; *s && nbatches < 16;) {
                char *end;
                batches[nbatches++] = strtoul(s, &end, 10);
                if (end == s || batches[nbatches - 1] == 0)
                    usage();
                s = *end == ',' ? end + 1 : end;
            }
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
            if (rounds < 1)
                usage();
        } else if (strcmp(argv[i], "--params") == 0 && i + 1 < argc) {
            params = argv[++i];
        } else if (strcmp(argv[i], "--op") == 0 && i + 1 < argc) {
            const char *o = argv[++i];
            op_mask = strcmp(o, "fwd") == 0  ? 1u
                      : strcmp(o, "dx") == 0 ? 2u
                      : strcmp(o, "dw") == 0 ? 4u
                                             : 0u;
            if (!op_mask)
                usage();
        } else if (strcmp(argv[i], "--layer") == 0 && i + 1 < argc) {
            const int l = atoi(argv[++i]);
            if (l < 1 || l > 3)
                usage();
            layer_mask = 1u << (l - 1);
        } else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc) {
            int ta = 0, tb = 0;
            if (sscanf(argv[++i], "%zu,%zu,%zu,%d,%d", &shape.m, &shape.n, &shape.k, &ta, &tb) <
                    3 ||
                !shape.m || !shape.n)
                usage();
            shape.ta = ta != 0;
            shape.tb = tb != 0;
            shape.name = trans_names[shape.ta + 2 * shape.tb];
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            device = argv[++i];
        } else {
            usage();
        }
    }

    /* PoCL's worker threads, woken after each sample's wait, were often left
     * on one core for the next few milliseconds: whole runs then measured
     * about half the speed that the same kernels reach in training, where
     * the queue never empties (256×784×256 dW: 230–260 against 390–410
     * GFLOP/s pinned). Pinned, runs agree; POCL_AFFINITY=0 compares. */
    const bool pinned = !getenv("POCL_AFFINITY");
    if (pinned)
        setenv("POCL_AFFINITY", "1", 0);
    bench bn = {.rounds = rounds};
    clnn_context_options opts;
    clnn_context_options_init(&opts);
    opts.device = device;
    clnn_status st = clnn_context_create(&opts, &bn.ctx);
    if (st != CLNN_OK)
        die("creating the context", st);
    clnn_device_info info = {.struct_size = sizeof info};
    clnn_context_get_device_info(bn.ctx, &info);
    printf("device: %s (%s)%s\n", info.name, info.driver_version,
           pinned && strstr(info.platform, "Portable Computing Language")
               ? ", PoCL's threads pinned to cores (POCL_AFFINITY=1)"
               : "");

    /* Columns: the own backend once per parameter set, then CLBlast and
     * OpenBLAS. */
    clnn__gemm_own_params defaults;
    clnn__gemm_own_default_params(bn.ctx, &defaults);
    const char *spec = params;
    do {
        if (bn.ncols == MAX_COLUMNS - 2)
            usage();
        column *col = &bn.cols[bn.ncols];
        *col = (column){.be = OWN, .params = defaults};
        if (spec && !parse_params(spec, &col->params))
            usage();
        snprintf(col->label, sizeof col->label, "own");
        bn.ncols++;
        spec = spec ? strchr(spec, ';') : NULL;
        if (spec)
            spec++;
    } while (spec);
    if (bn.ncols > 1)
        for (size_t c = 0; c < bn.ncols; c++)
            snprintf(bn.cols[c].label, sizeof bn.cols[c].label, "own%d", (int)c + 1);
    if (clblast)
        bn.cols[bn.ncols++] = (column){.be = CLBLAST, .label = "clblast"};
#ifdef CLNN_BENCH_OPENBLAS
    bn.cols[bn.ncols++] = (column){.be = OPENBLAS, .label = "openblas"};
#endif

    job jobs[16 * 9];
    size_t njobs;
    if (shape.m) {
        jobs[0] = shape;
        njobs = 1;
    } else {
        njobs = network_jobs(jobs, CLNN__ARRAY_LEN(jobs), batches, nbatches, op_mask, layer_mask);
    }
    const int failures = check_mode ? run_check(&bn, small) : run_timing(&bn, jobs, njobs);
    clnn_context_free(bn.ctx);
    if (failures)
        fprintf(stderr, "bench-gemm: %d failed\n", failures);
    return failures ? 1 : 0;
}
