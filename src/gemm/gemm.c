/* Dispatch to the context's GEMM backend, or per shape to the backend and
 * parameters its tuning file chose (gemm/tune.h). */
#include "gemm/gemm.h"

#include <limits.h>
#include <string.h>

#include "gemm/gemm_own.h"
#include "gemm/tune.h"

/* The own-kernel parameters g runs with, or false when another backend
 * runs it. */
static bool own_params(const clnn_context *ctx, const clnn__gemm_args *g,
                       clnn__gemm_own_params *p)
{
    const clnn__gemm_state *s = ctx->gemm_state;
    if (s && s->active) {
        const clnn__tuning *t = &s->table;
        const clnn__tune_entry *e = clnn__tuning_find(t, g->trans_a, g->trans_b, g->m, g->n, g->k);
        if ((e ? e->backend : t->default_backend) != CLNN_GEMM_OWN)
            return false;
        *p = e ? e->own : t->default_own;
        return true;
    }
    if (ctx->gemm != CLNN_GEMM_OWN)
        return false;
    clnn__gemm_own_default_params(ctx, p);
    return true;
}

clnn_status clnn_gemm_backend_available(clnn_gemm_backend backend)
{
    clnn__clear_error();
    switch (backend) {
    case CLNN_GEMM_AUTO:
    case CLNN_GEMM_OWN:
        return CLNN_OK;
    case CLNN_GEMM_CLBLAST:
        return clnn__gemm_clblast_available();
    }
    return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_gemm_backend_available: unknown backend %d",
                      (int)backend);
}

/* Arithmetic and minimum memory traffic of g, for the profile. */
static void work(const clnn__gemm_args *g, double *flops, double *bytes)
{
    double m = (double)g->m, n = (double)g->n, k = (double)g->k;
    *flops = 2 * m * n * k;
    *bytes = sizeof(float) * (m * k + k * n + m * n);
}

/* The kernels take sizes as int. */
static bool too_big(const clnn__gemm_args *g)
{
    return g->m > INT_MAX || g->n > INT_MAX || g->k > INT_MAX || g->lda > INT_MAX ||
           g->ldb > INT_MAX || g->ldc > INT_MAX;
}

bool clnn__gemm_gathers(const clnn_context *ctx, const clnn__gemm_args *g)
{
    clnn__gemm_own_params p;
    return !too_big(g) && own_params(ctx, g, &p) && clnn__gemm_own_gathers(g, &p);
}

clnn_status clnn__gemm(clnn_context *ctx, const clnn__gemm_args *g)
{
    if (g->m == 0 || g->n == 0)
        return CLNN_OK;
    if (too_big(g))
        return clnn__fail(CLNN_ERR_UNSUPPORTED, "GEMM of %zu×%zu×%zu exceeds 2^31 elements",
                          g->m, g->n, g->k);
    clnn__gemm_own_params p;
    const bool own = own_params(ctx, g, &p);
    /* The own kernels check the gather themselves (clnn__gemm_own_with). */
    if (g->a_rows && !own)
        return clnn__fail(CLNN_ERR_UNSUPPORTED, "CLBlast cannot gather rows of A");
    double flops, bytes;
    work(g, &flops, &bytes);
    clnn__profile_work(ctx, flops, bytes);
    if (own)
        return clnn__gemm_own_with(ctx, g, &p);
    clnn__gemm_state *s = ctx->gemm_state;
    if (s && s->active) {
        const clnn__tuning *t = &s->table;
        clnn_status st = clnn__gemm_clblast_with(ctx, g, &t->clblast);
        if (st != CLNN_ERR_UNSUPPORTED || !t->clblast.overridden)
            return st;
        /* The file's CLBlast parameters do not fit this CLBlast: say so once
         * and go on with the parameters in force, which are correct too. */
        clnn__log(CLNN_LOG_WARN, "tuned CLBlast parameters not applied: %s", clnn_last_error());
        clnn__clear_error();
        s->table.clblast.overridden = false;
        return clnn__gemm_clblast(ctx, g);
    }
    return clnn__gemm_clblast(ctx, g);
}

/* Pairs pay only where the launch they save is a noticeable part of the
 * work: on PoCL (2-core AVX-512 CPU) the 256→128 layer's pair at batch 256
 * (2^25 flops) took 85 µs against 90 µs as two launches, but 133 against
 * 123 µs at batch 384 and 420 against 310 µs at batch 1024. */
#define PAIR_MAX_FLOPS 33554432.0

/* Whether g0 and g1 run as one launch, with g0's parameters into *p0. */
static bool pair_params(const clnn_context *ctx, const clnn__gemm_args *g0,
                        const clnn__gemm_args *g1, clnn__gemm_own_params *p0)
{
    clnn__gemm_own_params p1; /* only that g1 runs on the own kernels too */
    /* Empty or oversized products go one by one: clnn__gemm handles them.
     * Both run with g0's parameters, even where tuning gave g1 others (a
     * tuner times shapes alone, and apart they had other tile orders at
     * every small layer of the reference network): gemm_outer's elements do
     * not depend on its tile, so the bits are those of two launches, and
     * the launch saved is worth more here than g1's own tile. */
    if (g0->m == 0 || g0->n == 0 || g1->m == 0 || g1->n == 0 || too_big(g0) || too_big(g1) ||
        !own_params(ctx, g0, p0) || !own_params(ctx, g1, &p1) ||
        !clnn__gemm_own_pairable(g0, g1, p0))
        return false;
    double flops, bytes, flops1, bytes1;
    work(g0, &flops, &bytes);
    work(g1, &flops1, &bytes1);
    return flops + flops1 <= PAIR_MAX_FLOPS;
}

clnn_status clnn__gemm_pair(clnn_context *ctx, const clnn__gemm_args *g0,
                            const clnn__gemm_args *g1, bool *done)
{
    *done = false;
    clnn__gemm_own_params p0;
    if (!pair_params(ctx, g0, g1, &p0))
        return CLNN_OK;
    double flops, bytes, flops1, bytes1;
    work(g0, &flops, &bytes);
    work(g1, &flops1, &bytes1);
    clnn__profile_work(ctx, flops + flops1, bytes + bytes1);
    clnn_status st = clnn__gemm_own_pair_with(ctx, g0, g1, &p0);
    *done = st == CLNN_OK;
    return st;
}

/* ------------------------------------------------ products run many times */

static uint64_t tuning_generation(const clnn_context *ctx)
{
    const clnn__gemm_state *s = ctx->gemm_state;
    return s ? s->generation : 0;
}

static void shape_key(const clnn__gemm_args *g, size_t key[6])
{
    key[0] = (size_t)g->trans_a | (size_t)g->trans_b << 1 | (size_t)(g->bias != NULL) << 2 |
             (size_t)(g->a_rows != NULL) << 3 | (size_t)(g->a_copy != NULL) << 4;
    key[1] = g->m;
    key[2] = g->n;
    key[3] = g->k;
    key[4] = key[5] = 0;
}

/* Whether c was chosen for g0 (and g1, for a pair) under this tuning; if
 * not, c is marked for choosing, with its new key. */
static bool still_fits(const clnn_context *ctx, clnn__gemm_call *c, const clnn__gemm_args *g0,
                       const clnn__gemm_args *g1)
{
    size_t key[2][6] = {{0}};
    shape_key(g0, key[0]);
    if (g1)
        shape_key(g1, key[1]);
    const uint64_t tuning = tuning_generation(ctx);
    if (c->ready && c->tuning == tuning && memcmp(key, c->key, sizeof key) == 0)
        return true;
    c->ready = false;
    c->tuning = tuning;
    memcpy(c->key, key, sizeof key);
    return false;
}

clnn_status clnn__gemm_run(clnn_context *ctx, clnn__gemm_call *c, const clnn__gemm_args *g)
{
    /* Empty and oversized products, and other backends, take the general
     * path each time. */
    if (g->m == 0 || g->n == 0 || too_big(g))
        return clnn__gemm(ctx, g);
    if (!still_fits(ctx, c, g, NULL)) {
        clnn__gemm_own_params p;
        c->own = own_params(ctx, g, &p);
        if (c->own) {
            clnn_status st = clnn__gemm_own_prepare(ctx, g, &p, &c->kernel);
            if (st != CLNN_OK)
                return st;
        }
        c->ready = true;
    }
    if (!c->own)
        return clnn__gemm(ctx, g);
    double flops, bytes;
    work(g, &flops, &bytes);
    clnn__profile_work(ctx, flops, bytes);
    return clnn__gemm_own_launch(ctx, g, &c->kernel);
}

clnn_status clnn__gemm_pair_run(clnn_context *ctx, clnn__gemm_call *c, const clnn__gemm_args *g0,
                                const clnn__gemm_args *g1, bool *done)
{
    *done = false;
    if (!still_fits(ctx, c, g0, g1)) {
        clnn__gemm_own_params p0;
        c->paired = pair_params(ctx, g0, g1, &p0);
        if (c->paired) {
            clnn_status st = clnn__gemm_own_pair_prepare(ctx, g0, g1, &p0, &c->kernel);
            if (st != CLNN_OK)
                return st;
        }
        c->ready = true;
    }
    if (!c->paired)
        return CLNN_OK;
    double flops, bytes, flops1, bytes1;
    work(g0, &flops, &bytes);
    work(g1, &flops1, &bytes1);
    clnn__profile_work(ctx, flops + flops1, bytes + bytes1);
    clnn_status st = clnn__gemm_own_pair_launch(ctx, g0, g1, &c->kernel);
    *done = st == CLNN_OK;
    return st;
}

clnn_status clnn__gemm_bias_add(clnn_context *ctx, const clnn__gemm_args *g)
{
    cl_kernel k;
    clnn_status st = clnn__kernel(ctx, "dense", NULL, "bias_add", &k);
    if (st != CLNN_OK)
        return st;
    int y_off = (int)g->c_off, ldy = (int)g->ldc, rows = (int)g->m, cols = (int)g->n;
    int bias_off = (int)g->bias_off;
    const size_t global[2] = {g->n, g->m};
    clnn__profile_work(ctx, (double)g->m * g->n, 8.0 * g->m * g->n);
    return CLNN__LAUNCH(ctx, k, "bias_add", 2, global, NULL, CLNN__ARG(g->c), CLNN__ARG(y_off),
                        CLNN__ARG(ldy), CLNN__ARG(rows), CLNN__ARG(cols), CLNN__ARG(g->bias),
                        CLNN__ARG(bias_off));
}
