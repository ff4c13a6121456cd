/* Elementwise activations, each a kernel per direction over every element
 * of a batch (src/layers/activation.c launches them). */

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

/* LeakyReLU: x where x > 0, else slope·x; its gradient dy or slope·dy by the
 * sign of the input, as PyTorch's leaky_relu_backward (x = 0 takes slope). */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_leakyrelu_forward)
__kernel void leakyrelu_forward(__global const float *x, __global float *y, const int n,
                                const float slope)
{
    const int i = get_global_id(0);
    if (i < n) {
        const float v = x[i];
        y[i] = v > 0.0f ? v : v * slope;
    }
}
#endif

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_leakyrelu_backward)
__kernel void leakyrelu_backward(__global const float *x, __global const float *dy,
                                 __global float *dx, const int n, const float slope)
{
    const int i = get_global_id(0);
    if (i < n)
        dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * slope;
}
#endif

/* GELU in its exact form, torch.nn.GELU() (approximate='none'):
 * x·Φ(x) with Φ(x) = (1 + erf(x/√2))/2, and its derivative Φ(x) + x·φ(x),
 * φ(x) = exp(−x²/2)/√(2π), written as PyTorch's CPU kernels write them. */
#define GELU_SQRT1_2 0.70710678118654752440f
#define GELU_INV_SQRT_2PI 0.39894228040143267794f

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_gelu_forward)
__kernel void gelu_forward(__global const float *x, __global float *y, const int n)
{
    const int i = get_global_id(0);
    if (i < n) {
        const float v = x[i];
        y[i] = v * 0.5f * (1.0f + erf(v * GELU_SQRT1_2));
    }
}
#endif

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_gelu_backward)
__kernel void gelu_backward(__global const float *x, __global const float *dy,
                            __global float *dx, const int n)
{
    const int i = get_global_id(0);
    if (i < n) {
        const float v = x[i];
        const float cdf = 0.5f * (1.0f + erf(v * GELU_SQRT1_2));
        const float pdf = exp(-0.5f * v * v) * GELU_INV_SQRT_2PI;
        dx[i] = dy[i] * (cdf + v * pdf);
    }
}
#endif

/* Tanh; its gradient from the output, dy·(1 − y²), as PyTorch's
 * tanh_backward. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_tanh_forward)
__kernel void tanh_forward(__global const float *x, __global float *y, const int n)
{
    const int i = get_global_id(0);
    if (i < n)
        y[i] = tanh(x[i]);
}
#endif

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_tanh_backward)
__kernel void tanh_backward(__global const float *y, __global const float *dy,
                            __global float *dx, const int n)
{
    const int i = get_global_id(0);
    if (i < n) {
        const float v = y[i];
        dx[i] = dy[i] * (1.0f - v * v);
    }
}
#endif

/* σ(x) = 1/(1 + e^−x) for x ≥ 0 and e^x/(1 + e^x) below: exp never
 * overflows (its argument is at most 0), so large |x| gives 1 or a tiny
 * positive value to full relative precision instead of 1/inf. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_sigmoid_forward) ||                              \
    defined(CLNN_ONLY_silu_forward) || defined(CLNN_ONLY_silu_backward)
static float stable_sigmoid(const float v)
{
    const float e = exp(-fabs(v));
    return v >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}
#endif

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_sigmoid_forward)
__kernel void sigmoid_forward(__global const float *x, __global float *y, const int n)
{
    const int i = get_global_id(0);
    if (i < n)
        y[i] = stable_sigmoid(x[i]);
}
#endif

/* From the output, dy·(1 − y)·y, as PyTorch's sigmoid_backward. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_sigmoid_backward)
__kernel void sigmoid_backward(__global const float *y, __global const float *dy,
                               __global float *dx, const int n)
{
    const int i = get_global_id(0);
    if (i < n) {
        const float v = y[i];
        dx[i] = dy[i] * (1.0f - v) * v;
    }
}
#endif

/* SiLU, x·σ(x), and its derivative σ(x)·(1 + x·(1 − σ(x))), from the input
 * (PyTorch's silu_backward). */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_silu_forward)
__kernel void silu_forward(__global const float *x, __global float *y, const int n)
{
    const int i = get_global_id(0);
    if (i < n) {
        const float v = x[i];
        y[i] = v * stable_sigmoid(v);
    }
}
#endif

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_silu_backward)
__kernel void silu_backward(__global const float *x, __global const float *dy,
                            __global float *dx, const int n)
{
    const int i = get_global_id(0);
    if (i < n) {
        const float v = x[i];
        const float s = stable_sigmoid(v);
        dx[i] = dy[i] * s * (1.0f + v * (1.0f - s));
    }
}
#endif

/* Softplus with PyTorch's defaults (beta 1, threshold 20): log1p(e^x), x
 * above 20; its derivative e^x/(e^x + 1), 1 above 20, from the input
 * (PyTorch's softplus_backward). At most e^20 ≈ 4.9e8: no overflow. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_softplus_forward)
__kernel void softplus_forward(__global const float *x, __global float *y, const int n)
{
    const int i = get_global_id(0);
    if (i < n) {
        const float v = x[i];
        y[i] = v > 20.0f ? v : log1p(exp(v));
    }
}
#endif

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_softplus_backward)
__kernel void softplus_backward(__global const float *x, __global const float *dy,
                                __global float *dx, const int n)
{
    const int i = get_global_id(0);
    if (i < n) {
        const float v = x[i];
        const float z = exp(v);
        dx[i] = v > 20.0f ? dy[i] : dy[i] * z / (z + 1.0f);
    }
}
#endif
