/* Metrics files: writing records for clnn train and reading them back for
 * clnn plot and --resume. Records are small and flat, so the JSON reader
 * here only accepts objects of numbers, strings, null and booleans. */
#include "metrics.h"

#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "os.h"

/* Column order of both formats; the reader looks names up, so files with
 * other columns or another order still read. */
static const char *const field_names[] = {"kind",     "epoch",         "step",
                                          "train_loss", "train_acc",   "test_loss",
                                          "test_acc", "samples_per_s", "lr",
                                          "time_s"};
enum { FIELD_COUNT = sizeof field_names / sizeof field_names[0] };

metrics_format metrics_format_of(const char *path)
{
    size_t len = strlen(path);
    return len >= 4 && cli_strcasecmp(path + len - 4, ".csv") == 0 ? METRICS_CSV : METRICS_JSONL;
}

/* ------------------------------------------------------------- writing */

static bool fail_errno(char *err, size_t cap, const char *what, const char *path)
{
    snprintf(err, cap, "cannot %s metrics file '%s': %s", what, path, strerror(errno));
    return false;
}

static bool write_header(metrics_writer *w, char *err, size_t cap)
{
    if (w->format != METRICS_CSV)
        return true;
    for (size_t i = 0; i < FIELD_COUNT; i++)
        fprintf(w->file, "%s%s", i ? "," : "", field_names[i]);
    fputc('\n', w->file);
    if (fflush(w->file) != 0 || ferror(w->file))
        return fail_errno(err, cap, "write", w->path);
    return true;
}

bool metrics_open(metrics_writer *w, const char *path, bool append, char *err, size_t cap)
{
    w->format = metrics_format_of(path);
    w->path = path;
    w->file = cli_fopen(path, append ? "a" : "w");
    if (!w->file)
        return fail_errno(err, cap, append ? "append to" : "create", path);
    /* In append mode the position is the end, so 0 means nothing to continue. */
    long at = ftell(w->file);
    if (at == 0 && !write_header(w, err, cap)) {
        fclose(w->file);
        w->file = NULL;
        return false;
    }
    return true;
}

/* A number, or JSON's null / CSV's empty field for NAN and infinities
 * (which JSON cannot spell). */
static int put_num(char *buf, size_t cap, metrics_format f, const char *fmt, double v)
{
    if (!isfinite(v))
        return snprintf(buf, cap, "%s", f == METRICS_JSONL ? "null" : "");
    return snprintf(buf, cap, fmt, v);
}

bool metrics_write(metrics_writer *w, const metrics_record *r, char *err, size_t cap)
{
    /* Precision: losses and accuracies are float sums, so 9 significant
     * digits keep all they hold; the learning rate is written exactly. */
    char v[7][40];
    const double nums[7] = {r->train_loss, r->train_acc,     r->test_loss, r->test_acc,
                            r->samples_per_s, r->lr, r->time_s};
    const char *const fmts[7] = {"%.9g", "%.9g", "%.9g", "%.9g", "%.1f", "%.17g", "%.3f"};
    for (int i = 0; i < 7; i++)
        put_num(v[i], sizeof v[i], w->format, fmts[i], nums[i]);
    const char *kind = r->kind == METRICS_STEP ? "step" : "epoch";
    char line[512];
    int len;
    if (w->format == METRICS_CSV)
        len = snprintf(line, sizeof line, "%s,%llu,%llu,%s,%s,%s,%s,%s,%s,%s\n", kind,
                       (unsigned long long)r->epoch, (unsigned long long)r->step, v[0], v[1],
                       v[2], v[3], v[4], v[5], v[6]);
    else
        len = snprintf(line, sizeof line,
                       "{\"kind\":\"%s\",\"epoch\":%llu,\"step\":%llu,\"train_loss\":%s,"
                       "\"train_acc\":%s,\"test_loss\":%s,\"test_acc\":%s,\"samples_per_s\":%s,"
                       "\"lr\":%s,\"time_s\":%s}\n",
                       kind, (unsigned long long)r->epoch, (unsigned long long)r->step, v[0],
                       v[1], v[2], v[3], v[4], v[5], v[6]);
    /* One write per line, flushed at once: a reader never sees half a record
     * unless the process dies inside this call. */
    if (len < 0 || (size_t)len >= sizeof line ||
        fwrite(line, 1, (size_t)len, w->file) != (size_t)len || fflush(w->file) != 0)
        return fail_errno(err, cap, "write", w->path);
    return true;
}

bool metrics_close(metrics_writer *w, char *err, size_t cap)
{
    if (!w->file)
        return true;
    int rc = fclose(w->file);
    w->file = NULL;
    if (rc != 0)
        return fail_errno(err, cap, "write", w->path);
    return true;
}

/* ------------------------------------------------------------- reading */

typedef struct field_value {
    bool is_null;
    bool is_string;
    const char *text; /* the value's characters (inside the quotes for a string) */
    size_t len;
} field_value;

typedef struct line_ctx {
    const char *path;
    size_t line_no;
    char *err;
    size_t cap;
} line_ctx;

#if defined(__GNUC__)
static bool line_error(const line_ctx *c, const char *fmt, ...) CLI_PRINTF(2, 3);
#endif
static bool line_error(const line_ctx *c, const char *fmt, ...)
{
    int n = snprintf(c->err, c->cap, "%s:%zu: ", c->path, c->line_no);
    if (n < 0 || (size_t)n >= c->cap)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->cap - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

static int field_index(const char *name, size_t len)
{
    for (int i = 0; i < FIELD_COUNT; i++)
        if (strlen(field_names[i]) == len && strncmp(field_names[i], name, len) == 0)
            return i;
    return -1;
}

static bool parse_count(const field_value *v, uint64_t *out)
{
    if (v->is_null || v->is_string || v->len == 0 || v->len > 19)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < v->len; i++) {
        if (!isdigit((unsigned char)v->text[i]))
            return false;
        x = x * 10 + (uint64_t)(v->text[i] - '0');
    }
    *out = x;
    return true;
}

/* A JSON-style number: optional minus, digits, fraction, exponent; strtod
 * alone would also take "inf", hex and leading blanks. */
static bool parse_real(const field_value *v, double *out)
{
    if (v->is_null || v->len == 0) {
        *out = NAN;
        return true;
    }
    char buf[64];
    if (v->is_string || v->len >= sizeof buf)
        return false;
    const char *s = v->text;
    size_t i = s[0] == '-';
    if (i >= v->len || !isdigit((unsigned char)s[i]))
        return false;
    for (; i < v->len; i++)
        if (!isdigit((unsigned char)s[i]) && !strchr(".eE+-", s[i]))
            return false;
    memcpy(buf, s, v->len);
    buf[v->len] = '\0';
    char *end = NULL;
    double x = strtod(buf, &end);
    if (end != buf + v->len)
        return false;
    *out = x;
    return true;
}

/* Store one named value into r; seen[] tracks the required fields. */
static bool set_field(const line_ctx *c, metrics_record *r, bool *seen, int index,
                      const field_value *v)
{
    const char *name = field_names[index];
    switch (index) {
    case 0:
        if (v->is_string && v->len == 5 && strncmp(v->text, "epoch", 5) == 0)
            r->kind = METRICS_EPOCH;
        else if (v->is_string && v->len == 4 && strncmp(v->text, "step", 4) == 0)
            r->kind = METRICS_STEP;
        else
            return line_error(c, "\"kind\" is '%.*s', not epoch or step", (int)v->len, v->text);
        break;
    case 1:
    case 2:
        if (!parse_count(v, index == 1 ? &r->epoch : &r->step))
            return line_error(c, "\"%s\" is '%.*s', not a whole number", name, (int)v->len,
                              v->text);
        break;
    default: {
        double *dst[] = {&r->train_loss, &r->train_acc,     &r->test_loss, &r->test_acc,
                         &r->samples_per_s, &r->lr, &r->time_s};
        if (!parse_real(v, dst[index - 3]))
            return line_error(c, "\"%s\" is '%.*s', not a number", name, (int)v->len, v->text);
    }
    }
    seen[index] = true;
    return true;
}

static void record_init(metrics_record *r)
{
    *r = (metrics_record){.train_loss = NAN, .train_acc = NAN, .test_loss = NAN,
                          .test_acc = NAN, .samples_per_s = NAN, .lr = NAN, .time_s = NAN};
}

static bool check_required(const line_ctx *c, const bool *seen)
{
    for (int i = 0; i < 3; i++)
        if (!seen[i])
            return line_error(c, "the record has no \"%s\"", field_names[i]);
    return true;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

/* A JSON string starting at the opening quote; sets the span inside the
 * quotes (escapes are kept as written: the names and values that matter
 * here have none) and returns the position after the closing quote. */
static const char *json_string(const char *p, field_value *v)
{
    const char *start = ++p;
    while (*p && *p != '"') {
        if (*p == '\\' && p[1])
            p++;
        p++;
    }
    if (*p != '"')
        return NULL;
    *v = (field_value){.is_string = true, .text = start, .len = (size_t)(p - start)};
    return p + 1;
}

static bool parse_json_line(const line_ctx *c, const char *line, metrics_record *r)
{
    bool seen[FIELD_COUNT] = {false};
    record_init(r);
    const char *p = skip_ws(line);
    if (*p != '{')
        return line_error(c, "expected a JSON object ('{')");
    p = skip_ws(p + 1);
    if (*p == '}')
        return line_error(c, "empty record");
    for (;;) {
        field_value key, val;
        if (*p != '"' || !(p = json_string(p, &key)))
            return line_error(c, "expected a quoted key");
        p = skip_ws(p);
        if (*p != ':')
            return line_error(c, "expected ':' after \"%.*s\"", (int)key.len, key.text);
        p = skip_ws(p + 1);
        if (*p == '"') {
            if (!(p = json_string(p, &val)))
                return line_error(c, "unterminated string");
        } else if (*p == '{' || *p == '[') {
            return line_error(c, "\"%.*s\" holds an object or array; records are flat",
                              (int)key.len, key.text);
        } else {
            size_t len = strcspn(p, ",} \t\r");
            val = (field_value){.is_null = len == 4 && strncmp(p, "null", 4) == 0, .text = p,
                                .len = len};
            if (len == 0)
                return line_error(c, "\"%.*s\" has no value", (int)key.len, key.text);
            p += len;
        }
        int index = field_index(key.text, key.len);
        /* Unknown keys are skipped, so files from later versions still read. */
        if (index >= 0 && !set_field(c, r, seen, index, &val))
            return false;
        p = skip_ws(p);
        if (*p == ',') {
            p = skip_ws(p + 1);
            continue;
        }
        if (*p != '}')
            return line_error(c, "expected ',' or '}'");
        p = skip_ws(p + 1);
        if (*p)
            return line_error(c, "text after the record's closing '}'");
        return check_required(c, seen);
    }
}

/* CSV: column index of each known field, -1 when the header lacks it. */
typedef struct csv_columns {
    int field[64];
    size_t count;
} csv_columns;

static bool parse_csv_header(const line_ctx *c, const char *line, csv_columns *cols)
{
    cols->count = 0;
    bool seen[FIELD_COUNT] = {false};
    for (const char *p = line;; p++) {
        size_t len = strcspn(p, ",");
        if (cols->count == sizeof cols->field / sizeof cols->field[0])
            return line_error(c, "too many columns");
        int index = field_index(p, len);
        cols->field[cols->count++] = index;
        if (index >= 0)
            seen[index] = true;
        p += len;
        if (!*p)
            break;
    }
    for (int i = 0; i < 3; i++)
        if (!seen[i])
            return line_error(c, "the CSV header has no \"%s\" column (is this a clnn "
                                 "metrics file?)",
                              field_names[i]);
    return true;
}

static bool parse_csv_line(const line_ctx *c, const csv_columns *cols, const char *line,
                           metrics_record *r)
{
    bool seen[FIELD_COUNT] = {false};
    record_init(r);
    size_t col = 0;
    for (const char *p = line;; p++) {
        size_t len = strcspn(p, ",");
        if (col >= cols->count)
            return line_error(c, "more fields than the header's %zu", cols->count);
        int index = cols->field[col++];
        /* A text field (kind) is read unquoted, as written. */
        field_value v = {.is_string = index == 0, .text = p, .len = len};
        if (index >= 0 && !set_field(c, r, seen, index, &v))
            return false;
        p += len;
        if (!*p)
            break;
    }
    if (col != cols->count)
        return line_error(c, "%zu fields where the header has %zu", col, cols->count);
    return check_required(c, seen);
}

bool metrics_read(const char *path, metrics_record_fn fn, void *user, char *err, size_t cap)
{
    FILE *f = cli_fopen(path, "r");
    if (!f) {
        snprintf(err, cap, "cannot read metrics file '%s': %s", path, strerror(errno));
        return false;
    }
    const metrics_format format = metrics_format_of(path);
    line_ctx c = {.path = path, .err = err, .cap = cap};
    csv_columns cols = {.count = 0};
    char *line = NULL;
    size_t line_cap = 0;
    bool ok = true, header_done = format != METRICS_CSV;
    long got;
    while (ok && (got = cli_read_line(&line, &line_cap, f)) >= 0) {
        c.line_no++;
        size_t len = (size_t)got;
        bool complete = len > 0 && line[len - 1] == '\n';
        if (complete)
            line[--len] = '\0';
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (strlen(line) != len) {
            ok = line_error(&c, "the line holds a NUL byte (not a text file?)");
            break;
        }
        if (skip_ws(line)[0] == '\0')
            continue;
        metrics_record r;
        if (!header_done) {
            ok = parse_csv_header(&c, line, &cols);
            header_done = true;
            if (ok && fn)
                ok = fn(user, NULL, line, len);
            continue;
        }
        bool parsed = format == METRICS_CSV ? parse_csv_line(&c, &cols, line, &r)
                                            : parse_json_line(&c, line, &r);
        if (!parsed) {
            /* A torn last line (the writer was killed mid-write) is dropped;
             * getline only returns a line without its newline at the end. */
            if (!complete)
                err[0] = '\0';
            else
                ok = false;
            break;
        }
        if (fn && !fn(user, &r, line, len)) {
            ok = false;
            break;
        }
    }
    if (ok && ferror(f)) {
        snprintf(err, cap, "cannot read metrics file '%s': %s", path, strerror(errno));
        ok = false;
    }
    free(line);
    fclose(f);
    return ok;
}

/* ---------------------------------------------------------- truncation */

typedef struct truncate_ctx {
    FILE *out;
    uint64_t step;
} truncate_ctx;

static bool keep_record(void *user, const metrics_record *r, const char *line, size_t len)
{
    truncate_ctx *t = user;
    if (r && r->step > t->step)
        return true;
    return fwrite(line, 1, len, t->out) == len && fputc('\n', t->out) != EOF;
}

bool metrics_truncate_after(const char *path, uint64_t step, char *err, size_t cap)
{
    if (!cli_exists(path))
        return true;
    err[0] = '\0';
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    truncate_ctx t = {.out = cli_fopen(tmp, "w"), .step = step};
    if (!t.out)
        return fail_errno(err, cap, "rewrite", path);
    bool ok = metrics_read(path, keep_record, &t, err, cap);
    if (!ok && !err[0])
        snprintf(err, cap, "cannot write '%s': %s", tmp, strerror(errno));
    /* The rewritten file must be on disk before it replaces the old one. */
    if (ok && !cli_sync(t.out))
        ok = fail_errno(err, cap, "rewrite", path);
    if (fclose(t.out) != 0 && ok)
        ok = fail_errno(err, cap, "rewrite", path);
    if (ok && !cli_replace(tmp, path))
        ok = fail_errno(err, cap, "rewrite", path);
    if (!ok)
        cli_remove(tmp);
    return ok;
}
