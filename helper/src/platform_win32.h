/*
 * platform_win32.h — what the Windows implementation of platform.h shares between its files:
 *   platform_win32_thread.c    clocks and the process-local mutex
 *   platform_win32_process.c   OS errors and process identity (pid + creation time)
 *   platform_win32_security.c  security descriptors (DACLs) per kind of object and mode
 *   platform_win32_names.c     object names in the Local\ and Global\ namespaces
 *   platform_win32_segment.c   control sections, generations and the data section of a key
 *   platform_win32_list.c      listing keys from the session's NT object directory
 *   platform_win32_winapi.c    NT functions not in the Windows SDK's import libraries (ntdll)
 *   platform_win32_wait.c      waiting on wait words, and the process watcher
 *
 * Windows named objects cannot be unlinked or resized, and they vanish by themselves when the
 * last handle closes. To keep the POSIX semantics the core expects (exclusive create with size 0,
 * resize, unlink while others still hold the object, "is this still the current object?"), a key
 * is a small family of named kernel objects (see PROTOCOL.md, "Windows"):
 *
 *   <ns>\<key>~lock                 mutex: the segment lock, also serialises open/unlink of the key
 *   <ns>\<key>~<g>~ctl              control section (one page) of generation g: exists from the
 *                                   exclusive create on; holds the data size, a "removed" flag,
 *                                   the instance id and per-word waiter counts
 *   <ns>\<key>~<g>~<serial>~data    the data section the core maps; a resize makes serial+1
 *   <ns>\<key>~<instance>~s<i>      semaphore of wait word i (instance: 64 random bits per
 *                                   generation, so objects of a crashed run are never reused)
 *
 * <ns> is "Local" (the caller's session) or "Global" (SIPC_OS_SEG_GLOBAL). Unlinking sets the
 * control's "removed" flag; the next create picks the next free generation. Every object gets a
 * DACL for the creating user, plus Authenticated Users with what the mode's group/other bits admit them
 * to (platform_win32_security.c): a read-only user can map the sections for reading and nothing else.
 *
 * Waiting: a waiter counts itself in the control block, re-checks the word, then sleeps on the
 * word's semaphore. A waker takes the count and releases that many tokens; a token left over by a
 * timed-out waiter only causes a spurious wake-up, which the interface allows.
 *
 * Peer death: the process watcher registers a thread-pool wait on the peer's process handle, so
 * the core learns of the death the moment the process ends.
 */
#ifndef SIPC_PLATFORM_WIN32_H
#define SIPC_PLATFORM_WIN32_H

#if defined(_WIN32)

#include "platform.h"

#include <wchar.h>

#define WIN_CONTROL_MAGIC 0x314c544343504953ull /* "SIPCCTL1" */
#define WIN_CONTROL_VERSION 1u
#define WIN_CONTROL_SIZE 4096u
#define WIN_GENERATIONS 16u
#define WIN_NAME_MAX 128
#define WIN_WAKE_MAX 65536L
/* A waiter that cannot count itself in (a control view it may not write, or a read-only open, which holds
 * no semaphore) sleeps in slices of this length instead of waiting on the word's semaphore. */
#define WIN_POLL_SLICE_MS 20u

typedef struct win_control {
    uint64_t magic;       /* WIN_CONTROL_MAGIC, written last */
    uint32_t version;     /* WIN_CONTROL_VERSION */
    uint32_t removed;     /* 1 once sipc_os_segment_unlink ran */
    uint64_t instance;    /* random; names the semaphores */
    uint64_t data_size;   /* exact size of the current data section, 0 before the first resize */
    uint32_t data_serial; /* names the current data section; +1 at each resize */
    uint32_t mode;        /* permission bits asked for at creation */
    volatile LONG waiters[SIPC_WAIT_WORDS];
} win_control;

_Static_assert(sizeof(win_control) <= WIN_CONTROL_SIZE, "control block fits its page");

struct sipc_os_segment {
    wchar_t base_name[WIN_NAME_MAX]; /* "<ns>\<key>" */
    unsigned generation;
    int readonly;
    int inherit;
    HANDLE lock;
    HANDLE control_section;
    win_control *control;
    int control_writable;
    uint64_t instance; /* copied from the control at open */
    HANDLE semaphore[SIPC_WAIT_WORDS];
    SRWLOCK state_lock; /* guards the fields below */
    HANDLE data_section;
    uint32_t data_serial;
    uint64_t data_size;
};

/* ---- errors (platform_win32_process.c) ---- */
/* Records GetLastError() and returns its status. */
int win_fail_last_error(void);

/* ---- processes (platform_win32_process.c) ---- */
/* Opens the process if it is the one identified (same pid and creation time) and still running;
 * NULL otherwise, with *exists_unexaminable set when it exists but may not be opened. */
HANDLE win_open_identified_process(const sipc_os_process *process, int *exists_unexaminable);

/* ---- security (platform_win32_security.c) ---- */
/* The kinds of named object a channel is made of; each has its own access rights. */
typedef enum win_object_kind {
    WIN_OBJECT_SECTION,   /* control and data sections */
    WIN_OBJECT_LOCK,      /* the key mutex */
    WIN_OBJECT_SEMAPHORE, /* the wait words' semaphores */
    WIN_OBJECT_KINDS
} win_object_kind;

/* What each opener asks for, and what the DACLs grant other users: a peer (the mode has a group/other write
 * bit) maps sections read-write and waits on and releases the mutex and the semaphores; a reader (read bits
 * only) maps sections for reading, and read-only opens ask for nothing more. */
#define WIN_SECTION_READER_RIGHTS (SECTION_MAP_READ | SECTION_QUERY)
#define WIN_SECTION_PEER_RIGHTS (SECTION_MAP_READ | SECTION_MAP_WRITE | SECTION_QUERY)
#define WIN_LOCK_PEER_RIGHTS (SYNCHRONIZE | MUTEX_MODIFY_STATE)
#define WIN_SEMAPHORE_PEER_RIGHTS (SYNCHRONIZE | SEMAPHORE_MODIFY_STATE)

/* Attributes for a new object of `kind` of a channel with `mode`: a protected DACL granting the creating user
 * all access, and Authenticated Users the reader or peer rights above when the mode's group/other bits admit
 * them (write bits: peer; read bits only: reader, i.e. nothing at all on the mutex and the semaphores).
 * Built once per process. */
int win_security_attributes(win_object_kind kind, uint32_t mode, int inherit, SECURITY_ATTRIBUTES *attributes);

/* ---- names (platform_win32_names.c) ---- */
/* "<ns>\<key>" for a valid key; SIPC_ERR_INVALID_NAME otherwise. */
int win_make_base_name(const char *key, int global, wchar_t *out, size_t capacity);
void win_control_name(const sipc_os_segment *segment, unsigned generation, wchar_t *out);
void win_data_name(const sipc_os_segment *segment, uint32_t serial, wchar_t *out);
void win_semaphore_name(const sipc_os_segment *segment, unsigned index, wchar_t *out);
/* 64 random bits, never 0: names a generation's semaphores. */
uint64_t win_random_instance(void);

/* ---- segments (platform_win32_segment.c) ---- */
/* Opens the key in one namespace (global: Global\, else Local\). */
/* Waits for the key's mutex at most until `deadline` (SIPC_ERR_TIMEOUT). */
int win_open_in_namespace(const char *key, uint32_t flags, uint32_t mode, int global, uint64_t deadline,
                          sipc_os_segment **out);
/* Closes every handle of the segment and frees it. */
void win_close_segment_handles(sipc_os_segment *segment);

#endif /* _WIN32 */

#endif /* SIPC_PLATFORM_WIN32_H */
