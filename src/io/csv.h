/* A strict streaming CSV reader (RFC 4180) and the number parser of its
 * fields. Pure host code: no OpenCL, no system calls beyond stdio. */
#ifndef CLNN_IO_CSV_H
#define CLNN_IO_CSV_H

#include "internal.h"

#include <stdio.h>

/* One field of the current record: its unquoted, unescaped bytes (NUL-
 * terminated; a field may itself hold NUL bytes, so len counts), the line it
 * starts on and its column (both from 1). */
typedef struct clnn__csv_field {
    const char *text;
    size_t len;
    size_t line;
    size_t column;
    bool quoted;
} clnn__csv_field;

typedef struct clnn__csv clnn__csv;

/* Read from a file (in chunks: memory stays bounded whatever its size) or
 * from bytes in memory (not copied; they must outlive the reader). what
 * names the source in messages ("'data.csv'"). */
clnn_status clnn__csv_open_file(const char *path, clnn__csv **out);
clnn_status clnn__csv_open_memory(const uint8_t *bytes, size_t len, const char *what,
                                  clnn__csv **out);
void clnn__csv_close(clnn__csv *r);
const char *clnn__csv_what(const clnn__csv *r);

/* The next record: *got is false at the end of the input. Fields are ',',
 * records end with LF or CRLF; a field in double quotes may hold commas,
 * line breaks and doubled quotes. A UTF-8 byte order mark at the start is
 * skipped. Refused with CLNN_ERR_BAD_FILE and the line and column: a quote
 * inside an unquoted field, text after a closing quote, a quoted field not
 * closed, a carriage return without a line feed. The fields stay valid until
 * the next call. */
clnn_status clnn__csv_next(clnn__csv *r, bool *got);
size_t clnn__csv_field_count(const clnn__csv *r);
const clnn__csv_field *clnn__csv_field_at(const clnn__csv *r, size_t index);
/* Whether the current record is a blank line (one empty unquoted field). */
bool clnn__csv_blank(const clnn__csv *r);
/* The line the current record starts on. */
size_t clnn__csv_line(const clnn__csv *r);

/* What clnn__parse_number found. */
typedef enum clnn__number_status {
    CLNN__NUMBER_OK = 0,
    CLNN__NUMBER_EMPTY,     /* nothing but blanks */
    CLNN__NUMBER_INVALID,   /* not a decimal number */
    CLNN__NUMBER_NONFINITE, /* nan, inf, or beyond the range of double */
} clnn__number_status;

/* A decimal number as C's strtod reads it in the "C" locale, whatever the
 * process's locale: [blanks][+|-]digits[.digits][(e|E)[+|-]digits][blanks]
 * (digits on at least one side of the point), correctly rounded to double.
 * Blanks are spaces and tabs. */
clnn__number_status clnn__parse_number(const char *s, size_t len, double *out);

#endif
