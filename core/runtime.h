/* runtime.h — the thread policy and BLAS facts, in one place.
 *
 * On this class of machine (2 cores), libtorch's intra-op threads and OpenBLAS's own pthreads
 * compete: two torch threads on top of two OpenBLAS threads made training steps 1.5x and
 * generation 5x slower (DESIGN.md §4). So the policy is explicit: runtime.torch_threads
 * (default 1) and runtime.blas_threads (0 = OpenBLAS default, i.e. all cores; under mpirun use
 * 1 per rank). vr_runtime_apply() sets both; OpenBLAS is reached through dlsym so nothing links
 * against it directly (Debian picks the BLAS via update-alternatives).
 *
 * The memory policy: libtorch frees and allocates the same large activations at every training
 * step, and glibc's default gives blocks above its (dynamic, 128 KiB .. 32 MiB) mmap threshold
 * and a free heap top above 128 KiB back to the kernel, so every step page-faults them in again.
 * On this VM that was a third of a `small` training step (2.96 vs 1.85-1.90 s, bench_robin_step);
 * on the earlier bare Intel machine 1.5 %. vr_memory_policy() keeps freed memory in the heap:
 * mmap only above 32 MiB (glibc's largest threshold), trim only a free top above 1 GiB. The peak
 * resident memory is the same; it is just not returned between steps.
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
enum { VR_MMAP_THRESHOLD = 32 << 20, VR_TRIM_THRESHOLD = 1 << 30 };
/* Apply the memory policy above (glibc; once; not when GLIBC_TUNABLES is set: the user's wins). */
void vr_memory_policy(void);
/* The memory policy, then libtorch intra-op threads (if > 0) and OpenBLAS threads (if > 0). */
void vr_runtime_apply(int torch_threads, int blas_threads);

#ifdef __cplusplus
}
#endif
#endif
