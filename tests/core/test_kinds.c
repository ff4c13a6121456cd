/* The table of layer kinds and what the driver builds from it: every kind
 * found by its names, the plan's fusion decisions (from what the kinds say
 * they can share, never from their names), the parameter ranges data
 * parallelism sums, and the host values a kind keeps in checkpoints. */
#include "core_test.h"
#include "net/net_internal.h"

#include <stdio.h>
#include <stdlib.h>

START_TEST(test_every_kind_found_by_its_names)
{
    char help[512];
    clnn__layer_kinds_help(help, sizeof help);
    for (size_t k = 0; k < CLNN__LAYER_KIND_COUNT; k++) {
        const clnn__layer_class *c = clnn__layer_classes[k];
        ck_assert_ptr_nonnull(c);
        ck_assert(c->name && c->info_name && c->usage && c->forward && c->backward);
        ck_assert_str_eq(clnn__layer_kind_name((clnn__layer_kind)k), c->name);
        clnn__layer_kind found;
        ck_assert(clnn__layer_kind_find(c->name, strlen(c->name), &found));
        ck_assert_uint_eq(found, k); /* a name two kinds shared would find the first */
        for (const char *const *a = c->aliases; a && *a; a++) {
            ck_assert(clnn__layer_kind_find(*a, strlen(*a), &found));
            ck_assert_uint_eq(found, k);
        }
        ck_assert_msg(strstr(help, c->usage), "help \"%s\" lacks \"%s\"", help, c->usage);
    }
    clnn__layer_kind found;
    ck_assert(!clnn__layer_kind_find("frob", 4, &found));
}
END_TEST

static clnn_status sum_nothing(float *data, size_t count, void *user)
{
    return CLNN_OK;
}

/* dense → bn → relu → dense: the BatchNorm runs the ReLU and sums the
 * first dense layer's bias gradient, the loss sums the last one's; with
 * synchronised statistics, in training only, the BatchNorm does neither. */
START_TEST(test_plan_fusion)
{
    clnn_context *ctx = core_context(CLNN_GEMM_OWN);
    clnn_net *net = core_net(ctx, 5, "dense:8,bn,relu,dense:3", 1);
    float x[2 * 5] = {0};
    ck_assert_clnn_ok(clnn_net_forward(net, x, 2, 5)); /* plans */
    const clnn__net_layer *L = net->layers;
    for (int training = 0; training < 2; training++) {
        ck_assert(L[0].plan[training].bias_grad_elsewhere);
        ck_assert(L[1].plan[training].runs_next);
        ck_assert_int_ge(L[1].plan[training].prev_bias_grad, 0);
        ck_assert(L[2].plan[training].run_by_prev);
        ck_assert(L[3].plan[training].bias_grad_elsewhere);
        ck_assert(L[3].plan[training].pair_grads);
    }
    ck_assert_int_ge(net->loss_bias_grad, 0);
    ck_assert(net->loss_bias_grad != L[1].plan[1].prev_bias_grad);

    clnn_parallel_options p;
    clnn_parallel_options_init(&p);
    p.allreduce = sum_nothing;
    p.sync_batchnorm = true;
    ck_assert_clnn_ok(clnn_net_set_parallel(net, &p));
    ck_assert_clnn_ok(clnn_net_train_shard(net, x, 2, 5, (int32_t[]){0, 1}, 2, 2));
    ck_assert(!L[0].plan[1].bias_grad_elsewhere);
    ck_assert(!L[1].plan[1].runs_next);
    ck_assert_int_lt(L[1].plan[1].prev_bias_grad, 0);
    ck_assert(!L[2].plan[1].run_by_prev);
    ck_assert(L[1].plan[0].runs_next); /* evaluation keeps its own statistics */
    clnn_net_free(net);

    ck_assert_int_eq(setenv("CLNN_NO_FUSION", "1", 1), 0); /* read by clnn_net_create */
    net = core_net(ctx, 5, "dense:8,bn,relu,dense:3", 1);
    ck_assert_int_eq(unsetenv("CLNN_NO_FUSION"), 0);
    ck_assert_clnn_ok(clnn_net_forward(net, x, 2, 5));
    for (size_t i = 0; i < net->nlayers; i++) {
        const clnn__layer_plan *q = &net->layers[i].plan[1];
        ck_assert(!q->runs_next && !q->run_by_prev && !q->bias_grad_elsewhere && !q->pair_grads);
        ck_assert_int_lt(q->prev_bias_grad, 0);
    }
    ck_assert_int_lt(net->loss_bias_grad, 0);
    clnn_net_free(net);
}
END_TEST

/* Each layer's range is what its parameters span; a kind without
 * parameters has none (and so no allreduce of somebody else's). */
START_TEST(test_parameter_ranges)
{
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), 5, "relu,dense:8,bn,relu,dense:3", 1);
    const char *const tensors[][2] = {{NULL, NULL},
                                      {"1.weight", "1.bias"},
                                      {"2.weight", "2.bias"},
                                      {NULL, NULL},
                                      {"4.weight", "4.bias"}};
    for (size_t i = 0; i < net->nlayers; i++) {
        const clnn__net_layer *l = &net->layers[i];
        ck_assert_int_eq(l->has_params, tensors[i][0] != NULL);
        if (!tensors[i][0])
            continue;
        size_t begin = SIZE_MAX, end = 0;
        for (int j = 0; j < 2; j++) {
            const clnn__tensor *t = &net->tensors[core_tensor(net, tensors[i][j])];
            begin = CLNN__MIN(begin, t->offset);
            end = CLNN__MAX(end, t->offset + t->numel);
        }
        ck_assert_uint_eq(l->param_begin, begin);
        ck_assert_uint_eq(l->param_end, end);
    }
    clnn_net_free(net);
}
END_TEST

/* A kind with a host value to resume from, as a random stream's position:
 * the ReLU's interface with a checkpoint entry added. */
static int64_t position;

static size_t keeps_position(clnn__layer *l, clnn__host_value out[CLNN__LAYER_VALUES_MAX])
{
    out[0] = (clnn__host_value){"position", &position};
    return 1;
}

static char *path_in(const char *dir, const char *file)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, file), 0);
    return p;
}

START_TEST(test_checkpoint_keeps_host_values)
{
    clnn_context *ctx = core_context(CLNN_GEMM_OWN);
    clnn__layer_class positioned = *clnn__layer_classes[CLNN__LAYER_RELU];
    positioned.checkpoint = keeps_position;
    clnn_net *net = core_net(ctx, 5, "dense:8,relu,dense:3", 1);
    char *dir = core_tmpdir(), *with = path_in(dir, "with.safetensors"),
         *without = path_in(dir, "without.safetensors"), *model = path_in(dir, "m.safetensors");
    ck_assert_clnn_ok(clnn_net_save_checkpoint(net, without, NULL, 0));

    net->layers[1].l.cls = &positioned;
    position = 12345;
    ck_assert_clnn_ok(clnn_net_save_checkpoint(net, with, NULL, 0));
    ck_assert_clnn_ok(clnn_net_save(net, model));
    position = 0;
    ck_assert_clnn_ok(clnn_net_load_checkpoint(net, with));
    ck_assert_int_eq(position, 12345);
    /* A checkpoint from before the value existed is refused, naming it. */
    position = 7;
    ck_assert_fails_with(clnn_net_load_checkpoint(net, without), CLNN_ERR_BAD_FILE,
                         "clnn.layers.1.position");
    ck_assert_int_eq(position, 7);
    /* Models leave it out: they load strictly into a stack without it. */
    net->layers[1].l.cls = clnn__layer_classes[CLNN__LAYER_RELU];
    ck_assert_clnn_ok(clnn_net_load_weights(net, model));
    ck_assert_clnn_ok(clnn_net_load_weights(net, with));
    clnn_net_free(net);
    core_rmtree(dir);
    free(dir);
    free(with);
    free(without);
    free(model);
}
END_TEST

/* BatchNorm's options in the plan: affine=false sends its own parameter
 * gradients to scratch, so the dense bias gradient before it is the dense
 * layer's own; the ReLU still runs inside it. Other options change
 * neither decision. */
START_TEST(test_plan_with_bn_options)
{
    clnn_context *ctx = core_context(CLNN_GEMM_OWN);
    float x[2 * 5] = {0};
    const struct {
        const char *spec;
        bool sums_dx;
    } cases[] = {{"dense:8,bn:affine=false,relu,dense:3", false},
                 {"dense:8,bn:momentum=none,eps=0.01,track_running_stats=false,relu,dense:3", true}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        clnn_net *net = core_net(ctx, 5, cases[c].spec, 1);
        ck_assert_clnn_ok(clnn_net_forward(net, x, 2, 5)); /* plans */
        const clnn__net_layer *L = net->layers;
        for (int training = 0; training < 2; training++) {
            ck_assert(L[1].plan[training].runs_next);
            ck_assert(L[2].plan[training].run_by_prev);
            ck_assert_int_eq(L[0].plan[training].bias_grad_elsewhere, cases[c].sums_dx);
            ck_assert_int_eq(L[1].plan[training].prev_bias_grad >= 0, cases[c].sums_dx);
        }
        clnn_net_free(net);
    }
}
END_TEST

/* LayerNorm's weight and bias make its range; a BatchNorm with
 * affine=false has none. */
START_TEST(test_parameter_ranges_of_norms)
{
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), 5,
                             "dense:8,bn:affine=false,layernorm,bn:track_running_stats=false", 1);
    const bool has[] = {true, false, true, true};
    for (size_t i = 0; i < net->nlayers; i++)
        ck_assert_int_eq(net->layers[i].has_params, has[i]);
    for (size_t i = 2; i < 4; i++) {
        char w[32], b[32];
        snprintf(w, sizeof w, "%zu.weight", i);
        snprintf(b, sizeof b, "%zu.bias", i);
        const clnn__tensor *tw = &net->tensors[core_tensor(net, w)];
        const clnn__tensor *tb = &net->tensors[core_tensor(net, b)];
        ck_assert_uint_eq(net->layers[i].param_begin, tw->offset);
        ck_assert_uint_eq(net->layers[i].param_end, tb->offset + tb->numel);
    }
    /* PyTorch's state dict: 0.weight, 0.bias, 1.running_mean, 1.running_var,
     * 1.num_batches_tracked, 2.weight, 2.bias, 3.weight, 3.bias. */
    ck_assert_uint_eq(clnn_net_tensor_count(net), 9);
    size_t at;
    ck_assert_int_eq(clnn_net_tensor_find(net, "1.weight", &at), CLNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clnn_net_tensor_find(net, "3.running_mean", &at), CLNN_ERR_INVALID_ARGUMENT);
    ck_assert_clnn_ok(clnn_net_tensor_find(net, "1.num_batches_tracked", &at));
    clnn_net_free(net);
}
END_TEST

/* Options go into model files and checkpoints with the spec: a model
 * loaded from either has the same spec and tensors, and a resumed run
 * takes the same steps (momentum=none depends on num_batches_tracked). */
START_TEST(test_bn_options_round_trip)
{
    clnn_context *ctx = core_context(CLNN_GEMM_OWN);
    const char *spec = "dense:8,n=bn:eps=0.001,momentum=none,affine=false,layernorm,"
                       "bn:momentum=0.05,track_running_stats=false,relu,dense:3";
    clnn_net *net = core_net(ctx, 5, spec, 1);
    core_rng r = core_rng_make(5);
    float x[6 * 5];
    int32_t y[6];
    for (int step = 0; step < 3; step++) {
        core_fill(x, 6 * 5, -1, 1, &r);
        core_fill_labels(y, 6, 3, &r);
        ck_assert_clnn_ok(clnn_net_train_batch(net, x, 6, 5, y, 6));
    }
    char got[256];
    clnn_net_spec(net, got, sizeof got);
    ck_assert_str_eq(got, spec);
    char *dir = core_tmpdir(), *model = path_in(dir, "m.safetensors"),
         *ckpt = path_in(dir, "m.ckpt");
    ck_assert_clnn_ok(clnn_net_save(net, model));
    ck_assert_clnn_ok(clnn_net_save_checkpoint(net, ckpt, NULL, 0));
    clnn_net *loaded, *resumed;
    ck_assert_clnn_ok(clnn_net_load(ctx, model, NULL, &loaded));
    ck_assert_clnn_ok(clnn_net_load(ctx, ckpt, NULL, &resumed));
    ck_assert_clnn_ok(clnn_net_load_checkpoint(resumed, ckpt));
    clnn_net_spec(loaded, got, sizeof got);
    ck_assert_str_eq(got, spec);
    clnn_net_spec(resumed, got, sizeof got);
    ck_assert_str_eq(got, spec);
    size_t n, m;
    float *a = core_read_all(net, false, false, &n), *b = core_read_all(loaded, false, false, &m);
    ck_assert_uint_eq(n, m);
    ck_assert_mem_eq(a, b, n * sizeof *a);
    free(b);
    int64_t nbt[2];
    ck_assert_clnn_ok(clnn_net_tensor_read(net, core_tensor(net, "n.num_batches_tracked"), &nbt[0],
                                           sizeof nbt[0]));
    ck_assert_clnn_ok(clnn_net_tensor_read(resumed, core_tensor(resumed, "n.num_batches_tracked"),
                                           &nbt[1], sizeof nbt[1]));
    ck_assert_int_eq(nbt[0], 3);
    ck_assert_int_eq(nbt[1], 3);
    core_fill(x, 6 * 5, -1, 1, &r);
    core_fill_labels(y, 6, 3, &r);
    ck_assert_clnn_ok(clnn_net_train_batch(net, x, 6, 5, y, 6));
    ck_assert_clnn_ok(clnn_net_train_batch(resumed, x, 6, 5, y, 6));
    free(a);
    a = core_read_all(net, false, false, &n);
    b = core_read_all(resumed, false, false, &m);
    ck_assert_mem_eq(a, b, n * sizeof *a);
    free(a), free(b);

    /* Without running statistics eval normalises with the batch's, which
     * one row does not have. */
    ck_assert_clnn_ok(clnn_net_set_training(loaded, false));
    ck_assert_fails_with(clnn_net_forward(loaded, x, 1, 5), CLNN_ERR_BATCH_TOO_SMALL,
                         "track_running_stats=false");
    ck_assert_clnn_ok(clnn_net_forward(loaded, x, 2, 5));
    clnn_net_free(net);
    clnn_net_free(loaded);
    clnn_net_free(resumed);
    core_rmtree(dir);
    free(dir), free(model), free(ckpt);
}
END_TEST

static Suite *kinds_suite(void)
{
    Suite *s = suite_create("core-kinds");
    TCase *tc = tcase_create("kinds");
    tcase_add_test(tc, test_every_kind_found_by_its_names);
    tcase_add_test(tc, test_plan_fusion);
    tcase_add_test(tc, test_parameter_ranges);
    tcase_add_test(tc, test_checkpoint_keeps_host_values);
    tcase_add_test(tc, test_plan_with_bn_options);
    tcase_add_test(tc, test_parameter_ranges_of_norms);
    tcase_add_test(tc, test_bn_options_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(kinds_suite());
}
