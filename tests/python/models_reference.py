"""Plain-PyTorch reference of the Video-Robin model (models/*.c), the oracle of the parity tests.

Written from the architecture as documented in models/{encoders,planner,fsq,rite,locdit,robin}.h,
not by calling or porting the C code: every function below is ordinary torch on a dict of named
parameter tensors (the checkpoint key space), and make_params() defines the names and shapes
independently, so the C side's strict load checks them too.

Conventions shared with the C model (its documented behaviour):
  * Linear = torch.nn.functional.linear, weight [out, in]; LayerNorm eps 1e-5 in transformer
    blocks, eps 1e-6 without affine in the DiT; GELU tanh approximation; MLP hidden = 4 d.
  * Sinusoid(x) = [sin(x w_0..w_{h-1}), cos(x w_0..w_{h-1})], w_i = 10000^(-i/h), h = dim/2.
  * Flow matching: x_t = (1 - t) noise + t x1, v = x1 - noise, Euler from t = 0 to 1.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

TEXT_START, TEXT_PAD, TEXT_VOCAB = 256, 257, 258


# ---------------------------------------------------------------------------- building blocks

def sinusoid_table(pos, dim):
    """Rows for host positions (float64 maths, as a table would be precomputed) -> [n, dim]."""
    h = dim // 2
    w = np.power(10000.0, -np.arange(h, dtype=np.float64) / h)
    a = np.asarray(pos, dtype=np.float64)[:, None] * w[None, :]
    return torch.from_numpy(np.concatenate([np.sin(a), np.cos(a)], axis=1).astype(np.float32))


def sinusoid_embed(x, dim):
    """Same features for a float32 tensor of positions x [N] -> [N, dim]."""
    h = dim // 2
    w = torch.from_numpy(np.power(10000.0, -np.arange(h, dtype=np.float64) / h).astype(np.float32))
    a = x[:, None] * w[None, :]
    return torch.cat([torch.sin(a), torch.cos(a)], dim=-1)


def linear(P, name, x):
    return F.linear(x, P[name + ".weight"], P.get(name + ".bias"))


def layer_norm(P, name, x):
    return F.layer_norm(x, (x.shape[-1],), P[name + ".weight"], P[name + ".bias"], 1e-5)


def attention(P, name, x, heads, allowed=None):
    """Multi-head self-attention; allowed: bool, broadcastable to [B, H, T, T] (True = attend)."""
    B, T, C = x.shape
    D = C // heads
    qkv = linear(P, name + ".qkv", x).reshape(B, T, 3, heads, D).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
    if allowed is not None:
        scores = scores + torch.zeros(allowed.shape).masked_fill(~allowed, float("-inf"))
    y = torch.softmax(scores, dim=-1) @ v
    return linear(P, name + ".proj", y.transpose(1, 2).reshape(B, T, C))


# GELU (tanh form) evaluated in float64 and rounded to the input's dtype: a correctly rounded
# reference. torch's own float32 formula 0.5 x (1 + tanh y) loses up to 5e-5 relative to
# cancellation for negative x, the C side's fused kernel (core/fused.h) about 1e-6; against plain
# F.gelu the difference, amplified by a contrastive loss, would exceed the gradient tolerance.
# The benchmarks' Python peer sets EXACT_GELU = False: plain torch, as a user would write it.
EXACT_GELU = True


def gelu(x):
    if EXACT_GELU and x.dtype == torch.float32:
        return F.gelu(x.double(), approximate="tanh").to(x.dtype)
    return F.gelu(x, approximate="tanh")


def mlp(P, name, x):
    return linear(P, name + ".proj", gelu(linear(P, name + ".fc", x)))


def block(P, name, x, heads, allowed=None):
    h = x + attention(P, name + ".attn", layer_norm(P, name + ".norm1", x), heads, allowed)
    return h + mlp(P, name + ".mlp", layer_norm(P, name + ".norm2", h))


def causal(T):
    return torch.ones(T, T, dtype=torch.bool).tril()


# ---------------------------------------------------------------------------- encoders

def text_tokens(text, text_len):
    """text uint8 [B, max_text], text_len [B] -> ids [B, L] int64, valid [B, L] bool, L = 1 + longest."""
    B = text.shape[0]
    L = 1 + int(max(text_len))
    ids = np.full((B, L), TEXT_PAD, dtype=np.int64)
    valid = np.zeros((B, L), dtype=bool)
    ids[:, 0], valid[:, 0] = TEXT_START, True
    for b in range(B):
        n = int(text_len[b])
        ids[b, 1:1 + n] = text[b, :n]
        valid[b, 1:1 + n] = True
    return torch.from_numpy(ids), torch.from_numpy(valid)


def text_encoder(P, cfg, ids, valid):
    d = cfg["d"]
    x = P["text.embed"][ids] + sinusoid_table(np.arange(ids.shape[1]), d)
    for i in range(cfg["text_layers"]):
        x = block(P, f"text.blocks.{i}", x, cfg["heads"], valid[:, None, None, :])
    return layer_norm(P, "text.norm", x)


def video_encoder(P, video):
    return linear(P, "video.fc2", gelu(linear(P, "video.fc1", video)))


def audio_history(P, patches):
    """patches [B, P, F*M] -> [B, P, d]: BOS, then the encoding of patch k-1."""
    B = patches.shape[0]
    bos = P["audio.bos"].reshape(1, 1, -1).expand(B, 1, -1)
    return torch.cat([bos, linear(P, "audio.proj", patches[:, :-1])], dim=1)


# ---------------------------------------------------------------------------- planner

def planner(P, cfg, text_tok, valid_text, video_tok, audio_tok):
    """text_tok [B, Lt, d] or None (valid_text [B, Lt]); video_tok [B, Tv, d] or None; audio [B, P, d]."""
    d, heads = cfg["d"], cfg["heads"]
    B, n_patch = audio_tok.shape[0], audio_tok.shape[1]
    pieces, valid = [], []
    if text_tok is not None:
        pieces.append(text_tok + P["planner.type"][0])
        valid.append(valid_text)
    Tv = 0
    if video_tok is not None:
        Tv = video_tok.shape[1]
        pieces.append(video_tok + sinusoid_table(np.arange(Tv), d) + P["planner.type"][1])
        valid.append(torch.ones(B, Tv, dtype=torch.bool))
    pos = [k * Tv / n_patch if Tv else float(k) for k in range(n_patch)]
    pieces.append(audio_tok + sinusoid_table(pos, d) + P["planner.type"][2])
    x = torch.cat(pieces, dim=1)
    Lp, S = x.shape[1] - n_patch, x.shape[1]
    # prefix-LM: real prefix keys for everyone, audio keys causally for audio queries
    prefix_ok = torch.cat(valid, dim=1) if valid else torch.zeros(B, 0, dtype=torch.bool)
    allowed = torch.zeros(B, S, S, dtype=torch.bool)
    allowed[:, :, :Lp] = prefix_ok[:, None, :]
    allowed[:, Lp:, Lp:] = causal(n_patch)
    for i in range(cfg["planner_layers"]):
        x = block(P, f"planner.blocks.{i}", x, heads, allowed[:, None])
    return layer_norm(P, "planner.norm", x[:, Lp:])


# ---------------------------------------------------------------------------- FSQ and RITE

def fsq_constants(levels):
    L = np.asarray(levels, dtype=np.float64)
    half_l = (L - 1) * (1 + 1e-3) / 2
    offset = np.where(np.asarray(levels) % 2 == 0, 0.5, 0.0)
    shift = np.arctanh(offset / half_l)
    half_w = np.floor(L / 2)
    return [torch.from_numpy(a.astype(np.float32)) for a in (half_l, offset, shift, half_w)]


def fsq_bounded(P, levels, h):
    half_l, offset, shift, _ = fsq_constants(levels)
    z = linear(P, "fsq.down", h)
    return torch.tanh(z + shift) * half_l - offset


def fsq(P, levels, h):
    """-> (quantised plan [.., d], integer codes [.., n])."""
    half_w = fsq_constants(levels)[3]
    b = fsq_bounded(P, levels, h)
    q = b + (torch.round(b) - b).detach()  # straight-through rounding
    return linear(P, "fsq.up", q / half_w), q.detach()


def fsq_stats(levels, codes):
    """usage = distinct codes / codebook size, perplexity = exp(entropy of the code histogram)."""
    c = codes.reshape(-1, len(levels)).numpy().astype(np.int64)
    idx = np.zeros(c.shape[0], dtype=np.int64)
    basis = 1
    for i, L in enumerate(levels):
        idx += (c[:, i] + L // 2) * basis
        basis *= L
    _, counts = np.unique(idx, return_counts=True)
    p = counts / counts.sum()
    return len(counts) / float(np.prod(levels)), float(np.exp(-(p * np.log(p)).sum()))


def rite(P, cfg, q):
    x = q + sinusoid_table(np.arange(q.shape[1]), cfg["d"])
    for i in range(cfg["rite_layers"]):
        x = block(P, f"rite.blocks.{i}", x, cfg["heads"], causal(q.shape[1]))
    return q + linear(P, "rite.out", layer_norm(P, "rite.norm", x))


# ---------------------------------------------------------------------------- LocDiT

def modulate(x, shift, scale):
    return F.layer_norm(x, (x.shape[-1],), eps=1e-6) * (1 + scale) + shift


def dit_block(P, name, x, cond_act, heads):
    shift1, scale1, gate1, shift2, scale2, gate2 = linear(P, name + ".ada", cond_act)[:, None, :].chunk(6, dim=-1)
    h = x + gate1 * attention(P, name + ".attn", modulate(x, shift1, scale1), heads)
    return h + gate2 * mlp(P, name + ".mlp", modulate(h, shift2, scale2))


def dit(P, cfg, ctx, xt, t, c):
    """ctx, xt [N, F, M], t [N], c [N, d] -> velocity [N, F, M]."""
    Fr = ctx.shape[1]
    x = linear(P, "dit.in", torch.cat([ctx, xt], dim=1)) + P["dit.pos"]
    temb = linear(P, "dit.t_fc2", F.silu(linear(P, "dit.t_fc1", sinusoid_embed(t * 1000.0, cfg["d"]))))
    cond_act = F.silu(temb + c)
    for i in range(cfg["dit_layers"]):
        x = dit_block(P, f"dit.blocks.{i}", x, cond_act, cfg["heads"])
    shift, scale = linear(P, "dit.final_ada", cond_act)[:, None, :].chunk(2, dim=-1)
    return linear(P, "dit.out", modulate(x[:, Fr:], shift, scale))


def dit_sample(P, cfg, ctx, c, x0, steps, scale, solver="euler"):
    """From t = 0 (x0) to 1 with classifier-free guidance (scale 1: conditional only). Euler, or Heun:
    the Euler step's end point gets a second velocity (at t + dt) and the step uses their mean."""
    B = x0.shape[0]
    null = P["dit.null"].expand(B, -1)

    def velocity(x, t_value):
        t = torch.full((B,), t_value)
        vc = dit(P, cfg, ctx, x, t, c)
        if scale == 1.0:
            return vc
        vu = dit(P, cfg, ctx, x, t, null)
        return vu + (vc - vu) * scale

    x, dt = x0, 1.0 / steps
    for i in range(steps):
        v = velocity(x, i / steps)
        if solver == "heun":
            v = (v + velocity(x + v * dt, (i + 1) / steps)) * 0.5
        x = x + v * dt
    return x


# ---------------------------------------------------------------------------- the whole model

def robin_loss(P, cfg, batch, noise, t, drop, ctx_drop=None, hist_noise=None):
    """batch: audio [B,T,M] raw, mean/std [M], video [B,Tv,Dv], text uint8 [B,max], text_len [B].
    hist_noise [B*P, F, M]: added to the patches fed back as history (model.hist_noise).
    Returns (loss, FSQ codes or None)."""
    B, T, M = batch["audio"].shape
    Fr, d = cfg["patch_frames"], cfg["d"]
    n_patch = T // Fr
    x = (batch["audio"] - batch["mean"]) / batch["std"]
    patches = x.reshape(B, n_patch, Fr * M)
    hist = patches if hist_noise is None else patches + hist_noise.reshape(B, n_patch, Fr * M)
    text_tok = valid = video_tok = None
    if cfg["use_text"]:
        ids, valid = text_tokens(batch["text"].numpy(), batch["text_len"].numpy())
        text_tok = text_encoder(P, cfg, ids, valid)
    if cfg["use_video"]:
        video_tok = video_encoder(P, batch["video"])
    a = audio_history(P, hist)
    h = planner(P, cfg, text_tok, valid, video_tok, a)
    codes = None
    if cfg["quantizer"] == "fsq":
        q, codes = fsq(P, cfg["fsq_levels"], h)
    else:
        q = h
    c = rite(P, cfg, q) if cfg["rite_layers"] > 0 else q
    N = B * n_patch
    c = c.reshape(N, d)
    c = torch.where(drop[:, None], P["dit.null"], c)
    prev = torch.cat([torch.zeros(B, 1, Fr * M), hist[:, :-1]], dim=1)
    ctx = prev.reshape(N, Fr, M)
    if ctx_drop is not None:
        ctx = torch.where(ctx_drop[:, None, None], torch.zeros(1), ctx)
    x1 = patches.reshape(N, Fr, M)
    tb = t.reshape(N, 1, 1)
    xt = (1 - tb) * noise + tb * x1
    v = dit(P, cfg, ctx, xt, t, c)
    return F.mse_loss(v, x1 - noise), codes


# ---------------------------------------------------------------------------- parameters

def block_shapes(prefix, d):
    return {f"{prefix}.norm1.weight": (d,), f"{prefix}.norm1.bias": (d,),
            f"{prefix}.attn.qkv.weight": (3 * d, d), f"{prefix}.attn.qkv.bias": (3 * d,),
            f"{prefix}.attn.proj.weight": (d, d), f"{prefix}.attn.proj.bias": (d,),
            f"{prefix}.norm2.weight": (d,), f"{prefix}.norm2.bias": (d,),
            f"{prefix}.mlp.fc.weight": (4 * d, d), f"{prefix}.mlp.fc.bias": (4 * d,),
            f"{prefix}.mlp.proj.weight": (d, 4 * d), f"{prefix}.mlp.proj.bias": (d,)}


def lin_shapes(name, n_in, n_out):
    return {name + ".weight": (n_out, n_in), name + ".bias": (n_out,)}


def planner_shapes(d, layers):
    s = {"planner.type": (3, d)}
    for i in range(layers):
        s.update(block_shapes(f"planner.blocks.{i}", d))
    s.update({"planner.norm.weight": (d,), "planner.norm.bias": (d,)})
    return s


def fsq_shapes(d, n):
    return {**lin_shapes("fsq.down", d, n), **lin_shapes("fsq.up", n, d)}


def dit_shapes(d, layers, frames, dim):
    s = {**lin_shapes("dit.in", dim, d), "dit.pos": (2 * frames, d),
         **lin_shapes("dit.t_fc1", d, d), **lin_shapes("dit.t_fc2", d, d)}
    for i in range(layers):
        p = f"dit.blocks.{i}"
        s.update({k: v for k, v in block_shapes(p, d).items() if ".norm" not in k})
        s.update(lin_shapes(p + ".ada", d, 6 * d))
    s.update({**lin_shapes("dit.final_ada", d, 2 * d), **lin_shapes("dit.out", d, dim), "dit.null": (d,)})
    return s


def robin_shapes(cfg):
    d = cfg["d"]
    s = {}
    if cfg["use_text"]:
        s["text.embed"] = (TEXT_VOCAB, d)
        for i in range(cfg["text_layers"]):
            s.update(block_shapes(f"text.blocks.{i}", d))
        s.update({"text.norm.weight": (d,), "text.norm.bias": (d,)})
    if cfg["use_video"]:
        s.update({**lin_shapes("video.fc1", cfg["video_dim"], d), **lin_shapes("video.fc2", d, d)})
    s.update({**lin_shapes("audio.proj", cfg["patch_frames"] * cfg["M"], d), "audio.bos": (d,)})
    s.update(planner_shapes(d, cfg["planner_layers"]))
    if cfg["quantizer"] == "fsq":
        s.update(fsq_shapes(d, len(cfg["fsq_levels"])))
    if cfg["rite_layers"] > 0:
        for i in range(cfg["rite_layers"]):
            s.update(block_shapes(f"rite.blocks.{i}", d))
        s.update({"rite.norm.weight": (d,), "rite.norm.bias": (d,), **lin_shapes("rite.out", d, d)})
    s.update(dit_shapes(d, cfg["dit_layers"], cfg["patch_frames"], cfg["M"]))
    return s


def make_params(shapes, rng, std=0.2):
    """Random values everywhere (norm gains around 1), so no gradient is trivially zero."""
    out = {}
    for name, shape in shapes.items():
        v = rng.standard_normal(shape) * std
        if "norm" in name and name.endswith(".weight"):
            v = 1 + v
        out[name] = v.astype(np.float32)
    return out
