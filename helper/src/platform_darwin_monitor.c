/*
 * platform_darwin_monitor.c — the key monitor on macOS: POSIX shared-memory objects live in no
 * directory there, so nothing reports keys appearing or vanishing; wait only times out (the caller
 * compares listings) or is interrupted through a pipe.
 */
#if defined(__APPLE__)

#include "deadline.h"
#include "platform_posix.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

struct sipc_os_key_monitor {
    sipc_os_wake_pipe wake; /* signalled by interrupt, never drained: stays readable */
};

int sipc_os_key_monitor_open(sipc_os_key_monitor **out)
{
    *out = NULL;
    sipc_os_key_monitor *m = calloc(1, sizeof *m);
    if (m == NULL)
        return SIPC_ERR_NO_MEMORY;
    int rc = sipc_os_wake_pipe_open(&m->wake);
    if (rc != SIPC_OK) {
        free(m);
        return rc;
    }
    *out = m;
    return SIPC_OK;
}

int sipc_os_key_monitor_wait(sipc_os_key_monitor *m, int32_t timeout_ms)
{
    uint64_t deadline = sipc_deadline_after(timeout_ms);
    for (;;) {
        int32_t wait_ms = sipc_deadline_ms_left(deadline); /* SIPC_INFINITE (-1): poll's no limit */
        if (wait_ms == 0)
            return SIPC_ERR_TIMEOUT;
        struct pollfd wake = {m->wake.read_fd, POLLIN, 0};
        int ready = poll(&wake, 1, wait_ms);
        if (ready < 0 && errno != EINTR)
            return posix_fail_errno();
        if (ready > 0 && wake.revents != 0)
            return SIPC_ERR_CANCELLED; /* the pipe is never read: stays readable */
    }
}

void sipc_os_key_monitor_interrupt(sipc_os_key_monitor *m)
{
    sipc_os_wake_pipe_signal(&m->wake);
}

void sipc_os_key_monitor_close(sipc_os_key_monitor *m)
{
    if (m == NULL)
        return;
    sipc_os_wake_pipe_close(&m->wake);
    free(m);
}

#endif
