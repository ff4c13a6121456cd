/* Synchronised BatchNorm1d: the per-feature sums of every process are added
 * through the network's allreduce between kernels, so each replica
 * normalises with the statistics of the global batch (torch's
 * SyncBatchNorm). Two passes (mean, then squared deviations) keep the
 * variance as stable as in the single-process kernel. */
#include "net/net_internal.h"

/* Read n partial sums, add them across processes, write them back. */
static clnn_status reduce(clnn_net *net, cl_mem buf, size_t n)
{
    clnn_status st = clnn__buffer_read(net->ctx, buf, 0, n * sizeof(float), net->host_sums);
    if (st == CLNN_OK)
        st = net->parallel.allreduce(net->host_sums, n, net->parallel.user);
    if (st != CLNN_OK)
        return clnn__fail_context(st, "synchronising BatchNorm statistics");
    return clnn__buffer_write(net->ctx, buf, 0, n * sizeof(float), net->host_sums, true, NULL);
}

static clnn_status column_sum(clnn_net *net, clnn__layer *l, cl_mem x, size_t rows, int centered,
                              cl_mem out)
{
    cl_kernel k;
    size_t global[1], local[1];
    const size_t *lp;
    clnn_status st =
        clnn__column_kernel(net->ctx, "batchnorm", "bn_column_sum", l->out, &k, global, local, &lp);
    if (st != CLNN_OK)
        return st;
    int r = (int)rows, c = (int)l->out, ld = (int)l->ld;
    return CLNN__LAUNCH(net->ctx, k, "bn_column_sum", 1, global, lp, CLNN__ARG(x), CLNN__ARG(r),
                        CLNN__ARG(c), CLNN__ARG(ld), CLNN__ARG(l->save_mean), CLNN__ARG(centered),
                        CLNN__ARG(out));
}

clnn_status clnn__bn_forward_sync(clnn_net *net, clnn__layer *l, cl_mem x, cl_mem y, size_t rows,
                                  size_t total)
{
    clnn_context *ctx = net->ctx;
    size_t n = l->out;
    /* Global mean into save_mean. */
    clnn_status st = column_sum(net, l, x, rows, 0, l->save_mean);
    if (st == CLNN_OK)
        st = clnn__buffer_read(ctx, l->save_mean, 0, n * sizeof(float), net->host_sums);
    if (st == CLNN_OK)
        st = net->parallel.allreduce(net->host_sums, n, net->parallel.user);
    if (st != CLNN_OK)
        return clnn__fail_context(st, "synchronising BatchNorm statistics");
    for (size_t i = 0; i < n; i++)
        net->host_sums[i] /= (float)total;
    st = clnn__buffer_write(ctx, l->save_mean, 0, n * sizeof(float), net->host_sums, true, NULL);
    /* Global sum of squared deviations into sync_sums. */
    if (st == CLNN_OK)
        st = column_sum(net, l, x, rows, 1, l->sync_sums);
    if (st == CLNN_OK)
        st = reduce(net, l->sync_sums, n);
    cl_kernel k;
    size_t global[1], local[1];
    const size_t *lp;
    if (st == CLNN_OK)
        st = clnn__column_kernel(net->ctx, "batchnorm", "bn_apply_train", l->out, &k, global, local,
                                 &lp);
    if (st != CLNN_OK)
        return st;
    int r = (int)rows, c = (int)l->out, ld = (int)l->ld;
    int goff = (int)l->weight_off, boff = (int)l->bias_off;
    int moff = (int)l->rmean_off, voff = (int)l->rvar_off;
    float t = (float)total, momentum = CLNN__BN_MOMENTUM, eps = CLNN__BN_EPS;
    st = CLNN__LAUNCH(ctx, k, "bn_apply_train", 1, global, lp, CLNN__ARG(x), CLNN__ARG(y),
                      CLNN__ARG(r), CLNN__ARG(c), CLNN__ARG(ld), CLNN__ARG(net->params),
                      CLNN__ARG(goff), CLNN__ARG(boff), CLNN__ARG(net->stats), CLNN__ARG(moff),
                      CLNN__ARG(voff), CLNN__ARG(l->save_mean), CLNN__ARG(l->save_invstd),
                      CLNN__ARG(l->sync_sums), CLNN__ARG(t), CLNN__ARG(momentum), CLNN__ARG(eps));
    if (st == CLNN_OK)
        l->num_batches_tracked++;
    return st;
}

clnn_status clnn__bn_backward_sync(clnn_net *net, clnn__layer *l, cl_mem x, cl_mem dy, cl_mem dx,
                                   size_t rows, size_t total)
{
    clnn_context *ctx = net->ctx;
    cl_kernel sums, apply;
    size_t global[1], local[1];
    const size_t *lp;
    clnn_status st = clnn__column_kernel(net->ctx, "batchnorm", "bn_backward_sums", l->out, &sums,
                                         global, local, &lp);
    if (st == CLNN_OK)
        st = clnn__column_kernel(net->ctx, "batchnorm", "bn_backward_apply", l->out, &apply, global,
                                 local, &lp);
    if (st != CLNN_OK)
        return st;
    int r = (int)rows, c = (int)l->out, ld = (int)l->ld, goff = (int)l->weight_off,
        boff = (int)l->bias_off;
    float t = (float)total;
    st = CLNN__LAUNCH(ctx, sums, "bn_backward_sums", 1, global, lp, CLNN__ARG(x), CLNN__ARG(dy),
                      CLNN__ARG(r), CLNN__ARG(c), CLNN__ARG(ld), CLNN__ARG(l->save_mean),
                      CLNN__ARG(l->save_invstd), CLNN__ARG(l->sync_sums), CLNN__ARG(net->grads),
                      CLNN__ARG(goff), CLNN__ARG(boff));
    if (st == CLNN_OK)
        st = reduce(net, l->sync_sums, 2 * l->out);
    if (st != CLNN_OK || !dx)
        return st;
    return CLNN__LAUNCH(ctx, apply, "bn_backward_apply", 1, global, lp, CLNN__ARG(x),
                        CLNN__ARG(dy), CLNN__ARG(dx), CLNN__ARG(r), CLNN__ARG(c), CLNN__ARG(ld),
                        CLNN__ARG(net->params), CLNN__ARG(goff), CLNN__ARG(l->save_mean),
                        CLNN__ARG(l->save_invstd), CLNN__ARG(l->sync_sums), CLNN__ARG(t));
}
