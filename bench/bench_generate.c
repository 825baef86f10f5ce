/* bench_generate.c — generation latency of one clip at batch 1, stage by stage: the pipeline of
 * `vrobin generate --video V -o out.mp4` (infer/generate.h), each stage timed on its own.
 *
 *   bench_generate VIDEO CONFIG [options] [key=value ...]
 *     --seconds S      clip length (default 10: the benchmark clip)
 *     --steps LIST     Euler steps per patch to measure with the KV cache (default 5,10,20,50)
 *     --no-kv LIST     steps to measure without the KV cache (default 5,20)
 *     --fast on|off|both   LocDiT sampling and the planner's and RITE's block steps through the C
 *                      kernels (models/locdit_fast.h, models/blocks_fast.h: on), the libtorch ops
 *                      (off), or both, one after the other at each step count (default both); the
 *                      KV-cache-off rows use the C LocDiT kernel unless it is off
 *     --two-threads LIST   steps at which to measure the C kernel with its CFG branches on two
 *                      threads as well (robin_gen_opts.dit_threads = 2; default 20, or none)
 *     --solver S       euler (default) or heun: the LocDiT ODE solver of every row
 *     --precision P    fp32 (default) or bf16: the C kernel's arithmetic in every row (bf16 needs
 *                      --fast on and an AVX512-BF16 CPU; with --dump, the latent is the bf16 one)
 *     --batch N        N copies of the clip through the model stages together (default 1; the other
 *                      stages stay one clip's); the JSON's "batch" says which
 *     --repeats N      timed runs per setting; the fastest is reported, with the median total (default 3)
 *     --text S         caption (default a 60-byte prompt)
 *     --json PATH      results as JSON
 *     --md PATH        results as a Markdown page (machine, commit, command, threads, the table)
 *     --dat PATH       the stage split as a gnuplot data file (bench/run_generate_bench.sh plots it)
 *     --commit C, --command S   recorded in the outputs
 *     --dump DIR       instead of timing: generate the clip once (KV cache, C kernel, the first --steps
 *                      count, sampling seed 1) and write what the Python peer (bench/bench_generate_py.py)
 *                      needs to run the same model on the same inputs: DIR/weights.safetensors, the video
 *                      features DIR/features.f32 [frames, Dv], the generated latent DIR/latent.f32 [T, M]
 *                      (float32, row-major) and DIR/case.json (shapes, caption, seed, steps, model config)
 *
 * The model is CONFIG (e.g. configs/model/small.yaml) with random weights: latency does not
 * depend on the weights' values, only on the shapes. Stages: features = FFmpeg decode at
 * data.fps + the video descriptors; planner = text/video encoders, prefix prefill, planner
 * steps and FSQ; RITE; LocDiT = Euler sampling with CFG (model.cfg_scale), one patch at a
 * time; decoder = Griffin-Lim (32 iterations) + loudness normalisation; mux = the music as AAC
 * into a copy of the video (picture stream copied). "KV cache off" recomputes the planner over
 * prefix + whole audio history and RITE over all plans for every patch (robin_gen_opts.no_kv_cache).
 * "LocDiT libtorch" samples through dit_sample's libtorch ops instead of the C kernel, and steps
 * the planner and RITE through libtorch's nn_block_step instead of models/blocks_fast.h
 * (robin_gen_opts.torch_dit).
 * Threads: runtime.torch_threads / runtime.blas_threads of CONFIG, as `vrobin generate` sets them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/tensor_io.h"
#include "core/tt.h"
#include "data/media.h"
#include "infer/generate.h"

enum { MAX_ROWS = 32, MAX_REPEATS = 50, GL_ITERS = 32, MAX_BATCH = 64 };

/* the stages, in pipeline order */
enum { S_FEAT, S_PLAN, S_RITE, S_DIT, S_DEC, S_MUX, S_TOTAL, N_STAGES };
static const char *stage_names[N_STAGES] = {"features", "planner", "rite", "locdit", "decoder", "mux", "total"};

/* LocDiT paths */
enum { P_TORCH, P_C, P_C2 };
static const char *path_names[] = {"libtorch", "C kernel", "C kernel, 2 threads"};

typedef struct row {
    int kv, steps, path;
    double t[N_STAGES];   /* seconds per stage of the fastest run (least disturbed by other load) */
    double median_total;  /* and the median total over the repeats */
} row;

static int die(const char *what) {
    fprintf(stderr, "bench_generate: %s: %s\n", what, vr_error()[0] ? vr_error() : tt_last_error());
    return 1;
}

/* One clip through every stage; t[] in seconds. batch > 1: that many copies of the clip (seeds
 * 1..batch) go through the model stages together (robin_gen_opts batch generation); features,
 * decoder and mux are then clip 0's alone, the model stages are the whole batch's. */
static dit_solver g_solver = DIT_EULER; /* --solver */
static int g_bf16;                      /* --precision bf16 */

static int run_once(vr_generator *g, const char *video, const char *text, double seconds, int steps, int kv,
                    int path, int batch, const char *mux_out, double *t) {
    vr_gen_clip c[MAX_BATCH], *cp[MAX_BATCH];
    robin_gen_times tm = {0};
    robin_gen_opts o = {.steps = steps, .solver = g_solver, .no_kv_cache = !kv, .torch_dit = path == P_TORCH,
                        .dit_threads = path == P_C2 ? 2 : 1, .dit_bf16 = g_bf16, .times = &tm};
    float *wave = NULL;
    int rc = -1;
    for (int i = 0; i < batch; i++) {
        c[i] = (vr_gen_clip){.id = "bench", .video = video, .text = text, .start = 0, .duration = seconds, .seed = 1 + i};
        cp[i] = &c[i];
    }
    double t0 = vr_now(), t1, t2, t3;
    if (vr_gen_features(g, &c[0])) goto done;
    for (int i = 1; i < batch; i++) { /* the same video: its features once */
        size_t n = (size_t)c[0].n_frames * c[0].Dv;
        if (!(c[i].feat = malloc(n * sizeof *c[i].feat))) goto done;
        memcpy(c[i].feat, c[0].feat, n * sizeof *c[i].feat);
        c[i].n_frames = c[0].n_frames, c[i].Dv = c[0].Dv, c[i].T = c[0].T, c[i].n_samples = c[0].n_samples;
    }
    t1 = vr_now();
    if (vr_gen_latents(g, cp, batch, &o, NULL)) goto done;
    t2 = vr_now();
    if (vr_gen_audio(g, &c[0], GL_ITERS, &wave)) goto done;
    t3 = vr_now();
    if (vr_mux_audio_into_video(video, wave, c[0].n_samples, g->sample_rate, mux_out)) goto done;
    t[S_MUX] = vr_now() - t3;
    t[S_DEC] = t3 - t2; /* Griffin-Lim + loudness */
    t[S_FEAT] = t1 - t0;
    t[S_PLAN] = tm.prefix + tm.planner;
    t[S_RITE] = tm.rite;
    t[S_DIT] = tm.dit;
    t[S_TOTAL] = vr_now() - t0;
    rc = 0;
done:
    for (int i = 0; i < batch; i++) vr_gen_clip_free(&c[i]);
    free(wave);
    return rc;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* "5,10,20" -> steps[]; returns the count, -1 on a bad list */
static int parse_list(const char *s, int *out, int max) {
    int n = 0;
    while (*s && n < max) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 10000 || (*end && *end != ',')) return -1;
        out[n++] = (int)v;
        s = *end ? end + 1 : end;
    }
    return *s ? -1 : n;
}

static void cpu_name(char *out, size_t n) {
    snprintf(out, n, "?");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(out, n, "%s", strchr(line, ':') + 2);
            out[strcspn(out, "\n")] = 0;
            break;
        }
    if (f) fclose(f);
}

static void load_avg(char *out, size_t n) {
    snprintf(out, n, "?");
    FILE *f = fopen("/proc/loadavg", "r");
    double a, b, c;
    if (f && fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3) snprintf(out, n, "%.2f %.2f %.2f", a, b, c);
    if (f) fclose(f);
}

static int write_f32(const char *dir, const char *name, const float *x, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return vr_write_file_atomic(path, x, n * sizeof *x);
}

/* Every parameter += scale * N(0, 1): a freshly initialised model has zero output layers (LocDiT's
 * adaLN-Zero gates and dit.out), so its velocities are 0 and its "music" is the noise itself,
 * which would make the peer comparison test nothing. */
static int perturb_params(tt_params *p, double scale) {
    tt_gen *gen = tt_gen_new(7);
    int rc = gen ? 0 : -1;
    tt_no_grad_begin();
    tt_scope_begin();
    for (int i = 0; !rc && i < tt_params_count(p); i++) {
        tt_tensor *w = tt_params_at(p, i);
        int64_t shape[8];
        int nd = tt_ndim(w);
        for (int k = 0; k < nd && k < 8; k++) shape[k] = tt_size(w, k);
        tt_tensor *r = nd > 0 && nd <= 8 ? tt_randn(gen, shape, nd, TT_F32) : NULL;
        rc = r && !tt_add_(w, r, scale) ? 0 : vr_fail("--dump: cannot perturb %s", tt_params_name(p, i));
    }
    tt_scope_end();
    tt_no_grad_end();
    tt_gen_free(gen);
    return rc;
}

/* --dump: one clip generated (KV cache, C kernel, `steps`, seed 1) with perturbed random weights,
 * and everything the Python peer needs to generate it again from the same weights and inputs. */
static int dump_case(vr_generator *g, const cfg *c, const char *video, const char *text, double seconds, int steps,
                     const char *dir) {
    vr_gen_clip clip = {.id = "bench", .video = video, .text = text, .start = 0, .duration = seconds, .seed = 1};
    robin_gen_times tm = {0};
    robin_gen_opts o = {.steps = steps, .dit_bf16 = g_bf16, .times = &tm};
    char path[4096];
    int rc = -1;
    if (strcmp(cfg_str(c, "model.kind"), "robin")) {
        vr_fail("--dump: the Python peer implements model.kind robin, not %s", cfg_str(c, "model.kind"));
        goto done;
    }
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    if (perturb_params(g->m.params, 0.05) || vr_mkdirs(dir) || tio_save_params(g->m.params, path, 0, NULL, NULL) || vr_gen_features(g, &clip) ||
        vr_gen_latents(g, (vr_gen_clip *[]){&clip}, 1, &o, NULL) ||
        write_f32(dir, "features.f32", clip.feat, (size_t)clip.n_frames * clip.Dv) ||
        write_f32(dir, "latent.f32", clip.latent, (size_t)clip.T * g->M))
        goto done;
    FILE *f;
    snprintf(path, sizeof path, "%s/case.json", dir);
    if (!(f = fopen(path, "w"))) {
        vr_fail("cannot write %s", path);
        goto done;
    }
    fprintf(f, "{\"seed\": 1, \"steps\": %d, \"cfg_scale\": %.17g, \"frames\": %d, \"Dv\": %d, \"T\": %lld, \"M\": %d,\n",
            steps, cfg_float(c, "model.cfg_scale"), clip.n_frames, clip.Dv, (long long)clip.T, g->M);
    fprintf(f, " \"c_seconds\": {\"planner\": %.6f, \"rite\": %.6f, \"locdit\": %.6f},\n", tm.prefix + tm.planner,
            tm.rite, tm.dit);
    fprintf(f, " \"text\": \"");
    for (const char *p = text; *p; p++) fprintf(f, (*p == '"' || *p == '\\') ? "\\%c" : "%c", *p);
    fprintf(f, "\",\n \"model\": {\"d\": %lld, \"heads\": %lld, \"text_layers\": %lld, \"planner_layers\": %lld, "
               "\"rite_layers\": %lld, \"dit_layers\": %lld, \"patch_frames\": %lld, \"quantizer\": \"%s\", "
               "\"use_text\": %s, \"use_video\": %s, \"fsq_levels\": [",
            (long long)cfg_int(c, "model.d_model"), (long long)cfg_int(c, "model.n_heads"),
            (long long)cfg_int(c, "model.text_layers"), (long long)cfg_int(c, "model.planner_layers"),
            (long long)cfg_int(c, "model.rite_layers"), (long long)cfg_int(c, "model.dit_layers"),
            (long long)cfg_int(c, "model.patch_frames"), cfg_str(c, "model.quantizer"),
            cfg_bool(c, "model.use_text") ? "true" : "false", cfg_bool(c, "model.use_video") ? "true" : "false");
    for (int i = 0; i < cfg_list_len(c, "model.fsq_levels"); i++)
        fprintf(f, "%s%lld", i ? ", " : "", (long long)cfg_list_int(c, "model.fsq_levels", i));
    fprintf(f, "]}}\n");
    rc = fclose(f) ? vr_fail("cannot write %s", path) : 0;
done:
    vr_gen_clip_free(&clip);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s VIDEO CONFIG [--seconds S] [--steps 5,10,20,50] [--no-kv 5,20] [--fast on|off|both] "
                        "[--two-threads 20] [--repeats N] [--text S] [--json P] [--md P] [--dat P] [--commit C] [--command S] "
                        "[key=value ...]\n",
                argv[0]);
        return 2;
    }
    const char *video = argv[1], *config = argv[2], *json = NULL, *md = NULL, *dat = NULL, *commit = "unknown",
               *command = "bench_generate", *dump = NULL, *text = "Warm strings with slow arpeggios and a soft piano, calm mood";
    double seconds = 10;
    int kv_steps[16] = {5, 10, 20, 50}, n_kv = 4, nokv_steps[16] = {5, 20}, n_nokv = 2, repeats = 3, batch = 1;
    int paths[2] = {P_C, P_TORCH}, n_paths = 2, two_steps[16] = {20}, n_two = 1;
    char *overrides[64];
    int n_ov = 0;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strchr(a, '=') && !v) {
            fprintf(stderr, "bench_generate: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--seconds")) seconds = atof(argv[++i]);
        else if (!strcmp(a, "--steps")) n_kv = parse_list(argv[++i], kv_steps, 16);
        else if (!strcmp(a, "--no-kv")) n_nokv = !strcmp(v, "none") ? (i++, 0) : parse_list(argv[++i], nokv_steps, 16);
        else if (!strcmp(a, "--repeats")) repeats = atoi(argv[++i]);
        else if (!strcmp(a, "--batch")) batch = atoi(argv[++i]);
        else if (!strcmp(a, "--solver")) {
            if (dit_solver_parse(argv[++i], &g_solver)) {
                fprintf(stderr, "bench_generate: --solver %s: expected euler or heun\n", v);
                return 2;
            }
        }
        else if (!strcmp(a, "--precision")) {
            i++;
            if (strcmp(v, "fp32") && strcmp(v, "bf16")) {
                fprintf(stderr, "bench_generate: --precision %s: expected fp32 or bf16\n", v);
                return 2;
            }
            g_bf16 = !strcmp(v, "bf16");
        }
        else if (!strcmp(a, "--two-threads")) n_two = !strcmp(v, "none") ? (i++, 0) : parse_list(argv[++i], two_steps, 16);
        else if (!strcmp(a, "--fast")) {
            i++;
            if (!strcmp(v, "on") || !strcmp(v, "off")) paths[0] = !strcmp(v, "on") ? P_C : P_TORCH, n_paths = 1;
            else if (!strcmp(v, "both")) paths[0] = P_C, paths[1] = P_TORCH, n_paths = 2;
            else {
                fprintf(stderr, "bench_generate: --fast %s: expected on, off or both\n", v);
                return 2;
            }
        }
        else if (!strcmp(a, "--text")) text = argv[++i];
        else if (!strcmp(a, "--json")) json = argv[++i];
        else if (!strcmp(a, "--md")) md = argv[++i];
        else if (!strcmp(a, "--dat")) dat = argv[++i];
        else if (!strcmp(a, "--commit")) commit = argv[++i];
        else if (!strcmp(a, "--command")) command = argv[++i];
        else if (!strcmp(a, "--dump")) dump = argv[++i];
        else if (strchr(a, '=') && n_ov < 64) overrides[n_ov++] = argv[i];
        else {
            fprintf(stderr, "bench_generate: unknown option '%s'\n", a);
            return 2;
        }
    }
    if (paths[0] != P_C) n_two = 0; /* two threads only when the C kernel is measured */
    if (g_bf16 && !dump && (n_paths != 1 || paths[0] != P_C)) {
        fprintf(stderr, "bench_generate: --precision bf16 is a mode of the C kernel: use it with --fast on\n");
        return 2;
    }
    if (n_kv < 0 || n_nokv < 0 || n_two < 0 || repeats < 1 || repeats > MAX_REPEATS || !(seconds > 0) || batch < 1 ||
        batch > MAX_BATCH ||
        n_kv * (n_paths + 1) + n_nokv > MAX_ROWS) {
        fprintf(stderr, "bench_generate: bad --steps/--no-kv/--two-threads list, --repeats (1..%d) or --seconds\n",
                MAX_REPEATS);
        return 2;
    }

    cfg *c = cfg_load(config, vr_schema, n_ov, overrides);
    if (!c) return die(config);
    vr_generator g;
    if (vr_generator_init(&g, c, 1)) return die("model");
    if (dump) {
        int rc = dump_case(&g, c, video, text, seconds, kv_steps[0], dump) ? die("--dump") : 0;
        vr_generator_free(&g);
        cfg_free(c);
        return rc;
    }
    char mux_out[64];
    snprintf(mux_out, sizeof mux_out, "/tmp/bench_generate_%d.mp4", (int)getpid());
    char load_before[64], load_after[64], cpu[256];
    load_avg(load_before, sizeof load_before);
    cpu_name(cpu, sizeof cpu);
    vr_blas_info blas;
    vr_blas_query(&blas);
    vr_media_info info;
    if (vr_media_probe(video, &info)) return die(video);
    double gflops = vr_matmul_gflops(1024, 10);

    /* warm-up: thread pools, page faults, FFmpeg's codec tables */
    double t[N_STAGES];
    for (int p = 0; p < n_paths + (n_two > 0); p++)
        if (run_once(&g, video, text, seconds < 2 ? seconds : 2, 2, 1, p < n_paths ? paths[p] : P_C2, batch, mux_out, t))
            return die("warm-up");

    row rows[MAX_ROWS];
    int n_rows = 0;
    /* at each step count the LocDiT paths run one after the other, so they see about the same load */
    for (int kv = 1; kv >= 0; kv--)
        for (int s = 0; s < (kv ? n_kv : n_nokv); s++) {
            int steps = kv ? kv_steps[s] : nokv_steps[s], todo[3], n_todo = 0;
            for (int p = 0; p < (kv ? n_paths : 1); p++) todo[n_todo++] = paths[p];
            for (int j = 0; kv && j < n_two; j++)
                if (two_steps[j] == steps) todo[n_todo++] = P_C2;
            for (int p = 0; p < n_todo; p++) {
                row *r = &rows[n_rows++];
                r->kv = kv;
                r->steps = steps;
                r->path = todo[p];
                double totals[MAX_REPEATS];
                for (int k = 0; k < repeats; k++) {
                    if (run_once(&g, video, text, seconds, r->steps, kv, r->path, batch, mux_out, t)) return die("generation");
                    totals[k] = t[S_TOTAL];
                    if (k == 0 || t[S_TOTAL] < r->t[S_TOTAL]) memcpy(r->t, t, sizeof t);
                }
                r->median_total = median(totals, repeats);
                fprintf(stderr, "KV cache %s, LocDiT %s, %d steps: %.3f s per %.0f-s clip (LocDiT %.3f s)\n",
                        kv ? "on" : "off", path_names[r->path], r->steps, r->t[S_TOTAL], seconds, r->t[S_DIT]);
            }
        }
    unlink(mux_out);
    load_avg(load_after, sizeof load_after);

    char threads[160];
    snprintf(threads, sizeof threads, "%d torch thread(s) (runtime.torch_threads), OpenBLAS %d thread(s)%s",
             tt_get_num_threads(), blas.threads,
             cfg_int(c, "runtime.blas_threads") ? " (runtime.blas_threads)" : " (its default)");
    const char *size = strrchr(config, '/') ? strrchr(config, '/') + 1 : config;
    long long n_params = (long long)tt_params_numel(g.m.params);
    int steps_default = (int)cfg_int(c, "model.sample_steps");
    long long n_patches = llround(seconds * cfg_int(c, "data.mel_fps") / cfg_int(c, "model.patch_frames"));
    double cfg_scale = cfg_float(c, "model.cfg_scale");

    if (json) {
        FILE *f = fopen(json, "w");
        if (!f) return die(json);
        fprintf(f, "{\n  \"command\": \"%s\",\n  \"commit\": \"%s\",\n  \"machine\": {\"cpu\": \"%s\", \"cores\": %ld, "
                   "\"blas\": \"%s\", \"matmul_1024_gflops\": %.1f, \"load_before\": \"%s\", \"load_after\": \"%s\"},\n"
                   "  \"threads\": {\"torch\": %d, \"openblas\": %d},\n"
                   "  \"model\": {\"config\": \"%s\", \"parameters\": %lld, \"weights\": \"random init\", "
                   "\"cfg_scale\": %g, \"default_steps\": %d},\n"
                   "  \"clip_seconds\": %g, \"batch\": %d, \"solver\": \"%s\", \"precision\": \"%s\", \"repeats\": %d, "
                   "\"griffin_lim_iters\": %d, "
                   "\"statistic\": \"stages of the fastest of the repeats; median_total over all\",\n  \"rows\": [\n",
                command, commit, cpu, sysconf(_SC_NPROCESSORS_ONLN), blas.library, gflops, load_before, load_after,
                tt_get_num_threads(), blas.threads, config, n_params, cfg_scale, steps_default, seconds, batch,
                dit_solver_name(g_solver), g_bf16 ? "bf16" : "fp32", repeats, GL_ITERS);
        for (int i = 0; i < n_rows; i++) {
            fprintf(f, "    {\"kv_cache\": %s, \"locdit\": \"%s\", \"locdit_threads\": %d, \"steps\": %d",
                    rows[i].kv ? "true" : "false", rows[i].path == P_TORCH ? "libtorch" : "c",
                    rows[i].path == P_C2 ? 2 : 1, rows[i].steps);
            for (int j = 0; j < N_STAGES; j++) fprintf(f, ", \"%s_s\": %.5f", stage_names[j], rows[i].t[j]);
            fprintf(f, ", \"median_total_s\": %.5f, \"rtf\": %.5f}%s\n", rows[i].median_total, rows[i].t[S_TOTAL] / seconds,
                    i + 1 < n_rows ? "," : "");
        }
        fprintf(f, "  ]\n}\n");
        fclose(f);
    }
    if (dat) { /* one line per row: label and the six stage times */
        FILE *f = fopen(dat, "w");
        if (!f) return die(dat);
        for (int i = 0; i < n_rows; i++) {
            static const char *short_names[] = {"torch", "C", "C x2"};
            fprintf(f, "\"%d steps, %s%s\"", rows[i].steps, short_names[rows[i].path], rows[i].kv ? "" : ", no KV");
            for (int j = 0; j < S_TOTAL; j++) fprintf(f, " %.5f", rows[i].t[j]);
            fprintf(f, "\n");
        }
        fclose(f);
    }
    FILE *f = md ? fopen(md, "w") : stdout;
    if (!f) return die(md);
    fprintf(f, "# Generation latency (`vrobin generate`, batch %d)\n\n", batch);
    fprintf(f, "- command: `%s`\n- commit %s\n", command, commit);
    fprintf(f, "- machine: %s, %ld cores; BLAS `%s`; 1024² f32 matmul %.0f GFLOP/s in this run\n", cpu,
            sysconf(_SC_NPROCESSORS_ONLN), blas.library, gflops);
    fprintf(f, "- threads: %s\n", threads);
    fprintf(f, "- load average %s before, %s after, on %ld cores (this benchmark's own threads count in the second; "
               "other jobs on the machine make absolute times pessimistic, ratios within one run hold better)\n",
            load_before, load_after, sysconf(_SC_NPROCESSORS_ONLN));
    fprintf(f, "- model: `%s` (%lld parameters) with **random-init weights** (latency depends on shapes, not "
               "values); CFG scale %g (two LocDiT branches per step), Griffin-Lim %d iterations\n",
            size, n_params, cfg_scale, GL_ITERS);
    fprintf(f, "- clip: %.0f s of a %dx%d %.0f-fps %s video (`%s`), caption of %zu bytes; per row the fastest "
               "of %d runs after a warm-up (and the median total)\n\n",
            seconds, info.width, info.height, info.video_fps, info.video_codec, video, strlen(text), repeats);
    fprintf(f, "| KV cache | LocDiT | steps | features | planner | RITE | LocDiT | decoder (GL) | mux | **s per clip** | "
               "RTF | median s | LocDiT ms / step |\n");
    fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < n_rows; i++) {
        fprintf(f, "| %s | %s | %d |", rows[i].kv ? "on" : "off", path_names[rows[i].path], rows[i].steps);
        for (int j = 0; j < S_TOTAL; j++) fprintf(f, " %.3f |", rows[i].t[j]);
        fprintf(f, " **%.2f** | %.3f | %.2f | %.2f |\n", rows[i].t[S_TOTAL], rows[i].t[S_TOTAL] / seconds,
                rows[i].median_total, 1e3 * rows[i].t[S_DIT] / ((double)n_patches * rows[i].steps));
    }
    fprintf(f, "\nSeconds per stage of the fastest run; median s = the median total over the runs. planner = text/video "
               "encoders + prefix prefill + %lld planner steps + FSQ; RITE = its steps; LocDiT = Euler sampling with "
               "CFG, through the libtorch-free C kernel (`models/locdit_fast.h`: packed-weight GEMM + fused loops, "
               "the default; \"2 threads\": its two CFG branches on two threads, `robin_gen_opts.dit_threads`) or "
               "through libtorch ops (`dit_sample`, `robin_gen_opts.torch_dit`); the planner's and RITE's block "
               "steps go through the C kernel of `models/blocks_fast.h` on the C path and through libtorch on the "
               "libtorch path; total = wall time of "
               "the whole pipeline, including the model's small copies outside these stages. RTF = seconds per second "
               "of music. LocDiT ms / step = one Euler step of one patch (both CFG branches in one batch): the same "
               "work in every row of a path, so where it differs between rows, the other load on the machine changed "
               "while the rows ran one after another (the paths run back to back at each step count). Threads: the "
               "C kernel computes on the calling thread (plus one helper in the 2-thread rows); the libtorch path's "
               "matmuls run on OpenBLAS's threads (above). The goal of issue 9 is <= 2 s per 10-s clip at 20 steps "
               "(stretch <= 1 s).\n",
            n_patches);
    /* the headline: the default steps, both paths, and without the cache */
    const row *fast = NULL, *slow = NULL, *two = NULL, *off = NULL;
    for (int i = 0; i < n_rows; i++)
        if (rows[i].steps == steps_default) {
            if (!rows[i].kv) off = &rows[i];
            else if (rows[i].path == P_C) fast = &rows[i];
            else if (rows[i].path == P_C2) two = &rows[i];
            else slow = &rows[i];
        }
    const row *on = fast ? fast : slow;
    if (on) {
        fprintf(f, "\nAt the default %d steps with the %s: **%.2f s per %.0f-s clip, RTF %.3f** (goal: <= 2 s); LocDiT "
                   "is %.0f %% of it, %.1f ms per patch (%d steps x %s), %.2f ms per step",
                steps_default, on->path == P_C ? "C kernel" : "libtorch LocDiT", on->t[S_TOTAL], seconds,
                on->t[S_TOTAL] / seconds, 100 * on->t[S_DIT] / on->t[S_TOTAL], 1e3 * on->t[S_DIT] / (double)n_patches,
                steps_default, cfg_scale > 1 ? "2 CFG branches" : "1 branch",
                1e3 * on->t[S_DIT] / ((double)n_patches * steps_default));
        if (fast && slow)
            fprintf(f, "; through libtorch ops the clip takes %.2f s and LocDiT %.2f ms per step, so the C kernel samples "
                       "%.1fx faster and the clip is %.1fx faster",
                    slow->t[S_TOTAL], 1e3 * slow->t[S_DIT] / ((double)n_patches * steps_default),
                    slow->t[S_DIT] / fast->t[S_DIT], slow->t[S_TOTAL] / fast->t[S_TOTAL]);
        if (fast && two)
            fprintf(f, "; with its CFG branches on two threads the C kernel takes %.2f ms per step, the clip %.2f s",
                    1e3 * two->t[S_DIT] / ((double)n_patches * steps_default), two->t[S_TOTAL]);
        if (off && off->path == on->path)
            fprintf(f, "; without the KV cache planner + RITE take %.2f s instead of %.2f s (%.1fx), the clip %.2f s",
                    off->t[S_PLAN] + off->t[S_RITE], on->t[S_PLAN] + on->t[S_RITE],
                    (off->t[S_PLAN] + off->t[S_RITE]) / (on->t[S_PLAN] + on->t[S_RITE]), off->t[S_TOTAL]);
        fprintf(f, ".\n");
    }
    if (md) fclose(f);
    vr_generator_free(&g);
    cfg_free(c);
    return 0;
}
