/* The one GEMM interface the layers use; backends are chosen per context. */
#ifndef CLNN_GEMM_H
#define CLNN_GEMM_H

#include "runtime/runtime.h"

/* clnn's own kernels (kernels/gemm.cl): the parameters that specialise
 * them, and a kernel chosen for a shape; gemm_own.h runs them. */
enum { CLNN__GRID_N = 0, CLNN__GRID_M = 1 };

typedef struct clnn__gemm_own_params {
    /* gemm_outer (op(B) = B): each work-item computes rm × (vw·nv) of C. */
    int rm, vw, nv;
    /* gemm_dot (A·Bᵀ): each work-item computes dm × dn of C, dvw-wide along K. */
    int dm, dn, dvw;
    /* What range dimension 0 walks, i.e. the order in which a work-group's
     * tiles run: CLNN__GRID_N shares op(A)'s rows across the group and
     * streams op(B); CLNN__GRID_M shares op(B)'s columns and streams op(A). */
    int outer_grid, dot_grid;
    /* Work-groups of up to local0 tiles along dimension 0, then whole rows
     * along dimension 1: as few groups as keep at least min_groups per
     * compute unit. local0 = 0 lets the OpenCL implementation
     * choose (PoCL then often makes one group of a small range, leaving all
     * but one core idle). */
    int local0, min_groups;
} clnn__gemm_own_params;

/* A kernel of gemm.cl chosen for a shape and parameters, with its work
 * sizes: what runs the shape's every call (clnn__gemm_call). */
typedef struct clnn__gemm_own_kernel {
    cl_kernel kernel;
    const char *name;
    int which, grid_mn;
    size_t tiles0; /* gemm_outer_pair: the first product's tiles */
    size_t global[2], local[2];
} clnn__gemm_own_kernel;

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

/* One product a caller runs again and again (a layer's forward, its
 * gradients, their pair): its dispatch, chosen on the first call and kept
 * while the shape (transposes, m, n, k, bias, gather; for a pair both
 * products) and the context's tuning stay the same, so that further calls
 * neither look up parameters and kernels nor format build options.
 * Zero-initialise it; it holds nothing to release. The results are those
 * of clnn__gemm and clnn__gemm_pair, bit for bit. */
typedef struct clnn__gemm_call {
    bool ready;
    uint64_t tuning;       /* the context's tuning generation it was chosen in */
    size_t key[2][6];      /* the shapes it was chosen for */
    bool own, paired;      /* own kernels run it; a pair runs as one launch */
    clnn__gemm_own_kernel kernel;
} clnn__gemm_call;
clnn_status clnn__gemm_run(clnn_context *ctx, clnn__gemm_call *c, const clnn__gemm_args *g);
/* clnn__gemm_pair through c: *done false when the pair runs as two. */
clnn_status clnn__gemm_pair_run(clnn_context *ctx, clnn__gemm_call *c, const clnn__gemm_args *g0,
                                const clnn__gemm_args *g1, bool *done);

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
