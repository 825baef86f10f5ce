/* test_beats.c — the rhythm and attribute metrics of eval/beats.h on inputs with known answers.
 *
 *   test_beats                      hand-made cases: BCS/BHS in both definitions (edge cases
 *                                   included), their means, beat F-measure, tempo Acc1/Acc2,
 *                                   music onsets and video beats from synthetic envelopes and
 *                                   descriptors, key/mode of sine-wave triads in all 24 keys,
 *                                   and bad inputs;
 *   test_beats PY SCRIPT WORKDIR    also the oracle: random beat lists and chord signals written
 *                                   to WORKDIR, scored by SCRIPT (numpy/scipy, the papers' code
 *                                   logic and mir_eval's matching) and compared.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/fsutil.h"
#include "data/video_desc.h"
#include "eval/beats.h"
#include "tests/check.h"

#define SR 16000

static int near(double a, double b, double tol) { return fabs(a - b) <= tol; }

/* ---- beat alignment ---- */

static void test_align(void) {
    vr_beat_align a, c, d;
    /* gen bins {0,1,3,9}, true bins {0,1,5}: G 4, T 3, H 2 */
    const double gen[] = {0.5, 1.2, 1.7, 3.1, 9.99}, truth[] = {0.1, 1.9, 5.5};
    CHECK(vr_beats_align(gen, 5, truth, 3, 10.0, &a) == 0, "align: basic case");
    CHECK(a.n_bins == 10 && a.gen == 4 && a.truth == 3 && a.hits == 2, "align: bins %d G %d T %d H %d", a.n_bins, a.gen,
          a.truth, a.hits);
    CHECK(near(a.loris_bcs, 0.5, 1e-12) && near(a.loris_bhs, 2.0 / 3, 1e-12), "LORIS BCS/BHS %g %g", a.loris_bcs,
          a.loris_bhs);
    CHECK(near(a.loris_f1, 4.0 / 7, 1e-12), "LORIS F1 %g (want 4/7)", a.loris_f1);
    CHECK(near(a.d2m_bcs, 4.0 / 3, 1e-12) && near(a.d2m_bhs, 2.0 / 3, 1e-12), "D2M BCS/BHS %g %g", a.d2m_bcs, a.d2m_bhs);

    /* no generated beats: LORIS 0/0/0, D2M defined (0) */
    const double one[] = {2.5};
    CHECK(vr_beats_align(NULL, 0, one, 1, 10.0, &c) == 0 && c.gen == 0 && c.loris_bcs == 0 && c.loris_bhs == 0 &&
              c.loris_f1 == 0 && c.d2m_bcs == 0 && c.d2m_bhs == 0,
          "align: no generated beats");
    /* no true beats: LORIS 0, D2M undefined (NaN) */
    const double g1[] = {1.5};
    CHECK(vr_beats_align(g1, 1, NULL, 0, 10.0, &c) == 0 && c.loris_bcs == 0 && c.loris_bhs == 0 && c.loris_f1 == 0 &&
              isnan(c.d2m_bcs) && isnan(c.d2m_bhs),
          "align: no true beats -> LORIS 0, D2M NaN");
    CHECK(vr_beats_align(NULL, 0, NULL, 0, 3.0, &d) == 0 && d.loris_f1 == 0 && isnan(d.d2m_bcs), "align: both empty");

    /* D2M's BCS exceeds 1; several beats in a bin count once */
    double every[20], two[] = {4.2, 4.8, 7.0};
    for (int i = 0; i < 20; i++) every[i] = 0.5 * i + 0.25;
    CHECK(vr_beats_align(every, 20, two, 3, 10.0, &d) == 0 && d.gen == 10 && d.truth == 2 && d.hits == 2 &&
              near(d.d2m_bcs, 5.0, 1e-12) && near(d.loris_bcs, 0.2, 1e-12) && d.loris_bhs == 1,
          "align: D2M BCS 5 (got %g)", d.d2m_bcs);

    /* bin edges: 1.0 is bin 1; 10.5 s has 11 bins; 10.0 in a 10-s clip is outside */
    const double edge[] = {1.0}, e2[] = {0.999};
    CHECK(vr_beats_align(edge, 1, e2, 1, 10.0, &d) == 0 && d.hits == 0, "align: 1.0 and 0.999 are different bins");
    const double late[] = {10.7};
    CHECK(vr_beats_align(late, 1, late, 1, 10.5, &d) == 0 && d.n_bins == 11 && d.hits == 1, "align: 10.5 s = 11 bins");
    const double out[] = {10.0}, neg[] = {-0.1}, bad[] = {NAN};
    CHECK(vr_beats_align(out, 1, NULL, 0, 10.0, &d) < 0 && strstr(vr_error(), "generated beat 0 at 10 s"),
          "align: beat at the end is an error: %s", vr_error());
    CHECK(vr_beats_align(NULL, 0, neg, 1, 10.0, &d) < 0 && strstr(vr_error(), "true beat"), "align: negative time");
    CHECK(vr_beats_align(bad, 1, NULL, 0, 10.0, &d) < 0, "align: NaN time");
    CHECK(vr_beats_align(gen, 5, truth, 3, 0.0, &d) < 0 && strstr(vr_error(), "duration"), "align: zero-length clip");
    CHECK(vr_beats_align(gen, 5, truth, 3, NAN, &d) < 0, "align: NaN duration");
    CHECK(vr_beats_align(NULL, 2, truth, 3, 10.0, &d) < 0, "align: NULL list with n > 0");

    /* means: LORIS averages BCS and BHS (clip without true beats included, as 0), F1 of the means;
     * D2M leaves that clip out */
    vr_beat_align clips[2];
    vr_beats_align(gen, 5, truth, 3, 10.0, &clips[0]);
    vr_beats_align(g1, 1, NULL, 0, 10.0, &clips[1]);
    vr_beat_align_mean m;
    CHECK(vr_beats_align_mean(clips, 2, &m) == 0 && m.clips == 2 && m.d2m_clips == 1, "align mean: counts");
    CHECK(near(m.loris_bcs, 0.25, 1e-12) && near(m.loris_bhs, 1.0 / 3, 1e-12) && near(m.loris_f1, 2.0 / 7, 1e-12),
          "align mean: LORIS %g %g %g", m.loris_bcs, m.loris_bhs, m.loris_f1);
    CHECK(near(m.d2m_bcs, 4.0 / 3, 1e-12) && near(m.d2m_bhs, 2.0 / 3, 1e-12), "align mean: D2M %g %g", m.d2m_bcs,
          m.d2m_bhs);
    CHECK(vr_beats_align_mean(clips + 1, 1, &m) == 0 && m.d2m_clips == 0 && isnan(m.d2m_bcs) && m.loris_f1 == 0,
          "align mean: no clip with true beats -> D2M NaN");
    CHECK(vr_beats_align_mean(clips, 0, &m) < 0, "align mean: zero clips is an error");
    CHECK(strstr(VR_BEATS_ALIGN_DEFINITION, "LORIS") && strstr(VR_BEATS_ALIGN_DEFINITION, "D2M-GAN"),
          "the definition text names both");
}

/* ---- beat F-measure ---- */

static void test_f_measure(void) {
    const double ref[] = {1, 2, 3, 4}, est[] = {1.05, 2.08, 2.95, 5};
    CHECK(near(vr_beats_f_measure(ref, 4, est, 4, 0.07), 0.5, 1e-12), "F: 2 of 4 matched");
    CHECK(vr_beats_f_measure(ref, 4, ref, 4, 0.07) == 1, "F: identical lists");
    const double e1[] = {1.25};
    CHECK(near(vr_beats_f_measure(ref, 1, e1, 1, 0.25), 1, 0), "F: the window is inclusive");
    /* each beat matches once: two estimates near one reference */
    const double r2[] = {1.0}, e2[] = {0.98, 1.02};
    CHECK(near(vr_beats_f_measure(r2, 1, e2, 2, 0.07), 2 * 0.5 * 1 / 1.5, 1e-12), "F: one-to-one matching");
    /* a chain where matching each reference to its nearest estimate loses one */
    const double r3[] = {1.00, 1.10}, e3[] = {1.05, 1.16};
    CHECK(vr_beats_f_measure(r3, 2, e3, 2, 0.07) == 1, "F: maximum matching on a chain");
    CHECK(vr_beats_f_measure(ref, 4, NULL, 0, 0.07) == 0 && vr_beats_f_measure(NULL, 0, est, 4, 0.07) == 0,
          "F: an empty list gives 0 (mir_eval)");
    const double uns[] = {2, 1};
    CHECK(vr_beats_f_measure(ref, 4, uns, 2, 0.07) < 0 && strstr(vr_error(), "sorted"), "F: unsorted -> error");
    CHECK(vr_beats_f_measure(ref, 4, est, 4, -1) < 0, "F: negative window -> error");
}

/* ---- tempo ---- */

static void test_tempo(void) {
    CHECK(vr_tempo_acc1(120, 120) == 1 && vr_tempo_acc1(124.8, 120) == 1 && vr_tempo_acc1(115.2, 120) == 1,
          "Acc1: within 4 %% (edges included)");
    CHECK(vr_tempo_acc1(125, 120) == 0 && vr_tempo_acc1(240, 120) == 0, "Acc1: 4.2 %% off or an octave off");
    CHECK(vr_tempo_acc2(240, 120) == 1 && vr_tempo_acc2(60, 120) == 1 && vr_tempo_acc2(360, 120) == 1 &&
              vr_tempo_acc2(40, 120) == 1,
          "Acc2: x2, x1/2, x3, x1/3");
    CHECK(vr_tempo_acc2(247, 120) == 1 && vr_tempo_acc2(250, 120) == 0, "Acc2: 4 %% of the multiplied reference");
    CHECK(vr_tempo_acc2(180, 120) == 0 && vr_tempo_acc2(80, 120) == 0, "Acc2: 3:2 and 2:3 are not forgiven");
    CHECK(vr_tempo_acc1(0, 120) == 0 && vr_tempo_acc2(0, 120) == 0, "no tempo found: inaccurate, not an error");
    CHECK(vr_tempo_acc1(120, 0) < 0 && strstr(vr_error(), "reference"), "Acc1: reference 0 -> error");
    CHECK(vr_tempo_acc2(NAN, 120) < 0, "Acc2: NaN estimate -> error");
    const double est[] = {120, 240, 100}, ref[] = {120, 120, 120};
    vr_tempo_summary s;
    CHECK(vr_tempo_summarize(est, ref, 3, &s) == 0 && s.acc1 == 1 && s.acc2 == 2 && near(s.acc1_rate, 1.0 / 3, 1e-12) &&
              near(s.acc2_rate, 2.0 / 3, 1e-12) && near(s.mean_abs_err, 140.0 / 3, 1e-9),
          "tempo summary: %d %d %g", s.acc1, s.acc2, s.mean_abs_err);
    const double bad_ref[] = {120, -1, 120};
    CHECK(vr_tempo_summarize(est, bad_ref, 3, &s) < 0 && strstr(vr_error(), "clip 1"), "tempo summary names the clip");
}

/* ---- music onsets ---- */

static void test_music_onsets(void) {
    float env[250];
    for (int t = 0; t < 250; t++) env[t] = 0.05f * (float)((t * 7) % 5) / 5; /* low ripple */
    env[60] = 0.8f, env[61] = 0.8f, env[130] = 0.9f, env[200] = 0.7f; /* 60 and 61: one onset */
    env[10] = 10.0f, env[12] = 9.0f; /* an outsized onset (as after silence): scaling clips it, one onset */
    env[140] = 0.12f; /* a bump below mean + 0.2 */
    double times[16];
    int n = vr_beats_music_onsets(env, 250, 50.0, times, 16);
    CHECK(n == 4, "onsets: %d found, want 4", n);
    const double want[] = {0.2, 1.2, 2.6, 4.0};
    for (int i = 0; i < 4 && n == 4; i++) CHECK(near(times[i], want[i], 1e-12), "onset %d at %g, want %g", i, times[i], want[i]);
    CHECK(vr_beats_music_onsets(env, 250, 50.0, NULL, 0) == 4, "onsets: counting without a buffer");
    float sparse[500] = {0}; /* 3 onsets in 500 frames: under 1 %, scaled by the maximum */
    sparse[100] = 1.0f, sparse[250] = 0.8f, sparse[400] = 2.0f;
    CHECK(vr_beats_music_onsets(sparse, 500, 50.0, times, 16) == 3, "onsets: a sparse envelope keeps its 3 onsets");
    float flat[50] = {0};
    CHECK(vr_beats_music_onsets(flat, 50, 50.0, times, 16) == 0, "onsets: flat envelope -> none");
    env[3] = NAN;
    CHECK(vr_beats_music_onsets(env, 250, 50.0, times, 16) < 0 && strstr(vr_error(), "frame 3"), "onsets: NaN -> error");
    CHECK(vr_beats_music_onsets(flat, 0, 50.0, times, 16) < 0, "onsets: empty envelope -> error");
}

/* ---- video beats ---- */

static void test_video_beats(void) {
    enum { N = 60 };
    static float desc[N * VR_VDESC_DIM];
    memset(desc, 0, sizeof desc);
#define MOT(t) desc[(t) * VR_VDESC_DIM + VR_VDESC_MOTION]
#define CUT(t) desc[(t) * VR_VDESC_DIM + VR_VDESC_CUT]
    for (int t = 1; t < N; t++) MOT(t) = 0.03f + 0.001f * (t % 3); /* steady motion, a small ripple */
    MOT(6) = MOT(19) = 0.06f;
    MOT(12) = MOT(13) = 0.06f;         /* a plateau: one peak, at its start */
    MOT(30) = 0.06f, MOT(33) = 0.05f;  /* 33 is within 0.2 s of the larger 30 */
    MOT(45) = 0.034f;                  /* below 1.2 x median */
    CUT(36) = 0.9f, MOT(36) = 0.04f;   /* a change of palette, similar luma */
    MOT(39) = 0.06f;                   /* a motion peak 3 frames after the cut */
    int idx[16];
    int n = vr_beats_motion_peaks(desc, N, 24.0, idx, 16);
    const int want[] = {6, 12, 19, 30, 39};
    CHECK(n == 5, "motion peaks: %d, want 5", n);
    for (int i = 0; i < 5 && n == 5; i++) CHECK(idx[i] == want[i], "motion peak %d at frame %d, want %d", i, idx[i], want[i]);
    double times[16];
    n = vr_beats_video_times(desc, N, 24.0, times, 16);
    const int wantv[] = {6, 12, 19, 30, 36};
    CHECK(n == 5, "video beats: %d, want 5 (cut 36 replaces the peak at 39)", n);
    for (int i = 0; i < 5 && n == 5; i++)
        CHECK(near(times[i], wantv[i] / 24.0, 1e-12), "video beat %d at %g s, want %g", i, times[i], wantv[i] / 24.0);
    CHECK(vr_beats_video_times(desc, N, 24.0, times, 2) == 5, "video beats: the count exceeds a small cap");

    /* a still video: noise below VR_VBEAT_MOTION_MIN gives no beats */
    for (int t = 1; t < N; t++) MOT(t) = 0.001f, CUT(t) = 0;
    MOT(20) = 0.005f;
    CHECK(vr_beats_video_times(desc, N, 24.0, times, 16) == 0, "video beats: a still video has none");
    CHECK(vr_beats_video_times(desc, 1, 24.0, times, 16) == 0, "video beats: one frame has none");
    MOT(7) = INFINITY;
    CHECK(vr_beats_motion_peaks(desc, N, 24.0, idx, 16) < 0 && strstr(vr_error(), "frame 7"), "motion peaks: inf -> error");
    CHECK(vr_beats_video_times(desc, 0, 24.0, times, 16) < 0, "video beats: no frames -> error");
    CHECK(vr_beats_video_times(desc, N, 0.0, times, 16) < 0, "video beats: fps 0 -> error");
#undef MOT
#undef CUT
}

/* ---- key and mode ---- */

/* Triads as sine waves (amplitude 0.1 per note, 10-ms fades), one chord per second. */
static void render_chords(float *x, int64_t n, const int (*chords)[3], int n_chords, int transpose) {
    int64_t per = n / n_chords;
    memset(x, 0, sizeof(float) * (size_t)n);
    for (int c = 0; c < n_chords; c++)
        for (int k = 0; k < 3; k++) {
            double f = 440.0 * pow(2.0, (chords[c][k] + transpose - 69) / 12.0);
            for (int64_t i = 0; i < per; i++) {
                double env = fmin(1.0, fmin((double)i, (double)(per - i)) / (0.01 * SR));
                x[c * per + i] += (float)(0.1 * env * sin(2 * M_PI * f * (double)i / SR));
            }
        }
}

static void test_key(void) {
    /* I-IV-V-I in C (C4 = 60) and i-iv-V-i in A minor (harmonic V: E-G#-B) */
    static const int C_MAJOR[4][3] = {{60, 64, 67}, {65, 69, 72}, {67, 71, 74}, {60, 64, 67}};
    static const int A_MINOR[4][3] = {{57, 60, 64}, {62, 65, 69}, {64, 68, 71}, {57, 60, 64}};
    const int64_t n = 4 * SR;
    float *x = malloc(sizeof(float) * (size_t)n);
    vr_key k;
    render_chords(x, n, C_MAJOR, 4, 0);
    CHECK(vr_key_detect(x, n, SR, &k) == 0 && k.key == 0 && !k.minor && k.corr > 0.7, "C major triads -> %s %s (r %.2f)",
          vr_key_name(k.key), k.minor ? "minor" : "major", k.corr);
    render_chords(x, n, A_MINOR, 4, 0);
    CHECK(vr_key_detect(x, n, SR, &k) == 0 && k.key == 9 && k.minor && k.corr > 0.7, "A minor triads -> %s %s (r %.2f)",
          vr_key_name(k.key), k.minor ? "minor" : "major", k.corr);
    int major_ok = 0, minor_ok = 0;
    for (int t = -5; t <= 6; t++) { /* every tonic, register kept near the middle */
        int want = (t + 12) % 12;
        render_chords(x, n, C_MAJOR, 4, t);
        major_ok += vr_key_detect(x, n, SR, &k) == 0 && k.key == want && !k.minor;
        render_chords(x, n, A_MINOR, 4, t);
        minor_ok += vr_key_detect(x, n, SR, &k) == 0 && k.key == (want + 9) % 12 && k.minor;
    }
    CHECK(major_ok == 12 && minor_ok == 12, "rotation: %d/12 major and %d/12 minor keys found", major_ok, minor_ok);

    /* one A4 sine: chroma peaks at pitch class 9 */
    for (int64_t i = 0; i < SR; i++) x[i] = (float)(0.5 * sin(2 * M_PI * 440.0 * (double)i / SR));
    double chroma[12];
    CHECK(vr_key_chroma(x, SR, SR, chroma) == 0 && chroma[9] == 1.0, "chroma: A4 -> bin 9 (%g)", chroma[9]);
    double others = 0;
    for (int c = 0; c < 12; c++) others = c == 9 ? others : fmax(others, chroma[c]);
    CHECK(others < 0.05, "chroma: leakage into other classes %g", others);
    CHECK(vr_key_detect(x, 100, SR, &k) == 0, "key: a clip shorter than one window still runs (zero-padded)");

    memset(x, 0, sizeof(float) * (size_t)n);
    CHECK(vr_key_detect(x, n, SR, &k) == 0 && k.key == -1 && k.corr == 0 && !strcmp(vr_key_name(k.key), "none"),
          "key: silence -> no key");
    x[5] = NAN;
    CHECK(vr_key_detect(x, n, SR, &k) < 0 && strstr(vr_error(), "at 5"), "key: NaN sample -> error");
    CHECK(vr_key_detect(x, 0, SR, &k) < 0, "key: zero samples -> error");
    CHECK(vr_key_detect(x, n, 0, &k) < 0 && strstr(vr_error(), "sample rate"), "key: rate 0 -> error");
    free(x);
}

/* ---- the numpy/scipy oracle ---- */

static uint64_t g_lcg = 20240601;
static double uniform(void) {
    g_lcg = g_lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(g_lcg >> 11) / 9007199254740992.0; /* [0, 1) */
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static cJSON *random_times(double *t, int n, double duration, int sorted) {
    for (int i = 0; i < n; i++) t[i] = uniform() * duration;
    if (sorted) qsort(t, (size_t)n, sizeof(double), cmp_double);
    return cJSON_CreateDoubleArray(t, n);
}

#define N_ALIGN 200
#define N_F 200
#define N_SIG 6
#define SIG_SECONDS 3

static void test_oracle(const char *py, const char *script, const char *work) {
    vr_mkdirs(work);
    cJSON *root = cJSON_CreateObject(), *al = cJSON_AddArrayToObject(root, "align"), *fm = cJSON_AddArrayToObject(root, "f");
    static vr_beat_align got_align[N_ALIGN];
    static double got_f[N_F];
    static vr_key got_key[N_SIG];
    double a[64], b[64];
    for (int i = 0; i < N_ALIGN; i++) { /* random clips, some with empty lists */
        double dur = 2 + 13 * uniform();
        int ng = (int)(uniform() * 30) * (i % 7 != 0), nt = (int)(uniform() * 12) * (i % 5 != 1);
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "duration", dur);
        cJSON_AddItemToObject(c, "gen", random_times(a, ng, dur, 0));
        cJSON_AddItemToObject(c, "truth", random_times(b, nt, dur, 0));
        cJSON_AddItemToArray(al, c);
        if (vr_beats_align(a, ng, b, nt, dur, &got_align[i])) CHECK(0, "oracle align case %d", i);
    }
    for (int i = 0; i < N_F; i++) { /* jittered copies of a grid, with drops and extras */
        int nr = (int)(uniform() * 25), ne = 0;
        double period = 0.2 + 0.5 * uniform(), jit = 0.15 * uniform();
        for (int k = 0; k < nr; k++) {
            a[k] = 0.3 + k * period;
            if (uniform() < 0.85) b[ne++] = fmax(0, a[k] + jit * (2 * uniform() - 1));
            if (uniform() < 0.15) b[ne++] = 0.3 + period * (k + uniform());
        }
        qsort(b, (size_t)ne, sizeof(double), cmp_double);
        cJSON *c = cJSON_CreateObject();
        cJSON_AddItemToObject(c, "ref", cJSON_CreateDoubleArray(a, nr));
        cJSON_AddItemToObject(c, "est", cJSON_CreateDoubleArray(b, ne));
        cJSON_AddItemToArray(fm, c);
        got_f[i] = vr_beats_f_measure(a, nr, b, ne, VR_BEATS_F_WINDOW);
        CHECK(got_f[i] >= 0, "oracle F case %d", i);
    }
    /* chord signals with harmonics and noise, to the raw file the oracle reads */
    const int64_t n = (int64_t)SIG_SECONDS * SR;
    float *x = malloc(sizeof(float) * (size_t)n);
    char path[1024];
    snprintf(path, sizeof path, "%s/signals.f32", work);
    FILE *f = fopen(path, "wb");
    for (int s = 0; s < N_SIG && f; s++) {
        memset(x, 0, sizeof(float) * (size_t)n);
        for (int v = 0; v < 4; v++) {
            double f0 = 55.0 * pow(2.0, (int)(uniform() * 48) / 12.0);
            for (int h = 1; h <= 4; h++)
                for (int64_t i = 0; i < n; i++) x[i] += (float)(0.05 / h * sin(2 * M_PI * f0 * h * (double)i / SR));
        }
        for (int64_t i = 0; i < n; i++) x[i] += (float)(0.01 * (2 * uniform() - 1));
        fwrite(x, sizeof(float), (size_t)n, f);
        CHECK(vr_key_detect(x, n, SR, &got_key[s]) == 0, "oracle key signal %d", s);
    }
    if (f) fclose(f);
    free(x);
    cJSON_AddNumberToObject(root, "n_signals", N_SIG);
    cJSON_AddNumberToObject(root, "signal_samples", (double)n);
    cJSON_AddNumberToObject(root, "sample_rate", SR);
    cJSON_AddNumberToObject(root, "f_window", VR_BEATS_F_WINDOW);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    snprintf(path, sizeof path, "%s/cases.json", work);
    CHECK(text && vr_write_file_atomic(path, text, strlen(text)) == 0, "writing %s", path);
    free(text);

    char cmd[4096], out_path[1024];
    snprintf(out_path, sizeof out_path, "%s/expected.json", work);
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' '%s'", py, script, work, out_path);
    int rc = system(cmd);
    CHECK(rc == 0, "oracle %s exited with %d", script, rc);
    char *data = NULL;
    size_t len;
    cJSON *exp = rc == 0 && vr_read_file(out_path, &data, &len) == 0 ? cJSON_Parse(data) : NULL;
    free(data);
    CHECK(exp != NULL, "oracle output %s is readable JSON", out_path);
    if (!exp) return;
    int bad_align = 0, bad_f = 0, bad_key = 0;
    double worst_chroma = 0;
    for (int i = 0; i < N_ALIGN; i++) {
        const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(exp, "align"), i);
        const vr_beat_align *g = &got_align[i];
        const cJSON *dl = cJSON_GetObjectItem(e, "d2m_bcs"), *dh = cJSON_GetObjectItem(e, "d2m_bhs");
        int ok = e && near(g->loris_bcs, cJSON_GetObjectItem(e, "loris_bcs")->valuedouble, 1e-12) &&
                 near(g->loris_bhs, cJSON_GetObjectItem(e, "loris_bhs")->valuedouble, 1e-12) &&
                 (cJSON_IsNull(dl) ? isnan(g->d2m_bcs) && isnan(g->d2m_bhs)
                                   : near(g->d2m_bcs, dl->valuedouble, 1e-12) && near(g->d2m_bhs, dh->valuedouble, 1e-12));
        if (!ok && bad_align++ < 3) fprintf(stderr, "align case %d differs from the oracle\n", i);
    }
    for (int i = 0; i < N_F; i++) {
        const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(exp, "f"), i);
        if (!(e && near(got_f[i], e->valuedouble, 1e-12)) && bad_f++ < 3)
            fprintf(stderr, "F case %d: %g vs oracle %g\n", i, got_f[i], e ? e->valuedouble : NAN);
    }
    for (int s = 0; s < N_SIG; s++) {
        const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(exp, "key"), s);
        const cJSON *ch = cJSON_GetObjectItem(e, "chroma");
        for (int c = 0; c < 12 && ch; c++)
            worst_chroma = fmax(worst_chroma, fabs(got_key[s].chroma[c] - cJSON_GetArrayItem(ch, c)->valuedouble));
        if (!e || got_key[s].key != cJSON_GetObjectItem(e, "key")->valueint ||
            got_key[s].minor != cJSON_GetObjectItem(e, "minor")->valueint ||
            !near(got_key[s].corr, cJSON_GetObjectItem(e, "corr")->valuedouble, 1e-6))
            bad_key++;
    }
    CHECK(bad_align == 0, "oracle: %d/%d alignment cases differ", bad_align, N_ALIGN);
    CHECK(bad_f == 0, "oracle: %d/%d F-measures differ", bad_f, N_F);
    CHECK(bad_key == 0 && worst_chroma < 1e-6, "oracle: %d/%d keys differ, chroma max diff %g", bad_key, N_SIG,
          worst_chroma);
    printf("oracle: %d alignment cases, %d F-measures, %d chroma/keys compared (chroma max diff %.2g)\n", N_ALIGN, N_F,
           N_SIG, worst_chroma);
    cJSON_Delete(exp);
}

int main(int argc, char **argv) {
    test_align();
    test_f_measure();
    test_tempo();
    test_music_onsets();
    test_video_beats();
    test_key();
    if (argc == 4) test_oracle(argv[1], argv[2], argv[3]);
    else if (argc != 1) {
        fprintf(stderr, "usage: %s [PYTHON ORACLE.py WORKDIR]\n", argv[0]);
        return 2;
    }
    return check_summary();
}
