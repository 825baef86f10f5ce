"""Parity of the full-sequence DiT baseline (models/fullseq.c) with a plain-torch reference written
from models/fullseq.h: the loss and every gradient (parameters, noise, t), the velocity with
condition dropout, and the CFG Euler sampler with and without history, in three configurations.
Per tensor, max |c - torch| / max |torch| <= 1e-5 in float32; both sides must produce the same
set of gradients.
Run: parity_fullseq.py PATH/TO/test_fullseq WORKDIR
"""
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import models_reference as ref  # noqa: E402
import st_io  # noqa: E402

TOL = 1e-5
FAILURES = 0
CHECKED = 0


def n(rng, *shape, std=1.0):
    return (rng.standard_normal(shape) * std).astype(np.float32)


# ---------------------------------------------------------------------------- the reference

def shapes(cfg):
    d, fm = cfg["d"], cfg["patch_frames"] * cfg["M"]
    s = {}
    if cfg["use_text"]:
        s["text.embed"] = (ref.TEXT_VOCAB, d)
        for i in range(cfg["text_layers"]):
            s.update(ref.block_shapes(f"text.blocks.{i}", d))
        s.update({"text.norm.weight": (d,), "text.norm.bias": (d,)})
    if cfg["use_video"]:
        s.update({**ref.lin_shapes("video.fc1", cfg["video_dim"], d), **ref.lin_shapes("video.fc2", d, d)})
    s.update({**ref.lin_shapes("dit.in", fm, d), "dit.type": (3, d),
              **ref.lin_shapes("dit.t_fc1", d, d), **ref.lin_shapes("dit.t_fc2", d, d)})
    for i in range(cfg["layers"]):
        p = f"dit.blocks.{i}"
        s.update({k: v for k, v in ref.block_shapes(p, d).items() if ".norm" not in k})
        s.update(ref.lin_shapes(p + ".ada", d, 6 * d))
    s.update({**ref.lin_shapes("dit.final_ada", d, 2 * d), **ref.lin_shapes("dit.out", d, fm)})
    return s


def cond_tokens(P, cfg, batch):
    """-> tokens [B, Lc, d] or None, validity [B, Lc] bool."""
    d = cfg["d"]
    toks, valid = [], []
    B = batch["video"].shape[0]
    if cfg["use_text"]:
        ids, v = ref.text_tokens(batch["text"].numpy(), batch["text_len"].numpy())
        toks.append(ref.text_encoder(P, cfg, ids, v) + P["dit.type"][0])
        valid.append(v)
    if cfg["use_video"]:
        Tv = batch["video"].shape[1]
        toks.append(ref.video_encoder(P, batch["video"]) + ref.sinusoid_table(np.arange(Tv), d) + P["dit.type"][1])
        valid.append(torch.ones(B, Tv, dtype=torch.bool))
    if not toks:
        return None, None
    return torch.cat(toks, 1), torch.cat(valid, 1)


def block(P, name, x, cond_act, heads, allowed):
    shift1, scale1, gate1, shift2, scale2, gate2 = ref.linear(P, name + ".ada", cond_act)[:, None, :].chunk(6, dim=-1)
    h = x + gate1 * ref.attention(P, name + ".attn", ref.modulate(x, shift1, scale1), heads, allowed)
    return h + gate2 * ref.mlp(P, name + ".mlp", ref.modulate(h, shift2, scale2))


def velocity(P, cfg, cond, cvalid, xt, t, Tv):
    """xt [R, T, M], t [R]; cond [R, Lc, d] or None with key validity cvalid [R, Lc]."""
    R, T, M = xt.shape
    Fr, d = cfg["patch_frames"], cfg["d"]
    n_patch = T // Fr
    pos = [k * Tv / n_patch if cfg["use_video"] else float(k) for k in range(n_patch)]
    a = ref.linear(P, "dit.in", xt.reshape(R, n_patch, Fr * M)) + ref.sinusoid_table(pos, d) + P["dit.type"][2]
    Lc = 0 if cond is None else cond.shape[1]
    x = a if cond is None else torch.cat([cond, a], 1)
    allowed = None
    if cond is not None:
        allowed = torch.cat([cvalid, torch.ones(R, n_patch, dtype=torch.bool)], 1)[:, None, None, :]
    temb = ref.sinusoid_embed(t * 1000.0, d)
    cond_act = F.silu(ref.linear(P, "dit.t_fc2", F.silu(ref.linear(P, "dit.t_fc1", temb))))
    for i in range(cfg["layers"]):
        x = block(P, f"dit.blocks.{i}", x, cond_act, cfg["heads"], allowed)
    shift, scale = ref.linear(P, "dit.final_ada", cond_act)[:, None, :].chunk(2, dim=-1)
    return ref.linear(P, "dit.out", ref.modulate(x[:, Lc:], shift, scale)).reshape(R, T, M)


def dropped(cvalid, drop):
    return cvalid & ~drop[:, None]


def loss(P, cfg, batch, noise, t, drop):
    x1 = (batch["audio"] - batch["mean"]) / batch["std"]
    cond, cvalid = cond_tokens(P, cfg, batch)
    tb = t.reshape(-1, 1, 1)
    xt = (1 - tb) * noise + tb * x1
    v = velocity(P, cfg, cond, None if cond is None else dropped(cvalid, drop), xt, t, batch["video"].shape[1])
    return F.mse_loss(v, x1 - noise)


def sample(P, cfg, batch, noise, steps, scale, hist=None):
    B = noise.shape[0]
    Tv = batch["video"].shape[1]
    cond, cvalid = cond_tokens(P, cfg, batch)
    guided = scale != 1.0 and cond is not None
    x = noise.clone()
    Hf = 0 if hist is None else hist.shape[1]
    for i in range(steps):
        ti = i / steps
        if Hf:
            x[:, :Hf] = noise[:, :Hf] * (1.0 - ti) + hist * ti
        t = torch.full((B,), ti)
        vc = velocity(P, cfg, cond, cvalid, x, t, Tv)
        if guided:
            vu = velocity(P, cfg, cond, torch.zeros_like(cvalid), x, t, Tv)
            v = vu + (vc - vu) * scale
        else:
            v = vc
        x = x + v * (1.0 / steps)
    if Hf:
        x[:, :Hf] = hist
    return x


# ---------------------------------------------------------------------------- the comparison

def compare(tag, got, want):
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
        rel = np.abs(a - b).max() / max(np.abs(b).max(), 1e-30) if a.size else 0.0
        bad = not rel <= TOL
        FAILURES += bad
        print(f"{'FAIL' if bad else 'ok  '} {tag:12s} {k:40s} max rel err {rel:.2e}")


def run_c_side(exe, work, tag, params, inputs, meta):
    """Write params and inputs (meta: the inputs' metadata), run `exe parity`, return its outputs;
    a failing C program ends the test with its message."""
    fp, fi, fo = (os.path.join(work, f"{tag}_{x}.safetensors") for x in ("params", "inputs", "out"))
    st_io.save(fp, params)
    st_io.save(fi, inputs, meta)
    r = subprocess.run([exe, "parity", fp, fi, fo], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL {tag}: C program failed ({r.returncode}): {r.stderr.strip()}")
        sys.exit(1)
    return st_io.load(fo)[0]


def run(exe, work, rng, tag, cfg):
    B, Tv, max_text, Fr, M = 2, 4, 12, cfg["patch_frames"], cfg["M"]
    T = Fr * 4
    text = np.zeros((B, max_text), dtype=np.uint8)
    caption = b"warm strings"
    text[0, :len(caption)] = np.frombuffer(caption, dtype=np.uint8)
    text_len = np.array([len(caption), 0], dtype=np.int32)  # the second clip has an empty caption
    params = ref.make_params(shapes(cfg), rng)
    inputs = {"audio": n(rng, B, T, M, std=2.0) + 1.0, "mean": n(rng, M, std=0.5) + 1.0,
              "std": rng.uniform(1.0, 3.0, M).astype(np.float32), "video": n(rng, B, Tv, cfg["video_dim"]),
              "text": text, "text_len": text_len, "noise": n(rng, B, T, M),
              "t": rng.uniform(0, 1, B).astype(np.float32), "drop": np.array([False, True]) if cfg["drop"] else
              np.array([False, False]), "xt_v": n(rng, B, T, M), "t_v": rng.uniform(0, 1, B).astype(np.float32),
              "hist": n(rng, B, 2 * Fr, M)}
    overrides = ";".join(["model.kind=fullseq_dit", f"model.d_model={cfg['d']}", f"model.n_heads={cfg['heads']}",
                          f"model.dit_layers={cfg['layers']}", f"model.text_layers={cfg['text_layers']}",
                          f"model.patch_frames={Fr}", f"model.latent_dim={M}", f"model.video_dim={cfg['video_dim']}",
                          f"model.use_text={str(cfg['use_text']).lower()}",
                          f"model.use_video={str(cfg['use_video']).lower()}"])
    got = run_c_side(exe, work, tag, params, inputs,
                     {"overrides": overrides, "steps": cfg["steps"], "cfg_scale": cfg["scale"]})

    host_only = ("audio", "mean", "std", "video", "xt_v", "t_v", "hist")
    t = {}
    for k, v in {**params, **inputs}.items():
        x = torch.tensor(v)
        if v.dtype == np.float32 and k not in host_only:
            x.requires_grad_(True)
        t[k] = x
    batch = {k: t[k] for k in ("audio", "mean", "std", "video")}
    batch.update({"text": torch.tensor(text), "text_len": torch.tensor(text_len)})
    L = loss(t, cfg, batch, t["noise"], t["t"], t["drop"])
    L.backward()
    want = {"loss": L.detach().numpy(), "part.flow": np.float64(L.item())}
    want.update({"grad." + k: v.grad.numpy() for k, v in t.items() if v.requires_grad and v.grad is not None})
    with torch.no_grad():
        cond, cvalid = cond_tokens(t, cfg, batch)
        want["v"] = velocity(t, cfg, cond, None if cond is None else dropped(cvalid, t["drop"]), t["xt_v"], t["t_v"],
                             Tv).numpy()
        noise = torch.tensor(got["sample_noise"])
        want["sample"] = sample(t, cfg, batch, noise, cfg["steps"], cfg["scale"]).numpy()
        want["sample_hist"] = sample(t, cfg, batch, noise, cfg["steps"], cfg["scale"], t["hist"]).numpy()
    want["sample_noise"] = got["sample_noise"]  # drawn by the C side (libtorch's generator)
    compare(tag, got, want)


def main():
    exe, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(1)
    rng = np.random.default_rng(20261125)
    base = {"d": 32, "heads": 2, "layers": 2, "text_layers": 1, "patch_frames": 3, "M": 5, "video_dim": 7,
            "use_text": True, "use_video": True, "drop": True, "steps": 3, "scale": 2.5}
    run(exe, work, rng, "fullseq", base)
    run(exe, work, rng, "fullseq-s1", {**base, "use_video": False, "drop": False, "patch_frames": 1})
    run(exe, work, rng, "fullseq-none", {**base, "use_text": False, "use_video": False, "scale": 1.0})
    print(f"{CHECKED - FAILURES} passed, {FAILURES} failed")
    sys.exit(1 if FAILURES or CHECKED == 0 else 0)


if __name__ == "__main__":
    main()
