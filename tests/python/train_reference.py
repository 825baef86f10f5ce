"""Replays the optimiser case of tests/train/test_optim.c with PyTorch and compares.

usage: train_reference.py TEST_OPTIM_BINARY WORKDIR

The C test writes WORKDIR/optim_case.safetensors: the initial weights, each step's gradients (a
parameter without a gradient at a step has none: torch sees grad None and skips it), the learning
rates and gradient norms it used, and its final weights, AdamW moments and EMA. Here the same
steps run through torch.nn.utils.clip_grad_norm_ and torch.optim.AdamW (foreach=False, the
single-tensor path vrobin follows), with the learning rate from an independent implementation of
the warmup + cosine schedule, and the EMA as e.lerp_(p, 1 - decay). Every quantity must agree
within a relative error of 1e-6. Fails (does not skip) when torch or numpy is missing.
"""
import math
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

# the schedule test_optim.c uses: lr 0.05, 3 warmup steps, cosine to 0.1 * lr over 12 steps
LR, WARMUP, MIN_RATIO = 0.05, 3, 0.1


def schedule(s, total):
    if s < WARMUP:
        return LR * (s + 1) / WARMUP
    progress = min(1.0, (s - WARMUP) / max(1, total - WARMUP))
    return LR * (MIN_RATIO + (1 - MIN_RATIO) * 0.5 * (1 + math.cos(math.pi * progress)))


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-30))


def main():
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    subprocess.run([binary, "--dump", work], check=True, stdout=subprocess.DEVNULL)
    t, meta = st_io.load(os.path.join(work, "optim_case.safetensors"))
    steps = int(float(meta["steps"]))
    b1, b2 = float(meta["beta1"]), float(meta["beta2"])
    eps, wd = float(meta["eps"]), float(meta["weight_decay"])
    max_norm, decay = float(meta["max_norm"]), float(meta["ema_decay"])
    names = sorted(k[len("init."):] for k in t if k.startswith("init."))
    params = {n: torch.nn.Parameter(torch.from_numpy(t["init." + n].copy())) for n in names}
    ema = {n: params[n].detach().clone() for n in names}
    opt = torch.optim.AdamW(list(params.values()), lr=LR, betas=(b1, b2), eps=eps, weight_decay=wd, foreach=False)
    failures, worst = [], {}

    def check(what, err):
        worst[what] = max(worst.get(what, 0.0), err)
        if not err <= 1e-6:
            failures.append("%s: rel err %.3g" % (what, err))

    for k in range(steps):
        for n in names:
            g = t.get("grad.%d.%s" % (k, n))
            params[n].grad = None if g is None else torch.from_numpy(g.copy())
        norm = torch.nn.utils.clip_grad_norm_([p for p in params.values() if p.grad is not None], max_norm)
        check("grad norm", rel([t["norm"][k]], [norm.item()]))
        lr = schedule(k, steps)
        check("learning rate", rel([t["lr"][k]], [lr]))
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        with torch.no_grad():
            for n in names:
                ema[n].lerp_(params[n], 1 - decay)

    for n in names:
        st = opt.state[params[n]]
        check("weights", rel(params[n].detach().numpy(), t["final." + n]))
        check("exp_avg", rel(st["exp_avg"].numpy(), t["exp_avg." + n]))
        check("exp_avg_sq", rel(st["exp_avg_sq"].numpy(), t["exp_avg_sq." + n]))
        check("ema", rel(ema[n].numpy(), t["ema." + n]))
    print("vrobin vs torch.optim.AdamW + clip_grad_norm_ over %d steps, max rel err: %s"
          % (steps, ", ".join("%s %.2e" % kv for kv in worst.items())))
    for f in failures:
        print("FAIL", f)
    print("%d passed, %d failed" % (len(worst) - len(set(f.split(":")[0] for f in failures)),
                                    len(set(f.split(":")[0] for f in failures))))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
