/* .npz: a ZIP archive of .npy members. The central directory at the end
 * (found through the end-of-central-directory record, or its ZIP64 form)
 * is the authority on names, sizes and offsets; each member's local header
 * must agree with it on the name, and its data must inflate to the size
 * and CRC-32 it lists. */
#include "io/gunzip.h"
#include "io/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EOCD_SIG 0x06054b50u
#define EOCD64_SIG 0x06064b50u
#define LOCATOR_SIG 0x07064b50u
#define CENTRAL_SIG 0x02014b50u
#define LOCAL_SIG 0x04034b50u
#define EOCD_SIZE 22
#define CENTRAL_SIZE 46
#define LOCAL_SIZE 30
/* The most deflate can expand its input (1032:1), so that a member cannot
 * declare more than its compressed bytes can hold. */
#define DEFLATE_RATIO 1032

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

typedef struct directory {
    uint64_t offset, size, entries;
} directory;

static clnn_status bad(const char *what, const char *msg)
{
    return clnn__fail(CLNN_ERR_BAD_FILE, "%s: not a valid .npz (ZIP) archive: %s", what, msg);
}

static clnn_status find_directory(const uint8_t *b, size_t len, const char *what, directory *d)
{
    if (len < EOCD_SIZE)
        return bad(what, "too short for the end of its central directory");
    size_t lowest = len - EOCD_SIZE > 0xFFFF ? len - EOCD_SIZE - 0xFFFF : 0;
    size_t at = len - EOCD_SIZE + 1;
    bool found = false;
    while (at-- > lowest) {
        if (le(b + at, 4) == EOCD_SIG && at + EOCD_SIZE + le(b + at + 20, 2) == len) {
            found = true;
            break;
        }
    }
    if (!found)
        return bad(what, "no end-of-central-directory record");
    const uint8_t *e = b + at;
    if (le(e + 4, 2) != 0 || le(e + 6, 2) != 0)
        return bad(what, "archives split over several disks are not supported");
    d->entries = le(e + 10, 2);
    d->size = le(e + 12, 4);
    d->offset = le(e + 16, 4);
    if (d->entries == 0xFFFF || d->size == 0xFFFFFFFF || d->offset == 0xFFFFFFFF) {
        if (at < 20 || le(b + at - 20, 4) != LOCATOR_SIG)
            return bad(what, "a ZIP64 archive without its ZIP64 locator");
        uint64_t z = le(b + at - 20 + 8, 8);
        if (z > at - 20 || at - 20 - z < 56 || le(b + z, 4) != EOCD64_SIG)
            return bad(what, "the ZIP64 end record is missing or misplaced");
        d->entries = le(b + z + 32, 8);
        d->size = le(b + z + 40, 8);
        d->offset = le(b + z + 48, 8);
        at = (size_t)z;
    }
    if (d->offset > at || d->size > at - d->offset)
        return bad(what, "the central directory lies outside the file");
    return CLNN_OK;
}

typedef struct member {
    const uint8_t *name;
    size_t name_len;
    unsigned flags, method;
    uint32_t crc;
    uint64_t csize, usize, offset;
} member;

/* The ZIP64 extra field overrides the sizes and offset marked 0xFFFFFFFF. */
static clnn_status zip64_extra(const uint8_t *x, size_t n, const char *what, member *m)
{
    while (n >= 4) {
        size_t id = (size_t)le(x, 2), sz = (size_t)le(x + 2, 2);
        if (sz > n - 4)
            return bad(what, "an extra field runs past its entry");
        if (id == 1) {
            const uint8_t *p = x + 4;
            size_t left = sz;
            uint64_t *fields[3] = {&m->usize, &m->csize, &m->offset};
            for (int i = 0; i < 3; i++) {
                if (*fields[i] != 0xFFFFFFFF)
                    continue;
                if (left < 8)
                    return bad(what, "a ZIP64 extra field is too short");
                *fields[i] = le(p, 8);
                p += 8;
                left -= 8;
            }
        }
        x += 4 + sz;
        n -= 4 + sz;
    }
    return CLNN_OK;
}

static clnn_status read_member(const uint8_t *b, size_t len, const char *what, size_t *at,
                               size_t end, member *m)
{
    const uint8_t *e = b + *at;
    if (end - *at < CENTRAL_SIZE || le(e, 4) != CENTRAL_SIG)
        return bad(what, "a central directory entry is malformed");
    size_t n = (size_t)le(e + 28, 2), x = (size_t)le(e + 30, 2), k = (size_t)le(e + 32, 2);
    if (n + x + k > end - *at - CENTRAL_SIZE)
        return bad(what, "a central directory entry runs past the directory");
    *m = (member){.name = e + CENTRAL_SIZE, .name_len = n, .flags = (unsigned)le(e + 8, 2),
                  .method = (unsigned)le(e + 10, 2), .crc = (uint32_t)le(e + 16, 4),
                  .csize = le(e + 20, 4), .usize = le(e + 24, 4), .offset = le(e + 42, 4)};
    clnn_status st = zip64_extra(e + CENTRAL_SIZE + n, x, what, m);
    (void)len;
    *at += CENTRAL_SIZE + n + x + k;
    return st;
}

static void list_name(char *names, size_t cap, const member *m)
{
    size_t used = strlen(names);
    if (used + 1 >= cap)
        return;
    size_t n = m->name_len;
    /* "x.npy" lists as x, as np.load names it. */
    if (n > 4 && memcmp(m->name + n - 4, ".npy", 4) == 0)
        n -= 4;
    snprintf(names + used, cap - used, "%s%.*s", used ? ", " : "", (int)n, (const char *)m->name);
}

static clnn_status extract(const uint8_t *b, size_t len, const char *what, const member *m,
                           uint8_t **out, size_t *out_len)
{
    char where[320];
    snprintf(where, sizeof where, "%s, member '%.*s'", what, (int)m->name_len,
             (const char *)m->name);
    if (m->flags & 1)
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s is encrypted; clnn reads plain archives", where);
    if (m->method != 0 && m->method != 8)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s uses compression method %u; only stored (0) and deflated (8) "
                          "members, as np.savez and np.savez_compressed write, are supported",
                          where, m->method);
    if (m->offset > len || len - m->offset < LOCAL_SIZE || le(b + m->offset, 4) != LOCAL_SIG)
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s: its local header is missing", where);
    const uint8_t *h = b + m->offset;
    size_t n = (size_t)le(h + 26, 2), x = (size_t)le(h + 28, 2);
    size_t data = (size_t)m->offset + LOCAL_SIZE + n + x;
    if (data > len || n != m->name_len || memcmp(h + LOCAL_SIZE, m->name, n) != 0)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: its local header does not match the central directory", where);
    if (m->csize > len - data)
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s: its %llu compressed bytes run past the file",
                          where, (unsigned long long)m->csize);
    if (m->method == 0 ? m->usize != m->csize
                       : m->usize > (m->csize + 1) * DEFLATE_RATIO || m->usize > SIZE_MAX - 1)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s declares %llu bytes, which %llu %s bytes cannot hold", where,
                          (unsigned long long)m->usize, (unsigned long long)m->csize,
                          m->method == 0 ? "stored" : "deflated");
    size_t usize = (size_t)m->usize;
    uint8_t *buf = clnn__malloc(usize ? usize : 1);
    if (!buf)
        return CLNN_ERR_OUT_OF_MEMORY;
    clnn_status st = CLNN_OK;
    if (m->method == 0)
        memcpy(buf, b + data, usize);
    else
        st = clnn__inflate_raw(b + data, (size_t)m->csize, buf, usize, where);
    if (st == CLNN_OK && clnn__crc32(buf, usize) != m->crc)
        st = clnn__fail(CLNN_ERR_BAD_FILE, "%s: CRC-32 mismatch: the member is damaged", where);
    if (st != CLNN_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *out_len = usize;
    return CLNN_OK;
}

clnn_status clnn__npz_member(const uint8_t *bytes, size_t len, const char *what, const char *name,
                             uint8_t **out, size_t *out_len, bool *found, char *names, size_t cap)
{
    *out = NULL;
    *out_len = 0;
    *found = false;
    if (cap)
        names[0] = '\0';
    directory d = {0, 0, 0};
    clnn_status st = find_directory(bytes, len, what, &d);
    if (st != CLNN_OK)
        return st;
    size_t at = (size_t)d.offset, end = (size_t)(d.offset + d.size);
    member want = {0};
    for (uint64_t i = 0; i < d.entries; i++) {
        member m;
        if ((st = read_member(bytes, len, what, &at, end, &m)) != CLNN_OK)
            return st;
        if (cap)
            list_name(names, cap, &m);
        if (m.name_len == strlen(name) && memcmp(m.name, name, m.name_len) == 0) {
            if (*found)
                return clnn__fail(CLNN_ERR_BAD_FILE, "%s: member '%s' appears twice", what,
                                  name);
            *found = true;
            want = m;
        }
    }
    if (at != end)
        return bad(what, "the central directory holds more than its entries");
    if (!*found)
        return CLNN_OK;
    st = extract(bytes, len, what, &want, out, out_len);
    if (st != CLNN_OK)
        *found = false;
    return st;
}
