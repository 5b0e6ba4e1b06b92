/* platform_win32_segment.c — a key's segment: its lock, the control section of the live generation, the data section and the wait semaphores. */
#if defined(_WIN32)

#include "deadline.h"
#include "platform_win32.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

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

/* Maps an opened control section, read-write when allowed (never for a read-only open). SIPC_ERR_CORRUPT if
 * it is not a valid control block (too small, wrong magic or version). */
static int map_control(sipc_os_segment *segment)
{
    void *view = NULL;
    if (!segment->readonly)
        view = MapViewOfFile(segment->control_section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    segment->control_writable = view != NULL;
    if (view == NULL)
        view = MapViewOfFile(segment->control_section, FILE_MAP_READ, 0, 0, 0);
    if (view == NULL)
        return win_fail_last_error();
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

/* Opens generation g's control if it exists: SIPC_OK, SIPC_ERR_NOT_FOUND, or an error. A read-only open asks
 * for no more than reading, which is all that users admitted by the mode's read bits get. */
static int open_control(sipc_os_segment *segment, unsigned generation)
{
    wchar_t name[WIN_NAME_MAX];
    win_control_name(segment, generation, name);
    HANDLE section = NULL;
    if (!segment->readonly)
        section = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, segment->inherit, name);
    if (segment->readonly || (section == NULL && GetLastError() == ERROR_ACCESS_DENIED))
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
    int rc = win_security_attributes(WIN_OBJECT_SECTION, mode, segment->inherit, &attributes);
    if (rc != SIPC_OK)
        return rc;
    wchar_t name[WIN_NAME_MAX];
    win_control_name(segment, generation, name);
    HANDLE section = CreateFileMappingW(INVALID_HANDLE_VALUE, &attributes, PAGE_READWRITE, 0, WIN_CONTROL_SIZE, name);
    if (section == NULL)
        return win_fail_last_error();
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
        CloseHandle(section);
        return SIPC_OS_EXISTS;
    }
    win_control *control = MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    if (control == NULL) {
        rc = win_fail_last_error();
        CloseHandle(section);
        return rc;
    }
    control->version = WIN_CONTROL_VERSION;
    control->instance = win_random_instance();
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

/* Waits for the key's mutex until `deadline` (monotonic ns). Holders keep it for microseconds; a
 * holder that never lets go costs the caller its timeout (SIPC_ERR_TIMEOUT, saying which object), not its
 * thread. Only read-write opens take it: a process it admits can write the segment anyway (its lock word). */
static int acquire(const sipc_os_segment *segment, uint64_t deadline)
{
    if (segment->lock == NULL) {
        sipc_os_record_error(ERROR_ACCESS_DENIED);
        return SIPC_ERR_PERMISSION; /* a read-only open never locks */
    }
    DWORD wait_ms = INFINITE;
    if (deadline != SIPC_OS_NO_DEADLINE)
        wait_ms = (DWORD)sipc_deadline_ms_left(deadline); /* 0..INT32_MAX: never INFINITE */
    DWORD r = WaitForSingleObject(segment->lock, wait_ms);
    if (r == WAIT_OBJECT_0 || r == WAIT_ABANDONED) /* abandoned: the holder died; we own it now */
        return SIPC_OK;
    if (r == WAIT_TIMEOUT) {
        sipc_record_error_detail("the channel's key mutex %ls~lock stayed held by another process until the timeout "
                                 "(a process that can write the channel holds it)",
                                 segment->base_name);
        return SIPC_ERR_TIMEOUT;
    }
    return win_fail_last_error();
}

void win_close_segment_handles(sipc_os_segment *segment)
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

/* A read-write open makes the semaphores that do not exist yet (under the key's mutex) or opens them to wait
 * and wake. A read-only open takes none: it never waits on a wait word (read-only observers poll) and must not
 * be able to take a token meant for a peer, and users admitted by read bits only get no right on them. */
static int open_semaphores(sipc_os_segment *segment, uint32_t mode)
{
    if (segment->readonly)
        return SIPC_OK;
    SECURITY_ATTRIBUTES attributes;
    int rc = win_security_attributes(WIN_OBJECT_SEMAPHORE, mode, segment->inherit, &attributes);
    if (rc != SIPC_OK)
        return rc;
    for (unsigned i = 0; i < SIPC_WAIT_WORDS; i++) {
        wchar_t name[WIN_NAME_MAX];
        win_semaphore_name(segment, i, name);
        /* CreateSemaphoreW would ask for all access to an existing one, which other users' peers do not get. */
        segment->semaphore[i] = CreateSemaphoreExW(&attributes, 0, LONG_MAX, name, 0, WIN_SEMAPHORE_PEER_RIGHTS);
        if (segment->semaphore[i] == NULL)
            return win_fail_last_error();
    }
    return SIPC_OK;
}

int win_open_in_namespace(const char *key, uint32_t flags, uint32_t mode, int global, uint64_t deadline,
                          sipc_os_segment **out)
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
    int rc = win_make_base_name(key, global, segment->base_name, WIN_NAME_MAX);
    if (rc != SIPC_OK) {
        free(segment);
        return rc;
    }

    /* Read-only opens (stat, list, observers that may only read) take no lock and open no semaphore: what they
     * find half made (a control without its magic, a data section not there yet) reads as not there, as on
     * Linux. They ask for the sections' read access only. */
    wchar_t lock_name[WIN_NAME_MAX];
    swprintf(lock_name, WIN_NAME_MAX, L"%ls~lock", segment->base_name);
    if (create) {
        SECURITY_ATTRIBUTES attributes;
        rc = win_security_attributes(WIN_OBJECT_LOCK, mode, segment->inherit, &attributes);
        if (rc == SIPC_OK) {
            /* CreateMutexW would ask for all access to an existing one, which other users' peers do not get. */
            segment->lock = CreateMutexExW(&attributes, lock_name, 0, WIN_LOCK_PEER_RIGHTS);
            if (segment->lock == NULL)
                rc = win_fail_last_error(); /* Global\ without SeCreateGlobalPrivilege: PERMISSION */
        }
    } else if (!segment->readonly) {
        segment->lock = OpenMutexW(WIN_LOCK_PEER_RIGHTS, segment->inherit, lock_name);
        if (segment->lock == NULL)
            rc = GetLastError() == ERROR_FILE_NOT_FOUND ? SIPC_ERR_NOT_FOUND : win_fail_last_error();
    }
    if (rc != SIPC_OK) {
        win_close_segment_handles(segment);
        return rc;
    }

    rc = segment->lock != NULL ? acquire(segment, deadline) : SIPC_OK;
    if (rc != SIPC_OK) {
        win_close_segment_handles(segment);
        return rc;
    }
    rc = find_generation(segment, create, mode);
    if (rc == SIPC_OK) {
        segment->instance = segment->control->instance;
        segment->data_serial = UINT32_MAX; /* no data section opened yet */
        rc = open_semaphores(segment, segment->control->mode);
    }
    if (segment->lock != NULL)
        ReleaseMutex(segment->lock);
    if (rc != SIPC_OK) {
        win_close_segment_handles(segment);
        return rc;
    }
    *out = segment;
    return SIPC_OK;
}

int sipc_os_segment_open(const char *key, uint32_t flags, uint32_t mode, uint64_t deadline, sipc_os_segment **out)
{
    *out = NULL;
    if (flags & SIPC_OS_SEG_GLOBAL)
        return win_open_in_namespace(key, flags, mode, 1, deadline, out);
    int rc = win_open_in_namespace(key, flags, mode, 0, deadline, out);
    /* By name without creating (stat, observe, remove, a client): a session's Local\ channel wins,
     * else a Global\ one of that name. */
    if (rc == SIPC_ERR_NOT_FOUND && !(flags & SIPC_OS_SEG_CREATE))
        rc = win_open_in_namespace(key, flags, mode, 1, deadline, out);
    return rc;
}

void sipc_os_segment_close(sipc_os_segment *segment)
{
    if (segment != NULL)
        win_close_segment_handles(segment);
}

int sipc_os_segment_lock(sipc_os_segment *segment, uint64_t deadline)
{
    return acquire(segment, deadline);
}

/* No exec() on Windows, so no tokens: a role is alive while its process is. */
int sipc_os_segment_hold_token(sipc_os_segment *segment, uint32_t index)
{
    (void)segment;
    (void)index;
    return 0;
}

int sipc_os_segment_token_held(sipc_os_segment *segment, uint32_t index)
{
    (void)segment;
    (void)index;
    return -1;
}

void sipc_os_segment_unlock(sipc_os_segment *segment)
{
    if (segment->lock != NULL)
        ReleaseMutex(segment->lock);
}

/* Another process's views are not to be told from outside without debugging rights: unknown. */
int sipc_os_segment_mapped_by(sipc_os_segment *segment, int64_t pid)
{
    (void)segment;
    (void)pid;
    return -1;
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
    win_data_name(segment, serial, name);
    DWORD access = segment->readonly ? FILE_MAP_READ : FILE_MAP_READ | FILE_MAP_WRITE;
    HANDLE section = OpenFileMappingW(access, segment->inherit, name);
    if (section == NULL) {
        /* The creator died between sizing and publishing, or the control lies. */
        if (GetLastError() == ERROR_FILE_NOT_FOUND)
            return SIPC_OK;
        return win_fail_last_error();
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

/* A pagefile-backed section is committed in full when it is created (CreateFileMapping fails with
 * ERROR_COMMITMENT_LIMIT, i.e. NO_MEMORY, when it cannot be): there is nothing left to reserve. */
int sipc_os_segment_reserve(sipc_os_segment *segment, uint64_t size)
{
    (void)segment;
    (void)size;
    return SIPC_OK;
}

int sipc_os_segment_resize(sipc_os_segment *segment, uint64_t size)
{
    if (size == 0 || size > (uint64_t)INT64_MAX || segment->readonly || !segment->control_writable)
        return SIPC_ERR_INVALID_ARGUMENT;
    SECURITY_ATTRIBUTES attributes;
    int rc = win_security_attributes(WIN_OBJECT_SECTION, segment->control->mode, segment->inherit, &attributes);
    if (rc != SIPC_OK)
        return rc;
    AcquireSRWLockExclusive(&segment->state_lock);
    win_control *control = segment->control;
    uint32_t serial = __atomic_load_n(&control->data_serial, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&control->data_size, __ATOMIC_ACQUIRE) != 0)
        serial++; /* sections cannot grow: a new one replaces the old */
    wchar_t name[WIN_NAME_MAX];
    win_data_name(segment, serial, name);
    HANDLE section =
        CreateFileMappingW(INVALID_HANDLE_VALUE, &attributes, PAGE_READWRITE, (DWORD)(size >> 32), (DWORD)size, name);
    if (section == NULL) {
        rc = win_fail_last_error();
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
            rc = win_fail_last_error();
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

/* The core unlinks while it holds the key's (recursive) mutex, so the wait is normally none; a stranger holding
 * it costs at most the caller's time (a forced remove of a squatted name holds no lock of its own). */
static int unlink_in_namespace(const char *key, int global, uint64_t deadline)
{
    sipc_os_segment *segment = NULL;
    int rc = win_open_in_namespace(key, 0, 0600, global, deadline, &segment);
    if (rc != SIPC_OK)
        return rc;
    if (!segment->control_writable) {
        win_close_segment_handles(segment);
        sipc_os_record_error(ERROR_ACCESS_DENIED);
        return SIPC_ERR_PERMISSION;
    }
    rc = acquire(segment, deadline);
    if (rc == SIPC_OK) {
        __atomic_store_n(&segment->control->removed, 1u, __ATOMIC_RELEASE);
        ReleaseMutex(segment->lock);
    }
    win_close_segment_handles(segment);
    return rc;
}

int sipc_os_segment_unlink(const char *key, uint64_t deadline)
{
    int rc = unlink_in_namespace(key, 0, deadline);
    if (rc == SIPC_ERR_NOT_FOUND)
        rc = unlink_in_namespace(key, 1, deadline);
    return rc;
}

#endif /* _WIN32 */
