/* Error paths of the net API: wrong byte counts and shapes, labels out of
 * range, non-finite input, calls in the wrong state, invalid optimizer
 * options. Each must return its status with a message that names the cause,
 * and leave the net usable. */
#include "core_test.h"

#include <float.h>
#include <stdlib.h>

/* With torch.optim.SGD's defaults: training needs an optimizer chosen. */
static clnn_net *small_net(void)
{
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), 3, "dense:4,bn,relu,dense:2", 1);
    clnn_optimizer_options o;
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &o));
    return net;
}

START_TEST(test_byte_counts)
{
    clnn_net *net = small_net();
    float buf[64] = {0};
    size_t w = core_tensor(net, "0.weight"); /* 4 × 3 floats */
    ck_assert_fails_with(clnn_net_tensor_write(net, w, buf, 11 * sizeof(float)), CLNN_ERR_SHAPE,
                         "'0.weight' has 48 bytes");
    ck_assert_fails_with(clnn_net_tensor_read(net, w, buf, 13 * sizeof(float)), CLNN_ERR_SHAPE,
                         "'0.weight'");
    ck_assert_fails_with(clnn_net_tensor_write(net, w, buf, 12), CLNN_ERR_SHAPE, "buffer has 12");
    /* The counter is an int64: 4 bytes is not enough. */
    size_t nbt = core_tensor(net, "1.num_batches_tracked");
    ck_assert_fails_with(clnn_net_tensor_write(net, nbt, buf, 4), CLNN_ERR_SHAPE,
                         "num_batches_tracked");
    ck_assert_fails_with(clnn_net_tensor_write(net, w, NULL, 48), CLNN_ERR_INVALID_ARGUMENT,
                         "NULL");
    ck_assert_fails_with(clnn_net_tensor_read(net, 99, buf, 4), CLNN_ERR_INVALID_ARGUMENT,
                         "out of range");

    float x[2 * 3] = {0.1f, 0.2f, 0.3f, -0.4f, 0.5f, -0.6f};
    int32_t labels[2] = {0, 1};
    ck_assert_clnn_ok(clnn_net_forward(net, x, 2, 3));
    ck_assert_clnn_ok(clnn_net_backward(net, labels, 2));
    /* Layer 0 of a batch of 2 has 2 × 4 values. */
    ck_assert_fails_with(clnn_net_layer_output_read(net, 0, buf, 7), CLNN_ERR_SHAPE,
                         "2 × 4");
    ck_assert_fails_with(clnn_net_layer_output_read(net, 0, buf, 9), CLNN_ERR_SHAPE,
                         "dst has 9 entries");
    ck_assert_fails_with(clnn_net_read_output(net, buf, 2 * 3), CLNN_ERR_SHAPE, "2 × 2");
    ck_assert_fails_with(clnn_net_layer_output_read(net, 4, buf, 8), CLNN_ERR_INVALID_ARGUMENT,
                         "layer 4");
    ck_assert_fails_with(clnn_net_grad_read(net, w, buf, 4), CLNN_ERR_SHAPE, "'0.weight'");
    ck_assert_fails_with(
        clnn_net_grad_read(net, core_tensor(net, "1.running_var"), buf, 4 * sizeof(float)),
        CLNN_ERR_INVALID_ARGUMENT, "not trainable");
    /* The failures left the net usable. */
    ck_assert_clnn_ok(clnn_net_layer_output_read(net, 0, buf, 8));
    ck_assert_clnn_ok(clnn_net_grad_read(net, w, buf, 12 * sizeof(float)));
    clnn_net_free(net);
}
END_TEST

START_TEST(test_label_out_of_range)
{
    clnn_net *net = small_net();
    float x[3 * 3] = {0.1f, 0.2f, 0.3f, -0.4f, 0.5f, -0.6f, 0.7f, 0.8f, 0.9f};
    ck_assert_clnn_ok(clnn_net_forward(net, x, 3, 3));
    ck_assert_fails_with(clnn_net_backward(net, (int32_t[]){0, 2, 1}, 3), CLNN_ERR_INVALID_ARGUMENT,
                         "label 2 of sample 1 is outside 0..1");
    ck_assert_fails_with(clnn_net_backward(net, (int32_t[]){0, 1, -1}, 3),
                         CLNN_ERR_INVALID_ARGUMENT, "label -1 of sample 2");
    /* A training step checks its labels before it runs anything: the
     * BatchNorm has counted only the forward above. */
    int64_t nbt = -1;
    ck_assert_fails_with(clnn_net_train_batch(net, x, 3, 3, (int32_t[]){7, 0, 0}, 3),
                         CLNN_ERR_INVALID_ARGUMENT, "label 7");
    ck_assert_clnn_ok(clnn_net_tensor_read(net, core_tensor(net, "1.num_batches_tracked"), &nbt,
                                           sizeof nbt));
    ck_assert_int_eq(nbt, 1);
    double loss, acc;
    ck_assert_fails_with(clnn_net_evaluate(net, x, 3, 3, (int32_t[]){0, 0, 5}, 3, 2, &loss, &acc),
                         CLNN_ERR_INVALID_ARGUMENT, "label 5");
    /* Valid labels still work. */
    ck_assert_clnn_ok(clnn_net_forward(net, x, 3, 3));
    ck_assert_clnn_ok(clnn_net_backward(net, (int32_t[]){0, 1, 1}, 3));
    clnn_net_free(net);
}
END_TEST

START_TEST(test_nonfinite_input)
{
    clnn_net *net = small_net();
    float x[2 * 3] = {0.1f, 0.2f, 0.3f, -0.4f, 0.5f, -0.6f};
    int32_t labels[2] = {0, 1};
    x[4] = NAN;
    ck_assert_fails_with(clnn_net_forward(net, x, 2, 3), CLNN_ERR_NONFINITE,
                         "sample 1, feature 1 is NaN");
    ck_assert_fails_with(clnn_net_train_batch(net, x, 2, 3, labels, 2), CLNN_ERR_NONFINITE, "NaN");
    x[4] = -INFINITY;
    ck_assert_fails_with(clnn_net_forward(net, x, 2, 3), CLNN_ERR_NONFINITE, "infinite");
    int32_t cls[2];
    ck_assert_fails_with(clnn_net_predict(net, x, 2, 3, cls, 2), CLNN_ERR_NONFINITE, "infinite");
    /* The check runs in blocks of 16 values with a scalar tail: a bad value
     * anywhere in either is found and located, and the largest finite
     * values and subnormals pass. */
    float big[8 * 3];
    for (size_t bad = 0; bad < 8 * 3; bad++) {
        for (size_t i = 0; i < 8 * 3; i++)
            big[i] = i % 2 ? FLT_MAX : -FLT_TRUE_MIN;
        big[bad] = bad % 2 ? INFINITY : NAN;
        char where[64];
        snprintf(where, sizeof where, "sample %zu, feature %zu is %s", bad / 3, bad % 3,
                 bad % 2 ? "infinite" : "NaN");
        ck_assert_fails_with(clnn_net_forward(net, big, 8, 3), CLNN_ERR_NONFINITE, where);
    }
    /* Nothing ran: no forward to read, no BatchNorm statistics changed. */
    float y[4];
    ck_assert_int_eq(clnn_net_read_output(net, y, 4), CLNN_ERR_STATE);
    int64_t nbt = -1;
    ck_assert_clnn_ok(clnn_net_tensor_read(net, core_tensor(net, "1.num_batches_tracked"), &nbt,
                                           sizeof nbt));
    ck_assert_int_eq(nbt, 0);
    clnn_net_free(net);
}
END_TEST

START_TEST(test_calls_before_init)
{
    clnn_net *net = NULL;
    ck_assert_clnn_ok(clnn_net_create(core_context(CLNN_GEMM_OWN), 3, &net));
    float x[6] = {0}, buf[8];
    int32_t labels[2] = {0, 1};
    ck_assert_fails_with(clnn_net_forward(net, x, 2, 3), CLNN_ERR_STATE, "clnn_net_init");
    ck_assert_fails_with(clnn_net_backward(net, labels, 2), CLNN_ERR_STATE, "clnn_net_init");
    ck_assert_fails_with(clnn_net_step(net), CLNN_ERR_STATE, "clnn_net_init");
    ck_assert_fails_with(clnn_net_train_batch(net, x, 2, 3, labels, 2), CLNN_ERR_STATE,
                         "clnn_net_init");
    ck_assert_fails_with(clnn_net_tensor_read(net, 0, buf, 4), CLNN_ERR_STATE, "clnn_net_init");
    clnn_optimizer_options o;
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
    ck_assert_fails_with(clnn_net_set_optimizer(net, &o), CLNN_ERR_STATE, "clnn_net_init");
    ck_assert_fails_with(clnn_net_save(net, "unused.safetensors"), CLNN_ERR_STATE,
                         "clnn_net_init");
    ck_assert_uint_eq(clnn_net_tensor_count(net), 0);
    /* init without layers is refused; after adding some it works. */
    ck_assert_fails_with(clnn_net_init(net, 1), CLNN_ERR_SPEC, "no layers");
    ck_assert_clnn_ok(clnn_net_add_layers(net, "dense:2"));
    ck_assert_clnn_ok(clnn_net_init(net, 1));
    ck_assert_fails_with(clnn_net_init(net, 1), CLNN_ERR_STATE, "after clnn_net_init");
    ck_assert_fails_with(clnn_net_add_relu(net, NULL), CLNN_ERR_STATE, "after clnn_net_init");
    clnn_net_free(net);
}
END_TEST

START_TEST(test_calls_out_of_order)
{
    clnn_net *net = small_net();
    float buf[8];
    int32_t labels[2] = {0, 1};
    ck_assert_fails_with(clnn_net_backward(net, labels, 2), CLNN_ERR_STATE,
                         "call clnn_net_forward first");
    ck_assert_fails_with(clnn_net_step(net), CLNN_ERR_STATE, "backward first");
    float loss;
    ck_assert_fails_with(clnn_net_read_loss(net, &loss), CLNN_ERR_STATE, "backward first");
    ck_assert_fails_with(clnn_net_layer_output_read(net, 0, buf, 8), CLNN_ERR_STATE,
                         "no forward");
    ck_assert_fails_with(clnn_net_grad_read(net, 0, buf, 12 * sizeof(float)), CLNN_ERR_STATE,
                         "no backward");
    float x[6] = {0.1f, 0.2f, 0.3f, -0.4f, 0.5f, -0.6f};
    ck_assert_clnn_ok(clnn_net_forward(net, x, 2, 3));
    ck_assert_fails_with(clnn_net_step(net), CLNN_ERR_STATE, "backward first");
    ck_assert_fails_with(clnn_net_forward(net, x, 0, 3), CLNN_ERR_INVALID_ARGUMENT,
                         "clnn_net_forward: rows is 0");
    ck_assert_fails_with(clnn_net_forward(net, NULL, 2, 3), CLNN_ERR_INVALID_ARGUMENT,
                         "clnn_net_forward: x is NULL");
    clnn_net_free(net);
}
END_TEST

START_TEST(test_invalid_optimizer_options)
{
    clnn_net *net = small_net();
    clnn_optimizer_options o;
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
    o.nesterov = true;
    ck_assert_fails_with(clnn_net_set_optimizer(net, &o), CLNN_ERR_INVALID_ARGUMENT, "Nesterov");
    o.momentum = 0.9, o.dampening = 0.1;
    ck_assert_fails_with(clnn_net_set_optimizer(net, &o), CLNN_ERR_INVALID_ARGUMENT,
                         "zero dampening");
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
    o.lr = -0.1;
    ck_assert_fails_with(clnn_net_set_optimizer(net, &o), CLNN_ERR_INVALID_ARGUMENT,
                         "learning rate");
    o.lr = NAN;
    ck_assert_fails_with(clnn_net_set_optimizer(net, &o), CLNN_ERR_INVALID_ARGUMENT,
                         "learning rate");
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_ADAM);
    o.beta2 = 1.0;
    ck_assert_fails_with(clnn_net_set_optimizer(net, &o), CLNN_ERR_INVALID_ARGUMENT, "betas");
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_ADAM);
    o.weight_decay = -1;
    ck_assert_fails_with(clnn_net_set_optimizer(net, &o), CLNN_ERR_INVALID_ARGUMENT,
                         "weight decay");
    ck_assert_fails_with(clnn_net_set_lr(net, INFINITY), CLNN_ERR_INVALID_ARGUMENT,
                         "learning rate");
    o.kind = (clnn_optimizer_kind)7;
    ck_assert_fails_with(clnn_net_set_optimizer(net, &o), CLNN_ERR_INVALID_ARGUMENT,
                         "optimizer kind");
    /* The defaults are PyTorch's. */
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_ADAM);
    ck_assert_double_eq(o.lr, 1e-3);
    ck_assert_double_eq(o.beta1, 0.9);
    ck_assert_double_eq(o.beta2, 0.999);
    ck_assert_double_eq(o.eps, 1e-8);
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
    ck_assert_double_eq(o.lr, 1e-2);
    ck_assert_double_eq(o.momentum, 0.0);
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &o));
    clnn_net_free(net);
}
END_TEST

/* Training calls before clnn_net_set_optimizer are refused: there is no
 * default optimizer to train with silently. */
START_TEST(test_training_needs_an_optimizer)
{
    clnn_net *net = NULL;
    ck_assert_clnn_ok(clnn_net_create(core_context(CLNN_GEMM_OWN), 3, &net));
    ck_assert_clnn_ok(clnn_net_add_layers(net, "dense:4,relu,dense:2"));
    ck_assert_clnn_ok(clnn_net_init(net, 1));
    float x[6] = {0.1f, 0.2f, 0.3f, -0.4f, 0.5f, -0.6f};
    int32_t labels[2] = {0, 1};
    ck_assert_fails_with(clnn_net_train_batch(net, x, 2, 3, labels, 2), CLNN_ERR_STATE,
                         "clnn_net_train_batch: the network has no optimizer; choose one with "
                         "clnn_net_set_optimizer");
    ck_assert_fails_with(clnn_net_train_shard(net, x, 2, 3, labels, 2, 2), CLNN_ERR_STATE,
                         "clnn_net_train_shard: the network has no optimizer");
    ck_assert_fails_with(clnn_net_set_lr(net, 0.1), CLNN_ERR_STATE,
                         "clnn_net_set_lr: the network has no optimizer");
    ck_assert_clnn_ok(clnn_net_set_data(net, x, 2, 3, labels, 2));
    ck_assert_fails_with(clnn_net_train_rows(net, 0, 2), CLNN_ERR_STATE,
                         "clnn_net_train_rows: the network has no optimizer");
    /* Forward and backward need none; the step does. */
    ck_assert_clnn_ok(clnn_net_forward(net, x, 2, 3));
    ck_assert_clnn_ok(clnn_net_backward(net, labels, 2));
    ck_assert_fails_with(clnn_net_step(net), CLNN_ERR_STATE,
                         "clnn_net_step: the network has no optimizer");
    /* Nothing trained: the parameters are still those of the seed. */
    clnn_net *fresh = core_net(core_context(CLNN_GEMM_OWN), 3, "dense:4,relu,dense:2", 1);
    size_t n, m;
    float *a = core_read_all(net, false, false, &n), *b = core_read_all(fresh, false, false, &m);
    ck_assert_uint_eq(n, m);
    ck_assert_mem_eq(a, b, n * sizeof *a);
    free(a);
    free(b);
    clnn_optimizer_options o;
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_ADAM);
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &o));
    ck_assert_clnn_ok(clnn_net_train_batch(net, x, 2, 3, labels, 2));
    ck_assert_clnn_ok(clnn_net_set_lr(net, 0.1));
    clnn_net_free(fresh);
    clnn_net_free(net);
}
END_TEST

START_TEST(test_invalid_create)
{
    clnn_net *net = (clnn_net *)1;
    ck_assert_fails_with(clnn_net_create(core_context(CLNN_GEMM_OWN), 0, &net),
                         CLNN_ERR_INVALID_ARGUMENT, "in_features");
    ck_assert_ptr_null(net);
    ck_assert_fails_with(clnn_net_create(NULL, 3, &net), CLNN_ERR_INVALID_ARGUMENT, "NULL");
}
END_TEST

static Suite *errors_suite(void)
{
    Suite *s = suite_create("core-errors");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, test_byte_counts);
    tcase_add_test(tc, test_label_out_of_range);
    tcase_add_test(tc, test_nonfinite_input);
    tcase_add_test(tc, test_calls_before_init);
    tcase_add_test(tc, test_calls_out_of_order);
    tcase_add_test(tc, test_invalid_optimizer_options);
    tcase_add_test(tc, test_training_needs_an_optimizer);
    tcase_add_test(tc, test_invalid_create);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(errors_suite());
}
