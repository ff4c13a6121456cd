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
            if (strcmp(net->layers[i].spec.name, spec->name) == 0)
                return clnn__fail(CLNN_ERR_SPEC, "layer name '%s' is used twice", spec->name);
    }
    if (net->nlayers == net->layers_cap) {
        size_t cap = net->layers_cap ? net->layers_cap * 2 : 8;
        clnn__layer *nl = realloc(net->layers, cap * sizeof *nl);
        if (!nl)
            return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of memory adding a layer");
        net->layers = nl;
        net->layers_cap = cap;
    }
    size_t in = net->nlayers ? net->layers[net->nlayers - 1].out : net->in_features;
    clnn__layer *l = &net->layers[net->nlayers];
    memset(l, 0, sizeof *l);
    l->spec = *spec;
    l->index = net->nlayers;
    l->in = in;
    l->out = spec->kind == CLNN__LAYER_DENSE ? spec->units : in;
    if (spec->name[0])
        snprintf(l->prefix, sizeof l->prefix, "%s", spec->name);
    else
        snprintf(l->prefix, sizeof l->prefix, "%zu", l->index);
    net->nlayers++;
    return CLNN_OK;
}

static clnn_status add_simple(clnn_net *net, clnn__layer_kind kind, size_t units, const char *name,
                              const char *fn)
{
    clnn__clear_error();
    clnn_status st = check_building(net, fn);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, fn);
    clnn__layer_spec spec = {.kind = kind, .units = units};
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
    return add_simple(net, CLNN__LAYER_DENSE, out_features, name, "clnn_net_add_dense");
}

clnn_status clnn_net_add_batchnorm1d(clnn_net *net, const char *name)
{
    return add_simple(net, CLNN__LAYER_BATCHNORM1D, 0, name, "clnn_net_add_batchnorm1d");
}

clnn_status clnn_net_add_relu(clnn_net *net, const char *name)
{
    return add_simple(net, CLNN__LAYER_RELU, 0, name, "clnn_net_add_relu");
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
    return net->nlayers ? net->layers[net->nlayers - 1].out : net->in_features;
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
    const clnn__layer *l = &net->layers[index];
    static const char *const kinds[] = {[CLNN__LAYER_DENSE] = "dense",
                                        [CLNN__LAYER_BATCHNORM1D] = "batchnorm1d",
                                        [CLNN__LAYER_RELU] = "relu"};
    const clnn_layer_info full = {.kind = kinds[l->spec.kind],
                                  .name = l->spec.name,
                                  .in_features = l->in,
                                  .out_features = l->out,
                                  .prefix = l->prefix};
    CLNN__STRUCT_OUT(clnn_layer_info, info, &full);
    return CLNN_OK;
}

size_t clnn_net_spec(const clnn_net *net, char *buf, size_t cap)
{
    size_t len = 0;
    char piece[CLNN__NAME_MAX + 32];
    for (size_t i = 0; net && i < net->nlayers; i++) {
        const clnn__layer_spec *s = &net->layers[i].spec;
        int n = snprintf(piece, sizeof piece, "%s%s%s%s", i ? "," : "", s->name,
                         s->name[0] ? "=" : "", clnn__layer_kind_name(s->kind));
        if (s->kind == CLNN__LAYER_DENSE)
            n += snprintf(piece + n, sizeof piece - (size_t)n, ":%zu", s->units);
        if (buf && len + 1 < cap)
            memcpy(buf + len, piece, CLNN__MIN((size_t)n, cap - 1 - len));
        len += (size_t)n;
    }
    if (buf && cap)
        buf[len < cap ? len : cap - 1] = '\0';
    return len + 1;
}

/* ------------------------------------------------------------ tensors */

static clnn_status add_tensor(clnn_net *net, const clnn__layer *l, const char *suffix,
                              clnn__storage storage, size_t ndim, size_t d0, size_t d1,
                              size_t *offset)
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
    snprintf(name, sizeof name, "%s.%s", l->prefix, suffix);
    clnn__tensor *t = &net->tensors[net->ntensors];
    memset(t, 0, sizeof *t);
    t->name = clnn__strdup(name);
    if (!t->name)
        return CLNN_ERR_OUT_OF_MEMORY;
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->numel = ndim == 0 ? 1 : ndim == 1 ? d0 : d0 * d1;
    t->storage = storage;
    t->dtype = storage == CLNN__ON_HOST ? CLNN_DTYPE_I64 : CLNN_DTYPE_F32;
    /* Offsets aligned to 16 floats (64 bytes) so kernels may use vector loads. */
    size_t *total = storage == CLNN__IN_PARAMS ? &net->nparams : &net->nstats;
    if (storage != CLNN__ON_HOST) {
        t->offset = (*total + 15) / 16 * 16;
        *total = t->offset + t->numel;
        *offset = t->offset;
    }
    net->ntensors++;
    return CLNN_OK;
}

static clnn_status declare_tensors(clnn_net *net)
{
    clnn_status st = CLNN_OK;
    for (size_t i = 0; i < net->nlayers && st == CLNN_OK; i++) {
        clnn__layer *l = &net->layers[i];
        size_t unused;
        switch (l->spec.kind) {
        case CLNN__LAYER_DENSE:
            st = add_tensor(net, l, "weight", CLNN__IN_PARAMS, 2, l->out, l->in, &l->weight_off);
            if (st == CLNN_OK) {
                l->weight_t = clnn__spec_weight_transposed(&l->spec, l->index);
                net->tensors[net->ntensors - 1].transposed = l->weight_t;
                st = add_tensor(net, l, "bias", CLNN__IN_PARAMS, 1, l->out, 0, &l->bias_off);
            }
            break;
        case CLNN__LAYER_BATCHNORM1D:
            st = add_tensor(net, l, "weight", CLNN__IN_PARAMS, 1, l->out, 0, &l->weight_off);
            if (st == CLNN_OK)
                st = add_tensor(net, l, "bias", CLNN__IN_PARAMS, 1, l->out, 0, &l->bias_off);
            if (st == CLNN_OK)
                st = add_tensor(net, l, "running_mean", CLNN__IN_STATS, 1, l->out, 0,
                                &l->rmean_off);
            if (st == CLNN_OK)
                st = add_tensor(net, l, "running_var", CLNN__IN_STATS, 1, l->out, 0,
                                &l->rvar_off);
            if (st == CLNN_OK) {
                st = add_tensor(net, l, "num_batches_tracked", CLNN__ON_HOST, 0, 0, 0, &unused);
                if (st == CLNN_OK)
                    net->tensors[net->ntensors - 1].counter = &l->num_batches_tracked;
            }
            break;
        case CLNN__LAYER_RELU:
            break;
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
        clnn__layer *l = &net->layers[i];
        if (l->spec.kind == CLNN__LAYER_DENSE) {
            /* kaiming_uniform_(a=√5) for the weight and the bias rule both
             * give U(−1/√fan_in, 1/√fan_in). */
            float bound = (float)(1.0 / sqrt((double)l->in));
            for (size_t j = 0; j < l->out * l->in; j++) {
                size_t at = l->weight_t ? j % l->in * l->out + j / l->in : j;
                params[l->weight_off + at] = (2.0f * clnn__rng_uniform(&rng) - 1.0f) * bound;
            }
            for (size_t j = 0; j < l->out; j++)
                params[l->bias_off + j] = (2.0f * clnn__rng_uniform(&rng) - 1.0f) * bound;
        } else if (l->spec.kind == CLNN__LAYER_BATCHNORM1D) {
            for (size_t j = 0; j < l->out; j++) {
                params[l->weight_off + j] = 1.0f;
                params[l->bias_off + j] = 0.0f;
                stats[l->rmean_off + j] = 0.0f;
                stats[l->rvar_off + j] = 1.0f;
            }
            l->num_batches_tracked = 0;
        }
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
 * mind either stride. The logits (the last dense layer and anything after
 * it) stay dense: the loss and the host read them. CLNN_ROW_PADDING=0 turns
 * padding off. */
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
    size_t last_dense = 0;
    for (size_t i = 0; i < net->nlayers; i++)
        if (net->layers[i].spec.kind == CLNN__LAYER_DENSE)
            last_dense = i;
    size_t ld = net->in_features; /* the input is the caller's rows, dense */
    net->max_ld = ld;
    for (size_t i = 0; i < net->nlayers; i++) {
        clnn__layer *l = &net->layers[i];
        l->ld_in = ld;
        l->ld = ld = row_stride(net, l->out, i >= last_dense);
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
    for (size_t i = 0; i < net->nlayers && st == CLNN_OK; i++) {
        clnn__layer *l = &net->layers[i];
        const char *kind = clnn__layer_kind_name(l->spec.kind);
        snprintf(l->scope_forward, sizeof l->scope_forward, "layer %zu %s%s%s forward", i, kind,
                 l->spec.name[0] ? " " : "", l->spec.name);
        snprintf(l->scope_backward, sizeof l->scope_backward, "layer %zu %s%s%s backward", i,
                 kind, l->spec.name[0] ? " " : "", l->spec.name);
        net->max_width = CLNN__MAX(net->max_width, l->out);
        if (l->spec.kind == CLNN__LAYER_BATCHNORM1D) {
            st = alloc_zeroed(net, l->out * sizeof(float), &l->save_mean);
            if (st == CLNN_OK)
                st = alloc_zeroed(net, l->out * sizeof(float), &l->save_invstd);
        }
    }
    net->max_width = CLNN__MAX(net->max_width, net->in_features);
    set_row_strides(net);
    net->outputs = clnn__calloc(net->nlayers, sizeof *net->outputs);
    if (st == CLNN_OK && !net->outputs)
        st = CLNN_ERR_OUT_OF_MEMORY;
    net->initialized = st == CLNN_OK;
    return st;
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
}

size_t clnn__labels_offset(const clnn_net *net, size_t rows)
{
    return rows * net->in_features;
}

/* Grow the per-batch buffers to hold `rows` rows (they never shrink). */
clnn_status clnn__net_reserve(clnn_net *net, size_t rows)
{
    if (rows <= net->batch_cap)
        return CLNN_OK;
    if (rows > INT_MAX / (net->max_ld + 1)) /* + 1: the labels after the rows */
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "batch of %zu rows is too large", rows);
    release_activations(net);
    size_t f = sizeof(float);
    /* int32 labels take a float's room each (clnn__labels_offset). */
    size_t input_bytes = rows * (net->in_features + 1) * f;
    clnn_status st = alloc_zeroed(net, input_bytes, &net->input);
    if (st == CLNN_OK)
        st = alloc_zeroed(net, rows * f, &net->row_loss);
    if (st == CLNN_OK)
        st = alloc_zeroed(net, rows * f, &net->row_correct);
    for (size_t i = 0; i < net->nlayers && st == CLNN_OK; i++)
        st = alloc_zeroed(net, rows * net->layers[i].ld * f, &net->outputs[i]);
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
    for (size_t i = 0; i < net->nlayers; i++) {
        clnn__buffer_release(&net->layers[i].save_mean);
        clnn__buffer_release(&net->layers[i].save_invstd);
        clnn__buffer_release(&net->layers[i].sync_sums);
        if (net->grad_read)
            clnn__event_release(&net->grad_read[i]);
    }
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
