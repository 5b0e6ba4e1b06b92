/*
 * test_sessions.c — peers that come and go before the other side looks: connect counts every
 * session that began since the last one adopted, and each session's messages end with PEER_GONE.
 */
#include "harness.h"
#include "layout.h"
#include "waiting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BURST_MESSAGES 5u

typedef struct burst_plan {
    char name[SIPC_NAME_MAX + 1];
    uint32_t seed;      /* message contents */
    uint32_t count;
    uint32_t delay_us;  /* before opening */
} burst_plan;

/* Opens as client, sends `count` messages without ever calling connect, closes. */
static int child_send_burst(void *arg)
{
    burst_plan *plan = arg;
    if (plan->delay_us != 0)
        sleep_us(plan->delay_us);
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(plan->name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_get_role(ch) == SIPC_ROLE_CLIENT);
    uint8_t buffer[64];
    for (uint32_t i = 0; i < plan->count; i++) {
        uint32_t size = message_size(plan->seed, i, sizeof buffer);
        message_fill(buffer, size, plan->seed, i);
        CHILD_CHECK(sipc_send(ch, buffer, size, 5000) == SIPC_OK);
    }
    CHILD_CHECK(sipc_close(ch) == SIPC_OK);
    return 0;
}

/* Connects, sends "hello", expects "ack", closes. */
static int child_hello(void *arg)
{
    const char *name = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_connect(ch, 5000) == SIPC_OK);
    CHILD_CHECK(sipc_send(ch, "hello", 5, 5000) == SIPC_OK);
    char buffer[16];
    size_t length = 0;
    CHILD_CHECK(sipc_recv(ch, buffer, sizeof buffer, &length, 5000) == SIPC_OK);
    CHILD_CHECK(length == 3 && memcmp(buffer, "ack", 3) == 0);
    CHILD_CHECK(sipc_close(ch) == SIPC_OK);
    return 0;
}

static int receive_burst(sipc_channel *server, uint32_t seed, uint32_t count)
{
    uint8_t buffer[64];
    for (uint32_t i = 0; i < count; i++) {
        size_t length = 0;
        int rc = sipc_recv(server, buffer, sizeof buffer, &length, 5000);
        if (rc != SIPC_OK) {
            fprintf(stderr, "    message %u of seed %u: %s\n", i, seed, sipc_status_name(rc));
            return 0;
        }
        if (length != message_size(seed, i, sizeof buffer) || !message_check(buffer, (uint32_t)length, seed, i)) {
            fprintf(stderr, "    message %u of seed %u: wrong contents (%zu bytes)\n", i, seed, length);
            return 0;
        }
    }
    return 1;
}

static int wait_sent(sipc_channel *server, uint64_t messages)
{
    sipc_channel_info info = {.struct_size = sizeof info};
    for (int i = 0; i < 5000; i++) {
        if (sipc_info(server, &info) != SIPC_OK)
            return 0;
        if (info.to_server.messages >= messages && info.client_alive == 0)
            return 1;
        sleep_ms(1);
    }
    return 0;
}

/* The race that used to lose a one-shot sender: it attaches, sends and leaves before (or while)
 * the server calls connect. connect must count it, recv must deliver everything, then PEER_GONE. */
void test_departed_peer_before_connect(void)
{
    const char *name = test_name("oneshot");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    unsigned seed = test_seed();
    uint64_t sent = 0;
    for (uint32_t round = 0; round < 50; round++) {
        burst_plan plan = {.seed = seed + round, .count = BURST_MESSAGES, .delay_us = test_rand(&seed) % 2000u};
        snprintf(plan.name, sizeof plan.name, "%s", name);
        pid_t child = spawn_child(child_send_burst, &plan, sizeof plan);
        CHECK(child > 0);
        sent += plan.count;
        int reaped = 0;
        if (round % 5 == 0) {
            /* Certainly gone before we look. */
            CHECK(reap_child(child) == 0);
            reaped = 1;
            CHECK(wait_sent(server, sent));
        } else {
            sleep_us(test_rand(&seed) % 4000u);
        }
        CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
        if (!receive_burst(server, plan.seed, plan.count)) {
            test_fail(__FILE__, __LINE__, "round %u lost messages", round);
            return;
        }
        uint8_t buffer[64];
        size_t length = 0;
        CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_ERR_PEER_GONE);
        CHECK_RC(sipc_peek_size(server, &length, 0), SIPC_ERR_PEER_GONE);
        CHECK_RC(sipc_send(server, "late", 4, 0), SIPC_ERR_PEER_GONE);
        if (!reaped)
            CHECK(reap_child(child) == 0);
    }
    /* After that PEER_GONE, connect waits for the next session. */
    CHECK_RC(sipc_connect(server, 0), SIPC_ERR_TIMEOUT);
    pid_t child = spawn_child(child_hello, name, strlen(name) + 1);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    char buffer[16];
    size_t length = 0;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_OK);
    CHECK(length == 5 && memcmp(buffer, "hello", 5) == 0);
    CHECK_RC(sipc_send(server, "ack", 3, 5000), SIPC_OK);
    CHECK(reap_child(child) == 0);
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_ERR_PEER_GONE);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_info(server, &info), SIPC_OK);
    CHECK(info.connections == 51);
    CHECK(info.to_server.queued == 0);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* A departed peer's messages, then the next peer that attached meanwhile: each session in order,
 * separated by PEER_GONE, and nothing meant for the departed one reaches the next. */
static void departed_then_next(int connect_first)
{
    const char *name = test_name(connect_first ? "twoconn" : "tworecv");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    burst_plan plan = {.seed = 11, .count = 3};
    snprintf(plan.name, sizeof plan.name, "%s", name);
    pid_t first = spawn_child(child_send_burst, &plan, sizeof plan);
    CHECK(reap_child(first) == 0);
    pid_t second = spawn_child(child_hello, name, strlen(name) + 1);
    sipc_channel_info info = {.struct_size = sizeof info};
    for (int i = 0; i < 5000; i++) {
        CHECK_RC(sipc_info(server, &info), SIPC_OK);
        if (info.to_server.messages == 4)
            break;
        sleep_ms(1);
    }
    CHECK(info.to_server.messages == 4 && info.client_alive);
    /* A handle that never connected: recv adopts the oldest queued message's session. */
    if (connect_first)
        CHECK_RC(sipc_connect(server, 0), SIPC_OK);
    if (!receive_burst(server, plan.seed, plan.count)) {
        test_fail(__FILE__, __LINE__, "first peer's messages");
        return;
    }
    /* The first peer is gone: a reply must not go to the second one. */
    CHECK_RC(sipc_send(server, "ack", 3, 0), SIPC_ERR_PEER_GONE);
    size_t length = 0;
    CHECK_RC(sipc_peek_size(server, &length, 5000), SIPC_ERR_PEER_GONE);
    char buffer[16];
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_ERR_PEER_GONE);
    CHECK_RC(sipc_connect(server, 0), SIPC_OK);
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_OK);
    CHECK(length == 5 && memcmp(buffer, "hello", 5) == 0);
    CHECK_RC(sipc_send(server, "ack", 3, 5000), SIPC_OK);
    CHECK(reap_child(second) == 0);
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_ERR_PEER_GONE);
    CHECK_RC(sipc_connect(server, 0), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

void test_departed_then_next_peer(void)
{
    departed_then_next(1);
    departed_then_next(0);
}

/* A peer that attached and left without a word still counts as a session: connect returns, the
 * first recv says PEER_GONE at once, the next connect waits. */
void test_silent_departed_peer(void)
{
    const char *name = test_name("silent");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    sipc_channel *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_connect(server, 0), SIPC_OK);
    uint8_t buffer[8];
    size_t length = 0;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, SIPC_INFINITE), SIPC_ERR_PEER_GONE);
    CHECK_RC(sipc_connect(server, 0), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_connect(server, 50), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* Sleeps of the handle's waits so far (waiting.h). */
static uint64_t sleeps_of(sipc_channel *channel)
{
    sipc_wait_stats stats;
    sipc_channel_wait_stats(channel, &stats);
    return stats.sleeps;
}

/* A connect that times out after `timeout_ms` slept once, plus once per increment of the channel's attach word
 * while it waited (every attach, close and death report increments it, and each may end a sleep; `view` maps the
 * channel): polling would add a sleep every liveness slice. */
static int connect_sleeps_through(sipc_channel *server, const header_view *view, int32_t timeout_ms, const char *when)
{
    const uint32_t *attach_word = &view->header->wait_word[SIPC_WAIT_ATTACH];
    uint32_t word_before = SH_LOAD_ACQ(attach_word);
    uint64_t sleeps_before = sleeps_of(server);
    int rc = sipc_connect(server, timeout_ms);
    uint64_t sleeps = sleeps_of(server) - sleeps_before;
    uint32_t bumps = SH_LOAD_ACQ(attach_word) - word_before;
    if (rc != SIPC_ERR_TIMEOUT) {
        test_fail(__FILE__, __LINE__, "connect %s returned %s (TIMEOUT expected)", when, sipc_status_name(rc));
        return 0;
    }
    if (sleeps > 1u + bumps) {
        test_fail(__FILE__, __LINE__,
                  "connect %s slept %llu times in %d ms with %u wake-ups of the attach word "
                  "(at most %u expected)",
                  when, (unsigned long long)sleeps, timeout_ms, bumps, 1u + bumps);
        return 0;
    }
    return 1;
}

/* Waiting for a peer sleeps through: one sleep for the whole wait, no periodic wake-ups (attaches and
 * closes wake the attach word), before the first peer and after one left. Counted (the handle's
 * sleeps against the attach word's increments), not timed. */
void test_connect_wait_sleeps(void)
{
    const char *name = test_name("connsleep");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    header_view view;
    CHECK(header_view_open(name, &view) == 0);
    CHECK(connect_sleeps_through(server, &view, 600, "before any peer"));
    burst_plan plan = {.seed = 5, .count = 1};
    snprintf(plan.name, sizeof plan.name, "%s", name);
    pid_t child = spawn_child(child_send_burst, &plan, sizeof plan);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    CHECK(receive_burst(server, plan.seed, plan.count));
    uint8_t buffer[64];
    size_t length = 0;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_ERR_PEER_GONE);
    CHECK(reap_child(child) == 0);
    /* The watcher may report the departed child's exit (it wakes every wait word once) after this connect
     * began to sleep: one more sleep, counted by the word. */
    CHECK(connect_sleeps_through(server, &view, 600, "after a departed peer"));
    header_view_close(&view);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* A message whose recorded session is garbage ends the adopted session like a later peer's would,
 * and is then delivered: a hostile value neither hangs nor loses anything. */
void test_garbage_message_session(void)
{
    const char *name = test_name("garbsess");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    sipc_channel *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_connect(server, 0), SIPC_OK);
    CHECK_RC(sipc_send(client, "one", 3, 0), SIPC_OK);
    CHECK_RC(sipc_send(client, "two", 3, 0), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    /* Rewrite the second message's session through a mapping of our own. */
    raw_map view;
    CHECK(raw_open(name, &view) == 0);
    seg_geometry g;
    int valid = sipc_validate_header(view.base, view.size, &g) == SIPC_OK;
    if (valid)
        SH_STORE(&sipc_record_at(view.base, &g, SIPC_DIR_TO_SERVER,
                                 SH_LOAD(sipc_index_entry(view.base, &g, SIPC_DIR_TO_SERVER, 1)))
                      ->session,
                 0xdeadbeefu);
    raw_close(&view);
    CHECK(valid);
    char buffer[8];
    size_t length = 0;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 0), SIPC_OK);
    CHECK(length == 3 && memcmp(buffer, "one", 3) == 0);
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 0), SIPC_ERR_PEER_GONE);
    CHECK_RC(sipc_connect(server, 0), SIPC_OK);
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 0), SIPC_OK);
    CHECK(length == 3 && memcmp(buffer, "two", 3) == 0);
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 0), SIPC_ERR_PEER_GONE);
    /* The client's own session may come back once as an empty one (the garbage one was adopted in
     * between); after that, nothing is left to adopt. */
    int rc = sipc_connect(server, 0);
    if (rc == SIPC_OK) {
        CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 0), SIPC_ERR_PEER_GONE);
        rc = sipc_connect(server, 0);
    }
    CHECK_RC(rc, SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_close(server), SIPC_OK);
}
