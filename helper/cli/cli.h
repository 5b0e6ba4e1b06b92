/*
 * Shared pieces of the `sipc` command-line tool: option parsing, error
 * reporting with stable exit codes, output formatting and signal handling.
 */
#ifndef SIPC_CLI_H
#define SIPC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sipc.h"

#define SIPC_CLI_VERSION "1.0.0"

/* MinGW's "printf" format archetype is Microsoft's, which lacks %zu; its C99 stdio is GNU's. */
#if defined(__MINGW32__)
#  define CLI_PRINTF __MINGW_PRINTF_FORMAT
#else
#  define CLI_PRINTF printf
#endif

/* Exit codes. A library failure exits with SIPC_CLI_EXIT_STATUS_BASE + |status|
 * (TIMEOUT 3, PEER_GONE 4, BUSY 5, TOO_BIG 6, ...), see cli_exit_code(). */
enum {
    SIPC_CLI_EXIT_OK = 0,
    SIPC_CLI_EXIT_USAGE = 1,        /* bad command line */
    SIPC_CLI_EXIT_IO = 2,           /* a local file, stdin or stdout failed */
    SIPC_CLI_EXIT_STATUS_BASE = 2,
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
    CLI_OPT_FLAG,     /* bool */
    CLI_OPT_STRING,   /* const char * */
    CLI_OPT_U32,      /* uint32_t within [min, max] */
    CLI_OPT_U64,      /* uint64_t within [min, max] */
    CLI_OPT_TIMEOUT,  /* int32_t milliseconds; "inf" or -1 means SIPC_INFINITE */
    CLI_OPT_CHOICE    /* const char *, one of the '|'-separated words in choices */
} cli_option_kind;

typedef struct cli_option {
    const char *name;      /* long name without "--" */
    cli_option_kind kind;
    void *target;
    bool *seen;            /* optional: set when the option was given */
    uint64_t min, max;     /* for numbers */
    const char *choices;   /* for CLI_OPT_CHOICE */
} cli_option;

typedef struct cli_command cli_command;

/* Parses argv (argv[0] is the command name). Positional arguments are stored in positional[].
 * Returns -1 on success, else an exit code to return (help printed: 0, error: 1). */
int cli_parse(const cli_command *command, int argc, char **argv, const cli_option *options,
              size_t option_count, const char **positional, size_t min_positional,
              size_t max_positional, size_t *positional_count);

struct cli_command {
    const char *name;
    int (*run)(const cli_command *command, int argc, char **argv);
    const char *summary;
    const char *usage; /* full help text */
};

void cli_print_command_help(const cli_command *command, FILE *out);

/* Commands. */
int cmd_send(const cli_command *command, int argc, char **argv);
int cmd_recv(const cli_command *command, int argc, char **argv);
int cmd_echo(const cli_command *command, int argc, char **argv);
int cmd_connect(const cli_command *command, int argc, char **argv);
int cmd_ls(const cli_command *command, int argc, char **argv);
int cmd_stat(const cli_command *command, int argc, char **argv);
int cmd_tap(const cli_command *command, int argc, char **argv);
int cmd_rm(const cli_command *command, int argc, char **argv);
int cmd_bench(const cli_command *command, int argc, char **argv);

/* ---- channel options shared by the commands that may create a channel ---- */
typedef struct cli_channel_options {
    uint32_t max_size;
    uint32_t depth;
    bool max_size_given;
    bool depth_given;
} cli_channel_options;

/* Opens the channel. Options the user did not give adopt an existing channel's values. */
int cli_open_channel(const char *name, const cli_channel_options *options, sipc_channel **out);

/* ---- output ---- */
typedef enum cli_format { CLI_FORMAT_RAW, CLI_FORMAT_HEX, CLI_FORMAT_TEXT, CLI_FORMAT_JSON } cli_format;
cli_format cli_format_from_name(const char *name);

/* Growable byte buffer. */
typedef struct cli_buffer {
    char *data;
    size_t length;
    size_t capacity;
} cli_buffer;

bool cli_buffer_reserve(cli_buffer *buffer, size_t extra);
bool cli_buffer_append(cli_buffer *buffer, const void *data, size_t length);
bool cli_buffer_append_str(cli_buffer *buffer, const char *text);
bool cli_buffer_printf(cli_buffer *buffer, const char *format, ...) __attribute__((format(CLI_PRINTF, 2, 3)));
void cli_buffer_free(cli_buffer *buffer);

bool cli_append_hex(cli_buffer *out, const void *data, size_t length);
/* Appends a JSON string literal (quotes included); invalid UTF-8 bytes become U+FFFD. */
bool cli_append_json_string(cli_buffer *out, const void *data, size_t length);
bool cli_utf8_valid(const void *data, size_t length);
/* Appends a one-line, printable preview of at most max_chars characters. */
bool cli_append_preview(cli_buffer *out, const void *data, size_t length, size_t max_chars);
/* Decodes hex (whitespace allowed between byte pairs). Returns false on invalid input. */
bool cli_decode_hex(const char *text, cli_buffer *out, const char **error);

/* Appends a message to out in the given format (with its separator), index is its number. */
bool cli_format_message(cli_buffer *out, cli_format format, uint64_t index, const void *data, size_t length);

/* Writes everything, retrying on EINTR / short writes. */
bool cli_write_all(int fd, const void *data, size_t length);
/* Reads a whole file ("-" is stdin). */
bool cli_read_file(const char *path, cli_buffer *out, int *error_number);

uint64_t cli_now_ns(void);              /* CLOCK_REALTIME */
uint64_t cli_monotonic_ns(void);        /* CLOCK_MONOTONIC */
void cli_format_time(uint64_t epoch_ns, char *out, size_t size); /* HH:MM:SS.uuuuuu local time */
void cli_format_iso_time(uint64_t epoch_ns, char *out, size_t size);
const char *cli_state_name(int32_t state);

/* ---- signals: SIGINT/SIGTERM cancel the current channel / observer ---- */
void cli_signals_install(void);
/* Registers what the handler cancels (NULL to clear); blocks the signals while switching. */
void cli_signals_watch_channel(sipc_channel *channel);
void cli_signals_watch_observer(sipc_observer *observer);
/* 0 if no stop signal arrived, else the signal number. */
int cli_stop_signal(void);
/* Write end of a pipe the handler writes one byte to: poll() its read end to wake on a signal. */
int cli_signal_wake_fd(void);

#endif /* SIPC_CLI_H */
