/*
 * test_waiting.c — the waiting protocol's spin-or-sleep decisions (PROTOCOL.md section 6), checked
 * with the handle's wait counters instead of timings: the spin budget is fixed (a test hook) so a
 * spin lasts until the peer acts, and the peer is held still (SIGSTOP, or suspended on Windows) where
 * the order matters.
 */
#include "harness.h"
#include "layout.h"
#include "waiting.h"

#include "platform.h"

#include <stdio.h>
#include <string.h>

/* Long enough that a spin the protocol allows always outlasts the peer's answer, even on a loaded
 * machine; the tests never wait that long when the protocol decides right. */
#define FIXED_SPIN_NS 4000000000u
#define ROUND_TRIPS 100

typedef struct echo_plan {
    char name[SIPC_NAME_MAX + 1];
} echo_plan;

/* Echoes every message until the server leaves (0; 1 on a failure). After receiving message number `mark_at`
 * it notes the handle's wait counters in *mark and, if fix_spin_ns is not 0, fixes its spin budget (test hook). */
static int echo_until_peer_gone(sipc_channel *ch, int mark_at, sipc_wait_stats *mark, uint32_t fix_spin_ns)
{
    uint8_t buffer[64];
    size_t length = 0;
    for (int messages = 0;; messages++) {
        int rc = sipc_recv(ch, buffer, sizeof buffer, &length, 20000);
        if (rc == SIPC_ERR_PEER_GONE)
            break;
        CHILD_CHECK(rc == SIPC_OK);
        if (messages == mark_at) {
            sipc_channel_wait_stats(ch, mark);
            if (fix_spin_ns != 0)
                sipc_channel_fix_spin(ch, fix_spin_ns);
        }
        rc = sipc_send(ch, buffer, length, 20000);
        if (rc == SIPC_ERR_PEER_GONE)
            break;
        CHILD_CHECK(rc == SIPC_OK);
    }
    return 0;
}

/* Client: echoes every message until the server leaves. After the first message it spins with the
 * fixed budget and must never sleep again: its peer is always running or just woken by it. */
static int child_echo(void *arg)
{
    echo_plan *plan = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(plan->name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_connect(ch, 5000) == SIPC_OK);
    sipc_wait_stats after_first = {0};
    CHILD_CHECK(echo_until_peer_gone(ch, 0, &after_first, FIXED_SPIN_NS) == 0);
    sipc_wait_stats stats;
    sipc_channel_wait_stats(ch, &stats);
    if (stats.sleeps != after_first.sleeps)
        fprintf(stderr, "    echo slept %llu times after its first message\n",
                (unsigned long long)(stats.sleeps - after_first.sleeps));
    CHILD_CHECK(stats.sleeps == after_first.sleeps);
    CHILD_CHECK(sipc_close(ch) == SIPC_OK);
    return 0;
}

/* Waits (state, not time: 20 s is only a bound against a hang) until the client role has a thread
 * asleep and has begun at least `naps` naps. */
static int wait_client_asleep(const header_view *view, uint32_t naps)
{
    const seg_role *client = &view->header->roles[SIPC_ROLE_INDEX_CLIENT];
    for (int i = 0; i < 20000; i++) {
        if (SH_LOAD(&client->sleepers) != 0 && SH_LOAD(&client->naps) >= naps)
            return 1;
        sleep_ms(1);
    }
    return 0;
}

/* Opens the server, starts `client` in a child process and waits until it sleeps in its first wait. */
static int start_with_client_asleep(const char *name, int (*client)(void *), sipc_channel **server, pid_t *child,
                                    header_view *view)
{
    if (sipc_open(name, NULL, server) != SIPC_OK)
        return 0;
    echo_plan plan;
    snprintf(plan.name, sizeof plan.name, "%s", name);
    *child = spawn_child(client, &plan, sizeof plan);
    return *child > 0 && sipc_connect(*server, 5000) == SIPC_OK && header_view_open(name, view) == 0 &&
           wait_client_asleep(view, 1);
}

typedef struct resume_plan {
    sipc_channel *server;
    pid_t child;
    uint64_t spins_before;
    uint64_t sleeps_before;
} resume_plan;

/* Lets the stopped peer go on once the server has decided how to wait: spun (the fix) or slept. */
static void *resume_when_waiting(void *arg)
{
    resume_plan *plan = arg;
    for (;;) {
        sipc_wait_stats stats;
        sipc_channel_wait_stats(plan->server, &stats);
        if (stats.spins != plan->spins_before || stats.sleeps != plan->sleeps_before)
            break;
        sleep_ms(1);
    }
    continue_child(plan->child);
    return NULL;
}

/*
 * The ping-pong that used to settle in a slow equilibrium: the peer is asleep, we wake it and wait
 * for its answer while it is still on its way out of the wait. We must spin (it was just woken),
 * not sleep; and from then on neither side ever sleeps. Also: a peer that sleeps and that we did
 * not wake is never spun on, nor one that went back to sleep after our wake-up.
 */
void test_waiting_spins_for_a_woken_peer(void)
{
    sipc_channel *server = NULL;
    pid_t child = -1;
    header_view view;
    CHECK(start_with_client_asleep(test_name("woken"), child_echo, &server, &child, &view));
    sipc_channel_fix_spin(server, FIXED_SPIN_NS);

    /* An idle peer (asleep, not woken by us): no spin, straight to sleep. */
    uint8_t buffer[64] = {0};
    size_t length = 0;
    sipc_wait_stats connected; /* connect's own waits are not the point here */
    sipc_channel_wait_stats(server, &connected);
    /* 300 ms: long enough to reach the sleep even when a loaded machine preempts us for tens of ms. */
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 300), SIPC_ERR_TIMEOUT);
    sipc_wait_stats stats;
    sipc_channel_wait_stats(server, &stats);
    CHECK(stats.spins == connected.spins && stats.sleeps > connected.sleeps && stats.wakes == 0);

    /* Wake it while it is held still: it stays counted asleep, yet we must spin for its answer. */
    CHECK(stop_child(child) == 0);
    resume_plan resume = {.server = server, .child = child, .spins_before = stats.spins, .sleeps_before = stats.sleeps};
    sipc_os_thread resumer;
    CHECK(sipc_os_thread_create(&resumer, resume_when_waiting, &resume) == SIPC_OK);
    int sent = sipc_send(server, "ping", 4, 5000);
    int received = sent == SIPC_OK ? sipc_recv(server, buffer, sizeof buffer, &length, 20000) : sent;
    if (sent != SIPC_OK)
        continue_child(child);
    sipc_os_thread_join(&resumer);
    CHECK_RC(sent, SIPC_OK);
    CHECK_RC(received, SIPC_OK);
    CHECK(length == 4 && memcmp(buffer, "ping", 4) == 0);
    sipc_wait_stats after;
    sipc_channel_wait_stats(server, &after);
    if (after.sleeps != stats.sleeps)
        test_fail(__FILE__, __LINE__, "slept while the peer it had just woken was on its way (spins %llu)",
                  (unsigned long long)after.spins);
    CHECK(after.wakes == 1 && after.spins == stats.spins + 1 && after.spin_hits == stats.spin_hits + 1);

    /* Back to back from the first trip on: nobody sleeps (the child checks itself). */
    for (int i = 0; i < ROUND_TRIPS; i++) {
        message_fill(buffer, sizeof buffer, 7, (uint64_t)i);
        CHECK_RC(sipc_send(server, buffer, sizeof buffer, 20000), SIPC_OK);
        CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 20000), SIPC_OK);
        CHECK(length == sizeof buffer && message_check(buffer, sizeof buffer, 7, (uint64_t)i));
    }
    sipc_channel_wait_stats(server, &after);
    CHECK(after.sleeps == stats.sleeps);
    CHECK(after.spin_hits - stats.spin_hits == after.spins - stats.spins);

    CHECK_RC(sipc_close(server), SIPC_OK);
    header_view_close(&view);
    CHECK(reap_child(child) == 0);
}

/* Closes after its first echo; then sleeps in recv (adaptive spin) until the parent closes. */
static int child_echo_once_then_sleep(void *arg)
{
    echo_plan *plan = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(plan->name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_connect(ch, 5000) == SIPC_OK);
    uint8_t buffer[64];
    size_t length = 0;
    CHILD_CHECK(sipc_recv(ch, buffer, sizeof buffer, &length, 20000) == SIPC_OK);
    CHILD_CHECK(sipc_send(ch, buffer, length, 20000) == SIPC_OK);
    CHILD_CHECK(sipc_recv(ch, buffer, sizeof buffer, &length, 20000) == SIPC_ERR_PEER_GONE);
    CHILD_CHECK(sipc_close(ch) == SIPC_OK);
    return 0;
}

/* A woken peer that went back to sleep (a new nap) is idle again: no spin for it. */
void test_waiting_no_spin_after_peer_naps_again(void)
{
    sipc_channel *server = NULL;
    pid_t child = -1;
    header_view view;
    CHECK(start_with_client_asleep(test_name("naps"), child_echo_once_then_sleep, &server, &child, &view));
    uint32_t naps = SH_LOAD(&view.header->roles[SIPC_ROLE_INDEX_CLIENT].naps);
    CHECK_RC(sipc_send(server, "ping", 4, 5000), SIPC_OK);
    sipc_wait_stats stats;
    sipc_channel_wait_stats(server, &stats);
    CHECK(stats.wakes == 1);
    /* The echo comes back and the child naps again, waiting for more. */
    CHECK(wait_client_asleep(&view, naps + 1));
    uint8_t buffer[64];
    size_t length = 0;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_OK);
    sipc_channel_fix_spin(server, FIXED_SPIN_NS);
    sipc_channel_wait_stats(server, &stats);
    /* 300 ms: long enough to reach the sleep even when a loaded machine preempts us for tens of ms. */
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 300), SIPC_ERR_TIMEOUT);
    sipc_wait_stats after;
    sipc_channel_wait_stats(server, &after);
    CHECK(after.spins == stats.spins);
    CHECK(after.sleeps > stats.sleeps);
    CHECK_RC(sipc_close(server), SIPC_OK);
    header_view_close(&view);
    CHECK(reap_child(child) == 0);
}

#if defined(__linux__) /* CPU affinity and sched_getcpu() */
#    include <sched.h>

#    define SHARED_CPU_WARM_UP 16
#    define SHARED_CPU_ROUND_TRIPS 2000

/* Pins the calling process to `cpu`; 1 on success. */
static int pin_to_cpu(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof one, &one) == 0;
}

typedef struct shared_cpu_plan {
    char name[SIPC_NAME_MAX + 1];
    int cpu;
} shared_cpu_plan;

/* Client on the server's CPU: echoes until the server leaves, and never spins once the server has
 * published where it runs (after the warm-up). */
static int child_echo_on_cpu(void *arg)
{
    shared_cpu_plan *plan = arg;
    CHILD_CHECK(pin_to_cpu(plan->cpu));
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(plan->name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_connect(ch, 20000) == SIPC_OK);
    sipc_wait_stats warm = {0};
    CHILD_CHECK(echo_until_peer_gone(ch, SHARED_CPU_WARM_UP, &warm, 0) == 0);
    sipc_wait_stats stats;
    sipc_channel_wait_stats(ch, &stats);
    if (stats.spins != warm.spins)
        fprintf(stderr, "    echo spun %llu times on the server's CPU\n", (unsigned long long)(stats.spins - warm.spins));
    CHILD_CHECK(stats.spins == warm.spins);
    CHILD_CHECK(sipc_close(ch) == SIPC_OK);
    return 0;
}

/*
 * Two peers on one CPU: spinning for the peer only keeps it off the CPU it needs to answer, so once
 * each side has published its CPU in its role (PROTOCOL.md section 6) neither spins, not even the
 * periodic probes for a peer just woken (which cost a p99 of ~56 us in same-CPU ping-pong).
 */
void test_waiting_no_spin_when_sharing_a_cpu(void)
{
    cpu_set_t original;
    CHECK(sched_getaffinity(0, sizeof original, &original) == 0);
    int cpu = sched_getcpu();
    CHECK(cpu >= 0);
    CHECK(pin_to_cpu(cpu));
    const char *name = test_name("onecpu");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    shared_cpu_plan plan = {.cpu = cpu};
    snprintf(plan.name, sizeof plan.name, "%s", name);
    pid_t child = spawn_child(child_echo_on_cpu, &plan, sizeof plan);
    CHECK(child > 0);
    CHECK_RC(sipc_connect(server, 20000), SIPC_OK);
    uint8_t buffer[64];
    size_t length = 0;
    sipc_wait_stats warm = {0};
    for (int i = 0; i < SHARED_CPU_WARM_UP + SHARED_CPU_ROUND_TRIPS; i++) {
        if (i == SHARED_CPU_WARM_UP)
            sipc_channel_wait_stats(server, &warm);
        message_fill(buffer, sizeof buffer, 11, (uint64_t)i);
        CHECK_RC(sipc_send(server, buffer, sizeof buffer, 20000), SIPC_OK);
        CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 20000), SIPC_OK);
        CHECK(length == sizeof buffer && message_check(buffer, sizeof buffer, 11, (uint64_t)i));
    }
    sipc_wait_stats after;
    sipc_channel_wait_stats(server, &after);
    if (after.spins != warm.spins)
        test_fail(__FILE__, __LINE__, "spun %llu times for a peer on its own CPU (%llu skips)",
                  (unsigned long long)(after.spins - warm.spins),
                  (unsigned long long)(after.same_cpu_skips - warm.same_cpu_skips));
    CHECK(after.same_cpu_skips > warm.same_cpu_skips);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK(reap_child(child) == 0);
    sched_setaffinity(0, sizeof original, &original);
}
#endif

/*
 * An idle connected channel costs nothing (PROTOCOL.md section 6, idle cost): a receiver waiting for a
 * peer that sleeps too does not spin, and sleeps through its whole wait in one sleep, without periodic
 * wake-ups (the watcher thread reports a peer's death, so there is no liveness polling); the sleeping
 * peer is not woken either. Counted (the handle's sleeps and spins, the peer's naps), not timed: the
 * fixed spin budget would make any spin the protocol allowed last until the wait's end.
 */
void test_waiting_idle_sleeps_through(void)
{
    sipc_channel *server = NULL;
    pid_t child = -1;
    header_view view;
    CHECK(start_with_client_asleep(test_name("idle"), child_echo_once_then_sleep, &server, &child, &view));
    sipc_channel_fix_spin(server, FIXED_SPIN_NS);
    const uint32_t *client_naps = &view.header->roles[SIPC_ROLE_INDEX_CLIENT].naps;
    uint32_t naps = SH_LOAD(client_naps);
    sipc_wait_stats stats;
    sipc_channel_wait_stats(server, &stats);
    uint8_t buffer[64];
    size_t length = 0;
    /* 800 ms: with polling (the fallback without a watcher: one look per 100 ms) it would sleep 8 times. */
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 800), SIPC_ERR_TIMEOUT);
    sipc_wait_stats after;
    sipc_channel_wait_stats(server, &after);
    if (after.sleeps - stats.sleeps != 1 || after.spins != stats.spins)
        test_fail(__FILE__, __LINE__, "an idle 800 ms recv slept %llu times and spun %llu times (1 and 0 expected)",
                  (unsigned long long)(after.sleeps - stats.sleeps), (unsigned long long)(after.spins - stats.spins));
    CHECK(after.wakes == stats.wakes);
    CHECK(SH_LOAD(client_naps) == naps);
    /* Still connected and working: the child echoes, then waits for us to leave. */
    CHECK_RC(sipc_send(server, "ping", 4, 5000), SIPC_OK);
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 20000), SIPC_OK);
    CHECK(length == 4 && memcmp(buffer, "ping", 4) == 0);
    CHECK_RC(sipc_close(server), SIPC_OK);
    header_view_close(&view);
    CHECK(reap_child(child) == 0);
}
