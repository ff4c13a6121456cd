/* BatchNorm1d with PyTorch's semantics (kernels/batchnorm.cl), and the
 * options of nn.BatchNorm1d: eps, momentum (a number or none), affine and
 * track_running_stats. The defaults run today's kernels with today's
 * arguments; the options change only what the kernels are given. */
#include "layers/batchnorm.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PyTorch's defaults as a spec writes them; the kernels get them as the
 * floats CLNN__BN_EPS and CLNN__BN_MOMENTUM. */
#define DEFAULT_EPS 1e-5
#define DEFAULT_MOMENTUM 0.1

/* How spec->options holds them: all zero is every default. */
enum { MOMENTUM_DEFAULT, MOMENTUM_VALUE, MOMENTUM_NONE };
typedef struct bn_spec_options {
    double eps;      /* 0: 1e-5 */
    double momentum; /* with MOMENTUM_VALUE */
    unsigned char momentum_kind;
    bool no_affine, no_running_stats;
} bn_spec_options;
_Static_assert(sizeof(bn_spec_options) <= CLNN__LAYER_OPTIONS_BYTES,
               "BatchNorm's options fit a spec's room for options");

static bn_spec_options stored(const clnn__layer_spec *spec)
{
    bn_spec_options o;
    memcpy(&o, spec->options, sizeof o);
    return o;
}

clnn__bn_options clnn__bn_options_of(const clnn__layer_spec *spec)
{
    const bn_spec_options o = stored(spec);
    return (clnn__bn_options){
        .eps = o.eps != 0.0 ? o.eps : DEFAULT_EPS,
        .momentum = o.momentum_kind == MOMENTUM_VALUE ? o.momentum : DEFAULT_MOMENTUM,
        .momentum_none = o.momentum_kind == MOMENTUM_NONE,
        .affine = !o.no_affine,
        .track_running_stats = !o.no_running_stats,
    };
}

static clnn_status boolean(const clnn__spec_token *tok, const char *key, const char *v,
                           size_t vlen, bool *out)
{
    if (clnn__equals_nocase(v, vlen, "true") || clnn__equals_nocase(v, vlen, "false")) {
        *out = clnn__equals_nocase(v, vlen, "true");
        return CLNN_OK;
    }
    return clnn__spec_fail(tok, "%s=%.*s: %s is true or false", key, (int)vlen, v, key);
}

#define OPTION_KEYS "eps, momentum, affine and track_running_stats"

/* One "key=value" of "bn:eps=1e-3,momentum=none,affine=false,...". */
static clnn_status parse_option(const clnn__spec_token *tok, const char *text, size_t len,
                                bn_spec_options *o, unsigned *seen)
{
    const char *eq = memchr(text, '=', len);
    if (!eq)
        return clnn__spec_fail(tok, "option '%.*s' has no value: write key=value, the keys being "
                               OPTION_KEYS " (e.g. bn:eps=1e-3,momentum=0.05)",
                               (int)len, text);
    size_t klen = (size_t)(eq - text), vlen = len - klen - 1;
    const char *v = eq + 1;
    while (klen > 0 && isspace((unsigned char)text[klen - 1]))
        klen--;
    while (vlen > 0 && isspace((unsigned char)*v))
        v++, vlen--;
    static const char *const keys[] = {"eps", "momentum", "affine", "track_running_stats"};
    unsigned key = 0;
    while (key < 4 && !clnn__equals_nocase(text, klen, keys[key]))
        key++;
    if (key == 4)
        return clnn__spec_fail(tok, "unknown option '%.*s': BatchNorm's options are " OPTION_KEYS,
                               (int)klen, text);
    if (*seen & 1u << key)
        return clnn__spec_fail(tok, "option %s is given twice", keys[key]);
    *seen |= 1u << key;
    double x;
    switch (key) {
    case 0:
        if (!clnn__parse_real(v, vlen, &x) || !(x > 0.0))
            return clnn__spec_fail(tok, "eps=%.*s: eps must be a number above 0 (PyTorch's "
                                   "default is 1e-5)", (int)vlen, v);
        o->eps = x == DEFAULT_EPS ? 0.0 : x; /* the default, stored as such */
        return CLNN_OK;
    case 1:
        if (clnn__equals_nocase(v, vlen, "none")) {
            o->momentum_kind = MOMENTUM_NONE;
            return CLNN_OK;
        }
        if (!clnn__parse_real(v, vlen, &x) || x < 0.0 || x > 1.0)
            return clnn__spec_fail(tok, "momentum=%.*s: momentum must be a number from 0 to 1, "
                                   "or none for a cumulative moving average (default 0.1)",
                                   (int)vlen, v);
        o->momentum_kind = x == DEFAULT_MOMENTUM ? MOMENTUM_DEFAULT : MOMENTUM_VALUE;
        o->momentum = o->momentum_kind == MOMENTUM_VALUE ? x : 0.0;
        return CLNN_OK;
    case 2: {
        bool on;
        clnn_status st = boolean(tok, keys[key], v, vlen, &on);
        o->no_affine = !on;
        return st;
    }
    default: {
        bool on;
        clnn_status st = boolean(tok, keys[key], v, vlen, &on);
        o->no_running_stats = !on;
        return st;
    }
    }
}

static clnn_status parse(const clnn__spec_token *tok, const char *options, size_t len,
                         clnn__layer_spec *spec)
{
    bn_spec_options o = {0};
    if (options && len == 0)
        return clnn__spec_fail(tok, "no options after ':'; write bn, or bn:key=value,... with "
                               "the keys " OPTION_KEYS);
    unsigned seen = 0;
    for (size_t at = 0; options && at < len;) {
        const char *comma = memchr(options + at, ',', len - at);
        size_t end = comma ? (size_t)(comma - options) : len;
        const char *a = options + at, *b = options + end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        clnn_status st = parse_option(tok, a, (size_t)(b - a), &o, &seen);
        if (st != CLNN_OK)
            return st;
        at = end + 1;
    }
    memcpy(spec->options, &o, sizeof o);
    return CLNN_OK;
}

/* Only what differs from the defaults, in PyTorch's order of arguments. */
static int print(const clnn__layer_spec *spec, char *buf, size_t cap)
{
    const bn_spec_options o = stored(spec);
    char text[160], num[32];
    size_t n = 0;
    if (o.eps != 0.0) {
        clnn__print_real(num, sizeof num, o.eps, false);
        n += (size_t)snprintf(text + n, sizeof text - n, ",eps=%s", num);
    }
    if (o.momentum_kind == MOMENTUM_NONE)
        n += (size_t)snprintf(text + n, sizeof text - n, ",momentum=none");
    else if (o.momentum_kind == MOMENTUM_VALUE) {
        clnn__print_real(num, sizeof num, o.momentum, false);
        n += (size_t)snprintf(text + n, sizeof text - n, ",momentum=%s", num);
    }
    if (o.no_affine)
        n += (size_t)snprintf(text + n, sizeof text - n, ",affine=false");
    if (o.no_running_stats)
        n += (size_t)snprintf(text + n, sizeof text - n, ",track_running_stats=false");
    if (n == 0)
        return snprintf(buf, cap, "%s", "");
    text[0] = ':'; /* the first ',' */
    return snprintf(buf, cap, "%s", text);
}

static bool width_source(const clnn__layer_spec *spec, const char **suffix, size_t *ndim,
                         size_t *dim)
{
    const clnn__bn_options o = clnn__bn_options_of(spec);
    if (!o.affine && !o.track_running_stats)
        return false; /* no tensors at all */
    *suffix = o.affine ? "weight" : "running_mean"; /* [features] */
    *ndim = 1;
    *dim = 0;
    return true;
}

/* PyTorch's state dict: weight and bias with affine, running_mean,
 * running_var and num_batches_tracked with track_running_stats. */
static size_t declare(clnn__layer *l, clnn__tensor_decl out[CLNN__LAYER_TENSORS_MAX])
{
    bn_state *s = l->state;
    s->opt = clnn__bn_options_of(&l->spec);
    const size_t n = l->out;
    size_t k = 0;
    if (s->opt.affine) {
        out[k++] = (clnn__tensor_decl){.suffix = "weight", .storage = CLNN__IN_PARAMS,
                                       .ndim = 1, .shape = {n}, .offset = &s->weight_off};
        out[k++] = (clnn__tensor_decl){.suffix = "bias", .storage = CLNN__IN_PARAMS, .ndim = 1,
                                       .shape = {n}, .offset = &s->bias_off};
    }
    if (s->opt.track_running_stats) {
        out[k++] = (clnn__tensor_decl){.suffix = "running_mean", .storage = CLNN__IN_STATS,
                                       .ndim = 1, .shape = {n}, .offset = &s->rmean_off};
        out[k++] = (clnn__tensor_decl){.suffix = "running_var", .storage = CLNN__IN_STATS,
                                       .ndim = 1, .shape = {n}, .offset = &s->rvar_off};
        out[k++] = (clnn__tensor_decl){.suffix = "num_batches_tracked", .storage = CLNN__ON_HOST,
                                       .ndim = 0, .counter = &s->num_batches_tracked};
    }
    return k;
}

static void init(clnn__layer *l, clnn__rng *rng, float *params, float *stats)
{
    bn_state *s = l->state;
    for (size_t j = 0; j < l->out && s->opt.affine; j++) {
        params[s->weight_off + j] = 1.0f;
        params[s->bias_off + j] = 0.0f;
    }
    for (size_t j = 0; j < l->out && s->opt.track_running_stats; j++) {
        stats[s->rmean_off + j] = 0.0f;
        stats[s->rvar_off + j] = 1.0f;
    }
    s->num_batches_tracked = 0;
}

static size_t buffers(clnn__layer *l, clnn__buffer_decl out[CLNN__LAYER_BUFFERS_MAX])
{
    bn_state *s = l->state;
    const size_t bytes = l->out * sizeof(float);
    out[0] = (clnn__buffer_decl){&s->save_mean, bytes, false};
    out[1] = (clnn__buffer_decl){&s->save_invstd, bytes, false};
    out[2] = (clnn__buffer_decl){&s->sync_sums, 2 * bytes, true};
    if (s->opt.affine && s->opt.track_running_stats)
        return 3;
    out[3] = (clnn__buffer_decl){&s->subst, 4 * bytes, false};
    return 4;
}

clnn_status clnn__bn_args(clnn__layer *l, const clnn__exec *e, bn_args *a)
{
    bn_state *s = l->state;
    const int n = (int)l->out;
    const bool affine = s->opt.affine, track = s->opt.track_running_stats;
    /* subst: [0, n) γ = 1, [n, 2n) β = 0, [2n, 4n) written, never read. */
    *a = (bn_args){.params = affine ? e->params : s->subst,
                   .grads = affine ? e->grads : s->subst,
                   .stats = track ? e->stats : s->subst,
                   .goff = affine ? (int)s->weight_off : 0,
                   .boff = affine ? (int)s->bias_off : n,
                   .dgoff = affine ? (int)s->weight_off : 2 * n,
                   .dboff = affine ? (int)s->bias_off : 3 * n,
                   .moff = track ? (int)s->rmean_off : 2 * n,
                   .voff = track ? (int)s->rvar_off : 3 * n,
                   .eps = (float)s->opt.eps,
                   .momentum = (float)s->opt.momentum,
                   .batch_stats = e->training || !track};
    /* momentum=None: PyTorch counts the batch first, then averages with
     * factor 1/num_batches_tracked. */
    if (s->opt.momentum_none)
        a->momentum = (float)(1.0 / (double)(s->num_batches_tracked + 1));
    if (affine || s->subst_ready)
        return CLNN_OK;
    float *ones = clnn__malloc(l->out * sizeof *ones);
    if (!ones)
        return CLNN_ERR_OUT_OF_MEMORY;
    for (size_t j = 0; j < l->out; j++)
        ones[j] = 1.0f;
    clnn_status st =
        clnn__buffer_write(e->ctx, s->subst, 0, l->out * sizeof *ones, ones, true, NULL);
    free(ones);
    s->subst_ready = st == CLNN_OK;
    return st;
}

/* A ReLU after it runs inside its kernels, each way, whatever its options
 * (they change only the kernels' arguments); the synchronised kernels
 * split the work and cannot. */
static bool fuses_next(const clnn__layer *l, const clnn__layer *next, bool synchronised)
{
    return next->spec.kind == CLNN__LAYER_RELU && !synchronised;
}

/* Its backward kernel has dx in registers, so it sums the columns of dx
 * for the layer before (a dense layer's bias gradient), into the grads it
 * is given: not where affine=false sends its own parameter gradients. */
static bool sums_dx(const clnn__layer *l, bool synchronised)
{
    const bn_state *s = l->state;
    return !synchronised && s->opt.affine;
}

static void prepare(clnn__layer *l, clnn_context *ctx)
{
    bn_state *s = l->state;
    const size_t n = l->out;
    clnn__column_kernel_init(ctx, &s->forward_train, "batchnorm", "bn_forward_train", n);
    clnn__column_kernel_init(ctx, &s->forward_eval, "batchnorm", "bn_forward_eval", n);
    clnn__column_kernel_init(ctx, &s->backward, "batchnorm", "bn_backward", n);
    clnn__column_kernel_init(ctx, &s->column_sum, "batchnorm", "bn_column_sum", n);
    clnn__column_kernel_init(ctx, &s->apply_train, "batchnorm", "bn_apply_train", n);
    clnn__column_kernel_init(ctx, &s->backward_sums, "batchnorm", "bn_backward_sums", n);
    clnn__column_kernel_init(ctx, &s->backward_apply, "batchnorm", "bn_backward_apply", n);
}

/* next_y non-NULL: the following ReLU's output is written too. Without
 * running statistics evaluation normalises with the batch's statistics,
 * through the training kernel (whose running averages go to scratch). */
static clnn_status forward(clnn__layer *l, const clnn__exec *e, const clnn__layer_plan *p,
                           const clnn__rows *xr, cl_mem y, cl_mem next_y)
{
    if (e->synchronised)
        return clnn__bn_forward_sync(l, e, xr->buf, y);
    bn_state *s = l->state;
    clnn_context *ctx = e->ctx;
    bn_args a;
    clnn_status st = clnn__bn_args(l, e, &a);
    if (st == CLNN_OK && a.batch_stats && e->rows < 2)
        /* Training refuses such batches before any layer runs (min_train_rows). */
        return clnn__fail(CLNN_ERR_BATCH_TOO_SMALL,
                          "a batch of %zu row is too small for BatchNorm (layer %zu) with "
                          "track_running_stats=false, which normalises with the batch's "
                          "statistics in eval mode too (expected more than 1 value per "
                          "channel); use batches of at least 2 rows",
                          e->rows, l->index);
    const bool training = a.batch_stats;
    clnn__column_kernel *ck = training ? &s->forward_train : &s->forward_eval;
    const char *name = ck->ref.name;
    cl_kernel k;
    if (st == CLNN_OK)
        st = clnn__kernel_ref_get(ctx, &ck->ref, &k);
    if (st != CLNN_OK)
        return st;
    const size_t *lp = clnn__column_local(ck);
    cl_mem x = xr->buf;
    int r = (int)e->rows, c = (int)l->out, ld = (int)l->ld;
    int fuse = next_y ? 1 : 0;
    cl_mem relu_arg = next_y ? next_y : y; /* never written when fuse is 0 */
    /* Minimum traffic: read x, write y and the fused ReLU's output (the
     * kernel's second pass over x hits cache). */
    clnn__profile_work(ctx, 0, (next_y ? 12.0 : 8.0) * e->rows * l->out);
    if (training) {
        st = CLNN__LAUNCH(ctx, k, name, 1, ck->global, lp, CLNN__ARG(x), CLNN__ARG(y),
                          CLNN__ARG(r), CLNN__ARG(c), CLNN__ARG(ld), CLNN__ARG(a.params),
                          CLNN__ARG(a.goff), CLNN__ARG(a.boff), CLNN__ARG(a.stats),
                          CLNN__ARG(a.moff), CLNN__ARG(a.voff), CLNN__ARG(s->save_mean),
                          CLNN__ARG(s->save_invstd), CLNN__ARG(a.momentum), CLNN__ARG(a.eps),
                          CLNN__ARG(relu_arg), CLNN__ARG(fuse));
        if (st == CLNN_OK && e->training && s->opt.track_running_stats)
            s->num_batches_tracked++;
        return st;
    }
    return CLNN__LAUNCH(ctx, k, name, 1, ck->global, lp, CLNN__ARG(x), CLNN__ARG(y), CLNN__ARG(r),
                        CLNN__ARG(c), CLNN__ARG(ld), CLNN__ARG(a.params), CLNN__ARG(a.goff),
                        CLNN__ARG(a.boff), CLNN__ARG(a.stats), CLNN__ARG(a.moff),
                        CLNN__ARG(a.voff), CLNN__ARG(s->save_mean), CLNN__ARG(s->save_invstd),
                        CLNN__ARG(a.eps), CLNN__ARG(relu_arg), CLNN__ARG(fuse));
}

/* With the plan's runs_next, dy is the gradient at the ReLU's output,
 * masked inside the kernel by y > 0; with prev_bias_grad, the same kernel
 * writes the column sums of dx there. */
static clnn_status backward(clnn__layer *l, const clnn__exec *e, const clnn__layer_plan *p,
                            cl_mem x, cl_mem y, cl_mem dy, cl_mem dx)
{
    if (e->synchronised)
        return clnn__bn_backward_sync(l, e, x, dy, dx);
    bn_state *s = l->state;
    clnn_context *ctx = e->ctx;
    bn_args a;
    cl_kernel k;
    clnn_status st = clnn__bn_args(l, e, &a);
    if (st == CLNN_OK)
        st = clnn__kernel_ref_get(ctx, &s->backward.ref, &k);
    if (st != CLNN_OK)
        return st;
    int r = (int)e->rows, c = (int)l->out, ld = (int)l->ld;
    int bs = a.batch_stats ? 1 : 0, need_dx = dx ? 1 : 0, fuse = p->runs_next ? 1 : 0;
    cl_mem mask = p->runs_next ? y : dy; /* never read when fuse is 0 */
    cl_mem dx_arg = dx ? dx : dy;         /* never written when need_dx is 0 */
    int prev_bias_off = p->prev_bias_grad >= 0 && dx ? (int)p->prev_bias_grad : -1;
    /* Minimum traffic: read x and dy, the fused ReLU's mask, write dx. */
    clnn__profile_work(ctx, 0,
                       (8.0 + (p->runs_next ? 4.0 : 0.0) + (dx ? 4.0 : 0.0)) * e->rows * l->out);
    return CLNN__LAUNCH(ctx, k, "bn_backward", 1, s->backward.global,
                        clnn__column_local(&s->backward), CLNN__ARG(x), CLNN__ARG(dy),
                        CLNN__ARG(dx_arg), CLNN__ARG(r), CLNN__ARG(c), CLNN__ARG(ld),
                        CLNN__ARG(a.params), CLNN__ARG(a.goff), CLNN__ARG(s->save_mean),
                        CLNN__ARG(s->save_invstd), CLNN__ARG(a.grads), CLNN__ARG(a.dgoff),
                        CLNN__ARG(a.dboff), CLNN__ARG(bs), CLNN__ARG(need_dx), CLNN__ARG(mask),
                        CLNN__ARG(fuse), CLNN__ARG(prev_bias_off));
}

static const char *const aliases[] = {"batchnorm1d", "batchnorm", NULL};

const clnn__layer_class clnn__layer_class_batchnorm = {
    .name = "bn",
    .aliases = aliases,
    .info_name = "batchnorm1d",
    .usage = "bn[:eps=E,momentum=M|none,affine=B,track_running_stats=B] (or batchnorm1d)",
    .parse = parse,
    .print = print,
    .width_source = width_source,
    .state_size = sizeof(bn_state),
    .declare = declare,
    .init = init,
    .buffers = buffers,
    .min_train_rows = 2,
    .min_rows_title = "BatchNorm",
    .min_rows_reason = "expected more than 1 value per channel when training",
    .fuses_next = fuses_next,
    .sums_dx = sums_dx,
    .prepare = prepare,
    .forward = forward,
    .backward = backward,
};
