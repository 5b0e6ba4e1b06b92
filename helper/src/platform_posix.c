/*
 * platform_posix.c — the portable POSIX part of platform.h (Linux today, macOS later): errno
 * mapping, clocks, threads, mutexes and condition variables, the fork generation and the user id, and what the
 * segment implementations do alike through a descriptor (size, owner, map, lock poll, unlink). The parts that
 * differ per OS are in platform_posix_*.c and platform_darwin_*.c (see platform_posix.h).
 */
#if !defined(_WIN32)

#include "platform_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

int posix_fail_errno(void)
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

static uint32_t fork_generation; /* atomic */
static pthread_once_t fork_hook_once = PTHREAD_ONCE_INIT;
/* Held across fork() (taken in the prepare handler), so a child never inherits it locked. */
static pthread_mutex_t process_lock = PTHREAD_MUTEX_INITIALIZER;

static void before_fork(void)
{
    pthread_mutex_lock(&process_lock);
}

static void after_fork_in_parent(void)
{
    pthread_mutex_unlock(&process_lock);
}

static void after_fork_in_child(void)
{
    __atomic_add_fetch(&fork_generation, 1u, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&process_lock);
}

static void install_fork_hook(void)
{
    pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

uint32_t sipc_os_fork_generation(void)
{
    pthread_once(&fork_hook_once, install_fork_hook);
    return __atomic_load_n(&fork_generation, __ATOMIC_RELAXED);
}

/* Alive: the pid exists with the start time recorded for it (sipc_os_process_start_time, per OS), or
 * exists but cannot be examined (another user's); a reused pid or a zombie is not. */
int sipc_os_process_alive(const sipc_os_process *process)
{
    uint64_t start_time = 0;
    int rc = sipc_os_process_start_time(process->pid, &start_time);
    if (rc == SIPC_ERR_NOT_FOUND)
        return 0;
    if (rc != SIPC_OK)
        return 1;                             /* exists but cannot be examined */
    return start_time == process->start_time; /* else the pid was reused */
}

void sipc_os_process_lock(void)
{
    pthread_once(&fork_hook_once, install_fork_hook);
    pthread_mutex_lock(&process_lock);
}

void sipc_os_process_unlock(void)
{
    pthread_mutex_unlock(&process_lock);
}

uint32_t sipc_os_current_uid(void)
{
    return (uint32_t)getuid();
}

/* ---- mutexes ---- */

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

int sipc_os_mutex_trylock(sipc_os_mutex *mutex)
{
    return pthread_mutex_trylock(mutex) == 0;
}

void sipc_os_mutex_destroy(sipc_os_mutex *mutex)
{
    pthread_mutex_destroy(mutex);
}

/* ---- condition variables ---- */

int sipc_os_cond_init(sipc_os_cond *cond)
{
    int rc = pthread_cond_init(cond, NULL);
    if (rc != 0) {
        sipc_os_record_error(rc);
        return sipc_os_status_from_error(rc);
    }
    return SIPC_OK;
}

void sipc_os_cond_wait(sipc_os_cond *cond, sipc_os_mutex *mutex)
{
    pthread_cond_wait(cond, mutex);
}

void sipc_os_cond_broadcast(sipc_os_cond *cond)
{
    pthread_cond_broadcast(cond);
}

void sipc_os_cond_destroy(sipc_os_cond *cond)
{
    pthread_cond_destroy(cond);
}

/* ---- threads ---- */

int sipc_os_thread_create(sipc_os_thread *thread, sipc_os_thread_main main, void *arg)
{
    int rc = pthread_create(thread, NULL, main, arg);
    if (rc != 0) {
        sipc_os_record_error(rc);
        return sipc_os_status_from_error(rc);
    }
    return SIPC_OK;
}

void sipc_os_thread_join(sipc_os_thread *thread)
{
    pthread_join(*thread, NULL);
}

void sipc_os_thread_join_cancelling_io(sipc_os_thread *thread)
{
    pthread_join(*thread, NULL); /* POSIX readers poll a wake-up pipe: nothing to cancel */
}

void sipc_os_thread_detach(sipc_os_thread *thread)
{
    pthread_detach(*thread);
}

void sipc_os_thread_yield(void)
{
    sched_yield();
}

int posix_thread_create_quiet(pthread_t *thread, void *(*main)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits this mask */
    int err = pthread_create(thread, NULL, main, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        sipc_os_record_error(err);
        return sipc_os_status_from_error(err);
    }
    return SIPC_OK;
}

/* ---- shared-memory objects by descriptor ---- */

int posix_shm_path(const char *key, char *path, size_t size)
{
    size_t length = strlen(key);
    if (length == 0 || length > SIPC_OS_KEY_MAX || length + 2 > size || strchr(key, '/') != NULL)
        return SIPC_ERR_INVALID_NAME;
    path[0] = '/';
    memcpy(path + 1, key, length + 1);
    return SIPC_OK;
}

int posix_shm_unlink_key(const char *key)
{
    char path[SIPC_OS_KEY_MAX + 2];
    int rc = posix_shm_path(key, path, sizeof path);
    if (rc != SIPC_OK)
        return rc;
    if (shm_unlink(path) != 0)
        return posix_fail_errno();
    return SIPC_OK;
}

int posix_fd_size(int fd, uint64_t *size)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return posix_fail_errno();
    *size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
    return SIPC_OK;
}

int posix_fd_truncate(int fd, uint64_t size)
{
    if (size > (uint64_t)INT64_MAX)
        return SIPC_ERR_INVALID_ARGUMENT;
    while (ftruncate(fd, (off_t)size) != 0) {
        if (errno != EINTR)
            return posix_fail_errno();
    }
    return SIPC_OK;
}

int posix_fd_owner(int fd, uint32_t *mode, uint32_t *uid)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return posix_fail_errno();
    *mode = (uint32_t)(st.st_mode & 0777);
    *uid = (uint32_t)st.st_uid;
    return SIPC_OK;
}

int posix_fd_map(int fd, int readonly, int extra_flags, uint64_t size, void **base)
{
    *base = NULL;
    if (size == 0 || size > (uint64_t)SIZE_MAX)
        return SIPC_ERR_INVALID_ARGUMENT;
    int prot = readonly ? PROT_READ : PROT_READ | PROT_WRITE;
    void *p = mmap(NULL, (size_t)size, prot, MAP_SHARED | extra_flags, fd, 0);
    if (p == MAP_FAILED)
        return posix_fail_errno();
    *base = p;
    return SIPC_OK;
}

void posix_unmap(void *base, uint64_t size)
{
    if (base != NULL)
        munmap(base, (size_t)size);
}

/* ---- wake-up pipe ---- */

int sipc_os_wake_pipe_open(sipc_os_wake_pipe *out)
{
    int fds[2];
#if defined(__linux__)
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
        return posix_fail_errno();
#else
    /* No pipe2 (macOS): a thread that forks and execs between these calls may pass the ends on; they are only ever
     * one byte of wake-up, never data. */
    if (pipe(fds) != 0)
        return posix_fail_errno();
    for (int i = 0; i < 2; i++) {
        if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[i], F_SETFL, O_NONBLOCK) != 0) {
            int rc = posix_fail_errno();
            close(fds[0]);
            close(fds[1]);
            return rc;
        }
    }
#endif
    out->read_fd = fds[0];
    out->write_fd = fds[1];
    return SIPC_OK;
}

void sipc_os_wake_pipe_signal(const sipc_os_wake_pipe *wake)
{
    const char byte = 1;
    while (write(wake->write_fd, &byte, 1) < 0 && errno == EINTR) {
    }
    /* Any other failure is EAGAIN (the pipe is full, so readable) or a closed pipe (nobody to wake). */
}

void sipc_os_wake_pipe_drain(const sipc_os_wake_pipe *wake)
{
    char bytes[64];
    for (;;) {
        ssize_t got = read(wake->read_fd, bytes, sizeof bytes);
        if (got == (ssize_t)sizeof bytes || (got < 0 && errno == EINTR))
            continue;
        return; /* short read, EAGAIN (empty), or the loop's own reader took the bytes */
    }
}

void sipc_os_wake_pipe_close(sipc_os_wake_pipe *wake)
{
    close(wake->read_fd);
    close(wake->write_fd);
    wake->read_fd = -1;
    wake->write_fd = -1;
}

#endif
