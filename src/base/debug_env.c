/* Developer hooks read from the environment: fault injection, kernels
 * loaded from a folder, extra compiler options, layout and fusion switches
 * for comparisons. They exist for the test suite and kernel development;
 * an application must not find its training failing, or its kernels read
 * from disk, because of a variable in its environment. So they are compiled
 * in only with -Ddebug_hooks=enabled (meson's default outside release
 * builds: auto turns them on for debug and debugoptimized builds). */
#include "base/platform.h"

#ifndef CLNN_DEBUG_HOOKS
#define CLNN_DEBUG_HOOKS 0
#endif

bool clnn__debug_hooks(void)
{
    return CLNN_DEBUG_HOOKS;
}

const char *clnn__debug_env(const char *name, char *buf, size_t cap)
{
#if CLNN_DEBUG_HOOKS
    return clnn__env(name, buf, cap);
#else
    (void)name;
    (void)buf;
    (void)cap;
    return NULL;
#endif
}
