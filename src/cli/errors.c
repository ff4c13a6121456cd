/* Uniform error lines, so every failure reads "clnn: error: ..." whatever its origin. */
#include "cli.h"
#include "progress.h"

#include <stdarg.h>
#include <stdio.h>

int cli_library_error(void)
{
    const char *msg = clnn_last_error();
    cli_progress_clear();
    fprintf(stderr, "clnn: error: %s\n",
            msg[0] ? msg : "unknown failure (the library gave no message)");
    return CLI_EXIT_FAILURE;
}

int cli_library_error_hint(const char *fmt, ...)
{
    char hint[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(hint, sizeof hint, fmt, ap);
    va_end(ap);
    const char *msg = clnn_last_error();
    return cli_error("%s (%s)", msg[0] ? msg : "unknown failure (the library gave no message)",
                     hint);
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    char msg[8192];
    cli_progress_clear();
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One fprintf is one write on unbuffered stderr, so the lines of several
     * processes sharing a terminal (ranks under mpirun) do not interleave. */
    fprintf(stderr, "clnn: error: %s\n", msg);
    return CLI_EXIT_FAILURE;
}
