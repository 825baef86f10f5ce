/* beats.h — rhythm and attribute metrics (DESIGN §2.6): beat alignment in both literature
 * definitions, beat F-measure, tempo accuracy, and key/mode from audio. Plain C; only the
 * `vrobin rhythm-check` command uses the log-mel front end (libtorch) for its onset envelope.
 *
 * Beat alignment (BCS/BHS). Both families (D2M-GAN, Zhu et al. 2022; LORIS, Yu et al. 2023)
 * score a clip on one-second bins, as their released code does: bin i covers [i, i+1) s, the
 * clip has ceil(duration) bins, and a bin "holds a beat" when at least one beat time falls in
 * it (several beats in a bin count once). With G = bins holding a generated beat, T = bins
 * holding a true beat and H = bins holding both (a "hit" is the same 1-s bin, not a tolerance
 * window):
 *   LORIS (primary):  BCS = H / G (precision),  BHS = H / T (recall),  F1 = 2 BCS BHS / (BCS + BHS)
 *   D2M-GAN:          BCS = G / T (can exceed 1), BHS = H / T
 * Edge cases (documented, never a division by zero): LORIS's code scores 0 when its
 * denominator is 0, and so do we (no generated beats: BCS 0; no true beats: BHS 0 — a clip
 * without true beats scores 0 even if the music is silent too); F1 is 0 when BCS + BHS = 0.
 * D2M-GAN's code divides by T unguarded, so with T = 0 both D2M scores are undefined: NAN
 * here, and such clips are left out of the D2M means (and counted). Over a set of clips both
 * papers average BCS and BHS clip by clip; LORIS's F1 is the F1 of the two means (its code),
 * not the mean of per-clip F1s.
 * What the beats are: in the papers, "generated beats" are onsets picked from the generated
 * music and "true beats" onsets of the reference music (librosa.onset.onset_detect, LORIS's
 * parameters: vr_beats_music_onsets). For video alignment we take as true beats the video's
 * beats (vr_beats_video_times: shot cuts + motion peaks); the functions take any two lists.
 *
 * Beat F-measure (mir_eval.beat.f_measure): an estimated beat matches a reference beat within
 * ±window seconds (mir_eval's default 70 ms, inclusive), each beat used at most once (a maximum
 * matching), F = 2 P R / (P + R) with P = matches / |est|, R = matches / |ref|. As mir_eval,
 * F = 0 when either list is empty; unlike mir_eval.beat.evaluate, beats before 5 s are kept.
 *
 * Tempo (Gouyon et al. 2006, MIREX): Acc1 — the estimate lies within 4 % of the reference BPM;
 * Acc2 — within 4 % of 1, 2, 1/2, 3 or 1/3 times the reference (octave and triple errors
 * forgiven; the 4 % is of the multiplied reference). An estimate <= 0 ("no tempo found") is
 * inaccurate, not an error.
 *
 * Key and mode: a chroma vector from an STFT (periodic Hann, n_fft the smallest power of two
 * >= 0.5 s of samples — 8192 at 16 kHz — hop n_fft/4, frames wholly inside the clip, a single
 * zero-padded frame for a shorter clip). Each bin with 55 Hz <= f <= min(2 kHz, sr/2) adds its
 * magnitude |X| to pitch class round(12 log2(f / 440 Hz)) + 9 mod 12 (0 = C); the chroma is the
 * sum over frames (scaled to max 1). Magnitude and the 2-kHz ceiling (fewer upper harmonics,
 * which pull towards the fifth) were the best of the variants tried on 120 SynthV2M clips.
 * The key is the best Pearson correlation of the chroma with the Krumhansl–Kessler (1982)
 * major and minor profiles rotated to each of the 12 tonics (ties: major first, lower tonic).
 */
#ifndef VR_BEATS_H
#define VR_BEATS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- beat alignment ---- */

typedef struct vr_beat_align {
    int n_bins;                        /* ceil(duration) one-second bins */
    int gen, truth, hits;              /* bins holding a generated beat, a true beat, both */
    double loris_bcs, loris_bhs, loris_f1;
    double d2m_bcs, d2m_bhs;           /* NAN when truth == 0 (undefined in D2M-GAN) */
} vr_beat_align;

/* Score one clip. Beat times are seconds in [0, ceil(duration)), in any order; duration > 0.
 * Returns 0, or -1 with vr_error() (non-finite or out-of-range time, bad duration). */
int vr_beats_align(const double *gen, int n_gen, const double *truth, int n_truth, double duration,
                   vr_beat_align *out);

typedef struct vr_beat_align_mean {
    int clips;                         /* clips averaged for LORIS */
    double loris_bcs, loris_bhs, loris_f1;
    int d2m_clips;                     /* clips with true beats (D2M-GAN's scores are defined) */
    double d2m_bcs, d2m_bhs;           /* NAN when d2m_clips == 0 */
} vr_beat_align_mean;

/* Means over n >= 1 clips as the papers compute them (see above). Returns 0 or -1. */
int vr_beats_align_mean(const vr_beat_align *clips, int n, vr_beat_align_mean *out);

/* The definitions above in one paragraph, for every table and JSON that reports the numbers. */
extern const char VR_BEATS_ALIGN_DEFINITION[];

/* Music onsets as both papers pick them (LORIS's librosa.onset.onset_detect call: wait 1,
 * delta 0.2, pre/post max and avg 3 frames of 512 samples at 22.05 kHz, i.e. 70 ms), on our
 * envelope (vr_onset_strength) at `fps`: with the envelope scaled to [0, 1], frame t is an
 * onset when it is the maximum of [t - w, t + w), at least 0.2 above the mean of that window
 * (w = round(0.07 s x fps), >= 1), and more than one frame after the previous onset.
 * One deviation: librosa scales between the envelope's minimum and maximum; we scale to its
 * 99th percentile (its maximum if that equals the minimum) and clip above, because one outsized
 * onset — the first note after digital silence is ~6x the others in SynthV2M renders —
 * otherwise hides every other onset (with min-max scaling, 4 of SynthV2M tiny's 24 train clips
 * kept a single onset). The local-maximum test uses the unclipped envelope.
 * Writes at most cap times (seconds) and returns how many there are, or -1 with vr_error(). */
#define VR_BEATS_ONSET_DELTA 0.2
#define VR_BEATS_ONSET_WINDOW_S 0.0697 /* 3 x 512 / 22050 */
#define VR_BEATS_ONSET_CLIP_Q 0.99     /* the quantile the envelope is scaled to */
int vr_beats_music_onsets(const float *env, int T, double fps, double *times, int cap);

/* ---- video beats ---- */

/* Motion peaks: frames t >= 1 whose motion energy (descriptor VR_VDESC_MOTION) is strictly
 * greater than every earlier frame and at least every later frame within ±VR_VBEAT_WINDOW_S
 * (so peaks are more than that far apart), at least VR_VBEAT_MEDIAN_RATIO times the clip's
 * median motion (over frames 1..n-1: what stands out of this clip's usual motion) and at least
 * VR_VBEAT_MOTION_MIN (a still video has no beats in its noise). Measured on SynthV2M tiny's
 * train split (24 clips, 459 labelled beats) from 24-fps decodes: 405 peaks, 89 % within
 * 0.1 s of a beat; at 10 fps the same rule finds 58 % (chance is ~40 %), so decode at >= 24 fps
 * for video beats. Same return convention as vr_cut_peaks (video_desc.h). */
#define VR_VBEAT_WINDOW_S 0.2
#define VR_VBEAT_MEDIAN_RATIO 1.2f
#define VR_VBEAT_MOTION_MIN 0.01f
int vr_beats_motion_peaks(const float *desc, int n_frames, double fps, int *out_idx, int cap);

/* Video beat times in seconds (frame t is t / fps), increasing: the shot cuts of vr_shot_cuts
 * plus the motion peaks, less motion peaks within VR_VBEAT_WINDOW_S of a cut (a cut's own
 * motion spike). desc: [n_frames][VR_VDESC_DIM] from vr_video_descriptors. Writes at most cap
 * and returns how many there are, or -1 with vr_error(). */
int vr_beats_video_times(const float *desc, int n_frames, double fps, double *times, int cap);

/* ---- beat F-measure ---- */

#define VR_BEATS_F_WINDOW 0.07 /* seconds, mir_eval's default */
/* F-measure of est against ref (both sorted, non-decreasing, finite, >= 0): in [0, 1], or -1 with
 * vr_error() on bad input. */
double vr_beats_f_measure(const double *ref, int n_ref, const double *est, int n_est, double window);

/* ---- tempo ---- */

#define VR_TEMPO_TOLERANCE 0.04
/* 1 or 0; -1 with vr_error() when ref is not a finite positive BPM or est is not finite. */
int vr_tempo_acc1(double est, double ref);
int vr_tempo_acc2(double est, double ref);

typedef struct vr_tempo_summary {
    int clips, acc1, acc2;             /* counts */
    double acc1_rate, acc2_rate;       /* acc / clips */
    double mean_abs_err;               /* mean |est - ref| in BPM (no octave folding) */
} vr_tempo_summary;
/* Over n >= 1 clips. Returns 0 or -1 (naming the clip index) with vr_error(). */
int vr_tempo_summarize(const double *est, const double *ref, int n, vr_tempo_summary *out);

/* ---- key and mode ---- */

typedef struct vr_key {
    int key;                           /* tonic pitch class 0..11 (0 = C), -1 when the chroma is flat */
    int minor;                         /* 0 major, 1 minor */
    double corr;                       /* Pearson correlation with the winning profile (0 if flat) */
    double chroma[12];                 /* the clip's chroma, max 1 (all 0 for silence) */
} vr_key;

/* Chroma of mono wave[n] (n >= 1) at sample_rate (>= 1000 Hz) as defined above. Returns 0, or -1
 * with vr_error() (non-finite sample, bad size or rate). */
int vr_key_chroma(const float *wave, int64_t n, int sample_rate, double chroma[12]);
/* Krumhansl–Kessler key of a chroma. A chroma without contrast (all equal, e.g. silence) gives
 * key -1, corr 0: "no key", which callers count as wrong, not as an error. Returns 0 or -1. */
int vr_key_from_chroma(const double chroma[12], vr_key *out);
/* Both steps. Returns 0 or -1 with vr_error(). */
int vr_key_detect(const float *wave, int64_t n, int sample_rate, vr_key *out);
/* "C", "C#", "D", ..., "B" for 0..11; "none" otherwise. */
const char *vr_key_name(int key);

/* ---- the command ---- */

/* `vrobin rhythm-check <synthv2m_dir> [--split test-id] [--max N] [--json OUT]` (argv[0] is
 * "rhythm-check"): the analysis above on a SynthV2M folder's ground-truth renders against its
 * labels, as a Markdown table on stdout (and JSON with every clip). Per clip: audio at 16 kHz ->
 * log-mel (vr_mel, 50 fps) -> onset envelope -> tempo (prior 120 BPM), beats (vr_beat_track),
 * onsets (vr_beats_music_onsets); key from the waveform; video at 24 fps -> descriptors -> video
 * beats. Alignment is scored on the music's bins; true beats after them are dropped, as LORIS
 * cuts the reference to the generated length. Returns 0, 1 (a clip or the folder failed; each
 * message names it, and the table covers the other clips) or 2 (usage). */
int vr_cmd_rhythm_check(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
