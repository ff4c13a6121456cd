/* The clnn tool's system calls (see os.h). */
#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <io.h>
#else
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <time.h>
#include <unistd.h>
#endif

#include "os.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32

/* A malloc'ed UTF-16 copy of a UTF-8 string (NULL with errno on failure). */
static wchar_t *widen(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        free(w);
        w = NULL;
    }
    if (!w)
        errno = n > 0 ? ENOMEM : EINVAL;
    return w;
}

static int errno_of(DWORD code)
{
    switch (code) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
        return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
        return EACCES;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        return ENOSPC;
    default:
        return EIO;
    }
}

FILE *cli_fopen(const char *path, const char *mode)
{
    wchar_t *wpath = widen(path), *wmode = widen(mode);
    FILE *f = wpath && wmode ? _wfopen(wpath, wmode) : NULL;
    free(wpath);
    free(wmode);
    return f;
}

bool cli_sync(FILE *f)
{
    return fflush(f) == 0 && _commit(_fileno(f)) == 0;
}

bool cli_replace(const char *from, const char *to)
{
    wchar_t *wfrom = widen(from), *wto = widen(to);
    bool ok = wfrom && wto &&
              MoveFileExW(wfrom, wto, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
    if (wfrom && wto && !ok)
        errno = errno_of(GetLastError());
    free(wfrom);
    free(wto);
    return ok;
}

bool cli_remove(const char *path)
{
    wchar_t *w = widen(path);
    bool ok = w && DeleteFileW(w);
    if (w && !ok)
        errno = errno_of(GetLastError());
    free(w);
    return ok;
}

static bool access_ok(const char *path, int mode)
{
    wchar_t *w = widen(path);
    bool ok = w && _waccess(w, mode) == 0;
    free(w);
    return ok;
}

bool cli_exists(const char *path)
{
    return access_ok(path, 0);
}

bool cli_readable(const char *path)
{
    return access_ok(path, 4);
}

bool cli_folder_writable(const char *dir)
{
    return access_ok(dir, 2);
}

bool cli_is_folder(const char *path)
{
    wchar_t *w = widen(path);
    DWORD attributes = w ? GetFileAttributesW(w) : INVALID_FILE_ATTRIBUTES;
    free(w);
    return attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY);
}

bool cli_setenv(const char *name, const char *value)
{
    wchar_t *wname = widen(name), *wvalue = widen(value);
    bool ok = wname && wvalue && _wputenv_s(wname, wvalue) == 0;
    free(wname);
    free(wvalue);
    return ok;
}

bool cli_stderr_is_terminal(void)
{
    return _isatty(_fileno(stderr)) != 0;
}

double cli_now(void)
{
    LARGE_INTEGER t, f;
    QueryPerformanceCounter(&t);
    QueryPerformanceFrequency(&f);
    return (double)t.QuadPart / (double)f.QuadPart;
}

#else

FILE *cli_fopen(const char *path, const char *mode)
{
    return fopen(path, mode);
}

bool cli_sync(FILE *f)
{
    return fflush(f) == 0 && fsync(fileno(f)) == 0;
}

bool cli_replace(const char *from, const char *to)
{
    return rename(from, to) == 0;
}

bool cli_remove(const char *path)
{
    return remove(path) == 0;
}

bool cli_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

bool cli_readable(const char *path)
{
    return access(path, R_OK) == 0;
}

bool cli_folder_writable(const char *dir)
{
    return access(dir, W_OK | X_OK) == 0;
}

bool cli_is_folder(const char *path)
{
    /* "path/." exists only when path is a folder. */
    size_t n = strlen(path);
    char *dot = malloc(n + 3);
    if (!dot)
        return false;
    memcpy(dot, path, n);
    memcpy(dot + n, "/.", 3);
    bool folder = access(dot, F_OK) == 0;
    free(dot);
    return folder;
}

bool cli_setenv(const char *name, const char *value)
{
    return setenv(name, value, 1) == 0;
}

bool cli_stderr_is_terminal(void)
{
    return isatty(STDERR_FILENO) != 0;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif

long cli_read_line(char **line, size_t *cap, FILE *f)
{
    size_t n = 0;
    int c = EOF;
    while ((c = getc(f)) != EOF) {
        if (n + 2 > *cap) {
            size_t ncap = *cap ? *cap * 2 : 256;
            char *grown = realloc(*line, ncap);
            if (!grown) {
                errno = ENOMEM;
                return -1;
            }
            *line = grown;
            *cap = ncap;
        }
        (*line)[n++] = (char)c;
        if (c == '\n')
            break;
    }
    if (n == 0)
        return -1;
    (*line)[n] = '\0';
    return (long)n;
}

int cli_strcasecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
        if (ca != cb || ca == 0)
            return ca - cb;
    }
}

void cli_dirname(const char *path, char *dir, size_t cap)
{
    const char *cut = strrchr(path, '/');
#ifdef _WIN32
    const char *back = strrchr(path, '\\');
    if (back && (!cut || back > cut))
        cut = back;
    if (!cut && path[0] && path[1] == ':')
        cut = path + 1; /* "C:file": the drive's current folder */
#endif
    if (!cut)
        snprintf(dir, cap, ".");
    else if (cut == path)
        snprintf(dir, cap, "%c", *path);
    else
        snprintf(dir, cap, "%.*s", (int)(cut - path + (*cut == ':')), path);
}
