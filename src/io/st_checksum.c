/* Integrity check of clnn's safetensors files: metadata "clnn.checksum" holds
 * "crc32:XXXXXXXX", the CRC-32 of the whole file with those eight digits read
 * as zeros, so a flipped byte anywhere (length, header, data) is caught. */
#include "io/st_checksum.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define PREFIX "crc32:"
#define DIGITS 8

static uint32_t crc_of(const uint8_t *bytes, size_t len, size_t digits_at)
{
    static const uint8_t zeros[DIGITS] = {'0', '0', '0', '0', '0', '0', '0', '0'};
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32_z(crc, bytes, digits_at);
    crc = crc32_z(crc, zeros, DIGITS);
    crc = crc32_z(crc, bytes + digits_at + DIGITS, len - digits_at - DIGITS);
    return (uint32_t)crc;
}

/* Offset of the digits of `value` in the file's header, or 0 if absent. */
static size_t digits_offset(const uint8_t *bytes, size_t header_end, const char *value)
{
    size_t vlen = strlen(value);
    size_t found = 0;
    for (size_t i = 8; i + vlen <= header_end; i++) {
        if (memcmp(bytes + i, value, vlen) == 0) {
            if (found)
                return 0; /* twice: ambiguous, treat as absent */
            found = i + strlen(PREFIX);
        }
    }
    return found;
}

bool clnn__st_checksum_placeholder(const char *value)
{
    return strcmp(value, CLNN__ST_CHECKSUM_PLACEHOLDER) == 0;
}

void clnn__st_checksum_fill(uint8_t *bytes, size_t len, size_t header_end)
{
    size_t at = digits_offset(bytes, header_end, CLNN__ST_CHECKSUM_PLACEHOLDER);
    if (!at)
        return;
    char digits[DIGITS + 1];
    snprintf(digits, sizeof digits, "%08x", (unsigned)crc_of(bytes, len, at));
    memcpy(bytes + at, digits, DIGITS);
}

clnn_status clnn__st_checksum_verify(const uint8_t *bytes, size_t len, size_t header_end,
                                     const char *value, bool written_by_clnn)
{
    if (!value) {
        if (written_by_clnn)
            return clnn__fail(CLNN_ERR_BAD_FILE,
                              "the file says it was written by clnn but has no clnn.checksum: "
                              "it is damaged; use an earlier copy or checkpoint");
        return CLNN_OK;
    }
    /* Exactly as written (lower-case digits), so that no altered spelling of
     * the same number passes. */
    bool canonical = strlen(value) == strlen(PREFIX) + DIGITS &&
                     strncmp(value, PREFIX, strlen(PREFIX)) == 0 &&
                     strspn(value + strlen(PREFIX), "0123456789abcdef") == DIGITS;
    unsigned stored = 0;
    if (!canonical || sscanf(value + strlen(PREFIX), "%8x", &stored) != 1)
        return clnn__fail(CLNN_ERR_BAD_FILE, "clnn.checksum '%s' is malformed: the file is damaged",
                          value);
    size_t at = digits_offset(bytes, header_end, value);
    if (!at)
        return clnn__fail(CLNN_ERR_BAD_FILE, "clnn.checksum cannot be located in the header: "
                                             "the file is damaged");
    uint32_t actual = crc_of(bytes, len, at);
    if (actual != stored)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "checksum mismatch (stored crc32 %08x, computed %08x): the file is "
                          "corrupted; use an earlier copy or checkpoint",
                          stored, (unsigned)actual);
    return CLNN_OK;
}
