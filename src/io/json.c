/* Strict recursive-descent JSON reader. Headers come from untrusted files,
 * so every deviation from RFC 8259 is an error with its byte offset rather
 * than something guessed at. */
#include "io/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const unsigned char *s;
    size_t len;
    size_t pos;
} parser;

CLNN__PRINTF(2, 3)
static clnn_status syntax_error(size_t pos, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return clnn__fail(CLNN_ERR_BAD_FILE, "invalid JSON at byte %zu: %s", pos, what);
}

/* Describe the byte at pos for a message: a printable character in quotes,
 * anything else in hex, or the end of the text. */
static const char *describe(const parser *p, size_t pos, char buf[16])
{
    if (pos >= p->len)
        return "the end of the text";
    unsigned char c = p->s[pos];
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, 16, "'%c'", c);
    else
        snprintf(buf, 16, "byte 0x%02X", c);
    return buf;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits of a \u escape starting at pos; -1 if malformed. */
static long read_hex4(const parser *p, size_t pos)
{
    if (pos + 4 > p->len)
        return -1;
    long v = 0;
    for (size_t i = 0; i < 4; i++) {
        int h = hex_value(p->s[pos + i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the well-formed UTF-8 sequence at pos (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t len, size_t pos)
{
    unsigned char c = s[pos];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (pos + n > len)
        return 0;
    unsigned char c1 = s[pos + 1];
    if (c1 < lo || c1 > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[pos + i] < 0x80 || s[pos + i] > 0xBF)
            return 0;
    return n;
}

bool clnn__utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_sequence(u, len, i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

/* Decode the string whose opening quote is at p->pos. */
static clnn_status parse_string(parser *p, char **out, size_t *out_len)
{
    size_t start = p->pos;
    /* Find the closing quote first: the decoded text is never longer than
     * the raw text, so this bounds the allocation. */
    size_t end = start + 1;
    while (end < p->len && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len)
        return syntax_error(start, "unterminated string");

    char *buf = clnn__malloc(end - start);
    if (!buf)
        return CLNN_ERR_OUT_OF_MEMORY;
    size_t n = 0;
    size_t i = start + 1;
    clnn_status st = CLNN_OK;
    while (i < end) {
        unsigned char c = p->s[i];
        if (c < 0x20) {
            st = syntax_error(i, "control character 0x%02X inside a string must be escaped", c);
            break;
        }
        if (c >= 0x80) {
            size_t k = utf8_sequence(p->s, p->len, i);
            if (!k) {
                st = syntax_error(i, "invalid UTF-8 byte 0x%02X in a string", c);
                break;
            }
            memcpy(buf + n, p->s + i, k);
            n += k;
            i += k;
            continue;
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            i++;
            continue;
        }
        unsigned char e = p->s[i + 1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char decoded[] = "\"\\/\b\f\n\r\t";
            buf[n++] = decoded[simple - "\"\\/bfnrt"];
            i += 2;
            continue;
        }
        if (e != 'u') {
            char d[16];
            st = syntax_error(i, "invalid escape sequence: backslash followed by %s",
                              describe(p, i + 1, d));
            break;
        }
        long cp = read_hex4(p, i + 2);
        if (cp < 0) {
            st = syntax_error(i, "\\u must be followed by four hexadecimal digits");
            break;
        }
        size_t used = 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            st = syntax_error(i, "unpaired low surrogate \\u%04lX", (unsigned long)cp);
            break;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            long lo = -1;
            if (i + 7 < p->len && p->s[i + 6] == '\\' && p->s[i + 7] == 'u')
                lo = read_hex4(p, i + 8);
            if (lo < 0xDC00 || lo > 0xDFFF) {
                st = syntax_error(i, "high surrogate \\u%04lX is not followed by a low surrogate",
                                  (unsigned long)cp);
                break;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            used = 12;
        }
        n += put_utf8(buf + n, (unsigned long)cp);
        i += used;
    }
    if (st != CLNN_OK) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    p->pos = end + 1;
    return CLNN_OK;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static clnn_status parse_number(parser *p, clnn__json *out)
{
    size_t start = p->pos, i = start;
    int negative = 0, integral = 1;
    char d[16];
    if (p->s[i] == '-') {
        negative = 1;
        i++;
    }
    if (i >= p->len || !is_digit(p->s[i]))
        return syntax_error(i, "expected a digit, found %s", describe(p, i, d));
    if (p->s[i] == '0' && i + 1 < p->len && is_digit(p->s[i + 1]))
        return syntax_error(i, "numbers must not have leading zeros");
    while (i < p->len && is_digit(p->s[i]))
        i++;
    if (i < p->len && p->s[i] == '.') {
        integral = 0;
        i++;
        if (i >= p->len || !is_digit(p->s[i]))
            return syntax_error(i, "expected a digit after the decimal point, found %s",
                                describe(p, i, d));
        while (i < p->len && is_digit(p->s[i]))
            i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        integral = 0;
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if (i >= p->len || !is_digit(p->s[i]))
            return syntax_error(i, "expected a digit in the exponent, found %s",
                                describe(p, i, d));
        while (i < p->len && is_digit(p->s[i]))
            i++;
    }

    out->kind = CLNN__JSON_NUMBER;
    if (!negative && integral) {
        uint64_t v = 0;
        int overflow = 0;
        for (size_t k = start; k < i; k++) {
            unsigned digit = p->s[k] - '0';
            if (v > (UINT64_MAX - digit) / 10)
                overflow = 1;
            v = v * 10 + digit;
        }
        if (!overflow) {
            out->kind = CLNN__JSON_UINT;
            out->uint = v;
        }
    }
    out->str = clnn__malloc(i - start + 1);
    if (!out->str)
        return CLNN_ERR_OUT_OF_MEMORY;
    memcpy(out->str, p->s + start, i - start);
    out->str[i - start] = '\0';
    out->len = i - start;
    p->pos = i;
    return CLNN_OK;
}

static clnn_status parse_literal(parser *p, clnn__json *out)
{
    static const char *const words[] = {"true", "false", "null"};
    for (size_t w = 0; w < CLNN__ARRAY_LEN(words); w++) {
        size_t n = strlen(words[w]);
        if (p->len - p->pos >= n && memcmp(p->s + p->pos, words[w], n) == 0) {
            out->kind = CLNN__JSON_LITERAL;
            out->str = clnn__strdup(words[w]);
            if (!out->str)
                return CLNN_ERR_OUT_OF_MEMORY;
            out->len = n;
            p->pos += n;
            return CLNN_OK;
        }
    }
    char d[16];
    return syntax_error(p->pos, "unexpected %s where a value was expected", describe(p, p->pos, d));
}

/* Make room for one more member; keys only for objects. */
static clnn_status grow(clnn__json *v, size_t *cap)
{
    if (v->count < *cap)
        return CLNN_OK;
    size_t ncap = *cap ? *cap * 2 : 4;
    clnn__json *items = realloc(v->items, ncap * sizeof *items);
    if (!items)
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of host memory parsing JSON");
    v->items = items;
    if (v->kind == CLNN__JSON_OBJECT) {
        char **keys = realloc(v->keys, ncap * sizeof *keys);
        if (!keys)
            return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of host memory parsing JSON");
        v->keys = keys;
        size_t *lens = realloc(v->key_lens, ncap * sizeof *lens);
        if (!lens)
            return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of host memory parsing JSON");
        v->key_lens = lens;
    }
    *cap = ncap;
    return CLNN_OK;
}

static clnn_status parse_value(parser *p, clnn__json *out, int depth);

/* Objects and arrays share the member loop; members are counted before they
 * are parsed so that a failure part-way is freed with the container. */
static clnn_status parse_container(parser *p, clnn__json *out, int depth)
{
    int object = p->s[p->pos] == '{';
    char close = object ? '}' : ']';
    char d[16];
    out->kind = object ? CLNN__JSON_OBJECT : CLNN__JSON_ARRAY;
    if (depth >= CLNN__JSON_MAX_DEPTH)
        return syntax_error(p->pos, "nesting deeper than %d levels", CLNN__JSON_MAX_DEPTH);
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return CLNN_OK;
    }
    size_t cap = 0;
    for (;;) {
        clnn_status st = grow(out, &cap);
        if (st != CLNN_OK)
            return st;
        size_t k = out->count++;
        memset(&out->items[k], 0, sizeof out->items[k]);
        if (object) {
            out->keys[k] = NULL;
            out->key_lens[k] = 0;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return syntax_error(p->pos, "expected a string key, found %s%s",
                                    describe(p, p->pos, d),
                                    p->pos < p->len && p->s[p->pos] == '}' ? " (trailing comma?)"
                                                                           : "");
            st = parse_string(p, &out->keys[k], &out->key_lens[k]);
            if (st != CLNN_OK)
                return st;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':')
                return syntax_error(p->pos, "expected ':' after an object key, found %s",
                                    describe(p, p->pos, d));
            p->pos++;
        }
        st = parse_value(p, &out->items[k], depth + 1);
        if (st != CLNN_OK)
            return st;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            return CLNN_OK;
        }
        return syntax_error(p->pos, "expected ',' or '%c', found %s", close,
                            describe(p, p->pos, d));
    }
}

static clnn_status parse_value(parser *p, clnn__json *out, int depth)
{
    skip_ws(p);
    out->offset = p->pos;
    if (p->pos >= p->len)
        return syntax_error(p->pos, "unexpected end of text where a value was expected");
    unsigned char c = p->s[p->pos];
    if (c == '{' || c == '[')
        return parse_container(p, out, depth);
    if (c == '"') {
        out->kind = CLNN__JSON_STRING;
        return parse_string(p, &out->str, &out->len);
    }
    if (c == '-' || is_digit(c))
        return parse_number(p, out);
    return parse_literal(p, out);
}

clnn_status clnn__json_parse(const char *text, size_t len, clnn__json *out)
{
    memset(out, 0, sizeof *out);
    parser p = {(const unsigned char *)text, len, 0};
    clnn_status st = parse_value(&p, out, 0);
    if (st == CLNN_OK) {
        skip_ws(&p);
        if (p.pos != p.len) {
            char d[16];
            st = syntax_error(p.pos, "unexpected %s after the end of the JSON value",
                              describe(&p, p.pos, d));
        }
    }
    if (st != CLNN_OK)
        clnn__json_free(out);
    return st;
}

void clnn__json_free(clnn__json *value)
{
    if (!value)
        return;
    for (size_t i = 0; i < value->count; i++) {
        clnn__json_free(&value->items[i]);
        if (value->keys)
            free(value->keys[i]);
    }
    free(value->items);
    free(value->keys);
    free(value->key_lens);
    free(value->str);
    memset(value, 0, sizeof *value);
}

const char *clnn__json_kind_name(clnn__json_kind kind)
{
    switch (kind) {
    case CLNN__JSON_OBJECT:
        return "an object";
    case CLNN__JSON_ARRAY:
        return "an array";
    case CLNN__JSON_STRING:
        return "a string";
    case CLNN__JSON_UINT:
        return "a non-negative integer";
    case CLNN__JSON_NUMBER:
        return "a number";
    case CLNN__JSON_LITERAL:
        return "a literal";
    }
    return "a value";
}

size_t clnn__json_escape(const char *s, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char short_form = 0;
        switch (c) {
        case '"': short_form = '"'; break;
        case '\\': short_form = '\\'; break;
        case '\b': short_form = 'b'; break;
        case '\f': short_form = 'f'; break;
        case '\n': short_form = 'n'; break;
        case '\r': short_form = 'r'; break;
        case '\t': short_form = 't'; break;
        default: break;
        }
        if (short_form) {
            if (out) {
                out[n] = '\\';
                out[n + 1] = short_form;
            }
            n += 2;
        } else if (c < 0x20) {
            if (out)
                memcpy(out + n, (char[6]){'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]}, 6);
            n += 6;
        } else {
            if (out)
                out[n] = (char)c;
            n++;
        }
    }
    return n;
}
