/* clnn_context_create: the runtime's context (device, queue, programs),
 * then the GEMM part's state for it (the device's tuning file). Teardown
 * needs no call from here: the GEMM part hangs its release on the
 * context's before_free hook when it makes its state. */
#include "gemm/gemm.h"

clnn_status clnn_context_create(const clnn_context_options *options, clnn_context **out)
{
    clnn__clear_error();
    if (!out)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "clnn_context_create: out is NULL");
    *out = NULL;
    clnn_context *ctx;
    clnn_status st = clnn__context_make(options, &ctx);
    if (st != CLNN_OK)
        return st;
    /* What the making reports goes to the context's own callback. */
    clnn__log_sink before = clnn__log_route((clnn__log_sink){ctx->log, ctx->log_user});
    st = clnn__gemm_context_init(ctx);
    if (st == CLNN_OK)
        clnn__log(CLNN_LOG_INFO, "device %zu: %s (%s), GEMM backend %s", ctx->info.index,
                  ctx->info.name, ctx->info.platform, clnn_gemm_backend_name(ctx->gemm));
    clnn__log_route(before);
    if (st != CLNN_OK) {
        clnn_context_free(ctx);
        return st;
    }
    *out = ctx;
    return CLNN_OK;
}
