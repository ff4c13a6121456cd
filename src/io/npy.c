/* .npy: "\x93NUMPY", a version, a header length, a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (150, 4), } padded with
 * spaces to a newline, then the raw elements. The header is read as the
 * narrow literal grammar NumPy writes, never evaluated. */
#include "io/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* NumPy caps headers of version 1.0 at 64 KiB; later versions could be
 * larger, but no numeric array needs more than a few hundred bytes. */
#define HEADER_MAX ((size_t)1 << 20)

typedef struct cursor {
    const char *p, *end;
    const char *what;
    const char *start;
} cursor;

static clnn_status bad(const cursor *c, const char *fmt, const char *detail)
{
    char msg[160];
    snprintf(msg, sizeof msg, fmt, detail);
    return clnn__fail(CLNN_ERR_BAD_FILE, "%s: .npy header, character %zu: %s", c->what,
                      (size_t)(c->p - c->start) + 1, msg);
}

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool take(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A Python string literal without escapes, into buf. */
static clnn_status string_literal(cursor *c, char *buf, size_t cap)
{
    skip_space(c);
    if (c->p == c->end || (*c->p != '\'' && *c->p != '"'))
        return bad(c, "expected a quoted string%s", "");
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || (unsigned char)*c->p < 0x20 || (unsigned char)*c->p >= 0x7F)
            return bad(c, "unexpected character in a string%s", "");
        if (n + 1 >= cap)
            return bad(c, "string longer than expected%s", "");
        buf[n++] = *c->p++;
    }
    if (c->p == c->end)
        return bad(c, "unterminated string%s", "");
    c->p++;
    buf[n] = '\0';
    return CLNN_OK;
}

static clnn_status shape_literal(cursor *c, clnn__npy *a)
{
    if (!take(c, '('))
        return bad(c, "'shape' must be a tuple such as (150, 4)%s", "");
    a->ndim = 0;
    bool comma = false; /* after the last dimension */
    for (;;) {
        if (take(c, ')'))
            break;
        skip_space(c);
        if (c->p == c->end || *c->p < '0' || *c->p > '9')
            return bad(c, "expected a dimension (a non-negative integer) or ')'%s", "");
        if (a->ndim == CLNN__NPY_MAX_DIMS)
            return bad(c, "more dimensions than the %s supported", "8");
        uint64_t v = 0;
        for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
            if (v > (UINT64_MAX - 9) / 10)
                return bad(c, "dimension too large%s", "");
            v = v * 10 + (uint64_t)(*c->p - '0');
        }
        if (v > SIZE_MAX)
            return bad(c, "dimension too large%s", "");
        a->shape[a->ndim++] = (size_t)v;
        comma = take(c, ',');
        if (!comma) {
            if (take(c, ')'))
                break;
            return bad(c, "expected ',' or ')' in the shape%s", "");
        }
    }
    /* A 1-tuple needs its comma: "(3,)"; "(3)" is just 3 in Python. */
    if (a->ndim == 1 && !comma)
        return bad(c, "a 1-D shape is written (N,), with a comma%s", "");
    return CLNN_OK;
}

static clnn_status descr_literal(cursor *c, clnn__npy *a)
{
    skip_space(c);
    if (c->p < c->end && *c->p == '[')
        return bad(c, "structured arrays (a list as 'descr') are not supported; save a plain "
                      "numeric array%s",
                   "");
    clnn_status st = string_literal(c, a->descr, sizeof a->descr);
    if (st != CLNN_OK)
        return st;
    const char *d = a->descr;
    if (d[0] != '<' && d[0] != '>' && d[0] != '|')
        return bad(c, "dtype '%s' has no byte order ('<', '>' or '|')", d);
    a->big_endian = d[0] == '>';
    a->kind = d[1];
    if (a->kind == 'O')
        return bad(c, "dtype '%s' holds Python objects (pickled), which clnn never loads; save "
                      "a numeric array",
                   d);
    if (a->kind != 'f' && a->kind != 'i' && a->kind != 'u' && a->kind != 'b')
        return bad(c, "dtype '%s' is not supported; use float32, float64 or an integer type", d);
    char *end = NULL;
    unsigned long size = d[2] >= '0' && d[2] <= '9' ? strtoul(d + 2, &end, 10) : 0;
    bool ok = end && *end == '\0';
    if (a->kind == 'f')
        ok = ok && (size == 4 || size == 8);
    else if (a->kind == 'b')
        ok = ok && size == 1;
    else
        ok = ok && (size == 1 || size == 2 || size == 4 || size == 8);
    if (!ok)
        return bad(c, "dtype '%s' is not supported; use float32, float64 or an integer type", d);
    if (d[0] == '|' && size != 1)
        return bad(c, "dtype '%s' of several bytes needs '<' or '>'", d);
    a->itemsize = size;
    return CLNN_OK;
}

static clnn_status dict(cursor *c, clnn__npy *a)
{
    if (!take(c, '{'))
        return bad(c, "the header must be a dict, starting with '{'%s", "");
    bool seen[3] = {false, false, false};
    static const char *const keys[3] = {"descr", "fortran_order", "shape"};
    for (;;) {
        if (take(c, '}'))
            break;
        char key[32];
        clnn_status st = string_literal(c, key, sizeof key);
        if (st != CLNN_OK)
            return st;
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (strcmp(key, keys[i]) == 0)
                k = i;
        if (k < 0)
            return bad(c, "unexpected key '%s' (an .npy header has descr, fortran_order and "
                          "shape)",
                       key);
        if (seen[k])
            return bad(c, "key '%s' appears twice", key);
        seen[k] = true;
        if (!take(c, ':'))
            return bad(c, "expected ':' after '%s'", key);
        if (k == 0) {
            st = descr_literal(c, a);
        } else if (k == 1) {
            skip_space(c);
            size_t left = (size_t)(c->end - c->p);
            if (left >= 4 && memcmp(c->p, "True", 4) == 0)
                a->fortran = true, c->p += 4;
            else if (left >= 5 && memcmp(c->p, "False", 5) == 0)
                a->fortran = false, c->p += 5;
            else
                st = bad(c, "'fortran_order' must be True or False%s", "");
        } else {
            st = shape_literal(c, a);
        }
        if (st != CLNN_OK)
            return st;
        if (take(c, '}'))
            break;
        if (!take(c, ','))
            return bad(c, "expected ',' or '}' after the value of '%s'", key);
    }
    for (int i = 0; i < 3; i++)
        if (!seen[i])
            return bad(c, "the header has no '%s'", keys[i]);
    skip_space(c);
    if (c->p != c->end)
        return bad(c, "text after the header's closing '}'%s", "");
    return CLNN_OK;
}

clnn_status clnn__npy_parse(const uint8_t *bytes, size_t len, const char *what, clnn__npy *out)
{
    memset(out, 0, sizeof *out);
    if (len < 10 || memcmp(bytes, "\x93NUMPY", 6) != 0)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: not an .npy file: it does not start with \\x93NUMPY%s", what,
                          len < 10 ? " (too short)" : "");
    unsigned major = bytes[6], minor = bytes[7];
    if (major < 1 || major > 3 || minor != 0)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: .npy format version %u.%u is not supported (1.0, 2.0 and 3.0 are)",
                          what, major, minor);
    size_t start = major == 1 ? 10 : 12;
    if (len < start)
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s: the .npy preamble is truncated", what);
    size_t hlen = (size_t)bytes[8] | (size_t)bytes[9] << 8;
    if (major > 1)
        hlen |= (size_t)bytes[10] << 16 | (size_t)bytes[11] << 24;
    if (hlen > HEADER_MAX || hlen > len - start)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: the .npy header length %zu runs past the end of the %zu-byte file "
                          "(truncated?)",
                          what, hlen, len);
    cursor c = {(const char *)bytes + start, (const char *)bytes + start + hlen, what,
                (const char *)bytes + start};
    if (hlen == 0 || c.end[-1] != '\n')
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s: the .npy header does not end with a newline",
                          what);
    clnn_status st = dict(&c, out);
    if (st != CLNN_OK)
        return st;
    size_t count = 1;
    for (size_t i = 0; i < out->ndim; i++) {
        if (out->shape[i] && count > SIZE_MAX / out->shape[i])
            return clnn__fail(CLNN_ERR_BAD_FILE, "%s: the .npy shape overflows the element count",
                              what);
        count *= out->shape[i];
    }
    if (count > SIZE_MAX / out->itemsize)
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s: the .npy shape overflows the element count",
                          what);
    size_t need = count * out->itemsize, have = len - start - hlen;
    if (have != need)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: the .npy header declares %zu bytes of data but the file holds %zu "
                          "(%s)",
                          what, need, have, have < need ? "truncated?" : "trailing bytes");
    out->count = count;
    out->data = bytes + start + hlen;
    return CLNN_OK;
}

double clnn__npy_get(const clnn__npy *a, size_t i)
{
    uint8_t b[8];
    const uint8_t *p = a->data + i * a->itemsize;
    /* Little-endian order in b, whatever the file's. */
    for (size_t k = 0; k < a->itemsize; k++)
        b[k] = a->big_endian ? p[a->itemsize - 1 - k] : p[k];
    uint64_t u = 0;
    for (size_t k = a->itemsize; k-- > 0;)
        u = u << 8 | b[k];
    if (a->kind == 'f') {
        if (a->itemsize == 4) {
            uint32_t u32 = (uint32_t)u;
            float f;
            memcpy(&f, &u32, sizeof f);
            return f;
        }
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    if (a->kind == 'u' || a->kind == 'b')
        return (double)u;
    /* Sign-extend from itemsize bytes. */
    unsigned bits = (unsigned)a->itemsize * 8;
    if (bits < 64 && (u >> (bits - 1)) & 1)
        u |= ~(uint64_t)0 << bits;
    int64_t s;
    memcpy(&s, &u, sizeof s);
    return (double)s;
}

size_t clnn__npy_index2(const clnn__npy *a, size_t r, size_t c)
{
    return a->fortran ? c * a->shape[0] + r : r * a->shape[1] + c;
}
