#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(_WIN32)
#  include <io.h>
#  include <windows.h>
#  define O_CLOEXEC (_O_NOINHERIT | _O_BINARY)
#endif

/* ---- errors ---- */

int cli_exit_code(int status)
{
    if (status >= 0) return SIPC_CLI_EXIT_OK;
    if (status < SIPC_ERR_SYSTEM) return SIPC_CLI_EXIT_STATUS_BASE - SIPC_ERR_SYSTEM;
    return SIPC_CLI_EXIT_STATUS_BASE - status;
}

int cli_fail(const char *command, const char *name, int status)
{
    if (status == SIPC_ERR_CANCELLED && cli_stop_signal() != 0)
        return SIPC_CLI_EXIT_SIGNAL_BASE + cli_stop_signal();
    const char *sentence = sipc_strerror(status);
    if (status == SIPC_ERR_SYSTEM || status == SIPC_ERR_PERMISSION || status == SIPC_ERR_NO_MEMORY) {
        int os_error = sipc_last_os_error();
        if (os_error != 0) {
            fprintf(stderr, "sipc: %s%s%s: %s: %s (%s)\n", command, name ? " " : "", name ? name : "",
                    sentence, strerror(os_error), sipc_status_name(status));
            return cli_exit_code(status);
        }
    }
    fprintf(stderr, "sipc: %s%s%s: %s (%s)\n", command, name ? " " : "", name ? name : "", sentence,
            sipc_status_name(status));
    return cli_exit_code(status);
}

int cli_usage_error(const char *command, const char *format, ...)
{
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    fprintf(stderr, "sipc: %s: %s (see 'sipc help %s')\n", command, message, command);
    return SIPC_CLI_EXIT_USAGE;
}

int cli_io_error(const char *command, const char *format, ...)
{
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    fprintf(stderr, "sipc: %s: %s\n", command, message);
    return SIPC_CLI_EXIT_IO;
}

/* ---- option parsing ---- */

static bool parse_u64(const char *text, uint64_t *out)
{
    if (text == NULL || *text < '0' || *text > '9') return false;
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text) return false;
    /* Accept binary suffixes for sizes: 64k, 1m (KiB, MiB). */
    unsigned long long scale = 1;
    if (*end == 'k' || *end == 'K') scale = 1024ull, end++;
    else if (*end == 'm' || *end == 'M') scale = 1024ull * 1024ull, end++;
    if (*end != '\0') return false;
    if (value > UINT64_MAX / scale) return false;
    *out = (uint64_t)(value * scale);
    return true;
}

static bool choice_allowed(const char *choices, const char *value)
{
    size_t value_length = strlen(value);
    const char *word = choices;
    while (*word) {
        const char *bar = strchr(word, '|');
        size_t word_length = bar ? (size_t)(bar - word) : strlen(word);
        if (word_length == value_length && strncmp(word, value, word_length) == 0) return true;
        if (!bar) break;
        word = bar + 1;
    }
    return false;
}

static int apply_option(const cli_command *command, const cli_option *option, const char *value)
{
    uint64_t number = 0;
    switch (option->kind) {
    case CLI_OPT_FLAG:
        *(bool *)option->target = true;
        break;
    case CLI_OPT_STRING:
        *(const char **)option->target = value;
        break;
    case CLI_OPT_CHOICE:
        if (!choice_allowed(option->choices, value))
            return cli_usage_error(command->name, "--%s must be one of %s, not '%s'", option->name,
                                   option->choices, value);
        *(const char **)option->target = value;
        break;
    case CLI_OPT_U32:
    case CLI_OPT_U64:
        if (!parse_u64(value, &number))
            return cli_usage_error(command->name, "--%s needs a whole number, not '%s'", option->name, value);
        if (number < option->min || number > option->max)
            return cli_usage_error(command->name, "--%s must be between %" PRIu64 " and %" PRIu64 ", not %s",
                                   option->name, option->min, option->max, value);
        if (option->kind == CLI_OPT_U32) *(uint32_t *)option->target = (uint32_t)number;
        else *(uint64_t *)option->target = number;
        break;
    case CLI_OPT_TIMEOUT:
        if (strcmp(value, "inf") == 0 || strcmp(value, "-1") == 0) {
            *(int32_t *)option->target = SIPC_INFINITE;
            break;
        }
        if (!parse_u64(value, &number) || number > INT32_MAX)
            return cli_usage_error(command->name,
                                   "--%s needs milliseconds (0..%d) or 'inf', not '%s'", option->name,
                                   INT32_MAX, value);
        *(int32_t *)option->target = (int32_t)number;
        break;
    }
    if (option->seen) *option->seen = true;
    return -1;
}

int cli_parse(const cli_command *command, int argc, char **argv, const cli_option *options,
              size_t option_count, const char **positional, size_t min_positional,
              size_t max_positional, size_t *positional_count)
{
    size_t count = 0;
    bool options_ended = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_ended && strcmp(arg, "--") == 0) {
            options_ended = true;
            continue;
        }
        if (!options_ended && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)) {
            cli_print_command_help(command, stdout);
            return SIPC_CLI_EXIT_OK;
        }
        if (!options_ended && arg[0] == '-' && arg[1] != '\0') {
            if (arg[1] != '-')
                return cli_usage_error(command->name, "unknown option '%s'", arg);
            const char *name = arg + 2;
            const char *equals = strchr(name, '=');
            size_t name_length = equals ? (size_t)(equals - name) : strlen(name);
            const cli_option *match = NULL;
            for (size_t k = 0; k < option_count; k++) {
                if (strlen(options[k].name) == name_length && strncmp(options[k].name, name, name_length) == 0) {
                    match = &options[k];
                    break;
                }
            }
            if (!match) return cli_usage_error(command->name, "unknown option '--%.*s'", (int)name_length, name);
            const char *value = NULL;
            if (match->kind == CLI_OPT_FLAG) {
                if (equals) return cli_usage_error(command->name, "--%s takes no value", match->name);
            } else if (equals) {
                value = equals + 1;
            } else {
                if (i + 1 >= argc) return cli_usage_error(command->name, "--%s needs a value", match->name);
                value = argv[++i];
            }
            int rc = apply_option(command, match, value);
            if (rc >= 0) return rc;
            continue;
        }
        if (count >= max_positional)
            return cli_usage_error(command->name, "unexpected argument '%s'", arg);
        positional[count++] = arg;
    }
    if (count < min_positional)
        return cli_usage_error(command->name, min_positional == 1 ? "missing channel name"
                                                                  : "missing arguments");
    *positional_count = count;
    return -1;
}

/* ---- channels ---- */

int cli_open_channel(const char *name, const cli_channel_options *requested, sipc_channel **out)
{
    sipc_options options;
    sipc_options_init(&options);
    /* Zero asks for the default when creating and adopts an existing channel's value when attaching. */
    options.max_message_size = requested->max_size_given ? requested->max_size : 0;
    options.queue_depth = requested->depth_given ? requested->depth : 0;
    return sipc_open(name, &options, out);
}

/* ---- buffers and formats ---- */

bool cli_buffer_reserve(cli_buffer *buffer, size_t extra)
{
    if (extra > SIZE_MAX - buffer->length - 1) return false;
    size_t needed = buffer->length + extra + 1; /* room for a terminating NUL */
    if (needed <= buffer->capacity) return true;
    size_t capacity = buffer->capacity ? buffer->capacity : 256;
    while (capacity < needed) capacity = capacity > SIZE_MAX / 2 ? needed : capacity * 2;
    char *data = realloc(buffer->data, capacity);
    if (!data) return false;
    buffer->data = data;
    buffer->capacity = capacity;
    return true;
}

bool cli_buffer_append(cli_buffer *buffer, const void *data, size_t length)
{
    if (!cli_buffer_reserve(buffer, length)) return false;
    if (length) memcpy(buffer->data + buffer->length, data, length);
    buffer->length += length;
    buffer->data[buffer->length] = '\0';
    return true;
}

bool cli_buffer_append_str(cli_buffer *buffer, const char *text)
{
    return cli_buffer_append(buffer, text, strlen(text));
}

bool cli_buffer_printf(cli_buffer *buffer, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    va_list copy;
    va_copy(copy, args);
    int needed = vsnprintf(NULL, 0, format, copy);
    va_end(copy);
    bool ok = needed >= 0 && cli_buffer_reserve(buffer, (size_t)needed);
    if (ok) {
        vsnprintf(buffer->data + buffer->length, (size_t)needed + 1, format, args);
        buffer->length += (size_t)needed;
    }
    va_end(args);
    return ok;
}

void cli_buffer_free(cli_buffer *buffer)
{
    free(buffer->data);
    buffer->data = NULL;
    buffer->length = buffer->capacity = 0;
}

bool cli_append_hex(cli_buffer *out, const void *data, size_t length)
{
    static const char digits[] = "0123456789abcdef";
    if (length > (SIZE_MAX - 1) / 2 || !cli_buffer_reserve(out, length * 2)) return false;
    const unsigned char *bytes = data;
    char *cursor = out->data + out->length;
    for (size_t i = 0; i < length; i++) {
        *cursor++ = digits[bytes[i] >> 4];
        *cursor++ = digits[bytes[i] & 15];
    }
    out->length += length * 2;
    out->data[out->length] = '\0';
    return true;
}

/* Length of the valid UTF-8 sequence at bytes[0], 0 if invalid. */
static size_t utf8_sequence_length(const unsigned char *bytes, size_t available)
{
    unsigned char lead = bytes[0];
    size_t length;
    uint32_t minimum;
    uint32_t code;
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) length = 2, minimum = 0x80, code = lead & 0x1F;
    else if ((lead & 0xF0) == 0xE0) length = 3, minimum = 0x800, code = lead & 0x0F;
    else if ((lead & 0xF8) == 0xF0) length = 4, minimum = 0x10000, code = lead & 0x07;
    else return 0;
    if (length > available) return 0;
    for (size_t i = 1; i < length; i++) {
        if ((bytes[i] & 0xC0) != 0x80) return 0;
        code = (code << 6) | (bytes[i] & 0x3F);
    }
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
    return length;
}

bool cli_utf8_valid(const void *data, size_t length)
{
    const unsigned char *bytes = data;
    size_t i = 0;
    while (i < length) {
        size_t step = utf8_sequence_length(bytes + i, length - i);
        if (step == 0) return false;
        i += step;
    }
    return true;
}

bool cli_append_json_string(cli_buffer *out, const void *data, size_t length)
{
    const unsigned char *bytes = data;
    if (!cli_buffer_append(out, "\"", 1)) return false;
    size_t i = 0;
    while (i < length) {
        unsigned char c = bytes[i];
        bool ok;
        if (c == '"') ok = cli_buffer_append(out, "\\\"", 2);
        else if (c == '\\') ok = cli_buffer_append(out, "\\\\", 2);
        else if (c == '\n') ok = cli_buffer_append(out, "\\n", 2);
        else if (c == '\r') ok = cli_buffer_append(out, "\\r", 2);
        else if (c == '\t') ok = cli_buffer_append(out, "\\t", 2);
        else if (c < 0x20 || c == 0x7F) ok = cli_buffer_printf(out, "\\u%04x", c);
        else if (c < 0x80) ok = cli_buffer_append(out, &bytes[i], 1);
        else {
            size_t step = utf8_sequence_length(bytes + i, length - i);
            if (step == 0) {
                ok = cli_buffer_append(out, "\\ufffd", 6);
            } else {
                ok = cli_buffer_append(out, &bytes[i], step);
                i += step - 1;
            }
        }
        if (!ok) return false;
        i++;
    }
    return cli_buffer_append(out, "\"", 1);
}

bool cli_append_preview(cli_buffer *out, const void *data, size_t length, size_t max_chars)
{
    const unsigned char *bytes = data;
    size_t shown = 0;
    size_t i = 0;
    bool ok = cli_buffer_append(out, "\"", 1);
    while (ok && i < length && shown < max_chars) {
        unsigned char c = bytes[i];
        size_t step = c < 0x80 ? 1 : utf8_sequence_length(bytes + i, length - i);
        if (c == '\n') ok = cli_buffer_append(out, "\\n", 2);
        else if (c == '\t') ok = cli_buffer_append(out, "\\t", 2);
        else if (c == '"' || c == '\\') ok = cli_buffer_printf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7F || step == 0) ok = cli_buffer_printf(out, "\\x%02x", c);
        else ok = cli_buffer_append(out, &bytes[i], step);
        i += step ? step : 1;
        shown++;
    }
    if (ok) ok = cli_buffer_append(out, "\"", 1);
    if (ok && i < length) ok = cli_buffer_append(out, "...", 3);
    return ok;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool cli_decode_hex(const char *text, cli_buffer *out, const char **error)
{
    const char *cursor = text;
    if (cursor[0] == '0' && (cursor[1] == 'x' || cursor[1] == 'X')) cursor += 2;
    for (;;) {
        while (*cursor == ' ' || *cursor == '\t' || *cursor == '\n' || *cursor == ':') cursor++;
        if (*cursor == '\0') break;
        int high = hex_value(cursor[0]);
        if (high < 0) {
            *error = "contains a character that is not a hex digit";
            return false;
        }
        int low = cursor[1] ? hex_value(cursor[1]) : -1;
        if (low < 0) {
            *error = cursor[1] && cursor[1] != ' ' ? "contains a character that is not a hex digit"
                                                   : "has an odd number of hex digits";
            return false;
        }
        unsigned char byte = (unsigned char)(high * 16 + low);
        if (!cli_buffer_append(out, &byte, 1)) {
            *error = "is too large for memory";
            return false;
        }
        cursor += 2;
    }
    return true;
}

cli_format cli_format_from_name(const char *name)
{
    if (strcmp(name, "raw") == 0) return CLI_FORMAT_RAW;
    if (strcmp(name, "hex") == 0) return CLI_FORMAT_HEX;
    if (strcmp(name, "json") == 0) return CLI_FORMAT_JSON;
    return CLI_FORMAT_TEXT;
}

bool cli_format_message(cli_buffer *out, cli_format format, uint64_t index, const void *data, size_t length)
{
    switch (format) {
    case CLI_FORMAT_RAW:
        return cli_buffer_append(out, data, length);
    case CLI_FORMAT_TEXT:
        return cli_buffer_append(out, data, length) && cli_buffer_append(out, "\n", 1);
    case CLI_FORMAT_HEX:
        return cli_append_hex(out, data, length) && cli_buffer_append(out, "\n", 1);
    case CLI_FORMAT_JSON:
        if (!cli_buffer_printf(out, "{\"index\":%" PRIu64 ",\"length\":%zu,", index, length)) return false;
        if (cli_utf8_valid(data, length)) {
            if (!cli_buffer_append_str(out, "\"text\":") || !cli_append_json_string(out, data, length))
                return false;
        } else if (!cli_buffer_append_str(out, "\"hex\":\"") || !cli_append_hex(out, data, length) ||
                   !cli_buffer_append(out, "\"", 1)) {
            return false;
        }
        return cli_buffer_append_str(out, "}\n");
    }
    return false;
}

/* ---- I/O ---- */

bool cli_write_all(int fd, const void *data, size_t length)
{
    const char *cursor = data;
    while (length > 0) {
        ssize_t written = write(fd, cursor, length);
        if (written < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        cursor += written;
        length -= (size_t)written;
    }
    return true;
}

bool cli_read_file(const char *path, cli_buffer *out, int *error_number)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *error_number = errno;
        return false;
    }
    bool ok = true;
    for (;;) {
        if (!cli_buffer_reserve(out, 65536)) {
            *error_number = ENOMEM;
            ok = false;
            break;
        }
        ssize_t got = read(fd, out->data + out->length, out->capacity - out->length - 1);
        if (got < 0) {
            if (errno == EINTR) continue;
            *error_number = errno;
            ok = false;
            break;
        }
        if (got == 0) break;
        out->length += (size_t)got;
        if (out->length > SIPC_MAX_MESSAGE_LIMIT) {
            *error_number = EFBIG;
            ok = false;
            break;
        }
    }
    if (fd != STDIN_FILENO) close(fd);
    return ok;
}

/* ---- time ---- */

uint64_t cli_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

uint64_t cli_monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

void cli_format_time(uint64_t epoch_ns, char *out, size_t size)
{
    time_t seconds = (time_t)(epoch_ns / 1000000000ull);
    struct tm local;
    if (localtime_r(&seconds, &local) == NULL) {
        snprintf(out, size, "?");
        return;
    }
    snprintf(out, size, "%02d:%02d:%02d.%06u", local.tm_hour, local.tm_min, local.tm_sec,
             (unsigned)((epoch_ns % 1000000000ull) / 1000u));
}

void cli_format_iso_time(uint64_t epoch_ns, char *out, size_t size)
{
    time_t seconds = (time_t)(epoch_ns / 1000000000ull);
    struct tm utc;
    if (epoch_ns == 0 || gmtime_r(&seconds, &utc) == NULL) {
        snprintf(out, size, "-");
        return;
    }
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
             utc.tm_hour, utc.tm_min, utc.tm_sec, (unsigned)((epoch_ns % 1000000000ull) / 1000000u));
}

const char *cli_state_name(int32_t state)
{
    switch (state) {
    case SIPC_STATE_WAITING: return "waiting";
    case SIPC_STATE_CONNECTED: return "connected";
    case SIPC_STATE_PEER_GONE: return "peer-gone";
    case SIPC_STATE_STALE: return "stale";
    case SIPC_STATE_EMPTY: return "empty";
    default: return "unknown";
    }
}

/* ---- signals ---- */

#if defined(_WIN32)
/* Windows has no SIGINT/SIGTERM delivery to a handler that may cancel: a console control handler
 * runs on its own thread instead (Ctrl+C -> SIGINT; Ctrl+Break, closing the console, logoff or
 * shutdown -> SIGTERM). The lock keeps the channel or observer from being closed under it. */
static SRWLOCK watch_lock = SRWLOCK_INIT;
static sipc_channel *watched_channel;
static sipc_observer *watched_observer;
static volatile LONG stop_signal;

static BOOL WINAPI on_console_event(DWORD event)
{
    InterlockedCompareExchange(&stop_signal, event == CTRL_C_EVENT ? SIGINT : SIGTERM, 0);
    AcquireSRWLockShared(&watch_lock);
    if (watched_channel) sipc_cancel(watched_channel);
    if (watched_observer) sipc_observer_cancel(watched_observer);
    ReleaseSRWLockShared(&watch_lock);
    return TRUE;
}

void cli_signals_install(void)
{
    /* Messages are bytes: no CRLF translation on stdin/stdout. */
    _setmode(_fileno(stdin), _O_BINARY);
    _setmode(_fileno(stdout), _O_BINARY);
    SetConsoleCtrlHandler(on_console_event, TRUE);
}

void cli_signals_watch_channel(sipc_channel *channel)
{
    AcquireSRWLockExclusive(&watch_lock);
    watched_channel = channel;
    if (channel && stop_signal) sipc_cancel(channel);
    ReleaseSRWLockExclusive(&watch_lock);
}

void cli_signals_watch_observer(sipc_observer *observer)
{
    AcquireSRWLockExclusive(&watch_lock);
    watched_observer = observer;
    if (observer && stop_signal) sipc_observer_cancel(observer);
    ReleaseSRWLockExclusive(&watch_lock);
}

int cli_stop_signal(void)
{
    return (int)stop_signal;
}

int cli_signal_wake_fd(void)
{
    return -1; /* nothing to poll(): the stdin reader is cancelled instead (cmd_peer.c) */
}
#else

static _Atomic(sipc_channel *) watched_channel;
static _Atomic(sipc_observer *) watched_observer;
static volatile sig_atomic_t stop_signal;
static int wake_pipe[2] = {-1, -1};

static void on_stop_signal(int signal_number)
{
    int saved_errno = errno;
    stop_signal = signal_number;
    sipc_channel *channel = atomic_load(&watched_channel);
    if (channel) sipc_cancel(channel);
    sipc_observer *observer = atomic_load(&watched_observer);
    if (observer) sipc_observer_cancel(observer);
    if (wake_pipe[1] >= 0) {
        char byte = 1;
        ssize_t ignored = write(wake_pipe[1], &byte, 1);
        (void)ignored;
    }
    errno = saved_errno;
}

void cli_signals_install(void)
{
    if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) wake_pipe[0] = wake_pipe[1] = -1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    /* A closed stdout (e.g. `| head`) must give an error, not kill us mid-cleanup. */
    signal(SIGPIPE, SIG_IGN);
}

static void block_stop_signals(sigset_t *previous)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, previous);
}

void cli_signals_watch_channel(sipc_channel *channel)
{
    sigset_t previous;
    block_stop_signals(&previous);
    atomic_store(&watched_channel, channel);
    /* A signal that arrived before the channel existed must still cancel it. */
    if (channel && stop_signal) sipc_cancel(channel);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
}

void cli_signals_watch_observer(sipc_observer *observer)
{
    sigset_t previous;
    block_stop_signals(&previous);
    atomic_store(&watched_observer, observer);
    if (observer && stop_signal) sipc_observer_cancel(observer);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
}

int cli_stop_signal(void)
{
    return stop_signal;
}

int cli_signal_wake_fd(void)
{
    return wake_pipe[0];
}
#endif /* _WIN32 */
