/*
 * sipc against other IPC libraries in the layout of `sipc bench` (helper/cli/bench.c): two
 * processes (fork), a ping-pong for round-trip latency and a one-way stream for throughput, each
 * figure measured unpinned, with both processes on one CPU and on two CPUs, runs as the outer
 * loop, medians over the runs. On top of `sipc bench` it records the CPU time each side burns
 * per message, so waiting by spinning shows up as a cost.
 *
 * Every transport copies the sender's bytes into shared memory; the copying transports (sipc,
 * Boost, POSIX mq) also copy them out on receipt, iceoryx2 hands the receiver a pointer into
 * shared memory (its zero-copy design). An echo sends back the bytes it received.
 *
 * Output: JSON (test/bench/peers.mjs renders the tables). Progress goes to stderr.
 *   peers-bench [--quick] [--runs N] [--only NAME,NAME...]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "peers.h"

#include "bench_stats.h" /* helper/cli: statistics and pinning shared with sipc bench */

#include <sipc.h>

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_DEPTH 8u /* as in sipc bench */
#define CALL_TIMEOUT_MS 10000u
#define MAX_RUNS 20
#define MIN_SAMPLES 20
/* Control messages are shorter than every measured size, so an echo or a sink tells them apart. */
#define STOP_LENGTH 1u /* echo: leave; sink: the acknowledgement; both: the parent's "done" */
#define MARK_LENGTH 2u /* echo: warm-up is over, start counting CPU time (echoed back) */
#define READY_LENGTH 3u /* child to parent: the endpoint is open */

typedef enum transport {
    T_SIPC,
    T_SIPC_NO_SPIN,
    T_SIPC_POLL,
    T_IOX_BUSY,
    T_IOX_EVENT,
    T_BOOST,
    T_POSIX_MQ,
    T_COUNT
} transport;

static const struct {
    const char *name;
    const char *how;
} transport_info[T_COUNT] = {
    {"sipc", "sipc_send/sipc_recv with their default waiting: a short adaptive spin while the peer runs, then a futex"},
    {"sipc-nospin", "sipc opened with SIPC_OPEN_NO_SPIN: every wait sleeps in the futex at once"},
    {"sipc-poll", "sipc_send/sipc_recv with timeout 0 called in a loop (busy waiting)"},
    {"iceoryx2-busy", "iceoryx2 publish-subscribe, the subscriber polled in a loop (busy waiting, its published method)"},
    {"iceoryx2-event", "iceoryx2 publish-subscribe plus an event service: the receiver sleeps in a Listener wait"},
    {"boost-mq", "Boost.Interprocess message_queue, one queue per direction (timed_send/timed_receive)"},
    {"posix-mq", "POSIX message queues, one per direction (mq_timedsend/mq_timedreceive)"},
};

typedef struct config {
    unsigned runs;
    unsigned scale_divisor;
    double rtt_budget_s; /* a round-trip figure stops sampling after this long (busy waiting on one CPU is slow) */
    bool selected[T_COUNT];
    bench_cpus cpus;
} config;

/* One figure, per run, then the medians over the runs. */
typedef struct figure {
    unsigned runs;
    double value[MAX_RUNS];      /* RTT: median µs; throughput: GB/s */
    double p99[MAX_RUNS];        /* RTT only */
    double parent_cpu[MAX_RUNS]; /* µs of CPU per round trip / per message */
    double child_cpu[MAX_RUNS];
    double samples[MAX_RUNS];    /* round trips timed / messages sent */
    uint32_t depth;              /* queue depth the transport was given */
} figure;

static figure rtt_figures[T_COUNT][RTT_SIZE_COUNT][AFFINITY_COUNT];
static figure throughput_figures[T_COUNT][THROUGHPUT_SIZE_COUNT][AFFINITY_COUNT];
static char transport_error[T_COUNT][256]; /* the first failure of each transport */
static unsigned failures[T_COUNT];
static unsigned pair_counter;
static char *payload;

/* ---- clocks and statistics ---- */

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of the whole process (all threads), user + system. */
static double process_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double median_of(const double *values, unsigned count)
{
    double copy[MAX_RUNS];
    memcpy(copy, values, count * sizeof *values);
    return bench_percentile(copy, count, 0.5);
}

/* ---- one side of a transport ---- */

typedef struct pair_spec {
    transport kind;
    char name[64]; /* sipc channel, iceoryx2 service prefix, Boost queue prefix */
    char mq_names[2][72]; /* POSIX mq: parent-to-child, child-to-parent */
    uint32_t max_size;
    uint32_t depth; /* QUEUE_DEPTH, or less where the POSIX mq quota forces it */
} pair_spec;

typedef struct endpoint {
    transport kind;
    sipc_channel *channel;
    void *boost;
    peers_iox_endpoint *iox;
    mqd_t mq_out, mq_in;
    char *buffer; /* receive buffer of the copying transports */
    size_t capacity;
} endpoint;

static void fail(transport kind, const char *format, const char *detail)
{
    failures[kind]++;
    if (transport_error[kind][0] == '\0')
        snprintf(transport_error[kind], sizeof transport_error[kind], format, detail);
}

static struct timespec realtime_deadline(uint32_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* The kernel charges a POSIX queue about maxmsg × (msgsize + its bookkeeping) against the user's
 * RLIMIT_MSGQUEUE (800 KiB by default; only CAP_SYS_RESOURCE raises it), so two queues of 8 × 64 KiB
 * may not fit. posix-mq then gets the deepest queue that does (reported with the figure): a round
 * trip never has more than one message in flight, only throughput can feel it. 0: not even one. */
static uint32_t mq_depth_for(uint32_t msgsize)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_MSGQUEUE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return QUEUE_DEPTH;
    uint64_t per_message = (uint64_t)msgsize + 128u; /* struct msg_msg and the priority tree node, rounded up */
    uint64_t depth = (uint64_t)limit.rlim_cur / 2u / per_message;
    return depth < QUEUE_DEPTH ? (uint32_t)depth : QUEUE_DEPTH;
}

/* Before the fork: the objects that one side must create before either side opens. */
static bool spec_prepare(pair_spec *spec, char *error, size_t error_capacity)
{
    if (spec->kind == T_BOOST) {
#ifdef PEERS_HAVE_BOOST
        return peers_boost_create(spec->name, spec->max_size, spec->depth, error, error_capacity) == 0;
#else
        snprintf(error, error_capacity, "not built");
        return false;
#endif
    }
    if (spec->kind == T_POSIX_MQ) {
        spec->depth = mq_depth_for(spec->max_size);
        if (spec->depth == 0) {
            struct rlimit limit;
            getrlimit(RLIMIT_MSGQUEUE, &limit);
            snprintf(error, error_capacity,
                     "two queues of %u-byte messages exceed the per-user POSIX mq quota (RLIMIT_MSGQUEUE %llu "
                     "bytes; raising it needs CAP_SYS_RESOURCE)",
                     spec->max_size, (unsigned long long)limit.rlim_cur);
            return false;
        }
        struct mq_attr attr = {.mq_maxmsg = spec->depth, .mq_msgsize = spec->max_size};
        for (int i = 0; i < 2; i++) {
            mq_unlink(spec->mq_names[i]);
            mqd_t queue = mq_open(spec->mq_names[i], O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
            if (queue == (mqd_t)-1) {
                int why = errno;
                long limit = -1;
                FILE *file = fopen("/proc/sys/fs/mqueue/msgsize_max", "r");
                if (file) {
                    if (fscanf(file, "%ld", &limit) != 1) limit = -1;
                    fclose(file);
                }
                if (why == EINVAL && limit >= 0 && spec->max_size > (unsigned long)limit)
                    snprintf(error, error_capacity,
                             "messages above fs.mqueue.msgsize_max (%ld bytes) need that sysctl raised or "
                             "CAP_SYS_RESOURCE", limit);
                else
                    snprintf(error, error_capacity, "mq_open(msgsize %u, maxmsg %u): %s", spec->max_size,
                             spec->depth, strerror(why));
                if (i == 1) mq_unlink(spec->mq_names[0]);
                return false;
            }
            mq_close(queue);
        }
    }
    return true;
}

/* After both sides are gone. */
static void spec_cleanup(const pair_spec *spec)
{
    switch (spec->kind) {
    case T_SIPC:
    case T_SIPC_NO_SPIN:
    case T_SIPC_POLL:
        sipc_remove(spec->name, 1);
        break;
    case T_BOOST:
#ifdef PEERS_HAVE_BOOST
        peers_boost_remove(spec->name);
#endif
        break;
    case T_POSIX_MQ:
        mq_unlink(spec->mq_names[0]);
        mq_unlink(spec->mq_names[1]);
        break;
    default:
        break; /* iceoryx2: the last port to close removes the service */
    }
}

static bool endpoint_open(endpoint *end, const pair_spec *spec, bool is_parent, char *error, size_t error_capacity)
{
    memset(end, 0, sizeof *end);
    end->kind = spec->kind;
    end->mq_out = end->mq_in = (mqd_t)-1;
    error[0] = '\0';
    if (spec->kind != T_IOX_BUSY && spec->kind != T_IOX_EVENT) {
        end->capacity = spec->max_size;
        end->buffer = malloc(end->capacity);
        if (!end->buffer) {
            snprintf(error, error_capacity, "out of memory");
            return false;
        }
        memset(end->buffer, 0, end->capacity);
    }
    switch (spec->kind) {
    case T_SIPC:
    case T_SIPC_NO_SPIN:
    case T_SIPC_POLL: {
        sipc_options options;
        sipc_options_init(&options);
        options.max_message_size = spec->max_size;
        options.queue_depth = spec->depth;
        if (spec->kind == T_SIPC_NO_SPIN) options.flags |= SIPC_OPEN_NO_SPIN;
        int status = sipc_open(spec->name, &options, &end->channel);
        if (status == SIPC_OK) status = sipc_connect(end->channel, CALL_TIMEOUT_MS);
        if (status != SIPC_OK) snprintf(error, error_capacity, "sipc %s: %s", spec->name, sipc_strerror(status));
        return status == SIPC_OK;
    }
    case T_IOX_BUSY:
    case T_IOX_EVENT:
#ifdef PEERS_HAVE_ICEORYX2
        end->iox = peers_iox_open(spec->name, is_parent, spec->max_size, spec->depth, spec->kind == T_IOX_EVENT,
                                  CALL_TIMEOUT_MS, error, error_capacity);
        return end->iox != NULL;
#else
        snprintf(error, error_capacity, "not built");
        return false;
#endif
    case T_BOOST:
#ifdef PEERS_HAVE_BOOST
        end->boost = peers_boost_open(spec->name, is_parent, error, error_capacity);
        return end->boost != NULL;
#else
        snprintf(error, error_capacity, "not built");
        return false;
#endif
    case T_POSIX_MQ:
        end->mq_out = mq_open(spec->mq_names[is_parent ? 0 : 1], O_WRONLY | O_CLOEXEC);
        end->mq_in = mq_open(spec->mq_names[is_parent ? 1 : 0], O_RDONLY | O_CLOEXEC);
        if (end->mq_out == (mqd_t)-1 || end->mq_in == (mqd_t)-1) {
            snprintf(error, error_capacity, "mq_open: %s", strerror(errno));
            return false;
        }
        return true;
    default:
        return false;
    }
}

static void endpoint_close(endpoint *end)
{
    if (end->channel) sipc_close(end->channel);
#ifdef PEERS_HAVE_ICEORYX2
    if (end->iox) peers_iox_close(end->iox);
#endif
#ifdef PEERS_HAVE_BOOST
    if (end->boost) peers_boost_close(end->boost);
#endif
    if (end->mq_out != (mqd_t)-1) mq_close(end->mq_out);
    if (end->mq_in != (mqd_t)-1) mq_close(end->mq_in);
    free(end->buffer);
    memset(end, 0, sizeof *end);
    end->mq_out = end->mq_in = (mqd_t)-1;
}

static bool endpoint_send(endpoint *end, const void *data, size_t length)
{
    switch (end->kind) {
    case T_SIPC:
    case T_SIPC_NO_SPIN:
        return sipc_send(end->channel, data, length, CALL_TIMEOUT_MS) == SIPC_OK;
    case T_SIPC_POLL: {
        uint64_t deadline = monotonic_ns() + (uint64_t)CALL_TIMEOUT_MS * 1000000u;
        for (unsigned polls = 1;; polls++) {
            int status = sipc_send(end->channel, data, length, 0);
            if (status != SIPC_ERR_TIMEOUT) return status == SIPC_OK;
            if (polls % 1024 == 0 && monotonic_ns() >= deadline) return false;
        }
    }
#ifdef PEERS_HAVE_ICEORYX2
    case T_IOX_BUSY:
    case T_IOX_EVENT:
        return peers_iox_send(end->iox, data, length) == 0;
#endif
#ifdef PEERS_HAVE_BOOST
    case T_BOOST:
        return peers_boost_send(end->boost, data, length, CALL_TIMEOUT_MS) == 0;
#endif
    case T_POSIX_MQ: {
        struct timespec deadline = realtime_deadline(CALL_TIMEOUT_MS);
        for (;;) {
            if (mq_timedsend(end->mq_out, data, length, 0, &deadline) == 0) return true;
            if (errno != EINTR) return false;
        }
    }
    default:
        return false;
    }
}

/* On success *data points at the message: the endpoint's buffer, or shared memory (iceoryx2). */
static bool endpoint_recv(endpoint *end, const void **data, size_t *length)
{
    *data = end->buffer;
    switch (end->kind) {
    case T_SIPC:
    case T_SIPC_NO_SPIN:
        return sipc_recv(end->channel, end->buffer, end->capacity, length, CALL_TIMEOUT_MS) == SIPC_OK;
    case T_SIPC_POLL: {
        uint64_t deadline = monotonic_ns() + (uint64_t)CALL_TIMEOUT_MS * 1000000u;
        for (unsigned polls = 1;; polls++) {
            int status = sipc_recv(end->channel, end->buffer, end->capacity, length, 0);
            if (status != SIPC_ERR_TIMEOUT) return status == SIPC_OK;
            if (polls % 1024 == 0 && monotonic_ns() >= deadline) return false;
        }
    }
#ifdef PEERS_HAVE_ICEORYX2
    case T_IOX_BUSY:
    case T_IOX_EVENT: {
        const uint8_t *bytes = NULL;
        if (peers_iox_recv(end->iox, &bytes, length, CALL_TIMEOUT_MS) != 0) return false;
        *data = bytes;
        return true;
    }
#endif
#ifdef PEERS_HAVE_BOOST
    case T_BOOST:
        return peers_boost_recv(end->boost, end->buffer, end->capacity, length, CALL_TIMEOUT_MS) == 0;
#endif
    case T_POSIX_MQ: {
        struct timespec deadline = realtime_deadline(CALL_TIMEOUT_MS);
        for (;;) {
            ssize_t got = mq_timedreceive(end->mq_in, end->buffer, end->capacity, NULL, &deadline);
            if (got >= 0) {
                *length = (size_t)got;
                return true;
            }
            if (errno != EINTR) return false;
        }
    }
    default:
        return false;
    }
}

static bool recv_length(endpoint *end, size_t expected)
{
    const void *data = NULL;
    size_t length = 0;
    return endpoint_recv(end, &data, &length) && length == expected;
}

/* ---- the two processes ---- */

typedef enum job { JOB_ECHO, JOB_SINK } job;

/* What the child reports through a pipe when its part is done. */
typedef struct child_report {
    double cpu_us;
    uint64_t messages;
    char error[200];
} child_report;

typedef struct pair {
    pair_spec spec;
    endpoint parent;
    pid_t pid;
    int report_fd;
} pair;

static void report_and_exit(int fd, const child_report *report, int code)
{
    ssize_t written = write(fd, report, sizeof *report);
    _exit(written == (ssize_t)sizeof *report ? code : 9);
}

static void child_main(const pair_spec *spec, job work, uint64_t count, int cpu, int report_fd)
{
    if (cpu >= 0) bench_pin_to(cpu);
    child_report report = {0};
    endpoint end;
    if (!endpoint_open(&end, spec, false, report.error, sizeof report.error)) report_and_exit(report_fd, &report, 3);
    char ready[READY_LENGTH] = {0};
    if (!endpoint_send(&end, ready, sizeof ready)) {
        snprintf(report.error, sizeof report.error, "child: send ready failed");
        report_and_exit(report_fd, &report, 4);
    }
    const void *data = NULL;
    size_t length = 0;
    double cpu_start = process_cpu_us();
    if (work == JOB_ECHO) {
        /* Echo every message; a mark starts the CPU count, a stop ends the loop. */
        for (;;) {
            if (!endpoint_recv(&end, &data, &length)) {
                snprintf(report.error, sizeof report.error, "child: echo recv failed");
                report_and_exit(report_fd, &report, 5);
            }
            if (length == STOP_LENGTH) break;
            if (length == MARK_LENGTH) {
                cpu_start = process_cpu_us();
                report.messages = 0;
            } else {
                report.messages++;
            }
            if (!endpoint_send(&end, data, length)) {
                snprintf(report.error, sizeof report.error, "child: echo send failed");
                report_and_exit(report_fd, &report, 6);
            }
        }
        report.cpu_us = process_cpu_us() - cpu_start;
    } else {
        for (uint64_t i = 0; i < count; i++) {
            if (!endpoint_recv(&end, &data, &length) || length == STOP_LENGTH) {
                snprintf(report.error, sizeof report.error, "child: sink recv failed");
                report_and_exit(report_fd, &report, 7);
            }
            if (i == 0) cpu_start = process_cpu_us(); /* the first message's wait is set-up time */
            report.messages++;
        }
        report.cpu_us = process_cpu_us() - cpu_start;
        char ack[STOP_LENGTH] = {0};
        if (!endpoint_send(&end, ack, sizeof ack)) {
            snprintf(report.error, sizeof report.error, "child: send ack failed");
            report_and_exit(report_fd, &report, 8);
        }
        /* Stay until the parent has its acknowledgement, so it never sees us leave early. */
        recv_length(&end, STOP_LENGTH);
    }
    endpoint_close(&end);
    report_and_exit(report_fd, &report, 0);
}

static bool pair_start(pair *p, transport kind, uint32_t size, job work, uint64_t count, int child_cpu)
{
    memset(p, 0, sizeof *p);
    p->spec.kind = kind;
    p->spec.max_size = size;
    p->spec.depth = QUEUE_DEPTH;
    snprintf(p->spec.name, sizeof p->spec.name, "sipc-peers-%ld-%u", (long)getpid(), pair_counter++);
    snprintf(p->spec.mq_names[0], sizeof p->spec.mq_names[0], "/%s-ping", p->spec.name);
    snprintf(p->spec.mq_names[1], sizeof p->spec.mq_names[1], "/%s-pong", p->spec.name);
    char error[256];
    if (!spec_prepare(&p->spec, error, sizeof error)) {
        fail(kind, "%s", error);
        return false;
    }
    int report_pipe[2];
    if (pipe2(report_pipe, O_CLOEXEC) != 0) {
        spec_cleanup(&p->spec);
        fail(kind, "pipe: %s", strerror(errno));
        return false;
    }
    fflush(NULL);
    p->pid = fork();
    if (p->pid == 0) {
        close(report_pipe[0]);
        child_main(&p->spec, work, count, child_cpu, report_pipe[1]);
    }
    close(report_pipe[1]);
    p->report_fd = report_pipe[0];
    if (p->pid < 0) {
        close(p->report_fd);
        spec_cleanup(&p->spec);
        fail(kind, "fork: %s", strerror(errno));
        return false;
    }
    bool ok = endpoint_open(&p->parent, &p->spec, true, error, sizeof error);
    if (!ok) fail(kind, "%s", error);
    else if (!(ok = recv_length(&p->parent, READY_LENGTH))) fail(kind, "%s", "the child never became ready");
    if (!ok) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        endpoint_close(&p->parent);
        close(p->report_fd);
        spec_cleanup(&p->spec);
    }
    return ok;
}

/* Collects the child's report and exit; on !ok the child is killed first. */
static bool pair_finish(pair *p, bool ok, child_report *report)
{
    memset(report, 0, sizeof *report);
    if (ok) {
        ssize_t got = read(p->report_fd, report, sizeof *report);
        ok = got == (ssize_t)sizeof *report;
    }
    if (!ok) kill(p->pid, SIGKILL);
    int status = 0;
    waitpid(p->pid, &status, 0);
    endpoint_close(&p->parent);
    close(p->report_fd);
    spec_cleanup(&p->spec);
    bool clean = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!clean) {
        if (report->error[0]) fail(p->spec.kind, "%s", report->error);
        else fail(p->spec.kind, "%s", "the measurement failed (timeout or lost message)");
    }
    return clean;
}

/* ---- affinity (as in sipc bench) ---- */

/* ---- measurements ---- */

static uint64_t rtt_iterations(const config *cfg, uint32_t size)
{
    uint64_t iterations = size <= 4 * KIB ? 2000 : size <= 64 * KIB ? 600 : 60; /* as in sipc bench */
    iterations /= cfg->scale_divisor;
    return iterations < MIN_SAMPLES ? MIN_SAMPLES : iterations;
}

static void measure_rtt(const config *cfg, transport kind, size_t size_index, affinity mode)
{
    uint32_t size = rtt_sizes[size_index];
    int child_cpu = bench_cpus_apply(&cfg->cpus, mode);
    pair p;
    if (!pair_start(&p, kind, size, JOB_ECHO, 0, child_cpu)) return;
    uint64_t iterations = rtt_iterations(cfg, size);
    uint64_t warmup = iterations / 10 + 2;
    double *samples = malloc(iterations * sizeof *samples);
    bool ok = samples != NULL;
    /* Both loops also stop on a time budget: two processes busy waiting on one CPU hand over
     * only when the scheduler preempts one, milliseconds per trip. */
    uint64_t budget_ns = (uint64_t)(cfg->rtt_budget_s * 1e9);
    uint64_t warmup_end = monotonic_ns() + budget_ns / 10;
    for (uint64_t i = 0; ok && i < warmup && (i < 2 || monotonic_ns() < warmup_end); i++)
        ok = endpoint_send(&p.parent, payload, size) && recv_length(&p.parent, size);
    char mark[MARK_LENGTH] = {0};
    ok = ok && endpoint_send(&p.parent, mark, sizeof mark) && recv_length(&p.parent, MARK_LENGTH);
    uint64_t timed = 0;
    double cpu_start = process_cpu_us();
    uint64_t sampling_end = monotonic_ns() + budget_ns;
    while (ok && timed < iterations) {
        uint64_t start = monotonic_ns();
        ok = endpoint_send(&p.parent, payload, size) && recv_length(&p.parent, size);
        uint64_t end = monotonic_ns();
        samples[timed++] = (double)(end - start) / 1e3;
        if (timed >= MIN_SAMPLES && end >= sampling_end) break;
    }
    double parent_cpu = process_cpu_us() - cpu_start;
    char stop[STOP_LENGTH] = {0};
    ok = ok && endpoint_send(&p.parent, stop, sizeof stop);
    child_report report;
    ok = pair_finish(&p, ok, &report) && report.messages == timed && timed > 0;
    if (ok) {
        figure *f = &rtt_figures[kind][size_index][mode];
        unsigned run = f->runs++;
        f->value[run] = bench_percentile(samples, timed, 0.5);
        f->p99[run] = bench_percentile(samples, timed, 0.99);
        f->parent_cpu[run] = parent_cpu / (double)timed;
        f->child_cpu[run] = report.cpu_us / (double)timed;
        f->samples[run] = (double)timed;
        f->depth = p.spec.depth;
    }
    free(samples);
    bench_cpus_restore(&cfg->cpus);
}

static void measure_throughput(const config *cfg, transport kind, size_t size_index, affinity mode)
{
    uint32_t size = throughput_sizes[size_index];
    int child_cpu = bench_cpus_apply(&cfg->cpus, mode);
    uint64_t total = (size >= MIB ? 128ull : 96ull) * MIB / cfg->scale_divisor; /* as in sipc bench */
    uint64_t count = total / size < 8 ? 8 : total / size;
    pair p;
    if (!pair_start(&p, kind, size, JOB_SINK, count, child_cpu)) return;
    double cpu_start = process_cpu_us();
    uint64_t start = monotonic_ns();
    bool ok = true;
    for (uint64_t i = 0; ok && i < count; i++) ok = endpoint_send(&p.parent, payload, size);
    ok = ok && recv_length(&p.parent, STOP_LENGTH);
    uint64_t end = monotonic_ns();
    double parent_cpu = process_cpu_us() - cpu_start;
    char done[STOP_LENGTH] = {0};
    ok = ok && endpoint_send(&p.parent, done, sizeof done);
    child_report report;
    ok = pair_finish(&p, ok, &report) && report.messages == count;
    if (ok) {
        figure *f = &throughput_figures[kind][size_index][mode];
        unsigned run = f->runs++;
        f->value[run] = (double)(count * size) / (double)(end - start);
        f->parent_cpu[run] = parent_cpu / (double)count;
        f->child_cpu[run] = report.cpu_us / (double)count;
        f->samples[run] = (double)count;
        f->depth = p.spec.depth;
    }
    bench_cpus_restore(&cfg->cpus);
}

/* ---- output ---- */

static void json_string(FILE *out, const char *text)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\') fprintf(out, "\\%c", *c);
        else if (*c < 0x20) fprintf(out, "\\u%04x", *c);
        else fputc(*c, out);
    }
    fputc('"', out);
}

static bool transport_built(transport kind)
{
    switch (kind) {
    case T_IOX_BUSY:
    case T_IOX_EVENT:
#ifdef PEERS_HAVE_ICEORYX2
        return true;
#else
        return false;
#endif
    case T_BOOST:
#ifdef PEERS_HAVE_BOOST
        return true;
#else
        return false;
#endif
    default:
        return true;
    }
}

static void write_figures(FILE *out, const char *key, const figure (*figures)[AFFINITY_COUNT], const uint32_t *sizes,
                          size_t size_count, transport kind, bool rtt, bool *first)
{
    for (size_t s = 0; s < size_count; s++)
        for (int a = 0; a < AFFINITY_COUNT; a++) {
            const figure *f = &figures[s][a];
            if (f->runs == 0) continue;
            fprintf(out, "%s\n {\"transport\":\"%s\",\"size\":%u,\"affinity\":\"%s\",\"%s\":%.4f,", *first ? "" : ",",
                    transport_info[kind].name, sizes[s], affinity_names[a], key, median_of(f->value, f->runs));
            if (rtt) fprintf(out, "\"p99Us\":%.4f,", median_of(f->p99, f->runs));
            fprintf(out, "\"parentCpuUs\":%.4f,\"childCpuUs\":%.4f,\"samples\":%.0f,\"queueDepth\":%u,\"runs\":[",
                    median_of(f->parent_cpu, f->runs), median_of(f->child_cpu, f->runs), median_of(f->samples, f->runs),
                    f->depth);
            for (unsigned r = 0; r < f->runs; r++) fprintf(out, "%s%.4f", r ? "," : "", f->value[r]);
            fputs("]}", out);
            *first = false;
        }
}

static void write_json(FILE *out, const config *cfg, double elapsed)
{
    fprintf(out, "{\"tool\":\"sipc peers bench\",\"library\":\"%s\",\"cpus\":%ld,\"runs\":%u,\"quick\":%s,"
                 "\"queueDepth\":%u,\"elapsedSeconds\":%.2f,\"affinities\":[",
            sipc_version(), sysconf(_SC_NPROCESSORS_ONLN), cfg->runs, cfg->scale_divisor > 1 ? "true" : "false",
            QUEUE_DEPTH, elapsed);
    bool first = true;
    for (int a = 0; a < AFFINITY_COUNT; a++) {
        if (!cfg->cpus.available[a]) continue;
        fprintf(out, "%s\"%s\"", first ? "" : ",", affinity_names[a]);
        first = false;
    }
    fputs("],\n\"transports\":[", out);
    for (int t = 0; t < T_COUNT; t++) {
        fprintf(out, "%s\n {\"name\":\"%s\",\"how\":", t ? "," : "", transport_info[t].name);
        json_string(out, transport_info[t].how);
        fprintf(out, ",\"built\":%s,\"selected\":%s,\"failures\":%u,\"error\":", transport_built((transport)t) ? "true" : "false",
                cfg->selected[t] ? "true" : "false", failures[t]);
        json_string(out, transport_error[t]);
        fputc('}', out);
    }
    fputs("],\n\"rtt\":[", out);
    first = true;
    for (int t = 0; t < T_COUNT; t++)
        write_figures(out, "medianUs", rtt_figures[t], rtt_sizes, RTT_SIZE_COUNT, (transport)t, true, &first);
    fputs("],\n\"throughput\":[", out);
    first = true;
    for (int t = 0; t < T_COUNT; t++)
        write_figures(out, "GBps", throughput_figures[t], throughput_sizes, THROUGHPUT_SIZE_COUNT, (transport)t, false,
                      &first);
    fputs("]}\n", out);
}

/* ---- main ---- */

static int usage(const char *message, const char *detail)
{
    fprintf(stderr, "peers-bench: ");
    fprintf(stderr, message, detail);
    fprintf(stderr, "\nusage: peers-bench [--quick] [--runs N] [--only NAME,NAME...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    config cfg = {.runs = 0};
    bool quick = false;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            char *end = NULL;
            unsigned long runs = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || runs < 1 || runs > MAX_RUNS) return usage("--runs needs 1 to 20, not '%s'", argv[i]);
            cfg.runs = (unsigned)runs;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else {
            return usage("unknown argument '%s'", argv[i]);
        }
    }
    if (cfg.runs == 0) cfg.runs = quick ? 1 : 3;
    cfg.scale_divisor = quick ? 8 : 1;
    cfg.rtt_budget_s = quick ? 0.15 : 1.0;
    for (int t = 0; t < T_COUNT; t++) {
        bool wanted = true;
        if (only) {
            size_t length = strlen(transport_info[t].name);
            wanted = false;
            for (const char *c = only; *c;) {
                const char *comma = strchr(c, ',');
                size_t item = comma ? (size_t)(comma - c) : strlen(c);
                if (item == length && strncmp(c, transport_info[t].name, length) == 0) wanted = true;
                c += item + (comma ? 1 : 0);
            }
        }
        cfg.selected[t] = wanted && transport_built((transport)t);
    }
    bench_cpus_setup(&cfg.cpus);
    /* Queues of 8 messages of 64 KiB or 1 MiB are past the default per-user POSIX mq quota (800 KiB):
     * lift it where allowed (CAP_SYS_RESOURCE), else take the hard limit; mq_depth_for() copes with the rest. */
    struct rlimit mq_quota = {RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_MSGQUEUE, &mq_quota) != 0 && getrlimit(RLIMIT_MSGQUEUE, &mq_quota) == 0) {
        mq_quota.rlim_cur = mq_quota.rlim_max;
        setrlimit(RLIMIT_MSGQUEUE, &mq_quota);
    }
    payload = malloc(MIB);
    if (!payload) return 1;
    memset(payload, 0xa5, MIB);
    signal(SIGPIPE, SIG_IGN);

    uint64_t started = monotonic_ns();
    for (unsigned run = 0; run < cfg.runs; run++) {
        for (int a = 0; a < AFFINITY_COUNT; a++) {
            if (!cfg.cpus.available[a]) continue;
            for (int t = 0; t < T_COUNT; t++) {
                if (!cfg.selected[t]) continue;
                for (size_t s = 0; s < RTT_SIZE_COUNT; s++) measure_rtt(&cfg, (transport)t, s, (affinity)a);
                for (size_t s = 0; s < THROUGHPUT_SIZE_COUNT; s++)
                    measure_throughput(&cfg, (transport)t, s, (affinity)a);
            }
        }
        fprintf(stderr, "  run %u/%u done (%.1f s)\n", run + 1, cfg.runs, (double)(monotonic_ns() - started) / 1e9);
    }
    write_json(stdout, &cfg, (double)(monotonic_ns() - started) / 1e9);
    free(payload);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
