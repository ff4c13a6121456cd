/* What the tests need from the system beyond the C library, on Linux and
 * Windows alike: scratch folders, removing them, making a folder, and on
 * Windows the POSIX environment calls it lacks (setenv, unsetenv), defined
 * here with POSIX's meaning. The library's own platform layer
 * (src/base/platform.h) serves the library; this serves only the tests. */
#ifndef CLNN_TEST_OS_H
#define CLNN_TEST_OS_H

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef _WIN32
#include <direct.h>
#include <process.h>

/* _putenv_s changes the C runtime's copy and the process environment
 * (GetEnvironmentVariableW, which clnn__env reads) together. Windows keeps
 * no empty variables: an empty value unsets, where POSIX would keep "". */
static inline int setenv(const char *name, const char *value, int overwrite)
{
    if (!overwrite && getenv(name))
        return 0;
    return _putenv_s(name, value) == 0 ? 0 : -1;
}

static inline int unsetenv(const char *name)
{
    return _putenv_s(name, "") == 0 ? 0 : -1;
}
#endif

/* Make one folder (POSIX mode 0755; Windows has no mode bits). */
static inline int clnn_test_mkdir(const char *path)
{
#ifdef _WIN32
    return _mkdir(path);
#else
    return mkdir(path, 0755);
#endif
}

static inline void clnn_test_sleep_ms(unsigned ms)
{
#ifdef _WIN32
    usleep(ms * 1000u); /* MinGW's, a Sleep() */
#else
    struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        continue;
#endif
}

/* The folder scratch files go in: $TMPDIR, else %TEMP% on Windows, else /tmp. */
static inline const char *clnn_test_tmp_base(void)
{
    const char *base = getenv("TMPDIR");
#ifdef _WIN32
    if (!base || !*base)
        base = getenv("TEMP");
#endif
    return base && *base ? base : "/tmp";
}

/* A new empty folder BASE/PREFIX-XXXXXX (BASE from clnn_test_tmp_base),
 * malloc'ed; NULL with errno set when it cannot be made. */
static inline char *clnn_test_tmpdir(const char *prefix)
{
    const char *base = clnn_test_tmp_base();
    size_t n = strlen(base) + strlen(prefix) + sizeof "/-XXXXXX";
    char *dir = malloc(n);
    if (!dir)
        return NULL;
    snprintf(dir, n, "%s/%s-XXXXXX", base, prefix);
#ifdef _WIN32
    /* No mkdtemp: try names until one is new. */
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    static unsigned counter;
    uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)_getpid() << 32) ^ ++counter;
    for (int attempt = 0; attempt < 1000; attempt++) {
        for (size_t i = n - 7; i < n - 1; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            dir[i] = alphabet[(x >> 33) % (sizeof alphabet - 1)];
        }
        if (_mkdir(dir) == 0)
            return dir;
        if (errno != EEXIST)
            break;
    }
    free(dir);
    return NULL;
#else
    if (mkdtemp(dir))
        return dir;
    free(dir);
    return NULL;
#endif
}

static inline int clnn_test_rm_entry(const char *path, const struct stat *sb, int type,
                                     struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    /* Windows's remove() takes files only. */
    return type == FTW_DP ? rmdir(path) : remove(path);
}

/* Remove dir and everything in it (symbolic links, not what they point to). */
static inline void clnn_test_rmtree(const char *dir)
{
    if (dir)
        nftw(dir, clnn_test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
