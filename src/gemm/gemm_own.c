/* clnn's own GEMM kernels (kernels/gemm.cl), specialised per transpose. */
#include "gemm/gemm.h"

#include <stdio.h>

#define TILE_M 4
#define TILE_N 4

clnn_status clnn__gemm_own(clnn_context *ctx, const clnn__gemm_args *g)
{
    char options[96];
    snprintf(options, sizeof options, "-DTRANS_A=%d -DTRANS_B=%d -DRM=%d -DRN=%d", g->trans_a,
             g->trans_b, TILE_M, TILE_N);
    cl_kernel kernel;
    clnn_status st = clnn__kernel(ctx, "gemm", options, "gemm", &kernel);
    if (st != CLNN_OK)
        return st;
    int M = (int)g->m, N = (int)g->n, K = (int)g->k;
    int a_off = (int)g->a_off, lda = (int)g->lda, b_off = (int)g->b_off, ldb = (int)g->ldb;
    int c_off = (int)g->c_off, ldc = (int)g->ldc;
    const size_t global[2] = {(g->n + TILE_N - 1) / TILE_N, (g->m + TILE_M - 1) / TILE_M};
    return CLNN__LAUNCH(ctx, kernel, "gemm", 2, global, NULL, CLNN__ARG(M), CLNN__ARG(N),
                        CLNN__ARG(K), CLNN__ARG(g->alpha), CLNN__ARG(g->a), CLNN__ARG(a_off),
                        CLNN__ARG(lda), CLNN__ARG(g->b), CLNN__ARG(b_off), CLNN__ARG(ldb),
                        CLNN__ARG(g->beta), CLNN__ARG(g->c), CLNN__ARG(c_off), CLNN__ARG(ldc));
}
