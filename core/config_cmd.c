/* config_cmd.c — `vrobin config show|check|doc`: look at a config the way a run will see it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/error.h"

typedef struct subcommand {
    const char *name, *args, *help;
} subcommand;

static const subcommand SUBS[] = {
    {"show", "FILE.yaml [key=value ...]", "print the resolved config (defaults, extends, overrides) as JSON"},
    {"check", "FILE.yaml [key=value ...]", "validate a config: print \"ok\", or the first error and exit 1"},
    {"doc", "", "print every key as Markdown (the text of configs/README.md)"},
};
#define N_SUBS ((int)(sizeof SUBS / sizeof SUBS[0]))

static void usage(FILE *out, const subcommand *only) {
    for (int i = 0; i < N_SUBS; i++)
        if (!only || only == &SUBS[i])
            fprintf(out, "%s vrobin config %-5s %-26s %s\n", (only || !i) ? "usage:" : "      ", SUBS[i].name,
                    SUBS[i].args, SUBS[i].help);
    fprintf(out,
            "\nOverrides are key=value with a YAML value and win over the file:\n"
            "  vrobin config show configs/default.yaml train.lr=1e-3 data.shards=[a.h5,b.h5]\n"
            "Every key, its type and default: vrobin config doc, or configs/README.md.\n");
}

int vr_cmd_config(int argc, char **argv) {
    if (argc < 2) { usage(stderr, NULL); return 2; }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) { usage(stdout, NULL); return 0; }
    const subcommand *sub = NULL;
    for (int i = 0; i < N_SUBS; i++)
        if (!strcmp(argv[1], SUBS[i].name)) sub = &SUBS[i];
    if (!sub) {
        fprintf(stderr, "vrobin config: unknown subcommand '%s'\n\n", argv[1]);
        usage(stderr, NULL);
        return 2;
    }
    if (vr_wants_help(argc - 1, argv + 1)) { usage(stdout, sub); return 0; }

    if (!strcmp(sub->name, "doc")) {
        if (argc > 2) { usage(stderr, sub); return 2; }
        char *doc = cfg_doc_markdown();
        if (!doc) { fprintf(stderr, "vrobin config: out of memory\n"); return 1; }
        fputs(doc, stdout);
        free(doc);
        return 0;
    }

    if (argc < 3) { usage(stderr, sub); return 2; }
    cfg *c = cfg_load(argv[2], vr_schema, argc - 3, argv + 3);
    if (!c) { fprintf(stderr, "vrobin config: %s\n", vr_error()); return 1; }
    int rc = 0;
    if (!strcmp(sub->name, "check")) {
        printf("ok\n");
    } else {
        char *json = cfg_to_json(c);
        if (json) printf("%s\n", json);
        else { fprintf(stderr, "vrobin config: out of memory\n"); rc = 1; }
        free(json);
    }
    cfg_free(c);
    return rc;
}
