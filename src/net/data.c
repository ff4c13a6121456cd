/* A training set kept on the device (clnn_net_set_data): uploaded and
 * checked once, so that a training step moves no samples between host and
 * device (clnn_net_train_rows in compute.c reads them). */
#include "net/net_internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void clnn__data_release(clnn_net *net)
{
    clnn__data *d = &net->data;
    /* Profiled launches may name these buffers. */
    if (net->ctx && d->x)
        clnn__replay_forget(net->ctx);
    clnn__buffer_release(&d->x);
    clnn__buffer_release(&d->order);
    clnn__buffer_release(&d->labels);
    free(d->host_y);
    memset(d, 0, sizeof *d);
}

clnn_status clnn__data_check(const clnn_net *net, const char *fn)
{
    if (!net->data.x)
        return clnn__fail(CLNN_ERR_STATE,
                          "%s: no data on the device; call clnn_net_set_data first", fn);
    return CLNN_OK;
}

static clnn_status check_values(const clnn_net *net, const char *fn, const float *x,
                                const void *labels, size_t n)
{
    const size_t f = net->in_features;
    for (size_t i = 0; i < n * f; i++)
        if (!isfinite(x[i]))
            return clnn__fail(CLNN_ERR_NONFINITE,
                              "%s: x holds a non-finite value: sample %zu, feature %zu is %s; "
                              "clean or normalise the data first",
                              fn, i / f, i % f, isnan(x[i]) ? "NaN" : "infinite");
    return clnn__check_y(net, fn, labels, n);
}

/* The order and the labels (or targets) laid out in it, in buffers of count
 * entries (count × width for the labels). */
static clnn_status upload_order(clnn_net *net, const uint32_t *order, size_t count)
{
    clnn__data *d = &net->data;
    const size_t w = d->width;
    uint32_t *labels = clnn__malloc(count * w * sizeof *labels);
    if (!labels)
        return CLNN_ERR_OUT_OF_MEMORY;
    if (w == 1)
        for (size_t i = 0; i < count; i++)
            labels[i] = d->host_y[order[i]];
    else
        for (size_t i = 0; i < count; i++)
            memcpy(labels + i * w, d->host_y + (size_t)order[i] * w, w * sizeof *labels);
    clnn_status st = CLNN_OK;
    if (count != d->count) {
        clnn__replay_forget(net->ctx);
        clnn__buffer_release(&d->order);
        clnn__buffer_release(&d->labels);
        d->count = 0;
        st = clnn__buffer_create(net->ctx, count * sizeof(int32_t), &d->order);
        if (st == CLNN_OK)
            st = clnn__buffer_create(net->ctx, count * w * sizeof(int32_t), &d->labels);
    }
    /* In-order queue: steps still queued read the previous order first. */
    if (st == CLNN_OK)
        st = clnn__buffer_write(net->ctx, d->order, 0, count * sizeof(int32_t), order, true,
                                NULL);
    if (st == CLNN_OK)
        st = clnn__buffer_write(net->ctx, d->labels, 0, count * w * sizeof(int32_t), labels, true,
                                NULL);
    free(labels);
    if (st == CLNN_OK)
        d->count = count;
    return st;
}

static clnn_status set_data(clnn_net *net, const char *fn, clnn_loss_kind loss, const float *x,
                           size_t rows, size_t features, const void *labels, size_t count)
{
    clnn__clear_error();
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, fn);
    if (rows == 0 && count == 0 && !x && !labels) {
        /* Queued steps may still read the buffers; freed whatever the wait says. */
        st = clnn__finish(net->ctx);
        clnn__data_release(net);
        return st;
    }
    st = clnn__loss_check(net, fn, loss);
    if (st == CLNN_OK)
        st = clnn__check_batch(net, fn, x, rows, features, labels, count);
    if (st != CLNN_OK)
        return st;
    const size_t f = net->in_features, n = rows, w = clnn__target_width(net);
    const uint64_t max_alloc = net->ctx->info.max_alloc_bytes;
    if (n > INT_MAX || n > SIZE_MAX / sizeof(float) / f ||
        (max_alloc && (uint64_t)n * f * sizeof(float) > max_alloc))
        return clnn__fail(CLNN_ERR_UNSUPPORTED,
                          "clnn_net_set_data: %zu rows of %zu floats do not fit one buffer on "
                          "%s (at most %llu bytes and 2^31 - 1 rows): train from host batches "
                          "(clnn_net_train_batch) instead",
                          n, f, net->ctx->info.name, (unsigned long long)max_alloc);
    st = check_values(net, fn, x, labels, n);
    if (st != CLNN_OK)
        return st;
    uint32_t *identity = clnn__malloc(n * sizeof *identity);
    uint32_t *host_labels = clnn__malloc(n * w * sizeof *host_labels);
    if (!identity || !host_labels) {
        free(identity);
        free(host_labels);
        return CLNN_ERR_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < n; i++)
        identity[i] = (uint32_t)i;
    memcpy(host_labels, labels, n * w * sizeof *host_labels);
    /* Queued steps may still read the data being replaced. */
    st = clnn__finish(net->ctx);
    if (st != CLNN_OK) {
        free(identity);
        free(host_labels);
        return st;
    }
    clnn__data_release(net);
    clnn__data *d = &net->data;
    d->host_y = host_labels;
    d->n = n;
    d->width = w;
    st = clnn__buffer_create(net->ctx, n * f * sizeof(float), &d->x);
    if (st == CLNN_OK)
        st = clnn__buffer_write(net->ctx, d->x, 0, n * f * sizeof(float), x, true, NULL);
    if (st == CLNN_OK)
        st = upload_order(net, identity, n);
    free(identity);
    if (st != CLNN_OK)
        clnn__data_release(net);
    return st;
}

clnn_status clnn_net_set_data(clnn_net *net, const float *x, size_t rows, size_t features,
                              const int32_t *labels, size_t count)
{
    return set_data(net, "clnn_net_set_data", CLNN_LOSS_CROSS_ENTROPY, x, rows, features, labels,
                    count);
}

clnn_status clnn_net_set_data_targets(clnn_net *net, const float *x, size_t rows,
                                      size_t features, const float *targets, size_t count)
{
    return set_data(net, "clnn_net_set_data_targets", CLNN_LOSS_MSE, x, rows, features, targets,
                    count);
}

clnn_status clnn_net_set_data_order(clnn_net *net, const uint32_t *order, size_t count)
{
    clnn__clear_error();
    clnn_status st = clnn__net_check_ready(net, "clnn_net_set_data_order");
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_set_data_order");
    st = clnn__data_check(net, "clnn_net_set_data_order");
    if (st != CLNN_OK)
        return st;
    const clnn__data *d = &net->data;
    if (!order || count == 0 || count > INT_MAX)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "clnn_net_set_data_order: needs 1 to 2^31 - 1 row indices");
    for (size_t i = 0; i < count; i++)
        if (order[i] >= d->n)
            return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                              "clnn_net_set_data_order: entry %zu is row %u, but the data has "
                              "%zu rows",
                              i, (unsigned)order[i], d->n);
    return upload_order(net, order, count);
}
