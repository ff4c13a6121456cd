/* Runs a fuzz harness over files without libFuzzer, so that every normal
 * build (and the ASan and valgrind runs) replays the committed corpora:
 *   fuzz_replay_NAME DIR_OR_FILE...
 * An input that breaks an invariant aborts, as under libFuzzer; memory
 * errors are left to the sanitizer or valgrind running the program. */
#define _GNU_SOURCE 1
#include "fuzz_common.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, r;
    uint8_t *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run one file; returns 0 when it could be read. */
static int run_file(const char *path)
{
    size_t len = 0;
    uint8_t *data = slurp(path, &len);
    if (!data) {
        fprintf(stderr, "fuzz_replay: cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;
}

/* Run every regular file of dir, in name order; counts into *ran and
 * *failed (files that could not be read). */
static void run_dir(const char *dir, size_t *ran, size_t *failed)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "fuzz_replay: cannot open %s: %s\n", dir, strerror(errno));
        ++*failed;
        return;
    }
    size_t n = 0, cap = 64;
    char **names = malloc(cap * sizeof *names);
    struct dirent *e;
    while (names && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **grown = realloc(names, 2 * cap * sizeof *names);
            if (!grown)
                break;
            names = grown;
            cap *= 2;
        }
        if (asprintf(&names[n], "%s/%s", dir, e->d_name) < 0)
            break;
        n++;
    }
    closedir(d);
    if (!names) {
        ++*failed;
        return;
    }
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        struct stat sb;
        if (stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
            *failed += (size_t)run_file(names[i]);
            ++*ran;
        }
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    size_t ran = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            run_dir(argv[i], &ran, &failed);
        } else {
            failed += (size_t)run_file(argv[i]);
            ran++;
        }
    }
    /* Reaching here means no input crashed the harness. */
    printf("%zu inputs replayed\n", ran);
    printf("%zu passed, %zu failed\n", ran - failed, failed);
    return failed || ran == 0 ? 1 : 0;
}
