/*
 * cli_io.h — the `sipc` command line's I/O: whole writes and whole-file reads, and the stop
 * signals (SIGINT/SIGTERM, or the console control events on Windows) that cancel a blocked call.
 */
#ifndef SIPC_CLI_IO_H
#define SIPC_CLI_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_text.h"
#include "sipc.h"

/* Writes everything, retrying on EINTR / short writes. */
bool cli_write_all(int fd, const void *data, size_t length);
/* Reads a whole file ("-" is stdin). */
bool cli_read_file(const char *path, cli_buffer *out, int *error_number);
/* Whether the write that just failed with errno error_number found its pipe without a reader: EPIPE, and on
 * Windows also a named pipe being closed, which the C runtime reports as EINVAL. Call it right after the failure. */
bool cli_write_found_no_reader(int error_number);
/* Notes the process that started this one (its parent at the start of main), for cli_open_fifo. */
void cli_note_starter(void);
/* Opens the FIFO (on Windows the named pipe) a reader such as Wireshark made, for writing, as fopen(path, "wb")
 * does; on Windows with the access cli_reader_gone needs to read the pipe's state. On POSIX it waits for the FIFO's
 * reader only while the process that started this one lives and no stop signal came (ENXIO then). NULL with errno
 * set. */
FILE *cli_open_fifo(const char *path);
/* Whether the reader of the pipe or FIFO `fd` is gone, found without writing: POSIX poll reports an error or
 * hang-up on the write end; Windows reads the pipe's state (connected or not; needs FILE_READ_ATTRIBUTES, which a
 * stream opened by cli_open_fifo has). False where that cannot be told (files, terminals): such a stream learns it
 * at its next write. Lets an idle stream end when its reader left instead of waiting for something to write. */
bool cli_reader_gone(int fd);
/* A failed write to stdout (errno error_number): its reader going away (`sipc tap x | head`) is a normal end, as for
 * Unix tools: SIPC_CLI_EXIT_OK and nothing on stderr. Any other error is reported and gives SIPC_CLI_EXIT_IO. */
int cli_stdout_write_failed(const char *command, int error_number);

/* The absolute path of the running sipc executable; false if the OS does not say. */
bool cli_executable_path(char *out, size_t size);
/* Creates a directory and its missing parents (like mkdir -p); false with errno set. */
bool cli_make_directories(const char *path);
/* Writes a file that the OS may run (mode 0755 on POSIX), replacing an existing one. */
bool cli_write_executable(const char *path, const char *content);
/* Removes a file; false with errno set (ENOENT when there was none). */
bool cli_remove_file(const char *path);

/* `--stats` of tap and record: the observer's counters (sipc_observer_get_stats; false if they cannot be read), taken
 * before it is closed, then printed as "sipc: COMMAND NAME: stats {...}" on stderr, one JSON object. */
bool cli_take_observer_stats(sipc_observer *observer, sipc_observer_stats *stats);
/* Adds one observer's counters to a run's total (several observers of one channel, one after the other: --follow):
 * counts add up, the largest of the max and longest fields is kept. */
void cli_add_observer_stats(sipc_observer_stats *total, const sipc_observer_stats *stats);
void cli_print_observer_stats(const char *command, const char *name, const sipc_observer_stats *stats);

/* ---- signals: SIGINT/SIGTERM cancel the current channel / observer ---- */
void cli_signals_install(void);
/* Registers what the handler cancels (NULL to clear); blocks the signals while switching. */
void cli_signals_watch_channel(sipc_channel *channel);
void cli_signals_watch_observer(sipc_observer *observer);
/* 0 if no stop signal arrived, else the signal number. */
int cli_stop_signal(void);
/* Write end of a pipe the handler writes one byte to: poll() its read end to wake on a signal. */
int cli_signal_wake_fd(void);

#endif /* SIPC_CLI_IO_H */
