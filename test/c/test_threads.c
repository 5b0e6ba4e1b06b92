/*
 * test_threads.c — many messages at once: random sizes in both directions from two processes,
 * and several threads sending and receiving on one handle.
 */
#include "harness.h"
#include "platform.h"
#include "layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* ---- stress: random sizes, both directions at once, several threads per side ---- */

#define STRESS_MESSAGES 100000u
#define STRESS_MAX 2048u

typedef struct stress_side {
    sipc_channel *ch;
    uint64_t seed_out;
    uint64_t seed_in;
    int result;
} stress_side;

static void *stress_sender(void *arg)
{
    stress_side *side = arg;
    uint8_t *buffer = malloc(STRESS_MAX);
    side->result = 0;
    for (uint64_t i = 0; i < STRESS_MESSAGES; i++) {
        uint32_t size = message_size(side->seed_out, i, STRESS_MAX);
        /* Index in the first bytes lets the receiver detect loss and duplication exactly. */
        message_fill(buffer, size, side->seed_out, i);
        int rc = sipc_send(side->ch, buffer, size, 20000);
        if (rc != SIPC_OK) {
            fprintf(stderr, "stress send %llu: %s\n", (unsigned long long)i, sipc_status_name(rc));
            side->result = 1;
            break;
        }
    }
    free(buffer);
    return NULL;
}

static int stress_receive(stress_side *side)
{
    uint8_t *buffer = malloc(STRESS_MAX);
    int result = 0;
    for (uint64_t i = 0; i < STRESS_MESSAGES; i++) {
        size_t length = 0;
        int rc = sipc_recv(side->ch, buffer, STRESS_MAX, &length, 20000);
        if (rc != SIPC_OK) {
            fprintf(stderr, "stress recv %llu: %s\n", (unsigned long long)i, sipc_status_name(rc));
            result = 1;
            break;
        }
        uint32_t expected = message_size(side->seed_in, i, STRESS_MAX);
        if (length != expected || !message_check(buffer, expected, side->seed_in, i)) {
            fprintf(stderr, "stress message %llu: length %zu expected %u or bytes differ\n",
                    (unsigned long long)i, length, expected);
            result = 1;
            break;
        }
    }
    free(buffer);
    return result;
}

static int run_stress_side(const char *name, uint64_t seed_out, uint64_t seed_in)
{
    stress_side side = {NULL, seed_out, seed_in, 0};
    sipc_options o = options_with(STRESS_MAX, 8);
    CHILD_CHECK(sipc_open(name, &o, &side.ch) == SIPC_OK);
    CHILD_CHECK(sipc_connect(side.ch, 5000) == SIPC_OK);
    sipc_os_thread sender;
    CHILD_CHECK(sipc_os_thread_create(&sender, stress_sender, &side) == SIPC_OK);
    int received = stress_receive(&side);
    sipc_os_thread_join(&sender);
    /* Keep the channel until the peer has taken everything we sent. */
    for (int i = 0; i < 2000; i++) {
        sipc_channel_info info = {.struct_size = sizeof info};
        if (sipc_info(side.ch, &info) != SIPC_OK)
            break;
        sipc_direction_info *out = sipc_get_role(side.ch) == SIPC_ROLE_SERVER ? &info.to_client : &info.to_server;
        if (out->queued == 0)
            break;
        sleep_ms(5);
    }
    sipc_close(side.ch);
    return received | side.result;
}

static int child_stress(void *arg)
{
    return run_stress_side(arg, 22, 11);
}

void test_stress_both_directions(void)
{
    const char *name = test_name("stress");
    sipc_options o = options_with(STRESS_MAX, 8);
    sipc_channel *probe = NULL;
    /* Create it here so the roles are fixed: this process serves. */
    CHECK_RC(sipc_open(name, &o, &probe), SIPC_OK);
    sipc_close(probe);
    pid_t child = spawn_child(child_stress, name, strlen(name) + 1);
    int mine = run_stress_side(name, 11, 22);
    CHECK(mine == 0);
    CHECK(reap_child(child) == 0);
}

/* Several threads send and receive on one handle at once: nothing lost, nothing duplicated. */
#define THREADS 4
#define PER_THREAD 5000u

typedef struct thread_work {
    sipc_channel *ch;
    int id;
    int result;
    uint32_t seen[THREADS]; /* for receivers: count of messages seen per sender */
} thread_work;

static void *thread_sender(void *arg)
{
    thread_work *w = arg;
    for (uint32_t i = 0; i < PER_THREAD; i++) {
        uint32_t message[2] = {(uint32_t)w->id, i};
        if (sipc_send(w->ch, message, sizeof message, 20000) != SIPC_OK) {
            w->result = 1;
            break;
        }
    }
    return NULL;
}

static void *thread_receiver(void *arg)
{
    thread_work *w = arg;
    uint32_t last[THREADS];
    memset(last, 0xff, sizeof last);
    for (;;) {
        uint32_t message[2];
        size_t length;
        int rc = sipc_recv(w->ch, message, sizeof message, &length, 20000);
        if (rc == SIPC_ERR_CANCELLED)
            break;
        if (rc != SIPC_OK || length != sizeof message || message[0] >= THREADS) {
            w->result = 1;
            break;
        }
        /* Per sender, one receiver sees increasing numbers (FIFO). */
        if (last[message[0]] != 0xffffffffu && message[1] <= last[message[0]]) {
            w->result = 2;
            break;
        }
        last[message[0]] = message[1];
        w->seen[message[0]]++;
    }
    return NULL;
}

static int child_thread_senders(void *arg)
{
    const char *name = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_connect(ch, 5000) == SIPC_OK);
    sipc_os_thread threads[THREADS];
    thread_work work[THREADS];
    memset(work, 0, sizeof work);
    for (int t = 0; t < THREADS; t++) {
        work[t].ch = ch;
        work[t].id = t;
        CHILD_CHECK(sipc_os_thread_create(&threads[t], thread_sender, &work[t]) == SIPC_OK);
    }
    int result = 0;
    for (int t = 0; t < THREADS; t++) {
        sipc_os_thread_join(&threads[t]);
        result |= work[t].result;
    }
    char done[8];
    size_t length;
    CHILD_CHECK(sipc_recv(ch, done, sizeof done, &length, 20000) == SIPC_OK);
    sipc_close(ch);
    return result;
}

void test_concurrent_threads(void)
{
    const char *name = test_name("threads");
    sipc_options o = options_with(64, 4);
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
    pid_t child = spawn_child(child_thread_senders, name, strlen(name) + 1);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    sipc_os_thread threads[2];
    thread_work work[2];
    memset(work, 0, sizeof work);
    for (int t = 0; t < 2; t++) {
        work[t].ch = server;
        CHECK(sipc_os_thread_create(&threads[t], thread_receiver, &work[t]) == SIPC_OK);
    }
    /* Wait until every message arrived, then cancel the receivers. */
    uint64_t deadline = now_ns() + 60000000000ull;
    for (;;) {
        sipc_channel_info info = {.struct_size = sizeof info};
        CHECK_RC(sipc_info(server, &info), SIPC_OK);
        if ((info.to_server.messages == THREADS * PER_THREAD && info.to_server.queued == 0) || now_ns() > deadline)
            break;
        sleep_ms(10);
    }
    /* No pause for the receivers to count the last message: the cancel ends only their next recv, so a receiver
     * that has just taken a message counts it first (thread_receiver), and the joins wait for that. */
    CHECK_RC(sipc_cancel(server), SIPC_OK);
    for (int t = 0; t < 2; t++)
        sipc_os_thread_join(&threads[t]);
    CHECK(work[0].result == 0 && work[1].result == 0);
    for (int s = 0; s < THREADS; s++)
        CHECK(work[0].seen[s] + work[1].seen[s] == PER_THREAD);
    CHECK_RC(sipc_uncancel(server), SIPC_OK);
    CHECK_RC(sipc_send(server, "done", 4, 5000), SIPC_OK);
    CHECK(reap_child(child) == 0);
    CHECK_RC(sipc_close(server), SIPC_OK);
}
