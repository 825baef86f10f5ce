/* bench_robin_step.c — one training step of the Video-Robin model, as `vrobin train` runs it,
 * timed part by part: the C side of bench/bench_robin_train.py.
 *
 *   bench_robin_step CONFIG [options] [key=value ...]
 *     --steps N     timed steps after the warm-up (default 5)
 *     --warmup N    untimed steps first, >= 1 (default 2)
 *     --batch B     clips per step (default 8)
 *     --dump DIR    write DIR/params.safetensors (the initial weights), DIR/batch.safetensors
 *                   (the batch, with the per-clip draw seeds in its metadata) and DIR/config.json
 *                   (the resolved config) and exit, so that the Python side trains the same
 *                   model and weights on the same data with the same draws
 *     --matmul      also time a 1024x1024 float32 matmul (GFLOP/s, best of 10)
 *     --profile F   after the timed steps, run one more under libtorch's op profiler and write
 *                   its Chrome trace to F (bench/profile_ops.py F: self time per op)
 *
 * The step is train/trainer.c's, without the loader, MPI and logging: robin_ops.loss (per-clip
 * flow draws, condition dropout, FSQ stats) + item, backward, end of the step's scope (frees the
 * graph), vr_optim_gather_grads, global norm + clipping, vr_optim_step (AdamW) and
 * vr_ema_update, at the constant learning rate train.lr; runtime.dtype=bf16 wraps the forward in
 * bf16 autocast as the trainer does. Threads: runtime.torch_threads / runtime.blas_threads, as the
 * trainer sets them. The batch is B 10-s clips of the real shapes
 * (500 x 64 latents, 100 x 31 video features, 60-byte captions) drawn from a seeded RNG; the
 * latent normalisation is mean 0 / std 1, applied as the trainer would apply the shards' stats.
 * Prints one JSON object on stdout: per-step times of every part (ms), losses and gradient norms
 * (to check against Python), page faults and CPU time per step, peak memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/config.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "core/tensor_io.h"
#include "models/robin.h"
#include "train/optim.h"

enum { T = 500, M = 64, TV = 100, DV = 31, MAXT = 64, TEXT = 60, MAX_STEPS = 256 };

/* the parts of a step, in order */
enum { N_PARTS = 7 };
static const char *part_names[N_PARTS] = {"forward", "backward", "free_graph", "gather_grads", "norm_clip", "adamw",
                                          "ema"};

static int die(const char *what) {
    fprintf(stderr, "bench_robin_step: %s: %s\n", what, vr_error()[0] ? vr_error() : tt_last_error());
    return 1;
}

static double seconds(struct timeval from, struct timeval to) {
    return (double)(to.tv_sec - from.tv_sec) + 1e-6 * (double)(to.tv_usec - from.tv_usec);
}


/* The seed of clip i's flow draws, derived as models/robin.c derives it for a batch made by hand
 * (epoch 0, position 0: clip index = i); only used to let Python reproduce the draws. */
static uint64_t draw_seed(uint64_t run_seed, int i) {
    vr_rng mix;
    vr_rng_seed_stream(&mix, run_seed, (uint64_t)i);
    return vr_rng_u64(&mix);
}

static int dump(const char *dir, const cfg *c, tt_params *params, const vr_batch *b, uint64_t run_seed) {
    char path[4200];
    if (vr_mkdirs(dir)) return -1;
    char *json = cfg_to_json(c);
    if (!json) return vr_fail("out of memory");
    snprintf(path, sizeof path, "%s/config.json", dir);
    int bad = vr_write_file_atomic(path, json, strlen(json));
    free(json);
    if (bad) return -1;
    snprintf(path, sizeof path, "%s/params.safetensors", dir);
    if (tio_save_params(params, path, 0, NULL, NULL)) return -1;
    tt_params *in = tt_params_new();
    tt_scope_begin();
    int rc = !tt_params_add(in, "audio", tt_from_data(b->audio, TT_F32, TT_SHAPE(b->B, b->T, b->D))) ||
             !tt_params_add(in, "video", tt_from_data(b->video, TT_F32, TT_SHAPE(b->B, b->Tv, b->Dv))) ||
             !tt_params_add(in, "text", tt_from_data(b->text, TT_U8, TT_SHAPE(b->B, b->max_text))) ||
             !tt_params_add(in, "text_len", tt_from_data(b->text_len, TT_I32, TT_SHAPE(b->B)));
    tt_scope_end();
    char seeds[64 * 24] = "";
    size_t at = 0;
    for (int i = 0; i < b->B && at < sizeof seeds - 24; i++)
        at += (size_t)snprintf(seeds + at, sizeof seeds - at, "%s%llu", i ? "," : "",
                               (unsigned long long)draw_seed(run_seed, i));
    const char *keys[] = {"draw_seeds"}, *vals[] = {seeds};
    snprintf(path, sizeof path, "%s/batch.safetensors", dir);
    if (rc) vr_fail("batch tensors: %s", tt_last_error());
    else rc = tio_save_params(in, path, 1, keys, vals);
    tt_params_free(in);
    return rc ? -1 : 0;
}

/* One step as train/trainer.c runs it; t[0..N_PARTS] receive the times between its parts. */
static int train_step(vr_model *m, const vr_batch *b, vr_optim *o, tt_params *ema, const cfg *c, uint64_t seed,
                      double t[N_PARTS + 1], double *loss_out, double *norm_out) {
    double lr = cfg_float(c, "train.lr"), clip = cfg_float(c, "train.grad_clip"), decay = cfg_float(c, "train.ema_decay");
    int bf16 = !strcmp(cfg_str(c, "runtime.dtype"), "bf16"); /* autocast around the forward, as the trainer */
    vr_loss_parts parts = {0};
    tt_gen *g = tt_gen_new(seed);
    if (!g) return vr_fail("%s", tt_last_error());
    t[0] = vr_now();
    tt_clear_error();
    tt_scope_begin();
    if (bf16) tt_autocast_begin(TT_BF16);
    tt_tensor *loss = robin_ops.loss(m, b, 1, g, &parts);
    if (bf16) tt_autocast_end();
    int rc = !loss || tt_item(loss, loss_out) ? vr_fail("forward: %s", tt_last_error()) : 0;
    t[1] = vr_now();
    if (!rc && tt_backward(loss)) rc = vr_fail("backward: %s", tt_last_error());
    t[2] = vr_now();
    tt_scope_end();
    tt_gen_free(g);
    t[3] = vr_now();
    if (!rc) rc = vr_optim_gather_grads(o, 0);
    t[4] = vr_now();
    *norm_out = vr_optim_grad_norm(o);
    vr_optim_scale_grads(o, vr_clip_coef(*norm_out, clip));
    t[5] = vr_now();
    if (!rc) rc = vr_optim_step(o, lr);
    t[6] = vr_now();
    if (!rc) rc = vr_ema_update(ema, m->params, decay);
    t[7] = vr_now();
    return rc;
}

static void print_json(const vr_model *m, int B, int warmup, int steps, int matmul, const double *losses,
                       const double *norms, double times[][N_PARTS + 1], const struct rusage *ru0,
                       const struct rusage *ru1) {
    vr_blas_info blas;
    vr_blas_query(&blas);
    printf("{\"params\": %lld, \"tensors\": %d, \"batch\": %d, \"torch_threads\": %d, \"blas_threads\": %d, "
           "\"blas\": \"%s\", ",
           (long long)tt_params_numel(m->params), tt_params_count(m->params), B, tt_get_num_threads(), blas.threads,
           blas.library);
    /* page faults and CPU time of the timed steps (all threads), peak resident memory */
    printf("\"minflt_per_step\": %.0f, \"sys_s_per_step\": %.3f, \"user_s_per_step\": %.3f, \"maxrss_mb\": %.0f, ",
           (double)(ru1->ru_minflt - ru0->ru_minflt) / steps, seconds(ru0->ru_stime, ru1->ru_stime) / steps,
           seconds(ru0->ru_utime, ru1->ru_utime) / steps, ru1->ru_maxrss / 1024.0);
    if (matmul) printf("\"matmul_gflops\": %.2f, ", vr_matmul_gflops(1024, 10));
    printf("\"losses\": [");
    for (int s = 0; s < warmup + steps; s++) printf("%s%.9g", s ? ", " : "", losses[s]);
    printf("], \"grad_norms\": [");
    for (int s = 0; s < warmup + steps; s++) printf("%s%.9g", s ? ", " : "", norms[s]);
    printf("], \"step_ms\": [");
    for (int s = 0; s < steps; s++) printf("%s%.3f", s ? ", " : "", times[s][N_PARTS]);
    printf("], \"parts_ms\": {");
    for (int k = 0; k < N_PARTS; k++) {
        printf("%s\"%s\": [", k ? ", " : "", part_names[k]);
        for (int s = 0; s < steps; s++) printf("%s%.3f", s ? ", " : "", times[s][k]);
        printf("]");
    }
    printf("}}\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr,
                "usage: %s CONFIG [--steps N] [--warmup N] [--batch B] [--dump DIR] [--matmul] [--profile F] "
                "[key=value ...]\n",
                argv[0]);
        return 2;
    }
    int steps = 5, warmup = 2, B = 8, matmul = 0, n_ov = 0;
    const char *dump_dir = NULL, *profile = NULL;
    char *ov[64];
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc) dump_dir = argv[++i];
        else if (!strcmp(argv[i], "--matmul")) matmul = 1;
        else if (!strcmp(argv[i], "--profile") && i + 1 < argc) profile = argv[++i];
        else if (strchr(argv[i], '=') && n_ov < 64) ov[n_ov++] = argv[i];
        else {
            fprintf(stderr, "bench_robin_step: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (steps < 1 || steps > MAX_STEPS || warmup < 1 || warmup > 64 || B < 1 || B > 64) {
        fprintf(stderr, "bench_robin_step: need 1 <= steps <= %d, 1 <= warmup <= 64, 1 <= batch <= 64\n", MAX_STEPS);
        return 2;
    }
    cfg *c = cfg_load(argv[1], vr_schema, n_ov, ov);
    if (!c) return die(argv[1]);
    vr_runtime_apply((int)cfg_int(c, "runtime.torch_threads"), (int)cfg_int(c, "runtime.blas_threads"));
    uint64_t run_seed = (uint64_t)cfg_int(c, "run.seed");

    int rc = 1;
    vr_model m = {.params = tt_params_new()};
    vr_optim *o = NULL;
    tt_params *ema = NULL;
    float *audio = malloc(sizeof *audio * B * T * M), *video = malloc(sizeof *video * B * TV * DV);
    uint8_t *text = calloc((size_t)B * MAXT, 1);
    int *text_len = malloc(sizeof *text_len * B);
    tt_gen *ig = tt_gen_new(run_seed);
    if (!m.params || !audio || !video || !text || !text_len || !ig) {
        die("out of memory");
        goto done;
    }
    if (robin_ops.init(&m, c, ig)) {
        die("model init");
        goto done;
    }
    static float mean[M], std[M];
    for (int i = 0; i < M; i++) mean[i] = 0.0f, std[i] = 1.0f;
    m.norm_mean = mean, m.norm_std = std;

    vr_rng r;
    vr_rng_seed(&r, 1);
    for (int i = 0; i < B * T * M; i++) audio[i] = (float)vr_rng_normal(&r);
    for (int i = 0; i < B * TV * DV; i++) video[i] = (float)vr_rng_uniform(&r);
    for (int b = 0; b < B; b++) {
        text_len[b] = TEXT;
        for (int j = 0; j < TEXT; j++) text[b * MAXT + j] = (uint8_t)('a' + vr_rng_below(&r, 26));
    }
    vr_batch batch = {.B = B, .T = T, .D = M, .Tv = TV, .Dv = DV, .max_text = MAXT, .audio = audio, .video = video,
                      .text = text, .text_len = text_len};
    if (dump_dir) {
        if (dump(dump_dir, c, m.params, &batch, run_seed)) die(dump_dir);
        else rc = 0, printf("{\"dumped\": \"%s\", \"params\": %lld}\n", dump_dir, (long long)tt_params_numel(m.params));
        goto done;
    }

    vr_adamw_opts ao = {cfg_float(c, "train.beta1"), cfg_float(c, "train.beta2"), cfg_float(c, "train.eps"),
                        cfg_float(c, "train.weight_decay")};
    if (!(o = vr_optim_new(m.params, &ao)) || !(ema = vr_ema_new(m.params))) {
        die("optimiser");
        goto done;
    }
    static double times[MAX_STEPS][N_PARTS + 1], losses[MAX_STEPS + 64], norms[MAX_STEPS + 64];
    struct rusage ru0, ru1;
    for (int s = 0; s < warmup + steps; s++) {
        double t[N_PARTS + 1];
        if (train_step(&m, &batch, o, ema, c, run_seed + (uint64_t)s, t, &losses[s], &norms[s])) {
            die("training step");
            goto done;
        }
        for (int k = 0; s >= warmup && k < N_PARTS; k++) times[s - warmup][k] = (t[k + 1] - t[k]) * 1e3;
        if (s >= warmup) times[s - warmup][N_PARTS] = (t[N_PARTS] - t[0]) * 1e3;
        if (s == warmup - 1) getrusage(RUSAGE_SELF, &ru0);
    }
    getrusage(RUSAGE_SELF, &ru1);
    if (profile) { /* one more step, profiled (the profiler's overhead stays out of the timings) */
        double t[N_PARTS + 1], loss, norm;
        if (tt_profile_begin(profile) || train_step(&m, &batch, o, ema, c, run_seed + 999, t, &loss, &norm) ||
            tt_profile_end()) {
            die("profiled step");
            goto done;
        }
    }
    print_json(&m, B, warmup, steps, matmul, losses, norms, times, &ru0, &ru1);
    rc = 0;

done:
    tt_gen_free(ig);
    vr_optim_free(o);
    tt_params_free(ema);
    robin_ops.free_state(&m);
    tt_params_free(m.params);
    cfg_free(c);
    free(audio);
    free(video);
    free(text);
    free(text_len);
    return rc;
}
