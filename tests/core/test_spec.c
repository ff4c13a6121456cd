/* The layer-spec parser (clnn__spec_parse), host code only: valid specs with
 * names, aliases, case and whitespace; invalid ones fail with CLNN_ERR_SPEC
 * and a message that names the offending token. */
#include "core_test.h"
#include "layers/dense.h"
#include "net/spec.h"

#include <stdlib.h>

typedef struct want_layer {
    clnn__layer_kind kind;
    size_t units;
    const char *name;
} want_layer;

static void expect_parse(const char *spec, const want_layer *want, size_t n)
{
    clnn__layer_spec *layers = NULL;
    size_t count = 0;
    clnn_status st = clnn__spec_parse(spec, &layers, &count);
    ck_assert_msg(st == CLNN_OK, "\"%s\": %s: %s", spec, clnn_status_name(st), clnn_last_error());
    ck_assert_uint_eq(count, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(layers[i].kind == want[i].kind, "\"%s\" layer %zu: kind %s", spec, i,
                      clnn__layer_kind_name(layers[i].kind));
        ck_assert_uint_eq(layers[i].units, want[i].units);
        ck_assert_str_eq(layers[i].name, want[i].name);
    }
    free(layers);
}

START_TEST(test_valid_specs)
{
    const clnn__layer_kind D = CLNN__LAYER_DENSE, B = CLNN__LAYER_BATCHNORM1D,
                           R = CLNN__LAYER_RELU;
    expect_parse("dense:256,bn,relu,dense:128,bn,relu,dense:10",
                 (want_layer[]){{D, 256, ""}, {B, 0, ""}, {R, 0, ""}, {D, 128, ""}, {B, 0, ""},
                                {R, 0, ""}, {D, 10, ""}},
                 7);
    expect_parse("dense:1", (want_layer[]){{D, 1, ""}}, 1);
    expect_parse("relu", (want_layer[]){{R, 0, ""}}, 1);
    /* Aliases and case. */
    expect_parse("linear:3,BatchNorm1d,batchnorm,BN,ReLU,DENSE:1000000",
                 (want_layer[]){{D, 3, ""}, {B, 0, ""}, {B, 0, ""}, {B, 0, ""}, {R, 0, ""},
                                {D, 1000000, ""}},
                 6);
    /* Whitespace around tokens; names with underscores and digits. */
    expect_parse("  fc1=dense:256 ,\tbn_1=bn,  relu ,_out=linear:10\n",
                 (want_layer[]){{D, 256, "fc1"}, {B, 0, "bn_1"}, {R, 0, ""}, {D, 10, "_out"}},
                 4);
    /* Leading zeros are still a positive integer. */
    expect_parse("dense:007", (want_layer[]){{D, 7, ""}}, 1);
}
END_TEST

/* Each invalid spec and a piece of text its message must contain: the
 * offending token, so a user can find it in a long spec. */
static const struct {
    const char *spec;
    const char *needle;
} invalid[] = {
    {"", "empty layer at position 1"},
    {"   ", "empty layer at position 1"},
    {"dense", "'dense'"},
    {"dense:", "'dense:'"},
    {"dense:0", "'dense:0'"},
    {"dense:x", "'dense:x'"},
    {"dense:-3", "'dense:-3'"},
    {"dense:3x", "'dense:3x'"},
    {"dense:1000001", "'dense:1000001'"},
    {"dense:99999999999999999999999", "'dense:99999999999999999999999'"},
    {"foo", "'foo'"},
    {"dense:4,foo,relu", "'foo'"},
    {"relu:3", "'relu:3'"},
    {"bn:2", "'bn:2'"},
    {"a=relu,a=dense:3", "'a'"},
    {"1abc=relu", "'1abc'"},
    {"fc-1=relu", "'fc-1'"},
    {"=relu", "'=relu'"},
    {"dense:10,", "position 2"},
    {",dense:10", "position 1"},
    {"dense:3,,relu", "position 2"},
    {"a=b=relu", "'b=relu'"},
    {"x123456789012345678901234567890123456789012345678901234567890123=relu", "name longer"},
    {"dropout:", "missing probability"},
    {"dropout:x", "'dropout:x'"},
    {"dropout:-0.1", "below 0"},
    {"dropout:1.5", "above 1"},
    {"dropout:1.0000001", "above 1"},
    {"dropout:nan", "not a decimal number"},
    {"dropout:0.2.3", "not a decimal number"},
    {"dropout:1e", "not a decimal number"},
    {"dropout:.", "not a decimal number"},
    {"dropout: 0.2", "not a decimal number"},
    {"dropout:1e999", "out of range"},
};
#define N_INVALID (sizeof invalid / sizeof invalid[0])

START_TEST(test_invalid_spec)
{
    const char *spec = invalid[_i].spec;
    clnn__layer_spec *layers = (clnn__layer_spec *)&layers; /* must be reset to NULL */
    size_t count = 99;
    clnn_status st = clnn__spec_parse(spec, &layers, &count);
    ck_assert_msg(st == CLNN_ERR_SPEC, "\"%s\" gave %s, expected CLNN_ERR_SPEC", spec,
                  clnn_status_name(st));
    ck_assert_msg(strstr(clnn_last_error(), invalid[_i].needle) != NULL,
                  "\"%s\": message \"%s\" lacks \"%s\"", spec, clnn_last_error(),
                  invalid[_i].needle);
    ck_assert_ptr_null(layers);
    ck_assert_uint_eq(count, 0);
}
END_TEST

/* Dropout's probability: what a spec gives (or 0.5), printed back as the
 * shortest text that reads back to the same double. */
START_TEST(test_dropout_probability)
{
    static const struct {
        const char *spec, *printed;
    } cases[] = {
        {"dropout:0.2", ":0.2"},   {"Dropout", ":0.5"},     {"d1=dropout:.5", ":0.5"},
        {"dropout:0", ":0"},       {"dropout:1", ":1"},     {"dropout:2e-1", ":0.2"},
        {"dropout:0.123456789012345678", ":0.12345678901234568"}, {"DROPOUT:1E-3", ":0.001"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clnn__layer_spec *layers = NULL;
        size_t count = 0;
        ck_assert_clnn_ok(clnn__spec_parse(cases[i].spec, &layers, &count));
        ck_assert_uint_eq(count, 1);
        ck_assert_int_eq(layers[0].kind, CLNN__LAYER_DROPOUT);
        char text[64];
        clnn__layer_classes[CLNN__LAYER_DROPOUT]->print(&layers[0], text, sizeof text);
        ck_assert_msg(strcmp(text, cases[i].printed) == 0, "\"%s\" printed \"%s\", expected \"%s\"",
                      cases[i].spec, text, cases[i].printed);
        free(layers);
    }
}
END_TEST

START_TEST(test_null_spec)
{
    clnn__layer_spec *layers;
    size_t count;
    ck_assert_int_eq(clnn__spec_parse(NULL, &layers, &count), CLNN_ERR_SPEC);
    ck_assert_ptr_nonnull(strstr(clnn_last_error(), "dense:N"));
}
END_TEST

START_TEST(test_valid_names)
{
    ck_assert(clnn__spec_valid_name("fc1"));
    ck_assert(clnn__spec_valid_name("_"));
    ck_assert(clnn__spec_valid_name("Layer_2b"));
    ck_assert(!clnn__spec_valid_name(""));
    ck_assert(!clnn__spec_valid_name("2fc"));
    ck_assert(!clnn__spec_valid_name("fc.1"));
    ck_assert(!clnn__spec_valid_name("fc 1"));
    char longest[CLNN__NAME_MAX + 1];
    memset(longest, 'a', CLNN__NAME_MAX);
    longest[CLNN__NAME_MAX - 1] = '\0';
    ck_assert(clnn__spec_valid_name(longest));
    longest[CLNN__NAME_MAX - 1] = 'a';
    longest[CLNN__NAME_MAX] = '\0';
    ck_assert(!clnn__spec_valid_name(longest));
}
END_TEST

/* Which dense layers keep their weight transposed on the device: the first
 * layer of the stack, when at least 32 units wide, unless turned off. */
START_TEST(test_weight_layout_rule)
{
    const clnn__layer_spec wide = {.kind = CLNN__LAYER_DENSE, .units = 256};
    const clnn__layer_spec narrow = {.kind = CLNN__LAYER_DENSE, .units = 31};
    const clnn__layer_spec bn = {.kind = CLNN__LAYER_BATCHNORM1D};
    ck_assert_int_eq(unsetenv("CLNN_TRANSPOSED_WEIGHTS"), 0);
    ck_assert(clnn__dense_weight_transposed(&wide, 0));
    ck_assert(!clnn__dense_weight_transposed(&wide, 1));
    ck_assert(!clnn__dense_weight_transposed(&narrow, 0));
    ck_assert(!clnn__dense_weight_transposed(&bn, 0));
    ck_assert_int_eq(setenv("CLNN_TRANSPOSED_WEIGHTS", "0", 1), 0);
    ck_assert(!clnn__dense_weight_transposed(&wide, 0));
    ck_assert_int_eq(unsetenv("CLNN_TRANSPOSED_WEIGHTS"), 0);
}
END_TEST

static Suite *spec_suite(void)
{
    Suite *s = suite_create("core-spec");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_valid_specs);
    tcase_add_loop_test(tc, test_invalid_spec, 0, (int)N_INVALID);
    tcase_add_test(tc, test_dropout_probability);
    tcase_add_test(tc, test_null_spec);
    tcase_add_test(tc, test_valid_names);
    tcase_add_test(tc, test_weight_layout_rule);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* The parser is host code: no device needed. */
    return core_run(spec_suite());
}
