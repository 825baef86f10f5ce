/* eval.c — see eval.h. */
#define _GNU_SOURCE
#include "eval/eval.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/tt.h"
#include "data/build.h"
#include "data/manifest.h"
#include "data/media.h"
#include "data/mel.h"
#include "data/rhythm.h"
#include "data/video_desc.h"
#include "eval/beats.h"
#include "eval/dist.h"
#include "eval/embed.h"
#include "infer/generate.h"
#include "models/contrast.h"
#include "models/locdit.h"
#include "models/tagger.h"
#include "vrobin_git.h"

extern const cfg_key_spec vr_schema[];

#define EVAL_MAX_BACKBONES 4
#define EVAL_MAX_BEATS 4096
#define EVAL_VIDEO_BEAT_FPS 24 /* motion peaks need >= 24 fps decodes (eval/beats.h) */
#define EVAL_RMS_DBFS -20.0    /* the loudness generate writes; oracle_decoded gets the same */
#define EVAL_PEAK_DBFS -1.0
#define EVAL_MAX_DIM 1024      /* tagger / contrastive embedding widths */

/* ---- the benchmark: test clips with their truth, the reference set, the backbones ---- */

typedef struct backbone {
    char name[64];      /* column suffix: "mel", "ts_<file stem>" */
    vr_embedder *e;
    vr_dist_stats ref;  /* of every reference window */
    double *ref_means;  /* [n_ref_clips][dim] per-clip mean embeddings (PRDC's real set) */
    double *ref_windows;  /* every reference window [rows][dim], clip after clip */
    vr_dist_mat *ref_clips; /* [n_ref_clips] each clip's windows in ref_windows (clip-level FAD∞) */
    int n_ref, dim;
} backbone;

typedef struct clip_truth {
    const vr_manifest_entry *e;
    double seconds;           /* expected length of the clip's music */
    double tempo_bpm;         /* labels; NAN when absent */
    int key, minor;           /* labels; -1 when absent */
    double *vbeats;           /* video beat times, seconds from the clip start */
    int n_vbeats;
} clip_truth;

typedef struct bench {
    cfg *c;
    const char *name;
    char dir[PATH_MAX];       /* <out_dir>/<name> */
    char command[4096];
    const char *model, *audio; /* the system's --model export or --audio folder (header eval.model / eval.audio) */
    vr_manifest *test, *ref;
    clip_truth *clips;
    int n;
    backbone bb[EVAL_MAX_BACKBONES];
    int n_bb;
    int sr, n_mels, mel_fps;
    vr_mel mel;
    int have_mel;
    /* eval.tagger: KL, IS, attribute accuracy, FAD on its clip embeddings */
    tagger_export tg;
    int have_tagger, n_heads, tg_dim;
    int *truth_cls;           /* [n][n_heads] labelled classes, -1 unknown */
    double *truth_logits[TAGGER_MAX_HEADS]; /* [n][C_h] of the reference soundtracks */
    vr_dist_stats tg_ref;     /* clip embeddings of the reference set */
    /* eval.contrast: video-music and text-music alignment */
    tagger_export ct;
    int have_contrast, ct_dim;
    double *ct_video, *ct_text; /* [n][ct_dim] */
} bench;

/* A per-clip record of one system. */
typedef struct clip_result {
    double tempo;             /* estimated BPM, 0 when none found */
    vr_key key;
    vr_beat_align align;
    double *emb[EVAL_MAX_BACKBONES];
    int n_win[EVAL_MAX_BACKBONES];
    double fad[EVAL_MAX_BACKBONES];
    double *tg_emb, *tg_logits[TAGGER_MAX_HEADS]; /* eval.tagger */
    double align_vm, align_tm;                     /* eval.contrast */
} clip_result;

static int labels_of(clip_truth *t) {
    t->tempo_bpm = NAN;
    t->key = t->minor = -1;
    cJSON *l = cJSON_Parse(t->e->labels_json ? t->e->labels_json : "{}");
    if (!l) return vr_fail("%s:%d: clip '%s': labels are not JSON", "manifest", t->e->line, t->e->id);
    cJSON *tempo = cJSON_GetObjectItemCaseSensitive(l, "tempo_bpm");
    cJSON *key = cJSON_GetObjectItemCaseSensitive(l, "key");
    cJSON *mode = cJSON_GetObjectItemCaseSensitive(l, "mode");
    if (cJSON_IsNumber(tempo) && tempo->valuedouble > 0) t->tempo_bpm = tempo->valuedouble;
    if (cJSON_IsNumber(key) && key->valueint >= 0 && key->valueint < 12) t->key = key->valueint;
    if (cJSON_IsString(mode)) t->minor = !strcmp(mode->valuestring, "minor") ? 1 : !strcmp(mode->valuestring, "major") ? 0 : -1;
    cJSON_Delete(l);
    return 0;
}

/* Video beats of a test clip: cuts + motion peaks of a 24-fps decode of its window. */
static int video_beats_of(const bench *b, clip_truth *t) {
    vr_media_opts o;
    vr_media_opts_default(&o);
    o.want_video = 1;
    o.want_audio = 0;
    o.fps = EVAL_VIDEO_BEAT_FPS;
    o.width = o.height = (int)cfg_int(b->c, "data.frame_size");
    o.start = t->e->start;
    o.duration = t->seconds;
    vr_media v;
    if (vr_media_decode(t->e->video, &o, &v)) return vr_fail("clip '%s': %s", t->e->id, vr_error());
    float *feat = NULL;
    int Dv = 0, rc = -1;
    if (!vr_clip_video_features(&v, NULL, &feat, &Dv)) {
        t->vbeats = malloc(EVAL_MAX_BEATS * sizeof *t->vbeats);
        int n = t->vbeats ? vr_beats_video_times(feat, v.n_frames, EVAL_VIDEO_BEAT_FPS, t->vbeats, EVAL_MAX_BEATS) : -1;
        if (n >= 0) {
            /* beats_align takes times in [0, ceil(seconds)) only */
            for (int k = 0; k < n && k < EVAL_MAX_BEATS; k++)
                if (t->vbeats[k] >= 0 && t->vbeats[k] < ceil(t->seconds)) t->vbeats[t->n_vbeats++] = t->vbeats[k];
            rc = 0;
        }
    }
    if (rc) vr_fail("clip '%s' (%s): video beats: %s", t->e->id, t->e->video, vr_error());
    free(feat);
    vr_media_free(&v);
    return rc;
}

static int clip_seconds_of(const bench *b, const vr_manifest_entry *e, double *s) {
    if (e->end > e->start) {
        *s = e->end - e->start;
        return 0;
    }
    vr_media_info info;
    const char *path = e->music ? e->music : e->video;
    if (vr_media_probe(path, &info)) return vr_fail("clip '%s': %s", e->id, vr_error());
    *s = info.duration - e->start;
    double cap = cfg_float(b->c, "data.clip_seconds");
    if (*s > cap) *s = cap;
    return *s > 0 ? 0 : vr_fail("clip '%s': %s has no audio after %.2f s", e->id, path, e->start);
}

/* Decode an audio file to mono at the benchmark rate and check its length against the clip's. */
static int load_audio(const bench *b, const char *path, const char *id, double start, double seconds, float **wave,
                      int64_t *n) {
    vr_media_opts o;
    vr_media_opts_default(&o);
    o.want_video = 0;
    o.want_audio = 1;
    o.sample_rate = b->sr;
    o.start = start;
    o.duration = seconds;
    vr_media m;
    if (!vr_file_exists(path)) return vr_fail("clip '%s': audio file %s is missing", id, path);
    if (vr_media_decode(path, &o, &m)) return vr_fail("clip '%s': %s", id, vr_error());
    double got = (double)m.n_samples / b->sr, tol = cfg_float(b->c, "eval.length_tolerance_s");
    if (fabs(got - seconds) > tol) {
        vr_media_free(&m);
        return vr_fail("clip '%s': %s holds %.3f s of audio, the clip is %.3f s (eval.length_tolerance_s = %g)", id,
                       path, got, seconds, tol);
    }
    *wave = m.audio;
    *n = m.n_samples;
    m.audio = NULL;
    vr_media_free(&m);
    return 0;
}

static void bench_free(bench *b) {
    for (int i = 0; i < b->n; i++) free(b->clips[i].vbeats);
    free(b->clips);
    for (int i = 0; i < b->n_bb; i++) {
        vr_embedder_free(b->bb[i].e);
        vr_dist_stats_free(&b->bb[i].ref);
        free(b->bb[i].ref_means);
        free(b->bb[i].ref_windows);
        free(b->bb[i].ref_clips);
    }
    if (b->have_mel) vr_mel_free(&b->mel);
    free(b->truth_cls);
    for (int h = 0; h < TAGGER_MAX_HEADS; h++) free(b->truth_logits[h]);
    vr_dist_stats_free(&b->tg_ref);
    if (b->have_tagger) tagger_export_free(&b->tg);
    free(b->ct_video);
    free(b->ct_text);
    if (b->have_contrast) tagger_export_free(&b->ct);
    vr_manifest_free(b->test);
    vr_manifest_free(b->ref);
    cfg_free(b->c);
}

static void backbone_name(const char *spec, char *name, size_t cap) {
    if (strncmp(spec, "torchscript:", 12)) {
        snprintf(name, cap, "%s", spec);
        return;
    }
    const char *file = strrchr(spec + 12, '/');
    file = file ? file + 1 : spec + 12;
    int len = (int)strcspn(file, ".");
    snprintf(name, cap, "ts_%.*s", len, file);
}

/* Mean of each clip's windows. */
static void clip_mean(const double *emb, int n_win, int dim, double *out) {
    for (int j = 0; j < dim; j++) out[j] = 0;
    for (int w = 0; w < n_win; w++)
        for (int j = 0; j < dim; j++) out[j] += emb[(size_t)w * dim + j];
    for (int j = 0; j < dim; j++) out[j] /= n_win;
}

/* float tensor -> doubles (n values) */
static int to_doubles(const tt_tensor *t, double *out, int64_t n) {
    float *f = malloc((size_t)n * sizeof *f);
    int rc = f && tt_numel(t) == n && !tt_to_data(tt_contiguous(t), f, (size_t)n * sizeof *f) ? 0 : -1;
    for (int64_t i = 0; !rc && i < n; i++) out[i] = f[i];
    free(f);
    return rc ? vr_fail("eval: reading a model output: %s", tt_last_error()) : 0;
}

/* The tagger on one clip's audio: emb [tg_dim] and logits[h] [C_h] (both may be NULL). */
static int tagger_clip(bench *b, const float *wave, int64_t n, double *emb, double **logits) {
    tt_scope_begin();
    tt_tensor *e = NULL, *lg[TAGGER_MAX_HEADS] = {0};
    tt_tensor *lat = tagger_export_latent(&b->tg, tt_from_data(wave, TT_F32, TT_SHAPE(1, n)));
    int rc = !lat || tagger_embed_logits(&b->tg.m, lat, &e, lg) ? vr_fail("tagger: %s", tt_last_error()) : 0;
    if (!rc && emb) rc = to_doubles(e, emb, b->tg_dim);
    for (int h = 0; !rc && logits && h < b->n_heads; h++) rc = to_doubles(lg[h], logits[h], tagger_n_classes(&b->tg.m, h));
    tt_scope_end();
    return rc;
}

/* Embed the reference set with every backbone (pooled window statistics and per-clip means) and,
 * with eval.tagger, the tagger (its clip-embedding statistics): one decode per reference clip. */
static int embed_reference(bench *b) {
    const vr_manifest *r = b->ref;
    int n = 0;
    for (int i = 0; i < r->n; i++) n += !r->entries[i].error && r->entries[i].music;
    if (n < 2) return vr_fail("%s: the reference set has %d clips with music, expected >= 2", r->path, n);
    vr_progress *pr = vr_progress_begin("eval: reference set", n, "clips");
    double **emb = calloc((size_t)n * b->n_bb, sizeof *emb);
    double *tg = b->have_tagger ? malloc((size_t)n * b->tg_dim * sizeof *tg) : NULL;
    int *nw = calloc((size_t)n * b->n_bb, sizeof *nw);
    int rc = emb && nw && (tg || !b->have_tagger) ? 0 : vr_fail("eval: out of memory");
    int k = 0;
    for (int i = 0; !rc && i < r->n; i++) {
        const vr_manifest_entry *e = &r->entries[i];
        if (e->error || !e->music) continue;
        double seconds;
        float *wave = NULL;
        int64_t ns = 0;
        rc = clip_seconds_of(b, e, &seconds) || load_audio(b, e->music, e->id, e->start, seconds, &wave, &ns);
        for (int j = 0; !rc && j < b->n_bb; j++) {
            int dim;
            rc = vr_embed_audio(b->bb[j].e, wave, ns, b->sr, 1, &emb[(size_t)k * b->n_bb + j], &nw[k * b->n_bb + j], &dim);
            if (rc) vr_fail("%s: clip '%s' (%s): %s", r->path, e->id, e->music, vr_error());
        }
        if (!rc && tg && (rc = tagger_clip(b, wave, ns, tg + (size_t)k * b->tg_dim, NULL)))
            vr_fail("%s: clip '%s' (%s): %s", r->path, e->id, e->music, vr_error());
        free(wave);
        vr_progress_update(pr, ++k, NULL);
    }
    vr_progress_end(pr);
    if (!rc && tg && (rc = vr_dist_stats_compute(&b->tg_ref, vr_dist_f64(tg, n, b->tg_dim))))
        vr_fail("%s: reference embeddings (tagger): %s", r->path, vr_error());
    free(tg);
    for (int j = 0; !rc && j < b->n_bb; j++) {
        backbone *bb = &b->bb[j];
        bb->dim = vr_embedder_dim(bb->e);
        bb->n_ref = n;
        int64_t total = 0;
        for (int i = 0; i < n; i++) total += nw[i * b->n_bb + j];
        double *all = malloc((size_t)total * bb->dim * sizeof *all);
        bb->ref_means = malloc((size_t)n * bb->dim * sizeof *bb->ref_means);
        bb->ref_clips = malloc((size_t)n * sizeof *bb->ref_clips);
        if (!all || !bb->ref_means || !bb->ref_clips) {
            free(all);
            rc = vr_fail("eval: out of memory");
            break;
        }
        int64_t at = 0;
        for (int i = 0; i < n; i++) {
            const double *x = emb[(size_t)i * b->n_bb + j];
            int w = nw[i * b->n_bb + j];
            memcpy(all + at * bb->dim, x, (size_t)w * bb->dim * sizeof *all);
            bb->ref_clips[i] = vr_dist_f64(all + at * bb->dim, w, bb->dim);
            at += w;
            clip_mean(x, w, bb->dim, bb->ref_means + (size_t)i * bb->dim);
        }
        rc = vr_dist_stats_compute(&bb->ref, vr_dist_f64(all, total, bb->dim));
        if (rc) vr_fail("%s: reference embeddings (%s): %s", r->path, bb->name, vr_error());
        bb->ref_windows = all;
    }
    for (int i = 0; emb && i < n * b->n_bb; i++) free(emb[i]);
    free(emb);
    free(nw);
    return rc;
}

/* The contrastive audio embedding of one clip [ct_dim]. */
static int contrast_audio(bench *b, const float *wave, int64_t n, double *emb) {
    tt_scope_begin();
    tt_tensor *lat = tagger_export_latent(&b->ct, tt_from_data(wave, TT_F32, TT_SHAPE(1, n)));
    tt_tensor *e = lat ? contrast_embed_audio(&b->ct.m, lat) : NULL;
    int rc = e ? to_doubles(e, emb, b->ct_dim) : vr_fail("contrastive audio encoder: %s", tt_last_error());
    tt_scope_end();
    return rc;
}

static double dot(const double *a, const double *b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* eval.tagger: load it; the labelled classes and the reference soundtracks' posteriors of the test
 * clips (the reference set's tagger embeddings come with embed_reference). */
static int open_tagger(bench *b, const char *path) {
    if (tagger_export_load(&b->tg, path, "tagger")) return vr_fail("eval.tagger (%s): %s", path, vr_error());
    b->have_tagger = 1;
    if (b->tg.sample_rate != b->sr)
        return vr_fail("eval.tagger (%s) reads %d-Hz audio, the benchmark decodes at data.sample_rate = %d", path,
                       b->tg.sample_rate, b->sr);
    b->n_heads = tagger_n_heads(&b->tg.m);
    b->tg_dim = tagger_embed_dim(&b->tg.m);
    if (b->tg_dim > EVAL_MAX_DIM) return vr_fail("eval.tagger (%s): embedding of %d dims, at most %d", path, b->tg_dim, EVAL_MAX_DIM);
    if (!(b->truth_cls = malloc((size_t)b->n * b->n_heads * sizeof *b->truth_cls))) return vr_fail("eval: out of memory");
    for (int h = 0; h < b->n_heads; h++)
        if (!(b->truth_logits[h] = malloc((size_t)b->n * tagger_n_classes(&b->tg.m, h) * sizeof(double))))
            return vr_fail("eval: out of memory");
    int unlabelled = 0, rc = 0;
    vr_progress *pr = vr_progress_begin("eval: tagger on the test references", b->n, "clips");
    for (int i = 0; !rc && i < b->n; i++) {
        const clip_truth *t = &b->clips[i];
        if (tagger_classes_of(&b->tg.m, t->e->id, t->e->labels_json, b->truth_cls + (size_t)i * b->n_heads)) {
            for (int h = 0; h < b->n_heads; h++) b->truth_cls[(size_t)i * b->n_heads + h] = -1;
            unlabelled++;
        }
        if (!t->e->music) {
            rc = vr_fail("clip '%s' (%s line %d) has no music: KL needs the reference soundtrack", t->e->id, b->test->path, t->e->line);
            break;
        }
        float *wave = NULL;
        int64_t ns = 0;
        double *lg[TAGGER_MAX_HEADS];
        for (int h = 0; h < b->n_heads; h++) lg[h] = b->truth_logits[h] + (size_t)i * tagger_n_classes(&b->tg.m, h);
        rc = load_audio(b, t->e->music, t->e->id, t->e->start, t->seconds, &wave, &ns) || tagger_clip(b, wave, ns, NULL, lg);
        if (rc) vr_fail("clip '%s': %s", t->e->id, vr_error());
        free(wave);
        vr_progress_update(pr, i + 1, NULL);
    }
    vr_progress_end(pr);
    if (unlabelled) VR_WARN("eval: %d of %d test clips have no labels the tagger knows: left out of the attribute accuracies", unlabelled, b->n);
    return rc;
}

/* eval.contrast: load it; the video and caption embeddings of the test clips. */
static int open_contrast(bench *b, const char *path) {
    if (tagger_export_load(&b->ct, path, "contrast")) return vr_fail("eval.contrast (%s): %s", path, vr_error());
    b->have_contrast = 1;
    if (b->ct.sample_rate != b->sr)
        return vr_fail("eval.contrast (%s) reads %d-Hz audio, the benchmark decodes at data.sample_rate = %d", path,
                       b->ct.sample_rate, b->sr);
    int rc = 0;
    vr_progress *pr = vr_progress_begin("eval: contrastive video/text embeddings", b->n, "clips");
    for (int i = 0; !rc && i < b->n; i++) {
        const clip_truth *t = &b->clips[i];
        vr_media_opts o;
        vr_media_opts_default(&o);
        o.want_video = 1;
        o.want_audio = 0;
        o.fps = (int)cfg_int(b->ct.c, "data.fps");
        o.width = o.height = (int)cfg_int(b->ct.c, "data.frame_size");
        o.start = t->e->start;
        o.duration = t->seconds;
        vr_media v;
        float *feat = NULL;
        int Dv = 0;
        rc = vr_media_decode(t->e->video, &o, &v);
        if (!rc) {
            rc = vr_clip_video_features(&v, NULL, &feat, &Dv);
            tt_scope_begin();
            const char *text = t->e->text ? t->e->text : "";
            tt_tensor *ve = rc ? NULL : contrast_embed_video(&b->ct.m, tt_from_data(feat, TT_F32, TT_SHAPE(1, v.n_frames, Dv)));
            tt_tensor *te = rc ? NULL : contrast_embed_text(&b->ct.m, &text, 1);
            if (!rc && (!ve || !te)) rc = vr_fail("%s", tt_last_error());
            if (!rc && !b->ct_dim) {
                b->ct_dim = (int)tt_size(ve, 1);
                b->ct_video = b->ct_dim <= EVAL_MAX_DIM ? malloc((size_t)b->n * b->ct_dim * sizeof(double)) : NULL;
                b->ct_text = b->ct_video ? malloc((size_t)b->n * b->ct_dim * sizeof(double)) : NULL;
                if (!b->ct_text) rc = vr_fail("eval: out of memory (contrastive embeddings of %d dims)", b->ct_dim);
            }
            if (!rc) rc = to_doubles(ve, b->ct_video + (size_t)i * b->ct_dim, b->ct_dim) ||
                          to_doubles(te, b->ct_text + (size_t)i * b->ct_dim, b->ct_dim);
            tt_scope_end();
            vr_media_free(&v);
        }
        if (rc) vr_fail("eval.contrast: clip '%s' (%s): %s", t->e->id, t->e->video, vr_error());
        free(feat);
        vr_progress_update(pr, i + 1, NULL);
    }
    vr_progress_end(pr);
    return rc;
}

static int bench_open(bench *b, cfg *c) {
    memset(b, 0, sizeof *b);
    b->c = c;
    b->name = cfg_str(c, "eval.name");
    const char *manifest = cfg_str(c, "eval.manifest"), *reference = cfg_str(c, "eval.reference");
    if (!*b->name) return vr_fail("eval.name (%s) is empty: name the benchmark", cfg_origin(c, "eval.name"));
    if (!*manifest || !*reference)
        return vr_fail("eval.manifest (%s) and eval.reference (%s) must both name JSONL manifests",
                       cfg_origin(c, "eval.manifest"), cfg_origin(c, "eval.reference"));
    snprintf(b->dir, sizeof b->dir, "%s/%s", cfg_str(c, "eval.out_dir"), b->name);
    b->sr = (int)cfg_int(c, "data.sample_rate");
    b->n_mels = (int)cfg_int(c, "data.n_mels");
    b->mel_fps = (int)cfg_int(c, "data.mel_fps");
    if (vr_mel_init(&b->mel, b->sr, b->n_mels, b->mel_fps)) return -1;
    b->have_mel = 1;
    if (!(b->test = vr_manifest_load(manifest)) || !(b->ref = vr_manifest_load(reference))) return -1;
    for (int i = 0; i < b->test->n; i++)
        if (b->test->entries[i].error) return vr_fail("%s", b->test->entries[i].error);

    /* the test clips and their truth */
    int max = (int)cfg_int(c, "eval.max_clips");
    b->n = max > 0 && max < b->test->n ? max : b->test->n;
    if (b->n < 2) return vr_fail("%s: %d clips, expected >= 2 to evaluate", manifest, b->n);
    if (!(b->clips = calloc((size_t)b->n, sizeof *b->clips))) return vr_fail("eval: out of memory");
    vr_progress *pr = vr_progress_begin("eval: test clips (video beats)", b->n, "clips");
    for (int i = 0; i < b->n; i++) {
        clip_truth *t = &b->clips[i];
        t->e = &b->test->entries[i];
        if (clip_seconds_of(b, t->e, &t->seconds) || labels_of(t) || video_beats_of(b, t)) {
            vr_progress_end(pr);
            return vr_fail("%s: %s", manifest, vr_error());
        }
        vr_progress_update(pr, i + 1, NULL);
    }
    vr_progress_end(pr);

    /* backbones */
    vr_embed_opts eo;
    vr_embed_opts_default(&eo);
    eo.sample_rate = (int)cfg_int(c, "eval.embed.sample_rate");
    eo.window_s = cfg_float(c, "eval.embed.window_s");
    eo.hop_s = cfg_float(c, "eval.embed.hop_s");
    eo.n_mels = (int)cfg_int(c, "eval.embed.n_mels");
    int nb = cfg_list_len(c, "eval.backbones");
    if (nb < 1 || nb > EVAL_MAX_BACKBONES)
        return vr_fail("eval.backbones (%s) lists %d backbones, expected 1..%d", cfg_origin(c, "eval.backbones"), nb,
                       EVAL_MAX_BACKBONES);
    for (int i = 0; i < nb; i++) {
        const char *spec = cfg_list_str(c, "eval.backbones", i);
        backbone_name(spec, b->bb[i].name, sizeof b->bb[i].name);
        if (!(b->bb[i].e = vr_embedder_open(spec, &eo)))
            return vr_fail("eval.backbones (%s): %s", cfg_origin(c, "eval.backbones"), vr_error());
        b->n_bb = i + 1;
    }
    const char *tagger = cfg_str(c, "eval.tagger"), *contrast = cfg_str(c, "eval.contrast");
    if ((*tagger && open_tagger(b, tagger)) || embed_reference(b)) return -1;
    return *contrast ? open_contrast(b, contrast) : 0;
}

/* ---- one system ---- */

/* Everything per clip that needs the audio: onsets, tempo, key, embeddings. */
static int analyse_clip(bench *b, const clip_truth *t, const float *wave, int64_t n, clip_result *r) {
    int64_t T = n / b->mel.hop + 1;
    float *lm = malloc((size_t)T * b->n_mels * sizeof *lm), *env = malloc((size_t)T * sizeof *env);
    double *onsets = malloc(EVAL_MAX_BEATS * sizeof *onsets);
    int rc = lm && env && onsets ? 0 : vr_fail("eval: out of memory");
    if (!rc) {
        T = vr_logmel(&b->mel, wave, n, lm);
        rc = T < 2 || vr_onset_strength(lm, (int)T, b->n_mels, VR_ONSET_DELAY_DEFAULT, env) ? -1 : 0;
    }
    if (!rc) {
        r->tempo = vr_tempo_estimate(env, (int)T, b->mel_fps, 0);
        int no = vr_beats_music_onsets(env, (int)T, b->mel_fps, onsets, EVAL_MAX_BEATS);
        rc = no < 0 || r->tempo < 0 ||
             vr_beats_align(onsets, no < EVAL_MAX_BEATS ? no : EVAL_MAX_BEATS, t->vbeats, t->n_vbeats, t->seconds, &r->align) ||
             vr_key_detect(wave, n, b->sr, &r->key);
    }
    for (int j = 0; !rc && j < b->n_bb; j++) {
        int dim;
        rc = vr_embed_audio(b->bb[j].e, wave, n, b->sr, 1, &r->emb[j], &r->n_win[j], &dim);
    }
    if (!rc && b->have_tagger) {
        if (!(r->tg_emb = malloc((size_t)b->tg_dim * sizeof *r->tg_emb))) rc = vr_fail("eval: out of memory");
        for (int h = 0; !rc && h < b->n_heads; h++)
            if (!(r->tg_logits[h] = malloc((size_t)tagger_n_classes(&b->tg.m, h) * sizeof(double)))) rc = vr_fail("eval: out of memory");
        if (!rc) rc = tagger_clip(b, wave, n, r->tg_emb, r->tg_logits);
    }
    if (!rc && b->have_contrast) {
        double a[EVAL_MAX_DIM];
        int i = (int)(t - b->clips);
        rc = contrast_audio(b, wave, n, a);
        /* the embeddings are L2-normalised: the dot product is the cosine */
        r->align_vm = rc ? NAN : dot(a, b->ct_video + (size_t)i * b->ct_dim, b->ct_dim);
        r->align_tm = rc ? NAN : dot(a, b->ct_text + (size_t)i * b->ct_dim, b->ct_dim);
    }
    free(lm);
    free(env);
    free(onsets);
    return rc;
}

static void put_num(cJSON *o, const char *name, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, name, v);
    else cJSON_AddNullToObject(o, name);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *x, int n) {
    if (n < 1) return NAN;
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* Distribution metrics of one backbone: FAD, FAD-inf (+ its points), per-clip FAD, PRDC. */
static int dist_metrics(bench *b, int j, clip_result *res, cJSON *metrics, cJSON *points) {
    backbone *bb = &b->bb[j];
    int64_t total = 0;
    for (int i = 0; i < b->n; i++) total += res[i].n_win[j];
    double *all = malloc((size_t)total * bb->dim * sizeof *all), *means = malloc((size_t)b->n * bb->dim * sizeof *means);
    double *per = malloc((size_t)b->n * sizeof *per);
    vr_dist_mat *clips = malloc((size_t)b->n * sizeof *clips);
    int rc = all && means && per && clips ? 0 : vr_fail("eval: out of memory");
    int64_t at = 0;
    for (int i = 0; !rc && i < b->n; i++) {
        memcpy(all + at * bb->dim, res[i].emb[j], (size_t)res[i].n_win[j] * bb->dim * sizeof *all);
        at += res[i].n_win[j];
        clip_mean(res[i].emb[j], res[i].n_win[j], bb->dim, means + (size_t)i * bb->dim);
        clips[i] = vr_dist_f64(res[i].emb[j], res[i].n_win[j], bb->dim);
    }
    vr_dist_stats gen = {0};
    vr_fad_info info;
    vr_fad_inf inf = {0};
    vr_fad_inf_opts io;
    vr_prdc prdc;
    double fad = NAN;
    char key[96];
    if (!rc) rc = vr_dist_stats_compute(&gen, vr_dist_f64(all, total, bb->dim)) || vr_fad(&bb->ref, &gen, &fad, &info);
    if (!rc) {
        vr_fad_inf_defaults(&io);
        io.seed = (uint64_t)cfg_int(b->c, "eval.seed");
        io.min_n = cfg_int(b->c, "eval.fad_inf_min_n");
        rc = vr_fad_inf_compute(&bb->ref, vr_dist_f64(all, total, bb->dim), &io, &inf);
    }
    vr_fad_inf ci = {0};
    vr_fad_inf_clips_opts co;
    vr_fad_inf_clips_defaults(&co);
    co.seed = (uint64_t)cfg_int(b->c, "eval.seed");
    int64_t ref_rows = 0;
    for (int i = 0; i < bb->n_ref; i++) ref_rows += bb->ref_clips[i].n;
    double clip_inf = NAN, clip_inf_r2 = NAN;
    if (!rc && (llround(co.min_frac * b->n) < 2 || llround(co.min_frac * bb->n_ref) < 2 ||
                co.min_frac * (double)total <= bb->dim || co.min_frac * (double)ref_rows <= bb->dim)) {
        VR_WARN("eval: %s: too few clips or windows for the clip-level FAD-inf (test %d clips / %lld windows, "
                "reference %d / %lld, d = %d; its smallest draws take %.0f %%): reported as null",
                bb->name, b->n, (long long)total, bb->n_ref, (long long)ref_rows, bb->dim, 100 * co.min_frac);
    } else if (!rc && !(rc = vr_fad_inf_clips(bb->ref_clips, bb->n_ref, clips, b->n, &co, &ci))) {
        clip_inf = ci.fad_inf, clip_inf_r2 = ci.r2;
    }
    if (!rc) rc = vr_fad_per_clip(&bb->ref, clips, b->n, per);
    int k = (int)cfg_int(b->c, "eval.prdc_k");
    prdc.precision = prdc.recall = prdc.density = prdc.coverage = NAN;
    if (!rc && (bb->n_ref <= k || b->n <= k))
        VR_WARN("eval: %s: precision/recall/density/coverage need more than eval.prdc_k = %d clips in both sets "
                "(reference %d, test %d): reported as null",
                bb->name, k, bb->n_ref, b->n);
    else if (!rc)
        rc = vr_dist_prdc(vr_dist_f64(bb->ref_means, bb->n_ref, bb->dim), vr_dist_f64(means, b->n, bb->dim), k, &prdc);
    if (!rc) {
        snprintf(key, sizeof key, "fad_%s", bb->name), put_num(metrics, key, fad);
        snprintf(key, sizeof key, "fad_inf_%s", bb->name), put_num(metrics, key, inf.fad_inf);
        snprintf(key, sizeof key, "fad_inf_r2_%s", bb->name), put_num(metrics, key, inf.r2);
        snprintf(key, sizeof key, "fad_inf_clips_%s", bb->name), put_num(metrics, key, clip_inf);
        snprintf(key, sizeof key, "fad_inf_clips_r2_%s", bb->name), put_num(metrics, key, clip_inf_r2);
        snprintf(key, sizeof key, "fad_ref_rank_%s", bb->name), put_num(metrics, key, info.rank1);
        for (int i = 0; i < b->n; i++) res[i].fad[j] = per[i];
        snprintf(key, sizeof key, "per_clip_fad_%s", bb->name), put_num(metrics, key, median_of(per, b->n));
        snprintf(key, sizeof key, "precision_%s", bb->name), put_num(metrics, key, prdc.precision);
        snprintf(key, sizeof key, "recall_%s", bb->name), put_num(metrics, key, prdc.recall);
        snprintf(key, sizeof key, "density_%s", bb->name), put_num(metrics, key, prdc.density);
        snprintf(key, sizeof key, "coverage_%s", bb->name), put_num(metrics, key, prdc.coverage);
        cJSON *p = cJSON_AddObjectToObject(points, bb->name);
        cJSON *ns = cJSON_AddArrayToObject(p, "n"), *fs = cJSON_AddArrayToObject(p, "fad");
        for (int k = 0; k < inf.npoints; k++) {
            cJSON_AddItemToArray(ns, cJSON_CreateNumber((double)inf.ns[k]));
            cJSON_AddItemToArray(fs, cJSON_CreateNumber(inf.fads[k]));
        }
    }
    if (rc) vr_fail("eval: backbone %s: %s", bb->name, vr_error());
    vr_fad_inf_free(&inf);
    vr_fad_inf_free(&ci);
    vr_dist_stats_free(&gen);
    free(all);
    free(means);
    free(per);
    free(clips);
    return rc;
}

static int argmax(const double *x, int n) {
    int k = 0;
    for (int i = 1; i < n; i++) k = x[i] > x[k] ? i : k;
    return k;
}

/* With eval.tagger: KL(reference || generated) and IS per head, attribute accuracy, FAD on the
 * tagger's clip embeddings. With eval.contrast: mean video-music and text-music cosines. Absent:
 * the metrics are null. */
static int model_metrics(bench *b, clip_result *res, cJSON *metrics, double *kl_clip) {
    static const char *const acc_heads[] = {"instrument", "pattern"};
    int rc = 0;
    for (int i = 0; i < b->n; i++) kl_clip[i] = NAN;
    if (!b->have_tagger) {
        const char *keys[] = {"fad_tagger", "kl", "is", "instrument_acc", "pattern_acc"};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) cJSON_AddNullToObject(metrics, keys[k]);
    } else {
        double kl_sum = 0, *per = malloc((size_t)b->n * sizeof *per), *emb = malloc((size_t)b->n * b->tg_dim * sizeof *emb);
        rc = per && emb ? 0 : vr_fail("eval: out of memory");
        for (int i = 0; i < b->n; i++) kl_clip[i] = 0;
        for (int h = 0; !rc && h < b->n_heads; h++) {
            int C = tagger_n_classes(&b->tg.m, h);
            double *lg = malloc((size_t)b->n * C * sizeof *lg), kl, is, is_std;
            if (!lg) {
                rc = vr_fail("eval: out of memory");
                break;
            }
            for (int i = 0; i < b->n; i++) memcpy(lg + (size_t)i * C, res[i].tg_logits[h], (size_t)C * sizeof *lg);
            rc = vr_dist_kl(vr_dist_f64(lg, b->n, C), vr_dist_f64(b->truth_logits[h], b->n, C), VR_KL_SOFTMAX, &kl, per) ||
                 vr_dist_is(vr_dist_f64(lg, b->n, C), 1, &is, &is_std, NULL);
            char key[96];
            const char *head = tagger_head_name(&b->tg.m, h);
            if (!rc) {
                kl_sum += kl;
                for (int i = 0; i < b->n; i++) kl_clip[i] += per[i] / b->n_heads;
                snprintf(key, sizeof key, "kl_%s", head), put_num(metrics, key, kl);
                snprintf(key, sizeof key, "is_%s", head), put_num(metrics, key, is);
                if (h == TAGGER_INSTRUMENT) put_num(metrics, "is", is);
            }
            for (size_t a = 0; !rc && a < sizeof acc_heads / sizeof *acc_heads; a++) {
                if (strcmp(head, acc_heads[a])) continue;
                int n = 0, ok = 0;
                for (int i = 0; i < b->n; i++) {
                    int want = b->truth_cls[(size_t)i * b->n_heads + h];
                    if (want >= 0) n++, ok += argmax(res[i].tg_logits[h], C) == want;
                }
                snprintf(key, sizeof key, "%s_acc", head), put_num(metrics, key, n ? (double)ok / n : NAN);
            }
            free(lg);
        }
        if (!rc) put_num(metrics, "kl", kl_sum / b->n_heads);
        vr_dist_stats gen = {0};
        double fad = NAN;
        for (int i = 0; !rc && i < b->n; i++) memcpy(emb + (size_t)i * b->tg_dim, res[i].tg_emb, (size_t)b->tg_dim * sizeof *emb);
        if (!rc) rc = vr_dist_stats_compute(&gen, vr_dist_f64(emb, b->n, b->tg_dim)) || vr_fad(&b->tg_ref, &gen, &fad, NULL);
        if (!rc) put_num(metrics, "fad_tagger", fad);
        if (rc) vr_fail("eval: tagger metrics: %s", vr_error());
        vr_dist_stats_free(&gen);
        free(per);
        free(emb);
    }
    if (!rc) {
        double vm = 0, tm = 0;
        for (int i = 0; i < b->n; i++) vm += res[i].align_vm / b->n, tm += res[i].align_tm / b->n;
        put_num(metrics, "align_video_music", b->have_contrast ? vm : NAN);
        put_num(metrics, "align_text_music", b->have_contrast ? tm : NAN);
    }
    return rc;
}

/* Latency from generate's DIR/timings.json (batch mode): wall seconds per 10 s of audio, in all
 * and per stage, and the real-time factor. Absent file: the metrics stay null. */
static const char *const stages[] = {"decode", "planner", "rite", "locdit", "decoder", "write"};
#define N_STAGES ((int)(sizeof stages / sizeof *stages))

static void latency_metrics(const char *audio_dir, cJSON *metrics) {
    char path[PATH_MAX], *text = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/timings.json", audio_dir);
    if (!vr_file_exists(path) || vr_read_file(path, &text, &len)) return;
    cJSON *t = cJSON_ParseWithLength(text, len), *clips = t ? cJSON_GetObjectItemCaseSensitive(t, "clips") : NULL;
    double total = 0, audio = 0, stage[N_STAGES] = {0};
    cJSON *c;
    cJSON_ArrayForEach(c, clips) {
        cJSON *s = cJSON_GetObjectItemCaseSensitive(c, "total"), *a = cJSON_GetObjectItemCaseSensitive(c, "seconds_audio");
        if (!cJSON_IsNumber(s) || !cJSON_IsNumber(a) || !(a->valuedouble > 0)) continue;
        total += s->valuedouble, audio += a->valuedouble;
        for (int k = 0; k < N_STAGES; k++) {
            cJSON *x = cJSON_GetObjectItemCaseSensitive(c, stages[k]);
            stage[k] += cJSON_IsNumber(x) ? x->valuedouble : NAN;
        }
    }
    if (audio > 0) {
        put_num(metrics, "s_per_10s", 10.0 * total / audio);
        put_num(metrics, "rtf", total / audio);
        for (int k = 0; k < N_STAGES; k++) {
            char key[64];
            snprintf(key, sizeof key, "s_per_10s_%s", stages[k]);
            put_num(metrics, key, 10.0 * stage[k] / audio);
        }
    }
    cJSON_Delete(t);
    free(text);
}

static const struct {
    const char *name, *text;
} definitions[] = {
    {"fad", "Frechet distance between Gaussians fitted (float64) to the windows' embeddings of the system's clips and of "
            "the reference set (eval.reference); matrix square root by symmetric eigendecomposition (eval/dist.h)."},
    {"fad_inf", "FAD-inf as fadtk: FAD on subsamples of n windows (with replacement) for 25 n, least-squares fit "
                "FAD = a + b/n, reported a (and r2 of the fit)."},
    {"fad_inf_clips", "FAD-inf over clips, both sets (vrobin's; eval/dist.h vr_fad_inf_clips): the clip is the independent "
                      "unit and the reference set is finite too, so random fractions a = 0.4..1 of the test clips and of "
                      "the reference clips are drawn together without replacement (6 draws per fraction), FAD between "
                      "their pooled windows, least-squares fit FAD = c + b/a, reported c: both sets' O(1/size) bias "
                      "removed (fadtk's fad_inf keeps the reference set's and the within-clip correlation's). Can come out "
                      "slightly below 0 by sampling noise (r2 of the fit as fad_inf_clips_r2)."},
    {"per_clip_fad", "median over clips of the FAD between one clip's windows and the reference statistics (fadtk "
                     "per-song)."},
    {"prdc", "precision/recall/density/coverage (Naeem et al. 2020, k = eval.prdc_k) on per-clip mean embeddings, "
             "reference clips as the real set."},
    {"beats", NULL}, /* VR_BEATS_ALIGN_DEFINITION */
    {"tempo", "tempo_acc1: estimate within 4 % of the labelled BPM; tempo_acc2: also x2, x1/2, x3, x1/3 (MIREX); "
              "tempo_mae: mean |estimate - label| in BPM. Estimate: autocorrelation of the spectral-flux envelope "
              "(data/rhythm.h)."},
    {"key", "key/mode from a magnitude chroma correlated with Krumhansl-Kessler profiles (eval/beats.h); mode_acc "
            "and key_acc against the labels."},
    {"kl", "with eval.tagger (the toolkit's audio tagger): per clip KL(reference || generated) of the softmax posteriors "
           "(audiocraft's kld with PaSST; ours per head: instrument, pattern, tempo, mode), averaged over clips (kl_<head>) "
           "and over heads (kl)."},
    {"is", "Inception score exp(E_x KL(p(y|x) || p(y))) of the tagger's instrument head (is_<head> for every head)."},
    {"instrument_acc", "does the prompt's attribute come out: the tagger's argmax on the generated audio equals the "
                       "clip's label (instrument_acc, pattern_acc; clips without such labels left out)."},
    {"fad_tagger", "FAD between the tagger's clip embeddings (penultimate layer, mean over its windows) of the system "
                   "and of the reference set."},
    {"align", "with eval.contrast (the toolkit's InfoNCE encoders): mean cosine of (video, generated music) and "
              "(caption, generated music) embeddings; check the encoders' retrieval R@k (vrobin contrast-eval) "
              "before reading them."},
    {"latency", "s_per_10s: generation wall seconds (decode, model, decoder, write) per 10 s of audio at the "
                "generation's batch size; rtf = seconds per second of audio; s_per_10s_<stage> the same per stage (decode + "
                "features, planner, rite, locdit, decoder = Griffin-Lim, write). From the generator's timings.json."},
};

static cJSON *definitions_json(void) {
    cJSON *d = cJSON_CreateObject();
    for (size_t i = 0; i < sizeof definitions / sizeof *definitions; i++)
        cJSON_AddStringToObject(d, definitions[i].name, definitions[i].text ? definitions[i].text : VR_BEATS_ALIGN_DEFINITION);
    return d;
}

static void add_path(cJSON *o, const char *name, const char *path);

static cJSON *header_json(const bench *b, double wall) {
    cJSON *h = cJSON_CreateObject();
    char machine[512], date[64];
    vr_machine_describe(machine, sizeof machine);
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    cJSON_AddStringToObject(h, "command", b->command);
    cJSON_AddStringToObject(h, "commit", VROBIN_GIT_COMMIT);
    cJSON_AddStringToObject(h, "machine", machine);
    cJSON_AddStringToObject(h, "date", date);
    cJSON_AddNumberToObject(h, "wall_s", wall);
    char *cj = cfg_to_json(b->c);
    cJSON *all = cj ? cJSON_Parse(cj) : NULL, *ev = all ? cJSON_GetObjectItemCaseSensitive(all, "eval") : NULL;
    free(cj);
    cJSON *eh = ev ? cJSON_Duplicate(ev, 1) : cJSON_CreateObject();
    /* what was scored, so tables can group rows by it (vrobin table --group eval.model) */
    if (b->model) add_path(eh, "model", b->model);
    if (b->audio) add_path(eh, "audio", b->audio);
    cJSON_AddItemToObject(h, "eval", eh);
    cJSON_Delete(all);
    return h;
}

/* An absolute path in the JSON, so `vrobin table`/`report` find the media from any folder. */
static void add_path(cJSON *o, const char *name, const char *path) {
    char *abs = path && *path ? realpath(path, NULL) : NULL;
    cJSON_AddStringToObject(o, name, abs ? abs : path ? path : "");
    free(abs);
}

/* <dir>/<system>.{json,csv,md} */
static int write_outputs(const bench *b, const char *system, cJSON *root) {
    char path[PATH_MAX];
    cJSON *metrics = cJSON_GetObjectItemCaseSensitive(root, "metrics"), *m;
    char *json = cJSON_Print(root);
    snprintf(path, sizeof path, "%s/%s.json", b->dir, system);
    int rc = json ? vr_write_file_atomic(path, json, strlen(json)) : vr_fail("eval: out of memory");
    free(json);

    /* CSV: one header row, one value row */
    size_t cap = 1 << 16, n = 0;
    char *csv = malloc(cap), *md = malloc(cap);
    if (!csv || !md) rc = vr_fail("eval: out of memory");
    if (!rc) {
        n += (size_t)snprintf(csv + n, cap - n, "system");
        cJSON_ArrayForEach(m, metrics) n += (size_t)snprintf(csv + n, cap - n, ",%s", m->string);
        n += (size_t)snprintf(csv + n, cap - n, "\n%s", system);
        cJSON_ArrayForEach(m, metrics) {
            if (cJSON_IsNumber(m)) n += (size_t)snprintf(csv + n, cap - n, ",%.6g", m->valuedouble);
            else n += (size_t)snprintf(csv + n, cap - n, ",");
        }
        n += (size_t)snprintf(csv + n, cap - n, "\n");
        snprintf(path, sizeof path, "%s/%s.csv", b->dir, system);
        rc = n < cap ? vr_write_file_atomic(path, csv, n) : vr_fail("eval: CSV row too long");
    }
    if (!rc) {
        cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "header");
        n = (size_t)snprintf(md, cap, "# %s on %s (%d clips)\n\n- command: `%s`\n- commit %s, %s, %s, %.1f s\n\n| metric | value |\n|---|---|\n",
                             system, b->name, b->n, cJSON_GetObjectItemCaseSensitive(h, "command")->valuestring,
                             cJSON_GetObjectItemCaseSensitive(h, "commit")->valuestring,
                             cJSON_GetObjectItemCaseSensitive(h, "machine")->valuestring,
                             cJSON_GetObjectItemCaseSensitive(h, "date")->valuestring,
                             cJSON_GetObjectItemCaseSensitive(h, "wall_s")->valuedouble);
        cJSON_ArrayForEach(m, metrics) {
            if (cJSON_IsNumber(m)) n += (size_t)snprintf(md + n, cap - n, "| %s | %.4g |\n", m->string, m->valuedouble);
            else n += (size_t)snprintf(md + n, cap - n, "| %s | — |\n", m->string);
        }
        n += (size_t)snprintf(md + n, cap - n, "\nDefinitions:\n\n");
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(root, "definitions"))
            n += (size_t)snprintf(md + n, cap - n, "- **%s**: %s\n", m->string, m->valuestring);
        snprintf(path, sizeof path, "%s/%s.md", b->dir, system);
        rc = n < cap ? vr_write_file_atomic(path, md, n) : vr_fail("eval: Markdown too long");
    }
    free(csv);
    free(md);
    return rc;
}

/* Score one system whose audio for clip i is audio[i] (read at offset start[i] seconds). */
static int eval_system(bench *b, const char *system, const char *kind, char **audio, const double *start,
                       const char *timings_dir, double t0) {
    clip_result *res = calloc((size_t)b->n, sizeof *res);
    if (!res) return vr_fail("eval: out of memory");
    int rc = 0;
    char label[256];
    snprintf(label, sizeof label, "eval: %s", system);
    vr_progress *pr = vr_progress_begin(label, b->n, "clips");
    for (int i = 0; !rc && i < b->n; i++) {
        const clip_truth *t = &b->clips[i];
        float *wave = NULL;
        int64_t ns = 0;
        rc = load_audio(b, audio[i], t->e->id, start ? start[i] : 0.0, t->seconds, &wave, &ns);
        if (rc) vr_fail("%s: %s", system, vr_error());
        else if ((rc = analyse_clip(b, t, wave, ns, &res[i])))
            vr_fail("%s: clip '%s' (%s): %s", system, t->e->id, audio[i], vr_error());
        free(wave);
        vr_progress_update(pr, i + 1, NULL);
    }
    vr_progress_end(pr);

    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", VR_EVAL_FORMAT);
    cJSON_AddStringToObject(root, "bench", b->name);
    cJSON_AddStringToObject(root, "system", system);
    cJSON_AddStringToObject(root, "kind", kind);
    cJSON_AddNumberToObject(root, "n_clips", b->n);
    cJSON *metrics = cJSON_CreateObject(), *points = cJSON_CreateObject();
    for (int j = 0; !rc && j < b->n_bb; j++) rc = dist_metrics(b, j, res, metrics, points);

    if (!rc) {
        /* rhythm and attributes */
        vr_beat_align *al = malloc((size_t)b->n * sizeof *al);
        double *est = malloc((size_t)b->n * sizeof *est), *ref = malloc((size_t)b->n * sizeof *ref);
        int nt = 0, mode_n = 0, mode_ok = 0, key_n = 0, key_ok = 0;
        for (int i = 0; al && est && ref && i < b->n; i++) {
            al[i] = res[i].align;
            if (isfinite(b->clips[i].tempo_bpm)) est[nt] = res[i].tempo, ref[nt++] = b->clips[i].tempo_bpm;
            if (b->clips[i].minor >= 0) mode_n++, mode_ok += res[i].key.key >= 0 && res[i].key.minor == b->clips[i].minor;
            if (b->clips[i].key >= 0 && b->clips[i].minor >= 0)
                key_n++, key_ok += res[i].key.key == b->clips[i].key && res[i].key.minor == b->clips[i].minor;
        }
        vr_beat_align_mean am;
        vr_tempo_summary ts = {0};
        rc = !al || !est || !ref ? vr_fail("eval: out of memory") : vr_beats_align_mean(al, b->n, &am);
        if (!rc && nt) rc = vr_tempo_summarize(est, ref, nt, &ts);
        if (!rc) {
            put_num(metrics, "loris_bcs", am.loris_bcs);
            put_num(metrics, "loris_bhs", am.loris_bhs);
            put_num(metrics, "loris_f1", am.loris_f1);
            put_num(metrics, "d2m_bcs", am.d2m_bcs);
            put_num(metrics, "d2m_bhs", am.d2m_bhs);
            put_num(metrics, "tempo_acc1", nt ? ts.acc1_rate : NAN);
            put_num(metrics, "tempo_acc2", nt ? ts.acc2_rate : NAN);
            put_num(metrics, "tempo_mae", nt ? ts.mean_abs_err : NAN);
            put_num(metrics, "mode_acc", mode_n ? (double)mode_ok / mode_n : NAN);
            put_num(metrics, "key_acc", key_n ? (double)key_ok / key_n : NAN);
        }
        free(al);
        free(est);
        free(ref);
    }
    double *kl_clip = malloc((size_t)b->n * sizeof *kl_clip);
    if (!rc) rc = kl_clip ? model_metrics(b, res, metrics, kl_clip) : vr_fail("eval: out of memory");
    if (!rc) {
        cJSON_AddNullToObject(metrics, "s_per_10s");
        cJSON_AddNullToObject(metrics, "rtf");
        if (timings_dir) {
            cJSON_DeleteItemFromObject(metrics, "s_per_10s");
            cJSON_DeleteItemFromObject(metrics, "rtf");
            latency_metrics(timings_dir, metrics);
            if (!cJSON_HasObjectItem(metrics, "rtf")) {
                cJSON_AddNullToObject(metrics, "s_per_10s");
                cJSON_AddNullToObject(metrics, "rtf");
            }
        }
    }
    cJSON_AddItemToObject(root, "header", header_json(b, vr_now() - t0));
    cJSON_AddItemToObject(root, "definitions", definitions_json());
    cJSON_AddItemToObject(root, "metrics", metrics);
    cJSON_AddItemToObject(root, "fad_inf_points", points);
    cJSON *clips = cJSON_AddArrayToObject(root, "clips");
    for (int i = 0; !rc && i < b->n; i++) {
        const clip_truth *t = &b->clips[i];
        const clip_result *r = &res[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", t->e->id);
        add_path(o, "audio", audio[i]);
        add_path(o, "video", t->e->video);
        cJSON_AddStringToObject(o, "text", t->e->text ? t->e->text : "");
        add_path(o, "reference", t->e->music);
        cJSON_AddNumberToObject(o, "start", t->e->start);
        cJSON_AddNumberToObject(o, "seconds", t->seconds);
        for (int j = 0; j < b->n_bb; j++) {
            char key[96];
            snprintf(key, sizeof key, "fad_%s", b->bb[j].name);
            put_num(o, key, r->fad[j]);
        }
        put_num(o, "tempo_est", r->tempo);
        put_num(o, "tempo_ref", t->tempo_bpm);
        cJSON_AddStringToObject(o, "key_est", r->key.key >= 0 ? vr_key_name(r->key.key) : "none");
        cJSON_AddStringToObject(o, "mode_est", r->key.key < 0 ? "none" : r->key.minor ? "minor" : "major");
        put_num(o, "loris_bcs", r->align.loris_bcs);
        put_num(o, "loris_bhs", r->align.loris_bhs);
        put_num(o, "video_beats", t->n_vbeats);
        if (b->have_tagger) {
            put_num(o, "kl", kl_clip[i]);
            for (int h = 0; h < b->n_heads; h++) {
                char key[96];
                snprintf(key, sizeof key, "%s_pred", tagger_head_name(&b->tg.m, h));
                cJSON_AddStringToObject(o, key, tagger_class_name(&b->tg.m, h, argmax(r->tg_logits[h], tagger_n_classes(&b->tg.m, h))));
            }
        }
        if (b->have_contrast) {
            put_num(o, "align_video_music", r->align_vm);
            put_num(o, "align_text_music", r->align_tm);
        }
        cJSON_AddItemToArray(clips, o);
    }
    if (!rc) rc = write_outputs(b, system, root);
    cJSON_Delete(root);
    for (int i = 0; i < b->n; i++) {
        for (int j = 0; j < b->n_bb; j++) free(res[i].emb[j]);
        free(res[i].tg_emb);
        for (int h = 0; h < TAGGER_MAX_HEADS; h++) free(res[i].tg_logits[h]);
    }
    free(res);
    free(kl_clip);
    return rc;
}

/* ---- the oracle rows ---- */

/* oracle_decoded: each reference soundtrack's log-mel (the shards' front end) inverted by the
 * decoder generated audio goes through (Griffin-Lim, eval.gl_iters, loudness as generate), into
 * <dir>/oracle_decoded/<id>.wav; files already there are kept. */
static int decode_references(bench *b, char **paths) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/oracle_decoded", b->dir);
    if (vr_mkdirs(dir)) return -1;
    int rc = 0, iters = (int)cfg_int(b->c, "eval.gl_iters");
    vr_progress *pr = vr_progress_begin("eval: oracle_decoded (Griffin-Lim)", b->n, "clips");
    for (int i = 0; !rc && i < b->n; i++) {
        const clip_truth *t = &b->clips[i];
        if (asprintf(&paths[i], "%s/%s.wav", dir, t->e->id) < 0) {
            paths[i] = NULL;
            rc = vr_fail("eval: out of memory");
            break;
        }
        if (vr_file_exists(paths[i])) {
            vr_progress_update(pr, i + 1, NULL);
            continue;
        }
        if (!t->e->music) {
            rc = vr_fail("clip '%s' (%s line %d) has no music: the oracle rows need the reference soundtrack", t->e->id,
                         b->test->path, t->e->line);
            break;
        }
        float *wave = NULL, *lm = NULL, *out = NULL;
        int64_t ns = 0;
        rc = load_audio(b, t->e->music, t->e->id, t->e->start, t->seconds, &wave, &ns);
        int64_t T = rc ? 0 : ns / b->mel.hop + 1;
        if (!rc && !(lm = malloc((size_t)T * b->n_mels * sizeof *lm))) rc = vr_fail("eval: out of memory");
        if (!rc) T = vr_logmel(&b->mel, wave, ns, lm);
        if (!rc) {
            tt_scope_begin();
            tt_gen *g = tt_gen_new(vr_gen_clip_seed((uint64_t)cfg_int(b->c, "eval.seed"), t->e->id));
            tt_tensor *y = vr_mel_inverse(&b->mel, tt_from_data(lm, TT_F32, TT_SHAPE(T, b->n_mels)), iters, ns, g);
            out = y ? malloc((size_t)ns * sizeof *out) : NULL;
            rc = !out || tt_to_data(tt_contiguous(y), out, (size_t)ns * sizeof *out) ? vr_fail("clip '%s': Griffin-Lim: %s", t->e->id, tt_last_error()) : 0;
            tt_gen_free(g);
            tt_scope_end();
        }
        if (!rc) rc = vr_audio_normalize_rms(out, ns, EVAL_RMS_DBFS, EVAL_PEAK_DBFS) || vr_audio_write(paths[i], out, ns, b->sr);
        free(wave);
        free(lm);
        free(out);
        vr_progress_update(pr, i + 1, NULL);
    }
    vr_progress_end(pr);
    return rc;
}

static int eval_oracles(bench *b, int force) {
    char path[PATH_MAX];
    char **paths = calloc((size_t)b->n, sizeof *paths);
    double *start = calloc((size_t)b->n, sizeof *start);
    int rc = paths && start ? 0 : vr_fail("eval: out of memory");
    snprintf(path, sizeof path, "%s/oracle.json", b->dir);
    if (!rc && (force || !vr_file_exists(path))) {
        for (int i = 0; !rc && i < b->n; i++) {
            const vr_manifest_entry *e = b->clips[i].e;
            if (!e->music) rc = vr_fail("clip '%s' (%s line %d) has no music: the oracle rows need the reference soundtrack", e->id, b->test->path, e->line);
            else paths[i] = e->music, start[i] = e->start;
        }
        if (!rc) rc = eval_system(b, "oracle", "oracle", paths, start, NULL, vr_now());
        memset(paths, 0, (size_t)b->n * sizeof *paths);
    }
    snprintf(path, sizeof path, "%s/oracle_decoded.json", b->dir);
    if (!rc && (force || !vr_file_exists(path))) {
        double t0 = vr_now();
        rc = decode_references(b, paths) || eval_system(b, "oracle_decoded", "oracle_decoded", paths, NULL, NULL, t0);
        for (int i = 0; i < b->n; i++) free(paths[i]);
    }
    free(paths);
    free(start);
    return rc;
}

/* ---- the command ---- */

static void usage(FILE *f) {
    fprintf(f,
            "usage: vrobin eval CONFIG.yaml (--model M.safetensors | --audio DIR | --oracles) [--name SYSTEM] [--force]\n"
            "                   [key=value ...]\n\n"
            "Scores one system on a benchmark (eval.manifest: test clips; eval.reference: a disjoint reference set)\n"
            "and the two oracle rows, into <eval.out_dir>/<eval.name>/<system>.{json,csv,md}.\n"
            "  --model M    generate the music with an exported model (vrobin export), batched and resumable,\n"
            "               into <out>/<system>/ (eval.steps, eval.solver, eval.precision, eval.dit_threads,\n"
            "               eval.cfg_scale, eval.seed, eval.batch)\n"
            "  --audio DIR  score DIR/<id>.wav files made by any other system\n"
            "  --name S     the system's name (default: the model file's or the folder's stem)\n"
            "  --oracles    score only the two oracle rows\n"
            "  --force      score the oracle rows again even when their JSON exists\n"
            "Every key: configs/README.md (eval.*). Metrics and definitions: eval/eval.h.\n");
}

static void stem_of(const char *path, char *out, size_t cap) {
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    const char *s = path;
    for (size_t i = 0; i < len; i++)
        if (path[i] == '/') s = path + i + 1;
    size_t n = (size_t)(path + len - s);
    const char *dot = memchr(s, '.', n);
    if (dot && dot != s) n = (size_t)(dot - s);
    snprintf(out, cap, "%.*s", (int)n, s);
}

int vr_cmd_eval(int argc, char **argv) {
    if (vr_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *config = NULL, *model = NULL, *audio = NULL, *name = NULL;
    int force = 0, oracles_only = 0, n_over = 0;
    char **over = calloc((size_t)argc + 1, sizeof *over);
    if (!over) return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "--model") || !strcmp(a, "--audio") || !strcmp(a, "--name")) && i + 1 < argc) {
            const char **dst = !strcmp(a, "--model") ? &model : !strcmp(a, "--audio") ? &audio : &name;
            *dst = argv[++i];
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--oracles")) {
            oracles_only = 1;
        } else if (a[0] == '-') {
            fprintf(stderr, "vrobin eval: unknown option '%s'\n", a);
            usage(stderr);
            free(over);
            return 2;
        } else if (!config) {
            config = a;
        } else {
            over[n_over++] = argv[i];
        }
    }
    if (!config || !!model + !!audio + oracles_only != 1) {
        fprintf(stderr, "vrobin eval: give a config and exactly one of --model, --audio or --oracles\n");
        usage(stderr);
        free(over);
        return 2;
    }
    double t0 = vr_now();
    cfg *c = cfg_load(config, vr_schema, n_over, over);
    free(over);
    if (!c) {
        fprintf(stderr, "vrobin eval: %s\n", vr_error());
        return 1;
    }
    vr_runtime_apply((int)cfg_int(c, "runtime.torch_threads"), (int)cfg_int(c, "runtime.blas_threads"));
    bench b;
    char system[256], cmd[4096];
    size_t n = 0;
    n = (size_t)snprintf(cmd, sizeof cmd, "vrobin");
    for (int i = 0; i < argc && n < sizeof cmd; i++) n += (size_t)snprintf(cmd + n, sizeof cmd - n, " %s", argv[i]);
    stem_of(model ? model : audio ? audio : "oracles", system, sizeof system);
    if (name) snprintf(system, sizeof system, "%s", name);
    int rc = bench_open(&b, c);
    snprintf(b.command, sizeof b.command, "%s", cmd);
    if (!rc && (strchr(system, '/') || !*system || !strcmp(system, "oracle") || !strcmp(system, "oracle_decoded")))
        rc = vr_fail("eval: system name '%s' must be a plain name other than oracle/oracle_decoded (use --name)", system);
    if (!rc) rc = vr_mkdirs(b.dir) || eval_oracles(&b, force);

    char gen_dir[PATH_MAX];
    snprintf(gen_dir, sizeof gen_dir, "%s", audio ? audio : "");
    b.model = model, b.audio = audio; /* the system's header names them; the oracle rows' above do not */
    if (!rc && oracles_only) {
        VR_INFO("eval: oracle rows of %s in %s (%.1f s)", b.name, b.dir, vr_now() - t0);
        bench_free(&b);
        return 0;
    }
    if (!rc && model && cfg_int(c, "eval.dit_threads") != 1 && cfg_int(c, "eval.dit_threads") != 2)
        rc = vr_fail("eval.dit_threads = %lld: expected 1 or 2", (long long)cfg_int(c, "eval.dit_threads"));
    if (!rc && model) {
        snprintf(gen_dir, sizeof gen_dir, "%s/%s", b.dir, system);
        vr_gen_opts go = {.model = model, .manifest = cfg_str(c, "eval.manifest"), .out = gen_dir,
                          .batch = (int)cfg_int(c, "eval.batch"), .steps = (int)cfg_int(c, "eval.steps"),
                          .cfg_scale = cfg_float(c, "eval.cfg_scale"), .seed = (uint64_t)cfg_int(c, "eval.seed"),
                          .solver = strcmp(cfg_str(c, "eval.solver"), "heun") ? DIT_EULER : DIT_HEUN,
                          .bf16 = !strcmp(cfg_str(c, "eval.precision"), "bf16"),
                          .dit_threads = (int)cfg_int(c, "eval.dit_threads"),
                          .gl_iters = (int)cfg_int(c, "eval.gl_iters"),
                          .max_clips = (int)cfg_int(c, "eval.max_clips")};
        vr_gen_batch_stats gs;
        rc = vr_generate_manifest(&go, &gs);
    }
    if (!rc) {
        char **paths = calloc((size_t)b.n, sizeof *paths);
        rc = paths ? 0 : vr_fail("eval: out of memory");
        for (int i = 0; !rc && i < b.n; i++)
            if (asprintf(&paths[i], "%s/%s.wav", gen_dir, b.clips[i].e->id) < 0) paths[i] = NULL, rc = vr_fail("eval: out of memory");
        if (!rc) rc = eval_system(&b, system, model ? "model" : "audio", paths, NULL, gen_dir, t0);
        for (int i = 0; paths && i < b.n; i++) free(paths[i]);
        free(paths);
    }
    if (!rc) VR_INFO("eval: %s on %s: %s/%s.{json,csv,md} (%.1f s)", system, b.name, b.dir, system, vr_now() - t0);
    else fprintf(stderr, "vrobin eval: %s\n", vr_error());
    if (b.c) bench_free(&b);
    else cfg_free(c);
    return rc ? 1 : 0;
}
