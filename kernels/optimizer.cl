/* Optimizers over the flat parameter buffer: one launch updates every
 * parameter of the network. Formulas and their order follow torch.optim.
 *
 * Each work-item updates W consecutive values (vec, LOAD and STORE from
 * common.cl); n is a multiple of W, as the host pads the flat buffers (the
 * padding stays zero: its gradient is zero, so is every update of it). */

/* torch.optim.SGD: d = g + wd·p; buf = d on the first step, else
 * momentum·buf + (1 − dampening)·d; d = d + momentum·buf (nesterov) or buf;
 * p −= lr·d. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_sgd_step)
__kernel void sgd_step(__global float *p, __global const float *g, __global float *buf,
                       const int n, const float lr, const float weight_decay,
                       const float momentum, const float one_minus_dampening,
                       const int nesterov, const int first)
{
    const int i = get_global_id(0) * W;
    if (i >= n)
        return;
    vec d = LOAD(g, i);
    if (weight_decay != 0.0f)
        d = d + weight_decay * LOAD(p, i);
    if (momentum != 0.0f) {
        const vec b = first ? d : momentum * LOAD(buf, i) + one_minus_dampening * d;
        STORE(b, buf, i);
        d = nesterov ? d + momentum * b : b;
    }
    STORE(LOAD(p, i) - lr * d, p, i);
}
#endif

/* torch.optim.Adam (not amsgrad): m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
 * p −= step_size · m / (sqrt(v) / sqrt(1 − β2^t) + eps), with
 * step_size = lr / (1 − β1^t) computed on the host in double precision. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_adam_step)
__kernel void adam_step(__global float *p, __global const float *g, __global float *m,
                        __global float *v, const int n, const float weight_decay,
                        const float beta1, const float one_minus_beta1, const float beta2,
                        const float one_minus_beta2, const float step_size,
                        const float bias_correction2_sqrt, const float eps)
{
    const int i = get_global_id(0) * W;
    if (i >= n)
        return;
    vec d = LOAD(g, i);
    if (weight_decay != 0.0f)
        d = d + weight_decay * LOAD(p, i);
    const vec mi = beta1 * LOAD(m, i) + one_minus_beta1 * d;
    const vec vi = beta2 * LOAD(v, i) + one_minus_beta2 * d * d;
    STORE(mi, m, i);
    STORE(vi, v, i);
    const vec denom = sqrt(vi) / bias_correction2_sqrt + eps;
    STORE(LOAD(p, i) - step_size * (mi / denom), p, i);
}
#endif

/* Sets metrics[flag_at] to 1 when any of the n parameters is NaN or infinite: run
 * before results are read after steps (src/net/compute.c), not in the steps
 * themselves, where a conditional store kept PoCL from vectorising the SGD
 * step (a quarter slower). Every writer writes the same value. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_find_nonfinite)
__kernel void find_nonfinite(__global const float *p, const int n, __global float *metrics,
                             const int flag_at)
{
    const int i = get_global_id(0) * W;
    if (i >= n)
        return;
#if W == 1
    const int bad = !isfinite(LOAD(p, i));
#else
    const int bad = any(!isfinite(LOAD(p, i))); /* -1 per true lane, which any() reads */
#endif
    if (bad)
        metrics[flag_at] = 1.0f;
}
#endif
