/* SiLU, torch.nn.SiLU: x·σ(x) (kernels/activation.cl). */
#include "layers/activation.h"

/* Its gradient, σ(x)·(1 + x·(1 − σ(x))), from the input. exp counts as
 * about ten operations. */
static const clnn__activation op = {.forward = "silu_forward",
                                    .backward = "silu_backward",
                                    .backward_reads_y = false,
                                    .forward_flops = 14,
                                    .backward_flops = 18};

static void prepare(clnn__layer *l, clnn_context *ctx)
{
    clnn__activation_prepare(l, &op, NULL);
}

const clnn__layer_class clnn__layer_class_silu = {
    .name = "silu",
    .info_name = "silu",
    .usage = "silu",
    .state_size = sizeof(clnn__activation_state),
    .min_train_rows = 1,
    .prepare = prepare,
    .forward = clnn__activation_forward,
    .backward = clnn__activation_backward,
};
