/* LayerNorm over each row's features, torch.nn.LayerNorm(features) with
 * eps 1e-5 and elementwise_affine=True (kernels/layernorm.cl). Its
 * statistics are per row, so data-parallel replicas need nothing but the
 * allreduce of its weight and bias, which every declared parameter gets. */
#include "layers/columns.h"
#include "layers/layer.h"

#define LN_EPS 1e-5f

typedef struct ln_state {
    size_t weight_off, bias_off; /* γ and β in params (and grads) */
    /* Each row's mean and invstd from the last forward, for backward:
     * 2 floats a row, for up to stats_rows rows (grown with the batch). */
    cl_mem row_stats;
    size_t stats_rows;
    clnn__kernel_ref forward, backward_input;
    clnn__column_kernel backward_params;
} ln_state;

/* Room for this many rows from the start; a larger batch regrows it. */
#define LN_FIRST_ROWS 256

static bool width_source(const clnn__layer_spec *spec, const char **suffix, size_t *ndim,
                         size_t *dim)
{
    *suffix = "weight"; /* [features] */
    *ndim = 1;
    *dim = 0;
    return true;
}

static size_t declare(clnn__layer *l, clnn__tensor_decl out[CLNN__LAYER_TENSORS_MAX])
{
    ln_state *s = l->state;
    out[0] = (clnn__tensor_decl){.suffix = "weight", .storage = CLNN__IN_PARAMS, .ndim = 1,
                                 .shape = {l->out}, .offset = &s->weight_off};
    out[1] = (clnn__tensor_decl){.suffix = "bias", .storage = CLNN__IN_PARAMS, .ndim = 1,
                                 .shape = {l->out}, .offset = &s->bias_off};
    return 2;
}

/* PyTorch's reset_parameters: weight 1, bias 0; nothing drawn. */
static void init(clnn__layer *l, clnn__rng *rng, float *params, float *stats)
{
    const ln_state *s = l->state;
    for (size_t j = 0; j < l->out; j++) {
        params[s->weight_off + j] = 1.0f;
        params[s->bias_off + j] = 0.0f;
    }
}

static size_t buffers(clnn__layer *l, clnn__buffer_decl out[CLNN__LAYER_BUFFERS_MAX])
{
    ln_state *s = l->state;
    if (!s->row_stats)
        s->stats_rows = LN_FIRST_ROWS;
    out[0] = (clnn__buffer_decl){&s->row_stats, 2 * s->stats_rows * sizeof(float), false};
    return 1;
}

static void prepare(clnn__layer *l, clnn_context *ctx)
{
    ln_state *s = l->state;
    clnn__kernel_ref_init(&s->forward, "layernorm", NULL, "ln_forward");
    clnn__kernel_ref_init(&s->backward_input, "layernorm", NULL, "ln_backward_input");
    clnn__column_kernel_init(ctx, &s->backward_params, "layernorm", "ln_backward_params", l->out);
}

/* Room for rows rows of statistics. The old buffer goes once the launches
 * queued with it have run (OpenCL keeps it until then); profiling's
 * records of launches name it, so they are forgotten first. */
static clnn_status reserve_rows(ln_state *s, clnn_context *ctx, size_t rows)
{
    if (rows <= s->stats_rows)
        return CLNN_OK;
    cl_mem grown = NULL;
    clnn_status st = clnn__buffer_create(ctx, 2 * rows * sizeof(float), &grown);
    if (st != CLNN_OK)
        return st;
    clnn__replay_forget(ctx);
    clnn__buffer_release(&s->row_stats);
    s->row_stats = grown;
    s->stats_rows = rows;
    return CLNN_OK;
}

static clnn_status forward(clnn__layer *l, const clnn__exec *e, const clnn__layer_plan *p,
                           const clnn__rows *x, cl_mem y, cl_mem next_y)
{
    ln_state *s = l->state;
    cl_kernel k;
    clnn_status st = reserve_rows(s, e->ctx, e->rows);
    if (st == CLNN_OK)
        st = clnn__kernel_ref_get(e->ctx, &s->forward, &k);
    if (st != CLNN_OK)
        return st;
    int rows = (int)e->rows, cols = (int)l->out, ld_x = (int)x->ld, ld_y = (int)l->ld;
    int goff = (int)s->weight_off, boff = (int)s->bias_off;
    float eps = LN_EPS;
    const size_t global[1] = {e->rows};
    /* Minimum traffic: read x (its second pass hits cache), write y. */
    clnn__profile_work(e->ctx, 0, 8.0 * e->rows * l->out);
    return CLNN__LAUNCH(e->ctx, k, "ln_forward", 1, global, NULL, CLNN__ARG(x->buf),
                        CLNN__ARG(y), CLNN__ARG(rows), CLNN__ARG(cols), CLNN__ARG(ld_x),
                        CLNN__ARG(ld_y), CLNN__ARG(e->params), CLNN__ARG(goff), CLNN__ARG(boff),
                        CLNN__ARG(s->row_stats), CLNN__ARG(eps));
}

/* The statistics are the row's own in both modes, so backward is the same
 * in training and evaluation. */
static clnn_status backward(clnn__layer *l, const clnn__exec *e, const clnn__layer_plan *p,
                            cl_mem x, cl_mem y, cl_mem dy, cl_mem dx)
{
    ln_state *s = l->state;
    clnn_context *ctx = e->ctx;
    cl_kernel kp;
    clnn_status st = clnn__kernel_ref_get(ctx, &s->backward_params.ref, &kp);
    if (st != CLNN_OK)
        return st;
    int rows = (int)e->rows, cols = (int)l->out, ld_x = (int)l->ld_in, ld_y = (int)l->ld;
    int goff = (int)s->weight_off, boff = (int)s->bias_off;
    clnn__profile_work(ctx, 0, 8.0 * e->rows * l->out);
    st = CLNN__LAUNCH(ctx, kp, "ln_backward_params", 1, s->backward_params.global,
                      clnn__column_local(&s->backward_params), CLNN__ARG(x), CLNN__ARG(dy),
                      CLNN__ARG(rows), CLNN__ARG(cols), CLNN__ARG(ld_x), CLNN__ARG(ld_y),
                      CLNN__ARG(s->row_stats), CLNN__ARG(e->grads), CLNN__ARG(goff),
                      CLNN__ARG(boff));
    if (st != CLNN_OK || !dx)
        return st;
    cl_kernel ki;
    st = clnn__kernel_ref_get(ctx, &s->backward_input, &ki);
    if (st != CLNN_OK)
        return st;
    const size_t global[1] = {e->rows};
    clnn__profile_work(ctx, 0, 12.0 * e->rows * l->out);
    return CLNN__LAUNCH(ctx, ki, "ln_backward_input", 1, global, NULL, CLNN__ARG(x),
                        CLNN__ARG(dy), CLNN__ARG(dx), CLNN__ARG(rows), CLNN__ARG(cols),
                        CLNN__ARG(ld_x), CLNN__ARG(ld_y), CLNN__ARG(e->params), CLNN__ARG(goff),
                        CLNN__ARG(s->row_stats));
}

const clnn__layer_class clnn__layer_class_layernorm = {
    .name = "layernorm",
    .info_name = "layernorm",
    .usage = "layernorm",
    .width_source = width_source,
    .state_size = sizeof(ln_state),
    .declare = declare,
    .init = init,
    .buffers = buffers,
    .min_train_rows = 1,
    .prepare = prepare,
    .forward = forward,
    .backward = backward,
};
