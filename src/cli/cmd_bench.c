/* clnn bench: option parsing and help; the measurements are in bench_run.c. */
#include "args.h"
#include "bench.h"
#include "cli.h"
#include "os.h"
#include "train.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SECONDS 2.0
#define DEFAULT_FEATURES 784 /* a Fashion-MNIST image */
#define DEFAULT_ROWS 60000 /* the Fashion-MNIST training set */
#define MAX_ROWS ((size_t)INT32_MAX)
#define MAX_BATCH (1u << 20)
#define MAX_STEPS 100000000u
#define MAX_SECONDS 3600.0

void cmd_bench_help(void)
{
    printf("Usage: clnn bench [OPTIONS]\n"
           "Measure training speed on random data (no dataset needed): start-up and\n"
           "first-step latency, the device's peak FLOP/s and bandwidth and the cost of a\n"
           "launch, and for each batch size the samples/s of whole training steps and a\n"
           "per-kernel table of where a step's device time goes.\n\n"
           "Options:\n"
           "      --layers SPEC       layer stack as for clnn train (default\n"
           "                          %s)\n"
           "      --features N        inputs per sample (default %d)\n"
           "      --batch-sizes LIST  comma-separated batch sizes (default 64,256,1024)\n"
           "      --steps N           timed steps per batch size\n"
           "      --seconds S         timed seconds per batch size, when --steps is not\n"
           "                          given (default %g)\n"
           "      --optimizer NAME    sgd (lr 0.01, momentum 0.9) or adam (lr 0.001)\n"
           "                          (default sgd)\n"
           "      --seed N            initialisation and data seed (default 1)\n"
           "      --device SEL        device index or name substring (default $CLNN_DEVICE,\n"
           "                          else the first GPU, else the first device)\n"
           "      --gemm NAME         matrix multiply: auto, clblast or own (default auto)\n"
           "      --no-probe          skip the peak FLOP/s, bandwidth and launch probes and\n"
           "                          the same-size copy comparisons\n"
           "      --rows N            random training rows kept in device memory, which\n"
           "                          steps draw batches from in a shuffled order, as\n"
           "                          clnn train does (default %d, a Fashion-MNIST\n"
           "                          training set)\n"
           "      --host-batches      send every batch from the host instead, as clnn\n"
           "                          train --host-batches does\n"
           "      --cold              time a first-ever start: ask the driver not to use\n"
           "                          its on-disk kernel cache (POCL_KERNEL_CACHE=0,\n"
           "                          CUDA_CACHE_DISABLE=1)\n"
           "      --json              print one JSON object instead of tables\n"
           "  -v, --verbose           show the library's debug messages\n"
           "  -h, --help              show this help\n\n"
           "Samples/s come from host wall time over many queued steps without profiling;\n"
           "the per-kernel table from a second, profiling context (OpenCL event device\n"
           "times), per training step. GEMMs are judged against the FLOP/s peak, other\n"
           "kernels against the copy bandwidth peak and against a copy moving as many bytes\n"
           "per launch: the copy's fastest launch, alone on warm caches, against the\n"
           "kernel's average launch in the step (%%COPY) and against its fastest launch\n"
           "when run again alone (ALONE%%COPY).\n"
           "Launch overhead is wall time per step minus the summed device time. IDLE is\n"
           "the device's idle time before a kernel's launches, from the end of the command\n"
           "before; an empty kernel's launches, queued back to back, show how much of the\n"
           "overhead no kernel avoids.\n"
           "Timings on a shared machine vary between runs: compare within one.\n"
           "Exit status: 0 success, 1 failure, 2 bad usage.\n",
           TRAIN_DEFAULT_LAYERS, DEFAULT_FEATURES, DEFAULT_SECONDS, DEFAULT_ROWS);
}

enum {
    OPT_LAYERS = 256,
    OPT_FEATURES,
    OPT_BATCHES,
    OPT_STEPS,
    OPT_SECONDS,
    OPT_OPTIMIZER,
    OPT_SEED,
    OPT_DEVICE,
    OPT_GEMM,
    OPT_NO_PROBE,
    OPT_COLD,
    OPT_ROWS,
    OPT_HOST_BATCHES,
    OPT_JSON,
};

static const struct option longopts[] = {
    {"layers", required_argument, NULL, OPT_LAYERS},
    {"features", required_argument, NULL, OPT_FEATURES},
    {"batch-sizes", required_argument, NULL, OPT_BATCHES},
    {"steps", required_argument, NULL, OPT_STEPS},
    {"seconds", required_argument, NULL, OPT_SECONDS},
    {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
    {"seed", required_argument, NULL, OPT_SEED},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"gemm", required_argument, NULL, OPT_GEMM},
    {"no-probe", no_argument, NULL, OPT_NO_PROBE},
    {"cold", no_argument, NULL, OPT_COLD},
    {"rows", required_argument, NULL, OPT_ROWS},
    {"host-batches", no_argument, NULL, OPT_HOST_BATCHES},
    {"json", no_argument, NULL, OPT_JSON},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on, or the exit status (help shown, or a usage error). */
static int parse_one(int c, char **argv, bench_options *o, bool *seconds_given)
{
    const char *v = optarg;
    bool ok = true;
    switch (c) {
    case OPT_LAYERS:
        o->layers = v;
        break;
    case OPT_FEATURES:
        ok = cli_parse_size("bench", "--features", v, 1, MAX_BATCH, &o->features);
        break;
    case OPT_BATCHES:
        ok = cli_parse_size_list("bench", "--batch-sizes", v, 1, MAX_BATCH, BENCH_MAX_BATCHES,
                                 o->batches, &o->nbatches);
        break;
    case OPT_STEPS:
        ok = cli_parse_size("bench", "--steps", v, 1, MAX_STEPS, &o->steps);
        break;
    case OPT_SECONDS:
        ok = cli_parse_real("bench", "--seconds", v, 0.0, MAX_SECONDS, true, &o->seconds);
        *seconds_given = true;
        break;
    case OPT_OPTIMIZER:
        ok = cli_parse_optimizer("bench", v, &o->optimizer);
        break;
    case OPT_SEED:
        ok = cli_parse_u64("bench", "--seed", v, &o->seed);
        break;
    case OPT_DEVICE:
        o->device = v;
        break;
    case OPT_GEMM:
        ok = cli_parse_gemm("bench", "--gemm", v, &o->gemm);
        break;
    case OPT_NO_PROBE:
        o->probe = false;
        break;
    case OPT_COLD:
        o->cold = true;
        break;
    case OPT_ROWS:
        ok = cli_parse_size("bench", "--rows", v, 1, MAX_ROWS, &o->rows);
        break;
    case OPT_HOST_BATCHES:
        o->host_batches = true;
        break;
    case OPT_JSON:
        o->json = true;
        break;
    case 'v':
        cli_log_set_verbose(true);
        break;
    case 'h':
        cmd_bench_help();
        return CLI_EXIT_OK;
    default:
        return cli_getopt_error("bench", c, argv);
    }
    return ok ? -1 : CLI_EXIT_USAGE;
}

int cmd_bench(int argc, char **argv)
{
    bench_options o = {
        .layers = TRAIN_DEFAULT_LAYERS,
        .features = DEFAULT_FEATURES,
        .batches = {64, 256, 1024},
        .nbatches = 3,
        .seconds = DEFAULT_SECONDS,
        .optimizer = CLNN_OPTIMIZER_SGD,
        .gemm = CLNN_GEMM_AUTO,
        .seed = 1,
        .rows = DEFAULT_ROWS,
        .probe = true,
    };
    bool seconds_given = false;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
        int done = parse_one(c, argv, &o, &seconds_given);
        if (done >= 0)
            return done;
    }
    if (optind < argc)
        return cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
    if (o.steps && seconds_given)
        return cli_usage_error("bench", "--steps and --seconds exclude each other: give one");
    for (size_t i = 0; i < o.nbatches && !o.host_batches; i++)
        if (o.batches[i] > o.rows)
            return cli_usage_error("bench", "batch size %zu is larger than --rows %zu",
                                   o.batches[i], o.rows);
    /* Drivers read these when they load, which is at the first OpenCL call,
     * still to come. */
    if (o.cold) {
        cli_setenv("POCL_KERNEL_CACHE", "0");
        cli_setenv("CUDA_CACHE_DISABLE", "1");
    }
    bench_result r;
    int status = bench_run(&o, &r, o.json ? bench_report_json : bench_report_text);
    bench_result_free(&r);
    return status;
}
