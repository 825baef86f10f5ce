/* ckpt.h — checkpoints: write them so a crash at any moment leaves a usable one, read them back
 * for a bit-exact resume, and initialise a new run's weights from one (train.init_from).
 * The layout and the crash argument are in train/CKPT.md.
 *
 *   <run>/ckpt/step_<N:08>/  model.safetensors  ema.safetensors  optim.safetensors
 *                            config.json  state.json (written last inside the folder)
 *   <run>/latest             "step_<N:08>\n", replaced atomically after the folder is complete
 */
#ifndef VR_CKPT_H
#define VR_CKPT_H

#include <stdint.h>

#include "core/tt.h"
#include "data/loader.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VR_CKPT_FORMAT_VERSION 1

typedef struct vr_ckpt_state {
    int64_t step;            /* optimiser updates done */
    vr_loader_state loader;  /* the data order's cursor: the next batch after `step` */
    int world_size;          /* of the run that wrote it (informational: resuming on another is fine) */
    char model_kind[64];
    char config_sha256[65];  /* of the checkpoint's config.json */
} vr_ckpt_state;

/* Write checkpoint `st->step` of the run: the folder is built as ckpt/.step_<N>.tmp, each file
 * written atomically, then renamed to ckpt/step_<N>; then `latest` is replaced; then all but the
 * newest keep_last checkpoints (keep_last <= 0: all) are deleted. optim is the optimiser's state
 * registry (vr_optim.state). 0 or -1 + vr_error(); on failure `latest` still names the previous
 * complete checkpoint. Test hook: VROBIN_TEST_CRASH_IN_CKPT=<N> raises SIGKILL after the weights
 * of step N are written and before the rest. */
int vr_ckpt_write(const char *run_dir, const vr_ckpt_state *st, const tt_params *params, const tt_params *ema,
                  const tt_params *optim, const char *config_json, int keep_last);

/* The checkpoint folder `latest` names (malloc'd). NULL + vr_error(); *missing = 1 (error still
 * set) when the run has no `latest` yet, 0 for any other failure. */
char *vr_ckpt_latest(const char *run_dir, int *missing);
/* state.json of a checkpoint folder. 0 or -1 + vr_error(). */
int vr_ckpt_read_state(const char *ckpt_dir, vr_ckpt_state *st);
/* Checks every file against the sizes and SHA-256 sums in state.json, then loads the three
 * registries strictly (same names and shapes) and reads the state. 0 or -1 + vr_error(). */
int vr_ckpt_load(const char *ckpt_dir, tt_params *params, tt_params *ema, tt_params *optim, vr_ckpt_state *st);
/* Keep the checkpoint `latest` names and the newest keep - 1 (keep > 0) older ones; delete the
 * others, any checkpoint newer than `latest` (left by a crash between its rename and the pointer
 * update) and any unfinished ckpt/.step_*.tmp folder. The number deleted, or -1 + vr_error(). */
int vr_ckpt_prune(const char *run_dir, int keep);
/* Delete every checkpoint of the run and its `latest` (run.overwrite=true). 0 or -1 + vr_error(). */
int vr_ckpt_remove_all(const char *run_dir);

/* train.init_from: `path` is a run folder (its latest checkpoint), a checkpoint folder, or a
 * safetensors file of weights. Loads the weights into params and into ema (a checkpoint's EMA
 * weights; a plain file's weights otherwise). Every parameter must be in the file, except those
 * whose names start with one of the n_allow prefixes (they keep their fresh initialisation, and
 * their EMA copy starts from it); a tensor of the file that is not a parameter, or has another
 * shape, is an error. *n_new (may be NULL) receives the number of parameters left fresh.
 * 0 or -1 + vr_error(). */
int vr_ckpt_init_from(const char *path, tt_params *params, tt_params *ema, char *const *allow, int n_allow,
                      int *n_new);

#ifdef __cplusplus
}
#endif
#endif
