/* OpenCL, loaded at run time. The library links no OpenCL library: an
 * application that embeds clnn starts on a machine without any OpenCL
 * driver, and learns from CLNN_ERR_NO_PLATFORM when it asks for a device.
 *
 * The Khronos headers give the types, constants and prototypes (whose types
 * the table's pointers take: __typeof__ names a function's type without
 * referring to the function, so nothing is linked). clnn__opencl_load fills one
 * table with the entry points below; after it, a call written clFinish(q)
 * goes through the table (the names are macros), so the rest of the runtime
 * reads as plain OpenCL. Files include this through runtime/runtime.h. */
#ifndef CLNN_RUNTIME_OPENCL_H
#define CLNN_RUNTIME_OPENCL_H

#include <CL/cl.h>

#include "internal.h"

/* Every OpenCL entry point the library calls: OpenCL 1.2 core only. */
#define CLNN__OPENCL_FUNCTIONS(X)                                                                  \
    X(clGetPlatformIDs)                                                                            \
    X(clGetPlatformInfo)                                                                           \
    X(clGetDeviceIDs)                                                                              \
    X(clGetDeviceInfo)                                                                             \
    X(clCreateContext)                                                                             \
    X(clRetainContext)                                                                             \
    X(clReleaseContext)                                                                            \
    X(clGetContextInfo)                                                                            \
    X(clCreateCommandQueue)                                                                        \
    X(clRetainCommandQueue)                                                                        \
    X(clReleaseCommandQueue)                                                                       \
    X(clGetCommandQueueInfo)                                                                       \
    X(clCreateBuffer)                                                                              \
    X(clReleaseMemObject)                                                                          \
    X(clCreateProgramWithSource)                                                                   \
    X(clCreateProgramWithBinary)                                                                   \
    X(clBuildProgram)                                                                              \
    X(clGetProgramInfo)                                                                            \
    X(clGetProgramBuildInfo)                                                                       \
    X(clReleaseProgram)                                                                            \
    X(clCreateKernel)                                                                              \
    X(clSetKernelArg)                                                                              \
    X(clGetKernelWorkGroupInfo)                                                                    \
    X(clReleaseKernel)                                                                             \
    X(clEnqueueNDRangeKernel)                                                                      \
    X(clEnqueueReadBuffer)                                                                         \
    X(clEnqueueReadBufferRect)                                                                     \
    X(clEnqueueWriteBuffer)                                                                        \
    X(clEnqueueFillBuffer)                                                                         \
    X(clWaitForEvents)                                                                             \
    X(clGetEventProfilingInfo)                                                                     \
    X(clRetainEvent)                                                                               \
    X(clReleaseEvent)                                                                              \
    X(clFinish)

typedef struct clnn__opencl_api {
#define CLNN__OPENCL_FIELD(name) __typeof__(&name) name;
    CLNN__OPENCL_FUNCTIONS(CLNN__OPENCL_FIELD)
#undef CLNN__OPENCL_FIELD
} clnn__opencl_api;

/* Filled once by a successful clnn__opencl_load, then read-only. */
extern clnn__opencl_api clnn__cl;

/* Load OpenCL if it is not loaded yet; thread-safe, and tried again on the
 * next call after a failure (a driver may be installed meanwhile). Where
 * from, in this order: `library` when not NULL (a context option), else
 * $CLNN_OPENCL_LIBRARY, else an OpenCL the process already has (linked by
 * the application, or preloaded by a tool such as Oclgrind), else the
 * system's: OpenCL.dll on Windows, the OpenCL framework on macOS,
 * libOpenCL.so.1 elsewhere. CLNN_ERR_NO_PLATFORM, naming what was tried
 * and how to install a driver, when none loads; CLNN_ERR_STATE when OpenCL
 * is already loaded from another library than the one named. */
clnn_status clnn__opencl_load(const char *library);

/* Where OpenCL was loaded from ("" before it was). */
const char *clnn__opencl_source(void);

/* A plain call clFinish(...) goes through the table (not in opencl.c, which
 * fills it). */
#ifndef CLNN__OPENCL_NO_ROUTES
#define CLNN__OPENCL_ROUTE(name) clnn__cl.name
#define clGetPlatformIDs CLNN__OPENCL_ROUTE(clGetPlatformIDs)
#define clGetPlatformInfo CLNN__OPENCL_ROUTE(clGetPlatformInfo)
#define clGetDeviceIDs CLNN__OPENCL_ROUTE(clGetDeviceIDs)
#define clGetDeviceInfo CLNN__OPENCL_ROUTE(clGetDeviceInfo)
#define clCreateContext CLNN__OPENCL_ROUTE(clCreateContext)
#define clRetainContext CLNN__OPENCL_ROUTE(clRetainContext)
#define clReleaseContext CLNN__OPENCL_ROUTE(clReleaseContext)
#define clGetContextInfo CLNN__OPENCL_ROUTE(clGetContextInfo)
#define clCreateCommandQueue CLNN__OPENCL_ROUTE(clCreateCommandQueue)
#define clRetainCommandQueue CLNN__OPENCL_ROUTE(clRetainCommandQueue)
#define clReleaseCommandQueue CLNN__OPENCL_ROUTE(clReleaseCommandQueue)
#define clGetCommandQueueInfo CLNN__OPENCL_ROUTE(clGetCommandQueueInfo)
#define clCreateBuffer CLNN__OPENCL_ROUTE(clCreateBuffer)
#define clReleaseMemObject CLNN__OPENCL_ROUTE(clReleaseMemObject)
#define clCreateProgramWithSource CLNN__OPENCL_ROUTE(clCreateProgramWithSource)
#define clCreateProgramWithBinary CLNN__OPENCL_ROUTE(clCreateProgramWithBinary)
#define clBuildProgram CLNN__OPENCL_ROUTE(clBuildProgram)
#define clGetProgramInfo CLNN__OPENCL_ROUTE(clGetProgramInfo)
#define clGetProgramBuildInfo CLNN__OPENCL_ROUTE(clGetProgramBuildInfo)
#define clReleaseProgram CLNN__OPENCL_ROUTE(clReleaseProgram)
#define clCreateKernel CLNN__OPENCL_ROUTE(clCreateKernel)
#define clSetKernelArg CLNN__OPENCL_ROUTE(clSetKernelArg)
#define clGetKernelWorkGroupInfo CLNN__OPENCL_ROUTE(clGetKernelWorkGroupInfo)
#define clReleaseKernel CLNN__OPENCL_ROUTE(clReleaseKernel)
#define clEnqueueNDRangeKernel CLNN__OPENCL_ROUTE(clEnqueueNDRangeKernel)
#define clEnqueueReadBuffer CLNN__OPENCL_ROUTE(clEnqueueReadBuffer)
#define clEnqueueReadBufferRect CLNN__OPENCL_ROUTE(clEnqueueReadBufferRect)
#define clEnqueueWriteBuffer CLNN__OPENCL_ROUTE(clEnqueueWriteBuffer)
#define clEnqueueFillBuffer CLNN__OPENCL_ROUTE(clEnqueueFillBuffer)
#define clWaitForEvents CLNN__OPENCL_ROUTE(clWaitForEvents)
#define clGetEventProfilingInfo CLNN__OPENCL_ROUTE(clGetEventProfilingInfo)
#define clRetainEvent CLNN__OPENCL_ROUTE(clRetainEvent)
#define clReleaseEvent CLNN__OPENCL_ROUTE(clReleaseEvent)
#define clFinish CLNN__OPENCL_ROUTE(clFinish)

/* Every entry point of the table is routed: an entry without its macro
 * above would call the function linked at build time, which no longer is. */
#define CLNN__OPENCL_TEXT(x) #x
#define CLNN__OPENCL_ROUTED(name)                                                                  \
    _Static_assert(sizeof(CLNN__OPENCL_TEXT(name)) != sizeof(#name),                               \
                   #name " is not routed through clnn__cl");
CLNN__OPENCL_FUNCTIONS(CLNN__OPENCL_ROUTED)
#undef CLNN__OPENCL_ROUTED
#endif

#endif
