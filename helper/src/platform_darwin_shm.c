/*
 * platform_darwin_shm.c — segments as POSIX shared memory on macOS. What differs from Linux
 * (platform_posix_shm.c):
 * - Objects live in a kernel namespace, not in a directory: nothing but a shm object can squat a key
 *   (no FIFOs, devices or links), the namespace cannot be enumerated, and "is this handle still the
 *   named object" reopens the name and compares the instance ids the creators wrote into their objects (fstat
 *   of a shm descriptor gives no device or inode; platform_darwin_instance.c). Listing goes through listing files: the
 *   creator of a channel leaves an empty /tmp/<key>.lock (the name earlier versions flocked), so the keys
 *   of those whose object still exists are the listing (a channel whose file someone deleted from /tmp,
 *   or could not be made, is missing from it; by name it works as ever). Removing a key removes its
 *   listing and token files too (platform_darwin_files.c says how without racing a new creator).
 * - No OS lock: the open-time lock is the header's lock word (segment.c), as on Linux. (It used to be
 *   flock on the listing file, which anyone who could open that file could hold, delaying every opener
 *   by its timeout.) A shm descriptor takes neither flock nor fcntl locks: liveness tokens are shared
 *   flocks on /tmp/<key>.token<index> (platform_darwin_files.c), held by a descriptor of the handle.
 * - ftruncate sizes an object once, and there is no posix_fallocate: pages come on first touch.
 * - shm_open takes only O_RDONLY/O_RDWR/O_CREAT/O_EXCL/O_TRUNC: close-on-exec is set afterwards.
 */
#if defined(__APPLE__)

#include "platform_darwin_files.h"
#include "platform_darwin_instance.h"
#include "platform_posix.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct sipc_os_segment {
    int fd;
    int readonly;
    int inherit;
    uint32_t mode;
    char path[SIPC_OS_KEY_MAX + 2]; /* "/" + key */
    int token_fd[SIPC_OS_TOKENS];   /* the liveness tokens this handle holds, -1 for none */
};

static void set_close_on_exec(int fd, int inherit)
{
    int fdflags = fcntl(fd, F_GETFD);
    if (fdflags >= 0)
        fcntl(fd, F_SETFD, inherit ? fdflags & ~FD_CLOEXEC : fdflags | FD_CLOEXEC);
}

int sipc_os_segment_open(const char *key, uint32_t flags, uint32_t mode, uint64_t deadline, sipc_os_segment **out)
{
    (void)deadline; /* opening takes no lock here */
    *out = NULL;
    sipc_os_segment *segment = calloc(1, sizeof *segment);
    if (segment == NULL) {
        sipc_os_record_error(ENOMEM);
        return SIPC_ERR_NO_MEMORY;
    }
    int rc = posix_shm_path(key, segment->path, sizeof segment->path);
    if (rc != SIPC_OK) {
        free(segment);
        return rc;
    }
    segment->readonly = (flags & SIPC_OS_SEG_READONLY) != 0;
    segment->inherit = (flags & SIPC_OS_SEG_INHERIT) != 0;
    segment->mode = mode & 0777;
    for (uint32_t i = 0; i < SIPC_OS_TOKENS; i++)
        segment->token_fd[i] = -1;
    int oflags = segment->readonly ? O_RDONLY : O_RDWR;
    if (flags & SIPC_OS_SEG_CREATE)
        oflags |= O_CREAT | O_EXCL;
    int fd = shm_open(segment->path, oflags, (mode_t)segment->mode);
    if (fd < 0) {
        int err = errno;
        free(segment);
        if ((flags & SIPC_OS_SEG_CREATE) && err == EEXIST)
            return SIPC_OS_EXISTS;
        sipc_os_record_error(err);
        return sipc_os_status_from_error(err);
    }
    set_close_on_exec(fd, segment->inherit);
    if ((flags & SIPC_OS_SEG_CREATE) && fchmod(fd, (mode_t)segment->mode) != 0) {
        /* shm_open applied the umask; set exactly the bits asked for. */
        rc = posix_fail_errno();
        shm_unlink(segment->path);
        close(fd);
        free(segment);
        return rc;
    }
    segment->fd = fd;
    if (flags & SIPC_OS_SEG_CREATE)
        darwin_listing_leave(DARWIN_FILES_DIR, segment->path + 1); /* best effort: else only missing from listings */
    *out = segment;
    return SIPC_OK;
}

void sipc_os_segment_close(sipc_os_segment *segment)
{
    if (segment == NULL)
        return;
    for (uint32_t i = 0; i < SIPC_OS_TOKENS; i++) {
        if (segment->token_fd[i] >= 0)
            darwin_token_give_back(DARWIN_FILES_DIR, segment->path + 1, i, segment->token_fd[i]);
    }
    close(segment->fd);
    free(segment);
}

/* Nothing of the OS needs serialising here: the open-time lock is the header's lock word (segment.c), which
 * only a process that can write the segment can hold. */
int sipc_os_segment_lock(sipc_os_segment *segment, uint64_t deadline)
{
    (void)segment;
    (void)deadline;
    return SIPC_OK;
}

void sipc_os_segment_unlock(sipc_os_segment *segment)
{
    (void)segment;
}

int sipc_os_segment_hold_token(sipc_os_segment *segment, uint32_t index)
{
    if (index >= SIPC_OS_TOKENS)
        return 0;
    if (segment->token_fd[index] >= 0)
        return 1;
    /* Whoever may read the segment may test the token: the file gets the segment's read bits (from the object
     * itself: an opener that did not create it was given no mode). */
    uint32_t mode = 0, uid = 0;
    if (posix_fd_owner(segment->fd, &mode, &uid) != SIPC_OK)
        return 0;
    /* Set once, before any other thread can probe through this handle. */
    return darwin_token_take(DARWIN_FILES_DIR, segment->path + 1, index, (mode & 0444u) | 0400u, segment->inherit,
                             &segment->token_fd[index]);
}

int sipc_os_segment_token_held(sipc_os_segment *segment, uint32_t index)
{
    if (index >= SIPC_OS_TOKENS)
        return -1;
    if (segment->token_fd[index] >= 0)
        return 1;
    return darwin_token_held(DARWIN_FILES_DIR, segment->path + 1, index);
}

/* proc_pidinfo can list a process's regions, but not which shm object each maps: unknown. */
int sipc_os_segment_mapped_by(sipc_os_segment *segment, int64_t pid)
{
    (void)segment;
    (void)pid;
    return -1;
}

static int open_named_object(void *context)
{
    const sipc_os_segment *segment = context;
    return shm_open(segment->path, O_RDONLY);
}

/* fstat of a shm descriptor has no device or inode here (both read 0): objects are told apart by the instance id
 * their creators wrote (platform_darwin_instance.c). */
int sipc_os_segment_is_current(sipc_os_segment *segment)
{
    return darwin_instance_is_current(segment->fd, open_named_object, segment);
}

int sipc_os_segment_size(sipc_os_segment *segment, uint64_t *size)
{
    return posix_fd_size(segment->fd, size);
}

int sipc_os_segment_reserve(sipc_os_segment *segment, uint64_t size)
{
    (void)segment;
    (void)size;
    return SIPC_OK; /* nothing reserves pages up front: they come on first touch */
}

/* Sized once, by its creator: it also writes the object's instance id, before it takes the lock word. */
int sipc_os_segment_resize(sipc_os_segment *segment, uint64_t size)
{
    int rc = posix_fd_truncate(segment->fd, size);
    if (rc == SIPC_OK && size >= (uint64_t)SIPC_OS_INSTANCE_OFFSET + SIPC_OS_INSTANCE_SIZE)
        rc = darwin_instance_write(segment->fd);
    return rc;
}

int sipc_os_segment_owner(sipc_os_segment *segment, uint32_t *mode, uint32_t *uid)
{
    return posix_fd_owner(segment->fd, mode, uid);
}

int sipc_os_segment_map(sipc_os_segment *segment, uint64_t size, void **base)
{
    return posix_fd_map(segment->fd, segment->readonly, 0, size, base);
}

void sipc_os_segment_unmap(sipc_os_segment *segment, void *base, uint64_t size)
{
    (void)segment;
    posix_unmap(base, size);
}

/* 1 if the shm object of `key` exists: opening it succeeds, or is refused for its permissions (another user's
 * channel); 0 if there is none; -1 if opening failed otherwise. */
static int shm_key_exists(const char *key, void *context)
{
    (void)context;
    char path[SIPC_OS_KEY_MAX + 2];
    if (posix_shm_path(key, path, sizeof path) != SIPC_OK)
        return 0;
    int fd = shm_open(path, O_RDONLY);
    if (fd >= 0) {
        close(fd);
        return 1;
    }
    return errno == ENOENT ? 0 : errno == EACCES ? 1 : -1;
}

/* The files go with the name: the listing file once the key names no object (a new object's creator may already
 * have made it again), and the token files nobody holds (a holder of an earlier object of the key keeps its own). */
int sipc_os_segment_unlink(const char *key, uint64_t deadline)
{
    (void)deadline; /* unlinking a name never waits here; removing its files waits at most ~1 ms for a lock */
    int rc = posix_shm_unlink_key(key);
    darwin_files_remove(DARWIN_FILES_DIR, key, shm_key_exists, NULL);
    return rc;
}

/* macOS cannot enumerate shm objects: the keys are read from the listing files' names in DARWIN_FILES_DIR. */
int sipc_os_segment_list(sipc_os_key_visitor visit, void *user)
{
    DIR *dir = opendir(DARWIN_FILES_DIR);
    if (dir == NULL)
        return errno == ENOENT ? SIPC_OK : posix_fail_errno();
    const size_t prefix_length = strlen(SIPC_OS_KEY_PREFIX);
    const size_t suffix_length = strlen(DARWIN_LISTING_SUFFIX);
    int result = SIPC_OK;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t length = strlen(entry->d_name);
        if (strncmp(entry->d_name, SIPC_OS_KEY_PREFIX, prefix_length) != 0 || length <= suffix_length ||
            length - suffix_length > SIPC_OS_KEY_MAX ||
            strcmp(entry->d_name + length - suffix_length, DARWIN_LISTING_SUFFIX) != 0)
            continue;
        char key[SIPC_OS_KEY_MAX + 1];
        memcpy(key, entry->d_name, length - suffix_length);
        key[length - suffix_length] = '\0';
        int exists = shm_key_exists(key, NULL);
        if (exists == 0) /* left by a channel removed without its files (a version that kept them): removed now */
            darwin_files_remove(DARWIN_FILES_DIR, key, shm_key_exists, NULL);
        if (exists != 1)
            continue;
        result = visit(key, user);
        if (result != 0)
            break;
    }
    closedir(dir);
    return result;
}

#endif
