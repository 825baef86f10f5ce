/* dist.h — distribution metrics of the evaluation suite, in float64 C over LAPACK/BLAS:
 * embedding statistics, FAD, FAD∞, per-clip FAD, precision/recall/density/coverage, KL and IS.
 *
 * Every formula is written out below with the public code it matches; tests/eval/test_dist.c
 * checks each against a numpy/scipy oracle (tests/eval/dist_reference.py).
 *
 * Conventions: embeddings and logits are row-major [n][d] matrices of float32 or float64, passed
 * as a vr_dist_mat; all arithmetic is float64. Functions return 0, or -1 with vr_error() naming
 * what was wrong (a NaN/inf names its row and column; a clip names its index). Linear algebra
 * runs through OpenBLAS (liblapack.so.3 / libblas.so.3), whose thread count follows
 * OPENBLAS_NUM_THREADS or vr_runtime_apply().
 */
#ifndef VR_EVAL_DIST_H
#define VR_EVAL_DIST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A read-only row-major [n][d] matrix of float32 (f64 = 0) or float64 (f64 = 1) values. */
typedef struct vr_dist_mat {
    const void *data;
    int64_t n;
    int d;
    int f64;
} vr_dist_mat;

static inline vr_dist_mat vr_dist_f32(const float *x, int64_t n, int d) {
    vr_dist_mat m = {x, n, d, 0};
    return m;
}
static inline vr_dist_mat vr_dist_f64(const double *x, int64_t n, int d) {
    vr_dist_mat m = {x, n, d, 1};
    return m;
}

/* ---- embedding statistics ---- */

/* Mean and unbiased covariance of n embeddings of dimension d:
 *   mu = (1/n) Σ_i x_i,   sigma = (1/(n-1)) Σ_i (x_i - mu)(x_i - mu)^T
 * = np.mean(x, 0), np.cov(x, rowvar=False) (fadtk calc_embd_statistics). Two passes in float64:
 * the mean first, then the centred rows accumulated 256 at a time with dsyrk. */
typedef struct vr_dist_stats {
    int64_t n;     /* rows the statistics came from */
    int d;         /* embedding dimension */
    double *mu;    /* [d] */
    double *sigma; /* [d][d], symmetric */
} vr_dist_stats;

/* Needs n >= 2 and d >= 1; a NaN/inf is an error naming its row and column. */
int vr_dist_stats_compute(vr_dist_stats *st, vr_dist_mat x);
void vr_dist_stats_free(vr_dist_stats *st);

/* ---- Fréchet audio distance ---- */

/* What vr_fad saw besides the value. */
typedef struct vr_fad_info {
    int rank1, rank2;    /* numerical rank of each covariance: eigenvalues > d·DBL_EPSILON·λmax
                            (np.linalg.matrix_rank's threshold) */
    int low_n1, low_n2;  /* n <= d: the covariance is singular by construction (rank <= n-1);
                            vr_fad logs a warning naming n, d and the rank */
    int clamped;         /* the raw value was a small negative from round-off, reported as 0 */
    double raw;          /* the value before clamping */
    double scale;        /* |mu1-mu2|² + tr S1 + tr S2, what round-off is measured against */
} vr_fad_info;

/* Fréchet distance between N(mu1, S1) and N(mu2, S2):
 *   FAD = |mu1 - mu2|² + tr S1 + tr S2 - 2 tr sqrt(sqrt(S1) S2 sqrt(S1))
 * which equals the  tr(S1 + S2 - 2 sqrtm(S1 S2))  of google-research/frechet_audio_distance,
 * fadtk calc_frechet_distance and pytorch-fid (S1 S2 is similar to the symmetric PSD matrix
 * sqrt(S1) S2 sqrt(S1), so the traces of their square roots agree). Computed with symmetric
 * eigendecompositions only (LAPACK dsyevd): S1 = V Λ V^T, then the eigenvalues μ of
 * Λ^½ (V^T S2 V) Λ^½ (similar to sqrt(S1) S2 sqrt(S1)), tr sqrt(...) = Σ sqrt(max(μ, 0));
 * eigenvalues below zero from round-off count as zero. A result in [-1e-6·scale, 0) is round-off:
 * reported as 0 with info->clamped set; below -1e-6·scale it is an error. Also errors: different
 * d, a NaN/inf, a sigma that is not symmetric (to 1e-12 relative) or has an eigenvalue below
 * -1e-6·max|λ| (not a covariance). `info` may be NULL. */
int vr_fad(const vr_dist_stats *s1, const vr_dist_stats *s2, double *fad, vr_fad_info *info);

/* FAD∞ as microsoft/fadtk FrechetAudioDistance.score_inf: for the subsample sizes
 *   n_s = (int64)(np.linspace(min_n, N, steps)[s]),  s = 0 .. steps-1   (N = generated rows)
 * draw n_s generated rows (vr_fad_inf_indices), take FAD(reference stats, stats of the draw),
 * then fit FAD = a + b/n by least squares (np.polyfit(1/n, fad, 1)); FAD∞ = a, slope = b,
 * r² = 1 - Σ(fad - a - b/n)² / Σ(fad - mean fad)² (1 when every point is equal).
 * fadtk's defaults: steps 25, min_n 500, draws with replacement. When N < 2·min_n the smallest
 * size becomes N/2 (so the sizes still span a factor 2); N < 4 is an error. */
typedef struct vr_fad_inf_opts {
    int steps;       /* number of subsample sizes, >= 2 (fadtk: 25) */
    int64_t min_n;   /* smallest subsample size, >= 2 (fadtk: 500) */
    int replace;     /* 1: with replacement (fadtk's np.random.choice(..., replace=True));
                        0: without, each draw a subset (the last one is then the whole set) */
    uint64_t seed;   /* the draws for size s use vr_rng stream (seed, s) */
} vr_fad_inf_opts;

void vr_fad_inf_defaults(vr_fad_inf_opts *o); /* 25 steps, min_n 500, replace, seed 0 */

typedef struct vr_fad_inf {
    double fad_inf;  /* the intercept a */
    double slope;    /* b */
    double r2;
    int64_t min_n;   /* the smallest size used (after scaling down) */
    int npoints;     /* = steps */
    int64_t *ns;     /* [npoints] subsample sizes, for plotting FAD against 1/n */
    double *fads;    /* [npoints] FAD of each subsample */
} vr_fad_inf;

/* Fills *out (free with vr_fad_inf_free); on error *out is empty. A min_n <= d warns: those
 * subsamples have singular covariances. */
int vr_fad_inf_compute(const vr_dist_stats *ref, vr_dist_mat gen, const vr_fad_inf_opts *o, vr_fad_inf *out);
void vr_fad_inf_free(vr_fad_inf *r);

/* The rows drawn for step s of size n out of n_total, into idx[0..n) (the exact draw
 * vr_fad_inf_compute uses, from vr_rng stream (o->seed, s)): with replacement, n times
 * vr_rng_below(n_total); without, the first n entries of vr_rng_shuffle_i64 over 0..n_total-1,
 * for which idx must have room for n_total entries. */
void vr_fad_inf_indices(const vr_fad_inf_opts *o, int s, int64_t n_total, int64_t n, int64_t *idx);

/* FAD∞ over clips, both sets subsampled (vrobin's; fadtk's is vr_fad_inf_compute above).
 * fadtk draws windows of the generated set with replacement against fixed reference statistics,
 * which leaves two biases a benchmark of a few hundred clips cannot ignore: a clip's windows are
 * correlated (the clip is the independent unit), and a finite reference set adds its own O(1/N_ref)
 * term. Both are O(1/size), so scaling both sets together by α removes them in one fit:
 *   for α_s = min_frac + s·(1 - min_frac)/(steps-1), s = 0..steps-1: draw round(α_s·n_gen)
 *   generated clips and round(α_s·n_ref) reference clips without replacement (vr_rng stream
 *   (seed, s·draws + k) shuffles, generated first), FAD between the pooled windows of the two
 *   draws, averaged over `draws` draws (one at α = 1: the whole sets, the plain FAD); then
 *   FAD = a + b/α by least squares: FAD∞ = a (can come out below 0 by noise: reported as is).
 * ns[] holds the generated clips per point. Subsets need >= 2 clips each. */
typedef struct vr_fad_inf_clips_opts {
    int steps;       /* fractions, >= 2 (default 8) */
    double min_frac; /* smallest fraction, in (0, 1) (default 0.4) */
    int draws;       /* draws averaged per fraction below 1 (default 6) */
    uint64_t seed;
} vr_fad_inf_clips_opts;

void vr_fad_inf_clips_defaults(vr_fad_inf_clips_opts *o);
int vr_fad_inf_clips(const vr_dist_mat *ref, int n_ref, const vr_dist_mat *gen, int n_gen,
                     const vr_fad_inf_clips_opts *o, vr_fad_inf *out);

/* Per-clip FAD as fadtk score_individual: for clip c with its own window embeddings
 * clips[c] ([n_c][d]), fad[c] = FAD(reference stats, stats of clip c) with the formula of vr_fad
 * (fad has nclips entries).
 * A clip with fewer than 2 windows (no covariance) is an error naming the clip index, as is a
 * NaN/inf or a different d. Clips of n_c <= d windows have singular covariances (as in fadtk):
 * one warning gives how many. */
int vr_fad_per_clip(const vr_dist_stats *ref, const vr_dist_mat *clips, int nclips, double *fad);

/* ---- precision, recall, density, coverage ---- */

/* Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models", as
 * clovaai/generative-evaluation-prdc compute_prdc, with Euclidean distances in float64.
 * r_i = distance from real_i to its k-th nearest other real sample (the (k+1)-th smallest of its
 * distances to all reals, itself included); s_j likewise within the fakes. With N reals, M fakes:
 *   precision = (1/M) Σ_j 1[∃i: d(real_i, fake_j) < r_i]
 *   recall    = (1/N) Σ_i 1[∃j: d(real_i, fake_j) < s_j]
 *   density   = (1/(kM)) Σ_j Σ_i 1[d(real_i, fake_j) < r_i]
 *   coverage  = (1/N) Σ_i 1[∃j: d(real_i, fake_j) < r_i]
 * (strict <, as the reference). Distances come from Gram matrices (dgemm) of the rows centred on
 * the real mean. Needs N > k and M > k (k = 5 in the paper). */
typedef struct vr_prdc {
    double precision, recall, density, coverage;
} vr_prdc;

int vr_dist_prdc(vr_dist_mat real, vr_dist_mat fake, int k, vr_prdc *out);

/* ---- KL and IS from class posteriors ---- */

typedef enum {
    VR_KL_SOFTMAX = 0, /* p = softmax(logits): audiocraft PasstKLDivergenceMetric ("kld") */
    VR_KL_SIGMOID = 1, /* p_c = sigmoid(logit_c), per class, not normalised: audioldm_eval KL_Sigmoid */
} vr_kl_mode;

/* Paired KL between the tagger's posteriors of the reference clip i (ref row i) and of the clip
 * generated for it (gen row i):
 *   kl_i = Σ_c p_ref,c · (log p_ref,c - log(p_gen,c + 1e-6)),   with 0·log 0 = 0
 * i.e. KL(reference ‖ generated) = torch kl_div((p_gen + 1e-6).log(), p_ref).sum(-1), audiocraft
 * kl_divergence(pred_probs, target_probs); *mean = (1/n) Σ_i kl_i. audiocraft feeds PaSST 10-s
 * segments and averages their probabilities per clip; pass one row per 10-s clip. `per_clip`
 * ([n]) may be NULL. Different shapes or a NaN/inf are errors. */
int vr_dist_kl(vr_dist_mat gen_logits, vr_dist_mat ref_logits, vr_kl_mode mode, double *mean, double *per_clip);

/* Inception score from logits [n][c], as audioldm_eval calculate_isc without the shuffle:
 * the rows split into `splits` contiguous chunks [k·n/splits, (k+1)·n/splits); in each,
 *   p(y|x) = softmax(logits_x),  p(y) = mean over the chunk,
 *   IS_k = exp((1/|chunk|) Σ_x KL(p(y|x) ‖ p(y))),  KL = Σ_y p(y|x) (log p(y|x) - log p(y));
 * *mean and *std (population, np.std) over the chunks. splits = 1 gives
 * IS = exp(mean_x KL(p(y|x) ‖ p(y))). per_clip ([n], may be NULL) gets each row's KL against its
 * chunk's marginal. Needs 1 <= splits <= n. */
int vr_dist_is(vr_dist_mat logits, int splits, double *mean, double *std, double *per_clip);

#ifdef __cplusplus
}
#endif
#endif
