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

void harness_os_init(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
}

pid_t harness_spawn_self(const char *mode, const char *a, const char *b)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"sipc_tests", (char *)mode, (char *)a, (char *)b, NULL};
        execv("/proc/self/exe", argv);
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

long thread_voluntary_switches(void)
{
    FILE *f = fopen("/proc/thread-self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long value = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &value) == 1)
            break;
    }
    fclose(f);
    return value;
}

#endif /* !_WIN32 */

int raw_open(const char *name, raw_map *map)
{
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(name, key);
    char path[64];
    snprintf(path, sizeof path, "/%s", key);
    map->fd = shm_open(path, O_RDWR, 0);
    if (map->fd < 0)
        return -1;
    struct stat st;
    if (fstat(map->fd, &st) != 0)
        return -1;
    map->size = (size_t)st.st_size;
    map->base = mmap(NULL, map->size, PROT_READ | PROT_WRITE, MAP_SHARED, map->fd, 0);
    return map->base == MAP_FAILED ? -1 : 0;
}

void raw_close(raw_map *map)
{
    munmap(map->base, map->size);
    close(map->fd);
}
