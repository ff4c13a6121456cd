/* Internal helpers shared by every part of the library (no OpenCL here). */
#ifndef CLNN_INTERNAL_H
#define CLNN_INTERNAL_H

#include "clnn.h"

#include <stdarg.h>

#if defined(__MINGW32__)
/* MinGW's "printf" archetype is the Microsoft one, which knows no %zu; the
 * library builds with MinGW's C99 stdio (strict C11 turns it on). */
#define CLNN__PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__)
#define CLNN__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLNN__PRINTF(f, a)
#endif

/* Record a detailed message as this thread's last error and return status. */
clnn_status clnn__fail(clnn_status status, const char *fmt, ...) CLNN__PRINTF(2, 3);
/* Prefix the current last-error message with context ("loading model: ..."). */
clnn_status clnn__fail_context(clnn_status status, const char *fmt, ...) CLNN__PRINTF(2, 3);
/* Forget the last error (called at the start of public entry points). */
void clnn__clear_error(void);
/* Send a message to the log callback, if one is installed: the one routed
 * to this thread (a context's own), else the process-wide one. */
void clnn__log(clnn_log_level level, const char *fmt, ...) CLNN__PRINTF(2, 3);
typedef struct clnn__log_sink {
    clnn_log_fn fn; /* NULL: the process-wide callback */
    void *user;
} clnn__log_sink;
/* Route this thread's messages to sink; returns the routing before, to be
 * put back when the call that routed them ends. */
clnn__log_sink clnn__log_route(clnn__log_sink sink);

/* Versioned structs (base/versioned.c): the first member is size_t
 * struct_size. struct_in copies a caller's struct over *full (which holds
 * the defaults of the fields an older caller lacks) and sets full's
 * struct_size to full_size, as the library's own copy. An output record is
 * checked first (struct_out_check, before any work) and filled last
 * (struct_out: a filled *full into the caller's struct_size bytes, leaving
 * its struct_size). The checks refuse a struct_size below min_size (the
 * first version's size), naming the call and the type. */
clnn_status clnn__struct_in(void *full, size_t full_size, const void *given, size_t min_size,
                            const char *call, const char *type);
clnn_status clnn__struct_out_check(const void *given, size_t min_size, const char *call,
                                   const char *type);
void clnn__struct_out(void *given, const void *full, size_t full_size);
/* The size of a struct's first version: up to and including its last field
 * then. Stays the same when later versions append fields. */
#define CLNN__V1_SIZE(type, last_field) (offsetof(type, last_field) + sizeof(((type *)0)->last_field))
/* The first version of every versioned public struct. Fixed once released:
 * a later version appends fields after these, and leaves these lines be. */
#define CLNN__V1_clnn_context_options CLNN__V1_SIZE(clnn_context_options, progress_user)
#define CLNN__V1_clnn_device_info CLNN__V1_SIZE(clnn_device_info, max_work_group_size)
#define CLNN__V1_clnn_device_peak CLNN__V1_SIZE(clnn_device_peak, launch_wait_us)
#define CLNN__V1_clnn_profile_entry CLNN__V1_SIZE(clnn_profile_entry, gap_ms)
#define CLNN__V1_clnn_tune_options CLNN__V1_SIZE(clnn_tune_options, missing_only)
#define CLNN__V1_clnn_tune_result CLNN__V1_SIZE(clnn_tune_result, gflops)
#define CLNN__V1_clnn_tune_report CLNN__V1_SIZE(clnn_tune_report, path)
#define CLNN__V1_clnn_layer_info CLNN__V1_SIZE(clnn_layer_info, prefix)
#define CLNN__V1_clnn_optimizer_options CLNN__V1_SIZE(clnn_optimizer_options, eps)
#define CLNN__V1_clnn_parallel_options CLNN__V1_SIZE(clnn_parallel_options, sync_batchnorm)
#define CLNN__V1_clnn_tensor_info CLNN__V1_SIZE(clnn_tensor_info, trainable)
#define CLNN__V1_clnn_dataset_options CLNN__V1_SIZE(clnn_dataset_options, like)
/* The same for a public type, the library's copy being *full. */
#define CLNN__STRUCT_IN(type, full, given, call)                                                   \
    clnn__struct_in((full), sizeof(type), (given), CLNN__V1_##type, (call), #type)
#define CLNN__STRUCT_OUT_CHECK(type, given, call)                                                  \
    clnn__struct_out_check((given), CLNN__V1_##type, (call), #type)
#define CLNN__STRUCT_OUT(type, given, full) clnn__struct_out((given), (full), sizeof(type))

/* Allocation that records CLNN_ERR_OUT_OF_MEMORY on failure. */
void *clnn__malloc(size_t bytes);
void *clnn__calloc(size_t count, size_t size);
char *clnn__strdup(const char *s);

/* Deterministic random numbers (xoshiro256** seeded by splitmix64). */
typedef struct clnn__rng {
    uint64_t s[4];
} clnn__rng;
void clnn__rng_seed(clnn__rng *rng, uint64_t seed, uint64_t stream);
uint64_t clnn__rng_next(clnn__rng *rng);
/* Uniform in [0, 1) with 24 random bits. */
float clnn__rng_uniform(clnn__rng *rng);
/* Uniform integer in [0, bound). */
uint64_t clnn__rng_below(clnn__rng *rng, uint64_t bound);

/* 64-bit FNV-1a, for cache keys and file names (not for integrity: files
 * use CRC-32). Start with CLNN__FNV1A_BASIS and chain calls. */
#define CLNN__FNV1A_BASIS 0xcbf29ce484222325ull
uint64_t clnn__fnv1a(uint64_t h, const void *data, size_t len);

/* ASCII case-insensitive comparison, and substring search (base/text.c). */
int clnn__strcasecmp(const char *a, const char *b);
bool clnn__contains_nocase(const char *hay, const char *needle);
/* strtod of the len bytes at s, written with C's '.' as the point, in any
 * process locale (strtod reads the locale's); false unless they are all
 * one number. */
bool clnn__strtod_c(const char *s, size_t len, double *out);
/* Copy src into dst (cap > 0 bytes), cut short to fit; always terminated. */
void clnn__copy_string(char *dst, size_t cap, const char *src);

#define CLNN__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CLNN__MIN(a, b) ((a) < (b) ? (a) : (b))
#define CLNN__MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
