/* GEMM through CLBlast. CLBlast 1.5's kernel cache is not safe for concurrent
 * calls, so calls from every context are serialised by one process-wide lock. */
#include "gemm/gemm.h"

#include <clblast_c.h>

static once_flag lock_once = ONCE_FLAG_INIT;
static mtx_t lock;

static void lock_init(void)
{
    mtx_init(&lock, mtx_plain);
}

/* CLBlast caches compiled programs per context in a process-wide cache that
 * holds the context alive; clearing it when such a context goes keeps
 * nothing behind (other contexts recompile on their next call). */
static void forget(clnn_context *ctx)
{
    (void)ctx;
    mtx_lock(&lock);
    CLBlastClearCache();
    mtx_unlock(&lock);
}

clnn_status clnn__gemm_clblast(clnn_context *ctx, const clnn__gemm_args *g)
{
    call_once(&lock_once, lock_init);
    cl_event ev = NULL;
    if (clnn__fault_hit("CLBlastSgemm"))
        return clnn__cl_check(CL_OUT_OF_RESOURCES, "CLBlastSgemm");
    mtx_lock(&lock);
    CLBlastStatusCode s = CLBlastSgemm(
        CLBlastLayoutRowMajor, g->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
        g->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, g->m, g->n, g->k, g->alpha, g->a,
        g->a_off, g->lda, g->b, g->b_off, g->ldb, g->beta, g->c, g->c_off, g->ldc, &ctx->queue,
        clnn__profile_event(ctx, &ev));
    ctx->before_free = forget;
    mtx_unlock(&lock);
    if (ev)
        clnn__live_add(CLNN__LIVE_EVENT, 1);
    clnn__profile_add(ctx, "clblast_sgemm", s == CLBlastSuccess ? ev : NULL);
    if (s == CLBlastSuccess)
        return CLNN_OK;
    if (s < 0 && s > -100) /* OpenCL error codes pass through unchanged */
        return clnn__cl_check((cl_int)s, "CLBlastSgemm");
    return clnn__fail(CLNN_ERR_OPENCL,
                      "CLBlastSgemm (%zu×%zu×%zu) failed with CLBlast status %d; try the other "
                      "GEMM backend with --gemm own or CLNN_GEMM=own",
                      g->m, g->n, g->k, (int)s);
}
