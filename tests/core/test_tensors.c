/* A net's structure as the API shows it: the canonical spec (round trip,
 * truncation), the state dict's names, shapes, dtypes and order as PyTorch
 * names them, and the initial values PyTorch's init rules give. */
#include "core_test.h"

#include <stdlib.h>

static clnn_net *unbuilt(size_t in)
{
    clnn_net *net = NULL;
    ck_assert_clnn_ok(clnn_net_create(core_context(CLNN_GEMM_OWN), in, &net));
    return net;
}

START_TEST(test_spec_round_trip)
{
    static const struct {
        const char *given, *canonical;
    } cases[] = {
        {"dense:256,bn,relu,dense:128,bn,relu,dense:10",
         "dense:256,bn,relu,dense:128,bn,relu,dense:10"},
        {" fc1 = dense:17 ,bn1=BatchNorm1d, RELU ,linear:3",
         NULL}, /* spaces around '=' are not allowed in names: see below */
        {"fc1=dense:17,bn1=BatchNorm1d, RELU ,linear:003", "fc1=dense:17,bn1=bn,relu,dense:3"},
        {"Relu", "relu"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clnn_net *net = unbuilt(5);
        clnn_status st = clnn_net_add_layers(net, cases[i].given);
        if (!cases[i].canonical) {
            ck_assert_int_eq(st, CLNN_ERR_SPEC);
            ck_assert_uint_eq(clnn_net_layer_count(net), 0); /* all or nothing */
            clnn_net_free(net);
            continue;
        }
        ck_assert_clnn_ok(st);
        size_t need = clnn_net_spec(net, NULL, 0);
        ck_assert_uint_eq(need, strlen(cases[i].canonical) + 1);
        char *buf = malloc(need);
        ck_assert_uint_eq(clnn_net_spec(net, buf, need), need);
        ck_assert_str_eq(buf, cases[i].canonical);
        /* The canonical spec builds the same stack. */
        clnn_net *again = unbuilt(5);
        ck_assert_clnn_ok(clnn_net_add_layers(again, buf));
        char buf2[128];
        clnn_net_spec(again, buf2, sizeof buf2);
        ck_assert_str_eq(buf2, buf);
        /* A short buffer gets a terminated prefix and the full length. */
        char small[6];
        ck_assert_uint_eq(clnn_net_spec(net, small, sizeof small), need);
        size_t prefix = need - 1 < sizeof small - 1 ? need - 1 : sizeof small - 1;
        ck_assert_uint_eq(strlen(small), prefix);
        ck_assert_int_eq(strncmp(small, buf, prefix), 0);
        free(buf);
        clnn_net_free(again);
        clnn_net_free(net);
    }
}
END_TEST

START_TEST(test_add_functions_match_spec)
{
    clnn_net *a = unbuilt(4), *b = unbuilt(4);
    ck_assert_clnn_ok(clnn_net_add_dense(a, 6, "fc1"));
    ck_assert_clnn_ok(clnn_net_add_batchnorm1d(a, NULL));
    ck_assert_clnn_ok(clnn_net_add_relu(a, "act"));
    ck_assert_clnn_ok(clnn_net_add_dense(a, 2, NULL));
    ck_assert_clnn_ok(clnn_net_add_layers(b, "fc1=dense:6,bn,act=relu,dense:2"));
    char sa[64], sb[64];
    clnn_net_spec(a, sa, sizeof sa);
    clnn_net_spec(b, sb, sizeof sb);
    ck_assert_str_eq(sa, sb);
    ck_assert_uint_eq(clnn_net_layer_count(a), 4);
    ck_assert_uint_eq(clnn_net_in_features(a), 4);
    ck_assert_uint_eq(clnn_net_out_features(a), 2);
    /* Invalid names and a duplicate are refused by the add functions too. */
    ck_assert_fails_with(clnn_net_add_relu(a, "9x"), CLNN_ERR_SPEC, "'9x'");
    ck_assert_fails_with(clnn_net_add_relu(a, "fc1"), CLNN_ERR_SPEC, "'fc1'");
    ck_assert_fails_with(clnn_net_add_dense(a, 0, NULL), CLNN_ERR_SPEC, "out_features");
    ck_assert_fails_with(clnn_net_add_layers(a, "relu,fc1=relu"), CLNN_ERR_SPEC, "'fc1'");
    ck_assert_uint_eq(clnn_net_layer_count(a), 4);
    clnn_net_free(a);
    clnn_net_free(b);
}
END_TEST

typedef struct want_tensor {
    const char *name;
    clnn_dtype dtype;
    size_t ndim, d0, d1;
    bool trainable;
} want_tensor;

static void expect_tensors(const char *spec, size_t in, const want_tensor *want, size_t n)
{
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), in, spec, 1);
    ck_assert_uint_eq(clnn_net_tensor_count(net), n);
    for (size_t i = 0; i < n; i++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(net, i, &info));
        ck_assert_str_eq(info.name, want[i].name);
        ck_assert_int_eq(info.dtype, want[i].dtype);
        ck_assert_uint_eq(info.ndim, want[i].ndim);
        size_t numel = 1;
        if (info.ndim >= 1) {
            ck_assert_uint_eq(info.shape[0], want[i].d0);
            numel = want[i].d0;
        }
        if (info.ndim == 2) {
            ck_assert_uint_eq(info.shape[1], want[i].d1);
            numel *= want[i].d1;
        }
        ck_assert_uint_eq(info.numel, numel);
        ck_assert(info.trainable == want[i].trainable);
        size_t found;
        ck_assert_clnn_ok(clnn_net_tensor_find(net, want[i].name, &found));
        ck_assert_uint_eq(found, i);
    }
    clnn_tensor_info beyond = {.struct_size = sizeof beyond};
    ck_assert_fails_with(clnn_net_tensor_info(net, n, &beyond), CLNN_ERR_INVALID_ARGUMENT,
                         "out of range");
    size_t found;
    ck_assert_fails_with(clnn_net_tensor_find(net, "nope.weight", &found),
                         CLNN_ERR_INVALID_ARGUMENT, "'nope.weight'");
    clnn_net_free(net);
}

START_TEST(test_tensor_names_and_shapes)
{
    const clnn_dtype F = CLNN_DTYPE_F32, I = CLNN_DTYPE_I64;
    /* torch.nn.Sequential numbering: ReLU takes an index but has no tensors. */
    expect_tensors("dense:17,bn,relu,dense:3", 5,
                   (want_tensor[]){{"0.weight", F, 2, 17, 5, true},
                                   {"0.bias", F, 1, 17, 0, true},
                                   {"1.weight", F, 1, 17, 0, true},
                                   {"1.bias", F, 1, 17, 0, true},
                                   {"1.running_mean", F, 1, 17, 0, false},
                                   {"1.running_var", F, 1, 17, 0, false},
                                   {"1.num_batches_tracked", I, 0, 0, 0, false},
                                   {"3.weight", F, 2, 3, 17, true},
                                   {"3.bias", F, 1, 3, 0, true}},
                   9);
    expect_tensors("fc1=dense:4,bn1=bn,relu,out=dense:2", 3,
                   (want_tensor[]){{"fc1.weight", F, 2, 4, 3, true},
                                   {"fc1.bias", F, 1, 4, 0, true},
                                   {"bn1.weight", F, 1, 4, 0, true},
                                   {"bn1.bias", F, 1, 4, 0, true},
                                   {"bn1.running_mean", F, 1, 4, 0, false},
                                   {"bn1.running_var", F, 1, 4, 0, false},
                                   {"bn1.num_batches_tracked", I, 0, 0, 0, false},
                                   {"out.weight", F, 2, 2, 4, true},
                                   {"out.bias", F, 1, 2, 0, true}},
                   9);
    /* A BatchNorm first, unnamed layers after named ones keep their index. */
    expect_tensors("bn,a=relu,dense:1", 1,
                   (want_tensor[]){{"0.weight", F, 1, 1, 0, true},
                                   {"0.bias", F, 1, 1, 0, true},
                                   {"0.running_mean", F, 1, 1, 0, false},
                                   {"0.running_var", F, 1, 1, 0, false},
                                   {"0.num_batches_tracked", I, 0, 0, 0, false},
                                   {"2.weight", F, 2, 1, 1, true},
                                   {"2.bias", F, 1, 1, 0, true}},
                   7);
}
END_TEST

START_TEST(test_initial_values)
{
    /* Linear: weight and bias U(−1/√in, 1/√in); BatchNorm: 1, 0, 0, 1, 0. */
    const size_t in = 257;
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), in, "dense:64,bn,relu,dense:3", 99);
    float bound = (float)(1.0 / sqrt((double)in));
    float *w = core_read(net, "0.weight");
    double mean = 0.0, lo = 1.0, hi = -1.0;
    for (size_t i = 0; i < 64 * in; i++) {
        ck_assert_float_le(fabsf(w[i]), bound);
        mean += w[i];
        lo = w[i] < lo ? w[i] : lo;
        hi = w[i] > hi ? w[i] : hi;
    }
    mean /= 64.0 * (double)in;
    /* 16448 uniform draws: mean within 4.5 sigma (σ = bound/√(3·n) ≈ 2.8e-4)
     * of 0, and the extremes near the bounds. */
    ck_assert_double_lt(fabs(mean), 4.5 * bound / sqrt(3.0 * 64 * (double)in));
    ck_assert_double_lt(lo, -0.99 * bound);
    ck_assert_double_gt(hi, 0.99 * bound);
    float *b = core_read(net, "3.bias");
    for (size_t i = 0; i < 3; i++)
        ck_assert_float_le(fabsf(b[i]), (float)(1.0 / 8.0));
    float *g = core_read(net, "1.weight"), *beta = core_read(net, "1.bias");
    float *rm = core_read(net, "1.running_mean"), *rv = core_read(net, "1.running_var");
    for (size_t i = 0; i < 64; i++) {
        ck_assert_float_eq(g[i], 1.0f);
        ck_assert_float_eq(beta[i], 0.0f);
        ck_assert_float_eq(rm[i], 0.0f);
        ck_assert_float_eq(rv[i], 1.0f);
    }
    int64_t nbt = -1;
    ck_assert_clnn_ok(
        clnn_net_tensor_read(net, core_tensor(net, "1.num_batches_tracked"), &nbt, sizeof nbt));
    ck_assert_int_eq(nbt, 0);

    /* The same seed gives the same values; another seed others. */
    clnn_net *same = core_net(core_context(CLNN_GEMM_OWN), in, "dense:64,bn,relu,dense:3", 99);
    clnn_net *other = core_net(core_context(CLNN_GEMM_OWN), in, "dense:64,bn,relu,dense:3", 100);
    float *ws = core_read(same, "0.weight"), *wo = core_read(other, "0.weight");
    ck_assert_mem_eq(w, ws, 64 * in * sizeof *w);
    ck_assert(memcmp(w, wo, 64 * in * sizeof *w) != 0);
    free(w), free(b), free(g), free(beta), free(rm), free(rv), free(ws), free(wo);
    clnn_net_free(net);
    clnn_net_free(same);
    clnn_net_free(other);
}
END_TEST

START_TEST(test_tensor_write_read_back)
{
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), 3, "dense:4,bn", 1);
    for (size_t t = 0; t < clnn_net_tensor_count(net); t++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(net, t, &info));
        if (info.dtype == CLNN_DTYPE_I64) {
            int64_t v = 123456789012345, back = 0;
            ck_assert_clnn_ok(clnn_net_tensor_write(net, t, &v, sizeof v));
            ck_assert_clnn_ok(clnn_net_tensor_read(net, t, &back, sizeof back));
            ck_assert_int_eq(back, v);
            continue;
        }
        float v[12], back[12];
        for (size_t i = 0; i < info.numel; i++)
            v[i] = (float)(t * 100 + i) + 0.25f;
        ck_assert_clnn_ok(clnn_net_tensor_write(net, t, v, info.numel * sizeof *v));
        ck_assert_clnn_ok(clnn_net_tensor_read(net, t, back, info.numel * sizeof *back));
        ck_assert_mem_eq(v, back, info.numel * sizeof *v);
    }
    /* Writes land in their own tensor: the first is still intact. */
    float w[12];
    ck_assert_clnn_ok(clnn_net_tensor_read(net, 0, w, sizeof w));
    ck_assert_float_eq(w[11], 11.25f);
    clnn_net_free(net);
}
END_TEST

static Suite *tensors_suite(void)
{
    Suite *s = suite_create("core-tensors");
    TCase *tc = tcase_create("tensors");
    tcase_add_test(tc, test_spec_round_trip);
    tcase_add_test(tc, test_add_functions_match_spec);
    tcase_add_test(tc, test_tensor_names_and_shapes);
    tcase_add_test(tc, test_initial_values);
    tcase_add_test(tc, test_tensor_write_read_back);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(tensors_suite());
}
