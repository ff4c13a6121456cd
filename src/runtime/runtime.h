/* The OpenCL runtime: devices, context and queue, program cache, buffers and
 * launches. Every OpenCL call of the library goes through this part. */
#ifndef CLNN_RUNTIME_H
#define CLNN_RUNTIME_H

#include <stdatomic.h>

#include "base/platform.h"
#include "internal.h"
#include "runtime/opencl.h"

typedef struct clnn__program_entry clnn__program_entry;
typedef struct clnn__replay clnn__replay;

typedef struct clnn__pending_event {
    const char *scope, *kernel; /* static or owned by a live network */
    cl_event event;
    double flops, bytes;
} clnn__pending_event;

struct clnn_context {
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue;
    clnn_device_info info;
    clnn_gemm_backend gemm;
    bool gemm_explicit; /* options.gemm or $CLNN_GEMM named it: tuning files do not apply */
    bool tuning_off;    /* options.tuning or $CLNN_TUNING=0: tuning files do not apply */
    bool profiling;
    /* Networks made on the context hold it alive: clnn_context_free marks
     * it released, and whichever of that and the last clnn_net_free comes
     * last frees it (runtime/context.c). */
    atomic_size_t nets;
    atomic_bool released, destroying;
    /* The thread inside a call on the context, or 0 (runtime/guard.c). */
    atomic_uintptr_t holder;
    /* options.log: this context's messages (NULL: the process-wide callback). */
    clnn_log_fn log;
    void *log_user;
    /* options.progress (clnn_context_set_progress) and the programs built. */
    clnn_progress_fn progress;
    void *progress_user;
    uint64_t programs_built;
    /* Called by clnn_context_free before the queue and context go, for
     * parts above the runtime that keep per-context state (CLBlast). */
    void (*before_free)(clnn_context *ctx);
    /* The GEMM part's per-context state (gemm/tune.h: tuning table, last
     * tuning report); freed through before_free. */
    void *gemm_state;
    /* Profiling (options.profiling): events waiting to be summed, and the sums. */
    const char *profile_scope;
    double work_flops, work_bytes;
    clnn__pending_event *pending;
    size_t npending, pending_cap;
    clnn_profile_entry *profile;
    size_t nprofile, profile_cap;
    /* The table as clnn_context_profile_read last gave it, which
     * clnn_context_profile_entry and _replay number. */
    clnn_profile_entry *profile_read;
    size_t nprofile_read, profile_read_cap;
    char **profile_strings;
    size_t nprofile_strings;
    /* Compiled programs keyed by (source name, build options). */
    clnn__mutex programs_lock;
    clnn__program_entry *programs;
    /* Profiling: the last launch of each (scope, kernel), see replay.c. */
    clnn__replay *replays;
    size_t nreplays, replays_cap;
    /* The cache folder given in the context options (NULL: the user's). */
    char *cache_dir;
    /* Whether compiled programs go to the on-disk cache (program_cache.c),
     * decided when the context is made. */
    bool program_cache;
    /* Programs built while set never reach the on-disk cache (a tuner's
     * candidates: storing a binary costs PoCL a compile). */
    bool transient_programs;
};

/* The guard of every public call on a context or its networks
 * (runtime/guard.c): CLNN__ENTER(ctx, "clnn_net_step") as the call's first
 * statement after its argument checks returns CLNN_ERR_STATE when another
 * thread is inside a call on ctx, and leaves the context when the call
 * returns, whichever return it takes (the cleanup attribute of GCC and
 * Clang, which the library requires). */
typedef struct clnn__entry {
    clnn_context *ctx; /* NULL: nothing to give back (nested, or refused) */
    clnn__log_sink before;
} clnn__entry;
clnn_status clnn__enter(clnn_context *ctx, const char *call, clnn__entry *e);
void clnn__exit(clnn__entry *e);
#define CLNN__ENTER(ctx, call)                                                                     \
    __attribute__((cleanup(clnn__exit))) clnn__entry clnn__entry_;                                 \
    do {                                                                                           \
        clnn_status clnn__entered_ = clnn__enter((ctx), (call), &clnn__entry_);                    \
        if (clnn__entered_ != CLNN_OK)                                                             \
            return clnn__entered_;                                                                 \
    } while (0)

/* The runtime's part of clnn_context_create (gemm/context.c): options,
 * device, OpenCL context and queue, program cache; *out NULL on failure. */
clnn_status clnn__context_make(const clnn_context_options *options, clnn_context **out);

/* Report progress to the context's callback: CLNN_ERR_CANCELLED when it
 * asks to stop, else CLNN_OK. */
clnn_status clnn__progress(clnn_context *ctx, const char *what, uint64_t done, uint64_t total);

/* A network made on ctx holds it alive (hold) until it lets go (drop); drop
 * also frees a released context that no network holds any more. */
void clnn__context_hold(clnn_context *ctx);
void clnn__context_drop(clnn_context *ctx);

/* Fault injection (CLNN_FAULT_INJECT=<call>:<n>, see fault.c): true when this
 * call must fail. configure replaces the environment's setting (tests). */
bool clnn__fault_hit(const char *call);
void clnn__fault_configure(const char *spec);
unsigned long long clnn__fault_calls(void); /* calls that could have failed */
const char *clnn__fault_take(void);         /* the call just failed on purpose, once */

/* Live OpenCL objects created by clnn, to prove that nothing leaks. */
typedef enum clnn__live_kind {
    CLNN__LIVE_CONTEXT,
    CLNN__LIVE_QUEUE,
    CLNN__LIVE_PROGRAM,
    CLNN__LIVE_KERNEL,
    CLNN__LIVE_BUFFER,
    CLNN__LIVE_EVENT,
    CLNN__LIVE_KINDS
} clnn__live_kind;
void clnn__live_add(clnn__live_kind kind, long delta);
long clnn__live(clnn__live_kind kind);

/* Wait for and release an event (NULL is a no-op). */
clnn_status clnn__event_wait_release(cl_event *event);
void clnn__event_release(cl_event *event);
clnn_status clnn__finish(clnn_context *ctx);

/* Name of an OpenCL error code ("CL_OUT_OF_RESOURCES"). */
const char *clnn__cl_error_name(cl_int err);
/* Return CLNN_OK for CL_SUCCESS, else record "<what> failed: CL_NAME (code)"
 * with a hint for the codes a user can act on. */
clnn_status clnn__cl_check(cl_int err, const char *what);

/* Enumerate all devices of all platforms in a stable order (found once per
 * process; the caller frees both arrays). */
clnn_status clnn__devices(cl_platform_id **platforms, cl_device_id **devices, size_t *count);
/* The info of any device, its index that of clnn__devices (SIZE_MAX when the
 * platforms do not list it). */
clnn_status clnn__device_describe(cl_device_id device, clnn_device_info *info);

/* A kernel of program `source` (kernels/<source>.cl) built with options; the
 * cache owns it. One thread at a time per context, so sharing is safe. */
clnn_status clnn__kernel(clnn_context *ctx, const char *source, const char *options,
                         const char *kernel_name, cl_kernel *out);

/* A kernel chosen once (program, build options, name) and looked up in the
 * context's programs on its first launch only, then kept: what a plan holds
 * instead of formatting options and searching the cache on every launch.
 * The handle stays valid as long as the context, which owns it. */
typedef struct clnn__kernel_ref {
    const char *source, *name; /* static strings */
    char options[96];
    cl_kernel kernel; /* NULL until the first launch */
} clnn__kernel_ref;
/* options may be NULL; a longer text than the ref holds is an error at
 * the first lookup. */
void clnn__kernel_ref_init(clnn__kernel_ref *r, const char *source, const char *options,
                           const char *name);
clnn_status clnn__kernel_ref_resolve(clnn_context *ctx, clnn__kernel_ref *r);
static inline clnn_status clnn__kernel_ref_get(clnn_context *ctx, clnn__kernel_ref *r,
                                               cl_kernel *out)
{
    if (!r->kernel) {
        clnn_status st = clnn__kernel_ref_resolve(ctx, r);
        if (st != CLNN_OK)
            return st;
    }
    *out = r->kernel;
    return CLNN_OK;
}

/* Release every cached program and kernel (context teardown). */
void clnn__programs_release(clnn_context *ctx);

/* Buffers. */
clnn_status clnn__buffer_create(clnn_context *ctx, size_t bytes, cl_mem *out);
void clnn__buffer_release(cl_mem *buf);
clnn_status clnn__buffer_write(clnn_context *ctx, cl_mem buf, size_t offset, size_t bytes,
                               const void *src, bool blocking, cl_event *event);
clnn_status clnn__buffer_read(clnn_context *ctx, cl_mem buf, size_t offset, size_t bytes,
                              void *dst);
/* rows × cols floats stored ld apart in buf, into dst packed. */
clnn_status clnn__buffer_read_rows(clnn_context *ctx, cl_mem buf, size_t rows, size_t cols,
                                   size_t ld, float *dst);
clnn_status clnn__buffer_zero(clnn_context *ctx, cl_mem buf, size_t offset, size_t bytes);

/* Profiling: the scope names what the next launches belong to; work gives the
 * flops and bytes of the next launch only. Both are no-ops cost-wise when
 * profiling is off. profile_event returns where an enqueue should put its
 * event (NULL when not profiling); profile_add records it. */
void clnn__profile_scope(clnn_context *ctx, const char *scope);
void clnn__profile_work(clnn_context *ctx, double flops, double bytes);
cl_event *clnn__profile_event(clnn_context *ctx, cl_event *slot);
void clnn__profile_add(clnn_context *ctx, const char *kernel, cl_event event);
void clnn__profile_release(clnn_context *ctx);
/* Entry index of the table as clnn_context_profile_read last gave it;
 * CLNN_ERR_STATE when not profiling, CLNN_ERR_INVALID_ARGUMENT out of range
 * (errors name call). */
clnn_status clnn__profile_read_entry(const clnn_context *ctx, size_t index, const char *call,
                                     const clnn_profile_entry **out);
/* One copy of s per context, for the profile table's pointer comparisons
 * (NULL without memory). */
const char *clnn__profile_intern(clnn_context *ctx, const char *s);

/* Kernel arguments given as (size, pointer) pairs. */
typedef struct clnn__arg {
    size_t size;
    const void *value;
} clnn__arg;
#define CLNN__ARG(v) ((clnn__arg){sizeof(v), &(v)})
#define CLNN__LOCAL(bytes) ((clnn__arg){(bytes), NULL})

/* Work-group size for a 1-D range of `items` independent work-items. Left to
 * the driver (NULL), PoCL puts a small range in one group and so on one
 * core; on CPU devices this splits it into at least two groups per core. */
const size_t *clnn__spread_local(const clnn_context *ctx, size_t items, size_t *local);

/* Set args and enqueue a 1-D or 2-D range; global sizes are rounded up to a
 * multiple of local (kernels guard their bounds). local may be NULL. */
clnn_status clnn__launch(clnn_context *ctx, cl_kernel kernel, const char *name, cl_uint dims,
                         const size_t *global, const size_t *local, const clnn__arg *args,
                         size_t nargs);
#define CLNN__LAUNCH(ctx, kernel, name, dims, global, local, ...)                                \
    clnn__launch((ctx), (kernel), (name), (dims), (global), (local),                               \
                 (const clnn__arg[]){__VA_ARGS__},                                                 \
                 sizeof((const clnn__arg[]){__VA_ARGS__}) / sizeof(clnn__arg))

/* Keep a profiled launch so clnn_context_profile_replay can run it again;
 * forget them all before any buffer they may name is freed. */
void clnn__replay_record(clnn_context *ctx, const char *kernel_name, cl_kernel k, cl_uint dims,
                         const size_t *global, const size_t *local, const clnn__arg *args,
                         size_t nargs);
void clnn__replay_forget(clnn_context *ctx);
void clnn__replay_release(clnn_context *ctx);

#endif
