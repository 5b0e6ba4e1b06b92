/*
 * test_ring.c — layout 4's ring of records (layout.h, PROTOCOL.md section 2, "Records, index and history"): records
 * packed by their length, payloads that wrap past the ring's end, the history a channel of big max_message keeps of
 * its small messages, and a lossless observer that holds the producer by bytes as well as by count.
 */
#include "harness.h"
#include "observe_helpers.h"
#include "layout.h"

#include <stdlib.h>
#include <string.h>

/* A connected pair of `max_message` x `depth` (the client connected too). A failed step fails the test. */
static void ring_pair_open(const char *name, uint32_t max_message, uint32_t depth, sipc_channel **server,
                           sipc_channel **client)
{
    sipc_options o = options_with(max_message, depth);
    CHECK_RC(sipc_open(name, &o, server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, client), SIPC_OK);
    CHECK_RC(sipc_connect(*server, 1000), SIPC_OK);
    CHECK_RC(sipc_connect(*client, 1000), SIPC_OK);
}

/* Sends message i of `length` bytes (contents message_fill(seed, i)) from server to client, has the client take it and
 * checks every byte it got. */
static void ring_pass(sipc_channel *server, sipc_channel *client, uint8_t *buffer, uint32_t capacity, uint32_t length,
                      uint64_t seed, uint64_t i)
{
    message_fill(buffer, length, seed, i);
    CHECK_RC(sipc_send(server, buffer, length, 1000), SIPC_OK);
    memset(buffer, 0, length);
    size_t got = 0;
    CHECK_RC(sipc_recv(client, buffer, capacity, &got, 1000), SIPC_OK);
    if (got != length || !message_check(buffer, length, seed, i))
        test_fail(__FILE__, __LINE__, "message %llu: %zu bytes received, %u sent, or other bytes",
                  (unsigned long long)i, got, (unsigned)length);
}

/* Takes the next message of an observer and checks it is message `i` of direction `d`, `length` bytes of
 * message_fill(seed, i), with `missed` missed before it. */
static void ring_observed(sipc_observer *ob, uint8_t *buffer, uint32_t capacity, int d, uint64_t i, uint32_t length,
                          uint64_t seed, uint64_t missed)
{
    sipc_observed_message m = {.struct_size = sizeof m};
    memset(buffer, 0, length);
    int rc = sipc_observer_next(ob, buffer, capacity, &m, 1000);
    if (rc != SIPC_OK || m.kind != SIPC_OBSERVED_MESSAGE || m.direction != d || m.sequence != i ||
        m.missed != missed || m.length != length || m.copied != length || !message_check(buffer, length, seed, i))
        test_fail(__FILE__, __LINE__,
                  "expected message %llu (%u B, %llu missed): %s, sequence %llu, %u B, %llu missed, bytes %s",
                  (unsigned long long)i, (unsigned)length, (unsigned long long)missed, sipc_status_name(rc),
                  (unsigned long long)m.sequence, (unsigned)m.length, (unsigned long long)m.missed,
                  rc == SIPC_OK && message_check(buffer, m.length, seed, m.sequence) ? "right" : "wrong");
}

/* Records whose payload wraps past the ring's end (its header never does) are received and observed intact. Messages
 * of lengths that are not multiples of 64 go round a 200 B x 4 ring several times, and near its end the lengths are
 * picked so that, on each lap in turn, a payload passes the end by a byte, a header takes the ring's last 64 bytes
 * (its payload all at the start), and a payload is split in its middle. A plain observer that keeps up and a lossless
 * one see every message with its bytes. */
void test_ring_records_wrap_intact(void)
{
    const char *name = test_name("rwrap");
    sipc_channel *server = NULL, *client = NULL;
    ring_pair_open(name, 200, 4, &server, &client);
    sipc_observer *plain = NULL, *lossless = NULL;
    CHECK_RC(sipc_observe(name, &plain), SIPC_OK);
    sipc_observe_options oo = lossless_options(0, SIPC_OBSERVE_STALL_MAX_MS);
    CHECK_RC(sipc_observe_ex(name, &oo, &lossless), SIPC_OK);
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    if (test_failed())
        return;
    seg_geometry g;
    CHECK_RC(sipc_validate_header(map.base, map.size, &g), SIPC_OK);
    const seg_ring *ring = &((const seg_header *)map.base)->rings[SIPC_DIR_TO_CLIENT];
    uint8_t buffer[200];
    uint64_t split_by_one = 0, header_at_end = 0, split_in_middle = 0, wrapped_payloads = 0;
    uint64_t i = 0;
    while (!test_failed() && (ring->write_pos < 4 * g.ring_bytes || split_by_one == 0 || header_at_end == 0 ||
                              split_in_middle == 0)) {
        const uint64_t pos = ring->write_pos;
        const uint64_t lap = pos / g.ring_bytes;
        const uint64_t left = g.ring_bytes - pos % g.ring_bytes; /* bytes to the ring's end, a multiple of 64 */
        uint32_t length = 1 + (uint32_t)((i * 53u) % 199u);       /* 1..199 */
        if (length % 64 == 0)
            length++;
        if (left > SIPC_SLOT_HEADER_SIZE && left <= SIPC_SLOT_HEADER_SIZE + 200) {
            if (lap % 3 == 0 && left - SIPC_SLOT_HEADER_SIZE + 1 <= 200)
                length = (uint32_t)(left - SIPC_SLOT_HEADER_SIZE + 1); /* one byte past the end */
            else if (lap % 3 == 2 && left - SIPC_SLOT_HEADER_SIZE >= 8)
                length = (uint32_t)(left - SIPC_SLOT_HEADER_SIZE) * 2 > 200
                             ? 200
                             : (uint32_t)(left - SIPC_SLOT_HEADER_SIZE) * 2 - 3; /* split in its middle */
        } else if (lap % 3 == 1 && left >= 3 * SIPC_SLOT_HEADER_SIZE && left - 2 * SIPC_SLOT_HEADER_SIZE <= 200 + 5) {
            /* a record that ends 64 bytes short of the ring's end: the next header takes them */
            length = (uint32_t)(left - 2 * SIPC_SLOT_HEADER_SIZE - 5);
        }
        const uint64_t at = pos % g.ring_bytes;
        if (at + SIPC_SLOT_HEADER_SIZE == g.ring_bytes)
            header_at_end++;
        if (at + SIPC_SLOT_HEADER_SIZE < g.ring_bytes && at + SIPC_SLOT_HEADER_SIZE + length > g.ring_bytes) {
            wrapped_payloads++;
            if (at + SIPC_SLOT_HEADER_SIZE + length == g.ring_bytes + 1)
                split_by_one++;
            else if (at + SIPC_SLOT_HEADER_SIZE + length / 2 <= g.ring_bytes + 8 &&
                     at + SIPC_SLOT_HEADER_SIZE + length / 2 + 8 >= g.ring_bytes)
                split_in_middle++;
        }
        ring_pass(server, client, buffer, sizeof buffer, length, 40, i);
        CHECK(ring->write_pos == pos + sipc_record_size(length));
        CHECK(*sipc_index_entry(map.base, &g, SIPC_DIR_TO_CLIENT, i) == pos);
        ring_observed(plain, buffer, sizeof buffer, SIPC_DIR_TO_CLIENT, i, length, 40, 0);
        ring_observed(lossless, buffer, sizeof buffer, SIPC_DIR_TO_CLIENT, i, length, 40, 0);
        i++;
        if (i > 100000)
            test_fail(__FILE__, __LINE__, "no wrap of each kind after %llu messages", (unsigned long long)i);
    }
    CHECK(wrapped_payloads >= 3 && split_by_one >= 1 && header_at_end >= 1 && split_in_middle >= 1);
    raw_close(&map);
    CHECK_RC(sipc_observer_close(lossless), SIPC_OK);
    observed_pair_close(plain, server, client);
}

/* The point of layout 4: a channel of the default max_message (64 KiB) and depth 16 keeps a history of its small
 * messages by their bytes, not by its 16 slots' worth of the largest. A plain observer that does not read while 3,000
 * messages of 64 B pass gets all 3,000, in order, none missed. Then, with messages of 60 KiB, one that falls more than
 * the ring behind is given what the ring still holds, the rest reported missed exactly: sequence numbers continue
 * where the count of missed ones says. */
void test_ring_history_of_small_messages_on_a_big_slot_channel(void)
{
    const char *name = test_name("rhist");
    sipc_channel *server = NULL, *client = NULL;
    ring_pair_open(name, SIPC_DEFAULT_MAX_MESSAGE, SIPC_DEFAULT_QUEUE_DEPTH, &server, &client);
    sipc_observer *ob = NULL;
    CHECK_RC(sipc_observe(name, &ob), SIPC_OK);
    seg_geometry g;
    CHECK_RC(sipc_geometry_for(SIPC_DEFAULT_MAX_MESSAGE, SIPC_DEFAULT_QUEUE_DEPTH, &g), SIPC_OK);
    uint8_t *buffer = malloc(SIPC_DEFAULT_MAX_MESSAGE);
    CHECK(buffer != NULL);
    if (test_failed()) {
        free(buffer);
        return;
    }
    const uint64_t small = 3000;
    /* More than the queue's 16 and than the 16 records of 64 KiB the ring was sized for; within its index and bytes. */
    CHECK(small <= g.index_count && small * sipc_record_size(64) <= g.ring_bytes);
    for (uint64_t i = 0; i < small && !test_failed(); i++)
        ring_pass(server, client, buffer, SIPC_DEFAULT_MAX_MESSAGE, 64, 41, i);
    for (uint64_t i = 0; i < small && !test_failed(); i++)
        ring_observed(ob, buffer, SIPC_DEFAULT_MAX_MESSAGE, SIPC_DIR_TO_CLIENT, i, 64, 41, 0);
    sipc_observed_message m = {.struct_size = sizeof m};
    CHECK_RC(sipc_observer_next(ob, buffer, SIPC_DEFAULT_MAX_MESSAGE, &m, 0), SIPC_ERR_TIMEOUT);
    /* Messages of 60 KiB: the ring holds those whose records lie within the last ring_bytes before write_pos. */
    const uint32_t big = 60 * 1024;
    const uint64_t held = g.ring_bytes / sipc_record_size(big);
    CHECK(held >= SIPC_DEFAULT_QUEUE_DEPTH && held < 2 * SIPC_DEFAULT_QUEUE_DEPTH);
    const uint64_t count = 3 * held + 5;
    for (uint64_t i = small; i < small + count && !test_failed(); i++)
        ring_pass(server, client, buffer, SIPC_DEFAULT_MAX_MESSAGE, big, 41, i);
    const uint64_t missed = count - held;
    for (uint64_t i = small + missed; i < small + count && !test_failed(); i++)
        ring_observed(ob, buffer, SIPC_DEFAULT_MAX_MESSAGE, SIPC_DIR_TO_CLIENT, i, big, 41,
                      i == small + missed ? missed : 0);
    CHECK_RC(sipc_observer_next(ob, buffer, SIPC_DEFAULT_MAX_MESSAGE, &m, 0), SIPC_ERR_TIMEOUT);
    sipc_observer_stats stats = {.struct_size = sizeof stats};
    CHECK_RC(sipc_observer_get_stats(ob, &stats), SIPC_OK);
    CHECK(stats.messages == small + held && stats.missed == missed);
    free(buffer);
    observed_pair_close(ob, server, client);
}

/* The lengths of ring_mixed's messages: mostly 64 B, with runs of 60 KiB (a run longer than the ring holds of them). */
static uint32_t mixed_length(uint64_t i)
{
    return (i / 7) % 5 == 3 || (i % 200 >= 100 && i % 200 < 125) ? 60u * 1024u : 64u;
}

typedef struct mixed_peer {
    sipc_channel *channel;
    uint64_t count;
    int status;
} mixed_peer;

static void *mixed_producer(void *arg)
{
    mixed_peer *p = arg;
    uint8_t *buffer = malloc(SIPC_DEFAULT_MAX_MESSAGE);
    p->status = buffer == NULL ? SIPC_ERR_NO_MEMORY : SIPC_OK;
    for (uint64_t i = 0; i < p->count && p->status == SIPC_OK && !test_failed(); i++) {
        message_fill(buffer, mixed_length(i), 42, i);
        p->status = sipc_send(p->channel, buffer, mixed_length(i), 10000);
    }
    free(buffer);
    return NULL;
}

static void *mixed_consumer(void *arg)
{
    mixed_peer *p = arg;
    uint8_t *buffer = malloc(SIPC_DEFAULT_MAX_MESSAGE);
    p->status = buffer == NULL ? SIPC_ERR_NO_MEMORY : SIPC_OK;
    for (uint64_t i = 0; i < p->count && p->status == SIPC_OK && !test_failed(); i++) {
        size_t length = 0;
        p->status = sipc_recv(p->channel, buffer, SIPC_DEFAULT_MAX_MESSAGE, &length, 10000);
        if (p->status == SIPC_OK && (length != mixed_length(i) || !message_check(buffer, (uint32_t)length, 42, i)))
            p->status = -1000;
    }
    free(buffer);
    return NULL;
}

/* A lossless observer of a default channel (64 KiB x 16: an index of 4,096 entries, a ring of 16 records of 64 KiB)
 * sees every message, in order, byte-exact, while the peers run in threads and send messages of 64 B and of 60 KiB
 * mixed. The observer pauses now and then, so the producer must wait for it: by count its 4,096 entries would let far
 * more than the ring's bytes through, so it must be held by bytes (room_before) too. */
void test_ring_lossless_mixed_sizes_held_by_bytes(void)
{
    const char *name = test_name("rmixed");
    sipc_channel *server = NULL, *client = NULL;
    ring_pair_open(name, SIPC_DEFAULT_MAX_MESSAGE, SIPC_DEFAULT_QUEUE_DEPTH, &server, &client);
    sipc_observer *ob = NULL;
    sipc_observe_options oo = lossless_options(0, SIPC_OBSERVE_STALL_MAX_MS);
    CHECK_RC(sipc_observe_ex(name, &oo, &ob), SIPC_OK);
    uint8_t *buffer = malloc(SIPC_DEFAULT_MAX_MESSAGE);
    CHECK(buffer != NULL);
    if (test_failed()) {
        free(buffer);
        return;
    }
    const uint64_t count = 1500;
    uint64_t big = 0;
    for (uint64_t i = 0; i < count; i++)
        big += mixed_length(i) != 64;
    seg_geometry g;
    CHECK_RC(sipc_geometry_for(SIPC_DEFAULT_MAX_MESSAGE, SIPC_DEFAULT_QUEUE_DEPTH, &g), SIPC_OK);
    CHECK(big * sipc_record_size(60 * 1024) > 10 * g.ring_bytes && count < g.index_count);
    mixed_peer producer = {server, count, SIPC_OK}, consumer = {client, count, SIPC_OK};
    sipc_os_thread producing, consuming;
    CHECK(sipc_os_thread_create(&consuming, mixed_consumer, &consumer) == SIPC_OK);
    CHECK(sipc_os_thread_create(&producing, mixed_producer, &producer) == SIPC_OK);
    if (test_failed()) {
        free(buffer);
        return;
    }
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    const seg_ring *ring = &((const seg_header *)map.base)->rings[SIPC_DIR_TO_CLIENT];
    uint64_t seen = 0, furthest = 0; /* the most bytes the producer was seen ahead of the record just copied */
    while (seen < count && !test_failed()) {
        sipc_observed_message m = {.struct_size = sizeof m};
        const uint32_t length = mixed_length(seen);
        int rc = sipc_observer_next(ob, buffer, SIPC_DEFAULT_MAX_MESSAGE, &m, 10000);
        if (rc != SIPC_OK || m.kind != SIPC_OBSERVED_MESSAGE || m.sequence != seen || m.missed != 0 ||
            m.length != length || m.copied != length || !message_check(buffer, length, 42, seen)) {
            test_fail(__FILE__, __LINE__, "message %llu: %s, sequence %llu, %u B, %llu missed",
                      (unsigned long long)seen, sipc_status_name(rc), (unsigned long long)m.sequence,
                      (unsigned)m.length, (unsigned long long)m.missed);
            break;
        }
        /* Its cursor is at most seen + 1 now: the producer is never more than the ring ahead of the end of the
         * record just copied (no entry is reused: count < index_count). */
        const uint64_t end =
            __atomic_load_n(sipc_index_entry(map.base, &g, SIPC_DIR_TO_CLIENT, seen), __ATOMIC_ACQUIRE) +
            sipc_record_size(length);
        const uint64_t ahead = __atomic_load_n(&ring->write_pos, __ATOMIC_ACQUIRE) - end;
        if (ahead > g.ring_bytes)
            test_fail(__FILE__, __LINE__, "message %llu: the producer is %llu bytes ahead of its record's end",
                      (unsigned long long)seen, (unsigned long long)ahead);
        furthest = ahead > furthest ? ahead : furthest;
        seen++;
        if (seen % 97 == 0)
            sleep_ms(2); /* the producer runs a ring of 60 KiB records ahead meanwhile, and waits */
    }
    if (test_failed())
        sipc_observer_close(ob), ob = NULL; /* frees a producer held by it */
    sipc_os_thread_join(&producing);
    sipc_os_thread_join(&consuming);
    CHECK_RC(producer.status, SIPC_OK);
    CHECK_RC(consumer.status, SIPC_OK);
    CHECK(seen == count);
    /* It did run ahead by most of the ring's bytes (held there, not by the 4,096 entries' count). */
    CHECK(furthest > g.ring_bytes / 2);
    raw_close(&map);
    sipc_observer_stats stats = {.struct_size = sizeof stats};
    if (ob != NULL) {
        CHECK_RC(sipc_observer_get_stats(ob, &stats), SIPC_OK);
        CHECK(stats.messages == count && stats.missed == 0);
    }
    free(buffer);
    observed_pair_close(ob, server, client);
}

/* A client that died within a send left write_pos past a complete record it never published (forged here as such a
 * client would leave it). The next client starts where the last published record ends (realign_write_pos), so the
 * server, which finds each next record where the one it took last ended, receives the new client's message, never
 * the abandoned one. */
void test_ring_next_producer_writes_over_an_unpublished_record(void)
{
    const char *name = test_name("ringabandon");
    sipc_channel *server = NULL, *client = NULL;
    ring_pair_open(name, 4096, 4, &server, &client);
    uint8_t buffer[4096];
    for (uint64_t i = 0; i < 5 && !test_failed(); i++) {
        message_fill(buffer, 100, 7, i);
        CHECK_RC(sipc_send(client, buffer, 100, 1000), SIPC_OK);
        size_t got = 0;
        CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &got, 1000), SIPC_OK);
        CHECK(got == 100 && message_check(buffer, 100, 7, i));
    }
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    seg_geometry g;
    CHECK_RC(sipc_validate_header(map.base, map.size, &g), SIPC_OK);
    if (test_failed())
        return;
    seg_ring *ring = &((seg_header *)map.base)->rings[SIPC_DIR_TO_SERVER];
    const uint64_t head = ring->head, end = ring->write_pos;
    CHECK(head == 5 && end == 5 * sipc_record_size(100));
    /* What the dead client left: message `head` complete at `end`, its index entry and write_pos moved, head not. */
    seg_slot_header *abandoned = sipc_record_at(map.base, &g, SIPC_DIR_TO_SERVER, end);
    abandoned->length = 9;
    abandoned->session = ((seg_header *)map.base)->roles[SIPC_ROLE_INDEX_CLIENT].session;
    abandoned->to_session = 0;
    sipc_ring_copy_in(map.base, &g, SIPC_DIR_TO_SERVER, end + SIPC_SLOT_HEADER_SIZE, "abandoned", 9);
    abandoned->stamp = 2 * head + 2;
    *sipc_index_entry(map.base, &g, SIPC_DIR_TO_SERVER, head) = end;
    ring->write_pos = end + sipc_record_size(9);
    CHECK_RC(sipc_close(client), SIPC_OK);

    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK(ring->write_pos == end); /* where the last published record ends */
    CHECK_RC(sipc_connect(client, 1000), SIPC_OK);
    CHECK_RC(sipc_connect(server, 1000), SIPC_OK);
    CHECK_RC(sipc_send(client, "the next client", 15, 1000), SIPC_OK);
    size_t got = 0;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &got, 1000), SIPC_OK);
    if (got != 15 || memcmp(buffer, "the next client", 15) != 0)
        test_fail(__FILE__, __LINE__, "the server received \"%.*s\"", (int)got, (const char *)buffer);
    CHECK(*sipc_index_entry(map.base, &g, SIPC_DIR_TO_SERVER, head) == end);
    raw_close(&map);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* sipc_ring_fill_below (the observer's per-message test, without a division) agrees with sipc_ring_fill < limit for
 * every geometry shape: index or bytes the fuller, byte counts on and beside the rounding steps, and a whole ring. */
void test_ring_fill_below_agrees_with_fill(void)
{
    const uint32_t shapes[][2] = {{64, 16}, {64, 4}, {4096, 4}, {65536, 16}, {1000, 3}, {200, 7}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0] && !test_failed(); s++) {
        seg_geometry g;
        CHECK_RC(sipc_geometry_for(shapes[s][0], shapes[s][1], &g), SIPC_OK);
        if (test_failed())
            return;
        const uint64_t limits[] = {0, 1, 2, g.index_count / 8, g.index_count / 2, g.index_count, g.index_count + 1};
        const uint64_t step = g.ring_bytes / g.index_count ? g.ring_bytes / g.index_count : 1;
        for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
            for (uint64_t messages = 0; messages <= g.index_count + 1; messages += g.index_count / 5 + 1) {
                for (uint64_t bytes = 0; bytes <= g.ring_bytes + 64; bytes += step / 3 + 1) {
                    int below = sipc_ring_fill_below(&g, messages, bytes, limits[l]);
                    if (below != (sipc_ring_fill(&g, messages, bytes) < limits[l])) {
                        test_fail(__FILE__, __LINE__, "fill_below disagrees");
                        return;
                    }
                }
                /* On each side of the byte count that makes the share reach the limit. */
                if (limits[l] > 0 && limits[l] <= g.index_count) {
                    uint64_t edge = (limits[l] - 1u) * g.ring_bytes / g.index_count;
                    for (uint64_t bytes = edge > 2 ? edge - 2 : 0; bytes <= edge + 2; bytes++)
                        CHECK(sipc_ring_fill_below(&g, messages, bytes, limits[l]) ==
                              (sipc_ring_fill(&g, messages, bytes) < limits[l]));
                }
            }
        }
    }
}
