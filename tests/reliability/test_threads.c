/* Two networks train at the same time in two threads, each on its own
 * context (one with CLBlast, whose calls clnn serialises, where it is built
 * in, one with clnn's own GEMM): each must end bit for bit where the same
 * training ends alone. */
#include "clnn_test.h"

#include <stdlib.h>
#include <string.h>

#include "base/platform.h"

#define IN 29
#define BATCH 16
#define STEPS 40
#define SPEC "dense:24,bn,relu,dense:12,bn,relu,dense:5"

typedef struct job {
    clnn_gemm_backend gemm;
    float *weights;  /* first layer's weight after training */
    size_t count;
    clnn_status status;
    char error[512];
} job;

static void make_batch(int step, float *x, int32_t *y)
{
    for (int i = 0; i < BATCH * IN; i++)
        x[i] = (float)(((i + 7) * (step + 3) * 2654435761u) % 1000u) / 1000.0f;
    for (int i = 0; i < BATCH; i++)
        y[i] = (i + step) % 5;
}

/* The platform layer's threads: pthreads on POSIX (which ThreadSanitizer
 * intercepts, unlike C11 threads), Win32 threads on Windows. */
static void train(void *arg)
{
    job *j = arg;
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.gemm = j->gemm;
    clnn_context *ctx = NULL;
    clnn_net *net = NULL;
    clnn_optimizer_options opt;
    clnn_optimizer_options_init(&opt, CLNN_OPTIMIZER_SGD);
    opt.lr = 0.05;
    opt.momentum = 0.9;
    float x[BATCH * IN];
    int32_t y[BATCH];
    size_t index = 0;
    clnn_status st = clnn_context_create(&o, &ctx);
    if (st == CLNN_OK)
        st = clnn_net_create(ctx, IN, &net);
    if (st == CLNN_OK)
        st = clnn_net_add_layers(net, SPEC);
    if (st == CLNN_OK)
        st = clnn_net_init(net, 11);
    if (st == CLNN_OK)
        st = clnn_net_set_optimizer(net, &opt);
    for (int s = 0; s < STEPS && st == CLNN_OK; s++) {
        make_batch(s, x, y);
        st = clnn_net_train_batch(net, x, BATCH, clnn_net_in_features(net), y, BATCH);
    }
    if (st == CLNN_OK)
        st = clnn_net_tensor_find(net, "0.weight", &index);
    j->count = 24 * IN;
    j->weights = malloc(j->count * sizeof(float));
    if (st == CLNN_OK)
        st = j->weights ? clnn_net_tensor_read(net, index, j->weights, j->count * sizeof(float))
                        : CLNN_ERR_OUT_OF_MEMORY;
    j->status = st;
    snprintf(j->error, sizeof j->error, "%s", clnn_last_error());
    clnn_net_free(net);
    clnn_context_free(ctx);
}

START_TEST(test_two_threads)
{
    const clnn_gemm_backend first = clnn_test_backends[0]; /* CLBlast where built in */
    job alone[2] = {{.gemm = first}, {.gemm = CLNN_GEMM_OWN}};
    job together[2] = {{.gemm = first}, {.gemm = CLNN_GEMM_OWN}};
    for (int i = 0; i < 2; i++) {
        train(&alone[i]);
        ck_assert_msg(alone[i].status == CLNN_OK, "alone: %s", alone[i].error);
    }
    for (int round = 0; round < 3; round++) {
        clnn__thread t[2];
        for (int i = 0; i < 2; i++) {
            free(together[i].weights);
            together[i].weights = NULL;
            ck_assert_clnn_ok(clnn__thread_start(&t[i], train, &together[i]));
        }
        for (int i = 0; i < 2; i++) {
            clnn__thread_join(&t[i]);
            ck_assert_msg(together[i].status == CLNN_OK, "thread %d: %s", i, together[i].error);
            ck_assert_msg(memcmp(alone[i].weights, together[i].weights,
                                 alone[i].count * sizeof(float)) == 0,
                          "round %d: %s network trained beside another differs from alone", round,
                          clnn_gemm_backend_name(together[i].gemm));
        }
    }
    for (int i = 0; i < 2; i++) {
        free(alone[i].weights);
        free(together[i].weights);
    }
}
END_TEST

int main(void)
{
    clnn_test_require_device();
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("concurrent");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_two_threads);
    suite_add_tcase(s, tc);
    return clnn_test_run(s);
}
