/* safetensors reader. Files may come from anywhere, so the header is checked
 * as strictly as the format allows and every rejection names the tensor and
 * the field at fault. */
#include "io/safetensors.h"
#include "io/st_checksum.h"

#include "base/platform.h"
#include "io/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reference implementation's limit; larger headers are hostile. */
#define MAX_HEADER_BYTES 100000000u
/* JSON readers elsewhere hold numbers as doubles; larger integers would not
 * survive a round trip through them. */
#define MAX_JSON_INT (UINT64_C(1) << 53)

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [CLNN__ST_BOOL] = {"BOOL", 1}, [CLNN__ST_U8] = {"U8", 1},     [CLNN__ST_I8] = {"I8", 1},
    [CLNN__ST_I16] = {"I16", 2},   [CLNN__ST_U16] = {"U16", 2},   [CLNN__ST_F16] = {"F16", 2},
    [CLNN__ST_BF16] = {"BF16", 2}, [CLNN__ST_I32] = {"I32", 4},   [CLNN__ST_U32] = {"U32", 4},
    [CLNN__ST_F32] = {"F32", 4},   [CLNN__ST_F64] = {"F64", 8},   [CLNN__ST_I64] = {"I64", 8},
    [CLNN__ST_U64] = {"U64", 8},
};

const char *clnn__st_dtype_name(clnn__st_dtype dtype)
{
    if ((size_t)dtype >= CLNN__ARRAY_LEN(dtypes))
        return "?";
    return dtypes[dtype].name;
}

size_t clnn__st_dtype_size(clnn__st_dtype dtype)
{
    if ((size_t)dtype >= CLNN__ARRAY_LEN(dtypes))
        return 0;
    return dtypes[dtype].size;
}

/* Tensor bookkeeping while validating: offsets stay 64-bit until checked. */
typedef struct entry {
    const char *name;
    uint64_t begin, end;
    size_t index; /* position in the header, to keep sorting deterministic */
} entry;

static clnn_status bad(const char *fmt, ...) CLNN__PRINTF(1, 2);
static clnn_status bad(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return clnn__fail(CLNN_ERR_BAD_FILE, "%s", msg);
}

/* A value as a message shows it: numbers and literals as written, strings
 * quoted (cut short), containers by kind. */
static const char *show(const clnn__json *v, char *buf, size_t cap)
{
    if (v->kind == CLNN__JSON_STRING) {
        snprintf(buf, cap, "\"%.40s%s\"", v->str, v->len > 40 ? "..." : "");
        return buf;
    }
    return v->str ? v->str : clnn__json_kind_name(v->kind);
}

/* "[256, 784]" for messages; long shapes are cut short. */
static void format_dims(const clnn__json *arr, char *buf, size_t cap)
{
    size_t n = 0;
    n += (size_t)snprintf(buf, cap, "[");
    for (size_t i = 0; i < arr->count && n < cap; i++) {
        char item[64];
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "",
                              show(&arr->items[i], item, sizeof item));
    }
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorting finds repeated names in O(n log n); headers may list millions. */
static clnn_status find_duplicate(const char **names, size_t count, const char **dup)
{
    *dup = NULL;
    if (count < 2)
        return CLNN_OK;
    const char **sorted = clnn__malloc(count * sizeof *sorted);
    if (!sorted)
        return CLNN_ERR_OUT_OF_MEMORY;
    memcpy(sorted, names, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, by_string);
    for (size_t i = 1; i < count && !*dup; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0)
            *dup = sorted[i];
    free(sorted);
    return CLNN_OK;
}

static clnn_status check_name(const char *what, const char *s, size_t len)
{
    if (strlen(s) != len)
        return bad("%s '%s' contains a NUL character (\\u0000), which is not supported", what, s);
    return CLNN_OK;
}

static clnn_status parse_metadata(const clnn__json *meta, clnn__st_file *out)
{
    if (meta->kind != CLNN__JSON_OBJECT)
        return bad("__metadata__ must be an object of strings, not %s",
                   clnn__json_kind_name(meta->kind));
    out->meta_keys = clnn__calloc(meta->count, sizeof *out->meta_keys);
    out->meta_values = clnn__calloc(meta->count, sizeof *out->meta_values);
    if (!out->meta_keys || !out->meta_values)
        return CLNN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < meta->count; i++) {
        const char *key = meta->keys[i];
        const clnn__json *v = &meta->items[i];
        clnn_status st = check_name("__metadata__ key", key, meta->key_lens[i]);
        if (st != CLNN_OK)
            return st;
        if (v->kind != CLNN__JSON_STRING)
            return bad("__metadata__ value of '%s' must be a string, not %s%s%s%s", key,
                       clnn__json_kind_name(v->kind), v->str ? " (" : "", v->str ? v->str : "",
                       v->str ? ")" : "");
        if (strlen(v->str) != v->len)
            return bad("__metadata__ value of '%s' contains a NUL character (\\u0000), which is "
                       "not supported",
                       key);
        out->meta_keys[i] = clnn__strdup(key);
        out->meta_values[i] = clnn__strdup(v->str);
        out->meta_count = i + 1;
        if (!out->meta_keys[i] || !out->meta_values[i])
            return CLNN_ERR_OUT_OF_MEMORY;
    }
    const char *dup;
    clnn_status st = find_duplicate((const char **)out->meta_keys, out->meta_count, &dup);
    if (st == CLNN_OK && dup)
        st = bad("__metadata__ key '%s' appears more than once", dup);
    return st;
}

static clnn_status parse_dtype(const char *name, const clnn__json *v, clnn__st_dtype *dtype)
{
    if (v->kind != CLNN__JSON_STRING)
        return bad("tensor '%s': dtype must be a string, not %s", name,
                   clnn__json_kind_name(v->kind));
    for (size_t d = 0; d < CLNN__ARRAY_LEN(dtypes); d++) {
        if (strcmp(v->str, dtypes[d].name) == 0 && strlen(v->str) == v->len) {
            *dtype = (clnn__st_dtype)d;
            return CLNN_OK;
        }
    }
    return bad("tensor '%s': dtype '%s' is not supported (supported: BOOL, U8, I8, I16, U16, F16, "
               "BF16, I32, U32, F32, F64, I64, U64)",
               name, v->str);
}

static clnn_status parse_shape(const char *name, const clnn__json *v, clnn__st_tensor *t)
{
    char dims[160];
    if (v->kind != CLNN__JSON_ARRAY)
        return bad("tensor '%s': shape must be an array, not %s", name,
                   clnn__json_kind_name(v->kind));
    format_dims(v, dims, sizeof dims);
    if (v->count > CLNN__ST_MAX_DIMS)
        return bad("tensor '%s': shape %s has %zu dimensions; at most %d are supported", name, dims,
                   v->count, CLNN__ST_MAX_DIMS);
    int zero = 0;
    for (size_t i = 0; i < v->count; i++) {
        const clnn__json *d = &v->items[i];
        char text[64];
        if (d->kind != CLNN__JSON_UINT || d->uint > MAX_JSON_INT)
            return bad("tensor '%s': shape %s: dimension %zu (%s) is not an integer in [0, 2^53]",
                       name, dims, i, show(d, text, sizeof text));
        t->shape[i] = (size_t)d->uint;
        zero |= d->uint == 0;
    }
    t->ndim = v->count;
    /* A zero dimension makes the tensor empty whatever the others are. */
    uint64_t numel = 1;
    for (size_t i = 0; i < t->ndim && !zero; i++) {
        if (t->shape[i] && numel > SIZE_MAX / t->shape[i])
            return bad("tensor '%s': shape %s overflows the element count", name, dims);
        numel *= t->shape[i];
    }
    t->numel = zero ? 0 : (size_t)numel;
    size_t size = dtypes[t->dtype].size;
    if (t->numel > SIZE_MAX / size)
        return bad("tensor '%s': shape %s overflows the byte count for dtype %s", name, dims,
                   dtypes[t->dtype].name);
    t->nbytes = t->numel * size;
    return CLNN_OK;
}

static clnn_status parse_offsets(const char *name, const clnn__json *v, entry *e)
{
    char text[160];
    if (v->kind != CLNN__JSON_ARRAY)
        return bad("tensor '%s': data_offsets must be an array, not %s", name,
                   clnn__json_kind_name(v->kind));
    format_dims(v, text, sizeof text);
    if (v->count != 2)
        return bad("tensor '%s': data_offsets %s must have exactly 2 entries [begin, end]", name,
                   text);
    for (size_t i = 0; i < 2; i++) {
        const clnn__json *d = &v->items[i];
        char item[64];
        if (d->kind != CLNN__JSON_UINT || d->uint > MAX_JSON_INT)
            return bad("tensor '%s': data_offsets %s: %s is not an integer in [0, 2^53]", name,
                       text, show(d, item, sizeof item));
    }
    e->begin = v->items[0].uint;
    e->end = v->items[1].uint;
    if (e->end < e->begin)
        return bad("tensor '%s': data_offsets %s end before they begin", name, text);
    return CLNN_OK;
}

/* One "name": {"dtype": ..., "shape": [...], "data_offsets": [b, e]} entry. */
static clnn_status parse_tensor(const char *name, const clnn__json *v, clnn__st_tensor *t,
                                entry *e)
{
    static const char *const fields[] = {"dtype", "shape", "data_offsets"};
    const clnn__json *found[3] = {NULL, NULL, NULL};
    if (v->kind != CLNN__JSON_OBJECT)
        return bad("tensor '%s' must be an object with dtype, shape and data_offsets, not %s",
                   name, clnn__json_kind_name(v->kind));
    for (size_t i = 0; i < v->count; i++) {
        size_t f = 0;
        while (f < 3 && (v->key_lens[i] != strlen(fields[f]) || strcmp(v->keys[i], fields[f])))
            f++;
        if (f == 3)
            return bad("tensor '%s': unexpected field '%s' (only dtype, shape and data_offsets "
                       "are allowed)",
                       name, v->keys[i]);
        if (found[f])
            return bad("tensor '%s': field '%s' appears more than once", name, fields[f]);
        found[f] = &v->items[i];
    }
    for (size_t f = 0; f < 3; f++)
        if (!found[f])
            return bad("tensor '%s': missing field '%s'", name, fields[f]);

    clnn_status st = parse_dtype(name, found[0], &t->dtype);
    if (st == CLNN_OK)
        st = parse_shape(name, found[1], t);
    if (st == CLNN_OK)
        st = parse_offsets(name, found[2], e);
    if (st != CLNN_OK)
        return st;
    if (e->end - e->begin != t->nbytes) {
        char dims[160];
        format_dims(found[1], dims, sizeof dims);
        return bad("tensor '%s': shape %s of %s needs %zu bytes but data_offsets [%" PRIu64
                   ", %" PRIu64 "] span %" PRIu64,
                   name, dims, dtypes[t->dtype].name, t->nbytes, e->begin, e->end,
                   e->end - e->begin);
    }
    return CLNN_OK;
}

static int by_offset(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static clnn_status check_unique(const entry *entries, size_t count)
{
    const char **names = clnn__malloc((count ? count : 1) * sizeof *names);
    if (!names)
        return CLNN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < count; i++)
        names[i] = entries[i].name;
    const char *dup;
    clnn_status st = find_duplicate(names, count, &dup);
    if (st == CLNN_OK && dup)
        st = bad("tensor name '%s' appears more than once", dup);
    free(names);
    return st;
}

/* The data section must be exactly the tensors, back to back, in some
 * order: no holes, no overlaps, nothing after the last one. */
static clnn_status check_layout(entry *entries, size_t count, uint64_t data_len)
{
    for (size_t i = 0; i < count; i++)
        if (entries[i].end > data_len)
            return bad("tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                       "] run past the end of the %" PRIu64 "-byte data section (file truncated?)",
                       entries[i].name, entries[i].begin, entries[i].end, data_len);
    qsort(entries, count, sizeof *entries, by_offset);
    uint64_t expect = 0;
    for (size_t i = 0; i < count; i++) {
        const entry *e = &entries[i];
        if (e->begin < expect)
            return bad("tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                       "] overlap tensor '%s' [%" PRIu64 ", %" PRIu64 "]",
                       e->name, e->begin, e->end, entries[i - 1].name, entries[i - 1].begin,
                       entries[i - 1].end);
        if (e->begin > expect) {
            if (i == 0)
                return bad("tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                           "] leave a hole: the first tensor must start at 0",
                           e->name, e->begin, e->end);
            return bad("tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                       "] leave a hole of %" PRIu64 " bytes after tensor '%s' (which ends at "
                       "%" PRIu64 ")",
                       e->name, e->begin, e->end, e->begin - expect, entries[i - 1].name, expect);
        }
        expect = e->end;
    }
    if (expect != data_len)
        return bad("the data section has %" PRIu64 " bytes but the tensors cover only %" PRIu64
                   " (%" PRIu64 " unexplained trailing bytes)",
                   data_len, expect, data_len - expect);
    return CLNN_OK;
}

static clnn_status parse_header(const clnn__json *root, uint64_t data_len, clnn__st_file *out)
{
    if (root->kind != CLNN__JSON_OBJECT)
        return bad("header must be a JSON object, not %s", clnn__json_kind_name(root->kind));
    size_t ntensors = 0, meta_at = SIZE_MAX;
    for (size_t i = 0; i < root->count; i++) {
        if (strcmp(root->keys[i], "__metadata__") == 0 && root->key_lens[i] == 12) {
            if (meta_at != SIZE_MAX)
                return bad("__metadata__ appears more than once");
            meta_at = i;
        } else {
            ntensors++;
        }
    }
    if (meta_at != SIZE_MAX) {
        clnn_status st = parse_metadata(&root->items[meta_at], out);
        if (st != CLNN_OK)
            return st;
    }

    entry *entries = clnn__calloc(ntensors, sizeof *entries);
    clnn__st_tensor *parsed = clnn__calloc(ntensors, sizeof *parsed);
    out->tensors = clnn__calloc(ntensors, sizeof *out->tensors);
    clnn_status st = entries && parsed && out->tensors ? CLNN_OK : CLNN_ERR_OUT_OF_MEMORY;
    size_t n = 0;
    for (size_t i = 0; i < root->count && st == CLNN_OK; i++) {
        if (i == meta_at)
            continue;
        entries[n].name = root->keys[i];
        entries[n].index = n;
        st = check_name("tensor name", root->keys[i], root->key_lens[i]);
        if (st == CLNN_OK)
            st = parse_tensor(root->keys[i], &root->items[i], &parsed[n], &entries[n]);
        n++;
    }
    if (st == CLNN_OK)
        st = check_unique(entries, ntensors);
    if (st == CLNN_OK)
        st = check_layout(entries, ntensors, data_len);
    const uint8_t *data = out->buffer + (out->buffer_len - data_len);
    for (size_t i = 0; i < ntensors && st == CLNN_OK; i++) {
        clnn__st_tensor *t = &out->tensors[i];
        *t = parsed[entries[i].index];
        t->name = clnn__strdup(entries[i].name);
        t->data = data + entries[i].begin;
        out->count = i + 1;
        if (!t->name)
            st = CLNN_ERR_OUT_OF_MEMORY;
    }
    free(entries);
    free(parsed);
    return st;
}

/* Validate a whole file image that out->buffer already owns. */
static clnn_status parse_owned(clnn__st_file *out)
{
    const uint8_t *b = out->buffer;
    size_t len = out->buffer_len;
    if (len < 8)
        return bad("file is %zu bytes, too short for the 8-byte header length (truncated?)", len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | b[i];
    if (n > MAX_HEADER_BYTES)
        return bad("header length %" PRIu64 " exceeds the limit of %u bytes", n, MAX_HEADER_BYTES);
    if (n > len - 8)
        return bad("header length %" PRIu64 " exceeds the %zu bytes after the length field "
                   "(truncated?)",
                   n, len - 8);
    if (n == 0 || b[8] != '{')
        return bad("header must start with '{'");

    clnn__json root;
    clnn_status st = clnn__json_parse((const char *)b + 8, (size_t)n, &root);
    if (st != CLNN_OK)
        return clnn__fail_context(st, "header");
    st = parse_header(&root, len - 8 - n, out);
    clnn__json_free(&root);
    return st;
}

static clnn_status parse_into(uint8_t *owned, size_t len, clnn__st_file *out)
{
    memset(out, 0, sizeof *out);
    out->buffer = owned;
    out->buffer_len = len;
    clnn_status st = parse_owned(out);
    if (st == CLNN_OK) {
        uint64_t header_len = 0;
        for (int i = 7; i >= 0; i--)
            header_len = header_len << 8 | owned[i];
        st = clnn__st_checksum_verify(owned, len, 8 + (size_t)header_len,
                                      clnn__st_meta(out, CLNN__ST_CHECKSUM_KEY),
                                      clnn__st_meta(out, CLNN__ST_WRITER_KEY) != NULL);
    }
    if (st != CLNN_OK)
        clnn__st_free(out);
    return st;
}

clnn_status clnn__st_parse(const uint8_t *bytes, size_t len, clnn__st_file *out)
{
    memset(out, 0, sizeof *out);
    if (!bytes && len)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "safetensors: bytes is NULL");
    uint8_t *copy = clnn__malloc(len);
    if (!copy)
        return CLNN_ERR_OUT_OF_MEMORY;
    if (len)
        memcpy(copy, bytes, len);
    return parse_into(copy, len, out);
}

clnn_status clnn__st_read(const char *path, clnn__st_file *out)
{
    memset(out, 0, sizeof *out);
    uint8_t *data = NULL;
    size_t len = 0;
    clnn_status st = clnn__read_file(path, &data, &len);
    if (st != CLNN_OK)
        return st;
    st = parse_into(data, len, out);
    if (st == CLNN_ERR_BAD_FILE)
        return clnn__fail_context(st, "'%s' is not a valid safetensors file", path);
    return st;
}

void clnn__st_free(clnn__st_file *file)
{
    if (!file)
        return;
    for (size_t i = 0; i < file->count; i++)
        free(file->tensors[i].name);
    free(file->tensors);
    for (size_t i = 0; i < file->meta_count; i++) {
        free(file->meta_keys[i]);
        free(file->meta_values[i]);
    }
    free(file->meta_keys);
    free(file->meta_values);
    free(file->buffer);
    memset(file, 0, sizeof *file);
}

const clnn__st_tensor *clnn__st_find(const clnn__st_file *file, const char *name)
{
    for (size_t i = 0; i < file->count; i++)
        if (strcmp(file->tensors[i].name, name) == 0)
            return &file->tensors[i];
    return NULL;
}

const char *clnn__st_meta(const clnn__st_file *file, const char *key)
{
    for (size_t i = 0; i < file->meta_count; i++)
        if (strcmp(file->meta_keys[i], key) == 0)
            return file->meta_values[i];
    return NULL;
}
