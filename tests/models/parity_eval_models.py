"""Parity of the evaluation models (models/tagger.c, models/contrast.c) with plain torch.

Written from the architecture documented in models/tagger.h and models/contrast.h; the text encoder
and transformer blocks come from tests/python/models_reference.py. Python makes the parameters
(random, non-zero everywhere) and a batch; `test_tagger parity KIND ...` builds the model from the
same config, loads the parameters strictly, and writes the loss (train = 0: the centre crop, no
dropout), its parts, every gradient and the eval API's outputs (tagger: embedding and per-head
logits over the eval windows; contrast: the three embeddings). Per tensor we require
max |c - torch| / max |torch| <= 1e-5; both sides must produce the same set of tensors.
Run: parity_eval_models.py PATH/TO/test_tagger WORKDIR
"""
import json
import math
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
# Two float32 implementations that sum in different orders err against float64 by amounts of the
# same size, not the same amount: where torch's error exceeds TOL / 4, C's was up to 2.3x it with
# the very same libtorch ops and up to 3.0x with the fused GELU and short attention (core/fused.h).
# A wrong formula errs by orders of magnitude more.
ROUNDING_FACTOR = 5
FAILURES = 0
CHECKED = 0
INSTRUMENTS = ["piano", "strings", "guitar", "brass", "synth_lead", "organ", "woodwind", "bass_drums"]
PATTERNS = ["arpeggio", "chords", "groove", "melody"]
EDGES = [95.0, 110.0, 125.0]
RHYTHM = 16  # rhythm channels of the autocorrelation


def compare(tag, got, want, scale=None, rounding=None):
    """scale: name -> the magnitude a tensor's error is measured against, instead of its own max.
    rounding: the same reference computed in float32 when `want` is float64; a tensor may then
    differ from `want` by up to ROUNDING_FACTOR times as much as that one does (at least TOL)."""
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
        ref_size = max(np.abs(b).max(), (scale or {}).get(k, 0.0), 1e-30)
        rel = np.abs(a - b).max() / ref_size if a.size else 0.0
        tol, note = TOL, ""
        if rounding is not None and k in rounding and a.size:
            noise = np.abs(np.asarray(rounding[k], dtype=np.float64) - b).max() / ref_size
            tol = max(TOL, ROUNDING_FACTOR * noise)
            note = f" (vs float64; torch float32's error {noise:.1e}, tolerance {tol:.1e})"
        bad = not rel <= tol
        FAILURES += bad
        print(f"{'FAIL' if bad else 'ok  '} {tag:9s} {k:36s} max rel err {rel:.2e}{note}")


# ---------------------------------------------------------------------------- the reference

def block_shapes(prefix, d):
    return {f"{prefix}.norm1.weight": [d], f"{prefix}.norm1.bias": [d], f"{prefix}.attn.qkv.weight": [3 * d, d],
            f"{prefix}.attn.qkv.bias": [3 * d], f"{prefix}.attn.proj.weight": [d, d], f"{prefix}.attn.proj.bias": [d],
            f"{prefix}.norm2.weight": [d], f"{prefix}.norm2.bias": [d], f"{prefix}.mlp.fc.weight": [4 * d, d],
            f"{prefix}.mlp.fc.bias": [4 * d], f"{prefix}.mlp.proj.weight": [d, 4 * d], f"{prefix}.mlp.proj.bias": [d]}


def audio_shapes(cfg):
    s, cin, m = {}, 1, cfg["M"]
    for i, c in enumerate(cfg["channels"]):
        s.update({f"audio.conv.{i}.down.weight": [c, cin, 3, 3], f"audio.conv.{i}.down.bias": [c],
                  f"audio.conv.{i}.res.weight": [c, c, 3, 3], f"audio.conv.{i}.res.bias": [c]})
        cin, m = c, (m + 1) // 2
    d = cfg["d"]
    s.update({"audio.in.weight": [d, cin * m], "audio.in.bias": [d]})
    for i in range(cfg["audio_layers"]):
        s.update(block_shapes(f"audio.blocks.{i}", d))
    s.update({"audio.norm.weight": [d], "audio.norm.bias": [d]})
    if cfg["lags"]:
        s.update({"audio.rhythm.weight": [RHYTHM, d],
                  "audio.rhythm_out.weight": [d, RHYTHM * cfg["lags"]], "audio.rhythm_out.bias": [d]})
    return s


def audio_encoder(P, cfg, x):
    """x [B, T, M] normalised -> pooled [B, d]."""
    h = x[:, None]
    for i in range(len(cfg["channels"])):
        stride = 2 if i < cfg["time_stages"] else (1, 2)   # the mel axis only after time_stages
        h = F.relu(F.conv2d(h, P[f"audio.conv.{i}.down.weight"], P[f"audio.conv.{i}.down.bias"], stride=stride,
                            padding=1))
        h = h + F.relu(F.conv2d(h, P[f"audio.conv.{i}.res.weight"], P[f"audio.conv.{i}.res.bias"], padding=1))
    B, C, T, M = h.shape
    h = ref.linear(P, "audio.in", h.permute(0, 2, 1, 3).reshape(B, T, C * M)) + ref.sinusoid_table(np.arange(T), cfg["d"])
    for i in range(cfg["audio_layers"]):
        h = ref.block(P, f"audio.blocks.{i}", h, cfg["heads"])
    u = ref.layer_norm(P, "audio.norm", h)
    if not cfg["lags"]:
        return u.mean(1)
    r = ref.linear(P, "audio.rhythm", u)
    r = r - r.mean(1, keepdim=True)
    var = (r * r).mean(1) + 1e-5
    ac = [(r[:, :T - k] * r[:, k:]).mean(1) / var if k < T else torch.zeros(B, RHYTHM)
          for k in range(1, cfg["lags"] + 1)]
    return u.mean(1) + ref.linear(P, "audio.rhythm_out", torch.stack(ac, 1).reshape(B, -1))


def centre_crop(x, W):
    T = x.shape[1]
    if W == 0 or W >= T:
        return x
    off = (T - W) // 2
    return x[:, off:off + W]


def windows(x, W):
    """[B, T, M] -> list of [B, W, M]: hop W // 2, the last aligned to the end."""
    T = x.shape[1]
    if W == 0 or W >= T:
        return [x]
    hop = max(W // 2, 1)
    n = 1 + math.ceil((T - W) / hop)
    return [x[:, min(k * hop, T - W):min(k * hop, T - W) + W] for k in range(n)]


def l2n(x):
    return x * torch.rsqrt((x * x).sum(-1, keepdim=True) + 1e-12)


def tagger_classes(label):
    tempo = sum(label["tempo_bpm"] >= e for e in EDGES)
    return [INSTRUMENTS.index(label["instrument"]), PATTERNS.index(label["pattern"]), tempo,
            ["major", "minor"].index(label["mode"])]


def info_nce(a, b, s):
    logits = s * a @ b.T
    y = torch.arange(a.shape[0])
    acc = ((logits.argmax(1) == y).float().mean() + (logits.T.argmax(1) == y).float().mean()) / 2
    return (F.cross_entropy(logits, y) + F.cross_entropy(logits.T, y)) / 2, acc.item()


# ---------------------------------------------------------------------------- the tests

def run_c(exe, work, tag, kind, params, inputs, meta):
    fp, fi, fo = (os.path.join(work, f"{tag}_{x}.safetensors") for x in ("params", "inputs", "out"))
    st_io.save(fp, params)
    st_io.save(fi, inputs, meta)
    r = subprocess.run([exe, "parity", kind, fp, fi, fo], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL {tag}: C program failed ({r.returncode}): {r.stderr.strip()}")
        sys.exit(1)
    return st_io.load(fo)[0]


def batch(rng, cfg, B, T, Tv, captions):
    max_text = 24
    text = np.zeros((B, max_text), dtype=np.uint8)
    for i, c in enumerate(captions):
        text[i, :len(c)] = np.frombuffer(c, dtype=np.uint8)
    return {"audio": (rng.standard_normal((B, T, cfg["M"])) * 2 + 1).astype(np.float32),
            "mean": (rng.standard_normal(cfg["M"]) * 0.5 + 1).astype(np.float32),
            "std": rng.uniform(1.0, 3.0, cfg["M"]).astype(np.float32),
            "video": rng.uniform(0, 1, (B, Tv, cfg["video_dim"])).astype(np.float32),
            "text": text, "text_len": np.array([len(c) for c in captions], dtype=np.int32)}


def overrides(cfg, kind, extra=()):
    return ";".join([f"model.kind={kind}", f"model.d_model={cfg['d']}", f"model.n_heads={cfg['heads']}",
                     "model.cnn_channels=[" + ",".join(map(str, cfg["channels"])) + "]",
                     f"model.audio_layers={cfg['audio_layers']}", f"model.cnn_time_stages={cfg['time_stages']}",
                     f"model.audio_lags={cfg['lags']}",
                     f"model.embed_dim={cfg['E']}",
                     f"model.crop_frames={cfg['crop']}", f"data.n_mels={cfg['M']}", f"model.video_dim={cfg['video_dim']}",
                     f"model.video_layers={cfg['video_layers']}", f"model.text_layers={cfg['text_layers']}", *extra])


def test_tagger(exe, work, rng, cfg):
    labels = [{"instrument": "organ", "pattern": "groove", "tempo_bpm": 96.0, "mode": "minor"},
              {"instrument": "piano", "pattern": "melody", "tempo_bpm": 131.0, "mode": "major"},
              {"instrument": "bass_drums", "pattern": "arpeggio", "tempo_bpm": 110.0, "mode": "minor"}]
    heads = {"instrument": len(INSTRUMENTS), "pattern": len(PATTERNS), "tempo": len(EDGES) + 1, "mode": 2}
    shapes = audio_shapes(cfg)
    shapes.update({"embed.weight": [cfg["E"], cfg["d"]], "embed.bias": [cfg["E"]]})
    for h, n_cls in heads.items():
        shapes.update({f"head.{h}.weight": [n_cls, cfg["E"]], f"head.{h}.bias": [n_cls]})
    params = ref.make_params(shapes, rng)
    inputs = batch(rng, cfg, 3, 40, 4, [b"x", b"", b"yz"])
    meta = {"overrides": overrides(cfg, "tagger"), "labels": "\n".join(json.dumps(l) for l in labels)}
    got = run_c(exe, work, "tagger", "tagger", params, inputs, meta)

    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    x = (torch.tensor(inputs["audio"]) - torch.tensor(inputs["mean"])) / torch.tensor(inputs["std"])
    emb = ref.gelu(ref.linear(P, "embed", audio_encoder(P, cfg, centre_crop(x, cfg["crop"]))))
    target = torch.tensor([tagger_classes(l) for l in labels])
    loss, want = 0, {}
    for i, h in enumerate(heads):
        logits = ref.linear(P, f"head.{h}", emb)
        ce = F.cross_entropy(logits, target[:, i])
        loss = loss + ce
        want[f"part.ce_{h}"] = np.float64(ce.item())
        want[f"part.acc_{h}"] = np.float64((logits.argmax(1) == target[:, i]).float().mean().item())
    loss.backward()
    want.update({"loss": loss.detach().numpy(), **{"grad." + k: v.grad.numpy() for k, v in P.items()}})
    with torch.no_grad():
        e = torch.stack([ref.gelu(ref.linear(P, "embed", audio_encoder(P, cfg, w)))
                         for w in windows(x, cfg["crop"])]).mean(0)
        want["emb"] = e.numpy()
        for h in heads:
            want[f"logits.{h}"] = ref.linear(P, f"head.{h}", e).numpy()
    compare("tagger", got, want)


def test_contrast(exe, work, rng, tag, cfg, use_video=True, use_text=True):
    d, D = cfg["d"], cfg["E"]
    shapes = audio_shapes(cfg)
    shapes["audio_proj.weight"] = [D, d]
    if use_video:
        shapes.update({"video.in.weight": [d, cfg["video_dim"]], "video.in.bias": [d], "video.norm.weight": [d],
                       "video.norm.bias": [d], "video_proj.weight": [D, d]})
        for i in range(cfg["video_layers"]):
            shapes.update(block_shapes(f"video.blocks.{i}", d))
    if use_text:
        shapes.update({"text.embed": [ref.TEXT_VOCAB, d], "text.norm.weight": [d], "text.norm.bias": [d],
                       "text_proj.weight": [D, d]})
        for i in range(cfg["text_layers"]):
            shapes.update(block_shapes(f"text.blocks.{i}", d))
    params = ref.make_params(shapes, rng)
    params["logit_scale"] = np.array([math.log(1 / 0.25)], dtype=np.float32)
    captions = [b"warm strings", b"", b"brass, fast", b"piano"]
    inputs = batch(rng, cfg, 4, 36, 5, captions)
    extra = [f"model.use_video={str(use_video).lower()}", f"model.use_text={str(use_text).lower()}"]
    got = run_c(exe, work, tag, "contrast", params, inputs, {"overrides": overrides(cfg, "contrast", extra)})
    # The InfoNCE gradients of a tiny batch are ill-conditioned: float32 round-off anywhere (the GELU,
    # an attention sum) moves contr-vid's gradients by up to 3e-5 relative. So the C side is held
    # to the float64 reference, each tensor allowed ROUNDING_FACTOR times the error torch's own
    # float32 run of the same reference makes (or TOL, whichever is larger).
    want = contrast_reference(cfg, params, inputs, use_video, use_text, torch.float64)
    rounding = contrast_reference(cfg, params, inputs, use_video, use_text, torch.float32)
    # d loss / d logit_scale sums terms the size of the loss that largely cancel: its round-off is
    # relative to the loss, not to the (small) sum
    compare(tag, got, want, scale={"grad.logit_scale": abs(float(want["loss"]))}, rounding=rounding)


def contrast_reference(cfg, params, inputs, use_video, use_text, dtype):
    """loss, parts, gradients and embeddings of the contrastive model in torch, computed in dtype"""
    d = cfg["d"]
    P = {k: torch.tensor(v, dtype=dtype, requires_grad=True) for k, v in params.items()}
    x = (torch.tensor(inputs["audio"], dtype=dtype) - torch.tensor(inputs["mean"], dtype=dtype)) / torch.tensor(
        inputs["std"], dtype=dtype)
    video = torch.tensor(inputs["video"], dtype=dtype)
    ids, valid = ref.text_tokens(inputs["text"], inputs["text_len"])
    tcfg = {"d": d, "heads": cfg["heads"], "text_layers": cfg["text_layers"]}

    def video_emb(v):
        h = ref.linear(P, "video.in", v) + ref.sinusoid_table(np.arange(v.shape[1]), d)
        for i in range(cfg["video_layers"]):
            h = ref.block(P, f"video.blocks.{i}", h, cfg["heads"])
        return l2n(ref.linear(P, "video_proj", ref.layer_norm(P, "video.norm", h).mean(1)))

    def text_emb():
        h = ref.text_encoder(P, tcfg, ids, valid)
        w = valid[:, :, None].float()
        return l2n(ref.linear(P, "text_proj", (h * w).sum(1) / w.sum(1)))

    a = l2n(ref.linear(P, "audio_proj", audio_encoder(P, cfg, centre_crop(x, cfg["crop"]))))
    s = torch.exp(torch.clamp(P["logit_scale"], 0.0, math.log(100.0)))
    loss, want = 0, {}
    if use_video:
        lv, acc = info_nce(video_emb(video), a, s)
        loss = loss + lv
        want.update({"part.nce_video": np.float64(lv.item()), "part.acc_video": np.float64(acc)})
    if use_text:
        lt, acc = info_nce(text_emb(), a, s)
        loss = loss + lt
        want.update({"part.nce_text": np.float64(lt.item()), "part.acc_text": np.float64(acc)})
    want["part.temperature"] = np.float64(1 / s.item())
    loss.backward()
    want.update({"loss": loss.detach().numpy(), **{"grad." + k: v.grad.numpy() for k, v in P.items()}})
    with torch.no_grad():
        pooled = torch.stack([audio_encoder(P, cfg, w) for w in windows(x, cfg["crop"])]).mean(0)
        want["emb_audio"] = l2n(ref.linear(P, "audio_proj", pooled)).numpy()
        if use_video:
            want["emb_video"] = video_emb(video).numpy()
        if use_text:
            want["emb_text"] = text_emb().numpy()
    return want


def main():
    exe, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(1)
    rng = np.random.default_rng(20260302)
    # the tagger's crops of 24 frames make 6 time tokens: its lags 6 and 7 are the zeros past them
    cfg = {"d": 16, "heads": 2, "channels": [4, 6, 8], "time_stages": 2, "lags": 7, "audio_layers": 1, "E": 12,
           "crop": 24, "M": 10, "video_dim": 5, "video_layers": 1, "text_layers": 1}
    test_tagger(exe, work, rng, cfg)
    test_contrast(exe, work, rng, "contrast", {**cfg, "crop": 0, "audio_layers": 2, "lags": 3})
    test_contrast(exe, work, rng, "contr-vid", {**cfg, "crop": 16, "time_stages": 0, "lags": 0}, use_text=False)
    print(f"{CHECKED - FAILURES} passed, {FAILURES} failed")
    sys.exit(1 if FAILURES or CHECKED == 0 else 0)


if __name__ == "__main__":
    main()
