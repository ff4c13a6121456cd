/* Layers through the public API against the double-precision reference:
 * small nets of each layer kind and full stacks at odd sizes, in training
 * and eval mode, on both GEMM backends. Each run compares every layer's
 * output, the loss, every gradient and (training) the updated running
 * statistics. BatchNorm parameters and running statistics are randomised
 * first, so swapping γ and β, or mean and variance, cannot go unnoticed.
 *
 * Error measure (core_error): max|dev − ref| / max(floor, max|ref|).
 *  - Outputs, loss, running statistics: floor 1, tol 1e-4. One float32
 *    forward: GEMM accumulation error (see test_gemm.c) amplified by
 *    BatchNorm's division by the batch standard deviation, which for a batch
 *    of 2 or 3 can be small. Measured worst 1.0e-6 (PoCL, both backends), so
 *    1e-4 leaves room for other devices' summation orders, while any formula
 *    error (a missing 1/N, biased/unbiased swap, wrong eps) is ≥ 1e-2.
 *  - Gradients: floor 1e-2, tol 1e-3. Backward runs three float GEMMs and
 *    BatchNorm's backward subtracts nearly equal sums. Measured worst 1e-6,
 *    except for the bias of a dense layer feeding BatchNorm: its gradient is
 *    zero but for rounding (BatchNorm removes the mean), so only the floor
 *    scales it, and its noise measured 3e-5 of the floor. Gradients here
 *    are 1e-3..1, and a wrong term changes them by ≥ 10%. */
#include "core_test.h"

#include <stdlib.h>

#define TOL_OUT 1e-4
#define FLOOR_OUT 1.0
#define TOL_GRAD 1e-3
#define FLOOR_GRAD 1e-2

static const struct {
    const char *spec;
    size_t in, batch;
} cases[] = {
    {"dense:3", 1, 2},
    {"dense:17", 3, 3},
    {"dense:257", 17, 2},
    {"dense:3,bn", 17, 3},
    {"dense:17,relu", 257, 17},
    {"bn,dense:3", 17, 17},
    {"relu,dense:3", 3, 3},
    {"dense:17,bn,relu,dense:3", 3, 64},
    {"dense:257,bn,relu,dense:17,bn,relu,dense:10", 257, 17},
    {"dense:256,bn,relu,dense:128,bn,relu,dense:10", 784, 64},
    /* The other activations, inside and at the end of a stack; the slope
     * as given and by default. */
    {"dense:17,leakyrelu:0.2,dense:9,gelu,dense:8,tanh,dense:7,sigmoid,dense:6,silu,dense:5", 11,
     9},
    {"dense:7,leakyrelu,dense:4,sigmoid", 5, 3},
    {"dense:9,softplus,dense:6,softplus,dense:4", 7, 5},
    /* First layers on 64 features: rows padded on CPU devices, but not the
     * caller's input rows, so these keep their input's stride. */
    {"relu,dense:3", 64, 5},
    {"gelu,silu,dense:3", 64, 4},
};
#define N_CASES (sizeof cases / sizeof cases[0])

static void compare_run(size_t c, bool training, clnn_gemm_backend backend)
{
    const char *spec = cases[c].spec;
    size_t in = cases[c].in, rows = cases[c].batch;
    char label[160];
    snprintf(label, sizeof label, "%s (in %zu, batch %zu, %s, %s)", spec, in, rows,
             training ? "train" : "eval", clnn_gemm_backend_name(backend));

    core_rng r = core_rng_make(7 * c + 1);
    clnn_net *net = core_net(core_context(backend), in, spec, 42 + c);
    core_randomize_bn(net, &r);
    ref_net *ref = ref_net_create(in, spec);
    core_copy_to_ref(net, ref);

    float *x = malloc(rows * in * sizeof *x);
    int32_t *labels = malloc(rows * sizeof *labels);
    core_fill(x, rows * in, -1.0, 1.0, &r);
    core_fill_labels(labels, rows, ref_net_out(ref), &r);

    ck_assert_clnn_ok(clnn_net_set_training(net, training));
    ck_assert_clnn_ok(clnn_net_forward(net, x, rows, clnn_net_in_features(net)));
    ck_assert_clnn_ok(clnn_net_backward(net, labels, rows));
    ref_net_forward(ref, x, rows, training);
    double want_loss = ref_net_backward(ref, labels);

    char what[512];
    float *out = NULL;
    for (size_t i = 0; i < ref->nlayers; i++) {
        size_t n = rows * ref->layers[i].out;
        out = realloc(out, n * sizeof *out);
        ck_assert_clnn_ok(clnn_net_layer_output_read(net, i, out, n));
        snprintf(what, sizeof what, "%s: output of layer %zu", label, i);
        core_check_close(what, out, ref->layers[i].y, n, FLOOR_OUT, TOL_OUT);
    }
    /* read_output is the last layer's output, exactly. */
    size_t n_logits = rows * ref_net_out(ref);
    float *logits = malloc(n_logits * sizeof *logits);
    ck_assert_clnn_ok(clnn_net_read_output(net, logits, n_logits));
    ck_assert_mem_eq(logits, out, n_logits * sizeof *logits);

    float loss;
    ck_assert_clnn_ok(clnn_net_read_loss(net, &loss));
    snprintf(what, sizeof what, "%s: loss", label);
    core_check_close(what, &loss, &want_loss, 1, FLOOR_OUT, TOL_OUT);

    for (size_t t = 0; t < ref_net_param_count(ref); t++) {
        ref_param p = ref_net_param(ref, t);
        float *g = core_read_grad(net, p.name);
        snprintf(what, sizeof what, "%s: gradient of %s", label, p.name);
        core_check_close(what, g, p.grad, p.numel, FLOOR_GRAD, TOL_GRAD);
        free(g);
    }

    for (size_t i = 0; i < clnn_net_tensor_count(net); i++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(net, i, &info));
        if (info.trainable)
            continue;
        if (info.dtype == CLNN_DTYPE_I64) {
            int64_t count;
            ck_assert_clnn_ok(clnn_net_tensor_read(net, i, &count, sizeof count));
            ck_assert_int_eq(count, *ref_net_counter(ref, info.name));
            continue;
        }
        double *value, *grad;
        size_t numel;
        ck_assert(ref_net_find(ref, info.name, &value, &grad, &numel));
        float *v = core_read(net, info.name);
        snprintf(what, sizeof what, "%s: %s after the forward", label, info.name);
        core_check_close(what, v, value, numel, FLOOR_OUT, TOL_OUT);
        free(v);
    }
    free(out), free(logits), free(x), free(labels);
    ref_net_free(ref);
    clnn_net_free(net);
}

/* Loop index: case × mode × backend. */
START_TEST(test_layers_match_reference)
{
    size_t c = (size_t)_i / (2 * CORE_BACKENDS);
    bool training = (_i / CORE_BACKENDS) % 2 == 0;
    compare_run(c, training, core_backends[_i % CORE_BACKENDS]);
}
END_TEST

/* With CLNN_NO_FUSION=1 a BatchNorm and the ReLU after it run as separate
 * kernels (activation.cl's ReLU) instead of one fused kernel: the same
 * comparisons, for every case with a "bn,relu" pair. */
START_TEST(test_unfused_layers_match_reference)
{
    size_t runs = 0;
    ck_assert_int_eq(setenv("CLNN_NO_FUSION", "1", 1), 0); /* read by clnn_net_create */
    for (size_t c = 0; c < N_CASES; c++) {
        if (!strstr(cases[c].spec, "bn,relu"))
            continue;
        for (int k = 0; k < 2 * CORE_BACKENDS; k++, runs++)
            compare_run(c, k / CORE_BACKENDS == 0, core_backends[k % CORE_BACKENDS]);
    }
    ck_assert_int_eq(unsetenv("CLNN_NO_FUSION"), 0);
    ck_assert_uint_ge(runs, 6 * CORE_BACKENDS);
}
END_TEST

/* Networks trained with the variable set and without it end with the same
 * bits in every tensor and gradient (37 rows leave a remainder after the
 * kernels' 4-row groups). */
static void check_same_bits(size_t backend, const char *var, const char *value, const char *spec,
                            size_t in)
{
    clnn_context *ctx = core_context(core_backends[backend]);
    clnn_net *nets[2];
    for (int set = 0; set < 2; set++) {
        ck_assert_int_eq(set ? setenv(var, value, 1) : unsetenv(var), 0);
        nets[set] = core_net(ctx, in, spec, 3);
        clnn_optimizer_options o;
        clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
        o.momentum = 0.9;
        ck_assert_clnn_ok(clnn_net_set_optimizer(nets[set], &o));
    }
    ck_assert_int_eq(unsetenv(var), 0);
    core_rng r = core_rng_make(8);
    float *x = malloc(37 * in * sizeof *x);
    ck_assert_ptr_nonnull(x);
    int32_t labels[37];
    for (int step = 0; step < 3; step++) {
        core_fill(x, 37 * in, -2, 2, &r);
        core_fill_labels(labels, 37, 5, &r);
        for (int k = 0; k < 2; k++)
            ck_assert_clnn_ok(
                clnn_net_train_batch(nets[k], x, 37, clnn_net_in_features(nets[k]), labels, 37));
    }
    free(x);
    for (size_t t = 0; t < clnn_net_tensor_count(nets[0]); t++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(nets[0], t, &info));
        size_t bytes = info.numel * (info.dtype == CLNN_DTYPE_I64 ? 8 : 4);
        float *a = malloc(bytes), *b = malloc(bytes);
        ck_assert(a && b);
        ck_assert_clnn_ok(clnn_net_tensor_read(nets[0], t, a, bytes));
        ck_assert_clnn_ok(clnn_net_tensor_read(nets[1], t, b, bytes));
        ck_assert_msg(memcmp(a, b, bytes) == 0, "'%s' differs with %s=%s", info.name, var, value);
        if (info.trainable) {
            ck_assert_clnn_ok(clnn_net_grad_read(nets[0], t, a, bytes));
            ck_assert_clnn_ok(clnn_net_grad_read(nets[1], t, b, bytes));
            ck_assert_msg(memcmp(a, b, bytes) == 0, "the gradient of '%s' differs with %s=%s",
                          info.name, var, value);
        }
        free(a);
        free(b);
    }
    clnn_net_free(nets[0]);
    clnn_net_free(nets[1]);
}

/* Fusion changes where sums are taken, never their order (the widths take
 * vectors of 8, 16 and 1). */
START_TEST(test_fusion_keeps_every_bit)
{
    check_same_bits((size_t)_i, "CLNN_NO_FUSION", "1", "dense:24,bn,relu,dense:16,bn,relu,dense:5",
                    11);
}
END_TEST

/* Padded rows (on CPU devices, widths of 64 and 96 here) change where values
 * are stored, never a result. */
START_TEST(test_row_padding_keeps_every_bit)
{
    check_same_bits((size_t)_i, "CLNN_ROW_PADDING", "0",
                    "dense:64,bn,relu,dense:96,relu,dense:64,bn,dense:5", 13);
    check_same_bits((size_t)_i, "CLNN_ROW_PADDING", "0", "relu,dense:64,relu,dense:5", 64);
    check_same_bits((size_t)_i, "CLNN_ROW_PADDING", "0",
                    "tanh,dense:64,gelu,leakyrelu:0.1,dense:96,silu,dense:64,sigmoid,dense:5", 64);
}
END_TEST

static void check_close_to(const char *what, const float *a, const float *b, size_t n,
                           double floor, double tol)
{
    double *ref = malloc(n * sizeof *ref);
    ck_assert_ptr_nonnull(ref);
    for (size_t i = 0; i < n; i++)
        ref[i] = b[i];
    core_check_close(what, a, ref, n, floor, tol);
    free(ref);
}

/* The first dense layer (64 wide here) keeps its weight transposed on the
 * device unless CLNN_TRANSPOSED_WEIGHTS=0; the host sees PyTorch's layout
 * either way. From one seed both layouts start from the same bits, train to
 * the same values within the rounding of the forward GEMM's other
 * summation order (tolerances as in compare_run), and a checkpoint of
 * either resumes in the other: the step after loading moves every tensor
 * as it moves the checkpoint's own net, which a momentum buffer turned the
 * wrong way round would not. */
START_TEST(test_weight_layouts_agree)
{
    const char *spec = "dense:64,bn,relu,dense:5";
    const size_t in = 13, rows = 37;
    clnn_context *ctx = core_context(core_backends[_i]);
    clnn_net *nets[4];
    for (int k = 0; k < 4; k++) {
        bool plain = k % 2; /* nets 1 and 3 keep PyTorch's layout */
        ck_assert_int_eq(plain ? setenv("CLNN_TRANSPOSED_WEIGHTS", "0", 1)
                               : unsetenv("CLNN_TRANSPOSED_WEIGHTS"),
                         0);
        nets[k] = core_net(ctx, in, spec, 3);
        clnn_optimizer_options o;
        clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
        o.momentum = 0.9;
        ck_assert_clnn_ok(clnn_net_set_optimizer(nets[k], &o));
    }
    ck_assert_int_eq(unsetenv("CLNN_TRANSPOSED_WEIGHTS"), 0);
    size_t n, m;
    float *a = core_read_all(nets[0], false, false, &n);
    float *b = core_read_all(nets[1], false, false, &m);
    ck_assert_uint_eq(n, m);
    ck_assert_mem_eq(a, b, n * sizeof *a);
    free(a), free(b);

    core_rng r = core_rng_make(11);
    float *x = malloc(rows * in * sizeof *x);
    ck_assert_ptr_nonnull(x);
    int32_t labels[37];
    for (int step = 0; step < 3; step++) {
        core_fill(x, rows * in, -2, 2, &r);
        core_fill_labels(labels, rows, 5, &r);
        for (int k = 0; k < 2; k++)
            ck_assert_clnn_ok(clnn_net_train_batch(nets[k], x, rows, clnn_net_in_features(nets[k]),
                                                   labels, rows));
    }
    a = core_read_all(nets[0], false, false, &n);
    b = core_read_all(nets[1], false, false, &m);
    check_close_to("tensors trained in the two layouts", a, b, n, 1.0, 1e-4);
    free(a), free(b);
    a = core_read_all(nets[0], true, false, &n);
    b = core_read_all(nets[1], true, false, &m);
    check_close_to("gradients in the two layouts", a, b, n, 1e-2, 1e-3);
    free(a), free(b);

    /* Net 0's state into net 3, net 1's into net 2: each pair then takes the
     * same step from the same bits. */
    char *dir = core_tmpdir();
    char path[2][4096];
    for (int k = 0; k < 2; k++) {
        snprintf(path[k], sizeof path[k], "%s/layout%d.safetensors", dir, k);
        ck_assert_clnn_ok(clnn_net_save_checkpoint(nets[k], path[k], NULL, 0));
        ck_assert_clnn_ok(clnn_net_load_checkpoint(nets[3 - k], path[k]));
    }
    core_fill(x, rows * in, -2, 2, &r);
    core_fill_labels(labels, rows, 5, &r);
    for (int k = 0; k < 2; k++) {
        clnn_net *own = nets[k], *other = nets[3 - k];
        float *before = core_read_all(own, false, false, &n);
        float *loaded = core_read_all(other, false, false, &m);
        ck_assert_uint_eq(n, m);
        ck_assert_mem_eq(before, loaded, n * sizeof *before);
        ck_assert_clnn_ok(
            clnn_net_train_batch(own, x, rows, clnn_net_in_features(own), labels, rows));
        ck_assert_clnn_ok(
            clnn_net_train_batch(other, x, rows, clnn_net_in_features(other), labels, rows));
        a = core_read_all(own, false, false, &n);
        b = core_read_all(other, false, false, &m);
        for (size_t i = 0; i < n; i++) {
            a[i] -= before[i];
            b[i] -= before[i];
        }
        check_close_to("a step after loading the other layout's checkpoint", b, a, n, 1e-6,
                       1e-3);
        free(a), free(b), free(before), free(loaded);
    }
    free(x);
    core_rmtree(dir);
    free(dir);
    for (int k = 0; k < 4; k++)
        clnn_net_free(nets[k]);
}
END_TEST

/* A second forward with a smaller batch reuses the buffers sized for the
 * first; results must match a net that only ever saw the small batch. */
START_TEST(test_smaller_batch_after_larger)
{
    const char *spec = "dense:17,bn,relu,dense:3";
    clnn_context *ctx = core_context(core_backends[_i]);
    clnn_net *a = core_net(ctx, 5, spec, 9), *b = core_net(ctx, 5, spec, 9);
    core_rng r = core_rng_make(5);
    float big[64 * 5], small[3 * 5];
    core_fill(big, 64 * 5, -1, 1, &r);
    core_fill(small, 3 * 5, -1, 1, &r);
    ck_assert_clnn_ok(clnn_net_set_training(a, false));
    ck_assert_clnn_ok(clnn_net_set_training(b, false));
    ck_assert_clnn_ok(clnn_net_forward(a, big, 64, clnn_net_in_features(a)));
    ck_assert_clnn_ok(clnn_net_forward(a, small, 3, clnn_net_in_features(a)));
    ck_assert_clnn_ok(clnn_net_forward(b, small, 3, clnn_net_in_features(b)));
    float ya[9], yb[9];
    ck_assert_clnn_ok(clnn_net_read_output(a, ya, 9));
    ck_assert_clnn_ok(clnn_net_read_output(b, yb, 9));
    /* Same kernels on the same rows: bitwise equal. */
    ck_assert_mem_eq(ya, yb, sizeof ya);
    clnn_net_free(a);
    clnn_net_free(b);
}
END_TEST

static Suite *layers_suite(void)
{
    Suite *s = suite_create("core-layers");
    TCase *tc = tcase_create("layers");
    tcase_add_loop_test(tc, test_layers_match_reference, 0, (int)(N_CASES * 2 * CORE_BACKENDS));
    tcase_add_test(tc, test_unfused_layers_match_reference);
    tcase_add_loop_test(tc, test_row_padding_keeps_every_bit, 0, CORE_BACKENDS);
    tcase_add_loop_test(tc, test_fusion_keeps_every_bit, 0, CORE_BACKENDS);
    tcase_add_loop_test(tc, test_weight_layouts_agree, 0, CORE_BACKENDS);
    tcase_add_loop_test(tc, test_smaller_batch_after_larger, 0, CORE_BACKENDS);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    /* The default (fused) path unless a test asks otherwise. */
    unsetenv("CLNN_NO_FUSION");
    return core_run(layers_suite());
}
