/* Whole-file reads and crash-safe replacement. Tests run as root, where
 * permission bits do not stop writes, so failures are forced with a missing
 * parent directory, a directory in the way, a write failed midway through
 * clnn__atomic_write_fail_after (every system) or a file size limit (POSIX). */
#include "io_test.h"

#include "base/platform.h"

#include <errno.h>
#ifndef _WIN32
#include <signal.h>
#include <sys/resource.h>
#endif

static void write_chunks(const char *path, const char *a, const char *b)
{
    const void *chunks[3] = {a, NULL, b};
    size_t lengths[3] = {strlen(a), 0, strlen(b)};
    ck_assert_clnn_ok(clnn__atomic_write(path, chunks, lengths, 3));
}

static void assert_content(const char *path, const char *want)
{
    size_t len;
    uint8_t *got = io_test_slurp(path, &len);
    ck_assert_msg(got != NULL, "%s is missing", path);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_mem_eq(got, want, len);
    free(got);
}

START_TEST(test_write_and_replace)
{
    char *dir = io_test_tmpdir();
    char *path = io_test_path(dir, "model.bin");
    write_chunks(path, "hello ", "world");
    assert_content(path, "hello world");
    write_chunks(path, "second", "");
    assert_content(path, "second");
    ck_assert_uint_eq(io_test_count_entries(dir), 1);
    /* Nothing at all is a valid file too. */
    ck_assert_clnn_ok(clnn__atomic_write(path, NULL, NULL, 0));
    assert_content(path, "");
    free(path);
    io_test_rmtree(dir);
}
END_TEST

START_TEST(test_relative_path)
{
    char *dir = io_test_tmpdir();
    char back[4096];
    ck_assert_ptr_nonnull(getcwd(back, sizeof back));
    ck_assert_int_eq(chdir(dir), 0);
    write_chunks("rel.bin", "abc", "def");
    assert_content("rel.bin", "abcdef");
    ck_assert_uint_eq(io_test_count_entries("."), 1);
    /* Back out before the removal (Windows cannot remove the current
     * folder), and for the tests after this one in the same process. */
    ck_assert_int_eq(chdir(back), 0);
    io_test_rmtree(dir);
}
END_TEST

/* POSIX permission bits: Windows files have access control lists and no
 * umask, so this one is compiled on POSIX systems only. */
#ifndef _WIN32
START_TEST(test_mode_follows_umask)
{
    char *dir = io_test_tmpdir();
    char *path = io_test_path(dir, "m.bin");
    struct stat sb;
    umask(022);
    write_chunks(path, "x", "");
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0644);
    umask(077);
    write_chunks(path, "y", "");
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    free(path);
    io_test_rmtree(dir);
}
END_TEST
#endif

START_TEST(test_missing_parent)
{
    char *dir = io_test_tmpdir();
    char *path = io_test_path(dir, "no/such/model.bin");
    const void *chunks[1] = {"x"};
    size_t lengths[1] = {1};
    ck_assert_fails_with(clnn__atomic_write(path, chunks, lengths, 1), CLNN_ERR_IO, path);
    ck_assert_msg(
        strstr(clnn_last_error(),
               IO_TEST_REASON("No such file or directory") "; create the directory first") != NULL,
        "%s", clnn_last_error());
    ck_assert_uint_eq(io_test_count_entries(dir), 0);
    free(path);
    io_test_rmtree(dir);
}
END_TEST

START_TEST(test_directory_in_the_way)
{
    char *dir = io_test_tmpdir();
    char *path = io_test_path(dir, "model.bin");
    ck_assert_int_eq(clnn_test_mkdir(path), 0);
    char *inside = io_test_path(path, "keep");
    io_test_write(inside, "old", 3);
    const void *chunks[1] = {"new"};
    size_t lengths[1] = {3};
    ck_assert_fails_with(clnn__atomic_write(path, chunks, lengths, 1), CLNN_ERR_IO,
                         IO_TEST_REASON("Is a directory") "; the path is a directory");
    assert_content(inside, "old");
    ck_assert_uint_eq(io_test_count_entries(dir), 1); /* the temporary file is gone */
    ck_assert_uint_eq(io_test_count_entries(path), 1);
    free(inside);
    free(path);
    io_test_rmtree(dir);
}
END_TEST

/* A write that fails midway (the disk full after 5 bytes, in the second of
 * three chunks) leaves the earlier file as it was and no temporary file;
 * the next write, with the disk back, replaces it. */
START_TEST(test_failed_midway_keeps_old_file)
{
    char *dir = io_test_tmpdir();
    char *path = io_test_path(dir, "model.bin");
    write_chunks(path, "precious", " data");

    const void *chunks[3] = {"new", "er content", " here"};
    size_t lengths[3] = {3, 10, 5};
    clnn__atomic_write_fail_after(5);
    clnn_status st = clnn__atomic_write(path, chunks, lengths, 3);
    clnn__atomic_write_fail_after(SIZE_MAX);
    ck_assert_fails_with(st, CLNN_ERR_IO, "cannot write '");
    ck_assert_msg(strstr(clnn_last_error(), path) != NULL, "%s", clnn_last_error());
    ck_assert_msg(strstr(clnn_last_error(), "; free disk space or choose another path") != NULL,
                  "%s", clnn_last_error());
    assert_content(path, "precious data");
    ck_assert_uint_eq(io_test_count_entries(dir), 1);

    ck_assert_clnn_ok(clnn__atomic_write(path, chunks, lengths, 3));
    assert_content(path, "newer content here");
    ck_assert_uint_eq(io_test_count_entries(dir), 1);
    free(path);
    io_test_rmtree(dir);
}
END_TEST

/* The same, with the failure coming from the system: a file size limit
 * (RLIMIT_FSIZE, which Windows lacks), so compiled on POSIX systems only. */
#ifndef _WIN32
START_TEST(test_failed_write_keeps_old_file)
{
    char *dir = io_test_tmpdir();
    char *path = io_test_path(dir, "model.bin");
    write_chunks(path, "precious", " data");

    /* Lower only the soft limit and restore it straight after the write, so
     * that later tests are unaffected when they share this process (Check
     * without fork, as under valgrind or with CK_FORK=no). */
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN); /* EFBIG instead of a kill */
    struct rlimit old;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    struct rlimit lim = {4096, old.rlim_max};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    size_t big = 1 << 20;
    char *payload = calloc(1, big);
    const void *chunks[1] = {payload};
    size_t lengths[1] = {big};
    clnn_status st = clnn__atomic_write(path, chunks, lengths, 1);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    ck_assert_fails_with(st, CLNN_ERR_IO, "cannot write '");
    ck_assert_msg(strstr(clnn_last_error(), strerror(EFBIG)) != NULL, "%s", clnn_last_error());
    assert_content(path, "precious data");
    ck_assert_uint_eq(io_test_count_entries(dir), 1);
    free(payload);
    free(path);
    io_test_rmtree(dir);
}
END_TEST
#endif

START_TEST(test_bad_arguments)
{
    ck_assert_fails_with(clnn__atomic_write(NULL, NULL, NULL, 0), CLNN_ERR_INVALID_ARGUMENT,
                         "path is empty");
    ck_assert_fails_with(clnn__atomic_write("", NULL, NULL, 0), CLNN_ERR_INVALID_ARGUMENT,
                         "path is empty");
    ck_assert_fails_with(clnn__atomic_write("x", NULL, NULL, 1), CLNN_ERR_INVALID_ARGUMENT,
                         "no data");
    uint8_t *data;
    size_t len;
    ck_assert_fails_with(clnn__read_file("", &data, &len), CLNN_ERR_INVALID_ARGUMENT,
                         "path is empty");
}
END_TEST

START_TEST(test_read_file)
{
    char *dir = io_test_tmpdir();
    char *path = io_test_path(dir, "f.bin");
    uint8_t *data;
    size_t len;

    errno = 0;
    ck_assert_fails_with(clnn__read_file(path, &data, &len), CLNN_ERR_IO, path);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_ptr_null(data);
    ck_assert_msg(strstr(clnn_last_error(),
                         IO_TEST_REASON("No such file or directory") "; check the path") != NULL,
                  "%s", clnn_last_error());
    ck_assert_fails_with(clnn__read_file(dir, &data, &len), CLNN_ERR_IO,
                         IO_TEST_REASON("Is a directory") "; give the path of a file");
    ck_assert_int_eq(errno, EISDIR);

    io_test_write(path, "", 0);
    ck_assert_clnn_ok(clnn__read_file(path, &data, &len));
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_nonnull(data);
    free(data);

    size_t big = 3 * 65536 + 17;
    uint8_t *payload = malloc(big);
    for (size_t i = 0; i < big; i++)
        payload[i] = (uint8_t)(i * 31 + 7);
    io_test_write(path, payload, big);
    ck_assert_clnn_ok(clnn__read_file(path, &data, &len));
    ck_assert_uint_eq(len, big);
    ck_assert_mem_eq(data, payload, big);
    free(data);
    free(payload);

#ifdef __linux__
    /* Files whose size stat cannot tell (procfs reports 0) are read whole.
     * (Linux's procfs; Windows has no such files.) */
    ck_assert_clnn_ok(clnn__read_file("/proc/self/status", &data, &len));
    ck_assert_uint_gt(len, 0);
    free(data);
#endif
    free(path);
    io_test_rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io-atomic-file");
    TCase *tc = tcase_create("atomic_file");
    tcase_add_test(tc, test_write_and_replace);
    tcase_add_test(tc, test_relative_path);
#ifndef _WIN32
    tcase_add_test(tc, test_mode_follows_umask);
#endif
    tcase_add_test(tc, test_missing_parent);
    tcase_add_test(tc, test_directory_in_the_way);
    tcase_add_test(tc, test_failed_midway_keeps_old_file);
#ifndef _WIN32
    tcase_add_test(tc, test_failed_write_keeps_old_file);
#endif
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_read_file);
    suite_add_tcase(s, tc);
    return clnn_test_run(s);
}
