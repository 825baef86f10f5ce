"""Parity of the C transformer block (models/nn.c through core/tt) with PyTorch.

Python makes weights and inputs, the C program computes output, loss and all gradients, and we
compare with the same math in torch: max relative error (max |c - torch| / max |torch|) per
tensor must be <= 1e-5 in float32. Run: parity_block.py PATH/TO/test_parity_block WORKDIR
"""
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_io  # noqa: E402

TOL = 1e-5


def reference(w, n_heads, rms):
    t = {k: torch.tensor(v, requires_grad=(v.dtype == np.float32)) for k, v in w.items()}

    def norm(x, prefix, use_rms):
        if use_rms:
            return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + 1e-6) * t[prefix + ".weight"]
        return F.layer_norm(x, (x.shape[-1],), t[prefix + ".weight"], t[prefix + ".bias"], 1e-5)

    def lin(x, prefix, bias=True):
        return F.linear(x, t[prefix + ".weight"], t[prefix + ".bias"] if bias else None)

    h = lin(t["x"], "in")
    B, T, C = h.shape
    D = C // n_heads
    a = norm(h, "block.norm1", rms)
    qkv = lin(a, "block.attn.qkv").reshape(B, T, 3, n_heads, D).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    scores = q @ k.transpose(-2, -1) / (D ** 0.5)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    scores = scores.masked_fill(~causal, float("-inf"))
    y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
    h = h + lin(y, "block.attn.proj")
    m = norm(h, "block.norm2", rms)
    h = h + lin(F.gelu(lin(m, "block.mlp.fc"), approximate="tanh"), "block.mlp.proj")
    out = norm(h, "final_norm", False)
    logits = lin(out, "head", bias=False)
    loss = F.mse_loss(out, t["target"]) + F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                          t["labels"].reshape(-1))
    loss.backward()
    res = {"out": out.detach().numpy(), "loss": loss.detach().numpy()}
    for k, v in t.items():
        if v.requires_grad:
            res["grad." + k] = v.grad.numpy()
    return res


def make_weights(rng, B, T, Din, C, hidden, V, rms):
    def n(*shape, std=0.2):
        return (rng.standard_normal(shape) * std).astype(np.float32)
    w = {"x": n(B, T, Din, std=1.0), "target": n(B, T, C, std=1.0),
         "labels": rng.integers(0, V, size=(B, T)).astype(np.int64),
         "in.weight": n(C, Din), "in.bias": n(C),
         "block.norm1.weight": 1 + n(C), "block.norm2.weight": 1 + n(C),
         "block.attn.qkv.weight": n(3 * C, C), "block.attn.qkv.bias": n(3 * C),
         "block.attn.proj.weight": n(C, C), "block.attn.proj.bias": n(C),
         "block.mlp.fc.weight": n(hidden, C), "block.mlp.fc.bias": n(hidden),
         "block.mlp.proj.weight": n(C, hidden), "block.mlp.proj.bias": n(C),
         "final_norm.weight": 1 + n(C), "final_norm.bias": n(C), "head.weight": n(V, C)}
    if not rms:
        w["block.norm1.bias"] = n(C)
        w["block.norm2.bias"] = n(C)
    return w


def main():
    exe, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(1)
    rng = np.random.default_rng(1234)
    failures = 0
    checked = 0
    for rms in (0, 1):
        for (B, T, Din, C, H, hidden, V) in [(2, 7, 5, 32, 4, 64, 11), (3, 16, 12, 64, 8, 96, 17)]:
            w = make_weights(rng, B, T, Din, C, hidden, V, rms)
            fin = os.path.join(work, f"parity_in_{rms}_{C}.safetensors")
            fout = os.path.join(work, f"parity_out_{rms}_{C}.safetensors")
            st_io.save(fin, w, {"n_heads": H, "rms": rms})
            r = subprocess.run([exe, fin, fout], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"C program failed ({r.returncode}): {r.stderr}")
                sys.exit(1)
            got, _ = st_io.load(fout)
            ref = reference(w, H, rms)
            missing = set(ref) - set(got)
            if missing:
                print(f"FAIL rms={rms} C={C}: C did not produce {sorted(missing)}")
                failures += 1
            for k in sorted(ref):
                if k not in got:
                    continue
                a, b = got[k].astype(np.float64), ref[k].astype(np.float64)
                if a.shape != b.shape:
                    print(f"FAIL {k}: shape {a.shape} vs torch {b.shape}")
                    failures += 1
                    continue
                rel = np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)
                checked += 1
                status = "ok  " if rel <= TOL else "FAIL"
                failures += rel > TOL
                print(f"{status} rms={rms} C={C:3d} {k:32s} max rel err {rel:.2e}")
    print(f"{checked - failures} passed, {failures} failed")
    sys.exit(1 if failures or checked == 0 else 0)


if __name__ == "__main__":
    main()
