/* Loading OpenCL at run time (see opencl.h). */
#define CLNN__OPENCL_NO_ROUTES
#include "runtime/opencl.h"

#include <stdio.h>
#include <string.h>

#include "base/platform.h"

clnn__opencl_api clnn__cl;

static clnn__mutex lock = CLNN__MUTEX_INIT;
static void *library; /* the loaded library; NULL until a load succeeded */
static char source[1024];

#if defined(_WIN32)
#define SYSTEM_OPENCL "OpenCL.dll"
#define INSTALL_HINT                                                                               \
    "install your GPU vendor's driver (it brings OpenCL.dll), or for the CPU an OpenCL runtime "   \
    "such as PoCL or Intel's CPU runtime"
#elif defined(__APPLE__)
#define SYSTEM_OPENCL "/System/Library/Frameworks/OpenCL.framework/OpenCL"
#define INSTALL_HINT "macOS ships OpenCL up to macOS 14; on other versions OpenCL is not available"
#else
#define SYSTEM_OPENCL "libOpenCL.so.1"
#define INSTALL_HINT                                                                               \
    "install an OpenCL loader and driver: on Debian or Ubuntu 'apt-get install "                   \
    "ocl-icd-libopencl1 pocl-opencl-icd' for the CPU, or your GPU vendor's OpenCL driver"
#endif

/* Resolve every entry point from lib into api; the name of the first one
 * missing, or NULL. */
static const char *resolve(void *lib, clnn__opencl_api *api)
{
#define CLNN__OPENCL_RESOLVE(name)                                                                 \
    {                                                                                              \
        void *sym = clnn__library_symbol(lib, #name);                                              \
        if (!sym)                                                                                  \
            return #name;                                                                          \
        memcpy(&api->name, &sym, sizeof sym);                                                      \
    }
    CLNN__OPENCL_FUNCTIONS(CLNN__OPENCL_RESOLVE)
#undef CLNN__OPENCL_RESOLVE
    return NULL;
}

/* An OpenCL already in the process: the program's own global symbols (the
 * application linked one, or a tool preloaded one). */
static void *already_loaded(clnn__opencl_api *api)
{
    void *self = clnn__library_open(NULL, NULL, 0);
    if (self && resolve(self, api) == NULL)
        return self;
    clnn__library_close(self);
    return NULL;
}

static clnn_status load_named(const char *name, const char *origin, clnn__opencl_api *api,
                              void **out)
{
    char why[512] = "";
    void *lib = clnn__library_open(name, why, sizeof why);
    if (!lib)
        return clnn__fail(CLNN_ERR_NO_PLATFORM,
                          "no OpenCL: %s'%s' cannot be loaded (%s); %s%s", origin, name, why,
                          INSTALL_HINT,
                          *origin ? ", or name another OpenCL library" : "");
    const char *missing = resolve(lib, api);
    if (missing) {
        clnn__library_close(lib);
        return clnn__fail(CLNN_ERR_NO_PLATFORM,
                          "no OpenCL: %s'%s' lacks %s, so it is not an OpenCL 1.2 library; name "
                          "the system's OpenCL library (%s) or unset the override",
                          origin, name, missing, SYSTEM_OPENCL);
    }
    *out = lib;
    return CLNN_OK;
}

clnn_status clnn__opencl_load(const char *named)
{
    char env[1024];
    const char *override = named && *named ? named : clnn__env("CLNN_OPENCL_LIBRARY", env, sizeof env);
    const char *origin = named && *named ? "the context options' OpenCL library "
                         : override       ? "CLNN_OPENCL_LIBRARY="
                                          : "";
    clnn_status st = CLNN_OK;
    clnn__mutex_lock(&lock);
    if (library) {
        if (override && strcmp(override, source) != 0)
            st = clnn__fail(CLNN_ERR_STATE,
                            "%s'%s' cannot be used: this process already uses OpenCL from '%s', "
                            "and one process can use only one OpenCL library",
                            origin, override, source);
        clnn__mutex_unlock(&lock);
        return st;
    }
    clnn__opencl_api api;
    void *lib = NULL;
    if (override) {
        st = load_named(override, origin, &api, &lib);
        if (st == CLNN_OK)
            snprintf(source, sizeof source, "%s", override);
    } else if ((lib = already_loaded(&api)) != NULL) {
        snprintf(source, sizeof source, "(already in the process)");
    } else {
        st = load_named(SYSTEM_OPENCL, "", &api, &lib);
        if (st == CLNN_OK)
            snprintf(source, sizeof source, "%s", SYSTEM_OPENCL);
    }
    if (st == CLNN_OK) {
        clnn__cl = api;
        library = lib;
        clnn__log(CLNN_LOG_DEBUG, "OpenCL loaded from %s", source);
    }
    clnn__mutex_unlock(&lock);
    return st;
}

const char *clnn__opencl_source(void)
{
    return source;
}
