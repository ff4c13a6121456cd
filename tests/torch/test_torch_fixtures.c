/* clnn against PyTorch: replays the runs recorded by tools/make-fixtures.py
 * (tests/data/torch/<scenario>.safetensors, described in the README there)
 * and compares every layer output, the loss, every gradient, the whole state
 * dict after 1 and 10 optimizer steps, and the eval-mode outputs.
 *
 * Each scenario runs once with each GEMM backend (CLBlast and clnn's own).
 *
 * Error measure of one tensor (the same in the generator, which checks that
 * the tolerances below are sound, see "Tolerances"):
 *
 *     err = max_i |a_i - b_i| / max(floor, max_i |r_i|)
 *
 * a = clnn, b = PyTorch, r = b for outputs and gradients, and r = b - init
 * (how far PyTorch moved the tensor from its initial value) for the state
 * after optimizer steps. The floor keeps tensors whose reference is almost
 * zero (e.g. the gradient of a bias that feeds BatchNorm, which is zero up to
 * rounding) from turning rounding noise into a large relative error.
 *
 * Tolerances. Both sides compute in float32 but sum in different orders
 * (GEMM blocking, reductions), so they differ by rounding noise. The
 * generator measures that noise as the difference between PyTorch's float32
 * run and the same run in float64 (clnn's own rounding error is of the same
 * size, so clnn vs PyTorch may differ by up to about twice as much), and
 * refuses fixtures where it exceeds a fifth of any tolerance. It also
 * replays plausible implementation mistakes (biased running_var, BatchNorm
 * momentum rule reversed, unbiased variance in the normalisation, eps 1e-3,
 * summed loss, weight decay ignored or decoupled, dampened or non-Nesterov
 * momentum, Adam without bias correction or with eps inside the square root;
 * in the activations scenario LeakyReLU's slope ignored, GELU's tanh
 * approximation, Tanh or SiLU computed as a sigmoid; for LayerNorm and
 * BatchNorm's options: the unbiased row variance, eps outside the square
 * root, an option ignored, momentum=none's factor wrong, running statistics
 * in eval without track_running_stats) and refuses fixtures where any of
 * them stays under ten times the tolerance
 * of every check. Measured noise, in the error measure above:
 *  - train-mode layer outputs and loss, 1e-5 (floor 1): one forward from the
 *    same weights; noise at most 6e-7 (BatchNorm divides by a batch standard
 *    deviation of ~0.2, amplifying the GEMM's rounding).
 *  - gradients, 1e-4 (floor 0.1): one backward; noise at most 7e-6, in the
 *    gradient of a bias that feeds BatchNorm (zero but for rounding, since
 *    BatchNorm's backward subtracts nearly equal terms).
 *  - state after 1 and 10 steps, 1e-3 of the change (floor 1e-2): noise
 *    compounds over ten steps of lr 0.1 with momentum; at most 4e-5.
 *    num_batches_tracked must match exactly.
 *  - eval-mode outputs and loss after 10 steps, 1e-4 (floor 1): they depend
 *    on the parameters and running statistics after ten steps and so carry
 *    that compounded noise, at most 4e-6, not one forward's.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clnn_test.h"
#include "io/safetensors.h"

static const char *const scenarios[] = {"sgd_momentum", "sgd_nesterov", "sgd_plain", "adam",
                                        "activations", "norm_layernorm", "norm_bn_options",
                                        "dropout_sgd", "sgd_mse", "softplus"};
#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))
#define N_BACKENDS ((size_t)CLNN_TEST_BACKENDS) /* clnn_test_backends */

/* See the comment at the top for the reasoning behind each. */
typedef struct tolerance {
    const char *kind;
    double floor;
    double tol;
} tolerance;
static const tolerance TOL_OUT = {"train output", 1.0, 1e-5};
static const tolerance TOL_GRAD = {"gradient", 0.1, 1e-4};
static const tolerance TOL_STATE = {"state", 1e-2, 1e-3};
static const tolerance TOL_EVAL = {"eval output", 1.0, 1e-4};
/* What was written must read back unchanged. */
static const tolerance TOL_EXACT = {"round trip", 1.0, 0.0};

/* One scenario × backend run: names for messages, the fixture and the net. */
typedef struct run {
    char label[96];
    clnn__st_file file;
    clnn_context *ctx;
    clnn_net *net;
    size_t batch;
    size_t in_features;
    bool mse; /* metadata clnn.loss=mse: float targets y.<k>, [batch, outputs] */
} run;

/* ---------------------------------------------------------- fixture access */

static const clnn__st_tensor *need(const run *r, const char *name)
{
    const clnn__st_tensor *t = clnn__st_find(&r->file, name);
    ck_assert_msg(t != NULL, "%s: fixture has no tensor %s", r->label, name);
    return t;
}

static const clnn__st_tensor *needf(const run *r, const char *fmt, const char *arg)
{
    char name[160];
    snprintf(name, sizeof(name), fmt, arg);
    return need(r, name);
}

static const clnn__st_tensor *needi(const run *r, const char *fmt, size_t i)
{
    char name[160];
    snprintf(name, sizeof(name), fmt, i);
    return need(r, name);
}

/* Little-endian file data to host values (memcpy: data may be unaligned). */
static float *to_f32(const run *r, const clnn__st_tensor *t)
{
    ck_assert_msg(t->dtype == CLNN__ST_F32, "%s: %s is %s, expected F32", r->label, t->name,
                  clnn__st_dtype_name(t->dtype));
    float *v = malloc((t->numel ? t->numel : 1) * sizeof(float));
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < t->numel; i++) {
        const uint8_t *p = t->data + 4 * i;
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        memcpy(&v[i], &u, sizeof(float));
    }
    return v;
}

static int64_t i64_at(const clnn__st_tensor *t, size_t i)
{
    const uint8_t *p = t->data + 8 * i;
    uint64_t u = 0;
    for (int b = 7; b >= 0; b--)
        u = u << 8 | p[b];
    return (int64_t)u;
}

static int32_t *labels(const run *r, size_t k)
{
    const clnn__st_tensor *t = needi(r, "y.%zu", k);
    ck_assert_msg(t->dtype == CLNN__ST_I64 && t->numel == r->batch, "%s: y.%zu malformed", r->label, k);
    int32_t *y = malloc(r->batch * sizeof(int32_t));
    ck_assert_ptr_nonnull(y);
    for (size_t i = 0; i < r->batch; i++)
        y[i] = (int32_t)i64_at(t, i);
    return y;
}

/* Regression targets of batch k: batch × outputs floats. */
static float *targets(const run *r, size_t k)
{
    const clnn__st_tensor *t = needi(r, "y.%zu", k);
    ck_assert_msg(t->ndim == 2 && t->shape[0] == r->batch &&
                      t->shape[1] == clnn_net_out_features(r->net),
                  "%s: y.%zu has the wrong shape for targets", r->label, k);
    return to_f32(r, t);
}

/* Backward against batch k's labels or targets, as the scenario's loss takes them. */
static void backward(const run *r, size_t k)
{
    if (r->mse) {
        float *t = targets(r, k);
        ck_assert_clnn_ok(clnn_net_backward_targets(r->net, t, r->batch * clnn_net_out_features(r->net)));
        free(t);
    } else {
        int32_t *y = labels(r, k);
        ck_assert_clnn_ok(clnn_net_backward(r->net, y, r->batch));
        free(y);
    }
}

static float *inputs(const run *r, size_t k)
{
    const clnn__st_tensor *t = needi(r, "x.%zu", k);
    ck_assert_msg(t->ndim == 2 && t->shape[0] == r->batch && t->shape[1] == r->in_features,
                  "%s: x.%zu has the wrong shape", r->label, k);
    return to_f32(r, t);
}

static size_t meta_size(const run *r, const char *key)
{
    const char *v = clnn__st_meta(&r->file, key);
    ck_assert_msg(v != NULL, "%s: fixture metadata lacks %s", r->label, key);
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    ck_assert_msg(end != v && *end == '\0' && n > 0, "%s: metadata %s=\"%s\"", r->label, key, v);
    return (size_t)n;
}

/* "sgd lr=0.1 momentum=0.9 dampening=0.0 weight_decay=0.0005 nesterov=0" or
 * "adam lr=0.001 beta1=0.9 beta2=0.999 eps=1e-08 weight_decay=0.01". */
static void parse_optimizer(const run *r, clnn_optimizer_options *o)
{
    const char *desc = clnn__st_meta(&r->file, "optimizer");
    ck_assert_msg(desc != NULL, "%s: fixture metadata lacks optimizer", r->label);
    char buf[256];
    ck_assert_msg(strlen(desc) < sizeof(buf), "%s: optimizer description too long", r->label);
    strcpy(buf, desc);
    char *save = NULL;
    char *tok = strtok_r(buf, " ", &save);
    ck_assert_msg(tok != NULL, "%s: empty optimizer description", r->label);
    if (strcmp(tok, "sgd") == 0)
        clnn_optimizer_options_init(o, CLNN_OPTIMIZER_SGD);
    else if (strcmp(tok, "adam") == 0)
        clnn_optimizer_options_init(o, CLNN_OPTIMIZER_ADAM);
    else
        ck_abort_msg("%s: unknown optimizer \"%s\"", r->label, tok);
    while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        ck_assert_msg(eq != NULL, "%s: optimizer token \"%s\"", r->label, tok);
        *eq = '\0';
        char *end = NULL;
        float v = strtof(eq + 1, &end);
        ck_assert_msg(end != eq + 1 && *end == '\0', "%s: optimizer value %s", r->label, eq + 1);
        if (strcmp(tok, "lr") == 0)
            o->lr = v;
        else if (strcmp(tok, "momentum") == 0)
            o->momentum = v;
        else if (strcmp(tok, "dampening") == 0)
            o->dampening = v;
        else if (strcmp(tok, "weight_decay") == 0)
            o->weight_decay = v;
        else if (strcmp(tok, "nesterov") == 0)
            o->nesterov = v != 0.0f;
        else if (strcmp(tok, "beta1") == 0)
            o->beta1 = v;
        else if (strcmp(tok, "beta2") == 0)
            o->beta2 = v;
        else if (strcmp(tok, "eps") == 0)
            o->eps = v;
        else
            ck_abort_msg("%s: unknown optimizer setting %s", r->label, tok);
    }
}

/* ------------------------------------------------------------- comparison */

/* err = max|a - b| / max(floor, max|r|) with r = b - init (init != NULL) or b. */
static void compare(const run *r, const char *what, const float *a, const float *b, const float *init,
                    size_t n, tolerance t)
{
    double diff = 0.0, ref = 0.0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        double m = fabs(init ? (double)b[i] - (double)init[i] : (double)b[i]);
        if (isnan(d) ? !isnan(diff) : d > diff) { /* a NaN, once seen, stays */
            diff = d;
            worst = i;
        }
        if (m > ref)
            ref = m;
    }
    double err = diff / (ref > t.floor ? ref : t.floor);
    ck_assert_msg(err <= t.tol,
                  "%s: %s %s: error %.3g > %.0e (max|clnn - torch| = %.3g at [%zu]: clnn %.9g, torch "
                  "%.9g%s%.9g; scale %.3g)",
                  r->label, t.kind, what, err, t.tol, diff, worst, (double)a[worst], (double)b[worst],
                  init ? ", init " : "", init ? (double)init[worst] : 0.0,
                  ref > t.floor ? ref : t.floor);
}

static size_t count_prefix(const run *r, const char *prefix)
{
    size_t n = 0, len = strlen(prefix);
    for (size_t i = 0; i < r->file.count; i++)
        if (strncmp(r->file.tensors[i].name, prefix, len) == 0)
            n++;
    return n;
}

/* Compare every tensor of the net with "<prefix>.<name>", relative to the
 * change from "init.<name>"; I64 tensors exactly. */
static void compare_state(const run *r, const char *prefix, tolerance t)
{
    char pre[32];
    snprintf(pre, sizeof(pre), "%s.", prefix);
    size_t n = clnn_net_tensor_count(r->net);
    ck_assert_msg(count_prefix(r, pre) == n, "%s: fixture has %zu %s* tensors, net has %zu", r->label,
                  count_prefix(r, pre), pre, n);
    for (size_t i = 0; i < n; i++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(r->net, i, &info));
        char name[160];
        snprintf(name, sizeof(name), "%s.%s", prefix, info.name);
        const clnn__st_tensor *ref = need(r, name);
        ck_assert_msg(ref->numel == info.numel, "%s: %s has %zu elements, net %zu", r->label, name,
                      ref->numel, info.numel);
        if (info.dtype == CLNN_DTYPE_I64) {
            ck_assert_msg(ref->dtype == CLNN__ST_I64, "%s: %s is not I64", r->label, name);
            int64_t *got = malloc(info.numel * sizeof(int64_t));
            ck_assert_ptr_nonnull(got);
            ck_assert_clnn_ok(clnn_net_tensor_read(r->net, i, got, info.numel * sizeof(int64_t)));
            for (size_t j = 0; j < info.numel; j++)
                ck_assert_msg(got[j] == i64_at(ref, j), "%s: %s[%zu] is %lld, torch %lld", r->label,
                              name, j, (long long)got[j], (long long)i64_at(ref, j));
            free(got);
            continue;
        }
        float *got = malloc(info.numel * sizeof(float));
        ck_assert_ptr_nonnull(got);
        ck_assert_clnn_ok(clnn_net_tensor_read(r->net, i, got, info.numel * sizeof(float)));
        float *want = to_f32(r, ref);
        float *init = to_f32(r, needf(r, "init.%s", info.name));
        compare(r, name, got, want, init, info.numel, t);
        free(got);
        free(want);
        free(init);
    }
}

/* Compare each layer's output of the last forward with "<prefix>.<layer>". */
static void compare_layer_outputs(const run *r, const char *prefix, tolerance t)
{
    size_t layers = clnn_net_layer_count(r->net);
    char pre[32];
    snprintf(pre, sizeof(pre), "%s.", prefix);
    ck_assert_msg(count_prefix(r, pre) == layers, "%s: fixture has %zu %s* tensors, net %zu layers",
                  r->label, count_prefix(r, pre), pre, layers);
    for (size_t l = 0; l < layers; l++) {
        char name[64];
        snprintf(name, sizeof(name), "%s.%zu", prefix, l);
        const clnn__st_tensor *ref = need(r, name);
        ck_assert_msg(ref->ndim == 2 && ref->shape[0] == r->batch, "%s: %s has the wrong shape", r->label,
                      name);
        float *want = to_f32(r, ref);
        float *got = malloc(ref->numel * sizeof(float));
        ck_assert_ptr_nonnull(got);
        ck_assert_clnn_ok(clnn_net_layer_output_read(r->net, l, got, ref->numel));
        compare(r, name, got, want, NULL, ref->numel, t);
        if (l + 1 == layers) { /* the logits, also through clnn_net_read_output */
            ck_assert_clnn_ok(clnn_net_read_output(r->net, got, ref->numel));
            compare(r, "logits (clnn_net_read_output)", got, want, NULL, ref->numel, t);
        }
        free(want);
        free(got);
    }
}

static void compare_scalar(const run *r, const char *name, float got, tolerance t)
{
    const clnn__st_tensor *ref = need(r, name);
    ck_assert_msg(ref->numel == 1, "%s: %s is not a scalar", r->label, name);
    float *want = to_f32(r, ref);
    compare(r, name, &got, want, NULL, 1, t);
    free(want);
}

/* --------------------------------------------------------------- the run */

/* Open the fixture, create the net on a context with the given backend and
 * write the fixture's initial state into it. */
static void setup_run(run *r, const char *scenario, clnn_gemm_backend backend)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->label, sizeof(r->label), "%s/%s", scenario, clnn_gemm_backend_name(backend));
    const char *dir = getenv("CLNN_TEST_DATA");
    ck_assert_msg(dir != NULL && *dir, "CLNN_TEST_DATA is not set (run through meson test)");
    char path[4096];
    snprintf(path, sizeof(path), "%s/torch/%s.safetensors", dir, scenario);
    ck_assert_clnn_ok(clnn__st_read(path, &r->file));

    const char *spec = clnn__st_meta(&r->file, "clnn.spec");
    ck_assert_msg(spec != NULL, "%s: fixture metadata lacks clnn.spec", r->label);
    r->batch = meta_size(r, "batch");
    r->in_features = meta_size(r, "in_features");

    clnn_context_options o;
    clnn_context_options_init(&o);
    o.gemm = backend;
    ck_assert_clnn_ok(clnn_context_create(&o, &r->ctx));
    ck_assert_msg(clnn_context_gemm_backend(r->ctx) == backend, "%s: context uses GEMM backend %s",
                  r->label, clnn_gemm_backend_name(clnn_context_gemm_backend(r->ctx)));

    ck_assert_clnn_ok(clnn_net_create(r->ctx, r->in_features, &r->net));
    ck_assert_clnn_ok(clnn_net_add_layers(r->net, spec));
    ck_assert_clnn_ok(clnn_net_init(r->net, 1));
    const char *loss = clnn__st_meta(&r->file, "clnn.loss");
    ck_assert_msg(!loss || strcmp(loss, "mse") == 0, "%s: unknown clnn.loss %s", r->label, loss);
    r->mse = loss != NULL;
    if (r->mse)
        ck_assert_clnn_ok(clnn_net_set_loss(r->net, CLNN_LOSS_MSE));

    size_t n = clnn_net_tensor_count(r->net);
    ck_assert_msg(count_prefix(r, "init.") == n, "%s: fixture has %zu init.* tensors, net has %zu",
                  r->label, count_prefix(r, "init."), n);
    for (size_t i = 0; i < n; i++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(r->net, i, &info));
        size_t found = (size_t)-1;
        ck_assert_clnn_ok(clnn_net_tensor_find(r->net, info.name, &found));
        ck_assert_uint_eq(found, i);
        const clnn__st_tensor *t = needf(r, "init.%s", info.name);
        ck_assert_msg(t->ndim == info.ndim && t->numel == info.numel &&
                          (info.ndim == 0 || t->shape[0] == info.shape[0]) &&
                          (info.ndim < 2 || t->shape[1] == info.shape[1]),
                      "%s: init.%s has another shape than the net's tensor", r->label, info.name);
        if (info.dtype == CLNN_DTYPE_I64) {
            ck_assert_msg(t->dtype == CLNN__ST_I64, "%s: init.%s is not I64", r->label, info.name);
            int64_t *v = malloc(info.numel * sizeof(int64_t));
            ck_assert_ptr_nonnull(v);
            for (size_t j = 0; j < info.numel; j++)
                v[j] = i64_at(t, j);
            ck_assert_clnn_ok(clnn_net_tensor_write(r->net, i, v, info.numel * sizeof(int64_t)));
            free(v);
        } else {
            float *v = to_f32(r, t);
            ck_assert_clnn_ok(clnn_net_tensor_write(r->net, i, v, info.numel * sizeof(float)));
            free(v);
        }
    }
    /* Reading back what was written must give the same values. */
    compare_state(r, "init", TOL_EXACT);

    clnn_optimizer_options opt;
    parse_optimizer(r, &opt);
    ck_assert_clnn_ok(clnn_net_set_optimizer(r->net, &opt));
}

static void teardown_run(run *r)
{
    clnn_net_free(r->net);
    clnn_context_free(r->ctx);
    clnn__st_free(&r->file);
}

START_TEST(test_replay)
{
    run r;
    setup_run(&r, scenarios[(size_t)_i / N_BACKENDS], clnn_test_backends[(size_t)_i % N_BACKENDS]);
    ck_assert(clnn_net_is_training(r.net));
    size_t steps = meta_size(&r, "steps");

    /* Batch 0: forward, backward and one step from the initial state. */
    float *x = inputs(&r, 0);
    ck_assert_clnn_ok(clnn_net_forward(r.net, x, r.batch, clnn_net_in_features(r.net)));
    compare_layer_outputs(&r, "train.out", TOL_OUT);
    backward(&r, 0);
    float loss = NAN;
    ck_assert_clnn_ok(clnn_net_read_loss(r.net, &loss));
    compare_scalar(&r, "train.loss", loss, TOL_OUT);

    size_t n = clnn_net_tensor_count(r.net), trainable = 0;
    for (size_t i = 0; i < n; i++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(r.net, i, &info));
        if (!info.trainable)
            continue;
        trainable++;
        const clnn__st_tensor *ref = needf(&r, "grad.%s", info.name);
        ck_assert_uint_eq(ref->numel, info.numel);
        float *want = to_f32(&r, ref);
        float *got = malloc(info.numel * sizeof(float));
        ck_assert_ptr_nonnull(got);
        ck_assert_clnn_ok(clnn_net_grad_read(r.net, i, got, info.numel * sizeof(float)));
        compare(&r, ref->name, got, want, NULL, info.numel, TOL_GRAD);
        free(want);
        free(got);
    }
    ck_assert_msg(count_prefix(&r, "grad.") == trainable, "%s: fixture has %zu gradients, net %zu trainable",
                  r.label, count_prefix(&r, "grad."), trainable);

    ck_assert_clnn_ok(clnn_net_step(r.net));
    compare_state(&r, "step1", TOL_STATE);
    free(x);

    /* Batches 1..steps-1 in order. */
    for (size_t k = 1; k < steps; k++) {
        x = inputs(&r, k);
        ck_assert_clnn_ok(clnn_net_forward(r.net, x, r.batch, clnn_net_in_features(r.net)));
        backward(&r, k);
        ck_assert_clnn_ok(clnn_net_step(r.net));
        free(x);
    }
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "step%zu", steps);
    compare_state(&r, prefix, TOL_STATE);

    /* Eval mode: running statistics instead of batch statistics. */
    x = inputs(&r, 0);
    ck_assert_clnn_ok(clnn_net_set_training(r.net, false));
    ck_assert(!clnn_net_is_training(r.net));
    ck_assert_clnn_ok(clnn_net_forward(r.net, x, r.batch, clnn_net_in_features(r.net)));
    compare_layer_outputs(&r, "eval.out", TOL_EVAL);
    if (r.mse) {
        /* clnn_net_evaluate_targets: the mean squared error over every row
         * and output; a regression has no accuracy. */
        const size_t k = clnn_net_out_features(r.net);
        float *t = targets(&r, 0);
        double mean_loss = NAN;
        ck_assert_clnn_ok(clnn_net_evaluate_targets(r.net, x, r.batch, clnn_net_in_features(r.net),
                                                    t, r.batch * k, r.batch, &mean_loss));
        compare_scalar(&r, "eval.loss", (float)mean_loss, TOL_EVAL);
        ck_assert(!clnn_net_is_training(r.net));
        free(t);
        free(x);
        teardown_run(&r);
        return;
    }
    int32_t *y = labels(&r, 0);

    /* clnn_net_evaluate: the same loss, and the accuracy of torch's logits
     * (the generator keeps the top two logits > 1e-4 apart, far beyond the
     * difference allowed above, so both sides pick the same class). */
    const clnn__st_tensor *logits_t = needi(&r, "eval.out.%zu", clnn_net_layer_count(r.net) - 1);
    float *logits = to_f32(&r, logits_t);
    size_t classes = logits_t->shape[1], correct = 0;
    for (size_t i = 0; i < r.batch; i++) {
        size_t best = 0;
        for (size_t c = 1; c < classes; c++)
            if (logits[i * classes + c] > logits[i * classes + best])
                best = c;
        correct += (int32_t)best == y[i];
    }
    double mean_loss = NAN, accuracy = NAN;
    ck_assert_clnn_ok(clnn_net_evaluate(r.net, x, r.batch, clnn_net_in_features(r.net), y, r.batch,
                                        r.batch, &mean_loss, &accuracy));
    compare_scalar(&r, "eval.loss", (float)mean_loss, TOL_EVAL);
    ck_assert_msg(fabs(accuracy - (double)correct / (double)r.batch) < 1e-9,
                  "%s: clnn_net_evaluate accuracy %.6f, torch %zu/%zu", r.label, accuracy, correct, r.batch);
    ck_assert(!clnn_net_is_training(r.net));

    free(logits);
    free(x);
    free(y);
    teardown_run(&r);
}
END_TEST

static Suite *torch_suite(void)
{
    Suite *s = suite_create("torch-fixtures");
    TCase *tc = tcase_create("replay");
    tcase_add_loop_test(tc, test_replay, 0, (int)(N_SCENARIOS * N_BACKENDS));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return clnn_test_run(torch_suite()); /* in this process, after the probe */
}
