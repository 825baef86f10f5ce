/* test_media_read.c FIXTURES — decoding with data/media_read.c against the clips that
 * tests/data/make_bad_media.sh generated into FIXTURES (see that script for what each holds):
 * exact lengths, content (colours move, 440 Hz comes out at 440 Hz), windows that land on the
 * right time, windowed decodes identical to the same part of a whole decode, and a clear error
 * naming the file and the reason for every bad file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/media.h"
#include "data/video_desc.h"
#include "tests/check.h"


static const char *g_dir;
static char g_path[1024];

static const char *fixture(const char *name) {
    snprintf(g_path, sizeof g_path, "%s/%s", g_dir, name);
    return g_path;
}

static vr_media_opts opts(int want_video, int want_audio, double start, double duration) {
    vr_media_opts o;
    vr_media_opts_default(&o);
    o.want_video = want_video;
    o.want_audio = want_audio;
    o.start = start;
    o.duration = duration;
    return o;
}

/* ---- signal helpers ---- */

/* Power of x at frequency f (Goertzel). */
static double power_at(const float *x, int n, double rate, double f) {
    double w = 2 * cos(2 * M_PI * f / rate), s1 = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        double s0 = x[i] + w * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    return s1 * s1 + s2 * s2 - w * s1 * s2;
}

/* The strongest frequency in 100-2000 Hz, to 1 Hz. */
static double dominant_freq(const float *x, int n, double rate) {
    double best = 0, best_f = 0;
    for (double f = 100; f <= 2000; f += 5) {
        double p = power_at(x, n, rate, f);
        if (p > best) best = p, best_f = f;
    }
    for (double f = best_f - 5; f <= best_f + 5; f += 1) {
        double p = power_at(x, n, rate, f);
        if (p > best) best = p, best_f = f;
    }
    return best_f;
}

static double rms(const float *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s / n);
}

static int zero_crossings(const float *x, int n) {
    int c = 0;
    for (int i = 1; i < n; i++) c += (x[i - 1] < 0) != (x[i] < 0);
    return c;
}

static double frame_mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += abs(a[i] - b[i]);
    return s / n;
}

/* ---- good clips: every container/codec ---- */

typedef struct clip {
    const char *name, *vcodec, *acodec;
    double fps, rms; /* source frame rate (0: audio only); RMS of the mono downmix */
} clip;

static const clip g_clips[] = {
    {"good/h264_aac.mp4", "h264", "aac", 24, 0.0884},
    {"good/h264_flac.mkv", "h264", "flac", 24, 0.0884},
    {"good/vp9_opus.webm", "vp9", "opus", 24, 0.0884},
    {"good/vp8_vorbis.webm", "vp8", "vorbis", 24, 0.0884},
    {"good/mpeg2_mp2.mpg", "mpeg2video", "mp2", 24, 0.0884},
    {"good/mpeg1_mp2.mpg", "mpeg1video", "mp2", 25, 0.0884},
    {"good/mjpeg_pcm.mov", "mjpeg", "pcm_s16le", 24, 0.0884},
    /* stereo made from the mono sine by ffmpeg's upmix (-3 dB per channel); we average back */
    {"good/h264_aac_stereo.mov", "h264", "aac", 24, 0.0625},
    {"good/audio.ogg", "", "opus", 0, 0.0884},
    {"good/audio.flac", "", "flac", 0, 0.0884},
    {"good/audio.mp3", "", "mp3", 0, 0.0884},
    {"good/audio.wav", "", "pcm_s16le", 0, 0.0884},
};

static void test_good_clip(const clip *c) {
    const char *path = fixture(c->name);
    int video = c->fps > 0;
    vr_media_info info;
    CHECK(vr_media_probe(path, &info) == 0, "probe %s: %s", c->name, vr_error());
    CHECK(info.has_video == video && info.has_audio, "%s: streams %d/%d", c->name, info.has_video, info.has_audio);
    CHECK(info.duration > 3.95 && info.duration < 4.1, "%s: duration %g", c->name, info.duration);
    CHECK(!strcmp(info.audio_codec, c->acodec), "%s: audio codec %s", c->name, info.audio_codec);
    if (video)
        CHECK(!strcmp(info.video_codec, c->vcodec) && fabs(info.video_fps - c->fps) < 0.01 && info.width == 128 &&
                  info.height == 96,
              "%s: video %s %g fps %dx%d", c->name, info.video_codec, info.video_fps, info.width, info.height);

    /* the whole file: lengths follow the media's duration exactly */
    vr_media m;
    vr_media_opts o = opts(video, 1, 0, 0);
    if (vr_media_decode(path, &o, &m) != 0) {
        CHECK(0, "decode %s: %s", c->name, vr_error());
        return;
    }
    CHECK(fabs(m.duration - info.duration) < 1e-9 && m.start == 0, "%s: window %g+%g", c->name, m.start, m.duration);
    CHECK(m.n_samples == llround(m.duration * 16000) && m.sample_rate == 16000 && m.audio, "%s: %lld samples for %g s",
          c->name, (long long)m.n_samples, m.duration);
    if (video) {
        CHECK(m.n_frames == lround(m.duration * 10) && m.width == 64 && m.height == 64 && m.frames,
              "%s: %d frames of %dx%d", c->name, m.n_frames, m.width, m.height);
        /* testsrc2 moves: every 0.5 s the picture has changed */
        size_t fb = 64 * 64 * 3;
        int moving = 0;
        for (int i = 0; i + 5 < m.n_frames; i += 5)
            moving += frame_mean_abs_diff(m.frames + i * fb, m.frames + (i + 5) * fb, fb) > 1.0;
        CHECK(moving == (m.n_frames - 1) / 5, "%s: frames change over time (%d of %d)", c->name, moving,
              (m.n_frames - 1) / 5);
        double mean = 0;
        for (size_t i = 0; i < fb; i++) mean += m.frames[i];
        CHECK(mean / fb > 30 && mean / fb < 220, "%s: frame 0 mean %g is a picture", c->name, mean / fb);
    }
    /* audio content, away from the codecs' start-up: one second from 0.5 s */
    if (m.n_samples >= 3 * 16000) {
        double f = dominant_freq(m.audio + 8000, 16000, 16000);
        double r = rms(m.audio + 8000, 16000);
        CHECK(fabs(f - 440) <= 2, "%s: dominant frequency %g Hz, want 440", c->name, f);
        CHECK(fabs(r - c->rms) < 0.1 * c->rms, "%s: rms %g, want %g", c->name, r, c->rms);
        int zc = zero_crossings(m.audio + 8000, 16000);
        CHECK(abs(zc - 880) <= 4, "%s: %d zero crossings in 1 s, want 880", c->name, zc);
    }
    vr_media_free(&m);
    CHECK(m.frames == NULL && m.audio == NULL, "free clears");

    /* a window after a seek: exact lengths */
    o = opts(video, 1, 1.0, 2.5);
    if (vr_media_decode(path, &o, &m) != 0) {
        CHECK(0, "window decode %s: %s", c->name, vr_error());
        return;
    }
    CHECK(m.n_samples == 40000 && (!video || m.n_frames == 25) && m.start == 1.0 && m.duration == 2.5,
          "%s: window 1.0+2.5: %d frames %lld samples", c->name, m.n_frames, (long long)m.n_samples);
    double f = dominant_freq(m.audio, 16000, 16000);
    CHECK(fabs(f - 440) <= 2, "%s: window: dominant frequency %g Hz", c->name, f);
    vr_media_free(&m);
}

/* ---- known content at known times ---- */

/* ramp.* and long.mp4: source frame k (at k/24 s) has luma 16 + 9 (k mod 24), so RGB
 * 9 (k mod 24) 255/219: neighbouring frames differ by 10.5, far more than swscale's error (<= 2).
 * Output frame at time t must show the latest source frame at or before t. */
static double ramp_rgb(double t) {
    long k = (long)floor(t * 24 + 1e-6);
    return 9.0 * (k % 24) * 255 / 219;
}

static void check_ramp_window(const char *name, double start) {
    const char *path = fixture(name);
    vr_media m;
    vr_media_opts o = opts(1, 1, start, 3);
    if (vr_media_decode(path, &o, &m) != 0) {
        CHECK(0, "decode %s: %s", name, vr_error());
        return;
    }
    CHECK(m.n_frames == 30 && m.n_samples == 48000, "%s: %d frames, %lld samples", name, m.n_frames,
          (long long)m.n_samples);
    size_t fb = 64 * 64 * 3;
    int bad = 0, flat = 1;
    for (int i = 0; i < m.n_frames; i++) {
        const uint8_t *f = m.frames + i * fb;
        double t = start + i / 10.0, v = f[fb / 2 + 32 * 3];
        if (fabs(v - ramp_rgb(t)) > 4) {
            if (!bad) fprintf(stderr, "  %s frame %d (t %.1f): %g, want %.1f\n", name, i, t, v, ramp_rgb(t));
            bad++;
        }
        for (size_t p = 0; p < fb; p++) flat &= abs(f[p] - f[0]) <= 2;
    }
    CHECK(bad == 0, "%s: %d of 30 frames show the wrong time", name, bad);
    CHECK(flat, "%s: ramp frames are flat grey", name);
    /* audio at 200 + 100 floor(t) Hz: each whole second of the file inside the window has its tone */
    for (double j = ceil(start); j + 1 <= start + 3; j++) {
        int off = (int)lround((j - start + 0.1) * 16000);
        double want = 200 + 100 * j, f = dominant_freq(m.audio + off, 12800, 16000);
        CHECK(fabs(f - want) <= 2, "%s: second %g of the file: %g Hz, want %g", name, j, f, want);
    }
    /* the first step inside the window: 50 ms before it f/10 zero crossings, after it 10 more */
    double step = floor(start) + 1, f0 = 200 + 100 * floor(start);
    int at = (int)lround((step - start) * 16000);
    int before = zero_crossings(m.audio + at - 800, 800), after = zero_crossings(m.audio + at, 800);
    CHECK(abs(before - (int)(f0 / 10)) <= 2 && abs(after - (int)(f0 / 10) - 10) <= 2,
          "%s: the frequency step at %g s lands at window time %g s (%d, %d crossings)", name, step, step - start,
          before, after);
    vr_media_free(&m);
}

/* A window must equal the same span of a whole-file decode: seeking changes nothing. */
static void check_window_matches_whole(const char *name, double start, double dur, double audio_tol) {
    const char *path = fixture(name);
    vr_media whole, win;
    vr_media_opts o = opts(1, 1, 0, 0);
    if (vr_media_decode(path, &o, &whole) != 0) {
        CHECK(0, "decode %s: %s", name, vr_error());
        return;
    }
    o = opts(1, 1, start, dur);
    if (vr_media_decode(path, &o, &win) != 0) {
        CHECK(0, "window decode %s: %s", name, vr_error());
        vr_media_free(&whole);
        return;
    }
    size_t fb = 64 * 64 * 3;
    int f0 = (int)lround(start * 10), same = 0;
    for (int i = 0; i < win.n_frames && f0 + i < whole.n_frames; i++)
        same += !memcmp(win.frames + i * fb, whole.frames + (f0 + i) * fb, fb);
    CHECK(same == win.n_frames && win.n_frames == lround(dur * 10), "%s [%g, %g): %d of %d frames equal the whole decode",
          name, start, start + dur, same, win.n_frames);
    int64_t s0 = llround(start * 16000);
    double maxd = 0;
    for (int64_t i = 0; i < win.n_samples && s0 + i < whole.n_samples; i++)
        maxd = fmax(maxd, fabs(win.audio[i] - whole.audio[s0 + i]));
    CHECK(maxd <= audio_tol && win.n_samples == llround(dur * 16000), "%s [%g, %g): audio differs by %g", name, start,
          start + dur, maxd);
    vr_media_free(&whole);
    vr_media_free(&win);
}

static void test_known_content(void) {
    check_ramp_window("good/ramp.mkv", 2);
    check_ramp_window("good/ramp.mp4", 2);
    check_ramp_window("good/ramp.mp4", 0.3); /* no seek; starts between source frames */
    check_ramp_window("good/offset.mkv", 2); /* timestamps start at 7 s */
    check_ramp_window("good/offset.ts", 2);  /* video starts at 8.4 s, audio (encoder priming) 15 ms earlier */
    check_window_matches_whole("good/ramp.mkv", 2, 3, 0);
    check_window_matches_whole("good/long.mp4", 20, 5, 1e-4); /* a seek to the keyframe at 18 s */
    check_window_matches_whole("good/long.mp4", 7.3, 10, 1e-4);
    check_window_matches_whole("good/offset.ts", 2, 3, 1e-4);

    /* the late window of the long clip; audio at 200 + 20 floor(t) Hz */
    vr_media m;
    vr_media_opts o = opts(1, 1, 25, 5);
    if (vr_media_decode(fixture("good/long.mp4"), &o, &m) == 0) {
        int bad = 0;
        for (int i = 0; i < m.n_frames; i++) bad += fabs(m.frames[(size_t)i * 64 * 64 * 3] - ramp_rgb(25 + i / 10.0)) > 4;
        CHECK(m.n_frames == 50 && bad == 0, "long.mp4 [25, 30): %d of %d frames show the wrong time", bad, m.n_frames);
        double f = dominant_freq(m.audio + 1600, 12800, 16000);
        CHECK(fabs(f - 700) <= 2, "long.mp4 at 25 s: %g Hz, want 700", f);
        vr_media_free(&m);
    } else
        CHECK(0, "long.mp4 window: %s", vr_error());

    /* 50 ms missing from the audio at 2.0 s: silence there, and the tones after it keep their times */
    o = opts(1, 1, 1.5, 2);
    if (vr_media_decode(fixture("good/gap.mkv"), &o, &m) == 0) {
        float peak = 0;
        for (int i = (int)(0.505 * 16000); i < (int)(0.545 * 16000); i++) peak = fmaxf(peak, fabsf(m.audio[i]));
        int at = (int)(1.55 * 16000); /* file time 3.05: the 400 -> 500 Hz step, 50 ms late */
        int before = zero_crossings(m.audio + at - 800, 800), after = zero_crossings(m.audio + at, 800);
        CHECK(peak == 0 && abs(before - 40) <= 2 && abs(after - 50) <= 2,
              "gap.mkv: silent gap (peak %g), step after it at 3.05 s (%d, %d crossings)", peak, before, after);
        vr_media_free(&m);
    } else
        CHECK(0, "gap.mkv: %s", vr_error());

    /* a shot cut at 2.0 s shows up as the one cut peak, at frame 20 */
    o = opts(1, 0, 0, 0);
    if (vr_media_decode(fixture("good/cut.mp4"), &o, &m) == 0) {
        float *d = malloc(sizeof(float) * VR_VDESC_DIM * m.n_frames);
        int idx[8], n = -1;
        if (d && vr_video_descriptors(m.frames, m.n_frames, m.width, m.height, d) == 0)
            n = vr_cut_peaks(d, m.n_frames, 0.3f, idx, 8);
        CHECK(n == 1 && idx[0] == 20, "cut.mp4: %d cut peaks, first at %d (want one at 20)", n, n > 0 ? idx[0] : -1);
        free(d);
        vr_media_free(&m);
    } else
        CHECK(0, "cut.mp4: %s", vr_error());

    /* decoding is deterministic */
    vr_media a, b;
    o = opts(1, 1, 0.5, 2);
    int ra = vr_media_decode(fixture("good/vp9_opus.webm"), &o, &a);
    int rb = vr_media_decode(fixture("good/vp9_opus.webm"), &o, &b);
    CHECK(ra == 0 && rb == 0 && !memcmp(a.frames, b.frames, (size_t)a.n_frames * 64 * 64 * 3) &&
              !memcmp(a.audio, b.audio, (size_t)a.n_samples * sizeof(float)),
          "two decodes of the same window are identical");
    vr_media_free(&a);
    vr_media_free(&b);
}

/* ---- bad inputs: an error naming the file and the reason ---- */

static void expect_error_at(const char *path, vr_media_opts o, const char *reason, const char *reason2) {
    vr_media m;
    memset(&m, 0x5a, sizeof m);
    vr_clear_error();
    int rc = vr_media_decode(path, &o, &m);
    const char *e = vr_error();
    CHECK(rc == -1, "%s: decode should fail (%s)", path, reason);
    CHECK(!strncmp(e, path, strlen(path)) && strstr(e, reason) && (!reason2 || strstr(e, reason2)),
          "%s: error \"%s\" should name the file and say \"%s\"%s%s", path, e, reason, reason2 ? " and " : "",
          reason2 ? reason2 : "");
    CHECK(m.frames == NULL && m.audio == NULL && m.n_frames == 0 && m.n_samples == 0, "%s: failed decode leaves no data",
          path);
    if (rc == 0) vr_media_free(&m);
}

static void expect_error(const char *name, vr_media_opts o, const char *reason, const char *reason2) {
    expect_error_at(fixture(name), o, reason, reason2);
}

static void expect_ok(const char *name, vr_media_opts o, int n_frames, int64_t n_samples) {
    vr_media m;
    int rc = vr_media_decode(fixture(name), &o, &m);
    CHECK(rc == 0 && m.n_frames == n_frames && m.n_samples == n_samples, "%s: %s (%d frames, %lld samples)", name,
          rc ? vr_error() : "ok", m.n_frames, (long long)m.n_samples);
    if (rc == 0) vr_media_free(&m);
}

static void test_bad_inputs(void) {
    vr_media_opts av = opts(1, 1, 0, 0), v = opts(1, 0, 0, 0), a = opts(0, 1, 0, 0);
    char missing[1100];
    snprintf(missing, sizeof missing, "%s/no/such/clip.mp4", g_dir);
    expect_error_at(missing, av, "No such file", NULL);
    expect_error_at(g_dir, av, "is a directory", NULL);
    expect_error_at("/dev/urandom", av, "not a regular file", NULL);
    expect_error("bad/text.mp4", av, "not a media file", "Invalid data found");
    expect_error("bad/empty.mp4", av, "empty file", NULL);
    expect_error("bad/no_audio.mp4", av, "no audio stream", NULL);
    expect_error("bad/audio_only.m4a", av, "no video stream", NULL);
    expect_error("bad/one_frame.mp4", v, "single frame", NULL);
    expect_error("bad/zero_frames.mp4", v, "no audio or video stream", NULL);
    expect_error("bad/still.png", v, "still image", NULL);
    expect_error("bad/short_2s.mp4", opts(1, 1, 0, 3), "window 0.0-3.0 s ends after the media (2.0 s)", NULL);
    expect_error("bad/short_2s.mp4", opts(1, 1, 2.5, 0), "after the end of the media", NULL);
    expect_error("bad/fps1000.mkv", v, "frame rate 1000 fps", NULL);
    expect_error("bad/rate400.wav", a, "sample rate 400 Hz", NULL);
    expect_error("bad/truncated.mp4", av, "decoded only", "truncated");
    expect_error("bad/truncated.mp4", a, "audio: decoded only", "truncated");
    expect_error("bad/truncated.mkv", av, "decoded only", "truncated");
    expect_error("bad/truncated_noindex.mp4", av, "not a media file", NULL);
    /* options that make no sense */
    vr_media_opts o = av;
    o.fps = 0;
    expect_error("good/h264_aac.mp4", o, "output frame rate 0", NULL);
    o = av;
    o.sample_rate = 100;
    expect_error("good/h264_aac.mp4", o, "output sample rate 100", NULL);
    expect_error("good/h264_aac.mp4", opts(1, 1, -1, 2), "bad window", NULL);
    expect_error("good/h264_aac.mp4", opts(0, 0, 0, 0), "neither video nor audio", NULL);

    /* the same files are fine when the missing part is not wanted */
    expect_ok("bad/no_audio.mp4", v, 40, 0);
    expect_ok("bad/audio_only.m4a", a, 0, 64000);
    expect_ok("bad/short_2s.mp4", opts(1, 1, 0.5, 1.5), 15, 24000);
    expect_ok("bad/short_2s.mp4", opts(1, 1, 0, 2.05), 21, 32800); /* 50 ms over: padded */
    expect_ok("good/vfr.mkv", v, 30, 0); /* the rate is measured: ~50 fps, not the 1 kHz clock */

    vr_media_info info;
    CHECK(vr_media_probe(fixture("bad/text.mp4"), &info) == -1 && strstr(vr_error(), "not a media file"),
          "probe of a text file: %s", vr_error());

    /* damaged in the middle: full lengths, or an error that says so (never a crash) */
    vr_media m;
    const char *dpath = fixture("damaged.ts");
    if (vr_media_decode(dpath, &av, &m) == 0) {
        CHECK(m.n_frames == lround(m.duration * 10) && m.n_samples == llround(m.duration * 16000),
              "damaged.ts: exact lengths");
        vr_media_free(&m);
    } else
        CHECK(strstr(vr_error(), "damaged") || strstr(vr_error(), "gaps"), "damaged.ts: %s", vr_error());
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_media_read FIXTURES_DIR (made by tests/data/make_bad_media.sh)\n");
        return 2;
    }
    g_dir = argv[1];
    for (size_t i = 0; i < sizeof g_clips / sizeof *g_clips; i++) test_good_clip(&g_clips[i]);
    test_known_content();
    test_bad_inputs();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
