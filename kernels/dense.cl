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
 * 8 or 16: vec, LOAD and STORE from common.cl), rows in a
 * fixed order so the result is the same on every run: four partial sums
 * over rows r ≡ 0..3 (mod 4), so that consecutive rows do not wait on one
 * another's additions, added pairwise at the end. */
__kernel void bias_grad(__global const float *dy, const int rows, const int cols,
                        __global float *grads, const int bias_off)
{
    const int c = get_global_id(0) * W;
    if (c >= cols)
        return;
    vec s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        s0 += LOAD(dy, r * cols + c);
        s1 += LOAD(dy, (r + 1) * cols + c);
        s2 += LOAD(dy, (r + 2) * cols + c);
        s3 += LOAD(dy, (r + 3) * cols + c);
    }
    for (; r < rows; r++)
        s0 += LOAD(dy, r * cols + c);
    STORE((s0 + s1) + (s2 + s3), grads, bias_off + c);
}
