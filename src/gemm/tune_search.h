/* The search's working state, shared by tune.c (the candidates and the
 * choice) and tune_measure.c (shapes, reference results, checked timing). */
#ifndef CLNN_GEMM_TUNE_SEARCH_H
#define CLNN_GEMM_TUNE_SEARCH_H

#include "gemm/tune.h"

/* CLBlast candidates: its own parameters, the tuning file's, and the full
 * search's direct and indirect sets (tune.c checks that they fit). */
#define MAX_CLB 16

typedef enum clb_kind { CLB_OPAQUE, CLB_DIRECT, CLB_INDIRECT } clb_kind;

typedef struct clb_cand {
    clnn__clblast_set set;
    clb_kind kind;
} clb_cand;

/* One measured own-kernel run of a shape, by effective parameters. */
typedef struct own_run {
    clnn__gemm_own_params p;
    double us; /* < 0: rejected */
} own_run;

typedef struct tune_shape {
    clnn__gemm_args g;
    size_t batch, layer;
    const char *op;
    /* Forward shapes run with a bias, as the dense layer issues them: the
     * own kernels then add it as they store and CLBlast takes a bias_add
     * launch, and both are checked and timed that way. */
    bool with_bias;
    cl_mem a, b, c, bias;
    /* The reference and Σ|a·b| for every element of C (checks NULL) or
     * for the nchecks elements at checks[] (flat indices into C). */
    double *ref, *mag;
    size_t *checks, nchecks;
    float *out, *init; /* read-back C; NaN-filled C plus guard */
    own_run *runs;
    size_t nruns, runs_cap;
    unsigned candidates, rejected;
    double default_us;
    double own_us;
    clnn__gemm_own_params own_best;
    double clb_us[MAX_CLB]; /* per CLBlast candidate; < 0: rejected */
} tune_shape;

typedef struct tuner {
    clnn_context *ctx;
    bool quick;
    clnn__gemm_own_params defaults;
    tune_shape *shapes;
    size_t nshapes;
    clb_cand clb[MAX_CLB];
    size_t nclb;
    int clb_library; /* index of CLBlast's own parameters, or -1 */
    double round_s;  /* wall time a timed round aims at */
    int rounds;
    uint64_t measured; /* candidates measured, for the progress callback */
    bool cancelled;    /* the progress callback asked to stop: measure no more */
} tuner;

/* The distinct shapes among shapes[0..count), less those in skip (may be
 * NULL). */
clnn_status clnn__tune_collect_shapes(tuner *tu, const clnn__gemm_shape *shapes, size_t count,
                                      const clnn__tuning *skip);
/* Random operands, the reference result and device buffers for s. */
clnn_status clnn__tune_prepare_shape(tuner *tu, tune_shape *s, uint64_t seed);
void clnn__tune_free_shapes(tuner *tu);
/* Check one candidate on s, then time it: microseconds per call, or -1 when
 * it failed or gave a wrong result (logged at debug level, and counted). */
double clnn__tune_measure_own(tuner *tu, tune_shape *s, const clnn__gemm_own_params *p,
                              const char *label);
double clnn__tune_measure_clblast(tuner *tu, tune_shape *s, const clnn__clblast_set *set,
                                  const char *label);

#endif
