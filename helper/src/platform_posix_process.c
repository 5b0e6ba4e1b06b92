/*
 * platform_posix_process.c — process identity (pid + start time from /proc/<pid>/stat) and the
 * process watcher (a pidfd polled on a thread): Linux.
 */
#if defined(__linux__)

#include "platform_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- processes ---- */

/* Field 22 of the stat file of the process's main thread: the process's start time in clock ticks
 * since boot. Read from /proc/<pid>/task/<pid>/stat, not /proc/<pid>/stat (the same number): qemu-user
 * answers a process's reads of its own /proc/self/stat and /proc/<own pid>/stat with a start time of
 * its own making, a few ticks off the kernel's, which every other process reads; the identity a
 * process records for itself would then never match (every peer looked gone under qemu-user). */
static int read_start_time(int64_t pid, uint64_t *start_time)
{
    char path[96];
    char buffer[1024];
    snprintf(path, sizeof path, "/proc/%lld/task/%lld/stat", (long long)pid, (long long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buffer, sizeof buffer - 1);
    int err = errno;
    close(fd);
    if (n <= 0)
        return n < 0 ? -err : -EIO;
    buffer[n] = '\0';
    /* The command name (field 2) may contain spaces and ')': skip to the last ')'. */
    char *p = strrchr(buffer, ')');
    if (p == NULL)
        return -EIO;
    p++;
    /* After ')' come fields 3.. separated by single spaces; field 22 is the 20th of them. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p + 1, ' ');
        if (p == NULL)
            return -EIO;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(p + 1, &end, 10);
    if (errno != 0 || end == p + 1)
        return -EIO;
    *start_time = value;
    return 0;
}

int sipc_os_process_self(sipc_os_process *out)
{
    out->pid = (int64_t)getpid();
    int rc = read_start_time(out->pid, &out->start_time);
    if (rc < 0) {
        sipc_os_record_error(-rc);
        return SIPC_ERR_SYSTEM;
    }
    return SIPC_OK;
}

int sipc_os_process_start_time(int64_t pid, uint64_t *start_time)
{
    if (pid <= 0 || pid > INT_MAX)
        return SIPC_ERR_NOT_FOUND;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return SIPC_ERR_NOT_FOUND;
    int rc = read_start_time(pid, start_time);
    if (rc == -ENOENT || rc == -ESRCH)
        return SIPC_ERR_NOT_FOUND;
    if (rc < 0) {
        sipc_os_record_error(-rc);
        return SIPC_ERR_SYSTEM; /* exists but cannot be examined */
    }
    /* A zombie has exited: it will never touch the channel again. */
    char path[64];
    char buffer[512];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buffer, sizeof buffer - 1);
        close(fd);
        if (n > 0) {
            buffer[n] = '\0';
            char *p = strrchr(buffer, ')');
            if (p != NULL && (p[1] == ' ') && (p[2] == 'Z' || p[2] == 'X'))
                return SIPC_ERR_NOT_FOUND;
        }
    }
    return SIPC_OK;
}

/* Reads up to size-1 bytes of a small /proc file into buffer (NUL-terminated): the length, or -errno. */
static ssize_t read_proc_file(int64_t pid, const char *file, char *buffer, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%lld/%s", (long long)pid, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buffer, size - 1);
    int err = errno;
    close(fd);
    if (n < 0)
        return -err;
    buffer[n] = '\0';
    return n;
}

/* Field 3 of /proc/<pid>/stat (after the last ')': the name may hold anything): 'R', 'S', 't', 'T', 'Z'... */
static sipc_process_state state_from_stat(const char *stat)
{
    const char *p = strrchr(stat, ')');
    if (p == NULL || p[1] != ' ' || p[2] == '\0')
        return SIPC_PROCESS_UNKNOWN;
    switch (p[2]) {
    case 't': /* stopped by a tracer: a debugger's breakpoint or step */
    case 'T': /* stopped by a signal: SIGSTOP, Ctrl-Z */
        return SIPC_PROCESS_STOPPED;
    case 'Z':
    case 'X':
        return SIPC_PROCESS_GONE;
    default:
        return SIPC_PROCESS_RUNNING;
    }
}

void sipc_os_process_describe(int64_t pid, sipc_process_info *info)
{
    if (pid > INT_MAX) {
        info->state = SIPC_PROCESS_GONE;
        return;
    }
    char buffer[1024];
    ssize_t n = read_proc_file(pid, "stat", buffer, sizeof buffer);
    if (n == -ENOENT || n == -ESRCH) {
        info->state = SIPC_PROCESS_GONE;
        return;
    }
    if (n < 0) {
        info->state = kill((pid_t)pid, 0) != 0 && errno == ESRCH ? SIPC_PROCESS_GONE : SIPC_PROCESS_UNKNOWN;
        return;
    }
    info->state = state_from_stat(buffer);
    /* comm is at most 15 bytes and a newline. */
    n = read_proc_file(pid, "comm", info->name, sizeof info->name);
    if (n > 0)
        info->name[strcspn(info->name, "\n")] = '\0';
    else
        info->name[0] = '\0';
    /* "TracerPid:\t<pid>" in status: nonzero while a debugger (ptrace) is attached. */
    char status[4096];
    n = read_proc_file(pid, "status", status, sizeof status);
    if (n > 0) {
        const char *tracer = strstr(status, "\nTracerPid:");
        if (tracer != NULL)
            info->traced = strtol(tracer + strlen("\nTracerPid:"), NULL, 10) > 0;
    }
}

/* ---- process watcher (pidfd + poll on a thread) ---- */

#if defined(SIPC_OS_HAS_PROCESS_WATCHER)

#include <poll.h>
#include <sys/eventfd.h>

struct sipc_os_watcher {
    pthread_t thread;
    int event_fd;
    pthread_mutex_t lock;
    /* guarded by lock: the next process to watch, handed over to the thread */
    int next_pidfd;
    uint32_t next_token;
    /* the pidfd the thread polls (atomic; written only by the thread): a forked child, which has no
     * thread, closes it in sipc_os_watcher_abandon */
    int thread_pidfd;
    int has_next;
    int stopping;
    /* guarded by lock: the watched process's liveness token, looked at every SIPC_OS_TOKEN_POLL_MS */
    sipc_os_segment *token_segment; /* NULL: none */
    uint32_t token_index;
    sipc_os_death_callback callback;
    void *user;
};

/* The thread's pidfd changes only through here: the field names it before the old one is closed, so a
 * fork() at any moment leaves the child a field that names an open descriptor (at worst, for the
 * instant between the store and the close, the old one stays open in that child). */
static int watcher_switch_pidfd(sipc_os_watcher *w, int old_pidfd, int new_pidfd)
{
    __atomic_store_n(&w->thread_pidfd, new_pidfd, __ATOMIC_SEQ_CST);
    if (old_pidfd >= 0)
        close(old_pidfd);
    return new_pidfd;
}

static void *watcher_main(void *arg)
{
    sipc_os_watcher *w = arg;
    int pidfd = -1; /* owned by this thread */
    uint32_t token = 0;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        int stopping = w->stopping;
        sipc_os_segment *token_segment = w->token_segment;
        uint32_t token_index = w->token_index;
        if (w->has_next) {
            pidfd = watcher_switch_pidfd(w, pidfd, w->next_pidfd);
            token = w->next_token;
            w->has_next = 0;
            w->next_pidfd = -1;
        }
        pthread_mutex_unlock(&w->lock);
        if (stopping)
            break;
        struct pollfd fds[2] = {{w->event_fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
        /* exec() is no event of a pidfd: a process that announced a token is looked at periodically. */
        int with_token = pidfd >= 0 && token_segment != NULL;
        int n = poll(fds, pidfd >= 0 ? 2 : 1, with_token ? SIPC_OS_TOKEN_POLL_MS : -1);
        if (n < 0)
            continue; /* EINTR */
        if (n == 0) {
            if (sipc_os_segment_token_held(token_segment, token_index) == 0) {
                pidfd = watcher_switch_pidfd(w, pidfd, -1);
                w->callback(w->user, token);
            }
            continue;
        }
        if (fds[0].revents & POLLIN) {
            uint64_t value;
            ssize_t got = read(w->event_fd, &value, sizeof value);
            (void)got;
        }
        if (pidfd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            pidfd = watcher_switch_pidfd(w, pidfd, -1);
            w->callback(w->user, token);
        }
    }
    watcher_switch_pidfd(w, pidfd, -1);
    return NULL;
}

static void watcher_poke(sipc_os_watcher *w)
{
    uint64_t one = 1;
    ssize_t put = write(w->event_fd, &one, sizeof one);
    (void)put;
}

int sipc_os_watcher_start(sipc_os_death_callback callback, void *user, sipc_os_watcher **out)
{
    *out = NULL;
    sipc_os_watcher *w = calloc(1, sizeof *w);
    if (w == NULL) {
        sipc_os_record_error(ENOMEM);
        return SIPC_ERR_NO_MEMORY;
    }
    w->callback = callback;
    w->user = user;
    w->next_pidfd = -1;
    w->thread_pidfd = -1;
    w->event_fd = eventfd(0, EFD_CLOEXEC);
    if (w->event_fd < 0) {
        int rc = posix_fail_errno();
        free(w);
        return rc;
    }
    pthread_mutex_init(&w->lock, NULL);
    int rc = posix_thread_create_quiet(&w->thread, watcher_main, w);
    if (rc != SIPC_OK) {
        close(w->event_fd);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return rc;
    }
    *out = w;
    return SIPC_OK;
}

int sipc_os_watcher_watch(sipc_os_watcher *w, const sipc_os_process *process, uint32_t token)
{
    if (process->pid <= 0 || process->pid > INT_MAX)
        return SIPC_ERR_NOT_FOUND;
#if defined(SYS_pidfd_open)
    int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)process->pid, 0);
#else
    int pidfd = -1;
    errno = ENOSYS;
#endif
    if (pidfd < 0) {
        if (errno == ESRCH)
            return SIPC_ERR_NOT_FOUND;
        return posix_fail_errno();
    }
    /* The pid may have been reused between the caller's check and pidfd_open: the pidfd now pins
     * whatever process has the pid, so check that it is still the one we mean. */
    if (!sipc_os_process_alive(process)) {
        close(pidfd);
        return SIPC_ERR_NOT_FOUND;
    }
    pthread_mutex_lock(&w->lock);
    if (w->has_next && w->next_pidfd >= 0)
        close(w->next_pidfd);
    w->next_pidfd = pidfd;
    w->next_token = token;
    w->has_next = 1;
    w->token_segment = NULL; /* a new process: its token, if any, comes with watch_token */
    pthread_mutex_unlock(&w->lock);
    watcher_poke(w);
    return SIPC_OK;
}

void sipc_os_watcher_watch_token(sipc_os_watcher *w, sipc_os_segment *segment, uint32_t token_index)
{
    pthread_mutex_lock(&w->lock);
    w->token_segment = segment;
    w->token_index = token_index;
    pthread_mutex_unlock(&w->lock);
    watcher_poke(w);
}

void sipc_os_watcher_stop(sipc_os_watcher *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_mutex_unlock(&w->lock);
    watcher_poke(w);
    pthread_join(w->thread, NULL);
    if (w->has_next && w->next_pidfd >= 0)
        close(w->next_pidfd);
    close(w->event_fd);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

void sipc_os_watcher_abandon(sipc_os_watcher *w)
{
    if (w == NULL)
        return;
    /* The lock may have been held by the parent's thread at the fork: read without it. Both the pidfd
     * handed over and the one the parent's thread was polling are copies this child owns. */
    if (w->has_next && w->next_pidfd >= 0)
        close(w->next_pidfd);
    int polled = __atomic_load_n(&w->thread_pidfd, __ATOMIC_SEQ_CST);
    if (polled >= 0 && polled != w->next_pidfd)
        close(polled);
    close(w->event_fd);
    free(w);
}

#endif /* SIPC_OS_HAS_PROCESS_WATCHER */

#endif
