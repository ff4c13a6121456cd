/* The library never prints; this callback is the only way its warnings and
 * debug traces reach the user. */
#include "cli.h"
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool log_verbose;

static const char *level_name(clnn_log_level level)
{
    switch (level) {
    case CLNN_LOG_DEBUG:
        return "debug";
    case CLNN_LOG_INFO:
        return "info";
    case CLNN_LOG_WARN:
        return "warning";
    case CLNN_LOG_ERROR:
        return "error";
    }
    return "log";
}

static void log_to_stderr(clnn_log_level level, const char *message, void *user)
{
    (void)user;
    if (level < CLNN_LOG_WARN && !log_verbose)
        return;
    /* A message printed over the live progress line would be garbled by the next redraw. */
    cli_progress_clear();
    fprintf(stderr, "clnn: %s: %s\n", level_name(level), message);
}

void cli_log_install(void)
{
    const char *env = getenv("CLNN_VERBOSE");
    log_verbose = env && strcmp(env, "1") == 0;
    clnn_set_log_callback(log_to_stderr, NULL);
}

void cli_log_set_verbose(bool verbose)
{
    if (verbose)
        log_verbose = true;
}
