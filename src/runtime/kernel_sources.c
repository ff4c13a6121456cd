/* Embedded kernel sources, overridable from disk for kernel development. */
#include "runtime/kernel_sources.h"

#include "base/platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static clnn_status read_override(const char *dir, const char *name, char **text, size_t *length)
{
    char path[4096];
    snprintf(path, sizeof path, "%s" CLNN__PATH_SEP "%s.cl", dir, name);
    FILE *f = clnn__fopen(path, "rb");
    if (!f)
        return clnn__fail(CLNN_ERR_IO,
                          "CLNN_KERNEL_DIR is set but '%s' cannot be opened: %s; unset "
                          "CLNN_KERNEL_DIR to use the built-in kernels",
                          path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of memory reading '%s'", path);
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return clnn__fail(CLNN_ERR_IO, "error reading '%s'", path);
    }
    buf[len] = '\0';
    *text = buf;
    *length = len;
    return CLNN_OK;
}

clnn_status clnn__kernel_source_get(const char *name, const char **text, size_t *length,
                                    char **owned)
{
    *owned = NULL;
    char buf[3072];
    const char *dir = clnn__debug_env("CLNN_KERNEL_DIR", buf, sizeof buf);
    if (dir) {
        clnn_status st = read_override(dir, name, owned, length);
        *text = *owned;
        return st;
    }
    for (const clnn__kernel_source *s = clnn__kernel_sources; s->name; s++) {
        if (strcmp(s->name, name) == 0) {
            *text = s->text;
            *length = s->length;
            return CLNN_OK;
        }
    }
    return clnn__fail(CLNN_ERR_BUILD, "no kernel source named '%s' is built into this library",
                      name);
}
