/* test_embed.c — the embedding backbones (eval/embed.h) against Python.
 *
 * Run: test_embed PYTHON tests/eval/embed_reference.py WORKDIR
 * The script writes a VGGish-like TorchScript model with random weights and its embeddings of a
 * fixed waveform (the C side must reproduce them), the "mel" backbone in float64 numpy, modules
 * and files that break the contract; later it recomputes the mel statistics from the C log-mel
 * frames. If Python fails (a missing module included), this test fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/tt.h"
#include "data/media.h"
#include "data/mel.h"
#include "eval/embed.h"
#include "tests/check.h"

#define SR 16000
#define N_WAVE 40000 /* 2.5 s */
#define TS_TOL 1e-5  /* max |C - Python| / max |Python|: the same libtorch runs both */
#define MEL_TOL 1e-4 /* f32 log-mel vs float64 numpy, in nats; measured ~1e-6 */
#define STATS_TOL 1e-6
#define RS_BANDS 60  /* mel bands compared after resampling */
#define RS_TOL 0.03  /* nats; measured <= 0.005 */

static const char *g_py, *g_script, *g_dir;

static char *fx(const char *name) {
    static char buf[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static void *read_exact(const char *path, size_t bytes) {
    char *data = NULL;
    size_t n = 0;
    if (vr_read_file(path, &data, &n) != 0 || n != bytes) {
        fprintf(stderr, "fixture %s: %s (have %zu bytes, want %zu)\n", path, vr_error(), n, bytes);
        free(data);
        return NULL;
    }
    return data;
}

static double max_abs_diff(const double *a, const double *b, size_t n, double *ref_max) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs(a[i] - b[i]));
        m = fmax(m, fabs(b[i]));
    }
    if (ref_max) *ref_max = m;
    return d;
}

static vr_embed_opts ts_opts(int batch) {
    vr_embed_opts o;
    vr_embed_opts_default(&o);
    o.window_s = 0.96;
    o.hop_s = 0.48;
    o.batch = batch;
    return o;
}

/* TorchScript model vs the embeddings Python computed with it; several batch sizes. */
static void test_torchscript(const float *wave, const char *model, const char *ref_name) {
    double *ref = read_exact(fx(ref_name), 4 * 128 * sizeof(double));
    char spec[4200];
    snprintf(spec, sizeof spec, "torchscript:%s", fx(model));
    const int batches[] = {32, 3, 1};
    for (int b = 0; b < 3; b++) {
        vr_embed_opts o = ts_opts(batches[b]);
        vr_embedder *e = vr_embedder_open(spec, &o);
        CHECK(e && vr_embedder_dim(e) == 128, "open %s (dim %d)", spec, vr_embedder_dim(e));
        double *emb = NULL;
        int nw = 0, dim = 0;
        CHECK(e && vr_embed_audio(e, wave, N_WAVE, SR, 1, &emb, &nw, &dim) == 0, "embed with %s", model);
        CHECK(nw == 4 && dim == 128, "%s: %d windows x %d dims (want 4 x 128)", model, nw, dim);
        if (emb && ref && nw == 4 && dim == 128) {
            double scale, d = max_abs_diff(emb, ref, 4 * 128, &scale);
            printf("torchscript %-10s batch %2d: max |C - Python| = %.3e (max |emb| %.3f, relative %.2e)\n", model,
                   batches[b], d, scale, d / scale);
            CHECK(d <= TS_TOL * scale, "%s batch %d: max diff %.3e > %g x %.3f", model, batches[b], d, TS_TOL, scale);
        }
        free(emb);
        vr_embedder_free(e);
    }
    free(ref);
}

/* The mel backbone: end to end against float64 numpy, and its statistics exactly against numpy
 * applied to the C log-mel frames of each window. */
static void test_mel_backbone(const float *wave) {
    vr_embedder *e = vr_embedder_open("mel", NULL);
    CHECK(e && vr_embedder_dim(e) == 256, "open mel (dim %d)", vr_embedder_dim(e));
    if (!e) return;
    double *emb = NULL;
    int nw = 0, dim = 0;
    CHECK(vr_embed_audio(e, wave, N_WAVE, SR, 1, &emb, &nw, &dim) == 0, "mel embed");
    CHECK(nw == 4 && dim == 256, "mel: %d windows x %d dims (want 4 x 256)", nw, dim);
    double *ref = read_exact(fx("mel.f64"), 4 * 256 * sizeof(double));
    if (emb && ref && nw == 4 && dim == 256) {
        double d = max_abs_diff(emb, ref, 4 * 256, NULL);
        printf("mel backbone vs float64 numpy: max abs diff %.3e nats\n", d);
        CHECK(d <= MEL_TOL, "mel vs numpy: %.3e > %g", d, MEL_TOL);
    }
    free(ref);

    /* the C front end's frames of each 1-s window -> numpy statistics */
    vr_mel m;
    CHECK(vr_mel_init(&m, SR, 64, 50) == 0, "mel init");
    enum { T = SR / 320 };
    float *frames = malloc(sizeof(float) * 4 * T * 64);
    int ok = 1;
    for (int w = 0; w < 4; w++) ok &= vr_logmel(&m, wave + w * 8000, 16000, frames + (size_t)w * T * 64) == T;
    CHECK(ok, "C log-mel frames");
    FILE *f = fopen(fx("c_frames.f32"), "wb");
    ok = f && fwrite(frames, sizeof(float), 4 * T * 64, f) == 4 * T * 64;
    if (f) ok &= fclose(f) == 0;
    CHECK(ok, "write %s", fx("c_frames.f32"));
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "'%s' '%s' melstats '%s' 4 %d 64 '%s'", g_py, g_script, fx("c_frames.f32"), T,
             fx("c_stats.f64"));
    int rc = system(cmd);
    CHECK(rc == 0, "python melstats failed: %s", cmd);
    double *stats = rc == 0 ? read_exact(fx("c_stats.f64"), 4 * 256 * sizeof(double)) : NULL;
    if (stats && emb && nw == 4 && dim == 256) {
        double d = max_abs_diff(emb, stats, 4 * 256, NULL);
        printf("mel statistics vs numpy on the C frames: max abs diff %.3e\n", d);
        CHECK(d <= STATS_TOL, "mel stats vs numpy: %.3e > %g", d, STATS_TOL);
    }
    free(stats);
    free(frames);
    vr_mel_free(&m);
    free(emb);
    vr_embedder_free(e);
}

/* Worst band, over the lowest `bands` mel bands, of the mean |a - b| of its mean and std features. */
static double mel_band_diff(const double *a, const double *b, int nw, int dim, int bands) {
    int M = dim / 4;
    double worst = 0;
    for (int k = 0; k < bands; k++) {
        double d = 0;
        for (int i = 0; i < nw; i++) d += fabs(a[i * dim + k] - b[i * dim + k]) + fabs(a[i * dim + M + k] - b[i * dim + M + k]);
        worst = fmax(worst, d / (2 * nw));
    }
    return worst;
}

/* Channels and rates: a stereo split of the signal downmixes to it exactly; the signal resampled
 * by scipy to 48 kHz (stereo) and to 22.05 kHz (a 16-bit wav file, decoded by data/media) comes
 * back to nearly the same mel embedding after the embedder's own resampling — in the 60 lowest
 * bands (up to ~6.9 kHz): the top ones lie in the two resamplers' transition bands. */
static void test_channels_rates_files(const float *wave) {
    vr_embedder *e = vr_embedder_open("mel", NULL);
    if (!e) return;
    double *ref = NULL, *emb = NULL;
    int nw = 0, dim = 0, nw2 = 0, dim2 = 0;
    CHECK(vr_embed_audio(e, wave, N_WAVE, SR, 1, &ref, &nw, &dim) == 0, "mel embed 16 kHz");

    float *st = malloc(sizeof *st * 2 * N_WAVE);
    for (int i = 0; i < N_WAVE; i++) st[2 * i] = 1.5f * wave[i], st[2 * i + 1] = 0.5f * wave[i];
    CHECK(vr_embed_audio(e, st, N_WAVE, SR, 2, &emb, &nw2, &dim2) == 0, "mel embed 16 kHz stereo");
    if (ref && emb && nw == nw2 && dim == dim2) {
        double d = max_abs_diff(emb, ref, (size_t)nw * dim, NULL);
        printf("mel, stereo (1.5 x, 0.5 x) vs mono: max abs diff %.2e\n", d);
        CHECK(d < 1e-4, "stereo downmix differs by %.2e", d);
    }
    free(emb);
    emb = NULL;

    int64_t n48 = 3 * (int64_t)N_WAVE;
    float *w48 = read_exact(fx("wave48.f32"), sizeof(float) * (size_t)n48);
    float *st48 = realloc(st, sizeof *st * 2 * (size_t)n48);
    st = st48 ? st48 : st;
    if (w48 && st48) {
        for (int64_t i = 0; i < n48; i++) st[2 * i] = 1.2f * w48[i], st[2 * i + 1] = 0.8f * w48[i];
        CHECK(vr_embed_audio(e, st, n48, 48000, 2, &emb, &nw2, &dim2) == 0, "mel embed 48 kHz stereo");
        CHECK(nw2 == nw, "48 kHz gives %d windows, 16 kHz %d", nw2, nw);
        if (ref && emb && nw == nw2 && dim == dim2) {
            double d = mel_band_diff(emb, ref, nw, dim, RS_BANDS), all = mel_band_diff(emb, ref, nw, dim, 64);
            printf("mel, 48-kHz stereo vs 16-kHz mono: worst band's mean |diff| %.4f nats (bands < %d), %.4f (all)\n",
                   d, RS_BANDS, all);
            CHECK(d < RS_TOL, "48 kHz differs by %.4f nats in a band", d);
        }
    }
    free(emb);
    emb = NULL;
    free(w48);
    free(st);

    int64_t n22 = (int64_t)N_WAVE * 22050 / SR;
    float *w22 = read_exact(fx("wave22.f32"), sizeof(float) * (size_t)n22);
    CHECK(w22 && vr_audio_write(fx("clip22.wav"), w22, n22, 22050) == 0, "write clip22.wav");
    CHECK(vr_embed_file(e, fx("clip22.wav"), &emb, &nw2, &dim2) == 0, "embed clip22.wav");
    CHECK(nw2 == nw, "clip22.wav gives %d windows, 16 kHz %d", nw2, nw);
    if (ref && emb && nw == nw2 && dim == dim2) {
        double d = mel_band_diff(emb, ref, nw, dim, RS_BANDS), all = mel_band_diff(emb, ref, nw, dim, 64);
        printf("mel, 22.05-kHz wav file vs 16-kHz mono: worst band's mean |diff| %.4f nats (bands < %d), %.4f (all)\n",
               d, RS_BANDS, all);
        CHECK(d < RS_TOL, "file at 22.05 kHz differs by %.4f nats in a band", d);
    }
    free(w22);
    free(emb);
    free(ref);
    vr_embedder_free(e);
}

static void expect_open_error(const char *spec, const vr_embed_opts *o, const char *want1, const char *want2) {
    vr_embedder *e = vr_embedder_open(spec, o);
    const char *err = vr_error();
    CHECK(!e && strstr(err, want1) && (!want2 || strstr(err, want2)), "open '%s' must fail with '%s'/'%s', got '%s'",
          spec, want1, want2 ? want2 : "", e ? "(opened)" : err);
    if (!e) printf("  refused: %s\n", err);
    vr_embedder_free(e);
}

static void test_errors(const float *wave) {
    char spec[4200];
    vr_embed_opts o = ts_opts(4);
    snprintf(spec, sizeof spec, "torchscript:%s", fx("missing.pt"));
    expect_open_error(spec, &o, "missing.pt", "No such file");
    snprintf(spec, sizeof spec, "torchscript:%s", fx("garbage.pt"));
    expect_open_error(spec, &o, "garbage.pt", "not a loadable TorchScript file");
    snprintf(spec, sizeof spec, "torchscript:%s", fx("truncated.pt"));
    expect_open_error(spec, &o, "truncated.pt", "not a loadable TorchScript file");
    snprintf(spec, sizeof spec, "torchscript:%s", g_dir);
    expect_open_error(spec, &o, g_dir, "not a regular file");
    snprintf(spec, sizeof spec, "torchscript:%s", fx("rank1.pt"));
    expect_open_error(spec, &o, "rank1.pt", "returned [1] for 1 windows, expected [1, D]");
    snprintf(spec, sizeof spec, "torchscript:%s", fx("tuple.pt"));
    expect_open_error(spec, &o, "tuple.pt", "expected one Tensor");
    snprintf(spec, sizeof spec, "torchscript:%s", fx("raises.pt"));
    expect_open_error(spec, &o, "raises.pt", "is invalid for input of size");
    expect_open_error("torchscript:", &o, "torchscript backbone: no file after 'torchscript:'", NULL);
    expect_open_error("tagger", NULL, "unknown backbone 'tagger' (expected mel or torchscript:<file>)", NULL);
    expect_open_error("MEL", NULL, "unknown backbone 'MEL'", NULL);
    vr_embed_opts bad;
    vr_embed_opts_default(&bad);
    bad.hop_s = 0;
    expect_open_error("mel", &bad, "mel: hop_s 0", NULL);
    vr_embed_opts_default(&bad);
    bad.window_s = 0.05;
    expect_open_error("mel", &bad, "mel: window_s 0.05", "shorter than the 1024-sample STFT window");
    vr_embed_opts_default(&bad);
    bad.sample_rate = 22001;
    expect_open_error("mel", &bad, "22001", "not a multiple");
    vr_embed_opts_default(&bad);
    bad.batch = 0;
    expect_open_error("mel", &bad, "batch 0", NULL);

    /* errors while embedding: a module whose batch is wrong only for B > 1, NaN output, short clip */
    double *emb = NULL;
    int nw = 0, dim = 0;
    snprintf(spec, sizeof spec, "torchscript:%s", fx("batch1.pt"));
    vr_embedder *e = vr_embedder_open(spec, &o);
    CHECK(e, "batch1.pt passes the one-window probe");
    if (e) {
        CHECK(vr_embed_audio(e, wave, N_WAVE, SR, 1, &emb, &nw, &dim) != 0 && !emb &&
                  strstr(vr_error(), "batch1.pt: the module returned [1, 8] for 4 windows"),
              "wrong batch must fail, got '%s'", vr_error());
        printf("  refused: %s\n", vr_error());
    }
    vr_embedder_free(e);
    snprintf(spec, sizeof spec, "torchscript:%s", fx("nan.pt"));
    e = vr_embedder_open(spec, &o);
    CHECK(e, "nan.pt opens (the probe checks shapes only)");
    if (e) {
        CHECK(vr_embed_audio(e, wave, N_WAVE, SR, 1, &emb, &nw, &dim) != 0 && !emb &&
                  strstr(vr_error(), "nan.pt: non-finite embedding (window 0, dim 0)"),
              "NaN output must fail, got '%s'", vr_error());
        printf("  refused: %s\n", vr_error());
    }
    vr_embedder_free(e);

    e = vr_embedder_open("mel", NULL);
    if (!e) return;
    CHECK(vr_embed_audio(e, wave, 15999, SR, 1, &emb, &nw, &dim) != 0 &&
              strstr(vr_error(), "mel: clip of 15999 samples at 16000 Hz (0.9999 s) is shorter than one 1-s window"),
          "short clip must fail, got '%s'", vr_error());
    printf("  refused: %s\n", vr_error());
    CHECK(vr_embed_audio(e, wave, 16000, SR, 1, &emb, &nw, &dim) == 0 && nw == 1, "exactly one window: %d", nw);
    free(emb);
    emb = NULL;
    CHECK(vr_embed_audio(e, wave, 47990, 48000, 1, &emb, &nw, &dim) != 0 && strstr(vr_error(), "shorter than one"),
          "short clip at 48 kHz must fail, got '%s'", vr_error());
    float *bad_wave = malloc(sizeof(float) * 2 * 20000);
    memcpy(bad_wave, wave, sizeof(float) * 2 * 20000);
    bad_wave[2 * 12345 + 1] = NAN;
    CHECK(vr_embed_audio(e, bad_wave, 20000, SR, 2, &emb, &nw, &dim) != 0 &&
              strstr(vr_error(), "non-finite audio sample at index 12345 (channel 1)"),
          "NaN input must fail, got '%s'", vr_error());
    free(bad_wave);
    CHECK(vr_embed_audio(e, wave, N_WAVE, SR, 0, &emb, &nw, &dim) != 0 && strstr(vr_error(), "0 audio channels"),
          "0 channels must fail, got '%s'", vr_error());
    CHECK(vr_embed_file(e, fx("nope.wav"), &emb, &nw, &dim) != 0 && strstr(vr_error(), "nope.wav"),
          "missing audio file must fail naming it, got '%s'", vr_error());
    printf("  refused: %s\n", vr_error());
    float quiet[8000] = {0};
    CHECK(vr_audio_write(fx("short.wav"), quiet, 8000, SR) == 0, "write short.wav");
    CHECK(vr_embed_file(e, fx("short.wav"), &emb, &nw, &dim) != 0 &&
              strstr(vr_error(), "short.wav: mel: clip of 8000 samples at 16000 Hz (0.5000 s)"),
          "short file must fail naming it, got '%s'", vr_error());
    printf("  refused: %s\n", vr_error());
    vr_embedder_free(e);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s PYTHON embed_reference.py WORKDIR\n", argv[0]);
        return 2;
    }
    g_py = argv[1], g_script = argv[2], g_dir = argv[3];
    remove_tree(g_dir);
    CHECK(vr_mkdirs(g_dir) == 0, "mkdir %s", g_dir);
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "'%s' '%s' fixtures '%s'", g_py, g_script, g_dir);
    int rc = system(cmd);
    CHECK(rc == 0, "python reference failed: %s (exit status %d)", cmd, WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
    if (rc != 0) return check_summary();
    tt_set_num_threads(1);
    float *wave = read_exact(fx("wave.f32"), N_WAVE * sizeof(float));
    CHECK(wave != NULL, "read wave.f32");
    if (!wave) return check_summary();
    int64_t live = tt_live_handles();

    test_torchscript(wave, "vggish.pt", "vggish.f64");
    test_torchscript(wave, "frames.pt", "frames.f64");
    test_mel_backbone(wave);
    test_channels_rates_files(wave);
    test_errors(wave);

    CHECK(tt_live_handles() == live, "tensor handles leaked: %lld -> %lld", (long long)live,
          (long long)tt_live_handles());
    free(wave);
    return check_summary();
}
