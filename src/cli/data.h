/* Datasets from files for clnn train, eval and predict: --data FILE (CSV,
 * .npy, .npz) with its options, and the files predict writes. */
#ifndef CLNN_CLI_DATA_H
#define CLNN_CLI_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "clnn.h"

/* The options that say how to read a data file. */
typedef struct data_file {
    const char *path;         /* --data FILE (--input for predict) */
    const char *labels;       /* --labels FILE.npy */
    const char *label_column; /* --label-column NAME|INDEX */
    bool no_header;           /* --no-header */
    bool values;              /* float targets (regression, --loss mse), not classes */
} data_file;

/* Whether --data names a file (CSV, .npy, .npz) rather than an IDX folder:
 * an existing file, or a missing path ending in .csv, .npy or .npz. */
bool data_is_file(const char *path);

/* Load f as like's companion (NULL: on its own); labels may be missing
 * when labels_optional. flag names the option that gave the path, for the
 * hint after the library's message. Returns -1 on success, else the exit
 * status after printing why. */
int data_load(const data_file *f, const clnn_dataset *like, bool labels_optional, const char *flag,
              clnn_dataset **out);

/* A file written whole or not at all: to PATH.tmp, synced and renamed over
 * PATH by data_output_close; NULL path writes to standard output. */
typedef struct data_output {
    const char *path;
    char tmp[4200];
    FILE *file;
} data_output;

bool data_output_open(data_output *o, const char *path);
/* Finish (ok) or abandon the file; false (with errno) when finishing fails. */
bool data_output_close(data_output *o, bool ok);

/* The header of an .npy file of rows × cols float32 (little-endian). */
bool data_write_npy_header(FILE *f, size_t rows, size_t cols);
bool data_write_floats_le(FILE *f, const float *v, size_t count);
/* s as one CSV field: quoted when it holds a comma, quote or line break. */
void data_write_csv_field(FILE *f, const char *s);

#endif
