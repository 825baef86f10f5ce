/* blocks_fast.h — one-token steps through a stack of transformer blocks without libtorch: the
 * planner's and RITE's part of Video-Robin generation.
 *
 * Generation calls the planner (6 blocks in `small`) and RITE (2 blocks) once per latent patch,
 * one new token per batch row, through their KV caches. In libtorch that is ~25 ops per block on
 * a [B, 1, d] tensor: dispatch, not arithmetic (measured: 0.3 s of planner + 0.09 s of RITE per
 * 10-s clip at batch 1, more than a 2-step LocDiT). This kernel holds the blocks' weights and KV
 * caches as float arrays and computes nn_block_step (models/nn.h) in fused loops: norm, the
 * fused QKV product, attention of the new token over the cache (keys masked by a validity row),
 * output projection, residual, norm, MLP with tanh-GELU, residual.
 *
 * The prefix (text + video tokens, hundreds of them) is still prefilled by libtorch, where its
 * large GEMMs are efficient; blocks_fast_import copies the caches it filled. Same math as
 * nn_block_step in fp32; sums run in another order, so results agree to float round-off
 * (tests/models/test_blocks_fast.c). CPU only, one thread (the torch_threads = 1 policy).
 */
#ifndef VR_BLOCKS_FAST_H
#define VR_BLOCKS_FAST_H

#include "models/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct blocks_fast blocks_fast;

/* Copy the current weights of blocks[0..n_layers) (f32, any device) for B rows and caches of cap
 * tokens. NULL with tt_last_error() on failure (a parameter of an unexpected shape, out of memory). */
blocks_fast *blocks_fast_new(const nn_block *blocks, int n_layers, int64_t B, int64_t cap);
void blocks_fast_free(blocks_fast *f); /* NULL is fine */

/* Take over libtorch caches kv[0..n_layers) holding len tokens (e.g. after plan_prefill);
 * valid [B][len] (1 = a key to attend to; NULL: all) marks padding. 0, or -1 with tt_last_error(). */
int blocks_fast_import(blocks_fast *f, const nn_kv_cache *kv, int64_t len, const uint8_t *valid);

/* One new token per row: x [B, d] in, the last block's output [B, d] in y (may be x). The token's
 * key and value join the caches and are attended to by later steps; every earlier valid key is
 * attended to (causal by construction). 0, or -1 with tt_last_error() (cache full). */
int blocks_fast_step(blocks_fast *f, const float *x, float *y);

/* blocks_fast_step on a [B, 1, d] tensor -> a new [B, 1, d] tensor (CPU, f32), or NULL. */
tt_tensor *blocks_fast_step_tt(blocks_fast *f, const tt_tensor *x);

#ifdef __cplusplus
}
#endif

#endif
