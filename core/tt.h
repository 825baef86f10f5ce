/* tt.h — a small C API over libtorch ("tiny torch"). Models, trainer and metrics are C on this.
 *
 * Handles. A tt_tensor* is an opaque handle to one at::Tensor. Ops return new handles; inputs
 * are never modified except by the ops whose names end in '_' (in place, for optimisers).
 *
 * Errors. No C++ exception crosses this boundary. A failing op returns NULL (or -1) and stores a
 * message readable with tt_last_error(), e.g. "tt_matmul: mat1 and mat2 shapes cannot be
 * multiplied (3x4 and 5x6)". An op handed a NULL input returns NULL and keeps the earlier
 * message, so a chain of ops can be checked once at its end and still name the op that failed
 * first:   y = tt_gelu(tt_linear(x, w, b));  if (!y) return fail(tt_last_error());
 *
 * Scopes (ggml-style arenas). Every handle created between tt_scope_begin() and tt_scope_end()
 * is freed by tt_scope_end(), except those passed to tt_keep(), which move to the enclosing scope
 * (or become caller-owned at the outermost level). Handles created outside any scope are owned
 * by the caller: tt_free() them. Scopes are per thread and nest.
 *
 * Parameters live in a named registry (tt_params), which owns them and is the key space of
 * checkpoints ("planner.layers.3.attn.wq").
 *
 * Devices/dtypes. Creation ops allocate on the thread's default device (tt_set_default_device),
 * so one model code path runs on CPU or CUDA. Built against Debian's libtorch 1.13 (CPU) and
 * PyTorch's 2.x; version differences are confined to tt.cpp.
 */
#ifndef VR_TT_H
#define VR_TT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_tensor tt_tensor;
typedef struct tt_gen tt_gen;
typedef struct tt_params tt_params;

typedef enum {
    TT_F32 = 0, TT_F64, TT_F16, TT_BF16, TT_I64, TT_I32, TT_I16, TT_I8, TT_U8, TT_BOOL, TT_C64
} tt_dtype;

typedef enum { TT_CPU = 0, TT_CUDA = 1 } tt_device;

/* Shape literal helper: tt_reshape(x, TT_SHAPE(B, T, C)) expands to (int64_t[]){B,T,C}, 3. */
#define TT_SHAPE(...) ((const int64_t[]){__VA_ARGS__}), ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))

/* ---- errors ------------------------------------------------------------------------------ */
const char *tt_last_error(void);   /* "" when none */
void tt_clear_error(void);
/* Set the message from C code layered on the wrapper (models), so their errors travel the same
 * way as the ops'. Returns NULL for `return tt_fail(...)`. */
void *tt_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* ---- runtime ----------------------------------------------------------------------------- */
const char *tt_version(void);      /* libtorch version, e.g. "1.13.0" */
char *tt_build_config(void);       /* at::show_config(), malloc'd */
int tt_cuda_available(void);
int tt_has_fused_attention(void);  /* 1 when tt_attention uses libtorch's fused SDPA */
void tt_set_num_threads(int n);    /* libtorch intra-op threads (OpenBLAS has its own) */
int tt_get_num_threads(void);
void tt_set_default_device(tt_device d);
tt_device tt_get_default_device(void);
void tt_synchronize(void);         /* wait for CUDA work (no-op on CPU), for timing */
size_t tt_dtype_size(tt_dtype d);
const char *tt_dtype_name(tt_dtype d);

/* ---- lifetime and scopes ----------------------------------------------------------------- */
void tt_scope_begin(void);
void tt_scope_end(void);
tt_tensor *tt_keep(tt_tensor *t);  /* survives the current scope; returns t (NULL passes through) */
void tt_free(tt_tensor *t);        /* NULL is fine */
int tt_scope_depth(void);
int64_t tt_live_handles(void);     /* handles alive on this thread (leak checks in tests) */

/* ---- info -------------------------------------------------------------------------------- */
int tt_ndim(const tt_tensor *t);                 /* -1 on NULL */
int64_t tt_size(const tt_tensor *t, int dim);    /* negative dims count from the end; -1 on error */
int64_t tt_numel(const tt_tensor *t);
int tt_shape(const tt_tensor *t, int64_t *out, int cap);  /* writes up to cap dims, returns ndim */
tt_dtype tt_dtype_of(const tt_tensor *t);
tt_device tt_device_of(const tt_tensor *t);
char *tt_describe(const tt_tensor *t);           /* "f32[2, 3] cpu", malloc'd */

/* ---- creation (on the default device) ---------------------------------------------------- */
tt_tensor *tt_empty(const int64_t *shape, int ndim, tt_dtype dt);
tt_tensor *tt_zeros(const int64_t *shape, int ndim, tt_dtype dt);
tt_tensor *tt_ones(const int64_t *shape, int ndim, tt_dtype dt);
tt_tensor *tt_full(const int64_t *shape, int ndim, double value, tt_dtype dt);
tt_tensor *tt_scalar(double value, tt_dtype dt);
tt_tensor *tt_arange(double start, double end, double step, tt_dtype dt);
tt_tensor *tt_eye(int64_t n, tt_dtype dt);
tt_tensor *tt_hann_window(int64_t n, tt_dtype dt);  /* periodic, as torch.hann_window */
/* Copy from a C buffer of `dt` elements (host memory) into a new tensor. */
tt_tensor *tt_from_data(const void *data, tt_dtype dt, const int64_t *shape, int ndim);
/* Copy out to host memory; nbytes must equal numel * dtype size of t. */
int tt_to_data(const tt_tensor *t, void *dst, size_t nbytes);
int tt_item(const tt_tensor *t, double *out);     /* one-element tensor -> double */
/* Raw pointer to a contiguous CPU tensor's storage (NULL otherwise) — for tight C loops. */
void *tt_data_ptr(tt_tensor *t);

/* ---- random (seeded generator, device of creation) ---------------------------------------- */
tt_gen *tt_gen_new(uint64_t seed);
void tt_gen_free(tt_gen *g);
/* Generator state as bytes (for checkpoints): returns the size; copies if cap is large enough. */
int64_t tt_gen_get_state(tt_gen *g, void *buf, size_t cap);
int tt_gen_set_state(tt_gen *g, const void *buf, size_t n);
tt_tensor *tt_randn(tt_gen *g, const int64_t *shape, int ndim, tt_dtype dt);
tt_tensor *tt_rand(tt_gen *g, const int64_t *shape, int ndim, tt_dtype dt);  /* U[0,1) */
tt_tensor *tt_randint(tt_gen *g, int64_t low, int64_t high, const int64_t *shape, int ndim);
tt_tensor *tt_randperm(tt_gen *g, int64_t n);
int tt_normal_(tt_tensor *t, tt_gen *g, double mean, double std);
int tt_uniform_(tt_tensor *t, tt_gen *g, double lo, double hi);

/* ---- copies, dtype, device --------------------------------------------------------------- */
tt_tensor *tt_clone(const tt_tensor *t);
tt_tensor *tt_detach(const tt_tensor *t);
tt_tensor *tt_contiguous(const tt_tensor *t);
tt_tensor *tt_to_dtype(const tt_tensor *t, tt_dtype dt);
tt_tensor *tt_to_device(const tt_tensor *t, tt_device d);

/* ---- elementwise (broadcasting) ---------------------------------------------------------- */
tt_tensor *tt_add(const tt_tensor *a, const tt_tensor *b);
tt_tensor *tt_sub(const tt_tensor *a, const tt_tensor *b);
tt_tensor *tt_mul(const tt_tensor *a, const tt_tensor *b);
tt_tensor *tt_div(const tt_tensor *a, const tt_tensor *b);
tt_tensor *tt_maximum(const tt_tensor *a, const tt_tensor *b);
tt_tensor *tt_minimum(const tt_tensor *a, const tt_tensor *b);
tt_tensor *tt_pow(const tt_tensor *a, const tt_tensor *b);
tt_tensor *tt_add_scalar(const tt_tensor *a, double s);
tt_tensor *tt_mul_scalar(const tt_tensor *a, double s);
tt_tensor *tt_rsub_scalar(double s, const tt_tensor *a);  /* s - a */
tt_tensor *tt_pow_scalar(const tt_tensor *a, double p);
tt_tensor *tt_clamp(const tt_tensor *a, double lo, double hi);
tt_tensor *tt_neg(const tt_tensor *a);
tt_tensor *tt_exp(const tt_tensor *a);
tt_tensor *tt_log(const tt_tensor *a);
tt_tensor *tt_sqrt(const tt_tensor *a);
tt_tensor *tt_rsqrt(const tt_tensor *a);
tt_tensor *tt_abs(const tt_tensor *a);       /* also |z| of complex */
tt_tensor *tt_square(const tt_tensor *a);
tt_tensor *tt_tanh(const tt_tensor *a);
tt_tensor *tt_sigmoid(const tt_tensor *a);
tt_tensor *tt_sin(const tt_tensor *a);
tt_tensor *tt_cos(const tt_tensor *a);
tt_tensor *tt_round(const tt_tensor *a);
tt_tensor *tt_floor(const tt_tensor *a);
tt_tensor *tt_sign(const tt_tensor *a);
tt_tensor *tt_relu(const tt_tensor *a);
tt_tensor *tt_silu(const tt_tensor *a);
tt_tensor *tt_gelu(const tt_tensor *a, int tanh_approx);
/* The DiT's adaLN pieces, x [N, S, d] with rows shift, scale, gate [N, 1, d]:
 * tt_ln_modulate = LN(x) (1 + scale) + shift (LayerNorm without affine), tt_gated_add = x + gate * y.
 * On f32 CPU tensors one fused pass each way (core/fused.h), else the composite ops. */
tt_tensor *tt_ln_modulate(const tt_tensor *x, const tt_tensor *shift, const tt_tensor *scale, double eps);
tt_tensor *tt_gated_add(const tt_tensor *x, const tt_tensor *gate, const tt_tensor *y);
/* Straight-through rounding: forward round(a), backward identity (FSQ). */
tt_tensor *tt_round_ste(const tt_tensor *a);

/* comparisons -> bool tensors */
tt_tensor *tt_lt(const tt_tensor *a, const tt_tensor *b);
tt_tensor *tt_gt(const tt_tensor *a, const tt_tensor *b);
tt_tensor *tt_eq(const tt_tensor *a, const tt_tensor *b);
tt_tensor *tt_lt_scalar(const tt_tensor *a, double s);
tt_tensor *tt_gt_scalar(const tt_tensor *a, double s);
tt_tensor *tt_eq_scalar(const tt_tensor *a, double s);
tt_tensor *tt_logical_and(const tt_tensor *a, const tt_tensor *b);
tt_tensor *tt_logical_not(const tt_tensor *a);
tt_tensor *tt_isfinite(const tt_tensor *a);

/* masks */
tt_tensor *tt_where(const tt_tensor *cond, const tt_tensor *a, const tt_tensor *b);
tt_tensor *tt_masked_fill(const tt_tensor *a, const tt_tensor *mask, double value);
tt_tensor *tt_tril(const tt_tensor *a, int64_t diagonal);
tt_tensor *tt_triu(const tt_tensor *a, int64_t diagonal);

/* ---- linear algebra ---------------------------------------------------------------------- */
tt_tensor *tt_matmul(const tt_tensor *a, const tt_tensor *b);
/* y = x W^T + b, W [out, in] as torch.nn.Linear; b may be NULL. */
tt_tensor *tt_linear(const tt_tensor *x, const tt_tensor *w, const tt_tensor *b);
/* Symmetric eigendecomposition (lower triangle used). Outputs ascending eigenvalues and
 * eigenvectors as columns. Works in the input's dtype: pass float64 for metrics. */
int tt_linalg_eigh(const tt_tensor *a, tt_tensor **evals, tt_tensor **evecs);
tt_tensor *tt_cdist(const tt_tensor *a, const tt_tensor *b);  /* pairwise Euclidean [.., N, M] */
tt_tensor *tt_diagonal(const tt_tensor *a);

/* ---- neural-net ops ---------------------------------------------------------------------- */
tt_tensor *tt_softmax(const tt_tensor *a, int dim);
tt_tensor *tt_log_softmax(const tt_tensor *a, int dim);
/* LayerNorm over the last dim; w and b may be NULL. */
tt_tensor *tt_layer_norm(const tt_tensor *x, const tt_tensor *w, const tt_tensor *b, double eps);
/* RMSNorm over the last dim: x * rsqrt(mean(x^2) + eps) * w; w may be NULL. */
tt_tensor *tt_rms_norm(const tt_tensor *x, const tt_tensor *w, double eps);
tt_tensor *tt_embedding(const tt_tensor *weight, const tt_tensor *indices);
/* Scaled dot-product attention. q [.., Tq, D], k/v [.., Tk, D]. mask (may be NULL): bool
 * (true = attend) or additive float, broadcastable to [.., Tq, Tk]. causal: query i attends to
 * keys j <= i + (Tk - Tq), i.e. aligned at the end, which is right for KV-cached decoding.
 * scale <= 0 means 1/sqrt(D). */
tt_tensor *tt_attention(const tt_tensor *q, const tt_tensor *k, const tt_tensor *v, const tt_tensor *mask,
                        int causal, double scale);
/* The same on a transformer's fused projection: qkv [B, T, 3C] = [q | k | v], each of n_heads
 * heads of C / n_heads, -> the attention with the heads merged, [B, T, C]. Equal to splitting the
 * heads and calling tt_attention, but its backward hands qkv its gradient in one pass (the split's
 * own backward costs about ten passes over the activation). */
tt_tensor *tt_attention_qkv(const tt_tensor *qkv, int n_heads, const tt_tensor *mask, int causal, double scale);
/* Dropout with a seeded generator (deterministic); identity when p == 0 or !train. */
tt_tensor *tt_dropout(const tt_tensor *x, double p, int train, tt_gen *g);
tt_tensor *tt_mse_loss(const tt_tensor *pred, const tt_tensor *target);            /* mean */
tt_tensor *tt_cross_entropy(const tt_tensor *logits, const tt_tensor *target);    /* [N,C], [N] i64; mean */
tt_tensor *tt_conv1d(const tt_tensor *x, const tt_tensor *w, const tt_tensor *b, int64_t stride, int64_t padding);
tt_tensor *tt_conv2d(const tt_tensor *x, const tt_tensor *w, const tt_tensor *b, int64_t stride, int64_t padding);

/* ---- shape ------------------------------------------------------------------------------- */
tt_tensor *tt_reshape(const tt_tensor *a, const int64_t *shape, int ndim);
tt_tensor *tt_permute(const tt_tensor *a, const int64_t *dims, int ndim);
tt_tensor *tt_transpose(const tt_tensor *a, int d0, int d1);
tt_tensor *tt_unsqueeze(const tt_tensor *a, int dim);
tt_tensor *tt_squeeze(const tt_tensor *a, int dim);
tt_tensor *tt_flatten(const tt_tensor *a, int start, int end);
tt_tensor *tt_expand(const tt_tensor *a, const int64_t *shape, int ndim);
tt_tensor *tt_repeat(const tt_tensor *a, const int64_t *reps, int ndim);
tt_tensor *tt_cat(tt_tensor *const *ts, int n, int dim);
tt_tensor *tt_stack(tt_tensor *const *ts, int n, int dim);
/* a[start:end:step] along dim; end may exceed the size (clipped) or be INT64_MAX. */
tt_tensor *tt_slice(const tt_tensor *a, int dim, int64_t start, int64_t end, int64_t step);
tt_tensor *tt_select(const tt_tensor *a, int dim, int64_t index);
int tt_chunk(const tt_tensor *a, int n, int dim, tt_tensor **out);  /* fills n handles */
tt_tensor *tt_flip(const tt_tensor *a, int dim);

/* ---- reductions -------------------------------------------------------------------------- */
tt_tensor *tt_sum(const tt_tensor *a, int dim, int keepdim);
tt_tensor *tt_mean(const tt_tensor *a, int dim, int keepdim);
tt_tensor *tt_max(const tt_tensor *a, int dim, int keepdim);
tt_tensor *tt_min(const tt_tensor *a, int dim, int keepdim);
tt_tensor *tt_argmax(const tt_tensor *a, int dim, int keepdim);
tt_tensor *tt_var(const tt_tensor *a, int dim, int unbiased, int keepdim);
tt_tensor *tt_logsumexp(const tt_tensor *a, int dim, int keepdim);
tt_tensor *tt_cumsum(const tt_tensor *a, int dim);
tt_tensor *tt_sum_all(const tt_tensor *a);
tt_tensor *tt_mean_all(const tt_tensor *a);
tt_tensor *tt_max_all(const tt_tensor *a);
tt_tensor *tt_norm_all(const tt_tensor *a);  /* L2 norm of all elements */

/* ---- indexing ---------------------------------------------------------------------------- */
tt_tensor *tt_gather(const tt_tensor *a, int dim, const tt_tensor *index);
tt_tensor *tt_index_select(const tt_tensor *a, int dim, const tt_tensor *index);
tt_tensor *tt_one_hot(const tt_tensor *index, int64_t n_classes);

/* ---- audio ------------------------------------------------------------------------------- */
/* Complex STFT [.., n_fft/2+1, frames] (window NULL = periodic Hann of win_length). */
tt_tensor *tt_stft(const tt_tensor *x, int64_t n_fft, int64_t hop, int64_t win_length, const tt_tensor *window,
                   int center);
/* Inverse STFT; always give the output length (samples). */
tt_tensor *tt_istft(const tt_tensor *spec, int64_t n_fft, int64_t hop, int64_t win_length, const tt_tensor *window,
                    int center, int64_t length);
tt_tensor *tt_angle(const tt_tensor *z);
tt_tensor *tt_polar(const tt_tensor *magnitude, const tt_tensor *angle);  /* complex from |z|, arg z */
tt_tensor *tt_real(const tt_tensor *z);
tt_tensor *tt_imag(const tt_tensor *z);

/* ---- in place (optimisers, EMA, init). Return 0 or -1. ----------------------------------- */
int tt_copy_(tt_tensor *dst, const tt_tensor *src);
int tt_zero_(tt_tensor *t);
int tt_fill_(tt_tensor *t, double v);
int tt_add_(tt_tensor *t, const tt_tensor *other, double alpha);           /* t += alpha*other */
int tt_mul_scalar_(tt_tensor *t, double s);
int tt_addcmul_(tt_tensor *t, const tt_tensor *a, const tt_tensor *b, double value);  /* t += v*a*b */
int tt_addcdiv_(tt_tensor *t, const tt_tensor *a, const tt_tensor *b, double value);  /* t += v*a/b */
int tt_lerp_(tt_tensor *t, const tt_tensor *end, double weight);          /* t += w*(end-t) */

/* ---- autograd ---------------------------------------------------------------------------- */
int tt_set_requires_grad(tt_tensor *t, int on);
int tt_requires_grad(const tt_tensor *t);
int tt_backward(const tt_tensor *loss);           /* loss must be a scalar */
tt_tensor *tt_grad(const tt_tensor *t);           /* NULL with an error if t has no grad */
int tt_has_grad(const tt_tensor *t);
int tt_zero_grad(tt_tensor *t);                   /* drops the grad (set to None) */
void tt_no_grad_begin(void);                      /* nestable, per thread */
void tt_no_grad_end(void);
/* bf16 autocast for matmuls/linear on CPU or CUDA (nestable begin/end, per thread). */
void tt_autocast_begin(tt_dtype dt);
void tt_autocast_end(void);
/* libtorch's own op profiler (CPU), for finding where a step's time goes: between begin and end
 * every ATen op is timed; end writes the events to `path` as a Chrome trace (chrome://tracing,
 * or bench/profile_ops.py for a table of self times). One profile at a time. 0 or -1. */
int tt_profile_begin(const char *path);
int tt_profile_end(void);

/* ---- parameter registry ------------------------------------------------------------------ */
tt_params *tt_params_new(void);
void tt_params_free(tt_params *p);
/* Takes ownership of t (removing it from any scope), marks it requires_grad, returns it. A
 * duplicate name is an error (NULL). */
tt_tensor *tt_params_add(tt_params *p, const char *name, tt_tensor *t);
tt_tensor *tt_params_get(const tt_params *p, const char *name);   /* NULL if absent (no error) */
int tt_params_count(const tt_params *p);
const char *tt_params_name(const tt_params *p, int i);
tt_tensor *tt_params_at(const tt_params *p, int i);
int64_t tt_params_numel(const tt_params *p);

/* ---- TorchScript modules (eval's embedding backbones) ------------------------------------
 * A module a user exported from PyTorch (torch.jit.script / torch.jit.trace, then .save()),
 * loaded with torch::jit::load onto the default device and put in eval mode. The contract is
 * one tensor in, one tensor out: tt_jit_forward runs forward(input) under no-grad and returns
 * the output as a new handle (scope rules as for ops). Errors (missing or corrupt file, a
 * failure inside the module, a module that returns a tuple/list/dict instead of one tensor)
 * come back as NULL with tt_last_error(), e.g. "tt_jit_load: m.pt: not a TorchScript file
 * (PytorchStreamReader failed reading zip archive: failed finding central directory)". */
typedef struct tt_jit tt_jit;
tt_jit *tt_jit_load(const char *path);
tt_tensor *tt_jit_forward(tt_jit *m, const tt_tensor *input);
void tt_jit_free(tt_jit *m);  /* NULL is fine */

#ifdef __cplusplus
}
#endif
#endif
