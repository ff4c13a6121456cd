/* Model files: safetensors with PyTorch's state-dict names, so a clnn model
 * loads into torch.nn.Sequential (or a named module) and back. */
#include "io/safetensors.h"
#include "io/st_checksum.h"
#include "net/net_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Metadata every clnn file carries: format, spec, input width, loss
 * ("cross_entropy" or "mse"), writer version and checksum. */
#define NFIXED 6

static size_t tensor_bytes(const clnn__tensor *t)
{
    return t->numel * (t->dtype == CLNN_DTYPE_I64 ? 8 : 4);
}

/* Index of the first non-finite float in data, or SIZE_MAX. */
static size_t first_nonfinite(const uint8_t *data, size_t numel)
{
    for (size_t i = 0; i < numel; i++) {
        float v;
        memcpy(&v, data + i * sizeof v, sizeof v);
        if (!isfinite(v))
            return i;
    }
    return SIZE_MAX;
}

/* The metadata of a save: the library's fixed keys, those of the save
 * (a checkpoint's), then the net's own entries, none of which can repeat
 * one of those (clnn__meta_reserved). Arrays of NFIXED + nmeta + net->nmeta
 * entries; *total gets the count. */
static void gather_metadata(const clnn_net *net, const char *const *fixed_keys,
                            const char *const *fixed_values, const char *const *keys,
                            const char *const *values, size_t nmeta, const char **all_keys,
                            const char **all_values, size_t *total)
{
    size_t n = 0;
    for (size_t i = 0; i < NFIXED; i++, n++)
        all_keys[n] = fixed_keys[i], all_values[n] = fixed_values[i];
    for (size_t i = 0; i < nmeta; i++, n++)
        all_keys[n] = keys[i], all_values[n] = values[i];
    for (size_t i = 0; i < net->nmeta; i++, n++)
        all_keys[n] = net->meta_keys[i], all_values[n] = net->meta_values[i];
    *total = n;
}

clnn_status clnn__net_write(clnn_net *net, const char *fn, const clnn__sink *to,
                            const clnn__st_entry *extra, size_t nextra, const char *const *keys,
                            const char *const *values, size_t nmeta)
{
    if (to->path ? !*to->path : !to->data || !to->size)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: %s", fn,
                          to->path ? "path is empty" : "data or size is NULL");
    size_t total = net->ntensors + nextra, nall = NFIXED + nmeta + net->nmeta;
    clnn__st_entry *entries = clnn__calloc(total, sizeof *entries);
    void **data = clnn__calloc(net->ntensors, sizeof *data);
    const char **all_keys = clnn__calloc(nall, sizeof *all_keys);
    const char **all_values = clnn__calloc(nall, sizeof *all_values);
    size_t spec_len = clnn_net_spec(net, NULL, 0);
    char *spec = clnn__malloc(spec_len);
    clnn_status st = entries && data && all_keys && all_values && spec ? CLNN_OK
                                                                        : CLNN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < net->ntensors && st == CLNN_OK; i++) {
        const clnn__tensor *t = &net->tensors[i];
        size_t bytes = tensor_bytes(t);
        data[i] = clnn__malloc(bytes);
        if (!data[i]) {
            st = CLNN_ERR_OUT_OF_MEMORY;
            break;
        }
        st = clnn_net_tensor_read(net, i, data[i], bytes);
        if (st == CLNN_OK && t->dtype == CLNN_DTYPE_F32) {
            size_t bad = first_nonfinite(data[i], t->numel);
            if (bad != SIZE_MAX)
                st = clnn__fail(CLNN_ERR_NONFINITE,
                                "%s: tensor '%s' holds a non-finite value at element %zu, so "
                                "nothing was written: training diverged; lower the learning rate "
                                "(clnn_net_set_lr) and start again from finite weights",
                                fn, t->name, bad);
        }
        entries[i] = (clnn__st_entry){.name = t->name,
                                      .dtype = t->dtype == CLNN_DTYPE_I64 ? CLNN__ST_I64
                                                                          : CLNN__ST_F32,
                                      .ndim = t->ndim, .shape = {t->shape[0], t->shape[1]},
                                      .data = data[i], .nbytes = bytes};
    }
    if (st == CLNN_OK) {
        for (size_t i = 0; i < nextra; i++)
            entries[net->ntensors + i] = extra[i];
        char in_features[32];
        snprintf(in_features, sizeof in_features, "%zu", net->in_features);
        clnn_net_spec(net, spec, spec_len);
        const char *fixed_keys[] = {"format",           "clnn.spec", "clnn.in_features",
                                    "clnn.loss",        CLNN__ST_WRITER_KEY,
                                    CLNN__ST_CHECKSUM_KEY};
        const char *fixed_values[] = {"pt",
                                      spec,
                                      in_features,
                                      clnn_loss_name(net->loss),
                                      clnn_version(),
                                      CLNN__ST_CHECKSUM_PLACEHOLDER};
        gather_metadata(net, fixed_keys, fixed_values, keys, values, nmeta, all_keys, all_values,
                        &nall);
        if (to->path) {
            st = clnn__st_write(to->path, entries, total, all_keys, all_values, nall);
        } else {
            uint8_t *image = NULL;
            st = clnn__st_image(entries, total, all_keys, all_values, nall, &image, to->size);
            *to->data = st == CLNN_OK ? image : NULL;
        }
    }
    for (size_t i = 0; data && i < net->ntensors; i++)
        free(data[i]);
    free(data);
    free(entries);
    free(all_keys);
    free(all_values);
    free(spec);
    return st;
}

clnn_status clnn_net_save(clnn_net *net, const char *path)
{
    clnn__clear_error();
    const char *fn = "clnn_net_save";
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st == CLNN_OK && !path)
        st = clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: path is NULL", fn);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, fn);
    const clnn__sink to = {path, NULL, NULL};
    return st == CLNN_OK ? clnn__net_write(net, fn, &to, NULL, 0, NULL, NULL, 0) : st;
}

clnn_status clnn_net_save_to_memory(clnn_net *net, void **data, size_t *size)
{
    clnn__clear_error();
    const char *fn = "clnn_net_save_to_memory";
    if (data)
        *data = NULL;
    if (size)
        *size = 0;
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, fn);
    const clnn__sink to = {NULL, data, size};
    return st == CLNN_OK ? clnn__net_write(net, fn, &to, NULL, 0, NULL, NULL, 0) : st;
}

void clnn_free(void *data)
{
    free(data);
}

clnn_status clnn__source_read(const clnn__source *from, const char *fn, clnn__st_file *f,
                              char *source, size_t cap)
{
    memset(f, 0, sizeof *f);
    if (from->path) {
        snprintf(source, cap, "'%s'", from->path);
        return clnn__st_read(from->path, f);
    }
    snprintf(source, cap, "the data given to %s", fn);
    if (!from->data)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: data is NULL", fn);
    clnn_status st = clnn__st_parse(from->data, from->size, f);
    if (st == CLNN_ERR_BAD_FILE)
        return clnn__fail_context(st, "%s (%zu bytes) is not a valid safetensors file", source,
                                  from->size);
    return st;
}

bool clnn__is_model_tensor(const char *name)
{
    return strncmp(name, "optimizer.", 10) != 0 && strncmp(name, "clnn.", 5) != 0;
}

static void shape_text(size_t ndim, const size_t *shape, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (size_t i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%zu", i ? ", " : "", shape[i]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
}

/* Check every tensor before writing any, so a bad file changes nothing. */
static clnn_status check_file(const clnn_net *net, const clnn__st_file *f, const char *path)
{
    for (size_t i = 0; i < net->ntensors; i++) {
        const clnn__tensor *t = &net->tensors[i];
        const clnn__st_tensor *ft = clnn__st_find(f, t->name);
        char want[64], got[64];
        shape_text(t->ndim, t->shape, want, sizeof want);
        if (!ft)
            return clnn__fail(CLNN_ERR_SHAPE,
                              "%s has no tensor '%s' (%s %s) that the network needs; was it "
                              "saved from a different layer stack?",
                              path, t->name, t->dtype == CLNN_DTYPE_I64 ? "I64" : "F32", want);
        clnn__st_dtype dt = t->dtype == CLNN_DTYPE_I64 ? CLNN__ST_I64 : CLNN__ST_F32;
        if (ft->dtype != dt)
            return clnn__fail(CLNN_ERR_SHAPE, "%s: tensor '%s' is %s, expected %s", path, t->name,
                              clnn__st_dtype_name(ft->dtype), clnn__st_dtype_name(dt));
        shape_text(ft->ndim, ft->shape, got, sizeof got);
        bool same = ft->ndim == t->ndim;
        for (size_t d = 0; same && d < t->ndim; d++)
            same = ft->shape[d] == t->shape[d];
        if (!same)
            return clnn__fail(CLNN_ERR_SHAPE, "%s: tensor '%s' has shape %s, the network needs %s",
                              path, t->name, got, want);
        if (dt == CLNN__ST_F32) {
            size_t bad = first_nonfinite(ft->data, ft->numel);
            if (bad != SIZE_MAX)
                return clnn__fail(CLNN_ERR_NONFINITE,
                                  "%s: tensor '%s' holds a non-finite value at element %zu", path,
                                  t->name, bad);
        }
    }
    for (size_t i = 0; i < f->count; i++) {
        bool known = !clnn__is_model_tensor(f->tensors[i].name);
        for (size_t j = 0; j < net->ntensors && !known; j++)
            known = strcmp(f->tensors[i].name, net->tensors[j].name) == 0;
        if (!known)
            return clnn__fail(CLNN_ERR_SHAPE,
                              "%s has a tensor '%s' that the network does not have (loading is "
                              "strict, as load_state_dict(strict=True))",
                              path, f->tensors[i].name);
    }
    return CLNN_OK;
}

clnn_status clnn__net_apply_file(clnn_net *net, const clnn__st_file *f, const char *source)
{
    clnn_status st = check_file(net, f, source);
    for (size_t i = 0; i < net->ntensors && st == CLNN_OK; i++) {
        const clnn__st_tensor *ft = clnn__st_find(f, net->tensors[i].name);
        st = clnn_net_tensor_write(net, i, ft->data, ft->nbytes);
    }
    /* A network that had diverged trains and predicts again. */
    if (st == CLNN_OK)
        st = clnn__net_params_written(net);
    return st;
}

static clnn_status load_weights(clnn_net *net, const char *fn, const clnn__source *from)
{
    clnn__clear_error();
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, fn);
    clnn__st_file f;
    char source[4200];
    st = clnn__source_read(from, fn, &f, source, sizeof source);
    if (st != CLNN_OK)
        return st;
    st = clnn__net_apply_file(net, &f, source);
    clnn__st_free(&f);
    return st;
}

clnn_status clnn_net_load_weights(clnn_net *net, const char *path)
{
    if (!path) {
        clnn__clear_error();
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_net_load_weights: path is NULL");
    }
    const clnn__source from = {path, NULL, 0};
    return load_weights(net, "clnn_net_load_weights", &from);
}

clnn_status clnn_net_load_weights_from_memory(clnn_net *net, const void *data, size_t size)
{
    const clnn__source from = {NULL, data, size};
    return load_weights(net, "clnn_net_load_weights_from_memory", &from);
}

/* Input width from metadata, else from the first layer's weight. */
static clnn_status input_features(const clnn__st_file *f, const char *spec, const char *source,
                                  size_t *out)
{
    const char *meta = clnn__st_meta(f, "clnn.in_features");
    if (meta) {
        char *end;
        unsigned long long v = strtoull(meta, &end, 10);
        if (*meta < '0' || *meta > '9' || *end || v == 0 || v > CLNN__UNITS_MAX)
            return clnn__fail(CLNN_ERR_BAD_FILE, "%s: metadata clnn.in_features='%s' is invalid",
                              source, meta);
        *out = (size_t)v;
        return CLNN_OK;
    }
    clnn__layer_spec *layers;
    size_t n;
    clnn_status st = clnn__spec_parse(spec, &layers, &n);
    if (st != CLNN_OK)
        return st;
    /* The first layer's tensor that holds its input width, if it has one. */
    const clnn__layer_class *c = clnn__layer_classes[layers[0].kind];
    const char *suffix = "weight";
    size_t ndim = 0, dim = 0;
    const bool has = c->width_source && c->width_source(&layers[0], &suffix, &ndim, &dim);
    char name[CLNN__NAME_MAX + 32];
    snprintf(name, sizeof name, "%s.%s", layers[0].name[0] ? layers[0].name : "0", suffix);
    free(layers);
    const clnn__st_tensor *w = has ? clnn__st_find(f, name) : NULL;
    if (!w || w->ndim != ndim)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: cannot tell the input width: no clnn.in_features metadata and "
                          "no usable tensor '%s'",
                          source, name);
    *out = w->shape[dim];
    return CLNN_OK;
}

static clnn_status load(clnn_context *ctx, const char *fn, const clnn__source *from,
                        const char *spec, clnn_net **out)
{
    clnn__clear_error();
    if (!ctx || !out)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, ctx ? "out" : "ctx");
    *out = NULL;
    CLNN__ENTER(ctx, fn);
    clnn__st_file f;
    char source[4200];
    clnn_status st = clnn__source_read(from, fn, &f, source, sizeof source);
    if (st != CLNN_OK)
        return st;
    if (!spec)
        spec = clnn__st_meta(&f, "clnn.spec");
    if (!spec) {
        clnn__st_free(&f);
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "%s: %s has no clnn.spec metadata (it was not written by clnn): give "
                          "the layer stack as the spec argument",
                          fn, source);
    }
    size_t in = 0;
    clnn_net *net = NULL;
    clnn_loss_kind loss = CLNN_LOSS_CROSS_ENTROPY;
    st = clnn__loss_from_file(&f, source, &loss);
    if (st == CLNN_OK)
        st = input_features(&f, spec, source, &in);
    if (st == CLNN_OK)
        st = clnn_net_create(ctx, in, &net);
    if (st == CLNN_OK)
        st = clnn_net_add_layers(net, spec);
    if (st == CLNN_OK)
        st = clnn_net_init(net, 0);
    if (st == CLNN_OK)
        net->loss = loss;
    if (st == CLNN_OK)
        st = clnn__net_apply_file(net, &f, source);
    if (st == CLNN_OK)
        st = clnn__meta_load(net, (const char *const *)f.meta_keys,
                             (const char *const *)f.meta_values, f.meta_count);
    clnn__st_free(&f);
    if (st != CLNN_OK) {
        clnn_net_free(net);
        return st;
    }
    *out = net;
    return CLNN_OK;
}

clnn_status clnn_net_load(clnn_context *ctx, const char *path, const char *spec, clnn_net **out)
{
    if (!path) {
        clnn__clear_error();
        if (out)
            *out = NULL;
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_net_load: path is NULL");
    }
    const clnn__source from = {path, NULL, 0};
    return load(ctx, "clnn_net_load", &from, spec, out);
}

clnn_status clnn_net_load_from_memory(clnn_context *ctx, const void *data, size_t size,
                                      const char *spec, clnn_net **out)
{
    const clnn__source from = {NULL, data, size};
    return load(ctx, "clnn_net_load_from_memory", &from, spec, out);
}
