/* Elementwise activations. */

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_relu_forward)
__kernel void relu_forward(__global const float *x, __global float *y, const int n)
{
    const int i = get_global_id(0);
    if (i < n)
        y[i] = fmax(x[i], 0.0f);
}
#endif

/* As PyTorch: the gradient passes where the output is positive. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_relu_backward)
__kernel void relu_backward(__global const float *y, __global const float *dy,
                            __global float *dx, const int n)
{
    const int i = get_global_id(0);
    if (i < n)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
#endif
