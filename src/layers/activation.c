/* Launches of the elementwise activations (layers/activation.h). */
#include "layers/activation.h"

void clnn__activation_prepare(clnn__layer *l, const clnn__activation *op, const float *param)
{
    clnn__activation_state *s = l->state;
    s->op = op;
    s->has_param = param != NULL;
    s->param = param ? *param : 0.0f;
    clnn__kernel_ref_init(&s->forward, "activation", NULL, op->forward);
    clnn__kernel_ref_init(&s->backward, "activation", NULL, op->backward);
}

/* Over every row's whole stride: the padding too, harmlessly, since no
 * kind reads it. Arguments: a, b, c (the tensors), the count, and the
 * kind's parameter if it has one. */
static clnn_status launch(const clnn__layer *l, const clnn__exec *e, clnn__kernel_ref *ref,
                          cl_mem a, cl_mem b, cl_mem c, double flops, double bytes)
{
    const clnn__activation_state *s = l->state;
    cl_kernel k;
    clnn_status st = clnn__kernel_ref_get(e->ctx, ref, &k);
    if (st != CLNN_OK)
        return st;
    const size_t count = e->rows * l->ld;
    const int n = (int)count;
    const size_t global[1] = {count};
    clnn__arg args[5];
    size_t nargs = 0;
    args[nargs++] = CLNN__ARG(a);
    args[nargs++] = CLNN__ARG(b);
    if (c)
        args[nargs++] = CLNN__ARG(c);
    args[nargs++] = CLNN__ARG(n);
    if (s->has_param)
        args[nargs++] = CLNN__ARG(s->param);
    clnn__profile_work(e->ctx, flops * (double)count, bytes * (double)count);
    return clnn__launch(e->ctx, k, ref->name, 1, global, NULL, args, nargs);
}

clnn_status clnn__activation_forward(clnn__layer *l, const clnn__exec *e,
                                     const clnn__layer_plan *p, const clnn__rows *x, cl_mem y,
                                     cl_mem next_y)
{
    clnn__activation_state *s = l->state;
    return launch(l, e, &s->forward, x->buf, y, NULL, s->op->forward_flops, 8.0);
}

clnn_status clnn__activation_backward(clnn__layer *l, const clnn__exec *e,
                                      const clnn__layer_plan *p, cl_mem x, cl_mem y, cl_mem dy,
                                      cl_mem dx)
{
    if (!dx)
        return CLNN_OK; /* the first layer's input needs no gradient */
    clnn__activation_state *s = l->state;
    return launch(l, e, &s->backward, s->op->backward_reads_y ? y : x, dy, dx,
                  s->op->backward_flops, 12.0);
}
