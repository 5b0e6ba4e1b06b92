/*
 * platform_darwin_files.c — the files macOS keeps in /tmp beside its shm objects (PROTOCOL.md, "macOS"):
 * - the listing file <key>.lock, which the creator of a channel leaves so that listing can find the key (the shm
 *   namespace cannot be enumerated);
 * - the liveness-token file <key>.token<index>: a shm descriptor takes no locks, so a role holder's token (platform.h,
 *   PROTOCOL.md section 5) is a shared flock() on this file, through a descriptor that lives as long as the holder's
 *   segment handle: close-on-exec unless the handle is inherited, shared with a fork child, released when the last
 *   copy closes. flock() locks belong to the open file description (BSD semantics, Linux's too), so another
 *   description of the same file, in the same process or not, sees them.
 *
 * A probe tries an exclusive lock without waiting: it fails while any holder keeps its shared lock. Probes and
 * removers hold their exclusive lock for microseconds; whoever meets one tries again a little later.
 *
 * Removal (the files go with their channel, and with their holder): a file is removed only by a process that holds
 * an exclusive lock on it and has checked that the path still names it; so a file is never removed while a holder
 * keeps its shared lock, and a listing file only when, under that lock, the key names no object. The other side:
 * whoever takes a shared lock (a token holder, a creator leaving its listing file) then checks that the path still
 * names the file it locked, and if it was removed in between, makes it again. Together: a holder that took its
 * token holds the file the path names for as long as it holds it (a probe never finds a live holder's file gone),
 * and a channel whose creator left its listing file stays listed. The lock on the shm header does not suffice for
 * this: the creator of the next object of a key does not take the old object's lock.
 *
 * Everything in the directory is untrusted (another user can plant names in /tmp): links are not followed, a FIFO
 * opens without blocking and is refused like every file that is not a regular file owned by this user with a single
 * name (a hard link to one of our files elsewhere is refused too), and nothing is removed that this user does not
 * own.
 *
 * Plain POSIX: the C suite builds it on Linux too (SIPC_TEST_DARWIN_FILES) and runs it on a private directory.
 */
#if defined(__APPLE__) || defined(SIPC_TEST_DARWIN_FILES)

#include "platform_darwin_files.h"

#include "platform_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* A file's path: the directory (short: /tmp/ or a test's), the key, the suffix and an index. */
#define FILE_PATH_MAX 256
/* An exclusive lock meets a holder's shared lock for as long as the holder lives, or a probe's, a remover's or a
 * taker's lock for microseconds: tried a few times, 200 µs apart (a probe then says "held"). */
#define EXCLUSIVE_TRIES 5
#define EXCLUSIVE_PAUSE_US 200u
/* A shared lock meets only another's momentary exclusive lock, but that one may be held by a thread the scheduler
 * has just put aside on a loaded machine: tried for longer (pauses of 100 µs doubling up to 5 ms, ~75 ms in all),
 * after which a token holder announces no token and a creator's channel is missing from listings. */
#define SHARED_TRIES 20
#define SHARED_FIRST_PAUSE_US 100u
#define SHARED_MAX_PAUSE_US 5000u
/* Times a taker makes the file again when it was removed between its open and its lock. */
#define REMADE_TRIES 8
/* Listing files are only looked at by name: only their owner needs to open them. */
#define LISTING_MODE 0600u

static int file_path(const char *dir, const char *key, const char *suffix, int index, char *path)
{
    int n = index < 0 ? snprintf(path, FILE_PATH_MAX, "%s%s%s", dir, key, suffix)
                      : snprintf(path, FILE_PATH_MAX, "%s%s%s%d", dir, key, suffix, index);
    return n > 0 && n < FILE_PATH_MAX;
}

/* flock(operation | LOCK_NB), tried again while it meets another's lock: 0, or the last errno. */
static int flock_tries(int fd, int operation, int tries, uint32_t first_pause_us, uint32_t max_pause_us)
{
    uint32_t pause_us = first_pause_us;
    for (int attempt = 0;;) {
        if (flock(fd, operation | LOCK_NB) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK || ++attempt >= tries)
            return errno;
        sipc_os_sleep_us(pause_us);
        pause_us = pause_us >= max_pause_us / 2 ? max_pause_us : pause_us * 2;
    }
}

static int lock_shared(int fd)
{
    return flock_tries(fd, LOCK_SH, SHARED_TRIES, SHARED_FIRST_PAUSE_US, SHARED_MAX_PAUSE_US);
}

static int lock_exclusive(int fd, int tries)
{
    return flock_tries(fd, LOCK_EX, tries, EXCLUSIVE_PAUSE_US, EXCLUSIVE_PAUSE_US);
}

/* 1 if `path` (not followed) names the file open as fd: it was neither removed nor replaced since. */
static int path_names_file(const char *path, int fd)
{
    struct stat open_file, named;
    return fstat(fd, &open_file) == 0 && lstat(path, &named) == 0 && open_file.st_dev == named.st_dev &&
           open_file.st_ino == named.st_ino;
}

/* Opens `path` read-only (made with `mode` if `create` and missing) without following a link and without blocking
 * (a FIFO opens at once): the descriptor if it is a regular file owned by this user with no other name, else -1.
 * (Another name would be a hard link someone made in /tmp to a file of ours elsewhere, which macOS allows: its mode
 * must not be changed. No name at all is a file removed since we opened it: the caller finds it gone and makes
 * it again.) */
static int open_own_file(const char *path, int create, uint32_t mode, int inherit)
{
    int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | (inherit ? 0 : O_CLOEXEC) | (create ? O_CREAT : 0);
    int fd = open(path, flags, (mode_t)(mode & 0777));
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink > 1) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Opens (making it if missing) and share-locks the file at `path` as it is named when the lock is had: its
 * descriptor, or -1 (not ours, not a regular file, or it stayed locked). */
static int lock_named_file_shared(const char *path, uint32_t mode, int inherit)
{
    for (int attempt = 0; attempt < REMADE_TRIES; attempt++) {
        int fd = open_own_file(path, 1, mode, inherit);
        if (fd < 0)
            return -1;
        if (lock_shared(fd) != 0) {
            close(fd);
            return -1;
        }
        if (path_names_file(path, fd)) {
            fchmod(fd, (mode_t)(mode & 0777)); /* exactly `mode`, whatever the umask made of it */
            return fd;
        }
        close(fd); /* removed between our open and our lock: make it again */
    }
    return -1;
}

/* Removes the file at `path` if it is a regular file of ours that nobody holds locked (its exclusive lock tried
 * `tries` times) and, given `exists`, the key names no object (asked under the lock). */
static void remove_if_unused(const char *path, int tries, const char *key, darwin_key_exists exists, void *context)
{
    int fd = open_own_file(path, 0, 0, 0);
    if (fd < 0)
        return;
    if (lock_exclusive(fd, tries) == 0 && path_names_file(path, fd) && (exists == NULL || exists(key, context) == 0))
        unlink(path); /* still our locked file: only a holder of its exclusive lock removes it */
    close(fd);
}

int darwin_token_take(const char *dir, const char *key, uint32_t index, uint32_t mode, int inherit, int *fd_out)
{
    *fd_out = -1;
    char path[FILE_PATH_MAX];
    if (!file_path(dir, key, DARWIN_TOKEN_SUFFIX, (int)index, path))
        return 0;
    *fd_out = lock_named_file_shared(path, mode, inherit);
    return *fd_out >= 0;
}

int darwin_token_held(const char *dir, const char *key, uint32_t index)
{
    char path[FILE_PATH_MAX];
    if (!file_path(dir, key, DARWIN_TOKEN_SUFFIX, (int)index, path))
        return -1;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1; /* no file: this protocol never removes a held one, but a /tmp cleaner (macOS deletes files
                    * untouched for 3 days) might have: a live holder must not look gone */
    struct stat st;
    int held = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        int error = lock_exclusive(fd, EXCLUSIVE_TRIES);
        if (error == 0) {
            flock(fd, LOCK_UN);
            held = 0;
        } else if (error == EWOULDBLOCK) {
            held = 1;
        }
    }
    close(fd);
    return held;
}

void darwin_token_give_back(const char *dir, const char *key, uint32_t index, int fd)
{
    close(fd);
    char path[FILE_PATH_MAX];
    if (file_path(dir, key, DARWIN_TOKEN_SUFFIX, (int)index, path))
        remove_if_unused(path, EXCLUSIVE_TRIES, key, NULL, NULL);
}

int darwin_listing_leave(const char *dir, const char *key)
{
    char path[FILE_PATH_MAX];
    if (!file_path(dir, key, DARWIN_LISTING_SUFFIX, -1, path))
        return 0;
    /* Locked only to tell a remover that removed it meanwhile (then it is made again); the lock goes at once. */
    int fd = lock_named_file_shared(path, LISTING_MODE, 0);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

void darwin_files_remove(const char *dir, const char *key, darwin_key_exists exists, void *context)
{
    char path[FILE_PATH_MAX];
    if (file_path(dir, key, DARWIN_LISTING_SUFFIX, -1, path))
        remove_if_unused(path, EXCLUSIVE_TRIES, key, exists, context);
    /* One try each: a token file is normally removed by its last holder giving it back; what is left here was
     * left by holders that ended without (killed, exec()ed), and the caller (the last closer) may well still hold
     * its own token, which no waiting would free. */
    for (uint32_t index = 0; index < SIPC_OS_TOKENS; index++) {
        if (file_path(dir, key, DARWIN_TOKEN_SUFFIX, (int)index, path))
            remove_if_unused(path, 1, key, NULL, NULL);
    }
}

#endif /* __APPLE__ || SIPC_TEST_DARWIN_FILES */
