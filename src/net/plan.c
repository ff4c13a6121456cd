/* The plan: what runs in which kernel, decided once (at the first reserve
 * after init or after the parallel options change) from what each kind
 * says it can share with its neighbours, and the kernels chosen for the
 * device, to be looked up on their first launch and kept. The driver
 * names no kind: every decision comes from the table of kinds. */
#include "net/net_internal.h"

#include <stdio.h>
#include <string.h>

/* Up to this many classes, CPU devices take 16 rows per work-item with the
 * class count built in, a row's logits held in registers (kernels/loss.cl). */
#define LOSS_VECTOR_CLASSES_MAX 32

void clnn__net_kernels_init(clnn_net *net)
{
    clnn_context *ctx = net->ctx;
    clnn__net_kernels *k = &net->kernels;
    char options[96];
    snprintf(options, sizeof options, "-DGATHER_CHUNK=%d", CLNN__GATHER_CHUNK);
    clnn__kernel_ref_init(&k->gather, "input", options, "gather_rows");
    /* Once logits spread by more than about 87, exp(z − max) is subnormal,
     * which costs CPUs many times a normal operation (the whole kernel ran
     * twice as long); flushed to zero, such a probability changes by less
     * than 1e-38. */
    const size_t classes = clnn_net_out_features(net);
    k->loss_rows16 = ctx->info.type == CLNN_DEVICE_CPU && classes <= LOSS_VECTOR_CLASSES_MAX;
    if (k->loss_rows16)
        snprintf(options, sizeof options, "-cl-denorms-are-zero -DROWS16 -DCLASSES=%zu", classes);
    else
        snprintf(options, sizeof options, "-cl-denorms-are-zero");
    clnn__kernel_ref_init(&k->loss_one, "loss", options, "softmax_xent_reduce");
    clnn__kernel_ref_init(&k->loss, "loss", options, "softmax_xent");
    clnn__kernel_ref_init(&k->loss_sum, "loss", options, "loss_reduce");
    clnn__kernel_ref_init(&k->mse, "loss", options, "mse");
    clnn__column_kernel_init(ctx, &k->sgd, "optimizer", "sgd_step", net->nparams_padded);
    clnn__column_kernel_init(ctx, &k->adam, "optimizer", "adam_step", net->nparams_padded);
    clnn__column_kernel_init(ctx, &k->find_nonfinite, "optimizer", "find_nonfinite",
                             net->nparams_padded);
}

/* Fusion in one mode; synchronised: statistics are synchronised across
 * processes, which splits the kernels of the kinds that keep them. A layer
 * run by its predecessor's kernels saves a launch and a pass over its
 * output each way (BatchNorm + ReLU); a bias gradient summed by the
 * backward kernel after it, which has that gradient in registers, or by
 * the loss's reduction, saves a launch and a pass over dy. */
static void plan_mode(clnn_net *net, bool training)
{
    const bool synchronised = training && clnn__sync_batchnorm(net);
    const size_t n = net->nlayers;
    for (size_t i = 0; i < n; i++) {
        clnn__layer_plan *p = &net->layers[i].plan[training];
        *p = (clnn__layer_plan){.prev_bias_grad = -1, .pair_grads = net->fusion};
    }
    for (size_t i = 0; i < n && net->fusion; i++) {
        const clnn__layer *l = &net->layers[i].l;
        const clnn__layer_class *c = l->cls;
        clnn__layer_plan *p = &net->layers[i].plan[training];
        const long bias = c->bias_grad_off ? c->bias_grad_off(l) : -1;
        if (i + 1 == n) {
            /* The loss's reduction kernel sums its input's columns. */
            if (bias >= 0)
                p->bias_grad_elsewhere = true;
            continue;
        }
        const clnn__layer *next = &net->layers[i + 1].l;
        clnn__layer_plan *q = &net->layers[i + 1].plan[training];
        if (!p->run_by_prev && c->fuses_next && c->fuses_next(l, next, synchronised))
            p->runs_next = q->run_by_prev = true;
        if (bias >= 0 && !q->run_by_prev && next->cls->sums_dx &&
            next->cls->sums_dx(next, synchronised)) {
            p->bias_grad_elsewhere = true;
            q->prev_bias_grad = bias;
        }
    }
}

void clnn__net_plan(clnn_net *net)
{
    plan_mode(net, false);
    plan_mode(net, true);
    const clnn__net_layer *last = &net->layers[net->nlayers - 1];
    net->loss_bias_grad = -1;
    if (last->plan[1].bias_grad_elsewhere)
        net->loss_bias_grad = last->l.cls->bias_grad_off(&last->l);
    for (size_t i = 0; i < net->nlayers; i++) {
        clnn__layer *l = &net->layers[i].l;
        if (l->cls->prepare)
            l->cls->prepare(l, net->ctx);
    }
    net->planned = true;
}

void clnn__net_unplan(clnn_net *net)
{
    net->planned = false;
}

clnn__exec clnn__net_exec(const clnn_net *net, size_t rows, bool training)
{
    const bool sync = training && clnn__sync_batchnorm(net);
    return (clnn__exec){.ctx = net->ctx, .params = net->params, .grads = net->grads,
                        .stats = net->stats, .rows = rows, .first_row = net->first_row, .training = training,
                        .synchronised = sync, .global_rows = net->global_batch,
                        .allreduce = net->parallel.allreduce,
                        .allreduce_user = net->parallel.user, .host_sums = net->host_sums};
}

size_t clnn__net_min_train_rows(const clnn_net *net, size_t *layer)
{
    size_t most = 1;
    for (size_t i = 0; i < net->nlayers; i++) {
        const size_t m = net->layers[i].l.cls->min_train_rows;
        if (m > most) {
            most = m;
            if (layer)
                *layer = i;
        }
    }
    return most;
}
