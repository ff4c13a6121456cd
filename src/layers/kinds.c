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

bool clnn__equals_nocase(const char *a, size_t alen, const char *b)
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
        bool match = clnn__equals_nocase(name, len, c->name);
        for (const char *const *a = c->aliases; a && *a && !match; a++)
            match = clnn__equals_nocase(name, len, *a);
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

static size_t skip_digits(const char *text, size_t len, size_t i, size_t *count)
{
    for (*count = 0; i < len && isdigit((unsigned char)text[i]); i++)
        ++*count;
    return i;
}

bool clnn__parse_real(const char *text, size_t len, double *out)
{
    /* The grammar first, so that what strtod takes beyond decimal numbers
     * (hexadecimal, inf, nan, leading blanks) is refused alike. */
    if (len == 0)
        return false;
    size_t i = text[0] == '+' || text[0] == '-', whole_digits, frac_digits = 0, exp_digits = 1;
    i = skip_digits(text, len, i, &whole_digits);
    if (i < len && text[i] == '.')
        i = skip_digits(text, len, i + 1, &frac_digits);
    if (whole_digits + frac_digits > 0 && i < len && (text[i] == 'e' || text[i] == 'E')) {
        i += 1 + (i + 1 < len && (text[i + 1] == '+' || text[i + 1] == '-'));
        i = skip_digits(text, len, i, &exp_digits);
    }
    bool whole = false;
    double v = 0.0;
    if (whole_digits + frac_digits > 0 && exp_digits > 0 && i == len)
        v = clnn__strtod_point(text, len, &whole);
    if (!whole || !isfinite(v))
        return false;
    *out = v;
    return true;
}

clnn_status clnn__option_real(const clnn__spec_token *tok, const char *what, const char *text,
                              size_t len, double *out)
{
    if (len == 0)
        return clnn__spec_fail(tok, "missing %s after ':'", what);
    double v;
    if (!clnn__parse_real(text, len, &v)) {
        /* Digits that strtod reads whole but overflow are a range error. */
        bool whole = false;
        double big = clnn__strtod_point(text, len, &whole);
        if (whole && !isfinite(big) && isdigit((unsigned char)text[len - 1]))
            return clnn__spec_fail(tok, "%s %.*s is beyond the range of a float (about 3.4e38)",
                                   what, (int)len, text);
        return clnn__spec_fail(tok, "%s must be a decimal number such as 0.2 or 1e-3, not '%.*s'",
                               what, (int)len, text);
    }
    /* Below FLT_MAX + half its ulp, v rounds to a finite float. */
    if (!(fabs(v) < 0x1.ffffffp+127))
        return clnn__spec_fail(tok, "%s %.*s is beyond the range of a float (about 3.4e38)", what,
                               (int)len, text);
    *out = v;
    return CLNN_OK;
}

int clnn__print_real(char *buf, size_t cap, double v, bool as_float)
{
    char text[48];
    /* 9 significant digits always read back as the same float, 17 as the
     * same double. */
    for (int digits = 1; digits <= (as_float ? 9 : 17); digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        double back = strtod(text, NULL);
        if (as_float ? (float)back == (float)v : back == v)
            break;
    }
    /* The locale's point, if it is another, becomes '.'. */
    const char *point = localeconv()->decimal_point;
    char *at = point && *point && strcmp(point, ".") != 0 ? strstr(text, point) : NULL;
    if (at) {
        *at = '.';
        memmove(at + 1, at + strlen(point), strlen(at + strlen(point)) + 1);
    }
    return snprintf(buf, cap, "%s", text);
}
