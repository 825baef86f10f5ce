"""The Python/PyTorch peer of `vrobin generate`'s model stages (issue 9): the Video-Robin model
written in plain torch (tests/python/models_reference.py's blocks), generating one clip the way a
careful PyTorch user would: torch.no_grad, a KV cache for the planner and RITE, the CFG branches
of LocDiT as one batch of 2, Euler steps. Same weights, same video features, same caption and
the same sampling noise (the C side's per-clip generator is a libtorch CPU generator seeded with
the clip's seed: torch.Generator().manual_seed(seed) draws the same numbers), so the latent it
makes is compared with the C toolkit's (max abs difference reported).

Inputs: the folder written by `bench_generate VIDEO CONFIG --dump DIR` (weights.safetensors,
features.f32, latent.f32, case.json). Stages timed like the C side's: planner (text/video
encoders, prefix prefill, audio-history encoding, planner steps, FSQ), rite, locdit.

usage: bench_generate_py.py DUMP_DIR [--repeats N] [--batch B] [--json OUT]
(--batch: B copies of the clip with seeds seed..seed+B-1, generated together; clip 0 is compared.)
"""
import argparse
import ctypes
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
import models_reference as ref  # noqa: E402

ref.EXACT_GELU = False  # plain float32 F.gelu, as a user of torch would write it
import st_io  # noqa: E402


class KV:
    """Per-layer key/value cache [1, H, S, D], grown by concatenation."""

    def __init__(self):
        self.k = self.v = None

    def add(self, k, v):
        self.k = k if self.k is None else torch.cat([self.k, k], dim=2)
        self.v = v if self.v is None else torch.cat([self.v, v], dim=2)


def attend_cached(P, name, x, heads, cache, key_ok=None):
    """Attention of the new rows x [B, T, C] over the cache plus themselves (causal among them)."""
    B, T, C = x.shape
    D = C // heads
    qkv = ref.linear(P, name + ".qkv", x).reshape(B, T, 3, heads, D).permute(2, 0, 3, 1, 4)
    cache.add(qkv[1], qkv[2])
    scores = (qkv[0] @ cache.k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
    if key_ok is not None:
        scores = scores.masked_fill(~key_ok, float("-inf"))
    y = torch.softmax(scores, dim=-1) @ cache.v
    return ref.linear(P, name + ".proj", y.transpose(1, 2).reshape(B, T, C))


def block_cached(P, name, x, heads, cache, key_ok=None):
    h = x + attend_cached(P, name + ".attn", ref.layer_norm(P, name + ".norm1", x), heads, cache, key_ok)
    return h + ref.mlp(P, name + ".mlp", ref.layer_norm(P, name + ".norm2", h))


def dit_velocity(P, cfg, ctx, x, t, cond):
    """LocDiT velocity for the rows of x [N, F, M] (ctx [N, F, M], t float, cond [N, d])."""
    N, Fr = x.shape[0], x.shape[1]
    h = ref.linear(P, "dit.in", torch.cat([ctx, x], dim=1)) + P["dit.pos"]
    temb = ref.linear(P, "dit.t_fc2", F.silu(ref.linear(P, "dit.t_fc1", ref.sinusoid_embed(torch.full((N,), t * 1000.0), cfg["d"]))))
    act = F.silu(temb + cond)
    for i in range(cfg["dit_layers"]):
        h = ref.dit_block(P, f"dit.blocks.{i}", h, act, cfg["heads"])
    shift, scale = ref.linear(P, "dit.final_ada", act)[:, None, :].chunk(2, dim=-1)
    return ref.linear(P, "dit.out", ref.modulate(h[:, Fr:], shift, scale))


def generate(P, cfg, case, features, times, B=1):
    """B copies of the clip (sampling seeds seed..seed+B-1, as bench_generate --batch) -> [B, T, M]."""
    d, heads, Fr, M = cfg["d"], cfg["heads"], cfg["patch_frames"], case["M"]
    n_patch = case["T"] // Fr
    steps, scale = case["steps"], case["cfg_scale"]
    gens = [torch.Generator().manual_seed(case["seed"] + i) for i in range(B)]
    t0 = time.perf_counter()
    # prefix: [caption tokens][video frames], then the planner's prefill
    pieces = []
    if cfg["use_text"]:
        text = np.frombuffer(case["text"].encode(), dtype=np.uint8)[None]
        ids, valid = ref.text_tokens(text, np.array([text.shape[1]]))
        pieces.append((ref.text_encoder(P, cfg, ids, valid) + P["planner.type"][0]).expand(B, -1, -1))
    Tv = 0
    if cfg["use_video"]:
        Tv = features.shape[0]
        v = ref.video_encoder(P, features[None].expand(B, -1, -1))
        pieces.append(v + ref.sinusoid_table(np.arange(Tv), d) + P["planner.type"][1])
    caches = [KV() for _ in range(cfg["planner_layers"])]
    if pieces:
        x = torch.cat(pieces, dim=1)
        for i in range(cfg["planner_layers"]):  # one caption for all: every prefix token is real
            x = block_cached(P, f"planner.blocks.{i}", x, heads, caches[i])
    rite_caches = [KV() for _ in range(cfg["rite_layers"])]
    null = P["dit.null"][None].expand(B, -1)
    out = torch.zeros(B, n_patch, Fr, M)
    prev = torch.zeros(B, Fr, M)
    dt = 1.0 / steps
    t1 = time.perf_counter()
    times["planner"] += t1 - t0
    for k in range(n_patch):
        t0 = time.perf_counter()
        a = P["audio.bos"][None, None].expand(B, 1, -1) if k == 0 else ref.linear(P, "audio.proj", prev.reshape(B, 1, Fr * M))
        pos = k * Tv / n_patch if Tv else float(k)
        x = a + ref.sinusoid_table([pos], d) + P["planner.type"][2]
        for i in range(cfg["planner_layers"]):
            x = block_cached(P, f"planner.blocks.{i}", x, heads, caches[i])
        h = ref.layer_norm(P, "planner.norm", x)
        q = ref.fsq(P, cfg["fsq_levels"], h)[0] if cfg["quantizer"] == "fsq" else h
        t1 = time.perf_counter()
        if cfg["rite_layers"] > 0:
            x = q + ref.sinusoid_table([k], d)
            for i in range(cfg["rite_layers"]):
                x = block_cached(P, f"rite.blocks.{i}", x, heads, rite_caches[i])
            c = q + ref.linear(P, "rite.out", ref.layer_norm(P, "rite.norm", x))
        else:
            c = q
        c = c.reshape(B, d)
        t2 = time.perf_counter()
        # LocDiT: Euler from noise, the conditional and unconditional branches as one batch
        x = torch.cat([torch.randn((1, Fr, M), generator=g) for g in gens])
        ctx2, cond2 = torch.cat([prev, prev]), torch.cat([c, null])
        for i in range(steps):
            v = dit_velocity(P, cfg, ctx2, torch.cat([x, x]), i / steps, cond2)
            vc, vu = v[:B], v[B:]
            x = x + (vu + (vc - vu) * scale) * dt
        out[:, k] = x
        prev = x
        t3 = time.perf_counter()
        times["planner"] += t1 - t0
        times["rite"] += t2 - t1
        times["locdit"] += t3 - t2
    return out.reshape(B, n_patch * Fr, M)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dump")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--bf16", action="store_true",
                    help="run under torch.autocast(cpu, bfloat16): matmuls/linears in bf16 through oneDNN")
    a = ap.parse_args()
    torch.set_num_threads(1)  # the C side's policy: 1 torch thread, OpenBLAS's own threads
    libc = ctypes.CDLL("libc.so.6")  # and its malloc policy (core/runtime.h: vr_memory_policy)
    libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
    libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
    case = json.load(open(os.path.join(a.dump, "case.json")))
    cfg = dict(case["model"])
    tensors, _ = st_io.load(os.path.join(a.dump, "weights.safetensors"))
    P = {k: torch.from_numpy(v) for k, v in tensors.items()}
    feats = torch.from_numpy(np.fromfile(os.path.join(a.dump, "features.f32"), dtype=np.float32).reshape(case["frames"], case["Dv"]))
    c_latent = torch.from_numpy(np.fromfile(os.path.join(a.dump, "latent.f32"), dtype=np.float32).reshape(case["T"], case["M"]))
    best = None
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
        for _ in range(a.repeats):
            times = {"planner": 0.0, "rite": 0.0, "locdit": 0.0}
            lat = generate(P, cfg, case, feats, times, a.batch)[0]
            times["model"] = times["planner"] + times["rite"] + times["locdit"]
            if best is None or times["model"] < best["model"]:
                best = times
    diff = (lat.float() - c_latent).abs()
    res = {"seconds": best, "batch": a.batch, "autocast": "bf16" if a.bf16 else "off", "steps": case["steps"], "cfg_scale": case["cfg_scale"], "torch": torch.__version__,
           "torch_threads": torch.get_num_threads(), "max_abs_diff_vs_c": float(diff.max()),
           "max_abs_diff_first_patch": float(diff[: cfg["patch_frames"]].max()), "latent_abs_max": float(c_latent.abs().max())}
    print(json.dumps(res, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
