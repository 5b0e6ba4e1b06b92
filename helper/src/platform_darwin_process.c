/*
 * platform_darwin_process.c — process identity (pid + start time from proc_pidinfo) and the process
 * watcher (kqueue EVFILT_PROC/NOTE_EXIT on a thread): macOS. There are no liveness tokens (see
 * platform_darwin_shm.c), so a process that exec()s is not told from the one that attached.
 */
#if defined(__APPLE__)

#include "platform_posix.h"

#include <errno.h>
#include <limits.h>
#include <libproc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/event.h>
#include <sys/proc.h>
#include <sys/proc_info.h>
#include <unistd.h>

/* ---- processes ---- */

/* 0 and the start time (µs since the epoch) and whether it is a zombie, or -errno. */
static int read_bsd_info(int64_t pid, uint64_t *start_time, int *zombie)
{
    struct proc_bsdinfo info;
    int got = proc_pidinfo((int)pid, PROC_PIDTBSDINFO, 0, &info, (int)sizeof info);
    if (got <= 0)
        return errno != 0 ? -errno : -ESRCH;
    if ((size_t)got < sizeof info)
        return -EIO;
    *start_time = (uint64_t)info.pbi_start_tvsec * 1000000u + (uint64_t)info.pbi_start_tvusec;
    *zombie = info.pbi_status == SZOMB;
    return 0;
}

void sipc_os_process_describe(int64_t pid, sipc_process_info *info)
{
    if (pid > INT_MAX) {
        info->state = SIPC_PROCESS_GONE;
        return;
    }
    struct proc_bsdinfo bsd;
    errno = 0;
    int got = proc_pidinfo((int)pid, PROC_PIDTBSDINFO, 0, &bsd, (int)sizeof bsd);
    if (got <= 0 || (size_t)got < sizeof bsd) {
        info->state = kill((pid_t)pid, 0) != 0 && errno == ESRCH ? SIPC_PROCESS_GONE : SIPC_PROCESS_UNKNOWN;
        return;
    }
    info->state = bsd.pbi_status == SZOMB   ? SIPC_PROCESS_GONE
                  : bsd.pbi_status == SSTOP ? SIPC_PROCESS_STOPPED
                                            : SIPC_PROCESS_RUNNING;
    info->traced = (bsd.pbi_flags & PROC_FLAG_TRACED) != 0;
    const char *name = bsd.pbi_name[0] != '\0' ? bsd.pbi_name : bsd.pbi_comm;
    size_t length = strnlen(name, MAXCOMLEN * 2);
    if (length > SIPC_PROCESS_NAME_MAX)
        length = SIPC_PROCESS_NAME_MAX;
    memcpy(info->name, name, length);
    info->name[length] = '\0';
}

int sipc_os_process_self(sipc_os_process *out)
{
    out->pid = (int64_t)getpid();
    int zombie = 0;
    int rc = read_bsd_info(out->pid, &out->start_time, &zombie);
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
    int zombie = 0;
    int rc = read_bsd_info(pid, start_time, &zombie);
    if (rc == -ESRCH)
        return SIPC_ERR_NOT_FOUND;
    if (rc < 0) {
        sipc_os_record_error(-rc);
        return SIPC_ERR_SYSTEM; /* exists but cannot be examined (another user's) */
    }
    return zombie ? SIPC_ERR_NOT_FOUND : SIPC_OK; /* a zombie will never touch the channel again */
}

/* ---- process watcher (kqueue on a thread) ---- */

#if defined(SIPC_OS_HAS_PROCESS_WATCHER)

/* The EVFILT_USER events that wake the thread: to stop, and to look at a token from now on. */
#define STOP_EVENT_IDENT 1
#define TOKEN_EVENT_IDENT 2

struct sipc_os_watcher {
    pthread_t thread;
    int kq;
    pthread_mutex_t lock;
    /* guarded by lock: the watched process; its kevent carries `generation` as udata so that an exit
     * of a process watched before the latest watch() is never reported under the new token */
    pid_t pid; /* 0: none */
    uint32_t token;
    uintptr_t generation;
    /* the watched process's liveness token, looked at every SIPC_OS_TOKEN_POLL_MS (NULL: none) */
    sipc_os_segment *token_segment;
    uint32_t token_index;
    int stopping;
    sipc_os_death_callback callback;
    void *user;
};

static void *watcher_main(void *arg)
{
    sipc_os_watcher *w = arg;
    const struct timespec token_poll = {0, (long)SIPC_OS_TOKEN_POLL_MS * 1000000L};
    for (;;) {
        pthread_mutex_lock(&w->lock);
        int with_token = w->pid != 0 && w->token_segment != NULL;
        pthread_mutex_unlock(&w->lock);
        struct kevent event;
        int n = kevent(w->kq, NULL, 0, &event, 1, with_token ? &token_poll : NULL);
        if (n < 0)
            continue; /* EINTR */
        if (n == 0) {
            /* The process exec()ed another program (its token went with the close-on-exec descriptor): it is not
             * the one that attached. Looked at under the lock, so a watch() meanwhile is never reported. */
            pthread_mutex_lock(&w->lock);
            int gone = w->pid != 0 && w->token_segment != NULL && !w->stopping &&
                       sipc_os_segment_token_held(w->token_segment, w->token_index) == 0;
            uint32_t token = w->token;
            if (gone) {
                struct kevent old;
                EV_SET(&old, (uintptr_t)w->pid, EVFILT_PROC, EV_DELETE, 0, 0, NULL);
                kevent(w->kq, &old, 1, NULL, 0, NULL);
                w->pid = 0;
                w->token_segment = NULL;
            }
            pthread_mutex_unlock(&w->lock);
            if (gone)
                w->callback(w->user, token);
            continue;
        }
        if (event.filter == EVFILT_USER && event.ident == TOKEN_EVENT_IDENT)
            continue; /* a token to look at from now on: the loop above takes it */
        pthread_mutex_lock(&w->lock);
        int stopping = w->stopping;
        int report = !stopping && event.filter == EVFILT_PROC && (event.fflags & NOTE_EXIT) &&
                     (uintptr_t)event.udata == w->generation && w->pid != 0;
        uint32_t token = w->token;
        if (report)
            w->pid = 0; /* EV_ONESHOT: the registration is gone */
        pthread_mutex_unlock(&w->lock);
        if (stopping)
            break;
        if (report)
            w->callback(w->user, token);
    }
    return NULL;
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
    w->kq = kqueue(); /* a kqueue is not inherited by fork() children: no close-on-exec needed */
    if (w->kq < 0) {
        int rc = posix_fail_errno();
        free(w);
        return rc;
    }
    struct kevent wakes[2];
    EV_SET(&wakes[0], STOP_EVENT_IDENT, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, NULL);
    EV_SET(&wakes[1], TOKEN_EVENT_IDENT, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, NULL);
    if (kevent(w->kq, wakes, 2, NULL, 0, NULL) != 0) {
        int rc = posix_fail_errno();
        close(w->kq);
        free(w);
        return rc;
    }
    pthread_mutex_init(&w->lock, NULL);
    int rc = posix_thread_create_quiet(&w->thread, watcher_main, w);
    if (rc != SIPC_OK) {
        close(w->kq);
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
    pthread_mutex_lock(&w->lock);
    if (w->pid != 0) {
        struct kevent old;
        EV_SET(&old, (uintptr_t)w->pid, EVFILT_PROC, EV_DELETE, 0, 0, NULL);
        kevent(w->kq, &old, 1, NULL, 0, NULL); /* ENOENT when it already fired: nothing to undo */
        w->pid = 0;
    }
    w->generation++;
    struct kevent watch;
    EV_SET(&watch, (uintptr_t)process->pid, EVFILT_PROC, EV_ADD | EV_ONESHOT, NOTE_EXIT, 0, (void *)w->generation);
    int rc = SIPC_OK;
    if (kevent(w->kq, &watch, 1, NULL, 0, NULL) != 0)
        rc = errno == ESRCH ? SIPC_ERR_NOT_FOUND : posix_fail_errno();
    /* The pid may have been reused between the caller's check and the registration: what is now
     * watched is whatever process has the pid, so check that it is still the one we mean. */
    if (rc == SIPC_OK && !sipc_os_process_alive(process)) {
        EV_SET(&watch, (uintptr_t)process->pid, EVFILT_PROC, EV_DELETE, 0, 0, NULL);
        kevent(w->kq, &watch, 1, NULL, 0, NULL);
        rc = SIPC_ERR_NOT_FOUND;
    }
    if (rc == SIPC_OK) {
        w->pid = (pid_t)process->pid;
        w->token = token;
    }
    w->token_segment = NULL; /* a new process: its token, if any, comes with watch_token */
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void sipc_os_watcher_watch_token(sipc_os_watcher *w, sipc_os_segment *segment, uint32_t token_index)
{
    pthread_mutex_lock(&w->lock);
    w->token_segment = segment;
    w->token_index = token_index;
    pthread_mutex_unlock(&w->lock);
    struct kevent wake;
    EV_SET(&wake, TOKEN_EVENT_IDENT, EVFILT_USER, 0, NOTE_TRIGGER, 0, NULL);
    kevent(w->kq, &wake, 1, NULL, 0, NULL);
}

void sipc_os_watcher_stop(sipc_os_watcher *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_mutex_unlock(&w->lock);
    struct kevent stop;
    EV_SET(&stop, STOP_EVENT_IDENT, EVFILT_USER, 0, NOTE_TRIGGER, 0, NULL);
    kevent(w->kq, &stop, 1, NULL, 0, NULL);
    pthread_join(w->thread, NULL);
    close(w->kq);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

void sipc_os_watcher_abandon(sipc_os_watcher *w)
{
    /* The child did not inherit the kqueue: its descriptor number may already name another file of
     * the child, so it is not closed. */
    free(w);
}

#endif /* SIPC_OS_HAS_PROCESS_WATCHER */

#endif
