// fuzz_config.c — libFuzzer harness for the YAML config loader (not part of ctest).
//
// Build and run from the repository root (clang with libFuzzer, e.g. Debian's clang-14):
//   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -I. -o /tmp/fuzz_config
//     tests/fuzz/fuzz_config.c core/config.c core/schema.c core/error.c core/fsutil.c -lyaml -lcjson -lm
//   mkdir -p tests/fuzz/out/config && cp -r tests/configs/good tests/configs/bad tests/fuzz/out/config/
//   mkdir -p /tmp/fuzz_cwd && cd /tmp/fuzz_cwd && /tmp/fuzz_config -max_total_time=60 $OLDPWD/tests/fuzz/out/config
// Run it from an empty folder: inputs may `extends:` relative file names, which resolve there.
//
// Each input is loaded as a config file, then used whole as one override; whatever loads must
// dump to JSON that loads back to the same config.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"

/* A loaded config's JSON must load back to the same JSON (the run folder's config.json is a config). */
static void check_roundtrip(const cfg *c) {
    char *json = cfg_to_json(c);
    if (!json) return;
    cfg *back = cfg_load_string(json, strlen(json), "dump.json", vr_schema);
    char *again = back ? cfg_to_json(back) : NULL;
    if (!again || strcmp(json, again)) {
        fprintf(stderr, "JSON round trip failed: %s\n%s\n", back ? "different" : vr_error(), json);
        abort();
    }
    free(again);
    cfg_free(back);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cfg *c = cfg_load_string((const char *)data, size, "fuzz.yaml", vr_schema);
    if (c) check_roundtrip(c);
    cfg_free(c);

    char *ov = malloc(size + 1); /* overrides are C strings */
    if (!ov) return 0;
    memcpy(ov, data, size);
    ov[size] = '\0';
    c = cfg_defaults(vr_schema, 1, &ov);
    if (c) check_roundtrip(c);
    cfg_free(c);
    free(ov);
    return 0;
}
