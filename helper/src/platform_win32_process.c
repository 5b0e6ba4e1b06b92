/* platform_win32_process.c — Windows OS errors and process identity: a pid with its creation time survives pid reuse. */
#if defined(_WIN32)

#include "platform_win32.h"
#include "platform_win32_winapi.h"

#include <stdlib.h>

/* ---- errors ---- */

int sipc_os_status_from_error(int os_error)
{
    switch ((DWORD)os_error) {
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD:
    case ERROR_INVALID_OWNER:
        return SIPC_ERR_PERMISSION;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
    case ERROR_NO_SYSTEM_RESOURCES:
    case ERROR_TOO_MANY_OPEN_FILES:
        return SIPC_ERR_NO_MEMORY;
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
        return SIPC_ERR_NOT_FOUND;
    default:
        return SIPC_ERR_SYSTEM;
    }
}

int win_fail_last_error(void)
{
    int err = (int)GetLastError();
    sipc_os_record_error(err);
    return sipc_os_status_from_error(err);
}

/* ---- processes ---- */

static uint64_t filetime_value(FILETIME ft)
{
    return ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
}

static int process_start_time(HANDLE process, uint64_t *start_time)
{
    FILETIME created, exited, kernel, user;
    if (!GetProcessTimes(process, &created, &exited, &kernel, &user))
        return 0;
    *start_time = filetime_value(created);
    return 1;
}

int sipc_os_process_self(sipc_os_process *out)
{
    out->pid = (int64_t)GetCurrentProcessId();
    if (!process_start_time(GetCurrentProcess(), &out->start_time))
        return win_fail_last_error();
    return SIPC_OK;
}

/* Opens the process if it is the one identified (same pid and creation time) and still running. */
HANDLE win_open_identified_process(const sipc_os_process *process, int *exists_unexaminable)
{
    *exists_unexaminable = 0;
    if (process->pid <= 0 || process->pid > (int64_t)UINT32_MAX)
        return NULL;
    HANDLE handle = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)process->pid);
    if (handle == NULL) {
        /* ERROR_INVALID_PARAMETER: no such pid. Access denied: it exists (another user's). */
        *exists_unexaminable = GetLastError() == ERROR_ACCESS_DENIED;
        return NULL;
    }
    uint64_t start_time = 0;
    if (!process_start_time(handle, &start_time) || start_time != process->start_time ||
        WaitForSingleObject(handle, 0) == WAIT_OBJECT_0) {
        CloseHandle(handle); /* the pid was reused, or the process has exited */
        return NULL;
    }
    return handle;
}

int sipc_os_process_start_time(int64_t pid, uint64_t *start_time)
{
    if (pid <= 0 || pid > (int64_t)UINT32_MAX)
        return SIPC_ERR_NOT_FOUND;
    HANDLE handle = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (handle == NULL) {
        if (GetLastError() == ERROR_ACCESS_DENIED)
            return win_fail_last_error(); /* exists (another user's) but cannot be examined */
        return SIPC_ERR_NOT_FOUND;
    }
    int rc = SIPC_OK;
    if (WaitForSingleObject(handle, 0) == WAIT_OBJECT_0)
        rc = SIPC_ERR_NOT_FOUND; /* exited */
    else if (!process_start_time(handle, start_time))
        rc = win_fail_last_error();
    CloseHandle(handle);
    return rc;
}

int sipc_os_process_alive(const sipc_os_process *process)
{
    int unexaminable = 0;
    HANDLE handle = win_open_identified_process(process, &unexaminable);
    if (handle == NULL)
        return unexaminable;
    CloseHandle(handle);
    return 1;
}

/* ---- stopped: every thread suspended ---- */

/* A thread that is suspended: waiting for the reason Suspended (SuspendThread, NtSuspendProcess, and the freeze of
 * every thread while a debugger handles a breakpoint or step), or, where the thread states are not reported
 * (wine), with a suspend count above 0. */
static int thread_suspended(const win_nt_api *nt, const win_system_thread *thread)
{
    if (thread->ThreadState == WIN_THREAD_STATE_WAITING &&
        (thread->WaitReason == WIN_WAIT_REASON_SUSPENDED || thread->WaitReason == WIN_WAIT_REASON_WR_SUSPENDED))
        return 1;
    if (nt->NtQueryInformationThread == NULL)
        return 0;
    HANDLE handle =
        OpenThread(THREAD_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)(ULONG_PTR)thread->ClientId.UniqueThread);
    if (handle == NULL)
        return 0;
    ULONG count = 0; /* the returned length is not checked: wine does not set it */
    LONG status = nt->NtQueryInformationThread(handle, WIN_THREAD_SUSPEND_COUNT, &count, sizeof count, NULL);
    CloseHandle(handle);
    return status >= 0 && count > 0;
}

/* The system's process and thread records (NtQuerySystemInformation grows them between calls: a few tries with
 * room to spare). NULL if they cannot be read; *length is the bytes filled. */
static unsigned char *system_processes(const win_nt_api *nt, ULONG *length)
{
    ULONG size = 256u * 1024u;
    for (int attempt = 0; attempt < 6 && size <= 64u * 1024u * 1024u; attempt++) {
        unsigned char *buffer = malloc(size);
        if (buffer == NULL)
            return NULL;
        ULONG needed = 0;
        LONG status = nt->NtQuerySystemInformation(WIN_SYSTEM_PROCESS_INFORMATION, buffer, size, &needed);
        if (status >= 0) {
            *length = needed <= size ? needed : size;
            return buffer;
        }
        free(buffer);
        if (status != WIN_STATUS_INFO_LENGTH_MISMATCH)
            return NULL;
        size = (needed > size ? needed : size * 2) + 64u * 1024u;
    }
    return NULL;
}

/* 1 if process `pid` has threads and every one is suspended: Windows' equivalent of a stopped process (a debugger
 * at a breakpoint, or a process suspended as a whole). 0 if one runs or waits for anything else, or if the threads
 * cannot be examined. The records come from the kernel; their offsets are still checked against the buffer. */
static int process_suspended(DWORD pid)
{
    const win_nt_api *nt = win_nt_api_resolved();
    if (nt->NtQuerySystemInformation == NULL)
        return 0;
    ULONG length = 0;
    unsigned char *buffer = system_processes(nt, &length);
    if (buffer == NULL)
        return 0;
    int suspended = 0;
    /* Records are copied out: wine packs them without aligning them. */
    win_system_process process;
    for (size_t at = 0; at + sizeof process <= length;) {
        memcpy(&process, buffer + at, sizeof process);
        if ((DWORD)(ULONG_PTR)process.UniqueProcessId == pid) {
            size_t threads = process.NumberOfThreads;
            size_t first = at + sizeof process;
            suspended = threads > 0 && threads <= (length - first) / sizeof(win_system_thread);
            for (size_t i = 0; suspended && i < threads; i++) {
                win_system_thread thread;
                memcpy(&thread, buffer + first + i * sizeof thread, sizeof thread);
                suspended = thread_suspended(nt, &thread);
            }
            break;
        }
        if (process.NextEntryOffset == 0)
            break;
        at += process.NextEntryOffset;
    }
    free(buffer);
    return suspended;
}

/* A running process is STOPPED when every thread of it is suspended (process_suspended), traced when a debugger is
 * attached. */
void sipc_os_process_describe(int64_t pid, sipc_process_info *info)
{
    if (pid > (int64_t)UINT32_MAX) {
        info->state = SIPC_PROCESS_GONE;
        return;
    }
    HANDLE handle = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (handle == NULL) {
        info->state = GetLastError() == ERROR_ACCESS_DENIED ? SIPC_PROCESS_UNKNOWN : SIPC_PROCESS_GONE;
        return;
    }
    DWORD exit_code = 0;
    info->state = GetExitCodeProcess(handle, &exit_code) && exit_code != STILL_ACTIVE &&
                          WaitForSingleObject(handle, 0) == WAIT_OBJECT_0
                      ? SIPC_PROCESS_GONE
                      : SIPC_PROCESS_RUNNING;
    if (info->state == SIPC_PROCESS_RUNNING && process_suspended((DWORD)pid))
        info->state = SIPC_PROCESS_STOPPED;
    BOOL debugged = FALSE;
    if (CheckRemoteDebuggerPresent(handle, &debugged))
        info->traced = debugged ? 1 : 0;
    char path[MAX_PATH];
    DWORD length = (DWORD)sizeof path;
    if (QueryFullProcessImageNameA(handle, 0, path, &length)) {
        path[length < sizeof path ? length : sizeof path - 1] = '\0';
        const char *base = path;
        for (const char *c = path; *c != '\0'; c++) {
            if (*c == '\\' || *c == '/')
                base = c + 1;
        }
        size_t n = strlen(base);
        if (n > SIPC_PROCESS_NAME_MAX)
            n = SIPC_PROCESS_NAME_MAX;
        memcpy(info->name, base, n);
        info->name[n] = '\0';
    }
    CloseHandle(handle);
}

/* Windows has no fork(): a handle is never used in a copy of its process. */
uint32_t sipc_os_fork_generation(void)
{
    return 0;
}

static SRWLOCK process_lock = SRWLOCK_INIT;

void sipc_os_process_lock(void)
{
    AcquireSRWLockExclusive(&process_lock);
}

void sipc_os_process_unlock(void)
{
    ReleaseSRWLockExclusive(&process_lock);
}

uint32_t sipc_os_current_uid(void)
{
    return 0;
}

#endif /* _WIN32 */
