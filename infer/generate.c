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
#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/safetensors.h"
#include "core/tensor_io.h"
#include "core/tt.h"
#include "data/build.h"
#include "data/media.h"
#include "data/mel.h"
#include "infer/export.h"
#include "models/robin.h"
#include "train/registry.h"

#define GEN_MAX_TEXT 256      /* caption bytes per clip the model was trained with (the loader's max_text) */
#define GEN_RMS_DBFS -20.0    /* loudness of the output */
#define GEN_PEAK_DBFS -1.0

/* What the export's metadata says beyond the weights. */
typedef struct gen_model {
    cfg *c;
    vr_model m;
    int have_model;
    float *mean, *std; /* [M] */
    int M, F, use_video, video_dim;
    int fps, frame_size, sample_rate, n_mels, mel_fps;
    double clip_seconds;
} gen_model;

static void gen_model_free(gen_model *g) {
    if (g->have_model) vr_model_destroy(&g->m);
    cfg_free(g->c);
    free(g->mean);
    free(g->std);
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

static int load_export(const char *path, gen_model *g) {
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
    if (strcmp(cfg_str(g->c, "model.kind"), "robin")) {
        vr_fail("%s: model.kind is '%s'; generate runs the robin model", path, cfg_str(g->c, "model.kind"));
        goto done;
    }
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
    g->M = cfg_int(g->c, "model.latent_dim") ? (int)cfg_int(g->c, "model.latent_dim") : g->n_mels;
    if (g->M != g->n_mels) {
        vr_fail("%s: the model's latent has %d channels but the mel has %d bins: generate decodes log-mel latents only",
                path, g->M, g->n_mels);
        goto done;
    }
    g->F = (int)cfg_int(g->c, "model.patch_frames");
    g->use_video = cfg_bool(g->c, "model.use_video");
    g->video_dim = (int)cfg_int(g->c, "model.video_dim");
    if (!(g->mean = json_floats(path, "norm_mean", st_meta(f, "norm_mean"), g->M)) ||
        !(g->std = json_floats(path, "norm_std", st_meta(f, "norm_std"), g->M)))
        goto done;
    for (int i = 0; i < g->M; i++)
        if (!(g->std[i] > 0)) {
            vr_fail("%s: norm_std[%d] = %g, expected > 0", path, i, g->std[i]);
            goto done;
        }
    rc = 0;
done:
    cJSON_Delete(d);
    st_close(f);
    if (rc) return -1;

    vr_runtime_apply((int)cfg_int(g->c, "runtime.torch_threads"), (int)cfg_int(g->c, "runtime.blas_threads"));
    tt_gen *ig = tt_gen_new(0);
    g->have_model = vr_model_create(&g->m, g->c, ig) == 0;
    tt_gen_free(ig);
    if (!g->have_model) return vr_context("%s: building the model from its config", path);
    if (tio_load_params(g->m.params, path, 1)) return vr_context("%s: loading the weights", path);
    g->m.norm_mean = g->mean;
    g->m.norm_std = g->std;
    return 0;
}

/* The caption cut to the model's context at a UTF-8 character boundary. */
static int caption_bytes(const char *text, uint8_t *row) {
    size_t n = strlen(text);
    if (n > GEN_MAX_TEXT) {
        n = GEN_MAX_TEXT;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--; /* don't split a character */
        VR_WARN("the caption is %zu bytes; the model reads the first %d, so it is cut to %zu bytes", strlen(text),
                GEN_MAX_TEXT, n);
    }
    memset(row, 0, GEN_MAX_TEXT);
    memcpy(row, text, n);
    return (int)n;
}

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

/* Generate the latents [T_total][M] (denormalised) for the whole video, window by window. */
static int generate_latents(gen_model *g, const vr_gen_opts *o, const vr_media *video, const float *feat, int Dv,
                            int64_t T_total, float *lat, int *n_windows) {
    int64_t T_full = llround(g->clip_seconds * g->mel_fps), Tv_full = llround(g->clip_seconds * g->fps);
    if (T_full < g->F || T_full % g->F)
        return vr_fail("data.clip_seconds %g at %d mel frames/s is not a whole number of %d-frame patches",
                       g->clip_seconds, g->mel_fps, g->F);
    uint8_t text[GEN_MAX_TEXT];
    int text_len = caption_bytes(o->text ? o->text : "", text);
    const char *id = "generate";
    tt_gen *gen = tt_gen_new(o->seed);
    int rc = 0, w = 0;
    vr_progress *p = vr_progress_begin("generate", T_total, "frames");
    for (int64_t done = 0; rc == 0 && done < T_total; w++) {
        int64_t T = T_total - done < T_full ? (T_total - done + g->F - 1) / g->F * g->F : T_full;
        int64_t v0 = (int64_t)w * Tv_full, Tv = video->n_frames - v0 < Tv_full ? video->n_frames - v0 : Tv_full;
        if (v0 >= video->n_frames) v0 = video->n_frames - 1; /* rounding: reuse the last frame */
        if (Tv < 1) Tv = 1;
        vr_batch b = {.B = 1, .T = (int)T, .D = g->M, .Tv = (int)Tv, .Dv = Dv, .max_text = GEN_MAX_TEXT,
                      .video = (float *)feat + v0 * Dv, .text = text, .text_len = &text_len, .id = &id};
        robin_gen_opts go = {.steps = o->steps, .cfg_scale = o->cfg_scale};
        tt_scope_begin();
        tt_tensor *x = robin_generate(&g->m, &b, &go, gen, NULL);
        tt_tensor *y = x ? tt_contiguous(tt_to_device(robin_denormalise(&g->m, x), TT_CPU)) : NULL;
        int64_t keep = T_total - done < T ? T_total - done : T;
        float *buf = y ? malloc(sizeof(float) * (size_t)(T * g->M)) : NULL;
        if (!y || !buf || tt_to_data(y, buf, sizeof(float) * (size_t)(T * g->M))) {
            rc = vr_fail("window %d (%.1f-%.1f s): %s", w, (double)v0 / g->fps, (double)(v0 + Tv) / g->fps,
                         tt_last_error()[0] ? tt_last_error() : "out of memory");
        } else {
            memcpy(lat + done * g->M, buf, sizeof(float) * (size_t)(keep * g->M));
            done += keep;
            vr_progress_update(p, done, NULL);
        }
        free(buf);
        tt_scope_end();
    }
    vr_progress_end(p);
    tt_gen_free(gen);
    *n_windows = w;
    return rc;
}

int vr_generate(const vr_gen_opts *o, vr_gen_stats *st) {
    memset(st, 0, sizeof *st);
    out_kind kind;
    if (out_kind_of(o->out, &kind) || check_out_dir(o->out)) return -1;
    double t0 = vr_now();
    gen_model g;
    vr_media video = {0};
    float *feat = NULL, *lat = NULL, *wave = NULL;
    int rc = -1, Dv = 0;
    vr_mel mel;
    int have_mel = 0;
    if (load_export(o->model, &g)) goto done;
    st->t_load = vr_now() - t0;

    t0 = vr_now();
    vr_media_opts mo;
    vr_media_opts_default(&mo);
    mo.want_video = 1;
    mo.want_audio = 0;
    mo.fps = g.fps;
    mo.width = mo.height = g.frame_size;
    mo.sample_rate = g.sample_rate;
    mo.start = 0;
    mo.duration = 0; /* the whole video */
    if (vr_media_decode(o->video, &mo, &video)) goto done;
    if (video.n_frames < 1 || !(video.duration > 0)) {
        vr_fail("%s: the video has no frames", o->video);
        goto done;
    }
    if (vr_clip_video_features(&video, NULL, &feat, &Dv)) goto done;
    if (g.use_video && Dv != g.video_dim) {
        vr_fail("%s: the model expects %d-dim video features (model.video_dim) but the built-in descriptors have %d: "
                "models trained with external features cannot generate from a video file yet", o->model, g.video_dim, Dv);
        goto done;
    }
    st->t_decode = vr_now() - t0;

    /* the music is as long as the video: T latent frames give T * hop samples */
    if (vr_mel_init(&mel, g.sample_rate, g.n_mels, g.mel_fps)) goto done;
    have_mel = 1;
    int64_t n_samples = llround(video.duration * g.sample_rate), T_total = (n_samples + mel.hop - 1) / mel.hop;
    if (!(lat = malloc(sizeof(float) * (size_t)(T_total * g.M)))) {
        vr_fail("out of memory");
        goto done;
    }
    t0 = vr_now();
    if (generate_latents(&g, o, &video, feat, Dv, T_total, lat, &st->n_windows)) goto done;
    st->t_model = vr_now() - t0;

    t0 = vr_now();
    tt_scope_begin();
    tt_gen *pg = tt_gen_new(o->seed ^ 0x9E3779B97F4A7C15ull); /* Griffin-Lim's initial phase */
    tt_tensor *lm = tt_from_data(lat, TT_F32, TT_SHAPE(T_total, g.M));
    tt_tensor *y = lm ? vr_mel_inverse(&mel, lm, o->gl_iters, T_total * mel.hop, pg) : NULL;
    y = y ? tt_contiguous(tt_to_device(y, TT_CPU)) : NULL;
    wave = malloc(sizeof(float) * (size_t)(T_total * mel.hop));
    int ok = y && wave && !tt_to_data(y, wave, sizeof(float) * (size_t)(T_total * mel.hop));
    if (!ok) vr_fail("Griffin-Lim: %s", tt_last_error()[0] ? tt_last_error() : vr_error());
    tt_gen_free(pg);
    tt_scope_end();
    if (!ok || vr_audio_normalize_rms(wave, n_samples, GEN_RMS_DBFS, GEN_PEAK_DBFS)) goto done;
    st->t_decoder = vr_now() - t0;

    t0 = vr_now();
    if (kind == OUT_AUDIO ? vr_audio_write(o->out, wave, n_samples, g.sample_rate)
                          : vr_mux_audio_into_video(o->video, wave, n_samples, g.sample_rate, o->out))
        goto done;
    st->t_write = vr_now() - t0;
    st->seconds_audio = (double)n_samples / g.sample_rate;
    rc = 0;
done:
    if (have_mel) vr_mel_free(&mel);
    gen_model_free(&g);
    vr_media_free(&video);
    free(feat);
    free(lat);
    free(wave);
    return rc;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: vrobin generate --model M.safetensors --video IN -o OUT [--text \"caption\"]\n"
            "                       [--steps N] [--cfg S] [--seed N] [--griffin-lim-iters N]\n\n"
            "Generate music for a video with a model from `vrobin export`. OUT is .wav or .flac (the music),\n"
            "or .mp4/.mkv/.webm: a copy of the input's picture (not re-encoded) with the music as its sound\n"
            "(AAC; Opus for .webm). The music is log-mel decoded by Griffin-Lim and normalised to -20 dBFS RMS.\n\n"
            "  --text S               caption (prompt); longer than %d bytes is cut, with a warning\n"
            "  --steps N              Euler steps per patch (default: the model's model.sample_steps)\n"
            "  --cfg S                classifier-free guidance scale (default: model.cfg_scale)\n"
            "  --seed N               sampling seed; the same seed gives the same output (default: from the clock)\n"
            "  --griffin-lim-iters N  phase-recovery iterations (default 32)\n\n"
            "Videos longer than the model's clip (data.clip_seconds) are generated window by window, each from\n"
            "its own frames, and the windows are concatenated: no musical continuity across windows yet.\n",
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
    vr_gen_opts o = {.gl_iters = 32, .seed = (uint64_t)time(NULL)};
    long long v;
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
        else if (!strcmp(a, "--text")) o.text = val;
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) o.out = val;
        else if (!strcmp(a, "--steps")) {
            if (parse_int(a, val, 1, &v)) return 2;
            o.steps = (int)v;
        } else if (!strcmp(a, "--seed")) {
            if (parse_int(a, val, 0, &v)) return 2;
            o.seed = (uint64_t)v;
        } else if (!strcmp(a, "--griffin-lim-iters")) {
            if (parse_int(a, val, 1, &v)) return 2;
            o.gl_iters = (int)v;
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
    if (!o.model || !o.video || !o.out) {
        fprintf(stderr, "vrobin generate: missing %s\n\n", !o.model ? "--model" : !o.video ? "--video" : "-o OUT");
        usage(stderr);
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
    VR_INFO("wrote %s: %.2f s of music in %d window(s); %.2f s (load %.2f, video %.2f, model %.2f, Griffin-Lim %.2f, "
            "write %.2f), %.2fx real time",
            o.out, st.seconds_audio, st.n_windows, total, st.t_load, st.t_decode, st.t_model, st.t_decoder, st.t_write,
            st.seconds_audio / (total > 0 ? total : 1e-9));
    return 0;
}
