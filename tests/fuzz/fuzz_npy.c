/* libFuzzer harness for the NumPy readers: each input is read as an .npy
 * array (features, labels optional), as an .npz archive, and as an .npy
 * header alone; whatever loads must hold finite features and labels within
 * its classes, and an array's data must lie inside the input. */
#include "fuzz_common.h"

#include "io/dataset.h"
#include "io/npy.h"

#include <math.h>
#include <string.h>

static void check(clnn_status st, clnn_dataset *ds)
{
    if (st != CLNN_OK) {
        FUZZ_CHECK(ds == NULL);
        FUZZ_CHECK(st == CLNN_ERR_BAD_FILE || st == CLNN_ERR_OUT_OF_MEMORY ||
                   st == CLNN_ERR_INVALID_ARGUMENT);
        FUZZ_CHECK(clnn_last_error()[0] != '\0');
        return;
    }
    FUZZ_CHECK(ds->count > 0 && ds->features > 0);
    unsigned sum = 0;
    for (size_t i = 0; i < ds->count * ds->features; i++) {
        FUZZ_CHECK(isfinite(ds->images[i]));
        sum += ds->images[i] > 0.0f;
    }
    for (size_t i = 0; ds->labels && i < ds->count; i++)
        FUZZ_CHECK(ds->labels[i] >= 0 && (size_t)ds->labels[i] < ds->classes);
    fuzz_sink(sum);
    clnn_dataset_free(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clnn_dataset_options o;
    clnn_dataset_options_init(&o);
    o.labels_optional = true;
    clnn_dataset *ds = NULL;
    clnn_status st = clnn__dataset_read_npy(data, size, "fuzz input", NULL, 0, NULL, &o, &ds);
    check(st, ds);
    ds = NULL;
    st = clnn__dataset_read_npy(data, size, "fuzz input", data, size, "fuzz labels", &o, &ds);
    check(st, ds);
    ds = NULL;
    st = clnn__dataset_read_npz(data, size, "fuzz input", &o, &ds);
    check(st, ds);
    clnn__npy a;
    if (clnn__npy_parse(data, size, "fuzz input", &a) == CLNN_OK) {
        FUZZ_CHECK(a.data >= data && a.data + a.count * a.itemsize == data + size);
        double s = 0.0;
        for (size_t i = 0; i < a.count && i < 64; i++)
            s += clnn__npy_get(&a, i);
        fuzz_sink(s > 0.0);
    }
    return 0;
}
