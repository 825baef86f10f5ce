/* rhythm.h — onsets, tempo and beats from a log-mel spectrogram (plain C, no libtorch).
 *
 * Used by the evaluation's beat-alignment and tempo metrics and to check SynthV2M's ground truth,
 * so each step follows a published, widely used definition (librosa 0.10 / Ellis 2007); where
 * we deviate, the function says so and why.
 *
 * Frames are at `fps` frames per second (50 for the vr_mel defaults); frame t is time t / fps.
 * Functions that return lists write at most `cap` items and return how many they found (call
 * again with a larger buffer if that exceeds cap), or -1 with vr_error() on bad arguments.
 */
#ifndef VR_RHYTHM_H
#define VR_RHYTHM_H

#ifdef __cplusplus
extern "C" {
#endif

/* Frames the onset envelope is delayed by, for the vr_mel defaults (n_fft 1024, hop 320). */
#define VR_ONSET_DELAY_DEFAULT 1

/* Spectral flux of log-mel [T][n_mels] (as librosa.onset.onset_strength with lag 1, max_size 1,
 * aggregate mean): env[t + delay] = mean_b max(0, logmel[t][b] - logmel[t-1][b]), 0 elsewhere.
 * A centred window sees an onset about half a window before its frame centre, so `delay`
 * (librosa: n_fft / (2*hop) frames, VR_ONSET_DELAY_DEFAULT for our front end) moves the peak
 * back onto the onset. env is non-negative, in nats per bin; consumers normalise it. */
int vr_onset_strength(const float *logmel, int T, int n_mels, int delay, float *env);

/* Global tempo in BPM (Ellis 2007; librosa.feature.tempo with a whole-clip window): the
 * autocorrelation of the mean-removed envelope (smoothed by a 20-ms Gaussian first, so a
 * period between two whole frames is not split and lost) over lags for 30..300 BPM, weighted by a
 * log-normal prior centred at prior_bpm (<= 0: 120) with a one-octave standard deviation; the
 * best lag is refined by parabolic interpolation (integer lags alone are 4 % apart at 120 BPM
 * and 50 fps). Returns 0 when the envelope holds no onsets, -1 on bad arguments. */
double vr_tempo_estimate(const float *env, int T, double fps, double prior_bpm);

/* Ellis (2007) dynamic-programming beat tracker, as librosa.beat.beat_track (tightness 100 is
 * librosa's default; bpm <= 0: estimate with vr_tempo_estimate, prior 120). Writes beat times in
 * seconds. Differs from librosa in one place: librosa's final trim drops the last beat that
 * passes its threshold (an off-by-one slice); we keep it. */
int vr_beat_track(const float *env, int T, double fps, double bpm, double tightness, double *beat_times, int cap);

/* Onset times in seconds by peak picking (librosa.onset.onset_detect's rule, with a symmetric
 * local-maximum window): the envelope, scaled to [0, 1], must be the maximum within ±30 ms,
 * exceed the mean within ±100 ms by 0.07, and come at least 30 ms after the previous onset. */
int vr_onset_times(const float *env, int T, double fps, double *times, int cap);

#ifdef __cplusplus
}
#endif
#endif
