/* What the elementwise activations share (ReLU, LeakyReLU, GELU, Tanh,
 * Sigmoid, SiLU): no tensors, one kernel each way from
 * kernels/activation.cl, launched over every element of the batch. Each
 * kind's module names its kernels and says what its backward reads. */
#ifndef CLNN_LAYERS_ACTIVATION_H
#define CLNN_LAYERS_ACTIVATION_H

#include "layers/layer.h"

typedef struct clnn__activation {
    const char *forward, *backward; /* kernel names in kernels/activation.cl */
    /* Its backward kernel's first argument: the forward's output (ReLU,
     * Tanh, Sigmoid: the gradient follows from it) or its input. */
    bool backward_reads_y;
    /* Per element, for the profile's rates: floating-point operations of
     * its forward and of its backward. */
    double forward_flops, backward_flops;
} clnn__activation;

/* A kind's state: state_size = sizeof(clnn__activation_state). */
typedef struct clnn__activation_state {
    const clnn__activation *op;
    clnn__kernel_ref forward, backward;
    /* A float both kernels take after the count (LeakyReLU's slope). */
    bool has_param;
    float param;
} clnn__activation_state;

/* A kind's prepare calls this with its kernels and its parameter (NULL:
 * none); forward and backward are then the kind's own. */
void clnn__activation_prepare(clnn__layer *l, const clnn__activation *op, const float *param);
clnn_status clnn__activation_forward(clnn__layer *l, const clnn__exec *e,
                                     const clnn__layer_plan *p, const clnn__rows *x, cl_mem y,
                                     cl_mem next_y);
clnn_status clnn__activation_backward(clnn__layer *l, const clnn__exec *e,
                                      const clnn__layer_plan *p, cl_mem x, cl_mem y, cl_mem dy,
                                      cl_mem dx);

#endif
