/* clnn_dataset_load and what works on any loaded dataset: splitting,
 * standardisation and the description (names, classes) of its columns. */
#include "io/dataset.h"

#include "base/platform.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seeds the split's shuffle apart from the epochs' (streams 0, 1, ...). */
#define SPLIT_STREAM 0x73706c6974ull /* "split" */

void clnn_dataset_options_init(clnn_dataset_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->target = CLNN_TARGET_CLASSES;
}

clnn_status clnn__dataset_new(size_t count, size_t features, bool with_labels, clnn_dataset **out)
{
    *out = NULL;
    if (features && count > SIZE_MAX / sizeof(float) / features)
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "%zu rows of %zu features exceed host memory",
                          count, features);
    clnn_dataset *ds = clnn__calloc(1, sizeof *ds);
    if (!ds)
        return CLNN_ERR_OUT_OF_MEMORY;
    ds->count = count;
    ds->features = features;
    ds->images = clnn__malloc(count && features ? count * features * sizeof(float) : 1);
    ds->labels = with_labels ? clnn__malloc(count ? count * sizeof(int32_t) : 1) : NULL;
    if (!ds->images || (with_labels && !ds->labels)) {
        clnn_dataset_free(ds);
        return CLNN_ERR_OUT_OF_MEMORY;
    }
    *out = ds;
    return CLNN_OK;
}

static char **copy_names(char *const *names, size_t count, clnn_status *st)
{
    if (!names || *st != CLNN_OK)
        return NULL;
    char **copy = clnn__calloc(count ? count : 1, sizeof *copy);
    for (size_t i = 0; copy && i < count; i++) {
        if (!(copy[i] = clnn__strdup(names[i]))) {
            for (size_t k = 0; k < i; k++)
                free(copy[k]);
            free(copy);
            copy = NULL;
        }
    }
    if (!copy)
        *st = CLNN_ERR_OUT_OF_MEMORY;
    return copy;
}

static float *copy_floats(const float *v, size_t count, clnn_status *st)
{
    if (!v || *st != CLNN_OK)
        return NULL;
    float *copy = clnn__malloc(count * sizeof *copy);
    if (copy)
        memcpy(copy, v, count * sizeof *copy);
    else
        *st = CLNN_ERR_OUT_OF_MEMORY;
    return copy;
}

clnn_status clnn__dataset_copy_description(clnn_dataset *ds, const clnn_dataset *like)
{
    clnn_status st = CLNN_OK;
    ds->feature_names = copy_names(like->feature_names, like->features, &st);
    ds->class_names = copy_names(like->class_names, like->classes, &st);
    ds->classes = like->classes;
    if (st == CLNN_OK && like->label_name && !(ds->label_name = clnn__strdup(like->label_name)))
        st = CLNN_ERR_OUT_OF_MEMORY;
    ds->mean = copy_floats(like->mean, like->features, &st);
    ds->std = copy_floats(like->std, like->features, &st);
    return st;
}

void clnn__dataset_apply_standardization(clnn_dataset *ds)
{
    for (size_t r = 0; r < ds->count; r++) {
        float *row = ds->images + r * ds->features;
        for (size_t c = 0; c < ds->features; c++)
            row[c] = (row[c] - ds->mean[c]) / ds->std[c];
    }
}

/* The file's first bytes, to tell its format. */
static clnn_status sniff(const char *path, uint8_t *magic, size_t *len)
{
    FILE *f = clnn__fopen(path, "rb");
    if (!f)
        return clnn__fail(CLNN_ERR_IO, "clnn_dataset_load: cannot open '%s': %s; check the path",
                          path, strerror(errno));
    *len = fread(magic, 1, 6, f);
    fclose(f);
    return CLNN_OK;
}

static clnn_status load_npy(const char *path, const clnn_dataset_options *o, bool npz,
                            clnn_dataset **out)
{
    uint8_t *bytes = NULL, *labels = NULL;
    size_t len = 0, labels_len = 0;
    clnn_status st = clnn__read_file(path, &bytes, &len);
    if (st == CLNN_OK && o->labels_path)
        st = clnn__read_file(o->labels_path, &labels, &labels_len);
    size_t n = strlen(path) + (o->labels_path ? strlen(o->labels_path) : 0) + 3;
    char *what = st == CLNN_OK ? clnn__malloc(n) : NULL, *label_what = what ? clnn__malloc(n) : NULL;
    if (st == CLNN_OK && !label_what)
        st = CLNN_ERR_OUT_OF_MEMORY;
    if (st == CLNN_OK) {
        snprintf(what, n, "'%s'", path);
        snprintf(label_what, n, "'%s'", o->labels_path ? o->labels_path : "");
        st = npz ? clnn__dataset_read_npz(bytes, len, what, o, out)
                 : clnn__dataset_read_npy(bytes, len, what, labels, labels_len, label_what, o,
                                          out);
    }
    free(what);
    free(label_what);
    free(bytes);
    free(labels);
    return st;
}

clnn_status clnn_dataset_load(const char *path, const clnn_dataset_options *options,
                              clnn_dataset **out)
{
    clnn__clear_error();
    const char *fn = "clnn_dataset_load";
    if (!out)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    if (!path)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: path is NULL", fn);
    clnn_dataset_options o;
    clnn_dataset_options_init(&o);
    if (options) {
        clnn_status st = CLNN__STRUCT_IN(clnn_dataset_options, &o, options, fn);
        if (st != CLNN_OK)
            return st;
    }
    if (o.target != CLNN_TARGET_CLASSES && o.target != CLNN_TARGET_VALUES)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s: options.target is %d: use CLNN_TARGET_CLASSES (class labels) or "
                          "CLNN_TARGET_VALUES (float targets)",
                          fn, (int)o.target);
    uint8_t magic[6];
    size_t got = 0;
    clnn_status st = sniff(path, magic, &got);
    if (st != CLNN_OK)
        return st;
    /* 0x93 starts no UTF-8 text: a damaged .npy, for its reader to explain. */
    bool npy = got >= 1 && magic[0] == 0x93;
    bool npz = got >= 4 && memcmp(magic, "PK", 2) == 0 && magic[2] < 8 && magic[3] < 8;
    if (o.labels_path && !npy)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s: options.labels_path applies to .npy features, and '%s' is %s", fn,
                          path, npz ? "an .npz archive (its labels are its array y)"
                                    : "read as CSV (its labels are a column)");
    if (npy || npz)
        return load_npy(path, &o, npz, out);
    return clnn__dataset_read_csv(path, NULL, 0, NULL, &o, out);
}

clnn_status clnn_dataset_split(const clnn_dataset *ds, double fraction, uint64_t seed,
                               clnn_dataset **kept, clnn_dataset **held_out)
{
    clnn__clear_error();
    const char *fn = "clnn_dataset_split";
    if (!kept || !held_out)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                          kept ? "held_out" : "kept");
    *kept = *held_out = NULL;
    if (!ds)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: ds is NULL", fn);
    if (!(fraction > 0.0 && fraction < 1.0))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: fraction %g is not between 0 and 1", fn,
                          fraction);
    size_t held = (size_t)floor(fraction * (double)ds->count + 0.5);
    if (held == 0 || held >= ds->count)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s: a fraction of %g of %zu rows leaves %s empty; choose a fraction "
                          "that keeps rows on both sides",
                          fn, fraction, ds->count, held == 0 ? "held_out" : "kept");
    uint32_t *perm = clnn__malloc(ds->count * sizeof *perm);
    bool *out_set = clnn__calloc(ds->count, sizeof *out_set);
    clnn_dataset *parts[2] = {NULL, NULL};
    clnn_status st = perm && out_set ? clnn_permutation(seed, SPLIT_STREAM, ds->count, perm)
                                     : CLNN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; st == CLNN_OK && i < held; i++)
        out_set[perm[i]] = true;
    for (int p = 0; p < 2 && st == CLNN_OK; p++) {
        st = clnn__dataset_new(p ? held : ds->count - held, ds->features, ds->labels != NULL,
                               &parts[p]);
        if (st == CLNN_OK)
            st = clnn__dataset_copy_description(parts[p], ds);
        if (st == CLNN_OK && ds->targets) {
            const size_t rows = parts[p]->count, w = ds->target_width;
            parts[p]->targets = clnn__malloc(rows ? rows * w * sizeof(float) : 1);
            parts[p]->target_width = w;
            if (!parts[p]->targets)
                st = CLNN_ERR_OUT_OF_MEMORY;
        }
    }
    size_t n[2] = {0, 0};
    for (size_t r = 0; st == CLNN_OK && r < ds->count; r++) {
        clnn_dataset *to = parts[out_set[r]];
        size_t i = n[out_set[r]]++;
        memcpy(to->images + i * ds->features, ds->images + r * ds->features,
               ds->features * sizeof(float));
        if (ds->labels)
            to->labels[i] = ds->labels[r];
        if (ds->targets)
            memcpy(to->targets + i * ds->target_width, ds->targets + r * ds->target_width,
                   ds->target_width * sizeof(float));
    }
    free(perm);
    free(out_set);
    if (st != CLNN_OK) {
        clnn_dataset_free(parts[0]);
        clnn_dataset_free(parts[1]);
        return st;
    }
    *kept = parts[0];
    *held_out = parts[1];
    return CLNN_OK;
}

clnn_status clnn_dataset_standardize(clnn_dataset *ds, const clnn_dataset *like)
{
    clnn__clear_error();
    const char *fn = "clnn_dataset_standardize";
    if (!ds)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: ds is NULL", fn);
    if (ds->mean)
        return clnn__fail(CLNN_ERR_STATE, "%s: the dataset is standardised already", fn);
    if (like && !like->mean)
        return clnn__fail(CLNN_ERR_STATE,
                          "%s: like is not standardised, so it has no mean and standard "
                          "deviation to apply",
                          fn);
    if (like && like->features != ds->features)
        return clnn__fail(CLNN_ERR_SHAPE, "%s: like has %zu features, the dataset %zu", fn,
                          like->features, ds->features);
    if (!like && ds->count == 0)
        return clnn__fail(CLNN_ERR_STATE, "%s: the dataset has no rows to measure", fn);
    size_t d = ds->features;
    float *mean = clnn__malloc(d * sizeof *mean), *std = clnn__malloc(d * sizeof *std);
    double *sum = like ? NULL : clnn__calloc(d, sizeof *sum);
    double *sq = like ? NULL : clnn__calloc(d, sizeof *sq);
    if (!mean || !std || (!like && (!sum || !sq))) {
        free(mean);
        free(std);
        free(sum);
        free(sq);
        return CLNN_ERR_OUT_OF_MEMORY;
    }
    if (like) {
        memcpy(mean, like->mean, d * sizeof *mean);
        memcpy(std, like->std, d * sizeof *std);
    } else {
        /* Two passes (mean, then squared deviations) in double precision. */
        for (size_t r = 0; r < ds->count; r++)
            for (size_t c = 0; c < d; c++)
                sum[c] += ds->images[r * d + c];
        for (size_t c = 0; c < d; c++)
            sum[c] /= (double)ds->count;
        for (size_t r = 0; r < ds->count; r++)
            for (size_t c = 0; c < d; c++) {
                double dev = ds->images[r * d + c] - sum[c];
                sq[c] += dev * dev;
            }
        for (size_t c = 0; c < d; c++) {
            mean[c] = (float)sum[c];
            float s = (float)sqrt(sq[c] / (double)ds->count);
            std[c] = s > 0.0f && isfinite(s) ? s : 1.0f;
        }
    }
    free(sum);
    free(sq);
    ds->mean = mean;
    ds->std = std;
    clnn__dataset_apply_standardization(ds);
    return CLNN_OK;
}

clnn_status clnn_dataset_standardization(const clnn_dataset *ds, float *mean, float *std,
                                         size_t count)
{
    clnn__clear_error();
    const char *fn = "clnn_dataset_standardization";
    if (!ds || !mean || !std)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                          !ds ? "ds" : !mean ? "mean" : "std");
    if (!ds->mean)
        return clnn__fail(CLNN_ERR_STATE, "%s: the dataset is not standardised", fn);
    if (count != ds->features)
        return clnn__fail(CLNN_ERR_SHAPE, "%s: count is %zu, but the dataset has %zu features",
                          fn, count, ds->features);
    memcpy(mean, ds->mean, count * sizeof *mean);
    memcpy(std, ds->std, count * sizeof *std);
    return CLNN_OK;
}

const char *clnn_dataset_feature_name(const clnn_dataset *ds, size_t index)
{
    clnn__clear_error();
    return ds && ds->feature_names && index < ds->features ? ds->feature_names[index] : NULL;
}

const char *clnn_dataset_class_name(const clnn_dataset *ds, size_t index)
{
    clnn__clear_error();
    return ds && ds->class_names && index < ds->classes ? ds->class_names[index] : NULL;
}

const char *clnn_dataset_label_name(const clnn_dataset *ds)
{
    clnn__clear_error();
    return ds ? ds->label_name : NULL;
}
