/* Eight threads make their contexts at the same moment, with no call into
 * clnn before (no warm-up: device discovery happens inside the race), and
 * each trains a small network, evaluates it and frees everything. Exit 0
 * when every thread succeeded, 1 naming the failures, 77 when there is no
 * OpenCL device (1 with CLNN_TEST_REQUIRE_DEVICE=1). run_first_use.py runs
 * this program many times, since each run races only once. */
#include "base/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clnn.h"

#define THREADS 8
#define IN 12
#define BATCH 16
#define STEPS 5

typedef struct worker {
    int id;
    clnn_status status;
    char error[512];
    double accuracy;
} worker;

static clnn__mutex lock = CLNN__MUTEX_INIT;
static clnn__cond start;
static int waiting;

/* Every thread waits here until all have arrived, then all go at once. */
static void line_up(void)
{
    clnn__mutex_lock(&lock);
    if (++waiting == THREADS)
        clnn__cond_broadcast(&start);
    while (waiting < THREADS)
        clnn__cond_wait(&start, &lock);
    clnn__mutex_unlock(&lock);
}

static void run(void *arg)
{
    worker *w = arg;
    float x[BATCH * IN];
    int32_t y[BATCH];
    for (int i = 0; i < BATCH; i++) {
        y[i] = i % 3;
        for (int j = 0; j < IN; j++)
            x[i * IN + j] = (float)((i * 7 + j * 3 + w->id) % 11) / 11.0f + (j == y[i] ? 1.0f : 0);
    }
    clnn_context *ctx = NULL;
    clnn_net *net = NULL;
    clnn_optimizer_options opt;
    clnn_optimizer_options_init(&opt, CLNN_OPTIMIZER_SGD);
    opt.lr = 0.1;
    line_up();
    clnn_status st = clnn_context_create(NULL, &ctx);
    if (st == CLNN_OK)
        st = clnn_net_create(ctx, IN, &net);
    if (st == CLNN_OK)
        st = clnn_net_add_layers(net, "dense:16,bn,relu,dense:3");
    if (st == CLNN_OK)
        st = clnn_net_init(net, (uint64_t)w->id);
    if (st == CLNN_OK)
        st = clnn_net_set_optimizer(net, &opt);
    for (int s = 0; s < STEPS && st == CLNN_OK; s++)
        st = clnn_net_train_batch(net, x, BATCH, IN, y, BATCH);
    double loss = 0;
    if (st == CLNN_OK)
        st = clnn_net_evaluate(net, x, BATCH, IN, y, BATCH, BATCH, &loss, &w->accuracy);
    w->status = st;
    if (st != CLNN_OK)
        snprintf(w->error, sizeof w->error, "%s", clnn_last_error());
    clnn_net_free(net);
    clnn_context_free(ctx);
}

int main(void)
{
    if (clnn__cond_init(&start) != CLNN_OK)
        return 1;
    worker workers[THREADS];
    clnn__thread threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){.id = i};
        if (clnn__thread_start(&threads[i], run, &workers[i]) != CLNN_OK) {
            fprintf(stderr, "cannot start thread %d\n", i);
            return 1;
        }
    }
    for (int i = 0; i < THREADS; i++)
        clnn__thread_join(&threads[i]);
    clnn__cond_destroy(&start);
    int failed = 0, absent = 0;
    for (int i = 0; i < THREADS; i++) {
        if (workers[i].status == CLNN_OK)
            continue;
        failed++;
        absent += workers[i].status == CLNN_ERR_NO_PLATFORM;
        fprintf(stderr, "thread %d: %s: %s\n", i, clnn_status_name(workers[i].status),
                workers[i].error);
    }
    if (failed && absent == THREADS) {
        const char *req = getenv("CLNN_TEST_REQUIRE_DEVICE");
        return req && *req == '1' ? 1 : 77;
    }
    printf("%d threads: %d succeeded\n", THREADS, THREADS - failed);
    return failed ? 1 : 0;
}
