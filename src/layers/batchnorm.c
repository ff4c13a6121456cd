/* BatchNorm1d with PyTorch's semantics (kernels/batchnorm.cl). */
#include "net/net_internal.h"

clnn_status clnn__bn_forward(clnn_net *net, clnn__layer *l, cl_mem x, cl_mem y, size_t rows,
                             bool training, cl_mem relu_out)
{
    clnn_context *ctx = net->ctx;
    const char *name = training ? "bn_forward_train" : "bn_forward_eval";
    cl_kernel k;
    size_t global[1], local[1];
    const size_t *lp;
    clnn_status st = clnn__column_kernel(ctx, "batchnorm", name, l->out, &k, global, local, &lp);
    if (st != CLNN_OK)
        return st;
    int r = (int)rows, c = (int)l->out, ld = (int)l->ld;
    int goff = (int)l->weight_off, boff = (int)l->bias_off;
    int moff = (int)l->rmean_off, voff = (int)l->rvar_off;
    float eps = CLNN__BN_EPS, momentum = CLNN__BN_MOMENTUM;
    int fuse = relu_out ? 1 : 0;
    cl_mem relu_arg = relu_out ? relu_out : y; /* never written when fuse is 0 */
    /* Minimum traffic: read x, write y and the fused ReLU's output (the
     * kernel's second pass over x hits cache). */
    clnn__profile_work(ctx, 0, (relu_out ? 12.0 : 8.0) * rows * l->out);
    if (training) {
        st = CLNN__LAUNCH(ctx, k, name, 1, global, lp, CLNN__ARG(x), CLNN__ARG(y), CLNN__ARG(r),
                          CLNN__ARG(c), CLNN__ARG(ld), CLNN__ARG(net->params), CLNN__ARG(goff),
                          CLNN__ARG(boff), CLNN__ARG(net->stats), CLNN__ARG(moff), CLNN__ARG(voff),
                          CLNN__ARG(l->save_mean), CLNN__ARG(l->save_invstd), CLNN__ARG(momentum),
                          CLNN__ARG(eps), CLNN__ARG(relu_arg), CLNN__ARG(fuse));
        if (st == CLNN_OK)
            l->num_batches_tracked++;
        return st;
    }
    return CLNN__LAUNCH(ctx, k, name, 1, global, lp, CLNN__ARG(x), CLNN__ARG(y), CLNN__ARG(r),
                        CLNN__ARG(c), CLNN__ARG(ld), CLNN__ARG(net->params), CLNN__ARG(goff),
                        CLNN__ARG(boff), CLNN__ARG(net->stats), CLNN__ARG(moff), CLNN__ARG(voff),
                        CLNN__ARG(l->save_mean), CLNN__ARG(l->save_invstd), CLNN__ARG(eps),
                        CLNN__ARG(relu_arg), CLNN__ARG(fuse));
}

clnn_status clnn__bn_backward(clnn_net *net, clnn__layer *l, cl_mem x, cl_mem dy, cl_mem dx,
                              size_t rows, bool batch_stats, cl_mem bn_out,
                              const clnn__layer *prev)
{
    clnn_context *ctx = net->ctx;
    cl_kernel k;
    size_t global[1], local[1];
    const size_t *lp;
    clnn_status st =
        clnn__column_kernel(ctx, "batchnorm", "bn_backward", l->out, &k, global, local, &lp);
    if (st != CLNN_OK)
        return st;
    int r = (int)rows, c = (int)l->out, ld = (int)l->ld, goff = (int)l->weight_off,
        boff = (int)l->bias_off;
    int bs = batch_stats ? 1 : 0, need_dx = dx ? 1 : 0, fuse = bn_out ? 1 : 0;
    cl_mem mask = bn_out ? bn_out : dy; /* never read when fuse is 0 */
    cl_mem dx_arg = dx ? dx : dy; /* never written when need_dx is 0 */
    int prev_bias_off = prev && dx ? (int)prev->bias_off : -1;
    /* Minimum traffic: read x and dy, the fused ReLU's mask, write dx. */
    clnn__profile_work(ctx, 0, (8.0 + (bn_out ? 4.0 : 0.0) + (dx ? 4.0 : 0.0)) * rows * l->out);
    return CLNN__LAUNCH(ctx, k, "bn_backward", 1, global, lp, CLNN__ARG(x), CLNN__ARG(dy),
                        CLNN__ARG(dx_arg), CLNN__ARG(r), CLNN__ARG(c), CLNN__ARG(ld),
                        CLNN__ARG(net->params), CLNN__ARG(goff), CLNN__ARG(l->save_mean),
                        CLNN__ARG(l->save_invstd), CLNN__ARG(net->grads), CLNN__ARG(goff),
                        CLNN__ARG(boff), CLNN__ARG(bs), CLNN__ARG(need_dx), CLNN__ARG(mask),
                        CLNN__ARG(fuse), CLNN__ARG(prev_bias_off));
}
