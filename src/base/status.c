/* Status table, per-thread last-error text and the log callback. */
#include "base/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLNN__ERROR_CAP 16384 /* room for a kernel build log */

static CLNN__THREAD_LOCAL char last_error[CLNN__ERROR_CAP];

/* CLNN_STATUS_COUNT is one more than the highest status: the table's
 * values are below it and as many as it says, and (the switches below
 * allow no repeated case) distinct, so they are exactly 0 .. COUNT - 1. */
#define CLNN__STATUS_ONE(suffix, value, text) +1
#define CLNN__STATUS_BELOW_COUNT(suffix, value, text) &&(value) < CLNN_STATUS_COUNT
_Static_assert(0 CLNN_STATUS_TABLE(CLNN__STATUS_ONE) == CLNN_STATUS_COUNT,
               "CLNN_STATUS_COUNT is not the number of statuses in CLNN_STATUS_TABLE");
_Static_assert(1 CLNN_STATUS_TABLE(CLNN__STATUS_BELOW_COUNT),
               "a status in CLNN_STATUS_TABLE is not below CLNN_STATUS_COUNT");
#undef CLNN__STATUS_ONE
#undef CLNN__STATUS_BELOW_COUNT

const char *clnn_strerror(clnn_status status)
{
    switch (status) {
#define CLNN__STATUS_TEXT(suffix, value, text)                                                     \
    case CLNN_##suffix:                                                                            \
        return text;
        CLNN_STATUS_TABLE(CLNN__STATUS_TEXT)
#undef CLNN__STATUS_TEXT
    case CLNN_STATUS_COUNT:
        break;
    }
    return "unknown status";
}

const char *clnn_status_name(clnn_status status)
{
    switch (status) {
#define CLNN__STATUS_NAME(suffix, value, text)                                                     \
    case CLNN_##suffix:                                                                            \
        return "CLNN_" #suffix;
        CLNN_STATUS_TABLE(CLNN__STATUS_NAME)
#undef CLNN__STATUS_NAME
    case CLNN_STATUS_COUNT:
        break;
    }
    return "CLNN_UNKNOWN";
}

const char *clnn_last_error(void)
{
    return last_error;
}

void clnn__clear_error(void)
{
    last_error[0] = '\0';
}

/* The process-wide callback: function and user pointer change together
 * under the lock, so a message never reaches the new function with the old
 * pointer. */
static clnn__mutex log_lock = CLNN__MUTEX_INIT;
static clnn_log_fn log_fn;
static void *log_user;
/* A context's own callback, while a call on it runs on this thread. */
static CLNN__THREAD_LOCAL clnn__log_sink routed;

void clnn_set_log_callback(clnn_log_fn fn, void *user)
{
    clnn__mutex_lock(&log_lock);
    log_fn = fn;
    log_user = user;
    clnn__mutex_unlock(&log_lock);
}

clnn__log_sink clnn__log_route(clnn__log_sink sink)
{
    clnn__log_sink before = routed;
    routed = sink;
    return before;
}

static void vlog(clnn_log_level level, const char *fmt, va_list ap)
{
    clnn__log_sink to = routed;
    if (!to.fn) {
        clnn__mutex_lock(&log_lock);
        to.fn = log_fn;
        to.user = log_user;
        clnn__mutex_unlock(&log_lock);
    }
    if (!to.fn)
        return;
    char msg[CLNN__ERROR_CAP];
    vsnprintf(msg, sizeof msg, fmt, ap);
    to.fn(level, msg, to.user);
}

void clnn__log(clnn_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

clnn_status clnn__fail(clnn_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    clnn__log(CLNN_LOG_DEBUG, "%s: %s", clnn_status_name(status), last_error);
    return status;
}

clnn_status clnn__fail_context(clnn_status status, const char *fmt, ...)
{
    char prefix[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n < 0)
        return status;
    size_t plen = strlen(prefix);
    size_t old = strlen(last_error);
    if (plen + 2 + old + 1 > sizeof last_error)
        old = sizeof last_error - plen - 3;
    memmove(last_error + plen + 2, last_error, old);
    memcpy(last_error, prefix, plen);
    last_error[plen] = ':';
    last_error[plen + 1] = ' ';
    last_error[plen + 2 + old] = '\0';
    return status;
}

void *clnn__malloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of host memory allocating %zu bytes", bytes);
    return p;
}

void *clnn__calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of host memory allocating %zu × %zu bytes", count,
                   size);
    return p;
}

char *clnn__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = clnn__malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

const char *clnn_version(void)
{
    return CLNN_VERSION_STRING;
}

unsigned clnn_version_number(void)
{
    return CLNN_VERSION_NUMBER;
}
