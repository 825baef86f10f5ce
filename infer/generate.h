/* generate.h — `vrobin generate`: music for a video, or for every clip of a manifest, from an
 * exported model (infer/export.h).
 *
 * Pipeline: load the export (refusing anything that is not a complete vrobin export), build the
 * model from its embedded config and load the EMA weights strictly; decode the video exactly as
 * the data builder does (vr_media_decode at the export's data.fps / data.frame_size, features by
 * vr_clip_video_features); generate the latents with robin_generate over sliding windows (below);
 * denormalise; invert the log-mel with Griffin-Lim; loudness-normalise; write .wav/.flac, or mux
 * into a copy of the video (.mp4/.mkv/.webm, picture copied without re-encoding).
 *
 * Any length, without seams. The model was trained on windows of data.clip_seconds (P_win
 * patches). A longer video is generated autoregressively over windows of exactly that length
 * that overlap by half (hop = P_win / 2 patches): window w + 1 starts half a window after window
 * w, its planner is prefilled with the caption, that window's own video frames and, as audio
 * history, the patches already generated in the overlap (teacher-forced, as in training:
 * robin_gen_opts.history), and it samples only the patches after them, the first with the last
 * generated patch as the DiT's context. The last window is aligned to the end of the video (its
 * history is then longer than half). So every planner step sees at least half a window of
 * musical past, the model never runs on a window longer than it was trained on, and each patch
 * is sampled once: the sampling cost per second of music does not depend on the overlap; only the
 * teacher-forced history (cheap planner/RITE steps, no sampling) is recomputed. Half a window is
 * the middle ground between more context (a smaller hop: more recomputed history steps per new
 * patch) and fewer restarts. A video no longer than one window is one window of its own length.
 *
 * Seeds. A clip's sampling noise comes from its own generator (robin_gen_opts.clip_gens), seeded
 * with --seed for a single video and with vr_gen_clip_seed(seed, id) for a manifest clip, which
 * also seeds Griffin-Lim's initial phase; so a clip's music does not depend on which clips share
 * its batch or on whether the run was resumed (up to float round-off in batched matmuls: see
 * tests/infer/test_infer.sh).
 *
 * Batch mode (`--manifest`): clips of the same length are generated B at a time (--batch), each
 * written as OUT_DIR/<id>.wav atomically; a clip whose wav exists is skipped, so an interrupted
 * run resumes where it stopped. OUT_DIR/timings.json (rewritten atomically after every batch)
 * holds the per-clip seconds per stage (decode + features, planner, RITE, LocDiT, Griffin-Lim,
 * write; a batch's model time is split evenly over its clips) and clips/s; entries of clips
 * skipped on resume are carried over from the previous timings.json. A clip that cannot be
 * generated (unreadable video, bad manifest line) is reported there under "failed" and the run
 * goes on; the command then exits 1.
 */
#ifndef VR_GENERATE_H
#define VR_GENERATE_H

#include <stdint.h>

#include "core/config.h"
#include "core/log.h"
#include "data/mel.h"
#include "models/robin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_gen_opts {
    const char *model;    /* export .safetensors */
    const char *video;    /* single video; or NULL with manifest */
    const char *manifest; /* batch mode: JSONL (data/manifest.h) */
    const char *text;     /* caption of the single video; NULL = "" */
    const char *out;      /* .wav .flac .mp4 .mkv .webm; in batch mode the output folder */
    int batch;            /* clips per model call in batch mode (default 1) */
    int steps;            /* solver steps per patch; 0 = the model's default */
    int solver;           /* dit_solver: 0 Euler (default), 1 Heun (models/locdit.h; Video-Robin models only) */
    double cfg_scale;     /* 0 = the model's default */
    uint64_t seed;
    int gl_iters;         /* Griffin-Lim iterations (default 32) */
    int max_clips;        /* batch mode: only the manifest's first max_clips lines; 0 = all */
    int dit_threads;      /* 2: the C LocDiT sampler's CFG branches on two threads; 0/1: one */
    int bf16;             /* 1: the C LocDiT sampler's blocks in bf16 (AVX512-BF16 CPUs, Video-Robin models) */
} vr_gen_opts;

typedef struct vr_gen_stats {
    double seconds_audio;   /* length of the generated music */
    int n_windows;
    double t_load, t_decode, t_model, t_decoder, t_write; /* wall seconds per stage */
    robin_gen_times model;  /* t_model split by stage */
} vr_gen_stats;

/* Single video: 0, or -1 + vr_error(); on failure nothing is left under o->out. */
int vr_generate(const vr_gen_opts *o, vr_gen_stats *st);

typedef struct vr_gen_batch_stats {
    int n_clips, n_done, n_skipped, n_failed; /* manifest lines; generated; already there; failed */
    double seconds, clips_per_second;         /* wall time after loading the model; n_done / seconds */
} vr_gen_batch_stats;

/* Batch mode (o->manifest, o->out a folder, created if needed): 0 when every clip is written or
 * skipped; -1 + vr_error() when some failed (the others are written) or nothing could start. */
int vr_generate_manifest(const vr_gen_opts *o, vr_gen_batch_stats *st);

/* `vrobin generate --model M (--video V [--text T] -o OUT | --manifest J --out DIR [--batch B])
 * [...]`: 0, 1 (error), 2 (usage). */
int vr_cmd_generate(int argc, char **argv);

/* ---- the stages, which the commands above chain and bench/bench_generate.c times one by one ---- */

/* A model and the feature settings it was trained with. */
typedef struct vr_generator {
    cfg *c;
    int own_c;
    vr_model m;
    int have_model, have_mel;
    float *mean, *std; /* [M] latent normalisation; NULL: none (random-init models) */
    int M, F, use_video, video_dim;
    int fps, frame_size, sample_rate, n_mels, mel_fps;
    double clip_seconds;
    vr_mel mel;
} vr_generator;

/* From a `vrobin export` file. 0, or -1 + vr_error() (g is then safe to vr_generator_free). */
int vr_generator_load(vr_generator *g, const char *export_path);
/* From a config (model.*, data.*, runtime.*), with random weights seeded by init_seed and no
 * latent normalisation: for latency measurements. c is borrowed and must outlive g. */
int vr_generator_init(vr_generator *g, const cfg *c, uint64_t init_seed);
void vr_generator_free(vr_generator *g);

/* One clip: the inputs, then what the stages fill in. */
typedef struct vr_gen_clip {
    const char *id, *video, *text; /* borrowed; text NULL = "" */
    double start, duration;        /* the window of the video, seconds; duration <= 0: to its end */
    uint64_t seed;                 /* sampling noise and Griffin-Lim phase */
    float *feat;                   /* [n_frames][Dv] video features (vr_gen_features) */
    int n_frames, Dv;
    int64_t n_samples, T;          /* the music: samples, latent frames */
    float *latent;                 /* [T][M] denormalised (vr_gen_latents) */
} vr_gen_clip;

void vr_gen_clip_free(vr_gen_clip *c); /* the filled-in arrays */

/* The seed of manifest clip `id` under run seed `seed` (a hash of the id on a seeded stream). */
uint64_t vr_gen_clip_seed(uint64_t seed, const char *id);

/* Decode + features. 0, or -1 + vr_error() naming the video. */
int vr_gen_features(vr_generator *g, vr_gen_clip *c);

/* One window of the sliding schedule, in patches: it covers [start, start + len); its first
 * `history` patches were generated by earlier windows. */
typedef struct vr_gen_window {
    int64_t start, history, len;
} vr_gen_window;

/* The schedule for P_total patches with windows of P_win: into w[] (room for P_total entries
 * suffices; NULL: only count); returns the number of windows. */
int vr_gen_windows(int64_t P_total, int64_t P_win, vr_gen_window *w);

/* Latents of n clips of the same length T at once (one robin_generate batch per window). opts:
 * steps, cfg_scale, no_kv_cache and times are used (history, clip_gens, on_patch are set here);
 * may be NULL. patches (may be NULL): advanced by one per sampled patch position. Fills each
 * clip's latent. 0, or -1 + vr_error(). */
int vr_gen_latents(vr_generator *g, vr_gen_clip *const *clips, int n, const robin_gen_opts *opts,
                   vr_progress *patches);

/* Griffin-Lim (gl_iters) + loudness normalisation: *wave [c->n_samples] malloc'd. 0, or -1. */
int vr_gen_audio(vr_generator *g, const vr_gen_clip *c, int gl_iters, float **wave);

#ifdef __cplusplus
}
#endif
#endif
