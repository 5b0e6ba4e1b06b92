/* platform_win32_security.c — the owner-only security descriptors every named object of a channel gets. */
#if defined(_WIN32)

#include "platform_win32.h"

#include <sddl.h>
#include <wchar.h>

/* ---- security: owner-only descriptors ---- */

typedef struct win_security {
    PSECURITY_DESCRIPTOR owner_only;
    PSECURITY_DESCRIPTOR owner_and_users;
    DWORD error;
} win_security;

static win_security security;
static INIT_ONCE security_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK build_security(PINIT_ONCE once, PVOID parameter, PVOID *context)
{
    (void)once;
    (void)parameter;
    (void)context;
    HANDLE token = NULL;
    union {
        TOKEN_USER user;
        BYTE bytes[256];
    } info;
    DWORD length = 0;
    wchar_t *sid = NULL;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token) ||
        !GetTokenInformation(token, TokenUser, &info, sizeof info, &length) ||
        !ConvertSidToStringSidW(info.user.User.Sid, &sid)) {
        security.error = GetLastError();
        if (token != NULL)
            CloseHandle(token);
        return TRUE;
    }
    CloseHandle(token);
    /* D:P = protected DACL (nothing inherited); GA to the user only, or also to Authenticated Users. */
    wchar_t sddl[256];
    swprintf(sddl, sizeof sddl / sizeof sddl[0], L"D:P(A;;GA;;;%ls)", sid);
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &security.owner_only, NULL))
        security.error = GetLastError();
    swprintf(sddl, sizeof sddl / sizeof sddl[0], L"D:P(A;;GA;;;%ls)(A;;GA;;;AU)", sid);
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &security.owner_and_users, NULL))
        security.error = GetLastError();
    LocalFree(sid);
    return TRUE;
}

int win_security_attributes(uint32_t mode, int inherit, SECURITY_ATTRIBUTES *attributes)
{
    InitOnceExecuteOnce(&security_once, build_security, NULL, NULL);
    PSECURITY_DESCRIPTOR descriptor = (mode & 077u) ? security.owner_and_users : security.owner_only;
    if (descriptor == NULL) {
        sipc_os_record_error((int)security.error);
        return SIPC_ERR_SYSTEM;
    }
    attributes->nLength = sizeof *attributes;
    attributes->lpSecurityDescriptor = descriptor;
    attributes->bInheritHandle = inherit ? TRUE : FALSE;
    return SIPC_OK;
}

#endif /* _WIN32 */
