/*
 * platform_posix_futex.c — waiting on a wait word with a shared (inter-process) Linux futex.
 */
#if defined(__linux__)

#include "platform_posix.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* sched_getcpu() goes through the vDSO: tens of nanoseconds, cheap beside a wait. */
int sipc_os_current_cpu(void)
{
    int cpu = sched_getcpu();
    return cpu >= 0 ? cpu : -1;
}

/* ---- futex ---- */

int sipc_os_wait(sipc_os_segment *segment, uint32_t index, uint32_t *word, uint32_t expected, int32_t timeout_ms)
{
    (void)segment;
    (void)index;
    struct timespec ts;
    struct timespec *timeout = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        timeout = &ts;
    }
    /* Shared futex (no FUTEX_PRIVATE_FLAG): the waker is another process. */
    long rc = syscall(SYS_futex, word, FUTEX_WAIT, expected, timeout, NULL, 0);
    if (rc == 0)
        return SIPC_OK;
    if (errno == ETIMEDOUT)
        return SIPC_ERR_TIMEOUT;
    return SIPC_OK; /* EAGAIN (value changed) or EINTR: the caller re-checks */
}

void sipc_os_wake(sipc_os_segment *segment, uint32_t index, uint32_t *word)
{
    (void)segment;
    (void)index;
    int saved = errno; /* async-signal-safe callers must not see errno change */
    syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    errno = saved;
}

#endif
