/* Fault injection and live-object counts for the OpenCL layer.
 *
 * CLNN_FAULT_INJECT=<call>:<n> makes the n-th call (1-based) of <call> fail
 * as the driver would, where <call> is an OpenCL function name such as
 * clCreateBuffer, or "any" for the n-th call of every kind together. Only
 * calls that can fail in practice take part (creation, builds, enqueues,
 * waits), never releases. Tests use it to prove that every failure ends in a
 * clear status with nothing leaked; the counts below show the leaks. */
#include "runtime/runtime.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static clnn__once env_once = CLNN__ONCE_INIT;
static clnn__mutex spec_lock = CLNN__MUTEX_INIT;
static char spec_call[64];
static unsigned long long spec_n;
static atomic_ullong calls_matching;
static atomic_ullong calls_total;
static atomic_long live[CLNN__LIVE_KINDS];
static CLNN__THREAD_LOCAL const char *injected_call;

static void parse_spec(const char *spec)
{
    spec_call[0] = '\0';
    spec_n = 0;
    if (!spec || !*spec)
        return;
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof spec_call)
        return;
    char *end;
    unsigned long long n = strtoull(colon + 1, &end, 10);
    if (*end || n == 0)
        return;
    memcpy(spec_call, spec, (size_t)(colon - spec));
    spec_call[colon - spec] = '\0';
    spec_n = n;
}

static void init_from_env(void)
{
    char buf[128];
    parse_spec(clnn__debug_env("CLNN_FAULT_INJECT", buf, sizeof buf));
}

void clnn__fault_configure(const char *spec)
{
    clnn__call_once(&env_once, init_from_env);
    clnn__mutex_lock(&spec_lock);
    parse_spec(spec);
    atomic_store(&calls_matching, 0);
    atomic_store(&calls_total, 0);
    clnn__mutex_unlock(&spec_lock);
}

unsigned long long clnn__fault_calls(void)
{
    return atomic_load(&calls_total);
}

bool clnn__fault_hit(const char *call)
{
    clnn__call_once(&env_once, init_from_env);
    atomic_fetch_add(&calls_total, 1);
    if (spec_n == 0)
        return false;
    bool any = strcmp(spec_call, "any") == 0;
    if (!any && strcmp(spec_call, call) != 0)
        return false;
    if (atomic_fetch_add(&calls_matching, 1) + 1 != spec_n)
        return false;
    injected_call = call;
    clnn__log(CLNN_LOG_WARN, "CLNN_FAULT_INJECT: failing %s (call %llu of %s)", call, spec_n,
              spec_call);
    return true;
}

const char *clnn__fault_take(void)
{
    const char *c = injected_call;
    injected_call = NULL;
    return c;
}

void clnn__live_add(clnn__live_kind kind, long delta)
{
    atomic_fetch_add(&live[kind], delta);
}

long clnn__live(clnn__live_kind kind)
{
    return atomic_load(&live[kind]);
}
