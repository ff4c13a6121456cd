/* The double-precision reference checked on its own, without a device:
 * small cases worked by hand (GEMM transposes, BatchNorm running statistics,
 * cross-entropy, SGD and Adam against torch.optim's update rules), and every
 * backward against central differences of the forward.
 *
 * Finite differences in double: (L(p+h) − L(p−h)) / 2h with h = 1e-6. The
 * truncation error is h²/6·L''' ≈ 1e-13 and the rounding error about
 * 2·eps64·|L|/2h ≈ 1e-9·|L| with |L| ≈ 2, so 1e-6 (absolute, plus 1e-6 of
 * |g|) is three orders above the noise, yet any wrong term of a backward
 * formula changes gradients of size 1e-3..1 by far more. A ReLU input within
 * 1e-6 of zero would bend the loss inside the interval; the data below is
 * fixed and has none that close. */
#include "core_test.h"
#include "reference.h"

#define FD_STEP 1e-6
#define FD_ATOL 1e-6
#define FD_RTOL 1e-6

/* Exact for these small integers and dyadic fractions. */
#define ck_assert_double_exact(a, b) ck_assert_double_eq_tol((a), (b), 1e-12)

START_TEST(test_gemm_transposes_by_hand)
{
    /* A = [1 2; 3 4], B = [5 6; 7 8]. */
    const double a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8};
    const double want[4][4] = {{19, 22, 43, 50},  /* A·B */
                               {17, 23, 39, 53},  /* A·Bᵀ */
                               {26, 30, 38, 44},  /* Aᵀ·B */
                               {23, 31, 34, 46}}; /* Aᵀ·Bᵀ */
    for (int t = 0; t < 4; t++) {
        double c[4] = {1, 1, 1, 1};
        ref_gemm(t & 2, t & 1, 2, 2, 2, 2.0, a, 2, b, 2, -1.0, c, 2);
        for (int i = 0; i < 4; i++)
            ck_assert_double_exact(c[i], 2 * want[t][i] - 1);
    }
    /* beta = 0 must not read C. */
    double c[4] = {NAN, NAN, NAN, NAN};
    ref_gemm(false, false, 2, 2, 2, 1.0, a, 2, b, 2, 0.0, c, 2);
    ck_assert_double_exact(c[3], 50);
}
END_TEST

START_TEST(test_batchnorm_by_hand)
{
    /* One column 1, 2, 3: mean 2, biased variance 2/3 (normalisation),
     * unbiased variance 1 (running_var). */
    const double x[] = {1, 2, 3}, gamma[] = {2}, beta[] = {0.5};
    double rm[] = {0.0}, rv[] = {1.0}, mean[1], invstd[1], y[3];
    ref_bn_forward_train(x, 3, 1, gamma, beta, rm, rv, mean, invstd, y);
    ck_assert_double_exact(rm[0], 0.1 * 2);
    ck_assert_double_exact(rv[0], 0.9 * 1 + 0.1 * 1);
    double s = 1.0 / sqrt(2.0 / 3.0 + 1e-5);
    ck_assert_double_exact(y[0], -1 * s * 2 + 0.5);
    ck_assert_double_exact(y[2], 1 * s * 2 + 0.5);
    ref_bn_forward_eval(x, 3, 1, gamma, beta, rm, rv, mean, invstd, y);
    ck_assert_double_exact(y[1], (2 - 0.2) / sqrt(1.0 + 1e-5) * 2 + 0.5);
}
END_TEST

START_TEST(test_cross_entropy_by_hand)
{
    /* Two equal logits: loss ln 2; dz = (½ − 1, ½) / rows. Second row: label
     * 1 of (0, ln 3): p = (¼, ¾), loss −ln ¾. */
    const double z[] = {0, 0, 0, log(3.0)};
    const int32_t labels[] = {0, 1};
    double dz[4];
    double loss = ref_softmax_xent(z, labels, 2, 2, dz);
    ck_assert_double_exact(loss, (log(2.0) - log(0.75)) / 2);
    ck_assert_double_exact(dz[0], -0.25);
    ck_assert_double_exact(dz[1], 0.25);
    ck_assert_double_exact(dz[2], 0.125);
    ck_assert_double_exact(dz[3], -0.125);
}
END_TEST

/* Two steps of torch.optim.SGD from p = 1 with a constant gradient 1,
 * worked out from the documented update rule. */
START_TEST(test_sgd_by_hand)
{
    static const struct {
        ref_sgd o;
        double after1, after2;
    } cases[] = {
        /* plain: p −= 0.1 */
        {{.lr = 0.1}, 0.9, 0.8},
        /* weight decay: d = 1 + 0.5·p */
        {{.lr = 0.1, .weight_decay = 0.5}, 1 - 0.1 * 1.5, 0.85 - 0.1 * (1 + 0.5 * 0.85)},
        /* momentum with dampening: buf = 1, then 0.9·1 + 0.5·1 = 1.4 */
        {{.lr = 0.1, .momentum = 0.9, .dampening = 0.5}, 0.9, 0.9 - 0.14},
        /* nesterov: d = 1 + 0.9·buf with buf = 1, then 1.9 */
        {{.lr = 0.1, .momentum = 0.9, .nesterov = true}, 1 - 0.19, 0.81 - 0.1 * (1 + 0.9 * 1.9)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double p = 1.0, g = 1.0, buf = 0.0;
        ref_sgd_step(&cases[i].o, &p, &g, &buf, 1, true);
        ck_assert_double_exact(p, cases[i].after1);
        ref_sgd_step(&cases[i].o, &p, &g, &buf, 1, false);
        ck_assert_double_exact(p, cases[i].after2);
    }
}
END_TEST

START_TEST(test_adam_by_hand)
{
    /* With a constant gradient the bias-corrected moments are g and g², so
     * every step moves p by lr·g/(|g| + eps). */
    ref_adam o = {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    double p = 1.0, g = -0.5, m = 0.0, v = 0.0;
    for (uint64_t t = 1; t <= 3; t++)
        ref_adam_step(&o, &p, &g, &m, &v, 1, t);
    ck_assert_double_eq_tol(p, 1.0 + 3 * 0.01 * 0.5 / (0.5 + 1e-8), 1e-12);
    /* Weight decay adds wd·p to the gradient before the moments (L2, not
     * AdamW): from p = 2 with g = 0 and wd = 0.5, d = 1 and p −= lr·1/(1+eps). */
    o.weight_decay = 0.5;
    p = 2.0, g = 0.0, m = 0.0, v = 0.0;
    ref_adam_step(&o, &p, &g, &m, &v, 1, 1);
    ck_assert_double_eq_tol(p, 2.0 - 0.01 / (1 + 1e-8), 1e-12);
}
END_TEST

/* Random parameters for a reference net (BatchNorm γ away from 0, running
 * variances positive). */
static void randomize(ref_net *net, core_rng *r)
{
    for (size_t i = 0; i < net->nlayers; i++) {
        ref_layer *l = &net->layers[i];
        if (l->kind == CLNN__LAYER_DENSE) {
            for (size_t j = 0; j < l->out * l->in; j++)
                l->w[j] = core_rng_uniform(r, -0.6, 0.6);
            for (size_t j = 0; j < l->out; j++)
                l->b[j] = core_rng_uniform(r, -0.3, 0.3);
        } else if (l->kind == CLNN__LAYER_BATCHNORM1D) {
            for (size_t j = 0; j < l->out; j++) {
                l->w[j] = core_rng_uniform(r, 0.5, 1.5);
                l->b[j] = core_rng_uniform(r, -0.5, 0.5);
                l->rmean[j] = core_rng_uniform(r, -0.5, 0.5);
                l->rvar[j] = core_rng_uniform(r, 0.5, 2.0);
            }
        }
    }
}

/* Every parameter of the net: analytic gradient vs central difference. */
static void gradcheck(const char *spec, size_t in, size_t rows, bool training, uint64_t seed)
{
    ref_net *net = ref_net_create(in, spec);
    ck_assert_ptr_nonnull(net);
    core_rng r = core_rng_make(seed);
    randomize(net, &r);
    float *x = malloc(rows * in * sizeof *x);
    int32_t *labels = malloc(rows * sizeof *labels);
    core_fill(x, rows * in, -1.0, 1.0, &r);
    core_fill_labels(labels, rows, ref_net_out(net), &r);
    ref_net_forward(net, x, rows, training);
    ref_net_backward(net, labels);
    size_t checked = 0;
    for (size_t t = 0; t < ref_net_param_count(net); t++) {
        ref_param p = ref_net_param(net, t);
        for (size_t i = 0; i < p.numel; i++, checked++) {
            double keep = p.value[i];
            p.value[i] = keep + FD_STEP;
            double up = ref_net_loss(net, x, rows, labels, training);
            p.value[i] = keep - FD_STEP;
            double down = ref_net_loss(net, x, rows, labels, training);
            p.value[i] = keep;
            double fd = (up - down) / (2 * FD_STEP);
            ck_assert_msg(fabs(fd - p.grad[i]) <= FD_ATOL + FD_RTOL * fabs(p.grad[i]),
                          "%s (%s mode) %s[%zu]: backward %.10g, central difference %.10g", spec,
                          training ? "train" : "eval", p.name, i, p.grad[i], fd);
        }
    }
    ck_assert_uint_gt(checked, 0);
    free(x);
    free(labels);
    ref_net_free(net);
}

static const struct {
    const char *spec;
    size_t in, rows;
} fd_cases[] = {
    {"dense:5", 3, 4},
    {"bn,dense:3", 4, 5},
    {"dense:6,bn,relu,dense:4,bn,relu,dense:3", 5, 7},
    {"dense:4,relu,dense:4,bn,dense:2", 3, 2},
};
#define N_FD_CASES (sizeof fd_cases / sizeof fd_cases[0])

START_TEST(test_backward_matches_finite_differences)
{
    size_t c = (size_t)_i / 2;
    bool training = _i % 2 == 0;
    gradcheck(fd_cases[c].spec, fd_cases[c].in, fd_cases[c].rows, training, 100 + (uint64_t)_i);
}
END_TEST

static Suite *reference_suite(void)
{
    Suite *s = suite_create("core-reference");
    TCase *tc = tcase_create("by-hand");
    tcase_add_test(tc, test_gemm_transposes_by_hand);
    tcase_add_test(tc, test_batchnorm_by_hand);
    tcase_add_test(tc, test_cross_entropy_by_hand);
    tcase_add_test(tc, test_sgd_by_hand);
    tcase_add_test(tc, test_adam_by_hand);
    suite_add_tcase(s, tc);
    tc = tcase_create("finite-differences");
    tcase_add_loop_test(tc, test_backward_matches_finite_differences, 0, (int)(2 * N_FD_CASES));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Host code only: no device needed. */
    return core_run(reference_suite());
}
