/* platform_darwin_files.h — the files macOS keeps beside its shm objects (platform_darwin_files.c): a listing file
 * <dir><key>.lock per channel and a liveness-token file <dir><key>.token<index> per role holder, in /tmp. Used by
 * platform_darwin_shm.c. The code is plain POSIX (open, flock, lstat, unlink), so the C suite also builds it on
 * Linux with SIPC_TEST_DARWIN_FILES (test-only; the Linux library never contains it) and runs it against a private
 * directory (test/c/test_darwin_files.c). */
#ifndef SIPC_PLATFORM_DARWIN_FILES_H
#define SIPC_PLATFORM_DARWIN_FILES_H

#if defined(__APPLE__) || defined(SIPC_TEST_DARWIN_FILES)

#include <stdint.h>

/* Where macOS keeps the files; `dir` below ends with '/'. */
#define DARWIN_FILES_DIR "/tmp/"
#define DARWIN_LISTING_SUFFIX ".lock"
#define DARWIN_TOKEN_SUFFIX ".token"

/* Takes token `index` of `key`: 1 with *fd_out the descriptor that holds it (close-on-exec unless `inherit`; give
 * it back with darwin_token_give_back), 0 if it could not be taken (*fd_out -1). The file is made with `mode`
 * (anyone who may test the token must be able to open it). */
int darwin_token_take(const char *dir, const char *key, uint32_t index, uint32_t mode, int inherit, int *fd_out);
/* 1 if some descriptor holds token `index` of `key`, 0 if none does, -1 if it cannot be told (no file among
 * others: it may have been deleted under its holder by something outside this protocol). */
int darwin_token_held(const char *dir, const char *key, uint32_t index);
/* Closes this copy of a token descriptor, then removes the token file if nobody holds it any longer (another
 * copy of the descriptor, in a fork child, keeps it). */
void darwin_token_give_back(const char *dir, const char *key, uint32_t index, int fd);

/* Whether `key` names an object now: 1 yes, 0 no, -1 cannot tell (counts as yes). */
typedef int (*darwin_key_exists)(const char *key, void *context);
/* Leaves the listing file of `key`, whose object the caller has just created: 1 if the file is in place when it
 * returns, 0 if it could not be (something else sits at its path, or it stayed locked). */
int darwin_listing_leave(const char *dir, const char *key);
/* Removes what the channel of `key` left in `dir`: its listing file if `exists` says the key names no object
 * (asked while the file is locked, so a creator of a new object of the key keeps its file), and every token file
 * nobody holds (tried once: a holder, maybe the caller itself, removes its own when it gives it back). Leaves
 * alone whatever is not a regular file owned by this user. */
void darwin_files_remove(const char *dir, const char *key, darwin_key_exists exists, void *context);

#endif

#endif
