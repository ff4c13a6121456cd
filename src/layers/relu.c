/* ReLU (kernels/activation.cl). */
#include "net/net_internal.h"

clnn_status clnn__relu_forward(clnn_net *net, cl_mem x, cl_mem y, size_t count)
{
    cl_kernel k;
    clnn_status st = clnn__kernel(net->ctx, "activation", NULL, "relu_forward", &k);
    if (st != CLNN_OK)
        return st;
    int n = (int)count;
    const size_t global[1] = {count};
    clnn__profile_work(net->ctx, 0, 8.0 * count);
    return CLNN__LAUNCH(net->ctx, k, "relu_forward", 1, global, NULL, CLNN__ARG(x), CLNN__ARG(y),
                        CLNN__ARG(n));
}

clnn_status clnn__relu_backward(clnn_net *net, cl_mem y, cl_mem dy, cl_mem dx, size_t count)
{
    cl_kernel k;
    clnn_status st = clnn__kernel(net->ctx, "activation", NULL, "relu_backward", &k);
    if (st != CLNN_OK)
        return st;
    int n = (int)count;
    const size_t global[1] = {count};
    clnn__profile_work(net->ctx, 0, 12.0 * count);
    return CLNN__LAUNCH(net->ctx, k, "relu_backward", 1, global, NULL, CLNN__ARG(y),
                        CLNN__ARG(dy), CLNN__ARG(dx), CLNN__ARG(n));
}
