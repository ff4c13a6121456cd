/* Dropout with PyTorch's semantics (nn.Dropout(p), kernels/dropout.cl): in
 * training each element is zeroed with probability p and the others are
 * scaled by 1/(1 - p); in evaluation it passes its input on unchanged. It
 * has no tensors.
 *
 * Its mask is not drawn from a stream that advances element by element but
 * computed: element (row, column) of the layer's n-th training forward is
 * kept when Philox4x32-10 of the counter (column, global row, n) under a
 * key from the network's seed and the layer's index is at least p·2^32.
 * So the backward recomputes the forward's mask instead of storing it, a
 * process that holds rows first_row.. of a data-parallel global batch draws
 * what one process would for them, and a checkpoint needs only the key
 * and n (the kind's host values) for a resumed run to draw the same masks.
 * The masks are clnn's own: PyTorch's generator draws others. */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* spec->options. All zero (a token without options): PyTorch's default p. */
typedef struct dropout_options {
    double p;
    bool given;
} dropout_options;
_Static_assert(sizeof(dropout_options) <= CLNN__LAYER_OPTIONS_BYTES, "options fit the spec");

#define DEFAULT_P 0.5

typedef struct dropout_state {
    clnn__kernel_ref apply;
    /* Host values checkpoints keep: the stream's key, and the training
     * forwards run so far, the next one's counter. */
    int64_t key;
    int64_t step;
    /* The last forward's mask, which its backward applies. */
    int64_t drawn_step;
    bool drawn_training;
} dropout_state;

static double probability(const clnn__layer_spec *spec)
{
    dropout_options o;
    memcpy(&o, spec->options, sizeof o);
    return o.given ? o.p : DEFAULT_P;
}

static clnn_status parse(const clnn__spec_token *tok, const char *options, size_t len,
                         clnn__layer_spec *spec)
{
    dropout_options o;
    memset(&o, 0, sizeof o); /* padding too: equal specs are equal bytes */
    o.p = DEFAULT_P;
    o.given = true;
    if (options) {
        if (len > 0 && options[0] == '-')
            return clnn__spec_fail(tok,
                                   "dropout probability %.*s is below 0: give the chance of "
                                   "zeroing an element, in [0, 1] (dropout:0.2)",
                                   (int)len, options);
        clnn_status st = clnn__option_real(tok, "the dropout probability", options, len, &o.p);
        if (st != CLNN_OK)
            return st;
        if (o.p > 1.0)
            return clnn__spec_fail(tok,
                                   "dropout probability %.*s is above 1: give the chance of "
                                   "zeroing an element, in [0, 1] (dropout:0.2)",
                                   (int)len, options);
    }
    memcpy(spec->options, &o, sizeof o);
    return CLNN_OK;
}

static int print(const clnn__layer_spec *spec, char *buf, size_t cap)
{
    char number[32];
    clnn__print_real(number, sizeof number, probability(spec), false);
    return snprintf(buf, cap, ":%s", number);
}

/* splitmix64's finaliser: a 64-bit key per (seed, layer), so layers and
 * seeds draw unrelated masks. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Draws nothing from rng: the other layers start as they would without
 * this one, as in PyTorch, whose nn.Dropout draws nothing when made. */
static void init(clnn__layer *l, clnn__rng *rng, float *params, float *stats)
{
    dropout_state *s = l->state;
    s->key = (int64_t)mix64(l->seed ^ mix64(0x64726f706f7574ull + l->index)); /* "dropout" */
    s->step = 0;
}

static size_t checkpoint(clnn__layer *l, clnn__host_value out[CLNN__LAYER_VALUES_MAX])
{
    dropout_state *s = l->state;
    out[0] = (clnn__host_value){"dropout_key", &s->key};
    out[1] = (clnn__host_value){"dropout_step", &s->step};
    return 2;
}

static void prepare(clnn__layer *l, clnn_context *ctx)
{
    dropout_state *s = l->state;
    clnn__kernel_ref_init(&s->apply, "dropout", NULL, "dropout_apply");
}

/* out = in · mask/(1 - p), the mask of counter step; in evaluation the
 * identity (threshold 0 keeps every element, scale 1). PyTorch's factor is
 * the float 1/(1 - p) (noise.div_(1 - p) on a float tensor); p = 1 zeroes
 * everything, as PyTorch's input · 0 does. */
static clnn_status apply(const clnn__layer *l, const clnn__exec *e, bool training, int64_t step,
                         cl_mem in, size_t ld_in, cl_mem out, size_t ld_out)
{
    dropout_state *s = l->state;
    const double p = probability(&l->spec);
    cl_uint threshold = 0;
    float scale = 1.0f;
    if (training && p >= 1.0) {
        threshold = UINT32_MAX;
        scale = 0.0f;
    } else if (training) {
        threshold = (cl_uint)floor(p * 4294967296.0);
        scale = 1.0f / (float)(1.0 - p);
    }
    cl_kernel k;
    clnn_status st = clnn__kernel_ref_get(e->ctx, &s->apply, &k);
    if (st != CLNN_OK)
        return st;
    const uint64_t key = (uint64_t)s->key, n = (uint64_t)step;
    cl_uint key0 = (cl_uint)key, key1 = (cl_uint)(key >> 32);
    cl_uint step0 = (cl_uint)n, step1 = (cl_uint)(n >> 32);
    cl_uint first = (cl_uint)e->first_row;
    int rows = (int)e->rows, cols = (int)l->out, ldi = (int)ld_in, ldo = (int)ld_out;
    /* The input's rows may be packed tighter than the output's (the
     * caller's rows, when it is the first layer): the columns alone. */
    const size_t global[2] = {l->out, e->rows};
    clnn__profile_work(e->ctx, 0, 8.0 * e->rows * l->out);
    return CLNN__LAUNCH(e->ctx, k, "dropout_apply", 2, global, NULL, CLNN__ARG(in),
                        CLNN__ARG(ldi), CLNN__ARG(out), CLNN__ARG(ldo), CLNN__ARG(rows),
                        CLNN__ARG(cols), CLNN__ARG(key0), CLNN__ARG(key1), CLNN__ARG(step0),
                        CLNN__ARG(step1), CLNN__ARG(first), CLNN__ARG(threshold),
                        CLNN__ARG(scale));
}

static clnn_status forward(clnn__layer *l, const clnn__exec *e, const clnn__layer_plan *p,
                           const clnn__rows *x, cl_mem y, cl_mem next_y)
{
    dropout_state *s = l->state;
    s->drawn_training = e->training;
    s->drawn_step = s->step;
    clnn_status st = apply(l, e, e->training, s->step, x->buf, x->ld, y, l->ld);
    if (st == CLNN_OK && e->training)
        s->step++;
    return st;
}

/* The gradient passes where the forward kept an element, scaled alike. */
static clnn_status backward(clnn__layer *l, const clnn__exec *e, const clnn__layer_plan *p,
                            cl_mem x, cl_mem y, cl_mem dy, cl_mem dx)
{
    dropout_state *s = l->state;
    return dx ? apply(l, e, s->drawn_training, s->drawn_step, dy, l->ld, dx, l->ld_in) : CLNN_OK;
}

const clnn__layer_class clnn__layer_class_dropout = {
    .name = "dropout",
    .info_name = "dropout",
    .usage = "dropout[:P] (P in [0, 1]; 0.5 if left out)",
    .parse = parse,
    .print = print,
    .state_size = sizeof(dropout_state),
    .init = init,
    .checkpoint = checkpoint,
    .min_train_rows = 1,
    .prepare = prepare,
    .forward = forward,
    .backward = backward,
};
