/*
 * bench_stats.h — what `sipc bench` (bench.c) and the peer benchmark (test/bench/peers/peers_bench.c)
 * share, so both report figures measured and computed the same way: the message sizes, the statistics
 * and the CPU placements. Linux only, like the benchmarks.
 */
#ifndef SIPC_BENCH_STATS_H
#define SIPC_BENCH_STATS_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define KIB 1024u
#define MIB (1024u * 1024u)

/* Round trips are timed at these sizes, one-way throughput at these. */
static const uint32_t rtt_sizes[] = {64, 4 * KIB, 64 * KIB, MIB};
#define RTT_SIZE_COUNT (sizeof rtt_sizes / sizeof rtt_sizes[0])
static const uint32_t throughput_sizes[] = {64 * KIB, MIB};
#define THROUGHPUT_SIZE_COUNT (sizeof throughput_sizes / sizeof throughput_sizes[0])

static inline int bench_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The value at `fraction` (0.5 = median) of `count` values, nearest rank. Sorts `values` in place. */
static inline double bench_percentile(double *values, size_t count, double fraction)
{
    if (count == 0)
        return 0;
    qsort(values, count, sizeof *values, bench_compare_doubles);
    size_t index = (size_t)(fraction * (double)(count - 1) + 0.5);
    return values[index < count ? index : count - 1];
}

/* Pins the calling process to one CPU (best effort: a container may forbid it). */
static inline void bench_pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* Where the two processes of a figure run: wherever the scheduler puts them, both on one CPU, or one each. */
typedef enum affinity { AFFINITY_UNPINNED, AFFINITY_SAME, AFFINITY_SPLIT, AFFINITY_COUNT } affinity;
static const char *const affinity_names[AFFINITY_COUNT] = {"unpinned", "same-cpu", "split-cpu"};

typedef struct bench_cpus {
    bool available[AFFINITY_COUNT]; /* which placements this machine allows */
    int cpu_a, cpu_b;               /* the first two CPUs this process may run on (-1: none) */
    cpu_set_t original_mask;
} bench_cpus;

static inline void bench_cpus_restore(const bench_cpus *cpus)
{
    sched_setaffinity(0, sizeof cpus->original_mask, &cpus->original_mask);
}

/* Finds the CPUs and whether pinning works here (a container may forbid it). false if this process's CPU
 * mask cannot be read or is empty: then only AFFINITY_UNPINNED is available. */
static inline bool bench_cpus_setup(bench_cpus *cpus)
{
    cpus->available[AFFINITY_UNPINNED] = true;
    cpus->available[AFFINITY_SAME] = cpus->available[AFFINITY_SPLIT] = false;
    cpus->cpu_a = cpus->cpu_b = -1;
    if (sched_getaffinity(0, sizeof cpus->original_mask, &cpus->original_mask) != 0)
        return false;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &cpus->original_mask))
            continue;
        if (cpus->cpu_a < 0)
            cpus->cpu_a = cpu;
        else if (cpus->cpu_b < 0)
            cpus->cpu_b = cpu;
    }
    if (cpus->cpu_a < 0)
        return false;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpus->cpu_a, &one);
    bool can_pin = sched_setaffinity(0, sizeof one, &one) == 0;
    bench_cpus_restore(cpus);
    cpus->available[AFFINITY_SAME] = can_pin;
    cpus->available[AFFINITY_SPLIT] = can_pin && cpus->cpu_b >= 0;
    return true;
}

/* Places the calling process for `mode`; returns the CPU its peer process pins itself to, -1 for none. */
static inline int bench_cpus_apply(const bench_cpus *cpus, affinity mode)
{
    if (mode == AFFINITY_UNPINNED) {
        bench_cpus_restore(cpus);
        return -1;
    }
    bench_pin_to(cpus->cpu_a);
    return mode == AFFINITY_SAME ? cpus->cpu_a : cpus->cpu_b;
}

#endif /* SIPC_BENCH_STATS_H */
