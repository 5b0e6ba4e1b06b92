/*
 * test_error_paths.c — the error returns of channel.c, segment.c and observer.c that no other test
 * reached (found with `make -C helper coverage`): each is driven here and its status checked.
 */
#include "harness.h"
#include "layout.h"
#include "deadline.h"
#include "nowait.h"
#include "platform.h"
#include "test_hooks.h"

#include <stddef.h>
#include <string.h>
#include <unistd.h>

#if !defined(_WIN32)
#include <sys/mman.h>
#endif

static int write_segment_u64(const char *name, size_t offset, uint64_t value)
{
    raw_map view;
    if (raw_open(name, &view) != 0)
        return -1;
    int ok = offset + sizeof value <= view.size;
    if (ok)
        memcpy(view.base + offset, &value, sizeof value);
    raw_close(&view);
    return ok ? 0 : -1;
}

/* Arguments the by-name and handle calls refuse before touching anything. */
void test_error_paths_bad_arguments(void)
{
    const char *name = test_name("badargs");
    sipc_options o = options_with(SIPC_MAX_MESSAGE_LIMIT, SIPC_MAX_QUEUE_DEPTH); /* each in range, rings > 1 GiB */
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, &o, &ch), SIPC_ERR_INVALID_ARGUMENT);
    CHECK(ch == NULL && !shm_exists(name));
    CHECK_RC(sipc_list(NULL, NULL), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_observe(name, NULL), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_observer_cancel(NULL), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_uncancel(NULL), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_list_entries(NULL, NULL), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    CHECK_RC(sipc_info(ch, NULL), SIPC_ERR_INVALID_ARGUMENT);
    sipc_channel_info info = {.struct_size = sizeof info - 1};
    CHECK_RC(sipc_info(ch, &info), SIPC_ERR_INVALID_ARGUMENT);
    info.struct_size = sizeof info;
    CHECK_RC(sipc_info(ch, &info), SIPC_OK);
    /* A NULL handle, refused before the call looks at it. */
    CHECK_RC(sipc_info(NULL, &info), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_channel_info_known(NULL, &info), SIPC_ERR_INVALID_ARGUMENT);
    CHECK_RC(sipc_channel_connect_now(NULL), SIPC_ERR_INVALID_ARGUMENT);
    /* Observe options of an older, smaller struct: refused even though the channel exists. */
    sipc_observe_options observe_options;
    sipc_observe_options_init(&observe_options);
    observe_options.struct_size = sizeof observe_options - 1;
    sipc_observer *ob = NULL;
    CHECK_RC(sipc_observe_ex(name, &observe_options, &ob), SIPC_ERR_INVALID_ARGUMENT);
    CHECK(ob == NULL);
    CHECK_RC(sipc_close(ch), SIPC_OK);
}

/* The guards of the header check and the lock word, called directly: a mapping smaller than a header
 * (none at all: NOT_FOUND, being created; some: CORRUPT), and a process identity that makes no lock word. */
void test_error_paths_header_size_and_lock_word_guards(void)
{
    const char *name = test_name("guards");
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    raw_map view;
    CHECK(raw_open(name, &view) == 0);
    seg_geometry g;
    CHECK_RC(sipc_validate_header(view.base, view.size, &g), SIPC_OK); /* the same header, all of it mapped */
    CHECK_RC(sipc_validate_header(view.base, 0, &g), SIPC_ERR_NOT_FOUND);
    CHECK_RC(sipc_validate_header(view.base, SIPC_HEADER_SIZE - 1, &g), SIPC_ERR_CORRUPT);
    raw_close(&view);
    CHECK_RC(sipc_close(ch), SIPC_OK);

    static uint64_t page[SIPC_HEADER_SIZE / sizeof(uint64_t)];
    seg_header *header = (seg_header *)(void *)page;
    sipc_os_process nobody = {0, 12345};
    CHECK_RC(sipc_segment_lock(NULL, header, &nobody, sipc_deadline_after(0), "sipc.guards"), SIPC_ERR_SYSTEM);
    nobody.pid = (int64_t)UINT32_MAX + 1;
    CHECK_RC(sipc_segment_lock(NULL, header, &nobody, sipc_deadline_after(0), "sipc.guards"), SIPC_ERR_SYSTEM);
    CHECK(header->lock_owner == 0); /* no word was written */
}

/* Calls on a handle that another thread is closing (sipc_close sets `closed`, then waits for the calls
 * inside to leave): each new call, and a second close, return CLOSED. The calls are made from inside a
 * connect of the handle (at its test point), which keeps the first close waiting while they run. */
typedef struct closing_plan {
    sipc_channel *channel;
    int in_hook;  /* atomic: the connect reached its test point */
    int info_rc;  /* the first status of sipc_info that is not OK */
    int known_rc; /* sipc_channel_info_known, then */
    int now_rc;   /* sipc_channel_connect_now */
    int close_rc; /* a second sipc_close */
    int connect_rc;
} closing_plan;

static void calls_while_closing(void *arg, sipc_test_point point)
{
    closing_plan *plan = arg;
    if (point != SIPC_TEST_CONNECT_LOOKED_AT_ROLE || __atomic_load_n(&plan->in_hook, __ATOMIC_ACQUIRE))
        return;
    __atomic_store_n(&plan->in_hook, 1, __ATOMIC_RELEASE);
    sipc_channel_info info = {.struct_size = sizeof info};
    uint64_t give_up = now_ns() + 20000000000ull; /* bounds a hang only: the close comes at once */
    int rc;
    while ((rc = sipc_info(plan->channel, &info)) == SIPC_OK && now_ns() < give_up)
        sleep_us(100);
    plan->info_rc = rc;
    plan->known_rc = sipc_channel_info_known(plan->channel, &info);
    plan->now_rc = sipc_channel_connect_now(plan->channel);
    plan->close_rc = sipc_close(plan->channel);
}

static void *connect_with_hook(void *arg)
{
    closing_plan *plan = arg;
    plan->connect_rc = sipc_connect(plan->channel, SIPC_INFINITE);
    return NULL;
}

void test_error_paths_calls_while_another_thread_closes(void)
{
    const char *name = test_name("closing");
    closing_plan plan = {0};
    CHECK_RC(sipc_open(name, NULL, &plan.channel), SIPC_OK);
    sipc_channel_set_test_hook(plan.channel, calls_while_closing, &plan);
    sipc_os_thread id;
    CHECK(sipc_os_thread_create(&id, connect_with_hook, &plan) == SIPC_OK);
    while (!__atomic_load_n(&plan.in_hook, __ATOMIC_ACQUIRE))
        sleep_us(100); /* waits for the state: the connect is inside the handle */
    CHECK_RC(sipc_close(plan.channel), SIPC_OK);
    sipc_os_thread_join(&id);
    CHECK_RC(plan.info_rc, SIPC_ERR_CLOSED);
    CHECK_RC(plan.known_rc, SIPC_ERR_CLOSED);
    CHECK_RC(plan.now_rc, SIPC_ERR_CLOSED);
    CHECK_RC(plan.close_rc, SIPC_ERR_CLOSED);
    CHECK_RC(plan.connect_rc, SIPC_ERR_CLOSED);
    CHECK(!shm_exists(name));
}

/* SIPC_OPEN_NO_CREATE attaches only as a client: with the server gone and only a client left there is
 * no server to attach to, so NOT_FOUND, and nothing changes. */
void test_error_paths_no_create_without_a_server(void)
{
    const char *name = test_name("noserver");
    sipc_channel *server = NULL, *client = NULL, *third = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
    sipc_options o;
    sipc_options_init(&o);
    o.flags = SIPC_OPEN_NO_CREATE;
    CHECK_RC(sipc_open(name, &o, &third), SIPC_ERR_NOT_FOUND);
    CHECK(third == NULL);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.server_pid == 0 && info.client_alive == 1);
    CHECK_RC(sipc_open(name, NULL, &third), SIPC_OK); /* without the flag it takes the free server role */
    CHECK(sipc_get_role(third) == SIPC_ROLE_SERVER);
    CHECK_RC(sipc_close(third), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
}

/* A live channel whose ring indices were damaged (head behind tail): the next opener refuses it. */
void test_error_paths_damaged_ring_indices_at_attach(void)
{
    const char *name = test_name("badring");
    sipc_channel *server = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &server), SIPC_OK);
    size_t tail =
        offsetof(seg_header, rings) + (size_t)SIPC_DIR_TO_SERVER * sizeof(seg_ring) + offsetof(seg_ring, tail);
    CHECK(write_segment_u64(name, tail, 5) == 0); /* head is 0: tail ahead of head */
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_ERR_CORRUPT);
    CHECK(write_segment_u64(name, tail, 0) == 0);
    size_t head =
        offsetof(seg_header, rings) + (size_t)SIPC_DIR_TO_CLIENT * sizeof(seg_ring) + offsetof(seg_ring, head);
    CHECK(write_segment_u64(name, head, SIPC_DEFAULT_QUEUE_DEPTH + 1u) == 0); /* more queued than fits */
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_ERR_CORRUPT);
    CHECK(write_segment_u64(name, head, 0) == 0);
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(server), SIPC_OK);
}

#if !defined(_WIN32)
/* POSIX-only by nature: the objects are files of any size under /dev/shm. On Windows a key names the
 * library's own sections, whose size is fixed at creation; test/wine/win_tests.c covers squatted ones.
 * An object too small to hold a header is not removed without force; a header-sized object that was
 * never initialised (its creator died before writing the magic) is replaced by the next opener. */
void test_error_paths_small_and_uninitialised_objects(void)
{
    const char *name = test_name("rawobj");
    int fd = raw_object_create(name, 100);
    CHECK(fd >= 0);
    close(fd);
    sipc_channel_info small = {.struct_size = sizeof small};
    CHECK_RC(sipc_stat(name, &small), SIPC_ERR_CORRUPT);
    CHECK_RC(sipc_remove(name, 0), SIPC_ERR_CORRUPT);
    CHECK(shm_exists(name));
    CHECK_RC(sipc_remove(name, 1), SIPC_OK);
    CHECK(!shm_exists(name));

    seg_geometry g;
    CHECK_RC(sipc_geometry_for(SIPC_DEFAULT_MAX_MESSAGE, SIPC_DEFAULT_QUEUE_DEPTH, &g), SIPC_OK);
    fd = raw_object_create(name, g.segment_size);
    CHECK(fd >= 0);
    close(fd);
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    CHECK(sipc_get_role(ch) == SIPC_ROLE_SERVER);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.server_pid == getpid() && strcmp(info.name, name) == 0);
    CHECK_RC(sipc_close(ch), SIPC_OK);
    CHECK(!shm_exists(name));
}

/* An object of size 0 under the key (its creator has not sized it yet): an opener waits for it to be
 * finished, at most its timeout (then TIMEOUT), before it replaces it after 0.5 s. A timeout of 0 gives up
 * after the first look. */
void test_error_paths_unfinished_object_times_out(void)
{
    const char *name = test_name("unfinished");
    int fd = raw_object_create(name, 0);
    CHECK(fd >= 0);
    close(fd);
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open_ex(name, NULL, 0, &ch), SIPC_ERR_TIMEOUT);
    CHECK(ch == NULL && shm_exists(name)); /* left to its creator */
    raw_object_unlink(name);
}

/* A copy of a channel's object under another key: listing reports it as NOT_A_CHANNEL (its header names a
 * channel that lives elsewhere), named after its own key. */
typedef struct listed {
    char key[SIPC_OS_KEY_MAX + 1];
    int status;
    int found;
    char name[SIPC_NAME_MAX + 1];
    char detail[256];
} listed;

static int find_listed(const sipc_list_entry *entry, void *user)
{
    listed *want = user;
    if (strcmp(entry->key, want->key) == 0) {
        want->found++;
        want->status = entry->status;
        snprintf(want->name, sizeof want->name, "%s", entry->name);
        snprintf(want->detail, sizeof want->detail, "%s", entry->detail);
    }
    return 0;
}

void test_error_paths_header_under_another_key(void)
{
    const char *name = test_name("original");
    const char *copy = test_name("copy");
    sipc_channel *ch = NULL;
    CHECK_RC(sipc_open(name, NULL, &ch), SIPC_OK);
    raw_map original;
    CHECK(raw_open(name, &original) == 0);
    int fd = raw_object_create(copy, original.size);
    CHECK(fd >= 0);
    void *bytes = mmap(NULL, original.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(bytes != MAP_FAILED);
    if (bytes != MAP_FAILED) {
        memcpy(bytes, original.base, original.size);
        munmap(bytes, original.size);
    }
    close(fd);
    raw_close(&original);
    listed want = {0};
    sipc_key_for_name(copy, want.key);
    CHECK_RC(sipc_list_entries(find_listed, &want), SIPC_OK);
    raw_object_unlink(copy);
    CHECK(want.found == 1);
    CHECK_RC(want.status, SIPC_ERR_NOT_A_CHANNEL);
    /* Named after its own key: the name the key stands for, or the key itself when that is a hash. */
    const char *own = strcmp(want.key + strlen(SIPC_OS_KEY_PREFIX), copy) == 0 ? copy : want.key;
    if (strcmp(want.name, own) != 0)
        test_fail(__FILE__, __LINE__, "listed as '%s', not '%s'", want.name, own);
    if (strstr(want.detail, "which lives under") == NULL)
        test_fail(__FILE__, __LINE__, "detail: %s", want.detail);
    CHECK_RC(sipc_close(ch), SIPC_OK);
}

/* A creator that finds its new object's lock word taken (a stranger sized it and wrote a live holder's
 * word between the create and the lock: here this process's own word, which counts as another thread's)
 * waits for the word until its timeout: TIMEOUT, and the object it made is removed. */
static void lock_the_new_object(void *arg, sipc_test_point point)
{
    const char *name = arg;
    if (point != SIPC_TEST_KEY_CREATED_OBJECT)
        return;
    int fd = raw_object_open(name);
    if (fd < 0)
        return;
    void *bytes = MAP_FAILED;
    if (ftruncate(fd, SIPC_HEADER_SIZE) == 0)
        bytes = mmap(NULL, SIPC_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    sipc_os_process self;
    if (bytes != MAP_FAILED && sipc_os_process_self(&self) == SIPC_OK) {
        uint64_t word = sipc_lock_word(&self);
        memcpy((uint8_t *)bytes + offsetof(seg_header, lock_owner), &word, sizeof word);
    }
    if (bytes != MAP_FAILED)
        munmap(bytes, SIPC_HEADER_SIZE);
    close(fd);
}

void test_error_paths_creator_finds_its_lock_word_taken(void)
{
    const char *name = test_name("taken");
    sipc_key_set_test_hook(lock_the_new_object, (void *)name);
    sipc_channel *ch = NULL;
    int rc = sipc_open_ex(name, NULL, 0, &ch);
    sipc_key_set_test_hook(NULL, NULL);
    CHECK_RC(rc, SIPC_ERR_TIMEOUT);
    CHECK(ch == NULL && !shm_exists(name));
}
#endif /* !_WIN32 */
