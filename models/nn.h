/* nn.h — transformer building blocks in C on the tt wrapper, shared by every model.
 *
 * Each layer is a plain struct of parameter handles owned by a tt_params registry under a
 * dotted name ("planner.layers.3.attn.qkv.weight"), created by *_init and applied by *_fwd.
 * Forward functions create temporaries in the caller's scope and return a new handle (NULL
 * with tt_last_error() on failure; a NULL input propagates).
 *
 * Shapes: activations are [B, T, C] (batch, tokens, channels) unless said otherwise.
 * Initialisation follows GPT-2: weights N(0, 0.02), biases 0, norm gains 1.
 */
#ifndef VR_NN_H
#define VR_NN_H

#include "core/config.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/tt.h"
#include "models/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nn_linear {
    tt_tensor *w; /* [out, in] as torch.nn.Linear */
    tt_tensor *b; /* [out] or NULL */
} nn_linear;

typedef struct nn_norm {
    tt_tensor *w; /* [C] gain */
    tt_tensor *b; /* [C] bias (LayerNorm only; NULL for RMSNorm) */
    int rms;      /* 1: RMSNorm, 0: LayerNorm */
    double eps;
} nn_norm;

typedef struct nn_attention {
    nn_linear qkv;  /* fused q,k,v projection [3C, C] */
    nn_linear proj; /* output projection [C, C] */
    int n_heads;
} nn_attention;

typedef struct nn_mlp {
    nn_linear fc;   /* [hidden, C] */
    nn_linear proj; /* [C, hidden] */
} nn_mlp;

/* Pre-norm transformer block: x + attn(norm1(x)); x + mlp(norm2(x)). */
typedef struct nn_block {
    nn_norm norm1, norm2;
    nn_attention attn;
    nn_mlp mlp;
} nn_block;

/* All *_init register parameters as "<prefix>.<part>"; return 0 or -1 with tt_last_error(). */
int nn_linear_init(nn_linear *l, tt_params *p, const char *prefix, int in, int out, int bias, tt_gen *g);
/* nn_linear_init with weights N(0, 1/in) instead of GPT-2's N(0, 0.02²): outputs of the inputs' scale,
 * for layers whose output is added to sinusoid positions (rms 0.71), which 0.02 would let drown it. */
int nn_linear_init_unit(nn_linear *l, tt_params *p, const char *prefix, int in, int out, int bias, tt_gen *g);
int nn_norm_init(nn_norm *n, tt_params *p, const char *prefix, int dim, int rms);
int nn_attention_init(nn_attention *a, tt_params *p, const char *prefix, int dim, int n_heads, tt_gen *g);
int nn_mlp_init(nn_mlp *m, tt_params *p, const char *prefix, int dim, int hidden, tt_gen *g);
int nn_block_init(nn_block *b, tt_params *p, const char *prefix, int dim, int n_heads, int mlp_hidden, int rms,
                  tt_gen *g);

/* Bind a layer to parameters that already exist in p (e.g. loaded from a checkpoint). */
int nn_linear_bind(nn_linear *l, tt_params *p, const char *prefix, int bias);
int nn_norm_bind(nn_norm *n, tt_params *p, const char *prefix, int rms);
int nn_attention_bind(nn_attention *a, tt_params *p, const char *prefix, int n_heads);
int nn_mlp_bind(nn_mlp *m, tt_params *p, const char *prefix);
int nn_block_bind(nn_block *b, tt_params *p, const char *prefix, int n_heads, int rms);

/* Copy parameter t ([rows, cols], or [cols] when rows is 0) to host memory dst as f32 (the C
 * inference kernels' weights). A missing or other-shaped t: -1 with tt_last_error() "<who>:
 * parameter <name> is <shape>, expected [rows, cols]". */
int nn_param_to_host(float *dst, const tt_tensor *t, int64_t rows, int64_t cols, const char *who, const char *name);

tt_tensor *nn_linear_fwd(const nn_linear *l, const tt_tensor *x);
tt_tensor *nn_norm_fwd(const nn_norm *n, const tt_tensor *x);
/* mask: optional (bool, true = attend, broadcastable to [B, H, T, T]). */
tt_tensor *nn_attention_fwd(const nn_attention *a, const tt_tensor *x, int causal, const tt_tensor *mask);
tt_tensor *nn_mlp_fwd(const nn_mlp *m, const tt_tensor *x);
tt_tensor *nn_block_fwd(const nn_block *b, const tt_tensor *x, int causal, const tt_tensor *mask);

/* ---- additions for the Video-Robin model (models/robin.c and its parts) ---- */

/* tt_fail() for functions that return an int: sets tt_last_error() and returns -1. */
int nn_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Errors of the model kinds (robin, tagger, contrast, ...): the same message in vr_error() and
 * tt_last_error(), so callers on either side of the wrapper read it. model_fail returns -1,
 * model_fail_null NULL; model_op_failed(_rc) prefix a failed wrapper op's message with `what`. */
int model_fail(const char *fmt, ...) VR_PRINTF(1, 2);
void *model_fail_null(const char *fmt, ...) VR_PRINTF(1, 2);
void *model_op_failed(const char *what);
int model_op_failed_rc(const char *what);
/* An integer config key within [lo, hi] into *out, or model_fail naming the key and where it was set. */
int model_cfg_int(const cfg *c, const char *key, int64_t lo, int64_t hi, int *out);

/* The batch's video features and captions as a model reading video of Dv dims (use_video) and
 * captions (use_text) needs them; `who` names the model in the error. 0 or model_fail. */
int model_check_conditions(const vr_batch *b, const char *who, int use_video, int Dv, int use_text);
/* b->audio normalised with m's latent statistics -> [B, T, D] (as stored when m has none). */
tt_tensor *model_normalised_audio(const vr_model *m, const vr_batch *b, const char *who);
/* The random stream of clip i of batch b in a training step: seeded by (run_seed, epoch, the clip's
 * global index), so a clip draws the same noise, times, dropout or crop whichever rank or
 * micro-batch it lands in (N ranks follow the trajectory of one). Batches made by hand (tests)
 * may have no clip indices: their position stands in. */
void model_clip_rng(vr_rng *r, uint64_t run_seed, const vr_batch *b, int i);

/* Training-time dropout of probability p with generator g; x itself when g is NULL or p == 0. */
tt_tensor *nn_dropout(tt_tensor *x, double p, tt_gen *g);

/* Same as nn_block_fwd, with dropout of probability p on both residual branches (attention and
 * MLP outputs) when g is non-NULL and p > 0 — the training-time form. */
tt_tensor *nn_block_fwd_dropout(const nn_block *b, const tt_tensor *x, int causal, const tt_tensor *mask, double p,
                                tt_gen *g);

/* Sinusoidal features, as the original Transformer: position x (any real number) maps to
 * [sin(x w_0) .. sin(x w_{h-1}), cos(x w_0) .. cos(x w_{h-1})], w_i = 10000^(-i/h), h = dim/2
 * (dim even). nn_sinusoid_table: rows for positions pos[0..n) (host values, computed in double)
 * -> [n, dim]. nn_sinusoid_embed: the same for a tensor of positions x [N] -> [N, dim] (computed
 * in the tensor's dtype; used for the flow time, which is a tensor). */
tt_tensor *nn_sinusoid_table(const double *pos, int64_t n, int dim);
tt_tensor *nn_sinusoid_embed(const tt_tensor *x, int dim);

/* KV cache of one attention layer for incremental decoding. k, v [B, H, cap, D] are filled up to
 * len. The buffers are written in place without autograd: inference only. Handles belong to the
 * scope that was current at nn_kv_cache_init (or to the caller outside any scope). */
typedef struct nn_kv_cache {
    tt_tensor *k, *v; /* [B, H, cap, D] */
    int64_t len, cap;
} nn_kv_cache;

int nn_kv_cache_init(nn_kv_cache *c, int64_t B, int n_heads, int64_t head_dim, int64_t cap);
void nn_kv_cache_free(nn_kv_cache *c); /* frees the buffers (also fine on scoped handles) */

/* Attention over the cache plus the Tn new tokens x [B, Tn, C]: their keys/values are appended
 * (an error when the cache is full), queries attend to all len + Tn keys. causal: new token i
 * sees cached keys and new tokens <= i (end-aligned). mask: optional bool, true = attend,
 * broadcastable to [B, H, Tn, len + Tn]. Returns [B, Tn, C]; the cache grows by Tn. */
tt_tensor *nn_attention_step(const nn_attention *a, const tt_tensor *x, nn_kv_cache *c, int causal,
                             const tt_tensor *mask);
/* nn_block_fwd for the next Tn tokens, with the attention going through the cache. */
tt_tensor *nn_block_step(const nn_block *b, const tt_tensor *x, nn_kv_cache *c, int causal, const tt_tensor *mask);

#ifdef __cplusplus
}
#endif
#endif
