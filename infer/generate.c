/* generate.c — see generate.h. */
#define _GNU_SOURCE
#include "infer/generate.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libgen.h>
#include <time.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "core/safetensors.h"
#include "core/tensor_io.h"
#include "core/tt.h"
#include "data/build.h"
#include "data/manifest.h"
#include "data/media.h"
#include "infer/export.h"
#include "models/arframe.h"
#include "models/fullseq.h"
#include "train/registry.h"

#define GEN_MAX_TEXT 256      /* caption bytes per clip the model was trained with (the loader's max_text) */
#define GEN_RMS_DBFS -20.0    /* loudness of the output */
#define GEN_PEAK_DBFS -1.0
#define GEN_PHASE_SALT 0x9E3779B97F4A7C15ull /* Griffin-Lim's phase seed = clip seed ^ this */

/* ---- the model ---- */

void vr_generator_free(vr_generator *g) {
    if (g->have_model) vr_model_destroy(&g->m);
    if (g->have_mel) vr_mel_free(&g->mel);
    if (g->own_c) cfg_free(g->c);
    free(g->mean);
    free(g->std);
    memset(g, 0, sizeof *g);
}

static float *json_floats(const char *path, const char *key, const char *text, int n) {
    cJSON *a = cJSON_Parse(text ? text : "");
    float *out = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    int ok = out && cJSON_IsArray(a) && cJSON_GetArraySize(a) == n;
    for (int i = 0; ok && i < n; i++) {
        cJSON *v = cJSON_GetArrayItem(a, i);
        ok = cJSON_IsNumber(v) && isfinite(v->valuedouble);
        if (ok) out[i] = (float)v->valuedouble;
    }
    cJSON_Delete(a);
    if (!ok) {
        free(out);
        return vr_fail_null("%s: metadata '%s' is not an array of %d finite numbers", path, key, n);
    }
    return out;
}

/* The model from g->c (set) with the feature settings g->fps.. (set): shapes, threads, weights. */
static int build_model(vr_generator *g, const char *what, uint64_t init_seed) {
    const char *kind = cfg_str(g->c, "model.kind");
    if (strcmp(kind, "robin") && strcmp(kind, "fullseq_dit") && strcmp(kind, "ar_frames"))
        return vr_fail("%s: model.kind is '%s'; generate runs the robin, fullseq_dit and ar_frames models", what, kind);
    g->M = cfg_int(g->c, "model.latent_dim") ? (int)cfg_int(g->c, "model.latent_dim") : g->n_mels;
    if (g->M != g->n_mels)
        return vr_fail("%s: the model's latent has %d channels but the mel has %d bins: generate decodes log-mel "
                       "latents only", what, g->M, g->n_mels);
    g->F = (int)cfg_int(g->c, "model.patch_frames");
    g->use_video = cfg_bool(g->c, "model.use_video");
    g->video_dim = (int)cfg_int(g->c, "model.video_dim");
    if (vr_mel_init(&g->mel, g->sample_rate, g->n_mels, g->mel_fps)) return vr_context("%s: the mel settings", what);
    g->have_mel = 1;
    vr_runtime_apply((int)cfg_int(g->c, "runtime.torch_threads"), (int)cfg_int(g->c, "runtime.blas_threads"));
    tt_gen *ig = tt_gen_new(init_seed);
    g->have_model = vr_model_create(&g->m, g->c, ig) == 0;
    tt_gen_free(ig);
    return g->have_model ? 0 : vr_context("%s: building the model from its config", what);
}

int vr_generator_load(vr_generator *g, const char *path) {
    memset(g, 0, sizeof *g);
    st_file *f = st_open(path);
    if (!f) return vr_context("cannot read the model (expected a `vrobin export` file)");
    int rc = -1;
    const char *fmt = st_meta(f, "format"), *ver = st_meta(f, "format_version"), *conf = st_meta(f, "config");
    cJSON *d = NULL;
    if (!fmt || strcmp(fmt, VR_EXPORT_FORMAT)) {
        vr_fail("%s: not a vrobin export (metadata format is '%s', expected '%s'; make one with `vrobin export RUN -o "
                "MODEL.safetensors`)", path, fmt ? fmt : "(none)", VR_EXPORT_FORMAT);
        goto done;
    }
    if (!ver || strcmp(ver, VR_EXPORT_FORMAT_VERSION)) {
        vr_fail("%s: export format_version '%s', this vrobin reads version %s", path, ver ? ver : "(none)",
                VR_EXPORT_FORMAT_VERSION);
        goto done;
    }
    if (!conf || !(g->c = cfg_load_string(conf, strlen(conf), path, vr_schema))) {
        vr_context("%s: the export's embedded config", path);
        goto done;
    }
    g->own_c = 1;
    d = cJSON_Parse(st_meta(f, "data") ? st_meta(f, "data") : "");
    static const char *const keys[] = {"fps", "frame_size", "sample_rate", "n_mels", "mel_fps", "clip_seconds"};
    double v[6];
    for (int i = 0; i < 6; i++) {
        cJSON *x = cJSON_GetObjectItemCaseSensitive(d, keys[i]);
        if (!cJSON_IsNumber(x) || !(x->valuedouble > 0)) {
            vr_fail("%s: metadata 'data' has no positive number '%s'", path, keys[i]);
            goto done;
        }
        v[i] = x->valuedouble;
    }
    g->fps = (int)v[0], g->frame_size = (int)v[1], g->sample_rate = (int)v[2], g->n_mels = (int)v[3];
    g->mel_fps = (int)v[4], g->clip_seconds = v[5];
    if (!(g->mean = json_floats(path, "norm_mean", st_meta(f, "norm_mean"), g->n_mels)) ||
        !(g->std = json_floats(path, "norm_std", st_meta(f, "norm_std"), g->n_mels)))
        goto done;
    for (int i = 0; i < g->n_mels; i++)
        if (!(g->std[i] > 0)) {
            vr_fail("%s: norm_std[%d] = %g, expected > 0", path, i, g->std[i]);
            goto done;
        }
    rc = 0;
done:
    cJSON_Delete(d);
    st_close(f);
    if (rc || build_model(g, path, 0)) return -1;
    if (tio_load_params(g->m.params, path, 1)) return vr_context("%s: loading the weights", path);
    g->m.norm_mean = g->mean;
    g->m.norm_std = g->std;
    return 0;
}

int vr_generator_init(vr_generator *g, const cfg *c, uint64_t init_seed) {
    memset(g, 0, sizeof *g);
    g->c = (cfg *)c;
    g->fps = (int)cfg_int(c, "data.fps"), g->frame_size = (int)cfg_int(c, "data.frame_size");
    g->sample_rate = (int)cfg_int(c, "data.sample_rate"), g->n_mels = (int)cfg_int(c, "data.n_mels");
    g->mel_fps = (int)cfg_int(c, "data.mel_fps"), g->clip_seconds = cfg_float(c, "data.clip_seconds");
    if (g->fps < 1 || g->frame_size < 1 || g->sample_rate < 1 || g->n_mels < 1 || g->mel_fps < 1 ||
        !(g->clip_seconds > 0))
        return vr_fail("data.fps, data.frame_size, data.sample_rate, data.n_mels, data.mel_fps and data.clip_seconds "
                       "must be positive");
    return build_model(g, "the config", init_seed);
}

/* ---- clips ---- */

void vr_gen_clip_free(vr_gen_clip *c) {
    free(c->feat);
    free(c->latent);
    c->feat = c->latent = NULL;
}

uint64_t vr_gen_clip_seed(uint64_t seed, const char *id) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
    vr_rng r;
    vr_rng_seed_stream(&r, seed, h);
    return vr_rng_u64(&r);
}

int vr_gen_features(vr_generator *g, vr_gen_clip *c) {
    vr_media video = {0};
    vr_media_opts mo;
    vr_media_opts_default(&mo);
    mo.want_video = 1;
    mo.want_audio = 0;
    mo.fps = g->fps;
    mo.width = mo.height = g->frame_size;
    mo.sample_rate = g->sample_rate;
    mo.start = c->start;
    mo.duration = c->duration;
    int rc = -1;
    if (vr_media_decode(c->video, &mo, &video)) goto done;
    if (video.n_frames < 1 || !(video.duration > 0)) {
        vr_fail("%s: the video has no frames", c->video);
        goto done;
    }
    if (vr_clip_video_features(&video, NULL, &c->feat, &c->Dv)) goto done;
    if (g->use_video && c->Dv != g->video_dim) {
        vr_fail("%s: the model expects %d-dim video features (model.video_dim) but the built-in descriptors have %d: "
                "models trained with external features cannot generate from a video file yet", c->video, g->video_dim,
                c->Dv);
        goto done;
    }
    /* the music is as long as the video: T latent frames give T * hop samples */
    c->n_frames = video.n_frames;
    c->n_samples = llround(video.duration * g->sample_rate);
    c->T = (c->n_samples + g->mel.hop - 1) / g->mel.hop;
    rc = 0;
done:
    vr_media_free(&video);
    return rc;
}

/* The caption cut to the model's context at a UTF-8 character boundary. */
static int caption_bytes(const char *id, const char *text, uint8_t *row) {
    size_t n = strlen(text);
    if (n > GEN_MAX_TEXT) {
        n = GEN_MAX_TEXT;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--; /* don't split a character */
        VR_WARN("%s: the caption is %zu bytes; the model reads the first %d, so it is cut to %zu bytes", id,
                strlen(text), GEN_MAX_TEXT, n);
    }
    memset(row, 0, GEN_MAX_TEXT);
    memcpy(row, text, n);
    return (int)n;
}

/* ---- latents over sliding windows ---- */

int vr_gen_windows(int64_t P_total, int64_t P_win, vr_gen_window *w) {
    int64_t hop = P_win / 2 > 0 ? P_win / 2 : 1, start = 0, end = P_total < P_win ? P_total : P_win;
    int n = 0;
    if (w) w[n] = (vr_gen_window){0, 0, end};
    for (n = 1; end < P_total; n++) {
        start += hop;
        if (start > P_total - P_win) start = P_total - P_win; /* the last window ends with the video */
        if (w) w[n] = (vr_gen_window){start, end - start, P_win};
        end = start + P_win;
    }
    return n;
}

/* Video frames for p patches (the window's frames; patch and frame times share an axis). */
static int64_t frames_for(const vr_generator *g, int64_t p) {
    return llround((double)p * g->F * g->fps / g->mel_fps);
}

typedef struct patch_progress {
    vr_progress *bar;
    int64_t done;
} patch_progress;

static void on_patch(void *ctx) {
    patch_progress *p = ctx;
    vr_progress_update(p->bar, ++p->done, NULL);
}

int vr_gen_latents(vr_generator *g, vr_gen_clip *const *clips, int n, const robin_gen_opts *opts,
                   vr_progress *patches) {
    if (n < 1) return vr_fail("vr_gen_latents: no clips");
    int64_t T = clips[0]->T, M = g->M, F = g->F, T_win = llround(g->clip_seconds * g->mel_fps);
    for (int i = 0; i < n; i++) {
        if (!clips[i]->feat || clips[i]->n_frames < 1 || clips[i]->Dv != clips[0]->Dv || clips[i]->T < 1)
            return vr_fail("clip '%s' has no video features of the batch's width (vr_gen_features first)", clips[i]->id);
        if (clips[i]->T != T)
            return vr_fail("clips '%s' (%lld latent frames) and '%s' (%lld) differ in length: a batch needs one length",
                           clips[0]->id, (long long)T, clips[i]->id, (long long)clips[i]->T);
    }
    if (T_win < F || T_win % F)
        return vr_fail("data.clip_seconds %g at %d mel frames/s is not a whole number of %d-frame patches",
                       g->clip_seconds, g->mel_fps, g->F);
    int64_t P_total = (T + F - 1) / F, P_win = T_win / F, Dv = clips[0]->Dv;
    vr_gen_window *win = malloc(sizeof *win * (size_t)P_total);
    int64_t Tv_max = frames_for(g, P_win < P_total ? P_win : P_total);
    float *video = malloc(sizeof(float) * (size_t)(n * (Tv_max > 1 ? Tv_max : 1) * Dv));
    uint8_t *text = malloc((size_t)n * GEN_MAX_TEXT);
    int *text_len = malloc(sizeof(int) * (size_t)n);
    const char **ids = malloc(sizeof(char *) * (size_t)n);
    tt_gen **gens = calloc((size_t)n, sizeof *gens);
    float *host = malloc(sizeof(float) * (size_t)(n * P_total * F * M));
    int rc = -1;
    if (!win || !video || !text || !text_len || !ids || !gens || !host) {
        vr_fail("out of memory for %d clips of %lld frames", n, (long long)T);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        text_len[i] = caption_bytes(clips[i]->id, clips[i]->text ? clips[i]->text : "", text + (size_t)i * GEN_MAX_TEXT);
        ids[i] = clips[i]->id;
        gens[i] = tt_gen_new(clips[i]->seed);
    }
    int n_win = vr_gen_windows(P_total, P_win, win);
    patch_progress pp = {patches, 0};
    robin_gen_opts o = opts ? *opts : (robin_gen_opts){0};
    o.clip_gens = gens;
    o.on_patch = patches ? on_patch : NULL;
    o.ctx = &pp;

    tt_scope_begin();
    tt_tensor *run = tt_zeros(TT_SHAPE(n, P_total * F, M), TT_F32); /* the whole clips, normalised */
    int ok = run != NULL;
    for (int w = 0; ok && w < n_win; w++) {
        int64_t s = win[w].start, H = win[w].history, P = win[w].len, v0 = frames_for(g, s), Tv = frames_for(g, P);
        if (Tv < 1) Tv = 1;
        for (int i = 0; i < n; i++) /* the window's frames; past the decoded ones (rounding), the last repeats */
            for (int64_t j = 0; j < Tv; j++) {
                int64_t f = v0 + j < clips[i]->n_frames ? v0 + j : clips[i]->n_frames - 1;
                memcpy(video + ((size_t)i * Tv + j) * Dv, clips[i]->feat + f * Dv, sizeof(float) * (size_t)Dv);
            }
        vr_batch b = {.B = n, .T = (int)(P * F), .D = (int)M, .Tv = (int)Tv, .Dv = (int)Dv, .max_text = GEN_MAX_TEXT,
                      .video = video, .text = text, .text_len = text_len, .id = ids};
        tt_scope_begin();
        o.history = H ? tt_slice(run, 1, s * F, (s + H) * F, 1) : NULL;
        tt_tensor *x;
        if (g->m.ops != &robin_ops && o.dit_bf16) {
            x = tt_fail("--precision bf16 is a mode of the Video-Robin LocDiT kernel; %s samples in fp32",
                        g->m.ops == &fullseq_ops ? "fullseq_dit" : "ar_frames");
        } else if (g->m.ops == &fullseq_ops && o.solver != DIT_EULER) {
            x = tt_fail("the Heun solver is implemented for the Video-Robin LocDiT only; fullseq_dit samples with Euler");
        } else if (g->m.ops == &fullseq_ops) { /* the baseline samples the window's patches at once */
            fullseq_gen_opts fo = {.steps = o.steps, .cfg_scale = o.cfg_scale, .history = o.history, .clip_gens = gens,
                                   .seconds = o.times ? &o.times->dit : NULL};
            x = fullseq_generate(&g->m, &b, &fo, NULL);
            for (int64_t k = H; x && o.on_patch && k < P; k++) o.on_patch(o.ctx);
        } else if (g->m.ops == &arframe_ops && o.solver != DIT_EULER) {
            x = tt_fail("ar_frames samples codes frame by frame: there is no flow solver to choose");
        } else if (g->m.ops == &arframe_ops) { /* one "patch" per frame (model.patch_frames 1); steps do not apply */
            arframe_gen_opts ao = {.cfg_scale = o.cfg_scale, .history = o.history, .clip_gens = gens,
                                   .seconds = o.times ? &o.times->planner : NULL, .on_frame = o.on_patch, .ctx = o.ctx};
            x = arframe_generate(&g->m, &b, &ao, NULL);
        } else {
            x = robin_generate(&g->m, &b, &o, NULL, NULL);
        }
        ok = x && !tt_copy_(tt_slice(run, 1, (s + H) * F, (s + P) * F, 1), tt_slice(x, 1, H * F, P * F, 1));
        if (!ok)
            vr_fail("%s: window %d (%.1f-%.1f s): %s", clips[0]->id, w, (double)(s * F) / g->mel_fps,
                    (double)((s + P) * F) / g->mel_fps, tt_last_error());
        tt_scope_end();
    }
    tt_tensor *y = ok ? tt_contiguous(tt_to_device(robin_denormalise(&g->m, run), TT_CPU)) : NULL;
    if (ok && (!y || tt_to_data(y, host, sizeof(float) * (size_t)(n * P_total * F * M)))) {
        vr_fail("%s: %s", clips[0]->id, tt_last_error());
        ok = 0;
    }
    tt_scope_end();
    for (int i = 0; ok && i < n; i++) {
        free(clips[i]->latent);
        if (!(clips[i]->latent = malloc(sizeof(float) * (size_t)(T * M)))) {
            vr_fail("out of memory");
            ok = 0;
        } else {
            memcpy(clips[i]->latent, host + (size_t)i * P_total * F * M, sizeof(float) * (size_t)(T * M));
        }
    }
    rc = ok ? 0 : -1;
done:
    for (int i = 0; gens && i < n; i++) tt_gen_free(gens[i]);
    free(win);
    free(video);
    free(text);
    free(text_len);
    free(ids);
    free(gens);
    free(host);
    return rc;
}

int vr_gen_audio(vr_generator *g, const vr_gen_clip *c, int gl_iters, float **wave) {
    int64_t T = c->T, hop = g->mel.hop;
    float *w = malloc(sizeof(float) * (size_t)(T * hop));
    *wave = NULL;
    if (!w) return vr_fail("%s: out of memory for %lld samples", c->id, (long long)(T * hop));
    tt_scope_begin();
    tt_gen *pg = tt_gen_new(c->seed ^ GEN_PHASE_SALT); /* Griffin-Lim's initial phase */
    tt_tensor *lm = tt_from_data(c->latent, TT_F32, TT_SHAPE(T, g->M));
    tt_tensor *y = lm ? vr_mel_inverse(&g->mel, lm, gl_iters, T * hop, pg) : NULL;
    y = y ? tt_contiguous(tt_to_device(y, TT_CPU)) : NULL;
    int ok = y && !tt_to_data(y, w, sizeof(float) * (size_t)(T * hop));
    if (!ok) vr_fail("%s: Griffin-Lim: %s", c->id, tt_last_error()[0] ? tt_last_error() : vr_error());
    tt_gen_free(pg);
    tt_scope_end();
    if (!ok || vr_audio_normalize_rms(w, c->n_samples, GEN_RMS_DBFS, GEN_PEAK_DBFS)) {
        free(w);
        return -1;
    }
    *wave = w;
    return 0;
}

/* ---- one video ---- */

typedef enum { OUT_AUDIO, OUT_VIDEO } out_kind;

static int out_kind_of(const char *path, out_kind *k) {
    const char *dot = strrchr(path, '.');
    if (dot && (!strcasecmp(dot, ".wav") || !strcasecmp(dot, ".flac"))) *k = OUT_AUDIO;
    else if (dot && (!strcasecmp(dot, ".mp4") || !strcasecmp(dot, ".mkv") || !strcasecmp(dot, ".webm"))) *k = OUT_VIDEO;
    else return vr_fail("%s: unknown output type; expected .wav, .flac, .mp4, .mkv or .webm", path);
    return 0;
}

/* Fail before minutes of generation, not after. */
static int check_out_dir(const char *path) {
    char *dir = strdup(path);
    if (!dir) return vr_fail("out of memory");
    int ok = access(dirname(dir), W_OK) == 0;
    free(dir);
    return ok ? 0 : vr_fail("%s: the output folder does not exist or is not writable", path);
}

int vr_generate(const vr_gen_opts *o, vr_gen_stats *st) {
    memset(st, 0, sizeof *st);
    out_kind kind;
    if (out_kind_of(o->out, &kind) || check_out_dir(o->out)) return -1;
    double t0 = vr_now();
    vr_generator g;
    vr_gen_clip clip = {.id = o->video, .video = o->video, .text = o->text, .seed = o->seed};
    float *wave = NULL;
    int rc = -1;
    if (vr_generator_load(&g, o->model)) goto done;
    st->t_load = vr_now() - t0;

    t0 = vr_now();
    if (vr_gen_features(&g, &clip)) goto done;
    st->t_decode = vr_now() - t0;
    /* a video the container cannot hold: refused now, not after the model's minutes (the decoder
     * above already named unreadable input) */
    if (kind == OUT_VIDEO && vr_mux_check(o->video, o->out)) goto done;

    t0 = vr_now();
    robin_gen_opts go = {.steps = o->steps, .cfg_scale = o->cfg_scale, .solver = (dit_solver)o->solver,
                         .times = &st->model, .dit_threads = o->dit_threads, .dit_bf16 = o->bf16};
    vr_progress *bar = vr_progress_begin("generate", (clip.T + g.F - 1) / g.F, g.F == 1 ? "frames" : "patches");
    int bad = vr_gen_latents(&g, (vr_gen_clip *[]){&clip}, 1, &go, bar);
    vr_progress_end(bar);
    if (bad) goto done;
    st->n_windows = vr_gen_windows((clip.T + g.F - 1) / g.F, llround(g.clip_seconds * g.mel_fps) / g.F, NULL);
    st->t_model = vr_now() - t0;

    t0 = vr_now();
    if (vr_gen_audio(&g, &clip, o->gl_iters, &wave)) goto done;
    st->t_decoder = vr_now() - t0;

    t0 = vr_now();
    if (kind == OUT_AUDIO ? vr_audio_write(o->out, wave, clip.n_samples, g.sample_rate)
                          : vr_mux_audio_into_video(o->video, wave, clip.n_samples, g.sample_rate, o->out))
        goto done;
    st->t_write = vr_now() - t0;
    st->seconds_audio = (double)clip.n_samples / g.sample_rate;
    rc = 0;
done:
    vr_generator_free(&g);
    vr_gen_clip_free(&clip);
    free(wave);
    return rc;
}

/* ---- a manifest ---- */

typedef struct batch_run {
    const vr_gen_opts *o;
    vr_generator *g;
    cJSON *clips, *failed, *skipped; /* timings.json's arrays */
    vr_gen_batch_stats *st;
    vr_progress *bar;
    double t_start;
    char *timings_path;
} batch_run;

/* An id usable as a relative file name: not absolute, no empty, "." or ".." part, no control byte. */
static int id_is_path_safe(const char *id) {
    for (const char *p = id; *p; p++)
        if ((unsigned char)*p < 0x20) return 0;
    for (const char *part = id;;) {
        size_t len = strcspn(part, "/");
        if (len == 0 || (len == 1 && part[0] == '.') || (len == 2 && !strncmp(part, "..", 2))) return 0;
        if (!part[len]) return 1;
        part += len + 1;
    }
}

static char *wav_path(const char *dir, const char *id) {
    char *p = NULL;
    return asprintf(&p, "%s/%s.wav", dir, id) < 0 ? NULL : p;
}

static void add_failed(batch_run *br, const char *id, int line, const char *why) {
    cJSON *f = cJSON_CreateObject();
    if (id) cJSON_AddStringToObject(f, "id", id);
    cJSON_AddNumberToObject(f, "line", line);
    cJSON_AddStringToObject(f, "error", why);
    cJSON_AddItemToArray(br->failed, f);
    br->st->n_failed++;
    VR_WARN("clip %s (line %d) failed: %s", id ? id : "?", line, why);
}

static int write_timings(batch_run *br) {
    double el = vr_now() - br->t_start;
    br->st->seconds = el;
    br->st->clips_per_second = el > 0 ? br->st->n_done / el : 0;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", br->o->model);
    cJSON_AddStringToObject(root, "manifest", br->o->manifest);
    cJSON_AddNumberToObject(root, "batch", br->o->batch);
    cJSON_AddNumberToObject(root, "steps", br->o->steps > 0 ? br->o->steps : (double)cfg_int(br->g->c, "model.sample_steps"));
    cJSON_AddNumberToObject(root, "cfg_scale", br->o->cfg_scale > 0 ? br->o->cfg_scale : cfg_float(br->g->c, "model.cfg_scale"));
    cJSON_AddStringToObject(root, "solver", dit_solver_name((dit_solver)br->o->solver));
    cJSON_AddStringToObject(root, "precision", br->o->bf16 ? "bf16" : "fp32");
    cJSON_AddNumberToObject(root, "seed", (double)br->o->seed);
    cJSON_AddNumberToObject(root, "griffin_lim_iters", br->o->gl_iters);
    cJSON_AddNumberToObject(root, "n_clips", br->st->n_clips);
    cJSON_AddNumberToObject(root, "n_generated", br->st->n_done);
    cJSON_AddNumberToObject(root, "n_skipped", br->st->n_skipped);
    cJSON_AddNumberToObject(root, "n_failed", br->st->n_failed);
    cJSON_AddNumberToObject(root, "seconds", el);
    cJSON_AddNumberToObject(root, "clips_per_second", br->st->clips_per_second);
    cJSON_AddStringToObject(root, "stages",
                            "per clip, wall seconds: decode = video decode + features; planner = text/video encoders, "
                            "prefill, planner steps and FSQ; rite; locdit = Euler sampling with CFG (the model stages "
                            "are the batch's time / its clips); decoder = Griffin-Lim + loudness; write = wav file");
    cJSON_AddItemReferenceToObject(root, "clips", br->clips);
    cJSON_AddItemReferenceToObject(root, "skipped", br->skipped);
    cJSON_AddItemReferenceToObject(root, "failed", br->failed);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    int rc = text ? vr_write_file_atomic(br->timings_path, text, strlen(text)) : vr_fail("out of memory");
    free(text);
    return rc;
}

/* Generate, decode and write one batch of clips of one length; failures are recorded per clip. */
static void run_batch(batch_run *br, vr_gen_clip **clips, int n, const int *lines, const double *t_decode) {
    robin_gen_times tm = {0};
    robin_gen_opts go = {.steps = br->o->steps, .cfg_scale = br->o->cfg_scale, .solver = (dit_solver)br->o->solver,
                         .times = &tm, .dit_threads = br->o->dit_threads,
                         .dit_bf16 = br->o->bf16};
    if (vr_gen_latents(br->g, clips, n, &go, NULL)) {
        char why[1024];
        snprintf(why, sizeof why, "%s", vr_error());
        for (int i = 0; i < n; i++) add_failed(br, clips[i]->id, lines[i], why);
        return;
    }
    for (int i = 0; i < n; i++) {
        vr_gen_clip *c = clips[i];
        float *wave = NULL;
        char *path = wav_path(br->o->out, c->id), *dir = path ? strdup(path) : NULL;
        double t0 = vr_now();
        int bad = !path || !dir ? vr_fail("out of memory") : vr_gen_audio(br->g, c, br->o->gl_iters, &wave);
        double t_dec = vr_now() - t0;
        t0 = vr_now();
        bad = bad || vr_mkdirs(dirname(dir)) || vr_audio_write(path, wave, c->n_samples, br->g->sample_rate);
        double t_write = vr_now() - t0;
        if (bad) {
            add_failed(br, c->id, lines[i], vr_error());
        } else {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "id", c->id);
            cJSON_AddNumberToObject(e, "seconds_audio", (double)c->n_samples / br->g->sample_rate);
            cJSON_AddNumberToObject(e, "batch_size", n);
            cJSON_AddNumberToObject(e, "decode", t_decode[i]);
            cJSON_AddNumberToObject(e, "planner", (tm.prefix + tm.planner) / n);
            cJSON_AddNumberToObject(e, "rite", tm.rite / n);
            cJSON_AddNumberToObject(e, "locdit", tm.dit / n);
            cJSON_AddNumberToObject(e, "decoder", t_dec);
            cJSON_AddNumberToObject(e, "write", t_write);
            cJSON_AddNumberToObject(e, "total",
                                    t_decode[i] + (tm.prefix + tm.planner + tm.rite + tm.dit) / n + t_dec + t_write);
            cJSON_AddItemToArray(br->clips, e);
            br->st->n_done++;
        }
        vr_progress_update(br->bar, br->st->n_done + br->st->n_failed, NULL);
        free(wave);
        free(path);
        free(dir);
    }
}

/* Clips waiting for a batch, grouped by length. */
typedef struct pending {
    int64_t T;
    int n;
    vr_gen_clip **clips;
    int *lines;
    double *t_decode;
} pending;

static void flush(batch_run *br, pending *p) {
    if (!p->n) return;
    run_batch(br, p->clips, p->n, p->lines, p->t_decode);
    for (int i = 0; i < p->n; i++) {
        vr_gen_clip_free(p->clips[i]);
        free(p->clips[i]);
    }
    p->n = 0;
    if (write_timings(br)) VR_WARN("%s", vr_error());
}

/* The previous run's timings.json entries (resume keeps those of the clips it skips); a warning
 * when that run used other settings, since its wavs are kept as they are. */
static cJSON *previous_clips(const char *path, const vr_gen_opts *o, const vr_generator *g) {
    char *text = NULL;
    size_t n = 0;
    if (!vr_file_exists(path) || vr_read_file(path, &text, &n)) return NULL;
    cJSON *root = cJSON_Parse(text);
    free(text);
    cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model"), *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
    cJSON *steps = cJSON_GetObjectItemCaseSensitive(root, "steps"), *scale = cJSON_GetObjectItemCaseSensitive(root, "cfg_scale");
    double want_steps = o->steps > 0 ? o->steps : (double)cfg_int(g->c, "model.sample_steps");
    double want_scale = o->cfg_scale > 0 ? o->cfg_scale : cfg_float(g->c, "model.cfg_scale");
    cJSON *solver = cJSON_GetObjectItemCaseSensitive(root, "solver"); /* absent in older files: Euler */
    const char *had_solver = cJSON_IsString(solver) ? solver->valuestring : "euler";
    cJSON *precision = cJSON_GetObjectItemCaseSensitive(root, "precision"); /* absent in older files: fp32 */
    const char *had_precision = cJSON_IsString(precision) ? precision->valuestring : "fp32";
    if (cJSON_IsString(model) && cJSON_IsNumber(seed) && cJSON_IsNumber(steps) && cJSON_IsNumber(scale) &&
        (strcmp(model->valuestring, o->model) || seed->valuedouble != (double)o->seed ||
         steps->valuedouble != want_steps || scale->valuedouble != want_scale ||
         strcmp(had_solver, dit_solver_name((dit_solver)o->solver)) ||
         strcmp(had_precision, o->bf16 ? "bf16" : "fp32")))
        VR_WARN("%s: the clips already there were made with other settings (model %s, seed %.0f, %.0f steps, %s, "
                "cfg %g, %s); they are kept as they are",
                path, model->valuestring, seed->valuedouble, steps->valuedouble, had_solver, scale->valuedouble,
                had_precision);
    cJSON *clips = cJSON_DetachItemFromObjectCaseSensitive(root, "clips");
    cJSON_Delete(root);
    if (!cJSON_IsArray(clips)) {
        cJSON_Delete(clips);
        VR_WARN("%s: not a timings file of vrobin generate; it will be replaced", path);
        return NULL;
    }
    return clips;
}

static cJSON *find_clip(cJSON *clips, const char *id) {
    cJSON *e;
    cJSON_ArrayForEach(e, clips) {
        cJSON *i = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (cJSON_IsString(i) && !strcmp(i->valuestring, id)) return e;
    }
    return NULL;
}

int vr_generate_manifest(const vr_gen_opts *o, vr_gen_batch_stats *st) {
    memset(st, 0, sizeof *st);
    int B = o->batch > 0 ? o->batch : 1, rc = -1;
    vr_generator g = {0};
    vr_manifest *man = NULL;
    pending *groups = NULL;
    int n_groups = 0;
    batch_run br = {.o = o, .g = &g, .st = st};
    cJSON *old = NULL;
    if (!(man = vr_manifest_load(o->manifest))) return vr_context("%s: the manifest", o->manifest);
    int n_lines = o->max_clips > 0 && o->max_clips < man->n ? o->max_clips : man->n; /* the first max_clips lines */
    if (vr_generator_load(&g, o->model)) goto done;
    if (vr_mkdirs(o->out) || access(o->out, W_OK)) {
        vr_fail("%s: cannot create or write the output folder", o->out);
        goto done;
    }
    if (asprintf(&br.timings_path, "%s/timings.json", o->out) < 0) {
        br.timings_path = NULL;
        vr_fail("out of memory");
        goto done;
    }
    old = previous_clips(br.timings_path, o, &g);
    br.clips = cJSON_CreateArray();
    br.failed = cJSON_CreateArray();
    br.skipped = cJSON_CreateArray();
    groups = calloc((size_t)n_lines + 1, sizeof *groups);
    if (!br.clips || !br.failed || !br.skipped || !groups) {
        vr_fail("out of memory");
        goto done;
    }
    st->n_clips = n_lines;
    br.t_start = vr_now();

    /* what is left to do: bad lines fail, existing wavs are skipped */
    int n_todo = 0;
    char *todo = calloc((size_t)n_lines + 1, 1);
    for (int i = 0; todo && i < n_lines; i++) {
        vr_manifest_entry *e = &man->entries[i];
        char *path = !e->error && id_is_path_safe(e->id) ? wav_path(o->out, e->id) : NULL;
        if (e->error) {
            add_failed(&br, e->id, e->line, e->error);
        } else if (!id_is_path_safe(e->id)) {
            char why[512];
            snprintf(why, sizeof why, "%s:%d: id '%s' cannot name a file under the output folder (absolute, '..', "
                     "an empty part or a control character)", man->path, e->line, e->id);
            add_failed(&br, e->id, e->line, why);
        } else if (path && vr_file_exists(path)) {
            st->n_skipped++;
            cJSON_AddItemToArray(br.skipped, cJSON_CreateString(e->id));
            cJSON *prev = find_clip(old, e->id);
            if (prev) cJSON_AddItemToArray(br.clips, cJSON_Duplicate(prev, 1));
        } else {
            todo[i] = 1;
            n_todo++;
        }
        free(path);
    }
    if (!todo) {
        vr_fail("out of memory");
        goto done;
    }
    if (st->n_skipped) VR_INFO("resuming: %d of %d clips are already in %s", st->n_skipped, n_lines, o->out);
    br.bar = vr_progress_begin("generate", n_todo, "clips");

    /* decode in manifest order; a length's group runs as soon as it holds B clips */
    for (int i = 0; i < n_lines; i++) {
        if (!todo[i]) continue;
        vr_manifest_entry *e = &man->entries[i];
        vr_gen_clip *c = calloc(1, sizeof *c);
        if (!c) {
            add_failed(&br, e->id, e->line, "out of memory");
            continue;
        }
        *c = (vr_gen_clip){.id = e->id, .video = e->video, .text = e->text, .start = e->start,
                           .duration = e->end > e->start ? e->end - e->start : 0, .seed = vr_gen_clip_seed(o->seed, e->id)};
        double t0 = vr_now();
        if (vr_gen_features(&g, c)) {
            add_failed(&br, e->id, e->line, vr_error());
            vr_gen_clip_free(c);
            free(c);
            vr_progress_update(br.bar, st->n_done + st->n_failed, NULL);
            continue;
        }
        int k = 0;
        while (k < n_groups && groups[k].T != c->T) k++;
        pending *p = &groups[k];
        if (k == n_groups) {
            n_groups++;
            p->T = c->T;
            p->clips = calloc((size_t)B, sizeof *p->clips);
            p->lines = calloc((size_t)B, sizeof *p->lines);
            p->t_decode = calloc((size_t)B, sizeof *p->t_decode);
            if (!p->clips || !p->lines || !p->t_decode) {
                free(todo);
                vr_gen_clip_free(c);
                free(c);
                vr_fail("out of memory");
                goto done;
            }
        }
        p->clips[p->n] = c;
        p->lines[p->n] = e->line;
        p->t_decode[p->n++] = vr_now() - t0;
        if (p->n == B) flush(&br, p);
    }
    free(todo);
    for (int k = 0; k < n_groups; k++) flush(&br, &groups[k]);
    vr_progress_end(br.bar);
    br.bar = NULL;
    if (write_timings(&br)) goto done;
    if (st->n_failed)
        vr_fail("%d of %d clips failed (reasons in %s)", st->n_failed, st->n_clips, br.timings_path);
    else
        rc = 0;
done:
    vr_progress_end(br.bar);
    for (int k = 0; groups && k < n_groups; k++) {
        for (int i = 0; i < groups[k].n; i++) {
            vr_gen_clip_free(groups[k].clips[i]);
            free(groups[k].clips[i]);
        }
        free(groups[k].clips);
        free(groups[k].lines);
        free(groups[k].t_decode);
    }
    free(groups);
    cJSON_Delete(old);
    cJSON_Delete(br.clips);
    cJSON_Delete(br.failed);
    cJSON_Delete(br.skipped);
    free(br.timings_path);
    vr_generator_free(&g);
    vr_manifest_free(man);
    return rc;
}

/* ---- the command ---- */

static void usage(FILE *out) {
    fprintf(out,
            "usage: vrobin generate --model M.safetensors --video IN -o OUT [--text \"caption\"] [options]\n"
            "       vrobin generate --model M.safetensors --manifest CLIPS.jsonl --out DIR [--batch B] [options]\n\n"
            "Generate music for a video with a model from `vrobin export`. OUT is .wav or .flac (the music),\n"
            "or .mp4/.mkv/.webm: a copy of the input's picture (not re-encoded) with the music as its sound\n"
            "(AAC; Opus for .webm). The music is log-mel decoded by Griffin-Lim and normalised to -20 dBFS RMS.\n"
            "Videos longer than the model's clip (data.clip_seconds) continue autoregressively over windows\n"
            "overlapping by half a clip: each window is conditioned on its own frames, the caption and the\n"
            "music already generated in the overlap, so the music runs on without seams.\n\n"
            "With --manifest (JSONL lines {\"id\", \"video\", \"text\", \"start\"?, \"end\"?, ...}), every clip's music\n"
            "is written to DIR/<id>.wav; clips of one length go through the model B at a time; clips whose wav\n"
            "exists are skipped (resume); DIR/timings.json has per-clip seconds per stage and clips/s.\n\n"
            "  --text S               caption (prompt); longer than %d bytes is cut, with a warning\n"
            "  --batch B              clips per model call in manifest mode (default 1)\n"
            "  --steps N              solver steps per patch (default: the model's model.sample_steps)\n"
            "  --solver euler|heun    ODE solver of LocDiT sampling (default euler; heun: second order, two\n"
            "                         velocity evaluations per step, Video-Robin models only)\n"
            "  --cfg S                classifier-free guidance scale (default: model.cfg_scale)\n"
            "  --seed N               sampling seed; the same seed gives the same output (default: from the clock;\n"
            "                         in manifest mode each clip's seed is derived from N and its id)\n"
            "  --griffin-lim-iters N  phase-recovery iterations (default 32)\n"
            "  --dit-threads N        1 or 2: the C LocDiT sampler's CFG branches on two threads (same output);\n"
            "                         faster on an idle 2-core machine, slower when other jobs share the cores\n"
            "  --precision fp32|bf16  arithmetic of the C LocDiT sampler's transformer blocks (default fp32); bf16\n"
            "                         (CPUs with AVX512-BF16, Video-Robin models) is faster and not the same numbers\n",
            GEN_MAX_TEXT);
}

static int parse_int(const char *flag, const char *s, long long lo, long long *out) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < lo) {
        fprintf(stderr, "vrobin generate: %s %s: expected an integer >= %lld\n", flag, s, lo);
        return -1;
    }
    *out = v;
    return 0;
}

int vr_cmd_generate(int argc, char **argv) {
    if (vr_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    vr_gen_opts o = {.gl_iters = 32, .batch = 1, .seed = (uint64_t)time(NULL)};
    long long v = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) {
            fprintf(stderr, "vrobin generate: %s needs a value\n\n", a);
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--model")) o.model = val;
        else if (!strcmp(a, "--video")) o.video = val;
        else if (!strcmp(a, "--manifest")) o.manifest = val;
        else if (!strcmp(a, "--text")) o.text = val;
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) o.out = val;
        else if (!strcmp(a, "--steps")) {
            if (parse_int(a, val, 1, &v)) return 2;
            o.steps = (int)v;
        } else if (!strcmp(a, "--batch")) {
            if (parse_int(a, val, 1, &v)) return 2;
            o.batch = v > 4096 ? 4096 : (int)v;
        } else if (!strcmp(a, "--seed")) {
            if (parse_int(a, val, 0, &v)) return 2;
            o.seed = (uint64_t)v;
        } else if (!strcmp(a, "--griffin-lim-iters")) {
            if (parse_int(a, val, 1, &v)) return 2;
            o.gl_iters = (int)v;
        } else if (!strcmp(a, "--dit-threads")) {
            if (parse_int(a, val, 1, &v)) return 2;
            if (v > 2) {
                fprintf(stderr, "vrobin generate: --dit-threads %s: expected 1 or 2\n", val);
                return 2;
            }
            o.dit_threads = (int)v;
        } else if (!strcmp(a, "--precision")) {
            if (strcmp(val, "fp32") && strcmp(val, "bf16")) {
                fprintf(stderr, "vrobin generate: --precision %s: expected fp32 or bf16\n", val);
                return 2;
            }
            o.bf16 = !strcmp(val, "bf16");
        } else if (!strcmp(a, "--solver")) {
            dit_solver s;
            if (dit_solver_parse(val, &s)) {
                fprintf(stderr, "vrobin generate: --solver %s: expected euler or heun\n", val);
                return 2;
            }
            o.solver = (int)s;
        } else if (!strcmp(a, "--cfg")) {
            char *end;
            o.cfg_scale = strtod(val, &end);
            if (!*val || *end || !(o.cfg_scale > 0) || !isfinite(o.cfg_scale)) {
                fprintf(stderr, "vrobin generate: --cfg %s: expected a number > 0\n", val);
                return 2;
            }
        } else {
            fprintf(stderr, "vrobin generate: unknown option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (o.video && o.manifest) {
        fprintf(stderr, "vrobin generate: --video and --manifest exclude each other\n");
        return 2;
    }
    const char *missing = !o.model                 ? "--model"
                          : !o.video && !o.manifest ? "--video (or --manifest)"
                          : !o.out && o.manifest    ? "--out DIR"
                          : !o.out                  ? "-o OUT"
                                                    : NULL;
    if (missing) {
        fprintf(stderr, "vrobin generate: missing %s\n\n", missing);
        usage(stderr);
        return 2;
    }
    if (o.manifest) {
        if (o.text) {
            fprintf(stderr, "vrobin generate: --text is for --video; a manifest's captions are its \"text\" fields\n");
            return 2;
        }
        VR_INFO("generate: %s + %s -> %s/ (batch %d, seed %" PRIu64 ")", o.model, o.manifest, o.out, o.batch, o.seed);
        vr_gen_batch_stats st;
        int bad = vr_generate_manifest(&o, &st);
        if (st.n_clips)
            VR_INFO("%d clips: %d generated, %d already there, %d failed; %.2f s, %.3f clips/s", st.n_clips, st.n_done,
                    st.n_skipped, st.n_failed, st.seconds, st.clips_per_second);
        if (bad) {
            fprintf(stderr, "vrobin generate: %s\n", vr_error());
            return 1;
        }
        return 0;
    }
    if (o.batch != 1) {
        fprintf(stderr, "vrobin generate: --batch is for --manifest\n");
        return 2;
    }
    out_kind k;
    if (out_kind_of(o.out, &k)) {
        fprintf(stderr, "vrobin generate: %s\n", vr_error());
        return 2;
    }
    VR_INFO("generate: %s + %s -> %s (seed %" PRIu64 ")", o.model, o.video, o.out, o.seed);
    vr_gen_stats st;
    if (vr_generate(&o, &st)) {
        fprintf(stderr, "vrobin generate: %s\n", vr_error());
        return 1;
    }
    double total = st.t_load + st.t_decode + st.t_model + st.t_decoder + st.t_write;
    VR_INFO("wrote %s: %.2f s of music in %d window(s); %.2f s (load %.2f, video %.2f, model %.2f [planner %.2f, "
            "RITE %.2f, LocDiT %.2f], Griffin-Lim %.2f, write %.2f), %.2fx real time",
            o.out, st.seconds_audio, st.n_windows, total, st.t_load, st.t_decode, st.t_model,
            st.model.prefix + st.model.planner, st.model.rite, st.model.dit, st.t_decoder, st.t_write,
            st.seconds_audio / (total > 0 ? total : 1e-9));
    return 0;
}
