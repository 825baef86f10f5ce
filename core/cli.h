/* cli.h — the `vrobin` subcommands. main.c dispatches; each area implements its own command.
 * Every command takes (argc, argv) with argv[0] = the subcommand name, prints its --help,
 * returns a process exit code (0 ok, 1 failure with a message already printed, 2 usage error).
 */
#ifndef VR_CLI_H
#define VR_CLI_H

#ifdef __cplusplus
extern "C" {
#endif

int vr_cmd_doctor(int argc, char **argv);  /* core/doctor.c */
int vr_cmd_config(int argc, char **argv);  /* core/config_cmd.c: show / doc / check */
int vr_cmd_inspect(int argc, char **argv); /* core/main.c for now: safetensors summary */

/* True when argv has -h or --help. */
int vr_wants_help(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
