/* fused.h — elementwise kernels in plain C, vectorised by the compiler: shared by the libtorch
 * wrapper (core/tt.cpp: GELU forward and backward for training) and the libtorch-free LocDiT
 * sampler (models/locdit_fast.c).
 *
 * Why: libtorch 1.13 on CPU computes the tanh-approximated GELU through Sleef's tanh, forward and
 * backward as separate passes: 18 % of a `small` training step (results/bench/train_robin.md). One
 * pass over the data with a polynomial e^x does the same function several times faster.
 *
 * Every kernel runs on the calling thread: right for the runtime.torch_threads = 1 policy
 * (core/runtime.h), where libtorch's own elementwise ops are single-threaded too. With more torch
 * threads libtorch would spread its ops over them and these would not. */
#ifndef VR_FUSED_H
#define VR_FUSED_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Loops get an AVX-512, an AVX2 and a baseline clone, picked at load time (GCC). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VR_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VR_SIMD_CLONES
#endif

/* e^x to ~2 ulp for x in [-87, 88] (clamped outside; NaN stays NaN), in a form the compiler
 * vectorises: 2^n by exponent bits, e^r on |r| <= ln2/2 by a degree-7 Taylor polynomial. */
static inline float vr_exp_approx(float x) {
    float c = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    c = x == x ? c : 0.0f;                                   /* NaN: a finite stand-in, fixed below */
    float n = (c * 1.44269504f + 12582912.0f) - 12582912.0f; /* round(c / ln 2) */
    float r = c - n * 0.693145751953125f;
    r = r - n * 1.428606765330187e-6f;
    float e = 1.0f / 5040;
    e = e * r + 1.0f / 720;
    e = e * r + 1.0f / 120;
    e = e * r + 1.0f / 24;
    e = e * r + 1.0f / 6;
    e = e * r + 0.5f;
    e = e * r + 1.0f;
    e = e * r + 1.0f;
    union {
        int32_t i;
        float f;
    } s = {.i = ((int32_t)n + 127) << 23};
    return x == x ? e * s.f : x;
}

/* GELU, tanh form: 0.5 x (1 + tanh(y)) = x s with s = 1 / (1 + e^(-2y)), y = sqrt(2/pi) (x + 0.044715 x^3) */
static inline float vr_gelu_tanh(float x) {
    float y = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    return x / (1.0f + vr_exp_approx(-2.0f * y));
}

/* sum, dot product and sum of squared deviations over [0, n) with 8 partial sums (vectorisable,
 * and closer to libtorch's cascade sums than one running sum) */
static inline float vr_sum8(const float *x, int n) {
    float acc[8] = {0};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[j + k];
    for (; j < n; j++) acc[0] += x[j];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static inline float vr_dot8(const float *x, const float *y, int n) {
    float acc[8] = {0};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[j + k] * y[j + k];
    for (; j < n; j++) acc[0] += x[j] * y[j];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static inline float vr_sqdev8(const float *x, int n, float mean) {
    float acc[8] = {0};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++) acc[k] += (x[j + k] - mean) * (x[j + k] - mean);
    for (; j < n; j++) acc[0] += (x[j] - mean) * (x[j] - mean);
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* y[i] = gelu_tanh(x[i]), i < n */
void vr_gelu_tanh_fwd(const float *x, float *y, size_t n);

/* gx[i] = gy[i] * gelu_tanh'(x[i]), i < n: with s as above, 0.5 (1 + tanh y) = s and
 * 1 - tanh^2 y = 4 s (1 - s), so gelu' = s + 2 x s (1 - s) sqrt(2/pi) (1 + 3 * 0.044715 x^2).
 * Both are computed without the cancellation of 1 + tanh y near y -> -inf (forward) and of
 * 1 - s near s -> 1 (backward), which libtorch's f32 formulas have: against a float64 reference
 * they err by <= 1.2e-6 relative forward (libtorch: 5e-5) and <= 1e-6 absolute backward. */
void vr_gelu_tanh_bwd(const float *x, const float *gy, float *gx, size_t n);

/* ---- attention over short sequences ----
 * softmax(scale q k^T) v for n independent sequences (batch x heads) of at most VR_ATTN_SHORT_MAX
 * tokens, without mask. libtorch 1.13 runs this as one BLAS call per sequence and per product
 * (q k^T, p v and four more backward): for the LocDiT's 10-token patches, 3,200 sequences per layer
 * of a `small` training step, ~6 GFLOP/s and 9 % of the step. Plain loops over the head width do it
 * in a fraction of that. Sums run in another order than libtorch's: results agree to round-off.
 *
 * A view addresses sequence i's token t, element e at base[off[i] + t * ts + e]: heads read
 * straight out of a fused [B, T, 3, H, D] projection without a copy. */
enum { VR_ATTN_SHORT_MAX = 64 };

typedef struct vr_attn_view {
    float *base;
    const int64_t *off; /* [n] start of each sequence */
    int64_t ts;         /* token stride; elements are contiguous */
} vr_attn_view;

/* o = softmax(scale q k^T) v; p [n, tq, tk] receives the probabilities (for the backward) */
void vr_attn_short_fwd(vr_attn_view q, vr_attn_view k, vr_attn_view v, vr_attn_view o, float *p, int64_t n, int tq,
                       int tk, int d, int dv, float scale);

/* gradients of the above from go = dL/do and p: gq, gk, gv are overwritten */
void vr_attn_short_bwd(vr_attn_view q, vr_attn_view k, vr_attn_view v, const float *p, vr_attn_view go,
                       vr_attn_view gq, vr_attn_view gk, vr_attn_view gv, int64_t n, int tq, int tk, int d, int dv,
                       float scale);

/* ---- adaLN: LayerNorm + modulation, gated residual ----
 * The DiT blocks' y = LN(x) (1 + scale) + shift and h = x + gate * y, x [N, S, d] with one
 * shift/scale/gate row [d] per sequence n (rows ld floats apart: views into the stacked adaLN
 * projection). In libtorch each is several broadcast ops forward and more backward (sums over S
 * for the row gradients), each a pass over an [N, S, d] activation; fused, one pass each way. */

/* y = LN(x) (1 + scale) + shift (LayerNorm without affine, biased variance, eps inside the root);
 * stats [N * S, 2] receives each token's mean and 1 / std for the backward */
void vr_ln_modulate_fwd(const float *x, const float *shift, const float *scale, int64_t ld, float *y, float *stats,
                        int64_t N, int S, int d, float eps);

/* from gy: gx [N, S, d], gshift and gscale [N, d] (overwritten) */
void vr_ln_modulate_bwd(const float *x, const float *scale, int64_t ld, const float *stats, const float *gy, float *gx,
                        float *gshift, float *gscale, int64_t N, int S, int d);

/* h = x + gate * y */
void vr_gated_add_fwd(const float *x, const float *gate, int64_t ld, const float *y, float *h, int64_t N, int S, int d);

/* from gh: gy = gate * gh, ggate [N, d] = sum over S of gh * y (gx is gh itself) */
void vr_gated_add_bwd(const float *gate, int64_t ld, const float *y, const float *gh, float *gy, float *ggate,
                      int64_t N, int S, int d);

#ifdef __cplusplus
}
#endif
#endif
