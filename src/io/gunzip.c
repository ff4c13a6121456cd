/* gzip decompression with zlib's inflate, checking what gzread would let
 * pass silently: a stream cut short, and bytes after the last member. */
#include "io/gunzip.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#define ZLIB_CONST /* next_in is const: the input is never written */
#include <zlib.h>

bool clnn__is_gzip(const uint8_t *bytes, size_t len)
{
    return len >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

/* zlib counts in uInt; larger buffers are fed in slices. */
static uInt slice(size_t n)
{
    return n > UINT_MAX ? UINT_MAX : (uInt)n;
}

/* First guess at the output size: the trailer's ISIZE (size mod 2^32 of the
 * last member), which is exact for the usual single-member file < 4 GiB.
 * A damaged file's "trailer" is noise, so the guess is also held to what
 * deflate can possibly produce from len bytes (at most 1032:1). */
static size_t initial_capacity(const uint8_t *in, size_t len, size_t max_out)
{
    size_t guess = 1 << 16;
    if (len >= 18) {
        const uint8_t *t = in + len - 4;
        size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
        size_t possible = len > SIZE_MAX / 1032 ? SIZE_MAX : len * 1032;
        guess = CLNN__MAX(guess, CLNN__MIN(isize, possible));
    }
    /* One byte past the limit so that reaching it is detectable. */
    return CLNN__MIN(guess, max_out) + 1;
}

clnn_status clnn__gunzip(const uint8_t *in, size_t len, size_t max_out, const char *what,
                         uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (max_out >= SIZE_MAX)
        max_out = SIZE_MAX - 1;
    size_t cap = initial_capacity(in, len, max_out);
    uint8_t *buf = clnn__malloc(cap);
    if (!buf)
        return CLNN_ERR_OUT_OF_MEMORY;

    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* 16 + MAX_WBITS: expect a gzip wrapper and check its CRC and length. */
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        free(buf);
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "%s: cannot start zlib: out of memory", what);
    }
    size_t in_pos = 0, n = 0;
    clnn_status st = CLNN_OK;
    for (;;) {
        if (n == cap) {
            if (cap > max_out) {
                st = clnn__fail(CLNN_ERR_BAD_FILE,
                                "%s: gzip data decompresses to more than %zu bytes; this is not "
                                "a dataset file",
                                what, max_out);
                break;
            }
            size_t ncap = cap > (max_out + 1) / 2 ? max_out + 1 : cap * 2;
            uint8_t *grown = realloc(buf, ncap);
            if (!grown) {
                st = clnn__fail(CLNN_ERR_OUT_OF_MEMORY,
                                "%s: out of host memory decompressing (%zu bytes)", what, ncap);
                break;
            }
            buf = grown;
            cap = ncap;
        }
        zs.next_in = in + in_pos;
        zs.avail_in = slice(len - in_pos);
        zs.next_out = buf + n;
        zs.avail_out = slice(cap - n);
        uInt avail_in = zs.avail_in, avail_out = zs.avail_out;
        int ret = inflate(&zs, Z_NO_FLUSH);
        in_pos += avail_in - zs.avail_in;
        n += avail_out - zs.avail_out;

        if (ret == Z_STREAM_END) {
            if (in_pos == len)
                break;
            /* gzip allows several members back to back (as cat a.gz b.gz). */
            if (clnn__is_gzip(in + in_pos, len - in_pos)) {
                inflateReset(&zs);
                continue;
            }
            st = clnn__fail(CLNN_ERR_BAD_FILE,
                            "%s: %zu bytes of garbage after the end of the gzip data; "
                            "re-download the file",
                            what, len - in_pos);
            break;
        }
        if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT) {
            st = clnn__fail(CLNN_ERR_BAD_FILE, "%s: corrupted gzip data (%s); re-download the file",
                            what, zs.msg ? zs.msg : "invalid stream");
            break;
        }
        if (ret == Z_MEM_ERROR) {
            st = clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "%s: out of host memory in zlib", what);
            break;
        }
        /* Z_OK or Z_BUF_ERROR: stuck with room to write means no input is
         * left although the stream has not ended. */
        if (n < cap && in_pos == len && zs.avail_out > 0) {
            st = clnn__fail(CLNN_ERR_BAD_FILE,
                            "%s: gzip data is truncated (ends after %zu compressed bytes); "
                            "re-download the file",
                            what, len);
            break;
        }
    }
    inflateEnd(&zs);
    if (st != CLNN_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *out_len = n;
    return CLNN_OK;
}

clnn_status clnn__inflate_raw(const uint8_t *in, size_t len, uint8_t *out, size_t out_len,
                              const char *what)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* Negative window bits: a bare deflate stream, no zlib or gzip wrapper. */
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "%s: cannot start zlib: out of memory", what);
    size_t in_pos = 0, n = 0;
    clnn_status st = CLNN_OK;
    /* One byte of room past out_len, so that a longer stream shows. */
    uint8_t spare;
    for (;;) {
        zs.next_in = in + in_pos;
        zs.avail_in = slice(len - in_pos);
        bool over = n == out_len;
        zs.next_out = over ? &spare : out + n;
        zs.avail_out = over ? 1 : slice(out_len - n);
        uInt avail_in = zs.avail_in, avail_out = zs.avail_out;
        int ret = inflate(&zs, Z_NO_FLUSH);
        in_pos += avail_in - zs.avail_in;
        n += avail_out - zs.avail_out;
        if (n > out_len) {
            st = clnn__fail(CLNN_ERR_BAD_FILE,
                            "%s: the compressed data holds more than the %zu bytes the archive "
                            "declares",
                            what, out_len);
            break;
        }
        if (ret == Z_STREAM_END) {
            if (n != out_len)
                st = clnn__fail(CLNN_ERR_BAD_FILE,
                                "%s: the compressed data holds %zu bytes, the archive declares %zu",
                                what, n, out_len);
            else if (in_pos != len)
                st = clnn__fail(CLNN_ERR_BAD_FILE,
                                "%s: %zu bytes after the end of the compressed data", what,
                                len - in_pos);
            break;
        }
        if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT) {
            st = clnn__fail(CLNN_ERR_BAD_FILE, "%s: corrupted deflate data (%s)", what,
                            zs.msg ? zs.msg : "invalid stream");
            break;
        }
        if (ret == Z_MEM_ERROR) {
            st = clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "%s: out of host memory in zlib", what);
            break;
        }
        if (in_pos == len && avail_out == zs.avail_out && avail_in == zs.avail_in) {
            st = clnn__fail(CLNN_ERR_BAD_FILE,
                            "%s: the compressed data is truncated (ends after %zu of %zu bytes)",
                            what, n, out_len);
            break;
        }
    }
    inflateEnd(&zs);
    return st;
}

uint32_t clnn__crc32(const uint8_t *bytes, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (len > 0) {
        uInt n = slice(len);
        crc = crc32(crc, bytes, n);
        bytes += n;
        len -= n;
    }
    return (uint32_t)crc;
}
