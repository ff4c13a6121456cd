/* clnn train: set up data, device and network, then run the epochs. */
#include "cli.h"
#include "progress.h"
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Each setup step below returns -1 to go on, or the exit status after
 * printing why it cannot. */
typedef struct run_state {
    clnn_dataset *train;
    clnn_dataset *test;
    clnn_context *ctx;
    clnn_net *net;
    train_plan plan;
    size_t train_total; /* before --limit */
    size_t start_epoch; /* 0, or where --resume continues */
    size_t steps;       /* optimizer steps in this run, for --checkpoint-every */
    const train_options *options;
} run_state;

static void run_free(run_state *r)
{
    free(r->plan.perm);
    free(r->plan.xb);
    free(r->plan.yb);
    clnn_net_free(r->net);
    clnn_context_free(r->ctx);
    clnn_dataset_free(r->test);
    clnn_dataset_free(r->train);
}

/* Finding out that --save cannot be written after hours of training would
 * waste them, so the folder is checked up front. */
static int check_save_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (access(dir, W_OK | X_OK) != 0)
        return cli_error("cannot save the model to '%s': folder '%s' is not writable (%s); choose "
                         "another --save path",
                         path, dir, strerror(errno));
    return -1;
}

static int load_data(const train_options *o, run_state *r)
{
    if (clnn_dataset_load_split(o->data_dir, "train", &r->train) != CLNN_OK ||
        clnn_dataset_load_split(o->data_dir, "test", &r->test) != CLNN_OK)
        return cli_library_error();
    size_t features = clnn_dataset_features(r->train);
    if (clnn_dataset_features(r->test) != features)
        return cli_error("the train and test splits in '%s' have different image sizes (%zu and "
                         "%zu pixels)",
                         o->data_dir, features, clnn_dataset_features(r->test));
    if (clnn_dataset_count(r->test) == 0)
        return cli_error("the test split in '%s' has no samples", o->data_dir);
    r->train_total = clnn_dataset_count(r->train);
    size_t n = r->train_total;
    if (o->limit > 0 && o->limit < n)
        n = o->limit;
    r->plan = (train_plan){
        .x = clnn_dataset_images(r->train),
        .y = clnn_dataset_labels(r->train),
        .n = n,
        .features = features,
        .batch = o->batch,
        .epochs = o->epochs,
        .seed = o->seed,
        .shuffle = o->shuffle,
    };
    return -1;
}

/* BatchNorm layers are recognised by the buffer PyTorch gives them. */
static bool net_has_batchnorm(const clnn_net *net)
{
    static const char suffix[] = "running_mean";
    const size_t slen = sizeof suffix - 1;
    for (size_t i = 0; i < clnn_net_tensor_count(net); i++) {
        clnn_tensor_info t;
        if (clnn_net_tensor_info(net, i, &t) != CLNN_OK)
            continue;
        size_t len = strlen(t.name);
        if (len >= slen && strcmp(t.name + len - slen, suffix) == 0)
            return true;
    }
    return false;
}

static int build_net(const train_options *o, run_state *r)
{
    if (cli_context_open(o->device, o->gemm, &r->ctx) != CLNN_OK)
        return cli_library_error();
    if (o->resume) {
        if (clnn_net_load(r->ctx, o->resume, NULL, &r->net) != CLNN_OK ||
            clnn_net_load_checkpoint(r->net, o->resume) != CLNN_OK)
            return cli_library_error();
        if (clnn_net_in_features(r->net) != r->plan.features)
            return cli_error("checkpoint '%s' takes %zu inputs but the data has %zu features",
                             o->resume, clnn_net_in_features(r->net), r->plan.features);
    } else if (clnn_net_create(r->ctx, r->plan.features, &r->net) != CLNN_OK ||
               clnn_net_add_layers(r->net, o->layers) != CLNN_OK ||
               clnn_net_init(r->net, o->seed) != CLNN_OK ||
               clnn_net_set_optimizer(r->net, &o->optimizer) != CLNN_OK ||
               (o->init && clnn_net_load_weights(r->net, o->init) != CLNN_OK)) {
        return cli_library_error();
    }
    size_t classes = clnn_dataset_classes(r->train);
    if (clnn_dataset_classes(r->test) > classes)
        classes = clnn_dataset_classes(r->test);
    size_t outputs = clnn_net_out_features(r->net);
    if (outputs < classes)
        return cli_error("the network ends with %zu outputs but the data has %zu classes; end "
                         "--layers with dense:%zu",
                         outputs, classes, classes);
    r->plan.drop_single = net_has_batchnorm(r->net);
    if (r->plan.drop_single && o->batch == 1)
        return cli_error("--batch-size 1 cannot train a network with BatchNorm (it needs at least "
                         "2 samples per batch); use a larger --batch-size");
    if (train_batches_per_epoch(&r->plan) == 0)
        return cli_error("only %zu training sample: BatchNorm needs batches of at least 2 "
                         "samples; raise --limit",
                         r->plan.n);
    return -1;
}

/* The run's position and the settings that decide the batch order, so that
 * --resume continues exactly where the checkpoint was written. */
static clnn_status write_checkpoint(void *user, clnn_net *net, size_t epoch, size_t next_batch,
                                    size_t batches)
{
    run_state *r = user;
    const train_options *o = r->options;
    r->steps++;
    bool epoch_end = next_batch == batches;
    if (r->steps % o->checkpoint_every != 0 && !epoch_end)
        return CLNN_OK;
    char v[6][32];
    snprintf(v[0], sizeof v[0], "%zu", epoch_end ? epoch + 1 : epoch);
    snprintf(v[1], sizeof v[1], "%zu", epoch_end ? 0 : next_batch);
    snprintf(v[2], sizeof v[2], "%llu", (unsigned long long)r->plan.seed);
    snprintf(v[3], sizeof v[3], "%zu", r->plan.batch);
    snprintf(v[4], sizeof v[4], "%zu", r->plan.n);
    snprintf(v[5], sizeof v[5], "%d", r->plan.shuffle ? 1 : 0);
    const clnn_metadata md[] = {{"epoch", v[0]},      {"batch", v[1]}, {"seed", v[2]},
                                {"batch_size", v[3]}, {"limit", v[4]}, {"shuffle", v[5]}};
    return clnn_net_save_checkpoint(net, o->checkpoint, md, sizeof md / sizeof md[0]);
}

static bool read_meta_size(const char *path, const char *key, size_t *out)
{
    char value[64], *end;
    if (clnn_file_metadata(path, key, value, sizeof value) != CLNN_OK)
        return false;
    unsigned long long v = strtoull(value, &end, 10);
    if (end == value || *end)
        return false;
    *out = (size_t)v;
    return true;
}

/* A checkpoint fixes the seed, batch size, sample count and order it was
 * written with; the command line's values would change the batch order. */
static int resume_settings(train_options *o, size_t *epoch, size_t *batch)
{
    size_t seed, batch_size, limit, shuffle;
    if (!read_meta_size(o->resume, "user.epoch", epoch) ||
        !read_meta_size(o->resume, "user.batch", batch) ||
        !read_meta_size(o->resume, "user.seed", &seed) ||
        !read_meta_size(o->resume, "user.batch_size", &batch_size) ||
        !read_meta_size(o->resume, "user.limit", &limit) ||
        !read_meta_size(o->resume, "user.shuffle", &shuffle) || batch_size == 0)
        return cli_error("'%s' is not a checkpoint written by clnn train --checkpoint-every "
                         "(its position metadata is missing or invalid)%s%s",
                         o->resume, *clnn_last_error() ? ": " : "", clnn_last_error());
    o->seed = seed;
    o->batch = batch_size;
    o->limit = limit;
    o->shuffle = shuffle != 0;
    return -1;
}

static int alloc_buffers(run_state *r)
{
    train_plan *p = &r->plan;
    size_t batch = p->batch < p->n ? p->batch : p->n;
    p->perm = malloc(p->n * sizeof *p->perm);
    p->xb = malloc(batch * p->features * sizeof *p->xb);
    p->yb = malloc(batch * sizeof *p->yb);
    if (!p->perm || !p->xb || !p->yb)
        return cli_error("out of host memory for batches of %zu samples", batch);
    return -1;
}

static void print_start(const train_options *o, const run_state *r)
{
    char device[512];
    cli_describe_device(r->ctx, device, sizeof device);
    char *spec = cli_net_spec(r->net);
    printf("device %s  gemm %s  network %s  train %zu", device,
           clnn_gemm_backend_name(clnn_context_gemm_backend(r->ctx)), spec ? spec : o->layers,
           r->plan.n);
    if (r->plan.n < r->train_total)
        printf(" of %zu", r->train_total);
    printf(" samples  test %zu samples\n", clnn_dataset_count(r->test));
    free(spec);
    if (r->plan.drop_single && r->plan.n % r->plan.batch == 1)
        printf("note: the last batch of each epoch has 1 sample and is skipped (BatchNorm needs at "
               "least 2 samples per batch in training mode)\n");
    fflush(stdout);
}

static int diverged(const train_options *o, size_t epoch, const char *which, double loss)
{
    char saved[4200] = "";
    if (o->save)
        snprintf(saved, sizeof saved, "; the model was not saved to '%s'", o->save);
    char value[32];
    return cli_error("training diverged in epoch %zu: the %s loss is %s; lower the learning rate "
                     "(--lr, now %g)%s",
                     epoch + 1, which, cli_format_metric(loss, value, sizeof value),
                     (double)o->optimizer.lr, saved);
}

static int run_epochs(const train_options *o, run_state *r)
{
    const size_t n_test = clnn_dataset_count(r->test);
    for (size_t e = r->start_epoch; e < o->epochs; e++) {
        const double start = cli_now();
        epoch_result res;
        if (train_epoch(r->net, &r->plan, e, &res) != CLNN_OK)
            return cli_library_error();
        r->plan.start_batch = 0;
        if (!isfinite(res.loss))
            return diverged(o, e, "training", res.loss);
        double test_loss = 0.0, test_acc = 0.0;
        if (clnn_net_evaluate(r->net, clnn_dataset_images(r->test), clnn_dataset_labels(r->test),
                              n_test, CLI_EVAL_BATCH, &test_loss, &test_acc) != CLNN_OK)
            return cli_library_error();
        if (!isfinite(test_loss))
            return diverged(o, e, "test", test_loss);
        double rate = res.seconds > 0.0 ? (double)res.samples / res.seconds : 0.0;
        cli_progress_clear();
        char tl[32], vl[32], va[32];
        printf("epoch %zu/%zu  train loss %s  test loss %s  test acc %s  samples/s %.0f  "
               "time %.1fs\n",
               e + 1, o->epochs, cli_format_metric(res.loss, tl, sizeof tl),
               cli_format_metric(test_loss, vl, sizeof vl),
               cli_format_metric(test_acc, va, sizeof va), rate, cli_now() - start);
        fflush(stdout);
    }
    return -1;
}

int train_run(const train_options *options)
{
    train_options resumed = *options;
    const train_options *o = &resumed;
    cli_progress_enable(!o->quiet);
    run_state r = {.options = o};
    size_t start_batch = 0;
    int status = o->save ? check_save_dir(o->save) : -1;
    if (status < 0 && o->checkpoint)
        status = check_save_dir(o->checkpoint);
    if (status < 0 && o->resume)
        status = resume_settings(&resumed, &r.start_epoch, &start_batch);
    if (status < 0)
        status = load_data(o, &r);
    if (status < 0 && o->resume && r.plan.n != o->limit)
        status = cli_error("checkpoint '%s' was written for %zu training samples but '%s' has %zu",
                           o->resume, o->limit, o->data_dir, r.plan.n);
    if (status < 0)
        status = build_net(o, &r);
    if (status < 0) {
        r.plan.start_batch = start_batch;
        if (o->checkpoint_every) {
            r.plan.after_step = write_checkpoint;
            r.plan.after_step_user = &r;
        }
        if (o->resume && !o->quiet)
            printf("resuming from %s at epoch %zu, batch %zu\n", o->resume, r.start_epoch + 1,
                   start_batch);
    }
    if (status < 0)
        status = alloc_buffers(&r);
    if (status < 0) {
        if (!o->quiet)
            print_start(o, &r);
        status = run_epochs(o, &r);
    }
    /* run_epochs stops at the first non-finite loss, so only a finite model gets here. */
    if (status < 0 && o->save) {
        if (clnn_net_save(r.net, o->save) != CLNN_OK)
            status = cli_library_error();
        else if (!o->quiet)
            printf("saved the model to %s\n", o->save);
    }
    run_free(&r);
    return status < 0 ? CLI_EXIT_OK : status;
}
