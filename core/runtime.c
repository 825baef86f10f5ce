/* runtime.c — see runtime.h. */
#define _GNU_SOURCE
#include "core/runtime.h"

#include <dlfcn.h>
#include <limits.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/tt.h"

void vr_blas_query(vr_blas_info *info) {
    memset(info, 0, sizeof *info);
    info->threads = -1;
    void *sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
    Dl_info dl;
    if (sgemm && dladdr(sgemm, &dl) && dl.dli_fname) {
        char real[PATH_MAX];
        const char *path = realpath(dl.dli_fname, real) ? real : dl.dli_fname;
        snprintf(info->library, sizeof info->library, "%s", path);
    } else {
        snprintf(info->library, sizeof info->library, "(sgemm_ not found)");
    }
    char *(*get_config)(void) = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_config");
    int (*get_threads)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    if (get_config) snprintf(info->config, sizeof info->config, "%s", get_config());
    if (get_threads) info->threads = get_threads();
    info->is_openblas = get_config != NULL || strstr(info->library, "openblas") != NULL;
    info->is_reference = !info->is_openblas && strstr(info->library, "/blas/") != NULL;
}

void vr_memory_policy(void) {
#if defined(__GLIBC__)
    static int done;
    if (done || getenv("GLIBC_TUNABLES")) return; /* a user's own malloc settings win */
    done = 1;
    mallopt(M_MMAP_THRESHOLD, VR_MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, VR_TRIM_THRESHOLD);
#endif
}

void vr_runtime_apply(int torch_threads, int blas_threads) {
    vr_memory_policy();
    if (torch_threads > 0) tt_set_num_threads(torch_threads);
    if (blas_threads > 0) {
        void (*set_threads)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
        if (set_threads) set_threads(blas_threads);
    }
}

double vr_matmul_gflops(int n, int reps) {
    tt_scope_begin();
    tt_gen *g = tt_gen_new(0);
    tt_tensor *a = tt_randn(g, TT_SHAPE(n, n), TT_F32), *b = tt_randn(g, TT_SHAPE(n, n), TT_F32);
    double best = 1e30;
    for (int i = 0; i < reps + 2; i++) {
        tt_scope_begin();
        double t0 = vr_now();
        tt_tensor *c = tt_matmul(a, b);
        tt_synchronize();
        double dt = vr_now() - t0;
        tt_scope_end();
        if (!c) break;
        if (i >= 2 && dt < best) best = dt;
    }
    tt_gen_free(g);
    tt_scope_end();
    return best < 1e30 ? 2.0 * n * (double)n * n / best / 1e9 : 0.0;
}

void vr_cpu_model(char *buf, size_t n) {
    snprintf(buf, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model name", 10)) {
            char *v = strchr(line, ':');
            if (v) {
                v += 1 + (v[1] == ' ');
                v[strcspn(v, "\n")] = '\0';
                snprintf(buf, n, "%s", v);
            }
            break;
        }
    }
    fclose(f);
}

void vr_machine_describe(char *buf, size_t n) {
    char cpu[256];
    vr_cpu_model(cpu, sizeof cpu);
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    double gib = pages > 0 && size > 0 ? (double)pages * (double)size / (1024.0 * 1024.0 * 1024.0) : 0;
    snprintf(buf, n, "%s, %ld cores, %.1f GiB", cpu, sysconf(_SC_NPROCESSORS_ONLN), gib);
}
