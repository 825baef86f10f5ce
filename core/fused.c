/* fused.c — see fused.h. */
#include "core/fused.h"

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
