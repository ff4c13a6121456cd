/* Finite-difference gradient check of the device itself: for a sample of
 * elements of every trainable tensor (dense weight and bias, BatchNorm weight
 * and bias), perturb the element by ±h with clnn_net_tensor_write, rerun
 * forward and backward, read the loss, and compare (L+ − L−)/2h with
 * clnn_net_grad_read. Training mode (batch statistics; the running
 * statistics change on every forward, which does not affect that forward's
 * loss) and eval mode, both GEMM backends. This needs no reference: it ties
 * the device's backward to its own forward.
 *
 * Step and tolerance: the loss is a float32 mean of about 2.3, so each
 * evaluation carries rounding noise of a few ulp (≈ 1e-6); with h = 1e-2 the
 * difference quotient carries ≈ 1e-6/2e-2 = 5e-5 of noise, and truncation
 * adds h²/6·L''' ≈ 1e-5 for these smooth small nets. A ReLU whose input
 * lies within ~h of zero for some sample bends the loss inside the interval
 * and adds an error of order |g|/batch. Accept |fd − g| ≤ 1e-3 + 5e-2·|g|:
 * 20× the noise, and the elements checked are the three with the largest
 * |g| (typically 1e-2..1e-1) plus two random ones, so a wrong factor, sign
 * or term in any backward (errors ≥ 20% of |g|) fails. Measured worst
 * |fd − g| − 5e-2·|g| is below 1e-4. */
#include "core_test.h"

#include <stdlib.h>

#define FD_H 1e-2
#define FD_ATOL 1e-3
#define FD_RTOL 5e-2
#define SAMPLES_LARGEST 3
#define SAMPLES_RANDOM 2

static const char *const SPEC = "dense:9,bn,relu,dense:7,bn,relu,dense:5";
#define IN 6
#define BATCH 17

typedef struct fd_run {
    clnn_net *net;
    float x[BATCH * IN];
    int32_t labels[BATCH];
} fd_run;

static float loss_now(fd_run *run)
{
    ck_assert_clnn_ok(clnn_net_forward(run->net, run->x, BATCH));
    ck_assert_clnn_ok(clnn_net_backward(run->net, run->labels));
    float loss;
    ck_assert_clnn_ok(clnn_net_read_loss(run->net, &loss));
    return loss;
}

/* The indices of the SAMPLES_LARGEST largest |g| (fewer when the tensor
 * is smaller), then SAMPLES_RANDOM random ones. */
static size_t pick_samples(const float *g, size_t n, core_rng *r, size_t *out)
{
    size_t count = 0;
    for (size_t k = 0; k < SAMPLES_LARGEST && k < n; k++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            bool taken = false;
            for (size_t j = 0; j < count; j++)
                taken = taken || out[j] == i;
            if (!taken && (best == SIZE_MAX || fabsf(g[i]) > fabsf(g[best])))
                best = i;
        }
        out[count++] = best;
    }
    for (size_t k = 0; k < SAMPLES_RANDOM; k++)
        out[count++] = (size_t)(core_rng_next(r) % n);
    return count;
}

static void check_tensor(fd_run *run, const char *name, const char *label, core_rng *r)
{
    size_t index = core_tensor(run->net, name);
    clnn_tensor_info info;
    ck_assert_clnn_ok(clnn_net_tensor_info(run->net, index, &info));
    size_t bytes = info.numel * sizeof(float);
    loss_now(run); /* gradients at the unperturbed point */
    float *g = core_read_grad(run->net, name), *p = core_read(run->net, name);
    size_t samples[SAMPLES_LARGEST + SAMPLES_RANDOM];
    size_t count = pick_samples(g, info.numel, r, samples);
    for (size_t k = 0; k < count; k++) {
        size_t i = samples[k];
        float keep = p[i];
        p[i] = keep + (float)FD_H;
        ck_assert_clnn_ok(clnn_net_tensor_write(run->net, index, p, bytes));
        double up = loss_now(run);
        p[i] = keep - (float)FD_H;
        ck_assert_clnn_ok(clnn_net_tensor_write(run->net, index, p, bytes));
        double down = loss_now(run);
        p[i] = keep;
        ck_assert_clnn_ok(clnn_net_tensor_write(run->net, index, p, bytes));
        double fd = (up - down) / (2 * FD_H), excess = fabs(fd - g[i]) - FD_RTOL * fabs(g[i]);
        const char *v = getenv("CLNN_TEST_VERBOSE");
        if (v && *v == '1')
            printf("  %s %s[%zu]: grad %.6g fd %.6g excess %.2e\n", label, name, i, (double)g[i],
                   fd, excess);
        ck_assert_msg(excess <= FD_ATOL,
                      "%s: %s[%zu]: gradient %.6g, central difference %.6g (|diff| %.3g)", label,
                      name, i, (double)g[i], fd, fabs(fd - g[i]));
    }
    free(g);
    free(p);
}

/* Loop index: mode × backend. */
START_TEST(test_gradients_match_finite_differences)
{
    bool training = _i / 2 == 0;
    clnn_gemm_backend backend = core_backends[_i % 2];
    char label[96];
    snprintf(label, sizeof label, "%s (%s, %s)", SPEC, training ? "train" : "eval",
             clnn_gemm_backend_name(backend));
    fd_run run;
    run.net = core_net(core_context(backend), IN, SPEC, 3);
    core_rng r = core_rng_make(77 + (uint64_t)_i);
    core_randomize_bn(run.net, &r);
    core_fill(run.x, BATCH * IN, -1, 1, &r);
    core_fill_labels(run.labels, BATCH, 5, &r);
    ck_assert_clnn_ok(clnn_net_set_training(run.net, training));
    size_t checked = 0;
    for (size_t t = 0; t < clnn_net_tensor_count(run.net); t++) {
        clnn_tensor_info info;
        ck_assert_clnn_ok(clnn_net_tensor_info(run.net, t, &info));
        if (!info.trainable)
            continue;
        check_tensor(&run, info.name, label, &r);
        checked++;
    }
    ck_assert_uint_eq(checked, 10); /* 3 dense + 2 BatchNorm layers, weight and bias each */
    clnn_net_free(run.net);
}
END_TEST

static Suite *gradcheck_suite(void)
{
    Suite *s = suite_create("core-gradcheck");
    TCase *tc = tcase_create("finite-differences");
    tcase_add_loop_test(tc, test_gradients_match_finite_differences, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(gradcheck_suite());
}
