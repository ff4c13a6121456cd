/* The Check-compatible runner (see check.h). Check is not packaged for
 * MinGW, so the Windows build of the tests links this instead; on Linux,
 * meson -Dcheck_compat=true builds them against it too, which is how it is
 * checked against Check itself.
 *
 * Tests run in this process, one after another, as Check runs them without
 * fork (its only mode on Windows): a failed assertion records the failure
 * and jumps back to the runner, which goes on with the next test. What
 * fork would contain, this cannot: a failed assertion on a thread the test
 * started, or a test that runs past its timeout, ends the whole program
 * with a failure (the report names the test), never a pass. The output is
 * Check's CK_NORMAL output: "Running suite(s): NAME", then
 * "P%: Checks: N, Failures: F, Errors: E", then one line per failure,
 * FILE:LINE:F:TCASE:TEST:ITERATION: MESSAGE. */
#include "check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <pthread.h>
#include <time.h>
#endif

typedef struct entry {
    const TTest *test;
    int start, end;
} entry;

struct TCase {
    const char *name;
    double timeout; /* seconds, 0: none */
    entry *entries;
    size_t count;
    TCase *next;
};

struct Suite {
    const char *name;
    TCase *first, *last;
};

struct SRunner {
    Suite *suite;
    enum fork_status fork;
    int checks, failures;
    char **lines; /* a report line per failure or error */
    size_t nlines;
};

static void *must_alloc(void *p)
{
    if (!p) {
        fputs("check: out of memory\n", stderr);
        exit(EXIT_FAILURE);
    }
    return p;
}

/* ------------------------------------------------------------- building */

Suite *suite_create(const char *name)
{
    Suite *s = must_alloc(calloc(1, sizeof *s));
    s->name = name;
    return s;
}

void suite_add_tcase(Suite *s, TCase *tc)
{
    if (s->last)
        s->last->next = tc;
    else
        s->first = tc;
    s->last = tc;
}

/* Check reads the environment as strtod does; bad values count as unset. */
static double env_seconds(const char *name, double otherwise)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return otherwise;
    char *end;
    double d = strtod(v, &end);
    return *end == '\0' && d >= 0 ? d : otherwise;
}

static double scaled(double seconds)
{
    return seconds * env_seconds("CK_TIMEOUT_MULTIPLIER", 1.0);
}

TCase *tcase_create(const char *name)
{
    TCase *tc = must_alloc(calloc(1, sizeof *tc));
    tc->name = name;
    tc->timeout = scaled(env_seconds("CK_DEFAULT_TIMEOUT", 4.0));
    return tc;
}

void tcase_set_timeout(TCase *tc, double seconds)
{
    if (seconds >= 0)
        tc->timeout = scaled(seconds);
}

void ck__tcase_add(TCase *tc, const TTest *t, int start, int end)
{
    tc->entries = must_alloc(realloc(tc->entries, (tc->count + 1) * sizeof *tc->entries));
    tc->entries[tc->count++] = (entry){t, start, end};
}

SRunner *srunner_create(Suite *s)
{
    SRunner *sr = must_alloc(calloc(1, sizeof *sr));
    sr->suite = s;
    sr->fork = CK_FORK_GETENV;
    return sr;
}

void srunner_set_fork_status(SRunner *sr, enum fork_status status)
{
    sr->fork = status;
}

/* ------------------------------------------------------- the running test */

static struct {
    SRunner *runner;
    const TCase *tcase;
    const TTest *test;
    int iteration;
    jmp_buf back;
} current;
static _Thread_local bool on_runner_thread;
static _Atomic(const char *) mark_file;
static atomic_int mark_line;

void ck__mark_point(const char *file, int line)
{
    atomic_store_explicit(&mark_file, file, memory_order_relaxed);
    atomic_store_explicit(&mark_line, line, memory_order_relaxed);
}

static char *format(const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *s = must_alloc(malloc(n > 0 ? (size_t)n + 1 : 1));
    if (n > 0)
        vsnprintf(s, (size_t)n + 1, fmt, again);
    else
        *s = '\0';
    va_end(again);
    return s;
}

static char *report_line(const char *file, int line, char kind, const char *prefix, const char *msg)
{
    const char *fmt = "%s:%d:%c:%s:%s:%d: %s%s";
    const char *tc = current.tcase ? current.tcase->name : "(none)";
    const char *test = current.test ? current.test->name : "(none)";
    int n = snprintf(NULL, 0, fmt, file, line, kind, tc, test, current.iteration, prefix, msg);
    char *s = must_alloc(malloc((size_t)n + 1));
    snprintf(s, (size_t)n + 1, fmt, file, line, kind, tc, test, current.iteration, prefix, msg);
    return s;
}

void ck__failed(const char *file, int line, const char *expr, const char *msg, ...)
{
    char *text;
    if (msg) {
        va_list ap;
        va_start(ap, msg);
        text = format(msg, ap);
        va_end(ap);
    } else {
        text = must_alloc(malloc(strlen(expr) + 1));
        strcpy(text, expr);
    }
    char *report = report_line(file, line, 'F', "", text);
    free(text);
    if (on_runner_thread && current.runner) {
        SRunner *sr = current.runner;
        sr->lines = must_alloc(realloc(sr->lines, (sr->nlines + 1) * sizeof *sr->lines));
        sr->lines[sr->nlines++] = report;
        sr->failures++;
        longjmp(current.back, 1);
    }
    /* No way back to the runner from here: end the program, failed. */
    fflush(stdout);
    fprintf(stderr, "%s\n%s\n", report,
            current.runner ? "check: the assertion failed on a thread the test started; the run "
                             "ends here"
                           : "check: the assertion failed outside a test; the program ends here");
    fflush(stderr);
    _Exit(EXIT_FAILURE);
}

void ck__hex(const void *p, size_t len, char out[2 * 64 + 1])
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = p;
    size_t n = len > 64 ? 64 : len;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
    if (n < len) /* cut short: the last byte shown becomes "..", as in Check */
        out[2 * n - 2] = out[2 * n - 1] = '.';
}

/* -------------------------------------------------------------- timeouts */

/* A watchdog thread ends the program when a test runs past its deadline
 * (milliseconds on a monotonic clock; 0: none). */
static atomic_llong deadline_ms;
static atomic_bool watchdog_stop;

static long long now_ms(void)
{
#ifdef _WIN32
    return (long long)GetTickCount64();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

static void nap(void)
{
#ifdef _WIN32
    Sleep(50);
#else
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
#endif
}

static void watch(void)
{
    while (!atomic_load(&watchdog_stop)) {
        nap();
        long long d = atomic_load(&deadline_ms);
        if (d == 0 || now_ms() <= d)
            continue;
        const char *file = atomic_load(&mark_file);
        int line = atomic_load(&mark_line);
        if (!file) {
            file = current.test->file;
            line = current.test->line;
        }
        char *report = report_line(file, line, 'E', "(after this point) ", "Test timeout expired");
        fflush(stdout);
        fprintf(stderr, "%s\ncheck: the run ends here (tests share this process)\n", report);
        fflush(stderr);
        _Exit(EXIT_FAILURE);
    }
}

#ifdef _WIN32
static DWORD WINAPI watch_thread(void *arg)
{
    (void)arg;
    watch();
    return 0;
}
#else
static void *watch_thread(void *arg)
{
    (void)arg;
    watch();
    return NULL;
}
#endif

/* --------------------------------------------------------------- running */

/* Check's choice: the runner's setting, else CK_FORK=no in the environment
 * means no fork. */
static bool forking(const SRunner *sr)
{
    if (sr->fork != CK_FORK_GETENV)
        return sr->fork == CK_FORK;
    const char *env = getenv("CK_FORK");
    return !(env && strcmp(env, "no") == 0);
}

static void run_one(SRunner *sr, const TCase *tc, const TTest *t, int i, bool timed)
{
    current.tcase = tc;
    current.test = t;
    current.iteration = i;
    atomic_store(&mark_file, NULL);
    if (timed && tc->timeout > 0)
        atomic_store(&deadline_ms, now_ms() + (long long)(tc->timeout * 1000.0));
    sr->checks++;
    if (setjmp(current.back) == 0)
        t->fn(i);
    atomic_store(&deadline_ms, 0);
}

void srunner_run_all(SRunner *sr, enum print_output print)
{
    (void)print; /* CK_NORMAL, the one the tests use */
    printf("Running suite(s): %s\n", sr->suite->name);
    fflush(stdout);
    bool timed = forking(sr);
    bool watching = false;
#ifdef _WIN32
    HANDLE watcher = NULL;
#else
    pthread_t watcher;
#endif
    if (timed) {
        atomic_store(&watchdog_stop, false);
#ifdef _WIN32
        watcher = CreateThread(NULL, 0, watch_thread, NULL, 0, NULL);
        watching = watcher != NULL;
#else
        watching = pthread_create(&watcher, NULL, watch_thread, NULL) == 0;
#endif
        if (!watching) {
            fputs("check: cannot start the timeout watchdog thread\n", stderr);
            exit(EXIT_FAILURE);
        }
    }
    on_runner_thread = true;
    current.runner = sr;
    for (const TCase *tc = sr->suite->first; tc; tc = tc->next)
        for (size_t e = 0; e < tc->count; e++)
            for (int i = tc->entries[e].start; i < tc->entries[e].end; i++)
                run_one(sr, tc, tc->entries[e].test, i, timed);
    current.runner = NULL;
    current.tcase = NULL;
    current.test = NULL;
    if (watching) {
        atomic_store(&watchdog_stop, true);
#ifdef _WIN32
        WaitForSingleObject(watcher, INFINITE);
        CloseHandle(watcher);
#else
        pthread_join(watcher, NULL);
#endif
    }

    /* Errors (a timeout; a signal ends the program as in Check without
     * fork) never come back here, so there are none to count. */
    int percent = sr->failures == 0
                      ? 100
                      : (int)((float)(sr->checks - sr->failures) / (float)sr->checks * 100);
    printf("%d%%: Checks: %d, Failures: %d, Errors: 0\n", percent, sr->checks, sr->failures);
    for (size_t i = 0; i < sr->nlines; i++)
        printf("%s\n", sr->lines[i]);
    fflush(stdout);
}

int srunner_ntests_failed(SRunner *sr)
{
    return sr->failures;
}

void srunner_free(SRunner *sr)
{
    if (!sr)
        return;
    for (TCase *tc = sr->suite->first, *next; tc; tc = next) {
        next = tc->next;
        free(tc->entries);
        free(tc);
    }
    free(sr->suite);
    for (size_t i = 0; i < sr->nlines; i++)
        free(sr->lines[i]);
    free(sr->lines);
    free(sr);
}
