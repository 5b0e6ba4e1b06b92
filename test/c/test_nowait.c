/*
 * test_nowait.c — nowait.h, the calls of an event loop's thread (sipc_async_channel_send_now, connect_now, info):
 * they answer from the shared state and what the handle knows, and leave whatever needs another process looked up
 * (adopting a peer, a lossless observer's liveness) to a call that may wait. That they touch no file is shown by
 * test/node/main-thread-files.test.mjs (strace); here, what they answer.
 */
#include "harness.h"
#include "layout.h"
#include "nowait.h"
#include "observe_helpers.h"
#include "sipc_async.h"

#include <string.h>

static void ignore_notify(uint32_t token)
{
    (void)token;
}

/* sipc_channel_info_known's snapshot; a failure is the test's (state 0 then matches no expectation). */
static sipc_channel_info known_info(sipc_channel *channel)
{
    sipc_channel_info info = {.struct_size = sizeof info};
    int rc = sipc_channel_info_known(channel, &info);
    if (rc != SIPC_OK)
        test_fail(__FILE__, __LINE__, "sipc_channel_info_known returned %s", sipc_status_name(rc));
    return info;
}

void test_nowait_calls_leave_the_peer_to_a_call_that_may_wait(void)
{
    const char *name = test_name("nowait");
    sipc_options o = options_with(16, 2);
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
    sipc_channel_info small = {.struct_size = sizeof small - 1};
    CHECK_RC(sipc_channel_info_known(server, &small), SIPC_ERR_INVALID_ARGUMENT);

    /* Nobody there. */
    CHECK_RC(sipc_channel_connect_now(server), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_channel_send_now(server, "x", 1), SIPC_ERR_NOT_CONNECTED);
    sipc_channel_info info = known_info(server);
    CHECK(info.state == SIPC_STATE_WAITING && info.server_alive == 1 && info.client_alive == 0);

    /* A client attached: there, but this handle has not adopted it (adopting looks its process up). */
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_channel_connect_now(server), SIPC_CONNECT_NOW_UNADOPTED);
    CHECK_RC(sipc_channel_send_now(server, "x", 1), SIPC_ERR_NOT_CONNECTED);
    info = known_info(server);
    CHECK(info.state == SIPC_STATE_CONNECTED && info.server_alive == 1 && info.client_alive == 1);

    /* Adopted by a call that may look it up: now the main thread's calls go through. */
    CHECK_RC(sipc_connect(server, 0), SIPC_OK);
    CHECK_RC(sipc_channel_connect_now(server), SIPC_OK);
    CHECK_RC(sipc_channel_send_now(server, "1", 1), SIPC_OK);
    CHECK_RC(sipc_channel_send_now(server, "2", 1), SIPC_OK);
    CHECK_RC(sipc_channel_send_now(server, "3", 1), SIPC_ERR_TIMEOUT); /* the queue (2) is full */
    CHECK_RC(sipc_channel_send_now(server, NULL, 1), SIPC_ERR_INVALID_ARGUMENT);
    char big[17] = {0};
    CHECK_RC(sipc_channel_send_now(server, big, sizeof big), SIPC_ERR_TOO_BIG);
    char buffer[16];
    size_t length = 0;
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 1000), SIPC_OK);
    CHECK(length == 1 && buffer[0] == '1');
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 1000), SIPC_OK);
    CHECK(length == 1 && buffer[0] == '2');

    /* The client leaves: the adopted peer is gone; the messages it left would still count as connected. */
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_channel_connect_now(server), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_channel_send_now(server, "x", 1), SIPC_ERR_PEER_GONE);
    info = known_info(server);
    CHECK(info.state == SIPC_STATE_PEER_GONE && info.client_alive == 0 && info.client_pid == 0);

    /* The same through sipc_async, which maps "not adopted" to SIPC_ASYNC_PENDING (the native connect wait's). */
    sipc_async_channel *ach = NULL;
    CHECK_RC(sipc_async_channel_start(server, ignore_notify, 1, &ach), SIPC_OK);
    CHECK_RC(sipc_async_channel_send_now(NULL, "x", 1), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_async_channel_connect_now(NULL), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_async_channel_info(NULL, &info), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_async_channel_info(ach, NULL), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_async_channel_info(ach, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_PEER_GONE);
    CHECK_RC(sipc_async_channel_send_now(ach, "x", 1), SIPC_ERR_PEER_GONE);
    CHECK_RC(sipc_async_channel_connect_now(ach), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_async_channel_destroy(ach), SIPC_OK); /* closes the server */
    CHECK(!shm_exists(name));
}

/* A dead lossless observer holds the queue: send_now answers TIMEOUT and leaves it (telling that it is dead means
 * looking its process up); a send that may look drops it and goes through. */
void test_nowait_send_leaves_a_lossless_observer_to_a_send_that_may_look(void)
{
    child_plan plan;
    snprintf(plan.name, sizeof plan.name, "%s", test_name("nowaitob"));
    CHECK(test_pipe_open(&plan.ready) == 0);
    sipc_channel *server = NULL, *client = NULL;
    observed_pair_open(plan.name, &server, &client);
    if (test_failed())
        return;
    pid_t child = spawn_child(child_lossless_then_killed, &plan, sizeof plan);
    char ready;
    CHECK(pipe_read(plan.ready.read_end, &ready, 1) == 1);
    CHECK(reap_child(child) == 128 + 9);
    /* A ring of observed_history() slots, all taken by the reader: now the observer's cursor alone holds the next one. */
    CHECK_RC(observed_passes(server, client, 0, observed_history(), 5000), SIPC_OK);
    uint8_t message[64] = {0};
    CHECK_RC(sipc_channel_send_now(server, message, sizeof message), SIPC_ERR_TIMEOUT);
    raw_map map;
    CHECK(raw_open(plan.name, &map) == 0);
    const seg_header *h = (const seg_header *)map.base;
    uint32_t states = SIPC_CLAIM_STATE(h->observers[0].claim) | SIPC_CLAIM_STATE(h->observers[1].claim) << 8;
    CHECK(states == SIPC_OBSERVER_ACTIVE || states == SIPC_OBSERVER_ACTIVE << 8);
    CHECK_RC(sipc_send(server, message, sizeof message, 0), SIPC_OK);
    states = SIPC_CLAIM_STATE(h->observers[0].claim) | SIPC_CLAIM_STATE(h->observers[1].claim) << 8;
    CHECK(states == SIPC_OBSERVER_DROPPED_DEAD || states == SIPC_OBSERVER_DROPPED_DEAD << 8);
    raw_close(&map);
    test_pipe_close(&plan.ready);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

typedef struct peer_plan {
    char name[SIPC_NAME_MAX + 1];
} peer_plan;

/* Connects as the client, waits for one message, and dies without closing: its role stays attached. */
static int child_client_killed_after_a_message(void *arg)
{
    peer_plan *plan = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(plan->name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_connect(ch, 20000) == SIPC_OK);
    uint8_t buffer[16];
    size_t length = 0;
    CHILD_CHECK(sipc_recv(ch, buffer, sizeof buffer, &length, 60000) == SIPC_OK);
    kill_self();
    return 1;
}

/* The peer dies with its role attached: the handle's process watcher learns it, and the known liveness says so
 * without a look-up, as sipc_info (which looks) does. */
void test_nowait_info_reports_the_death_the_watcher_saw(void)
{
    peer_plan plan;
    snprintf(plan.name, sizeof plan.name, "%s", test_name("nowaitkill"));
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(plan.name, NULL, &server), SIPC_OK);
    pid_t child = spawn_child(child_client_killed_after_a_message, &plan, sizeof plan);
    CHECK_RC(sipc_connect(server, 20000), SIPC_OK);
    sipc_channel_info info = known_info(server);
    CHECK(info.state == SIPC_STATE_CONNECTED && info.client_alive == 1 && info.client_pid == (int64_t)child);
    CHECK_RC(sipc_send(server, "die", 3, 5000), SIPC_OK);
    char buffer[16];
    size_t length = 0;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, SIPC_INFINITE), SIPC_ERR_PEER_GONE);
    CHECK(wait_child_exited(child, 20000) == 1); /* not reaped: its pid cannot be reused meanwhile */
    info = known_info(server);
    CHECK(info.client_pid == (int64_t)child); /* still attached in the segment */
    CHECK(info.state == SIPC_STATE_PEER_GONE && info.client_alive == 0 && info.server_alive == 1);
    sipc_channel_info looked = {.struct_size = sizeof looked};
    CHECK_RC(sipc_info(server, &looked), SIPC_OK);
    CHECK(looked.state == info.state && looked.client_alive == info.client_alive);
    CHECK(reap_child(child) == 128 + 9);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* An async observer's info looks up no process either: a holder killed with its role attached reads as gone once the
 * observer's events reported its death (the copying thread looks every 100 ms), as sipc_observer_info (which looks)
 * says. */
void test_nowait_observer_info_reports_the_death_its_events_saw(void)
{
    peer_plan plan;
    snprintf(plan.name, sizeof plan.name, "%s", test_name("nowaitob2"));
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(plan.name, NULL, &server), SIPC_OK);
    sipc_observe_options options;
    sipc_observe_options_init(&options);
    options.flags = SIPC_OBSERVE_EVENTS;
    sipc_observer *observer = NULL;
    CHECK_RC(sipc_observe_ex(plan.name, &options, &observer), SIPC_OK);
    sipc_async_observer *h = NULL;
    CHECK_RC(sipc_async_observer_start(observer, 64, ignore_notify, 1, &h), SIPC_OK);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_async_observer_info(NULL, &info), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_async_observer_info(h, NULL), SIPC_ERR_INVALID_ARGUMENT);
    pid_t child = spawn_child(child_client_killed_after_a_message, &plan, sizeof plan);
    CHECK_RC(sipc_connect(server, 20000), SIPC_OK);
    CHECK_RC(sipc_async_observer_info(h, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_CONNECTED && info.client_alive == 1 && info.client_pid == (int64_t)child);
    CHECK_RC(sipc_send(server, "die", 3, 5000), SIPC_OK);
    CHECK(wait_child_exited(child, 20000) == 1); /* not reaped: its pid cannot be reused meanwhile */
    /* A state, waited for: the observer's next look at the holders (within 100 ms) reports the death. */
    uint64_t give_up = now_ns() + 20000000000ull;
    do {
        CHECK_RC(sipc_async_observer_info(h, &info), SIPC_OK);
        if (info.client_alive == 0)
            break;
        sleep_ms(10);
    } while (now_ns() < give_up);
    CHECK(info.client_alive == 0 && info.client_pid == (int64_t)child && info.state == SIPC_STATE_PEER_GONE);
    sipc_channel_info looked = {.struct_size = sizeof looked};
    CHECK_RC(sipc_observer_info(observer, &looked), SIPC_OK);
    CHECK(looked.state == info.state && looked.client_alive == 0 && looked.server_alive == info.server_alive);
    CHECK(reap_child(child) == 128 + 9);
    CHECK_RC(async_observer_destroy_once_notified(h), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}
