/* GELU in its exact form, torch.nn.GELU() (approximate='none'): x·Φ(x),
 * Φ the standard normal distribution function (kernels/activation.cl). */
#include "layers/activation.h"

/* Its gradient, Φ(x) + x·φ(x), from the input. Operation counts count
 * erf and exp as about ten each. */
static const clnn__activation op = {.forward = "gelu_forward",
                                    .backward = "gelu_backward",
                                    .backward_reads_y = false,
                                    .forward_flops = 20,
                                    .backward_flops = 30};

static void prepare(clnn__layer *l, clnn_context *ctx)
{
    clnn__activation_prepare(l, &op, NULL);
}

const clnn__layer_class clnn__layer_class_gelu = {
    .name = "gelu",
    .info_name = "gelu",
    .usage = "gelu",
    .state_size = sizeof(clnn__activation_state),
    .min_train_rows = 1,
    .prepare = prepare,
    .forward = clnn__activation_forward,
    .backward = clnn__activation_backward,
};
