/* test_train.c — whole training runs of the test model (configs/experiments/test_tiny.yaml) on
 * tiny shards written here, checked from the outside: exit status, messages, metrics.jsonl and
 * the checkpoint files.
 *
 *   test_train CASE WORKDIR MPIEXEC CONFIGS_DIR
 *     ranks   1 rank, 2 MPI ranks and 1 rank with 2 micro-batches follow the same losses; a 2-rank
 *             run killed with -9 resumes on 2 ranks (bit-identical) or 1 rank; a failing rank
 *             ends mpirun non-zero with its reason; a non-finite gradient on rank 1 is named
 *     resume  kill -9 after step 25 / in the middle of writing checkpoint 20, resume: losses and
 *             final checkpoint files bit-identical to an uninterrupted run; keep_last; refusing
 *             to overwrite or to resume with a changed setting; run.overwrite; vrobin plot
 *     guard   a non-finite loss stops with step, tensor and clip ids and no poisoned checkpoint;
 *             bf16 autocast trains; config errors are clear
 *     stages  stage 1 (text only) -> stage 2 (text + video) through train.init_from and
 *             train.init_allow_new, weights and EMA carried over
 *   test_train exec train|plot ARGS...   the trainer itself (what mpirun starts)
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/log.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "data/shard.h"
#include "tests/check.h"
#include "train/trainer.h"

enum { T = 8, D = 4, TV = 4, DV = 3, N_SHARDS = 2, CLIPS = 24, MAX_STEPS = 64 };

static char g_self[4096], g_work[2048], g_mpiexec[1024], g_config[2048], g_shards[4200];

/* ---- fixtures ----------------------------------------------------------------------------------- */

/* Clip g: random caption and video statistics; its audio latent's per-dim mean is a fixed function
 * of them (+ a little noise), stored raw with the per-dim mean/std for normalisation. */
static int write_shards(void) {
    static float audio[N_SHARDS * CLIPS][T * D], video[N_SHARDS * CLIPS][TV * DV];
    static char text[N_SHARDS * CLIPS][72];
    const double w1[D] = {2, -1, 0.5, 1}, w2[D] = {1, 1, -2, 0}, w3[D] = {-1, 0.5, 1, 2};
    double sum[D] = {0}, sq[D] = {0};
    for (int g = 0; g < N_SHARDS * CLIPS; g++) {
        vr_rng r;
        vr_rng_seed_stream(&r, 99, (uint64_t)g);
        int len = 5 + (int)vr_rng_below(&r, 60);
        for (int k = 0; k < len; k++) text[g][k] = (char)('a' + vr_rng_below(&r, 26));
        text[g][len] = 0;
        /* the video's mean and std are exactly mu and sd: +-sd around mu, half and half */
        double mu = 2 * vr_rng_uniform(&r) - 1, sd = 0.2 + 1.3 * vr_rng_uniform(&r);
        for (int k = 0; k < TV * DV; k++) video[g][k] = (float)(mu + (k % 2 ? sd : -sd));
        for (int t = 0; t < T; t++)
            for (int d = 0; d < D; d++) {
                double v = 3 + 2 * w1[d] * len / 64.0 + w2[d] * mu + w3[d] * sd + 0.1 * vr_rng_normal(&r);
                audio[g][t * D + d] = (float)v;
                sum[d] += v, sq[d] += v * v;
            }
    }
    float mean[D], std[D];
    double n = (double)N_SHARDS * CLIPS * T;
    for (int d = 0; d < D; d++)
        mean[d] = (float)(sum[d] / n), std[d] = (float)sqrt(sq[d] / n - (sum[d] / n) * (sum[d] / n));
    size_t at = (size_t)snprintf(g_shards, sizeof g_shards, "data.shards=[");
    for (int s = 0; s < N_SHARDS; s++) {
        char path[2200];
        snprintf(path, sizeof path, "%s/shard-%d.h5", g_work, s);
        at += (size_t)snprintf(g_shards + at, sizeof g_shards - at, "%s%s", s ? "," : "", path);
        vr_shard_spec sp = {.T = T, .D = D, .Tv = TV, .Dv = DV, .audio_rate = 50, .video_fps = 10,
                            .sample_rate = 16000, .latent_kind = "logmel", .normalised = 0};
        vr_shard_writer *w = vr_shard_create(path, &sp);
        if (!w) return -1;
        for (int k = 0; k < CLIPS; k++) {
            int g = s * CLIPS + k;
            char id[16];
            snprintf(id, sizeof id, "clip%02d", g);
            vr_shard_clip c = {id, text[g], NULL, audio[g], video[g], NULL};
            if (vr_shard_append(w, &c)) {
                vr_shard_abort(w);
                return -1;
            }
        }
        if (vr_shard_finish(w, mean, std)) return -1;
    }
    snprintf(g_shards + at, sizeof g_shards - at, "]");
    return 0;
}

/* ---- running the trainer ------------------------------------------------------------------------ */

typedef struct outcome {
    int code;      /* exit status, or -1 when killed */
    int signal;    /* the killing signal, or 0 */
    double seconds;
    char log[4096];
} outcome;

/* Run argv with extra environment ("K=V" or NULL), output to <work>/<tag>.log, a 120 s limit.
 * Under a sanitizer build, Open MPI's own leaks at exit would fail every MPI run, so leak checks
 * are off for MPI runs (the 1-rank runs check the trainer's code). */
static outcome run(char **argv, const char *env, const char *tag) {
    outcome o = {-1, 0, 0, ""};
    snprintf(o.log, sizeof o.log, "%s/%s.log", g_work, tag);
    double t0 = vr_now();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        int fd = open(o.log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        if (env) putenv(strdup(env));
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
        setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1); /* containers forbid CMA */
        setenv("VROBIN_PROGRESS_SECONDS", "1000", 1);
        const char *asan = getenv("ASAN_OPTIONS");
        if (!strcmp(argv[0], g_mpiexec)) {
            char opts[1024];
            snprintf(opts, sizeof opts, "%s%sdetect_leaks=0", asan ? asan : "", asan ? ":" : "");
            setenv("ASAN_OPTIONS", opts, 1);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) break;
        if (vr_now() - t0 > 120) {
            kill(-pid, SIGKILL);
            waitpid(pid, &st, 0);
            fprintf(stderr, "%s: timed out\n", tag);
            break;
        }
        usleep(5000);
    }
    o.seconds = vr_now() - t0;
    if (WIFEXITED(st)) o.code = WEXITSTATUS(st);
    else if (WIFSIGNALED(st)) o.signal = WTERMSIG(st);
    return o;
}

/* `vrobin train CONFIG run.dir=<work>/runs run.name=NAME data.shards=[...] ARGS...` on np ranks
 * (np 0: without mpirun). The argument list ends with NULL. */
static outcome train(int np, const char *env, const char *name, ...) {
    char *argv[64], nps[16], rundir[2200], runname[300];
    int n = 0;
    if (np > 0) {
        snprintf(nps, sizeof nps, "%d", np);
        argv[n++] = g_mpiexec, argv[n++] = "--allow-run-as-root", argv[n++] = "--oversubscribe";
        argv[n++] = "-np", argv[n++] = nps;
    }
    argv[n++] = g_self, argv[n++] = "exec", argv[n++] = "train", argv[n++] = g_config;
    snprintf(rundir, sizeof rundir, "run.dir=%s/runs", g_work);
    snprintf(runname, sizeof runname, "run.name=%s", name);
    argv[n++] = rundir, argv[n++] = runname, argv[n++] = g_shards;
    va_list ap;
    va_start(ap, name);
    for (char *a; n < 62 && (a = va_arg(ap, char *));) argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char tag[400];
    static int count;
    snprintf(tag, sizeof tag, "%02d-%s", ++count, name);
    return run(argv, env, tag);
}

static int log_has(const outcome *o, const char *needle) {
    char *text = NULL;
    size_t n = 0;
    if (vr_read_file(o->log, &text, &n)) return 0;
    int found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

static void show_log(const outcome *o) {
    char *text = NULL;
    size_t n = 0;
    if (vr_read_file(o->log, &text, &n) == 0) fprintf(stderr, "---- %s ----\n%s----\n", o->log, text);
    free(text);
}

#define CHECK_RUN(o, want_code, what)                                                                      \
    do {                                                                                                   \
        CHECK((o).code == (want_code) && !(o).signal, "%s: exit %d signal %d (want exit %d), %.1f s", what, \
              (o).code, (o).signal, want_code, (o).seconds);                                               \
        if ((o).code != (want_code) || (o).signal) show_log(&(o));                                         \
    } while (0)

static char *run_path(const char *name, const char *file) {
    static char p[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/runs/%s%s%s", g_work, name, file[0] ? "/" : "", file);
    return p[k];
}

/* Losses of metrics.jsonl by step (1-based, in order); returns the count or -1. */
static int read_losses(const char *name, double *loss, char (*text)[40]) {
    char *data = NULL;
    size_t n = 0;
    if (vr_read_file(run_path(name, "metrics.jsonl"), &data, &n)) return -1;
    int count = 0;
    for (char *line = strtok(data, "\n"); line && count < MAX_STEPS; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "step"), *l = cJSON_GetObjectItemCaseSensitive(j, "loss");
        if (!cJSON_IsNumber(s) || !cJSON_IsNumber(l) || s->valuedouble != count + 1) {
            cJSON_Delete(j);
            count = -1;
            break;
        }
        loss[count] = l->valuedouble;
        if (text) {
            const char *p = strstr(line, "\"loss\": ");
            snprintf(text[count], 40, "%.*s", p ? (int)strcspn(p + 8, ",}") : 0, p ? p + 8 : "");
        }
        count++;
        cJSON_Delete(j);
    }
    free(data);
    return count;
}

static int files_equal(const char *a, const char *b) {
    char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int eq = !vr_read_file(a, &x, &nx) && !vr_read_file(b, &y, &ny) && nx == ny && !memcmp(x, y, nx);
    free(x);
    free(y);
    return eq;
}

static int latest_is(const char *name, const char *want) {
    char *text = NULL;
    size_t n = 0;
    int ok = !vr_read_file(run_path(name, "latest"), &text, &n) && n > 0 && !strncmp(text, want, strlen(want));
    free(text);
    return ok;
}

/* The names in <run>/ckpt, sorted, space separated. */
static void list_ckpts(const char *name, char *out, size_t cap) {
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "ls -A %s 2>/dev/null | tr '\\n' ' '", run_path(name, "ckpt"));
    FILE *p = popen(cmd, "r");
    out[0] = 0;
    if (p) {
        size_t n = fread(out, 1, cap - 1, p);
        out[n] = 0;
        pclose(p);
    }
}

/* One float32 tensor of a safetensors file into a malloc'd array (count in *n). */
static float *read_tensor(const char *file, const char *tensor, int64_t *n) {
    st_file *f = st_open(file);
    const st_tensor *t = f ? st_find(f, tensor) : NULL;
    float *out = NULL;
    if (t && t->dtype == ST_F32) {
        *n = st_numel(t);
        out = malloc(sizeof(float) * (size_t)*n);
        memcpy(out, st_tensor_data(f, t), sizeof(float) * (size_t)*n);
    }
    if (f) st_close(f);
    return out;
}

static double max_rel_diff(const double *a, const double *b, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]) / fmax(fabs(a[i]), 1e-12));
    return m;
}

/* ---- cases -------------------------------------------------------------------------------------- */

static void case_ranks(void) {
    double l1[MAX_STEPS], l2[MAX_STEPS], la[MAX_STEPS];
    outcome a = train(0, NULL, "r1", "train.steps=24", "train.ckpt_every=100", NULL);
    CHECK_RUN(a, 0, "1 rank");
    outcome b = train(2, NULL, "r2", "train.steps=24", "train.ckpt_every=10", NULL);
    CHECK_RUN(b, 0, "2 ranks");
    outcome c = train(0, NULL, "racc", "train.steps=24", "train.ckpt_every=100", "train.accum_steps=2", NULL);
    CHECK_RUN(c, 0, "1 rank, 2 micro-batches");
    int n1 = read_losses("r1", l1, NULL), n2 = read_losses("r2", l2, NULL), na = read_losses("racc", la, NULL);
    CHECK(n1 == 24 && n2 == 24 && na == 24, "24 metrics lines each (%d, %d, %d)", n1, n2, na);
    if (n1 == 24 && n2 == 24 && na == 24) {
        double d2 = max_rel_diff(l1, l2, 24), da = max_rel_diff(l1, la, 24);
        printf("losses over 24 steps: 1 rank %.5f -> %.5f; max rel diff 2 ranks %.2e, 2 micro-batches %.2e\n", l1[0],
               l1[23], d2, da);
        CHECK(d2 <= 1e-5, "2 ranks follow the 1-rank losses (max rel diff %.2e)", d2);
        CHECK(da <= 1e-5, "2 micro-batches follow the 1-rank losses (max rel diff %.2e)", da);
        CHECK(l1[23] < 0.5 * l1[0], "the loss falls (%.4f -> %.4f)", l1[0], l1[23]);
    }
    int64_t n = 0, m = 0;
    float *w1 = read_tensor(run_path("r1", "ckpt/step_00000024/model.safetensors"), "hidden.weight", &n);
    float *w2 = read_tensor(run_path("r2", "ckpt/step_00000024/model.safetensors"), "hidden.weight", &m);
    double dw = 0;
    for (int64_t i = 0; w1 && w2 && n == m && i < n; i++) dw = fmax(dw, fabs(w1[i] - w2[i]));
    CHECK(w1 && w2 && n == m && dw < 1e-4, "final weights of 1 and 2 ranks agree (max abs diff %.2e)", dw);
    free(w1);
    free(w2);

    /* a 2-rank run killed after step 15 resumes from step 10 on 2 ranks (bit-identical) or on
     * 1 rank (the same losses within float tolerance) */
    char t2[MAX_STEPS][40], tk[MAX_STEPS][40];
    double lk[MAX_STEPS];
    read_losses("r2", l2, t2);
    const char *names[] = {"r2kill", "r2kill1"};
    for (int i = 0; i < 2; i++) {
        outcome k = train(2, "VROBIN_TEST_KILL_AT_STEP=15", names[i], "train.steps=24", "train.ckpt_every=10", NULL);
        CHECK(k.code != 0 || k.signal, "2 ranks killed after step 15 (exit %d)", k.code);
        CHECK(latest_is(names[i], "step_00000010\n"), "checkpoint 10 is the latest");
        outcome r = train(i ? 0 : 2, NULL, names[i], "--resume", "train.steps=24", "train.ckpt_every=10", NULL);
        CHECK_RUN(r, 0, i ? "resume a 2-rank run on 1 rank" : "resume a 2-rank run on 2 ranks");
        int nk = read_losses(names[i], lk, tk), same = nk == 24;
        for (int j = 0; same && j < 24; j++)
            same = i ? fabs(lk[j] - l2[j]) <= 1e-5 * fabs(l2[j]) : !strcmp(tk[j], t2[j]);
        CHECK(same, "%s: losses match the uninterrupted 2-rank run %s (%d lines)", names[i],
              i ? "within 1e-5" : "bit for bit", nk);
    }

    outcome f = train(2, "VROBIN_TEST_FAIL_AT=1:3", "rfail", NULL);
    CHECK(f.code != 0 || f.signal, "a failing rank makes mpirun fail (exit %d)", f.code);
    CHECK(f.seconds < 30, "and it does not hang (%.1f s, startup included)", f.seconds);
    CHECK(log_has(&f, "rank 1 fails"), "the failing rank's reason is printed");
    printf("failing rank: mpirun exited %d after %.1f s\n", f.code, f.seconds);

    outcome g = train(2, "VROBIN_TEST_NAN=grad:4:1", "rnan", NULL);
    CHECK(g.code == 1, "a non-finite gradient stops every rank with exit 1 (got %d)", g.code);
    CHECK(log_has(&g, "step 4: the gradient of parameter 'out.bias' is not finite"),
          "the message names step and tensor");
    CHECK(log_has(&g, "[rank 1] clip"), "and every rank's clip ids");
    CHECK(!vr_file_exists(run_path("rnan", "latest")), "no checkpoint of the poisoned state");
}

static void case_resume(void) {
    double u[MAX_STEPS], k[MAX_STEPS], c[MAX_STEPS];
    char ut[MAX_STEPS][40], kt[MAX_STEPS][40], ct[MAX_STEPS][40], list[512];
    outcome a = train(0, NULL, "full", NULL);
    CHECK_RUN(a, 0, "uninterrupted 30 steps");
    CHECK(read_losses("full", u, ut) == 30, "30 metrics lines");
    list_ckpts("full", list, sizeof list);
    CHECK(!strcmp(list, "step_00000020 step_00000030 "), "keep_last 2 keeps the newest two: '%s'", list);
    CHECK(latest_is("full", "step_00000030\n"), "latest names step 30");

    /* kill -9 after step 25: checkpoint 20 is the latest; resume replays 21..30 */
    outcome b = train(0, "VROBIN_TEST_KILL_AT_STEP=25", "kill", NULL);
    CHECK(b.signal == SIGKILL, "killed after step 25 (signal %d, exit %d)", b.signal, b.code);
    CHECK(latest_is("kill", "step_00000020\n"), "latest names step 20 after the kill");
    double tmp[MAX_STEPS];
    CHECK(read_losses("kill", tmp, NULL) == 25, "25 metrics lines before resuming");
    outcome b2 = train(0, NULL, "kill", "--resume", NULL);
    CHECK_RUN(b2, 0, "resume after kill -9");
    int nk = read_losses("kill", k, kt), same = nk == 30;
    for (int i = 0; same && i < 30; i++) same = u[i] == k[i] && !strcmp(ut[i], kt[i]);
    CHECK(same, "resumed losses are bit-identical to the uninterrupted run's (%d lines)", nk);
    const char *files[] = {"model.safetensors", "ema.safetensors", "optim.safetensors"};
    for (int i = 0; i < 3; i++) {
        char f[64];
        snprintf(f, sizeof f, "ckpt/step_00000030/%s", files[i]);
        CHECK(files_equal(run_path("full", f), run_path("kill", f)), "step 30 %s is byte-identical", files[i]);
    }

    /* kill -9 half-way through writing checkpoint 20: checkpoint 10 stays the latest and valid */
    outcome d = train(0, "VROBIN_TEST_CRASH_IN_CKPT=20", "crash", NULL);
    CHECK(d.signal == SIGKILL, "killed inside the checkpoint write (signal %d, exit %d)", d.signal, d.code);
    CHECK(latest_is("crash", "step_00000010\n"), "latest still names step 10");
    list_ckpts("crash", list, sizeof list);
    CHECK(strstr(list, ".step_00000020.tmp") && strstr(list, "step_00000010"), "the torn write is a temp folder: '%s'",
          list);
    char *resume_argv[] = {g_self, "exec", "train", "--resume", run_path("crash", ""), NULL};
    outcome d2 = run(resume_argv, NULL, "crash-resume");
    CHECK_RUN(d2, 0, "resume RUN_DIR after a crash in a checkpoint write");
    int nc = read_losses("crash", c, ct);
    same = nc == 30;
    for (int i = 0; same && i < 30; i++) same = !strcmp(ut[i], ct[i]);
    CHECK(same, "and its losses are bit-identical too (%d lines)", nc);
    CHECK(files_equal(run_path("full", "ckpt/step_00000030/model.safetensors"),
                      run_path("crash", "ckpt/step_00000030/model.safetensors")),
          "final weights byte-identical");
    list_ckpts("crash", list, sizeof list);
    CHECK(!strcmp(list, "step_00000020 step_00000030 "), "the temp folder is cleaned up: '%s'", list);

    /* refusals */
    outcome e = train(0, NULL, "full", NULL);
    CHECK(e.code == 1 && log_has(&e, "already holds a run") && log_has(&e, "--resume"),
          "a new run refuses an existing run folder (exit %d)", e.code);
    outcome f = train(0, NULL, "full", "--resume", "train.lr=0.02", "train.steps=40", NULL);
    CHECK(f.code == 1 && log_has(&f, "train.lr (0.03 -> 0.02)"), "resuming with another train.lr is refused (exit %d)",
          f.code);
    outcome g = train(0, NULL, "full", "--resume", NULL);
    CHECK_RUN(g, 0, "resuming a finished run");
    CHECK(log_has(&g, "nothing to do") && read_losses("full", tmp, NULL) == 30, "does nothing and keeps the metrics");

    /* vrobin plot */
    char png[2200];
    snprintf(png, sizeof png, "%s/full.png", g_work);
    char *plot_argv[] = {g_self, "exec", "plot", run_path("full", ""), "-o", png, NULL};
    outcome p = run(plot_argv, NULL, "plot");
    CHECK_RUN(p, 0, "vrobin plot");
    FILE *fp = fopen(png, "rb");
    unsigned char magic[8] = {0};
    CHECK(fp && fread(magic, 1, 8, fp) == 8 && !memcmp(magic, "\x89PNG\r\n\x1a\n", 8), "plot wrote a PNG");
    if (fp) fclose(fp);

    outcome h = train(0, NULL, "full", "run.overwrite=true", "train.steps=3", NULL);
    CHECK_RUN(h, 0, "run.overwrite=true starts again");
    list_ckpts("full", list, sizeof list);
    CHECK(read_losses("full", tmp, NULL) == 3 && !strcmp(list, "step_00000003 "),
          "with fresh metrics and checkpoints '%s'", list);
}

static void case_guard(void) {
    double l[MAX_STEPS];
    char list[512];
    outcome a = train(0, "VROBIN_TEST_NAN=loss:15", "nan", NULL);
    CHECK(a.code == 1, "a non-finite loss stops the run with exit 1 (got %d)", a.code);
    CHECK(log_has(&a, "step 15: the loss is not finite (nan)"), "the message names the step and the loss");
    CHECK(log_has(&a, "batch clips: clip"), "and the batch's clip ids");
    CHECK(log_has(&a, "last checkpoint: ") && log_has(&a, "step_00000010"), "and the last good checkpoint");
    list_ckpts("nan", list, sizeof list);
    CHECK(!strcmp(list, "step_00000010 ") && latest_is("nan", "step_00000010\n"), "no checkpoint after step 10: '%s'",
          list);
    CHECK(read_losses("nan", l, NULL) == 14, "14 steps logged");

    outcome b = train(0, NULL, "bf16", "runtime.dtype=bf16", "train.steps=20", NULL);
    CHECK_RUN(b, 0, "bf16 autocast");
    CHECK(read_losses("bf16", l, NULL) == 20 && l[19] < 0.7 * l[0], "bf16: the loss falls (%.4f -> %.4f)", l[0], l[19]);

    outcome c = train(0, NULL, "bad", "train.batch_size=7", "train.accum_steps=2", NULL);
    CHECK(c.code == 1 && log_has(&c, "train.batch_size 7 must be a positive multiple"), "indivisible batch refused");
    outcome d = train(0, NULL, "bad", "model.kind=nope", NULL);
    CHECK(d.code == 1 && log_has(&d, "model.kind 'nope'") && log_has(&d, "mlp_test"),
          "unknown model kind lists the known");
    outcome e = train(0, NULL, "bad", "data.shards=[/nonexistent/x.h5]", NULL);
    CHECK(e.code == 1 && log_has(&e, "/nonexistent/x.h5"), "a missing shard is named");
    char *usage_argv[] = {g_self, "exec", "train", NULL};
    outcome f = run(usage_argv, NULL, "usage");
    CHECK(f.code == 2 && log_has(&f, "usage: vrobin train"), "no config: usage, exit 2");
}

static void case_stages(void) {
    outcome a = train(0, NULL, "s1", "model.use_video=false", "train.steps=20", NULL);
    CHECK_RUN(a, 0, "stage 1 (text only)");
    char from[2400];
    snprintf(from, sizeof from, "train.init_from=%s", run_path("s1", ""));
    outcome b = train(0, NULL, "s2", from, NULL);
    CHECK(b.code == 1 && log_has(&b, "parameter 'video_in.weight' is missing") && log_has(&b, "train.init_allow_new"),
          "stage 2 without an allow-list names the missing parameter (exit %d)", b.code);
    outcome c = train(0, NULL, "s2", from, "train.init_allow_new=[video_in.]", "train.steps=1", "train.warmup_steps=0",
                      "train.lr=1e-9", NULL);
    CHECK_RUN(c, 0, "stage 2 from stage 1 with train.init_allow_new");
    CHECK(log_has(&c, "2 new parameter tensor(s)"), "two new tensors (video_in weight and bias)");
    /* after one step at lr 1e-9 the shared weights are stage 1's; the EMA moved 10 % towards them */
    const char *names[] = {"text_in.weight", "hidden.weight", "out.bias"};
    for (int i = 0; i < 3; i++) {
        int64_t n1 = 0, n2 = 0, ne1 = 0, ne2 = 0;
        float *w1 = read_tensor(run_path("s1", "ckpt/step_00000020/model.safetensors"), names[i], &n1);
        float *w2 = read_tensor(run_path("s2", "ckpt/step_00000001/model.safetensors"), names[i], &n2);
        float *e1 = read_tensor(run_path("s1", "ckpt/step_00000020/ema.safetensors"), names[i], &ne1);
        float *e2 = read_tensor(run_path("s2", "ckpt/step_00000001/ema.safetensors"), names[i], &ne2);
        double dw = 0, de = 0;
        int ok = w1 && w2 && e1 && e2 && n1 == n2 && ne1 == n1 && ne2 == n1;
        for (int64_t j = 0; ok && j < n1; j++) {
            dw = fmax(dw, fabs(w1[j] - w2[j]));
            de = fmax(de, fabs(e2[j] - (0.9 * e1[j] + 0.1 * w2[j])));
        }
        CHECK(ok && dw < 1e-6 && de < 1e-5, "%s: weights carried over (%.1e), EMA from stage 1's EMA (%.1e)", names[i],
              dw, de);
        free(w1), free(w2), free(e1), free(e2);
    }
    char file[2400];
    snprintf(file, sizeof file, "train.init_from=%s", run_path("s1", "ckpt/step_00000020/model.safetensors"));
    outcome d = train(0, NULL, "s2file", file, "train.init_allow_new=[video_in.]", "train.steps=2", NULL);
    CHECK_RUN(d, 0, "init_from a weights file");
    snprintf(from, sizeof from, "train.init_from=%s", run_path("s2", ""));
    outcome e = train(0, NULL, "s1again", from, "model.use_video=false", "train.steps=2", NULL);
    CHECK(e.code == 1 && log_has(&e, "is not a parameter of this model"),
          "a checkpoint tensor the model lacks is an error (exit %d)", e.code);
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "exec")) {
        if (!strcmp(argv[2], "train")) return vr_cmd_train(argc - 2, argv + 2);
        if (!strcmp(argv[2], "plot")) return vr_cmd_plot(argc - 2, argv + 2);
        return 2;
    }
    if (argc != 5) {
        fprintf(stderr, "usage: test_train ranks|resume|guard|stages WORKDIR MPIEXEC CONFIGS_DIR\n");
        return 2;
    }
    ssize_t n = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
    g_self[n > 0 ? n : 0] = 0;
    snprintf(g_work, sizeof g_work, "%s", argv[2]);
    snprintf(g_mpiexec, sizeof g_mpiexec, "%s", argv[3]);
    snprintf(g_config, sizeof g_config, "%s/experiments/test_tiny.yaml", argv[4]);
    char cmd[2100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_work);
    if (system(cmd) || vr_mkdirs(g_work) || write_shards()) {
        fprintf(stderr, "test_train: cannot prepare %s: %s\n", g_work, vr_error());
        return 1;
    }
    if (!strcmp(argv[1], "ranks")) case_ranks();
    else if (!strcmp(argv[1], "resume")) case_resume();
    else if (!strcmp(argv[1], "guard")) case_guard();
    else if (!strcmp(argv[1], "stages")) case_stages();
    else return 2;
    return check_summary();
}
