/* clnn's own GEMM kernels (kernels/gemm.cl) and the parameters that
 * specialise them, exposed so tools/bench-gemm (and a future tuner) can run
 * them with parameters other than the device's defaults. */
#ifndef CLNN_GEMM_OWN_H
#define CLNN_GEMM_OWN_H

#include "gemm/gemm.h"

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

/* The parameter-table entry for the context's device. */
void clnn__gemm_own_default_params(const clnn_context *ctx, clnn__gemm_own_params *p);

/* Whether the kernel g gets can gather rows of A (gemm_outer, A not
 * transposed, with somewhere to copy them). */
bool clnn__gemm_own_gathers(const clnn__gemm_args *g, const clnn__gemm_own_params *p);
/* Which kernel ("gemm_outer", "gemm_dot" or "gemm_general") runs g. */
const char *clnn__gemm_own_kernel_for(const clnn__gemm_args *g, const clnn__gemm_own_params *p);

/* Run g with explicit parameters (CLNN_ERR_INVALID_ARGUMENT if out of range). */
clnn_status clnn__gemm_own_with(clnn_context *ctx, const clnn__gemm_args *g,
                                const clnn__gemm_own_params *p);

/* Whether g0 = Aᵀ·B and g1 = A·B (no bias) can run as one gemm_outer_pair
 * launch with parameters p: both take gemm_outer under them. */
bool clnn__gemm_own_pairable(const clnn__gemm_args *g0, const clnn__gemm_args *g1,
                             const clnn__gemm_own_params *p);

/* g0 and g1 in one launch with g0's parameters p (work-group sizes included):
 * the same results, to the bit, as two gemm_outer launches. */
clnn_status clnn__gemm_own_pair_with(clnn_context *ctx, const clnn__gemm_args *g0,
                                     const clnn__gemm_args *g1, const clnn__gemm_own_params *p);

#endif
