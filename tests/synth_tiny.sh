# synth_tiny.sh — sourced by the end-to-end tests that start from SynthV2M tiny: synth_tiny_data
# puts synth/ (the benchmark) and shards/ (its train shards, data.keep_frames=false) in the
# current folder. ctest makes them once per build (the fixture test fixture_synth_tiny,
# tests/make_synth_tiny.sh) and points VROBIN_TEST_SYNTH_TINY at them, so each test copies
# instead of rebuilding (~20 s per test under the sanitizers); a test run by hand makes its own.
# usage: synth_tiny_data VROBIN SOURCE_DIR [shards: 1 (default) or 0] -> 0, or 1 with the log printed
synth_tiny_data() {
    if [ -n "${VROBIN_TEST_SYNTH_TINY:-}" ] && [ -e "$VROBIN_TEST_SYNTH_TINY/complete" ]; then
        cp -r "$VROBIN_TEST_SYNTH_TINY/synth" . || return 1
        [ "${3:-1}" = 0 ] || cp -r "$VROBIN_TEST_SYNTH_TINY/shards" . || return 1
        return 0
    fi
    if "$1" data synth tiny synth --jobs 2 >synth_tiny.log 2>&1 &&
        { [ "${3:-1}" = 0 ] || "$1" data build "$2/configs/data/synth_tiny.yaml" data.keep_frames=false data.jobs=2 \
            >>synth_tiny.log 2>&1; }; then
        return 0
    fi
    cat synth_tiny.log
    return 1
}
