/* FNV-1a: a small, stable hash for cache keys and file names. */
#include "internal.h"

uint64_t clnn__fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
