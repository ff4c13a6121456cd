/* The tuner's measurements: the GEMM shapes of a network, random operands
 * with a double-precision reference result, and the check and timing of
 * one candidate on one shape. */
#include "gemm/tune_search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A result is accepted when every element is within TOL of the reference
 * relative to Σ_k |a_ik·b_kj|: float rounding of any summation order stays
 * below k·2^-24 of that sum (k ≤ a few thousand here, and measured errors
 * are ~3e-7), while a kernel that drops or repeats one term of a K-long sum
 * misses by about 1/k of it. */
#define TOL 2e-5
/* Floats after C that a kernel must not touch. */
#define GUARD 64
#define GUARD_VALUE 7.25f


/* ------------------------------------------------------------- shapes */

/* The products the layers said they run. Shapes are distinct: a repeated
 * one (two equal layers) is tuned once. */
static bool have_shape(const tuner *tu, bool ta, bool tb, size_t m, size_t n, size_t k)
{
    for (size_t i = 0; i < tu->nshapes; i++) {
        const clnn__gemm_args *g = &tu->shapes[i].g;
        if (g->trans_a == ta && g->trans_b == tb && g->m == m && g->n == n && g->k == k)
            return true;
    }
    return false;
}

static clnn_status add_shape(tuner *tu, size_t *cap, const clnn__gemm_shape *from,
                             const clnn__tuning *skip)
{
    const bool ta = from->trans_a, tb = from->trans_b;
    const size_t m = from->m, n = from->n, k = from->k;
    if (have_shape(tu, ta, tb, m, n, k) || (skip && clnn__tuning_find(skip, ta, tb, m, n, k)))
        return CLNN_OK;
    if (tu->nshapes == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        tune_shape *p = realloc(tu->shapes, c * sizeof *p);
        if (!p)
            return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of host memory for tuning shapes");
        tu->shapes = p;
        *cap = c;
    }
    tune_shape *s = &tu->shapes[tu->nshapes++];
    memset(s, 0, sizeof *s);
    s->g = (clnn__gemm_args){.trans_a = ta, .trans_b = tb, .m = m, .n = n, .k = k,
                             .alpha = 1.0f, .lda = ta ? m : k, .ldb = tb ? k : n,
                             .beta = 0.0f, .ldc = n};
    s->batch = from->batch;
    s->layer = from->layer;
    s->op = from->op;
    s->with_bias = from->with_bias;
    s->default_us = s->own_us = -1.0;
    return CLNN_OK;
}

clnn_status clnn__tune_collect_shapes(tuner *tu, const clnn__gemm_shape *shapes, size_t count,
                                      const clnn__tuning *skip)
{
    size_t cap = 0;
    clnn_status st = CLNN_OK;
    for (size_t i = 0; i < count && st == CLNN_OK; i++)
        st = add_shape(tu, &cap, &shapes[i], skip);
    return st;
}

/* Up to this many multiply-adds the reference covers every element of C
 * (about 0.1 s on a host core); beyond, a sample of elements: the last rows
 * and columns (where edge tiles go wrong), the first ones and random ones,
 * as many as the same budget allows. */
#define FULL_CHECK_MACS (1u << 27)
#define SAMPLE_EDGE 8

static void add_sample(tune_shape *s, size_t i, size_t j)
{
    s->checks[s->nchecks++] = i * s->g.n + j;
}

/* The next row (column) of the first and last SAMPLE_EDGE of count. */
static size_t next_edge(size_t i, size_t count)
{
    return i + 1 == SAMPLE_EDGE && count > 2 * SAMPLE_EDGE ? count - SAMPLE_EDGE : i + 1;
}

static void choose_samples(tune_shape *s, size_t want, clnn__rng *rng)
{
    const size_t m = s->g.m, n = s->g.n;
    for (size_t i = 0; i < m; i = next_edge(i, m))
        for (size_t j = 0; j < n && s->nchecks < want; j = next_edge(j, n))
            add_sample(s, i, j);
    while (s->nchecks < want)
        add_sample(s, clnn__rng_below(rng, m), clnn__rng_below(rng, n));
}

/* The reference: Σ_k a·b in double and Σ_k |a·b| for each checked element. */
static void reference(tune_shape *s, const float *a, const float *b, double *oa, double *ob)
{
    const clnn__gemm_args *g = &s->g;
    const size_t m = g->m, n = g->n, k = g->k;
    if (!s->checks) {
        /* op(A) as m×k and op(B) as k×n, row-major, so the product walks
         * both with unit stride. */
        for (size_t i = 0; i < m; i++)
            for (size_t kk = 0; kk < k; kk++)
                oa[i * k + kk] = g->trans_a ? a[kk * m + i] : a[i * k + kk];
        for (size_t kk = 0; kk < k; kk++)
            for (size_t j = 0; j < n; j++)
                ob[kk * n + j] = g->trans_b ? b[j * k + kk] : b[kk * n + j];
        for (size_t i = 0; i < m; i++) {
            double *r = s->ref + i * n, *mg = s->mag + i * n;
            for (size_t kk = 0; kk < k; kk++) {
                const double x = oa[i * k + kk];
                const double *brow = ob + kk * n;
                for (size_t j = 0; j < n; j++) {
                    r[j] += x * brow[j];
                    mg[j] += fabs(x * brow[j]);
                }
            }
        }
        return;
    }
    for (size_t t = 0; t < s->nchecks; t++) {
        const size_t i = s->checks[t] / n, j = s->checks[t] % n;
        double r = 0.0, mg = 0.0;
        for (size_t kk = 0; kk < k; kk++) {
            double x = g->trans_a ? a[kk * m + i] : a[i * k + kk];
            double y = g->trans_b ? b[j * k + kk] : b[kk * n + j];
            r += x * y;
            mg += fabs(x * y);
        }
        s->ref[t] = r;
        s->mag[t] = mg;
    }
}

clnn_status clnn__tune_prepare_shape(tuner *tu, tune_shape *s, uint64_t seed)
{
    clnn__gemm_args *g = &s->g;
    const size_t m = g->m, n = g->n, k = g->k;
    const bool full = (double)m * n * k <= FULL_CHECK_MACS && m * k <= FULL_CHECK_MACS / 8 &&
                      k * n <= FULL_CHECK_MACS / 8;
    const size_t sampled = CLNN__MAX((size_t)FULL_CHECK_MACS / CLNN__MAX(k, 1),
                                     4 * SAMPLE_EDGE * SAMPLE_EDGE);
    const size_t nref = full ? m * n : CLNN__MIN(sampled, m * n);
    float *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b), *bias = NULL;
    double *oa = full ? malloc(m * k * sizeof *oa) : NULL;
    double *ob = full ? malloc(k * n * sizeof *ob) : NULL;
    s->checks = full ? NULL : malloc(nref * sizeof *s->checks);
    s->ref = calloc(nref, sizeof *s->ref);
    s->mag = calloc(nref, sizeof *s->mag);
    s->out = malloc((m * n + GUARD) * sizeof *s->out);
    s->init = malloc((m * n + GUARD) * sizeof *s->init);
    clnn_status st = CLNN_OK;
    if (!a || !b || (full && (!oa || !ob)) || (!full && !s->checks) || !s->ref || !s->mag ||
        !s->out || !s->init) {
        st = clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of host memory for a %zu×%zu×%zu GEMM", m,
                        n, k);
        goto done;
    }
    clnn__rng rng;
    clnn__rng_seed(&rng, seed, 0x7475);
    for (size_t i = 0; i < m * k; i++)
        a[i] = 2.0f * clnn__rng_uniform(&rng) - 1.0f;
    for (size_t i = 0; i < k * n; i++)
        b[i] = 2.0f * clnn__rng_uniform(&rng) - 1.0f;
    if (!full)
        choose_samples(s, nref, &rng);
    reference(s, a, b, oa, ob);
    if (s->with_bias) {
        bias = malloc(n * sizeof *bias);
        if (!bias) {
            st = clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of host memory for a bias of %zu", n);
            goto done;
        }
        for (size_t j = 0; j < n; j++)
            bias[j] = 2.0f * clnn__rng_uniform(&rng) - 1.0f;
        for (size_t t = 0; t < nref; t++) {
            const float bj = bias[(s->checks ? s->checks[t] : t) % n];
            s->ref[t] += bj;
            s->mag[t] += fabs(bj);
        }
    }
    /* beta = 0 must not read C: it starts as NaN, which any read would
     * spread into the result. */
    for (size_t i = 0; i < m * n; i++)
        s->init[i] = NAN;
    for (size_t i = 0; i < GUARD; i++)
        s->init[m * n + i] = GUARD_VALUE;
    st = clnn__buffer_create(tu->ctx, m * k * sizeof(float), &s->a);
    if (st == CLNN_OK)
        st = clnn__buffer_create(tu->ctx, k * n * sizeof(float), &s->b);
    if (st == CLNN_OK)
        st = clnn__buffer_create(tu->ctx, (m * n + GUARD) * sizeof(float), &s->c);
    if (st == CLNN_OK)
        st = clnn__buffer_write(tu->ctx, s->a, 0, m * k * sizeof(float), a, true, NULL);
    if (st == CLNN_OK)
        st = clnn__buffer_write(tu->ctx, s->b, 0, k * n * sizeof(float), b, true, NULL);
    if (st == CLNN_OK && bias)
        st = clnn__buffer_create(tu->ctx, n * sizeof(float), &s->bias);
    if (st == CLNN_OK && bias)
        st = clnn__buffer_write(tu->ctx, s->bias, 0, n * sizeof(float), bias, true, NULL);
    g->a = s->a;
    g->b = s->b;
    g->c = s->c;
    g->bias = s->bias;
done:
    free(bias);
    free(a);
    free(b);
    free(oa);
    free(ob);
    return st;
}

void clnn__tune_free_shapes(tuner *tu)
{
    for (size_t i = 0; i < tu->nshapes; i++) {
        tune_shape *s = &tu->shapes[i];
        clnn__buffer_release(&s->a);
        clnn__buffer_release(&s->b);
        clnn__buffer_release(&s->c);
        clnn__buffer_release(&s->bias);
        free(s->ref);
        free(s->mag);
        free(s->checks);
        free(s->out);
        free(s->init);
        free(s->runs);
    }
    free(tu->shapes);
    tu->shapes = NULL;
    tu->nshapes = 0;
}
/* ----------------------------------------------------------- measuring */

typedef clnn_status (*run_fn)(clnn_context *ctx, const clnn__gemm_args *g, const void *cand);

static clnn_status run_own(clnn_context *ctx, const clnn__gemm_args *g, const void *cand)
{
    return clnn__gemm_own_with(ctx, g, cand);
}

static clnn_status run_clblast(clnn_context *ctx, const clnn__gemm_args *g, const void *cand)
{
    return clnn__gemm_clblast_with(ctx, g, cand);
}

static bool verify(const tune_shape *s, char *why, size_t cap)
{
    const size_t mn = s->g.m * s->g.n;
    for (size_t t = 0; t < (s->checks ? s->nchecks : mn); t++) {
        const size_t i = s->checks ? s->checks[t] : t;
        double d = fabs((double)s->out[i] - s->ref[t]);
        if (!(d <= TOL * s->mag[t] + 1e-30)) {
            snprintf(why, cap, "C[%zu][%zu] = %g, expected %g", i / s->g.n, i % s->g.n,
                     (double)s->out[i], s->ref[t]);
            return false;
        }
    }
    for (size_t i = 0; i < GUARD; i++) {
        if (s->out[mn + i] != GUARD_VALUE) {
            snprintf(why, cap, "wrote past the end of C");
            return false;
        }
    }
    return true;
}

static double measure(tuner *tu, tune_shape *s, run_fn run, const void *cand, const char *label)
{
    clnn_context *ctx = tu->ctx;
    const clnn__gemm_args *g = &s->g;
    const size_t bytes = (g->m * g->n + GUARD) * sizeof(float);
    char why[160] = "";
    if (tu->cancelled || clnn__progress(ctx, "tuning", tu->measured++, 0) != CLNN_OK) {
        tu->cancelled = true;
        return -1.0;
    }
    s->candidates++;
    clnn_status st = clnn__buffer_write(ctx, s->c, 0, bytes, s->init, true, NULL);
    if (st == CLNN_OK)
        st = run(ctx, g, cand);
    if (st == CLNN_OK)
        st = clnn__buffer_read(ctx, s->c, 0, bytes, s->out);
    if (st != CLNN_OK)
        snprintf(why, sizeof why, "%s", clnn_last_error());
    else if (!verify(s, why, sizeof why))
        st = CLNN_ERR_STATE;
    if (st != CLNN_OK) {
        clnn__log(CLNN_LOG_DEBUG, "tune %zux%zux%zu %c%c %s: rejected: %s", g->m, g->n, g->k,
                  g->trans_a ? 'T' : 'N', g->trans_b ? 'T' : 'N', label, why);
        clnn__clear_error();
        clnn__finish(ctx);
        s->rejected++;
        return -1.0;
    }
    /* One timed call sizes the rounds: enough calls to fill round_s, which
     * drowns the clFinish round trip for launch-bound shapes. */
    double t0 = clnn__now();
    st = run(ctx, g, cand);
    if (st == CLNN_OK)
        st = clnn__finish(ctx);
    double single = clnn__now() - t0;
    int reps = single > 0 ? (int)(tu->round_s / single) : 64;
    reps = reps < 1 ? 1 : reps > 64 ? 64 : reps;
    double best = single;
    for (int r = 0; r < tu->rounds && st == CLNN_OK; r++) {
        t0 = clnn__now();
        for (int i = 0; i < reps && st == CLNN_OK; i++)
            st = run(ctx, g, cand);
        if (st == CLNN_OK)
            st = clnn__finish(ctx);
        double per = (clnn__now() - t0) / reps;
        best = per < best ? per : best;
    }
    if (st != CLNN_OK) {
        clnn__log(CLNN_LOG_DEBUG, "tune %s: failed while timing: %s", label, clnn_last_error());
        clnn__clear_error();
        s->rejected++;
        return -1.0;
    }
    clnn__log(CLNN_LOG_DEBUG, "tune %zux%zux%zu %c%c %s: %.1f us", g->m, g->n, g->k,
              g->trans_a ? 'T' : 'N', g->trans_b ? 'T' : 'N', label, best * 1e6);
    return best * 1e6;
}

double clnn__tune_measure_own(tuner *tu, tune_shape *s, const clnn__gemm_own_params *p,
                              const char *label)
{
    return measure(tu, s, run_own, p, label);
}

double clnn__tune_measure_clblast(tuner *tu, tune_shape *s, const clnn__clblast_set *set,
                                  const char *label)
{
    return measure(tu, s, run_clblast, set, label);
}
