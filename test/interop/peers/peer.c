/*
 * The C peer of the interoperability matrix (test/interop/matrix.test.mjs), on the plain C API.
 *   peer_c exchange NAME MAX DEPTH COUNT SEND_SEED RECV_SEED NO_NEWLINE_SEND NO_NEWLINE_RECV
 *   peer_c wait-gone NAME
 *   peer_c observe NAME COUNT SERVER_SEED CLIENT_SEED SERVER_NO_NEWLINE CLIENT_NO_NEWLINE
 * Prints "ok ..." (exit 0) or what went wrong (exit 1).
 */
#include "sipc.h"
#include "stream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 60000

static int fail(const char *what, int status)
{
    printf("%s: %s\n", what, sipc_status_name(status));
    return 1;
}

static uint32_t arg(char **argv, int i) { return (uint32_t)strtoul(argv[i], NULL, 10); }

static sipc_channel *open_channel(const char *name, uint32_t max, uint32_t depth, int *status)
{
    sipc_options options;
    sipc_options_init(&options);
    if (max) options.max_message_size = max;
    if (depth) options.queue_depth = depth;
    sipc_channel *channel = NULL;
    *status = sipc_open(name, &options, &channel);
    if (*status == SIPC_OK) *status = sipc_connect(channel, WAIT_MS);
    return channel;
}

typedef struct sender_args {
    sipc_channel *channel;
    interop_stream stream;
    uint32_t count;
    int status;
} sender_args;

static void *sender(void *argument)
{
    sender_args *a = argument;
    a->status = SIPC_OK;
    for (uint32_t i = 0; i < a->count && a->status == SIPC_OK; i++) {
        uint32_t length = 0;
        const uint8_t *data = interop_stream_message(&a->stream, &length);
        a->status = sipc_send(a->channel, data, length, WAIT_MS);
    }
    return NULL;
}

static int exchange(char **argv)
{
    const char *name = argv[2];
    uint32_t max = arg(argv, 3), depth = arg(argv, 4), count = arg(argv, 5);
    int status;
    sipc_channel *channel = open_channel(name, max, depth, &status);
    if (status != SIPC_OK) return fail("connect", status);
    max = sipc_max_message_size(channel);
    sender_args send = {.channel = channel, .count = count};
    interop_stream expected;
    if (interop_stream_init(&send.stream, arg(argv, 6), max, (int)arg(argv, 8)) != 0 ||
        interop_stream_init(&expected, arg(argv, 7), max, (int)arg(argv, 9)) != 0)
        return fail("malloc", SIPC_ERR_NO_MEMORY);
    pthread_t thread;
    if (pthread_create(&thread, NULL, sender, &send) != 0) return fail("pthread_create", SIPC_ERR_SYSTEM);
    uint8_t *buffer = malloc(max ? max : 1);
    int result = 0;
    for (uint32_t i = 0; i < count && result == 0; i++) {
        size_t length = 0;
        status = sipc_recv(channel, buffer, max, &length, WAIT_MS);
        uint32_t want = 0;
        const uint8_t *data = interop_stream_message(&expected, &want);
        if (status != SIPC_OK) {
            result = fail("recv", status);
        } else if (length != want || memcmp(buffer, data, want) != 0) {
            printf("mismatch at message %u: %zu bytes, expected %u\n", i, length, want);
            result = 1;
        }
    }
    if (result != 0) sipc_cancel(channel);
    pthread_join(thread, NULL);
    if (result == 0 && send.status != SIPC_OK) result = fail("send", send.status);
    free(buffer);
    interop_stream_free(&send.stream);
    interop_stream_free(&expected);
    sipc_close(channel);
    if (result == 0) printf("ok exchanged %u each way\n", count);
    return result;
}

static int wait_gone(char **argv)
{
    int status;
    sipc_channel *channel = open_channel(argv[2], 0, 0, &status);
    if (status != SIPC_OK) return fail("connect", status);
    printf("connected\n");
    fflush(stdout);
    char buffer[65536];
    size_t length;
    do status = sipc_recv(channel, buffer, sizeof buffer, &length, SIPC_INFINITE);
    while (status == SIPC_OK);
    sipc_close(channel);
    printf("%s\n", sipc_status_name(status));
    return status == SIPC_ERR_PEER_GONE ? 0 : 1;
}

static int observe(char **argv)
{
    sipc_observer *observer = NULL;
    int status = sipc_observe(argv[2], &observer);
    if (status != SIPC_OK) return fail("observe", status);
    sipc_channel_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    sipc_observer_info(observer, &info);
    uint32_t count = arg(argv, 3), max = info.max_message_size;
    interop_stream streams[2]; /* SIPC_DIR_TO_CLIENT: the server's stream; SIPC_DIR_TO_SERVER: the client's */
    uint64_t next_index[2] = {0, 0}, seen = 0, missed = 0;
    if (interop_stream_init(&streams[0], arg(argv, 4), max, (int)arg(argv, 6)) != 0 ||
        interop_stream_init(&streams[1], arg(argv, 5), max, (int)arg(argv, 7)) != 0)
        return fail("malloc", SIPC_ERR_NO_MEMORY);
    printf("watching\n");
    fflush(stdout);
    uint8_t *buffer = malloc(max ? max : 1);
    int result = 0;
    while (result == 0 && seen + missed < 2ull * count) {
        sipc_observed_message m;
        memset(&m, 0, sizeof m);
        m.struct_size = sizeof m;
        status = sipc_observer_next(observer, buffer, max, &m, WAIT_MS);
        if (status != SIPC_OK) {
            result = fail("observer_next", status);
            break;
        }
        int d = m.direction == SIPC_DIR_TO_SERVER ? 1 : 0;
        uint32_t want = 0;
        const uint8_t *data = NULL;
        while (next_index[d] <= m.sequence) { /* skip what was missed */
            data = interop_stream_message(&streams[d], &want);
            next_index[d]++;
        }
        if (m.length != want || m.copied != want || memcmp(buffer, data, want) != 0) {
            printf("observed message %d/%llu differs\n", d, (unsigned long long)m.sequence);
            result = 1;
        }
        seen++;
        missed += m.missed;
    }
    free(buffer);
    interop_stream_free(&streams[0]);
    interop_stream_free(&streams[1]);
    sipc_observer_close(observer);
    if (result == 0) printf("ok observed %llu missed %llu\n", (unsigned long long)seen, (unsigned long long)missed);
    return result;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 10 && strcmp(argv[1], "exchange") == 0) return exchange(argv);
    if (argc == 3 && strcmp(argv[1], "wait-gone") == 0) return wait_gone(argv);
    if (argc == 8 && strcmp(argv[1], "observe") == 0) return observe(argv);
    fprintf(stderr, "usage: see the comment at the top of test/interop/peers/peer.c\n");
    return 2;
}
