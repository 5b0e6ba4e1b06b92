/*
 * async.c — native threads that do a channel's (or an observer's) blocking waits for an event loop
 * that must never block; see include/sipc_async.h for the protocol.
 *
 * Locking: every field below `lock` is guarded by it, except the immutable ones set before the
 * threads start (channel, observer, notify, token, capacity). sipc_* calls that may block are always
 * made without holding the lock; stop() relies on sipc_cancel being sticky to wake them.
 */
#include "sipc_async.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A flowing channel keeps at most this much received ahead of the main thread, so a slow consumer
 * pushes back on the sender through the shared queue instead of growing our memory. */
#define FLOW_MAX_MESSAGES 256u
#define FLOW_MAX_BYTES (8u * 1024u * 1024u)
/* An observer that falls further behind than this lets the library count what it misses. */
#define OBSERVER_MAX_READY 1024u
/* take_now spins this long before it starts yielding the CPU between looks. */
#define TAKE_NOW_YIELD_AFTER_NS 2000

typedef struct msg_node {
    struct msg_node *next;
    size_t length;     /* bytes in data */
    int32_t status;    /* send outcome (sender results) */
    int64_t deadline;  /* monotonic ns, -1 for none (queued sends) */
    uint64_t meta[SIPC_ASYNC_OBSERVED_FIELDS]; /* observed messages */
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
        node->deadline = -1;
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

static void queue_free(msg_queue *q)
{
    msg_node *node;
    while ((node = queue_pop(q)) != NULL)
        free(node);
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int32_t remaining_ms(int64_t deadline)
{
    if (deadline < 0)
        return SIPC_INFINITE;
    int64_t left = deadline - monotonic_ns();
    if (left <= 0)
        return 0;
    int64_t ms = (left + 999999) / 1000000;
    return ms > INT32_MAX ? INT32_MAX : (int32_t)ms;
}

/* ---- notification, shared by channels and observers ---- */

typedef struct notifier {
    pthread_mutex_t lock;
    pthread_cond_t wake;     /* any change the threads may wait for */
    sipc_async_notify_fn notify;
    uint32_t token;
    int armed;
    int stopping;
    int notify_pending;      /* notified, not polled since */
    uint32_t notifying;      /* notify calls in progress */
} notifier;

static int notifier_init(notifier *n, sipc_async_notify_fn notify, uint32_t token)
{
    memset(n, 0, sizeof *n);
    if (pthread_mutex_init(&n->lock, NULL) != 0)
        return SIPC_ERR_SYSTEM;
    if (pthread_cond_init(&n->wake, NULL) != 0) {
        pthread_mutex_destroy(&n->lock);
        return SIPC_ERR_SYSTEM;
    }
    n->notify = notify;
    n->token = token;
    n->armed = 1;
    return SIPC_OK;
}

static void notifier_destroy(notifier *n)
{
    pthread_cond_destroy(&n->wake);
    pthread_mutex_destroy(&n->lock);
}

/* Called and returns with n->lock held; the lock is released around the call, which may wait for the
 * main thread. */
static void notify_locked(notifier *n)
{
    if (!n->armed || n->stopping || n->notify_pending)
        return;
    n->notify_pending = 1;
    n->notifying++;
    pthread_mutex_unlock(&n->lock);
    n->notify(n->token);
    pthread_mutex_lock(&n->lock);
    n->notifying--;
    pthread_cond_broadcast(&n->wake);
}

static int notifier_arm(notifier *n, int armed)
{
    pthread_mutex_lock(&n->lock);
    n->armed = armed != 0;
    int in_progress = (int)n->notifying;
    pthread_mutex_unlock(&n->lock);
    return in_progress;
}

/* Returns the notify calls in progress. */
static int notifier_stop(notifier *n)
{
    pthread_mutex_lock(&n->lock);
    n->stopping = 1;
    int in_progress = (int)n->notifying;
    pthread_cond_broadcast(&n->wake);
    pthread_mutex_unlock(&n->lock);
    return in_progress;
}

/* ---- channels ---- */

struct sipc_async_channel {
    notifier n;
    pthread_mutex_t recv_lock; /* held by whoever takes messages off the channel (ordering); before n.lock */
    sipc_channel *channel;
    pthread_t receiver;
    pthread_t sender;
    int sender_started;
    int joined;              /* main thread only */
    int32_t connect_status;
    int32_t recv_status;
    int flowing;
    int paused;              /* the main thread is receiving itself (take_now): stay off the channel */
    uint32_t want;
    int queue_has_message;   /* a message waits in the shared queue that nobody asked for yet */
    msg_queue ready;
    msg_queue sends;
    msg_queue send_done;
    uint32_t sends_queued;
};

static int receive_wanted(const sipc_async_channel *h)
{
    if (h->recv_status != SIPC_OK || h->connect_status != SIPC_OK)
        return 0;
    if (h->flowing && (h->ready.count == 0 ||
                       (h->ready.count < FLOW_MAX_MESSAGES && h->ready.bytes < FLOW_MAX_BYTES)))
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
        pthread_mutex_unlock(&h->n.lock);
        int rc;
        msg_node *node = node_new(size);
        /* recv_lock is held from the receive until the message is in `ready`, so the main thread's
         * take_now (which drains `ready` before it receives) can never overtake it. */
        pthread_mutex_lock(&h->recv_lock);
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
        pthread_mutex_lock(&h->n.lock);
        pthread_mutex_unlock(&h->recv_lock);
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
        pthread_mutex_unlock(&h->n.lock);
        rc = sipc_peek_size(h->channel, &size, 0);
        pthread_mutex_lock(&h->n.lock);
        if (rc != SIPC_OK)
            return rc;
    }
}

static void *receiver_main(void *arg)
{
    sipc_async_channel *h = arg;
    pthread_mutex_lock(&h->n.lock);
    while (!h->n.stopping) {
        if (h->connect_status == SIPC_ASYNC_PENDING) {
            pthread_mutex_unlock(&h->n.lock);
            /* Sleeps until a peer session begins (or began already: one that attached, sent and left
             * before we looked counts too); stop() wakes it through sipc_cancel. */
            int rc = sipc_connect(h->channel, SIPC_INFINITE);
            pthread_mutex_lock(&h->n.lock);
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
            pthread_cond_wait(&h->n.wake, &h->n.lock);
            continue;
        }
        pthread_mutex_unlock(&h->n.lock);
        size_t size = 0;
        /* Ends with PEER_GONE once the peer left and everything it sent was received. */
        int rc = sipc_peek_size(h->channel, &size, SIPC_INFINITE);
        pthread_mutex_lock(&h->n.lock);
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
    pthread_mutex_unlock(&h->n.lock);
    return NULL;
}

static void *sender_main(void *arg)
{
    sipc_async_channel *h = arg;
    pthread_mutex_lock(&h->n.lock);
    for (;;) {
        while (!h->n.stopping && !h->sends.head)
            pthread_cond_wait(&h->n.wake, &h->n.lock);
        if (h->n.stopping)
            break;
        msg_node *node = queue_pop(&h->sends);
        pthread_mutex_unlock(&h->n.lock);
        int rc = sipc_send(h->channel, node->data, node->length, remaining_ms(node->deadline));
        node->status = rc;
        node->length = 0;
        msg_node *small = realloc(node, sizeof(msg_node));
        if (small)
            node = small;
        pthread_mutex_lock(&h->n.lock);
        queue_push(&h->send_done, node);
        h->sends_queued--;
        notify_locked(&h->n);
    }
    pthread_mutex_unlock(&h->n.lock);
    return NULL;
}

SIPC_API int sipc_async_channel_start(sipc_channel *channel, sipc_async_notify_fn notify, uint32_t token,
                                      sipc_async_channel **out)
{
    if (!channel || !notify || !out)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    sipc_async_channel *h = calloc(1, sizeof *h);
    if (!h)
        return SIPC_ERR_NO_MEMORY;
    int rc = notifier_init(&h->n, notify, token);
    if (rc != SIPC_OK) {
        free(h);
        return rc;
    }
    if (pthread_mutex_init(&h->recv_lock, NULL) != 0) {
        notifier_destroy(&h->n);
        free(h);
        return SIPC_ERR_SYSTEM;
    }
    h->channel = channel;
    h->connect_status = SIPC_ASYNC_PENDING;
    h->recv_status = SIPC_OK;
    if (pthread_create(&h->receiver, NULL, receiver_main, h) != 0) {
        pthread_mutex_destroy(&h->recv_lock);
        notifier_destroy(&h->n);
        free(h);
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
    pthread_mutex_lock(&h->n.lock);
    int was_paused = h->paused;
    h->flowing = (flags & SIPC_ASYNC_FLOWING) != 0;
    h->paused = (flags & SIPC_ASYNC_PAUSED) != 0;
    int64_t want = (int64_t)h->want + want_delta;
    h->want = want < 0 ? 0 : want > UINT32_MAX ? UINT32_MAX : (uint32_t)want;
    /* Wake the thread only when it may have something to do now; a busy channel pauses and resumes it
     * per message, and a needless wake-up costs a context switch each time. */
    if (!h->paused && (was_paused || h->flowing || want_delta > 0))
        pthread_cond_broadcast(&h->n.wake);
    pthread_mutex_unlock(&h->n.lock);
    return SIPC_OK;
}

SIPC_API int sipc_async_channel_reconnect(sipc_async_channel *h)
{
    if (!h)
        return SIPC_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&h->n.lock);
    int rc = SIPC_OK;
    if (h->n.stopping)
        rc = SIPC_ERR_CLOSED;
    else if (h->connect_status == SIPC_OK && h->recv_status == SIPC_OK)
        rc = SIPC_OK; /* still connected: nothing to do */
    else if (h->connect_status != SIPC_ASYNC_PENDING) {
        h->connect_status = SIPC_ASYNC_PENDING;
        pthread_cond_broadcast(&h->n.wake);
    }
    pthread_mutex_unlock(&h->n.lock);
    return rc;
}

SIPC_API int sipc_async_channel_poll(sipc_async_channel *h, sipc_async_status *status)
{
    if (!h || !status)
        return SIPC_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&h->n.lock);
    status->connect_status = h->connect_status;
    status->recv_status = h->recv_status;
    status->ready_count = h->ready.count;
    status->ready_bytes = h->ready.bytes;
    status->send_results = h->send_done.count;
    status->sends_queued = h->sends_queued;
    status->notifying = h->n.notifying;
    h->n.notify_pending = 0;
    pthread_mutex_unlock(&h->n.lock);
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
    pthread_mutex_lock(&h->n.lock);
    size_t used = 0;
    uint32_t taken = take_ready_locked(h, (unsigned char *)buffer, capacity, &used, lengths, max_count, 0);
    int rc = (taken == 0 && h->ready.head && max_count > 0) ? SIPC_ERR_BUFFER_TOO_SMALL : SIPC_OK;
    h->want = h->want > taken ? h->want - taken : 0;
    if (taken > 0)
        pthread_cond_broadcast(&h->n.wake);
    pthread_mutex_unlock(&h->n.lock);
    *count = taken;
    return rc;
}

SIPC_API int sipc_async_channel_take_now(sipc_async_channel *h, void *buffer, size_t capacity, uint32_t *lengths,
                                         uint32_t max_count, uint32_t *count, uint32_t spin_us)
{
    if (!h || !count || !lengths || max_count == 0 || !buffer || spin_us > SIPC_ASYNC_MAX_SPIN_US)
        return SIPC_ERR_INVALID_ARGUMENT;
    *count = 0;
    const int64_t started = monotonic_ns();
    const int64_t deadline = started + (int64_t)spin_us * 1000;
    uint32_t taken = 0;
    size_t used = 0;
    for (;;) {
        if (pthread_mutex_trylock(&h->recv_lock) == 0) {
            pthread_mutex_lock(&h->n.lock);
            int receiving = !h->n.stopping && h->recv_status == SIPC_OK && h->connect_status == SIPC_OK;
            int had_ready = h->ready.head != NULL;
            taken = take_ready_locked(h, buffer, capacity, &used, lengths, max_count, taken);
            /* Older messages that did not fit stay first in line: nothing may be received past them. */
            int blocked = h->ready.head != NULL;
            pthread_mutex_unlock(&h->n.lock);
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
            pthread_mutex_lock(&h->n.lock);
            h->want = h->want > taken ? h->want - taken : 0;
            if (had_ready)
                pthread_cond_broadcast(&h->n.wake);
            pthread_mutex_unlock(&h->n.lock);
            pthread_mutex_unlock(&h->recv_lock);
        }
        if (taken > 0)
            break;
        int64_t now = monotonic_ns();
        if (now >= deadline)
            break;
        /* The peer may be waiting for this very CPU (two spinners on a loaded machine): past the first
         * microseconds, let any thread runnable here go first. Without one this returns at once. */
        if (now - started >= TAKE_NOW_YIELD_AFTER_NS)
            sched_yield();
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
    node->deadline = timeout_ms < 0 ? -1 : monotonic_ns() + (int64_t)timeout_ms * 1000000;
    pthread_mutex_lock(&h->n.lock);
    int rc = SIPC_OK;
    if (h->n.stopping) {
        rc = SIPC_ERR_CLOSED;
    } else if (!h->sender_started) {
        if (pthread_create(&h->sender, NULL, sender_main, h) == 0)
            h->sender_started = 1;
        else
            rc = SIPC_ERR_SYSTEM;
    }
    if (rc == SIPC_OK) {
        queue_push(&h->sends, node);
        h->sends_queued++;
        pthread_cond_broadcast(&h->n.wake);
    }
    pthread_mutex_unlock(&h->n.lock);
    if (rc != SIPC_OK)
        free(node);
    return rc;
}

SIPC_API int sipc_async_channel_take_send_results(sipc_async_channel *h, int32_t *statuses, uint32_t max_count,
                                                  uint32_t *count)
{
    if (!h || !count || (max_count > 0 && !statuses))
        return SIPC_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&h->n.lock);
    uint32_t taken = 0;
    while (taken < max_count && h->send_done.head) {
        msg_node *node = queue_pop(&h->send_done);
        statuses[taken++] = node->status;
        free(node);
    }
    pthread_mutex_unlock(&h->n.lock);
    *count = taken;
    return SIPC_OK;
}

SIPC_API sipc_channel *sipc_async_channel_handle(sipc_async_channel *h)
{
    return h ? h->channel : NULL;
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
    pthread_join(h->receiver, NULL);
    pthread_mutex_lock(&h->n.lock);
    int sender_started = h->sender_started;
    pthread_mutex_unlock(&h->n.lock);
    if (sender_started)
        pthread_join(h->sender, NULL);
    h->joined = 1;
    return SIPC_OK;
}

SIPC_API int sipc_async_channel_destroy(sipc_async_channel *h)
{
    int rc = sipc_async_channel_join(h);
    if (rc != SIPC_OK)
        return rc;
    rc = sipc_close(h->channel);
    queue_free(&h->ready);
    queue_free(&h->sends);
    queue_free(&h->send_done);
    pthread_mutex_destroy(&h->recv_lock);
    notifier_destroy(&h->n);
    free(h);
    return rc;
}

/* ---- observers ---- */

struct sipc_async_observer {
    notifier n;
    sipc_observer *observer;
    uint32_t capacity;
    pthread_t thread;
    int32_t status;
    msg_queue ready;
};

/* One sipc_observer_next call, made without the lock. */
static int observe_one(sipc_async_observer *h, int32_t timeout_ms, msg_node **out)
{
    *out = NULL;
    msg_node *node = node_new(h->capacity);
    if (!node)
        return SIPC_ERR_NO_MEMORY;
    sipc_observed_message m;
    memset(&m, 0, sizeof m);
    m.struct_size = sizeof m;
    int rc = sipc_observer_next(h->observer, node->data, h->capacity, &m, timeout_ms);
    if (rc == SIPC_OK && (m.copied > h->capacity || m.copied > m.length))
        rc = SIPC_ERR_CORRUPT;
    if (rc != SIPC_OK) {
        free(node);
        return rc;
    }
    node->length = m.copied;
    node->meta[0] = (uint64_t)(uint32_t)m.direction;
    node->meta[1] = m.sequence;
    node->meta[2] = m.timestamp_ns;
    node->meta[3] = m.length;
    node->meta[4] = m.copied;
    node->meta[5] = m.missed;
    msg_node *small = realloc(node, sizeof(msg_node) + m.copied);
    *out = small ? small : node;
    return SIPC_OK;
}

static void *observer_main(void *arg)
{
    sipc_async_observer *h = arg;
    pthread_mutex_lock(&h->n.lock);
    for (;;) {
        while (!h->n.stopping && h->ready.count >= OBSERVER_MAX_READY)
            pthread_cond_wait(&h->n.wake, &h->n.lock);
        if (h->n.stopping)
            break;
        pthread_mutex_unlock(&h->n.lock);
        msg_node *node;
        int rc = observe_one(h, SIPC_INFINITE, &node);
        pthread_mutex_lock(&h->n.lock);
        /* Batch whatever else is already there into the same notification. */
        while (rc == SIPC_OK && !h->n.stopping) {
            queue_push(&h->ready, node);
            if (h->ready.count >= OBSERVER_MAX_READY)
                break;
            pthread_mutex_unlock(&h->n.lock);
            rc = observe_one(h, 0, &node);
            pthread_mutex_lock(&h->n.lock);
        }
        if (rc == SIPC_OK && h->n.stopping)
            free(node);
        if (h->n.stopping)
            break;
        if (rc != SIPC_OK && rc != SIPC_ERR_TIMEOUT)
            h->status = rc;
        notify_locked(&h->n);
        if (h->status != SIPC_OK)
            break;
    }
    pthread_mutex_unlock(&h->n.lock);
    return NULL;
}

SIPC_API int sipc_async_observer_start(sipc_observer *observer, uint32_t capacity, sipc_async_notify_fn notify,
                                       uint32_t token, sipc_async_observer **out)
{
    if (!observer || !notify || !out || capacity > SIPC_MAX_MESSAGE_LIMIT)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    sipc_async_observer *h = calloc(1, sizeof *h);
    if (!h)
        return SIPC_ERR_NO_MEMORY;
    int rc = notifier_init(&h->n, notify, token);
    if (rc != SIPC_OK) {
        free(h);
        return rc;
    }
    h->observer = observer;
    h->capacity = capacity;
    h->status = SIPC_OK;
    if (pthread_create(&h->thread, NULL, observer_main, h) != 0) {
        notifier_destroy(&h->n);
        free(h);
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
    pthread_mutex_lock(&h->n.lock);
    status->status = h->status;
    status->ready_count = h->ready.count;
    status->ready_bytes = h->ready.bytes;
    status->notifying = h->n.notifying;
    status->reserved = 0;
    h->n.notify_pending = 0;
    pthread_mutex_unlock(&h->n.lock);
    return SIPC_OK;
}

SIPC_API int sipc_async_observer_take(sipc_async_observer *h, void *buffer, size_t capacity, uint64_t *fields,
                                      uint32_t max_count, uint32_t *count)
{
    if (!h || !count || (max_count > 0 && !fields) || (capacity > 0 && !buffer))
        return SIPC_ERR_INVALID_ARGUMENT;
    *count = 0;
    pthread_mutex_lock(&h->n.lock);
    size_t used = 0;
    uint32_t taken = 0;
    while (taken < max_count && h->ready.head && h->ready.head->length <= capacity - used) {
        msg_node *node = queue_pop(&h->ready);
        if (node->length > 0)
            memcpy((unsigned char *)buffer + used, node->data, node->length);
        used += node->length;
        memcpy(fields + (size_t)taken * SIPC_ASYNC_OBSERVED_FIELDS, node->meta, sizeof node->meta);
        taken++;
        free(node);
    }
    int rc = (taken == 0 && h->ready.head && max_count > 0) ? SIPC_ERR_BUFFER_TOO_SMALL : SIPC_OK;
    if (taken > 0)
        pthread_cond_broadcast(&h->n.wake);
    pthread_mutex_unlock(&h->n.lock);
    *count = taken;
    return rc;
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
    sipc_observer_cancel(h->observer);
    return in_progress;
}

SIPC_API int sipc_async_observer_destroy(sipc_async_observer *h)
{
    if (!h)
        return SIPC_ERR_INVALID_ARGUMENT;
    if (sipc_async_observer_stop(h) > 0)
        return SIPC_ERR_BUSY;
    pthread_join(h->thread, NULL);
    int rc = sipc_observer_close(h->observer);
    queue_free(&h->ready);
    notifier_destroy(&h->n);
    free(h);
    return rc;
}
