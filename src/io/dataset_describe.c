/* A dataset's description as model files keep it: JSON arrays of feature
 * and class names, of means and standard deviations, so that PyTorch reads
 * them with json.loads(metadata["clnn.data.mean"]). */
#include "io/csv.h"
#include "io/dataset.h"
#include "io/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ["a","b"] with JSON escapes; two passes: measure, then write. */
static char *names_json(char *const *names, size_t count)
{
    size_t len = 2;
    for (size_t i = 0; i < count; i++)
        len += 3 + clnn__json_escape(names[i], strlen(names[i]), NULL);
    char *out = clnn__malloc(len + 1), *p = out;
    if (!out)
        return NULL;
    *p++ = '[';
    for (size_t i = 0; i < count; i++) {
        if (i)
            *p++ = ',';
        *p++ = '"';
        p += clnn__json_escape(names[i], strlen(names[i]), p);
        *p++ = '"';
    }
    *p++ = ']';
    *p = '\0';
    return out;
}

/* [0.5,-1.25] with 9 significant digits, which give every float back. */
static char *floats_json(const float *v, size_t count)
{
    size_t cap = 3 + count * 18;
    char *out = clnn__malloc(cap), *p = out;
    if (!out)
        return NULL;
    *p++ = '[';
    for (size_t i = 0; i < count; i++)
        p += snprintf(p, cap - (size_t)(p - out), "%s%.9g", i ? "," : "", (double)v[i]);
    snprintf(p, cap - (size_t)(p - out), "]");
    return out;
}

clnn_status clnn__dataset_description_json(const clnn_dataset *ds, char **feature_names,
                                           char **class_names, char **mean, char **std)
{
    *feature_names = ds->feature_names ? names_json(ds->feature_names, ds->features) : NULL;
    *class_names = ds->class_names ? names_json(ds->class_names, ds->classes) : NULL;
    *mean = ds->mean ? floats_json(ds->mean, ds->features) : NULL;
    *std = ds->std ? floats_json(ds->std, ds->features) : NULL;
    if ((ds->feature_names && !*feature_names) || (ds->class_names && !*class_names) ||
        (ds->mean && !*mean) || (ds->std && !*std)) {
        free(*feature_names);
        free(*class_names);
        free(*mean);
        free(*std);
        *feature_names = *class_names = *mean = *std = NULL;
        return CLNN_ERR_OUT_OF_MEMORY;
    }
    return CLNN_OK;
}

/* Parse text as a JSON array; the message names the key it came from. */
static clnn_status array(const char *text, const char *key, const char *source, clnn__json *out)
{
    clnn_status st = clnn__json_parse(text, strlen(text), out);
    if (st != CLNN_OK)
        return clnn__fail_context(CLNN_ERR_BAD_FILE, "%s: metadata %s is not valid JSON", source,
                                  key);
    if (out->kind != CLNN__JSON_ARRAY) {
        clnn__json_free(out);
        return clnn__fail(CLNN_ERR_BAD_FILE, "%s: metadata %s must be a JSON array, not %s",
                          source, key, clnn__json_kind_name(out->kind));
    }
    return CLNN_OK;
}

static clnn_status names(const char *text, const char *key, size_t want, const char *source,
                         char ***out, size_t *count)
{
    clnn__json a;
    clnn_status st = array(text, key, source, &a);
    if (st != CLNN_OK)
        return st;
    if ((want && a.count != want) || a.count == 0)
        st = clnn__fail(CLNN_ERR_BAD_FILE, "%s: metadata %s holds %zu names, not %zu", source,
                        key, a.count, want ? want : 1);
    char **v = st == CLNN_OK ? clnn__calloc(a.count, sizeof *v) : NULL;
    if (st == CLNN_OK && !v)
        st = CLNN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; st == CLNN_OK && i < a.count; i++) {
        const clnn__json *e = &a.items[i];
        if (e->kind != CLNN__JSON_STRING || e->len == 0 || strlen(e->str) != e->len)
            st = clnn__fail(CLNN_ERR_BAD_FILE,
                            "%s: metadata %s entry %zu must be a non-empty string without NUL", source,
                            key, i);
        else if (!(v[i] = clnn__strdup(e->str)))
            st = CLNN_ERR_OUT_OF_MEMORY;
    }
    if (st != CLNN_OK && v) {
        for (size_t i = 0; i < a.count; i++)
            free(v[i]);
        free(v);
        v = NULL;
    }
    *count = a.count;
    clnn__json_free(&a);
    *out = v;
    return st;
}

static clnn_status floats(const char *text, const char *key, size_t want, bool positive,
                          const char *source, float **out)
{
    clnn__json a;
    clnn_status st = array(text, key, source, &a);
    if (st != CLNN_OK)
        return st;
    if (a.count != want)
        st = clnn__fail(CLNN_ERR_BAD_FILE, "%s: metadata %s holds %zu numbers, not %zu", source,
                        key, a.count, want);
    float *v = st == CLNN_OK ? clnn__malloc(want * sizeof *v) : NULL;
    if (st == CLNN_OK && !v)
        st = CLNN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; st == CLNN_OK && i < want; i++) {
        const clnn__json *e = &a.items[i];
        double d = 0.0;
        bool ok = (e->kind == CLNN__JSON_UINT || e->kind == CLNN__JSON_NUMBER) &&
                  clnn__parse_number(e->str, e->len, &d) == CLNN__NUMBER_OK &&
                  isfinite((float)d) && (!positive || (float)d > 0.0f);
        if (!ok)
            st = clnn__fail(CLNN_ERR_BAD_FILE, "%s: metadata %s entry %zu must be a %s number",
                            source, key, i, positive ? "positive finite" : "finite");
        else
            v[i] = (float)d;
    }
    clnn__json_free(&a);
    if (st != CLNN_OK) {
        free(v);
        v = NULL;
    }
    *out = v;
    return st;
}

clnn_status clnn__dataset_describe(size_t features, size_t classes, const char *feature_names,
                                   const char *label_name, const char *class_names,
                                   const char *mean, const char *std, const char *source,
                                   clnn_dataset **out)
{
    clnn_dataset *ds = NULL;
    clnn_status st = clnn__dataset_new(0, features, false, &ds);
    if (st != CLNN_OK)
        return st;
    ds->classes = classes;
    size_t n = 0;
    if (feature_names)
        st = names(feature_names, "clnn.data.features", features, source, &ds->feature_names, &n);
    if (st == CLNN_OK && class_names) {
        st = names(class_names, "clnn.data.classes", 0, source, &ds->class_names, &n);
        if (st == CLNN_OK && n > classes)
            st = clnn__fail(CLNN_ERR_BAD_FILE,
                            "%s: metadata clnn.data.classes names %zu classes, but the network "
                            "has %zu outputs",
                            source, n, classes);
        ds->classes = n;
    }
    if (st == CLNN_OK && label_name && !(ds->label_name = clnn__strdup(label_name)))
        st = CLNN_ERR_OUT_OF_MEMORY;
    if (st == CLNN_OK && (!mean) != (!std))
        st = clnn__fail(CLNN_ERR_BAD_FILE,
                        "%s: metadata has clnn.data.%s without clnn.data.%s", source,
                        mean ? "mean" : "std", mean ? "std" : "mean");
    if (st == CLNN_OK && mean)
        st = floats(mean, "clnn.data.mean", features, false, source, &ds->mean);
    if (st == CLNN_OK && std)
        st = floats(std, "clnn.data.std", features, true, source, &ds->std);
    if (st != CLNN_OK) {
        clnn_dataset_free(ds);
        return st;
    }
    *out = ds;
    return CLNN_OK;
}
