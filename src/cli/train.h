/* The training run behind `clnn train`, split from its option parsing. */
#ifndef CLNN_CLI_TRAIN_H
#define CLNN_CLI_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clnn.h"
#include "schedule.h"

#define TRAIN_DEFAULT_LAYERS "dense:256,bn,relu,dense:128,bn,relu,dense:10"

/* Most --metadata entries a run takes. */
#define TRAIN_METADATA_MAX 64

typedef struct train_options {
    const char *layers;
    const char *data_dir;
    const char *device; /* NULL: $CLNN_DEVICE, then the library's default */
    const char *save;   /* NULL: do not save */
    const char *init;   /* NULL: random initialisation from seed */
    const char *checkpoint; /* where checkpoints go (NULL: none) */
    size_t checkpoint_every; /* steps between checkpoints; 0: none */
    const char *resume; /* checkpoint to continue from */
    bool shuffle;
    size_t epochs;
    size_t batch;
    size_t limit; /* 0: every training sample */
    uint64_t seed;
    clnn_gemm_backend gemm;
    clnn_optimizer_options optimizer;
    bool quiet;
    lr_schedule schedule;    /* LR_SCHEDULE_NONE: constant learning rate */
    bool schedule_given;     /* --lr-schedule was on the command line */
    const char *metrics;     /* metrics file (NULL: none) */
    size_t metrics_every;    /* steps between step records; 0: epoch records only */
    bool sync_bn;            /* under mpirun: BatchNorm over the global batch (train_parallel.c) */
    bool no_tune;            /* --no-tune: no quick autotune before training */
    bool host_batches;       /* --host-batches: no copy of the training set on the device */
    const char *metadata[TRAIN_METADATA_MAX]; /* --metadata KEY=VALUE, as given */
    size_t n_metadata;
    /* --data FILE (a CSV, .npy or .npz file rather than an IDX folder). */
    bool data_file;
    const char *labels;       /* --labels FILE.npy */
    const char *label_column; /* --label-column NAME|INDEX */
    bool no_header;           /* --no-header */
    const char *test_data;    /* --test-data FILE */
    const char *test_labels;  /* --test-labels FILE.npy */
    double validation_split;  /* --validation-split F; 0: none */
    bool standardize;         /* --standardize */
    clnn_loss_kind loss;      /* --loss (a checkpoint's with --resume) */
    bool loss_given;          /* --loss was on the command line */
} train_options;

/* Load data, build the network, train, report, save. Returns an exit status. */
int train_run(const train_options *opts);

/* What one epoch needs; the buffers are owned by the caller and reused. */
typedef struct train_plan {
    const float *x;     /* n × features */
    const void *y;      /* n × y_width: int32 labels, or float targets (--loss mse) */
    size_t y_width;     /* 4-byte entries per row: 1 label, or out_features targets */
    clnn_loss_kind loss;
    size_t n;
    size_t features;
    size_t batch;
    size_t epochs;
    uint64_t seed;
    bool drop_single;   /* skip a final batch of one sample (BatchNorm cannot train on it) */
    bool shuffle;       /* else file order */
    size_t start_batch; /* first batch of the first epoch run (resuming mid-epoch) */
    /* Called after each step with the position of the next one; a checkpoint hook. */
    clnn_status (*after_step)(void *user, clnn_net *net, size_t epoch, size_t next_batch,
                              size_t batches);
    void *after_step_user;
    /* Data parallelism (train_parallel.c): with ranks > 1 this process
     * trains rows of every global batch of `batch` rows that are rank's
     * shard; ranks 0 or 1 trains alone. min_batch: the smallest final batch
     * that still gets a step (0: the single-process rule of drop_single). */
    size_t rank;
    size_t ranks;
    size_t min_batch;
    bool on_device;     /* the net holds x and y (clnn_net_set_data): steps name rows */
    uint32_t *perm;     /* n */
    float *xb;          /* batch × features */
    void *yb;           /* batch × y_width entries */
} train_plan;

typedef struct epoch_result {
    double loss;
    double accuracy;
    uint64_t samples; /* trained by this call (less than the epoch when resumed) */
    double seconds; /* until the device finished the epoch's last step */
} epoch_result;

/* Number of optimizer steps per epoch under plan. */
size_t train_batches_per_epoch(const train_plan *plan);
/* Train one epoch (0-based index, also the shuffle stream). */
clnn_status train_epoch(clnn_net *net, const train_plan *plan, size_t epoch, epoch_result *out);

#endif
