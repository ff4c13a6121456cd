/* clnn's own GEMM: picks one of kernels/gemm.cl's kernels per call and
 * specialises it with -D options from a per-device parameter table. */
#include "gemm/gemm_own.h"

#include <stdio.h>

/* Tile parameters per device type. Only the CPU entry is measured (PoCL on
 * an AVX-512 CPU: an 8×32 tile is 16 float16 accumulators, half the 32
 * vector registers, leaving room for the B row and broadcasts; the dot tile
 * 4×4 likewise). The default entry keeps a work-item's accumulators small
 * (8 float4) so GPUs, whose threads have far fewer registers, do not spill,
 * and leaves work-group sizes to the driver; a tuner should refine it. */
static const struct {
    clnn_device_type type;
    clnn__gemm_own_params params;
} param_table[] = {
    {CLNN_DEVICE_CPU,
     {.rm = 8, .vw = 16, .nv = 2, .dm = 4, .dn = 4, .dvw = 16, .outer_grid = CLNN__GRID_AUTO,
      .dot_grid = CLNN__GRID_N, .stream_bytes = 1 << 20, .local0 = 64, .min_groups = 2}},
    {CLNN_DEVICE_OTHER,
     {.rm = 4, .vw = 4, .nv = 2, .dm = 2, .dn = 2, .dvw = 4, .outer_grid = CLNN__GRID_N,
      .dot_grid = CLNN__GRID_N, .stream_bytes = 0, .local0 = 0, .min_groups = 0}},
};

void clnn__gemm_own_default_params(const clnn_context *ctx, clnn__gemm_own_params *p)
{
    *p = param_table[CLNN__ARRAY_LEN(param_table) - 1].params;
    for (size_t i = 0; i < CLNN__ARRAY_LEN(param_table); i++) {
        if (param_table[i].type == ctx->info.type) {
            *p = param_table[i].params;
            return;
        }
    }
}

static bool vector_width_ok(int w)
{
    return w == 2 || w == 4 || w == 8 || w == 16;
}

static bool params_ok(const clnn__gemm_own_params *p)
{
    return p->rm >= 1 && p->rm <= 32 && vector_width_ok(p->vw) && p->nv >= 1 && p->nv <= 8 &&
           p->dm >= 1 && p->dm <= 16 && p->dn >= 1 && p->dn <= 16 && vector_width_ok(p->dvw) &&
           p->local0 >= 0 && p->min_groups >= 0 && p->outer_grid >= CLNN__GRID_N &&
           p->outer_grid <= CLNN__GRID_AUTO && p->dot_grid >= CLNN__GRID_N &&
           p->dot_grid <= CLNN__GRID_M;
}

typedef enum own_kernel { OWN_OUTER, OWN_DOT, OWN_GENERAL } own_kernel;
static const char *const kernel_names[] = {"gemm_outer", "gemm_dot", "gemm_general"};

static own_kernel pick_kernel(const clnn__gemm_args *g, const clnn__gemm_own_params *p)
{
    /* gemm_outer's edge tiles are shifted back inside the matrix, so it
     * needs at least one whole tile in each dimension. */
    if (!g->trans_b && g->m >= (size_t)p->rm && g->n >= (size_t)(p->vw * p->nv))
        return OWN_OUTER;
    if (!g->trans_a && g->trans_b)
        return OWN_DOT;
    return OWN_GENERAL;
}

const char *clnn__gemm_own_kernel_for(const clnn__gemm_args *g, const clnn__gemm_own_params *p)
{
    return kernel_names[pick_kernel(g, p)];
}

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

clnn_status clnn__gemm_own_with(clnn_context *ctx, const clnn__gemm_args *g,
                                const clnn__gemm_own_params *p)
{
    if (!params_ok(p))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "own GEMM parameters out of range (rm %d, vw %d, nv %d, dm %d, dn %d, "
                          "dvw %d)",
                          p->rm, p->vw, p->nv, p->dm, p->dn, p->dvw);
    const own_kernel which = pick_kernel(g, p);
    const char *name = kernel_names[which];
    /* Each kernel gets only the options it reads, so one program serves
     * every call with the same specialisation. */
    char options[160];
    size_t tile_m, tile_n;
    bool grid_mn;
    if (which == OWN_OUTER) {
        grid_mn = p->outer_grid == CLNN__GRID_M;
        if (p->outer_grid == CLNN__GRID_AUTO) {
            /* Each group streams the whole of one operand: op(B) when
             * walking N. When op(B) is too big to stay in cache between
             * groups (dW = dYᵀ·X at large batches), stream op(A) instead if
             * it is smaller. */
            const size_t a_bytes = g->m * g->k * sizeof(float);
            const size_t b_bytes = g->k * g->n * sizeof(float);
            grid_mn = b_bytes > p->stream_bytes && a_bytes < b_bytes;
        }
        snprintf(options, sizeof options, "-DTRANS_A=%d -DRM=%d -DVW=%d -DNV=%d -DGRID_MN=%d",
                 g->trans_a, p->rm, p->vw, p->nv, grid_mn);
        tile_m = (size_t)p->rm;
        tile_n = (size_t)(p->vw * p->nv);
    } else if (which == OWN_DOT) {
        grid_mn = p->dot_grid == CLNN__GRID_M;
        snprintf(options, sizeof options, "-DDM=%d -DDN=%d -DDVW=%d -DGRID_MN=%d", p->dm, p->dn,
                 p->dvw, grid_mn);
        tile_m = (size_t)p->dm;
        tile_n = (size_t)p->dn;
    } else {
        snprintf(options, sizeof options, "-DTRANS_A=%d -DTRANS_B=%d", g->trans_a, g->trans_b);
        tile_m = tile_n = 4; /* GM, GN in kernels/gemm.cl */
        grid_mn = false;
    }
    cl_kernel kernel;
    clnn_status st = clnn__kernel(ctx, "gemm", options, name, &kernel);
    if (st != CLNN_OK)
        return st;

    const size_t tiles_m = ceil_div(g->m, tile_m), tiles_n = ceil_div(g->n, tile_n);
    const size_t global[2] = {grid_mn ? tiles_m : tiles_n, grid_mn ? tiles_n : tiles_m};
    size_t local[2] = {0, 1};
    if (p->local0) {
        /* Work-groups of up to local0 consecutive tiles, but at least
         * min_groups per compute unit so every core gets work, and sized
         * evenly so the rounded-up range wastes little. */
        const size_t units = ctx->info.compute_units ? ctx->info.compute_units : 1;
        const size_t want = (size_t)p->min_groups * units;
        const size_t max_wg = ctx->info.max_work_group_size ? ctx->info.max_work_group_size : 1;
        size_t l0 = CLNN__MIN((size_t)p->local0, CLNN__MIN(global[0], max_wg));
        if (want > 1)
            l0 = CLNN__MIN(l0, ceil_div(global[0], ceil_div(want, global[1])));
        local[0] = ceil_div(global[0], ceil_div(global[0], l0));
    }
    int M = (int)g->m, N = (int)g->n, K = (int)g->k;
    int a_off = (int)g->a_off, lda = (int)g->lda, b_off = (int)g->b_off, ldb = (int)g->ldb;
    int c_off = (int)g->c_off, ldc = (int)g->ldc;
    return CLNN__LAUNCH(ctx, kernel, name, 2, global, local[0] ? local : NULL, CLNN__ARG(M),
                        CLNN__ARG(N), CLNN__ARG(K), CLNN__ARG(g->alpha), CLNN__ARG(g->a),
                        CLNN__ARG(a_off), CLNN__ARG(lda), CLNN__ARG(g->b), CLNN__ARG(b_off),
                        CLNN__ARG(ldb), CLNN__ARG(g->beta), CLNN__ARG(g->c), CLNN__ARG(c_off),
                        CLNN__ARG(ldc));
}

clnn_status clnn__gemm_own(clnn_context *ctx, const clnn__gemm_args *g)
{
    clnn__gemm_own_params p;
    clnn__gemm_own_default_params(ctx, &p);
    return clnn__gemm_own_with(ctx, g, &p);
}
