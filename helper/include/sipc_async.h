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
 * (news that arrives meanwhile is batched), only while the handle is armed and not stopped. Where the
 * platform has one (POSIX), pass sipc_async_relay_notify with a relay's token (end of this file): the
 * notification then waits in the relay and its descriptor becomes readable, so the event loop learns of it
 * on its own thread, and the notifying thread never waits for the main thread nor shares a lock with it.
 * A callback that a runtime relays to its main thread itself (koffi's registered JS callbacks, through an
 * N-API thread-safe function) makes the native thread wait until the main thread ran it, so:
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
 * timeout_ms counts from now: a send whose time ran out while it queued is SIPC_ERR_TIMEOUT; timeout 0 tries once
 * when its turn comes (SIPC_ERR_NOT_CONNECTED while no peer). The outcome comes back, in order, through
 * take_send_results. */
SIPC_API int sipc_async_channel_send(sipc_async_channel *h, const void *data, size_t length, int32_t timeout_ms);
SIPC_API int sipc_async_channel_take_send_results(sipc_async_channel *h, int32_t *statuses, uint32_t max_count,
                                                  uint32_t *count);
/* The underlying channel (its role and maximum message size). */
SIPC_API sipc_channel *sipc_async_channel_handle(sipc_async_channel *h);

/* Calls for the main thread that neither wait nor look up another process (Linux reads a file under /proc for
 * that): what needs a look-up is left to the native threads, which always make it.
 * send_now: sipc_send with timeout 0 that does not adopt a peer (SIPC_ERR_NOT_CONNECTED until the native connect
 * wait adopted one) and does not look at a lossless observer that holds the queue (SIPC_ERR_TIMEOUT, as for a full
 * queue): queue the message with sipc_async_channel_send instead, which does both.
 * connect_now: SIPC_OK if the adopted peer is there (or left messages to receive), SIPC_ERR_TIMEOUT if no peer is
 * there, SIPC_ASYNC_PENDING if a peer is there that the native connect wait is about to adopt (its outcome comes as
 * connect_status), or CLOSED, CANCELLED, CORRUPT.
 * info: sipc_info with the holders' liveness as the native side last established it: the adopted peer is alive
 * until the process watcher or a liveness check found it gone (a death at once, an exec within 250 ms); a role
 * this handle has not adopted counts as alive while attached. sipc_stat looks every holder up. */
SIPC_API int sipc_async_channel_send_now(sipc_async_channel *h, const void *data, size_t length);
SIPC_API int sipc_async_channel_connect_now(sipc_async_channel *h);
SIPC_API int sipc_async_channel_info(sipc_async_channel *h, sipc_channel_info *info);
/* Forbids notify, cancels the blocking calls and wakes the threads. Returns notify calls in progress. */
SIPC_API int sipc_async_channel_stop(sipc_async_channel *h);
/* Stops (if needed) and joins the threads; poll and the take functions still work afterwards (the outcome
 * of every send that finished is in take_send_results). SIPC_ERR_BUSY (nothing done) while a notify call
 * is in progress. */
SIPC_API int sipc_async_channel_join(sipc_async_channel *h);
/* Joins (see above, same BUSY rule), closes the channel, frees everything (queued messages are dropped). */
SIPC_API int sipc_async_channel_destroy(sipc_async_channel *h);
/* sipc_async_channel_destroy closing with sipc_close_ex(channel, close_timeout_ms) (sipc_async_channel_destroy:
 * SIPC_DEFAULT_LOCK_TIMEOUT_MS); below SIPC_INFINITE: SIPC_ERR_INVALID_ARGUMENT, nothing done. A binding that
 * destroys its handles at process exit uses SIPC_EXIT_LOCK_TIMEOUT_MS, as libsipc's own exit handler does. */
SIPC_API int sipc_async_channel_destroy_ex(sipc_async_channel *h, int32_t close_timeout_ms);

/* ---- observers ---- */

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
/* Moves ready messages, oldest first, into `buffer` back to back (their copied bytes) and their descriptions
 * into `messages` (struct_size is set to sizeof(sipc_observed_message)), as many as fit in both. */
SIPC_API int sipc_async_observer_take(sipc_async_observer *h, void *buffer, size_t capacity,
                                      sipc_observed_message *messages, uint32_t max_count, uint32_t *count);
SIPC_API sipc_observer *sipc_async_observer_handle(sipc_async_observer *h);
/* sipc_observer_info for the main thread, looking up no process: a holder is alive unless the observer's events
 * (the observer is opened with SIPC_OBSERVE_EVENTS) reported its session dead; its copying thread looks at the
 * holders every 100 ms and learns the events as it copies, ahead of the main thread's take. Without events, or
 * before the first look, an attached holder counts as alive. */
SIPC_API int sipc_async_observer_info(sipc_async_observer *h, sipc_channel_info *info);
SIPC_API int sipc_async_observer_stop(sipc_async_observer *h);
SIPC_API int sipc_async_observer_destroy(sipc_async_observer *h);
/* sipc_async_observer_destroy that waits at most join_timeout_ms (SIPC_INFINITE: no bound; below it:
 * SIPC_ERR_INVALID_ARGUMENT) for its stopped threads to end: SIPC_ERR_TIMEOUT, nothing freed, if they did not (call
 * again, or leave the handle to the process's end). Cancelled, the threads end within one sleep of the observer's
 * (its copier looks at the cancel between every two looks at the channel, and sleeps at most 100 ms, woken at once
 * where it may write to the segment); they wait for no other process, and closing the observer takes no lock. A
 * binding that destroys its handles at process exit passes SIPC_EXIT_LOCK_TIMEOUT_MS. */
SIPC_API int sipc_async_observer_destroy_ex(sipc_async_observer *h, int32_t join_timeout_ms);

/* ---- one-shot calls: a call that may wait or touch the file system, on a thread of its own ----
 * The thread makes the call, keeps its outcome and calls notify(token) once (while armed); the main
 * thread then reads the outcome (poll, take_channel/take_observer, entry) and releases the call. A call
 * cannot be cancelled: releasing it before it finished only discards the outcome (a channel or observer
 * it opened is then closed by whoever drops the last reference). Every function here answers at once;
 * release never waits for the thread. */
typedef struct sipc_async_call sipc_async_call;

typedef struct sipc_async_call_status {
    int32_t status;    /* SIPC_ASYNC_PENDING while the call runs, then its status */
    uint32_t entries;  /* once done: entries for sipc_async_call_entry (list: one per entry; stat: 1) */
    uint32_t notifying;
    int32_t os_error;  /* once failed: sipc_last_os_error() of the call's thread (0 if none) */
} sipc_async_call_status;

/* sipc_open / sipc_observe / sipc_stat / sipc_remove on the call's thread. An invalid name is refused at
 * once (SIPC_ERR_INVALID_NAME, no call made). */
SIPC_API int sipc_async_open(const char *name, const sipc_options *options, sipc_async_notify_fn notify,
                             uint32_t token, sipc_async_call **out);
SIPC_API int sipc_async_observe(const char *name, sipc_async_notify_fn notify, uint32_t token,
                                sipc_async_call **out);
/* sipc_observe_ex on the call's thread (options: NULL, or struct_size exactly sizeof(sipc_observe_options)). */
SIPC_API int sipc_async_observe_ex(const char *name, const sipc_observe_options *options, sipc_async_notify_fn notify,
                                   uint32_t token, sipc_async_call **out);
SIPC_API int sipc_async_stat(const char *name, sipc_async_notify_fn notify, uint32_t token, sipc_async_call **out);
/* sipc_stat_ex on the call's thread (timeout_ms below SIPC_INFINITE: SIPC_ERR_INVALID_ARGUMENT at once). */
SIPC_API int sipc_async_stat_ex(const char *name, int32_t timeout_ms, sipc_async_notify_fn notify, uint32_t token,
                                sipc_async_call **out);
SIPC_API int sipc_async_remove(const char *name, int force, sipc_async_notify_fn notify, uint32_t token,
                               sipc_async_call **out);
/* sipc_list_entries (without the entries still being created), then sipc_stat of each usable entry: an
 * entry whose stat fails becomes unusable with that status; one that vanished meanwhile is dropped. */
SIPC_API int sipc_async_list(sipc_async_notify_fn notify, uint32_t token, sipc_async_call **out);
/* Stops `h` now, then on the call's thread waits until its notify calls in progress are done, joins its
 * threads, closes the channel (or observer) and frees `h`; the call's status is the close's. `h` must not
 * be used once this returned SIPC_OK. */
SIPC_API int sipc_async_channel_close(sipc_async_channel *h, sipc_async_notify_fn notify, uint32_t token,
                                      sipc_async_call **out);
SIPC_API int sipc_async_observer_close(sipc_async_observer *h, sipc_async_notify_fn notify, uint32_t token,
                                       sipc_async_call **out);
/* sipc_process_describe on the call's thread: it reads the OS's record of another process (Linux: three small
 * files under /proc/<pid>), which a runtime whose main thread must never touch the file system keeps off it.
 * pid <= 0: SIPC_ERR_INVALID_ARGUMENT at once (no call made). Read the outcome with sipc_async_call_process_info. */
SIPC_API int sipc_async_process_describe(int64_t pid, sipc_async_notify_fn notify, uint32_t token,
                                         sipc_async_call **out);
/* Snapshot of the call; re-allows one notify. */
SIPC_API int sipc_async_call_poll(sipc_async_call *c, sipc_async_call_status *status);
/* The channel (observer) a finished open (observe) made; the caller owns it from now on. SIPC_ERR_BUSY
 * while the call runs, its status if it failed. */
SIPC_API int sipc_async_call_take_channel(sipc_async_call *c, sipc_channel **out);
SIPC_API int sipc_async_call_take_observer(sipc_async_call *c, sipc_observer **out);
/* Entry `index` of a finished list or stat: *status is SIPC_OK (info filled) or why the entry is unusable
 * (only info->name is set: the channel's name or, for an object that is no usable channel, its name
 * without the "sipc." prefix). info->struct_size must be set; it is kept. */
SIPC_API int sipc_async_call_entry(sipc_async_call *c, uint32_t index, sipc_channel_info *info, int32_t *status);
/* The outcome of a finished sipc_async_process_describe (info->struct_size must be set; it is kept). SIPC_ERR_BUSY
 * while the call runs; SIPC_ERR_INVALID_ARGUMENT for another kind of call. */
SIPC_API int sipc_async_call_process_info(sipc_async_call *c, sipc_process_info *info);
/* The detail sentence of a finished call: index -1 for the call itself (sipc_last_error_message() of its
 * thread after it failed), else of entry `index` (why it is unusable). "" if none; NULL while the call runs
 * or for an index out of range. Lives as long as the call. */
SIPC_API const char *sipc_async_call_detail(sipc_async_call *c, int32_t index);
/* A finished channel close: the outcomes (in send order) of the background sends that finished before
 * its threads stopped, as sipc_async_channel_take_send_results gives them. */
SIPC_API int sipc_async_call_take_send_results(sipc_async_call *c, int32_t *statuses, uint32_t max_count,
                                               uint32_t *count);
/* Allows (1) or forbids (0) the notify call. Returns the number of notify calls in progress. */
SIPC_API int sipc_async_call_arm(sipc_async_call *c, int armed);
/* The main thread is done with the call (no notify after this). Returns notify calls in progress. */
SIPC_API int sipc_async_call_release(sipc_async_call *c);

/* ---- watching the channels of this machine ----
 * A thread that calls notify(token) when the channels listed by sipc_list_entries change: an entry
 * appears, vanishes or becomes (un)usable, or a channel's state, peers or connection count change.
 * Entries that appear or vanish are seen at once where the OS reports them (inotify on Linux);
 * everything else is compared every interval_ms (a listing and a stat per entry, on the watch's thread).
 * Changes that come before the next poll share one notify call. A caller that polled after a notify is
 * notified once more when the changes settle, so that a listing it took between two of the watch's
 * looks (which may show a channel that came and went) is followed by one of the settled state. */
typedef struct sipc_async_watch sipc_async_watch;
SIPC_API int sipc_async_watch_start(uint32_t interval_ms, sipc_async_notify_fn notify, uint32_t token,
                                    sipc_async_watch **out);
SIPC_API int sipc_async_watch_arm(sipc_async_watch *h, int armed);
/* *changes: how many changes were seen since the start; re-allows one notify. */
SIPC_API int sipc_async_watch_poll(sipc_async_watch *h, uint64_t *changes);
/* Stops the watch; its thread frees it when it ends (never waits). Returns notify calls in progress. */
SIPC_API int sipc_async_watch_release(sipc_async_watch *h);

/* ---- relays: notifications through a descriptor the event loop watches (POSIX) ----
 * A relay is a queue of notified tokens and a descriptor (the read end of a pipe, close-on-exec, non-blocking)
 * that is readable while tokens wait in it. A handle started with notify = sipc_async_relay_notify and a token of
 * the relay's (sipc_async_relay_token) is notified by queueing its token and, if the descriptor was not readable,
 * writing one byte to the pipe: the notifying thread never waits and takes no lock; the main thread learns of it
 * from its event loop (Node: a net.Socket over the descriptor, read on the loop's own thread, no thread-pool hop)
 * and drains the tokens with sipc_async_relay_take, then polls those handles as after any notify. A token is queued
 * once per notify, so at most once per handle until its next poll; the queue holds SIPC_ASYNC_RELAY_CAPACITY
 * tokens, and a notification that finds it full is not lost: the next take reports *overflowed = 1, and the caller
 * must then poll every handle of the relay. Windows: sipc_async_relay_open fails with SIPC_ERR_SYSTEM (no
 * descriptor an event loop watches); use a notify function of your own there. Relays and their tokens belong to the
 * process that opened them: in a forked child take and fd fail with SIPC_ERR_CLOSED (close still frees them). */
typedef struct sipc_async_relay sipc_async_relay;
#define SIPC_ASYNC_RELAY_CAPACITY 1024u
/* A relay's tokens are its number (1..SIPC_ASYNC_RELAY_MAX, in the top 8 bits) and an id below 2^24 of the
 * caller's choice (the low bits): one process holds at most SIPC_ASYNC_RELAY_MAX relays at a time. */
#define SIPC_ASYNC_RELAY_ID_BITS 24u
#define SIPC_ASYNC_RELAY_MAX 255u
/* Makes a relay (its pipe): SIPC_OK, SIPC_ERR_NO_MEMORY (also out of descriptors), SIPC_ERR_BUSY (every relay
 * number is taken), SIPC_ERR_SYSTEM (Windows, or another OS error). */
SIPC_API int sipc_async_relay_open(sipc_async_relay **out);
/* The descriptor to watch for reading (>= 0), or a negative status. Owned by the relay: do not close it; a loop
 * that reads it itself (Node's stream) may, take then finds nothing to read. */
SIPC_API int sipc_async_relay_fd(const sipc_async_relay *r);
/* The token to pass with sipc_async_relay_notify for `id` (below 2^SIPC_ASYNC_RELAY_ID_BITS). */
SIPC_API int sipc_async_relay_token(const sipc_async_relay *r, uint32_t id, uint32_t *token);
/* The notify function for relay tokens (any thread; never waits, takes no lock). A token of no open relay is
 * ignored. */
SIPC_API void sipc_async_relay_notify(uint32_t token);
/* Main thread (one thread per relay): empties the descriptor, then moves up to max_count queued tokens, oldest
 * first, into `tokens` (*count of them). *overflowed is 1 if notifications were dropped since the last take because
 * the queue was full (poll every handle of the relay then), else 0. Tokens left behind (max_count reached) keep the
 * descriptor readable. Never waits. */
SIPC_API int sipc_async_relay_take(sipc_async_relay *r, uint32_t *tokens, uint32_t max_count, uint32_t *count,
                                   uint32_t *overflowed);
/* Closes the descriptor and frees the relay; its number may be reused. Only once no handle notifies through it any
 * more (every handle that was given one of its tokens is destroyed, closed or released and its thread ended). */
SIPC_API int sipc_async_relay_close(sipc_async_relay *r);

#ifdef __cplusplus
}
#endif
#endif /* SIPC_ASYNC_H */
