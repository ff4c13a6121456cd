/* End to end: train the reference network (dense:256,bn,relu,dense:128,bn,
 * relu,dense:10) on the first 10,000 Fashion-MNIST training images for two
 * epochs (batch 64, shuffled per epoch, SGD lr 0.01 momentum 0.9) and
 * require a minimum accuracy on the 10,000 test images; and check that two
 * trainings with the same seed end bitwise identical.
 *
 * The dataset comes from CLNN_DEFAULT_DATA_DIR; without it the test skips,
 * or fails under CLNN_TEST_REQUIRE_DEVICE=1 (CI, where it must be there). */
#include "core_test.h"

#include <stdlib.h>

/* Measured on PoCL (CPU): test accuracy 0.818 (CLBlast) and 0.826 (own
 * GEMM) after these two epochs of 10,000 images; the two differ because
 * summation order changes the rounding, and training amplifies it (one full
 * 60,000-image epoch reaches ~0.85; chance is 0.10). The bound sits four
 * points below, so another device's rounding cannot fail it, while a broken
 * layer, gradient or optimizer (which leaves accuracy far lower or
 * diverges) does. */
#define MIN_TEST_ACCURACY 0.78

static const char *const SPEC = "dense:256,bn,relu,dense:128,bn,relu,dense:10";

static clnn_dataset *train_set, *test_set;

static void load_data(void)
{
    clnn_status st = clnn_dataset_load_split(CLNN_DEFAULT_DATA_DIR, "train", &train_set);
    if (st == CLNN_OK)
        st = clnn_dataset_load_split(CLNN_DEFAULT_DATA_DIR, "test", &test_set);
    if (st == CLNN_OK)
        return;
    const char *req = getenv("CLNN_TEST_REQUIRE_DEVICE");
    fprintf(stderr, "Fashion-MNIST not available in %s: %s\n", CLNN_DEFAULT_DATA_DIR,
            clnn_last_error());
    exit(req && *req == '1' ? EXIT_FAILURE : CLNN_TEST_SKIP);
}

/* Train on the first n training images for epochs epochs; returns the net. */
static clnn_net *train(clnn_gemm_backend backend, size_t n, size_t epochs, uint64_t seed)
{
    const size_t batch = 64, features = clnn_dataset_features(train_set);
    ck_assert_uint_le(n, clnn_dataset_count(train_set));
    clnn_net *net = core_net(core_context(backend), features, SPEC, seed);
    clnn_optimizer_options o;
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
    o.lr = 0.01, o.momentum = 0.9;
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &o));
    const float *images = clnn_dataset_images(train_set);
    const int32_t *labels = clnn_dataset_labels(train_set);
    uint32_t *perm = malloc(n * sizeof *perm);
    float *x = malloc(batch * features * sizeof *x);
    int32_t *y = malloc(batch * sizeof *y);
    ck_assert(perm && x && y);
    for (size_t e = 0; e < epochs; e++) {
        ck_assert_clnn_ok(clnn_permutation(seed, e, n, perm));
        for (size_t i = 0; i < n; i += batch) {
            size_t rows = n - i < batch ? n - i : batch;
            for (size_t r = 0; r < rows; r++) {
                memcpy(x + r * features, images + (size_t)perm[i + r] * features,
                       features * sizeof *x);
                y[r] = labels[perm[i + r]];
            }
            ck_assert_clnn_ok(
                clnn_net_train_batch(net, x, rows, clnn_net_in_features(net), y, rows));
        }
    }
    free(perm), free(x), free(y);
    return net;
}

START_TEST(test_training_reaches_accuracy)
{
    clnn_gemm_backend backend = core_backends[_i];
    clnn_net *net = train(backend, 10000, 2, 1);
    /* The training loss went down: the metrics hold the whole run's mean. */
    double train_loss, train_acc;
    uint64_t seen;
    ck_assert_clnn_ok(clnn_net_metrics_read(net, &train_loss, &train_acc, &seen));
    ck_assert_uint_eq(seen, 20000);
    ck_assert_double_lt(train_loss, 0.8); /* measured 0.556; ln 10 = 2.3 at chance */

    size_t n = clnn_dataset_count(test_set);
    ck_assert_uint_eq(n, 10000);
    double loss, accuracy;
    ck_assert_clnn_ok(clnn_net_evaluate(net, clnn_dataset_images(test_set), n,
                                        clnn_net_in_features(net), clnn_dataset_labels(test_set), n,
                                        1000, &loss, &accuracy));
    printf("%s: test accuracy %.4f, loss %.4f (train: accuracy %.4f, loss %.4f)\n",
           clnn_gemm_backend_name(backend), accuracy, loss, train_acc, train_loss);
    ck_assert_msg(accuracy >= MIN_TEST_ACCURACY, "test accuracy %.4f < %.2f", accuracy,
                  MIN_TEST_ACCURACY);
    ck_assert_msg(isfinite(loss) && loss < 0.7, "test loss %g", loss); /* measured 0.48-0.50 */
    /* clnn_net_evaluate must not have left eval mode on. */
    ck_assert(clnn_net_is_training(net));

    /* predict agrees with evaluate's accuracy. */
    int32_t *cls = malloc(n * sizeof *cls);
    ck_assert_clnn_ok(
        clnn_net_predict(net, clnn_dataset_images(test_set), n, clnn_net_in_features(net), cls, n));
    size_t correct = 0;
    for (size_t i = 0; i < n; i++)
        correct += cls[i] == clnn_dataset_labels(test_set)[i];
    ck_assert_double_eq_tol((double)correct / (double)n, accuracy, 1e-9);
    free(cls);
    clnn_net_free(net);
}
END_TEST

/* Every tensor of a and b is bitwise equal. */
static bool same_state(clnn_net *a, clnn_net *b)
{
    bool same = true;
    for (size_t t = 0; t < clnn_net_tensor_count(a) && same; t++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(a, t, &info));
        size_t bytes = info.numel * (info.dtype == CLNN_DTYPE_I64 ? 8 : 4);
        void *va = malloc(bytes), *vb = malloc(bytes);
        ck_assert_clnn_ok(clnn_net_tensor_read(a, t, va, bytes));
        ck_assert_clnn_ok(clnn_net_tensor_read(b, t, vb, bytes));
        same = memcmp(va, vb, bytes) == 0;
        free(va);
        free(vb);
    }
    return same;
}

START_TEST(test_training_is_deterministic)
{
    /* Reductions run in a fixed order and GEMMs are deterministic, so the
     * same seed (initial weights and shuffling) gives the same bits. */
    clnn_gemm_backend backend = core_backends[_i];
    clnn_net *a = train(backend, 2000, 1, 7), *b = train(backend, 2000, 1, 7);
    ck_assert_msg(same_state(a, b), "two trainings with seed 7 differ (%s)",
                  clnn_gemm_backend_name(backend));
    /* Another seed ends elsewhere, so the comparison above can fail. */
    clnn_net *c = train(backend, 2000, 1, 8);
    ck_assert(!same_state(a, c));
    clnn_net_free(a);
    clnn_net_free(b);
    clnn_net_free(c);
}
END_TEST

static Suite *e2e_suite(void)
{
    Suite *s = suite_create("core-e2e");
    TCase *tc = tcase_create("e2e");
    tcase_add_loop_test(tc, test_training_reaches_accuracy, 0, CORE_BACKENDS);
    tcase_add_loop_test(tc, test_training_is_deterministic, 0, CORE_BACKENDS);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    load_data();
    int rc = core_run(e2e_suite());
    clnn_dataset_free(train_set);
    clnn_dataset_free(test_set);
    return rc;
}
