/*
 * harness_win32.c — the C suite's processes and channel objects on Windows (see harness_os.h): a
 * test, and each child it spawns, is this executable started again with CreateProcess.
 */
#if defined(_WIN32)

#include "harness.h"
#include "harness_os.h"
#include "layout.h"

#include <fcntl.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

/* How long a test may take before it is ended as hung. */
#define TEST_LIMIT_MS 120000u

/* Children spawned and not reaped yet: reap_child finds a child's handle by its id. */
#define MAX_CHILDREN 64
static struct {
    pid_t pid;
    HANDLE process;
} children[MAX_CHILDREN];

void harness_os_init(void)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* msvcrt has no line buffering: unbuffered keeps the order */
    _setmode(_fileno(stdout), _O_BINARY);
}

static HANDLE start_self(const char *mode, const char *a, const char *b, pid_t *pid)
{
    char exe[MAX_PATH];
    DWORD length = GetModuleFileNameA(NULL, exe, sizeof exe);
    if (length == 0 || length >= sizeof exe)
        return NULL;
    size_t size = strlen(exe) + strlen(mode) + strlen(a) + strlen(b) + 16;
    char *command = malloc(size);
    if (command == NULL)
        return NULL;
    snprintf(command, size, "\"%s\" %s %s %s", exe, mode, a, b);
    STARTUPINFOA startup;
    memset(&startup, 0, sizeof startup);
    startup.cb = sizeof startup;
    startup.dwFlags = STARTF_USESTDHANDLES;
    startup.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    startup.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
    startup.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    PROCESS_INFORMATION info;
    fflush(NULL);
    BOOL started = CreateProcessA(exe, command, NULL, NULL, TRUE, 0, NULL, NULL, &startup, &info);
    free(command);
    if (!started)
        return NULL;
    CloseHandle(info.hThread);
    *pid = (pid_t)info.dwProcessId;
    return info.hProcess;
}

pid_t harness_spawn_self(const char *mode, const char *a, const char *b)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i].process != NULL)
            continue;
        pid_t pid = -1;
        children[i].process = start_self(mode, a, b, &pid);
        if (children[i].process == NULL)
            return -1;
        children[i].pid = pid;
        return pid;
    }
    return -1;
}

static int exit_status(HANDLE process)
{
    DWORD code = 0;
    if (!GetExitCodeProcess(process, &code))
        return -1;
    return (int)code;
}

int reap_child(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i].process == NULL || children[i].pid != pid)
            continue;
        WaitForSingleObject(children[i].process, INFINITE);
        int status = exit_status(children[i].process);
        CloseHandle(children[i].process);
        children[i].process = NULL;
        return status;
    }
    return -1;
}

void kill_self(void)
{
    TerminateProcess(GetCurrentProcess(), 128 + SIGKILL);
}

int harness_run_isolated(const test_entry *test, pid_t *pid, FILE **registered)
{
    /* The test process appends the names it makes to this file (see test_name). */
    char directory[MAX_PATH], path[MAX_PATH];
    *registered = NULL;
    DWORD length = GetTempPathA(sizeof directory, directory);
    if (length == 0 || length >= sizeof directory || GetTempFileNameA(directory, "sit", 0, path) == 0)
        return 126;
    HANDLE process = start_self("--test", test->name, path, pid);
    if (process == NULL) {
        DeleteFileA(path);
        return 127;
    }
    int status;
    if (WaitForSingleObject(process, TEST_LIMIT_MS) == WAIT_TIMEOUT) {
        TerminateProcess(process, 124);
        WaitForSingleObject(process, INFINITE);
        fprintf(stderr, "    still running after %u s: ended\n", TEST_LIMIT_MS / 1000u);
        status = 124;
    } else {
        status = exit_status(process);
    }
    CloseHandle(process);
    /* Read it whole, then delete it: Windows cannot delete a file that is still open. */
    FILE *names = fopen(path, "rb");
    FILE *copy = tmpfile();
    if (names != NULL && copy != NULL) {
        char buffer[4096];
        size_t got;
        while ((got = fread(buffer, 1, sizeof buffer, names)) > 0)
            fwrite(buffer, 1, got, copy);
        rewind(copy);
        *registered = copy;
    } else if (copy != NULL) {
        fclose(copy);
    }
    if (names != NULL)
        fclose(names);
    DeleteFileA(path);
    return status;
}

int shm_exists(const char *name)
{
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(name, key);
    sipc_os_segment *segment = NULL;
    if (sipc_os_segment_open(key, SIPC_OS_SEG_READONLY, 0, SIPC_OS_NO_DEADLINE, &segment) != SIPC_OK)
        return 0;
    sipc_os_segment_close(segment);
    return 1;
}

void harness_remove_object(const char *name)
{
    (void)name; /* Windows objects cannot be deleted: they go with the last handle */
}

#endif /* _WIN32 */
