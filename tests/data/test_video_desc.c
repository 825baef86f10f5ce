/* test_video_desc.c — per-frame video descriptors on synthetic frames with known answers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/video_desc.h"
#include "tests/check.h"

#define NEAR(a, b, tol) (fabs((double)(a) - (double)(b)) <= (tol))

static uint8_t *alloc_frames(int n, int w, int h) { return calloc((size_t)n * w * h * 3, 1); }

static void fill(uint8_t *f, int w, int h, int r, int g, int b) {
    for (int p = 0; p < w * h; p++) f[3 * p] = (uint8_t)r, f[3 * p + 1] = (uint8_t)g, f[3 * p + 2] = (uint8_t)b;
}

/* A smooth, non-repeating texture; (ox, oy) translates it, so frame t drawn with offset t*(vx, vy)
 * moves by (vx, vy) pixels per frame. `tint` picks a palette. */
static void texture(uint8_t *f, int w, int h, double ox, double oy, int tint) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double u = x - ox, v = y - oy;
            double s = 0.5 + 0.2 * sin(0.31 * u + 0.17 * v) + 0.15 * cos(0.23 * u - 0.41 * v) +
                       0.1 * sin(0.071 * u * 0.9 + 0.053 * v * v * 0.02);
            s = s < 0 ? 0 : s > 1 ? 1 : s;
            uint8_t *px = f + 3 * (y * w + x);
            if (tint == 0) px[0] = (uint8_t)(40 * s), px[1] = (uint8_t)(90 * s + 40), px[2] = (uint8_t)(200 * s + 50);
            else px[0] = (uint8_t)(200 * s + 55), px[1] = (uint8_t)(120 * s), px[2] = (uint8_t)(30 * s);
        }
}

static void test_names(void) {
    int ok = 1;
    for (int i = 0; i < VR_VDESC_DIM; i++) {
        const char *n = vr_video_descriptor_name(i);
        if (!n || !*n) ok = 0;
        for (int j = 0; n && j < i; j++)
            if (!strcmp(n, vr_video_descriptor_name(j))) ok = 0;
    }
    CHECK(ok, "every dimension has a distinct name");
    CHECK(vr_video_descriptor_name(-1) == NULL && vr_video_descriptor_name(VR_VDESC_DIM) == NULL, "out of range");
    CHECK(!strcmp(vr_video_descriptor_name(VR_VDESC_CUT), "cut") &&
              !strcmp(vr_video_descriptor_name(VR_VDESC_GRID + 4 * 2 + 3), "grid_23") &&
              !strcmp(vr_video_descriptor_name(VR_VDESC_DX), "motion_dx"),
          "names match the offsets");
}

static void test_constant(void) {
    const int w = 32, h = 24, n = 5;
    uint8_t *fr = alloc_frames(n, w, h);
    for (int t = 0; t < n; t++) fill(fr + (size_t)t * w * h * 3, w, h, 200, 100, 50);
    float d[5 * VR_VDESC_DIM];
    CHECK(vr_video_descriptors(fr, n, w, h, d) == 0, "constant frames: %s", vr_error());
    double lum = (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255;
    double ang = atan2(sqrt(3) * 50, 2 * 200 - 100 - 50);
    for (int t = 0; t < n; t++) {
        const float *x = d + t * VR_VDESC_DIM;
        CHECK(NEAR(x[0], 200 / 255.0, 1e-5) && NEAR(x[1], 100 / 255.0, 1e-5) && NEAR(x[2], 50 / 255.0, 1e-5),
              "mean rgb %g %g %g", x[0], x[1], x[2]);
        CHECK(NEAR(x[3], 0, 1e-3) && NEAR(x[4], 0, 1e-3) && NEAR(x[5], 0, 1e-3) && NEAR(x[VR_VDESC_LUMA_STD], 0, 1e-3),
              "std of a constant frame is 0");
        CHECK(NEAR(x[VR_VDESC_LUMA], lum, 1e-5), "luma %g want %g", x[VR_VDESC_LUMA], lum);
        CHECK(NEAR(x[VR_VDESC_SAT], 0.75, 1e-5), "saturation %g want 0.75", x[VR_VDESC_SAT]);
        CHECK(NEAR(x[VR_VDESC_HUE], 0.75 * cos(ang), 1e-4) && NEAR(x[VR_VDESC_HUE + 1], 0.75 * sin(ang), 1e-4),
              "hue vector %g %g", x[VR_VDESC_HUE], x[VR_VDESC_HUE + 1]);
        int grid_ok = 1;
        for (int g = 0; g < 16; g++) grid_ok &= NEAR(x[VR_VDESC_GRID + g], lum, 1e-5);
        CHECK(grid_ok, "grid of a constant frame is its luma");
        CHECK(x[VR_VDESC_MOTION] == 0 && x[VR_VDESC_DX] == 0 && x[VR_VDESC_DY] == 0 && x[VR_VDESC_CUT] == 0,
              "static frames: no motion, no cut (frame %d: %g %g %g %g)", t, x[VR_VDESC_MOTION], x[VR_VDESC_DX],
              x[VR_VDESC_DY], x[VR_VDESC_CUT]);
    }
    free(fr);
}

static void test_hues_and_halves(void) {
    const int w = 16, h = 16;
    uint8_t *fr = alloc_frames(4, w, h);
    size_t fb = (size_t)w * h * 3;
    fill(fr, w, h, 255, 0, 0);
    fill(fr + fb, w, h, 0, 255, 0);
    fill(fr + 2 * fb, w, h, 128, 128, 128);
    for (int y = 0; y < h; y++) /* left half white, right half black */
        for (int x = 0; x < w; x++) memset(fr + 3 * fb + 3 * (y * w + x), x < w / 2 ? 255 : 0, 3);
    float d[4 * VR_VDESC_DIM];
    CHECK(vr_video_descriptors(fr, 4, w, h, d) == 0, "%s", vr_error());
    const float *red = d, *green = d + VR_VDESC_DIM, *grey = d + 2 * VR_VDESC_DIM, *half = d + 3 * VR_VDESC_DIM;
    CHECK(NEAR(red[VR_VDESC_HUE], 1, 1e-5) && NEAR(red[VR_VDESC_HUE + 1], 0, 1e-5), "red hue (1, 0): %g %g",
          red[VR_VDESC_HUE], red[VR_VDESC_HUE + 1]);
    CHECK(NEAR(green[VR_VDESC_HUE], -0.5, 1e-5) && NEAR(green[VR_VDESC_HUE + 1], sqrt(3) / 2, 1e-5),
          "green hue at 120 degrees: %g %g", green[VR_VDESC_HUE], green[VR_VDESC_HUE + 1]);
    CHECK(grey[VR_VDESC_SAT] == 0 && grey[VR_VDESC_HUE] == 0 && grey[VR_VDESC_HUE + 1] == 0, "grey has no hue");
    CHECK(NEAR(half[VR_VDESC_LUMA], 0.5, 1e-5) && NEAR(half[VR_VDESC_LUMA_STD], 1, 1e-4) &&
              NEAR(half[VR_VDESC_STD_RGB], 1, 1e-4),
          "half white: luma %g, std %g", half[VR_VDESC_LUMA], half[VR_VDESC_LUMA_STD]);
    int grid_ok = 1;
    for (int gy = 0; gy < 4; gy++)
        for (int gx = 0; gx < 4; gx++) grid_ok &= NEAR(half[VR_VDESC_GRID + gy * 4 + gx], gx < 2 ? 1 : 0, 1e-5);
    CHECK(grid_ok, "grid sees the white left half");
    /* the cut score between the constant frames: disjoint histograms -> 1 */
    CHECK(NEAR(green[VR_VDESC_CUT], 1, 1e-6), "red -> green cut score %g", green[VR_VDESC_CUT]);
    CHECK(green[VR_VDESC_MOTION] > 0.5, "red -> green motion energy %g", green[VR_VDESC_MOTION]);
    free(fr);
}

/* Content translated by (vx, vy) px per frame: motion_dx/dy ~ vx/width, vy/height. */
static void check_shift(int w, int h, double vx, double vy, double tol_px) {
    const int n = 4;
    uint8_t *fr = alloc_frames(n, w, h);
    for (int t = 0; t < n; t++) texture(fr + (size_t)t * w * h * 3, w, h, t * vx, t * vy, 0);
    float *d = malloc(sizeof(float) * n * VR_VDESC_DIM);
    CHECK(vr_video_descriptors(fr, n, w, h, d) == 0, "%s", vr_error());
    for (int t = 1; t < n; t++) {
        const float *x = d + t * VR_VDESC_DIM;
        CHECK(NEAR(x[VR_VDESC_DX] * w, vx, tol_px) && NEAR(x[VR_VDESC_DY] * h, vy, tol_px),
              "%dx%d shift (%g, %g) px: got (%.3f, %.3f) px", w, h, vx, vy, x[VR_VDESC_DX] * w, x[VR_VDESC_DY] * h);
        CHECK(x[VR_VDESC_MOTION] > 0.01, "moving content has motion energy (%g)", x[VR_VDESC_MOTION]);
        CHECK(x[VR_VDESC_CUT] < 0.2, "a pan is not a cut (%g)", x[VR_VDESC_CUT]);
    }
    free(d);
    free(fr);
}

static void test_cuts(void) {
    const int w = 48, h = 32, n = 20, cut = 10;
    uint8_t *fr = alloc_frames(n, w, h);
    /* a slow pan over a blue scene, then a red scene panning the other way */
    for (int t = 0; t < n; t++)
        texture(fr + (size_t)t * w * h * 3, w, h, t < cut ? t : -t, 0.5 * t, t < cut ? 0 : 1);
    float *d = malloc(sizeof(float) * n * VR_VDESC_DIM);
    CHECK(vr_video_descriptors(fr, n, w, h, d) == 0, "%s", vr_error());
    float worst_other = 0;
    for (int t = 0; t < n; t++)
        if (t != cut && d[t * VR_VDESC_DIM + VR_VDESC_CUT] > worst_other) worst_other = d[t * VR_VDESC_DIM + VR_VDESC_CUT];
    CHECK(d[cut * VR_VDESC_DIM + VR_VDESC_CUT] > 0.8, "cut score at the cut %g", d[cut * VR_VDESC_DIM + VR_VDESC_CUT]);
    CHECK(worst_other < 0.2, "cut score elsewhere <= %g", worst_other);
    int idx[4];
    int np = vr_cut_peaks(d, n, 0.3f, idx, 4);
    CHECK(np == 1 && idx[0] == cut, "one peak at frame %d (got %d peaks, first %d)", cut, np, np > 0 ? idx[0] : -1);
    /* two cuts, cap 1: the count still says 2 */
    for (int t = 15; t < n; t++) texture(fr + (size_t)t * w * h * 3, w, h, t, 0, 0);
    CHECK(vr_video_descriptors(fr, n, w, h, d) == 0, "%s", vr_error());
    np = vr_cut_peaks(d, n, 0.3f, idx, 1);
    CHECK(np == 2 && idx[0] == cut, "two peaks, first at %d (got %d, %d)", cut, np, idx[0]);
    np = vr_cut_peaks(d, n, 0.3f, idx, 4);
    CHECK(np == 2 && idx[1] == 15, "second peak at 15 (got %d)", np > 1 ? idx[1] : -1);
    CHECK(vr_cut_peaks(d, n, 1.5f, idx, 4) == 0, "nothing above an impossible threshold");
    free(d);
    free(fr);
}

/* The combined detector on hand-made descriptor tracks: steady fast motion is no cut, a motion
 * spike is one (even with no colour change), a palette change is one, a tiny spike is not. */
static void test_shot_cuts(void) {
    enum { n = 40 };
    float d[n * VR_VDESC_DIM] = {0};
    for (int t = 1; t < n; t++) d[t * VR_VDESC_DIM + VR_VDESC_MOTION] = 0.2f; /* steady pan */
    d[10 * VR_VDESC_DIM + VR_VDESC_MOTION] = 0.7f;                            /* layout change */
    d[20 * VR_VDESC_DIM + VR_VDESC_CUT] = 0.9f;                               /* palette change */
    for (int t = 25; t < n; t++) d[t * VR_VDESC_DIM + VR_VDESC_MOTION] = 0.005f; /* still shot */
    d[32 * VR_VDESC_DIM + VR_VDESC_MOTION] = 0.04f;                           /* flicker below the floor */
    int idx[8];
    int np = vr_shot_cuts(d, n, idx, 8);
    CHECK(np == 2 && idx[0] == 10 && idx[1] == 20, "cuts at 10 and 20 (got %d: %d %d)", np, np > 0 ? idx[0] : -1,
          np > 1 ? idx[1] : -1);
    CHECK(vr_cut_peaks(d, n, 0.3f, idx, 8) == 1, "the histogram rule alone sees only the palette change");
    CHECK(vr_shot_cuts(NULL, 3, idx, 8) == -1, "shot cuts: NULL descriptors");
}

static void test_bad_args(void) {
    float d[VR_VDESC_DIM];
    uint8_t px[3] = {1, 2, 3};
    vr_clear_error();
    CHECK(vr_video_descriptors(px, 1, 0, 1, d) == -1 && strstr(vr_error(), "bad arguments"), "zero width: %s",
          vr_error());
    CHECK(vr_video_descriptors(NULL, 1, 1, 1, d) == -1, "NULL frames");
    CHECK(vr_video_descriptors(px, 0, 1, 1, NULL) == 0, "no frames is fine");
    CHECK(vr_video_descriptors(px, 1, 1, 1, d) == 0 && NEAR(d[0], 1 / 255.0, 1e-6), "a 1x1 frame works");
    uint8_t *tall = alloc_frames(2, 1, 300); /* one pixel wide: no motion search, no crash */
    float d2[2 * VR_VDESC_DIM];
    CHECK(vr_video_descriptors(tall, 2, 1, 300, d2) == 0 && d2[VR_VDESC_DIM + VR_VDESC_DX] == 0, "a 1x300 frame: %s",
          vr_error());
    free(tall);
    CHECK(vr_cut_peaks(NULL, 3, 0.5f, NULL, 0) == -1, "cut peaks: NULL descriptors");
}

int main(void) {
    test_names();
    test_constant();
    test_hues_and_halves();
    check_shift(64, 64, 3, 0, 0.25);
    check_shift(64, 64, -2, 1, 0.25);
    check_shift(64, 48, 0, -3, 0.25);
    check_shift(160, 120, 3, -2, 0.6); /* downsampled 3x for the search: sub-pixel estimate */
    test_cuts();
    test_shot_cuts();
    test_bad_args();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
