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

static Suite *kinds_suite(void)
{
    Suite *s = suite_create("core-kinds");
    TCase *tc = tcase_create("kinds");
    tcase_add_test(tc, test_every_kind_found_by_its_names);
    tcase_add_test(tc, test_plan_fusion);
    tcase_add_test(tc, test_parameter_ranges);
    tcase_add_test(tc, test_checkpoint_keeps_host_values);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(kinds_suite());
}
