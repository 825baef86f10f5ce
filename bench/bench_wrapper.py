"""Wrapper benchmark, C vs Python, one run on one machine.

Runs build/bench_wrapper (the C side) and then the same work in Python torch (Debian's
python3-torch is the same libtorch 1.13), then writes results/bench/wrapper.{md,json}.
Usage: bench_wrapper.py BUILD_DIR [OUT_DIR]
"""
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import torch
import torch.nn.functional as F


def bench_small_ops(iters):
    g = torch.Generator().manual_seed(0)
    x, w, b = torch.randn(64, 64, generator=g), torch.randn(64, 64, generator=g), torch.randn(64, generator=g)
    best = 1e30
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(iters):
            F.gelu(torch.matmul(x, w) + b)
        best = min(best, time.perf_counter() - t0)
    return best / iters * 1e6


def bench_block(B, T, Din, C, H, hidden, V, steps):
    g = torch.Generator().manual_seed(0)

    def p(*shape, std=0.02, fill=None):
        t = torch.full(shape, fill) if fill is not None else torch.randn(*shape, generator=g) * std
        return t.requires_grad_(True)
    P = {"in.w": p(C, Din), "in.b": p(C, fill=0.0), "n1.w": p(C, fill=1.0), "n1.b": p(C, fill=0.0),
         "qkv.w": p(3 * C, C), "qkv.b": p(3 * C, fill=0.0), "proj.w": p(C, C), "proj.b": p(C, fill=0.0),
         "n2.w": p(C, fill=1.0), "n2.b": p(C, fill=0.0), "fc.w": p(hidden, C), "fc.b": p(hidden, fill=0.0),
         "fp.w": p(C, hidden), "fp.b": p(C, fill=0.0), "nf.w": p(C, fill=1.0), "nf.b": p(C, fill=0.0),
         "head.w": p(V, C)}
    x, target = torch.randn(B, T, Din, generator=g), torch.randn(B, T, C, generator=g)
    labels = torch.randint(0, V, (B * T,), generator=g)
    D = C // H
    times = []
    for s in range(steps + 2):
        t0 = time.perf_counter()
        for t in P.values():
            t.grad = None
        h = F.linear(x, P["in.w"], P["in.b"])
        a = F.layer_norm(h, (C,), P["n1.w"], P["n1.b"], 1e-5)
        qkv = F.linear(a, P["qkv.w"], P["qkv.b"]).reshape(B, T, 3, H, D).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        sc = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / D ** 0.5)
        sc = sc.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
        y = torch.matmul(sc.softmax(-1), v).transpose(1, 2).reshape(B, T, C)
        h = h + F.linear(y, P["proj.w"], P["proj.b"])
        m = F.layer_norm(h, (C,), P["n2.w"], P["n2.b"], 1e-5)
        h = h + F.linear(F.gelu(F.linear(m, P["fc.w"], P["fc.b"]), approximate="tanh"), P["fp.w"], P["fp.b"])
        out = F.layer_norm(h, (C,), P["nf.w"], P["nf.b"], 1e-5)
        logits = F.linear(out, P["head.w"]).reshape(B * T, V)
        loss = F.mse_loss(out, target) + F.cross_entropy(logits, labels)
        loss.backward()
        if s >= 2:
            times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1e3


def main():
    build = sys.argv[1]
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "results", "bench")
    torch.set_num_threads(1)  # same policy as the C side (DESIGN.md §4)
    # C and Python alternate three times and each keeps its best round, so a burst of load from
    # elsewhere on a shared machine does not decide the ratio.
    c, py = None, None
    for _ in range(3):
        ci = json.loads(subprocess.run([os.path.join(build, "bench_wrapper"), "1"], check=True,
                                       capture_output=True, text=True).stdout)
        pi = {"small_ops_us": bench_small_ops(10000), "block_ms": bench_block(4, 100, 64, 256, 4, 1024, 64, 20)}
        if c is None:
            c, py = ci, pi
        else:
            c.update({k: (max if k == "matmul_gflops" else min)(c[k], ci[k])
                      for k in ("matmul_gflops", "small_ops_us", "block_ms")})
            py = {k: min(py[k], pi[k]) for k in py}
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    commit = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "rev-parse", "--short=12", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    res = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "commit": commit, "machine": f"{cpu}, {os.cpu_count()} cores, {platform.system()}",
           "torch": torch.__version__, "c": c, "python": py,
           "ratio_small_ops_c_over_py": c["small_ops_us"] / py["small_ops_us"],
           "ratio_block_c_over_py": c["block_ms"] / py["block_ms"]}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "wrapper.json"), "w") as f:
        json.dump(res, f, indent=2)
    md = f"""# Wrapper benchmark (C through core/tt vs Python torch, same libtorch, one run)

- command: `bench/run_wrapper_bench.sh` (= `/usr/bin/python3 bench/bench_wrapper.py build`)
- commit {commit}, {res['date']}
- machine: {res['machine']}; libtorch {torch.__version__}; 1 torch thread each; BLAS `{c['blas']}` ({c['blas_threads']} threads)

| benchmark | C (vrobin) | Python torch | C / Python |
|---|---|---|---|
| 1024² f32 matmul (best of 3 rounds × 10) | {c['matmul_gflops']:.1f} GFLOP/s | | |
| 10,000 × (64×64 matmul + add + GELU), per iteration | {c['small_ops_us']:.2f} µs | {py['small_ops_us']:.2f} µs | {res['ratio_small_ops_c_over_py']:.2f} |
| parity block fwd+bwd (B 4, T 100, C 256, MLP 1024), median step | {c['block_ms']:.2f} ms | {py['block_ms']:.2f} ms | {res['ratio_block_c_over_py']:.2f} |

Each number is the best of three alternating C/Python rounds (median step within a round for the
block). Lower is better for times; a ratio below 1 means the C path is faster.
"""
    with open(os.path.join(out_dir, "wrapper.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
