/* IDX files (plain and gzip), gzip failure modes, and datasets built from
 * them. Every file is generated here into a scratch directory. */
#include "io_test.h"

#include "base/platform.h"
#include "io/gunzip.h"
#include "io/idx.h"

#include <math.h>
#include <zlib.h>

typedef struct blob {
    uint8_t *data;
    size_t len;
} blob;

static blob make_idx(uint8_t type, uint8_t ndim, const uint32_t *dims, const uint8_t *payload,
                     size_t payload_len)
{
    blob b;
    b.len = 4 + 4 * (size_t)ndim + payload_len;
    b.data = malloc(b.len ? b.len : 1);
    ck_assert_ptr_nonnull(b.data);
    b.data[0] = 0;
    b.data[1] = 0;
    b.data[2] = type;
    b.data[3] = ndim;
    for (size_t i = 0; i < ndim; i++) {
        uint8_t *d = b.data + 4 + 4 * i;
        d[0] = (uint8_t)(dims[i] >> 24);
        d[1] = (uint8_t)(dims[i] >> 16);
        d[2] = (uint8_t)(dims[i] >> 8);
        d[3] = (uint8_t)dims[i];
    }
    if (payload_len)
        memcpy(b.data + 4 + 4 * (size_t)ndim, payload, payload_len);
    return b;
}

/* A gzip member of data, as gzip(1) would write it. */
static blob gzip(const uint8_t *data, size_t len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                     Z_OK);
    blob b;
    b.len = deflateBound(&zs, (uLong)len) + 32;
    b.data = malloc(b.len);
    ck_assert_ptr_nonnull(b.data);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = b.data;
    zs.avail_out = (uInt)b.len;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    b.len = zs.total_out;
    deflateEnd(&zs);
    return b;
}

static const uint32_t img_dims[3] = {3, 2, 2};
static const uint8_t img_pixels[12] = {0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8};
static const uint32_t lbl_dims[1] = {3};
static const uint8_t lbl_values[3] = {0, 9, 4};

static blob images_idx(void)
{
    return make_idx(0x08, 3, img_dims, img_pixels, sizeof img_pixels);
}

static blob labels_idx(void)
{
    return make_idx(0x08, 1, lbl_dims, lbl_values, sizeof lbl_values);
}

static char *write_blob(const char *dir, const char *name, blob b)
{
    char *path = io_test_path(dir, name);
    io_test_write(path, b.data, b.len);
    return path;
}

/* ------------------------------------------------------------------ IDX */

START_TEST(test_parse_good)
{
    blob b = images_idx();
    clnn__idx idx;
    ck_assert_clnn_ok(clnn__idx_parse(b.data, b.len, "images", &idx));
    ck_assert_uint_eq(idx.ndim, 3);
    ck_assert_uint_eq(idx.dims[0], 3);
    ck_assert_uint_eq(idx.dims[1], 2);
    ck_assert_uint_eq(idx.dims[2], 2);
    ck_assert_uint_eq(idx.count, 12);
    ck_assert_mem_eq(idx.data, img_pixels, 12);
    clnn__idx_free(&idx);
    clnn__idx_free(&idx);
    clnn__idx_free(NULL);

    uint32_t four[4] = {1, 2, 1, 2};
    blob b4 = make_idx(0x08, 4, four, img_pixels, 4);
    ck_assert_clnn_ok(clnn__idx_parse(b4.data, b4.len, NULL, &idx));
    ck_assert_uint_eq(idx.count, 4);
    clnn__idx_free(&idx);
    /* Zero-length dimension: no elements, still well formed. */
    uint32_t empty[2] = {0, 28};
    blob b0 = make_idx(0x08, 2, empty, NULL, 0);
    ck_assert_clnn_ok(clnn__idx_parse(b0.data, b0.len, NULL, &idx));
    ck_assert_uint_eq(idx.count, 0);
    clnn__idx_free(&idx);
    free(b.data);
    free(b4.data);
    free(b0.data);
}
END_TEST

START_TEST(test_parse_bad)
{
    blob b = images_idx();
    clnn__idx idx;
    ck_assert_fails_with(clnn__idx_parse(b.data, b.len - 1, "'x'", &idx), CLNN_ERR_BAD_FILE,
                         "'x': IDX dimensions 3 x 2 x 2 need 12 bytes of data but the file has 11");
    ck_assert_ptr_null(idx.data);
    ck_assert_fails_with(clnn__idx_parse(b.data, 10, "'x'", &idx), CLNN_ERR_BAD_FILE,
                         "header of 3 dimensions needs 16 bytes but the file has 10");
    ck_assert_fails_with(clnn__idx_parse(b.data, 3, "'x'", &idx), CLNN_ERR_BAD_FILE,
                         "too short");
    ck_assert_fails_with(clnn__idx_parse(b.data, 0, "'x'", &idx), CLNN_ERR_BAD_FILE, "too short");

    blob longer = make_idx(0x08, 3, img_dims, img_pixels, sizeof img_pixels);
    longer.data = realloc(longer.data, longer.len + 5);
    memset(longer.data + longer.len, 0, 5);
    ck_assert_fails_with(clnn__idx_parse(longer.data, longer.len + 5, "'x'", &idx),
                         CLNN_ERR_BAD_FILE, "(5 trailing bytes)");

    b.data[0] = 0x1f;
    ck_assert_fails_with(clnn__idx_parse(b.data, b.len, "'x'", &idx), CLNN_ERR_BAD_FILE,
                         "not an IDX file: it starts with 0x1F 0x00");
    b.data[0] = 0;
    b.data[1] = 8;
    ck_assert_fails_with(clnn__idx_parse(b.data, b.len, "'x'", &idx), CLNN_ERR_BAD_FILE,
                         "not an IDX file");
    b.data[1] = 0;
    b.data[2] = 0x0D;
    ck_assert_fails_with(clnn__idx_parse(b.data, b.len, "'x'", &idx), CLNN_ERR_BAD_FILE,
                         "IDX element type 0x0D (32-bit float) is not supported");
    b.data[2] = 0x42;
    ck_assert_fails_with(clnn__idx_parse(b.data, b.len, "'x'", &idx), CLNN_ERR_BAD_FILE,
                         "0x42 (unknown type)");
    b.data[2] = 0x08;
    b.data[3] = 0;
    ck_assert_fails_with(clnn__idx_parse(b.data, b.len, "'x'", &idx), CLNN_ERR_BAD_FILE,
                         "IDX file has 0 dimensions; 1 to 4 are supported");
    b.data[3] = 5;
    ck_assert_fails_with(clnn__idx_parse(b.data, b.len, "'x'", &idx), CLNN_ERR_BAD_FILE,
                         "has 5 dimensions");

    uint32_t huge[4] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 2};
    blob h = make_idx(0x08, 4, huge, NULL, 0);
    ck_assert_fails_with(clnn__idx_parse(h.data, h.len, "'x'", &idx), CLNN_ERR_BAD_FILE,
                         "overflow");
    free(b.data);
    free(longer.data);
    free(h.data);
}
END_TEST

START_TEST(test_read_plain_and_gzip)
{
    char *dir = io_test_tmpdir();
    blob b = images_idx();
    blob z = gzip(b.data, b.len);
    char *plain = write_blob(dir, "a-idx3-ubyte", b);
    char *gz = write_blob(dir, "a-idx3-ubyte.gz", z);
    clnn__idx p, q;
    ck_assert_clnn_ok(clnn__idx_read(plain, &p));
    ck_assert_clnn_ok(clnn__idx_read(gz, &q));
    ck_assert_uint_eq(p.count, 12);
    ck_assert_uint_eq(q.count, 12);
    ck_assert_uint_eq(q.ndim, 3);
    ck_assert_mem_eq(p.data, img_pixels, 12);
    ck_assert_mem_eq(q.data, img_pixels, 12);
    clnn__idx_free(&p);
    clnn__idx_free(&q);

    /* Two gzip members back to back decompress to the concatenation. */
    blob z1 = gzip(b.data, 7), z2 = gzip(b.data + 7, b.len - 7);
    uint8_t *both = malloc(z1.len + z2.len);
    memcpy(both, z1.data, z1.len);
    memcpy(both + z1.len, z2.data, z2.len);
    char *multi = io_test_path(dir, "multi.gz");
    io_test_write(multi, both, z1.len + z2.len);
    ck_assert_clnn_ok(clnn__idx_read(multi, &q));
    ck_assert_mem_eq(q.data, img_pixels, 12);
    clnn__idx_free(&q);

    /* A bad IDX inside good gzip is reported against the file. */
    blob bad = make_idx(0x0C, 1, lbl_dims, lbl_values, 3);
    blob zbad = gzip(bad.data, bad.len);
    char *badgz = write_blob(dir, "bad.gz", zbad);
    ck_assert_fails_with(clnn__idx_read(badgz, &q), CLNN_ERR_BAD_FILE, "0x0C (32-bit integer)");
    ck_assert_msg(strstr(clnn_last_error(), badgz) != NULL, "%s", clnn_last_error());

    free(b.data);
    free(z.data);
    free(z1.data);
    free(z2.data);
    free(both);
    free(bad.data);
    free(zbad.data);
    free(plain);
    free(gz);
    free(multi);
    free(badgz);
    io_test_rmtree(dir);
}
END_TEST

START_TEST(test_read_missing)
{
    char *dir = io_test_tmpdir();
    char *path = io_test_path(dir, "train-images-idx3-ubyte");
    clnn__idx idx;
    ck_assert_fails_with(clnn__idx_read(path, &idx), CLNN_ERR_IO, path);
    ck_assert_msg(strstr(clnn_last_error(), "dataset-fashion-mnist") != NULL, "%s",
                  clnn_last_error());
    ck_assert_ptr_null(idx.data);
    ck_assert_fails_with(clnn__idx_read(dir, &idx), CLNN_ERR_IO, "directory");
    free(path);
    io_test_rmtree(dir);
}
END_TEST

START_TEST(test_corrupted_gzip)
{
    char *dir = io_test_tmpdir();
    /* Enough varied data for a real compressed block. */
    uint8_t payload[4000];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)((i * 2654435761u) >> 13);
    uint32_t dims[1] = {sizeof payload};
    blob b = make_idx(0x08, 1, dims, payload, sizeof payload);
    blob z = gzip(b.data, b.len);
    char *path = io_test_path(dir, "x.gz");
    clnn__idx idx;

    /* Cut short at several places, including inside the 8-byte trailer. */
    size_t cuts[] = {2, 10, 11, z.len / 2, z.len - 8, z.len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        io_test_write(path, z.data, cuts[i]);
        clnn_status st = clnn__idx_read(path, &idx);
        ck_assert_msg(st == CLNN_ERR_BAD_FILE, "cut %zu: %s", cuts[i], clnn_last_error());
        ck_assert_msg(strstr(clnn_last_error(), "truncated") || strstr(clnn_last_error(), "corrupt"),
                      "cut %zu: %s", cuts[i], clnn_last_error());
    }
    io_test_write(path, z.data, z.len - 4);
    ck_assert_fails_with(clnn__idx_read(path, &idx), CLNN_ERR_BAD_FILE, "gzip data is truncated");

    /* A flipped bit in the CRC. */
    z.data[z.len - 6] ^= 0x01;
    io_test_write(path, z.data, z.len);
    ck_assert_fails_with(clnn__idx_read(path, &idx), CLNN_ERR_BAD_FILE,
                         "corrupted gzip data (incorrect data check)");
    z.data[z.len - 6] ^= 0x01;
    /* A wrong length in the trailer. */
    z.data[z.len - 1] ^= 0x80;
    io_test_write(path, z.data, z.len);
    ck_assert_fails_with(clnn__idx_read(path, &idx), CLNN_ERR_BAD_FILE, "corrupted gzip data");
    z.data[z.len - 1] ^= 0x80;
    /* Garbage in the deflate stream. */
    memset(z.data + 20, 0xff, 16);
    io_test_write(path, z.data, z.len);
    ck_assert_fails_with(clnn__idx_read(path, &idx), CLNN_ERR_BAD_FILE, "corrupted gzip data");

    /* Bytes after the stream that are not another member. */
    blob ok = gzip(b.data, b.len);
    ok.data = realloc(ok.data, ok.len + 3);
    memcpy(ok.data + ok.len, "abc", 3);
    io_test_write(path, ok.data, ok.len + 3);
    ck_assert_fails_with(clnn__idx_read(path, &idx), CLNN_ERR_BAD_FILE,
                         "3 bytes of garbage after the end of the gzip data");
    free(b.data);
    free(z.data);
    free(ok.data);
    free(path);
    io_test_rmtree(dir);
}
END_TEST

START_TEST(test_gunzip_limit)
{
    uint8_t zeros[10000] = {0};
    blob z = gzip(zeros, sizeof zeros);
    uint8_t *out;
    size_t n;
    ck_assert_fails_with(clnn__gunzip(z.data, z.len, 100, "'bomb'", &out, &n), CLNN_ERR_BAD_FILE,
                         "'bomb': gzip data decompresses to more than 100 bytes");
    ck_assert_ptr_null(out);
    ck_assert_clnn_ok(clnn__gunzip(z.data, z.len, sizeof zeros, "'ok'", &out, &n));
    ck_assert_uint_eq(n, sizeof zeros);
    ck_assert_mem_eq(out, zeros, n);
    free(out);
    /* A lying ISIZE trailer only changes the first guess, not the result. */
    z.data[z.len - 1] = 0x7f;
    ck_assert_fails_with(clnn__gunzip(z.data, z.len, 1 << 20, "'x'", &out, &n), CLNN_ERR_BAD_FILE,
                         "corrupted");
    ck_assert(clnn__is_gzip(z.data, z.len));
    ck_assert(!clnn__is_gzip(z.data, 1));
    free(z.data);
}
END_TEST

/* -------------------------------------------------------------- dataset */

START_TEST(test_dataset_load)
{
    char *dir = io_test_tmpdir();
    blob bi = images_idx(), bl = labels_idx();
    char *ip = write_blob(dir, "img", bi);
    char *lp = write_blob(dir, "lbl", bl);
    clnn_dataset *ds = NULL;
    ck_assert_clnn_ok(clnn_dataset_load_idx(ip, lp, &ds));
    ck_assert_str_eq(clnn_last_error(), "");
    ck_assert_uint_eq(clnn_dataset_count(ds), 3);
    ck_assert_uint_eq(clnn_dataset_features(ds), 4);
    ck_assert_uint_eq(clnn_dataset_classes(ds), 10);
    const float *x = clnn_dataset_images(ds);
    const int32_t *y = clnn_dataset_labels(ds);
    for (size_t i = 0; i < 12; i++)
        ck_assert_float_eq(x[i], (float)img_pixels[i] / 255.0f);
    ck_assert_float_eq(x[1], 1.0f);
    ck_assert_float_eq(x[0], 0.0f);
    ck_assert_int_eq(y[0], 0);
    ck_assert_int_eq(y[1], 9);
    ck_assert_int_eq(y[2], 4);

    ck_assert_clnn_ok(clnn_dataset_normalize(ds, 0.5f, 0.25f));
    for (size_t i = 0; i < 12; i++)
        ck_assert_float_eq(x[i], ((float)img_pixels[i] / 255.0f - 0.5f) / 0.25f);
    ck_assert_fails_with(clnn_dataset_normalize(ds, 0.0f, 0.0f), CLNN_ERR_INVALID_ARGUMENT,
                         "must be positive and finite");
    ck_assert_fails_with(clnn_dataset_normalize(ds, 0.0f, -1.0f), CLNN_ERR_INVALID_ARGUMENT,
                         "std -1");
    ck_assert_fails_with(clnn_dataset_normalize(ds, 0.0f, NAN), CLNN_ERR_INVALID_ARGUMENT,
                         "must be positive and finite");
    ck_assert_fails_with(clnn_dataset_normalize(ds, 0.0f, INFINITY), CLNN_ERR_INVALID_ARGUMENT,
                         "must be positive and finite");
    ck_assert_fails_with(clnn_dataset_normalize(ds, NAN, 1.0f), CLNN_ERR_INVALID_ARGUMENT,
                         "mean nan is not finite");
    ck_assert_fails_with(clnn_dataset_normalize(NULL, 0.0f, 1.0f), CLNN_ERR_INVALID_ARGUMENT,
                         "ds is NULL");
    /* Rejected calls leave the data alone. */
    ck_assert_float_eq(x[1], (1.0f - 0.5f) / 0.25f);
    clnn_dataset_free(ds);
    free(bi.data);
    free(bl.data);
    free(ip);
    free(lp);
    io_test_rmtree(dir);
}
END_TEST

START_TEST(test_dataset_mismatch)
{
    char *dir = io_test_tmpdir();
    blob bi = images_idx(), bl = labels_idx();
    uint32_t two[1] = {2};
    blob short_labels = make_idx(0x08, 1, two, lbl_values, 2);
    char *ip = write_blob(dir, "img", bi);
    char *lp = write_blob(dir, "lbl", bl);
    char *sp = write_blob(dir, "lbl2", short_labels);
    clnn_dataset *ds = (clnn_dataset *)1;
    ck_assert_fails_with(clnn_dataset_load_idx(ip, sp, &ds), CLNN_ERR_BAD_FILE,
                         "holds 3 images but");
    ck_assert_msg(strstr(clnn_last_error(), "holds 2 labels") != NULL, "%s", clnn_last_error());
    ck_assert_ptr_null(ds);
    ck_assert_fails_with(clnn_dataset_load_idx(lp, ip, &ds), CLNN_ERR_BAD_FILE,
                         "images must be a 3-D IDX file");
    ck_assert_fails_with(clnn_dataset_load_idx(ip, ip, &ds), CLNN_ERR_BAD_FILE,
                         "labels must be a 1-D IDX file but it has 3 dimensions");
    uint32_t none[3] = {0, 2, 2};
    uint32_t zero[1] = {0};
    blob ei = make_idx(0x08, 3, none, NULL, 0), el = make_idx(0x08, 1, zero, NULL, 0);
    char *eip = write_blob(dir, "eimg", ei);
    char *elp = write_blob(dir, "elbl", el);
    ck_assert_fails_with(clnn_dataset_load_idx(eip, elp, &ds), CLNN_ERR_BAD_FILE, "holds no images");
    char *missing = io_test_path(dir, "nope");
    ck_assert_fails_with(clnn_dataset_load_idx(ip, missing, &ds), CLNN_ERR_IO, missing);
    ck_assert_fails_with(clnn_dataset_load_idx(NULL, lp, &ds), CLNN_ERR_INVALID_ARGUMENT, "NULL");
    ck_assert_fails_with(clnn_dataset_load_idx(ip, lp, NULL), CLNN_ERR_INVALID_ARGUMENT, "NULL");
    ck_assert_ptr_null(ds);
    free(bi.data);
    free(bl.data);
    free(short_labels.data);
    free(ei.data);
    free(el.data);
    free(ip);
    free(lp);
    free(sp);
    free(eip);
    free(elp);
    free(missing);
    io_test_rmtree(dir);
}
END_TEST

START_TEST(test_load_split)
{
    char *dir = io_test_tmpdir();
    blob bi = images_idx(), bl = labels_idx();
    blob zl = gzip(bl.data, bl.len);
    free(write_blob(dir, "train-images-idx3-ubyte", bi));
    free(write_blob(dir, "train-labels-idx1-ubyte.gz", zl));
    clnn_dataset *ds = NULL;
    ck_assert_clnn_ok(clnn_dataset_load_split(dir, "train", &ds));
    ck_assert_uint_eq(clnn_dataset_count(ds), 3);
    ck_assert_int_eq(clnn_dataset_labels(ds)[1], 9);
    clnn_dataset_free(ds);

    /* A trailing slash on the directory is fine. */
    char *slashed = NULL;
    ck_assert_int_ge(asprintf(&slashed, "%s/", dir), 0);
    ck_assert_clnn_ok(clnn_dataset_load_split(slashed, "train", &ds));
    clnn_dataset_free(ds);

    /* The plain file wins over the .gz one. */
    blob other = make_idx(0x08, 1, lbl_dims, (const uint8_t[]){1, 1, 1}, 3);
    free(write_blob(dir, "train-labels-idx1-ubyte", other));
    ck_assert_clnn_ok(clnn_dataset_load_split(dir, "train", &ds));
    ck_assert_int_eq(clnn_dataset_labels(ds)[1], 1);
    ck_assert_uint_eq(clnn_dataset_classes(ds), 2);
    clnn_dataset_free(ds);

    char *want = NULL;
    ck_assert_int_ge(asprintf(&want,
                              "neither '%s" CLNN__PATH_SEP "t10k-images-idx3-ubyte' nor "
                              "'%s" CLNN__PATH_SEP "t10k-images-idx3-ubyte.gz' exists",
                              dir, dir),
                     0);
    ck_assert_fails_with(clnn_dataset_load_split(dir, "test", &ds), CLNN_ERR_IO, want);
    ck_assert_msg(strstr(clnn_last_error(), "dataset-fashion-mnist") != NULL, "%s",
                  clnn_last_error());
    ck_assert_ptr_null(ds);
    blob zi = gzip(bi.data, bi.len);
    free(write_blob(dir, "t10k-images-idx3-ubyte.gz", zi));
    free(zi.data);
    ck_assert_fails_with(clnn_dataset_load_split(dir, "test", &ds), CLNN_ERR_IO,
                         "t10k-labels-idx1-ubyte.gz' exists");
    ck_assert_fails_with(clnn_dataset_load_split(dir, "valid", &ds), CLNN_ERR_INVALID_ARGUMENT,
                         "split 'valid' is neither 'train' nor 'test'");
    ck_assert_fails_with(clnn_dataset_load_split(NULL, "train", &ds), CLNN_ERR_INVALID_ARGUMENT,
                         CLNN_DEFAULT_DATA_DIR);
    free(want);
    free(slashed);
    free(bi.data);
    free(bl.data);
    free(zl.data);
    free(other.data);
    io_test_rmtree(dir);
}
END_TEST

START_TEST(test_dataset_null)
{
    clnn_dataset_free(NULL);
    ck_assert_uint_eq(clnn_dataset_count(NULL), 0);
    ck_assert_uint_eq(clnn_dataset_features(NULL), 0);
    ck_assert_uint_eq(clnn_dataset_classes(NULL), 0);
    ck_assert_ptr_null(clnn_dataset_images(NULL));
    ck_assert_ptr_null(clnn_dataset_labels(NULL));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io-idx");
    TCase *tc = tcase_create("idx");
    tcase_add_test(tc, test_parse_good);
    tcase_add_test(tc, test_parse_bad);
    tcase_add_test(tc, test_read_plain_and_gzip);
    tcase_add_test(tc, test_read_missing);
    tcase_add_test(tc, test_corrupted_gzip);
    tcase_add_test(tc, test_gunzip_limit);
    suite_add_tcase(s, tc);
    TCase *td = tcase_create("dataset");
    tcase_add_test(td, test_dataset_load);
    tcase_add_test(td, test_dataset_mismatch);
    tcase_add_test(td, test_load_split);
    tcase_add_test(td, test_dataset_null);
    suite_add_tcase(s, td);
    return clnn_test_run(s);
}
