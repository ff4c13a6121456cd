/* safetensors reading and writing (pure host code, no OpenCL).
 * Format: 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {"key": "string value", ...}}, then the data bytes. */
#ifndef CLNN_IO_SAFETENSORS_H
#define CLNN_IO_SAFETENSORS_H

#include "internal.h"

#define CLNN__ST_MAX_DIMS 8

typedef enum clnn__st_dtype {
    CLNN__ST_BOOL, CLNN__ST_U8, CLNN__ST_I8, CLNN__ST_I16, CLNN__ST_U16, CLNN__ST_F16,
    CLNN__ST_BF16, CLNN__ST_I32, CLNN__ST_U32, CLNN__ST_F32, CLNN__ST_F64, CLNN__ST_I64,
    CLNN__ST_U64
} clnn__st_dtype;

const char *clnn__st_dtype_name(clnn__st_dtype dtype); /* "F32" */
size_t clnn__st_dtype_size(clnn__st_dtype dtype);      /* bytes per element */

typedef struct clnn__st_tensor {
    char *name;
    clnn__st_dtype dtype;
    size_t ndim;
    size_t shape[CLNN__ST_MAX_DIMS];
    size_t numel;
    const uint8_t *data; /* points into the file's data section */
    size_t nbytes;
} clnn__st_tensor;

typedef struct clnn__st_file {
    clnn__st_tensor *tensors; /* in file order of data offsets */
    size_t count;
    char **meta_keys;         /* __metadata__ entries */
    char **meta_values;
    size_t meta_count;
    uint8_t *buffer;          /* owned copy of the whole file */
    size_t buffer_len;
} clnn__st_file;

/* Parse a whole file image (copied). Strict: bounded header, valid JSON,
 * known dtypes, element counts that match byte ranges, contiguous,
 * non-overlapping in-bounds offsets, no duplicate names. */
clnn_status clnn__st_parse(const uint8_t *bytes, size_t len, clnn__st_file *out);
clnn_status clnn__st_read(const char *path, clnn__st_file *out);
void clnn__st_free(clnn__st_file *file);
const clnn__st_tensor *clnn__st_find(const clnn__st_file *file, const char *name);
const char *clnn__st_meta(const clnn__st_file *file, const char *key); /* NULL if absent */

/* One tensor to write; data is little-endian host memory of nbytes. */
typedef struct clnn__st_entry {
    const char *name;
    clnn__st_dtype dtype;
    size_t ndim;
    size_t shape[CLNN__ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
} clnn__st_entry;

/* Write atomically (temporary file in the same directory, fsync, rename,
 * fsync of the directory): on failure any earlier file at path is intact.
 * Tensors are stored in the given order; metadata keys/values are strings. */
clnn_status clnn__st_write(const char *path, const clnn__st_entry *entries, size_t count,
                           const char *const *meta_keys, const char *const *meta_values,
                           size_t meta_count);
/* The same file image, byte for byte, in one malloc'ed buffer (*len bytes). */
clnn_status clnn__st_image(const clnn__st_entry *entries, size_t count,
                           const char *const *meta_keys, const char *const *meta_values,
                           size_t meta_count, uint8_t **image, size_t *len);

#endif
