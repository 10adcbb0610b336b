/*
 * pktblast: a tiny small-packet traffic tool (UDP, and raw Ethernet frames) for bench/datapath.sh.
 *
 *   pktblast send DST_IP DST_PORT SECONDS [BATCH=64]
 *       Sends UDP datagrams with an 18-byte payload (a 60-byte Ethernet frame: 14 + 20 + 8 + 18) with
 *       sendmmsg, as fast as possible, for SECONDS. ENOBUFS/ECONNREFUSED/EAGAIN are ignored.
 *       Prints: sent N pps R secs T
 *
 *   pktblast sink PORT SECONDS
 *       Binds 0.0.0.0:PORT and receives with recvmmsg (batch 64) for at most SECONDS; it also stops once
 *       0.5 s pass without a datagram after the first one arrived (the sender is done).
 *       Prints: received N pps R secs T
 *       where T is the time from the first to the last datagram received and R = N / T.
 *
 *   pktblast rawsend IFNAME DSTMAC SECONDS [BATCH=64] [PPS=0] [SRC=new]
 *       AF_PACKET SOCK_RAW on IFNAME: sends 60-byte Ethernet frames (EtherType 0x88b5, the IEEE local experimental
 *       one) to DSTMAC with sendmmsg, as fast as possible, for SECONDS. Every frame has a NEW source MAC: 02 (locally
 *       administered, unicast) followed by a 40-bit counter, so each frame is a new (source, destination) pair for
 *       a learning switch. The counter starts at CLOCK_REALTIME in units of 100 ns (mod 2^40), so a later run
 *       starts past every address an earlier one used (unless it sent more than 10 M frames/s; the counter wraps
 *       every ~30 hours). ENOBUFS/EAGAIN are ignored (a sender that outpaces the path overflows its queues).
 *       PPS > 0 paces the sender to PPS frames/s (batches sent when due; it sleeps in between). SRC = fixed sends
 *       every frame from the first address (a looped broadcast: one source), new (the default) as above.
 *       Prints: sent N pps R secs T errors E first SRCMAC last SRCMAC
 *
 *   pktblast rawsink IFNAME SECONDS
 *       AF_PACKET SOCK_RAW bound to EtherType 0x88b5 on IFNAME: counts the frames received (not sent) with that
 *       EtherType with recvmmsg (batch 64) for SECONDS (it runs the whole time: start it before the sender and
 *       give it the sender's time plus a margin).
 *       Prints: received N pps R secs T
 *       where T is the time from the first to the last frame received and R = N / T.
 *
 * iperf3 -u cannot measure this (its receiver saturates near 100 kpps on this kind of machine).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD 18
#define MAX_BATCH 1024
#define SINK_BATCH 64
#define SINK_BUF 2048
#define RAW_ETHERTYPE 0x88b5
#define RAW_FRAME 60

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void) {
  fprintf(stderr,
          "usage: pktblast send DST_IP DST_PORT SECONDS [BATCH=64]\n"
          "       pktblast sink PORT SECONDS\n"
          "       pktblast rawsend IFNAME DSTMAC SECONDS [BATCH=64] [PPS=0] [SRC=new|fixed]\n"
          "       pktblast rawsink IFNAME SECONDS\n");
  return 2;
}

static int parse_port(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 1 || v > 65535) return -1;
  return (int)v;
}

static double parse_seconds(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || !(v > 0)) return -1;
  return v;
}

static int do_send(const char *ip, const char *port_s, const char *secs_s, const char *batch_s) {
  int port = parse_port(port_s);
  double secs = parse_seconds(secs_s);
  long batch = batch_s ? strtol(batch_s, NULL, 10) : 64;
  if (port < 0 || secs < 0 || batch < 1 || batch > MAX_BATCH) return usage();

  struct sockaddr_in dst;
  memset(&dst, 0, sizeof dst);
  dst.sin_family = AF_INET;
  dst.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, ip, &dst.sin_addr) != 1) {
    fprintf(stderr, "pktblast: bad IPv4 address %s\n", ip);
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    perror("pktblast: socket");
    return 1;
  }
  int sndbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0) {
    perror("pktblast: connect");
    return 1;
  }

  static char payload[PAYLOAD] = "pktblast-60-bytes";
  static struct iovec iov[MAX_BATCH];
  static struct mmsghdr msgs[MAX_BATCH];
  for (long i = 0; i < batch; i++) {
    iov[i].iov_base = payload;
    iov[i].iov_len = PAYLOAD;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  unsigned long long sent = 0, errors = 0;
  double start = now(), end = start + secs, t = start;
  unsigned iter = 0;
  while (1) {
    /* Read the clock every 16 batches: cheap enough, precise to well under a millisecond. */
    if ((iter++ & 15) == 0) {
      t = now();
      if (t >= end) break;
    }
    int n = sendmmsg(fd, msgs, (unsigned)batch, 0);
    if (n > 0) {
      sent += (unsigned long long)n;
    } else if (n < 0) {
      if (errno == ENOBUFS || errno == ECONNREFUSED || errno == EAGAIN || errno == EINTR) {
        errors++;
        continue;
      }
      perror("pktblast: sendmmsg");
      return 1;
    }
  }
  double took = t - start;
  printf("sent %llu pps %.0f secs %.3f errors %llu\n", sent, took > 0 ? (double)sent / took : 0.0, took, errors);
  close(fd);
  return 0;
}

static int do_sink(const char *port_s, const char *secs_s) {
  int port = parse_port(port_s);
  double secs = parse_seconds(secs_s);
  if (port < 0 || secs < 0) return usage();

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    perror("pktblast: socket");
    return 1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rcvbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  /* recvmmsg's own timeout is only checked between datagrams; a socket timeout bounds every call. */
  struct timeval tv = {0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("pktblast: bind");
    return 1;
  }

  static char bufs[SINK_BATCH][SINK_BUF];
  static struct iovec iov[SINK_BATCH];
  static struct mmsghdr msgs[SINK_BATCH];
  for (int i = 0; i < SINK_BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = SINK_BUF;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  unsigned long long received = 0;
  double start = now(), end = start + secs, first = 0, last = 0;
  while (1) {
    int n = recvmmsg(fd, msgs, SINK_BATCH, MSG_WAITFORONE, NULL);
    double t = now();
    if (n > 0) {
      if (received == 0) first = t;
      received += (unsigned long long)n;
      last = t;
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      perror("pktblast: recvmmsg");
      return 1;
    }
    if (t >= end) break;
    if (received > 0 && t - last >= 0.5) break;
  }
  double took = last - first;
  printf("received %llu pps %.0f secs %.3f\n", received, took > 0 ? (double)received / took : 0.0, took);
  close(fd);
  return 0;
}

static int parse_mac(const char *s, unsigned char mac[6]) {
  unsigned v[6];
  char extra;
  if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &extra) != 6) return -1;
  for (int i = 0; i < 6; i++) mac[i] = (unsigned char)v[i];
  return 0;
}

/* An AF_PACKET raw socket on IFNAME, bound to PROTO (0: receives nothing). */
static int raw_socket(const char *ifname, unsigned short proto, struct sockaddr_ll *sll) {
  unsigned idx = if_nametoindex(ifname);
  if (idx == 0) {
    fprintf(stderr, "pktblast: no interface %s\n", ifname);
    return -1;
  }
  int fd = socket(AF_PACKET, SOCK_RAW, htons(proto));
  if (fd < 0) {
    perror("pktblast: socket(AF_PACKET)");
    return -1;
  }
  memset(sll, 0, sizeof *sll);
  sll->sll_family = AF_PACKET;
  sll->sll_protocol = htons(proto);
  sll->sll_ifindex = (int)idx;
  if (bind(fd, (struct sockaddr *)sll, sizeof *sll) < 0) {
    perror("pktblast: bind(AF_PACKET)");
    close(fd);
    return -1;
  }
  return fd;
}

static void put_mac48(unsigned char *p, unsigned long long counter) {
  p[0] = 0x02; /* locally administered, unicast */
  for (int i = 5; i >= 1; i--) {
    p[i] = (unsigned char)(counter & 0xff);
    counter >>= 8;
  }
}

static void print_mac(const unsigned char *m) {
  printf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int do_rawsend(const char *ifname, const char *dst_s, const char *secs_s, const char *batch_s,
                      const char *pps_s, const char *src_s) {
  unsigned char dst[6];
  double secs = parse_seconds(secs_s);
  long batch = batch_s ? strtol(batch_s, NULL, 10) : 64;
  double pps = pps_s ? strtod(pps_s, NULL) : 0; /* 0: as fast as possible */
  int fixed_src = src_s && strcmp(src_s, "fixed") == 0;
  if (parse_mac(dst_s, dst) < 0 || secs < 0 || batch < 1 || batch > MAX_BATCH || pps < 0 ||
      (src_s && !fixed_src && strcmp(src_s, "new") != 0))
    return usage();

  struct sockaddr_ll sll;
  int fd = raw_socket(ifname, 0, &sll);
  if (fd < 0) return 1;
  int sndbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  /* Every frame goes out with this address: the interface, and the EtherType as the frame's protocol. */
  sll.sll_protocol = htons(RAW_ETHERTYPE);
  sll.sll_halen = 6;
  memcpy(sll.sll_addr, dst, 6);

  static unsigned char frames[MAX_BATCH][RAW_FRAME];
  static struct iovec iov[MAX_BATCH];
  static struct mmsghdr msgs[MAX_BATCH];
  for (long i = 0; i < batch; i++) {
    unsigned char *f = frames[i];
    memset(f, 0, RAW_FRAME);
    memcpy(f, dst, 6);
    f[12] = RAW_ETHERTYPE >> 8;
    f[13] = RAW_ETHERTYPE & 0xff;
    memcpy(f + 14, "pktblast-rawsend", 16);
    iov[i].iov_base = f;
    iov[i].iov_len = RAW_FRAME;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &sll;
    msgs[i].msg_hdr.msg_namelen = sizeof sll;
  }

  struct timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  const unsigned long long mask = (1ULL << 40) - 1;
  unsigned long long first = ((unsigned long long)rt.tv_sec * 10000000ULL + (unsigned long long)rt.tv_nsec / 100) & mask;
  unsigned long long next = first; /* the source address of the next frame not yet sent */
  unsigned long long sent = 0, errors = 0;
  double start = now(), end = start + secs, t = start;
  unsigned iter = 0;
  while (1) {
    if (pps > 0) {
      /* Paced: wait until the next batch is due (start + sent / pps), so a bounded storm costs little CPU. */
      t = now();
      if (t >= end) break;
      double due = start + (double)sent / pps;
      if (due > t) {
        struct timespec ts = {(time_t)(due - t), (long)((due - t - (double)(time_t)(due - t)) * 1e9)};
        nanosleep(&ts, NULL);
        continue;
      }
    } else if ((iter++ & 15) == 0) {
      t = now();
      if (t >= end) break;
    }
    /* Frame i of the batch gets address next + i (fixed: always first); after a partial send the unsent ones are
       renumbered. */
    for (long i = 0; i < batch; i++)
      put_mac48(frames[i] + 6, (fixed_src ? first : next + (unsigned long long)i) & mask);
    int n = sendmmsg(fd, msgs, (unsigned)batch, 0);
    if (n > 0) {
      sent += (unsigned long long)n;
      next += (unsigned long long)n;
    } else if (n < 0) {
      if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR || errno == ENETDOWN) {
        errors++;
        continue;
      }
      perror("pktblast: sendmmsg(AF_PACKET)");
      return 1;
    }
  }
  double took = t - start;
  unsigned char a[6], b[6];
  put_mac48(a, first);
  put_mac48(b, (next - 1) & mask);
  printf("sent %llu pps %.0f secs %.3f errors %llu first ", sent, took > 0 ? (double)sent / took : 0.0, took, errors);
  print_mac(a);
  printf(" last ");
  print_mac(sent ? b : a);
  printf("\n");
  close(fd);
  return 0;
}

static int do_rawsink(const char *ifname, const char *secs_s) {
  double secs = parse_seconds(secs_s);
  if (secs < 0) return usage();
  struct sockaddr_ll sll;
  int fd = raw_socket(ifname, RAW_ETHERTYPE, &sll);
  if (fd < 0) return 1;
  int rcvbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct timeval tv = {0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  static unsigned char bufs[SINK_BATCH][SINK_BUF];
  static struct sockaddr_ll from[SINK_BATCH];
  static struct iovec iov[SINK_BATCH];
  static struct mmsghdr msgs[SINK_BATCH];
  unsigned long long received = 0;
  double start = now(), end = start + secs, first = 0, last = 0;
  while (1) {
    for (int i = 0; i < SINK_BATCH; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = SINK_BUF;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int n = recvmmsg(fd, msgs, SINK_BATCH, MSG_WAITFORONE, NULL);
    double t = now();
    if (n > 0) {
      int got = 0;
      for (int i = 0; i < n; i++) {
        const unsigned char *f = bufs[i];
        if (from[i].sll_pkttype == PACKET_OUTGOING || msgs[i].msg_len < 14) continue;
        if (((f[12] << 8) | f[13]) != RAW_ETHERTYPE) continue;
        got++;
      }
      if (got > 0) {
        if (received == 0) first = t;
        received += (unsigned long long)got;
        last = t;
      }
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      perror("pktblast: recvmmsg(AF_PACKET)");
      return 1;
    }
    if (t >= end) break;
  }
  double took = last - first;
  printf("received %llu pps %.0f secs %.3f\n", received, took > 0 ? (double)received / took : 0.0, took);
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 5 && argc <= 6 && strcmp(argv[1], "send") == 0)
    return do_send(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
  if (argc == 4 && strcmp(argv[1], "sink") == 0) return do_sink(argv[2], argv[3]);
  if (argc >= 5 && argc <= 8 && strcmp(argv[1], "rawsend") == 0)
    return do_rawsend(argv[2], argv[3], argv[4], argc >= 6 ? argv[5] : NULL, argc >= 7 ? argv[6] : NULL,
                      argc >= 8 ? argv[7] : NULL);
  if (argc == 4 && strcmp(argv[1], "rawsink") == 0) return do_rawsink(argv[2], argv[3]);
  return usage();
}
