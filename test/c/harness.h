/*
 * harness.h — a small test runner for the libsipc suite: one line per test, a final
 * "N passed, N failed" line, non-zero exit on failure.
 */
#ifndef SIPC_TEST_HARNESS_H
#define SIPC_TEST_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "sipc.h"

/* MinGW's "printf" format archetype is Microsoft's, which lacks %zu; its C99 stdio is GNU's. */
#if defined(__MINGW32__)
#  define TEST_PRINTF __MINGW_PRINTF_FORMAT
#else
#  define TEST_PRINTF printf
#endif

/* Windows has no SIGKILL; kill_self() ends a process with the exit status a SIGKILL gives on POSIX. */
#if defined(_WIN32) && !defined(SIGKILL)
#  define SIGKILL 9
#endif

void test_fail(const char *file, int line, const char *format, ...) __attribute__((format(TEST_PRINTF, 3, 4)));
int test_failed(void);

#define CHECK(cond)                                                                                  \
    do {                                                                                             \
        if (!(cond)) {                                                                               \
            test_fail(__FILE__, __LINE__, "%s", #cond);                                              \
            return;                                                                                  \
        }                                                                                            \
    } while (0)

#define CHECK_RC(expr, expected)                                                                     \
    do {                                                                                             \
        int check_rc_ = (expr);                                                                      \
        int check_expected_ = (expected);                                                            \
        if (check_rc_ != check_expected_) {                                                          \
            test_fail(__FILE__, __LINE__, "%s returned %s, expected %s", #expr,                      \
                      sipc_status_name(check_rc_), sipc_status_name(check_expected_));               \
            return;                                                                                  \
        }                                                                                            \
    } while (0)

/* In a child process: exit with the line number on failure. */
#define CHILD_CHECK(cond)                                                                            \
    do {                                                                                             \
        if (!(cond)) {                                                                               \
            fprintf(stderr, "child check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
            return 1;                                                                                \
        }                                                                                            \
    } while (0)

/* Options with this geometry, the rest default. */
sipc_options options_with(uint32_t max_message, uint32_t depth);
/* The file that backs channel `name` (POSIX shared memory under /dev/shm; POSIX only). */
void shm_path(const char *name, char *path, size_t size);
/* 1 while the OS object of channel `name` exists (not unlinked; on Windows: someone holds it). */
int shm_exists(const char *name);

/* A channel name unique to this run and test. */
const char *test_name(const char *base);
/* Runs fn(copy of the size bytes at arg) in a child process; its return value becomes the exit
 * status. The child is this test binary re-executed (a fresh process, not a fork of a possibly
 * multi-threaded test), so arg must be plain data: no pointers. Inherited file descriptors stay
 * open (pipes work). */
pid_t spawn_child(int (*fn)(void *arg), const void *arg, size_t size);
/* Waits for the child: its exit status, or 128 + signal. */
int reap_child(pid_t pid);
/* Ends this process at once, as SIGKILL does: no cleanup; the parent reaps 128 + SIGKILL. */
void kill_self(void);
uint64_t now_ns(void);
/* The seed of a randomised test: SIPC_TEST_SEED if set, else from the clock. Printed either way, so a
 * failure can be replayed with SIPC_TEST_SEED=<seed> sipc_tests <test>. */
unsigned test_seed(void);
void sleep_ms(int ms);

#if !defined(_WIN32)
/* A new private folder for a test's files, "<parent>/<label>-XXXXXX" (no trailing slash), in the test process's own
 * parent folder <TMPDIR or /tmp>/sipc-test-<pid>-XXXXXX/, the convention of test/debris.mjs's testTempDir. The test
 * removes what it made; after the test the harness removes the parent and fails the test if anything was left in
 * it, and a run that was killed has its parents removed by the next run of any suite. 1 on success. */
int test_temp_dir(const char *label, char *dir, size_t size);
/* Channel `name`'s shared-memory object touched as a stranger would, bypassing the library: made new (O_EXCL, 0600)
 * with `size` zero bytes, or opened read-write as it is; the descriptor, or -1. raw_object_unlink removes it. */
int raw_object_create(const char *name, uint64_t size);
int raw_object_open(const char *name);
void raw_object_unlink(const char *name);
/* Ends a fork()ed copy of a test process at once (_exit), its coverage counters written first in the coverage
 * build (_exit skips libgcov's exit handler). */
void exit_forked_child(int status);
#endif

/* A pseudo-random number from *state (rand_r's role, on every system). */
unsigned test_rand(unsigned *state);
void sleep_us(uint32_t us);

/* ---- what a test does to its child processes, on every system ---- */
/* Ends the child at once, as SIGKILL does (TerminateProcess on Windows): reap_child gives 128 + SIGKILL. */
int kill_child(pid_t pid);
/* Waits until the child has exited, up to timeout_ms, without reaping it: its process id (and so its
 * identity) cannot be reused meanwhile. 1 once it exited, 0 if still running. */
int wait_child_exited(pid_t pid, int32_t timeout_ms);
/* Holds every thread of the child still (SIGSTOP; NtSuspendProcess on Windows) and lets it go on.
 * stop_child returns 0 once the child is stopped. */
int stop_child(pid_t pid);
int continue_child(pid_t pid);

/* Pipes between a test and its children. An end is a descriptor (POSIX) or a HANDLE value (Windows)
 * that spawn_child's children inherit under the same value, so ends travel inside a child's plan. */
typedef int64_t pipe_end;
typedef struct test_pipe {
    pipe_end read_end;
    pipe_end write_end;
} test_pipe;
/* 0 on success. */
int test_pipe_open(test_pipe *pipe);
/* Reads `size` bytes: `size`, fewer only at end of file (every write end closed, in every process), -1
 * on error. */
long pipe_read(pipe_end end, void *buffer, size_t size);
/* 1 if all `size` bytes were written. */
int pipe_write(pipe_end end, const void *buffer, size_t size);
/* Closes this process's copy of the end and marks it closed (-1); a closed end is left alone. */
void pipe_close(pipe_end *end);
void test_pipe_close(test_pipe *pipe);


/* Deterministic message contents, so receivers and observers verify every byte. */
uint32_t message_size(uint64_t seed, uint64_t index, uint32_t max);
void message_fill(uint8_t *buffer, uint32_t size, uint64_t seed, uint64_t index);
int message_check(const uint8_t *buffer, uint32_t size, uint64_t seed, uint64_t index);

/* A read-write mapping of a channel's whole segment, as a hostile or buggy process of the same user would
 * make (tests that write into shared memory), made through the platform layer on every system. raw_open: 0,
 * or -1 if the object cannot be mapped. */
typedef struct raw_map {
    struct sipc_os_segment *segment;
    size_t size;
    uint8_t *base;
} raw_map;
int raw_open(const char *name, raw_map *map);
void raw_close(raw_map *map);

/* A view of a channel's header (raw_open), to wait for states only the segment shows: a thread asleep in a wait.
 * header_view_open: 0, or -1 if the object cannot be mapped. */
struct seg_header;
typedef struct header_view {
    raw_map segment;
    const struct seg_header *header;
} header_view;
int header_view_open(const char *name, header_view *view);
void header_view_close(header_view *view);
/* Waits (a state, not a time: 20 s only bounds a hang) until at least `threads` threads of role `role_index` sleep
 * in a futex wait (roles[r].sleepers); 1 if they do, 0 if not within the bound. */
int wait_role_asleep(const header_view *view, int role_index, uint32_t threads);

#endif
