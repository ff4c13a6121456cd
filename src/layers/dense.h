/* Dense (torch.nn.Linear) layers: the weight layout rule, which the
 * benchmark of products and the tests need besides the kind itself. */
#ifndef CLNN_LAYERS_DENSE_H
#define CLNN_LAYERS_DENSE_H

#include "layers/layer.h"

/* Whether a dense layer at position `index` of the stack keeps its weight
 * transposed on the device, [in, out] instead of PyTorch's [out, in] (the
 * host always sees [out, in]): see dense.c. False for other kinds. */
bool clnn__dense_weight_transposed(const clnn__layer_spec *layer, size_t index);

#endif
