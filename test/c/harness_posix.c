/* harness_posix.c — the C suite's processes and segment files on POSIX (see harness_os.h). */
#if !defined(_WIN32)

#include "harness.h"
#include "harness_os.h"
#include "layout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
        exit_forked_child(harness_test_status());
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

/* The name shm_open knows channel `name`'s object by: "/<key>". */
static void shm_object_name(const char *name, char *object, size_t size)
{
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(name, key);
    snprintf(object, size, "/%s", key);
}

int raw_object_create(const char *name, uint64_t size)
{
    char object[SIPC_OS_KEY_MAX + 2];
    shm_object_name(name, object, sizeof object);
    int fd = shm_open(object, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0 && ftruncate(fd, (off_t)size) != 0) {
        close(fd);
        shm_unlink(object);
        return -1;
    }
    return fd;
}

int raw_object_open(const char *name)
{
    char object[SIPC_OS_KEY_MAX + 2];
    shm_object_name(name, object, sizeof object);
    return shm_open(object, O_RDWR, 0);
}

void raw_object_unlink(const char *name)
{
    char object[SIPC_OS_KEY_MAX + 2];
    shm_object_name(name, object, sizeof object);
    shm_unlink(object);
}

void exit_forked_child(int status)
{
#ifdef SIPC_COVERAGE
    __gcov_dump();
#endif
    _exit(status);
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

/* ---- temporary folders: test/debris.mjs's convention (testTempDir), so either suite's sweep removes what a
 * killed run of the other left: <TMPDIR or /tmp>/sipc-test-<pid>-XXXXXX/ with an `owner` file "<pid> <start>" ---- */

#define TEMP_PARENT_PREFIX "sipc-test-"
#define TEMP_PATH_MAX 4096

/* This process's parent folder, once made (and the process that made it: a forked child makes its own). */
static char temp_parent[TEMP_PATH_MAX];
static pid_t temp_parent_pid;

static const char *temp_root(void)
{
    const char *root = getenv("TMPDIR");
    return root != NULL && *root != '\0' ? root : "/tmp";
}

/* Linux: a process's state letter and start time (fields 3 and 22 of its main thread's stat, as debris.mjs reads
 * them: under qemu-user a process's own /proc/<pid>/stat is made up). 0 if there is no such entry (or no /proc). */
static int process_stat(long pid, char *state, char *start, size_t size)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/stat", pid, pid);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return 0;
    size_t length = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[length] = '\0';
    char *field = strrchr(text, ')');
    if (field == NULL || field[1] != ' ')
        return 0;
    field += 2;
    *state = *field;
    for (int skip = 0; skip < 19 && field != NULL; skip++) {
        field = strchr(field, ' ');
        if (field != NULL)
            field++;
    }
    if (field == NULL)
        return 0;
    size_t digits = strspn(field, "0123456789");
    if (digits == 0 || digits >= size)
        return 0;
    memcpy(start, field, digits);
    start[digits] = '\0';
    return 1;
}

/* Whether a process runs (a zombie does not: it will never clean up; a pid of another user's process counts). */
static int process_exists(long pid)
{
    if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
        return 0;
    char state = '?', start[32];
    return !process_stat(pid, &state, start, sizeof start) || state != 'Z';
}

/* Whether the process that made a parent folder still runs: the pid and start time in its owner file (a reused
 * pid does not keep the folder), or the pid in its name while the owner file is not written yet. */
static int temp_owner_alive(const char *folder, long pid_in_name)
{
    char path[TEMP_PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/owner", folder);
    FILE *file = fopen(path, "r");
    long pid = 0;
    char start[32] = "";
    int fields = file != NULL ? fscanf(file, "%ld %31s", &pid, start) : 0;
    if (file != NULL)
        fclose(file);
    if (fields < 1 || pid <= 0)
        return process_exists(pid_in_name);
    if (!process_exists(pid))
        return 0;
    char state, now[32];
    return fields < 2 || !process_stat(pid, &state, now, sizeof now) || strcmp(now, start) == 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *walk)
{
    (void)st, (void)flag, (void)walk;
    if (remove(path) != 0 && errno != ENOENT)
        fprintf(stderr, "    could not remove %s: %s\n", path, strerror(errno));
    return 0;
}

static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The pid in a parent folder's name, or 0 if the name is not one. */
static long temp_parent_pid_of(const char *name)
{
    if (strncmp(name, TEMP_PARENT_PREFIX, strlen(TEMP_PARENT_PREFIX)) != 0)
        return 0;
    char *end;
    long pid = strtol(name + strlen(TEMP_PARENT_PREFIX), &end, 10);
    return end != name + strlen(TEMP_PARENT_PREFIX) && *end == '-' ? pid : 0;
}

int test_temp_dir(const char *label, char *dir, size_t size)
{
    if (temp_parent[0] == '\0' || temp_parent_pid != getpid()) {
        temp_parent_pid = getpid();
        snprintf(temp_parent, sizeof temp_parent, "%s/" TEMP_PARENT_PREFIX "%ld-XXXXXX", temp_root(),
                 (long)temp_parent_pid);
        if (mkdtemp(temp_parent) == NULL) {
            temp_parent[0] = '\0';
            return 0;
        }
        char path[sizeof temp_parent + 8], state, start[32] = "";
        snprintf(path, sizeof path, "%s/owner", temp_parent);
        if (!process_stat((long)temp_parent_pid, &state, start, sizeof start))
            start[0] = '\0';
        FILE *owner = fopen(path, "w");
        if (owner == NULL || fprintf(owner, "%ld %s\n", (long)temp_parent_pid, start) < 0 || fclose(owner) != 0)
            return 0;
    }
    if ((size_t)snprintf(dir, size, "%s/%s-XXXXXX", temp_parent, label) >= size)
        return 0;
    return mkdtemp(dir) != NULL;
}

void harness_sweep_temp(void)
{
    DIR *root = opendir(temp_root());
    if (root == NULL)
        return;
    int removed = 0;
    struct dirent *entry;
    while ((entry = readdir(root)) != NULL) {
        long pid = temp_parent_pid_of(entry->d_name);
        char folder[TEMP_PATH_MAX];
        if (pid == 0 || (size_t)snprintf(folder, sizeof folder, "%s/%s", temp_root(), entry->d_name) >= sizeof folder ||
            temp_owner_alive(folder, pid))
            continue;
        remove_tree(folder);
        removed++;
    }
    closedir(root);
    if (removed > 0)
        fprintf(stderr, "removed %d temporary folder(s) of test processes that were killed\n", removed);
}

int harness_remove_temp(pid_t test_pid)
{
    DIR *root = opendir(temp_root());
    if (root == NULL)
        return 0;
    int left = 0;
    struct dirent *entry;
    while ((entry = readdir(root)) != NULL) {
        if (temp_parent_pid_of(entry->d_name) != (long)test_pid)
            continue;
        char folder[TEMP_PATH_MAX];
        if ((size_t)snprintf(folder, sizeof folder, "%s/%s", temp_root(), entry->d_name) >= sizeof folder)
            continue;
        DIR *parent = opendir(folder);
        struct dirent *inside;
        while (parent != NULL && (inside = readdir(parent)) != NULL) {
            if (strcmp(inside->d_name, ".") == 0 || strcmp(inside->d_name, "..") == 0 ||
                strcmp(inside->d_name, "owner") == 0)
                continue;
            fprintf(stderr, "    left %s/%s behind\n", folder, inside->d_name);
            left++;
        }
        if (parent != NULL)
            closedir(parent);
        remove_tree(folder);
    }
    closedir(root);
    return left;
}

#endif /* !_WIN32 */
