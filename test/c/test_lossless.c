/*
 * test_lossless.c — the observer's part of the segment (PROTOCOL.md section 7) seen from outside: a lossless
 * observer that dies, a hostile observer record, the wake-up flag of a sleeping observer, and the events of
 * a peer killed with SIGKILL.
 */
#include "harness.h"
#include "observe_helpers.h"
#include "layout.h"
#include "waiting.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int child_lossless_then_killed(void *arg)
{
    child_plan *plan = arg;
    sipc_observe_options options = lossless_options(0, SIPC_OBSERVE_STALL_MAX_MS);
    sipc_observer *ob = NULL;
    CHILD_CHECK(sipc_observe_ex(plan->name, &options, &ob) == SIPC_OK);
    CHILD_CHECK(pipe_write(plan->ready.write_end, "r", 1));
    kill_self();
    return 1;
}

void test_lossless_dead_observer_dropped(void)
{
    child_plan plan;
    snprintf(plan.name, sizeof plan.name, "%s", test_name("ldead"));
    CHECK(test_pipe_open(&plan.ready) == 0);
    sipc_channel *server = NULL, *client = NULL;
    observed_pair_open(plan.name, &server, &client);
    if (test_failed())
        return;
    pid_t child = spawn_child(child_lossless_then_killed, &plan, sizeof plan);
    char ready;
    CHECK(pipe_read(plan.ready.read_end, &ready, 1) == 1);
    CHECK(reap_child(child) == 128 + 9);
    /* Its stall bound is 10 s, but its process is gone: the send that needs its slot (the first past a ring of
     * observed_history()) drops it at once (the send's 5 s timeout would fail this test otherwise). */
    CHECK_RC(observed_passes(server, client, 0, observed_history() + 2, 5000), SIPC_OK);
    raw_map map;
    CHECK(raw_open(plan.name, &map) == 0);
    const seg_header *h = (const seg_header *)map.base;
    uint32_t states = SIPC_CLAIM_STATE(h->observers[0].claim) | SIPC_CLAIM_STATE(h->observers[1].claim) << 8;
    CHECK(states == SIPC_OBSERVER_DROPPED_DEAD || states == SIPC_OBSERVER_DROPPED_DEAD << 8);
    raw_close(&map);
    test_pipe_close(&plan.ready);
    observed_pair_close(NULL, server, client);
}

/* Writes an active observer record with the given fields into record 0. */
static void forge_record(seg_header *h, sipc_os_process who, uint64_t cursor0, uint32_t stall_ms)
{
    seg_observer *r = &h->observers[0];
    __atomic_store_n(&r->pid, who.pid, __ATOMIC_RELAXED);
    __atomic_store_n(&r->start_time, who.start_time, __ATOMIC_RELAXED);
    __atomic_store_n(&r->cursor[0], cursor0, __ATOMIC_RELAXED);
    __atomic_store_n(&r->cursor[1], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&r->stall_ms, stall_ms, __ATOMIC_RELAXED);
    __atomic_store_n(&r->claim, SIPC_CLAIM(77, SIPC_OBSERVER_ACTIVE), __ATOMIC_RELEASE);
}

static uint32_t record_state(const seg_header *h)
{
    return SIPC_CLAIM_STATE(__atomic_load_n(&h->observers[0].claim, __ATOMIC_ACQUIRE));
}

void test_lossless_hostile_record(void)
{
    const char *name = test_name("lhostile");
    sipc_channel *server = NULL, *client = NULL;
    observed_pair_open(name, &server, &client);
    if (test_failed())
        return;
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    seg_header *h = (seg_header *)map.base;
    const uint64_t slots = observed_history();
    uint64_t i = 0; /* messages sent so far: the head of direction 0 */
    for (; i < slots; i++) /* a ring's worth: a cursor at 0 now holds the producer */
        CHECK_RC(observed_pass(server, client, i, 0), SIPC_OK);
    sipc_os_process self, nobody = {0, 0};
    CHECK_RC(sipc_os_process_self(&self), SIPC_OK);
    /* A cursor ahead of head: dropped as invalid, the send goes through. */
    forge_record(h, self, i + 1000, 5);
    CHECK_RC(observed_pass(server, client, i++, 0), SIPC_OK);
    CHECK(record_state(h) == SIPC_OBSERVER_DROPPED_INVALID);
    /* A cursor more than a ring (observed_history()) behind (it holds the producer back) and no process: dropped at
     * once, although its stall bound is the longest (the send's own 5 s would run out first). */
    forge_record(h, nobody, 0, SIPC_OBSERVE_STALL_MAX_MS);
    CHECK_RC(observed_pass(server, client, i++, 5000), SIPC_OK);
    CHECK(record_state(h) == SIPC_OBSERVER_DROPPED_INVALID);
    /* A live process (our own identity) whose cursor never moves: a ring's worth of sends fit (the reader takes each,
     * so only the observer can hold one), the next waits its 20 ms and drops it as stalled. */
    forge_record(h, self, i, 20);
    for (uint64_t k = 0; k < slots + 1; k++)
        CHECK_RC(observed_pass(server, client, i++, 5000), SIPC_OK);
    CHECK(record_state(h) == SIPC_OBSERVER_DROPPED_STALL);
    /* An absurd stall bound is clamped; garbage states are ignored. */
    CHECK(sipc_observer_stall_ms(UINT32_MAX) == SIPC_OBSERVE_STALL_MAX_MS);
    CHECK(sipc_observer_stall_ms(0) == SIPC_OBSERVE_STALL_DEFAULT_MS);
    __atomic_store_n(&h->observers[0].claim, SIPC_CLAIM(5, 0xdeadu), __ATOMIC_RELEASE);
    __atomic_store_n(&h->observers[1].claim, SIPC_CLAIM(5, SIPC_OBSERVER_CLAIMING), __ATOMIC_RELEASE);
    for (int k = 0; k < 8; k++)
        CHECK_RC(observed_pass(server, client, i++, 0), SIPC_OK);
    /* A garbage record can neither be taken (CLAIMING is someone's) nor stop a lossless observer from using the
     * other one once it is free again. */
    __atomic_store_n(&h->observers[0].claim, 0, __ATOMIC_RELEASE);
    sipc_observe_options oo = lossless_options(0, 0);
    sipc_observer *ob = NULL;
    CHECK_RC(sipc_observe_ex(name, &oo, &ob), SIPC_OK);
    CHECK(record_state(h) == SIPC_OBSERVER_ACTIVE);
    CHECK_RC(sipc_observer_close(ob), SIPC_OK);
    CHECK(record_state(h) == SIPC_OBSERVER_FREE);
    raw_close(&map);
    observed_pair_close(NULL, server, client);
}

/* A plain observer in another process waits for one message. */
static int child_observe_one(void *arg)
{
    child_plan *plan = arg;
    sipc_observer *ob = NULL;
    CHILD_CHECK(sipc_observe(plan->name, &ob) == SIPC_OK);
    uint8_t buffer[64];
    sipc_observed_message m = {.struct_size = sizeof m};
    CHILD_CHECK(sipc_observer_next(ob, buffer, sizeof buffer, &m, 20000) == SIPC_OK);
    CHILD_CHECK(m.sequence == 0 && m.length == 64 && message_check(buffer, 64, 12, 0));
    sipc_observer_close(ob);
    return 0;
}

/* Waits until an observer that found nothing raised the sleepers' flag: the next send then takes it down. A first
 * message sent before it looked would leave the flag raised after the observer copies it (by design: the next send
 * pays that one wake-up), and a test counting wake-ups would count it. */
static int wait_observer_sleeping(const seg_header *h)
{
    for (int k = 0; k < 20000; k++) {
        if (__atomic_load_n(&h->waiters[SIPC_WAIT_OBSERVE], __ATOMIC_ACQUIRE) != 0)
            return 1;
        sleep_ms(1);
    }
    return 0;
}

void test_observer_sleeps_until_a_send(void)
{
    child_plan plan;
    snprintf(plan.name, sizeof plan.name, "%s", test_name("lsleep"));
    sipc_channel *server = NULL, *client = NULL;
    observed_pair_open(plan.name, &server, &client);
    if (test_failed())
        return;
    raw_map map;
    CHECK(raw_open(plan.name, &map) == 0);
    seg_header *h = (seg_header *)map.base;
    uint32_t *flag = &h->waiters[SIPC_WAIT_OBSERVE];
    uint32_t word = __atomic_load_n(&h->wait_word[SIPC_WAIT_OBSERVE], __ATOMIC_ACQUIRE);
    pid_t child = spawn_child(child_observe_one, &plan, sizeof plan);
    CHECK(wait_observer_sleeping(h));
    CHECK(__atomic_load_n(flag, __ATOMIC_ACQUIRE) == 1);
    /* The send that finds it raised takes it down and bumps the observer word: one wake-up. */
    CHECK_RC(observed_pass(server, client, 0, 0), SIPC_OK);
    CHECK(reap_child(child) == 0);
    CHECK(__atomic_load_n(&h->wait_word[SIPC_WAIT_OBSERVE], __ATOMIC_ACQUIRE) != word);
    /* With nobody asleep, sends leave the word alone (a raised flag costs one wake, not one per message). */
    __atomic_store_n(flag, 0, __ATOMIC_RELEASE);
    word = __atomic_load_n(&h->wait_word[SIPC_WAIT_OBSERVE], __ATOMIC_ACQUIRE);
    CHECK_RC(observed_passes(server, client, 1, 10, 0), SIPC_OK);
    CHECK(__atomic_load_n(&h->wait_word[SIPC_WAIT_OBSERVE], __ATOMIC_ACQUIRE) == word);
    raw_close(&map);
    observed_pair_close(NULL, server, client);
}

/* What child_observe_after_a_late_wake_up returns when the test held it still between two of its sleeps (its flag stays
 * raised from one 100 ms sleep to the next, and goes up before its last look): no send ended a sleep, nothing to time. */
#define HELD_WHILE_LOOKING 2

/* Observes once, expecting to sleep and then find messages 0..5 gone (the test holds it still meanwhile while
 * observed_history() + 6 pass): the look after the wake-up counts them as missed asleep and still times the wake-up, from
 * message 6, the oldest of the ring (a lower bound). */
static int child_observe_after_a_late_wake_up(void *arg)
{
    child_plan *plan = arg;
    sipc_observer *ob = NULL;
    CHILD_CHECK(sipc_observe(plan->name, &ob) == SIPC_OK);
    uint8_t buffer[64];
    sipc_observed_message m = {.struct_size = sizeof m};
    CHILD_CHECK(sipc_observer_next(ob, buffer, sizeof buffer, &m, 20000) == SIPC_OK);
    CHILD_CHECK(m.sequence == 6 && m.missed == 6 && message_check(buffer, 64, 12, 6));
    sipc_observer_stats stats = {.struct_size = sizeof stats};
    CHILD_CHECK(sipc_observer_get_stats(ob, &stats) == SIPC_OK);
    if (stats.missed == 6 && stats.woken == 0 && stats.wake_latency_count == 0) {
        sipc_observer_close(ob);
        return HELD_WHILE_LOOKING;
    }
    if (!(stats.missed_asleep == 6 && stats.woken >= 1 && stats.wake_latency_count == 1))
        fprintf(stderr, "    observer stats: missed %llu (asleep %llu, running %llu), sleeps %llu, woken %llu, timed %llu\n",
                (unsigned long long)stats.missed, (unsigned long long)stats.missed_asleep,
                (unsigned long long)stats.missed_running, (unsigned long long)stats.sleeps,
                (unsigned long long)stats.woken, (unsigned long long)stats.wake_latency_count);
    CHILD_CHECK(stats.missed == 6 && stats.missed_asleep == 6 && stats.sleeps >= 1 && stats.woken >= 1);
    CHILD_CHECK(stats.wake_latency_count == 1 && stats.wake_latency_max_ns == stats.wake_latency_total_ns);
    sipc_observer_close(ob);
    return 0;
}

/* A wake-up that comes too late (the observer, asleep, is held still while observed_history() + 6 messages pass,
 * lapping its ring) is timed like one in time: the latency figures used to leave out exactly the wake-ups that lost
 * messages. */
void test_observer_times_a_late_wake_up(void)
{
    /* The observer's flag goes up before its last look and stays up across its 100 ms sleeps: a child held while it
     * looks (a window of microseconds every 100 ms, wider under qemu-user or on a loaded machine) was in no wait, and
     * says so; the test then holds one again, in a new channel (5 tries). */
    int status = HELD_WHILE_LOOKING;
    for (int attempt = 0; attempt < 5 && status == HELD_WHILE_LOOKING && !test_failed(); attempt++) {
        char base[32];
        snprintf(base, sizeof base, "llate%d", attempt);
        child_plan plan;
        snprintf(plan.name, sizeof plan.name, "%s", test_name(base));
        sipc_channel *server = NULL, *client = NULL;
        observed_pair_open(plan.name, &server, &client);
        if (test_failed())
            return;
        raw_map map;
        CHECK(raw_open(plan.name, &map) == 0);
        seg_header *h = (seg_header *)map.base;
        pid_t child = spawn_child(child_observe_after_a_late_wake_up, &plan, sizeof plan);
        CHECK(wait_observer_sleeping(h));
        CHECK(__atomic_load_n(&h->waiters[SIPC_WAIT_OBSERVE], __ATOMIC_ACQUIRE) == 1);
        CHECK(stop_child(child) == 0);
        CHECK_RC(observed_passes(server, client, 0, observed_history() + 6, 0), SIPC_OK);
        continue_child(child);
        status = reap_child(child);
        if (status == HELD_WHILE_LOOKING)
            fprintf(stderr, "    held while it looked between two sleeps (try %d): again\n", attempt + 1);
        raw_close(&map);
        observed_pair_close(NULL, server, client);
    }
    CHECK(status == 0);
}

/* A client that attaches, says so, and is killed. */
static int child_client_killed(void *arg)
{
    child_plan *plan = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(plan->name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(pipe_write(plan->ready.write_end, "r", 1));
    kill_self();
    return 1;
}

/* Reads until the next event (messages in between are skipped) into *m. */
static int next_event(sipc_observer *ob, sipc_observed_message *m)
{
    uint8_t buffer[64];
    m->struct_size = sizeof *m;
    for (;;) {
        int rc = sipc_observer_next(ob, buffer, sizeof buffer, m, 10000);
        if (rc != SIPC_OK || m->kind == SIPC_OBSERVED_EVENT)
            return rc;
    }
}

void test_observer_events_of_a_killed_peer(void)
{
    child_plan plan;
    snprintf(plan.name, sizeof plan.name, "%s", test_name("levents"));
    CHECK(test_pipe_open(&plan.ready) == 0);
    sipc_options o = options_with(64, 4);
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(plan.name, &o, &server), SIPC_OK);
    sipc_observe_options oo;
    sipc_observe_options_init(&oo);
    oo.flags = SIPC_OBSERVE_EVENTS;
    sipc_observer *ob = NULL;
    CHECK_RC(sipc_observe_ex(plan.name, &oo, &ob), SIPC_OK);
    sipc_observed_message m;
    CHECK_RC(next_event(ob, &m), SIPC_OK);
    CHECK(m.event == SIPC_EVENT_ATTACHED && m.role == SIPC_ROLE_SERVER && m.pid == (int64_t)getpid());
    pid_t child = spawn_child(child_client_killed, &plan, sizeof plan);
    char ready;
    CHECK(pipe_read(plan.ready.read_end, &ready, 1) == 1);
    CHECK_RC(next_event(ob, &m), SIPC_OK);
    CHECK(m.event == SIPC_EVENT_ATTACHED && m.role == SIPC_ROLE_CLIENT && m.pid == (int64_t)child && m.session == 1);
    CHECK(reap_child(child) == 128 + 9);
    /* Nobody wakes the observer for a SIGKILL: it finds out when it checks the holders (every 100 ms). */
    CHECK_RC(next_event(ob, &m), SIPC_OK);
    CHECK(m.event == SIPC_EVENT_DIED && m.role == SIPC_ROLE_CLIENT && m.pid == (int64_t)child);
    CHECK(m.timestamp_ns > 0);
    /* The next client takes the dead one's role: reported as attached (the death was reported already). */
    sipc_channel *client = NULL;
    CHECK_RC(sipc_open(plan.name, NULL, &client), SIPC_OK);
    CHECK_RC(next_event(ob, &m), SIPC_OK);
    CHECK(m.event == SIPC_EVENT_ATTACHED && m.role == SIPC_ROLE_CLIENT && m.session == 2);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(next_event(ob, &m), SIPC_OK);
    CHECK(m.event == SIPC_EVENT_CLOSED && m.role == SIPC_ROLE_CLIENT && m.session == 2);
    /* A client that comes, talks and goes while the observer is not looking is still on the timeline, with its pid
     * (kept in the role after the release), in order: its attach before its message, its close after (the observer saw all of it at once,
     * as a capture process that the scheduler left waiting does). */
    CHECK_RC(sipc_open(plan.name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_send(client, "ping", 4, 10000), SIPC_OK);
    char received[8];
    size_t length = 0;
    CHECK_RC(sipc_recv(server, received, sizeof received, &length, 10000), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    uint8_t buffer[64];
    m.struct_size = sizeof m;
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 10000), SIPC_OK);
    CHECK(m.kind == SIPC_OBSERVED_EVENT && m.event == SIPC_EVENT_ATTACHED && m.role == SIPC_ROLE_CLIENT &&
          m.session == 3 && m.pid == (int64_t)getpid());
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 10000), SIPC_OK);
    CHECK(m.kind == SIPC_OBSERVED_MESSAGE && m.length == 4 && memcmp(buffer, "ping", 4) == 0);
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 10000), SIPC_OK);
    CHECK(m.kind == SIPC_OBSERVED_EVENT && m.event == SIPC_EVENT_CLOSED && m.role == SIPC_ROLE_CLIENT &&
          m.session == 3 && m.pid == (int64_t)getpid());
    test_pipe_close(&plan.ready);
    CHECK_RC(sipc_observer_close(ob), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* ---- napping (PROTOCOL.md section 7, "Napping") ---- */

/* An observer thread that copies `count` messages of the server's direction, in order and none missed. */
typedef struct napping_observer {
    sipc_observer *observer;
    uint64_t count;
    uint64_t seen; /* atomic */
    int status;    /* atomic: the first failure, SIPC_OK */
} napping_observer;

static void *observe_count(void *arg)
{
    napping_observer *no = arg;
    uint8_t buffer[64];
    while (__atomic_load_n(&no->seen, __ATOMIC_RELAXED) < no->count) {
        sipc_observed_message m = {.struct_size = sizeof m};
        int rc = sipc_observer_next(no->observer, buffer, sizeof buffer, &m, 20000);
        uint64_t i = __atomic_load_n(&no->seen, __ATOMIC_RELAXED);
        if (rc == SIPC_OK && (m.kind != SIPC_OBSERVED_MESSAGE || m.sequence != i || m.missed != 0 ||
                              !message_check(buffer, 64, 12, i)))
            rc = SIPC_ERR_CORRUPT;
        if (rc != SIPC_OK) {
            __atomic_store_n(&no->status, rc, __ATOMIC_RELEASE);
            break;
        }
        __atomic_store_n(&no->seen, i + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

/* The record of this process's lossless observer (the only active one), -1 if none. */
static int my_record(const seg_header *h)
{
    for (int r = 0; r < (int)SIPC_OBSERVER_RECORDS; r++)
        if (SIPC_CLAIM_STATE(__atomic_load_n(&h->observers[r].claim, __ATOMIC_ACQUIRE)) == SIPC_OBSERVER_ACTIVE)
            return r;
    return -1;
}

/* Waits (for a state, up to about 20 s) until the observer has copied `seen` messages and naps in its record. */
static int wait_napping(const napping_observer *no, const seg_observer *record, uint64_t seen)
{
    for (int k = 0; k < 20000; k++) {
        if (__atomic_load_n(&no->seen, __ATOMIC_ACQUIRE) == seen && __atomic_load_n(&record->napping, __ATOMIC_ACQUIRE))
            return 1;
        if (__atomic_load_n(&no->status, __ATOMIC_ACQUIRE) != SIPC_OK)
            return 0;
        sleep_ms(1);
    }
    return 0;
}

/* A lossless observer of a depth-4 pair, its record mapped, whose naps only a producer ends (they are made long, so
 * that what a test sees is who woke it, not how long anything took), with a thread copying `count` messages: the first
 * message is copied and the observer naps. */
typedef struct napping_fixture {
    sipc_channel *server, *client;
    raw_map map;
    seg_header *h;
    const seg_observer *record;
    uint32_t *word; /* the record's wait word */
    napping_observer no;
    sipc_os_thread thread;
    int thread_running;
} napping_fixture;

static void napping_fixture_open_with(napping_fixture *f, const char *name, uint64_t count, int plain, uint32_t wake_at)
{
    memset(f, 0, sizeof *f);
    sipc_observer *ob = NULL;
    if (plain) {
        observed_pair_open(name, &f->server, &f->client);
        if (!test_failed())
            CHECK_RC(sipc_observe(name, &ob), SIPC_OK);
    } else {
        ob = lossless_pair_open(name, 0, SIPC_OBSERVE_STALL_MAX_MS, &f->server, &f->client);
    }
    f->no = (napping_observer){ob, count, 0, SIPC_OK};
    if (test_failed())
        return;
    sipc_observer_fix_nap(ob, 60000);
    if (wake_at != 0)
        sipc_observer_fix_wake_at(ob, wake_at);
    CHECK(raw_open(name, &f->map) == 0);
    if (test_failed())
        return;
    f->h = (seg_header *)f->map.base;
    int r = sipc_observer_record_index(ob);
    CHECK(r >= 0 && r == (plain ? r : my_record(f->h)));
    CHECK(r < 0 || SIPC_CLAIM_STATE(__atomic_load_n(&f->h->observers[r].claim, __ATOMIC_ACQUIRE)) ==
                       (plain ? SIPC_OBSERVER_WATCHING : SIPC_OBSERVER_ACTIVE));
    if (test_failed())
        return;
    f->record = &f->h->observers[r];
    f->word = &f->h->wait_word[SIPC_WAIT_RECORD(r)];
    CHECK(sipc_os_thread_create(&f->thread, observe_count, &f->no) == SIPC_OK);
    f->thread_running = !test_failed();
    /* The first message ends a plain sleep (nothing flowed yet); after copying it, the observer naps. */
    CHECK(wait_observer_sleeping(f->h));
    CHECK_RC(observed_pass(f->server, f->client, 0, 1000), SIPC_OK);
    CHECK(wait_napping(&f->no, f->record, 1));
}

static void napping_fixture_open(napping_fixture *f, const char *name, uint64_t count)
{
    napping_fixture_open_with(f, name, count, 0, 0);
}

/* Joins the copying thread (it returns once it copied `count` or failed) and checks it copied all, in order. */
static void napping_fixture_close(napping_fixture *f)
{
    if (f->thread_running) {
        if (test_failed())
            sipc_observer_cancel(f->no.observer);
        sipc_os_thread_join(&f->thread);
        if (!test_failed()) {
            CHECK_RC(f->no.status, SIPC_OK);
            CHECK(f->no.seen == f->no.count);
        }
    }
    if (f->h != NULL)
        raw_close(&f->map);
    observed_pair_close(f->no.observer, f->server, f->client);
}

/* A lossless observer that keeps up naps in its record while traffic flows, and only the send that leaves half a ring
 * (of observed_history()) uncopied wakes it (one wake-up per half ring, not one per message or two; it used to sleep on
 * the observer word after every few messages, which the next send paid a wake-up for). */
void test_lossless_observer_naps_until_half_a_ring(void)
{
    const uint64_t half = observed_history() / 2;
    napping_fixture f;
    napping_fixture_open(&f, test_name("lnap"), 1 + 2 * half);
    uint64_t i = 1; /* the fixture passed message 0 */
    for (uint64_t round = 0; round < 2 && !test_failed(); round++) {
        uint32_t word_before = __atomic_load_n(f.word, __ATOMIC_ACQUIRE);
        sipc_wait_stats before, after;
        sipc_channel_wait_stats(f.server, &before);
        /* One message uncopied, then up to one short of half the ring: the producer lets the observer nap. */
        for (uint64_t k = 1; k < half && !test_failed(); k++) {
            CHECK_RC(observed_pass(f.server, f.client, i++, 1000), SIPC_OK);
            sipc_channel_wait_stats(f.server, &after);
            CHECK(after.observer_wakes == before.observer_wakes);
            CHECK(__atomic_load_n(&f.record->napping, __ATOMIC_ACQUIRE) == 1);
            CHECK(__atomic_load_n(f.word, __ATOMIC_ACQUIRE) == word_before);
        }
        /* Half the ring uncopied: this send wakes it, and it copies them all. */
        CHECK_RC(observed_pass(f.server, f.client, i++, 1000), SIPC_OK);
        sipc_channel_wait_stats(f.server, &after);
        CHECK(after.observer_wakes == before.observer_wakes + 1);
        CHECK(__atomic_load_n(f.word, __ATOMIC_ACQUIRE) != word_before);
        if (round == 0)
            CHECK(wait_napping(&f.no, f.record, i));
    }
    napping_fixture_close(&f); /* both wake-ups ended its naps: it copied all 1 + 2 * half */
}

#if defined(__linux__) /* the nap's futex, woken by hand */
#    include <linux/futex.h>
#    include <sys/syscall.h>

/* A nap can end without a producer: a signal, a stale semaphore count on Windows, a role change. Such an ending says
 * nothing about the traffic, so the observer naps again, and a send that leaves less than half a ring uncopied still
 * costs no wake-up. It used to fall back to the plain sleep, whose flag the very next send paid a wake-up for. The test
 * ends the nap itself: bump the word, wake. */
void test_lossless_nap_ended_for_nothing_naps_again(void)
{
    napping_fixture f;
    const uint64_t half = observed_history() / 2;
    napping_fixture_open(&f, test_name("lnapagain"), 1 + half);
    if (!test_failed()) {
        sipc_observer_stats before = {.struct_size = sizeof before}, now = {.struct_size = sizeof now};
        CHECK_RC(sipc_observer_get_stats(f.no.observer, &before), SIPC_OK);
        /* The flag goes up before the observer's last look and its futex wait: it may not sleep yet. The word moved
         * after it read it, so a wait it has not begun returns at once (EAGAIN), ending the nap all the same: the wake
         * finds it asleep (1) or not yet (0). */
        __atomic_add_fetch(f.word, 1u, __ATOMIC_SEQ_CST);
        CHECK(syscall(SYS_futex, f.word, FUTEX_WAKE, 1, NULL, NULL, 0) >= 0);
        /* Settled: the wake-up counted, and the observer waits again (in a nap, or in the sleep of the bug). */
        int settled = 0;
        for (int k = 0; k < 20000 && !settled; k++) {
            CHECK_RC(sipc_observer_get_stats(f.no.observer, &now), SIPC_OK);
            settled = now.woken == before.woken + 1 &&
                      (__atomic_load_n(&f.record->napping, __ATOMIC_ACQUIRE) != 0 ||
                       __atomic_load_n(&f.h->waiters[SIPC_WAIT_OBSERVE], __ATOMIC_ACQUIRE) != 0);
            if (!settled)
                sleep_ms(1);
        }
        CHECK(settled);
        CHECK(__atomic_load_n(&f.record->napping, __ATOMIC_ACQUIRE) == 1);
    }
    if (!test_failed()) {
        sipc_wait_stats before, after;
        sipc_channel_wait_stats(f.server, &before);
        uint64_t i = 1;
        for (; i < half && !test_failed(); i++) {
            CHECK_RC(observed_pass(f.server, f.client, i, 1000), SIPC_OK);
            sipc_channel_wait_stats(f.server, &after);
            CHECK(after.observer_wakes == before.observer_wakes);
        }
        /* Half a ring (of observed_history()): this send ends the nap, and the observer copies them all. */
        CHECK_RC(observed_pass(f.server, f.client, i, 1000), SIPC_OK);
        sipc_channel_wait_stats(f.server, &after);
        CHECK(after.observer_wakes == before.observer_wakes + 1);
    }
    napping_fixture_close(&f);
}
#endif

/* With the short nap of every observer, a burst smaller than half a ring still reaches it when the channel goes
 * quiet: nobody sends again, and the observer copies the rest by itself. */
void test_lossless_napping_observer_copies_a_quiet_channel(void)
{
    const char *name = test_name("lquiet");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = lossless_pair_open(name, 0, SIPC_OBSERVE_STALL_MAX_MS, &server, &client);
    if (test_failed())
        return;
    napping_observer no = {ob, 4, 0, SIPC_OK};
    sipc_os_thread observer_thread;
    CHECK(sipc_os_thread_create(&observer_thread, observe_count, &no) == SIPC_OK);
    for (uint64_t i = 0; i < 4 && !test_failed(); i++) {
        /* One message at a time, each after the observer copied the one before (so it naps with one uncopied). */
        CHECK_RC(observed_pass(server, client, i, 1000), SIPC_OK);
        for (int k = 0; k < 20000 && __atomic_load_n(&no.seen, __ATOMIC_ACQUIRE) == i &&
                        __atomic_load_n(&no.status, __ATOMIC_ACQUIRE) == SIPC_OK;
             k++)
            sleep_ms(1);
        CHECK(__atomic_load_n(&no.seen, __ATOMIC_ACQUIRE) == i + 1);
    }
    sipc_os_thread_join(&observer_thread);
    CHECK_RC(no.status, SIPC_OK);
    observed_pair_close(ob, server, client);
}

/* `napping` is untrusted like the rest of a record: a producer only compares the record's cursor with its head, so a
 * flag raised by anyone, on any record, costs at most one wake-up, and a cursor past head none. */
void test_lossless_forged_napping_costs_at_most_a_wake_up(void)
{
    const char *name = test_name("lnapforge");
    sipc_channel *server = NULL, *client = NULL;
    observed_pair_open(name, &server, &client); /* depth 4, observed_history() slots, no observer */
    if (test_failed())
        return;
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    seg_header *h = (seg_header *)map.base;
    seg_observer *record = &h->observers[0]; /* FREE: nobody's record */
    const uint32_t *word = &h->wait_word[SIPC_WAIT_RECORD(0)];
    uint32_t word_before = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    sipc_wait_stats before, after;
    sipc_channel_wait_stats(server, &before);
    const uint64_t slots = observed_history();
    __atomic_store_n(&record->cursor[SIPC_DIR_TO_CLIENT], 4 * slots, __ATOMIC_RELEASE);
    __atomic_store_n(&record->napping, 1u, __ATOMIC_RELEASE);
    uint64_t i = 0;
    for (; i < slots; i++) /* a ring's worth: the head ends a ring ahead of cursor 0 */
        CHECK_RC(observed_pass(server, client, i, 1000), SIPC_OK);
    sipc_channel_wait_stats(server, &after);
    CHECK(after.observer_wakes == before.observer_wakes); /* a cursor past head: never behind, never woken */
    CHECK(__atomic_load_n(&record->napping, __ATOMIC_ACQUIRE) == 1);
    CHECK(__atomic_load_n(word, __ATOMIC_ACQUIRE) == word_before);
    /* A cursor far behind (a ring, more than the default wake_at of half a ring): the next send takes the flag down and
     * pays one wake-up, and the sends after it none. */
    __atomic_store_n(&record->cursor[SIPC_DIR_TO_CLIENT], 0, __ATOMIC_RELEASE);
    for (; i < slots + 6; i++)
        CHECK_RC(observed_pass(server, client, i, 1000), SIPC_OK);
    sipc_channel_wait_stats(server, &after);
    CHECK(after.observer_wakes == before.observer_wakes + 1);
    CHECK(__atomic_load_n(&record->napping, __ATOMIC_ACQUIRE) == 0);
    CHECK(__atomic_load_n(word, __ATOMIC_ACQUIRE) != word_before);
    raw_close(&map);
    observed_pair_close(NULL, server, client);
}

/* ---- the observer's wake threshold (PROTOCOL.md section 7, "Napping": the record's wake_at) ---- */

/* `rounds` times: wake_at - 1 sends leave the napping observer asleep and cost no wake-up, the next one wakes it (one
 * wake-up for wake_at messages), and it copies them all and naps again. The fixture copied message 0. */
static void wake_at_rounds(napping_fixture *f, uint64_t wake_at, uint64_t rounds)
{
    uint64_t i = 1;
    for (uint64_t round = 0; round < rounds && !test_failed(); round++) {
        sipc_wait_stats before, after;
        sipc_channel_wait_stats(f->server, &before);
        uint32_t word_before = __atomic_load_n(f->word, __ATOMIC_ACQUIRE);
        for (uint64_t k = 1; k < wake_at; k++)
            CHECK_RC(observed_pass(f->server, f->client, i++, 1000), SIPC_OK);
        sipc_channel_wait_stats(f->server, &after);
        CHECK(after.observer_wakes == before.observer_wakes);
        CHECK(__atomic_load_n(&f->record->napping, __ATOMIC_ACQUIRE) != 0);
        CHECK(__atomic_load_n(f->word, __ATOMIC_ACQUIRE) == word_before);
        CHECK_RC(observed_pass(f->server, f->client, i++, 1000), SIPC_OK);
        sipc_channel_wait_stats(f->server, &after);
        CHECK(after.observer_wakes == before.observer_wakes + 1);
        CHECK(__atomic_load_n(f->word, __ATOMIC_ACQUIRE) != word_before);
        if (round + 1 < rounds)
            CHECK(wait_napping(&f->no, f->record, i));
    }
}

/* A plain observer naps too, in a record of its own that the producers never wait for (WATCHING), and a producer wakes
 * it only once as many messages as it asked for are uncopied: one wake-up per batch, not one per few messages (it
 * used to sleep on the observer word, which the very next send paid a wake-up for). */
void test_plain_observer_naps_until_its_wake_threshold(void)
{
    napping_fixture f;
    /* wake_at counts index entries (sipc_ring_fill): a 64 B message of the pair fills more than one. */
    const uint32_t wake_at = 6;
    const uint64_t batch = observed_messages_to_fill(wake_at);
    CHECK(batch > 1 && batch < wake_at);
    napping_fixture_open_with(&f, test_name("pnap"), 1 + batch * 3, 1, wake_at);
    if (!test_failed())
        CHECK(__atomic_load_n(&f.record->wake_at, __ATOMIC_ACQUIRE) == wake_at);
    wake_at_rounds(&f, batch, 3);
    napping_fixture_close(&f);
}

/* A lossless observer may ask to be woken only when the ring (all observed_history() of it, not the queue's depth) is
 * full: the send that fills it wakes it, and the sends before cost nothing. It still copies every message (the
 * producer waits for it once the ring is full). */
void test_lossless_observer_naps_until_a_full_ring(void)
{
    /* A full ring is the whole index in wake_at's unit (sipc_ring_fill): the pair's history of messages. */
    const uint64_t slots = observed_history();
    CHECK(observed_messages_to_fill(observed_index_count()) == slots);
    napping_fixture f;
    napping_fixture_open_with(&f, test_name("lnapfull"), 1 + slots * 2, 0, observed_index_count());
    wake_at_rounds(&f, slots, 2);
    napping_fixture_close(&f);
}

/* wake_at is untrusted like the rest of a record: 0 (an observer that predates it) is half a ring, more than a ring is
 * a ring, a ring being the observed_history() slots (a threshold past the queue's depth of 4 stands). A forged napping
 * flag on a free record shows what the producer applies: wake-ups counted, no timing. */
void test_garbage_wake_threshold_is_clamped(void)
{
    const char *name = test_name("wakeclamp");
    sipc_channel *server = NULL, *client = NULL;
    observed_pair_open(name, &server, &client); /* depth 4, observed_history() slots, no observer */
    if (test_failed())
        return;
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    if (test_failed())
        return;
    seg_header *h = (seg_header *)map.base;
    seg_observer *record = &h->observers[0]; /* FREE: nobody's record */
    /* In index entries (sipc_ring_fill), as the producer applies it; each case's send that reaches it is
     * observed_messages_to_fill(applied). */
    const uint32_t slots = observed_index_count();
    CHECK(slots > observed_history()); /* the pair's messages fill the ring's bytes before its index */
    const struct {
        uint32_t wake_at;
        uint64_t applied;
    } cases[] = {{0xffffffffu, slots}, {slots + 1, slots}, {slots, slots}, {0, slots / 2}, {1, 1}, {3, 3}, {5, 5}};
    uint64_t i = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0] && !test_failed(); c++) {
        __atomic_store_n(&record->wake_at, cases[c].wake_at, __ATOMIC_RELEASE);
        __atomic_store_n(&record->cursor[SIPC_DIR_TO_CLIENT], i, __ATOMIC_RELEASE);
        __atomic_store_n(&record->napping, 1u, __ATOMIC_RELEASE);
        sipc_wait_stats before, after;
        sipc_channel_wait_stats(server, &before);
        const uint64_t sends = observed_messages_to_fill(cases[c].applied);
        for (uint64_t k = 1; k < sends; k++)
            CHECK_RC(observed_pass(server, client, i++, 1000), SIPC_OK);
        sipc_channel_wait_stats(server, &after);
        CHECK(after.observer_wakes == before.observer_wakes);
        CHECK(__atomic_load_n(&record->napping, __ATOMIC_ACQUIRE) == 1);
        CHECK_RC(observed_pass(server, client, i++, 1000), SIPC_OK);
        sipc_channel_wait_stats(server, &after);
        if (after.observer_wakes != before.observer_wakes + 1)
            test_fail(__FILE__, __LINE__, "wake_at %u: not woken by send %llu", cases[c].wake_at,
                      (unsigned long long)sends);
        CHECK(__atomic_load_n(&record->napping, __ATOMIC_ACQUIRE) == 0);
    }
    raw_close(&map);
    observed_pair_close(NULL, server, client);
}

/* A lossless observer copies every message whatever threshold it asks for, garbage included (the producers wait for
 * it at a full ring; its own nap ends at what they apply), with the short naps of every observer. */
void test_lossless_never_misses_at_any_wake_threshold(void)
{
    const uint32_t thresholds[] = {1, 2, 3, 4, 0, 5, 0xffffffffu};
    for (size_t t = 0; t < sizeof thresholds / sizeof thresholds[0] && !test_failed(); t++) {
        char base[32];
        snprintf(base, sizeof base, "lwake%zu", t);
        const char *name = test_name(base);
        sipc_channel *server = NULL, *client = NULL;
        sipc_observer *ob = lossless_pair_open(name, 0, SIPC_OBSERVE_STALL_MAX_MS, &server, &client);
        if (test_failed())
            return;
        sipc_observer_fix_wake_at(ob, thresholds[t]);
        napping_observer no = {ob, 300, 0, SIPC_OK};
        sipc_os_thread observer_thread;
        CHECK(sipc_os_thread_create(&observer_thread, observe_count, &no) == SIPC_OK);
        CHECK_RC(observed_passes(server, client, 0, no.count, 10000), SIPC_OK);
        if (test_failed())
            sipc_observer_cancel(ob);
        sipc_os_thread_join(&observer_thread);
        if (!test_failed()) {
            CHECK_RC(no.status, SIPC_OK);
            CHECK(no.seen == no.count);
        }
        observed_pair_close(ob, server, client);
    }
}

/* A plain observer that asked to be woken only after 3 messages still sees a burst of one when the channel then goes
 * quiet: its nap is bounded, and it copies what came when it ends (no producer wakes it for fewer than 3). */
void test_plain_observer_sees_the_tail_of_a_short_burst(void)
{
    const char *name = test_name("ptail");
    sipc_channel *server = NULL, *client = NULL;
    observed_pair_open(name, &server, &client);
    sipc_observer *ob = NULL;
    if (!test_failed())
        CHECK_RC(sipc_observe(name, &ob), SIPC_OK);
    if (test_failed())
        return;
    CHECK(sipc_observer_record_index(ob) >= 0);
    sipc_observer_fix_wake_at(ob, 3);
    napping_observer no = {ob, 5, 0, SIPC_OK};
    sipc_os_thread observer_thread;
    CHECK(sipc_os_thread_create(&observer_thread, observe_count, &no) == SIPC_OK);
    for (uint64_t i = 0; i < no.count && !test_failed(); i++) {
        /* One message at a time, each after the observer copied the one before (so it naps with one uncopied). */
        CHECK_RC(observed_pass(server, client, i, 1000), SIPC_OK);
        for (int k = 0; k < 20000 && __atomic_load_n(&no.seen, __ATOMIC_ACQUIRE) == i &&
                        __atomic_load_n(&no.status, __ATOMIC_ACQUIRE) == SIPC_OK;
             k++)
            sleep_ms(1);
        CHECK(__atomic_load_n(&no.seen, __ATOMIC_ACQUIRE) == i + 1);
    }
    if (test_failed())
        sipc_observer_cancel(ob);
    sipc_os_thread_join(&observer_thread);
    CHECK_RC(no.status, SIPC_OK);
    observed_pair_close(ob, server, client);
}

/* Plain observers take only records nobody uses, and a lossless observer takes a plain one's record when none is free:
 * that plain observer then sleeps on the observer word, and both still see every message. */
void test_lossless_observer_takes_a_plain_observers_record(void)
{
    const char *name = test_name("ptake");
    sipc_channel *server = NULL, *client = NULL;
    observed_pair_open(name, &server, &client);
    sipc_observer *plain[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3 && !test_failed(); k++)
        CHECK_RC(sipc_observe(name, &plain[k]), SIPC_OK);
    if (!test_failed()) {
        /* Two records: the first two plain observers have one each, the third none. */
        CHECK(sipc_observer_record_index(plain[0]) == 1 && sipc_observer_record_index(plain[1]) == 0);
        CHECK(sipc_observer_record_index(plain[2]) == -1);
    }
    sipc_observe_options options = lossless_options(0, SIPC_OBSERVE_STALL_MAX_MS);
    sipc_observer *lossless = NULL;
    if (!test_failed())
        CHECK_RC(sipc_observe_ex(name, &options, &lossless), SIPC_OK);
    if (!test_failed()) {
        CHECK(sipc_observer_record_index(lossless) == 0);
        /* fewer than a ring (observed_history()): no observer misses one */
        CHECK_RC(observed_passes(server, client, 0, 4, 1000), SIPC_OK);
        sipc_observer *all[4] = {plain[0], plain[1], plain[2], lossless};
        for (int k = 0; k < 4 && !test_failed(); k++) {
            uint8_t buffer[64];
            for (uint64_t expected = 0; expected < 4 && !test_failed(); expected++) {
                sipc_observed_message m = {.struct_size = sizeof m};
                CHECK_RC(sipc_observer_next(all[k], buffer, sizeof buffer, &m, 1000), SIPC_OK);
                CHECK(m.sequence == expected && message_check(buffer, 64, 12, expected));
            }
        }
        /* The plain observer that lost its record found out and does without. */
        CHECK(sipc_observer_record_index(plain[1]) == -1);
        CHECK(sipc_observer_record_index(plain[0]) == 1);
    }
    if (lossless != NULL)
        CHECK_RC(sipc_observer_close(lossless), SIPC_OK);
    for (int k = 0; k < 3; k++)
        if (plain[k] != NULL)
            CHECK_RC(sipc_observer_close(plain[k]), SIPC_OK);
    observed_pair_close(NULL, server, client);
}

/* A plain observer's threshold adapts: a look after a nap that finds messages gone halves it (down to 1, woken by the
 * first message as before naps), and 64 naps in a row without a miss raise it by one, never past its quarter ring. */
void test_plain_wake_threshold_adapts_to_misses(void)
{
    uint32_t clean = 0;
    CHECK(sipc_observer_adapt_wake_at(4, 4, &clean, 1) == 2 && clean == 0);
    CHECK(sipc_observer_adapt_wake_at(2, 4, &clean, 1) == 1);
    CHECK(sipc_observer_adapt_wake_at(1, 4, &clean, 1) == 1);
    uint32_t wake_at = 1;
    int raised_after = 0;
    for (int nap = 1; nap <= 64 && raised_after == 0; nap++) {
        wake_at = sipc_observer_adapt_wake_at(wake_at, 4, &clean, 0);
        if (wake_at != 1)
            raised_after = nap;
    }
    CHECK(raised_after == 64 && wake_at == 2 && clean == 0);
    for (int nap = 0; nap < 10 * 64; nap++)
        wake_at = sipc_observer_adapt_wake_at(wake_at, 4, &clean, 0);
    CHECK(wake_at == 4); /* at its most: it stays */
    /* A miss in between starts the count again. */
    wake_at = sipc_observer_adapt_wake_at(wake_at, 4, &clean, 1);
    for (int nap = 0; nap < 63; nap++)
        wake_at = sipc_observer_adapt_wake_at(wake_at, 4, &clean, 0);
    CHECK(wake_at == 2);
    wake_at = sipc_observer_adapt_wake_at(wake_at, 4, &clean, 1);
    CHECK(wake_at == 1 && clean == 0);
}

#if defined(__linux__) /* the nap's futex, woken by hand */
typedef struct one_look {
    sipc_observer *observer;
    sipc_observed_message message;
    int status; /* atomic; -1000 until the call returned */
} one_look;

static void *observe_once(void *arg)
{
    one_look *look = arg;
    uint8_t buffer[64];
    look->message = (sipc_observed_message){.struct_size = sizeof look->message};
    int rc = sipc_observer_next(look->observer, buffer, sizeof buffer, &look->message, 20000);
    __atomic_store_n(&look->status, rc, __ATOMIC_RELEASE);
    return NULL;
}

/* The threshold a plain observer adapts is what the producers read: one that finds messages gone after a nap publishes
 * a lower wake_at in its record. It naps having asked for 3 (of a ring of observed_history()); the test hides it from the
 * producer (a cursor past head in its record: never behind), sends a ring and 2 more and wakes it by hand, so that it
 * finds 2 gone. */
void test_plain_observer_lowers_its_published_threshold_after_a_miss(void)
{
    const char *name = test_name("padapt");
    sipc_channel *server = NULL, *client = NULL;
    observed_pair_open(name, &server, &client);
    sipc_observer *ob = NULL;
    if (!test_failed())
        CHECK_RC(sipc_observe(name, &ob), SIPC_OK);
    if (test_failed())
        return;
    sipc_observer_fix_wake_at(ob, 3);
    sipc_observer_fix_nap(ob, 60000);
    int r = sipc_observer_record_index(ob);
    CHECK(r >= 0);
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    if (test_failed())
        return;
    seg_header *h = (seg_header *)map.base;
    seg_observer *record = &h->observers[r];
    uint32_t *word = &h->wait_word[SIPC_WAIT_RECORD(r)];
    uint8_t buffer[64];
    sipc_observed_message m = {.struct_size = sizeof m};
    CHECK_RC(observed_pass(server, client, 0, 1000), SIPC_OK);
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 1000), SIPC_OK);
    CHECK(m.sequence == 0 && __atomic_load_n(&record->wake_at, __ATOMIC_ACQUIRE) == 3);
    sipc_observer_stats stats = {.struct_size = sizeof stats};
    CHECK_RC(sipc_observer_get_stats(ob, &stats), SIPC_OK);
    const uint64_t sleeps_before = stats.sleeps;
    one_look look = {ob, {0}, -1000};
    sipc_os_thread thread;
    CHECK(sipc_os_thread_create(&thread, observe_once, &look) == SIPC_OK);
    if (test_failed())
        return;
    /* Traffic flowed: with nothing uncopied the call naps. The flag goes up before its last look, and the sleep is
     * counted after it: both, or the sends below could still come before that look (which would copy them at once). */
    int napping = 0;
    for (int k = 0; k < 20000 && !napping; k++) {
        CHECK_RC(sipc_observer_get_stats(ob, &stats), SIPC_OK);
        napping = __atomic_load_n(&record->napping, __ATOMIC_ACQUIRE) != 0 && stats.sleeps == sleeps_before + 1;
        if (!napping)
            sleep_ms(1);
    }
    CHECK(napping);
    __atomic_store_n(&record->cursor[SIPC_DIR_TO_CLIENT], 1000000, __ATOMIC_RELEASE);
    for (uint64_t i = 1; i <= observed_history() + 2; i++)
        CHECK_RC(observed_pass(server, client, i, 1000), SIPC_OK);
    CHECK(__atomic_load_n(&look.status, __ATOMIC_ACQUIRE) == -1000); /* still napping: nobody woke it */
    /* It may not have reached its futex wait yet: the moved word then ends that wait at once (0 woken, not 1). */
    __atomic_add_fetch(word, 1u, __ATOMIC_SEQ_CST);
    CHECK(syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0) >= 0);
    sipc_os_thread_join(&thread);
    CHECK_RC(look.status, SIPC_OK);
    CHECK(look.message.sequence == 3 && look.message.missed == 2);
    CHECK(__atomic_load_n(&record->wake_at, __ATOMIC_ACQUIRE) == 1);
    raw_close(&map);
    observed_pair_close(ob, server, client);
}
#endif

/* The history of a ring in messages of `length` bytes: as many of their records as its bytes hold, up to its index. */
static uint64_t history_of(const seg_geometry *g, uint32_t length)
{
    uint64_t by_bytes = g->ring_bytes / sipc_record_size(length);
    return by_bytes < g->index_count ? by_bytes : g->index_count;
}

/* sipc_modulo takes a mask for a power-of-two divisor and a division for any other (README, "Session 14"): both give
 * value % divisor, up to the largest values. sipc_index_entry finds message seq's entry at index[seq % index_count] and
 * sipc_record_at a position's record at ring_offset + pos % ring_bytes, for index counts and ring sizes of each kind
 * (64 B messages: depths not a power of two give neither), up to the largest sequence numbers and positions. And a
 * lossless observer of a ring of each kind copies every message, in order, while the producer it holds back (a ring's
 * history ahead of it) wraps the ring many times. */
void test_lossless_slots_of_every_depth(void)
{
    static const uint64_t divisors[] = {1, 2, 3, 64, 384, 4096, 1049600, 1ull << 20, 819200};
    static const uint64_t values[] = {0, 1, 63, 64, 4095, 4096, 1049599, 1049600, 1ull << 40, SIPC_RING_POSITION_MAX,
                                      UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof divisors / sizeof divisors[0]; i++)
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++)
            if (sipc_modulo(values[v], divisors[i]) != values[v] % divisors[i])
                test_fail(__FILE__, __LINE__, "sipc_modulo(%llu, %llu)", (unsigned long long)values[v],
                          (unsigned long long)divisors[i]);
    static const uint32_t depths[] = {1, 2, 3, 4, 5, 7, 8, 12, 16, 100, 256, SIPC_MAX_QUEUE_DEPTH};
    static const uint64_t starts[] = {0, 1000003, UINT64_MAX - 600};
    for (size_t k = 0; k < sizeof depths / sizeof depths[0] && !test_failed(); k++) {
        seg_geometry g;
        CHECK_RC(sipc_geometry_for(64, depths[k], &g), SIPC_OK);
        uint8_t *base = malloc((size_t)g.segment_size); /* never touched: only addresses within it are compared */
        CHECK(base != NULL);
        if (test_failed())
            return;
        for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++)
            for (uint64_t seq = starts[s]; seq - starts[s] < 600; seq++)
                for (int d = 0; d < 2; d++) {
                    uint64_t entry = g.index_offset[d] + sizeof(uint64_t) * (seq % g.index_count);
                    /* Positions: multiples of 64 from 0, from far in, and up to the largest a ring may reach. */
                    uint64_t pos = s == 0   ? seq * SIPC_SLOT_ALIGN
                                   : s == 1 ? (seq << 20) * SIPC_SLOT_ALIGN
                                            : SIPC_RING_POSITION_MAX - (UINT64_MAX - seq) * SIPC_SLOT_ALIGN;
                    uint64_t record = g.ring_offset[d] + pos % g.ring_bytes;
                    if ((uint64_t)((uint8_t *)sipc_index_entry(base, &g, d, seq) - base) != entry ||
                        (uint64_t)((uint8_t *)sipc_record_at(base, &g, d, pos) - base) != record ||
                        record + SIPC_SLOT_HEADER_SIZE > g.ring_offset[d] + g.ring_bytes) {
                        test_fail(__FILE__, __LINE__, "depth %u seq %llu pos %llu: wrong entry or record",
                                  (unsigned)depths[k], (unsigned long long)seq, (unsigned long long)pos);
                        free(base);
                        return;
                    }
                }
        free(base);
    }
    static const uint32_t ring_depths[] = {3, 5, 8}; /* 64 B messages: histories of 192, 320 and 512 */
    for (size_t k = 0; k < sizeof ring_depths / sizeof ring_depths[0]; k++) {
        const char *name = test_name("lslots");
        seg_geometry g;
        CHECK_RC(sipc_geometry_for(64, ring_depths[k], &g), SIPC_OK);
        const uint64_t ring = history_of(&g, 64);
        CHECK(ring == 64u * ring_depths[k]);
        sipc_options o = options_with(64, ring_depths[k]);
        sipc_channel *server = NULL, *client = NULL;
        sipc_observer *ob = NULL;
        CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
        CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
        CHECK_RC(sipc_connect(server, 1000), SIPC_OK);
        sipc_observe_options oo = lossless_options(0, SIPC_OBSERVE_STALL_MAX_MS);
        CHECK_RC(sipc_observe_ex(name, &oo, &ob), SIPC_OK);
        if (test_failed())
            return;
        const uint64_t total = 11u * ring;
        /* The observer stores its cursor per run of copies, at least every eighth of a ring (observer.c,
         * publish_cursor_lazily; an eighth of the index in sipc_ring_fill, here an eighth of the history, the records
         * filling the ring's bytes before its index): the producer it holds may lag its copies by less than that. */
        const uint64_t lag = ring / 8 ? ring / 8 : 1;
        uint64_t sent = 0, seen = 0;
        /* A ring's worth (the reader takes each: the queue's depth never stops a send), then the producer is held back
         * until the observer copies; eleven rings in all. */
        for (; sent < ring; sent++)
            CHECK_RC(observed_pass(server, client, sent, 0), SIPC_OK);
        CHECK_RC(observed_pass(server, client, sent, 0), SIPC_ERR_TIMEOUT);
        while (seen < total && !test_failed()) {
            uint8_t buffer[64];
            sipc_observed_message m = {.struct_size = sizeof m};
            CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 1000), SIPC_OK);
            CHECK(m.kind == SIPC_OBSERVED_MESSAGE && m.sequence == seen && m.missed == 0 && m.length == 64 &&
                  message_check(buffer, 64, 12, seen));
            seen++;
            /* As many as the observer lets through: never more than a ring ahead of its copies, and held back only
             * once less than `lag` short of that. */
            int rc = SIPC_OK;
            while (sent < total && (rc = observed_pass(server, client, sent, 0)) == SIPC_OK)
                sent++;
            CHECK(sent <= seen + ring);
            if (sent < total) {
                CHECK_RC(rc, SIPC_ERR_TIMEOUT);
                CHECK(sent + lag > seen + ring);
            }
        }
        observed_pair_close(ob, server, client);
    }
}

/* The history rule (layout.h, SIPC_HISTORY_*): a ring has ring_bytes = queue_depth * slot_size * k bytes, k the largest
 * power of two up to SIPC_HISTORY_MAX_RINGS for which the ring stays within SIPC_HISTORY_BYTES (k = 1 when the queue
 * alone is over it), and an index of index_count = queue_depth * j entries, j the largest power of two keeping them
 * within SIPC_HISTORY_MAX_SLOTS and within one per 64 ring bytes; the segment is the header and two (index, ring)
 * pairs, each index rounded up to 64 bytes. Each case also names the ring and index worked out by hand, so the rule is
 * not only checked against itself, and the history of the channel's smallest and largest messages. */
void test_history_geometry_rule(void)
{
    static const struct {
        uint32_t max_message, depth;
        uint64_t ring_bytes;
        uint32_t index_count;
        uint64_t history_empty, history_max; /* messages of 0 bytes, of max_message */
    } cases[] = {
        {64, 4, 32768, 512, 512, 256},      /* observed_pair_open's: k = 64; j by the ring's bytes (512 * 64) */
        {0, 1, 4096, 64, 64, 64},           /* the smallest record: k = 64 */
        {100, 3, 36864, 384, 384, 192},     /* a depth not a power of two: k = 64, 3 * 256 > 36864 / 64 */
        {64, 100, 819200, 3200, 3200, 3200}, /* the entries bound: 100 * 32 <= 4096 < 100 * 64 */
        {4096, 4, 532480, 4096, 4096, 128}, /* the bytes bound: 4 * 4160 * 32 <= 1 MiB < 4 * 4160 * 64 */
        {SIPC_DEFAULT_MAX_MESSAGE, SIPC_DEFAULT_QUEUE_DEPTH, 1049600, 4096, 4096, 16}, /* one queue is over 1 MiB */
        {64, 16, 131072, 2048, 2048, 1024},                                             /* 64 B x 16: 128 KiB */
        {64, SIPC_MAX_QUEUE_DEPTH, 1048576, SIPC_MAX_QUEUE_DEPTH, 4096, 4096}, /* k = 2; the depth alone is the entries bound */
        {1024 * 1024, 1, 1048640, 4096, 4096, 1},                             /* one record is over 1 MiB */
        {16320, 16, 1048576, 4096, 4096, 64}, /* records of 16 KiB: 16 * 16 KiB * 4 = 1 MiB exactly */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0] && !test_failed(); c++) {
        seg_geometry g;
        CHECK_RC(sipc_geometry_for(cases[c].max_message, cases[c].depth, &g), SIPC_OK);
        const uint64_t slot = ((uint64_t)SIPC_SLOT_HEADER_SIZE + cases[c].max_message + SIPC_SLOT_ALIGN - 1) /
                              SIPC_SLOT_ALIGN * SIPC_SLOT_ALIGN;
        const uint64_t queue = slot * cases[c].depth;
        CHECK(g.queue_depth == cases[c].depth && g.slot_size == slot && sipc_record_size(cases[c].max_message) == slot);
        CHECK(g.ring_bytes % queue == 0 && g.index_count % cases[c].depth == 0);
        const uint64_t k = g.ring_bytes / queue, j = g.index_count / cases[c].depth;
        /* Powers of two within the bounds, or 1. */
        CHECK(k >= 1 && (k & (k - 1)) == 0 && k <= SIPC_HISTORY_MAX_RINGS);
        CHECK(k == 1 || g.ring_bytes <= SIPC_HISTORY_BYTES);
        CHECK(j >= 1 && (j & (j - 1)) == 0);
        CHECK(j == 1 || (g.index_count <= SIPC_HISTORY_MAX_SLOTS && (uint64_t)g.index_count * 64 <= g.ring_bytes));
        /* The largest: twice as many would break a bound. */
        CHECK(2 * k > SIPC_HISTORY_MAX_RINGS || queue * 2 * k > SIPC_HISTORY_BYTES);
        CHECK((uint64_t)cases[c].depth * 2 * j > SIPC_HISTORY_MAX_SLOTS ||
              (uint64_t)cases[c].depth * 2 * j * 64 > g.ring_bytes);
        if (g.ring_bytes != cases[c].ring_bytes || g.index_count != cases[c].index_count)
            test_fail(__FILE__, __LINE__, "max_message %u depth %u: ring %llu B, index %u, expected %llu B, %u",
                      (unsigned)cases[c].max_message, (unsigned)cases[c].depth, (unsigned long long)g.ring_bytes,
                      (unsigned)g.index_count, (unsigned long long)cases[c].ring_bytes, (unsigned)cases[c].index_count);
        CHECK(history_of(&g, 0) == cases[c].history_empty && history_of(&g, cases[c].max_message) == cases[c].history_max);
        /* The queue's depth of the largest messages always fits. */
        CHECK(history_of(&g, cases[c].max_message) >= cases[c].depth);
        const uint64_t index = ((uint64_t)g.index_count * 8 + 63) / 64 * 64;
        CHECK(g.index_offset[0] == SIPC_HEADER_SIZE && g.ring_offset[0] == SIPC_HEADER_SIZE + index);
        CHECK(g.index_offset[1] == SIPC_HEADER_SIZE + index + g.ring_bytes &&
              g.ring_offset[1] == SIPC_HEADER_SIZE + 2 * index + g.ring_bytes);
        CHECK(g.segment_size == SIPC_HEADER_SIZE + 2 * (index + g.ring_bytes));
        CHECK(g.frontier_step % SIPC_SLOT_ALIGN == 0 && g.frontier_step <= g.ring_bytes / 8 &&
              g.frontier_step + SIPC_SLOT_ALIGN > g.ring_bytes / 8);
    }
    CHECK(observed_history() == cases[0].history_max);
}

/* A lossless observer that does not copy holds the producer back after exactly a ring of observed_history() messages,
 * although the reader took each (so the queue's depth of 4 never stops a send): the observer's cursor alone holds the
 * next slot. A copy lets at most one more through (the observer may store its cursor later, observer.c
 * publish_cursor_lazily); once it copied all that was sent, exactly a ring more goes through. */
void test_lossless_holds_the_producer_after_a_ring_of_slots(void)
{
    const char *name = test_name("lhistory");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = lossless_pair_open(name, 0, SIPC_OBSERVE_STALL_MAX_MS, &server, &client);
    if (test_failed())
        return;
    const uint64_t slots = observed_history();
    uint64_t sent = 0;
    for (; sent < slots && !test_failed(); sent++)
        CHECK_RC(observed_pass(server, client, sent, 0), SIPC_OK);
    CHECK_RC(observed_pass(server, client, sent, 0), SIPC_ERR_TIMEOUT);
    uint64_t seen = 0;
    for (int round = 0; round < 2 && !test_failed(); round++) {
        /* It copies every message sent, in order, none missed; after its first copy, at most one more fits. */
        for (; seen < sent && !test_failed(); seen++) {
            uint8_t buffer[64];
            sipc_observed_message m = {.struct_size = sizeof m};
            CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 1000), SIPC_OK);
            CHECK(m.kind == SIPC_OBSERVED_MESSAGE && m.sequence == seen && m.missed == 0 &&
                  message_check(buffer, 64, 12, seen));
            if (seen == 0) {
                int rc = observed_pass(server, client, sent, 0);
                CHECK(rc == SIPC_OK || rc == SIPC_ERR_TIMEOUT);
                if (rc == SIPC_OK)
                    sent++;
                CHECK_RC(observed_pass(server, client, sent, 0), SIPC_ERR_TIMEOUT);
            }
        }
        /* All copied: exactly a ring more, then held again. */
        const uint64_t start = sent;
        for (; sent < start + slots && !test_failed(); sent++)
            CHECK_RC(observed_pass(server, client, sent, 0), SIPC_OK);
        CHECK_RC(observed_pass(server, client, sent, 0), SIPC_ERR_TIMEOUT);
    }
    observed_pair_close(ob, server, client);
}
