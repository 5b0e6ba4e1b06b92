/*
 * bench_stats.h — the statistics and CPU pinning that `sipc bench` (bench.c) and the peer
 * benchmark (test/bench/peers/peers_bench.c) share, so both report figures computed the same way.
 * Linux only, like the benchmarks.
 */
#ifndef SIPC_BENCH_STATS_H
#define SIPC_BENCH_STATS_H

#include <sched.h>
#include <stddef.h>
#include <stdlib.h>

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

#endif /* SIPC_BENCH_STATS_H */
