/* Optimizers over the flat parameter buffer: one launch updates every
 * parameter of the network. Formulas and their order follow torch.optim.
 *
 * Each work-item updates W consecutive values (vec, LOAD and STORE from
 * common.cl); n is a multiple of W, as the host pads the flat buffers (the
 * padding stays zero: its gradient is zero, so is every update of it).
 *
 * A step that leaves a parameter NaN or infinite (training diverged) sets
 * metrics[flag_at] to 1, and nothing else ever writes it here: the host reads it
 * with the metrics when results are read (src/net/compute.c), so that no
 * step has to wait. Every writer writes the same value. */

/* Whether any of the W values of v is NaN or infinite. (Relational
 * functions give a vector -1 per true lane, which any() reads, but a
 * scalar 1.) */
#if W == 1
#define ANY_NONFINITE(v) (!isfinite(v))
#else
#define ANY_NONFINITE(v) any(!isfinite(v))
#endif

static void store_param(const vec p, __global float *params, const int i,
                        __global float *metrics, const int flag_at)
{
    STORE(p, params, i);
    if (ANY_NONFINITE(p))
        metrics[flag_at] = 1.0f;
}

/* torch.optim.SGD: d = g + wd·p; buf = d on the first step, else
 * momentum·buf + (1 − dampening)·d; d = d + momentum·buf (nesterov) or buf;
 * p −= lr·d. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_sgd_step)
__kernel void sgd_step(__global float *p, __global const float *g, __global float *buf,
                       const int n, const float lr, const float weight_decay,
                       const float momentum, const float one_minus_dampening,
                       const int nesterov, const int first, __global float *metrics,
                       const int flag_at)
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
    store_param(LOAD(p, i) - lr * d, p, i, metrics, flag_at);
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
                        const float bias_correction2_sqrt, const float eps,
                        __global float *metrics, const int flag_at)
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
    store_param(LOAD(p, i) - step_size * (mi / denom), p, i, metrics, flag_at);
}
#endif
