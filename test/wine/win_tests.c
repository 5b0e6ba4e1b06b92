/*
 * win_tests.c — the Windows-only tests of libsipc (run under wine by test/wine/run.sh): what the
 * Windows objects do differently (no stale segments after a crash, generations after a remove, the
 * object-directory listing, DACLs, the Global namespace, squatted objects, a stale channel kept by an
 * observer) and idle CPU. The scenarios common to both systems (racing openers among them) are the C
 * suite's (test/c), which run.sh runs too.
 *
 * Windows has no fork(): the second process is this executable started again with
 * "child <scenario> <channel> [arg]". Every child is waited for with a bound and killed past it, and every wait
 * is bounded (win_bounds.h): a test running longer than TEST_LIMIT_MS ends the run with a FAIL line naming the
 * step it stood at, instead of hanging until run.sh's timeout.
 * Prints one line per test and a final "N passed, N failed"; exits non-zero on any failure.
 */
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"          /* sipc_key_for_name */
#include "platform_win32.h"  /* the handles a read-only open holds */
#include "sipc.h"
#include "win_bounds.h"

#define CHILD_LIMIT_MS 20000u
/* The longest test waits at most about 140 s in all when every bounded step runs out (the named-pipe test).
 * -DTEST_LIMIT_MS=N shows the watchdog's FAIL line. */
#ifndef TEST_LIMIT_MS
#define TEST_LIMIT_MS 180000u
#endif

static int passed, failed;
static char self_path[MAX_PATH];
static const char *current_test = "";

#define CHECK(cond)                                                                                            \
    do {                                                                                                       \
        if (!(cond)) {                                                                                         \
            fprintf(stderr, "  %s: check failed at line %d: %s\n", current_test, __LINE__, #cond);            \
            return 0;                                                                                          \
        }                                                                                                      \
    } while (0)

#define CHECK_RC(expr, expected)                                                                               \
    do {                                                                                                       \
        int rc_ = (expr);                                                                                      \
        if (rc_ != (expected)) {                                                                               \
            fprintf(stderr, "  %s: line %d: %s returned %s (%d), expected %s (os error %d)\n", current_test,  \
                    __LINE__, #expr, sipc_status_name(rc_), rc_, sipc_status_name(expected),                  \
                    sipc_last_os_error());                                                                     \
            return 0;                                                                                          \
        }                                                                                                      \
    } while (0)

static uint64_t now_ms(void)
{
    return GetTickCount64();
}

static void channel_name(char *out, size_t size, const char *what)
{
    snprintf(out, size, "wt-%lu-%s", (unsigned long)GetCurrentProcessId(), what);
}

static HANDLE spawn_child(const char *scenario, const char *name, const char *arg)
{
    char command[1024];
    snprintf(command, sizeof command, "\"%s\" child %s %s %s", self_path, scenario, name, arg ? arg : "-");
    STARTUPINFOA startup;
    PROCESS_INFORMATION info;
    memset(&startup, 0, sizeof startup);
    startup.cb = sizeof startup;
    if (!CreateProcessA(self_path, command, NULL, NULL, FALSE, 0, NULL, NULL, &startup, &info)) {
        fprintf(stderr, "  CreateProcess failed: %lu\n", (unsigned long)GetLastError());
        return NULL;
    }
    CloseHandle(info.hThread);
    return info.hProcess;
}

/* Exit code of the child, or -1 if it had to be killed. */
static int join_child(HANDLE child)
{
    if (WaitForSingleObject(child, CHILD_LIMIT_MS) != WAIT_OBJECT_0) {
        end_process(child, 99, "a child past its time");
        CloseHandle(child);
        return -1;
    }
    DWORD code = 0;
    GetExitCodeProcess(child, &code);
    CloseHandle(child);
    return (int)code;
}

/* 1 if the child is gone. */
static int kill_child(HANDLE child)
{
    int gone = end_process(child, 9, "a killed child");
    CloseHandle(child);
    return gone;
}

/* ---- children ---- */

/* Creates the channel as server, then blocks until killed (a crashed server). */
static int child_server(const char *name, const char *arg)
{
    (void)arg;
    sipc_channel *ch = NULL;
    if (sipc_open(name, NULL, &ch) != SIPC_OK || sipc_get_role(ch) != SIPC_ROLE_SERVER)
        return 2;
    Sleep(INFINITE);
    return 0;
}

/* Becomes server and client of the channel in one process, queues a message towards the server,
 * then blocks until killed: a stale channel whose every attached process died. */
static int child_both_then_die(const char *name, const char *arg)
{
    (void)arg;
    sipc_channel *server = NULL, *client = NULL;
    if (sipc_open(name, NULL, &server) != SIPC_OK || sipc_open(name, NULL, &client) != SIPC_OK)
        return 2;
    if (sipc_send(client, "orphan", 6, 0) != SIPC_OK)
        return 3;
    Sleep(INFINITE);
    return 0;
}

static int run_child(int argc, char **argv)
{
    if (argc < 5)
        return 64;
    const char *scenario = argv[2];
    if (strcmp(scenario, "server") == 0)
        return child_server(argv[3], argv[4]);
    if (strcmp(scenario, "both") == 0)
        return child_both_then_die(argv[3], argv[4]);
    return 65;
}

/* ---- tests ---- */

/* A crashed server leaves nothing behind: the name opens fresh, as server. */
static int test_crashed_server(void)
{
    char name[64];
    channel_name(name, sizeof name, "crashed");
    HANDLE child = spawn_child("server", name, NULL);
    CHECK(child != NULL);
    sipc_channel_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    /* Until the child holds the server role (the segment exists a little earlier). */
    int attached = 0;
    for (int i = 0; i < 1000 && !attached; i++) {
        attached = sipc_stat(name, &info) == SIPC_OK && info.server_alive == 1;
        if (!attached)
            Sleep(10);
    }
    CHECK(attached);
    CHECK(kill_child(child));
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    CHECK(sipc_get_role(ch) == SIPC_ROLE_SERVER);
    CHECK_RC(sipc_close(ch), SIPC_OK);
    CHECK_RC(sipc_stat(name, &info), SIPC_ERR_NOT_FOUND);
    return 1;
}

/* A removed name can be created again at once, while the old channel's holder keeps its own. */
static int test_remove_and_recreate(void)
{
    char name[64];
    channel_name(name, sizeof name, "recreate");
    sipc_channel *old_server = NULL;
    CHECK_RC(sipc_open(name, NULL, &old_server), SIPC_OK);
    CHECK_RC(sipc_remove(name, 0), SIPC_ERR_BUSY);
    CHECK_RC(sipc_remove(name, 1), SIPC_OK);
    sipc_channel_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK_RC(sipc_stat(name, &info), SIPC_ERR_NOT_FOUND);
    sipc_channel *new_server = NULL;
    CHECK_RC(sipc_open(name, NULL, &new_server), SIPC_OK);
    CHECK(sipc_get_role(new_server) == SIPC_ROLE_SERVER);
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.server_alive == 1);
    CHECK_RC(sipc_close(old_server), SIPC_OK);
    CHECK_RC(sipc_stat(name, &info), SIPC_OK); /* closing the old one leaves the new one alone */
    CHECK_RC(sipc_close(new_server), SIPC_OK);
    CHECK_RC(sipc_stat(name, &info), SIPC_ERR_NOT_FOUND);
    return 1;
}

typedef struct list_search {
    const char *name;
    int found;
} list_search;

static int find_in_list(const char *name, void *user)
{
    list_search *search = user;
    if (strcmp(name, search->name) == 0)
        search->found++;
    return 0;
}

/* sipc_list enumerates the session's channels (the object directory), each once. */
static int test_list(void)
{
    char name[64];
    channel_name(name, sizeof name, "listed");
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    list_search search = {name, 0};
    CHECK_RC(sipc_list(find_in_list, &search), SIPC_OK);
    CHECK(search.found == 1);
    CHECK_RC(sipc_close(ch), SIPC_OK);
    search.found = 0;
    CHECK_RC(sipc_list(find_in_list, &search), SIPC_OK);
    CHECK(search.found == 0);
    return 1;
}

/* ---- security: what the mode's group/other bits give other users ---- */

typedef enum object_kind { KIND_SECTION, KIND_LOCK, KIND_SEMAPHORE } object_kind;

typedef struct channel_object {
    object_kind kind;
    char name[160];
} channel_object;

/* The live generation's objects of a Local\ channel: lock, control, data section, semaphores. */
typedef struct channel_objects {
    size_t count;
    channel_object object[3 + SIPC_WAIT_WORDS];
} channel_objects;

static HANDLE open_object(const channel_object *object, DWORD access)
{
    switch (object->kind) {
    case KIND_SECTION:
        return OpenFileMappingA(access, FALSE, object->name);
    case KIND_LOCK:
        return OpenMutexA(access, FALSE, object->name);
    case KIND_SEMAPHORE:
        return OpenSemaphoreA(access, FALSE, object->name);
    }
    return NULL;
}

static void add_object(channel_objects *objects, object_kind kind, const char *name)
{
    channel_object *object = &objects->object[objects->count++];
    object->kind = kind;
    snprintf(object->name, sizeof object->name, "%s", name);
}

/* Finds the objects from the control block of the generation not removed (PROTOCOL.md, "Windows"). */
static int find_channel_objects(const char *name, channel_objects *objects)
{
    objects->count = 0;
    char key[SIPC_OS_KEY_MAX + 1], object[160];
    sipc_key_for_name(name, key);
    snprintf(object, sizeof object, "Local\\%s~lock", key);
    add_object(objects, KIND_LOCK, object);
    for (unsigned g = 0; g < WIN_GENERATIONS; g++) {
        snprintf(object, sizeof object, "Local\\%s~%u~ctl", key, g);
        HANDLE section = OpenFileMappingA(FILE_MAP_READ, FALSE, object);
        if (section == NULL)
            continue;
        const win_control *control = MapViewOfFile(section, FILE_MAP_READ, 0, 0, sizeof *control);
        int live = control != NULL && control->magic == WIN_CONTROL_MAGIC && control->removed == 0;
        uint64_t instance = live ? control->instance : 0;
        uint32_t serial = live ? control->data_serial : 0;
        if (control != NULL)
            UnmapViewOfFile(control);
        CloseHandle(section);
        if (!live)
            continue;
        add_object(objects, KIND_SECTION, object);
        snprintf(object, sizeof object, "Local\\%s~%u~%lu~data", key, g, (unsigned long)serial);
        add_object(objects, KIND_SECTION, object);
        for (unsigned i = 0; i < SIPC_WAIT_WORDS; i++) {
            snprintf(object, sizeof object, "Local\\%s~%016llx~s%u", key, (unsigned long long)instance, i);
            add_object(objects, KIND_SEMAPHORE, object);
        }
        return 1;
    }
    fprintf(stderr, "  %s: no live control section for %s\n", current_test, name);
    return 0;
}

/* What the creating user gets: all of the object's rights. */
static DWORD owner_rights(object_kind kind)
{
    return kind == KIND_SECTION ? SECTION_ALL_ACCESS : kind == KIND_LOCK ? MUTEX_ALL_ACCESS : SEMAPHORE_ALL_ACCESS;
}

/* What Authenticated Users get (0: no ACE): a write bit admits a peer (map read-write; wait on and release the
 * mutex and the semaphores), read bits only a reader (map for reading; nothing on the mutex and the semaphores,
 * whose waits acquire the mutex or take a peer's wake-up). */
static DWORD others_rights(object_kind kind, uint32_t mode)
{
    if (mode & 022u)
        return kind == KIND_SECTION ? SECTION_MAP_READ | SECTION_MAP_WRITE | SECTION_QUERY
               : kind == KIND_LOCK  ? SYNCHRONIZE | MUTEX_MODIFY_STATE
                                    : SYNCHRONIZE | SEMAPHORE_MODIFY_STATE;
    if (mode & 044u)
        return kind == KIND_SECTION ? SECTION_MAP_READ | SECTION_QUERY : 0;
    return 0;
}

static int current_user_sid(BYTE sid[SECURITY_MAX_SID_SIZE])
{
    HANDLE token = NULL;
    union {
        TOKEN_USER user;
        BYTE bytes[256];
    } user;
    DWORD size = 0;
    int ok = OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token) &&
             GetTokenInformation(token, TokenUser, &user, sizeof user, &size) &&
             CopySid(SECURITY_MAX_SID_SIZE, sid, user.user.User.Sid);
    if (token != NULL)
        CloseHandle(token);
    return ok;
}

static int authenticated_users_sid(BYTE sid[SECURITY_MAX_SID_SIZE])
{
    DWORD size = SECURITY_MAX_SID_SIZE;
    return CreateWellKnownSid(WinAuthenticatedUserSid, NULL, sid, &size);
}

/* The object's DACL is protected and holds exactly: the user with all rights, then Authenticated Users with
 * others_rights (no second ACE when that is 0). */
static int check_object_dacl(const channel_object *object, uint32_t mode)
{
    BYTE user[SECURITY_MAX_SID_SIZE], users[SECURITY_MAX_SID_SIZE];
    CHECK(current_user_sid(user) && authenticated_users_sid(users));
    HANDLE handle = open_object(object, READ_CONTROL);
    if (handle == NULL) {
        fprintf(stderr, "  %s: cannot open %s for READ_CONTROL (%lu)\n", current_test, object->name, GetLastError());
        return 0;
    }
    PACL dacl = NULL;
    PSECURITY_DESCRIPTOR descriptor = NULL;
    DWORD err = GetSecurityInfo(handle, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL,
                                &descriptor);
    CloseHandle(handle);
    CHECK(err == ERROR_SUCCESS && dacl != NULL);
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD revision = 0;
    int ok = GetSecurityDescriptorControl(descriptor, &control, &revision) && (control & SE_DACL_PROTECTED);
    DWORD others = others_rights(object->kind, mode);
    const PSID sids[2] = {user, users};
    const DWORD masks[2] = {owner_rights(object->kind), others};
    DWORD expected_aces = others != 0 ? 2 : 1;
    if (!ok || dacl->AceCount != expected_aces) {
        fprintf(stderr, "  %s: mode %04o: %s: %u ACEs, expected %lu (protected: %d)\n", current_test, (unsigned)mode,
                object->name, (unsigned)dacl->AceCount, (unsigned long)expected_aces, ok);
        ok = 0;
    }
    for (DWORD i = 0; ok && i < expected_aces; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL;
        ok = GetAce(dacl, i, (void **)&ace) && ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE &&
             EqualSid(&ace->SidStart, sids[i]) && ace->Mask == masks[i];
        if (!ok)
            fprintf(stderr, "  %s: mode %04o: %s: ACE %lu is type %d mask 0x%lx, expected an allowed ACE for %s with 0x%lx\n",
                    current_test, (unsigned)mode, object->name, (unsigned long)i, ace ? ace->Header.AceType : -1,
                    ace ? (unsigned long)ace->Mask : 0ul, i == 0 ? "the user" : "Authenticated Users",
                    (unsigned long)masks[i]);
    }
    LocalFree(descriptor);
    return ok;
}

/* Every object of a channel carries exactly the DACL its kind and the mode call for. */
static int test_security_descriptors_per_mode(void)
{
    static const uint32_t modes[] = {0600, 0640, 0660, 0604};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        char name[64], what[32];
        snprintf(what, sizeof what, "acl-%04o", (unsigned)modes[m]);
        channel_name(name, sizeof name, what);
        sipc_options options;
        sipc_options_init(&options);
        options.mode = modes[m];
        sipc_channel *ch = NULL;
        CHECK_RC(sipc_open(name, &options, &ch), SIPC_OK);
        channel_objects objects;
        int ok = find_channel_objects(name, &objects);
        for (size_t i = 0; ok && i < objects.count; i++)
            ok = check_object_dacl(&objects.object[i], modes[m]);
        CHECK_RC(sipc_close(ch), SIPC_OK);
        CHECK(ok);
    }
    return 1;
}

/* The access a handle was opened with (NtQueryObject, ObjectBasicInformation). */
static int granted_access(HANDLE handle, DWORD *access)
{
    typedef LONG(NTAPI * query_object_fn)(HANDLE, int, void *, ULONG, ULONG *);
    query_object_fn query = (query_object_fn)(void (*)(void))GetProcAddress(GetModuleHandleA("ntdll.dll"),
                                                                            "NtQueryObject");
    struct {
        ULONG attributes;
        ACCESS_MASK granted_access;
        ULONG handle_count, pointer_count, reserved[10];
    } info;
    if (query == NULL || query(handle, 0 /* ObjectBasicInformation */, &info, sizeof info, NULL) < 0)
        return 0;
    *access = info.granted_access;
    return 1;
}

/* Makes this process another authenticated user as far as the channel's objects are concerned: each object keeps
 * only its Authenticated Users ACE (none if it had none). Handles already open keep their access. */
static int become_another_user(const channel_objects *objects)
{
    BYTE user[SECURITY_MAX_SID_SIZE];
    CHECK(current_user_sid(user));
    for (size_t i = 0; i < objects->count; i++) {
        const channel_object *object = &objects->object[i];
        HANDLE handle = open_object(object, READ_CONTROL | WRITE_DAC);
        CHECK(handle != NULL);
        PACL dacl = NULL;
        PSECURITY_DESCRIPTOR descriptor = NULL;
        CHECK(GetSecurityInfo(handle, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL,
                              &descriptor) == ERROR_SUCCESS);
        union {
            ACL acl;
            BYTE bytes[256];
        } others;
        CHECK(InitializeAcl(&others.acl, sizeof others, ACL_REVISION));
        for (DWORD a = 0; a < dacl->AceCount; a++) {
            ACCESS_ALLOWED_ACE *ace = NULL;
            CHECK(GetAce(dacl, a, (void **)&ace));
            if (!EqualSid(&ace->SidStart, user))
                CHECK(AddAce(&others.acl, ACL_REVISION, MAXDWORD, ace, ace->Header.AceSize));
        }
        DWORD err = SetSecurityInfo(handle, SE_KERNEL_OBJECT,
                                    DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, NULL, NULL,
                                    &others.acl, NULL);
        LocalFree(descriptor);
        CloseHandle(handle);
        CHECK(err == ERROR_SUCCESS);
    }
    return 1;
}

/* 1 if the system checks a DACL for SYNCHRONIZE. Wine (8.0) grants SYNCHRONIZE whatever the DACL says (seen:
 * an empty DACL still lets OpenMutex(SYNCHRONIZE) through, while MUTEX_MODIFY_STATE is refused). */
static int synchronize_is_checked(void)
{
    PSECURITY_DESCRIPTOR empty = NULL;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorA("D:P", SDDL_REVISION_1, &empty, NULL))
        return 1;
    SECURITY_ATTRIBUTES attributes = {sizeof attributes, empty, FALSE};
    char name[64];
    snprintf(name, sizeof name, "Local\\wt-%lu-sync-probe", (unsigned long)GetCurrentProcessId());
    HANDLE mutex = CreateMutexA(&attributes, FALSE, name);
    HANDLE opened = OpenMutexA(SYNCHRONIZE, FALSE, name);
    int checked = opened == NULL;
    if (opened != NULL)
        CloseHandle(opened);
    if (mutex != NULL)
        CloseHandle(mutex);
    LocalFree(empty);
    return checked;
}

/* Opening `object` with `access` is refused (ACCESS_DENIED). */
static int refused(const channel_object *object, DWORD access)
{
    HANDLE handle = open_object(object, access);
    if (handle == NULL && GetLastError() == ERROR_ACCESS_DENIED)
        return 1;
    fprintf(stderr, "  %s: %s opened with access 0x%lx (%lu)\n", current_test, object->name, (unsigned long)access,
            handle == NULL ? GetLastError() : 0ul);
    if (handle != NULL)
        CloseHandle(handle);
    return 0;
}

/* A user the mode admits to read only (0640: group read) watches the channel with stat, list and an observer,
 * with exactly the rights such users get, and has no way to hold up or disturb the peers: no write access to the
 * sections (the lock word), none to the key mutex (waiting on it acquires it), none to the semaphores (a wait
 * takes a peer's wake-up). The read-only paths ask for no more than that even when more would be granted. */
static int test_read_only_users_cannot_block(void)
{
    char name[64], key[SIPC_OS_KEY_MAX + 1];
    channel_name(name, sizeof name, "readers");
    sipc_key_for_name(name, key);
    sipc_options options;
    sipc_options_init(&options);
    options.mode = 0640;
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, &options, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, &options, &client), SIPC_OK);
    CHECK_RC(sipc_send(client, "one", 3, 1000), SIPC_OK);

    /* Same user (full rights): a read-only open still takes no mutex, no semaphore, and reads the sections only. */
    sipc_os_segment *segment = NULL;
    CHECK_RC(sipc_os_segment_open(key, SIPC_OS_SEG_READONLY, 0, SIPC_OS_NO_DEADLINE, &segment), SIPC_OK);
    uint64_t size = 0;
    int rc = sipc_os_segment_size(segment, &size);
    DWORD control_access = 0, data_access = 0;
    int handles_ok = segment->lock == NULL && granted_access(segment->control_section, &control_access) &&
                     segment->data_section != NULL && granted_access(segment->data_section, &data_access);
    for (unsigned i = 0; i < SIPC_WAIT_WORDS; i++)
        handles_ok = handles_ok && segment->semaphore[i] == NULL;
    sipc_os_segment_close(segment);
    CHECK_RC(rc, SIPC_OK);
    if (!handles_ok || control_access != SECTION_MAP_READ || data_access != SECTION_MAP_READ)
        fprintf(stderr, "  %s: a read-only open holds: control 0x%lx, data 0x%lx (expected 0x%lx)\n", current_test,
                (unsigned long)control_access, (unsigned long)data_access, (unsigned long)SECTION_MAP_READ);
    CHECK(handles_ok);
    CHECK(control_access == SECTION_MAP_READ && data_access == SECTION_MAP_READ);

    /* From here on this process has what another user gets from mode 0640. */
    channel_objects objects;
    CHECK(find_channel_objects(name, &objects));
    CHECK(become_another_user(&objects));

    sipc_channel_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_CONNECTED && info.to_server.queued == 1 && info.mode == 0640);
    list_search search = {name, 0};
    CHECK_RC(sipc_list(find_in_list, &search), SIPC_OK);
    CHECK(search.found == 1);
    sipc_observer *observer = NULL;
    CHECK_RC(sipc_observe(name, &observer), SIPC_OK);
    CHECK_RC(sipc_send(client, "two", 3, 1000), SIPC_OK);
    char buffer[8];
    sipc_observed_message message;
    memset(&message, 0, sizeof message);
    message.struct_size = sizeof message;
    CHECK_RC(sipc_observer_next(observer, buffer, sizeof buffer, &message, 10000), SIPC_OK);
    CHECK(message.copied == 3 && memcmp(buffer, "two", 3) == 0);
    CHECK_RC(sipc_observer_close(observer), SIPC_OK);
    sipc_observe_options lossless;
    sipc_observe_options_init(&lossless);
    lossless.flags = SIPC_OBSERVE_LOSSLESS;
    CHECK_RC(sipc_observe_ex(name, &lossless, &observer), SIPC_ERR_PERMISSION);

    /* Nothing that can hold the peers up or take their wake-ups. */
    sipc_channel *intruder = NULL;
    CHECK_RC(sipc_open(name, NULL, &intruder), SIPC_ERR_PERMISSION);
    CHECK_RC(sipc_remove(name, 0), SIPC_ERR_PERMISSION);
    CHECK_RC(sipc_remove(name, 1), SIPC_ERR_PERMISSION);
    int synchronize_checked = synchronize_is_checked();
    if (!synchronize_checked)
        printf("  this system grants SYNCHRONIZE whatever the DACL says (wine): the mutex's and semaphores' "
               "SYNCHRONIZE refusal is not checked here, their DACLs are (no ACE for other users)\n");
    for (size_t i = 0; i < objects.count; i++) {
        const channel_object *object = &objects.object[i];
        if (object->kind == KIND_SECTION) {
            CHECK(refused(object, FILE_MAP_WRITE));
            HANDLE section = open_object(object, FILE_MAP_READ);
            CHECK(section != NULL);
            CloseHandle(section);
        } else {
            CHECK(refused(object, object->kind == KIND_LOCK ? MUTEX_MODIFY_STATE : SEMAPHORE_MODIFY_STATE));
            if (synchronize_checked)
                CHECK(refused(object, SYNCHRONIZE));
        }
    }

    /* The peers never noticed. */
    CHECK_RC(sipc_send(server, "three", 5, 1000), SIPC_OK);
    size_t length = 0;
    CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 1000), SIPC_OK);
    CHECK(length == 5 && memcmp(buffer, "three", 5) == 0);
    for (int i = 0; i < 2; i++)
        CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 1000), SIPC_OK);
    CHECK(length == 3 && memcmp(buffer, "two", 3) == 0);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    return 1;
}

/* Opens `key` read-write (`flags`: 0, or SIPC_OS_SEG_CREATE for a new key) through the platform layer: 1 if every
 * handle to an object that may be another user's holds exactly what peers get (sections mapped read-write, the
 * mutex and semaphores waited on and released). */
static int peer_handles_hold_peer_rights(const char *key, uint32_t flags)
{
    sipc_os_segment *segment = NULL;
    CHECK_RC(sipc_os_segment_open(key, flags, 0660, SIPC_OS_NO_DEADLINE, &segment), SIPC_OK);
    int ok = 1;
    DWORD access = 0;
    if (!granted_access(segment->lock, &access) || access != (SYNCHRONIZE | MUTEX_MODIFY_STATE))
        ok = 0;
    /* A control this open created is its own, with all access; one it opened is what it asked for. */
    if (ok && !(flags & SIPC_OS_SEG_CREATE) &&
        (!granted_access(segment->control_section, &access) || access != (FILE_MAP_READ | FILE_MAP_WRITE)))
        ok = 0;
    for (unsigned i = 0; ok && i < SIPC_WAIT_WORDS; i++)
        if (!granted_access(segment->semaphore[i], &access) || access != (SYNCHRONIZE | SEMAPHORE_MODIFY_STATE))
            ok = 0;
    if (!ok)
        fprintf(stderr, "  %s: a read-write open of %s (flags %u) holds a handle with access 0x%lx\n", current_test, key,
                (unsigned)flags, (unsigned long)access);
    sipc_os_segment_close(segment);
    return ok;
}

/* A user the mode admits to write (0660) is a full peer with exactly the rights such users get: it attaches as the
 * client (the creating path opens the existing mutex and semaphores asking only for those rights), both sides
 * wake each other, a lossless observer registers, and the client closes. */
static int test_peer_users_have_what_peers_need(void)
{
    char name[64];
    channel_name(name, sizeof name, "peers");
    sipc_options options;
    sipc_options_init(&options);
    options.mode = 0660;
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, &options, &server), SIPC_OK);
    channel_objects objects;
    CHECK(find_channel_objects(name, &objects));
    CHECK(become_another_user(&objects));
    /* What a read-write open asks for: exactly the peer rights (CreateMutexW/CreateSemaphoreW would ask for all
     * access, which Windows refuses to other users; wine does not check it on those calls). */
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(name, key);
    CHECK(peer_handles_hold_peer_rights(key, 0));
    channel_name(name, sizeof name, "peers-created");
    sipc_key_for_name(name, key);
    CHECK(peer_handles_hold_peer_rights(key, SIPC_OS_SEG_CREATE));
    channel_name(name, sizeof name, "peers");
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK(sipc_get_role(client) == SIPC_ROLE_CLIENT);
    sipc_observe_options lossless;
    sipc_observe_options_init(&lossless);
    lossless.flags = SIPC_OBSERVE_LOSSLESS;
    sipc_observer *observer = NULL;
    CHECK_RC(sipc_observe_ex(name, &lossless, &observer), SIPC_OK);
    char buffer[8];
    size_t length = 0;
    sipc_observed_message message;
    memset(&message, 0, sizeof message);
    message.struct_size = sizeof message;
    for (int round = 0; round < 20; round++) {
        CHECK_RC(sipc_send(client, "ping", 4, 5000), SIPC_OK);
        CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 5000), SIPC_OK);
        CHECK_RC(sipc_send(server, "pong", 4, 5000), SIPC_OK);
        CHECK_RC(sipc_recv(client, buffer, sizeof buffer, &length, 5000), SIPC_OK);
        CHECK(length == 4 && memcmp(buffer, "pong", 4) == 0);
        for (int i = 0; i < 2; i++) {
            CHECK_RC(sipc_observer_next(observer, buffer, sizeof buffer, &message, 10000), SIPC_OK);
            CHECK(message.kind == SIPC_OBSERVED_MESSAGE && message.missed == 0 && message.copied == 4);
        }
    }
    CHECK_RC(sipc_observer_close(observer), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    return 1;
}

/* SIPC_OPEN_GLOBAL puts the channel in Global\: both sides ask for it; stat finds it by name. */
static int test_global_namespace(void)
{
    char name[64];
    channel_name(name, sizeof name, "global");
    sipc_options options;
    sipc_options_init(&options);
    options.flags = SIPC_OPEN_GLOBAL;
    sipc_channel *server = NULL;
    int rc = sipc_open(name, &options, &server);
    if (rc == SIPC_ERR_PERMISSION) {
        printf("  Global\\ refused (no SeCreateGlobalPrivilege): PERMISSION as documented\n");
        return 1;
    }
    CHECK_RC(rc, SIPC_OK);
    char object[128];
    snprintf(object, sizeof object, "Global\\sipc.%s~lock", name);
    HANDLE mutex = OpenMutexA(SYNCHRONIZE, FALSE, object);
    CHECK(mutex != NULL);
    CloseHandle(mutex);
    snprintf(object, sizeof object, "Local\\sipc.%s~lock", name);
    CHECK(OpenMutexA(SYNCHRONIZE, FALSE, object) == NULL);
    sipc_channel *client = NULL;
    CHECK_RC(sipc_open(name, &options, &client), SIPC_OK);
    CHECK(sipc_get_role(client) == SIPC_ROLE_CLIENT);
    CHECK_RC(sipc_send(client, "g", 1, 1000), SIPC_OK);
    char buffer[4];
    size_t length = 0;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 1000), SIPC_OK);
    CHECK(length == 1 && buffer[0] == 'g');
    sipc_channel_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_CONNECTED);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    return 1;
}

/* Everyone attached died but an observer keeps the objects alive: the channel is STALE, and the
 * next opener starts it over as server with its own options (a new generation of objects). */
static int test_stale_recovery(void)
{
    char name[64];
    channel_name(name, sizeof name, "stale");
    HANDLE child = spawn_child("both", name, NULL);
    CHECK(child != NULL);
    sipc_channel_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    int attached = 0;
    for (int i = 0; i < 1000 && !attached; i++) {
        attached = sipc_stat(name, &info) == SIPC_OK && info.to_server.queued == 1;
        if (!attached)
            Sleep(10);
    }
    CHECK(attached);
    sipc_observer *observer = NULL;
    CHECK_RC(sipc_observe(name, &observer), SIPC_OK);
    CHECK(kill_child(child));
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_STALE);
    CHECK(info.server_alive == 0 && info.client_alive == 0);
    sipc_options options;
    sipc_options_init(&options);
    options.flags = SIPC_OPEN_NO_CREATE;
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, &options, &ch), SIPC_ERR_NOT_FOUND);
    sipc_options_init(&options);
    options.max_message_size = 512;
    options.queue_depth = 3;
    CHECK_RC(sipc_open(name, &options, &ch), SIPC_OK);
    CHECK(sipc_get_role(ch) == SIPC_ROLE_SERVER);
    CHECK(sipc_max_message_size(ch) == 512);
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_WAITING);
    CHECK(info.to_server.queued == 0 && info.to_server.messages == 0 && info.queue_depth == 3);
    CHECK_RC(sipc_observer_close(observer), SIPC_OK);
    CHECK_RC(sipc_close(ch), SIPC_OK);
    CHECK_RC(sipc_stat(name, &info), SIPC_ERR_NOT_FOUND);
    return 1;
}

/* Hostile or foreign objects at our names fail cleanly or are skipped, never trusted. */
static int test_hostile_objects(void)
{
    char name[64], object[160];
    sipc_channel_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;

    /* An event squatting the lock's name: opening fails with an error, nothing is created. */
    channel_name(name, sizeof name, "squat-lock");
    snprintf(object, sizeof object, "Local\\sipc.%s~lock", name);
    HANDLE squatter = CreateEventA(NULL, TRUE, TRUE, object);
    CHECK(squatter != NULL);
    sipc_channel *ch = NULL;
    int rc = sipc_open(name, NULL, &ch);
    printf("  lock name squatted by an event: %s\n", sipc_status_name(rc));
    CHECK(rc != SIPC_OK && ch == NULL);
    CloseHandle(squatter);

    /* A garbage section at generation 0's control: skipped, the channel works in generation 1. */
    channel_name(name, sizeof name, "squat-ctl");
    snprintf(object, sizeof object, "Local\\sipc.%s~0~ctl", name);
    squatter = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 64, object);
    CHECK(squatter != NULL);
    uint8_t *garbage = MapViewOfFile(squatter, FILE_MAP_WRITE, 0, 0, 64);
    CHECK(garbage != NULL);
    memset(garbage, 0xA5, 64);
    UnmapViewOfFile(garbage);
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK(sipc_get_role(client) == SIPC_ROLE_CLIENT);
    CHECK_RC(sipc_send(client, "ok", 2, 1000), SIPC_OK);
    char buffer[4];
    size_t length = 0;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 1000), SIPC_OK);

    /* A control block that lies about the data size: stat fails cleanly (the view is refused). */
    snprintf(object, sizeof object, "Local\\sipc.%s~1~ctl", name);
    HANDLE control = OpenFileMappingA(FILE_MAP_WRITE | FILE_MAP_READ, FALSE, object);
    CHECK(control != NULL);
    uint8_t *fields = MapViewOfFile(control, FILE_MAP_WRITE | FILE_MAP_READ, 0, 0, 0);
    CHECK(fields != NULL);
    uint64_t real_size = 0, huge = 1ull << 40;
    memcpy(&real_size, fields + 24, 8);
    memcpy(fields + 24, &huge, 8);
    rc = sipc_stat(name, &info);
    memcpy(fields + 24, &real_size, 8);
    UnmapViewOfFile(fields);
    CloseHandle(control);
    printf("  control block claiming 1 TiB of data: %s\n", sipc_status_name(rc));
    CHECK(rc != SIPC_OK);
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_CONNECTED);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CloseHandle(squatter);
    return 1;
}

/* ---- stopped processes: every thread suspended ---- */

static DWORD WINAPI thread_sleeps(void *arg)
{
    (void)arg;
    Sleep(INFINITE);
    return 0;
}

static int32_t process_state(DWORD pid)
{
    sipc_process_info info = {.struct_size = sizeof info};
    return sipc_process_describe((int64_t)pid, &info) == SIPC_OK ? info.state : -1;
}

/* Windows' stopped process is one whose threads are all suspended (the C suite checks a whole process suspended
 * and resumed): a process started suspended is stopped until its thread resumes, and one suspended thread of
 * several does not make a process stopped. */
static int test_stopped_means_every_thread_suspended(void)
{
    char command[1024];
    snprintf(command, sizeof command, "\"%s\" child none - -", self_path);
    STARTUPINFOA startup;
    PROCESS_INFORMATION child;
    memset(&startup, 0, sizeof startup);
    startup.cb = sizeof startup;
    CHECK(CreateProcessA(self_path, command, NULL, NULL, FALSE, CREATE_SUSPENDED, NULL, NULL, &startup, &child));
    int32_t created_suspended = process_state(child.dwProcessId);
    DWORD resumed = ResumeThread(child.hThread);
    int32_t after_resume = process_state(child.dwProcessId);
    CloseHandle(child.hThread);
    int child_exit = join_child(child.hProcess); /* the scenario "none" exits with 65 at once */

    HANDLE sleeper = CreateThread(NULL, 0, thread_sleeps, NULL, 0, NULL);
    CHECK(sleeper != NULL);
    DWORD suspended = SuspendThread(sleeper);
    int32_t one_thread_suspended = process_state(GetCurrentProcessId());
    ResumeThread(sleeper);
    TerminateThread(sleeper, 0);
    CloseHandle(sleeper);

    printf("  started suspended: state %d; resumed: %d; one thread of this process suspended: %d\n",
           (int)created_suspended, (int)after_resume, (int)one_thread_suspended);
    CHECK(created_suspended == SIPC_PROCESS_STOPPED);
    CHECK(resumed == 1);
    CHECK(after_resume == SIPC_PROCESS_RUNNING || after_resume == SIPC_PROCESS_GONE);
    CHECK(child_exit == 65);
    CHECK(suspended == 0);
    CHECK(one_thread_suspended == SIPC_PROCESS_RUNNING);
    return 1;
}

/* ---- the Wireshark extcap over a named pipe ---- */

#define PIPE_WAIT_MS 20000u

/* Reads exactly `size` bytes from an overlapped pipe handle within PIPE_WAIT_MS: 1 if all arrived. */
static int pipe_read_exact(HANDLE pipe, HANDLE event, void *buffer, DWORD size)
{
    DWORD done = 0;
    while (done < size) {
        OVERLAPPED overlapped;
        memset(&overlapped, 0, sizeof overlapped);
        overlapped.hEvent = event;
        DWORD got = 0;
        if (!ReadFile(pipe, (char *)buffer + done, size - done, &got, &overlapped)) {
            if (GetLastError() != ERROR_IO_PENDING)
                return 0;
            if (WaitForSingleObject(event, PIPE_WAIT_MS) != WAIT_OBJECT_0) {
                fprintf(stderr, "  nothing came through the pipe within %u s (%lu of %lu bytes read)\n",
                        PIPE_WAIT_MS / 1000u, (unsigned long)done, (unsigned long)size);
                cancel_io_bounded(pipe, &overlapped);
                return 0;
            }
            if (!GetOverlappedResult(pipe, &overlapped, &got, FALSE))
                return 0;
        }
        if (got == 0)
            return 0;
        done += got;
    }
    return 1;
}

/* One pcapng block read from the pipe (little-endian, as sipc writes it): its type, its body (after type and length,
 * before the trailing length) and, for an Enhanced Packet Block, the packet and the comment and direction options. */
typedef struct pcapng_block {
    uint32_t type;
    uint32_t body_length;
    uint8_t body[4096];
    const uint8_t *packet;
    uint32_t packet_length;
    char comment[256];
    uint32_t direction; /* epb_flags bits 0-1: 1 inbound (to the client), 2 outbound (to the server), 0 event */
} pcapng_block;

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int read_block(HANDLE pipe, HANDLE event, pcapng_block *block)
{
    uint8_t head[8], tail[4];
    if (!pipe_read_exact(pipe, event, head, sizeof head))
        return 0;
    block->type = le32(head);
    uint32_t total = le32(head + 4);
    if (total < 12 || total % 4 != 0 || total - 12 > sizeof block->body)
        return 0;
    block->body_length = total - 12;
    if (!pipe_read_exact(pipe, event, block->body, block->body_length) || !pipe_read_exact(pipe, event, tail, 4) ||
        le32(tail) != total)
        return 0;
    block->packet = NULL;
    block->packet_length = 0;
    block->comment[0] = '\0';
    block->direction = 0;
    if (block->type != 6 || block->body_length < 20)
        return 1;
    uint32_t captured = le32(block->body + 12);
    size_t at = 20 + ((captured + 3u) & ~3u);
    if (captured > block->body_length - 20 || at > block->body_length)
        return 0;
    block->packet = block->body + 20;
    block->packet_length = captured;
    while (at + 4 <= block->body_length) {
        uint16_t code = (uint16_t)(block->body[at] | block->body[at + 1] << 8);
        uint16_t length = (uint16_t)(block->body[at + 2] | block->body[at + 3] << 8);
        at += 4;
        if (code == 0 || at + length > block->body_length)
            break;
        if (code == 1 && length < sizeof block->comment) {
            memcpy(block->comment, block->body + at, length);
            block->comment[length] = '\0';
        } else if (code == 2 && length == 4) {
            block->direction = le32(block->body + at) & 3u;
        }
        at += (length + 3u) & ~3u;
    }
    return 1;
}

/* Wireshark on Windows creates a named pipe and hands its name to --fifo; the capture opens it as a file, writes
 * the pcapng section at once, flushes every packet, and ends by itself once the reader is gone (Wireshark has no
 * signal to send it on Windows: it would terminate it). sipc.exe is beside the tests folder.
 *
 * The client attaches, pings, gets its pong and closes within milliseconds; when the capture's observer thread (another
 * process) does not look at the roles in that window, it finds the role released in the same session and reports a
 * holder that came and went, at the role's own attach time (so the order below holds) and with the pid the role keeps
 * beside it after a release (`holder_pid`, PROTOCOL.md): the client's events name this process either way. */
static int extcap_named_pipe(int wake_with_a_client)
{
    char name[64], pipe_name[128], sipc_exe[MAX_PATH + 16];
    channel_name(name, sizeof name, "extcap");
    snprintf(pipe_name, sizeof pipe_name, "\\\\.\\pipe\\sipc-%s", name);
    snprintf(sipc_exe, sizeof sipc_exe, "%s", self_path);
    char *slash = strrchr(sipc_exe, '\\');
    CHECK(slash != NULL);
    snprintf(slash, sizeof sipc_exe - (size_t)(slash - sipc_exe), "\\..\\sipc.exe");
    CHECK(GetFileAttributesA(sipc_exe) != INVALID_FILE_ATTRIBUTES);

    HANDLE pipe = CreateNamedPipeA(pipe_name, PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED,
                                   PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, 0, 65536, 0, NULL);
    CHECK(pipe != INVALID_HANDLE_VALUE);
    HANDLE event = CreateEventA(NULL, TRUE, FALSE, NULL);
    sipc_channel *server = NULL, *client = NULL;
    int opened = event != NULL && sipc_open(name, NULL, &server) == SIPC_OK;

    char command[1024];
    snprintf(command, sizeof command, "\"%s\" extcap --capture --extcap-interface sipc --fifo %s --channel %s",
             sipc_exe, pipe_name, name);
    STARTUPINFOA startup;
    PROCESS_INFORMATION capture;
    memset(&startup, 0, sizeof startup);
    memset(&capture, 0, sizeof capture);
    startup.cb = sizeof startup;
    int started = opened && CreateProcessA(sipc_exe, command, NULL, NULL, FALSE, 0, NULL, NULL, &startup, &capture);

    /* The capture connects to the pipe (CreateFile) once its observer is attached. */
    int connected = 0;
    if (started) {
        OVERLAPPED overlapped;
        memset(&overlapped, 0, sizeof overlapped);
        overlapped.hEvent = event;
        DWORD ignored = 0;
        watchdog_step("waiting for the capture to connect to the pipe");
        if (ConnectNamedPipe(pipe, &overlapped)) {
            connected = 1;
        } else if (GetLastError() == ERROR_PIPE_CONNECTED) {
            connected = 1;
        } else if (GetLastError() == ERROR_IO_PENDING) {
            connected = WaitForSingleObject(event, PIPE_WAIT_MS) == WAIT_OBJECT_0 &&
                        GetOverlappedResult(pipe, &overlapped, &ignored, FALSE);
            if (!connected) {
                fprintf(stderr, "  the capture did not connect to the pipe within %u s\n", PIPE_WAIT_MS / 1000u);
                cancel_io_bounded(pipe, &overlapped);
            }
        }
    }
    static pcapng_block block;
    watchdog_step("reading the section header and the interface block");
    int section = connected && read_block(pipe, event, &block) && block.type == 0x0a0d0d0a && block.body_length >= 16 &&
                  le32(block.body) == 0x1a2b3c4d;
    int idb = section && read_block(pipe, event, &block) && block.type == 1 && block.body_length >= 8 &&
                    (block.body[0] | block.body[1] << 8) == 147 /* LINKTYPE_USER0 */;

    /* A client comes, sends "ping", the server answers "pong", the client goes. */
    int traffic = 0;
    char buffer[16];
    size_t length = 0;
    watchdog_step("a client's ping and the server's pong");
    if (idb && sipc_open(name, NULL, &client) == SIPC_OK) {
        traffic = sipc_send(client, "ping", 4, 10000) == SIPC_OK &&
                  sipc_recv(server, buffer, sizeof buffer, &length, 10000) == SIPC_OK && length == 4 &&
                  sipc_send(server, "pong", 4, 10000) == SIPC_OK &&
                  sipc_recv(client, buffer, sizeof buffer, &length, 10000) == SIPC_OK && length == 4;
        sipc_close(client);
        client = NULL;
    }
    /* Expected: the server's role (held when the capture began), the client's attach, ping, pong, its close. */
    char seen[5][64];
    char client_pid[48];
    snprintf(client_pid, sizeof client_pid, "client pid %lu ", (unsigned long)GetCurrentProcessId());
    int blocks = 0;
    watchdog_step("reading the five packets");
    while (traffic && blocks < 5 && read_block(pipe, event, &block) && block.type == 6) {
        if (block.direction == 2 || block.direction == 1)
            snprintf(seen[blocks], sizeof seen[blocks], "%s %.*s", block.direction == 2 ? "to-server" : "to-client",
                     (int)block.packet_length, (const char *)block.packet);
        else if (block.packet_length == 0 && strncmp(block.comment, "sipc event ", 11) == 0)
            snprintf(seen[blocks], sizeof seen[blocks], "%.*s", (int)strcspn(block.comment + 11, " "),
                     block.comment + 11);
        else
            snprintf(seen[blocks], sizeof seen[blocks], "?");
        printf("  packet %d: %s (%s)\n", blocks, seen[blocks], block.comment);
        if ((blocks == 1 || blocks == 4) && strstr(block.comment, client_pid) == NULL)
            snprintf(seen[blocks], sizeof seen[blocks], "no %s", client_pid);
        blocks++;
    }

    /* The reader goes away (Wireshark stopping the capture, or crashing). With wake_with_a_client the next packet
     * (a client attaching) finds the pipe broken; without, the channel stays idle and the capture finds the pipe
     * no longer connected between packets. Either way it ends normally, with exit 0 (Wireshark shows a failing
     * extcap's stderr as an error). */
    watchdog_step("closing the pipe");
    DisconnectNamedPipe(pipe);
    CloseHandle(pipe);
    int ended_by_itself = 0;
    DWORD exit_code = 0;
    if (started) {
        if (wake_with_a_client && sipc_open(name, NULL, &client) == SIPC_OK) {
            sipc_close(client);
            client = NULL;
        }
        watchdog_step("waiting for the capture to end by itself");
        ended_by_itself = WaitForSingleObject(capture.hProcess, PIPE_WAIT_MS) == WAIT_OBJECT_0;
        if (!ended_by_itself) {
            fprintf(stderr, "  the capture did not end within %u s of the reader leaving\n", PIPE_WAIT_MS / 1000u);
            watchdog_step("terminating the capture");
            end_process(capture.hProcess, 99, "the capture");
        }
        GetExitCodeProcess(capture.hProcess, &exit_code);
        CloseHandle(capture.hProcess);
        CloseHandle(capture.hThread);
    }
    if (server != NULL)
        sipc_close(server);
    sipc_remove(name, 1);
    if (event != NULL)
        CloseHandle(event);
    printf("  capture ended by itself after the reader left: %s (exit %lu)\n", ended_by_itself ? "yes" : "no",
           (unsigned long)exit_code);

    CHECK(opened && started);
    CHECK(connected);
    CHECK(section && idb);
    CHECK(traffic);
    CHECK(blocks == 5);
    CHECK(strcmp(seen[0], "attached:") == 0);
    CHECK(strcmp(seen[1], "attached:") == 0);
    CHECK(strcmp(seen[2], "to-server ping") == 0);
    CHECK(strcmp(seen[3], "to-client pong") == 0);
    CHECK(strcmp(seen[4], "closed:") == 0);
    CHECK(ended_by_itself);
    CHECK(exit_code == 0);
    return 1;
}

static int test_extcap_named_pipe(void)
{
    return extcap_named_pipe(1);
}

/* A Wireshark that crashed sends nothing: an idle capture must not wait forever for a packet to fail on. */
static int test_extcap_named_pipe_reader_gone_while_idle(void)
{
    return extcap_named_pipe(0);
}

typedef struct test_case {
    const char *name;
    int (*run)(void);
} test_case;

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    GetModuleFileNameA(NULL, self_path, sizeof self_path);
    if (argc >= 2 && strcmp(argv[1], "child") == 0)
        return run_child(argc, argv);
    const test_case tests[] = {
        {"crashed server leaves no stale objects", test_crashed_server},
        {"remove then re-create while the old holder lives", test_remove_and_recreate},
        {"stale channel held by an observer starts over", test_stale_recovery},
        {"hostile objects at our names", test_hostile_objects},
        {"list", test_list},
        {"security descriptors per mode and object kind", test_security_descriptors_per_mode},
        {"read-only users cannot block or disturb the peers", test_read_only_users_cannot_block},
        {"peer users have what peers need", test_peer_users_have_what_peers_need},
        {"Global namespace", test_global_namespace},
        {"stopped means every thread suspended", test_stopped_means_every_thread_suspended},
        {"extcap capture into a named pipe", test_extcap_named_pipe},
        {"extcap capture ends when the pipe's reader leaves an idle channel", test_extcap_named_pipe_reader_gone_while_idle},
    };
    const char *only = argc >= 2 ? argv[1] : NULL;
    if (!watchdog_start(TEST_LIMIT_MS, &passed, &failed)) {
        printf("FAIL cannot start the watchdog thread (%lu)\n0 passed, 1 failed\n", (unsigned long)GetLastError());
        return 1;
    }
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (only != NULL && strstr(tests[i].name, only) == NULL)
            continue;
        current_test = tests[i].name;
        watchdog_arm(tests[i].name);
        uint64_t start = now_ms();
        int ok = tests[i].run();
        printf("%s %s (%llu ms)\n", ok ? "ok  " : "FAIL", tests[i].name, (unsigned long long)(now_ms() - start));
        if (ok)
            passed++;
        else
            failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
