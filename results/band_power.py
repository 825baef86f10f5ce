#!/usr/bin/python3
# Made the band table of results/reproduce_small.md ("Why: exposure bias"): usage: band_power.py SYSTEM_DIR...
# Mean log band power (nats) and mean |frame-to-frame change| per band of each system's generated wavs.
import glob, sys
import numpy as np, scipy.io.wavfile as w, scipy.signal as ss
edges = [0, 250, 500, 1000, 2000, 4000, 8000]
for name in sys.argv[1:]:
    M, D = [], []
    for f in sorted(glob.glob(name + "/*.wav")):
        sr, x = w.read(f)
        x = x.astype(np.float64) / (32768 if np.abs(x).max() > 2 else 1)
        fr, _, Z = ss.stft(x, sr, nperseg=1024, noverlap=1024 - 320)
        P = np.abs(Z) ** 2
        b = np.log(np.array([P[(fr >= lo) & (fr < hi)].sum(0) for lo, hi in zip(edges, edges[1:])]) + 1e-8)
        M.append(b.mean(1)); D.append(np.abs(np.diff(b, axis=1)).mean(1))
    print(f"| {name} | {len(M)} | " + " | ".join(f"{v:.2f}" for v in np.mean(M, 0)) + " | " +
          " | ".join(f"{v:.2f}" for v in np.mean(D, 0)[[0, 3, 5]]) + " |")
