/* Sigmoid, torch.nn.Sigmoid: 1/(1 + e^−x) (kernels/activation.cl). */
#include "layers/activation.h"

/* Its gradient, y·(1 − y), from the output. exp counts as about ten
 * operations. */
static const clnn__activation op = {.forward = "sigmoid_forward",
                                    .backward = "sigmoid_backward",
                                    .backward_reads_y = true,
                                    .forward_flops = 13,
                                    .backward_flops = 3};

static void prepare(clnn__layer *l, clnn_context *ctx)
{
    clnn__activation_prepare(l, &op, NULL);
}

const clnn__layer_class clnn__layer_class_sigmoid = {
    .name = "sigmoid",
    .info_name = "sigmoid",
    .usage = "sigmoid",
    .state_size = sizeof(clnn__activation_state),
    .min_train_rows = 1,
    .prepare = prepare,
    .forward = clnn__activation_forward,
    .backward = clnn__activation_backward,
};
