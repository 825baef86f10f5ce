/* build.h — `vrobin data build`: a manifest becomes HDF5 shards.
 *
 * For every clip: decode the window (video frames at data.fps, audio from `music` or the video's
 * own soundtrack), compute per-frame video descriptors (+ external features when the manifest
 * names a file, .npy or .h5), the audio latent (log-mel, or an external latent when `music` is a
 * .npy or .h5 array [T, D] at data.latent_rate), and append it to the current shard. Clips are processed in
 * parallel (data.jobs threads) and written in manifest order, so a build is deterministic.
 *
 * Latents are stored as computed (attribute normalised = 0) with the dataset's per-dim mean/std in
 * the shard's `norm` group: computed over this build, or copied from data.norm_from (the train
 * shard) so val/test are normalised like train. Readers normalise on load.
 *
 * Bad clips (missing file, unreadable media, no audio, too short, bad text...) are skipped with a
 * reason in the report (<out_dir>/<name>_report.json and one log line each); the build itself
 * fails only when nothing usable remains or the output cannot be written, and then no shard is
 * left under a final name. Shards are written to temp names, verified, then renamed.
 */
#ifndef VR_BUILD_H
#define VR_BUILD_H

#include "core/config.h"
#include "data/media.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_build_result {
    int n_clips, n_ok, n_skipped, n_shards;
    double seconds;
} vr_build_result;

/* Run a build from a resolved config (keys data.*). 0, or -1 with vr_error(). */
int vr_data_build(const cfg *c, vr_build_result *res);

/* The per-frame video features the builder stores, for decoded frames (vr_media_decode at data.fps,
 * data.frame_size square; `vrobin generate` uses the same): the weight-free descriptors
 * (VR_VDESC_DIM), then the dims of `features` (a .npy/.h5 array [Tf, Df] resampled to the
 * frames by nearest time; NULL: none). *out [n_frames][*Dv] is malloc'd. 0, or -1 + vr_error(). */
int vr_clip_video_features(const vr_media *video, const char *features, float **out, int *Dv);

/* `vrobin data <build|synth|verify|manifest>` */
int vr_cmd_data(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
