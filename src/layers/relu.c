/* ReLU (kernels/activation.cl). */
#include "layers/activation.h"

/* As PyTorch, its gradient passes where the output is positive. */
static const clnn__activation op = {.forward = "relu_forward",
                                    .backward = "relu_backward",
                                    .backward_reads_y = true};

static void prepare(clnn__layer *l, clnn_context *ctx)
{
    clnn__activation_prepare(l, &op, NULL);
}

const clnn__layer_class clnn__layer_class_relu = {
    .name = "relu",
    .info_name = "relu",
    .usage = "relu",
    .state_size = sizeof(clnn__activation_state),
    .min_train_rows = 1,
    .prepare = prepare,
    .forward = clnn__activation_forward,
    .backward = clnn__activation_backward,
};
