/* Optimizers over the flat parameter buffer: one launch updates every
 * parameter of the network. Formulas and their order follow torch.optim. */

/* torch.optim.SGD: d = g + wd·p; buf = d on the first step, else
 * momentum·buf + (1 − dampening)·d; d = d + momentum·buf (nesterov) or buf;
 * p −= lr·d. */
__kernel void sgd_step(__global float *p, __global const float *g, __global float *buf,
                       const int n, const float lr, const float weight_decay,
                       const float momentum, const float one_minus_dampening,
                       const int nesterov, const int first)
{
    const int i = get_global_id(0);
    if (i >= n)
        return;
    float d = g[i];
    if (weight_decay != 0.0f)
        d = d + weight_decay * p[i];
    if (momentum != 0.0f) {
        const float b = first ? d : momentum * buf[i] + one_minus_dampening * d;
        buf[i] = b;
        d = nesterov ? d + momentum * b : b;
    }
    p[i] = p[i] - lr * d;
}

/* torch.optim.Adam (not amsgrad): m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
 * p −= step_size · m / (sqrt(v) / sqrt(1 − β2^t) + eps), with
 * step_size = lr / (1 − β1^t) computed on the host in double precision. */
__kernel void adam_step(__global float *p, __global const float *g, __global float *m,
                        __global float *v, const int n, const float weight_decay,
                        const float beta1, const float one_minus_beta1, const float beta2,
                        const float one_minus_beta2, const float step_size,
                        const float bias_correction2_sqrt, const float eps)
{
    const int i = get_global_id(0);
    if (i >= n)
        return;
    float d = g[i];
    if (weight_decay != 0.0f)
        d = d + weight_decay * p[i];
    const float mi = beta1 * m[i] + one_minus_beta1 * d;
    const float vi = beta2 * v[i] + one_minus_beta2 * d * d;
    m[i] = mi;
    v[i] = vi;
    const float denom = sqrt(vi) / bias_correction2_sqrt + eps;
    p[i] = p[i] - step_size * (mi / denom);
}
