/*
 * win_stress.c — stress of the Windows waiting path (semaphore per wait word, counted waiters), run
 * under wine by test/wine/run.sh: many short waits whose wake-ups race their timeouts, cancel racing
 * wake-ups, and two threads waiting on one word. Spinning is cut to nothing (a test hook), so nearly
 * every wait goes to sleep on the semaphore.
 *
 * A lost wake-up shows as a wait with a long timeout (LONG_WAIT_MS) that runs out although its
 * message was sent within milliseconds: each scenario counts those and fails on any.
 *
 *   win_stress.exe [ITERATIONS]       round trips per scenario (default 2000)
 * Prints one line per scenario with its counts and a final "N passed, N failed". Every wait is bounded
 * (win_bounds.h): a scenario past SCENARIO_LIMIT_MS ends the run with a FAIL line instead of a hang.
 */
#include <windows.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sipc.h"
#include "waiting.h"
#include "win_bounds.h"

#define LONG_WAIT_MS 10000
#define CHILD_LIMIT_MS 240000u
/* One scenario takes 15-30 s under wine on a loaded machine; run.sh gives the whole executable 300 s. */
#define SCENARIO_LIMIT_MS 250000u
#define DEFAULT_ITERATIONS 2000u
#define STOP_MESSAGE 0xffffffffu

static char self_path[MAX_PATH];

/* Exit codes of the children, so the parent can say what went wrong. */
enum child_exit { CHILD_OK = 0, CHILD_OPEN = 2, CHILD_LOST_WAKE = 10, CHILD_ERROR = 11, CHILD_ORDER = 12, CHILD_STUCK = 13 };

static uint32_t xorshift(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* A short pause of a random kind, so the other side's waits see every timing: none, a yield, a
 * sub-millisecond spin, a 1 ms sleep. */
static void random_pause(uint32_t *rng)
{
    uint32_t r = xorshift(rng) % 8;
    if (r < 2)
        return;
    if (r < 4) {
        Sleep(0);
        return;
    }
    if (r < 7) {
        LARGE_INTEGER frequency, start, now;
        QueryPerformanceFrequency(&frequency);
        QueryPerformanceCounter(&start);
        int64_t ticks = frequency.QuadPart * (int64_t)(50 + xorshift(rng) % 900) / 1000000;
        do
            QueryPerformanceCounter(&now);
        while (now.QuadPart - start.QuadPart < ticks);
        return;
    }
    Sleep(1);
}

/* Timeouts that race the wake-ups (0-3 ms) and, every fifth wait, one that must never run out. */
static int32_t racing_timeout(uint32_t *rng)
{
    uint32_t r = xorshift(rng) % 5;
    return r == 4 ? LONG_WAIT_MS : (int32_t)r;
}

static sipc_channel *open_connected(const char *name)
{
    sipc_channel *ch = NULL;
    if (sipc_open(name, NULL, &ch) != SIPC_OK)
        return NULL;
    if (sipc_connect(ch, LONG_WAIT_MS) != SIPC_OK) {
        sipc_close(ch);
        return NULL;
    }
    sipc_channel_fix_spin(ch, 1); /* 1 ns: sleep at once, so the semaphore path carries every wait */
    return ch;
}

static void print_sleeps(const char *who, sipc_channel *ch)
{
    sipc_wait_stats stats;
    sipc_channel_wait_stats(ch, &stats);
    printf("    %s: %llu sleeps, %llu wake-ups sent\n", who, (unsigned long long)stats.sleeps,
           (unsigned long long)stats.wakes);
}

/* ---- the receiving side (child process) ---- */

typedef struct receiver {
    sipc_channel *ch;
    uint32_t rng;
    int cancelling;           /* cancel scenario: CANCELLED is expected, uncancel and go on */
    int sole;                 /* the only receiver: a long wait that runs out with a message queued is lost */
    volatile LONG *stop;
    unsigned long long lost;  /* waits with LONG_WAIT_MS that ran out with a message queued */
    int result;
} receiver;

/* Receives one message, retrying waits that were short or cancelled. 0 on STOP, 1 on a message, -1. */
static int receive_one(receiver *r, uint32_t *value)
{
    for (;;) {
        int32_t timeout = racing_timeout(&r->rng);
        size_t length = 0;
        int rc = sipc_recv(r->ch, value, sizeof *value, &length, timeout);
        if (rc == SIPC_OK)
            return length == sizeof *value ? (*value == STOP_MESSAGE ? 0 : 1) : -1;
        if (rc == SIPC_ERR_CANCELLED && r->cancelling) {
            sipc_uncancel(r->ch);
            continue;
        }
        if (rc != SIPC_ERR_TIMEOUT)
            return -1;
        if (timeout == LONG_WAIT_MS && r->sole) {
            /* Ran out although the sender sends within milliseconds: was a message waiting? */
            size_t queued = 0;
            if (sipc_peek_size(r->ch, &queued, 0) == SIPC_OK)
                r->lost++;
        }
    }
}

static int echo(receiver *r, uint32_t value)
{
    for (;;) {
        int rc = sipc_send(r->ch, &value, sizeof value, LONG_WAIT_MS);
        if (rc == SIPC_ERR_CANCELLED && r->cancelling) {
            sipc_uncancel(r->ch);
            continue;
        }
        return rc == SIPC_OK;
    }
}

static DWORD WINAPI receiver_main(void *arg)
{
    receiver *r = arg;
    r->result = CHILD_OK;
    for (;;) {
        uint32_t value = 0;
        int got = receive_one(r, &value);
        if (got == 0)
            break;
        if (got < 0 || !echo(r, value)) {
            r->result = CHILD_ERROR;
            break;
        }
    }
    InterlockedExchange(r->stop, 1);
    return 0;
}

typedef struct canceller {
    sipc_channel *ch;
    volatile LONG *stop;
    uint32_t rng;
    unsigned long long cancels;
} canceller;

static DWORD WINAPI canceller_main(void *arg)
{
    canceller *c = arg;
    while (!InterlockedCompareExchange(c->stop, 0, 0)) {
        random_pause(&c->rng);
        sipc_cancel(c->ch);
        c->cancels++;
    }
    return 0;
}

/* child <scenario> <name>: scenario "timeouts" (one receiver), "cancel" (one receiver and a thread
 * cancelling it at random), "two" (two receiver threads on the one handle). */
static int run_child(const char *scenario, const char *name)
{
    sipc_channel *ch = open_connected(name);
    if (ch == NULL)
        return CHILD_OPEN;
    volatile LONG stop = 0;
    int threads = strcmp(scenario, "two") == 0 ? 2 : 1;
    receiver receivers[2];
    HANDLE handles[3];
    for (int i = 0; i < threads; i++) {
        receivers[i] = (receiver){.ch = ch, .rng = 0x9e3779b9u * (uint32_t)(i + 1) ^ GetCurrentProcessId(),
                                  .cancelling = strcmp(scenario, "cancel") == 0, .sole = threads == 1,
                                  .stop = &stop};
        handles[i] = CreateThread(NULL, 0, receiver_main, &receivers[i], 0, NULL);
    }
    canceller cancel = {.ch = ch, .stop = &stop, .rng = 0x1234567u ^ GetCurrentProcessId()};
    int count = threads;
    if (receivers[0].cancelling)
        handles[count++] = CreateThread(NULL, 0, canceller_main, &cancel, 0, NULL);
    /* The threads end on the stop message or a failure; the parent ends this child past CHILD_LIMIT_MS anyway. */
    if (WaitForMultipleObjects((DWORD)count, handles, TRUE, CHILD_LIMIT_MS) != WAIT_OBJECT_0) {
        printf("    receiver: its threads still ran after %u s\n", CHILD_LIMIT_MS / 1000u);
        fflush(stdout);
        TerminateProcess(GetCurrentProcess(), CHILD_STUCK);
    }
    int result = CHILD_OK;
    unsigned long long lost = 0;
    for (int i = 0; i < threads; i++) {
        lost += receivers[i].lost;
        if (receivers[i].result != CHILD_OK)
            result = receivers[i].result;
    }
    for (int i = 0; i < count; i++)
        CloseHandle(handles[i]);
    print_sleeps("receiver", ch);
    if (receivers[0].cancelling)
        printf("    canceller: %llu cancels\n", cancel.cancels);
    fflush(stdout);
    sipc_close(ch);
    if (lost != 0) {
        printf("    receiver: %llu long waits ran out with a message queued\n", lost);
        return CHILD_LOST_WAKE;
    }
    return result;
}

/* ---- the sending side (this process) ---- */

static HANDLE spawn(const char *scenario, const char *name)
{
    char command[1024];
    snprintf(command, sizeof command, "\"%s\" child %s %s", self_path, scenario, name);
    STARTUPINFOA startup;
    PROCESS_INFORMATION info;
    memset(&startup, 0, sizeof startup);
    startup.cb = sizeof startup;
    if (!CreateProcessA(self_path, command, NULL, NULL, FALSE, 0, NULL, NULL, &startup, &info))
        return NULL;
    CloseHandle(info.hThread);
    return info.hProcess;
}

static int join(HANDLE child)
{
    if (WaitForSingleObject(child, CHILD_LIMIT_MS) != WAIT_OBJECT_0) {
        printf("    the child still ran after %u s\n", CHILD_LIMIT_MS / 1000u);
        end_process(child, 99, "the child");
    }
    DWORD code = 0;
    GetExitCodeProcess(child, &code);
    CloseHandle(child);
    return (int)code;
}

/* Sends `iterations` numbers, each after a random pause, and waits for each echo with a long
 * timeout: a wake-up lost on the receiver's side (or on ours) runs it out. */
static int run_scenario(const char *scenario, unsigned iterations)
{
    char name[64];
    snprintf(name, sizeof name, "wstress-%lu-%s", (unsigned long)GetCurrentProcessId(), scenario);
    sipc_channel *server = NULL;
    if (sipc_open(name, NULL, &server) != SIPC_OK) {
        printf("FAIL %s: open\n", scenario);
        return 0;
    }
    HANDLE child = spawn(scenario, name);
    int ok = child != NULL && sipc_connect(server, LONG_WAIT_MS) == SIPC_OK;
    sipc_channel_fix_spin(server, 1);
    uint32_t rng = 0xdeadbeefu ^ GetCurrentProcessId();
    unsigned long long lost = 0;
    DWORD started = GetTickCount();
    unsigned done = 0;
    for (; ok && done < iterations; done++) {
        random_pause(&rng);
        uint32_t value = done;
        if (sipc_send(server, &value, sizeof value, LONG_WAIT_MS) != SIPC_OK) {
            printf("    send %u failed\n", done);
            ok = 0;
            break;
        }
        uint32_t echoed = 0;
        size_t length = 0;
        int rc = sipc_recv(server, &echoed, sizeof echoed, &length, LONG_WAIT_MS);
        if (rc == SIPC_ERR_TIMEOUT) {
            lost++;
            printf("    echo of %u did not come within %d ms\n", done, LONG_WAIT_MS);
            ok = 0;
        } else if (rc != SIPC_OK || length != sizeof echoed || echoed != value) {
            printf("    echo of %u: %s, %zu bytes, value %u\n", done, sipc_status_name(rc), length, echoed);
            ok = 0;
        }
    }
    uint32_t stop = STOP_MESSAGE;
    int threads = strcmp(scenario, "two") == 0 ? 2 : 1;
    for (int i = 0; ok && i < threads; i++)
        ok = sipc_send(server, &stop, sizeof stop, LONG_WAIT_MS) == SIPC_OK;
    print_sleeps("sender", server);
    fflush(stdout);
    int code = child != NULL ? join(child) : -1;
    sipc_close(server);
    if (code != CHILD_OK) {
        printf("    child exited with %d%s\n", code, code == CHILD_LOST_WAKE ? " (lost wake-up)" : "");
        ok = 0;
    }
    printf("%s %s: %u round trips in %lu ms, %llu lost wake-ups\n", ok ? "ok  " : "FAIL", scenario, done,
           (unsigned long)(GetTickCount() - started), lost);
    fflush(stdout);
    return ok;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    GetModuleFileNameA(NULL, self_path, sizeof self_path);
    if (argc >= 4 && strcmp(argv[1], "child") == 0)
        return run_child(argv[2], argv[3]);
    unsigned iterations = argc >= 2 ? (unsigned)strtoul(argv[1], NULL, 10) : DEFAULT_ITERATIONS;
    if (iterations == 0)
        iterations = DEFAULT_ITERATIONS;
    static const char *const scenarios[] = {"timeouts", "cancel", "two"};
    static int passed = 0, failed = 0;
    if (!watchdog_start(SCENARIO_LIMIT_MS, &passed, &failed)) {
        printf("FAIL cannot start the watchdog thread (%lu)\n0 passed, 1 failed\n", (unsigned long)GetLastError());
        return 1;
    }
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        watchdog_arm(scenarios[i]);
        if (run_scenario(scenarios[i], iterations))
            passed++;
        else
            failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
