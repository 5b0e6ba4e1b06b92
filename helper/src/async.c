/*
 * async.c — native threads that do a channel's (or an observer's) blocking waits for an event loop
 * that must never block; see include/sipc_async.h for the protocol.
 *
 * Locking: every field below `lock` is guarded by it, except the immutable ones set before the
 * threads start (channel, observer, notify, token, capacity). sipc_* calls that may block are always
 * made without holding the lock; stop() relies on sipc_cancel being sticky to wake them.
 */
#include "sipc_async.h"

#include <stdalign.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "nowait.h"
#include "platform.h"
#include "test_hooks.h"

/* A flowing channel keeps at most this much received ahead of the main thread, so a slow consumer
 * pushes back on the sender through the shared queue instead of growing our memory. */
#define FLOW_MAX_MESSAGES 256u
#define FLOW_MAX_BYTES (8u * 1024u * 1024u)
/* An observer's thread copies ahead of the main thread up to this much memory (queued messages with their
 * bookkeeping; about 80,000 messages of 64 B, most of a second at 100,000 msgs/s): a main thread busy for a while (an
 * event loop collecting garbage, a long listener) then costs no message. Beyond it the thread waits for the main thread,
 * and the library counts what it misses (lossless: the peers wait, within the observer's stall bound). */
#define OBSERVER_MAX_READY_BYTES (16u * 1024u * 1024u)
/* An observer's thread copies at most this many messages (while more are ready) before it queues them. */
#define OBSERVER_BATCH_MESSAGES 4096u
/* An observer's notifier holds a notification back for this long after news arrived, unless this many messages are
 * ready: an event-loop turn then takes the messages of a millisecond at once instead of a few at a time (each turn
 * costs a wake-up of the notifier and of the main thread, which at 100,000 msgs/s were most of the observer's CPU
 * time and kept a CPU from the copier), for a millisecond of latency. */
#define OBSERVER_NOTIFY_DELAY_US 1000u
#define OBSERVER_NOTIFY_MESSAGES 1024u
/* take_now spins this long before it starts yielding the CPU between looks. */
#define TAKE_NOW_YIELD_AFTER_NS 2000

struct msg_block;

typedef struct msg_node {
    struct msg_node *next;
    struct msg_block *block;        /* the block it was made in (observed messages), NULL for a malloc of its own */
    size_t length;                  /* bytes in data */
    int32_t status;                 /* send outcome (sender results) */
    int32_t tries_once;             /* queued sends: timeout 0 (no peer yet is NOT_CONNECTED, not TIMEOUT) */
    uint64_t deadline;              /* queued sends: monotonic ns, SIPC_OS_NO_DEADLINE for none */
    sipc_observed_message observed; /* observed messages */
    unsigned char data[];
} msg_node;

typedef struct msg_queue {
    msg_node *head;
    msg_node *tail;
    uint32_t count;
    uint64_t bytes;
} msg_queue;

static msg_node *node_new(size_t length)
{
    if (length > SIZE_MAX - sizeof(msg_node))
        return NULL;
    msg_node *node = malloc(sizeof(msg_node) + length);
    if (node) {
        memset(node, 0, sizeof *node);
        node->length = length;
        node->deadline = SIPC_OS_NO_DEADLINE;
    }
    return node;
}

static void queue_push(msg_queue *q, msg_node *node)
{
    node->next = NULL;
    if (q->tail)
        q->tail->next = node;
    else
        q->head = node;
    q->tail = node;
    q->count++;
    q->bytes += node->length;
}

static msg_node *queue_pop(msg_queue *q)
{
    msg_node *node = q->head;
    if (!node)
        return NULL;
    q->head = node->next;
    if (!q->head)
        q->tail = NULL;
    q->count--;
    q->bytes -= node->length;
    node->next = NULL;
    return node;
}

/* Moves every node of `from` to the end of `to`. */
static void queue_append(msg_queue *to, msg_queue *from)
{
    if (!from->head)
        return;
    if (to->tail)
        to->tail->next = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    to->count += from->count;
    to->bytes += from->bytes;
    memset(from, 0, sizeof *from);
}

/* An observer's copier makes its messages' nodes one after the other in blocks of this size instead of a malloc
 * each: the main thread frees what the copier allocated, and a free from another thread than the malloc's is the
 * allocator's slow path (with the malloc, about 3% of the Node observer's time in a profile at full speed). A node
 * larger than a quarter of a block gets a malloc of its own (a block would be mostly empty around it). */
#define OBSERVER_BLOCK_BYTES (64u * 1024u)

/* A block is freed once the copier has moved on from it and every node made in it was freed. While the copier makes
 * nodes in it, it counts them in `made` (its own, no atomic operation per message) and `refs` holds BLOCK_HELD, more
 * than a block can hold nodes, so that the main thread's releases of nodes it took meanwhile cannot bring `refs` to 0;
 * when the copier lets go of the block it takes back BLOCK_HELD - made at once, leaving the nodes not freed yet. Its
 * bytes are handed over with the nodes (the queue's lock); `refs` is atomic because the copier and the main thread
 * drop references without that lock. */
typedef struct msg_block {
    uint32_t refs;
    uint32_t made; /* the copier's: nodes made in it so far */
    size_t used;
    alignas(max_align_t) unsigned char data[OBSERVER_BLOCK_BYTES];
} msg_block;

#define BLOCK_HELD ((uint32_t)OBSERVER_BLOCK_BYTES) /* a node takes more than a byte */

/* Drops `count` references to a block; the last one frees it. */
static void block_release(msg_block *block, uint32_t count)
{
    if (__atomic_sub_fetch(&block->refs, count, __ATOMIC_ACQ_REL) == 0)
        free(block);
}

/* The copier lets go of its block: what remains are the references of the nodes not freed yet. */
static void block_let_go(msg_block *block)
{
    block_release(block, BLOCK_HELD - block->made);
}

/* Frees a node, wherever it was made. */
static void node_free(msg_node *node)
{
    if (node->block)
        block_release(node->block, 1u);
    else
        free(node);
}

static void queue_free(msg_queue *q)
{
    msg_node *node;
    while ((node = queue_pop(q)) != NULL)
        node_free(node);
}

/* ---- notification, shared by channels and observers ---- */

typedef struct notifier {
    sipc_os_mutex lock;
    sipc_os_cond wake; /* any change the threads may wait for */
    sipc_async_notify_fn notify;
    uint32_t token;
    int armed;
    int stopping;
    int notify_pending; /* notified, not polled since */
    uint32_t notifying; /* notify calls in progress */
} notifier;

static int notifier_init(notifier *n, sipc_async_notify_fn notify, uint32_t token)
{
    memset(n, 0, sizeof *n);
    if (sipc_os_mutex_init(&n->lock) != SIPC_OK)
        return SIPC_ERR_SYSTEM;
    if (sipc_os_cond_init(&n->wake) != SIPC_OK) {
        sipc_os_mutex_destroy(&n->lock);
        return SIPC_ERR_SYSTEM;
    }
    n->notify = notify;
    n->token = token;
    n->armed = 1;
    return SIPC_OK;
}

static void notifier_destroy(notifier *n)
{
    sipc_os_cond_destroy(&n->wake);
    sipc_os_mutex_destroy(&n->lock);
}

/* Called and returns with n->lock held; the lock is released around the call, which may wait for the
 * main thread. */
static void notify_locked(notifier *n)
{
    if (!n->armed || n->stopping || n->notify_pending)
        return;
    n->notify_pending = 1;
    n->notifying++;
    sipc_os_mutex_unlock(&n->lock);
    n->notify(n->token);
    sipc_os_mutex_lock(&n->lock);
    n->notifying--;
    sipc_os_cond_broadcast(&n->wake);
}

static int notifier_arm(notifier *n, int armed)
{
    sipc_os_mutex_lock(&n->lock);
    n->armed = armed != 0;
    int in_progress = (int)n->notifying;
    sipc_os_cond_broadcast(&n->wake); /* an observer's notifier waits for arming */
    sipc_os_mutex_unlock(&n->lock);
    return in_progress;
}

/* Returns the notify calls in progress. */
static int notifier_stop(notifier *n)
{
    sipc_os_mutex_lock(&n->lock);
    n->stopping = 1;
    int in_progress = (int)n->notifying;
    sipc_os_cond_broadcast(&n->wake);
    sipc_os_mutex_unlock(&n->lock);
    return in_progress;
}

/* Every handle kind below starts with its notifier (`notifier n;` first), so one allocation serves them all:
 * a zeroed handle of `size` bytes with its notifier made, or NULL with *status NO_MEMORY or the notifier's error. */
static void *handle_new(size_t size, sipc_async_notify_fn notify, uint32_t token, int *status)
{
    notifier *n = calloc(1, size);
    if (!n) {
        *status = SIPC_ERR_NO_MEMORY;
        return NULL;
    }
    *status = notifier_init(n, notify, token);
    if (*status != SIPC_OK) {
        free(n);
        return NULL;
    }
    return n;
}

/* Undoes handle_new (for a handle whose thread never started, or whose last reference went). */
static void handle_free(notifier *n)
{
    notifier_destroy(n);
    free(n);
}

/* ---- channels ---- */

struct sipc_async_channel {
    notifier n;
    sipc_os_mutex recv_lock; /* held by whoever takes messages off the channel (ordering); before n.lock */
    sipc_channel *channel;
    sipc_os_thread receiver;
    sipc_os_thread sender;
    int sender_started;
    int joined; /* main thread only */
    int32_t connect_status;
    int32_t recv_status;
    int flowing;
    int paused; /* the main thread is receiving itself (take_now): stay off the channel */
    uint32_t want;
    int queue_has_message; /* a message waits in the shared queue that nobody asked for yet */
    msg_queue ready;
    msg_queue sends;
    msg_queue send_done;
    uint32_t sends_queued;
};

static int receive_wanted(const sipc_async_channel *h)
{
    if (h->recv_status != SIPC_OK || h->connect_status != SIPC_OK)
        return 0;
    if (h->flowing && (h->ready.count == 0 || (h->ready.count < FLOW_MAX_MESSAGES && h->ready.bytes < FLOW_MAX_BYTES)))
        return 1;
    return h->ready.count < h->want;
}

/* Takes the messages already queued while they are wanted. Called with the lock held, `size` being the
 * size of the next message; returns the status that ended the run (SIPC_OK if demand ran out). */
static int receive_run(sipc_async_channel *h, size_t size)
{
    uint32_t max_size = sipc_max_message_size(h->channel);
    for (;;) {
        if (!receive_wanted(h)) {
            h->queue_has_message = 1;
            return SIPC_OK;
        }
        if (size > max_size)
            return SIPC_ERR_CORRUPT;
        sipc_os_mutex_unlock(&h->n.lock);
        int rc;
        msg_node *node = node_new(size);
        /* recv_lock is held from the receive until the message is in `ready`, so the main thread's
         * take_now (which drains `ready` before it receives) can never overtake it. */
        sipc_os_mutex_lock(&h->recv_lock);
        if (!node) {
            rc = SIPC_ERR_NO_MEMORY;
        } else {
            size_t got = 0;
            rc = sipc_recv(h->channel, node->data, size, &got, 0);
            if (rc == SIPC_OK && got > size)
                rc = SIPC_ERR_CORRUPT;
            if (rc == SIPC_OK)
                node->length = got;
            else if (rc == SIPC_ERR_BUFFER_TOO_SMALL)
                size = got;
        }
        sipc_os_mutex_lock(&h->n.lock);
        sipc_os_mutex_unlock(&h->recv_lock);
        if (rc == SIPC_OK) {
            queue_push(&h->ready, node);
        } else {
            free(node);
            if (rc != SIPC_ERR_BUFFER_TOO_SMALL)
                return rc;
            continue;
        }
        if (h->n.stopping)
            return SIPC_ERR_CANCELLED;
        sipc_os_mutex_unlock(&h->n.lock);
        rc = sipc_peek_size(h->channel, &size, 0);
        sipc_os_mutex_lock(&h->n.lock);
        if (rc != SIPC_OK)
            return rc;
    }
}

static void *receiver_main(void *arg)
{
    sipc_async_channel *h = arg;
    sipc_os_mutex_lock(&h->n.lock);
    while (!h->n.stopping) {
        if (h->connect_status == SIPC_ASYNC_PENDING) {
            sipc_os_mutex_unlock(&h->n.lock);
            /* Sleeps until a peer session begins (or began already: one that attached, sent and left
             * before we looked counts too); stop() wakes it through sipc_cancel. */
            int rc = sipc_connect(h->channel, SIPC_INFINITE);
            sipc_os_mutex_lock(&h->n.lock);
            if (h->n.stopping)
                break;
            h->connect_status = rc;
            h->recv_status = rc;
            h->queue_has_message = 0;
            notify_locked(&h->n);
            continue;
        }
        /* Without demand the thread still waits in peek while the shared queue is empty, so that a
         * departing peer is reported even on an idle channel. After an error it waits for a reconnect. */
        if (h->paused || h->recv_status != SIPC_OK || (!receive_wanted(h) && h->queue_has_message)) {
            sipc_os_cond_wait(&h->n.wake, &h->n.lock);
            continue;
        }
        sipc_os_mutex_unlock(&h->n.lock);
        size_t size = 0;
        /* Ends with PEER_GONE once the peer left and everything it sent was received. */
        int rc = sipc_peek_size(h->channel, &size, SIPC_INFINITE);
        sipc_os_mutex_lock(&h->n.lock);
        if (h->n.stopping)
            break;
        uint32_t ready_before = h->ready.count;
        if (rc == SIPC_OK)
            rc = receive_run(h, size);
        if (h->n.stopping)
            break;
        if (rc == SIPC_ERR_TIMEOUT)
            h->queue_has_message = 0;
        else if (rc != SIPC_OK)
            h->recv_status = rc;
        if (h->ready.count != ready_before || h->recv_status != SIPC_OK)
            notify_locked(&h->n);
    }
    sipc_os_mutex_unlock(&h->n.lock);
    return NULL;
}

static void *sender_main(void *arg)
{
    sipc_async_channel *h = arg;
    sipc_os_mutex_lock(&h->n.lock);
    for (;;) {
        while (!h->n.stopping && !h->sends.head)
            sipc_os_cond_wait(&h->n.wake, &h->n.lock);
        if (h->n.stopping)
            break;
        msg_node *node = queue_pop(&h->sends);
        sipc_os_mutex_unlock(&h->n.lock);
        int rc = sipc_send(h->channel, node->data, node->length, sipc_deadline_ms_left(node->deadline));
        /* A timed send whose time ran out while it queued was tried once; to its caller that is a timeout. */
        if (rc == SIPC_ERR_NOT_CONNECTED && !node->tries_once)
            rc = SIPC_ERR_TIMEOUT;
        node->status = rc;
        node->length = 0;
        msg_node *small = realloc(node, sizeof(msg_node));
        if (small)
            node = small;
        sipc_os_mutex_lock(&h->n.lock);
        queue_push(&h->send_done, node);
        h->sends_queued--;
        notify_locked(&h->n);
    }
    sipc_os_mutex_unlock(&h->n.lock);
    return NULL;
}

SIPC_API int sipc_async_channel_start(sipc_channel *channel, sipc_async_notify_fn notify, uint32_t token,
                                      sipc_async_channel **out)
{
    if (!channel || !notify || !out)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    int rc;
    sipc_async_channel *h = handle_new(sizeof *h, notify, token, &rc);
    if (!h)
        return rc;
    if (sipc_os_mutex_init(&h->recv_lock) != SIPC_OK) {
        handle_free(&h->n);
        return SIPC_ERR_SYSTEM;
    }
    h->channel = channel;
    h->connect_status = SIPC_ASYNC_PENDING;
    h->recv_status = SIPC_OK;
    if (sipc_os_thread_create(&h->receiver, receiver_main, h) != SIPC_OK) {
        sipc_os_mutex_destroy(&h->recv_lock);
        handle_free(&h->n);
        return SIPC_ERR_SYSTEM;
    }
    *out = h;
    return SIPC_OK;
}

SIPC_API int sipc_async_channel_arm(sipc_async_channel *h, int armed)
{
    if (!h)
        return SIPC_ERR_INVALID_ARGUMENT;
    return notifier_arm(&h->n, armed);
}

SIPC_API int sipc_async_channel_demand(sipc_async_channel *h, uint32_t flags, int32_t want_delta)
{
    if (!h)
        return SIPC_ERR_INVALID_ARGUMENT;
    sipc_os_mutex_lock(&h->n.lock);
    int was_paused = h->paused;
    h->flowing = (flags & SIPC_ASYNC_FLOWING) != 0;
    h->paused = (flags & SIPC_ASYNC_PAUSED) != 0;
    int64_t want = (int64_t)h->want + want_delta;
    h->want = want < 0 ? 0 : want > UINT32_MAX ? UINT32_MAX : (uint32_t)want;
    /* Wake the thread only when it may have something to do now; a busy channel pauses and resumes it
     * per message, and a needless wake-up costs a context switch each time. */
    if (!h->paused && (was_paused || h->flowing || want_delta > 0))
        sipc_os_cond_broadcast(&h->n.wake);
    sipc_os_mutex_unlock(&h->n.lock);
    return SIPC_OK;
}

SIPC_API int sipc_async_channel_reconnect(sipc_async_channel *h)
{
    if (!h)
        return SIPC_ERR_INVALID_ARGUMENT;
    sipc_os_mutex_lock(&h->n.lock);
    int rc = SIPC_OK;
    if (h->n.stopping)
        rc = SIPC_ERR_CLOSED;
    else if (h->connect_status == SIPC_OK && h->recv_status == SIPC_OK)
        rc = SIPC_OK; /* still connected: nothing to do */
    else if (h->connect_status != SIPC_ASYNC_PENDING) {
        h->connect_status = SIPC_ASYNC_PENDING;
        sipc_os_cond_broadcast(&h->n.wake);
    }
    sipc_os_mutex_unlock(&h->n.lock);
    return rc;
}

SIPC_API int sipc_async_channel_poll(sipc_async_channel *h, sipc_async_status *status)
{
    if (!h || !status)
        return SIPC_ERR_INVALID_ARGUMENT;
    sipc_os_mutex_lock(&h->n.lock);
    status->connect_status = h->connect_status;
    status->recv_status = h->recv_status;
    status->ready_count = h->ready.count;
    status->ready_bytes = h->ready.bytes;
    status->send_results = h->send_done.count;
    status->sends_queued = h->sends_queued;
    status->notifying = h->n.notifying;
    h->n.notify_pending = 0;
    sipc_os_mutex_unlock(&h->n.lock);
    return SIPC_OK;
}

/* Moves ready messages into the caller's buffer; called with n.lock held. */
static uint32_t take_ready_locked(sipc_async_channel *h, unsigned char *buffer, size_t capacity, size_t *used,
                                  uint32_t *lengths, uint32_t max_count, uint32_t taken)
{
    while (taken < max_count && h->ready.head && h->ready.head->length <= capacity - *used) {
        msg_node *node = queue_pop(&h->ready);
        if (node->length > 0)
            memcpy(buffer + *used, node->data, node->length);
        *used += node->length;
        lengths[taken++] = (uint32_t)node->length;
        free(node);
    }
    return taken;
}

SIPC_API int sipc_async_channel_take(sipc_async_channel *h, void *buffer, size_t capacity, uint32_t *lengths,
                                     uint32_t max_count, uint32_t *count)
{
    if (!h || !count || (max_count > 0 && !lengths) || (capacity > 0 && !buffer))
        return SIPC_ERR_INVALID_ARGUMENT;
    *count = 0;
    sipc_os_mutex_lock(&h->n.lock);
    size_t used = 0;
    uint32_t taken = take_ready_locked(h, (unsigned char *)buffer, capacity, &used, lengths, max_count, 0);
    int rc = (taken == 0 && h->ready.head && max_count > 0) ? SIPC_ERR_BUFFER_TOO_SMALL : SIPC_OK;
    h->want = h->want > taken ? h->want - taken : 0;
    if (taken > 0)
        sipc_os_cond_broadcast(&h->n.wake);
    sipc_os_mutex_unlock(&h->n.lock);
    *count = taken;
    return rc;
}

SIPC_API int sipc_async_channel_take_now(sipc_async_channel *h, void *buffer, size_t capacity, uint32_t *lengths,
                                         uint32_t max_count, uint32_t *count, uint32_t spin_us)
{
    if (!h || !count || !lengths || max_count == 0 || !buffer || spin_us > SIPC_ASYNC_MAX_SPIN_US)
        return SIPC_ERR_INVALID_ARGUMENT;
    *count = 0;
    const uint64_t started = sipc_os_monotonic_ns();
    const uint64_t deadline = started + (uint64_t)spin_us * 1000u;
    uint32_t taken = 0;
    size_t used = 0;
    for (;;) {
        if (sipc_os_mutex_trylock(&h->recv_lock)) {
            sipc_os_mutex_lock(&h->n.lock);
            int receiving = !h->n.stopping && h->recv_status == SIPC_OK && h->connect_status == SIPC_OK;
            int had_ready = h->ready.head != NULL;
            taken = take_ready_locked(h, buffer, capacity, &used, lengths, max_count, taken);
            /* Older messages that did not fit stay first in line: nothing may be received past them. */
            int blocked = h->ready.head != NULL;
            sipc_os_mutex_unlock(&h->n.lock);
            while (receiving && !blocked && taken < max_count) {
                size_t size = 0;
                if (sipc_peek_size(h->channel, &size, 0) != SIPC_OK || size > capacity - used)
                    break;
                size_t got = 0;
                if (sipc_recv(h->channel, (unsigned char *)buffer + used, capacity - used, &got, 0) != SIPC_OK)
                    break;
                used += got;
                lengths[taken++] = (uint32_t)got;
            }
            sipc_os_mutex_lock(&h->n.lock);
            h->want = h->want > taken ? h->want - taken : 0;
            if (had_ready)
                sipc_os_cond_broadcast(&h->n.wake);
            sipc_os_mutex_unlock(&h->n.lock);
            sipc_os_mutex_unlock(&h->recv_lock);
        }
        if (taken > 0)
            break;
        uint64_t now = sipc_os_monotonic_ns();
        if (now >= deadline)
            break;
        /* The peer may be waiting for this very CPU (two spinners on a loaded machine): past the first
         * microseconds, let any thread runnable here go first. Without one this returns at once. */
        if (now - started >= TAKE_NOW_YIELD_AFTER_NS)
            sipc_os_thread_yield();
    }
    *count = taken;
    return SIPC_OK;
}

SIPC_API int sipc_async_channel_send(sipc_async_channel *h, const void *data, size_t length, int32_t timeout_ms)
{
    if (!h || (length > 0 && !data))
        return SIPC_ERR_INVALID_ARGUMENT;
    if (length > sipc_max_message_size(h->channel))
        return SIPC_ERR_TOO_BIG;
    msg_node *node = node_new(length);
    if (!node)
        return SIPC_ERR_NO_MEMORY;
    if (length > 0)
        memcpy(node->data, data, length);
    node->deadline = sipc_deadline_after(timeout_ms);
    node->tries_once = timeout_ms == 0;
    sipc_os_mutex_lock(&h->n.lock);
    int rc = SIPC_OK;
    if (h->n.stopping) {
        rc = SIPC_ERR_CLOSED;
    } else if (!h->sender_started) {
        if (sipc_os_thread_create(&h->sender, sender_main, h) == SIPC_OK)
            h->sender_started = 1;
        else
            rc = SIPC_ERR_SYSTEM;
    }
    if (rc == SIPC_OK) {
        queue_push(&h->sends, node);
        h->sends_queued++;
        sipc_os_cond_broadcast(&h->n.wake);
    }
    sipc_os_mutex_unlock(&h->n.lock);
    if (rc != SIPC_OK)
        free(node);
    return rc;
}

SIPC_API int sipc_async_channel_take_send_results(sipc_async_channel *h, int32_t *statuses, uint32_t max_count,
                                                  uint32_t *count)
{
    if (!h || !count || (max_count > 0 && !statuses))
        return SIPC_ERR_INVALID_ARGUMENT;
    sipc_os_mutex_lock(&h->n.lock);
    uint32_t taken = 0;
    while (taken < max_count && h->send_done.head) {
        msg_node *node = queue_pop(&h->send_done);
        statuses[taken++] = node->status;
        free(node);
    }
    sipc_os_mutex_unlock(&h->n.lock);
    *count = taken;
    return SIPC_OK;
}

SIPC_API sipc_channel *sipc_async_channel_handle(sipc_async_channel *h)
{
    return h ? h->channel : NULL;
}

SIPC_API int sipc_async_channel_send_now(sipc_async_channel *h, const void *data, size_t length)
{
    return h ? sipc_channel_send_now(h->channel, data, length) : SIPC_ERR_INVALID_ARGUMENT;
}

SIPC_API int sipc_async_channel_connect_now(sipc_async_channel *h)
{
    if (!h)
        return SIPC_ERR_INVALID_ARGUMENT;
    int rc = sipc_channel_connect_now(h->channel);
    return rc == SIPC_CONNECT_NOW_UNADOPTED ? SIPC_ASYNC_PENDING : rc;
}

SIPC_API int sipc_async_channel_info(sipc_async_channel *h, sipc_channel_info *info)
{
    return h ? sipc_channel_info_known(h->channel, info) : SIPC_ERR_INVALID_ARGUMENT;
}

SIPC_API int sipc_async_channel_stop(sipc_async_channel *h)
{
    if (!h)
        return SIPC_ERR_INVALID_ARGUMENT;
    int in_progress = notifier_stop(&h->n);
    sipc_cancel(h->channel);
    return in_progress;
}

SIPC_API int sipc_async_channel_join(sipc_async_channel *h)
{
    if (!h)
        return SIPC_ERR_INVALID_ARGUMENT;
    if (sipc_async_channel_stop(h) > 0)
        return SIPC_ERR_BUSY;
    /* Only the main thread joins, so `joined` needs no lock; the threads never read it. */
    if (h->joined)
        return SIPC_OK;
    sipc_os_thread_join(&h->receiver);
    sipc_os_mutex_lock(&h->n.lock);
    int sender_started = h->sender_started;
    sipc_os_mutex_unlock(&h->n.lock);
    if (sender_started)
        sipc_os_thread_join(&h->sender);
    h->joined = 1;
    return SIPC_OK;
}

SIPC_API int sipc_async_channel_destroy(sipc_async_channel *h)
{
    return sipc_async_channel_destroy_ex(h, SIPC_DEFAULT_LOCK_TIMEOUT_MS);
}

SIPC_API int sipc_async_channel_destroy_ex(sipc_async_channel *h, int32_t close_timeout_ms)
{
    if (close_timeout_ms < SIPC_INFINITE)
        return SIPC_ERR_INVALID_ARGUMENT;
    int rc = sipc_async_channel_join(h);
    if (rc != SIPC_OK)
        return rc;
    rc = sipc_close_ex(h->channel, close_timeout_ms);
    queue_free(&h->ready);
    queue_free(&h->sends);
    queue_free(&h->send_done);
    sipc_os_mutex_destroy(&h->recv_lock);
    handle_free(&h->n);
    return rc;
}

/* ---- observers ---- */

struct sipc_async_observer {
    notifier n;
    sipc_observer *observer;
    uint32_t capacity;
    unsigned char *scratch;  /* capacity bytes: each message is copied here, then into a node of its own size */
    msg_block *block;        /* the copier's: where it makes the next nodes (NULL: none yet, or out of memory) */
    sipc_os_thread thread;   /* copies the observer's messages into `ready` */
    sipc_os_thread notifier; /* calls notify for it: a notify may wait for the main thread (a binding's callback
                                runs there), and the copying must go on meanwhile */
    int news;                /* the copier queued something (or ended) since the notifier last notified */
    int gathering;           /* the notifier waits OBSERVER_NOTIFY_DELAY_US for more before it notifies */
    int copier_waiting;      /* the copier waits on `room` for the queue to shrink */
    sipc_os_cond room;       /* the queue shrank (take) or the handle stops: for the copier alone, so that a take
                                wakes the notifier for nothing */
    int32_t status;
    msg_queue ready;
    int threads_running;      /* atomic: the copier and the notifier until their last step (destroy_ex's bound) */
    uint32_t died_session[2]; /* atomic, per role index: the session the observer's events last reported dead, or 0
                                 (an attach or a close since): what sipc_async_observer_info reports gone */
};

static sipc_test_hook observer_test_hook; /* atomic; test_hooks.h */
static void *observer_test_hook_arg;

void sipc_async_observer_set_test_hook(sipc_test_hook hook, void *arg)
{
    observer_test_hook_arg = arg;
    __atomic_store_n(&observer_test_hook, hook, __ATOMIC_RELEASE);
}

/* The last step of an observer's thread: the handle is the destroyer's from here on. */
static void observer_thread_ends(sipc_async_observer *h, int copier)
{
    sipc_test_hook hook = __atomic_load_n(&observer_test_hook, __ATOMIC_ACQUIRE);
    if (copier && hook != NULL)
        hook(observer_test_hook_arg, SIPC_TEST_OBSERVER_COPIER_ENDING);
    __atomic_sub_fetch(&h->threads_running, 1, __ATOMIC_RELEASE);
}

/* Memory a queue of observed messages holds (payloads and bookkeeping). */
static uint64_t observer_queue_memory(const msg_queue *q)
{
    return q->bytes + (uint64_t)q->count * sizeof(msg_node);
}

/* The observer's queue holds as much as it may (caller holds the lock). */
static int observer_queue_full(const sipc_async_observer *h)
{
    return observer_queue_memory(&h->ready) >= OBSERVER_MAX_READY_BYTES;
}

/* Room for a node of up to `length` bytes of an observed message in the copier's current block, or in a new one once
 * it has too little (the copier lets go of the old one); NULL when it needs a malloc of its own (large), or out of
 * memory (*no_memory set). The node is made there by block_commit. Called by the copier alone. */
static msg_node *block_room(sipc_async_observer *h, size_t length, int *no_memory)
{
    const size_t align = alignof(max_align_t);
    size_t size = (sizeof(msg_node) + length + align - 1) / align * align; /* length <= capacity: no overflow */
    *no_memory = 0;
    if (size > OBSERVER_BLOCK_BYTES / 4)
        return NULL;
    if (h->block && h->block->used + size > OBSERVER_BLOCK_BYTES) {
        block_let_go(h->block);
        h->block = NULL;
    }
    if (!h->block) {
        h->block = malloc(sizeof *h->block);
        if (!h->block) {
            *no_memory = 1;
            return NULL;
        }
        h->block->refs = BLOCK_HELD; /* published to the main thread with the first node's queueing */
        h->block->made = 0;
        h->block->used = 0;
    }
    return (msg_node *)(void *)(h->block->data + h->block->used);
}

/* Makes the node at `node` (block_room's, which had room for at least `length` bytes) hold `length` bytes: only its
 * own size is used up. Every field is set (no memset: a node's header is most of what the copier writes per message). */
static void block_commit(sipc_async_observer *h, msg_node *node, size_t length)
{
    const size_t align = alignof(max_align_t);
    h->block->used += (sizeof(msg_node) + length + align - 1) / align * align;
    h->block->made++;
    node->next = NULL;
    node->block = h->block;
    node->length = length;
    node->status = 0;
    node->deadline = SIPC_OS_NO_DEADLINE;
}

/* Notes what an event says about the roles' sessions (sipc_async_observer_info). */
static void note_event(sipc_async_observer *h, const sipc_observed_message *m)
{
    if (m->kind == SIPC_OBSERVED_EVENT && (m->role == SIPC_ROLE_SERVER || m->role == SIPC_ROLE_CLIENT)) {
        uint32_t *died = &h->died_session[m->role == SIPC_ROLE_SERVER ? 0 : 1];
        if (m->event == SIPC_EVENT_DIED)
            __atomic_store_n(died, m->session, __ATOMIC_RELEASE);
        else if (m->event == SIPC_EVENT_ATTACHED || m->event == SIPC_EVENT_CLOSED)
            __atomic_store_n(died, 0u, __ATOMIC_RELEASE);
    }
}

/* One sipc_observer_next call, made without the lock. While a message of the observer's capacity fits in a quarter of
 * a block, it is copied straight into a node made in the copier's block (its description too), and the node then
 * takes only the message's size. A larger capacity goes through the scratch buffer, so that a node is as large as the
 * message, not as the capacity (a 64 B message would otherwise cost a 64 KiB allocation). */
static int observe_one(sipc_async_observer *h, int32_t timeout_ms, msg_node **out)
{
    *out = NULL;
    int no_memory;
    msg_node *direct = block_room(h, h->capacity, &no_memory);
    if (no_memory)
        return SIPC_ERR_NO_MEMORY;
    sipc_observed_message scratch_message;
    sipc_observed_message *m = direct ? &direct->observed : &scratch_message;
    memset(m, 0, sizeof *m);
    m->struct_size = sizeof *m;
    int rc = sipc_observer_next(h->observer, direct ? direct->data : h->scratch, h->capacity, m, timeout_ms);
    if (rc == SIPC_OK && (m->copied > h->capacity || m->copied > m->length))
        rc = SIPC_ERR_CORRUPT;
    if (rc != SIPC_OK)
        return rc;
    note_event(h, m);
    if (direct) {
        block_commit(h, direct, m->copied);
        *out = direct;
        return SIPC_OK;
    }
    msg_node *node = block_room(h, m->copied, &no_memory);
    if (node) {
        block_commit(h, node, m->copied);
    } else if (!no_memory) {
        node = node_new(m->copied);
    }
    if (!node)
        return SIPC_ERR_NO_MEMORY;
    if (m->copied != 0)
        memcpy(node->data, h->scratch, m->copied);
    node->observed = *m;
    *out = node;
    return SIPC_OK;
}

static void *observer_main(void *arg)
{
    sipc_async_observer *h = arg;
    sipc_os_mutex_lock(&h->n.lock);
    for (;;) {
        while (!h->n.stopping && observer_queue_full(h)) {
            h->copier_waiting = 1;
            sipc_os_cond_wait(&h->room, &h->n.lock);
            h->copier_waiting = 0;
        }
        if (h->n.stopping)
            break;
        uint64_t room = OBSERVER_MAX_READY_BYTES - observer_queue_memory(&h->ready);
        sipc_os_mutex_unlock(&h->n.lock);
        /* Everything that is ready is copied into a batch of this thread's own, without the lock (the main thread's
         * take holds it while it hands messages over), and queued at once: one lock and one notification per batch,
         * and the copying never waits for the main thread (PROTOCOL.md section 7). */
        msg_queue batch = {0};
        msg_node *node;
        int rc = observe_one(h, SIPC_INFINITE, &node);
        while (rc == SIPC_OK) {
            queue_push(&batch, node);
            if (observer_queue_memory(&batch) >= room || batch.count >= OBSERVER_BATCH_MESSAGES)
                break;
            rc = observe_one(h, 0, &node);
        }
        sipc_os_mutex_lock(&h->n.lock);
        if (h->n.stopping) {
            queue_free(&batch);
            break;
        }
        queue_append(&h->ready, &batch);
        if (rc != SIPC_OK && rc != SIPC_ERR_TIMEOUT)
            h->status = rc;
        h->news = 1;
        /* Only when the notifier can act on it: while a notification waits for its poll, the poll wakes the
         * notifier (a wake-up per batch would cost a context switch per batch at full speed), and a gathering
         * notifier looks again when its delay ends. */
        if (h->n.armed && !h->n.notify_pending && !h->gathering)
            sipc_os_cond_broadcast(&h->n.wake);
        if (h->status != SIPC_OK)
            break;
    }
    sipc_os_mutex_unlock(&h->n.lock);
    observer_thread_ends(h, 1);
    return NULL;
}

/* Notifies the main thread of what the copier queued, once per poll (notify_locked), on a thread of its own; a
 * notification waits up to OBSERVER_NOTIFY_DELAY_US for more messages to come with it. */
static void *observer_notifier_main(void *arg)
{
    sipc_async_observer *h = arg;
    int gathered = 0; /* this notification waited its delay */
    sipc_os_mutex_lock(&h->n.lock);
    for (;;) {
        while (!h->n.stopping && !(h->news && h->n.armed && !h->n.notify_pending)) {
            gathered = 0;
            sipc_os_cond_wait(&h->n.wake, &h->n.lock);
        }
        if (h->n.stopping)
            break;
        if (!gathered && h->ready.count < OBSERVER_NOTIFY_MESSAGES && h->status == SIPC_OK) {
            /* A sleep, not a timed wait: nothing but the delay's end is worth waking for (a copier that reaches the
             * message count meanwhile gains at most the rest of a millisecond). */
            h->gathering = 1;
            sipc_os_mutex_unlock(&h->n.lock);
            sipc_os_sleep_us(OBSERVER_NOTIFY_DELAY_US);
            sipc_os_mutex_lock(&h->n.lock);
            h->gathering = 0;
            gathered = 1;
            continue; /* stopped or disarmed meanwhile: the loop's condition decides again */
        }
        gathered = 0;
        h->news = 0;
        notify_locked(&h->n);
    }
    sipc_os_mutex_unlock(&h->n.lock);
    observer_thread_ends(h, 0);
    return NULL;
}

SIPC_API int sipc_async_observer_start(sipc_observer *observer, uint32_t capacity, sipc_async_notify_fn notify,
                                       uint32_t token, sipc_async_observer **out)
{
    if (!observer || !notify || !out || capacity > SIPC_MAX_MESSAGE_LIMIT)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    int rc;
    sipc_async_observer *h = handle_new(sizeof *h, notify, token, &rc);
    if (!h)
        return rc;
    h->observer = observer;
    h->capacity = capacity;
    h->status = SIPC_OK;
    h->scratch = malloc(capacity ? capacity : 1);
    if (!h->scratch) {
        handle_free(&h->n);
        return SIPC_ERR_NO_MEMORY;
    }
    if (sipc_os_cond_init(&h->room) != SIPC_OK) {
        free(h->scratch);
        handle_free(&h->n);
        return SIPC_ERR_SYSTEM;
    }
    h->threads_running = 2;
    if (sipc_os_thread_create(&h->notifier, observer_notifier_main, h) != SIPC_OK) {
        sipc_os_cond_destroy(&h->room);
        free(h->scratch);
        handle_free(&h->n);
        return SIPC_ERR_SYSTEM;
    }
    if (sipc_os_thread_create(&h->thread, observer_main, h) != SIPC_OK) {
        notifier_stop(&h->n);
        sipc_os_thread_join(&h->notifier);
        sipc_os_cond_destroy(&h->room);
        free(h->scratch);
        handle_free(&h->n);
        return SIPC_ERR_SYSTEM;
    }
    *out = h;
    return SIPC_OK;
}

SIPC_API int sipc_async_observer_arm(sipc_async_observer *h, int armed)
{
    if (!h)
        return SIPC_ERR_INVALID_ARGUMENT;
    return notifier_arm(&h->n, armed);
}

SIPC_API int sipc_async_observer_poll(sipc_async_observer *h, sipc_async_observer_status *status)
{
    if (!h || !status)
        return SIPC_ERR_INVALID_ARGUMENT;
    sipc_os_mutex_lock(&h->n.lock);
    status->status = h->status;
    status->ready_count = h->ready.count;
    status->ready_bytes = h->ready.bytes;
    status->notifying = h->n.notifying;
    status->reserved = 0;
    h->n.notify_pending = 0;
    if (h->news)
        sipc_os_cond_broadcast(&h->n.wake); /* the notifier may notify again (else the copier's next batch wakes it) */
    sipc_os_mutex_unlock(&h->n.lock);
    return SIPC_OK;
}

SIPC_API int sipc_async_observer_take(sipc_async_observer *h, void *buffer, size_t capacity,
                                      sipc_observed_message *messages, uint32_t max_count, uint32_t *count)
{
    if (!h || !count || (max_count > 0 && !messages) || (capacity > 0 && !buffer))
        return SIPC_ERR_INVALID_ARGUMENT;
    *count = 0;
    /* Only the unlinking happens under the lock; the copying and freeing after it, so that the observer's thread,
     * which queues under the same lock, never waits for a whole hand-over. */
    msg_queue taking = {0};
    sipc_os_mutex_lock(&h->n.lock);
    size_t used = 0;
    while (taking.count < max_count && h->ready.head && h->ready.head->length <= capacity - used) {
        msg_node *node = queue_pop(&h->ready);
        used += node->length;
        queue_push(&taking, node);
    }
    int rc = (taking.count == 0 && h->ready.head && max_count > 0) ? SIPC_ERR_BUFFER_TOO_SMALL : SIPC_OK;
    if (taking.count > 0 && h->copier_waiting)
        sipc_os_cond_broadcast(&h->room);
    sipc_os_mutex_unlock(&h->n.lock);
    used = 0;
    uint32_t taken = 0;
    /* The nodes of one block come one after the other: their references are dropped together (one atomic operation
     * per run of a block, not per message). */
    msg_block *run_block = NULL;
    uint32_t run_nodes = 0;
    msg_node *node;
    while ((node = queue_pop(&taking)) != NULL) {
        if (node->length > 0)
            memcpy((unsigned char *)buffer + used, node->data, node->length);
        used += node->length;
        messages[taken] = node->observed;
        messages[taken].struct_size = sizeof messages[taken];
        taken++;
        if (node->block == NULL) {
            free(node);
            continue;
        }
        if (node->block != run_block) {
            if (run_block)
                block_release(run_block, run_nodes);
            run_block = node->block;
            run_nodes = 0;
        }
        run_nodes++;
    }
    if (run_block)
        block_release(run_block, run_nodes);
    *count = taken;
    return rc;
}

/* sipc_async_observer_info: a holder is alive unless the observer's events reported its session dead. */
static int holder_not_reported_dead(void *context, const seg_role_view *view, int role_index)
{
    const sipc_async_observer *h = context;
    uint32_t died = __atomic_load_n(&h->died_session[role_index], __ATOMIC_ACQUIRE);
    return died == 0 || died != view->session;
}

SIPC_API int sipc_async_observer_info(sipc_async_observer *h, sipc_channel_info *info)
{
    return h ? sipc_observer_info_with(h->observer, info, holder_not_reported_dead, h) : SIPC_ERR_INVALID_ARGUMENT;
}

SIPC_API sipc_observer *sipc_async_observer_handle(sipc_async_observer *h)
{
    return h ? h->observer : NULL;
}

SIPC_API int sipc_async_observer_stop(sipc_async_observer *h)
{
    if (!h)
        return SIPC_ERR_INVALID_ARGUMENT;
    int in_progress = notifier_stop(&h->n);
    sipc_os_mutex_lock(&h->n.lock);
    sipc_os_cond_broadcast(&h->room); /* a copier waiting for room sees `stopping` */
    sipc_os_mutex_unlock(&h->n.lock);
    sipc_observer_cancel(h->observer);
    return in_progress;
}

SIPC_API int sipc_async_observer_destroy(sipc_async_observer *h)
{
    return sipc_async_observer_destroy_ex(h, SIPC_INFINITE);
}

/* How often destroy_ex looks whether the threads ended (at process exit only, and a few times at most: they end
 * within one sleep of the observer's once cancelled). */
#define OBSERVER_JOIN_LOOK_US 1000u

SIPC_API int sipc_async_observer_destroy_ex(sipc_async_observer *h, int32_t join_timeout_ms)
{
    if (!h || join_timeout_ms < SIPC_INFINITE)
        return SIPC_ERR_INVALID_ARGUMENT;
    if (sipc_async_observer_stop(h) > 0)
        return SIPC_ERR_BUSY;
    uint64_t deadline = sipc_deadline_after(join_timeout_ms);
    while (__atomic_load_n(&h->threads_running, __ATOMIC_ACQUIRE) != 0) {
        if (deadline != SIPC_OS_NO_DEADLINE && sipc_os_monotonic_ns() >= deadline)
            return SIPC_ERR_TIMEOUT;
        sipc_os_sleep_us(OBSERVER_JOIN_LOOK_US);
    }
    sipc_os_thread_join(&h->thread);
    sipc_os_thread_join(&h->notifier);
    int rc = sipc_observer_close(h->observer);
    sipc_os_cond_destroy(&h->room);
    free(h->scratch);
    queue_free(&h->ready);
    if (h->block) /* the copier is joined: its hold is ours to drop */
        block_let_go(h->block);
    handle_free(&h->n);
    return rc;
}

/* ---- one-shot calls on a thread of their own ---- */

typedef enum call_kind {
    CALL_OPEN,
    CALL_OBSERVE,
    CALL_STAT,
    CALL_REMOVE,
    CALL_LIST,
    CALL_CLOSE_CHANNEL,
    CALL_CLOSE_OBSERVER,
    CALL_DESCRIBE_PROCESS
} call_kind;

/* Longest detail sentence kept (sipc_last_error_message, sipc_list_entry.detail); longer ones are cut. */
#define CALL_DETAIL_MAX 256

typedef struct call_entry {
    int32_t status;
    sipc_channel_info info;
    char detail[CALL_DETAIL_MAX]; /* why it is unusable, or "" */
} call_entry;

struct sipc_async_call {
    notifier n; /* n.stopping: released by the main thread */
    call_kind kind;
    int refs;       /* under n.lock: the thread's and the main thread's */
    int32_t status; /* under n.lock; SIPC_ASYNC_PENDING until the thread is done */
    /* Inputs (immutable once the thread runs) and outputs (the thread's until status is set). */
    char name[SIPC_NAME_MAX + 1];
    sipc_options options;
    int has_options;
    sipc_observe_options observe_options;
    int force;
    int32_t timeout_ms;        /* stat: how long it may wait */
    int64_t pid;               /* describe process: whom */
    sipc_process_info process; /* describe process: the outcome */
    sipc_async_channel *closing_channel;
    sipc_async_observer *closing_observer;
    sipc_channel *channel;   /* open's result until taken */
    sipc_observer *observer; /* observe's result until taken */
    call_entry *entries;
    uint32_t entry_count;
    uint32_t entry_capacity;
    msg_queue send_done;          /* close: outcomes of the sends that finished before the threads stopped */
    int32_t os_error;             /* sipc_last_os_error() of the thread after a failed call */
    char detail[CALL_DETAIL_MAX]; /* sipc_last_error_message() of the thread after a failed call */
};

static void call_free(sipc_async_call *c)
{
    /* A result nobody took (the main thread released the call without reading it). */
    if (c->channel)
        sipc_close(c->channel);
    if (c->observer)
        sipc_observer_close(c->observer);
    free(c->entries);
    queue_free(&c->send_done);
    handle_free(&c->n);
}

/* Drops one reference; the last one frees the call. */
static void call_unref(sipc_async_call *c)
{
    sipc_os_mutex_lock(&c->n.lock);
    int last = --c->refs == 0;
    sipc_os_mutex_unlock(&c->n.lock);
    if (last)
        call_free(c);
}

static int add_entry(sipc_async_call *c, const char *name, int status, const char *detail)
{
    if (c->entry_count == c->entry_capacity) {
        uint32_t capacity = c->entry_capacity ? c->entry_capacity * 2 : 16;
        call_entry *grown = realloc(c->entries, (size_t)capacity * sizeof *grown);
        if (!grown)
            return SIPC_ERR_NO_MEMORY;
        c->entries = grown;
        c->entry_capacity = capacity;
    }
    call_entry *entry = &c->entries[c->entry_count++];
    memset(entry, 0, sizeof *entry);
    entry->status = status;
    entry->info.struct_size = sizeof entry->info;
    snprintf(entry->info.name, sizeof entry->info.name, "%s", name);
    snprintf(entry->detail, sizeof entry->detail, "%s", detail ? detail : "");
    return SIPC_OK;
}

static int list_visit(const sipc_list_entry *entry, void *user)
{
    if (entry->status == SIPC_ERR_NOT_FOUND)
        return 0; /* being created: not a channel yet, nor a broken one */
    return add_entry(user, entry->name, entry->status, entry->detail) == SIPC_OK ? 0 : 1;
}

/* A stat per usable entry; one that fails meanwhile becomes unusable, one that vanished is dropped. */
static int list_and_stat(sipc_async_call *c)
{
    int rc = sipc_list_entries(list_visit, c);
    if (rc != SIPC_OK)
        return rc;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < c->entry_count; i++) {
        call_entry *entry = &c->entries[i];
        if (entry->status == SIPC_OK) {
            char name[SIPC_NAME_MAX + 1];
            memcpy(name, entry->info.name, sizeof name);
            entry->status = sipc_stat(name, &entry->info);
            if (entry->status != SIPC_OK) {
                memset(&entry->info, 0, sizeof entry->info);
                entry->info.struct_size = sizeof entry->info;
                memcpy(entry->info.name, name, sizeof name);
                snprintf(entry->detail, sizeof entry->detail, "%s", sipc_last_error_message());
            }
            if (entry->status == SIPC_ERR_NOT_FOUND)
                continue;
        }
        c->entries[kept++] = *entry;
    }
    c->entry_count = kept;
    return SIPC_OK;
}

/* Joins a stopped channel's threads once no notify call is in progress; waits (never the main thread). */
static void wait_notify_done(notifier *n)
{
    sipc_os_mutex_lock(&n->lock);
    while (n->notifying > 0)
        sipc_os_cond_wait(&n->wake, &n->lock);
    sipc_os_mutex_unlock(&n->lock);
}

static int run_call(sipc_async_call *c)
{
    switch (c->kind) {
    case CALL_OPEN:
        return sipc_open(c->name, c->has_options ? &c->options : NULL, &c->channel);
    case CALL_OBSERVE:
        return sipc_observe_ex(c->name, &c->observe_options, &c->observer);
    case CALL_STAT: {
        int rc = add_entry(c, c->name, SIPC_OK, "");
        return rc == SIPC_OK ? (c->entries[0].status = sipc_stat_ex(c->name, c->timeout_ms, &c->entries[0].info)) : rc;
    }
    case CALL_REMOVE:
        return sipc_remove(c->name, c->force);
    case CALL_LIST:
        return list_and_stat(c);
    /* Stopped before the thread started, so no new notify call begins: once the ones in progress
     * are done (the main thread runs them), destroy cannot be BUSY. */
    case CALL_CLOSE_CHANNEL: {
        sipc_async_channel *h = c->closing_channel;
        wait_notify_done(&h->n);
        int rc = sipc_async_channel_join(h);
        if (rc != SIPC_OK)
            return rc;
        /* The threads are joined: nothing else touches send_done now. */
        c->send_done = h->send_done;
        memset(&h->send_done, 0, sizeof h->send_done);
        return sipc_async_channel_destroy(h);
    }
    case CALL_CLOSE_OBSERVER:
        wait_notify_done(&c->closing_observer->n);
        return sipc_async_observer_destroy(c->closing_observer);
    case CALL_DESCRIBE_PROCESS:
        c->process.struct_size = (uint32_t)sizeof c->process;
        return sipc_process_describe(c->pid, &c->process);
    }
    return SIPC_ERR_INVALID_ARGUMENT;
}

static void *call_main(void *arg)
{
    sipc_async_call *c = arg;
    int rc = run_call(c);
    int32_t os_error = rc == SIPC_OK ? 0 : sipc_last_os_error();
    if (rc != SIPC_OK)
        snprintf(c->detail, sizeof c->detail, "%s", sipc_last_error_message());
    sipc_os_mutex_lock(&c->n.lock);
    c->os_error = os_error;
    c->status = rc == SIPC_ASYNC_PENDING ? SIPC_ERR_SYSTEM : rc;
    notify_locked(&c->n);
    sipc_os_mutex_unlock(&c->n.lock);
    call_unref(c);
    return NULL;
}

static sipc_async_call *call_new(call_kind kind, sipc_async_notify_fn notify, uint32_t token)
{
    int rc;
    sipc_async_call *c = handle_new(sizeof *c, notify, token, &rc);
    if (!c)
        return NULL;
    c->kind = kind;
    c->status = SIPC_ASYNC_PENDING;
    c->refs = 2;
    return c;
}

/* Starts the call's detached thread; on failure frees the call (its inputs stay the caller's). */
static int call_start(sipc_async_call *c, sipc_async_call **out)
{
    sipc_os_thread thread;
    if (sipc_os_thread_create(&thread, call_main, c) != SIPC_OK) {
        handle_free(&c->n);
        return SIPC_ERR_SYSTEM;
    }
    sipc_os_thread_detach(&thread);
    *out = c;
    return SIPC_OK;
}

static int call_by_name(call_kind kind, const char *name, sipc_async_notify_fn notify, uint32_t token,
                        sipc_async_call **out, sipc_async_call **made)
{
    if (!out || !notify)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!name)
        return SIPC_ERR_INVALID_ARGUMENT;
    int rc = sipc_validate_name(name); /* pure: also bounds the copy below */
    if (rc != SIPC_OK)
        return rc;
    sipc_async_call *c = call_new(kind, notify, token);
    if (!c)
        return SIPC_ERR_NO_MEMORY;
    snprintf(c->name, sizeof c->name, "%s", name);
    *made = c;
    return SIPC_OK;
}

SIPC_API int sipc_async_open(const char *name, const sipc_options *options, sipc_async_notify_fn notify, uint32_t token,
                             sipc_async_call **out)
{
    if (options && options->struct_size > sizeof(sipc_options))
        return SIPC_ERR_INVALID_ARGUMENT;
    sipc_async_call *c = NULL;
    int rc = call_by_name(CALL_OPEN, name, notify, token, out, &c);
    if (rc != SIPC_OK)
        return rc;
    if (options) {
        memcpy(&c->options, options, options->struct_size);
        c->has_options = 1;
    }
    return call_start(c, out);
}

SIPC_API int sipc_async_observe(const char *name, sipc_async_notify_fn notify, uint32_t token, sipc_async_call **out)
{
    return sipc_async_observe_ex(name, NULL, notify, token, out);
}

SIPC_API int sipc_async_observe_ex(const char *name, const sipc_observe_options *options, sipc_async_notify_fn notify,
                                   uint32_t token, sipc_async_call **out)
{
    if (options && options->struct_size != sizeof(sipc_observe_options))
        return SIPC_ERR_INVALID_ARGUMENT;
    sipc_async_call *c = NULL;
    int rc = call_by_name(CALL_OBSERVE, name, notify, token, out, &c);
    if (rc != SIPC_OK)
        return rc;
    sipc_observe_options_init(&c->observe_options);
    if (options)
        c->observe_options = *options;
    return call_start(c, out);
}

SIPC_API int sipc_async_stat(const char *name, sipc_async_notify_fn notify, uint32_t token, sipc_async_call **out)
{
    return sipc_async_stat_ex(name, SIPC_DEFAULT_LOCK_TIMEOUT_MS, notify, token, out);
}

SIPC_API int sipc_async_stat_ex(const char *name, int32_t timeout_ms, sipc_async_notify_fn notify, uint32_t token,
                                sipc_async_call **out)
{
    if (timeout_ms < SIPC_INFINITE) {
        if (out)
            *out = NULL;
        return SIPC_ERR_INVALID_ARGUMENT;
    }
    sipc_async_call *c = NULL;
    int rc = call_by_name(CALL_STAT, name, notify, token, out, &c);
    if (rc != SIPC_OK)
        return rc;
    c->timeout_ms = timeout_ms;
    return call_start(c, out);
}

SIPC_API int sipc_async_remove(const char *name, int force, sipc_async_notify_fn notify, uint32_t token,
                               sipc_async_call **out)
{
    sipc_async_call *c = NULL;
    int rc = call_by_name(CALL_REMOVE, name, notify, token, out, &c);
    if (rc != SIPC_OK)
        return rc;
    c->force = force != 0;
    return call_start(c, out);
}

SIPC_API int sipc_async_list(sipc_async_notify_fn notify, uint32_t token, sipc_async_call **out)
{
    if (!out || !notify)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    sipc_async_call *c = call_new(CALL_LIST, notify, token);
    return c ? call_start(c, out) : SIPC_ERR_NO_MEMORY;
}

SIPC_API int sipc_async_process_describe(int64_t pid, sipc_async_notify_fn notify, uint32_t token,
                                         sipc_async_call **out)
{
    if (!out || !notify)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (pid <= 0)
        return SIPC_ERR_INVALID_ARGUMENT;
    sipc_async_call *c = call_new(CALL_DESCRIBE_PROCESS, notify, token);
    if (!c)
        return SIPC_ERR_NO_MEMORY;
    c->pid = pid;
    return call_start(c, out);
}

SIPC_API int sipc_async_channel_close(sipc_async_channel *h, sipc_async_notify_fn notify, uint32_t token,
                                      sipc_async_call **out)
{
    if (!h || !out || !notify)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    sipc_async_call *c = call_new(CALL_CLOSE_CHANNEL, notify, token);
    if (!c)
        return SIPC_ERR_NO_MEMORY;
    sipc_async_channel_stop(h);
    c->closing_channel = h;
    return call_start(c, out);
}

SIPC_API int sipc_async_observer_close(sipc_async_observer *h, sipc_async_notify_fn notify, uint32_t token,
                                       sipc_async_call **out)
{
    if (!h || !out || !notify)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    sipc_async_call *c = call_new(CALL_CLOSE_OBSERVER, notify, token);
    if (!c)
        return SIPC_ERR_NO_MEMORY;
    sipc_async_observer_stop(h);
    c->closing_observer = h;
    return call_start(c, out);
}

SIPC_API int sipc_async_call_arm(sipc_async_call *c, int armed)
{
    if (!c)
        return SIPC_ERR_INVALID_ARGUMENT;
    return notifier_arm(&c->n, armed);
}

SIPC_API int sipc_async_call_poll(sipc_async_call *c, sipc_async_call_status *status)
{
    if (!c || !status)
        return SIPC_ERR_INVALID_ARGUMENT;
    sipc_os_mutex_lock(&c->n.lock);
    status->status = c->status;
    status->entries = c->status == SIPC_ASYNC_PENDING ? 0 : c->entry_count;
    status->notifying = c->n.notifying;
    status->os_error = c->status == SIPC_ASYNC_PENDING ? 0 : c->os_error;
    c->n.notify_pending = 0;
    sipc_os_mutex_unlock(&c->n.lock);
    return SIPC_OK;
}

/* The thread's outputs may be read once status is set; returns that status under the lock. */
static int32_t call_status(sipc_async_call *c)
{
    sipc_os_mutex_lock(&c->n.lock);
    int32_t status = c->status;
    sipc_os_mutex_unlock(&c->n.lock);
    return status;
}

SIPC_API int sipc_async_call_take_channel(sipc_async_call *c, sipc_channel **out)
{
    if (!c || !out || c->kind != CALL_OPEN)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    int32_t status = call_status(c);
    if (status != SIPC_OK)
        return status == SIPC_ASYNC_PENDING ? SIPC_ERR_BUSY : status;
    *out = c->channel;
    c->channel = NULL;
    return *out ? SIPC_OK : SIPC_ERR_CLOSED;
}

SIPC_API int sipc_async_call_take_observer(sipc_async_call *c, sipc_observer **out)
{
    if (!c || !out || c->kind != CALL_OBSERVE)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    int32_t status = call_status(c);
    if (status != SIPC_OK)
        return status == SIPC_ASYNC_PENDING ? SIPC_ERR_BUSY : status;
    *out = c->observer;
    c->observer = NULL;
    return *out ? SIPC_OK : SIPC_ERR_CLOSED;
}

SIPC_API int sipc_async_call_entry(sipc_async_call *c, uint32_t index, sipc_channel_info *info, int32_t *status)
{
    if (!c || !info || !status || info->struct_size < sizeof *info)
        return SIPC_ERR_INVALID_ARGUMENT;
    if (call_status(c) == SIPC_ASYNC_PENDING)
        return SIPC_ERR_BUSY;
    if (index >= c->entry_count)
        return SIPC_ERR_NOT_FOUND;
    uint32_t struct_size = info->struct_size;
    memcpy(info, &c->entries[index].info, sizeof *info);
    info->struct_size = struct_size;
    *status = c->entries[index].status;
    return SIPC_OK;
}

SIPC_API int sipc_async_call_process_info(sipc_async_call *c, sipc_process_info *info)
{
    if (!c || !info || info->struct_size < sizeof *info || c->kind != CALL_DESCRIBE_PROCESS)
        return SIPC_ERR_INVALID_ARGUMENT;
    int32_t status = call_status(c);
    if (status != SIPC_OK)
        return status == SIPC_ASYNC_PENDING ? SIPC_ERR_BUSY : status;
    uint32_t struct_size = info->struct_size;
    memcpy(info, &c->process, sizeof *info);
    info->struct_size = struct_size;
    return SIPC_OK;
}

SIPC_API const char *sipc_async_call_detail(sipc_async_call *c, int32_t index)
{
    if (!c || call_status(c) == SIPC_ASYNC_PENDING)
        return NULL;
    if (index < 0)
        return c->detail;
    return (uint32_t)index < c->entry_count ? c->entries[index].detail : NULL;
}

SIPC_API int sipc_async_call_take_send_results(sipc_async_call *c, int32_t *statuses, uint32_t max_count,
                                               uint32_t *count)
{
    if (!c || !count || (max_count > 0 && !statuses) || c->kind != CALL_CLOSE_CHANNEL)
        return SIPC_ERR_INVALID_ARGUMENT;
    *count = 0;
    if (call_status(c) == SIPC_ASYNC_PENDING)
        return SIPC_ERR_BUSY;
    uint32_t taken = 0;
    msg_node *node;
    while (taken < max_count && (node = queue_pop(&c->send_done)) != NULL) {
        statuses[taken++] = node->status;
        free(node);
    }
    *count = taken;
    return SIPC_OK;
}

SIPC_API int sipc_async_call_release(sipc_async_call *c)
{
    if (!c)
        return SIPC_ERR_INVALID_ARGUMENT;
    int in_progress = notifier_stop(&c->n);
    call_unref(c);
    return in_progress;
}

/* ---- watching the channels of the machine ---- */

struct sipc_async_watch {
    notifier n;
    sipc_os_key_monitor *monitor;
    uint32_t interval_ms;
    int refs;         /* under n.lock: the thread's and the main thread's */
    uint64_t changes; /* under n.lock */
    int polled;       /* under n.lock: the caller polled since the last report, so it may have listed since */
};

/* handle_new/handle_free rely on it. */
_Static_assert(offsetof(struct sipc_async_channel, n) == 0 && offsetof(struct sipc_async_observer, n) == 0 &&
                   offsetof(struct sipc_async_call, n) == 0 && offsetof(struct sipc_async_watch, n) == 0,
               "every async handle starts with its notifier");

/* FNV-1a over a byte range, continuing from `hash`. */
static uint64_t fnv1a(uint64_t hash, const void *data, size_t length)
{
    const unsigned char *bytes = data;
    for (size_t i = 0; i < length; i++)
        hash = (hash ^ bytes[i]) * 0x100000001b3ull;
    return hash;
}

typedef struct fingerprint {
    uint64_t sum; /* order-independent: readdir order may change while the set does not */
    uint64_t count;
    int ok;
} fingerprint;

static int fingerprint_visit(const sipc_list_entry *entry, void *user)
{
    fingerprint *f = user;
    uint64_t hash = fnv1a(0xcbf29ce484222325ull, entry->key, strlen(entry->key));
    int32_t facts[8] = {entry->status};
    if (entry->status == SIPC_OK) {
        sipc_channel_info info;
        memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        facts[1] = sipc_stat(entry->name, &info);
        facts[2] = info.state;
        facts[3] = (int32_t)info.server_pid;
        facts[4] = (int32_t)info.client_pid;
        facts[5] = info.server_alive | info.client_alive << 1;
        facts[6] = (int32_t)info.connections;
    }
    hash = fnv1a(hash, facts, sizeof facts);
    f->sum += hash * 0x9e3779b97f4a7c15ull + (hash >> 29);
    f->count++;
    return 0;
}

static fingerprint take_fingerprint(void)
{
    fingerprint f = {0, 0, 0};
    f.ok = sipc_list_entries(fingerprint_visit, &f) == SIPC_OK;
    return f;
}

static void watch_unref(sipc_async_watch *h)
{
    sipc_os_mutex_lock(&h->n.lock);
    int last = --h->refs == 0;
    sipc_os_mutex_unlock(&h->n.lock);
    if (last) {
        sipc_os_key_monitor_close(h->monitor);
        handle_free(&h->n);
    }
}

/* After a reported change, keeps collecting the burst that usually follows (create, size, first
 * open...) for this long, so one notify covers it. */
#define WATCH_SETTLE_MS 20
#define WATCH_SETTLE_MAX_MS 200
/* A new segment becomes listable only when its creator initialised the header, which the OS does not
 * report (it is a write to the mapping): after a reported change, look again this often, this many times. */
#define WATCH_FOLLOW_UP_MS 50
#define WATCH_FOLLOW_UPS 6

static sipc_test_hook watch_test_hook; /* atomic; test_hooks.h */
static void *watch_test_hook_arg;

void sipc_async_watch_set_test_hook(sipc_test_hook hook, void *arg)
{
    watch_test_hook_arg = arg;
    __atomic_store_n(&watch_test_hook, hook, __ATOMIC_RELEASE);
}

static void *watch_main(void *arg)
{
    sipc_async_watch *h = arg;
    sipc_test_hook hook = __atomic_load_n(&watch_test_hook, __ATOMIC_ACQUIRE);
    void *hook_arg = watch_test_hook_arg;
    if (hook != NULL)
        hook(hook_arg, SIPC_TEST_WATCH_STARTING);
    fingerprint last = take_fingerprint();
    uint32_t follow_ups = 0;
    int reported = 0;
    if (hook != NULL)
        hook(hook_arg, SIPC_TEST_WATCH_TOOK_FIRST_LOOK);
    /* The monitor was armed in sipc_async_watch_start, before this thread ran: what changed in between is
     * queued in it and may or may not be in that first look, where a comparison would miss it. Report it,
     * and compare from a look taken after the queue was drained: a first look taken before a channel
     * appeared would otherwise equal the one taken after it vanished again, and the removal would go
     * unreported. Where the OS reports nothing, any change since the start may be in the first look:
     * report once (a caller that listed before a channel appeared in that window lists again). */
    if (!SIPC_OS_KEY_MONITOR_REPORTS || sipc_os_key_monitor_wait(h->monitor, 1) == SIPC_OK) {
        follow_ups = WATCH_FOLLOW_UPS;
        last = take_fingerprint();
        sipc_os_mutex_lock(&h->n.lock);
        if (!h->n.stopping) {
            h->changes++;
            h->polled = 0;
            reported = 1;
            notify_locked(&h->n);
        }
        sipc_os_mutex_unlock(&h->n.lock);
    }
    for (;;) {
        if (reported && hook != NULL)
            hook(hook_arg, SIPC_TEST_WATCH_REPORTED);
        reported = 0;
        int32_t timeout =
            follow_ups > 0 && WATCH_FOLLOW_UP_MS < h->interval_ms ? WATCH_FOLLOW_UP_MS : (int32_t)h->interval_ms;
        int rc = sipc_os_key_monitor_wait(h->monitor, timeout);
        int last_follow_up = follow_ups == 1;
        if (follow_ups > 0)
            follow_ups--;
        if (rc == SIPC_OK) {
            follow_ups = WATCH_FOLLOW_UPS;
            for (uint32_t settled = 0; settled < WATCH_SETTLE_MAX_MS; settled += WATCH_SETTLE_MS) {
                rc = sipc_os_key_monitor_wait(h->monitor, WATCH_SETTLE_MS);
                if (rc != SIPC_OK)
                    break;
            }
        }
        if (rc == SIPC_ERR_CANCELLED)
            break;
        fingerprint now = take_fingerprint();
        sipc_os_mutex_lock(&h->n.lock);
        int stopping = h->n.stopping;
        int changed = now.ok && (now.sum != last.sum || now.count != last.count || !last.ok);
        /* A caller that listed after our last report may have seen a state between two of our looks (a
         * channel made and removed again): it would keep showing it, as no look of ours differs from the
         * last. Once the burst settles, such a caller is told once more, to list the settled state. */
        if (!stopping && (changed || (last_follow_up && follow_ups == 0 && h->polled))) {
            if (changed)
                last = now;
            h->changes++;
            h->polled = 0;
            reported = 1;
            notify_locked(&h->n);
        }
        sipc_os_mutex_unlock(&h->n.lock);
        if (stopping)
            break;
    }
    watch_unref(h);
    return NULL;
}

SIPC_API int sipc_async_watch_start(uint32_t interval_ms, sipc_async_notify_fn notify, uint32_t token,
                                    sipc_async_watch **out)
{
    if (!notify || !out || interval_ms == 0 || interval_ms > INT32_MAX)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    int rc;
    sipc_async_watch *h = handle_new(sizeof *h, notify, token, &rc);
    if (!h)
        return rc;
    rc = sipc_os_key_monitor_open(&h->monitor);
    if (rc != SIPC_OK) {
        handle_free(&h->n);
        return rc;
    }
    h->interval_ms = interval_ms;
    h->refs = 2;
    sipc_os_thread thread;
    if (sipc_os_thread_create(&thread, watch_main, h) != SIPC_OK) {
        sipc_os_key_monitor_close(h->monitor);
        handle_free(&h->n);
        return SIPC_ERR_SYSTEM;
    }
    sipc_os_thread_detach(&thread);
    *out = h;
    return SIPC_OK;
}

SIPC_API int sipc_async_watch_arm(sipc_async_watch *h, int armed)
{
    if (!h)
        return SIPC_ERR_INVALID_ARGUMENT;
    return notifier_arm(&h->n, armed);
}

SIPC_API int sipc_async_watch_poll(sipc_async_watch *h, uint64_t *changes)
{
    if (!h || !changes)
        return SIPC_ERR_INVALID_ARGUMENT;
    sipc_os_mutex_lock(&h->n.lock);
    *changes = h->changes;
    h->polled = 1;
    h->n.notify_pending = 0;
    sipc_os_mutex_unlock(&h->n.lock);
    return SIPC_OK;
}

SIPC_API int sipc_async_watch_release(sipc_async_watch *h)
{
    if (!h)
        return SIPC_ERR_INVALID_ARGUMENT;
    int in_progress = notifier_stop(&h->n);
    sipc_os_key_monitor_interrupt(h->monitor);
    watch_unref(h);
    return in_progress;
}
