/* The `sipc` command line's text: growable buffers, hex, UTF-8, JSON, previews, message formats, times. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cli_text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- buffers and formats ---- */

bool cli_buffer_reserve(cli_buffer *buffer, size_t extra)
{
    if (extra > SIZE_MAX - buffer->length - 1)
        return false;
    size_t needed = buffer->length + extra + 1; /* room for a terminating NUL */
    if (needed <= buffer->capacity)
        return true;
    size_t capacity = buffer->capacity ? buffer->capacity : 256;
    while (capacity < needed)
        capacity = capacity > SIZE_MAX / 2 ? needed : capacity * 2;
    char *data = realloc(buffer->data, capacity);
    if (!data)
        return false;
    buffer->data = data;
    buffer->capacity = capacity;
    return true;
}

void *cli_array_grow(void *items, size_t count, size_t *capacity, size_t item_size, size_t initial)
{
    if (count < *capacity)
        return items;
    size_t grown = *capacity ? *capacity : initial;
    if (*capacity != 0) {
        if (grown > SIZE_MAX / 2)
            return NULL;
        grown *= 2;
    }
    if (grown > SIZE_MAX / item_size)
        return NULL;
    void *larger = realloc(items, grown * item_size);
    if (larger)
        *capacity = grown;
    return larger;
}

bool cli_buffer_append_u64(cli_buffer *buffer, uint64_t value)
{
    /* Two digits per division (a tap writes three 19-digit numbers per message). */
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                "8081828384858687888990919293949596979899";
    char digits[20];
    size_t first = sizeof digits;
    while (value >= 100u) {
        unsigned pair = (unsigned)(value % 100u);
        value /= 100u;
        first -= 2;
        memcpy(digits + first, pairs + 2u * pair, 2);
    }
    if (value >= 10u) {
        first -= 2;
        memcpy(digits + first, pairs + 2u * (unsigned)value, 2);
    } else {
        digits[--first] = (char)('0' + value);
    }
    return cli_buffer_append(buffer, digits + first, sizeof digits - first);
}

bool cli_buffer_printf(cli_buffer *buffer, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    va_list copy;
    va_copy(copy, args);
    int needed = vsnprintf(NULL, 0, format, copy);
    va_end(copy);
    bool ok = needed >= 0 && cli_buffer_reserve(buffer, (size_t)needed);
    if (ok) {
        vsnprintf(buffer->data + buffer->length, (size_t)needed + 1, format, args);
        buffer->length += (size_t)needed;
    }
    va_end(args);
    return ok;
}

void cli_buffer_free(cli_buffer *buffer)
{
    free(buffer->data);
    buffer->data = NULL;
    buffer->length = buffer->capacity = 0;
}

bool cli_append_hex(cli_buffer *out, const void *data, size_t length)
{
    static const char digits[] = "0123456789abcdef";
    if (length > (SIZE_MAX - 1) / 2 || !cli_buffer_reserve(out, length * 2))
        return false;
    const unsigned char *bytes = data;
    char *cursor = out->data + out->length;
    for (size_t i = 0; i < length; i++) {
        *cursor++ = digits[bytes[i] >> 4];
        *cursor++ = digits[bytes[i] & 15];
    }
    out->length += length * 2;
    out->data[out->length] = '\0';
    return true;
}

/* Length of the valid UTF-8 sequence at bytes[0], 0 if invalid. */
static size_t utf8_sequence_length(const unsigned char *bytes, size_t available)
{
    unsigned char lead = bytes[0];
    size_t length;
    uint32_t minimum;
    uint32_t code;
    if (lead < 0x80)
        return 1;
    if ((lead & 0xE0) == 0xC0)
        length = 2, minimum = 0x80, code = lead & 0x1F;
    else if ((lead & 0xF0) == 0xE0)
        length = 3, minimum = 0x800, code = lead & 0x0F;
    else if ((lead & 0xF8) == 0xF0)
        length = 4, minimum = 0x10000, code = lead & 0x07;
    else
        return 0;
    if (length > available)
        return 0;
    for (size_t i = 1; i < length; i++) {
        if ((bytes[i] & 0xC0) != 0x80)
            return 0;
        code = (code << 6) | (bytes[i] & 0x3F);
    }
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
        return 0;
    return length;
}

bool cli_utf8_valid(const void *data, size_t length)
{
    const unsigned char *bytes = data;
    size_t i = 0;
    while (i < length) {
        if (bytes[i] < 0x80) {
            i++;
            continue;
        }
        size_t step = utf8_sequence_length(bytes + i, length - i);
        if (step == 0)
            return false;
        i += step;
    }
    return true;
}

bool cli_append_json_string(cli_buffer *out, const void *data, size_t length)
{
    /* Written straight into room reserved for the worst case (every byte a six-character escape): a tap writes this
     * for every message, and a bounds check per byte cost more than the escaping. */
    static const char digits[] = "0123456789abcdef";
    const unsigned char *bytes = data;
    if (length > (SIZE_MAX - 3) / 6 || !cli_buffer_reserve(out, length * 6 + 2))
        return false;
    char *cursor = out->data + out->length;
    *cursor++ = '"';
    size_t i = 0;
    while (i < length) {
        unsigned char c = bytes[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            *cursor++ = (char)c;
        } else if (c == '"' || c == '\\') {
            *cursor++ = '\\';
            *cursor++ = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            *cursor++ = '\\';
            *cursor++ = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else if (c < 0x80) { /* the other control characters and DEL */
            const char escape[6] = {'\\', 'u', '0', '0', digits[c >> 4], digits[c & 15]};
            memcpy(cursor, escape, sizeof escape);
            cursor += sizeof escape;
        } else {
            size_t step = utf8_sequence_length(bytes + i, length - i);
            if (step == 0) {
                memcpy(cursor, "\\ufffd", 6);
                cursor += 6;
            } else {
                memcpy(cursor, &bytes[i], step);
                cursor += step;
                i += step - 1;
            }
        }
        i++;
    }
    *cursor++ = '"';
    out->length = (size_t)(cursor - out->data);
    out->data[out->length] = '\0';
    return true;
}

bool cli_append_preview(cli_buffer *out, const void *data, size_t length, size_t max_chars)
{
    const unsigned char *bytes = data;
    size_t shown = 0;
    size_t i = 0;
    bool ok = cli_buffer_append(out, "\"", 1);
    while (ok && i < length && shown < max_chars) {
        unsigned char c = bytes[i];
        size_t step = c < 0x80 ? 1 : utf8_sequence_length(bytes + i, length - i);
        if (c == '\n')
            ok = cli_buffer_append(out, "\\n", 2);
        else if (c == '\t')
            ok = cli_buffer_append(out, "\\t", 2);
        else if (c == '"' || c == '\\')
            ok = cli_buffer_printf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7F || step == 0)
            ok = cli_buffer_printf(out, "\\x%02x", c);
        else
            ok = cli_buffer_append(out, &bytes[i], step);
        i += step ? step : 1;
        shown++;
    }
    if (ok)
        ok = cli_buffer_append(out, "\"", 1);
    if (ok && i < length)
        ok = cli_buffer_append(out, "...", 3);
    return ok;
}

static const char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool cli_append_base64(cli_buffer *out, const void *data, size_t length)
{
    const unsigned char *bytes = data;
    if (!cli_buffer_reserve(out, (length + 2) / 3 * 4))
        return false;
    char *cursor = out->data + out->length;
    size_t i = 0;
    for (; i + 3 <= length; i += 3) {
        uint32_t group = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8 | bytes[i + 2];
        *cursor++ = base64_alphabet[group >> 18];
        *cursor++ = base64_alphabet[(group >> 12) & 63];
        *cursor++ = base64_alphabet[(group >> 6) & 63];
        *cursor++ = base64_alphabet[group & 63];
    }
    if (i < length) {
        uint32_t group = (uint32_t)bytes[i] << 16 | (i + 1 < length ? (uint32_t)bytes[i + 1] << 8 : 0u);
        *cursor++ = base64_alphabet[group >> 18];
        *cursor++ = base64_alphabet[(group >> 12) & 63];
        *cursor++ = i + 1 < length ? base64_alphabet[(group >> 6) & 63] : '=';
        *cursor++ = '=';
    }
    out->length = (size_t)(cursor - out->data);
    out->data[out->length] = '\0';
    return true;
}

static int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

bool cli_decode_base64(const char *text, size_t length, cli_buffer *out)
{
    while (length > 0 && text[length - 1] == '=')
        length--;
    if (length % 4 == 1 || !cli_buffer_reserve(out, length / 4 * 3 + 3))
        return false;
    uint32_t group = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < length; i++) {
        int value = base64_value(text[i]);
        if (value < 0)
            return false;
        group = (group << 6) | (uint32_t)value;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->data[out->length++] = (char)((group >> bits) & 0xffu);
        }
    }
    out->data[out->length] = '\0';
    return true;
}

int cli_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool cli_decode_hex(const char *text, cli_buffer *out, const char **error)
{
    const char *cursor = text;
    if (cursor[0] == '0' && (cursor[1] == 'x' || cursor[1] == 'X'))
        cursor += 2;
    for (;;) {
        while (*cursor == ' ' || *cursor == '\t' || *cursor == '\n' || *cursor == ':')
            cursor++;
        if (*cursor == '\0')
            break;
        int high = cli_hex_value(cursor[0]);
        if (high < 0) {
            *error = "contains a character that is not a hex digit";
            return false;
        }
        int low = cursor[1] ? cli_hex_value(cursor[1]) : -1;
        if (low < 0) {
            *error = cursor[1] && cursor[1] != ' ' ? "contains a character that is not a hex digit"
                                                   : "has an odd number of hex digits";
            return false;
        }
        unsigned char byte = (unsigned char)(high * 16 + low);
        if (!cli_buffer_append(out, &byte, 1)) {
            *error = "is too large for memory";
            return false;
        }
        cursor += 2;
    }
    return true;
}

cli_format cli_format_from_name(const char *name)
{
    if (strcmp(name, "raw") == 0)
        return CLI_FORMAT_RAW;
    if (strcmp(name, "hex") == 0)
        return CLI_FORMAT_HEX;
    if (strcmp(name, "json") == 0)
        return CLI_FORMAT_JSON;
    return CLI_FORMAT_TEXT;
}

bool cli_format_message(cli_buffer *out, cli_format format, uint64_t index, const void *data, size_t length)
{
    switch (format) {
    case CLI_FORMAT_RAW:
        return cli_buffer_append(out, data, length);
    case CLI_FORMAT_TEXT:
        return cli_buffer_append(out, data, length) && cli_buffer_append(out, "\n", 1);
    case CLI_FORMAT_HEX:
        return cli_append_hex(out, data, length) && cli_buffer_append(out, "\n", 1);
    case CLI_FORMAT_JSON:
        if (!cli_buffer_printf(out, "{\"index\":%" PRIu64 ",\"length\":%zu,", index, length))
            return false;
        if (cli_utf8_valid(data, length)) {
            if (!cli_buffer_append_str(out, "\"text\":") || !cli_append_json_string(out, data, length))
                return false;
        } else if (!cli_buffer_append_str(out, "\"hex\":\"") || !cli_append_hex(out, data, length) ||
                   !cli_buffer_append(out, "\"", 1)) {
            return false;
        }
        return cli_buffer_append_str(out, "}\n");
    }
    return false;
}

/* ---- time and state names ---- */

/* The date and time text of the second a thread formatted last: the messages a tap or a recorder writes mostly fall in
 * the second of the one before, and gmtime_r/localtime_r with snprintf cost more than the rest of a message's line. */
typedef struct second_text {
    int valid;
    time_t second;
    char text[48]; /* without the fraction */
} second_text;

/* out = prefix "." six digits of microseconds, then suffix; truncated to size like snprintf. */
static void format_with_micros(const char *prefix, uint64_t epoch_ns, const char *suffix, char *out, size_t size)
{
    if (size == 0)
        return;
    char text[sizeof((second_text *)0)->text + 16];
    size_t length = strlen(prefix);
    memcpy(text, prefix, length);
    text[length++] = '.';
    unsigned micros = (unsigned)((epoch_ns % 1000000000ull) / 1000u);
    for (int i = 5; i >= 0; i--, micros /= 10)
        text[length + (size_t)i] = (char)('0' + micros % 10);
    length += 6;
    size_t suffix_length = strlen(suffix);
    memcpy(text + length, suffix, suffix_length);
    length += suffix_length;
    if (length > size - 1)
        length = size - 1;
    memcpy(out, text, length);
    out[length] = '\0';
}

void cli_format_time(uint64_t epoch_ns, char *out, size_t size)
{
    static _Thread_local second_text last;
    time_t seconds = (time_t)(epoch_ns / 1000000000ull);
    if (!last.valid || last.second != seconds) {
        struct tm local;
        if (localtime_r(&seconds, &local) == NULL) {
            snprintf(out, size, "?");
            return;
        }
        snprintf(last.text, sizeof last.text, "%02d:%02d:%02d", local.tm_hour, local.tm_min, local.tm_sec);
        last.second = seconds;
        last.valid = 1;
    }
    format_with_micros(last.text, epoch_ns, "", out, size);
}

void cli_format_iso_time(uint64_t epoch_ns, char *out, size_t size)
{
    static _Thread_local second_text last;
    time_t seconds = (time_t)(epoch_ns / 1000000000ull);
    if (epoch_ns == 0) {
        snprintf(out, size, "-");
        return;
    }
    if (!last.valid || last.second != seconds) {
        struct tm utc;
        if (gmtime_r(&seconds, &utc) == NULL) {
            snprintf(out, size, "-");
            return;
        }
        snprintf(last.text, sizeof last.text, "%04d-%02d-%02dT%02d:%02d:%02d", utc.tm_year + 1900, utc.tm_mon + 1,
                 utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
        last.second = seconds;
        last.valid = 1;
    }
    format_with_micros(last.text, epoch_ns, "Z", out, size);
}

const char *cli_state_name(int32_t state)
{
    switch (state) {
    case SIPC_STATE_WAITING:
        return "waiting";
    case SIPC_STATE_CONNECTED:
        return "connected";
    case SIPC_STATE_PEER_GONE:
        return "peer-gone";
    case SIPC_STATE_STALE:
        return "stale";
    case SIPC_STATE_EMPTY:
        return "empty";
    default:
        return "unknown";
    }
}

const char *cli_observer_event_name(int32_t event)
{
    switch (event) {
    case SIPC_EVENT_ATTACHED:
        return "attached";
    case SIPC_EVENT_CLOSED:
        return "closed";
    case SIPC_EVENT_DIED:
        return "died";
    case SIPC_EVENT_LOSSLESS_DROPPED:
        return "lossless-dropped";
    default:
        return "unknown";
    }
}

const char *cli_role_name(int32_t role)
{
    return role == SIPC_ROLE_SERVER ? "server" : role == SIPC_ROLE_CLIENT ? "client" : "observer";
}

const char *cli_lossless_drop_reason(uint64_t count)
{
    return count == 1 ? "stalled" : count == 2 ? "died" : "invalid";
}
