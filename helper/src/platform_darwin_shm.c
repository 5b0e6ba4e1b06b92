/*
 * platform_darwin_shm.c — segments as POSIX shared memory on macOS. What differs from Linux
 * (platform_posix_shm.c):
 * - Objects live in a kernel namespace, not in a directory: nothing but a shm object can squat a key
 *   (no FIFOs, devices or links), the namespace cannot be enumerated, and "is this handle still the
 *   named object" reopens the name and compares identities. Listing goes through the lock files below:
 *   every channel opened on this machine has one, so the keys of those whose object still exists are
 *   the listing (a channel whose lock file someone deleted from /tmp is missing from it).
 * - A shm descriptor takes neither flock nor fcntl locks: the open-time lock is flock on a lock file
 *   /tmp/<key>.lock (created with the segment's mode, kept after the segment is removed: unlinking a
 *   lock file others may hold would let two openers in at once). There are no liveness tokens.
 * - ftruncate sizes an object once, and there is no posix_fallocate: pages come on first touch.
 * - shm_open takes only O_RDONLY/O_RDWR/O_CREAT/O_EXCL/O_TRUNC: close-on-exec is set afterwards.
 */
#if defined(__APPLE__)

#include "deadline.h"
#include "platform_posix.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_DIR "/tmp/"
#define LOCK_SUFFIX ".lock"

struct sipc_os_segment {
    int fd;
    int lock_fd; /* -1 until the first lock */
    int readonly;
    int inherit;
    uint32_t mode;
    char path[SIPC_OS_KEY_MAX + 2]; /* "/" + key */
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
    segment->lock_fd = -1;
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
    *out = segment;
    return SIPC_OK;
}

void sipc_os_segment_close(sipc_os_segment *segment)
{
    if (segment == NULL)
        return;
    if (segment->lock_fd >= 0)
        close(segment->lock_fd);
    close(segment->fd);
    free(segment);
}

/* Opens (creating with the segment's mode) the lock file of the segment's key. Refuses a symbolic
 * link or anything but a regular file another user may have put in /tmp under that name. */
static int open_lock_file(sipc_os_segment *segment)
{
    char path[sizeof LOCK_DIR + SIPC_OS_KEY_MAX + sizeof LOCK_SUFFIX];
    snprintf(path, sizeof path, LOCK_DIR "%s" LOCK_SUFFIX, segment->path + 1);
    int fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, (mode_t)segment->mode);
    if (fd < 0) {
        int rc = posix_fail_errno();
        sipc_record_error_detail("cannot open the lock file %s of the channel", path);
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        sipc_record_error_detail("%s is not a regular file: it cannot lock the channel", path);
        return SIPC_ERR_NOT_A_CHANNEL;
    }
    segment->lock_fd = fd;
    return SIPC_OK;
}

/* flock(LOCK_EX), polled (LOCK_NB) until `deadline`: a holder that never lets go costs the caller its timeout,
 * not its thread. Anyone who can open the lock file can flock it, and locks are held for microseconds, so the
 * first try nearly always succeeds; the pause between tries doubles up to 5 ms. */
#define LOCK_POLL_FIRST_US 20u
#define LOCK_POLL_MAX_US 5000u

static int flock_until(int fd, uint64_t deadline, const char *path)
{
    uint32_t pause_us = LOCK_POLL_FIRST_US;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return SIPC_OK;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK)
            return posix_fail_errno();
        uint64_t now = sipc_os_monotonic_ns();
        if (now >= deadline) {
            sipc_record_error_detail("%s stayed locked by another process until the timeout", path);
            return SIPC_ERR_TIMEOUT;
        }
        uint64_t remaining_us = sipc_deadline_us_left_at(deadline, now);
        sipc_os_sleep_us(remaining_us < pause_us ? (uint32_t)remaining_us : pause_us);
        pause_us = pause_us >= LOCK_POLL_MAX_US / 2 ? LOCK_POLL_MAX_US : pause_us * 2;
    }
}

int sipc_os_segment_lock(sipc_os_segment *segment, uint64_t deadline)
{
    if (segment->lock_fd < 0) {
        int rc = open_lock_file(segment);
        if (rc != SIPC_OK)
            return rc;
    }
    return flock_until(segment->lock_fd, deadline, segment->path);
}

void sipc_os_segment_unlock(sipc_os_segment *segment)
{
    if (segment->lock_fd >= 0)
        flock(segment->lock_fd, LOCK_UN);
}

int sipc_os_segment_hold_token(sipc_os_segment *segment, uint32_t index)
{
    (void)segment;
    (void)index;
    return 0; /* no locks on shm descriptors: no tokens */
}

int sipc_os_segment_token_held(sipc_os_segment *segment, uint32_t index)
{
    (void)segment;
    (void)index;
    return -1;
}

int sipc_os_segment_is_current(sipc_os_segment *segment)
{
    struct stat mine;
    if (fstat(segment->fd, &mine) != 0)
        return posix_fail_errno();
    int fd = shm_open(segment->path, O_RDONLY);
    if (fd < 0)
        return errno == ENOENT ? 0 : posix_fail_errno();
    struct stat named;
    int rc = fstat(fd, &named);
    int err = errno;
    close(fd);
    if (rc != 0) {
        sipc_os_record_error(err);
        return sipc_os_status_from_error(err);
    }
    return named.st_dev == mine.st_dev && named.st_ino == mine.st_ino;
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

int sipc_os_segment_resize(sipc_os_segment *segment, uint64_t size)
{
    return posix_fd_truncate(segment->fd, size);
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

int sipc_os_segment_unlink(const char *key)
{
    return posix_shm_unlink_key(key);
}

/* 1 if the shm object of `key` exists: opening it succeeds, or is refused for its permissions (another
 * user's channel is still listed, as on Linux, and the caller reports it unusable). */
static int shm_key_exists(const char *key)
{
    char path[SIPC_OS_KEY_MAX + 2];
    if (posix_shm_path(key, path, sizeof path) != SIPC_OK)
        return 0;
    int fd = shm_open(path, O_RDONLY);
    if (fd >= 0) {
        close(fd);
        return 1;
    }
    return errno == EACCES;
}

/* macOS cannot enumerate shm objects: the keys are read from the lock files' names in LOCK_DIR. */
int sipc_os_segment_list(sipc_os_key_visitor visit, void *user)
{
    DIR *dir = opendir(LOCK_DIR);
    if (dir == NULL)
        return errno == ENOENT ? SIPC_OK : posix_fail_errno();
    const size_t prefix_length = strlen(SIPC_OS_KEY_PREFIX);
    const size_t suffix_length = strlen(LOCK_SUFFIX);
    int result = SIPC_OK;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t length = strlen(entry->d_name);
        if (strncmp(entry->d_name, SIPC_OS_KEY_PREFIX, prefix_length) != 0 || length <= suffix_length ||
            length - suffix_length > SIPC_OS_KEY_MAX ||
            strcmp(entry->d_name + length - suffix_length, LOCK_SUFFIX) != 0)
            continue;
        char key[SIPC_OS_KEY_MAX + 1];
        memcpy(key, entry->d_name, length - suffix_length);
        key[length - suffix_length] = '\0';
        if (!shm_key_exists(key))
            continue; /* a removed channel's lock file stays (see above) */
        result = visit(key, user);
        if (result != 0)
            break;
    }
    closedir(dir);
    return result;
}

#endif
