/* Dispatch to the context's GEMM backend. */
#include "gemm/gemm.h"

#include <limits.h>

clnn_status clnn__gemm(clnn_context *ctx, const clnn__gemm_args *g)
{
    if (g->m == 0 || g->n == 0)
        return CLNN_OK;
    if (g->m > INT_MAX || g->n > INT_MAX || g->k > INT_MAX || g->lda > INT_MAX ||
        g->ldb > INT_MAX || g->ldc > INT_MAX)
        return clnn__fail(CLNN_ERR_UNSUPPORTED, "GEMM of %zu×%zu×%zu exceeds 2^31 elements",
                          g->m, g->n, g->k);
    double m = (double)g->m, n = (double)g->n, k = (double)g->k;
    clnn__profile_work(ctx, 2 * m * n * k, sizeof(float) * (m * k + k * n + m * n));
    return ctx->gemm == CLNN_GEMM_OWN ? clnn__gemm_own(ctx, g) : clnn__gemm_clblast(ctx, g);
}
