/*
 * spin_policy.h — the adaptive spin budget of PROTOCOL.md section 6, one rule for the peers' waits (channel.c) and
 * an observer's wait for the next message (observer.c): spin while spins succeed, stop spinning when they fail.
 */
#ifndef SIPC_SPIN_POLICY_H
#define SIPC_SPIN_POLICY_H

#include <stdint.h>

/* A budget starts at SIPC_SPIN_START_NS, doubles after a spin that succeeded (up to SIPC_SPIN_MAX_NS) and halves
 * after one that failed, down to 0 below SIPC_SPIN_MIN_NS; at 0 every SIPC_SPIN_PROBE_EVERY-th wait probes with
 * SIPC_SPIN_PROBE_NS, and a probe that succeeds starts the budget again there. */
#define SIPC_SPIN_MAX_NS 50000u
#define SIPC_SPIN_START_NS 20000u
#define SIPC_SPIN_MIN_NS 500u
#define SIPC_SPIN_PROBE_NS 2000u
#define SIPC_SPIN_PROBE_EVERY 16u

/* The budget after a spin that succeeded (found its condition met) or failed. */
static inline uint32_t sipc_spin_budget_after(uint32_t budget, int succeeded)
{
    if (succeeded)
        return budget == 0 ? SIPC_SPIN_PROBE_NS : (budget > SIPC_SPIN_MAX_NS / 2 ? SIPC_SPIN_MAX_NS : budget * 2);
    return budget / 2 < SIPC_SPIN_MIN_NS ? 0 : budget / 2;
}

/* How long a wait with this budget spins; `probe` counts the waits made at budget 0. */
static inline uint32_t sipc_spin_budget_limit(uint32_t budget, uint32_t probe)
{
    if (budget != 0)
        return budget;
    return probe % SIPC_SPIN_PROBE_EVERY == 0 ? SIPC_SPIN_PROBE_NS : 0;
}

#endif /* SIPC_SPIN_POLICY_H */
