#!/usr/bin/env bash
# Generation speed, C toolkit vs a Python/PyTorch peer of the same model, in one run (issue 9)
# -> results/bench/generate_speed.{md,json}.
#   - the `small` Video-Robin model (random weights, perturbed so LocDiT's zero-initialised output
#     layers do not make the music the noise itself), a 10-s 640x360 clip, batch 1, CFG, KV cache;
#   - C: bench/bench_generate.c's stages (planner, RITE, LocDiT through the C kernel and through
#     libtorch ops), and the full-sequence DiT baseline (configs/model/fullseq_small.yaml);
#   - Python: bench/bench_generate_py.py — the same weights, video features, caption and sampling
#     noise, its latent compared with the C one (max abs difference in the table);
#   - rounds alternate C and Python; each keeps its fastest round, so load from elsewhere does not
#     decide the ratio. Threads: 1 torch thread, OpenBLAS's default (2) threads on both sides.
# usage: bench/run_generate_speed_bench.sh [rounds (default 3)] [steps list (default 10,20)]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WORK=${WORK:-$BUILD/bench_generate_speed}
ROUNDS=${1:-3}
STEPS=${2:-10,20}
PY=${PYTHON:-/usr/bin/python3}
cmake --build "$BUILD" --target bench_generate >/dev/null
mkdir -p "$WORK" results/bench
ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=24 -t 10 -c:v libx264 -pix_fmt yuv420p "$WORK/clip.mp4"
T0=$(date +%s)
for s in ${STEPS//,/ }; do
    "$BUILD/bench_generate" "$WORK/clip.mp4" configs/model/small.yaml --steps "$s" --dump "$WORK/dump_$s"
done
for r in $(seq 1 "$ROUNDS"); do
    echo "== round $r/$ROUNDS"
    for s in ${STEPS//,/ }; do
        "$BUILD/bench_generate" "$WORK/clip.mp4" configs/model/small.yaml --steps "$s" --no-kv none --fast both \
            --two-threads none --repeats 1 --json "$WORK/c_robin_${s}_$r.json" 2>/dev/null
        "$BUILD/bench_generate" "$WORK/clip.mp4" configs/model/fullseq_small.yaml --steps "$s" --no-kv none --fast on \
            --two-threads none --repeats 1 --json "$WORK/c_fullseq_${s}_$r.json" 2>/dev/null
        "$PY" bench/bench_generate_py.py "$WORK/dump_$s" --json "$WORK/py_${s}_$r.json" >/dev/null
    done
done
"$PY" - "$WORK" "$ROUNDS" "$STEPS" "$(($(date +%s) - T0))" "$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" <<'PYEOF'
import glob, json, os, platform, sys
work, rounds, steps, wall, commit = sys.argv[1], int(sys.argv[2]), [int(s) for s in sys.argv[3].split(",")], sys.argv[4], sys.argv[5]
def keep(best, key, row):
    """the fastest round of one implementation (model stages: planner + RITE + LocDiT)"""
    st = {k: row[k + "_s"] for k in ("planner", "rite", "locdit", "total")}
    st["model"] = st["planner"] + st["rite"] + st["locdit"]
    if key not in best or st["model"] < best[key]["model"]:
        best[key] = st
res = {"commit": commit, "rounds": rounds, "wall_s": int(wall), "steps": {}}
machine = None
for s in steps:
    best = {}
    for r in range(1, rounds + 1):
        cj = json.load(open(f"{work}/c_robin_{s}_{r}.json"))
        machine = cj["machine"]
        for row in cj["rows"]:
            key = "C, LocDiT C kernel" if row["locdit"] == "c" else "C, LocDiT libtorch ops"
            keep(best, key, row)
        keep(best, "C, fullseq_dit", json.load(open(f"{work}/c_fullseq_{s}_{r}.json"))["rows"][0])
        pj = json.load(open(f"{work}/py_{s}_{r}.json"))
        if "Python peer" not in best or pj["seconds"]["model"] < best["Python peer"]["model"]:
            best["Python peer"] = dict(pj["seconds"], total=None, diff=pj["max_abs_diff_vs_c"])
    res["steps"][str(s)] = best
res["machine"] = machine
out = "results/bench/generate_speed"
json.dump(res, open(out + ".json", "w"), indent=1)
L = ["# Generation speed: the C toolkit vs a Python/PyTorch peer of the same model (one run)", "",
     f"`bench/run_generate_speed_bench.sh {rounds} {sys.argv[3]}` at commit {commit}, {wall} s of wall time; "
     f"machine: {machine.get('cpu')}, {machine.get('cores')} cores, {machine.get('blas')}, 1024² matmul "
     f"{machine.get('matmul_1024_gflops')} GFLOP/s; load before/after the last C run: {machine.get('load_before')} / {machine.get('load_after')}.", "",
     "The `small` model (d 256; planner 6, RITE 2, LocDiT 4 layers), random weights perturbed by 0.05·N(0,1) "
     "(LocDiT's zero-initialised output layers would otherwise make the output the noise itself), one 10-s clip "
     "(100 patches of 5 mel frames), batch 1, CFG scale 2, KV cache, Euler. Model stages only (planner = text/video "
     "encoders + prefill + audio history + planner steps + FSQ; RITE; LocDiT); video decoding, Griffin-Lim and muxing "
     "are the same C code for every row and left out. Each row: the fastest of the rounds (C and Python alternate). "
     "Threads: 1 torch thread, OpenBLAS 2 threads, both sides. The Python peer (`bench/bench_generate_py.py`) "
     "uses the same weights, features, caption and noise; the last column is the largest difference of its latent from the C kernel's.", ""]
for s, best in res["steps"].items():
    py = best["Python peer"]["model"]
    L += [f"## {s} steps", "", "| implementation | planner s | RITE s | LocDiT (fullseq: DiT) s | model s / 10-s clip | speedup vs Python | max abs diff vs C |",
          "|---|---:|---:|---:|---:|---:|---:|"]
    for k in ["C, LocDiT C kernel", "C, LocDiT libtorch ops", "Python peer", "C, fullseq_dit"]:
        b = best[k]
        diff = f"{b['diff']:.1e}" if "diff" in b else ("0 (reference)" if k == "C, LocDiT C kernel" else "—")
        L.append(f"| {k} | {b['planner']:.3f} | {b['rite']:.3f} | {b['locdit']:.3f} | **{b['model']:.3f}** | {py / b['model']:.2f}× | {diff} |")
    L.append("")
L += ["Not measured here: bf16 (no bf16 path in the C kernel yet), batch 8 (bench_generate is batch 1; "
      "`vrobin generate --manifest --batch 8` reports clips/s in its timings.json), the AR frame baseline (not built).", ""]
open(out + ".md", "w").write("\n".join(L))
print("\n".join(L))
PYEOF
