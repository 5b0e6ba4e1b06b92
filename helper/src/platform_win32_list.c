/* platform_win32_list.c — listing the keys of the session's channels from the NT object directory. */
#if defined(_WIN32)

#include "platform_win32.h"
#include "platform_win32_winapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* ---- listing: the object directory of the session's named objects ---- */

/* "<key>~<g>~ctl" -> key, if it has that shape. */
static int key_of_control_name(const wchar_t *name, size_t length, char key[SIPC_OS_KEY_MAX + 1])
{
    static const wchar_t suffix[] = L"~ctl";
    const size_t suffix_length = 4;
    if (length <= suffix_length || wmemcmp(name + length - suffix_length, suffix, suffix_length) != 0)
        return 0;
    size_t end = length - suffix_length;
    size_t tilde = end;
    while (tilde > 0 && name[tilde - 1] != L'~')
        tilde--;
    if (tilde == 0 || tilde == end)
        return 0;
    size_t key_length = tilde - 1;
    if (key_length == 0 || key_length > SIPC_OS_KEY_MAX)
        return 0;
    for (size_t i = 0; i < key_length; i++) {
        if (name[i] >= 0x80 || name[i] == L'~')
            return 0;
        key[i] = (char)name[i];
    }
    key[key_length] = '\0';
    return strncmp(key, SIPC_OS_KEY_PREFIX, strlen(SIPC_OS_KEY_PREFIX)) == 0;
}

int sipc_os_segment_list(sipc_os_key_visitor visit, void *user)
{
    const win_nt_api *nt = NULL;
    int rc = win_nt_api_get(&nt);
    if (rc != SIPC_OK)
        return rc;

    DWORD session = 0;
    ProcessIdToSessionId(GetCurrentProcessId(), &session);
    wchar_t path[64];
    if (session == 0)
        swprintf(path, 64, L"\\BaseNamedObjects");
    else
        swprintf(path, 64, L"\\Sessions\\%lu\\BaseNamedObjects", (unsigned long)session);
    win_unicode_string path_string = {(USHORT)(wcslen(path) * sizeof(wchar_t)),
                                      (USHORT)(wcslen(path) * sizeof(wchar_t)), path};
    win_object_attributes attributes = {sizeof attributes, NULL, &path_string, WIN_OBJ_CASE_INSENSITIVE, NULL, NULL};
    HANDLE directory = NULL;
    LONG status = nt->NtOpenDirectoryObject(&directory, WIN_DIRECTORY_QUERY, &attributes);
    if (status < 0) {
        sipc_os_record_error((int)status);
        return SIPC_ERR_SYSTEM;
    }

    /* Collect first: a visitor may open the channel, which changes the directory under us. */
    size_t capacity = 16, count = 0;
    char(*keys)[SIPC_OS_KEY_MAX + 1] = malloc(capacity * sizeof *keys);
    union {
        win_directory_entry entry;
        BYTE bytes[4096];
    } buffer;
    ULONG context = 0;
    int result = keys == NULL ? SIPC_ERR_NO_MEMORY : SIPC_OK;
    while (result == SIPC_OK) {
        ULONG returned = 0;
        status = nt->NtQueryDirectoryObject(directory, &buffer, sizeof buffer, TRUE, FALSE, &context, &returned);
        if (status == WIN_STATUS_NO_MORE_ENTRIES)
            break;
        if (status < 0) {
            sipc_os_record_error((int)status);
            result = SIPC_ERR_SYSTEM;
            break;
        }
        const win_unicode_string *name = &buffer.entry.Name;
        if (name->Buffer == NULL || (const BYTE *)name->Buffer < buffer.bytes ||
            (const BYTE *)name->Buffer + name->Length > buffer.bytes + sizeof buffer)
            continue;
        char key[SIPC_OS_KEY_MAX + 1];
        if (!key_of_control_name(name->Buffer, name->Length / sizeof(wchar_t), key))
            continue;
        int seen = 0;
        for (size_t i = 0; i < count && !seen; i++)
            seen = strcmp(keys[i], key) == 0;
        if (seen)
            continue;
        if (count == capacity) {
            void *grown = realloc(keys, 2 * capacity * sizeof *keys);
            if (grown == NULL) {
                result = SIPC_ERR_NO_MEMORY;
                break;
            }
            keys = grown;
            capacity *= 2;
        }
        memcpy(keys[count++], key, sizeof key);
    }
    CloseHandle(directory);
    for (size_t i = 0; i < count && result == SIPC_OK; i++) {
        /* Removed generations still listed in the directory are not channels any more. */
        sipc_os_segment *segment = NULL;
        /* Listing never waits: a key whose mutex is held right now is skipped. */
        if (win_open_in_namespace(keys[i], SIPC_OS_SEG_READONLY, 0600, 0, sipc_os_monotonic_ns(), &segment) != SIPC_OK)
            continue;
        win_close_segment_handles(segment);
        result = visit(keys[i], user);
    }
    free(keys);
    return result;
}

/* ---- key monitor: the object namespace has no change notice; callers compare listings ---- */

struct sipc_os_key_monitor {
    HANDLE interrupted; /* manual-reset event */
};

int sipc_os_key_monitor_open(sipc_os_key_monitor **out)
{
    *out = NULL;
    sipc_os_key_monitor *m = calloc(1, sizeof *m);
    if (m == NULL)
        return SIPC_ERR_NO_MEMORY;
    m->interrupted = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (m->interrupted == NULL) {
        int rc = win_fail_last_error();
        free(m);
        return rc;
    }
    *out = m;
    return SIPC_OK;
}

int sipc_os_key_monitor_wait(sipc_os_key_monitor *m, int32_t timeout_ms)
{
    DWORD rc = WaitForSingleObject(m->interrupted, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
    if (rc == WAIT_OBJECT_0)
        return SIPC_ERR_CANCELLED;
    if (rc == WAIT_TIMEOUT)
        return SIPC_ERR_TIMEOUT;
    return win_fail_last_error();
}

void sipc_os_key_monitor_interrupt(sipc_os_key_monitor *m)
{
    SetEvent(m->interrupted);
}

void sipc_os_key_monitor_close(sipc_os_key_monitor *m)
{
    if (m == NULL)
        return;
    CloseHandle(m->interrupted);
    free(m);
}

#endif /* _WIN32 */
