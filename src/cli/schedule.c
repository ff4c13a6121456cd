/* Learning-rate schedules, following torch.optim.lr_scheduler (PyTorch 1.13).
 *
 * PyTorch computes both schedules recursively from the previous epoch's rate
 * (get_lr), not with the closed forms its documentation gives; the two agree
 * mathematically but not always in the last bit, so the recursion is
 * reproduced here, operation for operation, in double precision as Python's
 * floats. */
#include "schedule.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* math.pi: the double nearest to pi (M_PI is not part of C11). */
#define SCHEDULE_PI 3.141592653589793

/* A whole field of text (up to the next ':' or the end) as a decimal integer
 * >= 1: no sign, blanks or trailing characters. */
static bool field_size(const char *s, size_t len, size_t *out)
{
    if (len == 0 || len > 19)
        return false;
    unsigned long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (unsigned long long)(s[i] - '0');
    }
    if (v == 0 || v > (unsigned long long)SIZE_MAX)
        return false;
    *out = (size_t)v;
    return true;
}

/* A whole field as a finite number >= 0. */
static bool field_real(const char *s, size_t len, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf || isspace((unsigned char)s[0]))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end = NULL;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + len || errno != 0 || !isfinite(v) || v < 0.0)
        return false;
    *out = v;
    return true;
}

bool lr_schedule_parse(const char *text, lr_schedule *out, char *err, size_t cap)
{
    /* Split into at most three ':'-separated fields. */
    const char *field[4] = {NULL};
    size_t len[4] = {0};
    size_t n = 0;
    const char *p = text;
    while (n < 4) {
        const char *colon = strchr(p, ':');
        field[n] = p;
        len[n] = colon ? (size_t)(colon - p) : strlen(p);
        n++;
        if (!colon)
            break;
        p = colon + 1;
    }
    lr_schedule s = {.kind = LR_SCHEDULE_NONE, .gamma = 0.1, .eta_min = 0.0};
    const char *kind = field[0];
    if (len[0] == 4 && strncmp(kind, "none", 4) == 0 && n == 1) {
        *out = s;
        return true;
    }
    if (len[0] == 4 && strncmp(kind, "step", 4) == 0) {
        s.kind = LR_SCHEDULE_STEP;
        if (n < 2 || n > 3) {
            snprintf(err, cap, "expected step:STEP_SIZE[:GAMMA]");
            return false;
        }
        if (!field_size(field[1], len[1], &s.step_size)) {
            snprintf(err, cap, "STEP_SIZE must be an integer of at least 1 (epochs between decays)");
            return false;
        }
        if (n == 3 && !field_real(field[2], len[2], &s.gamma)) {
            snprintf(err, cap, "GAMMA must be a number of at least 0");
            return false;
        }
        *out = s;
        return true;
    }
    if (len[0] == 6 && strncmp(kind, "cosine", 6) == 0) {
        s.kind = LR_SCHEDULE_COSINE;
        if (n > 3) {
            snprintf(err, cap, "expected cosine[:T_MAX[:ETA_MIN]]");
            return false;
        }
        /* An empty T_MAX ("cosine::1e-4") keeps its default, the epoch count. */
        if (n >= 2 && len[1] > 0 && !field_size(field[1], len[1], &s.t_max)) {
            snprintf(err, cap, "T_MAX must be an integer of at least 1 (epochs)");
            return false;
        }
        if (n == 3 && !field_real(field[2], len[2], &s.eta_min)) {
            snprintf(err, cap, "ETA_MIN must be a number of at least 0");
            return false;
        }
        *out = s;
        return true;
    }
    snprintf(err, cap, "expected none, step:STEP_SIZE[:GAMMA] or cosine[:T_MAX[:ETA_MIN]]");
    return false;
}

void lr_schedule_resolve(lr_schedule *s, size_t epochs)
{
    if (s->kind == LR_SCHEDULE_COSINE && s->t_max == 0)
        s->t_max = epochs;
}

void lr_schedule_format(const lr_schedule *s, char *buf, size_t cap)
{
    /* %.17g round-trips a double exactly through strtod. */
    switch (s->kind) {
    case LR_SCHEDULE_STEP:
        snprintf(buf, cap, "step:%zu:%.17g", s->step_size, s->gamma);
        break;
    case LR_SCHEDULE_COSINE:
        snprintf(buf, cap, "cosine:%zu:%.17g", s->t_max, s->eta_min);
        break;
    default:
        snprintf(buf, cap, "none");
        break;
    }
}

double lr_schedule_next(const lr_schedule *s, double base_lr, size_t epoch, double prev_lr)
{
    if (epoch == 0)
        return base_lr;
    switch (s->kind) {
    case LR_SCHEDULE_STEP:
        /* StepLR.get_lr: the previous rate, times gamma on every multiple of step_size. */
        if (epoch % s->step_size != 0)
            return prev_lr;
        return prev_lr * s->gamma;
    case LR_SCHEDULE_COSINE: {
        /* CosineAnnealingLR.get_lr. Beyond t_max the cosine goes on, so the
         * rate climbs back towards base_lr as PyTorch's does. */
        const double e = (double)epoch, t = (double)s->t_max, eta = s->eta_min;
        /* (epoch - 1 - t_max) % (2 t_max) == 0: the epoch after a minimum,
         * where the ratio below would divide by zero. */
        long long k = (long long)epoch - 1 - (long long)s->t_max;
        if (k % (2 * (long long)s->t_max) == 0)
            return prev_lr + (base_lr - eta) * (1 - cos(SCHEDULE_PI / t)) / 2;
        return (1 + cos(SCHEDULE_PI * e / t)) / (1 + cos(SCHEDULE_PI * (e - 1) / t)) *
                   (prev_lr - eta) +
               eta;
    }
    default:
        return prev_lr;
    }
}

double lr_schedule_at(const lr_schedule *s, double base_lr, size_t epoch)
{
    double lr = base_lr;
    for (size_t e = 1; e <= epoch && s->kind != LR_SCHEDULE_NONE; e++)
        lr = lr_schedule_next(s, base_lr, e, lr);
    return lr;
}
