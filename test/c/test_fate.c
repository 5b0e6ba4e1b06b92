/*
 * test_fate.c — message fate across sessions (PROTOCOL.md): a message in flight to a role holder
 * that leaves is never delivered to the next holder of that role (the observer reports it), and a
 * connect that looked at the peer role before the peer attached never declares that peer gone.
 * The race windows are opened with test hooks (src/test_hooks.h): a thread pauses at a point inside
 * a call while the test does the other side's action, so each test fails without its fix every time.
 */
#include "harness.h"
#include "platform.h"
#include "test_hooks.h"

#include <string.h>

typedef struct pause_point {
    sipc_os_mutex lock;
    sipc_os_cond changed;
    sipc_test_point point;
    int paused;   /* a thread is held at the point */
    int released; /* the test let it go; later passes do not stop */
} pause_point;

static void pause_init(pause_point *p, sipc_test_point point)
{
    memset(p, 0, sizeof *p);
    sipc_os_mutex_init(&p->lock);
    sipc_os_cond_init(&p->changed);
    p->point = point;
}

static void pause_destroy(pause_point *p)
{
    sipc_os_cond_destroy(&p->changed);
    sipc_os_mutex_destroy(&p->lock);
}

/* Holds the first thread that reaches the point until pause_release. */
static void pause_at(pause_point *p, sipc_test_point point)
{
    if (point != p->point)
        return;
    sipc_os_mutex_lock(&p->lock);
    if (!p->paused && !p->released) {
        p->paused = 1;
        sipc_os_cond_broadcast(&p->changed);
        while (!p->released)
            sipc_os_cond_wait(&p->changed, &p->lock);
    }
    sipc_os_mutex_unlock(&p->lock);
}

/* The hook's argument: the points where a handle's threads are held (NULL-terminated). */
typedef struct pause_plan {
    pause_point *points[3];
} pause_plan;

static void pause_hook(void *arg, sipc_test_point point)
{
    pause_plan *plan = arg;
    for (int i = 0; plan->points[i] != NULL; i++)
        pause_at(plan->points[i], point);
}

static void pause_wait_held(pause_point *p)
{
    sipc_os_mutex_lock(&p->lock);
    while (!p->paused)
        sipc_os_cond_wait(&p->changed, &p->lock);
    sipc_os_mutex_unlock(&p->lock);
}

static void pause_release(pause_point *p)
{
    sipc_os_mutex_lock(&p->lock);
    p->released = 1;
    sipc_os_cond_broadcast(&p->changed);
    sipc_os_mutex_unlock(&p->lock);
}

typedef struct call_on_thread {
    sipc_channel *channel;
    const char *text; /* send this, or connect when NULL */
    int rc;
} call_on_thread;

static void *run_call(void *arg)
{
    call_on_thread *call = arg;
    if (call->text != NULL)
        call->rc = sipc_send(call->channel, call->text, strlen(call->text), 5000);
    else
        call->rc = sipc_connect(call->channel, 10000);
    return NULL;
}

static int next_observed(sipc_observer *observer, char *text, size_t capacity, sipc_observed_message *m)
{
    memset(m, 0, sizeof *m);
    m->struct_size = sizeof *m;
    int rc = sipc_observer_next(observer, text, capacity - 1, m, 5000);
    if (rc == SIPC_OK)
        text[m->copied] = '\0';
    return rc;
}

/*
 * The server's reply passes the "client present" check, then the client closes and the next client
 * takes the role before the reply is published: the reply names the first client's session, so the
 * next client discards it instead of receiving it, and the observer reports it.
 */
void test_fate_reply_in_flight_to_departed_client(void)
{
    const char *name = test_name("inflight");
    sipc_channel *server = NULL, *first = NULL, *second = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &first), SIPC_OK);
    CHECK_RC(sipc_connect(first, 5000), SIPC_OK);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    sipc_observer *observer = NULL;
    CHECK_RC(sipc_observe(name, &observer), SIPC_OK);

    pause_point hold;
    pause_init(&hold, SIPC_TEST_SEND_BEFORE_PUBLISH);
    pause_plan plan = {{&hold, NULL}};
    sipc_channel_set_test_hook(server, pause_hook, &plan);
    call_on_thread reply = {.channel = server, .text = "for-first"};
    sipc_os_thread thread;
    CHECK(sipc_os_thread_create(&thread, run_call, &reply) == SIPC_OK);
    pause_wait_held(&hold);
    CHECK_RC(sipc_close(first), SIPC_OK);
    int opened = sipc_open(name, NULL, &second);
    pause_release(&hold);
    sipc_os_thread_join(&thread);
    sipc_channel_set_test_hook(server, NULL, NULL);
    pause_destroy(&hold);
    CHECK_RC(opened, SIPC_OK);
    CHECK(sipc_get_role(second) == SIPC_ROLE_CLIENT);
    CHECK_RC(reply.rc, SIPC_OK); /* it was sent: the first client was present when it looked */

    /* The observer sees it while it is still queued: its addressee is gone, nobody will take it. */
    char text[64];
    sipc_observed_message m;
    CHECK_RC(next_observed(observer, text, sizeof text, &m), SIPC_OK);
    CHECK(strcmp(text, "for-first") == 0 && m.direction == SIPC_DIR_TO_CLIENT);
    CHECK(m.undeliverable == 1);
    uint64_t discarded = m.discarded;

    char buffer[64];
    size_t length = 0;
    CHECK_RC(sipc_connect(second, 5000), SIPC_OK);
    int rc = sipc_recv(second, buffer, sizeof buffer, &length, 30);
    if (rc == SIPC_OK)
        test_fail(__FILE__, __LINE__, "the next client received \"%.*s\", meant for its predecessor", (int)length,
                  buffer);
    CHECK_RC(rc, SIPC_ERR_TIMEOUT);
    /* The server learns the first client left and serves the second one. */
    CHECK_RC(sipc_send(server, "for-second", 10, 5000), SIPC_ERR_PEER_GONE);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    CHECK_RC(sipc_send(server, "for-second", 10, 5000), SIPC_OK);
    CHECK_RC(sipc_recv(second, buffer, sizeof buffer, &length, 5000), SIPC_OK);
    CHECK(length == 10 && memcmp(buffer, "for-second", 10) == 0);

    /* The next message it sees reports the discard (and was delivered). */
    CHECK_RC(next_observed(observer, text, sizeof text, &m), SIPC_OK);
    CHECK(strcmp(text, "for-second") == 0 && m.undeliverable == 0);
    discarded += m.discarded;
    CHECK(discarded == 1);

    CHECK_RC(sipc_observer_close(observer), SIPC_OK);
    CHECK_RC(sipc_close(second), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/*
 * A connect looks at the peer role (nobody there yet), then the client attaches and sends, then the
 * connect looks at the queue, finds the client's message and chooses its session. With `threads` 2,
 * another thread of the handle adopts the client before the first one adopts. Either way the client
 * is present: no PEER_GONE while it stays.
 */
static void connect_across_an_attach(const char *name, int threads)
{
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    pause_point looked, chose;
    pause_init(&looked, SIPC_TEST_CONNECT_LOOKED_AT_ROLE);
    pause_init(&chose, SIPC_TEST_CONNECT_CHOSE_PEER);
    pause_plan plan = {{&looked, &chose, NULL}};
    sipc_channel_set_test_hook(server, pause_hook, &plan);
    call_on_thread stale = {.channel = server, .text = NULL};
    sipc_os_thread thread;
    CHECK(sipc_os_thread_create(&thread, run_call, &stale) == SIPC_OK);
    pause_wait_held(&looked);
    int opened = sipc_open(name, NULL, &client);
    int sent = opened == SIPC_OK ? sipc_send(client, "hello", 5, 5000) : opened;
    pause_release(&looked);
    pause_wait_held(&chose);
    int other = threads == 2 ? sipc_connect(server, 5000) : SIPC_OK;
    pause_release(&chose);
    sipc_os_thread_join(&thread);
    sipc_channel_set_test_hook(server, NULL, NULL);
    pause_destroy(&looked);
    pause_destroy(&chose);
    CHECK_RC(opened, SIPC_OK);
    CHECK_RC(sent, SIPC_OK);
    CHECK_RC(other, SIPC_OK);
    CHECK_RC(stale.rc, SIPC_OK);

    char buffer[16];
    size_t length = 0;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_OK);
    CHECK(length == 5 && memcmp(buffer, "hello", 5) == 0);
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 30), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_send(server, "bye", 3, 5000), SIPC_OK);
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 5000), SIPC_OK);
    CHECK(length == 3 && memcmp(buffer, "bye", 3) == 0);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_ERR_PEER_GONE);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

void test_fate_connect_looks_across_an_attach(void)
{
    connect_across_an_attach(test_name("across"), 1);
}

void test_fate_two_threads_connect_at_once(void)
{
    connect_across_an_attach(test_name("twice"), 2);
}
