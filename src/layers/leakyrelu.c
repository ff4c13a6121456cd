/* LeakyReLU, torch.nn.LeakyReLU(negative_slope) (kernels/activation.cl):
 * x where x > 0, else negative_slope·x. Spec "leakyrelu[:SLOPE]". */
#include "layers/leakyrelu.h"

#include "layers/activation.h"

#include <stdio.h>
#include <string.h>

/* In spec->options; all zero (no slope given) means the default. */
typedef struct leakyrelu_options {
    float slope;
    bool given;
} leakyrelu_options;
_Static_assert(sizeof(leakyrelu_options) <= CLNN__LAYER_OPTIONS_BYTES,
               "LeakyReLU's options fit a spec");

static leakyrelu_options options_of(const clnn__layer_spec *spec)
{
    leakyrelu_options o;
    memcpy(&o, spec->options, sizeof o);
    return o;
}

float clnn__leakyrelu_slope(const clnn__layer_spec *spec)
{
    leakyrelu_options o = options_of(spec);
    return o.given ? o.slope : CLNN__LEAKYRELU_SLOPE;
}

/* Any finite slope, as PyTorch takes any: 0 is ReLU, 1 the identity. */
static clnn_status parse(const clnn__spec_token *tok, const char *options, size_t len,
                         clnn__layer_spec *spec)
{
    if (!options)
        return CLNN_OK;
    leakyrelu_options o;
    memset(&o, 0, sizeof o); /* padding too: equal specs are equal bytes */
    o.given = true;
    double slope;
    clnn_status st = clnn__option_real(tok, "the negative slope (leakyrelu:SLOPE)", options, len,
                                       &slope);
    o.slope = (float)slope;
    if (st == CLNN_OK)
        memcpy(spec->options, &o, sizeof o);
    return st;
}

static int print(const clnn__layer_spec *spec, char *buf, size_t cap)
{
    leakyrelu_options o = options_of(spec);
    if (!o.given)
        return snprintf(buf, cap, "%s", "");
    int n = snprintf(buf, cap, ":");
    const bool room = cap > (size_t)n;
    return n + clnn__print_real(room ? buf + n : NULL, room ? cap - (size_t)n : 0, o.slope,
                                true);
}

/* Its gradient takes the slope where the input is not positive, as
 * PyTorch's leaky_relu_backward, which reads the input. */
static const clnn__activation op = {.forward = "leakyrelu_forward",
                                    .backward = "leakyrelu_backward",
                                    .forward_flops = 1,
                                    .backward_flops = 1};

static void prepare(clnn__layer *l, clnn_context *ctx)
{
    const float slope = clnn__leakyrelu_slope(&l->spec);
    clnn__activation_prepare(l, &op, &slope);
}

const clnn__layer_class clnn__layer_class_leakyrelu = {
    .name = "leakyrelu",
    .info_name = "leakyrelu",
    .usage = "leakyrelu[:SLOPE]",
    .parse = parse,
    .print = print,
    .state_size = sizeof(clnn__activation_state),
    .min_train_rows = 1,
    .prepare = prepare,
    .forward = clnn__activation_forward,
    .backward = clnn__activation_backward,
};
