/* The network object shared by net/ and layers/. */
#ifndef CLNN_NET_INTERNAL_H
#define CLNN_NET_INTERNAL_H

#include "net/spec.h"
#include "runtime/runtime.h"

/* Where a state-dict entry lives. */
typedef enum clnn__storage {
    CLNN__IN_PARAMS,  /* trainable: net->params (gradient at the same offset in net->grads) */
    CLNN__IN_STATS,   /* float buffer such as running_mean: net->stats */
    CLNN__ON_HOST     /* int64 counter kept on the host (num_batches_tracked) */
} clnn__storage;

typedef struct clnn__tensor {
    char *name;
    clnn_dtype dtype;
    size_t ndim;
    size_t shape[2];
    size_t numel;
    clnn__storage storage;
    size_t offset;      /* elements into params or stats */
    bool transposed;    /* stored [shape[1], shape[0]] (clnn__spec_weight_transposed) */
    int64_t *counter;   /* CLNN__ON_HOST */
} clnn__tensor;

typedef struct clnn__layer {
    clnn__layer_spec spec;
    size_t index;        /* position in the stack (PyTorch's Sequential index) */
    size_t in, out;      /* features */
    /* Row strides of its input and of its output (and of the gradients at
     * them): in and out, or wider on CPU devices (clnn__row_stride). */
    size_t ld_in, ld;
    /* dense: weight [out, in] (or [in, out] when weight_t) and bias in params */
    size_t weight_off, bias_off;
    bool weight_t;
    /* batchnorm1d: gamma/beta in params (weight_off/bias_off), running stats */
    size_t rmean_off, rvar_off;
    int64_t num_batches_tracked;
    cl_mem save_mean, save_invstd;
    cl_mem sync_sums; /* synchronised BatchNorm: 2 × out partial sums */
    char scope_forward[CLNN__NAME_MAX + 64], scope_backward[CLNN__NAME_MAX + 64]; /* profiling labels */
    char prefix[CLNN__NAME_MAX]; /* of its state-dict names: its name, else its index */
} clnn__layer;

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
    cl_mem labels;        /* count labels, in the order's order */
    int32_t *host_labels; /* n: to lay the labels out in a new order */
    size_t n, count;
} clnn__data;

/* The rows a network's first layer reads: row r at buf + r·ld, or, with
 * index set, row index[index_off + r] of buf (a batch drawn from
 * clnn__data), which a dense layer's forward also stores packed into copy
 * (stride ld) for its backward. */
typedef struct clnn__rows {
    cl_mem buf;
    size_t ld;
    cl_mem index;
    size_t index_off;
    cl_mem copy;
} clnn__rows;

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
    clnn__layer *layers;
    size_t nlayers, layers_cap;
    clnn__tensor *tensors;
    size_t ntensors, tensors_cap;
    bool initialized;
    bool training;
    bool fusion; /* fuse BatchNorm + ReLU, bias gradients (CLNN_NO_FUSION=1 turns it off) */

    size_t nparams, nstats;  /* elements */
    size_t nparams_padded;   /* nparams rounded up to 16: optimizer kernels take whole vectors */
    cl_mem params, grads, opt_a, opt_b, stats, metrics;

    size_t batch_cap;        /* activations are allocated for this many rows */
    size_t batch;            /* rows of the last forward */
    size_t max_width;
    size_t max_ld; /* widest row stride of an activation or gradient buffer */
    cl_mem input; /* batch_cap rows and labels, laid out as staging */
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
    float *host_grads;    /* nparams + 1: gradients on their way through allreduce */
    float *host_sums;     /* 2 × max_width: BatchNorm partial sums */
    cl_event *grad_read;  /* per layer: the read of its gradients */

    /* The caller's metadata (metadata.c), in the order set or loaded. */
    char **meta_keys, **meta_values;
    size_t nmeta;
};

/* Grow the per-batch buffers to hold `rows` rows. */
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
/* Rows of x and their labels, one per row: the two checks above. */
clnn_status clnn__check_batch(const clnn_net *net, const char *fn, const float *x, size_t rows,
                              size_t features, const int32_t *labels, size_t count);
/* Wait, and CLNN_ERR_NONFINITE naming fn if an optimizer step has left a
 * parameter non-finite. */
clnn_status clnn__net_params_finite(clnn_net *net, const char *fn);
/* The host wrote parameters: the flag is cleared, to be set again by the
 * next check if any parameter is still not finite. */
clnn_status clnn__net_params_written(clnn_net *net);
/* Queue find_nonfinite over the parameters (layers/optimizer.c). */
clnn_status clnn__find_nonfinite(clnn_net *net);
/* Free the device copy of the training set. */
void clnn__data_release(clnn_net *net);
/* CLNN_ERR_STATE, naming fn, unless the net holds a training set. */
clnn_status clnn__data_check(const clnn_net *net, const char *fn);

/* Layer kernels (layers/). `x` is the layer's input, `y` its output. */
clnn_status clnn__dense_forward(clnn_net *net, clnn__layer *l, const clnn__rows *x, cl_mem y,
                                size_t rows);
/* need_bias_grad false: the next layer's backward has written the bias
 * gradient already (see clnn__bn_backward). */
clnn_status clnn__dense_backward(clnn_net *net, clnn__layer *l, cl_mem x, cl_mem dy, cl_mem dx,
                                 size_t rows, bool need_bias_grad);
/* Whether the dense layer l's forward can read x's rows through its index
 * (else they must be gathered first). */
bool clnn__dense_gathers(const clnn_net *net, const clnn__layer *l, const clnn__rows *x,
                         size_t rows);
/* relu_out non-NULL fuses the following ReLU (writes its output too); in
 * backward, bn_out non-NULL means dy is the gradient of that ReLU's output,
 * masked inside the kernel by bn_out > 0, and prev is the dense layer before
 * or NULL: its bias gradient is the column sums of dx, written by the same
 * kernel. */
clnn_status clnn__bn_forward(clnn_net *net, clnn__layer *l, cl_mem x, cl_mem y, size_t rows,
                             bool training, cl_mem relu_out);
clnn_status clnn__bn_backward(clnn_net *net, clnn__layer *l, cl_mem x, cl_mem dy, cl_mem dx,
                              size_t rows, bool batch_stats, cl_mem bn_out,
                              const clnn__layer *prev);
/* Synchronised BatchNorm: statistics over total rows of all processes. */
clnn_status clnn__bn_forward_sync(clnn_net *net, clnn__layer *l, cl_mem x, cl_mem y, size_t rows,
                                  size_t total);
clnn_status clnn__bn_backward_sync(clnn_net *net, clnn__layer *l, cl_mem x, cl_mem dy, cl_mem dx,
                                   size_t rows, size_t total);
clnn_status clnn__relu_forward(clnn_net *net, cl_mem x, cl_mem y, size_t count);
clnn_status clnn__relu_backward(clnn_net *net, cl_mem y, cl_mem dy, cl_mem dx, size_t count);
/* Where, in floats from the start of the input buffer (and of a staging
 * slot), the labels of a batch of `rows` rows begin: right after the rows. */
size_t clnn__labels_offset(const clnn_net *net, size_t rows);
/* Softmax cross-entropy of logits z (rows × classes) against labels; writes
 * dz, the gradient of the loss summed over rows and divided by mean_rows
 * (the global batch), when non-NULL; accumulates loss/accuracy into the
 * metrics slot. With dz, producer is the dense layer whose output z is, or
 * NULL: its bias gradient (the column sums of dz) is written too. */
clnn_status clnn__loss(clnn_net *net, cl_mem z, size_t rows, size_t mean_rows, size_t classes,
                       cl_mem dz, int slot, const clnn__layer *producer);
/* Data parallelism (parallel.c): start reading a layer's gradients once its
 * backward is queued; after the whole backward, sum them across processes. */
bool clnn__parallel(const clnn_net *net);
bool clnn__sync_batchnorm(const clnn_net *net);
clnn_status clnn__grad_bucket_read(clnn_net *net, size_t layer);
clnn_status clnn__grad_allreduce(clnn_net *net);
clnn_status clnn__optimizer_step(clnn_net *net);

/* A kernel whose work-items each own W adjacent columns of a cols-wide
 * matrix (-D W): explicit W-wide vectors on CPU devices (the widest of 16, 8,
 * 4 that divides cols), one column per work-item on GPUs, which keeps
 * neighbouring work-items on neighbouring addresses. *global gets the
 * number of work-items, *lp the local size to launch with (local, or NULL
 * for the driver's choice: clnn__spread_local). */
clnn_status clnn__column_kernel(clnn_context *ctx, const char *source, const char *name,
                                size_t cols, cl_kernel *kernel, size_t *global, size_t *local,
                                const size_t **lp);

/* Fixed OpenCL options of the layer kernels. */
#define CLNN__BN_EPS 1e-5f
#define CLNN__BN_MOMENTUM 0.1f

#endif
