/* The reference layer stack (see ref_net.h). */
#include "ref_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/leakyrelu.h"
#include "layers/batchnorm.h"
#include "reference.h"

static double *zeros(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof *p);
    if (!p)
        abort(); /* tests only: nothing sensible to do without memory */
    return p;
}

ref_net *ref_net_create(size_t in_features, const char *spec)
{
    clnn__layer_spec *specs;
    size_t n;
    if (clnn__spec_parse(spec, &specs, &n) != CLNN_OK)
        return NULL;
    /* BatchNorm's eps and momentum other than PyTorch's defaults are
     * checked against PyTorch's fixtures, not here. */
    for (size_t i = 0; i < n; i++) {
        clnn__bn_options o = clnn__bn_options_of(&specs[i]);
        if (specs[i].kind == CLNN__LAYER_BATCHNORM1D &&
            (o.eps != REF_BN_EPS || o.momentum != REF_BN_MOMENTUM || o.momentum_none)) {
            free(specs);
            return NULL;
        }
    }
    ref_net *net = calloc(1, sizeof *net);
    if (!net)
        abort();
    net->in = in_features;
    net->nlayers = n;
    net->layers = calloc(n, sizeof *net->layers);
    if (!net->layers)
        abort();
    size_t in = in_features;
    for (size_t i = 0; i < n; i++) {
        ref_layer *l = &net->layers[i];
        l->kind = specs[i].kind;
        if (specs[i].name[0])
            snprintf(l->name, sizeof l->name, "%s", specs[i].name);
        else
            snprintf(l->name, sizeof l->name, "%zu", i);
        l->in = in;
        l->out = l->kind == CLNN__LAYER_DENSE ? specs[i].units : in;
        l->affine = l->track = true;
        if (l->kind == CLNN__LAYER_BATCHNORM1D) {
            clnn__bn_options o = clnn__bn_options_of(&specs[i]);
            l->affine = o.affine;
            l->track = o.track_running_stats;
        }
        if (l->kind == CLNN__LAYER_DENSE) {
            l->w = zeros(l->out * l->in);
            l->dw = zeros(l->out * l->in);
        } else if (l->kind == CLNN__LAYER_BATCHNORM1D) {
            l->w = zeros(l->out);
            l->dw = zeros(l->out);
            l->rmean = zeros(l->out);
            l->rvar = zeros(l->out);
            l->save_mean = zeros(l->out);
            l->save_invstd = zeros(l->out);
            for (size_t c = 0; c < l->out; c++)
                l->w[c] = l->rvar[c] = 1.0;
        } else if (l->kind == CLNN__LAYER_LAYERNORM) {
            l->w = zeros(l->out);
            l->dw = zeros(l->out);
            for (size_t c = 0; c < l->out; c++)
                l->w[c] = 1.0;
        }
        /* Only a LeakyReLU's options are LeakyReLU's; other kinds lay theirs out
         * otherwise. */
        if (l->kind == CLNN__LAYER_LEAKYRELU)
            l->slope = clnn__leakyrelu_slope(&specs[i]);
        l->act = l->kind == CLNN__LAYER_LEAKYRELU ? REF_LEAKYRELU
                 : l->kind == CLNN__LAYER_GELU    ? REF_GELU
                 : l->kind == CLNN__LAYER_TANH    ? REF_TANH
                 : l->kind == CLNN__LAYER_SIGMOID ? REF_SIGMOID
                 : l->kind == CLNN__LAYER_SOFTPLUS ? REF_SOFTPLUS
                                                  : REF_SILU;
        if (l->kind == CLNN__LAYER_DROPOUT) { /* p as the spec prints it */
            char text[64];
            clnn__layer_classes[l->kind]->print(&specs[i], text, sizeof text);
            l->p = strtod(text + 1, NULL);
        }
        if (l->w) {
            l->b = zeros(l->out);
            l->db = zeros(l->out);
        }
        in = l->out;
    }
    free(specs);
    return net;
}

void ref_net_free(ref_net *net)
{
    if (!net)
        return;
    for (size_t i = 0; i < net->nlayers; i++) {
        ref_layer *l = &net->layers[i];
        free(l->w), free(l->b), free(l->dw), free(l->db), free(l->rmean), free(l->rvar);
        free(l->save_mean), free(l->save_invstd), free(l->y), free(l->factor);
    }
    free(net->layers);
    free(net->x);
    free(net->g[0]);
    free(net->g[1]);
    free(net);
}

size_t ref_net_out(const ref_net *net)
{
    return net->nlayers ? net->layers[net->nlayers - 1].out : net->in;
}

static size_t max_width(const ref_net *net)
{
    size_t w = net->in;
    for (size_t i = 0; i < net->nlayers; i++)
        w = net->layers[i].out > w ? net->layers[i].out : w;
    return w;
}

static void reserve(ref_net *net, size_t rows)
{
    if (rows <= net->rows_cap)
        return;
    free(net->x);
    net->x = zeros(rows * net->in);
    for (size_t i = 0; i < net->nlayers; i++) {
        free(net->layers[i].y);
        net->layers[i].y = zeros(rows * net->layers[i].out);
        free(net->layers[i].factor);
        net->layers[i].factor = zeros(rows * net->layers[i].out);
    }
    for (int i = 0; i < 2; i++) {
        free(net->g[i]);
        net->g[i] = zeros(rows * max_width(net));
    }
    net->rows_cap = rows;
}

void ref_net_forward(ref_net *net, const float *x, size_t rows, bool training)
{
    reserve(net, rows);
    net->rows = rows;
    net->training = training;
    for (size_t i = 0; i < rows * net->in; i++)
        net->x[i] = x[i];
    const double *in = net->x;
    for (size_t i = 0; i < net->nlayers; i++) {
        ref_layer *l = &net->layers[i];
        switch (l->kind) {
        case CLNN__LAYER_DENSE:
            ref_linear_forward(in, rows, l->in, l->out, l->w, l->b, l->y);
            break;
        case CLNN__LAYER_BATCHNORM1D:
            if (training || !l->track) {
                ref_bn_forward_train(in, rows, l->out, l->w, l->b, l->rmean, l->rvar,
                                     l->save_mean, l->save_invstd, l->y);
                l->num_batches_tracked += training && l->track;
            } else {
                ref_bn_forward_eval(in, rows, l->out, l->w, l->b, l->rmean, l->rvar,
                                    l->save_mean, l->save_invstd, l->y);
            }
            break;
        case CLNN__LAYER_RELU:
            ref_relu_forward(in, rows * l->out, l->y);
            break;
        case CLNN__LAYER_LEAKYRELU:
        case CLNN__LAYER_GELU:
        case CLNN__LAYER_TANH:
        case CLNN__LAYER_SIGMOID:
        case CLNN__LAYER_SILU:
        case CLNN__LAYER_SOFTPLUS:
            ref_activation_forward(l->act, l->slope, in, rows * l->out, l->y);
            break;
        case CLNN__LAYER_LAYERNORM:
            ref_layernorm_forward(in, rows, l->out, l->w, l->b, l->y);
            break;
        case CLNN__LAYER_DROPOUT:
            if (training)
                ref_dropout_factors(l->p, l->key, (uint64_t)l->step++, net->first_row, rows,
                                    l->out, l->factor);
            for (size_t j = 0; j < rows * l->out; j++) {
                if (!training)
                    l->factor[j] = 1.0;
                l->y[j] = in[j] * l->factor[j];
            }
            break;
        }
        in = l->y;
    }
}

double ref_net_backward(ref_net *net, const int32_t *labels)
{
    size_t rows = net->rows, last = net->nlayers - 1;
    int cur = 0;
    double loss = ref_softmax_xent(net->layers[last].y, labels, rows, net->layers[last].out,
                                   net->g[cur]);
    for (size_t i = net->nlayers; i-- > 0;) {
        ref_layer *l = &net->layers[i];
        const double *in = i ? net->layers[i - 1].y : net->x;
        double *dy = net->g[cur], *dx = i ? net->g[1 - cur] : NULL;
        switch (l->kind) {
        case CLNN__LAYER_DENSE:
            ref_linear_backward(in, dy, rows, l->in, l->out, l->w, l->dw, l->db, dx);
            break;
        case CLNN__LAYER_BATCHNORM1D:
            ref_bn_backward(in, dy, rows, l->out, l->w, l->save_mean, l->save_invstd,
                            net->training || !l->track, l->dw, l->db, dx);
            break;
        case CLNN__LAYER_RELU:
            if (dx)
                ref_relu_backward(l->y, dy, rows * l->out, dx);
            break;
        case CLNN__LAYER_LEAKYRELU:
        case CLNN__LAYER_GELU:
        case CLNN__LAYER_TANH:
        case CLNN__LAYER_SIGMOID:
        case CLNN__LAYER_SILU:
        case CLNN__LAYER_SOFTPLUS:
            if (dx)
                ref_activation_backward(l->act, l->slope, in, dy, rows * l->out, dx);
            break;
        case CLNN__LAYER_LAYERNORM:
            ref_layernorm_backward(in, dy, rows, l->out, l->w, l->dw, l->db, dx);
            break;
        case CLNN__LAYER_DROPOUT:
            for (size_t j = 0; dx && j < rows * l->out; j++)
                dx[j] = dy[j] * l->factor[j];
            break;
        }
        cur = 1 - cur;
    }
    return loss;
}

double ref_net_loss(ref_net *net, const float *x, size_t rows, const int32_t *labels,
                    bool training)
{
    ref_net_forward(net, x, rows, training);
    ref_layer *last = &net->layers[net->nlayers - 1];
    return ref_softmax_xent(last->y, labels, rows, last->out, NULL);
}

/* Whether a layer's weight and bias are trainable tensors. */
static bool has_params(const ref_layer *l)
{
    return l->w && l->affine;
}

size_t ref_net_param_count(const ref_net *net)
{
    size_t n = 0;
    for (size_t i = 0; i < net->nlayers; i++)
        n += has_params(&net->layers[i]) ? 2 : 0;
    return n;
}

ref_param ref_net_param(const ref_net *net, size_t index)
{
    ref_param p = {.numel = 0};
    for (size_t i = 0; i < net->nlayers; i++) {
        const ref_layer *l = &net->layers[i];
        if (!has_params(l))
            continue;
        if (index < 2) {
            bool weight = index == 0;
            snprintf(p.name, sizeof p.name, "%s.%s", l->name, weight ? "weight" : "bias");
            p.value = weight ? l->w : l->b;
            p.grad = weight ? l->dw : l->db;
            p.numel = weight && l->kind == CLNN__LAYER_DENSE ? l->out * l->in : l->out;
            return p;
        }
        index -= 2;
    }
    return p;
}

bool ref_net_find(const ref_net *net, const char *name, double **value, double **grad,
                  size_t *numel)
{
    for (size_t i = 0; i < ref_net_param_count(net); i++) {
        ref_param p = ref_net_param(net, i);
        if (strcmp(p.name, name) == 0) {
            *value = p.value, *grad = p.grad, *numel = p.numel;
            return true;
        }
    }
    for (size_t i = 0; i < net->nlayers; i++) {
        const ref_layer *l = &net->layers[i];
        if (l->kind != CLNN__LAYER_BATCHNORM1D || !l->track)
            continue;
        char full[sizeof l->name + 16];
        for (int k = 0; k < 2; k++) {
            snprintf(full, sizeof full, "%s.%s", l->name, k ? "running_var" : "running_mean");
            if (strcmp(full, name) == 0) {
                *value = k ? l->rvar : l->rmean, *grad = NULL, *numel = l->out;
                return true;
            }
        }
    }
    return false;
}

void ref_net_set_first_row(ref_net *net, size_t first_row)
{
    net->first_row = first_row;
}

int64_t *ref_net_counter(ref_net *net, const char *name)
{
    for (size_t i = 0; i < net->nlayers; i++) {
        ref_layer *l = &net->layers[i];
        char full[sizeof l->name + 24];
        snprintf(full, sizeof full, "%s.num_batches_tracked", l->name);
        if (l->kind == CLNN__LAYER_BATCHNORM1D && l->track && strcmp(full, name) == 0)
            return &l->num_batches_tracked;
    }
    return NULL;
}
