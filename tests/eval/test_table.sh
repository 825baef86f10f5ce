#!/bin/sh
# `vrobin table`, its plots and `vrobin report`, end to end on fixture results (~15 s):
#   1. fixtures: 3 s test videos + sine soundtracks made by ffmpeg (lavfi), and four "vrobin-eval/1"
#      results over them (oracle, oracle_decoded, vrobin, fullseq_dit) written as `vrobin eval` does;
#   2. table: row order, preset columns, arrows, precision, nulls as —, bold best, provenance and
#      definitions; the CSV parses (python csv) and holds the same numbers at full precision; the
#      JSON; a folder holding the table's own JSON; --speedup-vs (a system, the same-steps and the
#      equal-FAD group forms); refusals: mixed benchmarks, another
#      format, a system twice, an unknown column, a bad preset, a metric that is not a number;
#   3. plots: FAD∞ fit, metric bars, latency bars and a sweep over eval.steps are valid PNGs of
#      non-trivial size; a sweep over a key that does not vary is refused;
#   4. report: report.html references only existing relative files, has a <video> and an <audio> per
#      clip and system, the muxed videos carry picture + the system's audio (ffprobe), a windowed
#      clip is cut to its window; then headless Chromium loads it (--dump-dom: the media elements are
#      in the DOM; a probe page reads the videos' durations: Chromium decodes them) and its
#      screenshot is a PNG that is not blank (pixel variance, decoded with zlib).
# Usage: test_table.sh VROBIN PYTHON WORKDIR
set -eu
V=$1; PY=$2; W=$3
rm -rf "$W"; mkdir -p "$W"; cd "$W"
pass=0; fail=0
ok()  { pass=$((pass+1)); echo "ok   $*"; }
bad() { fail=$((fail+1)); echo "FAIL $*"; }
expect() { # expect NAME RC PATTERN -- command...
  name=$1; want=$2; pat=$3; shift 4
  set +e; "$@" > out.txt 2> err.txt; rc=$?; set -e
  if [ $rc = "$want" ] && grep -q -- "$pat" err.txt; then ok "$name"; else bad "$name: rc $rc, stderr: $(cat err.txt)"; fi
}
"$V" table --help >/dev/null 2>&1 && "$V" report --help >/dev/null 2>&1 \
  || { echo "FAIL $V has no 'table'/'report' command (register vr_cmd_table/vr_cmd_report in core/main.c)"; exit 1; }
command -v chromium >/dev/null || { echo "FAIL chromium is not installed (apt-get install chromium)"; exit 1; }
command -v gnuplot >/dev/null || { echo "FAIL gnuplot is not installed (apt-get install gnuplot-nox)"; exit 1; }

# ---- 1. fixtures ----
mkdir media res
mk() { # mk NAME SECONDS TESTSRC_PATTERN FREQ: video with its own soundtrack, and the soundtrack alone
  ffmpeg -v error -y -f lavfi -i "$3=size=160x120:rate=24:duration=$2" -f lavfi -i "sine=frequency=$4:sample_rate=16000:duration=$2" \
    -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest media/$1.mp4
  ffmpeg -v error -y -f lavfi -i "sine=frequency=$4:sample_rate=16000:duration=$2" media/$1.flac
}
mk c0 3 testsrc 440; mk c1 3 testsrc2 660; mk c2 4 smptebars 330
for s in dec:550 vrobin:880 fullseq:1200; do
  for c in c0 c1 c2; do
    ffmpeg -v error -y -f lavfi -i "sine=frequency=${s#*:}:sample_rate=16000:duration=3" -af "volume=0.5" media/${s%:*}_$c.wav
  done
done
[ -s media/c2.mp4 ] && [ -s media/fullseq_c2.wav ] && ok "ffmpeg fixtures" || bad "ffmpeg fixtures"

"$PY" - "$W" <<'EOF'
import json, sys, os
W = sys.argv[1]; M = W + "/media"
defs = {"fad": "Frechet distance between Gaussians fitted to the embeddings.",
        "fad_inf": "FAD-inf as fadtk: fit FAD = a + b/n, report a.",
        "prdc": "precision/recall/density/coverage (Naeem et al. 2020).",
        "beats": "LORIS BCS/BHS on one-second bins.",
        "latency": "s_per_10s: generation wall seconds per 10 s of audio."}
# clip c2 is the window 1-3 s of a 4-s video
clips = [("c0", 0.0, 3.0, "warm strings"), ("c1", 0.0, 3.0, "fast piano <arpeggios> & drums"), ("c2", 1.0, 2.0, "")]
def run(system, kind, metrics, audio, steps, points=None):
    cl = []
    for i, (cid, start, sec, text) in enumerate(clips):
        cl.append({"id": cid, "audio": audio(cid), "video": f"{M}/{cid}.mp4", "text": text,
                   "reference": f"{M}/{cid}.flac", "start": start, "seconds": sec,
                   "fad_mel": 1.0 + i, "tempo_est": 120.0, "key_est": "C", "loris_bcs": None})
    return {"format": "vrobin-eval/1", "bench": "fixture", "system": system, "kind": kind, "n_clips": 3,
            "header": {"command": f"vrobin eval configs/eval/fixture.yaml --name {system}",
                       "commit": "abc1234", "machine": "Test CPU, 2 cores, 8 GiB",
                       "date": "2026-01-02T03:04:05Z", "wall_s": 12.25 if kind != "model" else 40.5,
                       "eval": {"eval.name": "fixture", "eval.steps": steps, "eval.backbones": ["mel"]}},
            "definitions": defs, "metrics": metrics,
            "fad_inf_points": {"mel": points} if points else {}, "clips": cl}
def pts(a, b):
    ns = [500, 700, 900, 1100, 1300]
    return {"n": ns, "fad": [a + b / n for n in ns]}
base = dict(fad_mel=None, fad_tagger=None, fad_inf_mel=None, fad_inf_r2_mel=1.0, kl=None, density_mel=None,
            coverage_mel=None, loris_bcs=None, loris_bhs=None, loris_f1=None, tempo_acc1=None, s_per_10s=None, rtf=None)
systems = {
  "oracle": run("oracle", "oracle", {**base, "fad_mel": 0.0123456, "fad_tagger": 0.02, "fad_inf_mel": 0.001,
                "density_mel": 1.02, "coverage_mel": 0.97, "loris_bcs": 0.8, "loris_bhs": 0.9, "loris_f1": 0.847,
                "tempo_acc1": 1.0}, lambda c: f"{M}/{c}.flac", 20, pts(0.001, 2.0)),
  "oracle_decoded": run("oracle_decoded", "oracle_decoded", {**base, "fad_mel": 0.31, "fad_inf_mel": 0.25,
                "density_mel": 0.9, "coverage_mel": 0.88, "loris_f1": 0.8, "tempo_acc1": 0.95},
                lambda c: f"{M}/dec_{c}.wav", 20, pts(0.25, 3.0)),
  "vrobin": run("vrobin", "model", {**base, "fad_mel": 1.5123456789012345, "fad_tagger": 2.5, "fad_inf_mel": 1.4,
                "density_mel": 0.61, "coverage_mel": 0.55, "loris_bcs": 0.5, "loris_bhs": 0.6, "loris_f1": 0.545,
                "tempo_acc1": 0.7, "s_per_10s": 3.87, "rtf": 0.387, "s_per_10s_planner": 1.2, "s_per_10s_locdit": 2.0},
                lambda c: f"{M}/vrobin_{c}.wav", 20, pts(1.4, 40.0)),
  "fullseq_dit": run("fullseq_dit", "model", {**base, "fad_mel": 2.3, "fad_tagger": 1.9, "fad_inf_mel": 2.1,
                "density_mel": 0.4, "coverage_mel": 0.35, "loris_bcs": 0.4, "loris_bhs": 0.65, "loris_f1": 0.49,
                "tempo_acc1": 0.5, "s_per_10s": 8.55, "rtf": 0.855, "s_per_10s_planner": 0.0, "s_per_10s_locdit": 8.0},
                lambda c: f"{M}/fullseq_{c}.wav", 10, pts(2.1, 50.0)),
}
for name, j in systems.items():
    json.dump(j, open(f"{W}/res/{name}.json", "w"), indent=1)
# a sampling-step sweep of two systems for the group speedup columns (--speedup-vs PATTERN@...)
os.makedirs(f"{W}/sweep", exist_ok=True)
for name, steps, fad, sec in [("fs_2", 2, 4.4, 1.0), ("fs_10", 10, 4.0, 4.0), ("fs_20", 20, 6.0, 8.0),
                              ("robin_5", 5, 7.0, 0.5), ("robin_10", 10, 3.0, 2.0), ("robin_20", 20, 5.0, 3.0)]:
    j = run(name, "model", {**base, "fad_mel": fad, "s_per_10s": sec}, lambda c: f"{M}/vrobin_{c}.wav", steps)
    j["header"]["eval"]["model"] = f"/data/models/{name.split('_')[0]}.safetensors"
    json.dump(j, open(f"{W}/sweep/{name}.json", "w"), indent=1)
# bad inputs
os.makedirs(f"{W}/bad", exist_ok=True)
j = dict(systems["vrobin"], bench="other", system="vrobin_ood"); json.dump(j, open(f"{W}/bad/ood.json", "w"))
j = dict(systems["vrobin"], format="vrobin-eval/2", system="v2"); json.dump(j, open(f"{W}/bad/v2.json", "w"))
j = dict(systems["vrobin"], format="vrobin-table/1"); json.dump(j, open(f"{W}/bad/table.json", "w"))
j = dict(systems["vrobin"], metrics={"fad_mel": "1.5"}, system="strnum"); json.dump(j, open(f"{W}/bad/strnum.json", "w"))
open(f"{W}/bad/torn.json", "w").write(json.dumps(systems["vrobin"])[:200])
EOF
[ -s res/fullseq_dit.json ] && ok "fixture results" || bad "fixture results"

# ---- 2. table ----
R="res/vrobin.json res/fullseq_dit.json res/oracle_decoded.json res/oracle.json"
if "$V" table $R --preset main --speedup-vs fullseq_dit --title 'Main table | test-id' -o t.md --csv t.csv --json t.json > t.out 2> t.err; then ok "table"; else bad "table: $(cat t.err)"; fi
cat t.md
row() { grep "^| $1 " t.md | head -1; }
col() { row "$1" | awk -F'|' -v n="$2" '{ gsub(/^ +| +$/, "", $(n + 1)); print $(n + 1) }'; }
[ "$(grep -n '^| oracle ' t.md | cut -d: -f1)" -lt "$(grep -n '^| oracle_decoded ' t.md | cut -d: -f1)" ] \
  && [ "$(grep -n '^| oracle_decoded ' t.md | cut -d: -f1)" -lt "$(grep -n '^| vrobin ' t.md | cut -d: -f1)" ] \
  && [ "$(grep -n '^| vrobin ' t.md | cut -d: -f1)" -lt "$(grep -n '^| fullseq_dit ' t.md | cut -d: -f1)" ] \
  && ok "rows: oracle, oracle_decoded, then the systems as given" || bad "row order"
head -1 t.md | grep -qx '# Main table | test-id' && ok "--title" || bad "title: $(head -1 t.md)"
hdr=$(grep '^| system ' t.md | tr -s ' ')
echo "$hdr" | grep -q '| system | clips | FAD mel ↓ | FAD tagger ↓ | FAD∞ mel ↓ | KL ↓ | density mel ↑ | coverage mel ↑ | BHS ↑ | BCS ↑ | beat F1 ↑ | tempo Acc1 ↑ | speedup × vs fullseq_dit ↑ |' \
  && ok "preset main columns and arrows (absent keys left out, FAD∞ falls back to mel)" || bad "header: $hdr"
grep -q '^|:-*|-*:|' t.md && ok "alignment row" || bad "alignment row"
[ "$(col vrobin 3)" = "**1.512**" ] && [ "$(col fullseq_dit 3)" = "2.300" ] && ok "precision and bold best (FAD ↓)" || bad "FAD cells '$(col vrobin 3)' '$(col fullseq_dit 3)'"
[ "$(col fullseq_dit 4)" = "**1.900**" ] && [ "$(col oracle 4)" = "0.020" ] && ok "bold best per column (oracle rows excluded)" || bad "FAD tagger cells"
[ "$(col oracle_decoded 4)" = "—" ] && [ "$(col vrobin 6)" = "—" ] && ok "null shown as —" || bad "null cells '$(col oracle_decoded 4)' '$(col vrobin 6)'"
[ "$(col vrobin 13)" = "**2.209**" ] && [ "$(col fullseq_dit 13)" = "1.000" ] && [ "$(col oracle 13)" = "—" ] && ok "speedup column" || bad "speedup '$(col vrobin 13)'"
[ "$(col vrobin 2)" = 3 ] && ok "clips column" || bad "clips column"
"$V" table $R --columns fad_mel --speedup-vs fullseq_dit,vrobin -o t2.md >/dev/null 2>t2.err \
  && grep '^| system ' t2.md | tr -s ' ' | grep -q '| FAD mel ↓ | speedup × vs fullseq_dit ↑ | speedup × vs vrobin ↑ |' \
  && grep '^| fullseq_dit ' t2.md | tr -s ' ' | grep -q '| 1.000 | 0.453 |$' \
  && ok "--speedup-vs a,b: a column per reference" || bad "--speedup-vs a,b: $(cat t2.err t2.md)"
# group speedups: the fs_* row at the same eval.steps; the fastest fs_* row whose FAD is no better
"$V" table sweep --columns fad_mel,s_per_10s --speedup-vs 'fs_*@same:eval.steps,fs_*@equal:fad_mel' -o sw.md --csv sw.csv \
  >/dev/null 2>sw.err || bad "--speedup-vs PATTERN@...: $(cat sw.err)"
"$PY" - <<'EOF' && ok "--speedup-vs PATTERN@same:KEY and PATTERN@equal:METRIC" || bad "group speedups: $(cat sw.md)"
import csv
rows = {r["system"]: r for r in csv.DictReader(open("sw.csv"))}
same = {k: r["speedup_same_eval_steps_vs_fs"] for k, r in rows.items()}
equal = {k: r["speedup_equal_fad_mel_vs_fs"] for k, r in rows.items()}
want_same = {"robin_5": "", "robin_10": 2.0, "robin_20": 8 / 3, "fs_2": 1.0, "fs_10": 1.0, "fs_20": 1.0}
want_equal = {"robin_5": "", "robin_10": 0.5, "robin_20": 8 / 3, "fs_2": 1.0, "fs_10": 0.25, "fs_20": 1.0}
for want, got in ((want_same, same), (want_equal, equal)):
    for k, w in want.items():
        assert (got[k] == "") if w == "" else abs(float(got[k]) - w) < 1e-12, (k, got[k], w)
EOF
grep -q '| speedup × vs fs, same eval.steps ↑ | speedup × vs fs at equal or better FAD mel ↑ |' sw.md \
  && grep -q 'fastest system matching `fs_\*` whose FAD mel is no better' sw.md \
  && ok "group speedup labels and definitions" || bad "group speedup labels: $(cat sw.md)"
"$V" table sweep --columns fad_mel --plot swp --sweep eval.steps --sweep-y fad_mel --group eval.model >/dev/null 2>swp.err \
  && grep -q "title 'robin'" swp/sweep_eval.steps_fad_mel.gp && grep -q "title 'fs'" swp/sweep_eval.steps_fad_mel.gp \
  && ! grep -q "/data/models" swp/sweep_eval.steps_fad_mel.gp \
  && ok "--group eval.model: one curve per export, named by its file's stem" || bad "--group eval.model: $(cat swp.err; grep title swp/*.gp)"
expect "--speedup-vs: a pattern matching no system" 1 "no system in the table matches 'zz\*'" -- "$V" table sweep --speedup-vs 'zz*@equal:fad_mel'
expect "--speedup-vs: an unknown metric" 1 "no result has the metric 'fad_nope'" -- "$V" table sweep --speedup-vs 'fs_*@equal:fad_nope'
expect "--speedup-vs: an unknown mode" 1 "expected SYSTEM, PATTERN@same:KEY or PATTERN@equal:METRIC" -- "$V" table sweep --speedup-vs 'fs_*@fast:x'
grep -q '^- command: `vrobin eval configs/eval/fixture.yaml --name oracle` — oracle$' t.md \
  && grep -q '^- commit: `abc1234` — all systems$' t.md && grep -q '^- machine: Test CPU, 2 cores, 8 GiB — all systems$' t.md \
  && grep -q 'vrobin 2026-01-02T03:04:05Z, 40.5 s' t.md && grep -q 'table made by `vrobin table res/vrobin.json' t.md \
  && ok "provenance header (commands, grouped commit and machine, dates, wall times)" || bad "provenance header"
grep -q '^- \*\*FAD mel\*\* (`fad_mel`), \*\*FAD tagger\*\* (`fad_tagger`): Frechet distance' t.md \
  && grep -q '^- \*\*density mel\*\* (`density_mel`), \*\*coverage mel\*\* (`coverage_mel`): precision/recall' t.md \
  && grep -q '^- \*\*KL\*\* (`kl`): no definition in the results' t.md && ok "definitions below the table" || bad "definitions"
"$PY" - <<'EOF' && ok "CSV parses: same rows, full precision, empty = null" || bad "CSV"
import csv, json
rows = list(csv.DictReader(open("t.csv")))
assert [r["system"] for r in rows] == ["oracle", "oracle_decoded", "vrobin", "fullseq_dit"], rows
v = rows[2]
assert float(v["fad_mel"]) == 1.5123456789012345 and v["kl"] == "" and v["kind"] == "model" and v["n_clips"] == "3", v
assert abs(float(v["speedup_vs_fullseq_dit"]) - 8.55 / 3.87) < 1e-12
t = json.load(open("t.json"))
assert t["format"] == "vrobin-table/1" and t["bench"] == "fixture" and len(t["rows"]) == 4
assert t["rows"][2]["values"]["fad_mel"] == 1.5123456789012345 and t["rows"][2]["values"]["kl"] is None
assert [c["key"] for c in t["columns"]][:3] == ["fad_mel", "fad_tagger", "fad_inf_mel"] and t["columns"][0]["better"] == "lower"
EOF
cp t.json res/table_main.json   # the table's own JSON in the folder: skipped, not an error
if "$V" table res --columns 'fad_mel, fad_inf_tagger|fad_inf_mel' > d.md 2> d.err; then
  grep -q "skipping res/table_main.json" d.err && [ "$(grep -c '^| [a-z_]* *|' d.md)" = 5 ] \
    && grep '^| system' d.md | tr -s ' ' | grep -q '^| system | clips | FAD mel ↓ | FAD∞ mel ↓ |$' && ok "folder: its own table JSON skipped, --columns with alternatives" \
    || bad "folder table: $(cat d.err) $(cat d.md)"
else bad "folder table: $(cat d.err)"; fi
expect "mixed benchmarks refused"   1 "cannot mix benchmarks in one table: .*'fixture'.*bad/ood.json is 'other'" -- "$V" table res/vrobin.json bad/ood.json
expect "other format refused"       1 "bad/v2.json: format 'vrobin-eval/2' is not the one this vrobin reads ('vrobin-eval/1')" -- "$V" table res/oracle.json bad/v2.json
expect "a table JSON given as a result" 1 "bad/table.json: format 'vrobin-table/1', expected 'vrobin-eval/1'" -- "$V" table bad/table.json
expect "a system twice refused"     1 "system 'vrobin' appears twice" -- "$V" table res/vrobin.json res/vrobin.json
expect "unknown column"             1 "no result has metric 'fad_vggish' (available: fad_mel, fad_tagger" -- "$V" table res --columns fad_mel,fad_vggish
expect "bad preset"                 1 "--preset 'paper': expected main, ablation or latency" -- "$V" table res --preset paper
expect "metric not a number"        1 "bad/strnum.json: metrics.fad_mel is not a number or null" -- "$V" table bad/strnum.json
expect "torn JSON"                  1 "bad/torn.json: not valid JSON" -- "$V" table bad/torn.json
expect "speedup without latency"    1 "--speedup-vs 'oracle': its s_per_10s is not measured" -- "$V" table res --speedup-vs oracle
expect "no results"                 2 "no results given" -- "$V" table --preset main
expect "sweep without plot"         2 "--sweep needs --plot DIR" -- "$V" table res --sweep eval.steps
"$V" table res --preset latency > lat.md 2>/dev/null && tr -s ' ' < lat.md | grep -q '| s / 10 s ↓ | RTF ↓ | s/10 s planner ↓ | s/10 s locdit ↓ | FAD mel ↓ | FAD tagger ↓ |' \
  && ok "preset latency with the per-stage keys" || bad "preset latency: $(grep '^| system' lat.md)"

# ---- 3. plots ----
if "$V" table res --preset main --plot plots --sweep eval.steps > p.out 2> p.err; then ok "--plot --sweep"; else bad "--plot: $(cat p.err)"; fi
cat p.err
"$PY" - <<'EOF' && ok "PNGs valid and non-trivial: fad_inf_mel, metrics, latency, sweep" || bad "PNGs"
import struct, os
for n in ["fad_inf_mel", "metrics", "latency", "sweep_eval.steps_fad_mel", "sweep_eval.steps_fad_tagger"]:
    p = f"plots/{n}.png"; b = open(p, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR", p
    w, h = struct.unpack(">II", b[16:24])
    assert w >= 400 and h >= 300 and len(b) > 8000, (p, w, h, len(b))
    assert os.path.exists(f"plots/{n}.gp") and os.path.exists(f"plots/{n}.dat"), n
    print(f"  {p}: {w}x{h}, {len(b)} bytes")
assert not [f for f in os.listdir("plots") if ".tmp." in f or f.startswith(".")], os.listdir("plots")
EOF
grep -q "fad_inf_points fit" p.err && bad "FAD∞ fit disagrees with the reported value" || ok "FAD∞ fits agree with the reported values"
(cd plots && gnuplot metrics.gp) && ok "a saved .gp script redraws its figure" || bad "gnuplot metrics.gp"
expect "gnuplot missing: named"    1 "gnuplot failed on p2/fad_inf_mel.gp (status 127): cannot run gnuplot" -- env PATH=/nonexistent "$V" table res --plot p2
[ -z "$(ls p2 | grep -v '\.gp$\|\.dat$')" ] && ok "a failed plot leaves no image (its .gp/.dat stay, to debug)" || bad "p2 holds: $(ls p2)"
expect "sweep key that does not vary" 1 "every result has the same value" -- "$V" table res --plot plots --sweep wall_s --sweep-y fad_mel
expect "sweep key that is absent"     1 "fewer than two results" -- "$V" table res --plot plots --sweep eval.nothere --sweep-y fad_mel

# ---- 4. report ----
if "$V" report res --max-clips 3 -o rep/report.html > r.out 2> r.err; then ok "report"; else bad "report: $(cat r.err)"; fi
"$PY" - <<'EOF' && ok "report.html: relative links to existing files, 12 videos, 12 audios, 24 spectrograms" || bad "report.html"
from html.parser import HTMLParser
import os
class P(HTMLParser):
    def __init__(s): super().__init__(); s.src = []; s.tags = {}
    def handle_starttag(s, tag, a):
        s.tags[tag] = s.tags.get(tag, 0) + 1
        for k, v in a:
            if k in ("src", "href") and not v.startswith("#"): s.src.append(v)
p = P(); p.feed(open("rep/report.html", encoding="utf-8").read())
assert p.tags.get("video") == 12 and p.tags.get("audio") == 12 and p.tags.get("img") == 24, p.tags
for s in p.src:
    assert not s.startswith("/") and ":" not in s and os.path.getsize("rep/" + s) > 500, s
    if s.endswith(".png"): assert open("rep/" + s, "rb").read(8) == b"\x89PNG\r\n\x1a\n", s
assert "fast piano &lt;arpeggios&gt; &amp; drums" in open("rep/report.html").read()
EOF
probe() { ffprobe -v error -show_entries stream=codec_type,codec_name:format=duration -of csv=p=0 "$1" | tr '\n' ' '; }
p0=$(probe rep/assets/s3_vrobin/c0_c0.mp4); p2=$(probe rep/assets/s3_vrobin/c2_c2.mp4)
echo "  c0: $p0; c2: $p2"
echo "$p0" | grep -q "h264,video" && echo "$p0" | grep -q "aac,audio" && ok "whole clip: picture copied (h264) + the system's audio (aac)" || bad "c0 mp4: $p0"
echo "$p2" | grep -q "h264,video" && echo "$p2" | awk '{ d = $NF; exit !(d > 1.8 && d < 2.3) }' && ok "windowed clip cut to its 2-s window" || bad "c2 mp4: $p2"
# the system's music, not the video's own soundtrack: the dominant frequency of the muxed audio
ffmpeg -v error -y -i rep/assets/s3_vrobin/c0_c0.mp4 -ac 1 -ar 16000 -f f32le mux.raw
"$PY" -c "
import numpy as np; x = np.fromfile('mux.raw', np.float32); f = np.argmax(abs(np.fft.rfft(x))) * 16000 / len(x)
assert abs(f - 880) < 10, f" && ok "muxed audio is the system's (880 Hz), not the video's (440 Hz)" || bad "muxed audio frequency"

# ---- headless Chromium ----
CH="chromium --headless --no-sandbox --disable-gpu --mute-audio --hide-scrollbars"
U="file://$W/rep/report.html"
timeout 60 $CH --dump-dom "$U" > dom.html 2> ch.err || true
[ "$(grep -o '<video' dom.html | wc -l)" = 12 ] && [ "$(grep -o '<audio' dom.html | wc -l)" = 12 ] \
  && ok "Chromium: the page loads with 12 <video> and 12 <audio> in the DOM" || bad "Chromium DOM: $(wc -c < dom.html) bytes, $(tail -3 ch.err)"
cat > rep/probe.html <<'EOF'
<!DOCTYPE html><html><body><p id="out">waiting</p>
<video id="v" preload="auto" src="assets/s3_vrobin/c0_c0.mp4"></video><video id="w" preload="auto" src="assets/s3_vrobin/c2_c2.mp4"></video>
<audio id="a" preload="auto" src="assets/ref/r0_c0.wav"></audio>
<script>
const ids = ["v", "w", "a"], got = {};
for (const id of ids) {
  const e = document.getElementById(id);
  const done = (r) => { got[id] = r; if (Object.keys(got).length == ids.length)
    document.getElementById("out").textContent = ids.map(i => i + "=" + got[i]).join(" "); };
  e.addEventListener("loadedmetadata", () => done(e.duration.toFixed(2) + (e.videoWidth ? "/" + e.videoWidth : "")));
  e.addEventListener("error", () => done("error" + e.error.code));
}
</script></body></html>
EOF
timeout 60 $CH --virtual-time-budget=10000 --dump-dom "file://$W/rep/probe.html" > probe.txt 2>/dev/null || true
res=$(grep -o 'id="out">[^<]*' probe.txt | sed 's/id="out">//'); echo "  Chromium media probe: $res"
echo "$res" | awk '{ split($1, v, "[=/]"); split($2, w, "[=/]"); split($3, a, "="); exit !(v[2] > 2.8 && v[2] < 3.3 && v[3] == 160 && w[2] > 1.8 && w[2] < 2.3 && a[2] > 2.9 && a[2] < 3.1) }' \
  && ok "Chromium decodes the muxed videos (3 s, 160 px; window 2 s) and the reference wav (3 s)" || bad "Chromium media probe: '$res'"
rm -f rep/probe.html
timeout 60 $CH --window-size=1200,900 --screenshot="$W/shot.png" "$U" > /dev/null 2>&1 || true
"$PY" - <<'EOF' && ok "screenshot: a 1200x900 PNG that is not blank" || bad "screenshot"
import struct, zlib
b = open("shot.png", "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h, depth, ctype = struct.unpack(">IIBB", b[16:26])
assert (w, h) == (1200, 900) and depth == 8 and ctype in (2, 6), (w, h, depth, ctype)
idat, i = b"", 8
while i < len(b):
    n, t = struct.unpack(">I4s", b[i:i + 8]); i += 8
    if t == b"IDAT": idat += b[i:i + n]
    i += n + 4
raw, bpp = zlib.decompress(idat), 3 if ctype == 2 else 4
stride, prev, vals = w * bpp, bytearray(w * bpp), []
for y in range(h):   # undo the PNG row filters
    f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = row[x - bpp] if x >= bpp else 0; c = prev[x - bpp] if x >= bpp else 0; up = prev[x]
        if f == 1: row[x] = (row[x] + a) & 255
        elif f == 2: row[x] = (row[x] + up) & 255
        elif f == 3: row[x] = (row[x] + (a + up) // 2) & 255
        elif f == 4:
            p = a + up - c; pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
            row[x] = (row[x] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 255
    prev = row
    if y % 4 == 0: vals.extend(row[0::bpp * 3])
mean = sum(vals) / len(vals); var = sum((v - mean) ** 2 for v in vals) / len(vals)
dark = sum(v < 128 for v in vals) / len(vals)
print(f"  screenshot {w}x{h}: {len(b)} bytes, red-channel mean {mean:.1f}, variance {var:.0f}, dark {dark:.3f}")
assert var > 200 and 0.01 < dark < 0.9, (var, dark)
EOF

echo "$pass passed, $fail failed"
[ $fail = 0 ]
