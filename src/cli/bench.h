/* clnn bench: training throughput and where a step's time goes, on random
 * data so that it runs anywhere. cmd_bench.c parses options, bench_run.c
 * measures, bench_report.c prints. */
#ifndef CLNN_CLI_BENCH_H
#define CLNN_CLI_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clnn.h"

#define BENCH_MAX_BATCHES 16

int cmd_bench(int argc, char **argv);
void cmd_bench_help(void);

typedef struct bench_options {
    const char *layers;
    size_t features;                  /* inputs per sample */
    size_t batches[BENCH_MAX_BATCHES];
    size_t nbatches;
    size_t steps;                     /* timed steps per batch size; 0: from seconds */
    double seconds;                   /* timed seconds per batch size when steps is 0 */
    clnn_optimizer_kind optimizer;
    const char *device;
    clnn_gemm_backend gemm;
    uint64_t seed;
    bool json;
    bool probe;                       /* measure peak and same-size copy figures */
    bool cold;                        /* ask drivers not to use their on-disk kernel caches */
    bool host_batches;                /* send each batch from the host (else data on the device) */
    size_t rows;                      /* rows of data on the device that steps draw from */
} bench_options;

/* How a kernel's speed is judged: against the FLOP/s peak (matrix
 * multiplies), the copy bandwidth (everything else on the device), or not at
 * all (host-device transfers, bound by the link rather than the device). */
typedef enum bench_kind { BENCH_COMPUTE, BENCH_MEMORY, BENCH_TRANSFER } bench_kind;

/* One (scope, kernel) row of the profile, per training step. Rates and
 * percentages are negative when they cannot be given. */
typedef struct bench_kernel {
    char scope[128];
    char kernel[64];
    bench_kind kind;
    double launches;  /* per step */
    double us;        /* device time per step */
    double gap_us;    /* device idle before its launches, per step */
    double pct_step;  /* of the step's summed device time */
    double gflops;
    double gbps;
    double pct_peak;  /* of the device's FLOP/s (compute) or bandwidth (memory) peak */
    double copy_gbps; /* a copy moving as many bytes per launch (memory kernels) */
    double pct_copy;
    /* The fastest launch (µs), and its bandwidth against copy_gbps, which is
     * the copy's fastest launch too: like against like, where pct_copy
     * holds the kernel's average, disturbed launches included. */
    double best_us;
    double pct_copy_best;
    /* The kernel run again alone on warm caches, as the copy is
     * (clnn_context_profile_replay): fastest launch and its pct_copy. */
    double alone_us;
    double pct_copy_alone;
} bench_kernel;

/* Device time per step of one layer (forward and backward scopes), or of a
 * scope outside the layers (input, loss, optimizer); forward_us and
 * backward_us are negative for the latter. */
typedef struct bench_part {
    char name[128];
    double forward_us;
    double backward_us;
    double total_us;
    double pct_step;
} bench_part;

typedef struct bench_batch {
    size_t batch;
    size_t steps;          /* timed steps without profiling */
    size_t rounds;         /* ... in this many rounds, each beside a profiled one */
    double seconds;        /* their host wall time */
    double samples_per_s;  /* of the fastest round */
    double samples_per_s_median;
    double step_us;        /* wall time per step, median round */
    size_t profiled_steps; /* steps behind the tables */
    double device_us;      /* summed device time per step, all profiled rounds */
    double overhead_us;    /* wall minus device time per step, at least 0: launches and host
                              work; median over rounds, each against its profiled twin */
    double overhead_pct;   /* of the step, median over rounds */
    bench_kernel *kernels;
    size_t nkernels;
    bench_part *parts;
    size_t nparts;
} bench_batch;

typedef struct bench_result {
    clnn_device_info device;
    const char *gemm;
    char *spec;
    size_t parameters;
    size_t classes;
    /* Start-up, from the first batch size's first step. */
    double context_s;      /* clnn_context_create */
    double network_s;      /* building and initialising the network */
    double first_step_s;   /* the first training step, until the device finished it */
    double warm_step_s;    /* the second step, likewise */
    double first_step_latency_s; /* from before context creation to the first step finished */
    bool have_peak;
    clnn_device_peak peak;
    bench_batch batches[BENCH_MAX_BATCHES];
    size_t nbatches;
} bench_result;

/* Run the benchmark; each finished part is handed to report (NULL: none) as
 * it completes so that the human-readable output appears progressively.
 * Returns an exit status; failures are printed. */
typedef void (*bench_report_fn)(const bench_options *o, const bench_result *r, int stage,
                                size_t batch_index);
enum { BENCH_STAGE_STARTUP, BENCH_STAGE_PEAK, BENCH_STAGE_BATCH, BENCH_STAGE_DONE };
int bench_run(const bench_options *o, bench_result *r, bench_report_fn report);
void bench_result_free(bench_result *r);

/* Human-readable report (progressive) and one JSON object (at the end). */
void bench_report_text(const bench_options *o, const bench_result *r, int stage,
                       size_t batch_index);
void bench_report_json(const bench_options *o, const bench_result *r, int stage,
                       size_t batch_index);

#endif
