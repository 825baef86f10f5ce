/* dist.c — see dist.h. */
#define _GNU_SOURCE
#include "train/dist.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static int launched_by_mpi(void) {
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

static int mpi_check(int err, const char *what) {
    if (err == MPI_SUCCESS) return 0;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(err, msg, &len);
    return vr_fail("MPI %s failed: %.*s", what, len, msg);
}

int vr_dist_init(vr_dist *d) {
    d->rank = 0, d->world = 1, d->mpi = 0;
    if (!launched_by_mpi()) return 0;
    int provided = 0;
    /* only the main thread calls MPI (the loader's thread never does) */
    if (mpi_check(MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided), "Init")) return -1;
    d->mpi = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (mpi_check(MPI_Comm_rank(MPI_COMM_WORLD, &d->rank), "Comm_rank") ||
        mpi_check(MPI_Comm_size(MPI_COMM_WORLD, &d->world), "Comm_size"))
        return -1;
    return 0;
}

void vr_dist_finalize(vr_dist *d) {
    if (d->mpi) MPI_Finalize();
    d->mpi = 0;
}

void vr_dist_abort(const vr_dist *d, int code) {
    fflush(stdout);
    fflush(stderr);
    if (d->mpi && d->world > 1) MPI_Abort(MPI_COMM_WORLD, code);
    if (d->mpi) MPI_Finalize();
    exit(code);
}

int vr_dist_sum_f32(const vr_dist *d, float *buf, int64_t n, size_t bucket_bytes) {
    if (!d->mpi || d->world == 1) return 0;
    int64_t per = (int64_t)(bucket_bytes / sizeof(float));
    if (per < 1) per = 1;
    if (per > (1 << 30)) per = 1 << 30; /* MPI counts are int */
    for (int64_t at = 0; at < n; at += per) {
        int count = (int)(n - at < per ? n - at : per);
        if (mpi_check(MPI_Allreduce(MPI_IN_PLACE, buf + at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
                      "Allreduce of gradients"))
            return -1;
    }
    return 0;
}

int vr_dist_sum_f64(const vr_dist *d, double *buf, int n) {
    if (!d->mpi || d->world == 1) return 0;
    return mpi_check(MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "Allreduce");
}

int vr_dist_max_i32(const vr_dist *d, int *buf, int n) {
    if (!d->mpi || d->world == 1) return 0;
    return mpi_check(MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "Allreduce");
}

int vr_dist_min_i32(const vr_dist *d, int *buf, int n) {
    if (!d->mpi || d->world == 1) return 0;
    return mpi_check(MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "Allreduce");
}

int vr_dist_bcast(const vr_dist *d, void *buf, size_t n) {
    if (!d->mpi || d->world == 1) return 0;
    const size_t chunk = (size_t)1 << 30;
    for (size_t at = 0; at < n; at += chunk) {
        int count = (int)(n - at < chunk ? n - at : chunk);
        if (mpi_check(MPI_Bcast((char *)buf + at, count, MPI_BYTE, 0, MPI_COMM_WORLD), "Bcast")) return -1;
    }
    return 0;
}

int vr_dist_gather(const vr_dist *d, const void *mine, void *all, size_t len) {
    if (!d->mpi || d->world == 1) {
        if (all != mine) memcpy(all, mine, len);
        return 0;
    }
    if (len > (size_t)1 << 30) return vr_fail("MPI Gather of %zu bytes per rank is too large", len);
    return mpi_check(MPI_Gather(mine, (int)len, MPI_BYTE, all, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD), "Gather");
}

int vr_dist_barrier(const vr_dist *d) {
    if (!d->mpi || d->world == 1) return 0;
    return mpi_check(MPI_Barrier(MPI_COMM_WORLD), "Barrier");
}
