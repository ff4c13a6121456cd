/* Small string helpers the C standard library lacks (strcasecmp is POSIX,
 * not C, and spelled _stricmp on Windows). ASCII case only: the words
 * compared are names and options, never the user's text. */
#include "internal.h"

#include <ctype.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

int clnn__strcasecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
        if (ca != cb || ca == 0)
            return ca - cb;
    }
}

bool clnn__contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

void clnn__copy_string(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

bool clnn__strtod_c(const char *s, size_t len, double *out)
{
    const char *point = localeconv()->decimal_point;
    if (!point || !*point)
        point = ".";
    size_t plen = strlen(point);
    char local[128];
    char *text = len * plen < sizeof local ? local : malloc(len * plen + 1);
    if (!text)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            memcpy(text + n, point, plen);
            n += plen;
        } else {
            text[n++] = s[i];
        }
    }
    text[n] = '\0';
    char *end = NULL;
    *out = strtod(text, &end);
    bool whole = n > 0 && end == text + n;
    if (text != local)
        free(text);
    return whole;
}
