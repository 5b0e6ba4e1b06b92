/*
 * waiting.h — what a channel handle's waits did, for tests and `sipc bench` (not part of the public
 * API, not exported from the shared library). See PROTOCOL.md section 6 for the waiting protocol.
 */
#ifndef SIPC_WAITING_H
#define SIPC_WAITING_H

#include <stdint.h>

#include "../include/sipc.h"

/* Counted per handle since sipc_open, over all its threads and wait words. */
typedef struct sipc_wait_stats {
    uint64_t sleeps;         /* waits that went to sleep in the OS (futex / semaphore) */
    uint64_t wakes;          /* wake-ups this handle sent to its peer's sleepers (send or recv found one asleep) */
    uint64_t spins;          /* waits that spun for the peer first */
    uint64_t spin_hits;      /* spins that ended with the condition met (no sleep needed) */
    uint64_t same_cpu_skips; /* waits that did not spin because the peer was last seen on our CPU */
    uint64_t
        observer_wakes; /* wake-ups this handle's sends paid for observers (asleep on word 5, or napping lossless) */
} sipc_wait_stats;

void sipc_channel_wait_stats(sipc_channel *channel, sipc_wait_stats *out);
/* Test hook: spin up to budget_ns in every wait the protocol lets spin, without learning
 * (0 restores the adaptive budget). Makes the spin-or-sleep decisions observable without timing. */
void sipc_channel_fix_spin(sipc_channel *channel, uint32_t budget_ns);
/* Test hook: a lossless observer's naps (PROTOCOL.md section 7, "Napping") last up to quiet_ms instead of the short
 * bound that keeps a quiet channel's latency low, so that only a producer ends them. Call before observing. */
void sipc_observer_fix_nap(sipc_observer *observer, int32_t quiet_ms);
/* Test hook: what the observer asks for in its record's wake_at (PROTOCOL.md section 7, "Napping"), stored as given
 * (garbage included: the producers and the observer clamp it). */
void sipc_observer_fix_wake_at(sipc_observer *observer, uint32_t wake_at);
/* A plain observer's threshold after a nap (PROTOCOL.md section 7, "Napping"): halved (at least 1) when the look after
 * it found messages gone, else raised by one after WAKE_AT_RAISE_AFTER such naps in a row (*clean_naps counts them), up
 * to `most`. */
uint32_t sipc_observer_adapt_wake_at(uint32_t wake_at, uint32_t most, uint32_t *clean_naps, int missed);
/* Test hook: the observer's record (lossless, or a plain observer's nap record), -1 when it has none. */
int sipc_observer_record_index(const sipc_observer *observer);

#endif /* SIPC_WAITING_H */
