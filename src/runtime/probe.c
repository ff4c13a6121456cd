/* Device peak probes (kernels/probe.cl): what the device can do at best, so a
 * benchmark can say how far each of clnn's kernels is from it.
 *
 * Every probe runs on a private in-order queue, so the context's queue, its
 * profiling mode and its table stay untouched. The FLOP/s and bandwidth
 * probes time launches with OpenCL events on a profiling queue: device time
 * is what the profile table reports for clnn's own kernels, so the figures
 * compare like with like. The launch probe times with the host's clock, on a
 * queue without profiling: a launch's cost lies mostly outside the device
 * time an event reports. */
#include "runtime/runtime.h"

#include <math.h>
#include <stdio.h>

/* Each timed run of the FLOP/s probe lasts at least this long, so event
 * granularity and launch latency do not count (seconds of device time). */
#define FLOPS_TARGET_S 0.02
/* Lanes (work-items × vector width) of the FLOP/s probe per compute unit:
 * enough to fill any device's SIMD units or warps several times over. */
#define FLOPS_LANES_PER_CU 16384
#define FLOPS_MAX_ITERS (1 << 24)
/* Launches are rounded up to a multiple of this work-group-friendly size
 * (the kernels guard their bounds), so the driver never has to pick a tiny
 * local size for an awkward global size. */
#define GLOBAL_ROUND 64
/* The bandwidth probe copies up to this much, well beyond any cache. */
#define COPY_PEAK_BYTES ((size_t)256 << 20)
#define COPY_MIN_BYTES ((size_t)1 << 20)
#define MAX_REPS 64
/* The launch probe's rounds, each of LAUNCH_BURST launches queued back to
 * back and LAUNCH_WAITED waited for one by one. */
#define LAUNCH_ROUNDS 5
#define LAUNCH_BURST 200
#define LAUNCH_WAITED 10

typedef struct probe_queue {
    clnn_context *ctx;
    cl_command_queue queue;
} probe_queue;

static clnn_status queue_open(clnn_context *ctx, probe_queue *p,
                              cl_command_queue_properties props)
{
    p->ctx = ctx;
    p->queue = NULL;
    /* The probe wants the device to itself: training work still queued
     * would run concurrently on a second queue and slow both. */
    clnn_status st = clnn__finish(ctx);
    if (st != CLNN_OK)
        return st;
    cl_int err = CL_OUT_OF_RESOURCES;
    if (!clnn__fault_hit("clCreateCommandQueue"))
        p->queue = clCreateCommandQueue(ctx->cl, ctx->device, props, &err);
    if (p->queue)
        clnn__live_add(CLNN__LIVE_QUEUE, 1);
    return clnn__cl_check(err, "creating the probe's queue (clCreateCommandQueue)");
}

static void queue_close(probe_queue *p)
{
    if (!p->queue)
        return;
    clFinish(p->queue);
    clReleaseCommandQueue(p->queue);
    clnn__live_add(CLNN__LIVE_QUEUE, -1);
    p->queue = NULL;
}

static clnn_status set_args(cl_kernel kernel, const char *name, const clnn__arg *args, size_t nargs)
{
    for (size_t i = 0; i < nargs; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS) {
            char what[160];
            snprintf(what, sizeof what, "setting argument %zu of kernel %s", i, name);
            return clnn__cl_check(err, what);
        }
    }
    return CLNN_OK;
}

static size_t round_global(size_t n)
{
    return (n + GLOBAL_ROUND - 1) / GLOBAL_ROUND * GLOBAL_ROUND;
}

/* Queue reps launches back to back, as a training step queues its kernels,
 * wait once, and return the shortest device time in seconds. */
static clnn_status time_launches(probe_queue *p, cl_kernel kernel, const char *name, size_t global,
                                 size_t reps, double *best)
{
    cl_event events[MAX_REPS];
    size_t queued = 0;
    cl_int err = CL_SUCCESS;
    if (reps > MAX_REPS)
        reps = MAX_REPS;
    while (queued < reps) {
        cl_event ev = NULL;
        err = clnn__fault_hit("clEnqueueNDRangeKernel")
                  ? CL_OUT_OF_RESOURCES
                  : clEnqueueNDRangeKernel(p->queue, kernel, 1, NULL, &global, NULL, 0, NULL, &ev);
        if (err != CL_SUCCESS)
            break;
        clnn__live_add(CLNN__LIVE_EVENT, 1);
        events[queued++] = ev;
    }
    char what[160];
    snprintf(what, sizeof what, "launching probe kernel %s", name);
    clnn_status st = clnn__cl_check(err, what);
    cl_int ferr = clnn__fault_hit("clFinish") ? CL_OUT_OF_RESOURCES : clFinish(p->queue);
    if (st == CLNN_OK)
        st = clnn__cl_check(ferr, "waiting for the probe (clFinish)");
    *best = INFINITY;
    for (size_t i = 0; i < queued; i++) {
        cl_ulong t0 = 0, t1 = 0;
        if (st == CLNN_OK) {
            cl_int e0 = clGetEventProfilingInfo(events[i], CL_PROFILING_COMMAND_START, sizeof t0,
                                                &t0, NULL);
            cl_int e1 = clGetEventProfilingInfo(events[i], CL_PROFILING_COMMAND_END, sizeof t1,
                                                &t1, NULL);
            st = clnn__cl_check(e0 != CL_SUCCESS ? e0 : e1, "reading probe event times");
            /* A zero-length interval is below the timer's resolution, not a result. */
            double s = (double)(t1 - t0) * 1e-9;
            if (st == CLNN_OK && t1 > t0 && s < *best)
                *best = s;
        }
        clnn__event_release(&events[i]);
    }
    if (st == CLNN_OK && !isfinite(*best))
        st = clnn__fail(CLNN_ERR_OPENCL, "the device reported no usable times for probe kernel "
                                         "%s (its event timer gave zero-length intervals)",
                        name);
    return st;
}

static clnn_status fill_zero(probe_queue *p, cl_mem buf, size_t bytes)
{
    const float zero = 0.0f;
    cl_int err = clnn__fault_hit("clEnqueueFillBuffer")
                     ? CL_OUT_OF_RESOURCES
                     : clEnqueueFillBuffer(p->queue, buf, &zero, sizeof zero, 0, bytes, 0, NULL,
                                           NULL);
    return clnn__cl_check(err, "clearing a probe buffer (clEnqueueFillBuffer)");
}

/* GFLOP/s of one vector width: grow the iteration count until a launch lasts
 * FLOPS_TARGET_S, then take the best of a few launches. */
static clnn_status flops_one(probe_queue *p, cl_mem out, size_t lanes, unsigned width,
                             double *gflops)
{
    char name[32];
    snprintf(name, sizeof name, "probe_fma%u", width);
    cl_kernel kernel;
    clnn_status st = clnn__kernel(p->ctx, "probe", NULL, name, &kernel);
    if (st != CLNN_OK)
        return st;
    const size_t global = round_global(lanes / width);
    /* b = 1 - a keeps every chain converging to 1 (see probe.cl). */
    const float a = 0.999f, b = 1.0f - 0.999f;
    int iters = 64;
    double best = 0.0;
    for (;;) {
        st = set_args(kernel, name,
                      (const clnn__arg[]){CLNN__ARG(out), CLNN__ARG(iters), CLNN__ARG(a),
                                          CLNN__ARG(b)},
                      4);
        if (st == CLNN_OK)
            st = time_launches(p, kernel, name, global, 2, &best);
        if (st != CLNN_OK)
            return st;
        if (best >= FLOPS_TARGET_S / 2 || iters >= FLOPS_MAX_ITERS)
            break;
        double grow = ceil(FLOPS_TARGET_S / best);
        double next = (double)iters * (grow < 2.0 ? 2.0 : grow);
        iters = next > FLOPS_MAX_ITERS ? FLOPS_MAX_ITERS : (int)next;
    }
    st = time_launches(p, kernel, name, global, 3, &best);
    if (st != CLNN_OK)
        return st;
    const double flops = 2.0 * 8.0 /* chains */ * (double)width * (double)global * (double)iters;
    *gflops = flops / best * 1e-9;
    clnn__log(CLNN_LOG_DEBUG, "probe: %s, %zu work-items × %d iterations: %.1f GFLOP/s", name,
              global, iters, *gflops);
    return CLNN_OK;
}

static clnn_status probe_flops(probe_queue *p, double *gflops)
{
    const size_t lanes = (size_t)CLNN__MAX(p->ctx->info.compute_units, 1u) * FLOPS_LANES_PER_CU;
    static const unsigned widths[] = {1, 4, 16};
    cl_mem out = NULL;
    /* Every width writes one float per work-item; width 1 has the most. */
    clnn_status st = clnn__buffer_create(p->ctx, round_global(lanes) * sizeof(float), &out);
    *gflops = 0.0;
    for (size_t i = 0; i < CLNN__ARRAY_LEN(widths) && st == CLNN_OK; i++) {
        double g = 0.0;
        st = flops_one(p, out, lanes, widths[i], &g);
        if (g > *gflops)
            *gflops = g;
    }
    clnn__buffer_release(&out);
    return st;
}

/* Best GB/s (read plus write) of probe_copy4 over two buffers of `bytes`. */
static clnn_status copy_gbps(probe_queue *p, size_t bytes, double *gbps)
{
    bytes = (bytes + 15) / 16 * 16;
    const size_t n4 = bytes / 16;
    if (n4 > INT32_MAX)
        return clnn__fail(CLNN_ERR_UNSUPPORTED, "copy probe of %zu bytes exceeds 2^31 float4s",
                          bytes);
    cl_kernel kernel;
    clnn_status st = clnn__kernel(p->ctx, "probe", NULL, "probe_copy4", &kernel);
    cl_mem src = NULL, dst = NULL;
    if (st == CLNN_OK)
        st = clnn__buffer_create(p->ctx, bytes, &src);
    if (st == CLNN_OK)
        st = clnn__buffer_create(p->ctx, bytes, &dst);
    /* New buffers may be unbacked until first touched: touching them here
     * keeps page faults out of the timed copies. */
    if (st == CLNN_OK)
        st = fill_zero(p, src, bytes);
    if (st == CLNN_OK)
        st = fill_zero(p, dst, bytes);
    const int n = (int)n4;
    if (st == CLNN_OK)
        st = set_args(kernel, "probe_copy4",
                      (const clnn__arg[]){CLNN__ARG(src), CLNN__ARG(dst), CLNN__ARG(n)}, 3);
    /* Small copies are cheap and noisy, so they get more repetitions. */
    size_t reps = (size_t)(COPY_PEAK_BYTES / bytes);
    reps = reps < 5 ? 5 : reps > 50 ? 50 : reps;
    const size_t global = round_global(n4);
    double warm = 0.0, best = 0.0;
    if (st == CLNN_OK)
        st = time_launches(p, kernel, "probe_copy4", global, 2, &warm);
    if (st == CLNN_OK)
        st = time_launches(p, kernel, "probe_copy4", global, reps, &best);
    clnn__buffer_release(&src);
    clnn__buffer_release(&dst);
    if (st == CLNN_OK) {
        *gbps = 2.0 * (double)bytes / best * 1e-9;
        clnn__log(CLNN_LOG_DEBUG, "probe: copy of %zu bytes: best %.3f ms, %.1f GB/s", bytes,
                  best * 1e3, *gbps);
    }
    return st;
}

/* n launches of the empty kernel, each waited for when wait_each is set,
 * else all queued and waited for once; seconds per launch. */
static clnn_status empty_launches(probe_queue *p, cl_kernel kernel, size_t global, size_t local,
                                  int n, bool wait_each, double *per_launch)
{
    const double t0 = clnn__now();
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < n && err == CL_SUCCESS; i++) {
        err = clnn__fault_hit("clEnqueueNDRangeKernel")
                  ? CL_OUT_OF_RESOURCES
                  : clEnqueueNDRangeKernel(p->queue, kernel, 1, NULL, &global, &local, 0, NULL,
                                           NULL);
        if (err == CL_SUCCESS && (wait_each || i == n - 1))
            err = clnn__fault_hit("clFinish") ? CL_OUT_OF_RESOURCES : clFinish(p->queue);
    }
    *per_launch = (clnn__now() - t0) / n;
    return clnn__cl_check(err, "launching probe kernel probe_empty");
}

/* Best microseconds per launch, queued back to back and waited for each. */
static clnn_status launch_cost(probe_queue *p, double *queued_us, double *waited_us)
{
    cl_kernel kernel;
    clnn_status st = clnn__kernel(p->ctx, "probe", NULL, "probe_empty", &kernel);
    cl_mem out = NULL;
    if (st == CLNN_OK)
        st = clnn__buffer_create(p->ctx, sizeof(float), &out);
    const int never = -1;
    if (st == CLNN_OK)
        st = set_args(kernel, "probe_empty", (const clnn__arg[]){CLNN__ARG(out), CLNN__ARG(never)},
                      2);
    /* One work-group per compute unit, as the smallest of clnn's kernels
     * spread theirs, so every worker is woken as they wake them. */
    const size_t cap = p->ctx->info.max_work_group_size;
    const size_t local = cap && cap < GLOBAL_ROUND ? cap : GLOBAL_ROUND;
    const size_t global = local * CLNN__MAX(p->ctx->info.compute_units, 1u);
    double queued = INFINITY, waited = INFINITY, t;
    /* The first round warms up: it may include compiling and waking threads. */
    for (int r = 0; r <= LAUNCH_ROUNDS && st == CLNN_OK; r++) {
        st = empty_launches(p, kernel, global, local, LAUNCH_BURST, false, &t);
        if (st == CLNN_OK && r > 0 && t < queued)
            queued = t;
        for (int i = 0; i < LAUNCH_WAITED && st == CLNN_OK; i++) {
            st = empty_launches(p, kernel, global, local, 1, true, &t);
            if (st == CLNN_OK && r > 0 && t < waited)
                waited = t;
        }
    }
    clnn__buffer_release(&out);
    if (st == CLNN_OK) {
        *queued_us = queued * 1e6;
        *waited_us = waited * 1e6;
        clnn__log(CLNN_LOG_DEBUG, "probe: empty kernel, %zu work-items: %.2f µs queued, %.2f µs "
                                  "waited for",
                  global, *queued_us, *waited_us);
    }
    return st;
}

/* The largest copy that fits comfortably: two buffers of it must sit next to
 * a network on the device. */
static size_t peak_copy_bytes(const clnn_device_info *info)
{
    size_t bytes = COPY_PEAK_BYTES;
    if (info->max_alloc_bytes && info->max_alloc_bytes < bytes)
        bytes = (size_t)info->max_alloc_bytes;
    if (info->global_mem_bytes && info->global_mem_bytes / 8 < bytes)
        bytes = (size_t)(info->global_mem_bytes / 8);
    if (bytes < COPY_MIN_BYTES)
        bytes = COPY_MIN_BYTES;
    return bytes / 1024 * 1024;
}

clnn_status clnn_context_probe_peak(clnn_context *ctx, clnn_device_peak *peak)
{
    clnn__clear_error();
    if (!ctx || !peak)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_probe_peak: NULL argument");
    clnn_status st = CLNN__STRUCT_OUT_CHECK(clnn_device_peak, peak, "clnn_context_probe_peak");
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(ctx, "clnn_context_probe_peak");
    probe_queue p;
    st = queue_open(ctx, &p, CL_QUEUE_PROFILING_ENABLE);
    clnn_device_peak r = {.copy_bytes = peak_copy_bytes(&ctx->info)};
    if (st == CLNN_OK)
        st = probe_flops(&p, &r.gflops);
    if (st == CLNN_OK)
        st = copy_gbps(&p, r.copy_bytes, &r.gbps);
    queue_close(&p);
    /* Profiling may add to each launch's cost on some drivers: a queue of
     * its own without it, as training runs. */
    if (st == CLNN_OK)
        st = queue_open(ctx, &p, 0);
    if (st == CLNN_OK)
        st = launch_cost(&p, &r.launch_us, &r.launch_wait_us);
    queue_close(&p);
    if (st == CLNN_OK)
        CLNN__STRUCT_OUT(clnn_device_peak, peak, &r);
    return st;
}

clnn_status clnn_context_probe_copy(clnn_context *ctx, size_t bytes, double *gbps)
{
    clnn__clear_error();
    if (!ctx || !gbps)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_probe_copy: NULL argument");
    if (bytes == 0)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_probe_copy: bytes is 0");
    CLNN__ENTER(ctx, "clnn_context_probe_copy");
    probe_queue p;
    clnn_status st = queue_open(ctx, &p, CL_QUEUE_PROFILING_ENABLE);
    if (st == CLNN_OK)
        st = copy_gbps(&p, bytes, gbps);
    queue_close(&p);
    return st;
}

clnn_status clnn_context_probe_launch(clnn_context *ctx, double *queued_us, double *waited_us)
{
    clnn__clear_error();
    if (!ctx || !queued_us || !waited_us)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_probe_launch: NULL argument");
    CLNN__ENTER(ctx, "clnn_context_probe_launch");
    probe_queue p;
    clnn_status st = queue_open(ctx, &p, 0);
    if (st == CLNN_OK)
        st = launch_cost(&p, queued_us, waited_us);
    queue_close(&p);
    return st;
}
