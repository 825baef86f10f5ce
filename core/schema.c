/* schema.c — every config key vrobin reads: type, default, allowed values, one line of doc.
 *
 * Add a key here when code starts reading it, then regenerate the reference:
 *   vrobin config doc > configs/README.md
 * (tests/test_config.c fails while the two disagree). Defaults are YAML text, except for string
 * keys where the text is taken literally ("" is the empty string).
 */
#include "config.h"

const cfg_key_spec vr_schema[] = {
    /* run: naming and reproducibility */
    {"run.name", CFG_STRING, "run", "Name of the run; its folder is `<run.dir>/<run.name>`.", NULL},
    {"run.dir", CFG_STRING, "runs", "Folder that holds run folders (checkpoints, logs, config.json).", NULL},
    {"run.seed", CFG_INT, "1234", "Seed for every random choice: init, data order, dropout, sampling.", NULL},

    /* runtime: where and how the maths runs */
    {"runtime.device", CFG_STRING, "cpu", "Device for tensors and compute.", "cpu|cuda"},
    {"runtime.dtype", CFG_STRING, "f32", "Compute dtype: f32, or bf16 autocast with f32 master weights.", "f32|bf16"},
    {"runtime.torch_threads", CFG_INT, "1", "libtorch intra-op threads per process (per MPI rank).", NULL},
    {"runtime.blas_threads", CFG_INT, "0", "OpenBLAS threads; 0 leaves OpenBLAS's own default.", NULL},
    {"runtime.log_level", CFG_STRING, "info", "Lowest level of log messages printed (debug < info < warn < error).",
     "debug|info|warn|error"},

    /* data: inputs and the features derived from them */
    {"data.manifest", CFG_STRING, "", "JSONL manifest of clips (id, video, text, music?) to build shards from.", NULL},
    {"data.shards", CFG_LIST_STRING, "[]", "HDF5 shards to train or evaluate on.", NULL},
    {"data.sample_rate", CFG_INT, "16000", "Audio sample rate in Hz; audio is resampled to mono at this rate.", NULL},
    {"data.fps", CFG_INT, "10", "Video frames per second kept after decoding.", NULL},
    {"data.clip_seconds", CFG_FLOAT, "10.0", "Length of one training/eval clip in seconds; longer videos are cut.", NULL},
    {"data.frame_size", CFG_INT, "64", "Side of the square RGB frames stored for the learned video encoder.", NULL},
    {"data.n_mels", CFG_INT, "64", "Mel bins of the log-mel audio latent.", NULL},
    {"data.mel_fps", CFG_INT, "50", "Mel frames per second (hop = sample_rate / mel_fps).", NULL},
    {"data.out_dir", CFG_STRING, "shards", "`vrobin data build`: folder the shards and the build report are written to.", NULL},
    {"data.name", CFG_STRING, "train", "`vrobin data build`: shard file prefix, e.g. train -> train-00000.h5, train_report.json.",
     NULL},
    {"data.shard_size", CFG_INT, "512", "`vrobin data build`: clips per shard file.", NULL},
    {"data.jobs", CFG_INT, "0", "`vrobin data build`: clips decoded in parallel; 0 = one per CPU core.", NULL},
    {"data.keep_frames", CFG_BOOL, "true", "Store the small RGB frames in the shards (for a learned video encoder).", NULL},
    {"data.verify", CFG_BOOL, "true", "Verify every shard (schema + checksums) right after writing it.", NULL},
    {"data.norm_from", CFG_STRING, "",
     "Shard whose latent mean/std to store instead of this build's own (use the train shard for val/test).", NULL},
    {"data.latent_rate", CFG_FLOAT, "50.0",
     "Frames per second of external latents (a manifest `music` that is a .npy [T, D]); log-mel uses data.mel_fps.",
     NULL},

    /* model: planner + FSQ + RITE + local DiT */
    {"model.d_model", CFG_INT, "256", "Width of every transformer (planner, RITE, DiT).", NULL},
    {"model.n_heads", CFG_INT, "4", "Attention heads; must divide model.d_model.", NULL},
    {"model.planner_layers", CFG_INT, "6", "Layers of the causal planner over text, video and audio history.", NULL},
    {"model.rite_layers", CFG_INT, "2", "Layers of RITE, the residual transformer over the quantised plan; 0 = no RITE.", NULL},
    {"model.dit_layers", CFG_INT, "4", "Layers of the local DiT that generates one latent patch.", NULL},
    {"model.patch_frames", CFG_INT, "5", "Mel frames per latent patch (5 at 50 fps = 100 ms, one per video frame).",
     NULL},
    {"model.fsq_levels", CFG_LIST_INT, "[8, 8, 8, 5, 5, 5]", "FSQ levels per plan dimension; codebook size is their product.",
     NULL},
    {"model.dropout", CFG_FLOAT, "0.0", "Dropout probability in the transformers during training.", NULL},
    {"model.kind", CFG_STRING, "robin", "Model to build: `robin` is planner + FSQ + RITE + LocDiT (models/robin.h).", NULL},
    {"model.text_layers", CFG_INT, "2", "Layers of the text encoder over caption bytes (non-causal, padding masked).", NULL},
    {"model.video_dim", CFG_INT, "31",
     "Per-frame video feature width Dv the video encoder reads (31 = the built-in descriptors).", NULL},
    {"model.latent_dim", CFG_INT, "0", "Channels of the audio latent; 0 = data.n_mels (the log-mel latent).", NULL},
    {"model.use_text", CFG_BOOL, "true", "Condition on the caption (false: no text tokens, the no-text ablation).", NULL},
    {"model.use_video", CFG_BOOL, "true",
     "Condition on the video (false: no video tokens, stage-1 text-to-music and the no-video ablation).", NULL},
    {"model.quantizer", CFG_STRING, "fsq",
     "Plan bottleneck: fsq, or none = continuous plan (the paper's no-FSQ/RITE ablation also sets rite_layers 0).",
     "fsq|none"},
    {"model.cond_dropout", CFG_FLOAT, "0.1",
     "Probability of replacing a patch's condition by the learned null vector in training (for CFG).", NULL},
    {"model.ctx_dropout", CFG_FLOAT, "0.3",
     "Probability of hiding the previous patch (the LocDiT's context) in training, so the DiT must learn to read "
     "the plan; without it the plan is unneeded and FSQ collapses to one code.",
     NULL},
    {"model.sample_steps", CFG_INT, "20", "Euler steps of the LocDiT flow sampler per patch at generation.", NULL},
    {"model.cfg_scale", CFG_FLOAT, "2.0", "Classifier-free guidance scale at generation; 1 = no guidance.", NULL},

    /* train: optimisation and checkpoints */
    {"train.steps", CFG_INT, "1000", "Optimiser steps to train for.", NULL},
    {"train.batch_size", CFG_INT, "8", "Global batch size in clips, split across MPI ranks.", NULL},
    {"train.lr", CFG_FLOAT, "3e-4", "Peak AdamW learning rate, reached after warmup, then cosine decay.", NULL},
    {"train.warmup_steps", CFG_INT, "100", "Steps of linear learning-rate warmup from 0.", NULL},
    {"train.weight_decay", CFG_FLOAT, "0.01", "AdamW decoupled weight decay.", NULL},
    {"train.grad_clip", CFG_FLOAT, "1.0", "Clip the global gradient norm to this; 0 disables clipping.", NULL},
    {"train.ema_decay", CFG_FLOAT, "0.999", "Decay of the exponential moving average of the weights.", NULL},
    {"train.ckpt_every", CFG_INT, "200", "Write a checkpoint every this many steps (and at the end).", NULL},
    {"train.keep_last", CFG_INT, "3", "Checkpoints to keep; older ones are deleted.", NULL},
    {"train.init_from", CFG_STRING, "", "Checkpoint to initialise the weights from (e.g. stage 1 for stage 2); empty: random.",
     NULL},
    {"train.init_allow_new", CFG_LIST_STRING, "[]",
     "Name prefixes of parameters that may be absent from train.init_from (new in this stage); they keep their fresh init.",
     NULL},
    {"train.accum_steps", CFG_INT, "1", "Micro-batches per optimiser step; the global batch stays train.batch_size.", NULL},
    {"train.min_lr_ratio", CFG_FLOAT, "0.1", "The cosine decay ends at this fraction of train.lr.", NULL},
    {"train.beta1", CFG_FLOAT, "0.9", "AdamW first-moment decay.", NULL},
    {"train.beta2", CFG_FLOAT, "0.999", "AdamW second-moment decay.", NULL},
    {"train.eps", CFG_FLOAT, "1e-8", "AdamW epsilon.", NULL},
    {"train.bucket_mb", CFG_FLOAT, "25", "Size of the gradient buckets averaged by one MPI_Allreduce each.", NULL},
    {"train.load_frames", CFG_BOOL, "false", "Load the shards' RGB frames into batches (for a learned video encoder).", NULL},
    {"run.overwrite", CFG_BOOL, "false", "Let a new run delete the checkpoints and metrics of an existing run of that name.",
     NULL},

    {0},
};
