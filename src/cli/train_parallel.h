/* Data-parallel `clnn train`: K processes started by an MPI launcher
 * (mpirun -np K) train one model, each on its own shard of every global
 * batch, with gradients summed across them after every step. Outside a
 * launcher, or in a build without MPI, every function here leaves the
 * single-process run exactly as it was. The hooks in train.c run on every
 * rank in the same order, since several of them are collectives. */
#ifndef CLNN_CLI_TRAIN_PARALLEL_H
#define CLNN_CLI_TRAIN_PARALLEL_H

#include <stdbool.h>
#include <stddef.h>

#include "train.h"

/* Whether this clnn was built with MPI (for --sync-bn's message). */
bool train_par_available(void);
/* Join the process group when a launcher started this process as one of
 * several. Only rank 0 reports and writes files: other ranks send stdout to
 * /dev/null and have o's outputs (--save, --checkpoint, --metrics) cleared.
 * Returns -1 to go on, or an exit status. */
int train_par_start(train_options *o);
/* This process's rank: 0 when training alone. Only rank 0 writes files. */
int train_par_rank(void);
/* The device selector for this rank: the one asked for (--device, else
 * $CLNN_DEVICE), else with several ranks the local rank's device: the
 * (local rank mod G)-th GPU of G, or without GPUs the (local rank mod N)-th
 * of all N devices. NULL keeps the library's default rule. */
const char *train_par_device(const char *requested);
/* After the network is built (or restored by --resume): check that the ranks
 * were started alike, give every rank rank 0's parameters, make the network
 * a replica and set the plan's sharding. Returns -1 or an exit status. */
int train_par_setup(clnn_net *net, train_plan *plan, const train_options *o, size_t start_epoch,
                    size_t start_batch);
/* After each epoch: turn res's loss and accuracy into the means over every
 * rank's samples, give every rank rank 0's BatchNorm statistics (per-rank
 * BatchNorm lets them drift apart, as in DistributedDataParallel) and check
 * that all replicas hold the same parameters. Returns -1 or an exit status. */
int train_par_epoch_end(clnn_net *net, size_t epoch, epoch_result *res);
/* Leave the group: with status 0 wait for every rank and report the replica
 * checks; any other status ends every rank of the job with it (a failed rank
 * must not leave the others blocked in a collective). Returns status. */
int train_par_finish(int status);
/* The rows [*offset, *offset + *rows) of a global batch of count rows that
 * are this rank's: contiguous shards of near-equal size, the first
 * count mod ranks ranks taking one row more. */
void train_par_shard(const train_plan *plan, size_t count, size_t *offset, size_t *rows);

#endif
