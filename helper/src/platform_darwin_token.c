/*
 * platform_darwin_token.c — liveness tokens on macOS (platform.h, PROTOCOL.md section 5). A shm descriptor takes no
 * locks, so a role holder's token is a shared flock() on the file /tmp/<key>.token<index>, through a descriptor
 * that lives as long as the holder's segment handle: close-on-exec unless the handle is inherited, shared with a
 * fork child, released when the last copy closes. flock() locks belong to the open file description (BSD
 * semantics), so another description of the same file in the same process sees them too.
 *
 * A probe tries an exclusive lock without waiting: it fails while any holder keeps its shared lock. The probe
 * holds its lock for microseconds, so a holder taking the token at that moment, or a second probe, tries again a
 * few times before giving up (a holder then announces no token; a probe says "cannot tell").
 *
 * The files are per key and stay in /tmp (like the listing files): a handle still open on an earlier object of the
 * same key holds the same token, which can only make a holder that exec()ed look alive, never a live one look
 * gone, as anyone who may read the file can (the Linux tokens have the same property). A token file that is not a
 * regular file owned by this user is not used: the holder then announces no token.
 */
#if defined(__APPLE__)

#include "platform_darwin_token.h"

#include "platform_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_DIR "/tmp/"
#define TOKEN_SUFFIX ".token"
/* Tries of a lock that a probe may be holding for a moment, and the pause between them. */
#define TOKEN_TRIES 5
#define TOKEN_RETRY_US 200u

static int token_path(const char *shm_path, uint32_t index, char *path, size_t size)
{
    int n = snprintf(path, size, TOKEN_DIR "%s" TOKEN_SUFFIX "%u", shm_path + 1, (unsigned)index);
    return n > 0 && (size_t)n < size;
}

/* flock(operation | LOCK_NB), tried again while it meets another's momentary lock: 0, or the last errno. */
static int flock_briefly(int fd, int operation)
{
    for (int attempt = 0;; attempt++) {
        if (flock(fd, operation | LOCK_NB) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK || attempt + 1 >= TOKEN_TRIES)
            return errno;
        sipc_os_sleep_us(TOKEN_RETRY_US);
    }
}

int darwin_token_take(const char *shm_path, uint32_t index, uint32_t mode, int inherit, int *fd_out)
{
    *fd_out = -1;
    char path[SIPC_OS_KEY_MAX + sizeof TOKEN_DIR + sizeof TOKEN_SUFFIX + 12];
    if (!token_path(shm_path, index, path, sizeof path))
        return 0;
    int fd =
        open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | (inherit ? 0 : O_CLOEXEC), (mode_t)(mode & 0777));
    if (fd < 0)
        return 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || flock_briefly(fd, LOCK_SH) != 0) {
        close(fd);
        return 0;
    }
    *fd_out = fd;
    return 1;
}

int darwin_token_held(const char *shm_path, uint32_t index)
{
    char path[SIPC_OS_KEY_MAX + sizeof TOKEN_DIR + sizeof TOKEN_SUFFIX + 12];
    if (!token_path(shm_path, index, path, sizeof path))
        return -1;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1; /* never made: nobody took it */
    struct stat st;
    int held = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        int error = flock_briefly(fd, LOCK_EX);
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

#endif /* __APPLE__ */
