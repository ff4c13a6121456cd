/* Whole-file reads and crash-safe whole-file writes (POSIX). */
#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What a user can do about errno when writing path. */
static const char *write_hint(int err)
{
    switch (err) {
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
        return "free disk space or choose another path";
    case EACCES:
    case EPERM:
        return "check the permissions of the directory or choose another path";
    case EROFS:
        return "the file system is read-only; choose another path";
    case ENOENT:
        return "create the directory first or choose another path";
    case ENOTDIR:
        return "a component of the path is not a directory; choose another path";
    case EISDIR:
        return "the path is a directory; give a file name inside it";
    case ENAMETOOLONG:
        return "choose a shorter path";
    default:
        return "check the path and the disk";
    }
}

static clnn_status write_error(const char *path, int err)
{
    return clnn__fail(CLNN_ERR_IO, "cannot write '%s': %s; %s", path, strerror(err),
                      write_hint(err));
}

/* Create path.tmp-XXXXXX exclusively. mkstemp is not used because it
 * creates the file 0600; a saved model should get the usual 0666 & ~umask
 * like any other output, and umask cannot be read without changing it. */
static int create_temp(const char *path, char **tmp_out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static atomic_uint_fast64_t counter;
    size_t n = strlen(path);
    char *tmp = malloc(n + sizeof ".tmp-XXXXXX");
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    clnn__rng rng;
    clnn__rng_seed(&rng, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
                   ((uint64_t)getpid() << 32) ^ atomic_fetch_add(&counter, 1));
    for (int attempt = 0; attempt < 100; attempt++) {
        for (size_t i = 0; i < 6; i++)
            tmp[n + 5 + i] = alphabet[clnn__rng_below(&rng, sizeof alphabet - 1)];
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            *tmp_out = tmp;
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    int err = errno;
    free(tmp);
    errno = err;
    return -1;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Make the rename itself durable. Some file systems cannot sync a
 * directory (EINVAL); the data is in place regardless, so that is no error. */
static int sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (!dir) {
        errno = ENOMEM;
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return 0;
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0 && (err == EINVAL || err == ENOTSUP || err == EBADF))
        return 0;
    errno = err;
    return rc;
}

clnn_status clnn__atomic_write(const char *path, const void *const *chunks, const size_t *lengths,
                               size_t count)
{
    if (!path || !*path)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "cannot write a file: the path is empty");
    if (count && (!chunks || !lengths))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "cannot write '%s': no data given", path);

    char *tmp = NULL;
    int fd = create_temp(path, &tmp);
    if (fd < 0)
        return write_error(path, errno);

    int failed = 0;
    for (size_t i = 0; i < count && !failed; i++)
        if (lengths[i] && write_all(fd, chunks[i], lengths[i]) != 0)
            failed = 1;
    if (!failed && fsync(fd) != 0)
        failed = 1;
    int err = errno;
    /* close can report a deferred write error (NFS), so it counts too. */
    if (close(fd) != 0 && !failed) {
        failed = 1;
        err = errno;
    }
    if (!failed && rename(tmp, path) != 0) {
        failed = 1;
        err = errno;
    }
    if (failed) {
        unlink(tmp);
        free(tmp);
        return write_error(path, err);
    }
    free(tmp);
    if (sync_parent(path) != 0)
        return clnn__fail(CLNN_ERR_IO,
                          "wrote '%s' but could not flush its directory: %s; the file may not "
                          "survive a crash, check the disk",
                          path, strerror(errno));
    return CLNN_OK;
}

static const char *read_hint(int err)
{
    switch (err) {
    case ENOENT:
        return "check the path";
    case EACCES:
    case EPERM:
        return "check the file's permissions";
    case EISDIR:
        return "give the path of a file, not of a directory";
    default:
        return "check the path and the disk";
    }
}

/* Fail with a message and leave errno as the failed call set it, so callers
 * can tell a missing file from other errors. */
static clnn_status read_error(const char *path, int err)
{
    clnn_status st = clnn__fail(CLNN_ERR_IO, "cannot read '%s': %s; %s", path, strerror(err),
                                read_hint(err));
    errno = err;
    return st;
}

clnn_status clnn__read_file(const char *path, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (!path || !*path)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "cannot read a file: the path is empty");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return read_error(path, errno);
    struct stat sb;
    int err = fstat(fd, &sb) != 0 ? errno : S_ISDIR(sb.st_mode) ? EISDIR : 0;
    if (err) {
        close(fd);
        return read_error(path, err);
    }
    /* st_size is a hint only: pipes report 0 and files can grow. */
    size_t cap = S_ISREG(sb.st_mode) && sb.st_size > 0 ? (size_t)sb.st_size + 1 : 65536;
    if (S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size >= SIZE_MAX) {
        close(fd);
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "cannot read '%s': too large for memory", path);
    }
    uint8_t *buf = malloc(cap);
    size_t n = 0;
    for (;;) {
        if (!buf) {
            close(fd);
            return clnn__fail(CLNN_ERR_OUT_OF_MEMORY,
                              "cannot read '%s': out of host memory for %zu bytes", path, cap);
        }
        if (n == cap) {
            size_t ncap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
            uint8_t *grown = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!grown)
                free(buf);
            buf = grown;
            cap = ncap;
            continue;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            free(buf);
            close(fd);
            return read_error(path, err);
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = n;
    return CLNN_OK;
}
