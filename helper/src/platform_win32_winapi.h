/*
 * platform_win32_winapi.h — NT functions and types that the Windows SDK's import libraries do not
 * offer, resolved from ntdll.dll at run time (only the object-directory listing needs them).
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

typedef struct win_nt_api {
    win_nt_open_directory_object_fn NtOpenDirectoryObject;
    win_nt_query_directory_object_fn NtQueryDirectoryObject;
} win_nt_api;

/* The NT functions, resolved once (thread-safe). SIPC_OK with *out set, or the OS error's status
 * (recorded) when ntdll lacks one of them. */
int win_nt_api_get(const win_nt_api **out);

#endif /* _WIN32 */

#endif /* SIPC_PLATFORM_WIN32_WINAPI_H */
