/*
 * platform_darwin_wait.c — waiting on a wait word in shared memory (macOS).
 *
 * macOS 14.4+ has a public call for it, os_sync_wait_on_address with OS_SYNC_WAIT_ON_ADDRESS_SHARED
 * (the word lies in a mapping other processes share). Older systems have only the private ulock calls
 * libc++ and the Swift runtime use: __ulock_wait2 (macOS 11+) / __ulock_wake with UL_COMPARE_AND_WAIT_SHARED.
 * Which one exists is decided once at load time: the public calls are looked up with dlsym (a binary
 * built for an older system must not refer to them), the private ones are declared here because no
 * header does.
 */
#if defined(__APPLE__)

#include "platform_posix.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

/* <os/os_sync_wait_on_address.h> (macOS 14.4): the flags, the clock and the signatures as published. */
#define SIPC_OS_SYNC_SHARED 0x1u            /* OS_SYNC_WAIT_ON_ADDRESS_SHARED, OS_SYNC_WAKE_BY_ADDRESS_SHARED */
#define SIPC_OS_CLOCK_MACH_ABSOLUTE_TIME 32 /* OS_CLOCK_MACH_ABSOLUTE_TIME; the timeout is relative, in ns */
typedef int (*os_sync_wait_fn)(void *addr, uint64_t value, size_t size, uint32_t flags);
typedef int (*os_sync_wait_timeout_fn)(void *addr, uint64_t value, size_t size, uint32_t flags, uint32_t clockid,
                                       uint64_t timeout_ns);
typedef int (*os_sync_wake_fn)(void *addr, size_t size, uint32_t flags);

/* xnu's bsd/sys/ulock.h (private). With ULF_NO_ERRNO the calls return -errno instead of setting errno. */
#define SIPC_UL_COMPARE_AND_WAIT_SHARED 3u
#define SIPC_ULF_WAKE_ALL 0x00000100u
#define SIPC_ULF_NO_ERRNO 0x01000000u
extern int __ulock_wait2(uint32_t operation, void *addr, uint64_t value, uint64_t timeout_ns, uint64_t value2);
extern int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value);

/* Set once by the constructor, before any thread or signal handler of the library can use them:
 * wake must stay async-signal-safe, and dlsym is not. NULL: use the ulock calls. */
static os_sync_wait_fn os_sync_wait;
static os_sync_wait_timeout_fn os_sync_wait_with_timeout;
static os_sync_wake_fn os_sync_wake_all;

__attribute__((constructor)) static void resolve_wait_calls(void)
{
    os_sync_wait_fn wait = (os_sync_wait_fn)dlsym(RTLD_DEFAULT, "os_sync_wait_on_address");
    os_sync_wait_timeout_fn wait_timeout =
        (os_sync_wait_timeout_fn)dlsym(RTLD_DEFAULT, "os_sync_wait_on_address_with_timeout");
    os_sync_wake_fn wake_all = (os_sync_wake_fn)dlsym(RTLD_DEFAULT, "os_sync_wake_by_address_all");
    if (wait != NULL && wait_timeout != NULL && wake_all != NULL) {
        os_sync_wait = wait;
        os_sync_wait_with_timeout = wait_timeout;
        os_sync_wake_all = wake_all;
    }
}

/* No public, cheap way to ask which CPU a thread runs on: the spin rule then leans on its budget alone. */
int sipc_os_current_cpu(void)
{
    return -1;
}

/* macOS has no per-thread slice to ask for (its QoS classes raise a thread's priority, which an observer must not). */
void sipc_os_thread_prefer_prompt_wakeup(void)
{
}

int sipc_os_wait(sipc_os_segment *segment, uint32_t index, uint32_t *word, uint32_t expected, int32_t timeout_ms)
{
    (void)segment;
    (void)index;
    if (timeout_ms == 0) /* both calls read a zero timeout as "no limit" */
        return __atomic_load_n(word, __ATOMIC_ACQUIRE) == expected ? SIPC_ERR_TIMEOUT : SIPC_OK;
    uint64_t timeout_ns = timeout_ms > 0 ? (uint64_t)timeout_ms * 1000000u : 0;
    int err;
    if (os_sync_wait != NULL) {
        int rc = timeout_ms > 0 ? os_sync_wait_with_timeout(word, expected, sizeof *word, SIPC_OS_SYNC_SHARED,
                                                            SIPC_OS_CLOCK_MACH_ABSOLUTE_TIME, timeout_ns)
                                : os_sync_wait(word, expected, sizeof *word, SIPC_OS_SYNC_SHARED);
        err = rc >= 0 ? 0 : errno;
    } else {
        int rc = __ulock_wait2(SIPC_UL_COMPARE_AND_WAIT_SHARED | SIPC_ULF_NO_ERRNO, word, expected, timeout_ns, 0);
        err = rc >= 0 ? 0 : -rc;
    }
    if (err == ETIMEDOUT)
        return SIPC_ERR_TIMEOUT;
    return SIPC_OK; /* woken, value changed, EINTR or EFAULT: the caller re-checks */
}

void sipc_os_wake(sipc_os_segment *segment, uint32_t index, uint32_t *word)
{
    (void)segment;
    (void)index;
    int saved = errno; /* async-signal-safe callers must not see errno change */
    if (os_sync_wake_all != NULL)
        os_sync_wake_all(word, sizeof *word, SIPC_OS_SYNC_SHARED); /* ENOENT: nobody waited */
    else
        __ulock_wake(SIPC_UL_COMPARE_AND_WAIT_SHARED | SIPC_ULF_WAKE_ALL | SIPC_ULF_NO_ERRNO, word, 0);
    errno = saved;
}

#endif
