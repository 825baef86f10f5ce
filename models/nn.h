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

#include "core/tt.h"

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

tt_tensor *nn_linear_fwd(const nn_linear *l, const tt_tensor *x);
tt_tensor *nn_norm_fwd(const nn_norm *n, const tt_tensor *x);
/* mask: optional (bool, true = attend, broadcastable to [B, H, T, T]). */
tt_tensor *nn_attention_fwd(const nn_attention *a, const tt_tensor *x, int causal, const tt_tensor *mask);
tt_tensor *nn_mlp_fwd(const nn_mlp *m, const tt_tensor *x);
tt_tensor *nn_block_fwd(const nn_block *b, const tt_tensor *x, int causal, const tt_tensor *mask);

#ifdef __cplusplus
}
#endif
#endif
