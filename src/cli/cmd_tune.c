/* clnn tune: autotune the GEMMs of a network on a device and write the
 * device's tuning file (see clnn_context_tune). */
#include "args.h"
#include "cli.h"
#include "train.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_FEATURES 784 /* a Fashion-MNIST image */
#define MAX_BATCH (1u << 20)
#define MAX_BATCHES 16

typedef struct tune_cli {
    const char *layers;
    size_t features;
    size_t batches[MAX_BATCHES];
    size_t nbatches;
    bool quick;
    const char *device;
    bool json;
} tune_cli;

void cmd_tune_help(void)
{
    printf("Usage: clnn tune [OPTIONS]\n"
           "Find the fastest correct matrix-multiply kernels for a network's exact shapes\n"
           "on this device: clnn's own kernels over a grid of tile sizes, vector widths\n"
           "and work-group sizes, and CLBlast (its own parameters, and in a full search\n"
           "overridden XgemmDirect/Xgemm parameters and direct/indirect threshold). Each\n"
           "candidate's result is checked against a double-precision product first. The\n"
           "winners go to the device's tuning file, which clnn train and every other\n"
           "program using the library then apply automatically.\n\n"
           "Options:\n"
           "      --layers SPEC       layer stack as for clnn train (default\n"
           "                          %s)\n"
           "      --features N        inputs per sample (default %d)\n"
           "      --batch-sizes LIST  comma-separated batch sizes (default 64,256,1024)\n"
           "      --quick             a few candidates per shape (seconds) instead of the\n"
           "                          full grid (minutes)\n"
           "      --device SEL        device index or name substring (default $CLNN_DEVICE,\n"
           "                          else the first GPU, else the first device)\n"
           "      --json              print one JSON object instead of the table\n"
           "  -v, --verbose           show the library's debug messages (every candidate)\n"
           "  -h, --help              show this help\n\n"
           "The tuning file is <cache>/tuning/<hash>.json, the cache being $CLNN_CACHE_DIR,\n"
           "else $XDG_CACHE_HOME/clnn, else ~/.cache/clnn; shapes tuned earlier stay in it.\n"
           "CLNN_TUNING=0 stops programs from applying it; --gemm or CLNN_GEMM overrides it.\n"
           "Times are microseconds per call, best of several runs; DEFAULT is the untuned\n"
           "backend with its default parameters. Exit status: 0 success, 1 failure, 2 bad\n"
           "usage.\n",
           TRAIN_DEFAULT_LAYERS, DEFAULT_FEATURES);
}

enum { OPT_LAYERS = 256, OPT_FEATURES, OPT_BATCHES, OPT_QUICK, OPT_DEVICE, OPT_JSON };

static const struct option longopts[] = {
    {"layers", required_argument, NULL, OPT_LAYERS},
    {"features", required_argument, NULL, OPT_FEATURES},
    {"batch-sizes", required_argument, NULL, OPT_BATCHES},
    {"quick", no_argument, NULL, OPT_QUICK},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"json", no_argument, NULL, OPT_JSON},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on, or the exit status (help shown, or a usage error). */
static int parse_options(int argc, char **argv, tune_cli *o)
{
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case OPT_LAYERS:
            o->layers = optarg;
            break;
        case OPT_FEATURES:
            ok = cli_parse_size("tune", "--features", optarg, 1, MAX_BATCH, &o->features);
            break;
        case OPT_BATCHES:
            ok = cli_parse_size_list("tune", "--batch-sizes", optarg, 1, MAX_BATCH, MAX_BATCHES,
                                     o->batches, &o->nbatches);
            break;
        case OPT_QUICK:
            o->quick = true;
            break;
        case OPT_DEVICE:
            o->device = optarg;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case 'v':
            cli_log_set_verbose(true);
            break;
        case 'h':
            cmd_tune_help();
            return CLI_EXIT_OK;
        default:
            return cli_getopt_error("tune", c, argv);
        }
        if (!ok)
            return CLI_EXIT_USAGE;
    }
    if (optind < argc)
        return cli_usage_error("tune", "unexpected argument '%s'", argv[optind]);
    return -1;
}

/* The last tune's count results, into *results (the caller frees it); -1,
 * or the exit status of a failure. */
static int read_results(const clnn_context *ctx, size_t count, clnn_tune_result **results)
{
    *results = calloc(count ? count : 1, sizeof **results);
    if (!*results)
        return cli_error("out of host memory");
    for (size_t i = 0; i < count; i++) {
        (*results)[i].struct_size = sizeof **results;
        if (clnn_context_tune_result(ctx, i, &(*results)[i]) != CLNN_OK)
            return cli_library_error();
    }
    return -1;
}

static double speedup(const clnn_tune_result *r)
{
    return r->default_us > 0 && r->chosen_us > 0 ? r->default_us / r->chosen_us : 0.0;
}

static void print_us(double us)
{
    if (us > 0)
        printf(" %10.1f", us);
    else
        printf(" %10s", "-");
}

static void report_text(const clnn_context *ctx, const clnn_tune_report *rep,
                        const clnn_tune_result *results, const tune_cli *o)
{
    char device[512];
    cli_describe_device(ctx, device, sizeof device);
    printf("device %s  network %s  search %s\n", device, o->layers, o->quick ? "quick" : "full");
    printf("%6s %5s %-11s %1s%1s %6s %6s %6s %5s %10s %10s %10s %-7s %8s %8s  %s\n", "BATCH",
           "LAYER", "OP", "", "", "M", "N", "K", "CANDS", "DEFAULT", "OWN", "CLBLAST", "CHOSEN",
           "GFLOP/S", "SPEEDUP", "OWN PARAMETERS");
    for (size_t i = 0; i < rep->count; i++) {
        const clnn_tune_result *r = &results[i];
        printf("%6zu %5zu %-11s %c%c %6zu %6zu %6zu %5u", r->batch, r->layer, r->op,
               r->trans_a ? 'T' : 'N', r->trans_b ? 'T' : 'N', r->m, r->n, r->k, r->candidates);
        print_us(r->default_us);
        print_us(r->own_us);
        print_us(r->clblast_us);
        printf(" %-7s %8.1f", clnn_gemm_backend_name(r->chosen), r->gflops);
        if (speedup(r) > 0)
            printf(" %7.2fx", speedup(r));
        else
            printf(" %8s", "-");
        printf("  %s\n", r->own_params[0] ? r->own_params : "-");
    }
    if (rep->count == 0)
        printf("(every shape was tuned already)\n");
    printf("CLBlast: %s\nother shapes: %s\n", rep->clblast,
           clnn_gemm_backend_name(rep->default_backend));
    printf("tuning file %s (%.1f s)\n", rep->path, rep->seconds);
    if (!clnn_context_tuning_enabled(ctx))
        printf("note: CLNN_TUNING=0 or CLNN_GEMM is set, so programs run here do not apply it\n");
}

/* JSON has no NaN or infinity; unavailable figures are null. */
static void json_number(double v)
{
    if (v <= 0.0 || !isfinite(v))
        fputs("null", stdout);
    else
        printf("%.6g", v);
}

static void report_json(const clnn_context *ctx, const clnn_tune_report *rep,
                        const clnn_tune_result *results, const tune_cli *o)
{
    clnn_device_info info = {.struct_size = sizeof info};
    if (clnn_context_get_device_info(ctx, &info) != CLNN_OK)
        memset(&info, 0, sizeof info);
    printf("{\"device\":");
    cli_json_string(info.name);
    printf(",\"platform\":");
    cli_json_string(info.platform);
    printf(",\"driver\":");
    cli_json_string(info.driver_version);
    printf(",\"layers\":");
    cli_json_string(o->layers);
    printf(",\"features\":%zu,\"batch_sizes\":[", o->features);
    for (size_t i = 0; i < o->nbatches; i++)
        printf("%s%zu", i ? "," : "", o->batches[i]);
    printf("],\"search\":\"%s\",\"seconds\":%.3f,\"file\":", o->quick ? "quick" : "full",
           rep->seconds);
    cli_json_string(rep->path);
    printf(",\"applied\":%s,\"clblast\":", clnn_context_tuning_enabled(ctx) ? "true" : "false");
    cli_json_string(rep->clblast);
    printf(",\"default_backend\":\"%s\",\"shapes\":[",
           clnn_gemm_backend_name(rep->default_backend));
    for (size_t i = 0; i < rep->count; i++) {
        const clnn_tune_result *r = &results[i];
        printf("%s{\"batch\":%zu,\"layer\":%zu,\"op\":\"%s\",\"trans_a\":%s,\"trans_b\":%s,"
               "\"m\":%zu,\"n\":%zu,\"k\":%zu,\"candidates\":%u,\"rejected\":%u,\"default_us\":",
               i ? "," : "", r->batch, r->layer, r->op, r->trans_a ? "true" : "false",
               r->trans_b ? "true" : "false", r->m, r->n, r->k, r->candidates, r->rejected);
        json_number(r->default_us);
        printf(",\"own_us\":");
        json_number(r->own_us);
        printf(",\"own_params\":");
        if (r->own_params[0])
            cli_json_string(r->own_params);
        else
            printf("null");
        printf(",\"clblast_us\":");
        json_number(r->clblast_us);
        printf(",\"chosen\":\"%s\",\"chosen_us\":", clnn_gemm_backend_name(r->chosen));
        json_number(r->chosen_us);
        printf(",\"gflops\":");
        json_number(r->gflops);
        printf(",\"speedup\":");
        json_number(speedup(r));
        printf("}");
    }
    printf("]}\n");
}

int cmd_tune(int argc, char **argv)
{
    tune_cli o = {.layers = TRAIN_DEFAULT_LAYERS, .features = DEFAULT_FEATURES,
                  .batches = {64, 256, 1024}, .nbatches = 3};
    int done = parse_options(argc, argv, &o);
    if (done >= 0)
        return done;
    clnn_context *ctx = NULL;
    if (cli_context_open(o.device, CLNN_GEMM_AUTO, &ctx) != CLNN_OK)
        return cli_library_error();
    clnn_tune_options t;
    clnn_tune_options_init(&t);
    t.spec = o.layers;
    t.in_features = o.features;
    t.batch_sizes = o.batches;
    t.n_batch_sizes = o.nbatches;
    t.quick = o.quick;
    int status = -1;
    clnn_tune_report rep = {.struct_size = sizeof rep};
    if (!o.json && !o.quick) {
        printf("tuning (full search: can take minutes; --quick takes seconds)...\n");
        fflush(stdout);
    }
    clnn_tune_result *results = NULL;
    if (clnn_context_tune(ctx, &t) != CLNN_OK || clnn_context_tune_report(ctx, &rep) != CLNN_OK)
        status = cli_library_error();
    if (status < 0)
        status = read_results(ctx, rep.count, &results);
    if (status < 0 && o.json)
        report_json(ctx, &rep, results, &o);
    else if (status < 0)
        report_text(ctx, &rep, results, &o);
    if (status < 0)
        status = CLI_EXIT_OK;
    free(results);
    clnn_context_free(ctx);
    return status;
}
