/* Model I/O for applications: images in memory (byte for byte the file),
 * the caller's metadata through every save and load, class probabilities
 * against a double-precision softmax, the layer stack, and a diverged
 * network refused by every call that reads results. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf */
#endif
#include "core_test.h"

#include <stdio.h>
#include <stdlib.h>

#define IN 6
#define SPEC "fc1=dense:8,bn,relu,out=dense:4"
#define ROWS 16

static char *path_in(const char *dir, const char *file)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, file), 0);
    return p;
}

static uint8_t *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    uint8_t *b = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static clnn_net *trained(clnn_context *ctx, uint64_t seed)
{
    clnn_net *net = core_net(ctx, IN, SPEC, seed);
    core_rng r = core_rng_make(seed + 1);
    float x[ROWS * IN];
    int32_t y[ROWS];
    for (int s = 0; s < 3; s++) {
        core_fill(x, ROWS * IN, -1, 1, &r);
        core_fill_labels(y, ROWS, 4, &r);
        ck_assert_clnn_ok(clnn_net_train_batch(net, x, ROWS, IN, y, ROWS));
    }
    return net;
}

static void expect_meta(const clnn_net *net, const char *key, const char *want)
{
    char buf[256];
    size_t need = clnn_net_metadata(net, key, buf, sizeof buf);
    ck_assert_msg(need == strlen(want) + 1, "metadata '%s': length %zu, expected %zu", key, need,
                  strlen(want) + 1);
    ck_assert_str_eq(buf, want);
}

/* The same outputs, bit for bit, from two nets on the same rows. */
static void expect_same_outputs(clnn_net *a, clnn_net *b)
{
    core_rng r = core_rng_make(77);
    float x[ROWS * IN], ya[ROWS * 4], yb[ROWS * 4];
    core_fill(x, ROWS * IN, -2, 2, &r);
    ck_assert_clnn_ok(clnn_net_predict_output(a, x, ROWS, IN, CLNN_OUTPUT_LOGITS, ya, ROWS * 4));
    ck_assert_clnn_ok(clnn_net_predict_output(b, x, ROWS, IN, CLNN_OUTPUT_LOGITS, yb, ROWS * 4));
    ck_assert_mem_eq(ya, yb, sizeof ya);
}

START_TEST(test_memory_image_is_the_file)
{
    clnn_context *ctx = core_context(CLNN_GEMM_OWN);
    clnn_net *net = trained(ctx, 5);
    ck_assert_clnn_ok(clnn_net_set_metadata(net, "description", "four classes, ünïcode"));
    char *dir = core_tmpdir(), *path = path_in(dir, "m.safetensors");
    ck_assert_clnn_ok(clnn_net_save(net, path));
    void *image = NULL;
    size_t size = 0, len = 0;
    ck_assert_clnn_ok(clnn_net_save_to_memory(net, &image, &size));
    uint8_t *file = read_whole(path, &len);
    ck_assert_uint_eq(size, len);
    ck_assert_mem_eq(image, file, len);

    clnn_net *from_file = NULL, *from_memory = NULL;
    ck_assert_clnn_ok(clnn_net_load(ctx, path, NULL, &from_file));
    ck_assert_clnn_ok(clnn_net_load_from_memory(ctx, image, size, NULL, &from_memory));
    clnn_free(image);
    expect_same_outputs(net, from_file);
    expect_same_outputs(net, from_memory);
    expect_meta(from_memory, "description", "four classes, ünïcode");
    clnn_net_free(from_file);
    from_file = NULL;

    /* load_weights from memory into a net of the same stack. */
    clnn_net *other = core_net(ctx, IN, SPEC, 99);
    ck_assert_clnn_ok(clnn_net_load_weights_from_memory(other, file, len));
    expect_same_outputs(net, other);
    ck_assert_uint_eq(clnn_net_metadata_count(other), 0); /* weights only */
    /* A damaged byte is caught by the checksum, as for a file. */
    file[len - 1] ^= 0x40; /* in the last tensor's data */
    ck_assert_fails_with(clnn_net_load_weights_from_memory(other, file, len), CLNN_ERR_BAD_FILE,
                         "checksum");
    ck_assert_fails_with(clnn_net_load_from_memory(ctx, NULL, 0, NULL, &from_file),
                         CLNN_ERR_INVALID_ARGUMENT, "data is NULL");
    ck_assert_ptr_null(from_file);
    ck_assert_fails_with(clnn_net_save_to_memory(net, NULL, &size), CLNN_ERR_INVALID_ARGUMENT,
                         "clnn_net_save_to_memory: data or size is NULL");
    clnn_free(NULL);
    free(file);
    clnn_net_free(other);
    clnn_net_free(from_memory);
    clnn_net_free(net);
    core_rmtree(dir);
    free(dir), free(path);
}
END_TEST

START_TEST(test_metadata)
{
    clnn_context *ctx = core_context(CLNN_GEMM_OWN);
    clnn_net *net = trained(ctx, 6);
    ck_assert_uint_eq(clnn_net_metadata_count(net), 0);
    ck_assert_uint_eq(clnn_net_metadata(net, "classes", NULL, 0), 0);
    ck_assert_clnn_ok(clnn_net_set_metadata(net, "classes", "a,b,c"));
    ck_assert_clnn_ok(clnn_net_set_metadata(net, "mean", "0.5"));
    ck_assert_clnn_ok(clnn_net_set_metadata(net, "classes", "a,b,c,d")); /* replaces */
    ck_assert_clnn_ok(clnn_net_set_metadata(net, "gone", "x"));
    ck_assert_clnn_ok(clnn_net_set_metadata(net, "gone", NULL));
    ck_assert_clnn_ok(clnn_net_set_metadata(net, "never set", NULL));
    ck_assert_clnn_ok(clnn_net_set_metadata(net, "empty", ""));
    ck_assert_uint_eq(clnn_net_metadata_count(net), 3);
    char key[32];
    const char *order[] = {"classes", "mean", "empty"};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(clnn_net_metadata_key(net, i, key, sizeof key), strlen(order[i]) + 1);
        ck_assert_str_eq(key, order[i]);
    }
    ck_assert_uint_eq(clnn_net_metadata_key(net, 3, key, sizeof key), 0);
    expect_meta(net, "empty", "");

    ck_assert_fails_with(clnn_net_set_metadata(net, "clnn.spec", "x"), CLNN_ERR_INVALID_ARGUMENT,
                         "key 'clnn.spec' is reserved");
    ck_assert_fails_with(clnn_net_set_metadata(net, "user.epoch", "1"), CLNN_ERR_INVALID_ARGUMENT,
                         "reserved");
    ck_assert_fails_with(clnn_net_set_metadata(net, "format", "np"), CLNN_ERR_INVALID_ARGUMENT,
                         "reserved");
    ck_assert_fails_with(clnn_net_set_metadata(net, "", "x"), CLNN_ERR_INVALID_ARGUMENT,
                         "key must be 1 to 255 bytes");
    ck_assert_fails_with(clnn_net_set_metadata(net, "bad\xff", "x"), CLNN_ERR_INVALID_ARGUMENT,
                         "not valid UTF-8");
    ck_assert_fails_with(clnn_net_set_metadata(net, "ok", "\xc0\x80"), CLNN_ERR_INVALID_ARGUMENT,
                         "not valid UTF-8");
    ck_assert_fails_with(clnn_net_set_metadata(net, NULL, "x"), CLNN_ERR_INVALID_ARGUMENT,
                         "key is NULL");
    ck_assert_uint_eq(clnn_net_metadata_count(net), 3);

    /* Every save writes them; loading reads them back; a checkpoint's own
     * entries stay its own. */
    char *dir = core_tmpdir(), *model = path_in(dir, "m.safetensors"),
         *ckpt = path_in(dir, "c.safetensors");
    ck_assert_clnn_ok(clnn_net_save(net, model));
    const clnn_metadata user[] = {{"epoch", "3"}};
    ck_assert_clnn_ok(clnn_net_save_checkpoint(net, ckpt, user, 1));
    char value[32];
    ck_assert_clnn_ok(clnn_file_metadata(model, "classes", value, sizeof value));
    ck_assert_str_eq(value, "a,b,c,d");
    ck_assert_clnn_ok(clnn_file_metadata(ckpt, "mean", value, sizeof value));
    ck_assert_str_eq(value, "0.5");
    ck_assert_clnn_ok(clnn_file_metadata(ckpt, "user.epoch", value, sizeof value));
    ck_assert_str_eq(value, "3");
    const char *files[] = {model, ckpt};
    for (size_t f = 0; f < 2; f++) {
        clnn_net *loaded = NULL;
        ck_assert_clnn_ok(clnn_net_load(ctx, files[f], NULL, &loaded));
        ck_assert_uint_eq(clnn_net_metadata_count(loaded), 3);
        for (size_t i = 0; i < 3; i++) {
            ck_assert_uint_gt(clnn_net_metadata_key(loaded, i, key, sizeof key), 0);
            ck_assert_str_eq(key, order[i]);
        }
        expect_meta(loaded, "classes", "a,b,c,d");
        expect_meta(loaded, "mean", "0.5");
        ck_assert_uint_eq(clnn_net_metadata(loaded, "user.epoch", NULL, 0), 0);
        ck_assert_uint_eq(clnn_net_metadata(loaded, "clnn.spec", NULL, 0), 0);
        /* A loaded net saves them again. */
        void *image;
        size_t size;
        ck_assert_clnn_ok(clnn_net_save_to_memory(loaded, &image, &size));
        clnn_net *again = NULL;
        ck_assert_clnn_ok(clnn_net_load_from_memory(ctx, image, size, NULL, &again));
        clnn_free(image);
        expect_meta(again, "classes", "a,b,c,d");
        clnn_net_free(again);
        clnn_net_free(loaded);
    }
    clnn_net_free(net);
    core_rmtree(dir);
    free(dir), free(model), free(ckpt);
}
END_TEST

/* Probabilities are the softmax of the logits: each within 2^-23 of the
 * double-precision softmax of the same logits, relative to it (they are
 * computed in double and rounded once), rows summing to 1 within 1e-6;
 * logits match the double-precision reference network to 1e-4 relative to
 * their scale, as in test_layers. Logits spread by thousands must still give
 * finite probabilities. */
START_TEST(test_probabilities)
{
    clnn_context *ctx = core_context(core_backends[_i]);
    clnn_net *net = trained(ctx, 7);
    ref_net *ref = ref_net_create(IN, SPEC);
    core_copy_to_ref(net, ref);
    core_rng r = core_rng_make(8);
    float x[ROWS * IN], logits[ROWS * 4], probs[ROWS * 4];
    core_fill(x, ROWS * IN, -2, 2, &r);
    ck_assert_clnn_ok(
        clnn_net_predict_output(net, x, ROWS, IN, CLNN_OUTPUT_LOGITS, logits, ROWS * 4));
    ref_net_forward(ref, x, ROWS, false);
    core_check_close("logits", logits, ref->layers[3].y, ROWS * 4, 1.0, 1e-4);
    for (int spread = 0; spread < 2; spread++) {
        if (spread) { /* out.bias = ±3000: logits thousands apart */
            const float bias[4] = {3000.0f, -3000.0f, 2990.0f, 0.0f};
            ck_assert_clnn_ok(
                clnn_net_tensor_write(net, core_tensor(net, "out.bias"), bias, sizeof bias));
            ck_assert_clnn_ok(
                clnn_net_predict_output(net, x, ROWS, IN, CLNN_OUTPUT_LOGITS, logits, ROWS * 4));
        }
        ck_assert_clnn_ok(
            clnn_net_predict_output(net, x, ROWS, IN, CLNN_OUTPUT_PROBABILITIES, probs, ROWS * 4));
        for (size_t row = 0; row < ROWS; row++) {
            double mx = logits[row * 4], sum = 0.0, total = 0.0, e[4];
            for (size_t j = 1; j < 4; j++)
                mx = logits[row * 4 + j] > mx ? logits[row * 4 + j] : mx;
            for (size_t j = 0; j < 4; j++)
                sum += e[j] = exp((double)logits[row * 4 + j] - mx);
            for (size_t j = 0; j < 4; j++) {
                double want = e[j] / sum, got = probs[row * 4 + j];
                ck_assert_msg(isfinite(got) && fabs(got - want) <= 0x1p-23 * want,
                              "row %zu class %zu: probability %.9g, softmax %.17g", row, j, got,
                              want);
                total += got;
            }
            ck_assert_msg(fabs(total - 1.0) <= 1e-6, "row %zu sums to %.9g", row, total);
        }
    }
    /* The classes are the largest probabilities. */
    int32_t cls[ROWS];
    ck_assert_clnn_ok(clnn_net_predict(net, x, ROWS, IN, cls, ROWS));
    for (size_t row = 0; row < ROWS; row++)
        for (size_t j = 0; j < 4; j++)
            ck_assert(probs[row * 4 + j] <= probs[row * 4 + (size_t)cls[row]]);
    ck_assert_fails_with(
        clnn_net_predict_output(net, x, ROWS, IN, (clnn_output_kind)2, probs, ROWS * 4),
        CLNN_ERR_INVALID_ARGUMENT, "kind is 2");
    ref_net_free(ref);
    clnn_net_free(net);
}
END_TEST

START_TEST(test_layer_info)
{
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), IN, SPEC, 9);
    const struct {
        const char *kind, *name, *prefix;
        size_t in, out;
    } want[] = {{"dense", "fc1", "fc1", IN, 8},
                {"batchnorm1d", "", "1", 8, 8},
                {"relu", "", "2", 8, 8},
                {"dense", "out", "out", 8, 4}};
    ck_assert_uint_eq(clnn_net_layer_count(net), 4);
    for (size_t i = 0; i < 4; i++) {
        clnn_layer_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_layer_info(net, i, &info));
        ck_assert_uint_eq(info.struct_size, sizeof info);
        ck_assert_str_eq(info.kind, want[i].kind);
        ck_assert_str_eq(info.name, want[i].name);
        ck_assert_str_eq(info.prefix, want[i].prefix);
        ck_assert_uint_eq(info.in_features, want[i].in);
        ck_assert_uint_eq(info.out_features, want[i].out);
        if (strcmp(info.kind, "relu") != 0) { /* its tensors carry the prefix */
            char name[64];
            snprintf(name, sizeof name, "%s.weight", info.prefix);
            size_t t;
            ck_assert_clnn_ok(clnn_net_tensor_find(net, name, &t));
        }
    }
    clnn_layer_info info = {0};
    ck_assert_fails_with(clnn_net_layer_info(net, 0, &info), CLNN_ERR_INVALID_ARGUMENT,
                         "clnn_layer_info.struct_size is 0");
    info.struct_size = sizeof info - 1;
    ck_assert_fails_with(clnn_net_layer_info(net, 0, &info), CLNN_ERR_INVALID_ARGUMENT,
                         "struct_size");
    info.struct_size = sizeof info;
    ck_assert_fails_with(clnn_net_layer_info(net, 4, &info), CLNN_ERR_INVALID_ARGUMENT,
                         "index 4 is out of range (4 layers)");
    /* A newer header's larger struct: the library leaves the bytes past ours. */
    struct {
        clnn_layer_info info;
        uint64_t later;
    } big = {{.struct_size = sizeof big}, 0x1234};
    ck_assert_clnn_ok(clnn_net_layer_info(net, 3, &big.info));
    ck_assert_uint_eq(big.info.struct_size, sizeof big);
    ck_assert_uint_eq(big.later, 0x1234);
    ck_assert_str_eq(big.info.prefix, "out");
    clnn_net_free(net);
}
END_TEST

/* clnn_net_set_lr(net, 1e30) then training: the steps return OK (they wait
 * for nothing), then every call that reads results says the run diverged,
 * until finite weights are loaded. */
START_TEST(test_divergence_is_refused)
{
    clnn_context *ctx = core_context(core_backends[_i]);
    clnn_net *net = trained(ctx, 10);
    void *good;
    size_t good_size;
    ck_assert_clnn_ok(clnn_net_save_to_memory(net, &good, &good_size));
    ck_assert_fails_with(clnn_net_set_lr(net, NAN), CLNN_ERR_INVALID_ARGUMENT,
                         "clnn_net_set_lr: lr is nan");
    ck_assert_fails_with(clnn_net_set_lr(net, -1), CLNN_ERR_INVALID_ARGUMENT, ">= 0");
    ck_assert_fails_with(clnn_net_set_lr(net, 1e39), CLNN_ERR_INVALID_ARGUMENT, "largest float");
    ck_assert_clnn_ok(clnn_net_set_lr(net, 1e30));
    core_rng r = core_rng_make(11);
    float x[ROWS * IN], out[ROWS * 4];
    int32_t y[ROWS], cls[ROWS];
    core_fill(x, ROWS * IN, -1, 1, &r);
    core_fill_labels(y, ROWS, 4, &r);
    for (int s = 0; s < 5; s++)
        ck_assert_clnn_ok(clnn_net_train_batch(net, x, ROWS, IN, y, ROWS));
    const char *why = "training diverged";
    float loss;
    double mean, acc;
    ck_assert_fails_with(clnn_net_read_loss(net, &loss), CLNN_ERR_NONFINITE, why);
    ck_assert_fails_with(clnn_net_read_loss(net, &loss), CLNN_ERR_NONFINITE, "clnn_net_set_lr");
    ck_assert_fails_with(clnn_net_metrics_read(net, &mean, &acc, NULL), CLNN_ERR_NONFINITE, why);
    ck_assert_fails_with(clnn_net_evaluate(net, x, ROWS, IN, y, ROWS, 8, &mean, &acc),
                         CLNN_ERR_NONFINITE, "clnn_net_evaluate: training diverged");
    ck_assert_fails_with(clnn_net_predict(net, x, ROWS, IN, cls, ROWS), CLNN_ERR_NONFINITE, why);
    ck_assert_fails_with(
        clnn_net_predict_output(net, x, ROWS, IN, CLNN_OUTPUT_PROBABILITIES, out, ROWS * 4),
        CLNN_ERR_NONFINITE, why);
    void *image = NULL;
    size_t size = 0;
    ck_assert_fails_with(clnn_net_save_to_memory(net, &image, &size), CLNN_ERR_NONFINITE,
                         "clnn_net_save_to_memory: tensor");
    ck_assert_ptr_null(image);
    /* Finite weights back, a sane rate: results are read again. */
    ck_assert_clnn_ok(clnn_net_load_weights_from_memory(net, good, good_size));
    clnn_free(good);
    ck_assert_clnn_ok(clnn_net_set_lr(net, 0.01));
    ck_assert_clnn_ok(clnn_net_predict(net, x, ROWS, IN, cls, ROWS));
    ck_assert_clnn_ok(clnn_net_metrics_reset(net));
    ck_assert_clnn_ok(clnn_net_train_batch(net, x, ROWS, IN, y, ROWS));
    ck_assert_clnn_ok(clnn_net_read_loss(net, &loss));
    ck_assert_clnn_ok(clnn_net_metrics_read(net, &mean, &acc, NULL));
    ck_assert(isfinite(loss) && isfinite(mean));

    /* Diverged again, then every parameter written back by hand. */
    ck_assert_clnn_ok(clnn_net_set_lr(net, 1e30));
    for (int s = 0; s < 5; s++)
        ck_assert_clnn_ok(clnn_net_train_batch(net, x, ROWS, IN, y, ROWS));
    ck_assert_int_eq(clnn_net_predict(net, x, ROWS, IN, cls, ROWS), CLNN_ERR_NONFINITE);
    clnn_net *fresh = core_net(ctx, IN, SPEC, 12);
    for (size_t t = 0; t < clnn_net_tensor_count(net); t++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(fresh, t, &info));
        size_t bytes = info.numel * (info.dtype == CLNN_DTYPE_I64 ? 8 : 4);
        void *v = malloc(bytes);
        ck_assert_clnn_ok(clnn_net_tensor_read(fresh, t, v, bytes));
        /* Until the last parameter is finite again, predict still refuses. */
        if (t == 0) {
            ck_assert_clnn_ok(clnn_net_tensor_write(net, t, v, bytes));
            ck_assert_int_eq(clnn_net_predict(net, x, ROWS, IN, cls, ROWS), CLNN_ERR_NONFINITE);
        }
        ck_assert_clnn_ok(clnn_net_tensor_write(net, t, v, bytes));
        free(v);
    }
    ck_assert_clnn_ok(clnn_net_predict(net, x, ROWS, IN, cls, ROWS));
    clnn_net_free(fresh);
    clnn_net_free(net);
}
END_TEST

static Suite *model_io_suite(void)
{
    Suite *s = suite_create("core-model-io");
    TCase *tc = tcase_create("model-io");
    tcase_add_test(tc, test_memory_image_is_the_file);
    tcase_add_test(tc, test_metadata);
    tcase_add_loop_test(tc, test_probabilities, 0, 2);
    tcase_add_test(tc, test_layer_info);
    tcase_add_loop_test(tc, test_divergence_is_refused, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(model_io_suite());
}
