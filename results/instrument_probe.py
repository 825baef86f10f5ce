#!/usr/bin/python3
"""A second opinion on instrument accuracy that does not use vrobin's tagger.

Per clip: |STFT|^2 (1024-point Hann, hop 256 at 16 kHz) summed in 48 log-spaced bands (40 Hz-7.8 kHz),
ln(x + 1e-8) minus its overall mean (loudness), then the mean and std of each band over frames: 96
numbers. A shrinkage LDA (within-class covariance 0.7 W + 0.3 I on standardised features) is fitted
on the first N_TRAIN clips of SYNTH/train.jsonl and classifies (a) the first N_TEST reference clips
of SYNTH/test-id.jsonl, its ceiling, and (b) the wavs `vrobin eval` wrote for the same clips
(WAV_DIR/<id>.wav). Crude on purpose: it hears the spectral envelope only.

A set can miss the reference's timbres and still carry its captions' instruments in another form (a
shift the classifier fitted on real music cannot follow). So each set, the reference's test clips
included, is also scored within itself: leave-one-out, the same LDA (shrinkage 0.5, fewer clips)
fitted on the set's other clips with their captions' instruments as labels, beside the mean of 20
runs with the labels shuffled (chance, as this classifier reaches it on this many clips). Within-set
accuracy at the shuffled level: the set's spectra do not depend on the instrument asked for.
WAV_DIR:MANIFEST takes the labels from MANIFEST (JSONL with id and labels.instrument; e.g. the
intent benchmark's swapped captions) instead of test-id.jsonl.

usage: /usr/bin/python3 results/instrument_probe.py SYNTH N_TRAIN N_TEST [WAV_DIR[:MANIFEST] ...]
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


def lda_fit(Z, y, shrink):
    """Class means and the inverse of the shrunk within-class covariance of standardised features Z."""
    classes = sorted(set(y))
    means = np.stack([Z[y == k].mean(0) for k in classes])
    within = np.cov((Z - means[[classes.index(v) for v in y]]).T)
    return classes, means, np.linalg.inv((1 - shrink) * within + shrink * np.eye(Z.shape[1]))


def lda_predict(model, z):
    """The class of lda_fit's model nearest to standardised features z (Mahalanobis distance)."""
    classes, means, inv = model
    return classes[int(np.argmin([(z - m) @ inv @ (z - m) for m in means]))]


def leave_one_out(X, y, shrink=0.5):
    """Accuracy of predicting each clip's label from an LDA fitted on the others."""
    hits = 0
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        mu, sd = X[keep].mean(0), X[keep].std(0) + 1e-6
        hits += lda_predict(lda_fit((X[keep] - mu) / sd, y[keep], shrink), (X[i] - mu) / sd) == y[i]
    return hits / len(y)


def within_set(name, X, labels):
    y = np.array(labels)
    rng = np.random.default_rng(0)
    shuffled = [leave_one_out(X, rng.permutation(y)) for _ in range(20)]
    print(f"{name}: within the set, leave-one-out {leave_one_out(X, y):.3f} (labels shuffled: "
          f"{np.mean(shuffled):.3f} +- {np.std(shuffled):.3f}; {len(y)} clips)")


def read(path, music=True):
    """A JSONL manifest's clips, each with an id and labels.instrument (and music, unless music=False);
    anything else ends the run naming the file and line."""
    try:
        with open(path) as f:
            rows = [json.loads(line) for line in f]
    except (OSError, ValueError) as e:
        sys.exit(f"{path}: not a readable JSONL manifest ({e})")
    for n, c in enumerate(rows, 1):
        if not (isinstance(c, dict) and "id" in c and isinstance(c.get("labels"), dict) and "instrument" in c["labels"]
                and (not music or isinstance(c.get("music"), str))):
            sys.exit(f"{path}:{n}: expected a clip with 'id', 'labels.instrument'{' and music' if music else ''}")
    return rows


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    synth = sys.argv[1]
    if not (sys.argv[2].isdigit() and sys.argv[3].isdigit()):
        sys.exit(f"N_TRAIN {sys.argv[2]!r}, N_TEST {sys.argv[3]!r}: expected two clip counts (integers >= 0)"
                 f"\n\n{__doc__}")
    n_train, n_test = int(sys.argv[2]), int(sys.argv[3])
    train = read(os.path.join(synth, "train.jsonl"))[:n_train]
    test = read(os.path.join(synth, "test-id.jsonl"))[:n_test]
    sets = []  # (WAV_DIR, ids with a wav there, the instrument each asked for): checked before any audio is read
    for arg in sys.argv[4:]:
        d, _, manifest = arg.partition(":")
        want = {c["id"]: c["labels"]["instrument"] for c in (read(manifest, music=False) if manifest else test)}
        ids = [c["id"] for c in test if c["id"] in want and os.path.exists(os.path.join(d, c["id"] + ".wav"))]
        if not ids:
            sys.exit(f"{d}: none of the {len(test)} test clips has a wav here (expected <id>.wav)")
        sets.append((d, ids, [want[i] for i in ids]))
    X = np.stack([features(os.path.join(synth, c["music"])) for c in train])
    labels = [c["labels"]["instrument"] for c in train]
    mu, sd = X.mean(0), X.std(0) + 1e-6
    model = lda_fit((X - mu) / sd, np.array(labels), 0.3)

    def predict(f):
        return lda_predict(model, (f - mu) / sd)

    Xt = np.stack([features(os.path.join(synth, c["music"])) for c in test])
    truth = [c["labels"]["instrument"] for c in test]
    ok = [predict(f) == t for f, t in zip(Xt, truth)]
    print(f"{len(model[0])} classes, fitted on {len(train)} train clips; reference test-id clips: "
          f"accuracy {np.mean(ok):.3f} ({len(ok)} clips)")
    within_set("reference test-id clips", Xt, truth)
    for d, ids, asked in sets:
        Xg = np.stack([features(os.path.join(d, i + ".wav")) for i in ids])
        print(f"{d}: accuracy {np.mean([predict(f) == a for f, a in zip(Xg, asked)]):.3f} ({len(ids)} clips)")
        within_set(d, Xg, asked)


if __name__ == "__main__":
    main()
