/* Training metrics files of clnn train --metrics, and their reader for
 * clnn plot and for --resume. One record per line: JSON Lines, or CSV with a
 * header when the file name ends in ".csv". Plain C, no dependency on clnn.h. */
#ifndef CLNN_CLI_METRICS_H
#define CLNN_CLI_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum metrics_format { METRICS_JSONL = 0, METRICS_CSV = 1 } metrics_format;

typedef enum metrics_kind {
    METRICS_EPOCH = 0, /* end of an epoch, with the test split's figures */
    METRICS_STEP = 1,  /* every --metrics-every steps: training figures only */
} metrics_kind;

/* One line. Figures that do not apply (the test split in a step record) are
 * NAN: null in JSON, an empty field in CSV. */
typedef struct metrics_record {
    metrics_kind kind;
    uint64_t epoch;       /* 1-based epoch the record belongs to */
    uint64_t step;        /* optimizer steps done since the run began, across resumes */
    double train_loss;    /* mean over the epoch's steps so far (all of them for METRICS_EPOCH) */
    double train_acc;
    double test_loss;
    double test_acc;
    double samples_per_s; /* training throughput of the epoch (so far) */
    double lr;            /* learning rate of the epoch */
    double time_s;        /* wall time since the run began, across resumes */
} metrics_record;

/* The format a path's extension selects: ".csv" (any case) is CSV, anything else JSONL. */
metrics_format metrics_format_of(const char *path);

typedef struct metrics_writer {
    FILE *file;
    metrics_format format;
    const char *path;
} metrics_writer;

/* Start a new file (truncate), or append to an existing one (--resume; a
 * missing or empty file is started afresh). On failure writes why to err and
 * returns false. */
bool metrics_open(metrics_writer *w, const char *path, bool append, char *err, size_t cap);
/* Write one record as a single line and flush it, so a reader (or a run
 * killed right after) sees whole records. */
bool metrics_write(metrics_writer *w, const metrics_record *r, char *err, size_t cap);
/* Returns false (with err) when buffered data could not be written. */
bool metrics_close(metrics_writer *w, char *err, size_t cap);

/* Read every record of a metrics file in order. fn gets each record with its
 * line's raw text (without the newline), and first, for a CSV file, the
 * header line with r NULL; returning false stops the reading.
 * A last line without a newline that does not parse is ignored: it is a
 * record cut short by a killed run. On a malformed file or a read error,
 * writes "PATH:LINE: what" to err and returns false. */
typedef bool (*metrics_record_fn)(void *user, const metrics_record *r, const char *line,
                                  size_t len);
bool metrics_read(const char *path, metrics_record_fn fn, void *user, char *err, size_t cap);

/* For --resume: keep only the records of steps up to `step` (those of the
 * run the checkpoint holds; later ones will be made again) and the CSV
 * header. Rewrites the file through a temporary file and rename(), so it is
 * never left half-written. A missing file is not an error. */
bool metrics_truncate_after(const char *path, uint64_t step, char *err, size_t cap);

#endif
