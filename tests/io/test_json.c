/* The strict JSON reader and the serde_json-compatible string escaping. */
#include "io_test.h"

#include "io/json.h"

static clnn_status parse(const char *text, clnn__json *v)
{
    return clnn__json_parse(text, strlen(text), v);
}

START_TEST(test_values)
{
    clnn__json v;
    ck_assert_clnn_ok(parse(" {\"a\": [1, 0, 18446744073709551615, 18446744073709551616, -3, "
                            "2.5e3, true, false, null, \"x\"], \"\": {}, \"a\": []} ",
                            &v));
    ck_assert_int_eq(v.kind, CLNN__JSON_OBJECT);
    ck_assert_uint_eq(v.count, 3);
    ck_assert_str_eq(v.keys[0], "a");
    ck_assert_str_eq(v.keys[1], "");
    ck_assert_str_eq(v.keys[2], "a"); /* duplicates are kept for the caller to judge */
    const clnn__json *a = &v.items[0];
    ck_assert_int_eq(a->kind, CLNN__JSON_ARRAY);
    ck_assert_uint_eq(a->count, 10);
    ck_assert_int_eq(a->items[0].kind, CLNN__JSON_UINT);
    ck_assert_uint_eq(a->items[0].uint, 1);
    ck_assert_uint_eq(a->items[1].uint, 0);
    ck_assert_int_eq(a->items[2].kind, CLNN__JSON_UINT);
    ck_assert_uint_eq(a->items[2].uint, UINT64_MAX);
    ck_assert_int_eq(a->items[3].kind, CLNN__JSON_NUMBER); /* too large */
    ck_assert_str_eq(a->items[3].str, "18446744073709551616");
    ck_assert_int_eq(a->items[4].kind, CLNN__JSON_NUMBER);
    ck_assert_str_eq(a->items[4].str, "-3");
    ck_assert_str_eq(a->items[5].str, "2.5e3");
    ck_assert_int_eq(a->items[6].kind, CLNN__JSON_LITERAL);
    ck_assert_str_eq(a->items[8].str, "null");
    ck_assert_int_eq(a->items[9].kind, CLNN__JSON_STRING);
    ck_assert_uint_eq(a->items[9].offset, 88);
    ck_assert_int_eq(v.items[1].kind, CLNN__JSON_OBJECT);
    ck_assert_uint_eq(v.items[1].count, 0);
    clnn__json_free(&v);
    clnn__json_free(&v);

    ck_assert_clnn_ok(parse("0", &v));
    ck_assert_int_eq(v.kind, CLNN__JSON_UINT);
    clnn__json_free(&v);
    ck_assert_clnn_ok(parse("-0", &v));
    ck_assert_int_eq(v.kind, CLNN__JSON_NUMBER);
    clnn__json_free(&v);
}
END_TEST

START_TEST(test_string_escapes)
{
    clnn__json v;
    ck_assert_clnn_ok(parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC\\ud83d\\ude00\\u0000z\"",
                            &v));
    static const char want[] = "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0z";
    ck_assert_uint_eq(v.len, sizeof want - 1);
    ck_assert_mem_eq(v.str, want, sizeof want - 1);
    clnn__json_free(&v);
    /* Raw UTF-8 passes through. */
    ck_assert_clnn_ok(parse("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"", &v));
    ck_assert_str_eq(v.str, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f");
    clnn__json_free(&v);
}
END_TEST

START_TEST(test_rejects)
{
    static const struct {
        const char *text;
        const char *expect;
    } bad[] = {
        {"", "unexpected end of text"},
        {"   ", "unexpected end of text"},
        {"[1,]", "unexpected ']' where a value was expected"},
        {"[1 2]", "expected ',' or ']'"},
        {"{\"a\":1,}", "trailing comma"},
        {"{1:2}", "expected a string key"},
        {"[\"a]", "unterminated string"},
        {"\"\\", "unterminated string"},
        {"\"\\x\"", "invalid escape sequence: backslash followed by 'x'"},
        {"\"\\u00\"", "four hexadecimal digits"},
        {"\"\\udfff\"", "unpaired low surrogate \\uDFFF"},
        {"\"\\ud83d\\n\"", "not followed by a low surrogate"},
        {"\"\\ud83d\"", "not followed by a low surrogate"},
        {"\"\x80\"", "invalid UTF-8 byte 0x80"},
        {"\"\xc1\xbf\"", "invalid UTF-8"},
        {"\"\xe0\x80\xaf\"", "invalid UTF-8"},
        {"\"\xf0\x80\x80\xaf\"", "invalid UTF-8"},
        {"\"\xf5\x80\x80\x80\"", "invalid UTF-8"},
        {"\"a\nb\"", "control character 0x0A"},
        {"\x80", "unexpected byte 0x80"},
        {"007", "leading zeros"},
        {".5", "unexpected '.'"},
        {"1.e5", "after the decimal point"},
        {"1e+", "in the exponent"},
        {"--1", "expected a digit"},
        {"nul", "unexpected 'n'"},
        {"True", "unexpected 'T'"},
        {"1 2", "unexpected '2' after the end of the JSON value"},
        {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "nesting deeper"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clnn__json v;
        clnn_status st = parse(bad[i].text, &v);
        ck_assert_msg(st == CLNN_ERR_BAD_FILE, "case %zu: %s", i, clnn_status_name(st));
        ck_assert_msg(strstr(clnn_last_error(), bad[i].expect) != NULL,
                      "case %zu: message \"%s\" lacks \"%s\"", i, clnn_last_error(),
                      bad[i].expect);
        ck_assert_uint_eq(v.count, 0); /* nothing leaks out of a failed parse */
    }
    /* Exactly the depth limit is fine. */
    char deep[2 * CLNN__JSON_MAX_DEPTH + 1];
    memset(deep, '[', CLNN__JSON_MAX_DEPTH);
    memset(deep + CLNN__JSON_MAX_DEPTH, ']', CLNN__JSON_MAX_DEPTH);
    deep[2 * CLNN__JSON_MAX_DEPTH] = '\0';
    clnn__json v;
    ck_assert_clnn_ok(parse(deep, &v));
    clnn__json_free(&v);
    /* An embedded NUL byte is not whitespace. */
    ck_assert_fails_with(clnn__json_parse("{}\0", 3, &v), CLNN_ERR_BAD_FILE, "byte 0x00");
}
END_TEST

START_TEST(test_escape)
{
    static const char in[] = "a\"b\\c/\b\f\n\r\t\x01\x1f\x7f\xc3\xa9";
    static const char want[] = "a\\\"b\\\\c/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xc3\xa9";
    size_t n = clnn__json_escape(in, sizeof in - 1, NULL);
    ck_assert_uint_eq(n, sizeof want - 1);
    char out[64];
    ck_assert_uint_eq(clnn__json_escape(in, sizeof in - 1, out), n);
    ck_assert_mem_eq(out, want, n);

    /* What is escaped parses back to the original. */
    char quoted[80];
    quoted[0] = '"';
    memcpy(quoted + 1, out, n);
    quoted[n + 1] = '"';
    clnn__json v;
    ck_assert_clnn_ok(clnn__json_parse(quoted, n + 2, &v));
    ck_assert_uint_eq(v.len, sizeof in - 1);
    ck_assert_mem_eq(v.str, in, v.len);
    clnn__json_free(&v);
}
END_TEST

START_TEST(test_utf8_valid)
{
    ck_assert(clnn__utf8_valid("", 0));
    ck_assert(clnn__utf8_valid("plain", 5));
    ck_assert(clnn__utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 13));
    ck_assert(!clnn__utf8_valid("\xc3", 1));
    ck_assert(!clnn__utf8_valid("\xc0\x80", 2));
    ck_assert(!clnn__utf8_valid("\xed\xbf\xbf", 3));
    ck_assert(!clnn__utf8_valid("\xf4\x90\x80\x80", 4));
    ck_assert(!clnn__utf8_valid("\xfe", 1));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io-json");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_string_escapes);
    tcase_add_test(tc, test_rejects);
    tcase_add_test(tc, test_escape);
    tcase_add_test(tc, test_utf8_valid);
    suite_add_tcase(s, tc);
    return clnn_test_run(s);
}
