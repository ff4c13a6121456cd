/* A dataset from NumPy arrays: features from a 2-D .npy (or an .npz's x),
 * labels from a 1-D .npy (or its y). */
#include "io/dataset.h"
#include "io/npy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void shape_text(const clnn__npy *a, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (size_t i = 0; i < a->ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%zu", i ? ", " : "", a->shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "%s)", a->ndim == 1 ? "," : "");
}

static clnn_status features_from(const clnn__npy *a, const char *what,
                                 const clnn_dataset_options *o, clnn_dataset **out)
{
    char shape[128];
    shape_text(a, shape, sizeof shape);
    if (a->ndim != 2)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: features must be a 2-D array (rows x features), but its shape is "
                          "%s%s",
                          what, shape,
                          a->ndim == 1 ? "; for a single feature, save x.reshape(-1, 1)" : "");
    size_t rows = a->shape[0], features = a->shape[1];
    if (rows == 0 || features == 0)
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s: the array of shape %s holds no data", what,
                          shape);
    if (a->kind == 'b')
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: features of dtype '%s' (bool) are not supported; save them as "
                          "float32",
                          what, a->descr);
    if (o->like && features != o->like->features)
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s has %zu features per row, but like has %zu",
                          what, features, o->like->features);
    clnn_status st = clnn__dataset_new(rows, features, false, out);
    if (st != CLNN_OK)
        return st;
    float *x = (*out)->images;
    if (a->kind == 'f' && a->itemsize == 4 && !a->big_endian && !a->fortran) {
        memcpy(x, a->data, rows * features * sizeof *x);
    } else {
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < features; c++)
                x[r * features + c] = (float)clnn__npy_get(a, clnn__npy_index2(a, r, c));
    }
    for (size_t i = 0; i < rows * features; i++) {
        if (!isfinite(x[i])) {
            clnn_dataset_free(*out);
            *out = NULL;
            return clnn__fail(CLNN_ERR_BAD_FILE,
                              "%s: row %zu, column %zu (from 0) is not a finite number%s; every "
                              "feature must be present and finite",
                              what, i / features, i % features,
                              a->kind == 'f' && a->itemsize == 8 ? " in float32" : "");
        }
    }
    return CLNN_OK;
}

static clnn_status labels_from(const clnn__npy *a, const char *what, clnn_dataset *ds,
                               const clnn_dataset *like)
{
    char shape[128];
    shape_text(a, shape, sizeof shape);
    if (a->ndim != 1)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: labels must be a 1-D array (one per row), but its shape is %s%s",
                          what, shape, a->ndim == 2 ? "; save y.ravel()" : "");
    if (a->shape[0] != ds->count)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s holds %zu labels, but the features have %zu rows; give the labels "
                          "of the same rows",
                          what, a->shape[0], ds->count);
    size_t limit = like ? like->classes : CLNN__CLASSES_MAX, classes = 0;
    ds->labels = clnn__malloc(ds->count * sizeof *ds->labels);
    if (!ds->labels)
        return CLNN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < ds->count; i++) {
        double v = clnn__npy_get(a, i);
        if (!(v >= 0.0 && v < (double)limit && v == floor(v)))
            return clnn__fail(CLNN_ERR_BAD_FILE,
                              "%s: label %zu (from 0) is %.17g, not a class number from 0 to %zu%s",
                              what, i, v, limit - 1,
                              a->kind == 'f' && v != floor(v)
                                  ? " (regression targets are read as floats with options.target "
                                    "CLNN_TARGET_VALUES, clnn train --loss mse)"
                                  : "");
        ds->labels[i] = (int32_t)v;
        classes = (size_t)v + 1 > classes ? (size_t)v + 1 : classes;
    }
    ds->classes = like ? like->classes : classes;
    return CLNN_OK;
}

/* Float targets (CLNN_TARGET_VALUES): one per row (1-D), or rows × k (2-D). */
static clnn_status targets_from(const clnn__npy *a, const char *what, clnn_dataset *ds)
{
    char shape[128];
    shape_text(a, shape, sizeof shape);
    if (a->ndim != 1 && a->ndim != 2)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: targets must be a 1-D array (one per row) or a 2-D array (rows x "
                          "targets), but its shape is %s",
                          what, shape);
    const size_t w = a->ndim == 2 ? a->shape[1] : 1;
    if (a->shape[0] != ds->count || w == 0)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s holds targets of shape %s, but the features have %zu rows; give "
                          "the targets of the same rows",
                          what, shape, ds->count);
    if (a->kind == 'b')
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: targets of dtype '%s' (bool) are not supported; save them as "
                          "float32",
                          what, a->descr);
    ds->targets = clnn__malloc(ds->count * w * sizeof *ds->targets);
    if (!ds->targets)
        return CLNN_ERR_OUT_OF_MEMORY;
    ds->target_width = w;
    for (size_t r = 0; r < ds->count; r++) {
        for (size_t c = 0; c < w; c++) {
            const double v =
                clnn__npy_get(a, a->ndim == 2 ? clnn__npy_index2(a, r, c) : r);
            const float f = (float)v;
            if (!isfinite(f))
                return clnn__fail(CLNN_ERR_BAD_FILE,
                                  "%s: target %zu of row %zu (from 0) is not a finite number%s; "
                                  "every target must be present and finite",
                                  what, c, r, isfinite(v) ? " in float32" : "");
            ds->targets[r * w + c] = f;
        }
    }
    return CLNN_OK;
}

/* like's description and standardisation, once the rows are in. */
static clnn_status finish(clnn_dataset *ds, const clnn_dataset *like)
{
    if (!like)
        return CLNN_OK;
    clnn_status st = clnn__dataset_copy_description(ds, like);
    if (st == CLNN_OK && like->mean)
        clnn__dataset_apply_standardization(ds);
    return st;
}

clnn_status clnn__dataset_read_npy(const uint8_t *bytes, size_t len, const char *what,
                                   const uint8_t *label_bytes, size_t label_len,
                                   const char *label_what, const clnn_dataset_options *o,
                                   clnn_dataset **out)
{
    *out = NULL;
    clnn__npy x, y;
    clnn_status st = clnn__npy_parse(bytes, len, what, &x);
    if (st == CLNN_OK && label_bytes)
        st = clnn__npy_parse(label_bytes, label_len, label_what, &y);
    if (st != CLNN_OK)
        return st;
    if (!label_bytes && !o->labels_optional)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s holds features only: give the .npy file of their labels as "
                          "labels_path",
                          what);
    clnn_dataset *ds = NULL;
    st = features_from(&x, what, o, &ds);
    if (st == CLNN_OK && label_bytes)
        st = o->target == CLNN_TARGET_VALUES ? targets_from(&y, label_what, ds)
                                             : labels_from(&y, label_what, ds, o->like);
    if (st == CLNN_OK)
        st = finish(ds, o->like);
    if (st != CLNN_OK) {
        clnn_dataset_free(ds);
        return st;
    }
    *out = ds;
    return CLNN_OK;
}

clnn_status clnn__dataset_read_npz(const uint8_t *bytes, size_t len, const char *what,
                                   const clnn_dataset_options *o, clnn_dataset **out)
{
    *out = NULL;
    uint8_t *xb = NULL, *yb = NULL;
    size_t xl = 0, yl = 0;
    bool has_x = false, has_y = false;
    char names[512];
    clnn_status st = clnn__npz_member(bytes, len, what, "x.npy", &xb, &xl, &has_x, names,
                                      sizeof names);
    if (st == CLNN_OK)
        st = clnn__npz_member(bytes, len, what, "y.npy", &yb, &yl, &has_y, names, sizeof names);
    if (st == CLNN_OK && (!has_x || (!has_y && !o->labels_optional)))
        st = clnn__fail(CLNN_ERR_BAD_FILE,
                        "%s holds no array '%s' (it holds %s); save the features as x and the "
                        "labels as y: np.savez(path, x=features, y=labels)",
                        what, has_x ? "y" : "x", names[0] ? names : "none");
    char xwhat[600], ywhat[600];
    snprintf(xwhat, sizeof xwhat, "%s, array x", what);
    snprintf(ywhat, sizeof ywhat, "%s, array y", what);
    if (st == CLNN_OK)
        st = clnn__dataset_read_npy(xb, xl, xwhat, yb, yl, ywhat, o, out);
    free(xb);
    free(yb);
    return st;
}
