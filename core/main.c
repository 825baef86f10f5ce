/* main.c — the `vrobin` dispatcher: git-style subcommands, each implemented in its own area. */
#include <stdio.h>
#include <string.h>

#include "core/cli.h"
#include "vrobin_git.h" /* generated: VROBIN_GIT_COMMIT */
#include "core/safetensors.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"doctor", vr_cmd_doctor, "check the installation: libtorch, BLAS, MPI, HDF5, FFmpeg, device"},
    {"config", vr_cmd_config, "show, check or document configuration (YAML) files"},
    {"inspect", vr_cmd_inspect, "summarise a file (safetensors checkpoint/export)"},
};
#define N_COMMANDS ((int)(sizeof COMMANDS / sizeof COMMANDS[0]))

int vr_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    return 0;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: vrobin <command> [args]   (vrobin <command> --help for details)\n\n"
            "vrobin trains and evaluates text-conditioned video-to-music models (planner + FSQ + RITE +\n"
            "local DiT). Commands:\n\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\nEnvironment: VROBIN_LOG=debug|info|warn|error, VROBIN_PROGRESS_SECONDS=N (non-TTY progress).\n");
}

int vr_cmd_inspect(int argc, char **argv) {
    if (argc < 2 || vr_wants_help(argc, argv)) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: vrobin inspect FILE.safetensors\n\n"
                "Print a file's metadata and one line per tensor (dtype, shape, size, value range).\n");
        return argc < 2 ? 2 : 0;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (st_print_summary(argv[i], stdout) != 0) {
            fprintf(stderr, "vrobin inspect: %s\n", vr_error());
            rc = 1;
        }
    }
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("vrobin %s (%s)\n", VROBIN_VERSION, VROBIN_GIT_COMMIT);
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "vrobin: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
