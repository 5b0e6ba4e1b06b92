/*
 * platform_win32_winapi.h — NT functions and types that the Windows SDK's import libraries do not
 * offer, resolved from ntdll.dll at run time: the object-directory listing, and the thread states and
 * suspend counts that tell a stopped process (every thread suspended) from a running one.
 */
#ifndef SIPC_PLATFORM_WIN32_WINAPI_H
#define SIPC_PLATFORM_WIN32_WINAPI_H

#if defined(_WIN32)

#include <windows.h>

typedef struct win_unicode_string {
    USHORT Length;
    USHORT MaximumLength;
    wchar_t *Buffer;
} win_unicode_string;

typedef struct win_object_attributes {
    ULONG Length;
    HANDLE RootDirectory;
    win_unicode_string *ObjectName;
    ULONG Attributes;
    void *SecurityDescriptor;
    void *SecurityQualityOfService;
} win_object_attributes;

typedef struct win_directory_entry {
    win_unicode_string Name;
    win_unicode_string TypeName;
} win_directory_entry;

#define WIN_OBJ_CASE_INSENSITIVE 0x40u
#define WIN_DIRECTORY_QUERY 0x0001u
#define WIN_STATUS_MORE_ENTRIES 0x00000105L
#define WIN_STATUS_NO_MORE_ENTRIES ((LONG)0x8000001AL)

typedef LONG(NTAPI *win_nt_open_directory_object_fn)(HANDLE *, ACCESS_MASK, win_object_attributes *);
typedef LONG(NTAPI *win_nt_query_directory_object_fn)(HANDLE, void *, ULONG, BOOLEAN, BOOLEAN, ULONG *, ULONG *);

/* NtQuerySystemInformation(SystemProcessInformation): one record per process, each followed by one record per
 * thread, as documented (winternl.h; field names of the NT DDK where winternl.h says Reserved). Only the fields
 * read here are named. */
#define WIN_SYSTEM_PROCESS_INFORMATION 5
#define WIN_STATUS_INFO_LENGTH_MISMATCH ((LONG)0xC0000004L)

typedef struct win_system_process {
    ULONG NextEntryOffset; /* 0 in the last record */
    ULONG NumberOfThreads;
    BYTE Reserved1[48];
    win_unicode_string ImageName;
    LONG BasePriority;
    HANDLE UniqueProcessId;
    void *Reserved2;
    ULONG HandleCount;
    ULONG SessionId;
    void *Reserved3;
    SIZE_T PeakVirtualSize;
    SIZE_T VirtualSize;
    ULONG Reserved4;
    SIZE_T PeakWorkingSetSize;
    SIZE_T WorkingSetSize;
    void *Reserved5;
    SIZE_T QuotaPagedPoolUsage;
    void *Reserved6;
    SIZE_T QuotaNonPagedPoolUsage;
    SIZE_T PagefileUsage;
    SIZE_T PeakPagefileUsage;
    SIZE_T PrivatePageCount;
    LARGE_INTEGER Reserved7[6];
} win_system_process; /* followed by NumberOfThreads win_system_thread */

typedef struct win_system_thread {
    LARGE_INTEGER Reserved1[3]; /* kernel, user and creation time */
    ULONG Reserved2;            /* wait time */
    void *StartAddress;
    struct {
        HANDLE UniqueProcess;
        HANDLE UniqueThread;
    } ClientId;
    LONG Priority;
    LONG BasePriority;
    ULONG Reserved3; /* context switches */
    ULONG ThreadState;
    ULONG WaitReason;
} win_system_thread;

#if defined(_WIN64)
_Static_assert(sizeof(win_system_process) == 0x100, "SYSTEM_PROCESS_INFORMATION is 256 bytes on 64-bit Windows");
_Static_assert(sizeof(win_system_thread) == 0x50, "SYSTEM_THREAD_INFORMATION is 80 bytes on 64-bit Windows");
#endif

#define WIN_THREAD_STATE_WAITING 5u      /* KTHREAD_STATE Waiting */
#define WIN_WAIT_REASON_SUSPENDED 5u     /* KWAIT_REASON Suspended (SuspendThread, a debugger's freeze) */
#define WIN_WAIT_REASON_WR_SUSPENDED 12u /* KWAIT_REASON WrSuspended */
#define WIN_THREAD_SUSPEND_COUNT 35      /* THREADINFOCLASS ThreadSuspendCount (Windows 8.1+): a ULONG */

typedef LONG(NTAPI *win_nt_query_system_information_fn)(ULONG, void *, ULONG, ULONG *);
typedef LONG(NTAPI *win_nt_query_information_thread_fn)(HANDLE, ULONG, void *, ULONG, ULONG *);

typedef struct win_nt_api {
    win_nt_open_directory_object_fn NtOpenDirectoryObject;
    win_nt_query_directory_object_fn NtQueryDirectoryObject;
    /* NULL where ntdll lacks them: a process's threads are then not examined (it is described as running). */
    win_nt_query_system_information_fn NtQuerySystemInformation;
    win_nt_query_information_thread_fn NtQueryInformationThread;
} win_nt_api;

/* The NT functions, resolved once (thread-safe). SIPC_OK with *out set, or the OS error's status
 * (recorded) when ntdll lacks one of the object-directory functions. */
int win_nt_api_get(const win_nt_api **out);
/* The same functions, any of which may be NULL (never fails). */
const win_nt_api *win_nt_api_resolved(void);

#endif /* _WIN32 */

#endif /* SIPC_PLATFORM_WIN32_WINAPI_H */
