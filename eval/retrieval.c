/* retrieval.c — `vrobin retrieve`: the nearest training clip's music for every test clip. */
#include "eval/retrieval.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#include "models/contrast.h"
#include "models/tagger.h"

#define RT_MAGIC "VRRETR01"
#define RT_MAX_DIM 65536
#define RT_Z_CLIP 10.0 /* |z| cap: a dimension the training set barely varies on cannot dominate */

void vr_retrieval_caption_embed(const char *text, float out[VR_RETRIEVAL_TEXT_DIM]) {
    memset(out, 0, VR_RETRIEVAL_TEXT_DIM * sizeof *out);
    size_t n = strlen(text);
    unsigned char w0 = ' ', w1 = 0; /* the two bytes before c; the leading space pads */
    for (size_t i = 0; i <= n; i++) { /* i == n: the closing space */
        unsigned char c = i < n ? (unsigned char)text[i] : ' ';
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        if (i > 0) {
            uint32_t h = 2166136261u;
            h = (h ^ w0) * 16777619u;
            h = (h ^ w1) * 16777619u;
            h = (h ^ c) * 16777619u;
            out[h % VR_RETRIEVAL_TEXT_DIM] += 1.0f;
            w0 = w1;
        }
        w1 = c;
    }
    double ss = 0;
    for (int k = 0; k < VR_RETRIEVAL_TEXT_DIM; k++) ss += (double)out[k] * out[k];
    if (ss > 0)
        for (int k = 0; k < VR_RETRIEVAL_TEXT_DIM; k++) out[k] = (float)(out[k] / sqrt(ss));
}

/* ---- embedding one clip ---- */

typedef struct embedder {
    int contrast;           /* 1: the contrastive encoders of x */
    tagger_export x;
    int fps, size;          /* video decode settings */
    double clip_cap;        /* --clip-seconds: the length of clips without "end" */
    char key[160];          /* what the cached training embeddings depend on, besides the manifest */
    int Dv, Dt;             /* set by the first clip */
} embedder;

/* The clip's length, as `vrobin eval` measures it. */
static int clip_seconds(const embedder *em, const vr_manifest_entry *e, double *s) {
    if (e->end > e->start) {
        *s = e->end - e->start;
        return 0;
    }
    vr_media_info info;
    const char *path = e->music ? e->music : e->video;
    if (vr_media_probe(path, &info)) return vr_fail("clip '%s': %s", e->id, vr_error());
    *s = info.duration - e->start;
    if (*s > em->clip_cap) *s = em->clip_cap;
    return *s > 0 ? 0 : vr_fail("clip '%s': %s has nothing after %.2f s", e->id, path, e->start);
}

static int read_row(const tt_tensor *t, float *out, int D) {
    if (!t) return vr_fail("%s", tt_last_error());
    if (tt_numel(t) != D || tt_to_data(tt_contiguous(t), out, (size_t)D * sizeof *out))
        return vr_fail("reading an embedding: %s", tt_last_error());
    return 0;
}

/* One clip's video and text parts, malloc'd into *v [em->Dv] and *t [em->Dt]. */
static int embed_clip(embedder *em, const vr_manifest_entry *e, float **v, float **t) {
    double seconds;
    if (clip_seconds(em, e, &seconds)) return -1;
    vr_media_opts o;
    vr_media_opts_default(&o);
    o.want_video = 1;
    o.want_audio = 0;
    o.fps = em->fps;
    o.width = o.height = em->size;
    o.start = e->start;
    o.duration = seconds;
    vr_media m;
    if (vr_media_decode(e->video, &o, &m)) return vr_fail("clip '%s': %s", e->id, vr_error());
    float *feat = NULL;
    int D = 0, rc = vr_clip_video_features(&m, e->features, &feat, &D);
    int T = m.n_frames;
    vr_media_free(&m);
    if (rc) {
        free(feat);
        return vr_fail("clip '%s' (%s): %s", e->id, e->video, vr_error());
    }
    if (T < 1) rc = vr_fail("clip '%s' (%s): no video frames in %.2f-%.2f s", e->id, e->video, e->start, e->start + seconds);

    int Dv = em->contrast ? contrast_dim(&em->x.m) : 2 * D, Dt = em->contrast ? Dv : VR_RETRIEVAL_TEXT_DIM;
    if (!rc && em->Dv && Dv != em->Dv)
        rc = vr_fail("clip '%s' (%s): %d video feature dims, the clips before it have %d (a \"features\" file of "
                     "another width?)", e->id, e->video, D, em->Dv / 2);
    if (!rc && Dv > RT_MAX_DIM) rc = vr_fail("clip '%s': %d embedding dims, at most %d", e->id, Dv, RT_MAX_DIM);
    *v = rc ? NULL : calloc((size_t)Dv, sizeof **v);
    *t = rc ? NULL : calloc((size_t)Dt, sizeof **t);
    if (!rc && (!*v || !*t)) rc = vr_fail("retrieve: out of memory");
    if (!rc && em->contrast) {
        const char *text = e->text ? e->text : "";
        tt_scope_begin();
        /* a branch the export lacks stays zero (its weight must then be 0, checked at start) */
        if (contrast_has_video(&em->x.m))
            rc = read_row(contrast_embed_video(&em->x.m, tt_from_data(feat, TT_F32, TT_SHAPE(1, T, D))), *v, Dv);
        if (!rc && contrast_has_text(&em->x.m)) rc = read_row(contrast_embed_text(&em->x.m, &text, 1), *t, Dt);
        tt_scope_end();
        if (rc) vr_fail("clip '%s' (%s): contrastive embedding: %s", e->id, e->video, vr_error());
    } else if (!rc) {
        for (int k = 0; k < D; k++) {
            double s = 0, ss = 0;
            for (int f = 0; f < T; f++) s += feat[(size_t)f * D + k];
            double mu = s / T;
            for (int f = 0; f < T; f++) ss += (feat[(size_t)f * D + k] - mu) * (feat[(size_t)f * D + k] - mu);
            (*v)[k] = (float)mu;
            (*v)[D + k] = (float)sqrt(ss / T);
        }
        vr_retrieval_caption_embed(e->text ? e->text : "", *t);
    }
    for (int k = 0; !rc && k < Dv + Dt; k++)
        if (!isfinite(k < Dv ? (*v)[k] : (*t)[k - Dv])) rc = vr_fail("clip '%s' (%s): non-finite embedding", e->id, e->video);
    free(feat);
    if (rc) {
        free(*v);
        free(*t);
        *v = *t = NULL;
        return -1;
    }
    em->Dv = Dv;
    em->Dt = Dt;
    return 0;
}

/* ---- the training index (cached) ---- */

typedef struct rt_index {
    int n, Dv, Dt;
    int *entry;          /* [n] entry of the training manifest */
    float *video, *text; /* [n][Dv], [n][Dt] as embedded (built-in video: raw statistics) */
} rt_index;

static void index_free(rt_index *ix) {
    free(ix->entry);
    free(ix->video);
    free(ix->text);
    memset(ix, 0, sizeof *ix);
}

/* The cache file: magic, manifest SHA-256 (64 hex), key (160 bytes, NUL-padded), n, Dv, Dt
 * (int32), entry [n] (int32), video [n][Dv], text [n][Dt] (float32, this machine's byte order). */
static int index_save(const rt_index *ix, const char *path, const char *sha, const embedder *em) {
    vr_atomic_file f;
    if (vr_atomic_open(&f, path)) return -1;
    char key[sizeof em->key] = {0};
    snprintf(key, sizeof key, "%s", em->key);
    int32_t hdr[3] = {ix->n, ix->Dv, ix->Dt};
    int ok = fwrite(RT_MAGIC, 8, 1, f.fp) == 1 && fwrite(sha, 64, 1, f.fp) == 1 && fwrite(key, sizeof key, 1, f.fp) == 1 &&
             fwrite(hdr, sizeof hdr, 1, f.fp) == 1 && fwrite(ix->entry, sizeof(int32_t), (size_t)ix->n, f.fp) == (size_t)ix->n &&
             fwrite(ix->video, sizeof(float) * ix->Dv, (size_t)ix->n, f.fp) == (size_t)ix->n &&
             fwrite(ix->text, sizeof(float) * ix->Dt, (size_t)ix->n, f.fp) == (size_t)ix->n;
    if (!ok) {
        vr_atomic_abort(&f);
        return vr_fail("%s: write failed", path);
    }
    return vr_atomic_commit(&f);
}

/* 1: loaded; 0: absent, stale or unreadable (rebuild); never an error. */
static int index_load(rt_index *ix, const char *path, const char *sha, const embedder *em, const vr_manifest *m) {
    char *buf = NULL;
    size_t n = 0;
    if (!vr_file_exists(path) || vr_read_file(path, &buf, &n)) return 0;
    char key[sizeof em->key] = {0};
    snprintf(key, sizeof key, "%s", em->key);
    size_t head = 8 + 64 + sizeof key + 3 * sizeof(int32_t);
    int32_t hdr[3];
    int ok = n >= head && !memcmp(buf, RT_MAGIC, 8) && !memcmp(buf + 8, sha, 64) && !memcmp(buf + 72, key, sizeof key);
    if (ok) {
        memcpy(hdr, buf + 72 + sizeof key, sizeof hdr);
        ok = hdr[0] > 0 && hdr[0] <= m->n && hdr[1] > 0 && hdr[1] <= RT_MAX_DIM && hdr[2] > 0 && hdr[2] <= RT_MAX_DIM &&
             n == head + (size_t)hdr[0] * (sizeof(int32_t) + sizeof(float) * ((size_t)hdr[1] + hdr[2]));
    }
    if (ok) {
        ix->n = hdr[0], ix->Dv = hdr[1], ix->Dt = hdr[2];
        ix->entry = malloc((size_t)ix->n * sizeof *ix->entry);
        ix->video = malloc((size_t)ix->n * ix->Dv * sizeof *ix->video);
        ix->text = malloc((size_t)ix->n * ix->Dt * sizeof *ix->text);
        ok = ix->entry && ix->video && ix->text;
    }
    if (ok) {
        const char *p = buf + head;
        memcpy(ix->entry, p, (size_t)ix->n * sizeof(int32_t));
        p += (size_t)ix->n * sizeof(int32_t);
        memcpy(ix->video, p, (size_t)ix->n * ix->Dv * sizeof(float));
        p += (size_t)ix->n * ix->Dv * sizeof(float);
        memcpy(ix->text, p, (size_t)ix->n * ix->Dt * sizeof(float));
        for (int i = 0; ok && i < ix->n; i++)
            ok = ix->entry[i] >= 0 && ix->entry[i] < m->n && !m->entries[ix->entry[i]].error;
    }
    free(buf);
    if (!ok) index_free(ix);
    return ok;
}

static int index_build(rt_index *ix, embedder *em, const vr_manifest *m) {
    int rc = 0, good = m->n - m->n_bad;
    ix->entry = malloc((size_t)(good > 0 ? good : 1) * sizeof *ix->entry);
    if (!ix->entry) return vr_fail("retrieve: out of memory");
    vr_progress *pr = vr_progress_begin("retrieve: embedding the training clips", good, "clips");
    for (int i = 0; !rc && i < m->n; i++) {
        const vr_manifest_entry *e = &m->entries[i];
        if (e->error) continue;
        float *v, *t;
        if ((rc = embed_clip(em, e, &v, &t))) break;
        if (!ix->video) {
            ix->Dv = em->Dv, ix->Dt = em->Dt;
            ix->video = malloc((size_t)good * ix->Dv * sizeof *ix->video);
            ix->text = malloc((size_t)good * ix->Dt * sizeof *ix->text);
            if (!ix->video || !ix->text) rc = vr_fail("retrieve: out of memory");
        }
        if (!rc) {
            memcpy(ix->video + (size_t)ix->n * ix->Dv, v, (size_t)ix->Dv * sizeof *v);
            memcpy(ix->text + (size_t)ix->n * ix->Dt, t, (size_t)ix->Dt * sizeof *t);
            ix->entry[ix->n++] = i;
        }
        free(v);
        free(t);
        vr_progress_update(pr, ix->n, NULL);
    }
    vr_progress_end(pr);
    if (rc) vr_fail("%s: %s", m->path, vr_error());
    return rc;
}

/* Built-in video statistics are z-scored with the training set's per-dimension mean and std
 * (constant dimensions: std 1). Contrastive embeddings (unit vectors) pass as they are: mu 0, sd 1. */
static int zscore_params(const rt_index *ix, int contrast, double **mu, double **sd) {
    *mu = malloc((size_t)ix->Dv * sizeof **mu);
    *sd = malloc((size_t)ix->Dv * sizeof **sd);
    if (!*mu || !*sd) return vr_fail("retrieve: out of memory");
    for (int k = 0; k < ix->Dv; k++) {
        double s = 0, ss = 0;
        for (int i = 0; i < ix->n; i++) s += ix->video[(size_t)i * ix->Dv + k];
        double m = s / ix->n;
        for (int i = 0; i < ix->n; i++) ss += (ix->video[(size_t)i * ix->Dv + k] - m) * (ix->video[(size_t)i * ix->Dv + k] - m);
        double d = sqrt(ss / ix->n);
        (*mu)[k] = contrast ? 0 : m;
        (*sd)[k] = contrast || d < 1e-8 ? 1 : d;
    }
    return 0;
}

static float zscore(float x, double mu, double sd) {
    double z = (x - mu) / sd;
    return (float)(z > RT_Z_CLIP ? RT_Z_CLIP : z < -RT_Z_CLIP ? -RT_Z_CLIP : z);
}

/* ---- the music of a training clip, cut to a length ---- */

static int write_music(const embedder *em, const vr_manifest_entry *src, const char *test_id, double seconds, int sr,
                       const char *path) {
    const char *file = src->music ? src->music : src->video;
    double src_s;
    if (clip_seconds(em, src, &src_s)) return -1;
    vr_media_opts o;
    vr_media_opts_default(&o);
    o.want_video = 0;
    o.want_audio = 1;
    o.sample_rate = sr;
    o.start = src->start;
    o.duration = src_s;
    vr_media m;
    if (vr_media_decode(file, &o, &m))
        return vr_fail("test clip '%s': music of training clip '%s': %s", test_id, src->id, vr_error());
    int64_t n = llround(seconds * sr);
    float *out = m.n_samples > 0 && n > 0 ? malloc((size_t)n * sizeof *out) : NULL;
    int rc = 0;
    if (m.n_samples < 1 || n < 1) rc = vr_fail("test clip '%s': training clip '%s' (%s) has no audio", test_id, src->id, file);
    else if (!out) rc = vr_fail("retrieve: out of memory");
    for (int64_t i = 0; !rc && i < n; i++) out[i] = m.audio[i % m.n_samples]; /* loop a shorter segment */
    if (!rc && vr_audio_write(path, out, n, sr)) rc = vr_fail("test clip '%s': %s", test_id, vr_error());
    free(out);
    vr_media_free(&m);
    return rc;
}

/* ---- the command ---- */

static void usage(FILE *f) {
    fprintf(f,
            "usage: vrobin retrieve --train TRAIN.jsonl --manifest TEST.jsonl --out DIR [--contrast EXPORT]\n"
            "                       [--weights video=1,text=1] [--clip-seconds 10] [--sample-rate 16000]\n\n"
            "The retrieval baseline: for every test clip, the music of the training clip whose video + text\n"
            "embedding is nearest, cut to the test clip's length (a shorter one is looped), as DIR/<id>.wav;\n"
            "DIR/retrieval.json lists the choices. Files already in DIR are kept (resume).\n"
            "  --contrast E     embed with a contrastive export (vrobin export of model.kind contrast); default:\n"
            "                   built-in, weight-free (video descriptor mean/std, caption byte trigrams)\n"
            "  --weights W      weights of the video and text distances (default video=1,text=1)\n"
            "  --clip-seconds S length of clips whose manifest line has no \"end\" (default data.clip_seconds)\n"
            "  --sample-rate R  output rate in Hz (default 16000)\n"
            "Definitions: eval/retrieval.h. Score the result with: vrobin eval BENCH.yaml --audio DIR --name retrieval\n");
}

static int parse_weights(const char *s, double *wv, double *wt) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    *wv = *wt = 1;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '='), *end = NULL;
        if (!eq) return vr_fail("--weights '%s': expected video=W,text=W", s);
        *eq = 0;
        double w = strtod(eq + 1, &end);
        if (end == eq + 1 || *end || !isfinite(w) || w < 0)
            return vr_fail("--weights '%s': '%s' must be a finite number >= 0", s, eq + 1);
        if (!strcmp(tok, "video")) *wv = w;
        else if (!strcmp(tok, "text")) *wt = w;
        else return vr_fail("--weights '%s': unknown part '%s' (video or text)", s, tok);
    }
    return *wv + *wt > 0 ? 0 : vr_fail("--weights '%s': at least one weight must be > 0", s);
}

static double sq_dist(const float *a, const float *b, int D) {
    double s = 0;
    for (int k = 0; k < D; k++) s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return s;
}

typedef struct choice {
    int train;                 /* index into the training index */
    double d, d_video, d_text;
    double seconds;
} choice;

static int write_json(const char *path, const vr_manifest *train, const vr_manifest *test, const rt_index *ix,
                      const choice *ch, const char *contrast, double wv, double wt, int sr) {
    cJSON *root = cJSON_CreateObject(), *w = cJSON_CreateObject(), *clips = cJSON_CreateArray();
    cJSON_AddStringToObject(root, "format", VR_RETRIEVAL_FORMAT);
    cJSON_AddStringToObject(root, "train", train->path);
    cJSON_AddStringToObject(root, "train_sha256", train->sha256);
    cJSON_AddStringToObject(root, "manifest", test->path);
    cJSON_AddStringToObject(root, "manifest_sha256", test->sha256);
    cJSON_AddStringToObject(root, "embedding", contrast ? "contrast" : "builtin");
    if (contrast) cJSON_AddStringToObject(root, "contrast", contrast);
    else cJSON_AddNullToObject(root, "contrast");
    cJSON_AddNumberToObject(w, "video", wv);
    cJSON_AddNumberToObject(w, "text", wt);
    cJSON_AddItemToObject(root, "weights", w);
    cJSON_AddNumberToObject(root, "sample_rate", sr);
    cJSON_AddStringToObject(root, "definitions",
                            "distance = w_video * d_video + w_text * d_text (eval/retrieval.h); the chosen training clip's "
                            "music from its start, looped when shorter than the test clip");
    for (int i = 0; i < test->n; i++) {
        const vr_manifest_entry *tr = &train->entries[ix->entry[ch[i].train]];
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "id", test->entries[i].id);
        cJSON_AddStringToObject(c, "train_id", tr->id);
        cJSON_AddStringToObject(c, "train_music", tr->music ? tr->music : tr->video);
        cJSON_AddNumberToObject(c, "distance", ch[i].d);
        cJSON_AddNumberToObject(c, "distance_video", ch[i].d_video);
        cJSON_AddNumberToObject(c, "distance_text", ch[i].d_text);
        cJSON_AddNumberToObject(c, "seconds", ch[i].seconds);
        cJSON_AddItemToArray(clips, c);
    }
    cJSON_AddItemToObject(root, "clips", clips);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    int rc = text ? vr_write_file_atomic(path, text, strlen(text)) : vr_fail("retrieve: out of memory");
    free(text);
    return rc;
}

static int retrieve(const cfg *defaults, const char *train_path, const char *test_path, const char *out,
                    const char *contrast, double wv, double wt, double clip_cap, int sr) {
    embedder em = {.contrast = !!contrast, .clip_cap = clip_cap};
    vr_manifest *train = NULL, *test = NULL;
    rt_index ix = {0};
    double *mu = NULL, *sd = NULL;
    float *zq = NULL;
    choice *ch = NULL;
    char path[PATH_MAX];
    int rc = 0;

    if (!(train = vr_manifest_load(train_path)) || !(test = vr_manifest_load(test_path))) rc = -1;
    if (!rc && train->n - train->n_bad < 1) rc = vr_fail("%s: no usable training clips", train_path);
    if (!rc && test->n < 1) rc = vr_fail("%s: no clips", test_path);
    for (int i = 0; !rc && i < test->n; i++)
        if (test->entries[i].error) rc = vr_fail("%s", test->entries[i].error);
    /* every training clip's music must be there before minutes of embedding */
    for (int i = 0; !rc && i < train->n; i++) {
        const vr_manifest_entry *e = &train->entries[i];
        if (e->error) VR_WARN("retrieve: skipping %s", e->error);
        else if (!vr_file_exists(e->music ? e->music : e->video))
            rc = vr_fail("%s: training clip '%s': %s file %s is missing", train_path, e->id, e->music ? "music" : "video",
                         e->music ? e->music : e->video);
    }

    if (!rc && contrast) {
        char sha[65];
        if (tagger_export_load(&em.x, contrast, "contrast")) rc = vr_fail("--contrast %s: %s", contrast, vr_error());
        else if (wv > 0 && !contrast_has_video(&em.x.m)) rc = vr_fail("--contrast %s has no video encoder: use --weights video=0", contrast);
        else if (wt > 0 && !contrast_has_text(&em.x.m)) rc = vr_fail("--contrast %s has no text encoder: use --weights text=0", contrast);
        else if (!vr_manifest_hash(contrast, sha)) {
            em.fps = (int)cfg_int(em.x.c, "data.fps");
            em.size = (int)cfg_int(em.x.c, "data.frame_size");
            snprintf(em.key, sizeof em.key, "contrast/1 %.64s fps=%d size=%d cap=%g", sha, em.fps, em.size, clip_cap);
        } else rc = -1;
    } else if (!rc) {
        em.fps = (int)cfg_int(defaults, "data.fps");
        em.size = (int)cfg_int(defaults, "data.frame_size");
        snprintf(em.key, sizeof em.key, "builtin/1 fps=%d size=%d cap=%g", em.fps, em.size, clip_cap);
    }

    if (!rc) rc = vr_mkdirs(out);
    snprintf(path, sizeof path, "%s/train_index.bin", out);
    if (!rc && index_load(&ix, path, train->sha256, &em, train)) {
        VR_INFO("retrieve: reusing the training embeddings of %s (%d clips)", path, ix.n);
        em.Dv = ix.Dv, em.Dt = ix.Dt;
    } else if (!rc) {
        rc = index_build(&ix, &em, train) || index_save(&ix, path, train->sha256, &em);
    }
    if (!rc) rc = zscore_params(&ix, em.contrast, &mu, &sd);
    if (!rc && !(zq = malloc((size_t)(ix.n + 1) * ix.Dv * sizeof *zq))) rc = vr_fail("retrieve: out of memory");
    if (!rc && !(ch = calloc((size_t)test->n, sizeof *ch))) rc = vr_fail("retrieve: out of memory");
    /* the training statistics, z-scored once; row ix.n holds the query */
    for (int i = 0; !rc && i < ix.n; i++)
        for (int k = 0; k < ix.Dv; k++) zq[(size_t)i * ix.Dv + k] = zscore(ix.video[(size_t)i * ix.Dv + k], mu[k], sd[k]);
    double v_scale = em.contrast ? 0.5 : 0.5 / ix.Dv;

    int kept = 0;
    vr_progress *pr = rc ? NULL : vr_progress_begin("retrieve: test clips", test->n, "clips");
    for (int i = 0; !rc && i < test->n; i++) {
        const vr_manifest_entry *e = &test->entries[i];
        float *v = NULL, *t = NULL;
        rc = embed_clip(&em, e, &v, &t) || clip_seconds(&em, e, &ch[i].seconds);
        if (!rc && (em.Dv != ix.Dv || em.Dt != ix.Dt))
            rc = vr_fail("clip '%s': %d video embedding dims, the training clips have %d", e->id, em.Dv, ix.Dv);
        float *q = zq + (size_t)ix.n * ix.Dv;
        for (int k = 0; !rc && k < ix.Dv; k++) q[k] = zscore(v[k], mu[k], sd[k]);
        ch[i].d = INFINITY;
        for (int j = 0; !rc && j < ix.n; j++) {
            double dv = v_scale * sq_dist(q, zq + (size_t)j * ix.Dv, ix.Dv), dt = 0.5 * sq_dist(t, ix.text + (size_t)j * ix.Dt, ix.Dt);
            double d = wv * dv + wt * dt;
            if (d < ch[i].d) ch[i] = (choice){.train = j, .d = d, .d_video = dv, .d_text = dt, .seconds = ch[i].seconds};
        }
        free(v);
        free(t);
        snprintf(path, sizeof path, "%s/%s.wav", out, e->id);
        if (!rc && vr_file_exists(path)) kept++;
        else if (!rc) {
            char *slash = strrchr(path, '/'); /* ids may hold folders ("a/b_0") */
            *slash = 0;
            rc = vr_mkdirs(path);
            *slash = '/';
            if (!rc) rc = write_music(&em, &train->entries[ix.entry[ch[i].train]], e->id, ch[i].seconds, sr, path);
        }
        if (rc) vr_fail("%s: %s", test_path, vr_error());
        vr_progress_update(pr, i + 1, NULL);
    }
    if (pr) vr_progress_end(pr);
    snprintf(path, sizeof path, "%s/retrieval.json", out);
    if (!rc) rc = write_json(path, train, test, &ix, ch, contrast, wv, wt, sr);
    if (!rc) VR_INFO("retrieve: %d clips into %s (%d kept from before), choices in %s", test->n, out, kept, path);

    free(ch);
    free(zq);
    free(mu);
    free(sd);
    index_free(&ix);
    if (contrast) tagger_export_free(&em.x);
    vr_manifest_free(train);
    vr_manifest_free(test);
    return rc;
}

int vr_cmd_retrieve(int argc, char **argv) {
    if (vr_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *train = NULL, *test = NULL, *out = NULL, *contrast = NULL, *weights = "video=1,text=1";
    double clip_cap = -1;
    long sr = 16000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc || a[0] != '-') {
            fprintf(stderr, "vrobin retrieve: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        char *end = NULL;
        if (!strcmp(a, "--train")) train = v;
        else if (!strcmp(a, "--manifest")) test = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--contrast")) contrast = v;
        else if (!strcmp(a, "--weights")) weights = v;
        else if (!strcmp(a, "--clip-seconds") && (clip_cap = strtod(v, &end)) > 0 && isfinite(clip_cap) && !*end) continue;
        else if (!strcmp(a, "--sample-rate") && (sr = strtol(v, &end, 10)) >= 1000 && sr <= 192000 && !*end) continue;
        else {
            fprintf(stderr, "vrobin retrieve: bad option '%s %s'\n", a, v);
            usage(stderr);
            return 2;
        }
    }
    if (!train || !test || !out) {
        fprintf(stderr, "vrobin retrieve: --train, --manifest and --out are required\n");
        usage(stderr);
        return 2;
    }
    double wv, wt;
    if (parse_weights(weights, &wv, &wt)) {
        fprintf(stderr, "vrobin retrieve: %s\n", vr_error());
        return 2;
    }
    cfg *d = cfg_defaults(vr_schema, 0, NULL);
    if (!d) {
        fprintf(stderr, "vrobin retrieve: %s\n", vr_error());
        return 1;
    }
    if (clip_cap <= 0) clip_cap = cfg_float(d, "data.clip_seconds");
    vr_runtime_apply((int)cfg_int(d, "runtime.torch_threads"), (int)cfg_int(d, "runtime.blas_threads"));
    int rc = retrieve(d, train, test, out, contrast, wv, wt, clip_cap, (int)sr);
    cfg_free(d);
    if (rc) {
        fprintf(stderr, "vrobin retrieve: %s\n", vr_error());
        return 1;
    }
    return 0;
}
