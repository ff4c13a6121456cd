/* IDX reader: magic 00 00, element type, dimension count, big-endian uint32
 * dimensions, then exactly the elements. */
#include "io/idx.h"

#include "base/platform.h"
#include "io/gunzip.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Far above any (Fashion-)MNIST file (47 MB), low enough that a gzip bomb
 * cannot exhaust memory. */
#define MAX_DECOMPRESSED ((size_t)1 << 30)

static const char *type_name(unsigned type)
{
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "16-bit integer";
    case 0x0C: return "32-bit integer";
    case 0x0D: return "32-bit float";
    case 0x0E: return "64-bit float";
    default: return "unknown type";
    }
}

/* "60000 x 28 x 28" for messages. */
static void format_dims(const uint32_t *dims, size_t ndim, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%u", i ? " x " : "", (unsigned)dims[i]);
}

/* Validate the header and payload size; *payload and *count describe the
 * elements on success. */
static clnn_status check(const uint8_t *b, size_t len, const char *what, clnn__idx *out,
                         size_t *payload)
{
    if (len < 4)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: %zu bytes is too short for an IDX file (the header alone is at "
                          "least 8)",
                          what, len);
    if (b[0] != 0 || b[1] != 0)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: not an IDX file: it starts with 0x%02X 0x%02X instead of 0x00 0x00",
                          what, b[0], b[1]);
    if (b[2] != 0x08)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: IDX element type 0x%02X (%s) is not supported; only 0x08 (unsigned "
                          "byte) is",
                          what, b[2], type_name(b[2]));
    size_t ndim = b[3];
    if (ndim < 1 || ndim > CLNN__IDX_MAX_DIMS)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: IDX file has %zu dimensions; 1 to %d are supported", what, ndim,
                          CLNN__IDX_MAX_DIMS);
    size_t header = 4 + 4 * ndim;
    if (len < header)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: the IDX header of %zu dimensions needs %zu bytes but the file has "
                          "%zu (truncated?)",
                          what, ndim, header, len);
    uint32_t dims[CLNN__IDX_MAX_DIMS];
    size_t count = 1;
    int overflow = 0;
    for (size_t i = 0; i < ndim; i++) {
        const uint8_t *d = b + 4 + 4 * i;
        dims[i] = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
        if (dims[i] && count > SIZE_MAX / dims[i])
            overflow = 1;
        count *= dims[i];
        out->dims[i] = dims[i];
    }
    char text[96];
    format_dims(dims, ndim, text, sizeof text);
    if (overflow)
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s: IDX dimensions %s overflow the element count",
                          what, text);
    size_t have = len - header;
    if (have < count)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: IDX dimensions %s need %zu bytes of data but the file has %zu "
                          "(truncated?); re-download the file",
                          what, text, count, have);
    if (have > count)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: IDX dimensions %s need %zu bytes of data but the file has %zu "
                          "(%zu trailing bytes); the header does not match the data",
                          what, text, count, have, have - count);
    out->ndim = ndim;
    out->count = count;
    *payload = header;
    return CLNN_OK;
}

clnn_status clnn__idx_parse(const uint8_t *bytes, size_t len, const char *what, clnn__idx *out)
{
    memset(out, 0, sizeof *out);
    if (!bytes && len)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "IDX: bytes is NULL");
    if (!what)
        what = "IDX data";
    size_t payload;
    clnn__idx idx;
    memset(&idx, 0, sizeof idx);
    clnn_status st = check(bytes, len, what, &idx, &payload);
    if (st != CLNN_OK)
        return st;
    idx.data = clnn__malloc(idx.count);
    if (!idx.data)
        return CLNN_ERR_OUT_OF_MEMORY;
    if (idx.count)
        memcpy(idx.data, bytes + payload, idx.count);
    *out = idx;
    return CLNN_OK;
}

/* Validate a buffer that is ours and keep it, moving the elements to its
 * start, so that a 47 MB file is never held twice. */
static clnn_status parse_owned(uint8_t *buf, size_t len, const char *what, clnn__idx *out)
{
    size_t payload;
    clnn__idx idx;
    memset(&idx, 0, sizeof idx);
    clnn_status st = check(buf, len, what, &idx, &payload);
    if (st != CLNN_OK) {
        free(buf);
        return st;
    }
    memmove(buf, buf + payload, idx.count);
    uint8_t *shrunk = realloc(buf, idx.count ? idx.count : 1);
    idx.data = shrunk ? shrunk : buf;
    *out = idx;
    return CLNN_OK;
}

clnn_status clnn__idx_read(const char *path, clnn__idx *out)
{
    memset(out, 0, sizeof *out);
    if (!path)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "IDX: path is NULL");
    uint8_t *raw = NULL;
    size_t len = 0;
    clnn_status st = clnn__read_file(path, &raw, &len);
    if (st == CLNN_ERR_IO && errno == ENOENT)
        return clnn__fail(CLNN_ERR_IO,
                          "cannot read '%s': %s; install the Debian package dataset-fashion-mnist "
                          "or give the folder that holds the files",
                          path, strerror(ENOENT));
    if (st != CLNN_OK)
        return st;

    size_t wlen = strlen(path) + 3;
    char *what = clnn__malloc(wlen);
    if (!what) {
        free(raw);
        return CLNN_ERR_OUT_OF_MEMORY;
    }
    snprintf(what, wlen, "'%s'", path);
    if (clnn__is_gzip(raw, len)) {
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        st = clnn__gunzip(raw, len, MAX_DECOMPRESSED, what, &plain, &plain_len);
        free(raw);
        raw = plain;
        len = plain_len;
    }
    if (st == CLNN_OK)
        st = parse_owned(raw, len, what, out);
    free(what);
    return st;
}

void clnn__idx_free(clnn__idx *idx)
{
    if (!idx)
        return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}
