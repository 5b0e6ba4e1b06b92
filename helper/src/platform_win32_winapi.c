/* platform_win32_winapi.c — resolves the NT functions of platform_win32_winapi.h from ntdll.dll. */
#if defined(_WIN32)

#include "platform_win32_winapi.h"

#include "platform_win32.h"

static win_nt_api nt_api;
static DWORD nt_api_error;
static INIT_ONCE nt_api_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK resolve_nt_api(PINIT_ONCE once, PVOID parameter, PVOID *context)
{
    (void)once;
    (void)parameter;
    (void)context;
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    if (ntdll == NULL) {
        nt_api_error = GetLastError();
        return TRUE;
    }
    /* Through void (*)(void): GetProcAddress's FARPROC converts to any function pointer type. */
    nt_api.NtOpenDirectoryObject =
        (win_nt_open_directory_object_fn)(void (*)(void))GetProcAddress(ntdll, "NtOpenDirectoryObject");
    nt_api.NtQueryDirectoryObject =
        (win_nt_query_directory_object_fn)(void (*)(void))GetProcAddress(ntdll, "NtQueryDirectoryObject");
    if (nt_api.NtOpenDirectoryObject == NULL || nt_api.NtQueryDirectoryObject == NULL)
        nt_api_error = GetLastError();
    nt_api.NtQuerySystemInformation =
        (win_nt_query_system_information_fn)(void (*)(void))GetProcAddress(ntdll, "NtQuerySystemInformation");
    nt_api.NtQueryInformationThread =
        (win_nt_query_information_thread_fn)(void (*)(void))GetProcAddress(ntdll, "NtQueryInformationThread");
    return TRUE;
}

const win_nt_api *win_nt_api_resolved(void)
{
    InitOnceExecuteOnce(&nt_api_once, resolve_nt_api, NULL, NULL);
    return &nt_api;
}

int win_nt_api_get(const win_nt_api **out)
{
    InitOnceExecuteOnce(&nt_api_once, resolve_nt_api, NULL, NULL);
    if (nt_api.NtOpenDirectoryObject == NULL || nt_api.NtQueryDirectoryObject == NULL) {
        sipc_os_record_error((int)nt_api_error);
        return sipc_os_status_from_error((int)nt_api_error);
    }
    *out = &nt_api;
    return SIPC_OK;
}

#endif /* _WIN32 */
