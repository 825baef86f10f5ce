/* validate.h — held-out checks of a model: the loss on validation shards, and how far sampled
 * latents are from the real ones, sampled freely and with teacher forcing.
 *
 *   vrobin validate --model EXPORT --shards VAL.h5[,...] [options]   (one process)
 *   train.val_shards + train.val_every in a training config           (every rank, EMA weights)
 *
 * Why both: the training loss is teacher-forced (every patch sees the real previous patch), so it
 * can fall while generation, which feeds back its own samples, gets worse (exposure bias); and a
 * training loss cannot show overfitting. The loss here is the model's own loss with training-time
 * randomness off (no condition dropout), its draws seeded by (model seed, clip) as in training, so
 * the same weights give the same number whatever the ranks. The sample check (Video-Robin models
 * only) generates the first `sample_clips` validation clips twice with the same per-clip noise:
 * freely, and teacher-forced (robin_gen_opts.teacher: the real previous patch fed back). Each set
 * of generated latent frames is compared with the same clips' real frames by the Fréchet distance
 * (eval/dist.h's vr_fad) of per-frame features [x_t | x_t - x_{t-1}] in the normalised latent
 * space (the frame and its change: dynamics count, as in the eval's mel backbone), over the whole
 * clip and per segment along it (so drift towards the end shows), and by the mean squared frame
 * change relative to the real one (dx_ratio: > 1 jittery, < 1 too smooth) and the mean offset of
 * the low / middle / high thirds of the channels (a spectral tilt for mel latents). Reading it: fd_free
 * growing along the clip while fd_teacher stays flat is the model being hurt by its own feedback
 * (exposure bias); both high means each patch is poor. Teacher forcing gives away much of the
 * answer (the real previous patch), so fd_teacher is near 0 for a good model. fd_real_split (the
 * real frames of the even vs the odd sampled clips) is what a model would score that made other
 * clips' music: a scale, not a floor.
 *
 * Ranks: every rank opens the shards (same order: a fixed seed), takes its share of each global
 * batch as in training, and the sums (losses, frame statistics) are added with MPI, so 1 and N
 * ranks give the same numbers up to float rounding.
 */
#ifndef VR_VALIDATE_H
#define VR_VALIDATE_H

#include "models/model.h"
#include "train/dist.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VR_VAL_SEGMENTS 4 /* segments of the clip with their own Fréchet distances */

/* The sample check's generations: the same clips with the same noise, differing only in what each
 * patch is given of the previous one. FREE and TEACHER always; the other three with
 * vr_val_opts.feedback_split, to find which path carries the drift: the real previous patch to the
 * planner only (LocDiT's context is the sample), to LocDiT's context only (the planner reads the
 * samples), and a free run with LocDiT's context zeroed (robin_gen_opts.teacher_to, no_dit_ctx). */
enum { VR_VAL_FREE, VR_VAL_TEACHER, VR_VAL_TEACH_PLANNER, VR_VAL_TEACH_CTX, VR_VAL_NO_CTX, VR_VAL_N_MODES };
extern const char *const vr_val_mode_name[VR_VAL_N_MODES]; /* "free", "teacher", ... (the JSON keys) */

typedef struct vr_val_sample {
    double fd;                      /* Fréchet distance to the real frames, whole clip */
    double fd_seg[VR_VAL_SEGMENTS]; /* per segment along the clip */
    double dx_ratio;                /* mean |x_t - x_{t-1}|² of the samples / of the real frames */
    /* mean of (sample - real) per latent channel, averaged over the low, middle and high third of
     * the channels (mel bands for a mel latent), in the latent's std units: a spectral tilt shows */
    double offset[3];
} vr_val_sample;

typedef struct vr_val_opts {
    char **shards;
    int n_shards;
    int batch;        /* global clips per batch, a multiple of the ranks */
    int max_clips;    /* clips in the loss: whole batches up to this many; 0 = all whole batches */
    int sample_clips; /* clips generated for the sample check (rounded up to whole batches; Video-Robin
                         models only, others skip it); 0 = none */
    int steps;        /* LocDiT solver steps; 0 = the model's default */
    double cfg_scale; /* 0 = the model's default */
    int frames;       /* load video frames (models with a frame encoder) */
    int dit_threads;  /* the C sampler's threads (robin_gen_opts.dit_threads) */
    int feedback_split; /* 1: also the TEACH_PLANNER, TEACH_CTX and NO_CTX generations */
    int no_history;     /* 1: the loss with every clip's history hidden (robin_loss_no_history;
                           Video-Robin models only): what the conditions alone predict */
    uint64_t seed;    /* sampling noise of clip c: a stream seeded by (seed, c) */
} vr_val_opts;

typedef struct vr_val_result {
    int64_t n_loss; /* clips in the loss */
    int no_history; /* the loss was taken with every history hidden (vr_val_opts.no_history) */
    double loss;    /* mean over those clips */
    int n_parts;
    const char *part_name[VR_MAX_LOSS_PARTS];
    double part[VR_MAX_LOSS_PARTS];
    int64_t n_sampled; /* clips in the sample check; 0: none made (then the samples are NaN) */
    int n_modes;       /* generations made: sample[0 .. n_modes-1] (2, or VR_VAL_N_MODES) */
    vr_val_sample sample[VR_VAL_N_MODES];
    double fd_real_split;
} vr_val_result;

/* m must hold its latent normalisation (norm_mean/std) as in training. d may be NULL (one
 * process). 0, or -1 + vr_error() naming the shard, clip or setting at fault (collective: with
 * ranks, all return the same status). */
int vr_validate(vr_model *m, const vr_dist *d, const vr_val_opts *o, vr_val_result *r);

/* The result as one JSON object's members after `"step": N` (no braces): "val_loss": ..., the
 * parts as "val_<name>", and the sample distances when made. Returns the bytes written (snprintf). */
int vr_val_json(const vr_val_result *r, char *buf, size_t cap);

/* `vrobin validate --model EXPORT --shards A.h5[,B.h5...] [--batch 8] [--max-clips 64]
 * [--sample-clips 16] [--steps 10] [--cfg-scale S] [--seed 1] [--no-history] [--json OUT]`: prints a Markdown
 * table. 0, 1 (error), 2 (usage). */
int vr_cmd_validate(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
