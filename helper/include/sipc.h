/*
 * sipc — named, synchronous, shared-memory channels between two processes.
 *
 * Two processes open a channel by name. The creator becomes the server, the
 * second opener the client; a third opener is refused with SIPC_ERR_BUSY.
 * Each direction is a bounded FIFO queue of whole messages in shared memory.
 * Blocking calls take a timeout in milliseconds: SIPC_INFINITE waits forever,
 * 0 answers at once.
 *
 * Thread safety: several threads may call sipc_send / sipc_recv / sipc_connect /
 * sipc_peek_size / sipc_cancel / sipc_info on one channel at once. sipc_close may
 * be called while other threads are blocked in those calls: they return
 * SIPC_ERR_CLOSED, and sipc_close returns once they have all left the handle.
 * A call that *starts* after sipc_close returned uses freed memory: sipc_close
 * must still be the last call that begins on a handle.
 *
 * fork(): a handle belongs to the process that opened it. In a child created
 * by fork() every call on an inherited handle returns SIPC_ERR_CLOSED without
 * touching the channel, and sipc_close only frees the child's copy (the
 * parent's role, lock and peer are left alone). A child's exit() leaves the
 * parent's channels alone too.
 *
 * exec(): a process that execs another program without closing its handles
 * loses its roles: its handles are close-on-exec, and with them goes the
 * liveness token its peers test (PROTOCOL.md section 5), so its peer sees
 * SIPC_ERR_PEER_GONE within about 250 ms and the role is free for the next
 * process. With SIPC_OPEN_INHERIT_HANDLES the new program keeps the handles'
 * OS objects and with them the role, but it has no sipc_channel to use them:
 * use that flag only for a program that stays attached on purpose.
 *
 * Exit: a process that returns from main or calls exit() with channels still
 * open releases their roles and removes the channels it was the last user of
 * (also those whose both ends it held). A process that is killed leaves them
 * stale: the next opener re-initialises them (`sipc rm --stale` removes them).
 *
 * Versioned structs: struct_size must be set by the caller (sipc_options_init
 * does it for options). A value smaller than this header's sizeof is refused
 * with SIPC_ERR_INVALID_ARGUMENT; a larger one (a caller built against a newer
 * header) is accepted, and the library reads and writes only the fields it
 * knows.
 *
 * Every function returns SIPC_OK (0) or a negative sipc_status.
 */
#ifndef SIPC_H
#define SIPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(SIPC_BUILDING_DLL)
#    define SIPC_API __declspec(dllexport)
#  elif defined(SIPC_STATIC)
#    define SIPC_API
#  else
#    define SIPC_API __declspec(dllimport)
#  endif
#else
#  define SIPC_API __attribute__((visibility("default")))
#endif

#define SIPC_VERSION_MAJOR 1
#define SIPC_VERSION_MINOR 0
#define SIPC_VERSION_PATCH 0

/* Timeouts, in milliseconds: SIPC_INFINITE waits for ever, 0 answers at once, a positive value waits
 * at most that long. Values below -1 are refused with SIPC_ERR_INVALID_ARGUMENT by the _ex functions;
 * the blocking calls (connect, send, recv, peek_size, observer_next) treat every negative value as
 * SIPC_INFINITE. */
#define SIPC_INFINITE (-1)
/* How long sipc_open, sipc_close and sipc_remove wait for a channel's lock that another
 * process holds (locks are normally held for microseconds; a process that keeps one longer, e.g. a
 * stopped one, then costs SIPC_ERR_TIMEOUT instead of a hang). The _ex functions take their own. The lock
 * is a word in the segment's header: only a process that can write the segment can hold it (one that may
 * only read it cannot delay anyone), and a holder that died is taken over at once (helper/PROTOCOL.md). */
#define SIPC_DEFAULT_LOCK_TIMEOUT_MS 5000
/* How long a handle still open when the process exits waits for its channel's lock (a process that returns
 * from main or calls exit() releases its roles then): longer and a stranger holding the lock would hold up the
 * exit; a lock not had by then leaves the name stale, for the next opener or `sipc rm --stale`. */
#define SIPC_EXIT_LOCK_TIMEOUT_MS 100

/* Names: 1..SIPC_NAME_MAX bytes of [A-Za-z0-9._-], not starting with '.'. */
#define SIPC_NAME_MAX 200

/* Limits on options. */
#define SIPC_DEFAULT_MAX_MESSAGE (64u * 1024u)
#define SIPC_DEFAULT_QUEUE_DEPTH 16u
#define SIPC_MAX_MESSAGE_LIMIT (64u * 1024u * 1024u)
#define SIPC_MAX_QUEUE_DEPTH 4096u

typedef enum sipc_status {
    SIPC_OK = 0,
    SIPC_ERR_TIMEOUT = -1,          /* the wait ran out */
    SIPC_ERR_PEER_GONE = -2,        /* the peer closed or died (after its queued messages were delivered) */
    SIPC_ERR_BUSY = -3,             /* both roles of the channel are taken */
    SIPC_ERR_TOO_BIG = -4,          /* message larger than the channel's maximum; nothing was sent */
    SIPC_ERR_CANCELLED = -5,        /* sipc_cancel was called on this channel */
    SIPC_ERR_CLOSED = -6,           /* the handle is closed (or being closed by another thread), or it was
                                       inherited through fork() and belongs to the parent process */
    SIPC_ERR_INVALID_NAME = -7,     /* the name breaks the naming rules */
    SIPC_ERR_INVALID_ARGUMENT = -8, /* a NULL pointer, an option out of range, ... */
    SIPC_ERR_BUFFER_TOO_SMALL = -9, /* recv capacity too small: *length says the size needed; message stays queued */
    SIPC_ERR_NOT_FOUND = -10,       /* no channel of that name (stat, observe, remove) */
    SIPC_ERR_CORRUPT = -11,         /* the shared segment fails validation */
    SIPC_ERR_VERSION = -12,         /* the segment was made by an incompatible protocol version */
    SIPC_ERR_PERMISSION = -13,      /* the OS refused access to the segment */
    SIPC_ERR_NO_MEMORY = -14,       /* out of memory or shared-memory space */
    SIPC_ERR_MISMATCH = -15,        /* the channel exists with other options (max message size, queue depth) */
    SIPC_ERR_NOT_CONNECTED = -16,   /* the operation needs a connected peer and none ever connected (timeout 0) */
    SIPC_ERR_SYSTEM = -17,          /* another OS error: see sipc_last_os_error() */
    SIPC_ERR_NOT_A_CHANNEL = -18    /* the name leads to an object that is not this channel: not a shared-memory
                                       object (a FIFO, a directory, a link, ...), or the segment of another
                                       channel whose name hashes to the same key; sipc_last_error_message() says
                                       which. Nothing was touched. */
} sipc_status;

typedef enum sipc_role {
    SIPC_ROLE_NONE = 0,
    SIPC_ROLE_SERVER = 1,
    SIPC_ROLE_CLIENT = 2
} sipc_role;

typedef enum sipc_state {
    SIPC_STATE_WAITING = 0,     /* one side attached, waiting for the other */
    SIPC_STATE_CONNECTED = 1,   /* both sides attached and alive */
    SIPC_STATE_PEER_GONE = 2,   /* a side closed or died; the other is still attached */
    SIPC_STATE_STALE = 3,       /* nobody alive is attached: the next opener reinitialises it */
    SIPC_STATE_EMPTY = 4        /* segment exists but no side was ever attached (being created) */
} sipc_state;

/* sipc_options.flags */
#define SIPC_OPEN_INHERIT_HANDLES 0x1u /* the segment's OS handle is not close-on-exec: a program this process
                                          exec()s keeps it, and with it this side's role (it stays alive to the
                                          peer until that program ends); without the flag exec() gives the role
                                          up. fork() children share the handle either way (see the top). */
#define SIPC_OPEN_NO_CREATE 0x2u       /* only attach as client to an existing channel; SIPC_ERR_NOT_FOUND if none
                                          (or if it is stale, or only its server role is free) */
#define SIPC_OPEN_GLOBAL 0x4u          /* Windows: Global\ namespace instead of Local\; ignored elsewhere */
#define SIPC_OPEN_NO_SPIN 0x8u         /* this handle's waits sleep at once, never spinning for the peer: less CPU per
                                          message, a wake-up (several us) per hop; the peer's handle is unaffected */

/* A client (or any opener of an existing channel) adopts the server's max_message_size and
 * queue_depth when it leaves them at 0 or at their defaults; any other value that differs from the
 * channel's gives SIPC_ERR_MISMATCH. mode only applies when the channel is created (0 = 0600;
 * the owner must keep read+write); the segment gets exactly these bits whatever the umask. Windows: group and
 * other bits both stand for Authenticated Users; a write bit admits them as peers, read bits alone only to
 * stat, list and observe read-only (no access to anything that can delay or wake the peers). */
typedef struct sipc_options {
    uint32_t struct_size;      /* sizeof(sipc_options): set by sipc_options_init */
    uint32_t max_message_size; /* bytes; default SIPC_DEFAULT_MAX_MESSAGE */
    uint32_t queue_depth;      /* messages per direction; default SIPC_DEFAULT_QUEUE_DEPTH */
    uint32_t mode;             /* segment permission bits; default 0600 */
    uint32_t flags;            /* SIPC_OPEN_* */
} sipc_options;

typedef struct sipc_direction_info {
    uint64_t messages;          /* messages sent in this direction since the channel was created */
    uint64_t bytes;             /* payload bytes sent in this direction */
    uint32_t queued;            /* messages waiting to be received now */
    uint32_t capacity;          /* queue depth */
    uint64_t last_activity_ns;  /* wall clock (Unix epoch, ns) of the last send, 0 if none */
} sipc_direction_info;

typedef struct sipc_channel_info {
    uint32_t struct_size;       /* sizeof(sipc_channel_info): the caller sets it */
    uint32_t protocol_version;
    char name[SIPC_NAME_MAX + 1];
    int32_t state;              /* sipc_state */
    uint32_t max_message_size;
    uint32_t queue_depth;
    uint32_t mode;              /* permission bits of the segment */
    uint32_t owner_uid;
    int64_t server_pid;         /* 0 if the role is free */
    int64_t client_pid;
    int32_t server_alive;       /* 1 if the process holding the role is running */
    int32_t client_alive;
    uint64_t connections;       /* how many times a client connected */
    uint64_t created_ns;        /* wall clock (Unix epoch, ns) */
    sipc_direction_info to_client; /* server -> client */
    sipc_direction_info to_server; /* client -> server */
} sipc_channel_info;

/* What can be seen of a process from outside, for tools that show who holds a role (sipc ls/stat, the
 * extension): its short name, and whether it is stopped — at a debugger's breakpoint or by SIGSTOP — so that a
 * peer that does not answer is not mistaken for a dead one. See sipc_process_describe. */
typedef enum sipc_process_state {
    SIPC_PROCESS_UNKNOWN = 0, /* it exists, but its state cannot be read here (another user's process) */
    SIPC_PROCESS_RUNNING = 1, /* running or waiting: it will answer */
    SIPC_PROCESS_STOPPED = 2, /* alive but stopped: by a tracer (Linux state 't', a debugger's breakpoint) or by a
                                 signal ('T', SIGSTOP/Ctrl-Z); macOS SSTOP; Windows: every thread suspended (a
                                 debugger's breakpoint freezes them all; NtSuspendProcess, SuspendThread) */
    SIPC_PROCESS_GONE = 3     /* no such process, or one that has exited and not been reaped (a zombie) */
} sipc_process_state;

#define SIPC_PROCESS_NAME_MAX 63

typedef struct sipc_process_info {
    uint32_t struct_size; /* sizeof(sipc_process_info): the caller sets it */
    int32_t state;        /* sipc_process_state */
    int32_t traced;       /* 1 if a debugger is attached (Linux TracerPid, macOS P_TRACED, Windows
                             CheckRemoteDebuggerPresent), 0 if not or unknown */
    char name[SIPC_PROCESS_NAME_MAX + 1]; /* short name, "" if unknown: Linux /proc/<pid>/comm (at most 15
                                             bytes), macOS proc_name, Windows the image's file name; bytes
                                             outside printable ASCII become '?' */
} sipc_process_info;

typedef struct sipc_channel sipc_channel;
typedef struct sipc_observer sipc_observer;

/* ---- library ---- */
SIPC_API const char *sipc_version(void);
/* Stable upper-case name of a status, e.g. "TIMEOUT"; "UNKNOWN" for others. */
SIPC_API const char *sipc_status_name(int status);
/* A sentence for users, e.g. "the peer closed the channel or died". */
SIPC_API const char *sipc_strerror(int status);
/* errno (or GetLastError) behind the last SIPC_ERR_SYSTEM/PERMISSION/NO_MEMORY of this thread. */
SIPC_API int sipc_last_os_error(void);
/* A sentence with the details of the last failure of this thread's last by-name call (open, stat,
 * remove, observe, list), e.g. what a name leads to instead of a channel, or how much shared memory
 * a channel needed; "" when that call failed without details or succeeded. The string lives until
 * this thread's next sipc call. */
SIPC_API const char *sipc_last_error_message(void);
/* SIPC_OK if the name is valid, else SIPC_ERR_INVALID_NAME. */
SIPC_API int sipc_validate_name(const char *name);

SIPC_API void sipc_options_init(sipc_options *options);

/* ---- peers ---- */
/* Creates the channel (server) or attaches to it (client). options may be NULL. Waits at most
 * SIPC_DEFAULT_LOCK_TIMEOUT_MS for the channel's lock or for a creator to finish (SIPC_ERR_TIMEOUT). */
SIPC_API int sipc_open(const char *name, const sipc_options *options, sipc_channel **out);
/* sipc_open with its own limit on those waits (SIPC_INFINITE: no limit; 0: only if nothing is in the way). */
SIPC_API int sipc_open_ex(const char *name, const sipc_options *options, int32_t timeout_ms, sipc_channel **out);
SIPC_API sipc_role sipc_get_role(const sipc_channel *channel);
SIPC_API uint32_t sipc_max_message_size(const sipc_channel *channel);
/* Waits for a peer: returns SIPC_OK when the peer role has a session this handle has not served yet
 * (a peer attached since the last one adopted), even if that peer already left again; recv then
 * delivers everything it sent and only then SIPC_ERR_PEER_GONE. While the adopted peer is attached
 * or messages from it are queued, returns SIPC_OK at once. After SIPC_ERR_PEER_GONE it adopts the next
 * peer (peers are served in order, never mixed) or waits. timeout 0 answers at once (SIPC_ERR_TIMEOUT).
 * send/recv on a handle that never connected connect implicitly within their timeout (timeout 0:
 * SIPC_ERR_NOT_CONNECTED); so a first recv gets the messages of a peer that already left. */
SIPC_API int sipc_connect(sipc_channel *channel, int32_t timeout_ms);
/* Copies the message into the queue towards the peer; blocks while the queue is full. */
SIPC_API int sipc_send(sipc_channel *channel, const void *data, size_t length, int32_t timeout_ms);
/* Receives the next message. On SIPC_OK *length is its size; on SIPC_ERR_BUFFER_TOO_SMALL *length
 * is the size needed and the message stays queued. */
SIPC_API int sipc_recv(sipc_channel *channel, void *buffer, size_t capacity, size_t *length, int32_t timeout_ms);
/* Size of the next queued message without taking it; waits like sipc_recv. */
SIPC_API int sipc_peek_size(sipc_channel *channel, size_t *length, int32_t timeout_ms);
/* Wakes every blocked call on this handle with SIPC_ERR_CANCELLED; later calls fail the same way
 * until sipc_uncancel. Async-signal-safe. */
SIPC_API int sipc_cancel(sipc_channel *channel);
SIPC_API int sipc_uncancel(sipc_channel *channel);
SIPC_API int sipc_info(sipc_channel *channel, sipc_channel_info *info);
/* Detaches and frees the handle. The peer's blocked calls wake with SIPC_ERR_PEER_GONE; the last one out
 * removes the segment. Messages still queued toward a departed peer are discarded when the next process
 * takes its role; messages it sent stay deliverable (see helper/PROTOCOL.md). */
SIPC_API int sipc_close(sipc_channel *channel);
/* sipc_close waiting at most timeout_ms for the channel's lock (sipc_close: SIPC_DEFAULT_LOCK_TIMEOUT_MS).
 * When the lock stays held that long the role is released anyway and the handle freed, but the segment
 * is not removed even if this was the last one out (SIPC_ERR_TIMEOUT; it is stale and the next opener or
 * `sipc rm --stale` removes it). */
SIPC_API int sipc_close_ex(sipc_channel *channel, int32_t timeout_ms);

/* ---- by name, without attaching ---- */
/* Never blocks on what the name leads to (a FIFO or another file gives SIPC_ERR_NOT_A_CHANNEL) and takes
 * no lock on any system, so a process holding a channel's lock never delays it. A channel whose creator died
 * before initialising it is SIPC_STATE_STALE; one being created SIPC_STATE_EMPTY. */
SIPC_API int sipc_stat(const char *name, sipc_channel_info *info);
/* sipc_stat bounded by the caller's timeout like every other call by name (sipc_stat:
 * SIPC_DEFAULT_LOCK_TIMEOUT_MS); it takes no lock, so today it never waits that long. Below SIPC_INFINITE:
 * SIPC_ERR_INVALID_ARGUMENT. */
SIPC_API int sipc_stat_ex(const char *name, int32_t timeout_ms, sipc_channel_info *info);
/* Describes process `pid` (a server_pid/client_pid of sipc_channel_info): name, stopped or running, traced.
 * Never waits (Linux reads /proc/<pid>/{stat,comm,status}). SIPC_OK, or SIPC_ERR_INVALID_ARGUMENT for a NULL
 * info, a struct_size below sizeof(sipc_process_info) or a pid <= 0. A gone process is SIPC_OK with state GONE. */
SIPC_API int sipc_process_describe(int64_t pid, sipc_process_info *info);
/* Removes the channel's name. Refuses (SIPC_ERR_BUSY) while a live process is attached, or while the channel
 * is being created (not initialised, and its creator not known to be gone), unless force. Waits at most
 * SIPC_DEFAULT_LOCK_TIMEOUT_MS for the channel's lock. */
SIPC_API int sipc_remove(const char *name, int force);
#define SIPC_REMOVE_FORCE 0x1u /* also while attached, and also what is not a valid channel (corrupt, FIFO, ...) */
SIPC_API int sipc_remove_ex(const char *name, uint32_t flags, int32_t timeout_ms);
/* Lists the usable channels on this machine (those this user can read and that pass validation; the
 * rest is omitted: see sipc_list_entries). Calls visit for each; stops early if visit returns non-zero.
 * Never waits. The name passed to visit lives only during that call. */
typedef int (*sipc_list_visitor)(const char *name, void *user);
SIPC_API int sipc_list(sipc_list_visitor visit, void *user);
/* One entry of the shared-memory namespace that looks like a sipc key. */
typedef struct sipc_list_entry {
    uint32_t struct_size;        /* sizeof(sipc_list_entry) of the library */
    int32_t status;              /* SIPC_OK: a usable channel; else why it cannot be used (NOT_A_CHANNEL,
                                    CORRUPT, VERSION, PERMISSION, NOT_FOUND = being created, TIMEOUT = locked) */
    const char *key;             /* the OS object name, e.g. "sipc.demo" */
    const char *detail;          /* a sentence about the failure, or "" */
    char name[SIPC_NAME_MAX + 1];/* the channel's name; for an unusable entry the name its key stands for, or
                                    the key itself when that is a hash */
} sipc_list_entry;
/* Calls visit for every entry, usable or not (everything it points to lives only during the call);
 * stops early if visit returns non-zero. Never waits. Read only the fields up to entry->struct_size. */
typedef int (*sipc_list_entry_visitor)(const sipc_list_entry *entry, void *user);
SIPC_API int sipc_list_entries(sipc_list_entry_visitor visit, void *user);

/* ---- observers: read-only, never consume traffic ---- */
typedef enum sipc_direction {
    SIPC_DIR_TO_CLIENT = 0, /* server -> client */
    SIPC_DIR_TO_SERVER = 1  /* client -> server */
} sipc_direction;

typedef struct sipc_observed_message {
    uint32_t struct_size;    /* the caller sets it to sizeof(sipc_observed_message); else INVALID_ARGUMENT */
    int32_t direction;       /* sipc_direction */
    uint64_t sequence;       /* per-direction message number, from 0 */
    uint64_t timestamp_ns;   /* wall clock of the send */
    uint32_t length;         /* full message length */
    uint32_t copied;         /* bytes copied into the buffer (min(length, capacity)) */
    uint64_t missed;         /* messages of this direction lost to the observer just before this one */
    /* Added later: a caller whose struct_size ends after `missed` gets the fields above only. */
    uint64_t discarded;      /* messages of this direction the receiving side discarded since the previous one
                                reported, because they were addressed to an earlier holder of its role that left
                                before receiving them (PROTOCOL.md, "Message fate across sessions") */
    uint32_t undeliverable;  /* 1: this message is addressed to a session of the receiving role that had been
                                replaced or closed, without taking it, when the observer read it: it will be
                                discarded, never delivered (its discard is also counted in a later `discarded`) */
    uint32_t reserved;
    /* Added with events: a caller whose struct_size ends before `kind` never gets events. */
    uint32_t kind;           /* SIPC_OBSERVED_MESSAGE, or SIPC_OBSERVED_EVENT (only with SIPC_OBSERVE_EVENTS): then
                                only direction (-1), timestamp_ns (when the observer noticed it) and the fields
                                below mean something, and nothing is copied */
    int32_t event;           /* sipc_observer_event */
    int32_t role;            /* sipc_role the event is about (SIPC_ROLE_NONE for the observer's own events) */
    uint32_t session;        /* the role's session (attach number) the event is about */
    int64_t pid;             /* the process the event is about (0: unknown) */
    uint64_t count;          /* SIPC_EVENT_LOSSLESS_DROPPED: the state the peers left (reason) */
} sipc_observed_message;

#define SIPC_OBSERVED_MESSAGE 0u
#define SIPC_OBSERVED_EVENT 1u

typedef enum sipc_observer_event {
    SIPC_EVENT_NONE = 0,
    SIPC_EVENT_ATTACHED = 1,        /* a process took the role (session is its attach number) */
    SIPC_EVENT_CLOSED = 2,          /* the role's holder closed it */
    SIPC_EVENT_DIED = 3,            /* the role's holder ended without closing (killed, crashed) */
    SIPC_EVENT_LOSSLESS_DROPPED = 4 /* the peers dropped this lossless observer (count: 1 stalled, 2 died,
                                       3 invalid record); it goes on as a plain observer */
} sipc_observer_event;

/* sipc_observe_options.flags */
#define SIPC_OBSERVE_LOSSLESS 0x1u /* the peers never overwrite a message this observer has not copied yet: it
                                      registers a small record in the segment whose cursor the producers respect
                                      (it may slow them down to its pace). A lossless observer that dies, or does
                                      not move on for stall_timeout_ms while a producer waits for it, is dropped by
                                      the peers and goes on as a plain observer (reported with
                                      SIPC_EVENT_LOSSLESS_DROPPED). SIPC_ERR_BUSY when every record is taken
                                      (SIPC_OBSERVE_LOSSLESS_MAX), SIPC_ERR_PERMISSION when this process may only
                                      read the segment. Messages of an attached peer built before lossless
                                      observation existed can still be missed (counted in `missed`). */
#define SIPC_OBSERVE_EVENTS 0x2u   /* sipc_observer_next also returns events (kind SIPC_OBSERVED_EVENT): peers
                                      attaching, closing, dying, this observer being dropped */
#define SIPC_OBSERVE_LOSSLESS_MAX 2u /* lossless observers per channel at once */
#define SIPC_OBSERVE_STALL_DEFAULT_MS 1000u
#define SIPC_OBSERVE_STALL_MAX_MS 10000u

typedef struct sipc_observe_options {
    uint32_t struct_size;      /* sizeof(sipc_observe_options): set by sipc_observe_options_init */
    uint32_t flags;            /* SIPC_OBSERVE_* */
    uint32_t stall_timeout_ms; /* lossless: how long a producer waits for this observer to copy before it drops
                                  it; 0 = SIPC_OBSERVE_STALL_DEFAULT_MS, at most SIPC_OBSERVE_STALL_MAX_MS */
    uint32_t reserved;
} sipc_observe_options;

SIPC_API void sipc_observe_options_init(sipc_observe_options *options);
/* Attaches as an observer. Starts at the newest traffic (messages sent after the call). A plain observer
 * writes nothing the peers read except a wake-up request while it sleeps (it maps the segment read-write
 * when it may, to sleep until the next message instead of polling; read-only otherwise). */
SIPC_API int sipc_observe(const char *name, sipc_observer **out);
/* sipc_observe with options (NULL: as sipc_observe). */
SIPC_API int sipc_observe_ex(const char *name, const sipc_observe_options *options, sipc_observer **out);
SIPC_API int sipc_observer_info(sipc_observer *observer, sipc_channel_info *info);
/* Next message in either direction (in send-time order). Truncates to capacity (copied < length).
 * message->struct_size: sizeof(sipc_observed_message), or the earlier size that ends after `missed`.
 * SIPC_ERR_TIMEOUT if nothing arrived; SIPC_ERR_NOT_FOUND if the channel was removed.
 * The first time a thread waits in it, it asks the scheduler for short turns for that thread (Linux >= 6.12: a
 * 100 us slice; its policy, nice value and CPU share unchanged), so that a producer's wake-up runs it before the ring
 * wraps instead of after a busy peer's default slice of milliseconds; call it from a thread that observes. */
SIPC_API int sipc_observer_next(sipc_observer *observer, void *buffer, size_t capacity,
                                sipc_observed_message *message, int32_t timeout_ms);
SIPC_API int sipc_observer_cancel(sipc_observer *observer);

/* What an observer did and, for every message it missed, why (a plain observer misses a message when the producer
 * reuses its slot, queue_depth messages later, before the observer copied it). Counted since sipc_observe; read it
 * from any thread (the counters are updated atomically, one at a time). */
typedef struct sipc_observer_stats {
    uint32_t struct_size;        /* the caller sets it to sizeof(sipc_observer_stats); else INVALID_ARGUMENT */
    uint32_t reserved;
    uint64_t messages;           /* messages returned */
    uint64_t missed;             /* messages missed: missed_asleep + missed_away + missed_running */
    uint64_t missed_asleep;      /* found gone on the first look after a sleep (woken, or polling, too late) */
    uint64_t missed_away;        /* found gone on the first look of a call: the caller kept the observer out of
                                    sipc_observer_next too long (its own work, or this thread descheduled there) */
    uint64_t missed_running;     /* gone between two looks within one call (spinning or copying: descheduled),
                                    or overwritten while being copied */
    uint64_t sleeps;             /* sleeps on the observer wait word (a producer wakes it) */
    uint64_t woken;              /* sleeps that a producer (or a role change) ended, not the time limit */
    uint64_t polls;              /* sleeps of the polling fallback (read-only mapping, an older producer) */
    uint64_t spins;              /* waits that spun for the next message first (traffic flowing) */
    uint64_t spin_hits;          /* spins that found a message (no sleep needed) */
    uint64_t wake_latency_count; /* woken sleeps after which a message was found (to time the wake-up by) */
    uint64_t wake_latency_total_ns; /* their sum of (first look after the sleep - the oldest message's send time;
                                       when messages were found gone, a lower bound: they were sent earlier) */
    uint64_t wake_latency_max_ns;
    uint64_t longest_miss_gap_ns; /* the longest time between two looks at the rings when the later one found
                                     messages gone (the attach counts as the first look) */
    uint64_t longest_away_ns;    /* the longest time between a return of sipc_observer_next and the next call */
    uint64_t producer_wakes;     /* lossless: wake-ups sent to producers waiting for this observer's cursor */
} sipc_observer_stats;

SIPC_API int sipc_observer_get_stats(sipc_observer *observer, sipc_observer_stats *stats);
SIPC_API int sipc_observer_close(sipc_observer *observer);

#ifdef __cplusplus
}
#endif
#endif /* SIPC_H */
