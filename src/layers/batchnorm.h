/* BatchNorm1d's state, shared by its single-process kernels (batchnorm.c)
 * and its synchronised variant (batchnorm_sync.c). */
#ifndef CLNN_LAYERS_BATCHNORM_H
#define CLNN_LAYERS_BATCHNORM_H

#include "layers/columns.h"
#include "layers/layer.h"

#define CLNN__BN_EPS 1e-5f
#define CLNN__BN_MOMENTUM 0.1f

typedef struct bn_state {
    size_t weight_off, bias_off; /* gamma and beta in params */
    size_t rmean_off, rvar_off;  /* running statistics in stats */
    int64_t num_batches_tracked;
    cl_mem save_mean, save_invstd; /* the last training batch's, for backward */
    cl_mem sync_sums;              /* synchronised: 2 × out partial sums */
    clnn__column_kernel forward_train, forward_eval, backward;
    clnn__column_kernel column_sum, apply_train, backward_sums, backward_apply;
} bn_state;

/* Statistics over the global batch of e (e->synchronised). */
clnn_status clnn__bn_forward_sync(clnn__layer *l, const clnn__exec *e, cl_mem x, cl_mem y);
clnn_status clnn__bn_backward_sync(clnn__layer *l, const clnn__exec *e, cl_mem x, cl_mem dy,
                                   cl_mem dx);

#endif
