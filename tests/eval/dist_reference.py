#!/usr/bin/env python3
"""Oracle for tests/eval/test_dist.c: numpy/scipy versions of eval/dist.h's metrics.

usage: dist_reference.py WORK_DIR
       dist_reference.py --mp WORK_DIR NAME   (the FAD of case NAME at 40 digits with mpmath, ~3 min;
                                               gives the constant test_dist.c holds for fad_illcond)
Reads WORK_DIR/cases.txt (one case a line, inputs as .npy beside it) and writes
WORK_DIR/oracle.txt, one "NAME.KEY v1 v2 ..." a line. The formulas are those of the public
references, written independently of the C code:
  FAD        google-research frechet_audio_distance / fadtk / pytorch-fid: scipy.linalg.sqrtm(S1 S2)
  FAD-inf    fadtk score_inf: int(np.linspace(min_n, N, steps)), np.polyfit(1/n, fad, 1), its r2
  prdc       clovaai/generative-evaluation-prdc compute_prdc (exact float64 distances, cdist)
  KL         audiocraft kl_divergence: torch kl_div((p_gen + 1e-6).log(), p_ref) summed over classes
  IS         audioldm_eval calculate_isc (no shuffle)
"""
import os
import sys

import numpy as np
import scipy.linalg
import scipy.spatial.distance
import scipy.special


def stats(x):
    return x.mean(axis=0), np.cov(x, rowvar=False)


def fad_sqrtm(mu1, s1, mu2, s2):
    covmean, _ = scipy.linalg.sqrtm(s1.dot(s2), disp=False)
    covmean = covmean.real
    diff = mu1 - mu2
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def fad_eigh(mu1, s1, mu2, s2):
    """The symmetric formulation in numpy, for comparison only."""
    w, v = np.linalg.eigh(s1)
    r = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    mu = np.linalg.eigvalsh(r @ s2 @ r)
    diff = mu1 - mu2
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(mu, 0, None)).sum()


def kth_radii(x, k):
    d = scipy.spatial.distance.cdist(x, x)
    return np.sort(d, axis=1)[:, k]  # the (k+1)-th smallest, self included (prdc get_kth_value(k + 1))


def prdc(real, fake, k):
    rr, rf = kth_radii(real, k), kth_radii(fake, k)
    d = scipy.spatial.distance.cdist(real, fake)
    precision = (d < rr[:, None]).any(axis=0).mean()
    recall = (d < rf[None, :]).any(axis=1).mean()
    density = (1.0 / k) * (d < rr[:, None]).sum(axis=0).mean()
    coverage = (d.min(axis=1) < rr).mean()
    return [precision, recall, density, coverage]


def kl_rows(p_gen, p_ref):
    return (scipy.special.xlogy(p_ref, p_ref) - p_ref * np.log(p_gen + 1e-6)).sum(axis=1)


def fad_mp(x1, x2):
    """FAD from float64 data with every step (statistics included) in 40-digit arithmetic."""
    import mpmath as mp
    mp.mp.dps = 40

    def mp_stats(x):
        n, d = x.shape
        cols = [[mp.mpf(float(v)) for v in x[:, j]] for j in range(d)]
        mu = [mp.fsum(c) / n for c in cols]
        cen = [[v - mu[j] for v in cols[j]] for j in range(d)]
        cov = mp.matrix(d, d)
        for a in range(d):
            for b in range(a, d):
                cov[a, b] = cov[b, a] = mp.fdot(cen[a], cen[b]) / (n - 1)
        return mu, cov

    (m1, s1), (m2, s2) = mp_stats(x1), mp_stats(x2)
    w, v = mp.eigsy(s1)
    r = v * mp.diag([mp.sqrt(max(wi, 0)) for wi in w]) * v.T
    ev = mp.eigsy(r * s2 * r, eigvals_only=True)
    d = s1.rows
    fad = (mp.fsum((a - b) ** 2 for a, b in zip(m1, m2)) + mp.fsum(s1[i, i] + s2[i, i] for i in range(d))
           - 2 * mp.fsum(mp.sqrt(max(e, 0)) for e in ev))
    return mp.nstr(fad, 20)


def main():
    if sys.argv[1] == "--mp":
        work, name = sys.argv[2], sys.argv[3]
        x1, x2 = (np.load(os.path.join(work, f"{name}_{i}.npy")) for i in (1, 2))
        print(f"{name}: FAD {fad_mp(x1, x2)} (40 digits)")
        return
    work = sys.argv[1]
    out = []

    def put(name, key, values):
        out.append(f"{name}.{key} " + " ".join(repr(float(v)) for v in np.ravel(values)))

    def load(f):
        return np.load(os.path.join(work, f))

    with open(os.path.join(work, "cases.txt")) as f:
        cases = [line.split() for line in f if line.strip()]
    for c in cases:
        kind, name, args = c[0], c[1], c[2:]
        if kind == "fad":
            x1, x2 = load(args[0]), load(args[1])
            (m1, s1), (m2, s2) = stats(x1), stats(x2)
            put(name, "fad", fad_sqrtm(m1, s1, m2, s2))
            put(name, "fad_eigh", fad_eigh(m1, s1, m2, s2))
            put(name, "rank1", np.linalg.matrix_rank(s1))
            put(name, "rank2", np.linalg.matrix_rank(s2))
            put(name, "cond1", np.linalg.cond(s1))
            put(name, "mu2", m2)
            put(name, "cov2", s2)
        elif kind == "fadinf":
            ref, gen, idx, ns = load(args[0]), load(args[1]), load(args[2]), load(args[3])
            min_n, steps = int(args[4]), int(args[5])
            mr, sr = stats(ref)
            fads, at = [], 0
            for n in ns:
                m, s = stats(gen[idx[at:at + n]])
                at += n
                fads.append(fad_sqrtm(mr, sr, m, s))
            fads = np.array(fads)
            xs = 1 / ns.astype(np.float64)
            slope, intercept = np.polyfit(xs, fads, 1)
            r2 = 1 - np.sum((fads - (slope * xs + intercept)) ** 2) / np.sum((fads - np.mean(fads)) ** 2)
            put(name, "ns", [int(n) for n in np.linspace(min_n, len(gen), steps)])
            put(name, "fads", fads)
            put(name, "slope", slope)
            put(name, "intercept", intercept)
            put(name, "r2", r2)
        elif kind == "perclip":
            mr, sr = stats(load(args[0]))
            put(name, "fad", [fad_sqrtm(mr, sr, *stats(load(f))) for f in args[1:]])
        elif kind == "prdc":
            put(name, "prdc", prdc(load(args[0]), load(args[1]), int(args[2])))
        elif kind == "kl":
            lg, lr = load(args[0]), load(args[1])
            per = kl_rows(scipy.special.softmax(lg, axis=1), scipy.special.softmax(lr, axis=1))
            put(name, "softmax", per.mean())
            put(name, "softmax_per_clip", per)
            per = kl_rows(scipy.special.expit(lg), scipy.special.expit(lr))
            put(name, "sigmoid", per.mean())
            put(name, "sigmoid_per_clip", per)
        elif kind == "is":
            logits, splits = load(args[0]), int(args[1])
            n = len(logits)
            p, logp = scipy.special.softmax(logits, axis=1), scipy.special.log_softmax(logits, axis=1)
            scores, per = [], np.zeros(n)
            for i in range(splits):
                lo, hi = i * n // splits, (i + 1) * n // splits
                q = p[lo:hi].mean(axis=0, keepdims=True)
                kl = (p[lo:hi] * (logp[lo:hi] - np.log(q))).sum(axis=1)
                per[lo:hi] = kl
                scores.append(np.exp(kl.mean()))
            put(name, "mean", np.mean(scores))
            put(name, "std", np.std(scores))
            put(name, "per_clip", per)
        else:
            sys.exit(f"dist_reference.py: unknown case kind '{kind}'")
    with open(os.path.join(work, "oracle.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
