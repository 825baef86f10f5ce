/* data_cmd.c — `vrobin data <build|synth|verify|manifest>` and the glue between areas. */
#include <stdio.h>
#include <string.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "data/build.h"
#include "data/manifest.h"
#include "data/media.h"
#include "data/shard.h"
#include "data/synth.h"

/* The folder adapter's duration probe (manifest.h), over FFmpeg. */
double vr_media_duration_probe(const char *path, void *ctx) {
    (void)ctx;
    vr_media_info info;
    if (vr_media_probe(path, &info)) return -1;
    if (!info.has_video) {
        vr_fail("%s: no video stream", path);
        return -1;
    }
    return info.duration;
}

static int cmd_build(int argc, char **argv) {
    if (argc < 2 || vr_wants_help(argc, argv)) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: vrobin data build CONFIG.yaml [key=value ...]\n\n"
                "Build HDF5 shards from the manifest in data.manifest into data.out_dir/<data.name>-NNNNN.h5.\n"
                "Clips are decoded in parallel (data.jobs), bad clips are skipped with a reason (listed in\n"
                "<out_dir>/<name>_report.json), and shards appear only once complete and verified.\n"
                "Keys: see configs/README.md (section data). Example:\n"
                "  vrobin data build configs/data/synth_tiny.yaml data.manifest=synth/train.jsonl data.name=train\n");
        return argc < 2 ? 2 : 0;
    }
    cfg *c = cfg_load(argv[1], vr_schema, argc - 2, argv + 2);
    if (!c) {
        fprintf(stderr, "vrobin data build: %s\n", vr_error());
        return 1;
    }
    vr_build_result res;
    int rc = vr_data_build(c, &res);
    cfg_free(c);
    if (rc) {
        fprintf(stderr, "vrobin data build: %s\n", vr_error());
        return 1;
    }
    return 0;
}

int vr_cmd_data(int argc, char **argv) {
    static const struct {
        const char *name;
        int (*run)(int, char **);
        const char *summary;
    } subs[] = {
        {"synth", vr_cmd_data_synth, "generate the SynthV2M benchmark (mp4 + flac + manifests)"},
        {"manifest", vr_cmd_data_manifest, "make a manifest from a folder of videos (+ .txt captions)"},
        {"build", cmd_build, "decode, extract features and write HDF5 shards from a manifest"},
        {"verify", vr_cmd_data_verify, "check a shard's schema and every clip's checksum"},
        {"swap-prompts", vr_cmd_data_swap_prompts, "the intent test: each clip's video with another clip's caption"},
    };
    int n = (int)(sizeof subs / sizeof subs[0]);
    if (argc >= 2)
        for (int i = 0; i < n; i++)
            if (!strcmp(argv[1], subs[i].name)) return subs[i].run(argc - 1, argv + 1);
    int help = argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
    FILE *out = help ? stdout : stderr;
    if (argc >= 2 && !help) fprintf(stderr, "vrobin data: unknown subcommand '%s'\n\n", argv[1]);
    fprintf(out, "usage: vrobin data <subcommand> [args]   (vrobin data <subcommand> --help)\n\n");
    for (int i = 0; i < n; i++) fprintf(out, "  %-12s %s\n", subs[i].name, subs[i].summary);
    fprintf(out, "\nTypical flow: vrobin data synth tiny synth/ && vrobin data build configs/data/synth_tiny.yaml\n"
                 "             && vrobin data verify shards/train-00000.h5\n");
    return help ? 0 : 2;
}
