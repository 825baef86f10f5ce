"""Parity of the autoregressive frame-level baseline (models/arframe.c) with a plain-torch reference
written from models/arframe.h: the loss and every gradient, the teacher-forced logits with condition
dropout, and the sampler (CFG on logits, temperature, inverse-CDF draws from the same uniforms) with
and without history — the reference recomputes the whole sequence for every frame where C uses the
KV cache — in three configurations. Per tensor, max |c - torch| / max |torch| <= 1e-5 in float32;
both sides must produce the same set of gradients.
Run: parity_arframe.py PATH/TO/test_arframe WORKDIR
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import models_reference as ref  # noqa: E402
from parity_fullseq import compare, n, run_c_side  # noqa: E402  (the same comparison, inputs and C run)
import parity_fullseq  # noqa: E402


# ---------------------------------------------------------------------------- the reference

def shapes(cfg):
    d, M, L = cfg["d"], cfg["M"], cfg["levels"]
    s = {}
    if cfg["use_text"]:
        s["text.embed"] = (ref.TEXT_VOCAB, d)
        for i in range(cfg["text_layers"]):
            s.update(ref.block_shapes(f"text.blocks.{i}", d))
        s.update({"text.norm.weight": (d,), "text.norm.bias": (d,)})
    if cfg["use_video"]:
        s.update({**ref.lin_shapes("video.fc1", cfg["video_dim"], d), **ref.lin_shapes("video.fc2", d, d)})
    s.update({**ref.lin_shapes("ar.in", M, d), "ar.bos": (d,)})
    s.update(ref.planner_shapes(d, cfg["planner_layers"]))
    s.update(ref.lin_shapes("ar.head", d, M * L))
    return s


def codes_of(cfg, x):
    w = 2.0 * cfg["range"] / cfg["levels"]
    return torch.clamp(torch.floor((x + cfg["range"]) * (1.0 / w)), 0, cfg["levels"] - 1).long()


def values_of(cfg, codes):
    w = 2.0 * cfg["range"] / cfg["levels"]
    return codes.float() * w + (0.5 * w - cfg["range"])


def logits(P, cfg, batch, feed, drop):
    """feed [B, T, M]: the values frame k reads at k+1 (the last is unused); drop [B] bool = null
    condition (empty caption, zero video) -> [B, T, M, L]."""
    B, T, M = feed.shape
    text_len = torch.where(drop, torch.zeros_like(batch["text_len"]), batch["text_len"])
    video = torch.where(drop[:, None, None], torch.zeros_like(batch["video"]), batch["video"])
    text_tok = valid = video_tok = None
    if cfg["use_text"]:
        ids, valid = ref.text_tokens(batch["text"].numpy(), text_len.numpy())
        text_tok = ref.text_encoder(P, cfg, ids, valid)
    if cfg["use_video"]:
        video_tok = ref.video_encoder(P, video)
    bos = P["ar.bos"].reshape(1, 1, -1).expand(B, 1, -1)
    tok = torch.cat([bos, ref.linear(P, "ar.in", feed[:, :-1])], dim=1)
    h = ref.planner(P, cfg, text_tok, valid, video_tok, tok)  # frame k at video time k Tv / T
    return ref.linear(P, "ar.head", h).reshape(B, T, M, cfg["levels"])


def loss(P, cfg, batch, drop):
    x1 = (batch["audio"] - batch["mean"]) / batch["std"]
    codes = codes_of(cfg, x1)
    lg = logits(P, cfg, batch, values_of(cfg, codes), drop)
    return F.cross_entropy(lg.reshape(-1, cfg["levels"]), codes.reshape(-1)), lg


def sample(P, cfg, batch, u, scale, temp, hist=None):
    """u [B, T, M]: the uniforms of clip i's generator, one [M] per sampled frame in order."""
    B, T, M = u.shape
    H = 0 if hist is None else hist.shape[1]
    guided = scale != 1.0 and (cfg["use_text"] or cfg["use_video"])
    out, feed = torch.zeros(B, T, M), torch.zeros(B, T, M)
    if H:
        out[:, :H], feed[:, :H] = hist, values_of(cfg, codes_of(cfg, hist))
    none, every = torch.zeros(B, dtype=torch.bool), torch.ones(B, dtype=torch.bool)
    for k in range(H, T):  # causal: the zeros fed after frame k do not reach frame k
        lg = logits(P, cfg, batch, feed, none)[:, k]
        if guided:
            lu = logits(P, cfg, batch, feed, every)[:, k]
            lg = lu + (lg - lu) * scale
        cdf = torch.cumsum(torch.softmax(lg * (1.0 / temp), dim=-1), dim=-1)
        code = (cdf < u[:, k - H, :, None]).float().sum(-1).clamp(0, cfg["levels"] - 1)
        out[:, k] = feed[:, k] = values_of(cfg, code)
    return out


# ---------------------------------------------------------------------------- the comparison

def run(exe, work, rng, tag, cfg):
    B, Tv, max_text, M, T = 2, 4, 12, cfg["M"], 6
    text = np.zeros((B, max_text), dtype=np.uint8)
    caption = b"warm strings"
    text[0, :len(caption)] = np.frombuffer(caption, dtype=np.uint8)
    text_len = np.array([len(caption), 3], dtype=np.int32)
    text[1, :3] = np.frombuffer(b"sad", dtype=np.uint8)
    params = ref.make_params(shapes(cfg), rng)
    inputs = {"audio": n(rng, B, T, M, std=2.0) + 1.0, "mean": n(rng, M, std=0.5) + 1.0,
              "std": rng.uniform(1.0, 3.0, M).astype(np.float32), "video": n(rng, B, Tv, cfg["video_dim"]),
              "text": text, "text_len": text_len,
              "drop": np.array([False, True]) if cfg["drop"] else np.array([False, False]),
              "hist": n(rng, B, 2, M)}
    overrides = ";".join(["model.kind=ar_frames", f"model.d_model={cfg['d']}", f"model.n_heads={cfg['heads']}",
                          f"model.planner_layers={cfg['planner_layers']}", f"model.text_layers={cfg['text_layers']}",
                          "model.patch_frames=1", f"model.latent_dim={M}", f"model.video_dim={cfg['video_dim']}",
                          f"model.ar_levels={cfg['levels']}", f"model.ar_range={cfg['range']}",
                          f"model.use_text={str(cfg['use_text']).lower()}",
                          f"model.use_video={str(cfg['use_video']).lower()}"])
    got = run_c_side(exe, work, tag, params, inputs,
                     {"overrides": overrides, "cfg_scale": cfg["scale"], "temperature": cfg["temp"]})

    t = {k: torch.tensor(v).requires_grad_(True) for k, v in params.items()}
    batch = {k: torch.tensor(inputs[k]) for k in ("audio", "mean", "std", "video", "text", "text_len")}
    drop = torch.tensor(inputs["drop"])
    L, _ = loss(t, cfg, batch, drop)
    L.backward()
    want = {"loss": L.detach().numpy(), "part.ce": np.float64(L.item())}
    want.update({"grad." + k: v.grad.numpy() for k, v in t.items() if v.grad is not None})
    with torch.no_grad():
        want["logits"] = loss(t, cfg, batch, drop)[1].numpy()
        u = torch.tensor(got["sample_u"])
        want["sample"] = sample(t, cfg, batch, u, cfg["scale"], cfg["temp"]).numpy()
        want["sample_hist"] = sample(t, cfg, batch, u, cfg["scale"], cfg["temp"], torch.tensor(inputs["hist"])).numpy()
    want["sample_u"] = got["sample_u"]  # drawn by the C side (libtorch's generator)
    compare(tag, got, want)


def main():
    exe, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(1)
    rng = np.random.default_rng(20261206)
    base = {"d": 32, "heads": 2, "planner_layers": 2, "text_layers": 1, "M": 5, "video_dim": 7, "levels": 8,
            "range": 2.5, "use_text": True, "use_video": True, "drop": True, "scale": 2.5, "temp": 0.8}
    run(exe, work, rng, "ar", base)
    run(exe, work, rng, "ar-s1", {**base, "use_video": False, "drop": False})
    run(exe, work, rng, "ar-none", {**base, "use_text": False, "use_video": False, "scale": 1.0, "temp": 1.3})
    failures, checked = parity_fullseq.FAILURES, parity_fullseq.CHECKED
    print(f"{checked - failures} passed, {failures} failed")
    sys.exit(1 if failures or checked == 0 else 0)


if __name__ == "__main__":
    main()
