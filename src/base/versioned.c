/* Versioned structs of the public API: each begins with struct_size, the
 * sizeof its caller compiled with, so a program built against an older
 * clnn.h (a smaller struct) keeps working with a newer library, which then
 * reads and writes only the bytes that program has. */
#include "internal.h"

#include <string.h>

static clnn_status check(size_t given, size_t min_size, const char *what)
{
    if (given < min_size)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s.struct_size is %zu, but the smallest this library knows is %zu: "
                          "set it to sizeof(%s) (the _init function does), after clearing the "
                          "struct",
                          what, given, min_size, what);
    return CLNN_OK;
}

clnn_status clnn__struct_in(void *full, size_t full_size, const void *given, size_t min_size,
                            const char *what)
{
    size_t size;
    memcpy(&size, given, sizeof size);
    clnn_status st = check(size, min_size, what);
    if (st == CLNN_OK)
        memcpy(full, given, size < full_size ? size : full_size);
    return st;
}

clnn_status clnn__struct_out(void *given, const void *full, size_t full_size, size_t min_size,
                             const char *what)
{
    size_t size;
    memcpy(&size, given, sizeof size);
    clnn_status st = check(size, min_size, what);
    if (st == CLNN_OK) {
        /* The caller's struct_size stays as it was. */
        size_t n = size < full_size ? size : full_size;
        memcpy((char *)given + sizeof size, (const char *)full + sizeof size, n - sizeof size);
    }
    return st;
}
