/* SGD and Adam over the flat parameter buffer (kernels/optimizer.cl). */
#include "net/net_internal.h"

#include <math.h>

static clnn_status sgd(clnn_net *net)
{
    const clnn_optimizer_options *o = &net->opt;
    clnn__column_kernel *ck = &net->kernels.sgd;
    cl_kernel k;
    clnn_status st = clnn__kernel_ref_get(net->ctx, &ck->ref, &k);
    if (st != CLNN_OK)
        return st;
    int n = (int)net->nparams_padded, nesterov = o->nesterov ? 1 : 0, first = net->opt_steps == 0;
    float lr = (float)o->lr, wd = (float)o->weight_decay, mom = (float)o->momentum;
    float one_minus_damp = (float)(1.0 - o->dampening);
    return CLNN__LAUNCH(net->ctx, k, "sgd_step", 1, ck->global, clnn__column_local(ck),
                        CLNN__ARG(net->params), CLNN__ARG(net->grads), CLNN__ARG(net->opt_a),
                        CLNN__ARG(n), CLNN__ARG(lr), CLNN__ARG(wd), CLNN__ARG(mom),
                        CLNN__ARG(one_minus_damp), CLNN__ARG(nesterov), CLNN__ARG(first));
}

static clnn_status adam(clnn_net *net)
{
    const clnn_optimizer_options *o = &net->opt;
    clnn__column_kernel *ck = &net->kernels.adam;
    cl_kernel k;
    clnn_status st = clnn__kernel_ref_get(net->ctx, &ck->ref, &k);
    if (st != CLNN_OK)
        return st;
    double t = (double)(net->opt_steps + 1);
    double bc1 = 1.0 - pow(o->beta1, t), bc2 = 1.0 - pow(o->beta2, t);
    int n = (int)net->nparams_padded;
    float wd = (float)o->weight_decay, b1 = (float)o->beta1, b2 = (float)o->beta2;
    float omb1 = (float)(1.0 - o->beta1), omb2 = (float)(1.0 - o->beta2);
    float step_size = (float)(o->lr / bc1), bc2_sqrt = (float)sqrt(bc2), eps = (float)o->eps;
    return CLNN__LAUNCH(net->ctx, k, "adam_step", 1, ck->global, clnn__column_local(ck),
                        CLNN__ARG(net->params), CLNN__ARG(net->grads), CLNN__ARG(net->opt_a),
                        CLNN__ARG(net->opt_b), CLNN__ARG(n), CLNN__ARG(wd), CLNN__ARG(b1),
                        CLNN__ARG(omb1), CLNN__ARG(b2), CLNN__ARG(omb2), CLNN__ARG(step_size),
                        CLNN__ARG(bc2_sqrt), CLNN__ARG(eps));
}

clnn_status clnn__find_nonfinite(clnn_net *net)
{
    clnn__column_kernel *ck = &net->kernels.find_nonfinite;
    cl_kernel k;
    clnn_status st = clnn__kernel_ref_get(net->ctx, &ck->ref, &k);
    if (st != CLNN_OK)
        return st;
    int n = (int)net->nparams_padded, flag_at = CLNN__METRICS_DIVERGED;
    clnn__profile_scope(net->ctx, "divergence check");
    clnn__profile_work(net->ctx, 0, sizeof(float) * (double)net->nparams);
    return CLNN__LAUNCH(net->ctx, k, "find_nonfinite", 1, ck->global, clnn__column_local(ck),
                        CLNN__ARG(net->params), CLNN__ARG(n), CLNN__ARG(net->metrics),
                        CLNN__ARG(flag_at));
}

clnn_status clnn__optimizer_step(clnn_net *net)
{
    clnn__profile_scope(net->ctx, "optimizer");
    double arrays = net->opt.kind == CLNN_OPTIMIZER_ADAM ? 7 : 5; /* reads + writes */
    clnn__profile_work(net->ctx, 0, arrays * sizeof(float) * (double)net->nparams);
    clnn_status st = net->opt.kind == CLNN_OPTIMIZER_ADAM ? adam(net) : sgd(net);
    if (st == CLNN_OK)
        net->opt_steps++;
    net->params_unchecked = true; /* see clnn__net_params_finite */
    return st;
}

void clnn_optimizer_options_init(clnn_optimizer_options *o, clnn_optimizer_kind kind)
{
    if (!o)
        return;
    *o = (clnn_optimizer_options){.struct_size = sizeof *o, .kind = kind,
                                  .lr = kind == CLNN_OPTIMIZER_ADAM ? 1e-3 : 1e-2, .beta1 = 0.9,
                                  .beta2 = 0.999, .eps = 1e-8};
}
