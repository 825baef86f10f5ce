/* media_read.c — the reading half of media.h: probe a file and decode a time window into fixed-rate
 * small RGB frames and mono float audio, with libavformat/libavcodec/libswscale/libswresample.
 *
 * Time: t = 0 is the first video frame (the video stream's start_time; for audio-only files the
 * container's), so files whose timestamps start late (MPEG-PS/TS, offset streams) and audio that
 * starts a little before the picture (encoder priming) still put the first picture at frame 0.
 * Audio and video share that origin, so their sync is kept.
 * Video: output frame i shows the latest source frame with pts <= start + i/fps; only the frames
 * actually shown are scaled. Audio: decoded samples are laid on the timeline from the first decoded
 * frame's pts, re-anchored where the timestamps jump (lost packets), and copied into
 * [start, start + duration).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "core/error.h"
#include "core/log.h"
#include "data/media.h"

#define FPS_MIN 1.0
#define FPS_MAX 240.0
#define RATE_MIN 1000
#define RATE_MAX 768000
#define AUDIO_PAD_TOL 0.1      /* seconds of missing audio that are zero-padded (DESIGN §4) */
#define AUDIO_RESYNC 0.01      /* audio timestamps further than this from the sample count re-anchor it */
#define VIDEO_PAD_TOL 2        /* missing output frames that repeat a neighbour */
#define WINDOW_END_TOL 0.1     /* a window may overrun the stated duration by this much */
#define SEEK_MARGIN 0.5        /* seek this far before the window: decoder pre-roll */
#define TS_EPS 1e-4            /* a frame at t <= slot + TS_EPS is shown in that slot */
#define MAX_EAGAIN 1000        /* bound on retries of a demuxer that says "try again" */
#define MAX_WINDOW 86400.0     /* seconds; longer windows are a mistake (and would not fit in memory) */

void vr_media_opts_default(vr_media_opts *o) {
    memset(o, 0, sizeof *o);
    o->want_video = 1;
    o->want_audio = 1;
    o->fps = 10;
    o->width = 64;
    o->height = 64;
    o->sample_rate = 16000;
    o->start = 0;
    o->duration = 0; /* the whole file */
}

static const char *averr(int e, char *buf, size_t n) {
    av_strerror(e, buf, n);
    return buf;
}

/* FFmpeg prints per-packet warnings (and errors we report ourselves) to stderr; unless someone
 * chose a level, keep it to fatal ones, or everything under VROBIN_LOG=debug. */
static void quiet_ffmpeg_once(void) {
    if (av_log_get_level() == AV_LOG_INFO && vr_log_get_level() > VR_LOG_DEBUG) av_log_set_level(AV_LOG_FATAL);
}
static pthread_once_t g_log_once = PTHREAD_ONCE_INIT;

/* ---------------------------------------------------------------------------------------------- */
/* opening and probing */

typedef struct reader {
    const char *path;
    AVFormatContext *fmt;
    int vi, ai;         /* chosen stream indices, -1 if none */
    double origin;      /* seconds: t = pts*tb - origin */
    vr_media_info info;
} reader;

/* The average frame rate, or 0 when the container does not say. (r_frame_rate is no substitute:
 * for variable-rate WebM from browsers it is the 1 kHz timestamp clock.) */
static double stream_fps(const AVStream *st) {
    AVRational r = st->avg_frame_rate;
    return (r.num > 0 && r.den > 0) ? av_q2d(r) : 0.0;
}

static void copy_name(char *dst, size_t n, const char *src) { snprintf(dst, n, "%s", src ? src : "?"); }

static int open_reader(reader *r, const char *path) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    memset(r, 0, sizeof *r);
    r->path = path;
    r->vi = r->ai = -1;
    pthread_once(&g_log_once, quiet_ffmpeg_once);

    struct stat sb;
    if (stat(path, &sb) != 0) return vr_fail("%s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return vr_fail("%s: is a directory, not a media file", path);
    /* devices and pipes can be endless (/dev/urandom probes as some format and never ends) */
    if (!S_ISREG(sb.st_mode)) return vr_fail("%s: not a regular file", path);
    if (sb.st_size == 0) return vr_fail("%s: empty file (0 bytes)", path);

    int e = avformat_open_input(&r->fmt, path, NULL, NULL);
    if (e < 0) {
        r->fmt = NULL;
        if (e == AVERROR_INVALIDDATA) return vr_fail("%s: not a media file (%s)", path, averr(e, eb, sizeof eb));
        if (e == AVERROR_EOF) return vr_fail("%s: truncated, or not a media file (%s)", path, averr(e, eb, sizeof eb));
        return vr_fail("%s: cannot open (%s)", path, averr(e, eb, sizeof eb));
    }
    if ((e = avformat_find_stream_info(r->fmt, NULL)) < 0)
        return vr_fail("%s: not a media file (%s)", path, averr(e, eb, sizeof eb));

    AVFormatContext *f = r->fmt;
    int vi = av_find_best_stream(f, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    int ai = av_find_best_stream(f, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    /* cover art in an mp3/flac/m4a is a one-picture "video" stream, not a video */
    if (vi >= 0 && (f->streams[vi]->disposition & AV_DISPOSITION_ATTACHED_PIC)) vi = -1;
    if (vi < 0 && ai < 0)
        return vr_fail("%s: holds no audio or video stream (format '%s'; empty?)", path, f->iformat->name);
    r->vi = vi;
    r->ai = ai;
    double fmt_start = f->start_time != AV_NOPTS_VALUE ? (double)f->start_time / AV_TIME_BASE : 0.0;
    r->origin = fmt_start;
    if (vi >= 0 && f->streams[vi]->start_time != AV_NOPTS_VALUE)
        r->origin = f->streams[vi]->start_time * av_q2d(f->streams[vi]->time_base);

    vr_media_info *in = &r->info;
    copy_name(in->format, sizeof in->format, f->iformat->name);
    double len = 0;
    if (f->duration != AV_NOPTS_VALUE && f->duration > 0)
        len = (double)f->duration / AV_TIME_BASE;
    else
        for (unsigned i = 0; i < f->nb_streams; i++) { /* the longest stream */
            const AVStream *st = f->streams[i];
            if (st->duration != AV_NOPTS_VALUE && st->duration > 0) len = fmax(len, st->duration * av_q2d(st->time_base));
        }
    if (len > 0) in->duration = fmax(0, len - (r->origin - fmt_start)); /* from t = 0 to the end */
    if (vi >= 0) {
        const AVStream *st = f->streams[vi];
        in->has_video = 1;
        in->video_fps = stream_fps(st);
        in->width = st->codecpar->width;
        in->height = st->codecpar->height;
        copy_name(in->video_codec, sizeof in->video_codec, avcodec_get_name(st->codecpar->codec_id));
    }
    if (ai >= 0) {
        const AVStream *st = f->streams[ai];
        in->has_audio = 1;
        in->sample_rate = st->codecpar->sample_rate;
        in->channels = st->codecpar->ch_layout.nb_channels;
        copy_name(in->audio_codec, sizeof in->audio_codec, avcodec_get_name(st->codecpar->codec_id));
    }
    return 0;
}

static void close_reader(reader *r) { avformat_close_input(&r->fmt); }

int vr_media_probe(const char *path, vr_media_info *info) {
    reader r;
    int rc = open_reader(&r, path);
    if (rc == 0) *info = r.info;
    close_reader(&r);
    return rc;
}

/* ---------------------------------------------------------------------------------------------- */
/* decoding state */

typedef struct vstate {
    AVCodecContext *dec;
    AVStream *st;
    AVFrame *held;          /* the latest decoded frame not yet known to be superseded */
    double held_t;
    int have_held;
    struct SwsContext *sws;
    int sws_w, sws_h, sws_fmt, sws_cs, sws_range; /* the source the context was set up for */
    int n, k;               /* output slots; next slot to decide */
    int lead;               /* slots before the first decoded frame */
    int held_slot;          /* the slot `held` was last scaled into, or -1 */
    double slot0, fps, src_dt;
    int n_decoded;          /* frames decoded, from first_t to held_t: the measured rate */
    double first_t;
    uint8_t *frames;
    int w, h;
} vstate;

typedef struct astate {
    AVCodecContext *dec;
    AVStream *st;
    SwrContext *swr;
    AVChannelLayout in_layout;
    int in_rate, in_fmt;
    int64_t n;               /* output samples in the window */
    int64_t pos;             /* window index of the next resampled sample; unset until have_pos */
    int have_pos;
    int64_t filled;          /* samples written inside the window */
    double start;
    int rate;
    float *out, *buf;
    int buf_cap;
} astate;

static int open_decoder(reader *r, int si, AVCodecContext **out) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    AVStream *st = r->fmt->streams[si];
    const char *kind = st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO ? "video" : "audio";
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec)
        return vr_fail("%s: no decoder for %s codec '%s'", r->path, kind, avcodec_get_name(st->codecpar->codec_id));
    AVCodecContext *c = avcodec_alloc_context3(codec);
    if (!c) return vr_fail("%s: out of memory", r->path);
    *out = c;
    int e = avcodec_parameters_to_context(c, st->codecpar);
    if (e < 0) return vr_fail("%s: %s decoder setup: %s", r->path, kind, averr(e, eb, sizeof eb));
    c->pkt_timebase = st->time_base;
    c->thread_count = 1; /* the dataset builder parallelises over clips */
    if ((e = avcodec_open2(c, codec, NULL)) < 0)
        return vr_fail("%s: cannot open %s decoder '%s': %s", r->path, kind, codec->name, averr(e, eb, sizeof eb));
    return 0;
}

/* Seconds on the media timeline of a decoded frame, or NAN when it carries no timestamp. */
static double frame_time(const reader *r, const AVStream *st, const AVFrame *f) {
    int64_t ts = f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) return NAN;
    return ts * av_q2d(st->time_base) - r->origin;
}

/* ---- video ---- */

static int scale_into(reader *r, vstate *v, const AVFrame *f, uint8_t *dst) {
    /* area averaging when shrinking. swscale's fast YUV->RGB path is up to 2 levels off (white is
     * 253); SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT would make it exact for 13 % more decode time. */
    int down = f->width >= v->w && f->height >= v->h;
    int flags = down ? SWS_AREA : SWS_BILINEAR;
    v->sws = sws_getCachedContext(v->sws, f->width, f->height, f->format, v->w, v->h, AV_PIX_FMT_RGB24, flags, NULL,
                                  NULL, NULL);
    if (!v->sws) {
        const char *fmt = av_get_pix_fmt_name(f->format);
        return vr_fail("%s: cannot convert video frames (%dx%d %s)", r->path, f->width, f->height, fmt ? fmt : "?");
    }
    /* honour the stream's YUV matrix and range (BT.709 HD, full-range JPEG); a new source size or
     * format means a new context, which starts from the defaults again */
    if (f->width != v->sws_w || f->height != v->sws_h || f->format != v->sws_fmt || (int)f->colorspace != v->sws_cs ||
        (int)f->color_range != v->sws_range) {
        int *inv, *tab, src_range, dst_range, bri, con, sat;
        if (sws_getColorspaceDetails(v->sws, &inv, &src_range, &tab, &dst_range, &bri, &con, &sat) >= 0) {
            if (f->color_range == AVCOL_RANGE_JPEG) src_range = 1;
            else if (f->color_range == AVCOL_RANGE_MPEG) src_range = 0;
            sws_setColorspaceDetails(v->sws, sws_getCoefficients(f->colorspace), src_range, tab, dst_range, bri, con,
                                     sat);
        }
        v->sws_w = f->width;
        v->sws_h = f->height;
        v->sws_fmt = f->format;
        v->sws_cs = f->colorspace;
        v->sws_range = f->color_range;
    }
    uint8_t *dst_data[4] = {dst, NULL, NULL, NULL};
    int dst_stride[4] = {3 * v->w, 0, 0, 0};
    if (sws_scale(v->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst_data, dst_stride) != v->h)
        return vr_fail("%s: video frame conversion failed", r->path);
    return 0;
}

static double slot_time(const vstate *v, int k) { return v->slot0 + k / v->fps; }

/* Show the held frame in slot k (scaling it once, copying for repeats). */
static int emit_held(reader *r, vstate *v, int k) {
    size_t fb = (size_t)v->w * v->h * 3;
    uint8_t *dst = v->frames + (size_t)k * fb;
    if (v->held_slot >= 0) memcpy(dst, v->frames + (size_t)v->held_slot * fb, fb);
    else if (scale_into(r, v, v->held, dst) < 0) return -1;
    v->held_slot = k;
    return 0;
}

/* A new frame at time t decides every slot before t: they show the previously held frame. */
static int on_video_frame(reader *r, vstate *v, AVFrame *f) {
    double t = frame_time(r, v->st, f);
    if (isnan(t)) t = v->have_held ? v->held_t + v->src_dt : v->slot0;
    if (v->have_held && t <= v->held_t) t = v->held_t + 1e-6; /* keep the timeline monotonic */
    while (v->k < v->n && t > slot_time(v, v->k) + TS_EPS) {
        if (!v->have_held) v->lead++;
        else if (emit_held(r, v, v->k) < 0) return -1;
        v->k++;
    }
    if (!v->n_decoded++) v->first_t = t;
    av_frame_unref(v->held);
    av_frame_move_ref(v->held, f);
    v->held_t = t;
    v->have_held = 1;
    v->held_slot = -1;
    return 0;
}

/* End of stream: the last frame stays on screen for one source frame interval. A stream that
 * did not state its rate is judged by the rate it was decoded at. */
static int finish_video(reader *r, vstate *v) {
    if (r->info.video_fps <= 0 && v->n_decoded >= 10 && v->held_t > v->first_t) {
        double fps = (v->n_decoded - 1) / (v->held_t - v->first_t);
        if (fps < FPS_MIN || fps > FPS_MAX)
            return vr_fail("%s: video frame rate %.4g fps (measured) is outside %g-%g fps", r->path, fps, FPS_MIN,
                           FPS_MAX);
        v->src_dt = 1 / fps;
    }
    if (v->have_held)
        while (v->k < v->n && slot_time(v, v->k) < v->held_t + v->src_dt - TS_EPS) {
            if (emit_held(r, v, v->k) < 0) return -1;
            v->k++;
        }
    return 0;
}

/* ---- audio ---- */

static int setup_swr(reader *r, astate *a, const AVFrame *f) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    AVChannelLayout in = {0};
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) av_channel_layout_default(&in, f->ch_layout.nb_channels);
    else if (av_channel_layout_copy(&in, &f->ch_layout) < 0) return vr_fail("%s: out of memory", r->path);
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    swr_free(&a->swr);
    int e = swr_alloc_set_opts2(&a->swr, &mono, AV_SAMPLE_FMT_FLT, a->rate, &in, f->format, f->sample_rate, 0, NULL);
    if (e >= 0) e = av_opt_set_double(a->swr, "rematrix_maxval", 1.0, 0); /* downmix averages, no clipping */
    if (e >= 0) e = swr_init(a->swr);
    av_channel_layout_uninit(&a->in_layout);
    a->in_layout = in;
    a->in_rate = f->sample_rate;
    a->in_fmt = f->format;
    if (e < 0)
        return vr_fail("%s: cannot resample audio (%d ch, %d Hz, %s): %s", r->path, f->ch_layout.nb_channels,
                       f->sample_rate, av_get_sample_fmt_name(f->format), averr(e, eb, sizeof eb));
    return 0;
}

/* Place n resampled samples at the current window position. */
static void place_samples(astate *a, const float *s, int n) {
    int64_t p0 = a->pos, p1 = a->pos + n;
    int64_t lo = p0 > 0 ? p0 : 0, hi = p1 < a->n ? p1 : a->n;
    if (hi > lo) {
        memcpy(a->out + lo, s + (lo - p0), (size_t)(hi - lo) * sizeof(float));
        a->filled += hi - lo;
    }
    a->pos = p1;
}

static int resample(reader *r, astate *a, const AVFrame *f) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    int in_n = f ? f->nb_samples : 0;
    int cap = swr_get_out_samples(a->swr, in_n);
    if (cap <= 0) return 0;
    if (cap > a->buf_cap) {
        float *nb = realloc(a->buf, (size_t)cap * sizeof(float));
        if (!nb) return vr_fail("%s: out of memory", r->path);
        a->buf = nb;
        a->buf_cap = cap;
    }
    uint8_t *outp[1] = {(uint8_t *)a->buf};
    int got = swr_convert(a->swr, outp, cap, f ? (const uint8_t **)f->extended_data : NULL, in_n);
    if (got < 0) return vr_fail("%s: audio resampling failed: %s", r->path, averr(got, eb, sizeof eb));
    place_samples(a, a->buf, got);
    return 0;
}

static int on_audio_frame(reader *r, astate *a, const AVFrame *f) {
    if (f->nb_samples <= 0) return 0;
    if (!a->swr || f->sample_rate != a->in_rate || f->format != a->in_fmt ||
        f->ch_layout.nb_channels != a->in_layout.nb_channels) {
        if (f->sample_rate < RATE_MIN || f->sample_rate > RATE_MAX)
            return vr_fail("%s: audio sample rate %d Hz is outside %d-%d Hz", r->path, f->sample_rate, RATE_MIN,
                           RATE_MAX);
        if (setup_swr(r, a, f) < 0) return -1;
    }
    /* The first frame anchors the audio on the timeline; later frames follow on, unless their
     * timestamps jump (packets lost to damage, a timestamp discontinuity): then the gap stays
     * silent, or the overlap is overwritten, so the audio stays in sync with the video. */
    double t = frame_time(r, a->st, f);
    if (!a->have_pos || !isnan(t)) {
        if (isnan(t)) t = a->start;
        int64_t want = llround((t - a->start) * a->rate) - swr_get_delay(a->swr, a->rate);
        if (!a->have_pos || llabs(want - a->pos) > AUDIO_RESYNC * a->rate) a->pos = want;
        a->have_pos = 1;
    }
    return resample(r, a, f);
}

/* ---------------------------------------------------------------------------------------------- */
/* the decode loop */

typedef struct decode_ctx {
    reader *r;
    vstate *v;
    astate *a;
    AVFrame *frame;
    int decode_errors;
    char read_error[AV_ERROR_MAX_STRING_SIZE]; /* why reading stopped before the end, or "" */
} decode_ctx;

/* Consume every frame a decoder has ready. */
static int drain(decode_ctx *c, AVCodecContext *dec, int video) {
    for (;;) {
        int e = avcodec_receive_frame(dec, c->frame);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return 0;
        if (e < 0) {
            c->decode_errors++;
            return 0;
        }
        int rc = video ? on_video_frame(c->r, c->v, c->frame) : on_audio_frame(c->r, c->a, c->frame);
        av_frame_unref(c->frame);
        if (rc < 0) return -1;
    }
}

/* Feed one packet (NULL: flush) to the video or audio decoder and consume what it returns. */
static int feed(decode_ctx *c, int video, const AVPacket *pkt) {
    AVCodecContext *dec = video ? c->v->dec : c->a->dec;
    int e = avcodec_send_packet(dec, pkt);
    if (e == AVERROR(EAGAIN)) { /* the decoder wants its output taken first */
        if (drain(c, dec, video) < 0) return -1;
        e = avcodec_send_packet(dec, pkt);
    }
    if (e < 0 && e != AVERROR_EOF) c->decode_errors++; /* a broken packet: skip it, as ffmpeg does */
    return drain(c, dec, video);
}

static int video_done(const vstate *v) { return !v || v->k >= v->n; }
static int audio_done(const astate *a) { return !a || a->pos >= a->n; }

static int run_decode(decode_ctx *c) {
    AVPacket *pkt = av_packet_alloc();
    if (!pkt) return vr_fail("%s: out of memory", c->r->path);
    int rc = 0, eagain = 0;
    while (!(video_done(c->v) && audio_done(c->a))) {
        int e = av_read_frame(c->r->fmt, pkt);
        if (e == AVERROR(EAGAIN) && ++eagain < MAX_EAGAIN) continue;
        if (e < 0) {
            /* end of file, or a read error in a damaged file: keep what was decoded */
            if (e != AVERROR_EOF) averr(e, c->read_error, sizeof c->read_error);
            break;
        }
        eagain = 0;
        if (c->v && pkt->stream_index == c->v->st->index) rc = feed(c, 1, pkt);
        else if (c->a && pkt->stream_index == c->a->st->index) rc = feed(c, 0, pkt);
        av_packet_unref(pkt);
        if (rc < 0) break;
    }
    av_packet_free(&pkt);
    if (rc < 0) return -1;
    /* drain what the decoders hold back (B-frame reordering, resampler delay) */
    if (c->v && !video_done(c->v) && feed(c, 1, NULL) < 0) return -1;
    if (c->a && !audio_done(c->a)) {
        if (feed(c, 0, NULL) < 0) return -1;
        if (c->a->swr && resample(c->r, c->a, NULL) < 0) return -1;
    }
    if (c->v && finish_video(c->r, c->v) < 0) return -1;
    return 0;
}

static void free_vstate(vstate *v) {
    avcodec_free_context(&v->dec);
    av_frame_free(&v->held);
    sws_freeContext(v->sws);
}

static void free_astate(astate *a) {
    avcodec_free_context(&a->dec);
    swr_free(&a->swr);
    av_channel_layout_uninit(&a->in_layout);
    free(a->buf);
}

/* ---------------------------------------------------------------------------------------------- */

static int check_opts(const char *path, const vr_media_opts *o) {
    if (!o->want_video && !o->want_audio) return vr_fail("%s: neither video nor audio requested", path);
    if (o->want_video && (o->fps < FPS_MIN || o->fps > FPS_MAX))
        return vr_fail("%s: output frame rate %d fps is outside %g-%g", path, o->fps, FPS_MIN, FPS_MAX);
    if (o->want_video && (o->width < 1 || o->height < 1 || o->width > 8192 || o->height > 8192))
        return vr_fail("%s: output frame size %dx%d is outside 1x1-8192x8192", path, o->width, o->height);
    if (o->want_audio && (o->sample_rate < RATE_MIN || o->sample_rate > RATE_MAX))
        return vr_fail("%s: output sample rate %d Hz is outside %d-%d Hz", path, o->sample_rate, RATE_MIN, RATE_MAX);
    if (!(o->start >= 0) || !isfinite(o->start) || !isfinite(o->duration))
        return vr_fail("%s: bad window start %g s, duration %g s", path, o->start, o->duration);
    return 0;
}

/* "8.2" for ordinary lengths, "0.042" for tiny ones, so the message never says "0.0 s". */
static const char *secs(double t, char *buf) {
    snprintf(buf, 24, fabs(t) >= 1 || t == 0 ? "%.1f" : "%.3f", t);
    return buf;
}

/* Everything a decode needs that follows from the file and the options. */
static int plan_window(reader *r, const vr_media_opts *o, double *start, double *dur) {
    const char *path = r->path;
    const vr_media_info *in = &r->info;
    if (o->want_video && !in->has_video) return vr_fail("%s: no video stream", path);
    if (o->want_audio && !in->has_audio) return vr_fail("%s: no audio stream", path);
    if (o->want_video && in->video_fps > 0 && (in->video_fps < FPS_MIN || in->video_fps > FPS_MAX))
        return vr_fail("%s: video frame rate %.4g fps is outside %g-%g fps", path, in->video_fps, FPS_MIN, FPS_MAX);
    if (o->want_audio && (in->sample_rate < RATE_MIN || in->sample_rate > RATE_MAX))
        return vr_fail("%s: audio sample rate %d Hz is outside %d-%d Hz", path, in->sample_rate, RATE_MIN, RATE_MAX);
    const char *demuxer = r->fmt->iformat->name;
    if (o->want_video && (!strcmp(demuxer, "image2") || strstr(demuxer, "_pipe")))
        return vr_fail("%s: a still image (format '%s'), not a video", path, demuxer);
    if (o->want_video && r->fmt->streams[r->vi]->nb_frames == 1)
        return vr_fail("%s: the video stream holds a single frame (a still image?)", path);
    char b1[24], b2[24], b3[24];
    *start = o->start;
    *dur = o->duration;
    if (*dur <= 0) {
        if (in->duration <= 0) return vr_fail("%s: media duration unknown; give the window a duration", path);
        *dur = in->duration - *start;
        if (*dur <= 0)
            return vr_fail("%s: window starts at %s s, after the end of the media (%s s)", path, secs(*start, b1),
                           secs(in->duration, b2));
    } else if (in->duration > 0 && *start + *dur > in->duration + WINDOW_END_TOL) {
        return vr_fail("%s: window %s-%s s ends after the media (%s s)", path, secs(*start, b1),
                       secs(*start + *dur, b2), secs(in->duration, b3));
    }
    if (*dur > MAX_WINDOW)
        return vr_fail("%s: window of %.0f s is longer than %.0f s", path, *dur, MAX_WINDOW);
    if (o->want_video && lround(*dur * o->fps) < 1)
        return vr_fail("%s: window of %.3f s holds no frame at %d fps (media is %.3f s long)", path, *dur, o->fps,
                       in->duration);
    if (o->want_audio && llround(*dur * o->sample_rate) < 1)
        return vr_fail("%s: window of %.3g s holds no audio sample", path, *dur);
    return 0;
}

/* One decode attempt. Returns 0, -1 (error), or 1 when a seek landed after the window start
 * (the caller then decodes again from the beginning). */
static int decode_once(const char *path, const vr_media_opts *o, vr_media *m, int allow_seek) {
    reader r;
    vstate v = {0};
    astate a = {0};
    decode_ctx c = {.r = &r};
    int rc = -1, seeked = 0;
    double start = 0, dur = 0;

    if (open_reader(&r, path) < 0 || plan_window(&r, o, &start, &dur) < 0) goto done;
    m->info = r.info;
    m->start = start;
    m->duration = dur;

    for (unsigned i = 0; i < r.fmt->nb_streams; i++) /* don't demux what we won't use */
        if (!((o->want_video && (int)i == r.vi) || (o->want_audio && (int)i == r.ai)))
            r.fmt->streams[i]->discard = AVDISCARD_ALL;

    if (o->want_video) {
        v.st = r.fmt->streams[r.vi];
        v.n = (int)lround(dur * o->fps);
        v.w = o->width;
        v.h = o->height;
        v.fps = o->fps;
        v.slot0 = start;
        v.src_dt = r.info.video_fps > 0 ? 1.0 / r.info.video_fps : 1.0 / o->fps;
        v.held_slot = -1;
        v.sws_fmt = v.sws_cs = v.sws_range = -1;
        size_t bytes = (size_t)v.n * v.w * v.h * 3;
        if (!(v.held = av_frame_alloc()) || !(m->frames = malloc(bytes))) {
            vr_fail("%s: out of memory for %d frames of %dx%d", path, v.n, v.w, v.h);
            goto done;
        }
        if (open_decoder(&r, r.vi, &v.dec) < 0) goto done;
        v.frames = m->frames;
        c.v = &v;
    }
    if (o->want_audio) {
        a.st = r.fmt->streams[r.ai];
        a.n = llround(dur * o->sample_rate);
        a.rate = o->sample_rate;
        a.start = start;
        if (!(m->audio = calloc((size_t)a.n, sizeof(float)))) {
            vr_fail("%s: out of memory for %lld audio samples", path, (long long)a.n);
            goto done;
        }
        if (open_decoder(&r, r.ai, &a.dec) < 0) goto done;
        a.out = m->audio;
        c.a = &a;
    }
    if (!(c.frame = av_frame_alloc())) {
        vr_fail("%s: out of memory", path);
        goto done;
    }

    if (allow_seek && start > SEEK_MARGIN) {
        int64_t ts = llround((start - SEEK_MARGIN + r.origin) * AV_TIME_BASE);
        seeked = avformat_seek_file(r.fmt, -1, INT64_MIN, ts, ts, 0) >= 0;
        if (!seeked) VR_DEBUG("%s: seek to %.2f s failed; decoding from the start", path, start);
    }

    if (run_decode(&c) < 0) goto done;

    int v_short = c.v && (v.k - v.lead <= 0 || v.n - (v.k - v.lead) > VIDEO_PAD_TOL);
    int a_short = c.a && (a.filled <= 0 || a.n - a.filled > AUDIO_PAD_TOL * a.rate);
    /* a seek can land after the window start, or on a frame that needs references from before it
     * (MPEG-TS seeks by timestamp, not to keyframes): decode again from the beginning */
    if (seeked && (v_short || a_short)) {
        rc = 1;
        goto done;
    }

    /* what went wrong, if the output is short */
    const char *stop = c.read_error[0] ? c.read_error : "truncated?";
    char errs[80] = "";
    if (c.decode_errors)
        snprintf(errs, sizeof errs, "; %d undecodable packet%s: damaged file?", c.decode_errors,
                 c.decode_errors > 1 ? "s" : "");
    if (c.v) {
        int filled = v.k - v.lead;
        if (v_short) {
            vr_fail("%s: video: decoded only %d of %d frames for window %.2f-%.2f s (the stream stops at %.2f s: %s%s)",
                    path, filled > 0 ? filled : 0, v.n, start, start + dur, v.have_held ? v.held_t + v.src_dt : 0.0,
                    stop, errs);
            goto done;
        }
        size_t fb = (size_t)v.w * v.h * 3;
        for (int k = 0; k < v.lead; k++) memcpy(v.frames + k * fb, v.frames + (size_t)v.lead * fb, fb);
        for (int k = v.k; k < v.n; k++) memcpy(v.frames + k * fb, v.frames + (size_t)(v.k - 1) * fb, fb);
        m->n_frames = v.n;
        m->width = v.w;
        m->height = v.h;
    }
    if (c.a) {
        int64_t got = a.filled;
        if (a_short) {
            char where[160];
            if (a.have_pos && a.n - a.pos <= AUDIO_PAD_TOL * a.rate) /* reached the end: lost in gaps */
                snprintf(where, sizeof where, "%.2f s lost in gaps", (double)(a.n - got) / a.rate);
            else
                snprintf(where, sizeof where, "the stream stops at %.2f s: %s",
                         a.have_pos ? start + (double)a.pos / a.rate : start, stop);
            vr_fail("%s: audio: decoded only %.2f s of the %.2f s window %.2f-%.2f s (%s%s)", path,
                    got > 0 ? (double)got / a.rate : 0.0, dur, start, start + dur, where, errs);
            goto done;
        }
        for (float *p = a.out; p < a.out + a.n; p++) /* codecs may overshoot full scale slightly */
            *p = *p > 1.f ? 1.f : *p < -1.f ? -1.f : *p;
        m->n_samples = a.n;
        m->sample_rate = a.rate;
    }
    rc = 0;
done:
    av_frame_free(&c.frame);
    free_vstate(&v);
    free_astate(&a);
    close_reader(&r);
    return rc;
}

int vr_media_decode(const char *path, const vr_media_opts *o, vr_media *out) {
    memset(out, 0, sizeof *out);
    if (check_opts(path, o) < 0) return -1;
    int rc = decode_once(path, o, out, 1);
    if (rc == 1) {
        VR_DEBUG("%s: seek overshot the window start; decoding from the beginning", path);
        vr_media_free(out);
        rc = decode_once(path, o, out, 0);
    }
    if (rc != 0) {
        vr_media_free(out);
        return -1;
    }
    return 0;
}

void vr_media_free(vr_media *m) {
    if (!m) return;
    free(m->frames);
    free(m->audio);
    memset(m, 0, sizeof *m);
}
