/*
 * test_hostile.c — a hostile or buggy process writes garbage into a live segment: the library
 * must answer CORRUPT / VERSION, never crash or read out of bounds (ASan checks the latter).
 */
#include "harness.h"
#include "layout.h"

#include <stdlib.h>
#include <string.h>

/* A connected pair of a small channel (128 B messages, depth 4) and an observer of it, for the tests that then
 * write garbage into its segment. A failed step is recorded as the test's failure (test_failed()). */
static void watched_pair_open(const char *name, sipc_channel **server, sipc_channel **client, sipc_observer **ob)
{
    sipc_options o = options_with(128, 4);
    CHECK_RC(sipc_open(name, &o, server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, client), SIPC_OK);
    CHECK_RC(sipc_connect(*server, 1000), SIPC_OK);
    CHECK_RC(sipc_connect(*client, 1000), SIPC_OK);
    CHECK_RC(sipc_observe(name, ob), SIPC_OK);
}

/* The record header of message seq of direction d, found through its index entry as the library finds it. */
static seg_slot_header *queued_slot(uint8_t *base, const seg_geometry *g, int d, uint64_t seq)
{
    return sipc_record_at(base, g, d, *sipc_index_entry(base, g, d, seq));
}

void test_hostile_ring_indices(void)
{
    const char *name = test_name("hring");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = NULL;
    watched_pair_open(name, &server, &client, &ob);
    if (test_failed())
        return;
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    seg_header *h = (seg_header *)map.base;
    seg_ring *ring = &h->rings[SIPC_DIR_TO_CLIENT];
    uint8_t buffer[128];
    size_t length;
    sipc_observed_message m = {.struct_size = sizeof m};

    /* head far ahead of tail */
    ring->head = ring->tail + 1000;
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_ERR_CORRUPT);
    CHECK_RC(sipc_peek_size(client, &length, 0), SIPC_ERR_CORRUPT);
    CHECK_RC(sipc_send(server, "x", 1, 0), SIPC_ERR_CORRUPT);
    /* tail beyond head */
    ring->head = 0;
    ring->tail = 5;
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_ERR_CORRUPT);
    CHECK_RC(sipc_send(server, "x", 1, 0), SIPC_ERR_CORRUPT);
    /* the observer saw head 0; a head that goes backwards is corrupt to it */
    ring->head = UINT64_MAX;
    ring->tail = UINT64_MAX - 2;
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_ERR_CORRUPT);
    ring->head = 0;
    ring->tail = 0;
    CHECK_RC(sipc_send(server, "ok", 2, 0), SIPC_OK);
    /* a published slot with an impossible length, then with a wrong stamp */
    seg_geometry g;
    CHECK_RC(sipc_validate_header(map.base, map.size, &g), SIPC_OK);
    seg_slot_header *slot = queued_slot(map.base, &g, SIPC_DIR_TO_CLIENT, 0);
    slot->length = 1u << 30;
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_ERR_CORRUPT);
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_ERR_CORRUPT);
    slot->length = 2;
    slot->stamp = 12345;
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_ERR_CORRUPT);
    slot->stamp = 2;
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_OK);
    CHECK(length == 2 && memcmp(buffer, "ok", 2) == 0);
    /* The handles keep the geometry they validated at open: a shrunk max_message in shared
     * memory changes nothing for them, a grown one cannot make them overrun. */
    h->max_message = 1u << 20;
    h->queue_depth = 1;
    uint8_t big[256] = {0};
    CHECK_RC(sipc_send(server, big, 129, 0), SIPC_ERR_TOO_BIG);
    CHECK_RC(sipc_send(server, big, 128, 0), SIPC_OK);
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_OK);
    CHECK(length == 128);
    /* ...but new openers refuse the inconsistent header. */
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_ERR_CORRUPT);
    sipc_observer *ob2 = NULL;
    CHECK_RC(sipc_observe(name, &ob2), SIPC_ERR_CORRUPT);
    raw_close(&map);
    CHECK_RC(sipc_observer_close(ob), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* The observer loads the ring's head once per run of messages; each message of a run is still checked on its own: a
 * length field corrupted after the run's head was read, or a stamp that went back, is CORRUPT, never an overrun. */
void test_hostile_slot_within_a_run(void)
{
    const char *name = test_name("hrun");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = NULL;
    watched_pair_open(name, &server, &client, &ob);
    if (test_failed())
        return;
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    seg_geometry g;
    CHECK_RC(sipc_validate_header(map.base, map.size, &g), SIPC_OK);
    uint8_t buffer[128];
    size_t length;
    for (int i = 0; i < 3; i++) {
        CHECK_RC(sipc_send(server, "abc", 3, 0), SIPC_OK);
        CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_OK);
    }
    sipc_observed_message m = {.struct_size = sizeof m};
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_OK); /* message 0: the run is 0..2 */
    CHECK(m.sequence == 0 && m.copied == 3);
    seg_slot_header *slot = queued_slot(map.base, &g, SIPC_DIR_TO_CLIENT, 1);
    slot->length = 1u << 30;
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_ERR_CORRUPT);
    slot->length = 129; /* one past max_message */
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_ERR_CORRUPT);
    slot->length = 3;
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_OK);
    CHECK(m.sequence == 1 && m.copied == 3 && memcmp(buffer, "abc", 3) == 0);
    /* message 2's stamp goes back: head said it was published */
    slot = queued_slot(map.base, &g, SIPC_DIR_TO_CLIENT, 2);
    uint64_t stamp = slot->stamp;
    slot->stamp = 2;
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_ERR_CORRUPT);
    slot->stamp = stamp;
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_OK);
    CHECK(m.sequence == 2 && m.missed == 0);
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_ERR_TIMEOUT);
    /* a head that goes back below what the observer copied: a sequence number never does in one segment */
    seg_ring *ring = &((seg_header *)map.base)->rings[SIPC_DIR_TO_CLIENT];
    ring->head = 1;
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_ERR_CORRUPT);
    ring->head = 3;
    CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_ERR_TIMEOUT);
    raw_close(&map);
    CHECK_RC(sipc_observer_close(ob), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* Each corruption of the header makes open, stat and observe refuse with a clear status. */
void test_hostile_header_fields(void)
{
    const char *name = test_name("hhead");
    sipc_options o = options_with(128, 4);
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    seg_header *h = (seg_header *)map.base;
    seg_header saved;
    memcpy(&saved, h, sizeof saved);
    struct {
        const char *what;
        int expected;
    } cases[] = {
        {"magic", SIPC_ERR_CORRUPT},      {"version", SIPC_ERR_VERSION}, {"header_size", SIPC_ERR_CORRUPT},
        {"segment_size", SIPC_ERR_CORRUPT}, {"slot_size", SIPC_ERR_CORRUPT}, {"max_message", SIPC_ERR_CORRUPT},
        {"depth0", SIPC_ERR_CORRUPT},     {"name_length", SIPC_ERR_CORRUPT}, {"name_chars", SIPC_ERR_CORRUPT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(h, &saved, sizeof saved);
        const char *w = cases[i].what;
        if (strcmp(w, "magic") == 0)
            h->magic = 0x4141414141414141ull;
        else if (strcmp(w, "version") == 0)
            h->version = 1; /* made by an implementation that locks with flock */
        else if (strcmp(w, "header_size") == 0)
            h->header_size = 64;
        else if (strcmp(w, "segment_size") == 0)
            h->segment_size *= 2;
        else if (strcmp(w, "slot_size") == 0)
            h->slot_size = 8;
        else if (strcmp(w, "max_message") == 0)
            h->max_message = 0xffffffffu;
        else if (strcmp(w, "depth0") == 0)
            h->queue_depth = 0;
        else if (strcmp(w, "name_length") == 0)
            h->name_length = 100000;
        else if (strcmp(w, "name_chars") == 0)
            h->name[0] = '/';
        sipc_channel_info info = {.struct_size = sizeof info};
        int rc = sipc_stat(name, &info);
        if (rc != cases[i].expected)
            test_fail(__FILE__, __LINE__, "%s: stat returned %s", w, sipc_status_name(rc));
        sipc_observer *ob = NULL;
        rc = sipc_observe(name, &ob);
        if (rc != cases[i].expected)
            test_fail(__FILE__, __LINE__, "%s: observe returned %s", w, sipc_status_name(rc));
        rc = sipc_open(name, NULL, &client);
        if (rc != cases[i].expected)
            test_fail(__FILE__, __LINE__, "%s: open returned %s", w, sipc_status_name(rc));
        if (rc == SIPC_OK)
            sipc_close(client);
    }
    CHECK(!test_failed());
    CHECK(strstr(sipc_strerror(SIPC_ERR_VERSION), "version") != NULL);
    /* A corrupt channel is removed only by force. */
    h->magic = 1;
    CHECK_RC(sipc_remove(name, 0), SIPC_ERR_CORRUPT);
    CHECK_RC(sipc_remove(name, 1), SIPC_OK);
    raw_close(&map);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

static uint64_t xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Random garbage over the header and rings of a live channel, then every call: no crash. */
void test_hostile_random_garbage(void)
{
    const char *name = test_name("hgarbage");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = NULL;
    watched_pair_open(name, &server, &client, &ob);
    if (test_failed())
        return;
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    uint8_t *saved = malloc(map.size);
    memcpy(saved, map.base, map.size);
    uint64_t state = 0x1234567887654321ull;
    int corrupt_seen = 0;
    for (int round = 0; round < 400; round++) {
        memcpy(map.base, saved, map.size);
        /* Keep the roles (so the peers stay "present") in half of the rounds. */
        int flips = 1 + (int)(xorshift(&state) % 16);
        for (int f = 0; f < flips; f++) {
            size_t at = (size_t)(xorshift(&state) % map.size);
            if (round % 2 == 0 && at >= offsetof(seg_header, roles) && at < offsetof(seg_header, wait_word))
                continue;
            if (xorshift(&state) % 3 == 0 && at + 8 <= map.size) {
                uint64_t v = xorshift(&state);
                memcpy(map.base + at, &v, 8);
            } else {
                map.base[at] = (uint8_t)xorshift(&state);
            }
        }
        uint8_t buffer[128];
        size_t length;
        sipc_observed_message m = {.struct_size = sizeof m};
        sipc_channel_info info = {.struct_size = sizeof info};
        int results[7];
        results[0] = sipc_recv(client, buffer, sizeof buffer, &length, 0);
        results[1] = sipc_send(server, buffer, 16, 0);
        results[2] = sipc_peek_size(server, &length, 0);
        results[3] = sipc_observer_next(ob, buffer, sizeof buffer, &m, 0);
        results[4] = sipc_stat(name, &info);
        results[5] = sipc_info(server, &info);
        results[6] = sipc_connect(client, 0);
        /* What garbage in shared memory may legitimately lead to, per call: the answers of a working
         * channel, or CORRUPT/VERSION; never an argument, handle, OS or memory error. */
        static const char *const call_names[7] = {"recv", "send", "peek_size", "observer_next", "stat", "info", "connect"};
        static const int ok_for_all[] = {SIPC_OK, SIPC_ERR_CORRUPT, SIPC_ERR_VERSION};
        static const int extra[7][4] = {
            {SIPC_ERR_TIMEOUT, SIPC_ERR_PEER_GONE, SIPC_ERR_BUFFER_TOO_SMALL, SIPC_ERR_NOT_CONNECTED},
            {SIPC_ERR_TIMEOUT, SIPC_ERR_PEER_GONE, SIPC_ERR_NOT_CONNECTED, SIPC_OK},
            {SIPC_ERR_TIMEOUT, SIPC_ERR_PEER_GONE, SIPC_ERR_NOT_CONNECTED, SIPC_OK},
            {SIPC_ERR_TIMEOUT, SIPC_ERR_BUFFER_TOO_SMALL, SIPC_OK, SIPC_OK},
            {SIPC_ERR_NOT_FOUND, SIPC_ERR_NOT_A_CHANNEL, SIPC_OK, SIPC_OK}, /* the header names another channel */
            {SIPC_OK, SIPC_OK, SIPC_OK, SIPC_OK},
            {SIPC_ERR_TIMEOUT, SIPC_ERR_PEER_GONE, SIPC_OK, SIPC_OK},
        };
        for (int r = 0; r < 7; r++) {
            int allowed = 0;
            for (size_t a = 0; a < sizeof ok_for_all / sizeof ok_for_all[0]; a++)
                allowed |= results[r] == ok_for_all[a];
            for (int a = 0; a < 4; a++)
                allowed |= results[r] == extra[r][a];
            if (!allowed) {
                test_fail(__FILE__, __LINE__, "round %d: %s returned %s", round, call_names[r],
                          sipc_status_name(results[r]));
                return;
            }
            corrupt_seen |= results[r] == SIPC_ERR_CORRUPT;
        }
        sipc_observer *ob2 = NULL;
        if (sipc_observe(name, &ob2) == SIPC_OK) {
            (void)sipc_observer_next(ob2, buffer, sizeof buffer, &m, 0);
            sipc_observer_close(ob2);
        }
    }
    CHECK(corrupt_seen);
    memcpy(map.base, saved, map.size);
    free(saved);
    raw_close(&map);
    sipc_observer_close(ob);
    sipc_close(client);
    sipc_close(server);
}

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes this process read through read-like system calls so far (Linux: rchar of /proc/self/io); 0 elsewhere. */
static uint64_t bytes_read_by_this_process(void)
{
    unsigned long long rchar = 0;
#if defined(__linux__)
    FILE *io = fopen("/proc/self/io", "r");
    if (io != NULL) {
        if (fscanf(io, "rchar: %llu", &rchar) != 1)
            rchar = 0;
        fclose(io);
    }
#endif
    return (uint64_t)rchar;
}

/* A file under the sipc prefix that is not a sipc segment at all (too small, wrong size). POSIX-only by
 * nature: the object is a /dev/shm file a stranger sized at will; on Windows a key names the library's
 * own sections, fixed in size at creation (test/wine/win_tests.c covers squatted ones). */
void test_hostile_foreign_objects(void)
{
    const char *name = test_name("hforeign");
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(name, key);
    char path[64];
    snprintf(path, sizeof path, "/%s", key);
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 100) == 0);
    CHECK(write(fd, "garbage", 7) == 7);
    sipc_channel *ch = NULL;
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_ERR_CORRUPT);
    CHECK_RC(sipc_stat(name, &info), SIPC_ERR_CORRUPT);
    sipc_observer *ob = NULL;
    CHECK_RC(sipc_observe(name, &ob), SIPC_ERR_CORRUPT);
    /* A header for one geometry inside an object of another size. */
    seg_geometry g;
    CHECK_RC(sipc_geometry_for(128, 4, &g), SIPC_OK);
    CHECK(ftruncate(fd, (off_t)g.segment_size + 4096) == 0);
    seg_header header;
    memset(&header, 0, sizeof header);
    header.magic = SIPC_LAYOUT_MAGIC;
    header.version = SIPC_LAYOUT_VERSION;
    header.header_size = SIPC_HEADER_SIZE;
    header.segment_size = g.segment_size;
    header.max_message = 128;
    header.queue_depth = 4;
    header.slot_size = g.slot_size;
    header.name_length = (uint32_t)strlen(name);
    memcpy(header.name, name, header.name_length);
    CHECK(pwrite(fd, &header, sizeof header, 0) == (ssize_t)sizeof header);
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_ERR_CORRUPT);
    /* A huge sparse object: refused from the header alone, nothing of it is read. Counted, not timed: pages touched
     * through a mapping would be populated (st_blocks), and bytes read by read(2) show in this process's rchar
     * (tmpfs hands out holes without populating them). */
    CHECK(ftruncate(fd, (off_t)8 << 30) == 0);
    uint64_t read_before = bytes_read_by_this_process();
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_ERR_CORRUPT);
    CHECK_RC(sipc_stat(name, &info), SIPC_ERR_CORRUPT);
    CHECK(bytes_read_by_this_process() - read_before < (1u << 20));
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    CHECK(st.st_blocks * 512 < (1 << 20));
    /* The right size: it is a valid (stale) segment and gets reinitialised. */
    CHECK(ftruncate(fd, (off_t)g.segment_size) == 0);
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_STALE);
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    CHECK(sipc_get_role(ch) == SIPC_ROLE_SERVER);
    CHECK_RC(sipc_close(ch), SIPC_OK);
    close(fd);
    /* An empty object that nobody initialises is given up on and replaced. */
    fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    close(fd);
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_EMPTY);
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    CHECK(sipc_get_role(ch) == SIPC_ROLE_SERVER);
    CHECK_RC(sipc_close(ch), SIPC_OK);
}
#endif /* !_WIN32 */

/* Passes `count` messages of 128 B from server to client (each taken), so that the ring's write_pos moves on. */
static void hostile_passes(sipc_channel *server, sipc_channel *client, uint64_t count)
{
    uint8_t buffer[128];
    size_t length;
    for (uint64_t i = 0; i < count && !test_failed(); i++) {
        message_fill(buffer, sizeof buffer, 31, i);
        CHECK_RC(sipc_send(server, buffer, sizeof buffer, 0), SIPC_OK);
        CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_OK);
    }
}

/* Layout 4's index and positions are untrusted too: the index entry of a queued message that is misaligned, past
 * write_pos or more than the ring behind it names no record the producer could have written, and a write_pos past
 * the largest position is no ring's: receive, peek and send say CORRUPT (never read or write out of the ring), and
 * the channel works again once the fields are put back. A receiver reads the index only when the record after the last
 * one it took is not its next message, so the record there is spoilt while the entries are forged. */
void test_hostile_index_entries_and_positions(void)
{
    const char *name = test_name("hindex");
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = NULL;
    watched_pair_open(name, &server, &client, &ob);
    if (test_failed())
        return;
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    seg_geometry g;
    CHECK_RC(sipc_validate_header(map.base, map.size, &g), SIPC_OK);
    if (test_failed())
        return;
    seg_ring *ring = &((seg_header *)map.base)->rings[SIPC_DIR_TO_CLIENT];
    /* More than a ring's bytes first, so that "more than the ring behind" is a position >= 0. */
    const uint64_t laps = g.ring_bytes / sipc_record_size(128) + 3;
    hostile_passes(server, client, laps);
    CHECK(ring->write_pos > g.ring_bytes);
    CHECK_RC(sipc_send(server, "ok", 2, 0), SIPC_OK);
    const uint64_t tail = ring->tail;
    uint64_t *entry = sipc_index_entry(map.base, &g, SIPC_DIR_TO_CLIENT, tail);
    const uint64_t pos = *entry, write_pos = ring->write_pos;
    CHECK(pos % SIPC_SLOT_ALIGN == 0 && write_pos == pos + sipc_record_size(2));
    const struct {
        const char *what;
        uint64_t entry;
    } forged[] = {
        {"misaligned by 8", pos + 8},
        {"misaligned by 1", pos + 1},
        {"a record of the ring's end, misaligned", pos - sipc_modulo(pos, g.ring_bytes) + g.ring_bytes - 8},
        {"at write_pos", write_pos},
        {"past write_pos", write_pos + SIPC_SLOT_ALIGN},
        {"far past write_pos", UINT64_MAX - 63},
        {"more than the ring behind", write_pos - g.ring_bytes - SIPC_SLOT_ALIGN},
        {"the ring behind (a record since overwritten)", write_pos - g.ring_bytes},
    };
    uint8_t buffer[128];
    size_t length;
    /* Where the last record taken ended, the entry forged: the receiver finds its message there without the index. */
    *entry = pos + 8;
    CHECK_RC(sipc_peek_size(client, &length, 0), SIPC_OK);
    CHECK(length == 2);
    seg_slot_header *queued = sipc_record_at(map.base, &g, SIPC_DIR_TO_CLIENT, pos);
    const uint64_t stamp = queued->stamp;
    queued->stamp = 0;
    for (size_t f = 0; f < sizeof forged / sizeof forged[0] && !test_failed(); f++) {
        *entry = forged[f].entry;
        int rc_recv = sipc_recv(client, buffer, sizeof buffer, &length, 0);
        int rc_peek = sipc_peek_size(client, &length, 0);
        /* An entry at write_pos names no record either: a published one ends there at the latest. */
        int rc_send = sipc_send(server, "x", 1, 0);
        /* The ring behind exactly is a position the ring could hold: the producer finds no room before it (a full
         * ring), so the send waits (TIMEOUT at 0 ms); the receiver finds another record there (CORRUPT). */
        int send_ok = rc_send == SIPC_ERR_CORRUPT || (forged[f].entry == write_pos - g.ring_bytes && rc_send == SIPC_ERR_TIMEOUT);
        if (rc_recv != SIPC_ERR_CORRUPT || rc_peek != SIPC_ERR_CORRUPT || !send_ok)
            test_fail(__FILE__, __LINE__, "index entry %s: recv %s, peek %s, send %s", forged[f].what,
                      sipc_status_name(rc_recv), sipc_status_name(rc_peek), sipc_status_name(rc_send));
        CHECK(ring->tail == tail && ring->write_pos == write_pos); /* nothing taken, nothing written */
    }
    queued->stamp = stamp;
    *entry = pos;
    /* A write_pos past the largest position a ring may reach: every send is CORRUPT (the position arithmetic could
     * wrap), and so is the queued message, which it leaves more than the ring behind. */
    static const uint64_t huge[] = {SIPC_RING_POSITION_MAX + SIPC_SLOT_ALIGN, UINT64_MAX - 63, UINT64_MAX};
    for (size_t k = 0; k < sizeof huge / sizeof huge[0] && !test_failed(); k++) {
        ring->write_pos = huge[k];
        CHECK_RC(sipc_send(server, "x", 1, 0), SIPC_ERR_CORRUPT);
        CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_ERR_CORRUPT);
        CHECK(ring->write_pos == huge[k] && ring->head == tail + 1);
    }
    /* With no message queued, a huge write_pos is still refused by send. */
    ring->write_pos = write_pos;
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_OK);
    CHECK(length == 2 && memcmp(buffer, "ok", 2) == 0);
    ring->write_pos = SIPC_RING_POSITION_MAX + SIPC_SLOT_ALIGN;
    CHECK_RC(sipc_send(server, "x", 1, 0), SIPC_ERR_CORRUPT);
    ring->write_pos = write_pos;
    CHECK_RC(sipc_send(server, "ok", 2, 0), SIPC_OK);
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_OK);
    CHECK(length == 2 && memcmp(buffer, "ok", 2) == 0);
    raw_close(&map);
    CHECK_RC(sipc_observer_close(ob), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* An observer reads the record an index entry names before it knows the record is whole (find_next): a forged entry or
 * frontier must cost it at most a miss or CORRUPT, never a read outside the ring. The channel is one whose segment ends
 * on a page boundary at the end of direction 1's ring (max_message 2120, depth 31: 1,175,552 bytes), so that a record header
 * read across that ring's end would fault. Every answer is one a working or corrupt channel gives. */
void test_hostile_forged_frontier_and_index_for_an_observer(void)
{
    const char *name = test_name("hfront");
    sipc_options o = options_with(2120, 31);
    sipc_channel *server = NULL, *client = NULL;
    sipc_observer *ob = NULL;
    CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_connect(server, 1000), SIPC_OK);
    CHECK_RC(sipc_connect(client, 1000), SIPC_OK);
    CHECK_RC(sipc_observe(name, &ob), SIPC_OK);
    if (test_failed())
        return;
    raw_map map;
    CHECK(raw_open(name, &map) == 0);
    seg_geometry g;
    CHECK_RC(sipc_validate_header(map.base, map.size, &g), SIPC_OK);
    if (test_failed())
        return;
    CHECK(g.segment_size % 4096 == 0 && g.ring_offset[1] + g.ring_bytes == g.segment_size);
    const int d = SIPC_DIR_TO_SERVER;
    seg_ring *ring = &((seg_header *)map.base)->rings[d];
    uint8_t buffer[8];
    size_t length;
    sipc_observed_message m = {.struct_size = sizeof m};
    const uint64_t frontiers[] = {0, 1, 64, g.ring_bytes - 8, UINT64_MAX, UINT64_MAX - 63, SIPC_RING_POSITION_MAX};
    const uint64_t entries[] = {g.ring_bytes - 8, g.ring_bytes - 1, 2 * g.ring_bytes - 8, UINT64_MAX, 8, 1};
    uint64_t sent = 0;
    for (size_t f = 0; f < sizeof frontiers / sizeof frontiers[0] + sizeof entries / sizeof entries[0] &&
                       !test_failed();
         f++) {
        /* Two messages toward the server; the observer looks once the fields are forged. */
        for (int k = 0; k < 2; k++, sent++) {
            CHECK_RC(sipc_send(client, NULL, 0, 0), SIPC_OK);
            CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 0), SIPC_OK);
        }
        const uint64_t frontier = ring->frontier, head = ring->head;
        uint64_t *entry = sipc_index_entry(map.base, &g, d, head - 1);
        const uint64_t saved = *entry;
        if (f < sizeof frontiers / sizeof frontiers[0])
            ring->frontier = frontiers[f];
        else
            *entry = entries[f - sizeof frontiers / sizeof frontiers[0]];
        for (int look = 0; look < 3; look++) {
            int rc = sipc_observer_next(ob, buffer, sizeof buffer, &m, 0);
            if (rc != SIPC_OK && rc != SIPC_ERR_TIMEOUT && rc != SIPC_ERR_CORRUPT)
                test_fail(__FILE__, __LINE__, "case %zu: observer_next returned %s", f, sipc_status_name(rc));
        }
        ring->frontier = frontier;
        *entry = saved;
        /* Put back, the observer follows again (a fresh one: the old may have found the ring CORRUPT). */
        CHECK_RC(sipc_observer_close(ob), SIPC_OK);
        ob = NULL;
        CHECK_RC(sipc_observe(name, &ob), SIPC_OK);
        if (test_failed())
            break;
        CHECK_RC(sipc_send(client, NULL, 0, 0), SIPC_OK);
        CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 0), SIPC_OK);
        sent++;
        CHECK_RC(sipc_observer_next(ob, buffer, sizeof buffer, &m, 0), SIPC_OK);
        CHECK(m.direction == d && m.sequence == sent - 1 && m.missed == 0 && m.length == 0);
    }
    raw_close(&map);
    if (ob != NULL)
        CHECK_RC(sipc_observer_close(ob), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}
