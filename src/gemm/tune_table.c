/* The per-context tuning table: loaded from the device's tuning file when a
 * context is created, consulted by clnn__gemm for every call. */
#include "gemm/tune.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void clnn__tuning_init(const clnn_context *ctx, clnn__tuning *t)
{
    memset(t, 0, sizeof *t);
    t->default_backend = ctx->gemm;
    clnn__gemm_own_default_params(ctx, &t->default_own);
}

void clnn__tuning_free(clnn__tuning *t)
{
    free(t->entries);
    t->entries = NULL;
    t->count = t->cap = 0;
}

/* A linear scan: a network has a handful of distinct shapes per batch size,
 * and this runs once per GEMM launch, next to a ~5 µs enqueue. */
const clnn__tune_entry *clnn__tuning_find(const clnn__tuning *t, bool ta, bool tb, size_t m,
                                          size_t n, size_t k)
{
    for (size_t i = 0; i < t->count; i++) {
        const clnn__tune_entry *e = &t->entries[i];
        if (e->m == m && e->n == n && e->k == k && e->trans_a == ta && e->trans_b == tb)
            return e;
    }
    return NULL;
}

clnn_status clnn__tuning_put(clnn__tuning *t, const clnn__tune_entry *e)
{
    clnn__tune_entry *old =
        (clnn__tune_entry *)clnn__tuning_find(t, e->trans_a, e->trans_b, e->m, e->n, e->k);
    if (old) {
        *old = *e;
        return CLNN_OK;
    }
    if (t->count == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        clnn__tune_entry *p = realloc(t->entries, cap * sizeof *p);
        if (!p)
            return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of host memory for the tuning table");
        t->entries = p;
        t->cap = cap;
    }
    t->entries[t->count++] = *e;
    return CLNN_OK;
}

clnn__gemm_state *clnn__gemm_state_get(clnn_context *ctx)
{
    if (!ctx->gemm_state) {
        clnn__gemm_state *s = clnn__calloc(1, sizeof *s);
        if (!s)
            return NULL;
        clnn__tuning_init(ctx, &s->table);
        s->generation = 1;
        ctx->gemm_state = s;
        /* gemm_clblast.c installs its own hook once CLBlast runs; that hook
         * releases this state too. */
        if (!ctx->before_free)
            ctx->before_free = clnn__gemm_state_release;
    }
    return ctx->gemm_state;
}

void clnn__gemm_state_release(clnn_context *ctx)
{
    clnn__gemm_state *s = ctx->gemm_state;
    if (!s)
        return;
    clnn__tuning_free(&s->table);
    free(s->results);
    free(s);
    ctx->gemm_state = NULL;
}

bool clnn__tuning_enabled(const clnn_context *ctx)
{
    return !ctx->gemm_explicit && !ctx->tuning_off;
}

static bool uses_clblast(const clnn__tuning *t)
{
    bool used = t->default_backend == CLNN_GEMM_CLBLAST;
    for (size_t i = 0; i < t->count; i++)
        used |= t->entries[i].backend == CLNN_GEMM_CLBLAST;
    return used;
}

/* A missing file is the normal untuned case; an unreadable or malformed one
 * is only worth a warning: the context works untuned, and the next tune
 * replaces the file. */
clnn_status clnn__gemm_context_init(clnn_context *ctx)
{
    if (ctx->gemm == CLNN_GEMM_CLBLAST) {
        clnn_status st = clnn__gemm_clblast_available();
        if (st != CLNN_OK)
            return st;
    }
    if (!clnn__tuning_enabled(ctx))
        return CLNN_OK;
    char path[4096];
    if (clnn__tuning_path(ctx, false, path, sizeof path) != CLNN_OK) {
        clnn__log(CLNN_LOG_DEBUG, "no tuning file: %s", clnn_last_error());
        clnn__clear_error();
        return CLNN_OK;
    }
    clnn__tuning t;
    clnn__tuning_init(ctx, &t);
    bool matches = false;
    clnn_status st = clnn__tuning_read(ctx, path, &t, &matches);
    if (st == CLNN_ERR_IO && errno == ENOENT) {
        clnn__log(CLNN_LOG_DEBUG, "no tuning file %s: GEMMs untuned", path);
    } else if (st != CLNN_OK) {
        clnn__log(CLNN_LOG_WARN, "ignoring the tuning file: %s", clnn_last_error());
    } else if (matches && uses_clblast(&t) && clnn__gemm_clblast_available() != CLNN_OK) {
        clnn__log(CLNN_LOG_WARN, "ignoring the tuning file %s, which chose CLBlast: %s; tune "
                                 "again to use clnn's own kernels at their best",
                  path, clnn_last_error());
    } else if (matches) {
        clnn__gemm_state *s = clnn__gemm_state_get(ctx);
        if (!s) {
            clnn__tuning_free(&t);
            return CLNN_ERR_OUT_OF_MEMORY;
        }
        clnn__tuning_free(&s->table);
        s->table = t;
        s->active = true;
        s->generation++;
        clnn__log(CLNN_LOG_INFO, "GEMMs tuned by %s (%zu shapes, otherwise %s)", path, t.count,
                  clnn_gemm_backend_name(t.default_backend));
        return CLNN_OK;
    }
    clnn__clear_error();
    clnn__tuning_free(&t);
    return CLNN_OK;
}

clnn_status clnn_context_tuning_file(const clnn_context *ctx, char *path, size_t cap)
{
    clnn__clear_error();
    if (!ctx || !path || cap == 0)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_tuning_file: NULL argument");
    return clnn__tuning_path(ctx, false, path, cap);
}

bool clnn_context_is_tuned(const clnn_context *ctx)
{
    const clnn__gemm_state *s = ctx ? ctx->gemm_state : NULL;
    return s && s->active;
}

bool clnn_context_tuning_enabled(const clnn_context *ctx)
{
    return ctx && clnn__tuning_enabled(ctx);
}
