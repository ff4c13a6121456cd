/* One pass over the training data: shuffle, gather batches (or name their
 * rows, when the training set is on the device), step. The loss is
 * read back only at the end and for rationed progress redraws, because every
 * read stalls the host until the device has drained its queue. */
#include "os.h"
#include "progress.h"
#include "train.h"
#include "train_parallel.h"

#include <math.h>
#include <string.h>

size_t train_batches_per_epoch(const train_plan *plan)
{
    size_t full = plan->n / plan->batch;
    size_t rest = plan->n % plan->batch;
    size_t least = plan->drop_single ? 2 : 1;
    if (plan->min_batch > least)
        least = plan->min_batch; /* every rank needs its rows, see train_parallel.c */
    return full + (rest >= least);
}

static void gather(const train_plan *plan, size_t start, size_t count)
{
    const size_t f = plan->features;
    for (size_t i = 0; i < count; i++) {
        size_t src = plan->perm[start + i];
        memcpy(plan->xb + i * f, plan->x + src * f, f * sizeof *plan->xb);
        memcpy((char *)plan->yb + i * plan->y_width * 4, (const char *)plan->y + src * plan->y_width * 4,
               plan->y_width * 4);
    }
}

static clnn_status redraw(clnn_net *net, const train_plan *plan, size_t epoch, size_t done,
                          size_t total, double start)
{
    double loss = 0.0;
    uint64_t samples = 0;
    clnn_status st = clnn_net_metrics_read(net, &loss, NULL, &samples);
    if (st != CLNN_OK)
        return st;
    double now = cli_now();
    double elapsed = now - start;
    double rate = elapsed > 0.0 ? (double)samples / elapsed : 0.0;
    double eta = elapsed / (double)done * (double)(total - done);
    cli_progress_draw(now, epoch + 1, plan->epochs, done + plan->start_batch,
                      total + plan->start_batch, loss, rate, eta);
    return CLNN_OK;
}

clnn_status train_epoch(clnn_net *net, const train_plan *plan, size_t epoch, epoch_result *out)
{
    const double start = cli_now();
    cli_progress_restart(start);
    clnn_status st = CLNN_OK;
    if (plan->shuffle)
        st = clnn_permutation(plan->seed, epoch, plan->n, plan->perm);
    else
        for (size_t i = 0; i < plan->n; i++)
            plan->perm[i] = (uint32_t)i;
    if (st == CLNN_OK && plan->on_device)
        st = clnn_net_set_data_order(net, plan->perm, plan->n);
    /* A resumed epoch keeps the loss and accuracy sums its checkpoint restored. */
    if (st == CLNN_OK && plan->start_batch == 0)
        st = clnn_net_metrics_reset(net);
    const size_t total = train_batches_per_epoch(plan);
    uint64_t trained = 0;
    for (size_t b = plan->start_batch; st == CLNN_OK && b < total; b++) {
        size_t first = b * plan->batch;
        size_t count = plan->n - first < plan->batch ? plan->n - first : plan->batch;
        if (plan->ranks > 1) {
            /* This rank's rows of the global batch; the library averages the
             * gradient over all count rows of every rank. */
            size_t offset, rows;
            train_par_shard(plan, count, &offset, &rows);
            gather(plan, first + offset, rows);
            st = plan->loss == CLNN_LOSS_MSE
                     ? clnn_net_train_shard_targets(net, plan->xb, rows, plan->features, plan->yb,
                                                    rows * plan->y_width, count, offset)
                     : clnn_net_train_shard_at(net, plan->xb, rows, plan->features, plan->yb,
                                               rows, count, offset);
        } else if (plan->on_device) {
            st = clnn_net_train_rows(net, first, count);
        } else {
            gather(plan, first, count);
            st = plan->loss == CLNN_LOSS_MSE
                     ? clnn_net_train_batch_targets(net, plan->xb, count, plan->features,
                                                    plan->yb, count * plan->y_width)
                     : clnn_net_train_batch(net, plan->xb, count, plan->features, plan->yb,
                                            count);
        }
        trained += count;
        if (st == CLNN_OK && plan->after_step)
            st = plan->after_step(plan->after_step_user, net, epoch, b + 1, total);
        if (st == CLNN_OK && cli_progress_due(cli_now()))
            st = redraw(net, plan, epoch, b + 1 - plan->start_batch, total - plan->start_batch,
                        start);
    }
    /* Regression has no accuracy: NAN, which the epoch line leaves out and
     * metrics files write as null. */
    out->accuracy = NAN;
    if (st == CLNN_OK)
        st = clnn_net_metrics_read(net, &out->loss,
                                   plan->loss == CLNN_LOSS_MSE ? NULL : &out->accuracy, NULL);
    out->samples = trained;
    out->seconds = cli_now() - start;
    return st;
}
