#!/bin/sh
# The ctest fixture behind tests/synth_tiny.sh: SynthV2M tiny and its train shards, made once per
# build into OUT (through OUT.tmp, renamed when complete, so a killed run leaves no half folder).
# usage: make_synth_tiny.sh VROBIN SOURCE_DIR OUT
VROBIN=$1 SRC=$2 OUT=$3
[ -x "$VROBIN" ] && [ -d "$SRC" ] && [ -n "$OUT" ] || { echo "usage: $0 VROBIN SOURCE_DIR OUT"; exit 2; }
. "$SRC/tests/synth_tiny.sh"
rm -rf "$OUT" "$OUT.tmp" && mkdir -p "$OUT.tmp" && cd "$OUT.tmp" || exit 1
VROBIN_TEST_SYNTH_TINY= synth_tiny_data "$VROBIN" "$SRC" 1 || exit 1
touch complete && cd .. && mv "$OUT.tmp" "$OUT" || exit 1
echo "SynthV2M tiny + shards in $OUT"
