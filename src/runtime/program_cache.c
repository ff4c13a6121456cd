/* On-disk cache of compiled program binaries: a warm start then skips the
 * OpenCL C compiler. Keyed by device, driver, clnn version, build options
 * and the full source text; each file repeats its key, so a hash collision
 * or a stale file is never loaded.
 * Drivers that cache compiled kernels themselves (PoCL) are left to it
 * unless CLNN_PROGRAM_CACHE=1: there a warm build from source costs ~16 ms
 * per program (90–115 ms per start for the reference network, against
 * 10 ms from binaries), but handing out a binary costs PoCL a compile of
 * each kernel in the program (+2 s once for the reference network, with
 * programs of one kernel each, see program.c). CLNN_PROGRAM_CACHE=0 turns
 * the cache off everywhere. */
#include "runtime/program_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/atomic_file.h"

#define MAGIC "CLNNPROG1\n"

static clnn_status mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0777);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return clnn__fail(CLNN_ERR_IO, "cannot create cache folder '%s': %s", path,
                              strerror(errno));
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return clnn__fail(CLNN_ERR_IO, "cannot create cache folder '%s': %s", path,
                          strerror(errno));
    return CLNN_OK;
}

clnn_status clnn__cache_dir(const char *sub, bool create, char *buf, size_t cap)
{
    const char *env = getenv("CLNN_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (env && *env)
        n = snprintf(buf, cap, "%s/%s", env, sub);
    else if (xdg && *xdg)
        n = snprintf(buf, cap, "%s/clnn/%s", xdg, sub);
    else if (home && *home)
        n = snprintf(buf, cap, "%s/.cache/clnn/%s", home, sub);
    else
        return clnn__fail(CLNN_ERR_IO, "no cache folder: set CLNN_CACHE_DIR, XDG_CACHE_HOME or "
                                       "HOME");
    if (n < 0 || (size_t)n >= cap)
        return clnn__fail(CLNN_ERR_IO, "cache folder path too long");
    return create ? mkdirs(buf) : CLNN_OK;
}

bool clnn__program_cache_enabled(const clnn_context *ctx)
{
    const char *env = getenv("CLNN_PROGRAM_CACHE");
    if (env && *env)
        return *env == '1';
    return strstr(ctx->info.platform, "Portable Computing Language") == NULL;
}

char *clnn__program_cache_key(const clnn_context *ctx, const char *name, const char *options,
                              const char *const *texts, const size_t *lengths, size_t count)
{
    uint64_t h = CLNN__FNV1A_BASIS;
    for (size_t i = 0; i < count; i++)
        h = clnn__fnv1a(h, texts[i], lengths[i]);
    char *key = NULL;
    if (asprintf(&key, "%s|%s|%s|%s|clnn %s|%s|%s|%zu|%016llx", ctx->info.platform,
                 ctx->info.name, ctx->info.driver_version, ctx->info.device_version,
                 clnn_version(), name, options, lengths[count - 1], (unsigned long long)h) < 0)
        return NULL;
    return key;
}

static bool path_for(const char *key, bool create, char *buf, size_t cap)
{
    char dir[3072];
    clnn_status st = clnn__cache_dir("programs", create, dir, sizeof dir);
    clnn__clear_error(); /* a cache that cannot be used is not an error */
    if (st != CLNN_OK)
        return false;
    uint64_t h = clnn__fnv1a(CLNN__FNV1A_BASIS, key, strlen(key));
    return snprintf(buf, cap, "%s/%016llx.bin", dir, (unsigned long long)h) < (int)cap;
}

cl_program clnn__program_cache_load(clnn_context *ctx, const char *key)
{
    char path[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    if (!path_for(key, false, path, sizeof path) || clnn__read_file(path, &data, &len) != CLNN_OK) {
        clnn__clear_error();
        return NULL;
    }
    size_t klen = strlen(key), head = strlen(MAGIC) + klen + 1;
    cl_program prog = NULL;
    if (len > head && memcmp(data, MAGIC, strlen(MAGIC)) == 0 &&
        memcmp(data + strlen(MAGIC), key, klen) == 0 && data[head - 1] == '\n') {
        const unsigned char *bin = data + head;
        size_t bin_len = len - head;
        cl_int err = CL_INVALID_BINARY, bin_status = CL_INVALID_BINARY;
        if (!clnn__fault_hit("clCreateProgramWithBinary"))
            prog = clCreateProgramWithBinary(ctx->cl, 1, &ctx->device, &bin_len, &bin,
                                             &bin_status, &err);
        if (prog && (err != CL_SUCCESS || bin_status != CL_SUCCESS)) {
            clReleaseProgram(prog);
            prog = NULL;
        }
    }
    free(data);
    if (prog)
        clnn__live_add(CLNN__LIVE_PROGRAM, 1);
    return prog;
}

void clnn__program_cache_store(clnn_context *ctx, const char *key, cl_program prog)
{
    char path[4096];
    size_t size = 0;
    if (!path_for(key, true, path, sizeof path) ||
        clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
        size == 0)
        return;
    unsigned char *bin = malloc(size);
    if (!bin)
        return;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS) {
        const void *chunks[] = {MAGIC, key, "\n", bin};
        size_t lengths[] = {strlen(MAGIC), strlen(key), 1, size};
        if (clnn__atomic_write(path, chunks, lengths, 4) != CLNN_OK)
            clnn__log(CLNN_LOG_WARN, "program cache not written: %s", clnn_last_error());
        else
            clnn__log(CLNN_LOG_DEBUG, "cached program binary in %s", path);
        clnn__clear_error();
    }
    free(bin);
}
