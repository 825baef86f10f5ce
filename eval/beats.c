/* beats.c — beat alignment, beat F-measure, tempo accuracy, key/mode and `vrobin rhythm-check`
 * (definitions in beats.h). */
#define _GNU_SOURCE
#include "eval/beats.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/tt.h"
#include "data/manifest.h"
#include "data/media.h"
#include "data/mel.h"
#include "data/rhythm.h"
#include "data/video_desc.h"

const char VR_BEATS_ALIGN_DEFINITION[] =
    "Beat alignment on 1-s bins (bin i = [i, i+1) s; a bin holds a beat when >= 1 beat falls in it; a hit is a "
    "bin holding both a generated and a true beat). G, T, H = bins with generated beats, true beats, hits. "
    "LORIS (primary): BCS = H/G (precision), BHS = H/T (recall), 0 when the denominator is 0; F1 = 2 BCS BHS / "
    "(BCS + BHS) of the means over clips. D2M-GAN: BCS = G/T (can exceed 1), BHS = H/T; undefined when T = 0 "
    "(clip left out of the D2M means). Generated beats: music onsets picked as LORIS (librosa onset_detect, "
    "delta 0.2, +-70 ms windows); true beats: the video's shot cuts + motion peaks, or the labelled cut times.";

/* ---------------------------------------------------------------------------------------------- */
/* beat alignment */

/* Mark the bins holding at least one of t[0..n); returns how many bins are marked, or -1. */
static int fill_bins(const char *what, const double *t, int n, int n_bins, unsigned char *bins) {
    memset(bins, 0, (size_t)n_bins);
    int marked = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(t[i]) || t[i] < 0 || t[i] >= n_bins)
            return vr_fail("beat alignment: %s beat %d at %g s is outside the clip's %d one-second bins [0, %d) s", what,
                           i, t[i], n_bins, n_bins);
        int b = (int)t[i];
        if (!bins[b]) bins[b] = 1, marked++;
    }
    return marked;
}

int vr_beats_align(const double *gen, int n_gen, const double *truth, int n_truth, double duration,
                   vr_beat_align *out) {
    if (!out || n_gen < 0 || n_truth < 0 || (n_gen > 0 && !gen) || (n_truth > 0 && !truth))
        return vr_fail("beat alignment: bad arguments (%d generated, %d true beats)", n_gen, n_truth);
    if (!isfinite(duration) || duration <= 0 || duration > 1e6)
        return vr_fail("beat alignment: clip duration must be in (0, 1e6] s (got %g)", duration);
    int n_bins = (int)fmax(1.0, ceil(duration - 1e-9)); /* 10.000000001 s of samples is 10 bins */
    unsigned char *g = malloc((size_t)n_bins), *t = malloc((size_t)n_bins);
    if (!g || !t) {
        free(g), free(t);
        return vr_fail("beat alignment: out of memory");
    }
    int ng = fill_bins("generated", gen, n_gen, n_bins, g);
    int nt = ng < 0 ? -1 : fill_bins("true", truth, n_truth, n_bins, t);
    int hits = 0;
    for (int b = 0; b < n_bins && nt >= 0; b++) hits += g[b] && t[b];
    free(g);
    free(t);
    if (ng < 0 || nt < 0) return -1;
    *out = (vr_beat_align){.n_bins = n_bins, .gen = ng, .truth = nt, .hits = hits};
    out->loris_bcs = ng ? (double)hits / ng : 0;
    out->loris_bhs = nt ? (double)hits / nt : 0;
    double s = out->loris_bcs + out->loris_bhs;
    out->loris_f1 = s > 0 ? 2 * out->loris_bcs * out->loris_bhs / s : 0;
    out->d2m_bcs = nt ? (double)ng / nt : NAN;
    out->d2m_bhs = nt ? (double)hits / nt : NAN;
    return 0;
}

int vr_beats_align_mean(const vr_beat_align *clips, int n, vr_beat_align_mean *out) {
    if (!clips || n < 1 || !out) return vr_fail("beat alignment mean: need >= 1 clip (got %d)", n);
    double bcs = 0, bhs = 0, dbcs = 0, dbhs = 0;
    int nd = 0;
    for (int i = 0; i < n; i++) {
        bcs += clips[i].loris_bcs;
        bhs += clips[i].loris_bhs;
        if (clips[i].truth > 0) dbcs += clips[i].d2m_bcs, dbhs += clips[i].d2m_bhs, nd++;
    }
    *out = (vr_beat_align_mean){.clips = n, .loris_bcs = bcs / n, .loris_bhs = bhs / n, .d2m_clips = nd};
    double s = out->loris_bcs + out->loris_bhs;
    out->loris_f1 = s > 0 ? 2 * out->loris_bcs * out->loris_bhs / s : 0;
    out->d2m_bcs = nd ? dbcs / nd : NAN;
    out->d2m_bhs = nd ? dbhs / nd : NAN;
    return 0;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int check_env(const char *fn, const float *env, int T, double fps, const void *outp, int cap) {
    if (!env || T <= 0) return vr_fail("%s: empty onset envelope", fn);
    if (!(fps > 0) || !isfinite(fps)) return vr_fail("%s: frame rate must be > 0 (got %g)", fn, fps);
    if (cap < 0 || (cap > 0 && !outp)) return vr_fail("%s: bad output buffer (cap %d)", fn, cap);
    for (int t = 0; t < T; t++)
        if (!isfinite(env[t])) return vr_fail("%s: non-finite value at frame %d", fn, t);
    return 0;
}

int vr_beats_music_onsets(const float *env, int T, double fps, double *times, int cap) {
    if (check_env("music onsets", env, T, fps, times, cap)) return -1;
    /* scale to [0, 1] between the minimum and the 99th percentile (clipped above it), or the
     * maximum when fewer than 1 % of the frames rise above the minimum (a sparse envelope) */
    float *x = malloc(sizeof(float) * (size_t)T);
    if (!x) return vr_fail("music onsets: out of memory");
    memcpy(x, env, sizeof(float) * (size_t)T);
    qsort(x, (size_t)T, sizeof(float), cmp_float);
    float lo = x[0], hi = x[(size_t)(VR_BEATS_ONSET_CLIP_Q * (T - 1))];
    if (!(hi - lo > 1e-9f)) hi = x[T - 1];
    if (!(hi - lo > 1e-9f)) { /* flat: no onsets */
        free(x);
        return 0;
    }
    for (int t = 0; t < T; t++) x[t] = fminf(1.0f, (env[t] - lo) / (hi - lo));
    int w = (int)fmax(1, lround(VR_BEATS_ONSET_WINDOW_S * fps)), found = 0, last = -2;
    for (int t = 0; t < T; t++) {
        if (t <= last + 1) continue; /* librosa's wait = 1 frame */
        int a = t - w < 0 ? 0 : t - w, b = t + w > T ? T : t + w; /* [t - w, t + w) clipped */
        double mean = 0;
        int is_max = 1;
        for (int k = a; k < b; k++) {
            mean += x[k];
            if (env[k] > env[t]) is_max = 0; /* on the unclipped envelope: clipped peaks do not tie */
        }
        if (!is_max || x[t] < mean / (b - a) + VR_BEATS_ONSET_DELTA) continue;
        if (found < cap) times[found] = t / fps;
        found++;
        last = t;
    }
    free(x);
    return found;
}

/* ---------------------------------------------------------------------------------------------- */
/* video beats */

static int check_desc(const char *fn, const float *desc, int n_frames, double fps, const void *outp, int cap) {
    if (!desc || n_frames < 1) return vr_fail("%s: need >= 1 frame of descriptors (got %d)", fn, n_frames);
    if (!(fps > 0) || !isfinite(fps)) return vr_fail("%s: frame rate must be > 0 (got %g)", fn, fps);
    if (cap < 0 || (cap > 0 && !outp)) return vr_fail("%s: bad output buffer (cap %d)", fn, cap);
    for (int t = 0; t < n_frames; t++)
        if (!isfinite(desc[(size_t)t * VR_VDESC_DIM + VR_VDESC_MOTION]))
            return vr_fail("%s: non-finite motion energy at frame %d", fn, t);
    return 0;
}

int vr_beats_motion_peaks(const float *desc, int n_frames, double fps, int *out_idx, int cap) {
    if (check_desc("motion peaks", desc, n_frames, fps, out_idx, cap)) return -1;
    if (n_frames < 2) return 0; /* frame 0 has no motion */
    int n = n_frames - 1;
    float *m = malloc(sizeof(float) * (size_t)n), *sorted = malloc(sizeof(float) * (size_t)n);
    if (!m || !sorted) {
        free(m), free(sorted);
        return vr_fail("motion peaks: out of memory");
    }
    for (int t = 1; t < n_frames; t++) m[t - 1] = desc[(size_t)t * VR_VDESC_DIM + VR_VDESC_MOTION];
    memcpy(sorted, m, sizeof(float) * (size_t)n);
    qsort(sorted, (size_t)n, sizeof(float), cmp_float);
    float median = n % 2 ? sorted[n / 2] : 0.5f * (sorted[n / 2 - 1] + sorted[n / 2]);
    free(sorted);
    float thr = fmaxf(VR_VBEAT_MEDIAN_RATIO * median, VR_VBEAT_MOTION_MIN);
    int w = (int)fmax(1, lround(VR_VBEAT_WINDOW_S * fps)), found = 0;
    for (int i = 0; i < n; i++) { /* m[i] is frame i + 1 */
        if (m[i] < thr) continue;
        int peak = 1;
        for (int k = i - w < 0 ? 0 : i - w; k <= i + w && k < n && peak; k++)
            if (k < i ? m[k] >= m[i] : m[k] > m[i]) peak = 0; /* a plateau counts once, at its start */
        if (!peak) continue;
        if (found < cap) out_idx[found] = i + 1;
        found++;
    }
    free(m);
    return found;
}

int vr_beats_video_times(const float *desc, int n_frames, double fps, double *times, int cap) {
    if (check_desc("video beats", desc, n_frames, fps, times, cap)) return -1;
    int nc = vr_shot_cuts(desc, n_frames, NULL, 0), nm = vr_beats_motion_peaks(desc, n_frames, fps, NULL, 0);
    if (nc < 0 || nm < 0) return vr_context("video beats");
    int *cuts = malloc(sizeof(int) * (size_t)(nc + 1)), *peaks = malloc(sizeof(int) * (size_t)(nm + 1));
    if (!cuts || !peaks) {
        free(cuts), free(peaks);
        return vr_fail("video beats: out of memory");
    }
    vr_shot_cuts(desc, n_frames, cuts, nc);
    vr_beats_motion_peaks(desc, n_frames, fps, peaks, nm);
    /* merge two increasing lists, dropping motion peaks near a cut */
    double near = VR_VBEAT_WINDOW_S * fps + 1e-9;
    int found = 0, i = 0, j = 0, c_lo = 0;
    while (i < nc || j < nm) {
        int frame;
        if (j >= nm || (i < nc && cuts[i] <= peaks[j])) {
            frame = cuts[i++];
        } else {
            frame = peaks[j++];
            while (c_lo < nc && cuts[c_lo] < frame - near) c_lo++;
            if (c_lo < nc && fabs((double)cuts[c_lo] - frame) <= near) continue;
        }
        if (found < cap) times[found] = frame / fps;
        found++;
    }
    free(cuts);
    free(peaks);
    return found;
}

/* ---------------------------------------------------------------------------------------------- */
/* beat F-measure */

static int check_times(const char *what, const double *t, int n) {
    if (n < 0 || (n > 0 && !t)) return vr_fail("beat F-measure: bad %s list (%d beats)", what, n);
    for (int i = 0; i < n; i++) {
        if (!isfinite(t[i]) || t[i] < 0)
            return vr_fail("beat F-measure: %s beat %d is %g s (need finite, >= 0)", what, i, t[i]);
        if (i > 0 && t[i] < t[i - 1])
            return vr_fail("beat F-measure: %s beats must be sorted (beat %d at %g s < beat %d at %g s)", what, i, t[i],
                           i - 1, t[i - 1]);
    }
    return 0;
}

double vr_beats_f_measure(const double *ref, int n_ref, const double *est, int n_est, double window) {
    if (check_times("reference", ref, n_ref) || check_times("estimated", est, n_est)) return -1;
    if (!(window >= 0) || !isfinite(window)) return vr_fail("beat F-measure: window must be >= 0 s (got %g)", window);
    if (n_ref == 0 || n_est == 0) return 0;
    /* On a line, matching the earliest unmatched pair that lies within the window is optimal
     * (an exchange argument), so this greedy pass finds a maximum matching, as mir_eval's
     * bipartite matching does. */
    int i = 0, j = 0, matched = 0;
    while (i < n_ref && j < n_est) {
        if (fabs(ref[i] - est[j]) <= window) matched++, i++, j++;
        else if (ref[i] < est[j]) i++;
        else j++;
    }
    double p = (double)matched / n_est, r = (double)matched / n_ref;
    return p + r > 0 ? 2 * p * r / (p + r) : 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* tempo */

static int tempo_check(double est, double ref) {
    if (!isfinite(ref) || ref <= 0) return vr_fail("tempo accuracy: reference must be a positive BPM (got %g)", ref);
    if (!isfinite(est)) return vr_fail("tempo accuracy: estimate is not finite (%g)", est);
    return 0;
}

static int within(double est, double target) { return fabs(est - target) <= VR_TEMPO_TOLERANCE * target; }

int vr_tempo_acc1(double est, double ref) {
    if (tempo_check(est, ref)) return -1;
    return est > 0 && within(est, ref);
}

int vr_tempo_acc2(double est, double ref) {
    if (tempo_check(est, ref)) return -1;
    const double mult[] = {1.0, 2.0, 0.5, 3.0, 1.0 / 3.0};
    for (int k = 0; k < 5; k++)
        if (est > 0 && within(est, ref * mult[k])) return 1;
    return 0;
}

int vr_tempo_summarize(const double *est, const double *ref, int n, vr_tempo_summary *out) {
    if (!est || !ref || n < 1 || !out) return vr_fail("tempo summary: need >= 1 clip (got %d)", n);
    *out = (vr_tempo_summary){.clips = n};
    double err = 0;
    for (int i = 0; i < n; i++) {
        int a1 = vr_tempo_acc1(est[i], ref[i]), a2 = vr_tempo_acc2(est[i], ref[i]);
        if (a1 < 0 || a2 < 0) return vr_context("tempo summary: clip %d", i);
        out->acc1 += a1;
        out->acc2 += a2;
        err += fabs(est[i] - ref[i]);
    }
    out->acc1_rate = (double)out->acc1 / n;
    out->acc2_rate = (double)out->acc2 / n;
    out->mean_abs_err = err / n;
    return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* key and mode */

#define KEY_FMIN 55.0
#define KEY_FMAX 2000.0

static const double KK_MAJOR[12] = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
static const double KK_MINOR[12] = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17};
static const char *KEY_NAMES[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};

const char *vr_key_name(int key) { return key >= 0 && key < 12 ? KEY_NAMES[key] : "none"; }

/* In-place radix-2 complex FFT of length n (a power of two); tw holds cos/sin of 2 pi k / n for
 * k < n/2 as tw[2k], tw[2k+1]. */
static void fft(double *re, double *im, int n, const double *tw) {
    for (int i = 1, j = 0; i < n; i++) { /* bit-reversal permutation */
        int bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i];
            re[i] = re[j], re[j] = t;
            t = im[i];
            im[i] = im[j], im[j] = t;
        }
    }
    for (int len = 2; len <= n; len <<= 1) {
        int step = n / len;
        for (int s = 0; s < n; s += len)
            for (int k = 0; k < len / 2; k++) {
                double c = tw[2 * k * step], si = -tw[2 * k * step + 1]; /* e^{-2 pi i k / len} */
                int a = s + k, b = a + len / 2;
                double xr = re[b] * c - im[b] * si, xi = re[b] * si + im[b] * c;
                re[b] = re[a] - xr, im[b] = im[a] - xi;
                re[a] += xr, im[a] += xi;
            }
    }
}

int vr_key_chroma(const float *wave, int64_t n, int sample_rate, double chroma[12]) {
    if (!wave || n < 1 || !chroma) return vr_fail("chroma: need >= 1 sample (got %lld)", (long long)n);
    if (sample_rate < 1000 || sample_rate > 1000000)
        return vr_fail("chroma: sample rate must be 1000..1000000 Hz (got %d)", sample_rate);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(wave[i])) return vr_fail("chroma: non-finite sample at %lld", (long long)i);
    int nfft = 1;
    while (nfft < sample_rate / 2) nfft <<= 1;
    int hop = nfft / 4;
    int64_t frames = n <= nfft ? 1 : 1 + (n - nfft) / hop;
    double *buf = malloc(sizeof(double) * (size_t)nfft * 4); /* re, im, window, twiddles */
    int *pc = malloc(sizeof(int) * (size_t)(nfft / 2 + 1));
    if (!buf || !pc) {
        free(buf), free(pc);
        return vr_fail("chroma: out of memory");
    }
    double *re = buf, *im = buf + nfft, *win = buf + 2 * nfft, *tw = buf + 3 * nfft;
    for (int i = 0; i < nfft; i++) win[i] = 0.5 - 0.5 * cos(2 * M_PI * i / nfft); /* periodic Hann */
    for (int k = 0; k < nfft / 2; k++) tw[2 * k] = cos(2 * M_PI * k / nfft), tw[2 * k + 1] = sin(2 * M_PI * k / nfft);
    double f_hi = fmin(KEY_FMAX, sample_rate / 2.0);
    for (int k = 0; k <= nfft / 2; k++) {
        double f = (double)k * sample_rate / nfft;
        pc[k] = f < KEY_FMIN || f > f_hi ? -1 : (int)(((lround(12 * log2(f / 440.0)) + 9) % 12 + 12) % 12);
    }
    memset(chroma, 0, sizeof(double) * 12);
    for (int64_t fr = 0; fr < frames; fr++) {
        int64_t s = fr * hop;
        for (int i = 0; i < nfft; i++) {
            re[i] = s + i < n ? wave[s + i] * win[i] : 0;
            im[i] = 0;
        }
        fft(re, im, nfft, tw);
        for (int k = 0; k <= nfft / 2; k++)
            if (pc[k] >= 0) chroma[pc[k]] += hypot(re[k], im[k]);
    }
    free(buf);
    free(pc);
    double mx = 0;
    for (int c = 0; c < 12; c++) mx = fmax(mx, chroma[c]);
    for (int c = 0; c < 12 && mx > 0; c++) chroma[c] /= mx;
    return 0;
}

/* Pearson correlation of x with profile p rotated so that p[0] sits on pitch class `tonic`. */
static double rotated_corr(const double *x, const double *p, int tonic) {
    double mx = 0, mp = 0;
    for (int c = 0; c < 12; c++) mx += x[c], mp += p[c];
    mx /= 12, mp /= 12;
    double sxy = 0, sxx = 0, syy = 0;
    for (int c = 0; c < 12; c++) {
        double a = x[c] - mx, b = p[(c - tonic + 12) % 12] - mp;
        sxy += a * b, sxx += a * a, syy += b * b;
    }
    return sxy / sqrt(sxx * syy);
}

int vr_key_from_chroma(const double chroma[12], vr_key *out) {
    if (!chroma || !out) return vr_fail("key: NULL chroma or result");
    double lo = chroma[0], hi = chroma[0];
    for (int c = 0; c < 12; c++) {
        if (!isfinite(chroma[c])) return vr_fail("key: chroma bin %d is not finite", c);
        lo = fmin(lo, chroma[c]), hi = fmax(hi, chroma[c]);
    }
    memcpy(out->chroma, chroma, sizeof out->chroma);
    out->key = -1, out->minor = 0, out->corr = 0;
    if (!(hi - lo > 1e-12 * fmax(1.0, fabs(hi)))) return 0; /* no contrast: no key */
    out->corr = -2;
    for (int minor = 0; minor < 2; minor++)
        for (int k = 0; k < 12; k++) {
            double r = rotated_corr(chroma, minor ? KK_MINOR : KK_MAJOR, k);
            if (r > out->corr) out->corr = r, out->key = k, out->minor = minor;
        }
    return 0;
}

int vr_key_detect(const float *wave, int64_t n, int sample_rate, vr_key *out) {
    double chroma[12];
    if (!out) return vr_fail("key: NULL result");
    if (vr_key_chroma(wave, n, sample_rate, chroma)) return -1;
    return vr_key_from_chroma(chroma, out);
}

/* ---------------------------------------------------------------------------------------------- */
/* vrobin rhythm-check */

#define RC_SR 16000
#define RC_MEL_FPS 50
#define RC_N_MELS 64
#define RC_VIDEO_FPS 24 /* motion peaks need >= 24 fps (beats.h); SynthV2M renders at 24 */

typedef struct clip_result {
    char *id;
    double duration, bpm_ref, bpm_est, beat_f;
    int acc1, acc2, key_ref, minor_ref, key_ok, mode_ok, n_beats, n_onsets, n_video_beats;
    vr_key key;
    vr_beat_align vs_video, vs_cuts;
} clip_result;

/* A list of numbers from labels[name] into a malloc'd array (*out, may be NULL when empty). */
static int label_times(const cJSON *labels, const char *name, const char *id, double **out, int *n) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(labels, name);
    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(a)) return vr_fail("clip %s: labels have no \"%s\" array (not a SynthV2M manifest?)", id, name);
    int len = cJSON_GetArraySize(a);
    if (len == 0) return 0;
    if (!(*out = malloc(sizeof(double) * (size_t)len))) return vr_fail("clip %s: out of memory", id);
    const cJSON *v;
    cJSON_ArrayForEach(v, a) {
        if (!cJSON_IsNumber(v)) {
            free(*out);
            *out = NULL;
            return vr_fail("clip %s: labels.%s[%d] is not a number", id, name, *n);
        }
        (*out)[(*n)++] = v->valuedouble;
    }
    return 0;
}

/* Keep the times before `limit` (in place, order kept); returns how many remain. As LORIS cuts
 * the reference's bins to the generated clip's length, true beats after the music are dropped. */
static int keep_before(double *t, int n, double limit) {
    int k = 0;
    for (int i = 0; i < n; i++)
        if (t[i] < limit) t[k++] = t[i];
    return k;
}

/* Decode one clip, analyse it and score it against its labels. */
static int check_clip(const vr_manifest_entry *e, const vr_mel *mel, clip_result *r) {
    const char *id = e->id ? e->id : "?";
    if (e->error) return vr_fail("%s", e->error);
    memset(r, 0, sizeof *r);
    cJSON *labels = cJSON_Parse(e->labels_json);
    const cJSON *bpm = cJSON_GetObjectItemCaseSensitive(labels, "tempo_bpm");
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(labels, "key");
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(labels, "mode");
    double *beats_ref = NULL, *cuts_ref = NULL, *onsets = NULL, *beats = NULL, *vbeats = NULL;
    float *logmel = NULL, *env = NULL, *desc = NULL;
    vr_media music = {0}, video = {0};
    int n_beats_ref, n_cuts_ref, rc = -1;
    if (!cJSON_IsNumber(bpm) || !(bpm->valuedouble > 0) || !cJSON_IsNumber(key) || key->valueint < 0 ||
        key->valueint > 11 || !cJSON_IsString(mode) ||
        (strcmp(mode->valuestring, "major") && strcmp(mode->valuestring, "minor"))) {
        vr_fail("clip %s: labels need tempo_bpm > 0, key 0..11 and mode \"major\"/\"minor\" (not a SynthV2M manifest?)",
                id);
        goto done;
    }
    if (label_times(labels, "beat_times", id, &beats_ref, &n_beats_ref) ||
        label_times(labels, "cut_times", id, &cuts_ref, &n_cuts_ref))
        goto done;
    r->bpm_ref = bpm->valuedouble;
    r->key_ref = key->valueint;
    r->minor_ref = !strcmp(mode->valuestring, "minor");

    vr_media_opts o;
    vr_media_opts_default(&o);
    o.sample_rate = RC_SR;
    o.fps = RC_VIDEO_FPS;
    o.start = e->start;
    o.duration = e->end > e->start ? e->end - e->start : 0;
    o.want_audio = 1;
    o.want_video = 0;
    if (vr_media_decode(e->music ? e->music : e->video, &o, &music)) {
        vr_context("clip %s", id);
        goto done;
    }
    o.want_audio = 0;
    o.want_video = 1;
    if (vr_media_decode(e->video, &o, &video)) {
        vr_context("clip %s", id);
        goto done;
    }
    r->duration = (double)music.n_samples / RC_SR;
    if (music.n_samples < mel->n_fft || video.n_frames < 2) {
        vr_fail("clip %s: %.3f s of audio and %d video frames: too short to analyse (need >= %.3f s and 2 frames)", id,
                r->duration, video.n_frames, (double)mel->n_fft / RC_SR);
        goto done;
    }

    /* music: onset envelope -> tempo, beats, onsets; key */
    int T = (int)(music.n_samples / mel->hop);
    logmel = malloc(sizeof(float) * (size_t)T * RC_N_MELS);
    env = malloc(sizeof(float) * (size_t)T);
    beats = malloc(sizeof(double) * (size_t)T);
    onsets = malloc(sizeof(double) * (size_t)T);
    desc = malloc(sizeof(float) * (size_t)video.n_frames * VR_VDESC_DIM);
    vbeats = malloc(sizeof(double) * (size_t)video.n_frames);
    if (!logmel || !env || !beats || !onsets || !desc || !vbeats) {
        vr_fail("clip %s: out of memory", id);
        goto done;
    }
    tt_scope_begin();
    int64_t got = vr_logmel(mel, music.audio, music.n_samples, logmel);
    tt_scope_end();
    if (got != T || vr_onset_strength(logmel, T, RC_N_MELS, VR_ONSET_DELAY_DEFAULT, env)) {
        vr_context("clip %s: log-mel/onsets", id);
        goto done;
    }
    r->bpm_est = vr_tempo_estimate(env, T, RC_MEL_FPS, 120);
    r->n_beats = vr_beat_track(env, T, RC_MEL_FPS, 0, 100, beats, T);
    r->n_onsets = vr_beats_music_onsets(env, T, RC_MEL_FPS, onsets, T);
    if (r->bpm_est < 0 || r->n_beats < 0 || r->n_onsets < 0 ||
        vr_key_detect(music.audio, music.n_samples, RC_SR, &r->key)) {
        vr_context("clip %s", id);
        goto done;
    }
    r->acc1 = vr_tempo_acc1(r->bpm_est, r->bpm_ref);
    r->acc2 = vr_tempo_acc2(r->bpm_est, r->bpm_ref);
    r->beat_f = vr_beats_f_measure(beats_ref, n_beats_ref, beats, r->n_beats, VR_BEATS_F_WINDOW);
    r->key_ok = r->key.key == r->key_ref && r->key.minor == r->minor_ref;
    r->mode_ok = r->key.key >= 0 && r->key.minor == r->minor_ref;

    /* video beats, scored on the music's 1-s bins */
    if (vr_video_descriptors(video.frames, video.n_frames, video.width, video.height, desc)) {
        vr_context("clip %s", id);
        goto done;
    }
    r->n_video_beats = vr_beats_video_times(desc, video.n_frames, RC_VIDEO_FPS, vbeats, video.n_frames);
    double bins_end = ceil(r->duration - 1e-9); /* vr_beats_align's bins */
    if (r->n_video_beats >= 0) r->n_video_beats = keep_before(vbeats, r->n_video_beats, bins_end);
    n_cuts_ref = keep_before(cuts_ref, n_cuts_ref, bins_end);
    if (r->n_video_beats < 0 || r->beat_f < 0 ||
        vr_beats_align(onsets, r->n_onsets, vbeats, r->n_video_beats, r->duration, &r->vs_video) ||
        vr_beats_align(onsets, r->n_onsets, cuts_ref, n_cuts_ref, r->duration, &r->vs_cuts)) {
        vr_context("clip %s", id);
        goto done;
    }
    r->id = strdup(id);
    rc = r->id ? 0 : vr_fail("clip %s: out of memory", id);
done:
    cJSON_Delete(labels);
    vr_media_free(&music);
    vr_media_free(&video);
    free(beats_ref), free(cuts_ref), free(onsets), free(beats), free(vbeats);
    free(logmel), free(env), free(desc);
    return rc;
}

typedef struct rc_summary {
    vr_tempo_summary tempo;
    double beat_f, key_acc, mode_acc;
    vr_beat_align_mean vs_video, vs_cuts;
} rc_summary;

static int summarize(const clip_result *r, int n, rc_summary *s) {
    double *est = malloc(sizeof(double) * (size_t)n), *ref = malloc(sizeof(double) * (size_t)n);
    vr_beat_align *av = malloc(sizeof *av * (size_t)n), *ac = malloc(sizeof *ac * (size_t)n);
    int rc = -1;
    if (!est || !ref || !av || !ac) {
        vr_fail("rhythm-check: out of memory");
        goto done;
    }
    memset(s, 0, sizeof *s);
    for (int i = 0; i < n; i++) {
        est[i] = r[i].bpm_est, ref[i] = r[i].bpm_ref, av[i] = r[i].vs_video, ac[i] = r[i].vs_cuts;
        s->beat_f += r[i].beat_f / n;
        s->key_acc += (double)r[i].key_ok / n;
        s->mode_acc += (double)r[i].mode_ok / n;
    }
    rc = vr_tempo_summarize(est, ref, n, &s->tempo) || vr_beats_align_mean(av, n, &s->vs_video) ||
                 vr_beats_align_mean(ac, n, &s->vs_cuts)
             ? -1
             : 0;
done:
    free(est), free(ref), free(av), free(ac);
    return rc;
}

static void print_align_row(const char *name, const vr_beat_align_mean *a) {
    printf("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %d/%d |\n", name, a->loris_bcs, a->loris_bhs, a->loris_f1,
           a->d2m_bcs, a->d2m_bhs, a->d2m_clips, a->clips);
}

static void print_table(const char *dir, const char *split, const rc_summary *s, int n_failed) {
    printf("## rhythm-check: %s, split %s (ground-truth renders vs labels)\n\n", dir, split);
    printf("| clips | failed | tempo Acc1 | tempo Acc2 | mean abs BPM error | beat F (70 ms) | key acc | mode acc |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    printf("| %d | %d | %.1f %% | %.1f %% | %.2f | %.3f | %.1f %% | %.1f %% |\n\n", s->tempo.clips, n_failed,
           100 * s->tempo.acc1_rate, 100 * s->tempo.acc2_rate, s->tempo.mean_abs_err, s->beat_f, 100 * s->key_acc,
           100 * s->mode_acc);
    printf("| music onsets vs | LORIS BCS | LORIS BHS | LORIS F1 | D2M BCS | D2M BHS | clips (D2M) |\n");
    printf("|---|---|---|---|---|---|---|\n");
    print_align_row("video beats (cuts + motion peaks)", &s->vs_video);
    print_align_row("labelled cut times", &s->vs_cuts);
    printf("\nTempo: vr_tempo_estimate (prior 120 BPM); Acc1 within 4 %% of the label, Acc2 also at 2, 1/2, 3, 1/3 times "
           "it. Beats: vr_beat_track vs labels.beat_times, mir_eval F-measure (+-70 ms, no 5-s trim). Key: STFT "
           "chroma x Krumhansl-Kessler profiles; key acc needs tonic and mode right, mode acc the mode alone.\n"
           "%s\n",
           VR_BEATS_ALIGN_DEFINITION);
}

static cJSON *align_json(const vr_beat_align *a) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "bins", a->n_bins);
    cJSON_AddNumberToObject(o, "gen_bins", a->gen);
    cJSON_AddNumberToObject(o, "true_bins", a->truth);
    cJSON_AddNumberToObject(o, "hit_bins", a->hits);
    cJSON_AddNumberToObject(o, "loris_bcs", a->loris_bcs);
    cJSON_AddNumberToObject(o, "loris_bhs", a->loris_bhs);
    cJSON_AddNumberToObject(o, "loris_f1", a->loris_f1);
    if (a->truth > 0) { /* JSON has no NaN: undefined D2M scores are null */
        cJSON_AddNumberToObject(o, "d2m_bcs", a->d2m_bcs);
        cJSON_AddNumberToObject(o, "d2m_bhs", a->d2m_bhs);
    } else {
        cJSON_AddNullToObject(o, "d2m_bcs");
        cJSON_AddNullToObject(o, "d2m_bhs");
    }
    return o;
}

static cJSON *align_mean_json(const vr_beat_align_mean *a) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "clips", a->clips);
    cJSON_AddNumberToObject(o, "loris_bcs", a->loris_bcs);
    cJSON_AddNumberToObject(o, "loris_bhs", a->loris_bhs);
    cJSON_AddNumberToObject(o, "loris_f1", a->loris_f1);
    cJSON_AddNumberToObject(o, "d2m_clips", a->d2m_clips);
    if (a->d2m_clips > 0) {
        cJSON_AddNumberToObject(o, "d2m_bcs", a->d2m_bcs);
        cJSON_AddNumberToObject(o, "d2m_bhs", a->d2m_bhs);
    } else {
        cJSON_AddNullToObject(o, "d2m_bcs");
        cJSON_AddNullToObject(o, "d2m_bhs");
    }
    return o;
}

static int write_json(const char *path, const char *dir, const char *split, const clip_result *r, int n,
                      const rc_summary *s, int n_failed) {
    cJSON *root = cJSON_CreateObject(), *clips = cJSON_CreateArray(), *sum = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "dir", dir);
    cJSON_AddStringToObject(root, "split", split);
    cJSON_AddNumberToObject(root, "failed_clips", n_failed);
    cJSON_AddNumberToObject(sum, "clips", n);
    cJSON_AddNumberToObject(sum, "tempo_acc1", s->tempo.acc1_rate);
    cJSON_AddNumberToObject(sum, "tempo_acc2", s->tempo.acc2_rate);
    cJSON_AddNumberToObject(sum, "tempo_mean_abs_err_bpm", s->tempo.mean_abs_err);
    cJSON_AddNumberToObject(sum, "beat_f_measure", s->beat_f);
    cJSON_AddNumberToObject(sum, "key_acc", s->key_acc);
    cJSON_AddNumberToObject(sum, "mode_acc", s->mode_acc);
    cJSON_AddItemToObject(sum, "align_video_beats", align_mean_json(&s->vs_video));
    cJSON_AddItemToObject(sum, "align_labelled_cuts", align_mean_json(&s->vs_cuts));
    cJSON_AddItemToObject(root, "summary", sum);
    for (int i = 0; i < n; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "id", r[i].id);
        cJSON_AddNumberToObject(c, "duration", r[i].duration);
        cJSON_AddNumberToObject(c, "tempo_ref", r[i].bpm_ref);
        cJSON_AddNumberToObject(c, "tempo_est", r[i].bpm_est);
        cJSON_AddBoolToObject(c, "acc1", r[i].acc1);
        cJSON_AddBoolToObject(c, "acc2", r[i].acc2);
        cJSON_AddNumberToObject(c, "beats_tracked", r[i].n_beats);
        cJSON_AddNumberToObject(c, "beat_f_measure", r[i].beat_f);
        cJSON_AddStringToObject(c, "key_ref", vr_key_name(r[i].key_ref));
        cJSON_AddStringToObject(c, "mode_ref", r[i].minor_ref ? "minor" : "major");
        cJSON_AddStringToObject(c, "key_est", vr_key_name(r[i].key.key));
        cJSON_AddStringToObject(c, "mode_est", r[i].key.key < 0 ? "none" : r[i].key.minor ? "minor" : "major");
        cJSON_AddNumberToObject(c, "key_corr", r[i].key.corr);
        cJSON_AddBoolToObject(c, "key_ok", r[i].key_ok);
        cJSON_AddBoolToObject(c, "mode_ok", r[i].mode_ok);
        cJSON_AddNumberToObject(c, "music_onsets", r[i].n_onsets);
        cJSON_AddNumberToObject(c, "video_beats", r[i].n_video_beats);
        cJSON_AddItemToObject(c, "align_video_beats", align_json(&r[i].vs_video));
        cJSON_AddItemToObject(c, "align_labelled_cuts", align_json(&r[i].vs_cuts));
        cJSON_AddItemToArray(clips, c);
    }
    cJSON_AddItemToObject(root, "clips", clips);
    cJSON_AddStringToObject(root, "definition_beat_alignment", VR_BEATS_ALIGN_DEFINITION);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return vr_fail("%s: out of memory formatting JSON", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the NUL: the file ends with a newline */
    int rc = vr_write_file_atomic(path, text, len + 1);
    free(text);
    return rc;
}

static int usage(FILE *out) {
    fprintf(out,
            "usage: vrobin rhythm-check <synthv2m_dir> [--split test-id] [--max N] [--json OUT]\n\n"
            "Check the rhythm and attribute metrics on a SynthV2M folder's ground truth: for each clip of\n"
            "<dir>/<split>.jsonl, the music's tempo, beats and key/mode against the labels, and the 1-s-bin beat\n"
            "alignment (LORIS and D2M-GAN BCS/BHS) of its onsets with the video's beats (cuts + motion peaks)\n"
            "and with the labelled cut times. Prints a Markdown table; --json writes every clip's numbers.\n"
            "Exit status 1 when any clip fails (each is named on stderr); the table covers the others.\n");
    return out == stdout ? 0 : 2;
}

int vr_cmd_rhythm_check(int argc, char **argv) {
    if (vr_wants_help(argc, argv)) return usage(stdout);
    const char *dir = NULL, *split = "test-id", *json = NULL;
    long max = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--split") && i + 1 < argc) {
            split = argv[++i];
        } else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
            json = argv[++i];
        } else if (!strcmp(argv[i], "--max") && i + 1 < argc) {
            char *end;
            max = strtol(argv[++i], &end, 10);
            if (*end || max < 1) {
                fprintf(stderr, "vrobin rhythm-check: --max needs a positive integer (got '%s')\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] != '-' && !dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, "vrobin rhythm-check: unexpected argument '%s'\n\n", argv[i]);
            return usage(stderr);
        }
    }
    if (!dir) return usage(stderr);

    char *path = NULL;
    if (asprintf(&path, "%s/%s.jsonl", dir, split) < 0) return 1;
    vr_manifest *m = vr_manifest_load(path);
    if (!m) {
        fprintf(stderr, "vrobin rhythm-check: %s\n", vr_error());
        free(path);
        return 1;
    }
    int n = (int)(max > 0 && max < m->n ? max : m->n);
    if (n == 0) {
        fprintf(stderr, "vrobin rhythm-check: %s: no clips (empty manifest)\n", path);
        vr_manifest_free(m);
        free(path);
        return 1;
    }
    vr_runtime_apply(1, 0); /* the one libtorch op here (the STFT) is small: one thread */
    vr_mel mel;
    clip_result *res = calloc((size_t)n, sizeof *res);
    if (!res || vr_mel_init(&mel, RC_SR, RC_N_MELS, RC_MEL_FPS)) {
        fprintf(stderr, "vrobin rhythm-check: %s\n", res ? vr_error() : "out of memory");
        free(res);
        vr_manifest_free(m);
        free(path);
        return 1;
    }
    int ok = 0, failed = 0;
    vr_progress *prog = vr_progress_begin("rhythm-check", n, "clips");
    for (int i = 0; i < n; i++) {
        if (check_clip(&m->entries[i], &mel, &res[ok]) == 0) ok++;
        else {
            fprintf(stderr, "vrobin rhythm-check: %s\n", vr_error());
            failed++;
        }
        vr_progress_update(prog, i + 1, NULL);
    }
    vr_progress_end(prog);
    int rc = 1;
    rc_summary s;
    if (ok == 0) {
        fprintf(stderr, "vrobin rhythm-check: %s: none of the %d clips could be analysed\n", path, n);
    } else if (summarize(res, ok, &s) || (json && write_json(json, dir, split, res, ok, &s, failed))) {
        fprintf(stderr, "vrobin rhythm-check: %s\n", vr_error());
    } else {
        print_table(dir, split, &s, failed);
        rc = failed ? 1 : 0;
    }
    for (int i = 0; i < ok; i++) free(res[i].id);
    free(res);
    vr_mel_free(&mel);
    vr_manifest_free(m);
    free(path);
    return rc;
}
