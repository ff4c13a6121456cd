/* The dataset behind clnn_dataset: rows of features and their labels in host
 * memory, with what describes them (names, classes, standardisation). */
#ifndef CLNN_IO_DATASET_H
#define CLNN_IO_DATASET_H

#include "internal.h"

/* Most classes a label column may hold: beyond it, the column is more
 * likely a measurement than a class (a regression target, an id). */
#define CLNN__CLASSES_MAX ((size_t)1 << 16)

struct clnn_dataset {
    size_t count;
    size_t features;
    size_t classes;
    float *images;        /* count × features */
    int32_t *labels;      /* count, or NULL: the file had none */
    float *targets;       /* count × target_width float targets (CLNN_TARGET_VALUES), or NULL */
    size_t target_width;  /* 0 without targets */
    char **feature_names; /* features names, or NULL: unnamed */
    char **class_names;   /* classes names, or NULL: the classes are numbers */
    char *label_name;     /* the label column's name, or NULL */
    float *mean, *std;    /* features each once standardised, else NULL */
};

/* A dataset of count × features rows (labels when with_labels), zeroed. */
clnn_status clnn__dataset_new(size_t count, size_t features, bool with_labels,
                              clnn_dataset **out);
/* Copy what describes like (names, classes, label name, standardisation)
 * into ds, which has as many features. */
clnn_status clnn__dataset_copy_description(clnn_dataset *ds, const clnn_dataset *like);
/* (x − mean) / std for every row, in float, as torchvision's Normalize. */
void clnn__dataset_apply_standardization(clnn_dataset *ds);

/* The readers behind clnn_dataset_load; what names the source in messages.
 * o has been checked and completed (o->struct_size is the full size). */
clnn_status clnn__dataset_read_csv(const char *path, const uint8_t *bytes, size_t len,
                                   const char *what, const clnn_dataset_options *o,
                                   clnn_dataset **out);
clnn_status clnn__dataset_read_npy(const uint8_t *bytes, size_t len, const char *what,
                                   const uint8_t *label_bytes, size_t label_len,
                                   const char *label_what, const clnn_dataset_options *o,
                                   clnn_dataset **out);
clnn_status clnn__dataset_read_npz(const uint8_t *bytes, size_t len, const char *what,
                                   const clnn_dataset_options *o, clnn_dataset **out);

/* A description (a dataset of no rows) from its parts as a model file keeps
 * them: JSON arrays of strings (feature and class names) and of numbers
 * (mean, std); any may be NULL. source names the file in messages. */
clnn_status clnn__dataset_describe(size_t features, size_t classes, const char *feature_names,
                                   const char *label_name, const char *class_names,
                                   const char *mean, const char *std, const char *source,
                                   clnn_dataset **out);
/* ds's description as those JSON texts (malloc'ed; NULL where ds has none). */
clnn_status clnn__dataset_description_json(const clnn_dataset *ds, char **feature_names,
                                           char **class_names, char **mean, char **std);

#endif
