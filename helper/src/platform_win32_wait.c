/* platform_win32_wait.c — sleeping on a wait word (a counted semaphore per word) and the process watcher (a thread-pool wait on the peer's process handle). */
#if defined(_WIN32)

#include "platform_win32.h"

#include <stdlib.h>

/* ---- waiting ---- */

static void remove_waiter(win_control *control, uint32_t index)
{
    volatile LONG *count = &control->waiters[index];
    LONG seen = *count;
    /* Only while positive: a waker may have taken our count already (its token then stays). */
    while (seen > 0) {
        LONG previous = InterlockedCompareExchange(count, seen - 1, seen);
        if (previous == seen)
            break;
        seen = previous;
    }
}

int sipc_os_wait(sipc_os_segment *segment, uint32_t index, uint32_t *word, uint32_t expected, int32_t timeout_ms)
{
    if (index >= SIPC_WAIT_WORDS)
        return SIPC_ERR_INVALID_ARGUMENT;
    win_control *control = segment->control;
    /* A waiter that cannot count itself in (a control it may not write, or a read-only open, which has no
     * semaphores) polls in slices: nobody would release a token for it, and one it took would be a peer's. */
    int counted = segment->control_writable && segment->semaphore[index] != NULL;
    DWORD timeout = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
    if (!counted && (timeout == INFINITE || timeout > WIN_POLL_SLICE_MS))
        timeout = WIN_POLL_SLICE_MS;

    int rc = SIPC_OK;
    if (counted)
        InterlockedIncrement(&control->waiters[index]); /* full barrier: count, then look */
    if (__atomic_load_n(word, __ATOMIC_SEQ_CST) == expected) {
        DWORD r = WAIT_TIMEOUT;
        if (counted)
            r = WaitForSingleObject(segment->semaphore[index], timeout);
        else
            Sleep(timeout);
        if (r == WAIT_OBJECT_0)
            return SIPC_OK; /* a waker took our count with it */
        if (r == WAIT_TIMEOUT)
            /* A wait shortened to a poll slice reports a spurious wake-up, not the caller's timeout. */
            rc = timeout_ms >= 0 && timeout == (DWORD)timeout_ms ? SIPC_ERR_TIMEOUT : SIPC_OK;
        else
            rc = win_fail_last_error();
    }
    if (counted)
        remove_waiter(control, index);
    return rc;
}

void sipc_os_wake(sipc_os_segment *segment, uint32_t index, uint32_t *word)
{
    (void)word;
    if (index >= SIPC_WAIT_WORDS || !segment->control_writable || segment->semaphore[index] == NULL)
        return;
    MemoryBarrier(); /* the word's new value is visible before we look at the count */
    LONG waiting = InterlockedExchange(&segment->control->waiters[index], 0);
    if (waiting <= 0)
        return; /* shared memory is untrusted: a negative count means nobody */
    if (waiting > WIN_WAKE_MAX)
        waiting = WIN_WAKE_MAX;
    ReleaseSemaphore(segment->semaphore[index], waiting, NULL);
}

/* ---- process watcher: a thread-pool wait on the watched process's handle ---- */

struct sipc_os_watcher {
    SRWLOCK lock;   /* guards the fields below against concurrent watch/stop */
    HANDLE process; /* the watched process, NULL if none */
    HANDLE wait;    /* its registered wait, NULL if none */
    uint32_t token;
    sipc_os_death_callback callback;
    void *user;
};

static VOID CALLBACK on_watched_exit(PVOID context, BOOLEAN timed_out)
{
    (void)timed_out; /* INFINITE: only the process handle signals it */
    sipc_os_watcher *watcher = context;
    watcher->callback(watcher->user, watcher->token);
}

/* Unregisters the current wait, waiting for a running callback to finish. Caller holds the lock. */
static void watcher_clear(sipc_os_watcher *watcher)
{
    if (watcher->wait != NULL)
        UnregisterWaitEx(watcher->wait, INVALID_HANDLE_VALUE);
    if (watcher->process != NULL)
        CloseHandle(watcher->process);
    watcher->wait = NULL;
    watcher->process = NULL;
}

int sipc_os_watcher_start(sipc_os_death_callback callback, void *user, sipc_os_watcher **out)
{
    *out = NULL;
    sipc_os_watcher *watcher = calloc(1, sizeof *watcher);
    if (watcher == NULL) {
        sipc_os_record_error(ERROR_NOT_ENOUGH_MEMORY);
        return SIPC_ERR_NO_MEMORY;
    }
    InitializeSRWLock(&watcher->lock);
    watcher->callback = callback;
    watcher->user = user;
    *out = watcher;
    return SIPC_OK;
}

/* Windows has no exec(): a process that runs another program is another process. */
void sipc_os_watcher_watch_token(sipc_os_watcher *watcher, sipc_os_segment *segment, uint32_t token_index)
{
    (void)watcher;
    (void)segment;
    (void)token_index;
}

int sipc_os_watcher_watch(sipc_os_watcher *watcher, const sipc_os_process *process, uint32_t token)
{
    int unexaminable = 0;
    HANDLE handle = win_open_identified_process(process, &unexaminable);
    if (handle == NULL) {
        if (!unexaminable)
            return SIPC_ERR_NOT_FOUND;
        sipc_os_record_error(ERROR_ACCESS_DENIED);
        return SIPC_ERR_PERMISSION; /* alive but not ours to wait on: the caller polls instead */
    }
    AcquireSRWLockExclusive(&watcher->lock);
    watcher_clear(watcher);
    watcher->token = token;
    watcher->process = handle;
    int rc = SIPC_OK;
    if (!RegisterWaitForSingleObject(&watcher->wait, handle, on_watched_exit, watcher, INFINITE, WT_EXECUTEONLYONCE)) {
        rc = win_fail_last_error();
        watcher->wait = NULL;
        CloseHandle(handle);
        watcher->process = NULL;
    }
    ReleaseSRWLockExclusive(&watcher->lock);
    return rc;
}

void sipc_os_watcher_stop(sipc_os_watcher *watcher)
{
    if (watcher == NULL)
        return;
    AcquireSRWLockExclusive(&watcher->lock);
    watcher_clear(watcher);
    ReleaseSRWLockExclusive(&watcher->lock);
    free(watcher);
}

/* Only called in a forked child, which Windows never has; stopping is the safe equivalent. */
void sipc_os_watcher_abandon(sipc_os_watcher *watcher)
{
    sipc_os_watcher_stop(watcher);
}

#endif /* _WIN32 */
