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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define MAGIC "CLNNPROG1\n"

clnn_status clnn__cache_dir(const clnn_context *ctx, const char *sub, bool create, char *buf,
                            size_t cap)
{
    char root[3072];
    clnn_status st = CLNN_OK;
    if (ctx->cache_dir)
        snprintf(root, sizeof root, "%s", ctx->cache_dir);
    else
        st = clnn__user_cache_dir(root, sizeof root);
    if (st != CLNN_OK)
        return st;
    int n = snprintf(buf, cap, "%s" CLNN__PATH_SEP "%s", root, sub);
    if (n < 0 || (size_t)n >= cap)
        return clnn__fail(CLNN_ERR_IO, "the cache folder's path '%s' is too long; choose a "
                                       "shorter one",
                          root);
    if (create && (st = clnn__mkdirs(buf)) != CLNN_OK)
        return clnn__fail_context(st, "cache folder");
    return CLNN_OK;
}

bool clnn__program_cache_enabled(const clnn_context *ctx, clnn_switch asked)
{
    if (asked != CLNN_SWITCH_DEFAULT)
        return asked == CLNN_SWITCH_ON;
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
#define KEY_FORMAT "%s|%s|%s|%s|clnn %s|%s|%s|%zu|%016llx"
#define KEY_ARGS                                                                                   \
    ctx->info.platform, ctx->info.name, ctx->info.driver_version, ctx->info.device_version,        \
        clnn_version(), name, options, lengths[count - 1], (unsigned long long)h
    int n = snprintf(NULL, 0, KEY_FORMAT, KEY_ARGS);
    char *key = n < 0 ? NULL : malloc((size_t)n + 1);
    if (key)
        snprintf(key, (size_t)n + 1, KEY_FORMAT, KEY_ARGS);
    return key;
#undef KEY_FORMAT
#undef KEY_ARGS
}

static bool path_for(const clnn_context *ctx, const char *key, bool create, char *buf,
                     size_t cap)
{
    char dir[3072];
    clnn_status st = clnn__cache_dir(ctx, "programs", create, dir, sizeof dir);
    clnn__clear_error(); /* a cache that cannot be used is not an error */
    if (st != CLNN_OK)
        return false;
    uint64_t h = clnn__fnv1a(CLNN__FNV1A_BASIS, key, strlen(key));
    return snprintf(buf, cap, "%s" CLNN__PATH_SEP "%016llx.bin", dir, (unsigned long long)h) <
           (int)cap;
}

cl_program clnn__program_cache_load(clnn_context *ctx, const char *key)
{
    char path[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    if (!path_for(ctx, key, false, path, sizeof path) || clnn__read_file(path, &data, &len) != CLNN_OK) {
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
    if (!path_for(ctx, key, true, path, sizeof path) ||
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
