/* Strict option-value parsing and usage errors for the subcommands.
 * Every parser reports its own error (naming the option and the bad text) and
 * returns false, so callers only need `return CLI_EXIT_USAGE`. */
#ifndef CLNN_CLI_ARGS_H
#define CLNN_CLI_ARGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* Print "clnn CMD: <message>" and "Try 'clnn CMD --help'." to stderr;
 * returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);

/* Turn getopt_long's '?' or ':' into a usage error; returns CLI_EXIT_USAGE.
 * argv must be the vector passed to getopt_long (reads optind and optopt). */
int cli_getopt_error(const char *cmd, int result, char **argv);

/* Decimal integer in [min, max]; no sign, no blanks, no trailing text. */
bool cli_parse_size(const char *cmd, const char *opt, const char *text, size_t min, size_t max,
                    size_t *out);
bool cli_parse_u64(const char *cmd, const char *opt, const char *text, uint64_t *out);
/* Finite number in [min, max], or in (min, max] when min_exclusive. */
bool cli_parse_real(const char *cmd, const char *opt, const char *text, double min, double max,
                    bool min_exclusive, double *out);
/* Comma-separated decimal integers in [min, max], at most cap of them
 * ("64,256,1024"); *count gets how many. */
bool cli_parse_size_list(const char *cmd, const char *opt, const char *text, size_t min,
                         size_t max, size_t cap, size_t *out, size_t *count);
/* sgd|adam. */
bool cli_parse_optimizer(const char *cmd, const char *text, clnn_optimizer_kind *kind);
/* auto|clblast|own. */
bool cli_parse_gemm(const char *cmd, const char *opt, const char *text, clnn_gemm_backend *out);

#endif
