/* BatchNorm1d's state, shared by its single-process kernels (batchnorm.c)
 * and its synchronised variant (batchnorm_sync.c). */
#ifndef CLNN_LAYERS_BATCHNORM_H
#define CLNN_LAYERS_BATCHNORM_H

#include "layers/columns.h"
#include "layers/layer.h"

#define CLNN__BN_EPS 1e-5f
#define CLNN__BN_MOMENTUM 0.1f

/* nn.BatchNorm1d's options as a spec's "bn:eps=1e-3,momentum=none" gives
 * them, resolved (clnn__bn_options_of): momentum_none is PyTorch's
 * momentum=None, a cumulative moving average (factor
 * 1/num_batches_tracked). */
typedef struct clnn__bn_options {
    double eps, momentum;
    bool momentum_none, affine, track_running_stats;
} clnn__bn_options;
clnn__bn_options clnn__bn_options_of(const clnn__layer_spec *spec);

/* What the kernels get for one pass. With the defaults: the flat buffers
 * at the layer's offsets, eps and momentum as today's constants. Without
 * affine parameters, γ = 1 and β = 0 come from the layer's own buffer
 * (subst) and their gradients go to a scratch part of it; without running
 * statistics, their updates go there too. */
typedef struct bn_args {
    cl_mem params, grads, stats;
    int goff, boff, dgoff, dboff, moff, voff;
    float eps, momentum;
    bool batch_stats; /* normalise with the batch's statistics */
} bn_args;

typedef struct bn_state {
    size_t weight_off, bias_off; /* gamma and beta in params */
    size_t rmean_off, rvar_off;  /* running statistics in stats */
    int64_t num_batches_tracked;
    cl_mem save_mean, save_invstd; /* the last training batch's, for backward */
    cl_mem sync_sums;              /* synchronised: 2 × out partial sums */
    clnn__bn_options opt;          /* from the spec, at declare */
    /* Without affine parameters or running statistics: 4 × out floats,
     * γ = 1 and β = 0, then room the kernels write what has no tensor to. */
    cl_mem subst;
    bool subst_ready; /* its ones written */
    clnn__column_kernel forward_train, forward_eval, backward;
    clnn__column_kernel column_sum, apply_train, backward_sums, backward_apply;
} bn_state;

/* The kernels' arguments for a pass of e (it writes subst's ones once). */
clnn_status clnn__bn_args(clnn__layer *l, const clnn__exec *e, bn_args *a);

/* Statistics over the global batch of e (e->synchronised). */
clnn_status clnn__bn_forward_sync(clnn__layer *l, const clnn__exec *e, cl_mem x, cl_mem y);
clnn_status clnn__bn_backward_sync(clnn__layer *l, const clnn__exec *e, cl_mem x, cl_mem dy,
                                   cl_mem dx);

#endif
