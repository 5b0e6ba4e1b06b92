/* The `sipc` command line's I/O: whole writes and whole-file reads (the stop signals are in cli_signals_<os>.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cli_io.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#if defined(_WIN32)
#include <io.h>
#define O_CLOEXEC (_O_NOINHERIT | _O_BINARY)
#endif

/* ---- I/O ---- */

bool cli_write_all(int fd, const void *data, size_t length)
{
    const char *cursor = data;
    while (length > 0) {
        ssize_t written = write(fd, cursor, length);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        cursor += written;
        length -= (size_t)written;
    }
    return true;
}

bool cli_read_file(const char *path, cli_buffer *out, int *error_number)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *error_number = errno;
        return false;
    }
    bool ok = true;
    for (;;) {
        if (!cli_buffer_reserve(out, 65536)) {
            *error_number = ENOMEM;
            ok = false;
            break;
        }
        ssize_t got = read(fd, out->data + out->length, out->capacity - out->length - 1);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            *error_number = errno;
            ok = false;
            break;
        }
        if (got == 0)
            break;
        out->length += (size_t)got;
        if (out->length > SIPC_MAX_MESSAGE_LIMIT) {
            *error_number = EFBIG;
            ok = false;
            break;
        }
    }
    if (fd != STDIN_FILENO)
        close(fd);
    return ok;
}
