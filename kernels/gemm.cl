/* clnn's own GEMM: C = alpha·op(A)·op(B) + beta·C, row-major, with
 * op(X) = X or Xᵀ chosen by -D TRANS_A / TRANS_B. Each work-item computes an
 * RM×RN tile held in registers; no local memory or barriers, which suits
 * CPU devices where work-items are SIMD lanes and barriers are costly. */
#ifndef TRANS_A
#define TRANS_A 0
#endif
#ifndef TRANS_B
#define TRANS_B 0
#endif
#ifndef RM
#define RM 4
#endif
#ifndef RN
#define RN 4
#endif

#if TRANS_A
#define A_AT(m, k) a[(k) * lda + (m)]
#else
#define A_AT(m, k) a[(m) * lda + (k)]
#endif
#if TRANS_B
#define B_AT(k, n) b[(n) * ldb + (k)]
#else
#define B_AT(k, n) b[(k) * ldb + (n)]
#endif

__kernel void gemm(const int M, const int N, const int K, const float alpha,
                   __global const float *a, const int a_off, const int lda,
                   __global const float *b, const int b_off, const int ldb,
                   const float beta, __global float *c, const int c_off, const int ldc)
{
    const int n0 = get_global_id(0) * RN;
    const int m0 = get_global_id(1) * RM;
    if (m0 >= M || n0 >= N)
        return;
    a += a_off;
    b += b_off;
    c += c_off;
    float acc[RM][RN];
    for (int i = 0; i < RM; i++)
        for (int j = 0; j < RN; j++)
            acc[i][j] = 0.0f;
    /* Clamp edge rows/columns to the last valid one; their results are
     * discarded below, so loads stay in bounds without branches. */
    int mi[RM], nj[RN];
    for (int i = 0; i < RM; i++)
        mi[i] = min(m0 + i, M - 1);
    for (int j = 0; j < RN; j++)
        nj[j] = min(n0 + j, N - 1);
    for (int k = 0; k < K; k++) {
        float av[RM], bv[RN];
        for (int i = 0; i < RM; i++)
            av[i] = A_AT(mi[i], k);
        for (int j = 0; j < RN; j++)
            bv[j] = B_AT(k, nj[j]);
        for (int i = 0; i < RM; i++)
            for (int j = 0; j < RN; j++)
                acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    for (int i = 0; i < RM; i++) {
        if (m0 + i >= M)
            break;
        for (int j = 0; j < RN; j++) {
            if (n0 + j >= N)
                break;
            __global float *dst = c + (m0 + i) * ldc + n0 + j;
            /* beta == 0 must not read C: it may hold NaN from an earlier use. */
            *dst = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *dst;
        }
    }
}
