#!/usr/bin/env bash
# launch/reproduce.sh tiny end to end (issue 8): every table file (main_id, main_ood, ablation,
# latency, intent: .md + .csv), the PNG plots and the HTML report; every system in the tables with
# both oracle rows; the reproduction's header (command, commit, machine, wall time); the intent
# manifest (same video and tempo, another instrument's caption); a second run resumes (finished
# phases skipped) and a phase redone from its checkpoint and generated clips gives the same model
# bytes and the same scores; bad arguments and bad swap-prompts input are refused by name.
# usage: test_reproduce.sh VROBIN SOURCE_DIR WORK_DIR PYTHON
VROBIN=$1 SRC=$2 W=$3 PY=$4
[ -x "$VROBIN" ] && [ -d "$SRC" ] && [ -n "$W" ] && [ -n "$PY" ] || { echo "usage: $0 VROBIN SOURCE_DIR WORK_DIR PYTHON"; exit 2; }
. "$(dirname "$0")/../check.sh" # PASS/FAIL counters: ok, bad, check

VROBIN=$(cd "$(dirname "$VROBIN")" && pwd)/$(basename "$VROBIN") SRC=$(cd "$SRC" && pwd)
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
W=$(pwd)
export VROBIN="$VROBIN" VROBIN_LOG=warn
R="$SRC/launch/reproduce.sh"

# ---- refused arguments: nothing is made ----
"$R" huge --no-setup --work "$W/x" >out.txt 2>&1; rc=$?
check '[ $rc -eq 2 ] && grep -q "unknown argument .huge." out.txt && [ ! -e "$W/x" ]' "unknown preset: $(cat out.txt)"
"$R" tiny --no-setup --ranks zero --work "$W/x" >out.txt 2>&1; rc=$?
check '[ $rc -eq 2 ] && grep -q "ranks" out.txt && [ ! -e "$W/x" ]' "bad --ranks: $(cat out.txt)"
"$R" tiny --no-setup --real "$W/no_such_folder" --work "$W/x" >out.txt 2>&1; rc=$?
check '[ $rc -ne 0 ] && grep -q "no_such_folder" out.txt && [ ! -e "$W/x" ]' "missing --real folder: $(cat out.txt)"

# ---- the whole tiny reproduction ----
"$R" tiny --no-setup --work "$W/run" >"$W/run1.log" 2>&1
rc=$?
check '[ $rc -eq 0 ]' "reproduce.sh tiny failed (rc $rc): $(tail -30 "$W/run1.log")"
T=$W/run/results
for f in main_id main_ood ablation latency intent; do
    check '[ -s "$T/$f.md" ] && [ -s "$T/$f.csv" ]' "$f.md/.csv missing"
    check 'grep -q "^Reproduce: .launch/reproduce.sh tiny. — commit [0-9a-f]\{12\}" "$T/$f.md"' "$f.md: no reproduction header"
    check 'grep -q "^- machine: " "$T/$f.md" && grep -q "^- date, wall time: " "$T/$f.md"' "$f.md: no machine/wall time"
done
for sys in oracle oracle_decoded vrobin continuous no_rite text_only video_only fullseq_dit ar_frames retrieval; do
    for f in main_id main_ood; do
        check 'grep -q "^| $sys  *|" "$T/$f.md"' "$f.md has no row '$sys'"
    done
done
for sys in vrobin no_rite continuous text_only video_only; do
    check 'grep -q "^| $sys  *|" "$T/ablation.md"' "ablation.md has no row '$sys'"
done
check '! grep -q "^| \(fullseq_dit\|ar_frames\|retrieval\)  *|" "$T/ablation.md"' "ablation.md holds non-ablation rows"
for sys in vrobin_4steps vrobin_8steps fullseq_dit_4steps fullseq_dit_8steps ar_frames; do
    check 'grep -q "^| $sys  *|" "$T/latency.md"' "latency.md has no row '$sys'"
done
check 'grep -q "speedup × vs fullseq_dit, same eval.steps" "$T/latency.md" && grep -q "speedup × vs fullseq_dit at equal or better FAD mel" "$T/latency.md" \
    && grep -q "speedup × vs ar_frames ↑" "$T/latency.md" && grep -q "speedup × vs ar_frames at equal or better FAD mel" "$T/latency.md"' \
    "latency.md: no speedup columns (vs fullseq_dit at the same steps and at equal FAD, vs ar_frames)"
check 'grep -q "eval.dit_threads=2" "$T/latency.md"' "latency.md: vrobin not run with its CFG branches on two threads"
check 'grep -q "own captions" "$T/intent.md" && [ "$(grep -c "^| vrobin  *|" "$T/intent.md")" -eq 2 ]' \
    "intent.md: swapped and own-caption tables"
for png in plots/main_id/metrics.png plots/main_ood/metrics.png plots/latency/latency.png \
    plots/train_vrobin_stage1.png plots/train_vrobin_stage2.png plots/train_text_only_stage2.png \
    plots/train_video_only_stage1.png plots/train_video_only_stage2.png; do
    check '[ "$(head -c 8 "$T/$png" | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ]' "$png is not a PNG"
done
check '[ -s "$T/report/report.html" ] && grep -q "<video" "$T/report/report.html"' "report.html missing or without players"
check 'grep -q "^| instrument |" "$T/tagger_test_id.md" && grep -q "^| video → music |" "$T/contrast_test_id.md"' \
    "evaluation models' own accuracy tables"

# ---- the intent manifest: same ids, videos, music and tempo; another instrument's caption ----
"$PY" - "$W/run/synth/test-id.jsonl" "$W/run/intent/test-id-swapped.jsonl" <<'PYEOF' || bad "intent manifest"
import json, os, sys
a = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
b = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
d = os.path.dirname(sys.argv[1])
assert [x["id"] for x in a] == [y["id"] for y in b]
captions = {x["id"]: x for x in a}
for x, y in zip(a, b):
    assert y["video"] == os.path.realpath(os.path.join(d, x["video"])), y["video"]
    assert y["music"] == os.path.realpath(os.path.join(d, x["music"])), y["music"]
    donor = captions[y["labels"]["prompt_from"]]
    assert y["text"] == donor["text"] != x["text"], (y["text"], x["text"])
    assert y["labels"]["instrument"] == donor["labels"]["instrument"] != x["labels"]["instrument"]
    assert y["labels"]["pattern"] == donor["labels"]["pattern"]
    for k in ("tempo_bpm", "beat_times", "cut_times", "mode", "key", "style"):
        assert y["labels"][k] == x["labels"][k], k
print(f"intent manifest: {len(b)} clips, every caption names another instrument")
PYEOF

# ---- resume: a second run skips every phase; a redone phase gives the same bytes ----
sha() { sha256sum "$1" | cut -c1-64; }
m_before=$(sha "$W/run/models/video_only.safetensors")
s_before=$("$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["metrics"], sort_keys=True))' "$W/run/scores/test-id/video_only.json")
rm -f "$W/run/done/train_video_only" "$W/run/done/eval_test-id_video_only" "$W/run/models/video_only.safetensors" \
    "$W/run/scores/test-id/video_only.json"
"$R" tiny --no-setup --work "$W/run" >"$W/run2.log" 2>&1
rc=$?
check '[ $rc -eq 0 ]' "second run failed (rc $rc): $(tail -20 "$W/run2.log")"
check '[ "$(grep -c "done earlier" "$W/run2.log")" -ge 20 ] && ! grep -q "== \[[0-9]*\] train_vrobin  (" "$W/run2.log"' \
    "second run did not skip the finished phases"
check 'grep -q "== \[[0-9]*\] train_video_only  (" "$W/run2.log"' "second run did not redo train_video_only"
check '[ "$(sha "$W/run/models/video_only.safetensors")" = "$m_before" ]' "video_only export differs after resume"
s_after=$("$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["metrics"], sort_keys=True))' "$W/run/scores/test-id/video_only.json")
check '[ "$s_after" = "$s_before" ]' "video_only scores differ after resume"

# ---- swap-prompts refuses what it cannot use ----
printf '{"id":"a","video":"x.mp4","text":"piano"}\n{"id":"b","video":"x.mp4","text":"flute"}\n' >"$W/nolabels.jsonl"
"$VROBIN" data swap-prompts "$W/nolabels.jsonl" -o "$W/out.jsonl" >out.txt 2>&1; rc=$?
check '[ $rc -eq 1 ] && grep -q "nolabels.jsonl:1: clip .a.: no \"instrument\" label" out.txt && [ ! -e "$W/out.jsonl" ]' \
    "manifest without labels: $(cat out.txt)"
"$VROBIN" data swap-prompts "$W/none.jsonl" -o "$W/out.jsonl" >out.txt 2>&1; rc=$?
check '[ $rc -eq 1 ] && grep -q "none.jsonl" out.txt && [ ! -e "$W/out.jsonl" ]' "missing manifest: $(cat out.txt)"
head -n1 "$W/run/synth/test-id.jsonl" | sed "s#\"video\":\"#\"video\":\"$W/run/synth/#; s#\"music\":\"#\"music\":\"$W/run/synth/#" >"$W/one.jsonl"
"$VROBIN" data swap-prompts "$W/one.jsonl" -o "$W/out.jsonl" >out.txt 2>&1; rc=$?
check '[ $rc -eq 1 ] && grep -q "at least 2" out.txt && [ ! -e "$W/out.jsonl" ]' "one-clip manifest: $(cat out.txt)"
"$VROBIN" data swap-prompts "$W/one.jsonl" >out.txt 2>&1; rc=$?
check '[ $rc -eq 2 ] && grep -q "usage: vrobin data swap-prompts" out.txt' "no -o: $(cat out.txt)"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
