/*
 * cli_text.h — the `sipc` command line's text: a growable byte buffer, hex, UTF-8 and JSON
 * encoding, one-line previews, the message output formats, times and channel state names.
 */
#ifndef SIPC_CLI_TEXT_H
#define SIPC_CLI_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* defines __MINGW_PRINTF_FORMAT on MinGW */
#include <string.h>

#include "sipc.h"

/* MinGW's "printf" format archetype is Microsoft's, which lacks %zu; its C99 stdio is GNU's. */
#if defined(__MINGW32__)
#define CLI_PRINTF __MINGW_PRINTF_FORMAT
#else
#define CLI_PRINTF printf
#endif

typedef enum cli_format { CLI_FORMAT_RAW, CLI_FORMAT_HEX, CLI_FORMAT_TEXT, CLI_FORMAT_JSON } cli_format;
cli_format cli_format_from_name(const char *name);

/* Growable byte buffer. */
typedef struct cli_buffer {
    char *data;
    size_t length;
    size_t capacity;
} cli_buffer;

bool cli_buffer_reserve(cli_buffer *buffer, size_t extra);
/* Inline: the writers append a few bytes at a time per message, and a call that only found room was most of it. */
static inline bool cli_buffer_append(cli_buffer *buffer, const void *data, size_t length)
{
    if (buffer->capacity - buffer->length <= length && !cli_buffer_reserve(buffer, length))
        return false;
    if (length)
        memcpy(buffer->data + buffer->length, data, length);
    buffer->length += length;
    buffer->data[buffer->length] = '\0';
    return true;
}
static inline bool cli_buffer_append_str(cli_buffer *buffer, const char *text)
{
    return cli_buffer_append(buffer, text, strlen(text));
}
/* value in decimal, without printf (a tap or a recorder writes several numbers per message). */
bool cli_buffer_append_u64(cli_buffer *buffer, uint64_t value);
/* The cli_put_* functions write into room the caller reserved and return where they stopped (no NUL added). */
/* value in decimal: at most 20 bytes. */
char *cli_put_u64(char *cursor, uint64_t value);
bool cli_buffer_printf(cli_buffer *buffer, const char *format, ...) __attribute__((format(CLI_PRINTF, 2, 3)));
void cli_buffer_free(cli_buffer *buffer);

/* Room for one more item in a growable array of count items (item_size bytes each) with *capacity allocated:
 * items itself while it has room, else the array reallocated to twice the capacity (`initial` the first time) and
 * *capacity updated. NULL when out of memory or too large, with items and *capacity unchanged. */
void *cli_array_grow(void *items, size_t count, size_t *capacity, size_t item_size, size_t initial);

bool cli_append_hex(cli_buffer *out, const void *data, size_t length);
/* length bytes in lowercase hex: 2 * length bytes. */
char *cli_put_hex(char *cursor, const void *data, size_t length);
/* Appends a JSON string literal (quotes included); invalid UTF-8 bytes become U+FFFD. */
bool cli_append_json_string(cli_buffer *out, const void *data, size_t length);
bool cli_utf8_valid(const void *data, size_t length);
/* A payload as the JSON formats carry it: "text":"..." (a JSON string) when the bytes are valid UTF-8, else
 * "hex":"..." (lowercase hex), as cli_utf8_valid, cli_append_json_string and cli_append_hex would write it. */
bool cli_append_json_payload(cli_buffer *out, const void *data, size_t length);
/* Appends a one-line, printable preview of at most max_chars characters. */
bool cli_append_preview(cli_buffer *out, const void *data, size_t length, size_t max_chars);
/* Standard base64 with padding (RFC 4648 §4), as JSON Lines recordings carry payloads. */
bool cli_append_base64(cli_buffer *out, const void *data, size_t length);
/* Decodes base64 (padding optional, no whitespace). Returns false on invalid input. */
bool cli_decode_base64(const char *text, size_t length, cli_buffer *out);
/* The value of one hex digit (either case), or -1 if c is not one. */
int cli_hex_value(char c);
/* Decodes hex (whitespace allowed between byte pairs). Returns false on invalid input. */
bool cli_decode_hex(const char *text, cli_buffer *out, const char **error);

/* Appends a message to out in the given format (with its separator), index is its number. */
bool cli_format_message(cli_buffer *out, cli_format format, uint64_t index, const void *data, size_t length);

void cli_format_time(uint64_t epoch_ns, char *out, size_t size);     /* HH:MM:SS.uuuuuu local time */
void cli_format_iso_time(uint64_t epoch_ns, char *out, size_t size); /* YYYY-MM-DDTHH:MM:SS.uuuuuuZ (UTC) */
/* At most this many bytes, NUL included, for cli_format_iso_time ("-" for the time 0 or one gmtime cannot say). */
#define CLI_ISO_TIME_SIZE 40
/* cli_format_iso_time's text (at most CLI_ISO_TIME_SIZE - 1 bytes) written at cursor. */
char *cli_put_iso_time(char *cursor, uint64_t epoch_ns);
const char *cli_state_name(int32_t state);
/* "attached", "closed", "died", "lossless-dropped" (sipc_observer_event). */
const char *cli_observer_event_name(int32_t event);
/* "server", "client", or "observer" for an event about the observer itself. */
const char *cli_role_name(int32_t role);
/* Why the peers dropped a lossless observer (the event's count): "stalled", "died", "invalid". */
const char *cli_lossless_drop_reason(uint64_t count);

#endif /* SIPC_CLI_TEXT_H */
