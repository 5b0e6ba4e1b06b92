/* platform_darwin_token.h — macOS liveness tokens as shared flock()s on /tmp/<key>.token<index>
 * (platform_darwin_token.c), used by the segment handles of platform_darwin_shm.c. */
#ifndef SIPC_PLATFORM_DARWIN_TOKEN_H
#define SIPC_PLATFORM_DARWIN_TOKEN_H

#if defined(__APPLE__)

#include <stdint.h>

/* Takes token `index` of the channel whose shm name is `shm_path` ("/<key>"): 1 with *fd_out the descriptor that
 * holds it (close-on-exec unless `inherit`; closing it gives the token back), 0 if it could not be taken. */
int darwin_token_take(const char *shm_path, uint32_t index, uint32_t mode, int inherit, int *fd_out);
/* 1 if some descriptor holds token `index`, 0 if none does, -1 if it cannot be told. */
int darwin_token_held(const char *shm_path, uint32_t index);

#endif

#endif
