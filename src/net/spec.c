/* Parser of layer specifications. */
#include "net/spec.h"

#include "base/platform.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_HELP                                                                                  \
    "layers are dense:N (or linear:N), bn (or batchnorm1d) and relu, separated by commas, "        \
    "each optionally named as name=kind, e.g. \"fc1=dense:256,bn1=bn,relu,fc2=dense:10\""

const char *clnn__layer_kind_name(clnn__layer_kind kind)
{
    switch (kind) {
    case CLNN__LAYER_DENSE:
        return "dense";
    case CLNN__LAYER_BATCHNORM1D:
        return "bn";
    case CLNN__LAYER_RELU:
        return "relu";
    }
    return "?";
}

/* A first layer's input needs no gradient, so its backward is dW alone, and
 * with W stored [in, out] both of its GEMMs take the outer-product kernel
 * (forward X·W, gradient Xᵀ·dY) instead of the dot kernel and a dW = dYᵀ·X
 * whose long side is the input's. At the reference network's 784→256 layer
 * on PoCL that was 490 against 424 GFLOP/s forward and 476 against 385 for
 * dW at batch 256. Deeper layers need dx = dY·W too, which the transposed
 * form turns into the slower dot kernel (256→128: 268 against 348 GFLOP/s),
 * and outputs narrower than the outer kernel's tile (32 on CPUs) would fall
 * to the general kernel. The rule depends on the stack alone, never on the
 * device, so replicas on different devices sum gradients laid out alike.
 * CLNN_TRANSPOSED_WEIGHTS=0 turns it off. */
#define TRANSPOSED_MIN_UNITS 32

bool clnn__spec_weight_transposed(const clnn__layer_spec *layer, size_t index)
{
    char buf[8];
    const char *env = clnn__debug_env("CLNN_TRANSPOSED_WEIGHTS", buf, sizeof buf);
    return index == 0 && layer->kind == CLNN__LAYER_DENSE &&
           layer->units >= TRANSPOSED_MIN_UNITS && !(env && strcmp(env, "0") == 0);
}

bool clnn__spec_valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= CLNN__NAME_MAX)
        return false;
    if (!(isalpha((unsigned char)name[0]) || name[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)name[i]) || name[i] == '_'))
            return false;
    /* Reserved: checkpoints keep their own tensors under these prefixes. */
    return strcmp(name, "optimizer") != 0 && strcmp(name, "clnn") != 0;
}

static bool equals_nocase(const char *a, size_t alen, const char *b)
{
    if (strlen(b) != alen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (tolower((unsigned char)a[i]) != b[i])
            return false;
    return true;
}

/* One token "[name=]kind[:units]" of length len, trimmed. */
static clnn_status parse_token(const char *tok, size_t len, size_t pos, clnn__layer_spec *out)
{
    memset(out, 0, sizeof *out);
    const char *eq = memchr(tok, '=', len);
    if (eq) {
        size_t nlen = (size_t)(eq - tok);
        if (nlen >= CLNN__NAME_MAX)
            return clnn__fail(CLNN_ERR_SPEC, "layer %zu ('%.*s'): name longer than %d characters",
                              pos + 1, (int)len, tok, CLNN__NAME_MAX - 1);
        memcpy(out->name, tok, nlen);
        out->name[nlen] = '\0';
        if (!clnn__spec_valid_name(out->name))
            return clnn__fail(CLNN_ERR_SPEC,
                              "layer %zu ('%.*s'): '%s' is not a valid name (letters, digits "
                              "and _, not starting with a digit; 'optimizer' and 'clnn' are reserved)",
                              pos + 1, (int)len, tok, out->name);
        len -= nlen + 1;
        tok = eq + 1;
    }
    const char *colon = memchr(tok, ':', len);
    size_t klen = colon ? (size_t)(colon - tok) : len;
    if (equals_nocase(tok, klen, "dense") || equals_nocase(tok, klen, "linear")) {
        out->kind = CLNN__LAYER_DENSE;
        if (!colon)
            return clnn__fail(CLNN_ERR_SPEC,
                              "layer %zu ('%.*s'): dense needs its output size, as dense:N",
                              pos + 1, (int)len, tok);
        const char *p = colon + 1, *end = tok + len;
        size_t v = 0;
        if (p == end)
            return clnn__fail(CLNN_ERR_SPEC, "layer %zu ('%.*s'): missing size after ':'",
                              pos + 1, (int)len, tok);
        for (; p < end; p++) {
            if (!isdigit((unsigned char)*p))
                return clnn__fail(CLNN_ERR_SPEC,
                                  "layer %zu ('%.*s'): size must be a positive integer", pos + 1,
                                  (int)len, tok);
            v = v * 10 + (size_t)(*p - '0');
            if (v > CLNN__UNITS_MAX)
                return clnn__fail(CLNN_ERR_SPEC, "layer %zu ('%.*s'): size above %d", pos + 1,
                                  (int)len, tok, CLNN__UNITS_MAX);
        }
        if (v == 0)
            return clnn__fail(CLNN_ERR_SPEC, "layer %zu ('%.*s'): size must be at least 1",
                              pos + 1, (int)len, tok);
        out->units = v;
        return CLNN_OK;
    }
    if (colon)
        return clnn__fail(CLNN_ERR_SPEC, "layer %zu ('%.*s'): only dense takes a size", pos + 1,
                          (int)len, tok);
    if (equals_nocase(tok, klen, "bn") || equals_nocase(tok, klen, "batchnorm1d") ||
        equals_nocase(tok, klen, "batchnorm"))
        out->kind = CLNN__LAYER_BATCHNORM1D;
    else if (equals_nocase(tok, klen, "relu"))
        out->kind = CLNN__LAYER_RELU;
    else
        return clnn__fail(CLNN_ERR_SPEC, "layer %zu: unknown layer kind '%.*s'; %s", pos + 1,
                          (int)klen, tok, SPEC_HELP);
    return CLNN_OK;
}

clnn_status clnn__spec_parse(const char *spec, clnn__layer_spec **layers_out, size_t *count_out)
{
    *layers_out = NULL;
    *count_out = 0;
    if (!spec)
        return clnn__fail(CLNN_ERR_SPEC, "no layer specification given; %s", SPEC_HELP);
    size_t cap = 1;
    for (const char *p = spec; *p; p++)
        cap += *p == ',';
    clnn__layer_spec *layers = clnn__calloc(cap, sizeof *layers);
    if (!layers)
        return CLNN_ERR_OUT_OF_MEMORY;
    size_t count = 0;
    const char *p = spec;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (a == b) {
            free(layers);
            return clnn__fail(CLNN_ERR_SPEC, "empty layer at position %zu of \"%s\"; %s",
                              count + 1, spec, SPEC_HELP);
        }
        clnn_status st = parse_token(a, (size_t)(b - a), count, &layers[count]);
        if (st != CLNN_OK) {
            free(layers);
            return st;
        }
        for (size_t i = 0; i < count && layers[count].name[0]; i++) {
            if (strcmp(layers[i].name, layers[count].name) == 0) {
                /* The message needs the name: record it before freeing. */
                st = clnn__fail(CLNN_ERR_SPEC, "layer name '%s' is used twice", layers[i].name);
                free(layers);
                return st;
            }
        }
        count++;
        if (!*end)
            break;
        p = end + 1;
    }
    *layers_out = layers;
    *count_out = count;
    return CLNN_OK;
}
