/* What the environment can break: a kernel source that does not compile
 * (via CLNN_KERNEL_DIR) must fail the first forward with CLNN_ERR_BUILD and
 * the compiler's log; a missing override file is an I/O error; a device
 * selector that matches nothing is CLNN_ERR_NO_DEVICE. Kernel sources come
 * from CLNN_SOURCE_KERNELS (set by meson to the source tree's kernels/). */
#include "core_test.h"

#include <dirent.h>
#include <stdlib.h>

/* Copy every .cl file of $CLNN_SOURCE_KERNELS into a fresh directory. */
static char *copy_kernels(void)
{
    const char *src = getenv("CLNN_SOURCE_KERNELS");
    ck_assert_msg(src && *src, "CLNN_SOURCE_KERNELS is not set (run through meson test)");
    char *dir = core_tmpdir();
    DIR *d = opendir(src);
    ck_assert_msg(d != NULL, "cannot open %s", src);
    struct dirent *e;
    size_t copied = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".cl") != 0)
            continue;
        char from[4096], to[4096];
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
        FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
        ck_assert(in && out);
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
            ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
        fclose(in);
        fclose(out);
        copied++;
    }
    closedir(d);
    ck_assert_uint_ge(copied, 7);
    return dir;
}

static void append(const char *dir, const char *file, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "ab");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static clnn_context *fresh_context(void)
{
    /* A new context: kernels are compiled (and cached) per context, so the
     * override is read again. */
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.gemm = CLNN_GEMM_OWN;
    clnn_context *ctx = NULL;
    ck_assert_clnn_ok(clnn_context_create(&o, &ctx));
    return ctx;
}

START_TEST(test_kernel_build_failure)
{
    char *dir = copy_kernels();
    append(dir, "activation.cl", "\n__kernel void broken(__global float *y) { y[0] = ; }\n");
    ck_assert_int_eq(setenv("CLNN_KERNEL_DIR", dir, 1), 0);
    clnn_context *ctx = fresh_context();
    clnn_net *net = core_net(ctx, 3, "dense:4,relu,dense:2", 1);
    float x[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
    /* Kernels are built on first use, so the forward reaches the ReLU's
     * program and fails there. */
    clnn_status st = clnn_net_forward(net, x, 2, clnn_net_in_features(net));
    const char *msg = clnn_last_error();
    ck_assert_msg(st == CLNN_ERR_BUILD, "forward returned %s: %s", clnn_status_name(st), msg);
    ck_assert_msg(strstr(msg, "activation.cl") != NULL, "message lacks the file: %s", msg);
    /* The compiler's own diagnostics follow "Build log". */
    const char *log = strstr(msg, "Build log");
    ck_assert_msg(log != NULL, "message lacks the build log: %s", msg);
    ck_assert_msg(strstr(log, "error") != NULL, "build log lacks the compiler's error: %s", msg);
    /* The failure does not stick: the same call fails the same way again. */
    ck_assert_int_eq(clnn_net_forward(net, x, 2, clnn_net_in_features(net)), CLNN_ERR_BUILD);
    clnn_net_free(net);
    clnn_context_free(ctx);

    /* Without the override the embedded kernels work again. */
    ck_assert_int_eq(unsetenv("CLNN_KERNEL_DIR"), 0);
    ctx = fresh_context();
    net = core_net(ctx, 3, "dense:4,relu,dense:2", 1);
    ck_assert_clnn_ok(clnn_net_forward(net, x, 2, clnn_net_in_features(net)));
    clnn_net_free(net);
    clnn_context_free(ctx);
    core_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_kernel_dir_missing_file)
{
    char *dir = core_tmpdir(); /* empty: common.cl is missing */
    ck_assert_int_eq(setenv("CLNN_KERNEL_DIR", dir, 1), 0);
    clnn_context *ctx = fresh_context();
    clnn_net *net = core_net(ctx, 3, "dense:2", 1);
    float x[6] = {0};
    ck_assert_fails_with(clnn_net_forward(net, x, 2, clnn_net_in_features(net)), CLNN_ERR_IO,
                         "CLNN_KERNEL_DIR");
    ck_assert_int_eq(unsetenv("CLNN_KERNEL_DIR"), 0);
    clnn_net_free(net);
    clnn_context_free(ctx);
    core_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_no_matching_device)
{
    clnn_context_options o;
    clnn_context_options_init(&o);
    clnn_context *ctx = (clnn_context *)1;
    const char *given = getenv("CLNN_DEVICE");
    char *saved = given ? strdup(given) : NULL;
    /* From the environment... */
    ck_assert_int_eq(setenv("CLNN_DEVICE", "nonexistent-zzz", 1), 0);
    ck_assert_fails_with(clnn_context_create(&o, &ctx), CLNN_ERR_NO_DEVICE, "nonexistent-zzz");
    ck_assert_ptr_null(ctx);
    size_t index;
    ck_assert_int_eq(clnn_device_select(NULL, &index), CLNN_ERR_NO_DEVICE);
    if (saved)
        ck_assert_int_eq(setenv("CLNN_DEVICE", saved, 1), 0);
    else
        ck_assert_int_eq(unsetenv("CLNN_DEVICE"), 0);
    free(saved);
    /* ...and given directly, as a name or an index past the last device. */
    o.device = "nonexistent-zzz";
    ck_assert_fails_with(clnn_context_create(&o, &ctx), CLNN_ERR_NO_DEVICE, "nonexistent-zzz");
    size_t count = 0;
    ck_assert_clnn_ok(clnn_device_count(&count));
    char past[32];
    snprintf(past, sizeof past, "%zu", count);
    o.device = past;
    ck_assert_int_eq(clnn_context_create(&o, &ctx), CLNN_ERR_NO_DEVICE);
    /* Index 0 always exists here. */
    o.device = "0";
    ck_assert_clnn_ok(clnn_context_create(&o, &ctx));
    clnn_context_free(ctx);
}
END_TEST

START_TEST(test_invalid_gemm_environment)
{
    clnn_context_options o;
    clnn_context_options_init(&o);
    clnn_context *ctx = NULL;
    ck_assert_int_eq(setenv("CLNN_GEMM", "fastest", 1), 0);
    ck_assert_fails_with(clnn_context_create(&o, &ctx), CLNN_ERR_INVALID_ARGUMENT, "fastest");
    ck_assert_int_eq(setenv("CLNN_GEMM", "own", 1), 0);
    ck_assert_clnn_ok(clnn_context_create(&o, &ctx));
    ck_assert_int_eq(clnn_context_gemm_backend(ctx), CLNN_GEMM_OWN);
    clnn_context_free(ctx);
    ck_assert_int_eq(unsetenv("CLNN_GEMM"), 0);
}
END_TEST

/* CLNN_DEVICE_TYPE: a bad value names itself; a good one is the type the
 * library reports (and chooses kernel variants by). */
START_TEST(test_device_type_environment)
{
    clnn_context_options o;
    clnn_context_options_init(&o);
    clnn_context *ctx = (clnn_context *)1;
    ck_assert_int_eq(setenv("CLNN_DEVICE_TYPE", "quantum", 1), 0);
    ck_assert_fails_with(clnn_context_create(&o, &ctx), CLNN_ERR_INVALID_ARGUMENT, "quantum");
    ck_assert_ptr_null(ctx);
    size_t index;
    ck_assert_fails_with(clnn_device_select("0", &index), CLNN_ERR_INVALID_ARGUMENT,
                         "CLNN_DEVICE_TYPE");
    static const struct {
        const char *name;
        clnn_device_type type;
    } kinds[] = {{"gpu", CLNN_DEVICE_GPU}, {"cpu", CLNN_DEVICE_CPU}};
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(setenv("CLNN_DEVICE_TYPE", kinds[i].name, 1), 0);
        clnn_device_info info = {.struct_size = sizeof info};
        ck_assert_clnn_ok(clnn_device_get_info(0, &info));
        ck_assert_int_eq(info.type, kinds[i].type);
    }
    ck_assert_int_eq(unsetenv("CLNN_DEVICE_TYPE"), 0);
}
END_TEST

static Suite *environment_suite(void)
{
    Suite *s = suite_create("core-environment");
    TCase *tc = tcase_create("environment");
    tcase_add_test(tc, test_kernel_build_failure);
    tcase_add_test(tc, test_kernel_dir_missing_file);
    tcase_add_test(tc, test_no_matching_device);
    tcase_add_test(tc, test_invalid_gemm_environment);
    tcase_add_test(tc, test_device_type_environment);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    clnn_test_require_device();
    /* These tests set CLNN_KERNEL_DIR and CLNN_GEMM themselves; values
     * inherited from the caller would change what they test. */
    unsetenv("CLNN_KERNEL_DIR");
    unsetenv("CLNN_GEMM");
    return core_run(environment_suite());
}
