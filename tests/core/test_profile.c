/* Profiling through the public API, and kernels run again alone
 * (clnn_context_profile_replay): a replayed launch must be the recorded one,
 * same kernel, same buffers, same scalars, even when a later launch of the
 * same kernel object (another layer's) has set other arguments since. Two
 * observable checks: the optimizer step applied once more moves every
 * parameter by −lr·gradient again (plain SGD), and layer 1's BatchNorm
 * forward, run again after layer 4's, moves layer 1's running mean from
 * 0.1·mean to 0.19·mean (momentum 0.1 from zero) and leaves layer 4's as it
 * was. A transfer has nothing to replay, and neither does a network that has
 * been freed: its buffers are gone, so its launches are forgotten. */
#include "core_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/platform.h"

#define IN 7
#define ROWS 16
/* Both BatchNorm layers take the W = 16 build of bn_forward_train: one
 * kernel object, whose arguments layer 4's launch overwrites. */
#define SPEC "dense:32,bn,relu,dense:16,bn,relu,dense:5"
#define LR 0.1

/* The index of an entry in the table as read now. */
static size_t entry(clnn_context *ctx, const char *scope, const char *kernel)
{
    size_t n;
    clnn_profile_entry *e = clnn_test_profile(ctx, &n);
    size_t i = 0;
    while (i < n && (strcmp(e[i].scope, scope) != 0 || strcmp(e[i].kernel, kernel) != 0))
        i++;
    free(e);
    ck_assert_msg(i < n, "no profile entry %s / %s", scope, kernel);
    return i;
}

START_TEST(test_replay_reruns_the_recorded_launch)
{
    clnn_context *ctx = core_profiling_context(core_backends[_i]);
    clnn_net *net = core_net(ctx, IN, SPEC, 4);
    clnn_optimizer_options o;
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
    o.lr = LR;
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &o));
    core_rng r = core_rng_make(6);
    float x[ROWS * IN];
    int32_t y[ROWS];
    core_fill(x, ROWS * IN, -1, 1, &r);
    core_fill_labels(y, ROWS, 5, &r);
    clnn_context_profile_reset(ctx);
    ck_assert_clnn_ok(clnn_net_train_batch(net, x, ROWS, clnn_net_in_features(net), y, ROWS));

    size_t n, m;
    float *before = core_read_all(net, false, true, &n);
    float *grad = core_read_all(net, true, true, &m);
    ck_assert_uint_eq(n, m);
    double ms = 0.0;
    ck_assert_clnn_ok(clnn_context_profile_replay(ctx, entry(ctx, "optimizer", "sgd_step"), 1,
                                                  &ms));
    ck_assert(ms > 0.0);
    float *after = core_read_all(net, false, true, &m);
    double *want = malloc(n * sizeof *want);
    ck_assert_ptr_nonnull(want);
    for (size_t i = 0; i < n; i++)
        want[i] = (double)before[i] - LR * (double)grad[i];
    /* One float rounding of p − lr·g per element. */
    core_check_close("parameters after the optimizer step ran again", after, want, n, 1.0,
                     1e-6);
    free(before), free(after), free(want);

    free(grad);

    float *mean1 = core_read(net, "1.running_mean"), *mean4 = core_read(net, "4.running_mean");
    ck_assert_clnn_ok(clnn_context_profile_replay(
        ctx, entry(ctx, "layer 1 bn forward", "bn_forward_train"), 1, &ms));
    float *mean1_again = core_read(net, "1.running_mean");
    float *mean4_again = core_read(net, "4.running_mean");
    double want1[32];
    for (size_t i = 0; i < 32; i++)
        want1[i] = 1.9 * mean1[i];
    core_check_close("layer 1's running mean after its forward ran again", mean1_again, want1, 32,
                     1e-3, 1e-5);
    ck_assert_mem_eq(mean4_again, mean4, 16 * sizeof *mean4);
    free(mean1), free(mean4), free(mean1_again), free(mean4_again);

    ck_assert_int_eq(clnn_context_profile_replay(ctx, entry(ctx, "input", "upload"), 1, &ms),
                     CLNN_ERR_STATE);
    const size_t sgd = entry(ctx, "optimizer", "sgd_step");
    clnn_net_free(net);
    ck_assert_int_eq(clnn_context_profile_replay(ctx, sgd, 1, &ms), CLNN_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "freed or regrown"));
    clnn_context_free(ctx);
}
END_TEST

START_TEST(test_replay_needs_profiling)
{
    double ms;
    ck_assert_int_eq(clnn_context_profile_replay(core_context(core_backends[0]), 0, 1, &ms),
                     CLNN_ERR_STATE);
    ck_assert_int_eq(clnn_context_profile_replay(NULL, 0, 1, &ms), CLNN_ERR_INVALID_ARGUMENT);
}
END_TEST

static double wall_ms(void)
{
    return clnn__now() * 1e3;
}

/* The device's busy and idle times between the first command's start and
 * the last one's end fit in the host's wall time around them; every idle
 * time is non-negative, and an idle time that counted the host's waits
 * (profile reads between batches) would overflow the bound. */
START_TEST(test_idle_times_fit_the_wall_time)
{
    clnn_context *ctx = core_profiling_context(core_backends[_i]);
    clnn_net *net = core_net(ctx, IN, SPEC, 4);
    core_rng r = core_rng_make(7);
    float x[ROWS * IN];
    int32_t y[ROWS];
    core_fill(x, ROWS * IN, -1, 1, &r);
    core_fill_labels(y, ROWS, 5, &r);
    ck_assert_clnn_ok(clnn_net_train_batch(net, x, ROWS, clnn_net_in_features(net), y, ROWS));
    clnn_context_profile_reset(ctx);
    double wall = 0.0;
    for (int round = 0; round < 3; round++) {
        const double t0 = wall_ms();
        for (int step = 0; step < 5; step++)
            ck_assert_clnn_ok(
                clnn_net_train_batch(net, x, ROWS, clnn_net_in_features(net), y, ROWS));
        size_t n;
        ck_assert_clnn_ok(clnn_context_profile_read(ctx, &n));
        wall += wall_ms() - t0;
        /* A pause with nothing queued: idle that no command waited on. */
        clnn_test_sleep_ms(20);
    }
    size_t n;
    clnn_profile_entry *e = clnn_test_profile(ctx, &n);
    double busy = 0.0, idle = 0.0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(e[i].gap_ms >= 0.0, "%s / %s: idle %g ms", e[i].scope, e[i].kernel,
                      e[i].gap_ms);
        busy += e[i].total_ms;
        idle += e[i].gap_ms;
    }
    ck_assert_msg(busy + idle <= wall * 1.01 + 0.05, "busy %g + idle %g ms, wall time %g ms", busy,
                  idle, wall);
    free(e);
    clnn_net_free(net);
    clnn_context_free(ctx);
}
END_TEST

/* The launch probe times launches on a queue of its own: figures positive
 * and finite, and the context's queued work untouched by it. */
START_TEST(test_launch_probe)
{
    clnn_context *ctx = core_context(core_backends[0]);
    double queued = 0.0, waited = 0.0;
    ck_assert_clnn_ok(clnn_context_probe_launch(ctx, &queued, &waited));
    ck_assert_msg(isfinite(queued) && queued > 0.0, "queued %g µs", queued);
    ck_assert_msg(isfinite(waited) && waited > 0.0, "waited %g µs", waited);
    ck_assert_int_eq(clnn_context_probe_launch(NULL, &queued, &waited), CLNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clnn_context_probe_launch(ctx, NULL, &waited), CLNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clnn_context_probe_launch(ctx, &queued, NULL), CLNN_ERR_INVALID_ARGUMENT);
}
END_TEST

static Suite *profile_suite(void)
{
    Suite *s = suite_create("core-profile");
    TCase *tc = tcase_create("profile");
    tcase_add_loop_test(tc, test_replay_reruns_the_recorded_launch, 0, CORE_BACKENDS);
    tcase_add_test(tc, test_replay_needs_profiling);
    tcase_add_test(tc, test_launch_probe);
    tcase_add_loop_test(tc, test_idle_times_fit_the_wall_time, 0, CORE_BACKENDS);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(profile_suite());
}
