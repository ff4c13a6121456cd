/* A small strict JSON reader (RFC 8259) for safetensors headers, and the
 * string escaping their writer needs. Pure host code. */
#ifndef CLNN_IO_JSON_H
#define CLNN_IO_JSON_H

#include "internal.h"

/* Deep enough for any safetensors header (root, tensor, shape: 3 levels)
 * while keeping recursion on hostile input bounded. */
#define CLNN__JSON_MAX_DEPTH 32

typedef enum clnn__json_kind {
    CLNN__JSON_OBJECT,
    CLNN__JSON_ARRAY,
    CLNN__JSON_STRING,
    CLNN__JSON_UINT,    /* a non-negative integer that fits in 64 bits */
    CLNN__JSON_NUMBER,  /* any other number: negative, fraction, exponent, too large */
    CLNN__JSON_LITERAL  /* true, false or null */
} clnn__json_kind;

typedef struct clnn__json clnn__json;
struct clnn__json {
    clnn__json_kind kind;
    size_t offset;      /* where the value starts in the parsed text */
    /* STRING: decoded UTF-8 (may hold "\u0000" as an embedded NUL, so len
     * counts); NUMBER and LITERAL: the source text. NUL-terminated. */
    char *str;
    size_t len;
    uint64_t uint;      /* UINT */
    size_t count;       /* OBJECT and ARRAY: number of members */
    char **keys;        /* OBJECT: decoded keys, in text order, duplicates kept */
    size_t *key_lens;
    clnn__json *items;  /* OBJECT and ARRAY: the members */
};

/* Parse text[0..len) as exactly one JSON value, optionally surrounded by
 * whitespace. Rejects invalid UTF-8, lone surrogates, control characters in
 * strings, leading zeros, trailing commas and nesting beyond the limit with
 * CLNN_ERR_BAD_FILE and a message naming the byte offset. */
clnn_status clnn__json_parse(const char *text, size_t len, clnn__json *out);
void clnn__json_free(clnn__json *value);
const char *clnn__json_kind_name(clnn__json_kind kind); /* "an object", "a string", ... */

/* Whether s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points above U+10FFFF). */
bool clnn__utf8_valid(const char *s, size_t len);

/* Escape s[0..len) as the contents of a JSON string (without the quotes),
 * the way serde_json does, so written headers match Python's safetensors
 * byte for byte: \" \\ \b \f \n \r \t, other control characters as \u00xx,
 * everything else verbatim. Writes to out when it is not NULL; returns the
 * escaped length. */
size_t clnn__json_escape(const char *s, size_t len, char *out);

#endif
