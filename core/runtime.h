/* runtime.h — the thread policy and BLAS facts, in one place.
 *
 * On this class of machine (2 cores), libtorch's intra-op threads and OpenBLAS's own pthreads
 * compete: two torch threads on top of two OpenBLAS threads made training steps 1.5x and
 * generation 5x slower (DESIGN.md §4). So the policy is explicit: runtime.torch_threads
 * (default 1) and runtime.blas_threads (0 = OpenBLAS default, i.e. all cores; under mpirun use
 * 1 per rank). vr_runtime_apply() sets both; OpenBLAS is reached through dlsym so nothing links
 * against it directly (Debian picks the BLAS via update-alternatives).
 */
#ifndef VR_RUNTIME_H
#define VR_RUNTIME_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_blas_info {
    char library[512];   /* resolved path of the shared object that provides sgemm_ */
    char config[256];    /* openblas_get_config() or "" */
    int is_openblas;
    int is_reference;    /* Debian's reference BLAS (netlib): ~30x slower */
    int threads;         /* openblas_get_num_threads() or -1 */
} vr_blas_info;

/* Fill `info` (call after libtorch is loaded; it is when this binary runs). */
void vr_blas_query(vr_blas_info *info);
/* Float32 n x n matmul speed through the wrapper in GFLOP/s: best of `reps` after two warm-up
 * runs (thread pools, page faults). Used by `vrobin doctor` and the benchmarks' MFU. */
double vr_matmul_gflops(int n, int reps);
/* "CPU model name" from /proc/cpuinfo ("unknown CPU" when absent), for reports and headers. */
void vr_cpu_model(char *buf, size_t n);
/* "CPU model, N cores, X GiB": the machine line of every results header. */
void vr_machine_describe(char *buf, size_t n);
/* Set libtorch intra-op threads (if > 0) and OpenBLAS threads (if > 0). */
void vr_runtime_apply(int torch_threads, int blas_threads);

#ifdef __cplusplus
}
#endif
#endif
