/* The platform layer: everything that differs between Linux, macOS and
 * Windows, behind one interface. platform_posix.c serves Linux and macOS
 * (pthreads, POSIX files, dlopen), platform_win32.c serves Windows (Win32
 * threads and files, UTF-8 paths converted to UTF-16, LoadLibrary). No other
 * file of the library includes a system header beyond the C standard
 * library; tests/folders.py checks that. */
#ifndef CLNN_BASE_PLATFORM_H
#define CLNN_BASE_PLATFORM_H

#include "internal.h"

#include <stdio.h>

#ifdef _WIN32
/* The Win32 primitives are one pointer each (SRWLOCK, INIT_ONCE,
 * CONDITION_VARIABLE) and initialised to zero, so <windows.h> stays out of
 * every file but platform_win32.c. */
typedef struct clnn__mutex {
    void *opaque;
} clnn__mutex;
#define CLNN__MUTEX_INIT {0}
typedef struct clnn__once {
    void *opaque;
} clnn__once;
#define CLNN__ONCE_INIT {0}
typedef struct clnn__cond {
    void *opaque;
} clnn__cond;
typedef struct clnn__thread {
    void *handle;
} clnn__thread;
#else
#include <pthread.h>
typedef struct clnn__mutex {
    pthread_mutex_t m;
} clnn__mutex;
#define CLNN__MUTEX_INIT {PTHREAD_MUTEX_INITIALIZER}
typedef struct clnn__once {
    pthread_once_t o;
} clnn__once;
#define CLNN__ONCE_INIT {PTHREAD_ONCE_INIT}
typedef struct clnn__cond {
    pthread_cond_t c;
} clnn__cond;
typedef struct clnn__thread {
    pthread_t t;
} clnn__thread;
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#define CLNN__THREAD_LOCAL __declspec(thread)
#else
#define CLNN__THREAD_LOCAL _Thread_local
#endif

/* ------------------------------------------------------------- threads */

/* A mutex is either CLNN__MUTEX_INIT (static, never destroyed) or made with
 * clnn__mutex_init and ended with clnn__mutex_destroy. */
clnn_status clnn__mutex_init(clnn__mutex *m);
void clnn__mutex_destroy(clnn__mutex *m);
void clnn__mutex_lock(clnn__mutex *m);
void clnn__mutex_unlock(clnn__mutex *m);

/* Run fn exactly once per flag, whichever threads race to it. */
void clnn__call_once(clnn__once *once, void (*fn)(void));

clnn_status clnn__cond_init(clnn__cond *c);
void clnn__cond_destroy(clnn__cond *c);
void clnn__cond_wait(clnn__cond *c, clnn__mutex *m);
void clnn__cond_broadcast(clnn__cond *c);

/* Start fn(arg) on a new thread; join waits for it and frees it. */
clnn_status clnn__thread_start(clnn__thread *t, void (*fn)(void *), void *arg);
void clnn__thread_join(clnn__thread *t);

/* ----------------------------------------------------------- time, ids */

/* Seconds on a monotonic clock (for durations only). */
double clnn__now(void);
/* Nanoseconds of wall-clock time and the process id, for seeds and names. */
uint64_t clnn__wall_ns(void);
uint64_t clnn__process_id(void);

/* ---------------------------------------------------------- environment */

/* The value of an environment variable in UTF-8 (NULL when unset or empty),
 * copied into buf. */
const char *clnn__env(const char *name, char *buf, size_t cap);
/* Whether name is set to a non-empty value. */
bool clnn__env_set(const char *name);

/* A developer hook's setting (base/debug_env.c): as clnn__env, but always
 * NULL unless the library was built with debug hooks (-Ddebug_hooks);
 * clnn__debug_hooks says whether it was. */
const char *clnn__debug_env(const char *name, char *buf, size_t cap);
bool clnn__debug_hooks(void);

/* ------------------------------------------------------- shared objects */

/* Load a shared library by file name or path (NULL on failure, with the
 * system's reason in why); NULL names the process's own global symbols on
 * POSIX (nothing on Windows). Look up a symbol; unload. */
void *clnn__library_open(const char *name, char *why, size_t why_cap);
void *clnn__library_symbol(void *library, const char *name);
void clnn__library_close(void *library);

/* ----------------------------------------------------------------- files */

/* fopen with a UTF-8 path on every system. */
FILE *clnn__fopen(const char *path, const char *mode);

/* Read a whole file into a malloc'ed buffer (*len bytes). CLNN_ERR_IO with a
 * message naming the path, the system's reason and what to do; errno is then
 * ENOENT on every system when the file does not exist. */
clnn_status clnn__read_file(const char *path, uint8_t **data, size_t *len);

/* Crash-safe replacement: write the concatenation of chunks to a temporary
 * file in path's folder, flush it to the disk, and move it over path (on
 * POSIX rename and a sync of the folder, on macOS F_FULLFSYNC, on Windows
 * MoveFileExW with MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH). On
 * any failure the temporary file is removed and an earlier file at path is
 * untouched: nothing half-written is ever visible there. */
clnn_status clnn__atomic_write(const char *path, const void *const *chunks, const size_t *lengths,
                               size_t count);
/* Tests only: make the next atomic writes fail after `bytes` bytes, as a
 * full disk would (SIZE_MAX: never, the default). Process-wide. */
void clnn__atomic_write_fail_after(size_t bytes);

/* Whether something exists at path. */
bool clnn__file_exists(const char *path);

/* Create a folder and its missing parents. */
clnn_status clnn__mkdirs(const char *path);

/* The user's cache folder for clnn, without a trailing separator:
 * $CLNN_CACHE_DIR if set, else %LOCALAPPDATA%\clnn on Windows,
 * ~/Library/Caches/clnn on macOS, $XDG_CACHE_HOME/clnn or ~/.cache/clnn
 * elsewhere. */
clnn_status clnn__user_cache_dir(char *buf, size_t cap);

/* The folder separator of paths the library makes. */
#ifdef _WIN32
#define CLNN__PATH_SEP "\\"
#else
#define CLNN__PATH_SEP "/"
#endif

#endif
