/* Runtime compilation of kernels/<name>.cl for the context's device, cached
 * per context by (source, options) behind a mutex, as CLBlast does. */
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernel_sources.h"
#include "runtime/program_cache.h"

typedef struct kernel_entry {
    char *name;
    cl_kernel kernel;
    struct kernel_entry *next;
} kernel_entry;

struct clnn__program_entry {
    char *source;
    char *options;
    cl_program program;
    kernel_entry *kernels;
    clnn__program_entry *next;
};

/* Every program is prefixed by kernels/common.cl (OpenCL C has no #include
 * for in-memory sources). */
static clnn_status build(clnn_context *ctx, const char *source, const char *options,
                         cl_program *out)
{
    const char *common, *text;
    size_t common_len, text_len;
    char *common_owned, *text_owned;
    clnn_status st = clnn__kernel_source_get("common", &common, &common_len, &common_owned);
    if (st != CLNN_OK)
        return st;
    st = clnn__kernel_source_get(source, &text, &text_len, &text_owned);
    if (st != CLNN_OK) {
        free(common_owned);
        return st;
    }
    const char *strings[2] = {common, text};
    size_t lengths[2] = {common_len, text_len};
    /* CLNN_CL_OPTIONS appends to every build (e.g. -cl-fast-relaxed-math). */
    char extra_buf[1024];
    const char *extra = clnn__debug_env("CLNN_CL_OPTIONS", extra_buf, sizeof extra_buf);
    char full[2048];
    snprintf(full, sizeof full, "-cl-std=CL1.2 %s %s", options ? options : "",
             extra ? extra : "");
    char *key = ctx->program_cache && !ctx->transient_programs
                    ? clnn__program_cache_key(ctx, source, full, strings, lengths, 2)
                    : NULL;
    cl_program prog = key ? clnn__program_cache_load(ctx, key) : NULL;
    cl_int err = CL_OUT_OF_HOST_MEMORY;
    if (prog) {
        /* A binary still needs clBuildProgram; if the driver refuses it now,
         * fall back to the source. */
        if (clBuildProgram(prog, 1, &ctx->device, full, NULL, NULL) == CL_SUCCESS) {
            free(common_owned);
            free(text_owned);
            free(key);
            clnn__log(CLNN_LOG_DEBUG, "kernels/%s.cl loaded from the program cache", source);
            *out = prog;
            return CLNN_OK;
        }
        clReleaseProgram(prog);
        clnn__live_add(CLNN__LIVE_PROGRAM, -1);
        prog = NULL;
    }
    if (!clnn__fault_hit("clCreateProgramWithSource"))
        prog = clCreateProgramWithSource(ctx->cl, 2, strings, lengths, &err);
    free(common_owned);
    free(text_owned);
    if (err != CL_SUCCESS) {
        free(key);
        return clnn__cl_check(err, "clCreateProgramWithSource");
    }
    clnn__live_add(CLNN__LIVE_PROGRAM, 1);

    clnn__log(CLNN_LOG_DEBUG, "building kernels/%s.cl with '%s'", source, full);
    err = clnn__fault_hit("clBuildProgram") ? CL_BUILD_PROGRAM_FAILURE
                                            : clBuildProgram(prog, 1, &ctx->device, full, NULL, NULL);
    /* Stored straight away: at clnn_context_free the process may be exiting
     * (an atexit handler), when PoCL, compiling the binary it hands out,
     * crashed in LLVM's already destroyed state. */
    if (err == CL_SUCCESS && key)
        clnn__program_cache_store(ctx, key, prog);
    free(key);
    if (err != CL_SUCCESS) {
        size_t log_len = 0;
        clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_len);
        char *log = malloc(log_len + 1);
        if (log) {
            if (clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, log_len, log,
                                      NULL) != CL_SUCCESS)
                log_len = 0;
            log[log_len] = '\0';
        }
        clReleaseProgram(prog);
        clnn__live_add(CLNN__LIVE_PROGRAM, -1);
        const char *injected = clnn__fault_take();
        st = clnn__fail(CLNN_ERR_BUILD,
                        "building kernels/%s.cl for device '%s' with options '%s' failed (%s); "
                        "if CLNN_KERNEL_DIR or CLNN_CL_OPTIONS are set, check them.%s Build "
                        "log:\n%s",
                        source, ctx->info.name, full, clnn__cl_error_name(err),
                        injected ? " [injected by CLNN_FAULT_INJECT]" : "",
                        log ? log : "(no log)");
        free(log);
        return st;
    }
    *out = prog;
    return CLNN_OK;
}

static clnn__program_entry *find_program(clnn_context *ctx, const char *source,
                                         const char *options)
{
    for (clnn__program_entry *e = ctx->programs; e; e = e->next)
        if (strcmp(e->source, source) == 0 && strcmp(e->options, options) == 0)
            return e;
    return NULL;
}

static clnn_status get_kernel(clnn_context *ctx, const char *source, const char *options,
                              const char *kernel_name, cl_kernel *out)
{
    clnn__program_entry *e = find_program(ctx, source, options);
    if (!e) {
        cl_program prog = NULL;
        clnn_status st = clnn__progress(ctx, "building kernels", ctx->programs_built, 0);
        if (st == CLNN_OK)
            st = build(ctx, source, options, &prog);
        if (st != CLNN_OK)
            return st;
        ctx->programs_built++;
        e = clnn__calloc(1, sizeof *e);
        char *s = clnn__strdup(source), *o = clnn__strdup(options);
        if (!e || !s || !o) {
            free(e);
            free(s);
            free(o);
            clReleaseProgram(prog);
            clnn__live_add(CLNN__LIVE_PROGRAM, -1);
            return CLNN_ERR_OUT_OF_MEMORY;
        }
        e->source = s;
        e->options = o;
        e->program = prog;
        e->next = ctx->programs;
        ctx->programs = e;
    }
    for (kernel_entry *k = e->kernels; k; k = k->next) {
        if (strcmp(k->name, kernel_name) == 0) {
            *out = k->kernel;
            return CLNN_OK;
        }
    }
    cl_int err = CL_OUT_OF_HOST_MEMORY;
    cl_kernel kernel = NULL;
    if (!clnn__fault_hit("clCreateKernel"))
        kernel = clCreateKernel(e->program, kernel_name, &err);
    if (err == CL_INVALID_KERNEL_NAME)
        return clnn__fail(CLNN_ERR_BUILD, "kernel '%s' not found in kernels/%s.cl", kernel_name,
                          source);
    if (err != CL_SUCCESS)
        return clnn__cl_check(err, "clCreateKernel");
    clnn__live_add(CLNN__LIVE_KERNEL, 1);
    kernel_entry *k = clnn__calloc(1, sizeof *k);
    char *name = clnn__strdup(kernel_name);
    if (!k || !name) {
        free(k);
        free(name);
        clReleaseKernel(kernel);
        clnn__live_add(CLNN__LIVE_KERNEL, -1);
        return CLNN_ERR_OUT_OF_MEMORY;
    }
    k->name = name;
    k->kernel = kernel;
    k->next = e->kernels;
    e->kernels = k;
    *out = kernel;
    return CLNN_OK;
}

clnn_status clnn__kernel(clnn_context *ctx, const char *source, const char *options,
                         const char *kernel_name, cl_kernel *out)
{
    if (!options)
        options = "";
    /* Programs whose binaries are cached hold the one kernel asked for
     * (common.cl's CLNN_ONLY): to hand out a binary, PoCL compiles every
     * kernel of the program: with whole files (up to 7 kernels) the first
     * step of a first run of the reference network took 8.3 s, with one
     * kernel per program 5.8 s (4.1 s without the cache). */
    char one[512];
    if (ctx->program_cache) {
        int n = snprintf(one, sizeof one, "%s -DCLNN_ONLY -DCLNN_ONLY_%s", options, kernel_name);
        if (n < 0 || (size_t)n >= sizeof one)
            return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                              "build options of kernel %s too long (%d characters)", kernel_name,
                              n);
        options = one;
    }
    clnn__mutex_lock(&ctx->programs_lock);
    clnn_status st = get_kernel(ctx, source, options, kernel_name, out);
    clnn__mutex_unlock(&ctx->programs_lock);
    return st;
}

void clnn__programs_release(clnn_context *ctx)
{
    clnn__program_entry *e = ctx->programs;
    while (e) {
        clnn__program_entry *next = e->next;
        kernel_entry *k = e->kernels;
        while (k) {
            kernel_entry *kn = k->next;
            clReleaseKernel(k->kernel);
            clnn__live_add(CLNN__LIVE_KERNEL, -1);
            free(k->name);
            free(k);
            k = kn;
        }
        clReleaseProgram(e->program);
        clnn__live_add(CLNN__LIVE_PROGRAM, -1);
        free(e->source);
        free(e->options);
        free(e);
        e = next;
    }
    ctx->programs = NULL;
}

void clnn__kernel_ref_init(clnn__kernel_ref *r, const char *source, const char *options,
                           const char *name)
{
    r->source = source;
    r->name = name;
    r->kernel = NULL;
    /* Too long for the ref: marked by an unterminated copy, refused below. */
    size_t n = options ? strlen(options) : 0;
    memset(r->options, 0, sizeof r->options);
    memcpy(r->options, options ? options : "", CLNN__MIN(n, sizeof r->options));
}

clnn_status clnn__kernel_ref_resolve(clnn_context *ctx, clnn__kernel_ref *r)
{
    if (r->options[sizeof r->options - 1] != '\0')
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "build options of kernel %s are longer than %zu characters", r->name,
                          sizeof r->options - 1);
    return clnn__kernel(ctx, r->source, r->options, r->name, &r->kernel);
}
