/* Dense (torch.nn.Linear) layer: y = x·Wᵀ + b with W stored [out, in], or
 * [in, out] when weight_t (clnn__dense_weight_transposed): then the GEMMs
 * below take W's transpose in place of W. */
#include "layers/dense.h"

#include "base/platform.h"
#include "layers/columns.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct dense_state {
    size_t weight_off, bias_off; /* in params (and grads) */
    bool weight_t;
    clnn__column_kernel bias_grad;
    /* Its products, each configured on first use (gemm.h). */
    clnn__gemm_call forward, grad_weight, grad_input, grad_pair;
} dense_state;

/* A first layer's input needs no gradient, so its backward is dW alone, and
 * with W stored [in, out] both of its GEMMs take the outer-product kernel
 * (forward X·W, gradient Xᵀ·dY) instead of the dot kernel and a dW = dYᵀ·X
 * whose long side is the input's. At the reference network's 784→256 layer
 * on PoCL that was 490 against 424 GFLOP/s forward and 476 against 385 for
 * dW at batch 256. Deeper layers need dx = dY·W too, which the transposed
 * form turns into the slower dot kernel (256→128: 268 against 348 GFLOP/s),
 * and outputs narrower than the outer kernel's tile (32 on CPUs) would fall
 * to the general kernel. The rule depends on the stack alone, never on the
 * device, so replicas on different devices sum gradients laid out alike.
 * CLNN_TRANSPOSED_WEIGHTS=0 turns it off. */
#define TRANSPOSED_MIN_UNITS 32

bool clnn__dense_weight_transposed(const clnn__layer_spec *layer, size_t index)
{
    char buf[8];
    const char *env = clnn__debug_env("CLNN_TRANSPOSED_WEIGHTS", buf, sizeof buf);
    return index == 0 && layer->kind == CLNN__LAYER_DENSE &&
           layer->units >= TRANSPOSED_MIN_UNITS && !(env && strcmp(env, "0") == 0);
}

static clnn_status parse(const clnn__spec_token *tok, const char *options, size_t len,
                         clnn__layer_spec *spec)
{
    if (!options)
        return clnn__spec_fail(tok, "dense needs its output size, as dense:N");
    return clnn__option_size(tok, options, len, &spec->units);
}

static int print(const clnn__layer_spec *spec, char *buf, size_t cap)
{
    return snprintf(buf, cap, ":%zu", spec->units);
}

static size_t out_width(const clnn__layer_spec *spec)
{
    return spec->units;
}

static bool width_source(const clnn__layer_spec *spec, const char **suffix, size_t *ndim,
                         size_t *dim)
{
    *suffix = "weight"; /* [out, in] */
    *ndim = 2;
    *dim = 1;
    return true;
}

static size_t declare(clnn__layer *l, clnn__tensor_decl out[CLNN__LAYER_TENSORS_MAX])
{
    dense_state *s = l->state;
    s->weight_t = clnn__dense_weight_transposed(&l->spec, l->index);
    out[0] = (clnn__tensor_decl){.suffix = "weight", .storage = CLNN__IN_PARAMS, .ndim = 2,
                                 .shape = {l->out, l->in}, .transposed = s->weight_t,
                                 .offset = &s->weight_off};
    out[1] = (clnn__tensor_decl){.suffix = "bias", .storage = CLNN__IN_PARAMS, .ndim = 1,
                                 .shape = {l->out}, .offset = &s->bias_off};
    return 2;
}

/* kaiming_uniform_(a=√5) for the weight and the bias rule both give
 * U(−1/√fan_in, 1/√fan_in). */
static void init(clnn__layer *l, clnn__rng *rng, float *params, float *stats)
{
    const dense_state *s = l->state;
    float bound = (float)(1.0 / sqrt((double)l->in));
    for (size_t j = 0; j < l->out * l->in; j++) {
        size_t at = s->weight_t ? j % l->in * l->out + j / l->in : j;
        params[s->weight_off + at] = (2.0f * clnn__rng_uniform(rng) - 1.0f) * bound;
    }
    for (size_t j = 0; j < l->out; j++)
        params[s->bias_off + j] = (2.0f * clnn__rng_uniform(rng) - 1.0f) * bound;
}

static long bias_grad_off(const clnn__layer *l)
{
    const dense_state *s = l->state;
    return (long)s->bias_off;
}

static void prepare(clnn__layer *l, clnn_context *ctx)
{
    dense_state *s = l->state;
    clnn__column_kernel_init(ctx, &s->bias_grad, "dense", "bias_grad", l->out);
    s->forward = s->grad_weight = s->grad_input = s->grad_pair = (clnn__gemm_call){0};
}

/* The row stride of W as stored. */
static size_t weight_ld(const clnn__layer *l)
{
    const dense_state *s = l->state;
    return s->weight_t ? l->out : l->in;
}

/* y = x·Wᵀ + b. The bias rides on the GEMM: added as the own kernels store
 * y, or by a bias_add launch after CLBlast. */
static clnn__gemm_args forward_args(const clnn__layer *l, const clnn__exec *e,
                                    const clnn__rows *x, cl_mem y)
{
    const dense_state *s = l->state;
    return (clnn__gemm_args){.trans_a = false, .trans_b = !s->weight_t, .m = e->rows,
                             .n = l->out, .k = l->in, .alpha = 1.0f, .a = x->buf, .a_off = 0,
                             .lda = x->ld, .b = e->params, .b_off = s->weight_off,
                             .ldb = weight_ld(l), .beta = 0.0f, .c = y, .c_off = 0,
                             .ldc = l->ld, .bias = e->params, .bias_off = s->bias_off,
                             .a_rows = x->index, .a_rows_off = x->index_off, .a_copy = x->copy};
}

static bool reads_indexed(const clnn__layer *l, const clnn__exec *e, const clnn__rows *x)
{
    const clnn__gemm_args g = forward_args(l, e, x, NULL);
    return clnn__gemm_gathers(e->ctx, &g);
}

static clnn_status forward(clnn__layer *l, const clnn__exec *e, const clnn__layer_plan *p,
                           const clnn__rows *x, cl_mem y, cl_mem next_y)
{
    dense_state *s = l->state;
    const clnn__gemm_args g = forward_args(l, e, x, y);
    return clnn__gemm_run(e->ctx, &s->forward, &g);
}

static clnn_status bias_grad(clnn__layer *l, const clnn__exec *e, cl_mem dy)
{
    dense_state *s = l->state;
    cl_kernel k;
    clnn_status st = clnn__kernel_ref_get(e->ctx, &s->bias_grad.ref, &k);
    if (st != CLNN_OK)
        return st;
    int r = (int)e->rows, c = (int)l->out, ld = (int)l->ld, off = (int)s->bias_off;
    clnn__profile_work(e->ctx, (double)e->rows * l->out, 4.0 * e->rows * l->out);
    return CLNN__LAUNCH(e->ctx, k, "bias_grad", 1, s->bias_grad.global,
                        clnn__column_local(&s->bias_grad), CLNN__ARG(dy), CLNN__ARG(r),
                        CLNN__ARG(c), CLNN__ARG(ld), CLNN__ARG(e->grads), CLNN__ARG(off));
}

/* A GEMM operand: rows of cols floats, ld apart. */
typedef struct operand {
    cl_mem buf;
    size_t cols, ld;
} operand;

/* dW = dyᵀ·x, db = Σ_rows dy, dx = dy·W (skipped when dx is NULL: the first
 * layer's input needs no gradient). Gradients overwrite, as after zero_grad.
 * With W stored [in, out], its gradient is stored alike: dWᵀ = xᵀ·dy. */
static clnn_status backward(clnn__layer *l, const clnn__exec *e, const clnn__layer_plan *p,
                            cl_mem x, cl_mem y, cl_mem dy, cl_mem dx)
{
    dense_state *s = l->state;
    const size_t rows = e->rows;
    /* dW = dyᵀ·x, or dWᵀ = xᵀ·dy with W stored [in, out]: pᵀ·q either way. */
    const operand dy_op = {dy, l->out, l->ld}, x_op = {x, l->in, l->ld_in};
    const operand a = s->weight_t ? x_op : dy_op, b = s->weight_t ? dy_op : x_op;
    clnn__gemm_args dw = {.trans_a = true, .trans_b = false, .m = a.cols, .n = b.cols, .k = rows,
                          .alpha = 1.0f, .a = a.buf, .a_off = 0, .lda = a.ld,
                          .b = b.buf, .b_off = 0, .ldb = b.ld,
                          .beta = 0.0f, .c = e->grads, .c_off = s->weight_off, .ldc = b.cols};
    clnn__gemm_args gx = {.trans_a = false, .trans_b = s->weight_t, .m = rows, .n = l->in,
                          .k = l->out, .alpha = 1.0f, .a = dy, .a_off = 0, .lda = l->ld,
                          .b = e->params, .b_off = s->weight_off, .ldb = weight_ld(l),
                          .beta = 0.0f, .c = dx, .c_off = 0, .ldc = l->ld_in};
    /* dW and dx in one launch where the GEMM backend can (one fewer
     * command per layer: each costs microseconds on CPU devices). */
    bool paired = false;
    clnn_status st = dx && p->pair_grads
                         ? clnn__gemm_pair_run(e->ctx, &s->grad_pair, &dw, &gx, &paired)
                         : CLNN_OK;
    if (st == CLNN_OK && !paired)
        st = clnn__gemm_run(e->ctx, &s->grad_weight, &dw);
    if (st == CLNN_OK && !p->bias_grad_elsewhere)
        st = bias_grad(l, e, dy);
    if (st != CLNN_OK || !dx || paired)
        return st;
    return clnn__gemm_run(e->ctx, &s->grad_input, &gx);
}

/* As forward and backward run them; the first layer's input gradient is
 * never computed. */
static size_t gemm_shapes(const clnn__layer_spec *spec, size_t index, size_t in, size_t rows,
                          clnn__gemm_shape out[CLNN__LAYER_GEMMS_MAX])
{
    const size_t units = spec->units;
    const bool wt = clnn__dense_weight_transposed(spec, index);
    out[0] = (clnn__gemm_shape){.trans_a = false, .trans_b = !wt, .m = rows, .n = units, .k = in,
                                .with_bias = true, .op = "forward"};
    /* dW = dYᵀ·X, or dWᵀ = Xᵀ·dY */
    out[1] = (clnn__gemm_shape){.trans_a = true, .trans_b = false, .m = wt ? in : units,
                                .n = wt ? units : in, .k = rows, .op = "grad_weight"};
    if (index == 0)
        return 2;
    out[2] = (clnn__gemm_shape){.trans_a = false, .trans_b = wt, .m = rows, .n = in, .k = units,
                                .op = "grad_input"};
    return 3;
}

static const char *const aliases[] = {"linear", NULL};

const clnn__layer_class clnn__layer_class_dense = {
    .name = "dense",
    .aliases = aliases,
    .info_name = "dense",
    .usage = "dense:N (or linear:N)",
    .parse = parse,
    .print = print,
    .out_width = out_width,
    .width_source = width_source,
    .state_size = sizeof(dense_state),
    .declare = declare,
    .init = init,
    .min_train_rows = 1,
    .bias_grad_off = bias_grad_off,
    .reads_indexed = reads_indexed,
    .prepare = prepare,
    .forward = forward,
    .backward = backward,
    .gemm_shapes = gemm_shapes,
};
