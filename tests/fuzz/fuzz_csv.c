/* libFuzzer harness for the CSV dataset reader and its number parser. Each
 * input is read as a CSV table (with a header, then without one); a table
 * that loads is read again as its own companion (options.like), which must
 * give the same rows and labels. Inputs short enough to be a number also go
 * through clnn__parse_number, whose every accepted value must equal the C
 * library's strtod (correctly rounded in glibc, the "C" locale here). */
#include "fuzz_common.h"

#include "io/csv.h"
#include "io/dataset.h"

#include <math.h>
#include <string.h>

static void check_dataset(const clnn_dataset *ds)
{
    FUZZ_CHECK(ds->count > 0 && ds->features > 0 && ds->images != NULL);
    unsigned sum = 0;
    for (size_t i = 0; i < ds->count * ds->features; i++) {
        FUZZ_CHECK(isfinite(ds->images[i]));
        sum += ds->images[i] > 0.0f;
    }
    for (size_t i = 0; ds->labels && i < ds->count; i++)
        FUZZ_CHECK(ds->labels[i] >= 0 && (size_t)ds->labels[i] < ds->classes);
    for (size_t i = 0; ds->class_names && i < ds->classes; i++)
        FUZZ_CHECK(ds->class_names[i] && ds->class_names[i][0]);
    for (size_t i = 0; ds->feature_names && i < ds->features; i++)
        FUZZ_CHECK(ds->feature_names[i] != NULL);
    fuzz_sink(sum);
}

static void read_table(const uint8_t *data, size_t size, bool no_header)
{
    clnn_dataset_options o;
    clnn_dataset_options_init(&o);
    o.csv_no_header = no_header;
    clnn_dataset *ds = NULL;
    clnn_status st = clnn__dataset_read_csv(NULL, data, size, "fuzz input", &o, &ds);
    if (st != CLNN_OK) {
        FUZZ_CHECK(ds == NULL);
        FUZZ_CHECK(st == CLNN_ERR_BAD_FILE || st == CLNN_ERR_OUT_OF_MEMORY);
        FUZZ_CHECK(clnn_last_error()[0] != '\0');
        return;
    }
    check_dataset(ds);
    o.like = ds;
    clnn_dataset *again = NULL;
    st = clnn__dataset_read_csv(NULL, data, size, "fuzz input", &o, &again);
    FUZZ_CHECK(st == CLNN_OK);
    FUZZ_CHECK(again->count == ds->count && again->features == ds->features);
    FUZZ_CHECK(again->classes == ds->classes);
    FUZZ_CHECK(memcmp(again->images, ds->images, ds->count * ds->features * sizeof(float)) == 0);
    FUZZ_CHECK(memcmp(again->labels, ds->labels, ds->count * sizeof(int32_t)) == 0);
    clnn_dataset_free(again);
    clnn_dataset_free(ds);
}

static void check_number(const uint8_t *data, size_t size)
{
    if (size > 64)
        return;
    char text[65];
    memcpy(text, data, size);
    text[size] = '\0';
    double v = 0.0;
    if (clnn__parse_number(text, size, &v) != CLNN__NUMBER_OK)
        return;
    FUZZ_CHECK(strlen(text) == size); /* no NUL inside an accepted number */
    char *end = NULL;
    double ref = strtod(text, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    FUZZ_CHECK(*end == '\0');
    FUZZ_CHECK(memcmp(&v, &ref, sizeof v) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_table(data, size, false);
    read_table(data, size, true);
    check_number(data, size);
    return 0;
}
