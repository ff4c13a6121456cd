/* The cli_comm of comm.h over MPI_COMM_WORLD: the only file of clnn that
 * includes <mpi.h>, compiled only when meson finds MPI (-Dmpi). MPI's default
 * error handler, MPI_ERRORS_ARE_FATAL, stays in place on purpose: a failed
 * collective then ends the whole job with MPI's own message instead of
 * leaving the other ranks blocked in the next one. */
#include "comm.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <mpi.h>

/* MPI counts are ints; larger buffers go in pieces (a network with more than
 * 2^31 parameters does not fit clnn's devices today, but the CLI should not
 * depend on that). */
#define MAX_CHUNK ((size_t)INT_MAX)

static cli_comm world;

static void sum_f32(float *data, size_t count)
{
    for (size_t done = 0; done < count;) {
        size_t n = count - done < MAX_CHUNK ? count - done : MAX_CHUNK;
        MPI_Allreduce(MPI_IN_PLACE, data + done, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        done += n;
    }
}

static void sum_f64(double *data, size_t count)
{
    for (size_t done = 0; done < count;) {
        size_t n = count - done < MAX_CHUNK ? count - done : MAX_CHUNK;
        MPI_Allreduce(MPI_IN_PLACE, data + done, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        done += n;
    }
}

static void min_max_u64(uint64_t v, uint64_t *min, uint64_t *max)
{
    /* One collective instead of two: the largest ~v is the complement of the
     * smallest v. */
    uint64_t pair[2] = {v, ~v};
    MPI_Allreduce(MPI_IN_PLACE, pair, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    *max = pair[0];
    *min = ~pair[1];
}

static void broadcast(void *data, size_t bytes)
{
    char *p = data;
    for (size_t done = 0; done < bytes;) {
        size_t n = bytes - done < MAX_CHUNK ? bytes - done : MAX_CHUNK;
        MPI_Bcast(p + done, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
        done += n;
    }
}

static void finish(void)
{
    MPI_Finalize();
}

static void abort_all(int status)
{
    /* MPI_Abort may end this process before stdio's buffers reach the
     * launcher, which would lose the error line that explains the abort. */
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status);
    exit(status); /* MPI_Abort should not return; never carry on if it does */
}

const cli_comm *cli_mpi_start(void)
{
    MPI_Init(NULL, NULL);
    MPI_Comm_rank(MPI_COMM_WORLD, &world.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world.size);
    /* The ranks that share this machine (and its devices), numbered from 0:
     * portable across MPI implementations, unlike each launcher's own
     * environment variable. */
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world.rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &world.local_rank);
    MPI_Comm_free(&node);
    world.sum_f32 = sum_f32;
    world.sum_f64 = sum_f64;
    world.min_max_u64 = min_max_u64;
    world.broadcast = broadcast;
    world.finish = finish;
    world.abort = abort_all;
    return &world;
}
