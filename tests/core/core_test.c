/* Helpers shared by the core tests (see core_test.h). */
#include "core_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

void core_fill(float *x, size_t n, double lo, double hi, core_rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)core_rng_uniform(r, lo, hi);
}

void core_fill_labels(int32_t *labels, size_t n, size_t classes, core_rng *r)
{
    for (size_t i = 0; i < n; i++)
        labels[i] = (int32_t)(core_rng_next(r) % classes);
}

double core_error(const float *a, const double *ref, size_t n, double floor, size_t *worst)
{
    double scale = floor, diff = 0.0;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
        double d = fabs((double)a[i] - ref[i]);
        if (!(d <= diff)) { /* also takes NaN */
            diff = d;
            w = i;
        }
    }
    if (worst)
        *worst = w;
    return diff / scale;
}

void core_check_close(const char *what, const float *a, const double *ref, size_t n,
                      double floor, double tol)
{
    size_t w = 0;
    double err = core_error(a, ref, n, floor, &w);
    const char *v = getenv("CLNN_TEST_VERBOSE");
    if (v && *v == '1')
        printf("  err %.3e (tol %.0e)  %s\n", err, tol, what);
    ck_assert_msg(err <= tol, "%s: error %.3e > %.1e (element %zu: %.9g vs reference %.9g)", what,
                  err, tol, w, n ? (double)a[w] : 0.0, n ? ref[w] : 0.0);
}

static clnn_context *contexts[3];

static void free_contexts(void)
{
    for (size_t i = 0; i < 3; i++)
        clnn_context_free(contexts[i]);
}

clnn_context *core_context(clnn_gemm_backend backend)
{
    ck_assert_int_lt(backend, 3);
    if (!contexts[backend]) {
        clnn_context_options o;
        clnn_context_options_init(&o);
        o.gemm = backend;
        ck_assert_clnn_ok(clnn_context_create(&o, &contexts[backend]));
        static bool registered;
        if (!registered)
            atexit(free_contexts);
        registered = true;
    }
    return contexts[backend];
}

clnn_context *core_profiling_context(clnn_gemm_backend backend)
{
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.gemm = backend;
    o.profiling = true;
    clnn_context *ctx;
    ck_assert_clnn_ok(clnn_context_create(&o, &ctx));
    return ctx;
}

clnn_net *core_net(clnn_context *ctx, size_t in_features, const char *spec, uint64_t seed)
{
    clnn_net *net = NULL;
    ck_assert_clnn_ok(clnn_net_create(ctx, in_features, &net));
    ck_assert_clnn_ok(clnn_net_add_layers(net, spec));
    ck_assert_clnn_ok(clnn_net_init(net, seed));
    clnn_optimizer_options sgd;
    clnn_optimizer_options_init(&sgd, CLNN_OPTIMIZER_SGD);
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &sgd));
    return net;
}

size_t core_tensor(const clnn_net *net, const char *name)
{
    size_t index = 0;
    ck_assert_clnn_ok(clnn_net_tensor_find(net, name, &index));
    return index;
}

static void write_values(clnn_net *net, size_t index, size_t numel, double lo, double hi,
                         core_rng *r)
{
    float *v = malloc(numel * sizeof *v);
    ck_assert_ptr_nonnull(v);
    core_fill(v, numel, lo, hi, r);
    ck_assert_clnn_ok(clnn_net_tensor_write(net, index, v, numel * sizeof *v));
    free(v);
}

void core_randomize_bn(clnn_net *net, core_rng *r)
{
    static const struct {
        const char *suffix;
        double lo, hi;
    } ranges[] = {{".weight", 0.5, 1.5}, {".bias", -0.5, 0.5},
                  {".running_mean", -0.5, 0.5}, {".running_var", 0.5, 2.0}};
    for (size_t i = 0; i < clnn_net_layer_count(net); i++) {
        char name[64];
        snprintf(name, sizeof name, "%zu.running_var", i);
        size_t probe;
        if (clnn_net_tensor_find(net, name, &probe) != CLNN_OK)
            continue; /* not a BatchNorm layer (or a named one, not used here) */
        for (size_t k = 0; k < sizeof ranges / sizeof ranges[0]; k++) {
            snprintf(name, sizeof name, "%zu%s", i, ranges[k].suffix);
            clnn_tensor_info info = {.struct_size = sizeof info};
            size_t index = core_tensor(net, name);
            ck_assert_clnn_ok(clnn_net_tensor_info(net, index, &info));
            write_values(net, index, info.numel, ranges[k].lo, ranges[k].hi, r);
        }
    }
}

void core_copy_to_ref(clnn_net *net, ref_net *ref)
{
    for (size_t i = 0; i < clnn_net_tensor_count(net); i++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(net, i, &info));
        if (info.dtype == CLNN_DTYPE_I64) {
            int64_t *counter = ref_net_counter(ref, info.name);
            ck_assert_msg(counter != NULL, "reference lacks %s", info.name);
            ck_assert_clnn_ok(clnn_net_tensor_read(net, i, counter, sizeof *counter));
            continue;
        }
        double *value, *grad;
        size_t numel;
        ck_assert_msg(ref_net_find(ref, info.name, &value, &grad, &numel), "reference lacks %s",
                      info.name);
        ck_assert_uint_eq(numel, info.numel);
        float *v = core_read(net, info.name);
        for (size_t j = 0; j < numel; j++)
            value[j] = v[j];
        free(v);
    }
}

static float *read_any(clnn_net *net, const char *name, bool grad)
{
    size_t index = core_tensor(net, name);
    clnn_tensor_info info = {.struct_size = sizeof info};
    ck_assert_clnn_ok(clnn_net_tensor_info(net, index, &info));
    float *v = malloc(info.numel * sizeof *v);
    ck_assert_ptr_nonnull(v);
    if (grad)
        ck_assert_clnn_ok(clnn_net_grad_read(net, index, v, info.numel * sizeof *v));
    else
        ck_assert_clnn_ok(clnn_net_tensor_read(net, index, v, info.numel * sizeof *v));
    return v;
}

float *core_read(clnn_net *net, const char *name)
{
    return read_any(net, name, false);
}

float *core_read_grad(clnn_net *net, const char *name)
{
    return read_any(net, name, true);
}

float *core_read_all(clnn_net *net, bool grads, bool trainable_only, size_t *count)
{
    float *all = NULL;
    *count = 0;
    for (size_t t = 0; t < clnn_net_tensor_count(net); t++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(net, t, &info));
        if (info.dtype != CLNN_DTYPE_F32 || ((grads || trainable_only) && !info.trainable))
            continue;
        all = realloc(all, (*count + info.numel) * sizeof *all);
        ck_assert_ptr_nonnull(all);
        size_t bytes = info.numel * sizeof *all;
        ck_assert_clnn_ok(grads ? clnn_net_grad_read(net, t, all + *count, bytes)
                                : clnn_net_tensor_read(net, t, all + *count, bytes));
        *count += info.numel;
    }
    return all;
}

char *core_tmpdir(void)
{
    char *dir = clnn_test_tmpdir("clnn-core");
    ck_assert_msg(dir != NULL, "cannot make a scratch folder in %s: %s", clnn_test_tmp_base(),
                  strerror(errno));
    return dir;
}

void core_rmtree(const char *dir)
{
    clnn_test_rmtree(dir);
}

int core_run(Suite *s)
{
    return clnn_test_run_in(s, true);
}
