"""Reference log-mel spectrograms for tests/data/test_mel.c, in float64 numpy.

Writes into OUTDIR: fb.f64 (the Slaney mel filterbank [64, 513]), for each test signal
<name>.f32 (the samples) and <name>.logmel.f64 ([T, 64]), and index.txt ("name n_samples T" per
line). The numpy STFT is first checked against torch.stft (center=True, reflect padding, periodic
Hann), so the reference means the same thing as the C code's libtorch STFT.

The filterbank follows librosa.filters.mel(sr, n_fft, n_mels, fmin=0, fmax=sr/2, htk=False,
norm='slaney') line by line (librosa itself is not installed here).

Run: mel_reference.py OUTDIR   (exits non-zero on any failure, including a missing module)
"""
import os
import sys

import numpy as np
import torch

SR, N_FFT, HOP, N_MELS = 16000, 1024, 320, 64
FLOOR = 1e-5


def hz_to_mel(f):
    """Slaney: linear below 1 kHz (200/3 Hz per mel), logarithmic above."""
    f = np.asanyarray(f, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep, f / f_sp)


def mel_to_hz(m):
    m = np.asanyarray(m, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filterbank(sr, n_fft, n_mels, fmin=0.0, fmax=None):
    fmax = sr / 2 if fmax is None else fmax
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, len(fftfreqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]  # Slaney area normalisation
    return weights


def stft(x, n_fft=N_FFT, hop=HOP):
    """Centred STFT as torch.stft(center=True, pad_mode='reflect', window=hann(periodic))."""
    x = np.pad(np.asarray(x, dtype=np.float64), n_fft // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    n_frames = 1 + (len(x) - n_fft) // hop
    frames = np.stack([x[t * hop:t * hop + n_fft] * window for t in range(n_frames)])
    return np.fft.rfft(frames, axis=1).T  # [F, frames]


def logmel(x, fb):
    T = len(x) // HOP
    power = np.abs(stft(x)) ** 2
    return np.log(np.maximum(fb @ power[:, :T], FLOOR)).T  # [T, M]


def signals():
    rng = np.random.default_rng(20240607)
    t = lambda n: np.arange(n) / SR  # noqa: E731
    out = {}
    n = 2 * SR  # log sweep 50 Hz -> 7.5 kHz
    f0, f1 = 50.0, 7500.0
    k = np.log(f1 / f0) / (n / SR)
    out["sweep"] = 0.5 * np.sin(2 * np.pi * f0 * (np.exp(k * t(n)) - 1) / k)
    out["noise"] = 0.3 * rng.standard_normal(3 * SR // 2)
    chord = sum(np.sin(2 * np.pi * f * t(SR) + p) for f, p in ((220.0, 0.1), (277.18, 1.0), (329.63, 2.0), (440.0, 0.5)))
    out["chord"] = 0.2 * chord * np.minimum(1, 20 * t(SR))  # short fade-in: an onset
    out["silence"] = np.zeros(SR)
    out["quiet_odd"] = 1e-3 * rng.standard_normal(SR + 123)  # near the floor; n not a multiple of hop
    clicks = np.zeros(SR)
    clicks[[1000, 5000, 5001, 12345]] = [0.9, -0.5, 0.5, 1.0]
    out["clicks"] = clicks
    return {k: v.astype(np.float32) for k, v in out.items()}


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    failures = 0
    fb = mel_filterbank(SR, N_FFT, N_MELS)
    # sanity of the scale and filters: 1 kHz is mel 15, the scale round-trips, every filter is
    # non-empty and has unit area (trapezoid over its Hz support) up to sampling of the triangle
    ok = abs(hz_to_mel(1000.0) - 15.0) < 1e-12 and np.allclose(mel_to_hz(hz_to_mel([0, 500, 1000, 4000, 8000])), [0, 500, 1000, 4000, 8000])
    ok = ok and (fb.max(axis=1) > 0).all()
    area = fb.sum(axis=1) * SR / N_FFT
    print(f"filterbank: shape {fb.shape}, peak weight {fb.max():.5f}, filter areas {area.min():.3f}..{area.max():.3f}")
    if not ok or abs(np.median(area) - 1) > 0.05:
        print("FAIL: mel scale or filter normalisation")
        failures += 1
    fb.tofile(os.path.join(outdir, "fb.f64"))
    sigs = signals()
    with open(os.path.join(outdir, "index.txt"), "w") as index:
        for name, x in sigs.items():
            ref = torch.stft(torch.from_numpy(x.astype(np.float64)), N_FFT, HOP, N_FFT,
                             torch.hann_window(N_FFT, periodic=True, dtype=torch.float64), center=True,
                             pad_mode="reflect", normalized=False, onesided=True, return_complex=True).numpy()
            mine = stft(x)
            err = np.abs(ref - mine).max() / max(np.abs(ref).max(), 1e-30)
            if ref.shape != mine.shape or err > 1e-12:
                print(f"FAIL: {name}: numpy STFT differs from torch.stft (shape {mine.shape} vs {ref.shape}, rel err {err:.2e})")
                failures += 1
            lm = logmel(x, fb)
            x.tofile(os.path.join(outdir, name + ".f32"))
            lm.tofile(os.path.join(outdir, name + ".logmel.f64"))
            index.write(f"{name} {len(x)} {lm.shape[0]}\n")
            print(f"{name}: {len(x)} samples, {lm.shape[0]} frames, log-mel {lm.min():.2f}..{lm.max():.2f}, "
                  f"numpy vs torch STFT rel err {err:.1e}")
    print("reference written to", outdir)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
