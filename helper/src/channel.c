/*
 * channel.c — the peers: open (role election, stale recovery), connect, send, recv, cancel, close.
 * See PROTOCOL.md for the layout, the state machine and the waiting protocol.
 */
#include "deadline.h"
#include "layout.h"
#include "nowait.h"
#include "spin_policy.h"
#include "test_hooks.h"
#include "waiting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Spinning for the peer pays only while the peer is on a CPU (PROTOCOL.md, section 6). Each wait
 * word gets an adaptive spin budget (spin_policy.h): it grows while spins succeed (peer on another CPU) and
 * halves when they fail (peer descheduled, e.g. sharing our CPU), down to zero; at zero, every
 * SIPC_SPIN_PROBE_EVERY-th wait probes with SIPC_SPIN_PROBE_NS. No spinning while the peer sleeps in a wait,
 * unless this handle woke it and it has not gone back to sleep since: then it is on its way to a
 * CPU, and a spin of at least WAKE_SPIN_NS covers its wake-up (every WAKE_PROBE_EVERY-th wait even
 * at budget zero, so a pair that fell back to sleeping finds the fast hand-off again; 32 recovers
 * within ~1 ms and cost nothing measurable on one CPU, where such a spin mostly finds the answer
 * because the woken peer preempted us). */
#define WAKE_SPIN_NS 50000u
#define WAKE_PROBE_EVERY 32u
/* woke_peer_nap: this flag | the peer's `naps` when this handle last woke it. */
#define WOKE_PEER 0x100000000ull
/* A blocked call re-checks that the peer process is alive at least this often. */
#define LIVENESS_SLICE_MS 100
/* An object of size 0 (created, not yet initialised) is abandoned after this long. */
#define ABANDONED_EMPTY_NS 500000000ull
#define OPEN_ATTEMPTS 10000

struct sipc_channel {
    sipc_os_segment *segment;
    seg_header *header;
    uint64_t size;
    seg_geometry geometry;
    char key[SIPC_OS_KEY_MAX + 1];
    int role_index; /* SIPC_ROLE_INDEX_* */
    int peer_index;
    int out_direction; /* direction this side produces */
    int in_direction;
    uint32_t my_session;
    sipc_os_process self;

    /* process-local state, shared by this handle's threads */
    sipc_os_mutex send_lock;
    sipc_os_mutex recv_lock;
    /* Guarded by recv_lock: the message after the last one this handle took or discarded, and where its record lies if
     * the producer wrote it next (records are contiguous: realign_write_pos). Receiving it needs no index entry, a line
     * the producer writes at every send. */
    uint64_t next_record_seq;
    uint64_t next_record_pos;
    sipc_os_mutex state_lock;    /* guards peer_view */
    uint32_t peer_session;       /* atomic; 0 until connected */
    uint32_t peer_dead_session;  /* atomic; session found dead by a liveness check */
    seg_role_view peer_view;     /* the adopted peer as it attached: its process and whether it holds a token */
    int cancelled;               /* atomic */
    int closed;                  /* atomic: set once by sipc_close; calls in progress then return SIPC_ERR_CLOSED */
    int users;                   /* atomic: calls in progress (enter..leave); sipc_close frees the handle at 0 */
    uint32_t fork_generation;    /* sipc_os_fork_generation() at open: differs in a forked child */
    sipc_channel *registry_prev; /* the process's open handles (guarded by sipc_os_process_lock) */
    sipc_channel *registry_next;
    uint32_t spin_budget_ns[SIPC_WAIT_WORDS]; /* atomic (relaxed): a heuristic shared by threads */
    uint32_t spin_probe[SIPC_WAIT_WORDS];
    uint32_t spin_fixed_ns;   /* atomic; test hook: a fixed budget, no learning (0 = adaptive) */
    uint64_t woke_peer_nap;   /* atomic; WOKE_PEER | peer naps at our last wake-up of it, 0 = never */
    sipc_wait_stats stats;    /* atomic (relaxed) counters, see waiting.h */
    sipc_test_hook test_hook; /* atomic; test_hooks.h, NULL outside tests */
    void *test_hook_arg;
    int never_spin; /* SIPC_OPEN_NO_SPIN */
#if defined(SIPC_OS_HAS_PROCESS_WATCHER)
    sipc_os_watcher *watcher; /* started at the first connect; guarded by state_lock */
#endif
    uint32_t watched_session; /* atomic; the peer session whose death the watcher reports */
    /* Lossless observers this handle's sends waited for (guarded by send_lock): since when an observer
     * record has held us back without its cursor moving, and when its process was last seen alive. */
    struct observer_hold {
        uint64_t claim;
        uint64_t cursor;
        uint64_t since_ns;
        uint64_t alive_checked_ns;
    } observer_hold[SIPC_OBSERVER_RECORDS];
};

/* Every open handle is in the process's registry until it is closed (see release_at_exit). */
static void registry_add(sipc_channel *ch);
static void registry_remove(sipc_channel *ch);

/* ---- helpers ---- */

static void bump_and_wake(sipc_channel *ch, uint32_t index)
{
    SH_ADD(&ch->header->wait_word[index], 1u);
    sipc_os_wake(ch->segment, index, &ch->header->wait_word[index]);
}

static void count(uint64_t *counter)
{
    __atomic_add_fetch(counter, 1u, __ATOMIC_RELAXED);
}

static void test_point(sipc_channel *ch, sipc_test_point point)
{
    sipc_test_hook hook = __atomic_load_n(&ch->test_hook, __ATOMIC_ACQUIRE);
    if (__builtin_expect(hook != NULL, 0))
        hook(ch->test_hook_arg, point);
}

/* Wakes the peer's sleepers of a wait word, but only pays for the syscall when someone sleeps there.
 * The peer's `naps` is read before the wake-up: a sleeper counts its nap before it counts itself in
 * `waiters`, so the value is the nap this wake-up ends (read after it, it could already be the
 * woken peer's next nap, and we would spin on a peer that sleeps again). */
static void notify(sipc_channel *ch, uint32_t index)
{
    SH_FENCE();
    if (SH_LOAD(&ch->header->waiters[index]) != 0) {
        uint32_t nap = SH_LOAD(&ch->header->roles[ch->peer_index].naps);
        bump_and_wake(ch, index);
        __atomic_store_n(&ch->woke_peer_nap, WOKE_PEER | nap, __ATOMIC_RELAXED);
        count(&ch->stats.wakes);
    }
}

/* Wakes the observers asleep on SIPC_WAIT_OBSERVE (PROTOCOL.md section 7). They raise the flag in
 * `waiters` before they sleep; the first producer that finds it raised takes it down and pays the one
 * wake-up, so a burst of sends costs one syscall per observer nap, not one per message. Call after a
 * full fence (notify's). */
static void notify_observers(sipc_channel *ch)
{
    uint32_t *flag = &ch->header->waiters[SIPC_WAIT_OBSERVE];
    if (SH_LOAD(flag) != 0 && SH_XCHG(flag, 0u) != 0) {
        bump_and_wake(ch, SIPC_WAIT_OBSERVE);
        count(&ch->stats.observer_wakes);
    }
}

/* Ends the nap of the observer of record r, if it naps: the first to take its flag down pays the wake-up. */
static void end_nap(sipc_channel *ch, int r)
{
    seg_observer *record = &ch->header->observers[r];
    if (SH_LOAD(&record->napping) != 0 && SH_XCHG(&record->napping, 0u) != 0) {
        bump_and_wake(ch, SIPC_WAIT_RECORD(r));
        count(&ch->stats.observer_wakes);
    }
}

/* Wakes an observer napping in its record (PROTOCOL.md section 7, "Napping") once the messages of direction d it has
 * not copied fill as much of the ring as it asked for (`wake_at`, half when absent): it copies a batch per wake-up
 * instead of one per few messages, and only its nap costs us a syscall. It
 * raised `napping` then looked at head; we published head, then (notify's full fence) look at `napping`: either it
 * saw our message or we see it napping. `head` and `write_pos` are the values just published. The cursor is only
 * compared: a forged one costs at most a wake-up. */
static void notify_napping_observers(sipc_channel *ch, int d, uint64_t head, uint64_t write_pos)
{
    for (int r = 0; r < (int)SIPC_OBSERVER_RECORDS; r++) {
        seg_observer *record = &ch->header->observers[r];
        /* Acquire: the cursor and threshold the observer stored before it raised the flag. */
        if (SH_LOAD_ACQ(&record->napping) == 0)
            continue;
        uint64_t cursor = SH_LOAD_ACQ(&record->cursor[d]);
        uint64_t batch = sipc_observer_wake_at(SH_LOAD(&record->wake_at), ch->geometry.index_count);
        if (cursor > head || sipc_ring_fill_since(ch->header, &ch->geometry, d, cursor, head, write_pos) < batch)
            continue;
        end_nap(ch, r);
    }
}

static void wake_everyone(sipc_channel *ch)
{
    for (uint32_t i = 0; i < SIPC_WAIT_USED; i++)
        bump_and_wake(ch, i);
}

/* Why a blocked call must stop now: SIPC_ERR_CLOSED (sipc_close runs), SIPC_ERR_CANCELLED, or 0. */
static int interrupted(sipc_channel *ch)
{
    if (__atomic_load_n(&ch->closed, __ATOMIC_SEQ_CST))
        return SIPC_ERR_CLOSED;
    return __atomic_load_n(&ch->cancelled, __ATOMIC_ACQUIRE) ? SIPC_ERR_CANCELLED : 0;
}

/* The peer this handle connected to is still attached (fast: shared memory only). */
static int peer_present(sipc_channel *ch)
{
    uint32_t session = __atomic_load_n(&ch->peer_session, __ATOMIC_ACQUIRE);
    if (session == 0 || __atomic_load_n(&ch->peer_dead_session, __ATOMIC_ACQUIRE) == session)
        return 0;
    const seg_role *peer = &ch->header->roles[ch->peer_index];
    return SH_LOAD_ACQ(&peer->state) == SIPC_SLOT_ATTACHED && SH_LOAD(&peer->session) == session;
}

/* Slow check, done when a sleep slice ends: is the connected peer's process still running? */
static void check_peer_alive(sipc_channel *ch)
{
    uint32_t session = __atomic_load_n(&ch->peer_session, __ATOMIC_ACQUIRE);
    if (session == 0)
        return;
    sipc_os_mutex_lock(&ch->state_lock);
    seg_role_view peer = ch->peer_view;
    sipc_os_mutex_unlock(&ch->state_lock);
    if (!sipc_holder_alive(ch->segment, &peer, ch->peer_index)) {
        __atomic_store_n(&ch->peer_dead_session, session, __ATOMIC_RELEASE);
        wake_everyone(ch); /* this process's other sleepers learn it without their own check */
    }
}

/* This handle woke the peer and the peer has not begun another nap since: it is waking up or running. */
static int peer_just_woken(sipc_channel *ch)
{
    uint64_t woke = __atomic_load_n(&ch->woke_peer_nap, __ATOMIC_RELAXED);
    return woke != 0 && (uint32_t)woke == SH_LOAD(&ch->header->roles[ch->peer_index].naps);
}

/* The peer is probably on a CPU (or about to be) and about to act. */
static int peer_running(sipc_channel *ch)
{
    return SH_LOAD(&ch->header->roles[ch->peer_index].sleepers) == 0 || peer_just_woken(ch);
}

/* Publishes the CPU this thread is on (1 + number, 0 unknown) for the peer's spin decisions; a
 * store only when it changed, since the peer reads this role's cache line while it spins. */
static uint32_t note_my_cpu(sipc_channel *ch)
{
    int cpu = sipc_os_current_cpu();
    uint32_t mine = cpu >= 0 ? (uint32_t)cpu + 1u : 0u;
    uint32_t *published = &ch->header->roles[ch->role_index].cpu;
    if (SH_LOAD(published) != mine)
        SH_STORE(published, mine);
    return mine;
}

/* spin_limit: the one we wait for last began or left a wait on the CPU we run on (its published `cpu`, see
 * note_my_cpu; 0 = unknown never matches). */
static int shares_my_cpu(const uint32_t *awaited_cpu, uint32_t my_cpu)
{
    return my_cpu != 0 && SH_LOAD(awaited_cpu) == my_cpu;
}

static uint32_t spin_limit(sipc_channel *ch, uint32_t index, int peer_woken, uint32_t my_cpu,
                           const uint32_t *awaited_cpu)
{
    if (ch->never_spin)
        return 0;
    /* The test hook's fixed budget ignores the CPU rule so that its decisions do not depend on
     * where the scheduler puts the two processes (test_waiting's "same CPU" test checks the rule). */
    uint32_t fixed = __atomic_load_n(&ch->spin_fixed_ns, __ATOMIC_RELAXED);
    if (fixed != 0)
        return fixed;
    if (shares_my_cpu(awaited_cpu, my_cpu)) {
        count(&ch->stats.same_cpu_skips);
        return 0;
    }
    uint32_t budget = __atomic_load_n(&ch->spin_budget_ns[index], __ATOMIC_RELAXED);
    if (budget != 0)
        return peer_woken && budget < WAKE_SPIN_NS ? WAKE_SPIN_NS : budget;
    uint32_t probe = __atomic_add_fetch(&ch->spin_probe[index], 1u, __ATOMIC_RELAXED);
    if (peer_woken && probe % WAKE_PROBE_EVERY == 0)
        return WAKE_SPIN_NS;
    return sipc_spin_budget_limit(0, probe);
}

static void spin_learn(sipc_channel *ch, uint32_t index, int succeeded)
{
    if (succeeded)
        count(&ch->stats.spin_hits);
    if (__atomic_load_n(&ch->spin_fixed_ns, __ATOMIC_RELAXED) != 0)
        return;
    uint32_t budget = __atomic_load_n(&ch->spin_budget_ns[index], __ATOMIC_RELAXED);
    budget = sipc_spin_budget_after(budget, succeeded);
    __atomic_store_n(&ch->spin_budget_ns[index], budget, __ATOMIC_RELAXED);
}

/* A lossless observer is copying, as far as a producer it holds back can tell: no observer has raised the
 * observers' sleep flag (an observer raises it only once it caught up, and then it holds nobody back), and it does not
 * nap in its record (a nap ends with the send that makes half a ring: one seen raised here has not seen it yet). A hint
 * like `sleepers`: an observer that stopped without sleeping (stopped process, busy caller) costs a spin budget. */
static int observer_copying(sipc_channel *ch, int record)
{
    return SH_LOAD(&ch->header->waiters[SIPC_WAIT_OBSERVE]) == 0 &&
           SH_LOAD(&ch->header->observers[record].napping) == 0;
}

typedef int (*ready_fn)(sipc_channel *ch, void *context);

/* Whom a wait is for: the peer (WAIT_FOR_PEER), or (a send held back only by a lossless observer) the observer of
 * that record index. */
typedef int wait_for;
#define WAIT_FOR_PEER (-1)

/* The one the wait is for is probably on a CPU and about to free what we wait for (worth spinning for). */
static int awaited_running(sipc_channel *ch, wait_for who)
{
    return who != WAIT_FOR_PEER ? observer_copying(ch, who) : peer_running(ch);
}

/* Where the one the wait is for last ran (a `cpu` word in shared memory): the peer's role, or the observer's record.
 * The peer, or the observer, that last waited or left a wait on the CPU we run on needs this CPU to free what we wait
 * for, so spinning would only keep it from running. */
static const uint32_t *awaited_cpu(sipc_channel *ch, wait_for who)
{
    return who != WAIT_FOR_PEER ? &ch->header->observers[who].cpu : &ch->header->roles[ch->peer_index].cpu;
}

/*
 * Waits until ready() may have become true: spins briefly while the one we wait for (`who`) is awake, then
 * sleeps on wait word `index`. Returns SIPC_OK to make the caller re-check everything, or
 * SIPC_ERR_TIMEOUT once the deadline has passed.
 */
static int block_on(sipc_channel *ch, uint32_t index, uint64_t deadline, wait_for who, ready_fn ready, void *context)
{
    uint64_t now = sipc_os_monotonic_ns();
    if (now >= deadline)
        return SIPC_ERR_TIMEOUT;
    uint32_t my_cpu = note_my_cpu(ch);
    int peer_woken = who == WAIT_FOR_PEER && peer_just_woken(ch);
    uint32_t limit = spin_limit(ch, index, peer_woken, my_cpu, awaited_cpu(ch, who));
    if (limit != 0 && (peer_woken || awaited_running(ch, who))) {
        count(&ch->stats.spins);
        uint64_t spin_until = now + limit;
        for (unsigned i = 1;; i++) {
            if (ready(ch, context)) {
                spin_learn(ch, index, 1);
                return SIPC_OK;
            }
            sipc_os_cpu_relax();
            if ((i & 15) == 0) {
                now = sipc_os_monotonic_ns();
                if (now >= spin_until || now >= deadline)
                    break;
                if (!awaited_running(ch, who))
                    break;
            }
        }
        spin_learn(ch, index, 0);
        /* The spin ran into the deadline (for a send held back by an observer: the next look at the observer's
         * liveness and stall bound). A sleep of no time would only count as one; the caller looks again. */
        if (now >= deadline)
            return ready(ch, context) ? SIPC_OK : SIPC_ERR_TIMEOUT;
    }
    /* Without a watcher reporting the connected peer's death, sleep in slices and look. A wait for
     * an attach needs no look: only a live peer would return from it, and attaches wake it. */
    uint32_t session = __atomic_load_n(&ch->peer_session, __ATOMIC_ACQUIRE);
    int32_t slice_limit =
        index != SIPC_WAIT_ATTACH && session != 0 && session != __atomic_load_n(&ch->watched_session, __ATOMIC_ACQUIRE)
            ? LIVENESS_SLICE_MS
            : INT32_MAX;
    uint32_t *word = &ch->header->wait_word[index];
    seg_role *me = &ch->header->roles[ch->role_index];
    SH_ADD(&me->naps, 1u); /* before `waiters`: a waker that sees us there reads this nap (notify) */
    uint32_t seen = SH_LOAD_ACQ(word);
    SH_ADD(&ch->header->waiters[index], 1u);
    uint32_t *sleepers = &me->sleepers;
    SH_ADD(sleepers, 1u);
    SH_FENCE();
    int rc = SIPC_OK;
    if (!ready(ch, context)) {
        /* The deadline may have passed since the look above (spinning, ready(), preemption). */
        int32_t remaining_ms = sipc_deadline_ms_left(deadline);
        int32_t slice = remaining_ms != SIPC_INFINITE && remaining_ms < slice_limit ? remaining_ms : slice_limit;
        if (slice == INT32_MAX && deadline == SIPC_OS_NO_DEADLINE)
            slice = SIPC_INFINITE;
        count(&ch->stats.sleeps);
        rc = sipc_os_wait(ch->segment, index, word, seen, slice);
        note_my_cpu(ch); /* where the scheduler put us on waking, for the peer's next decision */
    }
    SH_SUB(sleepers, 1u);
    SH_SUB(&ch->header->waiters[index], 1u);
    if (rc == SIPC_ERR_TIMEOUT) {
        if (sipc_os_monotonic_ns() >= deadline)
            return SIPC_ERR_TIMEOUT;
        check_peer_alive(ch);
    }
    return SIPC_OK;
}

/* ---- open ---- */

static int options_from(const sipc_options *options, sipc_options *out)
{
    sipc_options_init(out);
    if (options == NULL)
        return SIPC_OK;
    if (options->struct_size < sizeof(sipc_options))
        return SIPC_ERR_INVALID_ARGUMENT;
    if (options->flags &
        ~(uint32_t)(SIPC_OPEN_INHERIT_HANDLES | SIPC_OPEN_NO_CREATE | SIPC_OPEN_GLOBAL | SIPC_OPEN_NO_SPIN))
        return SIPC_ERR_INVALID_ARGUMENT;
    out->flags = options->flags;
    if (options->max_message_size != 0)
        out->max_message_size = options->max_message_size;
    if (options->queue_depth != 0)
        out->queue_depth = options->queue_depth;
    if (options->mode != 0)
        out->mode = options->mode;
    /* The owner must be able to read and write, else even the creator's peer could not attach. */
    if ((out->mode & ~0777u) != 0 || (out->mode & 0600u) != 0600u)
        return SIPC_ERR_INVALID_ARGUMENT;
    seg_geometry g;
    return sipc_geometry_for(out->max_message_size, out->queue_depth, &g);
}

/* The record at ring position pos of direction d if it holds message seq whole: pos is in the ring of write_pos,
 * the stamp is that of a complete seq, the length at most max_message and the bytes before write_pos. NULL if not. */
static seg_slot_header *record_of(sipc_channel *ch, int d, uint64_t seq, uint64_t pos, uint64_t write_pos)
{
    const seg_geometry *g = &ch->geometry;
    if (!sipc_position_in_ring(g, pos, write_pos))
        return NULL;
    seg_slot_header *slot = sipc_record_at(ch->header, g, d, pos);
    if (SH_LOAD_ACQ(&slot->stamp) != 2 * seq + 2)
        return NULL;
    uint32_t length = SH_LOAD(&slot->length);
    if (length > g->max_message || sipc_record_size(length) > write_pos - pos)
        return NULL;
    return slot;
}

/* Direction d's next record goes right after its last published one. A holder of the producing role that died within a
 * send may have moved write_pos past a record it never published: starting there again keeps every record where the
 * one before it ends, which receivers rely on to find the next record without the index (queued_record). Caller is
 * taking the producing role (nobody else writes the ring). Left alone when the last record does not check out. */
static void realign_write_pos(sipc_channel *ch, int d)
{
    seg_ring *ring = &ch->header->rings[d];
    uint64_t head = SH_LOAD_ACQ(&ring->head);
    uint64_t write_pos = SH_LOAD(&ring->write_pos);
    if (head == 0) {
        SH_STORE(&ring->write_pos, 0u);
        return;
    }
    uint64_t pos = SH_LOAD(sipc_index_entry(ch->header, &ch->geometry, d, head - 1));
    const seg_slot_header *last = record_of(ch, d, head - 1, pos, write_pos);
    if (last != NULL)
        SH_STORE(&ring->write_pos, pos + sipc_record_size(SH_LOAD(&last->length)));
}

static void take_role(sipc_channel *ch, int role_index)
{
    seg_header *h = ch->header;
    seg_role *role = &h->roles[role_index];
    ch->role_index = role_index;
    ch->peer_index = 1 - role_index;
    ch->out_direction = role_index == SIPC_ROLE_INDEX_SERVER ? SIPC_DIR_TO_CLIENT : SIPC_DIR_TO_SERVER;
    ch->in_direction = 1 - ch->out_direction;
    /* Messages addressed to the previous holder of this role are dropped (and counted). */
    seg_ring *in = &h->rings[ch->in_direction];
    uint64_t head = SH_LOAD_ACQ(&in->head);
    uint64_t tail = SH_LOAD(&in->tail);
    if (head != tail) {
        if (head > tail && head - tail <= ch->geometry.queue_depth)
            SH_STORE(&in->dropped, SH_LOAD(&in->dropped) + (head - tail));
        SH_STORE_REL(&in->tail, head);
    }
    realign_write_pos(ch, ch->out_direction);
    SH_STORE(&role->sleepers, 0u);
    /* Only this role's holder sleeps on these words; a dead predecessor may have left counts. */
    SH_STORE(&h->waiters[SIPC_WAIT_DATA(ch->in_direction)], 0u);
    SH_STORE(&h->waiters[SIPC_WAIT_SPACE(ch->out_direction)], 0u);
    SH_STORE(&role->pid, ch->self.pid);
    SH_STORE(&role->start_time, ch->self.start_time);
    SH_STORE(&role->attached_ns, sipc_os_wall_ns());
    /* The token (held through this handle's close-on-exec descriptor) tells peers when we exec(). */
    uint32_t flags = SIPC_ROLE_SERVES_OBSERVERS | SIPC_ROLE_WAKES_NAPPING_OBSERVERS;
    if (sipc_os_segment_hold_token(ch->segment, (uint32_t)role_index) == 1)
        flags |= SIPC_ROLE_HOLDS_TOKEN;
    SH_STORE(&role->flags, flags);
    uint32_t session = SH_LOAD(&role->session) + 1u;
    if (session == 0)
        session = 1; /* GCOVR_EXCL_LINE: only after 2^32 attaches to one role */
    /* Kept after we release the role, so that an observer that finds it free again can still name us. The session
     * goes to 0 first so that no reader pairs the previous session with our pid (sipc_role_holder_pid). */
    SH_STORE(&role->holder_session, 0u);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    SH_STORE(&role->holder_pid, ch->self.pid);
    SH_STORE_REL(&role->holder_session, session);
    SH_STORE_REL(&role->session, session);
    SH_STORE_REL(&role->state, SIPC_SLOT_ATTACHED);
    ch->my_session = session;
    if (role_index == SIPC_ROLE_INDEX_CLIENT)
        SH_STORE(&h->connections, SH_LOAD(&h->connections) + 1u);
}

/* Takes the OS's lock where it has one (sipc_os_segment_lock), then the header's lock word. */
static int lock_segment(sipc_os_segment *segment, seg_header *header, const sipc_os_process *self, uint64_t deadline,
                        const char *key)
{
    int rc = sipc_os_segment_lock(segment, deadline);
    if (rc != SIPC_OK)
        return rc; /* GCOVR_EXCL_LINE: Linux and macOS have no OS lock (no-op); only Windows's mutex times out */
    rc = sipc_segment_lock(segment, header, self, deadline, key);
    if (rc != SIPC_OK)
        sipc_os_segment_unlock(segment);
    return rc;
}

static void unlock_segment(sipc_os_segment *segment, seg_header *header, const sipc_os_process *self)
{
    sipc_segment_unlock(header, self);
    sipc_os_segment_unlock(segment);
}

typedef enum init_result { INIT_DONE, INIT_LOST } init_result;

/* The creator's header: the channel's name (valid, at most SIPC_NAME_MAX bytes). */
static void write_name(void *header, const char *name)
{
    seg_header *h = header;
    h->name_length = (uint32_t)strlen(name);
    memcpy(h->name, name, h->name_length);
}

/* The creator takes the lock word of its new object on the header mapped at `header`, then makes sure the
 * key still names that object (an opener that found it uninitialised for 0.5 s may have given it up:
 * INIT_LOST, the word given back). Then it writes the name, before the sizing that can take long: if it dies
 * from here on, the object it leaves names its channel and can be removed by name (sipc rm --stale). */
static int lock_as_creator(sipc_channel *ch, void *header, const char *name, uint64_t deadline, init_result *result)
{
    int rc = sipc_segment_lock(ch->segment, header, &ch->self, deadline, ch->key);
    if (rc != SIPC_OK)
        return rc;
    int current = sipc_os_segment_is_current(ch->segment);
    if (current != 1) {
        sipc_segment_unlock(header, &ch->self);
        *result = INIT_LOST;
        return current < 0 ? current : SIPC_OK;
    }
    write_name(header, name);
    return SIPC_OK;
}

/* The creator of a new (empty) object: sizes it, writes the header and takes the server role, magic
 * last, all under the lock word. The header page is reserved and the word taken before the rest is
 * sized and reserved (which can take long for a big channel): an opener that finds the object sized
 * but not initialised sees a live holder and waits, where it would otherwise think it abandoned.
 * INIT_LOST: the name no longer leads to this object (an opener gave it up for abandoned). */
static int init_segment(sipc_channel *ch, const char *name, const sipc_options *opt, uint64_t deadline,
                        init_result *result)
{
    *result = INIT_DONE;
    int rc = sipc_geometry_for(opt->max_message_size, opt->queue_depth, &ch->geometry);
    if (rc != SIPC_OK)
        return rc; /* GCOVR_EXCL_LINE: options_from computed this geometry from the same options */
    snprintf(ch->geometry.name, sizeof ch->geometry.name, "%s", name);
    /* Where the OS can size an object in steps (Linux), the header page first. */
    rc = sipc_os_segment_reserve(ch->segment, SIPC_HEADER_SIZE);
    uint64_t size = 0;
    if (rc == SIPC_OK)
        rc = sipc_os_segment_size(ch->segment, &size);
    void *first = NULL;
    if (rc == SIPC_OK && size >= SIPC_HEADER_SIZE)
        rc = sipc_os_segment_map(ch->segment, SIPC_HEADER_SIZE, &first);
    if (rc == SIPC_OK && first != NULL) {
        rc = lock_as_creator(ch, first, name, deadline, result);
        if (rc != SIPC_OK || *result == INIT_LOST) {
            sipc_os_segment_unmap(ch->segment, first, SIPC_HEADER_SIZE);
            return rc;
        }
    }
    ch->size = ch->geometry.segment_size;
    if (rc == SIPC_OK)
        rc = sipc_os_segment_resize(ch->segment, ch->size);
    void *base = NULL;
    if (rc == SIPC_OK)
        rc = sipc_os_segment_map(ch->segment, ch->size, &base);
    if (rc == SIPC_OK && first == NULL) {
        /* Sized all at once (macOS): the word on the whole mapping. */
        rc = lock_as_creator(ch, base, name, deadline, result);
        if (rc == SIPC_OK && *result == INIT_LOST) {
            sipc_os_segment_unmap(ch->segment, base, ch->size);
            ch->size = 0;
            return SIPC_OK;
        }
    }
    if (rc != SIPC_OK) {
        if (base != NULL)
            sipc_os_segment_unmap(ch->segment, base, ch->size);
        if (first != NULL) {
            sipc_segment_unlock(first, &ch->self);
            sipc_os_segment_unmap(ch->segment, first, SIPC_HEADER_SIZE);
        }
        ch->size = 0;
        return rc;
    }
    ch->header = base;
    seg_header *h = ch->header;
    /* A fresh object reads as zeros (but the lock word); fill in the header, magic last. */
    h->version = SIPC_LAYOUT_VERSION;
    h->header_size = SIPC_HEADER_SIZE;
    h->segment_size = ch->size;
    h->max_message = ch->geometry.max_message;
    h->queue_depth = ch->geometry.queue_depth;
    h->slot_size = ch->geometry.slot_size;
    h->created_ns = sipc_os_wall_ns();
    write_name(h, name);
    take_role(ch, SIPC_ROLE_INDEX_SERVER);
    SH_STORE_REL(&h->magic, SIPC_LAYOUT_MAGIC);
    sipc_segment_unlock(h, &ch->self);
    if (first != NULL)
        sipc_os_segment_unmap(ch->segment, first, SIPC_HEADER_SIZE);
    return SIPC_OK;
}

static void release_mapping(sipc_channel *ch)
{
    if (ch->header != NULL)
        sipc_os_segment_unmap(ch->segment, ch->header, ch->size);
    ch->header = NULL;
    ch->size = 0;
}

static int geometry_matches(const seg_geometry *existing, const sipc_options *asked)
{
    /* A client that leaves a field at its default adopts the server's value. */
    if (asked->max_message_size != SIPC_DEFAULT_MAX_MESSAGE && asked->max_message_size != existing->max_message)
        return 0;
    if (asked->queue_depth != SIPC_DEFAULT_QUEUE_DEPTH && asked->queue_depth != existing->queue_depth)
        return 0;
    return 1;
}

typedef enum attach_result { ATTACH_DONE, ATTACH_RETRY } attach_result;

/* With the lock held on a current, non-empty object: validate and take a free role. */
static int attach_existing(sipc_channel *ch, const char *name, const sipc_options *opt, attach_result *next,
                           uint64_t deadline)
{
    *next = ATTACH_DONE;
    /* Validate through a header-only view first: the full mapping is prefaulted, and a hostile
     * object size must not make us populate gigabytes before we know the header is sane. */
    /* The caller saw at least a header before it took the lock word: smaller now only if a stranger shrank the
     * object meanwhile (sipc_validate_header would refuse that too: a test cannot tell this check is here). */
    if (ch->size < SIPC_HEADER_SIZE)
        return SIPC_ERR_CORRUPT; /* GCOVR_EXCL_LINE: a stranger shrank the object while we waited for the lock */
    void *base = NULL;
    int rc = sipc_os_segment_map(ch->segment, SIPC_HEADER_SIZE, &base);
    if (rc != SIPC_OK)
        return rc; /* GCOVR_EXCL_LINE: mmap of one page fails only out of memory or address space */
    rc = sipc_validate_header(base, ch->size, &ch->geometry);
    sipc_os_segment_unmap(ch->segment, base, SIPC_HEADER_SIZE);
    if (rc == SIPC_OK) {
        /* A creator that did not reserve the pages (another implementation) must not make us SIGBUS. */
        rc = sipc_os_segment_reserve(ch->segment, ch->size);
        if (rc == SIPC_OK)
            rc = sipc_os_segment_map(ch->segment, ch->size, &base);
        if (rc != SIPC_OK)
            return rc;
        ch->header = base;
        seg_geometry again;
        rc = sipc_validate_header(base, ch->size, &again); /* nobody can change it while we hold the lock... */
        if (rc == SIPC_OK &&
            (again.max_message != ch->geometry.max_message || again.queue_depth != ch->geometry.queue_depth ||
             again.segment_size != ch->geometry.segment_size || strcmp(again.name, ch->geometry.name) != 0))
            rc = SIPC_ERR_CORRUPT; /* GCOVR_EXCL_LINE: a writer ignoring the lock word rewrote the header meanwhile */
    }
    if (rc == SIPC_ERR_NOT_FOUND) {
        /* Sized but never initialised: its creator died mid-way (initialisation holds the lock). */
        sipc_os_segment_unlink(ch->key, deadline);
        *next = ATTACH_RETRY;
        return SIPC_OK;
    }
    if (rc != SIPC_OK)
        return rc;
    if (strcmp(ch->geometry.name, name) != 0)
        return sipc_name_mismatch(ch->key, ch->geometry.name, name); /* another channel's long name hashes alike */
    int alive[2];
    for (int r = 0; r < 2; r++)
        alive[r] = sipc_role_alive(ch->segment, ch->header, r);
    if (!alive[0] && !alive[1]) {
        if (opt->flags & SIPC_OPEN_NO_CREATE)
            return SIPC_ERR_NOT_FOUND;
        /* Stale: everybody attached is dead. Start over with a fresh object. */
        sipc_os_segment_unlink(ch->key, deadline);
        *next = ATTACH_RETRY;
        return SIPC_OK;
    }
    if (alive[0] && alive[1])
        return SIPC_ERR_BUSY;
    if (!geometry_matches(&ch->geometry, opt))
        return SIPC_ERR_MISMATCH;
    int role = alive[SIPC_ROLE_INDEX_SERVER] ? SIPC_ROLE_INDEX_CLIENT : SIPC_ROLE_INDEX_SERVER;
    if (role == SIPC_ROLE_INDEX_SERVER && (opt->flags & SIPC_OPEN_NO_CREATE))
        return SIPC_ERR_NOT_FOUND; /* no server to attach to */
    /* Validate the ring indices we are about to rely on. */
    for (int d = 0; d < 2; d++) {
        uint64_t head = SH_LOAD(&ch->header->rings[d].head);
        uint64_t tail = SH_LOAD(&ch->header->rings[d].tail);
        if (head < tail || head - tail > ch->geometry.queue_depth)
            return SIPC_ERR_CORRUPT;
    }
    take_role(ch, role);
    return SIPC_OK;
}

static void free_channel(sipc_channel *ch)
{
#if defined(SIPC_OS_HAS_PROCESS_WATCHER)
    sipc_os_watcher_stop(ch->watcher); /* before unmapping: its callback wakes the segment's words */
#endif
    release_mapping(ch);
    if (ch->segment != NULL)
        sipc_os_segment_close(ch->segment);
    sipc_os_mutex_destroy(&ch->send_lock);
    sipc_os_mutex_destroy(&ch->recv_lock);
    sipc_os_mutex_destroy(&ch->state_lock);
    free(ch);
}

/* Frees a handle in a process that inherited it through fork() without touching what belongs to
 * the parent: no shared-memory write, no lock, no join of the parent's watcher thread (it does not
 * exist here), no mutex destroy (a parent thread may have held one at the fork). */
static void free_forked_copy(sipc_channel *ch)
{
#if defined(SIPC_OS_HAS_PROCESS_WATCHER)
    sipc_os_watcher_abandon(ch->watcher);
#endif
    release_mapping(ch);
    sipc_os_segment_close(ch->segment);
    free(ch);
}

SIPC_API int sipc_open(const char *name, const sipc_options *options, sipc_channel **out)
{
    return sipc_open_ex(name, options, SIPC_DEFAULT_LOCK_TIMEOUT_MS, out);
}

SIPC_API int sipc_open_ex(const char *name, const sipc_options *options, int32_t timeout_ms, sipc_channel **out)
{
    sipc_clear_error_detail();
    if (out == NULL || timeout_ms < SIPC_INFINITE)
        return SIPC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    uint64_t deadline = sipc_deadline_after(timeout_ms);
    int rc = sipc_validate_name(name);
    if (rc != SIPC_OK)
        return rc;
    sipc_options opt;
    rc = options_from(options, &opt);
    if (rc != SIPC_OK)
        return rc;

    sipc_channel *ch = calloc(1, sizeof *ch);
    if (ch == NULL)
        return SIPC_ERR_NO_MEMORY; /* GCOVR_EXCL_LINE: out of memory */
    int mutexes = 0;
    if ((rc = sipc_os_mutex_init(&ch->send_lock)) == SIPC_OK) {
        mutexes++;
        if ((rc = sipc_os_mutex_init(&ch->recv_lock)) == SIPC_OK) {
            mutexes++;
            if ((rc = sipc_os_mutex_init(&ch->state_lock)) == SIPC_OK)
                mutexes++;
        }
    }
    if (mutexes != 3) {
        /* GCOVR_EXCL_START: a default mutex fails to initialise only out of memory */
        if (mutexes > 1)
            sipc_os_mutex_destroy(&ch->recv_lock);
        if (mutexes > 0)
            sipc_os_mutex_destroy(&ch->send_lock);
        free(ch);
        return rc;
        /* GCOVR_EXCL_STOP */
    }
    rc = sipc_os_process_self(&ch->self);
    if (rc != SIPC_OK) {
        free_channel(ch); /* GCOVR_EXCL_LINE: its own start time is unreadable only without /proc */
        return rc;        /* GCOVR_EXCL_LINE */
    }
    ch->fork_generation = sipc_os_fork_generation();
    sipc_key_for_name(name, ch->key);
    for (uint32_t i = 0; i < SIPC_WAIT_WORDS; i++)
        ch->spin_budget_ns[i] = SIPC_SPIN_START_NS;
    ch->never_spin = (opt.flags & SIPC_OPEN_NO_SPIN) != 0;
    uint32_t seg_flags = (opt.flags & SIPC_OPEN_INHERIT_HANDLES) ? SIPC_OS_SEG_INHERIT : 0;
    if (opt.flags & SIPC_OPEN_GLOBAL)
        seg_flags |= SIPC_OS_SEG_GLOBAL;

    uint64_t empty_since = 0;
    for (int attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
        rc = sipc_os_segment_open(ch->key, seg_flags, 0, deadline, &ch->segment);
        int created = 0;
        if (rc == SIPC_ERR_NOT_FOUND) {
            if (opt.flags & SIPC_OPEN_NO_CREATE)
                break;
            rc = sipc_os_segment_open(ch->key, seg_flags | SIPC_OS_SEG_CREATE, opt.mode, deadline, &ch->segment);
            if (rc == SIPC_OS_EXISTS)
                continue;
            created = 1;
        }
        if (rc != SIPC_OK)
            break;
        sipc_key_test_point(created ? SIPC_TEST_KEY_CREATED_OBJECT : SIPC_TEST_KEY_OPENED_OBJECT);
        rc = sipc_os_segment_lock(ch->segment, deadline);
        if (rc != SIPC_OK)
            break;
        if (created) {
            init_result result = INIT_DONE;
            rc = init_segment(ch, name, &opt, deadline, &result);
            if (rc != SIPC_OK && result == INIT_DONE && sipc_os_segment_is_current(ch->segment) == 1)
                sipc_os_segment_unlink(ch->key, deadline);
            sipc_os_segment_unlock(ch->segment);
            if (rc == SIPC_OK && result == INIT_LOST) {
                sipc_os_segment_close(ch->segment);
                ch->segment = NULL;
                continue;
            }
            break;
        }
        rc = sipc_os_segment_size(ch->segment, &ch->size);
        /* The header's lock word needs a header: an object of size 0 is being created (or its creator
         * died before sizing it); 1..1023 bytes is no segment at all. */
        void *lock_view = NULL;
        if (rc == SIPC_OK && ch->size != 0)
            rc = ch->size < SIPC_HEADER_SIZE ? SIPC_ERR_CORRUPT
                                             : sipc_os_segment_map(ch->segment, SIPC_HEADER_SIZE, &lock_view);
        if (rc == SIPC_OK && lock_view != NULL) {
            rc = sipc_segment_lock(ch->segment, lock_view, &ch->self, deadline, ch->key);
            if (rc != SIPC_OK) {
                sipc_os_segment_unmap(ch->segment, lock_view, SIPC_HEADER_SIZE);
                lock_view = NULL;
            }
        }
        int current = rc == SIPC_OK ? sipc_os_segment_is_current(ch->segment) : 1;
        /* Its creator may have sized it fully while we waited for the word. */
        if (rc == SIPC_OK && current == 1 && lock_view != NULL)
            rc = sipc_os_segment_size(ch->segment, &ch->size);
        attach_result next = ATTACH_DONE;
        if (current != 1) {
            rc = current < 0 ? current : SIPC_OK;
            next = ATTACH_RETRY;
        } else if (rc == SIPC_OK && (lock_view == NULL || SH_LOAD_ACQ(&((seg_header *)lock_view)->magic) == 0)) {
            /* Someone created it and has not initialised it yet (it would hold the lock word while it
             * does, once the header is sized); give up on it after a while. */
            uint64_t now = sipc_os_monotonic_ns();
            if (empty_since == 0)
                empty_since = now;
            if (now - empty_since > ABANDONED_EMPTY_NS) {
                sipc_os_segment_unlink(ch->key, deadline);
                empty_since = 0;
            }
            next = ATTACH_RETRY;
        } else if (rc == SIPC_OK) {
            empty_since = 0;
            rc = attach_existing(ch, name, &opt, &next, deadline);
        }
        if (lock_view != NULL) {
            sipc_segment_unlock(lock_view, &ch->self);
            sipc_os_segment_unmap(ch->segment, lock_view, SIPC_HEADER_SIZE);
        }
        sipc_os_segment_unlock(ch->segment);
        if (rc == SIPC_OK && next == ATTACH_DONE)
            break;
        release_mapping(ch);
        sipc_os_segment_close(ch->segment);
        ch->segment = NULL;
        if (rc != SIPC_OK)
            break;
        if (empty_since != 0) {
            if (sipc_os_monotonic_ns() >= deadline) {
                sipc_record_error_detail("its creator did not finish creating it within the timeout");
                rc = SIPC_ERR_TIMEOUT;
                break;
            }
            sipc_os_sleep_us(1000);
        }
    }
    if (rc == SIPC_OK && ch->header == NULL)
        rc = SIPC_ERR_SYSTEM; /* GCOVR_EXCL_LINE: 10,000 races lost in a row (the key replaced each time) */
    if (rc != SIPC_OK) {
        free_channel(ch);
        return rc;
    }
    wake_everyone(ch);
    registry_add(ch);
    *out = ch;
    return SIPC_OK;
}

SIPC_API sipc_role sipc_get_role(const sipc_channel *channel)
{
    if (channel == NULL)
        return SIPC_ROLE_NONE;
    return channel->role_index == SIPC_ROLE_INDEX_SERVER ? SIPC_ROLE_SERVER : SIPC_ROLE_CLIENT;
}

SIPC_API uint32_t sipc_max_message_size(const sipc_channel *channel)
{
    return channel == NULL ? 0 : channel->geometry.max_message;
}

/* ---- calls ---- */

/* Every call that touches the mapping runs between enter and leave, so that sipc_close can wake it
 * and wait for it to leave before freeing the handle. The increment comes before the look at
 * `closed` and close sets `closed` before it looks at `users` (both sequentially consistent): either
 * the call sees the close, or the close sees and waits for the call. */
static int enter(sipc_channel *ch)
{
    if (ch == NULL)
        return SIPC_ERR_INVALID_ARGUMENT;
    __atomic_add_fetch(&ch->users, 1, __ATOMIC_SEQ_CST);
    int rc = SIPC_OK;
    if (__atomic_load_n(&ch->closed, __ATOMIC_SEQ_CST))
        rc = SIPC_ERR_CLOSED;
    else if (ch->fork_generation != sipc_os_fork_generation())
        rc = SIPC_ERR_CLOSED; /* inherited through fork(): the role belongs to the parent */
    if (rc != SIPC_OK)
        __atomic_sub_fetch(&ch->users, 1, __ATOMIC_SEQ_CST);
    return rc;
}

static int leave(sipc_channel *ch, int rc)
{
    __atomic_sub_fetch(&ch->users, 1, __ATOMIC_SEQ_CST);
    return rc;
}

#if defined(SIPC_OS_HAS_PROCESS_WATCHER)
static void on_peer_death(void *user, uint32_t session)
{
    sipc_channel *ch = user;
    __atomic_store_n(&ch->peer_dead_session, session, __ATOMIC_RELEASE);
    wake_everyone(ch);
}
#endif

/* Asks the watcher to report the adopted peer's death. 0 if the peer is already gone.
 * The caller holds state_lock. */
static int watch_peer_locked(sipc_channel *ch, const seg_role_view *peer, uint32_t session)
{
#if defined(SIPC_OS_HAS_PROCESS_WATCHER)
    int rc = SIPC_OK;
    if (ch->watcher == NULL)
        rc = sipc_os_watcher_start(on_peer_death, ch, &ch->watcher);
    if (rc == SIPC_OK)
        rc = sipc_os_watcher_watch(ch->watcher, &peer->process, session);
    if (rc == SIPC_OK && (peer->flags & SIPC_ROLE_HOLDS_TOKEN))
        sipc_os_watcher_watch_token(ch->watcher, ch->segment, (uint32_t)ch->peer_index);
    if (rc == SIPC_ERR_NOT_FOUND)
        return 0;
    /* On any other failure watched_session stays as it was: blocked calls fall back to checking
     * every LIVENESS_SLICE_MS. */
    if (rc == SIPC_OK)
        __atomic_store_n(&ch->watched_session, session, __ATOMIC_RELEASE);
#else
    (void)ch;
    (void)peer;
    (void)session;
#endif
    return 1;
}

/* The peer role as connect sees it. `settled` is 0 while an attach or a close is half-written
 * (FREE with a pid: take_role writes the pid before the session, close clears it after the state). */
typedef struct peer_role_view {
    seg_role_view role;
    int settled;
} peer_role_view;

static void read_peer_role(sipc_channel *ch, peer_role_view *view)
{
    memset(view, 0, sizeof *view);
    /* A role that never holds still is being rewritten by a hostile writer: it stays unsettled. */
    if (sipc_role_read(ch->header, ch->peer_index, &view->role))
        view->settled = view->role.attached || view->role.process.pid == 0;
}

typedef enum queue_look { QUEUE_EMPTY, QUEUE_MESSAGE, QUEUE_CORRUPT } queue_look;

/* A message addressed to another session of our role (a predecessor's: it was in flight when that
 * holder left) is never delivered (PROTOCOL.md, Message fate across sessions). */
static int addressed_elsewhere(const sipc_channel *ch, const seg_slot_header *slot)
{
    uint32_t to = SH_LOAD(&slot->to_session);
    return to != 0 && to != ch->my_session;
}

/* The record of queued message seq (tail <= seq < head, head loaded with acquire) of direction d, caller holding
 * recv_lock: where the last one taken ended (next_record_pos) when that holds it, else where its index entry says; the
 * producer never overwrites an unread record, so NULL (CORRUPT) if neither does. *pos: its position. */
static seg_slot_header *queued_record(sipc_channel *ch, int d, uint64_t seq, uint64_t *pos)
{
    uint64_t write_pos = SH_LOAD(&ch->header->rings[d].write_pos);
    seg_slot_header *slot;
    if (seq == ch->next_record_seq && (slot = record_of(ch, d, seq, ch->next_record_pos, write_pos)) != NULL) {
        *pos = ch->next_record_pos;
        return slot;
    }
    *pos = SH_LOAD(sipc_index_entry(ch->header, &ch->geometry, d, seq));
    return record_of(ch, d, seq, *pos, write_pos);
}

/* Message seq, whose record at pos holds `length` bytes, was taken or discarded: the next one's record follows it. */
static void passed_record(sipc_channel *ch, uint64_t seq, uint64_t pos, uint32_t length)
{
    ch->next_record_seq = seq + 1;
    ch->next_record_pos = pos + sipc_record_size(length);
}

/* Discards the oldest queued message (counted in the ring's `dropped`). Caller holds recv_lock. */
static void discard_oldest(seg_ring *ring, uint64_t tail)
{
    SH_STORE(&ring->dropped, SH_LOAD(&ring->dropped) + 1u);
    SH_STORE_REL(&ring->tail, tail + 1);
}

/* The producer session recorded in the oldest message queued towards us (0 = not recorded), after
 * discarding the messages at the front that were addressed to an earlier holder of our role. */
static queue_look oldest_message_session(sipc_channel *ch, uint32_t *session)
{
    seg_ring *ring = &ch->header->rings[ch->in_direction];
    queue_look look = QUEUE_EMPTY;
    int discarded = 0;
    sipc_os_mutex_lock(&ch->recv_lock); /* our receivers move tail and would make the record a moving target */
    for (;;) {
        uint64_t tail = SH_LOAD(&ring->tail);
        uint64_t head = SH_LOAD_ACQ(&ring->head);
        if (head < tail || head - tail > ch->geometry.queue_depth) {
            look = QUEUE_CORRUPT;
        } else if (head != tail) {
            uint64_t pos;
            const seg_slot_header *slot = queued_record(ch, ch->in_direction, tail, &pos);
            if (slot == NULL) {
                look = QUEUE_CORRUPT;
            } else if (addressed_elsewhere(ch, slot)) {
                passed_record(ch, tail, pos, SH_LOAD(&slot->length));
                discard_oldest(ring, tail);
                discarded = 1;
                continue;
            } else {
                *session = SH_LOAD(&slot->session);
                look = QUEUE_MESSAGE;
            }
        }
        break;
    }
    sipc_os_mutex_unlock(&ch->recv_lock);
    if (discarded)
        notify(ch, SIPC_WAIT_SPACE(ch->in_direction));
    return look;
}

typedef enum peer_choice {
    CHOICE_WAIT,    /* nothing to adopt yet */
    CHOICE_CURRENT, /* the adopted peer is attached, or messages from it are still queued */
    CHOICE_NEXT,    /* a session began since the adopted one: adopt it (attached or not) */
    CHOICE_CORRUPT
} peer_choice;

/*
 * What connect does now. Sessions are served in order: the adopted one until it left and its
 * messages are all received; then the session of the oldest queued message (every message carries
 * its producer's session), else the role's newest session if it is not the adopted one, even if
 * that peer already left (its attach is what counts, not whether we saw it).
 */
static peer_choice choose_peer(sipc_channel *ch, peer_role_view *role, uint32_t *next, uint32_t *adopted_seen)
{
    /* What this handle had adopted when it looked: adopt_peer only moves on from that. */
    *adopted_seen = __atomic_load_n(&ch->peer_session, __ATOMIC_ACQUIRE);
    /* Role first: a session seen there has its messages (sent before it closed) visible below. */
    read_peer_role(ch, role);
    test_point(ch, SIPC_TEST_CONNECT_LOOKED_AT_ROLE);
    uint32_t message_session = 0;
    queue_look look = oldest_message_session(ch, &message_session);
    if (look == QUEUE_CORRUPT)
        return CHOICE_CORRUPT;
    uint32_t adopted = __atomic_load_n(&ch->peer_session, __ATOMIC_ACQUIRE);
    int unrecorded = look == QUEUE_MESSAGE && message_session == 0;
    if (adopted != 0) {
        if (peer_present(ch))
            return CHOICE_CURRENT;
        if (look == QUEUE_MESSAGE && (message_session == adopted || unrecorded))
            return CHOICE_CURRENT;
    }
    if (look == QUEUE_MESSAGE && !unrecorded) {
        *next = message_session;
        return CHOICE_NEXT;
    }
    if (role->role.session != 0 && role->role.session != adopted && role->settled) {
        *next = role->role.session;
        return CHOICE_NEXT;
    }
    return CHOICE_WAIT;
}

/*
 * Makes `session` the adopted peer, unless another thread of this handle adopted one since this
 * thread's look (`seen`): then returns 0 and the caller looks again. Whether the session is still
 * attached comes from a fresh look at the role: the look that chose it may predate its attach (its
 * message was seen in the queue after the role), and would declare a live peer departed.
 * Watches the peer's process if it is the one attached now.
 */
static int adopt_peer(sipc_channel *ch, uint32_t seen, uint32_t session)
{
    sipc_os_mutex_lock(&ch->state_lock);
    if (__atomic_load_n(&ch->peer_session, __ATOMIC_ACQUIRE) != seen) {
        sipc_os_mutex_unlock(&ch->state_lock);
        return 0;
    }
    peer_role_view role;
    read_peer_role(ch, &role);
    int live = role.role.attached && role.role.session == session &&
               sipc_holder_alive(ch->segment, &role.role, ch->peer_index);
    if (!live) {
        /* Dead first, so that no reader ever sees this session as present. */
        __atomic_store_n(&ch->peer_dead_session, session, __ATOMIC_RELEASE);
        __atomic_store_n(&ch->peer_session, session, __ATOMIC_RELEASE);
    } else {
        ch->peer_view = role.role;
        __atomic_store_n(&ch->peer_session, session, __ATOMIC_RELEASE);
        if (!watch_peer_locked(ch, &role.role, session))
            __atomic_store_n(&ch->peer_dead_session, session, __ATOMIC_RELEASE);
    }
    sipc_os_mutex_unlock(&ch->state_lock);
    return 1;
}

static int connect_ready(sipc_channel *ch, void *context)
{
    (void)context;
    peer_role_view role;
    uint32_t next = 0, seen = 0;
    return interrupted(ch) != 0 || choose_peer(ch, &role, &next, &seen) != CHOICE_WAIT;
}

static int connect_until(sipc_channel *ch, uint64_t deadline)
{
    for (;;) {
        int stop = interrupted(ch);
        if (stop != 0)
            return stop;
        peer_role_view role;
        uint32_t next = 0, seen = 0;
        switch (choose_peer(ch, &role, &next, &seen)) {
        case CHOICE_CURRENT:
            note_my_cpu(ch);
            return SIPC_OK;
        case CHOICE_NEXT:
            test_point(ch, SIPC_TEST_CONNECT_CHOSE_PEER);
            if (!adopt_peer(ch, seen, next))
                continue; /* another thread of this handle adopted a peer meanwhile */
            /* A peer that always finds its messages ready never waits: publish our CPU here too. */
            note_my_cpu(ch);
            return SIPC_OK;
        case CHOICE_CORRUPT:
            return SIPC_ERR_CORRUPT;
        case CHOICE_WAIT:
            break;
        }
        /* Every attach and close increments and wakes this word: no polling while nobody comes. */
        int rc = block_on(ch, SIPC_WAIT_ATTACH, deadline, WAIT_FOR_PEER, connect_ready, NULL);
        if (rc != SIPC_OK)
            return rc;
    }
}

SIPC_API int sipc_connect(sipc_channel *channel, int32_t timeout_ms)
{
    int rc = enter(channel);
    if (rc != SIPC_OK)
        return rc;
    return leave(channel, connect_until(channel, sipc_deadline_after(timeout_ms)));
}

int sipc_channel_connect_now(sipc_channel *channel)
{
    int rc = enter(channel);
    if (rc != SIPC_OK)
        return rc;
    rc = interrupted(channel);
    if (rc == 0) {
        peer_role_view role;
        uint32_t next = 0, seen = 0;
        switch (choose_peer(channel, &role, &next, &seen)) {
        case CHOICE_CURRENT:
            rc = SIPC_OK;
            break;
        case CHOICE_NEXT:
            rc = SIPC_CONNECT_NOW_UNADOPTED;
            break;
        case CHOICE_CORRUPT:
            rc = SIPC_ERR_CORRUPT;
            break;
        case CHOICE_WAIT:
            rc = SIPC_ERR_TIMEOUT;
            break;
        }
    }
    return leave(channel, rc);
}

/* Send/recv need a peer: the first one waits for it like connect. */
static int ensure_connected(sipc_channel *ch, int32_t timeout_ms, uint64_t deadline)
{
    if (__atomic_load_n(&ch->peer_session, __ATOMIC_ACQUIRE) != 0)
        return SIPC_OK;
    int rc = connect_until(ch, deadline);
    if (rc == SIPC_ERR_TIMEOUT && timeout_ms == 0)
        return SIPC_ERR_NOT_CONNECTED;
    return rc;
}

typedef struct ring_wait {
    int direction;
    uint64_t seen; /* the index (the lowest of tail and lossless cursors for send, head for recv) that made us wait */
    uint64_t tail; /* send: the consumer's tail then. When it moves while a lossless observer's cursor stays
                      level with where it was, the lowest needed index does not change, but the sender may now be
                      held back by the observer alone, which it must wait for within the observer's bound */
} ring_wait;

/* ---- lossless observers (PROTOCOL.md section 7) ---- */

/* How often a send held back by a lossless observer checks that the observer's process still runs. */
#define OBSERVER_LIVENESS_SLICE_NS 100000000ull

/* The oldest message of direction d that an active lossless observer still needs (head when none does). *holder is
 * the observer record that is lowest (-1: none is behind head). A cursor past head (possible only from a hostile or broken writer) is
 * reported in *invalid and not counted; a cursor more than the index behind counts as all of it (the observer has to
 * catch up or be dropped). The queue's own bound is the consumer's tail, queue_depth behind head at most; an observer
 * may lag by the whole ring (PROTOCOL.md section 2, "Records, index and history"). */
static uint64_t lowest_observed(sipc_channel *ch, int d, uint64_t head, int *holder, int *invalid)
{
    uint64_t lowest = head;
    *holder = -1;
    *invalid = -1;
    for (int r = 0; r < (int)SIPC_OBSERVER_RECORDS; r++) {
        seg_observer *ob = &ch->header->observers[r];
        if (SIPC_CLAIM_STATE(SH_LOAD_ACQ(&ob->claim)) != SIPC_OBSERVER_ACTIVE)
            continue;
        uint64_t cursor = SH_LOAD_ACQ(&ob->cursor[d]);
        if (cursor > head) {
            *invalid = r;
            continue;
        }
        if (head - cursor > ch->geometry.index_count)
            cursor = head - ch->geometry.index_count;
        if (cursor < lowest) {
            lowest = cursor;
            *holder = r;
        }
    }
    return lowest;
}

static void drop_observer(sipc_channel *ch, int r, uint64_t claim, uint32_t why)
{
    seg_observer *ob = &ch->header->observers[r];
    if (SIPC_CLAIM_STATE(claim) == SIPC_OBSERVER_ACTIVE &&
        sh_cas64(&ob->claim, claim, SIPC_CLAIM(SIPC_CLAIM_TICKET(claim), why))) {
        /* The observer learns it at once, asleep or napping. */
        bump_and_wake(ch, SIPC_WAIT_OBSERVE);
        bump_and_wake(ch, SIPC_WAIT_RECORD(r));
    }
}

uint32_t sipc_observer_stall_ms(uint32_t asked)
{
    if (asked == 0)
        return SIPC_OBSERVE_STALL_DEFAULT_MS;
    return asked > SIPC_OBSERVE_STALL_MAX_MS ? SIPC_OBSERVE_STALL_MAX_MS : asked;
}

/*
 * Observer record r holds back this handle's send (caller holds send_lock): drops it when its process is
 * gone or its cursor has not moved for its stall bound, else says how long to wait before looking again
 * (ns; 0 = dropped, look again at once).
 */
static uint64_t observer_holds_back(sipc_channel *ch, int r, int d)
{
    seg_observer *ob = &ch->header->observers[r];
    struct observer_hold *hold = &ch->observer_hold[r];
    uint64_t claim = SH_LOAD_ACQ(&ob->claim);
    uint64_t cursor = SH_LOAD_ACQ(&ob->cursor[d]);
    uint64_t now = sipc_os_monotonic_ns();
    if (claim != hold->claim || cursor != hold->cursor || hold->since_ns == 0) {
        hold->claim = claim;
        hold->cursor = cursor;
        hold->since_ns = now;
        hold->alive_checked_ns = 0;
    }
    uint64_t stall_ns = (uint64_t)sipc_observer_stall_ms(SH_LOAD(&ob->stall_ms)) * 1000000u;
    if (now - hold->since_ns >= stall_ns) {
        drop_observer(ch, r, claim, SIPC_OBSERVER_DROPPED_STALL);
        hold->since_ns = 0;
        return 0;
    }
    if (hold->alive_checked_ns == 0 || now - hold->alive_checked_ns >= OBSERVER_LIVENESS_SLICE_NS) {
        hold->alive_checked_ns = now;
        sipc_os_process process = {SH_LOAD(&ob->pid), SH_LOAD(&ob->start_time)};
        if (process.pid <= 0 || !sipc_os_process_alive(&process)) {
            drop_observer(ch, r, claim, process.pid <= 0 ? SIPC_OBSERVER_DROPPED_INVALID : SIPC_OBSERVER_DROPPED_DEAD);
            hold->since_ns = 0;
            return 0;
        }
    }
    uint64_t left = stall_ns - (now - hold->since_ns);
    return left < OBSERVER_LIVENESS_SLICE_NS ? left : OBSERVER_LIVENESS_SLICE_NS;
}

/* Whether a record of `bytes` fits at write_pos while the record of message seq (< head) of direction d, and every
 * later one, stay: 1 if so (or seq == head: nothing to keep), 0 if not yet, -1 if seq's index entry is no position of
 * the ring. A position more than the ring behind write_pos is one the ring no longer holds: -1 for an unread message
 * (`unread`: the producer never overwrites those), for an observer's cursor no room until it moves past seq.
 * *position (unless NULL): seq's record position. */
static int room_before(const sipc_channel *ch, int d, uint64_t seq, uint64_t head, uint64_t write_pos, uint64_t bytes,
                       int unread, uint64_t *position)
{
    const seg_geometry *g = &ch->geometry;
    if (seq == head)
        return 1;
    uint64_t pos = SH_LOAD(sipc_index_entry(ch->header, g, d, seq));
    if (position != NULL)
        *position = pos;
    if (pos % SIPC_SLOT_ALIGN != 0 || pos >= write_pos) /* a published record ends at write_pos at the latest */
        return -1;
    if (write_pos - pos > g->ring_bytes)
        return unread ? -1 : 0;
    return write_pos + bytes - pos <= g->ring_bytes;
}

/* Before writing a record that ends at `end`: raises direction d's frontier past it when it is not already, by a step
 * (the frontier's line then changes once per eighth of the ring, not per message), but never past the ring ahead of
 * `keep`, the position of the oldest record an observer must still find whole: the lowest lossless cursor's, else the
 * record about to be written (PROTOCOL.md section 2, "Records, index and history"). `end` is within that bound
 * (room_before). */
static void raise_frontier(sipc_channel *ch, int d, uint64_t end, uint64_t keep)
{
    seg_ring *ring = &ch->header->rings[d];
    if (SH_LOAD(&ring->frontier) >= end)
        return;
    uint64_t frontier = end + ch->geometry.frontier_step;
    if (frontier > keep + ch->geometry.ring_bytes)
        frontier = keep + ch->geometry.ring_bytes;
    SH_STORE(&ring->frontier, frontier);
}

static int space_ready(sipc_channel *ch, void *context)
{
    ring_wait *w = context;
    if (interrupted(ch) != 0 || !peer_present(ch))
        return 1;
    const seg_ring *ring = &ch->header->rings[w->direction];
    int holder, invalid;
    uint64_t tail = SH_LOAD_ACQ(&ring->tail);
    uint64_t observed = lowest_observed(ch, w->direction, SH_LOAD(&ring->head), &holder, &invalid);
    return observed != w->seen || tail != w->tail || invalid >= 0;
}

static int data_ready(sipc_channel *ch, void *context)
{
    ring_wait *w = context;
    return interrupted(ch) != 0 || !peer_present(ch) || SH_LOAD_ACQ(&ch->header->rings[w->direction].head) != w->seen;
}

/* sipc_send; without may_look_up (timeout 0 only, see nowait.h) it neither adopts a peer nor looks at an observer's
 * process. */
static int send_message(sipc_channel *ch, const void *data, size_t length, int32_t timeout_ms, int may_look_up)
{
    int rc = enter(ch);
    if (rc != SIPC_OK)
        return rc;
    if (data == NULL && length != 0)
        return leave(ch, SIPC_ERR_INVALID_ARGUMENT);
    if (length > ch->geometry.max_message)
        return leave(ch, SIPC_ERR_TOO_BIG);
    uint64_t deadline = sipc_deadline_after(timeout_ms);
    if (may_look_up)
        rc = ensure_connected(ch, timeout_ms, deadline);
    else if (__atomic_load_n(&ch->peer_session, __ATOMIC_ACQUIRE) == 0)
        rc = SIPC_ERR_NOT_CONNECTED;
    if (rc != SIPC_OK)
        return leave(ch, rc);
    const int d = ch->out_direction;
    seg_ring *ring = &ch->header->rings[d];
    const uint64_t record = sipc_record_size((uint32_t)length);
    for (;;) {
        int stop = interrupted(ch);
        if (stop != 0)
            return leave(ch, stop);
        /* The addressee before the presence check: a message always names a session seen present. */
        uint32_t addressee = __atomic_load_n(&ch->peer_session, __ATOMIC_ACQUIRE);
        if (!peer_present(ch))
            return leave(ch, SIPC_ERR_PEER_GONE);
        sipc_os_mutex_lock(&ch->send_lock);
        uint64_t head = SH_LOAD(&ring->head);
        uint64_t tail = SH_LOAD_ACQ(&ring->tail);
        uint64_t write_pos = SH_LOAD(&ring->write_pos);
        uint64_t observed_pos = 0;
        int room = head < tail || head - tail > ch->geometry.queue_depth || write_pos > SIPC_RING_POSITION_MAX
                       ? -1
                       : room_before(ch, d, tail, head, write_pos, record, 1, NULL);
        if (room < 0) {
            sipc_os_mutex_unlock(&ch->send_lock);
            return leave(ch, SIPC_ERR_CORRUPT);
        }
        int holder, invalid;
        uint64_t observed = lowest_observed(ch, d, head, &holder, &invalid);
        int observed_room = invalid >= 0 || head - observed >= ch->geometry.index_count
                                ? 0
                                : room_before(ch, d, observed, head, write_pos, record, 0, &observed_pos);
        if (observed_room < 0 && holder >= 0)
            /* Its cursor names no record of the ring (past write_pos, or not one of ours): like a cursor past head. */
            invalid = holder;
        if (invalid >= 0) {
            drop_observer(ch, invalid, SH_LOAD_ACQ(&ch->header->observers[invalid].claim),
                          SIPC_OBSERVER_DROPPED_INVALID);
            sipc_os_mutex_unlock(&ch->send_lock);
            continue;
        }
        if (head - tail < ch->geometry.queue_depth && room && observed_room) {
            /* The frontier first, then the record: an observer that copied bytes this record overwrites finds the
             * frontier past its record's position plus the ring (PROTOCOL.md section 2, "Records, index and
             * history"). */
            raise_frontier(ch, d, write_pos + record, observed == head ? write_pos : observed_pos);
            SH_STORE(sipc_index_entry(ch->header, &ch->geometry, d, head), write_pos);
            SH_STORE(&ring->write_pos, write_pos + record);
            __atomic_thread_fence(__ATOMIC_RELEASE);
            seg_slot_header *slot = sipc_record_at(ch->header, &ch->geometry, d, write_pos);
            uint64_t now = sipc_os_wall_ns();
            SH_STORE(&slot->stamp, 2 * head + 1);
            __atomic_thread_fence(__ATOMIC_RELEASE);
            SH_STORE(&slot->send_ns, now);
            SH_STORE(&slot->length, (uint32_t)length);
            SH_STORE(&slot->session, ch->my_session);
            SH_STORE(&slot->to_session, addressee);
            if (length != 0)
                sipc_ring_copy_in(ch->header, &ch->geometry, d, write_pos + SIPC_SLOT_HEADER_SIZE, data, length);
            SH_STORE_REL(&slot->stamp, 2 * head + 2);
            SH_STORE(&ring->messages, SH_LOAD(&ring->messages) + 1u);
            SH_STORE(&ring->bytes, SH_LOAD(&ring->bytes) + length);
            SH_STORE(&ring->last_send_ns, now);
            test_point(ch, SIPC_TEST_SEND_BEFORE_PUBLISH);
            SH_STORE_REL(&ring->head, head + 1);
            sipc_os_mutex_unlock(&ch->send_lock);
            notify(ch, SIPC_WAIT_DATA(d));
            notify_observers(ch);
            notify_napping_observers(ch, d, head + 1, write_pos + record);
            return leave(ch, SIPC_OK);
        }
        uint64_t wait_until = deadline;
        wait_for who = WAIT_FOR_PEER;
        if (holder >= 0 && head - tail < ch->geometry.queue_depth) {
            if (!may_look_up) {
                sipc_os_mutex_unlock(&ch->send_lock);
                return leave(ch, SIPC_ERR_TIMEOUT);
            }
            who = holder;
            /* Records of mixed sizes can fill the ring's bytes before the observer's nap threshold (a ring of one or
             * two of the largest records): it must not nap while we wait for it. */
            end_nap(ch, holder);
            /* Only a lossless observer holds us back: wait for it within its bound, then drop it. */
            uint64_t look_again_ns = observer_holds_back(ch, holder, d);
            if (look_again_ns == 0) {
                sipc_os_mutex_unlock(&ch->send_lock);
                continue;
            }
            uint64_t now = sipc_os_monotonic_ns();
            if (deadline > now && deadline - now > look_again_ns)
                wait_until = now + look_again_ns;
        }
        sipc_os_mutex_unlock(&ch->send_lock);
        test_point(ch, SIPC_TEST_SEND_BEFORE_WAIT);
        ring_wait w = {d, observed, tail};
        rc = block_on(ch, SIPC_WAIT_SPACE(d), wait_until, who, space_ready, &w);
        if (rc == SIPC_ERR_TIMEOUT && wait_until != deadline && sipc_os_monotonic_ns() < deadline)
            rc = SIPC_OK;
        if (rc != SIPC_OK)
            return leave(ch, rc);
    }
}

SIPC_API int sipc_send(sipc_channel *channel, const void *data, size_t length, int32_t timeout_ms)
{
    return send_message(channel, data, length, timeout_ms, 1);
}

int sipc_channel_send_now(sipc_channel *channel, const void *data, size_t length)
{
    return send_message(channel, data, length, 0, 0);
}

/* Takes (or without take, only measures) the next message of the adopted peer. */
static int receive(sipc_channel *ch, void *buffer, size_t capacity, size_t *length, int32_t timeout_ms, int take)
{
    int rc = enter(ch);
    if (rc != SIPC_OK)
        return rc;
    if (length == NULL || (buffer == NULL && capacity != 0))
        return leave(ch, SIPC_ERR_INVALID_ARGUMENT);
    uint64_t deadline = sipc_deadline_after(timeout_ms);
    /* A handle that never connected adopts the session of the oldest queued message, if any. */
    rc = ensure_connected(ch, timeout_ms, deadline);
    if (rc != SIPC_OK)
        return leave(ch, rc);
    const int d = ch->in_direction;
    seg_ring *ring = &ch->header->rings[d];
    for (;;) {
        int stop = interrupted(ch);
        if (stop != 0)
            return leave(ch, stop);
        /* Before head: once the peer is seen gone, everything it sent is visible. */
        int present = peer_present(ch);
        sipc_os_mutex_lock(&ch->recv_lock);
        uint64_t tail = SH_LOAD(&ring->tail);
        uint64_t head = SH_LOAD_ACQ(&ring->head);
        if (head < tail || head - tail > ch->geometry.queue_depth) {
            sipc_os_mutex_unlock(&ch->recv_lock);
            return leave(ch, SIPC_ERR_CORRUPT);
        }
        if (head != tail) {
            uint64_t pos;
            seg_slot_header *slot = queued_record(ch, d, tail, &pos);
            if (slot == NULL) {
                sipc_os_mutex_unlock(&ch->recv_lock);
                return leave(ch, SIPC_ERR_CORRUPT);
            }
            uint32_t size = SH_LOAD(&slot->length);
            uint32_t sender = SH_LOAD(&slot->session);
            if (addressed_elsewhere(ch, slot)) {
                passed_record(ch, tail, pos, size);
                discard_oldest(ring, tail);
                sipc_os_mutex_unlock(&ch->recv_lock);
                notify(ch, SIPC_WAIT_SPACE(d));
                continue;
            }
            uint32_t adopted = __atomic_load_n(&ch->peer_session, __ATOMIC_ACQUIRE);
            if (sender != 0 && sender != adopted && !peer_present(ch)) {
                /* A later peer's message: the adopted one's are all delivered. connect moves on. */
                sipc_os_mutex_unlock(&ch->recv_lock);
                return leave(ch, SIPC_ERR_PEER_GONE);
            }
            *length = size;
            if (!take) {
                sipc_os_mutex_unlock(&ch->recv_lock);
                return leave(ch, SIPC_OK);
            }
            if (capacity < size) {
                sipc_os_mutex_unlock(&ch->recv_lock);
                return leave(ch, SIPC_ERR_BUFFER_TOO_SMALL);
            }
            if (size != 0)
                sipc_ring_copy_out(ch->header, &ch->geometry, d, pos + SIPC_SLOT_HEADER_SIZE, buffer, size);
            passed_record(ch, tail, pos, size);
            SH_STORE_REL(&ring->tail, tail + 1);
            sipc_os_mutex_unlock(&ch->recv_lock);
            notify(ch, SIPC_WAIT_SPACE(d));
            return leave(ch, SIPC_OK);
        }
        sipc_os_mutex_unlock(&ch->recv_lock);
        if (!present)
            return leave(ch, SIPC_ERR_PEER_GONE);
        ring_wait w = {d, head, 0};
        rc = block_on(ch, SIPC_WAIT_DATA(d), deadline, WAIT_FOR_PEER, data_ready, &w);
        if (rc != SIPC_OK)
            return leave(ch, rc);
    }
}

SIPC_API int sipc_recv(sipc_channel *channel, void *buffer, size_t capacity, size_t *length, int32_t timeout_ms)
{
    return receive(channel, buffer, capacity, length, timeout_ms, 1);
}

SIPC_API int sipc_peek_size(sipc_channel *channel, size_t *length, int32_t timeout_ms)
{
    return receive(channel, NULL, 0, length, timeout_ms, 0);
}

SIPC_API int sipc_cancel(sipc_channel *channel)
{
    int rc = enter(channel);
    if (rc != SIPC_OK)
        return rc;
    __atomic_store_n(&channel->cancelled, 1, __ATOMIC_SEQ_CST);
    wake_everyone(channel);
    return leave(channel, SIPC_OK);
}

SIPC_API int sipc_uncancel(sipc_channel *channel)
{
    if (channel == NULL)
        return SIPC_ERR_INVALID_ARGUMENT;
    __atomic_store_n(&channel->cancelled, 0, __ATOMIC_SEQ_CST);
    return SIPC_OK;
}

SIPC_API int sipc_info(sipc_channel *channel, sipc_channel_info *info)
{
    if (info == NULL || info->struct_size < sizeof *info)
        return SIPC_ERR_INVALID_ARGUMENT;
    int rc = enter(channel);
    if (rc != SIPC_OK)
        return rc;
    sipc_fill_info(channel->header, &channel->geometry, channel->segment, info);
    return leave(channel, SIPC_OK);
}

/* nowait.h: the liveness this handle knows, for sipc_fill_info_with. */
static int holder_known_alive(void *context, const seg_role_view *view, int role_index)
{
    sipc_channel *ch = context;
    uint32_t adopted = __atomic_load_n(&ch->peer_session, __ATOMIC_ACQUIRE);
    if (role_index == ch->peer_index && adopted != 0 && view->session == adopted)
        return __atomic_load_n(&ch->peer_dead_session, __ATOMIC_ACQUIRE) != adopted;
    return 1;
}

int sipc_channel_info_known(sipc_channel *channel, sipc_channel_info *info)
{
    if (info == NULL || info->struct_size < sizeof *info)
        return SIPC_ERR_INVALID_ARGUMENT;
    int rc = enter(channel);
    if (rc != SIPC_OK)
        return rc;
    sipc_fill_info_with(channel->header, &channel->geometry, channel->segment, info, holder_known_alive, channel);
    return leave(channel, SIPC_OK);
}

SIPC_API int sipc_close(sipc_channel *channel)
{
    return sipc_close_ex(channel, SIPC_DEFAULT_LOCK_TIMEOUT_MS);
}

/* ---- the process's open handles, released when it exits ---- */

#if defined(SIPC_OS_NAMES_OUTLIVE_PROCESSES)

static sipc_channel *registry_head; /* guarded by sipc_os_process_lock */
static int exit_handler_installed;  /* guarded by sipc_os_process_lock */
static void release_at_exit(void);
#endif

static void registry_add(sipc_channel *ch)
{
#if defined(SIPC_OS_NAMES_OUTLIVE_PROCESSES)
    sipc_os_process_lock();
    if (!exit_handler_installed)
        exit_handler_installed = atexit(release_at_exit) == 0;
    ch->registry_prev = NULL;
    ch->registry_next = registry_head;
    if (registry_head != NULL)
        registry_head->registry_prev = ch;
    registry_head = ch;
    sipc_os_process_unlock();
#else
    (void)ch;
#endif
}

static void registry_remove(sipc_channel *ch)
{
#if defined(SIPC_OS_NAMES_OUTLIVE_PROCESSES)
    sipc_os_process_lock();
    if (ch->registry_prev != NULL)
        ch->registry_prev->registry_next = ch->registry_next;
    else if (registry_head == ch)
        registry_head = ch->registry_next;
    if (ch->registry_next != NULL)
        ch->registry_next->registry_prev = ch->registry_prev;
    ch->registry_prev = ch->registry_next = NULL;
    sipc_os_process_unlock();
#else
    (void)ch;
#endif
}

/* Gives up this handle's role (under the channel's lock if it can be had by `deadline`) and, as the
 * last one out, removes the name. SIPC_ERR_TIMEOUT when the lock could not be had: the role is
 * released all the same, only the name stays (stale, reclaimed by the next opener). */
static int release_role(sipc_channel *ch, uint64_t deadline)
{
    int rc = lock_segment(ch->segment, ch->header, &ch->self, deadline, ch->key);
    seg_role *me = &ch->header->roles[ch->role_index];
    int mine = SH_LOAD(&me->session) == ch->my_session && SH_LOAD(&me->pid) == ch->self.pid;
    if (mine) {
        SH_STORE(&me->sleepers, 0u);
        SH_STORE_REL(&me->state, SIPC_SLOT_FREE);
        SH_STORE(&me->pid, 0);
        SH_STORE(&me->start_time, 0);
    }
    wake_everyone(ch);
    if (rc == SIPC_OK) {
        /* Last one out removes the name, unless it already leads to another object. */
        if (!sipc_role_alive(ch->segment, ch->header, ch->peer_index) && sipc_os_segment_is_current(ch->segment) == 1)
            sipc_os_segment_unlink(ch->key, deadline);
        unlock_segment(ch->segment, ch->header, &ch->self);
    }
    return rc == SIPC_ERR_TIMEOUT ? SIPC_ERR_TIMEOUT : SIPC_OK;
}

#if defined(SIPC_OS_NAMES_OUTLIVE_PROCESSES)
/* atexit: a process that returns from main or calls exit() (Node's process.exit, an uncaught
 * exception) with channels still open releases their roles and removes the names it was the last
 * user of, including channels whose two ends it held itself (released one after the other, the
 * second sees the first gone). Other threads may still be inside calls on these handles: they are
 * woken (SIPC_ERR_CLOSED) but the handles are not freed, the process is ending anyway. Handles
 * inherited through fork() belong to the parent and are left alone. */
static void release_at_exit(void)
{
    sipc_os_process_lock();
    for (sipc_channel *ch = registry_head; ch != NULL; ch = ch->registry_next) {
        if (ch->fork_generation != sipc_os_fork_generation())
            continue;
        if (__atomic_exchange_n(&ch->closed, 1, __ATOMIC_SEQ_CST))
            continue; /* a sipc_close in another thread is at it */
        release_role(ch, sipc_deadline_after(SIPC_EXIT_LOCK_TIMEOUT_MS));
    }
    registry_head = NULL;
    sipc_os_process_unlock();
}
#endif

SIPC_API int sipc_close_ex(sipc_channel *channel, int32_t timeout_ms)
{
    sipc_channel *ch = channel;
    if (ch == NULL || timeout_ms < SIPC_INFINITE)
        return SIPC_ERR_INVALID_ARGUMENT;
    if (__atomic_exchange_n(&ch->closed, 1, __ATOMIC_SEQ_CST))
        return SIPC_ERR_CLOSED;
    if (ch->fork_generation != sipc_os_fork_generation()) {
        /* A copy inherited through fork(): the role, the lock and the watcher are the parent's. */
        registry_remove(ch); /* from this process's copy of the registry */
        free_forked_copy(ch);
        return SIPC_OK;
    }
    /* Calls blocked on this handle in other threads see `closed` once woken and return
     * SIPC_ERR_CLOSED; the handle is freed when the last of them has left. */
    wake_everyone(ch);
    for (unsigned round = 1; __atomic_load_n(&ch->users, __ATOMIC_SEQ_CST) != 0; round++) {
        sipc_os_sleep_us(100);
        if (round % 64 == 0)
            wake_everyone(ch); /* belt and braces: the wake-up protocol has no lost wake-ups */
    }
    /* Without the lock (a stranger keeps it) the role is still ours to release; only the decision to
     * remove the name needs it, and a segment left behind is stale and reclaimed later. */
    registry_remove(ch);
    int rc = release_role(ch, sipc_deadline_after(timeout_ms));
    free_channel(ch);
    return rc;
}

void sipc_channel_wait_stats(sipc_channel *channel, sipc_wait_stats *out)
{
    out->sleeps = __atomic_load_n(&channel->stats.sleeps, __ATOMIC_RELAXED);
    out->wakes = __atomic_load_n(&channel->stats.wakes, __ATOMIC_RELAXED);
    out->spins = __atomic_load_n(&channel->stats.spins, __ATOMIC_RELAXED);
    out->spin_hits = __atomic_load_n(&channel->stats.spin_hits, __ATOMIC_RELAXED);
    out->same_cpu_skips = __atomic_load_n(&channel->stats.same_cpu_skips, __ATOMIC_RELAXED);
    out->observer_wakes = __atomic_load_n(&channel->stats.observer_wakes, __ATOMIC_RELAXED);
}

void sipc_channel_fix_spin(sipc_channel *channel, uint32_t budget_ns)
{
    __atomic_store_n(&channel->spin_fixed_ns, budget_ns, __ATOMIC_RELAXED);
}

void sipc_channel_set_test_hook(sipc_channel *channel, sipc_test_hook hook, void *arg)
{
    channel->test_hook_arg = arg;
    __atomic_store_n(&channel->test_hook, hook, __ATOMIC_RELEASE);
}
