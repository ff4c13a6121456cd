/* Dropout (nn.Dropout semantics with clnn's own masks): the generator
 * against Philox4x32-10's published known answers; the device's masks,
 * element for element, against the reference's (reference.c, written from
 * the algorithm, not from the kernel), forward and backward over several
 * steps; evaluation as the identity; p = 0 and p = 1; the kept fraction
 * against its binomial bound; one seed, one run; a shard of a global batch
 * drawing what the whole batch draws for its rows; and a resumed checkpoint
 * continuing bit for bit.
 *
 * Tolerances where floats are summed (gradients through dense layers): as
 * test_layers.c, outputs 1e-4 (floor 1) and gradients 1e-3 (floor 1e-2).
 * The dropout layer's own output is compared exactly: x·scale in float is
 * the correctly rounded double product, so any other mask or factor shows. */
#include "core_test.h"
#include "net/net_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define TOL_OUT 1e-4
#define FLOOR_OUT 1.0
#define TOL_GRAD 1e-3
#define FLOOR_GRAD 1e-2

/* A dropout layer's host value (its checkpoint hook's "dropout_key" or
 * "dropout_step"). */
static int64_t *stream_value(clnn_net *net, size_t layer, const char *suffix)
{
    clnn__layer *l = &net->layers[layer].l;
    ck_assert_ptr_nonnull(l->cls->checkpoint);
    clnn__host_value v[CLNN__LAYER_VALUES_MAX];
    size_t n = l->cls->checkpoint(l, v);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].suffix, suffix) == 0)
            return v[i].value;
    ck_abort_msg("layer %zu keeps no %s", layer, suffix);
    return NULL;
}

static float *layer_output(clnn_net *net, size_t layer, size_t rows)
{
    size_t n = rows * net->layers[layer].l.out;
    float *y = malloc(n * sizeof *y);
    ck_assert_ptr_nonnull(y);
    ck_assert_clnn_ok(clnn_net_layer_output_read(net, layer, y, n));
    return y;
}

/* Random123's known-answer vectors for philox4x32 with 10 rounds. */
START_TEST(test_philox_known_answers)
{
    static const uint32_t cases[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
         0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
         0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (size_t i = 0; i < 3; i++) {
        uint32_t out[4];
        ref_philox4x32_10(cases[i], cases[i] + 4, out);
        for (int w = 0; w < 4; w++)
            ck_assert_msg(out[w] == cases[i][6 + w], "case %zu word %d: %08x, expected %08x", i,
                          w, out[w], cases[i][6 + w]);
    }
}
END_TEST

/* Three training steps of dense → dropout → dense → dropout (the first and
 * last layers of a stack too) against the reference holding the same
 * weights and streams: each step's masks exactly, loss and gradients
 * within tolerance; then eval mode passes rows unchanged. Loop: backend. */
START_TEST(test_training_matches_reference)
{
    static const char *const spec = "dropout:0.25,dense:33,dropout:0.5,dense:9,dropout:0.1";
    const size_t in = 13, rows = 11, steps = 3;
    const size_t drops[3] = {0, 2, 4};
    clnn_net *net = core_net(core_context(core_backends[_i]), in, spec, 5);
    ref_net *ref = ref_net_create(in, spec);
    ck_assert_ptr_nonnull(ref);
    core_rng r = core_rng_make(41);
    float *x = malloc(rows * in * sizeof *x);
    int32_t labels[11];
    ck_assert_ptr_nonnull(x);
    for (size_t k = 0; k < steps; k++) {
        core_fill(x, rows * in, -2, 2, &r);
        core_fill_labels(labels, rows, 9, &r);
        core_copy_to_ref(net, ref);
        for (size_t d = 0; d < 3; d++) {
            ck_assert_int_eq(*stream_value(net, drops[d], "dropout_step"), (int64_t)k);
            ref->layers[drops[d]].key = (uint64_t)*stream_value(net, drops[d], "dropout_key");
            ref->layers[drops[d]].step = (int64_t)k;
        }
        ck_assert_clnn_ok(clnn_net_forward(net, x, rows, in));
        ck_assert_clnn_ok(clnn_net_backward(net, labels, rows));
        ref_net_forward(ref, x, rows, true);
        double want_loss = ref_net_backward(ref, labels);
        for (size_t d = 0; d < 3; d++) {
            size_t i = drops[d], n = rows * ref->layers[i].out, dropped = 0;
            float *y = layer_output(net, i, rows);
            float *before = i ? layer_output(net, i - 1, rows) : NULL;
            for (size_t j = 0; j < n; j++) {
                float xin = before ? before[j] : x[j];
                float want = (float)((double)xin * ref->layers[i].factor[j]);
                ck_assert_msg(y[j] == want, "step %zu layer %zu [%zu]: %.9g, expected %.9g "
                              "(input %.9g, factor %g)", k, i, j, (double)y[j], (double)want,
                              (double)xin, ref->layers[i].factor[j]);
                dropped += ref->layers[i].factor[j] == 0.0;
            }
            ck_assert_msg(dropped > 0 && dropped < n, "layer %zu: %zu of %zu dropped", i,
                          dropped, n);
            free(y);
            free(before);
        }
        float loss;
        ck_assert_clnn_ok(clnn_net_read_loss(net, &loss));
        core_check_close("loss", &loss, &want_loss, 1, FLOOR_OUT, TOL_OUT);
        for (size_t p = 0; p < ref_net_param_count(ref); p++) {
            ref_param rp = ref_net_param(ref, p);
            float *g = core_read_grad(net, rp.name);
            core_check_close(rp.name, g, rp.grad, rp.numel, FLOOR_GRAD, TOL_GRAD);
            free(g);
        }
        ck_assert_clnn_ok(clnn_net_step(net));
    }
    /* Evaluation: the identity, and no step of the streams. */
    ck_assert_clnn_ok(clnn_net_set_training(net, false));
    ck_assert_clnn_ok(clnn_net_forward(net, x, rows, in));
    float *y0 = layer_output(net, 0, rows);
    ck_assert_mem_eq(y0, x, rows * in * sizeof *x);
    for (size_t d = 0; d < 3; d++)
        ck_assert_int_eq(*stream_value(net, drops[d], "dropout_step"), (int64_t)steps);
    free(y0);
    free(x);
    ref_net_free(ref);
    clnn_net_free(net);
}
END_TEST

/* Of 131072 elements at p = 0.3, the kept count K is Binomial(n, 0.7):
 * sd = sqrt(n·0.7·0.3) ≈ 166, and |K − 0.7n| ≤ 5 sd (a fair mask fails with
 * probability < 1e-6; the test is deterministic, its seed fixed). The same
 * bound holds for the elements kept in both of two steps (p 0.49) and in
 * both of two layers (independent streams), and each column's and row's
 * fraction stays within 5 of its own sd. */
START_TEST(test_kept_fraction_within_binomial_bound)
{
    const size_t in = 256, rows = 512, n = rows * in;
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), in, "dropout:0.3,dropout:0.3,dense:2", 3);
    float *x = malloc(n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f;
    ck_assert_clnn_ok(clnn_net_forward(net, x, rows, in));
    float *a = layer_output(net, 0, rows), *b = layer_output(net, 1, rows);
    ck_assert_clnn_ok(clnn_net_forward(net, x, rows, in));
    float *a2 = layer_output(net, 0, rows);
    size_t kept = 0, both_steps = 0, both_layers = 0;
    size_t *col = calloc(in, sizeof *col);
    ck_assert_ptr_nonnull(col);
    const float scale = 1.0f / (float)(1.0 - 0.3);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(a[i] == 0.0f || a[i] == scale, "[%zu] = %.9g", i, (double)a[i]);
        bool k1 = a[i] != 0.0f, k2 = a2[i] != 0.0f, kb = b[i] != 0.0f;
        kept += k1;
        col[i % in] += k1;
        both_steps += k1 && k2;
        both_layers += k1 && kb; /* b = a's survivors, each kept again with 0.7 */
    }
    double sd = sqrt((double)n * 0.7 * 0.3);
    printf("kept %zu of %zu (expected %.0f, sd %.0f)\n", kept, n, 0.7 * (double)n, sd);
    ck_assert_msg(fabs((double)kept - 0.7 * (double)n) <= 5 * sd, "kept %zu of %zu", kept, n);
    double sd2 = sqrt((double)n * 0.49 * 0.51);
    ck_assert_msg(fabs((double)both_steps - 0.49 * (double)n) <= 5 * sd2,
                  "kept in both steps: %zu of %zu", both_steps, n);
    ck_assert_msg(fabs((double)both_layers - 0.49 * (double)n) <= 5 * sd2,
                  "kept by both layers: %zu of %zu", both_layers, n);
    double sd_col = sqrt((double)rows * 0.7 * 0.3);
    for (size_t c = 0; c < in; c++)
        ck_assert_msg(fabs((double)col[c] - 0.7 * (double)rows) <= 5 * sd_col,
                      "column %zu keeps %zu of %zu", c, col[c], rows);
    for (size_t r0 = 0; r0 < rows; r0++) {
        size_t row_kept = 0;
        for (size_t c = 0; c < in; c++)
            row_kept += a[r0 * in + c] != 0.0f;
        ck_assert_msg(fabs((double)row_kept - 0.7 * (double)in) <= 5 * sqrt((double)in * 0.21),
                      "row %zu keeps %zu of %zu", r0, row_kept, in);
    }
    free(col);
    free(a);
    free(a2);
    free(b);
    free(x);
    clnn_net_free(net);
}
END_TEST

/* p = 1 zeroes every element and gradient (PyTorch: input · 0); p = 0 and
 * evaluation pass everything on unchanged. */
START_TEST(test_p_one_and_zero)
{
    const size_t in = 6, rows = 5;
    float x[30];
    int32_t labels[5] = {0, 1, 2, 0, 1};
    core_rng r = core_rng_make(9);
    core_fill(x, rows * in, -1, 1, &r);
    clnn_net *net = core_net(core_context(CLNN_GEMM_OWN), in, "dense:7,dropout:1,dense:3", 2);
    ck_assert_clnn_ok(clnn_net_forward(net, x, rows, in));
    ck_assert_clnn_ok(clnn_net_backward(net, labels, rows));
    float *y = layer_output(net, 1, rows), *g = core_read_grad(net, "0.weight");
    for (size_t i = 0; i < rows * 7; i++)
        ck_assert_msg(y[i] == 0.0f, "p = 1: [%zu] = %g", i, (double)y[i]);
    for (size_t i = 0; i < 7 * in; i++)
        ck_assert_msg(g[i] == 0.0f, "p = 1: gradient [%zu] = %g", i, (double)g[i]);
    free(y);
    free(g);
    clnn_net_free(net);

    net = core_net(core_context(CLNN_GEMM_OWN), in, "dropout:0,dense:3", 2);
    ck_assert_clnn_ok(clnn_net_forward(net, x, rows, in));
    y = layer_output(net, 0, rows);
    ck_assert_mem_eq(y, x, sizeof x);
    free(y);
    clnn_net_free(net);
}
END_TEST

/* Every float tensor after `steps` SGD steps on fixed batches. */
static float *train_steps(clnn_net *net, size_t steps, size_t *count)
{
    float x[8 * 10];
    int32_t labels[8];
    for (size_t k = 0; k < steps; k++) {
        core_rng r = core_rng_make(100 + k);
        core_fill(x, 8 * 10, -1, 1, &r);
        core_fill_labels(labels, 8, 4, &r);
        ck_assert_clnn_ok(clnn_net_train_batch(net, x, 8, 10, labels, 8));
    }
    return core_read_all(net, false, false, count);
}

static const char *const RUN_SPEC = "dense:24,relu,dropout:0.4,dense:12,dropout:0.2,dense:4";

/* One seed, one run: two networks made with seed 7 train to the same
 * bits; seed 8 draws other masks (other initial weights, too). */
START_TEST(test_same_seed_same_run)
{
    clnn_context *ctx = core_context(CLNN_GEMM_OWN);
    size_t n1, n2, n3;
    clnn_net *a = core_net(ctx, 10, RUN_SPEC, 7), *b = core_net(ctx, 10, RUN_SPEC, 7),
             *c = core_net(ctx, 10, RUN_SPEC, 8);
    ck_assert_int_eq(*stream_value(a, 2, "dropout_key"), *stream_value(b, 2, "dropout_key"));
    ck_assert_int_ne(*stream_value(a, 2, "dropout_key"), *stream_value(c, 2, "dropout_key"));
    ck_assert_int_ne(*stream_value(a, 2, "dropout_key"), *stream_value(a, 4, "dropout_key"));
    float *pa = train_steps(a, 5, &n1), *pb = train_steps(b, 5, &n2), *pc = train_steps(c, 5, &n3);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(pa, pb, n1 * sizeof *pa);
    ck_assert(memcmp(pa, pc, n1 * sizeof *pa) != 0);
    free(pa);
    free(pb);
    free(pc);
    clnn_net_free(a);
    clnn_net_free(b);
    clnn_net_free(c);
}
END_TEST

/* A run stopped after 3 steps and resumed from its checkpoint (by a net
 * loaded from the file, as `clnn train --resume` does) continues bit for
 * bit; the same weights without the streams' position (the model file)
 * draw other masks and end elsewhere. */
START_TEST(test_checkpoint_resumes_bit_for_bit)
{
    clnn_context *ctx = core_context(CLNN_GEMM_OWN);
    char *dir = core_tmpdir(), ckpt[4200], model[4200];
    snprintf(ckpt, sizeof ckpt, "%s/run.ckpt", dir);
    snprintf(model, sizeof model, "%s/run.safetensors", dir);
    clnn_net *whole = core_net(ctx, 10, RUN_SPEC, 11);
    size_t n, m;
    free(train_steps(whole, 3, &n));
    ck_assert_clnn_ok(clnn_net_save_checkpoint(whole, ckpt, NULL, 0));
    ck_assert_clnn_ok(clnn_net_save(whole, model));
    float *want = train_steps(whole, 4, &n);

    clnn_net *resumed = NULL;
    ck_assert_clnn_ok(clnn_net_load(ctx, ckpt, NULL, &resumed));
    ck_assert_clnn_ok(clnn_net_load_checkpoint(resumed, ckpt));
    ck_assert_int_eq(*stream_value(resumed, 2, "dropout_step"), 3);
    float *got = train_steps(resumed, 4, &m);
    ck_assert_uint_eq(m, n);
    ck_assert_mem_eq(got, want, n * sizeof *got);

    clnn_net *restarted = NULL;
    ck_assert_clnn_ok(clnn_net_load(ctx, model, NULL, &restarted));
    clnn_optimizer_options o; /* core_net's, which the checkpoint kept */
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
    ck_assert_clnn_ok(clnn_net_set_optimizer(restarted, &o));
    ck_assert_uint_eq(clnn_net_tensor_count(restarted), 6); /* dropout keeps no tensor */
    float *other = train_steps(restarted, 4, &m);
    ck_assert(memcmp(other, want, n * sizeof *other) != 0);
    free(want);
    free(got);
    free(other);
    clnn_net_free(whole);
    clnn_net_free(resumed);
    clnn_net_free(restarted);
    core_rmtree(dir);
    free(dir);
}
END_TEST

static clnn_status sum_alone(float *data, size_t count, void *user)
{
    return CLNN_OK;
}

/* A process holding rows 4..9 of a global batch of 10 draws for them what
 * one process training all 10 draws (clnn_net_train_shard_at); from row 0
 * (clnn_net_train_shard) it draws rows 0..5's instead. */
START_TEST(test_shard_draws_its_rows_of_the_global_batch)
{
    clnn_context *ctx = core_context(CLNN_GEMM_OWN);
    const size_t in = 8, global = 10, first = 4, rows = 6;
    float x[10 * 8];
    int32_t labels[10];
    core_rng r = core_rng_make(5);
    core_fill(x, global * in, 0.5, 1.5, &r);
    core_fill_labels(labels, global, 3, &r);
    clnn_net *nets[3];
    for (int i = 0; i < 3; i++)
        nets[i] = core_net(ctx, in, "dropout:0.5,dense:3", 13);
    clnn_parallel_options p;
    clnn_parallel_options_init(&p);
    p.allreduce = sum_alone;
    ck_assert_clnn_ok(clnn_net_set_parallel(nets[1], &p));
    ck_assert_clnn_ok(clnn_net_set_parallel(nets[2], &p));
    ck_assert_clnn_ok(clnn_net_train_batch(nets[0], x, global, in, labels, global));
    ck_assert_clnn_ok(clnn_net_train_shard_at(nets[1], x + first * in, rows, in, labels + first,
                                              rows, global, first));
    ck_assert_clnn_ok(clnn_net_train_shard(nets[2], x + first * in, rows, in, labels + first,
                                           rows, global));
    float *whole = layer_output(nets[0], 0, global), *at = layer_output(nets[1], 0, rows),
          *from0 = layer_output(nets[2], 0, rows);
    const size_t bytes = rows * in * sizeof(float);
    ck_assert_mem_eq(at, whole + first * in, bytes);
    /* Rows 0..5's masks applied to rows 4..9's inputs: equal where both
     * rows' masks agree, zero elsewhere; not rows 4..9's outputs. */
    ck_assert(memcmp(from0, whole + first * in, bytes) != 0);
    for (size_t i = 0; i < rows * in; i++)
        ck_assert_msg((from0[i] == 0.0f) == (whole[i] == 0.0f), "[%zu]: row 0.. mask differs", i);
    ck_assert_fails_with(clnn_net_train_shard_at(nets[1], x, rows, in, labels, rows, global, 5),
                         CLNN_ERR_INVALID_ARGUMENT, "first_row must be at most");
    free(whole);
    free(at);
    free(from0);
    for (int i = 0; i < 3; i++)
        clnn_net_free(nets[i]);
}
END_TEST

static Suite *dropout_suite(void)
{
    Suite *s = suite_create("core-dropout");
    TCase *tc = tcase_create("dropout");
    tcase_add_test(tc, test_philox_known_answers);
    tcase_add_loop_test(tc, test_training_matches_reference, 0, CORE_BACKENDS);
    tcase_add_test(tc, test_kept_fraction_within_binomial_bound);
    tcase_add_test(tc, test_p_one_and_zero);
    tcase_add_test(tc, test_same_seed_same_run);
    tcase_add_test(tc, test_checkpoint_resumes_bit_for_bit);
    tcase_add_test(tc, test_shard_draws_its_rows_of_the_global_batch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(dropout_suite());
}
