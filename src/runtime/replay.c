/* A profiling context remembers the last launch of each (scope, kernel), so
 * that a benchmark can run that kernel again alone, on warm caches, as the
 * copy probe runs its copy: the kernel's own speed, apart from what the
 * kernels around it in a step do to the caches. Launch arguments are kept by
 * value; the buffers among them belong to networks, which forget every
 * record (clnn__replay_forget) before they free or regrow a buffer. */
#include "runtime/runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Every kernel argument is a buffer, a scalar or a local-memory size. */
#define MAX_ARGS 40
#define MAX_ARG_BYTES 8
#define MAX_REPS 64

struct clnn__replay {
    const char *scope, *kernel; /* interned, as in the profile table */
    cl_kernel k;
    cl_uint dims;
    size_t global[3], local[3];
    bool has_local;
    size_t nargs;
    size_t size[MAX_ARGS];
    bool local_mem[MAX_ARGS];
    unsigned char value[MAX_ARGS][MAX_ARG_BYTES];
};

void clnn__replay_record(clnn_context *ctx, const char *kernel_name, cl_kernel k, cl_uint dims,
                         const size_t *global, const size_t *local, const clnn__arg *args,
                         size_t nargs)
{
    const char *scope = clnn__profile_intern(ctx, ctx->profile_scope ? ctx->profile_scope
                                                                     : "other");
    const char *name = clnn__profile_intern(ctx, kernel_name);
    clnn__replay *r = NULL;
    for (size_t i = 0; i < ctx->nreplays && !r; i++)
        if (ctx->replays[i].scope == scope && ctx->replays[i].kernel == name)
            r = &ctx->replays[i];
    bool keepable = scope && name && nargs <= MAX_ARGS && dims <= 3;
    for (size_t i = 0; i < nargs && keepable; i++)
        keepable = !args[i].value || args[i].size <= MAX_ARG_BYTES;
    if (!keepable) {
        /* No record, and none of an earlier launch either: replaying that
         * one would not be this launch. */
        if (r)
            *r = ctx->replays[--ctx->nreplays];
        return;
    }
    if (!r) {
        if (ctx->nreplays == ctx->replays_cap) {
            size_t cap = ctx->replays_cap ? 2 * ctx->replays_cap : 32;
            clnn__replay *p = realloc(ctx->replays, cap * sizeof *p);
            if (!p)
                return; /* a benchmark aid: without memory there is just no replay */
            ctx->replays = p;
            ctx->replays_cap = cap;
        }
        r = &ctx->replays[ctx->nreplays++];
    }
    *r = (clnn__replay){.scope = scope, .kernel = name, .k = k, .dims = dims,
                        .has_local = local != NULL, .nargs = nargs};
    for (cl_uint d = 0; d < dims; d++) {
        r->global[d] = global[d];
        r->local[d] = local ? local[d] : 0;
    }
    for (size_t i = 0; i < nargs; i++) {
        r->size[i] = args[i].size;
        r->local_mem[i] = args[i].value == NULL;
        if (args[i].value)
            memcpy(r->value[i], args[i].value, args[i].size);
    }
}

void clnn__replay_forget(clnn_context *ctx)
{
    if (ctx)
        ctx->nreplays = 0;
}

void clnn__replay_release(clnn_context *ctx)
{
    free(ctx->replays);
    ctx->replays = NULL;
    ctx->nreplays = ctx->replays_cap = 0;
}

clnn_status clnn_context_profile_replay(clnn_context *ctx, size_t index, unsigned reps,
                                        double *best_ms)
{
    clnn__clear_error();
    const char *call = "clnn_context_profile_replay";
    if (!ctx || !best_ms || reps == 0)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: NULL argument or no repetitions", call);
    CLNN__ENTER(ctx, call);
    const clnn_profile_entry *entry;
    clnn_status st = clnn__profile_read_entry(ctx, index, call, &entry);
    if (st != CLNN_OK)
        return st;
    const clnn__replay *r = NULL;
    for (size_t i = 0; i < ctx->nreplays && !r; i++)
        if (ctx->replays[i].scope == entry->scope && ctx->replays[i].kernel == entry->kernel)
            r = &ctx->replays[i];
    if (!r)
        return clnn__fail(CLNN_ERR_STATE,
                          "no launch of '%s' in '%s' to run again: it is a transfer, or the "
                          "network's buffers were freed or regrown since; profile a step first",
                          entry->kernel, entry->scope);
    /* Alone: what the step queued has finished first. */
    st = clnn__finish(ctx);
    for (size_t i = 0; i < r->nargs && st == CLNN_OK; i++)
        st = clnn__cl_check(clSetKernelArg(r->k, (cl_uint)i, r->size[i],
                                           r->local_mem[i] ? NULL : r->value[i]),
                            "setting a replayed kernel's argument");
    if (st != CLNN_OK)
        return st;
    if (reps > MAX_REPS)
        reps = MAX_REPS;
    cl_event events[MAX_REPS];
    unsigned queued = 0;
    cl_int err = CL_SUCCESS;
    while (queued < reps && err == CL_SUCCESS) {
        err = clnn__fault_hit("clEnqueueNDRangeKernel")
                  ? CL_OUT_OF_RESOURCES
                  : clEnqueueNDRangeKernel(ctx->queue, r->k, r->dims, NULL, r->global,
                                           r->has_local ? r->local : NULL, 0, NULL,
                                           &events[queued]);
        if (err == CL_SUCCESS)
            clnn__live_add(CLNN__LIVE_EVENT, 1), queued++;
    }
    st = clnn__cl_check(err, "launching a replayed kernel");
    if (st == CLNN_OK)
        st = clnn__finish(ctx);
    double best = INFINITY;
    for (unsigned i = 0; i < queued; i++) {
        cl_ulong t0 = 0, t1 = 0;
        if (st == CLNN_OK &&
            clGetEventProfilingInfo(events[i], CL_PROFILING_COMMAND_START, sizeof t0, &t0,
                                    NULL) == CL_SUCCESS &&
            clGetEventProfilingInfo(events[i], CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) ==
                CL_SUCCESS &&
            t1 > t0)
            best = fmin(best, (double)(t1 - t0) * 1e-6);
        clnn__event_release(&events[i]);
    }
    if (st == CLNN_OK && !isfinite(best))
        st = clnn__fail(CLNN_ERR_OPENCL, "the device reported no usable times for replayed "
                                         "kernel %s",
                        r->kernel);
    if (st == CLNN_OK)
        *best_ms = best;
    return st;
}
