/* Datasets from CSV and NumPy files (clnn_dataset_load and its companions):
 * values against what the files spell, the number parser against the C
 * library's strtod, classes, companions (options.like), splitting and
 * standardisation against a double-precision reference, and the data
 * description's round trip. Every file is written here into a scratch
 * folder, or is a fixture of tests/data/bad. */
#include "io_test.h"

#include "io/csv.h"
#include "io/dataset.h"

#include <float.h>
#include <math.h>

static char *dir;

/* Outside any test, where ck_assert cannot report: fail loudly. */
static void setup(void)
{
    dir = clnn_test_tmpdir("clnn-io");
    if (!dir) {
        fprintf(stderr, "cannot make a scratch folder in %s: %s\n", clnn_test_tmp_base(),
                strerror(errno));
        exit(EXIT_FAILURE);
    }
}

static void teardown(void)
{
    clnn_test_rmtree(dir);
    free(dir);
}

static clnn_dataset *load_text(const char *name, const char *text, const clnn_dataset_options *o)
{
    char *path = io_test_path(dir, name);
    io_test_write(path, text, strlen(text));
    clnn_dataset *ds = NULL;
    clnn_status st = clnn_dataset_load(path, o, &ds);
    ck_assert_msg(st == CLNN_OK, "%s: %s", name, clnn_last_error());
    free(path);
    return ds;
}

static clnn_status load_fails(const char *name, const char *text, const clnn_dataset_options *o)
{
    char *path = io_test_path(dir, name);
    io_test_write(path, text, strlen(text));
    clnn_dataset *ds = (clnn_dataset *)&ds;
    clnn_status st = clnn_dataset_load(path, o, &ds);
    ck_assert_ptr_null(ds);
    free(path);
    return st;
}

START_TEST(test_csv_values_and_names)
{
    /* A byte order mark, CRLF, quoted fields with a comma, a quote and a
     * line break, blanks around numbers, and trailing blank lines. */
    const char *text = "\xEF\xBB\xBF"
                       "x,\"y, \"\"quoted\"\"\",kind\r\n"
                       " 1.5 ,-2e-3,dog\r\n"
                       "+.25,7.,\"cat\"\r\n"
                       "0,1e2,\"two\nlines\"\r\n\r\n\n";
    clnn_dataset *ds = load_text("names.csv", text, NULL);
    ck_assert_uint_eq(clnn_dataset_count(ds), 3);
    ck_assert_uint_eq(clnn_dataset_features(ds), 2);
    ck_assert_str_eq(clnn_dataset_feature_name(ds, 0), "x");
    ck_assert_str_eq(clnn_dataset_feature_name(ds, 1), "y, \"quoted\"");
    ck_assert_str_eq(clnn_dataset_label_name(ds), "kind");
    ck_assert_ptr_null(clnn_dataset_feature_name(ds, 2));
    const float want[] = {1.5f, -2e-3f, 0.25f, 7.0f, 0.0f, 100.0f};
    ck_assert_mem_eq(clnn_dataset_images(ds), want, sizeof want);
    /* Classes in sorted byte order: cat, dog, two\nlines. */
    ck_assert_uint_eq(clnn_dataset_classes(ds), 3);
    ck_assert_str_eq(clnn_dataset_class_name(ds, 0), "cat");
    ck_assert_str_eq(clnn_dataset_class_name(ds, 1), "dog");
    ck_assert_str_eq(clnn_dataset_class_name(ds, 2), "two\nlines");
    const int32_t labels[] = {1, 0, 2};
    ck_assert_mem_eq(clnn_dataset_labels(ds), labels, sizeof labels);
    clnn_dataset_free(ds);
}
END_TEST

START_TEST(test_csv_label_column_and_numbers)
{
    clnn_dataset_options o;
    clnn_dataset_options_init(&o);
    /* Whole-number labels are the class numbers (3 unused: 4 classes). */
    o.label_column = "class";
    clnn_dataset *ds = load_text("num.csv", "class,a,b\n3,1,2\n0,3,4\n1,5,6\n", &o);
    ck_assert_uint_eq(clnn_dataset_classes(ds), 4);
    ck_assert_ptr_null(clnn_dataset_class_name(ds, 0));
    const int32_t labels[] = {3, 0, 1};
    ck_assert_mem_eq(clnn_dataset_labels(ds), labels, sizeof labels);
    ck_assert_str_eq(clnn_dataset_feature_name(ds, 0), "a");
    clnn_dataset_free(ds);
    /* By index, without a header. */
    o.label_column = "0";
    o.csv_no_header = true;
    ds = load_text("noheader.csv", "2,1,2\n0,3,4\n", &o);
    ck_assert_uint_eq(clnn_dataset_count(ds), 2);
    ck_assert_uint_eq(clnn_dataset_features(ds), 2);
    ck_assert_ptr_null(clnn_dataset_feature_name(ds, 0));
    ck_assert_int_eq(clnn_dataset_labels(ds)[0], 2);
    clnn_dataset_free(ds);
    o.csv_no_header = false;
    o.label_column = "nope";
    ck_assert_int_eq(load_fails("nope.csv", "a,b\n1,2\n", &o), CLNN_ERR_BAD_FILE);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "no column is named 'nope' (label_column); "
                                                    "its columns are 'a', 'b'"));
    o.label_column = "5";
    ck_assert_int_eq(load_fails("beyond.csv", "a,b\n1,2\n", &o), CLNN_ERR_BAD_FILE);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "label_column 5 is beyond its 2 columns"));
}
END_TEST

START_TEST(test_csv_class_limit)
{
    /* 65537 distinct labels: more than a class column plausibly holds. */
    size_t cap = 65538 * 16, n = 0;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    n += (size_t)snprintf(text, cap, "a,c\n");
    for (int i = 0; i < 65537; i++)
        n += (size_t)snprintf(text + n, cap - n, "%d,k%d\n", i, i);
    clnn_dataset_options o;
    clnn_dataset_options_init(&o);
    clnn_dataset *ds = NULL;
    ck_assert_int_eq(clnn__dataset_read_csv(NULL, (const uint8_t *)text, n, "'many.csv'", &o, &ds),
                     CLNN_ERR_BAD_FILE);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "'many.csv' line 65538, column 2 ('c'): the "
                                                    "label column holds more than 65536"));
    free(text);
}
END_TEST

/* The number parser against strtod: exact bits for every number it
 * accepts. The fast path is exact everywhere; the rest relies on the C
 * library's strtod, which glibc rounds correctly (Windows' C library is
 * checked on the fast path only). */
static void same_as_strtod(const char *s)
{
    double v = 0.0;
    ck_assert_msg(clnn__parse_number(s, strlen(s), &v) == CLNN__NUMBER_OK, "'%s' refused", s);
    double ref = strtod(s, NULL);
    ck_assert_msg(memcmp(&v, &ref, sizeof v) == 0, "'%s': %.17g, strtod %.17g", s, v, ref);
}

START_TEST(test_number_parser)
{
    const char *exact[] = {"0",      "-0",      "5.1",        "1e22",   "1e-22", "9007199254740992",
                           "3.14159", ".5",     "5.",         "+7e+1",  "1E3",   "0.000123456",
                           "1.799e+01", "123456789012345", "0.1", "-2.5e-3"};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        same_as_strtod(exact[i]);
#ifdef __GLIBC__
    const char *slow[] = {"1.2345678901234567890123", "1e300",  "2.2250738585072014e-308",
                          "4.9e-324",                 "1e-400", "123456789012345678901234567890",
                          "9007199254740993",         "0.30000000000000004441"};
    for (size_t i = 0; i < sizeof slow / sizeof slow[0]; i++)
        same_as_strtod(slow[i]);
    /* Random decimals of up to 25 digits and exponents up to ±330. */
    uint64_t state = 12345;
    for (int i = 0; i < 200000; i++) {
        char buf[64];
        int n = 0, digits = 1 + (int)((state >> 33) % 25);
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        if (state >> 63)
            buf[n++] = '-';
        int point = (int)((state >> 20) % (uint64_t)(digits + 1));
        for (int d = 0; d < digits; d++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            if (d == point)
                buf[n++] = '.';
            buf[n++] = (char)('0' + (state >> 40) % 10);
        }
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        if (state >> 62)
            n += snprintf(buf + n, sizeof buf - (size_t)n, "e%d", (int)((state >> 30) % 661) - 330);
        buf[n] = '\0';
        double v = 0.0, ref = strtod(buf, NULL);
        clnn__number_status st = clnn__parse_number(buf, (size_t)n, &v);
        if (!isfinite(ref)) {
            ck_assert_int_eq(st, CLNN__NUMBER_NONFINITE);
            continue;
        }
        ck_assert_msg(st == CLNN__NUMBER_OK && memcmp(&v, &ref, sizeof v) == 0,
                      "'%s': %.17g, strtod %.17g", buf, v, ref);
    }
#endif
    double v;
    const char *invalid[] = {"", "  ", "abc", "1..2", "e5", "1e", "1e+", "--1", "0x10", "1,5",
                             "1 2", "nan", "Inf", "-infinity", ".", "+"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        ck_assert_msg(clnn__parse_number(invalid[i], strlen(invalid[i]), &v) != CLNN__NUMBER_OK,
                      "'%s' accepted", invalid[i]);
}
END_TEST

START_TEST(test_like_and_standardization)
{
    clnn_dataset *train = load_text("train.csv",
                                    "a,b,c,label\n1,10,5,x\n2,20,5,y\n3,60,5,x\n6,10,5,z\n", NULL);
    ck_assert_int_eq(clnn_dataset_standardize(train, NULL), CLNN_OK);
    ck_assert_int_eq(clnn_dataset_standardize(train, NULL), CLNN_ERR_STATE);
    float mean[3], std[3];
    ck_assert_int_eq(clnn_dataset_standardization(train, mean, std, 3), CLNN_OK);
    /* Reference: population statistics in double precision; a constant
     * feature keeps its deviation 1. */
    const double a[] = {1, 2, 3, 6}, b[] = {10, 20, 60, 10};
    double ma = 3.0, mb = 25.0, sa = 0.0, sb = 0.0;
    for (int i = 0; i < 4; i++) {
        sa += (a[i] - ma) * (a[i] - ma);
        sb += (b[i] - mb) * (b[i] - mb);
    }
    ck_assert_float_eq(mean[0], (float)ma);
    ck_assert_float_eq(mean[1], (float)mb);
    ck_assert_float_eq(mean[2], 5.0f);
    ck_assert_float_eq(std[0], (float)sqrt(sa / 4));
    ck_assert_float_eq(std[1], (float)sqrt(sb / 4));
    ck_assert_float_eq(std[2], 1.0f);
    ck_assert_float_eq(clnn_dataset_images(train)[3], (2.0f - mean[0]) / std[0]);

    /* The companion: columns found by name in another order, its classes
     * mapped to the training file's, the training statistics applied. */
    clnn_dataset_options o;
    clnn_dataset_options_init(&o);
    o.like = train;
    clnn_dataset *test = load_text("test.csv", "label,c,b,a\nz,5,20,2\nx,5,10,6\n", &o);
    ck_assert_uint_eq(clnn_dataset_classes(test), 3);
    ck_assert_int_eq(clnn_dataset_labels(test)[0], 2);
    ck_assert_int_eq(clnn_dataset_labels(test)[1], 0);
    ck_assert_float_eq(clnn_dataset_images(test)[0], (2.0f - mean[0]) / std[0]);
    ck_assert_float_eq(clnn_dataset_images(test)[1], (20.0f - mean[1]) / std[1]);
    ck_assert_float_eq(clnn_dataset_images(test)[2], 0.0f);
    clnn_dataset_free(test);
    /* New inputs without the label column. */
    o.labels_optional = true;
    test = load_text("inputs.csv", "b,a,c\n20,2,5\n", &o);
    ck_assert_ptr_null(clnn_dataset_labels(test));
    ck_assert_uint_eq(clnn_dataset_classes(test), 3);
    clnn_dataset_free(test);
    o.labels_optional = false;
    ck_assert_int_eq(load_fails("unknown.csv", "a,b,c,label\n1,2,3,w\n", &o), CLNN_ERR_BAD_FILE);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "line 2, column 4 ('label'): class 'w' is "
                                                    "not one of the 3 classes of like (x, y, ...)"));
    ck_assert_int_eq(load_fails("extra.csv", "a,b,c,d,label\n1,2,3,4,x\n", &o), CLNN_ERR_BAD_FILE);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "column 'd' is neither one of like's 3 "
                                                    "features nor its label column ('label')"));
    ck_assert_int_eq(load_fails("missing.csv", "a,b,label\n1,2,x\n", &o), CLNN_ERR_BAD_FILE);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "has no feature column 'c'"));
    clnn_dataset_free(train);
}
END_TEST

START_TEST(test_split)
{
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text, "v,k\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%d,%d\n", i, i % 3);
    clnn_dataset *all = load_text("all.csv", text, NULL);
    clnn_dataset *kept, *held, *kept2, *held2;
    ck_assert_int_eq(clnn_dataset_split(all, 0.25, 7, &kept, &held), CLNN_OK);
    ck_assert_uint_eq(clnn_dataset_count(held), 25);
    ck_assert_uint_eq(clnn_dataset_count(kept), 75);
    /* A partition of the rows, each part in file order, labels alongside. */
    bool seen[100] = {false};
    const clnn_dataset *parts[2] = {kept, held};
    for (int p = 0; p < 2; p++) {
        const float *x = clnn_dataset_images(parts[p]);
        for (size_t i = 0; i < clnn_dataset_count(parts[p]); i++) {
            int v = (int)x[i];
            ck_assert(!seen[v]);
            seen[v] = true;
            ck_assert(i == 0 || x[i] > x[i - 1]);
            ck_assert_int_eq(clnn_dataset_labels(parts[p])[i], v % 3);
        }
    }
    ck_assert_str_eq(clnn_dataset_feature_name(held, 0), "v");
    /* The same seed, the same split; another seed, another. */
    ck_assert_int_eq(clnn_dataset_split(all, 0.25, 7, &kept2, &held2), CLNN_OK);
    ck_assert_mem_eq(clnn_dataset_images(held), clnn_dataset_images(held2), 25 * sizeof(float));
    clnn_dataset_free(kept2);
    clnn_dataset_free(held2);
    ck_assert_int_eq(clnn_dataset_split(all, 0.25, 8, &kept2, &held2), CLNN_OK);
    ck_assert(memcmp(clnn_dataset_images(held), clnn_dataset_images(held2), 25 * sizeof(float)));
    clnn_dataset_free(kept2);
    clnn_dataset_free(held2);
    ck_assert_int_eq(clnn_dataset_split(all, 0.001, 7, &kept2, &held2), CLNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "leaves held_out empty"));
    ck_assert_ptr_null(kept2);
    clnn_dataset_free(kept);
    clnn_dataset_free(held);
    clnn_dataset_free(all);
}
END_TEST

static char *fixture(const char *name)
{
    const char *data = getenv("CLNN_TEST_DATA");
    ck_assert_msg(data != NULL, "CLNN_TEST_DATA is not set (run through meson test)");
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/bad/%s", data, name), 0);
    return p;
}

START_TEST(test_numpy)
{
    /* The same 2 x 3 array (1..6) as little-endian float32 in C order and
     * as big-endian float64 in Fortran order. */
    clnn_dataset_options o;
    clnn_dataset_options_init(&o);
    o.labels_optional = true;
    const float want[] = {1, 2, 3, 4, 5, 6};
    const char *names[] = {"npy-ok.npy", "npy-ok-big-endian-f8-fortran.npy"};
    for (int i = 0; i < 2; i++) {
        char *path = fixture(names[i]);
        clnn_dataset *ds = NULL;
        ck_assert_msg(clnn_dataset_load(path, &o, &ds) == CLNN_OK, "%s", clnn_last_error());
        ck_assert_uint_eq(clnn_dataset_count(ds), 2);
        ck_assert_uint_eq(clnn_dataset_features(ds), 3);
        ck_assert_mem_eq(clnn_dataset_images(ds), want, sizeof want);
        ck_assert_ptr_null(clnn_dataset_labels(ds));
        clnn_dataset_free(ds);
        free(path);
    }
    /* .npz, deflated and stored: x as above, y = [0, 1]. */
    o.labels_optional = false;
    const char *archives[] = {"npz-ok.npz", "npz-ok-stored.npz"};
    for (int i = 0; i < 2; i++) {
        char *path = fixture(archives[i]);
        clnn_dataset *ds = NULL;
        ck_assert_msg(clnn_dataset_load(path, &o, &ds) == CLNN_OK, "%s", clnn_last_error());
        ck_assert_mem_eq(clnn_dataset_images(ds), want, sizeof want);
        ck_assert_int_eq(clnn_dataset_labels(ds)[1], 1);
        ck_assert_uint_eq(clnn_dataset_classes(ds), 2);
        clnn_dataset_free(ds);
        free(path);
    }
    /* labels_path is for .npy features only. */
    char *csv = io_test_path(dir, "t.csv");
    io_test_write(csv, "a,b\n1,0\n", 8);
    o.labels_path = csv;
    clnn_dataset *ds = NULL;
    ck_assert_int_eq(clnn_dataset_load(csv, &o, &ds), CLNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "options.labels_path applies to .npy features"));
    free(csv);
}
END_TEST

START_TEST(test_options_and_description)
{
    clnn_dataset_options o;
    clnn_dataset_options_init(&o);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    o.struct_size = 4;
    ck_assert_int_eq(load_fails("a.csv", "a,b\n1,0\n", &o), CLNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "clnn_dataset_options.struct_size is 4"));
    clnn_dataset_options_init(&o);
    o.target = (clnn_target_kind)7;
    ck_assert_int_eq(load_fails("a.csv", "a,b\n1,0\n", &o), CLNN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "options.target is 7: use CLNN_TARGET_CLASSES"));
    clnn_dataset *ds = NULL;
    char *missing = io_test_path(dir, "absent.csv");
    ck_assert_int_eq(clnn_dataset_load(missing, NULL, &ds), CLNN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "cannot open"));
    free(missing);

    /* The description as a model keeps it, and back. */
    ds = load_text("d.csv", "\"a \"\"q\"\"\",b,k\n1,2.5,x\n3,-4,\"\xC3\xA9t\xC3\xA9\"\n", NULL);
    ck_assert_int_eq(clnn_dataset_standardize(ds, NULL), CLNN_OK);
    char *features, *classes, *mean, *std;
    ck_assert_int_eq(clnn__dataset_description_json(ds, &features, &classes, &mean, &std),
                     CLNN_OK);
    ck_assert_str_eq(features, "[\"a \\\"q\\\"\",\"b\"]");
    ck_assert_str_eq(classes, "[\"x\",\"\xC3\xA9t\xC3\xA9\"]");
    clnn_dataset *back = NULL;
    ck_assert_int_eq(clnn__dataset_describe(2, 5, features, "k", classes, mean, std, "test", &back),
                     CLNN_OK);
    ck_assert_str_eq(clnn_dataset_feature_name(back, 0), clnn_dataset_feature_name(ds, 0));
    ck_assert_str_eq(clnn_dataset_class_name(back, 1), "\xC3\xA9t\xC3\xA9");
    ck_assert_uint_eq(clnn_dataset_classes(back), 2);
    float m1[2], s1[2], m2[2], s2[2];
    ck_assert_int_eq(clnn_dataset_standardization(ds, m1, s1, 2), CLNN_OK);
    ck_assert_int_eq(clnn_dataset_standardization(back, m2, s2, 2), CLNN_OK);
    ck_assert_mem_eq(m1, m2, sizeof m1);
    ck_assert_mem_eq(s1, s2, sizeof s1);
    clnn_dataset_free(back);
    ck_assert_int_eq(clnn__dataset_describe(2, 5, features, NULL, classes, mean, NULL, "test",
                                            &back),
                     CLNN_ERR_BAD_FILE);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "clnn.data.mean without clnn.data.std"));
    ck_assert_int_eq(clnn__dataset_describe(3, 5, features, NULL, NULL, NULL, NULL, "test", &back),
                     CLNN_ERR_BAD_FILE);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "clnn.data.features holds 2 names, not 3"));
    free(features);
    free(classes);
    free(mean);
    free(std);
    clnn_dataset_free(ds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("datafiles");
    TCase *tc = tcase_create("datafiles");
    tcase_add_test(tc, test_csv_values_and_names);
    tcase_add_test(tc, test_csv_label_column_and_numbers);
    tcase_add_test(tc, test_csv_class_limit);
    tcase_add_test(tc, test_number_parser);
    tcase_add_test(tc, test_like_and_standardization);
    tcase_add_test(tc, test_split);
    tcase_add_test(tc, test_numpy);
    tcase_add_test(tc, test_options_and_description);
    suite_add_tcase(s, tc);
    setup(); /* one scratch folder for every test, removed at the end */
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    teardown();
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
