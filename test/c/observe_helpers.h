/*
 * observe_helpers.h — what test_observer.c, test_lossless.c and test_nowait.c share: a connected pair whose traffic
 * an observer watches and an async observer's destroy (defined in test_observer.c), and a child process that observes
 * it losslessly and dies (test_lossless.c).
 */
#ifndef SIPC_TEST_OBSERVE_HELPERS_H
#define SIPC_TEST_OBSERVE_HELPERS_H

#include <stdint.h>

#include "harness.h"
#include "sipc.h"
#include "sipc_async.h"

/* Opens `name` as server (64 B messages, queue depth 4) and as client, and connects the server. A failed step is
 * recorded as the test's failure (test_failed()). */
void observed_pair_open(const char *name, sipc_channel **server, sipc_channel **client);
/* The history of observed_pair_open's channel in its (64 B) messages: how many of them a ring holds, min(index_count,
 * ring_bytes / sipc_record_size(64)), so how far an observer may fall behind before it misses messages (plain) or holds
 * the producer (lossless). More than the queue's depth of 4 (PROTOCOL.md section 2, "Records, index and history"); a
 * geometry without one fails the test (the tests tell the queue from the ring). */
uint32_t observed_history(void);
/* The index entries of a ring of observed_pair_open's channel: the unit of the thresholds of how far an observer is
 * behind (seg_observer.wake_at, sipc_ring_fill), which counts a message by the larger of 1 and its bytes' share of the
 * ring scaled to the index. */
uint32_t observed_index_count(void);
/* How many of the pair's 64 B messages make a ring `fill` full (sipc_ring_fill), at least 1: the send that reaches a
 * threshold of `fill` index entries. */
uint64_t observed_messages_to_fill(uint64_t fill);
/* Closes what observed_pair_open (or lossless_pair_open) opened: the observer, then the client, then the server (each
 * when not NULL), each close checked to be SIPC_OK. */
void observed_pair_close(sipc_observer *observer, sipc_channel *server, sipc_channel *client);
/* Sends message i (64 B, contents from message_fill with seed 12) from server to client and has the client take it;
 * the first status that is not SIPC_OK. */
int observed_pass(sipc_channel *server, sipc_channel *client, uint64_t i, int32_t timeout_ms);
/* observed_pass of messages first .. end-1 in turn, until one fails or the test has failed (another thread's check);
 * the first status that is not SIPC_OK. */
int observed_passes(sipc_channel *server, sipc_channel *client, uint64_t first, uint64_t end, int32_t timeout_ms);
/* Options of a lossless observer (SIPC_OBSERVE_LOSSLESS plus `flags`) that the peers wait for at most `stall_timeout_ms`
 * (0: the default). */
sipc_observe_options lossless_options(uint32_t flags, uint32_t stall_timeout_ms);
/* observed_pair_open, then a lossless observer of the pair (lossless_options). NULL, with the failure recorded, if a
 * step failed. */
sipc_observer *lossless_pair_open(const char *name, uint32_t flags, uint32_t stall_timeout_ms, sipc_channel **server,
                                  sipc_channel **client);

/* sipc_async_observer_destroy, again while it answers SIPC_ERR_BUSY: its notifier thread may still be in a notify call
 * (sipc_async.h: destroy refuses while one is in progress; one ends by itself here, the tests' notify returning at
 * once). Its last answer. */
int async_observer_destroy_once_notified(sipc_async_observer *h);

/* What a child process of spawn_child gets: the channel's name and a pipe it writes one byte to once it is in place. */
typedef struct child_plan {
    char name[SIPC_NAME_MAX + 1];
    test_pipe ready;
} child_plan;
/* A spawn_child body (arg: a child_plan): registers as a lossless observer that asks for the longest stall bound, says
 * so, and dies without a word (SIGKILL), leaving its record to the peers. */
int child_lossless_then_killed(void *arg);

#endif
