/* The process group of a data-parallel `clnn train`, as the training code
 * sees it: a handful of collectives behind function pointers, so that only
 * src/cli/mpi.c includes <mpi.h> and a build without MPI compiles the same
 * training code with no group at all. Every collective must be called by
 * every rank, in the same order. A failed collective never returns: the
 * transport ends the whole job, because a rank that carried on alone would
 * leave the others waiting forever. */
#ifndef CLNN_CLI_COMM_H
#define CLNN_CLI_COMM_H

#include <stddef.h>
#include <stdint.h>

typedef struct cli_comm {
    int rank;       /* 0 .. size-1 */
    int size;       /* number of processes */
    int local_rank; /* rank among the processes on this machine */
    /* Element-wise sum over all ranks, in place. */
    void (*sum_f32)(float *data, size_t count);
    void (*sum_f64)(double *data, size_t count);
    /* Smallest and largest value of v over all ranks. */
    void (*min_max_u64)(uint64_t v, uint64_t *min, uint64_t *max);
    /* Rank 0's bytes to every rank. */
    void (*broadcast)(void *data, size_t bytes);
    /* Leave the group after a successful run (waits for the other ranks). */
    void (*finish)(void);
    /* End every rank of the job with this exit status. */
    void (*abort)(int status);
} cli_comm;

#ifdef CLNN_HAVE_MPI
/* Initialise MPI and describe MPI_COMM_WORLD. Call once. */
const cli_comm *cli_mpi_start(void);
#endif

#endif
