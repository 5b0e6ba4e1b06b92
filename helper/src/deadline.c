/* deadline.c — timeouts to deadlines and back (see deadline.h). */
#include "deadline.h"

#include "platform.h"

uint64_t sipc_deadline_at(uint64_t now, int32_t timeout_ms)
{
    if (timeout_ms < 0)
        return SIPC_OS_NO_DEADLINE;
    return now + (uint64_t)timeout_ms * 1000000u;
}

uint64_t sipc_deadline_after(int32_t timeout_ms)
{
    if (timeout_ms < 0)
        return SIPC_OS_NO_DEADLINE;
    return sipc_deadline_at(sipc_os_monotonic_ns(), timeout_ms);
}

int32_t sipc_deadline_ms_left_at(uint64_t deadline, uint64_t now)
{
    if (deadline == SIPC_OS_NO_DEADLINE)
        return SIPC_INFINITE;
    if (now >= deadline)
        return 0;
    uint64_t left = (deadline - now + 999999u) / 1000000u;
    return left > INT32_MAX ? INT32_MAX : (int32_t)left;
}

int32_t sipc_deadline_ms_left(uint64_t deadline)
{
    if (deadline == SIPC_OS_NO_DEADLINE)
        return SIPC_INFINITE;
    return sipc_deadline_ms_left_at(deadline, sipc_os_monotonic_ns());
}

uint64_t sipc_deadline_us_left_at(uint64_t deadline, uint64_t now)
{
    if (deadline == SIPC_OS_NO_DEADLINE)
        return UINT64_MAX;
    return now >= deadline ? 0 : (deadline - now + 999u) / 1000u;
}
