/* clnn devices: which OpenCL devices exist, and which one clnn would use. */
#include "args.h"
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COLS = 11, CELL = 160 };

static const char *const headers[COLS] = {"",       "#",        "PLATFORM", "NAME",
                                          "TYPE",   "VENDOR",   "DRIVER",   "OPENCL C",
                                          "CUS",    "GLOBAL MiB", "LOCAL KiB"};
/* Numbers read best right-aligned. */
static const bool right_aligned[COLS] = {false, true,  false, false, false, false,
                                         false, false, true,  true,  true};

typedef struct row {
    char cell[COLS][CELL];
} row;

void cmd_devices_help(void)
{
    printf("Usage: clnn devices [OPTIONS]\n"
           "List every OpenCL device on every platform. '*' marks the default device,\n"
           "the one used when no --device is given: $CLNN_DEVICE if set, else the first\n"
           "GPU, else the first device.\n\n"
           "Options:\n"
           "  -v, --verbose  show the library's debug messages\n"
           "  -h, --help     show this help\n");
}

/* Drivers often pad their strings with blanks; they would misalign the table. */
static void copy_trimmed(char *dst, const char *src)
{
    while (*src == ' ' || *src == '\t')
        src++;
    size_t n = strlen(src);
    while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\t' || src[n - 1] == '\n'))
        n--;
    if (n >= CELL)
        n = CELL - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void fill_row(row *r, const clnn_device_info *d, bool is_default)
{
    static const char prefix[] = "OpenCL C ";
    const char *clc = d->opencl_c_version;
    if (strncmp(clc, prefix, sizeof prefix - 1) == 0)
        clc += sizeof prefix - 1;
    snprintf(r->cell[0], CELL, "%s", is_default ? "*" : "");
    snprintf(r->cell[1], CELL, "%zu", d->index);
    copy_trimmed(r->cell[2], d->platform);
    copy_trimmed(r->cell[3], d->name);
    snprintf(r->cell[4], CELL, "%s", clnn_device_type_name(d->type));
    copy_trimmed(r->cell[5], d->vendor);
    copy_trimmed(r->cell[6], d->driver_version);
    copy_trimmed(r->cell[7], clc);
    snprintf(r->cell[8], CELL, "%u", d->compute_units);
    snprintf(r->cell[9], CELL, "%" PRIu64, d->global_mem_bytes >> 20);
    snprintf(r->cell[10], CELL, "%" PRIu64, d->local_mem_bytes >> 10);
}

static void print_cell(const int *width, int c, const char *text)
{
    printf(right_aligned[c] ? "%*s" : "%-*s", c + 1 < COLS || right_aligned[c] ? width[c] : 0,
           text);
    fputs(c + 1 < COLS ? "  " : "\n", stdout);
}

static void print_table(const row *rows, size_t n)
{
    int width[COLS];
    for (int c = 0; c < COLS; c++) {
        width[c] = (int)strlen(headers[c]);
        for (size_t i = 0; i < n; i++) {
            int w = (int)strlen(rows[i].cell[c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    for (int c = 0; c < COLS; c++)
        print_cell(width, c, headers[c]);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < COLS; c++)
            print_cell(width, c, rows[i].cell[c]);
}

static int parse_options(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"verbose", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":hv", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            cmd_devices_help();
            return CLI_EXIT_OK;
        case 'v':
            cli_log_set_verbose(true);
            break;
        default:
            return cli_getopt_error("devices", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("devices", "unexpected argument '%s'", argv[optind]);
    return -1;
}

int cmd_devices(int argc, char **argv)
{
    int done = parse_options(argc, argv);
    if (done >= 0)
        return done;

    size_t n = 0;
    if (clnn_device_count(&n) != CLNN_OK)
        return cli_library_error();
    if (n == 0)
        return cli_error("OpenCL platforms are installed but report no devices; install a "
                         "driver for your hardware, or pocl-opencl-icd to run on the CPU");

    /* A bad $CLNN_DEVICE must not hide the list the user needs to fix it. */
    size_t chosen = SIZE_MAX;
    bool have_default = clnn_device_select(NULL, &chosen) == CLNN_OK;
    char select_error[512] = "";
    if (!have_default)
        snprintf(select_error, sizeof select_error, "%s", clnn_last_error());

    row *rows = calloc(n, sizeof *rows);
    if (!rows)
        return cli_error("out of memory listing %zu devices", n);
    for (size_t i = 0; i < n; i++) {
        clnn_device_info info = {.struct_size = sizeof info};
        if (clnn_device_get_info(i, &info) != CLNN_OK) {
            free(rows);
            return cli_library_error();
        }
        fill_row(&rows[i], &info, have_default && i == chosen);
    }
    print_table(rows, n);
    free(rows);
    /* The matrix-product backends this build and system offer. */
    if (clnn_gemm_backend_available(CLNN_GEMM_CLBLAST) == CLNN_OK)
        printf("\nmatrix products: clnn's own kernels and CLBlast\n");
    else
        printf("\nmatrix products: clnn's own kernels (%s)\n", clnn_last_error());
    if (!have_default)
        fprintf(stderr, "clnn: warning: no default device: %s\n", select_error);
    return CLI_EXIT_OK;
}
