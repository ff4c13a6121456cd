/* Per-kernel device times from OpenCL profiling events, summed per
 * (scope, kernel) so that a benchmark can show where a training step goes. */
#include "runtime/runtime.h"

#include <stdlib.h>
#include <string.h>

/* Sum pending events every so often so their number stays bounded. */
#define PENDING_LIMIT 4096

void clnn__profile_scope(clnn_context *ctx, const char *scope)
{
    ctx->profile_scope = scope;
}

void clnn__profile_work(clnn_context *ctx, double flops, double bytes)
{
    ctx->work_flops = flops;
    ctx->work_bytes = bytes;
}

cl_event *clnn__profile_event(clnn_context *ctx, cl_event *slot)
{
    return ctx->profiling ? slot : NULL;
}

static clnn_profile_entry *entry_for(clnn_context *ctx, const char *scope, const char *kernel)
{
    for (size_t i = 0; i < ctx->nprofile; i++) {
        clnn_profile_entry *e = &ctx->profile[i];
        if (e->scope == scope && e->kernel == kernel)
            return e;
    }
    if (ctx->nprofile == ctx->profile_cap) {
        size_t cap = ctx->profile_cap ? ctx->profile_cap * 2 : 64;
        clnn_profile_entry *p = realloc(ctx->profile, cap * sizeof *p);
        if (!p)
            return NULL;
        ctx->profile = p;
        ctx->profile_cap = cap;
    }
    clnn_profile_entry *e = &ctx->profile[ctx->nprofile++];
    *e = (clnn_profile_entry){.struct_size = sizeof *e, .scope = scope, .kernel = kernel};
    return e;
}

/* Wait for the pending events and add their times to the table. */
static clnn_status drain(clnn_context *ctx)
{
    clnn_status st = CLNN_OK;
    if (ctx->npending)
        st = clnn__finish(ctx);
    /* The queue is in order, so each command's gap is from the end of the
     * one before; the first after a wait has none to count (the device was
     * idle because the host waited). */
    cl_ulong prev_end = 0;
    for (size_t i = 0; i < ctx->npending; i++) {
        clnn__pending_event *p = &ctx->pending[i];
        cl_ulong t0 = 0, t1 = 0;
        if (st == CLNN_OK &&
            clGetEventProfilingInfo(p->event, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) ==
                CL_SUCCESS &&
            clGetEventProfilingInfo(p->event, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) ==
                CL_SUCCESS) {
            clnn_profile_entry *e = entry_for(ctx, p->scope, p->kernel);
            if (e) {
                double ms = (double)(t1 - t0) * 1e-6;
                e->min_ms = e->launches == 0 || ms < e->min_ms ? ms : e->min_ms;
                e->launches++;
                e->total_ms += ms;
                e->flops += p->flops;
                e->bytes += p->bytes;
                if (prev_end && t0 > prev_end)
                    e->gap_ms += (double)(t0 - prev_end) * 1e-6;
            }
            prev_end = t1;
        } else {
            prev_end = 0;
        }
        clnn__event_release(&p->event);
    }
    ctx->npending = 0;
    return st;
}

/* Scope and kernel names are copied once (they may belong to a network that
 * is freed before the table is read) and compared by pointer afterwards. */
const char *clnn__profile_intern(clnn_context *ctx, const char *s)
{
    for (size_t i = 0; i < ctx->nprofile_strings; i++)
        if (strcmp(ctx->profile_strings[i], s) == 0)
            return ctx->profile_strings[i];
    char *copy = clnn__strdup(s);
    char **list = realloc(ctx->profile_strings, (ctx->nprofile_strings + 1) * sizeof *list);
    if (!copy || !list) {
        free(copy);
        if (list)
            ctx->profile_strings = list;
        return NULL;
    }
    ctx->profile_strings = list;
    list[ctx->nprofile_strings++] = copy;
    return copy;
}

void clnn__profile_add(clnn_context *ctx, const char *kernel, cl_event event)
{
    double flops = ctx->work_flops, bytes = ctx->work_bytes;
    ctx->work_flops = ctx->work_bytes = 0;
    if (!event)
        return;
    if (ctx->npending == PENDING_LIMIT)
        drain(ctx);
    if (ctx->npending == ctx->pending_cap) {
        size_t cap = ctx->pending_cap ? ctx->pending_cap * 2 : 256;
        clnn__pending_event *p = realloc(ctx->pending, cap * sizeof *p);
        if (!p) {
            clnn__event_release(&event);
            return;
        }
        ctx->pending = p;
        ctx->pending_cap = cap;
    }
    const char *scope =
        clnn__profile_intern(ctx, ctx->profile_scope ? ctx->profile_scope : "other");
    const char *name = clnn__profile_intern(ctx, kernel);
    if (!scope || !name) {
        clnn__event_release(&event);
        return;
    }
    ctx->pending[ctx->npending++] =
        (clnn__pending_event){.scope = scope, .kernel = name, .event = event, .flops = flops,
                              .bytes = bytes};
}

static clnn_status check_profiling(const clnn_context *ctx)
{
    if (!ctx->profiling)
        return clnn__fail(CLNN_ERR_STATE, "profiling is off: create the context with "
                                          "options.profiling = true");
    return CLNN_OK;
}

clnn_status clnn_context_profile_read(clnn_context *ctx, size_t *count)
{
    clnn__clear_error();
    if (!ctx || !count)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_profile_read: NULL argument");
    CLNN__ENTER(ctx, "clnn_context_profile_read");
    clnn_status st = check_profiling(ctx);
    if (st != CLNN_OK)
        return st;
    st = drain(ctx);
    if (ctx->nprofile > ctx->profile_read_cap) {
        clnn_profile_entry *p = realloc(ctx->profile_read, ctx->nprofile * sizeof *p);
        if (!p)
            return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of host memory for the profile table");
        ctx->profile_read = p;
        ctx->profile_read_cap = ctx->nprofile;
    }
    if (ctx->nprofile)
        memcpy(ctx->profile_read, ctx->profile, ctx->nprofile * sizeof *ctx->profile);
    ctx->nprofile_read = ctx->nprofile;
    *count = ctx->nprofile;
    return st;
}

clnn_status clnn__profile_read_entry(const clnn_context *ctx, size_t index, const char *call,
                                     const clnn_profile_entry **out)
{
    clnn_status st = check_profiling(ctx);
    if (st == CLNN_OK && index >= ctx->nprofile_read)
        st = clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                        "%s: index %zu is out of range: the last clnn_context_profile_read gave "
                        "%zu entries (none after clnn_context_profile_reset)",
                        call, index, ctx->nprofile_read);
    *out = st == CLNN_OK ? &ctx->profile_read[index] : NULL;
    return st;
}

clnn_status clnn_context_profile_entry(clnn_context *ctx, size_t index, clnn_profile_entry *entry)
{
    clnn__clear_error();
    const char *call = "clnn_context_profile_entry";
    if (!ctx || !entry)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: NULL argument", call);
    clnn_status st = CLNN__STRUCT_OUT_CHECK(clnn_profile_entry, entry, call);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(ctx, call);
    const clnn_profile_entry *e;
    st = clnn__profile_read_entry(ctx, index, call, &e);
    if (st == CLNN_OK)
        CLNN__STRUCT_OUT(clnn_profile_entry, entry, e);
    return st;
}

void clnn_context_profile_reset(clnn_context *ctx)
{
    if (!ctx)
        return;
    drain(ctx);
    ctx->nprofile = ctx->nprofile_read = 0;
    clnn__replay_forget(ctx);
}

void clnn__profile_release(clnn_context *ctx)
{
    for (size_t i = 0; i < ctx->npending; i++)
        clnn__event_release(&ctx->pending[i].event);
    free(ctx->pending);
    free(ctx->profile);
    free(ctx->profile_read);
    for (size_t i = 0; i < ctx->nprofile_strings; i++)
        free(ctx->profile_strings[i]);
    free(ctx->profile_strings);
    ctx->pending = NULL;
    ctx->profile = ctx->profile_read = NULL;
    ctx->profile_strings = NULL;
    ctx->npending = ctx->nprofile = ctx->nprofile_read = ctx->nprofile_strings = 0;
    ctx->pending_cap = ctx->profile_cap = ctx->profile_read_cap = 0;
}
