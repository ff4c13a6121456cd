/* clnn_context_tune: the products a layer stack runs, as each kind says,
 * handed to the GEMM tuner (gemm/tune.c), which knows no layers. */
#include "gemm/gemm.h"
#include "net/net_internal.h"

#include <stdlib.h>

void clnn_tune_options_init(clnn_tune_options *options)
{
    if (options)
        *options = (clnn_tune_options){.struct_size = sizeof *options};
}

static clnn_status check_options(const clnn_tune_options *o)
{
    if (!o->spec)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_tune: no layer spec");
    if (o->in_features == 0 || o->in_features > INT32_MAX)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_tune: in_features must be 1 "
                                                     "to 2^31-1");
    if (!o->batch_sizes || o->n_batch_sizes == 0)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_tune: no batch sizes");
    for (size_t i = 0; i < o->n_batch_sizes; i++)
        if (o->batch_sizes[i] == 0 || o->batch_sizes[i] > INT32_MAX)
            return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                              "clnn_context_tune: batch size %zu out of range", o->batch_sizes[i]);
    return CLNN_OK;
}

/* Every product of o's stack at each of o's batch sizes, in that order
 * (batch size, layer, the layer's own order), repeats included. */
static clnn_status stack_shapes(const clnn_tune_options *o, clnn__gemm_shape **out,
                                size_t *count)
{
    clnn__layer_spec *layers = NULL;
    size_t nlayers = 0, n = 0;
    clnn_status st = clnn__spec_parse(o->spec, &layers, &nlayers);
    if (st != CLNN_OK)
        return st;
    clnn__gemm_shape *shapes =
        clnn__calloc(o->n_batch_sizes * nlayers * CLNN__LAYER_GEMMS_MAX + 1, sizeof *shapes);
    for (size_t b = 0; b < o->n_batch_sizes && shapes; b++) {
        size_t in = o->in_features;
        for (size_t i = 0; i < nlayers; i++) {
            const clnn__layer_class *c = clnn__layer_classes[layers[i].kind];
            size_t k = c->gemm_shapes
                           ? c->gemm_shapes(&layers[i], i, in, o->batch_sizes[b], shapes + n)
                           : 0;
            for (; k > 0; k--, n++) {
                shapes[n].batch = o->batch_sizes[b];
                shapes[n].layer = i;
            }
            in = c->out_width ? c->out_width(&layers[i]) : in;
        }
    }
    free(layers);
    if (!shapes)
        return CLNN_ERR_OUT_OF_MEMORY;
    *out = shapes;
    *count = n;
    return CLNN_OK;
}

clnn_status clnn_context_tune(clnn_context *ctx, const clnn_tune_options *options)
{
    clnn__clear_error();
    if (!ctx || !options)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_tune: %s is NULL",
                          ctx ? "options" : "ctx");
    CLNN__ENTER(ctx, "clnn_context_tune");
    /* Options older programs do not have keep the defaults _init gives. */
    clnn_tune_options o;
    clnn_tune_options_init(&o);
    clnn_status st = CLNN__STRUCT_IN(clnn_tune_options, &o, options, "clnn_context_tune");
    if (st == CLNN_OK)
        st = check_options(&o);
    clnn__gemm_shape *shapes = NULL;
    size_t count = 0;
    if (st == CLNN_OK)
        st = stack_shapes(&o, &shapes, &count);
    if (st == CLNN_OK)
        st = clnn__gemm_tune(ctx, &o, shapes, count);
    free(shapes);
    return st;
}
