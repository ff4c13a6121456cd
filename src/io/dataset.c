/* Datasets in host memory: loaded from IDX files here, from CSV and NumPy
 * files in dataset_file.c. */
#include "io/dataset.h"
#include "io/idx.h"

#include "base/platform.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static clnn_status build(const clnn__idx *images, const char *images_path, const clnn__idx *labels,
                         const char *labels_path, clnn_dataset **out)
{
    if (images->ndim != 3)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "'%s': images must be a 3-D IDX file (count x rows x columns) but it "
                          "has %zu dimension(s); is it a label file?",
                          images_path, images->ndim);
    if (labels->ndim != 1)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "'%s': labels must be a 1-D IDX file but it has %zu dimensions; is it "
                          "an image file?",
                          labels_path, labels->ndim);
    size_t n = images->dims[0];
    if (labels->dims[0] != n)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "'%s' holds %zu images but '%s' holds %zu labels; use the image and "
                          "label files of the same split",
                          images_path, n, labels_path, labels->dims[0]);
    if (n == 0)
        return clnn__fail(CLNN_ERR_BAD_FILE, "'%s' holds no images", images_path);
    size_t features = images->dims[1] * images->dims[2];
    if (features == 0)
        return clnn__fail(CLNN_ERR_BAD_FILE, "'%s': images of %zu x %zu pixels are empty",
                          images_path, images->dims[1], images->dims[2]);
    if (images->count > SIZE_MAX / sizeof(float))
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "'%s' is too large for host memory",
                          images_path);

    clnn_dataset *ds = clnn__calloc(1, sizeof *ds);
    if (!ds)
        return CLNN_ERR_OUT_OF_MEMORY;
    ds->images = clnn__malloc(images->count * sizeof(float));
    ds->labels = clnn__malloc(n * sizeof(int32_t));
    if (!ds->images || !ds->labels) {
        clnn_dataset_free(ds);
        return CLNN_ERR_OUT_OF_MEMORY;
    }
    ds->count = n;
    ds->features = features;
    /* Divide rather than multiply by 1/255 so the values equal
     * torchvision's ToTensor bit for bit. */
    for (size_t i = 0; i < images->count; i++)
        ds->images[i] = (float)images->data[i] / 255.0f;
    unsigned max_label = 0;
    for (size_t i = 0; i < n; i++) {
        ds->labels[i] = labels->data[i];
        max_label = CLNN__MAX(max_label, (unsigned)labels->data[i]);
    }
    ds->classes = (size_t)max_label + 1;
    *out = ds;
    return CLNN_OK;
}

clnn_status clnn_dataset_load_idx(const char *images_path, const char *labels_path,
                                  clnn_dataset **out)
{
    clnn__clear_error();
    if (!out)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_dataset_load_idx: out is NULL");
    *out = NULL;
    if (!images_path || !labels_path)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_dataset_load_idx: a path is NULL");
    clnn__idx images, labels;
    memset(&labels, 0, sizeof labels);
    clnn_status st = clnn__idx_read(images_path, &images);
    if (st == CLNN_OK)
        st = clnn__idx_read(labels_path, &labels);
    if (st == CLNN_OK)
        st = build(&images, images_path, &labels, labels_path, out);
    clnn__idx_free(&images);
    clnn__idx_free(&labels);
    return st;
}

static char *join(const char *dir, const char *name, const char *suffix)
{
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] != '/' && dir[dl - 1] != CLNN__PATH_SEP[0];
    size_t n = dl + (size_t)slash + strlen(name) + strlen(suffix) + 1;
    char *p = clnn__malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s%s", dir, slash ? CLNN__PATH_SEP : "", name, suffix);
    return p;
}

/* Pick dir/name or dir/name.gz, whichever exists (plain first). */
static clnn_status locate(const char *dir, const char *name, const char *what, char **path)
{
    char *plain = join(dir, name, "");
    char *gz = join(dir, name, ".gz");
    clnn_status st = CLNN_OK;
    if (!plain || !gz) {
        st = CLNN_ERR_OUT_OF_MEMORY;
    } else if (clnn__file_exists(plain)) {
        *path = plain;
        plain = NULL;
    } else if (clnn__file_exists(gz)) {
        *path = gz;
        gz = NULL;
    } else {
        st = clnn__fail(CLNN_ERR_IO,
                        "cannot find the %s: neither '%s' nor '%s' exists; install the Debian "
                        "package dataset-fashion-mnist or give the folder that holds them",
                        what, plain, gz);
    }
    free(plain);
    free(gz);
    return st;
}

clnn_status clnn_dataset_load_split(const char *dir, const char *split, clnn_dataset **out)
{
    clnn__clear_error();
    if (!out)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_dataset_load_split: out is NULL");
    *out = NULL;
    if (!dir || !split)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "clnn_dataset_load_split: dir and split are required (the usual dir "
                          "is " CLNN_DEFAULT_DATA_DIR ")");
    const char *prefix;
    if (strcmp(split, "train") == 0)
        prefix = "train";
    else if (strcmp(split, "test") == 0)
        prefix = "t10k";
    else
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "clnn_dataset_load_split: split '%s' is neither 'train' nor 'test'",
                          split);
    char images_name[64], labels_name[64], images_what[32], labels_what[32];
    snprintf(images_name, sizeof images_name, "%s-images-idx3-ubyte", prefix);
    snprintf(labels_name, sizeof labels_name, "%s-labels-idx1-ubyte", prefix);
    snprintf(images_what, sizeof images_what, "%s images", split);
    snprintf(labels_what, sizeof labels_what, "%s labels", split);

    char *images = NULL, *labels = NULL;
    clnn_status st = locate(dir, images_name, images_what, &images);
    if (st == CLNN_OK)
        st = locate(dir, labels_name, labels_what, &labels);
    if (st == CLNN_OK)
        st = clnn_dataset_load_idx(images, labels, out);
    free(images);
    free(labels);
    return st;
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; names && i < count; i++)
        free(names[i]);
    free(names);
}

void clnn_dataset_free(clnn_dataset *ds)
{
    if (!ds)
        return;
    free(ds->images);
    free(ds->labels);
    free(ds->targets);
    free_names(ds->feature_names, ds->features);
    free_names(ds->class_names, ds->classes);
    free(ds->label_name);
    free(ds->mean);
    free(ds->std);
    free(ds);
}

size_t clnn_dataset_count(const clnn_dataset *ds)
{
    clnn__clear_error();
    return ds ? ds->count : 0;
}

size_t clnn_dataset_features(const clnn_dataset *ds)
{
    clnn__clear_error();
    return ds ? ds->features : 0;
}

size_t clnn_dataset_classes(const clnn_dataset *ds)
{
    clnn__clear_error();
    return ds ? ds->classes : 0;
}

const float *clnn_dataset_images(const clnn_dataset *ds)
{
    clnn__clear_error();
    return ds ? ds->images : NULL;
}

const int32_t *clnn_dataset_labels(const clnn_dataset *ds)
{
    clnn__clear_error();
    return ds ? ds->labels : NULL;
}

const float *clnn_dataset_targets(const clnn_dataset *ds)
{
    clnn__clear_error();
    return ds ? ds->targets : NULL;
}

size_t clnn_dataset_target_width(const clnn_dataset *ds)
{
    clnn__clear_error();
    return ds && ds->targets ? ds->target_width : 0;
}

clnn_status clnn_dataset_normalize(clnn_dataset *ds, float mean, float std)
{
    clnn__clear_error();
    if (!ds)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_dataset_normalize: ds is NULL");
    if (!isfinite(mean))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "clnn_dataset_normalize: mean %g is not finite", (double)mean);
    if (!isfinite(std) || !(std > 0.0f))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "clnn_dataset_normalize: std %g must be positive and finite",
                          (double)std);
    /* (x - mean) / std, in this order, as torchvision's Normalize computes it. */
    size_t n = ds->count * ds->features;
    for (size_t i = 0; i < n; i++)
        ds->images[i] = (ds->images[i] - mean) / std;
    return CLNN_OK;
}
