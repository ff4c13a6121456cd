/* IDX files (MNIST / Fashion-MNIST), plain or gzip-compressed; pure host code. */
#ifndef CLNN_IO_IDX_H
#define CLNN_IO_IDX_H

#include "internal.h"

#define CLNN__IDX_MAX_DIMS 4

typedef struct clnn__idx {
    size_t ndim;
    size_t dims[CLNN__IDX_MAX_DIMS];
    size_t count;   /* product of dims */
    uint8_t *data;  /* unsigned-byte elements (the only type (Fashion-)MNIST uses) */
} clnn__idx;

/* Parse an in-memory (decompressed) IDX image; validates magic, type, dims
 * and that the payload size is exact. */
clnn_status clnn__idx_parse(const uint8_t *bytes, size_t len, const char *what, clnn__idx *out);
/* Read a file; gzip is detected by its magic bytes. */
clnn_status clnn__idx_read(const char *path, clnn__idx *out);
void clnn__idx_free(clnn__idx *idx);

#endif
