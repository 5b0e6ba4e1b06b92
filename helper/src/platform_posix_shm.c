/*
 * platform_posix_shm.c — segments as POSIX shared memory: shm_open (objects under /dev/shm), mmap, and
 * the liveness tokens (open-file-description locks). The open-time lock is the header's lock word.
 */
#if defined(__linux__)

#include "platform_posix.h"
#if defined(SIPC_TEST_DARWIN_FILES)
#include "platform_darwin_instance.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct sipc_os_segment {
    int fd;
    int readonly;
    uint32_t held_tokens;           /* tokens this handle holds (its own locks never conflict with a probe) */
    char path[SIPC_OS_KEY_MAX + 2]; /* "/" + key */
#if defined(SIPC_TEST_DARWIN_FILES)
    int created;          /* this handle created the object */
    int instance_written; /* its creator wrote macOS's instance id into it (test builds, below) */
#endif
};

#if defined(SIPC_TEST_DARWIN_FILES)
/* Test builds only: objects told apart the macOS way, by the instance id their creator writes into them when it
 * first sizes them (platform_darwin_instance.c), instead of by device and inode, so that the C suite can run what
 * happens when a channel is replaced under a holder's feet with macOS's identity too. The Linux library never
 * contains this. */
static int macos_identity; /* atomic */

void sipc_test_use_macos_identity(int on)
{
    __atomic_store_n(&macos_identity, on, __ATOMIC_RELEASE);
}

static int uses_macos_identity(void)
{
    return __atomic_load_n(&macos_identity, __ATOMIC_ACQUIRE);
}

/* The creator writes the id as soon as its object has room for it (macOS: when it is sized, once). */
static int write_instance_once_sized(sipc_os_segment *segment, uint64_t size)
{
    if (!uses_macos_identity() || !segment->created || segment->instance_written ||
        size < (uint64_t)SIPC_OS_INSTANCE_OFFSET + SIPC_OS_INSTANCE_SIZE)
        return SIPC_OK;
    segment->instance_written = 1;
    return darwin_instance_write(segment->fd);
}

static int open_named_object(void *context)
{
    const sipc_os_segment *segment = context;
    return shm_open(segment->path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0);
}
#endif

/* ---- segments ---- */

static const char *file_type_name(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return "not a regular file";
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
    /* /dev/shm is world-writable: the name may lead to anything another user put there. O_NONBLOCK
     * keeps a FIFO from blocking the open, O_NOFOLLOW refuses symbolic links; fstat then refuses
     * everything that is not a regular file before it is used. */
    int oflags = (segment->readonly ? O_RDONLY : O_RDWR) | O_NONBLOCK | O_NOFOLLOW;
    if (flags & SIPC_OS_SEG_CREATE)
        oflags |= O_CREAT | O_EXCL;
    if (!(flags & SIPC_OS_SEG_INHERIT))
        oflags |= O_CLOEXEC;
    int fd = shm_open(segment->path, oflags, (mode_t)(mode & 0777));
    if (fd < 0) {
        int err = errno;
        free(segment);
        if ((flags & SIPC_OS_SEG_CREATE) && err == EEXIST)
            return SIPC_OS_EXISTS;
        /* glibc's shm_open reports a directory as EINVAL (the key itself is always valid). */
        if (err == ELOOP || err == ENXIO || err == EISDIR || err == EINVAL) {
            sipc_record_error_detail("/dev/shm/%s is %s, not a sipc segment", key,
                                     err == ELOOP   ? "a symbolic link"
                                     : err == ENXIO ? "a special file"
                                                    : "a directory");
            return SIPC_ERR_NOT_A_CHANNEL;
        }
        sipc_os_record_error(err);
        return sipc_os_status_from_error(err);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = posix_fail_errno();
        close(fd);
        free(segment);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        sipc_record_error_detail("/dev/shm/%s is %s, not a sipc segment", key, file_type_name(st.st_mode));
        close(fd);
        free(segment);
        return SIPC_ERR_NOT_A_CHANNEL;
    }
    if (flags & SIPC_OS_SEG_CREATE) {
        /* shm_open applied the umask; set exactly the bits asked for. */
        if (fchmod(fd, (mode_t)(mode & 0777)) != 0) {
            rc = posix_fail_errno();
            shm_unlink(segment->path);
            close(fd);
            free(segment);
            return rc;
        }
    }
    if (flags & SIPC_OS_SEG_INHERIT) {
        int fdflags = fcntl(fd, F_GETFD);
        if (fdflags >= 0)
            fcntl(fd, F_SETFD, fdflags & ~FD_CLOEXEC);
    }
    segment->fd = fd;
#if defined(SIPC_TEST_DARWIN_FILES)
    segment->created = (flags & SIPC_OS_SEG_CREATE) != 0;
#endif
    *out = segment;
    return SIPC_OK;
}

void sipc_os_segment_close(sipc_os_segment *segment)
{
    if (segment == NULL)
        return;
    close(segment->fd);
    free(segment);
}

/* Nothing of the OS needs serialising here: the open-time lock is the header's lock word, which only
 * a process that can write the segment can hold (flock, which anyone who can read the object can take,
 * let a reader cost every opener its timeout). */
int sipc_os_segment_lock(sipc_os_segment *segment, uint64_t deadline)
{
    (void)segment;
    (void)deadline;
    return SIPC_OK;
}

/* Tokens live far beyond any segment's bytes (locks may lie past the end of a file) and are
 * open-file-description locks, independent of other descriptions. */
#define TOKEN_OFFSET ((off_t)1 << 40)

int sipc_os_segment_hold_token(sipc_os_segment *segment, uint32_t index)
{
    if (index >= SIPC_OS_TOKENS)
        return 0;
    struct flock lock = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = TOKEN_OFFSET + index, .l_len = 1};
    if (fcntl(segment->fd, F_OFD_SETLK, &lock) != 0)
        return 0;
    segment->held_tokens |= 1u << index; /* set once, before any other thread can probe through it */
    return 1;
}

int sipc_os_segment_token_held(sipc_os_segment *segment, uint32_t index)
{
    if (index >= SIPC_OS_TOKENS)
        return -1;
    if (segment->held_tokens & (1u << index))
        return 1; /* a probe through the holding description would not see its own lock */
    struct flock probe = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = TOKEN_OFFSET + index, .l_len = 1};
    if (fcntl(segment->fd, F_OFD_GETLK, &probe) != 0)
        return -1;
    return probe.l_type != F_UNLCK;
}

void sipc_os_segment_unlock(sipc_os_segment *segment)
{
    (void)segment;
}

/* Looks for the object's device and inode in /proc/<pid>/maps, which the same user (or one allowed to
 * ptrace it) may read: a line is `start-end perms offset major:minor inode path`. */
int sipc_os_segment_mapped_by(sipc_os_segment *segment, int64_t pid)
{
    struct stat mine;
    if (pid <= 0 || fstat(segment->fd, &mine) != 0)
        return -1;
    char path[48];
    snprintf(path, sizeof path, "/proc/%lld/maps", (long long)pid);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1; /* another user's process (EACCES), gone meanwhile, or no /proc */
    FILE *maps = fdopen(fd, "r");
    if (maps == NULL) {
        close(fd);
        return -1;
    }
    int found = 0;
    char *line = NULL;
    size_t capacity = 0;
    while (!found && getline(&line, &capacity, maps) >= 0) {
        unsigned long long start, end, offset, inode;
        unsigned dev_major, dev_minor;
        char perms[5];
        found = sscanf(line, "%llx-%llx %4s %llx %x:%x %llu", &start, &end, perms, &offset, &dev_major, &dev_minor,
                       &inode) == 7 &&
                dev_major == major(mine.st_dev) && dev_minor == minor(mine.st_dev) &&
                inode == (unsigned long long)mine.st_ino;
    }
    int unreadable = !found && ferror(maps);
    free(line);
    fclose(maps);
    return found ? 1 : unreadable ? -1 : 0;
}

int sipc_os_segment_is_current(sipc_os_segment *segment)
{
#if defined(SIPC_TEST_DARWIN_FILES)
    if (uses_macos_identity())
        return darwin_instance_is_current(segment->fd, open_named_object, segment);
#endif
    struct stat mine;
    if (fstat(segment->fd, &mine) != 0)
        return posix_fail_errno();
    if (mine.st_nlink == 0)
        return 0;
    /* The name may have been unlinked and re-created: compare with what the name leads to now. */
    char path[sizeof "/dev/shm" + SIPC_OS_KEY_MAX + 2];
    snprintf(path, sizeof path, "/dev/shm%s", segment->path);
    struct stat named;
    if (stat(path, &named) != 0)
        return errno == ENOENT ? 0 : posix_fail_errno();
    return named.st_dev == mine.st_dev && named.st_ino == mine.st_ino;
}

int sipc_os_segment_size(sipc_os_segment *segment, uint64_t *size)
{
    return posix_fd_size(segment->fd, size);
}

/* tmpfs hands out pages on first touch: a segment that was only ftruncate'd turns a full /dev/shm
 * into SIGBUS inside whoever touches a page first (MAP_POPULATE does not report it). Allocating every
 * page up front turns it into an error here. */
int sipc_os_segment_reserve(sipc_os_segment *segment, uint64_t size)
{
    if (size > (uint64_t)INT64_MAX)
        return SIPC_ERR_INVALID_ARGUMENT;
    int err;
    while ((err = posix_fallocate(segment->fd, 0, (off_t)size)) == EINTR) {
    }
#if defined(SIPC_TEST_DARWIN_FILES)
    if (err == 0)
        return write_instance_once_sized(segment, size);
#endif
    if (err == 0)
        return SIPC_OK;
    if (err == EOPNOTSUPP || err == EINVAL)
        return SIPC_OK; /* a file system that cannot reserve: pages come on first touch, as before */
    sipc_os_record_error(err);
    if (err == ENOSPC || err == ENOMEM) {
        struct statvfs fs;
        if (fstatvfs(segment->fd, &fs) == 0) {
            uint64_t total = (uint64_t)fs.f_blocks * fs.f_frsize, free_bytes = (uint64_t)fs.f_bavail * fs.f_frsize;
            sipc_record_error_detail("the channel needs %llu KiB of shared memory, but /dev/shm (%llu KiB in all) "
                                     "has only %llu KiB free: remove stale channels (sipc rm --stale) or make "
                                     "/dev/shm larger (docker run --shm-size=...)",
                                     (unsigned long long)(size + 1023) / 1024, (unsigned long long)total / 1024,
                                     (unsigned long long)free_bytes / 1024);
        }
        return SIPC_ERR_NO_MEMORY;
    }
    return sipc_os_status_from_error(err);
}

int sipc_os_segment_resize(sipc_os_segment *segment, uint64_t size)
{
    if (size > (uint64_t)INT64_MAX)
        return SIPC_ERR_INVALID_ARGUMENT;
    uint64_t before = 0;
    int rc = sipc_os_segment_size(segment, &before);
    if (rc == SIPC_OK)
        rc = sipc_os_segment_reserve(segment, size);
    if (rc != SIPC_OK) {
        /* posix_fallocate may have grown the object before it ran out: give it back its size (never less:
         * openers may have mapped its header). */
        uint64_t now = 0;
        if (sipc_os_segment_size(segment, &now) == SIPC_OK && now > before) {
            while (ftruncate(segment->fd, (off_t)before) != 0 && errno == EINTR) {
            }
        }
        return rc;
    }
    return posix_fd_truncate(segment->fd, size);
}

int sipc_os_segment_owner(sipc_os_segment *segment, uint32_t *mode, uint32_t *uid)
{
    return posix_fd_owner(segment->fd, mode, uid);
}

int sipc_os_segment_map(sipc_os_segment *segment, uint64_t size, void **base)
{
    /* Peers prefault the whole segment: a first touch of each page inside send/recv would cost
     * more than the copy itself. Observers map lazily (they read few slots). */
    return posix_fd_map(segment->fd, segment->readonly, segment->readonly ? 0 : MAP_POPULATE, size, base);
}

void sipc_os_segment_unmap(sipc_os_segment *segment, void *base, uint64_t size)
{
    (void)segment;
    posix_unmap(base, size);
}

int sipc_os_segment_unlink(const char *key, uint64_t deadline)
{
    (void)deadline; /* unlinking a name never waits here */
    return posix_shm_unlink_key(key);
}

int sipc_os_segment_list(sipc_os_key_visitor visit, void *user)
{
    DIR *dir = opendir("/dev/shm");
    if (dir == NULL)
        return errno == ENOENT ? SIPC_OK : posix_fail_errno();
    const size_t prefix_length = strlen(SIPC_OS_KEY_PREFIX);
    int result = SIPC_OK;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strncmp(entry->d_name, SIPC_OS_KEY_PREFIX, prefix_length) != 0)
            continue;
        if (strlen(entry->d_name) > SIPC_OS_KEY_MAX)
            continue;
        result = visit(entry->d_name, user);
        if (result != 0)
            break;
    }
    closedir(dir);
    return result;
}

#endif
