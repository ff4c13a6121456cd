/* Shipping a trained model inside an application: train a small classifier
 * an epoch at a time from data kept on the device, with a progress callback,
 * attach what the application needs to use it (class names, the input
 * normalisation, a description) as metadata, save it to a buffer instead of
 * a file, load it back from that buffer as a deployed application would
 * (from its own resources, a database or the network), list its layers and
 * report class probabilities, and stop a long evaluation from the progress
 * callback, as a user's "cancel" would. Build it against an installed clnn with
 *
 *     cc deploy.c $(pkg-config --cflags --libs clnn) -o deploy
 *
 * The test suite builds and runs it that way (tests/embed). */
#include <clnn.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEATURES 8
#define CLASSES 3
#define SAMPLES 384
#define BATCH 32
#define EPOCHS 8
#define SHOWN 4

static const char *const class_names = "circle,square,triangle";

#define TRY(call)                                                                                  \
    do {                                                                                           \
        clnn_status st_ = (call);                                                                  \
        if (st_ != CLNN_OK) {                                                                      \
            fprintf(stderr, "deploy: %s failed with %s: %s\n", #call, clnn_status_name(st_),       \
                    clnn_last_error());                                                            \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "deploy: " __VA_ARGS__);                                               \
            fprintf(stderr, "\n");                                                                 \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

/* Raw measurements around 100: class c raises features c, c+3 and c+6. The
 * network is trained on (x − 100) / 10, which the application must apply to
 * new inputs too: so the metadata carries it. */
static void make_data(float *x, int32_t *y, size_t n, uint32_t seed)
{
    uint32_t state = seed;
    for (size_t i = 0; i < n; i++) {
        int32_t c = (int32_t)(next_random(&state) % CLASSES);
        y[i] = c;
        for (size_t j = 0; j < FEATURES; j++) {
            float noise = (float)(next_random(&state) % 1000) / 100.0f;
            x[i * FEATURES + j] = 95.0f + noise + (j % 3 == (size_t)c ? 12.0f : 0.0f);
        }
    }
}

static void normalise(float *x, size_t n, float mean, float std)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (x[i] - mean) / std;
}

/* Progress of long calls: shown per epoch while training; in evaluation, a
 * user's "stop" after the first chunk (stop_after > 0) cancels the call. */
typedef struct progress {
    unsigned long long training_steps;
    int evaluated_chunks, stop_after;
} progress;

static bool on_progress(const char *what, uint64_t done, uint64_t total, void *user)
{
    progress *p = user;
    if (strcmp(what, "training") == 0)
        p->training_steps++;
    if (strcmp(what, "evaluating") == 0) {
        if (p->stop_after && p->evaluated_chunks >= p->stop_after) {
            printf("evaluation stopped at %llu of %llu rows\n", (unsigned long long)done,
                   (unsigned long long)total);
            return false;
        }
        p->evaluated_chunks++;
    }
    return true;
}

/* The name of class c from the comma-separated list. */
static void class_name(const char *names, int c, char *out, size_t cap)
{
    const char *p = names;
    for (int i = 0; i < c && p; i++) {
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    size_t len = p ? strcspn(p, ",") : 0;
    snprintf(out, cap, "%.*s", (int)len, p ? p : "?");
}

int main(void)
{
    static float train_x[SAMPLES * FEATURES], test_x[SAMPLES * FEATURES];
    static int32_t train_y[SAMPLES], test_y[SAMPLES];
    make_data(train_x, train_y, SAMPLES, 7);
    make_data(test_x, test_y, SAMPLES, 8);
    normalise(train_x, SAMPLES * FEATURES, 100.0f, 10.0f);

    clnn_context *ctx = NULL;
    clnn_net *net = NULL, *deployed = NULL;
    void *image = NULL;
    size_t image_size = 0;
    int status = 1;
    float before[SHOWN * CLASSES], probs[SHOWN * CLASSES];

    /* ---- the training side */
    progress seen = {0};
    clnn_context_options options;
    clnn_context_options_init(&options);
    options.progress = on_progress;
    options.progress_user = &seen;
    TRY(clnn_context_create(&options, &ctx));
    TRY(clnn_net_create(ctx, FEATURES, &net));
    TRY(clnn_net_add_layers(net, "hidden=dense:16,bn,relu,classifier=dense:3"));
    TRY(clnn_net_init(net, 3));
    clnn_optimizer_options opt;
    clnn_optimizer_options_init(&opt, CLNN_OPTIMIZER_ADAM);
    opt.lr = 0.01;
    TRY(clnn_net_set_optimizer(net, &opt));
    /* The training set goes to the device once; each epoch takes it in order. */
    TRY(clnn_net_set_data(net, train_x, SAMPLES, FEATURES, train_y, SAMPLES));
    for (int epoch = 0; epoch < EPOCHS; epoch++) {
        double epoch_loss, epoch_acc;
        TRY(clnn_net_train_epoch(net, BATCH, &epoch_loss, &epoch_acc));
        printf("epoch %d: loss %.4f  acc %.4f  (%llu steps reported so far)\n", epoch + 1,
               epoch_loss, epoch_acc, seen.training_steps);
    }
    CHECK(seen.training_steps == (unsigned long long)EPOCHS * (SAMPLES / BATCH),
          "%llu training steps reported, not %d", seen.training_steps, EPOCHS * (SAMPLES / BATCH));
    TRY(clnn_net_set_metadata(net, "classes", class_names));
    TRY(clnn_net_set_metadata(net, "input.mean", "100"));
    TRY(clnn_net_set_metadata(net, "input.std", "10"));
    TRY(clnn_net_set_metadata(net, "description", "shape classifier from 8 sensor readings"));
    TRY(clnn_net_save_to_memory(net, &image, &image_size));
    printf("saved the model to a buffer of %zu bytes\n", image_size);

    /* The first samples' probabilities from the trained net, to compare. */
    float shown[SHOWN * FEATURES];
    memcpy(shown, test_x, sizeof shown);
    normalise(shown, SHOWN * FEATURES, 100.0f, 10.0f);
    TRY(clnn_net_predict_output(net, shown, SHOWN, FEATURES, CLNN_OUTPUT_PROBABILITIES, before,
                                SHOWN * CLASSES));
    clnn_net_free(net);
    net = NULL;

    /* ---- the application side: everything comes from the buffer */
    TRY(clnn_net_load_from_memory(ctx, image, image_size, NULL, &deployed));
    clnn_free(image);
    image = NULL;

    char description[128], names[128], value[32];
    CHECK(clnn_net_metadata(deployed, "description", description, sizeof description) > 0,
          "the loaded model has no description");
    printf("model: %s\n", description);
    for (size_t i = 0; i < clnn_net_metadata_count(deployed); i++) {
        char key[64];
        clnn_net_metadata_key(deployed, i, key, sizeof key);
        clnn_net_metadata(deployed, key, value, sizeof value);
        printf("  metadata %-12s %s%s\n", key, value,
               clnn_net_metadata(deployed, key, NULL, 0) > sizeof value ? "..." : "");
    }
    for (size_t i = 0; i < clnn_net_layer_count(deployed); i++) {
        clnn_layer_info layer = {.struct_size = sizeof layer};
        TRY(clnn_net_layer_info(deployed, i, &layer));
        printf("  layer %zu %-11s %-10s %zu -> %zu  (tensors %s.*)\n", i, layer.kind,
               layer.name[0] ? layer.name : "-", layer.in_features, layer.out_features,
               layer.prefix);
    }

    /* New raw inputs, normalised as the metadata says. */
    clnn_net_metadata(deployed, "classes", names, sizeof names);
    CHECK(clnn_net_metadata(deployed, "input.mean", value, sizeof value) > 0, "no input.mean");
    float mean = strtof(value, NULL);
    CHECK(clnn_net_metadata(deployed, "input.std", value, sizeof value) > 0, "no input.std");
    float std = strtof(value, NULL);
    memcpy(shown, test_x, sizeof shown);
    normalise(shown, SHOWN * FEATURES, mean, std);
    TRY(clnn_net_predict_output(deployed, shown, SHOWN, FEATURES, CLNN_OUTPUT_PROBABILITIES, probs,
                                SHOWN * CLASSES));
    int32_t predicted[SHOWN];
    TRY(clnn_net_predict(deployed, shown, SHOWN, FEATURES, predicted, SHOWN));
    for (int i = 0; i < SHOWN; i++) {
        char got[32], want[32];
        class_name(names, predicted[i], got, sizeof got);
        class_name(names, test_y[i], want, sizeof want);
        printf("sample %d: %-8s (true %-8s)  p =", i, got, want);
        double sum = 0.0;
        for (int c = 0; c < CLASSES; c++) {
            printf(" %.4f", (double)probs[i * CLASSES + c]);
            sum += probs[i * CLASSES + c];
            CHECK(probs[i * CLASSES + c] <= probs[i * CLASSES + predicted[i]],
                  "sample %d: the predicted class is not the most probable", i);
        }
        printf("\n");
        CHECK(sum > 1.0 - 1e-5 && sum < 1.0 + 1e-5, "sample %d: probabilities sum to %.7f", i, sum);
    }
    /* The buffer carried the whole model: the same probabilities, bit for bit. */
    CHECK(memcmp(before, probs, sizeof probs) == 0,
          "the loaded model's probabilities differ from the trained one's");

    static float all[SAMPLES * FEATURES];
    memcpy(all, test_x, sizeof all);
    normalise(all, SAMPLES * FEATURES, mean, std);
    double loss, acc;
    /* A user who stops a long evaluation: the call says so, and the model
     * evaluates in full afterwards. */
    seen.stop_after = 1;
    clnn_status stopped =
        clnn_net_evaluate(deployed, all, SAMPLES, FEATURES, test_y, SAMPLES, 128, &loss, &acc);
    CHECK(stopped == CLNN_ERR_CANCELLED, "the stopped evaluation returned %s",
          clnn_status_name(stopped));
    seen.stop_after = 0;
    TRY(clnn_net_evaluate(deployed, all, SAMPLES, FEATURES, test_y, SAMPLES, 128, &loss, &acc));
    printf("test loss %.4f  test acc %.4f\n", loss, acc);
    CHECK(acc >= 0.9, "test accuracy %.4f is below 0.9", acc);
    status = 0;
fail:
    clnn_free(image);
    clnn_net_free(deployed);
    clnn_net_free(net);
    clnn_context_free(ctx);
    return status;
}
