"""Check a `vrobin export` file from Python (numpy only, via tests/python/st_io.py): its tensors
are the EMA weights of the checkpoint it names, and its metadata is complete.

usage: check_export.py EXPORT.safetensors EMA.safetensors SHARD.h5 [bf16]
Prints "N passed, M failed" and exits non-zero on any failure."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import st_io  # noqa: E402

passed = failed = 0


def check(cond, msg):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", msg)


path, ema_path, shard = sys.argv[1], sys.argv[2], sys.argv[3]
bf16 = len(sys.argv) > 4 and sys.argv[4] == "bf16"
tensors, meta = st_io.load(path)
ema, ema_meta = st_io.load(ema_path)

check(meta.get("format") == "vrobin-export", "format is %r" % meta.get("format"))
check(meta.get("format_version") == "1", "format_version is %r" % meta.get("format_version"))
check(meta.get("dtype") == ("bf16" if bf16 else "f32"), "dtype is %r" % meta.get("dtype"))
for key in ("config", "norm_mean", "norm_std", "data", "model.kind", "step", "vrobin_version", "git_commit"):
    check(key in meta and meta[key] != "", "metadata %s missing" % key)
check(meta.get("step") == ema_meta.get("step"), "step %r, the checkpoint's is %r" % (meta.get("step"), ema_meta.get("step")))

cfg = json.loads(meta["config"])
check(cfg["model"]["kind"] == "robin", "config model.kind is %r" % cfg["model"]["kind"])
data = json.loads(meta["data"])
for key in ("fps", "frame_size", "sample_rate", "n_mels", "mel_fps", "clip_seconds"):
    check(isinstance(data.get(key), (int, float)) and data[key] > 0, "data.%s is %r" % (key, data.get(key)))

with h5py.File(shard, "r") as f:
    mean, std = f["norm/audio_mean"][()], f["norm/audio_std"][()]
nm, ns = np.array(json.loads(meta["norm_mean"]), np.float32), np.array(json.loads(meta["norm_std"]), np.float32)
check(nm.shape == mean.shape and np.allclose(nm, mean, rtol=1e-6, atol=1e-6), "norm_mean differs from the shard's")
check(ns.shape == std.shape and np.allclose(ns, std, rtol=1e-6, atol=1e-6), "norm_std differs from the shard's")
check(len(nm) == data["n_mels"], "norm_mean has %d values for %d mels" % (len(nm), data["n_mels"]))

check(sorted(tensors) == sorted(ema), "tensor names differ from the EMA checkpoint's")
for name, t in ema.items():
    e = tensors.get(name)
    if e is None or e.shape != t.shape:
        check(False, "%s: shape %s, EMA %s" % (name, None if e is None else e.shape, t.shape))
        continue
    tol = 1e-2 * (np.abs(t).max() + 1e-6) if bf16 else 0  # bf16 keeps 8 mantissa bits
    check(np.abs(e - t).max() <= tol, "%s differs from the EMA weights" % name)
check(any(n.startswith("video.") for n in tensors), "no video encoder weights (stage 2 export expected)")

config_json = os.path.splitext(path)[0] + ".config.json"
check(os.path.exists(config_json) and json.load(open(config_json)) == cfg, "%s missing or differs" % config_json)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
