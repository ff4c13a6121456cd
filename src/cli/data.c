/* Data files for the subcommands: loading through clnn_dataset_load, and
 * writing predictions as CSV or .npy without leaving half a file. */
#include "data.h"

#include "cli.h"
#include "os.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && cli_strcasecmp(s + n - k, suffix) == 0;
}

bool data_is_file(const char *path)
{
    if (cli_exists(path))
        return !cli_is_folder(path);
    return ends_with(path, ".csv") || ends_with(path, ".npy") || ends_with(path, ".npz");
}

int data_load(const data_file *f, const clnn_dataset *like, bool labels_optional, const char *flag,
              clnn_dataset **out)
{
    clnn_dataset_options o;
    clnn_dataset_options_init(&o);
    o.label_column = f->label_column;
    o.labels_path = f->labels;
    o.csv_no_header = f->no_header;
    o.labels_optional = labels_optional;
    o.like = like;
    o.target = f->values ? CLNN_TARGET_VALUES : CLNN_TARGET_CLASSES;
    if (clnn_dataset_load(f->path, &o, out) == CLNN_OK)
        return -1;
    return cli_library_error_hint("%s %s", flag, f->path);
}

bool data_output_open(data_output *o, const char *path)
{
    o->path = path;
    o->file = stdout;
    if (!path)
        return true;
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp", path);
    o->file = cli_fopen(o->tmp, "wb");
    return o->file != NULL;
}

bool data_output_close(data_output *o, bool ok)
{
    if (!o->path)
        return fflush(stdout) == 0 && ok;
    if (!o->file)
        return false;
    ok = ok && !ferror(o->file) && cli_sync(o->file);
    int err = errno;
    ok = fclose(o->file) == 0 && ok;
    o->file = NULL;
    if (ok && cli_replace(o->tmp, o->path))
        return true;
    err = err ? err : errno;
    cli_remove(o->tmp);
    errno = err;
    return false;
}

bool data_write_npy_header(FILE *f, size_t rows, size_t cols)
{
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
                     rows, cols);
    /* Padded with spaces to a newline so that the data starts at a multiple
     * of 64 bytes, as NumPy writes it (version 1.0: a 10-byte preamble). */
    size_t header = (size_t)n + 1, total = (10 + header + 63) / 64 * 64;
    size_t hlen = total - 10;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xFF),
                             (unsigned char)(hlen >> 8)};
    bool ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre && fputs(dict, f) >= 0;
    for (size_t i = (size_t)n; ok && i + 1 < hlen; i++)
        ok = fputc(' ', f) != EOF;
    return ok && fputc('\n', f) != EOF;
}

bool data_write_floats_le(FILE *f, const float *v, size_t count)
{
    unsigned char buf[4096];
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        for (int b = 0; b < 4; b++)
            buf[n++] = (unsigned char)(u >> (8 * b));
        if (n == sizeof buf || i + 1 == count) {
            if (fwrite(buf, 1, n, f) != n)
                return false;
            n = 0;
        }
    }
    return true;
}

void data_write_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
