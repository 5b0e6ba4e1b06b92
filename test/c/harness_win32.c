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

static HANDLE child_process(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i].process != NULL && children[i].pid == pid)
            return children[i].process;
    }
    return NULL;
}

int kill_child(pid_t pid)
{
    HANDLE process = child_process(pid);
    return process != NULL && TerminateProcess(process, 128 + SIGKILL) ? 0 : -1;
}

/* The harness holds the child's handle until reap_child: its id is not reused before. */
int wait_child_exited(pid_t pid, int32_t timeout_ms)
{
    HANDLE process = child_process(pid);
    return process != NULL && WaitForSingleObject(process, (DWORD)timeout_ms) == WAIT_OBJECT_0;
}

/* Windows has no SIGSTOP: ntdll's NtSuspendProcess/NtResumeProcess suspend and resume every thread. */
typedef LONG(NTAPI *process_control_fn)(HANDLE process);

static int control_child(pid_t pid, const char *function)
{
    HANDLE process = child_process(pid);
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    FARPROC address = ntdll != NULL ? GetProcAddress(ntdll, function) : NULL;
    if (process == NULL || address == NULL)
        return -1;
    process_control_fn control;
    memcpy(&control, &address, sizeof control);
    return control(process) >= 0 ? 0 : -1;
}

int stop_child(pid_t pid)
{
    return control_child(pid, "NtSuspendProcess");
}

int continue_child(pid_t pid)
{
    return control_child(pid, "NtResumeProcess");
}

/* Inheritable handles: CreateProcess (bInheritHandles) gives every child both ends under the same values. */
int test_pipe_open(test_pipe *p)
{
    SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
    HANDLE read_end = NULL, write_end = NULL;
    if (!CreatePipe(&read_end, &write_end, &inherit, 0))
        return -1;
    p->read_end = (pipe_end)(intptr_t)read_end;
    p->write_end = (pipe_end)(intptr_t)write_end;
    return 0;
}

long pipe_read(pipe_end end, void *buffer, size_t size)
{
    size_t done = 0;
    while (done < size) {
        DWORD got = 0;
        if (!ReadFile((HANDLE)(intptr_t)end, (char *)buffer + done, (DWORD)(size - done), &got, NULL))
            return GetLastError() == ERROR_BROKEN_PIPE ? (long)done : -1; /* broken: every write end closed */
        if (got == 0)
            break;
        done += got;
    }
    return (long)done;
}

int pipe_write(pipe_end end, const void *buffer, size_t size)
{
    size_t done = 0;
    while (done < size) {
        DWORD wrote = 0;
        if (!WriteFile((HANDLE)(intptr_t)end, (const char *)buffer + done, (DWORD)(size - done), &wrote, NULL) ||
            wrote == 0)
            return 0;
        done += wrote;
    }
    return 1;
}

void pipe_close(pipe_end *end)
{
    if (*end < 0)
        return;
    CloseHandle((HANDLE)(intptr_t)*end);
    *end = -1;
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
        /* Bounded too: a process that outlives TerminateProcess is reported, not waited for forever. */
        int gone = WaitForSingleObject(process, TEST_LIMIT_MS) == WAIT_OBJECT_0;
        fprintf(stderr, "    still running after %u s: %s\n", TEST_LIMIT_MS / 1000u,
                gone ? "ended" : "terminated, but still there");
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
