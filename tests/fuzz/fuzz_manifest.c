// fuzz_manifest.c — libFuzzer target for the JSONL manifest parser (data/manifest.c).
// Build and run from the repository root (Debian's clang-14 with libFuzzer):
//   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -I. -o /tmp/fuzz_manifest \
//     tests/fuzz/fuzz_manifest.c data/manifest.c core/error.c core/fsutil.c core/log.c core/cli.c -lcjson -lm
//   /tmp/fuzz_manifest -runs=1000000 tests/data/bad_manifests
// Every input is written to a file and loaded: the parser must never crash, and every entry must
// be either good (id, video and text set) or carry an error that names the manifest and line.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/manifest.h"

/* the folder adapter's probe is not exercised here */
double vr_media_duration_probe(const char *path, void *ctx) {
    (void)path;
    (void)ctx;
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_manifest_%d.jsonl", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    vr_manifest *m = vr_manifest_load(path);
    if (!m) return 0;
    for (int i = 0; i < m->n; i++) {
        const vr_manifest_entry *e = &m->entries[i];
        if (e->error) {
            if (!strstr(e->error, path)) abort(); /* an error must name the file */
        } else if (!e->id || !e->video || !e->text || !e->labels_json) {
            abort(); /* a good entry is complete */
        }
    }
    vr_manifest_free(m);
    return 0;
}
