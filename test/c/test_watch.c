/*
 * test_watch.c — sipc_async_watch: every change of the machine's channels is reported, including the
 * ones made while the watch's thread was still starting.
 */
#include "harness.h"
#include "sipc_async.h"
#include "test_hooks.h"

#include <string.h>

/* Notify calls so far (atomic). Static and never reset to zero mid-run: a watch's thread may still be
 * inside a notify after sipc_async_watch_release returned. */
static int notified;

static void count_notify(uint32_t token)
{
    (void)token;
    __atomic_add_fetch(&notified, 1, __ATOMIC_ACQ_REL);
}

/* Waits (a hang guard of 30 s: the watch's thread may wait its turn on a loaded or emulated machine) for a notify
 * after the `seen`-th one; the count of notifies so far. */
static int wait_for_notify_after(int seen)
{
    uint64_t deadline = now_ns() + 30000000000ull;
    int now;
    while ((now = __atomic_load_n(&notified, __ATOMIC_ACQUIRE)) <= seen && now_ns() < deadline)
        sleep_ms(5);
    return now;
}

typedef struct appear_while_starting {
    const char *name;
    sipc_channel *server;
    int rc;
} appear_while_starting;

static void open_after_first_look(void *arg, sipc_test_point point)
{
    appear_while_starting *state = arg;
    if (point == SIPC_TEST_WATCH_TOOK_FIRST_LOOK)
        state->rc = sipc_open(state->name, NULL, &state->server);
}

/* A channel that appears between the watch's first look and its first wait, then vanishes: both are
 * reported (the removal used to be lost, the channel list being equal to that first look again). */
void test_watch_reports_a_channel_appearing_while_it_starts_and_vanishing(void)
{
    int before = __atomic_load_n(&notified, __ATOMIC_ACQUIRE);
    appear_while_starting state = {test_name("watched"), NULL, SIPC_ERR_SYSTEM};
    sipc_async_watch_set_test_hook(open_after_first_look, &state);
    sipc_async_watch *watch = NULL;
    /* A long interval: on Linux the OS reports the change; elsewhere the comparison repeats this often. */
    int rc = sipc_async_watch_start(100, count_notify, 7, &watch);
    int seen = rc == SIPC_OK ? wait_for_notify_after(before) : before;
    sipc_async_watch_set_test_hook(NULL, NULL);
    uint64_t changes = 0;
    int reported_appearing = seen > before && sipc_async_watch_poll(watch, &changes) == SIPC_OK && changes > 0;
    uint64_t changes_after_appearing = changes;
    int closed = state.server != NULL ? sipc_close(state.server) : SIPC_ERR_SYSTEM;
    int reported_vanishing = 0;
    if (rc == SIPC_OK && closed == SIPC_OK) {
        /* Other processes may change the channels meanwhile: wait until a report finds it gone. */
        for (int counted = seen; !reported_vanishing;) {
            int now = wait_for_notify_after(counted);
            if (now == counted)
                break;
            counted = now;
            sipc_channel_info info;
            memset(&info, 0, sizeof info);
            info.struct_size = sizeof info;
            reported_vanishing = sipc_async_watch_poll(watch, &changes) == SIPC_OK &&
                                 changes > changes_after_appearing &&
                                 sipc_stat(state.name, &info) == SIPC_ERR_NOT_FOUND;
        }
    }
    if (watch != NULL)
        sipc_async_watch_release(watch);
    CHECK_RC(rc, SIPC_OK);
    CHECK_RC(state.rc, SIPC_OK);
    CHECK_RC(closed, SIPC_OK);
    CHECK(reported_appearing);
    CHECK(reported_vanishing);
}

static void open_before_first_look(void *arg, sipc_test_point point)
{
    appear_while_starting *state = arg;
    if (point == SIPC_TEST_WATCH_STARTING)
        state->rc = sipc_open(state->name, NULL, &state->server);
}

/* A channel that appears after sipc_async_watch_start returned but before its thread's first look is
 * reported (the look includes it, so no comparison tells it apart: Linux's monitor has it queued; where
 * the OS reports nothing, the watch reports once after its first look). */
void test_watch_reports_a_channel_appearing_before_its_first_look(void)
{
    int before = __atomic_load_n(&notified, __ATOMIC_ACQUIRE);
    appear_while_starting state = {test_name("first"), NULL, SIPC_ERR_SYSTEM};
    sipc_async_watch_set_test_hook(open_before_first_look, &state);
    sipc_async_watch *watch = NULL;
    /* A long interval: only the start's report can come in time. */
    int rc = sipc_async_watch_start(600000, count_notify, 8, &watch);
    int seen = rc == SIPC_OK ? wait_for_notify_after(before) : before;
    sipc_async_watch_set_test_hook(NULL, NULL);
    uint64_t changes = 0;
    int reported = seen > before && sipc_async_watch_poll(watch, &changes) == SIPC_OK && changes > 0;
    if (watch != NULL)
        sipc_async_watch_release(watch);
    int closed = state.server != NULL ? sipc_close(state.server) : SIPC_ERR_SYSTEM;
    CHECK_RC(rc, SIPC_OK);
    CHECK_RC(state.rc, SIPC_OK);
    CHECK_RC(closed, SIPC_OK);
    CHECK(reported);
}

typedef struct passing_channel {
    const char *name;
    sipc_channel *channel;
    int opened;
    int listed; /* atomic: the caller saw the passing channel */
} passing_channel;

/* Right after the watch's first report, a channel comes, is seen by the caller, and goes again before the
 * watch looks: no two looks of the watch differ. */
static void pass_by_after_a_report(void *arg, sipc_test_point point)
{
    passing_channel *state = arg;
    if (point != SIPC_TEST_WATCH_REPORTED || state->opened)
        return;
    state->opened = sipc_open(state->name, NULL, &state->channel) == SIPC_OK ? 1 : -1;
    uint64_t deadline = now_ns() + 10000000000ull;
    while (state->opened == 1 && !__atomic_load_n(&state->listed, __ATOMIC_ACQUIRE) && now_ns() < deadline)
        sleep_ms(1);
    if (state->channel != NULL)
        sipc_close(state->channel);
}

/* A caller that listed between two of the watch's looks, and saw a channel that was gone by the next look,
 * is told once more when the changes settle, and lists it gone (it kept showing the channel before). */
void test_watch_tells_a_caller_that_saw_a_passing_channel_again(void)
{
    int before = __atomic_load_n(&notified, __ATOMIC_ACQUIRE);
    /* Static: the watch's thread may still call the hook after the release returned. */
    static passing_channel state;
    state = (passing_channel){test_name("passing"), NULL, 0, 0};
    /* The report comes from a channel that vanishes: a settled state at once (a new one changes until its
     * creator initialised it, which would make the watch's looks differ anyway). */
    sipc_channel *cause = NULL;
    int cause_rc = sipc_open(test_name("cause"), NULL, &cause);
    sipc_async_watch_set_test_hook(pass_by_after_a_report, &state);
    sipc_async_watch *watch = NULL;
    int rc = sipc_async_watch_start(100, count_notify, 9, &watch);
    if (cause != NULL)
        cause_rc = sipc_close(cause);
    int seen = rc == SIPC_OK ? wait_for_notify_after(before) : before;
    uint64_t changes = 0;
    sipc_channel_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    /* The caller polls and lists after the report, while the passing channel is there. */
    int saw_it = 0;
    if (seen > before && sipc_async_watch_poll(watch, &changes) == SIPC_OK) {
        uint64_t deadline = now_ns() + 10000000000ull;
        while (!(saw_it = sipc_stat(state.name, &info) == SIPC_OK) && now_ns() < deadline)
            sleep_ms(1);
    }
    seen = __atomic_load_n(&notified, __ATOMIC_ACQUIRE);
    uint64_t changes_when_listed = changes;
    __atomic_store_n(&state.listed, 1, __ATOMIC_RELEASE);
    int told_again = 0;
    for (int counted = seen; saw_it && !told_again;) {
        int now = wait_for_notify_after(counted);
        if (now == counted)
            break;
        counted = now;
        told_again = sipc_async_watch_poll(watch, &changes) == SIPC_OK && changes > changes_when_listed &&
                     sipc_stat(state.name, &info) == SIPC_ERR_NOT_FOUND;
    }
    if (watch != NULL)
        sipc_async_watch_release(watch);
    sipc_async_watch_set_test_hook(NULL, NULL);
    CHECK_RC(rc, SIPC_OK);
    CHECK_RC(cause_rc, SIPC_OK);
    CHECK(state.opened == 1);
    CHECK(saw_it);
    CHECK(told_again);
}
