/*
 * platform_posix_futex.c — waiting on a wait word with a shared (inter-process) Linux futex.
 */
#if defined(__linux__)

#include "platform_posix.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* sched_getcpu() goes through the vDSO: tens of nanoseconds, cheap beside a wait. */
int sipc_os_current_cpu(void)
{
    int cpu = sched_getcpu();
    return cpu >= 0 ? cpu : -1;
}

/* ---- prompt wake-ups ---- */

/* struct sched_attr, first version (48 bytes): glibc declares it only from 2.41, and the kernel's header clashes with
 * <sched.h> there. */
typedef struct posix_sched_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime; /* SCHED_OTHER, Linux >= 6.12: the thread's slice (ns), clamped to 0.1..100 ms */
    uint64_t sched_deadline;
    uint64_t sched_period;
} posix_sched_attr;

#define POSIX_SCHED_FLAG_RESET_ON_FORK 0x01u

void sipc_os_thread_prefer_prompt_wakeup(void)
{
    static _Thread_local int asked;
    if (asked)
        return;
    asked = 1;
    posix_sched_attr attr;
    memset(&attr, 0, sizeof attr);
#if defined(SYS_sched_getattr) && defined(SYS_sched_setattr)
    int saved = errno;
    if (syscall(SYS_sched_getattr, 0, &attr, (unsigned)sizeof attr, 0u) == 0 && attr.sched_policy == SCHED_OTHER &&
        (attr.sched_runtime == 0 || attr.sched_runtime > SIPC_OS_PROMPT_SLICE_NS)) {
        /* Everything else as it is: the nice value read back (0 would raise a niced thread's share), the
         * reset-on-fork flag (other flags set nothing here: utilisation clamps stay as they are without theirs). */
        attr.size = (uint32_t)sizeof attr;
        attr.sched_flags &= POSIX_SCHED_FLAG_RESET_ON_FORK;
        attr.sched_runtime = SIPC_OS_PROMPT_SLICE_NS;
        (void)syscall(SYS_sched_setattr, 0, &attr, 0u);
    }
    errno = saved;
#endif
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
