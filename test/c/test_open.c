/*
 * test_open.c — opening a channel: names, roles, options, permissions, handle inheritance, the
 * by-name operations (stat, list, remove) and calls on closed or NULL handles.
 */
#include "harness.h"
#include "layout.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* ---- names ---- */

void test_names(void)
{
    CHECK_RC(sipc_validate_name("a"), SIPC_OK);
    CHECK_RC(sipc_validate_name("my-channel_1.x"), SIPC_OK);
    CHECK_RC(sipc_validate_name(""), SIPC_ERR_INVALID_NAME);
    CHECK_RC(sipc_validate_name(NULL), SIPC_ERR_INVALID_NAME);
    CHECK_RC(sipc_validate_name(".hidden"), SIPC_ERR_INVALID_NAME);
    CHECK_RC(sipc_validate_name("a/b"), SIPC_ERR_INVALID_NAME);
    CHECK_RC(sipc_validate_name("sp ace"), SIPC_ERR_INVALID_NAME);
    CHECK_RC(sipc_validate_name("caf\xc3\xa9"), SIPC_ERR_INVALID_NAME);
    char name[SIPC_NAME_MAX + 2];
    memset(name, 'x', sizeof name);
    name[SIPC_NAME_MAX] = '\0';
    CHECK_RC(sipc_validate_name(name), SIPC_OK);
    name[SIPC_NAME_MAX] = 'x';
    name[SIPC_NAME_MAX + 1] = '\0';
    CHECK_RC(sipc_validate_name(name), SIPC_ERR_INVALID_NAME);
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open("../etc", NULL, &ch), SIPC_ERR_INVALID_NAME);
    CHECK(ch == NULL);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat("bad name", &info), SIPC_ERR_INVALID_NAME);
    sipc_observer *ob = NULL;
    CHECK_RC(sipc_observe("bad/name", &ob), SIPC_ERR_INVALID_NAME);
    CHECK_RC(sipc_remove("", 1), SIPC_ERR_INVALID_NAME);
    CHECK(strcmp(sipc_status_name(SIPC_ERR_PEER_GONE), "PEER_GONE") == 0);
    CHECK(strcmp(sipc_status_name(12345), "UNKNOWN") == 0);
    CHECK(strlen(sipc_strerror(SIPC_ERR_VERSION)) > 10);
    CHECK(strcmp(sipc_version(), "1.0.0") == 0);
}

static int list_find(const char *name, void *user)
{
    const char *wanted = ((const char **)user)[0];
    if (strcmp(name, wanted) == 0)
        ((const char **)user)[1] = "found";
    return 0;
}

/* Names too long for macOS's shm limit go through a hash; the header keeps the real name. */
void test_long_name(void)
{
    char name[SIPC_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s-", test_name("long"));
    size_t length = strlen(name);
    memset(name + length, 'L', SIPC_NAME_MAX - length);
    name[SIPC_NAME_MAX] = '\0';
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(strcmp(info.name, name) == 0);
    CHECK(info.state == SIPC_STATE_WAITING);
    const char *search[2] = {name, NULL};
    CHECK_RC(sipc_list(list_find, search), SIPC_OK);
    CHECK(search[1] != NULL);
    CHECK_RC(sipc_close(ch), SIPC_OK);
    CHECK_RC(sipc_stat(name, &info), SIPC_ERR_NOT_FOUND);
}

/* ---- roles ---- */

static int child_open_expect(void *arg)
{
    const char *name = arg;
    sipc_channel *ch = NULL;
    int rc = sipc_open(name, NULL, &ch);
    if (ch != NULL)
        sipc_close(ch);
    return rc == SIPC_ERR_BUSY ? 0 : 10 - rc;
}

static int child_client_hold(void *arg)
{
    const char *name = arg;
    sipc_channel *ch = NULL;
    CHILD_CHECK(sipc_open(name, NULL, &ch) == SIPC_OK);
    CHILD_CHECK(sipc_get_role(ch) == SIPC_ROLE_CLIENT);
    CHILD_CHECK(sipc_connect(ch, 5000) == SIPC_OK);
    char buffer[16];
    size_t length;
    /* Hold the role until the parent says so. */
    CHILD_CHECK(sipc_recv(ch, buffer, sizeof buffer, &length, 10000) == SIPC_OK);
    CHILD_CHECK(sipc_close(ch) == SIPC_OK);
    return 0;
}

void test_roles_and_busy(void)
{
    const char *name = test_name("roles");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK(sipc_get_role(server) == SIPC_ROLE_SERVER);
    CHECK(sipc_max_message_size(server) == SIPC_DEFAULT_MAX_MESSAGE);
    pid_t client = spawn_child(child_client_hold, name, strlen(name) + 1);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    /* A third process, and a second handle in this process, are both refused. */
    pid_t third = spawn_child(child_open_expect, name, strlen(name) + 1);
    CHECK(reap_child(third) == 0);
    sipc_channel *again = NULL;
    CHECK_RC(sipc_open(name, NULL, &again), SIPC_ERR_BUSY);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_info(server, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_CONNECTED);
    CHECK(info.server_pid == getpid());
    CHECK(info.client_pid == client);
    CHECK(info.server_alive == 1 && info.client_alive == 1);
    CHECK(info.connections == 1);
    CHECK(strcmp(info.name, name) == 0);
    CHECK_RC(sipc_send(server, "bye", 3, 1000), SIPC_OK);
    CHECK(reap_child(client) == 0);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK(!shm_exists(name));
}

void test_no_create(void)
{
    const char *name = test_name("nocreate");
    sipc_options o;
    sipc_options_init(&o);
    o.flags = SIPC_OPEN_NO_CREATE;
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_NOT_FOUND);
    CHECK(!shm_exists(name));
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_OK);
    CHECK(sipc_get_role(ch) == SIPC_ROLE_CLIENT);
    CHECK_RC(sipc_close(ch), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    o.flags = 0x100;
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_INVALID_ARGUMENT);
}

void test_options(void)
{
    const char *name = test_name("opts");
    sipc_channel *ch = NULL;
    sipc_options o = options_with(SIPC_MAX_MESSAGE_LIMIT + 1, 4);
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_INVALID_ARGUMENT);
    o = options_with(1024, SIPC_MAX_QUEUE_DEPTH + 1);
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_INVALID_ARGUMENT);
    o = options_with(1024, 4);
    o.mode = 0400; /* the owner must be able to write */
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_INVALID_ARGUMENT);
    o.mode = 01600;
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_INVALID_ARGUMENT);
    o = options_with(1024, 4);
    o.struct_size = 4;
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_open(name, NULL, NULL), SIPC_ERR_INVALID_ARGUMENT);

    sipc_channel *server = NULL;
    o = options_with(1000, 8);
    CHECK_RC(sipc_open(name, &o, &server), SIPC_OK);
    CHECK(sipc_max_message_size(server) == 1000);
    sipc_channel *client = NULL;
    sipc_options other = options_with(2000, 8);
    CHECK_RC(sipc_open(name, &other, &client), SIPC_ERR_MISMATCH);
    other = options_with(1000, 9);
    CHECK_RC(sipc_open(name, &other, &client), SIPC_ERR_MISMATCH);
    /* Defaults (NULL or sipc_options_init) adopt the server's geometry. */
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK(sipc_max_message_size(client) == 1000);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_info(client, &info), SIPC_OK);
    CHECK(info.queue_depth == 8 && info.max_message_size == 1000);
    CHECK_RC(sipc_close(client), SIPC_OK);
    other = options_with(1000, 8);
    CHECK_RC(sipc_open(name, &other, &client), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

#if !defined(_WIN32) /* permission bits and file descriptors of /dev/shm files */
void test_permissions(void)
{
    const char *name = test_name("perm");
    umask(0);
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    char path[512];
    shm_path(name, path, sizeof path);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_info(ch, &info), SIPC_OK);
    CHECK(info.mode == 0600);
    CHECK(info.owner_uid == getuid());
    CHECK_RC(sipc_close(ch), SIPC_OK);

    /* Exactly the bits asked for, whatever the umask. */
    umask(077);
    sipc_options o;
    sipc_options_init(&o);
    o.mode = 0640;
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_OK);
    CHECK(stat(path, &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
    CHECK_RC(sipc_close(ch), SIPC_OK);
}

static int fd_cloexec_of(const char *name)
{
    char wanted[512];
    shm_path(name, wanted, sizeof wanted);
    for (int fd = 3; fd < 1024; fd++) {
        char link[64], target[512];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strcmp(target, wanted) == 0)
            return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
    }
    return -1;
}

void test_inherit_handles(void)
{
    const char *name = test_name("inherit");
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    CHECK(fd_cloexec_of(name) == 1);
    CHECK_RC(sipc_close(ch), SIPC_OK);
    sipc_options o;
    sipc_options_init(&o);
    o.flags = SIPC_OPEN_INHERIT_HANDLES;
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_OK);
    CHECK(fd_cloexec_of(name) == 0);
    CHECK_RC(sipc_close(ch), SIPC_OK);
}

/* ---- by-name operations ---- */
#endif

/* Holds a channel's open-time locks from another thread, as a process that can write the channel would:
 * the OS's (Windows' key mutex; none elsewhere) and the header's lock word. */
typedef struct lock_holder {
    const char *name;
    int held;    /* 1 once both are held, -1 if taking them failed */
    int release; /* set by the test */
} lock_holder;

static void *hold_the_locks(void *arg)
{
    lock_holder *holder = arg;
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(holder->name, key);
    sipc_os_segment *segment = NULL;
    void *header = NULL;
    sipc_os_process self;
    int ok = sipc_os_process_self(&self) == SIPC_OK &&
             sipc_os_segment_open(key, 0, 0, SIPC_OS_NO_DEADLINE, &segment) == SIPC_OK &&
             sipc_os_segment_lock(segment, SIPC_OS_NO_DEADLINE) == SIPC_OK;
    int locked_os = ok;
    ok = ok && sipc_os_segment_map(segment, SIPC_HEADER_SIZE, &header) == SIPC_OK &&
         sipc_segment_lock(segment, header, &self, SIPC_OS_NO_DEADLINE, key) == SIPC_OK;
    __atomic_store_n(&holder->held, ok ? 1 : -1, __ATOMIC_RELEASE);
    while (ok && !__atomic_load_n(&holder->release, __ATOMIC_ACQUIRE))
        sleep_ms(1);
    if (ok)
        sipc_segment_unlock(header, &self);
    if (header != NULL)
        sipc_os_segment_unmap(segment, header, SIPC_HEADER_SIZE);
    if (locked_os)
        sipc_os_segment_unlock(segment);
    sipc_os_segment_close(segment);
    return NULL;
}

/* sipc_stat_ex takes the caller's timeout like the other calls by name, and neither it nor the listing waits
 * for a channel's locks: only openers, closers and removers take them (on Windows, stat and list took the
 * key's mutex and so waited for any holder of it, 5 s for sipc_stat). */
void test_stat_ex_never_waits_for_the_locks(void)
{
    const char *name = test_name("statex");
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat_ex(name, 0, &info), SIPC_ERR_NOT_FOUND);
    CHECK_RC(sipc_stat_ex(name, -2, &info), SIPC_ERR_INVALID_ARGUMENT);
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    lock_holder holder = {name, 0, 0};
    sipc_os_thread thread;
    CHECK_RC(sipc_os_thread_create(&thread, hold_the_locks, &holder), SIPC_OK);
    while (__atomic_load_n(&holder.held, __ATOMIC_ACQUIRE) == 0)
        sleep_ms(1);
    CHECK(holder.held == 1);
    CHECK_RC(sipc_open_ex(name, NULL, 0, &client), SIPC_ERR_TIMEOUT); /* the locks are held */
    CHECK_RC(sipc_stat_ex(name, 0, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_WAITING);
    CHECK_RC(sipc_stat_ex(name, SIPC_INFINITE, &info), SIPC_OK);
    const char *search[2] = {name, NULL}; /* and the listing still has it as usable */
    CHECK_RC(sipc_list(list_find, search), SIPC_OK);
    CHECK(search[1] != NULL);
    __atomic_store_n(&holder.release, 1, __ATOMIC_RELEASE);
    sipc_os_thread_join(&thread);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

void test_stat_list_remove(void)
{
    const char *name = test_name("admin");
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_ERR_NOT_FOUND);
    CHECK_RC(sipc_remove(name, 0), SIPC_ERR_NOT_FOUND);
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_WAITING);
    CHECK(info.protocol_version == SIPC_LAYOUT_VERSION);
    CHECK(info.created_ns > 0);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_connect(client, 1000), SIPC_OK);
    CHECK_RC(sipc_send(client, "12345", 5, 1000), SIPC_OK);
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_CONNECTED);
    CHECK(info.to_server.messages == 1 && info.to_server.bytes == 5 && info.to_server.queued == 1);
    CHECK(info.server_pid == getpid() && info.client_pid == getpid());
    const char *search[2] = {name, NULL};
    CHECK_RC(sipc_list(list_find, search), SIPC_OK);
    CHECK(search[1] != NULL);
    CHECK_RC(sipc_list(NULL, NULL), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_remove(name, 0), SIPC_ERR_BUSY);
    CHECK_RC(sipc_remove(name, 1), SIPC_OK);
    CHECK_RC(sipc_stat(name, &info), SIPC_ERR_NOT_FOUND);
    /* The attached peers keep working on the unlinked object. */
    char buffer[8];
    size_t length;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 1000), SIPC_OK);
    CHECK(length == 5);
    /* A new channel of the same name is independent; closing the old ones must not unlink it. */
    sipc_channel *fresh = NULL;
    CHECK_RC(sipc_open(name, NULL, &fresh), SIPC_OK);
    CHECK(sipc_get_role(fresh) == SIPC_ROLE_SERVER);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK(shm_exists(name));
    CHECK_RC(sipc_close(fresh), SIPC_OK);
    CHECK(!shm_exists(name));
}

void test_closed_and_null_handles(void)
{
    uint8_t buffer[4] = {0};
    size_t length;
    CHECK_RC(sipc_send(NULL, buffer, 1, 0), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_recv(NULL, buffer, 4, &length, 0), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_connect(NULL, 0), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_cancel(NULL), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_close(NULL), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_info(NULL, NULL), SIPC_ERR_INVALID_ARGUMENT);
    /* Structs the caller did not size (or sized for an older, smaller layout) are refused. */
    sipc_channel_info info;
    memset(&info, 0, sizeof info);
    CHECK_RC(sipc_stat("anything", &info), SIPC_ERR_INVALID_ARGUMENT);
    CHECK(sipc_get_role(NULL) == SIPC_ROLE_NONE);
    sipc_options_init(NULL);
    sipc_options o;
    sipc_options_init(&o);
    CHECK(o.struct_size == sizeof o && o.mode == 0600 && o.queue_depth == SIPC_DEFAULT_QUEUE_DEPTH);
}
