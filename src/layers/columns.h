/* Column-wise kernels (BatchNorm, bias gradients, and the optimizers, whose
 * flat buffer is one long row), chosen once per plan. */
#ifndef CLNN_LAYERS_COLUMNS_H
#define CLNN_LAYERS_COLUMNS_H

#include "runtime/runtime.h"

/* A kernel whose work-items each own W adjacent columns of a cols-wide
 * matrix (-D W): explicit W-wide vectors on CPU devices (the widest of 16,
 * 8, 4 that divides cols), one column per work-item on GPUs, which keeps
 * neighbouring work-items on neighbouring addresses. global is the number
 * of work-items; the local size is spread (clnn__spread_local) or left to
 * the driver. */
typedef struct clnn__column_kernel {
    clnn__kernel_ref ref;
    size_t global[1], local[1];
    bool spread;
} clnn__column_kernel;

void clnn__column_kernel_init(const clnn_context *ctx, clnn__column_kernel *k, const char *source,
                              const char *name, size_t cols);
static inline const size_t *clnn__column_local(const clnn__column_kernel *k)
{
    return k->spread ? k->local : NULL;
}

#endif
