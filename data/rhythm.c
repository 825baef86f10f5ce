/* rhythm.c — onset envelope, tempo, beat tracking, onset picking (see rhythm.h). */
#include "data/rhythm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define TEMPO_MIN_BPM 30.0
#define TEMPO_MAX_BPM 300.0

static int check_env(const char *fn, const float *env, int T, double fps) {
    if (!env || T <= 0) return vr_fail("%s: empty onset envelope", fn);
    if (!(fps > 0)) return vr_fail("%s: frame rate must be > 0 (got %g)", fn, fps);
    for (int t = 0; t < T; t++)
        if (!isfinite(env[t])) return vr_fail("%s: non-finite onset strength at frame %d", fn, t);
    return 0;
}

int vr_onset_strength(const float *logmel, int T, int n_mels, int delay, float *env) {
    if (!logmel || !env || T <= 0 || n_mels <= 0)
        return vr_fail("onset strength: need a [T][n_mels] log-mel with T, n_mels > 0 (got %d x %d)", T, n_mels);
    if (delay < 0) return vr_fail("onset strength: delay must be >= 0 (got %d)", delay);
    memset(env, 0, sizeof(float) * (size_t)T);
    for (int t = 1; t + delay < T; t++) {
        const float *cur = logmel + (size_t)t * n_mels, *prev = cur - n_mels;
        double flux = 0;
        for (int b = 0; b < n_mels; b++) flux += fmax(0.0, (double)cur[b] - prev[b]);
        if (!isfinite(flux)) return vr_fail("onset strength: non-finite log-mel around frame %d", t);
        env[t + delay] = (float)(flux / n_mels);
    }
    return 0;
}

double vr_tempo_estimate(const float *env, int T, double fps, double prior_bpm) {
    if (check_env("tempo", env, T, fps) != 0) return -1;
    if (prior_bpm <= 0) prior_bpm = 120;
    int lmin = (int)ceil(60.0 * fps / TEMPO_MAX_BPM), lmax = (int)floor(60.0 * fps / TEMPO_MIN_BPM);
    if (lmax > T - 2) lmax = T - 2; /* keep lag+1 inside the envelope for the refinement */
    if (lmin < 1) lmin = 1;
    if (lmax < lmin)
        return vr_fail("tempo: %d frames at %g fps are too few to measure %g BPM", T, fps, TEMPO_MAX_BPM);
    /* Smooth the envelope (Gaussian, sd 20 ms) before correlating: an impulse-like envelope
     * whose period is not a whole number of frames splits its correlation between two lags
     * and loses to the octave below (140 BPM at 50 fps read as 70). */
    double *x = malloc(sizeof(double) * (size_t)T), *ac = calloc((size_t)lmax + 2, sizeof *ac);
    if (!x || !ac) {
        free(x), free(ac);
        return vr_fail("tempo: out of memory");
    }
    double sd = 0.02 * fps, mean = 0;
    int r = (int)ceil(3 * sd);
    for (int t = 0; t < T; t++) {
        double s = 0;
        for (int k = -r; k <= r; k++)
            if (t + k >= 0 && t + k < T) s += env[t + k] * exp(-0.5 * k * k / (sd * sd));
        x[t] = s;
        mean += s;
    }
    mean /= T;
    for (int l = 0; l <= lmax + 1; l++)
        for (int t = 0; t + l < T; t++) ac[l] += (x[t] - mean) * (x[t + l] - mean);
    free(x);
    if (!(ac[0] > 1e-12 * T)) { /* a flat envelope: no onsets, no tempo */
        free(ac);
        return 0;
    }
    int best = -1;
    double best_score = 0;
    for (int l = lmin; l <= lmax; l++) {
        double oct = log2(60.0 * fps / l / prior_bpm);
        double score = fmax(ac[l], 0.0) / ac[0] * exp(-0.5 * oct * oct);
        if (score > best_score) best_score = score, best = l;
    }
    if (best < 0) { /* no positive correlation at any lag: no periodicity */
        free(ac);
        return 0;
    }
    double a = ac[best - 1], b = ac[best], c = ac[best + 1], lag = best;
    if (b >= a && b >= c && a - 2 * b + c < 0) lag += fmax(-0.5, fmin(0.5, 0.5 * (a - c) / (a - 2 * b + c)));
    free(ac);
    return 60.0 * fps / lag;
}

/* The tracker proper, on scratch space: buf [3T + 2P + 1] doubles, back/beats [T] ints. Writes
 * the kept beat frames to beats[0..n) and returns n. */
static int track_beats(const float *env, int T, int P, double tightness, double *buf, int *back, int *beats) {
    double *norm = buf, *local = buf + T, *cum = buf + 2 * T, *gauss = buf + 3 * T;

    /* envelope / its std (ddof 1), then smoothed by a Gaussian of sd P/32 (librosa) */
    double mean = 0, var = 0;
    for (int t = 0; t < T; t++) mean += env[t];
    mean /= T;
    for (int t = 0; t < T; t++) var += (env[t] - mean) * (env[t] - mean);
    double sd = T > 1 ? sqrt(var / (T - 1)) : 0;
    if (!(sd > 0)) return 0; /* flat envelope: no beats */
    for (int t = 0; t < T; t++) norm[t] = env[t] / sd;
    for (int k = -P; k <= P; k++) gauss[k + P] = exp(-0.5 * pow(k * 32.0 / P, 2));
    double local_max = 0;
    for (int t = 0; t < T; t++) {
        double s = 0;
        for (int k = -P; k <= P; k++)
            if (t - k >= 0 && t - k < T) s += norm[t - k] * gauss[k + P];
        local[t] = s;
        local_max = fmax(local_max, s);
    }

    /* DP: the previous beat lies 2P..P/2 frames back, penalised by tightness * log(gap/P)^2 */
    int lo = 2 * P, hi = (int)rint(P / 2.0); /* rint: numpy rounds halves to even too */
    int first_beat = 1;
    for (int i = 0; i < T; i++) {
        double best = -INFINITY;
        int best_gap = lo;
        for (int gap = lo; gap >= hi; gap--) {
            double c = -tightness * pow(log((double)gap / P), 2) + (i - gap >= 0 ? cum[i - gap] : 0.0);
            if (c > best) best = c, best_gap = gap;
        }
        cum[i] = local[i] + best;
        if (first_beat && local[i] < 0.01 * local_max) {
            back[i] = -1;
        } else {
            back[i] = i - best_gap; /* may be < 0: the chain starts here */
            first_beat = 0;
        }
    }

    /* last beat: the best cumulative score within the final beat period (Ellis 2007) */
    int last = T - 1;
    for (int i = T - 1; i >= 0 && i >= T - P; i--)
        if (cum[i] > cum[last]) last = i;
    int n = 0;
    for (int b = last; b >= 0; b = back[b]) beats[n++] = b;
    for (int k = 0; k < n / 2; k++) {
        int tmp = beats[k];
        beats[k] = beats[n - 1 - k];
        beats[n - 1 - k] = tmp;
    }

    /* trim weak leading/trailing beats: smooth the local score at the beats with hann(5) =
     * [0, .5, 1, .5, 0] and keep the span above half its RMS */
    double *smooth = norm, ms = 0; /* norm is no longer needed */
    for (int k = 0; k < n; k++) {
        smooth[k] = local[beats[k]] + 0.5 * ((k > 0 ? local[beats[k - 1]] : 0) + (k + 1 < n ? local[beats[k + 1]] : 0));
        ms += smooth[k] * smooth[k];
    }
    double thr = 0.5 * sqrt(ms / n);
    int first = -1, end = -1;
    for (int k = 0; k < n; k++)
        if (smooth[k] > thr) {
            if (first < 0) first = k;
            end = k;
        }
    if (first < 0) return 0;
    memmove(beats, beats + first, sizeof(int) * (size_t)(end - first + 1));
    return end - first + 1;
}

int vr_beat_track(const float *env, int T, double fps, double bpm, double tightness, double *beat_times, int cap) {
    if (check_env("beat track", env, T, fps) != 0) return -1;
    if (!beat_times && cap > 0) return vr_fail("beat track: NULL output with cap %d", cap);
    if (!(tightness > 0)) return vr_fail("beat track: tightness must be > 0 (got %g)", tightness);
    if (bpm <= 0) {
        bpm = vr_tempo_estimate(env, T, fps, 120);
        if (bpm < 0) return vr_context("beat track");
        if (bpm == 0) return 0; /* no onsets */
    }
    int P = (int)lround(60.0 * fps / bpm); /* frames per beat */
    if (P < 2) return vr_fail("beat track: %g BPM is too fast for %g frames/s", bpm, fps);
    double *buf = malloc(sizeof(double) * ((size_t)3 * T + 2 * P + 1));
    int *back = malloc(sizeof(int) * (size_t)T), *beats = malloc(sizeof(int) * (size_t)T);
    if (!buf || !back || !beats) {
        free(buf), free(back), free(beats);
        return vr_fail("beat track: out of memory");
    }
    int n = track_beats(env, T, P, tightness, buf, back, beats);
    for (int k = 0; k < n && k < cap; k++) beat_times[k] = beats[k] / fps;
    free(buf);
    free(back);
    free(beats);
    return n;
}

int vr_onset_times(const float *env, int T, double fps, double *times, int cap) {
    if (check_env("onset times", env, T, fps) != 0) return -1;
    if (!times && cap > 0) return vr_fail("onset times: NULL output with cap %d", cap);
    float lo = env[0], hi = env[0];
    for (int t = 1; t < T; t++) lo = fminf(lo, env[t]), hi = fmaxf(hi, env[t]);
    if (!(hi - lo > 1e-9f)) return 0; /* flat: nothing stands out */
    int w_max = (int)fmax(1, floor(0.03 * fps)), w_avg = (int)fmax(1, floor(0.10 * fps));
    int wait = (int)fmax(1, floor(0.03 * fps));
    const double delta = 0.07;
    int found = 0, last = -1 - wait;
    for (int t = 0; t < T; t++) {
        double x = (env[t] - lo) / (hi - lo);
        if (x <= 0 || t <= last + wait) continue;
        int is_max = 1;
        for (int k = t - w_max; k <= t + w_max && is_max; k++)
            if (k >= 0 && k < T && env[k] > env[t]) is_max = 0;
        if (!is_max) continue;
        double avg = 0;
        int cnt = 0;
        for (int k = t - w_avg; k <= t + w_avg; k++)
            if (k >= 0 && k < T) avg += (env[k] - lo) / (hi - lo), cnt++;
        if (x < avg / cnt + delta) continue;
        if (found < cap) times[found] = t / fps;
        found++;
        last = t;
    }
    return found;
}
