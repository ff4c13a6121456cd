/* clnn's own GEMM kernels (kernels/gemm.cl) and the parameters that
 * specialise them, exposed so tools/bench-gemm (and a future tuner) can run
 * them with parameters other than the device's defaults. */
#ifndef CLNN_GEMM_OWN_H
#define CLNN_GEMM_OWN_H

#include "gemm/gemm.h"

typedef struct clnn__gemm_own_params {
    /* gemm_outer (op(B) = B): each work-item computes rm × (vw·nv) of C. */
    int rm, vw, nv;
    /* gemm_dot (A·Bᵀ): each work-item computes dm × dn of C, dvw-wide along K. */
    int dm, dn, dvw;
    /* Range dimension 0 walks tiles along M (true) or N (false). */
    bool outer_grid_mn, dot_grid_mn;
    /* Work-group size along dimension 0 (dimension 1 is 1); 0 lets the
     * OpenCL implementation choose. */
    size_t local0;
} clnn__gemm_own_params;

/* The parameter-table entry for the context's device. */
void clnn__gemm_own_default_params(const clnn_context *ctx, clnn__gemm_own_params *p);

/* Which kernel ("gemm_outer", "gemm_dot" or "gemm_general") runs g. */
const char *clnn__gemm_own_kernel_for(const clnn__gemm_args *g, const clnn__gemm_own_params *p);

/* Run g with explicit parameters (CLNN_ERR_INVALID_ARGUMENT if out of range). */
clnn_status clnn__gemm_own_with(clnn_context *ctx, const clnn__gemm_args *g,
                                const clnn__gemm_own_params *p);

#endif
