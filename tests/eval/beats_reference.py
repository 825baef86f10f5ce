"""Oracle for tests/eval/test_beats.c: scores the cases the C test wrote, independently.

Usage: beats_reference.py WORKDIR OUT.json
Reads WORKDIR/cases.json and WORKDIR/signals.f32 and writes the expected values:
  align  the papers' own code logic: onsets binned by int(trunc(t)) into ceil(duration) bins;
         LORIS beat_scores (hit/cover, hit/total, 0 when a denominator is 0), D2M-GAN beat_scores
         (cover/total, hit/total; None where total is 0 and its code would divide by zero);
  f      mir_eval.beat.f_measure: a maximum bipartite matching of |ref - est| <= window
         (scipy's Hopcroft-Karp, as mir_eval.util.match_events), F from precision and recall;
  key    chroma from numpy's rfft (periodic Hann, n_fft 8192, hop 2048, 55 Hz..2 kHz,
         magnitude, pitch class round(12 log2(f/440)) + 9 mod 12) and Krumhansl-Kessler keys
         by np.corrcoef over np.roll-ed profiles.
Missing modules fail (an ImportError exits non-zero), they never skip.
"""
import json
import sys

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def bins(times, n):
    b = [0] * n
    for t in times:
        b[int(np.trunc(t))] = 1
    return b


def align(case):
    n = int(np.ceil(case["duration"]))
    gt, syn = bins(case["truth"], n), bins(case["gen"], n)
    total, cover = sum(gt), sum(syn)
    hit = sum(1 for i in range(n) if gt[i] == 1 and syn[i] == 1)
    return {
        "loris_bcs": hit / cover if cover else 0,
        "loris_bhs": hit / total if total else 0,
        "d2m_bcs": cover / total if total else None,
        "d2m_bhs": hit / total if total else None,
    }


def f_measure(ref, est, window):
    ref, est = np.asarray(ref, float), np.asarray(est, float)
    if len(ref) == 0 or len(est) == 0:
        return 0.0
    hits = np.abs(np.subtract.outer(ref, est)) <= window
    match = maximum_bipartite_matching(csr_matrix(hits.astype(np.int8)), perm_type="column")
    m = int((match >= 0).sum())
    p, r = m / len(est), m / len(ref)
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def key(x, sr):
    nfft = 1
    while nfft < sr // 2:
        nfft *= 2
    hop = nfft // 4
    win = np.hanning(nfft + 1)[:-1]
    f = np.arange(nfft // 2 + 1) * sr / nfft
    sel = (f >= 55.0) & (f <= min(2000.0, sr / 2))
    pc = (np.round(12 * np.log2(f[sel] / 440.0)).astype(int) + 9) % 12
    n_frames = 1 if len(x) <= nfft else 1 + (len(x) - nfft) // hop
    chroma = np.zeros(12)
    for i in range(n_frames):
        frame = np.zeros(nfft)
        seg = x[i * hop : i * hop + nfft].astype(np.float64)
        frame[: len(seg)] = seg
        chroma += np.bincount(pc, np.abs(np.fft.rfft(frame * win))[sel], 12)
    chroma /= chroma.max()
    best = (-2.0, 0, 0)
    for minor, prof in enumerate([KK_MAJOR, KK_MINOR]):
        for k in range(12):
            r = np.corrcoef(chroma, np.roll(prof, k))[0, 1]
            if r > best[0]:
                best = (r, k, minor)
    return {"key": best[1], "minor": best[2], "corr": best[0], "chroma": chroma.tolist()}


def main():
    work, out = sys.argv[1], sys.argv[2]
    cases = json.load(open(f"{work}/cases.json"))
    sig = np.fromfile(f"{work}/signals.f32", dtype=np.float32)
    n, sr = int(cases["signal_samples"]), int(cases["sample_rate"])
    assert len(sig) == n * cases["n_signals"], "signals.f32 has the wrong size"
    res = {
        "align": [align(c) for c in cases["align"]],
        "f": [f_measure(c["ref"], c["est"], cases["f_window"]) for c in cases["f"]],
        "key": [key(sig[i * n : (i + 1) * n], sr) for i in range(cases["n_signals"])],
    }
    json.dump(res, open(out, "w"))


if __name__ == "__main__":
    main()
