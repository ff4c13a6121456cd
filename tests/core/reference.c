/* Double-precision reference operations (see reference.h). Formulas follow
 * the textbook derivations rather than the kernels' compact forms, so a
 * shared algebra mistake is unlikely; test_reference.c checks every backward
 * here against central differences of its forward. */
#include "reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ref_gemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, double alpha,
              const double *a, size_t lda, const double *b, size_t ldb, double beta, double *c,
              size_t ldc)
{
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double s = 0.0;
            for (size_t p = 0; p < k; p++) {
                double av = trans_a ? a[p * lda + i] : a[i * lda + p];
                double bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
                s += av * bv;
            }
            double *dst = &c[i * ldc + j];
            *dst = beta == 0.0 ? alpha * s : alpha * s + beta * *dst;
        }
    }
}

void ref_linear_forward(const double *x, size_t rows, size_t in, size_t out, const double *w,
                        const double *b, double *y)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t o = 0; o < out; o++) {
            double s = b[o];
            for (size_t i = 0; i < in; i++)
                s += x[r * in + i] * w[o * in + i];
            y[r * out + o] = s;
        }
}

void ref_linear_backward(const double *x, const double *dy, size_t rows, size_t in, size_t out,
                         const double *w, double *dw, double *db, double *dx)
{
    for (size_t o = 0; o < out; o++) {
        double sb = 0.0;
        for (size_t r = 0; r < rows; r++)
            sb += dy[r * out + o];
        db[o] = sb;
        for (size_t i = 0; i < in; i++) {
            double s = 0.0;
            for (size_t r = 0; r < rows; r++)
                s += dy[r * out + o] * x[r * in + i];
            dw[o * in + i] = s;
        }
    }
    if (!dx)
        return;
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < in; i++) {
            double s = 0.0;
            for (size_t o = 0; o < out; o++)
                s += dy[r * out + o] * w[o * in + i];
            dx[r * in + i] = s;
        }
}

void ref_bn_forward_train(const double *x, size_t rows, size_t cols, const double *gamma,
                          const double *beta, double *running_mean, double *running_var,
                          double *save_mean, double *save_invstd, double *y)
{
    for (size_t c = 0; c < cols; c++) {
        double mean = 0.0;
        for (size_t r = 0; r < rows; r++)
            mean += x[r * cols + c];
        mean /= (double)rows;
        double ss = 0.0;
        for (size_t r = 0; r < rows; r++)
            ss += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
        double biased = ss / (double)rows;
        double invstd = 1.0 / sqrt(biased + REF_BN_EPS);
        for (size_t r = 0; r < rows; r++)
            y[r * cols + c] = (x[r * cols + c] - mean) * invstd * gamma[c] + beta[c];
        save_mean[c] = mean;
        save_invstd[c] = invstd;
        /* PyTorch's running statistics use the unbiased variance. */
        double unbiased = ss / (double)(rows - 1);
        running_mean[c] = (1.0 - REF_BN_MOMENTUM) * running_mean[c] + REF_BN_MOMENTUM * mean;
        running_var[c] = (1.0 - REF_BN_MOMENTUM) * running_var[c] + REF_BN_MOMENTUM * unbiased;
    }
}

void ref_bn_forward_eval(const double *x, size_t rows, size_t cols, const double *gamma,
                         const double *beta, const double *running_mean,
                         const double *running_var, double *save_mean, double *save_invstd,
                         double *y)
{
    for (size_t c = 0; c < cols; c++) {
        double invstd = 1.0 / sqrt(running_var[c] + REF_BN_EPS);
        for (size_t r = 0; r < rows; r++)
            y[r * cols + c] = (x[r * cols + c] - running_mean[c]) * invstd * gamma[c] + beta[c];
        save_mean[c] = running_mean[c];
        save_invstd[c] = invstd;
    }
}

/* With batch statistics, y = γ·x̂ + β with x̂ = (x − μ)·s, s = (σ² + eps)^(-1/2),
 * μ and σ² functions of the whole column. Chain rule through σ² and μ:
 *   dx̂ = dy·γ
 *   dσ² = Σ dx̂·(x − μ) · (−½)·s³
 *   dμ = Σ dx̂·(−s) + dσ²·Σ(−2(x − μ))/N
 *   dx = dx̂·s + dσ²·2(x − μ)/N + dμ/N */
void ref_bn_backward(const double *x, const double *dy, size_t rows, size_t cols,
                     const double *gamma, const double *save_mean, const double *save_invstd,
                     bool batch_stats, double *dgamma, double *dbeta, double *dx)
{
    double n = (double)rows;
    for (size_t c = 0; c < cols; c++) {
        double mu = save_mean[c], s = save_invstd[c];
        double dg = 0.0, db = 0.0, dvar = 0.0, dmean = 0.0, sum_centered = 0.0;
        for (size_t r = 0; r < rows; r++) {
            double xc = x[r * cols + c] - mu, g = dy[r * cols + c];
            dg += g * xc * s;
            db += g;
            dvar += g * gamma[c] * xc * -0.5 * s * s * s;
            dmean += g * gamma[c] * -s;
            sum_centered += -2.0 * xc;
        }
        dgamma[c] = dg;
        dbeta[c] = db;
        if (!dx)
            continue;
        dmean += dvar * sum_centered / n;
        for (size_t r = 0; r < rows; r++) {
            double xc = x[r * cols + c] - mu, dxhat = dy[r * cols + c] * gamma[c];
            dx[r * cols + c] = batch_stats ? dxhat * s + dvar * 2.0 * xc / n + dmean / n
                                           : dxhat * s;
        }
    }
}

void ref_layernorm_forward(const double *x, size_t rows, size_t cols, const double *gamma,
                           const double *beta, double *y)
{
    for (size_t r = 0; r < rows; r++) {
        const double *xr = x + r * cols;
        double mean = 0.0, ss = 0.0;
        for (size_t c = 0; c < cols; c++)
            mean += xr[c];
        mean /= (double)cols;
        for (size_t c = 0; c < cols; c++)
            ss += (xr[c] - mean) * (xr[c] - mean);
        double invstd = 1.0 / sqrt(ss / (double)cols + REF_LN_EPS);
        for (size_t c = 0; c < cols; c++)
            y[r * cols + c] = (xr[c] - mean) * invstd * gamma[c] + beta[c];
    }
}

/* The same chain rule as BatchNorm's above, along each row instead of each
 * column: dx̂ = dy·γ, dσ² = Σ dx̂·(x − μ)·(−½)s³, dμ = Σ dx̂·(−s) +
 * dσ²·Σ(−2(x − μ))/N, dx = dx̂·s + dσ²·2(x − μ)/N + dμ/N; dγ and dβ sum
 * dy·x̂ and dy down the columns. */
void ref_layernorm_backward(const double *x, const double *dy, size_t rows, size_t cols,
                            const double *gamma, double *dgamma, double *dbeta, double *dx)
{
    double n = (double)cols;
    for (size_t c = 0; c < cols; c++)
        dgamma[c] = dbeta[c] = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const double *xr = x + r * cols, *dyr = dy + r * cols;
        double mu = 0.0, ss = 0.0;
        for (size_t c = 0; c < cols; c++)
            mu += xr[c];
        mu /= n;
        for (size_t c = 0; c < cols; c++)
            ss += (xr[c] - mu) * (xr[c] - mu);
        double s = 1.0 / sqrt(ss / n + REF_LN_EPS);
        double dvar = 0.0, dmean = 0.0, sum_centered = 0.0;
        for (size_t c = 0; c < cols; c++) {
            double xc = xr[c] - mu;
            dgamma[c] += dyr[c] * xc * s;
            dbeta[c] += dyr[c];
            dvar += dyr[c] * gamma[c] * xc * -0.5 * s * s * s;
            dmean += dyr[c] * gamma[c] * -s;
            sum_centered += -2.0 * xc;
        }
        dmean += dvar * sum_centered / n;
        for (size_t c = 0; dx && c < cols; c++)
            dx[r * cols + c] = dyr[c] * gamma[c] * s + dvar * 2.0 * (xr[c] - mu) / n + dmean / n;
    }
}

void ref_relu_forward(const double *x, size_t n, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0 ? x[i] : 0.0;
}

void ref_relu_backward(const double *y, const double *dy, size_t n, double *dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = y[i] > 0.0 ? dy[i] : 0.0;
}

static double ref_sigmoid(double x)
{
    return x >= 0.0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

static double activation(ref_activation f, double slope, double x)
{
    switch (f) {
    case REF_LEAKYRELU:
        return x > 0.0 ? x : slope * x;
    case REF_GELU:
        return 0.5 * x * erfc(-x / sqrt(2.0));
    case REF_TANH:
        return tanh(x);
    case REF_SIGMOID:
        return ref_sigmoid(x);
    case REF_SILU:
        return x * ref_sigmoid(x);
    case REF_SOFTPLUS:
        return x > 20.0 ? x : log1p(exp(x));
    }
    return NAN;
}

static double derivative(ref_activation f, double slope, double x)
{
    const double pi = 3.14159265358979323846;
    switch (f) {
    case REF_LEAKYRELU:
        return x > 0.0 ? 1.0 : slope;
    case REF_GELU:
        return 0.5 * erfc(-x / sqrt(2.0)) + x * exp(-0.5 * x * x) / sqrt(2.0 * pi);
    case REF_TANH:
        return 1.0 / (cosh(x) * cosh(x));
    case REF_SIGMOID:
        return ref_sigmoid(x) * ref_sigmoid(-x);
    case REF_SILU:
        return ref_sigmoid(x) + x * ref_sigmoid(x) * ref_sigmoid(-x);
    case REF_SOFTPLUS:
        return x > 20.0 ? 1.0 : ref_sigmoid(x);
    }
    return NAN;
}

void ref_activation_forward(ref_activation f, double slope, const double *x, size_t n, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = activation(f, slope, x[i]);
}

void ref_activation_backward(ref_activation f, double slope, const double *x, const double *dy,
                             size_t n, double *dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * derivative(f, slope, x[i]);
}

void ref_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c[4] = {counter[0], counter[1], counter[2], counter[3]}, k[2] = {key[0], key[1]};
    for (int round = 0; round < 10; round++) {
        if (round > 0) { /* the key schedule: Weyl sequences */
            k[0] += 0x9E3779B9u;
            k[1] += 0xBB67AE85u;
        }
        uint64_t p0 = (uint64_t)0xD2511F53u * c[0], p1 = (uint64_t)0xCD9E8D57u * c[2];
        uint32_t next[4] = {(uint32_t)(p1 >> 32) ^ c[1] ^ k[0], (uint32_t)p1,
                            (uint32_t)(p0 >> 32) ^ c[3] ^ k[1], (uint32_t)p0};
        memcpy(c, next, sizeof c);
    }
    memcpy(out, c, sizeof c);
}

void ref_dropout_factors(double p, uint64_t key, uint64_t step, size_t first_row, size_t rows,
                         size_t cols, double *factor)
{
    const uint32_t k[2] = {(uint32_t)key, (uint32_t)(key >> 32)};
    const double threshold = floor(p * 4294967296.0);
    const double scale = p >= 1.0 ? 0.0 : (double)(1.0f / (float)(1.0 - p));
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            const uint32_t counter[4] = {(uint32_t)c, (uint32_t)(first_row + r), (uint32_t)step,
                                         (uint32_t)(step >> 32)};
            uint32_t out[4];
            ref_philox4x32_10(counter, k, out);
            factor[r * cols + c] = (double)out[0] < threshold ? 0.0 : scale;
        }
}

double ref_softmax_xent(const double *z, const int32_t *labels, size_t rows, size_t classes,
                        double *dz)
{
    double total = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const double *zr = z + r * classes;
        double mx = zr[0];
        for (size_t j = 1; j < classes; j++)
            mx = zr[j] > mx ? zr[j] : mx;
        double sum = 0.0;
        for (size_t j = 0; j < classes; j++)
            sum += exp(zr[j] - mx);
        total += mx + log(sum) - zr[labels[r]];
        for (size_t j = 0; dz && j < classes; j++)
            dz[r * classes + j] =
                (exp(zr[j] - mx) / sum - ((int32_t)j == labels[r] ? 1.0 : 0.0)) / (double)rows;
    }
    return total / (double)rows;
}

void ref_sgd_step(const ref_sgd *o, double *p, const double *g, double *buf, size_t n, bool first)
{
    for (size_t i = 0; i < n; i++) {
        double d = g[i];
        if (o->weight_decay != 0.0)
            d += o->weight_decay * p[i];
        if (o->momentum != 0.0) {
            buf[i] = first ? d : o->momentum * buf[i] + (1.0 - o->dampening) * d;
            d = o->nesterov ? d + o->momentum * buf[i] : buf[i];
        }
        p[i] -= o->lr * d;
    }
}

void ref_adam_step(const ref_adam *o, double *p, const double *g, double *m, double *v, size_t n,
                   uint64_t t)
{
    double bc1 = 1.0 - pow(o->beta1, (double)t), bc2 = 1.0 - pow(o->beta2, (double)t);
    for (size_t i = 0; i < n; i++) {
        double d = g[i];
        if (o->weight_decay != 0.0)
            d += o->weight_decay * p[i];
        m[i] = o->beta1 * m[i] + (1.0 - o->beta1) * d;
        v[i] = o->beta2 * v[i] + (1.0 - o->beta2) * d * d;
        double denom = sqrt(v[i]) / sqrt(bc2) + o->eps;
        p[i] -= o->lr / bc1 * m[i] / denom;
    }
}
