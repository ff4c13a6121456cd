/* NumPy's .npy arrays and .npz archives of them (pure host code). */
#ifndef CLNN_IO_NPY_H
#define CLNN_IO_NPY_H

#include "internal.h"

#define CLNN__NPY_MAX_DIMS 8

typedef struct clnn__npy {
    char kind;        /* 'f' float, 'i' signed or 'u' unsigned integer, 'b' bool */
    size_t itemsize;  /* bytes per element */
    bool big_endian;
    bool fortran;     /* column-major */
    size_t ndim;
    size_t shape[CLNN__NPY_MAX_DIMS];
    size_t count;     /* product of shape */
    const uint8_t *data; /* count × itemsize bytes inside the parsed image */
    char descr[8];    /* as written: "<f4" */
} clnn__npy;

/* Parse an .npy image: the magic, version 1.0, 2.0 or 3.0, the header (a
 * Python dict literal with exactly 'descr', 'fortran_order' and 'shape'),
 * and exactly count × itemsize bytes of data after it. Only numeric
 * dtypes of 1, 2, 4 or 8 bytes (f4, f8, i1..i8, u1..u8, b1) are accepted.
 * data points into bytes. Messages start with what. */
clnn_status clnn__npy_parse(const uint8_t *bytes, size_t len, const char *what, clnn__npy *out);

/* Element i (in storage order) as a double. */
double clnn__npy_get(const clnn__npy *a, size_t i);
/* The storage index of row r, column c of a 2-D array. */
size_t clnn__npy_index2(const clnn__npy *a, size_t r, size_t c);

/* The member `name` ("x.npy") of a ZIP archive image (as np.savez and
 * np.savez_compressed write: stored or deflated members, ZIP64 fields in
 * the central directory), checked against its sizes and CRC-32, into a
 * malloc'ed buffer. *found is false (and CLNN_OK returned) when there is no
 * such member; names gets the members' names, comma-separated (cut short to
 * cap), for messages. */
clnn_status clnn__npz_member(const uint8_t *bytes, size_t len, const char *what, const char *name,
                             uint8_t **out, size_t *out_len, bool *found, char *names,
                             size_t cap);

#endif
