/*
 * test_async.c — sipc_async.h's argument checks: every entry point refuses a missing handle, output or
 * callback with INVALID_ARGUMENT (or NULL) before it touches anything, so a binding's bug is an error code,
 * never a crash. The calls' behaviour is tested through the Node API (test/node) and test_watch.c.
 */
#include "harness.h"
#include "sipc_async.h"
#include "test_hooks.h"

#include <string.h>
#include <unistd.h>

static void ignore_notify(uint32_t token)
{
    (void)token;
}

void test_async_bad_arguments(void)
{
    uint8_t buffer[16];
    uint32_t lengths[2], count = 0;
    int32_t statuses[2];
    uint64_t changes = 0;
    sipc_async_channel *ach = NULL;
    sipc_async_observer *aob = NULL;
    sipc_async_call *call = NULL;
    sipc_async_watch *watch = NULL;
    sipc_async_status status;
    sipc_async_observer_status observer_status;
    sipc_async_call_status call_status;
    sipc_observed_message messages[2];
    const int bad = SIPC_ERR_INVALID_ARGUMENT;

    /* A channel handle: none given, or a real one with a missing output. */
    CHECK_RC(sipc_async_channel_start(NULL, ignore_notify, 1, &ach), bad);
    CHECK_RC(sipc_async_channel_arm(NULL, 1), bad);
    CHECK_RC(sipc_async_channel_demand(NULL, 0, 1), bad);
    CHECK_RC(sipc_async_channel_reconnect(NULL), bad);
    CHECK_RC(sipc_async_channel_poll(NULL, &status), bad);
    CHECK_RC(sipc_async_channel_take(NULL, buffer, sizeof buffer, lengths, 2, &count), bad);
    CHECK_RC(sipc_async_channel_take_now(NULL, buffer, sizeof buffer, lengths, 2, &count, 0), bad);
    CHECK_RC(sipc_async_channel_send(NULL, "x", 1, 0), bad);
    CHECK_RC(sipc_async_channel_take_send_results(NULL, statuses, 2, &count), bad);
    CHECK(sipc_async_channel_handle(NULL) == NULL);
    CHECK_RC(sipc_async_channel_stop(NULL), bad);
    CHECK_RC(sipc_async_channel_join(NULL), bad);
    CHECK_RC(sipc_async_channel_destroy(NULL), bad);
    CHECK_RC(sipc_async_channel_close(NULL, ignore_notify, 1, &call), bad);

    const char *name = test_name("args");
    sipc_channel *channel = NULL;
    CHECK_RC(sipc_open(name, NULL, &channel), SIPC_OK);
    sipc_observer *observer = NULL;
    CHECK_RC(sipc_observe(name, &observer), SIPC_OK);
    CHECK_RC(sipc_async_channel_start(channel, NULL, 1, &ach), bad);
    CHECK_RC(sipc_async_channel_start(channel, ignore_notify, 1, NULL), bad);
    CHECK_RC(sipc_async_channel_start(channel, ignore_notify, 1, &ach), SIPC_OK);
    CHECK(sipc_async_channel_handle(ach) == channel);
    CHECK_RC(sipc_async_channel_poll(ach, NULL), bad);
    CHECK_RC(sipc_async_channel_take(ach, buffer, sizeof buffer, NULL, 2, &count), bad);
    CHECK_RC(sipc_async_channel_take(ach, NULL, sizeof buffer, lengths, 2, &count), bad);
    CHECK_RC(sipc_async_channel_take(ach, buffer, sizeof buffer, lengths, 2, NULL), bad);
    CHECK_RC(sipc_async_channel_take_now(ach, buffer, sizeof buffer, lengths, 0, &count, 0), bad);
    CHECK_RC(sipc_async_channel_take_now(ach, buffer, sizeof buffer, lengths, 2, &count, SIPC_ASYNC_MAX_SPIN_US + 1),
             bad);
    CHECK_RC(sipc_async_channel_send(ach, NULL, 1, 0), bad);
    CHECK_RC(sipc_async_channel_take_send_results(ach, NULL, 2, &count), bad);
    CHECK_RC(sipc_async_channel_take_send_results(ach, statuses, 2, NULL), bad);
    CHECK_RC(sipc_async_channel_close(ach, NULL, 1, &call), bad);
    CHECK_RC(sipc_async_channel_close(ach, ignore_notify, 1, NULL), bad);
    CHECK_RC(sipc_async_channel_destroy(ach), SIPC_OK); /* closes the channel too */

    /* Observers. */
    CHECK_RC(sipc_async_observer_start(NULL, 64, ignore_notify, 1, &aob), bad);
    CHECK_RC(sipc_async_observer_arm(NULL, 1), bad);
    CHECK_RC(sipc_async_observer_poll(NULL, &observer_status), bad);
    CHECK_RC(sipc_async_observer_take(NULL, buffer, sizeof buffer, messages, 2, &count), bad);
    CHECK(sipc_async_observer_handle(NULL) == NULL);
    CHECK_RC(sipc_async_observer_stop(NULL), bad);
    CHECK_RC(sipc_async_observer_destroy(NULL), bad);
    CHECK_RC(sipc_async_observer_close(NULL, ignore_notify, 1, &call), bad);
    CHECK_RC(sipc_async_observer_start(observer, SIPC_MAX_MESSAGE_LIMIT + 1u, ignore_notify, 1, &aob), bad);
    CHECK_RC(sipc_async_observer_start(observer, 64, NULL, 1, &aob), bad);
    CHECK_RC(sipc_async_observer_start(observer, 64, ignore_notify, 1, &aob), SIPC_OK);
    CHECK(sipc_async_observer_handle(aob) == observer);
    CHECK_RC(sipc_async_observer_poll(aob, NULL), bad);
    CHECK_RC(sipc_async_observer_take(aob, buffer, sizeof buffer, NULL, 2, &count), bad);
    CHECK_RC(sipc_async_observer_take(aob, NULL, sizeof buffer, messages, 2, &count), bad);
    CHECK_RC(sipc_async_observer_destroy(aob), SIPC_OK); /* closes the observer too */

    /* Calls by name and the call handle. */
    CHECK_RC(sipc_async_open(name, NULL, NULL, 1, &call), bad);
    CHECK_RC(sipc_async_open(NULL, NULL, ignore_notify, 1, &call), bad);
    sipc_options too_new;
    sipc_options_init(&too_new);
    too_new.struct_size = sizeof too_new + 8;
    CHECK_RC(sipc_async_open(name, &too_new, ignore_notify, 1, &call), bad);
    CHECK_RC(sipc_async_observe(name, ignore_notify, 1, NULL), bad);
    CHECK_RC(sipc_async_stat(NULL, ignore_notify, 1, &call), bad);
    call = (sipc_async_call *)&call; /* anything but NULL: the refusal must clear it */
    CHECK_RC(sipc_async_stat_ex(name, -2, ignore_notify, 1, &call), bad);
    CHECK(call == NULL);
    CHECK_RC(sipc_async_remove(name, 0, NULL, 1, &call), bad);
    CHECK_RC(sipc_async_list(NULL, 1, &call), bad);
    CHECK_RC(sipc_async_list(ignore_notify, 1, NULL), bad);
    CHECK_RC(sipc_async_call_arm(NULL, 1), bad);
    CHECK_RC(sipc_async_call_poll(NULL, &call_status), bad);
    sipc_channel *taken = NULL;
    sipc_observer *taken_observer = NULL;
    CHECK_RC(sipc_async_call_take_channel(NULL, &taken), bad);
    CHECK_RC(sipc_async_call_take_observer(NULL, &taken_observer), bad);
    sipc_channel_info info = {.struct_size = sizeof info};
    int32_t entry_status = 0;
    CHECK_RC(sipc_async_call_entry(NULL, 0, &info, &entry_status), bad);
    CHECK(sipc_async_call_detail(NULL, -1) == NULL);
    CHECK_RC(sipc_async_call_take_send_results(NULL, statuses, 2, &count), bad);
    CHECK_RC(sipc_async_call_release(NULL), bad);
    /* A real call (stat) refuses what does not fit its kind or misses an output. */
    CHECK_RC(sipc_async_stat(name, ignore_notify, 1, &call), SIPC_OK);
    CHECK_RC(sipc_async_call_poll(call, NULL), bad);
    CHECK_RC(sipc_async_call_take_channel(call, NULL), bad);
    CHECK_RC(sipc_async_call_take_send_results(call, statuses, 2, &count), bad); /* not a close */
    sipc_channel_info small = {.struct_size = sizeof small - 1};
    CHECK_RC(sipc_async_call_entry(call, 0, &small, &entry_status), bad);
    CHECK_RC(sipc_async_call_entry(call, 0, &info, NULL), bad);
    sipc_process_info process_info = {.struct_size = sizeof process_info};
    CHECK_RC(sipc_async_call_process_info(call, &process_info), bad); /* not a process description */
    CHECK_RC(sipc_async_call_release(call), SIPC_OK);
    call = (sipc_async_call *)&call;
    CHECK_RC(sipc_async_process_describe(0, ignore_notify, 1, &call), bad);
    CHECK(call == NULL);
    CHECK_RC(sipc_async_process_describe(-7, ignore_notify, 1, &call), bad);
    CHECK_RC(sipc_async_process_describe(1, NULL, 1, &call), bad);
    CHECK_RC(sipc_async_process_describe(1, ignore_notify, 1, NULL), bad);
    CHECK_RC(sipc_async_call_process_info(NULL, &process_info), bad);

    /* The watch. */
    CHECK_RC(sipc_async_watch_start(0, ignore_notify, 1, &watch), bad);
    CHECK_RC(sipc_async_watch_start(1000, NULL, 1, &watch), bad);
    CHECK_RC(sipc_async_watch_start(1000, ignore_notify, 1, NULL), bad);
    CHECK_RC(sipc_async_watch_arm(NULL, 1), bad);
    CHECK_RC(sipc_async_watch_poll(NULL, &changes), bad);
    CHECK_RC(sipc_async_watch_release(NULL), bad);
    CHECK_RC(sipc_async_watch_start(1000, ignore_notify, 1, &watch), SIPC_OK);
    CHECK_RC(sipc_async_watch_poll(watch, NULL), bad);
    CHECK_RC(sipc_async_watch_release(watch), SIPC_OK);

}

static int described_notified; /* set by the call's thread, read by the test's (atomics) */

static void note_described(uint32_t token)
{
    (void)token;
    __atomic_store_n(&described_notified, 1, __ATOMIC_SEQ_CST);
}

/* sipc_async_process_describe: the same description as sipc_process_describe, made on the call's thread (so an
 * event loop never reads /proc itself), read with sipc_async_call_process_info once the call reported. */
void test_async_process_describe(void)
{
    sipc_async_call *call = NULL;
    __atomic_store_n(&described_notified, 0, __ATOMIC_SEQ_CST);
    CHECK_RC(sipc_async_process_describe((int64_t)getpid(), note_described, 7, &call), SIPC_OK);
    if (call == NULL)
        return;
    sipc_async_call_status status = {0};
    /* Waits for the call's report (a state), with a hang guard. */
    for (int i = 0; i < 10000 && !__atomic_load_n(&described_notified, __ATOMIC_SEQ_CST); i++)
        sleep_us(1000);
    CHECK(__atomic_load_n(&described_notified, __ATOMIC_SEQ_CST) == 1);
    CHECK_RC(sipc_async_call_poll(call, &status), SIPC_OK);
    CHECK_RC(status.status, SIPC_OK);
    sipc_process_info small = {.struct_size = sizeof small - 1};
    CHECK_RC(sipc_async_call_process_info(call, &small), SIPC_ERR_INVALID_ARGUMENT);
    sipc_process_info async_info;
    memset(&async_info, 0x5a, sizeof async_info);
    async_info.struct_size = sizeof async_info;
    CHECK_RC(sipc_async_call_process_info(call, &async_info), SIPC_OK);
    sipc_channel_info channel_info = {.struct_size = sizeof channel_info};
    int32_t entry_status = 0;
    CHECK_RC(sipc_async_call_entry(call, 0, &channel_info, &entry_status), SIPC_ERR_NOT_FOUND); /* no entries */
    CHECK_RC(sipc_async_call_release(call), SIPC_OK);

    sipc_process_info sync_info = {.struct_size = sizeof sync_info};
    CHECK_RC(sipc_process_describe((int64_t)getpid(), &sync_info), SIPC_OK);
    CHECK(async_info.struct_size == sizeof async_info);
    CHECK(async_info.state == SIPC_PROCESS_RUNNING);
    CHECK(async_info.state == sync_info.state && async_info.traced == sync_info.traced);
    CHECK(memchr(async_info.name, '\0', sizeof async_info.name) != NULL);
    CHECK(strcmp(async_info.name, sync_info.name) == 0);
}

/* Holds an async observer's copying thread at its end until the test lets it go. */
static int copier_held;     /* atomic: the copier is in the hook */
static int copier_released; /* atomic */

static void hold_copier(void *arg, sipc_test_point point)
{
    (void)arg;
    if (point != SIPC_TEST_OBSERVER_COPIER_ENDING)
        return;
    __atomic_store_n(&copier_held, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&copier_released, __ATOMIC_SEQ_CST))
        sleep_us(1000);
}

/* The exit-time destroy of an observer waits for its threads at most the time it is given: a copier that has not
 * ended by then (held in the hook here) costs SIPC_ERR_TIMEOUT with nothing freed, and a later destroy finishes. */
void test_async_observer_destroy_bounds_the_join(void)
{
    const char *name = test_name("obdestroy");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    sipc_observer *observer = NULL;
    CHECK_RC(sipc_observe(name, &observer), SIPC_OK);
    sipc_async_observer *h = NULL;
    __atomic_store_n(&copier_held, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&copier_released, 0, __ATOMIC_SEQ_CST);
    sipc_async_observer_set_test_hook(hold_copier, NULL);
    CHECK_RC(sipc_async_observer_start(observer, 64, ignore_notify, 1, &h), SIPC_OK);
    CHECK_RC(sipc_async_observer_destroy_ex(NULL, 0), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_async_observer_destroy_ex(h, -2), SIPC_ERR_INVALID_ARGUMENT); /* refused, nothing done */
    CHECK_RC(sipc_async_observer_destroy_ex(h, 20), SIPC_ERR_TIMEOUT);
    while (!__atomic_load_n(&copier_held, __ATOMIC_SEQ_CST)) /* stopped by the destroy: it ends, held */
        sleep_us(1000);
    CHECK_RC(sipc_async_observer_destroy_ex(h, 0), SIPC_ERR_TIMEOUT); /* still held: nothing freed */
    __atomic_store_n(&copier_released, 1, __ATOMIC_SEQ_CST);
    CHECK_RC(sipc_async_observer_destroy_ex(h, 60000), SIPC_OK);
    sipc_async_observer_set_test_hook(NULL, NULL);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK(!shm_exists(name));
}
