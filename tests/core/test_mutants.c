/* The suite must catch plausible kernel mistakes. For each mutant below, a
 * scratch copy of kernels/ (from CLNN_SOURCE_KERNELS) gets one textual edit,
 * and the core test programs named for it (found in CLNN_CORE_TESTS) are
 * run with CLNN_KERNEL_DIR pointing at the copy: each must fail. A control
 * run with an unedited copy must pass, so that failures come from the edit,
 * not from loading kernels from disk. An edit whose text no longer occurs
 * in the kernel fails this test: the table must follow the kernels. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf */
#endif
#include "core_test.h"

#include <dirent.h>
#include <stdlib.h>
#ifndef _WIN32
#include <sys/wait.h>
#include <unistd.h>
#endif

typedef struct mutant {
    const char *what;
    const char *file;
    const char *find, *replace;
    const char *catchers[3]; /* test programs that must fail */
} mutant;

static const mutant mutants[] = {
    {"BatchNorm variance without the 1/N", "batchnorm.cl", "const vec var = ss / rows;",
     "const vec var = ss;", {"layers", "batchnorm", "gradcheck"}},
    {"BatchNorm running_var from the biased variance", "batchnorm.cl",
     "const vec unbiased = ss / (rows - 1);", "const vec unbiased = ss / rows;",
     {"batchnorm", "layers"}},
    {"BatchNorm running_mean without momentum", "batchnorm.cl",
     "(1.0f - momentum) * LOAD(stats, rmean_off + c) + momentum * mean", "mean", {"batchnorm"}},
    {"BatchNorm backward without the mean term", "batchnorm.cl",
     "- b - (LOAD(x, (r) * ld + c) - mean) * e", "- (LOAD(x, (r) * ld + c) - mean) * e",
     {"layers", "gradcheck"}},
    {"SGD momentum ignoring dampening", "optimizer.cl",
     "momentum * LOAD(buf, i) + one_minus_dampening * d", "momentum * LOAD(buf, i) + d",
     {"optimizer"}},
    {"SGD momentum buffer without the momentum factor", "optimizer.cl",
     "momentum * LOAD(buf, i) + one_minus_dampening * d",
     "LOAD(buf, i) + one_minus_dampening * d",
     {"optimizer", "batchnorm"}},
    {"SGD Nesterov update without the look-ahead", "optimizer.cl",
     "d = nesterov ? d + momentum * b : b;", "d = b;", {"optimizer"}},
    {"SGD first step dampened", "optimizer.cl", "first ? d :", "first ? one_minus_dampening * d :",
     {"optimizer"}},
    {"Adam without the second bias correction", "optimizer.cl",
     "sqrt(vi) / bias_correction2_sqrt + eps", "sqrt(vi) + eps", {"optimizer"}},
    /* activation.cl's ReLU runs where no BatchNorm precedes it, or with
     * CLNN_NO_FUSION=1; core-layers covers both. */
    {"ReLU gradient passing at zero output", "activation.cl", "y[i] > 0.0f ? dy[i]",
     "y[i] >= 0.0f ? dy[i]", {"layers"}},
    {"fused BatchNorm+ReLU forward without the ReLU", "batchnorm.cl",
     "STORE(fmax(v, 0.0f), relu_out, r * ld + c);", "STORE(v, relu_out, r * ld + c);", {"layers"}},
    {"fused BatchNorm+ReLU backward without the ReLU mask", "batchnorm.cl",
     "(fuse_relu ? select((vec)0.0f, LOAD(dy, i), LOAD(y, i) > 0.0f) : LOAD(dy, i))",
     "(LOAD(dy, i))", {"layers", "gradcheck"}},
    {"LeakyReLU forward at PyTorch's default slope, not the spec's", "activation.cl",
     "y[i] = v > 0.0f ? v : v * slope;", "y[i] = v > 0.0f ? v : v * 0.01f;", {"layers"}},
    {"LeakyReLU gradient without the slope", "activation.cl", "? dy[i] : dy[i] * slope;",
     "? dy[i] : 0.0f;", {"layers", "gradcheck"}},
    {"GELU forward in its tanh approximation", "activation.cl",
     "y[i] = v * 0.5f * (1.0f + erf(v * GELU_SQRT1_2));",
     "y[i] = v * 0.5f * (1.0f + tanh(0.7978845608f * (v + 0.044715f * v * v * v)));", {"layers"}},
    {"GELU gradient without its x·φ(x) term", "activation.cl", "dx[i] = dy[i] * (cdf + v * pdf);",
     "dx[i] = dy[i] * cdf;", {"layers", "gradcheck"}},
    {"Tanh gradient 1 − y instead of 1 − y²", "activation.cl", "dx[i] = dy[i] * (1.0f - v * v);",
     "dx[i] = dy[i] * (1.0f - v);", {"layers", "gradcheck"}},
    {"sigmoid of negative inputs from the wrong branch", "activation.cl",
     ": e / (1.0f + e);", ": 1.0f / (1.0f + e);", {"layers"}},
    {"Sigmoid gradient without the factor y", "activation.cl", "dx[i] = dy[i] * (1.0f - v) * v;",
     "dx[i] = dy[i] * (1.0f - v);", {"layers", "gradcheck"}},
    {"SiLU gradient σ(x) alone", "activation.cl", "dx[i] = dy[i] * s * (1.0f + v * (1.0f - s));",
     "dx[i] = dy[i] * s;", {"layers", "gradcheck"}},
    {"cross-entropy gradient not averaged", "loss.cl", "(((p) - (hot)) * scale)", "((p) - (hot))",
     {"layers", "gradcheck"}},
};
#define N_MUTANTS (sizeof mutants / sizeof mutants[0])

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    char buf[8192];
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            text = realloc(text, cap);
            ck_assert_ptr_nonnull(text);
        }
        memcpy(text + len, buf, n);
        len += n;
    }
    fclose(f);
    if (!text)
        text = calloc(1, 1);
    text[len] = '\0';
    return text;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}

/* A copy of every kernel source, with mutant m applied (m may be NULL). */
static char *kernel_copy(const mutant *m)
{
    const char *src = getenv("CLNN_SOURCE_KERNELS");
    ck_assert_msg(src && *src, "CLNN_SOURCE_KERNELS is not set (run through meson test)");
    char *dir = core_tmpdir();
    DIR *d = opendir(src);
    ck_assert_msg(d != NULL, "cannot open %s", src);
    bool applied = m == NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".cl") != 0)
            continue;
        char *from, *to;
        ck_assert_int_ge(asprintf(&from, "%s/%s", src, e->d_name), 0);
        ck_assert_int_ge(asprintf(&to, "%s/%s", dir, e->d_name), 0);
        char *text = read_file(from);
        if (m && strcmp(e->d_name, m->file) == 0) {
            char *at = strstr(text, m->find);
            ck_assert_msg(at != NULL, "mutant \"%s\": \"%s\" not found in %s", m->what, m->find,
                          m->file);
            char *edited;
            ck_assert_int_ge(asprintf(&edited, "%.*s%s%s", (int)(at - text), text, m->replace,
                                      at + strlen(m->find)),
                             0);
            free(text);
            text = edited;
            applied = true;
        }
        write_file(to, text);
        free(text), free(from), free(to);
    }
    closedir(d);
    ck_assert_msg(applied, "mutant \"%s\": no kernel file %s", m ? m->what : "", m ? m->file : "");
    return dir;
}

/* Run core test program `name` with CLNN_KERNEL_DIR=dir; its exit status.
 * Its output goes to our stdout (the test log) under a header. */
static int run_program(const char *name, const char *dir, const char *what)
{
    const char *tests = getenv("CLNN_CORE_TESTS");
    ck_assert_msg(tests && *tests, "CLNN_CORE_TESTS is not set (run through meson test)");
    char *path;
#ifdef _WIN32
    ck_assert_int_ge(asprintf(&path, "%s/test_core_%s.exe", tests, name), 0);
#else
    ck_assert_int_ge(asprintf(&path, "%s/test_core_%s", tests, name), 0);
#endif
    printf("---- %s: core-%s\n", what, name);
    fflush(stdout);
#ifdef _WIN32
    /* No fork: the program inherits the environment set here for it. This
     * process builds no kernels, so CLNN_KERNEL_DIR does not touch it. */
    ck_assert_int_eq(setenv("CLNN_KERNEL_DIR", dir, 1), 0);
    unsetenv("CLNN_TEST_VERBOSE");
    /* _spawnv joins the arguments into one command line: quote the path. */
    char *quoted;
    ck_assert_int_ge(asprintf(&quoted, "\"%s\"", path), 0);
    const char *const args[] = {quoted, NULL};
    intptr_t rc = _spawnv(_P_WAIT, path, args);
    unsetenv("CLNN_KERNEL_DIR");
    ck_assert_msg(rc >= 0, "cannot run %s: %s", path, strerror(errno));
    free(quoted);
    free(path);
    return (int)rc;
#else
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setenv("CLNN_KERNEL_DIR", dir, 1);
        /* Only the verdict matters here; keep the log short. */
        unsetenv("CLNN_TEST_VERBOSE");
        /* A caught mutant fails assertions, which leave objects unfreed; in
         * a sanitizer build (meson test --setup asan) LeakSanitizer would
         * then abort the program instead of letting it exit 1. Leaks are
         * checked where the programs run unmutated, not here. */
        const char *asan = getenv("ASAN_OPTIONS");
        char *options = NULL;
        if (asprintf(&options, "%s%sdetect_leaks=0", asan ? asan : "",
                     asan && *asan ? ":" : "") >= 0)
            setenv("ASAN_OPTIONS", options, 1);
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    free(path);
    ck_assert_msg(WIFEXITED(status), "core-%s did not exit normally", name);
    return WEXITSTATUS(status);
#endif
}

START_TEST(test_unmutated_copy_passes)
{
    char *dir = kernel_copy(NULL);
    static const char *const all[] = {"layers", "gradcheck", "batchnorm", "optimizer"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        int rc = run_program(all[i], dir, "unmutated kernels");
        ck_assert_msg(rc == 0, "core-%s fails with unmutated kernels from CLNN_KERNEL_DIR (%d)",
                      all[i], rc);
    }
    core_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_mutant_is_caught)
{
    const mutant *m = &mutants[_i];
    char *dir = kernel_copy(m);
    for (size_t i = 0; i < 3 && m->catchers[i]; i++) {
        int rc = run_program(m->catchers[i], dir, m->what);
        ck_assert_msg(rc == 1, "mutant \"%s\" was not caught by core-%s (exit status %d)",
                      m->what, m->catchers[i], rc);
    }
    core_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *mutants_suite(void)
{
    Suite *s = suite_create("core-mutants");
    TCase *tc = tcase_create("mutants");
    tcase_add_test(tc, test_unmutated_copy_passes);
    tcase_add_loop_test(tc, test_mutant_is_caught, 0, (int)N_MUTANTS);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    return core_run(mutants_suite());
}
