/*
 * platform_darwin_monitor.c — the key monitor on macOS: POSIX shared-memory objects live in no
 * directory there, so nothing reports keys appearing or vanishing; wait only times out (the caller
 * compares listings) or is interrupted through a pipe.
 */
#if defined(__APPLE__)

#include "platform_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

struct sipc_os_key_monitor {
    int wake_read;
    int wake_write;
};

int sipc_os_key_monitor_open(sipc_os_key_monitor **out)
{
    *out = NULL;
    sipc_os_key_monitor *m = calloc(1, sizeof *m);
    if (m == NULL)
        return SIPC_ERR_NO_MEMORY;
    int fds[2];
    if (pipe(fds) != 0) {
        int rc = posix_fail_errno();
        free(m);
        return rc;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    }
    m->wake_read = fds[0];
    m->wake_write = fds[1];
    *out = m;
    return SIPC_OK;
}

int sipc_os_key_monitor_wait(sipc_os_key_monitor *m, int32_t timeout_ms)
{
    uint64_t deadline = timeout_ms < 0 ? 0 : sipc_os_monotonic_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        struct pollfd wake = {m->wake_read, POLLIN, 0};
        int wait_ms = -1;
        if (timeout_ms >= 0) {
            uint64_t now = sipc_os_monotonic_ns();
            if (now >= deadline)
                return SIPC_ERR_TIMEOUT;
            uint64_t left = (deadline - now + 999999u) / 1000000u;
            wait_ms = left > INT_MAX ? INT_MAX : (int)left;
        }
        int ready = poll(&wake, 1, wait_ms);
        if (ready < 0 && errno != EINTR)
            return posix_fail_errno();
        if (ready > 0 && wake.revents != 0)
            return SIPC_ERR_CANCELLED; /* the pipe is never read: stays readable */
    }
}

void sipc_os_key_monitor_interrupt(sipc_os_key_monitor *m)
{
    char byte = 1;
    ssize_t written = write(m->wake_write, &byte, 1);
    (void)written; /* only fails when the pipe is full: still readable */
}

void sipc_os_key_monitor_close(sipc_os_key_monitor *m)
{
    if (m == NULL)
        return;
    close(m->wake_read);
    close(m->wake_write);
    free(m);
}

#endif
