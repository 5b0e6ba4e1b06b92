/*
 * observer.c — read-only followers of a channel. An observer maps the segment PROT_READ, so it
 * can never disturb the peers; it reads slots by sequence number (received slots keep their data
 * until the sender reuses them) and validates each copy with the slot's stamp, seqlock style.
 */
#include "deadline.h"
#include "layout.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Idle polling: start fast (traffic tends to come in bursts), back off to this. */
#define POLL_MIN_US 50u
#define POLL_MAX_US 20000u
/* How often an idle observer checks that the channel still exists. */
#define EXISTENCE_CHECK_NS 200000000ull

struct sipc_observer {
    sipc_os_segment *segment;
    const seg_header *header;
    uint64_t size;
    seg_geometry geometry;
    uint64_t next_sequence[2];
    uint64_t missed[2];
    uint64_t dropped_seen[2]; /* rings[d].dropped when last reported */
    int cancelled;            /* atomic */
};

SIPC_API int sipc_observe(const char *name, sipc_observer **out)
{
    sipc_clear_error_detail();
    if (out == NULL)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    int rc = sipc_validate_name(name);
    if (rc != SIPC_OK)
        return rc;
    sipc_observer *ob = calloc(1, sizeof *ob);
    if (ob == NULL)
        return SIPC_ERR_NO_MEMORY;
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(name, key);
    sipc_view view;
    rc = sipc_view_open(key, sipc_deadline_after(SIPC_DEFAULT_LOCK_TIMEOUT_MS), &view);
    if (rc == SIPC_OK && strcmp(view.geometry.name, name) != 0) {
        rc = sipc_name_mismatch(key, view.geometry.name, name);
        sipc_view_close(&view);
    }
    if (rc != SIPC_OK) {
        free(ob);
        return rc;
    }
    ob->segment = view.segment;
    ob->header = view.base;
    ob->size = view.size;
    ob->geometry = view.geometry;
    for (int d = 0; d < 2; d++) {
        ob->next_sequence[d] = SH_LOAD_ACQ(&ob->header->rings[d].head);
        ob->dropped_seen[d] = SH_LOAD(&ob->header->rings[d].dropped);
    }
    *out = ob;
    return SIPC_OK;
}

SIPC_API int sipc_observer_info(sipc_observer *observer, sipc_channel_info *info)
{
    if (observer == NULL || info == NULL || info->struct_size < sizeof *info)
        return SIPC_ERR_INVALID_ARGUMENT;
    sipc_fill_info(observer->header, &observer->geometry, observer->segment, info);
    return SIPC_OK;
}

typedef struct candidate {
    int present;
    uint64_t stamp;
    uint64_t send_ns;
    uint32_t length;
    uint32_t to_session;
} candidate;

/*
 * Finds the next complete message of direction d the observer has not seen, skipping (and
 * counting) the ones already overwritten. SIPC_ERR_CORRUPT if the ring contradicts itself.
 */
static int find_next(sipc_observer *ob, int d, candidate *c)
{
    c->present = 0;
    const seg_ring *ring = &ob->header->rings[d];
    const uint64_t depth = ob->geometry.queue_depth;
    for (;;) {
        uint64_t head = SH_LOAD_ACQ(&ring->head);
        uint64_t pos = ob->next_sequence[d];
        if (head == pos)
            return SIPC_OK;
        if (head < pos) {
            /* A sequence number cannot go back in one segment (a new channel is a new object). */
            return SIPC_ERR_CORRUPT;
        }
        if (head - pos > depth) {
            /* Slot of `pos` has been reused already. */
            ob->missed[d] += head - depth - pos;
            ob->next_sequence[d] = pos = head - depth;
        }
        const seg_slot_header *slot = sipc_slot((void *)ob->header, &ob->geometry, d, pos);
        uint64_t stamp = SH_LOAD_ACQ(&slot->stamp);
        uint64_t send_ns = SH_LOAD(&slot->send_ns);
        uint32_t length = SH_LOAD(&slot->length);
        uint32_t to_session = SH_LOAD(&slot->to_session);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint64_t again = SH_LOAD(&slot->stamp);
        if (stamp == 2 * pos + 2 && again == stamp) {
            if (length > ob->geometry.max_message)
                return SIPC_ERR_CORRUPT;
            c->present = 1;
            c->stamp = stamp;
            c->send_ns = send_ns;
            c->length = length;
            c->to_session = to_session;
            return SIPC_OK;
        }
        if (stamp < 2 * pos + 2 && again < 2 * pos + 2) {
            /* head said it was published, yet the slot holds an older message */
            return SIPC_ERR_CORRUPT;
        }
        /* Being overwritten by a newer message: this one is lost to us. */
        ob->missed[d]++;
        ob->next_sequence[d] = pos + 1;
    }
}

/* Callers built before `discarded` was added pass a struct that ends after `missed`. */
#define OBSERVED_MESSAGE_FIRST_SIZE (offsetof(sipc_observed_message, missed) + sizeof(uint64_t))

/* Messages of direction d its consumer discarded since the last report (ring `dropped` grows). */
static uint64_t take_discarded(sipc_observer *ob, int d)
{
    uint64_t now = SH_LOAD(&ob->header->rings[d].dropped);
    uint64_t discarded = now > ob->dropped_seen[d] ? now - ob->dropped_seen[d] : 0;
    ob->dropped_seen[d] = now; /* a value that went back (hostile writer) restarts the count */
    return discarded;
}

/* 1 if message `pos` of direction d, addressed to `to_session`, will never be received: its
 * addressee (a session of the consuming role) was replaced or closed before taking it. The role is
 * read before the ring's tail: once the addressee is gone it takes nothing more, so a message still
 * at or after the tail then is not taken by it (its successor discards it, counted in `discarded`).
 * Whether an attached holder's process still runs is not checked here (a /proc look per message). */
static uint32_t addressee_gone(sipc_observer *ob, int d, uint64_t pos, uint32_t to_session)
{
    if (to_session == 0)
        return 0; /* not recorded */
    int consumer = d == SIPC_DIR_TO_CLIENT ? SIPC_ROLE_INDEX_CLIENT : SIPC_ROLE_INDEX_SERVER;
    seg_role_view role;
    if (!sipc_role_read(ob->header, consumer, &role))
        return 0;
    if (role.session == to_session && role.attached)
        return 0;
    return pos >= SH_LOAD_ACQ(&ob->header->rings[d].tail);
}

SIPC_API int sipc_observer_next(sipc_observer *observer, void *buffer, size_t capacity, sipc_observed_message *message,
                                int32_t timeout_ms)
{
    sipc_observer *ob = observer;
    if (ob == NULL || message == NULL || message->struct_size < OBSERVED_MESSAGE_FIRST_SIZE ||
        (buffer == NULL && capacity != 0))
        return SIPC_ERR_INVALID_ARGUMENT;
    uint64_t start = sipc_os_monotonic_ns();
    uint64_t deadline = sipc_deadline_at(start, timeout_ms);
    uint64_t last_existence_check = start;
    uint32_t poll_us = POLL_MIN_US;
    for (;;) {
        if (__atomic_load_n(&ob->cancelled, __ATOMIC_ACQUIRE))
            return SIPC_ERR_CANCELLED;
        candidate c[2];
        for (int d = 0; d < 2; d++) {
            int rc = find_next(ob, d, &c[d]);
            if (rc != SIPC_OK)
                return rc;
        }
        if (c[0].present || c[1].present) {
            int d;
            if (c[0].present && c[1].present)
                d = c[1].send_ns < c[0].send_ns ? 1 : 0;
            else
                d = c[0].present ? 0 : 1;
            uint64_t pos = ob->next_sequence[d];
            const seg_slot_header *slot = sipc_slot((void *)ob->header, &ob->geometry, d, pos);
            size_t copied = c[d].length < capacity ? c[d].length : capacity;
            if (copied != 0)
                memcpy(buffer, (const uint8_t *)slot + SIPC_SLOT_HEADER_SIZE, copied);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            if (SH_LOAD(&slot->stamp) != c[d].stamp) {
                /* Overwritten while we copied: never hand out torn bytes. */
                ob->missed[d]++;
                ob->next_sequence[d] = pos + 1;
                continue;
            }
            uint32_t struct_size = message->struct_size;
            memset(message, 0, struct_size < sizeof *message ? struct_size : sizeof *message);
            message->struct_size = struct_size;
            if (struct_size >= sizeof *message) {
                message->discarded = take_discarded(ob, d);
                message->undeliverable = addressee_gone(ob, d, pos, c[d].to_session);
            }
            message->direction = d;
            message->sequence = pos;
            message->timestamp_ns = c[d].send_ns;
            message->length = c[d].length;
            message->copied = (uint32_t)copied;
            message->missed = ob->missed[d];
            ob->missed[d] = 0;
            ob->next_sequence[d] = pos + 1;
            return SIPC_OK;
        }
        uint64_t now = sipc_os_monotonic_ns();
        if (now >= deadline)
            return SIPC_ERR_TIMEOUT;
        if (now - last_existence_check >= EXISTENCE_CHECK_NS) {
            last_existence_check = now;
            if (sipc_os_segment_is_current(ob->segment) == 0)
                return SIPC_ERR_NOT_FOUND;
        }
        uint64_t left_us = sipc_deadline_us_left_at(deadline, now);
        sipc_os_sleep_us(left_us < poll_us ? (uint32_t)left_us : poll_us);
        if (poll_us < POLL_MAX_US)
            poll_us = poll_us * 2 > POLL_MAX_US ? POLL_MAX_US : poll_us * 2;
    }
}

SIPC_API int sipc_observer_cancel(sipc_observer *observer)
{
    if (observer == NULL)
        return SIPC_ERR_INVALID_ARGUMENT;
    __atomic_store_n(&observer->cancelled, 1, __ATOMIC_RELEASE);
    return SIPC_OK;
}

SIPC_API int sipc_observer_close(sipc_observer *observer)
{
    if (observer == NULL)
        return SIPC_ERR_INVALID_ARGUMENT;
    sipc_os_segment_unmap(observer->segment, (void *)observer->header, observer->size);
    sipc_os_segment_close(observer->segment);
    free(observer);
    return SIPC_OK;
}
