/* Synchronised BatchNorm1d: the per-feature sums of every process are added
 * through the execution record's allreduce between kernels, so each replica
 * normalises with the statistics of the global batch (torch's
 * SyncBatchNorm). Two passes (mean, then squared deviations) keep the
 * variance as stable as in the single-process kernel. */
#include "layers/batchnorm.h"

/* Read n partial sums, add them across processes, write them back. */
static clnn_status reduce(const clnn__exec *e, cl_mem buf, size_t n)
{
    clnn_status st = clnn__buffer_read(e->ctx, buf, 0, n * sizeof(float), e->host_sums);
    if (st == CLNN_OK)
        st = e->allreduce(e->host_sums, n, e->allreduce_user);
    if (st != CLNN_OK)
        return clnn__fail_context(st, "synchronising BatchNorm statistics");
    return clnn__buffer_write(e->ctx, buf, 0, n * sizeof(float), e->host_sums, true, NULL);
}

static clnn_status column_sum(clnn__layer *l, const clnn__exec *e, cl_mem x, int centered,
                              cl_mem out)
{
    bn_state *s = l->state;
    cl_kernel k;
    clnn_status st = clnn__kernel_ref_get(e->ctx, &s->column_sum.ref, &k);
    if (st != CLNN_OK)
        return st;
    int r = (int)e->rows, c = (int)l->out, ld = (int)l->ld;
    return CLNN__LAUNCH(e->ctx, k, "bn_column_sum", 1, s->column_sum.global,
                        clnn__column_local(&s->column_sum), CLNN__ARG(x), CLNN__ARG(r),
                        CLNN__ARG(c), CLNN__ARG(ld), CLNN__ARG(s->save_mean),
                        CLNN__ARG(centered), CLNN__ARG(out));
}

clnn_status clnn__bn_forward_sync(clnn__layer *l, const clnn__exec *e, cl_mem x, cl_mem y)
{
    bn_state *s = l->state;
    clnn_context *ctx = e->ctx;
    size_t n = l->out;
    bn_args a;
    /* Global mean into save_mean. */
    clnn_status st = clnn__bn_args(l, e, &a);
    if (st == CLNN_OK)
        st = column_sum(l, e, x, 0, s->save_mean);
    if (st == CLNN_OK)
        st = clnn__buffer_read(ctx, s->save_mean, 0, n * sizeof(float), e->host_sums);
    if (st == CLNN_OK)
        st = e->allreduce(e->host_sums, n, e->allreduce_user);
    if (st != CLNN_OK)
        return clnn__fail_context(st, "synchronising BatchNorm statistics");
    for (size_t i = 0; i < n; i++)
        e->host_sums[i] /= (float)e->global_rows;
    st = clnn__buffer_write(ctx, s->save_mean, 0, n * sizeof(float), e->host_sums, true, NULL);
    /* Global sum of squared deviations into sync_sums. */
    if (st == CLNN_OK)
        st = column_sum(l, e, x, 1, s->sync_sums);
    if (st == CLNN_OK)
        st = reduce(e, s->sync_sums, n);
    cl_kernel k;
    if (st == CLNN_OK)
        st = clnn__kernel_ref_get(ctx, &s->apply_train.ref, &k);
    if (st != CLNN_OK)
        return st;
    int r = (int)e->rows, c = (int)l->out, ld = (int)l->ld;
    float t = (float)e->global_rows;
    st = CLNN__LAUNCH(ctx, k, "bn_apply_train", 1, s->apply_train.global,
                      clnn__column_local(&s->apply_train), CLNN__ARG(x), CLNN__ARG(y),
                      CLNN__ARG(r), CLNN__ARG(c), CLNN__ARG(ld), CLNN__ARG(a.params),
                      CLNN__ARG(a.goff), CLNN__ARG(a.boff), CLNN__ARG(a.stats), CLNN__ARG(a.moff),
                      CLNN__ARG(a.voff), CLNN__ARG(s->save_mean), CLNN__ARG(s->save_invstd),
                      CLNN__ARG(s->sync_sums), CLNN__ARG(t), CLNN__ARG(a.momentum),
                      CLNN__ARG(a.eps));
    if (st == CLNN_OK && s->opt.track_running_stats)
        s->num_batches_tracked++;
    return st;
}

clnn_status clnn__bn_backward_sync(clnn__layer *l, const clnn__exec *e, cl_mem x, cl_mem dy,
                                   cl_mem dx)
{
    bn_state *s = l->state;
    clnn_context *ctx = e->ctx;
    bn_args a;
    cl_kernel sums, apply;
    clnn_status st = clnn__bn_args(l, e, &a);
    if (st == CLNN_OK)
        st = clnn__kernel_ref_get(ctx, &s->backward_sums.ref, &sums);
    if (st == CLNN_OK)
        st = clnn__kernel_ref_get(ctx, &s->backward_apply.ref, &apply);
    if (st != CLNN_OK)
        return st;
    int r = (int)e->rows, c = (int)l->out, ld = (int)l->ld;
    float t = (float)e->global_rows;
    st = CLNN__LAUNCH(ctx, sums, "bn_backward_sums", 1, s->backward_sums.global,
                      clnn__column_local(&s->backward_sums), CLNN__ARG(x), CLNN__ARG(dy),
                      CLNN__ARG(r), CLNN__ARG(c), CLNN__ARG(ld), CLNN__ARG(s->save_mean),
                      CLNN__ARG(s->save_invstd), CLNN__ARG(s->sync_sums), CLNN__ARG(a.grads),
                      CLNN__ARG(a.dgoff), CLNN__ARG(a.dboff));
    if (st == CLNN_OK)
        st = reduce(e, s->sync_sums, 2 * l->out);
    if (st != CLNN_OK || !dx)
        return st;
    return CLNN__LAUNCH(ctx, apply, "bn_backward_apply", 1, s->backward_apply.global,
                        clnn__column_local(&s->backward_apply), CLNN__ARG(x), CLNN__ARG(dy),
                        CLNN__ARG(dx), CLNN__ARG(r), CLNN__ARG(c), CLNN__ARG(ld),
                        CLNN__ARG(a.params), CLNN__ARG(a.goff), CLNN__ARG(s->save_mean),
                        CLNN__ARG(s->save_invstd), CLNN__ARG(s->sync_sums), CLNN__ARG(t));
}
