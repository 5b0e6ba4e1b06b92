/*
 * observe_queue.h — copying an observer's messages apart from printing them. A thread of its own calls
 * sipc_observer_next and queues what it copies (up to a memory bound); the command that prints (tap) takes the
 * queue's items at its own pace. Writing to a terminal, to a pipe nobody reads for a while or to a slow disk then
 * no longer keeps the observer away from the channel: a plain observer does not miss messages meanwhile, and a
 * lossless one does not hold the peers back (until the queue is full). PROTOCOL.md section 7 says more.
 *
 * The copier also turns time into items, so the printer never waits with a timeout: QUIET once the channel has
 * been quiet for quiet_ms after an item, or 50 ms after the first item not followed by a QUIET yet on a channel that
 * is never quiet that long (the printer flushes what it collected), and, with idle_ms, again every idle_ms while the
 * channel stays quiet (a printer with stop conditions of its own, like `sipc record`, looks at them then); END when a
 * quiet spell of timeout_ms followed or the deadline passed (status SIPC_ERR_TIMEOUT), or when sipc_observer_next
 * failed (its status; SIPC_ERR_CANCELLED after sipc_observer_cancel, which ends the copying after what it copied).
 */
#ifndef SIPC_CLI_OBSERVE_QUEUE_H
#define SIPC_CLI_OBSERVE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h" /* SIPC_OS_NO_DEADLINE */
#include "sipc.h"

typedef struct cli_observe_queue cli_observe_queue;

typedef enum cli_observed_kind {
    CLI_OBSERVED_ITEM,  /* a message or an event: `message`, and `data` (message.copied bytes) */
    CLI_OBSERVED_QUIET, /* nothing came for quiet_ms since the last item */
    CLI_OBSERVED_END    /* copying ended with `status` (no item follows) */
} cli_observed_kind;

typedef struct cli_observed {
    cli_observed_kind kind;
    int status;
    sipc_observed_message message;
    const uint8_t *data; /* valid until the next cli_observe_queue_next or cli_observe_queue_stop */
} cli_observed;

/* The memory the queue may hold before the copier waits for the printer (payloads plus bookkeeping). */
#define CLI_OBSERVE_QUEUE_BYTES (16u * 1024u * 1024u)

typedef struct cli_observe_queue_options {
    size_t capacity;    /* each message is copied up to this many bytes */
    int32_t quiet_ms;   /* QUIET once nothing came this long after an item */
    int32_t timeout_ms; /* END after a quiet spell this long after the QUIET; SIPC_INFINITE: never */
    int32_t idle_ms;    /* 0, or (timeout_ms SIPC_INFINITE) QUIET again every idle_ms while the channel stays quiet */
    uint64_t deadline;  /* monotonic ns at which the copying ends (END, SIPC_ERR_TIMEOUT); SIPC_OS_NO_DEADLINE: none */
} cli_observe_queue_options;

/* Starts copying `observer` (which stays the caller's; it must outlive the queue). SIPC_OK, or SIPC_ERR_NO_MEMORY /
 * SIPC_ERR_SYSTEM and no queue. */
int cli_observe_queue_start(sipc_observer *observer, const cli_observe_queue_options *options, cli_observe_queue **out);
/* Waits for the next item (the previous item's data is released). After END it returns END again. */
void cli_observe_queue_next(cli_observe_queue *queue, cli_observed *item);
/* Whether cli_observe_queue_next would return at once: items the printer took from the queue are left (false when
 * only items it did not take yet wait). For the printer, like cli_observe_queue_next. */
int cli_observe_queue_ready(const cli_observe_queue *queue);
/* Stops the copier (cancels the observer: sipc_observer_cancel is sticky), joins it and frees the queue. */
void cli_observe_queue_stop(cli_observe_queue *queue);

#endif
