/*
 * observer.c — followers of a channel that never consume its traffic. An observer reads records by sequence
 * number (received records keep their data until the producer writes round the ring to them) and validates each copy
 * with the record's stamp and the ring's frontier, seqlock style. It sleeps on the observer wait word until a producer publishes (PROTOCOL.md
 * section 7); a lossless observer also owns a record in the header whose cursor the producers respect.
 */
#include "deadline.h"
#include "layout.h"
#include "spin_policy.h"
#include "waiting.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Polling, where the observer cannot ask to be woken (a read-only mapping, or an attached producer that
 * predates the observer wait word): start fast (traffic comes in bursts), back off to this. */
#define POLL_MIN_US 50u
#define POLL_MAX_US 2000u
/* How long one sleep on the observer wait word lasts at most: the observer then checks that the channel
 * still exists and, with events, that the role holders still run (a killed peer wakes nobody). */
#define SLEEP_SLICE_MS 100
/* How often an observer checks that the channel still exists while messages keep it busy. */
#define EXISTENCE_CHECK_NS 200000000ull
/* How often, with events, the processes holding the roles are checked while traffic keeps the observer busy. */
#define LIVENESS_CHECK_NS 100000000ull
#define EVENT_QUEUE 8
/* How many records ahead of the one it copies the observer asks for (find_next), when they are published already. */
#define PREFETCH_AHEAD 2u
/* While messages keep coming (one returned less than SPIN_WHILE_FLOWING_NS ago), an observer that caught up spins for
 * the next one before it sleeps, within the peers' adaptive budget (spin_policy.h): where the next message is further
 * away than the budget (a paced producer, a producer held up elsewhere) spins fail, and the observer soon sleeps at
 * once instead of taking a CPU from the peers for nothing. */
#define SPIN_WHILE_FLOWING_NS 200000u
/* How long a lossless observer naps at most while it waits for half a ring to fill (PROTOCOL.md section 7, "Napping"):
 * the latency bound for the last messages of a burst, when the channel goes quiet before half a ring is uncopied. */
#define NAP_QUIET_MS 1
/* How far behind an observer may fall while it naps before a producer wakes it (seg_observer.wake_at), as a share of
 * the ring (sipc_ring_fill: of its index or its bytes, whichever fills first). Plain: a quarter, so that three quarters
 * of the ring are left to cover the wake-up before records are overwritten (at 100k msgs/s, 30 ms of 64 B messages on
 * the default channel's 4,096; 120 us where a ring holds 16: PROTOCOL.md section 2). Lossless: half (the producers
 * wait for it when it is late, so its batch may be larger). */
#define WAKE_AT_PLAIN_DIVISOR 4u
#define WAKE_AT_LOSSLESS_DIVISOR 2u
/* A plain observer that finds messages gone after a nap halves its threshold (down to 1: woken by the first message,
 * as a sleep on word 5), and raises it by one after this many naps without a miss, up to its quarter ring: a machine
 * whose load delays the wake-ups gets the margin back, a quiet one the fewer wake-ups. */
#define WAKE_AT_RAISE_AFTER 64u

typedef struct role_seen {
    uint32_t session;
    int attached;
    int died_reported;
    sipc_os_process process;
} role_seen;

struct sipc_observer {
    sipc_os_segment *segment;
    seg_header *header; /* written only through the observer record, waiters/wait_word (writable) */
    uint64_t size;
    seg_geometry geometry;
    int writable;   /* the mapping is read-write: the observer may ask to be woken */
    uint32_t flags; /* SIPC_OBSERVE_* */
    int record;     /* index of our record (lossless, or a plain observer's to nap in), -1 when none (or dropped) */
    int watching;   /* the record is a plain observer's (SIPC_OBSERVER_WATCHING): producers never respect its cursor */
    uint64_t claim; /* SIPC_CLAIM(ticket, ACTIVE or WATCHING) as we set it */
    uint32_t wake_at;      /* what we ask for in the record's wake_at (tests: sipc_observer_fix_wake_at) */
    uint32_t wake_at_most; /* plain: what wake_at goes back up to (sipc_observer_adapt_wake_at) */
    uint32_t clean_naps;   /* plain: naps since wake_at last changed that found nothing gone */
    int napped;            /* the next look follows a nap that waited */
    uint64_t next_sequence[2];
    uint64_t seen_head[2]; /* the ring's head when last loaded: messages before it are published (no reload) */
    uint64_t published[2]; /* lossless: the cursor values last stored in our record */
    uint64_t woken_at[2];  /* lossless: the cursor value of our last wake-up of a waiting producer */
    /* Ring positions for the thresholds in bytes (sipc_ring_fill): after the last record copied, and what it was at
     * our last wake-up of a producer and at the last cursor stored. */
    uint64_t copied_end[2];
    uint64_t woken_end[2];
    uint64_t published_end[2];
    uint64_t last_delivery_ns; /* when sipc_observer_next last returned a message (traffic is flowing) */
    int delivered_since_nap;   /* traffic flows (a message was returned since the last sleep or whole nap) */
    int32_t nap_quiet_ms;      /* a nap's time limit, NAP_QUIET_MS (tests: sipc_observer_fix_nap) */
    int last_direction;        /* of that message */
    uint32_t spin_budget_ns;   /* spin_policy.h */
    uint32_t spin_probe;
    uint64_t missed[2];
    uint64_t dropped_seen[2]; /* rings[d].dropped when last reported */
    int dropped_due[2];       /* head was loaded since: look at rings[d].dropped at the next message (take_discarded) */
    role_seen roles[2];
    uint64_t last_liveness_check;
    uint64_t last_existence_check;
    sipc_observed_message events[EVENT_QUEUE];
    unsigned event_count;
    int cancelled; /* atomic */
    /* Why messages were missed (sipc_observer_get_stats): when the rings were last looked at, when
     * sipc_observer_next last returned, and the counters (written by the observing thread only, atomically, so
     * that another thread may read them). */
    uint64_t last_look_ns;
    uint64_t returned_ns;
    unsigned clock_skips; /* calls that reused returned_ns as their start (sipc_observer_next) */
    int returned_message; /* the last return of sipc_observer_next handed out a message (at returned_ns) */
    sipc_observer_stats stats;
};

/* The observing thread is the only writer of a counter; readers on other threads load it atomically. */
static void stat_add(uint64_t *counter, uint64_t n)
{
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static void stat_max(uint64_t *counter, uint64_t value)
{
    if (value > __atomic_load_n(counter, __ATOMIC_RELAXED))
        __atomic_store_n(counter, value, __ATOMIC_RELAXED);
}

SIPC_API void sipc_observe_options_init(sipc_observe_options *options)
{
    if (options == NULL)
        return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
}

/* ---- the lossless record ---- */

/* 1 if a record may be taken: free, dropped, or held by a process that is gone. A plain observer's record
 * (WATCHING) may be taken by a lossless observer (`for_lossless`), which then leaves that one to sleep on the observer
 * word; a plain observer takes only a record nobody uses. */
static int record_reclaimable(const seg_observer *record, uint64_t claim, int for_lossless)
{
    uint32_t state = SIPC_CLAIM_STATE(claim);
    if (state == SIPC_OBSERVER_FREE || (state >= SIPC_OBSERVER_DROPPED_STALL && state <= SIPC_OBSERVER_DROPPED_INVALID))
        return 1;
    if (state == SIPC_OBSERVER_WATCHING && for_lossless)
        return 1;
    if (state != SIPC_OBSERVER_ACTIVE && state != SIPC_OBSERVER_WATCHING)
        return 0; /* CLAIMING: another observer is filling it in; a state we do not know: leave it alone */
    sipc_os_process holder = {SH_LOAD(&record->pid), SH_LOAD(&record->start_time)};
    return holder.pid <= 0 || !sipc_os_process_alive(&holder);
}

/* Wakes producers waiting for space in direction d (our cursor moved or went away). */
static void wake_producer(sipc_observer *ob, int d)
{
    SH_FENCE();
    uint32_t index = SIPC_WAIT_SPACE(d);
    if (SH_LOAD(&ob->header->waiters[index]) != 0) {
        SH_ADD(&ob->header->wait_word[index], 1u);
        sipc_os_wake(ob->segment, index, &ob->header->wait_word[index]);
        stat_add(&ob->stats.producer_wakes, 1);
    }
}

/* Lossless: publishes the CPU this thread runs on in our record (1 + number, 0 unknown), for the spin decisions of a
 * producer we hold back (PROTOCOL.md section 6, "Not on a shared CPU"); a store only when it changed, since the
 * producers read the record's cache line at every send. */
static void note_my_cpu(sipc_observer *ob)
{
    if (ob->record < 0 || ob->watching)
        return;
    int cpu = sipc_os_current_cpu();
    uint32_t mine = cpu >= 0 ? (uint32_t)cpu + 1u : 0u;
    uint32_t *published = &ob->header->observers[ob->record].cpu;
    if (SH_LOAD(published) != mine)
        SH_STORE(published, mine);
}

/*
 * Takes `record`, seen as `claim`, for this process, the same way for a lossless and a plain observer (PROTOCOL.md
 * section 7, "Lossless observation" step 1 and "Napping"): CAS to (ticket + 1, CLAIMING); store pid, start_time,
 * stall_ms, cpu = 0, napping = 0 (a predecessor killed in a nap left it raised), wake_at, then the cursors (`start`, or
 * each ring's head as loaded just before its store when NULL); CAS to (ticket + 1, `state`), in that order for both. A
 * reader acts on the fields only once the record is ACTIVE or WATCHING, except a producer's look at `napping`, which a
 * predecessor killed in a nap may have left raised: it is taken down before the cursors are written, and costs at most
 * one wake-up meanwhile. Returns the new claim, or 0 when another writer changed the record first (another observer, a
 * hostile writer): the caller looks at the next record.
 */
static uint64_t fill_record(sipc_observer *ob, seg_observer *record, uint64_t claim, const sipc_os_process *self,
                            uint32_t stall_ms, uint32_t state, const uint64_t *start)
{
    uint32_t ticket = SIPC_CLAIM_TICKET(claim) + 1u;
    uint64_t claiming = SIPC_CLAIM(ticket, SIPC_OBSERVER_CLAIMING);
    if (!sh_cas64(&record->claim, claim, claiming))
        return 0;
    SH_STORE(&record->pid, self->pid);
    SH_STORE(&record->start_time, self->start_time);
    SH_STORE(&record->stall_ms, stall_ms);
    SH_STORE(&record->cpu, 0u);
    SH_STORE(&record->napping, 0u);
    SH_STORE(&record->wake_at, ob->wake_at);
    for (int d = 0; d < 2; d++)
        SH_STORE(&record->cursor[d], start != NULL ? start[d] : SH_LOAD_ACQ(&ob->header->rings[d].head));
    uint64_t taken = SIPC_CLAIM(ticket, state);
    return sh_cas64(&record->claim, claiming, taken) ? taken : 0;
}

/*
 * Claims a record for a lossless observer (fill_record, to ACTIVE), then moves the cursors to the heads read after a
 * full fence. A producer that had not seen ACTIVE yet wrote at most the message at that head, so
 * from there on nothing is overwritten before we copied it.
 */
static int claim_record(sipc_observer *ob, uint32_t stall_ms)
{
    sipc_os_process self;
    int rc = sipc_os_process_self(&self);
    if (rc != SIPC_OK)
        return rc; /* GCOVR_EXCL_LINE: its own start time is unreadable only without /proc */
    /* Records nobody uses first, then a plain observer's (it can do without). */
    for (int i = 0; i < 2 * (int)SIPC_OBSERVER_RECORDS; i++) {
        int r = i % (int)SIPC_OBSERVER_RECORDS;
        seg_observer *record = &ob->header->observers[r];
        uint64_t claim = SH_LOAD_ACQ(&record->claim);
        if (!record_reclaimable(record, claim, i >= (int)SIPC_OBSERVER_RECORDS))
            continue;
        uint64_t active = fill_record(ob, record, claim, &self, stall_ms, SIPC_OBSERVER_ACTIVE, NULL);
        if (active == 0)
            continue;
        SH_FENCE();
        for (int d = 0; d < 2; d++) {
            ob->woken_at[d] = ob->published[d] = ob->next_sequence[d] = SH_LOAD_ACQ(&ob->header->rings[d].head);
            ob->woken_end[d] = ob->published_end[d] = ob->copied_end[d] = SH_LOAD(&ob->header->rings[d].write_pos);
            SH_STORE_REL(&record->cursor[d], ob->next_sequence[d]);
            wake_producer(ob, d);
        }
        ob->record = r;
        ob->claim = active;
        note_my_cpu(ob);
        if (SIPC_CLAIM_STATE(claim) == SIPC_OBSERVER_WATCHING) {
            /* End the nap of the plain observer we took it from: it finds the record gone and sleeps on word 5. */
            SH_ADD(&ob->header->wait_word[SIPC_WAIT_RECORD(r)], 1u);
            sipc_os_wake(ob->segment, SIPC_WAIT_RECORD(r), &ob->header->wait_word[SIPC_WAIT_RECORD(r)]);
        }
        return SIPC_OK;
    }
    sipc_record_error_detail("both lossless observer records of '%.80s' are in use", ob->geometry.name);
    return SIPC_ERR_BUSY;
}

/*
 * A plain observer takes a record nobody uses, to nap in while traffic flows (PROTOCOL.md section 7, "Napping"): the
 * producers never respect its cursor (state WATCHING), they only compare it with their head while it naps. The last
 * record first, since lossless observers take the first. None free: the observer sleeps on word 5, as before.
 */
static void claim_watch(sipc_observer *ob)
{
    sipc_os_process self;
    if (sipc_os_process_self(&self) != SIPC_OK)
        return;
    for (int r = (int)SIPC_OBSERVER_RECORDS - 1; r >= 0; r--) {
        seg_observer *record = &ob->header->observers[r];
        uint64_t claim = SH_LOAD_ACQ(&record->claim);
        if (!record_reclaimable(record, claim, 0))
            continue;
        uint64_t watching = fill_record(ob, record, claim, &self, 0u, SIPC_OBSERVER_WATCHING, ob->next_sequence);
        if (watching == 0)
            continue;
        for (int d = 0; d < 2; d++) {
            ob->published[d] = ob->next_sequence[d];
            ob->published_end[d] = ob->copied_end[d];
        }
        ob->record = r;
        ob->watching = 1;
        ob->claim = watching;
        return;
    }
}

/* 1 while our record is still ours and active; the peers may have dropped it. */
static int record_held(sipc_observer *ob)
{
    return ob->record >= 0 && SH_LOAD_ACQ(&ob->header->observers[ob->record].claim) == ob->claim;
}

/* Whether the messages of direction d copied since sequence `since`, whose record began at position `since_pos`, fill
 * less than `limit` of the ring (sipc_ring_fill_below: asked per message, so without a division). */
static int copied_fill_below(const sipc_observer *ob, int d, uint64_t since, uint64_t since_pos, uint64_t limit)
{
    uint64_t end = ob->copied_end[d];
    return sipc_ring_fill_below(&ob->geometry, ob->next_sequence[d] - since, end > since_pos ? end - since_pos : 0,
                                limit);
}

/* Lossless: tells the producers that everything before next_sequence[d] is copied. The cursor is stored every
 * time; a producer asleep waiting for it is woken only once half a ring is free again, or when we caught up (then
 * nothing more will come from us until it sends), so a producer held back by us wakes once per half ring rather
 * than once per message. */
static void publish_cursor(sipc_observer *ob, int d)
{
    uint64_t next = ob->next_sequence[d];
    if (ob->record < 0 || ob->watching || ob->published[d] == next)
        return;
    ob->published[d] = next;
    ob->published_end[d] = ob->copied_end[d];
    SH_STORE_REL(&ob->header->observers[ob->record].cursor[d], next);
    uint64_t batch = ob->geometry.index_count / 2 ? ob->geometry.index_count / 2 : 1;
    if (!copied_fill_below(ob, d, ob->woken_at[d], ob->woken_end[d], batch) ||
        (next >= ob->seen_head[d] && SH_LOAD_ACQ(&ob->header->rings[d].head) == next)) {
        ob->woken_at[d] = next;
        ob->woken_end[d] = ob->copied_end[d];
        wake_producer(ob, d);
    }
}

/* The cursor moves per run of copied messages, not per message: the producers read our record's cache line at every
 * send, and a store per message made it change hands twice per message. While more messages are known to be ready
 * (before seen_head) it waits for an eighth of a ring; once we copied what was known ready it is stored at once, and
 * before any wait (sipc_observer_next publishes non-lazily when it finds nothing), so a producer held back by us
 * never waits for a cursor we could have stored. A caller that stops calling holds at most an eighth of a ring. */
static void publish_cursor_lazily(sipc_observer *ob, int d)
{
    uint64_t next = ob->next_sequence[d];
    uint64_t batch = ob->geometry.index_count / 8 ? ob->geometry.index_count / 8 : 1;
    if (next < ob->seen_head[d] && copied_fill_below(ob, d, ob->published[d], ob->published_end[d], batch))
        return;
    publish_cursor(ob, d);
}

static void release_record(sipc_observer *ob)
{
    if (ob->record < 0)
        return;
    seg_observer *record = &ob->header->observers[ob->record];
    sh_cas64(&record->claim, ob->claim, SIPC_CLAIM(SIPC_CLAIM_TICKET(ob->claim), SIPC_OBSERVER_FREE));
    ob->record = -1;
    if (ob->watching) {
        ob->watching = 0; /* nobody waits for a plain observer */
        return;
    }
    for (int d = 0; d < 2; d++)
        wake_producer(ob, d);
}

/* ---- events ---- */

static sipc_observed_message *push_event(sipc_observer *ob, int32_t event, int role_index, uint64_t when_ns)
{
    if (ob->event_count == EVENT_QUEUE)
        return NULL;
    sipc_observed_message *e = &ob->events[ob->event_count++];
    memset(e, 0, sizeof *e);
    e->kind = SIPC_OBSERVED_EVENT;
    e->event = event;
    e->direction = -1;
    e->role =
        role_index < 0 ? SIPC_ROLE_NONE : (role_index == SIPC_ROLE_INDEX_SERVER ? SIPC_ROLE_SERVER : SIPC_ROLE_CLIENT);
    e->timestamp_ns = when_ns;
    return e;
}

static void push_role_event(sipc_observer *ob, int32_t event, int r, const role_seen *who, uint64_t when_ns)
{
    sipc_observed_message *e = push_event(ob, event, r, when_ns);
    if (e != NULL) {
        e->pid = who->process.pid;
        e->session = who->session;
    }
}

/* The wall-clock time a role was taken, if it still reads as that session's (else now). */
static uint64_t attach_time(const sipc_observer *ob, int r, uint32_t session)
{
    const seg_role *role = &ob->header->roles[r];
    uint64_t when = SH_LOAD(&role->attached_ns);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return SH_LOAD(&role->session) == session && when != 0 ? when : sipc_os_wall_ns();
}

/*
 * Compares the roles with what we saw last and queues what happened: a holder that left (CLOSED when the role
 * was released, DIED when it is still attached by a process that is gone) and a new holder (ATTACHED). A role
 * taken again between two looks reports the departure of the previous holder as CLOSED (a killed holder's role
 * taken over counts as closed too: we cannot tell any more), then ATTACHED. With check_alive the processes of
 * attached roles are tested (a /proc read each).
 */
static void look_at_roles(sipc_observer *ob, int check_alive)
{
    for (int r = 0; r < 2 && ob->event_count + 3 <= EVENT_QUEUE; r++) {
        seg_role_view view;
        if (!sipc_role_read(ob->header, r, &view))
            continue;
        role_seen *seen = &ob->roles[r];
        uint64_t now = sipc_os_wall_ns();
        if (view.session != seen->session) {
            /* The role was taken again: the previous holder had left by then. */
            uint64_t taken = attach_time(ob, r, view.session);
            if (seen->attached && !seen->died_reported)
                push_role_event(ob, SIPC_EVENT_CLOSED, r, seen, taken < now ? taken : now);
            seen->session = view.session;
            seen->attached = 0;
            seen->died_reported = 0;
            if (view.attached && view.process.pid != 0) {
                seen->attached = 1;
                seen->process = view.process;
                push_role_event(ob, SIPC_EVENT_ATTACHED, r, seen, taken);
            } else if (!view.attached && view.session != 0) {
                /* A holder came and went between two looks: its pid is gone from the role but kept beside it (0,
                 * unknown, if another holder came since or the holder predates that field). Its attach keeps the
                 * role's own time, so that it comes before what that holder sent. */
                seen->process.pid = sipc_role_holder_pid(ob->header, r, view.session);
                seen->process.start_time = 0;
                push_role_event(ob, SIPC_EVENT_ATTACHED, r, seen, taken);
                push_role_event(ob, SIPC_EVENT_CLOSED, r, seen, now);
            }
            continue;
        }
        if (seen->attached && !view.attached) {
            if (!seen->died_reported)
                push_role_event(ob, SIPC_EVENT_CLOSED, r, seen, now);
            seen->attached = 0;
            continue;
        }
        if (check_alive && seen->attached && !seen->died_reported && !sipc_holder_alive(ob->segment, &view, r)) {
            seen->died_reported = 1;
            push_role_event(ob, SIPC_EVENT_DIED, r, seen, now);
        }
    }
}

/* Queues SIPC_EVENT_LOSSLESS_DROPPED once when the peers took our record away. */
static void look_at_record(sipc_observer *ob)
{
    if (ob->record < 0 || record_held(ob))
        return;
    uint64_t claim = SH_LOAD_ACQ(&ob->header->observers[ob->record].claim);
    ob->record = -1;
    if (ob->watching) {
        ob->watching = 0; /* a lossless observer took our plain record: we sleep on word 5 from now on */
        return;
    }
    if (ob->flags & SIPC_OBSERVE_EVENTS) {
        sipc_observed_message *e = push_event(ob, SIPC_EVENT_LOSSLESS_DROPPED, -1, sipc_os_wall_ns());
        if (e != NULL) {
            uint32_t state = SIPC_CLAIM_STATE(claim);
            e->count = state >= SIPC_OBSERVER_DROPPED_STALL ? state - SIPC_OBSERVER_DROPPED_STALL + 1u : 3u;
        }
    }
}

static void take_event(sipc_observer *ob, sipc_observed_message *message)
{
    uint32_t struct_size = message->struct_size;
    *message = ob->events[0];
    message->struct_size = struct_size;
    ob->event_count--;
    memmove(&ob->events[0], &ob->events[1], ob->event_count * sizeof ob->events[0]);
}

/* ---- attach ---- */

SIPC_API int sipc_observe(const char *name, sipc_observer **out)
{
    return sipc_observe_ex(name, NULL, out);
}

SIPC_API int sipc_observe_ex(const char *name, const sipc_observe_options *options, sipc_observer **out)
{
    sipc_clear_error_detail();
    if (out == NULL)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    sipc_observe_options opt;
    sipc_observe_options_init(&opt);
    if (options != NULL) {
        if (options->struct_size < sizeof opt)
            return SIPC_ERR_INVALID_ARGUMENT;
        opt.flags = options->flags;
        opt.stall_timeout_ms = options->stall_timeout_ms;
    }
    if ((opt.flags & ~(uint32_t)(SIPC_OBSERVE_LOSSLESS | SIPC_OBSERVE_EVENTS)) != 0 ||
        opt.stall_timeout_ms > SIPC_OBSERVE_STALL_MAX_MS)
        return SIPC_ERR_INVALID_ARGUMENT;
    int rc = sipc_validate_name(name);
    if (rc != SIPC_OK)
        return rc;
    sipc_observer *ob = calloc(1, sizeof *ob);
    if (ob == NULL)
        return SIPC_ERR_NO_MEMORY; /* GCOVR_EXCL_LINE: out of memory */
    ob->record = -1;
    ob->flags = opt.flags;
    ob->spin_budget_ns = SIPC_SPIN_START_NS;
    ob->nap_quiet_ms = NAP_QUIET_MS;
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(name, key);
    sipc_view view;
    uint64_t deadline = sipc_deadline_after(SIPC_DEFAULT_LOCK_TIMEOUT_MS);
    /* Read-write when allowed (to ask for wake-ups; lossless: to own a record), else read-only. */
    rc = sipc_view_open_flags(key, 0, deadline, &view);
    ob->writable = rc == SIPC_OK;
    if (rc == SIPC_ERR_PERMISSION && !(opt.flags & SIPC_OBSERVE_LOSSLESS))
        rc = sipc_view_open(key, deadline, &view);
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
        ob->copied_end[d] = SH_LOAD(&ob->header->rings[d].write_pos);
        ob->dropped_seen[d] = SH_LOAD(&ob->header->rings[d].dropped);
    }
    /* Reading the heads is the first look: messages that the first call finds gone were sent since (the longest gap
     * before a miss left out a first call that came late, e.g. a copier thread not yet run when its process stopped). */
    ob->last_look_ns = sipc_os_monotonic_ns();
    uint32_t entries = ob->geometry.index_count;
    uint32_t divisor = (opt.flags & SIPC_OBSERVE_LOSSLESS) ? WAKE_AT_LOSSLESS_DIVISOR : WAKE_AT_PLAIN_DIVISOR;
    ob->wake_at_most = ob->wake_at = entries / divisor ? entries / divisor : 1u;
    if (!(opt.flags & SIPC_OBSERVE_LOSSLESS) && ob->writable)
        claim_watch(ob);
    if (opt.flags & SIPC_OBSERVE_LOSSLESS) {
        rc = claim_record(ob, sipc_observer_stall_ms(opt.stall_timeout_ms));
        if (rc != SIPC_OK) {
            sipc_view_close(&view);
            free(ob);
            return rc;
        }
    }
    /* The holders at the start are reported as attached (the timeline starts with who is there); earlier
     * sessions of a free role are history, not events. */
    for (int r = 0; r < 2; r++) {
        seg_role_view role;
        if (sipc_role_read(ob->header, r, &role) && !((opt.flags & SIPC_OBSERVE_EVENTS) && role.attached))
            ob->roles[r].session = role.session;
    }
    if (opt.flags & SIPC_OBSERVE_EVENTS)
        look_at_roles(ob, 1);
    ob->last_existence_check = ob->last_liveness_check = sipc_os_monotonic_ns();
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

int sipc_observer_info_with(sipc_observer *observer, sipc_channel_info *info, sipc_holder_alive_fn holder_alive,
                            void *context)
{
    if (observer == NULL || info == NULL || info->struct_size < sizeof *info)
        return SIPC_ERR_INVALID_ARGUMENT;
    sipc_fill_info_with(observer->header, &observer->geometry, observer->segment, info, holder_alive, context);
    return SIPC_OK;
}

/* ---- reading ---- */

typedef struct candidate {
    int present;
    uint64_t pos; /* of its record */
    uint64_t stamp;
    uint64_t send_ns;
    uint32_t length;
    uint32_t to_session;
} candidate;

/* 1 if nothing has been written over the record at ring position `at` of direction d (call after an acquire fence that
 * follows the reads to check): the producer raises the frontier, and stores write_pos, before it writes a byte. The
 * frontier first: its line changes once per eighth of a ring, where write_pos shares head's, written at every send. It
 * runs up to an eighth ahead of the bytes written, so a record it has passed may still be whole: write_pos says. */
static int record_whole(const sipc_observer *ob, int d, uint64_t at)
{
    const seg_ring *ring = &ob->header->rings[d];
    return sipc_position_in_ring(&ob->geometry, at, SH_LOAD(&ring->frontier)) ||
           sipc_position_in_ring(&ob->geometry, at, SH_LOAD(&ring->write_pos));
}

/*
 * Finds the next complete message of direction d the observer has not seen, skipping (and
 * counting) the ones already overwritten. SIPC_ERR_CORRUPT if the ring contradicts itself.
 * The ring's head is loaded again only once we reached the head we last saw (the producer writes that cache line at
 * every send: a load per message cost a transfer of the line per message) or when a record turned out overwritten (to
 * jump to what is still there). The record's stamp and the frontier, not head, say whether its message is there: a
 * stale head is safe.
 */
static int find_next(sipc_observer *ob, int d, candidate *c)
{
    c->present = 0;
    const seg_ring *ring = &ob->header->rings[d];
    const seg_geometry *g = &ob->geometry;
    const uint64_t entries = g->index_count;
    int reload = 0;
    for (;;) {
        uint64_t pos = ob->next_sequence[d];
        if (reload || ob->seen_head[d] <= pos) {
            ob->seen_head[d] = SH_LOAD_ACQ(&ring->head);
            ob->dropped_due[d] = 1;
        }
        reload = 0;
        uint64_t head = ob->seen_head[d];
        if (head == pos)
            return SIPC_OK;
        if (head < pos) {
            /* A sequence number cannot go back in one segment (a new channel is a new object). */
            return SIPC_ERR_CORRUPT;
        }
        if (head - pos > entries) {
            /* Its index entry has been reused already. */
            ob->missed[d] += head - entries - pos;
            ob->next_sequence[d] = pos = head - entries;
        }
        uint64_t at = SH_LOAD(sipc_index_entry((void *)ob->header, g, d, pos));
        if (at % SIPC_SLOT_ALIGN != 0) {
            /* No producer writes such an entry: a forged one, whose header would not lie within the ring. */
            ob->missed[d]++;
            ob->next_sequence[d] = pos + 1;
            reload = 1;
            continue;
        }
        const seg_slot_header *slot = sipc_record_at((void *)ob->header, g, d, at);
        uint64_t stamp = SH_LOAD_ACQ(&slot->stamp);
        uint64_t send_ns = SH_LOAD(&slot->send_ns);
        uint32_t length = SH_LOAD(&slot->length);
        uint32_t to_session = SH_LOAD(&slot->to_session);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint64_t again = SH_LOAD(&slot->stamp);
        int whole = record_whole(ob, d, at);
        if (whole && stamp == 2 * pos + 2 && again == stamp) {
            if (length > g->max_message)
                return SIPC_ERR_CORRUPT;
            c->present = 1;
            /* The records a producer wrote are in its CPU's cache: asking for a later one now overlaps that transfer
             * with this message's copying and the caller's work (the first load of a record was most of our time). */
            if (head - pos > PREFETCH_AHEAD) {
                uint64_t later = SH_LOAD(sipc_index_entry((void *)ob->header, g, d, pos + PREFETCH_AHEAD));
                const uint8_t *ahead = (const uint8_t *)sipc_record_at((void *)ob->header, g, d,
                                                                       later / SIPC_SLOT_ALIGN * SIPC_SLOT_ALIGN);
                __builtin_prefetch(ahead, 0, 3);
                __builtin_prefetch(ahead + SIPC_SLOT_HEADER_SIZE, 0, 3);
            }
            c->pos = at;
            c->stamp = stamp;
            c->send_ns = send_ns;
            c->length = length;
            c->to_session = to_session;
            return SIPC_OK;
        }
        if (whole && stamp < 2 * pos + 2 && again < 2 * pos + 2 && SH_LOAD_ACQ(&ring->head) - pos < entries) {
            /* head said it was published, nothing overwrote its record, and its index entry cannot be being reused (the
             * producer stores the entry of message pos + index_count, the record's position, before its stamp), yet the
             * record holds an older message */
            return SIPC_ERR_CORRUPT;
        }
        /* Being overwritten by a newer message: this one is lost to us (and head has moved on). */
        ob->missed[d]++;
        ob->next_sequence[d] = pos + 1;
        reload = 1;
    }
}

/* Callers built before `discarded` was added pass a struct that ends after `missed`. */
#define OBSERVED_MESSAGE_FIRST_SIZE (offsetof(sipc_observed_message, missed) + sizeof(uint64_t))
/* Callers built before events were added pass a struct that ends after `reserved`. */
#define OBSERVED_MESSAGE_EVENTS_SIZE (offsetof(sipc_observed_message, count) + sizeof(uint64_t))

/* Messages of direction d its consumer discarded since the last report (ring `dropped` grows). Looked at once per run
 * of messages (after each load of head), not per message: `dropped` shares its cache line with the consumer's tail,
 * written at every receive; a discard is reported with the first message copied after the look that saw it. */
static uint64_t take_discarded(sipc_observer *ob, int d)
{
    if (!ob->dropped_due[d])
        return 0;
    ob->dropped_due[d] = 0;
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
    /* The usual answer from two loads (this runs per message): the addressee's session still holds the role. */
    const seg_role *held = &ob->header->roles[consumer];
    if (SH_LOAD_ACQ(&held->session) == to_session && SH_LOAD_ACQ(&held->state) == SIPC_SLOT_ATTACHED &&
        SH_LOAD_ACQ(&held->session) == to_session)
        return 0;
    seg_role_view role;
    if (!sipc_role_read(ob->header, consumer, &role))
        return 0;
    if (role.session == to_session && role.attached)
        return 0;
    return pos >= SH_LOAD_ACQ(&ob->header->rings[d].tail);
}

/* 1 if a sleep on the observer wait word will be ended by the next message: our mapping can raise the
 * wake-up flag, and every attached producer announces that it serves observers. */
static int producers_wake_us(const sipc_observer *ob)
{
    if (!ob->writable)
        return 0;
    for (int r = 0; r < 2; r++) {
        const seg_role *role = &ob->header->roles[r];
        if (SH_LOAD_ACQ(&role->state) == SIPC_SLOT_ATTACHED && !(SH_LOAD(&role->flags) & SIPC_ROLE_SERVES_OBSERVERS))
            return 0;
    }
    return 1;
}

/* What the observer did before a look at the rings: the messages that look finds gone are counted under it. */
typedef enum look_after {
    AFTER_CALL,    /* the first look of a call: the caller had the thread since the last return */
    AFTER_RUNNING, /* spinning or copying within the call */
    AFTER_SLEEP,   /* a sleep that ended at its time limit, or a poll */
    AFTER_WAKE_UP  /* a sleep that a producer ended */
} look_after;

/* Counts the messages the look at `now` found gone (missed_now) under what the observer did since the last look,
 * and times the wake-up that brought it here: from the send of the oldest message it finds to now. A wake-up that
 * came too late is timed too (from the oldest message left: a lower bound), so that the latency figures show the
 * late ones rather than only those that were in time. */
static void account_look(sipc_observer *ob, look_after after, uint64_t now, uint64_t missed_now, uint64_t first_send_ns)
{
    if (missed_now != 0) {
        stat_add(&ob->stats.missed, missed_now);
        stat_add(after == AFTER_CALL      ? &ob->stats.missed_away
                 : after == AFTER_RUNNING ? &ob->stats.missed_running
                                          : &ob->stats.missed_asleep,
                 missed_now);
        if (ob->last_look_ns != 0)
            stat_max(&ob->stats.longest_miss_gap_ns, now - ob->last_look_ns);
    }
    if (after == AFTER_WAKE_UP && first_send_ns != 0) {
        uint64_t wall = sipc_os_wall_ns();
        uint64_t latency = wall > first_send_ns ? wall - first_send_ns : 0;
        stat_add(&ob->stats.wake_latency_count, 1);
        stat_add(&ob->stats.wake_latency_total_ns, latency);
        stat_max(&ob->stats.wake_latency_max_ns, latency);
    }
    ob->last_look_ns = now;
}

/* 1 if a role's session or attached state differs from what look_at_roles last saw (four loads: look_at_roles reads
 * the roles consistently and the clock, which per message was a fifth of the observer's time). */
static int roles_changed(const sipc_observer *ob)
{
    for (int r = 0; r < 2; r++) {
        const seg_role *role = &ob->header->roles[r];
        if (SH_LOAD_ACQ(&role->session) != ob->roles[r].session ||
            (SH_LOAD_ACQ(&role->state) == SIPC_SLOT_ATTACHED) != ob->roles[r].attached)
            return 1;
    }
    return 0;
}

/* Something for sipc_observer_next to look at: at least `batch` messages of a direction not copied yet, or a role
 * change since the caller looked. */
static int news_of(sipc_observer *ob, uint64_t batch)
{
    if (__atomic_load_n(&ob->cancelled, __ATOMIC_ACQUIRE))
        return 1;
    for (int d = 0; d < 2; d++) {
        const seg_ring *ring = &ob->header->rings[d];
        uint64_t head = SH_LOAD_ACQ(&ring->head);
        uint64_t next = ob->next_sequence[d];
        /* A head behind us is corrupt: the look at the rings says so. */
        if (head < next || head - next >= batch)
            return 1;
        if (batch > 1 && head != next &&
            sipc_ring_fill_since(ob->header, &ob->geometry, d, next, head, SH_LOAD(&ring->write_pos)) >= batch)
            return 1;
    }
    if ((ob->flags & SIPC_OBSERVE_EVENTS) && roles_changed(ob))
        return 1;
    return ob->record >= 0 && !record_held(ob);
}

static int anything_new(sipc_observer *ob)
{
    return news_of(ob, 1);
}

/* The uncopied messages of a direction that make a producer end our nap: what we asked for in the record, as the
 * producers clamp it (PROTOCOL.md section 7, "Napping"). A producer that predates the field uses half a ring: it wakes
 * us later than asked (a plain observer misses more), never not at all. */
static uint64_t nap_batch(const sipc_observer *ob)
{
    return sipc_observer_wake_at(ob->wake_at, ob->geometry.index_count);
}

/* 1 if the observer may nap in its record (lossless, or a plain observer's): every attached producer wakes napping
 * observers. */
static int producers_wake_napping(const sipc_observer *ob)
{
    if (ob->record < 0)
        return 0;
    for (int r = 0; r < 2; r++) {
        const seg_role *role = &ob->header->roles[r];
        if (SH_LOAD_ACQ(&role->state) == SIPC_SLOT_ATTACHED &&
            !(SH_LOAD(&role->flags) & SIPC_ROLE_WAKES_NAPPING_OBSERVERS))
            return 0;
    }
    return 1;
}

/*
 * Lossless, while traffic flows: naps until half a ring of a direction is uncopied (a producer then wakes us), or at
 * most timeout_ms (the channel went quiet before that). Raise the record's `napping` after reading its wait word,
 * fence, look once more, then wait; the producer that publishes the message that makes half a ring takes the flag
 * down and wakes us (PROTOCOL.md section 7, "Napping"). The producers pay one wake-up per half ring, not one per
 * few messages, and the observer copies half a ring per wake-up.
 */
static look_after nap_until_behind(sipc_observer *ob, int32_t timeout_ms)
{
    uint32_t index = SIPC_WAIT_RECORD(ob->record);
    uint32_t *word = &ob->header->wait_word[index];
    seg_observer *record = &ob->header->observers[ob->record];
    uint32_t *napping = &record->napping;
    uint32_t seen = SH_LOAD_ACQ(word);
    note_my_cpu(ob);
    if (ob->watching)
        /* A plain observer's cursor is published only here, for the producers' comparison while we nap (a lossless
         * observer's is current: it publishes every copy). Before the flag: they read it after they see the flag. */
        for (int d = 0; d < 2; d++)
            if (ob->published[d] != ob->next_sequence[d]) {
                ob->published[d] = ob->next_sequence[d];
                SH_STORE_REL(&record->cursor[d], ob->next_sequence[d]);
            }
    SH_XCHG(napping, 1u);
    SH_FENCE();
    if (news_of(ob, nap_batch(ob))) {
        SH_STORE(napping, 0u);
        return AFTER_RUNNING;
    }
    stat_add(&ob->stats.sleeps, 1);
    ob->napped = 1;
    int rc = sipc_os_wait(ob->segment, index, word, seen, timeout_ms);
    /* Down again whether a producer took it down or the time ran out (a producer that exchanges it meanwhile pays
     * one wake-up for nothing). */
    SH_STORE(napping, 0u);
    note_my_cpu(ob);
    if (rc == SIPC_ERR_TIMEOUT) {
        /* A whole nap without half a ring: the channel went quiet, and the next wait sleeps until any message comes. */
        ob->delivered_since_nap = 0;
        return AFTER_SLEEP;
    }
    /* Woken, but not necessarily by a producer: a wait can also end for a signal, a stale semaphore count (Windows) or a
     * role change. Traffic still counts as flowing, so a look that finds nothing naps again rather than raising the
     * flag that makes the very next send pay a wake-up. */
    stat_add(&ob->stats.woken, 1);
    return AFTER_WAKE_UP;
}

/*
 * Sleeps until a producer publishes (or a role changes) or timeout_ms passes: raise the flag in
 * waiters[SIPC_WAIT_OBSERVE] after reading the wait word, fence, look once more, then wait on the word. The
 * producer that finds the flag raised after its publish takes it down and wakes us (PROTOCOL.md section 7).
 */
static look_after sleep_until_news(sipc_observer *ob, int32_t timeout_ms)
{
    uint32_t *word = &ob->header->wait_word[SIPC_WAIT_OBSERVE];
    uint32_t seen = SH_LOAD_ACQ(word);
    ob->delivered_since_nap = 0;
    note_my_cpu(ob);
    SH_XCHG(&ob->header->waiters[SIPC_WAIT_OBSERVE], 1u);
    SH_FENCE();
    if (anything_new(ob))
        return AFTER_RUNNING;
    stat_add(&ob->stats.sleeps, 1);
    int rc = sipc_os_wait(ob->segment, SIPC_WAIT_OBSERVE, word, seen, timeout_ms);
    note_my_cpu(ob); /* where the scheduler put us on waking, for the producers' next decision */
    if (rc == SIPC_ERR_TIMEOUT)
        return AFTER_SLEEP;
    stat_add(&ob->stats.woken, 1);
    return AFTER_WAKE_UP;
}

/* How long to spin for the next message (0: sleep at once): the adaptive budget, and nothing while the producer of the
 * last message last ran on our CPU (it needs this CPU to send; PROTOCOL.md section 6, "Not on a shared CPU"). */
static uint32_t spin_limit(sipc_observer *ob)
{
    int producer = ob->last_direction == SIPC_DIR_TO_CLIENT ? SIPC_ROLE_INDEX_SERVER : SIPC_ROLE_INDEX_CLIENT;
    int cpu = sipc_os_current_cpu();
    if (cpu >= 0 && SH_LOAD(&ob->header->roles[producer].cpu) == (uint32_t)cpu + 1u)
        return 0;
    return sipc_spin_budget_limit(ob->spin_budget_ns, ob->spin_budget_ns == 0 ? ++ob->spin_probe : 0u);
}

/* Spins (CPU relax) until anything_new or spin_ns passed: 1 if something came. */
static int spin_for_news(sipc_observer *ob, uint64_t now, uint64_t deadline, uint32_t spin_ns)
{
    uint64_t until = now + spin_ns < deadline ? now + spin_ns : deadline;
    for (unsigned i = 1;; i++) {
        if (anything_new(ob))
            return 1;
        sipc_os_cpu_relax();
        if ((i & 15) == 0 && sipc_os_monotonic_ns() >= until)
            return 0;
    }
}

/* Copies message `pos` of direction d (found by find_next as c) into the caller's message and buffer.
 * 0 if it was overwritten while we copied (counted as missed). */
static int deliver(sipc_observer *ob, int d, const candidate *c, void *buffer, size_t capacity,
                   sipc_observed_message *message)
{
    uint64_t pos = ob->next_sequence[d];
    const seg_slot_header *slot = sipc_record_at((void *)ob->header, &ob->geometry, d, c->pos);
    size_t copied = c->length < capacity ? c->length : capacity;
    if (copied != 0)
        sipc_ring_copy_out(ob->header, &ob->geometry, d, c->pos + SIPC_SLOT_HEADER_SIZE, buffer, copied);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (SH_LOAD(&slot->stamp) != c->stamp || !record_whole(ob, d, c->pos)) {
        /* Overwritten while we copied: never hand out torn bytes. */
        ob->missed[d]++;
        ob->next_sequence[d] = pos + 1;
        return 0;
    }
    uint32_t struct_size = message->struct_size;
    memset(message, 0, struct_size < sizeof *message ? struct_size : sizeof *message);
    message->struct_size = struct_size;
    if (struct_size >= offsetof(sipc_observed_message, reserved)) {
        message->discarded = take_discarded(ob, d);
        message->undeliverable = addressee_gone(ob, d, pos, c->to_session);
    }
    message->direction = d;
    message->sequence = pos;
    message->timestamp_ns = c->send_ns;
    message->length = c->length;
    message->copied = (uint32_t)copied;
    message->missed = ob->missed[d];
    ob->missed[d] = 0;
    ob->next_sequence[d] = pos + 1;
    ob->copied_end[d] = c->pos + sipc_record_size(c->length);
    publish_cursor_lazily(ob, d);
    return 1;
}

SIPC_API int sipc_observer_next(sipc_observer *observer, void *buffer, size_t capacity, sipc_observed_message *message,
                                int32_t timeout_ms)
{
    sipc_observer *ob = observer;
    if (ob == NULL || message == NULL || message->struct_size < OBSERVED_MESSAGE_FIRST_SIZE ||
        (buffer == NULL && capacity != 0))
        return SIPC_ERR_INVALID_ARGUMENT;
    const int events = (ob->flags & SIPC_OBSERVE_EVENTS) && message->struct_size >= OBSERVED_MESSAGE_EVENTS_SIZE;
    /* A call right after a return of a message (a copier taking what is ready, a loop handing each message on) starts
     * at that return's time for 15 calls out of 16: the time between such calls is the caller's copy, and a clock read
     * per message was a sixth of a C observer's time (a twentieth of a copier's). The deadline is taken from the
     * clock again if this call has to wait (it is never early). */
    int start_reused = ob->returned_message && (++ob->clock_skips & 15u) != 0;
    ob->returned_message = 0;
    uint64_t start = start_reused ? ob->returned_ns : sipc_os_monotonic_ns();
    uint64_t deadline = sipc_deadline_at(start, timeout_ms);
    uint32_t poll_us = POLL_MIN_US;
    if (ob->returned_ns != 0)
        stat_max(&ob->stats.longest_away_ns, start - ob->returned_ns);
    look_after after = AFTER_CALL;
    /* One clock read per look (the first is the call's start), and the return's time is the look's: a tap calls this
     * once per message, and clock reads were a tenth of its copier's CPU time. */
    uint64_t now = start;
    for (;; now = sipc_os_monotonic_ns()) {
        if (__atomic_load_n(&ob->cancelled, __ATOMIC_ACQUIRE))
            return SIPC_ERR_CANCELLED;
        look_at_record(ob);
        if (events) {
            int check_alive = now - ob->last_liveness_check >= LIVENESS_CHECK_NS;
            if (check_alive)
                ob->last_liveness_check = now;
            if (check_alive || roles_changed(ob))
                look_at_roles(ob, check_alive);
        }
        candidate c[2];
        uint64_t missed_before = ob->missed[0] + ob->missed[1];
        for (int d = 0; d < 2; d++) {
            int rc = find_next(ob, d, &c[d]);
            if (rc != SIPC_OK)
                return rc;
            publish_cursor_lazily(ob, d); /* skipped (missed) messages no longer need to be kept */
        }
        int d = -1;
        if (c[0].present && c[1].present)
            d = c[1].send_ns < c[0].send_ns ? 1 : 0;
        else if (c[0].present || c[1].present)
            d = c[0].present ? 0 : 1;
        uint64_t missed_now = ob->missed[0] + ob->missed[1] - missed_before;
        account_look(ob, after, now, missed_now, d >= 0 ? c[d].send_ns : 0);
        if (ob->napped) {
            ob->napped = 0;
            if (ob->watching) {
                uint32_t wake_at =
                    sipc_observer_adapt_wake_at(ob->wake_at, ob->wake_at_most, &ob->clean_naps, missed_now != 0);
                if (wake_at != ob->wake_at) {
                    ob->wake_at = wake_at;
                    SH_STORE(&ob->header->observers[ob->record].wake_at, wake_at);
                }
            }
        }
        after = AFTER_RUNNING;
        /* Events and messages in time order (an event's time: the attach, or when we noticed it). */
        if (ob->event_count > 0 && (d < 0 || ob->events[0].timestamp_ns <= c[d].send_ns)) {
            if (events) {
                take_event(ob, message);
                return SIPC_OK;
            }
            ob->event_count = 0;
        }
        if (d >= 0) {
            if (deliver(ob, d, &c[d], buffer, capacity, message)) {
                ob->last_delivery_ns = now;
                ob->delivered_since_nap = 1;
                ob->last_direction = d;
                stat_add(&ob->stats.messages, 1);
                ob->returned_ns = now;
                ob->returned_message = 1;
                return SIPC_OK;
            }
            /* Overwritten while we copied it. */
            stat_add(&ob->stats.missed, 1);
            stat_add(&ob->stats.missed_running, 1);
            continue;
        }
        /* Nothing ready: what we copied is stored before we wait or return (publish_cursor_lazily). */
        for (int e = 0; e < 2; e++)
            publish_cursor(ob, e);
        if (start_reused && timeout_ms != 0) {
            start_reused = 0;
            now = sipc_os_monotonic_ns();
            deadline = sipc_deadline_at(now, timeout_ms);
        }
        if (now >= deadline)
            return SIPC_ERR_TIMEOUT;
        if (now - ob->last_existence_check >= EXISTENCE_CHECK_NS) {
            ob->last_existence_check = now;
            if (sipc_os_segment_is_current(ob->segment) == 0)
                return SIPC_ERR_NOT_FOUND;
        }
        /* Traffic is flowing: the next message is probably microseconds away, sooner than a wake-up would bring us
         * back (a wake-up costs the producer a syscall and us the scheduler's latency). */
        uint32_t spin_ns = now - ob->last_delivery_ns < SPIN_WHILE_FLOWING_NS ? spin_limit(ob) : 0u;
        /* A lossless observer that can nap does not spin: it misses nothing by waiting, and a spin for the next message
         * took a CPU from the peers for a message or two at a time (on two CPUs, the peers then shared the other one);
         * it naps until half a ring waits and copies that in one go. */
        if (ob->delivered_since_nap && !ob->watching && producers_wake_napping(ob))
            spin_ns =
                0; /* (a plain observer that naps in its record still spins: it misses what it waits too long for) */
        if (spin_ns != 0) {
            stat_add(&ob->stats.spins, 1);
            int hit = spin_for_news(ob, now, deadline, spin_ns);
            ob->spin_budget_ns = sipc_spin_budget_after(ob->spin_budget_ns, hit);
            if (hit) {
                stat_add(&ob->stats.spin_hits, 1);
                continue;
            }
        }
        /* Woken, this thread has until the ring wraps (160 us at 100k msgs/s where it holds 16) to copy; queued behind a
         * busy peer for a default slice (0.7-3 ms on Linux) it missed what came meanwhile (PROTOCOL.md section 7). */
        sipc_os_thread_prefer_prompt_wakeup();
        if (ob->delivered_since_nap && producers_wake_napping(ob)) {
            /* Traffic flows: copy it in batches of half a ring. A nap that ends with nothing new found the channel
             * quiet, and the next wait sleeps until any message comes. */
            int32_t left_ms = sipc_deadline_ms_left(deadline);
            int32_t quiet_ms = ob->nap_quiet_ms;
            after = nap_until_behind(ob, left_ms == SIPC_INFINITE || left_ms > quiet_ms ? quiet_ms : left_ms);
            continue;
        }
        if (producers_wake_us(ob)) {
            int32_t left_ms = sipc_deadline_ms_left(deadline);
            after =
                sleep_until_news(ob, left_ms == SIPC_INFINITE || left_ms > SLEEP_SLICE_MS ? SLEEP_SLICE_MS : left_ms);
            continue;
        }
        uint64_t left_us = sipc_deadline_us_left_at(deadline, now);
        stat_add(&ob->stats.polls, 1);
        after = AFTER_SLEEP;
        sipc_os_sleep_us(left_us < poll_us ? (uint32_t)left_us : poll_us);
        if (poll_us < POLL_MAX_US)
            poll_us = poll_us * 2 > POLL_MAX_US ? POLL_MAX_US : poll_us * 2;
    }
}

void sipc_observer_fix_nap(sipc_observer *observer, int32_t quiet_ms)
{
    observer->nap_quiet_ms = quiet_ms;
}

uint32_t sipc_observer_adapt_wake_at(uint32_t wake_at, uint32_t most, uint32_t *clean_naps, int missed)
{
    if (missed) {
        *clean_naps = 0;
        return wake_at / 2 ? wake_at / 2 : 1u;
    }
    if (wake_at >= most)
        return wake_at;
    if (++*clean_naps < WAKE_AT_RAISE_AFTER)
        return wake_at;
    *clean_naps = 0;
    return wake_at + 1u;
}

void sipc_observer_fix_wake_at(sipc_observer *observer, uint32_t wake_at)
{
    observer->wake_at_most = observer->wake_at = wake_at;
    if (observer->record >= 0)
        SH_STORE(&observer->header->observers[observer->record].wake_at, wake_at);
}

int sipc_observer_record_index(const sipc_observer *observer)
{
    return observer->record;
}

SIPC_API int sipc_observer_get_stats(sipc_observer *observer, sipc_observer_stats *stats)
{
    if (observer == NULL || stats == NULL || stats->struct_size < sizeof *stats)
        return SIPC_ERR_INVALID_ARGUMENT;
    const uint64_t *from = &observer->stats.messages;
    uint64_t *to = &stats->messages;
    const size_t counters = (sizeof *stats - offsetof(sipc_observer_stats, messages)) / sizeof(uint64_t);
    for (size_t i = 0; i < counters; i++)
        to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
    stats->reserved = 0;
    return SIPC_OK;
}

SIPC_API int sipc_observer_cancel(sipc_observer *observer)
{
    if (observer == NULL)
        return SIPC_ERR_INVALID_ARGUMENT;
    __atomic_store_n(&observer->cancelled, 1, __ATOMIC_SEQ_CST);
    if (observer->writable) {
        /* End our own sleep on the observer word (other observers of the channel wake spuriously, harmless). */
        SH_ADD(&observer->header->wait_word[SIPC_WAIT_OBSERVE], 1u);
        sipc_os_wake(observer->segment, SIPC_WAIT_OBSERVE, &observer->header->wait_word[SIPC_WAIT_OBSERVE]);
        /* Or our nap (which record is ours is the observing thread's to know: wake both). */
        for (uint32_t r = 0; r < SIPC_OBSERVER_RECORDS; r++) {
            SH_ADD(&observer->header->wait_word[SIPC_WAIT_RECORD(r)], 1u);
            sipc_os_wake(observer->segment, SIPC_WAIT_RECORD(r), &observer->header->wait_word[SIPC_WAIT_RECORD(r)]);
        }
    }
    return SIPC_OK;
}

SIPC_API int sipc_observer_close(sipc_observer *observer)
{
    if (observer == NULL)
        return SIPC_ERR_INVALID_ARGUMENT;
    release_record(observer);
    sipc_os_segment_unmap(observer->segment, (void *)observer->header, observer->size);
    sipc_os_segment_close(observer->segment);
    free(observer);
    return SIPC_OK;
}
