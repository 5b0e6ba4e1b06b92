/*
 * recording.h — where `sipc record` and the Wireshark extcap write a recording: a file (rotated by
 * size or age into NAME-00001.EXT, NAME-00002.EXT, ...), stdout, or a FIFO/pipe that is flushed after
 * every record. Each rotated file is complete by itself (its own pcapng section and interfaces, or
 * its own JSON Lines header).
 */
#ifndef SIPC_CLI_RECORDING_H
#define SIPC_CLI_RECORDING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture.h"
#include "platform.h"
#include "sipc.h"

typedef struct recording_output {
    const char *command; /* for error messages */
    const char *path;    /* as given; "-" is stdout */
    char *current_path;  /* the file being written (path itself unless rotating) */
    capture_format format;
    const char *const *channels;
    size_t channel_count;
    uint64_t rotate_size;    /* bytes per file, 0: no limit */
    uint64_t rotate_time_ns; /* age per file, 0: no limit */
    uint64_t file_started;   /* monotonic */
    uint32_t file_index;     /* 1, 2, ... when rotating; 0 otherwise */
    bool rotate_pending;
    bool flush_each;  /* a live reader (Wireshark) waits for every record */
    bool stream;      /* stdout or a FIFO: its reader leaving ends the recording normally */
    bool reader_gone; /* that reader closed its end: the recording is over, not failed */
    bool quiet;
    bool owns_file;
    FILE *file;
    capture_sink sink;
} recording_output;

/* pcapng unless format_name says otherwise or the path ends in .jsonl, .ndjson or .json. */
capture_format recording_format_for(const char *path, const char *format_name);

/* Opens path (or stdout for "-") and writes the header. On failure prints why, sets *exit_code and
 * returns false. */
bool recording_output_open(recording_output *output, const char *command, const char *path, capture_format format,
                           const char *const *channels, size_t channel_count, uint64_t rotate_size,
                           uint64_t rotate_time_ns, bool quiet, int *exit_code);
/* Writes to an already open stream (a FIFO), flushing after every record; the stream is closed by
 * recording_output_close. The reader closing its end (EPIPE; Wireshark stopping the capture) ends the
 * recording with exit 0 and nothing on stderr; other write errors stay errors. */
bool recording_output_open_stream(recording_output *output, const char *command, FILE *file, const char *path,
                                  capture_format format, const char *const *channels, size_t channel_count,
                                  int *exit_code);
/* Writes one record, rotating first when the file is full or old. The caller serialises calls. */
bool recording_output_write(recording_output *output, const capture_record *record, int *exit_code);
/* Nothing arrived for a while: flush what is buffered, so the file is readable while recording. */
/* Between records (nothing came for a while): flushes what is buffered, under lock (which also guards exit_code).
 * True when the recording must end: the stream's reader is gone (a normal end; found by that flush or, with nothing
 * to write, by cli_reader_gone), or the flush failed (*exit_code set, the error reported). */
bool recording_output_idle(recording_output *output, sipc_os_mutex *lock, int *exit_code);
bool recording_output_close(recording_output *output, int *exit_code);

/* Records the observed channels (observers[i] watches names[i], opened with observe_options, which a
 * channel that was removed and comes back is observed with again; this takes them over and closes them)
 * into output (opened; this closes it) until limit messages (0: no limit), duration_ns (0: none), a
 * stop signal, or a failure. With stats, each channel's observer counters go to stderr at the end
 * (cli_print_observer_stats; of the channel's last observer, also one closed because the channel was removed). Returns the exit
 * code. */
int recording_run(const char *command, const char *const *names, sipc_observer **observers, size_t count,
                  const sipc_observe_options *observe_options, recording_output *output, uint64_t limit,
                  uint64_t duration_ns, bool quiet, bool stats);

/* The observer options of a recording: peer events (into the file) and lossless observation on request. */
void recording_observe_options(sipc_observe_options *options, bool events, bool lossless, uint32_t stall_timeout_ms);

#endif /* SIPC_CLI_RECORDING_H */
