/* Layer specifications: "dense:256,bn,relu" with optional "name=" prefixes;
 * each kind's options are its own (layers/layer.h). Pure host code, no
 * OpenCL. */
#ifndef CLNN_NET_SPEC_H
#define CLNN_NET_SPEC_H

#include "layers/layer.h"

/* Parse spec into a malloc'ed array; CLNN_ERR_SPEC names the bad token. */
clnn_status clnn__spec_parse(const char *spec, clnn__layer_spec **layers, size_t *count);
/* A valid layer name: [A-Za-z_][A-Za-z0-9_]*, shorter than CLNN__NAME_MAX. */
bool clnn__spec_valid_name(const char *name);

#endif
