/*
 * harness_os.h — what the C suite's runner (harness.c) needs from the operating system, one file per
 * system: harness_posix.c (fork, exec of this binary, directly or through SIPC_TEST_EMULATOR, /dev/shm)
 * and harness_win32.c (CreateProcess of the same executable, named kernel objects).
 */
#ifndef SIPC_TEST_HARNESS_OS_H
#define SIPC_TEST_HARNESS_OS_H

#include <stdio.h>
#include <sys/types.h>

typedef struct test_entry {
    const char *name;
    void (*fn)(void);
} test_entry;

/* Once, first thing in main. */
void harness_os_init(void);
/* Starts this test binary again with the arguments mode, a, b; the new process's id, -1 on failure. */
pid_t harness_spawn_self(const char *mode, const char *a, const char *b);
/* Runs the test in a process of its own, which fails if it takes more than 120 s. Returns its exit
 * status (0: passed), its process id, and the names it registered through test_name (a file read
 * from the start, or NULL). */
int harness_run_isolated(const test_entry *test, pid_t *pid, FILE **registered);
/* Removes what is left of a channel's OS object by force, where the OS allows it. */
void harness_remove_object(const char *name);

#if !defined(_WIN32)
/* Temporary folders (test_temp_dir; POSIX only): removes the parent folders of test processes that are gone (a
 * killed run; also those of killed JS test processes, which follow the same convention), once at the start. */
void harness_sweep_temp(void);
/* After a test: removes its process's parent folder, saying what the test left in it; returns how many entries. */
int harness_remove_temp(pid_t test_pid);
#endif

/* harness.c: in the test's process, before the test runs; registration_fd receives the names. */
void harness_enter_test(const test_entry *test, int registration_fd);
/* harness.c: the exit status of the test that ran in this process. */
int harness_test_status(void);

#endif
