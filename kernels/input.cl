/* A batch drawn from data kept on the device (clnn_net_set_data). */

/* dst[r, f] = src[order[first + r], f] for rows × features floats (both row
 * strides are features); global = (ceil(features / GATHER_CHUNK), rows),
 * GATHER_CHUNK (-D, a multiple of 4) floats per work-item.
 * Runs where the first layer cannot read the rows through the index itself
 * (src/net/compute.c). */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_gather_rows)
__kernel void gather_rows(__global const float *src, __global const int *order, const int first,
                          const int rows, const int features, __global float *dst)
{
    const int f0 = get_global_id(0) * GATHER_CHUNK;
    const int r = get_global_id(1);
    if (f0 >= features || r >= rows)
        return;
    __global const float *from = src + (size_t)order[first + r] * features + f0;
    __global float *to = dst + (size_t)r * features + f0;
    if (f0 + GATHER_CHUNK <= features) {
        #pragma unroll
        for (int i = 0; i < GATHER_CHUNK / 4; i++)
            vstore4(vload4(i, from), i, to);
    } else {
        for (int i = 0; i < features - f0; i++)
            to[i] = from[i];
    }
}
#endif
