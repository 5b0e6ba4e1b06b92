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

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* Decimal digit pairs: two digits per division. */
static const char decimal_pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                    "8081828384858687888990919293949596979899";

/* The number of decimal digits of value (1 to 20). */
static size_t decimal_digits(uint64_t value)
{
    static const uint64_t powers[20] = {1ull,
                                        10ull,
                                        100ull,
                                        1000ull,
                                        10000ull,
                                        100000ull,
                                        1000000ull,
                                        10000000ull,
                                        100000000ull,
                                        1000000000ull,
                                        10000000000ull,
                                        100000000000ull,
                                        1000000000000ull,
                                        10000000000000ull,
                                        100000000000000ull,
                                        1000000000000000ull,
                                        10000000000000000ull,
                                        100000000000000000ull,
                                        1000000000000000000ull,
                                        10000000000000000000ull};
#if defined(__GNUC__) || defined(__clang__)
    if (value == 0)
        return 1;
    /* From the bit length: log10(2) ~ 1233 / 4096, at most one too small. */
    size_t guess = ((size_t)(64 - __builtin_clzll(value)) * 1233u) >> 12;
    return guess + (guess < 20 && value >= powers[guess] ? 1u : 0u);
#else
    size_t digits = 1;
    while (digits < 20 && value >= powers[digits])
        digits++;
    return digits;
#endif
}

/* value (below 10^8) as exactly eight digits, zero-padded, in 32-bit arithmetic. */
static void put_eight_digits(char *at, uint32_t value)
{
    uint32_t high = value / 10000u, low = value % 10000u;
    memcpy(at, decimal_pairs + 2u * (high / 100u), 2);
    memcpy(at + 2, decimal_pairs + 2u * (high % 100u), 2);
    memcpy(at + 4, decimal_pairs + 2u * (low / 100u), 2);
    memcpy(at + 6, decimal_pairs + 2u * (low % 100u), 2);
}

/* Written from its last digit back, two digits per division, straight where it goes. */
static char *put_u32(char *cursor, uint32_t value)
{
    char *end = cursor + decimal_digits(value);
    char *at = end;
    while (value >= 100u) {
        unsigned pair = value % 100u;
        value /= 100u;
        at -= 2;
        memcpy(at, decimal_pairs + 2u * pair, 2);
    }
    if (value >= 10u) {
        at -= 2;
        memcpy(at, decimal_pairs + 2u * value, 2);
    } else {
        *--at = (char)('0' + value);
    }
    return end;
}

char *cli_put_u64(char *cursor, uint64_t value)
{
    /* A tap writes two 19-digit numbers per message: split into eight-digit parts by one or two 64-bit divisions, the
     * rest in 32-bit arithmetic (a 64-bit division per digit pair made them a tenth of a busy tap's time). */
    if (value <= UINT32_MAX)
        return put_u32(cursor, (uint32_t)value);
    uint64_t high = value / 100000000u;
    uint32_t low = (uint32_t)(value % 100000000u);
    if (high <= UINT32_MAX) {
        cursor = put_u32(cursor, (uint32_t)high);
    } else {
        cursor = put_u32(cursor, (uint32_t)(high / 100000000u)); /* at most 1844 */
        put_eight_digits(cursor, (uint32_t)(high % 100000000u));
        cursor += 8;
    }
    put_eight_digits(cursor, low);
    return cursor + 8;
}

bool cli_buffer_append_u64(cli_buffer *buffer, uint64_t value)
{
    /* A tap writes three 19-digit numbers per message. */
    if (!cli_buffer_reserve(buffer, 20))
        return false;
    buffer->length = (size_t)(cli_put_u64(buffer->data + buffer->length, value) - buffer->data);
    buffer->data[buffer->length] = '\0';
    return true;
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

/* Every byte's two hex digits: one load and one store of two bytes per byte. */
static const char hex_pairs[513] = "000102030405060708090a0b0c0d0e0f"
                                   "101112131415161718191a1b1c1d1e1f"
                                   "202122232425262728292a2b2c2d2e2f"
                                   "303132333435363738393a3b3c3d3e3f"
                                   "404142434445464748494a4b4c4d4e4f"
                                   "505152535455565758595a5b5c5d5e5f"
                                   "606162636465666768696a6b6c6d6e6f"
                                   "707172737475767778797a7b7c7d7e7f"
                                   "808182838485868788898a8b8c8d8e8f"
                                   "909192939495969798999a9b9c9d9e9f"
                                   "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
                                   "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
                                   "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
                                   "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
                                   "e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
                                   "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

char *cli_put_hex(char *cursor, const void *data, size_t length)
{
    const unsigned char *bytes = data;
    size_t i = 0;
#if defined(__SSE2__)
    /* Sixteen bytes at a time (every x86-64 has SSE2): the high and the low nibbles interleaved into two vectors of
     * sixteen, each lane '0' + n, plus 39 where n > 9 ('a' - '0' - 10). */
    const __m128i nibble_mask = _mm_set1_epi8(0x0f);
    const __m128i nine = _mm_set1_epi8(9);
    const __m128i digit_zero = _mm_set1_epi8('0');
    const __m128i letter_gap = _mm_set1_epi8('a' - '0' - 10);
    for (; i + 16 <= length; i += 16, cursor += 32) {
        __m128i in = _mm_loadu_si128((const __m128i *)(const void *)(bytes + i));
        __m128i high = _mm_and_si128(_mm_srli_epi16(in, 4), nibble_mask);
        __m128i low = _mm_and_si128(in, nibble_mask);
        __m128i first = _mm_unpacklo_epi8(high, low);
        __m128i second = _mm_unpackhi_epi8(high, low);
        first = _mm_add_epi8(_mm_add_epi8(first, digit_zero), _mm_and_si128(_mm_cmpgt_epi8(first, nine), letter_gap));
        second =
            _mm_add_epi8(_mm_add_epi8(second, digit_zero), _mm_and_si128(_mm_cmpgt_epi8(second, nine), letter_gap));
        _mm_storeu_si128((__m128i *)(void *)cursor, first);
        _mm_storeu_si128((__m128i *)(void *)(cursor + 16), second);
    }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* Four bytes at a time in one 64-bit word: each byte's nibbles spread into two byte lanes (the high one first in
     * memory), then 0-9 and a-f made in every lane at once ('0' + n, plus 39 where n > 9: 'a' - '0' - 10). */
    for (; i + 4 <= length; i += 4, cursor += 8) {
        uint64_t spread = (uint64_t)bytes[i] | (uint64_t)bytes[i + 1] << 16 | (uint64_t)bytes[i + 2] << 32 |
                          (uint64_t)bytes[i + 3] << 48;
        uint64_t nibbles = ((spread >> 4) & 0x000f000f000f000full) | ((spread & 0x000f000f000f000full) << 8);
        uint64_t above9 = ((nibbles + 0x0606060606060606ull) >> 4) & 0x0101010101010101ull;
        uint64_t text = nibbles + 0x3030303030303030ull + above9 * 39u;
        memcpy(cursor, &text, sizeof text);
    }
#endif
    for (; i < length; i++, cursor += 2)
        memcpy(cursor, hex_pairs + 2u * bytes[i], 2);
    return cursor;
}

bool cli_append_hex(cli_buffer *out, const void *data, size_t length)
{
    if (length > (SIZE_MAX - 1) / 2 || !cli_buffer_reserve(out, length * 2))
        return false;
    out->length = (size_t)(cli_put_hex(out->data + out->length, data, length) - out->data);
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

/* How a JSON string writes each ASCII byte (RFC 8259 section 7: the quote, the backslash and the control characters
 * escaped, \n \r \t by name, the others and DEL as \u00xx): the text, padded to eight bytes with its length last, so that
 * a byte is one eight-byte store and an addition (the room reserved allows for the padding). */
typedef struct json_escape {
    char text[7];
    unsigned char length;
} json_escape;

static const json_escape json_escapes[128] = {
    {"\\u0000", 6}, {"\\u0001", 6}, {"\\u0002", 6}, {"\\u0003", 6}, {"\\u0004", 6}, {"\\u0005", 6}, {"\\u0006", 6},
    {"\\u0007", 6}, {"\\u0008", 6}, {"\\t", 2},     {"\\n", 2},     {"\\u000b", 6}, {"\\u000c", 6}, {"\\r", 2},
    {"\\u000e", 6}, {"\\u000f", 6}, {"\\u0010", 6}, {"\\u0011", 6}, {"\\u0012", 6}, {"\\u0013", 6}, {"\\u0014", 6},
    {"\\u0015", 6}, {"\\u0016", 6}, {"\\u0017", 6}, {"\\u0018", 6}, {"\\u0019", 6}, {"\\u001a", 6}, {"\\u001b", 6},
    {"\\u001c", 6}, {"\\u001d", 6}, {"\\u001e", 6}, {"\\u001f", 6}, {" ", 1},       {"!", 1},       {"\\\"", 2},
    {"#", 1},       {"$", 1},       {"%", 1},       {"&", 1},       {"\'", 1},      {"(", 1},       {")", 1},
    {"*", 1},       {"+", 1},       {",", 1},       {"-", 1},       {".", 1},       {"/", 1},       {"0", 1},
    {"1", 1},       {"2", 1},       {"3", 1},       {"4", 1},       {"5", 1},       {"6", 1},       {"7", 1},
    {"8", 1},       {"9", 1},       {":", 1},       {";", 1},       {"<", 1},       {"=", 1},       {">", 1},
    {"\?", 1},      {"@", 1},       {"A", 1},       {"B", 1},       {"C", 1},       {"D", 1},       {"E", 1},
    {"F", 1},       {"G", 1},       {"H", 1},       {"I", 1},       {"J", 1},       {"K", 1},       {"L", 1},
    {"M", 1},       {"N", 1},       {"O", 1},       {"P", 1},       {"Q", 1},       {"R", 1},       {"S", 1},
    {"T", 1},       {"U", 1},       {"V", 1},       {"W", 1},       {"X", 1},       {"Y", 1},       {"Z", 1},
    {"[", 1},       {"\\\\", 2},    {"]", 1},       {"^", 1},       {"_", 1},       {"`", 1},       {"a", 1},
    {"b", 1},       {"c", 1},       {"d", 1},       {"e", 1},       {"f", 1},       {"g", 1},       {"h", 1},
    {"i", 1},       {"j", 1},       {"k", 1},       {"l", 1},       {"m", 1},       {"n", 1},       {"o", 1},
    {"p", 1},       {"q", 1},       {"r", 1},       {"s", 1},       {"t", 1},       {"u", 1},       {"v", 1},
    {"w", 1},       {"x", 1},       {"y", 1},       {"z", 1},       {"{", 1},       {"|", 1},       {"}", 1},
    {"~", 1},       {"\\u007f", 6},
};

/* Bytes from the start of data[0, length) below 0x80, eight at a time while they can be. */
static size_t ascii_prefix(const unsigned char *bytes, size_t length)
{
    size_t i = 0;
    for (; i + 8 <= length; i += 8) {
        uint64_t word;
        memcpy(&word, bytes + i, sizeof word);
        if (word & 0x8080808080808080ull)
            break;
    }
    while (i < length && bytes[i] < 0x80)
        i++;
    return i;
}

/* The room a JSON string of `length` bytes may need: every byte a six-character escape, the quotes, and the padding
 * of the last escape's eight-byte store. */
#define JSON_STRING_ROOM(length) ((length)*6 + 2 + sizeof(json_escape))

/* Writes a JSON string literal (quotes included) into room of JSON_STRING_ROOM(length); returns where it ends. */
static char *put_json_string(char *cursor, const unsigned char *bytes, size_t length)
{
    *cursor++ = '"';
    size_t i = 0;
    while (i < length) {
        unsigned char c = bytes[i];
        if (c < 0x80) {
            memcpy(cursor, &json_escapes[c], sizeof(json_escape));
            cursor += json_escapes[c].length;
            i++;
            continue;
        }
        size_t step = utf8_sequence_length(bytes + i, length - i);
        if (step == 0) {
            memcpy(cursor, "\\ufffd", 6);
            cursor += 6;
            i++;
        } else {
            memcpy(cursor, &bytes[i], step);
            cursor += step;
            i += step;
        }
    }
    *cursor++ = '"';
    return cursor;
}

bool cli_append_json_string(cli_buffer *out, const void *data, size_t length)
{
    /* Written straight into room reserved for the worst case (every byte a six-character escape): a tap writes this
     * for every message, and a bounds check per byte cost more than the escaping. */
    if (length > (SIZE_MAX - 3 - sizeof(json_escape)) / 6 || !cli_buffer_reserve(out, JSON_STRING_ROOM(length)))
        return false;
    out->length = (size_t)(put_json_string(out->data + out->length, data, length) - out->data);
    out->data[out->length] = '\0';
    return true;
}

bool cli_append_json_payload(cli_buffer *out, const void *data, size_t length)
{
    const unsigned char *bytes = data;
    size_t ascii = ascii_prefix(bytes, length);
    bool text = ascii == length || cli_utf8_valid(bytes + ascii, length - ascii);
    if (length > (SIZE_MAX - 16 - sizeof(json_escape)) / 6 ||
        !cli_buffer_reserve(out, text ? 7 + JSON_STRING_ROOM(length) : 8 + 2 * length))
        return false;
    char *cursor = out->data + out->length;
    if (text) {
        memcpy(cursor, "\"text\":", 7);
        cursor = put_json_string(cursor + 7, bytes, length);
    } else {
        memcpy(cursor, "\"hex\":\"", 7);
        cursor = cli_put_hex(cursor + 7, bytes, length);
        *cursor++ = '"';
    }
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
    size_t length;
    char text[48]; /* without the fraction */
} second_text;

/* out = prefix "." six digits of microseconds, then suffix (at most 8 bytes); truncated to size like snprintf; returns
 * the length written (without the NUL). */
static size_t format_with_micros(const second_text *prefix, uint64_t epoch_ns, const char *suffix, char *out,
                                 size_t size)
{
    if (size == 0)
        return 0;
    char text[sizeof((second_text *)0)->text + 16];
    size_t length = prefix->length;
    memcpy(text, prefix->text, length);
    text[length++] = '.';
    unsigned micros = (unsigned)((epoch_ns % 1000000000ull) / 1000u);
    memcpy(text + length, decimal_pairs + 2u * (micros / 10000u), 2);
    memcpy(text + length + 2, decimal_pairs + 2u * (micros / 100u % 100u), 2);
    memcpy(text + length + 4, decimal_pairs + 2u * (micros % 100u), 2);
    length += 6;
    size_t suffix_length = strlen(suffix);
    memcpy(text + length, suffix, suffix_length);
    length += suffix_length;
    if (length > size - 1)
        length = size - 1;
    memcpy(out, text, length);
    out[length] = '\0';
    return length;
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
        int length = snprintf(last.text, sizeof last.text, "%02d:%02d:%02d", local.tm_hour, local.tm_min, local.tm_sec);
        last.length = length < 0 ? 0 : (size_t)length < sizeof last.text ? (size_t)length : sizeof last.text - 1;
        last.second = seconds;
        last.valid = 1;
    }
    format_with_micros(&last, epoch_ns, "", out, size);
}

char *cli_put_iso_time(char *cursor, uint64_t epoch_ns)
{
    static _Thread_local second_text last;
    time_t seconds = (time_t)(epoch_ns / 1000000000ull);
    if (epoch_ns != 0 && (!last.valid || last.second != seconds)) {
        struct tm utc;
        if (gmtime_r(&seconds, &utc) == NULL) {
            *cursor = '-';
            return cursor + 1;
        }
        int length = snprintf(last.text, sizeof last.text, "%04d-%02d-%02dT%02d:%02d:%02d", utc.tm_year + 1900,
                              utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
        last.length = length < 0 ? 0 : (size_t)length < sizeof last.text ? (size_t)length : sizeof last.text - 1;
        last.second = seconds;
        last.valid = 1;
    }
    if (epoch_ns == 0) {
        *cursor = '-';
        return cursor + 1;
    }
    unsigned micros = (unsigned)((epoch_ns % 1000000000ull) / 1000u);
    if (last.length == 19) {
        /* Every time of a 64-bit count of nanoseconds since 1970 (years 1970 to 2554): copies of constant size
         * (a tap writes one per message). */
        memcpy(cursor, last.text, 19);
        cursor[19] = '.';
        memcpy(cursor + 20, decimal_pairs + 2u * (micros / 10000u), 2);
        memcpy(cursor + 22, decimal_pairs + 2u * (micros / 100u % 100u), 2);
        memcpy(cursor + 24, decimal_pairs + 2u * (micros % 100u), 2);
        cursor[26] = 'Z';
        return cursor + 27;
    }
    char text[CLI_ISO_TIME_SIZE];
    size_t length = format_with_micros(&last, epoch_ns, "Z", text, sizeof text);
    memcpy(cursor, text, length);
    return cursor + length;
}

void cli_format_iso_time(uint64_t epoch_ns, char *out, size_t size)
{
    if (size == 0)
        return;
    char text[CLI_ISO_TIME_SIZE + 1];
    size_t length = (size_t)(cli_put_iso_time(text, epoch_ns) - text);
    if (length > size - 1)
        length = size - 1;
    memcpy(out, text, length);
    out[length] = '\0';
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
