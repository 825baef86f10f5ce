#!/usr/bin/env bash
# What model.rollout_prob (parallel scheduled sampling, models/robin.c own_samples) costs per
# training step of the `small` model: bench_robin_step (the trainer's step without loader and MPI)
# without rollout and with model.rollout_steps 2 / 4 / 8, at the trainer's default threads
# (runtime.torch_threads 1, runtime.blas_threads 0 = OpenBLAS's 2) and at 1 BLAS thread (one rank of
# two on 2 cores), the sampler on 1 and on 2 threads (runtime.rollout_threads)
# -> results/bench/rollout_cost.{md,json}. About 8 minutes on an idle 2-core machine.
# The cost does not depend on the probability: every patch is sampled, the draw picks which are fed back.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
cmake --build "$BUILD" --target bench_robin_step >/dev/null
T0=$(date +%s)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for blas in 0 1; do
  for s in 0 2 4 8; do
    for rt in 1 2; do
      [ "$s" = 0 ] && [ "$rt" = 2 ] && continue
      ov=(runtime.blas_threads=$blas runtime.rollout_threads=$rt)
      [ "$s" != 0 ] && ov+=(model.rollout_prob=0.5 model.rollout_steps=$s)
      echo "blas_threads $blas, rollout_steps $s, rollout_threads $rt" >&2
      "$BUILD/bench_robin_step" configs/model/small.yaml --steps 4 --warmup 1 "${ov[@]}" \
        > "$tmp/b${blas}_s${s}_t$rt.json"
    done
  done
done
COMMIT=$(git rev-parse --short=12 HEAD) DIRTY=$(git status --porcelain --untracked-files=no | head -c1) \
WALL=$(( $(date +%s) - T0 )) LOAD="$(cut -d' ' -f1-3 /proc/loadavg)" \
/usr/bin/python3 - "$tmp" <<'PYEOF'
import json, os, platform, statistics, sys
tmp = sys.argv[1]
rows, out = [], {}
for blas in (0, 1):
    base = None
    for s, rt in [(0, 1)] + [(s, rt) for rt in (1, 2) for s in (2, 4, 8)]:
        j = json.load(open(f"{tmp}/b{blas}_s{s}_t{rt}.json"))
        ms = statistics.median(j["step_ms"])
        fwd = statistics.median(j["parts_ms"]["forward"])
        base = ms if s == 0 else base
        out[f"blas{blas}_rollout{s}_threads{rt}"] = {"step_ms": j["step_ms"], "median_ms": ms, "forward_ms": fwd}
        rows.append(f"| {'2 (default)' if blas == 0 else '1'} | {'off' if s == 0 else s} | {'' if s == 0 else rt} | "
                    f"{ms:,.0f} | {fwd:,.0f} | {ms / base:.2f}× |")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
head = [
    "# What `model.rollout_prob` costs per training step (`small` model, batch 8)", "",
    "- command: `bench/run_rollout_cost_bench.sh`",
    f"- commit {os.environ['COMMIT']}{' (+ uncommitted changes)' if os.environ['DIRTY'] else ''}; {cpu}, "
    f"{os.cpu_count()} cores; load average before {os.environ['LOAD']}; {os.environ['WALL']} s in all",
    "- `bench_robin_step configs/model/small.yaml --steps 4 --warmup 1` (the trainer's step: loss, backward, "
    "clipping, AdamW, EMA; no loader, no MPI), median of 4 steps; runtime.torch_threads 1",
    "- with rollout: `model.rollout_prob=0.5 model.rollout_steps=S`; every patch of the batch (800) is sampled "
    "without gradient (teacher-forced plan, S Euler steps of the C LocDiT kernel, guidance: 2 passes per step, "
    "on `runtime.rollout_threads` threads), so the cost does not depend on the probability", "",
    "| BLAS threads | rollout steps | sampler threads | step, ms | forward (with the sampling), ms | vs no rollout |",
    "|---:|---:|---:|---:|---:|---:|"]
open("results/bench/rollout_cost.md", "w").write("\n".join(head + rows) + "\n")
json.dump(out, open("results/bench/rollout_cost.json", "w"), indent=1)
print("\n".join(head + rows))
PYEOF
