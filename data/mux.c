/* mux.c — put generated music under an existing video without re-encoding the picture
 * (vr_mux_audio_into_video, declared at the end of media.h).
 *
 * The input's best video stream is copied packet by packet (codec parameters, timestamps rescaled
 * only) into a new container; every other input stream (its old soundtrack, subtitles) is dropped.
 * The music is encoded as AAC (.mp4/.mkv) or Opus (.webm) and interleaved with the video as it
 * goes, starting at the video's first timestamp. Output goes to "<out>.tmp.<pid>", is fsynced and
 * renamed, so a failure or crash never leaves a partial file under the final name.
 */
#define _GNU_SOURCE
#include "media.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "core/error.h"

static const char *mux_err(int e) {
    static _Thread_local char buf[AV_ERROR_MAX_STRING_SIZE];
    return av_make_error_string(buf, sizeof buf, e);
}

typedef struct mux {
    const char *out_path;
    AVFormatContext *in, *out;
    AVStream *vin, *vout, *aout;
    AVCodecContext *enc;
    AVPacket *pkt;
    AVFrame *frame;
    uint8_t *samples; /* the whole music, converted to the encoder's rate and format (one channel) */
    int64_t n_samples, next; /* converted samples, next one to encode */
    int64_t a_pts0;          /* first audio pts (encoder time base): the video's start */
} mux;

/* Send one frame (NULL = flush) and write every packet the encoder hands back. */
static int encode(mux *m, AVFrame *f) {
    int e = avcodec_send_frame(m->enc, f);
    while (e >= 0) {
        e = avcodec_receive_packet(m->enc, m->pkt);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return 0;
        if (e < 0) break;
        av_packet_rescale_ts(m->pkt, m->enc->time_base, m->aout->time_base);
        m->pkt->stream_index = m->aout->index;
        if ((e = av_interleaved_write_frame(m->out, m->pkt)) < 0)
            return vr_fail("%s: writing an audio packet: %s", m->out_path, mux_err(e));
    }
    return vr_fail("%s: encoding the music with %s: %s", m->out_path, m->enc->codec->name, mux_err(e));
}

/* Encode music until its next sample lies at or after `until` seconds (INFINITY: all, then flush). */
static int encode_until(mux *m, double until) {
    int fs = m->enc->frame_size > 0 ? m->enc->frame_size : 1024, bps = av_get_bytes_per_sample(m->enc->sample_fmt);
    int small_ok = m->enc->codec->capabilities & (AV_CODEC_CAP_SMALL_LAST_FRAME | AV_CODEC_CAP_VARIABLE_FRAME_SIZE);
    while (m->next < m->n_samples && (double)m->next / m->enc->sample_rate < until) {
        int n = m->n_samples - m->next < fs ? (int)(m->n_samples - m->next) : fs;
        AVFrame *f = m->frame;
        av_frame_unref(f);
        f->format = m->enc->sample_fmt;
        f->sample_rate = m->enc->sample_rate;
        f->nb_samples = n < fs && !small_ok ? fs : n;
        if (av_channel_layout_copy(&f->ch_layout, &m->enc->ch_layout) < 0 || av_frame_get_buffer(f, 0) < 0)
            return vr_fail("out of memory");
        av_samples_set_silence(f->data, 0, f->nb_samples, 1, m->enc->sample_fmt);
        memcpy(f->data[0], m->samples + m->next * bps, (size_t)n * bps);
        f->pts = m->a_pts0 + m->next;
        m->next += n;
        if (encode(m, f)) return -1;
    }
    return until == INFINITY ? encode(m, NULL) : 0;
}

/* Open the encoder for the container and convert the whole music to its rate and sample format. */
static int open_audio(mux *m, const char *codec_name, const float *mono, int64_t n, int rate) {
    const AVCodec *codec = avcodec_find_encoder_by_name(codec_name);
    if (!codec) return vr_fail("%s: FFmpeg has no %s encoder", m->out_path, codec_name);
    AVCodecContext *c = m->enc = avcodec_alloc_context3(codec);
    if (!c) return vr_fail("out of memory");
    c->sample_fmt = codec->sample_fmts ? codec->sample_fmts[0] : AV_SAMPLE_FMT_S16;
    c->sample_rate = rate;
    if (!strcmp(codec_name, "libopus")) {
        c->sample_rate = 48000; /* Opus runs at 48 kHz */
        c->bit_rate = 96000;
    } else {
        c->bit_rate = rate * 6 < 128000 ? rate * 6 : 128000; /* AAC-LC: at most 6 bits per sample per channel */
    }
    av_channel_layout_default(&c->ch_layout, 1);
    c->time_base = (AVRational){1, c->sample_rate};
    c->thread_count = 1;
    c->flags |= AV_CODEC_FLAG_BITEXACT;
    if (m->out->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int e = avcodec_open2(c, codec, NULL);
    if (e < 0) return vr_fail("%s: opening the %s encoder: %s", m->out_path, codec_name, mux_err(e));
    if (!(m->aout = avformat_new_stream(m->out, NULL))) return vr_fail("out of memory");
    m->aout->time_base = c->time_base;
    if ((e = avcodec_parameters_from_context(m->aout->codecpar, c)) < 0)
        return vr_fail("%s: audio stream parameters: %s", m->out_path, mux_err(e));

    SwrContext *swr = NULL;
    AVChannelLayout mono_layout = AV_CHANNEL_LAYOUT_MONO;
    e = swr_alloc_set_opts2(&swr, &c->ch_layout, c->sample_fmt, c->sample_rate, &mono_layout, AV_SAMPLE_FMT_FLT,
                            rate, 0, NULL);
    if (e < 0 || (e = swr_init(swr)) < 0) {
        swr_free(&swr);
        return vr_fail("%s: audio converter: %s", m->out_path, mux_err(e));
    }
    int64_t cap = av_rescale_rnd(n, c->sample_rate, rate, AV_ROUND_UP) + 256;
    if (cap > INT32_MAX / 4 || !(m->samples = malloc((size_t)cap * av_get_bytes_per_sample(c->sample_fmt)))) {
        swr_free(&swr);
        return vr_fail("%s: %lld samples of music are too many to convert in memory", m->out_path, (long long)n);
    }
    const uint8_t *in[1] = {(const uint8_t *)mono};
    uint8_t *out[1] = {m->samples};
    int got = swr_convert(swr, out, (int)cap, in, (int)n);
    int tail = got < 0 ? 0 : swr_convert(swr, (uint8_t *[]){m->samples + (size_t)got * av_get_bytes_per_sample(c->sample_fmt)},
                                         (int)cap - got, NULL, 0);
    swr_free(&swr);
    if (got < 0 || tail < 0) return vr_fail("%s: converting the music: %s", m->out_path, mux_err(got < 0 ? got : tail));
    /* exactly the resampled length of the input, so the music ends with the video */
    int64_t want = av_rescale_rnd(n, c->sample_rate, rate, AV_ROUND_NEAR_INF);
    m->n_samples = got + tail < want ? got + tail : want;
    return 0;
}

static int fsync_path(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fsync(fd)) {
        if (fd >= 0) close(fd);
        return vr_fail("%s: fsync failed", path);
    }
    close(fd);
    return 0;
}

/* The checks that need no music: the output's extension, the input's video stream and whether the
 * container can hold that stream's codec as it is. On success *in is open (the caller closes it),
 * *vi is the video stream's index, *of the output format and *codec_name the audio encoder's. */
static int open_and_check(const char *video_in, const char *out_path, AVFormatContext **in, int *vi,
                          const AVOutputFormat **of, const char **codec_name) {
    const char *dot = strrchr(out_path, '.');
    if (dot && (!strcasecmp(dot, ".mp4") || !strcasecmp(dot, ".mkv"))) *codec_name = "aac";
    else if (dot && !strcasecmp(dot, ".webm")) *codec_name = "libopus";
    else return vr_fail("%s: expected a .mp4, .mkv or .webm output", out_path);
    av_log_set_level(AV_LOG_FATAL);
    int e;
    if ((e = avformat_open_input(in, video_in, NULL, NULL)) < 0)
        return vr_fail("%s: not a media file (%s)", video_in, mux_err(e));
    if ((e = avformat_find_stream_info(*in, NULL)) < 0)
        return vr_fail("%s: cannot read the streams (%s)", video_in, mux_err(e));
    if ((*vi = av_find_best_stream(*in, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0)) < 0)
        return vr_fail("%s: no video stream", video_in);
    if (!(*of = av_guess_format(NULL, out_path, NULL))) return vr_fail("%s: no FFmpeg muxer for this extension", out_path);
    enum AVCodecID id = (*in)->streams[*vi]->codecpar->codec_id;
    if (avformat_query_codec(*of, id, FF_COMPLIANCE_NORMAL) != 1)
        return vr_fail("%s: the input's %s video cannot go into a %s container without re-encoding; choose another "
                       "extension (.mp4/.mkv take H.264/HEVC, .webm takes VP8/VP9/AV1)",
                       out_path, avcodec_get_name(id), (*of)->name);
    return 0;
}

int vr_mux_check(const char *video_in, const char *out_path) {
    AVFormatContext *in = NULL;
    const AVOutputFormat *of;
    const char *codec_name;
    int vi, rc = open_and_check(video_in, out_path, &in, &vi, &of, &codec_name);
    avformat_close_input(&in);
    return rc;
}

int vr_mux_audio_into_video(const char *video_in, const float *mono, int64_t n, int sample_rate, const char *out_path) {
    if (!mono || n <= 0 || sample_rate <= 0)
        return vr_fail("%s: no music to mux (%lld samples at %d Hz)", out_path, (long long)n, sample_rate);
    mux m = {.out_path = out_path};
    char *tmp = NULL;
    const AVOutputFormat *of;
    const char *codec_name;
    int rc = -1, e, opened = 0, vi;
    if (asprintf(&tmp, "%s.tmp.%d", out_path, (int)getpid()) < 0) return vr_fail("out of memory");
    if (open_and_check(video_in, out_path, &m.in, &vi, &of, &codec_name)) goto done;
    m.vin = m.in->streams[vi];
    if ((e = avformat_alloc_output_context2(&m.out, of, NULL, tmp)) < 0) {
        vr_fail("%s: no FFmpeg muxer for this extension (%s)", out_path, mux_err(e));
        goto done;
    }
    m.out->flags |= AVFMT_FLAG_BITEXACT;
    if (!(m.vout = avformat_new_stream(m.out, NULL))) {
        vr_fail("out of memory");
        goto done;
    }
    if ((e = avcodec_parameters_copy(m.vout->codecpar, m.vin->codecpar)) < 0) {
        vr_fail("%s: copying the video stream parameters: %s", out_path, mux_err(e));
        goto done;
    }
    m.vout->codecpar->codec_tag = 0; /* let the new container pick its own tag */
    m.vout->time_base = m.vin->time_base;
    m.vout->avg_frame_rate = m.vin->avg_frame_rate;
    m.vout->r_frame_rate = m.vin->r_frame_rate;
    m.vout->sample_aspect_ratio = m.vin->sample_aspect_ratio;
    m.vout->disposition = AV_DISPOSITION_DEFAULT;
    if (open_audio(&m, codec_name, mono, n, sample_rate)) goto done;
    int64_t v0 = m.vin->start_time != AV_NOPTS_VALUE ? m.vin->start_time : 0;
    m.a_pts0 = av_rescale_q(v0, m.vin->time_base, m.enc->time_base);
    if (!(m.pkt = av_packet_alloc()) || !(m.frame = av_frame_alloc())) {
        vr_fail("out of memory");
        goto done;
    }
    if ((e = avio_open(&m.out->pb, tmp, AVIO_FLAG_WRITE)) < 0) {
        vr_fail("%s: cannot create (%s)", tmp, mux_err(e));
        goto done;
    }
    opened = 1;
    if ((e = avformat_write_header(m.out, NULL)) < 0) {
        vr_fail("%s: writing the header: %s", out_path, mux_err(e));
        goto done;
    }

    int64_t n_video = 0;
    int failed = 0;
    AVPacket *vp = av_packet_alloc();
    if (!vp) {
        vr_fail("out of memory");
        goto done;
    }
    while ((e = av_read_frame(m.in, vp)) >= 0) {
        if (vp->stream_index != vi) {
            av_packet_unref(vp);
            continue;
        }
        int64_t ts = vp->dts != AV_NOPTS_VALUE ? vp->dts : vp->pts;
        /* keep the music about half a second ahead of the picture, so the interleaver buffers little */
        double t = ts != AV_NOPTS_VALUE ? (ts - v0) * av_q2d(m.vin->time_base) : 0;
        if ((failed = encode_until(&m, t + 0.5) != 0)) break;
        av_packet_rescale_ts(vp, m.vin->time_base, m.vout->time_base);
        vp->stream_index = m.vout->index;
        vp->pos = -1;
        if ((e = av_interleaved_write_frame(m.out, vp)) < 0) {
            failed = vr_fail("%s: writing a video packet: %s", out_path, mux_err(e));
            break;
        }
        n_video++;
    }
    av_packet_free(&vp);
    if (failed) goto done;
    if (e != AVERROR_EOF) {
        vr_fail("%s: reading the video: %s", video_in, mux_err(e));
        goto done;
    }
    if (n_video == 0) {
        vr_fail("%s: the video stream has no packets", video_in);
        goto done;
    }
    if (encode_until(&m, INFINITY)) goto done;
    if ((e = av_write_trailer(m.out)) < 0) {
        vr_fail("%s: finishing the file: %s", out_path, mux_err(e));
        goto done;
    }
    if ((e = avio_closep(&m.out->pb)) < 0) {
        vr_fail("%s: writing: %s", tmp, mux_err(e));
        goto done;
    }
    opened = 0;
    if (fsync_path(tmp)) goto done;
    if (rename(tmp, out_path)) {
        vr_fail("%s: cannot rename the finished file into place", out_path);
        goto done;
    }
    rc = 0;
done:
    if (opened) avio_closep(&m.out->pb);
    if (rc) remove(tmp);
    avformat_close_input(&m.in);
    avformat_free_context(m.out);
    avcodec_free_context(&m.enc);
    av_packet_free(&m.pkt);
    av_frame_free(&m.frame);
    free(m.samples);
    free(tmp);
    return rc;
}
