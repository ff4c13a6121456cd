/* The caller's metadata of a network: string keys and values that model
 * files carry in their __metadata__ (model_file.c writes and reads them). */
#include "io/json.h"
#include "net/net_internal.h"

#include <stdlib.h>
#include <string.h>

#define KEY_MAX 255
#define VALUE_MAX (1u << 20)
#define ENTRIES_MAX 1024

bool clnn__meta_reserved(const char *key)
{
    return strncmp(key, "clnn.", 5) == 0 || strncmp(key, "user.", 5) == 0 ||
           strcmp(key, "format") == 0;
}

static size_t find(const clnn_net *net, const char *key)
{
    for (size_t i = 0; i < net->nmeta; i++)
        if (strcmp(net->meta_keys[i], key) == 0)
            return i;
    return SIZE_MAX;
}

static void remove_at(clnn_net *net, size_t i)
{
    free(net->meta_keys[i]);
    free(net->meta_values[i]);
    memmove(net->meta_keys + i, net->meta_keys + i + 1,
            (net->nmeta - i - 1) * sizeof *net->meta_keys);
    memmove(net->meta_values + i, net->meta_values + i + 1,
            (net->nmeta - i - 1) * sizeof *net->meta_values);
    net->nmeta--;
}

/* Set without the caller's checks: loading takes a file's entries as they are. */
static clnn_status put(clnn_net *net, const char *key, const char *value)
{
    if (!value) {
        size_t i = find(net, key);
        if (i != SIZE_MAX)
            remove_at(net, i);
        return CLNN_OK;
    }
    char *v = clnn__strdup(value);
    if (!v)
        return CLNN_ERR_OUT_OF_MEMORY;
    size_t i = find(net, key);
    if (i != SIZE_MAX) {
        free(net->meta_values[i]);
        net->meta_values[i] = v;
        return CLNN_OK;
    }
    char *k = clnn__strdup(key);
    char **keys = realloc(net->meta_keys, (net->nmeta + 1) * sizeof *keys);
    if (keys)
        net->meta_keys = keys;
    char **values = keys ? realloc(net->meta_values, (net->nmeta + 1) * sizeof *values) : NULL;
    if (values)
        net->meta_values = values;
    if (!k || !keys || !values) {
        free(k);
        free(v);
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of host memory for metadata '%s'", key);
    }
    net->meta_keys[net->nmeta] = k;
    net->meta_values[net->nmeta] = v;
    net->nmeta++;
    return CLNN_OK;
}

void clnn__meta_free(clnn_net *net)
{
    for (size_t i = 0; i < net->nmeta; i++) {
        free(net->meta_keys[i]);
        free(net->meta_values[i]);
    }
    free(net->meta_keys);
    free(net->meta_values);
    net->meta_keys = net->meta_values = NULL;
    net->nmeta = 0;
}

clnn_status clnn__meta_load(clnn_net *net, const char *const *keys, const char *const *values,
                            size_t count)
{
    clnn_status st = CLNN_OK;
    for (size_t i = 0; i < count && st == CLNN_OK; i++)
        if (!clnn__meta_reserved(keys[i]) ||
            strncmp(keys[i], CLNN__DATA_PREFIX, strlen(CLNN__DATA_PREFIX)) == 0)
            st = put(net, keys[i], values[i]);
    return st;
}

clnn_status clnn__meta_put(clnn_net *net, const char *key, const char *value)
{
    return put(net, key, value);
}

const char *clnn__meta_get(const clnn_net *net, const char *key)
{
    size_t i = find(net, key);
    return i == SIZE_MAX ? NULL : net->meta_values[i];
}

clnn_status clnn_net_set_metadata(clnn_net *net, const char *key, const char *value)
{
    clnn__clear_error();
    const char *fn = "clnn_net_set_metadata";
    if (!net || !key)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, net ? "key" : "net");
    CLNN__ENTER(net->ctx, fn);
    size_t klen = strlen(key);
    if (klen == 0 || klen > KEY_MAX || !clnn__utf8_valid(key, klen))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s: key must be 1 to %d bytes of UTF-8 (got %zu bytes%s)", fn, KEY_MAX,
                          klen, klen && klen <= KEY_MAX ? " that are not valid UTF-8" : "");
    if (clnn__meta_reserved(key))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s: key '%s' is reserved: the library writes keys beginning with "
                          "\"clnn.\", the entries of clnn_net_save_checkpoint (\"user.\") and "
                          "\"format\" itself; choose another key",
                          fn, key);
    size_t i = find(net, key);
    if (!value) {
        if (i != SIZE_MAX)
            remove_at(net, i);
        return CLNN_OK;
    }
    size_t vlen = strlen(value);
    if (vlen > VALUE_MAX || !clnn__utf8_valid(value, vlen))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s: the value of '%s' must be at most %u bytes of UTF-8 (got %zu "
                          "bytes%s)",
                          fn, key, VALUE_MAX, vlen,
                          vlen <= VALUE_MAX ? " that are not valid UTF-8" : "");
    if (i == SIZE_MAX && net->nmeta >= ENTRIES_MAX)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s: the network already has %d metadata entries, the most it keeps; "
                          "remove one (value NULL) or combine values",
                          fn, ENTRIES_MAX);
    return put(net, key, value);
}

/* Copy s as clnn_net_spec copies: truncated to cap, length needed returned. */
static size_t copy_out(const char *s, char *buf, size_t cap)
{
    size_t len = strlen(s);
    if (buf && cap) {
        size_t n = len < cap ? len : cap - 1;
        memcpy(buf, s, n);
        buf[n] = '\0';
    }
    return len + 1;
}

size_t clnn_net_metadata(const clnn_net *net, const char *key, char *buf, size_t cap)
{
    size_t i = net && key ? find(net, key) : SIZE_MAX;
    if (i == SIZE_MAX) {
        if (buf && cap)
            buf[0] = '\0';
        return 0;
    }
    return copy_out(net->meta_values[i], buf, cap);
}

size_t clnn_net_metadata_count(const clnn_net *net)
{
    return net ? net->nmeta : 0;
}

size_t clnn_net_metadata_key(const clnn_net *net, size_t index, char *buf, size_t cap)
{
    if (!net || index >= net->nmeta) {
        if (buf && cap)
            buf[0] = '\0';
        return 0;
    }
    return copy_out(net->meta_keys[index], buf, cap);
}
