/* safetensors: round trips, byte-exact agreement with Python's safetensors,
 * and rejection of malformed files with specific messages. */
#include "io_test.h"

#include "io/safetensors.h"

/* 8-byte little-endian length, header, then data_len bytes of data. */
static uint8_t *make_file(const char *header, size_t hlen, size_t data_len, size_t *len)
{
    *len = 8 + hlen + data_len;
    uint8_t *b = calloc(1, *len);
    ck_assert_ptr_nonnull(b);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(b + 8, header, hlen);
    for (size_t i = 0; i < data_len; i++)
        b[8 + hlen + i] = (uint8_t)(i * 7 + 1);
    return b;
}

static clnn_status parse_header_text(const char *header, size_t data_len)
{
    size_t len;
    uint8_t *b = make_file(header, strlen(header), data_len, &len);
    clnn__st_file f;
    clnn_status st = clnn__st_parse(b, len, &f);
    if (st == CLNN_OK)
        clnn__st_free(&f);
    free(b);
    return st;
}

/* ------------------------------------------------------------ Python bytes */

/* What safetensors 0.8 (Python) writes for
 *   serialize({"bn.running_mean": f32[2] [0.5, -1], "bn.num_batches_tracked": i64[] 3,
 *              'we"ird\n\x01é/\x7f': u8[3] [1, 2, 3], "fc.weight": f32[2, 2] [1, 2, 3, 4],
 *              "empty": f32[0, 3]}, {"format": "pt"})
 * It orders tensors by dtype, descending, then by name; given that order the
 * writer here must produce the same bytes. */
static const char py_header[] =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
    "\"bn.running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
    "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[16,16]},"
    "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16,32]},"
    "\"we\\\"ird\\n\\u0001\xc3\xa9/\x7f\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[32,35]}}"
    "     ";
static const uint8_t py_data[35] = {
    0x03, 0, 0, 0, 0, 0, 0, 0,                               /* 3 (I64) */
    0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x80, 0xbf,          /* 0.5, -1 */
    0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40,          /* 1, 2 */
    0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0x40,          /* 3, 4 */
    0x01, 0x02, 0x03};
static const char weird_name[] = "we\"ird\n\x01\xc3\xa9/\x7f";

static uint8_t *python_file(size_t *len)
{
    size_t hlen = sizeof py_header - 1;
    ck_assert_uint_eq(hlen, 0x178);
    *len = 8 + hlen + sizeof py_data;
    ck_assert_uint_eq(*len, 419);
    uint8_t *b = make_file(py_header, hlen, sizeof py_data, len);
    memcpy(b + 8 + hlen, py_data, sizeof py_data);
    return b;
}

START_TEST(test_write_matches_python)
{
    char *dir = io_test_tmpdir();
    char *path = io_test_path(dir, "m.safetensors");
    int64_t tracked = 3;
    float mean[2] = {0.5f, -1.0f}, weight[4] = {1, 2, 3, 4};
    uint8_t bytes[3] = {1, 2, 3};
    clnn__st_entry e[5] = {
        {.name = "bn.num_batches_tracked", .dtype = CLNN__ST_I64, .ndim = 0, .data = &tracked,
         .nbytes = 8},
        {.name = "bn.running_mean", .dtype = CLNN__ST_F32, .ndim = 1, .shape = {2}, .data = mean,
         .nbytes = 8},
        {.name = "empty", .dtype = CLNN__ST_F32, .ndim = 2, .shape = {0, 3}, .data = NULL,
         .nbytes = 0},
        {.name = "fc.weight", .dtype = CLNN__ST_F32, .ndim = 2, .shape = {2, 2}, .data = weight,
         .nbytes = 16},
        {.name = weird_name, .dtype = CLNN__ST_U8, .ndim = 1, .shape = {3}, .data = bytes,
         .nbytes = 3},
    };
    const char *keys[] = {"format"}, *values[] = {"pt"};
    ck_assert_clnn_ok(clnn__st_write(path, e, 5, keys, values, 1));

    size_t len, want_len;
    uint8_t *got = io_test_slurp(path, &len);
    uint8_t *want = python_file(&want_len);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(len, want_len);
    ck_assert_mem_eq(got, want, len);
    ck_assert_uint_eq(io_test_count_entries(dir), 1); /* no temporary left behind */
    free(got);
    free(want);
    free(path);
    io_test_rmtree(dir);
}
END_TEST

/* Python orders by dtype alignment too: U64, F64, BF16, F16, U16, I16, BOOL. */
START_TEST(test_write_matches_python_dtypes)
{
    static const char header[] =
        "{\"f\":{\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[0,8]},"
        "\"g\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]},"
        "\"a\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[16,18]},"
        "\"b\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[18,20]},"
        "\"d\":{\"dtype\":\"U16\",\"shape\":[1],\"data_offsets\":[20,22]},"
        "\"c\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[22,24]},"
        "\"e\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[24,25]}}       ";
    static const uint8_t zeros[8] = {0};
    clnn__st_entry e[7] = {
        {.name = "f", .dtype = CLNN__ST_U64, .ndim = 1, .shape = {1}, .data = zeros, .nbytes = 8},
        {.name = "g", .dtype = CLNN__ST_F64, .ndim = 1, .shape = {1}, .data = zeros, .nbytes = 8},
        {.name = "a", .dtype = CLNN__ST_BF16, .ndim = 1, .shape = {1}, .data = zeros, .nbytes = 2},
        {.name = "b", .dtype = CLNN__ST_F16, .ndim = 1, .shape = {1}, .data = zeros, .nbytes = 2},
        {.name = "d", .dtype = CLNN__ST_U16, .ndim = 1, .shape = {1}, .data = zeros, .nbytes = 2},
        {.name = "c", .dtype = CLNN__ST_I16, .ndim = 1, .shape = {1}, .data = zeros, .nbytes = 2},
        {.name = "e", .dtype = CLNN__ST_BOOL, .ndim = 1, .shape = {1}, .data = zeros, .nbytes = 1},
    };
    char *dir = io_test_tmpdir();
    char *path = io_test_path(dir, "d.safetensors");
    ck_assert_clnn_ok(clnn__st_write(path, e, 7, NULL, NULL, 0));
    size_t len, want_len;
    uint8_t *got = io_test_slurp(path, &len);
    uint8_t *want = make_file(header, sizeof header - 1, 25, &want_len);
    memset(want + 8 + sizeof header - 1, 0, 25);
    ck_assert_uint_eq(sizeof header - 1, 0x188);
    ck_assert_uint_eq(len, want_len);
    ck_assert_mem_eq(got, want, len);
    free(got);
    free(want);
    free(path);
    io_test_rmtree(dir);
}
END_TEST

START_TEST(test_write_matches_python_empty)
{
    static const uint8_t plain[] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    static const char meta_header[] = "{\"__metadata__\":{\"format\":\"pt\"}}";
    char *dir = io_test_tmpdir();
    char *path = io_test_path(dir, "e.safetensors");
    size_t len;
    ck_assert_clnn_ok(clnn__st_write(path, NULL, 0, NULL, NULL, 0));
    uint8_t *got = io_test_slurp(path, &len);
    ck_assert_uint_eq(len, sizeof plain);
    ck_assert_mem_eq(got, plain, len);
    free(got);

    const char *keys[] = {"format"}, *values[] = {"pt"};
    ck_assert_clnn_ok(clnn__st_write(path, NULL, 0, keys, values, 1));
    got = io_test_slurp(path, &len);
    ck_assert_uint_eq(len, 8 + 32);
    ck_assert_uint_eq(got[0], 32);
    ck_assert_mem_eq(got + 8, meta_header, 32);
    free(got);
    free(path);
    io_test_rmtree(dir);
}
END_TEST

START_TEST(test_parse_python_file)
{
    size_t len;
    uint8_t *b = python_file(&len);
    clnn__st_file f;
    ck_assert_clnn_ok(clnn__st_parse(b, len, &f));
    free(b); /* the parsed file holds its own copy */
    ck_assert_uint_eq(f.count, 5);
    ck_assert_str_eq(f.tensors[0].name, "bn.num_batches_tracked");
    ck_assert_int_eq(f.tensors[0].dtype, CLNN__ST_I64);
    ck_assert_uint_eq(f.tensors[0].ndim, 0);
    ck_assert_uint_eq(f.tensors[0].numel, 1);
    ck_assert_uint_eq(f.tensors[0].nbytes, 8);
    int64_t tracked;
    memcpy(&tracked, f.tensors[0].data, 8);
    ck_assert_int_eq(tracked, 3);

    const clnn__st_tensor *w = clnn__st_find(&f, "fc.weight");
    ck_assert_ptr_nonnull(w);
    ck_assert_uint_eq(w->ndim, 2);
    ck_assert_uint_eq(w->shape[0], 2);
    ck_assert_uint_eq(w->shape[1], 2);
    ck_assert_uint_eq(w->numel, 4);
    float wv[4];
    memcpy(wv, w->data, 16);
    ck_assert_float_eq(wv[3], 4.0f);

    const clnn__st_tensor *e = clnn__st_find(&f, "empty");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->numel, 0);
    ck_assert_uint_eq(e->nbytes, 0);

    const clnn__st_tensor *u = clnn__st_find(&f, weird_name);
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(u->dtype, CLNN__ST_U8);
    ck_assert_mem_eq(u->data, "\x01\x02\x03", 3);
    ck_assert_ptr_null(clnn__st_find(&f, "missing"));

    ck_assert_uint_eq(f.meta_count, 1);
    ck_assert_str_eq(clnn__st_meta(&f, "format"), "pt");
    ck_assert_ptr_null(clnn__st_meta(&f, "clnn.spec"));
    clnn__st_free(&f);
    clnn__st_free(&f); /* freeing twice is harmless: the struct is zeroed */
}
END_TEST

/* ------------------------------------------------------------- round trip */

START_TEST(test_round_trip)
{
    char *dir = io_test_tmpdir();
    char *path = io_test_path(dir, "r.safetensors");
    float w[6] = {1.5f, -2.25f, 3.0f, 0.0f, -0.0f, 1e-30f};
    double eight[1] = {42.0};
    int64_t scalar = -7;
    clnn__st_entry e[4] = {
        {.name = "layer.0.weight", .dtype = CLNN__ST_F32, .ndim = 2, .shape = {2, 3}, .data = w,
         .nbytes = sizeof w},
        {.name = "s", .dtype = CLNN__ST_I64, .ndim = 0, .data = &scalar, .nbytes = 8},
        {.name = "nothing", .dtype = CLNN__ST_U8, .ndim = 1, .shape = {0}, .nbytes = 0},
        {.name = "deep \xf0\x9f\x98\x80", .dtype = CLNN__ST_F64, .ndim = 8,
         .shape = {1, 1, 1, 1, 1, 1, 1, 1}, .data = eight, .nbytes = 8},
    };
    const char *keys[] = {"clnn.spec", "note \"quoted\"\t"};
    const char *values[] = {"dense:3,relu", "line1\nline2 \\ \x1f \xc3\xbc"};
    ck_assert_clnn_ok(clnn__st_write(path, e, 4, keys, values, 2));

    size_t len;
    uint8_t *raw = io_test_slurp(path, &len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | raw[i];
    ck_assert_uint_eq((8 + hlen) % 8, 0); /* data section aligned */
    ck_assert_uint_eq(raw[8 + hlen - 1] == ' ' || raw[8 + hlen - 1] == '}', 1);
    free(raw);

    clnn__st_file f;
    ck_assert_clnn_ok(clnn__st_read(path, &f));
    ck_assert_uint_eq(f.count, 4);
    for (size_t i = 0; i < 4; i++) { /* data order is the given order */
        const clnn__st_tensor *t = &f.tensors[i];
        ck_assert_str_eq(t->name, e[i].name);
        ck_assert_int_eq(t->dtype, e[i].dtype);
        ck_assert_uint_eq(t->ndim, e[i].ndim);
        for (size_t d = 0; d < t->ndim; d++)
            ck_assert_uint_eq(t->shape[d], e[i].shape[d]);
        ck_assert_uint_eq(t->nbytes, e[i].nbytes);
        ck_assert_uint_eq(t->numel * clnn__st_dtype_size(t->dtype), t->nbytes);
        if (t->nbytes)
            ck_assert_mem_eq(t->data, e[i].data, t->nbytes);
    }
    ck_assert_uint_eq(f.tensors[1].numel, 1);
    ck_assert_uint_eq(f.meta_count, 2);
    ck_assert_str_eq(clnn__st_meta(&f, "clnn.spec"), "dense:3,relu");
    ck_assert_str_eq(clnn__st_meta(&f, keys[1]), values[1]);
    clnn__st_free(&f);

    /* Rewriting replaces the file whole. */
    ck_assert_clnn_ok(clnn__st_write(path, e, 1, NULL, NULL, 0));
    ck_assert_clnn_ok(clnn__st_read(path, &f));
    ck_assert_uint_eq(f.count, 1);
    ck_assert_uint_eq(f.meta_count, 0);
    clnn__st_free(&f);
    ck_assert_uint_eq(io_test_count_entries(dir), 1);
    free(path);
    io_test_rmtree(dir);
}
END_TEST

START_TEST(test_dtype_table)
{
    static const struct {
        clnn__st_dtype d;
        const char *name;
        size_t size;
    } t[] = {{CLNN__ST_BOOL, "BOOL", 1}, {CLNN__ST_U8, "U8", 1},   {CLNN__ST_I8, "I8", 1},
             {CLNN__ST_I16, "I16", 2},   {CLNN__ST_U16, "U16", 2}, {CLNN__ST_F16, "F16", 2},
             {CLNN__ST_BF16, "BF16", 2}, {CLNN__ST_I32, "I32", 4}, {CLNN__ST_U32, "U32", 4},
             {CLNN__ST_F32, "F32", 4},   {CLNN__ST_F64, "F64", 8}, {CLNN__ST_I64, "I64", 8},
             {CLNN__ST_U64, "U64", 8}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ck_assert_str_eq(clnn__st_dtype_name(t[i].d), t[i].name);
        ck_assert_uint_eq(clnn__st_dtype_size(t[i].d), t[i].size);
        char header[128];
        snprintf(header, sizeof header,
                 "{\"x\":{\"dtype\":\"%s\",\"shape\":[3],\"data_offsets\":[0,%zu]}}", t[i].name,
                 3 * t[i].size);
        ck_assert_clnn_ok(parse_header_text(header, 3 * t[i].size));
    }
    ck_assert_uint_eq(clnn__st_dtype_size((clnn__st_dtype)99), 0);
}
END_TEST

/* Accepted variations that other writers produce. */
START_TEST(test_lenient_but_valid)
{
    /* Whitespace anywhere JSON allows it, trailing newline padding. */
    ck_assert_clnn_ok(parse_header_text(
        "{ \"a\" : { \"shape\" : [ 2 ] ,\n\t\"data_offsets\" : [ 0 , 8 ] , \"dtype\" : \"F32\" } }"
        " \n\r\t",
        8));
    /* Listed out of data order: returned in data order. */
    const char *h = "{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]},"
                    "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
                    "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    size_t len;
    uint8_t *b = make_file(h, strlen(h), 3, &len);
    clnn__st_file f;
    ck_assert_clnn_ok(clnn__st_parse(b, len, &f));
    ck_assert_uint_eq(f.count, 3);
    ck_assert_str_eq(f.tensors[0].name, "z");
    ck_assert_str_eq(f.tensors[1].name, "a");
    ck_assert_str_eq(f.tensors[2].name, "b");
    ck_assert_ptr_eq(f.tensors[2].data, f.buffer + 8 + strlen(h) + 1);
    clnn__st_free(&f);
    free(b);
    /* Escapes in names: \/ and a surrogate pair. */
    h = "{\"a\\/\\ud83d\\ude00\\u00e9\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]}}";
    b = make_file(h, strlen(h), 1, &len);
    ck_assert_clnn_ok(clnn__st_parse(b, len, &f));
    ck_assert_str_eq(f.tensors[0].name, "a/\xf0\x9f\x98\x80\xc3\xa9");
    clnn__st_free(&f);
    free(b);
    /* Metadata only, empty metadata. */
    ck_assert_clnn_ok(parse_header_text("{\"__metadata__\":{}}", 0));
    ck_assert_clnn_ok(parse_header_text("{}", 0));
}
END_TEST

/* ------------------------------------------------------------- malformed */

START_TEST(test_truncated_everywhere)
{
    size_t len;
    uint8_t *b = python_file(&len);
    for (size_t cut = 0; cut < len; cut++) {
        clnn__st_file f;
        clnn_status st = clnn__st_parse(b, cut, &f);
        ck_assert_msg(st == CLNN_ERR_BAD_FILE, "cut at %zu: %s", cut, clnn_status_name(st));
        ck_assert_msg(strlen(clnn_last_error()) > 10, "cut at %zu: no message", cut);
        ck_assert_ptr_null(f.buffer);
    }
    /* One byte too many is as wrong as one too few. */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, b, len);
    longer[len] = 0;
    clnn__st_file f;
    ck_assert_fails_with(clnn__st_parse(longer, len + 1, &f), CLNN_ERR_BAD_FILE,
                         "1 unexplained trailing bytes");
    ck_assert_fails_with(clnn__st_parse(b, 5, &f), CLNN_ERR_BAD_FILE, "too short");
    ck_assert_fails_with(clnn__st_parse(b, 100, &f), CLNN_ERR_BAD_FILE,
                         "header length 376 exceeds the 92 bytes");
    ck_assert_fails_with(clnn__st_parse(b, len - 1, &f), CLNN_ERR_BAD_FILE,
                         "run past the end of the 34-byte data section");
    free(longer);
    free(b);
}
END_TEST

START_TEST(test_bad_header_length)
{
    uint8_t b[16] = {0};
    clnn__st_file f;
    memset(b, 0xff, 8);
    ck_assert_fails_with(clnn__st_parse(b, sizeof b, &f), CLNN_ERR_BAD_FILE,
                         "header length 18446744073709551615 exceeds the limit of 100000000");
    memset(b, 0, 8);
    b[0] = 0x01;
    b[1] = 0xe1;
    b[2] = 0xf5;
    b[3] = 0x05; /* 100000001 */
    ck_assert_fails_with(clnn__st_parse(b, sizeof b, &f), CLNN_ERR_BAD_FILE,
                         "exceeds the limit of 100000000 bytes");
    memset(b, 0, 8);
    b[0] = 9;
    ck_assert_fails_with(clnn__st_parse(b, sizeof b, &f), CLNN_ERR_BAD_FILE,
                         "header length 9 exceeds the 8 bytes after the length field");
    b[0] = 0;
    ck_assert_fails_with(clnn__st_parse(b, sizeof b, &f), CLNN_ERR_BAD_FILE,
                         "must start with '{'");
    /* Padding must be JSON whitespace, not NUL bytes. */
    b[0] = 8;
    memcpy(b + 8, "{}\0\0\0\0\0\0", 8);
    ck_assert_fails_with(clnn__st_parse(b, sizeof b, &f), CLNN_ERR_BAD_FILE, "byte 0x00");
    ck_assert_fails_with(clnn__st_parse(b, 0, &f), CLNN_ERR_BAD_FILE, "file is 0 bytes");
}
END_TEST

#define T(h) "{\"t\":{\"dtype\":\"F32\",\"shape\":" h "}}"

static const struct {
    const char *header;
    size_t data_len;
    const char *expect;
} bad_headers[] = {
    /* JSON syntax */
    {"{\"a\":", 0, "invalid JSON at byte 5: unexpected end of text"},
    {"{\"a\"}", 0, "expected ':' after an object key"},
    {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},}", 1, "trailing comma"},
    {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1,],\"data_offsets\":[0,1]}}", 1, "invalid JSON"},
    {"{\"a\":{\"dtype\":\"U8\" \"shape\":[1],\"data_offsets\":[0,1]}}", 1, "expected ',' or '}'"},
    {"{'a':1}", 0, "expected a string key, found '''"},
    {"{\"a", 0, "unterminated string"},
    {"{\"a\\q\":1}", 0, "invalid escape sequence"},
    {"{\"a\\u12G4\":1}", 0, "four hexadecimal digits"},
    {"{\"\\ud800\":1}", 0, "high surrogate \\uD800 is not followed by a low surrogate"},
    {"{\"\\ud800\\u0041\":1}", 0, "not followed by a low surrogate"},
    {"{\"\\udc00\":1}", 0, "unpaired low surrogate"},
    {"{\"\xff\":1}", 0, "invalid UTF-8 byte 0xFF"},
    {"{\"\xc0\xaf\":1}", 0, "invalid UTF-8"},       /* overlong '/' */
    {"{\"\xed\xa0\x80\":1}", 0, "invalid UTF-8"},   /* encoded surrogate */
    {"{\"\xf4\x90\x80\x80\":1}", 0, "invalid UTF-8"}, /* above U+10FFFF */
    {"{\"\xe2\x82\":1}", 0, "invalid UTF-8"},       /* cut sequence */
    {"{\"a\tb\":1}", 0, "control character 0x09"},
    {"{} x", 0, "unexpected 'x' after the end of the JSON value"},
    {"{}{}", 0, "after the end of the JSON value"},
    {"{\"a\":tru}", 0, "unexpected 't' where a value was expected"},
    {"{\"a\":+1}", 0, "unexpected '+'"},
    {T("[01]"), 0, "leading zeros"},
    {T("[1.]"), 0, "after the decimal point"},
    {T("[1e]"), 0, "in the exponent"},
    {T("[-]"), 0, "expected a digit"},
    {"{\"__metadata__\":{\"k\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}", 0,
     "nesting deeper than 32 levels"},
    /* structure */
    {"{\"a\":1}", 0, "tensor 'a' must be an object with dtype, shape and data_offsets, not a "
                     "non-negative integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'a': missing field 'data_offsets'"},
    {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'a': missing field 'shape'"},
    {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a': missing field 'dtype'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", 4,
     "tensor 'a': unexpected field 'extra'"},
    {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     "tensor 'a': field 'dtype' appears more than once"},
    {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
     "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
     2, "tensor name 'a' appears more than once"},
    {"{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
     "contains a NUL character"},
    /* dtype */
    {"{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
     "tensor 'a': dtype 'F8_E4M3' is not supported"},
    {"{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     "dtype 'f32' is not supported"},
    {"{\"a\":{\"dtype\":null,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     "tensor 'a': dtype must be a string, not a literal"},
    /* shape */
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":7,\"data_offsets\":[0,4]}}", 4,
     "tensor 'a': shape must be an array"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
     "tensor 'a': shape [-1]: dimension 0 (-1) is not an integer in [0, 2^53]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,1.5],\"data_offsets\":[0,4]}}", 4,
     "dimension 1 (1.5) is not an integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1e2],\"data_offsets\":[0,4]}}", 4,
     "dimension 0 (1e2) is not an integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,4]}}", 4,
     "shape [\"2\"]: dimension 0 (\"2\") is not an integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[9007199254740993],\"data_offsets\":[0,4]}}", 4,
     "dimension 0 (9007199254740993) is not an integer in [0, 2^53]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999999],\"data_offsets\":[0,4]}}", 4,
     "(99999999999999999999999) is not an integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
     "shape [4294967296, 4294967296] overflows the element count"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483648,2147483648],\"data_offsets\":[0,4]}}", 4,
     "overflows the byte count for dtype F32"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
     "has 9 dimensions; at most 8"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[256,784],\"data_offsets\":[0,802812]}}", 802812,
     "tensor 'a': shape [256, 784] of F32 needs 802816 bytes but data_offsets [0, 802812] span "
     "802812"},
    {"{\"a\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
     "shape [] of I64 needs 8 bytes"},
    /* data_offsets */
    {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":{}}}", 1,
     "data_offsets must be an array, not an object"},
    {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", 1,
     "data_offsets [0, 1, 2] must have exactly 2 entries"},
    {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}", 1,
     "data_offsets [-1, 0]: -1 is not an integer"},
    {"{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[1,0]}}", 1,
     "data_offsets [1, 0] end before they begin"},
    {"{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}", 4,
     "tensor 'a': data_offsets [0, 8] run past the end of the 4-byte data section"},
    {"{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}}",
     12, "tensor 'b': data_offsets [4, 12] overlap tensor 'a' [0, 8]"},
    {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
     "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
     4, "tensor 'b': data_offsets [0, 4] overlap tensor 'a'"},
    {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
     "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}}",
     12, "tensor 'b': data_offsets [8, 12] leave a hole of 4 bytes after tensor 'a'"},
    {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", 8,
     "the first tensor must start at 0"},
    {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 8,
     "the data section has 8 bytes but the tensors cover only 4 (4 unexplained trailing bytes)"},
    {"{}", 3, "3 unexplained trailing bytes"},
    /* __metadata__ */
    {"{\"__metadata__\":{\"k\":1}}", 0,
     "__metadata__ value of 'k' must be a string, not a non-negative integer (1)"},
    {"{\"__metadata__\":{\"k\":null}}", 0, "value of 'k' must be a string, not a literal (null)"},
    {"{\"__metadata__\":{\"k\":[\"v\"]}}", 0, "value of 'k' must be a string, not an array"},
    {"{\"__metadata__\":{\"k\":-2.5}}", 0, "not a number (-2.5)"},
    {"{\"__metadata__\":\"x\"}", 0, "__metadata__ must be an object of strings, not a string"},
    {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ appears more than once"},
    {"{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, "__metadata__ key 'k' appears more than once"},
    {"{\"__metadata__\":{\"k\":\"a\\u0000b\"}}", 0, "__metadata__ value of 'k' contains a NUL"},
};

START_TEST(test_malformed_headers)
{
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        clnn_status st = parse_header_text(bad_headers[i].header, bad_headers[i].data_len);
        ck_assert_msg(st == CLNN_ERR_BAD_FILE, "case %zu (%s): %s: %s", i, bad_headers[i].header,
                      clnn_status_name(st), clnn_last_error());
        ck_assert_msg(strstr(clnn_last_error(), bad_headers[i].expect) != NULL,
                      "case %zu (%s): message \"%s\" lacks \"%s\"", i, bad_headers[i].header,
                      clnn_last_error(), bad_headers[i].expect);
    }
}
END_TEST

START_TEST(test_read_errors)
{
    char *dir = io_test_tmpdir();
    char *missing = io_test_path(dir, "missing.safetensors");
    clnn__st_file f;
    ck_assert_fails_with(clnn__st_read(missing, &f), CLNN_ERR_IO, missing);
    ck_assert_ptr_null(f.buffer);

    char *bad = io_test_path(dir, "bad.safetensors");
    io_test_write(bad, "\x02\0\0\0\0\0\0\0[]", 10);
    ck_assert_fails_with(clnn__st_read(bad, &f), CLNN_ERR_BAD_FILE,
                         "is not a valid safetensors file: header must start with '{'");
    ck_assert_msg(strstr(clnn_last_error(), bad) != NULL, "%s", clnn_last_error());
    io_test_write(bad, "\x01\0\0\0\0\0\0\0{", 9);
    ck_assert_fails_with(clnn__st_read(bad, &f), CLNN_ERR_BAD_FILE,
                         "header: invalid JSON at byte 1");
    ck_assert_fails_with(clnn__st_read(dir, &f), CLNN_ERR_IO, "directory");
    free(missing);
    free(bad);
    io_test_rmtree(dir);
}
END_TEST

START_TEST(test_write_rejects_bad_arguments)
{
    char *dir = io_test_tmpdir();
    char *path = io_test_path(dir, "w.safetensors");
    float v[2] = {1, 2};
    clnn__st_entry e[2] = {
        {.name = "a", .dtype = CLNN__ST_F32, .ndim = 1, .shape = {2}, .data = v, .nbytes = 8},
        {.name = "a", .dtype = CLNN__ST_F32, .ndim = 1, .shape = {2}, .data = v, .nbytes = 8},
    };
    ck_assert_fails_with(clnn__st_write(path, e, 2, NULL, NULL, 0), CLNN_ERR_INVALID_ARGUMENT,
                         "tensor name 'a' is given more than once");
    e[1].name = "__metadata__";
    ck_assert_fails_with(clnn__st_write(path, e, 2, NULL, NULL, 0), CLNN_ERR_INVALID_ARGUMENT,
                         "reserved");
    e[1].name = "b";
    e[1].nbytes = 4;
    ck_assert_fails_with(clnn__st_write(path, e, 2, NULL, NULL, 0), CLNN_ERR_INVALID_ARGUMENT,
                         "tensor 'b' has 2 elements of F32 but 4 bytes");
    e[1].nbytes = 8;
    e[1].ndim = 9;
    ck_assert_fails_with(clnn__st_write(path, e, 2, NULL, NULL, 0), CLNN_ERR_INVALID_ARGUMENT,
                         "9 dimensions");
    e[1].ndim = 1;
    e[1].name = "\xff";
    ck_assert_fails_with(clnn__st_write(path, e, 2, NULL, NULL, 0), CLNN_ERR_INVALID_ARGUMENT,
                         "not valid UTF-8");
    e[1].name = "b";
    e[1].data = NULL;
    ck_assert_fails_with(clnn__st_write(path, e, 2, NULL, NULL, 0), CLNN_ERR_INVALID_ARGUMENT,
                         "has no data");
    e[1].data = v;
    const char *keys[] = {"k", "k"}, *values[] = {"1", "2"};
    ck_assert_fails_with(clnn__st_write(path, e, 2, keys, values, 2), CLNN_ERR_INVALID_ARGUMENT,
                         "metadata key 'k' is given more than once");
    ck_assert_uint_eq(io_test_count_entries(dir), 0);
    ck_assert_clnn_ok(clnn__st_write(path, e, 2, keys, values, 1));
    free(path);
    io_test_rmtree(dir);
}
END_TEST

START_TEST(test_write_failure_keeps_old_file)
{
    char *dir = io_test_tmpdir();
    char *path = io_test_path(dir, "keep.safetensors");
    float v[2] = {1, 2};
    clnn__st_entry e = {.name = "a", .dtype = CLNN__ST_F32, .ndim = 1, .shape = {2}, .data = v,
                        .nbytes = 8};
    ck_assert_clnn_ok(clnn__st_write(path, &e, 1, NULL, NULL, 0));
    size_t before_len;
    uint8_t *before = io_test_slurp(path, &before_len);

    /* A directory where the file should go cannot be replaced. */
    char *sub = io_test_path(dir, "sub");
    ck_assert_int_eq(clnn_test_mkdir(sub), 0);
    ck_assert_fails_with(clnn__st_write(sub, &e, 1, NULL, NULL, 0), CLNN_ERR_IO, "cannot write");
    char *nowhere = io_test_path(dir, "no/such/dir/x.safetensors");
    ck_assert_fails_with(
        clnn__st_write(nowhere, &e, 1, NULL, NULL, 0), CLNN_ERR_IO,
        IO_TEST_REASON("No such file or directory") "; create the directory first");
    ck_assert_uint_eq(io_test_count_entries(dir), 2);
    ck_assert_uint_eq(io_test_count_entries(sub), 0);

    size_t after_len;
    uint8_t *after = io_test_slurp(path, &after_len);
    ck_assert_uint_eq(after_len, before_len);
    ck_assert_mem_eq(after, before, before_len);
    free(before);
    free(after);
    free(sub);
    free(nowhere);
    free(path);
    io_test_rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io-safetensors");
    TCase *tc = tcase_create("safetensors");
    tcase_add_test(tc, test_write_matches_python);
    tcase_add_test(tc, test_write_matches_python_dtypes);
    tcase_add_test(tc, test_write_matches_python_empty);
    tcase_add_test(tc, test_parse_python_file);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_dtype_table);
    tcase_add_test(tc, test_lenient_but_valid);
    tcase_add_test(tc, test_truncated_everywhere);
    tcase_add_test(tc, test_bad_header_length);
    tcase_add_test(tc, test_malformed_headers);
    tcase_add_test(tc, test_read_errors);
    tcase_add_test(tc, test_write_rejects_bad_arguments);
    tcase_add_test(tc, test_write_failure_keeps_old_file);
    suite_add_tcase(s, tc);
    return clnn_test_run(s);
}
