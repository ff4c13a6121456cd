/* Device discovery across every OpenCL platform, device info and selection. */
#include "runtime/runtime.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_PLATFORM_HINT                                                                           \
    "no OpenCL platform found: install an OpenCL driver (ICD); for the CPU, the Debian "           \
    "package pocl-opencl-icd (apt-get install pocl-opencl-icd); for GPUs, the vendor's OpenCL "    \
    "driver. 'clinfo -l' lists what the loader sees"

#define LISTED_BY "clnn_device_get_info (or the clnn tool's 'clnn devices') lists them"

/* Every device of every platform, found once per process under a lock:
 * drivers set their devices up on the first clGetPlatformIDs, and PoCL is
 * not safe against two threads doing that at once (a crash inside device
 * discovery, or one thread told there is no device). A failed discovery is
 * not kept, so the next call tries again. */
static clnn__mutex discovery_lock = CLNN__MUTEX_INIT;
static cl_platform_id *found_platforms; /* per device: its platform */
static cl_device_id *found_devices;
static size_t found_count;

static clnn_status discover(cl_platform_id **platforms_out, cl_device_id **devices_out,
                            size_t *count)
{
    cl_uint np = 0;
    cl_int err = clnn__fault_hit("clGetPlatformIDs") ? CL_OUT_OF_HOST_MEMORY
                                                      : clGetPlatformIDs(0, NULL, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && np == 0))
        return clnn__fail(CLNN_ERR_NO_PLATFORM, NO_PLATFORM_HINT);
    if (err != CL_SUCCESS)
        return clnn__cl_check(err, "clGetPlatformIDs");
    cl_platform_id *plats = clnn__calloc(np, sizeof *plats);
    if (!plats)
        return CLNN_ERR_OUT_OF_MEMORY;
    err = clGetPlatformIDs(np, plats, NULL);
    if (err != CL_SUCCESS) {
        free(plats);
        return clnn__cl_check(err, "clGetPlatformIDs");
    }
    size_t total = 0, cap = 0;
    cl_device_id *devs = NULL;
    cl_platform_id *owners = NULL;
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        /* A platform without devices answers CL_DEVICE_NOT_FOUND: skip it. */
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0)
            continue;
        if (total + nd > cap) {
            cap = total + nd;
            cl_device_id *nd_ = realloc(devs, cap * sizeof *devs);
            cl_platform_id *no = realloc(owners, cap * sizeof *owners);
            if (nd_)
                devs = nd_;
            if (no)
                owners = no;
            if (!nd_ || !no) {
                free(devs);
                free(owners);
                free(plats);
                return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of memory listing devices");
            }
        }
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, devs + total, NULL) != CL_SUCCESS)
            continue;
        for (cl_uint d = 0; d < nd; d++)
            owners[total + d] = plats[p];
        total += nd;
    }
    free(plats);
    if (total == 0) {
        free(devs);
        free(owners);
        return clnn__fail(CLNN_ERR_NO_DEVICE,
                          "OpenCL platforms are installed but none has a device: check the "
                          "driver installation ('clinfo' shows details), or install "
                          "pocl-opencl-icd to use the CPU");
    }
    *platforms_out = owners;
    *devices_out = devs;
    *count = total;
    return CLNN_OK;
}

clnn_status clnn__devices(cl_platform_id **platforms_out, cl_device_id **devices_out, size_t *count)
{
    *platforms_out = NULL;
    *devices_out = NULL;
    *count = 0;
    clnn_status st = clnn__opencl_load(NULL);
    if (st != CLNN_OK)
        return st;
    clnn__mutex_lock(&discovery_lock);
    if (!found_devices)
        st = discover(&found_platforms, &found_devices, &found_count);
    if (st == CLNN_OK) {
        *platforms_out = clnn__calloc(found_count, sizeof **platforms_out);
        *devices_out = clnn__calloc(found_count, sizeof **devices_out);
        if (!*platforms_out || !*devices_out) {
            free(*platforms_out);
            free(*devices_out);
            *platforms_out = NULL;
            *devices_out = NULL;
            st = CLNN_ERR_OUT_OF_MEMORY;
        } else {
            memcpy(*platforms_out, found_platforms, found_count * sizeof **platforms_out);
            memcpy(*devices_out, found_devices, found_count * sizeof **devices_out);
            *count = found_count;
        }
    }
    clnn__mutex_unlock(&discovery_lock);
    return st;
}

clnn_status clnn_device_count(size_t *count)
{
    clnn__clear_error();
    if (!count)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_device_count: count is NULL");
    cl_platform_id *plats;
    cl_device_id *devs;
    clnn_status st = clnn__devices(&plats, &devs, count);
    free(plats);
    free(devs);
    return st;
}

/* Drivers refuse a buffer shorter than the whole string, so read it in full
 * and keep what fits. */
static void info_string(cl_device_id d, cl_device_info what, char *dst, size_t cap)
{
    char full[1024];
    dst[0] = '\0';
    if (clGetDeviceInfo(d, what, sizeof full, full, NULL) != CL_SUCCESS)
        return;
    full[sizeof full - 1] = '\0';
    clnn__copy_string(dst, cap, full);
}

/* CLNN_DEVICE_TYPE=cpu|gpu|accelerator|other makes every device count as that
 * kind where clnn chooses kernel variants and defaults: a simulator such as
 * Oclgrind, which reports every type at once, can then run the variants
 * clnn builds for CPUs. */
static clnn_status type_override(clnn_device_type *type)
{
    char buf[64];
    const char *want = clnn__debug_env("CLNN_DEVICE_TYPE", buf, sizeof buf);
    if (!want)
        return CLNN_OK;
    for (int t = CLNN_DEVICE_OTHER; t <= CLNN_DEVICE_ACCELERATOR; t++) {
        if (clnn__strcasecmp(want, clnn_device_type_name((clnn_device_type)t)) == 0) {
            *type = (clnn_device_type)t;
            return CLNN_OK;
        }
    }
    return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                      "CLNN_DEVICE_TYPE=%s: expected cpu, gpu, accelerator or other (or unset it)",
                      want);
}

static clnn_status fill_info(size_t index, cl_platform_id plat, cl_device_id d,
                             clnn_device_info *info)
{
    *info = (clnn_device_info){.struct_size = sizeof *info, .index = index};
    if (clGetPlatformInfo(plat, CL_PLATFORM_NAME, sizeof info->platform, info->platform, NULL) !=
        CL_SUCCESS)
        info->platform[0] = '\0';
    info->platform[sizeof info->platform - 1] = '\0';
    info_string(d, CL_DEVICE_NAME, info->name, sizeof info->name);
    info_string(d, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    info_string(d, CL_DEVICE_VERSION, info->device_version, sizeof info->device_version);
    info_string(d, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    info_string(d, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version,
                sizeof info->opencl_c_version);
    cl_device_type type = 0;
    cl_uint cu = 0;
    cl_ulong gmem = 0, lmem = 0, maxalloc = 0;
    size_t wg = 0;
    cl_int err = clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    err |= clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    err |= clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL);
    err |= clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lmem, &lmem, NULL);
    err |= clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof maxalloc, &maxalloc, NULL);
    err |= clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    if (clnn__fault_hit("clGetDeviceInfo"))
        err = CL_OUT_OF_HOST_MEMORY;
    if (err != CL_SUCCESS)
        return clnn__cl_check(err == CL_OUT_OF_HOST_MEMORY ? err : CL_INVALID_DEVICE,
                              "clGetDeviceInfo");
    info->type = (type & CL_DEVICE_TYPE_GPU)           ? CLNN_DEVICE_GPU
                 : (type & CL_DEVICE_TYPE_CPU)         ? CLNN_DEVICE_CPU
                 : (type & CL_DEVICE_TYPE_ACCELERATOR) ? CLNN_DEVICE_ACCELERATOR
                                                       : CLNN_DEVICE_OTHER;
    clnn_status st = type_override(&info->type);
    if (st != CLNN_OK)
        return st;
    info->compute_units = cu;
    info->global_mem_bytes = gmem;
    info->local_mem_bytes = lmem;
    info->max_alloc_bytes = maxalloc;
    info->max_work_group_size = wg;
    return CLNN_OK;
}

clnn_status clnn_device_get_info(size_t index, clnn_device_info *info)
{
    clnn__clear_error();
    if (!info)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_device_get_info: info is NULL");
    clnn_status st = CLNN__STRUCT_OUT_CHECK(clnn_device_info, info, "clnn_device_get_info");
    if (st != CLNN_OK)
        return st;
    cl_platform_id *plats;
    cl_device_id *devs;
    size_t n;
    st = clnn__devices(&plats, &devs, &n);
    if (st == CLNN_OK && index >= n)
        st = clnn__fail(CLNN_ERR_NO_DEVICE,
                        "device index %zu does not exist: there are %zu devices (0..%zu); "
                        LISTED_BY,
                        index, n, n - 1);
    clnn_device_info full;
    if (st == CLNN_OK)
        st = fill_info(index, plats[index], devs[index], &full);
    free(plats);
    free(devs);
    if (st == CLNN_OK)
        CLNN__STRUCT_OUT(clnn_device_info, info, &full);
    return st;
}

clnn_status clnn__device_describe(cl_device_id device, clnn_device_info *info)
{
    cl_platform_id plat = NULL;
    cl_int err = clGetDeviceInfo(device, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL);
    if (err != CL_SUCCESS)
        return clnn__cl_check(err, "clGetDeviceInfo(CL_DEVICE_PLATFORM)");
    cl_platform_id *plats;
    cl_device_id *devs;
    size_t n, index = SIZE_MAX; /* a device the platforms do not list (a sub-device) */
    clnn_status st = clnn__devices(&plats, &devs, &n);
    for (size_t i = 0; st == CLNN_OK && i < n; i++)
        if (devs[i] == device)
            index = i;
    free(plats);
    free(devs);
    return st == CLNN_OK ? fill_info(index, plat, device, info) : st;
}

const char *clnn_device_type_name(clnn_device_type type)
{
    switch (type) {
    case CLNN_DEVICE_CPU:
        return "CPU";
    case CLNN_DEVICE_GPU:
        return "GPU";
    case CLNN_DEVICE_ACCELERATOR:
        return "accelerator";
    case CLNN_DEVICE_OTHER:
        break;
    }
    return "other";
}

static bool parse_index(const char *s, size_t *out)
{
    if (!*s)
        return false;
    size_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > SIZE_MAX / 10 - 1)
            return false;
        v = v * 10 + (size_t)(*p - '0');
    }
    *out = v;
    return true;
}

clnn_status clnn_device_select(const char *selector, size_t *index)
{
    clnn__clear_error();
    if (!index)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_device_select: index is NULL");
    const char *origin = "the device selector ";
    char env[512];
    if (!selector || !*selector) {
        selector = clnn__env("CLNN_DEVICE", env, sizeof env);
        origin = "CLNN_DEVICE=";
    }
    clnn_device_type unused;
    clnn_status st = type_override(&unused); /* a bad value is the error, not "no match" */
    if (st != CLNN_OK)
        return st;
    cl_platform_id *plats;
    cl_device_id *devs;
    size_t n;
    st = clnn__devices(&plats, &devs, &n);
    if (st != CLNN_OK)
        return st;
    size_t found = n;
    if (!selector || !*selector) {
        found = 0; /* first GPU, else first device */
        for (size_t i = 0; i < n; i++) {
            cl_device_type t = 0;
            if (clGetDeviceInfo(devs[i], CL_DEVICE_TYPE, sizeof t, &t, NULL) == CL_SUCCESS &&
                (t & CL_DEVICE_TYPE_GPU)) {
                found = i;
                break;
            }
        }
    } else if (parse_index(selector, &found)) {
        if (found >= n)
            st = clnn__fail(CLNN_ERR_NO_DEVICE,
                            "%s'%s': no device with that index; there are %zu devices (0..%zu); "
                            LISTED_BY,
                            origin, selector, n, n - 1);
    } else {
        for (size_t i = 0; i < n && found == n; i++) {
            clnn_device_info info;
            if (fill_info(i, plats[i], devs[i], &info) != CLNN_OK)
                continue;
            char all[512];
            snprintf(all, sizeof all, "%s %s %s", info.platform, info.name, info.vendor);
            if (clnn__contains_nocase(all, selector))
                found = i;
        }
        if (found == n)
            st = clnn__fail(CLNN_ERR_NO_DEVICE,
                            "%s'%s' matches no OpenCL device (by index or by a part of its "
                            "platform, name or vendor); " LISTED_BY,
                            origin, selector);
    }
    free(plats);
    free(devs);
    if (st == CLNN_OK)
        *index = found;
    return st;
}
