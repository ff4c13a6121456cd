/* The parts of the dense layer that are not a GEMM. */

/* y[r, c] += bias[c] over a rows × cols matrix at y_off with row stride ldy;
 * global = (cols, rows). Only for GEMM backends that cannot add the bias as
 * they store (src/gemm/gemm.c); clnn's own kernels do it themselves. */
__kernel void bias_add(__global float *y, const int y_off, const int ldy, const int rows,
                       const int cols, __global const float *bias, const int bias_off)
{
    const int c = get_global_id(0);
    const int r = get_global_id(1);
    if (c >= cols || r >= rows)
        return;
    y[y_off + r * ldy + c] += bias[bias_off + c];
}

/* db[c] = Σ_r dy[r, c]: each work-item sums W adjacent columns (-D W=1, 4,
 * 8 or 16; explicit vectors on CPU devices, as in batchnorm.cl), rows in
 * order so the result is the same on every run. */
#ifndef W
#define W 1
#endif
#if W == 1
#define BIAS_GRAD_STEP(c)                                                                          \
    float s = 0.0f;                                                                                \
    for (int r = 0; r < rows; r++)                                                                 \
        s += dy[r * cols + c];                                                                     \
    grads[bias_off + c] = s
#else
#define VLOADW(p) CONCAT(vload, W)(0, (p))
#define VSTOREW(v, p) CONCAT(vstore, W)((v), 0, (p))
#define CONCAT(a, b) CONCAT_(a, b)
#define CONCAT_(a, b) a##b
#define BIAS_GRAD_STEP(c)                                                                          \
    CONCAT(float, W) s = 0.0f;                                                                     \
    for (int r = 0; r < rows; r++)                                                                 \
        s += VLOADW(dy + r * cols + c);                                                            \
    VSTOREW(s, grads + bias_off + c)
#endif

__kernel void bias_grad(__global const float *dy, const int rows, const int cols,
                        __global float *grads, const int bias_off)
{
    const int c = get_global_id(0) * W;
    if (c >= cols)
        return;
    BIAS_GRAD_STEP(c);
}
