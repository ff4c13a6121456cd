/* What the clnn tool needs from the system beyond the C standard library,
 * for Linux, macOS and Windows: UTF-8 paths and arguments, replacing a file
 * by a fully written temporary one, a monotonic clock. The tool's other
 * files include no system header. */
#ifndef CLNN_CLI_OS_H
#define CLNN_CLI_OS_H

#include <stdbool.h>
#include <stdio.h>

/* fopen with a UTF-8 path. */
FILE *cli_fopen(const char *path, const char *mode);
/* Flush f's buffers and the system's to the disk (errno on failure). */
bool cli_sync(FILE *f);
/* Move from over to, replacing it in one step (errno on failure). */
bool cli_replace(const char *from, const char *to);
bool cli_remove(const char *path);
/* Whether path exists; whether it can be opened for reading (errno when
 * not); whether new files can be created in folder dir (errno when not). */
bool cli_exists(const char *path);
bool cli_readable(const char *path);
bool cli_folder_writable(const char *dir);
/* Whether path names an existing folder. */
bool cli_is_folder(const char *path);
/* Set an environment variable for this process and what it starts. */
bool cli_setenv(const char *name, const char *value);
/* Read one line with its newline (if any) into *line, grown as needed; its
 * length (it may hold NUL bytes), or -1 at the end of the file or on an
 * error (errno; ferror tells which). getline(3) in ISO C. */
long cli_read_line(char **line, size_t *cap, FILE *f);
/* Whether standard error is a terminal. */
bool cli_stderr_is_terminal(void);
/* Seconds on a monotonic clock. */
double cli_now(void);
/* ASCII case-insensitive comparison. */
int cli_strcasecmp(const char *a, const char *b);
/* The folder part of path ("." when it has none), into dir. */
void cli_dirname(const char *path, char *dir, size_t cap);

#endif
