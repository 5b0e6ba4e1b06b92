/*
 * test_clock.c — blocking calls under a clock that moves in big steps, as it appears to a thread
 * that is descheduled at the wrong moment, and the one deadline conversion every wait uses.
 *
 * The jumping clock is POSIX-only by nature: the library sources are compiled into this binary, so
 * the clock_gettime defined here is the one they call. Windows' clock (QueryPerformanceCounter, in
 * kernel32) cannot be replaced that way; the deadline arithmetic below runs on both systems.
 */
#include "deadline.h"
#include "harness.h"

#include <string.h>

#if !defined(_WIN32)
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static uint64_t jumping_clock_step_ns; /* atomic; 0: the real clock */
static uint64_t jumping_clock_ns;      /* atomic; the next value CLOCK_MONOTONIC reads while stepping */

int clock_gettime(clockid_t clock, struct timespec *ts)
{
    if (clock == CLOCK_MONOTONIC) {
        uint64_t step = __atomic_load_n(&jumping_clock_step_ns, __ATOMIC_ACQUIRE);
        if (step != 0) {
            uint64_t value = __atomic_fetch_add(&jumping_clock_ns, step, __ATOMIC_ACQ_REL);
            ts->tv_sec = (time_t)(value / 1000000000u);
            ts->tv_nsec = (long)(value % 1000000000u);
            return 0;
        }
    }
    static clock_gettime_fn real;
    clock_gettime_fn next = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
    if (next == NULL) {
        next = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
        __atomic_store_n(&real, next, __ATOMIC_RELEASE);
    }
    if (next != NULL)
        return next(clock, ts);
    return (int)syscall(SYS_clock_gettime, clock, ts);
}

static void start_jumping_clock(uint64_t step_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    __atomic_store_n(&jumping_clock_ns, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, __ATOMIC_RELEASE);
    __atomic_store_n(&jumping_clock_step_ns, step_ns, __ATOMIC_RELEASE);
}

static void stop_jumping_clock(void)
{
    __atomic_store_n(&jumping_clock_step_ns, 0, __ATOMIC_RELEASE);
}

/* Every clock read is 4 ms after the previous one: the wait's second look at the clock lands
 * more than a millisecond past a 5 ms deadline that its first look had not reached. */
static int child_connect_past_deadline(void *arg)
{
    const char *name = arg;
    sipc_channel *server = NULL;
    CHILD_CHECK(sipc_open(name, NULL, &server) == SIPC_OK);
    start_jumping_clock(4000000u);
    int rc = sipc_connect(server, 5);
    stop_jumping_clock();
    CHILD_CHECK(rc == SIPC_ERR_TIMEOUT);
    CHILD_CHECK(sipc_close(server) == SIPC_OK);
    return 0;
}

void test_timeout_when_deadline_passes_mid_wait(void)
{
    const char *name = test_name("clockjump");
    pid_t child = spawn_child(child_connect_past_deadline, name, strlen(name) + 1);
    CHECK(child > 0);
    /* Before the fix the child slept for INT32_MAX ms; give it far more than it needs. */
    if (!wait_child_exited(child, 5000)) {
        kill_child(child);
        reap_child(child);
        sipc_remove(name, 1);
        CHECK(!"sipc_connect(5 ms) still blocked after 5 s");
    }
    CHECK(reap_child(child) == 0);
}
#endif /* !_WIN32 */

/* The one timeout/deadline conversion every blocking path uses (deadline.h). */
void test_deadline_arithmetic(void)
{
    const uint64_t now = 5000000000ull;
    CHECK(sipc_deadline_at(now, SIPC_INFINITE) == SIPC_OS_NO_DEADLINE);
    CHECK(sipc_deadline_at(now, -7) == SIPC_OS_NO_DEADLINE);
    CHECK(sipc_deadline_at(now, 0) == now);
    CHECK(sipc_deadline_at(now, 250) == now + 250000000u);
    CHECK(sipc_deadline_at(now, INT32_MAX) == now + (uint64_t)INT32_MAX * 1000000u);
    /* Milliseconds left round up: a wait never ends before its deadline. */
    CHECK(sipc_deadline_ms_left_at(SIPC_OS_NO_DEADLINE, now) == SIPC_INFINITE);
    CHECK(sipc_deadline_ms_left_at(now, now) == 0);
    CHECK(sipc_deadline_ms_left_at(now, now + 1) == 0);
    CHECK(sipc_deadline_ms_left_at(now + 1, now) == 1);
    CHECK(sipc_deadline_ms_left_at(now + 1000000u, now) == 1);
    CHECK(sipc_deadline_ms_left_at(now + 1000001u, now) == 2);
    CHECK(sipc_deadline_ms_left_at(now + 3000000000000000000ull, now) == INT32_MAX);
    CHECK(sipc_deadline_us_left_at(SIPC_OS_NO_DEADLINE, now) == UINT64_MAX);
    CHECK(sipc_deadline_us_left_at(now, now + 5) == 0);
    CHECK(sipc_deadline_us_left_at(now + 1001u, now) == 2);
    /* From the real clock: a fresh deadline has (about) its whole timeout left. */
    uint64_t deadline = sipc_deadline_after(60000);
    int32_t left = sipc_deadline_ms_left(deadline);
    CHECK(left > 50000 && left <= 60000);
    CHECK(sipc_deadline_ms_left(sipc_deadline_after(SIPC_INFINITE)) == SIPC_INFINITE);
}
