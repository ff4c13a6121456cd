/* Data-parallel `clnn train` (see train_parallel.h). The library does the
 * per-step work through clnn_net_set_parallel and clnn_net_train_shard; this
 * file decides who trains which rows, keeps the replicas' state identical
 * where the library does not (initial parameters, per-rank BatchNorm
 * statistics) and checks that they really are. */
#include "train_parallel.h"

#include "cli.h"
#include "comm.h"
#include "progress.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    const cli_comm *comm; /* NULL: this process trains alone */
    bool quiet;
    bool sync_bn;
    size_t checked_epochs; /* epochs after which the replicas were compared */
    uint64_t checksum;     /* of the parameters after the last of them */
    char device[32];
} par;

/* More than one process: a group is joined only when a launcher says so. */
static bool parallel(void)
{
    return par.comm && par.comm->size > 1;
}

bool train_par_available(void)
{
#ifdef CLNN_HAVE_MPI
    return true;
#else
    return false;
#endif
}

int train_par_rank(void)
{
    return par.comm ? par.comm->rank : 0;
}

/* The number of processes a launcher started, from the variable it sets in
 * each of them (Open MPI, MPICH/Hydra and Intel MPI, MVAPICH2); 0 when none
 * is set. MPI_Init is called only then: outside a launcher it would make an
 * ordinary single run pay for starting an MPI runtime it does not need. */
static size_t launched_size(const char **which)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        char *end;
        unsigned long n = v && *v ? strtoul(v, &end, 10) : 0;
        if (n > 0 && *end == '\0') {
            *which = vars[i];
            return (size_t)n;
        }
    }
    return 0;
}

int train_par_start(train_options *o)
{
    par.quiet = o->quiet;
    par.sync_bn = o->sync_bn;
    const char *var = NULL;
    size_t launched = launched_size(&var);
    if (launched <= 1)
        return -1;
#ifdef CLNN_HAVE_MPI
    par.comm = cli_mpi_start();
#else
    /* Each process would train a model of its own and all would write the
     * same files: refuse rather than do that silently. */
    return cli_error("this process is one of %zu started by an MPI launcher (%s), but this clnn "
                     "was built without MPI, so each would train its own model; rebuild with MPI "
                     "(install libopenmpi-dev, then meson setup --reconfigure -Dmpi=enabled) or "
                     "run a single clnn train",
                     launched, var);
#endif
    if (par.comm->rank != 0) {
        /* Rank 0 alone reports, so the launcher's merged output reads as one
         * run; errors still go to stderr from every rank. */
        cli_progress_enable(false);
        /* Every file the run writes is listed here, so that no two ranks
         * write the same file (or one rank truncates another's). */
        o->save = NULL;
        o->checkpoint = NULL;
        o->checkpoint_every = 0;
        o->metrics = NULL;
        o->metrics_every = 0;
        fflush(stdout);
        if (!freopen("/dev/null", "w", stdout))
            return cli_error("rank %d: cannot silence standard output (/dev/null: %s)",
                             par.comm->rank, strerror(errno));
    }
    return -1;
}

const char *train_par_device(const char *requested)
{
    const char *env = getenv("CLNN_DEVICE");
    if (!parallel() || (requested && *requested) || (env && *env))
        return requested;
    size_t count = 0, gpus = 0;
    /* Without any device the context creation that follows reports why. */
    if (clnn_device_count(&count) != CLNN_OK || count == 0)
        return requested;
    clnn_device_info info = {.struct_size = sizeof info};
    for (size_t i = 0; i < count; i++)
        if (clnn_device_get_info(i, &info) == CLNN_OK && info.type == CLNN_DEVICE_GPU)
            gpus++;
    size_t local = (size_t)par.comm->local_rank;
    size_t pick = local % (gpus ? gpus : count), index = pick;
    if (gpus) {
        /* The pick-th GPU in the global device list, which may also hold CPUs. */
        for (index = 0; index < count; index++)
            if (clnn_device_get_info(index, &info) == CLNN_OK &&
                info.type == CLNN_DEVICE_GPU && pick-- == 0)
                break;
    }
    snprintf(par.device, sizeof par.device, "%zu", index);
    return par.device;
}

static size_t dtype_size(clnn_dtype dtype)
{
    return dtype == CLNN_DTYPE_I64 ? 8 : 4;
}

/* Rank 0's tensors to every rank: all of them, or only the buffers that are
 * not trained (BatchNorm's running statistics and batch count). */
static clnn_status broadcast_tensors(clnn_net *net, bool buffers_only)
{
    clnn_status st = CLNN_OK;
    void *data = NULL;
    size_t cap = 0;
    for (size_t i = 0; st == CLNN_OK && i < clnn_net_tensor_count(net); i++) {
        clnn_tensor_info t = {.struct_size = sizeof t};
        st = clnn_net_tensor_info(net, i, &t);
        if (st != CLNN_OK || (buffers_only && t.trainable))
            continue;
        size_t bytes = t.numel * dtype_size(t.dtype);
        if (bytes > cap) {
            void *bigger = realloc(data, bytes);
            if (!bigger) {
                cli_error("out of host memory for tensor '%s' (%zu bytes)", t.name, bytes);
                st = CLNN_ERR_OUT_OF_MEMORY;
                break;
            }
            data = bigger;
            cap = bytes;
        }
        if (par.comm->rank == 0)
            st = clnn_net_tensor_read(net, i, data, bytes);
        /* A failed read ends the job (train_par_finish) while the other ranks
         * wait here, so no rank is left behind in a half-done broadcast. */
        if (st != CLNN_OK)
            break;
        par.comm->broadcast(data, bytes);
        if (par.comm->rank != 0)
            st = clnn_net_tensor_write(net, i, data, bytes);
    }
    free(data);
    return st;
}

/* FNV-1a over bytes, continuing from h. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t bytes)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < bytes; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

#define FNV_OFFSET 0xcbf29ce484222325ull

/* Every tensor's bytes in order: equal checksums on all ranks mean equal
 * replicas (a hash, so a mismatch is certain and a match near certain). */
static clnn_status tensors_checksum(clnn_net *net, uint64_t *out)
{
    clnn_status st = CLNN_OK;
    uint64_t h = FNV_OFFSET;
    void *data = NULL;
    size_t cap = 0;
    for (size_t i = 0; st == CLNN_OK && i < clnn_net_tensor_count(net); i++) {
        clnn_tensor_info t = {.struct_size = sizeof t};
        st = clnn_net_tensor_info(net, i, &t);
        size_t bytes = st == CLNN_OK ? t.numel * dtype_size(t.dtype) : 0;
        if (st == CLNN_OK && bytes > cap) {
            void *bigger = realloc(data, bytes);
            if (!bigger) {
                st = CLNN_ERR_OUT_OF_MEMORY;
                break;
            }
            data = bigger;
            cap = bytes;
        }
        if (st == CLNN_OK)
            st = clnn_net_tensor_read(net, i, data, bytes);
        if (st == CLNN_OK)
            h = fnv1a(h, data, bytes);
    }
    free(data);
    *out = h;
    return st;
}

/* What every rank must agree on, or they would run different numbers of
 * collectives (and wait for each other forever) or train different shards:
 * the batch order, the network and the point the run starts from. */
static uint64_t settings_hash(const clnn_net *net, const train_plan *plan, const train_options *o,
                              size_t start_epoch, size_t start_batch)
{
    const uint64_t v[] = {plan->n,    plan->features, plan->batch, plan->epochs, plan->seed,
                          plan->shuffle, o->sync_bn,  start_epoch, start_batch};
    uint64_t h = fnv1a(FNV_OFFSET, v, sizeof v);
    char *spec = cli_net_spec(net);
    if (spec)
        h = fnv1a(h, spec, strlen(spec));
    free(spec);
    return h;
}

static clnn_status allreduce(float *data, size_t count, void *user)
{
    const cli_comm *comm = user;
    comm->sum_f32(data, count);
    return CLNN_OK;
}

static void print_setup(const train_plan *plan, bool batchnorm)
{
    size_t k = plan->ranks, small = plan->batch / k;
    printf("data parallel: %zu ranks, global batch %zu (", k, plan->batch);
    if (plan->batch % k)
        printf("%zu or %zu", small + 1, small);
    else
        printf("%zu", small);
    printf(" per rank)");
    if (batchnorm)
        printf(", BatchNorm statistics %s",
               par.sync_bn ? "over the global batch (--sync-bn)" : "per rank");
    printf("\n");
    size_t rest = plan->n % plan->batch;
    bool noted = plan->drop_single && rest == 1; /* train.c's own note covers it */
    if (rest > 0 && rest < plan->min_batch && !noted)
        printf("note: the last batch of each epoch has %zu samples, too few for %zu ranks "
               "(each needs at least %zu), and is skipped\n",
               rest, k, plan->min_batch / k);
}

int train_par_setup(clnn_net *net, train_plan *plan, const train_options *o, size_t start_epoch,
                    size_t start_batch)
{
    if (!parallel()) {
        if (o->sync_bn && !o->quiet)
            printf("note: --sync-bn has no effect in a single process; it applies when mpirun "
                   "starts several\n");
        return -1;
    }
    const cli_comm *comm = par.comm;
    const size_t k = (size_t)comm->size;
    const bool batchnorm = plan->drop_single; /* train.c sets it for networks with BatchNorm */
    /* Per-rank BatchNorm needs 2 rows on every rank, as one process needs 2
     * rows per batch; synchronised statistics need only 2 rows in all, but
     * every rank needs 1, because each must join every step's collectives. */
    const size_t min_shard = batchnorm && !o->sync_bn ? 2 : 1;
    plan->rank = (size_t)comm->rank;
    plan->ranks = k;
    plan->min_batch = k * min_shard;

    uint64_t lo, hi;
    comm->min_max_u64(settings_hash(net, plan, o, start_epoch, start_batch), &lo, &hi);
    if (lo != hi)
        return cli_error("the %zu ranks were started with different settings (data, --limit, "
                         "--batch-size, --epochs, --seed, --no-shuffle, --sync-bn, --layers or "
                         "--resume): start every rank with the same options",
                         k);
    if (plan->batch < plan->min_batch)
        return cli_error("--batch-size %zu is too small for %zu ranks: it is the global batch, "
                         "and each rank needs at least %zu samples of it%s; use --batch-size %zu "
                         "or more",
                         plan->batch, k, min_shard,
                         min_shard > 1 ? " for its own BatchNorm statistics (or use --sync-bn)"
                                       : "",
                         plan->min_batch);
    if (train_batches_per_epoch(plan) == 0)
        return cli_error("only %zu training samples: too few for one global batch over %zu "
                         "ranks; raise --limit",
                         plan->n, k);
    /* Same seed, same initialisation on every rank already; the broadcast
     * also covers --init and --resume files that differ between machines. */
    if (broadcast_tensors(net, false) != CLNN_OK)
        return cli_library_error();
    clnn_parallel_options p;
    clnn_parallel_options_init(&p);
    p.allreduce = allreduce;
    p.user = (void *)comm;
    p.sync_batchnorm = o->sync_bn;
    if (clnn_net_set_parallel(net, &p) != CLNN_OK)
        return cli_library_error();
    /* A checkpoint holds rank 0's running loss and accuracy sums of the
     * interrupted epoch; kept on every rank they would count K times. */
    if (o->resume && comm->rank != 0 && clnn_net_metrics_reset(net) != CLNN_OK)
        return cli_library_error();
    if (!o->quiet)
        print_setup(plan, batchnorm);
    return -1;
}

int train_par_epoch_end(clnn_net *net, size_t epoch, epoch_result *res)
{
    if (!parallel())
        return -1;
    const cli_comm *comm = par.comm;
    /* Regression (--loss mse) has no accuracy to sum. */
    const bool values = clnn_net_loss(net) == CLNN_LOSS_MSE;
    double loss, accuracy = 0.0;
    uint64_t samples;
    if (clnn_net_metrics_read(net, &loss, values ? NULL : &accuracy, &samples) != CLNN_OK)
        return cli_library_error();
    double sums[3] = {loss * (double)samples, accuracy * (double)samples, (double)samples};
    comm->sum_f64(sums, 3);
    if (sums[2] > 0) {
        res->loss = sums[0] / sums[2];
        res->accuracy = values ? NAN : sums[1] / sums[2];
    }
    /* With per-rank statistics every rank's running estimates differ; rank 0's
     * are the ones DistributedDataParallel keeps (it broadcasts them before
     * every forward), and they are what the saved model holds. */
    if (!par.sync_bn && broadcast_tensors(net, true) != CLNN_OK)
        return cli_library_error();
    uint64_t mine, lo, hi;
    if (tensors_checksum(net, &mine) != CLNN_OK)
        return cli_library_error();
    comm->min_max_u64(mine, &lo, &hi);
    if (lo != hi)
        return cli_error("replicas diverged in epoch %zu: the %d ranks hold different parameters "
                         "(checksums %016llx to %016llx); every rank must run the same clnn with "
                         "the same options",
                         epoch + 1, comm->size, (unsigned long long)lo, (unsigned long long)hi);
    par.checked_epochs++;
    par.checksum = mine;
    return -1;
}

int train_par_finish(int status)
{
    if (!par.comm)
        return status;
    if (status != CLI_EXIT_OK)
        par.comm->abort(status);
    if (parallel() && par.checked_epochs > 0 && !par.quiet)
        printf("replicas identical after every epoch (%zu checked, %d ranks, parameter "
               "checksum %016llx)\n",
               par.checked_epochs, par.comm->size, (unsigned long long)par.checksum);
    fflush(stdout);
    par.comm->finish();
    return status;
}

void train_par_shard(const train_plan *plan, size_t count, size_t *offset, size_t *rows)
{
    size_t k = plan->ranks, r = plan->rank;
    size_t base = count / k, extra = count % k;
    *rows = base + (r < extra);
    *offset = r * base + (r < extra ? r : extra);
}
