/* tagger.h — the audio tagger (model.kind "tagger"), an evaluation model: a small CNN over the
 * log-mel latent whose penultimate layer is an embedding (FAD, density/coverage) and whose softmax
 * heads give class posteriors (KL, IS) and attribute accuracy (DESIGN §2.4, §2.6). The audio
 * encoder here is shared with the contrastive encoders (models/contrast.h).
 *
 * Audio encoder (parameters "audio.*"), for a normalised latent x [B, T, M], d = model.d_model:
 *   h = x as an image [B, 1, T, M]
 *   per stage s (channels model.cnn_channels[s]):  h = relu(down_s(h)); h = h + relu(conv3x3(h))
 *     down_s: a 3x3 convolution (padding 1) with stride 2 on both axes for the first
 *     model.cnn_time_stages stages, stride 2 on the mel axis only for the others
 *   [B, C, T', M'] -> time tokens [B, T', C*M'] -> linear -> + sinusoid(t') -> model.audio_layers
 *   transformer blocks (non-causal) -> LayerNorm -> tokens u [B, T', d]
 *   pooled = mean over T' of u  [B, d]
 *   with model.audio_lags L > 0, plus the tokens' normalised autocorrelation (tempo):
 *     r = rhythm(u) [B, T', 16] (linear, no bias), centred over time; var = mean_t r^2 + 1e-5
 *     ac_k = mean_t(r[t] * r[t + k]) / var for k = 1..L (0 for k >= T')   [B, L, 16]
 *     pooled += rhythm_out(ac flattened [B, 16 L])  (linear)
 *   The beat period is a lag: a mean over time alone cannot tell one tempo from another.
 * (T' = ceil(T / 2^time_stages), M' = ceil(M / 2^S) for S stages.) The convolutions see timbre and
 * pitch; flattening C x M' keeps the register; the transformer over time tokens of 2^time_stages
 * frames (80 ms at 50 fps with the default 2) sees the rhythm (pattern, tempo), which a global
 * average would blur. Convolutions are initialised N(0, 2 / fan_in), biases 0.
 *
 * Tagger on top: embedding e = gelu(linear(pooled)) [B, E], E = model.embed_dim; one linear head
 * per label, logits [B, C_h]. Heads (model.tagger_heads, any subset, in that order):
 *   instrument  labels.instrument, one of model.tagger_instruments (SynthV2M's 8 families)
 *   pattern     labels.pattern,    one of model.tagger_patterns    (arpeggio, chords, groove, melody)
 *   tempo       labels.tempo_bpm binned by model.tagger_tempo_edges (default [95, 110, 125]:
 *               "<95", "95-110", "110-125", ">=125"; bpm == an edge goes up; SynthV2M's
 *               in-distribution range 80-140 BPM gives four near-equal classes, its out-of-
 *               distribution tempos (60-75, 150-170) land in the outer ones)
 *   mode        labels.mode,       one of model.tagger_modes       (major, minor)
 * A clip whose label is missing or not in the head's vocabulary is an error naming the clip, the
 * label and the value (no silent "ignore" class: a vocabulary mismatch between the data and the
 * config is a mistake to fix, not noise to train through).
 * Loss = sum over heads of the mean cross-entropy; loss parts ce_<head> and acc_<head> (batch
 * top-1 accuracy).
 *
 * Training crops: with model.crop_frames W > 0 each clip contributes a random window of W latent
 * frames (offset drawn from (run.seed, epoch, clip), so N ranks see the same crops as 1 rank;
 * the centre window when not training); W = 0 or T <= W: the whole clip. Evaluation
 * (tagger_embed_logits) runs windows of W frames with hop W/2, the last aligned to the end, and
 * averages the embeddings over them (hence the logits too, the heads being linear).
 *
 * Errors: NULL / -1 with the message in tt_last_error() and vr_error().
 */
#ifndef VR_TAGGER_H
#define VR_TAGGER_H

#include <stdio.h>

#include "core/config.h"
#include "data/mel.h"
#include "models/model.h"
#include "models/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const vr_model_ops tagger_ops;

/* ---- the audio encoder (also the contrastive model's) ---- */

#define TAGGER_MAX_STAGES 8

typedef struct tagger_audio {
    nn_linear down[TAGGER_MAX_STAGES], res[TAGGER_MAX_STAGES]; /* conv weights [Cout, Cin, 3, 3] + bias */
    int n_stages, time_stages, M, d;
    nn_linear in;     /* [d, C_last * M'] */
    nn_block *blocks; /* n_layers */
    int n_layers, n_heads;
    nn_norm norm;
    int lags;                    /* model.audio_lags; 0: no autocorrelation */
    nn_linear rhythm, rhythm_out; /* [16, d], [d, 16 * lags] */
    int crop;                    /* model.crop_frames (0 = whole clip) */
} tagger_audio;

#define TAGGER_RHYTHM_DIM 16

/* Reads model.cnn_channels, model.cnn_time_stages, model.audio_layers, model.audio_lags,
 * model.d_model, model.n_heads, model.crop_frames and the latent width (model.latent_dim, or data.n_mels when 0);
 * parameters "<prefix>.*". */
int tagger_audio_init(tagger_audio *a, tt_params *p, const char *prefix, const cfg *c, tt_gen *g);
void tagger_audio_free(tagger_audio *a);
/* x [B, T, M] normalised -> pooled [B, d]; dropout p with generator g (NULL: none). One window. */
tt_tensor *tagger_audio_fwd(const tagger_audio *a, const tt_tensor *x, double p, tt_gen *g);
/* The same over eval windows (see above): x [B, T, M] -> [B, n_windows, d], no dropout. */
tt_tensor *tagger_audio_windows(const tagger_audio *a, const tt_tensor *x);
/* Host [B][T][M] latents of a batch, cropped for training (see above) and normalised with
 * mean/std [M] (NULL: as they are) -> [B, W, M]. seed: run.seed. */
tt_tensor *tagger_audio_crops(const tagger_audio *a, const vr_batch *b, const float *mean, const float *std,
                              int train, uint64_t seed);

/* ---- the tagger ---- */

enum { TAGGER_INSTRUMENT, TAGGER_PATTERN, TAGGER_TEMPO, TAGGER_MODE, TAGGER_N_KINDS };
#define TAGGER_MAX_HEADS TAGGER_N_KINDS

int tagger_n_heads(const vr_model *m);
const char *tagger_head_name(const vr_model *m, int h); /* "instrument", "pattern", "tempo", "mode" */
int tagger_n_classes(const vr_model *m, int h);
const char *tagger_class_name(const vr_model *m, int h, int k);
int tagger_embed_dim(const vr_model *m);
int tagger_latent_dim(const vr_model *m); /* M the model reads */

/* Class index of each head for one clip's labels (JSON object text): cls[tagger_n_heads]. Errors
 * name the clip id. */
int tagger_classes_of(const vr_model *m, const char *id, const char *labels_json, int *cls);

/* Evaluation, without autograd: logmel [B, T, M] normalised with the model's statistics ->
 * *emb [B, E] (may be NULL) and logits[h] [B, C_h] for every head (logits may be NULL), all in the
 * caller's scope. 0 or -1. */
int tagger_embed_logits(vr_model *m, const tt_tensor *logmel, tt_tensor **emb, tt_tensor **logits);

/* ---- evaluation helpers shared with models/contrast.h ---- */

/* An eval model from a `vrobin export` file (infer/export.h): its config, the model built from it
 * with the weights loaded strictly, the latent normalisation it was trained with and the log-mel
 * settings of its training shards. kind: the model.kind required. */
typedef struct tagger_export {
    cfg *c;
    vr_model m;
    float *mean, *std; /* [D] */
    int D;
    int sample_rate, mel_fps; /* the log-mel of data/mel.h: D bands, sample_rate / mel_fps hop */
    vr_mel mel;
    int have_model, have_mel;
} tagger_export;

int tagger_export_load(tagger_export *x, const char *path, const char *kind);
void tagger_export_free(tagger_export *x);
/* Audio -> what the eval APIs read: wave [N] or [B, N] (mono, x->sample_rate, N >= 1024) -> the
 * log-mel normalised with the export's statistics, [1 or B, N / hop, D] — the shards' latent for
 * the same audio (up to their float16 storage). For scoring generated or reference audio. */
tt_tensor *tagger_export_latent(const tagger_export *x, const tt_tensor *wave);

/* Every clip of the shards in file order, `batch` at a time: fn(b, ctx) gets a batch whose audio
 * is converted to the space normalised with mean/std [D] (whatever the shards store), with ids,
 * captions (max_text 256, cut at a character boundary), video features and labels; b->B is
 * smaller for the last batch. Stops at the first nonzero return of fn (returned). 0 or -1. */
typedef int (*tagger_batch_fn)(const vr_batch *b, void *ctx);
int tagger_shards_foreach(char **paths, int n_paths, int batch, const float *mean, const float *std, int D,
                          tagger_batch_fn fn, void *ctx);

/* The arguments of the eval-model commands, `MODEL SHARD... [--batch N]` (N 1..4096, default 16):
 * 0 with *model, *shards (malloc'd, the caller frees), *n_shards and *batch set; otherwise the
 * command's exit code, nothing to free: 2 for a usage error (the problem and usage(stderr)
 * printed), 1 out of memory. cmd names the command. */
int tagger_eval_args(int argc, char **argv, const char *cmd, void (*usage)(FILE *out), const char **model,
                     char ***shards, int *n_shards, int *batch);

/* `vrobin tagger-eval EXPORT SHARD... [--batch N]`: per-head accuracy as a Markdown table. */
int tagger_cmd_eval(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
