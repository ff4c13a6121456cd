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

int cli_error(const char *fmt, ...)
{
    va_list ap;
    cli_progress_clear();
    fputs("clnn: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAILURE;
}
