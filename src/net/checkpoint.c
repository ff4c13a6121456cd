/* Training checkpoints: the model plus optimizer state and progress, so a
 * resumed run continues bit for bit as if it had never stopped. */
#include "io/safetensors.h"
#include "net/net_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META_MAX (16 + CLNN_CHECKPOINT_USER_MAX)

/* Optimizer buffers per trainable tensor: (buffer, name suffix). */
static size_t optimizer_buffers(const clnn_net *net, cl_mem bufs[2], const char *names[2])
{
    if (net->opt.kind == CLNN_OPTIMIZER_ADAM) {
        bufs[0] = net->opt_a, names[0] = "exp_avg";
        bufs[1] = net->opt_b, names[1] = "exp_avg_sq";
        return 2;
    }
    if (net->opt.momentum != 0) {
        bufs[0] = net->opt_a, names[0] = "momentum_buffer";
        return 1;
    }
    return 0;
}

/* The host values layer i keeps for a resumed run (its class's
 * checkpoint), into out; each is saved as an I64 scalar
 * "clnn.layers.PREFIX.SUFFIX" (value_name), which models never hold. */
static size_t layer_values(const clnn_net *net, clnn__host_value out[CLNN__LAYER_VALUES_MAX],
                           size_t i)
{
    clnn__layer *l = &net->layers[i].l;
    return l->cls->checkpoint ? l->cls->checkpoint(l, out) : 0;
}

static size_t count_layer_values(const clnn_net *net)
{
    size_t n = 0;
    clnn__host_value v[CLNN__LAYER_VALUES_MAX];
    for (size_t i = 0; i < net->nlayers; i++)
        n += layer_values(net, v, i);
    return n;
}

static void value_name(const clnn_net *net, size_t i, const clnn__host_value *v, char *buf,
                       size_t cap)
{
    snprintf(buf, cap, "clnn.layers.%s.%s", net->layers[i].prefix, v->suffix);
}

typedef struct meta_list {
    const char *keys[META_MAX];
    const char *values[META_MAX];
    char storage[META_MAX][48];
    size_t count;
} meta_list;

static void meta_num(meta_list *m, const char *key, double v)
{
    snprintf(m->storage[m->count], sizeof m->storage[0], "%.17g", v);
    m->keys[m->count] = key;
    m->values[m->count] = m->storage[m->count];
    m->count++;
}

clnn_status clnn_net_save_checkpoint(clnn_net *net, const char *path, const clnn_metadata *user,
                                     size_t user_count)
{
    clnn__clear_error();
    clnn_status st = clnn__net_check_ready(net, "clnn_net_save_checkpoint");
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_save_checkpoint");
    if (user_count > CLNN_CHECKPOINT_USER_MAX || (user_count && !user))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "clnn_net_save_checkpoint: at most %d user metadata entries",
                          CLNN_CHECKPOINT_USER_MAX);
    cl_mem bufs[2];
    const char *suffix[2];
    size_t nbuf = optimizer_buffers(net, bufs, suffix);
    size_t ntrain = 0;
    for (size_t i = 0; i < net->ntensors; i++)
        ntrain += net->tensors[i].storage == CLNN__IN_PARAMS;
    size_t nextra = ntrain * nbuf + 1 + count_layer_values(net);
    clnn__st_entry *extra = clnn__calloc(nextra, sizeof *extra);
    char **names = clnn__calloc(nextra, sizeof *names);
    void **data = clnn__calloc(nextra, sizeof *data);
    char **user_keys = clnn__calloc(user_count + 1, sizeof *user_keys);
    if (!extra || !names || !data || !user_keys)
        st = CLNN_ERR_OUT_OF_MEMORY;
    size_t e = 0;
    for (size_t i = 0; i < net->ntensors && st == CLNN_OK; i++) {
        const clnn__tensor *t = &net->tensors[i];
        if (t->storage != CLNN__IN_PARAMS)
            continue;
        for (size_t b = 0; b < nbuf && st == CLNN_OK; b++, e++) {
            size_t len = strlen(t->name) + strlen(suffix[b]) + 16;
            names[e] = clnn__malloc(len);
            data[e] = clnn__malloc(t->numel * sizeof(float));
            if (!names[e] || !data[e]) {
                st = CLNN_ERR_OUT_OF_MEMORY;
                break;
            }
            snprintf(names[e], len, "optimizer.%s.%s", t->name, suffix[b]);
            st = clnn__tensor_download(net, t, bufs[b], data[e]);
            extra[e] = (clnn__st_entry){.name = names[e], .dtype = CLNN__ST_F32, .ndim = t->ndim,
                                        .shape = {t->shape[0], t->shape[1]}, .data = data[e],
                                        .nbytes = t->numel * sizeof(float)};
        }
    }
    if (st == CLNN_OK) {
        data[e] = clnn__malloc(8 * sizeof(float));
        if (!data[e])
            st = CLNN_ERR_OUT_OF_MEMORY;
        else
            st = clnn__buffer_read(net->ctx, net->metrics, 0, CLNN__METRICS_SAVED * sizeof(float),
                                   data[e]);
        extra[e] = (clnn__st_entry){.name = "clnn.metrics", .dtype = CLNN__ST_F32, .ndim = 1,
                                    .shape = {8}, .data = data[e], .nbytes = 8 * sizeof(float)};
        e++;
    }
    for (size_t i = 0; i < net->nlayers && st == CLNN_OK; i++) {
        clnn__host_value v[CLNN__LAYER_VALUES_MAX];
        size_t n = layer_values(net, v, i);
        for (size_t j = 0; j < n && st == CLNN_OK; j++, e++) {
            names[e] = clnn__malloc(CLNN__NAME_MAX + 64);
            data[e] = clnn__malloc(sizeof(int64_t));
            if (!names[e] || !data[e]) {
                st = CLNN_ERR_OUT_OF_MEMORY;
                break;
            }
            value_name(net, i, &v[j], names[e], CLNN__NAME_MAX + 64);
            memcpy(data[e], v[j].value, sizeof(int64_t));
            extra[e] = (clnn__st_entry){.name = names[e], .dtype = CLNN__ST_I64, .ndim = 0,
                                        .data = data[e], .nbytes = sizeof(int64_t)};
        }
    }
    meta_list m = {.count = 0};
    if (st == CLNN_OK) {
        const clnn_optimizer_options *o = &net->opt;
        m.keys[m.count] = "clnn.checkpoint", m.values[m.count++] = "1";
        m.keys[m.count] = "clnn.optimizer",
        m.values[m.count++] = o->kind == CLNN_OPTIMIZER_ADAM ? "adam" : "sgd";
        meta_num(&m, "clnn.optimizer.lr", o->lr);
        meta_num(&m, "clnn.optimizer.weight_decay", o->weight_decay);
        meta_num(&m, "clnn.optimizer.momentum", o->momentum);
        meta_num(&m, "clnn.optimizer.dampening", o->dampening);
        meta_num(&m, "clnn.optimizer.nesterov", o->nesterov);
        meta_num(&m, "clnn.optimizer.beta1", o->beta1);
        meta_num(&m, "clnn.optimizer.beta2", o->beta2);
        meta_num(&m, "clnn.optimizer.eps", o->eps);
        meta_num(&m, "clnn.optimizer.steps", (double)net->opt_steps);
        for (size_t i = 0; i < user_count && st == CLNN_OK; i++) {
            if (!user[i].key || !user[i].value) {
                st = clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "user metadata entry %zu is NULL", i);
                break;
            }
            size_t len = strlen(user[i].key) + 6;
            user_keys[i] = clnn__malloc(len);
            if (!user_keys[i]) {
                st = CLNN_ERR_OUT_OF_MEMORY;
                break;
            }
            snprintf(user_keys[i], len, "user.%s", user[i].key);
            m.keys[m.count] = user_keys[i];
            m.values[m.count++] = user[i].value;
        }
    }
    const clnn__sink to = {path, NULL, NULL};
    if (st == CLNN_OK && !path)
        st = clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_net_save_checkpoint: path is NULL");
    if (st == CLNN_OK)
        st = clnn__net_write(net, "clnn_net_save_checkpoint", &to, extra, e, m.keys, m.values,
                             m.count);
    for (size_t i = 0; i < nextra && names; i++)
        free(names[i]);
    for (size_t i = 0; i < nextra && data; i++)
        free(data[i]);
    for (size_t i = 0; i < user_count && user_keys; i++)
        free(user_keys[i]);
    free(extra);
    free(names);
    free(data);
    free(user_keys);
    return st;
}

static clnn_status meta_double(const clnn__st_file *f, const char *key, const char *path,
                               double *out)
{
    const char *v = clnn__st_meta(f, key);
    char *end;
    if (!v)
        return clnn__fail(CLNN_ERR_BAD_FILE, "checkpoint %s lacks metadata '%s'", path, key);
    errno = 0;
    *out = strtod(v, &end);
    if (end == v || *end || errno)
        return clnn__fail(CLNN_ERR_BAD_FILE, "checkpoint %s: metadata %s='%s' is not a number",
                          path, key, v);
    return CLNN_OK;
}

static clnn_status read_options(const clnn__st_file *f, const char *path,
                                clnn_optimizer_options *o, double *steps)
{
    const char *kind = clnn__st_meta(f, "clnn.optimizer");
    if (!clnn__st_meta(f, "clnn.checkpoint") || !kind)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "clnn_net_load_checkpoint: %s is a model, not a training checkpoint: it "
                          "holds no optimizer state (clnn_net_load_weights starts from its "
                          "weights)",
                          path);
    if (strcmp(kind, "sgd") != 0 && strcmp(kind, "adam") != 0)
        return clnn__fail(CLNN_ERR_BAD_FILE, "checkpoint %s: unknown optimizer '%s'", path, kind);
    clnn_optimizer_options_init(o, strcmp(kind, "adam") == 0 ? CLNN_OPTIMIZER_ADAM
                                                             : CLNN_OPTIMIZER_SGD);
    double nesterov = 0;
    clnn_status st = meta_double(f, "clnn.optimizer.lr", path, &o->lr);
    if (st == CLNN_OK)
        st = meta_double(f, "clnn.optimizer.weight_decay", path, &o->weight_decay);
    if (st == CLNN_OK)
        st = meta_double(f, "clnn.optimizer.momentum", path, &o->momentum);
    if (st == CLNN_OK)
        st = meta_double(f, "clnn.optimizer.dampening", path, &o->dampening);
    if (st == CLNN_OK)
        st = meta_double(f, "clnn.optimizer.nesterov", path, &nesterov);
    if (st == CLNN_OK)
        st = meta_double(f, "clnn.optimizer.beta1", path, &o->beta1);
    if (st == CLNN_OK)
        st = meta_double(f, "clnn.optimizer.beta2", path, &o->beta2);
    if (st == CLNN_OK)
        st = meta_double(f, "clnn.optimizer.eps", path, &o->eps);
    if (st == CLNN_OK)
        st = meta_double(f, "clnn.optimizer.steps", path, steps);
    if (st == CLNN_OK && !(*steps >= 0 && *steps < 9.0e15))
        st = clnn__fail(CLNN_ERR_BAD_FILE, "checkpoint %s: invalid step count", path);
    o->nesterov = nesterov != 0;
    return st;
}

/* Every optimizer tensor the settings call for, with the parameter's shape. */
static clnn_status check_optimizer_tensors(clnn_net *net, const clnn__st_file *f,
                                           const char *path, size_t nbuf,
                                           const char *const *suffix)
{
    char name[256];
    for (size_t i = 0; i < net->ntensors; i++) {
        const clnn__tensor *t = &net->tensors[i];
        if (t->storage != CLNN__IN_PARAMS)
            continue;
        for (size_t b = 0; b < nbuf; b++) {
            snprintf(name, sizeof name, "optimizer.%s.%s", t->name, suffix[b]);
            const clnn__st_tensor *ft = clnn__st_find(f, name);
            if (!ft || ft->dtype != CLNN__ST_F32 || ft->numel != t->numel)
                return clnn__fail(CLNN_ERR_BAD_FILE,
                                  "checkpoint %s: optimizer tensor '%s' is missing or has the "
                                  "wrong type or size",
                                  path, name);
        }
    }
    const clnn__st_tensor *m = clnn__st_find(f, "clnn.metrics");
    if (!m || m->dtype != CLNN__ST_F32 || m->numel != CLNN__METRICS_SAVED)
        return clnn__fail(CLNN_ERR_BAD_FILE,
                          "checkpoint %s: tensor 'clnn.metrics' is missing "
                          "or malformed",
                          path);
    for (size_t i = 0; i < net->nlayers; i++) {
        clnn__host_value v[CLNN__LAYER_VALUES_MAX];
        size_t n = layer_values(net, v, i);
        for (size_t j = 0; j < n; j++) {
            value_name(net, i, &v[j], name, sizeof name);
            const clnn__st_tensor *t = clnn__st_find(f, name);
            if (!t || t->dtype != CLNN__ST_I64 || t->numel != 1)
                return clnn__fail(CLNN_ERR_BAD_FILE,
                                  "checkpoint %s: tensor '%s' (layer %zu's state, I64 []) is "
                                  "missing or malformed",
                                  path, name, i);
        }
    }
    return CLNN_OK;
}

clnn_status clnn_net_load_checkpoint(clnn_net *net, const char *path)
{
    clnn__clear_error();
    clnn_status st = clnn__net_check_ready(net, "clnn_net_load_checkpoint");
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_load_checkpoint");
    if (!path)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_net_load_checkpoint: path is NULL");
    clnn__st_file f;
    char source[4200];
    const clnn__source from = {path, NULL, 0};
    st = clnn__source_read(&from, "clnn_net_load_checkpoint", &f, source, sizeof source);
    if (st != CLNN_OK)
        return st;
    /* The metrics and the optimizer's state belong to the loss trained with. */
    clnn_loss_kind loss = CLNN_LOSS_CROSS_ENTROPY;
    st = clnn__loss_from_file(&f, source, &loss);
    if (st == CLNN_OK && loss != net->loss)
        st = clnn__fail(CLNN_ERR_STATE,
                        "clnn_net_load_checkpoint: %s was trained with the %s loss, but the "
                        "network's loss is %s: choose %s with clnn_net_set_loss first",
                        source, clnn_loss_name(loss), clnn_loss_name(net->loss),
                        clnn_loss_name(loss));
    if (st != CLNN_OK) {
        clnn__st_free(&f);
        return st;
    }
    clnn_optimizer_options o;
    double steps = 0;
    st = read_options(&f, source, &o, &steps);
    clnn_optimizer_options saved = net->opt;
    bool saved_set = net->opt_set;
    if (st == CLNN_OK)
        st = clnn_net_set_optimizer(net, &o); /* validates the settings; zeroes state */
    cl_mem bufs[2];
    const char *suffix[2];
    size_t nbuf = optimizer_buffers(net, bufs, suffix);
    if (st == CLNN_OK)
        st = check_optimizer_tensors(net, &f, source, nbuf, suffix);
    if (st == CLNN_OK)
        st = clnn__net_apply_file(net, &f, source);
    if (st != CLNN_OK) {
        net->opt = saved;
        net->opt_set = saved_set;
        clnn__st_free(&f);
        return st;
    }
    char name[256];
    for (size_t i = 0; i < net->ntensors && st == CLNN_OK; i++) {
        const clnn__tensor *t = &net->tensors[i];
        if (t->storage != CLNN__IN_PARAMS)
            continue;
        for (size_t b = 0; b < nbuf && st == CLNN_OK; b++) {
            snprintf(name, sizeof name, "optimizer.%s.%s", t->name, suffix[b]);
            const clnn__st_tensor *ft = clnn__st_find(&f, name);
            st = clnn__tensor_upload(net, t, bufs[b], ft->data);
        }
    }
    const clnn__st_tensor *m = clnn__st_find(&f, "clnn.metrics");
    if (st == CLNN_OK)
        st = clnn__buffer_write(net->ctx, net->metrics, 0, m->nbytes, m->data, true, NULL);
    for (size_t i = 0; i < net->nlayers && st == CLNN_OK; i++) {
        clnn__host_value v[CLNN__LAYER_VALUES_MAX];
        size_t n = layer_values(net, v, i);
        for (size_t j = 0; j < n; j++) {
            value_name(net, i, &v[j], name, sizeof name);
            memcpy(v[j].value, clnn__st_find(&f, name)->data, sizeof(int64_t));
        }
    }
    if (st == CLNN_OK)
        net->opt_steps = (uint64_t)steps;
    clnn__st_free(&f);
    return st;
}

clnn_status clnn_file_metadata(const char *path, const char *key, char *value, size_t cap)
{
    clnn__clear_error();
    if (!path || !key || !value || cap == 0)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_file_metadata: NULL argument");
    clnn__st_file f;
    clnn_status st = clnn__st_read(path, &f);
    if (st != CLNN_OK)
        return st;
    const char *v = clnn__st_meta(&f, key);
    if (!v)
        st = clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "'%s' has no metadata '%s'", path, key);
    else if (strlen(v) >= cap)
        st = clnn__fail(CLNN_ERR_SHAPE,
                        "clnn_file_metadata: value has room for %zu bytes (cap) but metadata '%s' "
                        "of '%s' needs %zu with its terminator",
                        cap, key, path, strlen(v) + 1);
    else
        strcpy(value, v);
    clnn__st_free(&f);
    return st;
}
