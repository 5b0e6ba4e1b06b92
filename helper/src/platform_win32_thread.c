/*
 * platform_win32_thread.c — Windows clocks (QueryPerformanceCounter, the precise system time),
 * threads (_beginthreadex), mutexes (SRW locks) and condition variables.
 */
#if defined(_WIN32)

#include "platform_win32.h"

#include <process.h>
#include <stdlib.h>

/* ---- clocks ---- */

uint64_t sipc_os_monotonic_ns(void)
{
    LARGE_INTEGER frequency, now; /* the frequency is a cheap read of a boot-time constant */
    QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&now);
    uint64_t f = (uint64_t)frequency.QuadPart;
    uint64_t t = (uint64_t)now.QuadPart;
    return (t / f) * 1000000000u + (t % f) * 1000000000u / f;
}

uint64_t sipc_os_wall_ns(void)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    uint64_t ticks = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime; /* 100 ns since 1601 */
    const uint64_t unix_epoch = 116444736000000000ull;
    return ticks < unix_epoch ? 0 : (ticks - unix_epoch) * 100u;
}

void sipc_os_sleep_us(uint32_t microseconds)
{
    Sleep((microseconds + 999u) / 1000u);
}

void sipc_os_cpu_relax(void)
{
    YieldProcessor();
}

int sipc_os_current_cpu(void)
{
    /* The processor group matters on machines with more than 64 logical CPUs. */
    PROCESSOR_NUMBER number;
    GetCurrentProcessorNumberEx(&number);
    return (int)number.Group * 64 + (int)number.Number;
}

/* Windows has no per-thread quantum to ask for (a higher priority would take the CPU from the peers, which an observer
 * must not). */
void sipc_os_thread_prefer_prompt_wakeup(void)
{
}

/* ---- mutexes ---- */

int sipc_os_mutex_init(sipc_os_mutex *mutex)
{
    InitializeSRWLock(mutex);
    return SIPC_OK;
}

void sipc_os_mutex_lock(sipc_os_mutex *mutex)
{
    AcquireSRWLockExclusive(mutex);
}

void sipc_os_mutex_unlock(sipc_os_mutex *mutex)
{
    ReleaseSRWLockExclusive(mutex);
}

int sipc_os_mutex_trylock(sipc_os_mutex *mutex)
{
    return TryAcquireSRWLockExclusive(mutex) != 0;
}

void sipc_os_mutex_destroy(sipc_os_mutex *mutex)
{
    (void)mutex; /* SRW locks need no cleanup */
}

/* ---- condition variables ---- */

int sipc_os_cond_init(sipc_os_cond *cond)
{
    InitializeConditionVariable(cond);
    return SIPC_OK;
}

void sipc_os_cond_wait(sipc_os_cond *cond, sipc_os_mutex *mutex)
{
    SleepConditionVariableSRW(cond, mutex, INFINITE, 0);
}

void sipc_os_cond_broadcast(sipc_os_cond *cond)
{
    WakeAllConditionVariable(cond);
}

void sipc_os_cond_destroy(sipc_os_cond *cond)
{
    (void)cond; /* condition variables need no cleanup */
}

/* ---- threads ---- */

/* The runtime's thread entry point has another signature: the start record carries the portable one. */
typedef struct thread_start {
    sipc_os_thread_main main;
    void *arg;
} thread_start;

static unsigned __stdcall thread_entry(void *parameter)
{
    thread_start start = *(thread_start *)parameter;
    free(parameter);
    start.main(start.arg);
    return 0;
}

int sipc_os_thread_create(sipc_os_thread *thread, sipc_os_thread_main main, void *arg)
{
    thread_start *start = malloc(sizeof *start);
    if (start == NULL) {
        sipc_os_record_error(ERROR_NOT_ENOUGH_MEMORY);
        return SIPC_ERR_NO_MEMORY;
    }
    start->main = main;
    start->arg = arg;
    /* _beginthreadex, not CreateThread: the C runtime sets up its per-thread state (locale, errno)
     * for the thread, which the library's swprintf of object names relies on. */
    uintptr_t handle = _beginthreadex(NULL, 0, thread_entry, start, 0, NULL);
    if (handle == 0) {
        int rc = win_fail_last_error();
        free(start);
        return rc;
    }
    *thread = (HANDLE)handle;
    return SIPC_OK;
}

void sipc_os_thread_join(sipc_os_thread *thread)
{
    WaitForSingleObject(*thread, INFINITE);
    CloseHandle(*thread);
    *thread = NULL;
}

void sipc_os_thread_join_cancelling_io(sipc_os_thread *thread)
{
    while (WaitForSingleObject(*thread, 20) == WAIT_TIMEOUT)
        CancelSynchronousIo(*thread);
    sipc_os_thread_join(thread);
}

void sipc_os_thread_detach(sipc_os_thread *thread)
{
    CloseHandle(*thread); /* the thread runs on; its handle is all we held */
    *thread = NULL;
}

void sipc_os_thread_yield(void)
{
    SwitchToThread();
}

#endif /* _WIN32 */
