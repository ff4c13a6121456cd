/* Tanh, torch.nn.Tanh (kernels/activation.cl). */
#include "layers/activation.h"

/* Its gradient, 1 − y², from the output. tanh counts as about ten
 * operations. */
static const clnn__activation op = {.forward = "tanh_forward",
                                    .backward = "tanh_backward",
                                    .backward_reads_y = true,
                                    .forward_flops = 10,
                                    .backward_flops = 3};

static void prepare(clnn__layer *l, clnn_context *ctx)
{
    clnn__activation_prepare(l, &op, NULL);
}

const clnn__layer_class clnn__layer_class_tanh = {
    .name = "tanh",
    .info_name = "tanh",
    .usage = "tanh",
    .state_size = sizeof(clnn__activation_state),
    .min_train_rows = 1,
    .prepare = prepare,
    .forward = clnn__activation_forward,
    .backward = clnn__activation_backward,
};
