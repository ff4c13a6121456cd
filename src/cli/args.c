/* Option values are checked here, once, so a typo such as "--epochs 1O" is a
 * usage error rather than a silently truncated number. */
#include "args.h"

#include "cli.h"
#include "os.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "clnn %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'clnn %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_getopt_error(const char *cmd, int result, char **argv)
{
    /* With opterr = 0 and a leading ':' in optstring, getopt_long leaves the
     * offending word at argv[optind - 1] and the short option in optopt. */
    const char *word = optind > 0 ? argv[optind - 1] : "";
    bool is_long = strncmp(word, "--", 2) == 0;
    size_t len = strcspn(word, "=");
    /* A value given to a long option that takes none: glibc's getopt_long
     * returns '?' with optopt set, the BSD one (MinGW's) ':'. */
    if (is_long && word[len] == '=' && (result == ':' || optopt != 0))
        return cli_usage_error(cmd, "option '%.*s' does not take a value", (int)len, word);
    if (result == ':') {
        if (is_long)
            return cli_usage_error(cmd, "option '%s' requires a value", word);
        return cli_usage_error(cmd, "option '-%c' requires a value", optopt);
    }
    if (is_long)
        return cli_usage_error(cmd, "unrecognized or ambiguous option '%.*s'", (int)len, word);
    return cli_usage_error(cmd, "unrecognized option '-%c'", optopt);
}

/* strtoull accepts leading blanks and a minus sign (wrapping the value), so
 * the first character must be a digit. */
static bool parse_unsigned(const char *text, unsigned long long *out)
{
    if (!isdigit((unsigned char)text[0]))
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

bool cli_parse_size(const char *cmd, const char *opt, const char *text, size_t min, size_t max,
                    size_t *out)
{
    unsigned long long v = 0;
    if (!parse_unsigned(text, &v) || v < min || v > max) {
        cli_usage_error(cmd, "invalid value '%s' for %s: expected an integer from %zu to %zu", text,
                        opt, min, max);
        return false;
    }
    *out = (size_t)v;
    return true;
}

bool cli_parse_u64(const char *cmd, const char *opt, const char *text, uint64_t *out)
{
    unsigned long long v = 0;
    if (!parse_unsigned(text, &v) || (uint64_t)v != v) {
        cli_usage_error(cmd, "invalid value '%s' for %s: expected an integer from 0 to %llu", text,
                        opt, (unsigned long long)UINT64_MAX);
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

bool cli_parse_real(const char *cmd, const char *opt, const char *text, double min, double max,
                    bool min_exclusive, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = isspace((unsigned char)text[0]) ? NAN : strtod(text, &end);
    bool ok = end && end != text && *end == '\0' && errno == 0 && isfinite(v) && v <= max &&
              (min_exclusive ? v > min : v >= min) && isfinite(v);
    if (!ok) {
        if (isinf(max))
            cli_usage_error(cmd, "invalid value '%s' for %s: expected a number %s %g", text, opt,
                            min_exclusive ? "greater than" : "of at least", min);
        else
            cli_usage_error(cmd, "invalid value '%s' for %s: expected a number from %g to %g", text,
                            opt, min, max);
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_gemm(const char *cmd, const char *opt, const char *text, clnn_gemm_backend *out)
{
    static const struct {
        const char *name;
        clnn_gemm_backend value;
    } names[] = {{"auto", CLNN_GEMM_AUTO}, {"clblast", CLNN_GEMM_CLBLAST}, {"own", CLNN_GEMM_OWN}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (cli_strcasecmp(text, names[i].name) == 0) {
            *out = names[i].value;
            return true;
        }
    }
    cli_usage_error(cmd, "invalid value '%s' for %s: expected auto, clblast or own", text, opt);
    return false;
}

bool cli_parse_optimizer(const char *cmd, const char *text, clnn_optimizer_kind *kind)
{
    if (strcmp(text, "sgd") == 0)
        *kind = CLNN_OPTIMIZER_SGD;
    else if (strcmp(text, "adam") == 0)
        *kind = CLNN_OPTIMIZER_ADAM;
    else {
        cli_usage_error(cmd, "invalid value '%s' for --optimizer: expected sgd or adam", text);
        return false;
    }
    return true;
}

bool cli_parse_size_list(const char *cmd, const char *opt, const char *text, size_t min,
                         size_t max, size_t cap, size_t *out, size_t *count)
{
    size_t n = 0;
    const char *p = text;
    bool ok = *p != '\0';
    while (ok) {
        size_t len = strcspn(p, ",");
        unsigned long long v = 0;
        ok = len > 0 && len < 19 && n < cap;
        for (size_t i = 0; ok && i < len; i++) {
            ok = isdigit((unsigned char)p[i]) != 0;
            v = v * 10 + (unsigned)(p[i] - '0');
        }
        ok = ok && v >= min && v <= max;
        if (ok)
            out[n++] = (size_t)v;
        if (!ok || p[len] == '\0')
            break;
        p += len + 1;
    }
    if (!ok) {
        cli_usage_error(cmd,
                        "invalid value '%s' for %s: expected up to %zu comma-separated integers "
                        "from %zu to %zu, such as 64,256,1024",
                        text, opt, cap, min, max);
        return false;
    }
    *count = n;
    return true;
}
