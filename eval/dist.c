/* dist.c — distribution metrics in float64; see dist.h for the formulas and their references. */
#include "eval/dist.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"

/* Fortran LAPACK/BLAS from OpenBLAS, column-major; the trailing size_t are gfortran's hidden
 * string lengths. A symmetric matrix reads the same in row- and column-major order. */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info, size_t, size_t);
void dsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha,
            const double *a, const int *lda, const double *beta, double *c, const int *ldc, size_t, size_t);
void dgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
            const double *alpha, const double *a, const int *lda, const double *b, const int *ldb,
            const double *beta, double *c, const int *ldc, size_t, size_t);

#define STATS_CHUNK 256          /* centred rows per dsyrk call */
#define BLOCK_DOUBLES (4 << 20)  /* distance blocks of at most 32 MB */
#define NEG_TOL 1e-6             /* FAD below -NEG_TOL·scale is an error, not round-off */

/* ---- matrices ---- */

static inline double mat_at(const vr_dist_mat *m, int64_t i, int j) {
    int64_t o = i * m->d + j;
    return m->f64 ? ((const double *)m->data)[o] : (double)((const float *)m->data)[o];
}

/* Shape and values: every entry finite, or an error naming its row and column. */
static int mat_check(const vr_dist_mat *m, const char *what) {
    if (m->d < 1 || m->n < 0) return vr_fail("%s: bad shape [%lld][%d]", what, (long long)m->n, m->d);
    if (m->n > 0 && !m->data) return vr_fail("%s: no data", what);
    for (int64_t i = 0; i < m->n; i++)
        for (int j = 0; j < m->d; j++) {
            double v = mat_at(m, i, j);
            if (!isfinite(v))
                return vr_fail("%s: row %lld, column %d is %s (values must be finite)", what, (long long)i, j,
                               isnan(v) ? "NaN" : "inf");
        }
    return 0;
}

/* ---- statistics ---- */

int vr_dist_stats_compute(vr_dist_stats *st, vr_dist_mat x) {
    memset(st, 0, sizeof *st);
    if (mat_check(&x, "embeddings")) return -1;
    if (x.n < 2) return vr_fail("embedding statistics need at least 2 rows, got %lld", (long long)x.n);
    int d = x.d;
    double *mu = calloc((size_t)d, sizeof *mu);
    double *sigma = calloc((size_t)d * d, sizeof *sigma);
    double *buf = malloc((size_t)STATS_CHUNK * d * sizeof *buf);
    if (!mu || !sigma || !buf) {
        free(mu), free(sigma), free(buf);
        return vr_fail("out of memory for %d-dimensional statistics", d);
    }
    /* pass 1: the mean */
    for (int64_t i = 0; i < x.n; i++)
        for (int j = 0; j < d; j++) mu[j] += mat_at(&x, i, j);
    for (int j = 0; j < d; j++) mu[j] /= (double)x.n;
    /* pass 2: Σ (x - mu)(x - mu)^T, so no large mean cancels out of the sums */
    const double one = 1.0;
    double beta = 0.0;
    for (int64_t r0 = 0; r0 < x.n; r0 += STATS_CHUNK) {
        int rows = (int)(x.n - r0 < STATS_CHUNK ? x.n - r0 : STATS_CHUNK);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < d; j++) buf[(size_t)r * d + j] = mat_at(&x, r0 + r, j) - mu[j];
        /* column-major: buf is d × rows, sigma += buf buf^T (upper triangle) */
        dsyrk_("U", "N", &d, &rows, &one, buf, &d, &beta, sigma, &d, 1, 1);
        beta = 1.0;
    }
    double inv = 1.0 / (double)(x.n - 1);
    for (int j = 0; j < d; j++)
        for (int i = 0; i <= j; i++) {
            double v = sigma[(size_t)j * d + i] * inv;
            sigma[(size_t)j * d + i] = sigma[(size_t)i * d + j] = v;
        }
    free(buf);
    st->n = x.n, st->d = d, st->mu = mu, st->sigma = sigma;
    return 0;
}

void vr_dist_stats_free(vr_dist_stats *st) {
    if (!st) return;
    free(st->mu), free(st->sigma);
    memset(st, 0, sizeof *st);
}

static int stats_check(const vr_dist_stats *s, const char *what) {
    if (!s || !s->mu || !s->sigma || s->d < 1) return vr_fail("%s: empty statistics", what);
    for (int i = 0; i < s->d; i++)
        if (!isfinite(s->mu[i])) return vr_fail("%s: mu[%d] is %g", what, i, s->mu[i]);
    double top = 0;
    for (int i = 0; i < s->d; i++)
        for (int j = 0; j < s->d; j++) {
            double v = s->sigma[(size_t)i * s->d + j];
            if (!isfinite(v)) return vr_fail("%s: sigma[%d][%d] is %g", what, i, j, v);
            top = fmax(top, fabs(v));
        }
    for (int i = 0; i < s->d; i++)
        for (int j = 0; j < i; j++)
            if (fabs(s->sigma[(size_t)i * s->d + j] - s->sigma[(size_t)j * s->d + i]) > 1e-12 * top)
                return vr_fail("%s: sigma is not symmetric (sigma[%d][%d] != sigma[%d][%d])", what, i, j, j, i);
    return 0;
}

/* ---- symmetric eigendecomposition ---- */

/* Eigenvalues of the symmetric d×d `a` (upper triangle read) into w, ascending; with vecs, the
 * eigenvectors overwrite a as columns. */
static int sym_eig(double *a, int d, double *w, int vecs) {
    const char *jobz = vecs ? "V" : "N";
    int lwork = -1, liwork = -1, info = 0, iwq = 0;
    double wq = 0;
    dsyevd_(jobz, "U", &d, a, &d, w, &wq, &lwork, &iwq, &liwork, &info, 1, 1);
    if (info) return vr_fail("LAPACK dsyevd workspace query failed (info %d)", info);
    lwork = (int)wq, liwork = iwq;
    double *work = malloc((size_t)lwork * sizeof *work);
    int *iwork = malloc((size_t)liwork * sizeof *iwork);
    if (!work || !iwork) {
        free(work), free(iwork);
        return vr_fail("out of memory for a %dx%d eigendecomposition", d, d);
    }
    dsyevd_(jobz, "U", &d, a, &d, w, work, &lwork, iwork, &liwork, &info, 1, 1);
    free(work), free(iwork);
    if (info) return vr_fail("LAPACK dsyevd failed on a %dx%d matrix (info %d)", d, d, info);
    return 0;
}

/* A covariance has no eigenvalue clearly below zero (round-off gives about -d·eps·λmax). */
static int psd_check(const double *w, int d, const char *what) {
    double top = fmax(fabs(w[0]), fabs(w[d - 1]));
    if (w[0] < -NEG_TOL * top)
        return vr_fail("%s: the covariance has eigenvalue %.6g (largest magnitude %.6g): not positive "
                       "semi-definite", what, w[0], top);
    return 0;
}

/* Numerical rank of a PSD matrix from its ascending eigenvalues (np.linalg.matrix_rank's cut). */
static int eig_rank(const double *w, int d) {
    double top = w[d - 1];
    if (!(top > 0)) return 0;
    int r = 0;
    for (int i = 0; i < d; i++) r += w[i] > d * DBL_EPSILON * top;
    return r;
}

/* ---- FAD ---- */

/* The first set's S1 = V Λ V^T, decomposed once and reused against many second sets. */
typedef struct fad_ref {
    int d, rank;
    const double *mu;
    double trace;
    double *v;        /* [d][d] column-major eigenvectors */
    double *sqrt_lam; /* [d] sqrt(max(λ, 0)) */
    double *work;     /* 2·d² + d scratch for fad_raw */
} fad_ref;

static void fad_ref_free(fad_ref *r) {
    free(r->v), free(r->sqrt_lam), free(r->work);
    memset(r, 0, sizeof *r);
}

static int fad_ref_init(fad_ref *r, const vr_dist_stats *s, const char *what) {
    memset(r, 0, sizeof *r);
    int d = s->d;
    r->d = d, r->mu = s->mu;
    r->v = malloc((size_t)d * d * sizeof *r->v);
    r->sqrt_lam = malloc((size_t)d * sizeof *r->sqrt_lam);
    r->work = malloc(((size_t)2 * d * d + d) * sizeof *r->work);
    if (!r->v || !r->sqrt_lam || !r->work) {
        fad_ref_free(r);
        return vr_fail("out of memory for %d-dimensional FAD", d);
    }
    memcpy(r->v, s->sigma, (size_t)d * d * sizeof *r->v);
    for (int i = 0; i < d; i++) r->trace += s->sigma[(size_t)i * d + i];
    if (sym_eig(r->v, d, r->sqrt_lam, 1) || psd_check(r->sqrt_lam, d, what)) {
        fad_ref_free(r);
        return -1;
    }
    r->rank = eig_rank(r->sqrt_lam, d);
    for (int i = 0; i < d; i++) r->sqrt_lam[i] = r->sqrt_lam[i] > 0 ? sqrt(r->sqrt_lam[i]) : 0;
    return 0;
}

/* FAD of (ref, mu2/s2) before clamping, and the scale round-off is judged against. */
static int fad_raw(fad_ref *r, const double *mu2, const double *s2, double *raw, double *scale) {
    int d = r->d;
    double *u = r->work, *t = r->work + (size_t)d * d, *ev = r->work + (size_t)2 * d * d;
    const double one = 1.0, zero = 0.0;
    dgemm_("N", "N", &d, &d, &d, &one, s2, &d, r->v, &d, &zero, u, &d, 1, 1);  /* S2 V */
    dgemm_("T", "N", &d, &d, &d, &one, r->v, &d, u, &d, &zero, t, &d, 1, 1);   /* V^T S2 V */
    for (int j = 0; j < d; j++)
        for (int i = 0; i < d; i++) t[(size_t)j * d + i] *= r->sqrt_lam[i] * r->sqrt_lam[j];
    if (sym_eig(t, d, ev, 0)) return -1; /* eigenvalues of Λ^½ V^T S2 V Λ^½ ~ sqrt(S1) S2 sqrt(S1) */
    double tr_sqrt = 0, dmu = 0, tr2 = 0;
    for (int i = 0; i < d; i++) tr_sqrt += ev[i] > 0 ? sqrt(ev[i]) : 0;
    for (int i = 0; i < d; i++) dmu += (r->mu[i] - mu2[i]) * (r->mu[i] - mu2[i]);
    for (int i = 0; i < d; i++) tr2 += s2[(size_t)i * d + i];
    *scale = dmu + r->trace + tr2;
    *raw = *scale - 2 * tr_sqrt;
    return 0;
}

/* A small negative is round-off (clamped, flagged); a clearly negative one means broken input. */
static int fad_finish(double raw, double scale, double *fad, int *clamped) {
    if (!isfinite(raw)) return vr_fail("FAD is not finite (%g)", raw);
    if (raw < -NEG_TOL * scale)
        return vr_fail("FAD is clearly negative (%.6g against a scale of %.6g): the statistics are not "
                       "valid means/covariances", raw, scale);
    *clamped = raw < 0;
    *fad = raw < 0 ? 0 : raw;
    return 0;
}

int vr_fad(const vr_dist_stats *s1, const vr_dist_stats *s2, double *fad, vr_fad_info *info) {
    vr_fad_info inf = {0};
    if (stats_check(s1, "FAD: set 1") || stats_check(s2, "FAD: set 2")) return -1;
    if (s1->d != s2->d) return vr_fail("FAD: the sets have different dimensions (%d vs %d)", s1->d, s2->d);
    int d = s1->d;
    fad_ref r1;
    if (fad_ref_init(&r1, s1, "FAD: set 1")) return -1;
    /* the second set's rank needs its own eigenvalues */
    double *c2 = malloc((size_t)d * d * sizeof *c2), *w2 = malloc((size_t)d * sizeof *w2);
    int rc = (!c2 || !w2) ? vr_fail("out of memory for %d-dimensional FAD", d) : 0;
    if (!rc) {
        memcpy(c2, s2->sigma, (size_t)d * d * sizeof *c2);
        rc = sym_eig(c2, d, w2, 0);
    }
    if (!rc) rc = psd_check(w2, d, "FAD: set 2");
    if (!rc) rc = fad_raw(&r1, s2->mu, s2->sigma, &inf.raw, &inf.scale);
    if (!rc) rc = fad_finish(inf.raw, inf.scale, fad, &inf.clamped);
    if (!rc) {
        inf.rank1 = r1.rank, inf.rank2 = eig_rank(w2, d);
        inf.low_n1 = s1->n <= d, inf.low_n2 = s2->n <= d;
        const vr_dist_stats *s[2] = {s1, s2};
        int rank[2] = {inf.rank1, inf.rank2};
        for (int k = 0; k < 2; k++)
            if (s[k]->n <= d)
                VR_WARN("FAD: set %d has n = %lld embeddings for d = %d dimensions (n <= d): its covariance "
                        "is singular (rank %d), so FAD is biased; use more clips or a smaller embedding",
                        k + 1, (long long)s[k]->n, d, rank[k]);
        if (inf.clamped) VR_DEBUG("FAD: round-off gave %.3g, reported as 0", inf.raw);
    }
    free(c2), free(w2);
    fad_ref_free(&r1);
    if (!rc && info) *info = inf;
    return rc;
}

/* ---- FAD∞ ---- */

void vr_fad_inf_defaults(vr_fad_inf_opts *o) {
    o->steps = 25, o->min_n = 500, o->replace = 1, o->seed = 0;
}

void vr_fad_inf_indices(const vr_fad_inf_opts *o, int s, int64_t n_total, int64_t n, int64_t *idx) {
    vr_rng r;
    vr_rng_seed_stream(&r, o->seed, (uint64_t)s);
    if (o->replace) {
        for (int64_t i = 0; i < n; i++) idx[i] = (int64_t)vr_rng_below(&r, (uint64_t)n_total);
        return;
    }
    for (int64_t i = 0; i < n_total; i++) idx[i] = i;
    vr_rng_shuffle_i64(&r, idx, n_total);
}

void vr_fad_inf_free(vr_fad_inf *r) {
    if (!r) return;
    free(r->ns), free(r->fads);
    memset(r, 0, sizeof *r);
}

/* Least squares y = a + b x (np.polyfit(x, y, 1) = [b, a]) and its r². */
static int fit_line(const double *x, const double *y, int n, double *a, double *b, double *r2) {
    double xm = 0, ym = 0, sxx = 0, sxy = 0, res = 0, tot = 0;
    for (int i = 0; i < n; i++) xm += x[i], ym += y[i];
    xm /= n, ym /= n;
    for (int i = 0; i < n; i++) sxx += (x[i] - xm) * (x[i] - xm), sxy += (x[i] - xm) * (y[i] - ym);
    if (!(sxx > 0)) return vr_fail("FAD∞: every subsample has the same size; nothing to extrapolate from");
    *b = sxy / sxx;
    *a = ym - *b * xm;
    for (int i = 0; i < n; i++) {
        double e = y[i] - (*a + *b * x[i]);
        res += e * e, tot += (y[i] - ym) * (y[i] - ym);
    }
    *r2 = tot > 0 ? 1 - res / tot : 1;
    return 0;
}

int vr_fad_inf_compute(const vr_dist_stats *ref, vr_dist_mat gen, const vr_fad_inf_opts *o, vr_fad_inf *out) {
    memset(out, 0, sizeof *out);
    if (stats_check(ref, "FAD∞: reference")) return -1;
    if (o->steps < 2) return vr_fail("FAD∞: steps must be >= 2, got %d", o->steps);
    if (o->min_n < 2) return vr_fail("FAD∞: min_n must be >= 2, got %lld", (long long)o->min_n);
    if (gen.d != ref->d)
        return vr_fail("FAD∞: generated embeddings have d = %d, the reference statistics %d", gen.d, ref->d);
    if (mat_check(&gen, "FAD∞: generated embeddings")) return -1;
    int64_t N = gen.n;
    int d = gen.d, steps = o->steps;
    if (N < 4) return vr_fail("FAD∞ needs at least 4 generated embeddings, got %lld", (long long)N);
    int64_t min_n = N < 2 * o->min_n ? N / 2 : o->min_n;
    if (min_n <= d)
        VR_WARN("FAD∞: subsamples from %lld embeddings for d = %d: those of n <= d have singular "
                "covariances and steepen the 1/n fit", (long long)min_n, d);
    fad_ref r;
    if (fad_ref_init(&r, ref, "FAD∞: reference")) return -1;
    out->ns = malloc((size_t)steps * sizeof *out->ns);
    out->fads = malloc((size_t)steps * sizeof *out->fads);
    double *xs = malloc((size_t)steps * sizeof *xs);
    int64_t *idx = malloc((size_t)N * sizeof *idx);
    double *sub = malloc((size_t)N * d * sizeof *sub);
    int rc = (!out->ns || !out->fads || !xs || !idx || !sub) ? vr_fail("FAD∞: out of memory") : 0;
    double step = (double)(N - min_n) / (steps - 1);
    for (int s = 0; s < steps && !rc; s++) {
        /* int(np.linspace(min_n, N, steps)[s]): start + s·step, the last exactly N, truncated */
        int64_t n = s == steps - 1 ? N : (int64_t)((double)s * step + (double)min_n);
        vr_fad_inf_indices(o, s, N, n, idx);
        for (int64_t i = 0; i < n; i++)
            for (int j = 0; j < d; j++) sub[i * d + j] = mat_at(&gen, idx[i], j);
        vr_dist_stats st;
        double raw, scale;
        int clamped;
        rc = vr_dist_stats_compute(&st, vr_dist_f64(sub, n, d));
        if (!rc) rc = fad_raw(&r, st.mu, st.sigma, &raw, &scale);
        if (!rc) rc = fad_finish(raw, scale, &out->fads[s], &clamped);
        vr_dist_stats_free(&st);
        if (rc) vr_context("FAD∞: subsample %d (n = %lld)", s, (long long)n);
        out->ns[s] = n, xs[s] = 1.0 / (double)n;
    }
    if (!rc) rc = fit_line(xs, out->fads, steps, &out->fad_inf, &out->slope, &out->r2);
    out->npoints = steps, out->min_n = min_n;
    free(xs), free(idx), free(sub);
    fad_ref_free(&r);
    if (rc) vr_fad_inf_free(out);
    return rc;
}

/* ---- FAD∞ over clips, both sets subsampled ---- */

void vr_fad_inf_clips_defaults(vr_fad_inf_clips_opts *o) {
    *o = (vr_fad_inf_clips_opts){.steps = 8, .min_frac = 0.4, .draws = 6, .seed = 0};
}

/* The windows of clips idx[0..m) pooled into out (room for every window). Returns the rows. */
static int64_t pool_clips(const vr_dist_mat *clips, const int64_t *idx, int64_t m, double *out) {
    int64_t at = 0;
    for (int64_t c = 0; c < m; c++) {
        const vr_dist_mat *x = &clips[idx[c]];
        for (int64_t i = 0; i < x->n; i++, at++)
            for (int j = 0; j < x->d; j++) out[at * x->d + j] = mat_at(x, i, j);
    }
    return at;
}

static int clip_set_check(const vr_dist_mat *clips, int n, int d, const char *what, int64_t *rows) {
    char w[64];
    *rows = 0;
    for (int c = 0; c < n; c++) {
        snprintf(w, sizeof w, "%s clip %d", what, c);
        if (clips[c].d != d) return vr_fail("FAD∞ (clips): %s has d = %d, expected %d", w, clips[c].d, d);
        if (clips[c].n < 1) return vr_fail("FAD∞ (clips): %s has no embeddings", w);
        if (mat_check(&clips[c], w)) return -1;
        *rows += clips[c].n;
    }
    return 0;
}

int vr_fad_inf_clips(const vr_dist_mat *ref, int n_ref, const vr_dist_mat *gen, int n_gen,
                     const vr_fad_inf_clips_opts *o, vr_fad_inf *out) {
    memset(out, 0, sizeof *out);
    if (o->steps < 2 || o->draws < 1 || !(o->min_frac > 0 && o->min_frac < 1))
        return vr_fail("FAD∞ (clips): steps >= 2, draws >= 1 and min_frac in (0, 1) expected (got %d, %d, %g)",
                       o->steps, o->draws, o->min_frac);
    if (!ref || !gen || n_ref < 1 || n_gen < 1) return vr_fail("FAD∞ (clips): empty set");
    int d = gen[0].d;
    int64_t rows_ref, rows_gen;
    if (clip_set_check(gen, n_gen, d, "generated", &rows_gen) || clip_set_check(ref, n_ref, d, "reference", &rows_ref))
        return -1;
    if (llround(o->min_frac * n_gen) < 2 || llround(o->min_frac * n_ref) < 2)
        return vr_fail("FAD∞ (clips): %d generated and %d reference clips: the smallest draws (fraction %g) need "
                       ">= 2 clips each", n_gen, n_ref, o->min_frac);
    int steps = o->steps;
    out->ns = malloc((size_t)steps * sizeof *out->ns);
    out->fads = malloc((size_t)steps * sizeof *out->fads);
    double *xs = malloc((size_t)steps * sizeof *xs);
    int64_t *ig = malloc((size_t)n_gen * sizeof *ig), *ir = malloc((size_t)n_ref * sizeof *ir);
    double *pg = malloc((size_t)rows_gen * d * sizeof *pg), *pr = malloc((size_t)rows_ref * d * sizeof *pr);
    int rc = (!out->ns || !out->fads || !xs || !ig || !ir || !pg || !pr) ? vr_fail("FAD∞ (clips): out of memory") : 0;
    for (int s = 0; s < steps && !rc; s++) {
        double a = s == steps - 1 ? 1.0 : o->min_frac + s * (1.0 - o->min_frac) / (steps - 1);
        int64_t mg = s == steps - 1 ? n_gen : llround(a * n_gen), mr = s == steps - 1 ? n_ref : llround(a * n_ref);
        int draws = s == steps - 1 ? 1 : o->draws;
        double sum = 0;
        for (int k = 0; k < draws && !rc; k++) {
            vr_rng g;
            vr_rng_seed_stream(&g, o->seed, (uint64_t)s * (uint64_t)o->draws + (uint64_t)k);
            for (int64_t i = 0; i < n_gen; i++) ig[i] = i;
            for (int64_t i = 0; i < n_ref; i++) ir[i] = i;
            vr_rng_shuffle_i64(&g, ig, n_gen);
            vr_rng_shuffle_i64(&g, ir, n_ref);
            int64_t ng = pool_clips(gen, ig, mg, pg), nr = pool_clips(ref, ir, mr, pr);
            vr_dist_stats sg = {0}, sr = {0};
            double fad;
            rc = vr_dist_stats_compute(&sg, vr_dist_f64(pg, ng, d)) || vr_dist_stats_compute(&sr, vr_dist_f64(pr, nr, d)) ||
                 vr_fad(&sr, &sg, &fad, NULL);
            vr_dist_stats_free(&sg);
            vr_dist_stats_free(&sr);
            if (rc) vr_context("FAD∞ (clips): fraction %.3f (%lld generated, %lld reference clips)", a, (long long)mg,
                               (long long)mr);
            sum += fad;
        }
        out->ns[s] = mg, out->fads[s] = sum / draws, xs[s] = 1.0 / a;
    }
    if (!rc) rc = fit_line(xs, out->fads, steps, &out->fad_inf, &out->slope, &out->r2);
    out->npoints = steps, out->min_n = out->ns[0];
    free(xs), free(ig), free(ir), free(pg), free(pr);
    if (rc) vr_fad_inf_free(out);
    return rc;
}

/* ---- per-clip FAD ---- */

int vr_fad_per_clip(const vr_dist_stats *ref, const vr_dist_mat *clips, int nclips, double *fad) {
    if (stats_check(ref, "per-clip FAD: reference")) return -1;
    int d = ref->d, low = 0;
    char what[64];
    for (int c = 0; c < nclips; c++) {
        snprintf(what, sizeof what, "per-clip FAD: clip %d", c);
        if (clips[c].d != d)
            return vr_fail("%s: embeddings have d = %d, the reference statistics %d", what, clips[c].d, d);
        if (clips[c].n < 2)
            return vr_fail("%s has %lld window embedding(s); per-clip FAD needs at least 2 (a covariance)",
                           what, (long long)clips[c].n);
        if (mat_check(&clips[c], what)) return -1;
        low += clips[c].n <= d;
    }
    fad_ref r;
    if (fad_ref_init(&r, ref, "per-clip FAD: reference")) return -1;
    int rc = 0;
    for (int c = 0; c < nclips && !rc; c++) {
        vr_dist_stats st;
        double raw, scale;
        int clamped;
        rc = vr_dist_stats_compute(&st, clips[c]);
        if (!rc) rc = fad_raw(&r, st.mu, st.sigma, &raw, &scale);
        if (!rc) rc = fad_finish(raw, scale, &fad[c], &clamped);
        vr_dist_stats_free(&st);
        if (rc) vr_context("per-clip FAD: clip %d", c);
    }
    fad_ref_free(&r);
    if (!rc && low)
        VR_WARN("per-clip FAD: %d of %d clips have no more windows than the %d embedding dimensions; their "
                "covariances are singular (as in fadtk's per-song FAD), compare such values only with each other",
                low, nclips, d);
    return rc;
}

/* ---- precision, recall, density, coverage ---- */

/* out[i][j] = |a_i - b_j|² from the Gram matrix: |a|² + |b|² - 2 a·b, clamped at 0. */
static void sq_dists(const double *a, const double *an, int na, const double *b, const double *bn, int nb, int d,
                     double *out) {
    const double m2 = -2.0, zero = 0.0;
    dgemm_("T", "N", &nb, &na, &d, &m2, b, &d, a, &d, &zero, out, &nb, 1, 1);
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) {
            double v = out[(size_t)i * nb + j] + an[i] + bn[j];
            out[(size_t)i * nb + j] = v > 0 ? v : 0;
        }
}

static int block_rows(int64_t cols, int64_t rows) {
    int64_t b = BLOCK_DOUBLES / cols;
    return (int)(b < 1 ? 1 : b > rows ? rows : b);
}

/* r2[i] = squared distance from row i to its k-th nearest other row: the (k+1)-th smallest of its
 * squared distances to every row, itself (exactly 0) included — prdc's get_kth_value(k + 1). */
static int knn_radii2(const double *x, const double *xn, int n, int d, int k, double *r2) {
    int bs = block_rows(n, n);
    double *buf = malloc((size_t)bs * n * sizeof *buf), *best = malloc((size_t)(k + 1) * sizeof *best);
    if (!buf || !best) {
        free(buf), free(best);
        return vr_fail("density/coverage: out of memory for %d×%d distances", bs, n);
    }
    for (int i0 = 0; i0 < n; i0 += bs) {
        int rows = n - i0 < bs ? n - i0 : bs;
        sq_dists(x + (size_t)i0 * d, xn + i0, rows, x, xn, n, d, buf);
        for (int r = 0; r < rows; r++) {
            double *row = buf + (size_t)r * n;
            row[i0 + r] = 0; /* the Gram form leaves round-off on the diagonal */
            for (int t = 0; t <= k; t++) best[t] = INFINITY;
            for (int j = 0; j < n; j++) { /* keep the k+1 smallest, sorted */
                double v = row[j];
                if (v >= best[k]) continue;
                int t = k;
                while (t > 0 && best[t - 1] > v) best[t] = best[t - 1], t--;
                best[t] = v;
            }
            r2[i0 + r] = best[k];
        }
    }
    free(buf), free(best);
    return 0;
}

/* Rows of m as float64, shifted by -centre, and their squared norms. */
static void centred_rows(const vr_dist_mat *m, const double *centre, double *out, double *norms) {
    for (int64_t i = 0; i < m->n; i++) {
        double s = 0;
        for (int j = 0; j < m->d; j++) {
            double v = mat_at(m, i, j) - centre[j];
            out[i * m->d + j] = v, s += v * v;
        }
        norms[i] = s;
    }
}

int vr_dist_prdc(vr_dist_mat real, vr_dist_mat fake, int k, vr_prdc *out) {
    memset(out, 0, sizeof *out);
    if (k < 1) return vr_fail("density/coverage: k must be >= 1, got %d", k);
    if (mat_check(&real, "density/coverage: real set") || mat_check(&fake, "density/coverage: fake set")) return -1;
    if (real.d != fake.d) return vr_fail("density/coverage: real d = %d but fake d = %d", real.d, fake.d);
    if (real.n <= k || fake.n <= k)
        return vr_fail("density/coverage: %lld real and %lld fake embeddings; both need more than k = %d",
                       (long long)real.n, (long long)fake.n, k);
    if (real.n > INT_MAX || fake.n > INT_MAX) return vr_fail("density/coverage: more than %d embeddings", INT_MAX);
    int n = (int)real.n, m = (int)fake.n, d = real.d;
    /* centring on the real mean keeps |a|² + |b|² - 2a·b from cancelling for far-off-origin sets */
    double *mean = calloc((size_t)d, sizeof *mean);
    double *x = malloc((size_t)n * d * sizeof *x), *y = malloc((size_t)m * d * sizeof *y);
    double *xn = malloc((size_t)n * sizeof *xn), *yn = malloc((size_t)m * sizeof *yn);
    double *rr = malloc((size_t)n * sizeof *rr), *rf = malloc((size_t)m * sizeof *rf);
    int64_t *count = calloc((size_t)m, sizeof *count);
    char *fake_in = calloc((size_t)m, 1);
    int bs = block_rows(m, n);
    double *buf = malloc((size_t)bs * m * sizeof *buf);
    int rc = (!mean || !x || !y || !xn || !yn || !rr || !rf || !count || !fake_in || !buf)
                 ? vr_fail("density/coverage: out of memory") : 0;
    if (!rc) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) mean[j] += mat_at(&real, i, j);
        for (int j = 0; j < d; j++) mean[j] /= n;
        centred_rows(&real, mean, x, xn);
        centred_rows(&fake, mean, y, yn);
        rc = knn_radii2(x, xn, n, d, k, rr);
    }
    if (!rc) rc = knn_radii2(y, yn, m, d, k, rf);
    int64_t covered = 0, recalled = 0, inside = 0, precise = 0;
    for (int i0 = 0; i0 < n && !rc; i0 += bs) {
        int rows = n - i0 < bs ? n - i0 : bs;
        sq_dists(x + (size_t)i0 * d, xn + i0, rows, y, yn, m, d, buf);
        for (int r = 0; r < rows; r++) {
            const double *row = buf + (size_t)r * m;
            double ri = rr[i0 + r];
            int cov = 0, rec = 0;
            for (int j = 0; j < m; j++) {
                if (row[j] < ri) count[j]++, fake_in[j] = 1, cov = 1;
                if (row[j] < rf[j]) rec = 1;
            }
            covered += cov, recalled += rec;
        }
    }
    if (!rc) {
        for (int j = 0; j < m; j++) inside += count[j], precise += fake_in[j];
        out->precision = (double)precise / m;
        out->recall = (double)recalled / n;
        out->density = (double)inside / ((double)k * m);
        out->coverage = (double)covered / n;
    }
    free(mean), free(x), free(y), free(xn), free(yn), free(rr), free(rf), free(count), free(fake_in), free(buf);
    return rc;
}

/* ---- KL and IS ---- */

/* log softmax of row i of m into out [m->d]. */
static void log_softmax_row(const vr_dist_mat *m, int64_t i, double *out) {
    double mx = -INFINITY, s = 0;
    for (int c = 0; c < m->d; c++) out[c] = mat_at(m, i, c), mx = out[c] > mx ? out[c] : mx;
    for (int c = 0; c < m->d; c++) s += exp(out[c] - mx);
    double lse = mx + log(s);
    for (int c = 0; c < m->d; c++) out[c] -= lse;
}

/* log sigmoid(v) without overflow. */
static double log_sigmoid(double v) { return v >= 0 ? -log1p(exp(-v)) : v - log1p(exp(v)); }

int vr_dist_kl(vr_dist_mat gen_logits, vr_dist_mat ref_logits, vr_kl_mode mode, double *mean, double *per_clip) {
    if (mode != VR_KL_SOFTMAX && mode != VR_KL_SIGMOID) return vr_fail("KL: unknown mode %d", (int)mode);
    if (mat_check(&gen_logits, "KL: generated logits") || mat_check(&ref_logits, "KL: reference logits")) return -1;
    if (gen_logits.n != ref_logits.n || gen_logits.d != ref_logits.d)
        return vr_fail("KL: generated logits are [%lld][%d] but reference logits [%lld][%d] (rows pair clips)",
                       (long long)gen_logits.n, gen_logits.d, (long long)ref_logits.n, ref_logits.d);
    if (gen_logits.n < 1) return vr_fail("KL: no clips");
    int c = gen_logits.d;
    double *lg = malloc((size_t)c * sizeof *lg), *lr = malloc((size_t)c * sizeof *lr);
    if (!lg || !lr) {
        free(lg), free(lr);
        return vr_fail("KL: out of memory for %d classes", c);
    }
    double sum = 0;
    for (int64_t i = 0; i < gen_logits.n; i++) {
        if (mode == VR_KL_SOFTMAX) {
            log_softmax_row(&gen_logits, i, lg);
            log_softmax_row(&ref_logits, i, lr);
        } else {
            for (int k = 0; k < c; k++)
                lg[k] = log_sigmoid(mat_at(&gen_logits, i, k)), lr[k] = log_sigmoid(mat_at(&ref_logits, i, k));
        }
        double kl = 0;
        for (int k = 0; k < c; k++) {
            double pr = exp(lr[k]);
            if (pr > 0) kl += pr * (lr[k] - log(exp(lg[k]) + 1e-6));
        }
        if (per_clip) per_clip[i] = kl;
        sum += kl;
    }
    free(lg), free(lr);
    *mean = sum / (double)gen_logits.n;
    return 0;
}

int vr_dist_is(vr_dist_mat logits, int splits, double *mean, double *std, double *per_clip) {
    if (mat_check(&logits, "IS: logits")) return -1;
    int64_t n = logits.n;
    if (splits < 1 || splits > n)
        return vr_fail("IS: splits must be in [1, %lld] (the number of clips), got %d", (long long)n, splits);
    int c = logits.d;
    double *lp = malloc((size_t)c * sizeof *lp), *q = malloc((size_t)c * sizeof *q);
    double *scores = malloc((size_t)splits * sizeof *scores);
    if (!lp || !q || !scores) {
        free(lp), free(q), free(scores);
        return vr_fail("IS: out of memory for %d classes", c);
    }
    for (int s = 0; s < splits; s++) {
        int64_t lo = s * n / splits, hi = (s + 1) * n / splits;
        memset(q, 0, (size_t)c * sizeof *q);
        for (int64_t i = lo; i < hi; i++) {
            log_softmax_row(&logits, i, lp);
            for (int k = 0; k < c; k++) q[k] += exp(lp[k]);
        }
        for (int k = 0; k < c; k++) q[k] = log(q[k] / (double)(hi - lo));
        double sum = 0;
        for (int64_t i = lo; i < hi; i++) {
            log_softmax_row(&logits, i, lp);
            double kl = 0;
            for (int k = 0; k < c; k++) {
                double p = exp(lp[k]);
                if (p > 0) kl += p * (lp[k] - q[k]);
            }
            if (per_clip) per_clip[i] = kl;
            sum += kl;
        }
        scores[s] = exp(sum / (double)(hi - lo));
    }
    double m = 0, v = 0;
    for (int s = 0; s < splits; s++) m += scores[s];
    m /= splits;
    for (int s = 0; s < splits; s++) v += (scores[s] - m) * (scores[s] - m);
    *mean = m, *std = sqrt(v / splits);
    free(lp), free(q), free(scores);
    return 0;
}
