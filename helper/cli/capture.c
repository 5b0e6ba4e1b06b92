/* Recordings on disk: the pcapng and JSON Lines writers and readers (layouts in capture.h). */
#include "capture.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define BLOCK_SHB 0x0a0d0d0au
#define BLOCK_IDB 0x00000001u
#define BLOCK_EPB 0x00000006u
#define BYTE_ORDER_MAGIC 0x1a2b3c4du
#define OPT_END 0u
#define OPT_COMMENT 1u
#define SHB_USERAPPL 4u
#define IF_NAME 2u
#define IF_DESCRIPTION 3u
#define IF_TSRESOL 9u
#define IF_TSOFFSET 14u
#define EPB_FLAGS 2u
#define EVENT_PREFIX "sipc event "
#define ROLE_PREFIX "sipc role: "
#define JSONL_FORMAT "sipc-capture"

const char *capture_direction_label(int32_t direction)
{
    return direction == SIPC_DIR_TO_SERVER ? "client→server" : "server→client";
}

const char *capture_direction_name(int32_t direction)
{
    return direction == SIPC_DIR_TO_SERVER ? "to-server" : "to-client";
}

static void set_error(char *error, size_t size, const char *format, ...) __attribute__((format(CLI_PRINTF, 3, 4)));
static void set_error(char *error, size_t size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(error, size, format, args);
    va_end(args);
}

/* ================================ writing ================================ */

static size_t pad4(size_t n)
{
    return (n + 3u) & ~(size_t)3u;
}

/* Little-endian stores: one move where the host is little-endian (the compiler did not merge the byte stores of
 * pcapng_record's seven block words, a quarter of its time), byte by byte elsewhere. */
static void store_u16(unsigned char *p, uint16_t value)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &value, sizeof value);
#else
    p[0] = (unsigned char)value;
    p[1] = (unsigned char)(value >> 8);
#endif
}

static void store_u32(unsigned char *p, uint32_t value)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &value, sizeof value);
#else
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(value >> (8 * i));
#endif
}

static bool put_u16(cli_buffer *out, uint16_t value)
{
    unsigned char bytes[2] = {(unsigned char)value, (unsigned char)(value >> 8)};
    return cli_buffer_append(out, bytes, 2);
}

static bool put_u32(cli_buffer *out, uint32_t value)
{
    unsigned char bytes[4] = {(unsigned char)value, (unsigned char)(value >> 8), (unsigned char)(value >> 16),
                              (unsigned char)(value >> 24)};
    return cli_buffer_append(out, bytes, 4);
}

static bool put_padded(cli_buffer *out, const void *data, size_t length)
{
    static const unsigned char zeros[4] = {0, 0, 0, 0};
    return cli_buffer_append(out, data, length) && cli_buffer_append(out, zeros, pad4(length) - length);
}

static bool put_option(cli_buffer *out, uint16_t code, const void *value, size_t length)
{
    return length <= UINT16_MAX && put_u16(out, code) && put_u16(out, (uint16_t)length) &&
           put_padded(out, value, length);
}

static bool put_text_option(cli_buffer *out, uint16_t code, const char *text)
{
    return put_option(out, code, text, strlen(text));
}

/* Starts a block in out: its type and a length patched by end_block. */
static bool begin_block(cli_buffer *out, uint32_t type, size_t *start)
{
    *start = out->length;
    return put_u32(out, type) && put_u32(out, 0);
}

static bool end_block(cli_buffer *out, size_t start, bool has_options)
{
    if (has_options && !(put_u16(out, OPT_END) && put_u16(out, 0)))
        return false;
    size_t total = out->length - start + 4;
    if (total > UINT32_MAX || !put_u32(out, (uint32_t)total))
        return false;
    unsigned char *length_field = (unsigned char *)out->data + start + 4;
    for (int i = 0; i < 4; i++)
        length_field[i] = (unsigned char)(total >> (8 * i));
    return true;
}

static bool pcapng_header(cli_buffer *out, const char *const *channels, size_t channel_count)
{
    size_t start;
    bool ok = begin_block(out, BLOCK_SHB, &start) && put_u32(out, BYTE_ORDER_MAGIC) && put_u16(out, 1) &&
              put_u16(out, 0) && put_u32(out, UINT32_MAX) && put_u32(out, UINT32_MAX) && /* section length unknown */
              put_text_option(out, SHB_USERAPPL, "sipc " SIPC_CLI_VERSION) && end_block(out, start, true);
    for (size_t i = 0; ok && i < channel_count; i++) {
        const unsigned char nanoseconds = 9;
        char description[SIPC_NAME_MAX + 32];
        snprintf(description, sizeof description, "sipc channel %s", channels[i]);
        ok = begin_block(out, BLOCK_IDB, &start) && put_u16(out, (uint16_t)CAPTURE_LINKTYPE_USER0) && put_u16(out, 0) &&
             put_u32(out, 0) /* snaplen: no limit */ && put_text_option(out, IF_NAME, channels[i]) &&
             put_text_option(out, IF_DESCRIPTION, description) && put_option(out, IF_TSRESOL, &nanoseconds, 1) &&
             put_text_option(out, OPT_COMMENT, ROLE_PREFIX "observer") && end_block(out, start, true);
    }
    return ok;
}

/* Writes `length` bytes of text at p followed by zeros up to its 4-byte boundary; returns the padded length. */
static size_t put_padded_at(unsigned char *p, const void *text, size_t length)
{
    size_t padded = pad4(length);
    if (length != 0)
        memcpy(p, text, length);
    memset(p + length, 0, padded - length);
    return padded;
}

static bool pcapng_record(cli_buffer *out, const capture_record *record)
{
    /* The comment: an event's "sipc event NAME: DETAIL", or a message's direction, then ", " and its detail, if any;
     * at most COMMENT_MAX bytes either way (a message's parts are written in place, without a copy). */
    enum { COMMENT_MAX = 511 };
    char event_comment[COMMENT_MAX + 1];
    const char *parts[2] = {NULL, NULL};
    size_t part_lengths[2] = {0, 0};
    uint32_t flags = 0;
    if (record->kind == CAPTURE_EVENT) {
        snprintf(event_comment, sizeof event_comment, EVENT_PREFIX "%s: %s", record->event,
                 record->detail ? record->detail : "");
        parts[0] = event_comment;
        part_lengths[0] = strlen(event_comment);
    } else {
        flags = record->direction == SIPC_DIR_TO_SERVER ? CAPTURE_EPB_OUTBOUND : CAPTURE_EPB_INBOUND;
        parts[0] = capture_direction_label(record->direction);
        part_lengths[0] = strlen(parts[0]) < COMMENT_MAX ? strlen(parts[0]) : COMMENT_MAX;
        if (record->detail && record->detail[0] && part_lengths[0] + 2 <= COMMENT_MAX) {
            size_t detail = strlen(record->detail);
            parts[1] = record->detail;
            part_lengths[1] = detail < COMMENT_MAX - part_lengths[0] - 2 ? detail : COMMENT_MAX - part_lengths[0] - 2;
        }
    }
    size_t comment_length = part_lengths[0] + (parts[1] ? 2 + part_lengths[1] : 0);
    uint32_t captured = record->kind == CAPTURE_MESSAGE ? record->captured : 0;
    uint32_t length = record->kind == CAPTURE_MESSAGE ? record->length : 0;
    /* The whole block in one reservation, written in place (one record per message: a buffer call per field was most
     * of the recorder's formatting time). The block: 7 words, the padded data, the flags option (8), the comment
     * option (4 + padded text), the end of options (4) and the length again (4). */
    size_t total = 28u + pad4(captured) + 8u + 4u + pad4(comment_length) + 4u + 4u;
    if (total > UINT32_MAX || !cli_buffer_reserve(out, total))
        return false;
    unsigned char *p = (unsigned char *)out->data + out->length;
    const uint32_t words[7] = {BLOCK_EPB,
                               (uint32_t)total,
                               record->channel,
                               (uint32_t)(record->timestamp_ns >> 32),
                               (uint32_t)record->timestamp_ns,
                               captured,
                               length >= captured ? length : captured};
    for (size_t i = 0; i < 7; i++)
        store_u32(p + 4 * i, words[i]);
    size_t at = 28;
    at += put_padded_at(p + at, record->data, captured);
    store_u16(p + at, EPB_FLAGS);
    store_u16(p + at + 2, 4);
    store_u32(p + at + 4, flags);
    at += 8;
    store_u16(p + at, OPT_COMMENT);
    store_u16(p + at + 2, (uint16_t)comment_length);
    at += 4;
    memcpy(p + at, parts[0], part_lengths[0]);
    if (parts[1]) {
        memcpy(p + at + part_lengths[0], ", ", 2);
        if (part_lengths[1] != 0)
            memcpy(p + at + part_lengths[0] + 2, parts[1], part_lengths[1]);
    }
    memset(p + at + comment_length, 0, pad4(comment_length) - comment_length);
    at += pad4(comment_length);
    store_u32(p + at, 0); /* OPT_END, length 0 */
    at += 4;
    store_u32(p + at, (uint32_t)total);
    out->length += total;
    out->data[out->length] = '\0';
    return true;
}

static bool append_time_fields(cli_buffer *out, uint64_t timestamp_ns)
{
    /* Without printf (one record per message; see cli_buffer_append_u64): timestampMs is milliseconds with six
     * decimals, the nanoseconds below the millisecond zero-padded. */
    char iso[40];
    cli_format_iso_time(timestamp_ns, iso, sizeof iso);
    char fraction[8] = ".000000";
    unsigned below = (unsigned)(timestamp_ns % 1000000u);
    for (int i = 6; i >= 1; i--, below /= 10)
        fraction[i] = (char)('0' + below % 10);
    return cli_buffer_append_str(out, ",\"time\":\"") && cli_buffer_append_str(out, iso) &&
           cli_buffer_append_str(out, "\",\"timestampMs\":") && cli_buffer_append_u64(out, timestamp_ns / 1000000u) &&
           cli_buffer_append(out, fraction, 7) && cli_buffer_append_str(out, ",\"timestampNs\":") &&
           cli_buffer_append_u64(out, timestamp_ns);
}

static bool jsonl_header(cli_buffer *out, const char *const *channels, size_t channel_count)
{
    char iso[40];
    cli_format_iso_time(sipc_os_wall_ns(), iso, sizeof iso);
    bool ok = cli_buffer_printf(out, "{\"type\":\"header\",\"format\":\"" JSONL_FORMAT "\",\"version\":1,\"channel\":");
    ok = ok && cli_append_json_string(out, channels[0], strlen(channels[0])) &&
         cli_buffer_append_str(out, ",\"channels\":[");
    for (size_t i = 0; ok && i < channel_count; i++)
        ok = (i == 0 || cli_buffer_append_str(out, ",")) &&
             cli_append_json_string(out, channels[i], strlen(channels[i]));
    return ok &&
           cli_buffer_printf(
               out, "],\"mode\":\"observe\",\"role\":\"observer\",\"exported\":\"%s\",\"application\":\"sipc %s\"}\n",
               iso, SIPC_CLI_VERSION);
}

static bool jsonl_record(cli_buffer *out, const capture_sink *sink, const capture_record *record)
{
    const char *channel = sink->channels[record->channel];
    bool message = record->kind == CAPTURE_MESSAGE;
    bool ok = cli_buffer_append_str(out, message ? "{\"type\":\"message\",\"channel\":"
                                                 : "{\"type\":\"event\",\"channel\":") &&
              cli_append_json_string(out, channel, strlen(channel)) && cli_buffer_append_str(out, ",\"seq\":") &&
              cli_buffer_append_u64(out, record->sequence) && append_time_fields(out, record->timestamp_ns);
    if (!message) {
        const char *detail = record->detail ? record->detail : "";
        return ok && cli_buffer_append_str(out, ",\"event\":") &&
               cli_append_json_string(out, record->event, strlen(record->event)) &&
               cli_buffer_append_str(out, ",\"detail\":") && cli_append_json_string(out, detail, strlen(detail)) &&
               cli_buffer_append_str(out, "}\n");
    }
    ok = ok && cli_buffer_append_str(out, ",\"direction\":\"") &&
         cli_buffer_append_str(out, capture_direction_name(record->direction)) &&
         cli_buffer_append_str(out, "\",\"length\":") && cli_buffer_append_u64(out, record->length);
    if (ok && record->captured < record->length)
        ok = cli_buffer_append_str(out, ",\"captured\":") && cli_buffer_append_u64(out, record->captured);
    ok = ok && cli_buffer_append_str(out, ",\"data\":\"") && cli_append_base64(out, record->data, record->captured) &&
         cli_buffer_append_str(out, "\"");
    if (ok && cli_utf8_valid(record->data, record->captured))
        ok = cli_buffer_append_str(out, ",\"text\":") && cli_append_json_string(out, record->data, record->captured);
    if (ok && record->detail && record->detail[0])
        ok = cli_buffer_append_str(out, ",\"note\":") &&
             cli_append_json_string(out, record->detail, strlen(record->detail));
    return ok && cli_buffer_append_str(out, "}\n");
}

bool capture_sink_flush(capture_sink *sink)
{
    if (sink->scratch.length > 0 &&
        fwrite(sink->scratch.data, 1, sink->scratch.length, sink->file) != sink->scratch.length)
        return false;
    sink->scratch.length = 0;
    return true;
}

bool capture_sink_start(capture_sink *sink, FILE *file, capture_format format, const char *const *channels,
                        size_t channel_count)
{
    sink->file = file;
    sink->format = format;
    sink->channels = channels;
    sink->channel_count = channel_count;
    sink->bytes = 0;
    sink->scratch.length = 0;
    bool built = format == CAPTURE_PCAPNG ? pcapng_header(&sink->scratch, channels, channel_count)
                                          : jsonl_header(&sink->scratch, channels, channel_count);
    if (!built)
        errno = ENOMEM;
    sink->bytes = sink->scratch.length;
    return built && capture_sink_flush(sink);
}

bool capture_sink_write(capture_sink *sink, const capture_record *record)
{
    size_t before = sink->scratch.length;
    bool built = sink->format == CAPTURE_PCAPNG ? pcapng_record(&sink->scratch, record)
                                                : jsonl_record(&sink->scratch, sink, record);
    if (!built) {
        sink->scratch.length = before; /* no half record */
        errno = ENOMEM;
        return false;
    }
    sink->bytes += sink->scratch.length - before;
    return sink->scratch.length < CAPTURE_SINK_BATCH || capture_sink_flush(sink);
}

void capture_sink_free(capture_sink *sink)
{
    cli_buffer_free(&sink->scratch);
}

/* ================================ reading ================================ */

typedef struct capture_interface {
    uint32_t channel;
    capture_role role;
    bool binary_resolution; /* if_tsresol: 2^-exponent instead of 10^-exponent */
    uint8_t exponent;
    int64_t offset_seconds;
} capture_interface;

struct capture_reader {
    FILE *file;
    capture_format format;
    uint64_t offset;    /* pcapng: where the next block starts; JSON Lines: lines read */
    uint64_t file_size; /* 0 when unknown (a pipe) */
    bool swap;          /* the section's byte order is not ours */
    capture_role role;  /* JSON Lines: the header's */
    uint64_t side_unknown;
    capture_interface *interfaces;
    size_t interface_count, interface_capacity;
    char **channels;
    size_t channel_count, channel_capacity;
    cli_buffer block;   /* the current block or line */
    cli_buffer payload; /* JSON Lines: the decoded data */
    cli_buffer comment; /* the current record's note or event detail */
    cli_buffer event;   /* the current event's name */
};

capture_format capture_reader_format(const capture_reader *reader)
{
    return reader->format;
}

uint64_t capture_reader_side_unknown(const capture_reader *reader)
{
    return reader->side_unknown;
}

/* A role's name in a file ("server", ...); UNKNOWN for anything else. */
static capture_role role_named(const char *name, size_t length)
{
    static const struct {
        const char *name;
        capture_role role;
    } roles[] = {{"observer", CAPTURE_ROLE_OBSERVER}, {"server", CAPTURE_ROLE_SERVER}, {"client", CAPTURE_ROLE_CLIENT}};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strlen(roles[i].name) == length && memcmp(roles[i].name, name, length) == 0)
            return roles[i].role;
    return CAPTURE_ROLE_UNKNOWN;
}

/* "sent"/"received" (a connection panel's own view, `sent` true for the first) as the channel's direction: the
 * panel's role says which way its sent messages went. A file without it is read as the versions that wrote no
 * role meant it (sent = client->server), and counted, so that replay can say that this is an assumption. */
static int32_t window_direction(capture_reader *reader, capture_role role, bool sent)
{
    if (role == CAPTURE_ROLE_SERVER)
        return sent ? SIPC_DIR_TO_CLIENT : SIPC_DIR_TO_SERVER;
    if (role != CAPTURE_ROLE_CLIENT)
        reader->side_unknown++;
    return sent ? SIPC_DIR_TO_SERVER : SIPC_DIR_TO_CLIENT;
}

/* Whether text[0..length) is word alone or followed by ", note". */
static bool names_word(const char *text, size_t length, const char *word)
{
    size_t n = strlen(word);
    return length >= n && memcmp(text, word, n) == 0 && (length == n || text[n] == ',');
}

size_t capture_reader_channel_count(const capture_reader *reader)
{
    return reader->channel_count;
}

const char *capture_reader_channel(const capture_reader *reader, size_t index)
{
    return index < reader->channel_count ? reader->channels[index] : NULL;
}

/* The index of the channel of that name, added when new; -1 when out of memory. */
static long channel_index(capture_reader *reader, const char *name, size_t length)
{
    for (size_t i = 0; i < reader->channel_count; i++)
        if (strlen(reader->channels[i]) == length && memcmp(reader->channels[i], name, length) == 0)
            return (long)i;
    char **channels =
        cli_array_grow(reader->channels, reader->channel_count, &reader->channel_capacity, sizeof *channels, 4);
    if (!channels)
        return -1;
    reader->channels = channels;
    char *copy = malloc(length + 1);
    if (!copy)
        return -1;
    memcpy(copy, name, length);
    copy[length] = '\0';
    reader->channels[reader->channel_count] = copy;
    return (long)reader->channel_count++;
}

static uint16_t get_u16(const capture_reader *reader, const unsigned char *p)
{
    return reader->swap ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t get_u32(const capture_reader *reader, const unsigned char *p)
{
    return reader->swap ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                        : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint32_t get_u32_le(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Reads exactly length bytes; false at the end of the file or on an error. */
static bool read_exact(FILE *file, void *data, size_t length, size_t *got)
{
    *got = fread(data, 1, length, file);
    return *got == length;
}

bool capture_reader_open(const char *path, capture_reader **out, char *error, size_t error_size)
{
    *out = NULL;
    FILE *file = fopen(path, "rb");
    if (!file) {
        set_error(error, error_size, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    capture_reader *reader = calloc(1, sizeof *reader);
    if (!reader) {
        fclose(file);
        set_error(error, error_size, "out of memory");
        return false;
    }
    reader->file = file;
    if (fseek(file, 0, SEEK_END) == 0) {
        long size = ftell(file);
        reader->file_size = size > 0 ? (uint64_t)size : 0;
    }
    rewind(file);
    unsigned char magic[4] = {0};
    size_t got = fread(magic, 1, sizeof magic, file);
    rewind(file);
    if (got == sizeof magic && get_u32_le(magic) == BLOCK_SHB) {
        reader->format = CAPTURE_PCAPNG;
    } else if (got >= 1 && magic[0] == '{') {
        reader->format = CAPTURE_JSONL;
    } else {
        set_error(error, error_size, "%s is neither pcapng nor JSON Lines (%s)", path,
                  got == 0 ? "it is empty" : "unknown first bytes");
        capture_reader_close(reader);
        return false;
    }
    *out = reader;
    return true;
}

void capture_reader_close(capture_reader *reader)
{
    if (!reader)
        return;
    if (reader->file)
        fclose(reader->file);
    for (size_t i = 0; i < reader->channel_count; i++)
        free(reader->channels[i]);
    free(reader->channels);
    free(reader->interfaces);
    cli_buffer_free(&reader->block);
    cli_buffer_free(&reader->payload);
    cli_buffer_free(&reader->comment);
    cli_buffer_free(&reader->event);
    free(reader);
}

/* ---- pcapng ---- */

/* Walks a block's options from body[0..length). For each: visit(code, value, value_length). */
typedef bool (*option_visitor)(capture_reader *reader, uint16_t code, const unsigned char *value, uint16_t length,
                               void *context);

static bool walk_options(capture_reader *reader, const unsigned char *body, size_t length, option_visitor visit,
                         void *context, char *error, size_t error_size, uint64_t block_offset)
{
    size_t at = 0;
    while (at + 4 <= length) {
        uint16_t code = get_u16(reader, body + at);
        uint16_t value_length = get_u16(reader, body + at + 2);
        at += 4;
        if (code == OPT_END)
            return true;
        if (pad4(value_length) > length - at) {
            set_error(error, error_size, "option %u of the block at offset %" PRIu64 " runs past the block's end", code,
                      block_offset);
            return false;
        }
        if (!visit(reader, code, body + at, value_length, context)) {
            set_error(error, error_size, "option %u of the block at offset %" PRIu64 " is malformed", code,
                      block_offset);
            return false;
        }
        at += pad4(value_length);
    }
    return true;
}

typedef struct interface_options {
    capture_interface interface;
    const unsigned char *name;
    uint16_t name_length;
} interface_options;

static bool visit_interface_option(capture_reader *reader, uint16_t code, const unsigned char *value, uint16_t length,
                                   void *context)
{
    interface_options *options = context;
    if (code == IF_NAME) {
        options->name = value;
        options->name_length = length;
    } else if (code == IF_TSRESOL) {
        if (length != 1)
            return false;
        options->interface.binary_resolution = (value[0] & 0x80u) != 0;
        options->interface.exponent = value[0] & 0x7fu;
        if (options->interface.binary_resolution ? options->interface.exponent > 63 : options->interface.exponent > 19)
            return false;
    } else if (code == IF_TSOFFSET) {
        if (length != 8)
            return false;
        uint64_t low = get_u32(reader, value), high = get_u32(reader, value + 4);
        uint64_t raw = reader->swap ? (low << 32 | high) : (high << 32 | low);
        options->interface.offset_seconds = (int64_t)raw;
    } else if (code == OPT_COMMENT && length > strlen(ROLE_PREFIX) &&
               memcmp(value, ROLE_PREFIX, strlen(ROLE_PREFIX)) == 0) {
        options->interface.role =
            role_named((const char *)value + strlen(ROLE_PREFIX), (size_t)length - strlen(ROLE_PREFIX));
    }
    return true;
}

typedef struct packet_options {
    uint32_t flags;
    const unsigned char *comment;
    uint16_t comment_length;
} packet_options;

static bool visit_packet_option(capture_reader *reader, uint16_t code, const unsigned char *value, uint16_t length,
                                void *context)
{
    packet_options *options = context;
    if (code == EPB_FLAGS) {
        if (length != 4)
            return false;
        options->flags = get_u32(reader, value);
    } else if (code == OPT_COMMENT && !options->comment) {
        options->comment = value;
        options->comment_length = length;
    }
    return true;
}

static bool add_interface(capture_reader *reader, const unsigned char *body, size_t length, uint64_t block_offset,
                          char *error, size_t error_size)
{
    if (length < 8) {
        set_error(error, error_size, "the interface block at offset %" PRIu64 " is too short", block_offset);
        return false;
    }
    interface_options options = {.interface = {.exponent = 6}};
    if (!walk_options(reader, body + 8, length - 8, visit_interface_option, &options, error, error_size, block_offset))
        return false;
    char fallback[32];
    if (!options.name || options.name_length == 0) {
        snprintf(fallback, sizeof fallback, "interface %zu", reader->interface_count);
        options.name = (const unsigned char *)fallback;
        options.name_length = (uint16_t)strlen(fallback);
    }
    long channel = channel_index(reader, (const char *)options.name, options.name_length);
    if (channel < 0)
        goto no_memory;
    options.interface.channel = (uint32_t)channel;
    capture_interface *interfaces =
        cli_array_grow(reader->interfaces, reader->interface_count, &reader->interface_capacity, sizeof *interfaces, 4);
    if (!interfaces)
        goto no_memory;
    reader->interfaces = interfaces;
    reader->interfaces[reader->interface_count++] = options.interface;
    return true;
no_memory:
    set_error(error, error_size, "out of memory");
    return false;
}

/* A timestamp in the interface's units -> nanoseconds since the epoch (saturating). */
static uint64_t timestamp_ns(const capture_interface *interface, uint64_t units)
{
    uint64_t ns;
    if (interface->binary_resolution) {
        ns = (uint64_t)((long double)units * 1e9L / (long double)(1ull << interface->exponent) + 0.5L);
    } else if (interface->exponent <= 9) {
        uint64_t scale = 1;
        for (unsigned i = interface->exponent; i < 9; i++)
            scale *= 10;
        ns = units > UINT64_MAX / scale ? UINT64_MAX : units * scale;
    } else {
        uint64_t scale = 1;
        for (unsigned i = 9; i < interface->exponent; i++)
            scale *= 10;
        ns = units / scale;
    }
    int64_t offset = interface->offset_seconds;
    if (offset > 0)
        ns = (uint64_t)offset > (UINT64_MAX - ns) / 1000000000u ? UINT64_MAX : ns + (uint64_t)offset * 1000000000u;
    else if (offset < 0)
        ns = (uint64_t)(-(offset + 1)) + 1 > ns / 1000000000u ? 0 : ns - ((uint64_t)(-(offset + 1)) + 1) * 1000000000u;
    return ns;
}

static bool set_text(cli_buffer *buffer, const void *text, size_t length)
{
    buffer->length = 0;
    return cli_buffer_append(buffer, text, length) && cli_buffer_reserve(buffer, 0);
}

static int packet_record(capture_reader *reader, const unsigned char *body, size_t length, uint64_t block_offset,
                         capture_record *record, char *error, size_t error_size)
{
    if (length < 20) {
        set_error(error, error_size, "the packet block at offset %" PRIu64 " is too short", block_offset);
        return -1;
    }
    uint32_t interface_id = get_u32(reader, body);
    if (interface_id >= reader->interface_count) {
        set_error(error, error_size,
                  "the packet block at offset %" PRIu64 " names interface %u, but the section has %zu", block_offset,
                  interface_id, reader->interface_count);
        return -1;
    }
    uint64_t units = (uint64_t)get_u32(reader, body + 4) << 32 | get_u32(reader, body + 8);
    uint32_t captured = get_u32(reader, body + 12);
    uint32_t original = get_u32(reader, body + 16);
    if (captured > length - 20 || pad4(captured) > length - 20) {
        set_error(error, error_size,
                  "the packet block at offset %" PRIu64 " claims %u captured bytes but holds at most %zu", block_offset,
                  captured, length - 20);
        return -1;
    }
    packet_options options = {0};
    size_t options_at = 20 + pad4(captured);
    if (!walk_options(reader, body + options_at, length - options_at, visit_packet_option, &options, error, error_size,
                      block_offset))
        return -1;
    const capture_interface *interface = &reader->interfaces[interface_id];
    memset(record, 0, sizeof *record);
    record->channel = interface->channel;
    record->timestamp_ns = timestamp_ns(interface, units);
    record->data = body + 20;
    record->captured = captured;
    record->length = original > captured ? original : captured;
    const char *comment = options.comment ? (const char *)options.comment : "";
    size_t comment_length = options.comment ? options.comment_length : 0;
    size_t prefix_length = strlen(EVENT_PREFIX);
    if ((options.flags & 3u) == 0 && captured == 0 && comment_length > prefix_length &&
        memcmp(comment, EVENT_PREFIX, prefix_length) == 0) {
        const char *name = comment + prefix_length;
        size_t rest = comment_length - prefix_length;
        const char *colon = memchr(name, ':', rest);
        size_t name_length = colon ? (size_t)(colon - name) : rest;
        const char *detail = colon ? colon + 1 : name + rest;
        size_t detail_length = rest - (size_t)(detail - name);
        while (detail_length > 0 && *detail == ' ')
            detail++, detail_length--;
        if (!set_text(&reader->event, name, name_length) || !set_text(&reader->comment, detail, detail_length))
            goto no_memory;
        record->kind = CAPTURE_EVENT;
        record->event = reader->event.data;
        record->detail = reader->comment.data;
        return 1;
    }
    record->kind = CAPTURE_MESSAGE;
    uint32_t direction = options.flags & 3u;
    if (names_word(comment, comment_length, "sent") || names_word(comment, comment_length, "received"))
        record->direction = window_direction(reader, interface->role, comment[0] == 's');
    else
        record->direction = direction == CAPTURE_EPB_OUTBOUND  ? SIPC_DIR_TO_SERVER
                            : direction == CAPTURE_EPB_INBOUND ? SIPC_DIR_TO_CLIENT
                                                               : -1;
    if (!set_text(&reader->comment, comment, comment_length))
        goto no_memory;
    record->detail = reader->comment.data;
    return 1;
no_memory:
    set_error(error, error_size, "out of memory");
    return -1;
}

static int pcapng_next(capture_reader *reader, capture_record *record, char *error, size_t error_size)
{
    for (;;) {
        uint64_t block_offset = reader->offset;
        unsigned char head[12];
        size_t got;
        if (!read_exact(reader->file, head, 8, &got)) {
            if (got == 0 && !ferror(reader->file))
                return 0;
            set_error(error, error_size, "the file ends inside a block header at offset %" PRIu64, block_offset + got);
            return -1;
        }
        uint32_t type = get_u32_le(head);
        if (type == BLOCK_SHB) {
            if (!read_exact(reader->file, head + 8, 4, &got)) {
                set_error(error, error_size, "the file ends inside the section header at offset %" PRIu64,
                          block_offset);
                return -1;
            }
            uint32_t magic = get_u32_le(head + 8);
            if (magic != BYTE_ORDER_MAGIC && magic != 0x4d3c2b1au) {
                set_error(error, error_size, "the section header at offset %" PRIu64 " has no valid byte-order magic",
                          block_offset);
                return -1;
            }
            reader->swap = magic != BYTE_ORDER_MAGIC;
            reader->interface_count = 0; /* a new section has its own interfaces */
        } else if (block_offset == 0) {
            set_error(error, error_size, "the file does not start with a pcapng section header");
            return -1;
        }
        uint32_t total = get_u32(reader, head + 4);
        size_t head_read = type == BLOCK_SHB ? 12 : 8;
        if (total < 12 || total % 4 != 0 || total < head_read + 4) {
            set_error(error, error_size, "the block at offset %" PRIu64 " has an invalid length %u", block_offset,
                      total);
            return -1;
        }
        if (total > CAPTURE_MAX_BLOCK) {
            set_error(error, error_size,
                      "the block at offset %" PRIu64 " claims %u bytes (more than the %u a recording can hold)",
                      block_offset, total, (unsigned)CAPTURE_MAX_BLOCK);
            return -1;
        }
        if (reader->file_size != 0 && block_offset + total > reader->file_size) {
            set_error(error, error_size,
                      "the block at offset %" PRIu64 " claims %u bytes but the file ends after %" PRIu64
                      " (truncated recording?)",
                      block_offset, total, reader->file_size - block_offset);
            return -1;
        }
        reader->block.length = 0;
        if (!cli_buffer_reserve(&reader->block, total)) {
            set_error(error, error_size, "out of memory");
            return -1;
        }
        unsigned char *block = (unsigned char *)reader->block.data;
        memcpy(block, head, head_read);
        if (!read_exact(reader->file, block + head_read, total - head_read, &got)) {
            set_error(error, error_size, "the file ends inside the block at offset %" PRIu64 " (truncated recording?)",
                      block_offset);
            return -1;
        }
        if (get_u32(reader, block + total - 4) != total) {
            set_error(error, error_size,
                      "the block at offset %" PRIu64 " ends with a length that differs from its start", block_offset);
            return -1;
        }
        reader->offset += total;
        const unsigned char *body = block + 8;
        size_t body_length = total - 12;
        if (type == BLOCK_SHB) {
            if (get_u16(reader, body + 4) != 1) {
                set_error(error, error_size,
                          "the section at offset %" PRIu64 " has pcapng major version %u (only 1 is known)",
                          block_offset, get_u16(reader, body + 4));
                return -1;
            }
        } else if (type == BLOCK_IDB) {
            if (!add_interface(reader, body, body_length, block_offset, error, error_size))
                return -1;
        } else if (type == BLOCK_EPB) {
            return packet_record(reader, body, body_length, block_offset, record, error, error_size);
        }
        /* Other blocks (statistics, name resolution, custom) carry nothing a replay needs. */
    }
}

/* ---- JSON Lines: a small reader for the flat objects of capture.h ---- */

typedef enum json_kind { JSON_STRING, JSON_NUMBER, JSON_OTHER } json_kind;

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

static bool read_hex4(const char *p, const char *end, uint32_t *out)
{
    if (end - p < 4)
        return false;
    uint32_t value = 0;
    for (int i = 0; i < 4; i++) {
        int digit = cli_hex_value(p[i]);
        if (digit < 0)
            return false;
        value = value << 4 | (uint32_t)digit;
    }
    *out = value;
    return true;
}

static bool append_utf8(cli_buffer *out, uint32_t cp)
{
    unsigned char bytes[4];
    size_t n;
    if (cp < 0x80)
        bytes[0] = (unsigned char)cp, n = 1;
    else if (cp < 0x800)
        bytes[0] = (unsigned char)(0xc0 | cp >> 6), bytes[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
    else if (cp < 0x10000)
        bytes[0] = (unsigned char)(0xe0 | cp >> 12), bytes[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)),
        bytes[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
    else
        bytes[0] = (unsigned char)(0xf0 | cp >> 18), bytes[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f)),
        bytes[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)), bytes[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
    return cli_buffer_append(out, bytes, n);
}

/* Parses a string starting at its opening quote; decodes it into out when out is not NULL. Returns
 * the position after the closing quote, or NULL when malformed. */
static const char *parse_string(const char *p, const char *end, cli_buffer *out)
{
    if (p >= end || *p != '"')
        return NULL;
    p++;
    while (p < end && *p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p != '\\') {
            const char *run = p;
            while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
                p++;
            if (out && !cli_buffer_append(out, run, (size_t)(p - run)))
                return NULL;
            continue;
        }
        if (++p >= end)
            return NULL;
        char escaped = *p++;
        char simple = escaped == 'n'                                          ? '\n'
                      : escaped == 't'                                        ? '\t'
                      : escaped == 'r'                                        ? '\r'
                      : escaped == 'b'                                        ? '\b'
                      : escaped == 'f'                                        ? '\f'
                      : (escaped == '"' || escaped == '\\' || escaped == '/') ? escaped
                                                                              : 0;
        if (simple) {
            if (out && !cli_buffer_append(out, &simple, 1))
                return NULL;
            continue;
        }
        if (escaped != 'u')
            return NULL;
        uint32_t cp;
        if (!read_hex4(p, end, &cp))
            return NULL;
        p += 4;
        if (cp >= 0xd800 && cp < 0xdc00) {
            uint32_t low;
            if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' && read_hex4(p + 2, end, &low) && low >= 0xdc00 &&
                low < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                p += 6;
            } else {
                cp = 0xfffd;
            }
        } else if (cp >= 0xdc00 && cp < 0xe000) {
            cp = 0xfffd;
        }
        if (out && !append_utf8(out, cp))
            return NULL;
    }
    if (p >= end)
        return NULL;
    if (out && !cli_buffer_reserve(out, 0))
        return NULL;
    return p + 1;
}

/* Skips any JSON value (nested arrays and objects included). */
static const char *skip_value(const char *p, const char *end)
{
    p = skip_space(p, end);
    if (p >= end)
        return NULL;
    if (*p == '"')
        return parse_string(p, end, NULL);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = parse_string(p, end, NULL);
                if (!p)
                    return NULL;
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if (*p == '}' || *p == ']') {
                if (--depth == 0)
                    return p + 1;
                if (depth < 0)
                    return NULL;
            }
            p++;
        }
        return NULL;
    }
    const char *start = p;
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
        p++;
    return p > start ? p : NULL;
}

/* The fields of one line that the reader uses. */
typedef struct jsonl_fields {
    cli_buffer type, channel, direction, data, event, detail, note, format, role;
    bool has_seq, has_ns, has_ms, has_length, has_captured;
    uint64_t seq, ns, length, captured;
    double ms;
} jsonl_fields;

static void jsonl_fields_reset(jsonl_fields *f)
{
    cli_buffer *buffers[] = {&f->type,   &f->channel, &f->direction, &f->data, &f->event,
                             &f->detail, &f->note,    &f->format,    &f->role};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++) {
        buffers[i]->length = 0;
        if (buffers[i]->data)
            buffers[i]->data[0] = '\0';
    }
    f->has_seq = f->has_ns = f->has_ms = f->has_length = f->has_captured = false;
}

static void jsonl_fields_free(jsonl_fields *f)
{
    cli_buffer *buffers[] = {&f->type,   &f->channel, &f->direction, &f->data, &f->event,
                             &f->detail, &f->note,    &f->format,    &f->role};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++)
        cli_buffer_free(buffers[i]);
}

static bool parse_uint(const char *p, const char *end, uint64_t *out, const char **after)
{
    uint64_t value = 0;
    const char *start = p;
    while (p < end && *p >= '0' && *p <= '9') {
        unsigned digit = (unsigned)(*p - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return false;
        value = value * 10 + digit;
        p++;
    }
    if (p == start)
        return false;
    *out = value;
    *after = p;
    return true;
}

static bool parse_line(const char *p, const char *end, jsonl_fields *f)
{
    jsonl_fields_reset(f);
    p = skip_space(p, end);
    if (p >= end || *p != '{')
        return false;
    p = skip_space(p + 1, end);
    if (p < end && *p == '}')
        return true;
    char key[32];
    for (;;) {
        cli_buffer key_buffer = {0};
        const char *after = parse_string(p, end, &key_buffer);
        bool key_ok = after && key_buffer.length < sizeof key;
        if (key_ok)
            memcpy(key, key_buffer.data ? key_buffer.data : "", key_buffer.length + 1);
        else if (after)
            key[0] = '\0', key_ok = true; /* a long key is not one of ours: skip its value */
        cli_buffer_free(&key_buffer);
        if (!key_ok)
            return false;
        p = skip_space(after, end);
        if (p >= end || *p != ':')
            return false;
        p = skip_space(p + 1, end);
        struct {
            const char *name;
            cli_buffer *target;
        } strings[] = {{"type", &f->type}, {"channel", &f->channel}, {"direction", &f->direction},
                       {"data", &f->data}, {"event", &f->event},     {"detail", &f->detail},
                       {"note", &f->note}, {"format", &f->format},   {"role", &f->role}};
        struct {
            const char *name;
            bool *has;
            uint64_t *value;
        } numbers[] = {{"seq", &f->has_seq, &f->seq},
                       {"timestampNs", &f->has_ns, &f->ns},
                       {"length", &f->has_length, &f->length},
                       {"captured", &f->has_captured, &f->captured}};
        const char *next = NULL;
        for (size_t i = 0; !next && i < sizeof strings / sizeof strings[0]; i++)
            if (strcmp(key, strings[i].name) == 0 && p < end && *p == '"') {
                strings[i].target->length = 0;
                next = parse_string(p, end, strings[i].target);
                if (!next)
                    return false;
            }
        for (size_t i = 0; !next && i < sizeof numbers / sizeof numbers[0]; i++)
            if (strcmp(key, numbers[i].name) == 0) {
                if (!parse_uint(p, end, numbers[i].value, &next))
                    return false;
                *numbers[i].has = true;
            }
        if (!next && strcmp(key, "timestampMs") == 0) {
            char *number_end = NULL;
            char copy[64];
            size_t n = (size_t)(end - p) < sizeof copy - 1 ? (size_t)(end - p) : sizeof copy - 1;
            memcpy(copy, p, n);
            copy[n] = '\0';
            f->ms = strtod(copy, &number_end);
            if (number_end == copy)
                return false;
            f->has_ms = true;
            next = p + (number_end - copy);
        }
        if (!next)
            next = skip_value(p, end);
        if (!next)
            return false;
        p = skip_space(next, end);
        if (p < end && *p == ',') {
            p = skip_space(p + 1, end);
            continue;
        }
        return p < end && *p == '}';
    }
}

static int jsonl_next(capture_reader *reader, capture_record *record, char *error, size_t error_size)
{
    jsonl_fields f = {0};
    int result = -1;
    for (;;) {
        reader->block.length = 0;
        reader->offset++;
        bool any = false;
        for (;;) {
            if (!cli_buffer_reserve(&reader->block, 65536)) {
                set_error(error, error_size, "out of memory");
                goto done;
            }
            char *at = reader->block.data + reader->block.length;
            if (!fgets(at,
                       (int)(reader->block.capacity - reader->block.length > INT32_MAX
                                 ? INT32_MAX
                                 : reader->block.capacity - reader->block.length),
                       reader->file))
                break;
            any = true;
            size_t n = strlen(at);
            reader->block.length += n;
            if (n > 0 && at[n - 1] == '\n')
                break;
            if (reader->block.length > (size_t)CAPTURE_MAX_BLOCK * 2) {
                set_error(error, error_size, "line %" PRIu64 " is longer than any recorded message can make it",
                          reader->offset);
                goto done;
            }
        }
        if (ferror(reader->file)) {
            set_error(error, error_size, "cannot read line %" PRIu64 ": %s", reader->offset, strerror(errno));
            goto done;
        }
        if (!any) {
            result = 0;
            goto done;
        }
        const char *line = reader->block.data;
        const char *end = line + reader->block.length;
        if (skip_space(line, end) == end)
            continue;
        if (!parse_line(line, end, &f)) {
            set_error(error, error_size, "line %" PRIu64 " is not a JSON object", reader->offset);
            goto done;
        }
        const char *type = f.type.data ? f.type.data : "";
        if (strcmp(type, "header") == 0) {
            if (f.format.data && strcmp(f.format.data, JSONL_FORMAT) != 0) {
                set_error(error, error_size, "line %" PRIu64 ": the header names format '%s', not " JSONL_FORMAT,
                          reader->offset, f.format.data);
                goto done;
            }
            reader->role = role_named(f.role.data ? f.role.data : "", f.role.length);
            if (f.channel.length > 0 && channel_index(reader, f.channel.data, f.channel.length) < 0) {
                set_error(error, error_size, "out of memory");
                goto done;
            }
            continue;
        }
        bool message = strcmp(type, "message") == 0;
        if (!message && strcmp(type, "event") != 0) {
            set_error(error, error_size, "line %" PRIu64 ": unknown line type '%s'", reader->offset, type);
            goto done;
        }
        memset(record, 0, sizeof *record);
        const char *channel_name = f.channel.length > 0        ? f.channel.data
                                   : reader->channel_count > 0 ? reader->channels[0]
                                                               : "channel";
        long channel = channel_index(reader, channel_name, strlen(channel_name));
        if (channel < 0) {
            set_error(error, error_size, "out of memory");
            goto done;
        }
        record->channel = (uint32_t)channel;
        record->sequence = f.has_seq ? f.seq : 0;
        if (f.has_ns)
            record->timestamp_ns = f.ns;
        else if (f.has_ms && f.ms >= 0 && f.ms < 1.8e13)
            record->timestamp_ns = (uint64_t)(f.ms * 1e6 + 0.5);
        else {
            set_error(error, error_size, "line %" PRIu64 ": no timestampNs or timestampMs", reader->offset);
            goto done;
        }
        if (!message) {
            record->kind = CAPTURE_EVENT;
            if (!set_text(&reader->event, f.event.data ? f.event.data : "", f.event.length) ||
                !set_text(&reader->comment, f.detail.data ? f.detail.data : "", f.detail.length)) {
                set_error(error, error_size, "out of memory");
                goto done;
            }
            record->event = reader->event.data;
            record->detail = reader->comment.data;
            result = 1;
            goto done;
        }
        const char *direction = f.direction.data ? f.direction.data : "";
        if (strcmp(direction, "to-server") == 0)
            record->direction = SIPC_DIR_TO_SERVER;
        else if (strcmp(direction, "to-client") == 0)
            record->direction = SIPC_DIR_TO_CLIENT;
        else if (strcmp(direction, "sent") == 0 || strcmp(direction, "received") == 0)
            record->direction = window_direction(reader, reader->role, direction[0] == 's');
        else {
            set_error(error, error_size, "line %" PRIu64 ": unknown direction '%s'", reader->offset, direction);
            goto done;
        }
        reader->payload.length = 0;
        if (!f.has_length || f.length > SIPC_MAX_MESSAGE_LIMIT ||
            !cli_decode_base64(f.data.data ? f.data.data : "", f.data.length, &reader->payload) ||
            reader->payload.length > f.length) {
            set_error(error, error_size, "line %" PRIu64 ": the message's length or base64 data is malformed",
                      reader->offset);
            goto done;
        }
        record->kind = CAPTURE_MESSAGE;
        record->length = (uint32_t)f.length;
        record->captured = (uint32_t)reader->payload.length;
        record->data = (const uint8_t *)(reader->payload.data ? reader->payload.data : "");
        if (!set_text(&reader->comment, f.note.data ? f.note.data : "", f.note.length)) {
            set_error(error, error_size, "out of memory");
            goto done;
        }
        record->detail = reader->comment.data;
        result = 1;
        goto done;
    }
done:
    jsonl_fields_free(&f);
    return result;
}

int capture_reader_next(capture_reader *reader, capture_record *record, char *error, size_t error_size)
{
    return reader->format == CAPTURE_PCAPNG ? pcapng_next(reader, record, error, error_size)
                                            : jsonl_next(reader, record, error, error_size);
}
