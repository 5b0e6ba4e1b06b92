/* The `sipc` command line's I/O: whole writes and whole-file reads (the stop signals are in cli_signals_<os>.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cli_io.h"

#include "cli_args.h"
#include "platform.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(_WIN32)
#include <poll.h>
#endif
#if defined(_WIN32)
#include <direct.h>
#include <io.h>
#include <windows.h>
#define O_CLOEXEC (_O_NOINHERIT | _O_BINARY)
#elif defined(__APPLE__)
#include <mach-o/dyld.h>
#endif

/* ---- I/O ---- */

bool cli_write_all(int fd, const void *data, size_t length)
{
    const char *cursor = data;
    while (length > 0) {
        ssize_t written = write(fd, cursor, length);
        if (written < 0) {
            if (errno == EINTR)
                continue;
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
            if (errno == EINTR)
                continue;
            *error_number = errno;
            ok = false;
            break;
        }
        if (got == 0)
            break;
        out->length += (size_t)got;
        if (out->length > SIPC_MAX_MESSAGE_LIMIT) {
            *error_number = EFBIG;
            ok = false;
            break;
        }
    }
    if (fd != STDIN_FILENO)
        close(fd);
    return ok;
}

bool cli_write_found_no_reader(int error_number)
{
    if (error_number == EPIPE)
        return true;
#if defined(_WIN32)
    /* The CRT maps ERROR_BROKEN_PIPE to EPIPE, but ERROR_NO_DATA (the reader closed its handle: "the pipe is being
     * closed") and ERROR_PIPE_NOT_CONNECTED (the reader disconnected the pipe) to EINVAL. */
    DWORD os_error = GetLastError();
    return error_number == EINVAL &&
           (os_error == ERROR_NO_DATA || os_error == ERROR_PIPE_NOT_CONNECTED || os_error == ERROR_BROKEN_PIPE);
#else
    return false;
#endif
}

#if defined(_WIN32)
/* NtQueryInformationFile(FilePipeLocalInformation): a pipe's state as seen from our end (NT DDK names). The SDK's
 * import libraries do not offer it, so it is resolved from ntdll.dll; it needs FILE_READ_ATTRIBUTES on the handle
 * (cli_open_fifo asks for it, as Microsoft's CreateNamedPipe documentation says a client of an inbound pipe may). */
typedef struct cli_pipe_local_information {
    ULONG NamedPipeType;
    ULONG NamedPipeConfiguration;
    ULONG MaximumInstances;
    ULONG CurrentInstances;
    ULONG InboundQuota;
    ULONG ReadDataAvailable;
    ULONG OutboundQuota;
    ULONG WriteQuotaAvailable;
    ULONG NamedPipeState;
    ULONG NamedPipeEnd;
} cli_pipe_local_information;

typedef struct cli_io_status_block {
    union {
        LONG Status;
        void *Pointer;
    } u;
    ULONG_PTR Information;
} cli_io_status_block;

typedef LONG(NTAPI *cli_nt_query_information_file_fn)(HANDLE, cli_io_status_block *, void *, ULONG, int);

#define CLI_FILE_PIPE_LOCAL_INFORMATION 24
#define CLI_FILE_PIPE_CONNECTED_STATE 3u
#define CLI_STATUS_PIPE_DISCONNECTED ((LONG)0xC00000B0L)
#define CLI_STATUS_PIPE_CLOSING ((LONG)0xC00000B1L)
#define CLI_STATUS_PIPE_BROKEN ((LONG)0xC000014BL)

static bool pipe_reader_gone(HANDLE pipe)
{
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    cli_nt_query_information_file_fn query =
        ntdll ? (cli_nt_query_information_file_fn)(void (*)(void))GetProcAddress(ntdll, "NtQueryInformationFile")
              : NULL;
    if (!query)
        return false;
    cli_pipe_local_information info;
    memset(&info, 0, sizeof info);
    cli_io_status_block status_block;
    memset(&status_block, 0, sizeof status_block);
    LONG status = query(pipe, &status_block, &info, (ULONG)sizeof info, CLI_FILE_PIPE_LOCAL_INFORMATION);
    if (status == CLI_STATUS_PIPE_DISCONNECTED || status == CLI_STATUS_PIPE_CLOSING || status == CLI_STATUS_PIPE_BROKEN)
        return true;
    /* Any other failure (no FILE_READ_ATTRIBUTES, an older system) cannot tell: the next write will. */
    return status >= 0 && info.NamedPipeState != CLI_FILE_PIPE_CONNECTED_STATE;
}
#endif

#if !defined(_WIN32)
static pid_t starter_pid;
#endif

void cli_note_starter(void)
{
#if !defined(_WIN32)
    starter_pid = getppid();
#endif
}

FILE *cli_open_fifo(const char *path)
{
#if defined(_WIN32)
    /* As fopen(path, "wb") opens it (CREATE_ALWAYS: a pipe ignores it, a file is made or emptied), with
     * FILE_READ_ATTRIBUTES added so that cli_reader_gone can read a pipe's state. */
    HANDLE handle = CreateFileA(path, GENERIC_WRITE | FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                                CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (handle == INVALID_HANDLE_VALUE) {
        DWORD error = GetLastError();
        errno = error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND ? ENOENT
                : error == ERROR_ACCESS_DENIED                                 ? EACCES
                : error == ERROR_PIPE_BUSY                                     ? EBUSY
                                                                               : EIO;
        return NULL;
    }
    int fd = _open_osfhandle((intptr_t)handle, _O_WRONLY | _O_BINARY);
    if (fd < 0) {
        CloseHandle(handle);
        return NULL;
    }
    FILE *file = _fdopen(fd, "wb");
    if (!file)
        _close(fd);
    return file;
#else
    /* A FIFO's open for writing waits for a reader. Wireshark's dumpcap opens it just after starting the extcap, but
     * a Wireshark that dies first never will: the open is made without waiting (ENXIO while there is no reader) and
     * tried again every FIFO_OPEN_RETRY_US while the process that started us lives (our parent at the start of main:
     * getppid() changes when it dies) and no stop signal came. Otherwise as fopen(path, "wb"). */
    enum { FIFO_OPEN_RETRY_US = 100000 };
    pid_t starter = starter_pid ? starter_pid : getppid();
    for (;;) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0666);
        if (fd >= 0) {
            int flags = fcntl(fd, F_GETFL);
            FILE *file = flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 ? fdopen(fd, "wb") : NULL;
            if (!file) {
                int error_number = errno;
                close(fd);
                errno = error_number;
            }
            return file;
        }
        if (errno != ENXIO)
            return NULL;
        /* Adopted by init (or a subreaper): the starter is gone. An extcap is never started by init itself. */
        if (getppid() != starter || starter == 1 || cli_stop_signal() != 0) {
            errno = ENXIO; /* "No such device or address": no reader came, and none will */
            return NULL;
        }
        sipc_os_sleep_us(FIFO_OPEN_RETRY_US);
    }
#endif
}

bool cli_reader_gone(int fd)
{
#if defined(_WIN32)
    HANDLE handle = (HANDLE)_get_osfhandle(fd);
    return handle != INVALID_HANDLE_VALUE && GetFileType(handle) == FILE_TYPE_PIPE && pipe_reader_gone(handle);
#else
    /* Linux reports a pipe without readers as POLLERR on its write end, the BSDs and macOS as POLLHUP. */
    struct pollfd probe = {.fd = fd, .events = POLLOUT};
    int ready;
    do
        ready = poll(&probe, 1, 0);
    while (ready < 0 && errno == EINTR);
    if (ready <= 0)
        return false;
    struct stat info;
    bool pipe_like = fstat(fd, &info) == 0 && (S_ISFIFO(info.st_mode) || S_ISSOCK(info.st_mode));
    return pipe_like && (probe.revents & (POLLERR | POLLHUP)) != 0;
#endif
}

int cli_stdout_write_failed(const char *command, int error_number)
{
    if (cli_write_found_no_reader(error_number))
        return SIPC_CLI_EXIT_OK;
    return cli_io_error(command, "cannot write to stdout: %s", strerror(error_number));
}

/* ---- files for `sipc extcap install` ---- */

bool cli_executable_path(char *out, size_t size)
{
#if defined(_WIN32)
    DWORD length = GetModuleFileNameA(NULL, out, (DWORD)size);
    return length > 0 && length < size;
#elif defined(__APPLE__)
    char raw[4096];
    uint32_t raw_size = sizeof raw;
    if (_NSGetExecutablePath(raw, &raw_size) != 0)
        return false;
    char resolved[PATH_MAX];
    if (!realpath(raw, resolved) || strlen(resolved) >= size)
        return false;
    memcpy(out, resolved, strlen(resolved) + 1);
    return true;
#else
    ssize_t length = readlink("/proc/self/exe", out, size - 1);
    if (length <= 0 || (size_t)length >= size - 1)
        return false;
    out[length] = '\0';
    return true;
#endif
}

static int make_directory(const char *path)
{
#if defined(_WIN32)
    return _mkdir(path);
#else
    return mkdir(path, 0755);
#endif
}

bool cli_make_directories(const char *path)
{
    char partial[4096];
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof partial) {
        errno = ENAMETOOLONG;
        return false;
    }
    memcpy(partial, path, length + 1);
    for (size_t i = 1; i <= length; i++) {
        if (partial[i] != '/' && partial[i] != '\\' && partial[i] != '\0')
            continue;
        char saved = partial[i];
        partial[i] = '\0';
        /* "C:" is a drive, not a directory to create. */
        bool drive = i == 2 && partial[1] == ':';
        if (!drive && make_directory(partial) != 0 && errno != EEXIST)
            return false;
        partial[i] = saved;
    }
    return true;
}

bool cli_write_executable(const char *path, const char *content)
{
    FILE *file = fopen(path, "wb");
    if (!file)
        return false;
    size_t length = strlen(content);
    bool ok = fwrite(content, 1, length, file) == length;
    ok = fclose(file) == 0 && ok;
#if !defined(_WIN32)
    ok = ok && chmod(path, 0755) == 0;
#endif
    return ok;
}

bool cli_remove_file(const char *path)
{
    return remove(path) == 0;
}

/* --stats (tap, record): what the observer did and why it missed what it missed (sipc_observer_stats), one JSON line on
 * stderr. */
bool cli_take_observer_stats(sipc_observer *observer, sipc_observer_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    stats->struct_size = sizeof *stats;
    return sipc_observer_get_stats(observer, stats) == SIPC_OK;
}

void cli_add_observer_stats(sipc_observer_stats *total, const sipc_observer_stats *s)
{
    total->messages += s->messages;
    total->missed += s->missed;
    total->missed_asleep += s->missed_asleep;
    total->missed_away += s->missed_away;
    total->missed_running += s->missed_running;
    total->sleeps += s->sleeps;
    total->woken += s->woken;
    total->polls += s->polls;
    total->spins += s->spins;
    total->spin_hits += s->spin_hits;
    total->wake_latency_count += s->wake_latency_count;
    total->wake_latency_total_ns += s->wake_latency_total_ns;
    total->producer_wakes += s->producer_wakes;
    if (s->wake_latency_max_ns > total->wake_latency_max_ns)
        total->wake_latency_max_ns = s->wake_latency_max_ns;
    if (s->longest_miss_gap_ns > total->longest_miss_gap_ns)
        total->longest_miss_gap_ns = s->longest_miss_gap_ns;
    if (s->longest_away_ns > total->longest_away_ns)
        total->longest_away_ns = s->longest_away_ns;
}

void cli_print_observer_stats(const char *command, const char *name, const sipc_observer_stats *s)
{
    fprintf(stderr,
            "sipc: %s %s: stats {\"messages\":%" PRIu64 ",\"missed\":%" PRIu64 ",\"missedAsleep\":%" PRIu64
            ",\"missedAway\":%" PRIu64 ",\"missedRunning\":%" PRIu64 ",\"sleeps\":%" PRIu64 ",\"woken\":%" PRIu64
            ",\"polls\":%" PRIu64 ",\"spins\":%" PRIu64 ",\"spinHits\":%" PRIu64 ",\"wakeLatencyCount\":%" PRIu64
            ",\"wakeLatencyTotalNs\":%" PRIu64 ",\"wakeLatencyMaxNs\":%" PRIu64 ",\"longestMissGapNs\":%" PRIu64
            ",\"longestAwayNs\":%" PRIu64 ",\"producerWakes\":%" PRIu64 "}\n",
            command, name, s->messages, s->missed, s->missed_asleep, s->missed_away, s->missed_running, s->sleeps,
            s->woken, s->polls, s->spins, s->spin_hits, s->wake_latency_count, s->wake_latency_total_ns,
            s->wake_latency_max_ns, s->longest_miss_gap_ns, s->longest_away_ns, s->producer_wakes);
}
