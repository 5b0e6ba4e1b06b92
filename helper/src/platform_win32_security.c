/* platform_win32_security.c — the security descriptors of a channel's named objects: the creating user gets
 * full access, other users what the mode's group/other bits admit them to, per kind of object. */
#if defined(_WIN32)

#include "platform_win32.h"

#include <sddl.h>
#include <wchar.h>

/* What the mode's group/other bits admit other users to. Windows has no groups here: group and other
 * bits both stand for Authenticated Users, and the wider of the two applies. */
typedef enum win_others {
    WIN_OTHERS_NONE,  /* no group/other bit: owner only */
    WIN_OTHERS_READ,  /* read bits only (044): watch (stat, list, read-only observers), never block or disturb */
    WIN_OTHERS_WRITE, /* a write bit (022): a peer */
    WIN_OTHERS_LEVELS
} win_others;

/* The creating user's rights: everything the kind of object has. */
static const DWORD owner_rights[WIN_OBJECT_KINDS] = {
    [WIN_OBJECT_SECTION] = SECTION_ALL_ACCESS,
    [WIN_OBJECT_LOCK] = MUTEX_ALL_ACCESS,
    [WIN_OBJECT_SEMAPHORE] = SEMAPHORE_ALL_ACCESS,
};

/* Other users' rights (0: no ACE at all). A reader may map sections for reading and nothing else: no right
 * on the key mutex (waiting on a mutex acquires it: SYNCHRONIZE alone could hold every opener up) nor on the
 * semaphores (a wait consumes a token meant for a peer; a release wakes peers for nothing). Read-only
 * openers take neither (platform_win32_segment.c): they poll. A peer gets what its opens ask for, never
 * WRITE_DAC, WRITE_OWNER or DELETE. */
static const DWORD others_rights[WIN_OTHERS_LEVELS][WIN_OBJECT_KINDS] = {
    [WIN_OTHERS_NONE] = {0, 0, 0},
    [WIN_OTHERS_READ] =
        {
            [WIN_OBJECT_SECTION] = WIN_SECTION_READER_RIGHTS,
            [WIN_OBJECT_LOCK] = 0,
            [WIN_OBJECT_SEMAPHORE] = 0,
        },
    [WIN_OTHERS_WRITE] =
        {
            [WIN_OBJECT_SECTION] = WIN_SECTION_PEER_RIGHTS,
            [WIN_OBJECT_LOCK] = WIN_LOCK_PEER_RIGHTS,
            [WIN_OBJECT_SEMAPHORE] = WIN_SEMAPHORE_PEER_RIGHTS,
        },
};

typedef struct win_security {
    PSECURITY_DESCRIPTOR descriptors[WIN_OTHERS_LEVELS][WIN_OBJECT_KINDS];
    DWORD error;
} win_security;

static win_security security;
static INIT_ONCE security_once = INIT_ONCE_STATIC_INIT;

static win_others others_level(uint32_t mode)
{
    return (mode & 022u) ? WIN_OTHERS_WRITE : (mode & 044u) ? WIN_OTHERS_READ : WIN_OTHERS_NONE;
}

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
    for (int level = 0; level < WIN_OTHERS_LEVELS; level++) {
        for (int kind = 0; kind < WIN_OBJECT_KINDS; kind++) {
            /* D:P = protected DACL (nothing inherited); the user, then Authenticated Users (AU) if admitted. */
            wchar_t sddl[256];
            DWORD others = others_rights[level][kind];
            if (others != 0)
                swprintf(sddl, sizeof sddl / sizeof sddl[0], L"D:P(A;;0x%lx;;;%ls)(A;;0x%lx;;;AU)",
                         (unsigned long)owner_rights[kind], sid, (unsigned long)others);
            else
                swprintf(sddl, sizeof sddl / sizeof sddl[0], L"D:P(A;;0x%lx;;;%ls)", (unsigned long)owner_rights[kind],
                         sid);
            if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1,
                                                                      &security.descriptors[level][kind], NULL))
                security.error = GetLastError();
        }
    }
    LocalFree(sid);
    return TRUE;
}

int win_security_attributes(win_object_kind kind, uint32_t mode, int inherit, SECURITY_ATTRIBUTES *attributes)
{
    InitOnceExecuteOnce(&security_once, build_security, NULL, NULL);
    PSECURITY_DESCRIPTOR descriptor = security.descriptors[others_level(mode)][kind];
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
