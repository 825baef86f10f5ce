/* registry.h — model.kind -> the model's ops (train/models_registry.c), and model set-up.
 *
 * Every model the trainer can train is one row of the table in train/models_registry.c. The
 * "mlp_test" row is a tiny model for the trainer's own tests (train/mlp_test.c): a 2-layer MLP
 * that regresses each clip's mean (normalised) audio latent from simple text statistics, plus
 * video statistics with model.use_video (its "video_in.*" parameters). Like the real model, its
 * stage 1 (use_video false) has every parameter of stage 2 but the video ones, so init_from with
 * train.init_allow_new: [video_in.] goes from one to the other.
 */
#ifndef VR_TRAIN_REGISTRY_H
#define VR_TRAIN_REGISTRY_H

#include <stddef.h>

#include "models/model.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const vr_model_ops vr_mlp_test_ops;

/* NULL (no error set) when no model has that kind. */
const vr_model_ops *vr_model_find(const char *kind);
/* "a, b, c": the known kinds, for messages. */
void vr_model_kinds(char *buf, size_t cap);
/* Look up model.kind and initialise m (params registry created here) with g. 0 or -1 + vr_error(). */
int vr_model_create(vr_model *m, const cfg *c, tt_gen *g);
void vr_model_destroy(vr_model *m); /* frees the state and the params; NULL-safe fields */

#ifdef __cplusplus
}
#endif
#endif
