/* Shared helpers for the Check test programs. */
#ifndef CLNN_TEST_H
#define CLNN_TEST_H

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clnn.h"
#include "clnn_test_os.h"

/* meson treats exit code 77 as SKIP. */
#define CLNN_TEST_SKIP 77

/* The GEMM backends of this build, for the tests that run with each:
 * CLBlast where it is built in (CLNN_HAVE_CLBLAST, seen by the tests that
 * link the internal objects; meson -Dclblast, and never in a Windows build,
 * for which there is no CLBlast to build against), clnn's own kernels
 * always. A build without CLBlast has no CLBlast variants to run; in a build
 * with it, a CLBlast that does not load fails them. */
#ifdef CLNN_HAVE_CLBLAST
#define CLNN_TEST_BACKENDS 2
#else
#define CLNN_TEST_BACKENDS 1
#endif
static const clnn_gemm_backend clnn_test_backends[CLNN_TEST_BACKENDS] = {
#ifdef CLNN_HAVE_CLBLAST
    CLNN_GEMM_CLBLAST,
#endif
    CLNN_GEMM_OWN};

/* Fail the test with the library's message when a call does not return OK. */
#define ck_assert_clnn_ok(expr)                                                                    \
    do {                                                                                           \
        clnn_status st_ = (expr);                                                                  \
        ck_assert_msg(st_ == CLNN_OK, "%s returned %s: %s", #expr, clnn_status_name(st_),          \
                      clnn_last_error());                                                          \
    } while (0)

/* Expect expr to fail with status and a message containing substr. */
#define ck_assert_fails_with(expr, status, substr)                                                 \
    do {                                                                                           \
        clnn_status st_ = (expr);                                                                  \
        ck_assert_msg(st_ == (status), "%s returned %s (%s), expected %s", #expr,                  \
                      clnn_status_name(st_), clnn_last_error(), clnn_status_name(status));         \
        ck_assert_msg(strstr(clnn_last_error(), (substr)) != NULL,                                 \
                      "%s: message \"%s\" lacks \"%s\"", #expr, clnn_last_error(), (substr));      \
    } while (0)

/* Exit with SKIP when no OpenCL device exists; call first in main() of tests
 * that need one. CLNN_TEST_REQUIRE_DEVICE=1 turns the skip into a failure (CI). */
static bool clnn_test_device_probed;

static inline void clnn_test_require_device(void)
{
    clnn_test_device_probed = true;
    size_t n = 0;
    if (clnn_device_count(&n) == CLNN_OK && n > 0)
        return;
    const char *req = getenv("CLNN_TEST_REQUIRE_DEVICE");
    fprintf(stderr, "no OpenCL device: %s\n", clnn_last_error());
    exit(req && *req == '1' ? 1 : CLNN_TEST_SKIP);
}

/* A context on the default test device ($CLNN_DEVICE, else the first). */
static inline clnn_context *clnn_test_context(void)
{
    clnn_context_options o;
    clnn_context_options_init(&o);
    clnn_context *ctx = NULL;
    clnn_status st = clnn_context_create(&o, &ctx);
    ck_assert_msg(st == CLNN_OK, "clnn_context_create: %s", clnn_last_error());
    return ctx;
}

/* The context's profile table: clnn_context_profile_read, then each entry
 * copied by index into an array the caller frees (*count entries). */
static inline clnn_profile_entry *clnn_test_profile(clnn_context *ctx, size_t *count)
{
    ck_assert_clnn_ok(clnn_context_profile_read(ctx, count));
    clnn_profile_entry *e = calloc(*count ? *count : 1, sizeof *e);
    ck_assert_ptr_nonnull(e);
    for (size_t i = 0; i < *count; i++) {
        e[i].struct_size = sizeof e[i];
        ck_assert_clnn_ok(clnn_context_profile_entry(ctx, i, &e[i]));
    }
    return e;
}

/* Run one suite, print Check's summary, return the process exit code.
 * Once OpenCL is started, tests run in this process: an implementation
 * started before a fork (PoCL's worker threads) does not survive into the
 * child, so Check's per-test fork would hang. Host-only tests keep it;
 * in_process asks for this process for suites whose tests start OpenCL. */
static inline int clnn_test_run_in(Suite *s, bool in_process)
{
    SRunner *sr = srunner_create(s);
    if (in_process || clnn_test_device_probed)
        srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

static inline int clnn_test_run(Suite *s)
{
    return clnn_test_run_in(s, false);
}

#endif
