/*
 * nowait.h — channel calls for a thread that must neither wait nor look up another process: the event loop's
 * thread of sipc_async (include/sipc_async.h exports them for a handle). Each reads and writes only the handle's
 * memory and the mapped segment (plus, for a send, the wake-up of a sleeping peer). What needs a process looked up
 * (Linux: /proc/<pid>/task/<pid>/stat, a file) or a wait is left to the handle's native threads. Not exported.
 */
#ifndef SIPC_NOWAIT_H
#define SIPC_NOWAIT_H

#include <stddef.h>

#include "../include/sipc.h"
#include "layout.h"

/* sipc_connect with timeout 0 that never adopts a peer: SIPC_OK if this handle's adopted peer is there (or left
 * messages to receive), SIPC_ERR_TIMEOUT if no peer is there, SIPC_CONNECT_NOW_UNADOPTED if a peer is there that
 * this handle has not adopted yet (a call that may look up its process adopts it: the native connect wait), or
 * CLOSED, CANCELLED, CORRUPT. */
#define SIPC_CONNECT_NOW_UNADOPTED 1
int sipc_channel_connect_now(sipc_channel *channel);

/* sipc_send with timeout 0 that never adopts a peer and never looks at a lossless observer's process:
 * SIPC_ERR_NOT_CONNECTED while this handle has adopted no peer, SIPC_ERR_TIMEOUT when the queue is full or a
 * lossless observer holds it (a send that may wait sees to that observer), else as sipc_send. */
int sipc_channel_send_now(sipc_channel *channel, const void *data, size_t length);

/* sipc_info with the holders' liveness as this handle knows it, without looking a process up: its own role is
 * alive; the adopted peer is alive until a liveness check or the process watcher found it gone (the watcher reports
 * a death at once, an exec within SIPC_OS_TOKEN_POLL_MS; without one a blocked call looks every 100 ms); a holder
 * this handle has not adopted counts as alive while it is attached. */
int sipc_channel_info_known(sipc_channel *channel, sipc_channel_info *info);

/* sipc_observer_info with the liveness of each attached holder from holder_alive(context, ...) (observer.c): for
 * sipc_async_observer_info, whose copying thread learns the deaths from the observer's events. */
int sipc_observer_info_with(sipc_observer *observer, sipc_channel_info *info, sipc_holder_alive_fn holder_alive,
                            void *context);

#endif /* SIPC_NOWAIT_H */
