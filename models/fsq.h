/* fsq.h — finite scalar quantisation of the plan (Mentzer et al. 2023, "Finite Scalar
 * Quantization: VQ-VAE Made Simple").
 *
 *   z     = down(h)                                 [.., n]   n = number of levels
 *   bound = tanh(z + shift) * half_l - offset       per dim i with L = levels[i]:
 *           half_l = (L - 1)(1 + 1e-3) / 2, offset = 0.5 for even L else 0,
 *           shift = atanh(offset / half_l)          -> values round to the L integers
 *                                                      -floor(L/2) .. L - 1 - floor(L/2)
 *   code  = round(bound)  (straight-through: the gradient passes as if round were identity)
 *   out   = up(code / floor(L/2))                   [.., d]  (codes normalised to [-1, 1])
 *
 * The codebook is implicit: the product of the levels (8·8·8·5·5·5 = 64000 by default); a code's
 * index is sum_i (code_i + floor(L_i/2)) · prod_{j<i} L_j. No codebook loss is needed.
 */
#ifndef VR_FSQ_H
#define VR_FSQ_H

#include <stdint.h>

#include "models/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FSQ_MAX_DIMS 16

typedef struct fsq {
    nn_linear down; /* [n, d] */
    nn_linear up;   /* [d, n] */
    int n;
    int levels[FSQ_MAX_DIMS];
    int64_t codebook_size;
} fsq;

/* Parameters "<prefix>.down.*", "<prefix>.up.*". Levels must be >= 2, at most FSQ_MAX_DIMS of
 * them, codebook size at most 2^40. 0 or -1 + tt_last_error(). */
int fsq_init(fsq *f, tt_params *p, const char *prefix, int d, const int *levels, int n, tt_gen *g);

/* h [.., d] -> quantised plan [.., d]. codes (may be NULL): the integer codes [.., n] (float,
 * detached) for fsq_stats. */
tt_tensor *fsq_fwd(const fsq *f, const tt_tensor *h, tt_tensor **codes);

/* Codebook use over the rows of codes [.., n]: usage = distinct codes / codebook size;
 * perplexity = exp(entropy of the code histogram) (1 = one code, N rows all distinct = N).
 * 0 or -1 + tt_last_error(). */
int fsq_stats(const fsq *f, const tt_tensor *codes, double *usage, double *perplexity);

#ifdef __cplusplus
}
#endif
#endif
