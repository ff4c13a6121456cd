/* Deterministic, platform-independent random numbers for initialisation and
 * shuffling, so a seed means the same model everywhere. */
#include "internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void clnn__rng_seed(clnn__rng *rng, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

uint64_t clnn__rng_next(clnn__rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float clnn__rng_uniform(clnn__rng *rng)
{
    return (float)(clnn__rng_next(rng) >> 40) * (1.0f / 16777216.0f);
}

uint64_t clnn__rng_below(clnn__rng *rng, uint64_t bound)
{
    /* Rejection keeps the draw unbiased. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do
        r = clnn__rng_next(rng);
    while (r >= limit);
    return r % bound;
}

clnn_status clnn_permutation(uint64_t seed, uint64_t stream, size_t n, uint32_t *perm)
{
    clnn__clear_error();
    if (!perm && n)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_permutation: perm is NULL");
    if (n > UINT32_MAX)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_permutation: n = %zu exceeds 2^32-1", n);
    clnn__rng rng;
    clnn__rng_seed(&rng, seed, stream);
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) { /* Fisher–Yates */
        size_t j = (size_t)clnn__rng_below(&rng, i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    return CLNN_OK;
}
