/* CSV records read in chunks of CHUNK bytes, so that a file of any size
 * needs no more memory than its longest record; the caller keeps what it
 * converts. */
#include "io/csv.h"

#include "base/platform.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK ((size_t)1 << 20)
/* A record longer than this is no table row: most likely a file that is
 * not CSV at all, or a quote left open. */
#define RECORD_MAX ((size_t)1 << 28)

struct clnn__csv {
    FILE *file;           /* NULL when reading from memory */
    const uint8_t *bytes; /* the chunk being read: buf, or the caller's bytes */
    size_t len, pos;
    uint8_t *buf;
    bool eof;
    char *what;
    size_t line;          /* of the next byte */
    bool started;         /* the byte order mark is handled */
    char *rec;            /* the record's fields, each NUL-terminated */
    size_t rec_len, rec_cap;
    size_t *starts;       /* per field: offset in rec, then the field itself */
    clnn__csv_field *fields;
    size_t nfields, fields_cap;
    size_t record_line;
};

static clnn_status make(const char *what, clnn__csv **out)
{
    clnn__csv *r = clnn__calloc(1, sizeof *r);
    if (!r)
        return CLNN_ERR_OUT_OF_MEMORY;
    r->what = clnn__strdup(what);
    r->rec_cap = 256;
    r->rec = clnn__malloc(r->rec_cap);
    r->fields_cap = 16;
    r->fields = clnn__calloc(r->fields_cap, sizeof *r->fields);
    r->starts = clnn__calloc(r->fields_cap, sizeof *r->starts);
    r->line = 1;
    if (!r->what || !r->rec || !r->fields || !r->starts) {
        clnn__csv_close(r);
        return CLNN_ERR_OUT_OF_MEMORY;
    }
    *out = r;
    return CLNN_OK;
}

clnn_status clnn__csv_open_file(const char *path, clnn__csv **out)
{
    *out = NULL;
    size_t n = strlen(path) + 3;
    char *what = clnn__malloc(n);
    if (!what)
        return CLNN_ERR_OUT_OF_MEMORY;
    snprintf(what, n, "'%s'", path);
    clnn__csv *r = NULL;
    clnn_status st = make(what, &r);
    free(what);
    if (st != CLNN_OK)
        return st;
    r->buf = clnn__malloc(CHUNK);
    if (!r->buf) {
        clnn__csv_close(r);
        return CLNN_ERR_OUT_OF_MEMORY;
    }
    r->file = clnn__fopen(path, "rb");
    if (!r->file) {
        int err = errno;
        clnn__csv_close(r);
        return clnn__fail(CLNN_ERR_IO, "cannot open '%s': %s; check the path", path,
                          strerror(err));
    }
    r->bytes = r->buf;
    *out = r;
    return CLNN_OK;
}

clnn_status clnn__csv_open_memory(const uint8_t *bytes, size_t len, const char *what,
                                  clnn__csv **out)
{
    *out = NULL;
    clnn__csv *r = NULL;
    clnn_status st = make(what ? what : "CSV data", &r);
    if (st != CLNN_OK)
        return st;
    r->bytes = bytes;
    r->len = len;
    r->eof = true;
    *out = r;
    return CLNN_OK;
}

void clnn__csv_close(clnn__csv *r)
{
    if (!r)
        return;
    if (r->file)
        fclose(r->file);
    free(r->buf);
    free(r->what);
    free(r->rec);
    free(r->fields);
    free(r->starts);
    free(r);
}

const char *clnn__csv_what(const clnn__csv *r)
{
    return r->what;
}

/* Make the next byte available: false at the end of the input (or on a
 * read error, which *st then holds). */
static bool fill(clnn__csv *r, clnn_status *st)
{
    if (r->pos < r->len)
        return true;
    if (r->eof)
        return false;
    r->len = fread(r->buf, 1, CHUNK, r->file);
    r->pos = 0;
    if (r->len < CHUNK) {
        if (ferror(r->file)) {
            *st = clnn__fail(CLNN_ERR_IO, "%s: read error after line %zu: %s", r->what, r->line,
                             strerror(errno));
            return false;
        }
        r->eof = true;
    }
    return r->len > 0;
}

/* The next byte, or -1 at the end (or on an error, in *st). */
static inline int peek(clnn__csv *r, clnn_status *st)
{
    return r->pos < r->len || fill(r, st) ? r->bytes[r->pos] : -1;
}

static clnn_status grow_record(clnn__csv *r, size_t more)
{
    if (r->rec_len + more <= r->rec_cap)
        return CLNN_OK;
    if (r->rec_len + more > RECORD_MAX)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: the record starting on line %zu is longer than %zu bytes; is it a "
                          "CSV file, and is every quoted field closed?",
                          r->what, r->record_line, RECORD_MAX);
    size_t cap = r->rec_cap;
    while (cap < r->rec_len + more)
        cap *= 2;
    char *grown = realloc(r->rec, cap);
    if (!grown)
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "%s: out of host memory for a record of %zu bytes",
                          r->what, cap);
    r->rec = grown;
    r->rec_cap = cap;
    return CLNN_OK;
}

static clnn_status append(clnn__csv *r, const uint8_t *p, size_t n)
{
    clnn_status st = grow_record(r, n);
    if (st == CLNN_OK) {
        memcpy(r->rec + r->rec_len, p, n);
        r->rec_len += n;
    }
    return st;
}

static clnn_status begin_field(clnn__csv *r, bool quoted)
{
    if (r->nfields == r->fields_cap) {
        size_t cap = r->fields_cap * 2;
        clnn__csv_field *f = realloc(r->fields, cap * sizeof *f);
        if (f)
            r->fields = f;
        size_t *s = f ? realloc(r->starts, cap * sizeof *s) : NULL;
        if (!f || !s)
            return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "%s: out of host memory for %zu fields",
                              r->what, cap);
        r->starts = s;
        r->fields_cap = cap;
    }
    r->starts[r->nfields] = r->rec_len;
    r->fields[r->nfields] = (clnn__csv_field){.line = r->line, .column = r->nfields + 1,
                                              .quoted = quoted};
    r->nfields++;
    return CLNN_OK;
}

static clnn_status end_field(clnn__csv *r)
{
    clnn_status st = grow_record(r, 1);
    if (st == CLNN_OK) {
        clnn__csv_field *f = &r->fields[r->nfields - 1];
        f->len = r->rec_len - r->starts[r->nfields - 1];
        r->rec[r->rec_len++] = '\0';
    }
    return st;
}

/* After a carriage return: only a line feed may follow. */
static clnn_status line_end(clnn__csv *r, int c, clnn_status *st)
{
    r->pos++;
    if (c == '\r') {
        if (peek(r, st) != '\n')
            return *st != CLNN_OK ? *st
                                  : clnn__fail(CLNN_ERR_BAD_FILE,
                                               "%s: line %zu: a carriage return not followed by a "
                                               "line feed (lines end with LF or CRLF)",
                                               r->what, r->line);
        r->pos++;
    }
    r->line++;
    return CLNN_OK;
}

/* An unquoted field: bytes up to a comma, a line end or the end. */
static clnn_status unquoted(clnn__csv *r, clnn_status *st)
{
    for (;;) {
        if (!(r->pos < r->len || fill(r, st)))
            return *st;
        const uint8_t *p = r->bytes + r->pos, *end = r->bytes + r->len, *q = p;
        while (q < end && *q != ',' && *q != '\n' && *q != '\r' && *q != '"')
            q++;
        clnn_status a = append(r, p, (size_t)(q - p));
        if (a != CLNN_OK)
            return a;
        r->pos += (size_t)(q - p);
        if (q == end)
            continue;
        if (*q == '"')
            return clnn__fail(CLNN_ERR_BAD_FILE,
                              "%s: line %zu, column %zu: a quote inside an unquoted field (quote "
                              "the whole field and double the quotes inside it: \"a \"\"b\"\"\")",
                              r->what, r->line, r->nfields);
        return CLNN_OK;
    }
}

/* A quoted field, after its opening quote, up to its closing quote. */
static clnn_status quoted(clnn__csv *r, clnn_status *st)
{
    size_t line = r->line, column = r->nfields;
    for (;;) {
        int c = peek(r, st);
        if (c < 0)
            return *st != CLNN_OK ? *st
                                  : clnn__fail(CLNN_ERR_BAD_FILE,
                                               "%s: line %zu, column %zu: the quoted field is not "
                                               "closed before the end of the file",
                                               r->what, line, column);
        r->pos++;
        if (c == '"') {
            if (peek(r, st) != '"')
                return *st;
            r->pos++;
        } else if (c == '\n') {
            r->line++;
        }
        uint8_t b = (uint8_t)c;
        clnn_status a = append(r, &b, 1);
        if (a != CLNN_OK)
            return a;
    }
}

clnn_status clnn__csv_next(clnn__csv *r, bool *got)
{
    clnn_status st = CLNN_OK;
    *got = false;
    r->nfields = 0;
    r->rec_len = 0;
    if (!r->started) {
        r->started = true;
        static const uint8_t bom[3] = {0xEF, 0xBB, 0xBF};
        for (int i = 0; i < 3 && peek(r, &st) == bom[i]; i++)
            r->pos++; /* a partial mark stays consumed: it is not UTF-8 text anyway */
        if (st != CLNN_OK)
            return st;
    }
    if (peek(r, &st) < 0)
        return st;
    r->record_line = r->line;
    for (;;) {
        int c = peek(r, &st);
        bool is_quoted = c == '"';
        if ((st = begin_field(r, is_quoted)) != CLNN_OK)
            return st;
        if (is_quoted) {
            r->pos++;
            if ((st = quoted(r, &st)) != CLNN_OK)
                return st;
        } else if ((st = unquoted(r, &st)) != CLNN_OK) {
            return st;
        }
        if ((st = end_field(r)) != CLNN_OK)
            return st;
        c = peek(r, &st);
        if (st != CLNN_OK)
            return st;
        if (c == ',') {
            r->pos++;
            continue;
        }
        if (c == '\r' || c == '\n') {
            if ((st = line_end(r, c, &st)) != CLNN_OK)
                return st;
        } else if (c >= 0) {
            return clnn__fail(CLNN_ERR_BAD_FILE,
                              "%s: line %zu, column %zu: text after the closing quote (a quoted "
                              "field ends at its quote; double quotes inside it: \"a \"\"b\"\"\")",
                              r->what, r->line, r->nfields);
        }
        break;
    }
    for (size_t i = 0; i < r->nfields; i++)
        r->fields[i].text = r->rec + r->starts[i];
    *got = true;
    return CLNN_OK;
}

size_t clnn__csv_field_count(const clnn__csv *r)
{
    return r->nfields;
}

const clnn__csv_field *clnn__csv_field_at(const clnn__csv *r, size_t index)
{
    return &r->fields[index];
}

bool clnn__csv_blank(const clnn__csv *r)
{
    return r->nfields == 1 && r->fields[0].len == 0 && !r->fields[0].quoted;
}

size_t clnn__csv_line(const clnn__csv *r)
{
    return r->record_line;
}

/* ------------------------------------------------------------- numbers */

/* Powers of ten that doubles hold exactly. */
static const double exact_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The rare number the fast path cannot take (more than 15 or so significant
 * digits, or a large exponent): the C library's strtod, correctly rounded,
 * whatever the process locale (clnn__strtod_c). */
static clnn__number_status slow_path(const char *s, size_t len, double *out)
{
    double v;
    if (!clnn__strtod_c(s, len, &v))
        return CLNN__NUMBER_INVALID;
    if (!isfinite(v))
        return CLNN__NUMBER_NONFINITE;
    *out = v;
    return CLNN__NUMBER_OK;
}

static bool word_is(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != word[i])
            return false;
    return true;
}

clnn__number_status clnn__parse_number(const char *s, size_t len, double *out)
{
    while (len && blank(s[0]))
        s++, len--;
    while (len && blank(s[len - 1]))
        len--;
    if (!len)
        return CLNN__NUMBER_EMPTY;
    size_t i = 0;
    bool negative = false;
    if (s[0] == '+' || s[0] == '-')
        negative = s[i++] == '-';
    {
        const char *w = s + i;
        size_t wl = len - i;
        if (word_is(w, wl, "nan") || word_is(w, wl, "inf") || word_is(w, wl, "infinity"))
            return CLNN__NUMBER_NONFINITE;
    }
    uint64_t mantissa = 0;
    int significant = 0;   /* digits in mantissa, leading zeros not counted */
    bool dropped = false;  /* a non-zero digit beyond 19 */
    long exp10 = 0;
    size_t digits = 0;
    for (; i < len && digit(s[i]); i++, digits++) {
        if (significant < 19) {
            mantissa = mantissa * 10 + (uint64_t)(s[i] - '0');
            significant += mantissa != 0;
        } else {
            exp10++;
            dropped |= s[i] != '0';
        }
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && digit(s[i]); i++, digits++) {
            if (significant < 19) {
                mantissa = mantissa * 10 + (uint64_t)(s[i] - '0');
                significant += mantissa != 0;
                exp10--;
            } else {
                dropped |= s[i] != '0';
            }
        }
    }
    if (digits == 0)
        return CLNN__NUMBER_INVALID;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i == len || !digit(s[i]))
            return CLNN__NUMBER_INVALID;
        long e = 0;
        for (; i < len && digit(s[i]); i++)
            e = e < 100000 ? e * 10 + (s[i] - '0') : e; /* far beyond any double */
        exp10 += eneg ? -e : e;
    }
    if (i != len)
        return CLNN__NUMBER_INVALID;
    double v;
    if (mantissa == 0) {
        v = 0.0;
    } else if (!dropped && mantissa <= ((uint64_t)1 << 53) && exp10 >= -22 && exp10 <= 22) {
        /* Both operands are exact, so one rounding: the correctly rounded
         * result (Clinger's fast path). */
        v = (double)mantissa;
        v = exp10 < 0 ? v / exact_pow10[-exp10] : v * exact_pow10[exp10];
    } else {
        size_t start = negative || s[0] == '+' ? 1 : 0;
        clnn__number_status st = slow_path(s + start, len - start, &v);
        if (st != CLNN__NUMBER_OK)
            return st;
    }
    *out = negative ? -v : v;
    return CLNN__NUMBER_OK;
}
