/* BatchNorm1d's PyTorch semantics beyond one forward: running statistics
 * over several batches and training steps (momentum 0.1, unbiased variance
 * into running_var, num_batches_tracked), eval mode using them, the batch-
 * of-1 rule, and a constant feature (zero variance).
 *
 * Tolerances, with err = max|dev − ref| / max(floor, max|ref|):
 *  - running statistics of a lone BatchNorm layer fed directly: 1e-5 (floor
 *    1): float mean and variance of ≤ 64 values, relative error ~1e-7 each.
 *    Using the biased variance for running_var changes it by a factor
 *    N/(N−1) on the momentum share (≥ 1e-3 here), a dropped momentum by
 *    ~10×.
 *  - after five SGD steps of a full stack: 1e-4 (floor 1), the noise of five
 *    compounded float steps (measured ~1e-6) with a wide margin.
 *  - eval outputs: 1e-4 as in test_layers.c. */
#include "core_test.h"

#include <stdlib.h>

#define TOL_STATS 1e-5
#define TOL_STEPS 1e-4

static void check_float(clnn_net *net, ref_net *ref, const char *name, double floor, double tol,
                        const char *label)
{
    double *value, *grad;
    size_t numel;
    ck_assert(ref_net_find(ref, name, &value, &grad, &numel));
    float *v = core_read(net, name);
    char what[192];
    snprintf(what, sizeof what, "%s: %s", label, name);
    core_check_close(what, v, value, numel, floor, tol);
    free(v);
}

static int64_t counter(clnn_net *net, const char *name)
{
    int64_t n = -1;
    ck_assert_clnn_ok(clnn_net_tensor_read(net, core_tensor(net, name), &n, sizeof n));
    return n;
}

/* Columns with different means and spreads, so mean and variance matter. */
static void fill_columns(float *x, size_t rows, size_t cols, core_rng *r)
{
    for (size_t i = 0; i < rows * cols; i++) {
        size_t c = i % cols;
        x[i] = (float)(core_rng_uniform(r, -1, 1) * (0.5 + (double)c) + 0.3 * (double)c - 1.0);
    }
}

START_TEST(test_running_stats_over_batches)
{
    /* A lone BatchNorm layer sees its input directly; batches of varied
     * size, including 2 where the biased and unbiased variances differ 2×. */
    static const size_t batches[] = {3, 2, 17, 64, 5};
    const size_t cols = 5;
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), cols, "bn", 1);
    core_rng r = core_rng_make(11);
    core_randomize_bn(net, &r);
    ref_net *ref = ref_net_create(cols, "bn");
    core_copy_to_ref(net, ref);
    float x[64 * 5];
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        fill_columns(x, batches[b], cols, &r);
        ck_assert_clnn_ok(clnn_net_forward(net, x, batches[b], clnn_net_in_features(net)));
        ref_net_forward(ref, x, batches[b], true);
        char label[64];
        snprintf(label, sizeof label, "after batch %zu (of %zu rows)", b + 1, batches[b]);
        check_float(net, ref, "0.running_mean", 1.0, TOL_STATS, label);
        check_float(net, ref, "0.running_var", 1.0, TOL_STATS, label);
        ck_assert_int_eq(counter(net, "0.num_batches_tracked"), (int64_t)b + 1);
    }
    /* Eval-mode forwards leave the statistics alone. */
    ck_assert_clnn_ok(clnn_net_set_training(net, false));
    ck_assert_clnn_ok(clnn_net_forward(net, x, 3, clnn_net_in_features(net)));
    check_float(net, ref, "0.running_var", 1.0, TOL_STATS, "after an eval forward");
    ck_assert_int_eq(counter(net, "0.num_batches_tracked"), 5);
    ref_net_free(ref);
    clnn_net_free(net);
}
END_TEST

/* Five SGD steps of a full stack on the device and in the reference (each
 * with its own gradients): running statistics, counters and parameters
 * agree, and eval mode then uses those statistics. */
START_TEST(test_running_stats_after_training)
{
    const char *spec = "dense:7,bn,relu,dense:6,bn,relu,dense:3";
    const size_t in = 5, rows = 9;
    clnn_gemm_backend backend = core_backends[_i];
    clnn_net *net = core_net(core_context(backend), in, spec, 2);
    core_rng r = core_rng_make(12);
    core_randomize_bn(net, &r);
    ref_net *ref = ref_net_create(in, spec);
    core_copy_to_ref(net, ref);
    clnn_optimizer_options o;
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
    o.lr = 0.1, o.momentum = 0.9;
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &o));
    ref_sgd ro = {.lr = 0.1, .momentum = 0.9};
    size_t np = ref_net_param_count(ref);
    double *bufs[16];
    ck_assert_uint_le(np, 16);
    for (size_t t = 0; t < np; t++)
        bufs[t] = calloc(ref_net_param(ref, t).numel, sizeof(double));

    float x[9 * 5];
    int32_t labels[9];
    for (int step = 0; step < 5; step++) {
        fill_columns(x, rows, in, &r);
        core_fill_labels(labels, rows, 3, &r);
        ck_assert_clnn_ok(
            clnn_net_train_batch(net, x, rows, clnn_net_in_features(net), labels, rows));
        ref_net_forward(ref, x, rows, true);
        ref_net_backward(ref, labels);
        for (size_t t = 0; t < np; t++) {
            ref_param p = ref_net_param(ref, t);
            ref_sgd_step(&ro, p.value, p.grad, bufs[t], p.numel, step == 0);
        }
    }
    char label[96];
    snprintf(label, sizeof label, "after 5 steps (%s)", clnn_gemm_backend_name(backend));
    for (size_t i = 0; i < clnn_net_tensor_count(net); i++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(net, i, &info));
        if (info.dtype == CLNN_DTYPE_I64)
            ck_assert_int_eq(counter(net, info.name), 5);
        else
            check_float(net, ref, info.name, 1.0, TOL_STEPS, label);
    }

    /* Eval mode normalises with the running statistics: compare with the
     * reference, and check that a row's output does not depend on the
     * other rows of its batch. */
    ck_assert_clnn_ok(clnn_net_set_training(net, false));
    fill_columns(x, rows, in, &r);
    ck_assert_clnn_ok(clnn_net_forward(net, x, rows, clnn_net_in_features(net)));
    ref_net_forward(ref, x, rows, false);
    for (size_t l = 0; l < ref->nlayers; l++) {
        size_t n = rows * ref->layers[l].out;
        float out[9 * 7];
        ck_assert_clnn_ok(clnn_net_layer_output_read(net, l, out, n));
        char what[256];
        snprintf(what, sizeof what, "%s, eval: output of layer %zu", label, l);
        core_check_close(what, out, ref->layers[l].y, n, 1.0, TOL_STEPS);
    }
    float all[9 * 3], first[2 * 3];
    ck_assert_clnn_ok(clnn_net_read_output(net, all, rows * 3));
    ck_assert_clnn_ok(clnn_net_forward(net, x, 2, clnn_net_in_features(net)));
    ck_assert_clnn_ok(clnn_net_read_output(net, first, 2 * 3));
    for (size_t i = 0; i < 2 * 3; i++)
        ck_assert_float_eq_tol(first[i], all[i], 1e-5f);
    for (size_t t = 0; t < np; t++)
        free(bufs[t]);
    ref_net_free(ref);
    clnn_net_free(net);
}
END_TEST

START_TEST(test_batch_of_one)
{
    /* PyTorch refuses a batch of 1 in training mode (the variance of one
     * value is undefined) with "Expected more than 1 value per channel when
     * training"; eval mode uses running statistics and accepts it. */
    const char *spec = "dense:4,bn,relu,dense:3";
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), 3, spec, 4);
    core_rng r = core_rng_make(13);
    core_randomize_bn(net, &r);
    float x[3];
    int32_t label[1] = {2};
    core_fill(x, 3, -1, 1, &r);
    ck_assert_fails_with(clnn_net_forward(net, x, 1, clnn_net_in_features(net)),
                         CLNN_ERR_BATCH_TOO_SMALL,
                         "expected more than 1 value per channel when training");
    ck_assert_fails_with(clnn_net_train_batch(net, x, 1, clnn_net_in_features(net), label, 1),
                         CLNN_ERR_BATCH_TOO_SMALL,
                         "expected more than 1 value per channel when training");
    ck_assert_int_eq(counter(net, "1.num_batches_tracked"), 0);

    ref_net *ref = ref_net_create(3, spec);
    core_copy_to_ref(net, ref);
    ck_assert_clnn_ok(clnn_net_set_training(net, false));
    ck_assert_clnn_ok(clnn_net_forward(net, x, 1, clnn_net_in_features(net)));
    ck_assert_clnn_ok(clnn_net_backward(net, label, 1));
    ref_net_forward(ref, x, 1, false);
    float y[3];
    ck_assert_clnn_ok(clnn_net_read_output(net, y, 3));
    core_check_close("eval output of a batch of 1", y, ref->layers[3].y, 3, 1.0, 1e-4);

    /* Without BatchNorm a batch of 1 trains. */
    clnn_net *plain = core_net(core_context(CLNN_GEMM_OWN), 3, "dense:4,relu,dense:3", 4);
    ck_assert_clnn_ok(clnn_net_train_batch(plain, x, 1, clnn_net_in_features(plain), label, 1));
    clnn_net_free(plain);
    ref_net_free(ref);
    clnn_net_free(net);
}
END_TEST

START_TEST(test_constant_feature)
{
    /* Feature 1 is the same in every row: its batch variance is 0, so it is
     * normalised by 1/sqrt(eps) and comes out as β (up to the rounding of
     * the mean); outputs and gradients must stay finite and match the
     * reference, and running_var moves towards 0. */
    const size_t cols = 3, rows = 17;
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), cols, "bn,dense:2", 5);
    core_rng r = core_rng_make(14);
    core_randomize_bn(net, &r);
    ref_net *ref = ref_net_create(cols, "bn,dense:2");
    core_copy_to_ref(net, ref);
    float x[17 * 3];
    int32_t labels[17];
    core_fill(x, rows * cols, -1, 1, &r);
    for (size_t i = 0; i < rows; i++)
        x[i * cols + 1] = 0.3f;
    core_fill_labels(labels, rows, 2, &r);
    ck_assert_clnn_ok(clnn_net_forward(net, x, rows, clnn_net_in_features(net)));
    ck_assert_clnn_ok(clnn_net_backward(net, labels, rows));
    ref_net_forward(ref, x, rows, true);
    ref_net_backward(ref, labels);

    float y[17 * 3];
    ck_assert_clnn_ok(clnn_net_layer_output_read(net, 0, y, rows * cols));
    for (size_t i = 0; i < rows * cols; i++)
        ck_assert_msg(isfinite(y[i]), "output %zu is %g", i, (double)y[i]);
    /* The float mean of 17 copies of 0.3 may differ from 0.3 by an ulp
     * (3e-8), which 1/sqrt(eps) ≈ 316 and γ ≤ 1.5 turn into ≤ 2e-5. */
    core_check_close("constant feature: BatchNorm output", y, ref->layers[0].y, rows * cols, 1.0,
                     1e-4);
    for (size_t t = 0; t < ref_net_param_count(ref); t++) {
        ref_param p = ref_net_param(ref, t);
        float *g = core_read_grad(net, p.name);
        for (size_t i = 0; i < p.numel; i++)
            ck_assert_msg(isfinite(g[i]), "gradient of %s[%zu] is %g", p.name, i, (double)g[i]);
        char what[256];
        snprintf(what, sizeof what, "constant feature: gradient of %s", p.name);
        core_check_close(what, g, p.grad, p.numel, 1e-2, 1e-3);
        free(g);
    }
    check_float(net, ref, "0.running_var", 1.0, TOL_STATS, "constant feature");
    ref_net_free(ref);
    clnn_net_free(net);
}
END_TEST

static Suite *batchnorm_suite(void)
{
    Suite *s = suite_create("core-batchnorm");
    TCase *tc = tcase_create("batchnorm");
    tcase_add_test(tc, test_running_stats_over_batches);
    tcase_add_loop_test(tc, test_running_stats_after_training, 0, CORE_BACKENDS);
    tcase_add_test(tc, test_batch_of_one);
    tcase_add_test(tc, test_constant_feature);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(batchnorm_suite());
}
