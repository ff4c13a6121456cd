/* Using clnn from C: build a small network with the API, train it for a few
 * steps on synthetic data, evaluate it and predict. Needs only clnn.h and
 * libclnn; build it against an installed clnn with
 *
 *     cc embed.c $(pkg-config --cflags --libs clnn) -o embed
 *
 * and run ./embed (CLNN_DEVICE picks the OpenCL device, as for the clnn tool).
 * The test suite builds and runs it this way (tests/embed), so it keeps
 * working as the API changes. */
#include <clnn.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FEATURES 16
#define CLASSES 4
#define SAMPLES 512
#define BATCH 32
#define EPOCHS 5

/* Print the status and the library's explanation of a failure, and leave. */
#define TRY(call)                                                                  \
    do {                                                                           \
        clnn_status st_ = (call);                                                  \
        if (st_ != CLNN_OK) {                                                      \
            fprintf(stderr, "embed: %s failed with %s: %s\n", #call,               \
                    clnn_status_name(st_), clnn_last_error());                     \
            goto fail;                                                             \
        }                                                                          \
    } while (0)

/* A small xorshift generator, so the data is the same on every platform
 * (rand() is not). */
static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

/* Class c raises features 4c..4c+3 over uniform noise: easy to separate, so a
 * few steps must reach a high accuracy. */
static void make_data(float *x, int32_t *y, size_t n, uint32_t seed)
{
    uint32_t state = seed;
    for (size_t i = 0; i < n; i++) {
        int32_t c = (int32_t)(next_random(&state) % CLASSES);
        y[i] = c;
        for (size_t j = 0; j < FEATURES; j++) {
            float noise = (float)(next_random(&state) % 1000) / 1000.0f;
            x[i * FEATURES + j] = noise + (j / 4 == (size_t)c ? 1.5f : 0.0f);
        }
    }
}

int main(void)
{
    static float train_x[SAMPLES * FEATURES], test_x[SAMPLES * FEATURES];
    static int32_t train_y[SAMPLES], test_y[SAMPLES], predicted[8];
    make_data(train_x, train_y, SAMPLES, 1);
    make_data(test_x, test_y, SAMPLES, 2);

    clnn_context *ctx = NULL;
    clnn_net *net = NULL;
    int status = 1;

    /* NULL options: the device of $CLNN_DEVICE, else the first GPU, else the first device. */
    TRY(clnn_context_create(NULL, &ctx));
    clnn_device_info dev = {.struct_size = sizeof dev};
    TRY(clnn_context_get_device_info(ctx, &dev));
    printf("clnn %s on %s (%s)\n", clnn_version(), dev.name, dev.platform);

    /* Linear(16,32) → BatchNorm1d(32) → ReLU → Linear(32,4), layer by layer;
     * clnn_net_add_layers("fc1=dense:32,bn,relu,out=dense:4") does the same. */
    TRY(clnn_net_create(ctx, FEATURES, &net));
    TRY(clnn_net_add_dense(net, 32, "fc1"));
    TRY(clnn_net_add_batchnorm1d(net, NULL));
    TRY(clnn_net_add_relu(net, NULL));
    TRY(clnn_net_add_dense(net, CLASSES, "out"));
    TRY(clnn_net_init(net, 42));

    clnn_optimizer_options opt;
    clnn_optimizer_options_init(&opt, CLNN_OPTIMIZER_ADAM); /* PyTorch's defaults */
    opt.lr = 0.01;
    TRY(clnn_net_set_optimizer(net, &opt));

    for (int epoch = 0; epoch < EPOCHS; epoch++) {
        TRY(clnn_net_metrics_reset(net));
        for (size_t i = 0; i + BATCH <= SAMPLES; i += BATCH)
            TRY(clnn_net_train_batch(net, train_x + i * FEATURES, BATCH, FEATURES, train_y + i,
                                     BATCH));
        double loss, acc;
        TRY(clnn_net_metrics_read(net, &loss, &acc, NULL)); /* waits for the device */
        printf("epoch %d  train loss %.4f  train acc %.4f\n", epoch + 1, loss, acc);
    }

    double test_loss, test_acc;
    TRY(clnn_net_evaluate(net, test_x, SAMPLES, FEATURES, test_y, SAMPLES, 256, &test_loss,
                          &test_acc));
    printf("test loss %.4f  test acc %.4f\n", test_loss, test_acc);

    TRY(clnn_net_predict(net, test_x, 8, FEATURES, predicted, 8));
    printf("predicted");
    for (int i = 0; i < 8; i++)
        printf(" %d", (int)predicted[i]);
    printf("\ntrue     ");
    for (int i = 0; i < 8; i++)
        printf(" %d", (int)test_y[i]);
    printf("\n");

    /* The classes barely overlap: anything much below perfect means a fault. */
    if (test_acc < 0.9) {
        fprintf(stderr, "embed: test accuracy %.4f is below 0.9\n", test_acc);
        goto fail;
    }
    status = 0;
fail:
    clnn_net_free(net);
    clnn_context_free(ctx);
    return status;
}
