/* Softmax cross-entropy, forward and backward in one pass per row.
 *
 * For row r: loss = logsumexp(z) − z[label] (stable: shifted by the max);
 * dz = (softmax(z) − onehot(label)) · scale when want_grad; correct is 1
 * when the first maximal logit is the label, as torch.argmax picks.
 *
 * On CPU devices the host builds with -D CLASSES=n (n small) and
 * -D ROWS16: each work-item then takes 16 rows, one per lane of float16
 * vectors, so every exp is one vector call for 16 rows (a scalar exp per
 * logit cannot be vectorised across work-items and costs ten times more)
 * and a row's logits and exps stay in registers between the passes.
 *
 * The labels start at labels_off: in the input buffer after the batch's
 * rows, so that one transfer carries both to the device, or in a training
 * set's labels on the device, laid out in its order (src/net/data.c). */

/* The gradient of one logit, p its probability and hot 1 at the label. */
#define XENT_GRAD(p, hot) (((p) - (hot)) * scale)

#ifdef ROWS16

/* Logit j of the 16 rows whose offsets are in off. */
static float16 gather(__global const float *z, const int *off, const int j)
{
    return (float16)(z[off[0] + j], z[off[1] + j], z[off[2] + j], z[off[3] + j],
                     z[off[4] + j], z[off[5] + j], z[off[6] + j], z[off[7] + j],
                     z[off[8] + j], z[off[9] + j], z[off[10] + j], z[off[11] + j],
                     z[off[12] + j], z[off[13] + j], z[off[14] + j], z[off[15] + j]);
}

/* The labels of rows r0.., the lanes past row r0 + n − 1 repeating it. */
static int16 gather_labels(__global const int *labels, const int r0, const int n)
{
#define L(k) labels[r0 + min(k, n - 1)]
    return (int16)(L(0), L(1), L(2), L(3), L(4), L(5), L(6), L(7), L(8), L(9), L(10), L(11),
                   L(12), L(13), L(14), L(15));
#undef L
}

/* Lane k (0..15) with its vector component suffix h (0..9, a..f). */
#define LANES(F)                                                                                   \
    F(0, 0) F(1, 1) F(2, 2) F(3, 3) F(4, 4) F(5, 5) F(6, 6) F(7, 7) F(8, 8) F(9, 9) F(10, a)       \
    F(11, b) F(12, c) F(13, d) F(14, e) F(15, f)

/* Rows r0 .. r0 + 15 (those below rows): loss, correct and, with want_grad, dz. */
static void rows16(__global const float *z, __global const int *labels, const int r0,
                   const int rows, const float scale, const int want_grad, __global float *dz,
                   __global float *row_loss, __global float *row_correct)
{
    /* The last work-item's lanes past the end repeat the last row: they
     * compute on valid data and are never stored. */
    const int n = min(16, rows - r0);
    int off[16];
    for (int k = 0; k < 16; k++)
        off[k] = (r0 + min(k, n - 1)) * CLASSES;
    const int16 label = gather_labels(labels, r0, n);
    float16 v[CLASSES];
    for (int j = 0; j < CLASSES; j++)
        v[j] = gather(z, off, j);
    float16 mx = v[0], zl = v[0];
    int16 arg = 0;
    for (int j = 1; j < CLASSES; j++) {
        const int16 gt = v[j] > mx;
        arg = select(arg, (int16)j, gt);
        mx = select(mx, v[j], gt);
        zl = select(zl, v[j], label == j);
    }
    float16 sum = 0.0f;
    for (int j = 0; j < CLASSES; j++) {
        v[j] = exp(v[j] - mx);
        sum += v[j];
    }
    const float16 loss = mx + log(sum) - zl;
    const float16 correct = select((float16)0.0f, (float16)1.0f, arg == label);
#define STORE_ROW(k, h)                                                                            \
    if (k < n) {                                                                                   \
        row_loss[r0 + k] = loss.s##h;                                                              \
        row_correct[r0 + k] = correct.s##h;                                                        \
    }
    LANES(STORE_ROW)
#undef STORE_ROW
    if (want_grad) {
        const float16 inv = 1.0f / sum;
        for (int j = 0; j < CLASSES; j++) {
            const float16 g =
                XENT_GRAD(v[j] * inv, select((float16)0.0f, (float16)1.0f, label == j));
#define STORE_GRAD(k, h)                                                                           \
    if (k < n)                                                                                     \
        dz[off[k] + j] = g.s##h;
            LANES(STORE_GRAD)
#undef STORE_GRAD
        }
    }
}

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_softmax_xent)
__kernel void softmax_xent(__global const float *z, __global const int *labels,
                           const int labels_off, const int rows, const int classes,
                           const float scale, const int want_grad, __global float *dz,
                           __global float *row_loss, __global float *row_correct)
{
    const int r0 = get_global_id(0) * 16;
    if (r0 < rows)
        rows16(z, labels + labels_off, r0, rows, scale, want_grad, dz, row_loss, row_correct);
}
#endif

#else

#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_softmax_xent)
__kernel void softmax_xent(__global const float *z, __global const int *labels,
                           const int labels_off, const int rows, const int classes,
                           const float scale, const int want_grad, __global float *dz,
                           __global float *row_loss, __global float *row_correct)
{
    labels += labels_off;
    const int r = get_global_id(0);
    if (r >= rows)
        return;
    __global const float *zr = z + r * classes;
    float mx = zr[0];
    int arg = 0;
    for (int j = 1; j < classes; j++) {
        if (zr[j] > mx) {
            mx = zr[j];
            arg = j;
        }
    }
    float sum = 0.0f;
    for (int j = 0; j < classes; j++)
        sum += exp(zr[j] - mx);
    const float lse = mx + log(sum);
    const int label = labels[r];
    row_loss[r] = lse - zr[label];
    row_correct[r] = arg == label ? 1.0f : 0.0f;
    if (want_grad) {
        const float inv = 1.0f / sum;
        for (int j = 0; j < classes; j++) {
            const float p = exp(zr[j] - mx) * inv;
            dz[r * classes + j] = XENT_GRAD(p, j == label ? 1.0f : 0.0f);
        }
    }
}
#endif

#endif

/* Sums the rows in order (reproducible) into a metrics slot:
 * [0] mean loss of this batch, [1] += loss sum, [2] += correct, [3] += rows.
 * The bias gradient of the dense layer that produced the logits is the
 * column sums of dz: summed here, where the loss already has a launch, by
 * column_sum as bias_grad does (this program has W = 1); bias_off < 0 skips it. */
static void reduce(__global const float *row_loss, __global const float *row_correct,
                   const int rows, __global float *metrics, const int slot,
                   __global const float *dz, const int classes, __global float *grads,
                   const int bias_off)
{
    float s = 0.0f, correct = 0.0f;
    for (int r = 0; r < rows; r++) {
        s += row_loss[r];
        correct += row_correct[r];
    }
    __global float *m = metrics + slot;
    m[0] = s / rows;
    m[1] += s;
    m[2] += correct;
    m[3] += rows;
    if (bias_off < 0)
        return;
    for (int j = 0; j < classes; j++)
        grads[bias_off + j] = column_sum(dz, rows, classes, j);
}

/* One work-item reduces after softmax_xent. */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_loss_reduce)
__kernel void loss_reduce(__global const float *row_loss, __global const float *row_correct,
                          const int rows, __global float *metrics, const int slot,
                          __global const float *dz, const int classes, __global float *grads,
                          const int bias_off)
{
    if (get_global_id(0) == 0)
        reduce(row_loss, row_correct, rows, metrics, slot, dz, classes, grads, bias_off);
}
#endif

#ifdef ROWS16
/* softmax_xent and loss_reduce as one launch, for CPU devices, where a
 * launch costs several microseconds: a single work-group, whose work-items
 * take 16-row blocks in turn; after the barrier the first one reduces exactly
 * as loss_reduce would, so the two paths agree to the bit. On PoCL the one
 * group was as fast as the two launches' kernels (batch 256: 3.3 µs against
 * 3.2 + 1.0 µs; 1024: 13.9 against 11.6 + 3.1 µs). */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_softmax_xent_reduce)
__kernel void softmax_xent_reduce(__global const float *z, __global const int *labels,
                                  const int labels_off, const int rows, const int classes,
                                  const float scale, const int want_grad, __global float *dz,
                                  __global float *row_loss, __global float *row_correct,
                                  __global float *metrics, const int slot,
                                  __global float *grads, const int bias_off)
{
    const int step = get_local_size(0) * 16;
    for (int r0 = get_local_id(0) * 16; r0 < rows; r0 += step)
        rows16(z, labels + labels_off, r0, rows, scale, want_grad, dz, row_loss, row_correct);
    barrier(CLK_GLOBAL_MEM_FENCE);
    if (get_local_id(0) == 0)
        reduce(row_loss, row_correct, rows, metrics, slot, dz, classes, grads, bias_off);
}
#endif
#endif

/* Mean squared error, a row per work-item: row_loss is the mean of the
 * row's squared errors (so that loss_reduce's mean over rows is the mean
 * over rows × outputs, as torch.nn.MSELoss), dz = (z − t) · scale with
 * scale = 2 / (rows of the mean × outputs) when want_grad. The targets
 * start at targets_off, laid out as labels are (outputs floats per row). */
#if !defined(CLNN_ONLY) || defined(CLNN_ONLY_mse)
__kernel void mse(__global const float *z, __global const float *targets, const int targets_off,
                  const int rows, const int outputs, const float scale, const float inv_outputs,
                  const int want_grad, __global float *dz, __global float *row_loss,
                  __global float *row_correct)
{
    const int r = get_global_id(0);
    if (r >= rows)
        return;
    __global const float *zr = z + r * outputs;
    __global const float *tr = targets + targets_off + r * outputs;
    float s = 0.0f;
    for (int j = 0; j < outputs; j++) {
        const float d = zr[j] - tr[j];
        s += d * d;
        if (want_grad)
            dz[r * outputs + j] = d * scale;
    }
    row_loss[r] = s * inv_outputs;
    row_correct[r] = 0.0f;
}
#endif
