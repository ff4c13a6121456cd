/* Softmax cross-entropy, forward and backward in one pass per row. */

/* For row r: loss = logsumexp(z) − z[label] (stable: shifted by the max);
 * dz = (softmax(z) − onehot(label)) · scale when want_grad; correct is 1
 * when the first maximal logit is the label, as torch.argmax picks. */
__kernel void softmax_xent(__global const float *z, __global const int *labels, const int rows,
                           const int classes, const float scale, const int want_grad,
                           __global float *dz, __global float *row_loss,
                           __global float *row_correct)
{
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
            dz[r * classes + j] = (p - (j == label ? 1.0f : 0.0f)) * scale;
        }
    }
}

/* One work-item sums the rows in order (reproducible) into a metrics slot:
 * [0] mean loss of this batch, [1] += loss sum, [2] += correct, [3] += rows. */
__kernel void loss_reduce(__global const float *row_loss, __global const float *row_correct,
                          const int rows, __global float *metrics, const int slot)
{
    if (get_global_id(0) != 0)
        return;
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
}
