/* clnn__gemm on both backends (CLBlast and clnn's own kernels) against the
 * double-precision reference: all four transpose combinations, odd shapes
 * and the reference network's shapes, nonzero offsets, leading dimensions
 * wider than the matrices, and several alpha/beta pairs.
 *
 * Guards: every element of A and B outside the matrix (before the offset,
 * in the row padding) is NaN, so a read outside the matrix poisons the
 * result; C's padding holds a sentinel that must survive unchanged; with
 * beta = 0, C itself starts as NaN, which must not reach the result (BLAS
 * semantics: beta = 0 means C is not read).
 *
 * Tolerance: err = max|c − ref| / max(1, max|ref|) ≤ 2e-5. Inputs are
 * U(−1, 1) floats (exact in double), so the only error is float32
 * accumulation over k terms: about sqrt(k)·eps32·sqrt(Σ(a·b)²) for random
 * signs, ≈ 28 · 6e-8 · 9 ≈ 1.5e-5 absolute for k = 784, against results of
 * size ~10-30 (measured worst: about 1e-6 relative); blocked or fma
 * summation only lowers it. A wrong index, transpose or missing alpha/beta
 * term gives errors of order 1.
 *
 * With a bias (the dense layer's forward): a row vector added to every row
 * of C, fused into the own kernels' stores and a separate launch after
 * CLBlast, checked the same way, with NaN around the bias in its buffer;
 * and bitwise against the GEMM without bias plus a float add on the host,
 * which is how the separate add rounds. */
#include "core_test.h"
#include "gemm/gemm.h"
#include "gemm/gemm_own.h"
#include "gemm/tune.h"
#include "reference.h"

#include <stdlib.h>

#define GEMM_TOL 2e-5
#define C_SENTINEL 12345.0f

typedef struct shape {
    size_t m, n, k;
} shape;

static const shape shapes[] = {
    {1, 1, 1},     {1, 3, 17},    {3, 1, 257},  {17, 257, 3},  {257, 17, 1},
    {17, 17, 17},  {3, 257, 257}, {64, 256, 784}, /* forward of the first layer */
    {256, 784, 64},                                /* its weight gradient */
    {64, 784, 256},                                /* its input gradient */
    {64, 10, 128}, {10, 128, 64},
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

static const struct {
    float alpha, beta;
} scalars[] = {{1.0f, 0.0f}, {0.5f, -1.5f}, {-2.0f, 0.0f}, {1.0f, 1.0f}};
#define N_SCALARS (sizeof scalars / sizeof scalars[0])

/* A stored matrix of rows × cols in a buffer: off elements before it and
 * pad elements after each row. */
typedef struct stored {
    size_t rows, cols, off, ld, total;
    float *host;
} stored;

static stored make_stored(size_t rows, size_t cols, size_t off, size_t pad, float outside)
{
    stored s = {rows, cols, off, cols + pad, 0, NULL};
    s.total = off + rows * s.ld + pad; /* trailing pad: reads past the end show too */
    s.host = malloc(s.total * sizeof *s.host);
    ck_assert_ptr_nonnull(s.host);
    for (size_t i = 0; i < s.total; i++)
        s.host[i] = outside;
    return s;
}

static float *at(stored *s, size_t r, size_t c)
{
    return &s->host[s->off + r * s->ld + c];
}

/* The matrix part as doubles, row stride cols. */
static double *dense_copy(stored *s)
{
    double *d = malloc(s->rows * s->cols * sizeof *d);
    ck_assert_ptr_nonnull(d);
    for (size_t r = 0; r < s->rows; r++)
        for (size_t c = 0; c < s->cols; c++)
            d[r * s->cols + c] = *at(s, r, c);
    return d;
}

static cl_mem upload(clnn_context *ctx, const stored *s)
{
    cl_mem buf;
    ck_assert_clnn_ok(clnn__buffer_create(ctx, s->total * sizeof(float), &buf));
    ck_assert_clnn_ok(
        clnn__buffer_write(ctx, buf, 0, s->total * sizeof(float), s->host, true, NULL));
    return buf;
}

/* The bias in its buffer: bias_off elements of NaN before, and after. */
typedef struct bias_vec {
    size_t off, total;
    float *host;
} bias_vec;

static bias_vec make_bias(size_t n, size_t off, core_rng *r)
{
    bias_vec v = {off, off + n + 3, NULL};
    v.host = malloc(v.total * sizeof *v.host);
    ck_assert_ptr_nonnull(v.host);
    for (size_t i = 0; i < v.total; i++)
        v.host[i] = i >= off && i < off + n ? (float)core_rng_uniform(r, -1, 1) : NAN;
    return v;
}

/* One GEMM on both backends; case_id varies offsets, padding and scalars. */
static void run_case_bias(shape sh, bool ta, bool tb, float alpha, float beta, size_t case_id,
                          bool with_bias)
{
    core_rng r = core_rng_make(1000 + case_id);
    size_t off = (case_id % 3) * 5, pad = (case_id / 3) % 2 ? 3 : 0;
    stored a = make_stored(ta ? sh.k : sh.m, ta ? sh.m : sh.k, off, pad, NAN);
    stored b = make_stored(tb ? sh.n : sh.k, tb ? sh.k : sh.n, off + 1, pad + 1, NAN);
    stored c = make_stored(sh.m, sh.n, off + 2, pad + 2, C_SENTINEL);
    for (size_t i = 0; i < a.rows; i++)
        for (size_t j = 0; j < a.cols; j++)
            *at(&a, i, j) = (float)core_rng_uniform(&r, -1, 1);
    for (size_t i = 0; i < b.rows; i++)
        for (size_t j = 0; j < b.cols; j++)
            *at(&b, i, j) = (float)core_rng_uniform(&r, -1, 1);
    for (size_t i = 0; i < c.rows; i++)
        for (size_t j = 0; j < c.cols; j++)
            *at(&c, i, j) = beta == 0.0f ? NAN : (float)core_rng_uniform(&r, -1, 1);

    bias_vec bias = {0, 0, NULL};
    if (with_bias)
        bias = make_bias(sh.n, 1 + case_id % 4, &r);

    double *da = dense_copy(&a), *db = dense_copy(&b), *want = dense_copy(&c);
    ref_gemm(ta, tb, sh.m, sh.n, sh.k, alpha, da, a.cols, db, b.cols, beta, want, c.cols);
    if (with_bias)
        for (size_t i = 0; i < sh.m; i++)
            for (size_t j = 0; j < sh.n; j++)
                want[i * sh.n + j] += bias.host[bias.off + j];

    float *got = malloc(c.total * sizeof *got), *result = malloc(sh.m * sh.n * sizeof *result);
    ck_assert(got && result);
    for (size_t bi = 0; bi < CORE_BACKENDS; bi++) {
        clnn_context *ctx = core_context(core_backends[bi]);
        cl_mem ma = upload(ctx, &a), mb = upload(ctx, &b), mc = upload(ctx, &c), mbias = NULL;
        if (with_bias) {
            ck_assert_clnn_ok(clnn__buffer_create(ctx, bias.total * sizeof(float), &mbias));
            ck_assert_clnn_ok(clnn__buffer_write(ctx, mbias, 0, bias.total * sizeof(float),
                                                 bias.host, true, NULL));
        }
        clnn__gemm_args g = {.trans_a = ta, .trans_b = tb, .m = sh.m, .n = sh.n, .k = sh.k,
                             .alpha = alpha, .a = ma, .a_off = a.off, .lda = a.ld,
                             .b = mb, .b_off = b.off, .ldb = b.ld,
                             .beta = beta, .c = mc, .c_off = c.off, .ldc = c.ld,
                             .bias = mbias, .bias_off = bias.off};
        ck_assert_clnn_ok(clnn__gemm(ctx, &g));
        ck_assert_clnn_ok(clnn__buffer_read(ctx, mc, 0, c.total * sizeof(float), got));
        clnn__buffer_release(&ma);
        clnn__buffer_release(&mb);
        clnn__buffer_release(&mc);
        if (mbias)
            clnn__buffer_release(&mbias);

        char what[160];
        snprintf(what, sizeof what, "%s GEMM %s%s m=%zu n=%zu k=%zu alpha=%g beta=%g off=%zu "
                 "pad=%zu%s", clnn_gemm_backend_name(core_backends[bi]), ta ? "T" : "N",
                 tb ? "T" : "N", sh.m, sh.n, sh.k, alpha, beta, off, pad,
                 with_bias ? " +bias" : "");
        for (size_t i = 0; i < c.total; i++) {
            size_t rel = i - c.off;
            bool inside = i >= c.off && rel / c.ld < c.rows && rel % c.ld < c.cols;
            if (inside)
                result[(rel / c.ld) * c.cols + rel % c.ld] = got[i];
            else
                ck_assert_msg(got[i] == C_SENTINEL, "%s: C element %zu outside the matrix was "
                              "overwritten with %g", what, i, (double)got[i]);
        }
        core_check_close(what, result, want, sh.m * sh.n, 1.0, GEMM_TOL);
    }
    free(got), free(result), free(da), free(db), free(want);
    free(a.host), free(b.host), free(c.host), free(bias.host);
}

static void run_case(shape sh, bool ta, bool tb, float alpha, float beta, size_t case_id)
{
    run_case_bias(sh, ta, tb, alpha, beta, case_id, false);
}

/* Loop index: shape × transpose combination; scalars cycle with the index. */
START_TEST(test_gemm_matches_reference)
{
    size_t s = (size_t)_i / 4, t = (size_t)_i % 4;
    size_t k = (s + t) % N_SCALARS; /* every transpose meets every alpha/beta pair */
    run_case(shapes[s], t & 2, t & 1, scalars[k].alpha, scalars[k].beta, (size_t)_i);
}
END_TEST

/* beta = 0 over a NaN-filled C, for every transpose, on a shape large
 * enough to take CLBlast's indirect (padded) path as well as a small one. */
START_TEST(test_beta_zero_ignores_nan_in_c)
{
    static const shape sh[] = {{5, 7, 3}, {65, 129, 257}};
    for (size_t i = 0; i < 2; i++)
        run_case(sh[i], _i & 2, _i & 1, 1.5f, 0.0f, 7 + i);
}
END_TEST

/* The bias on every shape and transpose (so on every own kernel and its
 * edge tiles), scalars cycling the other way round than above. */
START_TEST(test_gemm_bias_matches_reference)
{
    size_t s = (size_t)_i / 4, t = (size_t)_i % 4;
    size_t k = (s + 3 * t + 1) % N_SCALARS;
    run_case_bias(shapes[s], t & 2, t & 1, scalars[k].alpha, scalars[k].beta, 100 + (size_t)_i,
                  true);
}
END_TEST

/* Y = X·Wᵀ + b as the dense layer runs it, on odd shapes that leave edge
 * tiles in both dimensions: the fused bias must give bitwise the GEMM
 * without bias followed by a float add of the bias. */
START_TEST(test_gemm_bias_rounds_as_separate_add)
{
    static const shape sh[] = {{13, 11, 37}, {64, 256, 784}, {7, 10, 128}, {33, 65, 5}};
    const shape h = sh[_i];
    core_rng r = core_rng_make(500 + (uint64_t)_i);
    float *x = malloc(h.m * h.k * sizeof *x), *w = malloc(h.n * h.k * sizeof *w);
    float *plain = malloc(h.m * h.n * sizeof *plain), *fused = malloc(h.m * h.n * sizeof *fused);
    ck_assert(x && w && plain && fused);
    for (size_t i = 0; i < h.m * h.k; i++)
        x[i] = (float)core_rng_uniform(&r, -1, 1);
    for (size_t i = 0; i < h.n * h.k; i++)
        w[i] = (float)core_rng_uniform(&r, -1, 1);
    bias_vec bias = make_bias(h.n, 2, &r);
    for (size_t bi = 0; bi < CORE_BACKENDS; bi++) {
        clnn_context *ctx = core_context(core_backends[bi]);
        cl_mem mx, mw, mb, my;
        ck_assert_clnn_ok(clnn__buffer_create(ctx, h.m * h.k * sizeof(float), &mx));
        ck_assert_clnn_ok(clnn__buffer_create(ctx, h.n * h.k * sizeof(float), &mw));
        ck_assert_clnn_ok(clnn__buffer_create(ctx, bias.total * sizeof(float), &mb));
        ck_assert_clnn_ok(clnn__buffer_create(ctx, h.m * h.n * sizeof(float), &my));
        ck_assert_clnn_ok(clnn__buffer_write(ctx, mx, 0, h.m * h.k * sizeof(float), x, true, NULL));
        ck_assert_clnn_ok(clnn__buffer_write(ctx, mw, 0, h.n * h.k * sizeof(float), w, true, NULL));
        ck_assert_clnn_ok(clnn__buffer_write(ctx, mb, 0, bias.total * sizeof(float), bias.host,
                                             true, NULL));
        clnn__gemm_args g = {.trans_a = false, .trans_b = true, .m = h.m, .n = h.n, .k = h.k,
                             .alpha = 1.0f, .a = mx, .lda = h.k, .b = mw, .ldb = h.k,
                             .beta = 0.0f, .c = my, .ldc = h.n};
        ck_assert_clnn_ok(clnn__gemm(ctx, &g));
        ck_assert_clnn_ok(clnn__buffer_read(ctx, my, 0, h.m * h.n * sizeof(float), plain));
        g.bias = mb;
        g.bias_off = bias.off;
        ck_assert_clnn_ok(clnn__gemm(ctx, &g));
        ck_assert_clnn_ok(clnn__buffer_read(ctx, my, 0, h.m * h.n * sizeof(float), fused));
        for (size_t i = 0; i < h.m; i++)
            for (size_t j = 0; j < h.n; j++) {
                const float want = plain[i * h.n + j] + bias.host[bias.off + j];
                ck_assert_msg(fused[i * h.n + j] == want,
                              "%s %zux%zux%zu: y[%zu][%zu] = %a, GEMM then add gives %a",
                              clnn_gemm_backend_name(core_backends[bi]), h.m, h.n, h.k, i, j,
                              (double)fused[i * h.n + j], (double)want);
            }
        clnn__buffer_release(&mx);
        clnn__buffer_release(&mw);
        clnn__buffer_release(&mb);
        clnn__buffer_release(&my);
    }
    free(x), free(w), free(plain), free(fused), free(bias.host);
}
END_TEST

/* A dense layer's backward, dW = dYᵀ·X and dX = dY·W, as one own-kernel
 * launch (clnn__gemm_pair): within GEMM_TOL of the double reference, and
 * bitwise what the two separate launches give, dX also when run alone with
 * another tile and tile order (the pair runs dX with dW's parameters, which
 * tuning may have made differ from dX's). Shapes: the reference network's
 * two backward pairs and odd ones with edge tiles. */
START_TEST(test_gemm_pair_matches_separate)
{
    static const shape sh[] = {{64, 128, 256}, {256, 10, 128}, {37, 9, 45}, {17, 33, 250}};
    const size_t rows = sh[_i].m, out = sh[_i].n, in = sh[_i].k;
    clnn_context *ctx = core_context(CLNN_GEMM_OWN);
    core_rng r = core_rng_make(700 + (uint64_t)_i);
    float *dy = malloc(rows * out * sizeof *dy), *x = malloc(rows * in * sizeof *x);
    float *w = malloc(out * in * sizeof *w);
    ck_assert(dy && x && w);
    for (size_t i = 0; i < rows * out; i++)
        dy[i] = (float)core_rng_uniform(&r, -1, 1);
    for (size_t i = 0; i < rows * in; i++)
        x[i] = (float)core_rng_uniform(&r, -1, 1);
    for (size_t i = 0; i < out * in; i++)
        w[i] = (float)core_rng_uniform(&r, -1, 1);
    const size_t bytes[5] = {rows * out, rows * in, out * in, out * in, rows * in};
    const float *host[3] = {dy, x, w};
    cl_mem m[5]; /* dY, X, W, dW, dX */
    for (int i = 0; i < 5; i++) {
        ck_assert_clnn_ok(clnn__buffer_create(ctx, bytes[i] * sizeof(float), &m[i]));
        if (i < 3)
            ck_assert_clnn_ok(
                clnn__buffer_write(ctx, m[i], 0, bytes[i] * sizeof(float), host[i], true, NULL));
    }
    const clnn__gemm_args dw = {.trans_a = true, .m = out, .n = in, .k = rows, .alpha = 1.0f,
                                .a = m[0], .lda = out, .b = m[1], .ldb = in, .c = m[3],
                                .ldc = in};
    const clnn__gemm_args dx = {.m = rows, .n = in, .k = out, .alpha = 1.0f, .a = m[0],
                                .lda = out, .b = m[2], .ldb = in, .c = m[4], .ldc = in};
    float *got[2], *sep[2];
    const size_t n[2] = {out * in, rows * in};
    for (int j = 0; j < 2; j++) {
        got[j] = malloc(n[j] * sizeof(float));
        sep[j] = malloc(n[j] * sizeof(float));
        ck_assert(got[j] && sep[j]);
    }
    bool done = false;
    ck_assert_clnn_ok(clnn__gemm_pair(ctx, &dw, &dx, &done));
    ck_assert_msg(done, "%zux%zux%zu: the CPU parameters should pair", rows, out, in);
    ck_assert_clnn_ok(clnn__buffer_read(ctx, m[3], 0, n[0] * sizeof(float), got[0]));
    ck_assert_clnn_ok(clnn__buffer_read(ctx, m[4], 0, n[1] * sizeof(float), got[1]));
    ck_assert_clnn_ok(clnn__gemm(ctx, &dw));
    ck_assert_clnn_ok(clnn__gemm(ctx, &dx));
    ck_assert_clnn_ok(clnn__buffer_read(ctx, m[3], 0, n[0] * sizeof(float), sep[0]));
    ck_assert_clnn_ok(clnn__buffer_read(ctx, m[4], 0, n[1] * sizeof(float), sep[1]));
    clnn__gemm_own_params other;
    clnn__gemm_own_default_params(ctx, &other);
    other.rm = 4, other.vw = 4, other.nv = 1;
    other.outer_grid = other.outer_grid == CLNN__GRID_M ? CLNN__GRID_N : CLNN__GRID_M;
    float *retiled = malloc(n[1] * sizeof *retiled);
    ck_assert_ptr_nonnull(retiled);
    ck_assert_clnn_ok(clnn__gemm_own_with(ctx, &dx, &other));
    ck_assert_clnn_ok(clnn__buffer_read(ctx, m[4], 0, n[1] * sizeof(float), retiled));
    ck_assert_str_eq(clnn__gemm_own_kernel_for(&dx, &other), "gemm_outer");
    ck_assert_mem_eq(retiled, got[1], n[1] * sizeof *retiled);
    free(retiled);

    double *ddy = malloc(rows * out * sizeof *ddy), *dxv = malloc(rows * in * sizeof *dxv);
    double *dwv = malloc(out * in * sizeof *dwv);
    double *want[2] = {malloc(n[0] * sizeof(double)), malloc(n[1] * sizeof(double))};
    ck_assert(ddy && dxv && dwv && want[0] && want[1]);
    for (size_t i = 0; i < rows * out; i++)
        ddy[i] = dy[i];
    for (size_t i = 0; i < rows * in; i++)
        dxv[i] = x[i];
    for (size_t i = 0; i < out * in; i++)
        dwv[i] = w[i];
    ref_gemm(true, false, out, in, rows, 1.0, ddy, out, dxv, in, 0.0, want[0], in);
    ref_gemm(false, false, rows, in, out, 1.0, ddy, out, dwv, in, 0.0, want[1], in);
    static const char *const what[2] = {"paired dW", "paired dX"};
    for (int j = 0; j < 2; j++) {
        core_check_close(what[j], got[j], want[j], n[j], 1.0, GEMM_TOL);
        for (size_t i = 0; i < n[j]; i++)
            ck_assert_msg(got[j][i] == sep[j][i], "%s %zux%zux%zu [%zu]: %a, separately %a",
                          what[j], rows, out, in, i, (double)got[j][i], (double)sep[j][i]);
        free(got[j]), free(sep[j]), free(want[j]);
    }
    for (int i = 0; i < 5; i++)
        clnn__buffer_release(&m[i]);
    free(dy), free(x), free(w), free(ddy), free(dxv), free(dwv);
}
END_TEST

START_TEST(test_empty_gemm_is_noop)
{
    /* m or n of 0: nothing to compute, C untouched, no launch. */
    for (size_t bi = 0; bi < CORE_BACKENDS; bi++) {
        clnn_context *ctx = core_context(core_backends[bi]);
        cl_mem c;
        float v = 3.0f;
        ck_assert_clnn_ok(clnn__buffer_create(ctx, sizeof v, &c));
        ck_assert_clnn_ok(clnn__buffer_write(ctx, c, 0, sizeof v, &v, true, NULL));
        clnn__gemm_args g = {.m = 0, .n = 1, .k = 1, .alpha = 1, .a = c, .lda = 1, .b = c,
                             .ldb = 1, .beta = 0, .c = c, .ldc = 1};
        ck_assert_clnn_ok(clnn__gemm(ctx, &g));
        v = 0.0f;
        ck_assert_clnn_ok(clnn__buffer_read(ctx, c, 0, sizeof v, &v));
        ck_assert_float_eq(v, 3.0f);
        clnn__buffer_release(&c);
    }
}
END_TEST

/* C of g, read back after running it through the general path or c. */
static void product(clnn_context *ctx, const clnn__gemm_args *g, clnn__gemm_call *c, float *out)
{
    ck_assert_clnn_ok(c ? clnn__gemm_run(ctx, c, g) : clnn__gemm(ctx, g));
    ck_assert_clnn_ok(clnn__buffer_read(ctx, g->c, 0, g->m * g->ldc * sizeof(float), out));
}

/* A product configured once (clnn__gemm_call) gives clnn__gemm's bits as
 * its shape changes and back, and chooses again when the context's tuning
 * changes under it; a pair likewise gives clnn__gemm_pair's. */
START_TEST(test_gemm_call_follows_shape_and_tuning)
{
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.gemm = CLNN_GEMM_OWN;
    clnn_context *ctx;
    ck_assert_clnn_ok(clnn_context_create(&o, &ctx));
    enum { M = 96, N = 40, K = 56 };
    core_rng r = core_rng_make(17);
    float a[M * K], b[K * N], want[M * N], got[M * N];
    core_fill(a, M * K, -1, 1, &r);
    core_fill(b, K * N, -1, 1, &r);
    cl_mem da, db, dc, dd;
    ck_assert_clnn_ok(clnn__buffer_create(ctx, sizeof a, &da));
    ck_assert_clnn_ok(clnn__buffer_create(ctx, sizeof b, &db));
    ck_assert_clnn_ok(clnn__buffer_create(ctx, sizeof want, &dc));
    ck_assert_clnn_ok(clnn__buffer_create(ctx, sizeof a, &dd)); /* M × K */
    ck_assert_clnn_ok(clnn__buffer_write(ctx, da, 0, sizeof a, a, true, NULL));
    ck_assert_clnn_ok(clnn__buffer_write(ctx, db, 0, sizeof b, b, true, NULL));
    clnn__gemm_call call = {0};
    const size_t rows[] = {M, 13, M};
    for (size_t i = 0; i < 3; i++) {
        const clnn__gemm_args g = {.m = rows[i], .n = N, .k = K, .alpha = 1, .a = da, .lda = K,
                                   .b = db, .ldb = N, .c = dc, .ldc = N};
        product(ctx, &g, NULL, want);
        product(ctx, &g, &call, got);
        ck_assert_mem_eq(got, want, rows[i] * N * sizeof(float));
    }

    /* A tuning that gives the shape other tiles. */
    const clnn__gemm_args g = {.m = M, .n = N, .k = K, .alpha = 1, .a = da, .lda = K, .b = db,
                               .ldb = N, .c = dc, .ldc = N};
    const cl_kernel before = call.kernel.kernel;
    clnn__gemm_state *gs = clnn__gemm_state_get(ctx);
    ck_assert_ptr_nonnull(gs);
    clnn__tune_entry e = {.m = M, .n = N, .k = K, .backend = CLNN_GEMM_OWN};
    clnn__gemm_own_default_params(ctx, &e.own);
    e.own.rm = 4, e.own.vw = 4, e.own.nv = 2;
    ck_assert_clnn_ok(clnn__tuning_put(&gs->table, &e));
    gs->table.default_backend = CLNN_GEMM_OWN;
    clnn__gemm_own_default_params(ctx, &gs->table.default_own);
    gs->active = true;
    gs->generation++;
    product(ctx, &g, NULL, want);
    product(ctx, &g, &call, got);
    ck_assert_mem_eq(got, want, sizeof want);
    ck_assert(call.kernel.kernel != before);

    /* A pair as a dense layer runs it: dW = dYᵀ·X (N × K) and dX = dY·W
     * (rows × K), with X in da (M × K), W in db (N × K) and dY in dc. */
    float dy[M * N];
    core_fill(dy, M * N, -1, 1, &r);
    ck_assert_clnn_ok(clnn__buffer_write(ctx, dc, 0, sizeof dy, dy, true, NULL));
    cl_mem dw;
    ck_assert_clnn_ok(clnn__buffer_create(ctx, N * K * sizeof(float), &dw));
    clnn__gemm_call pair = {0};
    for (size_t i = 0; i < 3; i++) {
        const clnn__gemm_args g0 = {.trans_a = true, .m = N, .n = K, .k = rows[i], .alpha = 1,
                                    .a = dc, .lda = N, .b = da, .ldb = K, .c = dw, .ldc = K};
        const clnn__gemm_args g1 = {.m = rows[i], .n = K, .k = N, .alpha = 1, .a = dc,
                                    .lda = N, .b = db, .ldb = K, .c = dd, .ldc = K};
        bool done = false, done_cached = false;
        float w0[N * K], w1[M * K], g0v[N * K], g1v[M * K];
        ck_assert_clnn_ok(clnn__gemm_pair(ctx, &g0, &g1, &done));
        ck_assert_clnn_ok(clnn__buffer_read(ctx, dw, 0, sizeof w0, w0));
        ck_assert_clnn_ok(clnn__buffer_read(ctx, dd, 0, rows[i] * K * sizeof(float), w1));
        ck_assert_clnn_ok(clnn__gemm_pair_run(ctx, &pair, &g0, &g1, &done_cached));
        ck_assert_int_eq(done_cached, done);
        if (!done)
            continue;
        ck_assert_clnn_ok(clnn__buffer_read(ctx, dw, 0, sizeof g0v, g0v));
        ck_assert_clnn_ok(clnn__buffer_read(ctx, dd, 0, rows[i] * K * sizeof(float), g1v));
        ck_assert_mem_eq(g0v, w0, sizeof w0);
        ck_assert_mem_eq(g1v, w1, rows[i] * K * sizeof(float));
    }
    ck_assert(pair.paired);
    clnn__buffer_release(&da), clnn__buffer_release(&db), clnn__buffer_release(&dc);
    clnn__buffer_release(&dd), clnn__buffer_release(&dw);
    clnn_context_free(ctx);
}
END_TEST

static Suite *gemm_suite(void)
{
    Suite *s = suite_create("core-gemm");
    TCase *tc = tcase_create("gemm");
    tcase_add_loop_test(tc, test_gemm_matches_reference, 0, (int)(N_SHAPES * 4));
    tcase_add_loop_test(tc, test_beta_zero_ignores_nan_in_c, 0, 4);
    tcase_add_loop_test(tc, test_gemm_bias_matches_reference, 0, (int)(N_SHAPES * 4));
    tcase_add_loop_test(tc, test_gemm_bias_rounds_as_separate_add, 0, 4);
    tcase_add_loop_test(tc, test_gemm_pair_matches_separate, 0, 4);
    tcase_add_test(tc, test_empty_gemm_is_noop);
    tcase_add_test(tc, test_gemm_call_follows_shape_and_tuning);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(gemm_suite());
}
