/*
 * platform.h — the small OS interface the sipc core is written against.
 *
 * One implementation per OS: platform_posix*.c (Linux; futex; see platform_posix.h) and
 * platform_win32*.c (Windows; named semaphores; see platform_win32.h). The core (channel.c, observer.c,
 * ...) never calls the OS directly.
 *
 * Conventions:
 * - Functions returning int return SIPC_OK or a negative sipc_status. When
 *   the cause is an OS error they record it with sipc_os_record_error() first
 *   (so sipc_last_os_error() can report it), and map it with
 *   sipc_os_status_from_error().
 * - A "key" is the OS-neutral object name the core derives from a channel
 *   name: "sipc.<name>" or, when that would exceed SIPC_OS_KEY_MAX, "sipc.#"
 *   followed by 16 hex digits of a hash (a '#' no name contains, so the two never meet) (the full name is kept in the
 *   segment header). The platform turns a key into its own object name
 *   ("/sipc.x" for shm_open, "Local\\sipc.x" on Windows, ...).
 * - Every waitable 32-bit word lives at a fixed index in the segment's
 *   wait-word array (see SIPC_WAIT_WORDS). Waits and wakes pass both the
 *   index (so Windows can map it to a named event per segment and index) and
 *   the address (so Linux can futex on it).
 */
#ifndef SIPC_PLATFORM_H
#define SIPC_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "../include/sipc.h"

#if defined(_WIN32)
#include <windows.h>
typedef SRWLOCK sipc_os_mutex;
typedef CONDITION_VARIABLE sipc_os_cond;
typedef HANDLE sipc_os_thread;
#else
#include <pthread.h>
typedef pthread_mutex_t sipc_os_mutex;
typedef pthread_cond_t sipc_os_cond;
typedef pthread_t sipc_os_thread;
#endif

/* Longest key: macOS limits shm names to 31 bytes including the leading '/'. */
#define SIPC_OS_KEY_MAX 30
#define SIPC_OS_KEY_PREFIX "sipc."
/* What follows SIPC_OS_KEY_PREFIX in a hashed key: a character no channel name contains, so keys
 * are names' characters plus this one. */
#define SIPC_HASHED_KEY_MARK "#"

/* Number of waitable words in a segment (indices 0..SIPC_WAIT_WORDS-1). */
#define SIPC_WAIT_WORDS 8

/* ---- errors ---- */
/* Remembers an OS error code (errno / GetLastError) for this thread. */
void sipc_os_record_error(int os_error);
/* Remembers a sentence about the failure being returned, for sipc_last_error_message() (this
 * thread only; printf format). sipc_clear_error_detail() forgets it: every public call that can
 * record one clears it first, so a message never describes an older failure. */
void sipc_record_error_detail(const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
void sipc_clear_error_detail(void);
/* Maps an OS error code to a status: EACCES/EPERM -> PERMISSION, ENOMEM/ENOSPC -> NO_MEMORY,
 * ENOENT -> NOT_FOUND, else SYSTEM. */
int sipc_os_status_from_error(int os_error);

/* ---- clocks ---- */
uint64_t sipc_os_monotonic_ns(void);
uint64_t sipc_os_wall_ns(void); /* Unix epoch */
void sipc_os_sleep_us(uint32_t microseconds);
/* Hint to the CPU inside a spin loop (pause / yield instruction). */
void sipc_os_cpu_relax(void);
/* The number of the CPU the calling thread runs on now, or -1 where the OS cannot say cheaply
 * (macOS). A hint only: the thread may be moved right after. */
int sipc_os_current_cpu(void);
/* Asks the scheduler, once per thread, to run the calling thread promptly when it is woken, in short turns of the same
 * CPU share: a thread that sleeps until a producer wakes it and must then copy before the ring wraps (an observer:
 * a ring of 16 messages holds 160 us at 100k msgs/s). Linux >= 6.12: an EEVDF slice of SIPC_OS_PROMPT_SLICE_NS (sched_setattr's
 * sched_runtime; the default, 0.7-3 ms, lets a woken thread wait that long behind a busy peer on its CPU), the policy,
 * nice and reset-on-fork flag kept; a thread with a slice at least as short, or not SCHED_OTHER, is left alone. Older
 * kernels ignore the field; elsewhere nothing. A hint: failures are ignored. */
#define SIPC_OS_PROMPT_SLICE_NS 100000u
void sipc_os_thread_prefer_prompt_wakeup(void);

/* ---- processes ---- */
/* A process identity that survives pid reuse: the start time distinguishes two processes that
 * had the same pid. start_time is opaque (Linux: clock ticks since boot from /proc/<pid>/stat;
 * Windows: creation FILETIME) and only compared for equality. */
typedef struct sipc_os_process {
    int64_t pid;
    uint64_t start_time;
} sipc_os_process;

/* Identity of the calling process. */
int sipc_os_process_self(sipc_os_process *out);
/* 1 if the process is running (same pid AND same start time), 0 if it is gone, never negative:
 * a process that cannot be examined (e.g. another user's, EPERM) but exists counts as alive. */
int sipc_os_process_alive(const sipc_os_process *process);
/* Fills state, traced and name of `info` for process `pid` (> 0; info zeroed by the caller). Never waits; what
 * it reads of another process is untrusted (the name is sanitised by the caller). */
void sipc_os_process_describe(int64_t pid, sipc_process_info *info);
/* The start time of the running process `pid` (as in sipc_os_process): SIPC_OK; SIPC_ERR_NOT_FOUND when no
 * such process runs (or it is a zombie); another error when it exists but cannot be examined. */
int sipc_os_process_start_time(int64_t pid, uint64_t *start_time);
/* A counter that a fork() child sees incremented (pthread_atfork): a handle that remembers the value
 * of its opener detects that it is used in a forked child. Always 0 where fork does not exist. */
uint32_t sipc_os_fork_generation(void);
/* One process-wide lock for the core's process-global state (the registry of open handles). A
 * forked child never inherits it held. Not reentrant. */
void sipc_os_process_lock(void);
void sipc_os_process_unlock(void);
/* Defined where a segment's name outlives the processes that use it (POSIX shm: the name stays until
 * unlinked), so a process must remove the names it was the last user of before it exits. Windows
 * named objects vanish with their last handle. */
#if !defined(_WIN32)
#define SIPC_OS_NAMES_OUTLIVE_PROCESSES 1
#endif
/* Real user id of the caller (0 on Windows). */
uint32_t sipc_os_current_uid(void);

/* ---- threads, mutexes and condition variables (process-local, never in shared memory) ----
 * The portable code (async.c, channel.c, the CLI) uses only these; POSIX implements them with
 * pthreads, Windows with SRW locks, condition variables and _beginthreadex. */
int sipc_os_mutex_init(sipc_os_mutex *mutex);
void sipc_os_mutex_lock(sipc_os_mutex *mutex);
/* 1 if the mutex was free and is now held by the caller, 0 if another thread holds it. */
int sipc_os_mutex_trylock(sipc_os_mutex *mutex);
void sipc_os_mutex_unlock(sipc_os_mutex *mutex);
void sipc_os_mutex_destroy(sipc_os_mutex *mutex);

int sipc_os_cond_init(sipc_os_cond *cond);
/* Releases the mutex, sleeps until broadcast (or spuriously), takes the mutex again. */
void sipc_os_cond_wait(sipc_os_cond *cond, sipc_os_mutex *mutex);
void sipc_os_cond_broadcast(sipc_os_cond *cond);
void sipc_os_cond_destroy(sipc_os_cond *cond);

/* The thread's body; its return value is discarded. */
typedef void *(*sipc_os_thread_main)(void *arg);
/* Starts a thread running main(arg). SIPC_OK, or an error (recorded) and no thread. */
int sipc_os_thread_create(sipc_os_thread *thread, sipc_os_thread_main main, void *arg);
/* Waits for the thread to end and releases it; once per created thread. */
void sipc_os_thread_join(sipc_os_thread *thread);
/* Joins a thread that may be blocked in a synchronous read nothing else will end (stdin on
 * Windows, where it cannot be polled): cancels that I/O until the thread ends. Where reads can
 * be woken otherwise (POSIX: poll with a wake-up pipe), a plain join. */
void sipc_os_thread_join_cancelling_io(sipc_os_thread *thread);
/* Lets the thread run on by itself: no join; its resources go when it ends. */
void sipc_os_thread_detach(sipc_os_thread *thread);
/* Lets another runnable thread on this CPU go first; returns at once when there is none. */
void sipc_os_thread_yield(void);

/* ---- a wake-up descriptor for an event loop (POSIX) ----
 * A pipe whose read end an event loop watches (Node's libuv reads it on its own thread; a pipe, because Node can
 * watch a pipe or a socket but no eventfd). Both ends are close-on-exec and non-blocking; signalling never waits
 * for the reader, and no user-space lock is shared with it. Windows has no descriptor an event loop watches. */
#if !defined(_WIN32)
#define SIPC_OS_HAS_WAKE_PIPE 1
typedef struct sipc_os_wake_pipe {
    int read_fd;
    int write_fd;
} sipc_os_wake_pipe;
/* Makes the pipe: SIPC_OK, or an error (recorded; EMFILE/ENFILE give NO_MEMORY). */
int sipc_os_wake_pipe_open(sipc_os_wake_pipe *out);
/* Makes the read end readable: writes one byte (a full pipe is readable already). Never waits; async-signal-safe
 * (a signal handler may call it; it may change errno). */
void sipc_os_wake_pipe_signal(const sipc_os_wake_pipe *wake);
/* Reads what the pipe holds, so that it is no longer readable until the next signal. Never waits. */
void sipc_os_wake_pipe_drain(const sipc_os_wake_pipe *wake);
void sipc_os_wake_pipe_close(sipc_os_wake_pipe *wake);
#endif

/* ---- shared-memory segments ---- */
typedef struct sipc_os_segment sipc_os_segment; /* opaque, one per open of a key */

#define SIPC_OS_SEG_CREATE 0x1u   /* create exclusively: SIPC_ERR_BUSY-free, fails with EEXIST -> status below */
#define SIPC_OS_SEG_READONLY 0x2u /* open for reading only (observers, stat, list) */
#define SIPC_OS_SEG_INHERIT 0x4u  /* let child processes inherit the handle (else close-on-exec) */
#define SIPC_OS_SEG_GLOBAL 0x8u   /* Windows: the Global\ namespace (SIPC_OPEN_GLOBAL); ignored elsewhere */

/* Status returned by sipc_os_segment_open with SIPC_OS_SEG_CREATE when the key already exists. */
#define SIPC_OS_EXISTS 1

/* Deadlines are sipc_os_monotonic_ns() values; this one never comes. */
#define SIPC_OS_NO_DEADLINE UINT64_MAX

/* Opens (or with SIPC_OS_SEG_CREATE, exclusively creates with exactly `mode` permission bits,
 * regardless of umask, and size 0) the segment named by key. Never blocks on the object itself:
 * whatever the name leads to that is not a plain shared-memory object (a FIFO, a device, a
 * directory, a symbolic link) gives SIPC_ERR_NOT_A_CHANNEL with a detail message. Where opening
 * takes a lock (Windows) it waits at most until `deadline` (SIPC_ERR_TIMEOUT).
 * Returns SIPC_OK, SIPC_OS_EXISTS (create only), SIPC_ERR_NOT_FOUND, or an error. */
int sipc_os_segment_open(const char *key, uint32_t flags, uint32_t mode, uint64_t deadline, sipc_os_segment **out);
/* Closes the handle (does not unmap views, does not unlink). */
void sipc_os_segment_close(sipc_os_segment *segment);
/* Serialises what the OS's own objects need around open/close/reinitialisation, where they need it
 * (Windows: the key mutex guards generations and sections). Linux and macOS need none (a no-op): the
 * open-time lock is the header's lock word (layout.h, sipc_segment_lock), which only a process that can
 * write the segment can hold. Waits at most until `deadline` (SIPC_ERR_TIMEOUT). */
int sipc_os_segment_lock(sipc_os_segment *segment, uint64_t deadline);
void sipc_os_segment_unlock(sipc_os_segment *segment);
/* 1 if process `pid` has the segment's object mapped, 0 if it is known not to (its mappings could be read
 * and none is of this object), -1 if that cannot be told (another user's process, no such interface). The
 * holder of a lock word always has the segment mapped: a word naming a process that has not is forged. */
int sipc_os_segment_mapped_by(sipc_os_segment *segment, int64_t pid);
/* 1 if the handle still refers to the object currently reachable by its key (not unlinked and not
 * replaced), 0 if not, negative on error. */
int sipc_os_segment_is_current(sipc_os_segment *segment);
/* Where the OS gives a shared-memory object no identity that tells it from the next object of the same name
 * (macOS: fstat of a shm descriptor has no device or inode), the platform writes one into the object itself: a
 * random instance id of SIPC_OS_INSTANCE_SIZE bytes at SIPC_OS_INSTANCE_OFFSET, as soon as the creator has sized
 * it (sipc_os_segment_resize), which is_current compares. The bytes are reserved for it in the header (layout.h);
 * elsewhere they stay 0. */
#define SIPC_OS_INSTANCE_OFFSET 640u
#define SIPC_OS_INSTANCE_SIZE 16u
/* Current size of the object in bytes. */
int sipc_os_segment_size(sipc_os_segment *segment, uint64_t *size);
/* Sets the size (creator only, before anyone maps it), with every byte reserved: SIPC_ERR_NO_MEMORY
 * (with a detail message saying what was needed and what is free) when the shared-memory file system
 * is full, never a SIGBUS later. Where objects carry an instance id (above), it writes it. */
int sipc_os_segment_resize(sipc_os_segment *segment, uint64_t size);
/* Makes sure the first `size` bytes of the object are backed by memory (an opener of a segment that
 * another implementation created sparse); SIPC_ERR_NO_MEMORY as above. Read-write segments only. */
int sipc_os_segment_reserve(sipc_os_segment *segment, uint64_t size);
/* Permission bits and owner of the object (0600 / current uid where the OS has no such notion). */
int sipc_os_segment_owner(sipc_os_segment *segment, uint32_t *mode, uint32_t *uid);
/* Maps the first `size` bytes; read-write unless the segment was opened SIPC_OS_SEG_READONLY. */
int sipc_os_segment_map(sipc_os_segment *segment, uint64_t size, void **base);
void sipc_os_segment_unmap(sipc_os_segment *segment, void *base, uint64_t size);
/* Removes the key so later opens do not find this object (existing handles keep working).
 * SIPC_ERR_NOT_FOUND if the key does not exist. Where removing takes the key's lock (Windows), it waits
 * for it until `deadline` at most (SIPC_ERR_TIMEOUT). */
int sipc_os_segment_unlink(const char *key, uint64_t deadline);
/* Calls visit with every existing key that starts with SIPC_OS_KEY_PREFIX; stops when visit
 * returns non-zero (and returns that value). */
typedef int (*sipc_os_key_visitor)(const char *key, void *user);
int sipc_os_segment_list(sipc_os_key_visitor visit, void *user);

/* ---- noticing that keys appear or vanish ----
 * A monitor lets one thread sleep until a key starting with SIPC_OS_KEY_PREFIX may have been created,
 * removed or rewritten (Linux: inotify on /dev/shm). Where the OS offers no such notice, wait only
 * ever times out and the caller compares listings itself. */
typedef struct sipc_os_key_monitor sipc_os_key_monitor;
int sipc_os_key_monitor_open(sipc_os_key_monitor **out);
/* SIPC_OK: something may have changed (spurious reports are allowed); SIPC_ERR_TIMEOUT: nothing
 * reported within timeout_ms; SIPC_ERR_CANCELLED: interrupted (sticky: every later wait says so). */
int sipc_os_key_monitor_wait(sipc_os_key_monitor *monitor, int32_t timeout_ms);
/* Wakes the waiting thread with SIPC_ERR_CANCELLED. Callable from any thread. */
void sipc_os_key_monitor_interrupt(sipc_os_key_monitor *monitor);
/* 1 where the monitor reports changes (Linux: inotify on /dev/shm); 0 where its wait only times out. */
#if defined(__linux__)
#define SIPC_OS_KEY_MONITOR_REPORTS 1
#else
#define SIPC_OS_KEY_MONITOR_REPORTS 0
#endif
void sipc_os_key_monitor_close(sipc_os_key_monitor *monitor);

/* ---- liveness tokens ----
 * A role holder holds token <role index> through its own handle of the segment. The token goes away
 * with the last copy of that handle: at close, when the process ends, and at exec() (the handle is
 * close-on-exec unless SIPC_OS_SEG_INHERIT), so a peer can tell a process that exec()ed another
 * program (same pid, same start time) from the one that attached. Linux: an open-file-description
 * read lock on byte 2^40 + index (fcntl F_OFD_SETLK), tested with F_OFD_GETLK. */
#define SIPC_OS_TOKENS 2u
/* 1 if this handle now holds the token, 0 if the platform has no tokens (or could not take it). */
int sipc_os_segment_hold_token(sipc_os_segment *segment, uint32_t index);
/* 1 if some handle of the object holds token `index`, 0 if none does, -1 if it cannot be told. */
int sipc_os_segment_token_held(sipc_os_segment *segment, uint32_t index);

/* ---- waiting on a 32-bit word in a segment ---- */
/* Sleeps while *word == expected, at most timeout_ms (SIPC_INFINITE: no limit).
 * Returns SIPC_OK when woken or when *word != expected (spurious wake-ups are allowed),
 * SIPC_ERR_TIMEOUT when the time ran out. `word` is the address of wait word `index` in the
 * mapping `base` of `segment`. */
int sipc_os_wait(sipc_os_segment *segment, uint32_t index, uint32_t *word, uint32_t expected, int32_t timeout_ms);
/* Wakes every waiter of wait word `index`. Async-signal-safe. */
void sipc_os_wake(sipc_os_segment *segment, uint32_t index, uint32_t *word);

/* ---- optional: a thread that reports the death of a watched process at once ----
 * Platforms that define SIPC_OS_HAS_PROCESS_WATCHER implement these; elsewhere blocked calls
 * check the peer's liveness every 100 ms instead. */
#if defined(__linux__) || defined(__APPLE__) || defined(_WIN32)
#define SIPC_OS_HAS_PROCESS_WATCHER 1
#endif
#if defined(SIPC_OS_HAS_PROCESS_WATCHER)
typedef struct sipc_os_watcher sipc_os_watcher;
/* Called on the watcher's thread when the watched process exits; token is what watch() was given. */
typedef void (*sipc_os_death_callback)(void *user, uint32_t token);
int sipc_os_watcher_start(sipc_os_death_callback callback, void *user, sipc_os_watcher **out);
/* Watches `process` from now on (replacing the previous one). SIPC_OK: the callback will run when
 * it exits; SIPC_ERR_NOT_FOUND: it is already gone (no callback); other errors: not watched. */
int sipc_os_watcher_watch(sipc_os_watcher *watcher, const sipc_os_process *process, uint32_t token);
/* Also reports the death (as above) when liveness token `token_index` of `segment` is no longer held
 * (the process exec()ed), looked at every SIPC_OS_TOKEN_POLL_MS while watched. Call after watch();
 * the segment must outlive the watch. Where tokens do not exist, nothing to do. */
#define SIPC_OS_TOKEN_POLL_MS 250
void sipc_os_watcher_watch_token(sipc_os_watcher *watcher, sipc_os_segment *segment, uint32_t token_index);
/* Stops and joins the thread; no callback runs after it returns. */
void sipc_os_watcher_stop(sipc_os_watcher *watcher);
/* In a forked child, where the thread does not exist: frees what the child inherited (file
 * descriptors, memory) without signalling or joining the parent's thread. NULL is fine. */
void sipc_os_watcher_abandon(sipc_os_watcher *watcher);
#endif

#endif /* SIPC_PLATFORM_H */
