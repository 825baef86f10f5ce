/* model.h — what the trainer needs from a model, whatever the model is.
 *
 * A model owns its parameters in a tt_params registry (names are the checkpoint's keys) and
 * turns one loader batch into a scalar loss. The trainer (train/) knows nothing else about it:
 * the planner + FSQ + RITE + LocDiT model, the baselines (full-sequence DiT, AR frame model), the
 * eval models (tagger, contrastive encoders) and the tiny test models all plug in here.
 */
#ifndef VR_MODEL_H
#define VR_MODEL_H

#include "core/config.h"
#include "core/tt.h"
#include "data/loader.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VR_MAX_LOSS_PARTS 8

/* Named parts of the loss and other per-step scalars for the metrics log (e.g. "flow", "fsq_usage"). */
typedef struct vr_loss_parts {
    int n;
    const char *name[VR_MAX_LOSS_PARTS];
    double value[VR_MAX_LOSS_PARTS];
} vr_loss_parts;

typedef struct vr_model vr_model;

typedef struct vr_model_ops {
    const char *kind; /* config value of model.kind that selects it */
    /* Create parameters (registered in m->params) from the config; g seeds the initialisation. */
    int (*init)(vr_model *m, const cfg *c, tt_gen *g);
    /* Scalar loss of one batch (in the caller's scope). `train`: dropout / condition dropout on.
     * Host tensors of the batch are copied to the model's device here. NULL + tt_last_error(). */
    tt_tensor *(*loss)(vr_model *m, const vr_batch *b, int train, tt_gen *g, vr_loss_parts *parts);
    void (*free_state)(vr_model *m); /* anything beyond params; may be NULL */
} vr_model_ops;

struct vr_model {
    const vr_model_ops *ops;
    tt_params *params;
    void *state; /* the model's own struct of layer handles */
    /* the latent normalisation the batches need (from the shards), [D] each; NULL = none */
    const float *norm_mean, *norm_std;
};

#ifdef __cplusplus
}
#endif
#endif
