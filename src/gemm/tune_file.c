/* Tuning files: one JSON file per device under <cache>/tuning, named by a
 * hash of its key and repeating the key inside, so that a file of another
 * device, driver, clnn version or GEMM kernel source (a hash collision, a
 * driver update, a copied cache folder) is recognised and ignored rather
 * than applied. The format is described in README.md ("Tuning"). */
#include "gemm/tune.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/platform.h"
#include "io/json.h"
#include "runtime/kernel_sources.h"
#include "runtime/program_cache.h"

#define FORMAT_NAME "clnn-tuning"
#define FORMAT_VERSION 1

/* ------------------------------------------------------------------ key */

enum { KEY_PLATFORM, KEY_DEVICE, KEY_VENDOR, KEY_DRIVER, KEY_DEVICE_VERSION, KEY_CLNN,
       KEY_KERNELS, KEY_COUNT };
static const char *const key_names[KEY_COUNT] = {
    "platform", "device", "vendor", "driver", "device_version", "clnn", "gemm_kernels"};

typedef struct tuning_key {
    char value[KEY_COUNT][256];
} tuning_key;

/* A device string in full: clnn_device_info's fixed fields come back empty
 * when the driver's string is longer (PoCL's device version is 65 bytes),
 * and an empty field would not tell drivers apart. The info field is the
 * fallback. */
static void device_string(const clnn_context *ctx, cl_device_info what, const char *fallback,
                          char *buf, size_t cap)
{
    char full[1024];
    if (clGetDeviceInfo(ctx->device, what, sizeof full, full, NULL) == CL_SUCCESS) {
        full[sizeof full - 1] = '\0';
        clnn__copy_string(buf, cap, full);
    } else {
        snprintf(buf, cap, "%s", fallback);
    }
}

/* The own kernels' source is part of the key: parameters tuned for one
 * version of kernels/gemm.cl say nothing about another. */
static clnn_status make_key(const clnn_context *ctx, tuning_key *k)
{
    const char *text;
    size_t len;
    char *owned;
    clnn_status st = clnn__kernel_source_get("gemm", &text, &len, &owned);
    if (st != CLNN_OK)
        return st;
    uint64_t h = clnn__fnv1a(CLNN__FNV1A_BASIS, text, len);
    free(owned);
    const clnn_device_info *d = &ctx->info;
    snprintf(k->value[KEY_PLATFORM], sizeof k->value[0], "%s", d->platform);
    device_string(ctx, CL_DEVICE_NAME, d->name, k->value[KEY_DEVICE], sizeof k->value[0]);
    device_string(ctx, CL_DEVICE_VENDOR, d->vendor, k->value[KEY_VENDOR], sizeof k->value[0]);
    device_string(ctx, CL_DRIVER_VERSION, d->driver_version, k->value[KEY_DRIVER],
                  sizeof k->value[0]);
    device_string(ctx, CL_DEVICE_VERSION, d->device_version, k->value[KEY_DEVICE_VERSION],
                  sizeof k->value[0]);
    snprintf(k->value[KEY_CLNN], sizeof k->value[0], "%s", clnn_version());
    snprintf(k->value[KEY_KERNELS], sizeof k->value[0], "fnv1a64:%016llx", (unsigned long long)h);
    return CLNN_OK;
}

clnn_status clnn__tuning_path(const clnn_context *ctx, bool create_dir, char *buf, size_t cap)
{
    tuning_key k;
    clnn_status st = make_key(ctx, &k);
    if (st != CLNN_OK)
        return st;
    uint64_t h = CLNN__FNV1A_BASIS;
    for (int i = 0; i < KEY_COUNT; i++)
        h = clnn__fnv1a(h, k.value[i], strlen(k.value[i]) + 1); /* the NUL separates fields */
    char dir[4000];
    st = clnn__cache_dir(ctx, "tuning", create_dir, dir, sizeof dir);
    if (st != CLNN_OK)
        return st;
    int n = snprintf(buf, cap, "%s" CLNN__PATH_SEP "%016llx.json", dir, (unsigned long long)h);
    if (n < 0 || (size_t)n >= cap)
        return clnn__fail(CLNN_ERR_SHAPE,
                          "the tuning file's path needs %d bytes with its terminator, but the "
                          "buffer (cap) holds %zu",
                          n + 1, cap);
    return CLNN_OK;
}

/* ---------------------------------------------------------- own params */

typedef struct own_field {
    const char *name;
    size_t offset;
    int min, max;
} own_field;

/* Bounds are what kernels/gemm.cl and gemm_own.c accept; a file outside them
 * was not written by clnn and is rejected as a whole. */
static const own_field own_fields[] = {
    {"rm", offsetof(clnn__gemm_own_params, rm), 1, 32},
    {"vw", offsetof(clnn__gemm_own_params, vw), 2, 16},
    {"nv", offsetof(clnn__gemm_own_params, nv), 1, 8},
    {"dm", offsetof(clnn__gemm_own_params, dm), 1, 16},
    {"dn", offsetof(clnn__gemm_own_params, dn), 1, 16},
    {"dvw", offsetof(clnn__gemm_own_params, dvw), 2, 16},
    {"outer_grid", offsetof(clnn__gemm_own_params, outer_grid), CLNN__GRID_N, CLNN__GRID_M},
    {"dot_grid", offsetof(clnn__gemm_own_params, dot_grid), CLNN__GRID_N, CLNN__GRID_M},
    {"local0", offsetof(clnn__gemm_own_params, local0), 0, 4096},
    {"min_groups", offsetof(clnn__gemm_own_params, min_groups), 0, 1024},
};

static int *own_field_ptr(clnn__gemm_own_params *p, const own_field *f)
{
    return (int *)((char *)p + f->offset);
}

static int own_field_get(const clnn__gemm_own_params *p, const own_field *f)
{
    return *(const int *)((const char *)p + f->offset);
}

void clnn__own_params_describe(const clnn__gemm_args *g, const clnn__gemm_own_params *p,
                               char *buf, size_t cap)
{
    const char *kernel = clnn__gemm_own_kernel_for(g, p);
    char local[32];
    if (p->local0)
        snprintf(local, sizeof local, "local %d/%d", p->local0, p->min_groups);
    else
        snprintf(local, sizeof local, "local auto");
    if (strcmp(kernel, "gemm_outer") == 0)
        snprintf(buf, cap, "outer %dx%dx%d grid %c %s", p->rm, p->vw, p->nv,
                 p->outer_grid == CLNN__GRID_M ? 'M' : 'N', local);
    else if (strcmp(kernel, "gemm_dot") == 0)
        snprintf(buf, cap, "dot %dx%d dvw %d grid %c %s", p->dm, p->dn, p->dvw,
                 p->dot_grid == CLNN__GRID_M ? 'M' : 'N', local);
    else
        snprintf(buf, cap, "general %s", local);
}

/* --------------------------------------------------------------- writing */

/* A growing text buffer; on allocation failure it stops growing and
 * remembers, and the writer reports it once at the end. */
typedef struct text {
    char *s;
    size_t len, cap;
    bool failed;
} text;

static void put(text *t, const char *fmt, ...) CLNN__PRINTF(2, 3);
static void put(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = t->s ? vsnprintf(t->s + t->len, room, fmt, ap) : -1;
        va_end(ap);
        if (t->s && n >= 0 && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        if (t->failed)
            return;
        size_t want = (t->cap ? t->cap * 2 : 4096) + (n > 0 ? (size_t)n : 0);
        char *s = realloc(t->s, want);
        if (!s) {
            t->failed = true;
            return;
        }
        t->s = s;
        t->cap = want;
    }
}

static void put_string(text *t, const char *s)
{
    size_t n = clnn__json_escape(s, strlen(s), NULL);
    char *esc = malloc(n + 1);
    if (!esc) {
        t->failed = true;
        return;
    }
    clnn__json_escape(s, strlen(s), esc);
    esc[n] = '\0';
    put(t, "\"%s\"", esc);
    free(esc);
}

static void put_own(text *t, const clnn__gemm_own_params *p)
{
    put(t, "{");
    for (size_t i = 0; i < CLNN__ARRAY_LEN(own_fields); i++)
        put(t, "%s\"%s\": %d", i ? ", " : "", own_fields[i].name, own_field_get(p, &own_fields[i]));
    put(t, "}");
}

static void put_params(text *t, const char *const *names, const size_t *values, size_t n)
{
    put(t, "{");
    for (size_t i = 0; i < n; i++)
        put(t, "%s\"%s\": %zu", i ? ", " : "", names[i], values[i]);
    put(t, "}");
}

static const char *backend_word(clnn_gemm_backend b)
{
    return b == CLNN_GEMM_CLBLAST ? "clblast" : "own";
}

clnn_status clnn__tuning_write(const clnn_context *ctx, const char *path, const clnn__tuning *tn)
{
    tuning_key k;
    clnn_status st = make_key(ctx, &k);
    if (st != CLNN_OK)
        return st;
    text t = {0};
    put(&t, "{\n  \"format\": \"%s\",\n  \"format_version\": %d,\n  \"key\": {", FORMAT_NAME,
        FORMAT_VERSION);
    for (int i = 0; i < KEY_COUNT; i++) {
        put(&t, "%s\n    \"%s\": ", i ? "," : "", key_names[i]);
        put_string(&t, k.value[i]);
    }
    put(&t, "\n  },\n  \"search\": \"%s\",\n", tn->quick ? "quick" : "full");
    put(&t, "  \"default\": {\"backend\": \"%s\", \"own\": ", backend_word(tn->default_backend));
    put_own(&t, &tn->default_own);
    put(&t, "},\n  \"clblast\": ");
    if (tn->clblast.overridden) {
        put(&t, "{\n    \"XgemmDirect\": ");
        put_params(&t, clnn__clb_direct_names, tn->clblast.direct, CLNN__CLB_DIRECT_N);
        put(&t, ",\n    \"Xgemm\": ");
        put_params(&t, clnn__clb_xgemm_names, tn->clblast.xgemm, CLNN__CLB_XGEMM_N);
        put(&t, ",\n    \"GemmRoutine\": {\"%s\": %zu}\n  }", CLNN__CLB_THRESHOLD_NAME,
            tn->clblast.min_indirect);
    } else {
        put(&t, "null");
    }
    put(&t, ",\n  \"shapes\": [");
    for (size_t i = 0; i < tn->count; i++) {
        const clnn__tune_entry *e = &tn->entries[i];
        put(&t, "%s\n    {\"trans_a\": %s, \"trans_b\": %s, \"m\": %zu, \"n\": %zu, \"k\": %zu, "
                "\"backend\": \"%s\", ",
            i ? "," : "", e->trans_a ? "true" : "false", e->trans_b ? "true" : "false", e->m, e->n,
            e->k, backend_word(e->backend));
        if (e->backend == CLNN_GEMM_OWN) {
            put(&t, "\"own\": ");
            put_own(&t, &e->own);
            put(&t, ", ");
        }
        put(&t, "\"us\": %.3f, \"default_us\": %.3f}", e->us, e->default_us);
    }
    put(&t, "\n  ]\n}\n");
    if (t.failed) {
        free(t.s);
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of host memory writing a tuning file");
    }
    const void *chunks[] = {t.s};
    size_t lengths[] = {t.len};
    st = clnn__atomic_write(path, chunks, lengths, 1);
    free(t.s);
    return st;
}

/* --------------------------------------------------------------- reading */

static const clnn__json *member(const clnn__json *obj, const char *key)
{
    if (!obj || obj->kind != CLNN__JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], key) == 0 && strlen(key) == obj->key_lens[i])
            return &obj->items[i];
    return NULL;
}

static clnn_status bad(const char *path, const char *what)
{
    return clnn__fail(CLNN_ERR_BAD_FILE, "tuning file '%s': %s", path, what);
}

static bool get_uint(const clnn__json *obj, const char *key, uint64_t max, uint64_t *out)
{
    const clnn__json *v = member(obj, key);
    if (!v || v->kind != CLNN__JSON_UINT || v->uint > max)
        return false;
    *out = v->uint;
    return true;
}

static bool get_bool(const clnn__json *obj, const char *key, bool *out)
{
    const clnn__json *v = member(obj, key);
    if (!v || v->kind != CLNN__JSON_LITERAL || strcmp(v->str, "null") == 0)
        return false;
    *out = strcmp(v->str, "true") == 0;
    return true;
}

/* Times are informative; a missing or odd one reads as 0. */
static double get_real(const clnn__json *obj, const char *key)
{
    const clnn__json *v = member(obj, key);
    if (v && v->kind == CLNN__JSON_UINT)
        return (double)v->uint;
    if (v && v->kind == CLNN__JSON_NUMBER)
        return strtod(v->str, NULL);
    return 0.0;
}

static bool get_backend(const clnn__json *obj, const char *key, clnn_gemm_backend *out)
{
    const clnn__json *v = member(obj, key);
    if (!v || v->kind != CLNN__JSON_STRING)
        return false;
    if (strcmp(v->str, "own") == 0)
        *out = CLNN_GEMM_OWN;
    else if (strcmp(v->str, "clblast") == 0)
        *out = CLNN_GEMM_CLBLAST;
    else
        return false;
    return true;
}

/* Fields absent from the file keep the device's defaults. */
static bool get_own(const clnn__json *v, const clnn__gemm_own_params *defaults,
                    clnn__gemm_own_params *out)
{
    if (!v || v->kind != CLNN__JSON_OBJECT)
        return false;
    *out = *defaults;
    for (size_t i = 0; i < CLNN__ARRAY_LEN(own_fields); i++) {
        const own_field *f = &own_fields[i];
        const clnn__json *x = member(v, f->name);
        if (!x)
            continue;
        if (x->kind != CLNN__JSON_UINT || x->uint < (uint64_t)f->min || x->uint > (uint64_t)f->max)
            return false;
        *own_field_ptr(out, f) = (int)x->uint;
    }
    return true;
}

static bool get_params(const clnn__json *v, const char *const *names, size_t *values, size_t n)
{
    if (!v || v->kind != CLNN__JSON_OBJECT)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint64_t x;
        if (!get_uint(v, names[i], 1u << 20, &x))
            return false;
        values[i] = (size_t)x;
    }
    return true;
}

static clnn_status parse(const clnn_context *ctx, const char *path, const clnn__json *root,
                         clnn__tuning *t, bool *matches)
{
    const clnn__json *v = member(root, "format");
    uint64_t version;
    if (!v || v->kind != CLNN__JSON_STRING || strcmp(v->str, FORMAT_NAME) != 0)
        return bad(path, "not a clnn tuning file (\"format\" is not \"" FORMAT_NAME "\")");
    if (!get_uint(root, "format_version", UINT32_MAX, &version) || version != FORMAT_VERSION)
        return bad(path, "unsupported \"format_version\"");
    const clnn__json *key = member(root, "key");
    if (!key || key->kind != CLNN__JSON_OBJECT)
        return bad(path, "no \"key\" object");
    tuning_key want;
    clnn_status st = make_key(ctx, &want);
    if (st != CLNN_OK)
        return st;
    *matches = true;
    for (int i = 0; i < KEY_COUNT; i++) {
        const clnn__json *f = member(key, key_names[i]);
        if (!f || f->kind != CLNN__JSON_STRING)
            return bad(path, "a \"key\" field is missing");
        if (strcmp(f->str, want.value[i]) != 0 || f->len != strlen(f->str)) {
            clnn__log(CLNN_LOG_DEBUG, "tuning file %s is for %s '%s', not '%s': ignored", path,
                      key_names[i], f->str, want.value[i]);
            *matches = false;
        }
    }
    if (!*matches)
        return CLNN_OK;

    clnn__tuning n;
    clnn__tuning_init(ctx, &n);
    const clnn__json *search = member(root, "search");
    n.quick = search && search->kind == CLNN__JSON_STRING && strcmp(search->str, "quick") == 0;
    const clnn__json *def = member(root, "default");
    if (!get_backend(def, "backend", &n.default_backend) ||
        !get_own(member(def, "own"), &n.default_own, &n.default_own))
        return bad(path, "\"default\" needs a \"backend\" (own or clblast) and \"own\" parameters");
    const clnn__json *clb = member(root, "clblast");
    if (clb && clb->kind == CLNN__JSON_OBJECT) {
        uint64_t thr;
        n.clblast.overridden = true;
        if (!get_params(member(clb, "XgemmDirect"), clnn__clb_direct_names, n.clblast.direct,
                        CLNN__CLB_DIRECT_N) ||
            !get_params(member(clb, "Xgemm"), clnn__clb_xgemm_names, n.clblast.xgemm,
                        CLNN__CLB_XGEMM_N) ||
            !get_uint(member(clb, "GemmRoutine"), CLNN__CLB_THRESHOLD_NAME, 1u << 20, &thr))
            return bad(path, "\"clblast\" needs every parameter of XgemmDirect, Xgemm and "
                             "GemmRoutine");
        n.clblast.min_indirect = (size_t)thr;
    } else if (!clb || clb->kind != CLNN__JSON_LITERAL || strcmp(clb->str, "null") != 0) {
        return bad(path, "\"clblast\" must be an object or null");
    }
    const clnn__json *shapes = member(root, "shapes");
    if (!shapes || shapes->kind != CLNN__JSON_ARRAY)
        return bad(path, "no \"shapes\" array");
    st = CLNN_OK;
    for (size_t i = 0; i < shapes->count && st == CLNN_OK; i++) {
        const clnn__json *s = &shapes->items[i];
        clnn__tune_entry e = {.own = n.default_own};
        uint64_t m, nn, k;
        if (!get_bool(s, "trans_a", &e.trans_a) || !get_bool(s, "trans_b", &e.trans_b) ||
            !get_uint(s, "m", INT32_MAX, &m) || !get_uint(s, "n", INT32_MAX, &nn) ||
            !get_uint(s, "k", INT32_MAX, &k) || !get_backend(s, "backend", &e.backend) ||
            (e.backend == CLNN_GEMM_OWN && !get_own(member(s, "own"), &n.default_own, &e.own))) {
            char what[96];
            snprintf(what, sizeof what, "shape %zu lacks a field or has one out of range", i);
            st = bad(path, what);
            break;
        }
        e.m = (size_t)m;
        e.n = (size_t)nn;
        e.k = (size_t)k;
        e.us = get_real(s, "us");
        e.default_us = get_real(s, "default_us");
        st = clnn__tuning_put(&n, &e);
    }
    if (st != CLNN_OK) {
        clnn__tuning_free(&n);
        return st;
    }
    clnn__tuning_free(t);
    *t = n;
    return CLNN_OK;
}

clnn_status clnn__tuning_read(const clnn_context *ctx, const char *path, clnn__tuning *t,
                              bool *matches)
{
    *matches = false;
    uint8_t *data;
    size_t len;
    clnn_status st = clnn__read_file(path, &data, &len);
    if (st != CLNN_OK)
        return st;
    clnn__json root;
    st = clnn__json_parse((const char *)data, len, &root);
    free(data);
    if (st != CLNN_OK)
        return clnn__fail_context(st, "tuning file '%s'", path);
    if (root.kind != CLNN__JSON_OBJECT)
        st = bad(path, "the top level is not an object");
    else
        st = parse(ctx, path, &root, t, matches);
    clnn__json_free(&root);
    return st;
}
