/* BatchNorm1d over a rows × cols batch (one feature per column), with
 * PyTorch's semantics. Each work-item owns W adjacent features (-D W=1, 4,
 * 8 or 16, chosen per device) and walks their columns, so reductions have a
 * fixed order and the results are reproducible; with W > 1 every access is
 * an explicit W-wide vector of one row (vec, LOAD and STORE from common.cl).
 *
 * A ReLU that follows is fused when fuse_relu is set: forward also writes
 * relu_out = max(y, 0), and backward takes the gradient of the ReLU's output
 * and masks it with y > 0 itself, saving two launches and a pass. */

/* y = (x − mean)·invstd·γ + β down the columns c..c+W−1, and the fused ReLU. */
static void normalize(__global const float *x, __global float *y, const int rows, const int ld,
                      const int c, const vec mean, const vec invstd, const vec g, const vec b,
                      __global float *relu_out, const int fuse_relu)
{
    for (int r = 0; r < rows; r++) {
        const vec v = (LOAD(x, r * ld + c) - mean) * invstd * g + b;
        STORE(v, y, r * ld + c);
        if (fuse_relu)
            STORE(fmax(v, 0.0f), relu_out, r * ld + c);
    }
}

/* Rows per group in moments(); the group's sums below are written out for
 * these 8 rows. */
#define GROUP 8

/* The mean and the sum of squared deviations ss of columns c..c+W−1 in one
 * pass over x. Each group of GROUP rows gets its own mean and squared
 * deviations from registers, each added pairwise (3 dependent additions, not
 * 7), then joins the running totals by Chan et al.'s pairwise update: as
 * stable as two passes (no difference of large sums, ss never negative).
 * Only that update depends on the group before, so consecutive groups
 * overlap instead of the loop waiting on floating-point latency. (Written
 * out, not as loops over arrays: PoCL neither unrolls those nor keeps the
 * arrays in registers.) */
static void moments(__global const float *x, const int rows, const int ld, const int c,
                    vec *mean_out, vec *ss_out)
{
    vec mean = 0.0f, ss = 0.0f;
    int r = 0;
    for (; r + GROUP <= rows; r += GROUP) {
#define ROW(i) LOAD(x, (r + (i)) * ld + c)
        const vec v0 = ROW(0), v1 = ROW(1), v2 = ROW(2), v3 = ROW(3);
        const vec v4 = ROW(4), v5 = ROW(5), v6 = ROW(6), v7 = ROW(7);
#undef ROW
        const vec gmean = (((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7))) * (1.0f / GROUP);
        const vec d0 = v0 - gmean, d1 = v1 - gmean, d2 = v2 - gmean, d3 = v3 - gmean;
        const vec d4 = v4 - gmean, d5 = v5 - gmean, d6 = v6 - gmean, d7 = v7 - gmean;
        const vec gss = ((d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3)) +
                        ((d4 * d4 + d5 * d5) + (d6 * d6 + d7 * d7));
        const float n = r + GROUP;
        const vec delta = gmean - mean;
        mean += delta * (GROUP / n);
        ss += gss + delta * delta * (r * (GROUP / n));
    }
    /* Welford's update, one row at a time, for the last rows % GROUP. */
    for (; r < rows; r++) {
        const vec v = LOAD(x, r * ld + c);
        const vec d = v - mean;
        mean += d * (1.0f / (r + 1));
        ss += d * (v - mean);
    }
    *mean_out = mean;
    *ss_out = ss;
}

/* Training: normalise with the batch mean and biased variance; update the
 * running statistics with the unbiased variance; keep mean and
 * 1/sqrt(var + eps) for backward. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_bn_forward_train)
__kernel void bn_forward_train(__global const float *x, __global float *y, const int rows,
                               const int cols, const int ld, __global const float *params,
                               const int gamma_off, const int beta_off, __global float *stats,
                               const int rmean_off, const int rvar_off, __global float *save_mean,
                               __global float *save_invstd, const float momentum, const float eps,
                               __global float *relu_out, const int fuse_relu)
{
    const int c = get_global_id(0) * W;
    if (c >= cols)
        return;
    vec mean, ss;
    moments(x, rows, ld, c, &mean, &ss);
    const vec var = ss / rows;
    const vec invstd = 1.0f / sqrt(var + eps);
    normalize(x, y, rows, ld, c, mean, invstd, LOAD(params, gamma_off + c),
              LOAD(params, beta_off + c), relu_out, fuse_relu);
    STORE(mean, save_mean, c);
    STORE(invstd, save_invstd, c);
    const vec unbiased = ss / (rows - 1);
    STORE((1.0f - momentum) * LOAD(stats, rmean_off + c) + momentum * mean, stats, rmean_off + c);
    STORE((1.0f - momentum) * LOAD(stats, rvar_off + c) + momentum * unbiased, stats, rvar_off + c);
}
#endif

/* Eval: normalise with the running statistics. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_bn_forward_eval)
__kernel void bn_forward_eval(__global const float *x, __global float *y, const int rows,
                              const int cols, const int ld, __global const float *params,
                              const int gamma_off, const int beta_off, __global const float *stats,
                              const int rmean_off, const int rvar_off, __global float *save_mean,
                              __global float *save_invstd, const float eps,
                              __global float *relu_out, const int fuse_relu)
{
    const int c = get_global_id(0) * W;
    if (c >= cols)
        return;
    const vec mean = LOAD(stats, rmean_off + c);
    const vec invstd = 1.0f / sqrt(LOAD(stats, rvar_off + c) + eps);
    normalize(x, y, rows, ld, c, mean, invstd, LOAD(params, gamma_off + c),
              LOAD(params, beta_off + c), relu_out, fuse_relu);
    STORE(mean, save_mean, c);
    STORE(invstd, save_invstd, c);
}
#endif

/* Backward. With batch statistics (training) the mean and variance depend on
 * every input: dx = γ·invstd/N · (N·dy − Σdy − x̂·Σ(dy·x̂)). With running
 * statistics (eval) they are constants: dx = γ·invstd·dy. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_bn_backward)
__kernel void bn_backward(__global const float *x, __global const float *dy, __global float *dx,
                          const int rows, const int cols, const int ld,
                          __global const float *params, const int gamma_off,
                          __global const float *save_mean, __global const float *save_invstd,
                          __global float *grads, const int dgamma_off, const int dbeta_off,
                          const int batch_stats, const int need_dx, __global const float *y,
                          const int fuse_relu, const int prev_bias_off)
{
/* The gradient reaching the BatchNorm output: masked by the fused ReLU
 * (select keeps dy where y > 0, NaN included in the masked part). */
#define DY(i) (fuse_relu ? select((vec)0.0f, LOAD(dy, i), LOAD(y, i) > 0.0f) : LOAD(dy, i))
    const int c = get_global_id(0) * W;
    if (c >= cols)
        return;
    const vec mean = LOAD(save_mean, c);
    const vec invstd = LOAD(save_invstd, c);
    /* Σdy and Σ(dy·x̂) = invstd·Σdy·(x − mean) in four partial sums over
     * rows r ≡ 0..3 (mod 4), as column_sum does, so that consecutive rows do
     * not wait on one another's additions. */
    vec s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    vec t0 = 0.0f, t1 = 0.0f, t2 = 0.0f, t3 = 0.0f;
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        const vec g0 = DY(r * ld + c), g1 = DY((r + 1) * ld + c);
        const vec g2 = DY((r + 2) * ld + c), g3 = DY((r + 3) * ld + c);
        s0 += g0;
        s1 += g1;
        s2 += g2;
        s3 += g3;
        t0 += g0 * (LOAD(x, r * ld + c) - mean);
        t1 += g1 * (LOAD(x, (r + 1) * ld + c) - mean);
        t2 += g2 * (LOAD(x, (r + 2) * ld + c) - mean);
        t3 += g3 * (LOAD(x, (r + 3) * ld + c) - mean);
    }
    for (; r < rows; r++) {
        const vec g = DY(r * ld + c);
        s0 += g;
        t0 += g * (LOAD(x, r * ld + c) - mean);
    }
    const vec sum_dy = (s0 + s1) + (s2 + s3);
    const vec sum_dy_xhat = ((t0 + t1) + (t2 + t3)) * invstd;
    STORE(sum_dy_xhat, grads, dgamma_off + c);
    STORE(sum_dy, grads, dbeta_off + c);
    if (!need_dx)
        return;
    /* dx = a·dy − b − (x − mean)·e: the formula above with a = γ·invstd,
     * b = a/N·Σdy and e = a/N·invstd·Σ(dy·x̂) taken once per column. */
    const vec a = LOAD(params, gamma_off + c) * invstd;
    const vec k = a / rows;
    const vec b = k * sum_dy, e = k * invstd * sum_dy_xhat;
    /* dx is the gradient of the dense layer before, when there is one
     * (prev_bias_off >= 0): its bias gradient is the column sums of dx,
     * taken here while dx is in registers instead of by bias_grad in another
     * pass, in column_sum's order (common.cl) so the two paths agree to the
     * bit. */
#define DX(r)                                                                                      \
    (batch_stats ? a * DY((r) * ld + c) - b - (LOAD(x, (r) * ld + c) - mean) * e              \
                 : a * DY((r) * ld + c))
    vec db0 = 0.0f, db1 = 0.0f, db2 = 0.0f, db3 = 0.0f;
    for (r = 0; r + 4 <= rows; r += 4) {
        const vec g0 = DX(r), g1 = DX(r + 1), g2 = DX(r + 2), g3 = DX(r + 3);
        STORE(g0, dx, r * ld + c);
        STORE(g1, dx, (r + 1) * ld + c);
        STORE(g2, dx, (r + 2) * ld + c);
        STORE(g3, dx, (r + 3) * ld + c);
        db0 += g0;
        db1 += g1;
        db2 += g2;
        db3 += g3;
    }
    for (; r < rows; r++) {
        const vec g = DX(r);
        STORE(g, dx, r * ld + c);
        db0 += g;
    }
    if (prev_bias_off >= 0)
        STORE((db0 + db1) + (db2 + db3), grads, prev_bias_off + c);
#undef DX
#undef DY
}
#endif

/* Synchronised BatchNorm (statistics over the batches of every process):
 * per-feature sums are reduced across processes on the host between these
 * kernels, which take W columns per work-item like the ones above.
 * out[c] = Σ_r x[r,c], or Σ_r (x[r,c] − center[c])² when centered. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_bn_column_sum)
__kernel void bn_column_sum(__global const float *x, const int rows, const int cols, const int ld,
                            __global const float *center, const int centered,
                            __global float *out)
{
    const int c = get_global_id(0) * W;
    if (c >= cols)
        return;
    const vec m = centered ? LOAD(center, c) : 0.0f;
    vec s = 0.0f;
    for (int r = 0; r < rows; r++) {
        const vec d = LOAD(x, r * ld + c) - m;
        s += centered ? d * d : d;
    }
    STORE(s, out, c);
}
#endif

/* Normalise with the global mean (in save_mean) and the global sum of squared
 * deviations sq over total samples; update the running statistics. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_bn_apply_train)
__kernel void bn_apply_train(__global const float *x, __global float *y, const int rows,
                             const int cols, const int ld, __global const float *params,
                             const int gamma_off, const int beta_off, __global float *stats,
                             const int rmean_off, const int rvar_off,
                             __global const float *save_mean, __global float *save_invstd,
                             __global const float *sq, const float total, const float momentum,
                             const float eps)
{
    const int c = get_global_id(0) * W;
    if (c >= cols)
        return;
    const vec mean = LOAD(save_mean, c);
    const vec invstd = 1.0f / sqrt(LOAD(sq, c) / total + eps);
    normalize(x, y, rows, ld, c, mean, invstd, LOAD(params, gamma_off + c),
              LOAD(params, beta_off + c), y, 0); /* no fused ReLU */
    STORE(invstd, save_invstd, c);
    const vec unbiased = LOAD(sq, c) / (total - 1);
    STORE((1.0f - momentum) * LOAD(stats, rmean_off + c) + momentum * mean, stats, rmean_off + c);
    STORE((1.0f - momentum) * LOAD(stats, rvar_off + c) + momentum * unbiased, stats, rvar_off + c);
}
#endif

/* sums[c] = Σ dy, sums[cols + c] = Σ dy·x̂ over this process's rows; the same
 * sums are this process's share of dβ and dγ (summed across processes with
 * the other gradients), kept in grads because sums is overwritten by the
 * allreduce. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_bn_backward_sums)
__kernel void bn_backward_sums(__global const float *x, __global const float *dy, const int rows,
                               const int cols, const int ld, __global const float *save_mean,
                               __global const float *save_invstd, __global float *sums,
                               __global float *grads, const int dgamma_off, const int dbeta_off)
{
    const int c = get_global_id(0) * W;
    if (c >= cols)
        return;
    const vec mean = LOAD(save_mean, c);
    const vec invstd = LOAD(save_invstd, c);
    vec sum_dy = 0.0f, sum_dy_xhat = 0.0f;
    for (int r = 0; r < rows; r++) {
        const vec g = LOAD(dy, r * ld + c);
        sum_dy += g;
        sum_dy_xhat += g * (LOAD(x, r * ld + c) - mean) * invstd;
    }
    STORE(sum_dy, sums, c);
    STORE(sum_dy_xhat, sums, cols + c);
    STORE(sum_dy_xhat, grads, dgamma_off + c);
    STORE(sum_dy, grads, dbeta_off + c);
}
#endif

/* dx from the globally summed terms. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_bn_backward_apply)
__kernel void bn_backward_apply(__global const float *x, __global const float *dy,
                                __global float *dx, const int rows, const int cols, const int ld,
                                __global const float *params, const int gamma_off,
                                __global const float *save_mean, __global const float *save_invstd,
                                __global const float *sums, const float total)
{
    const int c = get_global_id(0) * W;
    if (c >= cols)
        return;
    const vec mean = LOAD(save_mean, c);
    const vec invstd = LOAD(save_invstd, c);
    const vec sum_dy = LOAD(sums, c), sum_dy_xhat = LOAD(sums, cols + c);
    const vec k = LOAD(params, gamma_off + c) * invstd / total;
    for (int r = 0; r < rows; r++) {
        const vec xhat = (LOAD(x, r * ld + c) - mean) * invstd;
        STORE(k * (total * LOAD(dy, r * ld + c) - sum_dy - xhat * sum_dy_xhat), dx, r * ld + c);
    }
}
#endif
