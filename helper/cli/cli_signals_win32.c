/* cli_signals_win32.c — the `sipc` command line's stop signals on Windows (console control events). */
#if defined(_WIN32)

#include "cli_io.h"

#include <fcntl.h>
#include <io.h>
#include <signal.h>
#include <stdio.h>
#include <windows.h>

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
    if (watched_channel)
        sipc_cancel(watched_channel);
    if (watched_observer)
        sipc_observer_cancel(watched_observer);
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
    if (channel && stop_signal)
        sipc_cancel(channel);
    ReleaseSRWLockExclusive(&watch_lock);
}

void cli_signals_watch_observer(sipc_observer *observer)
{
    AcquireSRWLockExclusive(&watch_lock);
    watched_observer = observer;
    if (observer && stop_signal)
        sipc_observer_cancel(observer);
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

#endif /* _WIN32 */
