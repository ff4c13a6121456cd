/* Building a network: layers, state-dict tensors, device memory, init. */
#include "net/net_internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

clnn_status clnn_net_create(clnn_context *ctx, size_t in_features, clnn_net **out)
{
    clnn__clear_error();
    if (!ctx || !out)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_net_create: NULL argument");
    *out = NULL;
    if (in_features == 0 || in_features > CLNN__UNITS_MAX)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "clnn_net_create: in_features must be in 1..%d, got %zu",
                          CLNN__UNITS_MAX, in_features);
    CLNN__ENTER(ctx, "clnn_net_create");
    clnn_net *net = clnn__calloc(1, sizeof *net);
    if (!net)
        return CLNN_ERR_OUT_OF_MEMORY;
    net->ctx = ctx;
    clnn__context_hold(ctx);
    net->in_features = in_features;
    net->training = true;
    char buf[8];
    const char *no_fusion = clnn__debug_env("CLNN_NO_FUSION", buf, sizeof buf);
    net->fusion = !(no_fusion && *no_fusion == '1');
    clnn_optimizer_options_init(&net->opt, CLNN_OPTIMIZER_SGD);
    *out = net;
    return CLNN_OK;
}

static clnn_status check_building(clnn_net *net, const char *fn)
{
    if (!net)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: net is NULL", fn);
    if (net->initialized)
        return clnn__fail(CLNN_ERR_STATE, "%s: layers cannot be added after clnn_net_init", fn);
    return CLNN_OK;
}

static clnn_status add_layer(clnn_net *net, const clnn__layer_spec *spec)
{
    if (spec->name[0]) {
        if (!clnn__spec_valid_name(spec->name))
            return clnn__fail(CLNN_ERR_SPEC,
                              "'%s' is not a valid layer name (letters, digits and _, not "
                              "starting with a digit; 'optimizer' and 'clnn' are reserved)",
                              spec->name);
        for (size_t i = 0; i < net->nlayers; i++)
            if (strcmp(net->layers[i].l.spec.name, spec->name) == 0)
                return clnn__fail(CLNN_ERR_SPEC, "layer name '%s' is used twice", spec->name);
    }
    if (net->nlayers == net->layers_cap) {
        size_t cap = net->layers_cap ? net->layers_cap * 2 : 8;
        clnn__net_layer *nl = realloc(net->layers, cap * sizeof *nl);
        if (!nl)
            return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of memory adding a layer");
        net->layers = nl;
        net->layers_cap = cap;
    }
    size_t in = net->nlayers ? net->layers[net->nlayers - 1].l.out : net->in_features;
    clnn__net_layer *e = &net->layers[net->nlayers];
    memset(e, 0, sizeof *e);
    clnn__layer *l = &e->l;
    l->spec = *spec;
    l->cls = clnn__layer_classes[spec->kind];
    l->index = net->nlayers;
    l->in = in;
    l->out = l->cls->out_width ? l->cls->out_width(spec) : in;
    if (spec->name[0])
        snprintf(e->prefix, sizeof e->prefix, "%s", spec->name);
    else
        snprintf(e->prefix, sizeof e->prefix, "%zu", l->index);
    net->nlayers++;
    return CLNN_OK;
}

/* A layer of the kind the public call named (kind: its spec name), with
 * the kind's default options. */
static clnn_status add_simple(clnn_net *net, const char *kind, size_t units, const char *name,
                              const char *fn)
{
    clnn__clear_error();
    clnn_status st = check_building(net, fn);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, fn);
    clnn__layer_spec spec = {.units = units};
    if (!clnn__layer_kind_find(kind, strlen(kind), &spec.kind))
        return clnn__fail(CLNN_ERR_SPEC, "%s: no layer kind '%s' in this build", fn, kind);
    if (name) {
        if (strlen(name) >= CLNN__NAME_MAX)
            return clnn__fail(CLNN_ERR_SPEC, "%s: name longer than %d characters", fn,
                              CLNN__NAME_MAX - 1);
        strcpy(spec.name, name);
    }
    return add_layer(net, &spec);
}

clnn_status clnn_net_add_dense(clnn_net *net, size_t out_features, const char *name)
{
    if (out_features == 0 || out_features > CLNN__UNITS_MAX)
        return clnn__fail(CLNN_ERR_SPEC, "clnn_net_add_dense: out_features must be in 1..%d",
                          CLNN__UNITS_MAX);
    return add_simple(net, "dense", out_features, name, "clnn_net_add_dense");
}

clnn_status clnn_net_add_batchnorm1d(clnn_net *net, const char *name)
{
    return add_simple(net, "batchnorm1d", 0, name, "clnn_net_add_batchnorm1d");
}

clnn_status clnn_net_add_relu(clnn_net *net, const char *name)
{
    return add_simple(net, "relu", 0, name, "clnn_net_add_relu");
}

clnn_status clnn_net_add_layers(clnn_net *net, const char *spec)
{
    clnn__clear_error();
    clnn_status st = check_building(net, "clnn_net_add_layers");
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_add_layers");
    clnn__layer_spec *layers;
    size_t n;
    st = clnn__spec_parse(spec, &layers, &n);
    if (st != CLNN_OK)
        return st;
    size_t before = net->nlayers;
    for (size_t i = 0; i < n && st == CLNN_OK; i++)
        st = add_layer(net, &layers[i]);
    if (st != CLNN_OK)
        net->nlayers = before; /* all or nothing */
    free(layers);
    return st;
}

size_t clnn_net_in_features(const clnn_net *net)
{
    return net ? net->in_features : 0;
}

size_t clnn_net_out_features(const clnn_net *net)
{
    if (!net)
        return 0;
    return net->nlayers ? net->layers[net->nlayers - 1].l.out : net->in_features;
}

size_t clnn_net_layer_count(const clnn_net *net)
{
    return net ? net->nlayers : 0;
}

clnn_status clnn_net_layer_info(const clnn_net *net, size_t index, clnn_layer_info *info)
{
    clnn__clear_error();
    const char *fn = "clnn_net_layer_info";
    if (!net || !info)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, net ? "info" : "net");
    clnn_status st = CLNN__STRUCT_OUT_CHECK(clnn_layer_info, info, fn);
    if (st != CLNN_OK)
        return st;
    if (index >= net->nlayers)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: index %zu is out of range (%zu layers)",
                          fn, index, net->nlayers);
    const clnn__net_layer *e = &net->layers[index];
    const clnn_layer_info full = {.kind = e->l.cls->info_name,
                                  .name = e->l.spec.name,
                                  .in_features = e->l.in,
                                  .out_features = e->l.out,
                                  .prefix = e->prefix};
    CLNN__STRUCT_OUT(clnn_layer_info, info, &full);
    return CLNN_OK;
}

size_t clnn_net_spec(const clnn_net *net, char *buf, size_t cap)
{
    size_t len = 0;
    /* Room for a name, a kind and options such as
     * ":eps=0.001,momentum=none,affine=false,track_running_stats=false". */
    char piece[CLNN__NAME_MAX + 192];
    for (size_t i = 0; net && i < net->nlayers; i++) {
        const clnn__layer_spec *s = &net->layers[i].l.spec;
        const clnn__layer_class *c = net->layers[i].l.cls;
        int n = snprintf(piece, sizeof piece, "%s%s%s%s", i ? "," : "", s->name,
                         s->name[0] ? "=" : "", c->name);
        if (c->print)
            n += c->print(s, piece + n, sizeof piece - (size_t)n);
        n = (int)CLNN__MIN((size_t)n, sizeof piece - 1); /* never past what was written */
        if (buf && len + 1 < cap)
            memcpy(buf + len, piece, CLNN__MIN((size_t)n, cap - 1 - len));
        len += (size_t)n;
    }
    if (buf && cap)
        buf[len < cap ? len : cap - 1] = '\0';
    return len + 1;
}

/* ------------------------------------------------------------ tensors */

static clnn_status add_tensor(clnn_net *net, const clnn__net_layer *e,
                              const clnn__tensor_decl *d)
{
    if (net->ntensors == net->tensors_cap) {
        size_t cap = net->tensors_cap ? net->tensors_cap * 2 : 16;
        clnn__tensor *nt = realloc(net->tensors, cap * sizeof *nt);
        if (!nt)
            return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of memory adding a tensor");
        net->tensors = nt;
        net->tensors_cap = cap;
    }
    char name[CLNN__NAME_MAX + 64];
    snprintf(name, sizeof name, "%s.%s", e->prefix, d->suffix);
    clnn__tensor *t = &net->tensors[net->ntensors];
    memset(t, 0, sizeof *t);
    t->name = clnn__strdup(name);
    if (!t->name)
        return CLNN_ERR_OUT_OF_MEMORY;
    t->ndim = d->ndim;
    t->shape[0] = d->shape[0];
    t->shape[1] = d->shape[1];
    t->numel = d->ndim == 0 ? 1 : d->ndim == 1 ? d->shape[0] : d->shape[0] * d->shape[1];
    t->storage = d->storage;
    t->transposed = d->transposed;
    t->counter = d->counter;
    t->dtype = d->storage == CLNN__ON_HOST ? CLNN_DTYPE_I64 : CLNN_DTYPE_F32;
    /* Offsets aligned to 16 floats (64 bytes) so kernels may use vector loads. */
    size_t *total = d->storage == CLNN__IN_PARAMS ? &net->nparams : &net->nstats;
    if (d->storage != CLNN__ON_HOST) {
        t->offset = (*total + 15) / 16 * 16;
        *total = t->offset + t->numel;
        *d->offset = t->offset;
    }
    net->ntensors++;
    return CLNN_OK;
}

/* Every layer's state and tensors, and the range of parameters each spans. */
static clnn_status declare_tensors(clnn_net *net)
{
    clnn_status st = CLNN_OK;
    for (size_t i = 0; i < net->nlayers && st == CLNN_OK; i++) {
        clnn__net_layer *e = &net->layers[i];
        clnn__layer *l = &e->l;
        if (!l->state)
            l->state = clnn__calloc(1, CLNN__MAX(l->cls->state_size, 1));
        if (!l->state)
            return CLNN_ERR_OUT_OF_MEMORY;
        clnn__tensor_decl d[CLNN__LAYER_TENSORS_MAX];
        size_t n = l->cls->declare ? l->cls->declare(l, d) : 0;
        for (size_t j = 0; j < n && st == CLNN_OK; j++) {
            st = add_tensor(net, e, &d[j]);
            const clnn__tensor *t = &net->tensors[net->ntensors - 1];
            if (st != CLNN_OK || t->storage != CLNN__IN_PARAMS)
                continue;
            e->param_begin = e->has_params ? CLNN__MIN(e->param_begin, t->offset) : t->offset;
            e->param_end = CLNN__MAX(e->param_end, t->offset + t->numel);
            e->has_params = true;
        }
    }
    return st;
}

/* PyTorch's initial values, drawn in layer order from one seeded stream. */
static void initial_values(clnn_net *net, uint64_t seed, float *params, float *stats)
{
    clnn__rng rng;
    clnn__rng_seed(&rng, seed, 0);
    for (size_t i = 0; i < net->nlayers; i++) {
        clnn__layer *l = &net->layers[i].l;
        l->seed = seed;
        if (l->cls->init)
            l->cls->init(l, &rng, params, stats);
    }
}

static clnn_status alloc_zeroed(clnn_net *net, size_t bytes, cl_mem *out)
{
    clnn_status st = clnn__buffer_create(net->ctx, bytes, out);
    if (st == CLNN_OK)
        st = clnn__buffer_zero(net->ctx, *out, 0, bytes);
    return st;
}

/* Activation rows whose length is a multiple of 128 bytes (32 floats) are
 * padded by 64 bytes on CPU devices: the column-wise kernels (BatchNorm)
 * walk a strip of every row, and with power-of-two strides such a strip
 * falls into a few cache sets, so the second pass over it missed L1. On PoCL
 * the reference network's BatchNorm kernels took 10–20% less time per step
 * with rows of 272 and 144 floats than of 256 and 128; the GEMMs did not
 * mind either stride. The logits (from the last layer that sets its own
 * width, such as a dense layer, on) stay dense: the loss and the host read
 * them. CLNN_ROW_PADDING=0 turns padding off. */
static size_t row_stride(const clnn_net *net, size_t width, bool dense_only)
{
    char buf[8];
    const char *env = clnn__debug_env("CLNN_ROW_PADDING", buf, sizeof buf);
    if (dense_only || net->ctx->info.type != CLNN_DEVICE_CPU || (env && strcmp(env, "0") == 0) ||
        width < 64 || width % 32 != 0)
        return width;
    return width + 16;
}

static void set_row_strides(clnn_net *net)
{
    size_t logits = 0;
    for (size_t i = 0; i < net->nlayers; i++)
        if (net->layers[i].l.cls->out_width)
            logits = i;
    size_t ld = net->in_features; /* the input is the caller's rows, dense */
    net->max_ld = ld;
    for (size_t i = 0; i < net->nlayers; i++) {
        clnn__layer *l = &net->layers[i].l;
        l->ld_in = ld;
        /* A layer that keeps its input's width keeps its row stride too, so
         * that elementwise kernels (the activations) walk input and output
         * alike. That changes only layers ahead of the first that sets its
         * width, whose input is the caller's dense rows: every later one's
         * input already has the stride row_stride gives its width. */
        if (l->cls->out_width)
            ld = row_stride(net, l->out, i >= logits);
        l->ld = ld;
        net->max_ld = CLNN__MAX(net->max_ld, ld);
    }
}

clnn_status clnn_net_init(clnn_net *net, uint64_t seed)
{
    clnn__clear_error();
    clnn_status st = check_building(net, "clnn_net_init");
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_init");
    if (net->nlayers == 0)
        return clnn__fail(CLNN_ERR_SPEC, "the network has no layers: add some before init");
    st = declare_tensors(net);
    if (st != CLNN_OK)
        return st;
    if (net->nparams > INT_MAX || net->nstats > INT_MAX)
        return clnn__fail(CLNN_ERR_UNSUPPORTED, "network has more than 2^31 parameters");
    net->nparams_padded = (net->nparams + 15) / 16 * 16;
    float *params = clnn__calloc(net->nparams_padded + 1, sizeof *params);
    float *stats = clnn__calloc(net->nstats + 1, sizeof *stats);
    if (!params || !stats) {
        free(params);
        free(stats);
        return CLNN_ERR_OUT_OF_MEMORY;
    }
    initial_values(net, seed, params, stats);
    size_t pbytes = (net->nparams_padded + 1) * sizeof(float);
    size_t sbytes = (net->nstats + 1) * sizeof(float);
    st = clnn__buffer_create(net->ctx, pbytes, &net->params);
    if (st == CLNN_OK)
        st = clnn__buffer_write(net->ctx, net->params, 0, pbytes, params, true, NULL);
    if (st == CLNN_OK)
        st = clnn__buffer_create(net->ctx, sbytes, &net->stats);
    if (st == CLNN_OK)
        st = clnn__buffer_write(net->ctx, net->stats, 0, sbytes, stats, true, NULL);
    free(params);
    free(stats);
    if (st == CLNN_OK)
        st = alloc_zeroed(net, pbytes, &net->grads);
    if (st == CLNN_OK)
        st = alloc_zeroed(net, pbytes, &net->opt_a);
    if (st == CLNN_OK)
        st = alloc_zeroed(net, pbytes, &net->opt_b);
    if (st == CLNN_OK)
        st = alloc_zeroed(net, CLNN__METRICS_FLOATS * sizeof(float), &net->metrics);
    for (size_t i = 0; i < net->nlayers; i++) {
        clnn__net_layer *e = &net->layers[i];
        const char *kind = e->l.cls->name, *name = e->l.spec.name;
        snprintf(e->scope_forward, sizeof e->scope_forward, "layer %zu %s%s%s forward", i, kind,
                 name[0] ? " " : "", name);
        snprintf(e->scope_backward, sizeof e->scope_backward, "layer %zu %s%s%s backward", i,
                 kind, name[0] ? " " : "", name);
        net->max_width = CLNN__MAX(net->max_width, e->l.out);
    }
    if (st == CLNN_OK)
        st = clnn__net_layer_buffers(net, false);
    net->max_width = CLNN__MAX(net->max_width, net->in_features);
    set_row_strides(net);
    clnn__net_kernels_init(net);
    net->outputs = clnn__calloc(net->nlayers, sizeof *net->outputs);
    if (st == CLNN_OK && !net->outputs)
        st = CLNN_ERR_OUT_OF_MEMORY;
    net->initialized = st == CLNN_OK;
    return st;
}

clnn_status clnn__net_layer_buffers(clnn_net *net, bool synchronised)
{
    clnn_status st = CLNN_OK;
    for (size_t i = 0; i < net->nlayers && st == CLNN_OK; i++) {
        clnn__layer *l = &net->layers[i].l;
        clnn__buffer_decl d[CLNN__LAYER_BUFFERS_MAX];
        size_t n = l->cls->buffers ? l->cls->buffers(l, d) : 0;
        for (size_t j = 0; j < n && st == CLNN_OK; j++)
            if (d[j].synchronised == synchronised && !*d[j].buf)
                st = alloc_zeroed(net, d[j].bytes, d[j].buf);
    }
    return st;
}

/* The layers' buffers and states (clnn_net_free). */
static void release_layers(clnn_net *net)
{
    for (size_t i = 0; i < net->nlayers; i++) {
        clnn__layer *l = &net->layers[i].l;
        clnn__buffer_decl d[CLNN__LAYER_BUFFERS_MAX];
        size_t n = l->state && l->cls->buffers ? l->cls->buffers(l, d) : 0;
        for (size_t j = 0; j < n; j++)
            clnn__buffer_release(d[j].buf);
        free(l->state);
        l->state = NULL;
    }
}

static void release_activations(clnn_net *net)
{
    /* Profiled launches name these buffers (and, from clnn_net_free, the
     * parameters'), so they are forgotten first. */
    if (net->ctx)
        clnn__replay_forget(net->ctx);
    clnn__buffer_release(&net->input);
    clnn__buffer_release(&net->row_loss);
    clnn__buffer_release(&net->row_correct);
    for (size_t i = 0; net->outputs && i < net->nlayers; i++)
        clnn__buffer_release(&net->outputs[i]);
    clnn__buffer_release(&net->grad_bufs[0]);
    clnn__buffer_release(&net->grad_bufs[1]);
    for (size_t i = 0; i < CLNN__STAGING; i++) {
        clnn__staging *s = &net->staging[i];
        /* Teardown waits without touching the last-error message. */
        if (s->x_done)
            clWaitForEvents(1, &s->x_done);
        if (s->labels_done)
            clWaitForEvents(1, &s->labels_done);
        clnn__event_release(&s->x_done);
        clnn__event_release(&s->labels_done);
        free(s->x);
        memset(s, 0, sizeof *s);
    }
    net->batch_cap = 0;
    net->target_cap = 0;
}

size_t clnn__labels_offset(const clnn_net *net, size_t rows)
{
    return rows * net->in_features;
}

/* Grow the per-batch buffers to hold `rows` rows (they never shrink). */
clnn_status clnn__net_reserve(clnn_net *net, size_t rows)
{
    if (!net->planned)
        clnn__net_plan(net);
    /* The labels (one per row) or targets (a row of outputs) after the rows. */
    const size_t width = clnn__target_width(net);
    if (rows <= net->batch_cap && width <= net->target_cap)
        return CLNN_OK;
    rows = CLNN__MAX(rows, net->batch_cap);
    if (rows > INT_MAX / (net->max_ld + width))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "batch of %zu rows is too large", rows);
    release_activations(net);
    size_t f = sizeof(float);
    /* int32 labels take a float's room each (clnn__labels_offset). */
    size_t input_bytes = rows * (net->in_features + width) * f;
    clnn_status st = alloc_zeroed(net, input_bytes, &net->input);
    if (st == CLNN_OK)
        st = alloc_zeroed(net, rows * f, &net->row_loss);
    if (st == CLNN_OK)
        st = alloc_zeroed(net, rows * f, &net->row_correct);
    for (size_t i = 0; i < net->nlayers && st == CLNN_OK; i++)
        st = alloc_zeroed(net, rows * net->layers[i].l.ld * f, &net->outputs[i]);
    for (int i = 0; i < 2 && st == CLNN_OK; i++)
        st = alloc_zeroed(net, rows * net->max_ld * f, &net->grad_bufs[i]);
    for (size_t i = 0; i < CLNN__STAGING && st == CLNN_OK; i++) {
        net->staging[i].x = clnn__malloc(input_bytes);
        if (!net->staging[i].x)
            st = CLNN_ERR_OUT_OF_MEMORY;
    }
    if (st != CLNN_OK) {
        release_activations(net);
        return st;
    }
    net->batch_cap = rows;
    net->target_cap = width;
    net->forward_done = net->backward_done = false;
    return CLNN_OK;
}

void clnn_net_free(clnn_net *net)
{
    if (!net)
        return;
    if (net->ctx && net->ctx->queue)
        clFinish(net->ctx->queue);
    release_activations(net);
    clnn__data_release(net);
    free(net->outputs);
    release_layers(net);
    for (size_t i = 0; net->grad_read && i < net->nlayers; i++)
        clnn__event_release(&net->grad_read[i]);
    free(net->grad_read);
    free(net->host_grads);
    free(net->host_sums);
    clnn__buffer_release(&net->params);
    clnn__buffer_release(&net->grads);
    clnn__buffer_release(&net->opt_a);
    clnn__buffer_release(&net->opt_b);
    clnn__buffer_release(&net->stats);
    clnn__buffer_release(&net->metrics);
    for (size_t i = 0; i < net->ntensors; i++)
        free(net->tensors[i].name);
    free(net->tensors);
    free(net->layers);
    clnn__meta_free(net);
    clnn_context *ctx = net->ctx;
    free(net);
    clnn__context_drop(ctx); /* last: it may free the context */
}
