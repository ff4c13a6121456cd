/* A layer stack built from the reference operations (reference.h), in
 * double precision, with the same spec syntax and state-dict names as clnn
 * ("0.weight", "bn1.running_var"), so its tensors pair with a clnn_net's by
 * name. No OpenCL. */
#ifndef CORE_REF_NET_H
#define CORE_REF_NET_H

#include "net/spec.h"
#include "reference.h"

typedef struct ref_layer {
    clnn__layer_kind kind;
    char name[CLNN__NAME_MAX + 24]; /* state-dict prefix: layer name or index */
    size_t in, out;
    double *w, *b;           /* dense weight [out, in] and bias; BatchNorm γ and β */
    double *dw, *db;         /* their gradients from the last backward */
    double *rmean, *rvar;    /* BatchNorm running statistics */
    int64_t num_batches_tracked;
    /* BatchNorm's options (layers/batchnorm.h): without affine, γ = 1 and
     * β = 0 are no parameters; without running statistics, both modes
     * normalise with the batch's (rmean and rvar are then scratch). */
    bool affine, track;
    double *save_mean, *save_invstd;
    double *y;               /* output of the last forward, rows × out */
    ref_activation act;      /* which, for the activations other than ReLU */
    double slope;            /* LeakyReLU's negative slope */
    /* Dropout: its probability, its stream (key and the next training
     * forward's number, as the device layer's checkpoint values), and the
     * factors of the last forward (1 in eval mode). */
    double p;
    uint64_t key;
    int64_t step;
    double *factor;
} ref_layer;

typedef struct ref_net {
    size_t in;
    size_t nlayers;
    ref_layer *layers;
    size_t rows, rows_cap;
    bool training;           /* mode of the last forward */
    size_t first_row;        /* see ref_net_set_first_row */
    double *x;               /* input of the last forward */
    double *g[2];            /* gradient scratch for backward */
} ref_net;

/* One trainable tensor: values and gradient. */
typedef struct ref_param {
    char name[CLNN__NAME_MAX + 40];
    double *value, *grad;
    size_t numel;
} ref_param;

/* NULL when the spec does not parse, or sets a BatchNorm eps or momentum
 * other than PyTorch's defaults. Parameters start at 0 (BatchNorm: γ 1,
 * running_var 1): set them with ref_net_find or copy them from a device. */
ref_net *ref_net_create(size_t in_features, const char *spec);
void ref_net_free(ref_net *net);
size_t ref_net_out(const ref_net *net);

/* Forward rows samples (float, as given to the device); in training mode
 * BatchNorm uses batch statistics and updates its running statistics. */
void ref_net_forward(ref_net *net, const float *x, size_t rows, bool training);
/* Mean softmax cross-entropy of the last forward against labels, and the
 * gradient of every parameter. Returns the loss. */
double ref_net_backward(ref_net *net, const int32_t *labels);
/* Loss only (forward + loss), leaving gradients alone. */
double ref_net_loss(ref_net *net, const float *x, size_t rows, const int32_t *labels,
                    bool training);

/* Trainable tensors in state-dict order. */
size_t ref_net_param_count(const ref_net *net);
ref_param ref_net_param(const ref_net *net, size_t index);
/* Any float tensor by state-dict name (running statistics included; grad is
 * NULL for those); false when there is none. */
bool ref_net_find(const ref_net *net, const char *name, double **value, double **grad,
                  size_t *numel);
/* Rows of the forwards to come start at this row of a global batch (for
 * dropout's masks; 0 by default). */
void ref_net_set_first_row(ref_net *net, size_t first_row);

/* The num_batches_tracked counter of the layer with this state-dict name. */
int64_t *ref_net_counter(ref_net *net, const char *name);

#endif
