/*
 * platform_posix.c — Linux implementation of platform.h: POSIX shared memory (shm_open),
 * flock for the open-time lock, futex for waiting, /proc for process identity.
 */
#if !defined(_WIN32)

#include "platform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__)
#  include <linux/futex.h>
#  include <sys/syscall.h>
#endif

struct sipc_os_segment {
    int fd;
    int readonly;
    char path[SIPC_OS_KEY_MAX + 2]; /* "/" + key */
};

int sipc_os_status_from_error(int os_error)
{
    switch (os_error) {
    case EACCES:
    case EPERM:
        return SIPC_ERR_PERMISSION;
    case ENOMEM:
    case ENOSPC:
    case EMFILE:
    case ENFILE:
        return SIPC_ERR_NO_MEMORY;
    case ENOENT:
        return SIPC_ERR_NOT_FOUND;
    default:
        return SIPC_ERR_SYSTEM;
    }
}

static int fail_errno(void)
{
    int err = errno;
    sipc_os_record_error(err);
    return sipc_os_status_from_error(err);
}

/* ---- clocks ---- */

uint64_t sipc_os_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t sipc_os_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sipc_os_sleep_us(uint32_t microseconds)
{
    struct timespec ts;
    ts.tv_sec = microseconds / 1000000u;
    ts.tv_nsec = (long)(microseconds % 1000000u) * 1000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void sipc_os_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* ---- processes ---- */

/* Field 22 of /proc/<pid>/stat: start time in clock ticks since boot. */
static int read_start_time(int64_t pid, uint64_t *start_time)
{
    char path[64];
    char buffer[1024];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
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

int sipc_os_process_alive(const sipc_os_process *process)
{
    if (process->pid <= 0 || process->pid > INT_MAX)
        return 0;
    if (kill((pid_t)process->pid, 0) != 0 && errno == ESRCH)
        return 0;
    uint64_t start_time = 0;
    int rc = read_start_time(process->pid, &start_time);
    if (rc == -ENOENT || rc == -ESRCH)
        return 0;
    if (rc < 0)
        return 1; /* exists but cannot be examined */
    if (start_time != process->start_time)
        return 0; /* the pid was reused */
    /* A zombie has exited: it will never touch the channel again. */
    char path[64];
    char buffer[512];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)process->pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buffer, sizeof buffer - 1);
        close(fd);
        if (n > 0) {
            buffer[n] = '\0';
            char *p = strrchr(buffer, ')');
            if (p != NULL && (p[1] == ' ') && (p[2] == 'Z' || p[2] == 'X'))
                return 0;
        }
    }
    return 1;
}

static uint32_t fork_generation; /* atomic */
static pthread_once_t fork_hook_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    __atomic_add_fetch(&fork_generation, 1u, __ATOMIC_RELAXED);
}

static void install_fork_hook(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

uint32_t sipc_os_fork_generation(void)
{
    pthread_once(&fork_hook_once, install_fork_hook);
    return __atomic_load_n(&fork_generation, __ATOMIC_RELAXED);
}

uint32_t sipc_os_current_uid(void)
{
    return (uint32_t)getuid();
}

/* ---- mutex ---- */

int sipc_os_mutex_init(sipc_os_mutex *mutex)
{
    int rc = pthread_mutex_init(mutex, NULL);
    if (rc != 0) {
        sipc_os_record_error(rc);
        return sipc_os_status_from_error(rc);
    }
    return SIPC_OK;
}

void sipc_os_mutex_lock(sipc_os_mutex *mutex)
{
    pthread_mutex_lock(mutex);
}

void sipc_os_mutex_unlock(sipc_os_mutex *mutex)
{
    pthread_mutex_unlock(mutex);
}

void sipc_os_mutex_destroy(sipc_os_mutex *mutex)
{
    pthread_mutex_destroy(mutex);
}

/* ---- segments ---- */

static int key_to_path(const char *key, char *path, size_t size)
{
    size_t length = strlen(key);
    if (length == 0 || length > SIPC_OS_KEY_MAX || length + 2 > size || strchr(key, '/') != NULL)
        return SIPC_ERR_INVALID_NAME;
    path[0] = '/';
    memcpy(path + 1, key, length + 1);
    return SIPC_OK;
}

int sipc_os_segment_open(const char *key, uint32_t flags, uint32_t mode, sipc_os_segment **out)
{
    *out = NULL;
    sipc_os_segment *segment = calloc(1, sizeof *segment);
    if (segment == NULL) {
        sipc_os_record_error(ENOMEM);
        return SIPC_ERR_NO_MEMORY;
    }
    int rc = key_to_path(key, segment->path, sizeof segment->path);
    if (rc != SIPC_OK) {
        free(segment);
        return rc;
    }
    segment->readonly = (flags & SIPC_OS_SEG_READONLY) != 0;
    int oflags = segment->readonly ? O_RDONLY : O_RDWR;
    if (flags & SIPC_OS_SEG_CREATE)
        oflags |= O_CREAT | O_EXCL;
    if (!(flags & SIPC_OS_SEG_INHERIT))
        oflags |= O_CLOEXEC;
    int fd = shm_open(segment->path, oflags, (mode_t)(mode & 0777));
    if (fd < 0) {
        int err = errno;
        free(segment);
        if ((flags & SIPC_OS_SEG_CREATE) && err == EEXIST)
            return SIPC_OS_EXISTS;
        sipc_os_record_error(err);
        return sipc_os_status_from_error(err);
    }
    if (flags & SIPC_OS_SEG_CREATE) {
        /* shm_open applied the umask; set exactly the bits asked for. */
        if (fchmod(fd, (mode_t)(mode & 0777)) != 0) {
            rc = fail_errno();
            shm_unlink(segment->path);
            close(fd);
            free(segment);
            return rc;
        }
    }
    if (flags & SIPC_OS_SEG_INHERIT) {
        int fdflags = fcntl(fd, F_GETFD);
        if (fdflags >= 0)
            fcntl(fd, F_SETFD, fdflags & ~FD_CLOEXEC);
    }
    segment->fd = fd;
    *out = segment;
    return SIPC_OK;
}

void sipc_os_segment_close(sipc_os_segment *segment)
{
    if (segment == NULL)
        return;
    close(segment->fd);
    free(segment);
}

int sipc_os_segment_lock(sipc_os_segment *segment)
{
    while (flock(segment->fd, LOCK_EX) != 0) {
        if (errno != EINTR)
            return fail_errno();
    }
    return SIPC_OK;
}

void sipc_os_segment_unlock(sipc_os_segment *segment)
{
    flock(segment->fd, LOCK_UN);
}

int sipc_os_segment_is_current(sipc_os_segment *segment)
{
    struct stat mine;
    if (fstat(segment->fd, &mine) != 0)
        return fail_errno();
    if (mine.st_nlink == 0)
        return 0;
    /* The name may have been unlinked and re-created: compare with what the name leads to now. */
    char path[sizeof "/dev/shm" + SIPC_OS_KEY_MAX + 2];
    snprintf(path, sizeof path, "/dev/shm%s", segment->path);
    struct stat named;
    if (stat(path, &named) != 0)
        return errno == ENOENT ? 0 : fail_errno();
    return named.st_dev == mine.st_dev && named.st_ino == mine.st_ino;
}

int sipc_os_segment_size(sipc_os_segment *segment, uint64_t *size)
{
    struct stat st;
    if (fstat(segment->fd, &st) != 0)
        return fail_errno();
    *size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
    return SIPC_OK;
}

int sipc_os_segment_resize(sipc_os_segment *segment, uint64_t size)
{
    if (size > (uint64_t)INT64_MAX)
        return SIPC_ERR_INVALID_ARGUMENT;
    while (ftruncate(segment->fd, (off_t)size) != 0) {
        if (errno != EINTR)
            return fail_errno();
    }
    return SIPC_OK;
}

int sipc_os_segment_owner(sipc_os_segment *segment, uint32_t *mode, uint32_t *uid)
{
    struct stat st;
    if (fstat(segment->fd, &st) != 0)
        return fail_errno();
    *mode = (uint32_t)(st.st_mode & 0777);
    *uid = (uint32_t)st.st_uid;
    return SIPC_OK;
}

int sipc_os_segment_map(sipc_os_segment *segment, uint64_t size, void **base)
{
    *base = NULL;
    if (size == 0 || size > (uint64_t)SIZE_MAX)
        return SIPC_ERR_INVALID_ARGUMENT;
    int prot = segment->readonly ? PROT_READ : PROT_READ | PROT_WRITE;
    /* Peers prefault the whole segment: a first touch of each page inside send/recv would cost
     * more than the copy itself. Observers map lazily (they read few slots). */
    int flags = MAP_SHARED | (segment->readonly ? 0 : MAP_POPULATE);
    void *p = mmap(NULL, (size_t)size, prot, flags, segment->fd, 0);
    if (p == MAP_FAILED)
        return fail_errno();
    *base = p;
    return SIPC_OK;
}

void sipc_os_segment_unmap(sipc_os_segment *segment, void *base, uint64_t size)
{
    (void)segment;
    if (base != NULL)
        munmap(base, (size_t)size);
}

int sipc_os_segment_unlink(const char *key)
{
    char path[SIPC_OS_KEY_MAX + 2];
    int rc = key_to_path(key, path, sizeof path);
    if (rc != SIPC_OK)
        return rc;
    if (shm_unlink(path) != 0)
        return fail_errno();
    return SIPC_OK;
}

int sipc_os_segment_list(sipc_os_key_visitor visit, void *user)
{
    DIR *dir = opendir("/dev/shm");
    if (dir == NULL)
        return errno == ENOENT ? SIPC_OK : fail_errno();
    const size_t prefix_length = strlen(SIPC_OS_KEY_PREFIX);
    int result = SIPC_OK;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strncmp(entry->d_name, SIPC_OS_KEY_PREFIX, prefix_length) != 0)
            continue;
        if (strlen(entry->d_name) > SIPC_OS_KEY_MAX)
            continue;
        result = visit(entry->d_name, user);
        if (result != 0)
            break;
    }
    closedir(dir);
    return result;
}

/* ---- futex ---- */

int sipc_os_wait(sipc_os_segment *segment, uint32_t index, uint32_t *word, uint32_t expected,
                 int32_t timeout_ms)
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
    int has_next;
    int stopping;
    sipc_os_death_callback callback;
    void *user;
};

static void *watcher_main(void *arg)
{
    sipc_os_watcher *w = arg;
    int pidfd = -1; /* owned by this thread */
    uint32_t token = 0;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        int stopping = w->stopping;
        if (w->has_next) {
            if (pidfd >= 0)
                close(pidfd);
            pidfd = w->next_pidfd;
            token = w->next_token;
            w->has_next = 0;
            w->next_pidfd = -1;
        }
        pthread_mutex_unlock(&w->lock);
        if (stopping)
            break;
        struct pollfd fds[2] = {{w->event_fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
        int n = poll(fds, pidfd >= 0 ? 2 : 1, -1);
        if (n < 0)
            continue; /* EINTR */
        if (fds[0].revents & POLLIN) {
            uint64_t value;
            ssize_t got = read(w->event_fd, &value, sizeof value);
            (void)got;
        }
        if (pidfd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            close(pidfd);
            pidfd = -1;
            w->callback(w->user, token);
        }
    }
    if (pidfd >= 0)
        close(pidfd);
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
    w->event_fd = eventfd(0, EFD_CLOEXEC);
    if (w->event_fd < 0) {
        int rc = fail_errno();
        free(w);
        return rc;
    }
    pthread_mutex_init(&w->lock, NULL);
    /* The thread must not take signals meant for the application's threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&w->thread, NULL, watcher_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        close(w->event_fd);
        pthread_mutex_destroy(&w->lock);
        free(w);
        sipc_os_record_error(err);
        return sipc_os_status_from_error(err);
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
        return fail_errno();
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
    pthread_mutex_unlock(&w->lock);
    watcher_poke(w);
    return SIPC_OK;
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
    /* The lock may have been held by the parent's thread at the fork: read without it. */
    if (w->has_next && w->next_pidfd >= 0)
        close(w->next_pidfd);
    close(w->event_fd);
    free(w);
}

#endif /* SIPC_OS_HAS_PROCESS_WATCHER */

#endif /* !_WIN32 */
