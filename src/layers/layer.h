/* What a layer kind is: one interface struct per kind (clnn__layer_class),
 * listed in one table (layers/kinds.h), and the narrow records its code
 * runs with. A kind never sees the network: the driver (net/) hands it its
 * own layer, an execution record and the plan's decisions for it. */
#ifndef CLNN_LAYERS_LAYER_H
#define CLNN_LAYERS_LAYER_H

#include "gemm/gemm.h"
#include "layers/kinds.h"

typedef enum clnn__layer_kind {
#define CLNN__KIND_ENUM(id, file) CLNN__LAYER_##id,
    CLNN__LAYER_KINDS(CLNN__KIND_ENUM)
#undef CLNN__KIND_ENUM
} clnn__layer_kind;
/* How many kinds there are (not an enum member, which would be a case
 * every switch over kinds had to handle). */
#define CLNN__KIND_ONE(id, file) +1
#define CLNN__LAYER_KIND_COUNT (0 CLNN__LAYER_KINDS(CLNN__KIND_ONE))

#define CLNN__NAME_MAX 64
#define CLNN__UNITS_MAX 1000000
/* Room for a kind's options in a spec (clnn__layer_spec.options). */
#define CLNN__LAYER_OPTIONS_BYTES 32

/* One layer as a spec writes it: "fc1=dense:256". */
typedef struct clnn__layer_spec {
    clnn__layer_kind kind;
    size_t units;              /* the size a kind takes ("dense:256"), else 0 */
    char name[CLNN__NAME_MAX]; /* "" when unnamed */
    /* Other options, laid out as the kind's parse stores them; all zero
     * means the kind's defaults (what clnn_net_add_* and an option-less
     * token give). */
    _Alignas(double) unsigned char options[CLNN__LAYER_OPTIONS_BYTES];
} clnn__layer_spec;

/* A layer of a stack, as its kind sees it. */
typedef struct clnn__layer {
    clnn__layer_spec spec;
    const struct clnn__layer_class *cls;
    size_t index;   /* position in the stack (PyTorch's Sequential index) */
    size_t in, out; /* features */
    /* Row strides of its input and of its output (and of the gradients at
     * them): in and out, or wider on CPU devices (net/net.c). */
    size_t ld_in, ld;
    void *state; /* the kind's own struct, cls->state_size bytes, zeroed */
    /* The seed clnn_net_init was given (0 for a network made from a file),
     * set before init: a kind that draws random numbers while training
     * keys its stream with it and its index. */
    uint64_t seed;
} clnn__layer;

/* The rows a layer reads: row r at buf + r·ld, or, with index set, row
 * index[index_off + r] of buf (a batch drawn from a training set on the
 * device), which a kind that reads_indexed also stores packed into copy
 * (stride ld) for its backward. Only the first layer gets an index, and
 * only when its kind reads_indexed says it can take it. */
typedef struct clnn__rows {
    cl_mem buf;
    size_t ld;
    cl_mem index;
    size_t index_off;
    cl_mem copy;
} clnn__rows;

/* What one pass runs with: the device, the flat buffers the declared
 * tensors live in (each kind keeps its offsets), the batch and the mode. */
typedef struct clnn__exec {
    clnn_context *ctx;
    cl_mem params, grads, stats;
    size_t rows;   /* rows of this process's batch */
    /* Where those rows start in the global batch of every process (0 for
     * one process; data parallelism: clnn_net_train_shard_at), so a kind
     * drawing random numbers per row draws what one process would. */
    size_t first_row;
    bool training; /* batch statistics, and their running averages updated */
    /* Statistics over the global batch of every process (data parallelism
     * with synchronised BatchNorm, training only): its rows, the
     * allreduce that sums floats across processes, and host room for
     * 2 × the widest layer's floats on their way through it. */
    bool synchronised;
    size_t global_rows;
    clnn_allreduce_fn allreduce;
    void *allreduce_user;
    float *host_sums;
} clnn__exec;

/* The driver's decisions for one layer in one mode, made once per plan
 * (net/plan.c) from what the kinds say they can do. */
typedef struct clnn__layer_plan {
    /* Its kernels compute the next layer too (BatchNorm + ReLU): forward
     * gets that layer's output buffer, backward a dy at that layer's output
     * (its own output y masks it), and the driver skips that layer. */
    bool runs_next;
    bool run_by_prev; /* the previous layer's kernels compute this one */
    /* >= 0: its backward also writes the column sums of its dx there in
     * grads, the previous layer's bias gradient (see bias_grad_off). */
    long prev_bias_grad;
    /* The next layer or the loss writes its bias gradient: skip it. */
    bool bias_grad_elsewhere;
    /* One launch for weight and input gradients, where the GEMM backend can. */
    bool pair_grads;
} clnn__layer_plan;

/* Where a declared tensor lives. */
typedef enum clnn__storage {
    CLNN__IN_PARAMS, /* trainable: params (its gradient at the same offset in grads) */
    CLNN__IN_STATS,  /* float buffer such as running_mean: stats */
    CLNN__ON_HOST    /* int64 counter kept on the host (num_batches_tracked) */
} clnn__storage;

/* A state-dict tensor a kind declares: PREFIX.suffix (the prefix is the
 * layer's name, else its index). The driver gives params and stats tensors
 * their offsets, in order, through *offset. */
typedef struct clnn__tensor_decl {
    const char *suffix;
    clnn__storage storage;
    size_t ndim, shape[2]; /* PyTorch's shape */
    bool transposed;       /* stored [shape[1], shape[0]] on the device */
    size_t *offset;        /* params and stats: where the driver writes its offset */
    int64_t *counter;      /* CLNN__ON_HOST: the kind's counter */
} clnn__tensor_decl;
#define CLNN__LAYER_TENSORS_MAX 6

/* A device buffer a kind needs beside the flat ones, made zeroed by the
 * driver and released with the network. synchronised: only once
 * statistics are synchronised across processes (clnn_net_set_parallel). */
typedef struct clnn__buffer_decl {
    cl_mem *buf;
    size_t bytes;
    bool synchronised;
} clnn__buffer_decl;
#define CLNN__LAYER_BUFFERS_MAX 4

/* A host value a kind keeps outside its tensors that a resumed run needs
 * (a random stream's position): checkpoints keep it, models do not. */
typedef struct clnn__host_value {
    const char *suffix;
    int64_t *value;
} clnn__host_value;
#define CLNN__LAYER_VALUES_MAX 2

/* The token of a spec a kind parses options of, for its messages. */
typedef struct clnn__spec_token {
    size_t pos;       /* the layer's position in the spec, from 0 */
    const char *text; /* "dense:256", without any "name=" */
    size_t len;
} clnn__spec_token;

#define CLNN__LAYER_GEMMS_MAX 3

typedef struct clnn__layer_class {
    /* In specs and profiles ("bn"); other spellings a spec may use, NULL
     * ended ("batchnorm1d", "batchnorm"); clnn_layer_info's kind
     * ("batchnorm1d"); how the spec help shows it ("bn (or batchnorm1d)"). */
    const char *name;
    const char *const *aliases;
    const char *info_name;
    const char *usage;
    /* The options after ':' (NULL, 0 when the token has none) into spec,
     * failing with CLNN_ERR_SPEC through clnn__spec_fail. NULL: the kind
     * takes none. */
    clnn_status (*parse)(const clnn__spec_token *tok, const char *options, size_t len,
                         clnn__layer_spec *spec);
    /* The options as a spec writes them (":256"), snprintf-like. NULL: none. */
    int (*print)(const clnn__layer_spec *spec, char *buf, size_t cap);
    /* Its output width. NULL: its input's. */
    size_t (*out_width)(const clnn__layer_spec *spec);
    /* Its state-dict tensor whose shape[dim] tells its input width, for a
     * file without clnn.in_features; false when it has none. */
    bool (*width_source)(const clnn__layer_spec *spec, const char **suffix, size_t *ndim,
                         size_t *dim);

    /* Its own state, allocated zeroed by the driver. */
    size_t state_size;
    /* Its tensors, in state-dict order, into out; returns how many. NULL:
     * none. */
    size_t (*declare)(clnn__layer *l, clnn__tensor_decl out[CLNN__LAYER_TENSORS_MAX]);
    /* PyTorch's initial values into the host images of params and stats
     * (at the offsets declare received), drawn from rng in layer order.
     * NULL: nothing to set. */
    void (*init)(clnn__layer *l, clnn__rng *rng, float *params, float *stats);
    /* Device buffers it needs, into out; returns how many. NULL: none. */
    size_t (*buffers)(clnn__layer *l, clnn__buffer_decl out[CLNN__LAYER_BUFFERS_MAX]);
    /* Host values a checkpoint keeps for it, into out. NULL: none. */
    size_t (*checkpoint)(clnn__layer *l, clnn__host_value out[CLNN__LAYER_VALUES_MAX]);
    /* Training batches of fewer rows (of the global batch, where
     * statistics are synchronised) are refused, because: */
    size_t min_train_rows;
    const char *min_rows_title;  /* "BatchNorm" */
    const char *min_rows_reason; /* "expected more than 1 value per channel when training" */

    /* What it can share with its neighbours, for the plan (NULL: nothing).
     * fuses_next: its kernels can compute next too. bias_grad_off: the
     * offset in grads of a bias gradient that is the column sums of its
     * output's gradient (its consumer, or the loss, may sum it).
     * sums_dx: its backward can write the column sums of its dx. */
    bool (*fuses_next)(const clnn__layer *l, const clnn__layer *next, bool synchronised);
    long (*bias_grad_off)(const clnn__layer *l);
    bool (*sums_dx)(const clnn__layer *l, bool synchronised);
    /* Whether its forward reads x's rows through x->index (else the driver
     * gathers them first). NULL: never. */
    bool (*reads_indexed)(const clnn__layer *l, const clnn__exec *e, const clnn__rows *x);
    /* Once per plan: choose its kernels (options, work sizes) for the
     * device; they are looked up on first launch and kept. */
    void (*prepare)(clnn__layer *l, clnn_context *ctx);
    /* y = f(x) for e->rows rows; next_y: the next layer's output, when
     * the plan runs_next. */
    clnn_status (*forward)(clnn__layer *l, const clnn__exec *e, const clnn__layer_plan *p,
                           const clnn__rows *x, cl_mem y, cl_mem next_y);
    /* Parameter gradients (overwritten, as after zero_grad), and dx from
     * dy unless dx is NULL (the first layer's input needs none). */
    clnn_status (*backward)(clnn__layer *l, const clnn__exec *e, const clnn__layer_plan *p,
                            cl_mem x, cl_mem y, cl_mem dy, cl_mem dx);
    /* The GEMMs it runs at `rows` rows, as layer `index` of a stack with
     * input width `in`, for the tuner (op, shape and bias filled). NULL:
     * none. */
    size_t (*gemm_shapes)(const clnn__layer_spec *spec, size_t index, size_t in, size_t rows,
                          clnn__gemm_shape out[CLNN__LAYER_GEMMS_MAX]);
} clnn__layer_class;

/* The table, in enum order (layers/kinds.c). */
#define CLNN__KIND_CLASS(id, file) extern const clnn__layer_class clnn__layer_class_##file;
CLNN__LAYER_KINDS(CLNN__KIND_CLASS)
#undef CLNN__KIND_CLASS
extern const clnn__layer_class *const clnn__layer_classes[CLNN__LAYER_KIND_COUNT];

/* The kind a spec token names (name or alias, any case), or false. */
bool clnn__layer_kind_find(const char *name, size_t len, clnn__layer_kind *kind);
/* Its name in specs: "dense", "bn", "relu". */
const char *clnn__layer_kind_name(clnn__layer_kind kind);
/* "layers are dense:N (or linear:N), bn (or batchnorm1d) and relu, ..." */
void clnn__layer_kinds_help(char *buf, size_t cap);
/* CLNN_ERR_SPEC: "layer 3 ('dense:x'): " and the message. */
clnn_status clnn__spec_fail(const clnn__spec_token *tok, const char *fmt, ...) CLNN__PRINTF(2, 3);
/* Whether a[0..alen) is the lower-case word b in any case ("None", "none"). */
bool clnn__equals_nocase(const char *a, size_t alen, const char *b);
/* A size option "N", 1..CLNN__UNITS_MAX, its messages naming tok. */
clnn_status clnn__option_size(const clnn__spec_token *tok, const char *text, size_t len,
                              size_t *out);
/* A decimal number filling text[0..len) ("0.2", "-1.5e-3", ".5", "1e-3")
 * as C reads it in the "C" locale, whatever the process's locale, and
 * finite; false for anything else (blanks, hexadecimal, inf, nan). */
bool clnn__parse_real(const char *text, size_t len, double *out);
/* The same as an option, finite as a float too; its messages name tok and
 * what the number is ("the negative slope"). */
clnn_status clnn__option_real(const clnn__spec_token *tok, const char *what, const char *text,
                              size_t len, double *out);
/* v as a spec writes it: the fewest significant digits that read back as
 * v (as a float when as_float, else as a double), with a '.' point
 * whatever the locale. snprintf-like. */
int clnn__print_real(char *buf, size_t cap, double v, bool as_float);

#endif
