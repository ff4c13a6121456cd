/* Live progress line on stderr, redrawn in place with '\r'. Padding to the
 * previous length instead of ANSI erase codes keeps it working on any terminal. */
#include "progress.h"

#include "cli.h"

#include <stdio.h>

#include "os.h"

#define CLI_PROGRESS_INTERVAL 0.5

static bool enabled;
static bool shown;
static int shown_len;
static double last_draw;

void cli_progress_enable(bool want)
{
    enabled = want && cli_stderr_is_terminal();
}

bool cli_progress_enabled(void)
{
    return enabled;
}

void cli_progress_restart(double now)
{
    last_draw = now;
}

bool cli_progress_due(double now)
{
    return enabled && now - last_draw >= CLI_PROGRESS_INTERVAL;
}

static void format_eta(double seconds, char *buf, size_t cap)
{
    if (!(seconds >= 0.0) || seconds > 359999.0) {
        snprintf(buf, cap, "--:--");
        return;
    }
    unsigned long s = (unsigned long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, cap, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, cap, "%lu:%02lu", s / 60, s % 60);
}

void cli_progress_draw(double now, size_t epoch, size_t epochs, size_t batches_done,
                       size_t batches_total, double loss, double samples_per_s, double eta_s)
{
    if (!enabled)
        return;
    char eta[32];
    format_eta(eta_s, eta, sizeof eta);
    char loss_text[32];
    cli_format_metric(loss, loss_text, sizeof loss_text);
    char line[256];
    int len = snprintf(line, sizeof line,
                       "epoch %zu/%zu  batch %zu/%zu  loss %s  samples/s %.0f  ETA %s", epoch,
                       epochs, batches_done, batches_total, loss_text, samples_per_s, eta);
    if (len < 0)
        return;
    if (len >= (int)sizeof line)
        len = (int)sizeof line - 1;
    int pad = shown_len > len ? shown_len - len : 0;
    fprintf(stderr, "\r%s%*s", line, pad, "");
    fflush(stderr);
    shown = true;
    shown_len = len;
    last_draw = now;
}

void cli_progress_clear(void)
{
    if (!shown)
        return;
    fprintf(stderr, "\r%*s\r", shown_len, "");
    fflush(stderr);
    shown = false;
    shown_len = 0;
}
