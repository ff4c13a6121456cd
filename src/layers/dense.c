/* Dense (torch.nn.Linear) layer: y = x·Wᵀ + b with W stored [out, in], or
 * [in, out] when l->weight_t (clnn__spec_weight_transposed): then the GEMMs
 * below take W's transpose in place of W. */
#include "gemm/gemm.h"
#include "net/net_internal.h"

/* The row stride of W as stored. */
static size_t weight_ld(const clnn__layer *l)
{
    return l->weight_t ? l->out : l->in;
}

/* y = x·Wᵀ + b. The bias rides on the GEMM: added as the own kernels store
 * y, or by a bias_add launch after CLBlast. */
static clnn__gemm_args forward_args(const clnn_net *net, const clnn__layer *l, const clnn__rows *x,
                                    cl_mem y, size_t rows)
{
    return (clnn__gemm_args){.trans_a = false, .trans_b = !l->weight_t, .m = rows, .n = l->out,
                             .k = l->in, .alpha = 1.0f, .a = x->buf, .a_off = 0, .lda = x->ld,
                             .b = net->params, .b_off = l->weight_off, .ldb = weight_ld(l),
                             .beta = 0.0f, .c = y, .c_off = 0, .ldc = l->ld,
                             .bias = net->params, .bias_off = l->bias_off,
                             .a_rows = x->index, .a_rows_off = x->index_off, .a_copy = x->copy};
}

clnn_status clnn__dense_forward(clnn_net *net, clnn__layer *l, const clnn__rows *x, cl_mem y,
                                size_t rows)
{
    const clnn__gemm_args g = forward_args(net, l, x, y, rows);
    return clnn__gemm(net->ctx, &g);
}

bool clnn__dense_gathers(const clnn_net *net, const clnn__layer *l, const clnn__rows *x,
                         size_t rows)
{
    const clnn__gemm_args g = forward_args(net, l, x, net->outputs[l->index], rows);
    return clnn__gemm_gathers(net->ctx, &g);
}

static clnn_status bias_grad(clnn_net *net, const clnn__layer *l, cl_mem dy, size_t rows)
{
    clnn_context *ctx = net->ctx;
    cl_kernel k;
    size_t global[1], local[1];
    const size_t *lp;
    clnn_status st =
        clnn__column_kernel(ctx, "dense", "bias_grad", l->out, &k, global, local, &lp);
    if (st != CLNN_OK)
        return st;
    int r = (int)rows, c = (int)l->out, ld = (int)l->ld, off = (int)l->bias_off;
    clnn__profile_work(ctx, (double)rows * l->out, 4.0 * rows * l->out);
    return CLNN__LAUNCH(ctx, k, "bias_grad", 1, global, lp, CLNN__ARG(dy), CLNN__ARG(r),
                        CLNN__ARG(c), CLNN__ARG(ld), CLNN__ARG(net->grads), CLNN__ARG(off));
}

/* A GEMM operand: rows of cols floats, ld apart. */
typedef struct operand {
    cl_mem buf;
    size_t cols, ld;
} operand;

/* dW = dyᵀ·x, db = Σ_rows dy, dx = dy·W (skipped when dx is NULL: the first
 * layer's input needs no gradient). Gradients overwrite, as after zero_grad.
 * With W stored [in, out], its gradient is stored alike: dWᵀ = xᵀ·dy. */
clnn_status clnn__dense_backward(clnn_net *net, clnn__layer *l, cl_mem x, cl_mem dy, cl_mem dx,
                                 size_t rows, bool need_bias_grad)
{
    clnn_context *ctx = net->ctx;
    /* dW = dyᵀ·x, or dWᵀ = xᵀ·dy with W stored [in, out]: pᵀ·q either way. */
    const operand dy_op = {dy, l->out, l->ld}, x_op = {x, l->in, l->ld_in};
    const operand p = l->weight_t ? x_op : dy_op, q = l->weight_t ? dy_op : x_op;
    clnn__gemm_args dw = {.trans_a = true, .trans_b = false, .m = p.cols, .n = q.cols, .k = rows,
                          .alpha = 1.0f, .a = p.buf, .a_off = 0, .lda = p.ld,
                          .b = q.buf, .b_off = 0, .ldb = q.ld,
                          .beta = 0.0f, .c = net->grads, .c_off = l->weight_off, .ldc = q.cols};
    clnn__gemm_args gx = {.trans_a = false, .trans_b = l->weight_t, .m = rows, .n = l->in,
                          .k = l->out, .alpha = 1.0f, .a = dy, .a_off = 0, .lda = l->ld,
                          .b = net->params, .b_off = l->weight_off,
                          .ldb = weight_ld(l),
                          .beta = 0.0f, .c = dx, .c_off = 0, .ldc = l->ld_in};
    /* dW and dx in one launch where the GEMM backend can (one fewer
     * command per layer: each costs microseconds on CPU devices). */
    bool paired = false;
    clnn_status st = dx && net->fusion ? clnn__gemm_pair(ctx, &dw, &gx, &paired) : CLNN_OK;
    if (st == CLNN_OK && !paired)
        st = clnn__gemm(ctx, &dw);
    if (st == CLNN_OK && need_bias_grad)
        st = bias_grad(net, l, dy, rows);
    if (st != CLNN_OK || !dx || paired)
        return st;
    return clnn__gemm(ctx, &gx);
}
