/*
 * test_observer.c — read-only observers following live traffic.
 */
#include "harness.h"
#include "observe_helpers.h"
#include "layout.h"
#include "platform.h"
#include "sipc_async.h"
#include "test_hooks.h"
#include "waiting.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void test_observer_follows_both_directions(void)
{
    const char *name = test_name("obs");
    sipc_options o = options_with(256, 4);
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = NULL;
    CHECK_RC(sipc_observe(name, &ob), SIPC_ERR_NOT_FOUND);
    CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_connect(server, 1000), SIPC_OK);
    CHECK_RC(sipc_connect(client, 1000), SIPC_OK);
    /* Traffic from before the observer attached is not reported. */
    CHECK_RC(sipc_send(server, "old", 3, 0), SIPC_OK);
    CHECK_RC(sipc_observe(name, &ob), SIPC_OK);
    uint8_t buffer[256];
    sipc_observed_message m = {.struct_size = sizeof m};
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_ERR_TIMEOUT);

    const struct {
        int from_server;
        uint32_t size;
    } plan[] = {{1, 10}, {0, 0}, {0, 200}, {1, 256}, {0, 1}};
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
        message_fill(buffer, plan[i].size, 9, i);
        CHECK_RC(sipc_send(plan[i].from_server ? server : client, buffer, plan[i].size, 0), SIPC_OK);
        sleep_ms(2); /* distinct send times across directions */
    }
    uint64_t expected_sequence[2] = {1, 0}; /* "old" was sequence 0 toward the client */
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
        memset(buffer, 0, sizeof buffer);
        CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 1000), SIPC_OK);
        int direction = plan[i].from_server ? SIPC_DIR_TO_CLIENT : SIPC_DIR_TO_SERVER;
        CHECK(m.direction == direction);
        CHECK(m.length == plan[i].size && m.copied == plan[i].size);
        CHECK(m.missed == 0);
        CHECK(m.sequence == expected_sequence[direction]);
        CHECK(m.timestamp_ns > 0);
        expected_sequence[direction]++;
        CHECK(message_check(buffer, plan[i].size, 9, i));
    }
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 50), SIPC_ERR_TIMEOUT);
    /* Observing consumed nothing: the peers still receive everything. */
    size_t length;
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_OK);
    CHECK(length == 3 && memcmp(buffer, "old", 3) == 0);
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_OK);
    CHECK(length == 10);
    /* Truncation to the caller's capacity. */
    CHECK_RC(sipc_send(client, "0123456789", 10, 0), SIPC_OK);
    CHECK_RC(sipc_observer_next(ob, buffer, 4, &m, 1000), SIPC_OK);
    CHECK(m.length == 10 && m.copied == 4 && memcmp(buffer, "0123", 4) == 0);
    for (int i = 0; i < 4; i++)
        CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 0), SIPC_OK);
    CHECK_RC(sipc_send(client, "z", 1, 0), SIPC_OK);
    CHECK_RC(sipc_observer_next(ob, NULL, 0, &m, 1000), SIPC_OK);
    CHECK(m.length == 1 && m.copied == 0);
    sipc_channel_info info = {.struct_size = sizeof info - 1};
    CHECK_RC(sipc_observer_info(ob, &info), SIPC_ERR_INVALID_ARGUMENT);
    info.struct_size = sizeof info;
    CHECK_RC(sipc_observer_info(ob, &info), SIPC_OK);
    sipc_observed_message unsized = {.struct_size = 0};
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &unsized, 0), SIPC_ERR_INVALID_ARGUMENT);
    CHECK(info.state == SIPC_STATE_CONNECTED && strcmp(info.name, name) == 0);
    /* Cancel is sticky for the observer. */
    CHECK_RC(sipc_observer_cancel(ob), SIPC_OK);
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 1000), SIPC_ERR_CANCELLED);
    CHECK_RC(sipc_observer_close(ob), SIPC_OK);

    /* When the channel goes away, a waiting observer says so. */
    CHECK_RC(sipc_observe(name, &ob), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 3000), SIPC_ERR_NOT_FOUND);
    CHECK_RC(sipc_observer_close(ob), SIPC_OK);
    CHECK_RC(sipc_observer_close(NULL), SIPC_ERR_INVALID_ARGUMENT);
}

void test_observer_counts_missed(void)
{
    const char *name = test_name("obsmiss");
    sipc_options o = options_with(64, 4);
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = NULL;
    CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_connect(server, 1000), SIPC_OK);
    const uint64_t before_attach = now_ns();
    CHECK_RC(sipc_observe(name, &ob), SIPC_OK);
    const uint64_t slots = observed_history(); /* the pair's geometry: 64 B messages, depth 4 */
    uint8_t buffer[64];
    size_t length;
    for (uint64_t i = 0; i < slots + 16; i++) {
        message_fill(buffer, 64, 4, i);
        CHECK_RC(sipc_send(server, buffer, 64, 0), SIPC_OK);
        CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_OK);
    }
    /* The ring's `slots` slots still hold messages 16..slots+15; 0..15 were overwritten. */
    sipc_observed_message m = {.struct_size = sizeof m};
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_OK);
    const uint64_t after_first_look = now_ns();
    CHECK(m.sequence == 16 && m.missed == 16);
    CHECK(message_check(buffer, 64, 4, 16));
    /* The first call found them gone: the gap before that miss runs from the attach, which read the heads. */
    sipc_observer_stats stats = {.struct_size = sizeof stats};
    CHECK_RC(sipc_observer_get_stats(ob, &stats), SIPC_OK);
    CHECK(stats.missed == 16 && stats.missed_away == 16);
    CHECK(stats.longest_miss_gap_ns > 0 && stats.longest_miss_gap_ns <= after_first_look - before_attach);
    for (uint64_t i = 17; i < slots + 16; i++) {
        CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_OK);
        CHECK(m.sequence == i && m.missed == 0 && message_check(buffer, 64, 4, i));
    }
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_ERR_TIMEOUT);
    observed_pair_close(ob, server, client);
}

/* A ring keeps a history (PROTOCOL.md section 2, "Records, index and history"): it holds the last observed_history()
 * messages of the pair, far more than the queue's depth of 4. A plain observer that falls behind by more than the depth
 * but no more than the history misses nothing, every message given in order; one that falls further behind misses
 * exactly the messages beyond the history, and is then given the rest in order. */
void test_plain_observer_finds_the_ring_history(void)
{
    const char *name = test_name("obshist");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = NULL;
    observed_pair_open(name, &server, &client);
    if (test_failed())
        return;
    CHECK_RC(sipc_observe(name, &ob), SIPC_OK);
    const uint64_t slots = observed_history();
    /* How far behind the observer falls each time (every message taken by the reader meanwhile), and what it then
     * misses. */
    const struct {
        uint64_t behind, missed;
    } plan[] = {{5, 0}, {slots / 2, 0}, {slots - 1, 0}, {slots, 0}, {slots + 1, 1}, {slots + 7, 7}, {2 * slots, slots}};
    uint8_t buffer[64];
    sipc_observed_message m = {.struct_size = sizeof m};
    uint64_t sent = 0, missed = 0;
    for (size_t p = 0; p < sizeof plan / sizeof plan[0]; p++) {
        const uint64_t first = sent;
        for (uint64_t i = 0; i < plan[p].behind; i++, sent++)
            CHECK_RC(observed_pass(server, client, sent, 0), SIPC_OK);
        CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_OK);
        CHECK(m.kind == SIPC_OBSERVED_MESSAGE && m.direction == SIPC_DIR_TO_CLIENT);
        CHECK(m.sequence == first + plan[p].missed && m.missed == plan[p].missed);
        CHECK(m.length == 64 && message_check(buffer, 64, 12, m.sequence));
        missed += m.missed;
        for (uint64_t i = first + plan[p].missed + 1; i < sent; i++) {
            CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_OK);
            CHECK(m.sequence == i && m.missed == 0 && m.length == 64 && message_check(buffer, 64, 12, i));
        }
        CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_ERR_TIMEOUT);
    }
    sipc_observer_stats stats = {.struct_size = sizeof stats};
    CHECK_RC(sipc_observer_get_stats(ob, &stats), SIPC_OK);
    CHECK(missed == 8 + slots);
    CHECK(stats.missed == missed && stats.messages == sent - missed);
    observed_pair_close(ob, server, client);
}

/* A thread that waits for one message (sipc_observer_next), for test_observer_stats_say_why_it_missed. */
typedef struct waiting_observer {
    sipc_observer *observer;
    int status;
} waiting_observer;

static void *observe_one_message(void *arg)
{
    waiting_observer *w = arg;
    uint8_t buffer[64];
    sipc_observed_message m = {.struct_size = sizeof m};
    w->status = sipc_observer_next(w->observer, buffer, sizeof buffer, &m, 20000);
    return NULL;
}

void test_observer_stats_say_why_it_missed(void)
{
    const char *name = test_name("obsstats");
    sipc_channel *server = NULL, *client = NULL;
    observed_pair_open(name, &server, &client);
    if (test_failed())
        return;
    CHECK_RC(sipc_connect(client, 1000), SIPC_OK);
    sipc_observer *ob = NULL;
    CHECK_RC(sipc_observe(name, &ob), SIPC_OK);
    sipc_observer_stats stats = {.struct_size = sizeof stats - 1};
    CHECK_RC(sipc_observer_get_stats(ob, &stats), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_observer_get_stats(NULL, &stats), SIPC_ERR_INVALID_ARGUMENT);
    stats.struct_size = sizeof stats;
    CHECK_RC(sipc_observer_get_stats(ob, &stats), SIPC_OK);
    CHECK(stats.messages == 0 && stats.missed == 0 && stats.sleeps == 0);

    /* 16 messages more than the ring's slots before the observer's first call: the 16 overwritten ones were lost while
     * the caller kept the observer away. */
    const uint64_t slots = observed_history();
    CHECK_RC(observed_passes(server, client, 0, slots + 16, 0), SIPC_OK);
    uint8_t buffer[64];
    sipc_observed_message m = {.struct_size = sizeof m};
    for (uint64_t i = 16; i < slots + 16; i++) {
        CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_OK);
        CHECK(m.sequence == i);
    }
    CHECK_RC(sipc_observer_get_stats(ob, &stats), SIPC_OK);
    CHECK(stats.messages == slots && stats.missed == 16 && stats.missed_away == 16);
    CHECK(stats.missed_asleep == 0 && stats.missed_running == 0 && stats.sleeps == 0);

    /* A sleep that a send ends: counted as woken, and its wake-up timed from that message's send. */
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    const seg_header *h = (const seg_header *)map.base;
    waiting_observer w = {ob, -1};
    sipc_os_thread thread;
    CHECK(sipc_os_thread_create(&thread, observe_one_message, &w) == SIPC_OK);
    /* The observer raises the flag, looks once more, counts the sleep and sleeps (no timing: the states are waited for).
     * The flag alone is not enough: a message sent before that last look is found by it, and no sleep ends. Nor is a
     * sleep counted before the flag went up (a short nap in its record, as traffic flowed before). */
    while (!test_failed() && __atomic_load_n(&h->waiters[SIPC_WAIT_OBSERVE], __ATOMIC_ACQUIRE) == 0)
        sleep_ms(1);
    sipc_observer_stats now = {.struct_size = sizeof now};
    CHECK_RC(sipc_observer_get_stats(ob, &now), SIPC_OK);
    for (const uint64_t sleeps_at_flag = now.sleeps; !test_failed() && now.sleeps == sleeps_at_flag;) {
        sleep_ms(1);
        CHECK_RC(sipc_observer_get_stats(ob, &now), SIPC_OK);
    }
    CHECK_RC(observed_pass(server, client, slots + 16, 0), SIPC_OK);
    sipc_os_thread_join(&thread);
    CHECK_RC(w.status, SIPC_OK);
    CHECK_RC(sipc_observer_get_stats(ob, &stats), SIPC_OK);
    CHECK(stats.messages == slots + 1 && stats.missed == 16);
    CHECK(stats.sleeps >= 1 && stats.woken >= 1 && stats.woken <= stats.sleeps);
    CHECK(stats.wake_latency_count >= 1 && stats.wake_latency_max_ns <= stats.wake_latency_total_ns);
    CHECK(stats.longest_away_ns > 0);
    CHECK(stats.producer_wakes == 0); /* only a lossless observer wakes producers */
    raw_close(&map);
    observed_pair_close(ob, server, client);
}

#define LIVE_MESSAGES 20000u
#define LIVE_MAX 1024u

typedef struct live_plan {
    char name[SIPC_NAME_MAX + 1];
    test_pipe ready; /* the observer writes one byte once it follows the channel */
    uint32_t observe_flags;
} live_plan;

/* Follows the channel until every message of both directions is seen or counted as missed,
 * checking every byte it is given (torn copies must never come out). */
static int child_live_observer(void *arg)
{
    live_plan *plan = arg;
    sipc_observer *ob = NULL;
    sipc_observe_options options;
    sipc_observe_options_init(&options);
    options.flags = plan->observe_flags;
    options.stall_timeout_ms = SIPC_OBSERVE_STALL_MAX_MS; /* under a sanitizer on a loaded machine */
    CHILD_CHECK(sipc_observe_ex(plan->name, &options, &ob) == SIPC_OK);
    CHILD_CHECK(pipe_write(plan->ready.write_end, "r", 1));
    uint8_t *buffer = malloc(LIVE_MAX);
    uint64_t accounted[2] = {0, 0};
    uint64_t seen_per_direction[2] = {0, 0}, missed = 0, seen = 0;
    while (accounted[0] < LIVE_MESSAGES || accounted[1] < LIVE_MESSAGES) {
        sipc_observed_message m = {.struct_size = sizeof m};
        int rc = sipc_observer_next(ob, buffer, LIVE_MAX, &m, 10000);
        CHILD_CHECK(rc == SIPC_OK);
        CHILD_CHECK(m.direction == 0 || m.direction == 1);
        CHILD_CHECK(m.sequence == accounted[m.direction] + m.missed);
        CHILD_CHECK(m.length == message_size(5, m.sequence, LIVE_MAX));
        CHILD_CHECK(m.copied == m.length);
        CHILD_CHECK(message_check(buffer, m.length, 5, m.sequence));
        accounted[m.direction] = m.sequence + 1;
        seen_per_direction[m.direction]++;
        missed += m.missed;
        seen++;
    }
    free(buffer);
    sipc_observer_close(ob);
    fprintf(stderr, "    observer saw %llu of %u messages\n", (unsigned long long)seen, 2 * LIVE_MESSAGES);
    /* Every message of both directions was either given (byte-checked above) or counted as missed, and the
     * last one of each direction was given. */
    CHILD_CHECK(seen + missed == 2u * LIVE_MESSAGES);
    if (plan->observe_flags & SIPC_OBSERVE_LOSSLESS)
        CHILD_CHECK(missed == 0);
    CHILD_CHECK(seen_per_direction[0] >= 1 && seen_per_direction[1] >= 1);
    return 0;
}

static int child_live_echo(void *arg)
{
    live_plan *plan = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(plan->name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_connect(ch, 5000) == SIPC_OK);
    uint8_t *buffer = malloc(LIVE_MAX);
    for (uint64_t i = 0; i < LIVE_MESSAGES; i++) {
        size_t length;
        CHILD_CHECK(sipc_recv(ch, buffer, LIVE_MAX, &length, 10000) == SIPC_OK);
        CHILD_CHECK(sipc_send(ch, buffer, length, 10000) == SIPC_OK);
    }
    char done[4];
    size_t length;
    (void)sipc_recv(ch, done, sizeof done, &length, 10000);
    free(buffer);
    sipc_close(ch);
    return 0;
}

static void live_traffic(const char *base, uint32_t observe_flags)
{
    live_plan plan;
    snprintf(plan.name, sizeof plan.name, "%s", test_name(base));
    plan.observe_flags = observe_flags;
    CHECK(test_pipe_open(&plan.ready) == 0);
    sipc_options o = options_with(LIVE_MAX, 8);
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(plan.name, &o, &server), SIPC_OK);
    pid_t observer = spawn_child(child_live_observer, &plan, sizeof plan);
    char ready;
    CHECK(pipe_read(plan.ready.read_end, &ready, 1) == 1);
    pid_t echo = spawn_child(child_live_echo, &plan, sizeof plan);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    uint8_t *out = malloc(LIVE_MAX), *in = malloc(LIVE_MAX);
    /* Pipelined: keep several messages in flight so the observer sees both busy and quiet rings. */
    uint64_t received = 0;
    for (uint64_t i = 0; i < LIVE_MESSAGES; i++) {
        uint32_t size = message_size(5, i, LIVE_MAX);
        message_fill(out, size, 5, i);
        CHECK_RC(sipc_send(server, out, size, 10000), SIPC_OK);
        if (i >= 4) {
            size_t length;
            CHECK_RC(sipc_recv(server, in, LIVE_MAX, &length, 10000), SIPC_OK);
            CHECK(length == message_size(5, received, LIVE_MAX) && message_check(in, (uint32_t)length, 5, received));
            received++;
        }
    }
    while (received < LIVE_MESSAGES) {
        size_t length;
        CHECK_RC(sipc_recv(server, in, LIVE_MAX, &length, 10000), SIPC_OK);
        CHECK(message_check(in, (uint32_t)length, 5, received));
        received++;
    }
    free(out);
    free(in);
    CHECK(reap_child(observer) == 0);
    CHECK_RC(sipc_send(server, "end", 3, 1000), SIPC_OK);
    CHECK(reap_child(echo) == 0);
    CHECK_RC(sipc_close(server), SIPC_OK);
    test_pipe_close(&plan.ready);
}

void test_observer_live_traffic(void)
{
    live_traffic("obslive", 0);
}

/* The same traffic, and the lossless observer misses nothing. */
void test_lossless_live_traffic(void)
{
    live_traffic("losslive", SIPC_OBSERVE_LOSSLESS);
}

int observed_pass(sipc_channel *server, sipc_channel *client, uint64_t i, int32_t timeout_ms)
{
    uint8_t buffer[64];
    message_fill(buffer, sizeof buffer, 12, i);
    int rc = sipc_send(server, buffer, sizeof buffer, timeout_ms);
    if (rc != SIPC_OK)
        return rc;
    size_t length;
    return sipc_recv(client, buffer, sizeof buffer, &length, 1000);
}

int observed_passes(sipc_channel *server, sipc_channel *client, uint64_t first, uint64_t end, int32_t timeout_ms)
{
    for (uint64_t i = first; i < end && !test_failed(); i++) {
        int rc = observed_pass(server, client, i, timeout_ms);
        if (rc != SIPC_OK)
            return rc;
    }
    return SIPC_OK;
}

void observed_pair_open(const char *name, sipc_channel **server, sipc_channel **client)
{
    sipc_options o = options_with(64, 4);
    CHECK_RC(sipc_open(name, &o, server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, client), SIPC_OK);
    CHECK_RC(sipc_connect(*server, 1000), SIPC_OK);
}

uint32_t observed_history(void)
{
    seg_geometry g;
    int rc = sipc_geometry_for(64, 4, &g);
    if (rc != SIPC_OK) {
        test_fail(__FILE__, __LINE__, "sipc_geometry_for(64, 4) returned %s", sipc_status_name(rc));
        return 0;
    }
    /* The pair's messages are all 64 B: as many as the ring's bytes hold, up to the index's entries. */
    uint64_t by_bytes = g.ring_bytes / sipc_record_size(64);
    uint64_t history = by_bytes < g.index_count ? by_bytes : g.index_count;
    if (history <= g.queue_depth)
        test_fail(__FILE__, __LINE__, "a channel of 64 B x 4 keeps %llu of its messages: no history",
                  (unsigned long long)history);
    return (uint32_t)history;
}

uint32_t observed_index_count(void)
{
    seg_geometry g;
    if (sipc_geometry_for(64, 4, &g) != SIPC_OK) {
        test_fail(__FILE__, __LINE__, "sipc_geometry_for(64, 4) failed");
        return 1;
    }
    return g.index_count;
}

uint64_t observed_messages_to_fill(uint64_t fill)
{
    seg_geometry g;
    if (sipc_geometry_for(64, 4, &g) != SIPC_OK) {
        test_fail(__FILE__, __LINE__, "sipc_geometry_for(64, 4) failed");
        return 1;
    }
    uint64_t n = 1;
    while (sipc_ring_fill(&g, n, n * sipc_record_size(64)) < fill)
        n++;
    return n;
}

void observed_pair_close(sipc_observer *observer, sipc_channel *server, sipc_channel *client)
{
    if (observer != NULL)
        CHECK_RC(sipc_observer_close(observer), SIPC_OK);
    if (client != NULL)
        CHECK_RC(sipc_close(client), SIPC_OK);
    if (server != NULL)
        CHECK_RC(sipc_close(server), SIPC_OK);
}

int async_observer_destroy_once_notified(sipc_async_observer *h)
{
    int rc;
    for (int tries = 0; (rc = sipc_async_observer_destroy(h)) == SIPC_ERR_BUSY && tries < 60000; tries++)
        sleep_ms(1); /* a hang guard of 60 s */
    return rc;
}

sipc_observe_options lossless_options(uint32_t flags, uint32_t stall_timeout_ms)
{
    sipc_observe_options options;
    sipc_observe_options_init(&options);
    options.flags = SIPC_OBSERVE_LOSSLESS | flags;
    options.stall_timeout_ms = stall_timeout_ms;
    return options;
}

sipc_observer *lossless_pair_open(const char *name, uint32_t flags, uint32_t stall_timeout_ms, sipc_channel **server,
                                  sipc_channel **client)
{
    observed_pair_open(name, server, client);
    if (test_failed())
        return NULL;
    sipc_observe_options options = lossless_options(flags, stall_timeout_ms);
    sipc_observer *observer = NULL;
    int rc = sipc_observe_ex(name, &options, &observer);
    if (rc != SIPC_OK)
        test_fail(__FILE__, __LINE__, "a lossless sipc_observe_ex returned %s", sipc_status_name(rc));
    return observer;
}

/* Reads the next observed message and checks it is message i of the server's direction, none missed. */
static void expect_observed(sipc_observer *ob, uint64_t i)
{
    uint8_t buffer[64];
    sipc_observed_message m = {.struct_size = sizeof m};
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 1000), SIPC_OK);
    CHECK(m.kind == SIPC_OBSERVED_MESSAGE && m.direction == SIPC_DIR_TO_CLIENT);
    CHECK(m.sequence == i && m.missed == 0 && m.length == 64 && message_check(buffer, 64, 12, i));
}

void test_lossless_holds_the_producer(void)
{
    const char *name = test_name("lossless");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = NULL;
    observed_pair_open(name, &server, &client);
    if (test_failed())
        return;
    sipc_observe_options oo = lossless_options(0, SIPC_OBSERVE_STALL_MAX_MS + 1);
    CHECK_RC(sipc_observe_ex(name, &oo, &ob), SIPC_ERR_INVALID_ARGUMENT);
    oo.stall_timeout_ms = SIPC_OBSERVE_STALL_MAX_MS;
    CHECK_RC(sipc_observe_ex(name, &oo, &ob), SIPC_OK);
    /* The client takes every message, yet the ring is full for the producer once the observer is a ring (its
     * observed_history() slots, more than the queue's depth of 4) behind: the next send finds no space until the
     * observer copies. */
    const uint64_t slots = observed_history();
    CHECK_RC(observed_passes(server, client, 0, slots, 0), SIPC_OK);
    CHECK_RC(observed_pass(server, client, slots, 0), SIPC_ERR_TIMEOUT);
    /* Interleaved: the observer copies k messages, the producer sends until it is refused. It gets the slots the
     * observer stored as copied: all k of them, bar fewer than an eighth of a ring (the cursor is stored per run of
     * copies, observer.c publish_cursor_lazily), and never more. Nothing is ever missed. */
    const uint64_t eighth = slots / 8 ? slots / 8 : 1;
    const uint64_t copies[] = {1, eighth, slots / 2 + 3, slots - eighth, 5, slots / 3, slots - eighth};
    uint64_t sent = slots, seen = 0;
    for (size_t round = 0; round < sizeof copies / sizeof copies[0]; round++) {
        const uint64_t k = copies[round];
        CHECK(k <= sent - seen);
        for (uint64_t j = 0; j < k; j++)
            expect_observed(ob, seen++);
        uint64_t freed = 0;
        int rc;
        while ((rc = observed_pass(server, client, sent, 0)) == SIPC_OK && freed <= k) {
            sent++;
            freed++;
        }
        CHECK_RC(rc, SIPC_ERR_TIMEOUT);
        CHECK(freed <= k && k - freed < eighth);
        CHECK(sent - seen <= slots);
    }
    /* Caught up, the observer stores its whole cursor: a whole ring's room again. */
    while (seen < sent)
        expect_observed(ob, seen++);
    uint8_t buffer[64];
    sipc_observed_message m = {.struct_size = sizeof m};
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_ERR_TIMEOUT);
    const uint64_t total = sent;
    /* A plain observer alongside is never waited for. */
    sipc_observer *plain = NULL;
    CHECK_RC(sipc_observe(name, &plain), SIPC_OK);
    /* Closing the lossless observer frees the producer at once: then twice the ring's slots pass, more than the plain
     * observer (which copies nothing) could hold back. */
    CHECK_RC(observed_passes(server, client, total, total + slots, 0), SIPC_OK);
    CHECK_RC(observed_pass(server, client, total + slots, 0), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_observer_close(ob), SIPC_OK);
    CHECK_RC(observed_passes(server, client, total + slots, total + 3 * slots, 0), SIPC_OK);
    observed_pair_close(plain, server, client);
}

void test_lossless_stalled_observer_dropped(void)
{
    const char *name = test_name("lstall");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = lossless_pair_open(name, SIPC_OBSERVE_EVENTS, 30, &server, &client);
    if (test_failed())
        return;
    uint8_t buffer[64];
    sipc_observed_message m = {.struct_size = sizeof m};
    /* The holders at the start come first. */
    for (int i = 0; i < 2; i++) {
        CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 1000), SIPC_OK);
        CHECK(m.kind == SIPC_OBSERVED_EVENT && m.event == SIPC_EVENT_ATTACHED && m.pid == (int64_t)getpid());
        CHECK(m.role == (i == 0 ? SIPC_ROLE_SERVER : SIPC_ROLE_CLIENT) && m.session == 1 && m.direction == -1);
    }
    /* The observer copies nothing: once it is a ring (observed_history() slots) behind, the next send waits for it at
     * most its 30 ms, then drops it (the send's own timeout is far longer). */
    const uint64_t slots = observed_history();
    CHECK_RC(observed_passes(server, client, 0, slots + 1, 5000), SIPC_OK);
    /* Message 0 was overwritten once the observer was dropped; then the drop is reported. */
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 1000), SIPC_OK);
    CHECK(m.kind == SIPC_OBSERVED_MESSAGE && m.sequence == 1 && m.missed == 1);
    for (uint64_t i = 2; i < slots + 1; i++)
        expect_observed(ob, i);
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 1000), SIPC_OK);
    CHECK(m.kind == SIPC_OBSERVED_EVENT && m.event == SIPC_EVENT_LOSSLESS_DROPPED && m.count == 1);
    /* From now on it is a plain observer: the producer never waits for it, even more than a ring ahead of it. */
    CHECK_RC(observed_passes(server, client, slots + 1, 2 * slots + 16, 0), SIPC_OK);
    /* Its record is free for the next lossless observer. */
    sipc_observer *second = NULL, *third = NULL, *fourth = NULL;
    sipc_observe_options oo = lossless_options(0, 30);
    CHECK_RC(sipc_observe_ex(name, &oo, &second), SIPC_OK);
    CHECK_RC(sipc_observe_ex(name, &oo, &third), SIPC_OK);
    CHECK_RC(sipc_observe_ex(name, &oo, &fourth), SIPC_ERR_BUSY);
    CHECK_RC(sipc_observer_close(third), SIPC_OK);
    CHECK_RC(sipc_observe_ex(name, &oo, &fourth), SIPC_OK);
    /* The peers' close and attach come as events, in order. */
    CHECK_RC(sipc_close(client), SIPC_OK);
    int closed = 0;
    while (!closed) {
        CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 2000), SIPC_OK);
        if (test_failed())
            break;
        closed = m.kind == SIPC_OBSERVED_EVENT;
    }
    CHECK(m.event == SIPC_EVENT_CLOSED && m.role == SIPC_ROLE_CLIENT && m.pid == (int64_t)getpid() && m.session == 1);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 2000), SIPC_OK);
    CHECK(m.kind == SIPC_OBSERVED_EVENT && m.event == SIPC_EVENT_ATTACHED && m.role == SIPC_ROLE_CLIENT && m.session == 2);
    /* An observer asked for no events gets none (an older caller's struct neither). */
    sipc_observer *quiet = NULL;
    CHECK_RC(sipc_observe(name, &quiet), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_observer_next(quiet, buffer, sizeof buffer, &m, 0), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_observer_close(quiet), SIPC_OK);
    CHECK_RC(sipc_observer_close(fourth), SIPC_OK);
    CHECK_RC(sipc_observer_close(second), SIPC_OK);
    CHECK_RC(sipc_observer_close(ob), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

typedef struct reader_catching_up {
    sipc_channel *client;
    int taken; /* messages the reader took at the test point */
} reader_catching_up;

/* The reader takes everything queued just when the send, having found no room, is about to wait. */
static void read_all_before_the_wait(void *arg, sipc_test_point point)
{
    reader_catching_up *reader = arg;
    if (point != SIPC_TEST_SEND_BEFORE_WAIT || reader->taken != 0)
        return;
    uint8_t buffer[64];
    size_t length;
    while (sipc_recv(reader->client, buffer, sizeof buffer, &length, 0) == SIPC_OK)
        reader->taken++;
}

/* A send that found no room, both its reader (a queue's depth behind) and a stalled lossless observer (a ring of
 * observed_history() slots behind) at their bounds, goes on when the reader catches up just before the send waits: the
 * send then waits for the observer's stall bound only. It used to sleep until its own timeout, the lowest index still
 * needed (the observer's) being unchanged (a stopped lossless `sipc tap` froze both peers of a busy channel). */
void test_lossless_stalled_observer_level_with_the_reader(void)
{
    const char *name = test_name("llevel");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = lossless_pair_open(name, 0, 30, &server, &client);
    if (test_failed())
        return;
    const uint64_t slots = observed_history();
    CHECK_RC(observed_passes(server, client, 0, slots - 4, 0), SIPC_OK);
    uint8_t buffer[64];
    for (uint64_t i = slots - 4; i < slots; i++) {
        message_fill(buffer, sizeof buffer, 12, i);
        CHECK_RC(sipc_send(server, buffer, sizeof buffer, 0), SIPC_OK);
    }
    /* The queue is full for the reader (tail slots - 4, depth 4) and the ring for the observer (cursor 0): each alone
     * would hold the send back. */
    reader_catching_up reader = {client, 0};
    sipc_channel_set_test_hook(server, read_all_before_the_wait, &reader);
    message_fill(buffer, sizeof buffer, 12, slots);
    int rc = sipc_send(server, buffer, sizeof buffer, 5000);
    sipc_channel_set_test_hook(server, NULL, NULL);
    CHECK_RC(rc, SIPC_OK);
    CHECK(reader.taken == 4);
    size_t length;
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 1000), SIPC_OK);
    CHECK(message_check(buffer, (uint32_t)length, 12, slots));
    observed_pair_close(ob, server, client);
}

typedef struct lagging_observer {
    sipc_channel *producer;
    sipc_observer *ob;
    sipc_wait_stats before; /* the producer's waits before the send the observer holds back */
    int copied;             /* SIPC_OK once it copied at least one message and then found none, else the failure */
    uint64_t count;         /* the messages it copied */
    int descheduled_ms;     /* how long the copier stays away once the producer waits, as if descheduled */
} lagging_observer;

/* Waits until the producer it holds back either spins or sleeps, then copies until it finds nothing more: the
 * observer stores its cursor per run of copies (an eighth of a ring, or once caught up; observer.c
 * publish_cursor_lazily), so one copy no longer makes room. */
static void *copy_once_the_producer_waits(void *arg)
{
    lagging_observer *lag = arg;
    for (;;) {
        sipc_wait_stats now;
        sipc_channel_wait_stats(lag->producer, &now);
        if (now.spins != lag->before.spins || now.sleeps != lag->before.sleeps)
            break;
        sleep_ms(1);
    }
    sleep_ms(lag->descheduled_ms);
    uint8_t buffer[64];
    sipc_observed_message m = {.struct_size = sizeof m};
    int rc;
    while ((rc = sipc_observer_next(lag->ob, buffer, sizeof buffer, &m, 0)) == SIPC_OK)
        lag->count++;
    lag->copied = rc == SIPC_ERR_TIMEOUT && lag->count > 0 ? SIPC_OK : rc;
    return NULL;
}

typedef struct sleeping_reader {
    sipc_channel *client;
    int received; /* status of its recv */
} sleeping_reader;

static void *receive_one(void *arg)
{
    sleeping_reader *reader = arg;
    uint8_t buffer[64];
    size_t length;
    reader->received = sipc_recv(reader->client, buffer, sizeof buffer, &length, 10000);
    return NULL;
}

/* A send held back only by a lossless observer that is copying spins for the observer's cursor instead of sleeping,
 * whatever its reader does (here: it sleeps, caught up). It used to look only at the reader, sleep, and wait for the
 * observer to wake it once half a ring was copied: a futex round trip per half ring at full speed. */
void test_lossless_send_spins_for_a_copying_observer(void)
{
    const char *name = test_name("lspin");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = lossless_pair_open(name, 0, SIPC_OBSERVE_STALL_MAX_MS, &server, &client);
    if (test_failed())
        return;
    const uint64_t slots = observed_history();
    CHECK_RC(observed_passes(server, client, 0, slots, 0), SIPC_OK);
    /* The reader caught up and sleeps in its next recv; the observer is a ring (observed_history() slots) behind. */
    sleeping_reader reader = {client, -1};
    sipc_os_thread reader_thread;
    CHECK(sipc_os_thread_create(&reader_thread, receive_one, &reader) == SIPC_OK);
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    const seg_header *h = (const seg_header *)map.base;
    while (!test_failed() && __atomic_load_n(&h->roles[SIPC_ROLE_INDEX_CLIENT].sleepers, __ATOMIC_ACQUIRE) == 0)
        sleep_ms(1);
    /* A spin long enough for any scheduler: only what the protocol decides is tested, not how long it takes. */
    sipc_channel_fix_spin(server, 4000000000u);
    /* The copier stays away past the send's 100 ms look at the observer's liveness, as a thread descheduled on a
     * loaded machine does (the send then slept: 1 of 40 runs under two CPU hogs failed so): the decision must not
     * depend on how long the copy takes. */
    lagging_observer lag = {server, ob, {0}, -1, 0, 250};
    sipc_channel_wait_stats(server, &lag.before);
    sipc_os_thread copier;
    CHECK(sipc_os_thread_create(&copier, copy_once_the_producer_waits, &lag) == SIPC_OK);
    uint8_t buffer[64];
    message_fill(buffer, sizeof buffer, 12, slots);
    CHECK_RC(sipc_send(server, buffer, sizeof buffer, 10000), SIPC_OK);
    sipc_os_thread_join(&copier);
    sipc_os_thread_join(&reader_thread);
    sipc_channel_fix_spin(server, 0);
    CHECK_RC(lag.copied, SIPC_OK);
    CHECK(lag.count == slots || lag.count == slots + 1); /* the ring that held the send, and maybe what it sent */
    CHECK_RC(reader.received, SIPC_OK);
    sipc_wait_stats after;
    sipc_channel_wait_stats(server, &after);
    if (after.sleeps != lag.before.sleeps)
        test_fail(__FILE__, __LINE__, "the send slept while the observer holding it back was copying (spins %llu)",
                  (unsigned long long)(after.spins - lag.before.spins));
    /* One spin, or more when the copier was descheduled past the send's 100 ms look at the observer's liveness (each
     * look spins again, never sleeps): the last one found the cursor moved. */
    if (!(after.spins > lag.before.spins && after.spin_hits == lag.before.spin_hits + 1))
        fprintf(stderr, "    the send spun %llu times, %llu of them found the cursor moved (sleeps %llu, copy %d)\n",
                (unsigned long long)(after.spins - lag.before.spins),
                (unsigned long long)(after.spin_hits - lag.before.spin_hits),
                (unsigned long long)(after.sleeps - lag.before.sleeps), lag.copied);
    CHECK(after.spins > lag.before.spins && after.spin_hits == lag.before.spin_hits + 1);
    raw_close(&map);
    observed_pair_close(ob, server, client);
}

#if defined(__linux__) /* CPU affinity */
#    include <sched.h>

/* A send held back only by a lossless observer whose record says it last ran on the producer's own CPU does not spin
 * for it (the observer needs that very CPU to copy): it sleeps until the observer's cursor moves (PROTOCOL.md section 6,
 * "Not on a shared CPU"). The adaptive budget (not the test hook's fixed one, which ignores the CPU rule) would spin. */
void test_lossless_send_does_not_spin_for_an_observer_on_its_cpu(void)
{
    cpu_set_t original;
    CHECK(sched_getaffinity(0, sizeof original, &original) == 0);
    int cpu = sched_getcpu();
    CHECK(cpu >= 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    CHECK(sched_setaffinity(0, sizeof one, &one) == 0);
    const char *name = test_name("lcpu");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = lossless_pair_open(name, 0, SIPC_OBSERVE_STALL_MAX_MS, &server, &client);
    if (test_failed()) {
        sched_setaffinity(0, sizeof original, &original);
        return;
    }
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    const seg_header *h = (const seg_header *)map.base;
    int record = -1;
    for (int r = 0; r < (int)SIPC_OBSERVER_RECORDS; r++)
        if (SIPC_CLAIM_STATE(__atomic_load_n(&h->observers[r].claim, __ATOMIC_ACQUIRE)) == SIPC_OBSERVER_ACTIVE)
            record = r;
    CHECK(record >= 0);
    /* The observer published where it runs when it claimed its record: our one CPU. */
    CHECK(record >= 0 && __atomic_load_n(&h->observers[record].cpu, __ATOMIC_ACQUIRE) == (uint32_t)cpu + 1u);
    /* The observer is a ring (observed_history() slots) behind: the next send is held back by it alone. */
    const uint64_t slots = observed_history();
    CHECK_RC(observed_passes(server, client, 0, slots, 0), SIPC_OK);
    lagging_observer lag = {server, ob, {0}, -1, 0, 0};
    sipc_channel_wait_stats(server, &lag.before);
    sipc_os_thread copier;
    CHECK(sipc_os_thread_create(&copier, copy_once_the_producer_waits, &lag) == SIPC_OK);
    uint8_t buffer[64];
    message_fill(buffer, sizeof buffer, 12, slots);
    CHECK_RC(sipc_send(server, buffer, sizeof buffer, 10000), SIPC_OK);
    sipc_os_thread_join(&copier);
    CHECK_RC(lag.copied, SIPC_OK);
    CHECK(lag.count == slots || lag.count == slots + 1); /* the ring that held the send, and maybe what it sent */
    sipc_wait_stats after;
    sipc_channel_wait_stats(server, &after);
    if (after.spins != lag.before.spins)
        test_fail(__FILE__, __LINE__, "the send spun %llu times for an observer on its own CPU",
                  (unsigned long long)(after.spins - lag.before.spins));
    CHECK(after.same_cpu_skips > lag.before.same_cpu_skips && after.sleeps > lag.before.sleeps);
    raw_close(&map);
    observed_pair_close(ob, server, client);
    sched_setaffinity(0, sizeof original, &original);
}

#    include <sys/resource.h>
#    include <sys/syscall.h>

/* What the scheduler says of the calling thread (sched_getattr): its policy, nice value and slice (ns; 0 from kernels
 * before 6.12, which have no slice to report). */
typedef struct thread_sched {
    uint32_t policy;
    int32_t nice;
    uint64_t slice_ns;
} thread_sched;

static int thread_sched_read(thread_sched *out)
{
    struct {
        uint32_t size, policy;
        uint64_t flags;
        int32_t nice;
        uint32_t priority;
        uint64_t runtime, deadline, period;
    } attr;
    memset(&attr, 0, sizeof attr);
    if (syscall(SYS_sched_getattr, 0, &attr, (unsigned)sizeof attr, 0u) != 0)
        return -1;
    out->policy = attr.policy;
    out->nice = attr.nice;
    out->slice_ns = attr.runtime;
    return 0;
}

typedef struct slice_probe {
    const char *name;
    sipc_channel *server, *client;
    thread_sched before, after;
    int read_before, read_after, niced, waited;
} slice_probe;

/* Raises the calling thread's nice value to 3 (its own, not the process's), so that a reset to 0 would show. */
static int nice_this_thread(void)
{
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 3);
}

/* A fresh thread (the hint is asked for once per thread) observes an idle channel until its 1 ms limit: it slept. */
static void *observe_until_timeout(void *arg)
{
    slice_probe *p = arg;
    p->niced = nice_this_thread();
    p->read_before = thread_sched_read(&p->before);
    sipc_observer *ob = NULL;
    if (sipc_observe(p->name, &ob) == SIPC_OK) {
        uint8_t buffer[64];
        sipc_observed_message m;
        memset(&m, 0, sizeof m);
        m.struct_size = sizeof m;
        p->waited = sipc_observer_next(ob, buffer, sizeof buffer, &m, 1);
        sipc_observer_close(ob);
    }
    p->read_after = thread_sched_read(&p->after);
    return NULL;
}

/* A fresh thread does what peers do: a send and a receive, then a receive that waits for nothing until its limit. */
static void *pass_then_wait(void *arg)
{
    slice_probe *p = arg;
    p->niced = nice_this_thread();
    p->read_before = thread_sched_read(&p->before);
    uint8_t buffer[64];
    size_t length = 0;
    p->waited = observed_pass(p->server, p->client, 0, 1000);
    if (p->waited == SIPC_OK)
        p->waited = sipc_recv(p->client, buffer, sizeof buffer, &length, 1);
    p->read_after = thread_sched_read(&p->after);
    return NULL;
}

/* A thread that sleeps in sipc_observer_next asks the scheduler for short turns (PROTOCOL.md section 7, "Woken
 * promptly"): woken by a producer it must copy before the ring wraps, and the default slice (0.7-3 ms) let it wait
 * that long behind a busy peer on its CPU. Its policy and nice value stay as they were; the peers' threads are left
 * alone. On kernels before 6.12 (no slice reported) only that is checked. */
void test_observer_thread_asks_for_short_turns(void)
{
    const char *name = test_name("oslice");
    sipc_channel *server = NULL, *client = NULL;
    observed_pair_open(name, &server, &client);
    if (test_failed())
        return;
    slice_probe observer = {name, server, client, {0}, {0}, -1, -1, -1, -1};
    slice_probe peer = observer;
    sipc_os_thread thread;
    CHECK(sipc_os_thread_create(&thread, observe_until_timeout, &observer) == SIPC_OK);
    sipc_os_thread_join(&thread);
    CHECK(sipc_os_thread_create(&thread, pass_then_wait, &peer) == SIPC_OK);
    sipc_os_thread_join(&thread);
    CHECK_RC(observer.waited, SIPC_ERR_TIMEOUT);
    if (observer.read_before != 0) {
        /* No sched_getattr here (an emulator, a seccomp filter): the library's request failed the same way and was
         * ignored; nothing to check. */
        printf("     (sched_getattr unavailable: the thread's slice not checked)\n");
        CHECK_RC(sipc_close(client), SIPC_OK);
        CHECK_RC(sipc_close(server), SIPC_OK);
        return;
    }
    CHECK(observer.niced == 0 && observer.read_after == 0);
    CHECK(observer.after.policy == observer.before.policy && observer.after.nice == 3 && observer.before.nice == 3);
    if (observer.before.slice_ns != 0) {
        if (observer.after.slice_ns != SIPC_OS_PROMPT_SLICE_NS)
            test_fail(__FILE__, __LINE__, "the observing thread's slice is %llu ns (before: %llu), not %u",
                      (unsigned long long)observer.after.slice_ns, (unsigned long long)observer.before.slice_ns,
                      SIPC_OS_PROMPT_SLICE_NS);
    }
    CHECK(peer.niced == 0 && peer.read_before == 0 && peer.read_after == 0);
    CHECK_RC(peer.waited, SIPC_ERR_TIMEOUT);
    CHECK(peer.after.policy == peer.before.policy && peer.after.nice == 3 && peer.after.slice_ns == peer.before.slice_ns);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}
#endif

static void no_notify(uint32_t token)
{
    (void)token;
}

/* A native observer thread copies far ahead of a main thread that takes nothing for a while (an event loop busy with
 * something else): 3,000 messages, lossless, pass while nobody takes, and all of them are then there in order. Its
 * queue used to stop at 1,024 messages: the lossless peers then waited for the stall bound and dropped it. */
void test_async_observer_copies_ahead_of_its_taker(void)
{
    const char *name = test_name("aahead");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = lossless_pair_open(name, 0, SIPC_OBSERVE_STALL_MAX_MS, &server, &client);
    if (test_failed())
        return;
    sipc_async_observer *async = NULL;
    CHECK_RC(sipc_async_observer_start(ob, 64, no_notify, 1, &async), SIPC_OK);
    const uint64_t total = 3000;
    CHECK_RC(observed_passes(server, client, 0, total, 20000), SIPC_OK);
    /* The observer may still be copying the last ring's worth: wait for the state (a hang guard, no timing). */
    sipc_async_observer_status status = {0};
    for (int waited_ms = 0; waited_ms < 20000; waited_ms++) {
        CHECK_RC(sipc_async_observer_poll(async, &status), SIPC_OK);
        if (test_failed() || status.status != SIPC_OK || status.ready_count >= total)
            break;
        sleep_ms(1);
    }
    CHECK(status.status == SIPC_OK && status.ready_count == total);
    static uint8_t buffer[64 * 256];
    static sipc_observed_message taken[256];
    uint64_t next = 0;
    while (next < total && !test_failed()) {
        uint32_t count = 0;
        CHECK_RC(sipc_async_observer_take(async, buffer, sizeof buffer, taken, 256, &count), SIPC_OK);
        CHECK(count > 0);
        for (uint32_t k = 0; k < count && !test_failed(); k++, next++) {
            CHECK(taken[k].kind == SIPC_OBSERVED_MESSAGE && taken[k].sequence == next && taken[k].missed == 0);
            CHECK(taken[k].copied == 64 && message_check(buffer + 64u * k, 64, 12, next));
        }
    }
    CHECK(next == total);
    CHECK_RC(async_observer_destroy_once_notified(async), SIPC_OK); /* closes the observer too */
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

#define ROOM_MESSAGE (64u * 1024u)
#define ROOM_TOTAL 300u
#define ROOM_QUEUED (16u * 1024u * 1024u / ROOM_MESSAGE) /* what fills an async observer's queue */
#define MIXED_TOTAL 3000u
#define MIXED_LARGE (24u * 1024u) /* over a quarter of the copier's 64 KiB blocks: such a node is a malloc of its own */

/* What a sender thread sends through a pair: `total` messages, message i of length_of(i) bytes (at most ROOM_MESSAGE)
 * filled by message_fill with `seed`, each taken by the client. */
typedef struct planned_sender {
    sipc_channel *server;
    sipc_channel *client;
    uint64_t total;
    uint64_t seed;
    uint32_t (*length_of)(uint64_t i);
    int status; /* the first failure of a send or receive */
} planned_sender;

static void *send_planned_messages(void *arg)
{
    planned_sender *sender = arg;
    static uint8_t out[ROOM_MESSAGE], in[ROOM_MESSAGE];
    sender->status = SIPC_OK;
    for (uint64_t i = 0; i < sender->total && sender->status == SIPC_OK; i++) {
        uint32_t length = sender->length_of(i);
        message_fill(out, length, sender->seed, i);
        size_t received;
        sender->status = sipc_send(sender->server, out, length, 20000);
        if (sender->status == SIPC_OK)
            sender->status = sipc_recv(sender->client, in, sizeof in, &received, 20000);
    }
    return NULL;
}

/* A connected pair of `name` (messages up to max_message, queue depth 4) and a native observer thread of a lossless
 * observer of it (no notifications). A failed step is recorded as the test's failure (test_failed()). */
static void async_lossless_pair_open(const char *name, uint32_t max_message, sipc_channel **server,
                                     sipc_channel **client, sipc_async_observer **async)
{
    sipc_options o = options_with(max_message, 4);
    CHECK_RC(sipc_open(name, &o, server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, client), SIPC_OK);
    CHECK_RC(sipc_connect(*server, 1000), SIPC_OK);
    sipc_observe_options options = lossless_options(0, SIPC_OBSERVE_STALL_MAX_MS);
    sipc_observer *ob = NULL;
    CHECK_RC(sipc_observe_ex(name, &options, &ob), SIPC_OK);
    CHECK_RC(sipc_async_observer_start(ob, max_message, no_notify, 1, async), SIPC_OK);
}

/* Takes the sender's messages, at most `per_take` at a time, checking that each is whole, in order and none missed
 * (a hang guard of 60 s without any, no timing); *next: how many were taken. */
static void take_planned_messages(sipc_async_observer *async, const planned_sender *sender, uint32_t per_take,
                                  uint64_t *next)
{
    static uint8_t buffer[4 * ROOM_MESSAGE];
    static sipc_observed_message taken[4];
    *next = 0;
    for (int idle_ms = 0; *next < sender->total && idle_ms < 60000 && !test_failed();) {
        uint32_t count = 0;
        CHECK_RC(sipc_async_observer_take(async, buffer, sizeof buffer, taken, per_take, &count), SIPC_OK);
        size_t offset = 0;
        for (uint32_t k = 0; k < count && !test_failed(); k++, (*next)++) {
            uint32_t length = sender->length_of(*next);
            CHECK(taken[k].kind == SIPC_OBSERVED_MESSAGE && taken[k].sequence == *next && taken[k].missed == 0);
            CHECK(taken[k].copied == length && message_check(buffer + offset, length, sender->seed, *next));
            offset += taken[k].copied;
        }
        if (count == 0) {
            sleep_ms(1);
            idle_ms++;
        } else {
            idle_ms = 0;
        }
    }
}

static uint32_t room_length(uint64_t i)
{
    (void)i;
    return ROOM_MESSAGE;
}

/* A copier whose queue is full waits for the taker, and goes on when the taker makes room: with a lossless observer
 * the peers wait meanwhile, and every message arrives in order, none missed and the observer never dropped. A take
 * that did not wake the waiting copier would leave it waiting forever (the peers would drop the observer after the
 * stall bound and the messages after it would never be queued). */
void test_async_observer_copier_resumes_when_room_is_made(void)
{
    const char *name = test_name("aroom");
    sipc_channel *server = NULL, *client = NULL;
    sipc_async_observer *async = NULL;
    async_lossless_pair_open(name, ROOM_MESSAGE, &server, &client, &async);
    if (test_failed())
        return;
    /* 300 messages of 64 KiB: 19 MiB, more than an async observer queues. */
    planned_sender sender = {server, client, ROOM_TOTAL, 13, room_length, SIPC_OK};
    sipc_os_thread thread;
    CHECK(sipc_os_thread_create(&thread, send_planned_messages, &sender) == SIPC_OK);
    /* Wait for the state "the queue is full" (a hang guard, no timing): 256 messages of 64 KiB are its 16 MiB, so the
     * copier, which queued them and looked at the queue under the same lock, now waits for room. */
    sipc_async_observer_status status = {0};
    for (int waited_ms = 0; waited_ms < 60000; waited_ms++) {
        CHECK_RC(sipc_async_observer_poll(async, &status), SIPC_OK);
        if (test_failed() || status.status != SIPC_OK || status.ready_count >= ROOM_QUEUED)
            break;
        sleep_ms(1);
    }
    CHECK(status.status == SIPC_OK && status.ready_count >= ROOM_QUEUED && status.ready_count < ROOM_TOTAL);
    uint64_t taken = 0;
    take_planned_messages(async, &sender, 4, &taken);
    CHECK(taken == ROOM_TOTAL);
    sipc_os_thread_join(&thread);
    CHECK_RC(sender.status, SIPC_OK);
    CHECK_RC(async_observer_destroy_once_notified(async), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* Message i's length: mostly 0-299 B (nodes made one after the other in the copier's blocks), every seventh large. */
static uint32_t mixed_length(uint64_t i)
{
    return i % 7 == 3 ? MIXED_LARGE : (uint32_t)(i * 37 % 300);
}

/* The copier makes the nodes of small messages one after the other in shared blocks (and of large ones apart), and a
 * main thread that takes a few at a time while it copies frees nodes of a block the copier is still filling: the last
 * of the two to let go of a block frees it (ASan and TSan watch the hand-over). Every message arrives whole and in
 * order, none missed. */
void test_async_observer_blocks_of_mixed_sizes_taken_while_copying(void)
{
    const char *name = test_name("amixed");
    sipc_channel *server = NULL, *client = NULL;
    sipc_async_observer *async = NULL;
    async_lossless_pair_open(name, MIXED_LARGE, &server, &client, &async);
    if (test_failed())
        return;
    planned_sender sender = {server, client, MIXED_TOTAL, 14, mixed_length, SIPC_OK};
    sipc_os_thread thread;
    CHECK(sipc_os_thread_create(&thread, send_planned_messages, &sender) == SIPC_OK);
    uint64_t taken = 0;
    take_planned_messages(async, &sender, 3, &taken);
    CHECK(taken == MIXED_TOTAL);
    sipc_os_thread_join(&thread);
    CHECK_RC(sender.status, SIPC_OK);
    CHECK_RC(async_observer_destroy_once_notified(async), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* The observer loads a ring's head once per run of messages (observer.c, find_next): a plain observer that saw a head,
 * copied part of that run and fell behind while the peers went on must still count what was overwritten (its old head
 * says those slots are published, their stamps say they are gone) and then jump to what the ring still holds. */
void test_observer_stale_head_counts_what_was_overwritten(void)
{
    const char *name = test_name("obsstale");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = NULL;
    observed_pair_open(name, &server, &client); /* depth 4, observed_history() slots */
    CHECK_RC(sipc_observe(name, &ob), SIPC_OK);
    if (test_failed())
        return;
    const uint64_t slots = observed_history();
    CHECK_RC(observed_passes(server, client, 0, 3, 0), SIPC_OK);
    uint8_t buffer[64];
    sipc_observed_message m = {.struct_size = sizeof m};
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_OK); /* saw head 3, copied 0 */
    CHECK(m.sequence == 0 && m.missed == 0 && message_check(buffer, 64, 12, 0));
    CHECK_RC(observed_passes(server, client, 3, slots + 19, 0), SIPC_OK);
    /* The ring's slots hold 19..slots+18: 1..18 are gone. */
    uint64_t missed = 0;
    uint64_t next = 19;
    for (;;) {
        int rc = sipc_observer_next(ob, buffer, sizeof buffer, &m, 0);
        if (rc == SIPC_ERR_TIMEOUT)
            break;
        CHECK_RC(rc, SIPC_OK);
        if (rc != SIPC_OK)
            break;
        missed += m.missed;
        CHECK(m.sequence == next && message_check(buffer, 64, 12, m.sequence));
        next++;
    }
    CHECK(next == slots + 19);
    CHECK(missed == 18);
    observed_pair_close(ob, server, client);
}

/* A lossless observer copies a run of messages that wraps the ring's end (and stores its cursor per run, not per
 * message): every message in order, the producer never held back for good, and once the observer caught up the
 * cursor in its record is where it stopped (a producer may fill the whole ring again). */
void test_lossless_run_across_the_ring_end(void)
{
    const char *name = test_name("llwrap");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = lossless_pair_open(name, 0, 0, &server, &client); /* depth 4, observed_history() slots */
    if (ob == NULL || test_failed())
        return;
    const uint64_t slots = observed_history();
    uint8_t buffer[64];
    sipc_observed_message m = {.struct_size = sizeof m};
    uint64_t sent = 0, seen = 0;
    for (int round = 0; round < 6; round++) {
        /* slots - 1 then slots messages (each taken by the reader): runs that start at slot 0, then at the ring's
         * last slots (-1, -2, -3 modulo its size), and cross its end. */
        uint64_t burst = round % 2 == 0 ? slots - 1 : slots;
        for (uint64_t i = 0; i < burst; i++, sent++)
            CHECK_RC(observed_pass(server, client, sent, 0), SIPC_OK);
        /* The observer is a whole ring behind: the next send waits for us (no time to wait given). */
        if (burst == slots)
            CHECK_RC(observed_pass(server, client, sent, 0), SIPC_ERR_TIMEOUT);
        for (; seen < sent; seen++) {
            CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_OK);
            CHECK(m.sequence == seen && m.missed == 0 && message_check(buffer, 64, 12, seen));
        }
        CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_ERR_TIMEOUT);
        raw_map map;
        CHECK(raw_open(name, &map) == 0);
        const seg_header *h = (const seg_header *)map.base;
        int found = 0;
        for (uint32_t r = 0; r < SIPC_OBSERVER_RECORDS; r++)
            if (SIPC_CLAIM_STATE(h->observers[r].claim) == SIPC_OBSERVER_ACTIVE) {
                found++;
                CHECK(h->observers[r].cursor[SIPC_DIR_TO_CLIENT] == sent);
            }
        CHECK(found == 1);
        raw_close(&map);
    }
    CHECK(sent == 6 * slots - 3);
    observed_pair_close(ob, server, client);
}

/* A call right after a message was handed out starts at that return's time (no clock read per message), yet a call of
 * them that finds nothing waits its whole timeout from when it looked: the caller's time away since the return, here
 * longer than the timeout, is not taken off it. */
void test_observer_wait_after_a_message_is_never_short(void)
{
    const char *name = test_name("obsfull");
    sipc_channel *server = NULL, *client = NULL;
    observed_pair_open(name, &server, &client);
    sipc_observer *ob = NULL;
    CHECK_RC(sipc_observe(name, &ob), SIPC_OK);
    if (test_failed()) {
        observed_pair_close(ob, server, client);
        return;
    }
    uint8_t buffer[64];
    sipc_observed_message m = {.struct_size = sizeof m};
    for (uint64_t round = 0; round < 20 && !test_failed(); round++) {
        CHECK_RC(observed_pass(server, client, round, 1000), SIPC_OK);
        CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 1000), SIPC_OK);
        sleep_ms(30); /* away longer than the timeout below */
        uint64_t before = now_ns();
        CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 20), SIPC_ERR_TIMEOUT);
        CHECK(now_ns() - before >= 20000000u);
    }
    observed_pair_close(ob, server, client);
}
