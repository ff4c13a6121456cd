/* Helpers for the io tests: scratch directories and files, and checks on
 * failures and their messages. */
#ifndef CLNN_IO_TEST_H
#define CLNN_IO_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf */
#endif
#include "clnn_test.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A message names the system's reason, then clnn's advice. The reason is
 * checked where it is POSIX's strerror text; on Windows its wording is the
 * system's (and its language's), so only the advice after it is. */
#ifdef _WIN32
#define IO_TEST_REASON(posix_text) ""
#else
#define IO_TEST_REASON(posix_text) posix_text
#endif

/* A fresh empty directory (clnn_test_tmpdir); the caller frees it and
 * removes it with io_test_rmtree. */
static inline char *io_test_tmpdir(void)
{
    char *dir = clnn_test_tmpdir("clnn-io");
    ck_assert_msg(dir != NULL, "cannot make a scratch folder in %s: %s", clnn_test_tmp_base(),
                  strerror(errno));
    return dir;
}

static inline void io_test_rmtree(char *dir)
{
    clnn_test_rmtree(dir);
    free(dir);
}

/* dir/name, malloc'ed. */
static inline char *io_test_path(const char *dir, const char *name)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

static inline void io_test_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* Whole file into a malloc'ed buffer; NULL if it cannot be opened. */
static inline uint8_t *io_test_slurp(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Number of entries in dir other than . and .. */
static inline size_t io_test_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

#endif
