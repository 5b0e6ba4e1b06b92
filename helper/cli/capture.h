/*
 * capture.h — recordings of sipc traffic on disk: pcapng and JSON Lines, written by `sipc record`
 * and the Wireshark extcap, read by `sipc replay`.
 *
 * pcapng layout (the same conventions as the extension's export, extension/src/inspector/shared/pcapng.ts):
 *   - one Section Header Block (shb_userappl "sipc <version>");
 *   - one Interface Description Block per channel, in the order the channels were named:
 *     LINKTYPE_USER0 (147: sipc messages have no registered link type), snaplen 0, if_name = the
 *     channel's name, if_tsresol = 9 (timestamps in nanoseconds since the Unix epoch), and an opt_comment
 *     "sipc role: <role>" naming the side the channel was recorded from: "observer" (sipc record, the
 *     extcap, an inspector observer panel), or "server" / "client" (a VS Code connection panel, whose
 *     window was that peer);
 *   - one Enhanced Packet Block per message: the payload as the packet, epb_flags direction
 *     "outbound" (2) for client->server and "inbound" (1) for server->client, and an opt_comment
 *     naming the direction ("client→server" / "server→client", plus notes such as "undeliverable");
 *   - an event (messages the observer missed, messages discarded, the channel removed) is an Enhanced
 *     Packet Block with no payload, epb_flags direction 0 ("not available") and an opt_comment
 *     "sipc event: <what>". Readers tell it from an empty message by that direction.
 * Connection panels of earlier versions (before the role was written) wrote their own view: comment
 * "sent" with the outbound flag, "received" with the inbound flag, and no role. The reader reads a
 * "sent"/"received" packet by the interface's role (a server's "sent" is server->client); without a
 * role as client->server / server->client, as those versions meant, and counts them
 * (capture_reader_side_unknown) so that `sipc replay` can say its reading is an assumption.
 * Every multi-byte field is in the writer's byte order (little-endian here); the reader takes both.
 *
 * JSON Lines layout, the extension's (extension/src/inspector/shared/jsonl.ts), not a superset of it:
 * the reader takes all the extension writes; this writer writes its fields with "mode":"observe" (the
 * extension: its panel's "peer", "observer" or "file") and the channel's directions only, and adds to
 * a message a "note" (e.g. undeliverable) that the extension's reader ignores:
 *   {"type":"header","format":"sipc-capture","version":1,"channel":"a","channels":["a","b"],"mode":"observe",
 *    "role":"observer",...}   (role: as the pcapng interface's; a connection panel writes "server"/"client")
 *   {"type":"message","channel":"a","seq":0,"time":"...Z","timestampMs":...,"timestampNs":...,
 *    "direction":"to-server","length":5,"data":"<base64>","text":"hello"}   ("text" only when UTF-8)
 *   {"type":"event","channel":"a","seq":3,...,"event":"missed","detail":"12 messages client→server"}
 * A message's "direction" may also be "sent"/"received" (a connection panel's view): read by the
 * header's role as in pcapng above.
 */
#ifndef SIPC_CLI_CAPTURE_H
#define SIPC_CLI_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_text.h"

#define CAPTURE_LINKTYPE_USER0 147u
/* epb_flags direction bits (pcapng spec): 0 not available, 1 inbound, 2 outbound. */
#define CAPTURE_EPB_INBOUND 1u  /* server -> client */
#define CAPTURE_EPB_OUTBOUND 2u /* client -> server */
/* A block larger than this is refused by the reader: a message is at most SIPC_MAX_MESSAGE_LIMIT. */
#define CAPTURE_MAX_BLOCK (SIPC_MAX_MESSAGE_LIMIT + 65536u)

typedef enum capture_format { CAPTURE_PCAPNG, CAPTURE_JSONL } capture_format;
typedef enum capture_kind { CAPTURE_MESSAGE, CAPTURE_EVENT } capture_kind;
/* The side a channel was recorded from (the file's "sipc role"); UNKNOWN: the file does not say. */
typedef enum capture_role {
    CAPTURE_ROLE_UNKNOWN,
    CAPTURE_ROLE_OBSERVER,
    CAPTURE_ROLE_SERVER,
    CAPTURE_ROLE_CLIENT
} capture_role;

typedef struct capture_record {
    capture_kind kind;
    uint32_t channel;      /* index into the file's channel list */
    int32_t direction;     /* sipc_direction (messages only) */
    uint64_t sequence;     /* the observer's per-direction number (JSON Lines only; pcapng: 0) */
    uint64_t timestamp_ns; /* Unix epoch */
    uint32_t length;       /* the message's full length */
    uint32_t captured;     /* bytes of it in data (less than length when the recording truncated it) */
    const uint8_t *data;
    const char *event;  /* events: a short stable name ("missed", "discarded", "removed", ...) */
    const char *detail; /* events: a sentence; messages: an optional note (e.g. "undeliverable") */
} capture_record;

/* "client→server" / "server→client". */
const char *capture_direction_label(int32_t direction);
/* "to-server" / "to-client" (the names of the extension's model). */
const char *capture_direction_name(int32_t direction);

/* ---- writing ---- */
typedef struct capture_sink {
    FILE *file;
    capture_format format;
    const char *const *channels;
    size_t channel_count;
    uint64_t bytes;     /* written to this file so far (those still in scratch included) */
    cli_buffer scratch; /* records not handed to file yet */
} capture_sink;

/* Records collect in the sink's own buffer and go to the FILE this many bytes at a time: one fwrite (its lock, its
 * copy into the FILE's small buffer, a write(2) per few KiB) per record was most of a busy recorder's output time. */
#define CAPTURE_SINK_BATCH (64u * 1024u)

/* Starts a file: pcapng section and interfaces, or the JSON Lines header (handed to the FILE at once). false: out of
 * memory or write error (errno). */
bool capture_sink_start(capture_sink *sink, FILE *file, capture_format format, const char *const *channels,
                        size_t channel_count);
/* Adds a record; the FILE gets it once CAPTURE_SINK_BATCH bytes wait, or at capture_sink_flush. false: out of memory
 * or write error (errno). */
bool capture_sink_write(capture_sink *sink, const capture_record *record);
/* Hands what waits in the sink to its FILE (fflush the FILE after it for the bytes to reach the file). false: write
 * error (errno). */
bool capture_sink_flush(capture_sink *sink);
void capture_sink_free(capture_sink *sink); /* does not close the file */

/* ---- reading ---- */
typedef struct capture_reader capture_reader;

/* Opens a recording and detects its format. false with a sentence in error. */
bool capture_reader_open(const char *path, capture_reader **out, char *error, size_t error_size);
/* 1: a record (valid until the next call); 0: the end; -1: the file is damaged (a sentence naming
 * where in error). */
int capture_reader_next(capture_reader *reader, capture_record *record, char *error, size_t error_size);
capture_format capture_reader_format(const capture_reader *reader);
size_t capture_reader_channel_count(const capture_reader *reader);
const char *capture_reader_channel(const capture_reader *reader, size_t index);
/* Messages read so far that were written as a connection panel's "sent"/"received" in a file that does
 * not name that panel's role: their direction is the old reading (sent = client->server), an assumption. */
uint64_t capture_reader_side_unknown(const capture_reader *reader);
void capture_reader_close(capture_reader *reader);

#endif /* SIPC_CLI_CAPTURE_H */
