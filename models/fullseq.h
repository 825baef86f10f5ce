/* fullseq.h — the full-sequence DiT baseline (model.kind "fullseq_dit"): one non-autoregressive
 * flow-matching transformer over the whole clip, conditioned on text + video — the usual
 * state-of-the-art design and the latency peer of Video-Robin (issue 8).
 *
 * Data flow for a batch of B clips of T latent frames (M channels), P = T / F patches of
 * F = model.patch_frames frames, d = model.d_model, one flow time t per clip:
 *
 *   text bytes -> text encoder (models/encoders.h) + type[0]                  [B, Lt, d]
 *   video [B,Tv,Dv] -> video encoder + sinusoid(frame j) + type[1]           [B, Tv, d]
 *   x_t [B,T,M] -> patches [B,P,F*M] -> in + sinusoid(pos_k) + type[2]        [B, P, d]
 *       pos_k = k * Tv / P with video (the video frame axis, as the planner), k without
 *   tokens = [text ; video ; audio]                                           [B, Lt+Tv+P, d]
 *   cond   = t_fc2(silu(t_fc1(sinusoid(1000 t))))                            [B, d]
 *   blocks: the LocDiT's adaLN-Zero block (models/locdit.h) over all tokens, bidirectional
 *           attention; condition tokens are keys only where valid (caption padding is not)
 *   v      = out(LN(x) * (1 + scale) + shift) over the P audio tokens -> [B, T, M]
 *
 * Conditioning choice: prefix tokens in one bidirectional transformer ("in-context"
 * conditioning), flow time by adaLN. It needs no cross-attention layers or pooling, text and
 * video keep their full sequences, and dropping the condition for CFG is exact: a dropped clip's
 * text and video tokens are masked out as keys, so its audio tokens see audio only — the same
 * network then serves the unconditional branch without a learned null vector.
 *
 * Training: x_t = (1 - t) noise + t x1, loss = mean (v - (x1 - noise))^2 over all frames; noise,
 * t and the condition dropout (model.cond_dropout) of a clip come from (run.seed, epoch, clip)
 * like robin's, so N ranks follow the trajectory of one rank. model.use_text / use_video false
 * leave those tokens and encoders out (stage 1 = use_video false; stage 2 adds "video.*").
 *
 * Parameters: text.*, video.* (as robin's encoders), dit.in, dit.type [3, d], dit.t_fc1/2,
 * dit.blocks.<i>.{attn,mlp,ada}, dit.final_ada, dit.out; model.dit_layers blocks.
 *
 * Errors: NULL / -1 with the message in tt_last_error() (and vr_error()).
 */
#ifndef VR_FULLSEQ_H
#define VR_FULLSEQ_H

#include "models/model.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const vr_model_ops fullseq_ops;

/* The random draws of one loss evaluation, one per clip. */
typedef struct fullseq_draw {
    tt_tensor *noise; /* [B, T, M] N(0,1), the flow's t = 0 end */
    tt_tensor *t;     /* [B] flow times in [0, 1] */
    tt_tensor *drop;  /* [B] bool: mask the clip's text and video; NULL = none dropped */
} fullseq_draw;

/* The loss with explicit draws (ops.loss draws them per clip and calls this), so a test can
 * reproduce it in PyTorch. dropout_gen: generator for model.dropout (NULL: none). parts may be
 * NULL ("flow"). */
tt_tensor *fullseq_loss_with(vr_model *m, const vr_batch *b, const fullseq_draw *draw, tt_gen *dropout_gen,
                             vr_loss_parts *parts);

/* Velocity v [B, T, M] of x_t [B, T, M] (normalised space) at flow times t [B]; drop [B] bool or
 * NULL as in fullseq_draw. No dropout. */
tt_tensor *fullseq_velocity(vr_model *m, const vr_batch *b, const tt_tensor *xt, const tt_tensor *t,
                            const tt_tensor *drop);

/* Sampling settings; zero fields take the model's config. */
typedef struct fullseq_gen_opts {
    int steps;        /* Euler steps over the whole clip; 0 = model.sample_steps */
    double cfg_scale; /* > 0; 1 = no guidance; 0 = model.cfg_scale */
    /* Continuation: the normalised latent [B, H*F, M] of each clip's first H < P patches, kept
     * as given: at every Euler step (time t) those frames are reset to (1 - t) noise + t history,
     * their point on the straight path (inpainting by replacement), and the output holds the
     * history exactly. NULL: H = 0. */
    const tt_tensor *history;
    /* One noise generator per clip: clip i's [T, M] noise from clip_gens[i] only. NULL: [B, T, M] from g. */
    tt_gen **clip_gens;
    double *seconds; /* accumulates the wall seconds of encoders + sampling; NULL: not timed */
} fullseq_gen_opts;

/* Generate the latents [B, T, M] (normalised space; robin_denormalise works for this model too)
 * of b's clips (b->audio is not read) without autograd: encode text + video once, then Euler from
 * t = 0 to 1 over the whole clip, conditional and unconditional rows in one batch when guided.
 * Deterministic for given generator states. g may be NULL when clip_gens is set; opts may be NULL. */
tt_tensor *fullseq_generate(vr_model *m, const vr_batch *b, const fullseq_gen_opts *opts, tt_gen *g);

#ifdef __cplusplus
}
#endif
#endif
