/* libFuzzer harness for the safetensors reader (clnn__st_parse): whatever
 * the bytes, parsing must fail cleanly or yield tensors that lie inside the
 * file and whose sizes agree with their shapes and dtypes. */
#include "fuzz_common.h"

#include "io/safetensors.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clnn__st_file f;
    clnn_status st = clnn__st_parse(data, size, &f);
    if (st != CLNN_OK) {
        FUZZ_CHECK(st == CLNN_ERR_BAD_FILE || st == CLNN_ERR_OUT_OF_MEMORY);
        FUZZ_CHECK(clnn_last_error()[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(f.buffer_len == size);
    const uint8_t *end = f.buffer + f.buffer_len;
    size_t covered = 0;
    unsigned sum = 0;
    for (size_t i = 0; i < f.count; i++) {
        const clnn__st_tensor *t = &f.tensors[i];
        FUZZ_CHECK(t->name != NULL);
        FUZZ_CHECK(t->ndim <= CLNN__ST_MAX_DIMS);
        size_t numel = 1;
        for (size_t d = 0; d < t->ndim; d++)
            numel *= t->shape[d];
        FUZZ_CHECK(numel == t->numel);
        FUZZ_CHECK(t->nbytes == t->numel * clnn__st_dtype_size(t->dtype));
        FUZZ_CHECK(t->data >= f.buffer + 8 && t->data <= end);
        FUZZ_CHECK(t->nbytes <= (size_t)(end - t->data));
        /* Touch every byte so that an out-of-bounds range trips ASan. */
        for (size_t b = 0; b < t->nbytes; b++)
            sum += t->data[b];
        covered += t->nbytes;
        FUZZ_CHECK(clnn__st_find(&f, t->name) != NULL);
        FUZZ_CHECK(strcmp(clnn__st_dtype_name(t->dtype), "?") != 0);
    }
    /* The tensors tile the data section exactly: no holes, no overlaps. */
    FUZZ_CHECK(covered <= f.buffer_len);
    for (size_t i = 0; i < f.meta_count; i++) {
        FUZZ_CHECK(f.meta_keys[i] != NULL && f.meta_values[i] != NULL);
        FUZZ_CHECK(clnn__st_meta(&f, f.meta_keys[i]) != NULL);
    }
    fuzz_sink(sum);
    clnn__st_free(&f);
    return 0;
}
