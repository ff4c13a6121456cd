/* Every call that reads or writes a caller's array takes its size and
 * refuses one that does not match the network with CLNN_ERR_SHAPE and a
 * message naming the argument, what was given and what is needed. The
 * arrays are heap blocks of exactly the size given, so that the ASan build
 * (meson test -C build-asan --setup asan --suite core) fails on any read or
 * write past them; a refused call must also leave the network usable. */
#include "core_test.h"

#include <stdlib.h>

#define IN 10
#define OUT 3
#define ROWS 4
#define SPEC "dense:6,bn,relu,dense:3"

/* An exact-size copy of n floats (or ints), filled with small values. */
static float *floats(size_t n)
{
    float *p = malloc(n * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((int)(i % 7) - 3) / 4.0f;
    return p;
}

static int32_t *labels(size_t n)
{
    int32_t *p = malloc(n * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (int32_t)(i % OUT);
    return p;
}

/* Rows of 8 features for a net of 10: the call must read none of them. */
START_TEST(test_inputs_of_the_wrong_width)
{
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), IN, SPEC, 1);
    float *x8 = floats(ROWS * 8);
    int32_t *y = labels(ROWS), cls[ROWS];
    float out[ROWS * OUT];
    double loss, acc;
    const char *want = "x has 8 features per row (the features argument) but the network takes 10";
    ck_assert_fails_with(clnn_net_forward(net, x8, ROWS, 8), CLNN_ERR_SHAPE, want);
    ck_assert_fails_with(clnn_net_train_batch(net, x8, ROWS, 8, y, ROWS), CLNN_ERR_SHAPE, want);
    ck_assert_fails_with(clnn_net_train_shard(net, x8, ROWS, 8, y, ROWS, ROWS), CLNN_ERR_SHAPE,
                         want);
    ck_assert_fails_with(clnn_net_set_data(net, x8, ROWS, 8, y, ROWS), CLNN_ERR_SHAPE, want);
    ck_assert_fails_with(clnn_net_evaluate(net, x8, ROWS, 8, y, ROWS, 2, &loss, &acc),
                         CLNN_ERR_SHAPE, want);
    ck_assert_fails_with(clnn_net_predict(net, x8, ROWS, 8, cls, ROWS), CLNN_ERR_SHAPE, want);
    ck_assert_fails_with(
        clnn_net_predict_output(net, x8, ROWS, 8, CLNN_OUTPUT_LOGITS, out, ROWS * OUT),
        CLNN_ERR_SHAPE, want);
    /* Each names its call. */
    ck_assert_fails_with(clnn_net_predict(net, x8, ROWS, 8, cls, ROWS), CLNN_ERR_SHAPE,
                         "clnn_net_predict: x has 8");
    /* 12 features is as wrong as 8. */
    float *x12 = floats(ROWS * 12);
    ck_assert_fails_with(clnn_net_forward(net, x12, ROWS, 12), CLNN_ERR_SHAPE, "x has 12 features");
    /* Nothing ran: no forward to read. */
    ck_assert_int_eq(clnn_net_read_output(net, out, ROWS * OUT), CLNN_ERR_STATE);
    free(x8), free(x12), free(y);
    clnn_net_free(net);
}
END_TEST

/* Labels and outputs one short or one long of the rows. */
START_TEST(test_counts_that_do_not_match_the_rows)
{
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), IN, SPEC, 2);
    float *x = floats(ROWS * IN);
    int32_t *short_y = labels(ROWS - 1), *y = labels(ROWS);
    double loss, acc;
    const char *want = "labels has 3 entries (its count argument) but the call needs 4";
    ck_assert_fails_with(clnn_net_train_batch(net, x, ROWS, IN, short_y, ROWS - 1), CLNN_ERR_SHAPE,
                         want);
    ck_assert_fails_with(clnn_net_train_shard(net, x, ROWS, IN, short_y, ROWS - 1, ROWS),
                         CLNN_ERR_SHAPE, want);
    ck_assert_fails_with(clnn_net_set_data(net, x, ROWS, IN, short_y, ROWS - 1), CLNN_ERR_SHAPE,
                         want);
    ck_assert_fails_with(clnn_net_evaluate(net, x, ROWS, IN, short_y, ROWS - 1, 2, &loss, &acc),
                         CLNN_ERR_SHAPE, want);
    ck_assert_clnn_ok(clnn_net_forward(net, x, ROWS, IN));
    ck_assert_fails_with(clnn_net_backward(net, short_y, ROWS - 1), CLNN_ERR_SHAPE,
                         "clnn_net_backward: labels has 3 entries");
    ck_assert_fails_with(clnn_net_backward(net, y, ROWS + 1), CLNN_ERR_SHAPE, "has 5 entries");

    int32_t *short_cls = malloc((ROWS - 1) * sizeof *short_cls);
    float *short_out = malloc((ROWS * OUT - 1) * sizeof *short_out);
    ck_assert(short_cls && short_out);
    ck_assert_fails_with(clnn_net_predict(net, x, ROWS, IN, short_cls, ROWS - 1), CLNN_ERR_SHAPE,
                         "classes has 3 entries (its count argument) but the call needs 4");
    ck_assert_fails_with(clnn_net_predict_output(net, x, ROWS, IN, CLNN_OUTPUT_PROBABILITIES,
                                                 short_out, ROWS * OUT - 1),
                         CLNN_ERR_SHAPE,
                         "out has 11 entries (its count argument) but the call "
                         "needs 12: 4 rows × 3 outputs");
    ck_assert_fails_with(clnn_net_read_output(net, short_out, ROWS * OUT - 1), CLNN_ERR_SHAPE,
                         "dst has 11 entries");
    ck_assert_fails_with(clnn_net_layer_output_read(net, 0, short_out, ROWS * 6 - 13),
                         CLNN_ERR_SHAPE, "layer 0's output of the last forward is 4 × 6");

    /* Byte counts of tensors and gradients, one float short. */
    size_t w = core_tensor(net, "0.weight");
    float *short_w = malloc((6 * IN - 1) * sizeof *short_w);
    ck_assert_ptr_nonnull(short_w);
    ck_assert_fails_with(clnn_net_tensor_read(net, w, short_w, (6 * IN - 1) * sizeof(float)),
                         CLNN_ERR_SHAPE, "'0.weight' has 240 bytes, buffer has 236");
    ck_assert_fails_with(clnn_net_tensor_write(net, w, short_w, (6 * IN - 1) * sizeof(float)),
                         CLNN_ERR_SHAPE, "'0.weight' has 240 bytes");
    ck_assert_clnn_ok(clnn_net_backward(net, y, ROWS));
    ck_assert_fails_with(clnn_net_grad_read(net, w, short_w, (6 * IN - 1) * sizeof(float)),
                         CLNN_ERR_SHAPE, "'0.weight' has 240 bytes");

    /* The same calls with the right sizes work on the same net. */
    int32_t *cls = malloc(ROWS * sizeof *cls);
    float *out = malloc(ROWS * OUT * sizeof *out);
    ck_assert(cls && out);
    ck_assert_clnn_ok(clnn_net_train_batch(net, x, ROWS, IN, y, ROWS));
    ck_assert_clnn_ok(clnn_net_evaluate(net, x, ROWS, IN, y, ROWS, 3, &loss, &acc));
    ck_assert_clnn_ok(clnn_net_predict(net, x, ROWS, IN, cls, ROWS));
    ck_assert_clnn_ok(
        clnn_net_predict_output(net, x, ROWS, IN, CLNN_OUTPUT_LOGITS, out, ROWS * OUT));
    ck_assert_clnn_ok(clnn_net_set_data(net, x, ROWS, IN, y, ROWS));
    free(x), free(short_y), free(y), free(short_cls), free(short_out), free(short_w), free(cls),
        free(out);
    clnn_net_free(net);
}
END_TEST

/* Calls that copy text into a caller's buffer write at most cap bytes and
 * say what they need (or refuse, where the text cannot be cut). */
START_TEST(test_text_buffers)
{
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), IN, SPEC, 3);
    size_t need = clnn_net_spec(net, NULL, 0);
    ck_assert_uint_eq(need, strlen(SPEC) + 1);
    char *buf = malloc(5);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(clnn_net_spec(net, buf, 5), need);
    ck_assert_str_eq(buf, "dens");

    ck_assert_clnn_ok(clnn_net_set_metadata(net, "classes", "cat,dog,bird"));
    ck_assert_uint_eq(clnn_net_metadata(net, "classes", buf, 5), 13);
    ck_assert_str_eq(buf, "cat,");
    ck_assert_uint_eq(clnn_net_metadata_key(net, 0, buf, 5), 8);
    ck_assert_str_eq(buf, "clas");
    free(buf);

    /* A file's metadata value does not fit: refused, nothing written past cap. */
    char *dir = core_tmpdir(), path[4096];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    ck_assert_clnn_ok(clnn_net_save(net, path));
    char *small = malloc(4);
    ck_assert_ptr_nonnull(small);
    ck_assert_fails_with(clnn_file_metadata(path, "classes", small, 4), CLNN_ERR_SHAPE,
                         "value has room for 4 bytes (cap) but metadata 'classes'");
    ck_assert_fails_with(clnn_file_metadata(path, "clnn.in_features", small, 2), CLNN_ERR_SHAPE,
                         "needs 3");
    ck_assert_clnn_ok(clnn_file_metadata(path, "clnn.in_features", small, 3));
    ck_assert_str_eq(small, "10");
    free(small);

    /* The tuning file's path (src/gemm) refuses a short buffer too. */
    char *tiny = malloc(4);
    ck_assert_ptr_nonnull(tiny);
    ck_assert_fails_with(clnn_context_tuning_file(core_context(CLNN_GEMM_OWN), tiny, 4),
                         CLNN_ERR_SHAPE, "but the buffer (cap) holds 4");
    free(tiny);
    core_rmtree(dir);
    free(dir);
    clnn_net_free(net);
}
END_TEST

/* Model images in memory: nothing is read past size, and a size one short
 * is a damaged file. */
START_TEST(test_memory_images)
{
    clnn_context *ctx = core_context(CLNN_GEMM_OWN);
    clnn_net *net = core_net(ctx, IN, SPEC, 4);
    void *image = NULL;
    size_t size = 0;
    ck_assert_clnn_ok(clnn_net_save_to_memory(net, &image, &size));
    uint8_t *exact = malloc(size);
    ck_assert_ptr_nonnull(exact);
    memcpy(exact, image, size);
    clnn_free(image);
    clnn_net *loaded = NULL;
    ck_assert_fails_with(clnn_net_load_from_memory(ctx, exact, size - 1, NULL, &loaded),
                         CLNN_ERR_BAD_FILE, "is not a valid safetensors file");
    ck_assert_ptr_null(loaded);
    ck_assert_fails_with(clnn_net_load_weights_from_memory(net, exact, size - 1), CLNN_ERR_BAD_FILE,
                         "clnn_net_load_weights_from_memory");
    ck_assert_clnn_ok(clnn_net_load_from_memory(ctx, exact, size, NULL, &loaded));
    ck_assert_clnn_ok(clnn_net_load_weights_from_memory(net, exact, size));
    free(exact);
    clnn_net_free(loaded);
    clnn_net_free(net);
}
END_TEST

static Suite *sizes_suite(void)
{
    Suite *s = suite_create("core-sizes");
    TCase *tc = tcase_create("sizes");
    tcase_add_test(tc, test_inputs_of_the_wrong_width);
    tcase_add_test(tc, test_counts_that_do_not_match_the_rows);
    tcase_add_test(tc, test_text_buffers);
    tcase_add_test(tc, test_memory_images);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(sizes_suite());
}
