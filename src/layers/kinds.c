/* The table of layer kinds, generated from layers/kinds.h, and what a
 * spec parser asks of it. */
#include "layers/layer.h"

#include <ctype.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLNN__KIND_ENTRY(id, file) [CLNN__LAYER_##id] = &clnn__layer_class_##file,
const clnn__layer_class *const clnn__layer_classes[] = {CLNN__LAYER_KINDS(CLNN__KIND_ENTRY)};
#undef CLNN__KIND_ENTRY
_Static_assert(CLNN__ARRAY_LEN(clnn__layer_classes) == CLNN__LAYER_KIND_COUNT,
               "one interface struct per kind of CLNN__LAYER_KINDS");

static bool equals_nocase(const char *a, size_t alen, const char *b)
{
    if (strlen(b) != alen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (tolower((unsigned char)a[i]) != b[i])
            return false;
    return true;
}

bool clnn__layer_kind_find(const char *name, size_t len, clnn__layer_kind *kind)
{
    for (size_t k = 0; k < CLNN__LAYER_KIND_COUNT; k++) {
        const clnn__layer_class *c = clnn__layer_classes[k];
        bool match = equals_nocase(name, len, c->name);
        for (const char *const *a = c->aliases; a && *a && !match; a++)
            match = equals_nocase(name, len, *a);
        if (match) {
            *kind = (clnn__layer_kind)k;
            return true;
        }
    }
    return false;
}

const char *clnn__layer_kind_name(clnn__layer_kind kind)
{
    return (size_t)kind < CLNN__LAYER_KIND_COUNT ? clnn__layer_classes[kind]->name : "?";
}

void clnn__layer_kinds_help(char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "layers are ");
    for (size_t k = 0; k < CLNN__LAYER_KIND_COUNT && len < cap; k++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s",
                                k == 0                            ? ""
                                : k + 1 == CLNN__LAYER_KIND_COUNT ? " and "
                                                                  : ", ",
                                clnn__layer_classes[k]->usage);
    if (len < cap)
        snprintf(buf + len, cap - len,
                 ", separated by commas, each optionally named as name=kind, e.g. "
                 "\"fc1=dense:256,bn1=bn,relu,fc2=dense:10\"");
}

clnn_status clnn__spec_fail(const clnn__spec_token *tok, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return clnn__fail(CLNN_ERR_SPEC, "layer %zu ('%.*s'): %s", tok->pos + 1, (int)tok->len,
                      tok->text, what);
}

clnn_status clnn__option_size(const clnn__spec_token *tok, const char *text, size_t len,
                              size_t *out)
{
    if (len == 0)
        return clnn__spec_fail(tok, "missing size after ':'");
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)text[i]))
            return clnn__spec_fail(tok, "size must be a positive integer");
        v = v * 10 + (size_t)(text[i] - '0');
        if (v > CLNN__UNITS_MAX)
            return clnn__spec_fail(tok, "size above %d", CLNN__UNITS_MAX);
    }
    if (v == 0)
        return clnn__spec_fail(tok, "size must be at least 1");
    *out = v;
    return CLNN_OK;
}

/* digits [. digits] [e [+-] digits], with a digit on at least one side of
 * the point. */
static bool decimal_syntax(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    for (; i < len && isdigit((unsigned char)s[i]); i++)
        digits++;
    if (i < len && s[i] == '.')
        for (i++; i < len && isdigit((unsigned char)s[i]); i++)
            digits++;
    if (digits == 0)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp_digits = 0;
        for (; i < len && isdigit((unsigned char)s[i]); i++)
            exp_digits++;
        if (exp_digits == 0)
            return false;
    }
    return i == len;
}

clnn_status clnn__option_number(const clnn__spec_token *tok, const char *what, const char *text,
                                size_t len, double *out)
{
    if (len == 0)
        return clnn__spec_fail(tok, "missing %s after ':'", what);
    if (len > 64 || !decimal_syntax(text, len))
        return clnn__spec_fail(tok, "%s '%.*s' is not a decimal number (write it as 0.25)", what,
                               (int)len, text);
    double v;
    if (!clnn__strtod_c(text, len, &v) || !isfinite(v))
        return clnn__spec_fail(tok, "%s '%.*s' is out of range", what, (int)len, text);
    *out = v;
    return CLNN_OK;
}

int clnn__print_number(char *buf, size_t cap, double v)
{
    char text[64];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        if (strtod(text, NULL) == v)
            break;
    }
    /* The locale's point back to C's. */
    const char *point = localeconv()->decimal_point;
    char *at = point && *point && strcmp(point, ".") != 0 ? strstr(text, point) : NULL;
    if (at) {
        size_t plen = strlen(point);
        *at = '.';
        memmove(at + 1, at + plen, strlen(at + plen) + 1);
    }
    return snprintf(buf, cap, "%s", text);
}
