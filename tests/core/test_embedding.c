/* What an application embedding clnn relies on: one context used from two
 * threads at once is refused (never a crash), a context freed before its
 * networks lives on until they go, the context options (cache folder,
 * program cache, tuning, the application's own OpenCL context and queue, a
 * log callback of its own) take effect, versioned structs are checked, and
 * a progress callback can cancel a long call with every object left usable. */
#include "core_test.h"

#include "base/platform.h"
#include "runtime/runtime.h"

#define IN 10
#define BATCH 8
#define SPEC "dense:12,bn,relu,dense:3"

static void batch(float *x, int32_t *y, int seed)
{
    core_rng r = core_rng_make((uint64_t)seed);
    core_fill(x, BATCH * IN, -1, 1, &r);
    core_fill_labels(y, BATCH, 3, &r);
}

static clnn_context *context_with(const clnn_context_options *o)
{
    clnn_context *ctx = NULL;
    ck_assert_clnn_ok(clnn_context_create(o, &ctx));
    return ctx;
}

/* ------------------------------------------------- two threads, one context */

/* The first thread is held inside a call on the context (its log callback,
 * which the call invokes, waits) while the second tries one. */
typedef struct crossing {
    clnn__mutex lock;
    clnn__cond changed;
    int stage; /* 1: first thread inside; 2: second thread has tried */
    clnn_context *ctx;
    clnn_net *net;
    clnn_status second;
    char second_error[512];
    clnn_status first;
} crossing;

static void hold_inside(clnn_log_level level, const char *message, void *user)
{
    (void)level;
    crossing *c = user;
    if (!strstr(message, "CLNN_FAULT_INJECT"))
        return;
    clnn__mutex_lock(&c->lock);
    if (c->stage > 0) { /* the failure's own report, later in the call */
        clnn__mutex_unlock(&c->lock);
        return;
    }
    c->stage = 1;
    clnn__cond_broadcast(&c->changed);
    while (c->stage < 2)
        clnn__cond_wait(&c->changed, &c->lock);
    clnn__mutex_unlock(&c->lock);
}

static void first_thread(void *arg)
{
    crossing *c = arg;
    /* clnn_context_finish fails its clFinish on purpose, and says so in the
     * log from inside the call. */
    clnn__fault_configure("clFinish:1");
    c->first = clnn_context_finish(c->ctx);
}

START_TEST(test_concurrent_use_refused)
{
    crossing c = {.stage = 0};
    ck_assert_clnn_ok(clnn__mutex_init(&c.lock));
    ck_assert_clnn_ok(clnn__cond_init(&c.changed));
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.log = hold_inside;
    o.log_user = &c;
    c.ctx = context_with(&o);
    c.net = core_net(c.ctx, IN, SPEC, 3);
    float x[BATCH * IN];
    int32_t y[BATCH];
    batch(x, y, 1);

    clnn__thread t;
    ck_assert_clnn_ok(clnn__thread_start(&t, first_thread, &c));
    clnn__mutex_lock(&c.lock);
    while (c.stage < 1)
        clnn__cond_wait(&c.changed, &c.lock);
    clnn__mutex_unlock(&c.lock);
    c.second = clnn_net_train_batch(c.net, x, BATCH, IN, y, BATCH);
    snprintf(c.second_error, sizeof c.second_error, "%s", clnn_last_error());
    clnn_status context_call = clnn_context_finish(c.ctx);
    clnn__mutex_lock(&c.lock);
    c.stage = 2;
    clnn__cond_broadcast(&c.changed);
    clnn__mutex_unlock(&c.lock);
    clnn__thread_join(&t);
    clnn__fault_configure(NULL);

    ck_assert_int_eq(c.first, CLNN_ERR_OPENCL); /* the injected failure, nothing else */
    ck_assert_int_eq(c.second, CLNN_ERR_STATE);
    ck_assert_msg(strstr(c.second_error, "clnn_net_train_batch") &&
                      strstr(c.second_error, "in use by another thread"),
                  "%s", c.second_error);
    ck_assert_int_eq(context_call, CLNN_ERR_STATE);
    /* Afterwards both threads' objects work as before. */
    ck_assert_clnn_ok(clnn_net_train_batch(c.net, x, BATCH, IN, y, BATCH));
    ck_assert_clnn_ok(clnn_context_finish(c.ctx));
    clnn_net_free(c.net);
    clnn_context_free(c.ctx);
    clnn__cond_destroy(&c.changed);
    clnn__mutex_destroy(&c.lock);
}
END_TEST

/* A call the library makes to itself inside a call is no second user. */
START_TEST(test_nested_calls_pass)
{
    clnn_context *ctx = context_with(NULL);
    clnn_net *net = core_net(ctx, IN, SPEC, 3);
    float x[BATCH * IN], logits[BATCH * 3];
    int32_t y[BATCH];
    batch(x, y, 2);
    ck_assert_clnn_ok(clnn_net_forward(net, x, BATCH, IN));
    /* clnn_net_read_output enters clnn_net_layer_output_read. */
    ck_assert_clnn_ok(clnn_net_read_output(net, logits, BATCH * 3));
    clnn_net_free(net);
    clnn_context_free(ctx);
}
END_TEST

/* ------------------------------------------------------------- lifetimes */

START_TEST(test_context_freed_before_nets)
{
    long contexts = clnn__live(CLNN__LIVE_CONTEXT), queues = clnn__live(CLNN__LIVE_QUEUE);
    clnn_context *ctx = context_with(NULL);
    clnn_net *a = core_net(ctx, IN, SPEC, 3), *b = core_net(ctx, IN, SPEC, 4);
    float x[BATCH * IN];
    int32_t y[BATCH];
    batch(x, y, 3);
    clnn_context_free(ctx); /* the nets hold it */
    ck_assert_int_eq(clnn__live(CLNN__LIVE_CONTEXT), contexts + 1);
    ck_assert_clnn_ok(clnn_net_train_batch(a, x, BATCH, IN, y, BATCH));
    ck_assert_clnn_ok(clnn_net_train_batch(b, x, BATCH, IN, y, BATCH));
    float loss;
    ck_assert_clnn_ok(clnn_net_read_loss(a, &loss));
    ck_assert(isfinite(loss));
    clnn_net_free(a);
    ck_assert_int_eq(clnn__live(CLNN__LIVE_CONTEXT), contexts + 1);
    clnn_net_free(b); /* the last one takes the context with it */
    ck_assert_int_eq(clnn__live(CLNN__LIVE_CONTEXT), contexts);
    ck_assert_int_eq(clnn__live(CLNN__LIVE_QUEUE), queues);
}
END_TEST

/* ------------------------------------------------------------- options */

START_TEST(test_options_struct_size)
{
    clnn_context_options o;
    clnn_context_options_init(&o);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    clnn_context *ctx = NULL;
    o.struct_size = 8; /* a program that never set it: refused, not misread */
    ck_assert_fails_with(clnn_context_create(&o, &ctx), CLNN_ERR_INVALID_ARGUMENT,
                         "clnn_context_options.struct_size is 8");
    ck_assert_ptr_null(ctx);
    clnn_context_options_init(&o);
    o.program_cache = (clnn_switch)7;
    ck_assert_fails_with(clnn_context_create(&o, &ctx), CLNN_ERR_INVALID_ARGUMENT,
                         "options.program_cache is 7");
    clnn_context_options_init(&o);
    o.cl_context = (struct _cl_context *)&o; /* without its queue */
    ck_assert_fails_with(clnn_context_create(&o, &ctx), CLNN_ERR_INVALID_ARGUMENT,
                         "go together");
}
END_TEST

START_TEST(test_options_cache_and_program_cache)
{
    char *dir = core_tmpdir();
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.cache_dir = dir;
    o.program_cache = CLNN_SWITCH_ON;
    o.gemm = CLNN_GEMM_OWN;
    clnn_context *ctx = context_with(&o);
    clnn_net *net = core_net(ctx, IN, SPEC, 5);
    float x[BATCH * IN];
    int32_t y[BATCH];
    batch(x, y, 5);
    ck_assert_clnn_ok(clnn_net_train_batch(net, x, BATCH, IN, y, BATCH));
    ck_assert_clnn_ok(clnn_context_finish(ctx));
    char programs[4200];
    snprintf(programs, sizeof programs, "%s%sprograms", dir, CLNN__PATH_SEP);
    /* The folder is made when the first binary is stored in it. */
    ck_assert_msg(clnn__file_exists(programs), "no program binaries in %s", programs);
    char tuning[4096];
    ck_assert_clnn_ok(clnn_context_tuning_file(ctx, tuning, sizeof tuning));
    ck_assert_msg(strncmp(tuning, dir, strlen(dir)) == 0, "tuning file %s is not under %s",
                  tuning, dir);
    clnn_net_free(net);
    clnn_context_free(ctx);

    /* Off, nothing is written there. */
    core_rmtree(dir);
    free(dir);
    dir = core_tmpdir();
    o.cache_dir = dir;
    o.program_cache = CLNN_SWITCH_OFF;
    snprintf(programs, sizeof programs, "%s%sprograms", dir, CLNN__PATH_SEP);
    ctx = context_with(&o);
    net = core_net(ctx, IN, SPEC, 5);
    ck_assert_clnn_ok(clnn_net_train_batch(net, x, BATCH, IN, y, BATCH));
    ck_assert_clnn_ok(clnn_context_finish(ctx));
    ck_assert_msg(!clnn__file_exists(programs), "%s was made with the program cache off",
                  programs);
    clnn_net_free(net);
    clnn_context_free(ctx);
    core_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_options_tuning_switch)
{
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.tuning = CLNN_SWITCH_OFF;
    clnn_context *ctx = context_with(&o);
    ck_assert(!clnn_context_tuning_enabled(ctx));
    clnn_context_free(ctx);
    o.tuning = CLNN_SWITCH_ON;
    ctx = context_with(&o);
    ck_assert(clnn_context_tuning_enabled(ctx));
    clnn_context_free(ctx);
}
END_TEST

typedef struct log_record {
    int messages;
    char last[256];
} log_record;

static void record(clnn_log_level level, const char *message, void *user)
{
    (void)level;
    log_record *r = user;
    r->messages++;
    snprintf(r->last, sizeof r->last, "%s", message);
}

START_TEST(test_options_log_callback)
{
    log_record mine = {0}, global = {0};
    clnn_set_log_callback(record, &global);
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.log = record;
    o.log_user = &mine;
    clnn_context *ctx = context_with(&o);
    ck_assert_msg(mine.messages > 0 && strstr(mine.last, "GEMM backend"), "%d: %s",
                  mine.messages, mine.last);
    int before = global.messages;
    clnn__fault_configure("clFinish:1");
    ck_assert_int_eq(clnn_context_finish(ctx), CLNN_ERR_OPENCL);
    clnn__fault_configure(NULL);
    ck_assert_msg(strstr(mine.last, "CLNN_FAULT_INJECT"), "%s", mine.last);
    ck_assert_int_eq(global.messages, before); /* the context's own, not the process's */
    clnn_context_free(ctx);
    clnn_set_log_callback(NULL, NULL);
}
END_TEST

/* The application's own OpenCL context and queue: the same training, bit
 * for bit, as on a context clnn made, and the objects stay the
 * application's after clnn lets go. */
START_TEST(test_options_application_queue)
{
    clnn_context *own = context_with(NULL);
    clnn_device_info info = {.struct_size = sizeof info};
    ck_assert_clnn_ok(clnn_context_get_device_info(own, &info));
    cl_platform_id *plats;
    cl_device_id *devs;
    size_t n;
    ck_assert_clnn_ok(clnn__devices(&plats, &devs, &n));
    cl_int err;
    cl_context app_ctx = clCreateContext(NULL, 1, &devs[info.index], NULL, NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_command_queue app_queue = clCreateCommandQueue(app_ctx, devs[info.index], 0, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    free(plats);
    free(devs);

    clnn_context_options o;
    clnn_context_options_init(&o);
    o.cl_context = app_ctx;
    o.cl_queue = app_queue;
    o.device = "0";
    clnn_context *shared = NULL;
    ck_assert_fails_with(clnn_context_create(&o, &shared), CLNN_ERR_INVALID_ARGUMENT,
                         "leave options.device NULL");
    o.device = NULL;
    o.profiling = true; /* the queue has no profiling */
    ck_assert_fails_with(clnn_context_create(&o, &shared), CLNN_ERR_INVALID_ARGUMENT,
                         "CL_QUEUE_PROFILING_ENABLE");
    o.profiling = false;
    shared = context_with(&o);
    clnn_device_info shared_info = {.struct_size = sizeof shared_info};
    ck_assert_clnn_ok(clnn_context_get_device_info(shared, &shared_info));
    ck_assert_str_eq(shared_info.name, info.name);
    ck_assert_uint_eq(shared_info.index, info.index);

    clnn_net *a = core_net(own, IN, SPEC, 9), *b = core_net(shared, IN, SPEC, 9);
    float x[BATCH * IN];
    int32_t y[BATCH];
    for (int s = 0; s < 4; s++) {
        batch(x, y, 10 + s);
        ck_assert_clnn_ok(clnn_net_train_batch(a, x, BATCH, IN, y, BATCH));
        ck_assert_clnn_ok(clnn_net_train_batch(b, x, BATCH, IN, y, BATCH));
    }
    size_t na, nb;
    float *wa = core_read_all(a, false, false, &na), *wb = core_read_all(b, false, false, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert_mem_eq(wa, wb, na * sizeof *wa);
    free(wa);
    free(wb);
    clnn_net_free(a);
    clnn_net_free(b);
    clnn_context_free(own);
    clnn_context_free(shared);
    /* Still the application's: its queue runs work after clnn let go. */
    ck_assert_int_eq(clFinish(app_queue), CL_SUCCESS);
    clReleaseCommandQueue(app_queue);
    clReleaseContext(app_ctx);
}
END_TEST

/* ------------------------------------------------------------- progress */

typedef struct progress_log {
    int calls;
    int training; /* calls reporting training steps */
    int cancel_at; /* cancel on this call (1-based); 0: never */
    char what[64];
} progress_log;

static bool on_progress(const char *what, uint64_t done, uint64_t total, void *user)
{
    (void)done;
    (void)total;
    progress_log *p = user;
    snprintf(p->what, sizeof p->what, "%s", what);
    p->training += strcmp(what, "training") == 0;
    return ++p->calls != p->cancel_at;
}

START_TEST(test_progress_cancels_kernel_builds)
{
    /* A fresh context builds its programs on first use. */
    progress_log p = {.cancel_at = 2};
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.progress = on_progress;
    o.progress_user = &p;
    o.program_cache = CLNN_SWITCH_OFF;
    clnn_context *ctx = context_with(&o);
    clnn_net *net = NULL;
    ck_assert_clnn_ok(clnn_net_create(ctx, IN, &net));
    ck_assert_clnn_ok(clnn_net_add_layers(net, SPEC));
    clnn_status st = clnn_net_init(net, 3);
    if (st == CLNN_OK) {
        clnn_optimizer_options opt;
        clnn_optimizer_options_init(&opt, CLNN_OPTIMIZER_SGD);
        ck_assert_clnn_ok(clnn_net_set_optimizer(net, &opt));
        float x[BATCH * IN];
        int32_t y[BATCH];
        batch(x, y, 4);
        st = clnn_net_train_batch(net, x, BATCH, IN, y, BATCH);
    }
    ck_assert_int_eq(st, CLNN_ERR_CANCELLED);
    ck_assert_str_eq(p.what, "building kernels");
    ck_assert_msg(strstr(clnn_last_error(), "cancelled by the progress callback"), "%s",
                  clnn_last_error());
    clnn_net_free(net);

    /* The context stays usable: without the callback, the same work runs. */
    ck_assert_clnn_ok(clnn_context_set_progress(ctx, NULL, NULL));
    net = core_net(ctx, IN, SPEC, 3);
    float x[BATCH * IN];
    int32_t y[BATCH];
    batch(x, y, 4);
    ck_assert_clnn_ok(clnn_net_train_batch(net, x, BATCH, IN, y, BATCH));
    float loss;
    ck_assert_clnn_ok(clnn_net_read_loss(net, &loss));
    ck_assert(isfinite(loss));
    clnn_net_free(net);
    clnn_context_free(ctx);
}
END_TEST

/* clnn_net_train_epoch: the steps clnn_net_train_rows would take, bit for
 * bit, a last single row left out with BatchNorm, progress before each step
 * and a cancel that keeps the steps before it. */
#define ROWS 33 /* 4 steps of 8, and 1 row BatchNorm cannot train on */

static void epoch_data(clnn_net *net, float *x, int32_t *y)
{
    core_rng r = core_rng_make(21);
    core_fill(x, ROWS * IN, -1, 1, &r);
    core_fill_labels(y, ROWS, 3, &r);
    ck_assert_clnn_ok(clnn_net_set_data(net, x, ROWS, IN, y, ROWS));
}

START_TEST(test_train_epoch)
{
    static float x[ROWS * IN];
    int32_t y[ROWS];
    progress_log p = {0};
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.progress = on_progress;
    o.progress_user = &p;
    clnn_context *ctx = context_with(&o);
    clnn_net *a = core_net(ctx, IN, SPEC, 7), *b = core_net(ctx, IN, SPEC, 7);
    epoch_data(a, x, y);
    epoch_data(b, x, y);
    double loss = -1, acc = -1;
    ck_assert_clnn_ok(clnn_net_train_epoch(a, BATCH, &loss, &acc));
    ck_assert_int_eq(p.training, 4); /* (kernel builds report too, in between) */
    for (size_t first = 0; first + 1 < ROWS; first += BATCH)
        ck_assert_clnn_ok(clnn_net_train_rows(b, first, CLNN__MIN((size_t)BATCH, ROWS - 1 - first)));
    double loss_b, acc_b;
    uint64_t samples;
    ck_assert_clnn_ok(clnn_net_metrics_read(b, &loss_b, &acc_b, &samples));
    ck_assert_uint_eq(samples, ROWS - 1);
    ck_assert(loss == loss_b && acc == acc_b);
    size_t na, nb;
    float *wa = core_read_all(a, false, false, &na), *wb = core_read_all(b, false, false, &nb);
    ck_assert_mem_eq(wa, wb, na * sizeof *wa);
    free(wa);
    free(wb);

    /* Cancelled at its third step: two steps kept, as two steps alone. */
    clnn_net *c = core_net(ctx, IN, SPEC, 7), *d = core_net(ctx, IN, SPEC, 7);
    epoch_data(c, x, y);
    epoch_data(d, x, y);
    p = (progress_log){.cancel_at = 3}; /* the kernels are built: only steps report now */
    ck_assert_fails_with(clnn_net_train_epoch(c, BATCH, NULL, NULL), CLNN_ERR_CANCELLED,
                         "while training (16 of 32 done)");
    ck_assert_clnn_ok(clnn_context_set_progress(ctx, NULL, NULL));
    ck_assert_clnn_ok(clnn_net_train_rows(d, 0, BATCH));
    ck_assert_clnn_ok(clnn_net_train_rows(d, BATCH, BATCH));
    float *wc = core_read_all(c, false, false, &na), *wd = core_read_all(d, false, false, &nb);
    ck_assert_mem_eq(wc, wd, na * sizeof *wc);
    free(wc);
    free(wd);
    /* and the network trains on. */
    ck_assert_clnn_ok(clnn_net_train_epoch(c, BATCH, &loss, NULL));
    ck_assert(isfinite(loss));
    clnn_net *nets[] = {a, b, c, d};
    for (size_t i = 0; i < 4; i++)
        clnn_net_free(nets[i]);
    clnn_context_free(ctx);
}
END_TEST

START_TEST(test_progress_cancels_evaluation)
{
    static float x[ROWS * IN];
    int32_t y[ROWS];
    progress_log p = {.cancel_at = 2};
    clnn_context *ctx = context_with(NULL);
    clnn_net *net = core_net(ctx, IN, SPEC, 7);
    core_rng r = core_rng_make(5);
    core_fill(x, ROWS * IN, -1, 1, &r);
    core_fill_labels(y, ROWS, 3, &r);
    double loss, acc, loss2, acc2;
    ck_assert_clnn_ok(clnn_net_evaluate(net, x, ROWS, IN, y, ROWS, 10, &loss, &acc));
    ck_assert_clnn_ok(clnn_context_set_progress(ctx, on_progress, &p));
    ck_assert_fails_with(clnn_net_evaluate(net, x, ROWS, IN, y, ROWS, 10, &loss2, &acc2),
                         CLNN_ERR_CANCELLED, "while evaluating (10 of 33 done)");
    ck_assert_str_eq(p.what, "evaluating");
    ck_assert_clnn_ok(clnn_context_set_progress(ctx, NULL, NULL));
    ck_assert_clnn_ok(clnn_net_evaluate(net, x, ROWS, IN, y, ROWS, 10, &loss2, &acc2));
    ck_assert(loss == loss2 && acc == acc2);
    ck_assert(clnn_net_is_training(net)); /* the mode is restored, cancelled or not */
    clnn_net_free(net);
    clnn_context_free(ctx);
}
END_TEST

START_TEST(test_progress_cancels_tuning)
{
    char *dir = core_tmpdir();
    progress_log p = {.cancel_at = 5};
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.cache_dir = dir;
    o.progress = on_progress;
    o.progress_user = &p;
    clnn_context *ctx = context_with(&o);
    clnn_tune_options t;
    clnn_tune_options_init(&t);
    const size_t sizes[] = {8};
    t.spec = SPEC;
    t.in_features = IN;
    t.batch_sizes = sizes;
    t.n_batch_sizes = 1;
    t.quick = true;
    ck_assert_fails_with(clnn_context_tune(ctx, &t), CLNN_ERR_CANCELLED,
                         "the tuning file and the context's tuning are unchanged");
    ck_assert_str_eq(p.what, "tuning");
    char path[4096];
    ck_assert_clnn_ok(clnn_context_tuning_file(ctx, path, sizeof path));
    ck_assert_msg(!clnn__file_exists(path), "%s written by a cancelled tune", path);
    ck_assert(!clnn_context_is_tuned(ctx));
    /* Without the callback the same tune completes. */
    ck_assert_clnn_ok(clnn_context_set_progress(ctx, NULL, NULL));
    ck_assert_clnn_ok(clnn_context_tune(ctx, &t));
    ck_assert(clnn__file_exists(path));
    clnn_context_free(ctx);
    core_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *embedding_suite(void)
{
    Suite *s = suite_create("core-embedding");
    TCase *tc = tcase_create("embedding");
    tcase_add_test(tc, test_concurrent_use_refused);
    tcase_add_test(tc, test_nested_calls_pass);
    tcase_add_test(tc, test_context_freed_before_nets);
    tcase_add_test(tc, test_options_struct_size);
    tcase_add_test(tc, test_options_cache_and_program_cache);
    tcase_add_test(tc, test_options_tuning_switch);
    tcase_add_test(tc, test_options_log_callback);
    tcase_add_test(tc, test_options_application_queue);
    tcase_add_test(tc, test_progress_cancels_kernel_builds);
    tcase_add_test(tc, test_train_epoch);
    tcase_add_test(tc, test_progress_cancels_evaluation);
    tcase_add_test(tc, test_progress_cancels_tuning);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(embedding_suite());
}
