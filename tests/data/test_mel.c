/* test_mel.c — the log-mel front end against a numpy reference, the Griffin-Lim inverse, the
 * normalisation statistics and the loudness normaliser.
 *
 * Run: test_mel PYTHON tests/python/mel_reference.py WORKDIR
 * The Python oracle writes the reference (filterbank, signals, float64 log-mels) into WORKDIR;
 * if it fails — numpy or torch missing included — this test fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/tt.h"
#include "data/mel.h"
#define CHECK_DETAIL() tt_last_error()
#include "tests/check.h"


#define SR 16000
#define NM 64
#define TOL_LOGMEL 1e-3
#define TOL_FB 1e-6

static const char *g_dir;

/* Read WORKDIR/name, which must hold exactly `count` elements of `size` bytes. */
static void *read_ref(const char *name, size_t size, size_t count) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    char *data = NULL;
    size_t n = 0;
    if (vr_read_file(path, &data, &n) != 0 || n != size * count) {
        fprintf(stderr, "reference %s: %s (have %zu bytes, want %zu)\n", path, vr_error(), n, size * count);
        free(data);
        return NULL;
    }
    return data;
}

static void test_filterbank(const vr_mel *m) {
    double *ref = read_ref("fb.f64", sizeof(double), (size_t)NM * 513);
    double *mine = malloc(sizeof(double) * NM * 513);
    CHECK(ref && mine && vr_mel_filterbank(SR, 1024, NM, 0, SR / 2.0, mine) == 0, "filterbank computes");
    if (ref && mine) {
        double e64 = 0, e32 = 0;
        for (int i = 0; i < NM * 513; i++) {
            e64 = fmax(e64, fabs(mine[i] - ref[i]));
            e32 = fmax(e32, fabs(m->fb[i] - ref[i]));
        }
        printf("filterbank vs numpy: max abs err %.2e (double), %.2e (the f32 copy used)\n", e64, e32);
        CHECK(e64 <= TOL_FB && e32 <= TOL_FB, "filterbank error %.2e / %.2e > %g", e64, e32, TOL_FB);
    }
    CHECK(fabs(vr_hz_to_mel(1000) - 15) < 1e-12 && fabs(vr_mel_to_hz(vr_hz_to_mel(5000)) - 5000) < 1e-9,
          "Slaney scale: 1 kHz = 15 mel, round trip");
    free(ref);
    free(mine);
}

static void test_reference_logmels(const vr_mel *m) {
    char *index = NULL;
    size_t len = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/index.txt", g_dir);
    CHECK(vr_read_file(path, &index, &len) == 0, "read %s", path);
    if (!index) return;
    int signals = 0;
    double worst = 0;
    char name[256];
    long long n, T;
    int used = 0;
    for (const char *p = index; sscanf(p, "%255s %lld %lld%n", name, &n, &T, &used) == 3; p += used) {
        char file[300];
        snprintf(file, sizeof file, "%s.f32", name);
        float *x = read_ref(file, sizeof(float), (size_t)n);
        snprintf(file, sizeof file, "%s.logmel.f64", name);
        double *ref = read_ref(file, sizeof(double), (size_t)T * NM);
        float *out = malloc(sizeof(float) * (size_t)(n / m->hop) * NM);
        int64_t got = x && ref && out ? vr_logmel(m, x, n, out) : -1;
        CHECK(got == T && T == n / 320, "%s: %lld frames, reference has %lld (n %lld)", name, (long long)got, T, n);
        if (got == T) {
            double err = 0;
            for (int64_t i = 0; i < T * NM; i++) err = fmax(err, fabs(out[i] - ref[i]));
            printf("log-mel vs numpy float64, %-10s %6lld samples %4lld frames: max abs err %.2e nats\n", name, n, T, err);
            CHECK(err <= TOL_LOGMEL, "%s: log-mel error %.2e > %g", name, err, TOL_LOGMEL);
            worst = fmax(worst, err);
        }
        signals++;
        free(x);
        free(ref);
        free(out);
    }
    CHECK(signals == 6, "6 reference signals, got %d", signals);
    printf("log-mel: worst max abs error over %d signals %.2e (bound %g)\n", signals, worst, TOL_LOGMEL);
    free(index);
}

static float *tone(int64_t n, double f0, double noise_db, uint64_t seed) {
    float *x = malloc(sizeof(float) * n);
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / SR, v = 0;
        for (int h = 1; h <= 4; h++) v += sin(2 * M_PI * f0 * h * t + h) / h;
        double env = fmin(1.0, t / 0.05) * (0.6 + 0.4 * cos(2 * M_PI * 1.5 * t)); /* attack, tremolo */
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;                   /* LCG: uniform noise */
        double u = (double)(s >> 11) / 9007199254740992.0 - 0.5;
        x[i] = (float)(0.25 * env * v + pow(10, noise_db / 20) * u * sqrt(12.0));
    }
    return x;
}

static void test_forward_shapes(const vr_mel *m) {
    tt_scope_begin();
    int64_t n = 10 * SR;
    float *a = tone(n, 440, -50, 1), *b = tone(n, 330, -40, 2);
    float *ab = malloc(sizeof(float) * 2 * n);
    memcpy(ab, a, sizeof(float) * n);
    memcpy(ab + n, b, sizeof(float) * n);
    tt_tensor *one = vr_mel_forward(m, tt_from_data(b, TT_F32, TT_SHAPE(n)));
    tt_tensor *two = vr_mel_forward(m, tt_from_data(ab, TT_F32, TT_SHAPE(2, n)));
    int64_t s1[3] = {0}, s2[3] = {0};
    CHECK(one && tt_shape(one, s1, 3) == 2 && s1[0] == 500 && s1[1] == NM, "10 s -> [500, 64]");
    CHECK(two && tt_shape(two, s2, 3) == 3 && s2[0] == 2 && s2[1] == 500 && s2[2] == NM, "batch -> [2, 500, 64]");
    if (one && two) {
        double d = 0;
        tt_item(tt_max_all(tt_abs(tt_sub(tt_select(two, 0, 1), one))), &d);
        CHECK(d < 1e-4, "batched item equals the single call (max diff %.2e)", d);
    }
    float *out = malloc(sizeof(float) * 500 * NM);
    CHECK(vr_logmel(m, b, n, out) == 500, "plain-C call: 500 frames");
    if (one) {
        float *o1 = tt_data_ptr(one);
        double d = 0;
        for (int i = 0; o1 && i < 500 * NM; i++) d = fmax(d, fabs(o1[i] - out[i]));
        CHECK(o1 && d == 0, "plain-C and tensor paths agree exactly (diff %.2e)", d);
    }
    free(a);
    free(b);
    free(ab);
    free(out);
    tt_scope_end();
}

static void test_errors(const vr_mel *m) {
    tt_scope_begin();
    vr_mel bad;
    CHECK(vr_mel_init(&bad, SR, NM, 48) == -1 && strstr(vr_error(), "must divide"), "fps not dividing sr: '%s'", vr_error());
    CHECK(vr_mel_init(&bad, SR, 0, 50) == -1 && strstr(vr_error(), "n_mels"), "n_mels 0: '%s'", vr_error());
    CHECK(vr_mel_init(&bad, SR, 400, 50) == -1 && strstr(vr_error(), "too many"), "empty filters: '%s'", vr_error());
    CHECK(vr_mel_init_full(&bad, SR, NM, 600, 1024, 0, 8000) == -1 && strstr(vr_error(), "hop"), "hop > n_fft/2: '%s'", vr_error());
    CHECK(vr_mel_init_full(&bad, SR, NM, 320, 1024, 100, 9000) == -1 && strstr(vr_error(), "fmax"), "fmax > sr/2: '%s'", vr_error());
    float x[2000] = {0}, out[6 * NM];
    CHECK(vr_logmel(m, x, 1000, out) == -1 && strstr(vr_error(), "shorter than one window"), "short wave: '%s'", vr_error());
    CHECK(vr_logmel(m, NULL, 2000, out) == -1, "NULL wave");
    CHECK(vr_logmel(m, x, 2000, out) == 6, "2000 samples: 6 frames");
    x[1500] = NAN;
    CHECK(vr_logmel(m, x, 2000, out) == -1 && strstr(vr_error(), "index 1500"), "NaN sample named: '%s'", vr_error());
    CHECK(vr_mel_forward(m, tt_zeros(TT_SHAPE(2000), TT_F64)) == NULL && strstr(vr_error(), "f32"), "f64 wave: '%s'", vr_error());
    CHECK(vr_mel_forward(m, tt_zeros(TT_SHAPE(1, 1, 2000), TT_F32)) == NULL && strstr(vr_error(), "[B, N]"), "3-d wave");
    tt_tensor *lm = tt_zeros(TT_SHAPE(10, NM), TT_F32);
    CHECK(vr_mel_inverse(m, lm, 2, 10 * 320 + 320, NULL) == NULL && strstr(vr_error(), "3200..3519"), "length off: '%s'", vr_error());
    CHECK(vr_mel_inverse(m, tt_zeros(TT_SHAPE(10, 80), TT_F32), 2, 0, NULL) == NULL && strstr(vr_error(), "[T, 64]"), "wrong bins");
    CHECK(vr_mel_inverse(m, tt_zeros(TT_SHAPE(1, NM), TT_F32), 2, 0, NULL) == NULL && strstr(vr_error(), "too few"), "1 frame: '%s'", vr_error());
    vr_mel_stats s;
    CHECK(vr_mel_stats_init(&s, 0) == -1, "stats with 0 bins");
    tt_scope_end();
}

/* Pitch as a listener's ear (or a pitch tracker) would take it: the f0 in [lo, hi] Hz that
 * maximises the summed power of harmonics 1..4 (Hann-windowed DFT over x[0..n), 0.25 Hz steps). */
static double pitch_hz(const float *x, int64_t n, double lo, double hi) {
    double best = 0, best_f = 0;
    for (double f = lo; f <= hi; f += 0.25) {
        double p = 0;
        for (int h = 1; h <= 4; h++) {
            double re = 0, im = 0, w = 2 * M_PI * f * h / SR;
            for (int64_t i = 0; i < n; i++) {
                double hann = 0.5 - 0.5 * cos(2 * M_PI * i / n);
                re += hann * x[i] * cos(w * i);
                im += hann * x[i] * sin(w * i);
            }
            p += re * re + im * im;
        }
        if (p > best) best = p, best_f = f;
    }
    return best_f;
}

static void test_griffin_lim(const vr_mel *m) {
    tt_scope_begin();
    int64_t n = 3 * SR + 123; /* not a multiple of hop: T = 150, length must come back exact */
    float *x = tone(n, 440, -45, 7);
    tt_tensor *wave = tt_from_data(x, TT_F32, TT_SHAPE(n));
    tt_tensor *lm = vr_mel_forward(m, wave);
    tt_gen *g = tt_gen_new(1234);
    double t0 = vr_now();
    tt_tensor *y = vr_mel_inverse(m, lm, 64, n, g);
    double secs = vr_now() - t0;
    CHECK(y && tt_ndim(y) == 1 && tt_size(y, 0) == n, "inverse gives exactly %lld samples", (long long)n);
    tt_tensor *lm2 = y ? vr_mel_forward(m, y) : NULL;
    if (lm && lm2) {
        double l1 = 0, sc = 0;
        tt_item(tt_mean_all(tt_abs(tt_sub(lm2, lm))), &l1);
        /* spectral convergence on linear magnitudes: || |S| - |S_gl| || / || |S| || */
        tt_tensor *s0 = tt_abs(tt_stft(wave, 1024, 320, 1024, NULL, 1)), *s1 = tt_abs(tt_stft(y, 1024, 320, 1024, NULL, 1));
        tt_item(tt_div(tt_norm_all(tt_sub(s0, s1)), tt_norm_all(s0)), &sc);
        float *yy = tt_data_ptr(y);
        double f_in = pitch_hz(x + SR, SR, 400, 480), f_out = yy ? pitch_hz(yy + SR, SR, 400, 480) : 0;
        double cents = 1200 * log2(f_out / 440);
        printf("Griffin-Lim (64 iters, 3 s, %.2f s): log-mel L1 %.3f nats, spectral convergence %.3f, "
               "pitch %.2f Hz -> %.2f Hz (%+.0f cents)\n", secs, l1, sc, f_in, f_out, cents);
        CHECK(l1 < 0.5, "log-mel L1 after the round trip %.3f >= 0.5 nats", l1);
        CHECK(sc < 0.45, "spectral convergence %.3f >= 0.45", sc);
        /* 64 mel bins put filters ~46 Hz (170 cents) apart at 440 Hz, so the exact frequency
         * is not in the representation; a quarter tone keeps the note */
        CHECK(fabs(f_in - 440) <= 1.0 && fabs(cents) <= 50, "pitch kept within a quarter tone: %.2f -> %.2f Hz",
              f_in, f_out);
    }
    /* determinism: same seed -> same audio; NULL generator -> zero-phase start, also repeatable */
    tt_tensor *a = vr_mel_inverse(m, lm, 4, 0, NULL), *b = vr_mel_inverse(m, lm, 4, 0, NULL);
    double d = -1;
    if (a && b) tt_item(tt_max_all(tt_abs(tt_sub(a, b))), &d);
    CHECK(d == 0 && tt_size(a, 0) == 150 * 320, "zero-phase start is deterministic, length T*hop");
    tt_gen *g1 = tt_gen_new(99), *g2 = tt_gen_new(99);
    a = vr_mel_inverse(m, lm, 4, 0, g1);
    b = vr_mel_inverse(m, lm, 4, 0, g2);
    d = -1;
    if (a && b) tt_item(tt_max_all(tt_abs(tt_sub(a, b))), &d);
    CHECK(d == 0, "same seed, same audio (diff %g)", d);
    tt_tensor *batch = vr_mel_inverse(m, tt_stack((tt_tensor *[]){lm, lm}, 2, 0), 2, n, NULL);
    CHECK(batch && tt_ndim(batch) == 2 && tt_size(batch, 0) == 2 && tt_size(batch, 1) == n, "batched inverse [2, n]");
    tt_tensor *z = vr_mel_inverse(m, lm, 0, 0, NULL);
    CHECK(z && tt_size(z, 0) == 150 * 320, "0 iterations is a plain zero-phase inverse");
    tt_gen_free(g);
    tt_gen_free(g1);
    tt_gen_free(g2);
    free(x);
    tt_scope_end();
}

static void test_stats(void) {
    enum { M = 8 };
    int64_t Ts[3] = {37, 5, 120};
    float *clips[3];
    double sum[M] = {0}, sq[M] = {0};
    int64_t total = 0;
    uint64_t s = 42;
    for (int c = 0; c < 3; c++) {
        clips[c] = malloc(sizeof(float) * Ts[c] * M);
        for (int64_t i = 0; i < Ts[c] * M; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            int b = (int)(i % M);
            double u = (double)(s >> 11) / 9007199254740992.0;
            clips[c][i] = b == M - 1 ? -11.5f : (float)(-5 + b + 3 * u * (c + 1)); /* last bin constant */
            sum[b] += clips[c][i];
        }
        total += Ts[c];
    }
    for (int c = 0; c < 3; c++)
        for (int64_t i = 0; i < Ts[c] * M; i++) {
            double d = clips[c][i] - sum[i % M] / total;
            sq[i % M] += d * d;
        }
    vr_mel_stats all, part1, part2;
    CHECK(vr_mel_stats_init(&all, M) == 0 && vr_mel_stats_init(&part1, M) == 0 && vr_mel_stats_init(&part2, M) == 0,
          "stats init");
    for (int c = 0; c < 3; c++) vr_mel_stats_add(&all, clips[c], Ts[c]);
    vr_mel_stats_add(&part1, clips[0], Ts[0]);
    vr_mel_stats_add(&part2, clips[1], Ts[1]);
    vr_mel_stats_add(&part2, clips[2], Ts[2]);
    CHECK(vr_mel_stats_merge(&part1, &part2) == 0 && part1.count == total, "merge");
    CHECK(vr_mel_stats_finish(&all) == 0 && vr_mel_stats_finish(&part1) == 0, "finish");
    double err = 0;
    for (int b = 0; b < M - 1; b++) {
        double mean = sum[b] / total, sd = sqrt(sq[b] / total);
        err = fmax(err, fmax(fabs(all.mean[b] - mean), fabs(all.std[b] - sd) / sd));
        err = fmax(err, fmax(fabs(part1.mean[b] - all.mean[b]), fabs(part1.std[b] - all.std[b])));
    }
    CHECK(err < 1e-5, "streamed mean/std equal the two-pass values (err %.2e)", err);
    CHECK(all.std[M - 1] == (float)VR_MEL_STD_MIN && all.mean[M - 1] == -11.5f, "constant bin: std floored");
    float *x = malloc(sizeof(float) * Ts[2] * M);
    memcpy(x, clips[2], sizeof(float) * Ts[2] * M);
    vr_mel_normalize(&all, x, Ts[2]);
    CHECK(x[M - 1] == 0.0f, "constant bin normalises to 0");
    vr_mel_denormalize(&all, x, Ts[2]);
    double rt = 0;
    for (int64_t i = 0; i < Ts[2] * M; i++) rt = fmax(rt, fabs(x[i] - clips[2][i]));
    CHECK(rt < 1e-5, "normalise/denormalise round trip (err %.2e)", rt);
    x[3] = NAN;
    CHECK(vr_mel_stats_add(&all, x, Ts[2]) == -1 && strstr(vr_error(), "frame 0, bin 3"), "NaN named: '%s'", vr_error());
    vr_mel_stats empty;
    vr_mel_stats_init(&empty, M);
    CHECK(vr_mel_stats_finish(&empty) == -1, "finish with no frames fails");
    float mean[M] = {0}, sd[M] = {1, 1, 1, 0, 1, 1, 1, 1};
    CHECK(vr_mel_stats_set(&empty, mean, sd) == -1 && strstr(vr_error(), "bin 3"), "std 0 rejected: '%s'", vr_error());
    CHECK(vr_mel_stats_merge(&empty, &(vr_mel_stats){0}) == -1, "merge with an uninitialised accumulator fails");
    vr_mel_stats_free(&empty);
    vr_mel_stats_free(&all);
    vr_mel_stats_free(&part1);
    vr_mel_stats_free(&part2);
    for (int c = 0; c < 3; c++) free(clips[c]);
    free(x);
}

static void test_normalize_rms(void) {
    enum { N = 16000 };
    static float x[N];
    for (int i = 0; i < N; i++) x[i] = (float)(0.05 * sin(2 * M_PI * 440 * i / SR));
    CHECK(vr_audio_normalize_rms(x, N, -20, -1) == 0, "normalise");
    double ss = 0, peak = 0;
    for (int i = 0; i < N; i++) ss += x[i] * x[i], peak = fmax(peak, fabs(x[i]));
    CHECK(fabs(20 * log10(sqrt(ss / N)) + 20) < 0.01, "RMS at -20 dBFS (%.3f)", 20 * log10(sqrt(ss / N)));
    CHECK(vr_audio_normalize_rms(x, N, -1, -3) == 0, "normalise loud");
    peak = 0;
    for (int i = 0; i < N; i++) peak = fmax(peak, fabs(x[i]));
    CHECK(fabs(20 * log10(peak) + 3) < 0.01, "peak limited to -3 dBFS (%.3f)", 20 * log10(peak));
    memset(x, 0, sizeof x);
    CHECK(vr_audio_normalize_rms(x, N, -20, -1) == 0 && x[5] == 0, "silence stays silent");
    x[7] = INFINITY;
    CHECK(vr_audio_normalize_rms(x, N, -20, -1) == -1 && strstr(vr_error(), "index 7"), "inf named: '%s'", vr_error());
    CHECK(vr_audio_normalize_rms(x, N, 3, -1) == -1, "target above 0 dBFS rejected");
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s PYTHON mel_reference.py WORKDIR\n", argv[0]);
        return 2;
    }
    g_dir = argv[3];
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s'", argv[1], argv[2], argv[3]);
    int rc = system(cmd);
    CHECK(rc == 0, "python reference failed: %s (exit status %d)", cmd, WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
    tt_set_num_threads(1);
    vr_mel m;
    CHECK(vr_mel_init(&m, SR, NM, 50) == 0 && m.hop == 320 && m.n_fft == 1024 && m.n_bins == 513, "init defaults");
    if (rc == 0 && m.fb) {
        test_filterbank(&m);
        test_reference_logmels(&m);
    }
    if (m.fb) {
        test_forward_shapes(&m);
        test_errors(&m);
        test_griffin_lim(&m);
    }
    test_stats();
    test_normalize_rms();
    vr_mel_free(&m);
    CHECK(tt_live_handles() == 0, "no tensor handles leaked (%lld live)", (long long)tt_live_handles());
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
