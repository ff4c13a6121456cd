/* clnn train: option parsing and help; the run itself is in train.c. */
#include "args.h"
#include "cli.h"
#include "data.h"
#include "train.h"
#include "train_parallel.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_SGD_LR 0.01
#define DEFAULT_ADAM_LR 0.001
#define DEFAULT_MOMENTUM 0.9
#define MAX_EPOCHS 1000000
#define MAX_BATCH (1u << 20)

void cmd_train_help(void)
{
    printf("Usage: clnn train [OPTIONS]\n"
           "Train a network on a CSV, NumPy or IDX dataset, report the test split after\n"
           "every epoch, optionally save the model.\n\n"
           "Options:\n"
           "      --layers SPEC       comma-separated layer stack of the kinds below;\n"
           "                          NAME=KIND names a layer (default %s)\n"
           "      --epochs N          passes over the training data (default 1)\n"
           "      --batch-size N      samples per step (default 64); under mpirun the\n"
           "                          global batch, split over the ranks\n"
           "      --optimizer NAME    sgd or adam (default sgd)\n"
           "      --loss NAME         xent: classification, softmax cross-entropy against\n"
           "                          class labels (default); mse: regression, mean\n"
           "                          squared error against float targets (the label\n"
           "                          column, --labels or y read as numbers; one output\n"
           "                          per target; needs --data FILE; no accuracy)\n"
           "      --lr F              learning rate (default %g for sgd, %g for adam)\n"
           "      --momentum F        SGD momentum, 0 to 1 (default %g)\n"
           "      --nesterov          SGD with Nesterov momentum (default off)\n"
           "      --weight-decay F    L2 penalty (default 0)\n"
           "      --seed N            initialisation, shuffling and dropout seed (default 1)\n"
           "      --limit N           use only the first N training samples (default all)\n"
           "      --data DIR|FILE     an IDX dataset folder ((Fashion-)MNIST file names,\n"
           "                          default %s), or a file: CSV\n"
           "                          (a header row, a column per feature, a label\n"
           "                          column of class numbers or names), .npy (2-D\n"
           "                          features; --labels) or .npz (arrays x and y)\n"
           "      --label-column C    CSV: the labels' column, by name or index from 0\n"
           "                          (default the last)\n"
           "      --no-header         CSV: the first line is data, not column names\n"
           "      --labels FILE       .npy: the labels (1-D, class numbers)\n"
           "      --test-data FILE    the test split, a file like --data's (required with\n"
           "                          --data FILE unless --validation-split)\n"
           "      --test-labels FILE  .npy: the test split's labels\n"
           "      --validation-split F  hold out a fraction F of --data FILE's rows, drawn\n"
           "                          with --seed, as the test split\n"
           "      --standardize       scale every feature to mean 0 and standard deviation\n"
           "                          1 over the training rows; the model stores the means\n"
           "                          and deviations, and eval and predict apply them\n"
           "      --device SEL        device index or name substring (default $CLNN_DEVICE,\n"
           "                          else the first GPU, else the first device;\n"
           "                          see clnn devices)\n"
           "      --gemm NAME         matrix multiply: auto, clblast or own (default auto)\n"
           "      --no-tune           do not autotune the matrix multiplies first (default:\n"
           "                          with --gemm auto, shapes the device's tuning file\n"
           "                          lacks get a quick clnn tune; also CLNN_AUTOTUNE=0)\n"
           "      --host-batches      send every batch from the host instead of keeping\n"
           "                          the training set in device memory (default: on the\n"
           "                          device when it fits; n × features × 4 bytes)\n"
           "      --save PATH         write the trained model (safetensors) to PATH\n"
           "                          (default none)\n"
           "      --init FILE         start from the weights in FILE instead of a random\n"
           "                          initialisation (a clnn or PyTorch safetensors file)\n"
           "      --metadata KEY=VALUE  store KEY=VALUE in the saved model's and the\n"
           "                          checkpoints' metadata (repeatable; e.g. class names)\n"
           "      --no-shuffle        visit the training samples in file order\n"
           "      --checkpoint-every N  write a checkpoint every N steps and at the end of\n"
           "                          each epoch (default 0: never)\n"
           "      --checkpoint PATH   checkpoint file (default PATH.ckpt of --save)\n"
           "      --resume FILE       continue the run saved in checkpoint FILE (its\n"
           "                          network, optimizer, learning-rate schedule, seed,\n"
           "                          batch size and position; its metrics file is\n"
           "                          continued)\n"
           "      --lr-schedule S     learning rate per epoch (default none): step:STEP[:GAMMA]\n"
           "                          multiplies it by GAMMA (default 0.1) every STEP\n"
           "                          epochs; cosine[:T_MAX[:ETA_MIN]] anneals it to ETA_MIN\n"
           "                          (default 0) over T_MAX epochs (default --epochs); as\n"
           "                          PyTorch's StepLR and CosineAnnealingLR\n"
           "      --metrics FILE      write a record per epoch (loss, accuracy, samples/s,\n"
           "                          learning rate, time) to FILE: JSON Lines, or CSV when\n"
           "                          FILE ends in .csv (default none; see clnn plot)\n"
           "      --metrics-every N   also write a record every N steps (default 0: only\n"
           "                          per epoch)\n"
           "      --sync-bn           under mpirun: BatchNorm statistics over the global\n"
           "                          batch, as one process would compute them (default:\n"
           "                          each rank's own shard; needs a build with MPI)\n"
           "  -q, --quiet             print only the per-epoch lines and errors\n"
           "  -v, --verbose           show the library's debug messages\n"
           "  -h, --help              show this help\n\n"
           "Each epoch prints one line on stdout, such as\n"
           "  epoch 1/5  train loss 0.5123  test loss 0.4467  test acc 0.8412  "
           "samples/s 12345  time 4.9s\n"
           "(with --loss mse without test acc: the losses are mean squared errors)\n"
           "Exit status: 0 success, 1 failure (including divergence), 2 bad usage.\n",
           TRAIN_DEFAULT_LAYERS, (double)DEFAULT_SGD_LR, (double)DEFAULT_ADAM_LR,
           (double)DEFAULT_MOMENTUM, CLNN_DEFAULT_DATA_DIR);
    /* The library's table of kinds, so that a new kind needs no change here. */
    printf("\nLayer kinds (see README, \"Layer specs\"):\n");
    for (size_t i = 0; clnn_layer_kind_usage(i); i++)
        printf("  %s\n", clnn_layer_kind_usage(i));
}

enum {
    OPT_LAYERS = 256,
    OPT_EPOCHS,
    OPT_BATCH,
    OPT_OPTIMIZER,
    OPT_LR,
    OPT_MOMENTUM,
    OPT_NESTEROV,
    OPT_WEIGHT_DECAY,
    OPT_SEED,
    OPT_LIMIT,
    OPT_DATA,
    OPT_DEVICE,
    OPT_GEMM,
    OPT_SAVE,
    OPT_INIT,
    OPT_NO_SHUFFLE,
    OPT_CHECKPOINT_EVERY,
    OPT_CHECKPOINT,
    OPT_RESUME,
    OPT_LR_SCHEDULE,
    OPT_METRICS,
    OPT_METRICS_EVERY,
    OPT_SYNC_BN,
    OPT_NO_TUNE,
    OPT_HOST_BATCHES,
    OPT_METADATA,
    OPT_LABELS,
    OPT_LABEL_COLUMN,
    OPT_NO_HEADER,
    OPT_TEST_DATA,
    OPT_TEST_LABELS,
    OPT_VALIDATION_SPLIT,
    OPT_STANDARDIZE,
    OPT_LOSS,
};

static const struct option longopts[] = {
    {"layers", required_argument, NULL, OPT_LAYERS},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"batch-size", required_argument, NULL, OPT_BATCH},
    {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
    {"lr", required_argument, NULL, OPT_LR},
    {"momentum", required_argument, NULL, OPT_MOMENTUM},
    {"nesterov", no_argument, NULL, OPT_NESTEROV},
    {"weight-decay", required_argument, NULL, OPT_WEIGHT_DECAY},
    {"seed", required_argument, NULL, OPT_SEED},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"data", required_argument, NULL, OPT_DATA},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"gemm", required_argument, NULL, OPT_GEMM},
    {"save", required_argument, NULL, OPT_SAVE},
    {"init", required_argument, NULL, OPT_INIT},
    {"no-shuffle", no_argument, NULL, OPT_NO_SHUFFLE},
    {"checkpoint-every", required_argument, NULL, OPT_CHECKPOINT_EVERY},
    {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
    {"resume", required_argument, NULL, OPT_RESUME},
    {"lr-schedule", required_argument, NULL, OPT_LR_SCHEDULE},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"metrics-every", required_argument, NULL, OPT_METRICS_EVERY},
    {"sync-bn", no_argument, NULL, OPT_SYNC_BN},
    {"no-tune", no_argument, NULL, OPT_NO_TUNE},
    {"host-batches", no_argument, NULL, OPT_HOST_BATCHES},
    {"metadata", required_argument, NULL, OPT_METADATA},
    {"labels", required_argument, NULL, OPT_LABELS},
    {"label-column", required_argument, NULL, OPT_LABEL_COLUMN},
    {"no-header", no_argument, NULL, OPT_NO_HEADER},
    {"test-data", required_argument, NULL, OPT_TEST_DATA},
    {"test-labels", required_argument, NULL, OPT_TEST_LABELS},
    {"validation-split", required_argument, NULL, OPT_VALIDATION_SPLIT},
    {"standardize", no_argument, NULL, OPT_STANDARDIZE},
    {"loss", required_argument, NULL, OPT_LOSS},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* What the user typed, before defaults that depend on other options apply. */
typedef struct given {
    bool lr, momentum, nesterov;
    double lr_value, momentum_value, weight_decay;
    clnn_optimizer_kind kind;
} given;

/* Returns -1 to go on, or the exit status (help shown, or a usage error). */
static int parse_one(int c, char **argv, train_options *o, given *g)
{
    const char *v = optarg;
    bool ok = true;
    switch (c) {
    case OPT_LAYERS:
        o->layers = v;
        break;
    case OPT_EPOCHS:
        ok = cli_parse_size("train", "--epochs", v, 1, MAX_EPOCHS, &o->epochs);
        break;
    case OPT_BATCH:
        ok = cli_parse_size("train", "--batch-size", v, 1, MAX_BATCH, &o->batch);
        break;
    case OPT_OPTIMIZER:
        ok = cli_parse_optimizer("train", v, &g->kind);
        break;
    case OPT_LR:
        ok = cli_parse_real("train", "--lr", v, 0.0, INFINITY, false, &g->lr_value);
        g->lr = true;
        break;
    case OPT_MOMENTUM:
        ok = cli_parse_real("train", "--momentum", v, 0.0, 1.0, false, &g->momentum_value);
        g->momentum = true;
        break;
    case OPT_NESTEROV:
        g->nesterov = true;
        break;
    case OPT_WEIGHT_DECAY:
        ok = cli_parse_real("train", "--weight-decay", v, 0.0, INFINITY, false, &g->weight_decay);
        break;
    case OPT_SEED:
        ok = cli_parse_u64("train", "--seed", v, &o->seed);
        break;
    case OPT_LIMIT:
        ok = cli_parse_size("train", "--limit", v, 1, UINT32_MAX, &o->limit);
        break;
    case OPT_DATA:
        o->data_dir = v;
        break;
    case OPT_DEVICE:
        o->device = v;
        break;
    case OPT_GEMM:
        ok = cli_parse_gemm("train", "--gemm", v, &o->gemm);
        break;
    case OPT_SAVE:
        o->save = v;
        break;
    case OPT_INIT:
        o->init = v;
        break;
    case OPT_NO_SHUFFLE:
        o->shuffle = false;
        break;
    case OPT_CHECKPOINT_EVERY:
        ok = cli_parse_size("train", "--checkpoint-every", v, 0, SIZE_MAX, &o->checkpoint_every);
        break;
    case OPT_CHECKPOINT:
        o->checkpoint = v;
        break;
    case OPT_RESUME:
        o->resume = v;
        break;
    case OPT_LR_SCHEDULE: {
        char why[160];
        ok = lr_schedule_parse(v, &o->schedule, why, sizeof why);
        if (!ok)
            cli_usage_error("train", "invalid value '%s' for --lr-schedule: %s", v, why);
        o->schedule_given = true;
        break;
    }
    case OPT_METRICS:
        o->metrics = v;
        break;
    case OPT_METRICS_EVERY:
        ok = cli_parse_size("train", "--metrics-every", v, 0, SIZE_MAX, &o->metrics_every);
        break;
    case OPT_NO_TUNE:
        o->no_tune = true;
        break;
    case OPT_HOST_BATCHES:
        o->host_batches = true;
        break;
    case OPT_METADATA:
        if (!strchr(v, '=') || v[0] == '=')
            return cli_usage_error("train", "--metadata takes KEY=VALUE, not '%s'", v);
        if (o->n_metadata == TRAIN_METADATA_MAX)
            return cli_usage_error("train", "at most %d --metadata entries", TRAIN_METADATA_MAX);
        o->metadata[o->n_metadata++] = v;
        break;
    case OPT_SYNC_BN:
        o->sync_bn = true;
        break;
    case OPT_LABELS:
        o->labels = v;
        break;
    case OPT_LABEL_COLUMN:
        o->label_column = v;
        break;
    case OPT_NO_HEADER:
        o->no_header = true;
        break;
    case OPT_TEST_DATA:
        o->test_data = v;
        break;
    case OPT_TEST_LABELS:
        o->test_labels = v;
        break;
    case OPT_VALIDATION_SPLIT:
        ok = cli_parse_real("train", "--validation-split", v, 0.0, 1.0, true,
                            &o->validation_split);
        if (ok && o->validation_split >= 1.0)
            return cli_usage_error("train", "--validation-split takes a fraction below 1, not "
                                            "'%s'",
                                   v);
        break;
    case OPT_STANDARDIZE:
        o->standardize = true;
        break;
    case OPT_LOSS:
        if (strcmp(v, "xent") != 0 && strcmp(v, "mse") != 0)
            return cli_usage_error("train", "--loss takes xent (classification) or mse "
                                            "(regression), not '%s'",
                                   v);
        o->loss = strcmp(v, "mse") == 0 ? CLNN_LOSS_MSE : CLNN_LOSS_CROSS_ENTROPY;
        o->loss_given = true;
        break;
    case 'q':
        o->quiet = true;
        break;
    case 'v':
        cli_log_set_verbose(true);
        break;
    case 'h':
        cmd_train_help();
        return CLI_EXIT_OK;
    default:
        return cli_getopt_error("train", c, argv);
    }
    return ok ? -1 : CLI_EXIT_USAGE;
}

/* Settle the optimizer from what was given: --lr keeps its value for either
 * optimizer, otherwise each gets its usual default. */
static int finish_optimizer(const given *g, clnn_optimizer_options *opt)
{
    clnn_optimizer_options_init(opt, g->kind);
    opt->weight_decay = g->weight_decay;
    if (g->kind == CLNN_OPTIMIZER_ADAM) {
        if (g->momentum || g->nesterov)
            return cli_usage_error("train",
                                   "--momentum and --nesterov apply only to --optimizer sgd");
        opt->lr = g->lr ? g->lr_value : DEFAULT_ADAM_LR;
        return -1;
    }
    opt->lr = g->lr ? g->lr_value : DEFAULT_SGD_LR;
    opt->momentum = g->momentum ? g->momentum_value : DEFAULT_MOMENTUM;
    opt->nesterov = g->nesterov;
    if (opt->nesterov && opt->momentum == 0.0)
        return cli_usage_error("train", "--nesterov needs a --momentum greater than 0");
    return -1;
}

/* The options of --data FILE need a file; a file needs a test split. */
static int check_data_options(train_options *o)
{
    o->data_file = data_is_file(o->data_dir);
    const char *file_only = o->labels          ? "--labels"
                            : o->label_column  ? "--label-column"
                            : o->no_header     ? "--no-header"
                            : o->test_data     ? "--test-data"
                            : o->test_labels   ? "--test-labels"
                            : o->validation_split > 0.0 ? "--validation-split"
                            : o->standardize   ? "--standardize"
                                               : NULL;
    if (!o->data_file && file_only)
        return cli_usage_error("train", "%s applies to --data FILE (CSV, .npy or .npz), and '%s' "
                                        "is a folder of IDX files",
                               file_only, o->data_dir);
    if (!o->data_file)
        return -1;
    if (!o->test_data == !(o->validation_split > 0.0))
        return cli_usage_error("train", "with --data FILE, give the test split as --test-data "
                                        "FILE or hold one out with --validation-split F (one of "
                                        "the two)");
    if (o->test_labels && !o->test_data)
        return cli_usage_error("train", "--test-labels needs --test-data");
    return -1;
}

int cmd_train(int argc, char **argv)
{
    train_options o = {
        .layers = TRAIN_DEFAULT_LAYERS,
        .data_dir = CLNN_DEFAULT_DATA_DIR,
        .epochs = 1,
        .batch = 64,
        .seed = 1,
        .gemm = CLNN_GEMM_AUTO,
        .shuffle = true,
    };
    given g = {.kind = CLNN_OPTIMIZER_SGD};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":qvh", longopts, NULL)) != -1) {
        int done = parse_one(c, argv, &o, &g);
        if (done >= 0)
            return done;
    }
    if (optind < argc)
        return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    int done = finish_optimizer(&g, &o.optimizer);
    if (done >= 0)
        return done;
    if (o.init && o.resume)
        return cli_usage_error("train", "--init and --resume exclude each other: a checkpoint "
                                        "already holds the weights");
    if (o.checkpoint_every && !o.checkpoint && !o.save)
        return cli_usage_error("train", "--checkpoint-every needs --checkpoint PATH or --save PATH");
    if (o.metrics_every && !o.metrics)
        return cli_usage_error("train", "--metrics-every needs --metrics FILE");
    if (o.sync_bn && !train_par_available())
        return cli_usage_error("train", "--sync-bn applies to data-parallel training under "
                                        "mpirun, and this clnn was built without MPI (install "
                                        "libopenmpi-dev, then meson setup --reconfigure "
                                        "-Dmpi=enabled)");
    done = check_data_options(&o);
    if (done >= 0)
        return done;
    /* T_MAX of a cosine schedule defaults to this run's epoch count. */
    lr_schedule_resolve(&o.schedule, o.epochs);
    char default_checkpoint[4096];
    if (o.checkpoint_every && !o.checkpoint) {
        snprintf(default_checkpoint, sizeof default_checkpoint, "%s.ckpt", o.save);
        o.checkpoint = default_checkpoint;
    }
    return train_run(&o);
}
