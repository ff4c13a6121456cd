/* safetensors writer. The header is laid out exactly as the reference
 * implementation lays it out (compact JSON, __metadata__ first, tensors in
 * data order, space padding to 8 bytes), so files written here and by
 * Python's safetensors from the same tensors in the same order are
 * byte-for-byte identical. */
#include "io/safetensors.h"
#include "io/st_checksum.h"

#include "base/platform.h"
#include "io/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER_BYTES 100000000u

/* Header text built in two passes: a measuring pass with out == NULL, then
 * a filling pass into a buffer of exactly that size. */
typedef struct text {
    char *out;
    size_t len;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->out)
        memcpy(t->out + t->len, s, n);
    t->len += n;
}

static void put_str(text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void put_quoted(text *t, const char *s)
{
    size_t n = strlen(s);
    put(t, "\"", 1);
    t->len += clnn__json_escape(s, n, t->out ? t->out + t->len : NULL);
    put(t, "\"", 1);
}

static void put_uint(text *t, size_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%zu", v);
    put(t, buf, (size_t)n);
}

static void build_header(text *t, const clnn__st_entry *entries, size_t count,
                         const char *const *meta_keys, const char *const *meta_values,
                         size_t meta_count)
{
    put_str(t, "{");
    if (meta_count) {
        put_str(t, "\"__metadata__\":{");
        for (size_t i = 0; i < meta_count; i++) {
            if (i)
                put_str(t, ",");
            put_quoted(t, meta_keys[i]);
            put_str(t, ":");
            put_quoted(t, meta_values[i]);
        }
        put_str(t, "}");
    }
    size_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        const clnn__st_entry *e = &entries[i];
        if (i || meta_count)
            put_str(t, ",");
        put_quoted(t, e->name);
        put_str(t, ":{\"dtype\":");
        put_quoted(t, clnn__st_dtype_name(e->dtype));
        put_str(t, ",\"shape\":[");
        for (size_t d = 0; d < e->ndim; d++) {
            if (d)
                put_str(t, ",");
            put_uint(t, e->shape[d]);
        }
        put_str(t, "],\"data_offsets\":[");
        put_uint(t, offset);
        put_str(t, ",");
        put_uint(t, offset + e->nbytes);
        put_str(t, "]}");
        offset += e->nbytes;
    }
    put_str(t, "}");
    /* Padding keeps the data section 8-byte aligned for zero-copy readers. */
    while (t->len % 8)
        put_str(t, " ");
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Repeated names would make a file every reader rejects. */
static clnn_status check_unique(const char *const *names, size_t count, const char *what)
{
    if (count < 2)
        return CLNN_OK;
    const char **sorted = clnn__malloc(count * sizeof *sorted);
    if (!sorted)
        return CLNN_ERR_OUT_OF_MEMORY;
    memcpy(sorted, names, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, by_string);
    clnn_status st = CLNN_OK;
    for (size_t i = 1; i < count && st == CLNN_OK; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0)
            st = clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                            "safetensors: %s '%s' is given more than once", what, sorted[i]);
    free(sorted);
    return st;
}

static clnn_status check_entries(const clnn__st_entry *entries, size_t count)
{
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        const clnn__st_entry *e = &entries[i];
        if (!e->name)
            return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "safetensors: tensor %zu has no name", i);
        if (!clnn__utf8_valid(e->name, strlen(e->name)))
            return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                              "safetensors: tensor name %zu is not valid UTF-8", i);
        if (strcmp(e->name, "__metadata__") == 0)
            return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                              "safetensors: '__metadata__' is reserved and cannot name a tensor");
        size_t size = clnn__st_dtype_size(e->dtype);
        if (!size)
            return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "safetensors: tensor '%s' has dtype %d",
                              e->name, (int)e->dtype);
        if (e->ndim > CLNN__ST_MAX_DIMS)
            return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                              "safetensors: tensor '%s' has %zu dimensions; at most %d", e->name,
                              e->ndim, CLNN__ST_MAX_DIMS);
        size_t numel = 1;
        int zero = 0;
        for (size_t d = 0; d < e->ndim; d++)
            zero |= e->shape[d] == 0;
        for (size_t d = 0; d < e->ndim && !zero; d++) {
            if (numel > SIZE_MAX / e->shape[d])
                return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                                  "safetensors: tensor '%s': shape overflows", e->name);
            numel *= e->shape[d];
        }
        if (zero)
            numel = 0;
        if (numel > SIZE_MAX / size || numel * size != e->nbytes)
            return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                              "safetensors: tensor '%s' has %zu elements of %s but %zu bytes",
                              e->name, numel, clnn__st_dtype_name(e->dtype), e->nbytes);
        if (e->nbytes && !e->data)
            return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "safetensors: tensor '%s' has no data",
                              e->name);
        if (total > SIZE_MAX - e->nbytes)
            return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "safetensors: tensors overflow size_t");
        total += e->nbytes;
    }
    return CLNN_OK;
}

static clnn_status check_arguments(const clnn__st_entry *entries, size_t count,
                                   const char *const *meta_keys, const char *const *meta_values,
                                   size_t meta_count)
{
    if ((!entries && count) || (meta_count && (!meta_keys || !meta_values)))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "safetensors: NULL array with a count");
    for (size_t i = 0; i < meta_count; i++) {
        if (!meta_keys[i] || !meta_values[i])
            return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "safetensors: metadata entry %zu is NULL",
                              i);
        if (!clnn__utf8_valid(meta_keys[i], strlen(meta_keys[i])) ||
            !clnn__utf8_valid(meta_values[i], strlen(meta_values[i])))
            return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                              "safetensors: metadata entry %zu is not valid UTF-8", i);
    }
    clnn_status st = check_entries(entries, count);
    if (st != CLNN_OK)
        return st;
    const char **names = clnn__malloc((count ? count : 1) * sizeof *names);
    if (!names)
        return CLNN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < count; i++)
        names[i] = entries[i].name;
    st = check_unique(names, count, "tensor name");
    free(names);
    if (st == CLNN_OK)
        st = check_unique(meta_keys, meta_count, "metadata key");
    return st;
}

/* A file's layout: the length prefix, the header text and the tensors'
 * bytes, as chunks to concatenate; and whether the metadata asks for a
 * checksum, which covers the whole file and so needs it in one piece. */
typedef struct layout {
    uint8_t prefix[8];
    text header;
    const void **chunks;
    size_t *lengths;
    size_t count; /* chunks */
    bool checksum;
} layout;

static void layout_free(layout *l)
{
    free(l->header.out);
    free(l->chunks);
    free(l->lengths);
}

static clnn_status layout_build(const clnn__st_entry *entries, size_t count,
                                const char *const *meta_keys, const char *const *meta_values,
                                size_t meta_count, layout *l)
{
    memset(l, 0, sizeof *l);
    clnn_status st = check_arguments(entries, count, meta_keys, meta_values, meta_count);
    if (st != CLNN_OK)
        return st;
    text measure = {NULL, 0};
    build_header(&measure, entries, count, meta_keys, meta_values, meta_count);
    if (measure.len > MAX_HEADER_BYTES)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "safetensors: header of %zu bytes exceeds the %u-byte limit readers "
                          "accept; use fewer or shorter names",
                          measure.len, MAX_HEADER_BYTES);
    l->header.out = clnn__malloc(measure.len);
    l->chunks = clnn__calloc(count + 2, sizeof *l->chunks);
    l->lengths = clnn__calloc(count + 2, sizeof *l->lengths);
    if (!l->header.out || !l->chunks || !l->lengths) {
        layout_free(l);
        return CLNN_ERR_OUT_OF_MEMORY;
    }
    build_header(&l->header, entries, count, meta_keys, meta_values, meta_count);
    for (int i = 0; i < 8; i++)
        l->prefix[i] = (uint8_t)((uint64_t)l->header.len >> (8 * i));
    l->chunks[0] = l->prefix;
    l->lengths[0] = sizeof l->prefix;
    l->chunks[1] = l->header.out;
    l->lengths[1] = l->header.len;
    for (size_t i = 0; i < count; i++) {
        l->chunks[i + 2] = entries[i].data;
        l->lengths[i + 2] = entries[i].nbytes;
    }
    l->count = count + 2;
    for (size_t i = 0; i < meta_count; i++)
        l->checksum |= strcmp(meta_keys[i], CLNN__ST_CHECKSUM_KEY) == 0 &&
                       clnn__st_checksum_placeholder(meta_values[i]);
    return CLNN_OK;
}

/* The chunks in one buffer, with the checksum filled in when asked for. */
static clnn_status layout_join(const layout *l, uint8_t **image, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < l->count; i++)
        total += l->lengths[i];
    uint8_t *out = clnn__malloc(total ? total : 1);
    if (!out)
        return CLNN_ERR_OUT_OF_MEMORY;
    size_t at = 0;
    for (size_t i = 0; i < l->count; i++) {
        if (l->lengths[i])
            memcpy(out + at, l->chunks[i], l->lengths[i]);
        at += l->lengths[i];
    }
    if (l->checksum)
        clnn__st_checksum_fill(out, total, 8 + l->header.len);
    *image = out;
    *len = total;
    return CLNN_OK;
}

clnn_status clnn__st_write(const char *path, const clnn__st_entry *entries, size_t count,
                           const char *const *meta_keys, const char *const *meta_values,
                           size_t meta_count)
{
    if (!path)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "safetensors: path is NULL");
    layout l;
    clnn_status st = layout_build(entries, count, meta_keys, meta_values, meta_count, &l);
    if (st != CLNN_OK)
        return st;
    if (l.checksum) {
        uint8_t *image = NULL;
        size_t total = 0;
        st = layout_join(&l, &image, &total);
        const void *one[1] = {image};
        if (st == CLNN_OK)
            st = clnn__atomic_write(path, one, &total, 1);
        free(image);
    } else {
        st = clnn__atomic_write(path, l.chunks, l.lengths, l.count);
    }
    layout_free(&l);
    return st;
}

clnn_status clnn__st_image(const clnn__st_entry *entries, size_t count,
                           const char *const *meta_keys, const char *const *meta_values,
                           size_t meta_count, uint8_t **image, size_t *len)
{
    layout l;
    clnn_status st = layout_build(entries, count, meta_keys, meta_values, meta_count, &l);
    if (st == CLNN_OK)
        st = layout_join(&l, image, len);
    layout_free(&l);
    return st;
}
