/* build.c — see build.h. */
#define _GNU_SOURCE
#include "data/build.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/tt.h"
#include "data/manifest.h"
#include "data/media.h"
#include "data/mel.h"
#include "data/npy.h"
#include "data/shard.h"
#include "data/video_desc.h"

#define VR_MAX_CAPTION_BYTES 16384

/* Settings of one build, read once from the config. */
typedef struct build_opts {
    const char *manifest, *out_dir, *name, *norm_from;
    int shard_size, jobs, keep_frames, verify;
    int fps, frame_size, sample_rate, n_mels, mel_fps;
    double clip_seconds, latent_rate;
} build_opts;

/* What a worker produces for one clip; the writer consumes them in manifest order. */
typedef struct clip_result {
    int state;    /* 0 pending, 1 ok, -1 skipped */
    char *reason; /* when skipped */
    float *audio; /* [T][D] */
    float *video; /* [Tv][Dv] */
    uint8_t *frames;
    int T, D, Dv;
} clip_result;

typedef struct build_state {
    const build_opts *o;
    const vr_manifest *m;
    clip_result *results;
    int next_clip;    /* next clip a worker takes */
    int next_write;   /* next clip the writer consumes */
    int window;       /* workers stay at most this far ahead of the writer (bounds memory) */
    int stop;         /* set on a fatal error */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} build_state;

static char *dup_error(void) { return strdup(vr_error()[0] ? vr_error() : "unknown error"); }

/* Resample external per-frame features [Tf][Df] to Tv frames (nearest in time) and append them
 * after the descriptors in video[Tv][Dv]. */
static int load_external_features(const char *path, int Tv, float **feat, int *Df) {
    float *raw;
    int64_t rows, cols;
    if (vr_external_read_f32(path, &raw, &rows, &cols)) return -1;
    if (rows < 1 || cols < 1) {
        free(raw);
        return vr_fail("%s: empty feature array", path);
    }
    float *out = malloc(sizeof(float) * (size_t)Tv * (size_t)cols);
    if (!out) {
        free(raw);
        return vr_fail("out of memory");
    }
    for (int t = 0; t < Tv; t++) {
        int64_t src = (int64_t)floor(((double)t + 0.5) * (double)rows / (double)Tv);
        if (src >= rows) src = rows - 1;
        memcpy(out + (size_t)t * cols, raw + src * cols, sizeof(float) * (size_t)cols);
    }
    free(raw);
    *feat = out;
    *Df = (int)cols;
    return 0;
}

/* A `music` entry that is an array file (a VAE's latents) rather than audio. */
static int is_external_array(const char *path) {
    size_t n = path ? strlen(path) : 0;
    return (n > 4 && !strcasecmp(path + n - 4, ".npy")) || (n > 3 && !strcasecmp(path + n - 3, ".h5")) ||
           (n > 5 && !strcasecmp(path + n - 5, ".hdf5"));
}

int vr_clip_video_features(const vr_media *video, const char *features, float **out, int *Dv) {
    int Tv = video->n_frames, Df = 0;
    float *ext = NULL;
    *out = NULL;
    if (features && load_external_features(features, Tv, &ext, &Df)) return -1;
    int D = VR_VDESC_DIM + Df;
    float *desc = malloc(sizeof(float) * (size_t)Tv * VR_VDESC_DIM);
    float *feat = malloc(sizeof(float) * (size_t)Tv * (size_t)D);
    int rc = -1;
    if (!desc || !feat) {
        vr_fail("out of memory");
    } else if (!vr_video_descriptors(video->frames, Tv, video->width, video->height, desc)) {
        for (int t = 0; t < Tv; t++) {
            memcpy(feat + (size_t)t * D, desc + (size_t)t * VR_VDESC_DIM, sizeof(float) * VR_VDESC_DIM);
            if (Df) memcpy(feat + (size_t)t * D + VR_VDESC_DIM, ext + (size_t)t * Df, sizeof(float) * (size_t)Df);
        }
        rc = 0;
    }
    free(desc);
    free(ext);
    if (rc) {
        free(feat);
        return -1;
    }
    *out = feat;
    *Dv = D;
    return 0;
}

/* Everything for one clip. Returns 0 with r filled, or -1 with vr_error() = the skip reason. */
static int process_clip(const build_opts *o, const vr_manifest_entry *e, vr_mel *mel, clip_result *r) {
    if (e->error) return vr_fail("%s", e->error);
    /* a caption is a sentence or two; megabytes of text are a broken manifest, not a prompt */
    if (strlen(e->text) > VR_MAX_CAPTION_BYTES)
        return vr_fail("caption is %zu bytes, more than the %d allowed", strlen(e->text), VR_MAX_CAPTION_BYTES);
    double start = e->start > 0 ? e->start : 0, dur = o->clip_seconds;
    if (e->end >= 0 && e->end - start + 1e-6 < dur)
        return vr_fail("clip is %.2f s long, shorter than the %.2f s window", e->end - start, dur);
    int external_latent = is_external_array(e->music);

    vr_media_opts mo;
    vr_media_opts_default(&mo);
    mo.want_video = 1;
    mo.want_audio = !e->music;
    mo.fps = o->fps;
    mo.width = mo.height = o->frame_size;
    mo.sample_rate = o->sample_rate;
    mo.start = start;
    mo.duration = dur;
    vr_media video = {0}, music = {0};
    int rc = -1;
    if (vr_media_decode(e->video, &mo, &video)) goto done;
    const vr_media *audio_src = &video;
    if (e->music && !external_latent) {
        mo.want_video = 0;
        mo.want_audio = 1;
        if (vr_media_decode(e->music, &mo, &music)) goto done;
        audio_src = &music;
    }

    /* video: descriptors (+ external features) */
    if (vr_clip_video_features(&video, e->features, &r->video, &r->Dv)) goto done;
    if (o->keep_frames) {
        r->frames = video.frames;
        video.frames = NULL; /* ownership moves to the result */
    }

    /* audio latent */
    if (external_latent) {
        float *lat;
        int64_t rows, cols;
        if (vr_external_read_f32(e->music, &lat, &rows, &cols)) goto done;
        int64_t want = (int64_t)llround(dur * o->latent_rate), first = (int64_t)llround(start * o->latent_rate);
        if (rows < first + want) {
            free(lat);
            vr_fail("%s: external latent has %lld frames, the window needs %lld (at %g frames/s)", e->music,
                    (long long)rows, (long long)(first + want), o->latent_rate);
            goto done;
        }
        r->T = (int)want;
        r->D = (int)cols;
        r->audio = malloc(sizeof(float) * (size_t)want * (size_t)cols);
        if (r->audio) memcpy(r->audio, lat + first * cols, sizeof(float) * (size_t)want * (size_t)cols);
        free(lat);
        if (!r->audio) {
            vr_fail("out of memory");
            goto done;
        }
    } else {
        int64_t T = audio_src->n_samples / mel->hop;
        r->T = (int)T;
        r->D = o->n_mels;
        r->audio = malloc(sizeof(float) * (size_t)T * (size_t)o->n_mels);
        if (!r->audio) {
            vr_fail("out of memory");
            goto done;
        }
        tt_scope_begin();
        int64_t got = vr_logmel(mel, audio_src->audio, audio_src->n_samples, r->audio);
        tt_scope_end();
        if (got != T) goto done;
        /* a silent target teaches nothing and breaks per-clip normalisation downstream */
        double energy = 0;
        for (int64_t i = 0; i < audio_src->n_samples; i++) energy += (double)audio_src->audio[i] * audio_src->audio[i];
        if (energy / (double)(audio_src->n_samples ? audio_src->n_samples : 1) < 1e-10) {
            vr_fail("%s: the audio is silent", e->music ? e->music : e->video);
            goto done;
        }
    }
    rc = 0;
done:
    vr_media_free(&video);
    vr_media_free(&music);
    if (rc) {
        free(r->audio);
        free(r->video);
        free(r->frames);
        r->audio = r->video = NULL;
        r->frames = NULL;
    }
    return rc;
}

static void *worker(void *arg) {
    build_state *s = arg;
    const build_opts *o = s->o;
    vr_mel mel;
    int mel_ok = vr_mel_init(&mel, o->sample_rate, o->n_mels, o->mel_fps) == 0;
    char *mel_error = mel_ok ? NULL : dup_error();
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->stop && s->next_clip < s->m->n && s->next_clip >= s->next_write + s->window)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop || s->next_clip >= s->m->n) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        int i = s->next_clip++;
        pthread_mutex_unlock(&s->mu);

        clip_result r = {0};
        int ok = mel_ok && process_clip(o, &s->m->entries[i], &mel, &r) == 0;
        if (!ok) r.reason = mel_ok ? dup_error() : strdup(mel_error);

        pthread_mutex_lock(&s->mu);
        r.state = ok ? 1 : -1;
        s->results[i] = r;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    free(mel_error);
    if (mel_ok) vr_mel_free(&mel);
    return NULL;
}

/* Remove temp files a killed earlier build left behind ("<name>-*.h5.tmp.<pid>"). */
static void sweep_stale_temps(const char *dir, const char *name) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    size_t nl = strlen(name);
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, name, nl) == 0 && strstr(e->d_name, ".h5.tmp.")) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (unlink(path) == 0) VR_WARN("removed %s left by an interrupted build", path);
        }
    }
    closedir(d);
}

static int read_opts(const cfg *c, build_opts *o) {
    memset(o, 0, sizeof *o);
    o->manifest = cfg_str(c, "data.manifest");
    o->out_dir = cfg_str(c, "data.out_dir");
    o->name = cfg_str(c, "data.name");
    o->norm_from = cfg_str(c, "data.norm_from");
    o->shard_size = (int)cfg_int(c, "data.shard_size");
    o->jobs = (int)cfg_int(c, "data.jobs");
    o->keep_frames = cfg_bool(c, "data.keep_frames");
    o->verify = cfg_bool(c, "data.verify");
    o->fps = (int)cfg_int(c, "data.fps");
    o->frame_size = (int)cfg_int(c, "data.frame_size");
    o->sample_rate = (int)cfg_int(c, "data.sample_rate");
    o->n_mels = (int)cfg_int(c, "data.n_mels");
    o->mel_fps = (int)cfg_int(c, "data.mel_fps");
    o->clip_seconds = cfg_float(c, "data.clip_seconds");
    o->latent_rate = cfg_float(c, "data.latent_rate");
    if (o->jobs <= 0) o->jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (o->jobs < 1) o->jobs = 1;
#define NEED(cond, key, what) \
    if (!(cond)) return vr_fail("%s (%s): %s", key, cfg_origin(c, key), what)
    NEED(o->manifest[0], "data.manifest", "no manifest given");
    NEED(o->out_dir[0], "data.out_dir", "no output folder given");
    NEED(o->name[0] && !strchr(o->name, '/'), "data.name", "must be a non-empty file-name prefix");
    NEED(o->shard_size > 0, "data.shard_size", "must be > 0");
    NEED(o->fps > 0 && o->fps <= 120, "data.fps", "must be in 1..120");
    NEED(o->frame_size >= 8 && o->frame_size <= 1024, "data.frame_size", "must be in 8..1024");
    NEED(o->sample_rate >= 8000 && o->sample_rate <= 192000, "data.sample_rate", "must be in 8000..192000");
    NEED(o->n_mels > 0 && o->n_mels <= 512, "data.n_mels", "must be in 1..512");
    NEED(o->mel_fps > 0 && o->sample_rate % o->mel_fps == 0, "data.mel_fps", "must divide data.sample_rate");
    NEED(o->clip_seconds > 0 && o->clip_seconds <= 600, "data.clip_seconds", "must be in (0, 600]");
    NEED(o->latent_rate > 0, "data.latent_rate", "must be > 0");
#undef NEED
    return 0;
}

/* The builder's settings as JSON, stored in every shard (attribute builder_config). */
static char *opts_json(const build_opts *o) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "manifest", o->manifest);
    cJSON_AddNumberToObject(j, "fps", o->fps);
    cJSON_AddNumberToObject(j, "frame_size", o->frame_size);
    cJSON_AddNumberToObject(j, "sample_rate", o->sample_rate);
    cJSON_AddNumberToObject(j, "n_mels", o->n_mels);
    cJSON_AddNumberToObject(j, "mel_fps", o->mel_fps);
    cJSON_AddNumberToObject(j, "clip_seconds", o->clip_seconds);
    cJSON_AddNumberToObject(j, "latent_rate", o->latent_rate);
    cJSON_AddBoolToObject(j, "keep_frames", o->keep_frames);
    cJSON_AddStringToObject(j, "norm_from", o->norm_from);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

typedef struct shard_out {
    char path[4096];
    vr_shard_writer *w;
    int n;
} shard_out;

int vr_data_build(const cfg *c, vr_build_result *res) {
    memset(res, 0, sizeof *res);
    build_opts o;
    if (read_opts(c, &o)) return vr_context("data build");
    double t0 = vr_now();
    vr_manifest *m = vr_manifest_load(o.manifest);
    if (!m) return vr_context("data build");
    if (vr_mkdirs(o.out_dir)) {
        vr_manifest_free(m);
        return vr_context("data build");
    }
    sweep_stale_temps(o.out_dir, o.name);
    /* libtorch and OpenBLAS one thread each: the parallelism is over clips */
    vr_runtime_apply(1, 1);

    int rc = -1, n_shards = 0, cap_shards = 0, T = 0, D = 0, Dv = 0, have_latent_kind = 0, ext_kind = 0;
    shard_out *shards = NULL;
    char *cfg_text = opts_json(&o);
    vr_mel_stats stats = {0};
    cJSON *skipped = cJSON_CreateArray();
    build_state s = {.o = &o, .m = m, .window = 4 * o.jobs};
    s.results = calloc((size_t)(m->n ? m->n : 1), sizeof *s.results);
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    pthread_t *threads = calloc((size_t)o.jobs, sizeof *threads);
    int n_threads = 0;
    if (!s.results || !threads || !cfg_text) {
        vr_fail("out of memory");
        goto done;
    }
    VR_INFO("data build: %d clips from %s -> %s/%s-*.h5 (%d jobs)", m->n, o.manifest, o.out_dir, o.name, o.jobs);
    for (int i = 0; i < o.jobs; i++)
        if (pthread_create(&threads[n_threads], NULL, worker, &s) == 0) n_threads++;
    if (n_threads == 0) {
        vr_fail("cannot start worker threads");
        goto done;
    }

    vr_progress *bar = vr_progress_begin("data build", m->n, "clips");
    for (int i = 0; i < m->n; i++) {
        pthread_mutex_lock(&s.mu);
        while (s.results[i].state == 0) pthread_cond_wait(&s.cv, &s.mu);
        clip_result r = s.results[i];
        memset(&s.results[i], 0, sizeof s.results[i]);
        s.results[i].state = 2; /* consumed */
        pthread_mutex_unlock(&s.mu);
        const vr_manifest_entry *e = &m->entries[i];

        if (r.state == 1) {
            /* the first good clip fixes the shapes; later clips must match them */
            if (!have_latent_kind) {
                have_latent_kind = 1;
                T = r.T;
                D = r.D;
                Dv = r.Dv;
                ext_kind = is_external_array(e->music);
                if (vr_mel_stats_init(&stats, D)) goto fatal;
            } else if (r.T != T || r.D != D || r.Dv != Dv) {
                r.state = -1;
                if (asprintf(&r.reason, "audio latent [%d, %d] / video features of dim %d differ from the first "
                             "clip's [%d, %d] / %d", r.T, r.D, r.Dv, T, D, Dv) < 0)
                    r.reason = NULL;
            }
        }
        if (r.state == 1) {
            shard_out *cur = n_shards ? &shards[n_shards - 1] : NULL;
            if (!cur || cur->n >= o.shard_size) {
                if (n_shards == cap_shards) {
                    cap_shards = cap_shards ? 2 * cap_shards : 8;
                    shard_out *bigger = realloc(shards, sizeof *shards * (size_t)cap_shards);
                    if (!bigger) {
                        vr_fail("out of memory");
                        goto fatal;
                    }
                    shards = bigger;
                }
                cur = &shards[n_shards];
                memset(cur, 0, sizeof *cur);
                snprintf(cur->path, sizeof cur->path, "%s/%s-%05d.h5", o.out_dir, o.name, n_shards);
                const char **names = malloc(sizeof(char *) * (size_t)Dv);
                char(*ext_names)[32] = Dv > VR_VDESC_DIM ? malloc(32 * (size_t)(Dv - VR_VDESC_DIM)) : NULL;
                for (int d = 0; names && d < Dv; d++) {
                    if (d < VR_VDESC_DIM) {
                        names[d] = vr_video_descriptor_name(d);
                    } else if (ext_names) {
                        snprintf(ext_names[d - VR_VDESC_DIM], 32, "ext_%d", d - VR_VDESC_DIM);
                        names[d] = ext_names[d - VR_VDESC_DIM];
                    }
                }
                vr_shard_spec spec = {.T = T, .D = D, .Tv = (int)llround(o.clip_seconds * o.fps), .Dv = Dv,
                                      .frame_h = o.keep_frames ? o.frame_size : 0,
                                      .frame_w = o.keep_frames ? o.frame_size : 0,
                                      .audio_rate = ext_kind ? o.latent_rate : (double)o.mel_fps,
                                      .video_fps = o.fps, .sample_rate = o.sample_rate,
                                      .latent_kind = ext_kind ? "external" : "logmel", .normalised = 0,
                                      .manifest_sha256 = m->sha256, .builder_config = cfg_text,
                                      .video_feat_names = names};
                cur->w = names ? vr_shard_create(cur->path, &spec) : NULL;
                free(names);
                free(ext_names);
                if (!cur->w) goto fatal;
                n_shards++;
            }
            vr_shard_clip clip = {.id = e->id, .text = e->text, .labels_json = e->labels_json,
                                  .audio = r.audio, .video = r.video, .frames = r.frames};
            if (vr_shard_append(cur->w, &clip) || vr_mel_stats_add(&stats, r.audio, r.T)) goto fatal;
            cur->n++;
            res->n_ok++;
        } else {
            res->n_skipped++;
            const char *why = r.reason ? r.reason : "unknown error";
            VR_WARN("skipped clip '%s' (%s:%d): %s", e->id ? e->id : "?", m->path, e->line, why);
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "id", e->id ? e->id : "");
            cJSON_AddNumberToObject(j, "line", e->line);
            cJSON_AddStringToObject(j, "reason", why);
            cJSON_AddItemToArray(skipped, j);
        }
        free(r.reason);
        free(r.audio);
        free(r.video);
        free(r.frames);
        pthread_mutex_lock(&s.mu);
        s.next_write = i + 1;
        pthread_cond_broadcast(&s.cv);
        pthread_mutex_unlock(&s.mu);
        vr_progress_update(bar, i + 1, NULL);
        continue;
    fatal:
        vr_context("data build: clip '%s' (%s:%d)", e->id ? e->id : "?", m->path, e->line);
        free(r.reason);
        free(r.audio);
        free(r.video);
        free(r.frames);
        vr_progress_end(bar);
        goto done;
    }
    vr_progress_end(bar);

    if (res->n_ok == 0) {
        vr_fail("data build: no usable clip in %s (%d skipped; see the warnings above)", o.manifest, res->n_skipped);
        goto done;
    }
    /* normalisation: this build's statistics, or the train shard's */
    if (o.norm_from[0]) {
        vr_shard *ref = vr_shard_open(o.norm_from);
        if (!ref) {
            vr_context("data.norm_from (%s)", cfg_origin(c, "data.norm_from"));
            goto done;
        }
        if (vr_shard_get_info(ref)->D != D) {
            vr_fail("data.norm_from: %s has latent dim %d, this build %d", o.norm_from, vr_shard_get_info(ref)->D, D);
            vr_shard_close(ref);
            goto done;
        }
        int set = vr_mel_stats_set(&stats, vr_shard_norm_mean(ref), vr_shard_norm_std(ref));
        vr_shard_close(ref);
        if (set) goto done;
    } else if (vr_mel_stats_finish(&stats)) {
        goto done;
    }
    for (int k = 0; k < n_shards; k++) {
        vr_shard_writer *w = shards[k].w;
        shards[k].w = NULL;
        if (vr_shard_finish(w, stats.mean, stats.std)) goto done;
        if (o.verify) {
            int bad = vr_shard_verify(shards[k].path, NULL, NULL);
            if (bad != 0) {
                if (bad > 0) vr_fail("%s: %d clips fail verification right after writing", shards[k].path, bad);
                unlink(shards[k].path);
                goto done;
            }
        }
    }
    res->n_shards = n_shards;
    rc = 0;

done:
    pthread_mutex_lock(&s.mu);
    s.stop = 1;
    pthread_cond_broadcast(&s.cv);
    pthread_mutex_unlock(&s.mu);
    for (int i = 0; i < n_threads; i++) pthread_join(threads[i], NULL);
    if (rc != 0) {
        /* nothing half-written: unfinished shards are aborted, finished ones of this build removed */
        for (int k = 0; k < n_shards; k++) {
            if (shards[k].w) vr_shard_abort(shards[k].w);
            else unlink(shards[k].path);
        }
    }
    for (int i = 0; s.results && i < m->n; i++) {
        free(s.results[i].reason);
        free(s.results[i].audio);
        free(s.results[i].video);
        free(s.results[i].frames);
    }
    res->n_clips = m->n;
    res->seconds = vr_now() - t0;
    if (rc == 0) {
        cJSON *rep = cJSON_CreateObject();
        cJSON_AddStringToObject(rep, "manifest", o.manifest);
        cJSON_AddStringToObject(rep, "manifest_sha256", m->sha256);
        cJSON_AddNumberToObject(rep, "n_clips", m->n);
        cJSON_AddNumberToObject(rep, "n_ok", res->n_ok);
        cJSON_AddNumberToObject(rep, "n_skipped", res->n_skipped);
        cJSON_AddNumberToObject(rep, "seconds", res->seconds);
        cJSON_AddNumberToObject(rep, "clips_per_second", res->seconds > 0 ? m->n / res->seconds : 0);
        cJSON *sh = cJSON_AddArrayToObject(rep, "shards");
        for (int k = 0; k < n_shards; k++) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "path", shards[k].path);
            cJSON_AddNumberToObject(j, "n_clips", shards[k].n);
            cJSON_AddItemToArray(sh, j);
        }
        cJSON_AddItemToObject(rep, "skipped", skipped);
        skipped = NULL;
        cJSON_AddItemToObject(rep, "config", cJSON_Parse(cfg_text));
        char *text = cJSON_Print(rep);
        cJSON_Delete(rep);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s_report.json", o.out_dir, o.name);
        if (!text || vr_write_file_atomic(path, text, strlen(text))) rc = -1;
        else
            VR_INFO("data build: %d clips in %d shards, %d skipped, %.1f s (%.1f clips/s); report %s", res->n_ok,
                    n_shards, res->n_skipped, res->seconds, m->n / (res->seconds > 0 ? res->seconds : 1), path);
        free(text);
    }
    cJSON_Delete(skipped);
    vr_mel_stats_free(&stats);
    free(shards);
    free(threads);
    free(s.results);
    free(cfg_text);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    vr_manifest_free(m);
    return rc;
}
