/* The one GEMM interface the layers use; backends are chosen per context. */
#ifndef CLNN_GEMM_H
#define CLNN_GEMM_H

#include "runtime/runtime.h"

/* C = alpha·op(A)·op(B) + beta·C (+ bias), row-major; op(A) is M×K, op(B)
 * is K×N. Offsets and leading dimensions are in elements. beta == 0 never
 * reads C. bias, when not NULL, holds N floats from bias_off that are added
 * to every row of C last, rounded as a separate c += bias[j] after the GEMM
 * would be: the own kernels add it as they store C, other backends with a
 * second launch (clnn__gemm_bias_add). The bias must not overlap C.
 * a_rows, when not NULL, gathers A (not transposed): its row r is row
 * a_rows[a_rows_off + r] (int32) of the matrix at a + a_off with stride lda,
 * and the rows are also stored, packed M × K with stride lda, into a_copy;
 * only where clnn__gemm_gathers says so. */
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
    cl_mem bias;
    size_t bias_off;
    cl_mem a_rows;
    size_t a_rows_off;
    cl_mem a_copy;
} clnn__gemm_args;

clnn_status clnn__gemm(clnn_context *ctx, const clnn__gemm_args *args);
/* Whether clnn__gemm runs g with A gathered through a_rows: only the own
 * gemm_outer kernel can. */
bool clnn__gemm_gathers(const clnn_context *ctx, const clnn__gemm_args *g);
clnn_status clnn__gemm_clblast(clnn_context *ctx, const clnn__gemm_args *args);
/* CLNN_OK when this build has CLBlast and the system's loads (once per
 * process), else CLNN_ERR_UNSUPPORTED saying why and what to do. */
clnn_status clnn__gemm_clblast_available(void);
/* g0 = Aᵀ·B and g1 = A·B (a dense layer's weight and input gradients) in one
 * launch, when the own kernels run both, with g0's parameters (*done =
 * true); otherwise nothing is launched and the caller runs them one by
 * one. The results are those of two launches, bit for bit. */
clnn_status clnn__gemm_pair(clnn_context *ctx, const clnn__gemm_args *g0,
                            const clnn__gemm_args *g1, bool *done);
/* C += bias over rows as its own launch, for backends that cannot fuse it. */
clnn_status clnn__gemm_bias_add(clnn_context *ctx, const clnn__gemm_args *args);

/* Context creation: load the device's tuning file, if any (gemm/tune.h). */
clnn_status clnn__gemm_context_init(clnn_context *ctx);

/* One product a layer runs, as the tuner measures it: op(A) is m×k, op(B)
 * k×n, with_bias when the layer adds its bias as C is stored. The layer
 * fills the product and op ("forward", "grad_weight", "grad_input"); the
 * caller the batch and the layer's position, which the tuner reports. */
typedef struct clnn__gemm_shape {
    bool trans_a, trans_b;
    size_t m, n, k;
    bool with_bias;
    const char *op;
    size_t batch, layer;
} clnn__gemm_shape;
/* Tune the distinct shapes among shapes[0..count) (clnn_context_tune's
 * work, its options checked by the caller; gemm/tune.c). */
clnn_status clnn__gemm_tune(clnn_context *ctx, const clnn_tune_options *o,
                            const clnn__gemm_shape *shapes, size_t count);

#endif
