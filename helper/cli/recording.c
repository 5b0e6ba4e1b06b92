/* Where a recording goes: files with rotation, stdout, or a FIFO (recording.h). */
#include "recording.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_follow.h"
#include "observe_queue.h"

void recording_observe_options(sipc_observe_options *options, bool events, bool lossless, uint32_t stall_timeout_ms)
{
    sipc_observe_options_init(options);
    options->flags = (events ? SIPC_OBSERVE_EVENTS : 0u) | (lossless ? SIPC_OBSERVE_LOSSLESS : 0u);
    options->stall_timeout_ms = stall_timeout_ms;
}

capture_format recording_format_for(const char *path, const char *format_name)
{
    if (format_name)
        return strcmp(format_name, "jsonl") == 0 ? CAPTURE_JSONL : CAPTURE_PCAPNG;
    const char *dot = strrchr(path, '.');
    if (dot && (strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".json") == 0))
        return CAPTURE_JSONL;
    return CAPTURE_PCAPNG;
}

/* path with "-NNNNN" before its extension: capture.pcapng -> capture-00001.pcapng. */
static char *rotated_path(const char *path, uint32_t index)
{
    const char *slash = strrchr(path, '/');
    const char *backslash = strrchr(path, '\\');
    const char *base = slash && (!backslash || slash > backslash) ? slash + 1 : backslash ? backslash + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot > base ? (size_t)(dot - path) : strlen(path);
    size_t size = strlen(path) + 16;
    char *out = malloc(size);
    if (out)
        snprintf(out, size, "%.*s-%05u%s", (int)stem, path, index, path + stem);
    return out;
}

static bool start_file(recording_output *output, int *exit_code)
{
    free(output->current_path);
    output->current_path = output->file_index ? rotated_path(output->path, output->file_index) : strdup(output->path);
    if (!output->current_path) {
        *exit_code = cli_io_error(output->command, "out of memory");
        return false;
    }
    output->file = fopen(output->current_path, "wb");
    if (!output->file) {
        *exit_code = cli_io_error(output->command, "cannot create %s: %s", output->current_path, strerror(errno));
        return false;
    }
    output->owns_file = true;
    output->file_started = sipc_os_monotonic_ns();
    output->rotate_pending = false;
    if (!capture_sink_start(&output->sink, output->file, output->format, output->channels, output->channel_count)) {
        *exit_code = cli_io_error(output->command, "cannot write %s: %s", output->current_path, strerror(errno));
        return false;
    }
    if (output->file_index > 1 && !output->quiet)
        fprintf(stderr, "sipc: %s: now writing %s\n", output->command, output->current_path);
    return true;
}

/* What errors call the output: the file being written, the FIFO, or stdout. */
static const char *output_label(const recording_output *output)
{
    if (output->current_path)
        return output->current_path;
    return strcmp(output->path, "-") == 0 ? "stdout" : output->path;
}

/* Wireshark stops an extcap capture by closing its FIFO (on Windows its named pipe): for a live reader's stream
 * that is the normal end, and Wireshark shows anything the extcap writes to stderr as an error ("Error by extcap
 * pipe"). A reader of stdout quitting early (`sipc record x -o - | head -c 100`) is the same normal end, as for Unix
 * tools. Marks the output so the recording ends quietly with exit 0. Called right after the failed write. */
static bool note_reader_gone(recording_output *output, int error_number)
{
    if (output->stream && cli_write_found_no_reader(error_number))
        output->reader_gone = true;
    return output->reader_gone;
}

static bool finish_file(recording_output *output, int *exit_code)
{
    if (!output->file)
        return true;
    /* What waits in the sink first; the file is closed (or flushed) either way, and errno says the first failure. */
    bool flushed = capture_sink_flush(&output->sink);
    int flush_error = errno;
    bool ok = (output->owns_file ? fclose(output->file) == 0 : fflush(output->file) == 0) && flushed;
    if (!flushed)
        errno = flush_error;
    output->file = NULL;
    if (!ok && note_reader_gone(output, errno)) /* what was buffered has no reader any more */
        ok = true;
    if (!ok && exit_code && *exit_code < 0)
        *exit_code = cli_io_error(output->command, "cannot write %s: %s", output_label(output), strerror(errno));
    return ok;
}

/* The fields every recording output has; each open adds only what differs. */
static void recording_output_init(recording_output *output, const char *command, const char *path,
                                  capture_format format, const char *const *channels, size_t channel_count)
{
    memset(output, 0, sizeof *output);
    output->command = command;
    output->path = path;
    output->format = format;
    output->channels = channels;
    output->channel_count = channel_count;
}

/* Writes the header to a stream the caller opened (stdout or a FIFO); label names it in errors. */
static bool start_stream(recording_output *output, FILE *file, const char *label, int *exit_code)
{
    output->file = file;
    output->stream = true;
    output->file_started = sipc_os_monotonic_ns();
    if (!capture_sink_start(&output->sink, file, output->format, output->channels, output->channel_count) ||
        (output->flush_each && fflush(file) != 0)) {
        int error_number = errno;
        *exit_code = note_reader_gone(output, error_number)
                         ? SIPC_CLI_EXIT_OK
                         : cli_io_error(output->command, "cannot write to %s: %s", label, strerror(error_number));
        capture_sink_free(&output->sink);
        return false;
    }
    return true;
}

bool recording_output_open(recording_output *output, const char *command, const char *path, capture_format format,
                           const char *const *channels, size_t channel_count, uint64_t rotate_size,
                           uint64_t rotate_time_ns, bool quiet, int *exit_code)
{
    recording_output_init(output, command, path, format, channels, channel_count);
    output->rotate_size = rotate_size;
    output->rotate_time_ns = rotate_time_ns;
    output->quiet = quiet;
    if (strcmp(path, "-") == 0)
        return start_stream(output, stdout, "stdout", exit_code);
    output->file_index = rotate_size != 0 || rotate_time_ns != 0 ? 1 : 0;
    if (!start_file(output, exit_code)) {
        finish_file(output, NULL);
        free(output->current_path);
        capture_sink_free(&output->sink);
        return false;
    }
    return true;
}

bool recording_output_open_stream(recording_output *output, const char *command, FILE *file, const char *path,
                                  capture_format format, const char *const *channels, size_t channel_count,
                                  int *exit_code)
{
    recording_output_init(output, command, path, format, channels, channel_count);
    output->flush_each = true;
    output->owns_file = true;
    return start_stream(output, file, path, exit_code);
}

bool recording_output_write(recording_output *output, const capture_record *record, int *exit_code)
{
    if (output->file_index != 0 &&
        (output->rotate_pending ||
         (output->rotate_time_ns != 0 && sipc_os_monotonic_ns() - output->file_started >= output->rotate_time_ns))) {
        if (!finish_file(output, exit_code))
            return false;
        output->file_index++;
        if (!start_file(output, exit_code))
            return false;
    }
    if (!capture_sink_write(&output->sink, record) ||
        (output->flush_each && (!capture_sink_flush(&output->sink) || fflush(output->file) != 0))) {
        int error_number = errno;
        if (*exit_code < 0 && !note_reader_gone(output, error_number))
            *exit_code =
                cli_io_error(output->command, "cannot write %s: %s", output_label(output), strerror(error_number));
        return false;
    }
    if (output->rotate_size != 0 && output->sink.bytes >= output->rotate_size)
        output->rotate_pending = true;
    return true;
}

bool recording_output_idle(recording_output *output, sipc_os_mutex *lock, int *exit_code)
{
    sipc_os_mutex_lock(lock);
    bool failed = false;
    if (output->file && (!capture_sink_flush(&output->sink) || fflush(output->file) != 0)) {
        int error_number = errno;
        failed = !note_reader_gone(output, error_number);
        if (failed && *exit_code < 0)
            *exit_code =
                cli_io_error(output->command, "cannot write %s: %s", output_label(output), strerror(error_number));
    }
    /* A reader that left while nothing was written: Wireshark gone without stopping the capture, `| head` done. */
    if (output->file && output->stream && !output->reader_gone && cli_reader_gone(fileno(output->file)))
        output->reader_gone = true;
    bool over = failed || output->reader_gone;
    sipc_os_mutex_unlock(lock);
    return over;
}

bool recording_output_close(recording_output *output, int *exit_code)
{
    bool ok = finish_file(output, exit_code);
    free(output->current_path);
    output->current_path = NULL;
    capture_sink_free(&output->sink);
    return ok;
}

/* ================================ recording channels ================================ */

/* Each channel is copied by a thread of its own (observe_queue.h, as `sipc tap` does) while its worker formats and
 * writes: a slow disk, a full pipe or a rotation keeps neither a plain observer away from the channel (it would miss
 * messages) nor, lossless, the peers waiting (up to the queue's bound). The copier says QUIET once the channel was
 * quiet this long (the worker flushes the file, so it is readable while recording) and again every this long while
 * it stays quiet: that is when the worker of a quiet channel looks at the stop conditions (a stop signal, --count
 * reached on another channel, a stream's reader gone). */
#define RECORD_SLICE_MS 100

typedef struct record_session {
    sipc_os_mutex lock;
    const sipc_observe_options *observe_options;
    recording_output *output;
    uint64_t limit;         /* messages to record in all (0: no limit) */
    uint64_t recorded;      /* messages written */
    uint64_t missed;        /* messages the observers reported missing */
    uint64_t stop_deadline; /* monotonic; SIPC_OS_NO_DEADLINE without --duration */
    bool stopping;          /* --count reached, the output failed or its reader left: no more writes */
    int exit_code;          /* -1 while fine */
} record_session;

typedef struct record_worker {
    record_session *session;
    uint32_t channel;
    const char *name;
    sipc_observer *observer;
    cli_observe_queue *queue; /* copies observer's messages; NULL between observing the channel and again */
    sipc_os_thread thread;
    int status; /* the observer's last failure, SIPC_OK if none */
    /* --stats: the counters of the channel's observers closed because the channel was removed, summed
     * (cli_add_observer_stats), and how many of them gave theirs: the line at the end counts every observer of the run,
     * as `tap --follow --stats` does. */
    sipc_observer_stats removed_stats;
    unsigned removed_counted;
    /* The worker holds the session's lock across a run of messages its queue had ready (HOLD_MESSAGES at most): one
     * lock and unlock per run, not per message, which were a few percent of a busy recorder's time. */
    bool holding;
} record_worker;

#define HOLD_MESSAGES 256u

static void worker_lock(record_worker *worker)
{
    if (!worker->holding)
        sipc_os_mutex_lock(&worker->session->lock);
}

static void worker_unlock(record_worker *worker)
{
    if (!worker->holding)
        sipc_os_mutex_unlock(&worker->session->lock);
}

static void worker_hold(record_worker *worker)
{
    if (!worker->holding) {
        sipc_os_mutex_lock(&worker->session->lock);
        worker->holding = true;
    }
}

static void worker_release(record_worker *worker)
{
    if (worker->holding) {
        worker->holding = false;
        sipc_os_mutex_unlock(&worker->session->lock);
    }
}

/* Whether the recording is over: stopped (a worker's stop), a stop signal or --duration's end. */
static bool session_stopping(record_session *session)
{
    sipc_os_mutex_lock(&session->lock);
    bool stopping = session->stopping || cli_stop_signal() != 0;
    if (!stopping && session->stop_deadline != SIPC_OS_NO_DEADLINE && sipc_os_monotonic_ns() >= session->stop_deadline)
        stopping = session->stopping = true;
    sipc_os_mutex_unlock(&session->lock);
    return stopping;
}

/* Whether a worker stopped the recording (no more writes; what the copiers hold is dropped). */
static bool session_stopped(record_worker *worker)
{
    worker_lock(worker);
    bool stopped = worker->session->stopping;
    worker_unlock(worker);
    return stopped;
}

/* Ends the recording: every worker stops at its next item (a quiet channel's within RECORD_SLICE_MS). */
static void session_stop(record_session *session)
{
    sipc_os_mutex_lock(&session->lock);
    session->stopping = true;
    sipc_os_mutex_unlock(&session->lock);
}

/* Writes one record under the session's lock; false when the recording must end. */
static bool session_write(record_worker *worker, const capture_record *record)
{
    record_session *session = worker->session;
    worker_lock(worker);
    bool ok = !session->stopping && session->exit_code < 0;
    if (ok && !recording_output_write(session->output, record, &session->exit_code)) {
        session->stopping = true;
        ok = false;
    }
    if (ok && record->kind == CAPTURE_MESSAGE) {
        session->recorded++;
        if (session->limit != 0 && session->recorded >= session->limit)
            session->stopping = true;
    }
    worker_unlock(worker);
    return ok;
}

static bool write_event_at(record_worker *worker, uint64_t timestamp_ns, const char *event, const char *detail)
{
    capture_record record = {.kind = CAPTURE_EVENT,
                             .channel = worker->channel,
                             .timestamp_ns = timestamp_ns,
                             .event = event,
                             .detail = detail};
    return session_write(worker, &record);
}

static bool write_event(record_worker *worker, const char *event, const char *detail)
{
    return write_event_at(worker, sipc_os_wall_ns(), event, detail);
}

static bool session_stopping_callback(void *session)
{
    return session_stopping(session);
}

/* Waits for the channel to exist again after it was removed and observes it; false when the recording stops
 * first. */
static bool reobserve(record_worker *worker)
{
    cli_follow_wait wait = {.deadline = worker->session->stop_deadline,
                            .retry_failures = true,
                            .stopping = session_stopping_callback,
                            .context = worker->session};
    if (cli_observe_when_back(worker->name, worker->session->observe_options, &wait, &worker->observer) != SIPC_OK)
        return false;
    if (worker->channel == 0)
        cli_signals_watch_observer(worker->observer);
    write_event(worker, "attached", "the channel exists again; the recorder observes it from here on");
    return true;
}

static size_t observer_capacity(sipc_observer *observer)
{
    sipc_channel_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    if (sipc_observer_info(observer, &info) == SIPC_OK && info.max_message_size > 0)
        return info.max_message_size;
    return SIPC_MAX_MESSAGE_LIMIT;
}

/* Starts the copier of the worker's observer (whole messages; it ends by itself at --duration's end). */
static int start_copying(record_worker *worker)
{
    cli_observe_queue_options options = {.capacity = observer_capacity(worker->observer),
                                         .quiet_ms = RECORD_SLICE_MS,
                                         .timeout_ms = SIPC_INFINITE,
                                         .idle_ms = RECORD_SLICE_MS,
                                         .deadline = worker->session->stop_deadline};
    return cli_observe_queue_start(worker->observer, &options, &worker->queue);
}

/* Writes an observed peer event; false when the recording must end. */
static bool write_peer_event(record_worker *worker, const sipc_observed_message *message)
{
    char detail[160];
    if (message->event == SIPC_EVENT_LOSSLESS_DROPPED)
        snprintf(detail, sizeof detail, "lossless observation dropped by the peers (%s): messages may be missed",
                 cli_lossless_drop_reason(message->count));
    else
        snprintf(detail, sizeof detail, "%s pid %" PRId64 " (session %u)", cli_role_name(message->role), message->pid,
                 message->session);
    return write_event_at(worker, message->timestamp_ns, cli_observer_event_name(message->event), detail);
}

/* Writes an observed message, after what it says went by unseen (missed, discarded); false when the recording must
 * end. Those events carry the message's time: the copier may have queued it a while before this writes it. */
static bool write_message(record_worker *worker, const sipc_observed_message *message, const uint8_t *data)
{
    record_session *session = worker->session;
    char detail[160];
    const char *label = capture_direction_label(message->direction);
    if (message->missed > 0) {
        worker_lock(worker);
        session->missed += message->missed;
        worker_unlock(worker);
        snprintf(detail, sizeof detail, "%" PRIu64 " %s message%s the observer did not see", message->missed, label,
                 message->missed == 1 ? "" : "s");
        if (!write_event_at(worker, message->timestamp_ns, "missed", detail))
            return false;
    }
    if (message->discarded > 0) {
        snprintf(detail, sizeof detail, "%" PRIu64 " %s message%s discarded: addressed to a departed peer",
                 message->discarded, label, message->discarded == 1 ? "" : "s");
        if (!write_event_at(worker, message->timestamp_ns, "discarded", detail))
            return false;
    }
    capture_record record = {.kind = CAPTURE_MESSAGE,
                             .channel = worker->channel,
                             .direction = message->direction,
                             .sequence = message->sequence,
                             .timestamp_ns = message->timestamp_ns,
                             .length = message->length,
                             .captured = message->copied, /* the copier checked it against the capacity */
                             .data = data,
                             .detail = message->undeliverable ? "undeliverable: its addressee left" : ""};
    return session_write(worker, &record);
}

/* The channel was removed: says so, waits for it to come back and copies it again. False when the recording ends
 * first (or cannot go on: worker->status). */
static bool follow_removed_channel(record_worker *worker)
{
    record_session *session = worker->session;
    write_event(worker, "removed", "the channel was removed; the recorder waits for it to exist again");
    if (recording_output_idle(session->output, &session->lock, &session->exit_code)) { /* readable meanwhile */
        session_stop(session);
        return false;
    }
    cli_observe_queue_stop(worker->queue);
    worker->queue = NULL;
    if (worker->channel == 0)
        cli_signals_watch_observer(NULL);
    sipc_observer_stats counters;
    if (cli_take_observer_stats(worker->observer, &counters)) {
        cli_add_observer_stats(&worker->removed_stats, &counters);
        worker->removed_counted++;
    }
    sipc_observer_close(worker->observer);
    worker->observer = NULL;
    if (!reobserve(worker))
        return false;
    int status = start_copying(worker);
    if (status != SIPC_OK) {
        worker->status = status;
        return false;
    }
    return true;
}

static void *record_worker_main(void *argument)
{
    record_worker *worker = argument;
    record_session *session = worker->session;
    int status = start_copying(worker);
    if (status != SIPC_OK) {
        worker->status = status;
        return NULL;
    }
    /* A stop signal or --duration's end cancels the copier: what it copied before still goes into the file, then
     * its END comes. (The signal cancels the first channel's observer itself; the others see it here.) */
    bool ending = false;
    /* A message written just now found the session going on (session_write looks under the lock): the look at the
     * session's stop is skipped after one, so that a busy channel pays one lock per message, not two. */
    bool look = true;
    unsigned held = 0; /* messages written in this hold of the lock */
    while (!(look && session_stopped(worker))) {
        look = true;
        if (!ending && cli_stop_signal() != 0) {
            sipc_observer_cancel(worker->observer);
            ending = true;
        }
        /* The lock is let go before a wait for more, and now and then for the other channels' workers. */
        if (worker->holding && (!cli_observe_queue_ready(worker->queue) || held >= HOLD_MESSAGES)) {
            worker_release(worker);
            held = 0;
        }
        cli_observed item;
        cli_observe_queue_next(worker->queue, &item);
        if (item.kind != CLI_OBSERVED_ITEM) {
            worker_release(worker); /* idle flushes and the channel's end take the lock themselves */
            held = 0;
        } else if (cli_observe_queue_ready(worker->queue)) {
            worker_hold(worker); /* more wait: one lock for the run */
            held++;
        }
        if (item.kind == CLI_OBSERVED_QUIET) {
            if (recording_output_idle(session->output, &session->lock, &session->exit_code))
                session_stop(session);
            continue;
        }
        if (item.kind == CLI_OBSERVED_END) {
            /* TIMEOUT: --duration is over (the copiers have no other timeout); CANCELLED: a stop signal. */
            if (item.status == SIPC_ERR_TIMEOUT || item.status == SIPC_ERR_CANCELLED)
                break;
            if (item.status == SIPC_ERR_NOT_FOUND && !ending && follow_removed_channel(worker))
                continue;
            if (item.status != SIPC_ERR_NOT_FOUND)
                worker->status = item.status;
            break;
        }
        bool written = item.message.kind == SIPC_OBSERVED_EVENT ? write_peer_event(worker, &item.message)
                                                                : write_message(worker, &item.message, item.data);
        if (!written)
            break;
        look = item.message.kind == SIPC_OBSERVED_EVENT;
    }
    worker_release(worker);
    cli_observe_queue_stop(worker->queue);
    worker->queue = NULL;
    return NULL;
}

int recording_run(const char *command, const char *const *names, sipc_observer **observers, size_t count,
                  const sipc_observe_options *observe_options, recording_output *output, uint64_t limit,
                  uint64_t duration_ns, bool quiet, bool stats)
{
    record_session session;
    memset(&session, 0, sizeof session);
    session.observe_options = observe_options;
    session.output = output;
    session.limit = limit;
    session.exit_code = -1;
    session.stop_deadline = duration_ns ? sipc_os_monotonic_ns() + duration_ns : SIPC_OS_NO_DEADLINE;
    record_worker *workers = calloc(count, sizeof *workers);
    if (!workers || sipc_os_mutex_init(&session.lock) != SIPC_OK) {
        free(workers);
        for (size_t i = 0; i < count; i++)
            sipc_observer_close(observers[i]);
        return cli_io_error(command, "out of memory");
    }
    cli_signals_watch_observer(observers[0]);
    size_t started = 0;
    for (; started < count; started++) {
        workers[started] = (record_worker){.session = &session,
                                           .channel = (uint32_t)started,
                                           .name = names[started],
                                           .observer = observers[started],
                                           .status = SIPC_OK};
        if (sipc_os_thread_create(&workers[started].thread, record_worker_main, &workers[started]) != SIPC_OK) {
            sipc_os_mutex_lock(&session.lock);
            session.stopping = true;
            if (session.exit_code < 0)
                session.exit_code = cli_io_error(command, "cannot start a thread");
            sipc_os_mutex_unlock(&session.lock);
            break;
        }
    }
    int failed_status = SIPC_OK;
    const char *failed_name = NULL;
    for (size_t i = 0; i < started; i++) {
        sipc_os_thread_join(&workers[i].thread);
        if (workers[i].status != SIPC_OK && failed_status == SIPC_OK) {
            failed_status = workers[i].status;
            failed_name = names[i];
        }
    }
    cli_signals_watch_observer(NULL);
    for (size_t i = 0; i < count; i++) {
        sipc_observer *observer = i < started ? workers[i].observer : observers[i];
        /* Every observer of the channel counts: those closed when it was removed, and the last (if it came back). */
        sipc_observer_stats total = {.struct_size = sizeof total};
        unsigned counted = 0;
        if (i < started) {
            cli_add_observer_stats(&total, &workers[i].removed_stats);
            counted = workers[i].removed_counted;
        }
        sipc_observer_stats counters;
        if (stats && observer && cli_take_observer_stats(observer, &counters)) {
            cli_add_observer_stats(&total, &counters);
            counted++;
        }
        if (stats && counted > 0)
            cli_print_observer_stats(command, names[i], &total);
        if (observer)
            sipc_observer_close(observer);
    }
    free(workers);
    recording_output_close(output, &session.exit_code);
    if (!quiet)
        fprintf(stderr, "sipc: %s: %" PRIu64 " message%s recorded, %" PRIu64 " missed by the observer%s\n", command,
                session.recorded, session.recorded == 1 ? "" : "s", session.missed,
                session.missed > 0 ? " (the peers outran the observer)" : "");
    sipc_os_mutex_destroy(&session.lock);
    if (session.exit_code >= 0)
        return session.exit_code;
    if (failed_status != SIPC_OK)
        return cli_fail(command, failed_name, failed_status);
    /* --count, --duration or a stop signal: every way a recording is meant to end leaves a complete file. */
    return SIPC_CLI_EXIT_OK;
}
