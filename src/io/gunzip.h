/* gzip decompression of a whole in-memory file (zlib). Pure host code. */
#ifndef CLNN_IO_GUNZIP_H
#define CLNN_IO_GUNZIP_H

#include "internal.h"

/* Whether bytes start with the gzip magic 1f 8b. */
bool clnn__is_gzip(const uint8_t *bytes, size_t len);

/* Decompress every gzip member of in[0..len) into a malloc'ed buffer.
 * Corrupted or truncated streams, trailing garbage and output beyond
 * max_out bytes are CLNN_ERR_BAD_FILE; messages start with what (a quoted
 * path, say). */
clnn_status clnn__gunzip(const uint8_t *in, size_t len, size_t max_out, const char *what,
                         uint8_t **out, size_t *out_len);

#endif
