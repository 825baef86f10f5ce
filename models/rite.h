/* rite.h — RITE, the residual transformer that refines the quantised plan into the per-patch
 * conditioning of the local DiT.
 *
 * FSQ keeps the plan's semantics but throws away detail; RITE adds context back as a residual,
 * reading the quantised plans q_1..q_k only. It does not read the audio history (VoxCPM's residual
 * LM does): with the history here, and the previous patch already the DiT's context, the DiT
 * could predict every patch without the plan, and FSQ collapsed to one code in training
 * (results/train/README.md). Without it, everything the DiT learns beyond the previous patch
 * must pass through the quantised plan.
 *
 *   x_k = q_k + sinusoid(k)                             [B, P, d]
 *   x   = causal transformer blocks over k (n_layers)
 *   c_k = q_k + out(LayerNorm(x_k))                     [B, P, d]
 *
 * Causal over patches, so generation runs it one patch at a time with a KV cache (rite_step),
 * giving the same c_k as the whole-sequence forward.
 */
#ifndef VR_RITE_H
#define VR_RITE_H

#include "models/blocks_fast.h"
#include "models/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rite {
    nn_block *blocks; /* n_layers (>= 1) */
    int n_layers, d, n_heads;
    nn_norm norm;
    nn_linear out;    /* [d, d] */
} rite;

/* Parameters "<prefix>.blocks.<i>.*", "<prefix>.norm.*", "<prefix>.out.*". */
int rite_init(rite *r, tt_params *p, const char *prefix, int d, int n_heads, int n_layers, tt_gen *g);
void rite_free(rite *r);

/* q [B, P, d] -> c [B, P, d]. Dropout p with g (NULL: none). */
tt_tensor *rite_fwd(const rite *r, const tt_tensor *q, double p, tt_gen *g);

/* Generation: caches[n_layers] of capacity P each (nn_kv_cache_init with the model's heads);
 * q [B, 1, d] of patch k -> c_k [B, 1, d]. */
tt_tensor *rite_step(const rite *r, nn_kv_cache *caches, const tt_tensor *q, int64_t k);
/* rite_step with the blocks in the C kernel f (models/blocks_fast.h, made from r->blocks): the
 * same numbers up to float round-off, without libtorch's per-op cost. */
tt_tensor *rite_step_fast(const rite *r, blocks_fast *f, const tt_tensor *q, int64_t k);

#ifdef __cplusplus
}
#endif
#endif
