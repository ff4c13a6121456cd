/* CRC-32 integrity check of clnn-written safetensors files (pure host code). */
#ifndef CLNN_IO_ST_CHECKSUM_H
#define CLNN_IO_ST_CHECKSUM_H

#include "internal.h"

#define CLNN__ST_CHECKSUM_KEY "clnn.checksum"
/* Value to pass for CLNN__ST_CHECKSUM_KEY; the writer replaces the digits. */
#define CLNN__ST_CHECKSUM_PLACEHOLDER "crc32:00000000"
/* Metadata key that only clnn's writer sets: such files must carry a checksum. */
#define CLNN__ST_WRITER_KEY "clnn.version"

bool clnn__st_checksum_placeholder(const char *value);
/* Replace the placeholder digits in a complete file image (header ends at
 * header_end) by the file's checksum. */
void clnn__st_checksum_fill(uint8_t *bytes, size_t len, size_t header_end);
/* Check a parsed file; value is its clnn.checksum metadata or NULL. */
clnn_status clnn__st_checksum_verify(const uint8_t *bytes, size_t len, size_t header_end,
                                     const char *value, bool written_by_clnn);

#endif
