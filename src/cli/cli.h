/* Pieces shared by the subcommands of the clnn command-line tool. */
#ifndef CLNN_CLI_H
#define CLNN_CLI_H

#include <stdbool.h>

#include "clnn.h"

#if defined(__MINGW32__)
#define CLI_PRINTF(f, a) __attribute__((format(gnu_printf, f, a))) /* MinGW's C99 stdio */
#elif defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* Exit statuses: 2 follows the getopt/coreutils convention for bad usage so
 * scripts can tell a typo from a failed run. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2

/* Evaluation batch when the user gives none: large enough to keep a GPU busy,
 * small enough for any device's memory. */
#define CLI_EVAL_BATCH 1000

/* Each subcommand receives its own argv, with argv[0] the subcommand name. */
int cmd_devices(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_predict(int argc, char **argv);

void cmd_devices_help(void);
void cmd_train_help(void);
void cmd_eval_help(void);
void cmd_tune_help(void);
void cmd_predict_help(void);

/* Print "clnn: error: <clnn_last_error()>" and return CLI_EXIT_FAILURE. */
int cli_library_error(void);
/* The same with the tool's own words on what to do, "(<formatted hint>)",
 * after the library's, which names API calls rather than options. */
int cli_library_error_hint(const char *fmt, ...) CLI_PRINTF(1, 2);
/* Print "clnn: error: <formatted message>" and return CLI_EXIT_FAILURE. */
int cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);

/* Route library log messages to stderr; debug and info only when verbose
 * (CLNN_VERBOSE=1 or -v/--verbose). */
void cli_log_install(void);
void cli_log_set_verbose(bool verbose);

/* Create a context on the selected device (NULL: $CLNN_DEVICE, then the
 * library's default rule). */
clnn_status cli_context_open(const char *device, clnn_gemm_backend gemm, clnn_context **ctx);
/* "NAME (PLATFORM, TYPE)" of the context's device, for one-line reports. */
void cli_describe_device(const clnn_context *ctx, char *buf, size_t cap);
/* The network's canonical layer spec in a malloc'd string (NULL when out of
 * memory; it is only shown to the user). */
char *cli_net_spec(const clnn_net *net);
/* A loss or accuracy as the output lines show it: 4 decimals, exponent form
 * for huge values, "nan"/"inf" spelled plainly. Returns buf. */
const char *cli_format_metric(double value, char *buf, size_t cap);
/* s as a JSON string literal on stdout. */
void cli_json_string(const char *s);

#endif
