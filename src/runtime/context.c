/* Context creation: chosen device, OpenCL context and in-order queue. */
#include "runtime/runtime.h"

#include "runtime/program_cache.h"

#include <stdlib.h>
#include <string.h>

void clnn_context_options_init(clnn_context_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->gemm = CLNN_GEMM_AUTO;
}

const char *clnn_gemm_backend_name(clnn_gemm_backend backend)
{
    switch (backend) {
    case CLNN_GEMM_AUTO:
        return "auto";
    case CLNN_GEMM_CLBLAST:
        return "clblast";
    case CLNN_GEMM_OWN:
        return "own";
    }
    return "unknown";
}

/* explicit: the backend was named (options or $CLNN_GEMM), so tuning files,
 * which choose a backend per shape, must not override it. */
static clnn_status resolve_gemm(clnn_gemm_backend requested, clnn_gemm_backend *out,
                                bool *explicit)
{
    *explicit = true;
    if (requested == CLNN_GEMM_CLBLAST || requested == CLNN_GEMM_OWN) {
        *out = requested;
        return CLNN_OK;
    }
    if (requested != CLNN_GEMM_AUTO)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "unknown GEMM backend %d", (int)requested);
    const char *env = getenv("CLNN_GEMM");
    if (!env || !*env || clnn__strcasecmp(env, "auto") == 0) {
        /* Until a tuning file chooses per shape by measurement (clnn tune, or
         * the quick tune clnn train runs), clnn's own portable kernels: they
         * measured 5-20x faster than CLBlast's untuned parameters on PoCL. */
        *explicit = false;
        *out = CLNN_GEMM_OWN;
    } else if (clnn__strcasecmp(env, "clblast") == 0) {
        *out = CLNN_GEMM_CLBLAST;
    } else if (clnn__strcasecmp(env, "own") == 0) {
        *out = CLNN_GEMM_OWN;
    } else {
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "CLNN_GEMM='%s' is not a GEMM backend: use auto, clblast or own", env);
    }
    return CLNN_OK;
}

static clnn_status check_switch(clnn_switch v, const char *field)
{
    if (v == CLNN_SWITCH_DEFAULT || v == CLNN_SWITCH_ON || v == CLNN_SWITCH_OFF)
        return CLNN_OK;
    return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                      "clnn_context_create: options.%s is %d, not a clnn_switch (DEFAULT, ON or "
                      "OFF)",
                      field, (int)v);
}

static clnn_status check_options(const clnn_context_options *o)
{
    clnn_status st = check_switch(o->program_cache, "program_cache");
    if (st == CLNN_OK)
        st = check_switch(o->tuning, "tuning");
    if (st == CLNN_OK && !o->cl_context != !o->cl_queue)
        st = clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                        "clnn_context_create: options.cl_context and options.cl_queue go "
                        "together: give both (the application's context and a queue of it) or "
                        "neither");
    if (st == CLNN_OK && o->cl_context && o->device && *o->device)
        st = clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                        "clnn_context_create: options.device and options.cl_queue both choose "
                        "the device: leave options.device NULL when handing in a queue");
    return st;
}

/* A device and platform from the selector: a new OpenCL context and queue. */
static clnn_status make_own(clnn_context *ctx, const clnn_context_options *o)
{
    size_t index;
    clnn_status st = clnn_device_select(o->device, &index);
    if (st != CLNN_OK)
        return st;
    cl_platform_id *plats;
    cl_device_id *devs;
    size_t n;
    st = clnn__devices(&plats, &devs, &n);
    if (st != CLNN_OK)
        return st;
    ctx->platform = plats[index];
    ctx->device = devs[index];
    free(plats);
    free(devs);
    cl_int err = CL_SUCCESS;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)ctx->platform, 0};
    if (clnn__fault_hit("clCreateContext"))
        err = CL_OUT_OF_HOST_MEMORY;
    else
        ctx->cl = clCreateContext(props, 1, &ctx->device, NULL, NULL, &err);
    if (ctx->cl)
        clnn__live_add(CLNN__LIVE_CONTEXT, 1);
    st = clnn__cl_check(err, "clCreateContext");
    if (st != CLNN_OK)
        return st;
    cl_command_queue_properties qp = o->profiling ? CL_QUEUE_PROFILING_ENABLE : 0;
    if (clnn__fault_hit("clCreateCommandQueue"))
        err = CL_OUT_OF_RESOURCES;
    else
        ctx->queue = clCreateCommandQueue(ctx->cl, ctx->device, qp, &err);
    if (ctx->queue)
        clnn__live_add(CLNN__LIVE_QUEUE, 1);
    return clnn__cl_check(err, "clCreateCommandQueue");
}

/* The application's context and queue, checked and retained. */
static clnn_status adopt(clnn_context *ctx, const clnn_context_options *o)
{
    cl_context queue_ctx = NULL;
    cl_command_queue_properties qp = 0;
    cl_int err = clGetCommandQueueInfo(o->cl_queue, CL_QUEUE_CONTEXT, sizeof queue_ctx,
                                       &queue_ctx, NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(o->cl_queue, CL_QUEUE_DEVICE, sizeof ctx->device, &ctx->device,
                                    NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(o->cl_queue, CL_QUEUE_PROPERTIES, sizeof qp, &qp, NULL);
    if (err != CL_SUCCESS)
        return clnn__fail_context(clnn__cl_check(err, "clGetCommandQueueInfo"),
                                  "clnn_context_create: options.cl_queue is not a usable OpenCL "
                                  "queue");
    if (queue_ctx != o->cl_context)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "clnn_context_create: options.cl_queue belongs to another OpenCL "
                          "context than options.cl_context; give a queue of that context");
    if (qp & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "clnn_context_create: options.cl_queue executes out of order; clnn "
                          "needs an in-order queue (create it without "
                          "CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)");
    if (o->profiling && !(qp & CL_QUEUE_PROFILING_ENABLE))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "clnn_context_create: options.profiling needs options.cl_queue to be "
                          "created with CL_QUEUE_PROFILING_ENABLE");
    err = clGetDeviceInfo(ctx->device, CL_DEVICE_PLATFORM, sizeof ctx->platform, &ctx->platform,
                          NULL);
    if (err != CL_SUCCESS)
        return clnn__cl_check(err, "clGetDeviceInfo(CL_DEVICE_PLATFORM)");
    clRetainContext(o->cl_context);
    ctx->cl = o->cl_context;
    clnn__live_add(CLNN__LIVE_CONTEXT, 1);
    clRetainCommandQueue(o->cl_queue);
    ctx->queue = o->cl_queue;
    clnn__live_add(CLNN__LIVE_QUEUE, 1);
    return CLNN_OK;
}

clnn_status clnn__context_make(const clnn_context_options *options, clnn_context **out)
{
    *out = NULL;
    /* Options older programs do not have keep the defaults _init gives. */
    clnn_context_options o;
    clnn_context_options_init(&o);
    clnn_status st = options ? CLNN__STRUCT_IN(clnn_context_options, &o, options,
                                               "clnn_context_create")
                             : CLNN_OK;
    if (st == CLNN_OK)
        st = check_options(&o);
    clnn_gemm_backend gemm = CLNN_GEMM_AUTO;
    bool gemm_explicit = false;
    if (st == CLNN_OK)
        st = resolve_gemm(o.gemm, &gemm, &gemm_explicit);
    if (st == CLNN_OK)
        st = clnn__opencl_load(o.opencl_library);
    if (st != CLNN_OK)
        return st;
    clnn_context *ctx = clnn__calloc(1, sizeof *ctx);
    if (!ctx)
        return CLNN_ERR_OUT_OF_MEMORY;
    if (clnn__mutex_init(&ctx->programs_lock) != CLNN_OK) {
        free(ctx);
        return CLNN_ERR_OUT_OF_MEMORY;
    }
    ctx->gemm = gemm;
    ctx->gemm_explicit = gemm_explicit;
    ctx->profiling = o.profiling;
    ctx->log = o.log;
    ctx->log_user = o.log_user;
    ctx->progress = o.progress;
    ctx->progress_user = o.progress_user;
    if (o.tuning != CLNN_SWITCH_DEFAULT) {
        ctx->tuning_off = o.tuning == CLNN_SWITCH_OFF;
    } else {
        const char *env = getenv("CLNN_TUNING");
        ctx->tuning_off = env && strcmp(env, "0") == 0;
    }
    /* What the context's making reports goes to its own callback already. */
    clnn__log_sink before = clnn__log_route((clnn__log_sink){o.log, o.log_user});
    if (o.cache_dir && !(ctx->cache_dir = clnn__strdup(o.cache_dir)))
        st = CLNN_ERR_OUT_OF_MEMORY;
    if (st == CLNN_OK)
        st = o.cl_context ? adopt(ctx, &o) : make_own(ctx, &o);
    if (st == CLNN_OK)
        st = clnn__device_describe(ctx->device, &ctx->info);
    if (st == CLNN_OK)
        ctx->program_cache = clnn__program_cache_enabled(ctx, o.program_cache);
    clnn__log_route(before);
    if (st != CLNN_OK) {
        clnn_context_free(ctx);
        return st;
    }
    *out = ctx;
    return CLNN_OK;
}

static void destroy(clnn_context *ctx)
{
    if (ctx->queue)
        clFinish(ctx->queue);
    if (ctx->before_free)
        ctx->before_free(ctx);
    clnn__programs_release(ctx);
    clnn__profile_release(ctx);
    clnn__replay_release(ctx);
    if (ctx->queue) {
        clReleaseCommandQueue(ctx->queue);
        clnn__live_add(CLNN__LIVE_QUEUE, -1);
    }
    if (ctx->cl) {
        clReleaseContext(ctx->cl);
        clnn__live_add(CLNN__LIVE_CONTEXT, -1);
    }
    clnn__mutex_destroy(&ctx->programs_lock);
    free(ctx->cache_dir);
    free(ctx);
}

void clnn__context_hold(clnn_context *ctx)
{
    atomic_fetch_add(&ctx->nets, 1);
}

/* Frees ctx once it is released and no network holds it; the exchange makes
 * sure only one caller does. */
static void destroy_if_unused(clnn_context *ctx)
{
    if (atomic_load(&ctx->released) && atomic_load(&ctx->nets) == 0 &&
        !atomic_exchange(&ctx->destroying, true))
        destroy(ctx);
}

void clnn__context_drop(clnn_context *ctx)
{
    atomic_fetch_sub(&ctx->nets, 1);
    destroy_if_unused(ctx);
}

void clnn_context_free(clnn_context *ctx)
{
    if (!ctx)
        return;
    atomic_store(&ctx->released, true);
    destroy_if_unused(ctx);
}

clnn_status clnn_context_set_progress(clnn_context *ctx, clnn_progress_fn fn, void *user)
{
    clnn__clear_error();
    if (!ctx)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_set_progress: ctx is NULL");
    CLNN__ENTER(ctx, "clnn_context_set_progress");
    ctx->progress = fn;
    ctx->progress_user = user;
    return CLNN_OK;
}

clnn_status clnn__progress(clnn_context *ctx, const char *what, uint64_t done, uint64_t total)
{
    if (!ctx->progress || ctx->progress(what, done, total, ctx->progress_user))
        return CLNN_OK;
    return clnn__fail(CLNN_ERR_CANCELLED,
                      "cancelled by the progress callback while %s (%llu of %llu done)", what,
                      (unsigned long long)done, (unsigned long long)total);
}

clnn_status clnn_context_get_device_info(const clnn_context *ctx, clnn_device_info *info)
{
    clnn__clear_error();
    if (!ctx || !info)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_get_device_info: NULL argument");
    clnn_status st = CLNN__STRUCT_OUT_CHECK(clnn_device_info, info, "clnn_context_get_device_info");
    if (st == CLNN_OK)
        CLNN__STRUCT_OUT(clnn_device_info, info, &ctx->info);
    return st;
}

clnn_gemm_backend clnn_context_gemm_backend(const clnn_context *ctx)
{
    return ctx ? ctx->gemm : CLNN_GEMM_AUTO;
}

clnn_status clnn_context_finish(clnn_context *ctx)
{
    clnn__clear_error();
    if (!ctx)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_finish: ctx is NULL");
    CLNN__ENTER(ctx, "clnn_context_finish");
    return clnn__finish(ctx);
}

clnn_status clnn__finish(clnn_context *ctx)
{
    cl_int err = clnn__fault_hit("clFinish") ? CL_OUT_OF_RESOURCES : clFinish(ctx->queue);
    return clnn__cl_check(err, "clFinish");
}
