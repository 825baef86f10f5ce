/* fused.c — see fused.h. */
#include "core/fused.h"

#include <math.h>
#include <string.h>

VR_SIMD_CLONES void vr_gelu_tanh_fwd(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = vr_gelu_tanh(x[i]);
}

VR_SIMD_CLONES void vr_gelu_tanh_bwd(const float *x, const float *gy, float *gx, size_t n) {
    const float k = 0.7978845608028654f, k3 = 3.0f * 0.044715f;
    for (size_t i = 0; i < n; i++) {
        float v = x[i], e = vr_exp_approx(-2.0f * k * (v + 0.044715f * v * v * v));
        float s = 1.0f / (1.0f + e), s1 = e * s; /* 1 - s without the cancellation near s = 1 */
        gx[i] = gy[i] * (s + 2.0f * v * s * s1 * k * (1.0f + k3 * v * v));
    }
}

static inline void axpy(float *y, float a, const float *x, int n) {
    for (int e = 0; e < n; e++) y[e] += a * x[e];
}

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE void attn_fwd_body(vr_attn_view q, vr_attn_view k, vr_attn_view v, vr_attn_view o, float *p, int64_t n,
                                 int tq, int tk, int d, int dv, float scale) {
    for (int64_t s = 0; s < n; s++) {
        const float *qs = q.base + q.off[s], *ks = k.base + k.off[s], *vs = v.base + v.off[s];
        float *os = o.base + o.off[s], *ps = p + s * tq * tk;
        for (int i = 0; i < tq; i++) {
            float *pi = ps + i * tk, mx = -INFINITY, sum = 0;
            for (int j = 0; j < tk; j++) {
                pi[j] = vr_dot8(qs + i * q.ts, ks + j * k.ts, d) * scale;
                mx = pi[j] > mx ? pi[j] : mx;
            }
            for (int j = 0; j < tk; j++) sum += pi[j] = vr_exp_approx(pi[j] - mx);
            float inv = 1.0f / sum, *oi = os + i * o.ts;
            memset(oi, 0, (size_t)dv * sizeof *oi);
            for (int j = 0; j < tk; j++) {
                pi[j] *= inv;
                axpy(oi, pi[j], vs + j * v.ts, dv);
            }
        }
    }
}

ALWAYS_INLINE void attn_bwd_body(vr_attn_view q, vr_attn_view k, vr_attn_view v, const float *p, vr_attn_view go,
                                 vr_attn_view gq, vr_attn_view gk, vr_attn_view gv, int64_t n, int tq, int tk, int d,
                                 int dv, float scale) {
    for (int64_t s = 0; s < n; s++) {
        const float *qs = q.base + q.off[s], *ks = k.base + k.off[s], *vs = v.base + v.off[s];
        const float *gos = go.base + go.off[s], *ps = p + s * tq * tk;
        float *gqs = gq.base + gq.off[s], *gks = gk.base + gk.off[s], *gvs = gv.base + gv.off[s];
        for (int j = 0; j < tk; j++) {
            memset(gks + j * gk.ts, 0, (size_t)d * sizeof(float));
            memset(gvs + j * gv.ts, 0, (size_t)dv * sizeof(float));
        }
        for (int i = 0; i < tq; i++) {
            const float *pi = ps + i * tk, *goi = gos + i * go.ts, *qi = qs + i * q.ts;
            float ds[VR_ATTN_SHORT_MAX], r = 0;
            for (int j = 0; j < tk; j++) {
                axpy(gvs + j * gv.ts, pi[j], goi, dv); /* dv_j += p_ij go_i */
                ds[j] = vr_dot8(goi, vs + j * v.ts, dv);  /* dp_ij */
                r += pi[j] * ds[j];
            }
            float *gqi = gqs + i * gq.ts;
            memset(gqi, 0, (size_t)d * sizeof *gqi);
            for (int j = 0; j < tk; j++) {
                float g = pi[j] * (ds[j] - r) * scale; /* d score_ij, times the scale of q k^T */
                axpy(gqi, g, ks + j * k.ts, d);
                axpy(gks + j * gk.ts, g, qi, d);
            }
        }
    }
}

/* The head width is a compile-time constant in the common case (64: the small and base models),
 * so the dot products and axpys over it unroll fully; other widths take the generic loop. */
VR_SIMD_CLONES void vr_attn_short_fwd(vr_attn_view q, vr_attn_view k, vr_attn_view v, vr_attn_view o, float *p,
                                      int64_t n, int tq, int tk, int d, int dv, float scale) {
    if (d == 64 && dv == 64) attn_fwd_body(q, k, v, o, p, n, tq, tk, 64, 64, scale);
    else attn_fwd_body(q, k, v, o, p, n, tq, tk, d, dv, scale);
}

VR_SIMD_CLONES void vr_attn_short_bwd(vr_attn_view q, vr_attn_view k, vr_attn_view v, const float *p, vr_attn_view go,
                                      vr_attn_view gq, vr_attn_view gk, vr_attn_view gv, int64_t n, int tq, int tk,
                                      int d, int dv, float scale) {
    if (d == 64 && dv == 64) attn_bwd_body(q, k, v, p, go, gq, gk, gv, n, tq, tk, 64, 64, scale);
    else attn_bwd_body(q, k, v, p, go, gq, gk, gv, n, tq, tk, d, dv, scale);
}

VR_SIMD_CLONES void vr_ln_modulate_fwd(const float *x, const float *shift, const float *scale, int64_t ld, float *y,
                                       float *stats, int64_t N, int S, int d, float eps) {
    for (int64_t n = 0; n < N; n++) {
        const float *sh = shift + n * ld, *sc = scale + n * ld;
        for (int s = 0; s < S; s++) {
            int64_t tok = n * S + s;
            const float *xt = x + tok * d;
            float *yt = y + tok * d, mean = vr_sum8(xt, d) / (float)d;
            float rstd = 1.0f / sqrtf(vr_sqdev8(xt, d, mean) / (float)d + eps);
            stats[2 * tok] = mean, stats[2 * tok + 1] = rstd;
            for (int j = 0; j < d; j++) yt[j] = ((xt[j] - mean) * rstd) * (1.0f + sc[j]) + sh[j];
        }
    }
}

VR_SIMD_CLONES void vr_ln_modulate_bwd(const float *x, const float *scale, int64_t ld, const float *stats,
                                       const float *gy, float *gx, float *gshift, float *gscale, int64_t N, int S,
                                       int d) {
    for (int64_t n = 0; n < N; n++) {
        const float *sc = scale + n * ld;
        float *gsh = gshift + n * d, *gsc = gscale + n * d;
        memset(gsh, 0, (size_t)d * sizeof *gsh);
        memset(gsc, 0, (size_t)d * sizeof *gsc);
        for (int s = 0; s < S; s++) {
            int64_t tok = n * S + s;
            const float *xt = x + tok * d, *gt = gy + tok * d;
            float mean = stats[2 * tok], rstd = stats[2 * tok + 1], a = 0, b = 0, *gxt = gx + tok * d;
            for (int j = 0; j < d; j++) {
                float xh = (xt[j] - mean) * rstd, gh = gt[j] * (1.0f + sc[j]); /* d y / d xhat */
                gsh[j] += gt[j];
                gsc[j] += gt[j] * xh;
                a += gh;
                b += gh * xh;
            }
            a /= (float)d, b /= (float)d;
            for (int j = 0; j < d; j++) {
                float xh = (xt[j] - mean) * rstd;
                gxt[j] = rstd * (gt[j] * (1.0f + sc[j]) - a - xh * b);
            }
        }
    }
}

VR_SIMD_CLONES void vr_gated_add_fwd(const float *x, const float *gate, int64_t ld, const float *y, float *h, int64_t N,
                                     int S, int d) {
    for (int64_t n = 0; n < N; n++) {
        const float *g = gate + n * ld;
        for (int s = 0; s < S; s++) {
            int64_t o = (n * S + s) * d;
            for (int j = 0; j < d; j++) h[o + j] = x[o + j] + g[j] * y[o + j];
        }
    }
}

VR_SIMD_CLONES void vr_gated_add_bwd(const float *gate, int64_t ld, const float *y, const float *gh, float *gy,
                                     float *ggate, int64_t N, int S, int d) {
    for (int64_t n = 0; n < N; n++) {
        const float *g = gate + n * ld;
        float *gg = ggate + n * d;
        memset(gg, 0, (size_t)d * sizeof *gg);
        for (int s = 0; s < S; s++) {
            int64_t o = (n * S + s) * d;
            for (int j = 0; j < d; j++) {
                gy[o + j] = g[j] * gh[o + j];
                gg[j] += gh[o + j] * y[o + j];
            }
        }
    }
}
