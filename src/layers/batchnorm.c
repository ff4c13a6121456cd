/* BatchNorm1d with PyTorch's semantics (kernels/batchnorm.cl). */
#include "layers/batchnorm.h"

static bool width_source(const clnn__layer_spec *spec, const char **suffix, size_t *ndim,
                         size_t *dim)
{
    *suffix = "weight"; /* [features] */
    *ndim = 1;
    *dim = 0;
    return true;
}

static size_t declare(clnn__layer *l, clnn__tensor_decl out[CLNN__LAYER_TENSORS_MAX])
{
    bn_state *s = l->state;
    const size_t n = l->out;
    out[0] = (clnn__tensor_decl){.suffix = "weight", .storage = CLNN__IN_PARAMS, .ndim = 1,
                                 .shape = {n}, .offset = &s->weight_off};
    out[1] = (clnn__tensor_decl){.suffix = "bias", .storage = CLNN__IN_PARAMS, .ndim = 1,
                                 .shape = {n}, .offset = &s->bias_off};
    out[2] = (clnn__tensor_decl){.suffix = "running_mean", .storage = CLNN__IN_STATS, .ndim = 1,
                                 .shape = {n}, .offset = &s->rmean_off};
    out[3] = (clnn__tensor_decl){.suffix = "running_var", .storage = CLNN__IN_STATS, .ndim = 1,
                                 .shape = {n}, .offset = &s->rvar_off};
    out[4] = (clnn__tensor_decl){.suffix = "num_batches_tracked", .storage = CLNN__ON_HOST,
                                 .ndim = 0, .counter = &s->num_batches_tracked};
    return 5;
}

static void init(clnn__layer *l, clnn__rng *rng, float *params, float *stats)
{
    bn_state *s = l->state;
    for (size_t j = 0; j < l->out; j++) {
        params[s->weight_off + j] = 1.0f;
        params[s->bias_off + j] = 0.0f;
        stats[s->rmean_off + j] = 0.0f;
        stats[s->rvar_off + j] = 1.0f;
    }
    s->num_batches_tracked = 0;
}

static size_t buffers(clnn__layer *l, clnn__buffer_decl out[CLNN__LAYER_BUFFERS_MAX])
{
    bn_state *s = l->state;
    const size_t bytes = l->out * sizeof(float);
    out[0] = (clnn__buffer_decl){&s->save_mean, bytes, false};
    out[1] = (clnn__buffer_decl){&s->save_invstd, bytes, false};
    out[2] = (clnn__buffer_decl){&s->sync_sums, 2 * bytes, true};
    return 3;
}

/* A ReLU after it runs inside its kernels, each way; the synchronised
 * kernels split the work and cannot. */
static bool fuses_next(const clnn__layer *l, const clnn__layer *next, bool synchronised)
{
    return next->spec.kind == CLNN__LAYER_RELU && !synchronised;
}

/* Its backward kernel has dx in registers, so it sums the columns of dx
 * for the layer before (a dense layer's bias gradient). */
static bool sums_dx(const clnn__layer *l, bool synchronised)
{
    return !synchronised;
}

static void prepare(clnn__layer *l, clnn_context *ctx)
{
    bn_state *s = l->state;
    const size_t n = l->out;
    clnn__column_kernel_init(ctx, &s->forward_train, "batchnorm", "bn_forward_train", n);
    clnn__column_kernel_init(ctx, &s->forward_eval, "batchnorm", "bn_forward_eval", n);
    clnn__column_kernel_init(ctx, &s->backward, "batchnorm", "bn_backward", n);
    clnn__column_kernel_init(ctx, &s->column_sum, "batchnorm", "bn_column_sum", n);
    clnn__column_kernel_init(ctx, &s->apply_train, "batchnorm", "bn_apply_train", n);
    clnn__column_kernel_init(ctx, &s->backward_sums, "batchnorm", "bn_backward_sums", n);
    clnn__column_kernel_init(ctx, &s->backward_apply, "batchnorm", "bn_backward_apply", n);
}

/* next_y non-NULL: the following ReLU's output is written too. */
static clnn_status forward(clnn__layer *l, const clnn__exec *e, const clnn__layer_plan *p,
                           const clnn__rows *xr, cl_mem y, cl_mem next_y)
{
    if (e->synchronised)
        return clnn__bn_forward_sync(l, e, xr->buf, y);
    bn_state *s = l->state;
    clnn_context *ctx = e->ctx;
    const bool training = e->training;
    clnn__column_kernel *ck = training ? &s->forward_train : &s->forward_eval;
    const char *name = ck->ref.name;
    cl_kernel k;
    clnn_status st = clnn__kernel_ref_get(ctx, &ck->ref, &k);
    if (st != CLNN_OK)
        return st;
    const size_t *lp = clnn__column_local(ck);
    cl_mem x = xr->buf;
    int r = (int)e->rows, c = (int)l->out, ld = (int)l->ld;
    int goff = (int)s->weight_off, boff = (int)s->bias_off;
    int moff = (int)s->rmean_off, voff = (int)s->rvar_off;
    float eps = CLNN__BN_EPS, momentum = CLNN__BN_MOMENTUM;
    int fuse = next_y ? 1 : 0;
    cl_mem relu_arg = next_y ? next_y : y; /* never written when fuse is 0 */
    /* Minimum traffic: read x, write y and the fused ReLU's output (the
     * kernel's second pass over x hits cache). */
    clnn__profile_work(ctx, 0, (next_y ? 12.0 : 8.0) * e->rows * l->out);
    if (training) {
        st = CLNN__LAUNCH(ctx, k, name, 1, ck->global, lp, CLNN__ARG(x), CLNN__ARG(y),
                          CLNN__ARG(r), CLNN__ARG(c), CLNN__ARG(ld), CLNN__ARG(e->params),
                          CLNN__ARG(goff), CLNN__ARG(boff), CLNN__ARG(e->stats), CLNN__ARG(moff),
                          CLNN__ARG(voff), CLNN__ARG(s->save_mean), CLNN__ARG(s->save_invstd),
                          CLNN__ARG(momentum), CLNN__ARG(eps), CLNN__ARG(relu_arg),
                          CLNN__ARG(fuse));
        if (st == CLNN_OK)
            s->num_batches_tracked++;
        return st;
    }
    return CLNN__LAUNCH(ctx, k, name, 1, ck->global, lp, CLNN__ARG(x), CLNN__ARG(y), CLNN__ARG(r),
                        CLNN__ARG(c), CLNN__ARG(ld), CLNN__ARG(e->params), CLNN__ARG(goff),
                        CLNN__ARG(boff), CLNN__ARG(e->stats), CLNN__ARG(moff), CLNN__ARG(voff),
                        CLNN__ARG(s->save_mean), CLNN__ARG(s->save_invstd), CLNN__ARG(eps),
                        CLNN__ARG(relu_arg), CLNN__ARG(fuse));
}

/* With the plan's runs_next, dy is the gradient at the ReLU's output,
 * masked inside the kernel by y > 0; with prev_bias_grad, the same kernel
 * writes the column sums of dx there. */
static clnn_status backward(clnn__layer *l, const clnn__exec *e, const clnn__layer_plan *p,
                            cl_mem x, cl_mem y, cl_mem dy, cl_mem dx)
{
    if (e->synchronised)
        return clnn__bn_backward_sync(l, e, x, dy, dx);
    bn_state *s = l->state;
    clnn_context *ctx = e->ctx;
    cl_kernel k;
    clnn_status st = clnn__kernel_ref_get(ctx, &s->backward.ref, &k);
    if (st != CLNN_OK)
        return st;
    int r = (int)e->rows, c = (int)l->out, ld = (int)l->ld, goff = (int)s->weight_off,
        boff = (int)s->bias_off;
    int bs = e->training ? 1 : 0, need_dx = dx ? 1 : 0, fuse = p->runs_next ? 1 : 0;
    cl_mem mask = p->runs_next ? y : dy; /* never read when fuse is 0 */
    cl_mem dx_arg = dx ? dx : dy;         /* never written when need_dx is 0 */
    int prev_bias_off = p->prev_bias_grad >= 0 && dx ? (int)p->prev_bias_grad : -1;
    /* Minimum traffic: read x and dy, the fused ReLU's mask, write dx. */
    clnn__profile_work(ctx, 0,
                       (8.0 + (p->runs_next ? 4.0 : 0.0) + (dx ? 4.0 : 0.0)) * e->rows * l->out);
    return CLNN__LAUNCH(ctx, k, "bn_backward", 1, s->backward.global,
                        clnn__column_local(&s->backward), CLNN__ARG(x), CLNN__ARG(dy),
                        CLNN__ARG(dx_arg), CLNN__ARG(r), CLNN__ARG(c), CLNN__ARG(ld),
                        CLNN__ARG(e->params), CLNN__ARG(goff), CLNN__ARG(s->save_mean),
                        CLNN__ARG(s->save_invstd), CLNN__ARG(e->grads), CLNN__ARG(goff),
                        CLNN__ARG(boff), CLNN__ARG(bs), CLNN__ARG(need_dx), CLNN__ARG(mask),
                        CLNN__ARG(fuse), CLNN__ARG(prev_bias_off));
}

static const char *const aliases[] = {"batchnorm1d", "batchnorm", NULL};

const clnn__layer_class clnn__layer_class_batchnorm = {
    .name = "bn",
    .aliases = aliases,
    .info_name = "batchnorm1d",
    .usage = "bn (or batchnorm1d)",
    .width_source = width_source,
    .state_size = sizeof(bn_state),
    .declare = declare,
    .init = init,
    .buffers = buffers,
    .min_train_rows = 2,
    .min_rows_title = "BatchNorm",
    .min_rows_reason = "expected more than 1 value per channel when training",
    .fuses_next = fuses_next,
    .sums_dx = sums_dx,
    .prepare = prepare,
    .forward = forward,
    .backward = backward,
};
