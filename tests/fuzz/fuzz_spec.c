/* libFuzzer harness for the layer-spec parser (clnn__spec_parse). A spec
 * that parses must describe valid layers, and writing it back out in
 * canonical form (each kind printing its options) and parsing that must
 * give the same layers, options included. */
#include "fuzz_common.h"

#include "net/spec.h"

#include <string.h>

/* "name=kind[:options]" joined by commas, as clnn_net_spec writes it. */
static char *canonical(const clnn__layer_spec *layers, size_t count)
{
    size_t cap = count * (CLNN__NAME_MAX + 32) + 1;
    char *s = malloc(cap);
    FUZZ_CHECK(s != NULL);
    size_t n = 0;
    s[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        const clnn__layer_spec *l = &layers[i];
        n += (size_t)snprintf(s + n, cap - n, "%s%s%s%s", i ? "," : "", l->name,
                              l->name[0] ? "=" : "", clnn__layer_kind_name(l->kind));
        const clnn__layer_class *c = clnn__layer_classes[l->kind];
        if (c->print)
            n += (size_t)c->print(l, s + n, cap - n);
        FUZZ_CHECK(n < cap);
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    FUZZ_CHECK(spec != NULL);
    memcpy(spec, data, size);
    spec[size] = '\0';

    clnn__layer_spec *layers = NULL;
    size_t count = 0;
    clnn_status st = clnn__spec_parse(spec, &layers, &count);
    if (st != CLNN_OK) {
        FUZZ_CHECK(st == CLNN_ERR_SPEC || st == CLNN_ERR_OUT_OF_MEMORY);
        FUZZ_CHECK(layers == NULL && count == 0);
        FUZZ_CHECK(clnn_last_error()[0] != '\0');
        free(spec);
        return 0;
    }
    FUZZ_CHECK(count >= 1 && layers != NULL);
    for (size_t i = 0; i < count; i++) {
        const clnn__layer_spec *l = &layers[i];
        FUZZ_CHECK((size_t)l->kind < CLNN__LAYER_KIND_COUNT);
        if (l->kind == CLNN__LAYER_DENSE)
            FUZZ_CHECK(l->units >= 1 && l->units <= CLNN__UNITS_MAX);
        else
            FUZZ_CHECK(l->units == 0);
        FUZZ_CHECK(memchr(l->name, '\0', CLNN__NAME_MAX) != NULL);
        if (l->name[0]) {
            FUZZ_CHECK(clnn__spec_valid_name(l->name));
            for (size_t j = 0; j < i; j++)
                FUZZ_CHECK(strcmp(layers[j].name, l->name) != 0);
        }
    }

    char *again = canonical(layers, count);
    clnn__layer_spec *layers2 = NULL;
    size_t count2 = 0;
    st = clnn__spec_parse(again, &layers2, &count2);
    FUZZ_CHECK(st == CLNN_OK);
    FUZZ_CHECK(count2 == count);
    for (size_t i = 0; i < count; i++) {
        FUZZ_CHECK(layers2[i].kind == layers[i].kind);
        FUZZ_CHECK(layers2[i].units == layers[i].units);
        FUZZ_CHECK(memcmp(layers2[i].options, layers[i].options, sizeof layers[i].options) == 0);
        FUZZ_CHECK(strcmp(layers2[i].name, layers[i].name) == 0);
    }
    free(layers2);
    free(again);
    free(layers);
    free(spec);
    return 0;
}
