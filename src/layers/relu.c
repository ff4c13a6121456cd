/* ReLU (kernels/activation.cl). */
#include "layers/layer.h"

typedef struct relu_state {
    clnn__kernel_ref forward, backward;
} relu_state;

static void prepare(clnn__layer *l, clnn_context *ctx)
{
    relu_state *s = l->state;
    clnn__kernel_ref_init(&s->forward, "activation", NULL, "relu_forward");
    clnn__kernel_ref_init(&s->backward, "activation", NULL, "relu_backward");
}

/* Element-wise over every row's whole stride: the padding too, harmlessly. */
static clnn_status forward(clnn__layer *l, const clnn__exec *e, const clnn__layer_plan *p,
                           const clnn__rows *x, cl_mem y, cl_mem next_y)
{
    relu_state *s = l->state;
    cl_kernel k;
    clnn_status st = clnn__kernel_ref_get(e->ctx, &s->forward, &k);
    if (st != CLNN_OK)
        return st;
    const size_t count = e->rows * l->ld;
    int n = (int)count;
    const size_t global[1] = {count};
    clnn__profile_work(e->ctx, 0, 8.0 * count);
    return CLNN__LAUNCH(e->ctx, k, "relu_forward", 1, global, NULL, CLNN__ARG(x->buf),
                        CLNN__ARG(y), CLNN__ARG(n));
}

static clnn_status backward(clnn__layer *l, const clnn__exec *e, const clnn__layer_plan *p,
                            cl_mem x, cl_mem y, cl_mem dy, cl_mem dx)
{
    if (!dx)
        return CLNN_OK;
    relu_state *s = l->state;
    cl_kernel k;
    clnn_status st = clnn__kernel_ref_get(e->ctx, &s->backward, &k);
    if (st != CLNN_OK)
        return st;
    const size_t count = e->rows * l->ld;
    int n = (int)count;
    const size_t global[1] = {count};
    clnn__profile_work(e->ctx, 0, 12.0 * count);
    return CLNN__LAUNCH(e->ctx, k, "relu_backward", 1, global, NULL, CLNN__ARG(y),
                        CLNN__ARG(dy), CLNN__ARG(dx), CLNN__ARG(n));
}

const clnn__layer_class clnn__layer_class_relu = {
    .name = "relu",
    .info_name = "relu",
    .usage = "relu",
    .state_size = sizeof(relu_state),
    .min_train_rows = 1,
    .prepare = prepare,
    .forward = forward,
    .backward = backward,
};
