#!/usr/bin/python3
"""A second opinion on instrument accuracy that does not use vrobin's tagger.

Per clip: |STFT|^2 (1024-point Hann, hop 256 at 16 kHz) summed in 48 log-spaced bands (40 Hz-7.8 kHz),
ln(x + 1e-8) minus its overall mean (loudness), then the mean and std of each band over frames: 96
numbers. A shrinkage LDA (within-class covariance 0.7 W + 0.3 I on standardised features) is fitted
on the first N_TRAIN clips of SYNTH/train.jsonl and classifies (a) the first N_TEST reference clips
of SYNTH/test-id.jsonl, its ceiling, and (b) the wavs `vrobin eval` wrote for the same clips
(WAV_DIR/<id>.wav). Crude on purpose: it hears the spectral envelope only.

usage: /usr/bin/python3 results/instrument_probe.py SYNTH N_TRAIN N_TEST [WAV_DIR ...]
"""
import json
import os
import subprocess
import sys

import numpy as np

SR, NFFT, HOP = 16000, 1024, 256
FREQS = np.fft.rfftfreq(NFFT, 1 / SR)
EDGES = np.geomspace(40, 7800, 49)
BANDS = [(FREQS >= EDGES[i]) & (FREQS < EDGES[i + 1]) for i in range(48)]


def features(path):
    run = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "f32le", "-ac", "1", "-ar", str(SR), "-"],
                         capture_output=True)
    if run.returncode or not run.stdout:
        sys.exit(f"{path}: ffmpeg could not decode it as audio ({run.stderr.decode(errors='replace').strip()})")
    raw = run.stdout
    x = np.frombuffer(raw, dtype=np.float32)
    x = np.pad(x, (0, max(0, NFFT - len(x))))
    frames = np.lib.stride_tricks.sliding_window_view(x, NFFT)[::HOP] * np.hanning(NFFT)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    logb = np.log(np.stack([power[:, b].sum(1) for b in BANDS], 1) + 1e-8)
    logb -= logb.mean()
    return np.concatenate([logb.mean(0), logb.std(0)])


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    synth, n_train, n_test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

    def read(name):
        path = os.path.join(synth, name)
        try:
            with open(path) as f:
                return [json.loads(line) for line in f]
        except (OSError, ValueError) as e:
            sys.exit(f"{path}: not a readable JSONL manifest ({e})")

    train = read("train.jsonl")[:n_train]
    X = np.stack([features(os.path.join(synth, c["music"])) for c in train])
    labels = [c["labels"]["instrument"] for c in train]
    classes = sorted(set(labels))
    y = np.array([classes.index(v) for v in labels])
    mu, sd = X.mean(0), X.std(0) + 1e-6
    Z = (X - mu) / sd
    means = np.stack([Z[y == k].mean(0) for k in range(len(classes))])
    within = np.cov((Z - means[y]).T)
    inv = np.linalg.inv(0.7 * within + 0.3 * np.eye(within.shape[0]))

    def predict(f):
        z = (f - mu) / sd
        return classes[int(np.argmin([(z - m) @ inv @ (z - m) for m in means]))]

    test = read("test-id.jsonl")[:n_test]
    ok = [predict(features(os.path.join(synth, c["music"]))) == c["labels"]["instrument"] for c in test]
    print(f"{len(classes)} classes, fitted on {len(train)} train clips; reference test-id clips: "
          f"accuracy {np.mean(ok):.3f} ({len(ok)} clips)")
    for d in sys.argv[4:]:
        got = [(predict(features(os.path.join(d, c["id"] + ".wav"))), c["labels"]["instrument"]) for c in test
               if os.path.exists(os.path.join(d, c["id"] + ".wav"))]
        print(f"{d}: accuracy {np.mean([p == t for p, t in got]):.3f} ({len(got)} clips)")


if __name__ == "__main__":
    main()
