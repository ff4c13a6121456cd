/* Double-precision reference implementations of every operation clnn runs on
 * the device, written for clarity, not speed, with PyTorch's semantics.
 * Matrices are row-major; a batch is rows × features. No OpenCL here: the
 * tests compare the device's float32 results against these. */
#ifndef CORE_REFERENCE_H
#define CORE_REFERENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* PyTorch's BatchNorm1d defaults, which clnn uses. */
#define REF_BN_EPS 1e-5
#define REF_BN_MOMENTUM 0.1

/* C = alpha·op(A)·op(B) + beta·C with op(A) m×k and op(B) k×n; op(X) is X or
 * Xᵀ as stored with leading dimension ld. beta == 0 never reads C. */
void ref_gemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, double alpha,
              const double *a, size_t lda, const double *b, size_t ldb, double beta, double *c,
              size_t ldc);

/* torch.nn.Linear: y = x·Wᵀ + b, W is out × in. */
void ref_linear_forward(const double *x, size_t rows, size_t in, size_t out, const double *w,
                        const double *b, double *y);
/* dW = dyᵀ·x, db = Σ_rows dy, dx = dy·W (dx may be NULL). Overwrites. */
void ref_linear_backward(const double *x, const double *dy, size_t rows, size_t in, size_t out,
                         const double *w, double *dw, double *db, double *dx);

/* BatchNorm1d in training mode: normalise with the batch mean and the biased
 * variance; store mean and 1/sqrt(var + eps) in save_mean/save_invstd for
 * backward; update running_mean/running_var with momentum and the unbiased
 * variance (needs rows > 1, as PyTorch). */
void ref_bn_forward_train(const double *x, size_t rows, size_t cols, const double *gamma,
                          const double *beta, double *running_mean, double *running_var,
                          double *save_mean, double *save_invstd, double *y);
/* BatchNorm1d in eval mode: normalise with the running statistics; the
 * statistics used go to save_mean/save_invstd (for an eval-mode backward). */
void ref_bn_forward_eval(const double *x, size_t rows, size_t cols, const double *gamma,
                         const double *beta, const double *running_mean,
                         const double *running_var, double *save_mean, double *save_invstd,
                         double *y);
/* Backward of either mode; batch_stats says whether the forward used batch
 * statistics (which then depend on every input). dx may be NULL. */
void ref_bn_backward(const double *x, const double *dy, size_t rows, size_t cols,
                     const double *gamma, const double *save_mean, const double *save_invstd,
                     bool batch_stats, double *dgamma, double *dbeta, double *dx);

/* torch.nn.LayerNorm(cols), eps 1e-5: each row normalised with its own mean
 * and biased variance, then y = x̂·γ + β. */
#define REF_LN_EPS 1e-5
void ref_layernorm_forward(const double *x, size_t rows, size_t cols, const double *gamma,
                           const double *beta, double *y);
/* dγ, dβ (overwritten) and dx (may be NULL) from dy; statistics recomputed
 * from x. */
void ref_layernorm_backward(const double *x, const double *dy, size_t rows, size_t cols,
                            const double *gamma, double *dgamma, double *dbeta, double *dx);

void ref_relu_forward(const double *x, size_t n, double *y);
/* The gradient passes where the output is positive (as PyTorch). */
void ref_relu_backward(const double *y, const double *dy, size_t n, double *dx);

/* The other elementwise activations, from their definitions: LeakyReLU
 * (x > 0 ? x : slope·x), GELU (x·Φ(x), Φ the standard normal distribution
 * function), Tanh, Sigmoid (1/(1 + e^−x)), SiLU (x·sigmoid(x)), Softplus
 * (log(1 + e^x), x above PyTorch's threshold 20). Their
 * derivatives are taken at the input x (LeakyReLU's at 0 is slope, as
 * PyTorch's). */
typedef enum ref_activation {
    REF_LEAKYRELU,
    REF_GELU,
    REF_TANH,
    REF_SIGMOID,
    REF_SILU,
    REF_SOFTPLUS
} ref_activation;
void ref_activation_forward(ref_activation f, double slope, const double *x, size_t n, double *y);
void ref_activation_backward(ref_activation f, double slope, const double *x, const double *dy,
                             size_t n, double *dx);

/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
 * 3", SC 2011) with Random123's constants: the four words of counter under
 * key. test_dropout.c checks it against Random123's known answers. */
void ref_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);
/* The factors clnn's dropout layer multiplies rows first_row.. (rows × cols)
 * of the global batch by in its training forward number step: 0 where the
 * first Philox word of (column, row, step) under key is below p·2^32, else
 * PyTorch's float 1/(1 − p); p = 1: all 0. */
void ref_dropout_factors(double p, uint64_t key, uint64_t step, size_t first_row, size_t rows,
                         size_t cols, double *factor);

/* F.cross_entropy (mean over rows) of logits z; dz (may be NULL) is the
 * gradient of that mean: (softmax(z) − onehot(label)) / rows. */
double ref_softmax_xent(const double *z, const int32_t *labels, size_t rows, size_t classes,
                        double *dz);

/* torch.optim.SGD on n parameters: d = g + wd·p; with momentum, buf = d on
 * the first step, else momentum·buf + (1 − dampening)·d, and d = d +
 * momentum·buf (nesterov) or buf; p −= lr·d. */
typedef struct ref_sgd {
    double lr, momentum, dampening, weight_decay;
    bool nesterov;
} ref_sgd;
void ref_sgd_step(const ref_sgd *o, double *p, const double *g, double *buf, size_t n, bool first);

/* torch.optim.Adam (amsgrad off) at step t (1-based): d = g + wd·p;
 * m = β1·m + (1 − β1)·d; v = β2·v + (1 − β2)·d²;
 * p −= lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + eps). */
typedef struct ref_adam {
    double lr, beta1, beta2, eps, weight_decay;
} ref_adam;
void ref_adam_step(const ref_adam *o, double *p, const double *g, double *m, double *v, size_t n,
                   uint64_t t);

#endif
