/*
 * platform_posix_monitor.c — noticing that keys appear or vanish: inotify on /dev/shm, an eventfd to
 * interrupt (Linux; macOS, whose shm objects live in no directory, would use a monitor that only times out).
 */
#if defined(__linux__)

#include "deadline.h"
#include "platform_posix.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

struct sipc_os_key_monitor {
    int inotify_fd; /* -1 if /dev/shm cannot be watched: wait then only times out */
    int wake_fd;
};

int sipc_os_key_monitor_open(sipc_os_key_monitor **out)
{
    *out = NULL;
    sipc_os_key_monitor *m = calloc(1, sizeof *m);
    if (m == NULL)
        return SIPC_ERR_NO_MEMORY;
    m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m->wake_fd < 0) {
        int rc = posix_fail_errno();
        free(m);
        return rc;
    }
    m->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    /* Not IN_OPEN/IN_ACCESS: looking at the segments (stat, list) must not report itself. IN_MODIFY is the
     * creator sizing a new segment (writes to a mapping report nothing); IN_CLOSE_WRITE a writer leaving. */
    const uint32_t events = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_MODIFY |
                            IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF;
    if (m->inotify_fd >= 0 && inotify_add_watch(m->inotify_fd, "/dev/shm", events) < 0) {
        close(m->inotify_fd);
        m->inotify_fd = -1;
    }
    *out = m;
    return SIPC_OK;
}

/* Reads every queued event; 1 if one concerns a key (or events were lost), else 0. */
static int drain_key_events(int fd)
{
    _Alignas(struct inotify_event) char buffer[4096];
    const size_t prefix_length = strlen(SIPC_OS_KEY_PREFIX);
    int relevant = 0;
    for (;;) {
        ssize_t got = read(fd, buffer, sizeof buffer);
        if (got <= 0)
            return relevant;
        size_t offset = 0;
        while (offset + sizeof(struct inotify_event) <= (size_t)got) {
            const struct inotify_event *event = (const struct inotify_event *)(buffer + offset);
            size_t next = offset + sizeof(struct inotify_event) + event->len;
            if (next > (size_t)got)
                break;
            if ((event->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) != 0 ||
                (event->len > 0 && strncmp(event->name, SIPC_OS_KEY_PREFIX, prefix_length) == 0))
                relevant = 1;
            offset = next;
        }
    }
}

int sipc_os_key_monitor_wait(sipc_os_key_monitor *m, int32_t timeout_ms)
{
    uint64_t deadline = sipc_deadline_after(timeout_ms);
    for (;;) {
        int32_t wait_ms = sipc_deadline_ms_left(deadline); /* SIPC_INFINITE (-1): poll's no limit */
        if (wait_ms == 0)
            return SIPC_ERR_TIMEOUT;
        struct pollfd fds[2] = {{m->wake_fd, POLLIN, 0}, {m->inotify_fd, POLLIN, 0}};
        int ready = poll(fds, m->inotify_fd >= 0 ? 2 : 1, wait_ms);
        if (ready < 0 && errno != EINTR)
            return posix_fail_errno();
        if (ready <= 0)
            continue;
        if (fds[0].revents != 0)
            return SIPC_ERR_CANCELLED; /* the eventfd is never read: stays readable */
        if (fds[1].revents != 0 && drain_key_events(m->inotify_fd))
            return SIPC_OK;
    }
}

void sipc_os_key_monitor_interrupt(sipc_os_key_monitor *m)
{
    uint64_t one = 1;
    ssize_t written = write(m->wake_fd, &one, sizeof one);
    (void)written; /* only fails when the counter is already non-zero: still readable */
}

void sipc_os_key_monitor_close(sipc_os_key_monitor *m)
{
    if (m == NULL)
        return;
    if (m->inotify_fd >= 0)
        close(m->inotify_fd);
    close(m->wake_fd);
    free(m);
}

#endif /* __linux__ */
