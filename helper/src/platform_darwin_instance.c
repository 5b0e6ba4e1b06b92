/*
 * platform_darwin_instance.c — the instance id that tells one shm object of a key from the next one on macOS
 * (platform_darwin_instance.h; PROTOCOL.md, "macOS", "Current object").
 *
 * The id is 128 bits at SIPC_OS_INSTANCE_OFFSET: `low` then `high`, written once by the creator right after it has
 * sized the object (before it takes the lock word, so before anyone else can have initialised or attached to it),
 * `low` first and `high` last with release; `high` is never 0 in a written id, so a reader that loads `high` with
 * acquire and finds it non-zero also sees `low`. 0 means "no id yet": an object of size 0 (its creator has not sized
 * it), an object its creator is sizing right now, or one made by an implementation that writes none.
 *
 * Comparing (darwin_instance_is_current): the handle's own id is read, then the name is opened again and the id of
 * what it names is read, then (if that one has an id) the handle's own id once more. Ids are written once, so for
 * one and the same object the first read of its id happens before the second and that before the third: if the
 * named object has an id, the same object shows it in the third read; if it has none, the same object showed none
 * in the first read either. So: named id known -> the same object iff the third read equals it; named id unknown
 * and own id known (first read) -> another object; both unknown -> nothing tells them apart, counted as the same
 * (an object nobody has sized: its opener retries and gives it up after 0.5 s either way, section 5).
 *
 * Everything read is untrusted: an object too small to hold an id has none; a forged id can only make the handle
 * look replaced (or, copied from it, current), which a same-user process can cause anyway by removing the name.
 * Nothing blocks: the named object is opened without blocking by the caller, and only mapped and read.
 */
#if defined(__APPLE__) || defined(SIPC_TEST_DARWIN_FILES)

#include "platform_darwin_instance.h"

#include "platform_posix.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <sys/random.h> /* getentropy; glibc declares it in unistd.h */
#endif

typedef struct instance_id {
    uint64_t low, high; /* high == 0: none */
} instance_id;

/* The bytes mapped to reach the id. */
#define INSTANCE_VIEW_SIZE ((uint64_t)SIPC_OS_INSTANCE_OFFSET + SIPC_OS_INSTANCE_SIZE)

_Static_assert(SIPC_OS_INSTANCE_OFFSET % 8 == 0 && SIPC_OS_INSTANCE_SIZE == sizeof(instance_id),
               "the instance id is two aligned 64-bit words");

static instance_id new_instance_id(void)
{
    instance_id id = {0, 0};
    if (getentropy(&id, sizeof id) != 0) {
        /* Not expected (getentropy fails only for more than 256 bytes); still unique per creation on this machine:
         * no two creations share a process and a clock reading. */
        id.low = sipc_os_monotonic_ns() ^ ((uint64_t)getpid() << 32);
        id.high = sipc_os_wall_ns();
    }
    if (id.high == 0)
        id.high = 1; /* 0 means "none" */
    return id;
}

int darwin_instance_write(int fd)
{
    void *view = NULL;
    int rc = posix_fd_map(fd, 0, 0, INSTANCE_VIEW_SIZE, &view);
    if (rc != SIPC_OK)
        return rc;
    instance_id id = new_instance_id();
    uint64_t *words = (uint64_t *)((unsigned char *)view + SIPC_OS_INSTANCE_OFFSET);
    __atomic_store_n(&words[0], id.low, __ATOMIC_RELAXED);
    __atomic_store_n(&words[1], id.high, __ATOMIC_RELEASE);
    posix_unmap(view, INSTANCE_VIEW_SIZE);
    return SIPC_OK;
}

/* The id of the object open as fd (high 0: none): SIPC_OK or an error (recorded). */
static int read_instance_id(int fd, instance_id *id)
{
    *id = (instance_id){0, 0};
    uint64_t size = 0;
    int rc = posix_fd_size(fd, &size);
    if (rc != SIPC_OK || size < INSTANCE_VIEW_SIZE)
        return rc; /* not sized yet (or no segment at all): no id */
    void *view = NULL;
    rc = posix_fd_map(fd, 1, 0, INSTANCE_VIEW_SIZE, &view);
    if (rc != SIPC_OK)
        return rc;
    const uint64_t *words = (const uint64_t *)((const unsigned char *)view + SIPC_OS_INSTANCE_OFFSET);
    id->high = __atomic_load_n(&words[1], __ATOMIC_ACQUIRE);
    if (id->high != 0)
        id->low = __atomic_load_n(&words[0], __ATOMIC_RELAXED);
    posix_unmap(view, INSTANCE_VIEW_SIZE);
    return SIPC_OK;
}

int darwin_instance_is_current(int own_fd, darwin_open_named open_named, void *context)
{
    instance_id own_before, named, own_after;
    int rc = read_instance_id(own_fd, &own_before);
    if (rc != SIPC_OK)
        return rc;
    int named_fd = open_named(context);
    if (named_fd < 0)
        return errno == ENOENT ? 0 : posix_fail_errno();
    rc = read_instance_id(named_fd, &named);
    close(named_fd);
    if (rc != SIPC_OK)
        return rc;
    if (named.high == 0)
        return own_before.high == 0; /* ours has one and that one none: another object; neither: cannot tell */
    rc = read_instance_id(own_fd, &own_after);
    if (rc != SIPC_OK)
        return rc;
    return own_after.high == named.high && own_after.low == named.low;
}

#endif /* __APPLE__ || SIPC_TEST_DARWIN_FILES */
