/* The loss (kernels/loss.cl): softmax cross-entropy against class labels,
 * mean over the batch, or mean squared error against float targets, mean
 * over the batch's rows × outputs; and the choice between them. */
#include "io/safetensors.h"
#include "net/net_internal.h"

#include <math.h>
#include <string.h>

const char *clnn_loss_name(clnn_loss_kind loss)
{
    switch (loss) {
    case CLNN_LOSS_CROSS_ENTROPY:
        return "cross_entropy";
    case CLNN_LOSS_MSE:
        return "mse";
    }
    return NULL;
}

clnn_loss_kind clnn_net_loss(const clnn_net *net)
{
    return net ? net->loss : CLNN_LOSS_CROSS_ENTROPY;
}

size_t clnn__target_width(const clnn_net *net)
{
    return net->loss == CLNN_LOSS_MSE ? clnn_net_out_features(net) : 1;
}

clnn_status clnn_net_set_loss(clnn_net *net, clnn_loss_kind loss)
{
    clnn__clear_error();
    const char *fn = "clnn_net_set_loss";
    if (!net)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: net is NULL", fn);
    CLNN__ENTER(net->ctx, fn);
    if (!clnn_loss_name(loss))
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                          "%s: loss is %d: use CLNN_LOSS_CROSS_ENTROPY or CLNN_LOSS_MSE", fn,
                          (int)loss);
    if (loss == net->loss)
        return CLNN_OK;
    /* The device's training set holds labels or targets for one loss. */
    if (net->data.x)
        return clnn__fail(CLNN_ERR_STATE,
                          "%s: the network holds a training set for its %s loss; free it first "
                          "(clnn_net_set_data(net, NULL, 0, 0, NULL, 0))",
                          fn, clnn_loss_name(net->loss));
    net->loss = loss;
    /* The input buffer may lack room for the new kind's targets: a backward
     * needs a forward made under the new loss. */
    net->forward_done = net->backward_done = false;
    net->labels_sent = false;
    return CLNN_OK;
}

clnn_status clnn__loss_check(const clnn_net *net, const char *fn, clnn_loss_kind want)
{
    if (net->loss == want)
        return CLNN_OK;
    if (want == CLNN_LOSS_CROSS_ENTROPY)
        return clnn__fail(CLNN_ERR_STATE,
                          "%s takes class labels, but the network's loss is mse (float "
                          "targets): use %s_targets, or clnn_net_set_loss(net, "
                          "CLNN_LOSS_CROSS_ENTROPY) to classify",
                          fn, fn);
    size_t base = strlen(fn) - strlen("_targets");
    return clnn__fail(CLNN_ERR_STATE,
                      "%s takes float targets for the mse loss, but the network's loss is "
                      "cross_entropy (class labels): choose it with clnn_net_set_loss(net, "
                      "CLNN_LOSS_MSE), or give labels to %.*s",
                      fn, (int)base, fn);
}

clnn_status clnn__check_y(const clnn_net *net, const char *fn, const void *y, size_t rows)
{
    if (net->loss != CLNN_LOSS_MSE)
        return clnn__check_labels(net, fn, y, rows);
    const float *t = y;
    const size_t k = clnn_net_out_features(net);
    for (size_t i = 0; i < rows * k; i++)
        if (!isfinite(t[i]))
            return clnn__fail(CLNN_ERR_NONFINITE,
                              "%s: target %zu of sample %zu is %s; every target must be a finite "
                              "number (clean the data first)",
                              fn, i % k, i / k, isnan(t[i]) ? "NaN" : "infinite");
    return CLNN_OK;
}

clnn_status clnn__loss_from_file(const struct clnn__st_file *f, const char *source,
                                 clnn_loss_kind *loss)
{
    const char *v = clnn__st_meta(f, "clnn.loss");
    *loss = CLNN_LOSS_CROSS_ENTROPY; /* files from before the loss was recorded */
    if (!v || strcmp(v, "cross_entropy") == 0)
        return CLNN_OK;
    if (strcmp(v, "mse") == 0) {
        *loss = CLNN_LOSS_MSE;
        return CLNN_OK;
    }
    return clnn__fail(CLNN_ERR_BAD_FILE,
                      "%s: metadata clnn.loss='%.64s' is no loss this version knows "
                      "(cross_entropy or mse)",
                      source, v);
}

/* loss_reduce after the per-row kernel of either loss: the rows' losses into
 * the metrics slot and, with bias_off >= 0, dz's column sums into grads. */
static clnn_status reduce_rows(clnn_net *net, cl_kernel reduce, int r, int slot, cl_mem dz_arg,
                               int c, int bias_off)
{
    const size_t one[1] = {1};
    return CLNN__LAUNCH(net->ctx, reduce, "loss_reduce", 1, one, NULL, CLNN__ARG(net->row_loss),
                        CLNN__ARG(net->row_correct), CLNN__ARG(r), CLNN__ARG(net->metrics),
                        CLNN__ARG(slot), CLNN__ARG(dz_arg), CLNN__ARG(c), CLNN__ARG(net->grads),
                        CLNN__ARG(bias_off));
}

/* Mean squared error: mse writes each row's loss (the mean of its squared
 * errors, so that loss_reduce's mean over rows is the mean over every
 * element) and dz = 2 (z − t) / (mean_rows × outputs), as torch's
 * mse_loss_backward; loss_reduce sums them as for cross-entropy. */
static clnn_status mse(clnn_net *net, cl_mem z, size_t rows, size_t mean_rows, size_t outputs,
                       cl_mem dz, int slot, long bias_grad)
{
    clnn_context *ctx = net->ctx;
    cl_kernel k, reduce;
    int r = (int)rows, c = (int)outputs, want_grad = dz ? 1 : 0;
    float scale = (float)(2.0 / ((double)mean_rows * (double)outputs));
    float inv_outputs = (float)(1.0 / (double)outputs);
    cl_mem dz_arg = dz ? dz : z; /* never written when want_grad is 0 */
    int targets_off = (int)net->labels_off;
    int bias_off = bias_grad >= 0 && dz ? (int)bias_grad : -1;
    clnn__profile_work(ctx, 0, (dz ? 5.0 : 3.0) * rows * outputs);
    clnn_status st = clnn__kernel_ref_get(ctx, &net->kernels.mse, &k);
    if (st == CLNN_OK)
        st = clnn__kernel_ref_get(ctx, &net->kernels.loss_sum, &reduce);
    if (st != CLNN_OK)
        return st;
    const size_t global[1] = {rows};
    st = CLNN__LAUNCH(ctx, k, "mse", 1, global, NULL, CLNN__ARG(z), CLNN__ARG(net->labels),
                      CLNN__ARG(targets_off), CLNN__ARG(r), CLNN__ARG(c), CLNN__ARG(scale),
                      CLNN__ARG(inv_outputs), CLNN__ARG(want_grad), CLNN__ARG(dz_arg),
                      CLNN__ARG(net->row_loss), CLNN__ARG(net->row_correct));
    if (st != CLNN_OK)
        return st;
    return reduce_rows(net, reduce, r, slot, dz_arg, c, bias_off);
}

clnn_status clnn__loss(clnn_net *net, cl_mem z, size_t rows, size_t mean_rows, size_t classes,
                       cl_mem dz, int slot, long bias_grad)
{
    if (net->loss == CLNN_LOSS_MSE)
        return mse(net, z, rows, mean_rows, classes, dz, slot, bias_grad);
    clnn_context *ctx = net->ctx;
    clnn__net_kernels *nk = &net->kernels;
    cl_kernel k, reduce;
    int r = (int)rows, c = (int)classes, want_grad = dz ? 1 : 0;
    float scale = 1.0f / (float)mean_rows;
    cl_mem dz_arg = dz ? dz : z; /* never written when want_grad is 0 */
    int labels_off = (int)net->labels_off;
    int bias_off = bias_grad >= 0 && dz ? (int)bias_grad : -1;
    clnn__profile_work(ctx, 0, (dz ? 8.0 : 4.0) * rows * classes);
    if (nk->loss_rows16 && net->fusion) {
        /* One work-group of up to 64 work-items, each taking 16-row blocks. */
        size_t items = (rows + 15) / 16, cap = ctx->info.max_work_group_size;
        size_t local[1] = {items < 64 ? items : 64};
        if (cap && local[0] > cap)
            local[0] = cap;
        clnn_status st = clnn__kernel_ref_get(ctx, &nk->loss_one, &k);
        if (st != CLNN_OK)
            return st;
        return CLNN__LAUNCH(ctx, k, "softmax_xent_reduce", 1, local, local, CLNN__ARG(z),
                            CLNN__ARG(net->labels), CLNN__ARG(labels_off), CLNN__ARG(r),
                            CLNN__ARG(c), CLNN__ARG(scale), CLNN__ARG(want_grad),
                            CLNN__ARG(dz_arg), CLNN__ARG(net->row_loss),
                            CLNN__ARG(net->row_correct), CLNN__ARG(net->metrics),
                            CLNN__ARG(slot), CLNN__ARG(net->grads), CLNN__ARG(bias_off));
    }
    clnn_status st = clnn__kernel_ref_get(ctx, &nk->loss, &k);
    if (st == CLNN_OK)
        st = clnn__kernel_ref_get(ctx, &nk->loss_sum, &reduce);
    if (st != CLNN_OK)
        return st;
    const size_t global[1] = {nk->loss_rows16 ? (rows + 15) / 16 : rows};
    st = CLNN__LAUNCH(ctx, k, "softmax_xent", 1, global, NULL, CLNN__ARG(z), CLNN__ARG(net->labels),
                      CLNN__ARG(labels_off), CLNN__ARG(r), CLNN__ARG(c), CLNN__ARG(scale),
                      CLNN__ARG(want_grad), CLNN__ARG(dz_arg), CLNN__ARG(net->row_loss),
                      CLNN__ARG(net->row_correct));
    if (st != CLNN_OK)
        return st;
    return reduce_rows(net, reduce, r, slot, dz_arg, c, bias_off);
}
