/* video_desc.c — see video_desc.h. */
#include "data/video_desc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define GRID 4
#define HIST_BINS 64  /* joint 4x4x4 RGB */
#define SEARCH_MAX 4  /* ± pixels of global-motion search, on the downsampled luma */
#define SEARCH_SIDE 64 /* downsample so each side is at most this many pixels */

static const char *const g_names[VR_VDESC_DIM] = {
    "mean_r",  "mean_g",  "mean_b",  "std_r",   "std_g",   "std_b",   "luma",    "luma_std",
    "saturation", "hue_cos", "hue_sin", "grid_00", "grid_01", "grid_02", "grid_03", "grid_10",
    "grid_11", "grid_12", "grid_13", "grid_20", "grid_21", "grid_22", "grid_23", "grid_30",
    "grid_31", "grid_32", "grid_33", "motion",  "motion_dx", "motion_dy", "cut",
};

const char *vr_video_descriptor_name(int i) { return i >= 0 && i < VR_VDESC_DIM ? g_names[i] : NULL; }

/* Colour statistics, luma plane and histogram of one frame. */
static void colour_stats(const uint8_t *rgb, int npix, float *luma, int *hist, float *d) {
    double s[3] = {0}, s2[3] = {0}, sy = 0, sy2 = 0, ssat = 0, shc = 0, shs = 0;
    const float k3 = 0.8660254f; /* sqrt(3)/2 */
    memset(hist, 0, HIST_BINS * sizeof *hist);
    for (int p = 0; p < npix; p++) {
        float r = rgb[3 * p] * (1.f / 255), g = rgb[3 * p + 1] * (1.f / 255), b = rgb[3 * p + 2] * (1.f / 255);
        s[0] += r, s[1] += g, s[2] += b;
        s2[0] += r * r, s2[1] += g * g, s2[2] += b * b;
        float y = 0.299f * r + 0.587f * g + 0.114f * b;
        luma[p] = y;
        sy += y, sy2 += y * y;
        float mx = r > g ? r : g, mn = r < g ? r : g; /* not fmaxf: that is a libm call here */
        mx = mx > b ? mx : b, mn = mn < b ? mn : b;
        float sat = mx > 0 ? (mx - mn) / mx : 0.f;
        ssat += sat;
        float ca = r - 0.5f * (g + b), cb = k3 * (g - b), c = sqrtf(ca * ca + cb * cb);
        if (c > 0) shc += sat * ca / c, shs += sat * cb / c;
        hist[(rgb[3 * p] >> 6) * 16 + (rgb[3 * p + 1] >> 6) * 4 + (rgb[3 * p + 2] >> 6)]++;
    }
    double inv = 1.0 / npix;
    for (int c = 0; c < 3; c++) {
        double m = s[c] * inv;
        d[VR_VDESC_MEAN_RGB + c] = (float)m;
        d[VR_VDESC_STD_RGB + c] = (float)(2 * sqrt(fmax(0, s2[c] * inv - m * m)));
    }
    double my = sy * inv;
    d[VR_VDESC_LUMA] = (float)my;
    d[VR_VDESC_LUMA_STD] = (float)(2 * sqrt(fmax(0, sy2 * inv - my * my)));
    d[VR_VDESC_SAT] = (float)(ssat * inv);
    d[VR_VDESC_HUE] = (float)(shc * inv);
    d[VR_VDESC_HUE + 1] = (float)(shs * inv);
}

static void luma_grid(const float *luma, int w, int h, float *d) {
    for (int gy = 0; gy < GRID; gy++) {
        int y0 = gy * h / GRID, y1 = (gy + 1) * h / GRID;
        if (y1 <= y0) y1 = y0 + 1; /* frames smaller than the grid: cells share pixels */
        for (int gx = 0; gx < GRID; gx++) {
            int x0 = gx * w / GRID, x1 = (gx + 1) * w / GRID;
            if (x1 <= x0) x1 = x0 + 1;
            double s = 0;
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++) s += luma[y * w + x];
            d[VR_VDESC_GRID + gy * GRID + gx] = (float)(s / ((double)(y1 - y0) * (x1 - x0)));
        }
    }
}

/* Box-downsample the luma by k (the remainder rows/columns are dropped) to 8-bit, so the motion
 * search below runs on integer absolute differences (which vectorise; float sums do not). */
static void downsample(const float *luma, int w, int k, int dw, int dh, uint8_t *out) {
    float scale = 255.f / (float)(k * k);
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++) {
            float s = 0;
            for (int j = 0; j < k; j++)
                for (int i = 0; i < k; i++) s += luma[(y * k + j) * w + x * k + i];
            out[y * dw + x] = (uint8_t)(s * scale + 0.5f);
        }
}

/* Mean |cur(x, y) - prev(x - sx, y - sy)| over the interior [R, dw-R) x [R, dh-R). */
static float shift_cost(const uint8_t *cur, const uint8_t *prev, int dw, int dh, int R, int sx, int sy) {
    int64_t s = 0;
    int n = dw - 2 * R;
    for (int y = R; y < dh - R; y++) {
        const uint8_t *c = cur + y * dw + R, *p = prev + (y - sy) * dw + R - sx;
        int row = 0;
        for (int x = 0; x < n; x++) row += abs(c[x] - p[x]);
        s += row;
    }
    return (float)s / (float)((dw - 2 * R) * (dh - 2 * R));
}

/* Sub-pixel offset of a minimum from the costs left/at/right of it (a parabola's vertex). */
static float parabola(float cm, float c0, float cp) {
    float den = cm - 2 * c0 + cp;
    if (den <= 1e-12f) return 0.f;
    float o = 0.5f * (cm - cp) / den;
    return o < -0.5f ? -0.5f : o > 0.5f ? 0.5f : o;
}

static void global_motion(const uint8_t *cur, const uint8_t *prev, int dw, int dh, int R, float *mx, float *my) {
    float cost[2 * SEARCH_MAX + 1][2 * SEARCH_MAX + 1];
    int bx = 0, by = 0;
    for (int sy = -R; sy <= R; sy++)
        for (int sx = -R; sx <= R; sx++) cost[sy + R][sx + R] = shift_cost(cur, prev, dw, dh, R, sx, sy);
    /* ties (flat frames) keep the zero shift */
    float best = cost[R][R];
    for (int sy = -R; sy <= R; sy++)
        for (int sx = -R; sx <= R; sx++)
            if (cost[sy + R][sx + R] < best * (1 - 1e-5f)) best = cost[sy + R][sx + R], bx = sx, by = sy;
    float fx = bx, fy = by;
    if (bx > -R && bx < R) fx += parabola(cost[by + R][bx + R - 1], best, cost[by + R][bx + R + 1]);
    if (by > -R && by < R) fy += parabola(cost[by + R - 1][bx + R], best, cost[by + R + 1][bx + R]);
    *mx = fx, *my = fy;
}

int vr_video_descriptors(const uint8_t *frames, int n_frames, int width, int height, float *out) {
    if (n_frames < 0 || (n_frames > 0 && (!frames || !out)) || width < 1 || height < 1)
        return vr_fail("video descriptors: bad arguments (%d frames of %dx%d)", n_frames, width, height);
    if (n_frames == 0) return 0;
    int npix = width * height;
    int side = width > height ? width : height;
    int k = (side + SEARCH_SIDE - 1) / SEARCH_SIDE;
    int dw = width / k, dh = height / k;
    int R = ((dw < dh ? dw : dh) - 1) / 3; /* the compared interior keeps >= 1/3 of each side; */
    if (R > SEARCH_MAX) R = SEARCH_MAX;    /* 0 (no search) for frames only a few pixels across */

    float *luma = malloc(2 * (size_t)npix * sizeof(float));
    uint8_t *small = malloc(2 * (size_t)dw * dh + 1);
    int hist[2][HIST_BINS];
    if (!luma || !small) {
        free(luma);
        free(small);
        return vr_fail("video descriptors: out of memory for %dx%d frames", width, height);
    }
    for (int t = 0; t < n_frames; t++) {
        const uint8_t *rgb = frames + (size_t)t * npix * 3;
        float *d = out + (size_t)t * VR_VDESC_DIM;
        float *y = luma + (size_t)(t & 1) * npix, *y_prev = luma + (size_t)((t + 1) & 1) * npix;
        uint8_t *s = small + (size_t)(t & 1) * dw * dh, *s_prev = small + (size_t)((t + 1) & 1) * dw * dh;
        int *h = hist[t & 1], *h_prev = hist[(t + 1) & 1];

        colour_stats(rgb, npix, y, h, d);
        luma_grid(y, width, height, d);
        if (R > 0) downsample(y, width, k, dw, dh, s);
        d[VR_VDESC_MOTION] = d[VR_VDESC_DX] = d[VR_VDESC_DY] = d[VR_VDESC_CUT] = 0.f;
        if (t == 0) continue;

        double diff = 0;
        for (int p = 0; p < npix; p++) diff += fabsf(y[p] - y_prev[p]);
        d[VR_VDESC_MOTION] = (float)(4 * diff / npix);
        if (R > 0) {
            float mx, my;
            global_motion(s, s_prev, dw, dh, R, &mx, &my);
            d[VR_VDESC_DX] = mx * k / width;
            d[VR_VDESC_DY] = my * k / height;
        }
        int inter = 0;
        for (int b = 0; b < HIST_BINS; b++) inter += h[b] < h_prev[b] ? h[b] : h_prev[b];
        d[VR_VDESC_CUT] = 1.f - (float)inter / (float)npix;
    }
    free(luma);
    free(small);
    return 0;
}

int vr_cut_peaks(const float *desc, int n_frames, float threshold, int *out_idx, int cap) {
    if (n_frames < 0 || (n_frames > 0 && !desc) || cap < 0 || (cap > 0 && !out_idx))
        return vr_fail("cut peaks: bad arguments (%d frames, cap %d)", n_frames, cap);
    int n = 0;
    for (int t = 0; t < n_frames; t++) {
        float c = desc[(size_t)t * VR_VDESC_DIM + VR_VDESC_CUT];
        float prev = t > 0 ? desc[(size_t)(t - 1) * VR_VDESC_DIM + VR_VDESC_CUT] : -1.f;
        float next = t + 1 < n_frames ? desc[(size_t)(t + 1) * VR_VDESC_DIM + VR_VDESC_CUT] : -1.f;
        if (c > threshold && c >= prev && c > next) {
            if (n < cap) out_idx[n] = t;
            n++;
        }
    }
    return n;
}

int vr_shot_cuts(const float *desc, int n_frames, int *out_idx, int cap) {
    if (n_frames < 0 || (n_frames > 0 && !desc) || cap < 0 || (cap > 0 && !out_idx))
        return vr_fail("shot cuts: bad arguments (%d frames, cap %d)", n_frames, cap);
#define AT(t, dim) desc[(size_t)(t) * VR_VDESC_DIM + (dim)]
    int n = 0;
    for (int t = 1; t < n_frames; t++) {
        float c = AT(t, VR_VDESC_CUT), m = AT(t, VR_VDESC_MOTION);
        int hist_peak = c > VR_CUT_HIST_THRESHOLD && c >= AT(t - 1, VR_VDESC_CUT) &&
                        (t + 1 >= n_frames || c > AT(t + 1, VR_VDESC_CUT));
        /* frame 0 has no motion value, so neighbours start at frame 1 */
        double sum = 0;
        int cnt = 0;
        for (int j = t - 2; j <= t + 2; j++)
            if (j >= 1 && j < n_frames && j != t) {
                sum += AT(j, VR_VDESC_MOTION);
                cnt++;
            }
        int motion_spike = m >= VR_CUT_MOTION_MIN && cnt > 0 && m >= VR_CUT_MOTION_RATIO * (sum / cnt);
        if (hist_peak || motion_spike) {
            if (n < cap) out_idx[n] = t;
            n++;
        }
    }
#undef AT
    return n;
}
