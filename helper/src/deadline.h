/*
 * deadline.h — the one place that turns a timeout into a deadline and back. A timeout that spans
 * several blocking calls (connect then send, a queued send, a wait cut into slices) becomes a
 * deadline on the monotonic clock (sipc_os_monotonic_ns) once; each call then gets the time that
 * is left.
 */
#ifndef SIPC_DEADLINE_H
#define SIPC_DEADLINE_H

#include <stdint.h>

#include "platform.h" /* SIPC_OS_NO_DEADLINE: the deadline of an infinite timeout, never passes */

/* `timeout_ms` after `now` (both monotonic), SIPC_OS_NO_DEADLINE for a negative timeout. */
uint64_t sipc_deadline_at(uint64_t now, int32_t timeout_ms);
/* `timeout_ms` from now. */
uint64_t sipc_deadline_after(int32_t timeout_ms);

/* Milliseconds left at `now`, rounded up (a wait never ends before its deadline): SIPC_INFINITE
 * for SIPC_OS_NO_DEADLINE, 0 once passed, at most INT32_MAX. */
int32_t sipc_deadline_ms_left_at(uint64_t deadline, uint64_t now);
/* Milliseconds left from now. */
int32_t sipc_deadline_ms_left(uint64_t deadline);
/* Microseconds left at `now`, rounded up: UINT64_MAX for SIPC_OS_NO_DEADLINE, 0 once passed. */
uint64_t sipc_deadline_us_left_at(uint64_t deadline, uint64_t now);

#endif /* SIPC_DEADLINE_H */
