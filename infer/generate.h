/* generate.h — `vrobin generate`: music for a video from an exported model (infer/export.h).
 *
 * Pipeline: load the export (refusing anything that is not a complete vrobin export), build the
 * model from its embedded config and load the EMA weights strictly; decode the video exactly as
 * the data builder does (vr_media_decode at the export's data.fps / data.frame_size, features by
 * vr_clip_video_features); robin_generate per window of data.clip_seconds; denormalise; invert
 * the log-mel with Griffin-Lim; loudness-normalise; write .wav/.flac, or mux into a copy of the
 * video (.mp4/.mkv/.webm, picture copied without re-encoding).
 *
 * A video longer than data.clip_seconds is generated window by window, each window conditioned on
 * its own frames and the caption only, and the windows are concatenated: there is no musical
 * continuity across window boundaries yet (sliding-context continuation is future work).
 */
#ifndef VR_GENERATE_H
#define VR_GENERATE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_gen_opts {
    const char *model;    /* export .safetensors */
    const char *video;    /* input video */
    const char *text;     /* caption; NULL = "" */
    const char *out;      /* .wav .flac .mp4 .mkv .webm */
    int steps;            /* Euler steps per patch; 0 = the model's default */
    double cfg_scale;     /* 0 = the model's default */
    uint64_t seed;
    int gl_iters;         /* Griffin-Lim iterations (default 32) */
} vr_gen_opts;

typedef struct vr_gen_stats {
    double seconds_audio;   /* length of the generated music */
    int n_windows;
    double t_load, t_decode, t_model, t_decoder, t_write; /* wall seconds per stage */
} vr_gen_stats;

/* 0, or -1 + vr_error(); on failure nothing is left under o->out. */
int vr_generate(const vr_gen_opts *o, vr_gen_stats *st);

/* `vrobin generate --model M --video V [--text T] -o OUT [...]`: 0, 1 (error), 2 (usage). */
int vr_cmd_generate(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
