/* Device peak probes for benchmarks: arithmetic throughput and memory
 * bandwidth, as a yardstick for how close clnn's kernels come to the device.
 *
 * FLOP/s: each work-item runs PROBE_CHAINS independent fma chains, so the
 * loop is bound by the fma units rather than by one chain's latency (a CPU
 * core needs about 8 chains in flight to fill two fma pipes; a GPU hides
 * latency across work-items as well). The vector width that suits a device
 * differs (CPU drivers such as PoCL vectorize scalar work-items themselves;
 * explicit float16 maps straight onto AVX-512), so the host tries every
 * width and keeps the fastest. x = x * a + b with b = 1 - a converges to 1,
 * so values stay normal (denormals would slow some CPUs) and finite. The
 * chains start from different values so the compiler cannot merge them, and
 * the sum is stored so the work cannot be dropped. */

#define PROBE_CHAINS 8

#define PROBE_FMA_BODY(T)                                                      \
    const int i = get_global_id(0);                                            \
    const T base = (T)((float)(i & 255) * 1e-4f);                              \
    T x0 = base, x1 = base + 0.01f, x2 = base + 0.02f, x3 = base + 0.03f;      \
    T x4 = base + 0.04f, x5 = base + 0.05f, x6 = base + 0.06f;                 \
    T x7 = base + 0.07f;                                                       \
    for (int k = 0; k < iters; k++) {                                          \
        x0 = fma(x0, (T)a, (T)b);                                              \
        x1 = fma(x1, (T)a, (T)b);                                              \
        x2 = fma(x2, (T)a, (T)b);                                              \
        x3 = fma(x3, (T)a, (T)b);                                              \
        x4 = fma(x4, (T)a, (T)b);                                              \
        x5 = fma(x5, (T)a, (T)b);                                              \
        x6 = fma(x6, (T)a, (T)b);                                              \
        x7 = fma(x7, (T)a, (T)b);                                              \
    }                                                                          \
    const T s = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_probe_fma1)
__kernel void probe_fma1(__global float *out, const int iters, const float a, const float b)
{
    PROBE_FMA_BODY(float)
    out[i] = s;
}
#endif

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_probe_fma4)
__kernel void probe_fma4(__global float *out, const int iters, const float a, const float b)
{
    PROBE_FMA_BODY(float4)
    out[i] = dot(s, (float4)(1.0f));
}
#endif

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_probe_fma16)
__kernel void probe_fma16(__global float *out, const int iters, const float a, const float b)
{
    PROBE_FMA_BODY(float16)
    const float8 h = s.lo + s.hi;
    out[i] = dot(h.lo + h.hi, (float4)(1.0f));
}
#endif

/* Bandwidth: a plain unit-stride copy, the simplest kernel that streams
 * memory; elementwise kernels can be judged against it at their own size. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_probe_copy4)
__kernel void probe_copy4(__global const float4 *src, __global float4 *dst, const int n)
{
    const int i = get_global_id(0);
    if (i < n)
        dst[i] = src[i];
}
#endif

/* Launch cost: a kernel that does nothing (the store never happens, but the
 * compiler cannot know), so its time is the launch alone. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_probe_empty)
__kernel void probe_empty(__global float *out, const int never)
{
    if ((int)get_global_id(0) == never)
        out[0] = 0.0f;
}
#endif
