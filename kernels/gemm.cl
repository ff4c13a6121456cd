/* clnn's own GEMM: C = alpha·op(A)·op(B) + beta·C, row-major, op(X) = X or Xᵀ.
 *
 * Three kernels; src/gemm/gemm_own.c picks one per call and specialises it
 * with -D options taken from its parameter table (tile sizes and vector
 * widths; transposes, tile order and bias are arguments, so that one
 * program serves every call with the same tiles: each program costs a
 * driver such as PoCL ~16 ms to build even from its cache):
 *
 *   gemm_outer    op(B) = B (rows of op(B) contiguous), op(A) = A or Aᵀ.
 *                 Each work-item owns an RM × (VW·NV) tile of C in RM·NV
 *                 vector accumulators. Per k step it loads NV contiguous
 *                 vectors of B's row k and broadcasts RM scalars of A's
 *                 column k into fma: the register-blocked micro-kernel of
 *                 CPU BLAS libraries. Needs M ≥ RM and N ≥ VW·NV.
 *                 A (not transposed) may be gathered through a row index
 *                 and copied out packed as it is read (a batch drawn from
 *                 data kept on the device, clnn_net_set_data).
 *   gemm_dot      op(A) = A, op(B) = Bᵀ (Y = X·Wᵀ with W stored [out, in]).
 *                 Both operands are contiguous along K, so each work-item
 *                 keeps a DM × DN tile of DVW-wide partial dot products along
 *                 K and sums them horizontally at the end; no transpose of W
 *                 is needed. Any shape.
 *   gemm_general  any transposes, any shape; a small scalar tile. Used for
 *                 Aᵀ·Bᵀ and for shapes below the other kernels' tiles.
 *   gemm_outer_pair  two gemm_outer products, Aᵀ·B and A·B, in one launch:
 *                 a dense layer's weight and input gradients.
 *
 * None uses local memory or barriers: on CPU devices work-groups run as
 * threads and barriers force every work-item's live values to memory, while
 * a large per-work-item register tile is what keeps the FMA units busy.
 *
 * Register tiles are private arrays indexed only by constants: the loops
 * over a tile carry #pragma unroll so the arrays become registers. PoCL gives
 * every work-item of a group its own copy of any private array left in
 * memory (a variable index, a vstore into it, a loop with a data-dependent
 * trip count over it), which made the kernels 3× slower and overflowed the
 * thread stack for large groups. The k loops themselves stay rolled (unrolled
 * bodies ran 1.5–2× slower on PoCL).
 *
 * All loads stay inside the matrices (edge tiles are shifted or clamped), so
 * padding and neighbouring data are never read; beta == 0 never reads C (it
 * may hold NaN from an earlier use).
 *
 * A bias_off >= 0 adds the row vector at bias + bias_off to every row of C as
 * the last step (a dense layer's y = x·Wᵀ + b without a separate pass over
 * y). The sum is rounded after alpha·acc (+ beta·c) is, in its own statement
 * (no contraction into an fma across statements), so the result is bitwise
 * the one a separate bias_add after the GEMM gives. bias_off < 0 means no
 * bias: bias is never read (it may be NULL) and -0.0f is added instead,
 * which leaves every float as it is (+0.0f would turn -0 into +0), so the
 * stores need no branch (gemm_dot, whose stores weigh more, inlines a copy
 * of its tile code without the add instead).
 *
 * Transposes and the tile order select between copies of the tile code
 * inlined with constant arguments, once per launch, outside every loop. */

/* gemm_outer tile: RM rows × NV vectors of VW floats. */
#ifndef RM
#define RM 8
#endif
#ifndef VW
#define VW 16
#endif
#ifndef NV
#define NV 2
#endif
/* gemm_dot tile: DM × DN outputs, each a DVW-wide partial sum along K. */
#ifndef DM
#define DM 4
#endif
#ifndef DN
#define DN 4
#endif
#ifndef DVW
#define DVW 16
#endif
/* The grid_mn argument: 1, dimension 0 of the range walks tiles along M
 * (consecutive work-items share op(B)'s panel); 0, along N (they share
 * op(A)'s panel). */

/* restrict: without it the compiler must assume a store to C can change the
 * bias, and reloads it after every store (gemm_dot at 256×128×256 ran 10–14%
 * slower with the bias than without; with restrict, within noise). Only on
 * the kernels: inlining a function with restrict parameters leaves calls to
 * llvm.experimental.noalias.scope.decl, which Oclgrind cannot run, and the
 * kernel's own restrict covers the pointers derived from it. */
#define BIAS_PARAMS __global const float *restrict bias, const int bias_off
#define TILE_BIAS_PARAMS __global const float *bias, const int bias_off

#define CLNN_CAT_(a, b) a##b
#define CLNN_CAT(a, b) CLNN_CAT_(a, b)

#define floatv CLNN_CAT(float, VW)
#define vloadv CLNN_CAT(vload, VW)
#define vstorev CLNN_CAT(vstore, VW)
#define uintv CLNN_CAT(uint, VW)
/* shuffle() mask moving lane l+1 to lane l. */
#if VW == 2
#define ROTATE_V ((uint2)(1, 0))
#elif VW == 4
#define ROTATE_V ((uint4)(1, 2, 3, 0))
#elif VW == 8
#define ROTATE_V ((uint8)(1, 2, 3, 4, 5, 6, 7, 0))
#else
#define ROTATE_V ((uint16)(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0))
#endif
#define floatd CLNN_CAT(float, DVW)
#define vloadd CLNN_CAT(vload, DVW)

#define TN (VW * NV)

/* Horizontal sum of a DVW-wide vector. */
float hsum_d(floatd v)
{
#if DVW == 16
    float8 v8 = v.lo + v.hi;
    float4 v4 = v8.lo + v8.hi;
#elif DVW == 8
    float4 v4 = v.lo + v.hi;
#elif DVW == 4
    float4 v4 = v;
#endif
#if DVW >= 4
    float2 v2 = v4.lo + v4.hi;
#else
    float2 v2 = v;
#endif
    return v2.x + v2.y;
}

#if DVW == 16
/* A transpose-and-add tree that sums 16 (or 8, 4) float16 vectors
 * horizontally in about 3 operations per vector instead of 8 for separate
 * reductions (10–15% faster at K = 256, where the reductions are a large part
 * of each work-item's work).
 * Each step pairs two vectors and halves the partial sums per output:
 * pair_sum(a, b) = [a: 8 partials | b: 8], quad_sum -> 4 outputs × 4 partials,
 * oct_sum -> 8 outputs × 2 partials. Written as value functions (no pointers)
 * so compilers inline them and keep everything in registers. */
float16 pair_sum(float16 x, float16 y)
{
    return (float16)(x.lo, y.lo) + (float16)(x.hi, y.hi);
}

float16 quad_sum(float16 x, float16 y)
{
    return (float16)(x.s0123, x.s89ab, y.s0123, y.s89ab) +
           (float16)(x.s4567, x.scdef, y.s4567, y.scdef);
}

float16 oct_sum(float16 x, float16 y)
{
    return (float16)(x.s01, x.s45, x.s89, x.scd, y.s01, y.s45, y.s89, y.scd) +
           (float16)(x.s23, x.s67, x.sab, x.sef, y.s23, y.s67, y.sab, y.sef);
}
#endif

/* Copy a vector into s[t..] element by element. (A vstore into the private
 * array would keep it in memory, and PoCL then gives every work-item of the
 * group its own copy; constant-index element copies stay in registers.) */
#define SPLIT4(s, t, v)                                                                       \
    do {                                                                                      \
        const float4 v4_ = (v);                                                               \
        (s)[(t)] = v4_.s0;                                                                    \
        (s)[(t) + 1] = v4_.s1;                                                                \
        (s)[(t) + 2] = v4_.s2;                                                                \
        (s)[(t) + 3] = v4_.s3;                                                                \
    } while (0)
#define SPLIT8(s, t, v)                                                                       \
    do {                                                                                      \
        const float8 v8_ = (v);                                                               \
        SPLIT4(s, t, v8_.lo);                                                                 \
        SPLIT4(s, (t) + 4, v8_.hi);                                                           \
    } while (0)

/* Store one element of C: c = alpha·acc (+ beta·c) + b (b = -0.0f without
 * a bias). */
void store_c(__global float *dst, float alpha, float acc, float beta, float b)
{
    float r = beta == 0.0f ? alpha * acc : alpha * acc + beta * *dst;
    r += b;
    *dst = r;
}

/* outer_tile's gather argument: A read through a row index, and also
 * copied out (0: A read in place). */
#define GATHER_ONLY 1
#define GATHER_COPY 2

/* gemm_outer's work for the tile at (m0, n0), with op(A)'s layout a constant
 * argument: inlined, each caller gets the code of its layout alone. a, b and
 * c point at the matrices' first elements. */
static inline __attribute__((always_inline)) void
outer_tile(const int trans_a, const int gather, const int m0, const int n0, const int M,
           const int N, const int K, const float alpha, __global const float *a, const int lda,
           __global const int *a_rows, __global float *a_copy, __global const float *b,
           const int ldb, const float beta, __global float *c, const int ldc, TILE_BIAS_PARAMS)
{
    /* The last tile along each dimension is shifted back to end exactly at
     * M / N, so every load is a full vector inside the matrix and the k loop
     * has no edge cases. Its overlap with the previous tile is computed twice
     * but stored only by the previous tile (below), so each element of C is
     * read and written by one work-item. */
    const int ms = min(m0, M - RM), ns = min(n0, N - TN);
    b += ns;
    /* op(A)[m, k] = a[k·lda + m] transposed, a[m·lda + k] otherwise. Gathered
     * (GATHER_COPY, GATHER_ONLY; never transposed), A's row r is row
     * a_rows[r] of a, with 64-bit offsets (a data set can hold more than 2^31
     * floats); GATHER_COPY also stores the rows it reads into a_copy, packed
     * with stride lda, for the weight gradient to read in order: read
     * through the index that product ran 20–37% slower on PoCL, its k loop
     * walking rows scattered over the whole data set. */
    __global const float *ar[RM];
    if (gather) {
        #pragma unroll
        for (int i = 0; i < RM; i++)
            ar[i] = a + (size_t)a_rows[ms + i] * lda;
    } else {
        a += trans_a ? ms : ms * lda;
    }

    floatv acc[RM][NV];
    #pragma unroll
    for (int i = 0; i < RM; i++)
        #pragma unroll
        for (int j = 0; j < NV; j++)
            acc[i][j] = (floatv)0.0f;

    for (int k = 0; k < K; k++) {
        floatv bv[NV];
        #pragma unroll
        for (int j = 0; j < NV; j++)
            bv[j] = vloadv(j, b);
        #pragma unroll
        for (int i = 0; i < RM; i++) {
            const float ai = gather ? ar[i][k] : trans_a ? a[i] : a[i * lda];
            /* Rows below m0 belong to the previous tile, which copies them. */
            if (gather == GATHER_COPY && ms + i >= m0)
                a_copy[(ms + i) * lda + k] = ai;
            const floatv av = (floatv)ai;
            #pragma unroll
            for (int j = 0; j < NV; j++)
                acc[i][j] = fma(av, bv[j], acc[i][j]);
        }
        b += ldb;
        if (!gather)
            a += trans_a ? lda : 1;
    }

    floatv bv[NV];
    #pragma unroll
    for (int j = 0; j < NV; j++)
        bv[j] = (floatv)(-0.0f);
    if (bias_off >= 0) {
        #pragma unroll
        for (int j = 0; j < NV; j++)
            bv[j] = vloadv(j, bias + bias_off + ns);
    }
    #pragma unroll
    for (int i = 0; i < RM; i++) {
        if (ms + i < m0)
            continue; /* row belongs to the previous tile */
        __global float *row = c + (ms + i) * ldc + ns;
        #pragma unroll
        for (int j = 0; j < NV; j++) {
            const int nv0 = ns + j * VW;
            if (nv0 >= n0) {
                floatv r = beta == 0.0f ? alpha * acc[i][j]
                                        : alpha * acc[i][j] + beta * vloadv(j, row);
                r += bv[j];
                vstorev(r, j, row);
            } else if (nv0 + VW > n0) {
                /* Vector straddling the previous tile's end (edge tile only):
                 * store only its own columns. Lanes are reached by rotating
                 * the vector with a constant shuffle: a variable lane index
                 * would go through memory, which PoCL replicates for every
                 * work-item of the group (and can overflow its stack). */
                floatv v = acc[i][j], bvj = bv[j];
                #pragma unroll 1
                for (int l = 0; l < VW; l++) { /* rare: keep the code small */
                    if (nv0 + l >= n0)
                        store_c(row + j * VW + l, alpha, v.s0, beta, bvj.s0);
                    v = shuffle(v, ROTATE_V);
                    bvj = shuffle(bvj, ROTATE_V);
                }
            }
        }
    }
}

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_gemm_outer)
__kernel void gemm_outer(const int M, const int N, const int K, const float alpha,
                         __global const float *a, const int a_off, const int lda,
                         __global const float *b, const int b_off, const int ldb,
                         const float beta, __global float *c, const int c_off, const int ldc,
                         BIAS_PARAMS, const int trans_a, const int grid_mn,
                         __global const int *a_rows, const int a_rows_off,
                         __global float *a_copy)
{
    const int g0 = get_global_id(0), g1 = get_global_id(1);
    const int m0 = (grid_mn ? g0 : g1) * RM, n0 = (grid_mn ? g1 : g0) * TN;
    a += a_off;
    b += b_off;
    c += c_off;
    /* a_rows_off < 0: A is not gathered; a_rows and a_copy are never read. */
    if (m0 < M && n0 < N) {
        if (a_rows_off >= 0 && n0 == 0) /* the first tile of each row band copies */
            outer_tile(0, GATHER_COPY, m0, n0, M, N, K, alpha, a, lda, a_rows + a_rows_off,
                       a_copy, b, ldb, beta, c, ldc, bias, bias_off);
        else if (a_rows_off >= 0)
            outer_tile(0, GATHER_ONLY, m0, n0, M, N, K, alpha, a, lda, a_rows + a_rows_off, 0,
                       b, ldb, beta, c, ldc, bias, bias_off);
        else if (trans_a)
            outer_tile(1, 0, m0, n0, M, N, K, alpha, a, lda, 0, 0, b, ldb, beta, c, ldc, bias,
                       bias_off);
        else
            outer_tile(0, 0, m0, n0, M, N, K, alpha, a, lda, 0, 0, b, ldb, beta, c, ldc, bias,
                       bias_off);
    }
}
#endif

/* Tile t of an M × N product's tiles, in grid_mn's order, as gemm_outer's
 * 2-D range orders them. */
static inline void tile_at(const int t, const int grid_mn, const int M, const int N, int *m0,
                           int *n0)
{
    const int tiles_m = (M + RM - 1) / RM, tiles_n = (N + TN - 1) / TN;
    if (grid_mn) {
        *m0 = t % tiles_m * RM;
        *n0 = t / tiles_m * TN;
    } else {
        *n0 = t % tiles_n * TN;
        *m0 = t / tiles_n * RM;
    }
}

/* A dense layer's two backward products in one launch: job 0 is the weight
 * gradient dW = dYᵀ·X (op(A) = Aᵀ), job 1 the input gradient dX = dY·W
 * (op(A) = A), each tile computed exactly as gemm_outer computes it; on
 * CPU devices a launch costs microseconds. A 1-D range: the first tiles0
 * work-items take job 0's tiles, the rest job 1's. No bias. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_gemm_outer_pair)
__kernel void gemm_outer_pair(const int tiles0, const int M0, const int N0, const int K0,
                              const float alpha0, __global const float *a0, const int a_off0,
                              const int lda0, __global const float *b0, const int b_off0,
                              const int ldb0, const float beta0, __global float *c0,
                              const int c_off0, const int ldc0, const int M1, const int N1,
                              const int K1, const float alpha1, __global const float *a1,
                              const int a_off1, const int lda1, __global const float *b1,
                              const int b_off1, const int ldb1, const float beta1,
                              __global float *c1, const int c_off1, const int ldc1,
                              const int grid_mn)
{
    const int t = get_global_id(0);
    int m0, n0;
    if (t < tiles0) {
        tile_at(t, grid_mn, M0, N0, &m0, &n0);
        outer_tile(1, 0, m0, n0, M0, N0, K0, alpha0, a0 + a_off0, lda0, 0, 0, b0 + b_off0,
                   ldb0, beta0, c0 + c_off0, ldc0, 0, -1);
    } else {
        tile_at(t - tiles0, grid_mn, M1, N1, &m0, &n0);
        if (m0 < M1 && n0 < N1) /* past the last tile: the range is rounded up */
            outer_tile(0, 0, m0, n0, M1, N1, K1, alpha1, a1 + a_off1, lda1, 0, 0, b1 + b_off1,
                       ldb1, beta1, c1 + c_off1, ldc1, 0, -1);
    }
}
#endif

/* gemm_dot's work for the tile at (m0, n0), with or without the bias as a
 * constant argument: a runtime test among the stores made the kernel 10%
 * slower at 256×128×256. a, b and c point at the matrices' first elements. */
static inline __attribute__((always_inline)) void
dot_tile(const int with_bias, const int m0, const int n0, const int M, const int N, const int K,
         const float alpha, __global const float *a, const int lda, __global const float *b,
         const int ldb, const float beta, __global float *c, const int ldc, TILE_BIAS_PARAMS)
{
    /* Edge tiles clamp their row indices to the last valid row, so loads
     * stay in bounds without branches; the duplicates are not stored. */
    __global const float *ar[DM], *br[DN];
    #pragma unroll
    for (int i = 0; i < DM; i++)
        ar[i] = a + min(m0 + i, M - 1) * lda;
    #pragma unroll
    for (int j = 0; j < DN; j++)
        br[j] = b + min(n0 + j, N - 1) * ldb;

    floatd acc[DM * DN];
    #pragma unroll
    for (int t = 0; t < DM * DN; t++)
        acc[t] = (floatd)0.0f;
    int k = 0;
    for (; k + DVW <= K; k += DVW) {
        floatd av[DM], bv[DN];
        #pragma unroll
        for (int i = 0; i < DM; i++)
            av[i] = vloadd(0, ar[i] + k);
        #pragma unroll
        for (int j = 0; j < DN; j++)
            bv[j] = vloadd(0, br[j] + k);
        #pragma unroll
        for (int i = 0; i < DM; i++)
            #pragma unroll
            for (int j = 0; j < DN; j++)
                acc[i * DN + j] = fma(av[i], bv[j], acc[i * DN + j]);
    }

    float s[DM * DN];
    int t = 0;
#if DVW == 16
    #pragma unroll
    for (; t + 16 <= DM * DN; t += 16) {
        const float16 lo = oct_sum(quad_sum(pair_sum(acc[t], acc[t + 1]),
                                            pair_sum(acc[t + 2], acc[t + 3])),
                                   quad_sum(pair_sum(acc[t + 4], acc[t + 5]),
                                            pair_sum(acc[t + 6], acc[t + 7])));
        const float16 hi = oct_sum(quad_sum(pair_sum(acc[t + 8], acc[t + 9]),
                                            pair_sum(acc[t + 10], acc[t + 11])),
                                   quad_sum(pair_sum(acc[t + 12], acc[t + 13]),
                                            pair_sum(acc[t + 14], acc[t + 15])));
        SPLIT8(s, t, lo.even + lo.odd);
        SPLIT8(s, t + 8, hi.even + hi.odd);
    }
    if (t + 8 <= DM * DN) {
        const float16 o = oct_sum(quad_sum(pair_sum(acc[t], acc[t + 1]),
                                           pair_sum(acc[t + 2], acc[t + 3])),
                                  quad_sum(pair_sum(acc[t + 4], acc[t + 5]),
                                           pair_sum(acc[t + 6], acc[t + 7])));
        SPLIT8(s, t, o.even + o.odd);
        t += 8;
    }
    if (t + 4 <= DM * DN) {
        const float16 q = quad_sum(pair_sum(acc[t], acc[t + 1]), pair_sum(acc[t + 2], acc[t + 3]));
        SPLIT4(s, t, q.s048c + q.s159d + q.s26ae + q.s37bf);
        t += 4;
    }
#endif
    #pragma unroll
    for (; t < DM * DN; t++)
        s[t] = hsum_d(acc[t]);
    /* K not a multiple of DVW: the last few products one at a time. */
    for (; k < K; k++)
        #pragma unroll
        for (int i = 0; i < DM; i++)
            #pragma unroll
            for (int j = 0; j < DN; j++)
                s[i * DN + j] = fma(ar[i][k], br[j][k], s[i * DN + j]);

    c += m0 * ldc + n0;
    if (with_bias)
        bias += bias_off + n0;
    /* The common case without per-element bounds or beta checks. (An if/else
     * rather than an early return: PoCL keeps values live across a
     * mid-kernel return in per-work-item memory.) */
    if (beta == 0.0f && m0 + DM <= M && n0 + DN <= N) {
        #pragma unroll
        for (int i = 0; i < DM; i++)
            #pragma unroll
            for (int j = 0; j < DN; j++) {
                float r = alpha * s[i * DN + j];
                if (with_bias)
                    r += bias[j];
                c[i * ldc + j] = r;
            }
    } else {
        /* Constant trip counts with the bounds as conditions inside, so the
         * loops unroll fully and s stays in registers. */
        #pragma unroll
        for (int i = 0; i < DM; i++)
            #pragma unroll
            for (int j = 0; j < DN; j++)
                if (m0 + i < M && n0 + j < N)
                    store_c(c + i * ldc + j, alpha, s[i * DN + j], beta,
                            with_bias ? bias[j] : -0.0f);
    }
}

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_gemm_dot)
__kernel void gemm_dot(const int M, const int N, const int K, const float alpha,
                       __global const float *a, const int a_off, const int lda,
                       __global const float *b, const int b_off, const int ldb,
                       const float beta, __global float *c, const int c_off, const int ldc,
                       BIAS_PARAMS, const int grid_mn)
{
    const int g0 = get_global_id(0), g1 = get_global_id(1);
    const int m0 = (grid_mn ? g0 : g1) * DM, n0 = (grid_mn ? g1 : g0) * DN;
    a += a_off;
    b += b_off;
    c += c_off;
    if (m0 < M && n0 < N) {
        if (bias_off >= 0)
            dot_tile(1, m0, n0, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc, bias, bias_off);
        else
            dot_tile(0, m0, n0, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc, bias, bias_off);
    }
}
#endif

/* The general fallback: a 4×4 scalar tile, any transposes (constant
 * arguments of the inlined tile code, as in outer_tile). */
#define GM 4
#define GN 4

static inline __attribute__((always_inline)) void
general_tile(const int trans_a, const int trans_b, const int m0, const int n0, const int M,
             const int N, const int K, const float alpha, __global const float *a,
             const int lda, __global const float *b, const int ldb, const float beta,
             __global float *c, const int ldc, TILE_BIAS_PARAMS)
{
    float acc[GM][GN];
    #pragma unroll
    for (int i = 0; i < GM; i++)
        #pragma unroll
        for (int j = 0; j < GN; j++)
            acc[i][j] = 0.0f;
    /* Clamp edge rows/columns to the last valid one; their results are
     * discarded below, so loads stay in bounds without branches. */
    int mi[GM], nj[GN];
    #pragma unroll
    for (int i = 0; i < GM; i++)
        mi[i] = min(m0 + i, M - 1);
    #pragma unroll
    for (int j = 0; j < GN; j++)
        nj[j] = min(n0 + j, N - 1);
    for (int k = 0; k < K; k++) {
        float av[GM], bv[GN];
        #pragma unroll
        for (int i = 0; i < GM; i++)
            av[i] = trans_a ? a[k * lda + mi[i]] : a[mi[i] * lda + k];
        #pragma unroll
        for (int j = 0; j < GN; j++)
            bv[j] = trans_b ? b[nj[j] * ldb + k] : b[k * ldb + nj[j]];
        #pragma unroll
        for (int i = 0; i < GM; i++)
            #pragma unroll
            for (int j = 0; j < GN; j++)
                acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    float bn[GN];
    #pragma unroll
    for (int j = 0; j < GN; j++)
        bn[j] = -0.0f;
    if (bias_off >= 0) {
        #pragma unroll
        for (int j = 0; j < GN; j++)
            bn[j] = bias[bias_off + nj[j]];
    }
    #pragma unroll
    for (int i = 0; i < GM; i++)
        #pragma unroll
        for (int j = 0; j < GN; j++)
            if (m0 + i < M && n0 + j < N)
                store_c(c + (m0 + i) * ldc + n0 + j, alpha, acc[i][j], beta, bn[j]);
}

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_gemm_general)
__kernel void gemm_general(const int M, const int N, const int K, const float alpha,
                           __global const float *a, const int a_off, const int lda,
                           __global const float *b, const int b_off, const int ldb,
                           const float beta, __global float *c, const int c_off, const int ldc,
                           BIAS_PARAMS, const int trans_a, const int trans_b)
{
    const int n0 = get_global_id(0) * GN;
    const int m0 = get_global_id(1) * GM;
    if (m0 >= M || n0 >= N)
        return;
    a += a_off;
    b += b_off;
    c += c_off;
    if (trans_a && trans_b)
        general_tile(1, 1, m0, n0, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc, bias, bias_off);
    else if (trans_a)
        general_tile(1, 0, m0, n0, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc, bias, bias_off);
    else if (trans_b)
        general_tile(0, 1, m0, n0, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc, bias, bias_off);
    else
        general_tile(0, 0, m0, n0, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc, bias, bias_off);
}
#endif
