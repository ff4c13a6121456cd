/* Parser of layer specifications: the stack's grammar (commas, names);
 * kinds and their options come from the table of kinds. */
#include "net/spec.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

const char *clnn_layer_kind_usage(size_t index)
{
    return index < CLNN__LAYER_KIND_COUNT ? clnn__layer_classes[index]->usage : NULL;
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

/* One token "[name=]kind[:options]" of length len, trimmed. */
static clnn_status parse_token(const char *tok, size_t len, size_t pos, clnn__layer_spec *out)
{
    memset(out, 0, sizeof *out);
    /* A name ends at the first '=' before any ':' (options hold '=' too). */
    const char *colon0 = memchr(tok, ':', len);
    const char *eq = memchr(tok, '=', colon0 ? (size_t)(colon0 - tok) : len);
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
    const clnn__spec_token t = {pos, tok, len};
    const char *colon = memchr(tok, ':', len);
    size_t klen = colon ? (size_t)(colon - tok) : len;
    if (!clnn__layer_kind_find(tok, klen, &out->kind)) {
        char help[512];
        clnn__layer_kinds_help(help, sizeof help);
        return clnn__fail(CLNN_ERR_SPEC, "layer %zu: unknown layer kind '%.*s'; %s", pos + 1,
                          (int)klen, tok, help);
    }
    const clnn__layer_class *c = clnn__layer_classes[out->kind];
    if (c->parse)
        return c->parse(&t, colon ? colon + 1 : NULL, colon ? len - klen - 1 : 0, out);
    if (colon)
        return clnn__spec_fail(&t, "%s takes no size or options; write it as %s", c->name,
                               c->name);
    return CLNN_OK;
}

/* Whether the piece [a, b) after a comma carries more options of the layer
 * token [tok, tok_end) ("bn:eps=1e-3,momentum=0.05") rather than starting
 * a layer: the token has key=value options, and the piece is key=value
 * with a value that is no layer kind ("fc2=dense:10" starts a layer). */
static bool continues_options(const char *tok, const char *tok_end, const char *a, const char *b)
{
    const char *colon = memchr(tok, ':', (size_t)(tok_end - tok));
    if (!colon || !memchr(colon, '=', (size_t)(tok_end - colon)))
        return false;
    const char *eq = memchr(a, '=', (size_t)(b - a));
    if (!eq)
        return false;
    const char *v = eq + 1, *v_end = memchr(v, ':', (size_t)(b - v));
    if (!v_end)
        v_end = b;
    while (v < v_end && isspace((unsigned char)*v))
        v++;
    while (v_end > v && isspace((unsigned char)v_end[-1]))
        v_end--;
    clnn__layer_kind kind;
    return !clnn__layer_kind_find(v, (size_t)(v_end - v), &kind);
}

clnn_status clnn__spec_parse(const char *spec, clnn__layer_spec **layers_out, size_t *count_out)
{
    *layers_out = NULL;
    *count_out = 0;
    char help[512];
    if (!spec) {
        clnn__layer_kinds_help(help, sizeof help);
        return clnn__fail(CLNN_ERR_SPEC, "no layer specification given; %s", help);
    }
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
        while (*end) {
            const char *next = strchr(end + 1, ',');
            if (!next)
                next = end + strlen(end);
            if (!continues_options(p, end, end + 1, next))
                break;
            end = next;
        }
        const char *a = p, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (a == b) {
            free(layers);
            clnn__layer_kinds_help(help, sizeof help);
            return clnn__fail(CLNN_ERR_SPEC, "empty layer at position %zu of \"%s\"; %s",
                              count + 1, spec, help);
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
