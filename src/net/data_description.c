/* A network's data description: what its inputs and classes are (names,
 * standardisation), kept as the metadata entries "clnn.data.*" that every
 * save writes and loading reads back, and given back as a dataset of no
 * rows to load new inputs like the training data. */
#include "io/dataset.h"
#include "net/net_internal.h"

#include <stdlib.h>
#include <string.h>

#define KEY_FEATURES CLNN__DATA_PREFIX "features"
#define KEY_LABEL CLNN__DATA_PREFIX "label"
#define KEY_CLASSES CLNN__DATA_PREFIX "classes"
#define KEY_MEAN CLNN__DATA_PREFIX "mean"
#define KEY_STD CLNN__DATA_PREFIX "std"

clnn_status clnn_net_set_data_description(clnn_net *net, const clnn_dataset *ds)
{
    clnn__clear_error();
    const char *fn = "clnn_net_set_data_description";
    if (!net || !ds)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, net ? "ds" : "net");
    CLNN__ENTER(net->ctx, fn);
    size_t in = clnn_net_in_features(net), out = clnn_net_out_features(net);
    if (clnn_dataset_features(ds) != in)
        return clnn__fail(CLNN_ERR_SHAPE, "%s: ds has %zu features, the network takes %zu inputs",
                          fn, clnn_dataset_features(ds), in);
    if (out && clnn_dataset_classes(ds) > out)
        return clnn__fail(CLNN_ERR_SHAPE, "%s: ds has %zu classes, the network only %zu outputs",
                          fn, clnn_dataset_classes(ds), out);
    char *features, *classes, *mean, *std;
    clnn_status st = clnn__dataset_description_json(ds, &features, &classes, &mean, &std);
    if (st != CLNN_OK)
        return st;
    const char *keys[] = {KEY_FEATURES, KEY_LABEL, KEY_CLASSES, KEY_MEAN, KEY_STD};
    const char *values[] = {features, clnn_dataset_label_name(ds), classes, mean, std};
    for (size_t i = 0; i < CLNN__ARRAY_LEN(keys) && st == CLNN_OK; i++)
        st = clnn__meta_put(net, keys[i], values[i]);
    free(features);
    free(classes);
    free(mean);
    free(std);
    return st;
}

clnn_status clnn_net_data_description(const clnn_net *net, clnn_dataset **out)
{
    clnn__clear_error();
    const char *fn = "clnn_net_data_description";
    if (!net || !out)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, net ? "out" : "net");
    *out = NULL;
    CLNN__ENTER(net->ctx, fn);
    return clnn__dataset_describe(clnn_net_in_features(net), clnn_net_out_features(net),
                                  clnn__meta_get(net, KEY_FEATURES), clnn__meta_get(net, KEY_LABEL),
                                  clnn__meta_get(net, KEY_CLASSES), clnn__meta_get(net, KEY_MEAN),
                                  clnn__meta_get(net, KEY_STD), "the network's data description",
                                  out);
}
