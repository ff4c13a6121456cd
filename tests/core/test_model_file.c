/* Model files: save, load and load_weights round trips are exact (every
 * tensor bit for bit, the spec, the outputs), and a file whose tensors do
 * not fit the network is refused with CLNN_ERR_SHAPE without changing any
 * weight. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf */
#endif
#include "core_test.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const SPEC = "fc1=dense:9,bn,relu,dense:4";
#define IN 5

static char *path_in(const char *dir, const char *file)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, file), 0);
    return p;
}

/* A net moved away from its initial state: trained a few steps, so
 * parameters, running statistics and the counter all differ from init. */
static clnn_net *trained_net(clnn_context *ctx, const char *spec, size_t in)
{
    clnn_net *net = core_net(ctx, in, spec, 31);
    clnn_optimizer_options o;
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
    o.lr = 0.1, o.momentum = 0.9;
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &o));
    core_rng r = core_rng_make(32);
    float x[8 * 16];
    int32_t labels[8];
    for (int s = 0; s < 3; s++) {
        core_fill(x, 8 * in, -1, 1, &r);
        core_fill_labels(labels, 8, clnn_net_out_features(net), &r);
        ck_assert_clnn_ok(clnn_net_train_batch(net, x, 8, clnn_net_in_features(net), labels, 8));
    }
    return net;
}

/* Every tensor of a and b (same structure) is bitwise equal. */
static void expect_same_tensors(clnn_net *a, clnn_net *b)
{
    ck_assert_uint_eq(clnn_net_tensor_count(a), clnn_net_tensor_count(b));
    for (size_t t = 0; t < clnn_net_tensor_count(a); t++) {
        clnn_tensor_info ia = {.struct_size = sizeof ia}, ib = {.struct_size = sizeof ib};
        ck_assert_clnn_ok(clnn_net_tensor_info(a, t, &ia));
        ck_assert_clnn_ok(clnn_net_tensor_info(b, t, &ib));
        ck_assert_str_eq(ia.name, ib.name);
        size_t bytes = ia.numel * (ia.dtype == CLNN_DTYPE_I64 ? 8 : 4);
        void *va = malloc(bytes), *vb = malloc(bytes);
        ck_assert_clnn_ok(clnn_net_tensor_read(a, t, va, bytes));
        ck_assert_clnn_ok(clnn_net_tensor_read(b, t, vb, bytes));
        ck_assert_msg(memcmp(va, vb, bytes) == 0, "tensor %s differs", ia.name);
        free(va);
        free(vb);
    }
}

/* SPEC, and the activations: a file without their options (LeakyReLU's
 * slope, in clnn.spec only) would load as another network. */
static const char *const round_trip_specs[] = {
    SPEC, "dense:9,leakyrelu:0.3,gelu,dense:6,tanh,leakyrelu,sigmoid,silu,dense:4"};

START_TEST(test_save_load_round_trip)
{
    const char *spec = round_trip_specs[_i];
    clnn_context *ctx = core_context(CLNN_GEMM_OWN);
    char *dir = core_tmpdir(), *path = path_in(dir, "model.safetensors");
    clnn_net *net = trained_net(ctx, spec, IN);
    ck_assert_clnn_ok(clnn_net_save(net, path));

    clnn_net *loaded = NULL;
    ck_assert_clnn_ok(clnn_net_load(ctx, path, NULL, &loaded));
    char sa[160], sb[160];
    clnn_net_spec(net, sa, sizeof sa);
    clnn_net_spec(loaded, sb, sizeof sb);
    ck_assert_str_eq(sb, sa);
    ck_assert_str_eq(sa, spec);
    ck_assert_uint_eq(clnn_net_in_features(loaded), IN);
    expect_same_tensors(net, loaded);

    /* Same state, same eval outputs, bit for bit. */
    core_rng r = core_rng_make(33);
    float x[6 * IN], ya[6 * 4], yb[6 * 4];
    core_fill(x, 6 * IN, -1, 1, &r);
    ck_assert_clnn_ok(clnn_net_set_training(net, false));
    ck_assert_clnn_ok(clnn_net_set_training(loaded, false));
    ck_assert_clnn_ok(clnn_net_forward(net, x, 6, clnn_net_in_features(net)));
    ck_assert_clnn_ok(clnn_net_forward(loaded, x, 6, clnn_net_in_features(loaded)));
    ck_assert_clnn_ok(clnn_net_read_output(net, ya, 6 * 4));
    ck_assert_clnn_ok(clnn_net_read_output(loaded, yb, 6 * 4));
    ck_assert_mem_eq(ya, yb, sizeof ya);

    /* load_weights into a fresh net of the same spec. */
    clnn_net *fresh = core_net(ctx, IN, spec, 1);
    ck_assert_clnn_ok(clnn_net_load_weights(fresh, path));
    expect_same_tensors(net, fresh);

    /* Saving over an existing file replaces it. */
    ck_assert_clnn_ok(clnn_net_save(fresh, path));
    clnn_net_free(fresh);
    clnn_net_free(loaded);
    clnn_net_free(net);
    core_rmtree(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_load_weights_shape_mismatch)
{
    clnn_context *ctx = core_context(CLNN_GEMM_OWN);
    char *dir = core_tmpdir();
    char *wider = path_in(dir, "wider.safetensors"), *other = path_in(dir, "other.safetensors");
    /* Same names, one shape differs (fc1 has 10 units, not 9). */
    clnn_net *w = trained_net(ctx, "fc1=dense:10,bn,relu,dense:4", IN);
    ck_assert_clnn_ok(clnn_net_save(w, wider));
    /* Different names altogether. */
    clnn_net *o = trained_net(ctx, "dense:9,bn,relu,dense:4", IN);
    ck_assert_clnn_ok(clnn_net_save(o, other));

    clnn_net *net = trained_net(ctx, SPEC, IN);
    clnn_net *copy = trained_net(ctx, SPEC, IN); /* the same state, for comparison */
    expect_same_tensors(net, copy);
    ck_assert_fails_with(clnn_net_load_weights(net, wider), CLNN_ERR_SHAPE, "fc1.weight");
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "[10, 5]"));
    expect_same_tensors(net, copy);
    ck_assert_fails_with(clnn_net_load_weights(net, other), CLNN_ERR_SHAPE, "fc1.weight");
    expect_same_tensors(net, copy);

    /* A file that does not exist is an I/O error, not a shape error. */
    char *missing = path_in(dir, "missing.safetensors");
    clnn_status st = clnn_net_load_weights(net, missing);
    ck_assert_msg(st == CLNN_ERR_IO, "missing file gave %s", clnn_status_name(st));
    expect_same_tensors(net, copy);

    clnn_net_free(w);
    clnn_net_free(o);
    clnn_net_free(net);
    clnn_net_free(copy);
    core_rmtree(dir);
    free(wider), free(other), free(missing), free(dir);
}
END_TEST

static Suite *model_file_suite(void)
{
    Suite *s = suite_create("core-model-file");
    TCase *tc = tcase_create("model-file");
    tcase_add_loop_test(tc, test_save_load_round_trip, 0,
                        (int)(sizeof round_trip_specs / sizeof round_trip_specs[0]));
    tcase_add_test(tc, test_load_weights_shape_mismatch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(model_file_suite());
}
