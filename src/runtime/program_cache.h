/* On-disk cache of compiled OpenCL program binaries (see program_cache.c). */
#ifndef CLNN_RUNTIME_PROGRAM_CACHE_H
#define CLNN_RUNTIME_PROGRAM_CACHE_H

#include "runtime/runtime.h"

/* <cache root>/<sub>: the context's cache folder if it was given one, else
 * the user's (clnn__user_cache_dir). Created only when create is set, by
 * writers: looking a file up must not leave folders in the user's home. */
clnn_status clnn__cache_dir(const clnn_context *ctx, const char *sub, bool create, char *buf,
                            size_t cap);
/* options.program_cache when not DEFAULT, else CLNN_PROGRAM_CACHE, else on
 * except on PoCL (decided once per context: its program_cache field). */
bool clnn__program_cache_enabled(const clnn_context *ctx, clnn_switch asked);
/* The key that identifies one build (malloc'ed; NULL without memory). */
char *clnn__program_cache_key(const clnn_context *ctx, const char *name, const char *options,
                              const char *const *texts, const size_t *lengths, size_t count);
/* A program created from a cached binary (not yet built), or NULL. */
cl_program clnn__program_cache_load(clnn_context *ctx, const char *key);
/* Store a built program's binary; failures only log. */
void clnn__program_cache_store(clnn_context *ctx, const char *key, cl_program prog);

#endif
