/* Forward, backward, optimizer steps and evaluation, all queued without
 * waiting for the device except where results are read back. */
#include "net/net_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_CHUNK 1024

clnn_status clnn_net_set_training(clnn_net *net, bool training)
{
    clnn__clear_error();
    if (!net)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_net_set_training: net is NULL");
    CLNN__ENTER(net->ctx, "clnn_net_set_training");
    net->training = training;
    return CLNN_OK;
}

bool clnn_net_is_training(const clnn_net *net)
{
    return net && net->training;
}

/* A rate or factor the kernels take as a float: finite, >= 0 and no larger
 * than the largest float (a larger double becomes infinity there). */
static clnn_status check_factor(const char *fn, const char *field, double v, const char *what)
{
    if (!(v >= 0 && v <= FLT_MAX))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s: %s is %g: %s must be finite, >= 0 and at most %g (the largest "
                          "float)",
                          fn, field, v, what, (double)FLT_MAX);
    return CLNN_OK;
}

static clnn_status check_options(const clnn_optimizer_options *o)
{
    const char *fn = "clnn_net_set_optimizer";
    if (o->kind != CLNN_OPTIMIZER_SGD && o->kind != CLNN_OPTIMIZER_ADAM)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s: options.kind is %d: use CLNN_OPTIMIZER_SGD or CLNN_OPTIMIZER_ADAM "
                          "(unknown optimizer kind)",
                          fn, (int)o->kind);
    clnn_status st = check_factor(fn, "options.lr", o->lr, "the learning rate");
    if (st == CLNN_OK)
        st = check_factor(fn, "options.weight_decay", o->weight_decay, "the weight decay");
    if (st != CLNN_OK)
        return st;
    if (o->kind == CLNN_OPTIMIZER_SGD) {
        st = check_factor(fn, "options.momentum", o->momentum, "the momentum");
        if (st == CLNN_OK && !(fabs(o->dampening) <= FLT_MAX))
            st = clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                            "%s: options.dampening is %g: the dampening must be finite", fn,
                            o->dampening);
        if (st == CLNN_OK && o->nesterov && (o->momentum <= 0 || o->dampening != 0))
            st = clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                            "%s: options.nesterov: Nesterov momentum requires a momentum > 0 "
                            "and zero dampening (as torch.optim.SGD)",
                            fn);
        return st;
    }
    if (!(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s: options.beta1 and options.beta2 are (%g, %g): invalid Adam betas; "
                          "each must be in [0, 1)",
                          fn, o->beta1, o->beta2);
    return check_factor(fn, "options.eps", o->eps, "Adam's eps");
}

/* The caller's options over the defaults of their kind: fields a program
 * built against an older header lacks keep those (kind is in every
 * version, so the struct is read once to learn it, then over its
 * defaults). */
static clnn_status optimizer_options_in(const clnn_optimizer_options *given,
                                        clnn_optimizer_options *o)
{
    const char *call = "clnn_net_set_optimizer";
    clnn_optimizer_options_init(o, CLNN_OPTIMIZER_SGD);
    clnn_status st = CLNN__STRUCT_IN(clnn_optimizer_options, o, given, call);
    if (st == CLNN_OK) {
        clnn_optimizer_options_init(o, o->kind);
        st = CLNN__STRUCT_IN(clnn_optimizer_options, o, given, call);
    }
    return st;
}

clnn_status clnn_net_set_optimizer(clnn_net *net, const clnn_optimizer_options *options)
{
    clnn__clear_error();
    clnn_status st = clnn__net_check_ready(net, "clnn_net_set_optimizer");
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_set_optimizer");
    if (!options)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_net_set_optimizer: options is NULL");
    clnn_optimizer_options o;
    st = optimizer_options_in(options, &o);
    if (st == CLNN_OK)
        st = check_options(&o);
    if (st != CLNN_OK)
        return st;
    size_t bytes = (net->nparams_padded + 1) * sizeof(float);
    st = clnn__buffer_zero(net->ctx, net->opt_a, 0, bytes);
    if (st == CLNN_OK)
        st = clnn__buffer_zero(net->ctx, net->opt_b, 0, bytes);
    if (st != CLNN_OK)
        return st;
    net->opt = o;
    net->opt_steps = 0;
    net->opt_set = true;
    return CLNN_OK;
}

clnn_status clnn_net_set_lr(clnn_net *net, double lr)
{
    clnn__clear_error();
    clnn_status st = clnn__net_check_ready(net, "clnn_net_set_lr");
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_set_lr");
    if (st == CLNN_OK)
        st = check_factor("clnn_net_set_lr", "lr", lr, "the learning rate");
    if (st == CLNN_OK && !net->opt_set)
        st = clnn__fail(CLNN_ERR_STATE,
                        "clnn_net_set_lr: the network has no optimizer yet; choose one with "
                        "clnn_net_set_optimizer (its options.lr sets the first rate)");
    if (st == CLNN_OK)
        net->opt.lr = lr;
    return st;
}

/* Wait for the upload that last used this staging slot, then refill it. */
static clnn_status staging_wait(cl_event *ev)
{
    return clnn__event_wait_release(ev);
}

/* Whether f is NaN or infinite, from its exponent bits: unlike isfinite()
 * this keeps the copy loop below vectorisable. */
static inline uint32_t nonfinite_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return (b & 0x7f800000u) == 0x7f800000u;
}

/* Copies the batch into its staging slot and checks it for non-finite
 * values in the same pass: a separate check read the whole batch a second
 * time on the host every step. */
static clnn_status copy_input(const clnn_net *net, const char *fn, float *restrict dst,
                              const float *restrict x, size_t batch)
{
    const size_t n = batch * net->in_features;
    enum { BLOCK = 16 }; /* a fixed inner trip count lets -O2 vectorise it */
    uint32_t bad = 0;
    size_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK) {
        uint32_t block_bad = 0;
        for (size_t j = 0; j < BLOCK; j++) {
            dst[i + j] = x[i + j];
            block_bad |= nonfinite_bits(x[i + j]);
        }
        bad |= block_bad;
    }
    for (; i < n; i++) {
        dst[i] = x[i];
        bad |= nonfinite_bits(x[i]);
    }
    if (!bad)
        return CLNN_OK;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return clnn__fail(CLNN_ERR_NONFINITE,
                              "%s: x holds a non-finite value: sample %zu, feature %zu is %s; "
                              "clean or normalise the data first",
                              fn, i / net->in_features, i % net->in_features,
                              isnan(x[i]) ? "NaN" : "infinite");
    return CLNN_OK;
}

clnn_status clnn__check_labels(const clnn_net *net, const char *fn, const int32_t *labels,
                               size_t batch)
{
    size_t classes = clnn_net_out_features(net);
    for (size_t i = 0; i < batch; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= classes)
            return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                              "%s: label %d of sample %zu is outside 0..%zu: the last layer has "
                              "%zu outputs, one per class",
                              fn, (int)labels[i], i, classes - 1, classes);
    return CLNN_OK;
}

clnn_status clnn__check_rows(const clnn_net *net, const char *fn, const float *x, size_t rows,
                             size_t features)
{
    if (!x)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: x is NULL", fn);
    if (rows == 0)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: rows is 0: give at least one row", fn);
    if (features != net->in_features)
        return clnn__fail(CLNN_ERR_SHAPE,
                          "%s: x has %zu features per row (the features argument) but the "
                          "network takes %zu (clnn_net_in_features)",
                          fn, features, net->in_features);
    if (rows > SIZE_MAX / sizeof(float) / features)
        return clnn__fail(CLNN_ERR_SHAPE, "%s: %zu rows of %zu features overflow the address space",
                          fn, rows, features);
    return CLNN_OK;
}

clnn_status clnn__check_count(const char *fn, const char *arg, const void *p, size_t count,
                              size_t needed, const char *unit)
{
    if (!p)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, arg);
    if (count != needed)
        return clnn__fail(CLNN_ERR_SHAPE,
                          "%s: %s has %zu entries (its count argument) but the call needs %zu: %s",
                          fn, arg, count, needed, unit);
    return CLNN_OK;
}

clnn_status clnn__check_batch(const clnn_net *net, const char *fn, const float *x, size_t rows,
                              size_t features, const void *y, size_t count)
{
    clnn_status st = clnn__check_rows(net, fn, x, rows, features);
    if (st != CLNN_OK || net->loss != CLNN_LOSS_MSE)
        return st == CLNN_OK
                   ? clnn__check_count(fn, "labels", y, count, rows, "one label per row of x")
                   : st;
    const size_t k = clnn_net_out_features(net);
    char unit[128];
    snprintf(unit, sizeof unit, "%zu rows × %zu outputs (a target per output of each row of x)",
             rows, k);
    if (rows > SIZE_MAX / sizeof(float) / k)
        return clnn__fail(CLNN_ERR_SHAPE, "%s: %s overflow the address space", fn, unit);
    return clnn__check_count(fn, "targets", y, count, rows * k, unit);
}

/* Checks and buffers every forward needs, wherever its rows come from. */
static clnn_status forward_begin(clnn_net *net, const char *fn, size_t batch, bool training)
{
    if (batch == 0)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: the batch has no rows", fn);
    /* Synchronised statistics see the global batch; otherwise each process
     * normalises its own rows. */
    const bool sync = clnn__sync_batchnorm(net);
    size_t stat_rows = training && sync ? net->global_batch : batch, at = 0;
    const size_t least = clnn__net_min_train_rows(net, &at);
    if (training && stat_rows < least) {
        const clnn__layer_class *c = net->layers[at].l.cls;
        return clnn__fail(CLNN_ERR_BATCH_TOO_SMALL,
                          "%s: %s of %zu row%s is too small for %s (layer %zu) in training mode "
                          "(%s); use a batch of at least %zu rows, or eval mode "
                          "(clnn_net_set_training(net, false))",
                          fn, sync ? "a global batch" : "a batch", stat_rows,
                          stat_rows == 1 ? "" : "s", c->min_rows_title, at, c->min_rows_reason,
                          least);
    }
    return clnn__net_reserve(net, batch);
}

/* The caller's rows (and labels or targets, when it has them already:
 * training steps) go to the device in one transfer through a staging slot;
 * else backward sends them (upload_labels). */
static clnn_status input_from_host(clnn_net *net, const char *fn, const float *x,
                                   const void *labels, size_t batch, clnn__rows *in0)
{
    clnn__staging *s = &net->staging[net->staging_next];
    clnn_status st = staging_wait(&s->x_done);
    if (st == CLNN_OK)
        st = staging_wait(&s->labels_done);
    if (st == CLNN_OK)
        st = copy_input(net, fn, s->x, x, batch);
    if (st != CLNN_OK)
        return st;
    net->staging_next = (net->staging_next + 1) % CLNN__STAGING;
    size_t count = clnn__labels_offset(net, batch);
    if (labels) {
        const size_t n = batch * clnn__target_width(net);
        memcpy(s->x + count, labels, n * sizeof(int32_t));
        count += n; /* an int32 label takes a float's room */
    }
    clnn__profile_scope(net->ctx, "input");
    *in0 = (clnn__rows){net->input, net->in_features, NULL, 0, NULL};
    net->labels = net->input;
    net->labels_off = clnn__labels_offset(net, batch);
    net->labels_sent = labels != NULL;
    return clnn__buffer_write(net->ctx, net->input, 0, count * sizeof(float), s->x, false,
                              &s->x_done);
}

/* Rows order[first ..] of the data kept on the device: read through the
 * order by the first layer's forward where it can, which leaves them packed
 * in the input buffer for its backward; else gathered there by one kernel.
 * Their labels were laid out in the order's order when it was set. */
static clnn_status input_from_data(clnn_net *net, size_t first, size_t batch, clnn__rows *in0)
{
    const clnn__data *d = &net->data;
    net->labels = d->labels;
    net->labels_off = first * d->width;
    net->labels_sent = true;
    *in0 = (clnn__rows){d->x, net->in_features, d->order, first, net->input};
    const clnn__layer *l0 = &net->layers[0].l;
    const clnn__exec e = clnn__net_exec(net, batch, net->training);
    if (l0->cls->reads_indexed && l0->cls->reads_indexed(l0, &e, in0))
        return CLNN_OK;
    *in0 = (clnn__rows){net->input, net->in_features, NULL, 0, NULL};
    cl_kernel k;
    clnn_status st = clnn__kernel_ref_get(net->ctx, &net->kernels.gather, &k);
    if (st != CLNN_OK)
        return st;
    int off = (int)first, rows = (int)batch, features = (int)net->in_features;
    const size_t chunk = CLNN__GATHER_CHUNK;
    const size_t global[2] = {(net->in_features + chunk - 1) / chunk, batch};
    clnn__profile_scope(net->ctx, "input");
    clnn__profile_work(net->ctx, 0, 8.0 * batch * net->in_features);
    return CLNN__LAUNCH(net->ctx, k, "gather_rows", 2, global, NULL, CLNN__ARG(d->x),
                        CLNN__ARG(d->order), CLNN__ARG(off), CLNN__ARG(rows),
                        CLNN__ARG(features), CLNN__ARG(net->input));
}

/* The layers' forward kernels, after the input stage. */
static clnn_status forward_layers(clnn_net *net, const clnn__rows *in0, size_t batch,
                                  bool training)
{
    clnn_status st = CLNN_OK;
    net->forward_done = net->backward_done = false;
    const clnn__exec e = clnn__net_exec(net, batch, training);
    for (size_t i = 0; i < net->nlayers && st == CLNN_OK; i++) {
        clnn__net_layer *nl = &net->layers[i];
        clnn__layer *l = &nl->l;
        const clnn__layer_plan *p = &nl->plan[training];
        const clnn__rows x = {i ? net->outputs[i - 1] : in0->buf, l->ld_in, NULL, 0, NULL};
        clnn__profile_scope(net->ctx, nl->scope_forward);
        st = l->cls->forward(l, &e, p, i ? &x : in0, net->outputs[i],
                             p->runs_next ? net->outputs[i + 1] : NULL);
        if (p->runs_next)
            i++; /* done by layer i's kernels */
    }
    if (st == CLNN_OK) {
        net->batch = batch;
        net->forward_done = true;
        net->forward_was_training = training;
    }
    return st;
}

/* x and labels or targets (when given) have been checked against the net's
 * shape. */
static clnn_status forward(clnn_net *net, const char *fn, const float *x, const void *labels,
                           size_t batch, bool training)
{
    clnn_status st = forward_begin(net, fn, batch, training);
    if (st == CLNN_OK && labels)
        st = clnn__check_y(net, fn, labels, batch);
    clnn__rows in0;
    if (st == CLNN_OK)
        st = input_from_host(net, fn, x, labels, batch, &in0);
    return st == CLNN_OK ? forward_layers(net, &in0, batch, training) : st;
}

clnn_status clnn_net_forward(clnn_net *net, const float *x, size_t rows, size_t features)
{
    clnn__clear_error();
    const char *fn = "clnn_net_forward";
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st == CLNN_OK)
        st = clnn__check_rows(net, fn, x, rows, features);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_forward");
    net->global_batch = rows;
    net->first_row = 0;
    return forward(net, fn, x, NULL, rows, net->training);
}

/* Labels or targets of the last forward go to the device through the
 * staging slot that forward used, after its rows (still being uploaded from
 * the slot's front). */
static clnn_status upload_labels(clnn_net *net, const char *fn, const void *labels)
{
    clnn_status st = clnn__check_y(net, fn, labels, net->batch);
    if (st != CLNN_OK)
        return st;
    size_t slot = (net->staging_next + CLNN__STAGING - 1) % CLNN__STAGING;
    clnn__profile_scope(net->ctx, "input");
    clnn__staging *s = &net->staging[slot];
    st = staging_wait(&s->labels_done);
    if (st != CLNN_OK)
        return st;
    size_t at = clnn__labels_offset(net, net->batch);
    const size_t n = net->batch * clnn__target_width(net);
    memcpy(s->x + at, labels, n * sizeof(int32_t));
    net->labels = net->input;
    net->labels_off = at;
    return clnn__buffer_write(net->ctx, net->input, at * sizeof(float), n * sizeof(int32_t),
                              s->x + at, false, &s->labels_done);
}

static clnn_status backward(clnn_net *net, const char *fn, const void *labels)
{
    clnn_status st = net->labels_sent ? CLNN_OK : upload_labels(net, fn, labels);
    size_t rows = net->batch, last = net->nlayers - 1;
    const bool training = net->forward_was_training;
    const clnn__exec e = clnn__net_exec(net, rows, training);
    int cur = 0;
    clnn__profile_scope(net->ctx, "loss");
    if (st == CLNN_OK)
        st = clnn__loss(net, net->outputs[last], rows, net->global_batch,
                        net->layers[last].l.out, net->grad_bufs[0], CLNN__METRICS_TRAIN,
                        net->loss_bias_grad);
    for (size_t i = net->nlayers; i-- > 0 && st == CLNN_OK;) {
        clnn__net_layer *nl = &net->layers[i];
        clnn__layer *l = &nl->l;
        const clnn__layer_plan *p = &nl->plan[training];
        cl_mem in = i ? net->outputs[i - 1] : net->input;
        cl_mem dy = net->grad_bufs[cur], dx = i ? net->grad_bufs[1 - cur] : NULL;
        clnn__profile_scope(net->ctx, nl->scope_backward);
        if (p->run_by_prev)
            continue; /* the layer before runs its backward; dy stays where it is */
        st = l->cls->backward(l, &e, p, in, net->outputs[i], dy, dx);
        if (st == CLNN_OK && clnn__parallel(net))
            st = clnn__grad_bucket_read(net, i);
        cur = 1 - cur;
    }
    if (st == CLNN_OK && clnn__parallel(net))
        st = clnn__grad_allreduce(net);
    net->backward_done = st == CLNN_OK;
    return st;
}

static clnn_status backward_y(clnn_net *net, const char *fn, clnn_loss_kind loss,
                              const void *y, size_t count)
{
    clnn__clear_error();
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, fn);
    st = clnn__loss_check(net, fn, loss);
    if (st != CLNN_OK)
        return st;
    if (!net->forward_done)
        return clnn__fail(CLNN_ERR_STATE,
                          "%s: no forward pass to backpropagate; call "
                          "clnn_net_forward first",
                          fn);
    const size_t width = clnn__target_width(net);
    char unit[128];
    snprintf(unit, sizeof unit, "%s", "one label per row of the last forward");
    if (loss == CLNN_LOSS_MSE)
        snprintf(unit, sizeof unit, "the last forward's %zu rows × %zu outputs", net->batch,
                 width);
    st = clnn__check_count(fn, loss == CLNN_LOSS_MSE ? "targets" : "labels", y, count,
                           net->batch * width, unit);
    return st == CLNN_OK ? backward(net, fn, y) : st;
}

clnn_status clnn_net_backward(clnn_net *net, const int32_t *labels, size_t count)
{
    return backward_y(net, "clnn_net_backward", CLNN_LOSS_CROSS_ENTROPY, labels, count);
}

clnn_status clnn_net_backward_targets(clnn_net *net, const float *targets, size_t count)
{
    return backward_y(net, "clnn_net_backward_targets", CLNN_LOSS_MSE, targets, count);
}

/* Training needs an optimizer the caller chose: a silent default would train
 * with settings nobody asked for. */
static clnn_status check_optimizer(const clnn_net *net, const char *fn)
{
    if (!net->opt_set)
        return clnn__fail(CLNN_ERR_STATE,
                          "%s: the network has no optimizer; choose one with "
                          "clnn_net_set_optimizer first (clnn_optimizer_options_init gives "
                          "PyTorch's defaults)",
                          fn);
    return CLNN_OK;
}

clnn_status clnn_net_step(clnn_net *net)
{
    clnn__clear_error();
    const char *fn = "clnn_net_step";
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st == CLNN_OK)
        st = check_optimizer(net, fn);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_step");
    if (!net->backward_done)
        return clnn__fail(CLNN_ERR_STATE,
                          "%s: no gradients to step with; call clnn_net_backward first", fn);
    return clnn__optimizer_step(net);
}

/* What a training step of a single process needs before it starts. */
static clnn_status single_step_ready(const clnn_net *net, const char *fn)
{
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st == CLNN_OK && clnn__parallel(net))
        return clnn__fail(CLNN_ERR_STATE,
                          "%s: the network is a data-parallel replica: train it with "
                          "clnn_net_train_shard, which knows the global batch",
                          fn);
    return st == CLNN_OK ? check_optimizer(net, fn) : st;
}

/* An MSE network has no accuracy to give: asking for one is a mistake to
 * report, not a zero to print. */
static clnn_status accuracy_check(const clnn_net *net, const char *fn, const double *accuracy)
{
    if (accuracy && net->loss == CLNN_LOSS_MSE)
        return clnn__fail(CLNN_ERR_STATE,
                          "%s: the network's loss is mse (regression), which has no accuracy: "
                          "pass NULL for accuracy",
                          fn);
    return CLNN_OK;
}

/* A step on rows of the caller's: inputs, labels, then forward + backward + step. */
static clnn_status host_step(clnn_net *net, const char *fn, const float *x, size_t rows,
                             const void *labels)
{
    clnn_status st = forward(net, fn, x, labels, rows, net->training);
    if (st == CLNN_OK)
        st = backward(net, fn, labels);
    if (st == CLNN_OK)
        st = clnn__optimizer_step(net);
    return st;
}

static clnn_status train_batch(clnn_net *net, const char *fn, clnn_loss_kind loss,
                               const float *x, size_t rows, size_t features, const void *y,
                               size_t count)
{
    clnn__clear_error();
    clnn_status st = single_step_ready(net, fn);
    if (st == CLNN_OK)
        st = clnn__loss_check(net, fn, loss);
    if (st == CLNN_OK)
        st = clnn__check_batch(net, fn, x, rows, features, y, count);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, fn);
    net->global_batch = rows;
    net->first_row = 0;
    return host_step(net, fn, x, rows, y);
}

clnn_status clnn_net_train_batch(clnn_net *net, const float *x, size_t rows, size_t features,
                                 const int32_t *labels, size_t count)
{
    return train_batch(net, "clnn_net_train_batch", CLNN_LOSS_CROSS_ENTROPY, x, rows, features,
                       labels, count);
}

clnn_status clnn_net_train_batch_targets(clnn_net *net, const float *x, size_t rows,
                                         size_t features, const float *targets, size_t count)
{
    return train_batch(net, "clnn_net_train_batch_targets", CLNN_LOSS_MSE, x, rows, features,
                       targets, count);
}

clnn_status clnn_net_train_rows(clnn_net *net, size_t first, size_t batch)
{
    clnn__clear_error();
    const char *fn = "clnn_net_train_rows";
    clnn_status st = single_step_ready(net, fn);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_train_rows");
    st = clnn__data_check(net, fn);
    if (st != CLNN_OK)
        return st;
    const clnn__data *d = &net->data;
    if (first > d->count || batch > d->count - first)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "clnn_net_train_rows: positions %zu..%zu run past the order's %zu "
                          "entries (0..%zu): set a longer order or take fewer rows",
                          first, first + batch - 1, d->count, d->count - 1);
    net->global_batch = batch;
    net->first_row = 0;
    st = forward_begin(net, fn, batch, net->training);
    clnn__rows in0;
    if (st == CLNN_OK)
        st = input_from_data(net, first, batch, &in0);
    if (st == CLNN_OK)
        st = forward_layers(net, &in0, batch, net->training);
    if (st == CLNN_OK)
        st = backward(net, fn, NULL);
    if (st == CLNN_OK)
        st = clnn__optimizer_step(net);
    return st;
}

clnn_status clnn_net_train_epoch(clnn_net *net, size_t batch_size, double *mean_loss,
                                 double *accuracy)
{
    clnn__clear_error();
    const char *fn = "clnn_net_train_epoch";
    clnn_status st = single_step_ready(net, fn);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, fn);
    st = clnn__data_check(net, fn);
    if (st != CLNN_OK)
        return st;
    if (batch_size == 0)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: batch_size is 0: give the rows per step",
                          fn);
    st = accuracy_check(net, fn, accuracy);
    if (st != CLNN_OK)
        return st;
    /* A last batch too small for a layer to train on (one row, for
     * BatchNorm) is left out. */
    const size_t count = net->data.count, tail = count % batch_size;
    const size_t least = clnn__net_min_train_rows(net, NULL);
    const size_t rows = count - (net->training && tail > 0 && tail < least ? tail : 0);
    st = clnn_net_metrics_reset(net);
    for (size_t first = 0; first < rows && st == CLNN_OK; first += batch_size) {
        st = clnn__progress(net->ctx, "training", first, rows);
        if (st == CLNN_OK)
            st = clnn_net_train_rows(net, first, CLNN__MIN(batch_size, rows - first));
    }
    double loss = 0, acc = 0;
    if (st == CLNN_OK && (mean_loss || accuracy))
        st = clnn_net_metrics_read(net, &loss, net->loss == CLNN_LOSS_MSE ? NULL : &acc, NULL);
    if (st == CLNN_OK && mean_loss)
        *mean_loss = loss;
    if (st == CLNN_OK && accuracy)
        *accuracy = acc;
    return st;
}

static clnn_status train_shard(clnn_net *net, const char *fn, clnn_loss_kind loss,
                               const float *x, size_t rows, size_t features, const void *labels,
                               size_t count, size_t global_batch, size_t first_row)
{
    clnn__clear_error();
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st == CLNN_OK)
        st = check_optimizer(net, fn);
    if (st == CLNN_OK)
        st = clnn__loss_check(net, fn, loss);
    if (st == CLNN_OK)
        st = clnn__check_batch(net, fn, x, rows, features, labels, count);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, fn);
    if (global_batch < rows)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s: global_batch (%zu) must be at least this process's rows (%zu)", fn,
                          global_batch, rows);
    if (first_row > global_batch - rows)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s: rows %zu..%zu run past the global batch of %zu rows: first_row must "
                          "be at most global_batch - rows (%zu)",
                          fn, first_row, first_row + rows - 1, global_batch, global_batch - rows);
    net->global_batch = global_batch;
    net->first_row = first_row;
    return host_step(net, fn, x, rows, labels);
}

clnn_status clnn_net_train_shard(clnn_net *net, const float *x, size_t rows, size_t features,
                                 const int32_t *labels, size_t count, size_t global_batch)
{
    return train_shard(net, "clnn_net_train_shard", CLNN_LOSS_CROSS_ENTROPY, x, rows, features,
                       labels, count, global_batch, 0);
}

clnn_status clnn_net_train_shard_at(clnn_net *net, const float *x, size_t rows, size_t features,
                                    const int32_t *labels, size_t count, size_t global_batch,
                                    size_t first_row)
{
    return train_shard(net, "clnn_net_train_shard_at", CLNN_LOSS_CROSS_ENTROPY, x, rows,
                       features, labels, count, global_batch, first_row);
}

clnn_status clnn_net_train_shard_targets(clnn_net *net, const float *x, size_t rows,
                                         size_t features, const float *targets, size_t count,
                                         size_t global_batch, size_t first_row)
{
    return train_shard(net, "clnn_net_train_shard_targets", CLNN_LOSS_MSE, x, rows, features,
                       targets, count, global_batch, first_row);
}

clnn_status clnn_net_read_output(clnn_net *net, float *logits, size_t count)
{
    return clnn_net_layer_output_read(net, net ? net->nlayers - 1 : 0, logits, count);
}

clnn_status clnn_net_layer_output_read(clnn_net *net, size_t layer, float *dst, size_t count)
{
    clnn__clear_error();
    const char *fn = "clnn_net_layer_output_read";
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_layer_output_read");
    if (!net->forward_done)
        return clnn__fail(CLNN_ERR_STATE, "%s: no forward pass has run yet", fn);
    if (layer >= net->nlayers)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: layer %zu is out of range (%zu layers)",
                          fn, layer, net->nlayers);
    const clnn__layer *l = &net->layers[layer].l;
    char unit[96];
    snprintf(unit, sizeof unit, "layer %zu's output of the last forward is %zu × %zu", layer,
             net->batch, l->out);
    st = clnn__check_count(fn, "dst", dst, count, net->batch * l->out, unit);
    if (st != CLNN_OK)
        return st;
    return clnn__buffer_read_rows(net->ctx, net->outputs[layer], net->batch, l->out, l->ld, dst);
}

/* Wait and read the metrics and the divergence flag, after checking the
 * parameters if steps have changed them since the last read: the check runs
 * here, once per read of results, so that no training step pays for it. */
static clnn_status read_metrics(clnn_net *net, float m[CLNN__METRICS_FLOATS])
{
    if (net->params_unchecked) {
        clnn_status st = clnn__find_nonfinite(net);
        if (st != CLNN_OK)
            return st;
        net->params_unchecked = false;
    }
    return clnn__buffer_read(net->ctx, net->metrics, 0, CLNN__METRICS_FLOATS * sizeof(float), m);
}

/* The refusal of every call that reads results from a diverged network. */
static clnn_status diverged(const char *fn, const char *what)
{
    return clnn__fail(CLNN_ERR_NONFINITE,
                      "%s: training diverged: %s; lower the learning rate (clnn_net_set_lr, or "
                      "options.lr of clnn_net_set_optimizer) and start again from finite weights "
                      "(clnn_net_load_weights, clnn_net_load_checkpoint or a new network)",
                      fn, what);
}

/* CLNN_ERR_NONFINITE when a parameter is no longer finite (the flag
 * find_nonfinite raises in the metrics), m as just read. */
static clnn_status check_params_finite(const char *fn, const float *m)
{
    if (m[CLNN__METRICS_DIVERGED] != 0.0f)
        return diverged(fn, "a parameter is NaN or infinite");
    return CLNN_OK;
}

/* A loss sum read back, or the flag, says the network diverged. */
static clnn_status check_loss_finite(const char *fn, const float *m, float loss, const char *which)
{
    clnn_status st = check_params_finite(fn, m);
    if (st == CLNN_OK && !isfinite(loss)) {
        char what[96];
        snprintf(what, sizeof what, "the %s is %s", which, isnan(loss) ? "NaN" : "infinite");
        st = diverged(fn, what);
    }
    return st;
}

clnn_status clnn__net_params_finite(clnn_net *net, const char *fn)
{
    float m[CLNN__METRICS_FLOATS];
    clnn_status st = read_metrics(net, m);
    return st == CLNN_OK ? check_params_finite(fn, m) : st;
}

clnn_status clnn__net_params_written(clnn_net *net)
{
    net->params_unchecked = true;
    return clnn__buffer_zero(net->ctx, net->metrics, CLNN__METRICS_DIVERGED * sizeof(float),
                             sizeof(float));
}

clnn_status clnn_net_read_loss(clnn_net *net, float *loss)
{
    clnn__clear_error();
    const char *fn = "clnn_net_read_loss";
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_read_loss");
    if (!loss)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: loss is NULL", fn);
    if (!net->backward_done)
        return clnn__fail(CLNN_ERR_STATE, "%s: no loss yet; run clnn_net_backward first", fn);
    float m[CLNN__METRICS_FLOATS];
    st = read_metrics(net, m);
    if (st == CLNN_OK)
        st = check_loss_finite(fn, m, m[CLNN__METRICS_TRAIN], "loss of the last batch");
    if (st == CLNN_OK)
        *loss = m[CLNN__METRICS_TRAIN];
    return st;
}

clnn_status clnn_net_metrics_reset(clnn_net *net)
{
    clnn__clear_error();
    clnn_status st = clnn__net_check_ready(net, "clnn_net_metrics_reset");
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_metrics_reset");
    return clnn__buffer_zero(net->ctx, net->metrics, CLNN__METRICS_TRAIN * sizeof(float),
                             4 * sizeof(float));
}

static void slot_values(const float *m, double *mean_loss, double *accuracy, uint64_t *samples)
{
    double count = m[3];
    if (mean_loss)
        *mean_loss = count > 0 ? m[1] / count : 0.0;
    if (accuracy)
        *accuracy = count > 0 ? m[2] / count : 0.0;
    if (samples)
        *samples = (uint64_t)count;
}

clnn_status clnn_net_metrics_read(clnn_net *net, double *mean_loss, double *accuracy,
                                  uint64_t *samples)
{
    clnn__clear_error();
    const char *fn = "clnn_net_metrics_read";
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, fn);
    st = accuracy_check(net, fn, accuracy);
    float m[CLNN__METRICS_FLOATS];
    if (st == CLNN_OK)
        st = read_metrics(net, m);
    if (st == CLNN_OK)
        st = check_loss_finite(fn, m, m[CLNN__METRICS_TRAIN + 1], "training loss");
    if (st == CLNN_OK)
        slot_values(m + CLNN__METRICS_TRAIN, mean_loss, accuracy, samples);
    return st;
}

static clnn_status evaluate(clnn_net *net, const char *fn, clnn_loss_kind loss, const float *x,
                            size_t rows, size_t features, const void *labels, size_t count,
                            size_t batch, double *mean_loss, double *accuracy)
{
    clnn__clear_error();
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st == CLNN_OK)
        st = clnn__loss_check(net, fn, loss);
    if (st == CLNN_OK)
        st = accuracy_check(net, fn, accuracy);
    if (st == CLNN_OK)
        st = clnn__check_batch(net, fn, x, rows, features, labels, count);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, fn);
    const size_t width = clnn__target_width(net);
    if (batch == 0)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: batch is 0: give the rows per batch", fn);
    st = clnn__buffer_zero(net->ctx, net->metrics, CLNN__METRICS_EVAL * sizeof(float),
                           4 * sizeof(float));
    size_t last = net->nlayers - 1;
    for (size_t i = 0; i < rows && st == CLNN_OK; i += batch) {
        size_t n = CLNN__MIN(batch, rows - i);
        st = clnn__progress(net->ctx, "evaluating", i, rows);
        if (st == CLNN_OK)
            st = forward(net, fn, x + i * net->in_features, NULL, n, false);
        if (st == CLNN_OK)
            st = upload_labels(net, fn, (const int32_t *)labels + i * width);
        clnn__profile_scope(net->ctx, "loss");
        if (st == CLNN_OK)
            st = clnn__loss(net, net->outputs[last], n, n, net->layers[last].l.out, NULL,
                            CLNN__METRICS_EVAL, -1);
    }
    float m[CLNN__METRICS_FLOATS];
    if (st == CLNN_OK)
        st = read_metrics(net, m);
    if (st == CLNN_OK)
        st = check_loss_finite(fn, m, m[CLNN__METRICS_EVAL + 1], "evaluation loss");
    if (st == CLNN_OK)
        slot_values(m + CLNN__METRICS_EVAL, mean_loss, accuracy, NULL);
    return st;
}

clnn_status clnn_net_evaluate(clnn_net *net, const float *x, size_t rows, size_t features,
                              const int32_t *labels, size_t count, size_t batch, double *mean_loss,
                              double *accuracy)
{
    return evaluate(net, "clnn_net_evaluate", CLNN_LOSS_CROSS_ENTROPY, x, rows, features, labels,
                    count, batch, mean_loss, accuracy);
}

clnn_status clnn_net_evaluate_targets(clnn_net *net, const float *x, size_t rows,
                                      size_t features, const float *targets, size_t count,
                                      size_t batch, double *mean_loss)
{
    return evaluate(net, "clnn_net_evaluate_targets", CLNN_LOSS_MSE, x, rows, features, targets,
                    count, batch, mean_loss, NULL);
}

/* The logits of n samples in eval mode into out (n × out_features, n at
 * most EVAL_CHUNK), refused when one is not finite. */
static clnn_status chunk_logits(clnn_net *net, const char *fn, const float *x, size_t n, float *out)
{
    const size_t k = clnn_net_out_features(net);
    clnn_status st = forward(net, fn, x, NULL, n, false);
    if (st == CLNN_OK)
        st = clnn__buffer_read(net->ctx, net->outputs[net->nlayers - 1], 0, n * k * sizeof(float),
                               out);
    for (size_t i = 0; i < n * k && st == CLNN_OK; i++) {
        if (isfinite(out[i]))
            continue;
        st = clnn__net_params_finite(net, fn); /* the likelier cause, and its fix */
        if (st == CLNN_OK)
            st = clnn__fail(CLNN_ERR_NONFINITE,
                            "%s: output %zu of a sample is %s: its inputs are too large for the "
                            "weights (normalise them) or the weights are out of range",
                            fn, i % k, isnan(out[i]) ? "NaN" : "infinite");
    }
    return st;
}

clnn_status clnn_net_predict(clnn_net *net, const float *x, size_t rows, size_t features,
                             int32_t *classes, size_t count)
{
    clnn__clear_error();
    const char *fn = "clnn_net_predict";
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st == CLNN_OK)
        st = clnn__check_rows(net, fn, x, rows, features);
    if (st == CLNN_OK)
        st = clnn__check_count(fn, "classes", classes, count, rows, "one class per row of x");
    if (st == CLNN_OK && net->loss == CLNN_LOSS_MSE)
        st = clnn__fail(CLNN_ERR_STATE,
                        "%s: the network's loss is mse (regression): its outputs are values, "
                        "not class scores; read them with clnn_net_predict_output "
                        "(CLNN_OUTPUT_LOGITS)",
                        fn);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_predict");
    const size_t k = clnn_net_out_features(net), f = net->in_features;
    float *logits = clnn__malloc(CLNN__MIN(rows, (size_t)EVAL_CHUNK) * k * sizeof(float));
    if (!logits)
        return CLNN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < rows && st == CLNN_OK; i += EVAL_CHUNK) {
        size_t n = CLNN__MIN((size_t)EVAL_CHUNK, rows - i);
        st = chunk_logits(net, fn, x + i * f, n, logits);
        for (size_t r = 0; r < n && st == CLNN_OK; r++) {
            size_t best = 0;
            for (size_t j = 1; j < k; j++)
                if (logits[r * k + j] > logits[r * k + best])
                    best = j;
            classes[i + r] = (int32_t)best;
        }
    }
    free(logits);
    return st == CLNN_OK ? clnn__net_params_finite(net, fn) : st;
}

/* Row-wise softmax in place, in double precision: each probability is the
 * correctly rounded float of exp(z − max) / Σ exp(z − max). */
static void softmax_rows(float *z, size_t rows, size_t k)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = z + r * k;
        double mx = row[0], sum = 0.0;
        for (size_t j = 1; j < k; j++)
            mx = row[j] > mx ? row[j] : mx;
        for (size_t j = 0; j < k; j++)
            sum += exp((double)row[j] - mx);
        for (size_t j = 0; j < k; j++)
            row[j] = (float)(exp((double)row[j] - mx) / sum);
    }
}

clnn_status clnn_net_predict_output(clnn_net *net, const float *x, size_t rows, size_t features,
                                    clnn_output_kind kind, float *out, size_t count)
{
    clnn__clear_error();
    const char *fn = "clnn_net_predict_output";
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st == CLNN_OK)
        st = clnn__check_rows(net, fn, x, rows, features);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_predict_output");
    if (kind != CLNN_OUTPUT_LOGITS && kind != CLNN_OUTPUT_PROBABILITIES)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s: kind is %d: use CLNN_OUTPUT_LOGITS or CLNN_OUTPUT_PROBABILITIES", fn,
                          (int)kind);
    if (kind == CLNN_OUTPUT_PROBABILITIES && net->loss == CLNN_LOSS_MSE)
        return clnn__fail(CLNN_ERR_STATE,
                          "%s: the network's loss is mse (regression): its outputs are values, "
                          "not class scores, and have no probabilities; ask for "
                          "CLNN_OUTPUT_LOGITS",
                          fn);
    const size_t k = clnn_net_out_features(net);
    char unit[96];
    snprintf(unit, sizeof unit, "%zu rows × %zu outputs", rows, k);
    if (rows > SIZE_MAX / sizeof(float) / k)
        return clnn__fail(CLNN_ERR_SHAPE, "%s: %s overflow the address space", fn, unit);
    st = clnn__check_count(fn, "out", out, count, rows * k, unit);
    for (size_t i = 0; i < rows && st == CLNN_OK; i += EVAL_CHUNK)
        st = chunk_logits(net, fn, x + i * features, CLNN__MIN((size_t)EVAL_CHUNK, rows - i),
                          out + i * k);
    if (st == CLNN_OK)
        st = clnn__net_params_finite(net, fn);
    if (st == CLNN_OK && kind == CLNN_OUTPUT_PROBABILITIES)
        softmax_rows(out, rows, k);
    return st;
}
