/* GEMM autotuning: the per-context tuning table that clnn__gemm consults
 * (tune_table.c), its file format (tune_file.c), CLBlast parameter sets
 * (gemm_clblast.c) and the search itself (tune.c). */
#ifndef CLNN_GEMM_TUNE_H
#define CLNN_GEMM_TUNE_H

#include "gemm/gemm_own.h"

/* ------------------------------------------------------ CLBlast parameters */

/* CLBlast 1.5 takes parameter overrides per device and kernel (not per
 * shape), and only complete ones: every parameter of the kernel. A set holds
 * the three that decide an SGEMM: the direct kernel (small shapes), the
 * indirect Xgemm kernel (large shapes, after copy/pad/transpose helpers) and
 * the GemmRoutine threshold between them (direct when m·n·k <
 * min_indirect³). The helper kernels keep CLBlast's parameters: they move
 * O(m·k + k·n) data against the O(m·n·k) product, and every override of them
 * recompiles the whole indirect routine. */
#define CLNN__CLB_DIRECT_N 10
#define CLNN__CLB_XGEMM_N 16

typedef struct clnn__clblast_set {
    bool overridden; /* false: CLBlast's own parameters (its database) */
    size_t direct[CLNN__CLB_DIRECT_N];
    size_t xgemm[CLNN__CLB_XGEMM_N];
    size_t min_indirect;
} clnn__clblast_set;

extern const char *const clnn__clb_direct_names[CLNN__CLB_DIRECT_N];
extern const char *const clnn__clb_xgemm_names[CLNN__CLB_XGEMM_N];
#define CLNN__CLB_THRESHOLD_NAME "XGEMM_MIN_INDIRECT_SIZE"

bool clnn__clblast_set_equal(const clnn__clblast_set *a, const clnn__clblast_set *b);
/* "XgemmDirect WGD=32 ...; Xgemm MWG=64 ...; XGEMM_MIN_INDIRECT_SIZE=1" or
 * "CLBlast's own parameters". */
void clnn__clblast_set_describe(const clnn__clblast_set *s, char *buf, size_t cap);

/* Run g through CLBlast with set's parameters (NULL or not overridden: the
 * parameters in force). Switching sets is cheap once each has compiled:
 * CLBlast keys compiled programs by parameter values. CLBlast cannot return
 * to its own parameters after an override, so a device keeps the last set
 * applied in this process; clnn__gemm_clblast_pristine says whether any was. */
clnn_status clnn__gemm_clblast_with(clnn_context *ctx, const clnn__gemm_args *g,
                                    const clnn__clblast_set *set);
bool clnn__gemm_clblast_pristine(const clnn_context *ctx);

/* ------------------------------------------------------------ the table */

typedef struct clnn__tune_entry {
    bool trans_a, trans_b;
    size_t m, n, k;
    clnn_gemm_backend backend; /* CLNN_GEMM_OWN or CLNN_GEMM_CLBLAST */
    clnn__gemm_own_params own; /* for CLNN_GEMM_OWN */
    double us, default_us;     /* as measured (informative) */
} clnn__tune_entry;

typedef struct clnn__tuning {
    clnn__tune_entry *entries;
    size_t count, cap;
    /* Shapes not in the table: the backend (and own parameters) that was
     * fastest over all tuned shapes together. */
    clnn_gemm_backend default_backend;
    clnn__gemm_own_params default_own;
    clnn__clblast_set clblast;
    bool quick; /* the last search was a quick one */
} clnn__tuning;

void clnn__tuning_init(const clnn_context *ctx, clnn__tuning *t);
void clnn__tuning_free(clnn__tuning *t);
const clnn__tune_entry *clnn__tuning_find(const clnn__tuning *t, bool ta, bool tb, size_t m,
                                          size_t n, size_t k);
/* Insert or replace the entry for e's shape. */
clnn_status clnn__tuning_put(clnn__tuning *t, const clnn__tune_entry *e);

/* Per-context GEMM state, hung off ctx->gemm_state. */
typedef struct clnn__gemm_state {
    bool active;          /* table drives dispatch (loaded or tuned, and enabled) */
    clnn__tuning table;
    /* Counts the changes of active and table, from 1: dispatch chosen
     * before a change is chosen again (clnn__gemm_call). */
    uint64_t generation;
    /* The last clnn_context_tune. */
    bool have_report;
    clnn_tune_result *results;
    size_t nresults;
    double seconds;
    char clblast_text[512];
    char path[4096];
} clnn__gemm_state;

/* The context's state, created on first use (NULL when out of memory). */
clnn__gemm_state *clnn__gemm_state_get(clnn_context *ctx);
/* Free ctx->gemm_state (context teardown). */
void clnn__gemm_state_release(clnn_context *ctx);
/* Whether tuning files apply to ctx: not when tuning was turned off when it
 * was made (options.tuning, $CLNN_TUNING=0), nor when the backend was chosen
 * explicitly. */
bool clnn__tuning_enabled(const clnn_context *ctx);

/* ------------------------------------------------------------- the file */

/* <cache>/tuning/<hash of the key>.json; the folder is created only with
 * create_dir, by the writer. */
clnn_status clnn__tuning_path(const clnn_context *ctx, bool create_dir, char *buf, size_t cap);
/* Read a tuning file. *matches is false (and t untouched) when the file is
 * for another device, driver or clnn; CLNN_ERR_IO when it cannot be read
 * (errno ENOENT: absent); CLNN_ERR_BAD_FILE when it is malformed. */
clnn_status clnn__tuning_read(const clnn_context *ctx, const char *path, clnn__tuning *t,
                              bool *matches);
/* Write t atomically. */
clnn_status clnn__tuning_write(const clnn_context *ctx, const char *path, const clnn__tuning *t);

/* Own parameters in words, as reports show them. */
void clnn__own_params_describe(const clnn__gemm_args *g, const clnn__gemm_own_params *p,
                               char *buf, size_t cap);

#endif
