/* Prepended to every program. Sizes and offsets are passed as int: every
 * tensor clnn handles holds fewer than 2^31 elements (checked on the host). */
#define CLNN_KERNELS 1

/* Every kernel sits inside #if !defined(CLNN_ONLY) || defined(CLNN_ONLY_<its
 * name>): built with -D CLNN_ONLY -D CLNN_ONLY_<name>, a program holds that
 * kernel alone (src/runtime/program.c says when). */

/* Kernels specialised with -D W=4, 8 or 16 handle W adjacent floats per
 * work-item as one explicit vector (vec, LOAD, STORE): CPU drivers such as
 * PoCL need that to run these loops at memory speed, while GPUs take W = 1
 * (the default) so that neighbouring work-items coalesce. */
#ifndef W
#define W 1
#endif
#if W == 1
typedef float vec;
#define LOAD(p, i) ((p)[i])
#define STORE(v, p, i) ((p)[i] = (v))
#elif W == 4
typedef float4 vec;
#define LOAD(p, i) vload4(0, (p) + (i))
#define STORE(v, p, i) vstore4((v), 0, (p) + (i))
#elif W == 8
typedef float8 vec;
#define LOAD(p, i) vload8(0, (p) + (i))
#define STORE(v, p, i) vstore8((v), 0, (p) + (i))
#elif W == 16
typedef float16 vec;
#define LOAD(p, i) vload16(0, (p) + (i))
#define STORE(v, p, i) vstore16((v), 0, (p) + (i))
#else
#error "W must be 1, 4, 8 or 16"
#endif

/* Σ_r p[r·ld + c .. + W−1] in the one order every bias gradient uses, so
 * that the kernels computing one agree to the bit: four partial sums over
 * rows r ≡ 0..3 (mod 4), which keeps consecutive rows from waiting on one
 * another's additions, the remaining rows into the first, then added
 * pairwise. (bn_backward takes the same order while it writes dx.) */
static vec column_sum(__global const float *p, const int rows, const int ld, const int c)
{
    vec s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        s0 += LOAD(p, r * ld + c);
        s1 += LOAD(p, (r + 1) * ld + c);
        s2 += LOAD(p, (r + 2) * ld + c);
        s3 += LOAD(p, (r + 3) * ld + c);
    }
    for (; r < rows; r++)
        s0 += LOAD(p, r * ld + c);
    return (s0 + s1) + (s2 + s3);
}
