/* Finite-difference gradient check of the device itself: for a sample of
 * elements of every trainable tensor (dense weight and bias, BatchNorm and
 * LayerNorm weight and bias), perturb the element by ±h with clnn_net_tensor_write, rerun
 * forward and backward, read the loss, and compare (L+ − L−)/2h with
 * clnn_net_grad_read. Training mode (batch statistics; the running
 * statistics change on every forward, which does not affect that forward's
 * loss) and eval mode, both GEMM backends. This ties the device's backward
 * to its own forward. Dropout, in training mode, draws a new mask every
 * forward; the test rewinds its stream before each one (device and
 * reference alike), so every loss of a difference quotient sees one mask.
 *
 * Step: the loss is a float32 mean of about 1.6, so each evaluation carries
 * rounding noise of a few ulp; with h = 1e-3 the quotient's noise measured
 * at most 1.8e-4 (2e-5 with h = 1e-2, but at that step the loss of these
 * BatchNorm+ReLU nets is far from linear: see below).
 *
 * Where the quotient means something: a step moves ReLU inputs, and in
 * training mode BatchNorm shifts whole columns, so for some elements a ReLU
 * input crosses zero inside [p − h, p + h] and (L+ − L−)/2h is not the
 * derivative at p. The double reference, holding the same parameters,
 * computes its own quotient over the same interval; where that differs from
 * its analytic gradient by more than 2e-4 + 1e-2·|g| (its discretisation
 * error, kinks included), the element is not sampled. Among the rest, the
 * three with the largest |g| (typically 1e-2..2e-1) and two random ones are
 * checked, and every tensor must have enough of them.
 *
 * Tolerance: |fd − g| ≤ 1e-3 + 2e-2·|g|, which covers noise (≤ 1.8e-4) plus
 * the discretisation error allowed above with a margin of 2.5×, while a
 * wrong factor, sign or term in any backward (an error of several % of |g|
 * on the largest gradients) fails. Measured worst |fd − g| is 1.3e-3 where
 * the bound is 3.4e-3 (|g| = 0.12). */
#include "core_test.h"
#include "net/net_internal.h"

#include <stdlib.h>

#define FD_H 1e-3
#define FD_ATOL 1e-3
#define FD_RTOL 2e-2
#define SMOOTH_ATOL 2e-4
#define SMOOTH_RTOL 1e-2
#define SAMPLES_LARGEST 3
#define SAMPLES_RANDOM 2

/* The stacks and modes checked, and how many trainable tensors each stack
 * has. BatchNorm and ReLU in both modes; the other activations, each after
 * a BatchNorm, whose batch statistics keep every layer's gradients at
 * 1e-2..0.7 in training mode. In eval mode the (randomised) running
 * statistics shrink the first layers' gradients to 1e-4, which the
 * quotient cannot resolve, and the activations compute alike in both
 * modes: training mode only. The norms' stack has LayerNorm (its weight
 * and bias drawn away from 1 and 0 below), and a BatchNorm without
 * parameters or running statistics, which normalises with batch
 * statistics in eval mode too: both modes. Dropout in training mode with
 * its masks held fixed (every forward draws step 0's, on the device and in
 * the reference), after a dense layer, and after a ReLU with BatchNorm
 * before it. */
#define BN_RELU "dense:9,bn,relu,dense:7,bn,relu,dense:5"
#define ACTIVATIONS                                                                                \
    "dense:9,bn,leakyrelu:0.2,dense:8,bn,gelu,dense:7,bn,tanh,dense:6,bn,sigmoid,dense:6,bn,silu," \
    "dense:5"
#define DROPOUT "dense:9,dropout:0.3,dense:7,bn,relu,dropout:0.5,dense:5"
#define SOFTPLUS "dense:9,bn,softplus,dense:7,bn,softplus,dense:5"
#define NORMS                                                                                      \
    "dense:9,layernorm,relu,dense:7,bn:affine=false,track_running_stats=false,relu,dense:5,"       \
    "layernorm"
static const struct {
    const char *spec;
    bool training;
    size_t trainable;
} runs[] = {{BN_RELU, true, 10},  {BN_RELU, false, 10}, {ACTIVATIONS, true, 22},
            {NORMS, true, 10},    {NORMS, false, 10},   {DROPOUT, true, 8},
            {SOFTPLUS, true, 10}};
#define N_RUNS (sizeof runs / sizeof runs[0])
#define IN 6
#define BATCH 17

typedef struct fd_run {
    clnn_net *net;
    ref_net *ref;
    bool training;
    float x[BATCH * IN];
    int32_t labels[BATCH];
    size_t checked, skipped;
} fd_run;

static bool verbose(void)
{
    const char *v = getenv("CLNN_TEST_VERBOSE");
    return v && *v == '1';
}

/* Every dropout layer's next forward draws step 0's masks again, on the
 * device (through its checkpoint values) and in the reference. */
static void rewind_streams(fd_run *run)
{
    for (size_t i = 0; i < run->ref->nlayers; i++) {
        clnn__layer *l = &run->net->layers[i].l;
        clnn__host_value v[CLNN__LAYER_VALUES_MAX];
        size_t n = l->cls->checkpoint ? l->cls->checkpoint(l, v) : 0;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(v[j].suffix, "dropout_key") == 0)
                run->ref->layers[i].key = (uint64_t)*v[j].value;
            if (strcmp(v[j].suffix, "dropout_step") == 0)
                *v[j].value = 0;
        }
        run->ref->layers[i].step = 0;
    }
}

static float loss_now(fd_run *run)
{
    rewind_streams(run);
    ck_assert_clnn_ok(clnn_net_forward(run->net, run->x, BATCH, clnn_net_in_features(run->net)));
    ck_assert_clnn_ok(clnn_net_backward(run->net, run->labels, BATCH));
    float loss;
    ck_assert_clnn_ok(clnn_net_read_loss(run->net, &loss));
    return loss;
}

/* Device loss with element i of the tensor (host copy p) set to v. */
static double device_loss_at(fd_run *run, size_t index, float *p, size_t bytes, size_t i,
                             float v)
{
    float keep = p[i];
    p[i] = v;
    ck_assert_clnn_ok(clnn_net_tensor_write(run->net, index, p, bytes));
    double loss = loss_now(run);
    p[i] = keep;
    ck_assert_clnn_ok(clnn_net_tensor_write(run->net, index, p, bytes));
    return loss;
}

/* The reference's difference quotient over [lo, hi] in element i. */
static double ref_quotient(fd_run *run, double *value, size_t i, float lo, float hi)
{
    double keep = value[i];
    value[i] = hi;
    rewind_streams(run);
    double up = ref_net_loss(run->ref, run->x, BATCH, run->labels, run->training);
    value[i] = lo;
    rewind_streams(run);
    double down = ref_net_loss(run->ref, run->x, BATCH, run->labels, run->training);
    value[i] = keep;
    return (up - down) / ((double)hi - (double)lo);
}

/* Samples among the elements where the difference quotient is meaningful
 * (smooth[i]): the SAMPLES_LARGEST largest |g|, then SAMPLES_RANDOM random
 * ones. Returns how many (0 when no element is smooth). */
static size_t pick_samples(const float *g, const bool *smooth, size_t n, core_rng *r,
                           size_t *out)
{
    size_t count = 0, eligible = 0;
    for (size_t i = 0; i < n; i++)
        eligible += smooth[i];
    for (size_t k = 0; k < SAMPLES_LARGEST && k < eligible; k++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            bool taken = !smooth[i];
            for (size_t j = 0; j < count; j++)
                taken = taken || out[j] == i;
            if (!taken && (best == SIZE_MAX || fabsf(g[i]) > fabsf(g[best])))
                best = i;
        }
        out[count++] = best;
    }
    for (size_t k = 0; k < SAMPLES_RANDOM && eligible > 0; k++) {
        size_t skip = (size_t)(core_rng_next(r) % eligible), i = 0;
        for (;; i++)
            if (smooth[i] && skip-- == 0)
                break;
        out[count++] = i;
    }
    return count;
}

static void check_tensor(fd_run *run, const char *name, const char *label, core_rng *r)
{
    size_t index = core_tensor(run->net, name);
    clnn_tensor_info info = {.struct_size = sizeof info};
    ck_assert_clnn_ok(clnn_net_tensor_info(run->net, index, &info));
    size_t bytes = info.numel * sizeof(float);
    loss_now(run); /* gradients at the unperturbed point */
    float *g = core_read_grad(run->net, name), *p = core_read(run->net, name);

    /* Where the loss is smooth over [p − h, p + h], by the reference. */
    double *ref_value, *ref_grad;
    size_t numel;
    ck_assert(ref_net_find(run->ref, name, &ref_value, &ref_grad, &numel));
    rewind_streams(run);
    ref_net_forward(run->ref, run->x, BATCH, run->training);
    ref_net_backward(run->ref, run->labels);
    bool *smooth = malloc(numel * sizeof *smooth);
    size_t n_smooth = 0;
    for (size_t i = 0; i < numel; i++) {
        float hi = p[i] + (float)FD_H, lo = p[i] - (float)FD_H;
        double q = ref_quotient(run, ref_value, i, lo, hi);
        smooth[i] = fabs(q - ref_grad[i]) <= SMOOTH_ATOL + SMOOTH_RTOL * fabs(ref_grad[i]);
        n_smooth += smooth[i];
    }

    size_t samples[SAMPLES_LARGEST + SAMPLES_RANDOM];
    size_t count = pick_samples(g, smooth, info.numel, r, samples);
    ck_assert_msg(count == SAMPLES_LARGEST + SAMPLES_RANDOM,
                  "%s: %s: only %zu of %zu elements away from kinks", label, name, n_smooth,
                  numel);
    for (size_t k = 0; k < count; k++) {
        size_t i = samples[k];
        float hi = p[i] + (float)FD_H, lo = p[i] - (float)FD_H;
        double up = device_loss_at(run, index, p, bytes, i, hi);
        double down = device_loss_at(run, index, p, bytes, i, lo);
        double fd = (up - down) / ((double)hi - (double)lo), diff = fabs(fd - g[i]);
        if (verbose())
            printf("  %s %s[%zu]: grad %.6g fd %.6g |diff| %.2e\n", label, name, i, (double)g[i],
                   fd, diff);
        ck_assert_msg(diff <= FD_ATOL + FD_RTOL * fabs(g[i]),
                      "%s: %s[%zu]: gradient %.6g, central difference %.6g (|diff| %.3g)", label,
                      name, i, (double)g[i], fd, diff);
    }
    run->checked += count;
    run->skipped += numel - n_smooth;
    free(smooth);
    free(g);
    free(p);
}

/* LayerNorm's weight and bias drawn as core_randomize_bn draws BatchNorm's,
 * so that mixing up γ and β, or leaving one out, changes the loss. */
static void randomize_layernorm(clnn_net *net, core_rng *r)
{
    for (size_t i = 0; i < clnn_net_layer_count(net); i++) {
        clnn_layer_info li = {.struct_size = sizeof li};
        ck_assert_clnn_ok(clnn_net_layer_info(net, i, &li));
        if (strcmp(li.kind, "layernorm") != 0)
            continue;
        for (int k = 0; k < 2; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s.%s", li.prefix, k ? "bias" : "weight");
            float v[64];
            ck_assert_uint_le(li.out_features, 64);
            core_fill(v, li.out_features, k ? -0.5 : 0.5, k ? 0.5 : 1.5, r);
            ck_assert_clnn_ok(clnn_net_tensor_write(net, core_tensor(net, name), v,
                                                    li.out_features * sizeof *v));
        }
    }
}

/* Loop index: run × backend. */
START_TEST(test_gradients_match_finite_differences)
{
    const size_t run_index = (size_t)_i / CORE_BACKENDS;
    const char *spec = runs[run_index].spec;
    bool training = runs[run_index].training;
    clnn_gemm_backend backend = core_backends[_i % CORE_BACKENDS];
    char label[160];
    snprintf(label, sizeof label, "%s (%s, %s)", spec, training ? "train" : "eval",
             clnn_gemm_backend_name(backend));
    fd_run run = {.training = training};
    run.net = core_net(core_context(backend), IN, spec, 3);
    core_rng r = core_rng_make(77 + (uint64_t)_i);
    core_randomize_bn(run.net, &r);
    randomize_layernorm(run.net, &r);
    core_fill(run.x, BATCH * IN, -1, 1, &r);
    core_fill_labels(run.labels, BATCH, 5, &r);
    ck_assert_clnn_ok(clnn_net_set_training(run.net, training));
    run.ref = ref_net_create(IN, spec);
    ck_assert_ptr_nonnull(run.ref);
    core_copy_to_ref(run.net, run.ref);
    size_t tensors = 0;
    for (size_t t = 0; t < clnn_net_tensor_count(run.net); t++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(run.net, t, &info));
        if (!info.trainable)
            continue;
        check_tensor(&run, info.name, label, &r);
        tensors++;
    }
    ck_assert_uint_eq(tensors, runs[run_index].trainable); /* weight and bias of each */
    if (verbose())
        printf("  %s: %zu samples checked; %zu elements near kinks\n", label,
               run.checked, run.skipped);
    ref_net_free(run.ref);
    clnn_net_free(run.net);
}
END_TEST


static Suite *gradcheck_suite(void)
{
    Suite *s = suite_create("core-gradcheck");
    TCase *tc = tcase_create("finite-differences");
    tcase_add_loop_test(tc, test_gradients_match_finite_differences, 0,
                        (int)(N_RUNS * CORE_BACKENDS));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(gradcheck_suite());
}
