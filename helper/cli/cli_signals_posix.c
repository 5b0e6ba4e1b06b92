/* cli_signals_posix.c — the `sipc` command line's stop signals on POSIX: SIGINT/SIGTERM cancel. */
#if !defined(_WIN32)

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cli_io.h"
#include "platform.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

static _Atomic(sipc_channel *) watched_channel;
static _Atomic(sipc_observer *) watched_observer;
/* Atomic, not just volatile sig_atomic_t: threads (record's workers, replay's sender) read it while the
 * handler writes it; a lock-free atomic is also safe to store from a signal handler. */
static atomic_int stop_signal;
/* Made readable by a stop signal, for a poll() loop (cli_signal_wake_fd); never drained: a stop is for good. */
static sipc_os_wake_pipe wake = {-1, -1};

static void on_stop_signal(int signal_number)
{
    int saved_errno = errno;
    atomic_store(&stop_signal, signal_number);
    sipc_channel *channel = atomic_load(&watched_channel);
    if (channel)
        sipc_cancel(channel);
    sipc_observer *observer = atomic_load(&watched_observer);
    if (observer)
        sipc_observer_cancel(observer);
    if (wake.write_fd >= 0)
        sipc_os_wake_pipe_signal(&wake);
    errno = saved_errno;
}

void cli_signals_install(void)
{
    /* Without the pipe (no descriptors left) a stop still cancels; only a poll() loop would not see it. */
    if (wake.read_fd < 0 && sipc_os_wake_pipe_open(&wake) != SIPC_OK)
        wake.read_fd = wake.write_fd = -1;
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
    if (channel && atomic_load(&stop_signal))
        sipc_cancel(channel);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
}

void cli_signals_watch_observer(sipc_observer *observer)
{
    sigset_t previous;
    block_stop_signals(&previous);
    atomic_store(&watched_observer, observer);
    if (observer && atomic_load(&stop_signal))
        sipc_observer_cancel(observer);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
}

int cli_stop_signal(void)
{
    return atomic_load(&stop_signal);
}

int cli_signal_wake_fd(void)
{
    return wake.read_fd;
}

#endif /* !_WIN32 */
