/* The part of Check (https://libcheck.github.io/check/) that clnn's tests
 * use, for systems where Check is not packaged (Windows: see check.c). Same
 * names, same macros, same summary lines; every test runs in this process,
 * as Check's CK_NOFORK mode runs them. A name the tests start to use that is
 * missing here fails to compile, never passes quietly: add it here, with
 * Check's meaning. */
#ifndef CLNN_CHECK_COMPAT_H
#define CLNN_CHECK_COMPAT_H

/* What Check's check.h brings with it, which tests may rely on. */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__MINGW32__)
#include <stdio.h> /* __MINGW_PRINTF_FORMAT: the printf family in use */
#define CK__PRINTF(fmt, args) __attribute__((format(__MINGW_PRINTF_FORMAT, fmt, args)))
#elif defined(__GNUC__)
#define CK__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CK__PRINTF(fmt, args)
#endif
#if defined(__GNUC__)
#define CK__UNUSED __attribute__((unused))
#else
#define CK__UNUSED
#endif

typedef struct TTest {
    const char *name;
    void (*fn)(int);
    const char *file;
    int line;
} TTest;

typedef struct Suite Suite;
typedef struct TCase TCase;
typedef struct SRunner SRunner;

/* CK_FORK asks for a process per test in Check; here it keeps Check's
 * per-test timeout (see tcase_set_timeout), which Check enforces only then. */
enum fork_status { CK_FORK_GETENV, CK_FORK, CK_NOFORK };
enum print_output { CK_NORMAL = 2 };

#define START_TEST(name)                                                                           \
    static void name##_fn(int _i CK__UNUSED);                                                      \
    static const TTest name##_ttest = {#name, name##_fn, __FILE__, __LINE__};                      \
    static const TTest *name = &name##_ttest;                                                      \
    static void name##_fn(int _i CK__UNUSED)
#define END_TEST

Suite *suite_create(const char *name);
void suite_add_tcase(Suite *s, TCase *tc);
TCase *tcase_create(const char *name);
/* Seconds a test of tc may run (0: no limit); $CK_TIMEOUT_MULTIPLIER
 * scales it, and $CK_DEFAULT_TIMEOUT (else 4) is the default. */
void tcase_set_timeout(TCase *tc, double seconds);
void ck__tcase_add(TCase *tc, const TTest *t, int start, int end);
#define tcase_add_test(tc, t) ck__tcase_add((tc), (t), 0, 1)
/* t runs once for each _i in [start, end). */
#define tcase_add_loop_test(tc, t, start, end) ck__tcase_add((tc), (t), (start), (end))

SRunner *srunner_create(Suite *s);
void srunner_set_fork_status(SRunner *sr, enum fork_status status);
void srunner_run_all(SRunner *sr, enum print_output print);
/* The number of failed tests (a failure that ends the program never gets here). */
int srunner_ntests_failed(SRunner *sr);
/* Frees the runner and its suite. */
void srunner_free(SRunner *sr);

/* Records the failure and leaves the test: msg (printf format, or NULL for
 * expr alone) names it. */
_Noreturn void ck__failed(const char *file, int line, const char *expr, const char *msg, ...)
    CK__PRINTF(4, 5);
/* The last place a test passed, which a timeout report names. */
void ck__mark_point(const char *file, int line);

/* ------------------------------------------------------ the assertions */

#define ck_assert_msg(expr, ...)                                                                   \
    ((expr) ? ck__mark_point(__FILE__, __LINE__)                                                   \
            : ck__failed(__FILE__, __LINE__, "Assertion '" #expr "' failed", ##__VA_ARGS__))
#define ck_assert(expr) ck_assert_msg(expr, NULL)
#define ck_abort_msg(...) ck__failed(__FILE__, __LINE__, "Failed", ##__VA_ARGS__)

/* Signed values compare as intmax_t, unsigned ones as uintmax_t (FMT: jd, ju). */
#define ck__assert_integer(X, OP, Y, TP, FMT)                                                      \
    do {                                                                                           \
        TP _ck_x = (X);                                                                            \
        TP _ck_y = (Y);                                                                            \
        ck_assert_msg(_ck_x OP _ck_y, "Assertion '%s' failed: %s == %" FMT ", %s == %" FMT,        \
                      #X " " #OP " " #Y, #X, _ck_x, #Y, _ck_y);                                    \
    } while (0)
#define ck_assert_int_eq(X, Y) ck__assert_integer(X, ==, Y, intmax_t, "jd")
#define ck_assert_int_ne(X, Y) ck__assert_integer(X, !=, Y, intmax_t, "jd")
#define ck_assert_int_lt(X, Y) ck__assert_integer(X, <, Y, intmax_t, "jd")
#define ck_assert_int_le(X, Y) ck__assert_integer(X, <=, Y, intmax_t, "jd")
#define ck_assert_int_gt(X, Y) ck__assert_integer(X, >, Y, intmax_t, "jd")
#define ck_assert_int_ge(X, Y) ck__assert_integer(X, >=, Y, intmax_t, "jd")
#define ck_assert_uint_ne(X, Y) ck__assert_integer(X, !=, Y, uintmax_t, "ju")
#define ck_assert_uint_eq(X, Y) ck__assert_integer(X, ==, Y, uintmax_t, "ju")
#define ck_assert_uint_lt(X, Y) ck__assert_integer(X, <, Y, uintmax_t, "ju")
#define ck_assert_uint_le(X, Y) ck__assert_integer(X, <=, Y, uintmax_t, "ju")
#define ck_assert_uint_gt(X, Y) ck__assert_integer(X, >, Y, uintmax_t, "ju")
#define ck_assert_uint_ge(X, Y) ck__assert_integer(X, >=, Y, uintmax_t, "ju")

/* Printed with 6 significant digits, as Check's CK_FLOATING_DIG. */
#define ck__assert_floating(X, OP, Y, TP)                                                          \
    do {                                                                                           \
        TP _ck_x = (X);                                                                            \
        TP _ck_y = (Y);                                                                            \
        ck_assert_msg(_ck_x OP _ck_y, "Assertion '%s' failed: %s == %.6g, %s == %.6g",             \
                      #X " " #OP " " #Y, #X, (double)_ck_x, #Y, (double)_ck_y);                    \
    } while (0)
/* |Y − X| < T, computed in long double as Check does. */
#define ck__assert_floating_tol(X, Y, T, TP)                                                       \
    do {                                                                                           \
        TP _ck_x = (X);                                                                            \
        TP _ck_y = (Y);                                                                            \
        TP _ck_t = (T);                                                                            \
        ck_assert_msg(fabsl((long double)_ck_y - (long double)_ck_x) < _ck_t,                      \
                      "Assertion '%s' failed: %s == %.6g, %s == %.6g, %s == %.6g",                 \
                      "fabsl(" #Y " - " #X ") < " #T, #X, (double)_ck_x, #Y, (double)_ck_y, #T,    \
                      (double)_ck_t);                                                              \
    } while (0)
#define ck_assert_float_eq(X, Y) ck__assert_floating(X, ==, Y, float)
#define ck_assert_float_le(X, Y) ck__assert_floating(X, <=, Y, float)
#define ck_assert_float_eq_tol(X, Y, T) ck__assert_floating_tol(X, Y, T, float)
#define ck_assert_double_eq(X, Y) ck__assert_floating(X, ==, Y, double)
#define ck_assert_double_lt(X, Y) ck__assert_floating(X, <, Y, double)
#define ck_assert_double_gt(X, Y) ck__assert_floating(X, >, Y, double)
#define ck_assert_double_eq_tol(X, Y, T) ck__assert_floating_tol(X, Y, T, double)

#define ck_assert_str_eq(X, Y)                                                                     \
    do {                                                                                           \
        const char *_ck_x = (X);                                                                   \
        const char *_ck_y = (Y);                                                                   \
        ck_assert_msg(_ck_x &&_ck_y &&strcmp(_ck_y, _ck_x) == 0,                                   \
                      "Assertion '%s' failed: %s == %s%s%s, %s == %s%s%s", #X " == " #Y, #X,       \
                      _ck_x ? "\"" : "", _ck_x ? _ck_x : "(null)", _ck_x ? "\"" : "", #Y,          \
                      _ck_y ? "\"" : "", _ck_y ? _ck_y : "(null)", _ck_y ? "\"" : "");             \
    } while (0)

/* Shows up to 64 bytes of each side in hex, as Check does. */
void ck__hex(const void *p, size_t len, char out[2 * 64 + 1]);
#define ck_assert_mem_eq(X, Y, L)                                                                  \
    do {                                                                                           \
        const void *_ck_x = (X);                                                                   \
        const void *_ck_y = (Y);                                                                   \
        size_t _ck_l = (L);                                                                        \
        char _ck_xs[2 * 64 + 1], _ck_ys[2 * 64 + 1];                                               \
        if (memcmp(_ck_y, _ck_x, _ck_l) != 0) {                                                    \
            ck__hex(_ck_x, _ck_l, _ck_xs);                                                         \
            ck__hex(_ck_y, _ck_l, _ck_ys);                                                         \
            ck_abort_msg("Assertion '%s' failed: %s == \"%s\", %s == \"%s\"", #X " == " #Y, #X,    \
                         _ck_xs, #Y, _ck_ys);                                                      \
        }                                                                                          \
        ck__mark_point(__FILE__, __LINE__);                                                        \
    } while (0)

#define ck_assert_ptr_eq(X, Y)                                                                     \
    do {                                                                                           \
        const void *_ck_x = (X);                                                                   \
        const void *_ck_y = (Y);                                                                   \
        ck_assert_msg(_ck_x == _ck_y, "Assertion '%s' failed: %s == %p, %s == %p", #X " == " #Y,   \
                      #X, _ck_x, #Y, _ck_y);                                                       \
    } while (0)
#define ck__assert_ptr_null(X, OP)                                                                 \
    do {                                                                                           \
        const void *_ck_x = (X);                                                                   \
        ck_assert_msg(_ck_x OP NULL, "Assertion '%s' failed: %s == %p", #X " " #OP " NULL", #X,    \
                      _ck_x);                                                                      \
    } while (0)
#define ck_assert_ptr_null(X) ck__assert_ptr_null(X, ==)
#define ck_assert_ptr_nonnull(X) ck__assert_ptr_null(X, !=)

#endif
