/* mel.h — the default audio representation: a log-mel spectrogram, its Griffin-Lim inverse,
 * per-bin normalisation statistics, and a loudness normaliser for generated audio.
 *
 * Definition (what every shard's `audio_latent` holds before normalisation):
 *   X      = STFT(wave): n_fft 1024, win 1024 periodic Hann, hop sr/fps (320 at 16 kHz, 50 fps),
 *            center=True with reflect padding (as torch.stft);
 *   P      = |X|^2 (power);
 *   mel    = FB · P, FB the Slaney mel filterbank with area normalisation, fmin 0, fmax sr/2
 *            (= librosa.filters.mel(htk=False, norm='slaney'));
 *   logmel = ln(max(mel, 1e-5))  (natural log, so values are in nats; silence reads -11.51).
 * Frames: T = n_samples / hop exactly (10 s at 16 kHz → 500): frame t is centred on sample
 * t*hop; the centred STFT's extra last frame is dropped.
 *
 * Errors go through core/error.h (vr_error()); wrapper failures are forwarded with context.
 */
#ifndef VR_MEL_H
#define VR_MEL_H

#include <stdint.h>

#include "core/tt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VR_MEL_FLOOR 1e-5 /* mel power floor before the log */

typedef struct vr_mel {
    int sample_rate, n_fft, hop, win_length, n_mels, n_bins; /* n_bins = n_fft/2 + 1 */
    double fmin, fmax;
    float *fb;         /* [n_mels][n_bins] filterbank */
    double fb_row_sum; /* mean over filters of their summed weights (the inverse's starting scale) */
} vr_mel;

/* Defaults: hop = sample_rate / frames_per_second (must divide exactly), n_fft = win_length =
 * the smallest power of two >= 2*hop (1024 at 16 kHz / 50 fps), fmin 0, fmax sample_rate/2. */
int vr_mel_init(vr_mel *m, int sample_rate, int n_mels, int frames_per_second);
/* Every parameter explicit; win_length = n_fft. Needs hop <= n_fft/2 (for the inverse). */
int vr_mel_init_full(vr_mel *m, int sample_rate, int n_mels, int hop, int n_fft, double fmin, double fmax);
void vr_mel_free(vr_mel *m);

/* The filterbank alone, in double, row-major [n_mels][n_fft/2+1] (the test's oracle input). */
int vr_mel_filterbank(int sample_rate, int n_fft, int n_mels, double fmin, double fmax, double *out);
/* Slaney mel scale: linear (3 mels per 200 Hz) below 1 kHz, logarithmic above. */
double vr_hz_to_mel(double hz);
double vr_mel_to_hz(double mel);

/* wave: f32 [N] or [B, N] on any device, N >= n_fft. Returns log-mel [T, n_mels] or
 * [B, T, n_mels] (f32, same device), T = N / hop. Caller owns the result (scope rules of tt.h). */
tt_tensor *vr_mel_forward(const vr_mel *m, const tt_tensor *wave);
/* Plain-C convenience (the data builder's): out must hold (n / hop) * n_mels floats. Non-finite
 * samples are an error. Returns T or -1. */
int64_t vr_logmel(const vr_mel *m, const float *wave, int64_t n, float *out);

/* Log-mel [T, n_mels] or [B, T, n_mels] -> waveform [length] or [B, length].
 * Power is recovered by non-negative least squares under the Itakura-Saito divergence (30
 * multiplicative updates from a flat spectrum; the pseudo-inverse with negatives clamped fits
 * the mel far worse, see mel.c), phase by fast Griffin-Lim (momentum 0.99, as torchaudio) over
 * n_iter iterations. Log-mel values are clamped to [ln 1e-5, 30] first. length <= 0 means
 * T*hop; otherwise it must lie in [T*hop, (T+1)*hop) — the lengths that give T frames.
 * g seeds the initial random phase; NULL starts from zero phase (deterministic). */
tt_tensor *vr_mel_inverse(const vr_mel *m, const tt_tensor *logmel, int n_iter, int64_t length, tt_gen *g);

/* Per-bin normalisation statistics over a corpus: count/mean/m2 accumulate in double (Chan's
 * parallel form of Welford's update, one clip at a time, so millions of frames lose nothing);
 * vr_mel_stats_finish() fills the float mean/std that shards store. std is the population
 * standard deviation, floored at VR_MEL_STD_MIN so a constant bin (e.g. all-silent data)
 * normalises to 0 instead of dividing by zero. */
#define VR_MEL_STD_MIN 1e-3
typedef struct vr_mel_stats {
    int n_mels;
    int64_t count;        /* frames seen */
    double *acc_mean, *acc_m2;
    float *mean, *std;    /* valid after vr_mel_stats_finish() or vr_mel_stats_set() */
} vr_mel_stats;

int vr_mel_stats_init(vr_mel_stats *s, int n_mels);
void vr_mel_stats_free(vr_mel_stats *s);
/* Add T frames of a [T][n_mels] buffer; non-finite values are an error (nothing is added). */
int vr_mel_stats_add(vr_mel_stats *s, const float *logmel, int64_t T);
/* Fold another accumulator (e.g. another worker's) into s. */
int vr_mel_stats_merge(vr_mel_stats *s, const vr_mel_stats *other);
int vr_mel_stats_finish(vr_mel_stats *s);
/* Load stored mean/std (e.g. from a shard) to normalise with. */
int vr_mel_stats_set(vr_mel_stats *s, const float *mean, const float *std);
/* In place over [T][n_mels]: x = (x - mean) / std, and back. */
void vr_mel_normalize(const vr_mel_stats *s, float *x, int64_t T);
void vr_mel_denormalize(const vr_mel_stats *s, float *x, int64_t T);

/* Scale x so its RMS is target_dbfs (dB re full scale 1.0, e.g. -20), then lower the gain if
 * needed so no |sample| exceeds peak_limit_dbfs (e.g. -1). Digital silence (RMS < 1e-9) is left
 * as is. Non-finite samples or levels above 0 dBFS are errors. Returns 0 or -1. */
int vr_audio_normalize_rms(float *x, int64_t n, double target_dbfs, double peak_limit_dbfs);

#ifdef __cplusplus
}
#endif
#endif
