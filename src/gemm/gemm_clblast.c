/* GEMM through CLBlast, loaded at run time like OpenCL itself (a library
 * linked to CLBlast would need OpenCL to start). A build without CLBlast
 * (meson -Dclblast=disabled, or its header absent) keeps the parameter-set
 * helpers, which tuning files use, and reports the backend unavailable.
 * CLBlast 1.5's kernel cache is not safe for concurrent calls, so calls from
 * every context are serialised by one process-wide lock. */
#include "gemm/gemm.h"

#include <stdio.h>
#include <string.h>

#include "gemm/tune.h"

/* ---------------------------------------------------- parameter overrides */

/* The parameter names of CLBlast 1.5's kernels, in the order of
 * clnn__clblast_set's arrays. */
const char *const clnn__clb_direct_names[CLNN__CLB_DIRECT_N] = {
    "WGD", "MDIMCD", "NDIMCD", "MDIMAD", "NDIMBD", "KWID", "VWMD", "VWND", "PADA", "PADB"};
const char *const clnn__clb_xgemm_names[CLNN__CLB_XGEMM_N] = {
    "MWG", "NWG", "KWG", "MDIMC", "NDIMC", "MDIMA", "NDIMB", "KWI",
    "VWM", "VWN", "STRM", "STRN", "SA", "SB", "GEMMK", "KREG"};

bool clnn__clblast_set_equal(const clnn__clblast_set *a, const clnn__clblast_set *b)
{
    if (a->overridden != b->overridden)
        return false;
    return !a->overridden ||
           (memcmp(a->direct, b->direct, sizeof a->direct) == 0 &&
            memcmp(a->xgemm, b->xgemm, sizeof a->xgemm) == 0 && a->min_indirect == b->min_indirect);
}

static size_t describe_params(char *buf, size_t cap, const char *kernel, const char *const *names,
                              const size_t *values, size_t n)
{
    size_t len = (size_t)snprintf(buf, cap, "%s", kernel);
    for (size_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, " %s=%zu", names[i], values[i]);
    return len < cap ? len : cap;
}

void clnn__clblast_set_describe(const clnn__clblast_set *s, char *buf, size_t cap)
{
    if (!s->overridden) {
        snprintf(buf, cap, "CLBlast's own parameters");
        return;
    }
    size_t len = describe_params(buf, cap, "XgemmDirect", clnn__clb_direct_names, s->direct,
                                 CLNN__CLB_DIRECT_N);
    if (len < cap)
        len += (size_t)snprintf(buf + len, cap - len, "; ");
    if (len < cap)
        len += describe_params(buf + len, cap - len, "Xgemm", clnn__clb_xgemm_names, s->xgemm,
                               CLNN__CLB_XGEMM_N);
    if (len < cap)
        snprintf(buf + len, cap - len, "; " CLNN__CLB_THRESHOLD_NAME "=%zu", s->min_indirect);
}

#ifdef CLNN_HAVE_CLBLAST

#include <clblast_c.h>
#include <stdatomic.h>
#include <stdlib.h>

static clnn__mutex lock = CLNN__MUTEX_INIT;

/* ------------------------------------------------------------- loading */

#if defined(_WIN32)
#define SYSTEM_CLBLAST "clblast.dll"
#elif defined(__APPLE__)
#define SYSTEM_CLBLAST "libclblast.1.dylib"
#else
#define SYSTEM_CLBLAST "libclblast.so.1"
#endif

/* The three entry points clnn calls, as clblast_c.h declares them. */
typedef CLBlastStatusCode (*sgemm_fn)(const CLBlastLayout, const CLBlastTranspose,
                                      const CLBlastTranspose, const size_t, const size_t,
                                      const size_t, const float, const cl_mem, const size_t,
                                      const size_t, const cl_mem, const size_t, const size_t,
                                      const float, cl_mem, const size_t, const size_t,
                                      cl_command_queue *, cl_event *);
typedef CLBlastStatusCode (*override_fn)(const cl_device_id, const char *, const CLBlastPrecision,
                                         const size_t, const char **, const size_t *);
/* (_Generic does not evaluate its operand, so this links nothing.) */
_Static_assert(_Generic(&CLBlastSgemm, sgemm_fn: 1, default: 0), "CLBlastSgemm's type");
_Static_assert(_Generic(&CLBlastOverrideParameters, override_fn: 1, default: 0),
               "CLBlastOverrideParameters's type");
static struct {
    sgemm_fn Sgemm;
    override_fn OverrideParameters;
    CLBlastStatusCode (*ClearCache)(void);
} clb;
static bool load_tried, loaded;
static char load_failure[768];
/* Set when the process exits: CLBlast's C++ statics, destroyed at exit in
 * the reverse order of their making, are gone before the exit handlers an
 * application registered before CLBlast was loaded, and such a handler may
 * free its contexts. Registered straight after loading, this handler runs
 * before CLBlast's statics are destroyed. */
static atomic_bool exiting;

static void mark_exiting(void)
{
    atomic_store(&exiting, true);
}

/* Load CLBlast once per process, under the lock. */
static bool load_locked(void)
{
    if (load_tried)
        return loaded;
    load_tried = true;
    char env[1024], why[512] = "";
    const char *name = clnn__env("CLNN_CLBLAST_LIBRARY", env, sizeof env);
    if (!name)
        name = SYSTEM_CLBLAST;
    void *lib = clnn__library_open(name, why, sizeof why);
    void *sgemm = lib ? clnn__library_symbol(lib, "CLBlastSgemm") : NULL;
    void *override = lib ? clnn__library_symbol(lib, "CLBlastOverrideParameters") : NULL;
    void *clear = lib ? clnn__library_symbol(lib, "CLBlastClearCache") : NULL;
    if (!sgemm || !override || !clear) {
        if (lib)
            snprintf(why, sizeof why, "it lacks CLBlastSgemm, CLBlastOverrideParameters or "
                                      "CLBlastClearCache");
        clnn__library_close(lib);
        snprintf(load_failure, sizeof load_failure,
                 "CLBlast is not available: '%s' cannot be loaded (%s); install CLBlast (Debian: "
                 "apt-get install libclblast1) or use clnn's own GEMM kernels "
                 "(CLNN_GEMM_OWN)",
                 name, why);
        return false;
    }
    memcpy(&clb.Sgemm, &sgemm, sizeof sgemm);
    memcpy(&clb.OverrideParameters, &override, sizeof override);
    memcpy(&clb.ClearCache, &clear, sizeof clear);
    loaded = true; /* kept for the life of the process, as OpenCL is */
    atexit(mark_exiting);
    return true;
}

clnn_status clnn__gemm_clblast_available(void)
{
    clnn__mutex_lock(&lock);
    bool ok = load_locked();
    clnn__mutex_unlock(&lock);
    return ok ? CLNN_OK : clnn__fail(CLNN_ERR_UNSUPPORTED, "%s", load_failure);
}

/* CLBlast caches compiled programs per context in a process-wide cache that
 * holds the context alive; clearing it when such a context goes keeps
 * nothing behind (other contexts recompile on their next call). This hook
 * replaces the one the tuning table installs, so it releases that too. */
static void forget(clnn_context *ctx)
{
    clnn__mutex_lock(&lock);
    if (!atomic_load(&exiting))
        clb.ClearCache();
    clnn__mutex_unlock(&lock);
    clnn__gemm_state_release(ctx);
}

/* The set in force per device, process-wide as CLBlast's overrides are. A
 * device absent here still has CLBlast's own parameters. */
#define MAX_DEVICES 32
static struct {
    cl_device_id device;
    bool known; /* false after a partly failed override: reapply any set */
    clnn__clblast_set set;
} devices[MAX_DEVICES];
static size_t ndevices;

static int device_slot(cl_device_id device)
{
    for (size_t i = 0; i < ndevices; i++)
        if (devices[i].device == device)
            return (int)i;
    return -1;
}

static CLBlastStatusCode override(cl_device_id device, const char *kernel, const char *const *names,
                                  const size_t *values, size_t n)
{
    const char *list[CLNN__CLB_XGEMM_N];
    for (size_t i = 0; i < n; i++)
        list[i] = names[i];
    return clb.OverrideParameters(device, kernel, CLBlastPrecisionSingle, n, list, values);
}

/* Make set the device's parameters; the caller holds the lock. */
static clnn_status apply_locked(clnn_context *ctx, const clnn__clblast_set *set)
{
    if (!set || !set->overridden)
        return CLNN_OK;
    int slot = device_slot(ctx->device);
    if (slot >= 0 && devices[slot].known && clnn__clblast_set_equal(&devices[slot].set, set))
        return CLNN_OK;
    if (slot < 0) {
        if (ndevices == MAX_DEVICES)
            return clnn__fail(CLNN_ERR_UNSUPPORTED, "CLBlast parameters overridden on more than "
                                                    "%d devices in one process",
                              MAX_DEVICES);
        slot = (int)ndevices++;
        devices[slot].device = ctx->device;
    }
    devices[slot].known = false;
    const size_t threshold[1] = {set->min_indirect};
    const char *const threshold_name[1] = {CLNN__CLB_THRESHOLD_NAME};
    CLBlastStatusCode s = override(ctx->device, "XgemmDirect", clnn__clb_direct_names, set->direct,
                                   CLNN__CLB_DIRECT_N);
    if (s == CLBlastSuccess)
        s = override(ctx->device, "Xgemm", clnn__clb_xgemm_names, set->xgemm, CLNN__CLB_XGEMM_N);
    if (s == CLBlastSuccess)
        s = override(ctx->device, "GemmRoutine", threshold_name, threshold, 1);
    if (s != CLBlastSuccess)
        return clnn__fail(CLNN_ERR_UNSUPPORTED,
                          "CLBlastOverrideParameters failed with CLBlast status %d (this CLBlast "
                          "names its GEMM parameters differently); retune with clnn tune",
                          (int)s);
    devices[slot].known = true;
    devices[slot].set = *set;
    return CLNN_OK;
}

bool clnn__gemm_clblast_pristine(const clnn_context *ctx)
{
    clnn__mutex_lock(&lock);
    bool pristine = device_slot(ctx->device) < 0;
    clnn__mutex_unlock(&lock);
    return pristine;
}

clnn_status clnn__gemm_clblast(clnn_context *ctx, const clnn__gemm_args *g)
{
    return clnn__gemm_clblast_with(ctx, g, NULL);
}

clnn_status clnn__gemm_clblast_with(clnn_context *ctx, const clnn__gemm_args *g,
                                    const clnn__clblast_set *set)
{
    cl_event ev = NULL;
    if (clnn__fault_hit("CLBlastSgemm"))
        return clnn__cl_check(CL_OUT_OF_RESOURCES, "CLBlastSgemm");
    clnn__mutex_lock(&lock);
    if (!load_locked()) {
        clnn__mutex_unlock(&lock);
        return clnn__fail(CLNN_ERR_UNSUPPORTED, "%s", load_failure);
    }
    clnn_status applied = apply_locked(ctx, set);
    if (applied != CLNN_OK) {
        clnn__mutex_unlock(&lock);
        return applied;
    }
    CLBlastStatusCode s = clb.Sgemm(
        CLBlastLayoutRowMajor, g->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
        g->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, g->m, g->n, g->k, g->alpha, g->a,
        g->a_off, g->lda, g->b, g->b_off, g->ldb, g->beta, g->c, g->c_off, g->ldc, &ctx->queue,
        clnn__profile_event(ctx, &ev));
    ctx->before_free = forget;
    clnn__mutex_unlock(&lock);
    if (ev)
        clnn__live_add(CLNN__LIVE_EVENT, 1);
    clnn__profile_add(ctx, "clblast_sgemm", s == CLBlastSuccess ? ev : NULL);
    if (s == CLBlastSuccess)
        return g->bias ? clnn__gemm_bias_add(ctx, g) : CLNN_OK;
    if (s < 0 && s > -100) /* OpenCL error codes pass through unchanged */
        return clnn__cl_check((cl_int)s, "CLBlastSgemm");
    return clnn__fail(CLNN_ERR_OPENCL,
                      "CLBlastSgemm (%zu×%zu×%zu) failed with CLBlast status %d; try clnn's own "
                      "GEMM kernels (CLNN_GEMM_OWN in the context options, or CLNN_GEMM=own)",
                      g->m, g->n, g->k, (int)s);
}

#else /* no CLBlast in this build */

#define NOT_BUILT                                                                                  \
    "CLBlast is not available: this clnn was built without it (a build that finds CLBlast's "      \
    "header, or with meson -Dclblast=enabled, has it); use clnn's own GEMM kernels "              \
    "(CLNN_GEMM_OWN)"

clnn_status clnn__gemm_clblast_available(void)
{
    return clnn__fail(CLNN_ERR_UNSUPPORTED, NOT_BUILT);
}

bool clnn__gemm_clblast_pristine(const clnn_context *ctx)
{
    (void)ctx;
    return true;
}

clnn_status clnn__gemm_clblast(clnn_context *ctx, const clnn__gemm_args *g)
{
    return clnn__gemm_clblast_with(ctx, g, NULL);
}

clnn_status clnn__gemm_clblast_with(clnn_context *ctx, const clnn__gemm_args *g,
                                    const clnn__clblast_set *set)
{
    (void)ctx;
    (void)g;
    (void)set;
    return clnn__fail(CLNN_ERR_UNSUPPORTED, NOT_BUILT);
}

#endif
