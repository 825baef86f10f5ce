#!/bin/sh
# The analysis scripts in results/ on SynthV2M tiny: caption_swap.py writes captions that differ from
# the clip's own in the --change label only (donor checked against the manifest), the same file for
# the same seed, and refuses bad input by file:line without touching OUT; instrument_probe.py gives a
# folder holding the reference's own audio the reference's accuracy, and names bad counts, a folder
# without wavs and a manifest clip without an instrument.
# usage: test_scripts.sh SOURCE_DIR WORK_DIR PYTHON [VROBIN (to make SynthV2M tiny when no fixture)]
SRC=$1 W=$2 PY=$3 VROBIN=${4:-}
[ -d "$SRC" ] && [ -n "$W" ] && [ -n "$PY" ] || { echo "usage: $0 SOURCE_DIR WORK_DIR PYTHON [VROBIN]"; exit 2; }
. "$(dirname "$0")/../check.sh" # PASS/FAIL counters: ok, bad, check
. "$(dirname "$0")/../synth_tiny.sh" # synth_tiny_data

rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
synth_tiny_data "$VROBIN" "$SRC" 0 || { echo "0 passed, 1 failed"; exit 1; }
SWAP="$PY $SRC/results/caption_swap.py" PROBE="$PY $SRC/results/instrument_probe.py"
M=synth/train.jsonl

# ---- caption_swap.py: one attribute changed, the others kept, deterministic ----
verify_swap() { # OUT CHANGE KEEP: every clip its own but for the caption, taken from a fitting donor
    "$PY" - "$M" "$1" "$2" "$3" <<'PYEOF'
import json, sys
src, out, change, keep = sys.argv[1], sys.argv[2], sys.argv[3], [k for k in sys.argv[4].split(",") if k]
probe = [json.loads(l) for l in open(src) if l.strip()]
swapped = [json.loads(l) for l in open(out) if l.strip()]
assert len(swapped) == len(probe), (len(swapped), len(probe))
for p, s in zip(probe, swapped):
    assert {k: v for k, v in s.items() if k != "text"} == {k: v for k, v in p.items() if k != "text"}, p["id"]
    assert s["text"] != p["text"], p["id"]
    donors = [d for d in probe if d["text"] == s["text"]]
    assert any(all(d["labels"][k] == p["labels"][k] for k in keep)
               and (change == "none" or d["labels"][change] != p["labels"][change]) for d in donors), p["id"]
PYEOF
}
$SWAP $M $M instr.jsonl --change instrument --keep drums >log 2>&1
check '[ $? -eq 0 ] && grep -q "24 clips" log' "caption_swap --change instrument: $(cat log)"
verify_swap instr.jsonl instrument drums || bad "instrument swap: a caption from a wrong donor"
$SWAP $M $M para.jsonl --change none --keep instrument --seed 3 >log 2>&1
check '[ $? -eq 0 ]' "caption_swap --change none: $(cat log)"
verify_swap para.jsonl none instrument || bad "paraphrase: a caption from a wrong donor"
$SWAP $M $M instr2.jsonl --change instrument --keep drums >/dev/null 2>&1
check 'cmp -s instr.jsonl instr2.jsonl' "the same seed wrote another file"
check '! ls *.tmp >/dev/null 2>&1' "a .tmp left behind"

# ---- caption_swap.py: refusals name the file (and line), OUT stays as it was ----
echo keep >out.jsonl
refuse_swap() { # EXPECTED-SUBSTRING ARGS...: exit != 0, the message, out.jsonl untouched
    want=$1; shift
    $SWAP "$@" out.jsonl >log 2>&1 && { bad "caption_swap $* succeeded"; return; }
    check 'grep -qF -- "$want" log && ! grep -q Traceback log && [ "$(cat out.jsonl)" = keep ]' \
        "caption_swap $*: expected '$want', got $(cat log)"
}
refuse_swap "nothere.jsonl: not a readable JSONL manifest" nothere.jsonl $M --change instrument
head -3 $M >bad.jsonl && echo '{"id": "x", "text": "a caption"}' >>bad.jsonl
refuse_swap "bad.jsonl:4: expected a clip with 'text'" bad.jsonl $M --change instrument
head -2 $M >broken.jsonl && echo '{"id": ' >>broken.jsonl
refuse_swap "broken.jsonl: not a readable JSONL manifest" $M broken.jsonl --change instrument
refuse_swap "train.jsonl:1: no label 'colour'" $M $M --change instrument --keep colour
head -1 $M >one.jsonl
refuse_swap "one.jsonl: no donor for clip 'train-000000'" $M one.jsonl --change instrument
refuse_swap "--seed 'x': expected an integer" $M $M --change instrument --seed x
refuse_swap "--seed '--5': expected an integer" $M $M --change instrument --seed --5
$SWAP $M $M out.jsonl --change >log 2>&1 && bad "caption_swap without a --change value succeeded"
check 'grep -qF -- "--change: expected a value" log && [ "$(cat out.jsonl)" = keep ]' "--change alone: $(cat log)"

# ---- instrument_probe.py: the reference's own audio scores as the reference ----
mkdir -p ref
"$PY" - synth/test-id.jsonl <<'PYEOF' | while read -r id music; do ln -s "$PWD/synth/$music" "ref/$id.wav"; done
import json, sys
for l in open(sys.argv[1]):
    c = json.loads(l)
    print(c["id"], c["music"])
PYEOF
$PROBE synth 24 6 ref >probe.txt 2>&1
check '[ $? -eq 0 ]' "instrument_probe: $(cat probe.txt)"
REF=$(sed -n 's/.*reference test-id clips: accuracy \([0-9.]*\) (6 clips).*/\1/p' probe.txt)
GEN=$(sed -n 's/^ref: accuracy \([0-9.]*\) (6 clips).*/\1/p' probe.txt)
check '[ -n "$REF" ] && [ "$REF" = "$GEN" ]' \
    "the reference's own audio: accuracy '$GEN', the reference '$REF': $(cat probe.txt)"
check '[ "$(grep -c "within the set, leave-one-out" probe.txt)" -eq 2 ]' "within-set lines: $(cat probe.txt)"

# ---- instrument_probe.py: refusals ----
refuse_probe() { # EXPECTED-SUBSTRING ARGS...
    want=$1; shift
    $PROBE "$@" >log 2>&1 && { bad "instrument_probe $* succeeded"; return; }
    check 'grep -qF -- "$want" log && ! grep -q Traceback log' "instrument_probe $*: expected '$want', got $(cat log)"
}
refuse_probe "expected two clip counts" synth 24 six
mkdir -p empty
refuse_probe "empty: none of the 6 test clips has a wav here" synth 4 6 empty
head -2 synth/test-id.jsonl >labels.jsonl && echo '{"id": "test-id-000002", "labels": {}}' >>labels.jsonl
refuse_probe "labels.jsonl:3: expected a clip with 'id', 'labels.instrument'" synth 4 6 ref:labels.jsonl
refuse_probe "not a readable JSONL manifest" nothere 4 6

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
