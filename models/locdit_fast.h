/* locdit_fast.h — LocDiT sampling without libtorch: an inference kernel in plain C.
 *
 * dit_sample (locdit.h) runs a few dozen libtorch ops per Euler step on 2F = 10 tokens, so on a
 * CPU it is bound by per-op dispatch, not arithmetic. This kernel computes the same function with
 * the weights copied once into packed float arrays, one register-blocked GEMM for every
 * projection and fused loops for LayerNorm + adaLN modulation, GELU, softmax and the gated
 * residuals:
 *
 *   - the flow-time embedding t_fc2(silu(t_fc1(sinusoid(1000 t_i)))) of each step is computed
 *     once per step count and cached;
 *   - every adaLN projection (all blocks' and the final one, stacked into one matrix) of all
 *     steps of a patch comes from one GEMM per patch, rows = steps x CFG branches;
 *   - cond and uncond CFG branches are one batch of 2B rows (or, with 2 threads, one thread
 *     each); the context half of the input embedding is computed once per patch;
 *   - the last block computes queries, attention output, projection and MLP for the F current
 *     tokens only (the context tokens' last outputs are never read).
 * Same math as dit_fwd / dit_sample in fp32; sums run in another order, so results agree to
 * float round-off (tests/models/test_locdit_fast.c: max abs error <= 1e-4, in practice ~1e-6).
 *
 * Why not cblas_sgemm: with ~20 rows per product OpenBLAS spends as long re-packing the weight
 * matrix on every call as multiplying (measured: 40 % of the sampling time in sgemm_incopy); the
 * weights here are packed once, at dit_fast_new. Activations are kept token-major
 * ([token][row][d]) so the current tokens of all rows are one contiguous block. CPU only: the
 * weights are read to host memory. Not thread-safe: one dit_fast per calling thread (it owns its
 * work buffers and helper thread).
 */
#ifndef VR_LOCDIT_FAST_H
#define VR_LOCDIT_FAST_H

#include "models/locdit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dit_fast dit_fast;

/* Arithmetic of the transformer blocks' projections. DIT_BF16: their weights and inputs rounded
 * to bf16, products summed in fp32 (AVX512-BF16's vdpbf16ps; ~1.9x the fp32 GEMM's throughput);
 * everything else stays fp32. Not the same numbers as fp32: see results/bench/generate_speed.md
 * for the error it makes. */
typedef enum { DIT_FP32 = 0, DIT_BF16 = 1 } dit_precision;

/* 1 when this CPU runs the bf16 kernel (AVX512-BF16), else 0. */
int dit_fast_bf16_supported(void);

/* Copy m's current weights (f32, any device) into a new kernel, computing in `precision`
 * (DIT_BF16 fails with a message on a CPU without AVX512-BF16). threads 2: with guidance the
 * unconditional branch of each step runs on a helper thread (same numbers, bit for bit); 1 (or
 * less): everything on the calling thread. NULL with tt_last_error() on failure (a parameter of
 * the wrong shape, out of memory). Later changes to m's parameters are not seen: make a new one
 * after training steps or loading weights. */
dit_fast *dit_fast_new(const locdit *m, int threads, dit_precision precision);
void dit_fast_free(dit_fast *f); /* NULL is fine */

/* Velocity for n rows, as dit_fwd without dropout: ctx, xt [n, F, M], t [n], c [n, d] -> v [n, F, M]
 * (host arrays, row-major). 0, or -1 with tt_last_error(). */
int dit_fast_velocity(dit_fast *f, int n, const float *ctx, const float *xt, const float *t, const float *c, float *v);

/* dit_sample on host arrays: sampling (Euler or Heun, locdit.h) of B patches from x (noise in, x1 out) [B, F, M] with
 * context ctx [B, F, M] and condition c [B, d]; cfg_scale 1 runs the conditional branch only.
 * 0, or -1 with tt_last_error(). */
int dit_fast_sample(dit_fast *f, int B, const float *ctx, const float *c, float *x, int steps, dit_solver solver,
                    double cfg_scale);

/* The same on tensors, with dit_sample's signature: ctx, x0 [B, F, M], c [B, d] (f32, any
 * device) -> a new CPU tensor x1 [B, F, M] (NULL with tt_last_error() on bad shapes). */
tt_tensor *dit_fast_sample_tt(dit_fast *f, const tt_tensor *ctx, const tt_tensor *c, const tt_tensor *x0, int steps,
                              dit_solver solver, double cfg_scale);

#ifdef __cplusplus
}
#endif
#endif
