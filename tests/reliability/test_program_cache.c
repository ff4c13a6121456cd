/* The on-disk program cache (CLNN_PROGRAM_CACHE=1): a second context loads
 * the binaries the first one stored and computes the same bits; a file whose
 * key does not match is ignored and the source is compiled instead. */
#include "clnn_test.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IN 11

static char *dir;
static int cache_hits;

static void count_hits(clnn_log_level level, const char *msg, void *user)
{
    (void)level;
    (void)user;
    if (strstr(msg, "loaded from the program cache"))
        cache_hits++;
}

/* Train a few steps on a fresh context; returns the first layer's weight. */
static void train(float *w)
{
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.gemm = CLNN_GEMM_OWN;
    clnn_context *ctx;
    ck_assert_clnn_ok(clnn_context_create(&o, &ctx));
    clnn_net *net;
    ck_assert_clnn_ok(clnn_net_create(ctx, IN, &net));
    ck_assert_clnn_ok(clnn_net_add_layers(net, "dense:6,bn,relu,dense:3"));
    ck_assert_clnn_ok(clnn_net_init(net, 5));
    clnn_optimizer_options sgd;
    clnn_optimizer_options_init(&sgd, CLNN_OPTIMIZER_SGD);
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &sgd));
    float x[8 * IN];
    int32_t y[8];
    for (int i = 0; i < 8 * IN; i++)
        x[i] = (float)(i % 13) / 13.0f;
    for (int i = 0; i < 8; i++)
        y[i] = i % 3;
    for (int s = 0; s < 3; s++)
        ck_assert_clnn_ok(clnn_net_train_batch(net, x, 8, IN, y, 8));
    size_t idx;
    ck_assert_clnn_ok(clnn_net_tensor_find(net, "0.weight", &idx));
    ck_assert_clnn_ok(clnn_net_tensor_read(net, idx, w, 6 * IN * sizeof(float)));
    clnn_net_free(net);
    clnn_context_free(ctx);
}

static size_t cache_files(char names[][1024], size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/programs", dir);
    DIR *d = opendir(path);
    size_t n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".bin") && n < cap)
            snprintf(names[n++], 1024, "%s/%s", path, e->d_name);
    closedir(d);
    return n;
}

START_TEST(test_warm_start_from_binaries)
{
    float cold[6 * IN], warm[6 * IN], fallback[6 * IN];
    clnn_set_log_callback(count_hits, NULL);
    cache_hits = 0;
    train(cold);
    ck_assert_int_eq(cache_hits, 0);
    char files[64][1024];
    size_t n = cache_files(files, 64);
    ck_assert_msg(n >= 4, "expected a binary per program, found %zu", n);
    train(warm);
    ck_assert_msg(cache_hits >= 4, "second context loaded %d programs from the cache", cache_hits);
    ck_assert_msg(memcmp(cold, warm, sizeof cold) == 0, "cached binaries compute other bits");

    /* Damage every key: nothing may be loaded, results stay the same. */
    for (size_t i = 0; i < n; i++) {
        FILE *f = fopen(files[i], "r+b");
        ck_assert_ptr_nonnull(f);
        fseek(f, 12, SEEK_SET); /* inside the key, after the magic line */
        fputc('#', f);
        fclose(f);
    }
    cache_hits = 0;
    train(fallback);
    ck_assert_int_eq(cache_hits, 0);
    ck_assert_msg(memcmp(cold, fallback, sizeof cold) == 0, "fallback build computes other bits");
    clnn_set_log_callback(NULL, NULL);
    for (size_t i = 0; i < cache_files(files, 64); i++)
        unlink(files[i]);
}
END_TEST

int main(void)
{
    dir = clnn_test_tmpdir("clnn-progcache");
    if (!dir) {
        perror("clnn-progcache scratch folder");
        return 1;
    }
    setenv("CLNN_CACHE_DIR", dir, 1);
    setenv("CLNN_PROGRAM_CACHE", "1", 1);
    clnn_test_require_device();
    Suite *s = suite_create("program_cache");
    TCase *tc = tcase_create("cache");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_warm_start_from_binaries);
    suite_add_tcase(s, tc);
    int rc = clnn_test_run(s);
    char programs[512];
    snprintf(programs, sizeof programs, "%s/programs", dir);
    rmdir(programs);
    rmdir(dir);
    free(dir);
    return rc;
}
