/* clnn's own GEMM kernels (kernels/gemm.cl) and the parameters that
 * specialise them, exposed so tools/bench-gemm (and a future tuner) can run
 * them with parameters other than the device's defaults. */
#ifndef CLNN_GEMM_OWN_H
#define CLNN_GEMM_OWN_H

#include "gemm/gemm.h"

/* The parameter-table entry for the context's device. */
void clnn__gemm_own_default_params(const clnn_context *ctx, clnn__gemm_own_params *p);

/* Whether the kernel g gets can gather rows of A (gemm_outer, A not
 * transposed, with somewhere to copy them). */
bool clnn__gemm_own_gathers(const clnn__gemm_args *g, const clnn__gemm_own_params *p);
/* Which kernel ("gemm_outer", "gemm_dot" or "gemm_general") runs g. */
const char *clnn__gemm_own_kernel_for(const clnn__gemm_args *g, const clnn__gemm_own_params *p);

/* Choose g's kernel with parameters p (CLNN_ERR_INVALID_ARGUMENT if out of
 * range), then launch it for any g of the same shape, bias and gather. */
clnn_status clnn__gemm_own_prepare(clnn_context *ctx, const clnn__gemm_args *g,
                                   const clnn__gemm_own_params *p, clnn__gemm_own_kernel *out);
clnn_status clnn__gemm_own_launch(clnn_context *ctx, const clnn__gemm_args *g,
                                  const clnn__gemm_own_kernel *l);
/* The same for a pair (clnn__gemm_own_pairable). */
clnn_status clnn__gemm_own_pair_prepare(clnn_context *ctx, const clnn__gemm_args *g0,
                                        const clnn__gemm_args *g1, const clnn__gemm_own_params *p,
                                        clnn__gemm_own_kernel *out);
clnn_status clnn__gemm_own_pair_launch(clnn_context *ctx, const clnn__gemm_args *g0,
                                       const clnn__gemm_args *g1, const clnn__gemm_own_kernel *l);

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
