/* The state dict seen from the host: listing, reading and writing tensors. */
#include "net/net_internal.h"

#include <stdlib.h>
#include <string.h>

clnn_status clnn__net_check_ready(const clnn_net *net, const char *fn)
{
    if (!net)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: net is NULL", fn);
    if (!net->initialized)
        return clnn__fail(CLNN_ERR_STATE, "%s: call clnn_net_init first", fn);
    return CLNN_OK;
}

size_t clnn_net_tensor_count(const clnn_net *net)
{
    return net && net->initialized ? net->ntensors : 0;
}

static clnn_status get(const clnn_net *net, size_t index, const char *fn, const clnn__tensor **t)
{
    clnn_status st = clnn__net_check_ready(net, fn);
    if (st != CLNN_OK)
        return st;
    if (index >= net->ntensors)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: tensor index %zu out of range (%zu)",
                          fn, index, net->ntensors);
    *t = &net->tensors[index];
    return CLNN_OK;
}

clnn_status clnn_net_tensor_info(const clnn_net *net, size_t index, clnn_tensor_info *info)
{
    clnn__clear_error();
    const clnn__tensor *t = NULL;
    clnn_status st = get(net, index, "clnn_net_tensor_info", &t);
    if (st != CLNN_OK)
        return st;
    if (!info)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_net_tensor_info: info is NULL");
    st = CLNN__STRUCT_OUT_CHECK(clnn_tensor_info, info, "clnn_net_tensor_info");
    if (st != CLNN_OK)
        return st;
    const clnn_tensor_info full = {.name = t->name, .dtype = t->dtype, .ndim = t->ndim,
                                   .shape = {t->shape[0], t->shape[1]}, .numel = t->numel,
                                   .trainable = t->storage == CLNN__IN_PARAMS};
    CLNN__STRUCT_OUT(clnn_tensor_info, info, &full);
    return CLNN_OK;
}

clnn_status clnn_net_tensor_find(const clnn_net *net, const char *name, size_t *index)
{
    clnn__clear_error();
    clnn_status st = clnn__net_check_ready(net, "clnn_net_tensor_find");
    if (st != CLNN_OK)
        return st;
    if (!name || !index)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_net_tensor_find: NULL argument");
    for (size_t i = 0; i < net->ntensors; i++) {
        if (strcmp(net->tensors[i].name, name) == 0) {
            *index = i;
            return CLNN_OK;
        }
    }
    return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "the network has no tensor named '%s'", name);
}

static size_t dtype_size(clnn_dtype d)
{
    return d == CLNN_DTYPE_I64 ? 8 : 4;
}

static clnn_status check_bytes(const clnn__tensor *t, size_t bytes, const void *p, const char *fn)
{
    if (!p)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: buffer is NULL", fn);
    if (bytes != t->numel * dtype_size(t->dtype))
        return clnn__fail(CLNN_ERR_SHAPE, "%s: tensor '%s' has %zu bytes, buffer has %zu", fn,
                          t->name, t->numel * dtype_size(t->dtype), bytes);
    return CLNN_OK;
}

/* dst = srcᵀ for src rows × cols floats; bytes, since the caller's buffers
 * need not be float-aligned. */
static void transpose(const void *src, size_t rows, size_t cols, void *dst)
{
    const unsigned char *s = src;
    unsigned char *d = dst;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            memcpy(d + (c * rows + r) * sizeof(float), s + (r * cols + c) * sizeof(float),
                   sizeof(float));
}

clnn_status clnn__tensor_download(clnn_net *net, const clnn__tensor *t, cl_mem buf, void *dst)
{
    const size_t bytes = t->numel * sizeof(float), at = t->offset * sizeof(float);
    if (!t->transposed)
        return clnn__buffer_read(net->ctx, buf, at, bytes, dst);
    void *stored = clnn__malloc(bytes);
    if (!stored)
        return CLNN_ERR_OUT_OF_MEMORY;
    clnn_status st = clnn__buffer_read(net->ctx, buf, at, bytes, stored);
    if (st == CLNN_OK)
        transpose(stored, t->shape[1], t->shape[0], dst);
    free(stored);
    return st;
}

clnn_status clnn__tensor_upload(clnn_net *net, const clnn__tensor *t, cl_mem buf, const void *src)
{
    const size_t bytes = t->numel * sizeof(float), at = t->offset * sizeof(float);
    if (!t->transposed)
        return clnn__buffer_write(net->ctx, buf, at, bytes, src, true, NULL);
    void *stored = clnn__malloc(bytes);
    if (!stored)
        return CLNN_ERR_OUT_OF_MEMORY;
    transpose(src, t->shape[0], t->shape[1], stored);
    clnn_status st = clnn__buffer_write(net->ctx, buf, at, bytes, stored, true, NULL);
    free(stored);
    return st;
}

clnn_status clnn_net_tensor_read(clnn_net *net, size_t index, void *dst, size_t bytes)
{
    clnn__clear_error();
    const clnn__tensor *t = NULL;
    clnn_status st = get(net, index, "clnn_net_tensor_read", &t);
    if (st == CLNN_OK)
        st = check_bytes(t, bytes, dst, "clnn_net_tensor_read");
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_tensor_read");
    if (t->storage == CLNN__ON_HOST) {
        memcpy(dst, t->counter, sizeof(int64_t));
        return CLNN_OK;
    }
    return clnn__tensor_download(net, t, t->storage == CLNN__IN_PARAMS ? net->params : net->stats,
                                 dst);
}

clnn_status clnn_net_tensor_write(clnn_net *net, size_t index, const void *src, size_t bytes)
{
    clnn__clear_error();
    const clnn__tensor *t = NULL;
    clnn_status st = get(net, index, "clnn_net_tensor_write", &t);
    if (st == CLNN_OK)
        st = check_bytes(t, bytes, src, "clnn_net_tensor_write");
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_tensor_write");
    if (t->storage == CLNN__ON_HOST) {
        memcpy(t->counter, src, sizeof(int64_t));
        return CLNN_OK;
    }
    if (t->storage != CLNN__IN_PARAMS)
        return clnn__tensor_upload(net, t, net->stats, src);
    st = clnn__tensor_upload(net, t, net->params, src);
    return st == CLNN_OK ? clnn__net_params_written(net) : st;
}

clnn_status clnn_net_grad_read(clnn_net *net, size_t index, float *dst, size_t bytes)
{
    clnn__clear_error();
    const clnn__tensor *t = NULL;
    clnn_status st = get(net, index, "clnn_net_grad_read", &t);
    if (st == CLNN_OK)
        st = check_bytes(t, bytes, dst, "clnn_net_grad_read");
    if (st != CLNN_OK)
        return st;
    CLNN__ENTER(net->ctx, "clnn_net_grad_read");
    if (t->storage != CLNN__IN_PARAMS)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "tensor '%s' is not trainable: no gradient",
                          t->name);
    if (!net->backward_done)
        return clnn__fail(CLNN_ERR_STATE, "clnn_net_grad_read: no backward has run yet");
    return clnn__tensor_download(net, t, net->grads, dst);
}
