/* clnn's own GEMM: picks one of kernels/gemm.cl's kernels per call and
 * specialises it with -D options from a per-device parameter table. */
#include "gemm/gemm_own.h"

#include <stdio.h>

/* Parameters per device type, the one place a tuner needs to change. Only
 * the CPU entry is measured (PoCL 3.1 on a 2-core AVX-512 CPU): an 8×32
 * outer tile is 16 float16 accumulators, half the 32 vector registers,
 * leaving room for the B row and the broadcasts; the 4×4 dot tile likewise
 * (5×4, 6×3, 8×2 and 4×3 measured within noise of it); walking M tiles
 * in gemm_outer was as fast or faster than walking N at every shape; our own
 * work-group sizes instead of PoCL's (which made a single group of small
 * ranges) use both cores. The default entry keeps a work-item's accumulators
 * small (8 float4) so GPUs, whose threads have far fewer registers, do not
 * spill, and leaves work-group sizes to the driver; a tuner should refine
 * it. */
static const struct {
    clnn_device_type type;
    clnn__gemm_own_params params;
} param_table[] = {
    {CLNN_DEVICE_CPU,
     {.rm = 8, .vw = 16, .nv = 2, .dm = 4, .dn = 4, .dvw = 16, .outer_grid = CLNN__GRID_M,
      .dot_grid = CLNN__GRID_N, .local0 = 64, .min_groups = 4}},
    {CLNN_DEVICE_OTHER,
     {.rm = 4, .vw = 4, .nv = 2, .dm = 2, .dn = 2, .dvw = 4, .outer_grid = CLNN__GRID_N,
      .dot_grid = CLNN__GRID_N, .local0 = 0, .min_groups = 0}},
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
           p->outer_grid <= CLNN__GRID_M && p->dot_grid >= CLNN__GRID_N &&
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

bool clnn__gemm_own_gathers(const clnn__gemm_args *g, const clnn__gemm_own_params *p)
{
    return params_ok(p) && !g->trans_a && g->a_copy && pick_kernel(g, p) == OWN_OUTER;
}

const char *clnn__gemm_own_kernel_for(const clnn__gemm_args *g, const clnn__gemm_own_params *p)
{
    return kernel_names[pick_kernel(g, p)];
}

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

/* Work-groups for a range of global[0] × global[1] tiles: up to local0
 * tiles along dimension 0, then whole rows along dimension 1, making as few
 * groups as possible while keeping at least min_groups per compute unit:
 * enough that every core gets work and a late core does not hold up the
 * rest, few enough that PoCL's per-group costs (a thread hand-off each) stay
 * small next to the work. Sizes are evened out so the range, rounded up to
 * whole groups, wastes little. */
static void pick_local(const clnn_context *ctx, cl_kernel kernel, const clnn__gemm_own_params *p,
                       const size_t global[2], size_t local[2])
{
    const size_t units = ctx->info.compute_units ? ctx->info.compute_units : 1;
    const size_t want = CLNN__MAX((size_t)p->min_groups * units, 1);
    /* The kernel's limit can be below the device's. */
    size_t max_wg = 0;
    if (clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof max_wg,
                                 &max_wg, NULL) != CL_SUCCESS || max_wg == 0)
        max_wg = ctx->info.max_work_group_size ? ctx->info.max_work_group_size : 1;
    size_t l0 = CLNN__MIN((size_t)p->local0, CLNN__MIN(global[0], max_wg));
    /* Too few groups: split dimension 0 further. */
    l0 = CLNN__MIN(l0, ceil_div(global[0], ceil_div(want, global[1])));
    const size_t n0 = ceil_div(global[0], l0);
    l0 = ceil_div(global[0], n0);
    /* Too many: take several rows of dimension 1 per group. */
    size_t l1 = 1;
    if (n0 * global[1] > want)
        l1 = CLNN__MIN(global[1] / CLNN__MAX(want / n0, 1), max_wg / l0);
    l1 = CLNN__MAX(l1, 1);
    l1 = ceil_div(global[1], ceil_div(global[1], l1));
    local[0] = l0;
    local[1] = l1;
}

/* gemm_outer's and gemm_outer_pair's build options: the tile. */
static void outer_options(const clnn__gemm_own_params *p, char *buf, size_t cap)
{
    snprintf(buf, cap, "-DRM=%d -DVW=%d -DNV=%d", p->rm, p->vw, p->nv);
}

clnn_status clnn__gemm_own_prepare(clnn_context *ctx, const clnn__gemm_args *g,
                                   const clnn__gemm_own_params *p, clnn__gemm_own_kernel *out)
{
    if (!params_ok(p))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "own GEMM parameters out of range (rm %d, vw %d, nv %d, dm %d, dn %d, "
                          "dvw %d)",
                          p->rm, p->vw, p->nv, p->dm, p->dn, p->dvw);
    const own_kernel which = pick_kernel(g, p);
    const char *name = kernel_names[which];
    /* Each kernel gets only the options it reads (gemm_outer and its pair
     * the same), so one program serves every call with the same tiles. */
    char options[96];
    size_t tile_m, tile_n;
    int grid_mn;
    if (which == OWN_OUTER) {
        grid_mn = p->outer_grid == CLNN__GRID_M;
        outer_options(p, options, sizeof options);
        tile_m = (size_t)p->rm;
        tile_n = (size_t)(p->vw * p->nv);
    } else if (which == OWN_DOT) {
        grid_mn = p->dot_grid == CLNN__GRID_M;
        snprintf(options, sizeof options, "-DDM=%d -DDN=%d -DDVW=%d", p->dm, p->dn, p->dvw);
        tile_m = (size_t)p->dm;
        tile_n = (size_t)p->dn;
    } else {
        options[0] = '\0';
        tile_m = tile_n = 4; /* GM, GN in kernels/gemm.cl */
        grid_mn = 0;
    }
    if (g->a_rows && !clnn__gemm_own_gathers(g, p))
        return clnn__fail(CLNN_ERR_UNSUPPORTED, "%s cannot gather rows of A here", name);
    clnn_status st = clnn__kernel(ctx, "gemm", options, name, &out->kernel);
    if (st != CLNN_OK)
        return st;
    const size_t tiles_m = ceil_div(g->m, tile_m), tiles_n = ceil_div(g->n, tile_n);
    out->which = (int)which;
    out->name = name;
    out->grid_mn = grid_mn;
    out->global[0] = grid_mn ? tiles_m : tiles_n;
    out->global[1] = grid_mn ? tiles_n : tiles_m;
    out->local[0] = 0;
    out->local[1] = 1;
    if (p->local0)
        pick_local(ctx, out->kernel, p, out->global, out->local);
    return CLNN_OK;
}

clnn_status clnn__gemm_own_launch(clnn_context *ctx, const clnn__gemm_args *g,
                                  const clnn__gemm_own_kernel *l)
{
    const own_kernel which = (own_kernel)l->which;
    int M = (int)g->m, N = (int)g->n, K = (int)g->k;
    int a_off = (int)g->a_off, lda = (int)g->lda, b_off = (int)g->b_off, ldb = (int)g->ldb;
    int c_off = (int)g->c_off, ldc = (int)g->ldc;
    /* A negative bias offset means no bias (the kernels never read it). */
    int bias_off = g->bias ? (int)g->bias_off : -1;
    cl_mem bias = g->bias;
    int trans_a = g->trans_a, trans_b = g->trans_b;
    /* Likewise a negative a_rows_off: A is not gathered. */
    int a_rows_off = g->a_rows ? (int)g->a_rows_off : -1;
    /* After the bias: gemm_outer (trans_a, grid_mn, a_rows, a_rows_off,
     * a_copy), gemm_dot (grid_mn), gemm_general (trans_a, trans_b). */
    int tail0 = which == OWN_DOT ? l->grid_mn : trans_a;
    int tail1 = which == OWN_OUTER ? l->grid_mn : trans_b;
    const clnn__arg args[] = {
        CLNN__ARG(M),     CLNN__ARG(N),     CLNN__ARG(K),      CLNN__ARG(g->alpha),
        CLNN__ARG(g->a),  CLNN__ARG(a_off), CLNN__ARG(lda),    CLNN__ARG(g->b),
        CLNN__ARG(b_off), CLNN__ARG(ldb),   CLNN__ARG(g->beta), CLNN__ARG(g->c),
        CLNN__ARG(c_off), CLNN__ARG(ldc),   CLNN__ARG(bias),   CLNN__ARG(bias_off),
        CLNN__ARG(tail0), CLNN__ARG(tail1), CLNN__ARG(g->a_rows), CLNN__ARG(a_rows_off),
        CLNN__ARG(g->a_copy)};
    const size_t nargs =
        CLNN__ARRAY_LEN(args) - (which == OWN_OUTER ? 0 : which == OWN_DOT ? 4 : 3);
    return clnn__launch(ctx, l->kernel, l->name, 2, l->global, l->local[0] ? l->local : NULL,
                        args, nargs);
}

clnn_status clnn__gemm_own_with(clnn_context *ctx, const clnn__gemm_args *g,
                                const clnn__gemm_own_params *p)
{
    clnn__gemm_own_kernel l;
    clnn_status st = clnn__gemm_own_prepare(ctx, g, p, &l);
    return st == CLNN_OK ? clnn__gemm_own_launch(ctx, g, &l) : st;
}

bool clnn__gemm_own_pairable(const clnn__gemm_args *g0, const clnn__gemm_args *g1,
                              const clnn__gemm_own_params *p)
{
    return params_ok(p) && g0->trans_a && !g1->trans_a && !g0->bias && !g1->bias &&
           !g0->a_rows && !g1->a_rows &&
           pick_kernel(g0, p) == OWN_OUTER && pick_kernel(g1, p) == OWN_OUTER;
}

clnn_status clnn__gemm_own_pair_prepare(clnn_context *ctx, const clnn__gemm_args *g0,
                                        const clnn__gemm_args *g1, const clnn__gemm_own_params *p,
                                        clnn__gemm_own_kernel *out)
{
    if (!clnn__gemm_own_pairable(g0, g1, p))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "GEMM pair does not fit gemm_outer_pair");
    char options[96];
    outer_options(p, options, sizeof options);
    clnn_status st = clnn__kernel(ctx, "gemm", options, "gemm_outer_pair", &out->kernel);
    if (st != CLNN_OK)
        return st;
    const size_t tile_n = (size_t)(p->vw * p->nv);
    const size_t tiles0 = ceil_div(g0->m, (size_t)p->rm) * ceil_div(g0->n, tile_n);
    const size_t tiles1 = ceil_div(g1->m, (size_t)p->rm) * ceil_div(g1->n, tile_n);
    /* A 1-D range of both jobs' tiles, in groups as pick_local makes them. */
    out->which = OWN_OUTER;
    out->name = "gemm_outer_pair";
    out->grid_mn = p->outer_grid == CLNN__GRID_M;
    out->tiles0 = tiles0;
    out->global[0] = tiles0 + tiles1;
    out->global[1] = 1;
    out->local[0] = 0;
    out->local[1] = 1;
    if (p->local0)
        pick_local(ctx, out->kernel, p, out->global, out->local);
    return CLNN_OK;
}

clnn_status clnn__gemm_own_pair_launch(clnn_context *ctx, const clnn__gemm_args *g0,
                                       const clnn__gemm_args *g1, const clnn__gemm_own_kernel *l)
{
    int t0 = (int)l->tiles0, grid_mn = l->grid_mn;
    int M0 = (int)g0->m, N0 = (int)g0->n, K0 = (int)g0->k;
    int a_off0 = (int)g0->a_off, lda0 = (int)g0->lda, b_off0 = (int)g0->b_off;
    int ldb0 = (int)g0->ldb, c_off0 = (int)g0->c_off, ldc0 = (int)g0->ldc;
    int M1 = (int)g1->m, N1 = (int)g1->n, K1 = (int)g1->k;
    int a_off1 = (int)g1->a_off, lda1 = (int)g1->lda, b_off1 = (int)g1->b_off;
    int ldb1 = (int)g1->ldb, c_off1 = (int)g1->c_off, ldc1 = (int)g1->ldc;
    const clnn__arg args[] = {
        CLNN__ARG(t0),        CLNN__ARG(M0),     CLNN__ARG(N0),     CLNN__ARG(K0),
        CLNN__ARG(g0->alpha), CLNN__ARG(g0->a),  CLNN__ARG(a_off0), CLNN__ARG(lda0),
        CLNN__ARG(g0->b),     CLNN__ARG(b_off0), CLNN__ARG(ldb0),   CLNN__ARG(g0->beta),
        CLNN__ARG(g0->c),     CLNN__ARG(c_off0), CLNN__ARG(ldc0),   CLNN__ARG(M1),
        CLNN__ARG(N1),        CLNN__ARG(K1),     CLNN__ARG(g1->alpha), CLNN__ARG(g1->a),
        CLNN__ARG(a_off1),    CLNN__ARG(lda1),   CLNN__ARG(g1->b),  CLNN__ARG(b_off1),
        CLNN__ARG(ldb1),      CLNN__ARG(g1->beta), CLNN__ARG(g1->c), CLNN__ARG(c_off1),
        CLNN__ARG(ldc1),      CLNN__ARG(grid_mn)};
    return clnn__launch(ctx, l->kernel, l->name, 1, l->global, l->local[0] ? l->local : NULL,
                        args, CLNN__ARRAY_LEN(args));
}

clnn_status clnn__gemm_own_pair_with(clnn_context *ctx, const clnn__gemm_args *g0,
                                     const clnn__gemm_args *g1, const clnn__gemm_own_params *p)
{
    clnn__gemm_own_kernel l;
    clnn_status st = clnn__gemm_own_pair_prepare(ctx, g0, g1, p, &l);
    return st == CLNN_OK ? clnn__gemm_own_pair_launch(ctx, g0, g1, &l) : st;
}
