/* video_desc.h — per-frame video descriptors that need no learned weights (DESIGN §2.2, kind a).
 *
 * Input: frames as decoded by vr_media_decode, [n_frames][height][width][3] RGB uint8, at a fixed
 * rate. Output: [n_frames][VR_VDESC_DIM] floats, each scaled to roughly [0, 1] (or [-1, 1]):
 *
 *   dim    name            meaning
 *   0-2    mean_r/g/b      mean of R, G, B / 255
 *   3-5    std_r/g/b       2 x standard deviation of R, G, B / 255 (a half-black, half-white frame gives 1)
 *   6      luma            mean brightness, BT.601 Y = 0.299 R + 0.587 G + 0.114 B, / 255
 *   7      luma_std        2 x standard deviation of Y / 255
 *   8      saturation      mean HSV saturation (max - min) / max, 0 for black
 *   9-10   hue_cos/sin     (1/N) sum over pixels of saturation x (cos h, sin h), where h is the hue angle
 *                          in the chroma plane, atan2(sqrt(3) (G - B), 2R - G - B) (0 = red, 120° = green,
 *                          240° = blue; within a few degrees of HSV hue). A circular mean weighted by
 *                          saturation: grey frames give (0, 0), a saturated single hue a unit vector.
 *   11-26  grid_RC         mean Y / 255 over a 4x4 grid of cells, row-major (grid_00 is top-left)
 *   27     motion          motion energy: 4 x mean |Y_t - Y_{t-1}| / 255 (0 for frame 0; 4 x keeps
 *                          ordinary motion near 0.1-1; a cut between unrelated frames gives ~1)
 *   28-29  motion_dx/dy    global motion from frame t-1 to t in pixels per frame, divided by width/height
 *                          (+x: content moves right, +y: down); 0 for frame 0. Exhaustive search of
 *                          integer shifts within ±4 px on a luma image box-downsampled to at most 64 px
 *                          per side (so ±4 px there = ±4·k px at full size: about ±6 % of the frame
 *                          per frame; faster motion saturates there), refined to sub-pixel by a
 *                          parabola through the matching costs. 0 for frames under 4 px a side.
 *   30     cut             shot-cut score: 1 − histogram intersection of consecutive frames' joint
 *                          4x4x4 RGB histograms, in [0, 1] (0 for frame 0)
 *
 * Plain C, no allocation per pixel; the loops over pixels vectorise.
 */
#ifndef VR_VIDEO_DESC_H
#define VR_VIDEO_DESC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VR_VDESC_DIM 31

/* Named offsets of the groups above. */
enum {
    VR_VDESC_MEAN_RGB = 0,
    VR_VDESC_STD_RGB = 3,
    VR_VDESC_LUMA = 6,
    VR_VDESC_LUMA_STD = 7,
    VR_VDESC_SAT = 8,
    VR_VDESC_HUE = 9,
    VR_VDESC_GRID = 11,
    VR_VDESC_MOTION = 27,
    VR_VDESC_DX = 28,
    VR_VDESC_DY = 29,
    VR_VDESC_CUT = 30,
};

/* Fill out[n_frames][VR_VDESC_DIM]. Returns 0, or -1 with vr_error() for bad arguments. */
int vr_video_descriptors(const uint8_t *frames, int n_frames, int width, int height, float *out);

/* The name of dimension i ("mean_r", "grid_23", "cut", ...), or NULL when i is out of range. */
const char *vr_video_descriptor_name(int i);

/* Frames whose cut score is a local maximum (>= the previous frame's, > the next one's) above
 * `threshold`, in increasing order. Writes at most `cap` indices to out_idx and returns how many
 * peaks there are (which may exceed cap), or -1 with vr_error() for bad arguments. */
int vr_cut_peaks(const float *desc, int n_frames, float threshold, int *out_idx, int cap);

/* Shot cuts, the detector the toolkit uses: a frame is a cut when its colour-histogram cut score
 * is a peak above VR_CUT_HIST_THRESHOLD (a change of palette), or when its motion energy spikes
 * to at least VR_CUT_MOTION_RATIO times the mean of its two neighbours on each side and is at
 * least VR_CUT_MOTION_MIN (a change of layout with similar colours, which histograms miss; the
 * ratio test, as PySceneDetect's adaptive detector, ignores steady fast motion). Same return
 * convention as vr_cut_peaks. On SynthV2M tiny (64 labelled cuts, 40 clips at 10 fps): 64 found
 * within one frame, 1 false alarm; the histogram rule alone at 0.3 finds 58. */
#define VR_CUT_HIST_THRESHOLD 0.3f
#define VR_CUT_MOTION_RATIO 3.0f
#define VR_CUT_MOTION_MIN 0.05f
int vr_shot_cuts(const float *desc, int n_frames, int *out_idx, int cap);

#ifdef __cplusplus
}
#endif
#endif
