/* The table of layer kinds: one line per kind, X(ID, file), in the order
 * of the enum. ID names the enum constant (CLNN__LAYER_<ID>); file names
 * the kind's module, src/layers/<file>.c, whose interface struct is
 * clnn__layer_class_<file> (layers/layer.h), and its kernels,
 * kernels/<file>.cl where that file exists. The build reads this list too
 * (src/layers/meson.build, kernels/meson.build): keep one X(...) per line. */
#ifndef CLNN_LAYERS_KINDS_H
#define CLNN_LAYERS_KINDS_H

#define CLNN__LAYER_KINDS(X)                                                                       \
    X(DENSE, dense)                                                                                \
    X(BATCHNORM1D, batchnorm)                                                                      \
    X(RELU, relu)                                                                                  \
    X(LEAKYRELU, leakyrelu)                                                                        \
    X(GELU, gelu)                                                                                  \
    X(TANH, tanh)                                                                                  \
    X(SIGMOID, sigmoid)                                                                            \
    X(SILU, silu)                                                                                  \
    X(LAYERNORM, layernorm)                                                                        \
    X(DROPOUT, dropout)                                                                            \
    X(SOFTPLUS, softplus)

#endif
