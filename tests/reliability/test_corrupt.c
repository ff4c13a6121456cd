/* A checkpoint with any single byte changed must be refused, never loaded:
 * every byte position of a small checkpoint is damaged in turn. */
#include "clnn_test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPEC "dense:4,bn,relu,dense:3"
#define IN 5

static char *dir;

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(*len);
    ck_assert_uint_eq(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

static void spit(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

START_TEST(test_every_byte)
{
    clnn_context *ctx = clnn_test_context();
    clnn_net *net;
    ck_assert_clnn_ok(clnn_net_create(ctx, IN, &net));
    ck_assert_clnn_ok(clnn_net_add_layers(net, SPEC));
    ck_assert_clnn_ok(clnn_net_init(net, 4));
    clnn_optimizer_options o;
    clnn_optimizer_options_init(&o, CLNN_OPTIMIZER_ADAM);
    ck_assert_clnn_ok(clnn_net_set_optimizer(net, &o));
    float x[4 * IN];
    int32_t y[4] = {0, 1, 2, 1};
    for (int i = 0; i < 4 * IN; i++)
        x[i] = (float)(i % 7) / 7.0f;
    ck_assert_clnn_ok(clnn_net_train_batch(net, x, 4, clnn_net_in_features(net), y, 4));
    char good[256], bad[256];
    snprintf(good, sizeof good, "%s/good.ckpt", dir);
    snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);
    const clnn_metadata md[] = {{"epoch", "0"}, {"batch", "1"}};
    ck_assert_clnn_ok(clnn_net_save_checkpoint(net, good, md, 2));
    ck_assert_clnn_ok(clnn_net_load_checkpoint(net, good));

    size_t len;
    unsigned char *orig = slurp(good, &len);
    unsigned char *copy = malloc(len);
    size_t detected = 0;
    /* Two kinds of damage per byte: one flipped bit and a byte replaced. */
    for (int kind = 0; kind < 2; kind++) {
        for (size_t i = 0; i < len; i++) {
            memcpy(copy, orig, len);
            copy[i] ^= kind == 0 ? (unsigned char)(1u << (i % 8)) : 0xA5u;
            spit(bad, copy, len);
            clnn_status st = clnn_net_load_checkpoint(net, bad);
            ck_assert_msg(st != CLNN_OK, "byte %zu of %zu (damage %d) was not detected", i, len,
                          kind);
            ck_assert_msg(*clnn_last_error() != '\0', "byte %zu: no message", i);
            detected++;
        }
    }
    printf("checkpoint of %zu bytes: %zu of %zu damaged copies refused (100%%)\n", len, detected,
           2 * len);
    free(copy);
    free(orig);
    unlink(good);
    unlink(bad);
    clnn_net_free(net);
    clnn_context_free(ctx);
}
END_TEST

int main(void)
{
    clnn_test_require_device();
    dir = clnn_test_tmpdir("clnn-corrupt");
    if (!dir) {
        perror("clnn-corrupt scratch folder");
        return 1;
    }
    Suite *s = suite_create("corrupt");
    TCase *tc = tcase_create("bytes");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_every_byte);
    suite_add_tcase(s, tc);
    int rc = clnn_test_run(s);
    rmdir(dir);
    free(dir);
    return rc;
}
