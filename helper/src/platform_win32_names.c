/* platform_win32_names.c — the names of a key's kernel objects in the Local\ or Global\ namespace (see platform_win32.h). */
#if defined(_WIN32)

#include "platform_win32.h"

#include <bcrypt.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* ---- names ---- */

int win_make_base_name(const char *key, int global, wchar_t *out, size_t capacity)
{
    size_t length = strlen(key);
    if (length == 0 || length > SIPC_OS_KEY_MAX)
        return SIPC_ERR_INVALID_NAME;
    for (size_t i = 0; i < length; i++) {
        char c = key[i];
        /* A channel name's characters, and the mark of a hashed key (platform.h), which no name contains. */
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == SIPC_HASHED_KEY_MARK[0]))
            return SIPC_ERR_INVALID_NAME;
    }
    int n = swprintf(out, capacity, L"%ls\\%hs", global ? L"Global" : L"Local", key);
    return n > 0 ? SIPC_OK : SIPC_ERR_INVALID_NAME;
}

void win_control_name(const sipc_os_segment *segment, unsigned generation, wchar_t *out)
{
    swprintf(out, WIN_NAME_MAX, L"%ls~%u~ctl", segment->base_name, generation);
}

void win_data_name(const sipc_os_segment *segment, uint32_t serial, wchar_t *out)
{
    swprintf(out, WIN_NAME_MAX, L"%ls~%u~%lu~data", segment->base_name, segment->generation, (unsigned long)serial);
}

void win_semaphore_name(const sipc_os_segment *segment, unsigned index, wchar_t *out)
{
    swprintf(out, WIN_NAME_MAX, L"%ls~%016llx~s%u", segment->base_name, (unsigned long long)segment->instance, index);
}

uint64_t win_random_instance(void)
{
    uint64_t value = 0;
    if (BCryptGenRandom(NULL, (PUCHAR)&value, sizeof value, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0 || value == 0) {
        LARGE_INTEGER now;
        QueryPerformanceCounter(&now);
        value = ((uint64_t)now.QuadPart * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)GetCurrentProcessId() << 32) ^ 1u;
    }
    return value;
}

#endif /* _WIN32 */
