/* SGD (plain, momentum, dampening, Nesterov, weight decay) and Adam (with and
 * without weight decay) against the reference update rules of torch.optim.
 * Each step: forward and backward on the device, read every gradient, apply
 * the reference update to a double-precision copy of the parameters with
 * those same gradients, clnn_net_step, and compare every parameter.
 *
 * Error measure: the difference from the reference relative to how far the
 * reference has moved the tensor from its initial value,
 *     err = max|p_dev − p_ref| / max(1e-3, max|p_ref − p_init|),
 * since parameters (~0.3) are far larger than what the optimizer changes
 * (~1e-3..1e-1 over these steps); relative to the parameters themselves even
 * a wrong momentum rule would look small. The floor matters only for the
 * biases that feed BatchNorm, whose gradients are rounding noise and which
 * barely move under SGD. Tolerance 1e-3: the device keeps p, the momentum
 * buffer and Adam's moments in float32, so each step adds rounding of
 * ~eps32·|p| ≈ 3e-8 to p (measured worst err 3e-5 after six steps); a
 * mistaken rule (dampening ignored, Nesterov term missing, bias correction
 * missing, weight decay decoupled) changes the movement by ≥ 5%. */
#include "core_test.h"

#include <stdlib.h>

#define TOL_STEP 1e-3
#define FLOOR_STEP 1e-3
#define STEPS 6

static const char *const SPEC = "dense:8,bn,relu,dense:5,bn,relu,dense:4";
#define IN 6
#define BATCH 11

typedef struct config {
    const char *label;
    clnn_optimizer_options o;
} config;

/* Settings as a program gives them, struct_size included. */
#define SETTINGS(...) {.struct_size = sizeof(clnn_optimizer_options), __VA_ARGS__}

static const config configs[] = {
    {"sgd plain", SETTINGS(.kind = CLNN_OPTIMIZER_SGD, .lr = 0.1)},
    {"sgd weight decay", SETTINGS(.kind = CLNN_OPTIMIZER_SGD, .lr = 0.1, .weight_decay = 0.05)},
    {"sgd momentum", SETTINGS(.kind = CLNN_OPTIMIZER_SGD, .lr = 0.1, .momentum = 0.9)},
    {"sgd momentum dampening",
     SETTINGS(.kind = CLNN_OPTIMIZER_SGD, .lr = 0.1, .momentum = 0.9, .dampening = 0.3)},
    {"sgd nesterov",
     SETTINGS(.kind = CLNN_OPTIMIZER_SGD, .lr = 0.1, .momentum = 0.9, .nesterov = true)},
    {"sgd momentum weight decay",
     SETTINGS(.kind = CLNN_OPTIMIZER_SGD, .lr = 0.05, .momentum = 0.8, .weight_decay = 0.01)},
    {"sgd nesterov weight decay",
     SETTINGS(.kind = CLNN_OPTIMIZER_SGD, .lr = 0.05, .momentum = 0.5, .nesterov = true,
              .weight_decay = 0.02)},
    {"adam",
     SETTINGS(.kind = CLNN_OPTIMIZER_ADAM, .lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8)},
    {"adam weight decay",
     SETTINGS(.kind = CLNN_OPTIMIZER_ADAM, .lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
              .weight_decay = 0.05)},
    {"adam betas eps",
     SETTINGS(.kind = CLNN_OPTIMIZER_ADAM, .lr = 3e-3, .beta1 = 0.5, .beta2 = 0.9, .eps = 1e-3)},
};
#define N_CONFIGS (sizeof configs / sizeof configs[0])

/* The reference's copy of one trainable tensor and its optimizer state. */
typedef struct shadow {
    char name[64];
    size_t numel;
    double *p, *init, *a, *b, *g;
} shadow;

static void reference_step(const clnn_optimizer_options *o, shadow *s, uint64_t step)
{
    if (o->kind == CLNN_OPTIMIZER_SGD) {
        ref_sgd r = {.lr = o->lr, .momentum = o->momentum, .dampening = o->dampening,
                     .weight_decay = o->weight_decay, .nesterov = o->nesterov};
        ref_sgd_step(&r, s->p, s->g, s->a, s->numel, step == 1);
    } else {
        ref_adam r = {.lr = o->lr, .beta1 = o->beta1, .beta2 = o->beta2, .eps = o->eps,
                      .weight_decay = o->weight_decay};
        ref_adam_step(&r, s->p, s->g, s->a, s->b, s->numel, step);
    }
}

static void compare(clnn_net *net, const shadow *s, const char *label, uint64_t step)
{
    float *p = core_read(net, s->name), *moved = malloc(s->numel * sizeof *moved);
    double *want = malloc(s->numel * sizeof *want);
    for (size_t i = 0; i < s->numel; i++) {
        moved[i] = (float)((double)p[i] - s->init[i]);
        want[i] = s->p[i] - s->init[i];
    }
    char what[256];
    snprintf(what, sizeof what, "%.80s, step %llu: movement of %.64s", label, (unsigned long long)step,
             s->name);
    core_check_close(what, moved, want, s->numel, FLOOR_STEP, TOL_STEP);
    free(p), free(moved), free(want);
}

/* Run steps on the device and the shadows; restart_at > 0 calls
 * clnn_net_set_optimizer again before that step (state must reset). */
static void run(const config *c, uint64_t steps, uint64_t restart_at)
{
    clnn_net *net = core_net(core_context(core_backends[0]), IN, SPEC, 6);
    core_rng r = core_rng_make(21);
    core_randomize_bn(net, &r);
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &c->o));
    shadow sh[16];
    size_t ns = 0;
    for (size_t t = 0; t < clnn_net_tensor_count(net); t++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(net, t, &info));
        if (!info.trainable)
            continue;
        shadow *s = &sh[ns++];
        snprintf(s->name, sizeof s->name, "%s", info.name);
        s->numel = info.numel;
        s->p = calloc(info.numel, sizeof(double));
        s->init = calloc(info.numel, sizeof(double));
        s->a = calloc(info.numel, sizeof(double));
        s->b = calloc(info.numel, sizeof(double));
        s->g = calloc(info.numel, sizeof(double));
        float *v = core_read(net, info.name);
        for (size_t i = 0; i < info.numel; i++)
            s->p[i] = s->init[i] = v[i];
        free(v);
    }
    ck_assert_uint_eq(ns, 10);
    float x[BATCH * IN];
    int32_t labels[BATCH];
    uint64_t ref_step = 0;
    for (uint64_t step = 1; step <= steps; step++) {
        if (step == restart_at) {
            ck_assert_clnn_ok(clnn_net_set_optimizer(net, &c->o));
            ref_step = 0;
            for (size_t k = 0; k < ns; k++)
                for (size_t i = 0; i < sh[k].numel; i++)
                    sh[k].a[i] = sh[k].b[i] = 0.0;
        }
        ref_step++;
        core_fill(x, BATCH * IN, -1, 1, &r);
        core_fill_labels(labels, BATCH, 4, &r);
        ck_assert_clnn_ok(clnn_net_forward(net, x, BATCH, clnn_net_in_features(net)));
        ck_assert_clnn_ok(clnn_net_backward(net, labels, BATCH));
        for (size_t k = 0; k < ns; k++) {
            float *g = core_read_grad(net, sh[k].name);
            for (size_t i = 0; i < sh[k].numel; i++)
                sh[k].g[i] = g[i];
            free(g);
            reference_step(&c->o, &sh[k], ref_step);
        }
        ck_assert_clnn_ok(clnn_net_step(net));
        for (size_t k = 0; k < ns; k++)
            compare(net, &sh[k], c->label, step);
    }
    for (size_t k = 0; k < ns; k++)
        free(sh[k].p), free(sh[k].init), free(sh[k].a), free(sh[k].b), free(sh[k].g);
    clnn_net_free(net);
}

START_TEST(test_optimizer_matches_reference)
{
    run(&configs[_i], STEPS, 0);
}
END_TEST

/* clnn_net_set_optimizer resets the state: after a restart the first-step
 * rules (SGD buffer = d; Adam's bias correction from t = 1) apply again. */
START_TEST(test_set_optimizer_resets_state)
{
    static const size_t which[] = {3, 7}; /* sgd with dampening, adam */
    run(&configs[which[_i]], 5, 3);
}
END_TEST

/* clnn_net_set_lr changes only the learning rate: momentum continues. */
START_TEST(test_set_lr_keeps_state)
{
    const config *c = &configs[2]; /* sgd momentum */
    clnn_net *a = core_net(core_context(core_backends[0]), IN, SPEC, 6);
    clnn_net *b = core_net(core_context(core_backends[0]), IN, SPEC, 6);
    ck_assert_clnn_ok(clnn_net_set_optimizer(a, &c->o));
    clnn_optimizer_options half = c->o;
    half.lr = c->o.lr / 2;
    ck_assert_clnn_ok(clnn_net_set_optimizer(b, &half));
    core_rng r = core_rng_make(22);
    float x[BATCH * IN];
    int32_t labels[BATCH];
    for (int step = 0; step < 3; step++) {
        core_fill(x, BATCH * IN, -1, 1, &r);
        core_fill_labels(labels, BATCH, 4, &r);
        if (step == 1)
            ck_assert_clnn_ok(clnn_net_set_lr(a, half.lr));
        ck_assert_clnn_ok(
            clnn_net_train_batch(a, x, BATCH, clnn_net_in_features(a), labels, BATCH));
        if (step == 0) {
            /* Let b catch up with a's first step, then both go on alike. */
            ck_assert_clnn_ok(
                clnn_net_train_batch(b, x, BATCH, clnn_net_in_features(b), labels, BATCH));
            for (size_t t = 0; t < clnn_net_tensor_count(a); t++) {
                clnn_tensor_info info = {.struct_size = sizeof info};
                ck_assert_clnn_ok(clnn_net_tensor_info(a, t, &info));
                size_t bytes = info.numel * (info.dtype == CLNN_DTYPE_I64 ? 8 : 4);
                void *v = malloc(bytes);
                ck_assert_clnn_ok(clnn_net_tensor_read(a, t, v, bytes));
                ck_assert_clnn_ok(clnn_net_tensor_write(b, t, v, bytes));
                free(v);
            }
            /* b's momentum buffer holds d of its own first step (from the
             * same gradient as a's), so the states match. */
        } else {
            ck_assert_clnn_ok(
                clnn_net_train_batch(b, x, BATCH, clnn_net_in_features(b), labels, BATCH));
        }
    }
    float *pa = core_read(a, "0.weight"), *pb = core_read(b, "0.weight");
    for (size_t i = 0; i < 8 * IN; i++)
        ck_assert_float_eq_tol(pa[i], pb[i], 1e-6f);
    free(pa);
    free(pb);
    clnn_net_free(a);
    clnn_net_free(b);
}
END_TEST

static Suite *optimizer_suite(void)
{
    Suite *s = suite_create("core-optimizer");
    TCase *tc = tcase_create("optimizer");
    tcase_add_loop_test(tc, test_optimizer_matches_reference, 0, (int)N_CONFIGS);
    tcase_add_loop_test(tc, test_set_optimizer_resets_state, 0, 2);
    tcase_add_test(tc, test_set_lr_keeps_state);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(optimizer_suite());
}
