/* How many adjacent columns a work-item of a column-wise kernel owns on
 * this device. */
#include "layers/columns.h"

#include <stdio.h>

void clnn__column_kernel_init(const clnn_context *ctx, clnn__column_kernel *k, const char *source,
                              const char *name, size_t cols)
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
    clnn__kernel_ref_init(&k->ref, source, options, name);
    k->global[0] = cols / (size_t)w;
    k->spread = clnn__spread_local(ctx, k->global[0], k->local) != NULL;
}
