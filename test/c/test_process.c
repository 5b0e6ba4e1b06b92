/*
 * test_process.c — sipc_process_describe: what sipc ls/stat and the extension show of a role's holder. A child
 * process is described while it runs, while SIGSTOP holds it, while a tracer holds it (a debugger's stop),
 * after SIGCONT, as a zombie and once reaped. Each state is reached by waiting for it (waitid), never by time.
 * On every system: a child held still as a whole (SIGSTOP; on Windows every thread suspended) is stopped.
 */
#include "harness.h"

#include <string.h>

/* The description of `pid`; a failed call gives state -1, which no check accepts. */
static sipc_process_info describe(int64_t pid)
{
    sipc_process_info info;
    memset(&info, 0x5a, sizeof info); /* garbage: the call must set every field */
    info.struct_size = sizeof info;
    if (sipc_process_describe(pid, &info) != SIPC_OK || info.struct_size != sizeof info ||
        memchr(info.name, '\0', sizeof info.name) == NULL)
        info.state = -1;
    return info;
}

/* The child's ends: it says it runs its own code on `ready`, then waits for a byte on `release`. */
typedef struct release_plan {
    pipe_end ready;
    pipe_end release;
} release_plan;

/* A child is signalled only once it says it is running: a SIGSTOP sent while a freshly forked child was still on
 * its way into exec (a sanitizer's runtime starting up) was lost now and then under load, and the parent's wait
 * for the stop never ended (seen with TSan under CPU hogs). */
static int child_read_release(void *arg)
{
    const release_plan *plan = arg;
    char byte = 'r';
    CHILD_CHECK(pipe_write(plan->ready, &byte, 1));
    CHILD_CHECK(pipe_read(plan->release, &byte, 1) == 1);
    return 0;
}

/* A child that has said it runs and waits to be released (child_read_release), with its two pipes. */
typedef struct held_child {
    test_pipe ready, release;
    pid_t pid;
    int started; /* it said it runs its own code: only now may it be signalled */
} held_child;

/* 1 if the pipes opened; child->pid and child->started say how far the rest got. */
static int held_child_start(held_child *child)
{
    child->pid = -1;
    child->started = 0;
    if (test_pipe_open(&child->ready) != 0)
        return 0;
    if (test_pipe_open(&child->release) != 0) {
        test_pipe_close(&child->ready);
        return 0;
    }
    release_plan plan = {.ready = child->ready.write_end, .release = child->release.read_end};
    child->pid = spawn_child(child_read_release, &plan, sizeof plan);
    char byte = 0;
    child->started = child->pid > 0 && pipe_read(child->ready.read_end, &byte, 1) == 1;
    return 1;
}

/* Lets the child end (killing it if the byte cannot be sent); 1 if released. */
static int held_child_release(held_child *child)
{
    int released = pipe_write(child->release.write_end, "x", 1);
    if (child->pid > 0 && !released)
        kill_child(child->pid);
    return released;
}

static void held_child_close(held_child *child)
{
    test_pipe_close(&child->release);
    test_pipe_close(&child->ready);
}

/* Waits until `pid` is described in `state`: 1 once it is, 0 if not within 30 s (the OS lets a continued process
 * run again asynchronously). */
static int wait_for_state(int64_t pid, int32_t state)
{
    uint64_t deadline = now_ns() + 30000000000ull;
    for (;;) {
        if (describe(pid).state == state)
            return 1;
        if (now_ns() > deadline)
            return 0;
        sleep_ms(5);
    }
}

/* The harness's stop_child is SIGSTOP on POSIX and NtSuspendProcess on Windows, where a process has no stopped
 * state of its own: every thread suspended is Windows' equivalent (as while a debugger holds it at a breakpoint). */
void test_process_stopped_and_continued(void)
{
    held_child held;
    CHECK(held_child_start(&held));
    pid_t child = held.pid;
    int started = held.started;
    /* Observed first, checked after the child is gone: a failed check never leaves a stopped child behind. */
    int running = started && wait_for_state(child, SIPC_PROCESS_RUNNING);
    int stop_ok = child > 0 && stop_child(child) == 0;
    sipc_process_info stopped = describe(child > 0 ? child : 1);
    int continue_ok = child > 0 && continue_child(child) == 0;
    int running_again = child > 0 && wait_for_state(child, SIPC_PROCESS_RUNNING);
    int released = held_child_release(&held);
    int exit_status = child > 0 ? reap_child(child) : -1;
    held_child_close(&held);

    CHECK(child > 0);
    CHECK(started);
    CHECK(running);
    CHECK(stop_ok);
    CHECK(stopped.state == SIPC_PROCESS_STOPPED);
    CHECK(stopped.traced == 0);
    CHECK(stopped.name[0] != '\0');
    CHECK(continue_ok && running_again);
    CHECK(released && exit_status == 0);
}

/* POSIX only (fork, signals, ptrace, /proc): listed as POSIX_TEST in test_list.h. */
#if !defined(_WIN32)

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>


/* Waits until the child is in the state `what` (WSTOPPED, WCONTINUED, WEXITED) without reaping it: 1 if so. */
static int wait_for(pid_t child, int what)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    return waitid(P_PID, (id_t)child, &info, what | WNOWAIT) == 0 && info.si_pid == child;
}

/* This process's name as the kernel gives it: the test binary's, or, when it runs through SIPC_TEST_EMULATOR
 * (qemu-user without a binfmt_misc handler, see harness_posix.c), the emulator's; comm keeps 15 bytes. */
static int named_like_this_process(const char *name)
{
    if (strncmp(name, "sipc_tests", 10) == 0)
        return 1;
    const char *emulator = getenv("SIPC_TEST_EMULATOR");
    if (emulator == NULL || *emulator == '\0')
        return 0;
    const char *base = strrchr(emulator, '/');
    return strncmp(name, base != NULL ? base + 1 : emulator, 15) == 0;
}

void test_process_describe(void)
{
    sipc_process_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_process_describe(0, &info), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_process_describe(-5, &info), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_process_describe(getpid(), NULL), SIPC_ERR_INVALID_ARGUMENT);
    info.struct_size = sizeof info - 1;
    CHECK_RC(sipc_process_describe(getpid(), &info), SIPC_ERR_INVALID_ARGUMENT);

    /* This process: running, named after the test binary. */
    sipc_process_info self = describe(getpid());
    CHECK(self.state == SIPC_PROCESS_RUNNING);
    CHECK(named_like_this_process(self.name));

    held_child held;
    CHECK(held_child_start(&held));
    pid_t child = held.pid;
    int started = held.started;
    /* Everything is observed first and checked after the child is gone, so a failed check never leaves a
     * stopped child behind (the harness would wait for it). */
    sipc_process_info running = describe(child);

    /* SIGSTOP (state 'T'): alive but stopped, no debugger. */
    int stop_sent = kill(child, SIGSTOP) == 0;
    int stop_seen = stop_sent && wait_for(child, WSTOPPED);
    sipc_process_info stopped = describe(child);
    int cont_sent = kill(child, SIGCONT) == 0;
    int cont_seen = cont_sent && wait_for(child, WCONTINUED);
    sipc_process_info continued = describe(child);

    /* A tracer's stop (state 't'), as at a debugger's breakpoint: stopped and traced. */
    int seized = ptrace(PTRACE_SEIZE, child, NULL, NULL) == 0;
    int seize_errno = errno;
    int interrupted = 0, detached = 0;
    sipc_process_info traced = {0}, untraced = {0};
    if (seized) {
        int status = 0;
        interrupted = ptrace(PTRACE_INTERRUPT, child, NULL, NULL) == 0 && waitpid(child, &status, __WALL) == child &&
                      WIFSTOPPED(status);
        traced = describe(child);
        detached = ptrace(PTRACE_DETACH, child, NULL, NULL) == 0;
        untraced = describe(child);
    }

    /* Exited but not reaped (a zombie), then reaped: gone either way. */
    int released = held_child_release(&held);
    int exited = wait_for(child, WEXITED);
    sipc_process_info zombie = describe(child);
    int exit_status = reap_child(child);
    sipc_process_info reaped = describe(child);

    CHECK(started);
    CHECK(running.state == SIPC_PROCESS_RUNNING && running.traced == 0);
    CHECK(running.name[0] != '\0');
    CHECK(stop_sent && stop_seen);
    CHECK(stopped.state == SIPC_PROCESS_STOPPED && stopped.traced == 0);
    CHECK(strcmp(stopped.name, running.name) == 0);
    CHECK(cont_sent && cont_seen);
    CHECK(continued.state == SIPC_PROCESS_RUNNING);
    if (seized) {
        CHECK(interrupted && detached);
        CHECK(traced.state == SIPC_PROCESS_STOPPED && traced.traced == 1);
        CHECK(untraced.traced == 0);
    } else {
        printf("    (tracer stop not checked: ptrace is not permitted here: %s)\n", strerror(seize_errno));
    }
    CHECK(released && exited && exit_status == 0);
    CHECK(zombie.state == SIPC_PROCESS_GONE);
    CHECK(reaped.state == SIPC_PROCESS_GONE);
    held_child_close(&held);
}

#endif /* !_WIN32 */
