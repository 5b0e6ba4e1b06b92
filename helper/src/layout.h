/*
 * layout.h — the shared-memory layout of a sipc segment (protocol version 4) and the helpers that
 * read it safely. PROTOCOL.md documents the same layout for other implementations; keep both in
 * step. Everything in shared memory is untrusted: read fields once, validate, then use the copy.
 */
#ifndef SIPC_LAYOUT_H
#define SIPC_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"

#define SIPC_LAYOUT_MAGIC 0x314d485343504953ull /* "SIPCSHM1" read as little-endian bytes */
/* 2: the open-time lock is the header's lock word (version 1 used flock on the object, which anyone who
 * could read it could hold); the two exclude each other, so the versions refuse each other's segments.
 * 3: a ring has more slots than the queue's depth when they are small (SIPC_HISTORY_*); a version 2 peer would
 * index the slots differently.
 * 4: a ring packs its messages (each takes what its length needs, not max_message) behind an index of positions, so a
 * channel of big max_message keeps a history of its small messages too (PROTOCOL.md section 2, "Records, index and
 * history"); a version 3 peer would look for fixed slots. */
#define SIPC_LAYOUT_VERSION 4u
#define SIPC_HEADER_SIZE 1024u
#define SIPC_SLOT_HEADER_SIZE 64u
#define SIPC_SLOT_ALIGN 64u
/* One direction's queue may not exceed this many bytes (queue_depth * slot_size). */
#define SIPC_MAX_RING_BYTES (1024ull * 1024u * 1024u)
/* History (PROTOCOL.md section 2, "Records, index and history"). A message takes a record of
 * round_up(SIPC_SLOT_HEADER_SIZE + length, 64) bytes, packed one after the other in a ring of ring_bytes =
 * queue_depth * slot_size * k, k the largest power of two up to SIPC_HISTORY_MAX_RINGS for which the ring stays within
 * SIPC_HISTORY_BYTES (k = 1 when one queue of the largest records is already that big): the queue's depth of the largest
 * messages always fits, and smaller ones leave the rest to the history. An index of index_count = queue_depth * j
 * positions (j the largest power of two keeping it within SIPC_HISTORY_MAX_SLOTS entries and within one per 64 ring
 * bytes) finds message seq at index[seq mod index_count]. The queue still holds at most queue_depth unread messages; an
 * observer that falls behind finds every message still in the ring, up to index_count of them, at no cost to the
 * peers but memory. Derived from max_message and queue_depth alone, so the header needs no field for it. */
#define SIPC_HISTORY_MAX_RINGS 64u
#define SIPC_HISTORY_MAX_SLOTS 4096u
#define SIPC_HISTORY_BYTES (1024ull * 1024u)
/* Ring positions (seg_ring.write_pos, index entries) stay below this (2^62 bytes: centuries of traffic); a larger
 * write_pos is corrupt, so position arithmetic never wraps. */
#define SIPC_RING_POSITION_MAX (1ull << 62)
#define SIPC_NAME_FIELD_SIZE 256u

/* Roles index the role array; directions index the ring array. The server produces direction
 * SIPC_DIR_TO_CLIENT (0) and consumes SIPC_DIR_TO_SERVER (1); the client the reverse. */
#define SIPC_ROLE_INDEX_SERVER 0
#define SIPC_ROLE_INDEX_CLIENT 1

/* seg_role.flags: the holder keeps liveness token <role index> on its close-on-exec handle (PROTOCOL.md
 * section 5): the role is alive only while the token is held, so a holder that exec()s is seen gone. */
#define SIPC_ROLE_HOLDS_TOKEN 0x1u
/* seg_role.flags: as a producer the holder wakes observers (wait word SIPC_WAIT_OBSERVE) and never overwrites
 * a message an active lossless observer has not copied (PROTOCOL.md section 7). 0 from older writers. */
#define SIPC_ROLE_SERVES_OBSERVERS 0x2u
/* seg_role.flags: as a producer the holder also wakes an observer napping in its record (seg_observer.napping) once
 * its wake_at (half a ring from producers that predate it) is uncopied, on that record's wait word, and wakes those words at attach and close (PROTOCOL.md
 * section 7, "Napping"). 0 from older writers: an observer then does not nap that way. */
#define SIPC_ROLE_WAKES_NAPPING_OBSERVERS 0x4u

/* seg_role.state */
#define SIPC_SLOT_FREE 0u
#define SIPC_SLOT_ATTACHED 1u

/* Wait words (indices into seg_header.wait_word). */
#define SIPC_WAIT_ATTACH 0u                                /* a role was taken or released */
#define SIPC_WAIT_DATA(direction) (1u + 2u * (direction))  /* direction got a message */
#define SIPC_WAIT_SPACE(direction) (2u + 2u * (direction)) /* direction got room for a message */
#define SIPC_WAIT_OBSERVE 5u /* a message was published in either direction, or a role changed */
#define SIPC_WAIT_RECORD(record) (6u + (uint32_t)(record)) /* the observer of record `record` napping (6, 7) */
#define SIPC_WAIT_USED 8u

/* seg_observer.claim: ticket << 32 | state. The ticket grows at every claim, so a peer's compare-and-swap
 * that drops a stalled observer can never hit the next observer of the same record. */
#define SIPC_OBSERVER_FREE 0u
#define SIPC_OBSERVER_CLAIMING 1u        /* being filled in by a new observer; peers ignore it */
#define SIPC_OBSERVER_ACTIVE 2u          /* peers respect its cursor */
#define SIPC_OBSERVER_DROPPED_STALL 3u   /* a peer waited past stall_ms for its cursor to move */
#define SIPC_OBSERVER_DROPPED_DEAD 4u    /* its process is gone */
#define SIPC_OBSERVER_DROPPED_INVALID 5u /* its cursor contradicted the ring (hostile or corrupt) */
/* A plain observer's record (PROTOCOL.md section 7, "Napping"): producers never respect its cursor, they only wake it
 * when it naps. Any lossless claim may take it over (as a DROPPED one: observers of every version treat states >= 3 as
 * free to take); peers that predate it ignore the state. */
#define SIPC_OBSERVER_WATCHING 6u
#define SIPC_OBSERVER_RECORDS SIPC_OBSERVE_LOSSLESS_MAX
#define SIPC_CLAIM_STATE(claim) ((uint32_t)(claim))
#define SIPC_CLAIM_TICKET(claim) ((uint32_t)((claim) >> 32))
#define SIPC_CLAIM(ticket, state) (((uint64_t)(ticket) << 32) | (uint32_t)(state))

typedef struct seg_role { /* 64 bytes; written by the role's holder (and by openers under the lock) */
    int64_t pid;          /*  0: 0 when free */
    uint64_t start_time;  /*  8: process start time (see platform.h), for pid-reuse checks */
    uint32_t state;       /* 16: SIPC_SLOT_FREE / SIPC_SLOT_ATTACHED */
    uint32_t session;     /* 20: incremented at every attach to this role */
    uint32_t sleepers;    /* 24: threads of the holder asleep in a futex wait (spin hint) */
    uint32_t naps;        /* 28: incremented by the holder before each futex wait (spin hint) */
    uint64_t attached_ns; /* 32: wall clock of the attach */
    uint32_t flags;       /* 40: SIPC_ROLE_HOLDS_TOKEN (0 from implementations that do not know it) */
    uint32_t cpu;         /* 44: 1 + the CPU the holder's thread last began or left a wait on, 0 unknown (spin hint) */
    int64_t holder_pid;   /* 48: the pid of session holder_session's holder, kept after it released the role */
    uint32_t holder_session; /* 56: the session holder_pid belongs to (0 while it is rewritten, or never written) */
    uint8_t reserved[4];     /* 60 */
} seg_role;

typedef struct seg_ring { /* 192 bytes: one cache line per writer */
    /* written by the producer */
    uint64_t head;         /*   0: sequence number of the next message to write */
    uint64_t messages;     /*   8: messages sent (all sessions) */
    uint64_t bytes;        /*  16: payload bytes sent */
    uint64_t last_send_ns; /*  24: wall clock of the last send */
    uint64_t write_pos;    /*  32: ring position (bytes, from 0, never wrapped) where the next record goes; stored
                                   before a record's bytes are written: a receiver checks its record lies before it */
    uint8_t producer_pad[24];
    /* written by the consumer */
    uint64_t tail;    /*  64: sequence number of the next message to read */
    uint64_t dropped; /*  72: messages the consumer discarded, addressed to an earlier holder of its role */
    uint8_t consumer_pad[48];
    uint8_t reserved[16]; /* 128: rings[0]: the platform's instance id (macOS); else 0 */
    uint64_t frontier;    /* 144: producer: no byte at a ring position >= frontier is written before frontier is raised
                                  past it (release fence). Raised a step (geometry.frontier_step) at a time, so that
                                  observers validate a copy against a line that rarely changes (PROTOCOL.md
                                  section 2, "Records, index and history") */
    uint8_t frontier_pad[40];
} seg_ring;

typedef struct seg_observer { /* 64 bytes: the record of a lossless observer, or a plain one's to nap in (PROTOCOL.md
                                 section 7) */
    uint64_t claim;           /*  0: SIPC_CLAIM(ticket, SIPC_OBSERVER_*), compare-and-swap only */
    int64_t pid;              /*  8: the observer's process (written while CLAIMING) */
    uint64_t start_time;      /* 16 */
    uint64_t cursor[2];       /* 24: per direction, the next message the observer has not copied yet (release) */
    uint32_t stall_ms;        /* 40: peers wait at most this long for the cursor to move (clamped, 0 = default) */
    uint32_t cpu;             /* 44: 1 + the CPU the observer's thread ran on when it began or left a sleep, 0 unknown
                                     (a spin hint for producers, like seg_role.cpu; 0 from observers that predate it) */
    uint32_t napping;         /* 48: 1 while the observer naps until wake_at is uncopied (exchange only); the
                                     producer that finds it raised takes it down and wakes SIPC_WAIT_RECORD(r) */
    uint32_t wake_at;         /* 52: the uncopied messages of a direction at which a producer ends the nap; 0 (from
                                     observers that predate it) = half a ring; clamped (sipc_observer_wake_at) */
    uint8_t reserved[8];      /* 56 */
} seg_observer;

typedef struct seg_header {
    uint64_t magic;                  /*   0: SIPC_LAYOUT_MAGIC, written last at initialisation */
    uint32_t version;                /*   8: SIPC_LAYOUT_VERSION */
    uint32_t header_size;            /*  12: SIPC_HEADER_SIZE */
    uint64_t segment_size;           /*  16: total bytes */
    uint32_t max_message;            /*  24 */
    uint32_t queue_depth;            /*  28 */
    uint32_t slot_size;              /*  32: round_up(SIPC_SLOT_HEADER_SIZE + max_message, 64) */
    uint32_t name_length;            /*  36 */
    uint64_t created_ns;             /*  40: wall clock */
    uint64_t connections;            /*  48: clients attached so far */
    uint64_t lock_owner;             /* 56: open-time lock word: 0 free, else sipc_lock_word() of the holder (CAS) */
    char name[SIPC_NAME_FIELD_SIZE]; /* 64: NUL-padded channel name */
    seg_role roles[2];               /* 320 */
    uint32_t wait_word[SIPC_WAIT_WORDS];           /* 448: futex words, only ever incremented */
    uint32_t waiters[SIPC_WAIT_WORDS];             /* 480: sleepers per wait word (wake only if non-zero) */
    seg_ring rings[2];                             /* 512; rings[0].reserved begins with the instance id at 640,
                                                       written by the platform where objects need one (macOS) */
    seg_observer observers[SIPC_OBSERVER_RECORDS]; /* 896: lossless observers, written by them (and by peers
                                                       that drop one) */
} seg_header;

typedef struct seg_slot_header { /* a record's first SIPC_SLOT_HEADER_SIZE bytes, followed by the payload (which may
                                    continue at the start of the ring) */
    uint64_t stamp;              /* 0: 2*seq+1 while message seq is being written, 2*seq+2 once complete */
    uint64_t send_ns;            /* 8: wall clock of the send */
    uint32_t length;             /* 16: payload bytes */
    uint32_t session;            /* 20: the producer's role session (0: not recorded); where a peer's messages end */
    uint32_t to_session;         /* 24: the consumer role's session the producer addressed (0: not recorded) */
    uint8_t reserved[36];
} seg_slot_header;

_Static_assert(sizeof(seg_role) == 64, "seg_role layout");
_Static_assert(sizeof(seg_ring) == 192, "seg_ring layout");
_Static_assert(sizeof(seg_observer) == 64, "seg_observer layout");
_Static_assert(sizeof(seg_header) == SIPC_HEADER_SIZE, "seg_header layout");
_Static_assert(offsetof(seg_ring, frontier) == 144 && offsetof(seg_ring, write_pos) == 32, "seg_ring offsets");
_Static_assert(offsetof(seg_header, rings[0].reserved) == SIPC_OS_INSTANCE_OFFSET &&
                   SIPC_OS_INSTANCE_SIZE <= sizeof(((seg_ring *)0)->reserved),
               "the platform's instance id lies in bytes the header reserves for it");
_Static_assert(offsetof(seg_header, observers) == 896, "observers offset");
_Static_assert(offsetof(seg_header, roles) == 320, "roles offset");
_Static_assert(offsetof(seg_header, wait_word) == 448, "wait_word offset");
_Static_assert(offsetof(seg_header, rings) == 512, "rings offset");
_Static_assert(offsetof(seg_header, lock_owner) == 56, "lock_owner offset");
_Static_assert(sizeof(seg_slot_header) == SIPC_SLOT_HEADER_SIZE, "slot header layout");

/* Atomic access to shared words (GCC/Clang builtins; work on plain fields). */
#define SH_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define SH_LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define SH_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define SH_STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define SH_ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define SH_SUB(p, v) __atomic_sub_fetch((p), (v), __ATOMIC_SEQ_CST)
#define SH_XCHG(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
/* Compare-and-swap of a shared 64-bit word: 1 if *p held expected and now holds desired. */
static inline int sh_cas64(uint64_t *p, uint64_t expected, uint64_t desired)
{
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
#define SH_FENCE() __atomic_thread_fence(__ATOMIC_SEQ_CST)

/* The share of a ring that uncopied messages take at which a napping observer asks to be woken (seg_observer.wake_at,
 * in index entries: sipc_ring_fill), as producers and the observer apply it: 0 (absent) is half the index, anything else
 * is clamped to 1..index_count (untrusted). */
static inline uint64_t sipc_observer_wake_at(uint32_t asked, uint32_t index_count)
{
    if (asked == 0)
        return index_count / 2 ? index_count / 2 : 1;
    return asked > index_count ? index_count : asked;
}

/* Geometry, validated and copied out of a header; never re-read from shared memory. */
typedef struct seg_geometry {
    uint32_t max_message;
    uint32_t queue_depth;
    uint32_t slot_size;     /* the largest record: round_up(SIPC_SLOT_HEADER_SIZE + max_message, 64) */
    uint32_t index_count;   /* entries of a ring's index: queue_depth times a power of two (the history in messages) */
    uint64_t ring_bytes;    /* bytes of a ring's records: queue_depth * slot_size times a power of two */
    uint64_t frontier_step; /* how far past a record's end a producer raises seg_ring.frontier: an eighth of the ring */
    uint64_t segment_size;
    uint64_t index_offset[2]; /* offset of direction d's index (index_count positions, u64) */
    uint64_t ring_offset[2];  /* offset of direction d's records */
    char name[SIPC_NAME_MAX + 1];
} seg_geometry;

/* Derives the platform key of a channel name (see platform.h): "sipc.<name>" when that fits, else
 * "sipc.#" + 16 hex digits of the name's FNV-1a-64 hash. The name must be valid. */
void sipc_key_for_name(const char *name, char key[SIPC_OS_KEY_MAX + 1]);
/* Computes the geometry for options; SIPC_ERR_INVALID_ARGUMENT if out of range. */
int sipc_geometry_for(uint32_t max_message, uint32_t queue_depth, seg_geometry *out);
/* Validates the header mapped at base (at least SIPC_HEADER_SIZE bytes mapped) of an object of
 * `mapped_size` bytes (its size from the OS, e.g. fstat) and fills `out`.
 * SIPC_ERR_CORRUPT or SIPC_ERR_VERSION on failure; SIPC_ERR_NOT_FOUND if it was never
 * initialised (magic 0). */
int sipc_validate_header(const volatile void *base, uint64_t mapped_size, seg_geometry *out);
/* A power of two takes a mask instead of a 64-bit division: an observer finds a record's entry and offset per message,
 * and the division was a measurable share of its time (README, "Session 14"). */
static inline uint64_t sipc_modulo(uint64_t value, uint64_t divisor)
{
    return (divisor & (divisor - 1u)) == 0 ? value & (divisor - 1u) : value % divisor;
}
/* Bytes of the record of a message of `length` payload bytes (length <= max_message). */
static inline uint64_t sipc_record_size(uint32_t length)
{
    return ((uint64_t)SIPC_SLOT_HEADER_SIZE + length + SIPC_SLOT_ALIGN - 1u) / SIPC_SLOT_ALIGN * SIPC_SLOT_ALIGN;
}
/* The index entry of message seq of direction d: the ring position of its record (written by the producer). */
static inline uint64_t *sipc_index_entry(void *base, const seg_geometry *g, int direction, uint64_t seq)
{
    return (uint64_t *)(void *)((uint8_t *)base + g->index_offset[direction] +
                                sizeof(uint64_t) * sipc_modulo(seq, g->index_count));
}
/* The header of the record at ring position pos (a multiple of 64, so a header never wraps) of direction d. */
static inline seg_slot_header *sipc_record_at(void *base, const seg_geometry *g, int direction, uint64_t pos)
{
    return (seg_slot_header *)(void *)((uint8_t *)base + g->ring_offset[direction] + sipc_modulo(pos, g->ring_bytes));
}
/* 1 if a record position read from an index entry can be a record still in the ring whose next record goes at
 * write_pos (or whose frontier is write_pos): aligned, not past write_pos, and not more than the ring behind it.
 * Anything else was overwritten since (an entry reused) or forged; the caller decides which by what it expected. */
static inline int sipc_position_in_ring(const seg_geometry *g, uint64_t pos, uint64_t write_pos)
{
    return pos % SIPC_SLOT_ALIGN == 0 && pos <= write_pos && write_pos - pos <= g->ring_bytes;
}
/* How full `messages` messages taking `bytes` ring bytes make a ring, in index entries: the larger of their count and
 * their bytes' share of the ring scaled to index_count (rounded up). Thresholds on how far an observer is behind
 * (waking it, holding the producer) compare this, so small messages count by number and big ones by bytes. */
static inline uint64_t sipc_ring_fill(const seg_geometry *g, uint64_t messages, uint64_t bytes)
{
    uint64_t share =
        bytes >= g->ring_bytes ? g->index_count : (bytes * g->index_count + g->ring_bytes - 1u) / g->ring_bytes;
    return messages > share ? messages : share;
}
/* sipc_ring_fill(g, messages, bytes) < limit, without its division: an observer asks it per message, and the
 * division was half of its cursor bookkeeping. The share rounded up is below limit when bytes * index_count is at most
 * (limit - 1) ring_bytes (no overflow: bytes < ring_bytes, and index_count and a ring's bytes are far below 2^32). */
static inline int sipc_ring_fill_below(const seg_geometry *g, uint64_t messages, uint64_t bytes, uint64_t limit)
{
    if (limit == 0 || messages >= limit)
        return 0;
    if (bytes >= g->ring_bytes)
        return g->index_count < limit;
    return bytes * g->index_count <= (limit - 1u) * g->ring_bytes;
}
/* How full the messages [seq, head) of direction d make the ring (sipc_ring_fill), write_pos being where the next
 * record goes: all of it when they are more than the index holds or seq's record is no longer in the ring. For the
 * thresholds of how far an observer is behind, where a forged entry costs at most a wake-up. */
static inline uint64_t sipc_ring_fill_since(void *base, const seg_geometry *g, int direction, uint64_t seq,
                                            uint64_t head, uint64_t write_pos)
{
    if (seq >= head)
        return 0;
    if (head - seq >= g->index_count)
        return g->index_count;
    uint64_t pos = SH_LOAD(sipc_index_entry(base, g, direction, seq));
    if (!sipc_position_in_ring(g, pos, write_pos))
        return g->index_count;
    return sipc_ring_fill(g, head - seq, write_pos - pos);
}
/* Copies `length` bytes of direction d's ring from ring position pos (wrapping at the ring's end) into out. */
void sipc_ring_copy_out(const void *base, const seg_geometry *g, int direction, uint64_t pos, void *out, size_t length);
/* Copies `length` bytes into direction d's ring at ring position pos (wrapping at the ring's end). */
void sipc_ring_copy_in(void *base, const seg_geometry *g, int direction, uint64_t pos, const void *data, size_t length);
/* 1 if role r of the header is attached by a running process. */
int sipc_role_alive(sipc_os_segment *segment, const seg_header *header, int role_index);
/* A role's fields, copied consistently (its session read before and after the others). */
typedef struct seg_role_view {
    uint32_t session;
    int attached;            /* state == SIPC_SLOT_ATTACHED */
    sipc_os_process process; /* pid 0 when free (or while a close is half-written) */
    uint32_t flags;          /* SIPC_ROLE_HOLDS_TOKEN */
} seg_role_view;
/* Fills a channel info from a validated mapping; a role is alive if its holder runs (sipc_holder_alive: it looks
 * the process up). */
void sipc_fill_info(const seg_header *header, const seg_geometry *g, sipc_os_segment *segment, sipc_channel_info *info);
/* Whether the holder of an attached role (`view`) counts as alive, as the caller of sipc_fill_info_with decides. */
typedef int (*sipc_holder_alive_fn)(void *context, const seg_role_view *view, int role_index);
/* sipc_fill_info with the liveness of each attached role from holder_alive(context, ...). */
void sipc_fill_info_with(const seg_header *header, const seg_geometry *g, sipc_os_segment *segment,
                         sipc_channel_info *info, sipc_holder_alive_fn holder_alive, void *context);
/* 1 if the holder in `view` (of role role_index of the segment) is running and, when it announced
 * one, still holds its liveness token (it has not exec()ed another program). */
int sipc_holder_alive(sipc_os_segment *segment, const seg_role_view *view, int role_index);
/* 0 if the role never held still long enough to be copied (a hostile writer). */
int sipc_role_read(const seg_header *header, int role_index, seg_role_view *view);
/* The pid of the process that attached to role role_index in `session`, also after it released the role; 0 when
 * unknown (another session's holder wrote it since, or a writer that predates the field). */
int64_t sipc_role_holder_pid(const seg_header *header, int role_index, uint32_t session);
/* Copies an attached role's identity consistently; 0 if the role is not attached. */
int sipc_role_snapshot(const seg_header *header, int role_index, sipc_os_process *process, uint32_t *session);

/* ---- the open-time lock (PROTOCOL.md section 5) ----
 * A word in the header that open, close, remove and re-initialisation hold for microseconds. Only a process
 * that maps the segment read-write can take it, so a reader cannot block anyone. It names its holder
 * (pid and start time), so a holder that died is taken over; a live holder, or one that cannot be
 * examined, costs the caller at most its timeout. */
/* The word a process holds the lock with: pid << 32 | the start time folded to 32 bits (never 0; 0 if the
 * pid does not fit). */
uint64_t sipc_lock_word(const sipc_os_process *process);
/* Takes the lock of the header mapped read-write at `header` for `self` (sipc_os_process_self()), polling
 * until `deadline`: SIPC_OK, or SIPC_ERR_TIMEOUT (with a detail naming the holder). `key` is for messages. */
int sipc_segment_lock(sipc_os_segment *segment, seg_header *header, const sipc_os_process *self, uint64_t deadline,
                      const char *key);
/* sipc_segment_lock, saying in *taken_from the word of the gone holder it took the lock over from (0 if it
 * found the lock free). */
int sipc_segment_lock_from(sipc_os_segment *segment, seg_header *header, const sipc_os_process *self, uint64_t deadline,
                           const char *key, uint64_t *taken_from);
/* 1 if the header was never initialised (magic 0) and its lock word names a holder that is gone: its creator,
 * which holds the word from before it sizes the segment until it has written the magic, died. (A word of 0
 * proves nothing: a creator may be about to take it.) */
int sipc_creation_abandoned(sipc_os_segment *segment, const seg_header *header);
/* Gives the lock back (only if `self` still holds it). */
void sipc_segment_unlock(seg_header *header, const sipc_os_process *self);

/* A validated read-only mapping of a channel's segment, for stat, list and observers. */
typedef struct sipc_view {
    sipc_os_segment *segment;
    void *base;
    uint64_t size;
    seg_geometry geometry;
} sipc_view;
/* Opens and validates (header first, then maps the whole object read-only). SIPC_ERR_NOT_FOUND also
 * for an object that is not initialised yet. On SIPC_OK the caller closes it with sipc_view_close. */
int sipc_view_open(const char *key, uint64_t deadline, sipc_view *view);
/* The same with SIPC_OS_SEG_* flags: 0 maps read-write (a lossless observer's record). */
int sipc_view_open_flags(const char *key, uint32_t os_flags, uint64_t deadline, sipc_view *view);
/* The stall bound a lossless observer record asks for, as peers apply it (untrusted: clamped). */
uint32_t sipc_observer_stall_ms(uint32_t asked);
void sipc_view_close(sipc_view *view);
/* Records why `key` does not hold channel `wanted` (it holds `found`) and returns
 * SIPC_ERR_NOT_A_CHANNEL. */
int sipc_name_mismatch(const char *key, const char *found, const char *wanted);

#endif /* SIPC_LAYOUT_H */
