/* Every OpenCL call a short train/eval/save/load cycle makes is failed once
 * (CLNN_FAULT_INJECT=any:n for every n): each run must end in a non-OK status
 * with a message naming the injected call, and leave no OpenCL object behind. */
#include "clnn_test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/runtime.h"

#define IN 13
#define BATCH 6
#define CLASSES 3

static char model_path[256];

static void fill_data(float *x, int32_t *y)
{
    for (int i = 0; i < BATCH * IN; i++)
        x[i] = (float)((i * 37) % 17) / 17.0f;
    for (int i = 0; i < BATCH; i++)
        y[i] = i % CLASSES;
}

/* Runs the cycle and frees everything whatever happens; returns the first
 * failure. */
static clnn_status cycle(clnn_gemm_backend gemm)
{
    float x[BATCH * IN];
    int32_t y[BATCH], pred[BATCH];
    fill_data(x, y);
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.gemm = gemm;
    clnn_context *ctx = NULL;
    clnn_net *net = NULL, *loaded = NULL;
    clnn_optimizer_options opt;
    clnn_optimizer_options_init(&opt, CLNN_OPTIMIZER_SGD);
    opt.momentum = 0.9;
    double loss, acc;
    float last;
    clnn_status st = clnn_context_create(&o, &ctx);
    if (st == CLNN_OK)
        st = clnn_net_create(ctx, IN, &net);
    if (st == CLNN_OK)
        st = clnn_net_add_layers(net, "dense:8,bn,relu,dense:3");
    if (st == CLNN_OK)
        st = clnn_net_init(net, 3);
    if (st == CLNN_OK)
        st = clnn_net_set_optimizer(net, &opt);
    for (int i = 0; i < 2 && st == CLNN_OK; i++)
        st = clnn_net_train_batch(net, x, BATCH, clnn_net_in_features(net), y, BATCH);
    if (st == CLNN_OK)
        st = clnn_net_read_loss(net, &last);
    if (st == CLNN_OK)
        st = clnn_net_evaluate(net, x, BATCH, clnn_net_in_features(net), y, BATCH, 4, &loss, &acc);
    if (st == CLNN_OK)
        st = clnn_net_save(net, model_path);
    if (st == CLNN_OK)
        st = clnn_net_load(ctx, model_path, NULL, &loaded);
    if (st == CLNN_OK)
        st = clnn_net_predict(loaded, x, BATCH, clnn_net_in_features(loaded), pred, BATCH);
    clnn_net_free(loaded);
    clnn_net_free(net);
    clnn_context_free(ctx);
    return st;
}

static void assert_nothing_live(const char *when)
{
    static const char *names[CLNN__LIVE_KINDS] = {"contexts", "queues", "programs",
                                                  "kernels", "buffers", "events"};
    for (int k = 0; k < CLNN__LIVE_KINDS; k++)
        ck_assert_msg(clnn__live(k) == 0, "%s: %ld %s still live", when, clnn__live(k),
                      names[k]);
}

static void walk(clnn_gemm_backend gemm)
{
    clnn__fault_configure(NULL);
    clnn_status clean = cycle(gemm);
    ck_assert_msg(clean == CLNN_OK, "clean cycle failed: %s", clnn_last_error());
    assert_nothing_live("clean cycle");
    unsigned long long calls = clnn__fault_calls();
    ck_assert_uint_gt(calls, 20);
    for (unsigned long long n = 1; n <= calls; n++) {
        char spec[32];
        snprintf(spec, sizeof spec, "any:%llu", n);
        clnn__fault_configure(spec);
        clnn_status st = cycle(gemm);
        char when[64];
        snprintf(when, sizeof when, "after failing call %llu of %llu", n, calls);
        ck_assert_msg(st != CLNN_OK, "%s: the cycle still returned OK", when);
        ck_assert_msg(strstr(clnn_last_error(), "CLNN_FAULT_INJECT") != NULL,
                      "%s: message does not name the injected fault: %s", when, clnn_last_error());
        assert_nothing_live(when);
    }
    clnn__fault_configure(NULL);
    printf("%s backend: %llu OpenCL calls, each failed once: %llu non-OK statuses, 0 crashes, "
           "0 leaked objects\n",
           clnn_gemm_backend_name(gemm), calls, calls);
}

START_TEST(test_faults_own)
{
    walk(CLNN_GEMM_OWN);
}
END_TEST

#ifdef CLNN_HAVE_CLBLAST
START_TEST(test_faults_clblast)
{
    walk(CLNN_GEMM_CLBLAST);
}
END_TEST
#endif

int main(void)
{
    /* A cached binary that fails to load falls back to the source by design
     * (test_program_cache checks that), so the cache, on by default on
     * drivers other than PoCL, would turn those injected faults into OKs. */
    setenv("CLNN_PROGRAM_CACHE", "0", 1);
    clnn_test_require_device();
    snprintf(model_path, sizeof model_path, "%s/clnn-faults-%ld.safetensors", clnn_test_tmp_base(),
             (long)getpid());
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("inject");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_faults_own);
#ifdef CLNN_HAVE_CLBLAST /* see clnn_test_backends */
    tcase_add_test(tc, test_faults_clblast);
#endif
    suite_add_tcase(s, tc);
    int rc = clnn_test_run(s);
    unlink(model_path);
    return rc;
}
