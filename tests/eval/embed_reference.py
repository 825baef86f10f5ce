"""Fixtures and reference embeddings for tests/eval/test_embed.c.

  embed_reference.py fixtures OUTDIR
      Writes into OUTDIR:
        wave.f32         a fixed 2.5-s test signal at 16 kHz (tones with envelopes + noise)
        wave48.f32 wave22.f32   the same resampled to 48 kHz and 22.05 kHz (scipy resample_poly)
        vggish.pt        a small VGGish-like TorchScript model (random weights, seed 0):
                         torch.stft -> fixed Slaney mel matrix -> log -> 3 x (conv3x3 + relu +
                         maxpool 2) -> linear to 128-D; input [B, 15360] (0.96 s), output [B, 128]
        vggish.f64       its embeddings of wave.f32 cut into 0.96-s windows with a 0.48-s hop [4, 128]
        frames.pt        the same front end, but a per-frame projection: output [B, T', 128]
        frames.f64       its embeddings mean-pooled over T' [4, 128]
        mel.f64          the "mel" backbone in float64 numpy (1-s windows, 0.5-s hop) [4, 256]
        rank1.pt tuple.pt batch1.pt nan.pt raises.pt   modules breaking the contract
        garbage.pt truncated.pt                          files that are not TorchScript
  embed_reference.py melstats FRAMES B T M OUT
      FRAMES holds float32 log-mel frames [B, T, M] (from the C front end); writes the "mel"
      backbone statistics of each window, float64 [B, 4M], to OUT.

The "mel" embedding of one window with log-mel frames x[t, m], t < T:
  [mean_t x, std_t x, mean_t dx, std_t dx], dx[t] = x[t+1] - x[t], population std (ddof 0).
Exits non-zero on any failure, including a missing module.
"""
import os
import sys

import numpy as np

SR = 16000
TS_WIN, TS_HOP = 15360, 7680      # 0.96 s, 0.48 s (VGGish's window)
MEL_WIN, MEL_HOP = 16000, 8000    # 1 s, 0.5 s (the mel backbone's defaults)


def windows(x, win, hop):
    n = 1 + (len(x) - win) // hop
    return np.stack([x[i * hop:i * hop + win] for i in range(n)])


def mel_stats(frames):
    """frames [B, T, M] float64 -> [B, 4M]."""
    d = np.diff(frames, axis=1)
    return np.concatenate([frames.mean(1), frames.std(1), d.mean(1), d.std(1)], axis=1)


def test_signal():
    rng = np.random.default_rng(7)
    t = np.arange(int(2.5 * SR)) / SR
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * np.exp(-1.5 * (t % 0.5))
    x += 0.2 * np.sin(2 * np.pi * 660 * t + 0.4) * (t > 0.8)
    x += 0.1 * np.sin(2 * np.pi * (1000 + 800 * t) * t)
    x += 0.02 * rng.standard_normal(len(t))
    return x.astype(np.float32)


def fixtures(out):
    import torch
    import torch.nn as nn
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import mel_reference as mr

    torch.manual_seed(0)
    os.makedirs(out, exist_ok=True)
    x = test_signal()
    x.tofile(os.path.join(out, "wave.f32"))
    from scipy.signal import resample_poly
    resample_poly(x.astype(np.float64), 3, 1).astype(np.float32).tofile(os.path.join(out, "wave48.f32"))
    resample_poly(x.astype(np.float64), 441, 320).astype(np.float32).tofile(os.path.join(out, "wave22.f32"))

    class FrontEnd(nn.Module):
        """VGGish's: 25-ms window, 10-ms hop, 64 Slaney mels, log(mel + 0.01)."""

        def __init__(self):
            super().__init__()
            self.register_buffer("window", torch.hann_window(400))
            self.register_buffer("fb", torch.tensor(mr.mel_filterbank(SR, 512, 64), dtype=torch.float32))

        def forward(self, wav):
            spec = torch.stft(wav, 512, hop_length=160, win_length=400, window=self.window, center=True,
                              return_complex=True).abs() ** 2            # [B, 257, T]
            return torch.log(torch.matmul(self.fb, spec) + 0.01)          # [B, 64, T]

    def convs():
        layers, c = [], 1
        for k in (16, 32, 64):
            layers += [nn.Conv2d(c, k, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            c = k
        return nn.Sequential(*layers)

    class TinyVGGish(nn.Module):
        def __init__(self):
            super().__init__()
            self.front, self.convs = FrontEnd(), convs()
            self.fc = nn.Linear(64 * 8 * 12, 128)   # [64 mels / 8, 97 frames / 8]

        def forward(self, wav):
            z = self.convs(self.front(wav).unsqueeze(1))                  # [B, 64, 8, 12]
            return self.fc(z.flatten(1))

    class PerFrame(nn.Module):
        def __init__(self):
            super().__init__()
            self.front, self.proj = FrontEnd(), nn.Linear(64, 128)

        def forward(self, wav):
            return torch.tanh(self.proj(self.front(wav).transpose(1, 2)))  # [B, T, 128]

    class Rank1(nn.Module):
        def forward(self, wav):
            return wav.sum(1)

    class Tuple(nn.Module):
        def forward(self, wav):
            return wav[:, :8], wav[:, 8:16]

    class Batch1(nn.Module):
        def forward(self, wav):
            return wav[:, :8].mean(0, keepdim=True)

    class NaNs(nn.Module):
        def forward(self, wav):
            return wav[:, :8] * float("nan")

    class Raises(nn.Module):
        def forward(self, wav):
            return wav.reshape(wav.shape[0], 7, -1)

    def save(module, name):
        m = torch.jit.script(module.eval())
        m.save(os.path.join(out, name))
        return m

    with torch.no_grad():
        for module, name, win, hop in ((TinyVGGish(), "vggish", TS_WIN, TS_HOP), (PerFrame(), "frames", TS_WIN, TS_HOP)):
            m = save(module, name + ".pt")
            emb = m(torch.from_numpy(windows(x, win, hop)))
            if emb.dim() == 3:
                emb = emb.mean(1)
            assert emb.shape == (4, 128) and torch.isfinite(emb).all(), emb.shape
            emb.double().numpy().tofile(os.path.join(out, name + ".f64"))
    for module, name in ((Rank1(), "rank1"), (Tuple(), "tuple"), (Batch1(), "batch1"), (NaNs(), "nan"),
                         (Raises(), "raises")):
        save(module, name + ".pt")

    rng = np.random.default_rng(1)
    with open(os.path.join(out, "garbage.pt"), "wb") as f:
        f.write(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with open(os.path.join(out, "vggish.pt"), "rb") as f:
        whole = f.read()
    with open(os.path.join(out, "truncated.pt"), "wb") as f:
        f.write(whole[:len(whole) // 2])

    # the mel backbone end to end in float64: each 1-s window's centred STFT, T = 16000 / 320 frames
    wins = windows(x.astype(np.float64), MEL_WIN, MEL_HOP)
    fb = mr.mel_filterbank(SR, 1024, 64)
    frames = []
    for w in wins:
        power = np.abs(mr.stft(w, 1024, 320)) ** 2                        # [513, T + 1]
        frames.append(np.log(np.maximum(fb @ power, mr.FLOOR)).T[:MEL_WIN // 320])
    mel_stats(np.stack(frames)).tofile(os.path.join(out, "mel.f64"))


def melstats(path, b, t, m, out):
    frames = np.fromfile(path, dtype=np.float32)
    assert frames.size == b * t * m, (frames.size, b, t, m)
    mel_stats(frames.reshape(b, t, m).astype(np.float64)).tofile(out)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "fixtures":
        fixtures(sys.argv[2])
    elif len(sys.argv) == 7 and sys.argv[1] == "melstats":
        melstats(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    else:
        sys.exit(__doc__)
