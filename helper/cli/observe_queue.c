/* Copying an observer's messages on a thread of its own; see observe_queue.h. */
#include "observe_queue.h"

#include "deadline.h"
#include "platform.h"

#include <stdlib.h>
#include <string.h>

/* Items are written one after another into blocks: the copier fills blocks and hands whole lists of them over, the
 * printer takes every queued block at once and reads their items without the lock. Per message that is a copy into a
 * block, not a malloc, a free and a lock round trip on each side (which cost the copier and the printer more than the
 * observing itself at full speed). */
typedef struct entry {
    size_t size;       /* bytes of this entry, payload and padding included: the next entry follows */
    cli_observed item; /* item.data is set when the printer returns it (the payload follows) */
} entry;

typedef struct block {
    struct block *next;
    size_t size; /* bytes of data[] */
    size_t used; /* bytes of data[] that entries fill */
    _Alignas(16) uint8_t data[];
} block;

struct cli_observe_queue {
    sipc_observer *observer;
    size_t capacity;
    int32_t quiet_ms;
    int32_t timeout_ms;
    int32_t idle_ms;
    uint64_t deadline;
    uint8_t *scratch; /* capacity bytes: the copy lands here first, then in a block */
    sipc_os_thread thread;
    sipc_os_mutex lock;
    sipc_os_cond changed; /* blocks were queued or freed, or stopping */
    block *head;          /* queued blocks, in order */
    block *tail;
    size_t bytes;     /* memory of the queued blocks and of those the printer holds */
    size_t items;     /* items in the queued blocks */
    int stopping;     /* the printer stops: the copier ends without queueing more */
    block *end_block; /* set aside for the END item, so that even running out of memory can be said */
    /* The printer's own (no lock): the blocks it took, where its next item is, and the block it finished reading
     * (freed at its next call: the item it returned last points into it). */
    block *reading;
    size_t offset;
    block *finished;
};

/* Items the copier made and has not queued yet (it queues them all at once). */
typedef struct batch {
    block *head;
    block *tail;
    size_t bytes; /* memory of its blocks */
    unsigned count;
    cli_observed_kind last; /* the kind of its last item */
} batch;

/* The copier copies at most this many messages (while more are ready) before it queues them. */
#define COPIER_BATCH_ITEMS 4096u
/* The copier wakes the printer once this many items or bytes wait, or with a QUIET or END item (the channel went
 * quiet: what waits is due), not at every batch: on a channel with a message every few microseconds a batch is a few
 * messages, and a wake-up per batch cost both threads a futex call and the copier, when the printer preempted it,
 * the time away from the channel in which a plain observer misses messages. */
#define PRINTER_WAKE_ITEMS 256u
#define PRINTER_WAKE_BYTES (64u * 1024u)
/* A batch's first block holds just its first item (a lone message costs its own size, as before blocks); the next
 * ones grow to this size. */
#define BLOCK_BYTES (64u * 1024u)

static size_t entry_size(size_t payload)
{
    return (sizeof(entry) + payload + 15u) & ~(size_t)15u;
}

static block *block_new(size_t size)
{
    block *b = malloc(sizeof *b + size);
    if (b == NULL)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

static size_t block_memory(const block *b)
{
    return sizeof *b + b->size;
}

static void blocks_free(block *b)
{
    while (b != NULL) {
        block *next = b->next;
        free(b);
        b = next;
    }
}

/* Makes an item (kind, status, and for ITEM the message with its copied bytes from the scratch buffer) at the batch's
 * end; 0 when there is no memory for it. */
static int batch_add(cli_observe_queue *q, batch *b, cli_observed_kind kind, int status,
                     const sipc_observed_message *message)
{
    size_t length = kind == CLI_OBSERVED_ITEM ? message->copied : 0;
    size_t need = entry_size(length);
    if (b->tail == NULL || b->tail->size - b->tail->used < need) {
        size_t size = b->tail == NULL ? need : BLOCK_BYTES / 16u;
        if (b->tail != NULL && b->tail->size > size)
            size = b->tail->size * 4u < BLOCK_BYTES ? b->tail->size * 4u : BLOCK_BYTES;
        block *fresh = block_new(size > need ? size : need);
        if (fresh == NULL)
            return 0;
        if (b->tail)
            b->tail->next = fresh;
        else
            b->head = fresh;
        b->tail = fresh;
        b->bytes += block_memory(fresh);
    }
    entry *e = (entry *)(b->tail->data + b->tail->used);
    memset(&e->item, 0, sizeof e->item);
    e->size = need;
    e->item.kind = kind;
    e->item.status = status;
    if (kind == CLI_OBSERVED_ITEM) {
        e->item.message = *message;
        if (length != 0)
            memcpy((uint8_t *)(e + 1), q->scratch, length);
    }
    b->tail->used += need;
    b->count++;
    b->last = kind;
    return 1;
}

static void batch_free(batch *b)
{
    blocks_free(b->head);
    memset(b, 0, sizeof *b);
}

/* Queues the batch and then, if `end`, the END item with `status` (its memory is set aside, so even running out of
 * memory can be said), waking the printer once enough waits (PRINTER_WAKE_*), and waiting while the queue is full (a
 * batch larger than the whole bound goes in alone). 1 to go on copying; 0 once END is queued or when the printer stops
 * meanwhile. */
static int enqueue(cli_observe_queue *q, batch *b, int end, int status)
{
    sipc_os_mutex_lock(&q->lock);
    while (!q->stopping && b->count > 0 && q->bytes != 0 && q->bytes + b->bytes > CLI_OBSERVE_QUEUE_BYTES) {
        sipc_os_cond_broadcast(&q->changed); /* what waits may be below the printer's wake-up marks */
        sipc_os_cond_wait(&q->changed, &q->lock);
    }
    if (q->stopping) {
        sipc_os_mutex_unlock(&q->lock);
        batch_free(b);
        return 0;
    }
    int due = end || (b->count > 0 && b->last != CLI_OBSERVED_ITEM);
    if (end) {
        block *node = q->end_block;
        entry *e = (entry *)node->data;
        memset(&e->item, 0, sizeof e->item);
        e->size = entry_size(0);
        e->item.kind = CLI_OBSERVED_END;
        e->item.status = status;
        node->used = e->size;
        node->next = NULL;
        if (b->tail)
            b->tail->next = node;
        else
            b->head = node;
        b->tail = node;
        b->bytes += block_memory(node);
        b->count++;
        q->end_block = NULL; /* the queue holds it now */
    }
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
    q->end_block = block_new(entry_size(0));
    if (q->scratch == NULL || q->end_block == NULL) {
        free(q->end_block);
        free(q->scratch);
        free(q);
        return SIPC_ERR_NO_MEMORY;
    }
    if (sipc_os_mutex_init(&q->lock) != SIPC_OK) {
        free(q->end_block);
        free(q->scratch);
        free(q);
        return SIPC_ERR_SYSTEM;
    }
    if (sipc_os_cond_init(&q->changed) != SIPC_OK) {
        sipc_os_mutex_destroy(&q->lock);
        free(q->end_block);
        free(q->scratch);
        free(q);
        return SIPC_ERR_SYSTEM;
    }
    int rc = sipc_os_thread_create(&q->thread, copier_main, q);
    if (rc != SIPC_OK) {
        sipc_os_cond_destroy(&q->changed);
        sipc_os_mutex_destroy(&q->lock);
        free(q->end_block);
        free(q->scratch);
        free(q);
        return rc;
    }
    *out = q;
    return SIPC_OK;
}

/* Gives back a block the printer finished (its memory no longer counts against the bound). */
static void release_block(cli_observe_queue *q, block *b)
{
    sipc_os_mutex_lock(&q->lock);
    q->bytes -= block_memory(b);
    sipc_os_cond_broadcast(&q->changed); /* a copier waiting for room */
    sipc_os_mutex_unlock(&q->lock);
    free(b);
}

void cli_observe_queue_next(cli_observe_queue *q, cli_observed *item)
{
    if (q->finished != NULL) {
        release_block(q, q->finished);
        q->finished = NULL;
    }
    if (q->reading == NULL) {
        /* The copier always ends with END (unless the printer stopped it), so this wait ends. Items that wait are
         * taken even when the copier did not wake us for them (we came back from printing others): all of them. */
        sipc_os_mutex_lock(&q->lock);
        while (q->head == NULL)
            sipc_os_cond_wait(&q->changed, &q->lock);
        q->reading = q->head;
        q->head = q->tail = NULL;
        q->items = 0;
        sipc_os_mutex_unlock(&q->lock);
        q->offset = 0;
    }
    block *b = q->reading;
    const entry *e = (const entry *)(b->data + q->offset);
    *item = e->item;
    item->data = (const uint8_t *)(e + 1);
    if (item->kind == CLI_OBSERVED_END)
        return; /* END stays as the last word: later calls return it again */
    q->offset += e->size;
    if (q->offset >= b->used) {
        q->reading = b->next;
        q->offset = 0;
        q->finished = b;
    }
}

int cli_observe_queue_ready(const cli_observe_queue *q)
{
    return q->reading != NULL;
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
    free(q->finished);
    free(q->end_block);
    blocks_free(q->reading);
    blocks_free(q->head);
    sipc_os_cond_destroy(&q->changed);
    sipc_os_mutex_destroy(&q->lock);
    free(q->scratch);
    free(q);
}
