/* Helpers shared by the core tests: deterministic data, the error measure,
 * contexts per GEMM backend, nets from specs, copying a net's state into the
 * double-precision reference, and running a suite. */
#ifndef CORE_TEST_H
#define CORE_TEST_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "clnn_test.h"
#include "ref_net.h"
#include "reference.h"

/* ------------------------------------------------------------ random data */

/* splitmix64: tiny, and the same sequence on every machine. */
typedef struct core_rng {
    uint64_t state;
} core_rng;

static inline core_rng core_rng_make(uint64_t seed)
{
    return (core_rng){seed * 0x9E3779B97F4A7C15ull + 1};
}

static inline uint64_t core_rng_next(core_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi). */
static inline double core_rng_uniform(core_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * (double)(core_rng_next(r) >> 11) * 0x1.0p-53;
}

void core_fill(float *x, size_t n, double lo, double hi, core_rng *r);
void core_fill_labels(int32_t *labels, size_t n, size_t classes, core_rng *r);

/* ----------------------------------------------------------- comparisons */

/* The error measure of every float-vs-reference comparison here:
 *     err = max_i |a_i − ref_i| / max(floor, max_i |ref_i|)
 * i.e. the worst absolute difference relative to the tensor's largest
 * reference value, so that rounding noise in elements that are nearly zero
 * (a sum whose terms cancel) is judged against the tensor's scale, not its
 * own. floor keeps tensors that are zero up to rounding (the gradient of a
 * bias feeding BatchNorm) from turning noise into a large ratio. */
double core_error(const float *a, const double *ref, size_t n, double floor, size_t *worst);

/* Fail when core_error exceeds tol, naming what was compared. With
 * CLNN_TEST_VERBOSE=1 every measured error is printed (to re-derive the
 * tolerances on another device). */
void core_check_close(const char *what, const float *a, const double *ref, size_t n,
                      double floor, double tol);

/* ------------------------------------------------------- contexts and nets */

/* The GEMM backends every device test runs with (see clnn_test.h): CLBlast
 * where it is built in, then clnn's own. */
#define CORE_BACKENDS CLNN_TEST_BACKENDS
#define core_backends clnn_test_backends

/* A context on the test device with the given GEMM backend, created once per
 * process and kept (kernel builds are cached per context). */
clnn_context *core_context(clnn_gemm_backend backend);

/* A new profiling context with the given GEMM backend (the caller frees it). */
clnn_context *core_profiling_context(clnn_gemm_backend backend);

/* A net from a spec, initialised from seed, with torch.optim.SGD's defaults
 * as its optimizer (lr 0.01, no momentum), which the tests' references
 * assume (asserts success). */
clnn_net *core_net(clnn_context *ctx, size_t in_features, const char *spec, uint64_t seed);
size_t core_tensor(const clnn_net *net, const char *name);

/* Give every BatchNorm γ, β, running_mean and running_var random values
 * (γ in [0.5, 1.5], β and mean in [−0.5, 0.5], var in [0.5, 2]) so that a
 * swap of two of them or an ignored one shows in the results. */
void core_randomize_bn(clnn_net *net, core_rng *r);

/* Copy every tensor of the device net into the reference (by name). */
void core_copy_to_ref(clnn_net *net, ref_net *ref);

/* Read a float tensor or gradient of the device net into a fresh array. */
float *core_read(clnn_net *net, const char *name);
float *core_read_grad(clnn_net *net, const char *name);
/* Every float tensor (trainable_only: only the parameters), or with grads
 * every parameter's gradient, in state-dict order, into one fresh array of
 * *count floats. */
float *core_read_all(clnn_net *net, bool grads, bool trainable_only, size_t *count);

/* --------------------------------------------------------------- running */

/* A scratch directory (clnn_test_tmpdir), and its removal. */
char *core_tmpdir(void);
void core_rmtree(const char *dir);

/* Run a suite in this process (no fork: the device probe in main() started
 * the OpenCL runtime, whose worker threads a forked child would lack, so it
 * would hang) and return the exit code. */
int core_run(Suite *s);

#endif
