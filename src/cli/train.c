/* clnn train: set up data, device and network, then run the epochs. */
#include "cli.h"
#include "data.h"
#include "metrics.h"
#include "progress.h"
#include "train.h"
#include "train_parallel.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os.h"

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
    size_t batches;     /* optimizer steps per epoch */
    double base_lr;     /* the schedule's starting rate */
    double lr;          /* rate of the current epoch (NAN when unknown) */
    double run_start;   /* cli_now() when this process began the run */
    double time_offset; /* seconds the run had taken before --resume */
    double epoch_start; /* cli_now() when the current epoch began */
    metrics_writer metrics;
    bool hook_failed;   /* after_step failed and has said why */
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
    cli_dirname(path, dir, sizeof dir);
    if (!cli_folder_writable(dir))
        return cli_error("cannot save the model to '%s': folder '%s' is not writable (%s); choose "
                         "another --save path",
                         path, dir, strerror(errno));
    return -1;
}

/* --data FILE: the training rows, the test split held out from them or
 * read from --test-data (with the training split's columns and classes),
 * and with --standardize both scaled by the training split's statistics. */
static int load_file_data(const train_options *o, run_state *r)
{
    const bool values = o->loss == CLNN_LOSS_MSE;
    data_file train = {o->data_dir, o->labels, o->label_column, o->no_header, values};
    clnn_dataset *all = NULL;
    int status = data_load(&train, NULL, false, "--data", &all);
    if (status >= 0)
        return status;
    if (o->validation_split > 0.0) {
        clnn_status st = clnn_dataset_split(all, o->validation_split, o->seed, &r->train, &r->test);
        clnn_dataset_free(all);
        if (st != CLNN_OK)
            return cli_library_error_hint("--validation-split %g of %s", o->validation_split,
                                          o->data_dir);
    } else {
        r->train = all;
    }
    if (o->standardize && (clnn_dataset_standardize(r->train, NULL) != CLNN_OK ||
                           (r->test && clnn_dataset_standardize(r->test, r->train) != CLNN_OK)))
        return cli_library_error_hint("--standardize");
    if (o->test_data) {
        data_file test = {o->test_data, o->test_labels, o->label_column, o->no_header, values};
        return data_load(&test, r->train, false, "--test-data", &r->test);
    }
    return -1;
}

static int load_data(const train_options *o, run_state *r)
{
    if (o->data_file) {
        int status = load_file_data(o, r);
        if (status >= 0)
            return status;
    } else if (o->loss == CLNN_LOSS_MSE) {
        return cli_error("--loss mse needs float targets: give --data FILE (a CSV, .npy or .npz "
                         "file); '%s' is a folder of IDX files, which hold class labels",
                         o->data_dir);
    } else if (clnn_dataset_load_split(o->data_dir, "train", &r->train) != CLNN_OK ||
               clnn_dataset_load_split(o->data_dir, "test", &r->test) != CLNN_OK) {
        return cli_library_error_hint("--data DIR names the folder");
    }
    size_t features = clnn_dataset_features(r->train);
    if (clnn_dataset_features(r->test) != features)
        return cli_error("the train and test splits in '%s' have different sizes (%zu and %zu "
                         "features)",
                         o->data_dir, features, clnn_dataset_features(r->test));
    if (clnn_dataset_count(r->test) == 0)
        return cli_error("the test split in '%s' has no samples", o->data_dir);
    r->train_total = clnn_dataset_count(r->train);
    size_t n = r->train_total;
    if (o->limit > 0 && o->limit < n)
        n = o->limit;
    r->plan = (train_plan){
        .x = clnn_dataset_images(r->train),
        .y = o->loss == CLNN_LOSS_MSE ? (const void *)clnn_dataset_targets(r->train)
                                      : (const void *)clnn_dataset_labels(r->train),
        .y_width = o->loss == CLNN_LOSS_MSE ? clnn_dataset_target_width(r->train) : 1,
        .loss = o->loss,
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
        clnn_tensor_info t = {.struct_size = sizeof t};
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
    if (cli_context_open(train_par_device(o->device), o->gemm, &r->ctx) != CLNN_OK)
        return cli_library_error();
    if (o->resume) {
        if (clnn_net_load(r->ctx, o->resume, NULL, &r->net) != CLNN_OK)
            return cli_library_error();
        if (clnn_net_load_checkpoint(r->net, o->resume) != CLNN_OK)
            return cli_library_error_hint("to start from a model's weights, give it to --init "
                                          "instead of --resume");
        if (clnn_net_in_features(r->net) != r->plan.features)
            return cli_error("checkpoint '%s' takes %zu inputs but the data has %zu features",
                             o->resume, clnn_net_in_features(r->net), r->plan.features);
    } else if (clnn_net_create(r->ctx, r->plan.features, &r->net) != CLNN_OK ||
               clnn_net_add_layers(r->net, o->layers) != CLNN_OK ||
               clnn_net_init(r->net, o->seed) != CLNN_OK ||
               clnn_net_set_loss(r->net, o->loss) != CLNN_OK ||
               clnn_net_set_optimizer(r->net, &o->optimizer) != CLNN_OK ||
               (o->init && clnn_net_load_weights(r->net, o->init) != CLNN_OK)) {
        return cli_library_error();
    }
    for (size_t i = 0; i < o->n_metadata; i++) {
        const char *entry = o->metadata[i], *eq = strchr(entry, '=');
        char *key = malloc((size_t)(eq - entry) + 1);
        if (!key)
            return cli_error("out of host memory for --metadata");
        memcpy(key, entry, (size_t)(eq - entry));
        key[eq - entry] = '\0';
        clnn_status st = clnn_net_set_metadata(r->net, key, eq + 1);
        free(key);
        if (st != CLNN_OK)
            return cli_library_error_hint("--metadata %s", entry);
    }
    size_t classes = clnn_dataset_classes(r->train);
    if (clnn_dataset_classes(r->test) > classes)
        classes = clnn_dataset_classes(r->test);
    size_t outputs = clnn_net_out_features(r->net);
    if (o->loss == CLNN_LOSS_MSE && outputs != r->plan.y_width)
        return cli_error("the network ends with %zu outputs but the data has %zu target%s per "
                         "row; end --layers with dense:%zu (one output per target)",
                         outputs, r->plan.y_width, r->plan.y_width == 1 ? "" : "s",
                         r->plan.y_width);
    if (o->loss != CLNN_LOSS_MSE && outputs < classes)
        return cli_error("the network ends with %zu outputs but the data has %zu classes; end "
                         "--layers with dense:%zu",
                         outputs, classes, classes);
    /* Files keep their columns, classes and standardisation in the model. */
    if (o->data_file && clnn_net_set_data_description(r->net, r->train) != CLNN_OK)
        return cli_library_error();
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

static double run_time(const run_state *r)
{
    return r->time_offset + (cli_now() - r->run_start);
}

/* The run's position and the settings that decide the batch order and the
 * learning rate, so that --resume continues exactly where the checkpoint was
 * written. */
static clnn_status save_checkpoint(run_state *r, size_t epoch, size_t batch)
{
    const train_options *o = r->options;
    char v[8][96];
    snprintf(v[0], sizeof v[0], "%zu", epoch);
    snprintf(v[1], sizeof v[1], "%zu", batch);
    snprintf(v[2], sizeof v[2], "%llu", (unsigned long long)r->plan.seed);
    snprintf(v[3], sizeof v[3], "%zu", r->plan.batch);
    snprintf(v[4], sizeof v[4], "%zu", r->plan.n);
    snprintf(v[5], sizeof v[5], "%d", r->plan.shuffle ? 1 : 0);
    /* "SCHEDULE BASE_LR" in one entry: the library keeps at most 8. */
    char schedule[64];
    lr_schedule_format(&o->schedule, schedule, sizeof schedule);
    snprintf(v[6], sizeof v[6], "%s %.17g", schedule, r->base_lr);
    snprintf(v[7], sizeof v[7], "%.3f", run_time(r));
    const clnn_metadata md[] = {{"epoch", v[0]},      {"batch", v[1]}, {"seed", v[2]},
                                {"batch_size", v[3]}, {"limit", v[4]}, {"shuffle", v[5]},
                                {"lr_schedule", v[6]}, {"time_s", v[7]}};
    return clnn_net_save_checkpoint(r->net, o->checkpoint, md, sizeof md / sizeof md[0]);
}

static bool write_record(run_state *r, const metrics_record *rec)
{
    char err[512];
    if (metrics_write(&r->metrics, rec, err, sizeof err))
        return true;
    cli_error("%s", err);
    return false;
}

/* The library's error; for a diverged run, with the option that lowers the
 * rate (and the rate, when known) and what became of --save. */
static int library_error(const train_options *o, double lr, clnn_status st)
{
    if (st != CLNN_ERR_NONFINITE)
        return cli_library_error();
    char now[48] = "", saved[4200] = "";
    if (isfinite(lr))
        snprintf(now, sizeof now, ", now %g", lr);
    if (o->save)
        snprintf(saved, sizeof saved, "; the model was not saved to '%s'", o->save);
    return cli_library_error_hint("lower the learning rate with --lr%s%s", now, saved);
}

/* A step record: the epoch's training figures so far. */
static bool write_step_record(run_state *r, clnn_net *net, size_t epoch, size_t next_batch)
{
    metrics_record rec = {.kind = METRICS_STEP, .epoch = epoch + 1,
                          .step = (uint64_t)epoch * r->batches + next_batch,
                          .test_loss = NAN, .test_acc = NAN, .lr = r->lr};
    const bool values = r->plan.loss == CLNN_LOSS_MSE; /* no accuracy: NAN, null in the file */
    rec.train_acc = NAN;
    clnn_status st = clnn_net_metrics_read(net, &rec.train_loss, values ? NULL : &rec.train_acc,
                                           NULL);
    if (st != CLNN_OK) {
        library_error(r->options, r->lr, st);
        return false;
    }
    /* Samples trained by this process in this epoch; a resumed epoch began at start_batch. */
    size_t done = next_batch * r->plan.batch < r->plan.n ? next_batch * r->plan.batch : r->plan.n;
    double seconds = cli_now() - r->epoch_start;
    rec.samples_per_s =
        seconds > 0.0 ? (double)(done - r->plan.start_batch * r->plan.batch) / seconds : 0.0;
    rec.time_s = run_time(r);
    return write_record(r, &rec);
}

/* After every step: a step record, then a checkpoint, when due. The record
 * goes first so that a checkpoint never holds a position whose record is
 * missing (--resume drops the records after its position). The epoch's last
 * step is left to run_epochs, which evaluates the test split first. */
static clnn_status after_step(void *user, clnn_net *net, size_t epoch, size_t next_batch,
                              size_t batches)
{
    run_state *r = user;
    const train_options *o = r->options;
    r->steps++;
    uint64_t step = (uint64_t)epoch * batches + next_batch;
    if (r->metrics.file && o->metrics_every && step % o->metrics_every == 0 &&
        !write_step_record(r, net, epoch, next_batch)) {
        r->hook_failed = true;
        return CLNN_ERR_IO;
    }
    if (!o->checkpoint_every || next_batch == batches || r->steps % o->checkpoint_every != 0)
        return CLNN_OK;
    return save_checkpoint(r, epoch, next_batch);
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
                         "(its position metadata is missing or invalid)%s%s; to start from a "
                         "model's weights, give it to --init instead of --resume",
                         o->resume, *clnn_last_error() ? ": " : "", clnn_last_error());
    /* The loss is the checkpoint's: its targets decide how the data is read. */
    char loss[32] = "cross_entropy";
    if (clnn_file_metadata(o->resume, "clnn.loss", loss, sizeof loss) != CLNN_OK)
        snprintf(loss, sizeof loss, "cross_entropy"); /* written before losses were recorded */
    const clnn_loss_kind saved = strcmp(loss, "mse") == 0 ? CLNN_LOSS_MSE : CLNN_LOSS_CROSS_ENTROPY;
    if (o->loss_given && o->loss != saved)
        return cli_error("checkpoint '%s' was trained with --loss %s, not %s; resume without "
                         "--loss (the checkpoint's applies) or with the same",
                         o->resume, saved == CLNN_LOSS_MSE ? "mse" : "xent",
                         o->loss == CLNN_LOSS_MSE ? "mse" : "xent");
    o->loss = saved;
    o->seed = seed;
    o->batch = batch_size;
    o->limit = limit;
    o->shuffle = shuffle != 0;
    return -1;
}

static bool read_meta_real(const char *path, const char *key, double *out)
{
    char value[64], *end;
    if (clnn_file_metadata(path, key, value, sizeof value) != CLNN_OK)
        return false;
    double v = strtod(value, &end);
    if (end == value || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* The learning-rate schedule, its base rate and the run's time so far from a
 * checkpoint. Checkpoints from before schedules existed have none. A
 * schedule on the command line must match the checkpoint's: the rates
 * already used cannot be changed. */
static int resume_schedule(train_options *o, run_state *r)
{
    char text[128];
    lr_schedule saved = {.kind = LR_SCHEDULE_NONE};
    if (clnn_file_metadata(o->resume, "user.lr_schedule", text, sizeof text) == CLNN_OK) {
        /* "SCHEDULE BASE_LR", see save_checkpoint. */
        char why[160], *base = strchr(text, ' '), *end = NULL;
        if (base) {
            *base++ = '\0';
            r->base_lr = strtod(base, &end);
        }
        if (!base || end == base || *end || !isfinite(r->base_lr) ||
            !lr_schedule_parse(text, &saved, why, sizeof why))
            return cli_error("checkpoint '%s' holds an invalid learning-rate schedule '%s'",
                             o->resume, text);
    } else {
        snprintf(text, sizeof text, "none");
    }
    if (o->schedule_given) {
        char given[128];
        lr_schedule_format(&o->schedule, given, sizeof given);
        if (strcmp(given, text) != 0)
            return cli_error("checkpoint '%s' was written with --lr-schedule %s, not %s; resume "
                             "without --lr-schedule (the checkpoint's applies) or with the same",
                             o->resume, text, given);
    }
    o->schedule = saved;
    /* Without a schedule the rate is whatever the checkpoint's optimizer holds. */
    if (saved.kind == LR_SCHEDULE_NONE && !read_meta_real(o->resume, "clnn.optimizer.lr", &r->lr))
        r->lr = NAN;
    if (!read_meta_real(o->resume, "user.time_s", &r->time_offset))
        r->time_offset = 0.0;
    return -1;
}

/* Open --metrics: a new file, or on --resume the old one cut back to the
 * checkpoint's position (the steps after it are trained again). */
static int open_metrics(const train_options *o, run_state *r)
{
    char err[512];
    if (o->resume) {
        uint64_t at = (uint64_t)r->start_epoch * r->batches + r->plan.start_batch;
        if (!metrics_truncate_after(o->metrics, at, err, sizeof err))
            return cli_error("%s", err);
    }
    if (!metrics_open(&r->metrics, o->metrics, o->resume != NULL, err, sizeof err))
        return cli_error("%s", err);
    return -1;
}

/* A quick tune of the shapes this run multiplies when the device's tuning
 * file lacks them, so a device is tuned on first use and again only for a
 * new network or batch size. Not with --no-tune or CLNN_AUTOTUNE=0, nor
 * where tuning files do not apply (--gemm, CLNN_GEMM, CLNN_TUNING=0), nor
 * under mpirun, where ranks sharing a device would time each other. A
 * failed tune only costs speed, so training goes on untuned. */
static void autotune(const train_options *o, run_state *r)
{
    const char *env = getenv("CLNN_AUTOTUNE");
    if (o->no_tune || (env && strcmp(env, "0") == 0) || r->plan.ranks > 1 ||
        !clnn_context_tuning_enabled(r->ctx))
        return;
    char *spec = cli_net_spec(r->net);
    size_t batch = r->plan.batch < r->plan.n ? r->plan.batch : r->plan.n;
    clnn_tune_options t;
    clnn_tune_options_init(&t);
    t.spec = spec;
    t.in_features = r->plan.features;
    t.batch_sizes = &batch;
    t.n_batch_sizes = 1;
    t.quick = true;
    t.missing_only = true;
    clnn_tune_report rep = {.struct_size = sizeof rep};
    if (!spec || clnn_context_tune(r->ctx, &t) != CLNN_OK ||
        clnn_context_tune_report(r->ctx, &rep) != CLNN_OK) {
        fprintf(stderr, "clnn: warning: training untuned: autotuning failed: %s\n",
                spec ? clnn_last_error() : "out of host memory");
    } else if (rep.count > 0 && !o->quiet) {
        printf("tuned %zu matrix-multiply shapes for this device in %.1fs (once per network "
               "and batch size; --no-tune skips it): %s\n",
               rep.count, rep.seconds, rep.path);
    }
    free(spec);
}

static int alloc_buffers(run_state *r)
{
    train_plan *p = &r->plan;
    size_t batch = p->batch < p->n ? p->batch : p->n;
    p->perm = malloc(p->n * sizeof *p->perm);
    p->xb = malloc(batch * p->features * sizeof *p->xb);
    p->yb = malloc(batch * p->y_width * sizeof(int32_t)); /* a float target takes an int32's room */
    if (!p->perm || !p->xb || !p->yb)
        return cli_error("out of host memory for batches of %zu samples", batch);
    return -1;
}

/* The training set goes to the device once where it fits, so that steps
 * send no samples (a process of several trains from host batches: its
 * shards change with every step). */
static int place_data(const train_options *o, run_state *r)
{
    train_plan *p = &r->plan;
    if (o->host_batches || p->ranks > 1)
        return -1;
    clnn_status st =
        p->loss == CLNN_LOSS_MSE
            ? clnn_net_set_data_targets(r->net, p->x, p->n, p->features, p->y, p->n * p->y_width)
            : clnn_net_set_data(r->net, p->x, p->n, p->features, p->y, p->n);
    if (st == CLNN_OK) {
        p->on_device = true;
        return -1;
    }
    if (st == CLNN_ERR_NONFINITE || st == CLNN_ERR_INVALID_ARGUMENT)
        return cli_library_error();
    /* Too large for one buffer or for the device's memory: batches from the
     * host still train, with less device memory. */
    if (!o->quiet)
        fprintf(stderr, "note: training from host batches: %s\n", clnn_last_error());
    return -1;
}

static void print_start(const train_options *o, const run_state *r)
{
    char device[512];
    cli_describe_device(r->ctx, device, sizeof device);
    char *spec = cli_net_spec(r->net);
    const char *gemm = clnn_gemm_backend_name(clnn_context_gemm_backend(r->ctx));
    printf("device %s  gemm %s  network %s  train %zu", device,
           clnn_context_is_tuned(r->ctx) ? "tuned" : gemm, spec ? spec : o->layers, r->plan.n);
    if (r->plan.n < r->train_total)
        printf(" of %zu", r->train_total);
    printf(" samples  test %zu samples\n", clnn_dataset_count(r->test));
    free(spec);
    if (r->plan.drop_single && r->plan.n % r->plan.batch == 1)
        printf("note: the last batch of each epoch has 1 sample and is skipped (BatchNorm needs at "
               "least 2 samples per batch in training mode)\n");
    fflush(stdout);
}

static int diverged(const train_options *o, double lr, size_t epoch, const char *which,
                    double loss)
{
    char saved[4200] = "";
    if (o->save)
        snprintf(saved, sizeof saved, "; the model was not saved to '%s'", o->save);
    char value[32];
    return cli_error("training diverged in epoch %zu: the %s loss is %s; lower the learning rate "
                     "(--lr, now %g)%s",
                     epoch + 1, which, cli_format_metric(loss, value, sizeof value), lr, saved);
}

/* The test split's loss and (classification) accuracy. */
static clnn_status evaluate(run_state *r, double *loss, double *acc)
{
    const clnn_dataset *t = r->test;
    const size_t n = clnn_dataset_count(t), f = clnn_dataset_features(t);
    if (r->plan.loss == CLNN_LOSS_MSE)
        return clnn_net_evaluate_targets(r->net, clnn_dataset_images(t), n, f,
                                         clnn_dataset_targets(t), n * clnn_dataset_target_width(t),
                                         CLI_EVAL_BATCH, loss);
    return clnn_net_evaluate(r->net, clnn_dataset_images(t), n, f, clnn_dataset_labels(t), n,
                             CLI_EVAL_BATCH, loss, acc);
}

static int run_epochs(const train_options *o, run_state *r)
{
    for (size_t e = r->start_epoch; e < o->epochs; e++) {
        const double start = cli_now();
        r->epoch_start = start;
        /* The schedule sets each epoch's rate at its start, as PyTorch's
         * scheduler.step() after each epoch; a resumed run recomputes it from
         * the first epoch so it takes the same values. */
        if (o->schedule.kind != LR_SCHEDULE_NONE) {
            r->lr = e == r->start_epoch ? lr_schedule_at(&o->schedule, r->base_lr, e)
                                        : lr_schedule_next(&o->schedule, r->base_lr, e, r->lr);
            if (clnn_net_set_lr(r->net, r->lr) != CLNN_OK)
                return cli_library_error();
        }
        epoch_result res;
        clnn_status st = train_epoch(r->net, &r->plan, e, &res);
        if (st != CLNN_OK)
            return r->hook_failed ? CLI_EXIT_FAILURE : library_error(o, r->lr, st);
        int par_status = train_par_epoch_end(r->net, e, &res);
        if (par_status >= 0)
            return par_status;
        r->plan.start_batch = 0;
        if (!isfinite(res.loss))
            return diverged(o, r->lr, e, "training", res.loss);
        double test_loss = 0.0, test_acc = 0.0;
        const bool values = o->loss == CLNN_LOSS_MSE;
        /* Only rank 0 reports, so only it evaluates (the replicas are equal). */
        if (train_par_rank() == 0 && (st = evaluate(r, &test_loss, &test_acc)) != CLNN_OK)
            return library_error(o, r->lr, st);
        if (values)
            test_acc = NAN; /* regression: no accuracy, null in the metrics file */
        double rate = res.seconds > 0.0 ? (double)res.samples / res.seconds : 0.0;
        cli_progress_clear();
        char tl[32], vl[32], va[32];
        printf("epoch %zu/%zu  train loss %s  test loss %s", e + 1, o->epochs,
               cli_format_metric(res.loss, tl, sizeof tl),
               cli_format_metric(test_loss, vl, sizeof vl));
        if (!values)
            printf("  test acc %s", cli_format_metric(test_acc, va, sizeof va));
        printf("  samples/s %.0f  time %.1fs", rate, cli_now() - start);
        if (o->schedule.kind != LR_SCHEDULE_NONE)
            printf("  lr %g", r->lr);
        printf("\n");
        fflush(stdout);
        /* The epoch's record, then its checkpoint: see after_step. */
        if (r->metrics.file) {
            metrics_record rec = {.kind = METRICS_EPOCH, .epoch = e + 1,
                                  .step = (uint64_t)(e + 1) * r->batches,
                                  .train_loss = res.loss, .train_acc = res.accuracy,
                                  .test_loss = test_loss, .test_acc = test_acc,
                                  .samples_per_s = rate, .lr = r->lr, .time_s = run_time(r)};
            if (!write_record(r, &rec))
                return CLI_EXIT_FAILURE;
        }
        if (o->checkpoint_every && save_checkpoint(r, e + 1, 0) != CLNN_OK)
            return cli_library_error();
    }
    return -1;
}

int train_run(const train_options *options)
{
    train_options resumed = *options;
    const train_options *o = &resumed;
    cli_progress_enable(!o->quiet);
    run_state r = {.options = o, .run_start = cli_now(), .base_lr = o->optimizer.lr,
                   .lr = o->optimizer.lr};
    size_t start_batch = 0;
    int status = train_par_start(&resumed);
    if (status < 0 && o->save)
        status = check_save_dir(o->save);
    if (status < 0 && o->checkpoint)
        status = check_save_dir(o->checkpoint);
    if (status < 0 && o->resume)
        status = resume_settings(&resumed, &r.start_epoch, &start_batch);
    if (status < 0 && o->resume)
        status = resume_schedule(&resumed, &r);
    if (status < 0)
        status = load_data(o, &r);
    if (status < 0 && o->resume && r.plan.n != o->limit)
        status = cli_error("checkpoint '%s' was written for %zu training samples but '%s' has %zu",
                           o->resume, o->limit, o->data_dir, r.plan.n);
    if (status < 0)
        status = build_net(o, &r);
    if (status < 0)
        status = train_par_setup(r.net, &r.plan, o, r.start_epoch, start_batch);
    if (status < 0) {
        r.plan.start_batch = start_batch;
        r.batches = train_batches_per_epoch(&r.plan);
        if (o->checkpoint_every || o->metrics_every) {
            r.plan.after_step = after_step;
            r.plan.after_step_user = &r;
        }
        if (o->resume && !o->quiet)
            printf("resuming from %s at epoch %zu, batch %zu\n", o->resume, r.start_epoch + 1,
                   start_batch);
    }
    if (status < 0) {
        autotune(o, &r);
        status = alloc_buffers(&r);
    }
    if (status < 0)
        status = place_data(o, &r);
    /* One file for the run: under mpirun rank 0 writes it, as it reports. */
    if (status < 0 && o->metrics && train_par_rank() == 0)
        status = open_metrics(o, &r);
    if (status < 0) {
        if (!o->quiet)
            print_start(o, &r);
        status = run_epochs(o, &r);
    }
    /* run_epochs stops at the first non-finite loss, so only a finite model gets here. */
    if (status < 0 && o->save) {
        clnn_status st = clnn_net_save(r.net, o->save);
        if (st != CLNN_OK)
            status = library_error(o, r.lr, st);
        else if (!o->quiet)
            printf("saved the model to %s\n", o->save);
    }
    char err[512];
    if (!metrics_close(&r.metrics, err, sizeof err) && status < 0)
        status = cli_error("%s", err);
    run_free(&r);
    return train_par_finish(status < 0 ? CLI_EXIT_OK : status);
}
