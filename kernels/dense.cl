/* The parts of the dense layer that are not a GEMM. */

/* y[r, c] += bias[c] over a rows × cols matrix; global = (cols, rows). */
__kernel void bias_add(__global float *y, const int rows, const int cols,
                       __global const float *params, const int bias_off)
{
    const int c = get_global_id(0);
    const int r = get_global_id(1);
    if (c >= cols || r >= rows)
        return;
    y[r * cols + c] += params[bias_off + c];
}

/* db[c] = Σ_r dy[r, c]: one work-item per column, summing rows in order so
 * the result is the same on every run. */
__kernel void bias_grad(__global const float *dy, const int rows, const int cols,
                        __global float *grads, const int bias_off)
{
    const int c = get_global_id(0);
    if (c >= cols)
        return;
    float s = 0.0f;
    for (int r = 0; r < rows; r++)
        s += dy[r * cols + c];
    grads[bias_off + c] = s;
}
