/* Layer specifications: "dense:256,bn,relu" with optional "name=" prefixes.
 * Pure host code, no OpenCL. */
#ifndef CLNN_NET_SPEC_H
#define CLNN_NET_SPEC_H

#include "internal.h"

typedef enum clnn__layer_kind {
    CLNN__LAYER_DENSE,
    CLNN__LAYER_BATCHNORM1D,
    CLNN__LAYER_RELU
} clnn__layer_kind;

#define CLNN__NAME_MAX 64
#define CLNN__UNITS_MAX 1000000

typedef struct clnn__layer_spec {
    clnn__layer_kind kind;
    size_t units;               /* dense only */
    char name[CLNN__NAME_MAX];  /* "" when unnamed */
} clnn__layer_spec;

/* Parse spec into a malloc'ed array; CLNN_ERR_SPEC names the bad token. */
clnn_status clnn__spec_parse(const char *spec, clnn__layer_spec **layers, size_t *count);
/* A valid layer name: [A-Za-z_][A-Za-z0-9_]*, shorter than CLNN__NAME_MAX. */
bool clnn__spec_valid_name(const char *name);
const char *clnn__layer_kind_name(clnn__layer_kind kind); /* "dense", "bn", "relu" */
/* Whether a dense layer at position `index` of the stack keeps its weight
 * transposed on the device, [in, out] instead of PyTorch's [out, in] (the
 * host always sees [out, in]): see spec.c. */
bool clnn__spec_weight_transposed(const clnn__layer_spec *layer, size_t index);

#endif
