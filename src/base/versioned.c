/* Versioned structs of the public API: each begins with struct_size, the
 * sizeof its caller compiled with, so a program built against an older
 * clnn.h (a smaller struct) keeps working with a newer library, which then
 * reads and writes only the bytes that program has. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static size_t given_size(const void *given)
{
    size_t size;
    memcpy(&size, given, sizeof size);
    return size;
}

/* CLNN_ERR_INVALID_ARGUMENT for a struct_size below min_size, with the fix
 * for an options struct (its _init) or a record (set it). */
static clnn_status check(size_t size, size_t min_size, const char *call, const char *type,
                         bool options)
{
    if (size >= min_size)
        return CLNN_OK;
    char fix[256];
    if (options)
        snprintf(fix, sizeof fix,
                 "fill the struct with %s_init, which sets struct_size to sizeof(%s), before "
                 "setting its fields",
                 type, type);
    else
        snprintf(fix, sizeof fix,
                 "set it to sizeof(%s) before the call (%s x = {.struct_size = sizeof x};)", type,
                 type);
    return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                      "%s: %s.struct_size is %zu, but the smallest this library knows is %zu: %s",
                      call, type, size, min_size, fix);
}

clnn_status clnn__struct_in(void *full, size_t full_size, const void *given, size_t min_size,
                            const char *call, const char *type)
{
    size_t size = given_size(given);
    clnn_status st = check(size, min_size, call, type, true);
    if (st != CLNN_OK)
        return st;
    memcpy(full, given, size < full_size ? size : full_size);
    memcpy(full, &full_size, sizeof full_size);
    return CLNN_OK;
}

clnn_status clnn__struct_out_check(const void *given, size_t min_size, const char *call,
                                   const char *type)
{
    return check(given_size(given), min_size, call, type, false);
}

void clnn__struct_out(void *given, const void *full, size_t full_size)
{
    /* The caller's struct_size stays as it was. */
    size_t size = given_size(given);
    size_t n = size < full_size ? size : full_size;
    if (n > sizeof size)
        memcpy((char *)given + sizeof size, (const char *)full + sizeof size, n - sizeof size);
}
