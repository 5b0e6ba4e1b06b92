/*
 * cli_args.h — the `sipc` command line's arguments: exit codes, error reporting, option parsing,
 * the command table entry with its help, and the channel options shared by the commands.
 */
#ifndef SIPC_CLI_ARGS_H
#define SIPC_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_io.h"
#include "cli_text.h"
#include "sipc.h"

/* Exit codes. A library failure exits with SIPC_CLI_EXIT_STATUS_BASE + |status|
 * (TIMEOUT 3, PEER_GONE 4, BUSY 5, TOO_BIG 6, ...), see cli_exit_code(). */
enum {
    SIPC_CLI_EXIT_OK = 0,
    SIPC_CLI_EXIT_USAGE = 1, /* bad command line */
    SIPC_CLI_EXIT_IO = 2,    /* a local file, stdin or stdout failed */
    SIPC_CLI_EXIT_STATUS_BASE = 2,
    SIPC_CLI_EXIT_MISMATCH = 30,    /* replay --expect: the answers differ from the recording */
    SIPC_CLI_EXIT_SIGNAL_BASE = 128 /* stopped by SIGINT (130) or SIGTERM (143) */
};

int cli_exit_code(int status);

/* Prints "sipc: <command> <name>: <sentence> (<STATUS>)" and returns the exit code for status. */
int cli_fail(const char *command, const char *name, int status);
/* Prints "sipc: <command>: <message>" plus a hint to the help, returns SIPC_CLI_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *format, ...) __attribute__((format(CLI_PRINTF, 2, 3)));
/* Prints "sipc: <command>: <message>" and returns SIPC_CLI_EXIT_IO. */
int cli_io_error(const char *command, const char *format, ...) __attribute__((format(CLI_PRINTF, 2, 3)));

/* ---- option parsing ---- */
typedef enum cli_option_kind {
    CLI_OPT_FLAG,    /* bool */
    CLI_OPT_STRING,  /* const char * */
    CLI_OPT_U32,     /* uint32_t within [min, max] */
    CLI_OPT_U64,     /* uint64_t within [min, max] */
    CLI_OPT_TIMEOUT, /* int32_t milliseconds; "inf" or -1 means SIPC_INFINITE */
    CLI_OPT_CHOICE,  /* const char *, one of the '|'-separated words in choices */
    CLI_OPT_DURATION /* uint64_t nanoseconds, see cli_parse_duration */
} cli_option_kind;

typedef struct cli_option {
    const char *name; /* long name without "--"; a one-letter name is also given as -X */
    cli_option_kind kind;
    void *target;
    bool *seen;          /* optional: set when the option was given */
    uint64_t min, max;   /* for numbers */
    const char *choices; /* for CLI_OPT_CHOICE */
} cli_option;

/* "90" (seconds), "250ms", "30s", "5m", "2h", "1d" -> nanoseconds. */
bool cli_parse_duration(const char *text, uint64_t *out_ns);

typedef struct cli_command cli_command;

/* Parses argv (argv[0] is the command name). Positional arguments are stored in positional[].
 * Returns -1 on success, else an exit code to return (help printed: 0, error: 1). */
int cli_parse(const cli_command *command, int argc, char **argv, const cli_option *options, size_t option_count,
              const char **positional, size_t min_positional, size_t max_positional, size_t *positional_count);

struct cli_command {
    const char *name;
    int (*run)(const cli_command *command, int argc, char **argv);
    const char *summary;
    const char *usage; /* full help text */
};

void cli_print_command_help(const cli_command *command, FILE *out);

/* ---- channel options shared by the commands that may create a channel ---- */
typedef struct cli_channel_options {
    uint32_t max_size;
    uint32_t depth;
    bool max_size_given;
    bool depth_given;
} cli_channel_options;

/* Opens the channel. Options the user did not give adopt an existing channel's values. */
/* How long a by-name step (open, close, rm) may wait for a channel's lock: the command's --timeout, or without
 * one (inf) the library's default (SIPC_DEFAULT_LOCK_TIMEOUT_MS). */
int32_t cli_lock_timeout(int32_t timeout_ms);
/* Opens a channel, waiting at most cli_lock_timeout(timeout_ms) for its lock. */
int cli_open_channel(const char *name, const cli_channel_options *options, int32_t timeout_ms, sipc_channel **out);

#endif /* SIPC_CLI_ARGS_H */
