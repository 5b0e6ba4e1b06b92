/*
 * test_robust.c — what the machine can do to a channel handle that the library must survive:
 * sipc_close while other threads are blocked on the handle, a handle used in a fork() child, hostile
 * objects under a channel's key, a lock held by a stranger, a full /dev/shm, exit and exec.
 */
#include "harness.h"
#include "sipc_async.h"
#include "layout.h"
#include "platform.h"

#include <stdlib.h>
#include <string.h>

typedef enum blocked_call { CALL_RECV, CALL_SEND, CALL_CONNECT, CALL_PEEK } blocked_call;

typedef struct blocked_thread {
    sipc_channel *channel;
    blocked_call call;
    int32_t timeout_ms;
    int result; /* written by the thread, read after join */
} blocked_thread;

static void *run_blocked_call(void *arg)
{
    blocked_thread *t = arg;
    uint8_t buffer[64];
    size_t length = 0;
    switch (t->call) {
    case CALL_RECV:
        t->result = sipc_recv(t->channel, buffer, sizeof buffer, &length, t->timeout_ms);
        break;
    case CALL_PEEK:
        t->result = sipc_peek_size(t->channel, &length, t->timeout_ms);
        break;
    case CALL_SEND:
        t->result = sipc_send(t->channel, "x", 1, t->timeout_ms);
        break;
    case CALL_CONNECT:
        t->result = sipc_connect(t->channel, t->timeout_ms);
        break;
    }
    return NULL;
}

/* Blocks `count` threads in `call` on the handle of role `role_index`, closes the handle from this
 * thread, and checks that every blocked call returned SIPC_ERR_CLOSED. */
static int close_under_blocked_calls(const char *name, blocked_call call, int32_t timeout_ms)
{
    sipc_options o;
    sipc_options_init(&o);
    o.queue_depth = 1;
    sipc_channel *server = NULL, *client = NULL;
    if (sipc_open(name, &o, &server) != SIPC_OK)
        return 0;
    int ok = 1;
    if (call != CALL_CONNECT) {
        ok = sipc_open(name, NULL, &client) == SIPC_OK && sipc_connect(server, 1000) == SIPC_OK &&
             sipc_connect(client, 1000) == SIPC_OK;
        if (ok && call == CALL_SEND)
            ok = sipc_send(server, "fill", 4, 0) == SIPC_OK; /* queue depth 1: the next send blocks */
    }
    header_view view;
    if (!ok || header_view_open(name, &view) != 0) {
        sipc_close(server);
        if (client != NULL)
            sipc_close(client);
        return 0;
    }
    enum { THREADS = 3 };
    blocked_thread threads[THREADS];
    sipc_os_thread ids[THREADS];
    sipc_channel *target = call == CALL_RECV || call == CALL_PEEK ? client : server;
    int target_role = target == server ? SIPC_ROLE_INDEX_SERVER : SIPC_ROLE_INDEX_CLIENT;
    int started[THREADS];
    for (int i = 0; i < THREADS; i++) {
        threads[i] = (blocked_thread){target, call, timeout_ms, 1};
        started[i] = sipc_os_thread_create(&ids[i], run_blocked_call, &threads[i]) == SIPC_OK;
    }
    ok = wait_role_asleep(&view, target_role, THREADS); /* all inside the call: close may free at once */
    if (!ok)
        fprintf(stderr, "    the blocked calls never went to sleep\n");
    int closed = sipc_close(target);
    for (int i = 0; i < THREADS; i++) {
        if (!started[i]) {
            fprintf(stderr, "    blocked call %d: no thread\n", i);
            ok = 0;
            continue;
        }
        sipc_os_thread_join(&ids[i]);
        if (threads[i].result != SIPC_ERR_CLOSED) {
            fprintf(stderr, "    blocked call %d returned %s, expected CLOSED\n", i,
                    sipc_status_name(threads[i].result));
            ok = 0;
        }
    }
    header_view_close(&view);
    if (closed != SIPC_OK)
        ok = 0;
    if (target != server)
        sipc_close(server);
    if (client != NULL && target != client)
        sipc_close(client);
    return ok;
}

void test_close_wakes_blocked_recv(void)
{
    CHECK(close_under_blocked_calls(test_name("inf"), CALL_RECV, SIPC_INFINITE));
    CHECK(close_under_blocked_calls(test_name("fin"), CALL_RECV, 60000));
    CHECK(close_under_blocked_calls(test_name("peek"), CALL_PEEK, 60000));
}

void test_close_wakes_blocked_send_and_connect(void)
{
    CHECK(close_under_blocked_calls(test_name("send"), CALL_SEND, 60000));
    CHECK(close_under_blocked_calls(test_name("conn"), CALL_CONNECT, SIPC_INFINITE));
}

void test_calls_after_close_in_other_threads_fail_closed(void)
{
    /* A second close of the same handle while the first is waiting for calls to leave. */
    const char *name = test_name("twice");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    header_view view;
    CHECK(header_view_open(name, &view) == 0);
    blocked_thread t = {server, CALL_CONNECT, SIPC_INFINITE, 1};
    sipc_os_thread id;
    CHECK(sipc_os_thread_create(&id, run_blocked_call, &t) == SIPC_OK);
    CHECK(wait_role_asleep(&view, SIPC_ROLE_INDEX_SERVER, 1));
    CHECK_RC(sipc_close(server), SIPC_OK);
    sipc_os_thread_join(&id);
    header_view_close(&view);
    CHECK_RC(t.result, SIPC_ERR_CLOSED);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_ERR_NOT_FOUND); /* the last one out removed it */
}

void test_ex_functions_refuse_timeouts_below_infinite(void)
{
    const char *name = test_name("neg");
    sipc_channel *channel = NULL;
    CHECK_RC(sipc_open_ex(name, NULL, -2, &channel), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_remove_ex(name, 0, -5), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_remove_ex(name, 0x80, 0), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_open_ex(name, NULL, SIPC_INFINITE, &channel), SIPC_OK);
    CHECK_RC(sipc_close_ex(channel, -2), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_close_ex(channel, SIPC_INFINITE), SIPC_OK);
    CHECK(!shm_exists(name));
}

/* ---- plain and hashed names never share a key ---- */

typedef struct name_hit {
    const char *name;
    int hits;
} name_hit;

static int count_hits(const char *name, void *user)
{
    name_hit *hit = user;
    hit->hits += strcmp(name, hit->name) == 0;
    return 0;
}

void test_plain_and_hashed_keys_never_meet(void)
{
    /* A long name is hashed; a short name made of 'h' and that hash's digits once got the same key. */
    char long_name[128];
    snprintf(long_name, sizeof long_name, "%s-%s", test_name("long"), "padding-to-make-it-hash");
    char long_key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(long_name, long_key);
    const char *digits = long_key + strlen(SIPC_OS_KEY_PREFIX) + 1;
    CHECK(strlen(digits) == 16);
    char short_name[32];
    snprintf(short_name, sizeof short_name, "h%s", digits);
    CHECK_RC(sipc_validate_name(short_name), SIPC_OK);
    char short_key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(short_name, short_key);
    CHECK(strcmp(short_key, long_key) != 0);

    sipc_channel *first = NULL, *second = NULL;
    CHECK_RC(sipc_open(long_name, NULL, &first), SIPC_OK);
    CHECK_RC(sipc_open(short_name, NULL, &second), SIPC_OK);
    CHECK(sipc_get_role(first) == SIPC_ROLE_SERVER && sipc_get_role(second) == SIPC_ROLE_SERVER);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(long_name, &info), SIPC_OK);
    CHECK(strcmp(info.name, long_name) == 0);
    CHECK_RC(sipc_stat(short_name, &info), SIPC_OK);
    CHECK(strcmp(info.name, short_name) == 0);
    name_hit hits[2] = {{long_name, 0}, {short_name, 0}};
    CHECK_RC(sipc_list(count_hits, &hits[0]), SIPC_OK);
    CHECK_RC(sipc_list(count_hits, &hits[1]), SIPC_OK);
    CHECK(hits[0].hits == 1 && hits[1].hits == 1);
    CHECK_RC(sipc_close(second), SIPC_OK);
    CHECK_RC(sipc_close(first), SIPC_OK);
    CHECK(!shm_exists(long_name) && !shm_exists(short_name));
}

/* ---- POSIX-only by nature, each for its reason ----
 * fork(): Windows has none. Squatters: FIFOs, directories, symbolic and hard links under /dev/shm;
 * Windows keys name the library's own sections (test/wine/win_tests.c covers squatted objects). The
 * stranger's lock (an flock, a lock word) is written through the /dev/shm file. A full /dev/shm is a private tmpfs mount. The
 * exit handler exists where names outlive processes (SIPC_OS_NAMES_OUTLIVE_PROCESSES): Windows removes
 * a name with its last handle and finds a dead role holder by its process. exec() and its tokens. */
#if !defined(_WIN32)
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>
/* fork(): the child's copy of a handle is not a role holder. */
void test_forked_child_cannot_use_or_release_parent_role(void)
{
    const char *name = test_name("fork");
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_connect(server, 1000), SIPC_OK);
    CHECK_RC(sipc_connect(client, 1000), SIPC_OK);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        uint8_t buffer[16];
        size_t length = 0;
        int failures = 0;
        failures += sipc_send(client, "x", 1, 0) != SIPC_ERR_CLOSED;
        failures += sipc_recv(server, buffer, sizeof buffer, &length, 0) != SIPC_ERR_CLOSED;
        failures += sipc_connect(server, 0) != SIPC_ERR_CLOSED;
        failures += sipc_cancel(server) != SIPC_ERR_CLOSED;
        failures += sipc_close(client) != SIPC_OK;
        failures += sipc_close(server) != SIPC_OK;
        exit_forked_child(failures); /* the child's calls count in the coverage too */
    }
    CHECK(pid > 0);
    CHECK_RC(reap_child(pid), 0);
    /* The parent's roles are untouched: both still attached, a third opener is refused, and the
     * parent's handles still talk (the child's cancel did not reach them). */
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_CONNECTED);
    sipc_channel *third = NULL;
    CHECK_RC(sipc_open(name, NULL, &third), SIPC_ERR_BUSY);
    CHECK_RC(sipc_send(client, "hi", 2, 1000), SIPC_OK);
    uint8_t buffer[16];
    size_t length = 0;
    CHECK_RC(sipc_recv(server, buffer, sizeof buffer, &length, 1000), SIPC_OK);
    CHECK(length == 2 && memcmp(buffer, "hi", 2) == 0);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* Reads up to size-1 bytes of a (/proc) file into text, NUL-terminated; 0 if it cannot be opened. */
static int read_small_file(const char *path, char *text, size_t size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t got = fread(text, 1, size - 1, f);
    fclose(f);
    text[got] = '\0';
    return 1;
}

/* Descriptors of this process whose link (readlink of /proc/self/fd/N) is exactly `target`, e.g.
 * "anon_inode:[pidfd]"; with `unread_events`, eventfds whose counter is not 0 instead. */
static int count_fds(const char *target, int unread_events)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return -1;
    int found = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.' || atoi(entry->d_name) == dirfd(dir))
            continue;
        char path[300], link[128];
        snprintf(path, sizeof path, "/proc/self/fd/%s", entry->d_name);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n < 0)
            continue;
        link[n] = '\0';
        if (strcmp(link, target) != 0)
            continue;
        if (!unread_events) {
            found++;
            continue;
        }
        char info[512];
        snprintf(path, sizeof path, "/proc/self/fdinfo/%s", entry->d_name);
        if (!read_small_file(path, info, sizeof info))
            continue;
        const char *counter = strstr(info, "eventfd-count:");
        found += counter != NULL && strtoull(counter + strlen("eventfd-count:"), NULL, 16) != 0;
    }
    closedir(dir);
    return found;
}

/* 1 once every thread but the calling one sleeps (state S) and every eventfd has been read: the
 * watcher threads took the processes they were handed and poll them. 0 after 10 s. */
static int wait_watchers_polling(void)
{
    for (int i = 0; i < 10000; i++) {
        int busy = count_fds("anon_inode:[eventfd]", 1);
        DIR *dir = opendir("/proc/self/task");
        if (dir == NULL)
            return 0;
        struct dirent *entry;
        while (busy == 0 && (entry = readdir(dir)) != NULL) {
            if (entry->d_name[0] == '.' || atoi(entry->d_name) == gettid())
                continue;
            char path[300], stat[512];
            snprintf(path, sizeof path, "/proc/self/task/%s/stat", entry->d_name);
            if (!read_small_file(path, stat, sizeof stat))
                continue;
            const char *close_paren = strrchr(stat, ')');
            busy += close_paren == NULL || close_paren[1] != ' ' || close_paren[2] != 'S';
        }
        closedir(dir);
        if (busy == 0)
            return 1;
        sleep_ms(1);
    }
    return 0;
}

/* fork(): closing the inherited copies frees everything the child got with them, including the
 * descriptors of the parent's watcher threads (which do not exist in the child). */
void test_forked_child_close_leaves_no_descriptors(void)
{
    const char *name = test_name("forkfd");
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_connect(server, 1000), SIPC_OK);
    CHECK_RC(sipc_connect(client, 1000), SIPC_OK); /* each handle now watches its peer through a pidfd */
    CHECK(wait_watchers_polling());
    CHECK(count_fds("anon_inode:[pidfd]", 0) == 2);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int failures = 0;
        failures += sipc_close(client) != SIPC_OK;
        failures += sipc_close(server) != SIPC_OK;
        failures += (count_fds("anon_inode:[pidfd]", 0) != 0) << 1;
        failures += (count_fds("anon_inode:[eventfd]", 0) != 0) << 2;
        _exit(failures);
    }
    CHECK(pid > 0);
    CHECK_RC(reap_child(pid), 0);
    CHECK(count_fds("anon_inode:[pidfd]", 0) == 2); /* the parent's watchers are untouched */
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK(count_fds("anon_inode:[pidfd]", 0) == 0);
}

/* ---- every call by name is bounded ---- */

typedef struct entry_search {
    const char *name;
    int found_status; /* 1 = not seen */
    int visits_of_name;
} entry_search;

static int find_entry(const sipc_list_entry *entry, void *user)
{
    entry_search *search = user;
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(search->name, key); /* an unusable entry of a hashed key is known by its key only */
    if (strcmp(entry->key, key) == 0) {
        search->found_status = entry->status;
        if (entry->status != SIPC_OK && entry->detail[0] == '\0')
            search->found_status = 2; /* an unusable entry must say why */
    }
    return 0;
}

static int count_name(const char *name, void *user)
{
    entry_search *search = user;
    search->visits_of_name += strcmp(name, search->name) == 0;
    return 0;
}

/* What a hostile local user can put under a channel's key: every by-name call answers at once. */
static int squatter_is_refused(const char *name)
{
    sipc_channel_info info = {.struct_size = sizeof info};
    sipc_channel *channel = NULL;
    sipc_observer *observer = NULL;
    int ok = 1;
    ok &= sipc_stat(name, &info) == SIPC_ERR_NOT_A_CHANNEL && sipc_last_error_message()[0] != '\0';
    ok &= sipc_open(name, NULL, &channel) == SIPC_ERR_NOT_A_CHANNEL;
    ok &= sipc_observe(name, &observer) == SIPC_ERR_NOT_A_CHANNEL;
    ok &= sipc_remove(name, 0) == SIPC_ERR_NOT_A_CHANNEL;
    entry_search search = {name, 1, 0};
    ok &= sipc_list_entries(find_entry, &search) == SIPC_OK && search.found_status == SIPC_ERR_NOT_A_CHANNEL;
    ok &= sipc_list(count_name, &search) == SIPC_OK && search.visits_of_name == 0;
    ok &= sipc_remove(name, 1) == SIPC_OK && !shm_exists(name);
    return ok;
}

void test_non_channel_objects_never_block(void)
{
    char path[256];
    const char *fifo = test_name("fifo");
    shm_path(fifo, path, sizeof path);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(squatter_is_refused(fifo));

    const char *directory = test_name("dir");
    shm_path(directory, path, sizeof path);
    CHECK(mkdir(path, 0700) == 0);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(directory, &info), SIPC_ERR_NOT_A_CHANNEL);
    sipc_channel *channel = NULL;
    CHECK_RC(sipc_open(directory, NULL, &channel), SIPC_ERR_NOT_A_CHANNEL);
    CHECK(rmdir(path) == 0);

    /* A symbolic link, even to a real channel, is not followed. */
    const char *real = test_name("real");
    const char *link = test_name("link");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(real, NULL, &server), SIPC_OK);
    char target[256];
    shm_path(real, target, sizeof target);
    shm_path(link, path, sizeof path);
    CHECK(symlink(target, path) == 0);
    CHECK(squatter_is_refused(link));
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* Opens another description of a channel's object (as a stranger would) and flocks it. */
static int flock_channel(const char *name, int readonly)
{
    char path[256];
    shm_path(name, path, sizeof path);
    int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Version 1 locked with flock, which read access is enough to hold: a reader could cost every opener its
 * timeout. The lock is now a word in the header, which a reader cannot write. */
void test_reader_cannot_hold_the_lock(void)
{
    const char *name = test_name("rdlock");
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    int fd = flock_channel(name, 1);
    CHECK(fd >= 0);
    CHECK_RC(sipc_open_ex(name, NULL, 0, &client), SIPC_OK);
    CHECK_RC(sipc_close_ex(client, 0), SIPC_OK);
    CHECK_RC(sipc_close_ex(server, 0), SIPC_OK);
    CHECK(!shm_exists(name)); /* the last one out removed the name despite the flock */
    close(fd);
}

/* Writes a 64-bit field of a channel's header as another process with write access would. */
static int write_header_u64(const char *name, size_t offset, uint64_t value)
{
    raw_map map;
    if (raw_open(name, &map) != 0)
        return -1;
    __atomic_store_n((uint64_t *)(void *)(map.base + offset), value, __ATOMIC_RELEASE);
    raw_close(&map);
    return 0;
}

/* The header's lock word, as another process would hold it. */
static int set_lock_word(const char *name, uint64_t word)
{
    return write_header_u64(name, offsetof(seg_header, lock_owner), word);
}

static uint64_t lock_word_now(const char *name)
{
    header_view view;
    if (header_view_open(name, &view) != 0)
        return UINT64_MAX;
    uint64_t word = __atomic_load_n(&view.header->lock_owner, __ATOMIC_ACQUIRE);
    header_view_close(&view);
    return word;
}

/* A live process holding the lock word costs openers, closers and removers their timeout (never their
 * thread); stat and list never look at it; a holder that is gone (dead, or its pid reused) is taken over. */
void test_lock_word_holder_costs_timeout_and_dead_holder_is_taken_over(void)
{
    const char *name = test_name("lockword");
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    int hold[2];
    CHECK(pipe(hold) == 0);
    fflush(NULL);
    pid_t holder = fork();
    if (holder == 0) {
        char byte;
        close(hold[1]);
        _exit(read(hold[0], &byte, 1) == 0 ? 0 : 1); /* lives until the test closes the pipe */
    }
    close(hold[0]);
    CHECK(holder > 0);
    sipc_os_process holder_identity = {.pid = holder};
    CHECK_RC(sipc_os_process_start_time(holder, &holder_identity.start_time), SIPC_OK);
    CHECK(set_lock_word(name, sipc_lock_word(&holder_identity)) == 0);
    CHECK_RC(sipc_open_ex(name, NULL, 100, &client), SIPC_ERR_TIMEOUT);
    CHECK(strstr(sipc_last_error_message(), "stayed locked by process") != NULL);
    CHECK_RC(sipc_open_ex(name, NULL, 0, &client), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_remove_ex(name, SIPC_REMOVE_FORCE, 50), SIPC_ERR_TIMEOUT);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_WAITING);
    entry_search search = {name, 1, 0};
    CHECK_RC(sipc_list(count_name, &search), SIPC_OK);
    CHECK(search.visits_of_name == 1);
    /* The holder dies: the next opener takes its lock over. */
    close(hold[1]);
    CHECK_RC(reap_child(holder), 0);
    CHECK_RC(sipc_open_ex(name, NULL, 1000, &client), SIPC_OK);
    CHECK(sipc_get_role(client) == SIPC_ROLE_CLIENT);
    CHECK(lock_word_now(name) == 0); /* taken over, then given back */
    CHECK_RC(sipc_close(client), SIPC_OK);
    /* A word naming a running process with another start time (its pid was reused) is taken over too. */
    sipc_os_process self;
    CHECK_RC(sipc_os_process_self(&self), SIPC_OK);
    CHECK(set_lock_word(name, sipc_lock_word(&self) ^ 1u) == 0);
    CHECK_RC(sipc_open_ex(name, NULL, 1000, &client), SIPC_OK);
    CHECK(lock_word_now(name) == 0);
    CHECK_RC(sipc_close(client), SIPC_OK);
    /* A live holder keeps a closer out: the role is given back all the same, only the name stays. */
    CHECK(set_lock_word(name, sipc_lock_word(&self)) == 0); /* this process: alive, and not this thread's */
    CHECK_RC(sipc_close_ex(server, 50), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_STALE);
    CHECK(set_lock_word(name, 0) == 0);
    CHECK_RC(sipc_remove(name, 0), SIPC_OK);
    CHECK(!shm_exists(name));
}

static void ignore_async_notify(uint32_t token)
{
    (void)token;
}

/* sipc_async_channel_destroy_ex: a binding destroying its handles at process exit bounds the close's wait for a lock
 * that a live process holds by its own timeout (0: one try); the role is released all the same, the name stays stale. */
void test_async_destroy_bounds_the_close(void)
{
    const char *name = test_name("destroyex");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    if (server == NULL)
        return;
    sipc_async_channel *h = NULL;
    CHECK_RC(sipc_async_channel_start(server, ignore_async_notify, 1, &h), SIPC_OK);
    if (h == NULL)
        return;
    CHECK_RC(sipc_async_channel_destroy_ex(h, -2), SIPC_ERR_INVALID_ARGUMENT); /* refused, nothing done */
    sipc_os_process self;
    CHECK_RC(sipc_os_process_self(&self), SIPC_OK);
    CHECK(set_lock_word(name, sipc_lock_word(&self)) == 0); /* this process: alive, and not the closer's own take */
    CHECK_RC(sipc_async_channel_destroy_ex(h, 0), SIPC_ERR_TIMEOUT);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_STALE && info.server_pid == 0);
    CHECK(set_lock_word(name, 0) == 0);
    CHECK_RC(sipc_remove(name, 0), SIPC_OK);
    CHECK(!shm_exists(name));
}

/* A writer can put any live process's identity into the lock word. A real holder has the segment mapped (it
 * writes the word through its mapping), so a word naming a process that has not (Linux: its /proc/<pid>/maps
 * has no line of this object) is no holder: it is taken over at once. One naming a process that maps the
 * segment (a peer, or a fork of one) still costs the caller its timeout. */
void test_forged_lock_word_naming_a_process_without_the_segment_is_taken_over(void)
{
    int hold[2];
    CHECK(pipe(hold) == 0);
    fflush(NULL);
    pid_t stranger = fork(); /* before the channel exists: it never maps it */
    if (stranger == 0) {
        char byte;
        close(hold[1]);
        _exit(read(hold[0], &byte, 1) == 0 ? 0 : 1); /* lives until the test closes the pipe */
    }
    close(hold[0]);
    CHECK(stranger > 0);
    sipc_os_process identity = {.pid = stranger};
    CHECK_RC(sipc_os_process_start_time(stranger, &identity.start_time), SIPC_OK);
    const char *name = test_name("forged");
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK(set_lock_word(name, sipc_lock_word(&identity)) == 0);
    CHECK_RC(sipc_open_ex(name, NULL, 0, &client), SIPC_OK); /* no wait at all: the word is no holder's */
    CHECK(lock_word_now(name) == 0);
    CHECK_RC(sipc_close_ex(client, 0), SIPC_OK);
    CHECK(set_lock_word(name, sipc_lock_word(&identity)) == 0); /* the last one out is not kept out either */
    CHECK_RC(sipc_close_ex(server, 0), SIPC_OK);
    CHECK(!shm_exists(name));
    close(hold[1]);
    CHECK_RC(reap_child(stranger), 0);
}

/* A creator that died holding the lock word before writing the magic: its half-made object is taken over
 * and replaced by the next opener. */
void test_creator_that_died_holding_the_lock_is_replaced(void)
{
    const char *name = test_name("deadmaker");
    int hold[2];
    CHECK(pipe(hold) == 0);
    fflush(NULL);
    pid_t maker = fork();
    if (maker == 0) {
        char byte;
        close(hold[1]);
        _exit(read(hold[0], &byte, 1) == 0 ? 0 : 1); /* runs until its identity is known */
    }
    close(hold[0]);
    CHECK(maker > 0);
    sipc_os_process dead = {.pid = maker};
    CHECK_RC(sipc_os_process_start_time(maker, &dead.start_time), SIPC_OK);
    close(hold[1]);
    CHECK_RC(reap_child(maker), 0);
    seg_geometry g;
    CHECK_RC(sipc_geometry_for(SIPC_DEFAULT_MAX_MESSAGE, SIPC_DEFAULT_QUEUE_DEPTH, &g), SIPC_OK);
    char path[256];
    shm_path(name, path, sizeof path);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, (off_t)g.segment_size) == 0);
    close(fd);
    CHECK(set_lock_word(name, sipc_lock_word(&dead)) == 0);
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open_ex(name, NULL, 5000, &server), SIPC_OK);
    CHECK(sipc_get_role(server) == SIPC_ROLE_SERVER);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK(!shm_exists(name));
}

/* The identity of a process that ran and is gone (a child that exited and was reaped). */
static sipc_os_process gone_process(void)
{
    sipc_os_process gone = {0, 0};
    fflush(NULL);
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    if (child > 0 && reap_child(child) == 0)
        gone.pid = child;
    gone.start_time = 12345; /* any: no process with that pid runs now */
    return gone;
}

/* An object under `name`'s key as a creator leaves it before writing the magic: `size` bytes, and (when the
 * size holds a header) its lock word and the channel's name as the creator writes them first. */
static int half_made_object(const char *name, off_t size, uint64_t word)
{
    char path[256];
    shm_path(name, path, sizeof path);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int ok = ftruncate(fd, size) == 0;
    close(fd);
    if (ok && size >= (off_t)SIPC_HEADER_SIZE) {
        uint32_t length = (uint32_t)strlen(name);
        raw_map map;
        ok = raw_open(name, &map) == 0;
        if (ok) {
            seg_header *header = (seg_header *)(void *)map.base;
            header->name_length = length;
            memcpy(header->name, name, length);
            __atomic_store_n(&header->lock_owner, word, __ATOMIC_RELEASE);
            raw_close(&map);
        }
    }
    return ok ? 0 : -1;
}

/* An uninitialised object whose creator died holding the lock word is a stale channel: stat says STALE, it is
 * listed under its name (also a long, hashed one), and removing it needs no force. One whose creator is alive,
 * or may still be on its way to the word (word 0, or not even sized), is being created: EMPTY, not listed,
 * and only a forced remove takes it away. */
void test_creation_abandoned_by_a_dead_creator_is_stale(void)
{
    sipc_os_process gone = gone_process();
    CHECK(gone.pid > 0);
    char short_name[32]; /* a plain key (the harness's names are long: their keys are hashed) */
    snprintf(short_name, sizeof short_name, "ab%ld", (long)getpid());
    const char *names[2] = {short_name, test_name("abandoned")};
    for (int i = 0; i < 2; i++) {
        const char *name = names[i];
        CHECK(half_made_object(name, (off_t)SIPC_HEADER_SIZE, sipc_lock_word(&gone)) == 0);
        sipc_channel_info info = {.struct_size = sizeof info};
        CHECK_RC(sipc_stat(name, &info), SIPC_OK);
        CHECK(info.state == SIPC_STATE_STALE && strcmp(info.name, name) == 0 && info.server_pid == 0);
        entry_search search = {name, 1, 0};
        CHECK_RC(sipc_list(count_name, &search), SIPC_OK);
        CHECK(search.visits_of_name == 1);
        CHECK_RC(sipc_remove(name, 0), SIPC_OK);
        CHECK(!shm_exists(name));
        sipc_remove(name, 1); /* if the above failed */
    }

    /* Being created: a live creator holds the word (this process, as another thread of it would). */
    const char *name = test_name("creating");
    sipc_os_process self;
    CHECK_RC(sipc_os_process_self(&self), SIPC_OK);
    CHECK(half_made_object(name, (off_t)SIPC_HEADER_SIZE, sipc_lock_word(&self)) == 0);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_EMPTY);
    entry_search search = {name, 1, 0};
    CHECK_RC(sipc_list(count_name, &search), SIPC_OK);
    CHECK(search.visits_of_name == 0);
    CHECK_RC(sipc_remove_ex(name, 0, 0), SIPC_ERR_TIMEOUT); /* the live creator's word keeps a remover out */
    CHECK(set_lock_word(name, 0) == 0); /* sized, the word not taken yet */
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_EMPTY);
    CHECK_RC(sipc_remove(name, 0), SIPC_ERR_BUSY);
    CHECK(strstr(sipc_last_error_message(), "being created") != NULL);
    CHECK(shm_exists(name));
    CHECK_RC(sipc_remove(name, 1), SIPC_OK);
    CHECK(half_made_object(name, 0, 0) == 0); /* not even sized */
    CHECK_RC(sipc_remove(name, 0), SIPC_ERR_BUSY);
    CHECK(shm_exists(name));
    CHECK_RC(sipc_remove(name, 1), SIPC_OK);
    CHECK(!shm_exists(name));
}

/* A segment found under another channel's key (copied or renamed there): NOT_A_CHANNEL, never
 * attached to; only --force removes the misplaced copy. */
void test_segment_under_another_name_is_refused(void)
{
    const char *real = test_name("a");
    const char *other = test_name("b");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(real, NULL, &server), SIPC_OK);
    char from[256], to[256];
    shm_path(real, from, sizeof from);
    shm_path(other, to, sizeof to);
    CHECK(link(from, to) == 0); /* the same object, now also under other's key */
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(other, &info), SIPC_ERR_NOT_A_CHANNEL);
    CHECK(strstr(sipc_last_error_message(), "copy of channel") != NULL);
    sipc_channel *client = NULL;
    CHECK_RC(sipc_open(other, NULL, &client), SIPC_ERR_NOT_A_CHANNEL);
    sipc_observer *observer = NULL;
    CHECK_RC(sipc_observe(other, &observer), SIPC_ERR_NOT_A_CHANNEL);
    CHECK_RC(sipc_remove(other, 0), SIPC_ERR_NOT_A_CHANNEL);
    CHECK_RC(sipc_remove(other, 1), SIPC_OK);
    CHECK(!shm_exists(other) && shm_exists(real));
    CHECK_RC(sipc_stat(real, &info), SIPC_OK); /* the real channel is untouched */
    CHECK(info.state == SIPC_STATE_WAITING);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* ---- a full /dev/shm is an error, never a SIGBUS ---- */

/* Fills the channel's queue towards the client with maximal messages (touching every slot's page),
 * then drains it. Returns 0 on success. */
static int fill_and_drain(sipc_channel *server, sipc_channel *client)
{
    static uint8_t message[SIPC_DEFAULT_MAX_MESSAGE];
    static uint8_t received[SIPC_DEFAULT_MAX_MESSAGE];
    if (sipc_connect(server, 1000) != SIPC_OK || sipc_connect(client, 1000) != SIPC_OK)
        return 1;
    for (uint32_t i = 0; i < SIPC_DEFAULT_QUEUE_DEPTH; i++) {
        message_fill(message, sizeof message, 7, i);
        if (sipc_send(server, message, sizeof message, 0) != SIPC_OK)
            return 2;
    }
    for (uint32_t i = 0; i < SIPC_DEFAULT_QUEUE_DEPTH; i++) {
        size_t length = 0;
        if (sipc_recv(client, received, sizeof received, &length, 0) != SIPC_OK || length != sizeof received ||
            !message_check(received, sizeof received, 7, i))
            return 3;
    }
    return 0;
}

/* Gives this test process (each test runs in its own) a private /dev/shm of 4 MiB in a mount namespace of its
 * own: one default channel (2 MiB) fits, a second does not. 0, saying why the test is skipped, without root or
 * where mounting is refused. */
static int private_small_shm(void)
{
    if (geteuid() != 0) {
        printf("    skipped: a private tmpfs needs root (unshare -m, mount)\n");
        return 0;
    }
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("sipc-test", "/dev/shm", "tmpfs", 0, "size=4m,mode=1777") != 0) {
        printf("    skipped: cannot mount a private tmpfs here (%s)\n", strerror(errno));
        return 0;
    }
    return 1;
}

void test_full_shm_is_no_memory_not_sigbus(void)
{
    if (!private_small_shm())
        return;
    const char *first = test_name("fits");
    const char *second = test_name("full");
    sipc_channel *server = NULL, *client = NULL, *other = NULL;
    CHECK_RC(sipc_open(first, NULL, &server), SIPC_OK);
    int rc = sipc_open(second, NULL, &other);
    if (rc == SIPC_OK) {
        /* Before pages were reserved at creation, this open "worked" and touching the ring died. */
        sipc_channel *other_client = NULL;
        CHECK_RC(sipc_open(second, NULL, &other_client), SIPC_OK);
        fill_and_drain(other, other_client);
        CHECK(!"the second channel should not fit");
    }
    CHECK_RC(rc, SIPC_ERR_NO_MEMORY);
    const char *message = sipc_last_error_message();
    seg_geometry g;
    CHECK_RC(sipc_geometry_for(SIPC_DEFAULT_MAX_MESSAGE, SIPC_DEFAULT_QUEUE_DEPTH, &g), SIPC_OK);
    char needs[64];
    snprintf(needs, sizeof needs, "needs %llu KiB", (unsigned long long)((g.segment_size + 1023) / 1024));
    if (strstr(message, "/dev/shm (4096 KiB in all)") == NULL || strstr(message, needs) == NULL)
        test_fail(__FILE__, __LINE__, "message: %s", message);
    CHECK(!shm_exists(second)); /* the half-made object is gone */
    /* The channel that fits is fully backed: a queue of the largest records can be written. */
    CHECK_RC(sipc_open(first, NULL, &client), SIPC_OK);
    CHECK(fill_and_drain(server, client) == 0);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    /* With the space back, the second one fits. */
    CHECK_RC(sipc_open(second, NULL, &other), SIPC_OK);
    CHECK_RC(sipc_close(other), SIPC_OK);
}

/* A channel whose creator (another implementation) did not reserve its pages, found by an opener when
 * /dev/shm cannot back them: the opener's reservation fails (NO_MEMORY) before it maps the object, where
 * touching the pages would have died of SIGBUS. The object: a copy of a real channel's header, renamed,
 * in an object of the full size that holds only that page (a private 4 MiB /dev/shm; the real channel
 * takes 2 MiB, so the copy's 2 MiB no longer fit). */
void test_full_shm_opener_of_an_unreserved_channel_gets_no_memory(void)
{
    if (!private_small_shm())
        return;
    const char *real = test_name("real");
    const char *sparse = test_name("sparse");
    sipc_channel *server = NULL, *opener = NULL;
    CHECK_RC(sipc_open(real, NULL, &server), SIPC_OK);
    raw_map original;
    CHECK(raw_open(real, &original) == 0);
    int fd = raw_object_create(sparse, original.size);
    CHECK(fd >= 0);
    void *bytes = MAP_FAILED;
    if (fd >= 0)
        bytes = mmap(NULL, SIPC_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(bytes != MAP_FAILED);
    if (bytes != MAP_FAILED) {
        memcpy(bytes, original.base, SIPC_HEADER_SIZE);
        seg_header *header = bytes;
        memset(header->name, 0, sizeof header->name);
        header->name_length = (uint32_t)strlen(sparse);
        memcpy(header->name, sparse, header->name_length);
        munmap(bytes, SIPC_HEADER_SIZE);
    }
    if (fd >= 0)
        close(fd);
    raw_close(&original);
    CHECK_RC(sipc_open(sparse, NULL, &opener), SIPC_ERR_NO_MEMORY);
    CHECK(opener == NULL);
    const char *message = sipc_last_error_message();
    if (strstr(message, "/dev/shm (4096 KiB in all)") == NULL)
        test_fail(__FILE__, __LINE__, "message: %s", message);
    raw_object_unlink(sparse);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

/* ---- a process that exits with channels open leaves no name behind ---- */

typedef struct exit_plan {
    char both_ends[64];  /* opened twice (server and client) by the child */
    char shared[64];     /* the test process is its server, the child its client */
    int call_exit;       /* 1: exit(0) from inside; 0: return from main */
} exit_plan;

static int exit_with_channels_open(void *arg)
{
    exit_plan *plan = arg;
    sipc_channel *server = NULL, *client = NULL, *shared = NULL;
    CHILD_CHECK(sipc_open(plan->both_ends, NULL, &server) == SIPC_OK);
    CHILD_CHECK(sipc_open(plan->both_ends, NULL, &client) == SIPC_OK);
    CHILD_CHECK(sipc_send(server, "bye", 3, 1000) == SIPC_OK);
    CHILD_CHECK(sipc_open(plan->shared, NULL, &shared) == SIPC_OK);
    CHILD_CHECK(sipc_get_role(shared) == SIPC_ROLE_CLIENT);
    if (plan->call_exit)
        exit(0);
    return 0; /* from main, through the harness */
}

static int names_cleaned_at_exit(int call_exit)
{
    exit_plan plan = {.call_exit = call_exit};
    snprintf(plan.both_ends, sizeof plan.both_ends, "%s", test_name(call_exit ? "xboth" : "rboth"));
    snprintf(plan.shared, sizeof plan.shared, "%s", test_name(call_exit ? "xshared" : "rshared"));
    sipc_channel *server = NULL;
    if (sipc_open(plan.shared, NULL, &server) != SIPC_OK)
        return 0;
    pid_t pid = spawn_child(exit_with_channels_open, &plan, sizeof plan);
    int ok = pid > 0 && reap_child(pid) == 0;
    ok &= !shm_exists(plan.both_ends); /* it was the last user of both ends */
    /* The shared channel stays (we still hold it); the child's client role was given back. */
    sipc_channel_info info = {.struct_size = sizeof info};
    ok &= sipc_stat(plan.shared, &info) == SIPC_OK && info.state == SIPC_STATE_PEER_GONE && info.client_pid == 0;
    ok &= sipc_close(server) == SIPC_OK;
    ok &= !shm_exists(plan.shared);
    return ok;
}

void test_exit_releases_open_channels(void)
{
    CHECK(names_cleaned_at_exit(0));
    CHECK(names_cleaned_at_exit(1));
}

void test_exit_of_forked_child_keeps_parent_channels(void)
{
    const char *name = test_name("parent");
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        exit(0); /* runs the exit handler in the child: the parent's roles must survive it */
    CHECK(pid > 0);
    CHECK_RC(reap_child(pid), 0);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_CONNECTED);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK(!shm_exists(name));
}

/* ---- a peer that exec()s without closing is gone ---- */

typedef struct exec_plan {
    char name[64];
    int ready_fd; /* write end of a pipe: one byte once attached */
    int inherit;  /* SIPC_OPEN_INHERIT_HANDLES: the new program keeps the handle, and the role */
} exec_plan;

static int attach_then_exec(void *arg)
{
    exec_plan *plan = arg;
    sipc_options o;
    sipc_options_init(&o);
    o.flags = plan->inherit ? SIPC_OPEN_INHERIT_HANDLES : 0;
    sipc_channel *client = NULL;
    CHILD_CHECK(sipc_open(plan->name, &o, &client) == SIPC_OK);
    CHILD_CHECK(sipc_connect(client, 5000) == SIPC_OK);
    CHILD_CHECK(write(plan->ready_fd, "r", 1) == 1);
    /* Same pid, same start time, another program: it will never call sipc again. */
    execl("/bin/sleep", "sleep", "60", (char *)NULL);
    return 127;
}

static pid_t start_exec_peer(const char *name, int inherit, int ready[2])
{
    exec_plan plan = {.inherit = inherit};
    snprintf(plan.name, sizeof plan.name, "%s", name);
    if (pipe(ready) != 0)
        return -1;
    plan.ready_fd = ready[1];
    pid_t pid = spawn_child(attach_then_exec, &plan, sizeof plan);
    char byte;
    if (pid < 0 || read(ready[0], &byte, 1) != 1)
        return -1;
    return pid;
}

static void stop_exec_peer(pid_t pid, int ready[2])
{
    kill(pid, SIGKILL);
    reap_child(pid);
    close(ready[0]);
    close(ready[1]);
}

void test_peer_that_execs_is_gone(void)
{
    const char *name = test_name("exec");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    int ready[2];
    pid_t pid = start_exec_peer(name, 0, ready);
    CHECK(pid > 0);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    /* A blocked receive learns it (the watcher looks at the token every 250 ms); the generous
     * timeout only keeps a broken build from hanging. */
    uint8_t buffer[16];
    size_t length = 0;
    int rc = sipc_recv(server, buffer, sizeof buffer, &length, 30000);
    sipc_channel_info info = {.struct_size = sizeof info};
    int stat_rc = sipc_stat(name, &info);
    sipc_channel *next = NULL;
    int open_rc = sipc_open(name, NULL, &next); /* the role is free for the next process */
    stop_exec_peer(pid, ready);
    CHECK_RC(rc, SIPC_ERR_PEER_GONE);
    CHECK_RC(stat_rc, SIPC_OK);
    CHECK(info.client_pid == pid && info.client_alive == 0);
    CHECK_RC(open_rc, SIPC_OK);
    CHECK_RC(sipc_close(next), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK(!shm_exists(name));
}

void test_inherited_handle_keeps_role_across_exec(void)
{
    /* SIPC_OPEN_INHERIT_HANDLES: the exec()ed program keeps the handle and with it the role. */
    const char *name = test_name("inherit");
    sipc_channel *server = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    int ready[2];
    pid_t pid = start_exec_peer(name, 1, ready);
    CHECK(pid > 0);
    CHECK_RC(sipc_connect(server, 5000), SIPC_OK);
    sipc_channel_info info = {.struct_size = sizeof info};
    int stat_rc = sipc_stat(name, &info);
    sipc_channel *third = NULL;
    int open_rc = sipc_open(name, NULL, &third);
    stop_exec_peer(pid, ready);
    CHECK_RC(stat_rc, SIPC_OK);
    CHECK(info.state == SIPC_STATE_CONNECTED && info.client_alive == 1);
    CHECK_RC(open_rc, SIPC_ERR_BUSY);
    CHECK_RC(sipc_close(server), SIPC_OK);
    CHECK(!shm_exists(name));
}
#endif /* !_WIN32 */
