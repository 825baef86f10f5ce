/* cli.c — helpers shared by every subcommand (see cli.h). */
#include "core/cli.h"

#include <string.h>

int vr_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    return 0;
}
