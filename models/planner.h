/* planner.h — the semantic planner: a transformer over [text][video][audio history] tokens.
 *
 * Sequence (S = Lp + P tokens):
 *   prefix  text tokens  (the text encoder's output) + type[0]
 *           video tokens (the video encoder's output) + sinusoid(frame index) + type[1]
 *   audio   history token k (encoding of patch k-1, BOS for k = 0) + sinusoid(pos_k) + type[2]
 * The prefix is a prefix-LM block: prefix tokens see every real prefix token (not padding, not
 * the audio); audio token k sees the whole real prefix and audio tokens <= k. Output row k (after
 * the final LayerNorm) is the plan for patch k. pos_k puts audio patches on the video's time axis:
 * pos_k = k * Tv / P when there are video tokens (k when not), so with one patch per video frame
 * (the default) frame i and patch i share a position.
 *
 * Training runs the whole sequence at once (plan_fwd); generation prefills the prefix into a KV
 * cache once (plan_prefill) and then adds one audio token per patch (plan_step); both give the
 * same plan rows.
 */
#ifndef VR_PLANNER_H
#define VR_PLANNER_H

#include <stdint.h>

#include "models/encoders.h"
#include "models/blocks_fast.h"
#include "models/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct planner {
    tt_tensor *type;  /* [3, d] segment embeddings: text, video, audio */
    nn_block *blocks; /* n_layers */
    int n_layers, d, n_heads;
    nn_norm norm;
} planner;

/* Parameters "<prefix>.type", "<prefix>.blocks.<i>.*", "<prefix>.norm.*". */
int plan_init(planner *pl, tt_params *p, const char *prefix, int d, int n_heads, int n_layers, tt_gen *g);
void plan_free(planner *pl);

/* The prefix [B, Lt + Tv, d] from text [B, Lt, d] and video [B, Tv, d]; either may be NULL
 * (absent). Both NULL: returns NULL without an error (an empty prefix). */
tt_tensor *plan_prefix(const planner *pl, const tt_tensor *text, const tt_tensor *video);
/* The prefix [B, Lp, d] of batch b's clips: caption tokens through the text encoder (text NULL:
 * none; caption padding is an invalid key), then video frames through the video encoder (video
 * NULL: none), via plan_prefix. *valid: host key validity [B][Lp], malloc'd. NULL with *Lp = 0
 * when there is neither; NULL with *Lp = -1 on error, the message prefixed with `who`. Dropout p
 * with g (NULL: none) in the text encoder. */
tt_tensor *plan_batch_prefix(const planner *pl, const enc_text *text, const enc_video *video, const vr_batch *b,
                             double p, tt_gen *g, uint8_t **valid, int64_t *Lp, const char *who);
/* Audio token positions pos_k for P patches and Tv video frames (0: no video), into pos[P]. */
void plan_audio_positions(double *pos, int64_t P, int64_t Tv);

/* Training forward. prefix [B, Lp, d] or NULL (Lp = 0); prefix_valid [B][Lp] host bytes (1 = real
 * token); audio [B, P, d] history tokens before positions/types; pos [P] from
 * plan_audio_positions. Dropout p with g (NULL: none). Returns the plans [B, P, d]. */
tt_tensor *plan_fwd(const planner *pl, const tt_tensor *prefix, const uint8_t *prefix_valid, const tt_tensor *audio,
                    const double *pos, double p, tt_gen *g);

/* Generation state: one KV cache per layer and the key validity of every cache slot. */
typedef struct plan_cache {
    nn_kv_cache *kv;    /* n_layers */
    int n_layers;
    tt_tensor *valid;   /* [B, 1, 1, cap] bool */
    int64_t len;        /* tokens so far */
} plan_cache;

/* Caches for B sequences of a prefix of Lp tokens (validity prefix_valid [B][Lp]) and P audio
 * tokens; handles in the caller's scope. */
int plan_cache_init(plan_cache *c, const planner *pl, int64_t B, int64_t Lp, const uint8_t *prefix_valid, int64_t P);
void plan_cache_free(plan_cache *c);
/* Run the prefix [B, Lp, d] through the layers into the cache (no-op for a NULL prefix). */
int plan_prefill(const planner *pl, plan_cache *c, const tt_tensor *prefix);
/* The next audio token: a [B, 1, d] (history encoding) at position pos -> plan [B, 1, d]. */
tt_tensor *plan_step(const planner *pl, plan_cache *c, const tt_tensor *a, double pos);
/* plan_step with the blocks in the C kernel f (models/blocks_fast.h: made from pl->blocks, holding
 * the prefilled cache): the same numbers up to float round-off, without libtorch's per-op cost. */
tt_tensor *plan_step_fast(const planner *pl, blocks_fast *f, const tt_tensor *a, double pos);

#ifdef __cplusplus
}
#endif
#endif
