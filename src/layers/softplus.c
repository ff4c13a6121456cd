/* Softplus, torch.nn.Softplus() (beta 1, threshold 20): log(1 + e^x), and x
 * itself above the threshold, where the two agree to float precision
 * (kernels/activation.cl). */
#include "layers/activation.h"

/* Its gradient, e^x/(e^x + 1) (1 above the threshold), from the input, as
 * PyTorch's softplus_backward. exp and log1p count as about ten operations
 * each. */
static const clnn__activation op = {.forward = "softplus_forward",
                                    .backward = "softplus_backward",
                                    .backward_reads_y = false,
                                    .forward_flops = 21,
                                    .backward_flops = 13};

static void prepare(clnn__layer *l, clnn_context *ctx)
{
    clnn__activation_prepare(l, &op, NULL);
}

const clnn__layer_class clnn__layer_class_softplus = {
    .name = "softplus",
    .info_name = "softplus",
    .usage = "softplus",
    .state_size = sizeof(clnn__activation_state),
    .min_train_rows = 1,
    .prepare = prepare,
    .forward = clnn__activation_forward,
    .backward = clnn__activation_backward,
};
