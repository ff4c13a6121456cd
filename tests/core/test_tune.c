/* Autotuning: a quick clnn_context_tune into a scratch cache folder, the
 * tuning file it writes (key fields, one entry per shape), its use by a new
 * context (GEMMs dispatched as the file says), training with tuned kernels
 * against training without them, and the cases where a file must not apply:
 * another key, a malformed file, CLNN_TUNING=0, an explicit backend. */
#include "core_test.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "base/platform.h"
#include "io/json.h"

/* A small stack with every GEMM kind: forward (N·Tᵀ), weight gradient
 * (Tᵀ·N) and input gradient (N·N, not for the first layer). */
static const char *const SPEC = "dense:32,bn,relu,dense:16,relu,dense:10";
#define FEATURES 20
static const size_t BATCHES[] = {16, 24};
#define SHAPES_PER_BATCH 8 /* 3 forward + 3 weight gradient + 2 input gradient */
#define STEPS 12

/* Tuned and untuned training differ only in the summation order inside the
 * GEMMs (float rounding, ~1e-7 relative per product). Twelve SGD steps with
 * momentum carry it into the parameters at up to 1.5e-7 of each tensor's
 * largest value on PoCL; 2e-5 leaves room for other devices while a wrong
 * kernel (a dropped or repeated term, a wrong tile edge) is off by far
 * more. */
#define TRAIN_TOL 2e-5

static char *cache_dir;

static clnn_context *context(clnn_gemm_backend backend, bool profiling)
{
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.gemm = backend;
    o.profiling = profiling;
    clnn_context *ctx = NULL;
    ck_assert_clnn_ok(clnn_context_create(&o, &ctx));
    return ctx;
}

/* The file as a C string. */
static char *read_text(const char *path, size_t *len)
{
    uint8_t *data = NULL;
    ck_assert_clnn_ok(clnn__read_file(path, &data, len));
    char *text = malloc(*len + 1);
    ck_assert_ptr_nonnull(text);
    memcpy(text, data, *len);
    text[*len] = '\0';
    free(data);
    return text;
}

static void write_text(const char *path, const char *text, size_t len)
{
    const void *chunks[] = {text};
    ck_assert_clnn_ok(clnn__atomic_write(path, chunks, &len, 1));
}

#ifdef CLNN_HAVE_CLBLAST /* used only where CLBlast is built in */
/* text with every occurrence of from replaced by to (malloc'ed). */
static char *replace_all(const char *text, const char *from, const char *to)
{
    size_t count = 0, lf = strlen(from), lt = strlen(to);
    for (const char *p = text; (p = strstr(p, from)) != NULL; p += lf)
        count++;
    char *out = malloc(strlen(text) + count * lt + 1), *o = out;
    ck_assert_ptr_nonnull(out);
    for (const char *p = text, *q; ; p = q + lf) {
        q = strstr(p, from);
        size_t n = q ? (size_t)(q - p) : strlen(p);
        memcpy(o, p, n);
        o += n;
        if (!q)
            break;
        memcpy(o, to, lt);
        o += lt;
    }
    *o = '\0';
    return out;
}
#endif

static const clnn__json *member(const clnn__json *obj, const char *key)
{
    ck_assert_int_eq(obj->kind, CLNN__JSON_OBJECT);
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    ck_abort_msg("tuning file lacks \"%s\"", key);
    return NULL;
}

static void tune(clnn_context *ctx, bool missing_only, clnn_tune_report *rep)
{
    clnn_tune_options t;
    clnn_tune_options_init(&t);
    t.spec = SPEC;
    t.in_features = FEATURES;
    t.batch_sizes = BATCHES;
    t.n_batch_sizes = sizeof BATCHES / sizeof BATCHES[0];
    t.quick = true;
    t.missing_only = missing_only;
    ck_assert_clnn_ok(clnn_context_tune(ctx, &t));
    ck_assert_clnn_ok(clnn_context_tune_report(ctx, rep));
}

/* Train STEPS steps on fixed random data and return the net. */
static clnn_net *train(clnn_context *ctx)
{
    clnn_net *net = core_net(ctx, FEATURES, SPEC, 5);
    clnn_optimizer_options o;
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_SGD);
    o.lr = 0.05;
    o.momentum = 0.9;
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &o));
    core_rng r = core_rng_make(77);
    const size_t batch = BATCHES[1];
    float x[24 * FEATURES];
    int32_t y[24];
    for (int s = 0; s < STEPS; s++) {
        core_fill(x, batch * FEATURES, -1, 1, &r);
        core_fill_labels(y, batch, 10, &r);
        ck_assert_clnn_ok(clnn_net_train_batch(net, x, batch, clnn_net_in_features(net), y, batch));
    }
    ck_assert_clnn_ok(clnn_context_finish(ctx));
    return net;
}

static void compare_nets(const char *what, clnn_net *a, clnn_net *b)
{
    ck_assert_uint_eq(clnn_net_tensor_count(a), clnn_net_tensor_count(b));
    for (size_t i = 0; i < clnn_net_tensor_count(a); i++) {
        clnn_tensor_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_net_tensor_info(a, i, &info));
        if (info.dtype != CLNN_DTYPE_F32)
            continue;
        float *va = core_read(a, info.name), *vb = core_read(b, info.name);
        double *ref = malloc(info.numel * sizeof *ref);
        ck_assert_ptr_nonnull(ref);
        for (size_t j = 0; j < info.numel; j++)
            ref[j] = vb[j];
        char label[160];
        snprintf(label, sizeof label, "%s: %s", what, info.name);
        core_check_close(label, va, ref, info.numel, 1e-3, TRAIN_TOL);
        free(va), free(vb), free(ref);
    }
}

/* Which GEMM implementations ran, from the profile of one training step,
 * and whether a dense layer's bias needed its own launch (only after CLBlast:
 * the own kernels add it as they store). */
static void gemm_kernels_used(clnn_context *ctx, bool *own, bool *clblast, bool *bias_add)
{
    clnn_net *net = core_net(ctx, FEATURES, SPEC, 3);
    core_rng r = core_rng_make(3);
    float x[16 * FEATURES];
    int32_t y[16];
    core_fill(x, 16 * FEATURES, -1, 1, &r);
    core_fill_labels(y, 16, 10, &r);
    clnn_context_profile_reset(ctx);
    ck_assert_clnn_ok(clnn_net_train_batch(net, x, 16, clnn_net_in_features(net), y, 16));
    size_t n;
    clnn_profile_entry *e = clnn_test_profile(ctx, &n);
    *own = *clblast = *bias_add = false;
    for (size_t i = 0; i < n; i++) {
        *own |= strncmp(e[i].kernel, "gemm_", 5) == 0;
        *clblast |= strcmp(e[i].kernel, "clblast_sgemm") == 0;
        *bias_add |= strcmp(e[i].kernel, "bias_add") == 0;
    }
    free(e);
    clnn_net_free(net);
}

START_TEST(test_tune_writes_and_applies)
{
    clnn_context *ctx = context(CLNN_GEMM_AUTO, false);
    ck_assert(clnn_context_tuning_enabled(ctx));
    ck_assert(!clnn_context_is_tuned(ctx));
    clnn_tune_report none = {.struct_size = sizeof none};
    ck_assert_int_eq(clnn_context_tune_report(ctx, &none), CLNN_ERR_STATE);
    /* Looking for a tuning file (and asking where it goes) creates no
     * folder; only writing one does. */
    char folder[4096];
    struct stat sb;
    snprintf(folder, sizeof folder, "%s/tuning", cache_dir);
    char where[4096];
    ck_assert_clnn_ok(clnn_context_tuning_file(ctx, where, sizeof where));
    ck_assert_msg(stat(folder, &sb) != 0, "%s exists before anything was tuned", folder);

    clnn_tune_report rep = {.struct_size = sizeof rep};
    tune(ctx, false, &rep);
    ck_assert(clnn_context_is_tuned(ctx));
    ck_assert_uint_eq(rep.count, SHAPES_PER_BATCH * (sizeof BATCHES / sizeof BATCHES[0]));
    size_t own_chosen = 0;
    for (size_t i = 0; i < rep.count; i++) {
        clnn_tune_result res = {.struct_size = sizeof res};
        ck_assert_clnn_ok(clnn_context_tune_result(ctx, i, &res));
        const clnn_tune_result *r = &res;
        ck_assert_msg(r->chosen == CLNN_GEMM_OWN || r->chosen == CLNN_GEMM_CLBLAST,
                      "shape %zu: chosen %d", i, (int)r->chosen);
        ck_assert_msg(r->chosen_us > 0 && r->gflops > 0 && r->candidates > r->rejected,
                      "shape %zu: %.1f us, %u candidates, %u rejected", i, r->chosen_us,
                      r->candidates, r->rejected);
        ck_assert(r->chosen_us <= (r->chosen == CLNN_GEMM_OWN ? r->own_us : r->clblast_us));
        own_chosen += r->chosen == CLNN_GEMM_OWN;
    }
    ck_assert_msg(stat(folder, &sb) == 0 && S_ISDIR(sb.st_mode), "tuning made no %s", folder);
    char path[4096];
    ck_assert_clnn_ok(clnn_context_tuning_file(ctx, path, sizeof path));
    ck_assert_str_eq(path, rep.path);
    ck_assert_str_eq(path, where);
    ck_assert_msg(strncmp(path, cache_dir, strlen(cache_dir)) == 0, "%s not under %s", path,
                  cache_dir);

    /* The file: format, key and one entry per shape. */
    size_t len;
    char *text = read_text(path, &len);
    clnn__json root;
    ck_assert_clnn_ok(clnn__json_parse(text, len, &root));
    ck_assert_str_eq(member(&root, "format")->str, "clnn-tuning");
    ck_assert_uint_eq(member(&root, "format_version")->uint, 1);
    const clnn__json *key = member(&root, "key");
    clnn_device_info info = {.struct_size = sizeof info};
    ck_assert_clnn_ok(clnn_context_get_device_info(ctx, &info));
    ck_assert_str_eq(member(key, "platform")->str, info.platform);
    ck_assert_str_eq(member(key, "device")->str, info.name);
    ck_assert_str_eq(member(key, "driver")->str, info.driver_version);
    ck_assert_str_eq(member(key, "clnn")->str, clnn_version());
    ck_assert_int_eq(member(key, "device_version")->kind, CLNN__JSON_STRING);
    ck_assert_int_eq(member(key, "gemm_kernels")->kind, CLNN__JSON_STRING);
    ck_assert_uint_eq(member(&root, "shapes")->count, rep.count);
    clnn__json_free(&root);

    /* A new context applies it: its GEMMs run where the file says. */
    clnn_context *prof = context(CLNN_GEMM_AUTO, true);
    ck_assert(clnn_context_is_tuned(prof));
    bool own, clblast, bias_add;
    gemm_kernels_used(prof, &own, &clblast, &bias_add);
    ck_assert_msg(own == (own_chosen > 0) && clblast == (own_chosen < rep.count),
                  "own kernels ran: %d, CLBlast ran: %d; file: %zu of %zu shapes own", own,
                  clblast, own_chosen, rep.count);
    clnn_context_free(prof);

#ifdef CLNN_HAVE_CLBLAST
    /* A file that sends every shape to CLBlast is followed just as well
     * (where CLBlast is built in: elsewhere there is none to send them to). */
    char *to_clblast = replace_all(text, "\"backend\": \"own\"", "\"backend\": \"clblast\"");
    write_text(path, to_clblast, strlen(to_clblast));
    free(to_clblast);
    prof = context(CLNN_GEMM_AUTO, true);
    ck_assert(clnn_context_is_tuned(prof));
    gemm_kernels_used(prof, &own, &clblast, &bias_add);
    ck_assert_msg(!own && clblast && bias_add, "own kernels ran: %d, CLBlast ran: %d, bias_add "
                  "ran: %d", own, clblast, bias_add);
    clnn_context_free(prof);
#endif

    /* Another key: ignored. */
    char *other = strdup(text);
    ck_assert_ptr_nonnull(other);
    char needle[96];
    snprintf(needle, sizeof needle, "\"clnn\": \"%s\"", clnn_version());
    char *at = strstr(other, needle);
    ck_assert_ptr_nonnull(at);
    at[strlen(needle) - 2] = at[strlen(needle) - 2] == '9' ? '8' : '9'; /* last version digit */
    write_text(path, other, len);
    clnn_context *ignored = context(CLNN_GEMM_AUTO, false);
    ck_assert(!clnn_context_is_tuned(ignored));
    clnn_context_free(ignored);
    free(other);

    /* A malformed file: ignored, the context works untuned. */
    write_text(path, "{\"format\": ", 11);
    ignored = context(CLNN_GEMM_AUTO, false);
    ck_assert(!clnn_context_is_tuned(ignored));
    clnn_context_free(ignored);

    /* The original again; then nothing is missing for missing_only. */
    write_text(path, text, len);
    clnn_context *again = context(CLNN_GEMM_AUTO, false);
    ck_assert(clnn_context_is_tuned(again));
    tune(again, true, &rep);
    ck_assert_uint_eq(rep.count, 0);
    clnn_context_free(again);
    free(text);
    clnn_context_free(ctx);
}
END_TEST

START_TEST(test_tuning_not_applied_when_disabled)
{
    /* The file from the test above is in place. */
    clnn_context *ctx = context(CLNN_GEMM_AUTO, false);
    ck_assert(clnn_context_is_tuned(ctx));
    clnn_context_free(ctx);
    for (size_t b = 0; b < CORE_BACKENDS; b++) {
        ctx = context(core_backends[b], false);
        ck_assert(!clnn_context_tuning_enabled(ctx));
        ck_assert(!clnn_context_is_tuned(ctx));
        clnn_context_free(ctx);
    }
    setenv("CLNN_TUNING", "0", 1);
    ctx = context(CLNN_GEMM_AUTO, false);
    unsetenv("CLNN_TUNING");
    ck_assert(!clnn_context_tuning_enabled(ctx));
    ck_assert(!clnn_context_is_tuned(ctx));
    clnn_context_free(ctx);
}
END_TEST

START_TEST(test_tuned_training_matches_untuned)
{
    clnn_context *tuned = context(CLNN_GEMM_AUTO, false);
    ck_assert(clnn_context_is_tuned(tuned));
    setenv("CLNN_TUNING", "0", 1);
    clnn_context *untuned = context(CLNN_GEMM_AUTO, false);
    unsetenv("CLNN_TUNING");
    ck_assert(!clnn_context_is_tuned(untuned));
    clnn_context *own = context(CLNN_GEMM_OWN, false);
    clnn_net *a = train(tuned), *b = train(untuned), *c = train(own);
    compare_nets("tuned vs CLNN_TUNING=0", a, b);
    compare_nets("tuned vs own defaults", a, c);
    clnn_net_free(a), clnn_net_free(b), clnn_net_free(c);
    clnn_context_free(tuned), clnn_context_free(untuned), clnn_context_free(own);
}
END_TEST

START_TEST(test_tune_rejects_bad_options)
{
    clnn_context *ctx = context(CLNN_GEMM_AUTO, false);
    clnn_tune_options t;
    clnn_tune_options_init(&t);
    size_t batch = 8, zero = 0;
    ck_assert_fails_with(clnn_context_tune(ctx, &t), CLNN_ERR_INVALID_ARGUMENT, "spec");
    t.spec = "dense:4";
    ck_assert_fails_with(clnn_context_tune(ctx, &t), CLNN_ERR_INVALID_ARGUMENT, "in_features");
    t.in_features = 3;
    ck_assert_fails_with(clnn_context_tune(ctx, &t), CLNN_ERR_INVALID_ARGUMENT, "batch");
    t.batch_sizes = &zero;
    t.n_batch_sizes = 1;
    ck_assert_fails_with(clnn_context_tune(ctx, &t), CLNN_ERR_INVALID_ARGUMENT, "batch size 0");
    t.batch_sizes = &batch;
    t.spec = "dense:4,frob";
    ck_assert_fails_with(clnn_context_tune(ctx, &t), CLNN_ERR_SPEC, "frob");
    ck_assert_fails_with(clnn_context_tune(NULL, &t), CLNN_ERR_INVALID_ARGUMENT, "ctx");
    clnn_context_free(ctx);
}
END_TEST

static Suite *tune_suite(void)
{
    Suite *s = suite_create("core-tune");
    TCase *tc = tcase_create("tune");
    /* In order: the later tests use the file the first writes. */
    tcase_add_test(tc, test_tune_writes_and_applies);
    tcase_add_test(tc, test_tuning_not_applied_when_disabled);
    tcase_add_test(tc, test_tuned_training_matches_untuned);
    tcase_add_test(tc, test_tune_rejects_bad_options);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    /* A scratch cache, so the test neither reads nor replaces the user's
     * (made here, outside any test, where Check's asserts cannot report). */
    cache_dir = clnn_test_tmpdir("clnn-tune");
    if (!cache_dir) {
        perror("clnn-tune scratch folder");
        return EXIT_FAILURE;
    }
    setenv("CLNN_CACHE_DIR", cache_dir, 1);
    unsetenv("CLNN_TUNING");
    unsetenv("CLNN_GEMM");
    int rc = core_run(tune_suite());
    core_rmtree(cache_dir);
    free(cache_dir);
    return rc;
}
