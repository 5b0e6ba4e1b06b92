/*
 * win_bounds.h — bounds for the waits of the wine tests (win_tests.c, win_stress.c). A test that would wait forever
 * fails with a message saying what it waited for, instead of hanging until run.sh's timeout kills the executable
 * without a word (as win_tests.exe's named-pipe test did once in a brand-new wine prefix).
 *
 * - end_process(): TerminateProcess, then a bounded wait for the process to be gone.
 * - The watchdog: a thread that ends the run with "FAIL <test>: still running after N s, at: <step>" and the
 *   "N passed, N failed" line run.sh counts, if one test outlasts its bound. Tests name their steps with
 *   watchdog_step() so the message says where a test stood.
 */
#ifndef WIN_BOUNDS_H
#define WIN_BOUNDS_H

#include <windows.h>

#include <stdio.h>
#include <string.h>

/* A terminated process is gone well within this, even under load. */
#define END_LIMIT_MS 10000u

/* Terminates `process` if it still runs and waits at most END_LIMIT_MS for it to be gone: 1 if it is. */
static inline int end_process(HANDLE process, UINT exit_code, const char *what)
{
    TerminateProcess(process, exit_code);
    if (WaitForSingleObject(process, END_LIMIT_MS) == WAIT_OBJECT_0)
        return 1;
    fprintf(stderr, "  %s: process %lu still there %u s after TerminateProcess\n", what,
            (unsigned long)GetProcessId(process), END_LIMIT_MS / 1000u);
    return 0;
}

static struct {
    CRITICAL_SECTION lock;
    HANDLE changed;        /* auto-reset: the armed test or its bound changed */
    const char *test;      /* NULL while no test runs */
    const char *step;
    ULONGLONG deadline_ms; /* GetTickCount64() time at which the running test has run too long */
    DWORD limit_ms;
    const int *passed, *failed;
} watchdog;

/* Writes text to a standard handle without the C runtime: a thread stuck in a wait may hold the CRT's stream lock. */
static inline void write_std(DWORD which, const char *text)
{
    DWORD written = 0;
    WriteFile(GetStdHandle(which), text, (DWORD)strlen(text), &written, NULL);
}

/* Ends the run at once: the reason, the test's FAIL line and the totals (counting this test as failed). The
 * process is terminated, not exited: a thread stuck in a wait may hold a lock that ExitProcess's cleanup needs. */
static inline void watchdog_give_up(const char *why)
{
    EnterCriticalSection(&watchdog.lock);
    const char *test = watchdog.test ? watchdog.test : "(between tests)";
    const char *step = watchdog.step ? watchdog.step : "(no step named)";
    char text[768];
    snprintf(text, sizeof text, "  %s: %s, at: %s\n", test, why, step);
    write_std(STD_ERROR_HANDLE, text);
    snprintf(text, sizeof text, "FAIL %s (%s)\n%d passed, %d failed\n", test, why,
             watchdog.passed ? *watchdog.passed : 0, (watchdog.failed ? *watchdog.failed : 0) + 1);
    write_std(STD_OUTPUT_HANDLE, text);
    TerminateProcess(GetCurrentProcess(), 124);
}

static inline DWORD WINAPI watchdog_main(void *unused)
{
    (void)unused;
    for (;;) {
        EnterCriticalSection(&watchdog.lock);
        ULONGLONG deadline = watchdog.test ? watchdog.deadline_ms : 0;
        LeaveCriticalSection(&watchdog.lock);
        DWORD wait = INFINITE;
        if (deadline != 0) {
            ULONGLONG now = GetTickCount64();
            wait = deadline > now ? (DWORD)(deadline - now) : 0;
        }
        if (WaitForSingleObject(watchdog.changed, wait) == WAIT_TIMEOUT) {
            char why[64];
            snprintf(why, sizeof why, "still running after %lu s", (unsigned long)(watchdog.limit_ms / 1000u));
            watchdog_give_up(why);
        }
    }
    return 0;
}

/* Starts the watchdog: no test may run longer than limit_ms; passed and failed are the run's counters. */
static inline int watchdog_start(DWORD limit_ms, const int *passed, const int *failed)
{
    InitializeCriticalSection(&watchdog.lock);
    watchdog.limit_ms = limit_ms;
    watchdog.passed = passed;
    watchdog.failed = failed;
    watchdog.changed = CreateEventA(NULL, FALSE, FALSE, NULL);
    if (watchdog.changed == NULL)
        return 0;
    HANDLE thread = CreateThread(NULL, 0, watchdog_main, NULL, 0, NULL);
    if (thread == NULL)
        return 0;
    CloseHandle(thread);
    return 1;
}

/* The test now running (NULL: none); its bound starts now. */
static inline void watchdog_arm(const char *test)
{
    EnterCriticalSection(&watchdog.lock);
    watchdog.test = test;
    watchdog.step = NULL;
    watchdog.deadline_ms = GetTickCount64() + watchdog.limit_ms;
    LeaveCriticalSection(&watchdog.lock);
    SetEvent(watchdog.changed);
}

static inline void watchdog_step(const char *step)
{
    EnterCriticalSection(&watchdog.lock);
    watchdog.step = step;
    LeaveCriticalSection(&watchdog.lock);
}

/* Cancels the overlapped I/O of `handle` and waits at most END_LIMIT_MS for it to complete (its event set). An
 * operation that does not complete still owns `overlapped` (on the caller's stack): the run cannot go on safely. */
static inline void cancel_io_bounded(HANDLE handle, OVERLAPPED *overlapped)
{
    DWORD ignored = 0;
    CancelIoEx(handle, overlapped);
    if (WaitForSingleObject(overlapped->hEvent, END_LIMIT_MS) != WAIT_OBJECT_0)
        watchdog_give_up("a cancelled pipe operation did not complete");
    GetOverlappedResult(handle, overlapped, &ignored, FALSE);
}

#endif
