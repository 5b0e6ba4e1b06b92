/*
 * test_transfer.c — send and recv between two processes: message sizes, buffers too small,
 * delivery after the sender left, timeouts and backpressure.
 */
#include "harness.h"
#include "layout.h"
#include "waiting.h"

#include <stdlib.h>
#include <string.h>
/* ---- send / recv ---- */

/* Opens `name` with `flags`, then echoes every message until the peer leaves. */
static int echo_until_peer_gone(const char *name, uint32_t flags)
{
    sipc_options o;
    sipc_options_init(&o);
    o.flags = flags;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(name, &o, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_connect(ch, 5000) == SIPC_OK);
    uint32_t max = sipc_max_message_size(ch);
    uint8_t *buffer = malloc(max ? max : 1);
    for (;;) {
        size_t length = 0;
        int rc = sipc_recv(ch, buffer, max, &length, 10000);
        if (rc == SIPC_ERR_PEER_GONE)
            break;
        CHILD_CHECK(rc == SIPC_OK);
        CHILD_CHECK(sipc_send(ch, buffer, length, 10000) == SIPC_OK);
    }
    free(buffer);
    sipc_close(ch);
    return 0;
}

static int child_echo(void *arg)
{
    return echo_until_peer_gone(arg, 0);
}

/* Like child_echo, but its handle never spins. */
static int child_echo_no_spin(void *arg)
{
    return echo_until_peer_gone(arg, SIPC_OPEN_NO_SPIN);
}

/* A handle opened with SIPC_OPEN_NO_SPIN never spins, even with a spin budget forced on it (the
 * control: the same forced budget makes a default handle spin), and still hands every message over,
 * in order, against a peer that spins and against one that does not. */
void test_no_spin(void)
{
    for (int server_spins = 0; server_spins <= 1; server_spins++) {
        const char *name = test_name(server_spins ? "nospin-mixed" : "nospin-both");
        sipc_options o = options_with(256, 2);
        o.flags = server_spins ? 0 : SIPC_OPEN_NO_SPIN;
        sipc_channel *server = NULL;
        CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
        pid_t child = spawn_child(child_echo_no_spin, name, strlen(name) + 1);
        CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
        sipc_channel_fix_spin(server, 50000);
        uint8_t out[256], in[256];
        for (uint32_t i = 0; i < 200; i++) {
            uint32_t size = i % 2 ? 256 : 64;
            message_fill(out, size, 7, i);
            CHECK_RC(sipc_send(server, out, size, 5000), SIPC_OK);
            size_t length = 0;
            CHECK_RC(sipc_recv(server, in, sizeof in, &length, 5000), SIPC_OK);
            CHECK(length == size);
            CHECK(message_check(in, size, 7, i));
        }
        sipc_wait_stats stats;
        sipc_channel_wait_stats(server, &stats);
        if (server_spins)
            CHECK(stats.spins > 0);
        else
            CHECK(stats.spins == 0 && stats.spin_hits == 0);
        CHECK_RC(sipc_close(server), SIPC_OK);
        CHECK(reap_child(child) == 0);
        CHECK(!shm_exists(name));
    }
}

void test_echo_sizes(void)
{
    const char *name = test_name("echo");
    sipc_options o = options_with(4096, 4);
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
    pid_t child = spawn_child(child_echo, name, strlen(name) + 1);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    static uint8_t out[4096], in[4096];
    const uint32_t sizes[] = {0, 1, 63, 64, 65, 4095, 4096};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        message_fill(out, sizes[i], 1, i);
        CHECK_RC(sipc_send(server, out, sizes[i], 5000), SIPC_OK);
        size_t length = 99999;
        CHECK_RC(sipc_peek_size(server, &length, 5000), SIPC_OK);
        CHECK(length == sizes[i]);
        CHECK_RC(sipc_recv(server, in, sizeof in, &length, 5000), SIPC_OK);
        CHECK(length == sizes[i]);
        CHECK(message_check(in, sizes[i], 1, i));
    }
    /* Zero-length with a NULL buffer of capacity 0 is legal both ways. */
    CHECK_RC(sipc_send(server, NULL, 0, 5000), SIPC_OK);
    size_t length = 1;
    CHECK_RC(sipc_recv(server, NULL, 0, &length, 5000), SIPC_OK);
    CHECK(length == 0);
    CHECK_RC(sipc_send(server, NULL, 5, 5000), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_recv(server, NULL, 5, &length, 0), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_recv(server, in, sizeof in, NULL, 0), SIPC_ERR_INVALID_ARGUMENT);
    /* Oversized: rejected whole, nothing reaches the peer. */
    CHECK_RC(sipc_send(server, out, 4097, 5000), SIPC_ERR_TOO_BIG);
    CHECK_RC(sipc_recv(server, in, sizeof in, &length, 100), SIPC_ERR_TIMEOUT);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_info(server, &info), SIPC_OK);
    CHECK(info.to_client.messages == sizeof sizes / sizeof sizes[0] + 1);
    CHECK(info.to_server.messages == sizeof sizes / sizeof sizes[0] + 1);
    CHECK(info.to_client.capacity == 4);
    CHECK(info.to_client.last_activity_ns > 0);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK(reap_child(child) == 0);
}

static int child_send_sequence(void *arg)
{
    const char *name = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(name, NULL, &ch) == SIPC_OK);
    uint8_t buffer[100];
    size_t length;
    if (strstr(name, "small") != NULL) {
        /* Wait until the parent is connected, so it sees this peer before it leaves. */
        CHILD_CHECK(sipc_connect(ch, 5000) == SIPC_OK);
        CHILD_CHECK(sipc_recv(ch, buffer, sizeof buffer, &length, 5000) == SIPC_OK);
    }
    message_fill(buffer, 100, 7, 0);
    CHILD_CHECK(sipc_send(ch, buffer, 100, 5000) == SIPC_OK);
    message_fill(buffer, 50, 7, 1);
    CHILD_CHECK(sipc_send(ch, buffer, 50, 5000) == SIPC_OK);
    CHILD_CHECK(sipc_send(ch, buffer, 0, 5000) == SIPC_OK);
    CHILD_CHECK(sipc_close(ch) == SIPC_OK);
    return 0;
}

void test_buffer_too_small_and_late_delivery(void)
{
    const char *name = test_name("small");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    pid_t child = spawn_child(child_send_sequence, name, strlen(name) + 1);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    CHECK_RC(sipc_send(server, "go", 2, 5000), SIPC_OK);
    /* The child has closed: its messages are still delivered, in order, then PEER_GONE. */
    CHECK(reap_child(child) == 0);
    uint8_t buffer[100];
    size_t length = 0;
    CHECK_RC(sipc_recv(server, buffer, 99, &length, 5000), SIPC_ERR_BUFFER_TOO_SMALL);
    CHECK(length == 100);
    CHECK_RC(sipc_recv(server, buffer, 100, &length, 5000), SIPC_OK);
    CHECK(length == 100 && message_check(buffer, 100, 7, 0));
    CHECK_RC(sipc_recv(server, buffer, 100, &length, 5000), SIPC_OK);
    CHECK(length == 50 && message_check(buffer, 50, 7, 1));
    CHECK_RC(sipc_recv(server, buffer, 0, &length, 5000), SIPC_OK);
    CHECK(length == 0);
    CHECK_RC(sipc_recv(server, buffer, 100, &length, 5000), SIPC_ERR_PEER_GONE);
    CHECK_RC(sipc_send(server, buffer, 1, 5000), SIPC_ERR_PEER_GONE);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_info(server, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_PEER_GONE);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* A peer that attaches, sends and leaves before this side ever connected: recv still gets it all. */
void test_messages_from_peer_never_connected(void)
{
    const char *name = test_name("early");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    pid_t child = spawn_child(child_send_sequence, name, strlen(name) + 1);
    uint8_t buffer[100];
    size_t length = 0;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_OK);
    CHECK(length == 100 && message_check(buffer, 100, 7, 0));
    CHECK(reap_child(child) == 0);
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_OK);
    CHECK(length == 50 && message_check(buffer, 50, 7, 1));
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_OK);
    CHECK(length == 0);
    /* The first recv adopted the child's session (attached or not): its end is PEER_GONE. */
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 0), SIPC_ERR_PEER_GONE);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

void test_timeouts(void)
{
    const char *name = test_name("timeouts");
    sipc_options o = options_with(64, 2);
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
    uint8_t buffer[64] = {0};
    size_t length;
    /* No peer yet: timeout 0 answers at once. A timed wait lasts at least its timeout (lower bounds only: how late a
     * loaded machine lets it return is not this test's business; one that never returned fails on the harness's
     * alarm, and test_waiting counts that such waits sleep once instead of polling). */
    CHECK_RC(sipc_connect(server, 0), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_send(server, buffer, 1, 0), SIPC_ERR_NOT_CONNECTED);
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 0), SIPC_ERR_NOT_CONNECTED);
    uint64_t start = now_ns();
    CHECK_RC(sipc_connect(server, 150), SIPC_ERR_TIMEOUT);
    uint64_t elapsed = now_ns() - start;
    CHECK(elapsed >= 149000000u);
    start = now_ns();
    CHECK_RC(sipc_send(server, buffer, 1, 120), SIPC_ERR_TIMEOUT);
    CHECK(now_ns() - start >= 119000000u);
    start = now_ns();
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 120), SIPC_ERR_TIMEOUT);
    CHECK(now_ns() - start >= 119000000u);

    sipc_channel *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_connect(client, 0), SIPC_OK);
    CHECK_RC(sipc_connect(server, 0), SIPC_OK);
    /* Connected, nothing queued. */
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_peek_size(client, &length, 0), SIPC_ERR_TIMEOUT);
    start = now_ns();
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 200), SIPC_ERR_TIMEOUT);
    elapsed = now_ns() - start;
    CHECK(elapsed >= 199000000u);
    /* Backpressure: depth 2, the third send waits, then times out. */
    CHECK_RC(sipc_send(server, "a", 1, 0), SIPC_OK);
    CHECK_RC(sipc_send(server, "b", 1, 0), SIPC_OK);
    CHECK_RC(sipc_send(server, "c", 1, 0), SIPC_ERR_TIMEOUT);
    start = now_ns();
    CHECK_RC(sipc_send(server, "c", 1, 150), SIPC_ERR_TIMEOUT);
    CHECK(now_ns() - start >= 149000000u);
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_OK);
    CHECK(length == 1 && buffer[0] == 'a');
    CHECK_RC(sipc_send(server, "c", 1, 0), SIPC_OK);
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_OK);
    CHECK(buffer[0] == 'b');
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 0), SIPC_OK);
    CHECK(buffer[0] == 'c');
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* Backpressure across processes: a slow reader throttles the writer, nothing is lost. The reader is
 * slow on purpose, not by the clock: before each batch of BATCH messages it waits until the writer has
 * found the queue full (the writer says so through a pipe), so the writer is held back in every batch
 * however the two processes are scheduled. */
#define BACKPRESSURE_MESSAGES 40
#define BACKPRESSURE_BATCH 10
typedef struct slow_reader_plan {
    char name[SIPC_NAME_MAX + 1];
    test_pipe writer_blocked; /* one byte per send that found the queue full */
} slow_reader_plan;

static int child_slow_reader(void *arg)
{
    slow_reader_plan *plan = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(plan->name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_connect(ch, 5000) == SIPC_OK);
    uint8_t buffer[256];
    for (uint64_t i = 0; i < BACKPRESSURE_MESSAGES; i++) {
        char blocked;
        if (i % BACKPRESSURE_BATCH == 0)
            CHILD_CHECK(pipe_read(plan->writer_blocked.read_end, &blocked, 1) == 1);
        size_t length;
        CHILD_CHECK(sipc_recv(ch, buffer, sizeof buffer, &length, 20000) == SIPC_OK);
        CHILD_CHECK(length == message_size(3, i, 256) && message_check(buffer, (uint32_t)length, 3, i));
    }
    CHILD_CHECK(sipc_send(ch, "done", 4, 20000) == SIPC_OK);
    sipc_close(ch);
    return 0;
}

void test_backpressure(void)
{
    slow_reader_plan plan;
    snprintf(plan.name, sizeof plan.name, "%s", test_name("bp"));
    CHECK(test_pipe_open(&plan.writer_blocked) == 0);
    sipc_options o = options_with(256, 3);
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(plan.name, &o, &server), SIPC_OK);
    pid_t child = spawn_child(child_slow_reader, &plan, sizeof plan);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    uint8_t buffer[256];
    int blocked = 0;
    for (uint64_t i = 0; i < BACKPRESSURE_MESSAGES; i++) {
        uint32_t size = message_size(3, i, 256);
        message_fill(buffer, size, 3, i);
        int rc = sipc_send(server, buffer, size, 0);
        if (rc == SIPC_ERR_TIMEOUT) {
            blocked++;
            CHECK(pipe_write(plan.writer_blocked.write_end, "b", 1));
            rc = sipc_send(server, buffer, size, 20000);
        }
        CHECK_RC(rc, SIPC_OK);
        sipc_channel_info info = {.struct_size = sizeof info};
        CHECK_RC(sipc_info(server, &info), SIPC_OK);
        CHECK(info.to_client.queued <= 3);
    }
    /* The reader waits for a full queue before each batch, and a batch is longer than the queue: the
     * writer cannot have sent a batch's messages without finding the queue full once per batch. */
    CHECK(blocked >= BACKPRESSURE_MESSAGES / BACKPRESSURE_BATCH);
    size_t length;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 20000), SIPC_OK);
    CHECK(length == 4);
    CHECK(reap_child(child) == 0);
    test_pipe_close(&plan.writer_blocked);
    CHECK_RC(sipc_close(server), SIPC_OK);
}
