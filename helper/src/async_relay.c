/*
 * async_relay.c — notifications of sipc_async handles through a descriptor an event loop watches (sipc_async.h,
 * "relays"), so that the main thread learns of them without taking a lock a native thread may hold (an N-API
 * thread-safe function's mutex, which a preempted notifier thread would keep the main thread waiting on).
 *
 * The tokens wait in a bounded queue that never locks: D. Vyukov's bounded MPMC queue (each cell's sequence number
 * says whose turn it is), used with many producers (the notifying threads) and one consumer (the main thread). A
 * producer preempted between claiming a cell and filling it only makes the consumer stop short of that cell; the
 * producer rings the pipe after filling it, so the consumer comes back for it. `wake_pending` saves a write per
 * notify while the main thread has not taken yet: a producer writes the byte only when it turns the flag on, and the
 * consumer empties the pipe, then turns the flag off, then looks at the queue, so a token queued after that look
 * always comes with a byte that stays in the pipe.
 * Every atomic access is sequentially consistent: the argument above needs a single order of the flag and the cells.
 */
#include "sipc_async.h"

#include <stdlib.h>

#include "platform.h"

#define RELAY_MASK (SIPC_ASYNC_RELAY_CAPACITY - 1u)
_Static_assert((SIPC_ASYNC_RELAY_CAPACITY & RELAY_MASK) == 0, "the relay's capacity is a power of two");
#define RELAY_ID_MASK ((1u << SIPC_ASYNC_RELAY_ID_BITS) - 1u)

typedef struct relay_cell {
    uint64_t sequence; /* atomic: pos (free for the producer of pos), pos + 1 (filled for the consumer of pos) */
    uint32_t token;
} relay_cell;

struct sipc_async_relay {
    uint32_t number; /* 1..SIPC_ASYNC_RELAY_MAX: the top bits of its tokens */
    uint32_t fork_generation;
    uint64_t enqueue_pos; /* atomic */
    uint64_t dequeue_pos; /* the consumer's */
    int wake_pending;     /* atomic: a byte is in the pipe (or about to be) that take has not emptied yet */
    int overflowed;       /* atomic: a notification found the queue full */
#if defined(SIPC_OS_HAS_WAKE_PIPE)
    sipc_os_wake_pipe pipe;
#endif
    relay_cell cells[SIPC_ASYNC_RELAY_CAPACITY];
};

/* The open relays by number (index 0 unused): what sipc_async_relay_notify finds a token's relay in. */
static sipc_async_relay *relays[SIPC_ASYNC_RELAY_MAX + 1u]; /* atomic */

static void relay_ring(sipc_async_relay *r)
{
    if (__atomic_exchange_n(&r->wake_pending, 1, __ATOMIC_SEQ_CST) == 0) {
#if defined(SIPC_OS_HAS_WAKE_PIPE)
        sipc_os_wake_pipe_signal(&r->pipe);
#endif
    }
}

static void relay_empty_pipe(sipc_async_relay *r)
{
#if defined(SIPC_OS_HAS_WAKE_PIPE)
    sipc_os_wake_pipe_drain(&r->pipe);
#else
    (void)r;
#endif
}

/* Queues a token (any thread): 0 if the queue was full. */
static int relay_push(sipc_async_relay *r, uint32_t token)
{
    uint64_t pos = __atomic_load_n(&r->enqueue_pos, __ATOMIC_SEQ_CST);
    relay_cell *cell;
    for (;;) {
        cell = &r->cells[pos & RELAY_MASK];
        uint64_t sequence = __atomic_load_n(&cell->sequence, __ATOMIC_SEQ_CST);
        int64_t lag = (int64_t)(sequence - pos);
        if (lag == 0) {
            if (__atomic_compare_exchange_n(&r->enqueue_pos, &pos, pos + 1u, 1, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                break;
        } else if (lag < 0) {
            return 0; /* the cell still holds the token of the previous lap: full */
        } else {
            pos = __atomic_load_n(&r->enqueue_pos, __ATOMIC_SEQ_CST);
        }
    }
    __atomic_store_n(&cell->token, token, __ATOMIC_SEQ_CST);
    __atomic_store_n(&cell->sequence, pos + 1u, __ATOMIC_SEQ_CST);
    return 1;
}

/* Takes the oldest token (the consumer): 0 if none is ready (empty, or its producer has not filled it yet). */
static int relay_pop(sipc_async_relay *r, uint32_t *token)
{
    uint64_t pos = r->dequeue_pos;
    relay_cell *cell = &r->cells[pos & RELAY_MASK];
    if (__atomic_load_n(&cell->sequence, __ATOMIC_SEQ_CST) != pos + 1u)
        return 0;
    *token = __atomic_load_n(&cell->token, __ATOMIC_SEQ_CST);
    __atomic_store_n(&cell->sequence, pos + SIPC_ASYNC_RELAY_CAPACITY, __ATOMIC_SEQ_CST);
    r->dequeue_pos = pos + 1u;
    return 1;
}

SIPC_API int sipc_async_relay_open(sipc_async_relay **out)
{
    if (!out)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    sipc_clear_error_detail();
#if !defined(SIPC_OS_HAS_WAKE_PIPE)
    sipc_record_error_detail("this platform has no descriptor an event loop watches: pass a notify function of your "
                             "own instead of a relay");
    return SIPC_ERR_SYSTEM;
#else
    sipc_async_relay *r = calloc(1, sizeof *r);
    if (!r)
        return SIPC_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < SIPC_ASYNC_RELAY_CAPACITY; i++)
        r->cells[i].sequence = i;
    r->fork_generation = sipc_os_fork_generation();
    int rc = sipc_os_wake_pipe_open(&r->pipe);
    if (rc != SIPC_OK) {
        free(r);
        return rc;
    }
    for (uint32_t number = 1; number <= SIPC_ASYNC_RELAY_MAX; number++) {
        sipc_async_relay *expected = NULL;
        r->number = number;
        if (__atomic_compare_exchange_n(&relays[number], &expected, r, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            *out = r;
            return SIPC_OK;
        }
    }
    sipc_os_wake_pipe_close(&r->pipe);
    free(r);
    return SIPC_ERR_BUSY;
#endif
}

/* The relay is usable by this process: not inherited through fork. */
static int relay_usable(const sipc_async_relay *r)
{
    return r->fork_generation == sipc_os_fork_generation();
}

SIPC_API int sipc_async_relay_fd(const sipc_async_relay *r)
{
    if (!r)
        return SIPC_ERR_INVALID_ARGUMENT;
    if (!relay_usable(r))
        return SIPC_ERR_CLOSED;
#if defined(SIPC_OS_HAS_WAKE_PIPE)
    return r->pipe.read_fd;
#else
    return SIPC_ERR_SYSTEM; /* never opened */
#endif
}

SIPC_API int sipc_async_relay_token(const sipc_async_relay *r, uint32_t id, uint32_t *token)
{
    if (!r || !token || id > RELAY_ID_MASK)
        return SIPC_ERR_INVALID_ARGUMENT;
    *token = (r->number << SIPC_ASYNC_RELAY_ID_BITS) | id;
    return SIPC_OK;
}

SIPC_API void sipc_async_relay_notify(uint32_t token)
{
    uint32_t number = token >> SIPC_ASYNC_RELAY_ID_BITS;
    if (number == 0)
        return;
    sipc_async_relay *r = __atomic_load_n(&relays[number], __ATOMIC_SEQ_CST);
    if (!r)
        return;
    if (!relay_push(r, token))
        __atomic_store_n(&r->overflowed, 1, __ATOMIC_SEQ_CST); /* before the ring, so the take after it sees it */
    relay_ring(r);
}

SIPC_API int sipc_async_relay_take(sipc_async_relay *r, uint32_t *tokens, uint32_t max_count, uint32_t *count,
                                   uint32_t *overflowed)
{
    if (!r || !count || !overflowed || (max_count > 0 && !tokens))
        return SIPC_ERR_INVALID_ARGUMENT;
    *count = 0;
    *overflowed = 0;
    if (!relay_usable(r))
        return SIPC_ERR_CLOSED;
    /* The pipe is emptied first, then the flag goes off, then the queue is looked at: a producer that finds the flag
     * on queued before this look; one that finds it off writes a byte that stays. (Off before the emptying, a byte
     * written in between would be read with the flag left on, and every later notify would skip its write.) */
    relay_empty_pipe(r);
    __atomic_store_n(&r->wake_pending, 0, __ATOMIC_SEQ_CST);
    uint32_t taken = 0;
    while (taken < max_count && relay_pop(r, &tokens[taken]))
        taken++;
    *count = taken;
    *overflowed = (uint32_t)__atomic_exchange_n(&r->overflowed, 0, __ATOMIC_SEQ_CST);
    if (taken == max_count) {
        /* Tokens left behind keep the descriptor readable (one not filled yet is its producer's to ring for). */
        uint64_t pos = r->dequeue_pos;
        if (__atomic_load_n(&r->cells[pos & RELAY_MASK].sequence, __ATOMIC_SEQ_CST) == pos + 1u)
            relay_ring(r);
    }
    return SIPC_OK;
}

SIPC_API int sipc_async_relay_close(sipc_async_relay *r)
{
    if (!r)
        return SIPC_ERR_INVALID_ARGUMENT;
    sipc_async_relay *expected = r;
    /* In a forked child the table holds the parent's copy of the same pointer: the child's to free alike. */
    __atomic_compare_exchange_n(&relays[r->number], &expected, NULL, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
#if defined(SIPC_OS_HAS_WAKE_PIPE)
    sipc_os_wake_pipe_close(&r->pipe);
#endif
    free(r);
    return SIPC_OK;
}
