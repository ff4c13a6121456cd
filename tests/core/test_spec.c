/* The layer-spec parser (clnn__spec_parse), host code only: valid specs with
 * names, aliases, case and whitespace; invalid ones fail with CLNN_ERR_SPEC
 * and a message that names the offending token. */
#include "core_test.h"
#include "layers/batchnorm.h"
#include "layers/dense.h"
#include "layers/leakyrelu.h"
#include "net/spec.h"

#include <float.h>
#include <locale.h>
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
    /* The activations, with and without LeakyReLU's slope. */
    const clnn__layer_kind L = CLNN__LAYER_LEAKYRELU, G = CLNN__LAYER_GELU,
                           T = CLNN__LAYER_TANH, S = CLNN__LAYER_SIGMOID, U = CLNN__LAYER_SILU;
    expect_parse("dense:4,leakyrelu,gelu,tanh,sigmoid,silu,a=LeakyReLU:0.2,GELU,Tanh,SIGMOID,SiLU",
                 (want_layer[]){{D, 4, ""},
                                {L, 0, ""},
                                {G, 0, ""},
                                {T, 0, ""},
                                {S, 0, ""},
                                {U, 0, ""},
                                {L, 0, "a"},
                                {G, 0, ""},
                                {T, 0, ""},
                                {S, 0, ""},
                                {U, 0, ""}},
                 11);
    expect_parse("softplus,dense:3,sp=SoftPlus",
                 (want_layer[]){{CLNN__LAYER_SOFTPLUS, 0, ""},
                                {D, 3, ""},
                                {CLNN__LAYER_SOFTPLUS, 0, "sp"}},
                 3);
}
END_TEST

static clnn__layer_spec parse_one(const char *spec)
{
    clnn__layer_spec *layers = NULL;
    size_t count = 0;
    clnn_status st = clnn__spec_parse(spec, &layers, &count);
    ck_assert_msg(st == CLNN_OK, "\"%s\": %s", spec, clnn_last_error());
    ck_assert_uint_eq(count, 1);
    clnn__layer_spec one = layers[0];
    free(layers);
    return one;
}

/* The slope is the float nearest the number written (as Python's float
 * becomes PyTorch's float32 scalar), 0.01 when none is; the kind prints it
 * back with the fewest digits that read back as the same float, so a
 * model file's clnn.spec gives the same network. */
START_TEST(test_leakyrelu_slope)
{
    const struct {
        const char *spec;
        float slope;
        const char *printed;
    } cases[] = {
        {"leakyrelu", 0.01f, ""},
        {"leakyrelu:0.2", 0.2f, ":0.2"},
        {"leakyrelu:.2", 0.2f, ":0.2"},
        {"leakyrelu:0.01", 0.01f, ":0.01"},
        {"leakyrelu:0", 0.0f, ":0"},
        {"leakyrelu:1", 1.0f, ":1"},
        {"leakyrelu:2.", 2.0f, ":2"},
        {"leakyrelu:+1e-3", 1e-3f, ":0.001"},
        {"leakyrelu:-0.15", -0.15f, ":-0.15"},
        {"leakyrelu:1E+2", 100.0f, ":1e+02"},
        {"leakyrelu:0.1234567891", 0.1234567891f, ":0.12345679"},
        {"leakyrelu:3.4e38", 3.4e38f, ":3.4e+38"},
        {"leakyrelu:-3.4028235e38", -FLT_MAX, ":-3.4028235e+38"},
        {"leakyrelu:1e-45", 1e-45f, ":1e-45"},
    };
    const clnn__layer_class *c = clnn__layer_classes[CLNN__LAYER_LEAKYRELU];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clnn__layer_spec one = parse_one(cases[i].spec);
        ck_assert_msg(clnn__leakyrelu_slope(&one) == cases[i].slope, "%s: slope %.9g",
                      cases[i].spec, (double)clnn__leakyrelu_slope(&one));
        char buf[64];
        int n = c->print(&one, buf, sizeof buf);
        ck_assert_str_eq(buf, cases[i].printed);
        ck_assert_int_eq(n, (int)strlen(cases[i].printed));
        /* What it printed parses back to the same spec. */
        char again[80];
        snprintf(again, sizeof again, "leakyrelu%s", buf);
        clnn__layer_spec back = parse_one(again);
        ck_assert_msg(memcmp(&back, &one, sizeof one) == 0 || !buf[0], "%s", again);
        /* Cut short, it still says how long it is. */
        ck_assert_int_eq(c->print(&one, buf, 3), n);
        ck_assert_uint_le(strlen(buf), 2);
    }
    /* A spec without options, as clnn_net_add_* gives, is the default. */
    const clnn__layer_spec zero = {.kind = CLNN__LAYER_LEAKYRELU};
    ck_assert(clnn__leakyrelu_slope(&zero) == CLNN__LEAKYRELU_SLOPE);
}
END_TEST

/* In a locale whose decimal point is a comma, the spec still reads and
 * writes '.', as C's own "C" locale does (a comma would end the layer). */
START_TEST(test_leakyrelu_slope_any_locale)
{
    const char *const comma_locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
    const char *used = NULL;
    for (size_t i = 0; i < sizeof comma_locales / sizeof comma_locales[0] && !used; i++)
        if (setlocale(LC_NUMERIC, comma_locales[i]))
            used = comma_locales[i];
    if (!used || strcmp(localeconv()->decimal_point, ",") != 0) {
        printf("test_leakyrelu_slope_any_locale: no locale with a decimal comma installed; "
               "not checked\n");
        setlocale(LC_NUMERIC, "C");
        return;
    }
    clnn__layer_spec one = parse_one("leakyrelu:0.25");
    char buf[64];
    clnn__layer_classes[CLNN__LAYER_LEAKYRELU]->print(&one, buf, sizeof buf);
    setlocale(LC_NUMERIC, "C");
    ck_assert(clnn__leakyrelu_slope(&one) == 0.25f);
    ck_assert_str_eq(buf, ":0.25");
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
    {"leakyrelu:", "missing the negative slope"},
    {"leakyrelu:x", "'leakyrelu:x'"},
    {"leakyrelu:x", "must be a decimal number such as 0.2"},
    {"leakyrelu:0.2.3", "'leakyrelu:0.2.3'"},
    {"leakyrelu:0,2", "unknown layer kind '2'"},
    {"leakyrelu:0.2x", "'leakyrelu:0.2x'"},
    {"leakyrelu: 0.2", "'leakyrelu: 0.2'"},
    {"leakyrelu:-", "not '-'"},
    {"leakyrelu:.", "not '.'"},
    {"leakyrelu:1e", "not '1e'"},
    {"leakyrelu:e3", "not 'e3'"},
    {"leakyrelu:nan", "not 'nan'"},
    {"leakyrelu:inf", "not 'inf'"},
    {"leakyrelu:-infinity", "not '-infinity'"},
    {"leakyrelu:0x1p-3", "not '0x1p-3'"},
    {"leakyrelu:1e39", "beyond the range of a float"},
    {"leakyrelu:3.40282357e38", "beyond the range of a float"},
    {"leakyrelu:-1e400", "beyond the range of a float"},
    {"leakyrelu:slope=0.2", "'leakyrelu:slope=0.2'"},
    {"gelu:tanh", "gelu takes no size or options"},
    {"tanh:1", "'tanh:1'"},
    {"sigmoid:0", "'sigmoid:0'"},
    {"silu:", "'silu:'"},
    {"softplus:2", "'softplus:2'"},
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
    {"dropout:", "missing the dropout probability"},
    {"dropout:x", "'dropout:x'"},
    {"dropout:-0.1", "below 0"},
    {"dropout:1.5", "above 1"},
    {"dropout:1.0000001", "above 1"},
    {"dropout:nan", "must be a decimal number"},
    {"dropout:0.2.3", "must be a decimal number"},
    {"dropout:1e", "must be a decimal number"},
    {"dropout:.", "must be a decimal number"},
    {"dropout: 0.2", "must be a decimal number"},
    {"dropout:1e999", "beyond the range"},
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

/* The public list of kinds (clnn train --help prints it) is the table's:
 * one entry per kind, in its order, each starting with the kind's name,
 * then NULL. */
START_TEST(test_kind_usage_list)
{
    size_t i = 0;
    for (; clnn_layer_kind_usage(i); i++) {
        ck_assert_uint_lt(i, CLNN__LAYER_KIND_COUNT);
        const char *name = clnn__layer_kind_name((clnn__layer_kind)i);
        ck_assert_msg(strncmp(clnn_layer_kind_usage(i), name, strlen(name)) == 0,
                      "kind %zu: usage \"%s\" does not start with \"%s\"", i,
                      clnn_layer_kind_usage(i), name);
    }
    ck_assert_uint_eq(i, CLNN__LAYER_KIND_COUNT);
    ck_assert_ptr_null(clnn_layer_kind_usage((size_t)-1));
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
    tcase_add_test(tc, test_dropout_probability);
    tcase_add_test(tc, test_null_spec);
    tcase_add_test(tc, test_kind_usage_list);
    tcase_add_test(tc, test_leakyrelu_slope);
    tcase_add_test(tc, test_leakyrelu_slope_any_locale);
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
