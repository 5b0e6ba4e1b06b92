/*
 * `sipc bench`: sipc against a pipe pair and a Unix socket pair in the same
 * two-process layout (fork), with single-thread memcpy as the ceiling.
 * Every blocking transport is bimodal on a small machine (the peers share a
 * CPU or not), so each figure is the median over several runs, measured
 * unpinned, with both processes on one CPU and on two CPUs.
 * Sessions measure what a program gets: each one starts two fresh processes
 * (fork), opens the transport and runs 100, 1,000 or 10,000 round trips (or a
 * stream, or requests with think time); the distribution of the sessions'
 * medians and p90s shows how often a session misses the fast path.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cli.h"
#include "bench_stats.h"
#include "../src/waiting.h" /* per-handle wait counters: sleeps per round trip in the session report */

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_MAX_SIZE MIB
#define BENCH_QUEUE_DEPTH 8u
#define BENCH_CALL_TIMEOUT_MS 10000
#define MAX_RUNS 50
#define MAX_SESSIONS 100
#define SESSION_MESSAGE 64u

typedef enum transport { TRANSPORT_SIPC, TRANSPORT_PIPE, TRANSPORT_UNIX, TRANSPORT_COUNT } transport;
static const char *const transport_names[TRANSPORT_COUNT] = {"sipc", "pipe", "unix"};

typedef struct bench_config {
    unsigned runs;
    unsigned sessions;      /* fresh-process sessions per session figure */
    unsigned scale_divisor; /* iterations are divided by this in --quick mode */
    double idle_seconds;
    bench_cpus cpus;
} bench_config;

typedef struct rtt_result {
    bool measured;
    double median_us[MAX_RUNS];
    double p99_us[MAX_RUNS];
    unsigned runs;
    double median, p99; /* medians over the runs */
} rtt_result;

typedef struct throughput_result {
    bool measured;
    double gbps[MAX_RUNS];
    unsigned runs;
    double median;
} throughput_result;

static rtt_result rtt_results[TRANSPORT_COUNT][RTT_SIZE_COUNT][AFFINITY_COUNT];
static throughput_result throughput_results[TRANSPORT_COUNT][THROUGHPUT_SIZE_COUNT][AFFINITY_COUNT];
static unsigned channel_counter;
static char bench_error[256];

/* ---- one endpoint of a transport, used the same way on both sides ---- */

typedef struct endpoint {
    transport kind;
    sipc_channel *channel;
    int read_fd, write_fd;
    char channel_name[64];
} endpoint;

static bool read_exact(int fd, void *data, size_t length)
{
    char *cursor = data;
    while (length > 0) {
        ssize_t got = read(fd, cursor, length);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        cursor += got;
        length -= (size_t)got;
    }
    return true;
}

static bool endpoint_send(endpoint *end, const void *data, size_t length)
{
    if (end->kind == TRANSPORT_SIPC)
        return sipc_send(end->channel, data, length, BENCH_CALL_TIMEOUT_MS) == SIPC_OK;
    return cli_write_all(end->write_fd, data, length);
}

static bool endpoint_recv(endpoint *end, void *buffer, size_t length)
{
    if (end->kind == TRANSPORT_SIPC) {
        size_t got = 0;
        return sipc_recv(end->channel, buffer, BENCH_MAX_SIZE, &got, BENCH_CALL_TIMEOUT_MS) == SIPC_OK && got == length;
    }
    return read_exact(end->read_fd, buffer, length);
}

static void endpoint_close(endpoint *end)
{
    if (end->channel)
        sipc_close(end->channel);
    end->channel = NULL;
    if (end->read_fd >= 0)
        close(end->read_fd);
    if (end->write_fd >= 0 && end->write_fd != end->read_fd)
        close(end->write_fd);
    end->read_fd = end->write_fd = -1;
}

static int endpoint_open_sipc(endpoint *end)
{
    sipc_options options;
    sipc_options_init(&options);
    options.max_message_size = BENCH_MAX_SIZE;
    options.queue_depth = BENCH_QUEUE_DEPTH;
    int status = sipc_open(end->channel_name, &options, &end->channel);
    if (status == SIPC_OK)
        status = sipc_connect(end->channel, BENCH_CALL_TIMEOUT_MS);
    return status;
}

/* The work the child process does. */
typedef enum child_job { JOB_ECHO, JOB_SINK, JOB_IDLE, JOB_ACK } child_job;

typedef struct pair {
    endpoint parent, child;
    pid_t pid;
} pair;

static void child_main(endpoint *end, child_job job, uint32_t size, uint64_t count, int child_cpu)
{
    if (child_cpu >= 0)
        bench_pin_to(child_cpu);
    if (end->kind == TRANSPORT_SIPC && endpoint_open_sipc(end) != SIPC_OK)
        _exit(3);
    char *buffer = malloc(BENCH_MAX_SIZE);
    if (!buffer)
        _exit(4);
    memset(buffer, 0x5a, BENCH_MAX_SIZE);
    if (job == JOB_ECHO) {
        /* Answer every message until the parent leaves. */
        for (;;) {
            if (end->kind == TRANSPORT_SIPC) {
                size_t got = 0;
                if (sipc_recv(end->channel, buffer, BENCH_MAX_SIZE, &got, SIPC_INFINITE) != SIPC_OK)
                    break;
                if (sipc_send(end->channel, buffer, got, BENCH_CALL_TIMEOUT_MS) != SIPC_OK)
                    break;
            } else {
                if (!read_exact(end->read_fd, buffer, size) || !cli_write_all(end->write_fd, buffer, size))
                    break;
            }
        }
    } else if (job == JOB_ACK) {
        /* Acknowledge every `count` messages with one byte, until the other side leaves. */
        for (uint64_t received = 1;; received++) {
            if (!endpoint_recv(end, buffer, size))
                break;
            if (received % count == 0 && !endpoint_send(end, buffer, 1))
                break;
        }
    } else if (job == JOB_SINK) {
        for (uint64_t i = 0; i < count; i++)
            if (!endpoint_recv(end, buffer, size))
                _exit(5);
        char ack = 1;
        if (!endpoint_send(end, &ack, 1))
            _exit(6);
        /* Wait until the parent is done so it never sees us leave early. */
        endpoint_recv(end, buffer, 1);
    } else {
        /* Idle: block in recv until the parent's message, then report our CPU time of that wait. */
        struct rusage before, after;
        getrusage(RUSAGE_SELF, &before);
        bool ok = endpoint_recv(end, buffer, 1);
        getrusage(RUSAGE_SELF, &after);
        double cpu_ms = (double)(after.ru_utime.tv_sec - before.ru_utime.tv_sec) * 1e3 +
                        (double)(after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e3 +
                        (double)(after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1e3 +
                        (double)(after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e3;
        if (!ok || !endpoint_send(end, &cpu_ms, sizeof cpu_ms))
            _exit(7);
        endpoint_recv(end, buffer, 1);
    }
    endpoint_close(end);
    free(buffer);
    _exit(0);
}

/* Forks the child for one measurement; the parent's affinity is set by the caller. */
static bool pair_start(pair *p, transport kind, child_job job, uint32_t size, uint64_t count, int child_cpu)
{
    memset(p, 0, sizeof *p);
    p->parent.kind = p->child.kind = kind;
    p->parent.read_fd = p->parent.write_fd = p->child.read_fd = p->child.write_fd = -1;
    if (kind == TRANSPORT_SIPC) {
        snprintf(p->parent.channel_name, sizeof p->parent.channel_name, "sipc-bench-%ld-%u", (long)getpid(),
                 channel_counter++);
        memcpy(p->child.channel_name, p->parent.channel_name, sizeof p->child.channel_name);
    } else if (kind == TRANSPORT_PIPE) {
        int to_child[2], to_parent[2];
        if (pipe(to_child) != 0)
            return false;
        if (pipe(to_parent) != 0) {
            close(to_child[0]);
            close(to_child[1]);
            return false;
        }
        p->parent.write_fd = to_child[1], p->child.read_fd = to_child[0];
        p->child.write_fd = to_parent[1], p->parent.read_fd = to_parent[0];
    } else {
        int sockets[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0)
            return false;
        p->parent.read_fd = p->parent.write_fd = sockets[0];
        p->child.read_fd = p->child.write_fd = sockets[1];
    }
    fflush(NULL);
    p->pid = fork();
    if (p->pid < 0) {
        endpoint_close(&p->parent);
        endpoint_close(&p->child);
        return false;
    }
    if (p->pid == 0) {
        endpoint_close(&p->parent);
        child_main(&p->child, job, size, count, child_cpu);
    }
    endpoint_close(&p->child);
    if (kind == TRANSPORT_SIPC) {
        int status = endpoint_open_sipc(&p->parent);
        if (status != SIPC_OK) {
            snprintf(bench_error, sizeof bench_error, "sipc channel %s: %s (%s)", p->parent.channel_name,
                     sipc_strerror(status), sipc_status_name(status));
            kill(p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
            endpoint_close(&p->parent);
            sipc_remove(p->parent.channel_name, 1);
            return false;
        }
    }
    return true;
}

static bool pair_finish(pair *p, bool ok)
{
    if (!ok)
        kill(p->pid, SIGKILL);
    endpoint_close(&p->parent);
    int wait_status = 0;
    waitpid(p->pid, &wait_status, 0);
    if (p->parent.kind == TRANSPORT_SIPC)
        sipc_remove(p->parent.channel_name, 1);
    return ok && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

/* ---- measurements ---- */

static char *payload;

static uint64_t rtt_iterations(const bench_config *config, uint32_t size)
{
    uint64_t iterations = size <= 4 * KIB ? 2000 : size <= 64 * KIB ? 600 : 60;
    iterations /= config->scale_divisor;
    return iterations < 10 ? 10 : iterations;
}

static bool measure_rtt(const bench_config *config, transport kind, uint32_t size, affinity mode, double *median_us,
                        double *p99_us)
{
    int child_cpu = bench_cpus_apply(&config->cpus, mode);
    pair p;
    if (!pair_start(&p, kind, JOB_ECHO, size, 0, child_cpu))
        return false;
    uint64_t iterations = rtt_iterations(config, size);
    uint64_t warmup = iterations / 10 + 2;
    double *samples = malloc(iterations * sizeof *samples);
    char *reply = malloc(BENCH_MAX_SIZE);
    bool ok = samples && reply;
    for (uint64_t i = 0; ok && i < warmup + iterations; i++) {
        uint64_t start = sipc_os_monotonic_ns();
        ok = endpoint_send(&p.parent, payload, size) && endpoint_recv(&p.parent, reply, size);
        uint64_t end = sipc_os_monotonic_ns();
        if (i >= warmup)
            samples[i - warmup] = (double)(end - start) / 1e3;
    }
    if (ok) {
        *median_us = bench_percentile(samples, iterations, 0.5);
        *p99_us = bench_percentile(samples, iterations, 0.99);
    }
    free(samples);
    free(reply);
    ok = pair_finish(&p, ok);
    bench_cpus_restore(&config->cpus);
    return ok;
}

static bool measure_throughput(const bench_config *config, transport kind, uint32_t size, affinity mode, double *gbps)
{
    int child_cpu = bench_cpus_apply(&config->cpus, mode);
    uint64_t total = (size >= MIB ? 128ull : 96ull) * MIB / config->scale_divisor;
    uint64_t count = total / size;
    if (count < 8)
        count = 8;
    pair p;
    if (!pair_start(&p, kind, JOB_SINK, size, count, child_cpu))
        return false;
    char ack = 0;
    uint64_t start = sipc_os_monotonic_ns();
    bool ok = true;
    for (uint64_t i = 0; ok && i < count; i++)
        ok = endpoint_send(&p.parent, payload, size);
    ok = ok && endpoint_recv(&p.parent, &ack, 1);
    uint64_t end = sipc_os_monotonic_ns();
    ok = ok && endpoint_send(&p.parent, &ack, 1);
    if (ok)
        *gbps = (double)(count * size) / (double)(end - start);
    ok = pair_finish(&p, ok);
    bench_cpus_restore(&config->cpus);
    return ok;
}

typedef struct memcpy_result {
    double hot_gbps;    /* 1 MiB from one source buffer into an 8 MiB ring: like a sender's copy into the queue */
    double stream_gbps; /* 1 MiB blocks streamed through 64 MiB: out of cache */
    double ceiling;     /* the larger: the stricter ceiling for the throughput target */
} memcpy_result;

static double copy_rate(char *target, size_t target_size, const char *source, size_t source_size, unsigned passes,
                        unsigned runs)
{
    double results[MAX_RUNS];
    for (unsigned run = 0; run < runs; run++) {
        uint64_t start = sipc_os_monotonic_ns();
        for (unsigned pass = 0; pass < passes; pass++)
            for (size_t offset = 0; offset < target_size; offset += MIB) {
                memcpy(target + offset, source + (offset % source_size), MIB);
                __asm__ __volatile__("" : : "r"(target) : "memory");
            }
        uint64_t end = sipc_os_monotonic_ns();
        results[run] = (double)(target_size * passes) / (double)(end - start);
    }
    return bench_percentile(results, runs, 0.5);
}

static memcpy_result measure_memcpy(const bench_config *config)
{
    memcpy_result result = {0};
    const size_t region = 64u * MIB;
    const size_t ring = (size_t)BENCH_QUEUE_DEPTH * MIB;
    char *source = malloc(region);
    char *target = malloc(region);
    if (source && target) {
        memset(source, 0x33, region);
        memset(target, 0x44, region);
        bool quick = config->scale_divisor > 1;
        result.stream_gbps = copy_rate(target, region, source, region, quick ? 1 : 3, config->runs);
        result.hot_gbps = copy_rate(target, ring, source, MIB, quick ? 4 : 24, config->runs);
        result.ceiling = result.hot_gbps > result.stream_gbps ? result.hot_gbps : result.stream_gbps;
    }
    free(source);
    free(target);
    return result;
}

typedef struct idle_result {
    bool measured;
    double seconds;
    double server_cpu_ms, client_cpu_ms;
} idle_result;

static idle_result measure_idle(const bench_config *config)
{
    idle_result result = {.seconds = config->idle_seconds};
    pair p;
    if (!pair_start(&p, TRANSPORT_SIPC, JOB_IDLE, 1, 0, -1))
        return result;
    /* Both processes sit in a blocking sipc_recv: the child with no timeout, we with one. */
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    char scratch[16];
    size_t got = 0;
    int status = sipc_recv(p.parent.channel, scratch, sizeof scratch, &got, (int32_t)(config->idle_seconds * 1000));
    getrusage(RUSAGE_SELF, &after);
    bool ok = status == SIPC_ERR_TIMEOUT;
    result.client_cpu_ms = (double)(after.ru_utime.tv_sec - before.ru_utime.tv_sec) * 1e3 +
                           (double)(after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e3 +
                           (double)(after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1e3 +
                           (double)(after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e3;
    char wake = 1;
    double child_ms = 0;
    ok = ok && endpoint_send(&p.parent, &wake, 1) && endpoint_recv(&p.parent, &child_ms, sizeof child_ms) &&
         endpoint_send(&p.parent, &wake, 1);
    result.server_cpu_ms = child_ms;
    result.measured = pair_finish(&p, ok);
    return result;
}

/* ---- sessions from fresh processes ---- */

typedef enum session_kind { SESSION_REQUEST_REPLY, SESSION_STREAM, SESSION_THINK } session_kind;

typedef struct session_spec {
    session_kind kind;
    uint32_t trips; /* round trips; for a stream, messages */
    uint32_t param; /* stream: acknowledge every `param` messages; think: µs of work before each request */
    const char *name;
} session_spec;

static const session_spec session_specs[] = {
    {SESSION_REQUEST_REPLY, 100, 0, "request/reply 100"},
    {SESSION_REQUEST_REPLY, 1000, 0, "request/reply 1000"},
    {SESSION_REQUEST_REPLY, 10000, 0, "request/reply 10000"},
    {SESSION_STREAM, 10000, 16, "stream, ack every 16"},
    {SESSION_THINK, 1000, 10, "think 10 us"},
    {SESSION_THINK, 1000, 30, "think 30 us"},
    {SESSION_THINK, 1000, 100, "think 100 us"},
};
#define SESSION_SPEC_COUNT (sizeof session_specs / sizeof session_specs[0])
#define SESSION_TARGET_SPEC 1 /* request/reply 1000: the targets */

/* What the client process of one session reports through a pipe. */
typedef struct session_report {
    int ok;
    double median_us, p90_us; /* per round trip (stream: per message) */
    double sleeps_per_trip;   /* sipc: the client's sleeps in the OS per round trip (stream: per message) */
} session_report;

typedef struct session_result {
    unsigned count;
    double median_us[MAX_SESSIONS], p90_us[MAX_SESSIONS], sleeps_per_trip[MAX_SESSIONS];
} session_result;

static session_result session_results[SESSION_SPEC_COUNT][TRANSPORT_COUNT][AFFINITY_COUNT];

static void spin_for_us(uint32_t microseconds)
{
    uint64_t until = sipc_os_monotonic_ns() + (uint64_t)microseconds * 1000u;
    while (sipc_os_monotonic_ns() < until) {
    }
}

/* The client process of a session: opens, runs the trips, reports, leaves (which ends the server). */
static void session_client(endpoint *end, const session_spec *spec, int report_fd)
{
    session_report report = {0};
    char *buffer = malloc(BENCH_MAX_SIZE);
    uint32_t per_unit = spec->kind == SESSION_STREAM ? spec->param : 1;
    uint32_t units = spec->trips / per_unit;
    double *samples = malloc((size_t)units * sizeof *samples);
    bool ok = buffer && samples && (end->kind != TRANSPORT_SIPC || endpoint_open_sipc(end) == SIPC_OK);
    for (uint32_t u = 0; ok && u < units; u++) {
        if (spec->kind == SESSION_THINK)
            spin_for_us(spec->param);
        uint64_t start = sipc_os_monotonic_ns();
        if (spec->kind == SESSION_STREAM) {
            for (uint32_t i = 0; ok && i < per_unit; i++)
                ok = endpoint_send(end, payload, SESSION_MESSAGE);
            ok = ok && endpoint_recv(end, buffer, 1);
        } else {
            ok = endpoint_send(end, payload, SESSION_MESSAGE) && endpoint_recv(end, buffer, SESSION_MESSAGE);
        }
        samples[u] = (double)(sipc_os_monotonic_ns() - start) / 1e3 / per_unit;
    }
    if (ok) {
        report.ok = 1;
        report.median_us = bench_percentile(samples, units, 0.5);
        report.p90_us = bench_percentile(samples, units, 0.9);
        if (end->kind == TRANSPORT_SIPC) {
            sipc_wait_stats stats;
            sipc_channel_wait_stats(end->channel, &stats);
            report.sleeps_per_trip = (double)stats.sleeps / spec->trips;
        }
    }
    ok = cli_write_all(report_fd, &report, sizeof report);
    endpoint_close(end);
    _exit(ok ? 0 : 8);
}

/* Sets up both ends of a transport in this process (to be handed to two children). */
static bool endpoints_create(transport kind, endpoint *server, endpoint *client)
{
    memset(server, 0, sizeof *server);
    memset(client, 0, sizeof *client);
    server->kind = client->kind = kind;
    server->read_fd = server->write_fd = client->read_fd = client->write_fd = -1;
    if (kind == TRANSPORT_SIPC) {
        snprintf(server->channel_name, sizeof server->channel_name, "sipc-bench-%ld-%u", (long)getpid(),
                 channel_counter++);
        memcpy(client->channel_name, server->channel_name, sizeof client->channel_name);
        return true;
    }
    if (kind == TRANSPORT_PIPE) {
        int to_server[2], to_client[2];
        if (pipe(to_server) != 0)
            return false;
        if (pipe(to_client) != 0) {
            close(to_server[0]);
            close(to_server[1]);
            return false;
        }
        server->read_fd = to_server[0], client->write_fd = to_server[1];
        client->read_fd = to_client[0], server->write_fd = to_client[1];
        return true;
    }
    int sockets[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0)
        return false;
    server->read_fd = server->write_fd = sockets[0];
    client->read_fd = client->write_fd = sockets[1];
    return true;
}

static void reap(pid_t pid, bool kill_first)
{
    if (pid <= 0)
        return;
    if (kill_first)
        kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

/* One session: a fresh server process and a fresh client process; the client's report. */
static bool run_session(const bench_config *config, transport kind, affinity mode, const session_spec *spec,
                        session_report *report)
{
    int server_cpu = bench_cpus_apply(&config->cpus, mode); /* the client inherits ours */
    endpoint server, client;
    int report_pipe[2] = {-1, -1};
    bool ok = endpoints_create(kind, &server, &client) && pipe(report_pipe) == 0;
    pid_t server_pid = -1, client_pid = -1;
    if (ok) {
        fflush(NULL);
        server_pid = fork();
        if (server_pid == 0) {
            endpoint_close(&client);
            close(report_pipe[0]);
            close(report_pipe[1]);
            child_main(&server, spec->kind == SESSION_STREAM ? JOB_ACK : JOB_ECHO, SESSION_MESSAGE, spec->param,
                       server_cpu);
        }
        ok = server_pid > 0;
    }
    if (ok) {
        client_pid = fork();
        if (client_pid == 0) {
            endpoint_close(&server);
            close(report_pipe[0]);
            session_client(&client, spec, report_pipe[1]);
        }
        ok = client_pid > 0;
    }
    endpoint_close(&server);
    endpoint_close(&client);
    if (report_pipe[1] >= 0)
        close(report_pipe[1]);
    memset(report, 0, sizeof *report);
    ok = ok && read_exact(report_pipe[0], report, sizeof *report) && report->ok;
    if (report_pipe[0] >= 0)
        close(report_pipe[0]);
    reap(client_pid, !ok);
    reap(server_pid, !ok);
    if (kind == TRANSPORT_SIPC)
        sipc_remove(server.channel_name, 1);
    bench_cpus_restore(&config->cpus);
    if (!ok && kind == TRANSPORT_SIPC)
        snprintf(bench_error, sizeof bench_error, "a sipc session (%s) failed", spec->name);
    return ok;
}

static unsigned measure_sessions(const bench_config *config)
{
    unsigned failures = 0;
    /* Sessions are the outer loop, as runs are for the other figures: a disturbance touches one
     * session of many figures rather than all sessions of one. */
    for (unsigned n = 0; n < config->sessions; n++)
        for (size_t s = 0; s < SESSION_SPEC_COUNT; s++)
            for (int a = 0; a < AFFINITY_COUNT; a++) {
                if (!config->cpus.available[a])
                    continue;
                for (int t = 0; t < TRANSPORT_COUNT; t++) {
                    session_report report;
                    if (!run_session(config, (transport)t, (affinity)a, &session_specs[s], &report)) {
                        failures++;
                        continue;
                    }
                    session_result *r = &session_results[s][t][a];
                    r->median_us[r->count] = report.median_us;
                    r->p90_us[r->count] = report.p90_us;
                    r->sleeps_per_trip[r->count] = report.sleeps_per_trip;
                    r->count++;
                }
            }
    return failures;
}

/* Order statistics of one figure's sessions (sorted copies; the results keep session order). */
typedef struct session_summary {
    double median_min, median_median, median_max;
    double p90_median, p90_max;
    double sleeps_median;
} session_summary;

static session_summary summarize(const session_result *r)
{
    session_summary sum = {0};
    if (r->count == 0)
        return sum;
    double values[MAX_SESSIONS];
    memcpy(values, r->median_us, r->count * sizeof values[0]);
    sum.median_min = bench_percentile(values, r->count, 0);
    sum.median_median = bench_percentile(values, r->count, 0.5);
    sum.median_max = bench_percentile(values, r->count, 1);
    memcpy(values, r->p90_us, r->count * sizeof values[0]);
    sum.p90_median = bench_percentile(values, r->count, 0.5);
    sum.p90_max = bench_percentile(values, r->count, 1);
    memcpy(values, r->sleeps_per_trip, r->count * sizeof values[0]);
    sum.sleeps_median = bench_percentile(values, r->count, 0.5);
    return sum;
}

static void print_sessions(FILE *out, const bench_config *config)
{
    fprintf(out,
            "\nSessions from fresh processes, 64 B, %u per figure, µs per round trip (stream: per message):\n"
            "session medians min / median / max, session p90s median / max; sipc client sleeps per trip\n",
            config->sessions);
    fprintf(out, "%-21s %-9s %-5s %8s %8s %8s %9s %8s %7s\n", "traffic", "cpus", "", "med min", "med med", "med max",
            "p90 med", "p90 max", "sleeps");
    for (size_t s = 0; s < SESSION_SPEC_COUNT; s++)
        for (int a = 0; a < AFFINITY_COUNT; a++)
            for (int t = 0; t < TRANSPORT_COUNT; t++) {
                const session_result *r = &session_results[s][t][a];
                if (r->count == 0)
                    continue;
                session_summary sum = summarize(r);
                fprintf(out, "%-21s %-9s %-5s %8.1f %8.1f %8.1f %9.1f %8.1f", t == 0 ? session_specs[s].name : "",
                        t == 0 ? affinity_names[a] : "", transport_names[t], sum.median_min, sum.median_median,
                        sum.median_max, sum.p90_median, sum.p90_max);
                if (t == TRANSPORT_SIPC)
                    fprintf(out, " %7.2f", sum.sleeps_median);
                fputc('\n', out);
            }
}

static void write_sessions_json(FILE *out)
{
    fputs(",\n\"sessions\":[", out);
    bool first = true;
    for (size_t s = 0; s < SESSION_SPEC_COUNT; s++)
        for (int t = 0; t < TRANSPORT_COUNT; t++)
            for (int a = 0; a < AFFINITY_COUNT; a++) {
                const session_result *r = &session_results[s][t][a];
                if (r->count == 0)
                    continue;
                static const char *const kinds[] = {"request-reply", "stream", "think"};
                fprintf(out,
                        "%s\n {\"traffic\":\"%s\",\"trips\":%u,\"param\":%u,\"transport\":\"%s\","
                        "\"affinity\":\"%s\",\"medianUs\":[",
                        first ? "" : ",", kinds[session_specs[s].kind], session_specs[s].trips, session_specs[s].param,
                        transport_names[t], affinity_names[a]);
                for (unsigned i = 0; i < r->count; i++)
                    fprintf(out, "%s%.3f", i ? "," : "", r->median_us[i]);
                fputs("],\"p90Us\":[", out);
                for (unsigned i = 0; i < r->count; i++)
                    fprintf(out, "%s%.3f", i ? "," : "", r->p90_us[i]);
                fputs("]", out);
                if (t == TRANSPORT_SIPC) {
                    fputs(",\"sleepsPerTrip\":[", out);
                    for (unsigned i = 0; i < r->count; i++)
                        fprintf(out, "%s%.3f", i ? "," : "", r->sleeps_per_trip[i]);
                    fputs("]", out);
                }
                fputs("}", out);
                first = false;
            }
    fputs("]", out);
}

/* ---- reporting ---- */

static void format_size(uint32_t size, char *out, size_t length)
{
    if (size >= MIB)
        snprintf(out, length, "%u MiB", size / MIB);
    else if (size >= KIB)
        snprintf(out, length, "%u KiB", size / KIB);
    else
        snprintf(out, length, "%u B", size);
}

typedef struct target {
    const char *name;
    const char *detail_format;
    double value, limit;
    bool measured, pass;
} target;

static bool write_json(FILE *out, const bench_config *config, const memcpy_result *copy, const idle_result *idle,
                       const target *targets, size_t target_count, double elapsed)
{
    fprintf(out,
            "{\"tool\":\"sipc bench\",\"version\":\"%s\",\"library\":\"%s\",\"cpus\":%ld,\"runs\":%u,"
            "\"quick\":%s,\"elapsedSeconds\":%.2f,\"memcpyGBps\":%.3f,\"memcpyHotGBps\":%.3f,"
            "\"memcpyStreamGBps\":%.3f,\n\"rtt\":[",
            SIPC_CLI_VERSION, sipc_version(), sysconf(_SC_NPROCESSORS_ONLN), config->runs,
            config->scale_divisor > 1 ? "true" : "false", elapsed, copy->ceiling, copy->hot_gbps, copy->stream_gbps);
    bool first = true;
    for (int t = 0; t < TRANSPORT_COUNT; t++)
        for (size_t s = 0; s < RTT_SIZE_COUNT; s++)
            for (int a = 0; a < AFFINITY_COUNT; a++) {
                const rtt_result *r = &rtt_results[t][s][a];
                if (!r->measured)
                    continue;
                fprintf(out,
                        "%s\n {\"transport\":\"%s\",\"size\":%u,\"affinity\":\"%s\",\"medianUs\":%.3f,"
                        "\"p99Us\":%.3f,\"runMediansUs\":[",
                        first ? "" : ",", transport_names[t], rtt_sizes[s], affinity_names[a], r->median, r->p99);
                for (unsigned i = 0; i < r->runs; i++)
                    fprintf(out, "%s%.3f", i ? "," : "", r->median_us[i]);
                fputs("]}", out);
                first = false;
            }
    fputs("],\n\"throughput\":[", out);
    first = true;
    for (int t = 0; t < TRANSPORT_COUNT; t++)
        for (size_t s = 0; s < THROUGHPUT_SIZE_COUNT; s++)
            for (int a = 0; a < AFFINITY_COUNT; a++) {
                const throughput_result *r = &throughput_results[t][s][a];
                if (!r->measured)
                    continue;
                fprintf(out, "%s\n {\"transport\":\"%s\",\"size\":%u,\"affinity\":\"%s\",\"GBps\":%.3f,\"runsGBps\":[",
                        first ? "" : ",", transport_names[t], throughput_sizes[s], affinity_names[a], r->median);
                for (unsigned i = 0; i < r->runs; i++)
                    fprintf(out, "%s%.3f", i ? "," : "", r->gbps[i]);
                fputs("]}", out);
                first = false;
            }
    fputs("]", out);
    write_sessions_json(out);
    fprintf(out,
            ",\n\"idle\":{\"measured\":%s,\"seconds\":%.2f,\"serverCpuMs\":%.3f,\"clientCpuMs\":%.3f},\n"
            "\"targets\":[",
            idle->measured ? "true" : "false", idle->seconds, idle->server_cpu_ms, idle->client_cpu_ms);
    for (size_t i = 0; i < target_count; i++)
        fprintf(out, "%s\n {\"name\":\"%s\",\"measured\":%s,\"value\":%.4f,\"limit\":%.4f,\"pass\":%s}", i ? "," : "",
                targets[i].name, targets[i].measured ? "true" : "false", targets[i].value, targets[i].limit,
                targets[i].pass ? "true" : "false");
    fputs("]}\n", out);
    return !ferror(out);
}

static void print_table(FILE *out, const bench_config *config, const memcpy_result *copy, const idle_result *idle)
{
    fprintf(out, "\nRound-trip latency, µs (median / p99 of each run, median over %u run%s)\n", config->runs,
            config->runs == 1 ? "" : "s");
    fprintf(out, "%-8s %-6s", "size", "");
    for (int a = 0; a < AFFINITY_COUNT; a++)
        fprintf(out, " %21s", affinity_names[a]);
    fputc('\n', out);
    for (size_t s = 0; s < RTT_SIZE_COUNT; s++)
        for (int t = 0; t < TRANSPORT_COUNT; t++) {
            char size_text[16];
            format_size(rtt_sizes[s], size_text, sizeof size_text);
            fprintf(out, "%-8s %-6s", t == 0 ? size_text : "", transport_names[t]);
            for (int a = 0; a < AFFINITY_COUNT; a++) {
                const rtt_result *r = &rtt_results[t][s][a];
                if (r->measured)
                    fprintf(out, " %10.1f / %8.1f", r->median, r->p99);
                else
                    fprintf(out, " %21s", "n/a");
            }
            fputc('\n', out);
        }
    fprintf(out, "\nOne-way throughput, GB/s (median over runs)\n%-8s %-6s", "size", "");
    for (int a = 0; a < AFFINITY_COUNT; a++)
        fprintf(out, " %10s", affinity_names[a]);
    fputc('\n', out);
    for (size_t s = 0; s < THROUGHPUT_SIZE_COUNT; s++)
        for (int t = 0; t < TRANSPORT_COUNT; t++) {
            char size_text[16];
            format_size(throughput_sizes[s], size_text, sizeof size_text);
            fprintf(out, "%-8s %-6s", t == 0 ? size_text : "", transport_names[t]);
            for (int a = 0; a < AFFINITY_COUNT; a++) {
                const throughput_result *r = &throughput_results[t][s][a];
                if (r->measured)
                    fprintf(out, " %10.2f", r->median);
                else
                    fprintf(out, " %10s", "n/a");
            }
            fputc('\n', out);
        }
    fprintf(out, "%-15s %10.2f  (single thread, 1 MiB blocks into an 8 MiB ring, in cache)\n", "memcpy hot",
            copy->hot_gbps);
    fprintf(out, "%-15s %10.2f  (single thread, 1 MiB blocks streamed through 64 MiB)\n", "memcpy stream",
            copy->stream_gbps);
    if (idle->measured)
        fprintf(out, "\nIdle connected channel, %.1f s: server %.2f ms CPU, client %.2f ms CPU\n", idle->seconds,
                idle->server_cpu_ms, idle->client_cpu_ms);
    else
        fputs("\nIdle connected channel: could not be measured\n", out);
}

/* ---- command ---- */

int cmd_bench(const cli_command *command, int argc, char **argv)
{
    bool quick = false;
    bool json = false;
    const char *json_file = NULL;
    uint32_t runs = 0, sessions = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            cli_print_command_help(command, stdout);
            return SIPC_CLI_EXIT_OK;
        } else if (strcmp(arg, "--quick") == 0) {
            quick = true;
        } else if (strcmp(arg, "--json") == 0) {
            json = true;
            if (i + 1 < argc && argv[i + 1][0] != '-')
                json_file = argv[++i];
        } else if (strncmp(arg, "--json=", 7) == 0) {
            json = true;
            json_file = arg + 7;
        } else if (strcmp(arg, "--runs") == 0 || strncmp(arg, "--runs=", 7) == 0) {
            const char *value = arg[6] == '=' ? arg + 7 : (i + 1 < argc ? argv[++i] : NULL);
            char *end = NULL;
            unsigned long parsed = value ? strtoul(value, &end, 10) : 0;
            if (!value || *value < '0' || *value > '9' || *end != '\0' || parsed < 1 || parsed > MAX_RUNS)
                return cli_usage_error(command->name, "--runs needs a number from 1 to %d", MAX_RUNS);
            runs = (uint32_t)parsed;
        } else if (strcmp(arg, "--sessions") == 0 || strncmp(arg, "--sessions=", 11) == 0) {
            const char *value = arg[10] == '=' ? arg + 11 : (i + 1 < argc ? argv[++i] : NULL);
            char *end = NULL;
            unsigned long parsed = value ? strtoul(value, &end, 10) : 0;
            if (!value || *value < '0' || *value > '9' || *end != '\0' || parsed < 1 || parsed > MAX_SESSIONS)
                return cli_usage_error(command->name, "--sessions needs a number from 1 to %d", MAX_SESSIONS);
            sessions = (uint32_t)parsed;
        } else {
            return cli_usage_error(command->name, "unknown argument '%s'", arg);
        }
    }
    bool table = !(json && json_file == NULL); /* JSON on stdout replaces the table */
    FILE *json_out = NULL;
    if (json_file) {
        json_out = fopen(json_file, "w");
        if (!json_out)
            return cli_io_error(command->name, "cannot write %s: %s", json_file, strerror(errno));
    }

    bench_config config = {
        .runs = runs    ? runs
                : quick ? 2
                        : 5,
        /* --quick keeps the sessions' lengths (short sessions are the point) and runs fewer of them. */
        .sessions = sessions ? sessions
                    : quick  ? 8
                             : 20,
        .scale_divisor = quick ? 8 : 1,
        .idle_seconds = quick ? 0.5 : 1.5,
    };
    bench_cpus_setup(&config.cpus);
    payload = malloc(BENCH_MAX_SIZE);
    if (!payload) {
        if (json_out)
            fclose(json_out);
        return cli_io_error(command->name, "out of memory");
    }
    memset(payload, 0xa5, BENCH_MAX_SIZE);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);

    uint64_t started = sipc_os_monotonic_ns();
    if (table)
        printf("sipc bench: %ld CPUs, %u run%s per figure%s; pinning %s\n", sysconf(_SC_NPROCESSORS_ONLN), config.runs,
               config.runs == 1 ? "" : "s", quick ? " (quick)" : "",
               config.cpus.available[AFFINITY_SPLIT]  ? "available"
               : config.cpus.available[AFFINITY_SAME] ? "one CPU only"
                                                      : "unavailable");
    memcpy_result copy = measure_memcpy(&config);
    double memcpy_gbps = copy.ceiling;
    unsigned failures = 0;
    for (unsigned run = 0; run < config.runs; run++) {
        /* Runs are the outer loop so a passing disturbance touches one run of each figure, not all runs of one. */
        for (int a = 0; a < AFFINITY_COUNT; a++) {
            if (!config.cpus.available[a])
                continue;
            for (int t = 0; t < TRANSPORT_COUNT; t++) {
                for (size_t s = 0; s < RTT_SIZE_COUNT; s++) {
                    rtt_result *r = &rtt_results[t][s][a];
                    double median = 0, p99 = 0;
                    if (measure_rtt(&config, (transport)t, rtt_sizes[s], (affinity)a, &median, &p99)) {
                        r->median_us[r->runs] = median;
                        r->p99_us[r->runs] = p99;
                        r->runs++;
                    } else {
                        failures++;
                    }
                }
                for (size_t s = 0; s < THROUGHPUT_SIZE_COUNT; s++) {
                    throughput_result *r = &throughput_results[t][s][a];
                    double gbps = 0;
                    if (measure_throughput(&config, (transport)t, throughput_sizes[s], (affinity)a, &gbps))
                        r->gbps[r->runs++] = gbps;
                    else
                        failures++;
                }
            }
        }
        if (table) {
            printf("  run %u/%u done (%.1f s)\n", run + 1, config.runs,
                   (double)(sipc_os_monotonic_ns() - started) / 1e9);
            fflush(stdout);
        }
    }
    for (int t = 0; t < TRANSPORT_COUNT; t++)
        for (int a = 0; a < AFFINITY_COUNT; a++) {
            for (size_t s = 0; s < RTT_SIZE_COUNT; s++) {
                rtt_result *r = &rtt_results[t][s][a];
                if (r->runs == 0)
                    continue;
                double medians[MAX_RUNS], p99s[MAX_RUNS];
                memcpy(medians, r->median_us, sizeof medians);
                memcpy(p99s, r->p99_us, sizeof p99s);
                r->median = bench_percentile(medians, r->runs, 0.5);
                r->p99 = bench_percentile(p99s, r->runs, 0.5);
                r->measured = true;
            }
            for (size_t s = 0; s < THROUGHPUT_SIZE_COUNT; s++) {
                throughput_result *r = &throughput_results[t][s][a];
                if (r->runs == 0)
                    continue;
                double values[MAX_RUNS];
                memcpy(values, r->gbps, sizeof values);
                r->median = bench_percentile(values, r->runs, 0.5);
                r->measured = true;
            }
        }
    if (table) {
        printf("  sessions: %u of each figure from fresh processes...\n", config.sessions);
        fflush(stdout);
    }
    failures += measure_sessions(&config);
    idle_result idle = measure_idle(&config);
    free(payload);
    payload = NULL;
    double elapsed = (double)(sipc_os_monotonic_ns() - started) / 1e9;

    const rtt_result *sipc_small = &rtt_results[TRANSPORT_SIPC][0][AFFINITY_UNPINNED];
    const rtt_result *unix_small = &rtt_results[TRANSPORT_UNIX][0][AFFINITY_UNPINNED];
    const throughput_result *sipc_big =
        &throughput_results[TRANSPORT_SIPC][THROUGHPUT_SIZE_COUNT - 1][AFFINITY_UNPINNED];
    const double idle_limit_ms = 5.0; /* per process over the idle spell: below timer-tick noise */
    const session_result *split_1000 = &session_results[SESSION_TARGET_SPEC][TRANSPORT_SIPC][AFFINITY_SPLIT];
    const session_result *same_1000 = &session_results[SESSION_TARGET_SPEC][TRANSPORT_SIPC][AFFINITY_SAME];
    session_summary split_sum = summarize(split_1000), same_sum = summarize(same_1000);
    target targets[6] = {
        {.name = "sipc 64 B RTT / unix socket 64 B RTT (median, unpinned)",
         .limit = 0.10,
         .measured = sipc_small->measured && unix_small->measured && unix_small->median > 0},
        {.name = "sipc 1 MiB throughput / memcpy", .limit = 0.40, .measured = sipc_big->measured && memcpy_gbps > 0},
        {.name = "idle connected channel CPU ms (max of both processes)",
         .limit = idle_limit_ms,
         .measured = idle.measured},
        {.name = "sipc 1000-trip sessions, split CPUs: worst session median us",
         .limit = 2.0,
         .measured = split_1000->count > 0,
         .value = split_sum.median_max},
        {.name = "sipc 1000-trip sessions, split CPUs: worst session p90 us",
         .limit = 5.0,
         .measured = split_1000->count > 0,
         .value = split_sum.p90_max},
        {.name = "sipc 1000-trip sessions, same CPU: median of session medians us",
         .limit = 4.7,
         .measured = same_1000->count > 0,
         .value = same_sum.median_median},
    };
    for (size_t i = 3; i < 6; i++)
        targets[i].pass = targets[i].measured && targets[i].value <= targets[i].limit;
    if (targets[0].measured)
        targets[0].value = sipc_small->median / unix_small->median;
    targets[0].pass = targets[0].measured && targets[0].value <= targets[0].limit;
    if (targets[1].measured)
        targets[1].value = sipc_big->median / memcpy_gbps;
    targets[1].pass = targets[1].measured && targets[1].value >= targets[1].limit;
    targets[2].value = idle.server_cpu_ms > idle.client_cpu_ms ? idle.server_cpu_ms : idle.client_cpu_ms;
    targets[2].pass = targets[2].measured && targets[2].value <= targets[2].limit;

    if (table) {
        print_table(stdout, &config, &copy, &idle);
        print_sessions(stdout, &config);
        printf("\nTargets\n");
        printf("  %-4s sipc 64 B RTT <= 1/10 of unix socket RTT: %.2f / %.2f µs = %.3f (limit 0.100)\n",
               targets[0].pass ? "PASS" : "MISS", sipc_small->median, unix_small->median, targets[0].value);
        printf("  %-4s sipc 1 MiB throughput >= 40%% of memcpy (the faster one): %.2f / %.2f GB/s = %.0f%% "
               "(limit 40%%)\n",
               targets[1].pass ? "PASS" : "MISS", sipc_big->median, memcpy_gbps, targets[1].value * 100);
        printf("  %-4s idle connected channel uses no CPU: %.2f ms over %.1f s (limit %.0f ms per process)\n",
               targets[2].pass ? "PASS" : "MISS", targets[2].value, idle.seconds, idle_limit_ms);
        printf("  %-4s sipc 1,000-trip sessions on split CPUs, every session median <= 2 µs and p90 <= 5 µs: "
               "worst %.2f / %.2f µs over %u sessions\n",
               targets[3].pass && targets[4].pass ? "PASS" : "MISS", targets[3].value, targets[4].value,
               split_1000->count);
        printf("  %-4s sipc 1,000-trip sessions on one CPU, median of the session medians <= 4.7 µs: %.2f µs\n",
               targets[5].pass ? "PASS" : "MISS", targets[5].value);
        printf("\n%.1f s", elapsed);
        if (failures)
            printf(", %u measurement%s failed%s%s", failures, failures == 1 ? "" : "s", bench_error[0] ? ": " : "",
                   bench_error);
        printf("\n");
    }
    bool json_ok = true;
    if (json)
        json_ok = write_json(json_out ? json_out : stdout, &config, &copy, &idle, targets, 6, elapsed);
    if (json_out && fclose(json_out) != 0)
        json_ok = false;
    if (!json_ok)
        return cli_io_error(command->name, "cannot write the JSON report");
    if (failures && !table)
        fprintf(stderr, "sipc: bench: %u measurements failed %s\n", failures, bench_error);
    return SIPC_CLI_EXIT_OK;
}
