/* The mean squared error loss (clnn_net_set_loss(net, CLNN_LOSS_MSE)) and
 * the calls that take float targets: the loss and every gradient against a
 * double-precision reference computed here from the network's own weights
 * (a dense stack, so the reference is a few lines), training from data on
 * the device bit for bit as from host batches, the loss kept by model files
 * and checkpoints, float targets read from CSV and NumPy files, and every
 * misuse refused with its status and a message naming the fix. */
#include "core_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IN 6
#define HIDDEN 5
#define OUT 3
#define ROWS 37

static clnn_net *mse_net(clnn_gemm_backend backend, uint64_t seed)
{
    clnn_net *net = core_net(core_context(backend), IN, "dense:5,relu,dense:3", seed);
    ck_assert_clnn_ok(clnn_net_set_loss(net, CLNN_LOSS_MSE));
    return net;
}

/* The reference: z = relu(x W0ᵀ + b0) W1ᵀ + b1, L = mean (z − t)², and the
 * gradients of every parameter, in double precision from the net's floats. */
static void reference(clnn_net *net, const float *x, const float *t, size_t rows, double *loss,
                      double *g_w0, double *g_b0, double *g_w1, double *g_b1)
{
    float *w0 = core_read(net, "0.weight"), *b0 = core_read(net, "0.bias");
    float *w1 = core_read(net, "2.weight"), *b1 = core_read(net, "2.bias");
    memset(g_w0, 0, HIDDEN * IN * sizeof *g_w0);
    memset(g_b0, 0, HIDDEN * sizeof *g_b0);
    memset(g_w1, 0, OUT * HIDDEN * sizeof *g_w1);
    memset(g_b1, 0, OUT * sizeof *g_b1);
    const double n = (double)rows * OUT;
    *loss = 0;
    for (size_t r = 0; r < rows; r++) {
        double h[HIDDEN], dh[HIDDEN] = {0};
        for (size_t j = 0; j < HIDDEN; j++) {
            double s = b0[j];
            for (size_t k = 0; k < IN; k++)
                s += (double)x[r * IN + k] * w0[j * IN + k];
            h[j] = s > 0 ? s : 0;
        }
        for (size_t o = 0; o < OUT; o++) {
            double z = b1[o];
            for (size_t j = 0; j < HIDDEN; j++)
                z += h[j] * w1[o * HIDDEN + j];
            const double d = z - t[r * OUT + o];
            *loss += d * d / n;
            const double dz = 2 * d / n;
            g_b1[o] += dz;
            for (size_t j = 0; j < HIDDEN; j++) {
                g_w1[o * HIDDEN + j] += dz * h[j];
                dh[j] += dz * w1[o * HIDDEN + j];
            }
        }
        for (size_t j = 0; j < HIDDEN; j++) {
            if (h[j] <= 0)
                continue;
            g_b0[j] += dh[j];
            for (size_t k = 0; k < IN; k++)
                g_w0[j * IN + k] += dh[j] * x[r * IN + k];
        }
    }
    free(w0);
    free(b0);
    free(w1);
    free(b1);
}

static void make_data(float *x, float *t, size_t rows, uint64_t seed)
{
    core_rng r = core_rng_make(seed);
    core_fill(x, rows * IN, -1, 1, &r);
    core_fill(t, rows * OUT, -2, 2, &r);
}

START_TEST(test_mse_against_reference)
{
    clnn_net *net = mse_net(core_backends[_i], 11);
    float x[ROWS * IN], t[ROWS * OUT];
    make_data(x, t, ROWS, 12);
    ck_assert_clnn_ok(clnn_net_forward(net, x, ROWS, IN));
    ck_assert_clnn_ok(clnn_net_backward_targets(net, t, ROWS * OUT));
    double loss, g_w0[HIDDEN * IN], g_b0[HIDDEN], g_w1[OUT * HIDDEN], g_b1[OUT];
    reference(net, x, t, ROWS, &loss, g_w0, g_b0, g_w1, g_b1);
    float got;
    ck_assert_clnn_ok(clnn_net_read_loss(net, &got));
    const double lref[1] = {loss};
    core_check_close("mse loss", &got, lref, 1, 1e-6, 1e-5);
    float *g = core_read_grad(net, "0.weight");
    core_check_close("grad 0.weight", g, g_w0, HIDDEN * IN, 1e-6, 1e-5);
    free(g);
    g = core_read_grad(net, "0.bias");
    core_check_close("grad 0.bias", g, g_b0, HIDDEN, 1e-6, 1e-5);
    free(g);
    g = core_read_grad(net, "2.weight");
    core_check_close("grad 2.weight", g, g_w1, OUT * HIDDEN, 1e-6, 1e-5);
    free(g);
    g = core_read_grad(net, "2.bias");
    core_check_close("grad 2.bias", g, g_b1, OUT, 1e-6, 1e-5);
    free(g);

    /* Evaluation gives the same mean, over every row and output. */
    double eval = 0;
    ck_assert_clnn_ok(clnn_net_evaluate_targets(net, x, ROWS, IN, t, ROWS * OUT, 8, &eval));
    const double eref[1] = {loss};
    const float evalf = (float)eval;
    core_check_close("evaluate_targets", &evalf, eref, 1, 1e-6, 1e-5);
    clnn_net_free(net);
}
END_TEST

/* Steps from the device's data, in a shuffled order, equal host batches of
 * the same rows and targets bit for bit; so do the epoch's mean loss and the
 * metrics. */
START_TEST(test_mse_data_on_device)
{
    clnn_net *host = mse_net(core_backends[_i], 21), *dev = mse_net(core_backends[_i], 21);
    float x[ROWS * IN], t[ROWS * OUT], xb[ROWS * IN], tb[ROWS * OUT];
    make_data(x, t, ROWS, 22);
    uint32_t order[ROWS];
    core_rng r = core_rng_make(23);
    for (size_t i = 0; i < ROWS; i++)
        order[i] = (uint32_t)((i * 17 + core_rng_next(&r) % 2) % ROWS);
    ck_assert_clnn_ok(clnn_net_set_data_targets(dev, x, ROWS, IN, t, ROWS * OUT));
    ck_assert_clnn_ok(clnn_net_set_data_order(dev, order, ROWS));
    for (size_t i = 0; i < ROWS; i++) {
        memcpy(xb + i * IN, x + order[i] * IN, IN * sizeof *x);
        memcpy(tb + i * OUT, t + order[i] * OUT, OUT * sizeof *t);
    }
    const size_t batch = 10;
    ck_assert_clnn_ok(clnn_net_metrics_reset(host));
    for (size_t first = 0; first < ROWS; first += batch) {
        const size_t n = (ROWS - first < batch ? ROWS - first : batch);
        ck_assert_clnn_ok(clnn_net_train_batch_targets(host, xb + first * IN, n, IN,
                                                       tb + first * OUT, n * OUT));
    }
    double dev_loss = 0, host_loss = 0;
    ck_assert_clnn_ok(clnn_net_train_epoch(dev, batch, &dev_loss, NULL));
    ck_assert_clnn_ok(clnn_net_metrics_read(host, &host_loss, NULL, NULL));
    ck_assert_msg(dev_loss == host_loss, "epoch loss %.9g, host batches %.9g", dev_loss,
                  host_loss);
    size_t na, nb;
    float *a = core_read_all(host, false, false, &na), *b = core_read_all(dev, false, false, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert_msg(memcmp(a, b, na * sizeof *a) == 0, "parameters differ after an epoch");
    free(a);
    free(b);
    clnn_net_free(host);
    clnn_net_free(dev);
}
END_TEST

/* Files keep the loss: a loaded model evaluates as the saved one; a
 * checkpoint resumes bit for bit, and refuses a network of the other loss. */
START_TEST(test_mse_files)
{
    char *dir = core_tmpdir();
    char model[4200], ckpt[4200];
    snprintf(model, sizeof model, "%s/mse.safetensors", dir);
    snprintf(ckpt, sizeof ckpt, "%s/mse-ckpt.safetensors", dir);
    clnn_context *ctx = core_context(CLNN_GEMM_OWN);
    clnn_net *net = mse_net(CLNN_GEMM_OWN, 31);
    float x[ROWS * IN], t[ROWS * OUT];
    make_data(x, t, ROWS, 32);
    ck_assert_clnn_ok(clnn_net_train_batch_targets(net, x, 20, IN, t, 20 * OUT));
    ck_assert_clnn_ok(clnn_net_save(net, model));
    ck_assert_clnn_ok(clnn_net_save_checkpoint(net, ckpt, NULL, 0));
    char value[32];
    ck_assert_clnn_ok(clnn_file_metadata(model, "clnn.loss", value, sizeof value));
    ck_assert_str_eq(value, "mse");

    clnn_net *loaded = NULL;
    ck_assert_clnn_ok(clnn_net_load(ctx, model, NULL, &loaded));
    ck_assert_int_eq(clnn_net_loss(loaded), CLNN_LOSS_MSE);
    double a = 0, b = 0;
    ck_assert_clnn_ok(clnn_net_evaluate_targets(net, x, ROWS, IN, t, ROWS * OUT, 16, &a));
    ck_assert_clnn_ok(clnn_net_evaluate_targets(loaded, x, ROWS, IN, t, ROWS * OUT, 16, &b));
    ck_assert_msg(a == b, "loaded model's loss %.9g, saved model's %.9g", b, a);

    /* Resume: the next steps of the saved net and of the restored one agree. */
    clnn_net *resumed = core_net(ctx, IN, "dense:5,relu,dense:3", 99);
    ck_assert_fails_with(clnn_net_load_checkpoint(resumed, ckpt), CLNN_ERR_STATE,
                         "trained with the mse loss, but the network's loss is cross_entropy");
    ck_assert_clnn_ok(clnn_net_set_loss(resumed, CLNN_LOSS_MSE));
    ck_assert_clnn_ok(clnn_net_load_checkpoint(resumed, ckpt));
    ck_assert_clnn_ok(clnn_net_train_batch_targets(net, x + 20 * IN, 17, IN, t + 20 * OUT,
                                                   17 * OUT));
    ck_assert_clnn_ok(clnn_net_train_batch_targets(resumed, x + 20 * IN, 17, IN, t + 20 * OUT,
                                                   17 * OUT));
    double la = 0, lb = 0;
    ck_assert_clnn_ok(clnn_net_metrics_read(net, &la, NULL, NULL));
    ck_assert_clnn_ok(clnn_net_metrics_read(resumed, &lb, NULL, NULL));
    ck_assert_msg(la == lb, "resumed metrics %.9g, uninterrupted %.9g", lb, la);
    size_t na, nb;
    float *pa = core_read_all(net, false, false, &na), *pb = core_read_all(resumed, false, false, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert_msg(memcmp(pa, pb, na * sizeof *pa) == 0, "resumed parameters differ");
    free(pa);
    free(pb);

    /* A classification model says so. */
    clnn_net *xent = core_net(ctx, IN, "dense:3", 5);
    ck_assert_clnn_ok(clnn_net_save(xent, model));
    ck_assert_clnn_ok(clnn_file_metadata(model, "clnn.loss", value, sizeof value));
    ck_assert_str_eq(value, "cross_entropy");
    clnn_net_free(xent);
    clnn_net_free(loaded);
    clnn_net_free(resumed);
    clnn_net_free(net);
    core_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_mse_errors)
{
    clnn_net *net = mse_net(CLNN_GEMM_OWN, 41);
    float x[ROWS * IN], t[ROWS * OUT], out[ROWS * OUT];
    int32_t labels[ROWS] = {0};
    make_data(x, t, ROWS, 42);
    double loss, acc;
    ck_assert_fails_with(clnn_net_set_loss(net, (clnn_loss_kind)7), CLNN_ERR_INVALID_ARGUMENT,
                         "use CLNN_LOSS_CROSS_ENTROPY or CLNN_LOSS_MSE");
    ck_assert_fails_with(clnn_net_train_batch(net, x, 4, IN, labels, 4), CLNN_ERR_STATE,
                         "use clnn_net_train_batch_targets");
    ck_assert_fails_with(clnn_net_evaluate(net, x, 4, IN, labels, 4, 4, &loss, &acc),
                         CLNN_ERR_STATE, "use clnn_net_evaluate_targets");
    ck_assert_fails_with(clnn_net_set_data(net, x, 4, IN, labels, 4), CLNN_ERR_STATE,
                         "use clnn_net_set_data_targets");
    ck_assert_fails_with(clnn_net_train_batch_targets(net, x, 4, IN, t, 4), CLNN_ERR_SHAPE,
                         "targets has 4 entries (its count argument) but the call needs 12");
    ck_assert_fails_with(clnn_net_set_data_targets(net, x, 4, IN, t, 5), CLNN_ERR_SHAPE,
                         "4 rows × 3 outputs");
    t[5] = 0.0f / 0.0f;
    ck_assert_fails_with(clnn_net_train_batch_targets(net, x, 4, IN, t, 12), CLNN_ERR_NONFINITE,
                         "target 2 of sample 1 is NaN");
    t[5] = 0.5f;
    ck_assert_clnn_ok(clnn_net_forward(net, x, 4, IN));
    ck_assert_fails_with(clnn_net_backward(net, labels, 4), CLNN_ERR_STATE,
                         "use clnn_net_backward_targets");
    ck_assert_fails_with(clnn_net_backward_targets(net, t, 4), CLNN_ERR_SHAPE,
                         "the last forward's 4 rows × 3 outputs");
    ck_assert_clnn_ok(clnn_net_train_batch_targets(net, x, 4, IN, t, 12));
    ck_assert_fails_with(clnn_net_metrics_read(net, &loss, &acc, NULL), CLNN_ERR_STATE,
                         "has no accuracy: pass NULL for accuracy");
    ck_assert_fails_with(clnn_net_predict(net, x, 4, IN, labels, 4), CLNN_ERR_STATE,
                         "clnn_net_predict_output");
    ck_assert_fails_with(
        clnn_net_predict_output(net, x, 4, IN, CLNN_OUTPUT_PROBABILITIES, out, 4 * OUT),
        CLNN_ERR_STATE, "ask for CLNN_OUTPUT_LOGITS");
    ck_assert_clnn_ok(clnn_net_predict_output(net, x, 4, IN, CLNN_OUTPUT_LOGITS, out, 4 * OUT));
    ck_assert_clnn_ok(clnn_net_set_data_targets(net, x, ROWS, IN, t, ROWS * OUT));
    ck_assert_fails_with(clnn_net_train_epoch(net, 8, &loss, &acc), CLNN_ERR_STATE,
                         "has no accuracy");
    ck_assert_fails_with(clnn_net_set_loss(net, CLNN_LOSS_CROSS_ENTROPY), CLNN_ERR_STATE,
                         "free it first");
    ck_assert_clnn_ok(clnn_net_set_data_targets(net, NULL, 0, IN, NULL, 0));
    ck_assert_clnn_ok(clnn_net_set_loss(net, CLNN_LOSS_CROSS_ENTROPY));
    ck_assert_fails_with(clnn_net_train_batch_targets(net, x, 4, IN, t, 12), CLNN_ERR_STATE,
                         "clnn_net_set_loss(net, CLNN_LOSS_MSE), or give labels to "
                         "clnn_net_train_batch");
    ck_assert_fails_with(clnn_net_evaluate_targets(net, x, 4, IN, t, 12, 4, &loss),
                         CLNN_ERR_STATE, "give labels to clnn_net_evaluate");
    /* Back to classification: labels train again. */
    ck_assert_clnn_ok(clnn_net_train_batch(net, x, 4, IN, labels, 4));
    ck_assert_clnn_ok(clnn_net_metrics_read(net, &loss, &acc, NULL));
    ck_assert_str_eq(clnn_loss_name(CLNN_LOSS_MSE), "mse");
    ck_assert_ptr_null(clnn_loss_name((clnn_loss_kind)9));
    clnn_net_free(net);
}
END_TEST

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Float targets from a CSV column and from 1-D and 2-D .npy files. */
START_TEST(test_dataset_targets)
{
    char *dir = core_tmpdir();
    char csv[4200], bad[4200], xs[4200], ys[4200];
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    snprintf(bad, sizeof bad, "%s/bad.csv", dir);
    snprintf(xs, sizeof xs, "%s/x.npy", dir);
    snprintf(ys, sizeof ys, "%s/y.npy", dir);
    write_text(csv, "a,b,y\n1,2,0.5\n3,4,-2.25e1\n5,6,7\n");
    clnn_dataset_options o;
    clnn_dataset_options_init(&o);
    o.target = CLNN_TARGET_VALUES;
    clnn_dataset *ds = NULL;
    ck_assert_clnn_ok(clnn_dataset_load(csv, &o, &ds));
    ck_assert_uint_eq(clnn_dataset_count(ds), 3);
    ck_assert_uint_eq(clnn_dataset_features(ds), 2);
    ck_assert_uint_eq(clnn_dataset_target_width(ds), 1);
    ck_assert_ptr_null(clnn_dataset_labels(ds));
    const float *t = clnn_dataset_targets(ds);
    ck_assert(t[0] == 0.5f && t[1] == -22.5f && t[2] == 7.0f);
    clnn_dataset *kept = NULL, *held = NULL;
    ck_assert_clnn_ok(clnn_dataset_split(ds, 0.34, 1, &kept, &held));
    ck_assert_uint_eq(clnn_dataset_target_width(held), 1);
    const float *th = clnn_dataset_targets(held), *xh = clnn_dataset_images(held);
    /* Each held-out row keeps its own target: x = (1,2) → 0.5 and so on. */
    const float want = xh[0] == 1.0f ? 0.5f : xh[0] == 3.0f ? -22.5f : 7.0f;
    ck_assert(th[0] == want);
    clnn_dataset_free(kept);
    clnn_dataset_free(held);
    clnn_dataset_free(ds);

    write_text(bad, "a,y\n1,0.5\n2,cat\n");
    ck_assert_fails_with(clnn_dataset_load(bad, &o, &ds), CLNN_ERR_BAD_FILE,
                         "line 3, column 2 ('y'): 'cat' is not a number; regression targets");
    write_text(bad, "a,y\n1,0.5\n2,\n");
    ck_assert_fails_with(clnn_dataset_load(bad, &o, &ds), CLNN_ERR_BAD_FILE,
                         "every target needs a number");
    o.target = (clnn_target_kind)5;
    ck_assert_fails_with(clnn_dataset_load(csv, &o, &ds), CLNN_ERR_INVALID_ARGUMENT,
                         "CLNN_TARGET_VALUES");

    /* .npy: x (4 × 1 float32), y (4 × 2 float64). */
    static const unsigned char xh_[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', "
                                       "'fortran_order': False, 'shape': (4, 1), }";
    static const unsigned char yh_[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<f8', "
                                       "'fortran_order': False, 'shape': (4, 2), }";
    FILE *f = fopen(xs, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(xh_, 1, sizeof xh_ - 1, f);
    for (size_t i = sizeof xh_ - 1; i < 127; i++)
        fputc(' ', f);
    fputc('\n', f);
    const float xv[4] = {1, 2, 3, 4};
    fwrite(xv, sizeof xv[0], 4, f);
    fclose(f);
    f = fopen(ys, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(yh_, 1, sizeof yh_ - 1, f);
    for (size_t i = sizeof yh_ - 1; i < 127; i++)
        fputc(' ', f);
    fputc('\n', f);
    const double yv[8] = {0.5, -1, 2.25, 3, 4, 5, 6, 7.5};
    fwrite(yv, sizeof yv[0], 8, f);
    fclose(f);
    o.target = CLNN_TARGET_VALUES;
    o.labels_path = ys;
    ck_assert_clnn_ok(clnn_dataset_load(xs, &o, &ds));
    ck_assert_uint_eq(clnn_dataset_target_width(ds), 2);
    t = clnn_dataset_targets(ds);
    for (size_t i = 0; i < 8; i++)
        ck_assert(t[i] == (float)yv[i]);
    clnn_dataset_free(ds);
    core_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *loss_suite(void)
{
    Suite *s = suite_create("core-loss");
    TCase *tc = tcase_create("loss");
    tcase_add_loop_test(tc, test_mse_against_reference, 0, CORE_BACKENDS);
    tcase_add_loop_test(tc, test_mse_data_on_device, 0, CORE_BACKENDS);
    tcase_add_test(tc, test_mse_files);
    tcase_add_test(tc, test_mse_errors);
    tcase_add_test(tc, test_dataset_targets);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(loss_suite());
}
