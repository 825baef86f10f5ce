/* rng.h — a small, fast, seedable RNG for everything that is not a tensor (shuffles, dropout
 * choices in the data path, synthetic data). xoshiro256** seeded through splitmix64; its whole
 * state is four uint64 words, saved in checkpoints so a resumed run draws the same numbers.
 * Tensor randomness uses the wrapper's tt_gen (libtorch's generator) instead.
 */
#ifndef VR_RNG_H
#define VR_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_rng {
    uint64_t s[4];
} vr_rng;

void vr_rng_seed(vr_rng *r, uint64_t seed);
/* An independent stream derived from (seed, stream), e.g. (run seed, rank) or (seed, clip index). */
void vr_rng_seed_stream(vr_rng *r, uint64_t seed, uint64_t stream);
uint64_t vr_rng_u64(vr_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double vr_rng_uniform(vr_rng *r);
/* Uniform integer in [0, n), unbiased. n must be > 0. */
uint64_t vr_rng_below(vr_rng *r, uint64_t n);
/* Standard normal (Box–Muller; uses two uniforms per call, no cached spare so state stays simple). */
double vr_rng_normal(vr_rng *r);
/* Fisher–Yates shuffle of n int64 indices. */
void vr_rng_shuffle_i64(vr_rng *r, int64_t *a, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
