/* Device buffers and kernel launches. */
#include "runtime/runtime.h"

#include <stdio.h>

clnn_status clnn__buffer_create(clnn_context *ctx, size_t bytes, cl_mem *out)
{
    cl_int err = CL_MEM_OBJECT_ALLOCATION_FAILURE;
    *out = NULL;
    if (!clnn__fault_hit("clCreateBuffer"))
        *out = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes ? bytes : 4, NULL, &err);
    if (err != CL_SUCCESS) {
        char what[96];
        snprintf(what, sizeof what, "allocating %zu bytes on the device (clCreateBuffer)", bytes);
        *out = NULL;
        return clnn__cl_check(err, what);
    }
    clnn__live_add(CLNN__LIVE_BUFFER, 1);
    return CLNN_OK;
}

void clnn__buffer_release(cl_mem *buf)
{
    if (*buf) {
        clReleaseMemObject(*buf);
        clnn__live_add(CLNN__LIVE_BUFFER, -1);
    }
    *buf = NULL;
}

void clnn__event_release(cl_event *event)
{
    if (*event) {
        clReleaseEvent(*event);
        clnn__live_add(CLNN__LIVE_EVENT, -1);
    }
    *event = NULL;
}

clnn_status clnn__event_wait_release(cl_event *event)
{
    if (!*event)
        return CLNN_OK;
    cl_int err = clnn__fault_hit("clWaitForEvents") ? CL_OUT_OF_RESOURCES
                                                    : clWaitForEvents(1, event);
    clnn__event_release(event);
    return clnn__cl_check(err, "waiting for the device (clWaitForEvents)");
}

clnn_status clnn__buffer_write(clnn_context *ctx, cl_mem buf, size_t offset, size_t bytes,
                               const void *src, bool blocking, cl_event *event)
{
    if (bytes == 0)
        return CLNN_OK;
    cl_event ev = NULL;
    if (!event && ctx->profiling)
        event = &ev;
    clnn__profile_work(ctx, 0, (double)bytes);
    cl_int err = clnn__fault_hit("clEnqueueWriteBuffer")
                     ? CL_OUT_OF_RESOURCES
                     : clEnqueueWriteBuffer(ctx->queue, buf, blocking ? CL_TRUE : CL_FALSE, offset,
                                            bytes, src, 0, NULL, event);
    if (err == CL_SUCCESS && event) {
        clnn__live_add(CLNN__LIVE_EVENT, 1);
        if (ctx->profiling) {
            clRetainEvent(*event);
            clnn__live_add(CLNN__LIVE_EVENT, 1);
            clnn__profile_add(ctx, "upload", *event);
        }
    }
    clnn__event_release(&ev);
    return clnn__cl_check(err, "clEnqueueWriteBuffer");
}

clnn_status clnn__buffer_read(clnn_context *ctx, cl_mem buf, size_t offset, size_t bytes,
                              void *dst)
{
    if (bytes == 0)
        return CLNN_OK;
    cl_int err = clnn__fault_hit("clEnqueueReadBuffer")
                     ? CL_OUT_OF_RESOURCES
                     : clEnqueueReadBuffer(ctx->queue, buf, CL_TRUE, offset, bytes, dst, 0, NULL,
                                           NULL);
    return clnn__cl_check(err, "clEnqueueReadBuffer");
}

clnn_status clnn__buffer_read_rows(clnn_context *ctx, cl_mem buf, size_t rows, size_t cols,
                                   size_t ld, float *dst)
{
    if (rows == 0 || cols == 0)
        return CLNN_OK;
    const size_t origin[3] = {0, 0, 0}, region[3] = {cols * sizeof(float), rows, 1};
    cl_int err = clnn__fault_hit("clEnqueueReadBuffer")
                     ? CL_OUT_OF_RESOURCES
                     : clEnqueueReadBufferRect(ctx->queue, buf, CL_TRUE, origin, origin, region,
                                               ld * sizeof(float), 0, cols * sizeof(float), 0,
                                               dst, 0, NULL, NULL);
    return clnn__cl_check(err, "clEnqueueReadBufferRect");
}

clnn_status clnn__buffer_zero(clnn_context *ctx, cl_mem buf, size_t offset, size_t bytes)
{
    if (bytes == 0)
        return CLNN_OK;
    const float zero = 0.0f;
    cl_int err = clnn__fault_hit("clEnqueueFillBuffer")
                     ? CL_OUT_OF_RESOURCES
                     : clEnqueueFillBuffer(ctx->queue, buf, &zero, sizeof zero, offset, bytes, 0,
                                           NULL, NULL);
    return clnn__cl_check(err, "clEnqueueFillBuffer");
}

const size_t *clnn__spread_local(const clnn_context *ctx, size_t items, size_t *local)
{
    if (ctx->info.type != CLNN_DEVICE_CPU)
        return NULL;
    size_t groups = 2 * (ctx->info.compute_units ? ctx->info.compute_units : 1);
    size_t l = 1;
    while (l * 2 <= items / groups && l < 64)
        l *= 2;
    *local = l;
    return local;
}

clnn_status clnn__launch(clnn_context *ctx, cl_kernel kernel, const char *name, cl_uint dims,
                         const size_t *global, const size_t *local, const clnn__arg *args,
                         size_t nargs)
{
    for (size_t i = 0; i < nargs; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS) {
            char what[160];
            snprintf(what, sizeof what, "setting argument %zu of kernel %s", i, name);
            return clnn__cl_check(err, what);
        }
    }
    size_t g[3];
    for (cl_uint d = 0; d < dims; d++) {
        g[d] = global[d] ? global[d] : 1;
        if (local)
            g[d] = (g[d] + local[d] - 1) / local[d] * local[d];
    }
    cl_event ev = NULL;
    cl_int err = clnn__fault_hit("clEnqueueNDRangeKernel")
                     ? CL_OUT_OF_RESOURCES
                     : clEnqueueNDRangeKernel(ctx->queue, kernel, dims, NULL, g, local, 0, NULL,
                                              clnn__profile_event(ctx, &ev));
    if (ev) {
        clnn__live_add(CLNN__LIVE_EVENT, 1);
        clnn__replay_record(ctx, name, kernel, dims, g, local, args, nargs);
    }
    clnn__profile_add(ctx, name, ev);
    if (err != CL_SUCCESS) {
        char what[160];
        snprintf(what, sizeof what, "launching kernel %s", name);
        return clnn__cl_check(err, what);
    }
    return CLNN_OK;
}
