/*
 * test_takeover.c — what happens to a role and its queue when its holder goes: messages queued for a
 * departed peer are dropped and counted when the next process takes its role, and a channel whose
 * only live process is the client is still in use (remove refuses it without force).
 */
#include "harness.h"
#include "layout.h"

#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

/* The ring's "dropped" counter straight from the segment (sipc_channel_info does not carry it). */
static int read_dropped(const char *name, int direction, uint64_t *dropped)
{
    raw_map view;
    if (raw_open(name, &view) != 0)
        return -1;
    const seg_header *header = (const seg_header *)view.base;
    *dropped = SH_LOAD(&header->rings[direction].dropped);
    raw_close(&view);
    return 0;
}

typedef struct client_plan {
    char name[128];
    test_pipe ready;   /* the client writes one byte once connected */
    test_pipe release; /* never written: the client waits here until it is killed */
} client_plan;

static int child_client_until_killed(void *arg)
{
    client_plan *plan = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(plan->name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_get_role(ch) == SIPC_ROLE_CLIENT);
    CHILD_CHECK(sipc_connect(ch, 5000) == SIPC_OK);
    CHILD_CHECK(sipc_send(ch, "from the first client", 21, 5000) == SIPC_OK);
    CHILD_CHECK(pipe_write(plan->ready.write_end, "r", 1));
    char byte;
    (void)pipe_read(plan->release.read_end, &byte, 1);
    return 0;
}

/* Three messages queued for a client that is then killed: the next client does not get them, the
 * ring counts them as dropped, and what the first client sent stays deliverable to the server. */
void test_takeover_drops_and_counts(void)
{
    const char *name = test_name("takeover");
    sipc_options o = options_with(64, 4);
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
    client_plan plan;
    snprintf(plan.name, sizeof plan.name, "%s", name);
    CHECK(test_pipe_open(&plan.ready) == 0 && test_pipe_open(&plan.release) == 0);
    pid_t child = spawn_child(child_client_until_killed, &plan, sizeof plan);
    CHECK(child > 0);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    char byte;
    CHECK(pipe_read(plan.ready.read_end, &byte, 1) == 1);
    for (int i = 0; i < 3; i++)
        CHECK_RC(sipc_send(server, "never read", 10, 5000), SIPC_OK); /* the client is alive: queued */
    uint64_t dropped = 99;
    CHECK(read_dropped(name, SIPC_DIR_TO_CLIENT, &dropped) == 0 && dropped == 0);
    CHECK(kill_child(child) == 0);
    CHECK(reap_child(child) == 128 + SIGKILL);

    sipc_channel *next = NULL;
    CHECK_RC(sipc_open(name, NULL, &next), SIPC_OK);
    CHECK(sipc_get_role(next) == SIPC_ROLE_CLIENT);
    CHECK(read_dropped(name, SIPC_DIR_TO_CLIENT, &dropped) == 0);
    CHECK(dropped == 3);
    CHECK(read_dropped(name, SIPC_DIR_TO_SERVER, &dropped) == 0 && dropped == 0);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.to_client.queued == 0);
    CHECK(info.to_client.messages == 3);
    CHECK(info.to_server.queued == 1);

    /* The server first gets the departed client's message, then its PEER_GONE, then the next client. */
    char buffer[64];
    size_t length = 0;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_OK);
    CHECK(length == 21 && memcmp(buffer, "from the first client", 21) == 0);
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_ERR_PEER_GONE);
    CHECK_RC(sipc_connect(next, 5000), SIPC_OK);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    CHECK_RC(sipc_recv(next, buffer, sizeof buffer, &length, 0), SIPC_ERR_TIMEOUT); /* nothing of the old session */
    CHECK_RC(sipc_send(server, "fresh", 5, 5000), SIPC_OK);
    CHECK_RC(sipc_recv(next, buffer, sizeof buffer, &length, 5000), SIPC_OK);
    CHECK(length == 5 && memcmp(buffer, "fresh", 5) == 0);
    CHECK(read_dropped(name, SIPC_DIR_TO_CLIENT, &dropped) == 0 && dropped == 3);
    test_pipe_close(&plan.ready);
    test_pipe_close(&plan.release);
    CHECK_RC(sipc_close(next), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK(!shm_exists(name));
}

/* The server left (its role is free), the client is still attached: the channel is in use, so
 * remove without force refuses it; once the client left too, it goes. */
void test_remove_with_only_the_client_alive(void)
{
    const char *name = test_name("rmclient");
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK(sipc_get_role(client) == SIPC_ROLE_CLIENT);
    CHECK_RC(sipc_close(server), SIPC_OK);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.server_pid == 0 && info.server_alive == 0);
    CHECK(info.client_pid == getpid() && info.client_alive == 1);
    CHECK_RC(sipc_remove(name, 0), SIPC_ERR_BUSY);
    CHECK(shm_exists(name));
    CHECK_RC(sipc_stat(name, &info), SIPC_OK); /* still there and unchanged */
    CHECK(info.client_alive == 1);
    CHECK_RC(sipc_close(client), SIPC_OK); /* the last one out removes the segment */
    CHECK(!shm_exists(name));
    CHECK_RC(sipc_remove(name, 0), SIPC_ERR_NOT_FOUND);
}
