#!/usr/bin/env bash
# Generation speed, C toolkit vs a Python/PyTorch peer of the same model, in one run (issue 9)
# -> results/bench/generate_speed.{md,json}.
#   - the `small` Video-Robin model (random weights, perturbed so LocDiT's zero-initialised output
#     layers do not make the music the noise itself), a 10-s 640x360 clip, batch 1 and 8, CFG, KV cache;
#   - C: bench/bench_generate.c's stages (planner, RITE, LocDiT through the C kernel and through
#     libtorch ops), the full-sequence DiT baseline (configs/model/fullseq_small.yaml) and the
#     autoregressive frame baseline (configs/model/ar_small.yaml: no sampling steps, one row per batch);
#   - Python: bench/bench_generate_py.py — the same weights, video features, caption and sampling
#     noise, its latent compared with the C one (max abs difference in the table);
#   - bf16: the C kernel with its transformer blocks in bf16 (--precision bf16, AVX512-BF16 CPUs;
#     skipped elsewhere) and the Python peer under torch.autocast(bf16), each latent's difference
#     from the fp32 C kernel's in the table;
#   - rounds alternate C and Python; each keeps its fastest round, so load from elsewhere does not
#     decide the ratio. Threads: 1 torch thread, OpenBLAS's default (2) threads on both sides.
#   - results/bench/generate_speed.png: seconds per clip of each implementation at batch 1 (gnuplot).
# usage: bench/run_generate_speed_bench.sh [rounds (default 3)] [steps list (default 10,20)]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WORK=${WORK:-$BUILD/bench_generate_speed}
ROUNDS=${1:-3}
STEPS=${2:-10,20}
PY=${PYTHON:-/usr/bin/python3}
. bench/generate_setup.sh # bench_generate built, WORK/clip.mp4 written
T0=$(date +%s)
BF16=0 # the bf16 C kernel runs on CPUs with AVX512-BF16 only
grep -qw avx512_bf16 /proc/cpuinfo && BF16=1
for s in ${STEPS//,/ }; do
    "$BUILD/bench_generate" "$WORK/clip.mp4" configs/model/small.yaml --steps "$s" --dump "$WORK/dump_$s"
    if [ $BF16 = 1 ]; then
        "$BUILD/bench_generate" "$WORK/clip.mp4" configs/model/small.yaml --steps "$s" --precision bf16 --dump "$WORK/dump_bf16_$s"
    fi
done
for r in $(seq 1 "$ROUNDS"); do
    echo "== round $r/$ROUNDS"
    for B in 1 8; do
        "$BUILD/bench_generate" "$WORK/clip.mp4" configs/model/ar_small.yaml --steps 20 --no-kv none --repeats 1 \
            --fast on --two-threads none --batch $B --json "$WORK/c_ar_b${B}_$r.json" >/dev/null 2>&1
    done
    for s in ${STEPS//,/ }; do
        C=("$BUILD/bench_generate" "$WORK/clip.mp4")
        Q=(--steps "$s" --no-kv none --repeats 1)
        "${C[@]}" configs/model/small.yaml "${Q[@]}" --fast both --two-threads "$s" --json "$WORK/c_robin_b1_${s}_$r.json" >/dev/null 2>&1
        "${C[@]}" configs/model/small.yaml "${Q[@]}" --fast on --two-threads none --batch 8 --json "$WORK/c_robin_b8_${s}_$r.json" >/dev/null 2>&1
        if [ $BF16 = 1 ]; then
            "${C[@]}" configs/model/small.yaml "${Q[@]}" --fast on --two-threads "$s" --precision bf16 --json "$WORK/c_bf16_b1_${s}_$r.json" >/dev/null 2>&1
            "${C[@]}" configs/model/small.yaml "${Q[@]}" --fast on --two-threads none --precision bf16 --batch 8 --json "$WORK/c_bf16_b8_${s}_$r.json" >/dev/null 2>&1
        fi
        "${C[@]}" configs/model/small.yaml "${Q[@]}" --fast on --two-threads none --solver heun --json "$WORK/c_heun_b1_${s}_$r.json" >/dev/null 2>&1
        "${C[@]}" configs/model/fullseq_small.yaml "${Q[@]}" --fast on --two-threads none --json "$WORK/c_fullseq_b1_${s}_$r.json" >/dev/null 2>&1
        "${C[@]}" configs/model/fullseq_small.yaml "${Q[@]}" --fast on --two-threads none --batch 8 --json "$WORK/c_fullseq_b8_${s}_$r.json" >/dev/null 2>&1
        "$PY" bench/bench_generate_py.py "$WORK/dump_$s" --json "$WORK/py_b1_${s}_$r.json" >/dev/null
        "$PY" bench/bench_generate_py.py "$WORK/dump_$s" --batch 8 --json "$WORK/py_b8_${s}_$r.json" >/dev/null
        "$PY" bench/bench_generate_py.py "$WORK/dump_$s" --bf16 --json "$WORK/pybf16_b1_${s}_$r.json" >/dev/null
        "$PY" bench/bench_generate_py.py "$WORK/dump_$s" --bf16 --batch 8 --json "$WORK/pybf16_b8_${s}_$r.json" >/dev/null
    done
done
"$PY" - "$WORK" "$ROUNDS" "$STEPS" "$(($(date +%s) - T0))" "$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" "$BF16" <<'PYEOF'
import glob, json, os, platform, sys
import numpy as np
work, rounds, steps, wall, commit = sys.argv[1], int(sys.argv[2]), [int(s) for s in sys.argv[3].split(",")], sys.argv[4], sys.argv[5]
bf16 = sys.argv[6] == "1"
def bf16_diff(s):
    """largest difference of the bf16 C kernel's latent from the fp32 one's (same weights, inputs, noise)"""
    a, b = (np.fromfile(f"{work}/{d}_{s}/latent.f32", dtype=np.float32) for d in ("dump", "dump_bf16"))
    return float(np.abs(a - b).max())
def keep(best, key, row, B, diff=None):
    """the fastest round of one implementation; seconds per clip (a batch's time / B) of the model
    stages: planner + RITE + LocDiT"""
    st = {k: row[k + "_s"] / B for k in ("planner", "rite", "locdit")}
    st["model"] = st["planner"] + st["rite"] + st["locdit"]
    if diff is not None:
        st["diff"] = diff
    if key not in best or st["model"] < best[key]["model"]:
        best[key] = st
res = {"commit": commit, "rounds": rounds, "wall_s": int(wall), "steps": {}}
machine = None
ORDER = ["C kernel", "C kernel, CFG on 2 threads", "C kernel, bf16", "C kernel, bf16, CFG on 2 threads",
         "C, libtorch ops", "Python peer", "Python peer, bf16 autocast", "fullseq_dit (C)", "ar_frames (C)",
         "C kernel, Heun solver"]
for s in steps:
    best = {}
    for r in range(1, rounds + 1):
        for B in (1, 8):
            cj = json.load(open(f"{work}/c_robin_b{B}_{s}_{r}.json"))
            machine = cj["machine"]
            for row in cj["rows"]:
                name = "C, libtorch ops" if row["locdit"] == "libtorch" else "C kernel, CFG on 2 threads" if row["locdit_threads"] == 2 else "C kernel"
                keep(best, (name, B), row, B)
            if bf16:
                for row in json.load(open(f"{work}/c_bf16_b{B}_{s}_{r}.json"))["rows"]:
                    name = "C kernel, bf16, CFG on 2 threads" if row["locdit_threads"] == 2 else "C kernel, bf16"
                    keep(best, (name, B), row, B, diff=bf16_diff(s) if B == 1 and row["locdit_threads"] == 1 else None)
            keep(best, ("fullseq_dit (C)", B), json.load(open(f"{work}/c_fullseq_b{B}_{s}_{r}.json"))["rows"][0], B)
            keep(best, ("ar_frames (C)", B), json.load(open(f"{work}/c_ar_b{B}_{r}.json"))["rows"][0], B)
            if B == 1:
                keep(best, ("C kernel, Heun solver", 1), json.load(open(f"{work}/c_heun_b1_{s}_{r}.json"))["rows"][0], 1)
            pj = json.load(open(f"{work}/py_b{B}_{s}_{r}.json"))
            keep(best, ("Python peer", B), {k + "_s": pj["seconds"][k] for k in ("planner", "rite", "locdit")}, B,
                 diff=pj["max_abs_diff_vs_c"])
            pj = json.load(open(f"{work}/pybf16_b{B}_{s}_{r}.json"))
            keep(best, ("Python peer, bf16 autocast", B), {k + "_s": pj["seconds"][k] for k in ("planner", "rite", "locdit")},
                 B, diff=pj["max_abs_diff_vs_c"])
    res["steps"][str(s)] = {f"{k[0]}, batch {k[1]}": v for k, v in best.items()}
res["machine"] = machine
out = "results/bench/generate_speed"
json.dump(res, open(out + ".json", "w"), indent=1)
L = ["# Generation speed: the C toolkit vs a Python/PyTorch peer of the same model (one run)", "",
     f"`bench/run_generate_speed_bench.sh {rounds} {sys.argv[3]}` at commit {commit}, {wall} s of wall time; "
     f"machine: {machine.get('cpu')}, {machine.get('cores')} cores, {machine.get('blas')}, 1024² matmul "
     f"{machine.get('matmul_1024_gflops')} GFLOP/s; load before/after the last C run: {machine.get('load_before')} / {machine.get('load_after')}.", "",
     "The `small` model (d 256; planner 6, RITE 2, LocDiT 4 layers), random weights perturbed by 0.05·N(0,1) "
     "(LocDiT's zero-initialised output layers would otherwise make the output the noise itself), one 10-s clip "
     "(100 patches of 5 mel frames), CFG scale 2, KV cache, Euler. Model stages only (planner = text/video "
     "encoders + prefill + audio history + planner steps + FSQ; RITE; LocDiT); video decoding, Griffin-Lim and muxing "
     "are the same C code for every row and left out. Each row: the fastest of the rounds (C and Python alternate). "
     "Threads: 1 torch thread, OpenBLAS 2 threads, both sides; the same malloc policy too (core/runtime.h). The Python peer (`bench/bench_generate_py.py`) "
     "uses the same weights, features, caption and noise; the last column is the largest difference of its latent from the C kernel's.", ""]
for s, best in res["steps"].items():
    L += [f"## {s} steps", "", "| implementation | batch | planner s | RITE s | LocDiT (fullseq: DiT) s | model s per 10-s clip | speedup vs Python (same batch) | max abs diff vs C |",
          "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for B in (1, 8):
        py = best[f"Python peer, batch {B}"]["model"]
        for name in ORDER:
            k = f"{name}, batch {B}"
            if k not in best:
                continue
            b = best[k]
            diff = f"{b['diff']:.1e}" if "diff" in b else ("0 (reference)" if name == "C kernel" and B == 1 else "")
            speedup = "(not comparable: Heun)" if "Heun" in name else f"{py / b['model']:.2f}×"
            L.append(f"| {name} | {B} | {b['planner']:.3f} | {b['rite']:.3f} | {b['locdit']:.3f} | **{b['model']:.3f}** | {speedup} | {diff} |")
    L.append("")
L += ["Batch 8: eight copies of the clip (sampling seeds 1..8) through the model stages together; seconds per clip = "
      "the batch's / 8. Every row samples with Euler except \"Heun solver\" (two velocity evaluations per step, "
      "models/locdit.h). ar_frames (the autoregressive frame baseline, models/arframe.h, 12 causal layers, d 256) has no "
      "sampling steps: the same row in every section, its 500 frame steps (KV cache, libtorch ops, CFG rows batched) "
      "under planner. Its and fullseq_dit's \"speedup vs Python\" compare other models with vrobin's Python peer. "
      "bf16: \"C kernel, bf16\" computes the LocDiT blocks' projections with bf16 weights and inputs and fp32 sums "
      "(AVX512-BF16 `vdpbf16ps`, `vrobin generate --precision bf16`; the input/output layers, adaLN, LayerNorm, softmax "
      "and the residual stream stay fp32; planner and RITE run in fp32 in every row, through the C block kernel `models/blocks_fast.h` in the C kernel rows and through libtorch ops in \"C, libtorch ops\"); \"Python peer, "
      "bf16 autocast\" runs the peer under `torch.autocast(cpu, bfloat16)`. Their \"max abs diff vs C\" is the "
      "largest difference of the whole 10-s latent (normalised, |x| up to ~7) from the fp32 C kernel's: errors made "
      "in one patch carry into the next through the autoregression.", ""]
open(out + ".md", "w").write("\n".join(L))
print("\n".join(L))
# the plot: seconds per clip at batch 1, one bar group per implementation, one bar per step count
names = [n for n in ORDER if all(f"{n}, batch 1" in res["steps"][str(s)] for s in steps)]
with open(f"{work}/speed.dat", "w") as f:
    for n in names:
        f.write('"%s" %s\n' % (n.replace(", CFG on 2 threads", " x2").replace("Python peer", "Python"),
                                " ".join("%.4f" % res["steps"][str(s)][f"{n}, batch 1"]["model"] for s in steps)))
with open(f"{work}/speed.gp", "w") as f:
    f.write("set terminal pngcairo size 1100,520 font ',10'\nset output '%s.png'\n" % out)
    f.write("set title 'Seconds per 10-s clip, batch 1, small model, CFG (model stages; %s)'\n" % machine.get("cpu"))
    f.write("set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n")
    f.write("set ylabel 's per clip'\nset grid ytics\nset xtics rotate by -25 noenhanced\nset key top left\n")
    f.write("plot " + ", ".join("'%s/speed.dat' using %d:xtic(1) title '%d steps'" % (work, i + 2, s)
                                for i, s in enumerate(steps)) + "\n")
os.system(f"gnuplot {work}/speed.gp")
PYEOF
