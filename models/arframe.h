/* arframe.h — the autoregressive frame-level baseline (model.kind "ar_frames"): the kind of
 * system the paper's speed claim is measured against (MusicGen / VidMuse style). A causal
 * transformer predicts the quantised latent one frame at a time, conditioned on text + video;
 * there is no plan and no diffusion, so a 10-s clip costs T = 500 sequential transformer steps
 * (Video-Robin: 100 planner steps, each followed by a small LocDiT over 5 frames).
 *
 * Tokens. Each channel of the normalised latent frame is quantised on its own, uniformly: clamp
 * to [-R, R] (R = model.ar_range), L = model.ar_levels levels of width w = 2R / L, code
 * q = floor((x + R) / w) in [0, L), value -R + (q + 1/2) w. The M channels are M "codebooks"
 * predicted in parallel at each step, as MusicGen predicts its codebooks (without a delay
 * pattern: the channels of one frame are independent given the past).
 *
 * Data flow for B clips of T latent frames (M channels), d = model.d_model:
 *   text bytes -> text encoder [B,1+Lt,d]      video [B,Tv,Dv] -> video encoder [B,Tv,d]
 *   token k = BOS for k = 0, else in(dequantised frame k-1)                     [B,T,d]
 *   planner (models/planner.h: prefix-LM, causal over frames; frame k at video time k Tv / T)
 *     -> h [B,T,d] -> head -> logits [B,T,M,L]; loss = mean cross-entropy of the codes of frame k
 * model.patch_frames must be 1 (one token per frame; generate's windows count frames).
 *
 * Condition dropout (model.cond_dropout, for classifier-free guidance) replaces a clip's caption
 * by the empty one and its video features by zeros — the "null condition" the unconditional
 * branch of generation then feeds exactly. Guidance mixes logits as audiocraft does:
 * l = l_uncond + s (l_cond - l_uncond), then softmax(l / model.ar_temperature) is sampled.
 *
 * Parameters: text.*, video.* (as robin's encoders), ar.in, ar.bos, planner.*, ar.head.
 * Errors: NULL / -1 with the message in tt_last_error() (and vr_error()).
 */
#ifndef VR_ARFRAME_H
#define VR_ARFRAME_H

#include "models/model.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const vr_model_ops arframe_ops;

/* The loss with an explicit condition dropout drop [B] bool (NULL: none dropped), so a test can
 * reproduce it in PyTorch; ops.loss draws drop per clip from (run.seed, epoch, clip). dropout_gen:
 * generator for model.dropout (NULL: none). parts may be NULL ("ce", "bits" per channel). */
tt_tensor *arframe_loss_with(vr_model *m, const vr_batch *b, const tt_tensor *drop, tt_gen *dropout_gen,
                             vr_loss_parts *parts);

/* Teacher-forced logits [B, T, M, L] of b's clips (no dropout); drop as above. */
tt_tensor *arframe_logits(vr_model *m, const vr_batch *b, const tt_tensor *drop);

/* Sampling settings; zero fields take the model's config. */
typedef struct arframe_gen_opts {
    double cfg_scale;   /* > 0; 1 = no guidance; 0 = model.cfg_scale */
    double temperature; /* > 0; 0 = model.ar_temperature */
    /* Continuation: the normalised latent [B, H, M] of each clip's first H < T frames, fed as the
     * past (quantised, as in training) and copied into the output unchanged. NULL: H = 0. */
    const tt_tensor *history;
    /* One generator per clip: clip i's draws (M uniforms per frame) from clip_gens[i] only. NULL:
     * [B, M] per frame from g. */
    tt_gen **clip_gens;
    double *seconds; /* accumulates the wall seconds of encoders + sampling; NULL: not timed */
    void (*on_frame)(void *ctx); /* called after each sampled frame (progress); may be NULL */
    void *ctx;
} arframe_gen_opts;

/* Generate the latents [B, T, M] (normalised space, on the quantisation grid except history
 * frames) of b's clips (b->audio not read) without autograd: encode the conditions, prefill the
 * planner's KV cache, then one step per frame, conditional and unconditional rows in one batch
 * when guided. Deterministic for given generator states. g may be NULL when clip_gens is set. */
tt_tensor *arframe_generate(vr_model *m, const vr_batch *b, const arframe_gen_opts *opts, tt_gen *g);

#ifdef __cplusplus
}
#endif
#endif
