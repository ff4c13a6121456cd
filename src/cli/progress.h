/* The live one-line training progress on a terminal, and the clock it uses. */
#ifndef CLNN_CLI_PROGRESS_H
#define CLNN_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

/* Seconds on a monotonic clock (only differences are meaningful). */

/* Enable the line only when stderr is a terminal and the user did not ask
 * for quiet output; disabled, every call below is a no-op. */
void cli_progress_enable(bool want);
bool cli_progress_enabled(void);
/* Start the redraw clock, so the first redraw waits a full interval (the
 * first steps include kernel compilation and would give a wild ETA). */
void cli_progress_restart(double now);
/* True at most every CLI_PROGRESS_INTERVAL seconds: the caller must read the
 * loss to redraw, which waits for the device, so redraws are rationed. */
bool cli_progress_due(double now);
void cli_progress_draw(double now, size_t epoch, size_t epochs, size_t batches_done,
                       size_t batches_total, double loss, double samples_per_s, double eta_s);
/* Erase the line so ordinary output can follow; no-op when none is shown. */
void cli_progress_clear(void);

#endif
