/* Shared by the libFuzzer harnesses (and by fuzz_replay.c, which runs them
 * over files without libFuzzer): a check that crashes, so that libFuzzer
 * records the input, when an invariant of a successful parse does not hold. */
#ifndef CLNN_FUZZ_COMMON_H
#define CLNN_FUZZ_COMMON_H

#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s (last error: %s)\n", __FILE__, __LINE__,  \
                    #cond, clnn_last_error());                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Keep a computed value alive so the compiler cannot drop the reads. */
static inline void fuzz_sink(unsigned v)
{
    __asm__ volatile("" : : "r"(v) : "memory");
}

#endif
