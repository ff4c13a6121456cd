/* Context creation: chosen device, OpenCL context and in-order queue. */
#include "runtime/runtime.h"

#include "gemm/gemm.h"
#include "runtime/program_cache.h"

#include <stdlib.h>
#include <string.h>

void clnn_context_options_init(clnn_context_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof *options);
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

clnn_status clnn_context_create(const clnn_context_options *options, clnn_context **out)
{
    clnn__clear_error();
    if (!out)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_create: out is NULL");
    *out = NULL;
    clnn_context_options defaults;
    if (!options) {
        clnn_context_options_init(&defaults);
        options = &defaults;
    }
    clnn_gemm_backend gemm = CLNN_GEMM_AUTO;
    bool gemm_explicit = false;
    clnn_status st = resolve_gemm(options->gemm, &gemm, &gemm_explicit);
    if (st != CLNN_OK)
        return st;
    size_t index;
    st = clnn_device_select(options->device, &index);
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
    ctx->profiling = options->profiling;

    cl_platform_id *plats;
    cl_device_id *devs;
    size_t n;
    st = clnn__devices(&plats, &devs, &n);
    if (st == CLNN_OK) {
        ctx->platform = plats[index];
        ctx->device = devs[index];
        free(plats);
        free(devs);
        st = clnn_device_get_info(index, &ctx->info);
    }
    if (st == CLNN_OK)
        ctx->program_cache = clnn__program_cache_enabled(ctx);
    cl_int err = CL_SUCCESS;
    if (st == CLNN_OK) {
        cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)ctx->platform,
                                         0};
        if (clnn__fault_hit("clCreateContext"))
            err = CL_OUT_OF_HOST_MEMORY;
        else
            ctx->cl = clCreateContext(props, 1, &ctx->device, NULL, NULL, &err);
        if (ctx->cl)
            clnn__live_add(CLNN__LIVE_CONTEXT, 1);
        st = clnn__cl_check(err, "clCreateContext");
    }
    if (st == CLNN_OK) {
        cl_command_queue_properties qp = options->profiling ? CL_QUEUE_PROFILING_ENABLE : 0;
        if (clnn__fault_hit("clCreateCommandQueue"))
            err = CL_OUT_OF_RESOURCES;
        else
            ctx->queue = clCreateCommandQueue(ctx->cl, ctx->device, qp, &err);
        if (ctx->queue)
            clnn__live_add(CLNN__LIVE_QUEUE, 1);
        st = clnn__cl_check(err, "clCreateCommandQueue");
    }
    if (st == CLNN_OK)
        st = clnn__gemm_context_init(ctx);
    if (st != CLNN_OK) {
        clnn_context_free(ctx);
        return st;
    }
    clnn__log(CLNN_LOG_INFO, "device %zu: %s (%s), GEMM backend %s", ctx->info.index,
              ctx->info.name, ctx->info.platform, clnn_gemm_backend_name(ctx->gemm));
    *out = ctx;
    return CLNN_OK;
}

void clnn_context_free(clnn_context *ctx)
{
    if (!ctx)
        return;
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
    free(ctx);
}

clnn_status clnn_context_get_device_info(const clnn_context *ctx, clnn_device_info *info)
{
    clnn__clear_error();
    if (!ctx || !info)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_get_device_info: NULL argument");
    *info = ctx->info;
    return CLNN_OK;
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
    return clnn__finish(ctx);
}

clnn_status clnn__finish(clnn_context *ctx)
{
    cl_int err = clnn__fault_hit("clFinish") ? CL_OUT_OF_RESOURCES : clFinish(ctx->queue);
    return clnn__cl_check(err, "clFinish");
}
