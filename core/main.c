/* main.c — the `vrobin` dispatcher: git-style subcommands, each implemented in its own area. */
#include <stdio.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "vrobin_git.h" /* generated: VROBIN_GIT_COMMIT */
#include "core/safetensors.h"
#include "data/build.h"
#include "data/shard.h"
#include "eval/beats.h"
#include "eval/eval.h"
#include "eval/retrieval.h"
#include "eval/table.h"
#include "infer/export.h"
#include "infer/generate.h"
#include "models/contrast.h"
#include "models/tagger.h"
#include "train/trainer.h"
#include "train/validate.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"doctor", vr_cmd_doctor, "check the installation: libtorch, BLAS, MPI, HDF5, FFmpeg, device"},
    {"config", vr_cmd_config, "show, check or document configuration (YAML) files"},
    {"data", vr_cmd_data, "datasets: synth (SynthV2M), manifest, build (HDF5 shards), verify"},
    {"train", vr_cmd_train, "train a model: vrobin train CONFIG.yaml [key=value ...] (also under mpirun -np N)"},
    {"plot", vr_cmd_plot, "draw a run's loss and learning-rate curves to PNG (gnuplot)"},
    {"validate", vr_cmd_validate, "held-out loss of an export, and free vs teacher-forced sample distances (exposure bias)"},
    {"export", vr_cmd_export, "write a run's EMA weights (+ config, normalisation) as one file for generate"},
    {"generate", vr_cmd_generate, "generate music for a video: wav/flac, or muxed into mp4/mkv/webm"},
    {"eval", vr_cmd_eval, "score a system on a benchmark: FAD/FAD-inf, PRDC, beats, tempo, key (+ oracle rows)"},
    {"retrieve", vr_cmd_retrieve, "the retrieval baseline: each test clip gets the nearest training clip's music"},
    {"table", vr_cmd_table, "merge eval results into paper-shaped Markdown/CSV/JSON tables and gnuplot PNGs"},
    {"report", vr_cmd_report, "HTML listening report of eval results: videos with the music, reference, spectrograms"},
    {"tagger-eval", tagger_cmd_eval, "per-head accuracy of an exported audio tagger on labelled shards"},
    {"contrast-eval", contrast_cmd_eval, "retrieval R@k of exported contrastive video/text-music encoders on shards"},
    {"rhythm-check", vr_cmd_rhythm_check, "check tempo, beats, key/mode and beat alignment on SynthV2M ground truth"},
    {"inspect", vr_cmd_inspect, "summarise a file: HDF5 shard (.h5) or safetensors checkpoint/export"},
};
#define N_COMMANDS ((int)(sizeof COMMANDS / sizeof COMMANDS[0]))

static void usage(FILE *out) {
    fprintf(out,
            "usage: vrobin <command> [args]   (vrobin <command> --help for details)\n\n"
            "vrobin trains and evaluates text-conditioned video-to-music models (planner + FSQ + RITE +\n"
            "local DiT). Commands:\n\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(out, "  %-13s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\nEnvironment: VROBIN_LOG=debug|info|warn|error, VROBIN_PROGRESS_SECONDS=N (non-TTY progress).\n");
}

int vr_cmd_inspect(int argc, char **argv) {
    if (argc < 2 || vr_wants_help(argc, argv)) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: vrobin inspect FILE...\n\n"
                "Summarise files: an HDF5 shard (.h5: attributes, shapes, sizes, value ranges, label keys)\n"
                "or a safetensors file (metadata and one line per tensor: dtype, shape, size, value range).\n");
        return argc < 2 ? 2 : 0;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        size_t n = strlen(argv[i]);
        int is_h5 = (n > 3 && !strcmp(argv[i] + n - 3, ".h5")) || (n > 5 && !strcmp(argv[i] + n - 5, ".hdf5"));
        if ((is_h5 ? vr_shard_print_summary(argv[i], stdout) : st_print_summary(argv[i], stdout)) != 0) {
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
