#!/bin/sh
# Build the safetensors libFuzzer target with clang and run it on the committed seeds plus the
# hostile-file corpus (tests/safetensors_bad).
#
#   tests/fuzz/run_fuzz.sh                      # 1,000,000 executions (a few minutes on 2 cores)
#   tests/fuzz/run_fuzz.sh -runs=5000000        # any libFuzzer flags replace the default
#   tests/fuzz/run_fuzz.sh -max_total_time=600
#   CJSON_SRC=/path/to/cJSON-1.7.15 tests/fuzz/run_fuzz.sh
#                 # compile cJSON.c in, instrumented, so ASan also checks the JSON parser's reads
#                 # and libFuzzer learns from its coverage (default: the system -lcjson)
#
# Output (git-ignored) goes to tests/fuzz/out/: the binary, the dictionary, new corpus entries in
# out/corpus_safetensors, and crash-*/leak-*/timeout-* reproducers. Replay one with
#   tests/fuzz/out/fuzz_safetensors tests/fuzz/out/crash-<sha>
# and add the file to tests/fuzz/corpus/safetensors once fixed (ctest fuzz_safetensors_corpus
# replays that directory on every run).
set -eu
cd "$(dirname "$0")/../.."
CC=${FUZZ_CC:-clang}
command -v "$CC" >/dev/null 2>&1 || CC=clang-14
OUT=tests/fuzz/out
mkdir -p "$OUT/corpus_safetensors"

if [ -n "${CJSON_SRC:-}" ]; then
    CJSON="$CJSON_SRC/cJSON.c"
else
    CJSON="-lcjson"
fi
echo "building $OUT/fuzz_safetensors with $CC (cJSON: $CJSON)"
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    -I. tests/fuzz/fuzz_safetensors.c core/safetensors.c core/error.c core/fsutil.c core/log.c \
    $CJSON -lm -o "$OUT/fuzz_safetensors"

# tokens of the format, so mutations reach the validation past the JSON parser
cat > "$OUT/safetensors.dict" <<'DICT'
"{"
"}"
"["
"]"
":"
","
"\""
" "
"\"dtype\""
"\"shape\""
"\"data_offsets\""
"\"__metadata__\""
"\"F64\""
"\"F32\""
"\"F16\""
"\"BF16\""
"\"I64\""
"\"I32\""
"\"I16\""
"\"I8\""
"\"U8\""
"\"BOOL\""
"\"U16\""
"\"U32\""
"\"U64\""
"\"F8_E4M3\""
"\"F8_E5M2\""
"0"
"1"
"4"
"8"
"9007199254740991"
"9007199254740992"
"18446744073709551615"
"-1"
"2.5"
"1e3"
"\\u0000"
"\\ud83d\\ude00"
"\xff\xff\xff\xff\xff\xff\xff\xff"
"\x00\x00\x00\x00\x00\x00\x00\x00"
DICT

[ $# -gt 0 ] || set -- -runs=1000000
exec "$OUT/fuzz_safetensors" -dict="$OUT/safetensors.dict" -artifact_prefix="$OUT/" -max_len=4096 \
    -print_final_stats=1 "$@" "$OUT/corpus_safetensors" tests/fuzz/corpus/safetensors tests/safetensors_bad
