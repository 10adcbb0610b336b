/*
 * pingprobe: ICMP echo on a strict schedule, for measuring how long a path stops forwarding.
 *
 *   pingprobe TARGET_IP INTERVAL_MS [SECONDS=3600]
 *       Sends an ICMP echo request (RFC 792) to TARGET_IP every INTERVAL_MS, each at its scheduled time (start +
 *       k * interval, never drifting after a late one, unlike iputils ping, whose next send is timed from the
 *       last one: on a 2-core machine with nothing else running, `ping -i 0.01` over a plain veth pair shows gaps
 *       of 20 ms between replies by itself). Ends after SECONDS, or on SIGINT/SIGTERM, then waits 1 s for the
 *       answers still due. A request not answered within 1 s is lost.
 *       Prints: probes N answered M lost L longest_gap_ms G median_ms X max_ms Y p99_ms Z
 *       where G is the longest time between two consecutive replies (or from the last one to the end), and X, Y
 *       and Z (the 99th percentile) are round trips of the answered probes. Run it at high priority (nice -20): the prober must not wait for a CPU itself.
 *
 * Used by bench/control-isolation.sh and bench/storm.sh.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "probe-common.h"

#define LOST_AFTER 1.0 /* seconds */
#define MAX_PROBES 1000000

/* RFC 1071 Internet checksum. */
static unsigned short checksum(const void *data, size_t len) {
  const unsigned char *p = data;
  unsigned long sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (unsigned long)(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += (unsigned long)(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((unsigned short)~sum);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sockaddr_in to = {.sin_family = AF_INET};
  if (argc < 3 || argc > 4 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
    fprintf(stderr, "usage: pingprobe TARGET_IP INTERVAL_MS [SECONDS=3600]\n");
    return 2;
  }
  double interval = atof(argv[2]) / 1000, secs = argc == 4 ? atof(argv[3]) : 3600;
  if (interval <= 0 || secs <= 0 || secs / interval >= MAX_PROBES) {
    fprintf(stderr, "pingprobe: bad interval or duration (at most %d probes)\n", MAX_PROBES);
    return 2;
  }
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (fd < 0) {
    perror("pingprobe: socket(SOCK_RAW, IPPROTO_ICMP)");
    return 1;
  }
  static double sent_at[MAX_PROBES], rtt[MAX_PROBES];
  const unsigned short id = (unsigned short)getpid();
  stop_on_signals();
  long probes = 0, answered = 0;
  double start = now(), next = start, end = start + secs, last_reply = start, gap = 0;
  for (;;) {
    double t = now();
    if (stop_early && t < end) end = t;
    if (t >= next && t < end) {
      struct icmphdr h = {.type = ICMP_ECHO};
      h.un.echo.id = htons(id);
      h.un.echo.sequence = htons((unsigned short)probes);
      h.checksum = checksum(&h, sizeof h);
      sent_at[probes] = now();
      rtt[probes++] = -1;
      if (sendto(fd, &h, sizeof h, 0, (struct sockaddr *)&to, sizeof to) < 0 && errno != ENOBUFS && errno != EAGAIN)
        perror("pingprobe: sendto");
      next += interval;
    }
    if (t >= end + LOST_AFTER) break;
    double wait = (t < end ? next : end + LOST_AFTER) - now();
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, wait > 0 ? (int)(wait * 1000) + 1 : 0) <= 0) continue;
    unsigned char r[1500];
    ssize_t n = recv(fd, r, sizeof r, MSG_DONTWAIT);
    double got = now();
    if (n < (ssize_t)sizeof(struct iphdr)) continue;
    size_t ihl = (size_t)(r[0] & 0x0f) * 4;
    if ((size_t)n < ihl + sizeof(struct icmphdr)) continue;
    const struct icmphdr *e = (const struct icmphdr *)(r + ihl);
    if (e->type != ICMP_ECHOREPLY || ntohs(e->un.echo.id) != id) continue;
    /* The sequence number is 16 bits: the probe is the latest one sent with it. */
    long k = probes - 1 - (long)((unsigned short)(probes - 1) - ntohs(e->un.echo.sequence));
    if (k < 0 || rtt[k] >= 0 || got - sent_at[k] > LOST_AFTER) continue;
    rtt[k] = (got - sent_at[k]) * 1000;
    answered++;
    if (got < end + LOST_AFTER && got - last_reply > gap) gap = got - last_reply;
    last_reply = got;
  }
  if (end - last_reply > gap) gap = end - last_reply;
  double *ok = malloc(sizeof(double) * (size_t)(answered > 0 ? answered : 1));
  long m = 0;
  for (long k = 0; k < probes; k++)
    if (rtt[k] >= 0) ok[m++] = rtt[k];
  qsort(ok, (size_t)m, sizeof(double), cmp_double);
  printf("probes %ld answered %ld lost %ld longest_gap_ms %.1f median_ms %.2f max_ms %.2f p99_ms %.2f\n", probes,
         answered, probes - answered, gap * 1000, m ? ok[m / 2] : 0.0, m ? ok[m - 1] : 0.0,
         m ? ok[(m * 99 - 1) / 100] : 0.0);
  free(ok);
  close(fd);
  return 0;
}
