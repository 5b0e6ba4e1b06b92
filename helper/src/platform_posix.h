/*
 * platform_posix.h — what the POSIX implementation of platform.h shares between its files. Each file
 * holds what one operating system may do differently, so a port swaps only the files that differ:
 *   platform_posix.c          portable POSIX: errno mapping, clocks, the process-local mutex, fork
 *                             generation, user id, library threads that take no signals, and what
 *                             every segment implementation does through a descriptor (below)
 *   platform_posix_shm.c      segments: shm_open under /dev/shm, flock for the open-time lock
 *                             (platform_darwin_shm.c: macOS's shm namespace, listing files in /tmp)
 *   platform_posix_futex.c    waiting on a wait word (Linux futex; macOS would use os_sync/ulock)
 *   platform_posix_process.c  process identity from /proc and the pidfd process watcher (Linux;
 *                             macOS would use proc_pidinfo and kqueue)
 *   platform_posix_monitor.c  the key monitor: inotify on /dev/shm (Linux; macOS would only time out)
 */
#ifndef SIPC_PLATFORM_POSIX_H
#define SIPC_PLATFORM_POSIX_H

#if !defined(_WIN32)

#include "platform.h"

#include <pthread.h>
#include <stddef.h>

/* Records errno and returns its status. */
int posix_fail_errno(void);

/* Starts a library thread that takes none of the signals meant for the application's threads (every signal
 * blocked in it): SIPC_OK, or the error, recorded. */
int posix_thread_create_quiet(pthread_t *thread, void *(*main)(void *), void *arg);

/* ---- shared-memory objects by descriptor: what every POSIX segment implementation does alike ---- */

/* "/" + key, the name shm_open takes; SIPC_ERR_INVALID_NAME for a key no segment can have. */
int posix_shm_path(const char *key, char *path, size_t size);
/* shm_unlink of the key's object. */
int posix_shm_unlink_key(const char *key);
int posix_fd_size(int fd, uint64_t *size);
/* ftruncate to `size`, retried on EINTR. */
int posix_fd_truncate(int fd, uint64_t size);
/* The permission bits and the owner's uid. */
int posix_fd_owner(int fd, uint32_t *mode, uint32_t *uid);
/* A shared mapping of `size` bytes of fd, read-only or read-write, with extra mmap flags (MAP_POPULATE). */
int posix_fd_map(int fd, int readonly, int extra_flags, uint64_t size, void **base);
void posix_unmap(void *base, uint64_t size);

#endif /* !_WIN32 */

#endif /* SIPC_PLATFORM_POSIX_H */
