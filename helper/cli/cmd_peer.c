/* Peer commands: send, recv, echo, connect. */
#include "cli.h"
#include "cli_schema.h"

#include <errno.h>
#if !defined(_WIN32)
#include <poll.h>
#endif
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Two option initialisers in one macro, which clang-format would misread as one braced list. */
/* clang-format off */
#define CHANNEL_OPTIONS(opts)                                                                              \
    {"max-size", CLI_OPT_U32, &(opts).max_size, &(opts).max_size_given, 1, SIPC_MAX_MESSAGE_LIMIT, NULL}, \
    {"depth", CLI_OPT_U32, &(opts).depth, &(opts).depth_given, 1, SIPC_MAX_QUEUE_DEPTH, NULL}
/* clang-format on */

static int check_name(const char *command, const char *name)
{
    int status = sipc_validate_name(name);
    return status == SIPC_OK ? -1 : cli_fail(command, name, status);
}

/* ---- send ---- */

int cmd_send(const cli_command *command, int argc, char **argv)
{
    cli_channel_options channel_options = {0};
    const char *file = NULL;
    const char *hex = NULL;
    int32_t timeout = SIPC_INFINITE;
    const cli_option options[] = {
        {"file", CLI_OPT_STRING, &file, NULL, 0, 0, NULL},
        {"hex", CLI_OPT_STRING, &hex, NULL, 0, 0, NULL},
        {"timeout", CLI_OPT_TIMEOUT, &timeout, NULL, 0, 0, NULL},
        CHANNEL_OPTIONS(channel_options),
    };
    const char *positional[2];
    size_t count = 0;
    int rc = cli_parse(command, argc, argv, options, sizeof options / sizeof options[0], positional, 1, 2, &count);
    if (rc >= 0)
        return rc;
    const char *name = positional[0];
    int sources = (count == 2) + (file != NULL) + (hex != NULL);
    if (sources == 0)
        return cli_usage_error(command->name, "nothing to send: give TEXT, --file F or --hex HEX");
    if (sources > 1)
        return cli_usage_error(command->name, "give only one of TEXT, --file F and --hex HEX");
    if ((rc = check_name(command->name, name)) >= 0)
        return rc;

    cli_buffer payload = {0};
    if (count == 2) {
        if (!cli_buffer_append_str(&payload, positional[1]))
            return cli_io_error(command->name, "out of memory");
    } else if (hex) {
        const char *error = NULL;
        if (!cli_decode_hex(hex, &payload, &error)) {
            cli_buffer_free(&payload);
            return cli_usage_error(command->name, "--hex %s", error);
        }
    } else {
        int error_number = 0;
        if (!cli_read_file(file, &payload, &error_number)) {
            cli_buffer_free(&payload);
            if (error_number == EFBIG)
                return cli_fail(command->name, name, SIPC_ERR_TOO_BIG);
            return cli_io_error(command->name, "cannot read %s: %s", file, strerror(error_number));
        }
    }

    uint64_t deadline = sipc_deadline_after(timeout);
    sipc_channel *channel = NULL;
    int status = cli_open_channel(name, &channel_options, sipc_deadline_ms_left(deadline), &channel);
    if (status == SIPC_OK) {
        cli_signals_watch_channel(channel);
        if (payload.length > sipc_max_message_size(channel)) {
            status = SIPC_ERR_TOO_BIG;
        } else {
            status = sipc_connect(channel, sipc_deadline_ms_left(deadline));
            if (status == SIPC_OK)
                status = sipc_send(channel, payload.data ? payload.data : "", payload.length,
                                   sipc_deadline_ms_left(deadline));
        }
        cli_signals_watch_channel(NULL);
        sipc_close_ex(channel, cli_lock_timeout(timeout));
    }
    size_t length = payload.length;
    cli_buffer_free(&payload);
    if (status == SIPC_ERR_TOO_BIG && channel) {
        fprintf(stderr, "sipc: send %s: a %zu-byte message is larger than the channel's maximum (TOO_BIG)\n", name,
                length);
        return cli_exit_code(status);
    }
    return status == SIPC_OK ? SIPC_CLI_EXIT_OK : cli_fail(command->name, name, status);
}

/* ---- serving loop shared by recv and echo ---- */

typedef struct serve_state {
    const char *command;
    const char *name;
    int32_t timeout;
    uint64_t limit; /* messages to handle, 0 = unlimited */
    uint64_t handled;
    cli_format format;
    const cschema_message *schema; /* recv --schema: print fields */
    bool echo;
    cli_buffer out;
    int exit_code; /* set by the handler on a local failure, -1 otherwise */
} serve_state;

/* Returns false to stop serving (state->exit_code says why). */
static bool handle_message(serve_state *state, sipc_channel *channel, const void *data, size_t length, bool *peer_left)
{
    if (state->echo) {
        int status = sipc_send(channel, data, length, state->timeout);
        if (status == SIPC_ERR_PEER_GONE || status == SIPC_ERR_NOT_CONNECTED) {
            *peer_left = true; /* the sender left before its answer: nobody to answer to */
        } else if (status != SIPC_OK) {
            state->exit_code = cli_fail(state->command, state->name, status);
            return false;
        }
        state->handled++;
        return true;
    }
    state->out.length = 0;
    bool formatted = state->schema && state->schema->schema
                         ? cli_schema_format(&state->out, state->schema, state->format, state->handled, data, length)
                         : cli_format_message(&state->out, state->format, state->handled, data, length);
    if (!formatted) {
        state->exit_code = cli_io_error(state->command, "out of memory");
        return false;
    }
    if (!cli_write_all(STDOUT_FILENO, state->out.data, state->out.length)) {
        state->exit_code = cli_stdout_write_failed(state->command, errno);
        return false;
    }
    state->handled++;
    return true;
}

/* Waits for a peer and handles its messages; when it leaves, serves the next one. */
static int serve(serve_state *state, const cli_channel_options *channel_options)
{
    state->exit_code = -1;
    sipc_channel *channel = NULL;
    int status = cli_open_channel(state->name, channel_options, state->timeout, &channel);
    if (status != SIPC_OK)
        return cli_fail(state->command, state->name, status);
    cli_signals_watch_channel(channel);
    size_t capacity = sipc_max_message_size(channel);
    void *buffer = malloc(capacity ? capacity : 1);
    if (!buffer)
        status = SIPC_ERR_NO_MEMORY;

    while (buffer && state->exit_code < 0 && (state->limit == 0 || state->handled < state->limit)) {
        /* A peer that attached, sent and left before we looked counts too: its messages come
         * first, then PEER_GONE, as for a peer that leaves while connected. */
        status = sipc_connect(channel, state->timeout);
        if (status != SIPC_OK)
            break;
        bool peer_left = false;
        while (status == SIPC_OK && !peer_left && (state->limit == 0 || state->handled < state->limit)) {
            size_t length = 0;
            status = sipc_recv(channel, buffer, capacity, &length, state->timeout);
            if (status == SIPC_OK && !handle_message(state, channel, buffer, length, &peer_left))
                break;
        }
        if (state->exit_code >= 0)
            break;
        if (status == SIPC_ERR_PEER_GONE || status == SIPC_ERR_NOT_CONNECTED)
            peer_left = true;
        if (!peer_left)
            break;
        /* The peer left. Keep our role so the next peer finds us and takes the free one (like `nc -lk`). */
        status = SIPC_OK;
    }
    if (channel) {
        cli_signals_watch_channel(NULL);
        sipc_close_ex(channel, cli_lock_timeout(state->timeout));
    }
    free(buffer);
    cli_buffer_free(&state->out);
    if (state->exit_code >= 0)
        return state->exit_code;
    if (state->limit != 0 && state->handled >= state->limit)
        return SIPC_CLI_EXIT_OK;
    /* Without --count an idle timeout is the normal end of a server that got something. */
    if (status == SIPC_ERR_TIMEOUT && state->limit == 0 && state->handled > 0)
        return SIPC_CLI_EXIT_OK;
    if (status == SIPC_OK)
        return SIPC_CLI_EXIT_OK;
    return cli_fail(state->command, state->name, status);
}

int cmd_recv(const cli_command *command, int argc, char **argv)
{
    cli_channel_options channel_options = {0};
    const char *format = "text";
    bool json = false;
    serve_state state = {.command = command->name, .timeout = SIPC_INFINITE};
    cli_schema_options schema_options = {0};
    const cli_option options[] = {
        {"count", CLI_OPT_U64, &state.limit, NULL, 1, UINT64_MAX, NULL},
        {"format", CLI_OPT_CHOICE, &format, NULL, 0, 0, "raw|hex|text|json"},
        {"json", CLI_OPT_FLAG, &json, NULL, 0, 0, NULL},
        {"timeout", CLI_OPT_TIMEOUT, &state.timeout, NULL, 0, 0, NULL},
        CHANNEL_OPTIONS(channel_options),
        CLI_SCHEMA_OPTIONS(schema_options),
    };
    const char *positional[1];
    size_t count = 0;
    int rc = cli_parse(command, argc, argv, options, sizeof options / sizeof options[0], positional, 1, 1, &count);
    if (rc >= 0)
        return rc;
    state.name = positional[0];
    if ((rc = check_name(command->name, state.name)) >= 0)
        return rc;
    state.format = json ? CLI_FORMAT_JSON : cli_format_from_name(format);
    if (schema_options.schema && state.format != CLI_FORMAT_TEXT && state.format != CLI_FORMAT_JSON)
        return cli_usage_error(command->name, "--schema prints fields as text or json, not --format %s", format);
    cschema_message message;
    if ((rc = cli_schema_load(command->name, &schema_options, &message)) >= 0)
        return rc;
    state.schema = &message;
    rc = serve(&state, &channel_options);
    cli_schema_free(&message);
    return rc;
}

int cmd_echo(const cli_command *command, int argc, char **argv)
{
    cli_channel_options channel_options = {0};
    serve_state state = {.command = command->name, .timeout = SIPC_INFINITE, .echo = true};
    const cli_option options[] = {
        {"count", CLI_OPT_U64, &state.limit, NULL, 1, UINT64_MAX, NULL},
        {"timeout", CLI_OPT_TIMEOUT, &state.timeout, NULL, 0, 0, NULL},
        CHANNEL_OPTIONS(channel_options),
    };
    const char *positional[1];
    size_t count = 0;
    int rc = cli_parse(command, argc, argv, options, sizeof options / sizeof options[0], positional, 1, 1, &count);
    if (rc >= 0)
        return rc;
    state.name = positional[0];
    if ((rc = check_name(command->name, state.name)) >= 0)
        return rc;
    return serve(&state, &channel_options);
}

/* ---- connect ---- */

typedef struct connect_session {
    const char *name;
    sipc_channel *channel;
    bool raw;
    const char *file;
    cli_format format;
    int32_t linger;
    /* Set by the sender when stdin ended and the peer took every message. */
    atomic_bool input_done;
    /* Set by the receiver when the peer left or receiving failed: the sender stops. */
    atomic_bool receiver_done;
#if defined(SIPC_OS_HAS_WAKE_PIPE)
    /* The receiver wakes the sender's poll() through it (the platform's: non-blocking, close-on-exec). Windows has
     * none: its sender is not in a poll() but in a read of stdin, which the main thread cancels (cmd_connect). */
    sipc_os_wake_pipe wake;
#endif
    int sender_status;   /* sipc status of the sending side, or SIPC_OK */
    int sender_io_error; /* errno of a stdin/file failure, 0 if none */
    int receiver_status;
    int receiver_io_error; /* errno of a stdout failure */
} connect_session;

/* The sender's wake-up (connect_session.wake): made before the channel is opened, closed after the threads ended. */
#if defined(SIPC_OS_HAS_WAKE_PIPE)
static int open_wake(connect_session *session)
{
    return sipc_os_wake_pipe_open(&session->wake);
}

/* Wakes the sender's poll() on stdin so it sees receiver_done. */
static void wake_sender(connect_session *session)
{
    sipc_os_wake_pipe_signal(&session->wake);
}

static void close_wake(connect_session *session)
{
    sipc_os_wake_pipe_close(&session->wake);
}
#else
/* Windows: no wake-up; the sender sees receiver_done once cmd_connect cancelled its read of stdin
 * (sipc_os_thread_join_cancelling_io). */
static int open_wake(connect_session *session)
{
    (void)session;
    return SIPC_OK;
}

static void wake_sender(connect_session *session)
{
    (void)session;
}

static void close_wake(connect_session *session)
{
    (void)session;
}
#endif

static int send_one(connect_session *session, const void *data, size_t length)
{
    return sipc_send(session->channel, data, length, SIPC_INFINITE);
}

/* Waits until stdin is readable; false if we must stop (signal, receiver finished). */
static bool wait_stdin(connect_session *session)
{
#if defined(_WIN32)
    /* Windows cannot poll() stdin: the read blocks, and connect cancels it when it must stop. */
    return !atomic_load(&session->receiver_done) && !cli_stop_signal();
#else
    for (;;) {
        if (atomic_load(&session->receiver_done) || cli_stop_signal())
            return false;
        struct pollfd fds[3] = {
            {.fd = STDIN_FILENO, .events = POLLIN},
            {.fd = session->wake.read_fd, .events = POLLIN},
            {.fd = cli_signal_wake_fd(), .events = POLLIN},
        };
        int ready = poll(fds, 3, -1);
        if (ready < 0 && errno != EINTR)
            return true; /* let read() report the problem */
        if (ready > 0 && fds[0].revents)
            return true;
    }
#endif
}

static int drain_outgoing(connect_session *session)
{
    /* Wait until the peer took every message we sent, so lingering measures the replies.
     * The library has no "queue drained" wait, so poll, backing off to 50 ms. */
    uint32_t pause_us = 1000;
    for (;;) {
        if (atomic_load(&session->receiver_done) || cli_stop_signal())
            return SIPC_OK;
        sipc_channel_info info;
        memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        int status = sipc_info(session->channel, &info);
        if (status != SIPC_OK)
            return status;
        const sipc_direction_info *outgoing =
            sipc_get_role(session->channel) == SIPC_ROLE_SERVER ? &info.to_client : &info.to_server;
        if (outgoing->queued == 0 || info.state != SIPC_STATE_CONNECTED)
            return SIPC_OK;
        sipc_os_sleep_us(pause_us);
        if (pause_us < 50000)
            pause_us *= 2;
    }
}

static void *connect_sender(void *argument)
{
    connect_session *session = argument;
    int status = SIPC_OK;
    size_t max_size = sipc_max_message_size(session->channel);
    if (session->file) {
        cli_buffer payload = {0};
        int error_number = 0;
        if (!cli_read_file(session->file, &payload, &error_number)) {
            if (error_number == EFBIG)
                status = SIPC_ERR_TOO_BIG;
            else
                session->sender_io_error = error_number;
        } else {
            status = send_one(session, payload.data ? payload.data : "", payload.length);
        }
        cli_buffer_free(&payload);
    } else {
        cli_buffer pending = {0};
        size_t chunk = session->raw ? max_size : 65536;
        bool eof = false;
        while (status == SIPC_OK && !eof) {
            if (!wait_stdin(session))
                break;
            if (!cli_buffer_reserve(&pending, chunk)) {
                session->sender_io_error = ENOMEM;
                break;
            }
            ssize_t got = read(STDIN_FILENO, pending.data + pending.length, chunk);
            if (got < 0) {
                if (errno == EINTR || errno == EAGAIN)
                    continue;
                if (atomic_load(&session->receiver_done) || cli_stop_signal())
                    break; /* read cancelled */
                session->sender_io_error = errno;
                break;
            }
            if (got == 0)
                eof = true;
            pending.length += (size_t)got;
            if (session->raw) {
                if (pending.length > 0)
                    status = send_one(session, pending.data, pending.length);
                pending.length = 0;
                continue;
            }
            /* One message per line, without its "\n"; a last line without newline counts too. */
            size_t start = 0;
            for (size_t i = 0; i < pending.length && status == SIPC_OK; i++) {
                if (pending.data[i] != '\n')
                    continue;
                status = send_one(session, pending.data + start, i - start);
                start = i + 1;
            }
            if (status == SIPC_OK && eof && start < pending.length) {
                status = send_one(session, pending.data + start, pending.length - start);
                start = pending.length;
            }
            memmove(pending.data, pending.data + start, pending.length - start);
            pending.length -= start;
            if (status == SIPC_OK && pending.length > max_size)
                status = SIPC_ERR_TOO_BIG;
        }
        cli_buffer_free(&pending);
        if (!eof && status == SIPC_OK && session->sender_io_error == 0) {
            return NULL; /* stopped by a signal or by the receiver */
        }
    }
    if (status == SIPC_OK && session->sender_io_error == 0)
        status = drain_outgoing(session);
    session->sender_status = status;
    atomic_store(&session->input_done, true);
    /* Wake the receiver so it switches to lingering (or stops at once on an error). */
    sipc_cancel(session->channel);
    return NULL;
}

static void *connect_receiver(void *argument)
{
    connect_session *session = argument;
    size_t capacity = sipc_max_message_size(session->channel);
    void *buffer = malloc(capacity ? capacity : 1);
    cli_buffer out = {0};
    uint64_t index = 0;
    int status = buffer ? SIPC_OK : SIPC_ERR_NO_MEMORY;
    bool lingering = false;
    while (status == SIPC_OK) {
        size_t length = 0;
        status = sipc_recv(session->channel, buffer, capacity, &length, lingering ? session->linger : SIPC_INFINITE);
        if (status == SIPC_ERR_CANCELLED && !lingering && atomic_load(&session->input_done) && !cli_stop_signal()) {
            bool sender_failed = session->sender_status != SIPC_OK || session->sender_io_error != 0;
            if (sender_failed)
                break;
            sipc_uncancel(session->channel);
            lingering = true;
            /* A signal that came while we uncancelled must still stop us. */
            status = cli_stop_signal() ? SIPC_ERR_CANCELLED : SIPC_OK;
            continue;
        }
        if (status != SIPC_OK)
            break;
        out.length = 0;
        if (!cli_format_message(&out, session->format, index++, buffer, length) ||
            !cli_write_all(STDOUT_FILENO, out.data, out.length)) {
            session->receiver_io_error = errno ? errno : ENOMEM;
            break;
        }
    }
    if (lingering && status == SIPC_ERR_TIMEOUT)
        status = SIPC_OK;
    session->receiver_status = status;
    free(buffer);
    cli_buffer_free(&out);
    atomic_store(&session->receiver_done, true);
    /* A sender blocked on a full queue must not wait forever for a peer we stopped reading.
     * When the peer left, its own PEER_GONE tells the sender whether input was lost. */
    if (status != SIPC_ERR_PEER_GONE && !atomic_load(&session->input_done))
        sipc_cancel(session->channel);
    wake_sender(session);
    return NULL;
}

int cmd_connect(const cli_command *command, int argc, char **argv)
{
    cli_channel_options channel_options = {0};
    bool raw = false;
    const char *file = NULL;
    const char *format = NULL;
    bool json = false;
    int32_t timeout = SIPC_INFINITE;
    int32_t linger = 500;
    const cli_option options[] = {
        {"raw", CLI_OPT_FLAG, &raw, NULL, 0, 0, NULL},
        {"file", CLI_OPT_STRING, &file, NULL, 0, 0, NULL},
        {"format", CLI_OPT_CHOICE, &format, NULL, 0, 0, "raw|hex|text|json"},
        {"json", CLI_OPT_FLAG, &json, NULL, 0, 0, NULL},
        {"timeout", CLI_OPT_TIMEOUT, &timeout, NULL, 0, 0, NULL},
        {"linger", CLI_OPT_TIMEOUT, &linger, NULL, 0, 0, NULL},
        CHANNEL_OPTIONS(channel_options),
    };
    const char *positional[1];
    size_t count = 0;
    int rc = cli_parse(command, argc, argv, options, sizeof options / sizeof options[0], positional, 1, 1, &count);
    if (rc >= 0)
        return rc;
    if (raw && file)
        return cli_usage_error(command->name, "--raw and --file exclude each other");
    const char *name = positional[0];
    if ((rc = check_name(command->name, name)) >= 0)
        return rc;

    connect_session session = {
        .name = name,
        .raw = raw,
        .file = file,
        .format = json ? CLI_FORMAT_JSON
                       : cli_format_from_name(format ? format
                                              : raw  ? "raw"
                                                     : "text"),
        .linger = linger,
    };
    int status = open_wake(&session);
    if (status != SIPC_OK)
        return cli_fail(command->name, name, status);
    status = cli_open_channel(name, &channel_options, timeout, &session.channel);
    if (status == SIPC_OK) {
        cli_signals_watch_channel(session.channel);
        /* A peer that already left is adopted too: the receiver prints what it sent, then sees
         * PEER_GONE, and the sender's PEER_GONE says whether input was lost. */
        status = sipc_connect(session.channel, timeout);
    }
    if (status != SIPC_OK) {
        if (session.channel) {
            cli_signals_watch_channel(NULL);
            sipc_close_ex(session.channel, cli_lock_timeout(timeout));
        }
        close_wake(&session);
        return cli_fail(command->name, name, status);
    }
    sipc_os_thread sender, receiver;
    bool sender_started = sipc_os_thread_create(&sender, connect_sender, &session) == SIPC_OK;
    bool receiver_started = sender_started && sipc_os_thread_create(&receiver, connect_receiver, &session) == SIPC_OK;
    if (!receiver_started) {
        atomic_store(&session.receiver_done, true);
        wake_sender(&session);
        sipc_cancel(session.channel);
    }
#if defined(_WIN32)
    /* The sender may sit in a read of stdin that nothing will end: once the receiver is done,
     * cancel that read until the sender notices. */
    if (receiver_started)
        sipc_os_thread_join(&receiver);
    if (sender_started)
        sipc_os_thread_join_cancelling_io(&sender);
#else
    if (sender_started)
        sipc_os_thread_join(&sender);
    if (receiver_started)
        sipc_os_thread_join(&receiver);
#endif
    cli_signals_watch_channel(NULL);
    sipc_close_ex(session.channel, cli_lock_timeout(timeout));
    close_wake(&session);

    if (!receiver_started)
        return cli_io_error(command->name, "cannot start threads");
    if (cli_stop_signal())
        return SIPC_CLI_EXIT_SIGNAL_BASE + cli_stop_signal();
    if (session.sender_io_error)
        return cli_io_error(command->name, "cannot read %s: %s", file ? file : "stdin",
                            strerror(session.sender_io_error));
    if (session.receiver_io_error)
        return cli_stdout_write_failed(command->name, session.receiver_io_error);
    /* Input that could not be delivered is an error; the peer leaving after everything is not. */
    if (session.sender_status != SIPC_OK && session.sender_status != SIPC_ERR_CANCELLED)
        return cli_fail(command->name, name, session.sender_status);
    if (session.receiver_status != SIPC_OK && session.receiver_status != SIPC_ERR_PEER_GONE &&
        session.receiver_status != SIPC_ERR_CANCELLED)
        return cli_fail(command->name, name, session.receiver_status);
    return SIPC_CLI_EXIT_OK;
}
