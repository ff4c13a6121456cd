/* clnn eval: a saved model's loss and accuracy on the test split. */
#include "args.h"
#include "cli.h"
#include "data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os.h"

#define MAX_BATCH (1u << 20)
#define MAX_CLASS_NAMES 256

/* Label order of Fashion-MNIST, the default dataset. */
static const char *const fashion_mnist_classes[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress",   "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",     "Ankle boot"};

typedef struct eval_options {
    const char *model;
    const char *data_dir;
    data_file file; /* with --data FILE: how to read it */
    const char *device;
    size_t batch;
    clnn_gemm_backend gemm;
    const char *class_names; /* NULL: Fashion-MNIST's for 10 classes, else indices */
} eval_options;

void cmd_eval_help(void)
{
    printf("Usage: clnn eval MODEL [OPTIONS]\n"
           "Load MODEL (a safetensors file written by clnn train --save) and report its\n"
           "loss and accuracy on the test split of an IDX folder, or on a labelled CSV,\n"
           "NumPy or .npz file read as the model's training data was (its columns,\n"
           "classes and standardisation, from the model's metadata).\n\n"
           "Options:\n"
           "      --data DIR|FILE   IDX dataset folder (default %s), or a\n"
           "                        CSV, .npy or .npz file\n"
           "      --labels FILE     .npy: the labels of --data FILE.npy\n"
           "      --label-column C  CSV: the labels' column, by name or index from 0\n"
           "                        (default the model's label column, else the last)\n"
           "      --no-header       CSV: the first line is data, not column names\n"
           "      --device SEL      device index or name substring (default $CLNN_DEVICE,\n"
           "                        else the first GPU, else the first device)\n"
           "      --batch-size N    samples per evaluation batch (default %d)\n"
           "      --gemm NAME       matrix multiply: auto, clblast or own (default auto)\n"
           "      --class-names L   names of the classes in label order, comma-separated,\n"
           "                        or 'index' for their numbers (default the model's\n"
           "                        class names, else Fashion-MNIST's for 10 classes of\n"
           "                        an IDX folder, else numbers)\n"
           "  -v, --verbose         show the library's debug messages\n"
           "  -h, --help            show this help\n\n"
           "Prints the loss and accuracy, then the accuracy of each class and the\n"
           "confusion matrix (rows: true class, columns: predicted class). A regression\n"
           "model (clnn train --loss mse) reads float targets from --data FILE and\n"
           "prints its loss, the mean squared error, alone.\n",
           CLNN_DEFAULT_DATA_DIR, CLI_EVAL_BATCH);
}

enum {
    OPT_DATA = 256,
    OPT_DEVICE,
    OPT_BATCH,
    OPT_GEMM,
    OPT_CLASS_NAMES,
    OPT_LABELS,
    OPT_LABEL_COLUMN,
    OPT_NO_HEADER
};

static const struct option longopts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"batch-size", required_argument, NULL, OPT_BATCH},
    {"gemm", required_argument, NULL, OPT_GEMM},
    {"class-names", required_argument, NULL, OPT_CLASS_NAMES},
    {"labels", required_argument, NULL, OPT_LABELS},
    {"label-column", required_argument, NULL, OPT_LABEL_COLUMN},
    {"no-header", no_argument, NULL, OPT_NO_HEADER},
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
        case OPT_CLASS_NAMES:
            o->class_names = optarg;
            break;
        case OPT_LABELS:
            o->file.labels = optarg;
            break;
        case OPT_LABEL_COLUMN:
            o->file.label_column = optarg;
            break;
        case OPT_NO_HEADER:
            o->file.no_header = true;
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
    if (data_is_file(o->data_dir)) {
        o->file.path = o->data_dir;
    } else if (o->file.labels || o->file.label_column || o->file.no_header) {
        return cli_usage_error("eval", "%s applies to --data FILE (CSV, .npy or .npz), and '%s' "
                                       "is a folder of IDX files",
                               o->file.labels ? "--labels" : o->file.label_column ? "--label-column"
                                                                                   : "--no-header",
                               o->data_dir);
    }
    return -1;
}

/* Class names for k classes into names[] (pointing into storage or static
 * text, or test's own names). Returns -1 to go on, or the exit status. */
static int class_names(const eval_options *o, const clnn_dataset *test, size_t k, char *storage,
                       size_t cap, const char **names)
{
    if (!o->class_names && clnn_dataset_class_name(test, 0)) {
        for (size_t i = 0; i < k; i++)
            names[i] = clnn_dataset_class_name(test, i) ? clnn_dataset_class_name(test, i) : "?";
        return -1;
    }
    if (!o->class_names && !o->file.path) {
        if (k == 10) {
            for (size_t i = 0; i < k; i++)
                names[i] = fashion_mnist_classes[i];
            return -1;
        }
    } else if (o->class_names && strcmp(o->class_names, "index") != 0) {
        size_t count = 0;
        snprintf(storage, cap, "%s", o->class_names);
        for (char *p = storage; count < MAX_CLASS_NAMES;) {
            names[count++] = p;
            char *comma = strchr(p, ',');
            if (!comma)
                break;
            *comma = '\0';
            p = comma + 1;
        }
        if (count != k)
            return cli_error("--class-names gives %zu names but the model has %zu classes", count, k);
        return -1;
    }
    /* Numbers: "0", "1", ... kept in storage, 8 bytes each. */
    for (size_t i = 0; i < k && (i + 1) * 8 <= cap; i++) {
        snprintf(storage + i * 8, 8, "%zu", i);
        names[i] = storage + i * 8;
    }
    return -1;
}

static int digits(size_t v)
{
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* Accuracy per class and the confusion matrix, from clnn_net_predict. */
static int report_classes(clnn_dataset *test, clnn_net *net, const char *const *names)
{
    const size_t n = clnn_dataset_count(test);
    const size_t k = clnn_net_out_features(net);
    int32_t *pred = malloc((n ? n : 1) * sizeof *pred);
    size_t *matrix = calloc(k * k, sizeof *matrix);
    if (!pred || !matrix) {
        free(pred);
        free(matrix);
        return cli_error("out of host memory for the predictions of %zu samples", n);
    }
    if (clnn_net_predict(net, clnn_dataset_images(test), n, clnn_dataset_features(test), pred, n) !=
        CLNN_OK) {
        free(pred);
        free(matrix);
        return cli_library_error();
    }
    const int32_t *labels = clnn_dataset_labels(test);
    size_t largest = 0;
    for (size_t i = 0; i < n; i++) {
        size_t *cell = &matrix[(size_t)labels[i] * k + (size_t)pred[i]];
        if (++*cell > largest)
            largest = *cell;
    }
    free(pred);

    int name_w = 0;
    for (size_t c = 0; c < k; c++)
        name_w = (int)strlen(names[c]) > name_w ? (int)strlen(names[c]) : name_w;
    printf("\nper-class accuracy (correct / test samples of the class):\n");
    for (size_t c = 0; c < k; c++) {
        size_t total = 0;
        for (size_t j = 0; j < k; j++)
            total += matrix[c * k + j];
        char acc[32] = "-";
        if (total)
            cli_format_metric((double)matrix[c * k + c] / (double)total, acc, sizeof acc);
        printf("  %-*s  %6s  %zu/%zu\n", name_w, names[c], acc, matrix[c * k + c], total);
    }
    printf("\nconfusion matrix (rows: true class, columns: predicted class):\n");
    const char *corner = "true \\ predicted";
    int row_w = name_w > (int)strlen(corner) ? name_w : (int)strlen(corner);
    int count_w = digits(largest);
    printf("  %-*s", row_w, corner);
    for (size_t j = 0; j < k; j++)
        printf("  %*s", (int)strlen(names[j]) > count_w ? (int)strlen(names[j]) : count_w,
               names[j]);
    printf("\n");
    for (size_t c = 0; c < k; c++) {
        printf("  %-*s", row_w, names[c]);
        for (size_t j = 0; j < k; j++)
            printf("  %*zu", (int)strlen(names[j]) > count_w ? (int)strlen(names[j]) : count_w,
                   matrix[c * k + j]);
        printf("\n");
    }
    free(matrix);
    return -1;
}

/* The line that says what is evaluated, before the work. */
static void print_model(const eval_options *o, clnn_context *ctx, clnn_net *net)
{
    char device[512];
    cli_describe_device(ctx, device, sizeof device);
    char *spec = cli_net_spec(net);
    printf("model %s  network %s  device %s\n", o->model, spec ? spec : "?", device);
    fflush(stdout);
    free(spec);
}

/* A regression model: the mean squared error over every sample and output. */
static int evaluate_values(const eval_options *o, clnn_dataset *test, clnn_context *ctx,
                           clnn_net *net)
{
    if (o->class_names)
        return cli_error("--class-names applies to classification, and model '%s' is a "
                         "regression model (--loss mse)",
                         o->model);
    print_model(o, ctx, net);
    const size_t n = clnn_dataset_count(test);
    double loss = 0.0;
    if (clnn_net_evaluate_targets(net, clnn_dataset_images(test), n, clnn_dataset_features(test),
                                  clnn_dataset_targets(test),
                                  n * clnn_dataset_target_width(test), o->batch,
                                  &loss) != CLNN_OK)
        return cli_library_error_hint("--data %s", o->data_dir);
    char l[32];
    printf("test loss %s  (mean squared error, %zu samples)\n",
           cli_format_metric(loss, l, sizeof l), n);
    return CLI_EXIT_OK;
}

static int evaluate(const eval_options *o, clnn_dataset *test, clnn_context *ctx, clnn_net *net)
{
    if (clnn_net_loss(net) == CLNN_LOSS_MSE)
        return evaluate_values(o, test, ctx, net);
    size_t features = clnn_dataset_features(test);
    if (clnn_net_in_features(net) != features)
        return cli_error("model '%s' takes %zu inputs but the images in '%s' have %zu pixels",
                         o->model, clnn_net_in_features(net), o->data_dir, features);
    size_t classes = clnn_dataset_classes(test);
    if (clnn_net_out_features(net) < classes)
        return cli_error("model '%s' has %zu outputs but the labels in '%s' have %zu classes",
                         o->model, clnn_net_out_features(net), o->data_dir, classes);
    /* Names are settled first so that a wrong --class-names fails before the work. */
    const size_t k = clnn_net_out_features(net);
    char storage[8 * MAX_CLASS_NAMES + 4096];
    const char *names[MAX_CLASS_NAMES];
    if (k <= MAX_CLASS_NAMES) {
        int status = class_names(o, test, k, storage, sizeof storage, names);
        if (status >= 0)
            return status;
    }
    print_model(o, ctx, net);
    size_t n = clnn_dataset_count(test);
    double loss = 0.0, acc = 0.0;
    if (clnn_net_evaluate(net, clnn_dataset_images(test), n, clnn_dataset_features(test),
                          clnn_dataset_labels(test), n, o->batch, &loss, &acc) != CLNN_OK)
        return cli_library_error();
    char l[32], a[32];
    printf("test loss %s  test acc %s  (%zu samples)\n", cli_format_metric(loss, l, sizeof l),
           cli_format_metric(acc, a, sizeof a), n);
    /* Wider than MAX_CLASS_NAMES classes, a matrix is no longer readable. */
    int status = k <= MAX_CLASS_NAMES ? report_classes(test, net, names) : -1;
    return status >= 0 ? status : CLI_EXIT_OK;
}

int cmd_eval(int argc, char **argv)
{
    eval_options o = {.data_dir = CLNN_DEFAULT_DATA_DIR, .batch = CLI_EVAL_BATCH};
    int status = parse_options(argc, argv, &o);
    if (status >= 0)
        return status;
    /* A mistyped MODEL path should not wait for the data and kernels first. */
    if (!cli_readable(o.model))
        return cli_error("cannot read model '%s': %s", o.model, strerror(errno));

    clnn_dataset *test = NULL;
    clnn_context *ctx = NULL;
    clnn_net *net = NULL;
    char spec[8];
    clnn_status meta = clnn_file_metadata(o.model, "clnn.spec", spec, sizeof spec);
    if (meta == CLNN_ERR_INVALID_ARGUMENT)
        return cli_error("model '%s' has no clnn.spec metadata, so clnn eval cannot tell its "
                         "layers: save it with metadata={\"clnn.spec\": \"dense:256,...\", "
                         "\"clnn.in_features\": \"784\"} (README, Model files)",
                         o.model);
    /* A regression model's data holds float targets, which IDX folders lack. */
    char loss[32];
    o.file.values = clnn_file_metadata(o.model, "clnn.loss", loss, sizeof loss) == CLNN_OK &&
                    strcmp(loss, "mse") == 0;
    if (o.file.values && !o.file.path)
        return cli_error("model '%s' is a regression model (--loss mse): give its data with "
                         "float targets as --data FILE (CSV, .npy or .npz); '%s' is a folder of "
                         "IDX files",
                         o.model, o.data_dir);
    clnn_dataset *desc = NULL;
    if (!o.file.path && clnn_dataset_load_split(o.data_dir, "test", &test) != CLNN_OK)
        status = cli_library_error_hint("--data DIR names the folder");
    else if (cli_context_open(o.device, o.gemm, &ctx) != CLNN_OK ||
             clnn_net_load(ctx, o.model, NULL, &net) != CLNN_OK)
        status = cli_library_error();
    else if (o.file.path && clnn_net_data_description(net, &desc) != CLNN_OK)
        status = cli_library_error();
    else if (o.file.path && (status = data_load(&o.file, desc, false, "--data", &test)) >= 0)
        ;
    else
        status = evaluate(&o, test, ctx, net);
    clnn_dataset_free(desc);
    clnn_net_free(net);
    clnn_context_free(ctx);
    clnn_dataset_free(test);
    return status;
}
