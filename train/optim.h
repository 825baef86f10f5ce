/* optim.h — AdamW, the learning-rate schedule, gradient clipping and the EMA of the weights.
 *
 * Gradients. After backward the trainer calls vr_optim_gather_grads(), which copies every
 * parameter's .grad into one flat float32 host buffer (o->grad, parameters back to back in
 * registry order) and drops the .grad tensors. That buffer is what MPI averages in place
 * (train/dist.h), what the global norm and the clipping read, and what the update uses. A
 * parameter without a gradient contributes zeros and is flagged in o->has_grad; the update skips
 * a parameter whose flag is 0 (after the ranks have combined the flags), as torch skips a
 * parameter whose .grad is None.
 *
 * Maths, chosen to match PyTorch 1.13 exactly (tests/python/train_reference.py checks it):
 *   AdamW (torch.optim.AdamW, foreach=False, amsgrad=False), t = the parameter's own update count:
 *     p *= 1 - lr*wd;  m = m*b1 + (1-b1)*g;  v = v*b2 + (1-b2)*g*g
 *     p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 *   clipping (torch.nn.utils.clip_grad_norm_): norm = ||all grads||_2,
 *     coef = min(1, max_norm / (norm + 1e-6)), g *= coef
 *   schedule: lr(s) for the update with 0-based index s: linear warmup lr*(s+1)/warmup for
 *     s < warmup, then cosine from lr down to min_lr_ratio*lr at s = total.
 *   EMA: e = decay*e + (1-decay)*p after every update (torch's e.lerp_(p, 1-decay)).
 */
#ifndef VR_OPTIM_H
#define VR_OPTIM_H

#include <stdint.h>

#include "core/tt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_adamw_opts {
    double beta1, beta2, eps, weight_decay;
} vr_adamw_opts;

typedef struct vr_optim {
    tt_params *params;   /* the model's (not owned) */
    tt_params *state;    /* torch's per-parameter state: "exp_avg.<name>", "exp_avg_sq.<name>" and
                            "step.<name>" (a float32 scalar); the checkpoint's key space */
    int n;               /* parameters */
    tt_tensor **m, **v, **t; /* [n] handles into state */
    int64_t *count;      /* [n] updates of each parameter (AdamW's t), mirrored in t[i] */
    int64_t *offset;     /* [n + 1]: parameter i's gradient is grad[offset[i] .. offset[i+1]) */
    float *grad;         /* [offset[n]] flat host gradients */
    int *has_grad;       /* [n] */
    vr_adamw_opts opts;
} vr_optim;

/* Every parameter must be float32. NULL + vr_error(). */
vr_optim *vr_optim_new(tt_params *params, const vr_adamw_opts *opts);
void vr_optim_free(vr_optim *o); /* NULL is fine */

/* .grad of every parameter -> o->grad (added to what is there when `accumulate`), flags set;
 * the .grad tensors are dropped. 0 or -1 + vr_error(). */
int vr_optim_gather_grads(vr_optim *o, int accumulate);
/* Global L2 norm of o->grad (accumulated in double); NaN/inf when any gradient is. */
double vr_optim_grad_norm(const vr_optim *o);
/* Index of the first parameter with a non-finite gradient, or -1. */
int vr_optim_first_nonfinite(const vr_optim *o);
/* torch's clip coefficient, min(1, max_norm / (norm + 1e-6)) in float32 as torch computes it;
 * 1 when max_norm <= 0 (clipping off). */
double vr_clip_coef(double norm, double max_norm);
void vr_optim_scale_grads(vr_optim *o, double s);
/* One AdamW update of every flagged parameter with o->grad at learning rate lr. 0 or -1. */
int vr_optim_step(vr_optim *o, double lr);
/* After o->state was overwritten (a checkpoint loaded): read the step counts back. 0 or -1. */
int vr_optim_state_loaded(vr_optim *o);

/* The learning rate of the update with 0-based index `s` out of `total` (see above). */
double vr_lr_at(int64_t s, int64_t total, int64_t warmup, double lr, double min_lr_ratio);

/* EMA weights: a registry with the model's names and shapes, starting as a copy of the weights. */
tt_params *vr_ema_new(const tt_params *params);
int vr_ema_update(tt_params *ema, const tt_params *params, double decay);

#ifdef __cplusplus
}
#endif
#endif
