/* The platform layer on POSIX systems: Linux and macOS (see platform.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#define _DARWIN_C_SOURCE 1 /* F_FULLFSYNC */
#endif

#include "base/platform.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------- threads */

clnn_status clnn__mutex_init(clnn__mutex *m)
{
    if (pthread_mutex_init(&m->m, NULL) != 0)
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "cannot create a mutex: out of resources");
    return CLNN_OK;
}

void clnn__mutex_destroy(clnn__mutex *m)
{
    pthread_mutex_destroy(&m->m);
}

void clnn__mutex_lock(clnn__mutex *m)
{
    pthread_mutex_lock(&m->m);
}

void clnn__mutex_unlock(clnn__mutex *m)
{
    pthread_mutex_unlock(&m->m);
}

void clnn__call_once(clnn__once *once, void (*fn)(void))
{
    pthread_once(&once->o, fn);
}

clnn_status clnn__cond_init(clnn__cond *c)
{
    if (pthread_cond_init(&c->c, NULL) != 0)
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY,
                          "cannot create a condition variable: out of resources");
    return CLNN_OK;
}

void clnn__cond_destroy(clnn__cond *c)
{
    pthread_cond_destroy(&c->c);
}

void clnn__cond_wait(clnn__cond *c, clnn__mutex *m)
{
    pthread_cond_wait(&c->c, &m->m);
}

void clnn__cond_broadcast(clnn__cond *c)
{
    pthread_cond_broadcast(&c->c);
}

typedef struct thread_start {
    void (*fn)(void *);
    void *arg;
} thread_start;

static void *thread_main(void *p)
{
    thread_start s = *(thread_start *)p;
    free(p);
    s.fn(s.arg);
    return NULL;
}

clnn_status clnn__thread_start(clnn__thread *t, void (*fn)(void *), void *arg)
{
    thread_start *s = clnn__malloc(sizeof *s);
    if (!s)
        return CLNN_ERR_OUT_OF_MEMORY;
    s->fn = fn;
    s->arg = arg;
    int err = pthread_create(&t->t, NULL, thread_main, s);
    if (err != 0) {
        free(s);
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "cannot start a thread: %s", strerror(err));
    }
    return CLNN_OK;
}

void clnn__thread_join(clnn__thread *t)
{
    pthread_join(t->t, NULL);
}

/* ----------------------------------------------------------- time, ids */

double clnn__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint64_t clnn__wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t clnn__process_id(void)
{
    return (uint64_t)getpid();
}

/* ---------------------------------------------------------- environment */

const char *clnn__env(const char *name, char *buf, size_t cap)
{
    const char *v = getenv(name);
    if (!v || !*v || cap == 0)
        return NULL;
    size_t n = strlen(v);
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    return buf;
}

bool clnn__env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

/* ------------------------------------------------------- shared objects */

void *clnn__library_open(const char *name, char *why, size_t why_cap)
{
    void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!lib && why_cap) {
        const char *e = dlerror();
        snprintf(why, why_cap, "%s", e ? e : "cannot be loaded");
    }
    return lib;
}

void *clnn__library_symbol(void *library, const char *name)
{
    return dlsym(library, name);
}

void clnn__library_close(void *library)
{
    if (library)
        dlclose(library);
}

/* ----------------------------------------------------------------- files */

FILE *clnn__fopen(const char *path, const char *mode)
{
    return fopen(path, mode);
}

/* What a user can do about errno when writing path. */
static const char *write_hint(int err)
{
    switch (err) {
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
    case EFBIG:
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

static atomic_size_t fail_after = SIZE_MAX;

void clnn__atomic_write_fail_after(size_t bytes)
{
    atomic_store(&fail_after, bytes);
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
    clnn__rng rng;
    clnn__rng_seed(&rng, clnn__wall_ns(),
                   (clnn__process_id() << 32) ^ atomic_fetch_add(&counter, 1));
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

static int write_all(int fd, const uint8_t *p, size_t len, size_t *budget)
{
    while (len) {
        size_t want = len < *budget ? len : *budget;
        if (want == 0) {
            errno = ENOSPC; /* clnn__atomic_write_fail_after */
            return -1;
        }
        ssize_t w = write(fd, p, want);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
        if (*budget != SIZE_MAX)
            *budget -= (size_t)w;
    }
    return 0;
}

/* Flush the file's data to the disk. macOS's fsync reaches only the drive's
 * cache; F_FULLFSYNC asks the drive to write it out, where supported. */
static int sync_file(int fd)
{
#ifdef F_FULLFSYNC
    if (fcntl(fd, F_FULLFSYNC) == 0)
        return 0;
#endif
    return fsync(fd);
}

/* Make the rename itself durable. Some file systems cannot sync a
 * directory (EINVAL); the data is in place regardless, so that is no error. */
static int sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(dir, !slash ? "." : path, n);
    dir[n] = '\0';
#ifdef O_DIRECTORY
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
#else
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
#endif
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

    size_t budget = atomic_load(&fail_after);
    int failed = 0;
    for (size_t i = 0; i < count && !failed; i++)
        if (lengths[i] && write_all(fd, chunks[i], lengths[i], &budget) != 0)
            failed = 1;
    if (!failed && sync_file(fd) != 0)
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
    if (S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size >= SIZE_MAX) {
        close(fd);
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "cannot read '%s': too large for memory", path);
    }
    size_t cap = S_ISREG(sb.st_mode) && sb.st_size > 0 ? (size_t)sb.st_size + 1 : 65536;
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

bool clnn__file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static clnn_status mkdir_one(const char *path)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST)
        return CLNN_OK;
    return clnn__fail(CLNN_ERR_IO, "cannot create the folder '%s': %s; %s", path, strerror(errno),
                      write_hint(errno));
}

clnn_status clnn__mkdirs(const char *path)
{
    size_t n = strlen(path);
    char *p = clnn__malloc(n + 1);
    if (!p)
        return CLNN_ERR_OUT_OF_MEMORY;
    memcpy(p, path, n + 1);
    clnn_status st = CLNN_OK;
    for (char *s = p + 1; *s && st == CLNN_OK; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        st = mkdir_one(p);
        *s = '/';
    }
    if (st == CLNN_OK)
        st = mkdir_one(p);
    free(p);
    return st;
}

clnn_status clnn__user_cache_dir(char *buf, size_t cap)
{
    char own[4096], xdg[4096], home[4096];
    int n;
    if (clnn__env("CLNN_CACHE_DIR", own, sizeof own))
        n = snprintf(buf, cap, "%s", own);
#ifdef __APPLE__
    else if (clnn__env("HOME", home, sizeof home))
        n = snprintf(buf, cap, "%s/Library/Caches/clnn", home);
#else
    else if (clnn__env("XDG_CACHE_HOME", xdg, sizeof xdg))
        n = snprintf(buf, cap, "%s/clnn", xdg);
    else if (clnn__env("HOME", home, sizeof home))
        n = snprintf(buf, cap, "%s/.cache/clnn", home);
#endif
    else
        return clnn__fail(CLNN_ERR_IO, "no cache folder: HOME is not set; set HOME or "
                                       "CLNN_CACHE_DIR, or name a cache folder in the context "
                                       "options");
    if (n < 0 || (size_t)n >= cap)
        return clnn__fail(CLNN_ERR_IO, "the cache folder's path is too long; set a shorter "
                                       "CLNN_CACHE_DIR");
    (void)xdg;
    return CLNN_OK;
}
