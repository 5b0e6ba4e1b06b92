/* harness_posix.c — the C suite's processes and segment files on POSIX (see harness_os.h). */
#if !defined(_WIN32)

#include "harness.h"
#include "harness_os.h"
#include "layout.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef SIPC_COVERAGE
void __gcov_dump(void); /* libgcov: writes the coverage counters, which _exit would skip */
#endif

/* This test binary, for running it again; read once at start. Under qemu-user the link names the
 * emulated program (qemu answers readlink for it), and so does an exec of "/proc/self/exe". */
static char self_path[4096] = "/proc/self/exe";
/* SIPC_TEST_EMULATOR: the absolute path of a program that runs this binary's CPU (qemu-aarch64-static).
 * Needed where the kernel has no binfmt_misc handler for that CPU: it then refuses to execute the
 * binary itself (ENOEXEC), so every child process would fail. NULL: execute the binary directly. */
static const char *emulator;

void harness_os_init(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    char path[sizeof self_path];
    ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
    if (length > 0) {
        path[length] = '\0';
        memcpy(self_path, path, (size_t)length + 1);
    }
    emulator = getenv("SIPC_TEST_EMULATOR");
    if (emulator != NULL && *emulator == '\0')
        emulator = NULL;
    if (emulator != NULL && emulator[0] != '/') {
        /* Resolved here, not by execvp in the forked child of a multi-threaded test. */
        fprintf(stderr, "SIPC_TEST_EMULATOR must be an absolute path, not '%s'\n", emulator);
        exit(2);
    }
}

/* After a failed exec in a forked child: async-signal-safe, so no stdio. */
static void report_exec_failure(int error)
{
    static const char not_executable[] =
        "    cannot execute the test binary (ENOEXEC): a binary for another CPU needs SIPC_TEST_EMULATOR\n";
    static const char failed[] = "    cannot execute the test binary again (or SIPC_TEST_EMULATOR)\n";
    const char *text = error == ENOEXEC ? not_executable : failed;
    size_t length = error == ENOEXEC ? sizeof not_executable - 1 : sizeof failed - 1;
    if (write(STDERR_FILENO, text, length) < 0) {
        /* nothing more to say: the parent sees exit status 127 */
    }
}

pid_t harness_spawn_self(const char *mode, const char *a, const char *b)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (emulator != NULL) {
            char *argv[] = {(char *)emulator, self_path, (char *)mode, (char *)a, (char *)b, NULL};
            execv(emulator, argv);
        } else {
            char *argv[] = {"sipc_tests", (char *)mode, (char *)a, (char *)b, NULL};
            execv(self_path, argv);
        }
        report_exec_failure(errno);
        _exit(127);
    }
    return pid;
}

int harness_run_isolated(const test_entry *test, pid_t *pid, FILE **registered)
{
    /* A temporary file, not a pipe: a test that makes many channels never blocks on a full pipe. */
    FILE *names = tmpfile();
    *pid = fork();
    if (*pid == 0) {
        int names_fd = -1;
        if (names != NULL) {
            names_fd = dup(fileno(names));
            if (names_fd >= 0)
                fcntl(names_fd, F_SETFD, FD_CLOEXEC); /* not inherited by re-executed child processes */
        }
        harness_enter_test(test, names_fd);
        alarm(120); /* a hung test fails instead of hanging the suite */
        test->fn();
#ifdef SIPC_COVERAGE
        __gcov_dump();
#endif
        _exit(harness_test_status());
    }
    int status = reap_child(*pid);
    if (names != NULL)
        rewind(names);
    *registered = names;
    return status;
}

int reap_child(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

void kill_self(void)
{
    raise(SIGKILL);
}

int kill_child(pid_t pid)
{
    return kill(pid, SIGKILL);
}

int wait_child_exited(pid_t pid, int32_t timeout_ms)
{
    /* WNOWAIT: the child stays a zombie, so its pid is not reused before reap_child. */
    uint64_t give_up = now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid)
            return 1;
        if (now_ns() >= give_up)
            return 0;
        sleep_ms(1);
    }
}

int stop_child(pid_t pid)
{
    if (kill(pid, SIGSTOP) != 0)
        return -1;
    int status = 0;
    return waitpid(pid, &status, WUNTRACED) == pid && WIFSTOPPED(status) ? 0 : -1;
}

int continue_child(pid_t pid)
{
    return kill(pid, SIGCONT);
}

/* pipe(): no close-on-exec, so the re-executed children keep both ends under the same numbers. */
int test_pipe_open(test_pipe *p)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    p->read_end = fds[0];
    p->write_end = fds[1];
    return 0;
}

long pipe_read(pipe_end end, void *buffer, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t got = read((int)end, (char *)buffer + done, size - done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0)
            break;
        done += (size_t)got;
    }
    return (long)done;
}

int pipe_write(pipe_end end, const void *buffer, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t wrote = write((int)end, (const char *)buffer + done, size - done);
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0)
            return 0;
        done += (size_t)wrote;
    }
    return 1;
}

void pipe_close(pipe_end *end)
{
    if (*end < 0)
        return;
    close((int)*end);
    *end = -1;
}

void shm_path(const char *name, char *path, size_t size)
{
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(name, key);
    snprintf(path, size, "/dev/shm/%s", key);
}

int shm_exists(const char *name)
{
    char path[512];
    shm_path(name, path, sizeof path);
    return access(path, F_OK) == 0;
}

void harness_remove_object(const char *name)
{
    char path[512];
    shm_path(name, path, sizeof path);
    unlink(path);
}

#endif /* !_WIN32 */
