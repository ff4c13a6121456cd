/* Data parallelism through an allreduce the host application provides (MPI
 * or its own communicator): the library itself links no transport. Each
 * layer's gradients start their trip to the host as soon as that layer's
 * backward is queued, so the device keeps computing earlier layers while the
 * host sums later ones across processes. */
#include "net/net_internal.h"

#include <stdlib.h>
#include <string.h>

bool clnn__parallel(const clnn_net *net)
{
    return net->parallel.allreduce != NULL;
}

bool clnn__sync_batchnorm(const clnn_net *net)
{
    return net->parallel.allreduce && net->parallel.sync_batchnorm;
}

/* The contiguous range of the flat gradient buffer a layer owns: what its
 * declared parameters span (net.c). */
static bool layer_range(const clnn__net_layer *l, size_t *begin, size_t *end)
{
    *begin = l->param_begin;
    *end = l->param_end;
    return l->has_params;
}

clnn_status clnn__grad_bucket_read(clnn_net *net, size_t layer)
{
    size_t begin, end;
    if (!layer_range(&net->layers[layer], &begin, &end))
        return CLNN_OK;
    cl_int err = clnn__fault_hit("clEnqueueReadBuffer")
                     ? CL_OUT_OF_RESOURCES
                     : clEnqueueReadBuffer(net->ctx->queue, net->grads, CL_FALSE,
                                           begin * sizeof(float), (end - begin) * sizeof(float),
                                           net->host_grads + begin, 0, NULL,
                                           &net->grad_read[layer]);
    if (err == CL_SUCCESS)
        clnn__live_add(CLNN__LIVE_EVENT, 1);
    return clnn__cl_check(err, "reading gradients for allreduce");
}

clnn_status clnn__grad_allreduce(clnn_net *net)
{
    clnn_status st = CLNN_OK;
    /* Backpropagation order: the last layer's gradients are ready first. */
    for (size_t i = net->nlayers; i-- > 0;) {
        size_t begin, end;
        if (!layer_range(&net->layers[i], &begin, &end))
            continue;
        if (st == CLNN_OK)
            st = clnn__event_wait_release(&net->grad_read[i]);
        else
            clnn__event_release(&net->grad_read[i]);
        if (st == CLNN_OK) {
            st = net->parallel.allreduce(net->host_grads + begin, end - begin, net->parallel.user);
            if (st != CLNN_OK)
                st = clnn__fail_context(st, "summing gradients across processes");
        }
        /* Written without waiting: the host copy stays untouched until the
         * next backward, which the in-order queue puts after this write. */
        if (st == CLNN_OK)
            st = clnn__buffer_write(net->ctx, net->grads, begin * sizeof(float),
                                    (end - begin) * sizeof(float), net->host_grads + begin, false,
                                    NULL);
    }
    return st;
}

clnn_status clnn_net_set_parallel(clnn_net *net, const clnn_parallel_options *options)
{
    clnn__clear_error();
    clnn_status st = clnn__net_check_ready(net, "clnn_net_set_parallel");
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_set_parallel");
    /* Options older programs do not have keep the defaults _init gives. */
    clnn_parallel_options o;
    clnn_parallel_options_init(&o);
    if (options)
        st = CLNN__STRUCT_IN(clnn_parallel_options, &o, options, "clnn_net_set_parallel");
    if (st != CLNN_OK)
        return st;
    if (!o.allreduce) {
        clnn_parallel_options_init(&net->parallel); /* alone again */
        clnn__net_unplan(net);
        return CLNN_OK;
    }
    if (!net->host_grads) {
        net->host_grads = clnn__calloc(net->nparams + 1, sizeof(float));
        net->host_sums = clnn__calloc(2 * net->max_width, sizeof(float));
        net->grad_read = clnn__calloc(net->nlayers, sizeof(cl_event));
        if (!net->host_grads || !net->host_sums || !net->grad_read)
            return CLNN_ERR_OUT_OF_MEMORY;
    }
    if (o.sync_batchnorm) {
        st = clnn__net_layer_buffers(net, true);
        if (st != CLNN_OK)
            return st;
    }
    net->parallel = o;
    clnn__net_unplan(net); /* fusion depends on synchronised statistics */
    return CLNN_OK;
}

void clnn_parallel_options_init(clnn_parallel_options *options)
{
    if (options)
        *options = (clnn_parallel_options){.struct_size = sizeof *options};
}
