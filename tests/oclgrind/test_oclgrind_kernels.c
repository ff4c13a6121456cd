/* Every clnn kernel on tiny, odd shapes, meant to run under Oclgrind's
 * simulated device (tests/oclgrind/meson.build runs it through
 * run-oclgrind.sh, which fails on any Oclgrind diagnostic: out-of-bounds
 * accesses, data races, OpenCL API errors).
 *
 * The network is driven through the public API: forward and backward in
 * training and eval mode, training from rows kept on the device, SGD
 * (momentum, Nesterov, weight decay) and Adam, metrics, evaluate and
 * predict, with each GEMM backend given on the command line ("own",
 * "clblast"), and synchronised BatchNorm for data-parallel training. Profiling records which kernels ran; the test fails unless every
 * __kernel in the kernel sources ($CLNN_SOURCE_KERNELS) ran at least once,
 * bar the benchmark probes. */
#include "clnn_test.h"

#include <dirent.h>
#include <math.h>
#include <string.h>

/* Kernels that training never launches: `clnn bench` alone uses them. */
static const char *const not_training[] = {"probe_fma1", "probe_fma4", "probe_fma16",
                                           "probe_copy4", "probe_empty"};
/* Kernels only CPU devices launch (CLNN_DEVICE_TYPE=cpu makes Oclgrind one). */
static const char *const cpu_only[] = {"softmax_xent_reduce"};
static bool cpu_device;

#define MAX_KERNELS 64
static char seen[MAX_KERNELS][64];
static size_t nseen;
static clnn_gemm_backend backend;

static void note_kernel(const char *name)
{
    for (size_t i = 0; i < nseen; i++)
        if (strcmp(seen[i], name) == 0)
            return;
    ck_assert_uint_lt(nseen, MAX_KERNELS);
    snprintf(seen[nseen++], sizeof seen[0], "%s", name);
}

static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((i * 37 + seed * 11) % 19) / 9.0f - 1.0f;
}

static void check_finite(const float *x, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(isfinite(x[i]), "%s[%zu] = %g", what, i, (double)x[i]);
}

/* One stack on one batch size: train with SGD then Adam, then evaluate. */
static void run_case(clnn_context *ctx, size_t in, const char *spec, size_t batch)
{
    clnn_net *net = NULL;
    ck_assert_clnn_ok(clnn_net_create(ctx, in, &net));
    ck_assert_clnn_ok(clnn_net_add_layers(net, spec));
    ck_assert_clnn_ok(clnn_net_init(net, 5));
    size_t out = clnn_net_out_features(net);
    size_t n = batch + 2; /* evaluate leaves a partial last batch */
    float *x = malloc(n * in * sizeof *x);
    float *logits = malloc(n * out * sizeof *logits);
    int32_t *labels = malloc(n * sizeof *labels);
    int32_t *classes = malloc(n * sizeof *classes);
    ck_assert(x && logits && labels && classes);
    fill(x, n * in, (unsigned)batch);
    for (size_t i = 0; i < n; i++)
        labels[i] = (int32_t)((i * 7) % out);

    clnn_optimizer_options sgd, adam;
    clnn_optimizer_options_init(&sgd, CLNN_OPTIMIZER_SGD);
    sgd.lr = 0.05;
    sgd.momentum = 0.9;
    sgd.nesterov = true;
    sgd.weight_decay = 1e-3;
    clnn_optimizer_options_init(&adam, CLNN_OPTIMIZER_ADAM);
    adam.weight_decay = 1e-3;
    const clnn_optimizer_options *opts[2] = {&sgd, &adam};
    for (int o = 0; o < 2; o++) {
        ck_assert_clnn_ok(clnn_net_set_optimizer(net, opts[o]));
        ck_assert_clnn_ok(clnn_net_metrics_reset(net));
        for (int step = 0; step < 2; step++)
            ck_assert_clnn_ok(
                clnn_net_train_batch(net, x, batch, clnn_net_in_features(net), labels, batch));
        float loss;
        ck_assert_clnn_ok(clnn_net_read_loss(net, &loss));
        ck_assert_msg(isfinite(loss), "loss %g", (double)loss);
        double mean_loss, acc;
        uint64_t samples;
        ck_assert_clnn_ok(clnn_net_metrics_read(net, &mean_loss, &acc, &samples));
        ck_assert_uint_eq(samples, 2 * batch);
    }
    /* The same rows kept on the device, taken in reverse order: read
     * through the order by the first dense layer where its GEMM can, else
     * gathered by a kernel. */
    uint32_t *order = malloc(n * sizeof *order);
    ck_assert_ptr_nonnull(order);
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)(n - 1 - i);
    ck_assert_clnn_ok(clnn_net_set_data(net, x, n, clnn_net_in_features(net), labels, n));
    ck_assert_clnn_ok(clnn_net_set_data_order(net, order, n));
    ck_assert_clnn_ok(clnn_net_train_rows(net, 1, batch));
    free(order);
    ck_assert_clnn_ok(clnn_net_forward(net, x, batch, clnn_net_in_features(net)));
    ck_assert_clnn_ok(clnn_net_read_output(net, logits, batch * out));
    check_finite(logits, batch * out, "training-mode logits");

    ck_assert_clnn_ok(clnn_net_set_training(net, false));
    ck_assert_clnn_ok(clnn_net_forward(net, x, batch, clnn_net_in_features(net)));
    ck_assert_clnn_ok(clnn_net_read_output(net, logits, batch * out));
    check_finite(logits, batch * out, "eval-mode logits");
    double loss, acc;
    ck_assert_clnn_ok(
        clnn_net_evaluate(net, x, n, clnn_net_in_features(net), labels, n, batch, &loss, &acc));
    ck_assert_msg(isfinite(loss) && acc >= 0 && acc <= 1, "evaluate: loss %g acc %g", loss, acc);
    ck_assert_clnn_ok(clnn_net_predict(net, x, n, clnn_net_in_features(net), classes, n));
    for (size_t i = 0; i < n; i++)
        ck_assert_int_lt(classes[i], (int32_t)out);

    free(x);
    free(logits);
    free(labels);
    free(classes);
    clnn_net_free(net);
}

/* The allreduce of a group of one process: the sums are already global. */
static clnn_status allreduce_alone(float *data, size_t count, void *user)
{
    (void)data;
    (void)count;
    (void)user;
    return CLNN_OK;
}

/* Synchronised BatchNorm (its own kernels) as one replica of a group of one. */
static void run_sync_case(clnn_context *ctx, size_t in, const char *spec, size_t batch)
{
    clnn_net *net = NULL;
    ck_assert_clnn_ok(clnn_net_create(ctx, in, &net));
    ck_assert_clnn_ok(clnn_net_add_layers(net, spec));
    ck_assert_clnn_ok(clnn_net_init(net, 9));
    clnn_parallel_options p;
    clnn_parallel_options_init(&p);
    p.allreduce = allreduce_alone;
    p.sync_batchnorm = true;
    ck_assert_clnn_ok(clnn_net_set_parallel(net, &p));
    size_t out = clnn_net_out_features(net);
    float *x = malloc(batch * in * sizeof *x);
    int32_t *labels = malloc(batch * sizeof *labels);
    ck_assert(x && labels);
    fill(x, batch * in, 3);
    for (size_t i = 0; i < batch; i++)
        labels[i] = (int32_t)((i * 5) % out);
    clnn_optimizer_options sgd;
    clnn_optimizer_options_init(&sgd, CLNN_OPTIMIZER_SGD);
    sgd.momentum = 0.9;
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &sgd));
    for (int step = 0; step < 2; step++)
        ck_assert_clnn_ok(
            clnn_net_train_shard(net, x, batch, clnn_net_in_features(net), labels, batch, batch));
    float loss;
    ck_assert_clnn_ok(clnn_net_read_loss(net, &loss));
    ck_assert_msg(isfinite(loss), "synchronised BatchNorm: loss %g", (double)loss);
    free(x);
    free(labels);
    clnn_net_free(net);
}

/* The mean squared error (its own kernel, then the reduction with the last
 * layer's bias gradient): host batches, rows on the device, evaluation. */
static void run_mse_case(clnn_context *ctx, size_t in, const char *spec, size_t batch)
{
    clnn_net *net = NULL;
    ck_assert_clnn_ok(clnn_net_create(ctx, in, &net));
    ck_assert_clnn_ok(clnn_net_add_layers(net, spec));
    ck_assert_clnn_ok(clnn_net_init(net, 4));
    ck_assert_clnn_ok(clnn_net_set_loss(net, CLNN_LOSS_MSE));
    const size_t out = clnn_net_out_features(net), n = batch + 2;
    float *x = malloc(n * in * sizeof *x), *t = malloc(n * out * sizeof *t);
    ck_assert(x && t);
    fill(x, n * in, 5);
    fill(t, n * out, 6);
    clnn_optimizer_options sgd;
    clnn_optimizer_options_init(&sgd, CLNN_OPTIMIZER_SGD);
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &sgd));
    for (int step = 0; step < 2; step++)
        ck_assert_clnn_ok(clnn_net_train_batch_targets(net, x, batch, in, t, batch * out));
    ck_assert_clnn_ok(clnn_net_set_data_targets(net, x, n, in, t, n * out));
    ck_assert_clnn_ok(clnn_net_train_rows(net, 1, batch));
    double loss;
    ck_assert_clnn_ok(clnn_net_evaluate_targets(net, x, n, in, t, n * out, batch, &loss));
    ck_assert_msg(isfinite(loss), "mse: loss %g", loss);
    free(x);
    free(t);
    clnn_net_free(net);
}

START_TEST(test_kernels)
{
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.gemm = backend;
    o.profiling = true;
    clnn_context *ctx = NULL;
    ck_assert_clnn_ok(clnn_context_create(&o, &ctx));
    clnn_device_info info = {.struct_size = sizeof info};
    ck_assert_clnn_ok(clnn_context_get_device_info(ctx, &info));
    cpu_device = info.type == CLNN_DEVICE_CPU;
    printf("device: %s / %s (as %s), GEMM %s\n", info.platform, info.name,
           clnn_device_type_name(info.type),
           clnn_gemm_backend_name(clnn_context_gemm_backend(ctx)));
    const char *want = getenv("CLNN_OCLGRIND_PLATFORM");
    if (want && *want)
        ck_assert_msg(strstr(info.platform, want) != NULL,
                      "running on platform '%s', not %s: is the program run by oclgrind?",
                      info.platform, want);

    /* Shapes chosen so that each GEMM kernel variant runs: batches below and
     * above the register tiles, widths that are not multiples of any vector
     * width, dense layers followed by BatchNorm, by ReLU and by nothing. */
    run_case(ctx, 7, "dense:5,bn,relu,dense:3", 3);
    run_case(ctx, 37, "dense:33,relu,dense:9,bn,relu,dense:5", 11);
    run_case(ctx, 19, "fc=dense:34,bn,relu,out=dense:6", 17);
    /* Unfused: what CLNN_NO_FUSION=1 runs instead (read when a network is made). */
    setenv("CLNN_NO_FUSION", "1", 1);
    run_case(ctx, 19, "dense:34,bn,relu,dense:6", 17);
    unsetenv("CLNN_NO_FUSION");
    run_sync_case(ctx, 9, "dense:7,bn,relu,dense:3", 5);
    /* Widths of 16, 8 and 4 columns: on CPU devices the column kernels then
     * take that many adjacent columns per work-item as one vector. */
    run_case(ctx, 13, "dense:32,bn,relu,dense:8,bn,relu,dense:4,bn,dense:3", 9);
    /* 64 columns: on CPU devices such rows are padded (net.c's row_stride). */
    run_case(ctx, 5, "dense:64,bn,relu,dense:64,relu,dense:3", 7);
    run_sync_case(ctx, 11, "dense:16,bn,relu,dense:8,bn,relu,dense:3", 6);
    /* The other activations, one first on padded rows (CPU devices). */
    run_case(ctx, 9, "dense:7,leakyrelu:0.2,dense:6,gelu,dense:5,tanh,dense:4,sigmoid,silu,dense:3",
             5);
    run_case(ctx, 64, "silu,dense:3,leakyrelu", 3);
    run_case(ctx, 9, "dense:7,softplus,dense:3,softplus", 5);
    /* LayerNorm (a row per work-item, and 16-, then 1-column parameter
     * gradients), BatchNorm's options: substitute γ, β and scratch room
     * instead of tensors, batch statistics in eval, momentum=none. */
    run_case(ctx, 7, "dense:16,layernorm,relu,dense:5,layernorm,dense:3", 9);
    run_case(ctx, 13,
             "dense:8,bn:affine=false,track_running_stats=false,relu,dense:6,"
             "bn:momentum=none,eps=1e-3,dense:5,bn:affine=false,dense:3",
             7);
    run_sync_case(ctx, 9,
                  "dense:8,layernorm,bn:affine=false,relu,dense:6,bn:track_running_stats=false,"
                  "relu,dense:3",
                  5);
    /* Dropout after a ReLU and as the first layer, whose input rows (the
     * caller's, 64 floats) are packed tighter than its output's on CPU
     * devices. */
    run_case(ctx, 9, "dense:8,relu,dropout:0.3,dense:5,dropout:0.5,dense:3", 5);
    run_case(ctx, 64, "dropout:0.2,dense:3", 3);
    run_mse_case(ctx, 6, "dense:5,bn,relu,dense:3", 5);

    size_t count;
    clnn_profile_entry *entries = clnn_test_profile(ctx, &count);
    for (size_t i = 0; i < count; i++)
        note_kernel(entries[i].kernel);
    free(entries);
    clnn_context_free(ctx);
}
END_TEST

static bool listed(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0)
            return true;
    return false;
}

static bool excluded(const char *name)
{
    return listed(name, not_training, sizeof not_training / sizeof not_training[0]) ||
           (!cpu_device && listed(name, cpu_only, sizeof cpu_only / sizeof cpu_only[0]));
}

/* Every "__kernel void NAME" in the .cl files of dir that training can launch must have
 * run (the GEMM kernels only with the backend "own"; bias_add only with "clblast", as the
 * own kernels add a dense layer's bias themselves). */
START_TEST(test_coverage)
{
    const char *dir = getenv("CLNN_SOURCE_KERNELS");
    ck_assert_msg(dir && *dir, "CLNN_SOURCE_KERNELS is not set (run through meson test)");
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    struct dirent *e;
    size_t checked = 0, missing = 0;
    char missing_names[1024] = "";
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".cl") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "cannot read %s", path);
        char line[1024];
        while (fgets(line, sizeof line, f)) {
            char name[64];
            if (sscanf(line, " __kernel void %63[A-Za-z0-9_]", name) != 1)
                continue;
            if (excluded(name))
                continue;
            if (backend == CLNN_GEMM_CLBLAST && strncmp(name, "gemm_", 5) == 0)
                continue;
            if (backend == CLNN_GEMM_OWN && strcmp(name, "bias_add") == 0)
                continue;
            checked++;
            bool ran = false;
            for (size_t i = 0; i < nseen && !ran; i++)
                ran = strcmp(seen[i], name) == 0;
            if (!ran) {
                missing++;
                size_t used = strlen(missing_names);
                snprintf(missing_names + used, sizeof missing_names - used, " %s", name);
            }
        }
        fclose(f);
    }
    closedir(d);
    printf("%zu kernels in the sources, %zu ran under this test (%zu launched names seen)\n",
           checked, checked - missing, nseen);
    ck_assert_msg(checked > 0, "no __kernel found in %s", dir);
    ck_assert_msg(missing == 0,
                  "kernels never launched:%s; extend run_case() so that they run, or list them "
                  "in not_training[] with the reason",
                  missing_names);
}
END_TEST

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "own";
    if (strcmp(name, "own") == 0) {
        backend = CLNN_GEMM_OWN;
    } else if (strcmp(name, "clblast") == 0) {
        backend = CLNN_GEMM_CLBLAST;
    } else {
        fprintf(stderr, "usage: %s [own|clblast]\n", argv[0]);
        return 2;
    }
    clnn_test_require_device();
    Suite *s = suite_create("oclgrind-kernels");
    TCase *tc = tcase_create("kernels");
    tcase_add_test(tc, test_kernels);
    tcase_add_test(tc, test_coverage);
    tcase_set_timeout(tc, 0);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    /* The OpenCL runtime does not survive fork(), and test_coverage needs
     * what test_kernels saw. */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
