/*
 * platform_posix.h — what the POSIX implementation of platform.h shares between its files. Each file
 * holds what one operating system may do differently, so a port swaps only the files that differ:
 *   platform_posix.c          portable POSIX: errno mapping, clocks, the process-local mutex, fork
 *                             generation, user id
 *   platform_posix_shm.c      segments: shm_open under /dev/shm, flock for the open-time lock
 *   platform_posix_futex.c    waiting on a wait word (Linux futex; macOS would use os_sync/ulock)
 *   platform_posix_process.c  process identity from /proc and the pidfd process watcher (Linux;
 *                             macOS would use proc_pidinfo and kqueue)
 *   platform_posix_monitor.c  the key monitor: inotify on /dev/shm (Linux; macOS would only time out)
 */
#ifndef SIPC_PLATFORM_POSIX_H
#define SIPC_PLATFORM_POSIX_H

#if !defined(_WIN32)

#include "platform.h"

/* Records errno and returns its status. */
int posix_fail_errno(void);

#endif /* !_WIN32 */

#endif /* SIPC_PLATFORM_POSIX_H */
