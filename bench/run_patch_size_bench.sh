#!/usr/bin/env bash
# Patch size as a measured choice (issue 9): generation latency of the `small` Video-Robin model at
# several patch sizes (model.patch_frames: 5 = 100 ms, the default, one patch per 10-fps video frame;
# 10 = 200 ms, half as many planner steps and LocDiT calls over twice the tokens), batch 1, 10 and 20
# Euler steps with CFG, LocDiT on the C kernel with one thread and with its CFG branches on two
# -> results/bench/patch_size.{md,json}. Random weights: latency depends on shapes only. Quality at
# each patch size needs trained models (results/reproduce_small.md, "Patch size").
# usage: bench/run_patch_size_bench.sh [rounds (default 2)] [patch sizes (default 5,10)]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WORK=${WORK:-$BUILD/bench_patch_size}
ROUNDS=${1:-2}
PATCHES=${2:-5,10}
PY=${PYTHON:-/usr/bin/python3}
. bench/generate_setup.sh # bench_generate built, WORK/clip.mp4 written
T0=$(date +%s)
for r in $(seq 1 "$ROUNDS"); do # rounds alternate the patch sizes, so load from elsewhere hits all alike
    echo "== round $r/$ROUNDS"
    for p in ${PATCHES//,/ }; do
        "$BUILD/bench_generate" "$WORK/clip.mp4" configs/model/small.yaml --steps 10,20 --no-kv none --fast on \
            --two-threads 10,20 --repeats 1 --json "$WORK/p${p}_$r.json" model.patch_frames="$p" >/dev/null 2>&1
    done
done
"$PY" - "$WORK" "$ROUNDS" "$PATCHES" "$(($(date +%s) - T0))" "$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" <<'PYEOF'
import json, sys
work, rounds, patches, wall, commit = sys.argv[1], int(sys.argv[2]), [int(p) for p in sys.argv[3].split(",")], sys.argv[4], sys.argv[5]
best, machine, params = {}, None, {}
for r in range(1, rounds + 1):
    for p in patches:
        j = json.load(open(f"{work}/p{p}_{r}.json"))
        machine, params[p] = j["machine"], j["model"]["parameters"]
        for row in j["rows"]:
            st = {k: row[k + "_s"] for k in ("planner", "rite", "locdit")}
            st["model"] = sum(st.values())
            key = (p, row["steps"], row["locdit_threads"])
            if key not in best or st["model"] < best[key]["model"]:
                best[key] = st
res = {"commit": commit, "rounds": rounds, "wall_s": int(wall), "machine": machine, "parameters": params,
       "rows": [{"patch_frames": k[0], "steps": k[1], "locdit_threads": k[2], **v} for k, v in sorted(best.items())]}
out = "results/bench/patch_size"
json.dump(res, open(out + ".json", "w"), indent=1)
L = ["# Patch size: generation latency of the small model at batch 1", "",
     f"`bench/run_patch_size_bench.sh {rounds} {sys.argv[3]}` at commit {commit}, {wall} s of wall time; machine: "
     f"{machine.get('cpu')}, {machine.get('cores')} cores, 1024² matmul {machine.get('matmul_1024_gflops')} GFLOP/s.", "",
     "The `small` model (configs/model/small.yaml) with `model.patch_frames` set, random weights; one 10-s clip, CFG scale 2, "
     "KV cache, Euler; LocDiT through the C kernel on one thread, and with its two CFG branches on two threads "
     "(`--dit-threads 2`). Model stages only (planner = encoders + prefill + planner steps + FSQ); the fastest of the "
     "rounds per row. A patch of F frames at 50 mel frames/s lasts 20·F ms; a 10-s clip has 500 / F patches.", "",
     "| patch frames (ms) | patches per clip | parameters | steps | planner s | RITE s | LocDiT s, 1 thread | model s, 1 thread | model s, CFG on 2 threads |",
     "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
for p in patches:
    for s in (10, 20):
        a, b = best.get((p, s, 1)), best.get((p, s, 2))
        if not a:
            continue
        L.append(f"| {p} ({20 * p} ms) | {500 // p} | {params[p] / 1e6:.2f} M | {s} | {a['planner']:.3f} | {a['rite']:.3f} | "
                 f"{a['locdit']:.3f} | **{a['model']:.3f}** | {b['model']:.3f} |" if b else "")
L.append("")
open(out + ".md", "w").write("\n".join(L))
print("\n".join(L))
PYEOF
