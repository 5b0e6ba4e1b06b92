/*
 * cli.h — what the `sipc` commands share: the argument, text and I/O pieces, and the commands
 * that main.c dispatches to.
 */
#ifndef SIPC_CLI_H
#define SIPC_CLI_H

#include "cli_args.h"
#include "cli_io.h"
#include "cli_text.h"
#include "deadline.h" /* from ../src: the library's own deadlines, clocks and threads */
#include "platform.h"

#define SIPC_CLI_VERSION "1.0.0"

/* Commands. */
int cmd_send(const cli_command *command, int argc, char **argv);
int cmd_recv(const cli_command *command, int argc, char **argv);
int cmd_echo(const cli_command *command, int argc, char **argv);
int cmd_connect(const cli_command *command, int argc, char **argv);
int cmd_ls(const cli_command *command, int argc, char **argv);
int cmd_stat(const cli_command *command, int argc, char **argv);
int cmd_tap(const cli_command *command, int argc, char **argv);
int cmd_decode(const cli_command *command, int argc, char **argv);
int cmd_rm(const cli_command *command, int argc, char **argv);
int cmd_record(const cli_command *command, int argc, char **argv);
int cmd_replay(const cli_command *command, int argc, char **argv);
int cmd_extcap(const cli_command *command, int argc, char **argv);
int cmd_bench(const cli_command *command, int argc, char **argv);

#endif /* SIPC_CLI_H */
