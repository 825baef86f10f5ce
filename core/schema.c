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
    {"runtime.rollout_threads", CFG_INT, "1",
     "Threads of the C LocDiT sampler that draws model.rollout_prob's samples in training: 2 runs the guidance "
     "branches in parallel (the same numbers; about half the sampling time on one rank with 2 cores, "
     "results/bench/rollout_cost.md); keep 1 with one rank per core.",
     NULL},
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
    {"model.dit_layers", CFG_INT, "4",
     "Layers of the local DiT that generates one latent patch (fullseq_dit: of the DiT over the whole clip).", NULL},
    {"model.patch_frames", CFG_INT, "5", "Mel frames per latent patch (5 at 50 fps = 100 ms, one per video frame).",
     NULL},
    {"model.fsq_levels", CFG_LIST_INT, "[8, 8, 8, 5, 5, 5]", "FSQ levels per plan dimension; codebook size is their product.",
     NULL},
    {"model.dropout", CFG_FLOAT, "0.0", "Dropout probability in the transformers during training.", NULL},
    {"model.kind", CFG_STRING, "robin",
     "Model to build: `robin` is planner + FSQ + RITE + LocDiT (models/robin.h); `fullseq_dit` is the "
     "non-autoregressive full-sequence DiT baseline (models/fullseq.h); `ar_frames` is the autoregressive "
     "frame-level baseline (models/arframe.h); `tagger` and `contrast` are the "
     "evaluation models (models/tagger.h, models/contrast.h).",
     NULL},
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
    {"model.hist_noise", CFG_FLOAT, "0",
     "Training only: Gaussian noise of a std drawn per patch from U(0, this), in latent std units, on the history fed back "
     "(the previous patch as LocDiT context and planner input), against exposure bias (train/validate.h); 0 = none.",
     NULL},
    {"model.hist_noise_to", CFG_STRING, "both",
     "Which readers of the fed-back history get model.hist_noise: both, planner (its audio input only) or dit_ctx "
     "(LocDiT's context only); `vrobin validate --feedback-split` shows which path carries a free run's drift.",
     "both|planner|dit_ctx"},
    {"model.rollout_prob", CFG_FLOAT, "0",
     "Training only (parallel scheduled sampling, against exposure bias): the probability that patch k's history "
     "(planner input and LocDiT context of patch k+1) is the model's own sample of it instead of the real patch; the "
     "sample is drawn without gradient from the teacher-forced plan and the real previous patch, with guidance, "
     "model.rollout_steps Euler steps. The target stays the real patch. 0 = off.",
     NULL},
    {"model.rollout_steps", CFG_INT, "4",
     "Euler steps of model.rollout_prob's samples; each step costs two LocDiT passes (with and without the condition) "
     "over every patch of the batch, without gradient.",
     NULL},
    {"model.hist_dropout", CFG_FLOAT, "0",
     "Training only: the probability that a clip's whole music history is hidden (planner's audio input and LocDiT's "
     "context all zeros, as before the first patch), so every patch of that clip is learned from the text and video "
     "alone. Teacher-forced, the history already tells each patch its instrument, and the conditions are needed only "
     "at the first patch (results/reproduce_small.md, \"Why the text is not followed\"). 0 = off.",
     NULL},
    {"model.ctx_dropout", CFG_FLOAT, "0.3",
     "Probability of hiding the previous patch (the LocDiT's context) in training, so the DiT must learn to read "
     "the plan; without it the plan is unneeded and FSQ collapses to one code.",
     NULL},
    {"model.sample_steps", CFG_INT, "20",
     "Euler steps of the flow sampler at generation: per patch (LocDiT), or over the whole clip (fullseq_dit).", NULL},
    {"model.cfg_scale", CFG_FLOAT, "2.0", "Classifier-free guidance scale at generation; 1 = no guidance.", NULL},
    {"model.ar_levels", CFG_INT, "32",
     "ar_frames: quantisation levels per latent channel (each channel is one code per frame).", NULL},
    {"model.ar_range", CFG_FLOAT, "3.0",
     "ar_frames: normalised latent values are clamped to [-R, R] before the uniform quantiser.", NULL},
    {"model.ar_temperature", CFG_FLOAT, "1.0", "ar_frames: sampling temperature of the per-channel codes.", NULL},

    /* model: the evaluation models, tagger and contrast (models/tagger.h, models/contrast.h) */
    {"model.cnn_channels", CFG_LIST_INT, "[32, 64, 128, 128]",
     "Tagger/contrast audio CNN: channels per stage (each a stride-2 3x3 conv and a residual 3x3 conv).", NULL},
    {"model.cnn_time_stages", CFG_INT, "2",
     "Tagger/contrast audio CNN: the first N stages halve time and mel axes, the others the mel axis only "
     "(time tokens of 2^N frames).",
     NULL},
    {"model.audio_layers", CFG_INT, "1",
     "Tagger/contrast: transformer layers over the audio CNN's time steps (width model.d_model).", NULL},
    {"model.audio_lags", CFG_INT, "0",
     "Tagger/contrast: also pool the autocorrelation of the audio time tokens at lags 1..N (the tempo); 0 = off.",
     NULL},
    {"model.video_layers", CFG_INT, "1", "Contrast: transformer layers of the video encoder over the frames.", NULL},
    {"model.embed_dim", CFG_INT, "128",
     "Tagger: width of the embedding (its penultimate layer); contrast: width of the shared embedding space.", NULL},
    {"model.crop_frames", CFG_INT, "0",
     "Tagger/contrast: train on a random window of this many latent frames per clip (0 = the whole clip); eval "
     "averages windows of this length, hop half of it.",
     NULL},
    {"model.tagger_heads", CFG_LIST_STRING, "[instrument, pattern, tempo, mode]",
     "Tagger: its softmax heads (any of instrument, pattern, tempo, mode), read from each clip's labels.", NULL},
    {"model.tagger_instruments", CFG_LIST_STRING,
     "[piano, strings, guitar, brass, synth_lead, organ, woodwind, bass_drums]",
     "Tagger: classes of the instrument head (labels.instrument; SynthV2M's families). Other values are errors.",
     NULL},
    {"model.tagger_patterns", CFG_LIST_STRING, "[arpeggio, chords, groove, melody]",
     "Tagger: classes of the pattern head (labels.pattern). Other values are errors.", NULL},
    {"model.tagger_modes", CFG_LIST_STRING, "[major, minor]", "Tagger: classes of the mode head (labels.mode).", NULL},
    {"model.tagger_tempo_edges", CFG_LIST_FLOAT, "[95, 110, 125]",
     "Tagger: BPM edges of the tempo classes (labels.tempo_bpm): <95, 95-110, 110-125, >=125 by default.", NULL},
    {"model.temperature", CFG_FLOAT, "0.07",
     "Contrast: initial InfoNCE temperature; learned (as log 1/T, T kept in [0.01, 1]).", NULL},

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
    {"train.val_shards", CFG_LIST_STRING, "[]", "Held-out shards for validation (train/validate.h), e.g. the val split.", NULL},
    {"train.val_every", CFG_INT, "0",
     "Validate the EMA weights every this many steps (and at step 0 and the end); 0 = never. Logged to metrics.jsonl.",
     NULL},
    {"train.val_max_clips", CFG_INT, "64", "Clips in the validation loss (whole global batches); 0 = all.", NULL},
    {"train.val_sample_clips", CFG_INT, "8",
     "Clips generated at validation, freely and teacher-forced, for the latent Frechet distances (robin only); 0 = none.",
     NULL},
    {"train.val_steps", CFG_INT, "10", "LocDiT solver steps of the validation samples; 0 = model.sample_steps.", NULL},
    {"train.load_frames", CFG_BOOL, "false", "Load the shards' RGB frames into batches (for a learned video encoder).", NULL},
    {"run.overwrite", CFG_BOOL, "false", "Let a new run delete the checkpoints and metrics of an existing run of that name.",
     NULL},

    /* eval: `vrobin eval` (eval/eval.h) */
    {"eval.name", CFG_STRING, "", "Benchmark name; results go to <eval.out_dir>/<eval.name>/<system>.{json,csv,md}.", NULL},
    {"eval.manifest", CFG_STRING, "", "JSONL manifest of the test clips (video, text, music = reference, labels).", NULL},
    {"eval.reference", CFG_STRING, "",
     "JSONL manifest of the reference set for FAD/PRDC, disjoint from the test clips (e.g. the val split).", NULL},
    {"eval.out_dir", CFG_STRING, "results", "Folder of the benchmarks' result folders.", NULL},
    {"eval.max_clips", CFG_INT, "0", "Score only the first N test clips; 0 = all.", NULL},
    {"eval.backbones", CFG_LIST_STRING, "[mel]",
     "Embedding backbones for FAD/PRDC: mel (weight-free log-mel statistics) or torchscript:<file> (eval/embed.h).", NULL},
    {"eval.embed.sample_rate", CFG_INT, "16000", "Sample rate the embedding backbones read.", NULL},
    {"eval.embed.window_s", CFG_FLOAT, "1.0", "Embedding window length in seconds.", NULL},
    {"eval.embed.hop_s", CFG_FLOAT, "0.5", "Embedding window hop in seconds.", NULL},
    {"eval.embed.n_mels", CFG_INT, "64", "Mel bands of the mel backbone (its embedding has 4 x n_mels dims).", NULL},
    {"eval.fad_inf_min_n", CFG_INT, "500", "Smallest subsample (windows) of the FAD-inf fit, as fadtk; halved sets use N/2.",
     NULL},
    {"eval.prdc_k", CFG_INT, "5", "k of the k-NN balls of precision/recall/density/coverage.", NULL},
    {"eval.seed", CFG_INT, "1", "Seed of the generation (per clip: a hash of the id) and of FAD-inf's subsamples.", NULL},
    {"eval.steps", CFG_INT, "0", "Sampling steps per patch for generated systems; 0 = the model's default.", NULL},
    {"eval.solver", CFG_STRING, "euler",
     "ODE solver of LocDiT sampling for generated Video-Robin systems: euler, or heun (second order, two velocity "
     "evaluations per step).",
     "euler|heun"},
    {"eval.precision", CFG_STRING, "fp32",
     "Arithmetic of the C LocDiT sampler's transformer blocks for generated Video-Robin systems: fp32, or bf16 "
     "(CPUs with AVX512-BF16; vrobin generate --precision).",
     "fp32|bf16"},
    {"eval.dit_threads", CFG_INT, "1",
     "1 or 2: the C LocDiT sampler's two CFG branches on one thread or two (same output; vrobin generate "
     "--dit-threads).",
     NULL},
    {"eval.cfg_scale", CFG_FLOAT, "0", "Guidance scale for generated systems; 0 = the model's default.", NULL},
    {"eval.batch", CFG_INT, "4", "Clips generated together.", NULL},
    {"eval.tagger", CFG_STRING, "",
     "Export of a trained audio tagger (model.kind tagger): adds KL, IS, instrument/pattern accuracy and fad_tagger.", NULL},
    {"eval.contrast", CFG_STRING, "",
     "Export of trained contrastive encoders (model.kind contrast): adds video-music and text-music alignment.", NULL},
    {"eval.gl_iters", CFG_INT, "32", "Griffin-Lim iterations of the decoder (generation and the oracle_decoded row).", NULL},
    {"eval.length_tolerance_s", CFG_FLOAT, "0.1",
     "A system's audio may differ from the clip's length by this much (seconds) before it is refused.", NULL},

    {0},
};
