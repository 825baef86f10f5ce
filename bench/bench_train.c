/* bench_train.c — trainer throughput of the test model (train/mlp_test.c) at 1 and 2 MPI ranks:
 * steps/s, samples/s, data-wait and allreduce time per step, from the runs' own metrics.jsonl.
 * The real model's benchmark comes with it; this one measures the trainer's own overhead
 * (loader, gradient gathering, allreduce, AdamW, EMA, logging) and its scaling.
 *
 *   bench_train WORKDIR MPIEXEC CONFIGS_DIR     -> a Markdown table on stdout
 *   bench_train exec train ARGS...              the trainer itself (what mpirun starts)
 *
 * Data: 4 shards x 128 clips of the real shapes (500 x 64 latents, 100 x 31 video features),
 * written here. Batch 32; steps 1..10 are left out of the medians (warm-up).
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/rng.h"
#include "data/shard.h"
#include "train/trainer.h"

enum { T = 500, D = 64, TV = 100, DV = 31, N_SHARDS = 4, CLIPS = 128, BATCH = 32, SKIP = 10 };

static char g_self[4096], g_work[2048], g_shards[4400], g_config[2100];

static int write_shards(void) {
    static float audio[T * D], video[TV * DV];
    size_t at = (size_t)snprintf(g_shards, sizeof g_shards, "data.shards=[");
    for (int s = 0; s < N_SHARDS; s++) {
        char path[2200];
        snprintf(path, sizeof path, "%s/shard-%d.h5", g_work, s);
        at += (size_t)snprintf(g_shards + at, sizeof g_shards - at, "%s%s", s ? "," : "", path);
        vr_shard_spec sp = {.T = T, .D = D, .Tv = TV, .Dv = DV, .audio_rate = 50, .video_fps = 10,
                            .sample_rate = 16000, .latent_kind = "logmel", .normalised = 1};
        vr_shard_writer *w = vr_shard_create(path, &sp);
        if (!w) return -1;
        for (int k = 0; k < CLIPS; k++) {
            vr_rng r;
            vr_rng_seed_stream(&r, 5, (uint64_t)(s * CLIPS + k));
            for (int i = 0; i < T * D; i++) audio[i] = (float)vr_rng_normal(&r);
            for (int i = 0; i < TV * DV; i++) video[i] = (float)vr_rng_uniform(&r);
            char id[32];
            snprintf(id, sizeof id, "clip%04d", s * CLIPS + k);
            vr_shard_clip c = {id, "a steady pulse of warm strings", NULL, audio, video, NULL};
            if (vr_shard_append(w, &c)) {
                vr_shard_abort(w);
                return -1;
            }
        }
        if (vr_shard_finish(w, NULL, NULL)) return -1;
    }
    snprintf(g_shards + at, sizeof g_shards - at, "]");
    return 0;
}

/* Run the trainer on np ranks (0: no mpirun); 0 when it succeeded. */
static int run_train(const char *mpiexec, int np, const char *name, int width, int steps) {
    char nps[8], rundir[2200], runname[64], dm[64], st[64], log[2200];
    snprintf(nps, sizeof nps, "%d", np);
    snprintf(rundir, sizeof rundir, "run.dir=%s/runs", g_work);
    snprintf(runname, sizeof runname, "run.name=%s", name);
    snprintf(dm, sizeof dm, "model.d_model=%d", width);
    snprintf(st, sizeof st, "train.steps=%d", steps);
    snprintf(log, sizeof log, "%s/%s.log", g_work, name);
    char *argv[32];
    int n = 0;
    if (np > 0) {
        argv[n++] = (char *)mpiexec, argv[n++] = "--allow-run-as-root", argv[n++] = "--oversubscribe";
        argv[n++] = "-np", argv[n++] = nps;
    }
    char *rest[] = {g_self, "exec", "train", g_config, rundir, runname, g_shards, dm, st, "data.n_mels=64",
                    "train.batch_size=32", "train.ckpt_every=100000", "train.warmup_steps=10",
                    "run.overwrite=true", NULL};
    for (int i = 0; rest[i]; i++) argv[n++] = rest[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
        if (np > 1) setenv("OPENBLAS_NUM_THREADS", "1", 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        fprintf(stderr, "bench_train: run %s failed; see %s\n", name, log);
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Medians of step_s and allreduce_s, mean data_wait_pct, over steps after SKIP. */
static int summarise(const char *name, double *step_s, double *comm_s, double *wait_pct) {
    char path[2200], *text = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/runs/%s/metrics.jsonl", g_work, name);
    if (vr_read_file(path, &text, &n)) return -1;
    double *a = malloc(sizeof(double) * (n / 16 + 1)), *c = malloc(sizeof(double) * (n / 16 + 1)), wait = 0;
    int k = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(j, "step");
        if (cJSON_IsNumber(step) && step->valuedouble > SKIP) {
            a[k] = cJSON_GetObjectItemCaseSensitive(j, "step_s")->valuedouble;
            c[k] = cJSON_GetObjectItemCaseSensitive(j, "allreduce_s")->valuedouble;
            wait += cJSON_GetObjectItemCaseSensitive(j, "data_wait_pct")->valuedouble;
            k++;
        }
        cJSON_Delete(j);
    }
    qsort(a, (size_t)k, sizeof *a, cmp_double);
    qsort(c, (size_t)k, sizeof *c, cmp_double);
    *step_s = k ? a[k / 2] : NAN, *comm_s = k ? c[k / 2] : NAN, *wait_pct = k ? wait / k : NAN;
    free(a);
    free(c);
    free(text);
    return k ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "exec") && !strcmp(argv[2], "train")) return vr_cmd_train(argc - 2, argv + 2);
    if (argc != 4) {
        fprintf(stderr, "usage: bench_train WORKDIR MPIEXEC CONFIGS_DIR\n");
        return 2;
    }
    ssize_t len = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
    g_self[len > 0 ? len : 0] = 0;
    snprintf(g_work, sizeof g_work, "%s", argv[1]);
    snprintf(g_config, sizeof g_config, "%s/experiments/test_tiny.yaml", argv[3]);
    if (vr_mkdirs(g_work) || write_shards()) {
        fprintf(stderr, "bench_train: %s\n", vr_error());
        return 1;
    }
    static const struct { int width, steps; } SIZES[] = {{64, 300}, {1024, 150}};
    printf("| model (mlp_test) | parameters | ranks | steps/s | samples/s | data wait | allreduce / step | speed-up |\n"
           "|---|---|---|---|---|---|---|---|\n");
    for (int s = 0; s < 2; s++) {
        int H = SIZES[s].width;
        long params = 2L * H + H + (long)H * H + H + (long)D * H + D + 2L * H + H; /* text_in, hidden, out, video_in */
        double base = 0;
        for (int np = 1; np <= 2; np++) {
            char name[64];
            snprintf(name, sizeof name, "d%d_np%d", H, np);
            double step_s, comm_s, wait;
            if (run_train(argv[2], np == 1 ? 0 : np, name, H, SIZES[s].steps) ||
                summarise(name, &step_s, &comm_s, &wait))
                return 1;
            if (np == 1) base = step_s;
            printf("| d_model %d | %ld | %d | %.1f | %.0f | %.1f %% | %.3f ms | %.2fx |\n", H, params, np, 1 / step_s,
                   BATCH / step_s, wait, 1e3 * comm_s, base / step_s);
            fflush(stdout);
        }
    }
    return 0;
}
