/* Data parallelism without MPI: K replicas in K threads of one process, joined
 * by an allreduce made of a barrier, are one model. With synchronised
 * BatchNorm, K = 2 replicas on halves of each global batch must end where
 * one process on the whole batches ends (up to float summation order), and
 * the replicas' parameters must stay identical after every step; with
 * dropout too, when each replica names its rows' place in the global batch
 * (clnn_net_train_shard_at). */
#include "clnn_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/platform.h"

#define IN 21
#define GLOBAL 16
#define STEPS 12
/* BatchNorm over 17 features, one per work-item, and over 16, one 16-wide
 * vector per work-item on CPU devices (clnn__column_kernel). */
#define SPEC "dense:17,bn,relu,dense:16,bn,relu,dense:4"
/* With dropout: each replica must draw for its rows of the global batch
 * what one process draws for them. */
#define DROPOUT_SPEC "dense:17,bn,relu,dropout:0.3,dense:16,relu,dropout:0.5,dense:4"
#define MAX_K 2

/* The group's threads meet at a barrier made of the platform layer's mutex
 * and condition variable (macOS and Windows have no pthread barriers). */
typedef struct group {
    int k;
    clnn__mutex lock;
    clnn__cond turn;
    int waiting;         /* threads at the barrier */
    unsigned long round; /* barriers passed */
    float *slots[MAX_K]; /* each thread writes only its own slot */
} group;

static void barrier_wait(group *g)
{
    clnn__mutex_lock(&g->lock);
    unsigned long round = g->round;
    if (++g->waiting == g->k) {
        g->waiting = 0;
        g->round++;
        clnn__cond_broadcast(&g->turn);
    } else {
        while (round == g->round)
            clnn__cond_wait(&g->turn, &g->lock);
    }
    clnn__mutex_unlock(&g->lock);
}

typedef struct replica {
    group *g;
    int rank;
    bool sync_bn;
    const char *spec;
    bool shard_offset; /* clnn_net_train_shard_at, else clnn_net_train_shard */
    float *params; /* all trainable parameters and buffers, concatenated */
    size_t nparams;
    clnn_status status;
    char error[512];
} replica;

/* Sum over the group's threads: each posts its buffer, the first sums them
 * all into a scratch copy after the barrier, everyone copies it back. */
static clnn_status barrier_allreduce(float *data, size_t count, void *user)
{
    replica *r = user;
    group *g = r->g;
    g->slots[r->rank] = data;
    barrier_wait(g);
    float *sum = malloc(count * sizeof *sum);
    if (!sum)
        return CLNN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < count; i++) {
        float s = 0.0f;
        for (int q = 0; q < g->k; q++) /* same order on every replica */
            s += g->slots[q][i];
        sum[i] = s;
    }
    barrier_wait(g);
    memcpy(data, sum, count * sizeof *sum);
    free(sum);
    barrier_wait(g);
    return CLNN_OK;
}

static void batch(int step, float *x, int32_t *y)
{
    for (int i = 0; i < GLOBAL * IN; i++)
        x[i] = (float)(((unsigned)(i + 1) * (unsigned)(step + 5) * 2654435761u) % 1000u) / 250.0f;
    for (int i = 0; i < GLOBAL; i++)
        y[i] = (i * 7 + step) % 4;
}

static void train(void *arg)
{
    replica *r = arg;
    int k = r->g->k;
    clnn_context *ctx = NULL;
    clnn_net *net = NULL;
    clnn_status st = clnn_context_create(NULL, &ctx);
    if (st == CLNN_OK)
        st = clnn_net_create(ctx, IN, &net);
    if (st == CLNN_OK)
        st = clnn_net_add_layers(net, r->spec);
    if (st == CLNN_OK)
        st = clnn_net_init(net, 21);
    clnn_optimizer_options o;
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
    o.lr = 0.1;
    o.momentum = 0.9;
    if (st == CLNN_OK)
        st = clnn_net_set_optimizer(net, &o);
    clnn_parallel_options p;
    clnn_parallel_options_init(&p);
    p.allreduce = barrier_allreduce;
    p.user = r;
    p.sync_batchnorm = r->sync_bn;
    if (st == CLNN_OK && k > 1)
        st = clnn_net_set_parallel(net, &p);
    float x[GLOBAL * IN];
    int32_t y[GLOBAL];
    size_t shard = GLOBAL / (size_t)k;
    for (int s = 0; s < STEPS && st == CLNN_OK; s++) {
        batch(s, x, y);
        const float *xs = x + (size_t)r->rank * shard * IN;
        const int32_t *ys = y + (size_t)r->rank * shard;
        if (k == 1)
            st = clnn_net_train_batch(net, xs, GLOBAL, clnn_net_in_features(net), ys, GLOBAL);
        else if (r->shard_offset)
            st = clnn_net_train_shard_at(net, xs, shard, clnn_net_in_features(net), ys, shard,
                                         GLOBAL, (size_t)r->rank * shard);
        else
            st = clnn_net_train_shard(net, xs, shard, clnn_net_in_features(net), ys, shard,
                                      GLOBAL);
    }
    size_t total = 0;
    for (size_t i = 0; st == CLNN_OK && i < clnn_net_tensor_count(net); i++) {
        clnn_tensor_info t = {.struct_size = sizeof t};
        clnn_net_tensor_info(net, i, &t);
        if (t.dtype == CLNN_DTYPE_F32)
            total += t.numel;
    }
    r->params = malloc((total + 1) * sizeof(float));
    r->nparams = 0;
    for (size_t i = 0; st == CLNN_OK && i < clnn_net_tensor_count(net); i++) {
        clnn_tensor_info t = {.struct_size = sizeof t};
        clnn_net_tensor_info(net, i, &t);
        if (t.dtype != CLNN_DTYPE_F32)
            continue;
        st = clnn_net_tensor_read(net, i, r->params + r->nparams, t.numel * sizeof(float));
        r->nparams += t.numel;
    }
    r->status = st;
    snprintf(r->error, sizeof r->error, "%s", clnn_last_error());
    clnn_net_free(net);
    clnn_context_free(ctx);
}

static void run_group_of(int k, bool sync_bn, const char *spec, bool shard_offset,
                         replica *out)
{
    group g = {.k = k};
    ck_assert_clnn_ok(clnn__mutex_init(&g.lock));
    ck_assert_clnn_ok(clnn__cond_init(&g.turn));
    clnn__thread t[MAX_K];
    for (int i = 0; i < k; i++) {
        out[i] = (replica){.g = &g, .rank = i, .sync_bn = sync_bn, .spec = spec,
                           .shard_offset = shard_offset};
        ck_assert_clnn_ok(clnn__thread_start(&t[i], train, &out[i]));
    }
    for (int i = 0; i < k; i++) {
        clnn__thread_join(&t[i]);
        ck_assert_msg(out[i].status == CLNN_OK, "k=%d rank %d: %s", k, i, out[i].error);
    }
    clnn__cond_destroy(&g.turn);
    clnn__mutex_destroy(&g.lock);
}

static void run_group(int k, bool sync_bn, replica *out)
{
    run_group_of(k, sync_bn, SPEC, false, out);
}

static double max_rel_diff(const replica *a, const replica *b)
{
    double worst = 0.0;
    for (size_t i = 0; i < a->nparams; i++) {
        double d = fabs((double)a->params[i] - b->params[i]) / fmax(1.0, fabs((double)b->params[i]));
        worst = fmax(worst, d);
    }
    return worst;
}

START_TEST(test_sync_bn_matches_one_process)
{
    replica one[1], two[MAX_K];
    run_group(1, false, one);
    run_group(2, true, two);
    /* Same summation order on both replicas: identical parameters, bit for bit. */
    ck_assert_msg(memcmp(two[0].params, two[1].params, two[0].nparams * sizeof(float)) == 0,
                  "replicas diverged");
    /* 12 SGD steps: the two-process sums add the same numbers in another
     * order (per shard, then across shards), rounding differences of ~1e-7
     * relative per sum that training amplifies mildly; 1e-4 leaves a wide
     * margin while a wrong statistic (per-shard instead of global) or a
     * wrong gradient scale moves parameters by 1e-2 or more. */
    double d = max_rel_diff(&two[0], &one[0]);
    printf("sync BatchNorm, 2 replicas vs 1 process: max relative parameter difference %.3g\n", d);
    ck_assert_msg(d < 1e-4, "2 replicas with sync BatchNorm differ from 1 process by %g", d);
    free(one[0].params);
    free(two[0].params);
    free(two[1].params);
}
END_TEST

START_TEST(test_per_replica_bn_differs_but_replicas_agree)
{
    replica one[1], two[MAX_K];
    run_group(1, false, one);
    run_group(2, false, two);
    /* Parameters (not BatchNorm's running statistics, which stay per replica
     * as in DistributedDataParallel) are the same on both replicas; compare
     * the first layer's weight, at the start of the concatenation. */
    ck_assert_msg(memcmp(two[0].params, two[1].params, 17 * IN * sizeof(float)) == 0,
                  "replicas' weights diverged");
    /* Per-shard statistics are a different model from whole-batch ones:
     * proof that the sync test above can fail. */
    double d = max_rel_diff(&two[0], &one[0]);
    printf("per-replica BatchNorm, 2 replicas vs 1 process: max relative difference %.3g\n", d);
    ck_assert_msg(d > 1e-3, "per-shard statistics should change the model (diff %g)", d);
    free(one[0].params);
    free(two[0].params);
    free(two[1].params);
}
END_TEST

/* Dropout with synchronised BatchNorm: 2 replicas that say where their
 * rows sit in the global batch train one process's model (the bound of
 * test_sync_bn_matches_one_process); replicas that do not draw every
 * shard's masks as for rows 0.., another model. */
START_TEST(test_dropout_shards_match_one_process)
{
    replica one[1], two[MAX_K], unplaced[MAX_K];
    run_group_of(1, false, DROPOUT_SPEC, true, one);
    run_group_of(2, true, DROPOUT_SPEC, true, two);
    run_group_of(2, true, DROPOUT_SPEC, false, unplaced);
    ck_assert_msg(memcmp(two[0].params, two[1].params, two[0].nparams * sizeof(float)) == 0,
                  "replicas diverged");
    double d = max_rel_diff(&two[0], &one[0]), u = max_rel_diff(&unplaced[0], &one[0]);
    printf("dropout, 2 replicas vs 1 process: max relative parameter difference %.3g "
           "(%.3g with every shard drawing as rows 0..)\n", d, u);
    ck_assert_msg(d < 1e-4, "2 replicas with dropout differ from 1 process by %g", d);
    ck_assert_msg(u > 1e-3, "shards drawing as rows 0.. should change the model (diff %g)", u);
    free(one[0].params);
    for (int i = 0; i < MAX_K; i++) {
        free(two[i].params);
        free(unplaced[i].params);
    }
}
END_TEST

int main(void)
{
    clnn_test_require_device();
    Suite *s = suite_create("replicas");
    TCase *tc = tcase_create("allreduce");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_sync_bn_matches_one_process);
    tcase_add_test(tc, test_per_replica_bn_differs_but_replicas_agree);
    tcase_add_test(tc, test_dropout_shards_match_one_process);
    suite_add_tcase(s, tc);
    return clnn_test_run(s);
}
