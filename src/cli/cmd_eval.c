/* clnn eval: a saved model's loss and accuracy on the test split. */
#include "args.h"
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BATCH (1u << 20)

typedef struct eval_options {
    const char *model;
    const char *data_dir;
    const char *device;
    size_t batch;
    clnn_gemm_backend gemm;
} eval_options;

void cmd_eval_help(void)
{
    printf("Usage: clnn eval MODEL [OPTIONS]\n"
           "Load MODEL (a safetensors file written by clnn train --save) and report its\n"
           "loss and accuracy on the test split.\n\n"
           "Options:\n"
           "      --data DIR        dataset folder (default %s)\n"
           "      --device SEL      device index or name substring (default $CLNN_DEVICE,\n"
           "                        else the first GPU, else the first device)\n"
           "      --batch-size N    samples per evaluation batch (default %d)\n"
           "      --gemm NAME       matrix multiply: auto, clblast or own (default auto)\n"
           "  -v, --verbose         show the library's debug messages\n"
           "  -h, --help            show this help\n",
           CLNN_DEFAULT_DATA_DIR, CLI_EVAL_BATCH);
}

enum { OPT_DATA = 256, OPT_DEVICE, OPT_BATCH, OPT_GEMM };

static const struct option longopts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"batch-size", required_argument, NULL, OPT_BATCH},
    {"gemm", required_argument, NULL, OPT_GEMM},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on, or the exit status (help shown, or a usage error). */
static int parse_options(int argc, char **argv, eval_options *o)
{
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DATA:
            o->data_dir = optarg;
            break;
        case OPT_DEVICE:
            o->device = optarg;
            break;
        case OPT_BATCH:
            if (!cli_parse_size("eval", "--batch-size", optarg, 1, MAX_BATCH, &o->batch))
                return CLI_EXIT_USAGE;
            break;
        case OPT_GEMM:
            if (!cli_parse_gemm("eval", "--gemm", optarg, &o->gemm))
                return CLI_EXIT_USAGE;
            break;
        case 'v':
            cli_log_set_verbose(true);
            break;
        case 'h':
            cmd_eval_help();
            return CLI_EXIT_OK;
        default:
            return cli_getopt_error("eval", c, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error("eval", "missing MODEL (the file written by clnn train --save)");
    if (optind + 1 < argc)
        return cli_usage_error("eval", "unexpected argument '%s'", argv[optind + 1]);
    o->model = argv[optind];
    return -1;
}

static int evaluate(const eval_options *o, clnn_dataset *test, clnn_context *ctx, clnn_net *net)
{
    size_t features = clnn_dataset_features(test);
    if (clnn_net_in_features(net) != features)
        return cli_error("model '%s' takes %zu inputs but the images in '%s' have %zu pixels",
                         o->model, clnn_net_in_features(net), o->data_dir, features);
    size_t classes = clnn_dataset_classes(test);
    if (clnn_net_out_features(net) < classes)
        return cli_error("model '%s' has %zu outputs but the labels in '%s' have %zu classes",
                         o->model, clnn_net_out_features(net), o->data_dir, classes);
    char device[512];
    cli_describe_device(ctx, device, sizeof device);
    char *spec = cli_net_spec(net);
    printf("model %s  network %s  device %s\n", o->model, spec ? spec : "?", device);
    fflush(stdout);
    free(spec);
    size_t n = clnn_dataset_count(test);
    double loss = 0.0, acc = 0.0;
    if (clnn_net_evaluate(net, clnn_dataset_images(test), clnn_dataset_labels(test), n, o->batch,
                          &loss, &acc) != CLNN_OK)
        return cli_library_error();
    char l[32], a[32];
    printf("test loss %s  test acc %s  (%zu samples)\n", cli_format_metric(loss, l, sizeof l),
           cli_format_metric(acc, a, sizeof a), n);
    return CLI_EXIT_OK;
}

int cmd_eval(int argc, char **argv)
{
    eval_options o = {.data_dir = CLNN_DEFAULT_DATA_DIR, .batch = CLI_EVAL_BATCH};
    int status = parse_options(argc, argv, &o);
    if (status >= 0)
        return status;
    /* A mistyped MODEL path should not wait for the data and kernels first. */
    if (access(o.model, R_OK) != 0)
        return cli_error("cannot read model '%s': %s", o.model, strerror(errno));

    clnn_dataset *test = NULL;
    clnn_context *ctx = NULL;
    clnn_net *net = NULL;
    if (clnn_dataset_load_split(o.data_dir, "test", &test) != CLNN_OK ||
        cli_context_open(o.device, o.gemm, &ctx) != CLNN_OK ||
        clnn_net_load(ctx, o.model, NULL, &net) != CLNN_OK)
        status = cli_library_error();
    else
        status = evaluate(&o, test, ctx, net);
    clnn_net_free(net);
    clnn_context_free(ctx);
    clnn_dataset_free(test);
    return status;
}
