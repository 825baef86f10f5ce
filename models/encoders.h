/* encoders.h — what the planner reads: caption bytes, per-frame video features, audio history.
 *
 *   text   UTF-8 bytes [B, L] -> embedding + sinusoidal position -> non-causal transformer blocks
 *          (padding masked) -> LayerNorm -> [B, 1 + L, d]. Every caption starts with a start token,
 *          so no row is ever fully masked, even for an empty caption.
 *   video  per-frame features [B, Tv, Dv] -> linear -> GELU -> linear -> [B, Tv, d].
 *   audio  history: planner audio token k is the encoding of latent patch k-1 (patch_frames x
 *          n_mels values, flattened, normalised) through one linear; token 0 is a learned BOS.
 */
#ifndef VR_ENCODERS_H
#define VR_ENCODERS_H

#include <stdint.h>

#include "models/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Text token ids: bytes 0..255, then the start token and padding. */
#define ENC_TEXT_START 256
#define ENC_TEXT_PAD 257
#define ENC_TEXT_VOCAB 258

typedef struct enc_text {
    tt_tensor *embed; /* [ENC_TEXT_VOCAB, d] */
    nn_block *blocks; /* n_layers */
    int n_layers;
    nn_norm norm;
} enc_text;

typedef struct enc_video {
    nn_linear fc1; /* [d, Dv] */
    nn_linear fc2; /* [d, d] */
} enc_video;

typedef struct enc_audio {
    nn_linear proj; /* [d, patch_frames * n_mels] */
    tt_tensor *bos; /* [d] stands for "no previous patch" */
} enc_audio;

/* Parameters "<prefix>.embed", "<prefix>.blocks.<i>.*", "<prefix>.norm.*". 0 or -1 + tt_last_error(). */
int enc_text_init(enc_text *e, tt_params *p, const char *prefix, int d, int n_heads, int n_layers, tt_gen *g);
void enc_text_free(enc_text *e);
int enc_video_init(enc_video *e, tt_params *p, const char *prefix, int video_dim, int d, tt_gen *g);
int enc_audio_init(enc_audio *e, tt_params *p, const char *prefix, int patch_dim, int d, tt_gen *g);

/* Host side: token ids [B][L] and key validity [B][L] (1 = a real token) for captions text
 * [B][max_text] with lengths text_len[B]; L = 1 + the longest caption (positions past it would
 * only be padding). Arrays are malloc'd. 0, or -1 + tt_last_error() for a length outside
 * [0, max_text]. */
int enc_text_tokens(const uint8_t *text, const int *text_len, int B, int max_text, int64_t **ids, uint8_t **valid,
                    int *L);

/* ids [B, L] i64, valid [B, 1, 1, L] bool -> [B, L, d]. dropout p with generator g (NULL: none). */
tt_tensor *enc_text_fwd(const enc_text *e, const tt_tensor *ids, const tt_tensor *valid, double p, tt_gen *g);
/* x [B, Tv, Dv] -> [B, Tv, d] */
tt_tensor *enc_video_fwd(const enc_video *e, const tt_tensor *x);
/* patches [B, P, F] (F = patch_frames * n_mels) -> history tokens [B, P, d]: BOS, enc(patch 0), ..,
 * enc(patch P-2). */
tt_tensor *enc_audio_fwd(const enc_audio *e, const tt_tensor *patches);
/* One history token [B, 1, d]: enc(prev) for prev [B, F], or the BOS when prev is NULL. */
tt_tensor *enc_audio_step(const enc_audio *e, const tt_tensor *prev, int64_t B);

#ifdef __cplusplus
}
#endif
#endif
