/* A dataset from a CSV file, in one streaming pass: each row's features go
 * straight into the growing feature array, its label into the label array
 * (as the number of its distinct text until the end, when the classes are
 * known), so memory beyond the data is one record and the distinct labels. */
#include "io/csv.h"
#include "io/dataset.h"
#include "io/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Distinct label texts, numbered by first appearance (open addressing). */
typedef struct label_table {
    char **names;
    size_t *lens;
    size_t count, cap;
    uint32_t *slots; /* index + 1; 0 is empty */
    size_t nslots;
} label_table;

static void table_free(label_table *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->names[i]);
    free(t->names);
    free(t->lens);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static size_t slot_of(const label_table *t, const char *s, size_t len)
{
    size_t mask = t->nslots - 1;
    size_t h = (size_t)clnn__fnv1a(CLNN__FNV1A_BASIS, s, len) & mask;
    while (t->slots[h]) {
        size_t i = t->slots[h] - 1;
        if (t->lens[i] == len && memcmp(t->names[i], s, len) == 0)
            return h;
        h = (h + 1) & mask;
    }
    return h;
}

static clnn_status rehash(label_table *t, size_t nslots)
{
    uint32_t *slots = clnn__calloc(nslots, sizeof *slots);
    if (!slots)
        return CLNN_ERR_OUT_OF_MEMORY;
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    for (size_t i = 0; i < t->count; i++)
        t->slots[slot_of(t, t->names[i], t->lens[i])] = (uint32_t)(i + 1);
    return CLNN_OK;
}

/* The number of s, adding it when new; SIZE_MAX when out of memory. */
static size_t table_find(const label_table *t, const char *s, size_t len)
{
    if (!t->nslots)
        return SIZE_MAX;
    uint32_t v = t->slots[slot_of(t, s, len)];
    return v ? v - 1 : SIZE_MAX;
}

static clnn_status table_add(label_table *t, const char *s, size_t len, size_t *id)
{
    if ((t->count + 1) * 10 > t->nslots * 7) {
        clnn_status st = rehash(t, t->nslots ? t->nslots * 2 : 64);
        if (st != CLNN_OK)
            return st;
    }
    size_t h = slot_of(t, s, len);
    if (t->slots[h]) {
        *id = t->slots[h] - 1;
        return CLNN_OK;
    }
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **names = realloc(t->names, cap * sizeof *names);
        if (names)
            t->names = names;
        size_t *lens = names ? realloc(t->lens, cap * sizeof *lens) : NULL;
        if (!lens)
            return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of host memory for class names");
        t->lens = lens;
        t->cap = cap;
    }
    char *copy = clnn__malloc(len + 1);
    if (!copy)
        return CLNN_ERR_OUT_OF_MEMORY;
    memcpy(copy, s, len);
    copy[len] = '\0';
    t->names[t->count] = copy;
    t->lens[t->count] = len;
    t->slots[h] = (uint32_t)(t->count + 1);
    *id = t->count++;
    return CLNN_OK;
}

typedef struct builder {
    const clnn_dataset_options *o;
    const clnn_dataset *like;
    clnn__csv *r;
    const char *what;
    size_t ncols;
    char **header;      /* ncols names, or NULL */
    size_t label_col;   /* SIZE_MAX: no labels */
    size_t *feature_of; /* per column: its feature, or SIZE_MAX for the labels */
    size_t features;
    float *x;
    int32_t *y;
    float *t;           /* float targets instead of y (CLNN_TARGET_VALUES) */
    bool values;        /* the label column holds float targets */
    size_t rows, cap;
    label_table labels; /* the file's distinct labels (like's names, with like) */
    size_t blank_line;  /* a blank line seen, not yet followed by a row; 0: none */
} builder;

static void builder_free(builder *b)
{
    for (size_t i = 0; b->header && i < b->ncols; i++)
        free(b->header[i]);
    free(b->header);
    free(b->feature_of);
    free(b->x);
    free(b->y);
    free(b->t);
    table_free(&b->labels);
}

/* "'f.csv' line 3, column 2 ('petal width')" */
static void where(const builder *b, const clnn__csv_field *f, char *buf, size_t cap)
{
    if (b->header && b->header[f->column - 1])
        snprintf(buf, cap, "%s line %zu, column %zu ('%.64s')", b->what, f->line, f->column,
                 b->header[f->column - 1]);
    else
        snprintf(buf, cap, "%s line %zu, column %zu", b->what, f->line, f->column);
}

static clnn_status check_text(const builder *b, const clnn__csv_field *f, const char *role)
{
    char at[512];
    if (f->len == 0 || memchr(f->text, '\0', f->len) || !clnn__utf8_valid(f->text, f->len)) {
        where(b, f, at, sizeof at);
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s: %s %s", at, role,
                          f->len == 0 ? "is empty" : "is not valid UTF-8 text (save the file as UTF-8)");
    }
    return CLNN_OK;
}

static clnn_status read_header(builder *b)
{
    b->ncols = clnn__csv_field_count(b->r);
    if (b->o->csv_no_header)
        return CLNN_OK;
    b->header = clnn__calloc(b->ncols, sizeof *b->header);
    if (!b->header)
        return CLNN_ERR_OUT_OF_MEMORY;
    for (size_t c = 0; c < b->ncols; c++) {
        const clnn__csv_field *f = clnn__csv_field_at(b->r, c);
        clnn_status st = check_text(b, f, "the column name");
        if (st != CLNN_OK)
            return st;
        if (!(b->header[c] = clnn__strdup(f->text)))
            return CLNN_ERR_OUT_OF_MEMORY;
        for (size_t k = 0; k < c; k++)
            if (strcmp(b->header[k], b->header[c]) == 0)
                return clnn__fail(CLNN_ERR_BAD_FILE,
                                  "%s line %zu: columns %zu and %zu are both named '%s'; give "
                                  "every column its own name",
                                  b->what, f->line, k + 1, c + 1, f->text);
    }
    return CLNN_OK;
}

static size_t column_named(const builder *b, const char *name)
{
    for (size_t c = 0; b->header && c < b->ncols; c++)
        if (strcmp(b->header[c], name) == 0)
            return c;
    return SIZE_MAX;
}

static bool all_digits(const char *s, size_t len)
{
    if (len == 0 || len > 9)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static void list_columns(const builder *b, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t c = 0; b->header && c < b->ncols && n + 1 < cap; c++)
        n += (size_t)snprintf(buf + n, cap - n, "%s'%s'", c ? ", " : "", b->header[c]);
}

static clnn_status find_label_column(builder *b)
{
    const clnn_dataset *like = b->like;
    const char *given = b->o->label_column;
    const char *want = given ? given : like && like->label_name ? like->label_name : NULL;
    b->label_col = SIZE_MAX;
    if (!want) {
        /* Unnamed features: one column more than like's holds the labels. */
        if (!(like && b->o->labels_optional && b->ncols == like->features))
            b->label_col = b->ncols - 1;
        return CLNN_OK;
    }
    b->label_col = column_named(b, want);
    if (b->label_col == SIZE_MAX && given && all_digits(given, strlen(given))) {
        size_t index = (size_t)strtoul(given, NULL, 10);
        if (index >= b->ncols)
            return clnn__fail(CLNN_ERR_BAD_FILE,
                              "%s: label_column %zu is beyond its %zu columns (numbered from 0)",
                              b->what, index, b->ncols);
        b->label_col = index;
    }
    if (b->label_col != SIZE_MAX || b->o->labels_optional)
        return CLNN_OK;
    if (!b->header)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: label_column '%s' is a name, but the file has no header row; give "
                          "the column's index from 0",
                          b->what, want);
    char cols[1024];
    list_columns(b, cols, sizeof cols);
    return clnn__fail(CLNN_ERR_BAD_FILE, "%s: no column is named '%s' (%s); its columns are %s",
                      b->what, want, given ? "label_column" : "the labels' column of like", cols);
}

static clnn_status map_features(builder *b)
{
    const clnn_dataset *like = b->like;
    b->feature_of = clnn__malloc(b->ncols * sizeof *b->feature_of);
    if (!b->feature_of)
        return CLNN_ERR_OUT_OF_MEMORY;
    for (size_t c = 0; c < b->ncols; c++)
        b->feature_of[c] = SIZE_MAX;
    if (like && like->feature_names && b->header) {
        b->features = like->features;
        for (size_t j = 0; j < like->features; j++) {
            size_t c = column_named(b, like->feature_names[j]);
            if (c == SIZE_MAX || c == b->label_col)
                return clnn__fail(CLNN_ERR_BAD_FILE,
                                  "%s has no feature column '%s' (feature %zu of like); the "
                                  "columns must be those the data was described with",
                                  b->what, like->feature_names[j], j);
            b->feature_of[c] = j;
        }
        for (size_t c = 0; c < b->ncols; c++)
            if (b->feature_of[c] == SIZE_MAX && c != b->label_col)
                return clnn__fail(CLNN_ERR_BAD_FILE,
                                  "%s: column '%s' is neither one of like's %zu features nor "
                                  "its label column%s%s%s; remove it",
                                  b->what, b->header[c], like->features,
                                  like->label_name ? " ('" : "",
                                  like->label_name ? like->label_name : "",
                                  like->label_name ? "')" : "");
        return CLNN_OK;
    }
    b->features = 0;
    for (size_t c = 0; c < b->ncols; c++)
        if (c != b->label_col)
            b->feature_of[c] = b->features++;
    if (b->features == 0)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s has no feature columns: its only column holds the labels", b->what);
    if (like && b->features != like->features)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s has %zu feature columns%s, but like has %zu features", b->what,
                          b->features, b->label_col == SIZE_MAX ? " and no labels" : "",
                          like->features);
    return CLNN_OK;
}

static clnn_status grow(builder *b)
{
    size_t cap = b->cap ? b->cap * 2 : 1024;
    if (cap > SIZE_MAX / sizeof(float) / b->features || cap > INT32_MAX)
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "%s: too many rows for host memory", b->what);
    float *x = realloc(b->x, cap * b->features * sizeof *x);
    if (x)
        b->x = x;
    const bool labels = b->label_col != SIZE_MAX && !b->values;
    const bool targets = b->label_col != SIZE_MAX && b->values;
    int32_t *y = x && labels ? realloc(b->y, cap * sizeof *y) : b->y;
    if (labels && y)
        b->y = y;
    float *t = x && targets ? realloc(b->t, cap * sizeof *t) : b->t;
    if (targets && t)
        b->t = t;
    if (!x || (labels && !y) || (targets && !t))
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY,
                          "%s: out of host memory after %zu rows of %zu features", b->what,
                          b->rows, b->features);
    b->cap = cap;
    return CLNN_OK;
}

/* A number of the file: a feature, or with target a float target. */
static clnn_status number(const builder *b, const clnn__csv_field *f, bool target, float *out)
{
    const char *role = target ? "target" : "feature";
    double v = 0.0;
    clnn__number_status ns = clnn__parse_number(f->text, f->len, &v);
    float x = (float)v;
    if (ns == CLNN__NUMBER_OK && isfinite(x)) {
        *out = x;
        return CLNN_OK;
    }
    char at[512];
    where(b, f, at, sizeof at);
    if (ns == CLNN__NUMBER_EMPTY)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: the value is missing; every %s needs a number (fill in or "
                          "drop rows with missing values first)",
                          at, role);
    if (ns == CLNN__NUMBER_OK)
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s: %.64s is beyond the range of float32", at,
                          f->text);
    if (ns == CLNN__NUMBER_NONFINITE)
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s: '%.64s' is not a finite number; every %s must "
                          "be finite", at, f->text, role);
    return clnn__fail(CLNN_ERR_BAD_FILE, "%s: '%.64s' is not a number; %s",
                      at, f->text,
                      target ? "regression targets must be decimal numbers such as 5.1 or -2e-3 "
                               "(is it the right label column, or class labels for "
                               "classification?)"
                             : "features must be decimal numbers such as 5.1 or -2e-3 (is it a "
                               "text column, or the label column?)");
}

static clnn_status label(builder *b, const clnn__csv_field *f, int32_t *out)
{
    clnn_status st = check_text(b, f, "the label");
    if (st != CLNN_OK)
        return st;
    char at[512];
    const clnn_dataset *like = b->like;
    if (like && !like->class_names) {
        size_t v = all_digits(f->text, f->len) ? (size_t)strtoul(f->text, NULL, 10) : SIZE_MAX;
        if (v < like->classes) {
            *out = (int32_t)v;
            return CLNN_OK;
        }
        where(b, f, at, sizeof at);
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s: label '%.64s' is not a class number from 0 to %zu",
                          at, f->text, like->classes - 1);
    }
    size_t id;
    if (like) {
        id = table_find(&b->labels, f->text, f->len);
        if (id == SIZE_MAX) {
            where(b, f, at, sizeof at);
            return clnn__fail(CLNN_ERR_BAD_FILE,
                              "%s: class '%.64s' is not one of the %zu classes of like (%s%s%s%s)",
                              at, f->text, like->classes, like->class_names[0],
                              like->classes > 1 ? ", " : "",
                              like->classes > 1 ? like->class_names[1] : "",
                              like->classes > 2 ? ", ..." : "");
        }
    } else {
        if ((st = table_add(&b->labels, f->text, f->len, &id)) != CLNN_OK)
            return st;
        if (b->labels.count > CLNN__CLASSES_MAX) {
            where(b, f, at, sizeof at);
            return clnn__fail(CLNN_ERR_BAD_FILE,
                              "%s: the label column holds more than %zu distinct values; is it "
                              "the right column (label_column)? Regression targets are read "
                              "as floats with options.target CLNN_TARGET_VALUES (clnn train "
                              "--loss mse)",
                              at, CLNN__CLASSES_MAX);
        }
    }
    *out = (int32_t)id;
    return CLNN_OK;
}

static clnn_status read_row(builder *b)
{
    size_t n = clnn__csv_field_count(b->r);
    if (n != b->ncols)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s line %zu has %zu field%s, but the %s has %zu; every row needs a "
                          "value in every column",
                          b->what, clnn__csv_line(b->r), n, n == 1 ? "" : "s",
                          b->header ? "header" : "first row", b->ncols);
    if (b->rows == b->cap) {
        clnn_status st = grow(b);
        if (st != CLNN_OK)
            return st;
    }
    float *row = b->x + b->rows * b->features;
    for (size_t c = 0; c < n; c++) {
        const clnn__csv_field *f = clnn__csv_field_at(b->r, c);
        clnn_status st = c != b->label_col ? number(b, f, false, &row[b->feature_of[c]])
                         : b->values       ? number(b, f, true, &b->t[b->rows])
                                           : label(b, f, &b->y[b->rows]);
        if (st != CLNN_OK)
            return st;
    }
    b->rows++;
    return CLNN_OK;
}

/* A label text and its first-appearance number, sorted by text. */
typedef struct ranked {
    const char *name;
    size_t len, id;
} ranked;

static int by_text(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    int c = memcmp(a->name, b->name, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* Turn the labels' first-appearance numbers into classes: the numbers they
 * spell when all are whole numbers, else their rank in sorted order. */
static clnn_status settle_classes(builder *b, clnn_dataset *ds)
{
    label_table *t = &b->labels;
    size_t *map = clnn__malloc(t->count * sizeof *map);
    if (!map)
        return CLNN_ERR_OUT_OF_MEMORY;
    bool numbers = true;
    size_t classes = 0;
    for (size_t i = 0; i < t->count && numbers; i++) {
        numbers = all_digits(t->names[i], t->lens[i]);
        map[i] = numbers ? (size_t)strtoul(t->names[i], NULL, 10) : 0;
        classes = numbers && map[i] + 1 > classes ? map[i] + 1 : classes;
    }
    if (numbers && classes > CLNN__CLASSES_MAX) {
        free(map);
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: class number %zu is beyond the %zu classes supported; is the "
                          "label column (label_column) the right one?",
                          b->what, classes - 1, CLNN__CLASSES_MAX);
    }
    if (!numbers) {
        ranked *order = clnn__malloc(t->count * sizeof *order);
        ds->class_names = clnn__calloc(t->count, sizeof *ds->class_names);
        if (!order || !ds->class_names) {
            free(order);
            free(map);
            return CLNN_ERR_OUT_OF_MEMORY;
        }
        for (size_t i = 0; i < t->count; i++)
            order[i] = (ranked){t->names[i], t->lens[i], i};
        qsort(order, t->count, sizeof *order, by_text);
        for (size_t rank = 0; rank < t->count; rank++) {
            map[order[rank].id] = rank;
            ds->class_names[rank] = t->names[order[rank].id];
            t->names[order[rank].id] = NULL; /* moved */
        }
        free(order);
        classes = t->count;
    }
    for (size_t i = 0; i < b->rows; i++)
        ds->labels[i] = (int32_t)map[ds->labels[i]];
    ds->classes = classes;
    free(map);
    return CLNN_OK;
}

/* The builder's arrays, cut to size, become the dataset's. */
static clnn_status finish(builder *b, clnn_dataset **out)
{
    clnn_dataset *ds = clnn__calloc(1, sizeof *ds);
    if (!ds)
        return CLNN_ERR_OUT_OF_MEMORY;
    ds->count = b->rows;
    ds->features = b->features;
    float *x = realloc(b->x, b->rows * b->features * sizeof *x);
    ds->images = x ? x : b->x;
    b->x = NULL;
    if (b->label_col != SIZE_MAX && b->values) {
        float *t = realloc(b->t, b->rows * sizeof *t);
        ds->targets = t ? t : b->t;
        ds->target_width = 1;
        b->t = NULL;
    } else if (b->label_col != SIZE_MAX) {
        int32_t *y = realloc(b->y, b->rows * sizeof *y);
        ds->labels = y ? y : b->y;
        b->y = NULL;
    }
    clnn_status st = CLNN_OK;
    if (b->like) {
        st = clnn__dataset_copy_description(ds, b->like);
        if (st == CLNN_OK && b->like->mean)
            clnn__dataset_apply_standardization(ds);
    } else {
        if (b->header) {
            ds->feature_names = clnn__calloc(b->features, sizeof *ds->feature_names);
            if (!ds->feature_names)
                st = CLNN_ERR_OUT_OF_MEMORY;
            for (size_t c = 0; st == CLNN_OK && c < b->ncols; c++) {
                if (c == b->label_col) {
                    ds->label_name = b->header[c];
                } else {
                    ds->feature_names[b->feature_of[c]] = b->header[c];
                }
                b->header[c] = NULL; /* moved */
            }
        }
        if (st == CLNN_OK && ds->labels)
            st = settle_classes(b, ds);
    }
    if (st != CLNN_OK) {
        clnn_dataset_free(ds);
        return st;
    }
    *out = ds;
    return CLNN_OK;
}

/* With like's class names, labels are looked up in a table of them. */
static clnn_status like_classes(builder *b)
{
    const clnn_dataset *like = b->like;
    for (size_t i = 0; like && like->class_names && i < like->classes; i++) {
        size_t id;
        clnn_status st =
            table_add(&b->labels, like->class_names[i], strlen(like->class_names[i]), &id);
        if (st != CLNN_OK)
            return st;
    }
    return CLNN_OK;
}

static clnn_status read_all(builder *b)
{
    bool got = false;
    clnn_status st = clnn__csv_next(b->r, &got);
    if (st != CLNN_OK)
        return st;
    if (!got || clnn__csv_blank(b->r))
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s is empty%s", b->what,
                          got ? ": its first line is blank" : "");
    if ((st = read_header(b)) != CLNN_OK || (st = find_label_column(b)) != CLNN_OK ||
        (st = map_features(b)) != CLNN_OK || (!b->values && (st = like_classes(b)) != CLNN_OK))
        return st;
    if (b->o->csv_no_header && (st = read_row(b)) != CLNN_OK)
        return st;
    while ((st = clnn__csv_next(b->r, &got)) == CLNN_OK && got) {
        if (clnn__csv_blank(b->r)) {
            if (!b->blank_line)
                b->blank_line = clnn__csv_line(b->r);
            continue;
        }
        if (b->blank_line)
            return clnn__fail(CLNN_ERR_BAD_FILE,
                              "%s line %zu is blank, and rows follow it; remove the blank line",
                              b->what, b->blank_line);
        if ((st = read_row(b)) != CLNN_OK)
            return st;
    }
    if (st == CLNN_OK && b->rows == 0)
        st = clnn__fail(CLNN_ERR_BAD_FILE, "%s holds no rows of data, only its header", b->what);
    return st;
}

clnn_status clnn__dataset_read_csv(const char *path, const uint8_t *bytes, size_t len,
                                   const char *what, const clnn_dataset_options *o,
                                   clnn_dataset **out)
{
    builder b = {.o = o, .like = o->like, .values = o->target == CLNN_TARGET_VALUES};
    clnn_status st = path ? clnn__csv_open_file(path, &b.r)
                          : clnn__csv_open_memory(bytes, len, what, &b.r);
    if (st != CLNN_OK)
        return st;
    b.what = clnn__csv_what(b.r);
    st = read_all(&b);
    if (st == CLNN_OK)
        st = finish(&b, out);
    builder_free(&b);
    clnn__csv_close(b.r);
    return st;
}
