/* OpenCL C sources embedded at build time (tools/embed-kernels.py). */
#ifndef CLNN_RUNTIME_KERNEL_SOURCES_H
#define CLNN_RUNTIME_KERNEL_SOURCES_H

#include <stddef.h>

#include "internal.h"

typedef struct clnn__kernel_source {
    const char *name; /* file name without ".cl" */
    const char *text;
    size_t length;
} clnn__kernel_source;

/* Terminated by an entry whose name is NULL. */
extern const clnn__kernel_source clnn__kernel_sources[];

/* The source of kernels/<name>.cl, from $CLNN_KERNEL_DIR when set, else the
 * embedded copy. *owned is set when the caller must free *text. */
clnn_status clnn__kernel_source_get(const char *name, const char **text, size_t *length,
                                    char **owned);

#endif
