/*
 * status.c — version, status names and messages, name validation, per-thread OS error.
 */
#include "platform.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SIPC_STR2(x) #x
#define SIPC_STR(x) SIPC_STR2(x)

static _Thread_local int last_os_error;
static _Thread_local char last_error_detail[256];

void sipc_os_record_error(int os_error)
{
    last_os_error = os_error;
}

SIPC_API int sipc_last_os_error(void)
{
    return last_os_error;
}

void sipc_record_error_detail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(last_error_detail, sizeof last_error_detail, format, args);
    va_end(args);
}

void sipc_clear_error_detail(void)
{
    last_error_detail[0] = '\0';
}

SIPC_API const char *sipc_last_error_message(void)
{
    return last_error_detail;
}

SIPC_API const char *sipc_version(void)
{
    return SIPC_STR(SIPC_VERSION_MAJOR) "." SIPC_STR(SIPC_VERSION_MINOR) "." SIPC_STR(SIPC_VERSION_PATCH);
}

typedef struct status_text {
    int status;
    const char *name;
    const char *message;
} status_text;

static const status_text status_texts[] = {
    {SIPC_OK, "OK", "success"},
    {SIPC_ERR_TIMEOUT, "TIMEOUT", "the operation timed out"},
    {SIPC_ERR_PEER_GONE, "PEER_GONE", "the peer closed the channel or died"},
    {SIPC_ERR_BUSY, "BUSY", "the channel already has a server and a client"},
    {SIPC_ERR_TOO_BIG, "TOO_BIG", "the message is larger than the channel's maximum message size"},
    {SIPC_ERR_CANCELLED, "CANCELLED", "the operation was cancelled"},
    {SIPC_ERR_CLOSED, "CLOSED", "the channel handle is closed"},
    {SIPC_ERR_INVALID_NAME, "INVALID_NAME",
     "invalid channel name: use 1 to 200 characters from A-Z a-z 0-9 . _ -, not starting with '.'"},
    {SIPC_ERR_INVALID_ARGUMENT, "INVALID_ARGUMENT", "an argument is missing or out of range"},
    {SIPC_ERR_BUFFER_TOO_SMALL, "BUFFER_TOO_SMALL", "the receive buffer is smaller than the next message"},
    {SIPC_ERR_NOT_FOUND, "NOT_FOUND", "no channel of that name exists"},
    {SIPC_ERR_CORRUPT, "CORRUPT", "the channel's shared memory is corrupt"},
    {SIPC_ERR_VERSION, "VERSION", "the channel was created by an incompatible version of the sipc protocol"},
    {SIPC_ERR_PERMISSION, "PERMISSION", "permission denied by the operating system"},
    {SIPC_ERR_NO_MEMORY, "NO_MEMORY", "out of memory or shared-memory space"},
    {SIPC_ERR_MISMATCH, "MISMATCH", "the channel exists with a different maximum message size or queue depth"},
    {SIPC_ERR_NOT_CONNECTED, "NOT_CONNECTED", "no peer has connected to the channel"},
    {SIPC_ERR_SYSTEM, "SYSTEM", "an operating-system call failed"},
    {SIPC_ERR_NOT_A_CHANNEL, "NOT_A_CHANNEL",
     "the name leads to something that is not this channel (not a sipc segment, or another channel's)"},
};

static const status_text *find_status(int status)
{
    for (size_t i = 0; i < sizeof status_texts / sizeof status_texts[0]; i++) {
        if (status_texts[i].status == status)
            return &status_texts[i];
    }
    return NULL;
}

SIPC_API const char *sipc_status_name(int status)
{
    const status_text *text = find_status(status);
    return text != NULL ? text->name : "UNKNOWN";
}

SIPC_API const char *sipc_strerror(int status)
{
    const status_text *text = find_status(status);
    return text != NULL ? text->message : "unknown status";
}

SIPC_API int sipc_validate_name(const char *name)
{
    if (name == NULL || name[0] == '\0' || name[0] == '.')
        return SIPC_ERR_INVALID_NAME;
    size_t length = 0;
    for (const char *p = name; *p != '\0'; p++, length++) {
        if (length >= SIPC_NAME_MAX)
            return SIPC_ERR_INVALID_NAME;
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                 c == '-';
        if (!ok)
            return SIPC_ERR_INVALID_NAME;
    }
    return SIPC_OK;
}

SIPC_API void sipc_options_init(sipc_options *options)
{
    if (options == NULL)
        return;
    memset(options, 0, sizeof *options);
    options->struct_size = (uint32_t)sizeof *options;
    options->max_message_size = SIPC_DEFAULT_MAX_MESSAGE;
    options->queue_depth = SIPC_DEFAULT_QUEUE_DEPTH;
    options->mode = 0600;
    options->flags = 0;
}
