/* Inverted dropout (src/layers/dropout.c): out = in · scale where element
 * (row, column) is kept, in · 0 where it is dropped. Kept means that the
 * first word of Philox4x32-10 (Salmon et al., "Parallel random numbers: as
 * easy as 1, 2, 3", SC 2011; the constants of Random123) of the counter
 * (column, first_row + row, step) under the layer's key is at least
 * threshold (p·2^32), so forward and backward, and processes holding
 * different rows of one batch, compute the same mask. threshold 0 keeps
 * every element without drawing (evaluation, p = 0). */

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_dropout_apply)
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static uint philox4x32_10_first(uint4 c, uint2 k)
{
    for (int r = 0; r < 10; r++) {
        if (r > 0)
            k += (uint2)(PHILOX_W0, PHILOX_W1);
        const uint hi0 = mul_hi(PHILOX_M0, c.x), lo0 = PHILOX_M0 * c.x;
        const uint hi1 = mul_hi(PHILOX_M1, c.z), lo1 = PHILOX_M1 * c.z;
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c.x;
}

__kernel void dropout_apply(__global const float *in, const int ld_in, __global float *out,
                            const int ld_out, const int rows, const int cols, const uint key0,
                            const uint key1, const uint step0, const uint step1,
                            const uint first_row, const uint threshold, const float scale)
{
    const int col = get_global_id(0), row = get_global_id(1);
    if (col >= cols || row >= rows)
        return;
    float m = scale;
    if (threshold != 0u) {
        const uint4 counter = (uint4)((uint)col, first_row + (uint)row, step0, step1);
        if (philox4x32_10_first(counter, (uint2)(key0, key1)) < threshold)
            m = 0.0f;
    }
    out[(size_t)row * (size_t)ld_out + (size_t)col] =
        in[(size_t)row * (size_t)ld_in + (size_t)col] * m;
}
#endif
