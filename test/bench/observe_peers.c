/*
 * observe_peers.c — the two C peers of the observer benchmark (test/bench/observer-bench.mjs).
 *   observe_peers server NAME COUNT [DEPTH] creates NAME (queue depth DEPTH, default SIPC_DEFAULT_QUEUE_DEPTH),
 *                                           prints "ready", receives COUNT messages (keeps up)
 *   observe_peers client NAME COUNT RATE SIZE
 *                                           attaches, waits for a line on stdin, sends COUNT messages of SIZE
 *                                           bytes at RATE messages/s (0: as fast as the server takes them),
 *                                           then prints {"seconds":..,"rate":..} (the send loop's time) and, paced,
 *                                           {"behindRing":..,"longestLateUs":..}: how often it fell a whole ring
 *                                           (queue depth messages) behind its schedule and then sent the backlog as
 *                                           fast as the server took it (a burst no sleeping observer can follow),
 *                                           and the latest it ever was
 *   observe_peers observer NAME COUNT LOSSLESS
 *                                           observes NAME through the C API alone (LOSSLESS 1: lossless), prints
 *                                           "watching", copies messages until COUNT were copied or counted as
 *                                           missed (or the channel is gone, or quiet for a second), then prints
 *                                           {"seen":..,"missed":..,"cpuSeconds":..} and its sipc_observer_stats:
 *                                           what observation costs without a tool's formatting and writing
 * Both also print their CPU time and their handle's wait counters (helper/src/waiting.h) on stdout as
 * {"cpuSeconds":..,"sleeps":..,"wakes":..,"spins":..,"spinHits":..,"sameCpuSkips":..,"observerWakes":..} (the server
 * after "ready"): where the peers' time goes with an observer (spinning, sleeping, waking it).
 */
#define _POSIX_C_SOURCE 200809L
#include <sipc.h>

#include "../../helper/src/waiting.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The process's CPU time so far, user and system, in seconds. */
static double cpu_seconds(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec +
           (double)usage.ru_stime.tv_usec / 1e6;
}

/* The fields of the JSON line both peers print: the process's CPU time and the handle's wait counters. */
static void print_costs(sipc_channel *ch, const char *prefix)
{
    double cpu = cpu_seconds();
    sipc_wait_stats w = {0}; /* a build that predates a counter (SIPC_BENCH_PEERS_LIB) leaves it 0 */
    sipc_channel_wait_stats(ch, &w);
    printf("%s\"cpuSeconds\":%.6f,\"sleeps\":%llu,\"wakes\":%llu,\"spins\":%llu,\"spinHits\":%llu,\"sameCpuSkips\":%llu,"
           "\"observerWakes\":%llu}\n",
           prefix, cpu, (unsigned long long)w.sleeps, (unsigned long long)w.wakes, (unsigned long long)w.spins,
           (unsigned long long)w.spin_hits, (unsigned long long)w.same_cpu_skips, (unsigned long long)w.observer_wakes);
    fflush(stdout);
}

static int fail(const char *what, int status)
{
    fprintf(stderr, "observe_peers: %s: %s\n", what, sipc_status_name(status));
    return 1;
}

static int server(const char *name, uint64_t count, uint32_t depth, uint32_t max_message)
{
    sipc_options options;
    sipc_options_init(&options);
    options.queue_depth = depth;
    options.max_message_size = max_message;
    sipc_channel *ch = NULL;
    int rc = sipc_open(name, &options, &ch);
    if (rc != SIPC_OK)
        return fail("open", rc);
    printf("ready\n");
    fflush(stdout);
    rc = sipc_connect(ch, 60000);
    if (rc != SIPC_OK)
        return fail("connect", rc);
    static unsigned char buffer[SIPC_DEFAULT_MAX_MESSAGE];
    for (uint64_t i = 0; i < count; i++) {
        size_t length;
        rc = sipc_recv(ch, buffer, sizeof buffer, &length, 60000);
        if (rc != SIPC_OK)
            return fail("recv", rc);
    }
    print_costs(ch, "{");
    sipc_close(ch);
    return 0;
}

static int client(const char *name, uint64_t count, uint64_t rate, uint32_t size)
{
    sipc_options options;
    sipc_options_init(&options);
    options.flags = SIPC_OPEN_NO_CREATE;
    sipc_channel *ch = NULL;
    int rc = sipc_open(name, &options, &ch);
    if (rc != SIPC_OK)
        return fail("open", rc);
    rc = sipc_connect(ch, 60000);
    if (rc != SIPC_OK)
        return fail("connect", rc);
    char line[16];
    if (fgets(line, sizeof line, stdin) == NULL)
        return 1;
    unsigned char *payload = calloc(1, size ? size : 1);
    sipc_channel_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    rc = sipc_info(ch, &info);
    if (rc != SIPC_OK)
        return fail("info", rc);
    /* Paced: the time a ring's worth of messages takes. A client held off its CPU longer than that comes back more
     * than a ring behind and catches up at full speed (behind_ring counts those spells). */
    uint64_t ring_ns = rate != 0 ? (uint64_t)info.queue_depth * 1000000000u / rate : 0;
    uint64_t behind_ring = 0, longest_late_ns = 0;
    int behind = 0;
    uint64_t start = now_ns();
    for (uint64_t i = 0; i < count; i++) {
        if (rate != 0) {
            /* Paced: message i is due at start + i/rate. Ahead of time, the client sleeps (a producer that
             * spun for its pacing would take a CPU from the observer on a small machine); the timer's slack
             * makes it send in short bursts of a few messages, as paced producers do. */
            uint64_t due = start + i * 1000000000u / rate;
            uint64_t now = now_ns();
            if (due > now) {
                struct timespec nap = {0, (long)(due - now)};
                nanosleep(&nap, NULL);
            }
            uint64_t late = due > now ? 0 : now - due;
            if (late > longest_late_ns)
                longest_late_ns = late;
            if (late >= ring_ns && !behind)
                behind_ring++;
            behind = late >= ring_ns;
        }
        memcpy(payload, &i, size < sizeof i ? size : sizeof i);
        rc = sipc_send(ch, payload, size, 60000);
        if (rc != SIPC_OK)
            return fail("send", rc);
    }
    double seconds = (double)(now_ns() - start) / 1e9;
    char prefix[160];
    snprintf(prefix, sizeof prefix, "{\"seconds\":%.6f,\"rate\":%.0f,\"behindRing\":%llu,\"longestLateUs\":%.1f,", seconds,
             (double)count / seconds, (unsigned long long)behind_ring, (double)longest_late_ns / 1e3);
    print_costs(ch, prefix);
    free(payload);
    sipc_close(ch);
    return 0;
}

static int observer(const char *name, uint64_t count, int lossless)
{
    sipc_observe_options options;
    sipc_observe_options_init(&options);
    if (lossless) {
        options.flags = SIPC_OBSERVE_LOSSLESS;
        options.stall_timeout_ms = SIPC_OBSERVE_STALL_MAX_MS;
    }
    sipc_observer *obs = NULL;
    int rc = sipc_observe_ex(name, &options, &obs);
    if (rc != SIPC_OK)
        return fail("observe", rc);
    double cpu_before = cpu_seconds();
    printf("watching\n");
    fflush(stdout);
    static unsigned char buffer[SIPC_DEFAULT_MAX_MESSAGE];
    uint64_t seen = 0, missed = 0;
    while (seen + missed < count) {
        sipc_observed_message message;
        memset(&message, 0, sizeof message);
        message.struct_size = sizeof message;
        rc = sipc_observer_next(obs, buffer, sizeof buffer, &message, 1000);
        if (rc != SIPC_OK)
            break;
        seen++;
        missed += message.missed;
    }
    double cpu = cpu_seconds() - cpu_before;
    sipc_observer_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.struct_size = sizeof stats;
    sipc_observer_get_stats(obs, &stats);
    printf("{\"seen\":%llu,\"missed\":%llu,\"cpuSeconds\":%.6f,\"stats\":{\"messages\":%llu,\"missed\":%llu,"
           "\"missedAsleep\":%llu,\"missedAway\":%llu,\"missedRunning\":%llu,\"sleeps\":%llu,\"woken\":%llu,"
           "\"polls\":%llu,\"spins\":%llu,\"spinHits\":%llu,\"wakeLatencyCount\":%llu,\"wakeLatencyTotalNs\":%llu,"
           "\"wakeLatencyMaxNs\":%llu,\"longestMissGapNs\":%llu,\"longestAwayNs\":%llu,\"producerWakes\":%llu}}\n",
           (unsigned long long)seen, (unsigned long long)missed, cpu, (unsigned long long)stats.messages,
           (unsigned long long)stats.missed, (unsigned long long)stats.missed_asleep,
           (unsigned long long)stats.missed_away, (unsigned long long)stats.missed_running,
           (unsigned long long)stats.sleeps, (unsigned long long)stats.woken, (unsigned long long)stats.polls,
           (unsigned long long)stats.spins, (unsigned long long)stats.spin_hits,
           (unsigned long long)stats.wake_latency_count, (unsigned long long)stats.wake_latency_total_ns,
           (unsigned long long)stats.wake_latency_max_ns, (unsigned long long)stats.longest_miss_gap_ns,
           (unsigned long long)stats.longest_away_ns, (unsigned long long)stats.producer_wakes);
    sipc_observer_close(obs);
    return rc == SIPC_OK || rc == SIPC_ERR_NOT_FOUND || rc == SIPC_ERR_TIMEOUT ? 0 : fail("observe", rc);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && argc <= 6 && strcmp(argv[1], "server") == 0)
        return server(argv[2], strtoull(argv[3], NULL, 10), argc >= 5 ? (uint32_t)strtoul(argv[4], NULL, 10) : 0u,
                      argc == 6 ? (uint32_t)strtoul(argv[5], NULL, 10) : 0u);
    if (argc == 6 && strcmp(argv[1], "client") == 0)
        return client(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
                      (uint32_t)strtoul(argv[5], NULL, 10));
    if (argc == 5 && strcmp(argv[1], "observer") == 0)
        return observer(argv[2], strtoull(argv[3], NULL, 10), strcmp(argv[4], "1") == 0);
    fprintf(stderr, "usage: observe_peers server NAME COUNT [DEPTH [MAX_MESSAGE]] | client NAME COUNT RATE SIZE | "
                    "observer NAME COUNT LOSSLESS\n");
    return 2;
}
