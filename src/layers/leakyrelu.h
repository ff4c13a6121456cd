/* LeakyReLU's option, for the tests' references. */
#ifndef CLNN_LAYERS_LEAKYRELU_H
#define CLNN_LAYERS_LEAKYRELU_H

#include "layers/layer.h"

/* PyTorch's default negative_slope. */
#define CLNN__LEAKYRELU_SLOPE 0.01f

/* The negative slope a spec gives ("leakyrelu:0.2"), else the default. */
float clnn__leakyrelu_slope(const clnn__layer_spec *spec);

#endif
