/* The layer-spec parser (clnn__spec_parse), host code only: valid specs with
 * names, aliases, case and whitespace; invalid ones fail with CLNN_ERR_SPEC
 * and a message that names the offending token. */
#include "core_test.h"
#include "layers/batchnorm.h"
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
    /* BatchNorm's options and LayerNorm's none. */
    {"bn:", "no options after ':'"},
    {"bn:foo=1", "unknown option 'foo'"},
    {"dense:3,bn:eps=1e-3,foo=2,relu", "unknown option 'foo'"},
    {"bn:eps", "option 'eps' has no value"},
    {"bn:eps=abc", "eps=abc: eps must be a number above 0"},
    {"bn:eps=0", "eps must be a number above 0"},
    {"bn:eps=-1e-5", "eps must be a number above 0"},
    {"bn:eps=nan", "eps must be a number above 0"},
    {"bn:eps=inf", "eps must be a number above 0"},
    {"bn:eps=1e-3x", "eps must be a number above 0"},
    {"bn:momentum=1.5", "momentum=1.5: momentum must be a number from 0 to 1"},
    {"bn:momentum=-0.1", "momentum must be a number from 0 to 1"},
    {"bn:momentum=nonE1", "momentum must be a number from 0 to 1"},
    {"bn:affine=maybe", "affine=maybe: affine is true or false"},
    {"bn:track_running_stats=0", "track_running_stats is true or false"},
    {"bn:eps=1e-3,eps=1e-4", "option eps is given twice"},
    {"bn:affine=false,", "position 2"},
    {"bn:affine=false,,relu", "position 2"},
    {"layernorm:3", "'layernorm:3'"},
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

/* BatchNorm's options: key=value pairs after ':' that the stack's commas
 * do not split, any case for keys and words, and the defaults when given
 * explicitly stored as defaults. */
START_TEST(test_bn_options)
{
    const clnn__layer_kind D = CLNN__LAYER_DENSE, B = CLNN__LAYER_BATCHNORM1D,
                           R = CLNN__LAYER_RELU, L = CLNN__LAYER_LAYERNORM;
    const char *spec = "dense:4,bn:eps=1e-3,momentum=0.05,affine=false,track_running_stats=false,"
                       "relu,n1=bn:Momentum=None, AFFINE = True,fc=dense:3,layernorm,"
                       "bn:eps=1e-5,momentum=0.1,affine=true,track_running_stats=true";
    expect_parse(spec,
                 (want_layer[]){{D, 4, ""}, {B, 0, ""}, {R, 0, ""}, {B, 0, "n1"}, {D, 3, "fc"},
                                {L, 0, ""}, {B, 0, ""}},
                 7);
    clnn__layer_spec *layers;
    size_t n;
    ck_assert_clnn_ok(clnn__spec_parse(spec, &layers, &n));
    clnn__bn_options o = clnn__bn_options_of(&layers[1]);
    ck_assert(o.eps == 1e-3 && o.momentum == 0.05 && !o.momentum_none && !o.affine &&
              !o.track_running_stats);
    o = clnn__bn_options_of(&layers[3]);
    ck_assert(o.eps == 1e-5 && o.momentum_none && o.affine &&
              o.track_running_stats);
    /* Every default spelt out is the option-less bn, which runs today's code. */
    const unsigned char zero[CLNN__LAYER_OPTIONS_BYTES] = {0};
    ck_assert_mem_eq(layers[6].options, zero, sizeof zero);
    o = clnn__bn_options_of(&layers[6]);
    ck_assert(o.eps == 1e-5 && o.momentum == 0.1 &&
              !o.momentum_none && o.affine && o.track_running_stats);

    /* What print writes parses to the same options (model files keep the
     * spec as clnn_net_spec writes it), and only non-defaults are written. */
    char text[256];
    const char *want[] = {NULL, ":eps=0.001,momentum=0.05,affine=false,track_running_stats=false",
                          NULL, ":momentum=none", NULL, NULL, ""};
    for (size_t i = 0; i < n; i++) {
        const clnn__layer_class *c = clnn__layer_classes[layers[i].kind];
        if (!want[i])
            continue;
        int len = c->print(&layers[i], text, sizeof text);
        ck_assert_int_eq(len, (int)strlen(want[i]));
        ck_assert_str_eq(text, want[i]);
        char again[300];
        snprintf(again, sizeof again, "bn%s", text);
        clnn__layer_spec *back;
        size_t m;
        ck_assert_clnn_ok(clnn__spec_parse(again, &back, &m));
        ck_assert_uint_eq(m, 1);
        ck_assert_mem_eq(back[0].options, layers[i].options, CLNN__LAYER_OPTIONS_BYTES);
        free(back);
    }
    free(layers);
    /* Numbers that need every digit survive the trip. */
    ck_assert_clnn_ok(clnn__spec_parse("bn:eps=1.2345678901234567e-7,momentum=0.30000000000000004",
                                       &layers, &n));
    clnn__layer_classes[B]->print(&layers[0], text, sizeof text);
    o = clnn__bn_options_of(&layers[0]);
    ck_assert(o.eps == 1.2345678901234567e-7 && o.momentum == 0.30000000000000004);
    free(layers);
    char again[300];
    snprintf(again, sizeof again, "bn%s", text);
    ck_assert_clnn_ok(clnn__spec_parse(again, &layers, &n));
    clnn__bn_options back = clnn__bn_options_of(&layers[0]);
    ck_assert(back.eps == o.eps && back.momentum == o.momentum);
    free(layers);
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
    tcase_add_test(tc, test_bn_options);
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
