"""Parity of the C model (models/*.c through core/tt) with the plain-torch reference
(tests/python/models_reference.py): FSQ, the LocDiT (an adaLN block, the velocity net and the CFG
Euler sampler), the planner, and the whole robin loss in three configurations.

Python makes the parameters and inputs, test_models_parity computes outputs and gradients, and we
require, per tensor, max |c - torch| / max |torch| <= 1e-5 in float32 (integer FSQ codes: equal).
The two sides must produce exactly the same set of gradients.
Run: parity_models.py PATH/TO/test_models_parity WORKDIR
"""
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import models_reference as ref  # noqa: E402
import st_io  # noqa: E402

TOL = 1e-5
FAILURES = 0
CHECKED = 0


def n(rng, *shape, std=1.0):
    return (rng.standard_normal(shape) * std).astype(np.float32)


def run_c(exe, work, tag, mode, params, inputs, meta):
    fp, fi, fo = (os.path.join(work, f"{tag}_{x}.safetensors") for x in ("params", "inputs", "out"))
    st_io.save(fp, params)
    st_io.save(fi, inputs, meta)
    r = subprocess.run([exe, mode, fp, fi, fo], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL {tag}: C program failed ({r.returncode}): {r.stderr.strip()}")
        sys.exit(1)
    return st_io.load(fo)[0]


def torch_inputs(params, inputs, host_only=()):
    """Everything as torch tensors; float ones track gradients unless the C side reads them on the host."""
    t = {}
    for k, v in {**params, **inputs}.items():
        x = torch.tensor(v)
        if v.dtype == np.float32 and k not in host_only:
            x.requires_grad_(True)
        t[k] = x
    return t


def grads(t):
    return {"grad." + k: v.grad.numpy() for k, v in t.items() if v.requires_grad and v.grad is not None}


def compare(tag, got, want, exact=()):
    global FAILURES, CHECKED
    extra, missing = set(got) - set(want), set(want) - set(got)
    if extra or missing:
        print(f"FAIL {tag}: C has extra {sorted(extra)}, lacks {sorted(missing)}")
        FAILURES += 1
    for k in sorted(set(got) & set(want)):
        a, b = np.asarray(got[k], dtype=np.float64), np.asarray(want[k], dtype=np.float64)
        CHECKED += 1
        if a.shape != b.shape:
            print(f"FAIL {tag} {k}: shape {a.shape} vs torch {b.shape}")
            FAILURES += 1
            continue
        if k in exact:
            bad = not np.array_equal(a, b)
            print(f"{'FAIL' if bad else 'ok  '} {tag:10s} {k:40s} {'differs' if bad else 'equal'}")
            FAILURES += bad
            continue
        rel = np.abs(a - b).max() / max(np.abs(b).max(), 1e-30) if a.size else 0.0
        bad = not rel <= TOL
        FAILURES += bad
        print(f"{'FAIL' if bad else 'ok  '} {tag:10s} {k:40s} max rel err {rel:.2e}")


def rounding_margin(bounded):
    """Distance of FSQ pre-rounding values from a rounding boundary (x.5): tiny float differences
    between C and torch must not flip a code, so inputs too close to one are redrawn."""
    b = bounded.detach().numpy().astype(np.float64)
    return np.abs(np.abs(b - np.floor(b)) - 0.5).min()


# ---------------------------------------------------------------------------- FSQ

def test_fsq(exe, work, rng):
    d, levels = 24, [8, 5, 2, 3]
    for attempt in range(20):
        params = ref.make_params(ref.fsq_shapes(d, len(levels)), rng, std=0.4)
        inputs = {"h": n(rng, 3, 7, d), "r": n(rng, 3, 7, d)}
        t = torch_inputs(params, inputs)
        if rounding_margin(ref.fsq_bounded(t, levels, t["h"])) > 1e-3:
            break
    meta = {"d": d, "n_levels": len(levels), **{f"level{i}": L for i, L in enumerate(levels)}}
    got = run_c(exe, work, "fsq", "fsq", params, inputs, meta)
    out, codes = ref.fsq(t, levels, t["h"])
    loss = (out * t["r"]).sum()
    loss.backward()
    usage, perplexity = ref.fsq_stats(levels, codes)
    want = {"out": out.detach().numpy(), "codes": codes.numpy(), "loss": loss.detach().numpy(),
            "usage": np.float64(usage), "perplexity": np.float64(perplexity), **grads(t)}
    compare("fsq", got, want, exact=("codes",))
    # the straight-through gradient: d loss / d h is as if rounding were the identity
    half_l, offset, shift, half_w = ref.fsq_constants(levels)
    h = t["h"].detach().clone().requires_grad_(True)
    z = torch.nn.functional.linear(h, t["fsq.down.weight"], t["fsq.down.bias"])
    smooth = torch.nn.functional.linear((torch.tanh(z + shift) * half_l - offset) / half_w, t["fsq.up.weight"],
                                        t["fsq.up.bias"])
    (smooth * t["r"]).sum().backward()
    compare("fsq-ste", {"grad.h": got["grad.h"]}, {"grad.h": h.grad.numpy()})
    # every code lies in its level's range
    global FAILURES, CHECKED
    L = np.array(levels)
    lo, hi = -(L // 2), L - 1 - L // 2
    ok = np.all(got["codes"] >= lo) and np.all(got["codes"] <= hi)
    CHECKED += 1
    FAILURES += not ok
    print(f"{'ok  ' if ok else 'FAIL'} fsq        codes within [{lo}, {hi}]")


# ---------------------------------------------------------------------------- LocDiT

def test_dit(exe, work, rng):
    d, heads, layers, frames, dim, N, B, steps, scale = 32, 4, 2, 3, 6, 5, 2, 4, 2.5
    params = ref.make_params(ref.dit_shapes(d, layers, frames, dim), rng)
    inputs = {"x": n(rng, N, 2 * frames, d), "cond": n(rng, N, d), "r_block": n(rng, N, 2 * frames, d),
              "ctx": n(rng, N, frames, dim), "xt": n(rng, N, frames, dim),
              "t": rng.uniform(0, 1, N).astype(np.float32), "c": n(rng, N, d), "r_dit": n(rng, N, frames, dim),
              "ctx_s": n(rng, B, frames, dim), "c_s": n(rng, B, d), "x0": n(rng, B, frames, dim)}
    meta = {"d": d, "n_heads": heads, "n_layers": layers, "frames": frames, "dim": dim, "steps": steps,
            "cfg_scale": scale}
    got = run_c(exe, work, "dit", "dit", params, inputs, meta)
    t = torch_inputs(params, inputs, host_only=("ctx_s", "c_s", "x0"))
    cfg = {"d": d, "heads": heads, "dit_layers": layers}
    block_out = ref.dit_block(t, "dit.blocks.0", t["x"], torch.nn.functional.silu(t["cond"]), heads)
    v = ref.dit(t, cfg, t["ctx"], t["xt"], t["t"], t["c"])
    loss = (block_out * t["r_block"]).sum() + (v * t["r_dit"]).sum()
    loss.backward()
    with torch.no_grad():
        sample = ref.dit_sample(t, cfg, t["ctx_s"], t["c_s"], t["x0"], steps, scale)
        sample1 = ref.dit_sample(t, cfg, t["ctx_s"], t["c_s"], t["x0"], steps, 1.0)
        sample_heun = ref.dit_sample(t, cfg, t["ctx_s"], t["c_s"], t["x0"], steps, scale, solver="heun")
    want = {"block_out": block_out.detach().numpy(), "v": v.detach().numpy(), "loss": loss.detach().numpy(),
            "sample": sample.numpy(), "sample_unguided": sample1.numpy(), "sample_heun": sample_heun.numpy(),
            **grads(t)}
    compare("dit", got, want)


# ---------------------------------------------------------------------------- planner

def test_planner(exe, work, rng):
    d, heads, layers, B, Lt, Tv, n_patch = 32, 4, 2, 3, 6, 5, 4
    params = ref.make_params(ref.planner_shapes(d, layers), rng)
    valid = np.ones((B, Lt + Tv), dtype=np.uint8)
    valid[0, 3:Lt] = 0   # a short caption
    valid[2, 1:Lt] = 0   # an empty caption: only its start token is real
    inputs = {"text_tok": n(rng, B, Lt, d), "video_tok": n(rng, B, Tv, d), "audio_tok": n(rng, B, n_patch, d),
              "prefix_valid": valid, "r": n(rng, B, n_patch, d)}
    meta = {"d": d, "n_heads": heads, "n_layers": layers}
    got = run_c(exe, work, "planner", "planner", params, inputs, meta)
    t = torch_inputs(params, inputs)
    cfg = {"d": d, "heads": heads, "planner_layers": layers}
    h = ref.planner(t, cfg, t["text_tok"], torch.tensor(valid[:, :Lt].astype(bool)), t["video_tok"], t["audio_tok"])
    loss = (h * t["r"]).sum()
    loss.backward()
    want = {"h": h.detach().numpy(), "loss": loss.detach().numpy(), **grads(t)}
    # padded caption tokens reach nothing: their gradient must be exactly zero on both sides
    pad_grad = np.abs(got["grad.text_tok"][0, 3:]).max() + np.abs(got["grad.text_tok"][2, 1:]).max()
    global FAILURES, CHECKED
    CHECKED += 1
    FAILURES += pad_grad != 0
    print(f"{'ok  ' if pad_grad == 0 else 'FAIL'} planner    padding tokens get no gradient ({pad_grad:.1e})")
    compare("planner", got, want)


# ---------------------------------------------------------------------------- the whole model

def test_robin(exe, work, rng, tag, cfg):
    B, T, Tv, max_text = 2, cfg["patch_frames"] * 4, 4, 12
    M = cfg["M"]
    n_patch = T // cfg["patch_frames"]
    N = B * n_patch
    text = np.zeros((B, max_text), dtype=np.uint8)
    caption = b"warm strings"
    text[0, :len(caption)] = np.frombuffer(caption, dtype=np.uint8)
    text_len = np.array([len(caption), 0], dtype=np.int32)  # the second clip has an empty caption
    for attempt in range(20):
        params = ref.make_params(ref.robin_shapes(cfg), rng)
        inputs = {"audio": n(rng, B, T, M, std=2.0) + 1.0, "mean": n(rng, M, std=0.5) + 1.0,
                  "std": rng.uniform(1.0, 3.0, M).astype(np.float32), "video": n(rng, B, Tv, cfg["video_dim"]),
                  "text": text, "text_len": text_len, "noise": n(rng, N, cfg["patch_frames"], M),
                  "t": rng.uniform(0, 1, N).astype(np.float32), "drop": np.arange(N) % 3 == 1,
                  "ctx_drop": np.arange(N) % 4 == 2, "hist_noise": n(rng, N, cfg["patch_frames"], M, std=0.3)}
        t = torch_inputs(params, inputs, host_only=("audio", "mean", "std", "video"))
        if cfg["quantizer"] != "fsq":
            break
        # redraw when a planner output sits too close to an FSQ rounding boundary
        with torch.no_grad():
            b_ = {k: torch.tensor(v) for k, v in inputs.items()}
            x = (b_["audio"] - b_["mean"]) / b_["std"]
            patches = x.reshape(B, n_patch, -1)
            ids, valid = ref.text_tokens(text, text_len)
            txt = ref.text_encoder(t, cfg, ids, valid) if cfg["use_text"] else None
            vid = ref.video_encoder(t, b_["video"]) if cfg["use_video"] else None
            h = ref.planner(t, cfg, txt, valid if cfg["use_text"] else None, vid, ref.audio_history(t, patches))
            if rounding_margin(ref.fsq_bounded(t, cfg["fsq_levels"], h)) > 1e-3:
                break
    overrides = ";".join([f"model.d_model={cfg['d']}", f"model.n_heads={cfg['heads']}",
                          f"model.planner_layers={cfg['planner_layers']}", f"model.rite_layers={cfg['rite_layers']}",
                          f"model.dit_layers={cfg['dit_layers']}", f"model.text_layers={cfg['text_layers']}",
                          f"model.patch_frames={cfg['patch_frames']}", f"model.latent_dim={M}",
                          f"model.video_dim={cfg['video_dim']}", f"model.quantizer={cfg['quantizer']}",
                          f"model.use_text={str(cfg['use_text']).lower()}",
                          f"model.use_video={str(cfg['use_video']).lower()}",
                          "model.fsq_levels=[" + ",".join(map(str, cfg["fsq_levels"])) + "]"])
    got = run_c(exe, work, tag, "robin", params, inputs, {"overrides": overrides})
    batch = {k: t[k] for k in ("audio", "mean", "std", "video")}
    batch.update({"text": torch.tensor(text), "text_len": torch.tensor(text_len)})
    loss, codes = ref.robin_loss(t, cfg, batch, t["noise"], t["t"], torch.tensor(inputs["drop"]),
                                 torch.tensor(inputs["ctx_drop"]), t["hist_noise"])
    loss.backward()
    want = {"loss": loss.detach().numpy(), "part.flow": np.float64(loss.item()), **grads(t)}
    if codes is not None:
        usage, perplexity = ref.fsq_stats(cfg["fsq_levels"], codes)
        want.update({"part.fsq_usage": np.float64(usage), "part.fsq_perplexity": np.float64(perplexity)})
    compare(tag, got, want)


def main():
    exe, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(1)
    rng = np.random.default_rng(20260301)
    test_fsq(exe, work, rng)
    test_dit(exe, work, rng)
    test_planner(exe, work, rng)
    base = {"d": 32, "heads": 2, "planner_layers": 2, "rite_layers": 2, "dit_layers": 2, "text_layers": 1,
            "patch_frames": 3, "M": 5, "video_dim": 7, "quantizer": "fsq", "fsq_levels": [8, 5, 5, 3],
            "use_text": True, "use_video": True}
    test_robin(exe, work, rng, "robin", base)
    test_robin(exe, work, rng, "robin-cont", {**base, "quantizer": "none", "rite_layers": 0, "use_video": False})
    test_robin(exe, work, rng, "robin-notx", {**base, "use_text": False, "patch_frames": 1})
    print(f"{CHECKED - FAILURES} passed, {FAILURES} failed")
    sys.exit(1 if FAILURES or CHECKED == 0 else 0)


if __name__ == "__main__":
    main()
