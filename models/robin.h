/* robin.h — the Video-Robin model: planner -> FSQ -> RITE -> LocDiT (model.kind "robin").
 *
 * Data flow for a batch of B clips of T latent frames (M channels), P = T / F patches of
 * F = model.patch_frames frames, d = model.d_model:
 *
 *   audio [B,T,M] (normalised with the model's mean/std) -> patches [B,P,F*M]
 *   text bytes -> text encoder [B,1+Lt,d]      video [B,Tv,Dv] -> video encoder [B,Tv,d]
 *   history a_k = enc(patch k-1) (BOS for k = 0)                              [B,P,d]
 *   planner(prefix = text + video, audio = a) -> plan h_k                    [B,P,d]
 *   FSQ(h) -> q_k (model.quantizer none: q = h)                               [B,P,d]
 *   RITE(q) -> c_k (model.rite_layers 0: c = q)                               [B,P,d]
 *   LocDiT over all B*P patches at once: context = patch k-1 (zeros for k = 0), target = patch k,
 *   flow-matching velocity loss; c_k replaced by the null vector with prob. model.cond_dropout,
 *   the context zeroed with prob. model.ctx_dropout (so the DiT must learn to read the plan).
 *   model.hist_noise > 0: the history fed back (planner input and LocDiT context, not the target) is
 *   the real patch plus Gaussian noise of a per-patch std ~ U(0, hist_noise): generation feeds back
 *   its own imperfect samples, and a model trained only on the real history drifts (train/validate.h).
 *   model.hist_noise_to (both | planner | dit_ctx) picks which of the two readers gets the noise.
 *
 * model.use_text / model.use_video false leave the text / video tokens (and their encoders'
 * parameters) out, so stage-1 text-to-music and the ablations are configs. Parameter names are the
 * checkpoint keys: text.*, video.*, audio.*, planner.*, fsq.*, rite.*, dit.*.
 *
 * Errors: NULL / -1 with the message in tt_last_error() (and vr_error()), naming the batch clip or
 * config key at fault.
 */
#ifndef VR_ROBIN_H
#define VR_ROBIN_H

#include "models/locdit.h"
#include "models/model.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const vr_model_ops robin_ops;

/* The random draws of one loss evaluation, rows ordered clip-major (row = b * P + k). */
typedef struct robin_draw {
    tt_tensor *noise; /* [B*P, F, M] N(0,1), the flow's t = 0 end */
    tt_tensor *t;     /* [B*P] flow times in [0, 1] */
    tt_tensor *drop;  /* [B*P] bool: use the null condition for this row; NULL = none dropped */
    tt_tensor *ctx_drop; /* [B*P] bool: hide the previous patch (zero context) for this row; NULL = none */
    /* [B*P, F, M] added to patch k before it is fed back as the history of patch k+1 (planner input
     * and LocDiT context), model.hist_noise; NULL = none. The target stays the clean patch. */
    tt_tensor *hist_noise;
    /* model.rollout_prob: rollout [B*P] bool, feed back the model's own sample of patch k instead of
     * the real one; rollout_noise [B*P, F, M] the noise it is sampled from. Both NULL = none. */
    tt_tensor *rollout, *rollout_noise;
    /* model.hist_dropout: [B] bool, hide this clip's whole history (zeros to the planner and as
     * LocDiT's context, after rollout and hist_noise); NULL = none. */
    tt_tensor *hist_drop;
} robin_draw;

/* The loss with explicit draws (ops.loss draws them from its generator and calls this); lets a
 * test reproduce the loss exactly in PyTorch. dropout_gen: generator for model.dropout (NULL: no
 * dropout, as in evaluation). parts may be NULL. */
tt_tensor *robin_loss_with(vr_model *m, const vr_batch *b, const robin_draw *draw, tt_gen *dropout_gen,
                           vr_loss_parts *parts);

/* The evaluation loss (no training-time randomness, draws as ops.loss with train = 0) with every
 * clip's history hidden as model.hist_dropout hides it: how well the conditions alone predict each
 * patch. A caption the model reads moves this loss far more than the usual one, where the real
 * history gives most of the answer away (vrobin validate --no-history). */
tt_tensor *robin_loss_no_history(vr_model *m, const vr_batch *b, vr_loss_parts *parts);

/* Teacher-forced conditioning: c_k [B, P, d] for the clips of b with their latent given as
 * latent [B, T, M] (normalised; NULL = b->audio normalised), no dropout. */
tt_tensor *robin_condition(vr_model *m, const vr_batch *b, const tt_tensor *latent);

/* Seconds spent by generation per stage, accumulated over calls (wall clock between ops, which
 * run synchronously on the CPU; on a GPU they would need a synchronise to mean anything). */
typedef struct robin_gen_times {
    double prefix;  /* text + video encoders and the planner's prefix prefill */
    double planner; /* audio-history encoding, planner steps, FSQ */
    double rite;    /* RITE steps */
    double dit;     /* LocDiT Euler sampling (with CFG) */
} robin_gen_times;

/* robin_gen_opts.teacher_to: which reader of the history gets the teacher's patch */
enum { ROBIN_TEACH_BOTH = 0, ROBIN_TEACH_PLANNER, ROBIN_TEACH_DIT_CTX };

/* Sampling settings; zero fields take the model's config (so {0} or NULL = the defaults). */
typedef struct robin_gen_opts {
    int steps;        /* solver steps per patch; 0 = model.sample_steps */
    double cfg_scale; /* guidance scale > 0 (1 = no guidance); 0 = model.cfg_scale */
    dit_solver solver; /* DIT_EULER (0, the default) or DIT_HEUN: two velocities per step (locdit.h) */
    /* Continuation: the normalised latent [B, H*F, M] of each clip's first H patches (0 <= H <= P).
     * They are not sampled but taken as given, teacher-forced through the planner, FSQ and RITE
     * exactly as in training, and copied into the output; sampling starts at patch H, whose DiT
     * context is history patch H-1. NULL: H = 0. */
    const tt_tensor *history;
    /* Teacher forcing, a diagnostic of exposure bias (train/validate.h): the normalised latent
     * [B, T, M] whose patch k-1, not the sample, is fed back as patch k's audio history and LocDiT
     * context, as in training; every patch is still sampled (history patches excepted). A free run
     * given its own output as teacher reproduces itself. NULL: feed back the samples. */
    const tt_tensor *teacher;
    /* Where the teacher's patch goes (with teacher set): ROBIN_TEACH_BOTH (0) the planner's audio
     * history and LocDiT's context; ROBIN_TEACH_PLANNER the planner only (LocDiT's context is the
     * previous sample); ROBIN_TEACH_DIT_CTX LocDiT's context only (the planner reads the samples).
     * Which path carries the drift of a free run (train/validate.h). */
    int teacher_to;
    /* 1: LocDiT's context is zero for every patch (as in the rows model.ctx_dropout hid in
     * training): the previous patch reaches the patch only through the planner. */
    int no_dit_ctx;
    /* One noise generator per clip [B]: clip i's draws then depend on clip_gens[i] only, not on
     * which clips share its batch. NULL: the [B, F, M] draws of each patch come from g. */
    tt_gen **clip_gens;
    /* Recompute the planner (over prefix + whole audio history) and RITE (over all plans so far)
     * for every patch instead of using KV caches: the benchmark's baseline; same result up to
     * float round-off. */
    int no_kv_cache;
    /* Sample LocDiT through libtorch ops (dit_sample) instead of the libtorch-free C kernel
     * (models/locdit_fast.h), which gives the same result up to float round-off (~1e-6) and is
     * 2.4-4x faster on a 2-core CPU (results/bench/generate_latency.md); likewise the planner's and
     * RITE's blocks (plan_step / rite_step instead of models/blocks_fast.h). With CUDA as the
     * default device the libtorch path is always taken. */
    int torch_dit;
    /* Threads of the C kernel: 2 = the two CFG branches of each step in parallel (the same bits;
     * faster on idle cores, slower when other processes hold them); 0 or 1 = one thread. */
    int dit_threads;
    /* 1: the C kernel's transformer blocks in bf16 (DIT_BF16, models/locdit_fast.h: AVX512-BF16
     * only, refused with a message elsewhere; not the fp32 numbers); 0: fp32. */
    int dit_bf16;
    robin_gen_times *times;          /* accumulates per-stage seconds; NULL: not timed */
    void (*on_patch)(void *ctx);     /* called after each sampled patch (all B clips); may be NULL */
    void *ctx;
} robin_gen_opts;

/* Generate the latents of b's clips (b->T frames each, P = T / F patches; b->audio is not read)
 * without autograd: prefill the planner with the text/video prefix, then per patch: planner step
 * (KV cache) -> FSQ -> RITE step (KV cache) -> LocDiT Euler sampling with CFG from fresh noise ->
 * feed the patch back (history patches, see opts->history, skip the sampling). Returns [B, T, M]
 * in the normalised space (robin_denormalise), in the caller's scope; deterministic for given
 * generator states. g may be NULL when opts->clip_gens is set; opts may be NULL (defaults).
 * cond_out (may be NULL): receives the conditions c_k [B, P, d] used, history patches included,
 * which equal robin_condition() on the returned latent. */
tt_tensor *robin_generate(vr_model *m, const vr_batch *b, const robin_gen_opts *opts, tt_gen *g, tt_tensor **cond_out);

/* latent * std + mean with the model's stats (a copy when it has none). */
tt_tensor *robin_denormalise(const vr_model *m, const tt_tensor *latent);

#ifdef __cplusplus
}
#endif
#endif
