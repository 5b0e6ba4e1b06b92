/*
 * test_cancel.c — sipc_cancel: from another thread (every blocked call returns CANCELLED, sticky
 * until uncancel) and from a signal handler.
 */
#include "harness.h"
#include "platform.h"
#include "layout.h"

#include <signal.h>
#include <string.h>
#if !defined(_WIN32)
#  include <sys/time.h>
#endif
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
    sipc_os_thread threads[3];
    for (int i = 0; i < 3; i++)
        CHECK(sipc_os_thread_create(&threads[i], blocked_thread, &calls[i]) == SIPC_OK);
    /* Cancelled while all three sleep in their waits (the segment counts them), not after a chosen time: a call
     * made after the cancel would get CANCELLED too (sticky), without showing that a blocked one is woken. */
    header_view view;
    CHECK(header_view_open(name, &view) == 0);
    CHECK(wait_role_asleep(&view, SIPC_ROLE_INDEX_SERVER, 3));
    header_view_close(&view);
    /* The joins return only if the cancel woke every call (a call it missed hangs the test: the harness's alarm). */
    CHECK_RC(sipc_cancel(server), SIPC_OK);
    for (int i = 0; i < 3; i++)
        sipc_os_thread_join(&threads[i]);
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

#if !defined(_WIN32) /* signals and interval timers */
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
#endif
