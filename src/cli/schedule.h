/* Learning-rate schedules of clnn train, computed the way PyTorch's
 * torch.optim.lr_scheduler does. Plain C with no dependency on clnn.h, so it
 * can be tested and reused on its own. */
#ifndef CLNN_CLI_SCHEDULE_H
#define CLNN_CLI_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum lr_schedule_kind {
    LR_SCHEDULE_NONE = 0,   /* constant learning rate */
    LR_SCHEDULE_STEP = 1,   /* StepLR: × gamma every step_size epochs */
    LR_SCHEDULE_COSINE = 2, /* CosineAnnealingLR: half a cosine from base to eta_min over t_max */
} lr_schedule_kind;

typedef struct lr_schedule {
    lr_schedule_kind kind;
    size_t step_size; /* StepLR */
    double gamma;     /* StepLR, default 0.1 */
    size_t t_max;     /* CosineAnnealingLR; 0 until lr_schedule_resolve sets the epoch count */
    double eta_min;   /* CosineAnnealingLR, default 0 */
} lr_schedule;

/* "none", "step:STEP_SIZE[:GAMMA]" or "cosine[:T_MAX[:ETA_MIN]]". On failure
 * writes what is wrong (without the option name) to err and returns false. */
bool lr_schedule_parse(const char *text, lr_schedule *out, char *err, size_t cap);
/* Fill in defaults that depend on the run: T_MAX defaults to the epoch count. */
void lr_schedule_resolve(lr_schedule *s, size_t epochs);
/* The canonical text of a resolved schedule, which parses back to the same
 * values bit for bit (a checkpoint keeps it so --resume continues the run). */
void lr_schedule_format(const lr_schedule *s, char *buf, size_t cap);

/* Learning rate of 0-based epoch `epoch` given the one of epoch - 1 (ignored
 * for epoch 0): PyTorch's get_lr() for last_epoch = epoch, the same
 * arithmetic in the same order, so a run matches scheduler.step() once per
 * epoch to the last bit on the same C library. */
double lr_schedule_next(const lr_schedule *s, double base_lr, size_t epoch, double prev_lr);
/* Learning rate of epoch `epoch` from the start: lr_schedule_next repeated,
 * as an uninterrupted PyTorch run would have stepped (used on --resume). */
double lr_schedule_at(const lr_schedule *s, double base_lr, size_t epoch);

#endif
