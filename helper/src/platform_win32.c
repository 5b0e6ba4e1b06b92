/*
 * platform_win32.c — Windows implementation of platform.h.
 *
 * Windows named objects cannot be unlinked or resized, and they vanish by themselves when the
 * last handle closes. To keep the POSIX semantics the core expects (exclusive create with size 0,
 * resize, unlink while others still hold the object, "is this still the current object?"), a key
 * is a small family of named kernel objects (see PROTOCOL.md, "Windows"):
 *
 *   <ns>\<key>~lock                 mutex: the segment lock, also serialises open/unlink of the key
 *   <ns>\<key>~<g>~ctl              control section (one page) of generation g: exists from the
 *                                   exclusive create on; holds the data size, a "removed" flag,
 *                                   the instance id and per-word waiter counts
 *   <ns>\<key>~<g>~<serial>~data    the data section the core maps; a resize makes serial+1
 *   <ns>\<key>~<instance>~s<i>      semaphore of wait word i (instance: 64 random bits per
 *                                   generation, so objects of a crashed run are never reused)
 *
 * <ns> is "Local" (the caller's session) or "Global" (SIPC_OS_SEG_GLOBAL). Unlinking sets the
 * control's "removed" flag; the next create picks the next free generation. Every object gets an
 * owner-only DACL (plus Authenticated Users when the mode grants group/other bits).
 *
 * Waiting: a waiter counts itself in the control block, re-checks the word, then sleeps on the
 * word's semaphore. A waker takes the count and releases that many tokens; a token left over by a
 * timed-out waiter only causes a spurious wake-up, which the interface allows.
 *
 * Peer death: the process watcher registers a thread-pool wait on the peer's process handle, so
 * the core learns of the death the moment the process ends.
 */
#if defined(_WIN32)

#include "platform.h"

#include <bcrypt.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define WIN_CONTROL_MAGIC 0x314c544343504953ull /* "SIPCCTL1" */
#define WIN_CONTROL_VERSION 1u
#define WIN_CONTROL_SIZE 4096u
#define WIN_GENERATIONS 16u
#define WIN_NAME_MAX 128
#define WIN_WAKE_MAX 65536L
/* A wait word may still be slept on without a writable control block (read-only observers of a
 * segment whose control denies writing): they poll in slices of this length. */
#define WIN_POLL_SLICE_MS 20u

typedef struct win_control {
    uint64_t magic;          /* WIN_CONTROL_MAGIC, written last */
    uint32_t version;        /* WIN_CONTROL_VERSION */
    uint32_t removed;        /* 1 once sipc_os_segment_unlink ran */
    uint64_t instance;       /* random; names the semaphores */
    uint64_t data_size;      /* exact size of the current data section, 0 before the first resize */
    uint32_t data_serial;    /* names the current data section; +1 at each resize */
    uint32_t mode;           /* permission bits asked for at creation */
    volatile LONG waiters[SIPC_WAIT_WORDS];
} win_control;

_Static_assert(sizeof(win_control) <= WIN_CONTROL_SIZE, "control block fits its page");

struct sipc_os_segment {
    wchar_t base_name[WIN_NAME_MAX]; /* "<ns>\<key>" */
    unsigned generation;
    int readonly;
    int inherit;
    HANDLE lock;
    HANDLE control_section;
    win_control *control;
    int control_writable;
    uint64_t instance;              /* copied from the control at open */
    HANDLE semaphore[SIPC_WAIT_WORDS];
    SRWLOCK state_lock;             /* guards the fields below */
    HANDLE data_section;
    uint32_t data_serial;
    uint64_t data_size;
};

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

static int fail_last_error(void)
{
    int err = (int)GetLastError();
    sipc_os_record_error(err);
    return sipc_os_status_from_error(err);
}

/* ---- clocks ---- */

uint64_t sipc_os_monotonic_ns(void)
{
    LARGE_INTEGER frequency, now; /* the frequency is a cheap read of a boot-time constant */
    QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&now);
    uint64_t f = (uint64_t)frequency.QuadPart;
    uint64_t t = (uint64_t)now.QuadPart;
    return (t / f) * 1000000000u + (t % f) * 1000000000u / f;
}

uint64_t sipc_os_wall_ns(void)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    uint64_t ticks = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime; /* 100 ns since 1601 */
    const uint64_t unix_epoch = 116444736000000000ull;
    return ticks < unix_epoch ? 0 : (ticks - unix_epoch) * 100u;
}

void sipc_os_sleep_us(uint32_t microseconds)
{
    Sleep((microseconds + 999u) / 1000u);
}

void sipc_os_cpu_relax(void)
{
    YieldProcessor();
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
        return fail_last_error();
    return SIPC_OK;
}

/* Opens the process if it is the one identified (same pid and creation time) and still running. */
static HANDLE open_identified_process(const sipc_os_process *process, int *exists_unexaminable)
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

int sipc_os_process_alive(const sipc_os_process *process)
{
    int unexaminable = 0;
    HANDLE handle = open_identified_process(process, &unexaminable);
    if (handle == NULL)
        return unexaminable;
    CloseHandle(handle);
    return 1;
}

/* Windows has no fork(): a handle is never used in a copy of its process. */
uint32_t sipc_os_fork_generation(void)
{
    return 0;
}

uint32_t sipc_os_current_uid(void)
{
    return 0;
}

/* ---- mutex ---- */

int sipc_os_mutex_init(sipc_os_mutex *mutex)
{
    InitializeSRWLock(mutex);
    return SIPC_OK;
}

void sipc_os_mutex_lock(sipc_os_mutex *mutex)
{
    AcquireSRWLockExclusive(mutex);
}

void sipc_os_mutex_unlock(sipc_os_mutex *mutex)
{
    ReleaseSRWLockExclusive(mutex);
}

void sipc_os_mutex_destroy(sipc_os_mutex *mutex)
{
    (void)mutex; /* SRW locks need no cleanup */
}

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

static int security_attributes(uint32_t mode, int inherit, SECURITY_ATTRIBUTES *attributes)
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

/* ---- names ---- */

static int make_base_name(const char *key, int global, wchar_t *out, size_t capacity)
{
    size_t length = strlen(key);
    if (length == 0 || length > SIPC_OS_KEY_MAX)
        return SIPC_ERR_INVALID_NAME;
    for (size_t i = 0; i < length; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return SIPC_ERR_INVALID_NAME;
    }
    int n = swprintf(out, capacity, L"%ls\\%hs", global ? L"Global" : L"Local", key);
    return n > 0 ? SIPC_OK : SIPC_ERR_INVALID_NAME;
}

static void control_name(const sipc_os_segment *segment, unsigned generation, wchar_t *out)
{
    swprintf(out, WIN_NAME_MAX, L"%ls~%u~ctl", segment->base_name, generation);
}

static void data_name(const sipc_os_segment *segment, uint32_t serial, wchar_t *out)
{
    swprintf(out, WIN_NAME_MAX, L"%ls~%u~%lu~data", segment->base_name, segment->generation,
             (unsigned long)serial);
}

static void semaphore_name(const sipc_os_segment *segment, unsigned index, wchar_t *out)
{
    swprintf(out, WIN_NAME_MAX, L"%ls~%016llx~s%u", segment->base_name,
             (unsigned long long)segment->instance, index);
}

static uint64_t random_instance(void)
{
    uint64_t value = 0;
    if (BCryptGenRandom(NULL, (PUCHAR)&value, sizeof value, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0 || value == 0) {
        LARGE_INTEGER now;
        QueryPerformanceCounter(&now);
        value = ((uint64_t)now.QuadPart * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)GetCurrentProcessId() << 32) ^ 1u;
    }
    return value;
}

/* ---- control sections ---- */

static void close_control(sipc_os_segment *segment)
{
    if (segment->control != NULL)
        UnmapViewOfFile(segment->control);
    if (segment->control_section != NULL)
        CloseHandle(segment->control_section);
    segment->control = NULL;
    segment->control_section = NULL;
}

/* Maps an opened control section, read-write when allowed. SIPC_ERR_CORRUPT if it is not a valid
 * control block (too small, wrong magic or version). */
static int map_control(sipc_os_segment *segment)
{
    segment->control_writable = 1;
    void *view = MapViewOfFile(segment->control_section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    if (view == NULL) {
        segment->control_writable = 0;
        view = MapViewOfFile(segment->control_section, FILE_MAP_READ, 0, 0, 0);
    }
    if (view == NULL)
        return fail_last_error();
    MEMORY_BASIC_INFORMATION region;
    if (VirtualQuery(view, &region, sizeof region) == 0 || region.RegionSize < sizeof(win_control)) {
        UnmapViewOfFile(view);
        return SIPC_ERR_CORRUPT;
    }
    segment->control = view;
    const win_control *control = segment->control;
    if (__atomic_load_n(&control->magic, __ATOMIC_ACQUIRE) != WIN_CONTROL_MAGIC ||
        control->version != WIN_CONTROL_VERSION)
        return SIPC_ERR_CORRUPT;
    return SIPC_OK;
}

static int control_removed(const sipc_os_segment *segment)
{
    return __atomic_load_n(&segment->control->removed, __ATOMIC_ACQUIRE) != 0;
}

/* Opens generation g's control if it exists: SIPC_OK, SIPC_ERR_NOT_FOUND, or an error. */
static int open_control(sipc_os_segment *segment, unsigned generation)
{
    wchar_t name[WIN_NAME_MAX];
    control_name(segment, generation, name);
    DWORD access = FILE_MAP_READ | FILE_MAP_WRITE;
    HANDLE section = OpenFileMappingW(access, segment->inherit, name);
    if (section == NULL && GetLastError() == ERROR_ACCESS_DENIED)
        section = OpenFileMappingW(FILE_MAP_READ, segment->inherit, name);
    if (section == NULL) {
        DWORD err = GetLastError();
        if (err == ERROR_FILE_NOT_FOUND)
            return SIPC_ERR_NOT_FOUND;
        sipc_os_record_error((int)err);
        return sipc_os_status_from_error((int)err);
    }
    segment->control_section = section;
    segment->generation = generation;
    int rc = map_control(segment);
    if (rc != SIPC_OK)
        close_control(segment);
    return rc;
}

/* Creates generation g's control. SIPC_OS_EXISTS if another creator got there first. */
static int create_control(sipc_os_segment *segment, unsigned generation, uint32_t mode)
{
    SECURITY_ATTRIBUTES attributes;
    int rc = security_attributes(mode, segment->inherit, &attributes);
    if (rc != SIPC_OK)
        return rc;
    wchar_t name[WIN_NAME_MAX];
    control_name(segment, generation, name);
    HANDLE section = CreateFileMappingW(INVALID_HANDLE_VALUE, &attributes, PAGE_READWRITE, 0, WIN_CONTROL_SIZE, name);
    if (section == NULL)
        return fail_last_error();
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
        CloseHandle(section);
        return SIPC_OS_EXISTS;
    }
    win_control *control = MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    if (control == NULL) {
        rc = fail_last_error();
        CloseHandle(section);
        return rc;
    }
    control->version = WIN_CONTROL_VERSION;
    control->instance = random_instance();
    control->mode = mode & 0777u;
    __atomic_store_n(&control->magic, WIN_CONTROL_MAGIC, __ATOMIC_RELEASE);
    segment->control_section = section;
    segment->control = control;
    segment->control_writable = 1;
    segment->generation = generation;
    return SIPC_OK;
}

/* Finds the live (not removed) generation of the key. With `create`, makes one in the first
 * generation that does not exist when none is live. Called with the key lock held. */
static int find_generation(sipc_os_segment *segment, int create, uint32_t mode)
{
    int free_generation = -1;
    for (unsigned g = 0; g < WIN_GENERATIONS; g++) {
        int rc = open_control(segment, g);
        if (rc == SIPC_ERR_NOT_FOUND) {
            if (free_generation < 0)
                free_generation = (int)g;
            continue;
        }
        if (rc == SIPC_ERR_CORRUPT)
            continue; /* someone else's object squatting the name: skip it */
        if (rc != SIPC_OK)
            return rc;
        if (!control_removed(segment))
            return create ? SIPC_OS_EXISTS : SIPC_OK;
        close_control(segment);
    }
    if (!create)
        return SIPC_ERR_NOT_FOUND;
    if (free_generation < 0) {
        /* Every generation is still held by processes that opened a removed channel. */
        sipc_os_record_error(ERROR_ALREADY_EXISTS);
        return SIPC_ERR_SYSTEM;
    }
    return create_control(segment, (unsigned)free_generation, mode);
}

/* ---- segments ---- */

static int acquire(HANDLE mutex)
{
    DWORD r = WaitForSingleObject(mutex, INFINITE);
    if (r == WAIT_OBJECT_0 || r == WAIT_ABANDONED) /* abandoned: the holder died; we own it now */
        return SIPC_OK;
    return fail_last_error();
}

static void close_segment_handles(sipc_os_segment *segment)
{
    for (unsigned i = 0; i < SIPC_WAIT_WORDS; i++)
        if (segment->semaphore[i] != NULL)
            CloseHandle(segment->semaphore[i]);
    if (segment->data_section != NULL)
        CloseHandle(segment->data_section);
    close_control(segment);
    if (segment->lock != NULL)
        CloseHandle(segment->lock);
    free(segment);
}

static int open_semaphores(sipc_os_segment *segment, uint32_t mode)
{
    SECURITY_ATTRIBUTES attributes;
    int rc = security_attributes(mode, segment->inherit, &attributes);
    if (rc != SIPC_OK)
        return rc;
    for (unsigned i = 0; i < SIPC_WAIT_WORDS; i++) {
        wchar_t name[WIN_NAME_MAX];
        semaphore_name(segment, i, name);
        segment->semaphore[i] = CreateSemaphoreW(&attributes, 0, LONG_MAX, name);
        if (segment->semaphore[i] == NULL && GetLastError() == ERROR_ACCESS_DENIED)
            segment->semaphore[i] = OpenSemaphoreW(SYNCHRONIZE, segment->inherit, name);
        if (segment->semaphore[i] == NULL)
            return fail_last_error();
    }
    return SIPC_OK;
}

static int open_in_namespace(const char *key, uint32_t flags, uint32_t mode, int global, sipc_os_segment **out)
{
    sipc_os_segment *segment = calloc(1, sizeof *segment);
    if (segment == NULL) {
        sipc_os_record_error(ERROR_NOT_ENOUGH_MEMORY);
        return SIPC_ERR_NO_MEMORY;
    }
    InitializeSRWLock(&segment->state_lock);
    segment->readonly = (flags & SIPC_OS_SEG_READONLY) != 0;
    segment->inherit = (flags & SIPC_OS_SEG_INHERIT) != 0;
    int create = (flags & SIPC_OS_SEG_CREATE) != 0;
    int rc = make_base_name(key, global, segment->base_name, WIN_NAME_MAX);
    if (rc != SIPC_OK) {
        free(segment);
        return rc;
    }

    wchar_t lock_name[WIN_NAME_MAX];
    swprintf(lock_name, WIN_NAME_MAX, L"%ls~lock", segment->base_name);
    if (create) {
        SECURITY_ATTRIBUTES attributes;
        rc = security_attributes(mode, segment->inherit, &attributes);
        if (rc == SIPC_OK) {
            segment->lock = CreateMutexW(&attributes, FALSE, lock_name);
            if (segment->lock == NULL)
                rc = fail_last_error(); /* Global\ without SeCreateGlobalPrivilege: PERMISSION */
        }
    } else {
        segment->lock = OpenMutexW(SYNCHRONIZE | MUTEX_MODIFY_STATE, segment->inherit, lock_name);
        if (segment->lock == NULL)
            rc = GetLastError() == ERROR_FILE_NOT_FOUND ? SIPC_ERR_NOT_FOUND : fail_last_error();
    }
    if (rc != SIPC_OK) {
        close_segment_handles(segment);
        return rc;
    }

    rc = acquire(segment->lock);
    if (rc != SIPC_OK) {
        close_segment_handles(segment);
        return rc;
    }
    rc = find_generation(segment, create, mode);
    if (rc == SIPC_OK) {
        segment->instance = segment->control->instance;
        segment->data_serial = UINT32_MAX; /* no data section opened yet */
        rc = open_semaphores(segment, segment->control->mode);
    }
    ReleaseMutex(segment->lock);
    if (rc != SIPC_OK) {
        close_segment_handles(segment);
        return rc;
    }
    *out = segment;
    return SIPC_OK;
}

int sipc_os_segment_open(const char *key, uint32_t flags, uint32_t mode, sipc_os_segment **out)
{
    *out = NULL;
    if (flags & SIPC_OS_SEG_GLOBAL)
        return open_in_namespace(key, flags, mode, 1, out);
    int rc = open_in_namespace(key, flags, mode, 0, out);
    /* By name without creating (stat, observe, remove, a client): a session's Local\ channel wins,
     * else a Global\ one of that name. */
    if (rc == SIPC_ERR_NOT_FOUND && !(flags & SIPC_OS_SEG_CREATE))
        rc = open_in_namespace(key, flags, mode, 1, out);
    return rc;
}

void sipc_os_segment_close(sipc_os_segment *segment)
{
    if (segment != NULL)
        close_segment_handles(segment);
}

int sipc_os_segment_lock(sipc_os_segment *segment)
{
    return acquire(segment->lock);
}

void sipc_os_segment_unlock(sipc_os_segment *segment)
{
    ReleaseMutex(segment->lock);
}

int sipc_os_segment_is_current(sipc_os_segment *segment)
{
    return control_removed(segment) ? 0 : 1;
}

/* Follows the control to the current data section. Caller holds state_lock exclusively. */
static int sync_data_section(sipc_os_segment *segment)
{
    const win_control *control = segment->control;
    uint32_t serial = __atomic_load_n(&control->data_serial, __ATOMIC_ACQUIRE);
    uint64_t size = __atomic_load_n(&control->data_size, __ATOMIC_ACQUIRE);
    if (serial == segment->data_serial && segment->data_section != NULL)
        return SIPC_OK;
    if (segment->data_section != NULL) {
        CloseHandle(segment->data_section);
        segment->data_section = NULL;
    }
    segment->data_serial = serial;
    segment->data_size = 0;
    if (size == 0)
        return SIPC_OK; /* created, not sized yet */
    wchar_t name[WIN_NAME_MAX];
    data_name(segment, serial, name);
    DWORD access = segment->readonly ? FILE_MAP_READ : FILE_MAP_READ | FILE_MAP_WRITE;
    HANDLE section = OpenFileMappingW(access, segment->inherit, name);
    if (section == NULL) {
        /* The creator died between sizing and publishing, or the control lies. */
        if (GetLastError() == ERROR_FILE_NOT_FOUND)
            return SIPC_OK;
        return fail_last_error();
    }
    /* The control is untrusted: the section must really be as large as it claims. */
    void *whole = MapViewOfFile(section, FILE_MAP_READ, 0, 0, 0);
    MEMORY_BASIC_INFORMATION region;
    int large_enough = whole != NULL && VirtualQuery(whole, &region, sizeof region) != 0 && region.RegionSize >= size;
    if (whole != NULL)
        UnmapViewOfFile(whole);
    if (!large_enough) {
        CloseHandle(section);
        return SIPC_ERR_CORRUPT;
    }
    segment->data_section = section;
    segment->data_size = size;
    return SIPC_OK;
}

int sipc_os_segment_size(sipc_os_segment *segment, uint64_t *size)
{
    AcquireSRWLockExclusive(&segment->state_lock);
    int rc = sync_data_section(segment);
    *size = segment->data_size;
    ReleaseSRWLockExclusive(&segment->state_lock);
    return rc;
}

int sipc_os_segment_resize(sipc_os_segment *segment, uint64_t size)
{
    if (size == 0 || size > (uint64_t)INT64_MAX || segment->readonly || !segment->control_writable)
        return SIPC_ERR_INVALID_ARGUMENT;
    SECURITY_ATTRIBUTES attributes;
    int rc = security_attributes(segment->control->mode, segment->inherit, &attributes);
    if (rc != SIPC_OK)
        return rc;
    AcquireSRWLockExclusive(&segment->state_lock);
    win_control *control = segment->control;
    uint32_t serial = __atomic_load_n(&control->data_serial, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&control->data_size, __ATOMIC_ACQUIRE) != 0)
        serial++; /* sections cannot grow: a new one replaces the old */
    wchar_t name[WIN_NAME_MAX];
    data_name(segment, serial, name);
    HANDLE section = CreateFileMappingW(INVALID_HANDLE_VALUE, &attributes, PAGE_READWRITE, (DWORD)(size >> 32),
                                        (DWORD)size, name);
    if (section == NULL) {
        rc = fail_last_error();
    } else if (GetLastError() == ERROR_ALREADY_EXISTS) {
        /* Left by a process that died holding the segment lock mid-resize, or squatted: never share it. */
        CloseHandle(section);
        sipc_os_record_error(ERROR_ALREADY_EXISTS);
        rc = SIPC_ERR_BUSY;
    } else {
        if (segment->data_section != NULL)
            CloseHandle(segment->data_section);
        segment->data_section = section;
        segment->data_serial = serial;
        segment->data_size = size;
        __atomic_store_n(&control->data_serial, serial, __ATOMIC_RELEASE);
        __atomic_store_n(&control->data_size, size, __ATOMIC_RELEASE);
    }
    ReleaseSRWLockExclusive(&segment->state_lock);
    return rc;
}

int sipc_os_segment_owner(sipc_os_segment *segment, uint32_t *mode, uint32_t *uid)
{
    *mode = __atomic_load_n(&segment->control->mode, __ATOMIC_RELAXED) & 0777u;
    *uid = 0;
    return SIPC_OK;
}

int sipc_os_segment_map(sipc_os_segment *segment, uint64_t size, void **base)
{
    *base = NULL;
    if (size == 0 || size > (uint64_t)SIZE_MAX)
        return SIPC_ERR_INVALID_ARGUMENT;
    AcquireSRWLockExclusive(&segment->state_lock);
    int rc = sync_data_section(segment);
    if (rc == SIPC_OK && (segment->data_section == NULL || size > segment->data_size))
        rc = SIPC_ERR_INVALID_ARGUMENT;
    if (rc == SIPC_OK) {
        DWORD access = segment->readonly ? FILE_MAP_READ : FILE_MAP_READ | FILE_MAP_WRITE;
        void *view = MapViewOfFile(segment->data_section, access, 0, 0, (SIZE_T)size);
        if (view == NULL)
            rc = fail_last_error();
        else
            *base = view;
    }
    ReleaseSRWLockExclusive(&segment->state_lock);
    return rc;
}

void sipc_os_segment_unmap(sipc_os_segment *segment, void *base, uint64_t size)
{
    (void)segment;
    (void)size;
    if (base != NULL)
        UnmapViewOfFile(base);
}

static int unlink_in_namespace(const char *key, int global)
{
    sipc_os_segment *segment = NULL;
    int rc = open_in_namespace(key, 0, 0600, global, &segment);
    if (rc != SIPC_OK)
        return rc;
    if (!segment->control_writable) {
        close_segment_handles(segment);
        sipc_os_record_error(ERROR_ACCESS_DENIED);
        return SIPC_ERR_PERMISSION;
    }
    rc = acquire(segment->lock);
    if (rc == SIPC_OK) {
        __atomic_store_n(&segment->control->removed, 1u, __ATOMIC_RELEASE);
        ReleaseMutex(segment->lock);
    }
    close_segment_handles(segment);
    return rc;
}

int sipc_os_segment_unlink(const char *key)
{
    int rc = unlink_in_namespace(key, 0);
    if (rc == SIPC_ERR_NOT_FOUND)
        rc = unlink_in_namespace(key, 1);
    return rc;
}

/* ---- listing: the object directory of the session's named objects ---- */

typedef LONG(NTAPI *nt_open_directory_fn)(HANDLE *, ACCESS_MASK, void *);
typedef LONG(NTAPI *nt_query_directory_fn)(HANDLE, void *, ULONG, BOOLEAN, BOOLEAN, ULONG *, ULONG *);

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

#define WIN_DIRECTORY_QUERY 0x0001u
#define WIN_STATUS_MORE_ENTRIES 0x00000105L
#define WIN_STATUS_NO_MORE_ENTRIES ((LONG)0x8000001AL)

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
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    if (ntdll == NULL)
        return fail_last_error();
    nt_open_directory_fn open_directory = (nt_open_directory_fn)(void (*)(void))GetProcAddress(ntdll, "NtOpenDirectoryObject");
    nt_query_directory_fn query_directory =
        (nt_query_directory_fn)(void (*)(void))GetProcAddress(ntdll, "NtQueryDirectoryObject");
    if (open_directory == NULL || query_directory == NULL)
        return fail_last_error();

    DWORD session = 0;
    ProcessIdToSessionId(GetCurrentProcessId(), &session);
    wchar_t path[64];
    if (session == 0)
        swprintf(path, 64, L"\\BaseNamedObjects");
    else
        swprintf(path, 64, L"\\Sessions\\%lu\\BaseNamedObjects", (unsigned long)session);
    win_unicode_string path_string = {(USHORT)(wcslen(path) * sizeof(wchar_t)),
                                      (USHORT)(wcslen(path) * sizeof(wchar_t)), path};
    win_object_attributes attributes = {sizeof attributes, NULL, &path_string, 0x40 /* OBJ_CASE_INSENSITIVE */,
                                        NULL, NULL};
    HANDLE directory = NULL;
    LONG status = open_directory(&directory, WIN_DIRECTORY_QUERY, &attributes);
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
        status = query_directory(directory, &buffer, sizeof buffer, TRUE, FALSE, &context, &returned);
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
        if (open_in_namespace(keys[i], SIPC_OS_SEG_READONLY, 0600, 0, &segment) != SIPC_OK)
            continue;
        close_segment_handles(segment);
        result = visit(keys[i], user);
    }
    free(keys);
    return result;
}

/* ---- waiting ---- */

static void remove_waiter(win_control *control, uint32_t index)
{
    volatile LONG *count = &control->waiters[index];
    LONG seen = *count;
    /* Only while positive: a waker may have taken our count already (its token then stays). */
    while (seen > 0) {
        LONG previous = InterlockedCompareExchange(count, seen - 1, seen);
        if (previous == seen)
            break;
        seen = previous;
    }
}

int sipc_os_wait(sipc_os_segment *segment, uint32_t index, uint32_t *word, uint32_t expected, int32_t timeout_ms)
{
    if (index >= SIPC_WAIT_WORDS)
        return SIPC_ERR_INVALID_ARGUMENT;
    win_control *control = segment->control;
    int counted = segment->control_writable;
    DWORD timeout = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
    if (!counted && (timeout == INFINITE || timeout > WIN_POLL_SLICE_MS))
        timeout = WIN_POLL_SLICE_MS; /* cannot count ourselves in: nobody would release a token */

    int rc = SIPC_OK;
    if (counted)
        InterlockedIncrement(&control->waiters[index]); /* full barrier: count, then look */
    if (__atomic_load_n(word, __ATOMIC_SEQ_CST) == expected) {
        DWORD r = WaitForSingleObject(segment->semaphore[index], timeout);
        if (r == WAIT_OBJECT_0)
            return SIPC_OK; /* a waker took our count with it */
        if (r == WAIT_TIMEOUT)
            /* A wait shortened to a poll slice reports a spurious wake-up, not the caller's timeout. */
            rc = timeout_ms >= 0 && timeout == (DWORD)timeout_ms ? SIPC_ERR_TIMEOUT : SIPC_OK;
        else
            rc = fail_last_error();
    }
    if (counted)
        remove_waiter(control, index);
    return rc;
}

void sipc_os_wake(sipc_os_segment *segment, uint32_t index, uint32_t *word)
{
    (void)word;
    if (index >= SIPC_WAIT_WORDS || !segment->control_writable)
        return;
    MemoryBarrier(); /* the word's new value is visible before we look at the count */
    LONG waiting = InterlockedExchange(&segment->control->waiters[index], 0);
    if (waiting <= 0)
        return; /* shared memory is untrusted: a negative count means nobody */
    if (waiting > WIN_WAKE_MAX)
        waiting = WIN_WAKE_MAX;
    ReleaseSemaphore(segment->semaphore[index], waiting, NULL);
}

/* ---- process watcher: a thread-pool wait on the watched process's handle ---- */

struct sipc_os_watcher {
    SRWLOCK lock;                 /* guards the fields below against concurrent watch/stop */
    HANDLE process;               /* the watched process, NULL if none */
    HANDLE wait;                  /* its registered wait, NULL if none */
    uint32_t token;
    sipc_os_death_callback callback;
    void *user;
};

static VOID CALLBACK on_watched_exit(PVOID context, BOOLEAN timed_out)
{
    (void)timed_out; /* INFINITE: only the process handle signals it */
    sipc_os_watcher *watcher = context;
    watcher->callback(watcher->user, watcher->token);
}

/* Unregisters the current wait, waiting for a running callback to finish. Caller holds the lock. */
static void watcher_clear(sipc_os_watcher *watcher)
{
    if (watcher->wait != NULL)
        UnregisterWaitEx(watcher->wait, INVALID_HANDLE_VALUE);
    if (watcher->process != NULL)
        CloseHandle(watcher->process);
    watcher->wait = NULL;
    watcher->process = NULL;
}

int sipc_os_watcher_start(sipc_os_death_callback callback, void *user, sipc_os_watcher **out)
{
    *out = NULL;
    sipc_os_watcher *watcher = calloc(1, sizeof *watcher);
    if (watcher == NULL) {
        sipc_os_record_error(ERROR_NOT_ENOUGH_MEMORY);
        return SIPC_ERR_NO_MEMORY;
    }
    InitializeSRWLock(&watcher->lock);
    watcher->callback = callback;
    watcher->user = user;
    *out = watcher;
    return SIPC_OK;
}

int sipc_os_watcher_watch(sipc_os_watcher *watcher, const sipc_os_process *process, uint32_t token)
{
    int unexaminable = 0;
    HANDLE handle = open_identified_process(process, &unexaminable);
    if (handle == NULL) {
        if (!unexaminable)
            return SIPC_ERR_NOT_FOUND;
        sipc_os_record_error(ERROR_ACCESS_DENIED);
        return SIPC_ERR_PERMISSION; /* alive but not ours to wait on: the caller polls instead */
    }
    AcquireSRWLockExclusive(&watcher->lock);
    watcher_clear(watcher);
    watcher->token = token;
    watcher->process = handle;
    int rc = SIPC_OK;
    if (!RegisterWaitForSingleObject(&watcher->wait, handle, on_watched_exit, watcher, INFINITE,
                                     WT_EXECUTEONLYONCE)) {
        rc = fail_last_error();
        watcher->wait = NULL;
        CloseHandle(handle);
        watcher->process = NULL;
    }
    ReleaseSRWLockExclusive(&watcher->lock);
    return rc;
}

void sipc_os_watcher_stop(sipc_os_watcher *watcher)
{
    if (watcher == NULL)
        return;
    AcquireSRWLockExclusive(&watcher->lock);
    watcher_clear(watcher);
    ReleaseSRWLockExclusive(&watcher->lock);
    free(watcher);
}

/* Only called in a forked child, which Windows never has; stopping is the safe equivalent. */
void sipc_os_watcher_abandon(sipc_os_watcher *watcher)
{
    sipc_os_watcher_stop(watcher);
}

#endif /* _WIN32 */
