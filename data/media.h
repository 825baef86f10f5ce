/* media.h — reading and writing audio/video with FFmpeg's libraries (no shelling out).
 *
 * Reading (media_read.c): one call decodes a time window of a file into what the data builder
 * and `vrobin generate` need: video frames resampled to a fixed rate and scaled to a small RGB
 * size, and audio downmixed to mono and resampled. Lengths are exact: n_frames =
 * round(duration * fps), n_samples = round(duration * sample_rate); short decodes are padded
 * (last frame repeated, audio zero-padded) only within a small tolerance, otherwise an error.
 *
 * Writing (media_write.c): an mp4/mkv/webm writer for rendered frames + mono audio (SynthV2M),
 * and an audio-file writer (flac/wav by extension). Both write to a temp name and rename on
 * close, so a crash never leaves a half-written file under the final name.
 *
 * Errors: -1/NULL with vr_error() naming the file and the problem, e.g.
 *   "clips/a.mp4: no audio stream", "clips/b.mp4: not a media file (Invalid data found when
 *   processing input)", "clips/c.mp4: window 5.0-15.0 s ends after the media (8.2 s)".
 */
#ifndef VR_MEDIA_H
#define VR_MEDIA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_media_info {
    double duration;          /* seconds from t = 0 (the first video frame, or the start of the
                                 audio-only file) to the end of the container/longest stream */
    int has_video, has_audio;
    double video_fps;         /* average frame rate of the video stream; 0 when the container does
                                 not state it (variable-rate WebM/MKV): decoding then measures it */
    int width, height;
    int sample_rate, channels;
    char video_codec[32], audio_codec[32], format[64];
} vr_media_info;

typedef struct vr_media_opts {
    int want_video, want_audio; /* what must be decoded; a missing wanted stream is an error */
    int fps;                    /* output video rate (default 10) */
    int width, height;          /* output frame size (default 64x64), aspect not preserved */
    int sample_rate;            /* output audio rate (default 16000) */
    double start;               /* window start, seconds */
    double duration;            /* window length, seconds; <= 0: to the end of the media */
} vr_media_opts;

typedef struct vr_media {
    int n_frames, width, height;
    uint8_t *frames;            /* [n_frames][height][width][3] RGB, or NULL */
    int64_t n_samples;
    int sample_rate;
    float *audio;               /* mono [n_samples] in [-1, 1], or NULL */
    double start, duration;     /* the window actually decoded */
    vr_media_info info;         /* of the source */
} vr_media;

void vr_media_opts_default(vr_media_opts *o);
int vr_media_probe(const char *path, vr_media_info *info);
int vr_media_decode(const char *path, const vr_media_opts *o, vr_media *out);
void vr_media_free(vr_media *m);

/* ---- writing ---- */
typedef struct vr_video_writer vr_video_writer;

/* Container from the extension (.mp4/.mkv/.webm). Video: H.264 (libx264) for mp4/mkv, VP9 for
 * webm, yuv420p. Audio (sample_rate > 0): AAC for mp4, FLAC for mkv, Opus for webm. */
vr_video_writer *vr_video_writer_open(const char *path, int width, int height, int fps, int sample_rate);
int vr_video_writer_frame(vr_video_writer *w, const uint8_t *rgb);            /* one [h][w][3] frame */
int vr_video_writer_audio(vr_video_writer *w, const float *mono, int64_t n); /* any chunking */
int vr_video_writer_close(vr_video_writer *w);  /* flush, finalise, rename into place; frees w */
void vr_video_writer_abort(vr_video_writer *w); /* delete the temp file; frees w */

/* Mono float audio to .flac or .wav (16-bit PCM), atomically. */
int vr_audio_write(const char *path, const float *mono, int64_t n, int sample_rate);

/* ---- muxing (mux.c) ---- */

/* Copy the best video stream of video_in (packets unchanged, no re-encoding; other streams dropped)
 * into out_path (.mp4/.mkv: music as AAC; .webm: Opus) with the mono music mono[n] at sample_rate
 * as its audio, starting with the video. Temp file + fsync + rename. 0, or -1 + vr_error() (e.g.
 * "in.mp4: no video stream", or a video codec the container cannot hold) and no output. */
int vr_mux_audio_into_video(const char *video_in, const float *mono, int64_t n, int sample_rate, const char *out_path);

/* What vr_mux_audio_into_video would refuse before it needs the music (the extension, no video
 * stream, a codec the container cannot hold): vrobin generate asks before minutes of generation. */
int vr_mux_check(const char *video_in, const char *out_path);

#ifdef __cplusplus
}
#endif
#endif
