/*
 * What bench/arpprobe.c and bench/pingprobe.c share: the monotonic clock, ending early on SIGINT/SIGTERM, and
 * sorting round trips for the percentiles they print. Included by both (static functions: one copy per tool).
 */
#ifndef NETMGR_PROBE_COMMON_H
#define NETMGR_PROBE_COMMON_H

#include <signal.h>
#include <time.h>

/* Set by SIGINT or SIGTERM: the prober stops sending and waits for the answers still due. */
static volatile sig_atomic_t stop_early;

static void on_stop(int sig) {
  (void)sig;
  stop_early = 1;
}

/* SIGINT and SIGTERM end the probing early instead of the process. */
static void stop_on_signals(void) {
  signal(SIGINT, on_stop);
  signal(SIGTERM, on_stop);
}

/* CLOCK_MONOTONIC in seconds. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* qsort order for round trips. */
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

#endif
