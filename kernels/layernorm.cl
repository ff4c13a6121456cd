/* LayerNorm over each row's features (torch.nn.LayerNorm(features) on a
 * rows × cols batch): y = (x − mean)·invstd·γ + β with the row's mean and
 * biased variance, invstd = 1/sqrt(var + eps). Statistics are per row, so
 * forward and the input gradient take one work-item per row; the
 * parameter gradients are sums down the columns and take W adjacent
 * columns per work-item (vec, LOAD, STORE from common.cl), reading each
 * row's mean and invstd from row_stats, which forward keeps for them.
 * Every sum has a fixed order: results are reproducible. */

/* The mean and 1/sqrt(biased variance + eps) of cols floats at x: two
 * passes, so the variance is a sum of squares of deviations, never the
 * difference of two large sums. */
static void row_moments(__global const float *x, const int cols, const float eps, float *mean_out,
                        float *invstd_out)
{
    float s = 0.0f;
    for (int c = 0; c < cols; c++)
        s += x[c];
    const float mean = s / cols;
    float ss = 0.0f;
    for (int c = 0; c < cols; c++) {
        const float d = x[c] - mean;
        ss += d * d;
    }
    *mean_out = mean;
    *invstd_out = 1.0f / sqrt(ss / cols + eps);
}

/* y = x̂·γ + β for row r; row_stats[2r], [2r + 1] = mean, invstd. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_ln_forward)
__kernel void ln_forward(__global const float *x, __global float *y, const int rows,
                         const int cols, const int ld_x, const int ld_y,
                         __global const float *params, const int gamma_off, const int beta_off,
                         __global float *row_stats, const float eps)
{
    const int r = get_global_id(0);
    if (r >= rows)
        return;
    __global const float *xr = x + r * ld_x;
    __global float *yr = y + r * ld_y;
    float mean, invstd;
    row_moments(xr, cols, eps, &mean, &invstd);
    for (int c = 0; c < cols; c++)
        yr[c] = (xr[c] - mean) * invstd * params[gamma_off + c] + params[beta_off + c];
    row_stats[2 * r] = mean;
    row_stats[2 * r + 1] = invstd;
}
#endif

/* dγ[c] = Σ_r dy·x̂ and dβ[c] = Σ_r dy down columns c..c+W−1. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_ln_backward_params)
__kernel void ln_backward_params(__global const float *x, __global const float *dy,
                                 const int rows, const int cols, const int ld_x, const int ld_y,
                                 __global const float *row_stats, __global float *grads,
                                 const int dgamma_off, const int dbeta_off)
{
    const int c = get_global_id(0) * W;
    if (c >= cols)
        return;
    vec sum_dy = 0.0f, sum_dy_xhat = 0.0f;
    for (int r = 0; r < rows; r++) {
        const vec g = LOAD(dy, r * ld_y + c);
        sum_dy += g;
        sum_dy_xhat += g * ((LOAD(x, r * ld_x + c) - row_stats[2 * r]) * row_stats[2 * r + 1]);
    }
    STORE(sum_dy_xhat, grads, dgamma_off + c);
    STORE(sum_dy, grads, dbeta_off + c);
}
#endif

/* dx for row r: with g = γ·dy, dx = invstd·(g − Σg/N − x̂·Σ(g·x̂)/N), N = cols
 * (the row's mean and variance depend on every feature of the row). */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_ln_backward_input)
__kernel void ln_backward_input(__global const float *x, __global const float *dy,
                                __global float *dx, const int rows, const int cols,
                                const int ld_x, const int ld_y, __global const float *params,
                                const int gamma_off, __global const float *row_stats)
{
    const int r = get_global_id(0);
    if (r >= rows)
        return;
    __global const float *xr = x + r * ld_x;
    __global const float *dyr = dy + r * ld_y;
    __global float *dxr = dx + r * ld_x;
    const float mean = row_stats[2 * r], invstd = row_stats[2 * r + 1];
    float sum_g = 0.0f, sum_g_xhat = 0.0f;
    for (int c = 0; c < cols; c++) {
        const float g = params[gamma_off + c] * dyr[c];
        sum_g += g;
        sum_g_xhat += g * ((xr[c] - mean) * invstd);
    }
    const float a = sum_g / cols, b = sum_g_xhat / cols;
    for (int c = 0; c < cols; c++) {
        const float xhat = (xr[c] - mean) * invstd;
        dxr[c] = invstd * (params[gamma_off + c] * dyr[c] - a - xhat * b);
    }
}
#endif
