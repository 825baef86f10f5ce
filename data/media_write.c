/* media_write.c — the writing half of media.h: rendered frames + mono audio into mp4/mkv/webm,
 * and mono audio into flac/wav, with FFmpeg's libraries.
 *
 * One internal writer serves both: a container with an optional video stream and an optional
 * audio stream. Output goes through a custom AVIOContext onto core/fsutil's atomic temp file
 * ("<path>.tmp.<pid>"), so close = fsync + rename and abort = unlink; muxers that patch their
 * header at the end (mp4 moov, flac STREAMINFO, wav sizes) seek within the temp file.
 *
 * Determinism: encoders run single-threaded with AV_CODEC_FLAG_BITEXACT and the muxer with
 * AVFMT_FLAG_BITEXACT, so the same input gives the same bytes (SynthV2M relies on it for flac).
 */
#include "media.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"

typedef struct container_kind {
    const char *ext, *format, *video_codec, *audio_codec;
} container_kind;

static const container_kind KINDS[] = {
    {".mp4", "mp4", "libx264", "aac"},
    {".mkv", "matroska", "libx264", "flac"},
    {".webm", "webm", "libvpx-vp9", "libopus"},
    {".flac", "flac", NULL, "flac"},
    {".wav", "wav", NULL, "pcm_s16le"},
};
#define N_KINDS ((int)(sizeof KINDS / sizeof KINDS[0]))

struct vr_video_writer {
    char *path;
    vr_atomic_file file;
    AVFormatContext *fmt;
    AVIOContext *io;
    AVPacket *pkt;
    /* video */
    AVCodecContext *venc;
    AVStream *vst;
    struct SwsContext *sws;
    AVFrame *vframe;
    int width, height;
    int64_t n_frames;
    /* audio: float mono at in_rate -> swr -> fifo in the encoder's format -> frame_size chunks */
    AVCodecContext *aenc;
    AVStream *ast;
    SwrContext *swr;
    AVAudioFifo *fifo;
    AVFrame *aframe;
    int in_rate, frame_size;
    int64_t a_pts;
    int header_written;
};

static const char *av_err(int e) {
    static _Thread_local char buf[AV_ERROR_MAX_STRING_SIZE];
    return av_make_error_string(buf, sizeof buf, e);
}

/* Encoders print banners and statistics to stderr; unless someone chose a level, keep FFmpeg to
 * fatal messages (we report errors ourselves), or everything under VROBIN_LOG=debug. */
static void quiet_ffmpeg(void) {
    if (av_log_get_level() == AV_LOG_INFO && vr_log_get_level() > VR_LOG_DEBUG) av_log_set_level(AV_LOG_FATAL);
}
static pthread_once_t g_quiet_once = PTHREAD_ONCE_INIT;

static const container_kind *kind_of(const char *path) {
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return NULL;
    for (int i = 0; i < N_KINDS; i++)
        if (!strcasecmp(dot, KINDS[i].ext)) return &KINDS[i];
    return NULL;
}

/* ---- AVIO over the atomic temp file ---- */

#if LIBAVFORMAT_VERSION_MAJOR >= 61
static int io_write(void *opaque, const uint8_t *buf, int n) {
#else
static int io_write(void *opaque, uint8_t *buf, int n) {
#endif
    FILE *fp = opaque;
    if (fwrite(buf, 1, (size_t)n, fp) != (size_t)n) return AVERROR(errno ? errno : EIO);
    return n;
}

static int64_t io_seek(void *opaque, int64_t offset, int whence) {
    FILE *fp = opaque;
    if (whence & AVSEEK_SIZE) {
        off_t here = ftello(fp);
        if (fseeko(fp, 0, SEEK_END) != 0) return AVERROR(errno);
        off_t size = ftello(fp);
        if (fseeko(fp, here, SEEK_SET) != 0) return AVERROR(errno);
        return size;
    }
    if (fseeko(fp, offset, whence & ~AVSEEK_FORCE) != 0) return AVERROR(errno);
    return ftello(fp);
}

/* ---- encoding ---- */

/* Send one frame (NULL = flush) and mux every packet the encoder hands back. */
static int encode(vr_video_writer *w, AVCodecContext *enc, AVStream *st, AVFrame *frame) {
    int e = avcodec_send_frame(enc, frame);
    if (e < 0) return vr_fail("%s: encoding with %s: %s", w->path, enc->codec->name, av_err(e));
    for (;;) {
        e = avcodec_receive_packet(enc, w->pkt);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return 0;
        if (e < 0) return vr_fail("%s: encoding with %s: %s", w->path, enc->codec->name, av_err(e));
        if (w->pkt->duration == 0 && enc->codec_type == AVMEDIA_TYPE_VIDEO) w->pkt->duration = 1;
        av_packet_rescale_ts(w->pkt, enc->time_base, st->time_base);
        w->pkt->stream_index = st->index;
        e = av_interleaved_write_frame(w->fmt, w->pkt);
        if (e < 0) return vr_fail("%s: writing a packet: %s", w->path, av_err(e));
    }
}

static int open_video(vr_video_writer *w, const char *codec_name, int fps) {
    const AVCodec *codec = avcodec_find_encoder_by_name(codec_name);
    if (!codec) return vr_fail("%s: FFmpeg has no %s encoder", w->path, codec_name);
    AVCodecContext *c = w->venc = avcodec_alloc_context3(codec);
    if (!c) return vr_fail("out of memory");
    c->width = w->width;
    c->height = w->height;
    c->time_base = (AVRational){1, fps};
    c->framerate = (AVRational){fps, 1};
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->colorspace = AVCOL_SPC_BT470BG; /* what swscale's default RGB->YUV matrix (BT.601) produces */
    c->color_range = AVCOL_RANGE_MPEG;
    c->gop_size = 2 * fps;
    c->thread_count = 1; /* callers parallelise over files; one thread keeps output deterministic */
    c->flags |= AV_CODEC_FLAG_BITEXACT;
    if (w->fmt->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (!strcmp(codec_name, "libx264")) {
        av_opt_set(c->priv_data, "preset", "veryfast", 0);
        av_opt_set(c->priv_data, "crf", "23", 0);
    } else { /* libvpx-vp9: constant quality, realtime speed */
        c->bit_rate = 0;
        av_opt_set(c->priv_data, "deadline", "realtime", 0);
        av_opt_set(c->priv_data, "cpu-used", "8", 0);
        av_opt_set(c->priv_data, "crf", "32", 0);
        av_opt_set(c->priv_data, "lag-in-frames", "0", 0);
    }
    int e = avcodec_open2(c, codec, NULL);
    if (e < 0) return vr_fail("%s: opening the %s encoder: %s", w->path, codec_name, av_err(e));
    w->vst = avformat_new_stream(w->fmt, NULL);
    if (!w->vst) return vr_fail("out of memory");
    w->vst->time_base = c->time_base;
    w->vst->avg_frame_rate = c->framerate;
    if ((e = avcodec_parameters_from_context(w->vst->codecpar, c)) < 0)
        return vr_fail("%s: video stream parameters: %s", w->path, av_err(e));
    w->sws = sws_getContext(w->width, w->height, AV_PIX_FMT_RGB24, w->width, w->height, AV_PIX_FMT_YUV420P,
                            SWS_BILINEAR | SWS_ACCURATE_RND | SWS_BITEXACT, NULL, NULL, NULL);
    w->vframe = av_frame_alloc();
    if (!w->sws || !w->vframe) return vr_fail("out of memory");
    w->vframe->format = AV_PIX_FMT_YUV420P;
    w->vframe->width = w->width;
    w->vframe->height = w->height;
    if (av_frame_get_buffer(w->vframe, 0) < 0) return vr_fail("out of memory");
    return 0;
}

/* The encoder's rate: the input rate where supported (Opus is always 48 kHz, which every player
 * expects), else the lowest supported rate above it, else the highest. */
static int pick_rate(const AVCodec *codec, int in_rate) {
    if (!strcmp(codec->name, "libopus")) return 48000;
    const int *r = codec->supported_samplerates;
    if (!r) return in_rate;
    int best = 0, highest = 0;
    for (; *r; r++) {
        if (*r == in_rate) return in_rate;
        if (*r > in_rate && (!best || *r < best)) best = *r;
        if (*r > highest) highest = *r;
    }
    return best ? best : highest;
}

static int open_audio(vr_video_writer *w, const char *codec_name) {
    const AVCodec *codec = avcodec_find_encoder_by_name(codec_name);
    if (!codec) return vr_fail("%s: FFmpeg has no %s encoder", w->path, codec_name);
    AVCodecContext *c = w->aenc = avcodec_alloc_context3(codec);
    if (!c) return vr_fail("out of memory");
    c->sample_fmt = codec->sample_fmts ? codec->sample_fmts[0] : AV_SAMPLE_FMT_S16;
    c->sample_rate = pick_rate(codec, w->in_rate);
    av_channel_layout_default(&c->ch_layout, 1);
    c->time_base = (AVRational){1, c->sample_rate};
    c->thread_count = 1;
    c->flags |= AV_CODEC_FLAG_BITEXACT;
    if (!strcmp(codec_name, "aac")) /* AAC-LC allows at most 6144 bits per 1024-sample frame per channel */
        c->bit_rate = c->sample_rate * 6 < 96000 ? c->sample_rate * 6 : 96000;
    else if (!strcmp(codec_name, "libopus"))
        c->bit_rate = 64000;
    if (w->fmt->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int e = avcodec_open2(c, codec, NULL);
    if (e < 0) return vr_fail("%s: opening the %s encoder: %s", w->path, codec_name, av_err(e));
    w->frame_size = c->frame_size > 0 ? c->frame_size : 1024;
    w->ast = avformat_new_stream(w->fmt, NULL);
    if (!w->ast) return vr_fail("out of memory");
    w->ast->time_base = c->time_base;
    if ((e = avcodec_parameters_from_context(w->ast->codecpar, c)) < 0)
        return vr_fail("%s: audio stream parameters: %s", w->path, av_err(e));
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    e = swr_alloc_set_opts2(&w->swr, &c->ch_layout, c->sample_fmt, c->sample_rate, &mono, AV_SAMPLE_FMT_FLT,
                            w->in_rate, 0, NULL);
    if (e < 0 || (e = swr_init(w->swr)) < 0) return vr_fail("%s: audio converter: %s", w->path, av_err(e));
    w->fifo = av_audio_fifo_alloc(c->sample_fmt, 1, 2 * w->frame_size);
    w->aframe = av_frame_alloc();
    if (!w->fifo || !w->aframe) return vr_fail("out of memory");
    return 0;
}

static void writer_free(vr_video_writer *w) {
    if (!w) return;
    avcodec_free_context(&w->venc);
    avcodec_free_context(&w->aenc);
    sws_freeContext(w->sws);
    swr_free(&w->swr);
    if (w->fifo) av_audio_fifo_free(w->fifo);
    av_frame_free(&w->vframe);
    av_frame_free(&w->aframe);
    av_packet_free(&w->pkt);
    if (w->io) av_freep(&w->io->buffer);
    avio_context_free(&w->io);
    if (w->fmt) w->fmt->pb = NULL;
    avformat_free_context(w->fmt);
    vr_atomic_abort(&w->file); /* no-op after a commit */
    free(w->path);
    free(w);
}

static vr_video_writer *writer_open(const char *path, int video, int width, int height, int fps, int sample_rate) {
    pthread_once(&g_quiet_once, quiet_ffmpeg);
    const container_kind *k = kind_of(path);
    if (!k || (video && !k->video_codec) || (!video && k->video_codec))
        return vr_fail_null("%s: cannot write this file type (expected %s)", path,
                            video ? ".mp4, .mkv or .webm" : ".flac or .wav");
    if (video && (width < 2 || height < 2 || width % 2 || height % 2 || width > 8192 || height > 8192))
        return vr_fail_null("%s: frame size %dx%d: width and height must be even, 2..8192 (yuv420p)", path, width,
                            height);
    if (video && (fps < 1 || fps > 240)) return vr_fail_null("%s: frame rate %d: expected 1..240", path, fps);
    if ((!video || sample_rate != 0) && (sample_rate < 1000 || sample_rate > 384000))
        return vr_fail_null("%s: sample rate %d: expected 1000..384000 Hz", path, sample_rate);

    vr_video_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return vr_fail_null("out of memory");
    }
    w->width = width;
    w->height = height;
    w->in_rate = sample_rate;
    if (vr_atomic_open(&w->file, path) != 0) {
        vr_context("writing %s", path);
        writer_free(w);
        return NULL;
    }
    int e = avformat_alloc_output_context2(&w->fmt, NULL, k->format, NULL);
    if (e < 0 || !w->fmt) {
        vr_fail("%s: FFmpeg has no %s muxer: %s", path, k->format, av_err(e));
        goto fail;
    }
    w->fmt->flags |= AVFMT_FLAG_BITEXACT;
    unsigned char *buf = av_malloc(1 << 16);
    w->io = buf ? avio_alloc_context(buf, 1 << 16, 1, w->file.fp, NULL, io_write, io_seek) : NULL;
    w->pkt = av_packet_alloc();
    if (!w->io || !w->pkt) {
        if (!w->io) av_free(buf);
        vr_fail("out of memory");
        goto fail;
    }
    w->fmt->pb = w->io;
    if (video && open_video(w, k->video_codec, fps) != 0) goto fail;
    if (sample_rate > 0 && open_audio(w, k->audio_codec) != 0) goto fail;
    if ((e = avformat_write_header(w->fmt, NULL)) < 0) {
        vr_fail("%s: writing the %s header: %s", path, k->format, av_err(e));
        goto fail;
    }
    w->header_written = 1;
    return w;
fail:
    writer_free(w);
    return NULL;
}

vr_video_writer *vr_video_writer_open(const char *path, int width, int height, int fps, int sample_rate) {
    return writer_open(path, 1, width, height, fps, sample_rate);
}

int vr_video_writer_frame(vr_video_writer *w, const uint8_t *rgb) {
    if (!w->venc) return vr_fail("%s: no video stream", w->path);
    if (av_frame_make_writable(w->vframe) < 0) return vr_fail("out of memory");
    const uint8_t *src[1] = {rgb};
    int stride[1] = {3 * w->width};
    sws_scale(w->sws, src, stride, 0, w->height, w->vframe->data, w->vframe->linesize);
    w->vframe->pts = w->n_frames++;
    return encode(w, w->venc, w->vst, w->vframe);
}

/* Encode what the fifo holds in whole encoder frames; at the end (final) also the remainder,
 * as a short last frame where the codec allows one, else padded with silence. */
static int drain_fifo(vr_video_writer *w, int final) {
    for (;;) {
        int have = av_audio_fifo_size(w->fifo);
        if (have == 0 || (have < w->frame_size && !final)) return 0;
        int n = have < w->frame_size ? have : w->frame_size;
        int small_ok = w->aenc->codec->capabilities & (AV_CODEC_CAP_SMALL_LAST_FRAME | AV_CODEC_CAP_VARIABLE_FRAME_SIZE);
        AVFrame *f = w->aframe;
        av_frame_unref(f);
        f->format = w->aenc->sample_fmt;
        f->sample_rate = w->aenc->sample_rate;
        f->nb_samples = n < w->frame_size && !small_ok ? w->frame_size : n;
        if (av_channel_layout_copy(&f->ch_layout, &w->aenc->ch_layout) < 0 || av_frame_get_buffer(f, 0) < 0)
            return vr_fail("out of memory");
        if (f->nb_samples > n)
            av_samples_set_silence(f->data, n, f->nb_samples - n, 1, w->aenc->sample_fmt);
        if (av_audio_fifo_read(w->fifo, (void **)f->data, n) != n) return vr_fail("%s: audio buffer underrun", w->path);
        f->pts = w->a_pts;
        w->a_pts += f->nb_samples;
        if (encode(w, w->aenc, w->ast, f) != 0) return -1;
    }
}

/* Convert n input samples (NULL: flush the resampler) into the fifo, then encode whole frames. */
static int push_audio(vr_video_writer *w, const float *mono, int64_t n) {
    while (n > 0 || !mono) {
        int chunk = n > 65536 ? 65536 : (int)n;
        int room = swr_get_out_samples(w->swr, chunk);
        if (room < 0) return vr_fail("%s: audio converter: %s", w->path, av_err(room));
        uint8_t **out = NULL;
        if (av_samples_alloc_array_and_samples(&out, NULL, 1, room + 1, w->aenc->sample_fmt, 0) < 0)
            return vr_fail("out of memory");
        const uint8_t *in[1] = {(const uint8_t *)mono};
        int got = swr_convert(w->swr, out, room + 1, mono ? in : NULL, chunk);
        int e = got < 0 ? got : av_audio_fifo_write(w->fifo, (void **)out, got);
        av_freep(&out[0]);
        av_freep(&out);
        if (e < 0) return vr_fail("%s: audio converter: %s", w->path, av_err(e));
        if (!mono) break;
        mono += chunk;
        n -= chunk;
        if (drain_fifo(w, 0) != 0) return -1;
    }
    return 0;
}

int vr_video_writer_audio(vr_video_writer *w, const float *mono, int64_t n) {
    if (!w->aenc) return vr_fail("%s: the writer was opened without audio (sample_rate 0)", w->path);
    if (n < 0 || (n > 0 && !mono)) return vr_fail("%s: bad audio buffer (%lld samples)", w->path, (long long)n);
    return n ? push_audio(w, mono, n) : 0;
}

int vr_video_writer_close(vr_video_writer *w) {
    int rc = 0;
    if (w->venc && w->n_frames == 0) rc = vr_fail("%s: no video frames were written", w->path);
    if (rc == 0 && w->aenc && (push_audio(w, NULL, 0) != 0 || drain_fifo(w, 1) != 0 || encode(w, w->aenc, w->ast, NULL) != 0))
        rc = -1;
    if (rc == 0 && w->venc && encode(w, w->venc, w->vst, NULL) != 0) rc = -1;
    int e;
    if (rc == 0 && (e = av_write_trailer(w->fmt)) < 0) rc = vr_fail("%s: finishing the file: %s", w->path, av_err(e));
    if (rc == 0) {
        avio_flush(w->io);
        if (w->io->error < 0) rc = vr_fail("%s: writing: %s", w->path, av_err(w->io->error));
    }
    if (rc == 0 && vr_atomic_commit(&w->file) != 0) rc = -1;
    writer_free(w); /* after a failure this deletes the temp file */
    return rc;
}

void vr_video_writer_abort(vr_video_writer *w) {
    if (w) writer_free(w);
}

int vr_audio_write(const char *path, const float *mono, int64_t n, int sample_rate) {
    if (n <= 0 || !mono) return vr_fail("%s: no audio samples to write", path);
    vr_video_writer *w = writer_open(path, 0, 0, 0, 0, sample_rate);
    if (!w) return -1;
    if (push_audio(w, mono, n) != 0) {
        writer_free(w);
        return -1;
    }
    return vr_video_writer_close(w);
}
