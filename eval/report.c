/* report.c — `vrobin report`: a self-contained HTML listening report for one benchmark's results
 * (see table.h): report.html + assets/ (muxed videos, reference audio, spectrogram PNGs). */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

#include "core/cli.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "data/media.h"
#include "data/mel.h"
#include "eval/table.h"

#define REPORT_MELS 64
#define REPORT_FPS 50        /* mel frames per second: one spectrogram column each */
#define REPORT_RANGE 11.5    /* nats shown below the reference's maximum (50 dB of power) */
#define REPORT_VIDEO_W 320   /* width of re-encoded video windows */
#define WHOLE_VIDEO_TOL 0.25 /* s: a clip this close to its video's length is the whole video */

/* ---------------------------------------------------------------- spectrogram PNG */

/* magma-like colour map: 0 dark, 1 light */
static void colour_map(double v, uint8_t *rgb) {
    static const double stops[5][3] = {{0, 0, 4}, {80, 18, 123}, {182, 54, 121}, {251, 136, 97}, {252, 253, 191}};
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    double x = v * 4;
    int i = x >= 4 ? 3 : (int)x;
    double f = x - i;
    for (int k = 0; k < 3; k++) rgb[k] = (uint8_t)lround(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]));
}

/* RGB24 [h][w][3] to a PNG file through libavcodec's PNG encoder, atomically. */
static int write_png(const char *path, const uint8_t *rgb, int w, int h) {
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    AVCodecContext *cc = codec ? avcodec_alloc_context3(codec) : NULL;
    AVFrame *fr = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int rc = cc && fr && pkt ? 0 : vr_fail("%s: no PNG encoder in libavcodec", path);
    if (!rc) {
        cc->width = w;
        cc->height = h;
        cc->pix_fmt = AV_PIX_FMT_RGB24;
        cc->time_base = (AVRational){1, 1};
        fr->format = AV_PIX_FMT_RGB24;
        fr->width = w;
        fr->height = h;
        if (avcodec_open2(cc, codec, NULL) < 0 || av_frame_get_buffer(fr, 0) < 0) rc = vr_fail("%s: cannot set up the PNG encoder", path);
    }
    for (int y = 0; !rc && y < h; y++) memcpy(fr->data[0] + (size_t)y * fr->linesize[0], rgb + (size_t)y * w * 3, (size_t)w * 3);
    if (!rc && (avcodec_send_frame(cc, fr) < 0 || avcodec_send_frame(cc, NULL) < 0 || avcodec_receive_packet(cc, pkt) < 0))
        rc = vr_fail("%s: PNG encoding failed", path);
    if (!rc) rc = vr_write_file_atomic(path, pkt->data, (size_t)pkt->size);
    av_packet_free(&pkt);
    av_frame_free(&fr);
    avcodec_free_context(&cc);
    return rc;
}

/* Log-mel of wave; *vmax = its maximum. out: [T][REPORT_MELS], malloc'd. Returns T or -1. */
static int64_t logmel(const vr_mel *m, const float *wave, int64_t n, float **out, double *vmax) {
    int64_t T = n / m->hop;
    *out = malloc((size_t)(T > 0 ? T : 1) * REPORT_MELS * sizeof **out);
    if (!*out) return vr_fail("out of memory");
    if (vr_logmel(m, wave, n, *out) != T) return -1;
    *vmax = -INFINITY;
    for (int64_t i = 0; i < T * REPORT_MELS; i++) *vmax = fmax(*vmax, (*out)[i]);
    return T;
}

/* One column per frame, two rows per band, low bands at the bottom, scale [vmax - RANGE, vmax]. */
static int spectrogram_png(const char *path, const float *lm, int64_t T, double vmax) {
    int w = (int)T, h = 2 * REPORT_MELS;
    uint8_t *img = malloc((size_t)w * h * 3);
    if (!img) return vr_fail("out of memory");
    for (int y = 0; y < h; y++) {
        int band = REPORT_MELS - 1 - y / 2;
        for (int x = 0; x < w; x++)
            colour_map((lm[(size_t)x * REPORT_MELS + band] - (vmax - REPORT_RANGE)) / REPORT_RANGE, img + ((size_t)y * w + x) * 3);
    }
    int rc = write_png(path, img, w, h);
    free(img);
    return rc;
}

/* ---------------------------------------------------------------- clips */

typedef struct clip_info {
    const char *id, *audio, *video, *text, *reference;
    double start, seconds, audio_start;
} clip_info;

static int clip_read(const vr_eval_run *r, int i, clip_info *c) {
    const cJSON *o = cJSON_GetArrayItem(r->clips, i);
    memset(c, 0, sizeof *c);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (!cJSON_IsString(id)) return vr_fail("%s: clips[%d]: \"id\" missing or not a string", r->path, i);
    c->id = id->valuestring;
    static const char *const strs[] = {"audio", "video", "text", "reference"};
    const char **dst[] = {&c->audio, &c->video, &c->text, &c->reference};
    for (int k = 0; k < 4; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, strs[k]);
        if (!cJSON_IsString(v)) return vr_fail("%s: clip %s: \"%s\" missing or not a string", r->path, c->id, strs[k]);
        *dst[k] = v->valuestring;
    }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "start"), *sec = cJSON_GetObjectItemCaseSensitive(o, "seconds"),
                *ast = cJSON_GetObjectItemCaseSensitive(o, "audio_start");
    if (!cJSON_IsNumber(st) || !(st->valuedouble >= 0) || !cJSON_IsNumber(sec) || !(sec->valuedouble > 0))
        return vr_fail("%s: clip %s: expected \"start\" >= 0 and \"seconds\" > 0", r->path, c->id);
    c->start = st->valuedouble;
    c->seconds = sec->valuedouble;
    /* where the system's audio starts in its file: stated, or the clip's start when the audio is
     * the reference soundtrack itself (the oracle), else 0 (generated files hold just the clip) */
    c->audio_start = cJSON_IsNumber(ast) ? ast->valuedouble : !strcmp(c->audio, c->reference) ? c->start : 0.0;
    return 0;
}

/* A path from a result: as written, else relative to the result's folder. */
static void resolve(const vr_eval_run *r, const char *p, char *out, size_t n) {
    snprintf(out, n, "%s", p);
    if (p[0] == '/' || access(p, F_OK) == 0) return;
    char *copy = strdup(r->path);
    if (copy) {
        char alt[PATH_MAX];
        snprintf(alt, sizeof alt, "%s/%s", dirname(copy), p);
        if (access(alt, F_OK) == 0) snprintf(out, n, "%s", alt);
    }
    free(copy);
}

static int decode_audio(const char *path, double start, double seconds, int sr, float **wave, int64_t *n) {
    vr_media_opts o;
    vr_media m;
    vr_media_opts_default(&o);
    o.want_video = 0;
    o.want_audio = 1;
    o.sample_rate = sr;
    o.start = start;
    o.duration = seconds;
    if (vr_media_decode(path, &o, &m)) return -1;
    *wave = m.audio;
    *n = m.n_samples;
    m.audio = NULL;
    vr_media_free(&m);
    return 0;
}

/* The clip's window of its video with `wave` as the sound: the picture copied as is when the clip
 * is the whole video, else the window decoded and re-encoded REPORT_VIDEO_W wide. */
static int clip_video(const char *video, const clip_info *c, const float *wave, int64_t n, int sr, const char *out) {
    vr_media_info info;
    if (vr_media_probe(video, &info)) return -1;
    if (!info.has_video) return vr_fail("%s: no video stream", video);
    if (c->start < 1e-3 && fabs(info.duration - c->seconds) <= WHOLE_VIDEO_TOL) {
        if (vr_mux_audio_into_video(video, wave, n, sr, out) == 0) return 0;
        VR_INFO("report: %s: cannot copy the picture into mp4 (%s); re-encoding it", video, vr_error());
    }
    int w = info.width < REPORT_VIDEO_W ? info.width : REPORT_VIDEO_W;
    w -= w % 2;
    int h = info.width > 0 ? (int)lround((double)w * info.height / info.width) : w;
    h -= h % 2;
    int fps = info.video_fps > 0 ? (int)lround(info.video_fps) : 24;
    fps = fps < 1 ? 1 : fps > 30 ? 30 : fps;
    if (w < 2 || h < 2) return vr_fail("%s: frame size %dx%d too small to show", video, info.width, info.height);
    vr_media_opts o;
    vr_media m;
    vr_media_opts_default(&o);
    o.want_audio = 0;
    o.fps = fps;
    o.width = w;
    o.height = h;
    o.start = c->start;
    o.duration = c->seconds;
    if (vr_media_decode(video, &o, &m)) return -1;
    vr_video_writer *vw = vr_video_writer_open(out, w, h, fps, sr);
    int rc = vw ? 0 : -1;
    for (int f = 0; !rc && f < m.n_frames; f++) rc = vr_video_writer_frame(vw, m.frames + (size_t)f * w * h * 3);
    if (!rc) rc = vr_video_writer_audio(vw, wave, n);
    if (vw) {
        if (rc) vr_video_writer_abort(vw);
        else rc = vr_video_writer_close(vw);
    }
    vr_media_free(&m);
    return rc;
}

/* ---------------------------------------------------------------- HTML */

static void html(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void safe_name(const char *s, char *out, size_t n) {
    size_t k = 0;
    for (; *s && k + 1 < n; s++)
        out[k++] = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ? *s : '_';
    out[k] = 0;
}

static const char *arrow(int better) { return better < 0 ? " ↓" : better > 0 ? " ↑" : ""; }

static void table_head(FILE *f, const vr_table *t) {
    fprintf(f, "<table class=\"metrics\"><thead><tr><th>system</th><th>kind</th><th>clips</th>");
    for (int c = 0; c < t->n_cols; c++) {
        fprintf(f, "<th title=\"");
        html(f, t->cols[c].key);
        fprintf(f, "\">");
        html(f, t->cols[c].label);
        fprintf(f, "%s</th>", arrow(t->cols[c].better));
    }
    fprintf(f, "</tr></thead><tbody>\n");
}

static void table_row(FILE *f, const vr_table *t, int r, int link) {
    char buf[64];
    const vr_eval_run *run = &t->set->runs[r];
    fprintf(f, "<tr%s><td>", vr_eval_is_oracle(run) ? " class=\"oracle\"" : "");
    if (link) fprintf(f, "<a href=\"#sys%d\">", r);
    html(f, run->system);
    fprintf(f, "%s</td><td>%s</td><td>%d</td>", link ? "</a>" : "", run->kind, run->n_clips);
    for (int c = 0; c < t->n_cols; c++) {
        int best = vr_table_is_best(t, r, c);
        fprintf(f, "<td>%s%s%s</td>", best ? "<b>" : "", vr_table_cell(t, r, c, 0, buf), best ? "</b>" : "");
    }
    fprintf(f, "</tr>\n");
}

/* The clip's own numbers: every field but the identifying ones. */
static void clip_numbers(FILE *f, const cJSON *o) {
    static const char *const skip[] = {"id", "audio", "video", "text", "reference", "start", "seconds", "audio_start"};
    fprintf(f, "<table class=\"clipm\">");
    const cJSON *v;
    cJSON_ArrayForEach(v, o) {
        int s = 0;
        for (size_t k = 0; k < sizeof skip / sizeof *skip && !s; k++) s = !strcmp(v->string, skip[k]);
        if (s) continue;
        fprintf(f, "<tr><td>");
        html(f, v->string);
        fprintf(f, "</td><td>");
        if (cJSON_IsNumber(v)) fprintf(f, "%.4g", v->valuedouble);
        else if (cJSON_IsString(v)) html(f, v->valuestring);
        else if (cJSON_IsNull(v)) fprintf(f, "—");
        else if (cJSON_IsBool(v)) fprintf(f, cJSON_IsTrue(v) ? "true" : "false");
        fprintf(f, "</td></tr>");
    }
    fprintf(f, "</table>");
}

static const char CSS[] =
    "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;color:#222;background:#fff}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}h3{font-size:14px;margin:4px 0}"
    "table.metrics{border-collapse:collapse;font-size:13px;margin:8px 0}"
    "table.metrics th,table.metrics td{border:1px solid #ccc;padding:3px 7px;text-align:right}"
    "table.metrics th:first-child,table.metrics td:first-child{text-align:left}"
    "tr.oracle td{color:#666;background:#f4f4f4}"
    ".clips{display:flex;flex-wrap:wrap;gap:16px}"
    ".clip{border:1px solid #ddd;border-radius:6px;padding:10px;width:680px}"
    ".media{display:flex;gap:10px;align-items:flex-start}"
    ".spec img{width:340px;height:96px;image-rendering:pixelated;display:block;margin-bottom:4px}"
    ".spec span{font-size:11px;color:#555}"
    "table.clipm{font-size:11px;margin-top:6px}table.clipm td{padding:0 8px 0 0}"
    "p.prompt{font-style:italic;font-size:12px;margin:2px 0 6px}"
    "code{font-size:11px}.defs{font-size:12px;color:#333}";

typedef struct ref_asset {
    char *key;        /* reference path + start: one asset set per distinct reference window */
    char wav[256], png[256];
    double vmax;      /* the spectrogram scale of every system's version of this clip */
} ref_asset;

/* The reference window of clip c (decoded once per distinct window). NULL when c has none. */
static ref_asset *reference_asset(ref_asset *refs, int *n_refs, const vr_eval_run *r, const clip_info *c, const vr_mel *m,
                                  const char *outdir, int sr, int *rc) {
    if (!*c->reference) return NULL;
    char key[PATH_MAX + 64];
    snprintf(key, sizeof key, "%s@%.6f+%.6f", c->reference, c->start, c->seconds);
    for (int i = 0; i < *n_refs; i++)
        if (!strcmp(refs[i].key, key)) return &refs[i];
    ref_asset *a = &refs[*n_refs];
    memset(a, 0, sizeof *a);
    char name[160], path[PATH_MAX], ref[PATH_MAX];
    safe_name(c->id, name, sizeof name);
    snprintf(a->wav, sizeof a->wav, "assets/ref/r%d_%s.wav", *n_refs, name);
    snprintf(a->png, sizeof a->png, "assets/ref/r%d_%s.png", *n_refs, name);
    resolve(r, c->reference, ref, sizeof ref);
    float *wave = NULL, *lm = NULL;
    int64_t n = 0, T = -1;
    *rc = decode_audio(ref, c->start, c->seconds, sr, &wave, &n);
    if (!*rc) {
        snprintf(path, sizeof path, "%s/%s", outdir, a->wav);
        *rc = vr_audio_write(path, wave, n, sr);
    }
    if (!*rc) *rc = (T = logmel(m, wave, n, &lm, &a->vmax)) < 0 ? -1 : 0;
    if (!*rc) {
        snprintf(path, sizeof path, "%s/%s", outdir, a->png);
        *rc = spectrogram_png(path, lm, T, a->vmax);
    }
    free(wave);
    free(lm);
    if (*rc) {
        vr_context("reference of clip %s (%s)", c->id, ref);
        return NULL;
    }
    if (!(a->key = strdup(key))) {
        *rc = vr_fail("out of memory");
        return NULL;
    }
    (*n_refs)++;
    return a;
}

/* Assets and HTML of one clip of system r. */
static int report_clip(FILE *f, const vr_table *t, int r, int i, ref_asset *refs, int *n_refs, const vr_mel *m,
                       const char *outdir, const char *sysdir, int sr) {
    const vr_eval_run *run = &t->set->runs[r];
    clip_info c;
    if (clip_read(run, i, &c)) return -1;
    int rc = 0;
    ref_asset *ref = reference_asset(refs, n_refs, run, &c, m, outdir, sr, &rc);
    if (rc) return vr_context("%s", run->system);
    char name[200], mp4[512], png[512], path[PATH_MAX], audio[PATH_MAX], video[PATH_MAX];
    safe_name(c.id, name, sizeof name);
    snprintf(mp4, sizeof mp4, "%s/c%d_%s.mp4", sysdir, i, name);
    snprintf(png, sizeof png, "%s/c%d_%s.png", sysdir, i, name);
    resolve(run, c.audio, audio, sizeof audio);
    resolve(run, c.video, video, sizeof video);
    float *wave = NULL, *lm = NULL;
    int64_t n = 0, T = -1;
    double vmax = 0;
    rc = decode_audio(audio, c.audio_start, c.seconds, sr, &wave, &n);
    if (!rc) {
        snprintf(path, sizeof path, "%s/%s", outdir, mp4);
        rc = clip_video(video, &c, wave, n, sr, path);
    }
    if (!rc) rc = (T = logmel(m, wave, n, &lm, &vmax)) < 0 ? -1 : 0;
    if (!rc) {
        snprintf(path, sizeof path, "%s/%s", outdir, png);
        rc = spectrogram_png(path, lm, T, ref ? ref->vmax : vmax);
    }
    free(wave);
    free(lm);
    if (rc) return vr_context("%s, clip %s (audio %s, video %s)", run->system, c.id, audio, video);

    fprintf(f, "<div class=\"clip\"><h3>");
    html(f, c.id);
    fprintf(f, " <span style=\"font-weight:normal;color:#666\">(%.1f s from %.1f s)</span></h3><p class=\"prompt\">", c.seconds, c.start);
    html(f, *c.text ? c.text : "(no prompt)");
    fprintf(f, "</p><div class=\"media\"><video controls preload=\"metadata\" width=\"300\" src=\"%s\"></video>"
               "<div class=\"spec\"><img src=\"%s\" alt=\"log-mel of the system's audio\"><span>",
            mp4, png);
    html(f, run->system);
    fprintf(f, " (log-mel, 0–%d Hz)</span>", sr / 2);
    if (ref)
        fprintf(f, "<img src=\"%s\" alt=\"log-mel of the reference\"><span>reference</span><br>"
                   "<audio controls preload=\"none\" src=\"%s\"></audio>",
                ref->png, ref->wav);
    else
        fprintf(f, "<span>no reference audio</span>");
    fprintf(f, "</div></div>");
    clip_numbers(f, cJSON_GetArrayItem(run->clips, i));
    fprintf(f, "</div>\n");
    return 0;
}

int vr_report_write(const vr_table *t, const vr_report_opts *o) {
    const vr_eval_set *s = t->set;
    int sr = o->sample_rate > 0 ? o->sample_rate : 16000, max = o->max_clips > 0 ? o->max_clips : 4;
    if (sr % REPORT_FPS) return vr_fail("report: sample rate %d Hz must be a multiple of %d", sr, REPORT_FPS);
    char *copy = strdup(o->out), outdir[PATH_MAX], path[PATH_MAX];
    if (!copy) return vr_fail("out of memory");
    snprintf(outdir, sizeof outdir, "%s", dirname(copy));
    free(copy);
    snprintf(path, sizeof path, "%s/assets/ref", outdir);
    if (vr_mkdirs(path)) return -1;
    vr_mel m;
    if (vr_mel_init(&m, sr, REPORT_MELS, REPORT_FPS)) return -1;
    int total = 0, rc = 0, done = 0, n_refs = 0;
    for (int r = 0; r < s->n; r++) {
        int k = cJSON_GetArraySize(s->runs[r].clips);
        if (!s->runs[r].clips || k == 0) VR_WARN("report: %s has no clips; only its table row is shown", s->runs[r].path);
        total += k < max ? k : max;
    }
    ref_asset *refs = calloc((size_t)total + 1, sizeof *refs);
    vr_atomic_file af = {0};
    if (!refs) rc = vr_fail("out of memory");
    if (!rc) rc = vr_atomic_open(&af, o->out);
    FILE *f = rc ? NULL : af.fp;
    char now[64];
    time_t tnow = time(NULL);
    struct tm tm;
    strftime(now, sizeof now, "%Y-%m-%d %H:%M UTC", gmtime_r(&tnow, &tm));
    if (!rc) {
        fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>vrobin report: ");
        html(f, s->runs[0].bench);
        fprintf(f, "</title><style>%s</style></head><body>\n<h1>Listening report: benchmark ", CSS);
        html(f, s->runs[0].bench);
        fprintf(f, "</h1>\n<p>%d systems, up to %d clips each; audio at %d Hz; made %s. Each clip: the video with the "
                   "system's music, the reference soundtrack, and log-mel spectrograms of both on one colour scale "
                   "(the reference's loudest bin and %.0f dB below).</p>\n",
                s->n, max, sr, now, REPORT_RANGE * 10 / log(10));
        table_head(f, t);
        for (int r = 0; r < s->n; r++) table_row(f, t, r, 1);
        fprintf(f, "</tbody></table>\n<div class=\"defs\"><p>↓ / ↑: lower / higher is better; bold: the best "
                   "system (oracle rows excluded); —: not measured.</p><ul>");
        for (int c = 0; c < t->n_cols; c++) {
            const char *d = vr_table_definition(t, c);
            int first = 1;
            for (int p = 0; p < c && first; p++) first = !(d && vr_table_definition(t, p) == d);
            if (!d || !first) continue;
            fprintf(f, "<li>");
            for (int q = c, k = 0; q < t->n_cols; q++)
                if (vr_table_definition(t, q) == d) {
                    fprintf(f, "%s<b>", k++ ? ", " : "");
                    html(f, t->cols[q].label);
                    fprintf(f, "</b>");
                }
            fprintf(f, ": ");
            html(f, d);
            fprintf(f, "</li>");
        }
        fprintf(f, "</ul></div>\n");
    }
    vr_progress *pr = rc ? NULL : vr_progress_begin("report", total, "clips");
    for (int r = 0; !rc && r < s->n; r++) {
        const vr_eval_run *run = &s->runs[r];
        char sysdir[300], name[200];
        safe_name(run->system, name, sizeof name);
        snprintf(sysdir, sizeof sysdir, "assets/s%d_%s", r, name);
        snprintf(path, sizeof path, "%s/%s", outdir, sysdir);
        rc = vr_mkdirs(path);
        fprintf(f, "<h2 id=\"sys%d\">", r);
        html(f, run->system);
        fprintf(f, " <span style=\"font-weight:normal;font-size:13px;color:#666\">(%s)</span></h2>\n<p><code>", run->kind);
        const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(run->header, "command");
        const cJSON *commit = cJSON_GetObjectItemCaseSensitive(run->header, "commit");
        const cJSON *date = cJSON_GetObjectItemCaseSensitive(run->header, "date");
        html(f, cmd->valuestring);
        fprintf(f, "</code><br><small>commit ");
        html(f, commit->valuestring);
        fprintf(f, ", ");
        html(f, date->valuestring);
        fprintf(f, ", %.1f s</small></p>\n", cJSON_GetObjectItemCaseSensitive(run->header, "wall_s")->valuedouble);
        table_head(f, t);
        table_row(f, t, r, 0);
        fprintf(f, "</tbody></table>\n<div class=\"clips\">\n");
        int k = cJSON_GetArraySize(run->clips);
        for (int i = 0; !rc && i < k && i < max; i++) {
            rc = report_clip(f, t, r, i, refs, &n_refs, &m, outdir, sysdir, sr);
            vr_progress_update(pr, ++done, run->system);
        }
        fprintf(f, "</div>\n");
    }
    if (pr) vr_progress_end(pr);
    if (!rc) {
        fprintf(f, "</body></html>\n");
        rc = vr_atomic_commit(&af);
    } else if (af.fp) {
        vr_atomic_abort(&af);
    }
    for (int i = 0; i < n_refs; i++) free(refs[i].key);
    free(refs);
    vr_mel_free(&m);
    return rc;
}

/* ---------------------------------------------------------------- command */

static void report_usage(FILE *out) {
    fprintf(out,
            "usage: vrobin report (BENCH_DIR | SYSTEM.json ...) [-o OUT/report.html] [--max-clips N]\n"
            "                     [--preset main|ablation|latency | --columns a,b,...] [--sample-rate HZ]\n\n"
            "A self-contained HTML listening report of `vrobin eval` results (one benchmark): the table, and per\n"
            "system its first N clips (default 4) as a video carrying the system's music, the reference\n"
            "soundtrack, log-mel spectrograms of both and the clip's numbers. Writes report.html and assets/\n"
            "beside it (default BENCH_DIR/report/report.html); links are relative, so the folder can be zipped.\n"
            "Columns as `vrobin table` (default --preset main); audio at 16000 Hz unless --sample-rate.\n");
}

static int parse_pos(const char *s, int *v) {
    char *end;
    long x = strtol(s, &end, 10);
    if (*end || end == s || x < 1 || x > 1000000) return -1;
    *v = (int)x;
    return 0;
}

int vr_cmd_report(int argc, char **argv) {
    if (vr_wants_help(argc, argv)) {
        report_usage(stdout);
        return 0;
    }
    const char *out = NULL, *preset = NULL, *columns = NULL, *bad = NULL;
    vr_report_opts o = {NULL, 4, 16000};
    char **paths = calloc((size_t)argc, sizeof *paths);
    int n_paths = 0;
    if (!paths) return 1;
    for (int i = 1; i < argc && !bad; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "-o") && has) out = argv[++i];
        else if (!strcmp(a, "--preset") && has) preset = argv[++i];
        else if (!strcmp(a, "--columns") && has) columns = argv[++i];
        else if (!strcmp(a, "--max-clips") && has) bad = parse_pos(argv[++i], &o.max_clips) ? "--max-clips needs a positive integer" : NULL;
        else if (!strcmp(a, "--sample-rate") && has) bad = parse_pos(argv[++i], &o.sample_rate) ? "--sample-rate needs a positive integer" : NULL;
        else if (a[0] == '-' && a[1]) bad = "unknown option or missing value";
        else paths[n_paths++] = argv[i];
        if (bad && !strcmp(bad, "unknown option or missing value")) fprintf(stderr, "vrobin report: %s '%s'\n", bad, a);
        else if (bad) fprintf(stderr, "vrobin report: %s\n", bad);
    }
    if (bad || !n_paths) {
        if (!bad) fprintf(stderr, "vrobin report: no results given\n");
        report_usage(stderr);
        free(paths);
        return 2;
    }
    char *def = NULL;
    if (!out) {
        struct stat st;
        char *copy = strdup(paths[0]);
        const char *base = copy && stat(paths[0], &st) == 0 && !S_ISDIR(st.st_mode) ? dirname(copy) : paths[0];
        if (asprintf(&def, "%s/report/report.html", base) < 0) def = NULL;
        free(copy);
        out = def;
    }
    o.out = out;
    vr_eval_set set;
    vr_table t;
    int rc = out ? vr_eval_set_load(&set, paths, n_paths) : vr_fail("out of memory");
    if (!rc) {
        rc = vr_table_build(&t, &set, preset || columns ? preset : "main", columns, NULL);
        if (!rc) rc = vr_report_write(&t, &o);
        if (!rc) printf("%s\n", out);
        vr_table_free(&t);
        vr_eval_set_free(&set);
    }
    if (rc) fprintf(stderr, "vrobin report: %s\n", vr_error());
    free(def);
    free(paths);
    return rc ? 1 : 0;
}
