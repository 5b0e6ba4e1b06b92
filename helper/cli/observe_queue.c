/* Copying an observer's messages on a thread of its own; see observe_queue.h. */
#include "observe_queue.h"

#include "deadline.h"
#include "platform.h"

#include <stdlib.h>
#include <string.h>

typedef struct queued {
    struct queued *next;
    cli_observed item; /* item.data points to payload */
    uint8_t payload[];
} queued;

struct cli_observe_queue {
    sipc_observer *observer;
    size_t capacity;
    int32_t quiet_ms;
    int32_t timeout_ms;
    int32_t idle_ms;
    uint64_t deadline;
    uint8_t *scratch; /* capacity bytes: the copy lands here first, then in an item of its own size */
    sipc_os_thread thread;
    sipc_os_mutex lock;
    sipc_os_cond changed; /* an item was queued or taken, or stopping */
    queued *head;
    queued *tail;
    size_t bytes;     /* memory the queued items hold */
    size_t items;     /* items queued */
    int stopping;     /* the printer stops: the copier ends without queueing more */
    queued *end_node; /* set aside for the END item, so that even running out of memory can be said */
    queued *taken;    /* the item the printer holds (freed at its next call) */
};

/* Items the copier made and has not queued yet (it queues them all at once). */
typedef struct batch {
    queued *head;
    queued *tail;
    size_t bytes;
    unsigned count;
} batch;

/* The copier copies at most this many messages (while more are ready) before it queues them. */
#define COPIER_BATCH_ITEMS 4096u
/* The copier wakes the printer once this many items or bytes wait, or with a QUIET or END item (the channel went
 * quiet: what waits is due), not at every batch: on a channel with a message every few microseconds a batch is a few
 * messages, and a wake-up per batch cost both threads a futex call and the copier, when the printer preempted it,
 * the time away from the channel in which a plain observer misses messages. */
#define PRINTER_WAKE_ITEMS 256u
#define PRINTER_WAKE_BYTES (64u * 1024u)

/* Memory one item holds. */
static size_t item_bytes(const queued *node)
{
    return sizeof *node + (node->item.kind == CLI_OBSERVED_ITEM ? node->item.message.copied : 0);
}

/* Puts a made item at the batch's end. */
static void batch_link(batch *b, queued *node)
{
    if (b->tail)
        b->tail->next = node;
    else
        b->head = node;
    b->tail = node;
    b->bytes += item_bytes(node);
    b->count++;
}

/* Makes an item (kind, status, and for ITEM the message with its copied bytes from the scratch buffer) and adds it to
 * the batch; 0 when there is no memory for it. */
static int batch_add(cli_observe_queue *q, batch *b, cli_observed_kind kind, int status,
                     const sipc_observed_message *message)
{
    size_t length = kind == CLI_OBSERVED_ITEM ? message->copied : 0;
    queued *node = malloc(sizeof *node + length);
    if (node == NULL)
        return 0;
    memset(&node->item, 0, sizeof node->item);
    node->next = NULL;
    node->item.kind = kind;
    node->item.status = status;
    if (kind == CLI_OBSERVED_ITEM) {
        node->item.message = *message;
        if (length != 0)
            memcpy(node->payload, q->scratch, length);
    }
    node->item.data = node->payload;
    batch_link(b, node);
    return 1;
}

static void batch_free(batch *b)
{
    queued *node = b->head;
    while (node != NULL) {
        queued *next = node->next;
        free(node);
        node = next;
    }
    memset(b, 0, sizeof *b);
}

/* Queues the batch and then, if `end`, the END item with `status` (its memory is set aside, so even running out of
 * memory can be said), waking the printer once enough waits (PRINTER_WAKE_*), and waiting while the queue is full (a batch larger than the whole
 * bound goes in alone). 1 to go on copying; 0 once END is queued or when the printer stops meanwhile. */
static int enqueue(cli_observe_queue *q, batch *b, int end, int status)
{
    sipc_os_mutex_lock(&q->lock);
    while (!q->stopping && b->count > 0 && q->head != NULL && q->bytes + b->bytes > CLI_OBSERVE_QUEUE_BYTES) {
        sipc_os_cond_broadcast(&q->changed); /* what waits may be below the printer's wake-up marks */
        sipc_os_cond_wait(&q->changed, &q->lock);
    }
    if (q->stopping) {
        sipc_os_mutex_unlock(&q->lock);
        batch_free(b);
        return 0;
    }
    if (end) {
        queued *node = q->end_node;
        memset(&node->item, 0, sizeof node->item);
        node->next = NULL;
        node->item.kind = CLI_OBSERVED_END;
        node->item.status = status;
        node->item.data = node->payload;
        batch_link(b, node);
        q->end_node = NULL; /* the queue holds it now */
    }
    int due = end || (b->tail != NULL && b->tail->item.kind != CLI_OBSERVED_ITEM);
    if (b->head != NULL) {
        if (q->tail)
            q->tail->next = b->head;
        else
            q->head = b->head;
        q->tail = b->tail;
        q->bytes += b->bytes;
        q->items += b->count;
    }
    memset(b, 0, sizeof *b);
    if (due || q->items >= PRINTER_WAKE_ITEMS || q->bytes >= PRINTER_WAKE_BYTES)
        sipc_os_cond_broadcast(&q->changed);
    sipc_os_mutex_unlock(&q->lock);
    return !end;
}

/* A channel never quiet for quiet_ms (a message every few milliseconds) still gets a QUIET this long after the first
 * item the printer was not told to flush: what it shows lags the channel by at most this much. */
#define FLUSH_AT_LEAST_EVERY_NS 50000000ull

/* The copier: copies while messages come (everything that is ready in one batch, queued at once; the printer is woken
 * per PRINTER_WAKE_*, not per message), says QUIET after quiet_ms without one or FLUSH_AT_LEAST_EVERY_NS after the
 * first item not followed by one yet (and every idle_ms of a quiet spell, if asked), ends after timeout_ms more or at
 * the deadline (or when the observer fails, is cancelled or the channel is gone). */
static void *copier_main(void *arg)
{
    cli_observe_queue *q = arg;
    int quiet_said = 1;        /* nothing to flush before the first item */
    uint64_t unflushed_ns = 0; /* when the first item since the last QUIET was queued; 0: none since */
    for (;;) {
        /* After an item, first wait quiet_ms (a flush is due then), then timeout_ms (or idle_ms, again and again). */
        int quiet_wait =
            !quiet_said && q->timeout_ms != 0 && (q->timeout_ms == SIPC_INFINITE || q->timeout_ms > q->quiet_ms);
        int idle_wait = !quiet_wait && q->idle_ms > 0 && q->timeout_ms == SIPC_INFINITE;
        batch b = {0};
        int32_t timeout_ms = quiet_wait ? q->quiet_ms : idle_wait ? q->idle_ms : q->timeout_ms;
        if (q->deadline != SIPC_OS_NO_DEADLINE) {
            int32_t left_ms = sipc_deadline_ms_left(q->deadline);
            if (timeout_ms == SIPC_INFINITE || left_ms < timeout_ms)
                timeout_ms = left_ms;
        }
        int status;
        for (;;) {
            sipc_observed_message message;
            memset(&message, 0, sizeof message);
            message.struct_size = sizeof message;
            status = sipc_observer_next(q->observer, q->scratch, q->capacity, &message, timeout_ms);
            if (status == SIPC_OK && message.copied > q->capacity)
                status = SIPC_ERR_CORRUPT;
            if (status == SIPC_OK && !batch_add(q, &b, CLI_OBSERVED_ITEM, SIPC_OK, &message))
                status = SIPC_ERR_NO_MEMORY;
            if (status != SIPC_OK || b.count >= COPIER_BATCH_ITEMS || b.bytes >= CLI_OBSERVE_QUEUE_BYTES)
                break;
            timeout_ms = 0; /* the rest of what is ready, without waiting */
        }
        uint64_t now = sipc_os_monotonic_ns();
        int deadline_passed = q->deadline != SIPC_OS_NO_DEADLINE && now >= q->deadline;
        if (deadline_passed && (status == SIPC_OK || status == SIPC_ERR_TIMEOUT))
            status = SIPC_ERR_TIMEOUT; /* what was copied goes first, then END */
        if (b.count > 0) {
            quiet_said = 0;
            int more = !deadline_passed && (status == SIPC_OK || status == SIPC_ERR_TIMEOUT);
            if (unflushed_ns == 0) {
                unflushed_ns = now;
            } else if (more && now - unflushed_ns >= FLUSH_AT_LEAST_EVERY_NS) {
                if (!batch_add(q, &b, CLI_OBSERVED_QUIET, SIPC_OK, NULL)) {
                    enqueue(q, &b, 1, SIPC_ERR_NO_MEMORY);
                    return NULL;
                }
                unflushed_ns = 0;
            }
            if (!enqueue(q, &b, !more, status) || !more)
                return NULL;
            continue;
        }
        if (status == SIPC_ERR_TIMEOUT && !deadline_passed && (quiet_wait || idle_wait)) {
            quiet_said = 1;
            unflushed_ns = 0;
            if (!batch_add(q, &b, CLI_OBSERVED_QUIET, SIPC_OK, NULL)) {
                enqueue(q, &b, 1, SIPC_ERR_NO_MEMORY);
                return NULL;
            }
            if (!enqueue(q, &b, 0, SIPC_OK))
                return NULL;
            continue;
        }
        enqueue(q, &b, 1, status);
        return NULL;
    }
}

int cli_observe_queue_start(sipc_observer *observer, const cli_observe_queue_options *options, cli_observe_queue **out)
{
    *out = NULL;
    cli_observe_queue *q = calloc(1, sizeof *q);
    if (q == NULL)
        return SIPC_ERR_NO_MEMORY;
    q->observer = observer;
    q->capacity = options->capacity;
    q->quiet_ms = options->quiet_ms;
    q->timeout_ms = options->timeout_ms;
    q->idle_ms = options->idle_ms;
    q->deadline = options->deadline;
    q->scratch = malloc(q->capacity ? q->capacity : 1);
    q->end_node = malloc(sizeof(queued) + 1);
    if (q->scratch == NULL || q->end_node == NULL) {
        free(q->end_node);
        free(q->scratch);
        free(q);
        return SIPC_ERR_NO_MEMORY;
    }
    if (sipc_os_mutex_init(&q->lock) != SIPC_OK) {
        free(q->end_node);
        free(q->scratch);
        free(q);
        return SIPC_ERR_SYSTEM;
    }
    if (sipc_os_cond_init(&q->changed) != SIPC_OK) {
        sipc_os_mutex_destroy(&q->lock);
        free(q->end_node);
        free(q->scratch);
        free(q);
        return SIPC_ERR_SYSTEM;
    }
    int rc = sipc_os_thread_create(&q->thread, copier_main, q);
    if (rc != SIPC_OK) {
        sipc_os_cond_destroy(&q->changed);
        sipc_os_mutex_destroy(&q->lock);
        free(q->end_node);
        free(q->scratch);
        free(q);
        return rc;
    }
    *out = q;
    return SIPC_OK;
}

void cli_observe_queue_next(cli_observe_queue *q, cli_observed *item)
{
    sipc_os_mutex_lock(&q->lock);
    free(q->taken);
    q->taken = NULL;
    /* The copier always ends with END (unless the printer stopped it), so this wait ends. Items that wait are taken
     * even when the copier did not wake us for them (we came back from printing others). */
    while (q->head == NULL)
        sipc_os_cond_wait(&q->changed, &q->lock);
    queued *node = q->head;
    if (node->item.kind != CLI_OBSERVED_END) {
        /* END stays in the queue as its last word: later calls return it again. */
        q->head = node->next;
        if (q->head == NULL)
            q->tail = NULL;
        q->bytes -= item_bytes(node);
        q->items--;
        q->taken = node;
        sipc_os_cond_broadcast(&q->changed);
    }
    *item = node->item;
    sipc_os_mutex_unlock(&q->lock);
}

void cli_observe_queue_stop(cli_observe_queue *q)
{
    if (q == NULL)
        return;
    sipc_os_mutex_lock(&q->lock);
    q->stopping = 1;
    sipc_os_cond_broadcast(&q->changed);
    sipc_os_mutex_unlock(&q->lock);
    sipc_observer_cancel(q->observer);
    sipc_os_thread_join(&q->thread);
    free(q->taken);
    free(q->end_node);
    queued *node = q->head;
    while (node != NULL) {
        queued *next = node->next;
        free(node);
        node = next;
    }
    sipc_os_cond_destroy(&q->changed);
    sipc_os_mutex_destroy(&q->lock);
    free(q->scratch);
    free(q);
}
