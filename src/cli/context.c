/* Context creation and one-line descriptions shared by the subcommands that run on a device. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

clnn_status cli_context_open(const char *device, clnn_gemm_backend gemm, clnn_context **ctx)
{
    clnn_context_options opts;
    clnn_context_options_init(&opts);
    opts.device = device;
    opts.gemm = gemm;
    return clnn_context_create(&opts, ctx);
}

void cli_describe_device(const clnn_context *ctx, char *buf, size_t cap)
{
    clnn_device_info info = {.struct_size = sizeof info};
    if (clnn_context_get_device_info(ctx, &info) != CLNN_OK) {
        /* Only a description for the log; the next real call reports any fault. */
        snprintf(buf, cap, "(unknown device)");
        return;
    }
    snprintf(buf, cap, "%s (%s, %s)", info.name, info.platform, clnn_device_type_name(info.type));
}

char *cli_net_spec(const clnn_net *net)
{
    size_t need = clnn_net_spec(net, NULL, 0);
    char *spec = malloc(need + 1);
    if (spec)
        clnn_net_spec(net, spec, need + 1);
    return spec;
}
