/*
 * test_async.c — sipc_async.h's argument checks: every entry point refuses a missing handle, output or
 * callback with INVALID_ARGUMENT (or NULL) before it touches anything, so a binding's bug is an error code,
 * never a crash. The calls' behaviour is tested through the Node API (test/node) and test_watch.c.
 */
#include "harness.h"
#include "sipc_async.h"

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
    CHECK_RC(sipc_async_call_release(call), SIPC_OK);

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
