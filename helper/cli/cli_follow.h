/*
 * cli_follow.h — following a channel by name across its removal (`sipc record`, `sipc tap --follow`): once the
 * channel is gone, wait until its name leads to a channel again and observe that one.
 */
#ifndef SIPC_CLI_FOLLOW_H
#define SIPC_CLI_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "sipc.h"

typedef struct cli_follow_wait {
    /* Monotonic ns at which the wait ends with SIPC_ERR_TIMEOUT; SIPC_OS_NO_DEADLINE for none. */
    uint64_t deadline;
    /* Keep waiting through any failure to observe (a recorder of several channels waits for each to be usable
     * again); otherwise a failure other than SIPC_ERR_NOT_FOUND ends the wait with that status. */
    bool retry_failures;
    /* Asked between attempts besides the stop signals (NULL: only those); true ends the wait, cancelled. */
    bool (*stopping)(void *context);
    void *context;
} cli_follow_wait;

/*
 * Observes `name` as soon as it leads to a channel, woken by the platform's key monitor (inotify on Linux; 100 ms
 * slices without one, and to notice a stop). SIPC_OK with *observer set, SIPC_ERR_CANCELLED on a stop signal or
 * when `stopping` said so, SIPC_ERR_TIMEOUT at the deadline, or why observing failed (see retry_failures).
 */
int cli_observe_when_back(const char *name, const sipc_observe_options *options, const cli_follow_wait *wait,
                          sipc_observer **observer);

#endif /* SIPC_CLI_FOLLOW_H */
