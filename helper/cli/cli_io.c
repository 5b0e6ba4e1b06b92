/* The `sipc` command line's I/O: whole writes and file reads, clocks, and the stop signals. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cli_io.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(_WIN32)
#  include <io.h>
#  include <windows.h>
#  define O_CLOEXEC (_O_NOINHERIT | _O_BINARY)
#endif

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
