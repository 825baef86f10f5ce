/* export.h — `vrobin export`: a training run's EMA weights as one self-describing file.
 *
 * The export is a safetensors file of the EMA weights of one checkpoint (float32 or bf16), named as
 * the model's parameter registry, whose metadata carries everything `vrobin generate` needs and
 * nothing it could get wrong by looking elsewhere:
 *
 *   format          "vrobin-export"         format_version  "1"
 *   config          the resolved model config (JSON, as the checkpoint's config.json)
 *   norm_mean/std   latent normalisation [D] (JSON arrays) from the run's first training shard
 *   data            JSON {fps, frame_size, sample_rate, n_mels, mel_fps, clip_seconds}: the
 *                   feature settings of the shards the model was trained on
 *   model.kind, step, dtype, vrobin_version, git_commit, source (the checkpoint folder)
 *
 * plus the config beside it (model.safetensors -> model.config.json). Both written atomically.
 */
#ifndef VR_EXPORT_H
#define VR_EXPORT_H

#ifdef __cplusplus
extern "C" {
#endif

#define VR_EXPORT_FORMAT "vrobin-export"
#define VR_EXPORT_FORMAT_VERSION "1"

/* Export checkpoint `step` (< 0: the one `latest` names) of run_dir to out_path; dtype "f32" or
 * "bf16". 0, or -1 + vr_error() (nothing is left under out_path then). */
int vr_export(const char *run_dir, long long step, const char *dtype, const char *out_path);

/* `vrobin export RUN -o model.safetensors [--dtype f32|bf16] [--step N]`: 0, 1 (error), 2 (usage). */
int vr_cmd_export(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
