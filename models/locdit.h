/* locdit.h — the local diffusion transformer (LocDiT) that renders one latent patch.
 *
 * Flow matching (rectified flow), with t = 0 noise and t = 1 data:
 *   x_t = (1 - t) * noise + t * x1,   target velocity v = x1 - noise,   loss = mean (v_pred - v)^2
 * Training draws t ~ U(0, 1) per row. Sampling integrates dx/dt = v from t = 0 to 1 with Euler
 * steps t_i = i / steps.
 *
 * One call sees N rows (patches); each row is 2F tokens (F = frames per patch, M = latent dim):
 *   tokens = in([previous patch's clean frames ; current noisy frames]) + pos     [N, 2F, d]
 *   cond   = t_fc2(silu(t_fc1(sinusoid(1000 t)))) + c                          [N, d]
 *   blocks (DiT with adaLN-Zero): per block ada(silu(cond)) -> shift1 scale1 gate1 shift2 scale2 gate2
 *            x = x + gate1 * attn(LN(x) * (1 + scale1) + shift1)        (non-causal over the 2F tokens)
 *            x = x + gate2 * mlp(LN(x) * (1 + scale2) + shift2)         (LN without affine, eps 1e-6)
 *   out    = out(LN(x) * (1 + scale) + shift) over the F current tokens, (shift, scale) = final_ada(silu(cond))
 * ada, final_ada and out start at zero (adaLN-Zero), so at initialisation every block is the
 * identity and the prediction is 0; gradients reach the rest of the model from the second step on.
 *
 * Classifier-free guidance: c is replaced by the learned null vector for dropped rows in
 * training; sampling computes v = v_uncond + s * (v_cond - v_uncond), the two halves in one batch.
 */
#ifndef VR_LOCDIT_H
#define VR_LOCDIT_H

#include "models/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dit_block {
    nn_attention attn;
    nn_mlp mlp;
    nn_linear ada; /* [6d, d] */
} dit_block;

typedef struct locdit {
    int d, n_heads, n_layers, frames, dim;
    nn_linear in;           /* [d, dim], shared by context and noisy frames */
    tt_tensor *pos;         /* [2 * frames, d] learned token positions */
    nn_linear t_fc1, t_fc2; /* flow-time MLP [d, d] */
    dit_block *blocks;      /* n_layers */
    nn_linear final_ada;    /* [2d, d] */
    nn_linear out;          /* [dim, d] */
    tt_tensor *null;        /* [d] the "no condition" vector for CFG */
} locdit;

/* Parameters "<prefix>.in", ".pos", ".t_fc1", ".t_fc2", ".blocks.<i>.{attn,mlp,ada}", ".final_ada",
 * ".out", ".null". frames = latent frames per patch, dim = latent channels. */
int dit_init(locdit *m, tt_params *p, const char *prefix, int d, int n_heads, int n_layers, int frames, int dim,
             tt_gen *g);
void dit_free(locdit *m);
int dit_block_init(dit_block *b, tt_params *p, const char *prefix, int d, int n_heads, tt_gen *g);

/* One block: x [N, S, d], cond_act = silu(cond) [N, d] -> [N, S, d]. Dropout p with g (NULL: none). */
tt_tensor *dit_block_fwd(const dit_block *b, const tt_tensor *x, const tt_tensor *cond_act, double p, tt_gen *g);

/* Velocity: ctx, xt [N, F, M], t [N], c [N, d] -> [N, F, M]. */
tt_tensor *dit_fwd(const locdit *m, const tt_tensor *ctx, const tt_tensor *xt, const tt_tensor *t, const tt_tensor *c,
                   double p, tt_gen *g);

/* The ODE solver of sampling, flow time 0 -> 1 in `steps` equal steps of dt = 1/steps:
 *   DIT_EULER: x += dt·v(x, t_i)                                  (one velocity per step)
 *   DIT_HEUN:  x~ = x + dt·v(x, t_i);  x += dt·(v(x, t_i) + v(x~, t_i+1))/2
 *              (second order, two velocities per step; the last step's second one at t = 1)
 * v is the guided velocity (CFG) at every evaluation. */
typedef enum dit_solver { DIT_EULER = 0, DIT_HEUN = 1 } dit_solver;

/* "euler" / "heun" -> *out; -1 (no message) for anything else. */
int dit_solver_parse(const char *name, dit_solver *out);
const char *dit_solver_name(dit_solver s);

/* Sampling of one patch per row from x0 (noise) [B, F, M] with context ctx [B, F, M] and
 * condition c [B, d]; cfg_scale 1 runs the conditional branch only. Returns x1 [B, F, M]. */
tt_tensor *dit_sample(const locdit *m, const tt_tensor *ctx, const tt_tensor *c, const tt_tensor *x0, int steps,
                      dit_solver solver, double cfg_scale);

#ifdef __cplusplus
}
#endif
#endif
