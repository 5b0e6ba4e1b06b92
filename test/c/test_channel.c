/*
 * test_channel.c — two-process scenarios for the peers: roles, options, send/recv, timeouts,
 * peer death, recovery, cancel, threads.
 */
#include "harness.h"
#include "layout.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static sipc_options options_with(uint32_t max_message, uint32_t depth)
{
    sipc_options o;
    sipc_options_init(&o);
    o.max_message_size = max_message;
    o.queue_depth = depth;
    return o;
}

static void shm_path(const char *name, char *path, size_t size)
{
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(name, key);
    snprintf(path, size, "/dev/shm/%s", key);
}

static int shm_exists(const char *name)
{
    char path[512];
    shm_path(name, path, sizeof path);
    return access(path, F_OK) == 0;
}

/* ---- names ---- */

void test_names(void)
{
    CHECK_RC(sipc_validate_name("a"), SIPC_OK);
    CHECK_RC(sipc_validate_name("my-channel_1.x"), SIPC_OK);
    CHECK_RC(sipc_validate_name(""), SIPC_ERR_INVALID_NAME);
    CHECK_RC(sipc_validate_name(NULL), SIPC_ERR_INVALID_NAME);
    CHECK_RC(sipc_validate_name(".hidden"), SIPC_ERR_INVALID_NAME);
    CHECK_RC(sipc_validate_name("a/b"), SIPC_ERR_INVALID_NAME);
    CHECK_RC(sipc_validate_name("sp ace"), SIPC_ERR_INVALID_NAME);
    CHECK_RC(sipc_validate_name("caf\xc3\xa9"), SIPC_ERR_INVALID_NAME);
    char name[SIPC_NAME_MAX + 2];
    memset(name, 'x', sizeof name);
    name[SIPC_NAME_MAX] = '\0';
    CHECK_RC(sipc_validate_name(name), SIPC_OK);
    name[SIPC_NAME_MAX] = 'x';
    name[SIPC_NAME_MAX + 1] = '\0';
    CHECK_RC(sipc_validate_name(name), SIPC_ERR_INVALID_NAME);
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open("../etc", NULL, &ch), SIPC_ERR_INVALID_NAME);
    CHECK(ch == NULL);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat("bad name", &info), SIPC_ERR_INVALID_NAME);
    sipc_observer *ob = NULL;
    CHECK_RC(sipc_observe("bad/name", &ob), SIPC_ERR_INVALID_NAME);
    CHECK_RC(sipc_remove("", 1), SIPC_ERR_INVALID_NAME);
    CHECK(strcmp(sipc_status_name(SIPC_ERR_PEER_GONE), "PEER_GONE") == 0);
    CHECK(strcmp(sipc_status_name(12345), "UNKNOWN") == 0);
    CHECK(strlen(sipc_strerror(SIPC_ERR_VERSION)) > 10);
    CHECK(strcmp(sipc_version(), "1.0.0") == 0);
}

static int list_find(const char *name, void *user)
{
    const char *wanted = ((const char **)user)[0];
    if (strcmp(name, wanted) == 0)
        ((const char **)user)[1] = "found";
    return 0;
}

/* Names too long for macOS's shm limit go through a hash; the header keeps the real name. */
void test_long_name(void)
{
    char name[SIPC_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s-", test_name("long"));
    size_t length = strlen(name);
    memset(name + length, 'L', SIPC_NAME_MAX - length);
    name[SIPC_NAME_MAX] = '\0';
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(strcmp(info.name, name) == 0);
    CHECK(info.state == SIPC_STATE_WAITING);
    const char *search[2] = {name, NULL};
    CHECK_RC(sipc_list(list_find, search), SIPC_OK);
    CHECK(search[1] != NULL);
    CHECK_RC(sipc_close(ch), SIPC_OK);
    CHECK_RC(sipc_stat(name, &info), SIPC_ERR_NOT_FOUND);
}

/* ---- roles ---- */

static int child_open_expect(void *arg)
{
    const char *name = arg;
    sipc_channel *ch = NULL;
    int rc = sipc_open(name, NULL, &ch);
    if (ch != NULL)
        sipc_close(ch);
    return rc == SIPC_ERR_BUSY ? 0 : 10 - rc;
}

static int child_client_hold(void *arg)
{
    const char *name = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_get_role(ch) == SIPC_ROLE_CLIENT);
    CHILD_CHECK(sipc_connect(ch, 5000) == SIPC_OK);
    char buffer[16];
    size_t length;
    /* Hold the role until the parent says so. */
    CHILD_CHECK(sipc_recv(ch, buffer, sizeof buffer, &length, 10000) == SIPC_OK);
    CHILD_CHECK(sipc_close(ch) == SIPC_OK);
    return 0;
}

void test_roles_and_busy(void)
{
    const char *name = test_name("roles");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK(sipc_get_role(server) == SIPC_ROLE_SERVER);
    CHECK(sipc_max_message_size(server) == SIPC_DEFAULT_MAX_MESSAGE);
    pid_t client = spawn_child(child_client_hold, name, strlen(name) + 1);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    /* A third process, and a second handle in this process, are both refused. */
    pid_t third = spawn_child(child_open_expect, name, strlen(name) + 1);
    CHECK(reap_child(third) == 0);
    sipc_channel *again = NULL;
    CHECK_RC(sipc_open(name, NULL, &again), SIPC_ERR_BUSY);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_info(server, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_CONNECTED);
    CHECK(info.server_pid == getpid());
    CHECK(info.client_pid == client);
    CHECK(info.server_alive == 1 && info.client_alive == 1);
    CHECK(info.connections == 1);
    CHECK(strcmp(info.name, name) == 0);
    CHECK_RC(sipc_send(server, "bye", 3, 1000), SIPC_OK);
    CHECK(reap_child(client) == 0);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK(!shm_exists(name));
}

void test_no_create(void)
{
    const char *name = test_name("nocreate");
    sipc_options o;
    sipc_options_init(&o);
    o.flags = SIPC_OPEN_NO_CREATE;
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_NOT_FOUND);
    CHECK(!shm_exists(name));
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_OK);
    CHECK(sipc_get_role(ch) == SIPC_ROLE_CLIENT);
    CHECK_RC(sipc_close(ch), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    o.flags = 0x100;
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_INVALID_ARGUMENT);
}

void test_options(void)
{
    const char *name = test_name("opts");
    sipc_channel *ch = NULL;
    sipc_options o = options_with(SIPC_MAX_MESSAGE_LIMIT + 1, 4);
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_INVALID_ARGUMENT);
    o = options_with(1024, SIPC_MAX_QUEUE_DEPTH + 1);
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_INVALID_ARGUMENT);
    o = options_with(1024, 4);
    o.mode = 0400; /* the owner must be able to write */
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_INVALID_ARGUMENT);
    o.mode = 01600;
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_INVALID_ARGUMENT);
    o = options_with(1024, 4);
    o.struct_size = 4;
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_open(name, NULL, NULL), SIPC_ERR_INVALID_ARGUMENT);

    sipc_channel *server = NULL;
    o = options_with(1000, 8);
    CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
    CHECK(sipc_max_message_size(server) == 1000);
    sipc_channel *client = NULL;
    sipc_options other = options_with(2000, 8);
    CHECK_RC(sipc_open(name, &other, &client), SIPC_ERR_MISMATCH);
    other = options_with(1000, 9);
    CHECK_RC(sipc_open(name, &other, &client), SIPC_ERR_MISMATCH);
    /* Defaults (NULL or sipc_options_init) adopt the server's geometry. */
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK(sipc_max_message_size(client) == 1000);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_info(client, &info), SIPC_OK);
    CHECK(info.queue_depth == 8 && info.max_message_size == 1000);
    CHECK_RC(sipc_close(client), SIPC_OK);
    other = options_with(1000, 8);
    CHECK_RC(sipc_open(name, &other, &client), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

void test_permissions(void)
{
    const char *name = test_name("perm");
    umask(0);
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    char path[512];
    shm_path(name, path, sizeof path);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_info(ch, &info), SIPC_OK);
    CHECK(info.mode == 0600);
    CHECK(info.owner_uid == getuid());
    CHECK_RC(sipc_close(ch), SIPC_OK);

    /* Exactly the bits asked for, whatever the umask. */
    umask(077);
    sipc_options o;
    sipc_options_init(&o);
    o.mode = 0640;
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_OK);
    CHECK(stat(path, &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
    CHECK_RC(sipc_close(ch), SIPC_OK);
}

static int fd_cloexec_of(const char *name)
{
    char wanted[512];
    shm_path(name, wanted, sizeof wanted);
    for (int fd = 3; fd < 1024; fd++) {
        char link[64], target[512];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strcmp(target, wanted) == 0)
            return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
    }
    return -1;
}

void test_inherit_handles(void)
{
    const char *name = test_name("inherit");
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    CHECK(fd_cloexec_of(name) == 1);
    CHECK_RC(sipc_close(ch), SIPC_OK);
    sipc_options o;
    sipc_options_init(&o);
    o.flags = SIPC_OPEN_INHERIT_HANDLES;
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_OK);
    CHECK(fd_cloexec_of(name) == 0);
    CHECK_RC(sipc_close(ch), SIPC_OK);
}

/* ---- send / recv ---- */

static int child_echo(void *arg)
{
    const char *name = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(name, NULL, &ch) == SIPC_OK);
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
    /* No peer yet: timeout 0 answers at once. */
    CHECK_RC(sipc_connect(server, 0), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_send(server, buffer, 1, 0), SIPC_ERR_NOT_CONNECTED);
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 0), SIPC_ERR_NOT_CONNECTED);
    uint64_t start = now_ns();
    CHECK_RC(sipc_connect(server, 150), SIPC_ERR_TIMEOUT);
    uint64_t elapsed = now_ns() - start;
    CHECK(elapsed >= 149000000u && elapsed < 2000000000u);
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
    CHECK(elapsed >= 199000000u && elapsed < 2000000000u);
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

/* Backpressure across processes: a slow reader throttles the writer, nothing is lost. */
static int child_slow_reader(void *arg)
{
    const char *name = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_connect(ch, 5000) == SIPC_OK);
    uint8_t buffer[256];
    for (uint64_t i = 0; i < 40; i++) {
        if (i % 10 == 0)
            sleep_ms(20);
        size_t length;
        CHILD_CHECK(sipc_recv(ch, buffer, sizeof buffer, &length, 5000) == SIPC_OK);
        CHILD_CHECK(length == message_size(3, i, 256) && message_check(buffer, (uint32_t)length, 3, i));
    }
    CHILD_CHECK(sipc_send(ch, "done", 4, 5000) == SIPC_OK);
    sipc_close(ch);
    return 0;
}

void test_backpressure(void)
{
    const char *name = test_name("bp");
    sipc_options o = options_with(256, 3);
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
    pid_t child = spawn_child(child_slow_reader, name, strlen(name) + 1);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    uint8_t buffer[256];
    int blocked = 0;
    for (uint64_t i = 0; i < 40; i++) {
        uint32_t size = message_size(3, i, 256);
        message_fill(buffer, size, 3, i);
        int rc = sipc_send(server, buffer, size, 0);
        if (rc == SIPC_ERR_TIMEOUT) {
            blocked++;
            rc = sipc_send(server, buffer, size, 5000);
        }
        CHECK_RC(rc, SIPC_OK);
        sipc_channel_info info = {.struct_size = sizeof info};
        CHECK_RC(sipc_info(server, &info), SIPC_OK);
        CHECK(info.to_client.queued <= 3);
    }
    CHECK(blocked > 0);
    size_t length;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_OK);
    CHECK(length == 4);
    CHECK(reap_child(child) == 0);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

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
    pthread_t sender;
    CHILD_CHECK(pthread_create(&sender, NULL, stress_sender, &side) == 0);
    int received = stress_receive(&side);
    pthread_join(sender, NULL);
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
    pthread_t threads[THREADS];
    thread_work work[THREADS];
    memset(work, 0, sizeof work);
    for (int t = 0; t < THREADS; t++) {
        work[t].ch = ch;
        work[t].id = t;
        CHILD_CHECK(pthread_create(&threads[t], NULL, thread_sender, &work[t]) == 0);
    }
    int result = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
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
    pthread_t threads[2];
    thread_work work[2];
    memset(work, 0, sizeof work);
    for (int t = 0; t < 2; t++) {
        work[t].ch = server;
        CHECK(pthread_create(&threads[t], NULL, thread_receiver, &work[t]) == 0);
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
    sleep_ms(20);
    CHECK_RC(sipc_cancel(server), SIPC_OK);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    CHECK(work[0].result == 0 && work[1].result == 0);
    for (int s = 0; s < THREADS; s++)
        CHECK(work[0].seen[s] + work[1].seen[s] == PER_THREAD);
    CHECK_RC(sipc_uncancel(server), SIPC_OK);
    CHECK_RC(sipc_send(server, "done", 4, 5000), SIPC_OK);
    CHECK(reap_child(child) == 0);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* ---- cancel ---- */

typedef struct blocked_call {
    sipc_channel *ch;
    int send;
    int rc;
} blocked_call;

static void *blocked_thread(void *arg)
{
    blocked_call *call = arg;
    uint8_t buffer[16];
    size_t length;
    if (call->send)
        call->rc = sipc_send(call->ch, "x", 1, SIPC_INFINITE);
    else
        call->rc = sipc_recv(call->ch, buffer, sizeof buffer, &length, SIPC_INFINITE);
    return NULL;
}

void test_cancel(void)
{
    const char *name = test_name("cancel");
    sipc_options o = options_with(16, 1);
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_connect(server, 1000), SIPC_OK);
    CHECK_RC(sipc_connect(client, 1000), SIPC_OK);
    CHECK_RC(sipc_send(server, "f", 1, 0), SIPC_OK); /* the queue toward the client is full now */
    blocked_call calls[3] = {{server, 0, 99}, {server, 1, 99}, {server, 0, 99}};
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&threads[i], NULL, blocked_thread, &calls[i]) == 0);
    sleep_ms(100);
    uint64_t start = now_ns();
    CHECK_RC(sipc_cancel(server), SIPC_OK);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    CHECK(now_ns() - start < 2000000000u);
    for (int i = 0; i < 3; i++)
        CHECK_RC(calls[i].rc, SIPC_ERR_CANCELLED);
    /* Sticky until uncancel; the other handle is unaffected. */
    CHECK_RC(sipc_send(server, "y", 1, 1000), SIPC_ERR_CANCELLED);
    CHECK_RC(sipc_connect(server, 1000), SIPC_ERR_CANCELLED);
    uint8_t buffer[16];
    size_t length;
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 1000), SIPC_OK);
    CHECK_RC(sipc_uncancel(server), SIPC_OK);
    CHECK_RC(sipc_send(server, "z", 1, 1000), SIPC_OK);
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 1000), SIPC_OK);
    CHECK(buffer[0] == 'z');
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

static sipc_channel *signal_channel;
static void cancel_on_signal(int signo)
{
    (void)signo;
    sipc_cancel(signal_channel);
}

/* sipc_cancel from a signal handler interrupts a blocked recv of the same thread. */
void test_cancel_from_signal(void)
{
    const char *name = test_name("sigcancel");
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_connect(server, 1000), SIPC_OK);
    signal_channel = server;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cancel_on_signal;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval timer = {{0, 0}, {0, 150000}};
    CHECK(setitimer(ITIMER_REAL, &timer, NULL) == 0);
    uint8_t buffer[16];
    size_t length;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 10000), SIPC_ERR_CANCELLED);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* ---- peer death and close ---- */

typedef struct death_plan {
    char name[SIPC_NAME_MAX + 1];
    int delay_ms;
    int kill; /* 1: SIGKILL itself, 0: close */
} death_plan;

static int child_connect_then_die(void *arg)
{
    death_plan *plan = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(plan->name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_connect(ch, 5000) == SIPC_OK);
    sleep_ms(plan->delay_ms);
    if (plan->kill)
        raise(SIGKILL);
    sipc_close(ch);
    return 0;
}

static void peer_departure(int kill, int blocked_in_send)
{
    const char *name = test_name(kill ? "kill" : "close");
    sipc_options o = options_with(16, 2);
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
    death_plan plan = {.delay_ms = 300, .kill = kill};
    snprintf(plan.name, sizeof plan.name, "%s", name);
    pid_t child = spawn_child(child_connect_then_die, &plan, sizeof plan);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    uint64_t start = now_ns();
    uint8_t buffer[16];
    size_t length;
    if (blocked_in_send) {
        CHECK_RC(sipc_send(server, "1", 1, 0), SIPC_OK);
        CHECK_RC(sipc_send(server, "2", 1, 0), SIPC_OK);
        CHECK_RC(sipc_send(server, "3", 1, SIPC_INFINITE), SIPC_ERR_PEER_GONE);
    } else {
        CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, SIPC_INFINITE), SIPC_ERR_PEER_GONE);
    }
    uint64_t elapsed = now_ns() - start;
    /* The child departs ~300 ms in; PEER_GONE must follow promptly (the benchmark measures
     * the precise latency). */
    CHECK(elapsed < 2300000000u);
    CHECK(reap_child(child) == (kill ? 128 + SIGKILL : 0));
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_info(server, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_PEER_GONE);
    CHECK(info.client_alive == 0);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK(!shm_exists(name));
}

void test_peer_killed_during_recv(void)
{
    peer_departure(1, 0);
}

void test_peer_killed_during_send(void)
{
    peer_departure(1, 1);
}

void test_peer_closed_during_recv(void)
{
    peer_departure(0, 0);
}

void test_peer_closed_during_send(void)
{
    peer_departure(0, 1);
}

/* ---- recovery ---- */

typedef struct session_plan {
    char name[SIPC_NAME_MAX + 1];
    char text[32];
    int kill;
} session_plan;

/* Opens (whatever role is free), connects, sends its text, waits for a reply, then dies/closes. */
static int child_one_session(void *arg)
{
    session_plan *plan = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(plan->name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_connect(ch, 5000) == SIPC_OK);
    CHILD_CHECK(sipc_send(ch, plan->text, strlen(plan->text), 5000) == SIPC_OK);
    char buffer[64];
    size_t length;
    CHILD_CHECK(sipc_recv(ch, buffer, sizeof buffer, &length, 5000) == SIPC_OK);
    CHILD_CHECK(length == 3 && memcmp(buffer, "ack", 3) == 0);
    if (plan->kill)
        raise(SIGKILL);
    sipc_close(ch);
    return 0;
}

void test_restart_and_reconnect(void)
{
    const char *name = test_name("restart");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    char buffer[64];
    size_t length;
    for (int round = 0; round < 4; round++) {
        session_plan plan = {.kill = round % 2 == 0};
        snprintf(plan.name, sizeof plan.name, "%s", name);
        snprintf(plan.text, sizeof plan.text, "%s", round % 2 ? "closed" : "killed");
        pid_t child = spawn_child(child_one_session, &plan, sizeof plan);
        CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
        CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_OK);
        CHECK(length == strlen(plan.text) && memcmp(buffer, plan.text, length) == 0);
        CHECK_RC(sipc_send(server, "ack", 3, 5000), SIPC_OK);
        /* A message the departing client will never read: dropped when the next one arrives. */
        CHECK(reap_child(child) == (plan.kill ? 128 + SIGKILL : 0));
        CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_ERR_PEER_GONE);
        (void)sipc_send(server, "lost", 4, 0);
    }
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_info(server, &info), SIPC_OK);
    CHECK(info.connections == 4);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

static int child_server_then_die(void *arg)
{
    session_plan *plan = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(plan->name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_get_role(ch) == SIPC_ROLE_SERVER);
    if (strcmp(plan->text, "both") == 0) {
        sipc_channel *client = NULL;
        CHILD_CHECK(sipc_open(plan->name, NULL, &client) == SIPC_OK);
        CHILD_CHECK(sipc_send(client, "orphan", 6, 0) == SIPC_OK);
    }
    if (plan->kill)
        raise(SIGKILL);
    return 0; /* exits without closing */
}

/* The server dies; the client stays; a new process takes the server role. */
void test_server_replaced(void)
{
    const char *name = test_name("srvrepl");
    session_plan plan = {.kill = 0};
    snprintf(plan.name, sizeof plan.name, "%s", name);
    sipc_channel *client = NULL;
    /* Make a live server in a child that exchanges one message and is then killed. */
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK(sipc_get_role(client) == SIPC_ROLE_CLIENT);
    CHECK_RC(sipc_connect(client, 1000), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    char buffer[64];
    size_t length;
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 1000), SIPC_ERR_PEER_GONE);
    snprintf(plan.text, sizeof plan.text, "again");
    plan.kill = 0;
    pid_t child = spawn_child(child_one_session, &plan, sizeof plan);
    CHECK_RC(sipc_connect(client, 5000), SIPC_OK);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_info(client, &info), SIPC_OK);
    CHECK(info.server_pid == child);
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 5000), SIPC_OK);
    CHECK(length == 5 && memcmp(buffer, "again", 5) == 0);
    CHECK_RC(sipc_send(client, "ack", 3, 5000), SIPC_OK);
    CHECK(reap_child(child) == 0);
    CHECK_RC(sipc_close(client), SIPC_OK);
}

void test_stale_recovery(void)
{
    const char *name = test_name("stale");
    session_plan plan = {.kill = 1};
    snprintf(plan.name, sizeof plan.name, "%s", name);
    pid_t child = spawn_child(child_server_then_die, &plan, sizeof plan);
    CHECK(reap_child(child) == 128 + SIGKILL);
    CHECK(shm_exists(name));
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_STALE);
    CHECK(info.server_alive == 0);
    /* NO_CREATE does not attach to a stale channel. */
    sipc_options o;
    sipc_options_init(&o);
    o.flags = SIPC_OPEN_NO_CREATE;
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_NOT_FOUND);
    /* The next opener reinitialises it, with its own options, as the server. */
    o = options_with(512, 3);
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_OK);
    CHECK(sipc_get_role(ch) == SIPC_ROLE_SERVER);
    CHECK(sipc_max_message_size(ch) == 512);
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_WAITING);
    CHECK(info.to_client.messages == 0);
    CHECK_RC(sipc_close(ch), SIPC_OK);
    CHECK(!shm_exists(name));

    /* A stale segment with a dead server AND a dead client: same, and nothing of it survives. */
    snprintf(plan.text, sizeof plan.text, "both");
    child = spawn_child(child_server_then_die, &plan, sizeof plan);
    CHECK(reap_child(child) == 128 + SIGKILL);
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_STALE);
    CHECK(info.to_server.queued == 1);
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    CHECK(sipc_get_role(ch) == SIPC_ROLE_SERVER);
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.to_server.queued == 0 && info.to_server.messages == 0);
    CHECK_RC(sipc_close(ch), SIPC_OK);
}

/* Many processes open the same fresh name at once: exactly one server, one client, rest BUSY. */
typedef struct race_plan {
    char name[SIPC_NAME_MAX + 1];
    int start[2];   /* closed by the parent: go */
    int results[2]; /* each racer writes one byte: its outcome */
    int release[2]; /* closed by the parent: everyone has answered, let go of the roles */
} race_plan;

static int child_race_open(void *arg)
{
    race_plan *plan = arg;
    close(plan->start[1]);
    close(plan->release[1]);
    close(plan->results[0]);
    char byte;
    CHILD_CHECK(read(plan->start[0], &byte, 1) == 0);
    sipc_channel *ch = NULL;
    int rc = sipc_open(plan->name, NULL, &ch);
    char outcome = rc == SIPC_ERR_BUSY ? 'B' : rc != SIPC_OK ? 'E' : sipc_get_role(ch) == SIPC_ROLE_SERVER ? 'S' : 'C';
    CHILD_CHECK(write(plan->results[1], &outcome, 1) == 1);
    /* Hold the role until every racer has answered. */
    CHILD_CHECK(read(plan->release[0], &byte, 1) == 0);
    if (ch != NULL)
        sipc_close(ch);
    return 0;
}

static void race_round(const char *name)
{
    race_plan plan;
    snprintf(plan.name, sizeof plan.name, "%s", name);
    CHECK(pipe(plan.start) == 0 && pipe(plan.results) == 0 && pipe(plan.release) == 0);
    enum { RACERS = 8 };
    pid_t children[RACERS];
    for (int i = 0; i < RACERS; i++)
        children[i] = spawn_child(child_race_open, &plan, sizeof plan);
    close(plan.start[0]);
    close(plan.release[0]);
    close(plan.results[1]);
    sleep_ms(50);
    close(plan.start[1]); /* all at once */
    int servers = 0, clients = 0, busy = 0;
    for (int i = 0; i < RACERS; i++) {
        char outcome = 0;
        CHECK(read(plan.results[0], &outcome, 1) == 1);
        servers += outcome == 'S';
        clients += outcome == 'C';
        busy += outcome == 'B';
    }
    close(plan.release[1]);
    for (int i = 0; i < RACERS; i++)
        CHECK(reap_child(children[i]) == 0);
    CHECK(servers == 1);
    CHECK(clients == 1);
    CHECK(busy == RACERS - 2);
    CHECK(!shm_exists(plan.name));
}


void test_simultaneous_openers(void)
{
    const char *name = test_name("race");
    race_round(name);
    if (test_failed())
        return;
    /* Again on a stale segment: the racers must agree on one re-initialisation. */
    session_plan stale = {.kill = 1};
    snprintf(stale.name, sizeof stale.name, "%s", name);
    pid_t child = spawn_child(child_server_then_die, &stale, sizeof stale);
    CHECK(reap_child(child) == 128 + SIGKILL);
    CHECK(shm_exists(name));
    race_round(name);
}

/* ---- by-name operations ---- */

void test_stat_list_remove(void)
{
    const char *name = test_name("admin");
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_ERR_NOT_FOUND);
    CHECK_RC(sipc_remove(name, 0), SIPC_ERR_NOT_FOUND);
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_WAITING);
    CHECK(info.protocol_version == 1);
    CHECK(info.created_ns > 0);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_connect(client, 1000), SIPC_OK);
    CHECK_RC(sipc_send(client, "12345", 5, 1000), SIPC_OK);
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_CONNECTED);
    CHECK(info.to_server.messages == 1 && info.to_server.bytes == 5 && info.to_server.queued == 1);
    CHECK(info.server_pid == getpid() && info.client_pid == getpid());
    const char *search[2] = {name, NULL};
    CHECK_RC(sipc_list(list_find, search), SIPC_OK);
    CHECK(search[1] != NULL);
    CHECK_RC(sipc_list(NULL, NULL), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_remove(name, 0), SIPC_ERR_BUSY);
    CHECK_RC(sipc_remove(name, 1), SIPC_OK);
    CHECK_RC(sipc_stat(name, &info), SIPC_ERR_NOT_FOUND);
    /* The attached peers keep working on the unlinked object. */
    char buffer[8];
    size_t length;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 1000), SIPC_OK);
    CHECK(length == 5);
    /* A new channel of the same name is independent; closing the old ones must not unlink it. */
    sipc_channel *fresh = NULL;
    CHECK_RC(sipc_open(name, NULL, &fresh), SIPC_OK);
    CHECK(sipc_get_role(fresh) == SIPC_ROLE_SERVER);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK(shm_exists(name));
    CHECK_RC(sipc_close(fresh), SIPC_OK);
    CHECK(!shm_exists(name));
}

static long voluntary_switches(void)
{
    FILE *f = fopen("/proc/thread-self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long value = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &value) == 1)
            break;
    }
    fclose(f);
    return value;
}

/* Process identity survives pid reuse: the start time must match too; zombies are dead. */
typedef struct identity_pipes {
    int identity[2]; /* child -> parent: its sipc_os_process */
    int release[2];  /* parent -> child: exit now */
} identity_pipes;

static int child_report_identity(void *arg)
{
    identity_pipes *p = arg;
    sipc_os_process me;
    CHILD_CHECK(sipc_os_process_self(&me) == SIPC_OK);
    CHILD_CHECK(write(p->identity[1], &me, sizeof me) == (ssize_t)sizeof me);
    char byte;
    CHILD_CHECK(read(p->release[0], &byte, 1) == 1);
    return 0;
}

void test_process_identity(void)
{
    sipc_os_process self;
    CHECK_RC(sipc_os_process_self(&self), SIPC_OK);
    CHECK(self.pid == getpid());
    CHECK(sipc_os_process_alive(&self) == 1);
    sipc_os_process other = self;
    other.start_time += 1; /* same pid, another process's start time: a reused pid */
    CHECK(sipc_os_process_alive(&other) == 0);
    other.pid = 0;
    CHECK(sipc_os_process_alive(&other) == 0);
    identity_pipes pipes;
    CHECK(pipe(pipes.identity) == 0 && pipe(pipes.release) == 0);
    pid_t child = spawn_child(child_report_identity, &pipes, sizeof pipes);
    sipc_os_process them;
    CHECK(read(pipes.identity[0], &them, sizeof them) == (ssize_t)sizeof them);
    CHECK(them.pid == child);
    CHECK(sipc_os_process_alive(&them) == 1);
    CHECK(write(pipes.release[1], "x", 1) == 1);
    sleep_ms(200); /* exited, not reaped yet: a zombie with the same pid and start time */
    CHECK(sipc_os_process_alive(&them) == 0);
    CHECK(reap_child(child) == 0);
    CHECK(sipc_os_process_alive(&them) == 0);
}

/* An idle connected channel with a blocked receiver burns no CPU (no spinning while idle). */
void test_idle_uses_no_cpu(void)
{
    const char *name = test_name("idle");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    death_plan plan = {.delay_ms = 1500, .kill = 0};
    snprintf(plan.name, sizeof plan.name, "%s", name);
    pid_t child = spawn_child(child_connect_then_die, &plan, sizeof plan);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    struct timespec before, after;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &before);
    uint8_t buffer[16];
    size_t length;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 800), SIPC_ERR_TIMEOUT);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &after);
    double cpu_ms = (double)(after.tv_sec - before.tv_sec) * 1e3 + (double)(after.tv_nsec - before.tv_nsec) / 1e6;
    CHECK(cpu_ms < 80.0);
#if defined(SIPC_OS_HAS_PROCESS_WATCHER)
    /* The blocked thread sleeps through: no periodic wake-ups (a watcher thread reports the
     * peer's death instead of liveness polling). */
    long switches_before = voluntary_switches();
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 500), SIPC_ERR_TIMEOUT);
    long switches = voluntary_switches() - switches_before;
    if (switches > 3)
        test_fail(__FILE__, __LINE__, "blocked recv woke %ld times in 500 ms", switches);
#endif
    CHECK(reap_child(child) == 0);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

void test_closed_and_null_handles(void)
{
    uint8_t buffer[4] = {0};
    size_t length;
    CHECK_RC(sipc_send(NULL, buffer, 1, 0), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_recv(NULL, buffer, 4, &length, 0), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_connect(NULL, 0), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_cancel(NULL), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_close(NULL), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_info(NULL, NULL), SIPC_ERR_INVALID_ARGUMENT);
    /* Structs the caller did not size (or sized for an older, smaller layout) are refused. */
    sipc_channel_info info;
    memset(&info, 0, sizeof info);
    CHECK_RC(sipc_stat("anything", &info), SIPC_ERR_INVALID_ARGUMENT);
    CHECK(sipc_get_role(NULL) == SIPC_ROLE_NONE);
    sipc_options_init(NULL);
    sipc_options o;
    sipc_options_init(&o);
    CHECK(o.struct_size == sizeof o && o.mode == 0600 && o.queue_depth == SIPC_DEFAULT_QUEUE_DEPTH);
}
