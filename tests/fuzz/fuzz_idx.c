/* libFuzzer harness for the IDX reader, plain and gzip-compressed. Each
 * input goes both through the in-memory parser (after clnn__gunzip when it
 * starts with the gzip magic) and through clnn__idx_read on an in-memory
 * file (a scratch file where there is no memfd), the path the dataset
 * loader takes; the two must agree. */
#include "fuzz_common.h"

#include "io/gunzip.h"
#include "io/idx.h"

#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/mman.h>
#else
#include "clnn_test_os.h"
#endif

/* The limit clnn__idx_read applies (MAX_DECOMPRESSED in src/io/idx.c). */
#define MAX_OUT ((size_t)1 << 30)

/* Parse from memory the way clnn__idx_read does from a file. */
static clnn_status parse_memory(const uint8_t *data, size_t size, clnn__idx *idx)
{
    memset(idx, 0, sizeof *idx);
    if (!clnn__is_gzip(data, size))
        return clnn__idx_parse(data, size, "fuzz input", idx);
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    clnn_status st = clnn__gunzip(data, size, MAX_OUT, "fuzz input", &plain, &plain_len);
    if (st != CLNN_OK) {
        FUZZ_CHECK(plain == NULL && plain_len == 0);
        return st;
    }
    FUZZ_CHECK(plain_len <= MAX_OUT);
    st = clnn__idx_parse(plain, plain_len, "fuzz input", idx);
    free(plain);
    return st;
}

#ifdef __linux__
/* Parse through a memfd and its /proc/self/fd path: no disk involved. */
static clnn_status parse_file(const uint8_t *data, size_t size, clnn__idx *idx)
{
    int fd = memfd_create("clnn-fuzz-idx", MFD_CLOEXEC);
    FUZZ_CHECK(fd >= 0);
    for (size_t done = 0; done < size;) {
        ssize_t w = write(fd, data + done, size - done);
        FUZZ_CHECK(w > 0);
        done += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    clnn_status st = clnn__idx_read(path, idx);
    close(fd);
    return st;
}
#else
/* Without memfd: through a scratch file. */
static clnn_status parse_file(const uint8_t *data, size_t size, clnn__idx *idx)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/clnn-fuzz-idx-%ld", clnn_test_tmp_base(), (long)getpid());
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);
    clnn_status st = clnn__idx_read(path, idx);
    remove(path);
    return st;
}
#endif

static void check_result(const clnn__idx *idx)
{
    FUZZ_CHECK(idx->ndim >= 1 && idx->ndim <= CLNN__IDX_MAX_DIMS);
    size_t count = 1;
    for (size_t i = 0; i < idx->ndim; i++)
        count *= idx->dims[i];
    FUZZ_CHECK(count == idx->count);
    FUZZ_CHECK(idx->data != NULL);
    unsigned sum = 0;
    for (size_t i = 0; i < idx->count; i++)
        sum += idx->data[i];
    fuzz_sink(sum);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clnn__idx a, b;
    clnn_status sa = parse_memory(data, size, &a);
    clnn_status sb = parse_file(data, size, &b);
    FUZZ_CHECK(sa == sb);
    if (sa != CLNN_OK) {
        FUZZ_CHECK(sa == CLNN_ERR_BAD_FILE || sa == CLNN_ERR_OUT_OF_MEMORY);
        FUZZ_CHECK(clnn_last_error()[0] != '\0');
        FUZZ_CHECK(a.data == NULL && b.data == NULL);
        return 0;
    }
    check_result(&a);
    check_result(&b);
    FUZZ_CHECK(a.ndim == b.ndim && a.count == b.count);
    FUZZ_CHECK(memcmp(a.dims, b.dims, sizeof a.dims) == 0);
    FUZZ_CHECK(a.count == 0 || memcmp(a.data, b.data, a.count) == 0);
    clnn__idx_free(&a);
    clnn__idx_free(&b);
    return 0;
}
