/* The one GEMM interface the layers use; backends are chosen per context. */
#ifndef CLNN_GEMM_H
#define CLNN_GEMM_H

#include "runtime/runtime.h"

/* C = alpha·op(A)·op(B) + beta·C, row-major; op(A) is M×K, op(B) is K×N.
 * Offsets and leading dimensions are in elements. beta == 0 never reads C. */
typedef struct clnn__gemm_args {
    bool trans_a, trans_b;
    size_t m, n, k;
    float alpha;
    cl_mem a;
    size_t a_off, lda;
    cl_mem b;
    size_t b_off, ldb;
    float beta;
    cl_mem c;
    size_t c_off, ldc;
} clnn__gemm_args;

clnn_status clnn__gemm(clnn_context *ctx, const clnn__gemm_args *args);
clnn_status clnn__gemm_clblast(clnn_context *ctx, const clnn__gemm_args *args);
clnn_status clnn__gemm_own(clnn_context *ctx, const clnn__gemm_args *args);

/* Context creation: load the device's tuning file, if any (gemm/tune.h). */
clnn_status clnn__gemm_context_init(clnn_context *ctx);

#endif
