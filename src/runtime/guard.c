/* One thread at a time per context (and the networks on it): every public
 * call on a context or network enters through clnn__enter, which claims the
 * context with one atomic compare-and-swap and gives it back when the call
 * returns. A second thread arriving meanwhile gets CLNN_ERR_STATE instead of
 * racing on the queue and the network's buffers; a call made from within
 * another on the same thread (the library calling itself) passes. While a
 * call runs, the context's own log callback receives its messages. */
#include "runtime/runtime.h"

/* Any address unique to the thread names it. */
static CLNN__THREAD_LOCAL char thread_mark;

clnn_status clnn__enter(clnn_context *ctx, const char *call, clnn__entry *e)
{
    e->ctx = NULL;
    uintptr_t self = (uintptr_t)&thread_mark, holder = 0;
    if (atomic_compare_exchange_strong(&ctx->holder, &holder, self)) {
        e->ctx = ctx;
        e->before = clnn__log_route((clnn__log_sink){ctx->log, ctx->log_user});
        return CLNN_OK;
    }
    if (holder == self)
        return CLNN_OK;
    return clnn__fail(CLNN_ERR_STATE,
                      "%s: the context (or a network made on it) is in use by another thread "
                      "right now; one thread at a time may use a context and its networks: "
                      "give each thread its own context, or serialise the calls",
                      call);
}

void clnn__exit(clnn__entry *e)
{
    if (!e->ctx)
        return;
    clnn__log_route(e->before);
    atomic_store(&e->ctx->holder, 0);
}
