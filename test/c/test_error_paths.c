/*
 * test_error_paths.c — the error returns of channel.c, segment.c and observer.c that no other test
 * reached (found with `make -C helper coverage`): each is driven here and its status checked.
 */
#include "harness.h"
#include "layout.h"

#include <stddef.h>
#include <string.h>
#include <unistd.h>

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/mman.h>

/* A shared-memory object of `size` zero bytes under the channel's key, as a creator that died before
 * writing anything (or a stranger) leaves it. Returns its descriptor. */
static int make_raw_object(const char *name, off_t size)
{
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(name, key);
    char path[64];
    snprintf(path, sizeof path, "/%s", key);
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0 && ftruncate(fd, size) != 0) {
        close(fd);
        shm_unlink(path);
        return -1;
    }
    return fd;
}
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
    CHECK_RC(sipc_close(ch), SIPC_OK);
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
    size_t tail = offsetof(seg_header, rings) + (size_t)SIPC_DIR_TO_SERVER * sizeof(seg_ring) + offsetof(seg_ring, tail);
    CHECK(write_segment_u64(name, tail, 5) == 0); /* head is 0: tail ahead of head */
    CHECK_RC(sipc_open(name, NULL, &client), SIPC_ERR_CORRUPT);
    CHECK(write_segment_u64(name, tail, 0) == 0);
    size_t head = offsetof(seg_header, rings) + (size_t)SIPC_DIR_TO_CLIENT * sizeof(seg_ring) + offsetof(seg_ring, head);
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
    int fd = make_raw_object(name, 100);
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
    fd = make_raw_object(name, (off_t)g.segment_size);
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
#endif /* !_WIN32 */
