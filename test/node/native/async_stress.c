/*
 * async_stress.c — drives helper/src/async.c the way the Node API does, from plain C threads, so that it
 * runs under ThreadSanitizer and AddressSanitizer+UBSan (test/node/native.test.mjs builds and runs it).
 *   async_stress MESSAGES
 * Exits 0 when every check passes; prints the failed check otherwise.
 */
#include "sipc_async.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            exit(1);                                                            \
        }                                                                       \
    } while (0)

enum { TOKENS = 8, MAX_SIZE = 4096 };

/* Stands in for the JS main thread: notify only records the news. */
static pthread_mutex_t news_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t news_cond = PTHREAD_COND_INITIALIZER;
static unsigned news[TOKENS];

static void notify(uint32_t token)
{
    pthread_mutex_lock(&news_lock);
    news[token % TOKENS]++;
    pthread_cond_broadcast(&news_cond);
    pthread_mutex_unlock(&news_lock);
}

static void wait_news(uint32_t token, int ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += (long)ms * 1000000L;
    deadline.tv_sec += deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&news_lock);
    while (news[token] == 0)
        if (pthread_cond_timedwait(&news_cond, &news_lock, &deadline) != 0)
            break;
    news[token] = 0;
    pthread_mutex_unlock(&news_lock);
}

static size_t message_size(uint32_t i)
{
    return 4 + (i * 7919u) % 700u;
}

static void fill(unsigned char *buffer, uint32_t i)
{
    size_t size = message_size(i);
    memcpy(buffer, &i, 4);
    for (size_t k = 4; k < size; k++)
        buffer[k] = (unsigned char)(i * 31u + k);
}

static void check_message(const unsigned char *data, size_t length, uint32_t expected)
{
    uint32_t index;
    CHECK(length >= 4, "message %u too short (%zu)", expected, length);
    memcpy(&index, data, 4);
    CHECK(index == expected, "got message %u, expected %u", index, expected);
    CHECK(length == message_size(index), "message %u has %zu bytes", index, length);
    for (size_t k = 4; k < length; k++)
        CHECK(data[k] == (unsigned char)(index * 31u + k), "message %u byte %zu differs", index, k);
}

/* Like Channel.close(): a notify call still in flight makes destroy answer BUSY; let it finish. */
static int destroy_channel(sipc_async_channel *h)
{
    int rc;
    while ((rc = sipc_async_channel_destroy(h)) == SIPC_ERR_BUSY)
        usleep(100);
    return rc;
}

static int destroy_observer(sipc_async_observer *h)
{
    int rc;
    while ((rc = sipc_async_observer_destroy(h)) == SIPC_ERR_BUSY)
        usleep(100);
    return rc;
}

static void open_pair(const char *name, uint32_t depth, sipc_channel **server, sipc_channel **client)
{
    sipc_options options;
    sipc_options_init(&options);
    options.max_message_size = MAX_SIZE;
    options.queue_depth = depth;
    CHECK(sipc_open(name, &options, server) == SIPC_OK, "open server %s", name);
    CHECK(sipc_open(name, &options, client) == SIPC_OK, "open client %s", name);
}

/* ---- the sending side, like Channel.send: fast path first, then the sender thread, in order ---- */
typedef struct sender_args {
    sipc_async_channel *h;
    uint32_t token;
    uint32_t count;
} sender_args;

static void *sender_main(void *arg)
{
    sender_args *a = arg;
    sipc_channel *raw = sipc_async_channel_handle(a->h);
    unsigned char buffer[MAX_SIZE];
    uint32_t outstanding = 0;
    for (uint32_t i = 0; i < a->count || outstanding > 0;) {
        if (i < a->count) {
            fill(buffer, i);
            int rc = outstanding == 0 ? sipc_send(raw, buffer, message_size(i), 0) : SIPC_ERR_TIMEOUT;
            if (rc == SIPC_ERR_TIMEOUT || rc == SIPC_ERR_NOT_CONNECTED) {
                CHECK(sipc_async_channel_send(a->h, buffer, message_size(i), SIPC_INFINITE) == SIPC_OK, "queue %u", i);
                outstanding++;
            } else {
                CHECK(rc == SIPC_OK, "send %u: %s", i, sipc_status_name(rc));
            }
            i++;
        } else {
            wait_news(a->token, 50);
        }
        sipc_async_status status;
        sipc_async_channel_poll(a->h, &status);
        int32_t results[64];
        uint32_t n = 0;
        sipc_async_channel_take_send_results(a->h, results, 64, &n);
        for (uint32_t k = 0; k < n; k++)
            CHECK(results[k] == SIPC_OK, "background send failed: %s", sipc_status_name(results[k]));
        outstanding -= n;
    }
    return NULL;
}

/* Ordering and integrity through every receive path: flowing, counted requests, and take_now. */
static void test_receive_paths(uint32_t count)
{
    char name[64];
    snprintf(name, sizeof name, "async-stress-%d", (int)getpid());
    sipc_channel *server_raw, *client_raw;
    open_pair(name, 4, &server_raw, &client_raw);
    sipc_async_channel *server, *client;
    CHECK(sipc_async_channel_start(server_raw, notify, 1, &server) == SIPC_OK, "start server");
    CHECK(sipc_async_channel_start(client_raw, notify, 2, &client) == SIPC_OK, "start client");

    pthread_t sender;
    sender_args args = {client, 2, count};
    CHECK(pthread_create(&sender, NULL, sender_main, &args) == 0, "sender thread");

    unsigned char *buffer = malloc((size_t)MAX_SIZE * 64);
    uint32_t lengths[64];
    uint32_t next = 0;
    int connected = 0;
    while (next < count) {
        int mode = (int)(next / 97) % 3;
        uint32_t n = 0;
        if (mode == 2 && connected) {
            sipc_async_channel_demand(server, SIPC_ASYNC_PAUSED, 0);
            CHECK(sipc_async_channel_take_now(server, buffer, (size_t)MAX_SIZE * 64, lengths, 64, &n, 200) == SIPC_OK,
                  "take_now");
        } else {
            sipc_async_channel_demand(server, mode == 0 ? SIPC_ASYNC_FLOWING : 0, mode == 1 ? 3 : 0);
            wait_news(1, 20);
            sipc_async_status status;
            sipc_async_channel_poll(server, &status);
            CHECK(status.recv_status == SIPC_OK, "recv_status %s", sipc_status_name(status.recv_status));
            if (status.connect_status == SIPC_OK)
                connected = 1;
            CHECK(sipc_async_channel_take(server, buffer, (size_t)MAX_SIZE * 64, lengths, 64, &n) == SIPC_OK, "take");
        }
        size_t offset = 0;
        for (uint32_t k = 0; k < n; k++) {
            check_message(buffer + offset, lengths[k], next++);
            offset += lengths[k];
        }
    }
    pthread_join(sender, NULL);

    /* The client leaves: the server learns PEER_GONE once everything was received. */
    CHECK(destroy_channel(client) == SIPC_OK, "destroy client");
    sipc_async_channel_demand(server, SIPC_ASYNC_FLOWING, 0);
    sipc_async_status status = {0};
    for (int i = 0; i < 200 && status.recv_status == SIPC_OK; i++) {
        wait_news(1, 20);
        sipc_async_channel_poll(server, &status);
    }
    CHECK(status.recv_status == SIPC_ERR_PEER_GONE, "server sees %s", sipc_status_name(status.recv_status));
    CHECK(status.ready_count == 0, "nothing left over");
    CHECK(destroy_channel(server) == SIPC_OK, "destroy server");
    free(buffer);
}

/* Stopping with sends blocked on a full queue and a receive waiting must not hang or leak. */
static void test_stop_while_blocked(void)
{
    char name[64];
    snprintf(name, sizeof name, "async-stop-%d", (int)getpid());
    sipc_channel *server_raw, *client_raw;
    open_pair(name, 1, &server_raw, &client_raw);
    sipc_async_channel *server, *client;
    CHECK(sipc_async_channel_start(server_raw, notify, 3, &server) == SIPC_OK, "start server");
    CHECK(sipc_async_channel_start(client_raw, notify, 4, &client) == SIPC_OK, "start client");
    unsigned char message[16] = {0};
    for (int i = 0; i < 3; i++)
        CHECK(sipc_async_channel_send(server, message, sizeof message, SIPC_INFINITE) == SIPC_OK, "queue");
    sipc_async_channel_demand(client, 0, 0);
    usleep(20000);
    sipc_async_status status;
    sipc_async_channel_poll(server, &status);
    CHECK(status.sends_queued >= 1, "a send is blocked (%u queued)", status.sends_queued);
    sipc_async_channel_stop(server);
    CHECK(sipc_async_channel_send(server, message, sizeof message, 0) == SIPC_ERR_CLOSED, "send after stop");
    CHECK(destroy_channel(server) == SIPC_OK, "destroy server");
    CHECK(destroy_channel(client) == SIPC_OK, "destroy client");
}

/* The observer follows both directions without consuming anything. */
static void test_observer(void)
{
    char name[64];
    snprintf(name, sizeof name, "async-observe-%d", (int)getpid());
    sipc_channel *server, *client;
    open_pair(name, 64, &server, &client);
    CHECK(sipc_connect(server, 1000) == SIPC_OK, "connect");
    sipc_observer *raw;
    CHECK(sipc_observe(name, &raw) == SIPC_OK, "observe");
    sipc_async_observer *observer;
    CHECK(sipc_async_observer_start(raw, 8, notify, 5, &observer) == SIPC_OK, "start observer");
    unsigned char buffer[MAX_SIZE];
    size_t got;
    for (uint32_t i = 0; i < 50; i++) {
        fill(buffer, i);
        CHECK(sipc_send(client, buffer, message_size(i), 1000) == SIPC_OK, "send");
        CHECK(sipc_recv(server, buffer, sizeof buffer, &got, 1000) == SIPC_OK, "recv");
        check_message(buffer, got, i);
        CHECK(sipc_send(server, buffer, got, 1000) == SIPC_OK, "send back");
        CHECK(sipc_recv(client, buffer, sizeof buffer, &got, 1000) == SIPC_OK, "recv back");
    }
    uint32_t seen[2] = {0, 0};
    sipc_observed_message observed[64];
    unsigned char copies[64 * 8];
    for (int round = 0; round < 200 && seen[0] + seen[1] < 100; round++) {
        wait_news(5, 20);
        sipc_async_observer_status status;
        sipc_async_observer_poll(observer, &status);
        CHECK(status.status == SIPC_OK, "observer status %s", sipc_status_name(status.status));
        uint32_t n = 0;
        CHECK(sipc_async_observer_take(observer, copies, sizeof copies, observed, 64, &n) == SIPC_OK, "take");
        for (uint32_t k = 0; k < n; k++) {
            const sipc_observed_message *m = &observed[k];
            CHECK(m->struct_size == sizeof *m, "struct_size");
            CHECK(m->direction == SIPC_DIR_TO_CLIENT || m->direction == SIPC_DIR_TO_SERVER, "direction");
            CHECK(m->sequence == seen[m->direction], "sequence %llu, expected %u", (unsigned long long)m->sequence,
                  seen[m->direction]);
            CHECK(m->length == message_size((uint32_t)m->sequence), "length");
            CHECK(m->copied == (m->length < 8 ? m->length : 8) && m->missed == 0, "copied %u missed %llu", m->copied,
                  (unsigned long long)m->missed);
            seen[m->direction]++;
        }
    }
    CHECK(seen[0] == 50 && seen[1] == 50, "observed %u + %u messages", seen[0], seen[1]);
    CHECK(destroy_observer(observer) == SIPC_OK, "destroy observer");
    sipc_close(client);
    sipc_close(server);
}

/* ---- one-shot calls and the watch, the way calls.ts and manage.ts drive them ---- */

/* Waits for a call's notify and returns its final status snapshot. */
static sipc_async_call_status finish_call(sipc_async_call *call, uint32_t token)
{
    sipc_async_call_status status;
    for (;;) {
        CHECK(sipc_async_call_poll(call, &status) == SIPC_OK, "poll call");
        if (status.status != SIPC_ASYNC_PENDING)
            return status;
        wait_news(token, 50);
    }
}

static int stat_now(const char *name, sipc_channel_info *info)
{
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    return sipc_stat(name, info);
}

static void test_calls(void)
{
    enum { CALL_TOKEN = 6, WATCH_TOKEN = 7 };
    char name[64];
    snprintf(name, sizeof name, "async-calls-%d", (int)getpid());
    sipc_async_call *call;
    sipc_options options;
    sipc_options_init(&options);
    options.max_message_size = MAX_SIZE;

    sipc_async_watch *watch;
    CHECK(sipc_async_watch_start(60000, notify, WATCH_TOKEN, &watch) == SIPC_OK, "start watch");

    /* open, twice: server and client */
    sipc_channel *raw[2];
    for (int i = 0; i < 2; i++) {
        CHECK(sipc_async_open(name, &options, notify, CALL_TOKEN, &call) == SIPC_OK, "start open");
        CHECK(finish_call(call, CALL_TOKEN).status == SIPC_OK, "open");
        CHECK(sipc_async_call_take_channel(call, &raw[i]) == SIPC_OK && raw[i], "take channel");
        sipc_channel *again;
        CHECK(sipc_async_call_take_channel(call, &again) == SIPC_ERR_CLOSED && !again, "taken only once");
        sipc_async_call_release(call);
    }
    CHECK(sipc_get_role(raw[0]) == SIPC_ROLE_SERVER && sipc_get_role(raw[1]) == SIPC_ROLE_CLIENT, "roles");
    CHECK(sipc_async_open("-bad name", NULL, notify, CALL_TOKEN, &call) == SIPC_ERR_INVALID_NAME && !call, "bad name");

    /* the watch saw the channel appear (inotify on Linux; its interval is a minute) */
    uint64_t changes = 0;
    for (int round = 0; round < 400 && changes == 0; round++) {
        wait_news(WATCH_TOKEN, 50);
        sipc_async_watch_poll(watch, &changes);
    }
    CHECK(changes > 0, "the watch reported the new channel");

    /* stat and list */
    CHECK(sipc_async_stat(name, notify, CALL_TOKEN, &call) == SIPC_OK, "start stat");
    sipc_async_call_status done = finish_call(call, CALL_TOKEN);
    CHECK(done.status == SIPC_OK && done.entries == 1, "stat: %s, %u entries", sipc_status_name(done.status), done.entries);
    sipc_channel_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    int32_t entry_status = -100;
    CHECK(sipc_async_call_entry(call, 0, &info, &entry_status) == SIPC_OK && entry_status == SIPC_OK, "stat entry");
    CHECK(strcmp(info.name, name) == 0 && info.max_message_size == MAX_SIZE, "stat info");
    CHECK(sipc_async_call_entry(call, 1, &info, &entry_status) == SIPC_ERR_NOT_FOUND, "one entry only");
    sipc_async_call_release(call);

    CHECK(sipc_async_list(notify, CALL_TOKEN, &call) == SIPC_OK, "start list");
    done = finish_call(call, CALL_TOKEN);
    CHECK(done.status == SIPC_OK, "list: %s", sipc_status_name(done.status));
    int listed = 0;
    for (uint32_t i = 0; i < done.entries; i++) {
        CHECK(sipc_async_call_entry(call, i, &info, &entry_status) == SIPC_OK, "list entry");
        listed += entry_status == SIPC_OK && strcmp(info.name, name) == 0;
    }
    CHECK(listed == 1, "listed %d times", listed);
    sipc_async_call_release(call);

    /* remove refuses while attached */
    CHECK(sipc_async_remove(name, 0, notify, CALL_TOKEN, &call) == SIPC_OK, "start remove");
    CHECK(finish_call(call, CALL_TOKEN).status == SIPC_ERR_BUSY, "remove while attached");
    sipc_async_call_release(call);

    /* close through a call, with a send that finished just before */
    sipc_async_channel *ends[2];
    CHECK(sipc_async_channel_start(raw[0], notify, 0, &ends[0]) == SIPC_OK, "start server");
    CHECK(sipc_async_channel_start(raw[1], notify, 1, &ends[1]) == SIPC_OK, "start client");
    unsigned char message[8] = {0};
    CHECK(sipc_async_channel_send(ends[1], message, sizeof message, 1000) == SIPC_OK, "queue send");
    for (int i = 0; i < 2; i++) {
        CHECK(sipc_async_channel_close(ends[1 - i], notify, CALL_TOKEN, &call) == SIPC_OK, "start close");
        CHECK(finish_call(call, CALL_TOKEN).status == SIPC_OK, "close");
        int32_t results[4];
        uint32_t count = 0;
        CHECK(sipc_async_call_take_send_results(call, results, 4, &count) == SIPC_OK, "send results");
        CHECK(i == 1 || count <= 1, "at most the one send");
        sipc_async_call_release(call);
    }
    CHECK(stat_now(name, &info) == SIPC_ERR_NOT_FOUND, "the last one out removed the channel");

    /* calls released before they finish: their threads clean up */
    for (int i = 0; i < 16; i++) {
        CHECK(sipc_async_list(notify, CALL_TOKEN, &call) == SIPC_OK, "start list");
        sipc_async_call_release(call);
    }
    /* an open whose channel nobody takes: whoever drops the last reference closes it, which removes it */
    CHECK(sipc_async_open(name, &options, notify, CALL_TOKEN, &call) == SIPC_OK, "start open");
    CHECK(finish_call(call, CALL_TOKEN).status == SIPC_OK, "open");
    CHECK(stat_now(name, &info) == SIPC_OK && info.server_pid == (int64_t)getpid(), "opened");
    sipc_async_call_release(call);
    while (stat_now(name, &info) != SIPC_ERR_NOT_FOUND)
        sched_yield(); /* the channel exists until the last reference is dropped */
    CHECK(sipc_async_watch_release(watch) >= 0, "release watch");
}

int main(int argc, char **argv)
{
    uint32_t count = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 20000;
    test_receive_paths(count);
    test_stop_while_blocked();
    test_observer();
    test_calls();
    printf("async stress: %u messages through every receive path, stop while blocked, observer, calls, watch: ok\n", count);
    return 0;
}
