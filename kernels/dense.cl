/* The parts of the dense layer that are not a GEMM. */

/* y[r, c] += bias[c] over a rows × cols matrix at y_off with row stride ldy;
 * global = (cols, rows). Only for GEMM backends that cannot add the bias as
 * they store (src/gemm/gemm.c); clnn's own kernels do it themselves. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_bias_add)
__kernel void bias_add(__global float *y, const int y_off, const int ldy, const int rows,
                       const int cols, __global const float *bias, const int bias_off)
{
    const int c = get_global_id(0);
    const int r = get_global_id(1);
    if (c >= cols || r >= rows)
        return;
    y[y_off + r * ldy + c] += bias[bias_off + c];
}
#endif

/* db[c] = Σ_r dy[r, c]: each work-item sums W adjacent columns (-D W=1, 4,
 * 8 or 16), rows in column_sum's fixed order (common.cl), so the result is
 * the same on every run. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_bias_grad)
__kernel void bias_grad(__global const float *dy, const int rows, const int cols, const int ld,
                        __global float *grads, const int bias_off)
{
    const int c = get_global_id(0) * W;
    if (c >= cols)
        return;
    STORE(column_sum(dy, rows, ld, c), grads, bias_off + c);
}
#endif
