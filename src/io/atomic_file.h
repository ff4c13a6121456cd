/* Crash-safe file replacement: nothing half-written is ever visible at path. */
#ifndef CLNN_IO_ATOMIC_FILE_H
#define CLNN_IO_ATOMIC_FILE_H

#include "internal.h"

/* Write the concatenation of chunks to path via a temporary file in the same
 * directory, fsync it, rename it over path and fsync the directory. On any
 * failure the temporary file is removed and an earlier file is untouched. */
clnn_status clnn__atomic_write(const char *path, const void *const *chunks, const size_t *lengths,
                               size_t count);

/* Read a whole file into a malloc'ed buffer (*len bytes). On CLNN_ERR_IO,
 * errno is left as the failed call set it (ENOENT: no such file). */
clnn_status clnn__read_file(const char *path, uint8_t **data, size_t *len);

#endif
