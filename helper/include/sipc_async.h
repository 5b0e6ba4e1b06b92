/*
 * sipc_async — event-loop friendly wrappers around a channel or an observer.
 *
 * Made for runtimes with one main thread that must never block (Node through koffi): a native thread
 * per channel does the blocking connect/peek/recv, a second one (started on first use) does sends that
 * would block, and a native thread per observer follows its traffic. They report through `notify`,
 * which the main thread answers by calling sipc_async_*_poll and the take functions. Everything here
 * except notify itself answers at once.
 *
 * Notify protocol: `notify(token)` is called from a native thread, at most once until the next poll
 * (news that arrives meanwhile is batched), only while the handle is armed and not stopped. A
 * registered JS callback makes the native thread wait until the main thread ran it, so:
 *   - sipc_async_*_arm(h, 0) and sipc_async_*_stop(h) return how many notify calls are still in
 *     progress; while that is non-zero the main thread must let its event loop run before it joins;
 *   - sipc_async_channel_join and sipc_async_*_destroy join the threads and refuse (SIPC_ERR_BUSY)
 *     while a notify is in progress, so they can never deadlock the main thread.
 * Every function must be called from one and the same thread (the main thread); notify is the only
 * call coming from elsewhere.
 *
 * Receiving is demand driven so that no message leaves the shared queue unless someone wants it:
 * `want` messages are received on request (receive()), or the handle is `flowing` (a listener) and
 * keeps up to a bounded number of messages ready.
 */
#ifndef SIPC_ASYNC_H
#define SIPC_ASYNC_H

#include "sipc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*sipc_async_notify_fn)(uint32_t token);

/* Connect status while the native connect wait is still running. */
#define SIPC_ASYNC_PENDING 1

typedef struct sipc_async_channel sipc_async_channel;
typedef struct sipc_async_observer sipc_async_observer;

typedef struct sipc_async_status {
    int32_t connect_status;  /* SIPC_ASYNC_PENDING, SIPC_OK or the error of the connect wait */
    int32_t recv_status;     /* SIPC_OK while receiving works, else why it ended (PEER_GONE, ...) */
    uint32_t ready_count;    /* received messages waiting for sipc_async_channel_take */
    uint32_t send_results;   /* finished background sends waiting for sipc_async_channel_take_send_results */
    uint64_t ready_bytes;    /* total size of the ready messages */
    uint32_t sends_queued;   /* background sends not finished yet */
    uint32_t notifying;      /* notify calls in progress */
} sipc_async_status;

/* Takes ownership of `channel` (closed by sipc_async_channel_destroy) and starts its native thread,
 * which first waits for the peer in sipc_connect (a peer that sent and left before it looked counts
 * too: its messages are received, then PEER_GONE). On error the channel is NOT taken. */
SIPC_API int sipc_async_channel_start(sipc_channel *channel, sipc_async_notify_fn notify, uint32_t token,
                                      sipc_async_channel **out);
/* Allows (1) or forbids (0) notify calls. Returns the number of notify calls in progress. */
SIPC_API int sipc_async_channel_arm(sipc_async_channel *h, int armed);
/* sipc_async_channel_demand flags */
#define SIPC_ASYNC_FLOWING 0x1u /* keep messages coming without explicit requests */
#define SIPC_ASYNC_PAUSED 0x2u  /* the main thread receives by itself (take_now): the thread stays off the channel */
/* Sets the flags; want_delta changes the number of requested messages (clamped at 0). */
SIPC_API int sipc_async_channel_demand(sipc_async_channel *h, uint32_t flags, int32_t want_delta);
/* After the peer went away (recv_status PEER_GONE) or a failed connect: waits for the next peer again.
 * SIPC_OK and nothing to do while connected. */
SIPC_API int sipc_async_channel_reconnect(sipc_async_channel *h);
/* Snapshot of the handle; re-allows one notify. */
SIPC_API int sipc_async_channel_poll(sipc_async_channel *h, sipc_async_status *status);
/* Moves whole ready messages, oldest first, into `buffer` back to back and their sizes into `lengths`,
 * as many as fit in both. *count is how many; each taken message settles one requested message.
 * SIPC_ERR_BUFFER_TOO_SMALL if not even the first fits (nothing is taken). */
SIPC_API int sipc_async_channel_take(sipc_async_channel *h, void *buffer, size_t capacity, uint32_t *lengths,
                                     uint32_t max_count, uint32_t *count);
/* Upper bound of take_now's spin. */
#define SIPC_ASYNC_MAX_SPIN_US 1000u
/* Main-thread fast path for busy channels: takes the ready messages and, behind them, messages straight
 * from the channel (no thread hop, no notify), spinning up to spin_us for the first one. Never waits
 * longer; receives nothing while the channel is not connected or receiving has ended. Same buffer rules
 * as take, except that a message that does not fit is left for later (not an error). */
SIPC_API int sipc_async_channel_take_now(sipc_async_channel *h, void *buffer, size_t capacity, uint32_t *lengths,
                                         uint32_t max_count, uint32_t *count, uint32_t spin_us);
/* Copies the message and queues it for the native sender thread, behind every earlier queued send.
 * timeout_ms counts from now. The outcome comes back, in order, through take_send_results. */
SIPC_API int sipc_async_channel_send(sipc_async_channel *h, const void *data, size_t length, int32_t timeout_ms);
SIPC_API int sipc_async_channel_take_send_results(sipc_async_channel *h, int32_t *statuses, uint32_t max_count,
                                                  uint32_t *count);
/* The underlying channel, for non-blocking calls on the main thread (send with timeout 0, info). */
SIPC_API sipc_channel *sipc_async_channel_handle(sipc_async_channel *h);
/* Forbids notify, cancels the blocking calls and wakes the threads. Returns notify calls in progress. */
SIPC_API int sipc_async_channel_stop(sipc_async_channel *h);
/* Stops (if needed) and joins the threads; poll and the take functions still work afterwards (the outcome
 * of every send that finished is in take_send_results). SIPC_ERR_BUSY (nothing done) while a notify call
 * is in progress. */
SIPC_API int sipc_async_channel_join(sipc_async_channel *h);
/* Joins (see above, same BUSY rule), closes the channel, frees everything (queued messages are dropped). */
SIPC_API int sipc_async_channel_destroy(sipc_async_channel *h);

/* ---- observers ---- */
/* Per observed message, sipc_async_observer_take writes these 6 values into `fields`. */
#define SIPC_ASYNC_OBSERVED_FIELDS 6 /* direction, sequence, timestamp_ns, length, copied, missed */

typedef struct sipc_async_observer_status {
    int32_t status;         /* SIPC_OK while observing works, else why it ended (NOT_FOUND: removed) */
    uint32_t ready_count;
    uint64_t ready_bytes;   /* copied bytes of the ready messages */
    uint32_t notifying;
    uint32_t reserved;
} sipc_async_observer_status;

/* Takes ownership of `observer`; copies at most `capacity` bytes of each message. */
SIPC_API int sipc_async_observer_start(sipc_observer *observer, uint32_t capacity, sipc_async_notify_fn notify,
                                       uint32_t token, sipc_async_observer **out);
SIPC_API int sipc_async_observer_arm(sipc_async_observer *h, int armed);
SIPC_API int sipc_async_observer_poll(sipc_async_observer *h, sipc_async_observer_status *status);
SIPC_API int sipc_async_observer_take(sipc_async_observer *h, void *buffer, size_t capacity, uint64_t *fields,
                                      uint32_t max_count, uint32_t *count);
SIPC_API sipc_observer *sipc_async_observer_handle(sipc_async_observer *h);
SIPC_API int sipc_async_observer_stop(sipc_async_observer *h);
SIPC_API int sipc_async_observer_destroy(sipc_async_observer *h);

#ifdef __cplusplus
}
#endif
#endif /* SIPC_ASYNC_H */
