/* The network object shared by net/ and layers/. */
#ifndef CLNN_NET_INTERNAL_H
#define CLNN_NET_INTERNAL_H

#include "layers/columns.h"
#include "layers/layer.h"
#include "net/spec.h"
#include "runtime/runtime.h"

typedef struct clnn__tensor {
    char *name;
    clnn_dtype dtype;
    size_t ndim;
    size_t shape[2];
    size_t numel;
    clnn__storage storage;
    size_t offset;      /* elements into params or stats */
    bool transposed;    /* stored [shape[1], shape[0]] */
    int64_t *counter;   /* CLNN__ON_HOST */
} clnn__tensor;

/* A layer of the stack and what the driver keeps for it. */
typedef struct clnn__net_layer {
    clnn__layer l;
    clnn__layer_plan plan[2]; /* by mode: [0] evaluation, [1] training */
    /* The range of the flat parameter buffer its declared parameters span
     * (has_params false: none), which data parallelism sums. */
    bool has_params;
    size_t param_begin, param_end;
    /* Profiling labels. */
    char scope_forward[CLNN__NAME_MAX + 64], scope_backward[CLNN__NAME_MAX + 64];
    char prefix[CLNN__NAME_MAX]; /* of its state-dict names: its name, else its index */
} clnn__net_layer;

/* Floats each work-item of gather_rows copies: whole vectors, so that CPU
 * devices move them at memory speed (one float per work-item ran at a third
 * of it on PoCL) while GPUs still get a work-item per 256 bytes. */
#define CLNN__GATHER_CHUNK 64

/* The driver's own kernels, chosen with the plan (net/plan.c) and looked
 * up on their first launch. */
typedef struct clnn__net_kernels {
    clnn__kernel_ref gather;                   /* rows of the device's training set */
    clnn__kernel_ref loss_one, loss, loss_sum; /* one launch (CPUs), or two */
    clnn__kernel_ref mse;                      /* CLNN_LOSS_MSE, then loss_sum */
    bool loss_rows16; /* 16 rows per work-item with the class count built in */
    clnn__column_kernel sgd, adam, find_nonfinite;
} clnn__net_kernels;

/* Host copies of a batch waiting to be uploaded; a ring lets the host fill
 * the next batch while the device still reads the previous one. A batch of
 * n rows is laid out as in the device's input buffer: the rows, then their
 * n labels (clnn__labels_offset), so that training uploads both at once. */
#define CLNN__STAGING 2
typedef struct clnn__staging {
    float *x; /* batch_cap rows and batch_cap labels */
    cl_event x_done, labels_done;
} clnn__staging;

/* A training set kept on the device (clnn_net_set_data, net/data.c). */
typedef struct clnn__data {
    cl_mem x;             /* n rows of in_features floats */
    cl_mem order;         /* count row indices, int32 */
    cl_mem labels;        /* count × width labels or targets, in the order's order */
    uint32_t *host_y;     /* n × width (int32 labels or float targets, as bits): to lay
                             them out in a new order */
    size_t n, count;
    size_t width;         /* clnn__target_width when set */
} clnn__data;

/* Metrics slots of net->metrics (4 floats each, see kernels/loss.cl), then
 * the divergence flag: set by find_nonfinite (kernels/optimizer.cl) when a
 * parameter is NaN or infinite, zeroed when the host writes parameters.
 * Checkpoints keep the two slots (CLNN__METRICS_SAVED floats). */
#define CLNN__METRICS_TRAIN 0
#define CLNN__METRICS_EVAL 4
#define CLNN__METRICS_SAVED 8
#define CLNN__METRICS_DIVERGED 8
#define CLNN__METRICS_FLOATS 9

struct clnn_net {
    clnn_context *ctx;
    size_t in_features;
    clnn__net_layer *layers;
    size_t nlayers, layers_cap;
    clnn__tensor *tensors;
    size_t ntensors, tensors_cap;
    bool initialized;
    bool training;
    bool fusion; /* fuse BatchNorm + ReLU, bias gradients (CLNN_NO_FUSION=1 turns it off) */
    /* The plan: fusion decided and kernels chosen once, at the first
     * reserve after init or a change of the parallel options (plan.c). */
    bool planned;
    long loss_bias_grad; /* >= 0: the loss writes the last layer's bias gradient there */
    clnn_loss_kind loss;
    clnn__net_kernels kernels;

    size_t nparams, nstats;  /* elements */
    size_t nparams_padded;   /* nparams rounded up to 16: optimizer kernels take whole vectors */
    cl_mem params, grads, opt_a, opt_b, stats, metrics;

    size_t batch_cap;        /* activations are allocated for this many rows */
    size_t batch;            /* rows of the last forward */
    size_t max_width;
    size_t max_ld; /* widest row stride of an activation or gradient buffer */
    cl_mem input; /* batch_cap rows and labels, laid out as staging */
    size_t target_cap; /* 4-byte label or target entries per row the input has room for */
    cl_mem row_loss, row_correct;
    cl_mem *outputs;         /* per layer, batch_cap × out */
    cl_mem grad_bufs[2];     /* batch_cap × max_width, alternating in backward */
    clnn__staging staging[CLNN__STAGING];
    size_t staging_next;
    bool forward_done, backward_done, forward_was_training;
    bool labels_sent; /* the last forward uploaded its labels too */
    cl_mem labels;     /* the last forward's labels, from labels_off (int32) */
    size_t labels_off;
    clnn__data data;

    clnn_optimizer_options opt;
    bool opt_set; /* clnn_net_set_optimizer has chosen opt */
    /* Steps have changed the parameters since find_nonfinite last ran. */
    bool params_unchecked;
    uint64_t opt_steps;

    /* Data parallelism (clnn_net_set_parallel). */
    clnn_parallel_options parallel;
    size_t global_batch;  /* rows of the global batch of the current step */
    size_t first_row;     /* where this process's rows start in it */
    float *host_grads;    /* nparams + 1: gradients on their way through allreduce */
    float *host_sums;     /* 2 × max_width: BatchNorm partial sums */
    cl_event *grad_read;  /* per layer: the read of its gradients */

    /* The caller's metadata (metadata.c), in the order set or loaded. */
    char **meta_keys, **meta_values;
    size_t nmeta;
};

/* The buffers the layers declared (net.c): those for one process, or those
 * synchronised statistics need (clnn_net_set_parallel). */
clnn_status clnn__net_layer_buffers(clnn_net *net, bool synchronised);
/* Grow the per-batch buffers to hold `rows` rows, planning first if the
 * plan is missing. */
clnn_status clnn__net_reserve(clnn_net *net, size_t rows);
/* CLNN_ERR_STATE unless clnn_net_init has run. */
clnn_status clnn__net_check_ready(const clnn_net *net, const char *fn);
/* A float tensor between the host, in PyTorch's layout, and a buffer laid
 * out like params (the parameters, their gradients, optimizer state),
 * turned round for tensors stored transposed. Both wait for the transfer. */
clnn_status clnn__tensor_download(clnn_net *net, const clnn__tensor *t, cl_mem buf, void *dst);
clnn_status clnn__tensor_upload(clnn_net *net, const clnn__tensor *t, cl_mem buf, const void *src);

/* Where a save goes: a file at path, else a new buffer at *data (*size bytes). */
typedef struct clnn__sink {
    const char *path;
    void **data;
    size_t *size;
} clnn__sink;
/* Write the state dict plus extra tensors and metadata (the library's
 * keys, then the net's metadata less any of those keys), refusing
 * non-finite values in fn's name (model_file.c). */
struct clnn__st_entry;
struct clnn__st_file;
clnn_status clnn__net_write(clnn_net *net, const char *fn, const clnn__sink *to,
                            const struct clnn__st_entry *extra, size_t nextra,
                            const char *const *keys, const char *const *values, size_t nmeta);
/* A file to load: at path, else size bytes at data; parsed into *f with
 * messages that name it as *source does ("'model.safetensors'", "the data
 * given to clnn_net_load_from_memory"), source being a buffer of cap bytes. */
typedef struct clnn__source {
    const char *path;
    const void *data;
    size_t size;
} clnn__source;
clnn_status clnn__source_read(const clnn__source *from, const char *fn, struct clnn__st_file *f,
                              char *source, size_t cap);
/* Strictly load the state-dict tensors of a parsed file (checked first);
 * source names the file in messages. */
clnn_status clnn__net_apply_file(clnn_net *net, const struct clnn__st_file *f, const char *source);
/* False for the tensors a checkpoint adds ("optimizer.*", "clnn.*"). */
bool clnn__is_model_tensor(const char *name);

/* Metadata (metadata.c): whether the library owns key ("clnn.*", "user.*",
 * "format");
 * the net's entries set from a file's (its reserved keys skipped, except
 * the data description's "clnn.data.*", which the net keeps); freed. */
bool clnn__meta_reserved(const char *key);
#define CLNN__DATA_PREFIX "clnn.data."
/* The data description's entries (data_description.c): set (value NULL:
 * removed) without the caller's checks, and read (NULL when absent). */
clnn_status clnn__meta_put(clnn_net *net, const char *key, const char *value);
const char *clnn__meta_get(const clnn_net *net, const char *key);
clnn_status clnn__meta_load(clnn_net *net, const char *const *keys, const char *const *values,
                            size_t count);
void clnn__meta_free(clnn_net *net);

/* Argument checks of the calls that take caller arrays (compute.c), each
 * naming fn. Rows: x non-NULL, rows > 0, features equal to in_features
 * (else CLNN_ERR_SHAPE). Count: p non-NULL and count == needed (else
 * CLNN_ERR_SHAPE, saying what unit the count is of). Labels: each names an
 * output (CLNN_ERR_INVALID_ARGUMENT). */
clnn_status clnn__check_rows(const clnn_net *net, const char *fn, const float *x, size_t rows,
                             size_t features);
clnn_status clnn__check_count(const char *fn, const char *arg, const void *p, size_t count,
                              size_t needed, const char *unit);
clnn_status clnn__check_labels(const clnn_net *net, const char *fn, const int32_t *labels,
                               size_t n);
/* Rows of x and their labels or targets (y, count entries: rows ×
 * clnn__target_width): the two checks above. */
clnn_status clnn__check_batch(const clnn_net *net, const char *fn, const float *x, size_t rows,
                              size_t features, const void *y, size_t count);
/* Wait, and CLNN_ERR_NONFINITE naming fn if an optimizer step has left a
 * parameter non-finite. */
clnn_status clnn__net_params_finite(clnn_net *net, const char *fn);
/* The host wrote parameters: the flag is cleared, to be set again by the
 * next check if any parameter is still not finite. */
clnn_status clnn__net_params_written(clnn_net *net);
/* Queue find_nonfinite over the parameters (optimizer.c). */
clnn_status clnn__find_nonfinite(clnn_net *net);
/* Free the device copy of the training set. */
void clnn__data_release(clnn_net *net);
/* CLNN_ERR_STATE, naming fn, unless the net holds a training set. */
clnn_status clnn__data_check(const clnn_net *net, const char *fn);

/* Label or target entries (4 bytes each) per row: 1 int32 label for
 * cross-entropy, out_features floats for MSE (loss.c). */
size_t clnn__target_width(const clnn_net *net);
/* CLNN_ERR_STATE naming fn unless the net's loss is want: the calls taking
 * labels serve cross-entropy, their _targets variants MSE (loss.c). */
clnn_status clnn__loss_check(const clnn_net *net, const char *fn, clnn_loss_kind want);
/* The rows' labels or targets (as the loss takes them: clnn__target_width
 * entries per row) checked: classes in range, targets finite. */
clnn_status clnn__check_y(const clnn_net *net, const char *fn, const void *y, size_t rows);
/* "clnn.loss" of a file's metadata (absent: cross-entropy) into *loss;
 * CLNN_ERR_BAD_FILE naming source for an unknown value. */
struct clnn__st_file;
clnn_status clnn__loss_from_file(const struct clnn__st_file *f, const char *source,
                                 clnn_loss_kind *loss);

/* Where, in floats from the start of the input buffer (and of a staging
 * slot), the labels of a batch of `rows` rows begin: right after the rows. */
size_t clnn__labels_offset(const clnn_net *net, size_t rows);
/* The net's loss (softmax cross-entropy against labels, or mean squared
 * error against targets) of outputs z (rows × classes); writes
 * dz, the gradient of the loss summed over rows and divided by mean_rows
 * (the global batch), when non-NULL; accumulates loss/accuracy into the
 * metrics slot. With dz and bias_grad >= 0, the column sums of dz (the
 * bias gradient of the dense layer whose output z is) go there in grads
 * (loss.c). */
clnn_status clnn__loss(clnn_net *net, cl_mem z, size_t rows, size_t mean_rows, size_t classes,
                       cl_mem dz, int slot, long bias_grad);
/* Data parallelism (parallel.c): start reading a layer's gradients once its
 * backward is queued; after the whole backward, sum them across processes. */
bool clnn__parallel(const clnn_net *net);
bool clnn__sync_batchnorm(const clnn_net *net);
clnn_status clnn__grad_bucket_read(clnn_net *net, size_t layer);
clnn_status clnn__grad_allreduce(clnn_net *net);
clnn_status clnn__optimizer_step(clnn_net *net);

/* The plan (plan.c): made by clnn__net_reserve when missing; dropped when
 * what it depends on changes. The execution record of one pass. */
void clnn__net_plan(clnn_net *net);
/* The driver's own kernels (loss, optimizer, input), chosen at init. */
void clnn__net_kernels_init(clnn_net *net);
void clnn__net_unplan(clnn_net *net);
clnn__exec clnn__net_exec(const clnn_net *net, size_t rows, bool training);
/* The largest min_train_rows of the stack's kinds, and the layer asking it. */
size_t clnn__net_min_train_rows(const clnn_net *net, size_t *layer);

#endif
