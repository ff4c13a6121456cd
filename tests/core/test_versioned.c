/* Versioned structs: every public struct the caller allocates begins with
 * struct_size, and every call that takes one
 *  - refuses struct_size 0, or below the struct's first version, with
 *    CLNN_ERR_INVALID_ARGUMENT naming the call, the type and the fix, and
 *    writes nothing into it then;
 *  - reads and writes no byte past struct_size: a record of exactly the
 *    first version's size keeps the bytes after it (its padding here; a
 *    field of a later version once one grows), and an options struct of
 *    exactly that size is read from a heap block of that size (ASan's
 *    setup sees any read past it);
 *  - leaves alone the tail of a newer header's larger struct, and the
 *    caller's struct_size.
 * The copying itself (base/versioned.c) is checked with a struct that has
 * grown since a first version: an older caller's record gets its fields
 * only, and an older caller's options keep the defaults of the rest. */
#include "core_test.h"

#include "internal.h"

#define CANARY 0xA5
/* What a newer header's struct would have past ours. */
#define TAIL 16
#define IN 5
#define BATCH 6
#define SPEC "dense:4,relu,dense:3"

/* One profiling context (cache in a scratch folder, tuned) and a network on
 * it trained one batch, with the profile table read: what the output
 * records describe. Made by the first test that needs it, freed at exit. */
static struct {
    char *cache;
    clnn_context *ctx;
    clnn_net *net;
} fx;

static clnn_context *context_in(const char *cache, bool profiling)
{
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.cache_dir = cache;
    o.profiling = profiling;
    clnn_context *ctx = NULL;
    ck_assert_clnn_ok(clnn_context_create(&o, &ctx));
    return ctx;
}

static const size_t tune_batches[] = {BATCH};

static void tune_options(clnn_tune_options *t)
{
    clnn_tune_options_init(t);
    t->spec = SPEC;
    t->in_features = IN;
    t->batch_sizes = tune_batches;
    t->n_batch_sizes = 1;
    t->quick = true;
    t->missing_only = true;
}

static void fixture_up(void)
{
    if (fx.ctx)
        return;
    fx.cache = core_tmpdir();
    fx.ctx = context_in(fx.cache, true);
    clnn_tune_options t;
    tune_options(&t);
    ck_assert_clnn_ok(clnn_context_tune(fx.ctx, &t));
    fx.net = core_net(fx.ctx, IN, SPEC, 3);
    core_rng r = core_rng_make(5);
    float x[BATCH * IN];
    int32_t y[BATCH];
    core_fill(x, BATCH * IN, -1, 1, &r);
    core_fill_labels(y, BATCH, 3, &r);
    ck_assert_clnn_ok(clnn_net_train_batch(fx.net, x, BATCH, IN, y, BATCH));
    size_t n = 0;
    ck_assert_clnn_ok(clnn_context_profile_read(fx.ctx, &n));
    ck_assert_uint_gt(n, 0);
}

static void fixture_down(void)
{
    clnn_net_free(fx.net);
    clnn_context_free(fx.ctx);
    if (fx.cache)
        core_rmtree(fx.cache);
    free(fx.cache);
}

static size_t size_of(const void *s)
{
    size_t n;
    memcpy(&n, s, sizeof n);
    return n;
}

static void set_size(void *s, size_t n)
{
    memcpy(s, &n, sizeof n);
}

/* Bytes [from, to) of p are all CANARY. */
static bool untouched(const unsigned char *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (p[i] != CANARY)
            return false;
    return true;
}

/* cap bytes of CANARY (the caller frees them). */
static unsigned char *canary_block(size_t cap)
{
    unsigned char *p = malloc(cap);
    ck_assert_ptr_nonnull(p);
    memset(p, CANARY, cap);
    return p;
}

/* A call that takes a versioned struct: run calls it on the struct at s. */
typedef struct versioned_call {
    const char *call, *type;
    size_t size, first_version;
    void (*make)(void *options); /* options only: valid settings, through _init */
    clnn_status (*run)(void *s);
} versioned_call;

/* The call on buf refuses struct_size 0 and one byte below the first
 * version, saying fix, and leaves struct_size as it was. */
static void expect_refused(const versioned_call *c, void *buf, const char *fix)
{
    const size_t refused[] = {0, c->first_version - 1};
    for (size_t i = 0; i < 2; i++) {
        set_size(buf, refused[i]);
        char want[256];
        snprintf(want, sizeof want, "%s: %s.struct_size is %zu", c->call, c->type, refused[i]);
        ck_assert_fails_with(c->run(buf), CLNN_ERR_INVALID_ARGUMENT, want);
        snprintf(want, sizeof want, fix, c->type);
        ck_assert_fails_with(c->run(buf), CLNN_ERR_INVALID_ARGUMENT, want);
        ck_assert_uint_eq(size_of(buf), refused[i]);
    }
}

/* ------------------------------------------------------- output records */

static clnn_status device_get_info(void *r)
{
    return clnn_device_get_info(0, r);
}
static clnn_status context_get_device_info(void *r)
{
    return clnn_context_get_device_info(fx.ctx, r);
}
static clnn_status probe_peak(void *r)
{
    return clnn_context_probe_peak(fx.ctx, r);
}
static clnn_status profile_entry(void *r)
{
    return clnn_context_profile_entry(fx.ctx, 0, r);
}
static clnn_status tune_report(void *r)
{
    return clnn_context_tune_report(fx.ctx, r);
}
static clnn_status tune_result(void *r)
{
    return clnn_context_tune_result(fx.ctx, 0, r);
}
static clnn_status tensor_info(void *r)
{
    return clnn_net_tensor_info(fx.net, 0, r);
}
static clnn_status layer_info(void *r)
{
    return clnn_net_layer_info(fx.net, 0, r);
}

#define OUTPUT(call, type, fn) {#call, #type, sizeof(type), CLNN__V1_##type, NULL, fn}
static const versioned_call outputs[] = {
    OUTPUT(clnn_device_get_info, clnn_device_info, device_get_info),
    OUTPUT(clnn_context_get_device_info, clnn_device_info, context_get_device_info),
    OUTPUT(clnn_context_probe_peak, clnn_device_peak, probe_peak),
    OUTPUT(clnn_context_profile_entry, clnn_profile_entry, profile_entry),
    OUTPUT(clnn_context_tune_report, clnn_tune_report, tune_report),
    OUTPUT(clnn_context_tune_result, clnn_tune_result, tune_result),
    OUTPUT(clnn_net_tensor_info, clnn_tensor_info, tensor_info),
    OUTPUT(clnn_net_layer_info, clnn_layer_info, layer_info),
};
#define N_OUTPUTS (sizeof outputs / sizeof outputs[0])

START_TEST(test_output_record)
{
    fixture_up();
    const versioned_call *c = &outputs[_i];
    const size_t cap = c->size + TAIL;
    unsigned char *buf = canary_block(cap);
    expect_refused(c, buf, "set it to sizeof(%s)");
    ck_assert_msg(untouched(buf, sizeof(size_t), cap), "%s wrote into a refused %s", c->call,
                  c->type);
    /* The first version's size exactly: filled, and nothing after it. */
    set_size(buf, c->first_version);
    ck_assert_clnn_ok(c->run(buf));
    ck_assert_uint_eq(size_of(buf), c->first_version);
    ck_assert_msg(!untouched(buf, sizeof(size_t), c->first_version), "%s filled nothing",
                  c->call);
    ck_assert_msg(untouched(buf, c->first_version, cap), "%s wrote past struct_size %zu",
                  c->call, c->first_version);
    /* A newer header's larger struct: its tail is left as it was. */
    memset(buf, CANARY, cap);
    set_size(buf, cap);
    ck_assert_clnn_ok(c->run(buf));
    ck_assert_uint_eq(size_of(buf), cap);
    ck_assert_msg(untouched(buf, c->size, cap), "%s wrote past sizeof(%s)", c->call, c->type);
    free(buf);
}
END_TEST

/* ------------------------------------------------------------- options */

static void make_context_options(void *o)
{
    clnn_context_options_init(o);
    ((clnn_context_options *)o)->cache_dir = fx.cache;
}
static clnn_status context_create(void *o)
{
    clnn_context *ctx = NULL;
    clnn_status st = clnn_context_create(o, &ctx);
    clnn_context_free(ctx);
    return st;
}

static void make_tune_options(void *o)
{
    tune_options(o);
}
/* A context of its own: fx.ctx keeps its report. It loads the tuning file
 * fx.ctx wrote, so nothing is missing and each call returns at once. */
static clnn_status context_tune(void *o)
{
    clnn_context *ctx = context_in(fx.cache, false);
    clnn_status st = clnn_context_tune(ctx, o);
    clnn_context_free(ctx);
    return st;
}

static void make_optimizer_options(void *o)
{
    clnn_optimizer_options_init(o, CLNN_OPTIMIZER_ADAM);
    ((clnn_optimizer_options *)o)->lr = 0.02;
}
static clnn_status set_optimizer(void *o)
{
    return clnn_net_set_optimizer(fx.net, o);
}

static clnn_status sum_alone(float *data, size_t count, void *user)
{
    (void)data, (void)count, (void)user;
    return CLNN_OK;
}
static void make_parallel_options(void *o)
{
    clnn_parallel_options_init(o);
    ((clnn_parallel_options *)o)->allreduce = sum_alone;
}
static clnn_status set_parallel(void *o)
{
    clnn_status st = clnn_net_set_parallel(fx.net, o);
    if (st == CLNN_OK)
        ck_assert_clnn_ok(clnn_net_set_parallel(fx.net, NULL)); /* alone again */
    return st;
}

#define INPUT(call, type, make, apply) {#call, #type, sizeof(type), CLNN__V1_##type, make, apply}
static const versioned_call inputs[] = {
    INPUT(clnn_context_create, clnn_context_options, make_context_options, context_create),
    INPUT(clnn_context_tune, clnn_tune_options, make_tune_options, context_tune),
    INPUT(clnn_net_set_optimizer, clnn_optimizer_options, make_optimizer_options, set_optimizer),
    INPUT(clnn_net_set_parallel, clnn_parallel_options, make_parallel_options, set_parallel),
};
#define N_INPUTS (sizeof inputs / sizeof inputs[0])

START_TEST(test_options)
{
    fixture_up();
    const versioned_call *c = &inputs[_i];
    const size_t cap = c->size + TAIL;
    unsigned char *buf = canary_block(cap);
    c->make(buf);
    ck_assert_uint_eq(size_of(buf), c->size); /* _init sets it */
    expect_refused(c, buf, "fill the struct with %s_init");
    /* A program whose struct is the first version: read from a block of
     * exactly that size. */
    unsigned char *first = malloc(c->first_version);
    ck_assert_ptr_nonnull(first);
    memcpy(first, buf, c->first_version);
    set_size(first, c->first_version);
    ck_assert_clnn_ok(c->run(first));
    free(first);
    /* A newer header's larger struct, whose tail this library ignores. */
    set_size(buf, cap);
    ck_assert_clnn_ok(c->run(buf));
    free(buf);
}
END_TEST

/* --------------------------------------------- the copying, on a grown struct */

/* A struct as a later version has it; its first version ended at b. */
typedef struct grown {
    size_t struct_size;
    int a;
    double b;
    /* added later */
    char c[5];
    double d;
} grown;
#define GROWN_V1 CLNN__V1_SIZE(grown, b)

START_TEST(test_copy_an_older_record)
{
    const grown full = {.struct_size = sizeof full, .a = 7, .b = 2.5, .c = "abcd", .d = 4.0};
    unsigned char buf[sizeof(grown) + TAIL];
    memset(buf, CANARY, sizeof buf);
    set_size(buf, GROWN_V1); /* an older program's record */
    ck_assert_clnn_ok(clnn__struct_out_check(buf, GROWN_V1, "call", "grown"));
    clnn__struct_out(buf, &full, sizeof full);
    grown got;
    memcpy(&got, buf, GROWN_V1);
    ck_assert_uint_eq(got.struct_size, GROWN_V1);
    ck_assert_int_eq(got.a, 7);
    ck_assert(got.b == 2.5);
    ck_assert_msg(untouched(buf, GROWN_V1, sizeof buf), "written past the older struct_size");

    memset(buf, CANARY, sizeof buf);
    set_size(buf, sizeof buf); /* a newer program's */
    clnn__struct_out(buf, &full, sizeof full);
    memcpy(&got, buf, sizeof got);
    ck_assert_uint_eq(got.struct_size, sizeof buf);
    ck_assert_str_eq(got.c, "abcd");
    ck_assert(got.d == 4.0);
    ck_assert_msg(untouched(buf, sizeof full, sizeof buf), "written past the library's struct");

    set_size(buf, GROWN_V1 - 1);
    ck_assert_fails_with(clnn__struct_out_check(buf, GROWN_V1, "call", "grown"),
                         CLNN_ERR_INVALID_ARGUMENT, "call: grown.struct_size is");
}
END_TEST

START_TEST(test_copy_older_options)
{
    const grown defaults = {.struct_size = sizeof defaults, .a = 1, .b = 1.0, .c = "dflt",
                            .d = 8.0};
    /* An older program's options: the first version's fields, in a block of
     * just that size. */
    unsigned char *older = malloc(GROWN_V1);
    ck_assert_ptr_nonnull(older);
    const grown given = {.struct_size = GROWN_V1, .a = 3, .b = -2.0};
    memcpy(older, &given, GROWN_V1);
    grown o = defaults;
    ck_assert_clnn_ok(clnn__struct_in(&o, sizeof o, older, GROWN_V1, "call", "grown"));
    free(older);
    ck_assert_uint_eq(o.struct_size, sizeof o); /* the library's copy is whole */
    ck_assert_int_eq(o.a, 3);
    ck_assert(o.b == -2.0);
    ck_assert_str_eq(o.c, "dflt");
    ck_assert(o.d == 8.0);

    /* A newer program's: read up to the library's size. */
    unsigned char newer[sizeof(grown) + TAIL];
    memset(newer, CANARY, sizeof newer);
    const grown all = {.struct_size = sizeof newer, .a = 5, .b = 6.0, .c = "new", .d = 9.0};
    memcpy(newer, &all, sizeof all);
    o = defaults;
    ck_assert_clnn_ok(clnn__struct_in(&o, sizeof o, newer, GROWN_V1, "call", "grown"));
    ck_assert_uint_eq(o.struct_size, sizeof o);
    ck_assert_int_eq(o.a, 5);
    ck_assert_str_eq(o.c, "new");
    ck_assert(o.d == 9.0);

    set_size(newer, 0);
    o = defaults;
    ck_assert_fails_with(clnn__struct_in(&o, sizeof o, newer, GROWN_V1, "call", "grown"),
                         CLNN_ERR_INVALID_ARGUMENT, "call: grown.struct_size is 0");
    ck_assert_int_eq(o.a, 1); /* nothing taken from a refused struct */
}
END_TEST

static Suite *versioned_suite(void)
{
    Suite *s = suite_create("core-versioned");
    TCase *copy = tcase_create("copying");
    tcase_add_test(copy, test_copy_an_older_record);
    tcase_add_test(copy, test_copy_older_options);
    suite_add_tcase(s, copy);
    TCase *calls = tcase_create("calls");
    tcase_add_loop_test(calls, test_output_record, 0, N_OUTPUTS);
    tcase_add_loop_test(calls, test_options, 0, N_INPUTS);
    suite_add_tcase(s, calls);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    int status = core_run(versioned_suite());
    fixture_down();
    return status;
}
