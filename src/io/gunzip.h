/* gzip and raw deflate decompression of whole in-memory data, and CRC-32
 * (zlib). Pure host code. */
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

/* Inflate the raw deflate stream in[0..len) (a ZIP member's) into exactly
 * out_len bytes at out: a stream that ends early, runs longer or leaves
 * input unused is CLNN_ERR_BAD_FILE; messages start with what. */
clnn_status clnn__inflate_raw(const uint8_t *in, size_t len, uint8_t *out, size_t out_len,
                              const char *what);

/* CRC-32 (ZIP's and gzip's) of bytes[0..len). */
uint32_t clnn__crc32(const uint8_t *bytes, size_t len);

#endif
