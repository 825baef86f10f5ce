/* contrast.h — contrastive video–music and text–music encoders (model.kind "contrast"), an
 * evaluation model: its cosine scores are the alignment metrics of DESIGN §2.6, and its retrieval
 * recall on test pairs says how much those scores mean.
 *
 * Encoders, d = model.d_model, D = model.embed_dim (the shared space):
 *   audio  the tagger's audio encoder (models/tagger.h, parameters "audio.*") -> pooled [B, d]
 *          -> audio_proj (linear, no bias) -> [B, D]
 *   video  features [B, Tv, Dv] -> video.in (linear) + sinusoid(frame) -> model.video_layers
 *          transformer blocks (non-causal) -> video.norm (LayerNorm) -> mean over frames
 *          -> video_proj -> [B, D]
 *   text   caption bytes -> the byte-level text encoder of models/encoders.h ("text.*",
 *          model.text_layers) -> mean over the valid tokens (start token included) -> text_proj
 *          -> [B, D]
 * Every embedding is L2-normalised. model.use_video / model.use_text false leave that branch out
 * (at least one must stay).
 *
 * Loss: symmetric InfoNCE (CLIP) over the clips of the batch, for (video, music) and for
 * (text, music):  s = exp(logit_scale) (clamped to <= 100), L = s A B^T,
 *   nce(A, B) = (CE(L, arange) + CE(L^T, arange)) / 2,   loss = nce(video, audio) + nce(text, audio).
 * logit_scale is a learned scalar initialised to ln(1 / model.temperature). The negatives are the
 * other clips of the micro-batch a rank sees, so with N ranks (or accumulation) the loss is not the
 * 1-rank loss: train it on one rank with the whole batch. Loss parts: nce_video, nce_text,
 * acc_video, acc_text (in-batch top-1, both directions averaged) and temperature (1 / s).
 * Audio crops in training as the tagger's (model.crop_frames; 0 = the whole clip); the eval audio
 * embedding averages the pooled features of the windows (tagger.h) before projecting. With the
 * tagger's audio settings, the audio encoder can start from a trained tagger's "audio.*" weights
 * (train.init_from a file of them, train.init_allow_new: [audio_proj, video, text, logit_scale]).
 *
 * Errors: NULL / -1 with the message in tt_last_error() and vr_error().
 */
#ifndef VR_CONTRAST_H
#define VR_CONTRAST_H

#include <stdint.h>

#include "models/model.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const vr_model_ops contrast_ops;

int contrast_dim(const vr_model *m);        /* D */
int contrast_has_video(const vr_model *m);
int contrast_has_text(const vr_model *m);

/* Embeddings without autograd, L2-normalised [B, D], in the caller's scope. NULL on error (also
 * for the branch a model does not have). */
tt_tensor *contrast_embed_audio(vr_model *m, const tt_tensor *logmel); /* [B, T, M] normalised */
tt_tensor *contrast_embed_video(vr_model *m, const tt_tensor *video);  /* [B, Tv, Dv] features */
/* Captions as UTF-8 strings (cut at 256 bytes on a character boundary, as in training). */
tt_tensor *contrast_embed_text(vr_model *m, const char *const *texts, int B);

/* Row-wise cosine of a, b [B, D] (any scale) -> [B]. */
tt_tensor *contrast_cosine(const tt_tensor *a, const tt_tensor *b);

/* Symmetric InfoNCE of paired rows a, b [B, D] (L2-normalised) at logit scale s (a scalar tensor,
 * differentiable): (CE(s a b^T, i) + CE(s b a^T, i)) / 2. acc (may be NULL): in-batch top-1
 * accuracy averaged over both directions. */
tt_tensor *contrast_info_nce(const tt_tensor *a, const tt_tensor *b, const tt_tensor *s, double *acc);

/* Retrieval of N paired items: query i should find key i among all N keys, ranked by the cosine
 * of q [N][D] and k [N][D] (host, L2-normalised rows). With g keys scoring above the true key and
 * e others tying with it, random tie-breaking puts it at 0-based position g + U{0..e}, so
 * R@k = P(position < k) = clamp((k - g) / (e + 1), 0, 1), averaged over queries (ties matter for
 * duplicate captions); median_rank is the median over queries of the expected 1-based rank
 * g + 1 + e / 2. The means of the cosine of the true pairs and of all other pairs show the scale
 * of the scores. Chance: R@k = k / N. */
typedef struct contrast_recall {
    int n;
    double r1, r5, r10, median_rank;
    double mean_pos, mean_neg; /* mean cosine of true pairs / of mismatched pairs */
} contrast_recall;
int contrast_retrieval(const float *q, const float *k, int n, int D, contrast_recall *out);

/* `vrobin contrast-eval EXPORT SHARD... [--batch N]`: retrieval table (Markdown). */
int contrast_cmd_eval(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
