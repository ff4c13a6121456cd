/* The platform layer on Windows (see platform.h). Paths and environment
 * values are UTF-8 in the library and UTF-16 for the system. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0600 /* Vista: SRW locks, condition variables, one-time init */
#endif

#include "base/platform.h"

#include <windows.h>

#include <errno.h>
#include <process.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(SRWLOCK) == sizeof(void *), "clnn__mutex holds an SRWLOCK");
_Static_assert(sizeof(INIT_ONCE) == sizeof(void *), "clnn__once holds an INIT_ONCE");
_Static_assert(sizeof(CONDITION_VARIABLE) == sizeof(void *),
               "clnn__cond holds a CONDITION_VARIABLE");

/* ------------------------------------------------------------- threads */

clnn_status clnn__mutex_init(clnn__mutex *m)
{
    InitializeSRWLock((SRWLOCK *)&m->opaque);
    return CLNN_OK;
}

void clnn__mutex_destroy(clnn__mutex *m)
{
    (void)m; /* SRW locks hold no resources */
}

void clnn__mutex_lock(clnn__mutex *m)
{
    AcquireSRWLockExclusive((SRWLOCK *)&m->opaque);
}

void clnn__mutex_unlock(clnn__mutex *m)
{
    ReleaseSRWLockExclusive((SRWLOCK *)&m->opaque);
}

static BOOL CALLBACK once_trampoline(INIT_ONCE *once, void *fn, void **context)
{
    (void)once;
    (void)context;
    void (*f)(void);
    memcpy(&f, &fn, sizeof f);
    f();
    return TRUE;
}

void clnn__call_once(clnn__once *once, void (*fn)(void))
{
    void *p;
    memcpy(&p, &fn, sizeof p);
    InitOnceExecuteOnce((INIT_ONCE *)&once->opaque, once_trampoline, p, NULL);
}

clnn_status clnn__cond_init(clnn__cond *c)
{
    InitializeConditionVariable((CONDITION_VARIABLE *)&c->opaque);
    return CLNN_OK;
}

void clnn__cond_destroy(clnn__cond *c)
{
    (void)c;
}

void clnn__cond_wait(clnn__cond *c, clnn__mutex *m)
{
    SleepConditionVariableSRW((CONDITION_VARIABLE *)&c->opaque, (SRWLOCK *)&m->opaque, INFINITE,
                              0);
}

void clnn__cond_broadcast(clnn__cond *c)
{
    WakeAllConditionVariable((CONDITION_VARIABLE *)&c->opaque);
}

typedef struct thread_start {
    void (*fn)(void *);
    void *arg;
} thread_start;

/* _beginthreadex rather than CreateThread: the C runtime sets up its
 * per-thread state (errno, strtok) for the new thread. */
static unsigned __stdcall thread_main(void *p)
{
    thread_start s = *(thread_start *)p;
    free(p);
    s.fn(s.arg);
    return 0;
}

clnn_status clnn__thread_start(clnn__thread *t, void (*fn)(void *), void *arg)
{
    thread_start *s = clnn__malloc(sizeof *s);
    if (!s)
        return CLNN_ERR_OUT_OF_MEMORY;
    s->fn = fn;
    s->arg = arg;
    uintptr_t h = _beginthreadex(NULL, 0, thread_main, s, 0, NULL);
    if (h == 0) {
        free(s);
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "cannot start a thread: out of resources");
    }
    t->handle = (void *)h;
    return CLNN_OK;
}

void clnn__thread_join(clnn__thread *t)
{
    WaitForSingleObject((HANDLE)t->handle, INFINITE);
    CloseHandle((HANDLE)t->handle);
    t->handle = NULL;
}

/* ----------------------------------------------------------- time, ids */

double clnn__now(void)
{
    static LARGE_INTEGER freq; /* constant since boot: a race writes the same value */
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart / (double)freq.QuadPart;
}

uint64_t clnn__wall_ns(void)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    return (((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime) * 100u;
}

uint64_t clnn__process_id(void)
{
    return (uint64_t)GetCurrentProcessId();
}

/* ------------------------------------------------------------ UTF-8/16 */

/* A malloc'ed UTF-16 copy of a UTF-8 string (NULL on bad UTF-8 or memory). */
static wchar_t *widen(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0)
        return NULL;
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        free(w);
        w = NULL;
    }
    return w;
}

/* UTF-16 to UTF-8 into buf; false when it does not fit. */
static bool narrow(const wchar_t *w, char *buf, size_t cap)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    if (n <= 0 || (size_t)n > cap || cap > INT_MAX)
        return false;
    return WideCharToMultiByte(CP_UTF8, 0, w, -1, buf, (int)cap, NULL, NULL) == n;
}

/* The system's text for a Win32 error code, in UTF-8, without the trailing
 * line break. */
static const char *system_message(DWORD code, char *buf, size_t cap)
{
    wchar_t w[512];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             code, 0, w, (DWORD)(sizeof w / sizeof w[0]), NULL);
    while (n > 0 && (w[n - 1] == L'\n' || w[n - 1] == L'\r' || w[n - 1] == L'.'))
        w[--n] = L'\0';
    if (n == 0 || !narrow(w, buf, cap))
        snprintf(buf, cap, "Windows error %lu", (unsigned long)code);
    return buf;
}

/* ---------------------------------------------------------- environment */

const char *clnn__env(const char *name, char *buf, size_t cap)
{
    wchar_t *wname = widen(name);
    if (!wname || cap == 0) {
        free(wname);
        return NULL;
    }
    wchar_t w[4096];
    DWORD n = GetEnvironmentVariableW(wname, w, (DWORD)(sizeof w / sizeof w[0]));
    free(wname);
    if (n == 0 || n >= sizeof w / sizeof w[0] || !narrow(w, buf, cap))
        return NULL;
    return buf;
}

bool clnn__env_set(const char *name)
{
    wchar_t *wname = widen(name);
    if (!wname)
        return false;
    DWORD n = GetEnvironmentVariableW(wname, NULL, 0);
    free(wname);
    return n > 1; /* the size with its terminator: 1 is an empty value */
}

/* ------------------------------------------------------- shared objects */

void *clnn__library_open(const char *name, char *why, size_t why_cap)
{
    /* The process's own symbols (name NULL) are no Windows notion: a DLL
     * already loaded is found again by its name. */
    if (!name)
        return NULL;
    wchar_t *w = widen(name);
    HMODULE lib = w ? LoadLibraryW(w) : NULL;
    DWORD code = w ? GetLastError() : ERROR_INVALID_NAME;
    free(w);
    if (!lib && why_cap)
        system_message(code, why, why_cap);
    return (void *)lib;
}

void *clnn__library_symbol(void *library, const char *name)
{
    FARPROC f = GetProcAddress((HMODULE)library, name);
    void *p;
    memcpy(&p, &f, sizeof p);
    return p;
}

void clnn__library_close(void *library)
{
    if (library)
        FreeLibrary((HMODULE)library);
}

/* ----------------------------------------------------------------- files */

FILE *clnn__fopen(const char *path, const char *mode)
{
    wchar_t *wpath = widen(path), *wmode = widen(mode);
    FILE *f = wpath && wmode ? _wfopen(wpath, wmode) : NULL;
    if (!wpath || !wmode)
        errno = EINVAL;
    free(wpath);
    free(wmode);
    return f;
}

static const char *write_hint(DWORD code)
{
    switch (code) {
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        return "free disk space or choose another path";
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
        return "check that no other program holds the file open and the folder's permissions, "
               "or choose another path";
    case ERROR_WRITE_PROTECT:
        return "the drive is write-protected; choose another path";
    case ERROR_PATH_NOT_FOUND:
    case ERROR_FILE_NOT_FOUND:
        return "create the directory first or choose another path";
    case ERROR_DIRECTORY:
        return "the path is a directory; give a file name inside it";
    case ERROR_FILENAME_EXCED_RANGE:
        return "choose a shorter path";
    default:
        return "check the path and the disk";
    }
}

static clnn_status write_error(const char *path, DWORD code)
{
    char why[512];
    return clnn__fail(CLNN_ERR_IO, "cannot write '%s': %s; %s", path,
                      system_message(code, why, sizeof why), write_hint(code));
}

static atomic_size_t fail_after = SIZE_MAX;

void clnn__atomic_write_fail_after(size_t bytes)
{
    atomic_store(&fail_after, bytes);
}

/* Create path.tmp-XXXXXX exclusively (CREATE_NEW) in path's folder. */
static HANDLE create_temp(const char *path, wchar_t **tmp_out, DWORD *code)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static atomic_uint_fast64_t counter;
    size_t n = strlen(path);
    char *tmp = malloc(n + sizeof ".tmp-XXXXXX");
    if (!tmp) {
        *code = ERROR_NOT_ENOUGH_MEMORY;
        return INVALID_HANDLE_VALUE;
    }
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
    clnn__rng rng;
    clnn__rng_seed(&rng, clnn__wall_ns(),
                   (clnn__process_id() << 32) ^ atomic_fetch_add(&counter, 1));
    HANDLE h = INVALID_HANDLE_VALUE;
    *code = ERROR_INVALID_NAME;
    for (int attempt = 0; attempt < 100; attempt++) {
        for (size_t i = 0; i < 6; i++)
            tmp[n + 5 + i] = alphabet[clnn__rng_below(&rng, sizeof alphabet - 1)];
        wchar_t *w = widen(tmp);
        if (!w)
            break;
        h = CreateFileW(w, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
        if (h != INVALID_HANDLE_VALUE) {
            *tmp_out = w;
            break;
        }
        *code = GetLastError();
        free(w);
        if (*code != ERROR_FILE_EXISTS && *code != ERROR_ALREADY_EXISTS)
            break;
    }
    free(tmp);
    return h;
}

static bool write_all(HANDLE h, const uint8_t *p, size_t len, size_t *budget, DWORD *code)
{
    while (len) {
        size_t want = len < *budget ? len : *budget;
        if (want > 1u << 30)
            want = 1u << 30;
        if (want == 0) {
            *code = ERROR_DISK_FULL; /* clnn__atomic_write_fail_after */
            return false;
        }
        DWORD wrote = 0;
        if (!WriteFile(h, p, (DWORD)want, &wrote, NULL)) {
            *code = GetLastError();
            return false;
        }
        p += wrote;
        len -= wrote;
        if (*budget != SIZE_MAX)
            *budget -= wrote;
    }
    return true;
}

clnn_status clnn__atomic_write(const char *path, const void *const *chunks, const size_t *lengths,
                               size_t count)
{
    if (!path || !*path)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "cannot write a file: the path is empty");
    if (count && (!chunks || !lengths))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "cannot write '%s': no data given", path);
    wchar_t *target = widen(path);
    if (!target)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "cannot write '%s': the path is not valid UTF-8", path);

    wchar_t *tmp = NULL;
    DWORD code = 0;
    HANDLE h = create_temp(path, &tmp, &code);
    if (h == INVALID_HANDLE_VALUE) {
        free(target);
        return write_error(path, code);
    }
    size_t budget = atomic_load(&fail_after);
    bool ok = true;
    for (size_t i = 0; i < count && ok; i++)
        if (lengths[i])
            ok = write_all(h, chunks[i], lengths[i], &budget, &code);
    /* FlushFileBuffers writes the data and the file's metadata through the
     * disk's cache before the file takes the target's name. */
    if (ok && !FlushFileBuffers(h)) {
        ok = false;
        code = GetLastError();
    }
    if (!CloseHandle(h) && ok) {
        ok = false;
        code = GetLastError();
    }
    /* WRITE_THROUGH: MoveFileExW returns once the rename is on the disk. A
     * directory at path makes it fail (ERROR_ACCESS_DENIED), as rename does. */
    if (ok && !MoveFileExW(tmp, target, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
        ok = false;
        code = GetLastError();
        DWORD attrs = GetFileAttributesW(target);
        if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY))
            code = ERROR_DIRECTORY;
    }
    if (!ok)
        DeleteFileW(tmp);
    free(tmp);
    free(target);
    return ok ? CLNN_OK : write_error(path, code);
}

static int errno_of(DWORD code)
{
    switch (code) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME:
        return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
        return EACCES;
    case ERROR_DIRECTORY:
        return EISDIR;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        return ENOMEM;
    default:
        return EIO;
    }
}

static const char *read_hint(DWORD code)
{
    switch (errno_of(code)) {
    case ENOENT:
        return "check the path";
    case EACCES:
        return "check the file's permissions and that no other program holds it locked";
    case EISDIR:
        return "give the path of a file, not of a directory";
    default:
        return "check the path and the disk";
    }
}

static clnn_status read_error(const char *path, DWORD code)
{
    char why[512];
    clnn_status st = clnn__fail(CLNN_ERR_IO, "cannot read '%s': %s; %s", path,
                                system_message(code, why, sizeof why), read_hint(code));
    errno = errno_of(code);
    return st;
}

clnn_status clnn__read_file(const char *path, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (!path || !*path)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "cannot read a file: the path is empty");
    wchar_t *w = widen(path);
    if (!w)
        return read_error(path, ERROR_INVALID_NAME);
    DWORD attrs = GetFileAttributesW(w);
    if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY)) {
        free(w);
        return read_error(path, ERROR_DIRECTORY);
    }
    HANDLE h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD code = GetLastError();
    free(w);
    if (h == INVALID_HANDLE_VALUE)
        return read_error(path, code);
    LARGE_INTEGER size;
    size_t cap = 65536;
    if (GetFileSizeEx(h, &size) && size.QuadPart > 0) {
        if ((uint64_t)size.QuadPart >= SIZE_MAX) {
            CloseHandle(h);
            return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "cannot read '%s': too large for memory",
                              path);
        }
        cap = (size_t)size.QuadPart + 1;
    }
    uint8_t *buf = malloc(cap);
    size_t n = 0;
    for (;;) {
        if (!buf) {
            CloseHandle(h);
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
        size_t want = cap - n > 1u << 30 ? 1u << 30 : cap - n;
        DWORD got = 0;
        if (!ReadFile(h, buf + n, (DWORD)want, &got, NULL)) {
            code = GetLastError();
            free(buf);
            CloseHandle(h);
            return read_error(path, code);
        }
        if (got == 0)
            break;
        n += got;
    }
    CloseHandle(h);
    *data = buf;
    *len = n;
    return CLNN_OK;
}

bool clnn__file_exists(const char *path)
{
    wchar_t *w = widen(path);
    bool found = w && GetFileAttributesW(w) != INVALID_FILE_ATTRIBUTES;
    free(w);
    return found;
}

static clnn_status mkdir_one(const char *path)
{
    wchar_t *w = widen(path);
    if (!w)
        return clnn__fail(CLNN_ERR_IO, "cannot create the folder '%s': not valid UTF-8", path);
    BOOL made = CreateDirectoryW(w, NULL);
    DWORD code = GetLastError();
    free(w);
    if (made || code == ERROR_ALREADY_EXISTS)
        return CLNN_OK;
    char why[512];
    return clnn__fail(CLNN_ERR_IO, "cannot create the folder '%s': %s; %s", path,
                      system_message(code, why, sizeof why), write_hint(code));
}

static bool is_separator(char c)
{
    return c == '\\' || c == '/';
}

clnn_status clnn__mkdirs(const char *path)
{
    size_t n = strlen(path);
    char *p = clnn__malloc(n + 1);
    if (!p)
        return CLNN_ERR_OUT_OF_MEMORY;
    memcpy(p, path, n + 1);
    /* Skip a drive ("C:\") or a UNC share ("\\server\share\") prefix. */
    char *s = p;
    if (n >= 2 && p[1] == ':')
        s = p + 2;
    else if (n >= 2 && is_separator(p[0]) && is_separator(p[1])) {
        int parts = 0;
        for (s = p + 2; *s && parts < 2; s++)
            if (is_separator(*s))
                parts++;
    }
    while (is_separator(*s))
        s++;
    clnn_status st = CLNN_OK;
    for (; *s && st == CLNN_OK; s++) {
        if (!is_separator(*s))
            continue;
        char sep = *s;
        *s = '\0';
        st = mkdir_one(p);
        *s = sep;
    }
    if (st == CLNN_OK)
        st = mkdir_one(p);
    free(p);
    return st;
}

clnn_status clnn__user_cache_dir(char *buf, size_t cap)
{
    char own[4096], local[4096];
    int n;
    if (clnn__env("CLNN_CACHE_DIR", own, sizeof own))
        n = snprintf(buf, cap, "%s", own);
    else if (clnn__env("LOCALAPPDATA", local, sizeof local))
        n = snprintf(buf, cap, "%s\\clnn", local);
    else
        return clnn__fail(CLNN_ERR_IO, "no cache folder: LOCALAPPDATA is not set; set "
                                       "LOCALAPPDATA or CLNN_CACHE_DIR, or name a cache folder "
                                       "in the context options");
    if (n < 0 || (size_t)n >= cap)
        return clnn__fail(CLNN_ERR_IO, "the cache folder's path is too long; set a shorter "
                                       "CLNN_CACHE_DIR");
    return CLNN_OK;
}
