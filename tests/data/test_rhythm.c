/* test_rhythm.c — onsets, tempo and beats on synthetic pulse trains with known answers.
 *
 * Signals (16 kHz, 12 s, first beat at 0.31 s): click tracks (10 ms noise bursts), decaying
 * two-partial tones with an accented downbeat over a quiet drone, and those tones plus quieter,
 * higher tones on the off-beat eighths, at 70, 90, 120 and 150 BPM, each with a -60 dB noise
 * floor. Through vr_mel (the real front end) they must give: tempo within 4 % (octave errors
 * counted separately, allowed only with the eighths, where double tempo is a fair reading),
 * >= 90 % of true beats within 70 ms (and, without an octave error, >= 90 % of tracked beats on a
 * true beat), >= 95 % of onsets (eighths included) within 30 ms, and no more than 5 % spurious. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tt.h"
#include "data/mel.h"
#include "data/rhythm.h"
#include "tests/check.h"


#define SR 16000
#define FPS 50.0
#define SECONDS 12
#define FIRST_BEAT 0.31

static uint64_t g_lcg = 12345;
static double uniform(void) { /* deterministic noise in [-1, 1) */
    g_lcg = g_lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(g_lcg >> 11) / 4503599627370496.0 - 1.0;
}

/* kind 0: clicks; kind 1: decaying tones (downbeat accented) over a drone; kind 2: kind 1 plus
 * quieter, higher tones on the off-beat eighths. Beat times go to `beats`, and all onset times
 * (the eighths too) to `onsets`. Returns the beat count; *n_onsets gets the onset count. */
static int synth(float *x, int64_t n, double bpm, int kind, double *beats, double *onsets, int cap, int *n_onsets) {
    double period = 60.0 / bpm;
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / SR;
        x[i] = (float)(0.001 * uniform() + (kind >= 1 ? 0.02 * sin(2 * M_PI * 110 * t) : 0));
    }
    int nb = 0, no = 0;
    for (double tb = FIRST_BEAT; tb < (double)n / SR && nb < cap && no + 1 < cap; tb += period) {
        beats[nb] = tb;
        onsets[no++] = tb;
        int64_t i8 = (int64_t)llround((tb + period / 2) * SR);
        if (kind == 2 && i8 < n) {
            onsets[no++] = tb + period / 2;
            for (int64_t k = 0; k < (int64_t)(0.4 * period * SR) && i8 + k < n; k++) {
                double t = (double)k / SR;
                x[i8 + k] += (float)(0.12 * (sin(2 * M_PI * 990 * t) + 0.5 * sin(2 * M_PI * 1980 * t)) * exp(-t / 0.05));
            }
        }
        int64_t i0 = (int64_t)llround(tb * SR);
        double amp = kind >= 1 && nb % 4 == 0 ? 0.45 : 0.3;
        int64_t len = kind == 0 ? SR / 100 : (int64_t)(0.9 * period * SR);
        for (int64_t k = 0; k < len && i0 + k < n; k++) {
            double t = (double)k / SR;
            double v = kind == 0 ? uniform() * exp(-t / 0.003)
                                 : (sin(2 * M_PI * 660 * t) + 0.5 * sin(2 * M_PI * 1320 * t)) * exp(-t / 0.08);
            x[i0 + k] += (float)(amp * v);
        }
        nb++;
    }
    *n_onsets = no;
    return nb;
}

/* Fraction of `a` that have a partner in `b` within tol seconds; mean |error| and mean signed
 * error (b - a) of the matches, in ms. */
static double match(const double *a, int na, const double *b, int nb, double tol, double *mean_abs, double *bias) {
    int hit = 0;
    double sa = 0, sb = 0;
    for (int i = 0; i < na; i++) {
        double best = INFINITY, d = 0;
        for (int j = 0; j < nb; j++)
            if (fabs(b[j] - a[i]) < best) best = fabs(b[j] - a[i]), d = b[j] - a[i];
        if (best <= tol) hit++, sa += best, sb += d;
    }
    if (mean_abs) *mean_abs = hit ? 1000 * sa / hit : 0;
    if (bias) *bias = hit ? 1000 * sb / hit : 0;
    return na ? (double)hit / na : 1.0;
}

static void test_pulse_trains(const vr_mel *m) {
    const double tempi[4] = {70, 90, 120, 150};
    const char *kinds[3] = {"clicks", "tones", "tones+8"};
    int64_t n = (int64_t)SECONDS * SR;
    int T = (int)(n / m->hop);
    float *x = malloc(sizeof(float) * n), *lm = malloc(sizeof(float) * T * m->n_mels), *env = malloc(sizeof(float) * T);
    double truth[64], true_onsets[128], beats[128], onsets[256];
    int octave_errors = 0, tempo_ok = 0;
    double worst_beat = 1, worst_onset = 1, worst_onset_ms = 0;
    printf("%-7s %5s %8s %7s | %-27s | %s\n", "signal", "BPM", "est", "err", "beats within 70 ms", "onsets within 30 ms");
    for (int kind = 0; kind < 3; kind++)
        for (int k = 0; k < 4; k++) {
            double bpm = tempi[k];
            int n_on = 0, nt = synth(x, n, bpm, kind, truth, true_onsets, 64, &n_on);
            CHECK(vr_logmel(m, x, n, lm) == T, "log-mel");
            CHECK(vr_onset_strength(lm, T, m->n_mels, VR_ONSET_DELAY_DEFAULT, env) == 0, "onset strength");
            double est = vr_tempo_estimate(env, T, FPS, 120);
            double rel = est / bpm - 1;
            int octave = fabs(est / (2 * bpm) - 1) <= 0.04 || fabs(est / (0.5 * bpm) - 1) <= 0.04;
            octave_errors += octave;
            tempo_ok += fabs(rel) <= 0.04;
            /* with off-beat eighths, double tempo is a fair reading: counted, not failed */
            CHECK(fabs(rel) <= 0.04 || (kind == 2 && octave), "%s %g BPM: tempo %.2f (%+.1f %%%s)", kinds[kind], bpm,
                  est, 100 * rel, octave ? ", octave error" : "");
            int nb = vr_beat_track(env, T, FPS, est, 100, beats, 128);
            double b_abs, b_bias;
            double recall = match(truth, nt, beats, nb, 0.070, &b_abs, &b_bias);
            double precision = match(beats, nb, truth, nt, 0.070, NULL, NULL);
            CHECK(recall >= 0.9 && (octave || precision >= 0.9), "%s %g BPM: beats recall %.2f precision %.2f",
                  kinds[kind], bpm, recall, precision);
            int no = vr_onset_times(env, T, FPS, onsets, 256);
            double o_abs, o_bias;
            double o_recall = match(true_onsets, n_on, onsets, no, 0.030, &o_abs, &o_bias);
            double o_precision = match(onsets, no, true_onsets, n_on, 0.030, NULL, NULL);
            CHECK(o_recall >= 0.95 && o_precision >= 0.95, "%s %g BPM: onsets recall %.2f precision %.2f (%d found, %d true)",
                  kinds[kind], bpm, o_recall, o_precision, no, n_on);
            if (!octave) worst_beat = fmin(worst_beat, fmin(recall, precision));
            worst_onset = fmin(worst_onset, fmin(o_recall, o_precision));
            worst_onset_ms = fmax(worst_onset_ms, o_abs);
            printf("%-7s %5.0f %8.2f %+6.1f%% | %2d/%2d, R %.2f P %.2f, |e| %4.1f ms | %2d/%2d, R %.2f P %.2f, "
                   "|e| %4.1f ms, bias %+5.1f ms\n",
                   kinds[kind], bpm, est, 100 * rel, nb, nt, recall, precision, b_abs, no, n_on, o_recall, o_precision,
                   o_abs, o_bias);
        }
    printf("tempo within 4 %%: %d/12, octave errors %d; worst beat recall/precision %.2f (octave errors aside); "
           "worst onset recall/precision %.2f, worst mean onset error %.1f ms\n",
           tempo_ok, octave_errors, worst_beat, worst_onset, worst_onset_ms);
    free(x);
    free(lm);
    free(env);
}

/* The steps on hand-made envelopes: exact answers, edge cases, errors. */
static void test_units(void) {
    enum { T = 500, M = 4 };
    static float lm[T * M], env[T];
    for (int i = 0; i < T * M; i++) lm[i] = -11.5f;
    for (int b = 0; b < M; b++) lm[100 * M + b] = b < 2 ? -1.5f : -11.5f; /* 2 of 4 bins jump by 10 at frame 100 */
    CHECK(vr_onset_strength(lm, T, M, 1, env) == 0, "onset strength");
    CHECK(env[101] == 5.0f && env[100] == 0 && env[102] == 0, "flux: mean rise over bins, delayed by 1 (%g %g %g)",
          env[100], env[101], env[102]);
    CHECK(vr_onset_strength(lm, T, M, -1, env) == -1 && strstr(vr_error(), "delay"), "negative delay");
    CHECK(vr_onset_strength(NULL, T, M, 1, env) == -1, "NULL log-mel");

    /* impulse trains: period 25 frames is 120 BPM; 140 BPM (21.43 frames) needs the refinement */
    memset(env, 0, sizeof env);
    for (int t = 7; t < T; t += 25) env[t] = 1;
    double bpm = vr_tempo_estimate(env, T, FPS, 120);
    CHECK(fabs(bpm - 120) < 0.5, "impulse train every 25 frames: %.3f BPM", bpm);
    double times[64];
    int nb = vr_beat_track(env, T, FPS, 0, 100, times, 64);
    int on_grid = nb > 0;
    for (int i = 0; i < nb && i < 64; i++) on_grid &= fabs(times[i] * FPS - (7 + 25 * lround((times[i] * FPS - 7) / 25))) < 1e-9;
    CHECK(nb == 20 && on_grid, "a beat on each of the 20 impulses, first and last included (%d beats)", nb);
    CHECK(vr_beat_track(env, T, FPS, 0, 100, times, 2) == nb, "cap: the count is the full count");
    memset(env, 0, sizeof env);
    for (int k = 0; 5 + k * 60.0 * FPS / 140 < T; k++) env[(int)lround(5 + k * 60.0 * FPS / 140)] = 1;
    bpm = vr_tempo_estimate(env, T, FPS, 120);
    CHECK(fabs(bpm / 140 - 1) < 0.01, "140 BPM impulses (21.43-frame period): %.2f BPM", bpm);
    bpm = vr_tempo_estimate(env, T, FPS, 60);
    CHECK(fabs(bpm / 70 - 1) < 0.01, "the prior picks the octave: 140 BPM impulses with a 60 BPM prior -> %.2f", bpm);

    /* flat envelopes: no tempo, no beats, no onsets — not errors */
    memset(env, 0, sizeof env);
    CHECK(vr_tempo_estimate(env, T, FPS, 120) == 0, "silence: tempo 0");
    CHECK(vr_beat_track(env, T, FPS, 0, 100, times, 64) == 0, "silence: no beats");
    CHECK(vr_onset_times(env, T, FPS, times, 64) == 0, "silence: no onsets");

    env[3] = NAN;
    CHECK(vr_tempo_estimate(env, T, FPS, 120) == -1 && strstr(vr_error(), "frame 3"), "NaN named: '%s'", vr_error());
    env[3] = 0;
    CHECK(vr_tempo_estimate(env, 5, FPS, 120) == -1 && strstr(vr_error(), "too few"), "5 frames: '%s'", vr_error());
    CHECK(vr_beat_track(env, T, 0, 120, 100, times, 64) == -1 && strstr(vr_error(), "frame rate"), "fps 0");
    CHECK(vr_beat_track(env, T, FPS, 120, 0, times, 64) == -1 && strstr(vr_error(), "tightness"), "tightness 0");
    CHECK(vr_beat_track(env, T, FPS, 5000, 100, times, 64) == -1 && strstr(vr_error(), "too fast"), "5000 BPM");
    CHECK(vr_onset_times(env, T, FPS, NULL, 4) == -1, "NULL output");
}

int main(void) {
    tt_set_num_threads(1);
    vr_mel m;
    CHECK(vr_mel_init(&m, SR, 64, (int)FPS) == 0, "mel init");
    test_units();
    if (m.fb) test_pulse_trains(&m);
    vr_mel_free(&m);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
