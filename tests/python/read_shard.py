"""The shard schema (data/SCHEMA.md) as h5py sees it.

The C test program writes a shard with known content (test_shard --write-known); we open it with
h5py and check dtypes (float16 included), shapes, chunking, attributes, UTF-8 strings, values and
the documented CRC-32 checksums. Run: read_shard.py PATH/TO/test_shard WORKDIR
"""
import json
import os
import subprocess
import sys
import zlib

import h5py
import numpy as np

N, T, D, TV, DV, FH, FW = 5, 40, 8, 6, 5, 4, 6
TEXT = ["warm strings, slow arpeggios", "", "café ♪ 音楽 🎵", 'line\nbreak "quoted"', "brass"]
LABELS = [{"tempo": 92, "key": "C minor"}, {}, {"tempo": 120}, {"instruments": ["piano", "flute"]}, {}]
NAMES = ["brightness", "saturation", "motion", "cut", "grid_0"]

failures = []
passes = [0]


def check(cond, what):
    passes[0] += 1
    if not cond:
        passes[0] -= 1
        failures.append(what)
        print("FAIL", what)


def known(i):
    t, d = np.meshgrid(np.arange(T), np.arange(D), indexing="ij")
    audio = (((i * 31 + t * 7 + d * 3) % 200) - 100) / 64.0
    t, d = np.meshgrid(np.arange(TV), np.arange(DV), indexing="ij")
    video = i + 0.5 * t + 0.25 * d
    t, y, x, c = np.meshgrid(np.arange(TV), np.arange(FH), np.arange(FW), np.arange(3), indexing="ij")
    frames = (i + t * 11 + y * 3 + x * 5 + c * 7) % 256
    return audio, video, frames


def main():
    binary, workdir = sys.argv[1], sys.argv[2]
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "known.h5")
    subprocess.run([binary, "--write-known", path], check=True)

    with h5py.File(path, "r") as f:
        a = f.attrs
        check(int(a["format_version"]) == 1, "format_version")
        check(int(a["n_clips"]) == N, "n_clips")
        check(float(a["audio_rate"]) == 50.0 and float(a["video_fps"]) == 10.0, "rates")
        check(int(a["sample_rate"]) == 16000 and int(a["normalised"]) == 1, "sample_rate, normalised")
        check(a["latent_kind"] == "logmel", "latent_kind is a str")
        check(len(a["manifest_sha256"]) == 64, "manifest_sha256")
        check(json.loads(a["builder_config"]) == {"fps": 10, "mel_bins": 8}, "builder_config is JSON")
        check(isinstance(a["vrobin_version"], str) and a["created_utc"].endswith("Z"), "version, created_utc")

        al, vf, fr = f["audio_latent"], f["video_feat"], f["frames"]
        check(al.dtype == np.float16 and al.shape == (N, T, D), f"audio_latent {al.dtype} {al.shape}")
        check(vf.dtype == np.float32 and vf.shape == (N, TV, DV), f"video_feat {vf.dtype} {vf.shape}")
        check(fr.dtype == np.uint8 and fr.shape == (N, TV, FH, FW, 3), f"frames {fr.dtype} {fr.shape}")
        check(al.chunks == (1, T, D) and vf.chunks == (1, TV, DV) and fr.chunks == (1, TV, FH, FW, 3),
              "one chunk per clip")
        check(list(vf.attrs["names"]) == NAMES, f"video_feat names {list(vf.attrs['names'])}")
        for name in ("text", "id", "labels_json"):
            info = h5py.check_string_dtype(f[name].dtype)
            check(info is not None and info.encoding == "utf-8" and info.length is None,
                  f"{name} holds variable-length UTF-8 strings")
        check(f["checksum"].dtype == np.uint32 and f["frames_checksum"].dtype == np.uint32, "checksum dtypes")
        mean, std = f["norm/audio_mean"][:], f["norm/audio_std"][:]
        check(mean.dtype == np.float32 and std.dtype == np.float32 and mean.shape == (D,), "norm dtypes")
        check(np.array_equal(mean, -5.0 + np.arange(D)) and np.array_equal(std, 2.0 + 0.5 * np.arange(D)), "norm")

        texts = f["text"].asstr()[...]
        ids = f["id"].asstr()[...]
        labels = f["labels_json"].asstr()[...]
        for i in range(N):
            audio, video, frames = known(i)
            check(np.array_equal(al[i].astype(np.float64), audio), f"clip {i} audio")
            check(np.array_equal(vf[i], video.astype(np.float32)), f"clip {i} video")
            check(np.array_equal(fr[i], frames.astype(np.uint8)), f"clip {i} frames")
            check(texts[i] == TEXT[i] and ids[i] == f"clip_{i}", f"clip {i} text {texts[i]!r} id {ids[i]!r}")
            check(json.loads(labels[i]) == LABELS[i], f"clip {i} labels {labels[i]!r}")
            # the documented checksum: CRC-32 (zlib) over the arrays' bytes, then each string + NUL
            blob = (al[i].astype("<f2").tobytes() + vf[i].astype("<f4").tobytes() + texts[i].encode() + b"\0"
                    + ids[i].encode() + b"\0" + labels[i].encode() + b"\0")
            check(zlib.crc32(blob) == int(f["checksum"][i]), f"clip {i} checksum")
            check(zlib.crc32(fr[i].tobytes()) == int(f["frames_checksum"][i]), f"clip {i} frames_checksum")
        # denormalise as SCHEMA.md says
        x = al[0].astype(np.float32) * std + mean
        check(np.allclose(x, known(0)[0] * std + mean), "denormalise")

    print(f"{passes[0]} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
