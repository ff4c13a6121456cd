/* Softmax cross-entropy loss, mean over the batch (kernels/loss.cl). */
#include "net/net_internal.h"

clnn_status clnn__loss(clnn_net *net, cl_mem z, size_t rows, size_t mean_rows, size_t classes,
                       cl_mem dz, int slot, long bias_grad)
{
    clnn_context *ctx = net->ctx;
    clnn__net_kernels *nk = &net->kernels;
    cl_kernel k, reduce;
    int r = (int)rows, c = (int)classes, want_grad = dz ? 1 : 0;
    float scale = 1.0f / (float)mean_rows;
    cl_mem dz_arg = dz ? dz : z; /* never written when want_grad is 0 */
    int labels_off = (int)net->labels_off;
    int bias_off = bias_grad >= 0 && dz ? (int)bias_grad : -1;
    clnn__profile_work(ctx, 0, (dz ? 8.0 : 4.0) * rows * classes);
    if (nk->loss_rows16 && net->fusion) {
        /* One work-group of up to 64 work-items, each taking 16-row blocks. */
        size_t items = (rows + 15) / 16, cap = ctx->info.max_work_group_size;
        size_t local[1] = {items < 64 ? items : 64};
        if (cap && local[0] > cap)
            local[0] = cap;
        clnn_status st = clnn__kernel_ref_get(ctx, &nk->loss_one, &k);
        if (st != CLNN_OK)
            return st;
        return CLNN__LAUNCH(ctx, k, "softmax_xent_reduce", 1, local, local, CLNN__ARG(z),
                            CLNN__ARG(net->labels), CLNN__ARG(labels_off), CLNN__ARG(r),
                            CLNN__ARG(c), CLNN__ARG(scale), CLNN__ARG(want_grad),
                            CLNN__ARG(dz_arg), CLNN__ARG(net->row_loss),
                            CLNN__ARG(net->row_correct), CLNN__ARG(net->metrics),
                            CLNN__ARG(slot), CLNN__ARG(net->grads), CLNN__ARG(bias_off));
    }
    clnn_status st = clnn__kernel_ref_get(ctx, &nk->loss, &k);
    if (st == CLNN_OK)
        st = clnn__kernel_ref_get(ctx, &nk->loss_sum, &reduce);
    if (st != CLNN_OK)
        return st;
    const size_t global[1] = {nk->loss_rows16 ? (rows + 15) / 16 : rows};
    st = CLNN__LAUNCH(ctx, k, "softmax_xent", 1, global, NULL, CLNN__ARG(z), CLNN__ARG(net->labels),
                      CLNN__ARG(labels_off), CLNN__ARG(r), CLNN__ARG(c), CLNN__ARG(scale),
                      CLNN__ARG(want_grad), CLNN__ARG(dz_arg), CLNN__ARG(net->row_loss),
                      CLNN__ARG(net->row_correct));
    if (st != CLNN_OK)
        return st;
    const size_t one[1] = {1};
    return CLNN__LAUNCH(ctx, reduce, "loss_reduce", 1, one, NULL, CLNN__ARG(net->row_loss),
                        CLNN__ARG(net->row_correct), CLNN__ARG(r), CLNN__ARG(net->metrics),
                        CLNN__ARG(slot), CLNN__ARG(dz_arg), CLNN__ARG(c), CLNN__ARG(net->grads),
                        CLNN__ARG(bias_off));
}
