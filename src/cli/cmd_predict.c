/* clnn predict: a saved model's class probabilities for new inputs, read as
 * the data it was trained on (its metadata's columns, classes and
 * standardisation), written as CSV or .npy. */
#include "args.h"
#include "cli.h"
#include "data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os.h"

#define MAX_BATCH (1u << 20)
/* A progress line only for inputs that take a while. */
#define PROGRESS_ROWS 100000
#define PROGRESS_INTERVAL 0.5

typedef struct predict_options {
    const char *model;
    data_file input;
    const char *out;
    const char *device;
    size_t batch;
    clnn_gemm_backend gemm;
    bool quiet;
} predict_options;

void cmd_predict_help(void)
{
    printf("Usage: clnn predict MODEL --input FILE [OPTIONS]\n"
           "Apply MODEL (written by clnn train --save) to the rows of FILE (CSV, .npy or\n"
           "an .npz with x), read as the model's training data was: the feature\n"
           "columns by name, and the standardisation stored in the model applied.\n"
           "Writes one row per input: the predicted class (its name when the model has\n"
           "class names) and the probability of each class.\n\n"
           "Options:\n"
           "      --input FILE        the inputs (required)\n"
           "      --labels FILE       the inputs' labels (.npy beside .npy inputs)\n"
           "      --label-column C    the CSV column of the labels, by name or index from 0\n"
           "                          (default: the model's label column)\n"
           "      --no-header         the CSV has no header row\n"
           "  -o, --output FILE       write to FILE: .npy for a float32 array of\n"
           "                          probabilities (rows x classes), else CSV (default:\n"
           "                          CSV on standard output)\n"
           "      --batch-size N      rows per prediction call (default %d)\n"
           "      --device SEL        device index or name substring (default $CLNN_DEVICE,\n"
           "                          else the first GPU, else the first device)\n"
           "      --gemm NAME         matrix multiply: auto, clblast or own (default auto)\n"
           "  -q, --quiet             no progress line and no accuracy line\n"
           "  -v, --verbose           show the library's debug messages\n"
           "  -h, --help              show this help\n\n"
           "When the inputs have labels (the CSV has the label column, or --labels), the\n"
           "accuracy is reported too (on standard error when the CSV goes to standard\n"
           "output). CSV columns: predicted, then p_NAME for each class.\n"
           "A regression model (clnn train --loss mse) writes its predicted values\n"
           "instead: CSV columns predicted (one output) or predicted_0, predicted_1, ...,\n"
           "or a float32 .npy of rows x outputs; with targets in the inputs, their mean\n"
           "squared error is reported in place of the accuracy.\n",
           CLI_EVAL_BATCH);
}

enum { OPT_INPUT = 256, OPT_LABELS, OPT_LABEL_COLUMN, OPT_NO_HEADER, OPT_BATCH, OPT_DEVICE, OPT_GEMM };

static const struct option longopts[] = {
    {"input", required_argument, NULL, OPT_INPUT},
    {"labels", required_argument, NULL, OPT_LABELS},
    {"label-column", required_argument, NULL, OPT_LABEL_COLUMN},
    {"no-header", no_argument, NULL, OPT_NO_HEADER},
    {"output", required_argument, NULL, 'o'},
    {"batch-size", required_argument, NULL, OPT_BATCH},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"gemm", required_argument, NULL, OPT_GEMM},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_options(int argc, char **argv, predict_options *o)
{
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:qvh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_INPUT:
            o->input.path = optarg;
            break;
        case OPT_LABELS:
            o->input.labels = optarg;
            break;
        case OPT_LABEL_COLUMN:
            o->input.label_column = optarg;
            break;
        case OPT_NO_HEADER:
            o->input.no_header = true;
            break;
        case 'o':
            o->out = optarg;
            break;
        case OPT_BATCH:
            if (!cli_parse_size("predict", "--batch-size", optarg, 1, MAX_BATCH, &o->batch))
                return CLI_EXIT_USAGE;
            break;
        case OPT_DEVICE:
            o->device = optarg;
            break;
        case OPT_GEMM:
            if (!cli_parse_gemm("predict", "--gemm", optarg, &o->gemm))
                return CLI_EXIT_USAGE;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'v':
            cli_log_set_verbose(true);
            break;
        case 'h':
            cmd_predict_help();
            return CLI_EXIT_OK;
        default:
            return cli_getopt_error("predict", c, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error("predict", "missing MODEL (the file written by clnn train --save)");
    if (optind + 1 < argc)
        return cli_usage_error("predict", "unexpected argument '%s'", argv[optind + 1]);
    if (!o->input.path)
        return cli_usage_error("predict", "missing --input FILE (the rows to predict)");
    o->model = argv[optind];
    return -1;
}

static bool ends_with_npy(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && cli_strcasecmp(path + n - 4, ".npy") == 0;
}

/* The CSV header: predicted, p_NAME per class. */
static void write_csv_header(FILE *f, const clnn_dataset *in, size_t k)
{
    fputs("predicted", f);
    for (size_t c = 0; c < k; c++) {
        char name[512];
        const char *cn = clnn_dataset_class_name(in, c);
        if (cn)
            snprintf(name, sizeof name, "p_%s", cn);
        else
            snprintf(name, sizeof name, "p_%zu", c);
        fputc(',', f);
        data_write_csv_field(f, name);
    }
    fputc('\n', f);
}

static void write_csv_rows(FILE *f, const clnn_dataset *in, const float *p, size_t rows, size_t k,
                           const int32_t *best)
{
    for (size_t r = 0; r < rows; r++) {
        const char *name = clnn_dataset_class_name(in, (size_t)best[r]);
        if (name)
            data_write_csv_field(f, name);
        else
            fprintf(f, "%d", best[r]);
        for (size_t c = 0; c < k; c++)
            fprintf(f, ",%.9g", (double)p[r * k + c]);
        fputc('\n', f);
    }
}

static void progress(const predict_options *o, size_t done, size_t total, double *last)
{
    if (o->quiet || total < PROGRESS_ROWS || !cli_stderr_is_terminal())
        return;
    double now = cli_now();
    if (done < total && now - *last < PROGRESS_INTERVAL)
        return;
    *last = now;
    fprintf(stderr, "\rpredicting %zu/%zu rows%s", done, total, done == total ? "\n" : "");
}

/* Predict in batches, writing as it goes; counts correct rows when labelled. */
static int predict_all(const predict_options *o, clnn_net *net, const clnn_dataset *in,
                       data_output *out, size_t *correct)
{
    const size_t n = clnn_dataset_count(in), d = clnn_dataset_features(in);
    const size_t k = clnn_net_out_features(net);
    const size_t b = o->batch < n ? o->batch : n;
    const bool npy = o->out && ends_with_npy(o->out);
    float *p = malloc(b * k * sizeof *p);
    int32_t *best = malloc(b * sizeof *best);
    if (!p || !best) {
        free(p);
        free(best);
        return cli_error("out of host memory for batches of %zu rows", b);
    }
    if (npy)
        data_write_npy_header(out->file, n, k);
    else
        write_csv_header(out->file, in, k);
    const float *x = clnn_dataset_images(in);
    const int32_t *labels = clnn_dataset_labels(in);
    double last = cli_now();
    int status = -1;
    for (size_t at = 0; at < n && status < 0; at += b) {
        size_t rows = n - at < b ? n - at : b;
        if (clnn_net_predict_output(net, x + at * d, rows, d, CLNN_OUTPUT_PROBABILITIES, p,
                                    rows * k) != CLNN_OK) {
            status = cli_library_error();
            break;
        }
        for (size_t r = 0; r < rows; r++) {
            size_t arg = 0;
            for (size_t c = 1; c < k; c++)
                arg = p[r * k + c] > p[r * k + arg] ? c : arg;
            best[r] = (int32_t)arg;
            *correct += labels && labels[at + r] == best[r];
        }
        if (npy)
            data_write_floats_le(out->file, p, rows * k);
        else
            write_csv_rows(out->file, in, p, rows, k, best);
        progress(o, at + rows, n, &last);
    }
    free(p);
    free(best);
    return status;
}

/* A regression model: the predicted values, k per row; with targets in the
 * inputs, their squared errors summed into *sq. */
static int predict_values(const predict_options *o, clnn_net *net, const clnn_dataset *in,
                          data_output *out, double *sq)
{
    const size_t n = clnn_dataset_count(in), d = clnn_dataset_features(in);
    const size_t k = clnn_net_out_features(net);
    const size_t b = o->batch < n ? o->batch : n;
    const bool npy = o->out && ends_with_npy(o->out);
    const float *t = clnn_dataset_target_width(in) == k ? clnn_dataset_targets(in) : NULL;
    if (clnn_dataset_targets(in) && !t)
        return cli_error("the inputs have %zu targets per row, but model '%s' predicts %zu",
                         clnn_dataset_target_width(in), o->model, k);
    float *v = malloc(b * k * sizeof *v);
    if (!v)
        return cli_error("out of host memory for batches of %zu rows", b);
    if (npy) {
        data_write_npy_header(out->file, n, k);
    } else {
        for (size_t c = 0; c < k; c++) {
            if (k == 1)
                fputs("predicted", out->file);
            else
                fprintf(out->file, "%spredicted_%zu", c ? "," : "", c);
        }
        fputc('\n', out->file);
    }
    const float *x = clnn_dataset_images(in);
    double last = cli_now();
    int status = -1;
    for (size_t at = 0; at < n && status < 0; at += b) {
        size_t rows = n - at < b ? n - at : b;
        if (clnn_net_predict_output(net, x + at * d, rows, d, CLNN_OUTPUT_LOGITS, v, rows * k) !=
            CLNN_OK) {
            status = cli_library_error();
            break;
        }
        for (size_t i = 0; t && i < rows * k; i++) {
            const double e = (double)v[i] - t[at * k + i];
            *sq += e * e;
        }
        if (npy) {
            data_write_floats_le(out->file, v, rows * k);
        } else {
            for (size_t r = 0; r < rows; r++)
                for (size_t c = 0; c < k; c++)
                    fprintf(out->file, "%.9g%c", (double)v[r * k + c], c + 1 < k ? ',' : '\n');
        }
        progress(o, at + rows, n, &last);
    }
    free(v);
    return status;
}

static int run(const predict_options *o, clnn_context *ctx, clnn_net **net, clnn_dataset **desc,
               clnn_dataset **in)
{
    if (cli_context_open(o->device, o->gemm, &ctx) != CLNN_OK)
        return cli_library_error();
    clnn_status st = clnn_net_load(ctx, o->model, NULL, net);
    clnn_context_free(ctx); /* the network holds it */
    if (st != CLNN_OK || clnn_net_data_description(*net, desc) != CLNN_OK)
        return cli_library_error();
    const bool values = clnn_net_loss(*net) == CLNN_LOSS_MSE;
    data_file input = o->input;
    input.values = values;
    int status = data_load(&input, *desc, true, "--input", in);
    if (status >= 0)
        return status;
    data_output out;
    if (!data_output_open(&out, o->out))
        return cli_error("cannot write '%s': %s; choose another -o path", out.tmp,
                         strerror(errno));
    size_t correct = 0;
    double sq = 0.0;
    status = values ? predict_values(o, *net, *in, &out, &sq)
                    : predict_all(o, *net, *in, &out, &correct);
    if (!data_output_close(&out, status < 0) && status < 0)
        return cli_error("cannot write '%s': %s; nothing was written there",
                         o->out ? o->out : "standard output", strerror(errno));
    if (status >= 0)
        return status;
    const size_t n = clnn_dataset_count(*in);
    if (values && clnn_dataset_targets(*in) && !o->quiet) {
        char m[32];
        const double count = (double)n * (double)clnn_net_out_features(*net);
        fprintf(o->out ? stdout : stderr, "mse %s  (%zu rows)\n",
                cli_format_metric(sq / count, m, sizeof m), n);
    }
    if (clnn_dataset_labels(*in) && !o->quiet) {
        char a[32];
        fprintf(o->out ? stdout : stderr, "accuracy %s  (%zu of %zu rows)\n",
                cli_format_metric((double)correct / (double)n, a, sizeof a), correct, n);
    }
    if (o->out && !o->quiet)
        printf("wrote the predictions of %zu rows to %s\n", n, o->out);
    return CLI_EXIT_OK;
}

int cmd_predict(int argc, char **argv)
{
    predict_options o = {.batch = CLI_EVAL_BATCH};
    int status = parse_options(argc, argv, &o);
    if (status >= 0)
        return status;
    if (!cli_readable(o.model))
        return cli_error("cannot read model '%s': %s", o.model, strerror(errno));
    clnn_net *net = NULL;
    clnn_dataset *desc = NULL, *in = NULL;
    status = run(&o, NULL, &net, &desc, &in);
    clnn_dataset_free(in);
    clnn_dataset_free(desc);
    clnn_net_free(net);
    return status;
}
