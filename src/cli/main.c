/* clnn: train and evaluate neural networks on OpenCL devices from the shell. */
#include "args.h"
#include "bench.h"
#include "cli.h"
#include "plot.h"

#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*help)(void);
} command;

static const command commands[] = {
    {"devices", "list the OpenCL devices and mark the default one", cmd_devices, cmd_devices_help},
    {"train", "train a network on a CSV, NumPy or IDX dataset", cmd_train, cmd_train_help},
    {"eval", "evaluate a saved model on a test split or labelled file", cmd_eval, cmd_eval_help},
    {"predict", "write a saved model's class probabilities for new inputs", cmd_predict,
     cmd_predict_help},
    {"bench", "measure training speed and where a step's time goes", cmd_bench, cmd_bench_help},
    {"tune", "find the fastest matrix-multiply kernels for a network on a device", cmd_tune,
     cmd_tune_help},
    {"plot", "draw loss and accuracy curves from a clnn train --metrics file", cmd_plot,
     cmd_plot_help},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

/* What the library falls back to on this system (src/base/platform_*.c,
 * src/runtime/opencl.c). */
#if defined(_WIN32)
#define CLI_DEFAULT_CACHE "%%LOCALAPPDATA%%\\clnn" /* in a printf format: %% is % */
#define CLI_SYSTEM_OPENCL "OpenCL.dll"
#elif defined(__APPLE__)
#define CLI_DEFAULT_CACHE "~/Library/Caches/clnn"
#define CLI_SYSTEM_OPENCL "the OpenCL framework"
#else
#define CLI_DEFAULT_CACHE "$XDG_CACHE_HOME/clnn or ~/.cache/clnn"
#define CLI_SYSTEM_OPENCL "libOpenCL.so.1"
#endif

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_usage(FILE *out)
{
    fprintf(out, "Usage: clnn [-v] COMMAND [OPTIONS]\n"
                 "Train neural networks on any OpenCL device.\n\nCommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-9s %s\n", "help", "show this help, or a command's help (clnn help COMMAND)");
    fprintf(out, "\nOptions:\n"
                 "  -v, --verbose  show the library's debug messages (also CLNN_VERBOSE=1)\n"
                 "  -h, --help     show this help\n"
                 "      --version  show the program and library versions\n"
                 "\nEnvironment:\n"
                 "  CLNN_DEVICE    default device selector (index or name substring)\n"
                 "  CLNN_GEMM      matrix-multiply backend for --gemm auto (clblast|own)\n"
                 "  CLNN_TUNING    0 to ignore tuning files (see clnn tune)\n"
                 "  CLNN_AUTOTUNE  0 to keep clnn train from autotuning\n"
                 "  CLNN_CACHE_DIR cache folder (default " CLI_DEFAULT_CACHE ")\n"
                 "  CLNN_OPENCL_LIBRARY  the OpenCL library to load (default " CLI_SYSTEM_OPENCL ")\n"
                 "  CLNN_VERBOSE   1 to show debug messages\n"
                 "\nRun 'clnn COMMAND --help' for a command's options.\n");
}

static int main_usage_error(const char *what, const char *word)
{
    fprintf(stderr, "clnn: %s '%s'\nTry 'clnn help'.\n", what, word);
    return CLI_EXIT_USAGE;
}

static int run_help(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "help") == 0) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    const command *cmd = find_command(argv[1]);
    if (!cmd)
        return main_usage_error("unknown command", argv[1]);
    cmd->help();
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    cli_log_install();
    /* Options before the command are few and fixed, so they are matched by
     * hand; getopt_long is left to the subcommands. */
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            cli_log_set_verbose(true);
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(a, "--version") == 0) {
            printf("clnn %s (library %s)\n", CLNN_VERSION_STRING, clnn_version());
            return CLI_EXIT_OK;
        } else {
            return main_usage_error("unrecognized option", a);
        }
    }
    if (i >= argc) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[i], "help") == 0)
        return run_help(argc - i, argv + i);
    const command *cmd = find_command(argv[i]);
    if (!cmd)
        return main_usage_error("unknown command", argv[i]);
    return cmd->run(argc - i, argv + i);
}
