/*
 * arpprobe: how long a learning switch takes to carry a NEW (source, destination) pair, again and again.
 *
 *   arpprobe IFNAME SENDER_IP TARGET_IP INTERVAL_MS SECONDS
 *       Every INTERVAL_MS, sends a broadcast ARP request (RFC 826) for TARGET_IP from SENDER_IP on IFNAME through an
 *       AF_PACKET socket, each from a source MAC never used before (02, locally administered, then a 40-bit counter
 *       started at CLOCK_REALTIME in 100 ns units, as pktblast rawsend). The target's kernel answers with a unicast
 *       ARP reply to that MAC. On a learning switch both frames are flow misses: the request is an upcall (learn
 *       the new source, flood), the reply another (destination just learned, forward). The round trip of each
 *       probe is therefore the switch's upcall handling, twice, plus the wire.
 *       A probe not answered within 1 s is lost. SIGINT or SIGTERM ends the probing early (the answers to the
 *       probes already sent are still waited for).
 *       Prints: probes N answered M lost L median_ms X p99_ms Y max_ms Z
 *
 * Used by the kernel datapath's control-isolation test in the VM (test/vm/guest/40-kernel-control-isolation.test.js):
 * upcalls must keep being answered while netmgrd applies a large unit set.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "probe-common.h"

#define ARP_FRAME 60       /* 14 + 28, padded to the Ethernet minimum */
#define ARPOP_REQUEST_ 1   /* RFC 826 ar$op */
#define ARPOP_REPLY_ 2
#define LOST_AFTER 1.0     /* seconds */
#define MAX_PROBES 100000

static void put_mac48(unsigned char *p, unsigned long long counter) {
  p[0] = 0x02;
  for (int i = 5; i >= 1; i--) {
    p[i] = (unsigned char)(counter & 0xff);
    counter >>= 8;
  }
}

static unsigned long long mac48(const unsigned char *p) {
  unsigned long long v = 0;
  for (int i = 1; i < 6; i++) v = (v << 8) | p[i];
  return v;
}

/* The ARP request for TARGET from SENDER at SRC (RFC 826 field order: hrd, pro, hln, pln, op, sha, spa, tha, tpa). */
static void build_request(unsigned char *f, const unsigned char src[6], struct in_addr sender, struct in_addr target) {
  memset(f, 0, ARP_FRAME);
  memset(f, 0xff, 6);
  memcpy(f + 6, src, 6);
  f[12] = 0x08, f[13] = 0x06;
  f[14] = 0, f[15] = 1;       /* Ethernet */
  f[16] = 0x08, f[17] = 0x00; /* IPv4 */
  f[18] = 6, f[19] = 4;
  f[20] = 0, f[21] = ARPOP_REQUEST_;
  memcpy(f + 22, src, 6);
  memcpy(f + 28, &sender, 4);
  memcpy(f + 38, &target, 4);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct in_addr sender, target;
  if (argc != 6 || inet_pton(AF_INET, argv[2], &sender) != 1 || inet_pton(AF_INET, argv[3], &target) != 1) {
    fprintf(stderr, "usage: arpprobe IFNAME SENDER_IP TARGET_IP INTERVAL_MS SECONDS\n");
    return 2;
  }
  double interval = atof(argv[4]) / 1000, secs = atof(argv[5]);
  unsigned idx = if_nametoindex(argv[1]);
  if (idx == 0 || interval <= 0 || secs <= 0) {
    fprintf(stderr, "arpprobe: no interface %s, or a bad interval or duration\n", argv[1]);
    return 2;
  }
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ARP));
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP), .sll_ifindex = (int)idx};
  if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    perror("arpprobe: AF_PACKET socket");
    return 1;
  }
  static double sent_at[MAX_PROBES], rtt[MAX_PROBES];
  struct timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  const unsigned long long mask = (1ULL << 40) - 1;
  unsigned long long first = ((unsigned long long)rt.tv_sec * 10000000ULL + (unsigned long long)rt.tv_nsec / 100) & mask;
  long probes = 0, answered = 0;
  double start = now(), next = start, end = start + secs;
  stop_on_signals();
  for (;;) {
    double t = now();
    if (stop_early && t < end) end = t;
    if (t >= next && t < end && probes < MAX_PROBES) {
      unsigned char f[ARP_FRAME], src[6];
      put_mac48(src, (first + (unsigned long long)probes) & mask);
      build_request(f, src, sender, target);
      sent_at[probes] = now();
      rtt[probes] = -1;
      probes++;
      if (send(fd, f, ARP_FRAME, 0) < 0 && errno != ENOBUFS && errno != EAGAIN) {
        perror("arpprobe: send");
        return 1;
      }
      next += interval;
    }
    if (t >= end + LOST_AFTER) break;
    double wait = (t < end ? next : end + LOST_AFTER) - now();
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, wait > 0 ? (int)(wait * 1000) + 1 : 0) <= 0) continue;
    unsigned char r[1600];
    ssize_t n = recv(fd, r, sizeof r, MSG_DONTWAIT);
    double got = now();
    if (n < 42 || r[20] != 0 || r[21] != ARPOP_REPLY_ || memcmp(r + 28, &target, 4) != 0) continue;
    long k = (long)((mac48(r + 32) - first) & mask); /* tha: the probe's own address */
    if (k < 0 || k >= probes || rtt[k] >= 0 || got - sent_at[k] > LOST_AFTER) continue;
    rtt[k] = (got - sent_at[k]) * 1000;
    answered++;
  }
  double *ok = malloc(sizeof(double) * (size_t)(answered > 0 ? answered : 1));
  long m = 0;
  for (long k = 0; k < probes; k++)
    if (rtt[k] >= 0) ok[m++] = rtt[k];
  qsort(ok, (size_t)m, sizeof(double), cmp_double);
  printf("probes %ld answered %ld lost %ld median_ms %.2f p99_ms %.2f max_ms %.2f\n", probes, answered,
         probes - answered, m ? ok[m / 2] : 0.0, m ? ok[(m * 99) / 100 < m ? (m * 99) / 100 : m - 1] : 0.0,
         m ? ok[m - 1] : 0.0);
  free(ok);
  close(fd);
  return 0;
}
