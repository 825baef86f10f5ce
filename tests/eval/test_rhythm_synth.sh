#!/bin/sh
# `vrobin rhythm-check` on SynthV2M micro ground truth, as a user runs it (~10 s):
#   1. synth micro -> rhythm-check on train, val and test-id (6 clips): the table and the JSON
#      appear, no clip fails, and on the ground-truth renders tempo Acc1 >= 80 % (measured 6/6),
#      Acc2 = 100 %, beat F (+-70 ms) >= 0.9 (measured 0.976-1.0 per split); --max limits clips;
#   2. refusals with clear errors: a missing audio file, an empty (0-byte) audio file, a zero-length
#      window, a clip too short to analyse, labels that are not SynthV2M's (each named, the other
#      clips still tabled, exit 1), an empty manifest, a missing split, bad arguments (exit 2).
# Usage: test_rhythm_synth.sh VROBIN WORKDIR
set -eu
V=$1; W=$2
rm -rf "$W"; mkdir -p "$W"; cd "$W"
pass=0; fail=0
ok()  { pass=$((pass+1)); echo "ok   $*"; }
bad() { fail=$((fail+1)); echo "FAIL $*"; }
# field N (1-based) of the first table's data row: clips, failed, Acc1, Acc2, BPM err, beat F, key, mode
field() { sed -n '5p' "$1" | awk -F'|' -v n="$2" '{ gsub(/[ %]/, "", $(n + 1)); print $(n + 1) }'; }

"$V" data synth micro synth --jobs 2 >/dev/null 2>&1 && ok "synth micro" || bad "synth micro"

# ---- 1. ground truth ----
clips=0; acc1=0; acc2=0
for s in train val test-id; do
  if "$V" rhythm-check synth --split $s --json $s.json > $s.md 2> $s.err; then ok "rhythm-check $s"; else bad "rhythm-check $s: $(cat $s.err)"; fi
  cat $s.md | sed -n '1,11p'
  grep -q '^| clips | failed | tempo Acc1 | tempo Acc2 |' $s.md && grep -q '^| video beats (cuts + motion peaks) |' $s.md \
    && grep -q '^| labelled cut times |' $s.md && grep -q 'LORIS (primary)' $s.md && ok "$s: tables and definitions" \
    || bad "$s: tables"
  grep -q '"tempo_acc1"' $s.json && grep -q '"align_video_beats"' $s.json && grep -q '"id":[^,]*"'$s'-000001"' $s.json \
    && ok "$s: json" || bad "$s: json"
  n=$(field $s.md 1); f=$(field $s.md 2)
  [ "$n" = 2 ] && [ "$f" = 0 ] && ok "$s: 2 clips, none failed" || bad "$s: clips '$n' failed '$f'"
  clips=$((clips + n))
  acc1=$(awk -v a=$acc1 -v p="$(field $s.md 3)" -v n=$n 'BEGIN { print a + p * n / 100 }')
  acc2=$(awk -v a=$acc2 -v p="$(field $s.md 4)" -v n=$n 'BEGIN { print a + p * n / 100 }')
  awk -v f="$(field $s.md 6)" 'BEGIN { exit !(f >= 0.9) }' && ok "$s: beat F $(field $s.md 6) >= 0.9" || bad "$s: beat F $(field $s.md 6)"
done
echo "measured on $clips ground-truth clips: tempo Acc1 $acc1, Acc2 $acc2"
awk -v a=$acc1 -v n=$clips 'BEGIN { exit !(a >= 0.8 * n - 1e-9) }' && ok "tempo Acc1 $acc1/$clips >= 80 %" || bad "tempo Acc1 $acc1/$clips"
awk -v a=$acc2 -v n=$clips 'BEGIN { exit !(a >= n - 1e-9) }' && ok "tempo Acc2 $acc2/$clips = 100 %" || bad "tempo Acc2 $acc2/$clips"
"$V" rhythm-check synth --split train --max 1 > max.md 2>/dev/null && [ "$(field max.md 1)" = 1 ] && ok "--max 1" || bad "--max 1"

# ---- 2. bad input ----
mkdir bad; S=$(pwd)/synth; B=$(pwd)/bad
labels=$(sed -n 1p synth/test-id.jsonl | sed 's/.*"labels"://; s/}$//')
: > bad/empty.flac
line() { echo "{\"id\":\"$1\",\"video\":\"$S/test-id/test-id-000000.mp4\",\"text\":\"\"$2}"; }
{
  line missing_audio ",\"music\":\"$B/nope.flac\",\"labels\":$labels"
  line empty_audio ",\"music\":\"$B/empty.flac\",\"labels\":$labels"
  line zero_window ",\"start\":5,\"end\":5,\"labels\":$labels"
  line too_short ",\"music\":\"$S/test-id/test-id-000000.flac\",\"start\":2,\"end\":2.03,\"labels\":$labels"
  line not_synth ",\"labels\":{\"tempo\":120}"
  line good ",\"music\":\"$S/test-id/test-id-000000.flac\",\"labels\":$labels"
} > bad/mixed.jsonl
: > bad/empty.jsonl
expect() { # expect NAME RC PATTERN -- command...
  name=$1; want=$2; pat=$3; shift 4
  set +e; "$@" > out.txt 2> err.txt; rc=$?; set -e
  if [ $rc = "$want" ] && grep -q -- "$pat" err.txt; then ok "$name"; else bad "$name: rc $rc, stderr: $(cat err.txt)"; fi
}
expect "missing audio file"  1 "clip missing_audio: .*nope.flac: No such file" -- "$V" rhythm-check bad --split mixed
grep -q "empty_audio: .*empty.flac: empty file" err.txt && ok "empty audio file named" || bad "empty audio file: $(cat err.txt)"
grep -q "mixed.jsonl:3: 'end' must be a number greater than 'start'" err.txt && ok "zero-length window named" || bad "zero-length window"
grep -q "clip too_short: 0.030 s of audio .*too short" err.txt && ok "too-short clip named" || bad "too-short clip"
grep -q "clip not_synth: labels need tempo_bpm" err.txt && ok "non-SynthV2M labels named" || bad "non-SynthV2M labels"
[ "$(field out.txt 1)" = 1 ] && [ "$(field out.txt 2)" = 5 ] && ok "the good clip is still tabled, 5 failed" \
  || bad "mixed table: clips '$(field out.txt 1)' failed '$(field out.txt 2)'"
expect "empty manifest"      1 "empty.jsonl: no clips (empty manifest)" -- "$V" rhythm-check bad --split empty
expect "missing split"       1 "nothere.jsonl" -- "$V" rhythm-check bad --split nothere
expect "no folder"           2 "usage: vrobin rhythm-check" -- "$V" rhythm-check
expect "--max 0"             2 "positive integer" -- "$V" rhythm-check synth --max 0
expect "unknown option"      2 "unexpected argument '--splt'" -- "$V" rhythm-check synth --splt test-id

echo "$pass passed, $fail failed"
[ $fail = 0 ]
