/* platform_win32_thread.c — Windows clocks (QueryPerformanceCounter, the precise system time) and the process-local mutex (SRW lock). */
#if defined(_WIN32)

#include "platform_win32.h"


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

/* ---- mutex ---- */

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

void sipc_os_mutex_destroy(sipc_os_mutex *mutex)
{
    (void)mutex; /* SRW locks need no cleanup */
}

#endif /* _WIN32 */
