/* Training from data kept on the device (clnn_net_set_data,
 * clnn_net_train_rows) against training from host batches of the same rows:
 * the parameters, running statistics and metrics must agree bit for bit,
 * whether the first dense layer reads the rows through the order (own GEMM,
 * W stored [in, out]) or a gather launch copies them first (CLBlast, a
 * narrow first layer, a BatchNorm first). The profile shows which path ran,
 * so a gather that silently took the other path fails too. Then every error
 * a caller can make. */
#include "core_test.h"
#include "runtime/runtime.h"

#include <stdlib.h>
#include <string.h>

#define IN 40
#define ROWS 100
#define CLASSES 5
#define COUNT 160 /* order entries: a shuffle, then 60 repeated rows */
#define BATCH 24

static const struct {
    const char *spec;
    bool own_reads_through_order; /* with clnn's own GEMM; CLBlast cannot */
} cases[] = {
    {"dense:32,bn,relu,dense:16,bn,relu,dense:5", true},
    {"dense:16,bn,relu,dense:5", false}, /* W stays [out, in] below 32 units */
    {"bn,dense:32,relu,dense:5", false},
};

static void make_order(uint32_t *order, core_rng *r)
{
    for (size_t i = 0; i < ROWS; i++)
        order[i] = (uint32_t)i;
    for (size_t i = ROWS - 1; i > 0; i--) {
        size_t j = core_rng_next(r) % (i + 1);
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (size_t i = ROWS; i < COUNT; i++)
        order[i] = (uint32_t)(core_rng_next(r) % ROWS);
}

static bool profiled(clnn_context *ctx, const char *kernel)
{
    size_t n;
    clnn_profile_entry *e = clnn_test_profile(ctx, &n);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= strcmp(e[i].kernel, kernel) == 0;
    free(e);
    return found;
}

static void set_sgd(clnn_net *net)
{
    clnn_optimizer_options o;
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
    o.lr = 0.05;
    o.momentum = 0.9;
    o.weight_decay = 1e-3;
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &o));
}

START_TEST(test_rows_train_like_host_batches)
{
    const size_t c = (size_t)_i / CORE_BACKENDS, b = (size_t)_i % CORE_BACKENDS;
    clnn_context *ctx = core_profiling_context(core_backends[b]);
    clnn_net *host = core_net(ctx, IN, cases[c].spec, 11);
    clnn_net *dev = core_net(ctx, IN, cases[c].spec, 11);
    set_sgd(host);
    set_sgd(dev);
    core_rng r = core_rng_make(12);
    float *x = malloc(ROWS * IN * sizeof *x), *xb = malloc(BATCH * IN * sizeof *xb);
    int32_t y[ROWS], yb[BATCH];
    uint32_t order[COUNT];
    ck_assert(x && xb);
    core_fill(x, ROWS * IN, -2, 2, &r);
    core_fill_labels(y, ROWS, CLASSES, &r);
    make_order(order, &r);

    ck_assert_clnn_ok(clnn_net_set_data(dev, x, ROWS, IN, y, ROWS));
    ck_assert_clnn_ok(clnn_net_set_data_order(dev, order, COUNT));
    ck_assert_clnn_ok(clnn_net_metrics_reset(host));
    ck_assert_clnn_ok(clnn_net_metrics_reset(dev));
    clnn_context_profile_reset(ctx);
    for (size_t first = 0; first < COUNT; first += BATCH) {
        size_t n = COUNT - first < BATCH ? COUNT - first : BATCH;
        for (size_t i = 0; i < n; i++) {
            memcpy(xb + i * IN, x + order[first + i] * IN, IN * sizeof *xb);
            yb[i] = y[order[first + i]];
        }
        ck_assert_clnn_ok(clnn_net_train_batch(host, xb, n, IN, yb, n));
        ck_assert_clnn_ok(clnn_net_train_rows(dev, first, n));
    }
    /* A new order takes effect from the next step. */
    make_order(order, &r);
    ck_assert_clnn_ok(clnn_net_set_data_order(dev, order, BATCH));
    for (size_t i = 0; i < BATCH; i++) {
        memcpy(xb + i * IN, x + order[i] * IN, IN * sizeof *xb);
        yb[i] = y[order[i]];
    }
    ck_assert_clnn_ok(clnn_net_train_batch(host, xb, BATCH, IN, yb, BATCH));
    ck_assert_clnn_ok(clnn_net_train_rows(dev, 0, BATCH));

    bool through_order = core_backends[b] == CLNN_GEMM_OWN && cases[c].own_reads_through_order;
    ck_assert_int_eq(profiled(ctx, "gather_rows"), !through_order);
    size_t n, m;
    float *want = core_read_all(host, false, false, &n);
    float *got = core_read_all(dev, false, false, &m);
    ck_assert_uint_eq(n, m);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(memcmp(&want[i], &got[i], sizeof *got) == 0,
                      "%s: tensor element %zu is %.9g from host batches, %.9g from the device "
                      "data",
                      cases[c].spec, i, (double)want[i], (double)got[i]);
    double loss[2], acc[2];
    uint64_t samples[2];
    ck_assert_clnn_ok(clnn_net_metrics_read(host, &loss[0], &acc[0], &samples[0]));
    ck_assert_clnn_ok(clnn_net_metrics_read(dev, &loss[1], &acc[1], &samples[1]));
    ck_assert_uint_eq(samples[0], COUNT + BATCH);
    ck_assert_uint_eq(samples[1], samples[0]);
    ck_assert(loss[0] == loss[1] && acc[0] == acc[1]);
    free(want), free(got), free(x), free(xb);
    clnn_net_free(host);
    clnn_net_free(dev);
    clnn_context_free(ctx);
}
END_TEST

static void expect(clnn_status got, clnn_status want, const char *needle)
{
    ck_assert_msg(got == want, "status %s, expected %s (%s)", clnn_strerror(got),
                  clnn_strerror(want), clnn_last_error());
    ck_assert_msg(strstr(clnn_last_error(), needle), "message \"%s\" lacks \"%s\"",
                  clnn_last_error(), needle);
}

START_TEST(test_data_errors)
{
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), IN, cases[0].spec, 3);
    core_rng r = core_rng_make(4);
    float *x = malloc(ROWS * IN * sizeof *x);
    int32_t y[ROWS];
    uint32_t order[2] = {0, ROWS};
    ck_assert_ptr_nonnull(x);
    core_fill(x, ROWS * IN, -1, 1, &r);
    core_fill_labels(y, ROWS, CLASSES, &r);

    expect(clnn_net_train_rows(net, 0, 2), CLNN_ERR_STATE, "clnn_net_set_data first");
    expect(clnn_net_set_data_order(net, order, 1), CLNN_ERR_STATE, "clnn_net_set_data first");
    expect(clnn_net_set_data(net, x, ROWS, IN, NULL, ROWS), CLNN_ERR_INVALID_ARGUMENT,
           "clnn_net_set_data: labels is NULL");
    expect(clnn_net_set_data(net, x, 0, IN, y, 0), CLNN_ERR_INVALID_ARGUMENT, "rows is 0");
    x[3 * IN + 5] = 0.0f / 0.0f;
    expect(clnn_net_set_data(net, x, ROWS, IN, y, ROWS), CLNN_ERR_NONFINITE,
           "sample 3, feature 5 is NaN");
    x[3 * IN + 5] = 0.5f;
    y[2] = CLASSES;
    expect(clnn_net_set_data(net, x, ROWS, IN, y, ROWS), CLNN_ERR_INVALID_ARGUMENT,
           "label 5 of sample 2 is outside 0..4");
    y[2] = 1;
    expect(clnn_net_train_rows(net, 0, 2), CLNN_ERR_STATE, "clnn_net_set_data first");

    ck_assert_clnn_ok(clnn_net_set_data(net, x, ROWS, IN, y, ROWS));
    expect(clnn_net_set_data_order(net, order, 2), CLNN_ERR_INVALID_ARGUMENT,
           "entry 1 is row 100, but the data has 100 rows");
    expect(clnn_net_set_data_order(net, NULL, 2), CLNN_ERR_INVALID_ARGUMENT, "row indices");
    expect(clnn_net_train_rows(net, 90, 11), CLNN_ERR_INVALID_ARGUMENT,
           "positions 90..100 run past the order's 100 entries (0..99)");
    expect(clnn_net_train_rows(net, 5, 1), CLNN_ERR_BATCH_TOO_SMALL, "batch of 1");
    expect(clnn_net_train_rows(net, 5, 0), CLNN_ERR_INVALID_ARGUMENT,
           "clnn_net_train_rows: the batch has no rows");
    /* A failed order keeps the one in force: the identity of set_data. */
    ck_assert_clnn_ok(clnn_net_train_rows(net, 90, 10));
    /* The wait for queued steps fails: the data in force stays. */
    clnn__fault_configure("clFinish:1");
    expect(clnn_net_set_data(net, x, ROWS / 2, IN, y, ROWS / 2), CLNN_ERR_OPENCL, "clFinish");
    clnn__fault_configure(NULL);
    ck_assert_clnn_ok(clnn_net_train_rows(net, 90, 10));

    ck_assert_clnn_ok(clnn_net_set_data(net, NULL, 0, IN, NULL, 0));
    expect(clnn_net_train_rows(net, 0, 2), CLNN_ERR_STATE, "clnn_net_set_data first");
    expect(clnn_net_set_data(NULL, x, ROWS, IN, y, ROWS), CLNN_ERR_INVALID_ARGUMENT, "NULL");
    free(x);
    clnn_net_free(net);
}
END_TEST

static Suite *data_suite(void)
{
    Suite *s = suite_create("core-data");
    TCase *tc = tcase_create("data");
    const int ncases = (int)(sizeof cases / sizeof cases[0]);
    tcase_add_loop_test(tc, test_rows_train_like_host_batches, 0, CORE_BACKENDS * ncases);
    tcase_add_test(tc, test_data_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(data_suite());
}
