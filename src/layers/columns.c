/* Column-wise kernels (BatchNorm, bias gradient, and the optimizers, whose
 * flat buffer is one long row): how many adjacent columns a work-item owns
 * on this device. */
#include "net/net_internal.h"

#include <stdio.h>

clnn_status clnn__column_kernel(clnn_context *ctx, const char *source, const char *name,
                                size_t cols, cl_kernel *kernel, size_t *global, size_t *local,
                                const size_t **lp)
{
    int w = 1;
    if (ctx->info.type == CLNN_DEVICE_CPU) {
        static const int widths[] = {16, 8, 4}; /* those the kernels define */
        for (size_t i = 0; i < CLNN__ARRAY_LEN(widths) && w == 1; i++)
            if (cols % (size_t)widths[i] == 0)
                w = widths[i];
    }
    char options[16];
    snprintf(options, sizeof options, "-DW=%d", w);
    *global = cols / (size_t)w;
    *lp = clnn__spread_local(ctx, *global, local);
    return clnn__kernel(ctx, source, options, name, kernel);
}
