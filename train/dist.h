/* dist.h — MPI data parallelism, and the same calls as no-ops for a single process.
 *
 * vr_dist_init() calls MPI_Init only when a launcher started this process (mpirun/mpiexec of
 * Open MPI, MPICH/Hydra, or srun with PMI/PMIx: it looks for OMPI_COMM_WORLD_SIZE, PMIX_RANK,
 * PMI_RANK or PMI_SIZE in the environment), so `vrobin train` without mpirun is one rank with no
 * MPI at all. MPI errors are returned (MPI_ERRORS_RETURN) and become vr_error() messages.
 *
 * Failure policy: a rank that cannot go on prints its reason and calls vr_dist_abort(), i.e.
 * MPI_Abort, which makes mpirun kill the other ranks (even inside a blocked Allreduce, within
 * about half a second) and exit non-zero. Failures every rank sees at once (a NaN found in the
 * reduced gradients, a bad config) need no abort: all ranks stop on their own.
 */
#ifndef VR_DIST_H
#define VR_DIST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_dist {
    int rank, world;
    int mpi; /* 1 when MPI was initialised */
} vr_dist;

/* 0, or -1 + vr_error(). */
int vr_dist_init(vr_dist *d);
void vr_dist_finalize(vr_dist *d);
/* Stop every rank with `code` (MPI_Abort), or exit(code) without MPI. Flushes stdio first. */
void vr_dist_abort(const vr_dist *d, int code) __attribute__((noreturn));

/* In-place sum over ranks of n floats, in buckets of at most bucket_bytes (one MPI call each). */
int vr_dist_sum_f32(const vr_dist *d, float *buf, int64_t n, size_t bucket_bytes);
int vr_dist_sum_f64(const vr_dist *d, double *buf, int n);
int vr_dist_max_i32(const vr_dist *d, int *buf, int n);
int vr_dist_min_i32(const vr_dist *d, int *buf, int n);
/* Rank 0's n bytes to every rank. */
int vr_dist_bcast(const vr_dist *d, void *buf, size_t n);
/* Every rank's `len` bytes of `mine`, concatenated in rank order into `all` (world * len bytes,
 * only needed on rank 0). */
int vr_dist_gather(const vr_dist *d, const void *mine, void *all, size_t len);
int vr_dist_barrier(const vr_dist *d);

#ifdef __cplusplus
}
#endif
#endif
