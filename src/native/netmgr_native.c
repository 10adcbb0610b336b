/*
 * netmgr's thin native addon: only what Node cannot do itself. No switching or netlink logic lives here:
 * framing, codecs and decisions are TypeScript. Every kernel error becomes a JS Error whose `code` is the errno
 * name (EEXIST, ENOENT, ...), `errno` the number and `syscall` the failing call.
 *
 * Calls are synchronous: each one is a handful of syscalls that the kernel answers at once (rtnetlink is
 * processed inside sendmsg), so a blocking call is both the simplest and the fastest shape for the apply path.
 */
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <stddef.h>
#include <unistd.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <netinet/in.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

static const char *errno_name(int e) {
  switch (e) {
#define N(x) case x: return #x;
    N(EPERM) N(ENOENT) N(ESRCH) N(EINTR) N(EIO) N(ENXIO) N(E2BIG) N(EBADF) N(EAGAIN) N(ENOMEM) N(EACCES)
    N(EFAULT) N(EBUSY) N(EEXIST) N(ENODEV) N(ENOTDIR) N(EISDIR) N(EINVAL) N(ENFILE) N(EMFILE) N(ENOSPC)
    N(EROFS) N(ERANGE) N(ENAMETOOLONG) N(ENOSYS) N(ENOTEMPTY) N(ENOBUFS) N(EOPNOTSUPP) N(EADDRINUSE)
    N(EADDRNOTAVAIL) N(ENETDOWN) N(ETIMEDOUT) N(EPROTONOSUPPORT) N(EAFNOSUPPORT) N(EMSGSIZE)
    N(ENOTCONN) N(ECONNREFUSED) N(EFBIG) N(ENOLINK) N(EPROTO) N(ENOTUNIQ) N(ENOTSOCK) N(ENOPROTOOPT)
    N(EBADFD) N(ENOTTY) N(ENETUNREACH) N(EHOSTUNREACH) N(EPIPE) N(EDESTADDRREQ)
#undef N
    default: return "EUNKNOWN";
  }
}

/* Throws a JS Error for errno value e; returns NULL so callers can `return throw_errno(...)`. */
static napi_value throw_errno(napi_env env, int e, const char *syscall, const char *detail) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s%s%s failed: %s (%s)", detail ? detail : "", detail ? ": " : "", syscall,
           strerror(e), errno_name(e));
  napi_value message, code, err, num, sc;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_string_utf8(env, errno_name(e), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, message, &err);
  napi_create_int32(env, e, &num);
  napi_set_named_property(env, err, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, err, "syscall", sc);
  napi_throw(env, err);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static int arg_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

/* The one int32 argument of a call such as closeFd(fd): 0 when it is missing or not a number. */
static int one_int_arg(napi_env env, napi_callback_info info, int32_t *out) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return argc >= 1 && arg_int(env, argv[0], out);
}

static int arg_str(napi_env env, napi_value v, char *buf, size_t len) {
  size_t got;
  return napi_get_value_string_utf8(env, v, buf, len, &got) == napi_ok && got < len - 1;
}

static int arg_buf(napi_env env, napi_value v, void **data, size_t *len) {
  bool is;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is) return 0;
  return napi_get_buffer_info(env, v, data, len) == napi_ok;
}

static napi_value make_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

/*
 * Runs fn() with the calling thread switched into the network namespace open at ns_fd, then switches back.
 * setns() affects only the calling thread, and sockets keep the namespace they were created in.
 */
static int in_netns(int ns_fd, int (*fn)(void *), void *arg, int *err) {
  if (ns_fd < 0) {
    int r = fn(arg);
    if (r < 0) *err = errno;
    return r;
  }
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) { *err = errno; return -1; }
  if (setns(ns_fd, CLONE_NEWNET) < 0) { *err = errno; close(self); return -1; }
  int r = fn(arg);
  int saved = errno;
  if (setns(self, CLONE_NEWNET) < 0) {
    /* Cannot return to our own namespace: continuing would run the process in the wrong one. */
    perror("netmgr: setns back to the original network namespace");
    _exit(70);
  }
  close(self);
  if (r < 0) *err = saved;
  return r;
}

struct nl_open_args { int protocol; };

static int do_nl_socket(void *p) {
  struct nl_open_args *a = p;
  return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, a->protocol);
}

/* nlOpen(protocol, nsFd, rcvbufBytes) -> fd. nsFd -1 means the current namespace. */
static napi_value nl_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t protocol, ns_fd, rcvbuf;
  if (argc < 3 || !arg_int(env, argv[0], &protocol) || !arg_int(env, argv[1], &ns_fd) || !arg_int(env, argv[2], &rcvbuf))
    return throw_type(env, "nlOpen(protocol, nsFd, rcvbuf)");
  struct nl_open_args a = { protocol };
  int err = 0;
  int fd = in_netns(ns_fd, do_nl_socket, &a, &err);
  if (fd < 0) return throw_errno(env, err, "socket", "netlink");
  if (rcvbuf > 0) {
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  int one = 1;
  /* Extended acks carry the kernel's own explanation of an EINVAL; strict checking rejects bad dump filters. */
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "bind", "netlink");
  }
  return make_int(env, fd);
}

/* nlPortId(fd) -> the netlink port id the kernel assigned at bind. */
static napi_value nl_port_id(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!one_int_arg(env, info, &fd)) return throw_type(env, "nlPortId(fd)");
  struct sockaddr_nl sa;
  socklen_t len = sizeof sa;
  if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0) return throw_errno(env, errno, "getsockname", NULL);
  return make_int(env, sa.nl_pid);
}

/* nlSend(fd, buffer, length) -> bytes sent. One sendmsg may carry many netlink messages. */
static napi_value nl_send(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd, length;
  void *data;
  size_t cap;
  if (argc < 3 || !arg_int(env, argv[0], &fd) || !arg_buf(env, argv[1], &data, &cap) || !arg_int(env, argv[2], &length) ||
      length < 0 || (size_t)length > cap)
    return throw_type(env, "nlSend(fd, buffer, length)");
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
  ssize_t n;
  do n = sendto(fd, data, length, 0, (struct sockaddr *)&sa, sizeof sa); while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "sendto", "netlink");
  return make_int(env, n);
}

/*
 * nlRecv(fd, buffer, timeoutMs) -> bytes received into buffer (one datagram). Waits at most timeoutMs;
 * a datagram larger than the buffer is an EMSGSIZE error rather than silent truncation.
 */
static napi_value nl_recv(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd, timeout;
  void *data;
  size_t cap;
  if (argc < 3 || !arg_int(env, argv[0], &fd) || !arg_buf(env, argv[1], &data, &cap) || !arg_int(env, argv[2], &timeout))
    return throw_type(env, "nlRecv(fd, buffer, timeoutMs)");
  struct pollfd p = { .fd = fd, .events = POLLIN };
  int r;
  do r = poll(&p, 1, timeout); while (r < 0 && errno == EINTR);
  if (r < 0) return throw_errno(env, errno, "poll", "netlink");
  if (r == 0) return throw_errno(env, ETIMEDOUT, "recv", "netlink: no answer from the kernel");
  ssize_t n;
  do n = recv(fd, data, cap, MSG_TRUNC); while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "recv", "netlink");
  if ((size_t)n > cap) return throw_errno(env, EMSGSIZE, "recv", "netlink datagram larger than the receive buffer");
  return make_int(env, n);
}

struct netns_create_args { const char *path; };

/*
 * Creates a named network namespace the way `ip netns add` does, so both tools see the same namespaces:
 * /run/netns is a shared mount point and each namespace is a bind mount of a nsfs inode onto an empty file.
 */
static int do_netns_create(void *p) {
  struct netns_create_args *a = p;
  if (unshare(CLONE_NEWNET) < 0) return -1;
  if (mount("/proc/thread-self/ns/net", a->path, "none", MS_BIND, NULL) < 0) return -1;
  return 0;
}

static int ensure_netns_dir(const char *dir) {
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) return -1;
  /* Make the directory a shared mount point (bind it onto itself first if it is not a mount point yet). */
  if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) == 0) return 0;
  if (errno != EINVAL) return -1;
  if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL) < 0) return -1;
  return mount("", dir, "none", MS_SHARED | MS_REC, NULL);
}

/* netnsCreate(dir, name): creates dir/name. EEXIST when it exists already. */
static napi_value netns_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char dir[256], name[256], path[600];
  if (argc < 2 || !arg_str(env, argv[0], dir, sizeof dir) || !arg_str(env, argv[1], name, sizeof name))
    return throw_type(env, "netnsCreate(dir, name)");
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (ensure_netns_dir(dir) < 0) return throw_errno(env, errno, "mount", dir);
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "open", path);
  close(fd);
  struct netns_create_args a = { path };
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) { int e = errno; unlink(path); return throw_errno(env, e, "open", "/proc/thread-self/ns/net"); }
  int r = do_netns_create(&a);
  int e = errno;
  if (setns(self, CLONE_NEWNET) < 0) {
    perror("netmgr: setns back to the original network namespace");
    _exit(70);
  }
  close(self);
  if (r < 0) {
    umount2(path, MNT_DETACH);
    unlink(path);
    return throw_errno(env, e, "unshare/mount", path);
  }
  return NULL;
}

/* netnsRemove(path): detaches the bind mount and removes the file, as `ip netns delete` does. */
static napi_value netns_remove(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[600];
  if (argc < 1 || !arg_str(env, argv[0], path, sizeof path)) return throw_type(env, "netnsRemove(path)");
  if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL) return throw_errno(env, errno, "umount2", path);
  if (unlink(path) < 0) return throw_errno(env, errno, "unlink", path);
  return NULL;
}

struct sysctl_write_args { const char *path; const char *value; };

static int do_sysctl_write(void *p) {
  struct sysctl_write_args *a = p;
  /* /proc/sys/net resolves to the namespace of the thread that opens it, so the open happens inside in_netns. */
  int fd = open(a->path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = strlen(a->value);
  ssize_t n;
  do n = write(fd, a->value, len); while (n < 0 && errno == EINTR);
  int saved = errno;
  close(fd);
  if (n < 0 || (size_t)n != len) { errno = n < 0 ? saved : EIO; return -1; }
  return 0;
}

/* sysctlWrite(nsFd, path, value): writes value to a /proc/sys file as seen from the namespace at nsFd (-1: ours). */
static napi_value sysctl_write(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t ns_fd;
  char path[256], value[64];
  if (argc < 3 || !arg_int(env, argv[0], &ns_fd) || !arg_str(env, argv[1], path, sizeof path) ||
      !arg_str(env, argv[2], value, sizeof value) || strncmp(path, "/proc/sys/", 10) != 0)
    return throw_type(env, "sysctlWrite(nsFd, '/proc/sys/...', value)");
  struct sysctl_write_args a = { path, value };
  int err = 0;
  if (in_netns(ns_fd, do_sysctl_write, &a, &err) < 0) return throw_errno(env, err, "sysctl write", path);
  return NULL;
}

/* flockExclusive(fd, wait) -> true when locked, false when another process holds it and wait is false. */
static napi_value flock_exclusive(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  bool wait = false;
  if (argc < 2 || !arg_int(env, argv[0], &fd) || napi_get_value_bool(env, argv[1], &wait) != napi_ok)
    return throw_type(env, "flockExclusive(fd, wait)");
  int r;
  do r = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)); while (r < 0 && errno == EINTR);
  napi_value out;
  if (r < 0) {
    if (errno == EWOULDBLOCK) { napi_get_boolean(env, false, &out); return out; }
    return throw_errno(env, errno, "flock", NULL);
  }
  napi_get_boolean(env, true, &out);
  return out;
}

/* ------------------------------------------------------------------------------------------------------------
 * Packet I/O for the userspace datapath: TAP devices and AF_PACKET sockets, moved in batches between the kernel
 * and caller-owned Buffers cut into fixed-size slots. Nothing per frame crosses into JS: one call moves a whole
 * batch, and readiness comes from a uv_poll_t that calls one JS function per event. Hot paths use only the stack
 * (at most IO_BATCH message headers per syscall).
 * ------------------------------------------------------------------------------------------------------------ */

#define IO_KIND_TAP 0
#define IO_KIND_PACKET 1
#define IO_BATCH 256           /* frames per recvmmsg/sendmmsg */
#define IO_MIN_SLOT 64         /* room for the 4-byte VLAN headroom, a virtio_net_hdr and an Ethernet header */
#define VNET_HDR_LEN 10        /* struct virtio_net_hdr, no num_buffers */
#define VNET_F_NEEDS_CSUM 1    /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
#define VLAN_TAG_LEN 4

#ifndef TP_STATUS_VLAN_VALID
#define TP_STATUS_VLAN_VALID (1 << 4)
#endif
#ifndef TP_STATUS_VLAN_TPID_VALID
#define TP_STATUS_VLAN_TPID_VALID (1 << 6)
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#ifndef TUN_F_TSO_ECN
#define TUN_F_TSO_ECN 0x08
#endif

static napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

static int arg_bool(napi_env env, napi_value v, bool *out) {
  return napi_get_value_bool(env, v, out) == napi_ok;
}

/* A typed array of exactly the given element type; *data and *len describe its elements. */
static int arg_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) != napi_ok) return 0;
  return type == want;
}

/* tapOpen(name, vnetHdr) -> { fd, name, ifindex }. A non-persistent TAP: it disappears when the fd is closed. */
static napi_value tap_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char name[64];
  bool vnet;
  if (argc < 2 || !arg_str(env, argv[0], name, sizeof name) || !arg_bool(env, argv[1], &vnet))
    return throw_type(env, "tapOpen(name: string, vnetHdr: boolean)");
  if (strlen(name) >= IFNAMSIZ) return throw_range(env, "tapOpen: interface name longer than 15 bytes");
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "open", "/dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, strlen(name));
  const char *what = "TUNSETIFF";
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) goto fail;
  if (vnet) {
    int sz = VNET_HDR_LEN;
    what = "TUNSETVNETHDRSZ";
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) goto fail;
    what = "TUNSETOFFLOAD";
    if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)) < 0) goto fail;
  }
  char actual[IFNAMSIZ + 1];
  memcpy(actual, ifr.ifr_name, IFNAMSIZ);
  actual[IFNAMSIZ] = 0;
  what = "if_nametoindex";
  unsigned ifindex = if_nametoindex(actual);
  if (ifindex == 0) goto fail;
  napi_value out, v;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "fd", make_int(env, fd));
  napi_create_string_utf8(env, actual, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "name", v);
  napi_set_named_property(env, out, "ifindex", make_int(env, ifindex));
  return out;
fail: {
    int e = errno;
    close(fd);
    char detail[96];
    snprintf(detail, sizeof detail, "tap %s", name[0] ? name : "(kernel-named)");
    return throw_errno(env, e, strcmp(what, "if_nametoindex") == 0 ? what : "ioctl", strcmp(what, "if_nametoindex") == 0 ? detail : what);
  }
}

/* packetOpen(ifindex, { vnetHdr, promisc, bufBytes }) -> fd of an AF_PACKET socket bound to that interface. */
static napi_value packet_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t ifindex, bufbytes;
  bool vnet, promisc;
  napi_valuetype t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  napi_value pv, pp, pb;
  if (argc < 2 || !arg_int(env, argv[0], &ifindex) || t != napi_object ||
      napi_get_named_property(env, argv[1], "vnetHdr", &pv) != napi_ok || !arg_bool(env, pv, &vnet) ||
      napi_get_named_property(env, argv[1], "promisc", &pp) != napi_ok || !arg_bool(env, pp, &promisc) ||
      napi_get_named_property(env, argv[1], "bufBytes", &pb) != napi_ok || !arg_int(env, pb, &bufbytes))
    return throw_type(env, "packetOpen(ifindex: number, { vnetHdr: boolean, promisc: boolean, bufBytes: number })");
  /* ifindex 0 would bind to every interface: never what a switch port means. */
  if (ifindex <= 0) return throw_range(env, "packetOpen: ifindex must be > 0");
  /* Protocol 0: no frame is queued before bind() selects the interface. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket", "AF_PACKET");
  int one = 1;
  const char *what;
  what = "setsockopt(PACKET_VNET_HDR)";
  if (vnet && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) goto fail;
  /* Without it the socket reads back its own transmissions. */
  what = "setsockopt(PACKET_IGNORE_OUTGOING)";
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) goto fail;
  what = "setsockopt(PACKET_AUXDATA)";
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) goto fail;
  if (bufbytes > 0) {
    what = "setsockopt(SO_RCVBUFFORCE)";
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufbytes, sizeof bufbytes) < 0) goto fail;
    what = "setsockopt(SO_SNDBUFFORCE)";
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufbytes, sizeof bufbytes) < 0) goto fail;
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  what = "bind";
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) goto fail;
  if (promisc) {
    struct packet_mreq mr;
    memset(&mr, 0, sizeof mr);
    mr.mr_ifindex = ifindex;
    mr.mr_type = PACKET_MR_PROMISC;
    what = "setsockopt(PACKET_ADD_MEMBERSHIP)";
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) goto fail;
  }
  return make_int(env, fd);
fail: {
    int e = errno;
    close(fd);
    char detail[64];
    snprintf(detail, sizeof detail, "AF_PACKET on ifindex %d", ifindex);
    return throw_errno(env, e, what, detail);
  }
}

/* Reads the common (fd, kind, buf) prefix of recvBatch/sendBatch. */
static int arg_io(napi_env env, napi_value *argv, int32_t *fd, int32_t *kind, uint8_t **buf, size_t *buflen) {
  return arg_int(env, argv[0], fd) && arg_int(env, argv[1], kind) && arg_buf(env, argv[2], (void **)buf, buflen);
}

static inline uint16_t rd_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline void wr_le16(uint8_t *p, uint16_t v) { p[0] = v & 0xff; p[1] = v >> 8; }

/* Whether an AF_PACKET socket prepends a virtio_net_hdr (asked only when a frame needs its VLAN tag back). */
static int packet_has_vnet(int fd) {
  int v = 0;
  socklen_t l = sizeof v;
  if (getsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &v, &l) < 0) return 0;
  return v != 0;
}

/*
 * Puts back the 802.1Q/802.1ad tag the kernel stripped into metadata: the frame was received at slot+4, so moving
 * its [vnet header][dst MAC][src MAC] prefix 4 bytes down opens exactly the room for TPID+TCI. A checksum the
 * kernel left to finish starts 4 bytes further on afterwards.
 */
static void vlan_reinsert(uint8_t *slot, uint32_t *len, int vnet, uint16_t tpid, uint16_t tci) {
  uint32_t h = vnet ? VNET_HDR_LEN : 0;
  memmove(slot, slot + VLAN_TAG_LEN, h + 12);
  uint8_t *tag = slot + h + 12;
  tag[0] = tpid >> 8;
  tag[1] = tpid & 0xff;
  tag[2] = tci >> 8;
  tag[3] = tci & 0xff;
  *len += VLAN_TAG_LEN;
  if (vnet && (slot[0] & VNET_F_NEEDS_CSUM)) wr_le16(slot + 6, (uint16_t)(rd_le16(slot + 6) + VLAN_TAG_LEN));
}

static inline int soft_errno(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

/*
 * recvBatch(fd, kind, buf, slotSize, maxFrames, offs, lens, info) -> frames delivered, in slots 0..n-1.
 * info[0] = frames skipped because they did not fit a slot, info[1] = errno that ended the batch (0 when the
 * queue simply ran dry), info[2] = 0.
 */
static napi_value recv_batch(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL);
  int32_t fd, kind, slot, maxf;
  uint8_t *buf;
  size_t buflen, noffs, nlens, ninfo;
  uint32_t *offs, *lens;
  int32_t *inf;
  if (argc < 8 || !arg_io(env, argv, &fd, &kind, &buf, &buflen) || !arg_int(env, argv[3], &slot) ||
      !arg_int(env, argv[4], &maxf) || !arg_typed(env, argv[5], napi_uint32_array, (void **)&offs, &noffs) ||
      !arg_typed(env, argv[6], napi_uint32_array, (void **)&lens, &nlens) ||
      !arg_typed(env, argv[7], napi_int32_array, (void **)&inf, &ninfo))
    return throw_type(env, "recvBatch(fd, kind, buf: Buffer, slotSize, maxFrames, offs: Uint32Array, lens: Uint32Array, info: Int32Array)");
  if (kind != IO_KIND_TAP && kind != IO_KIND_PACKET) return throw_range(env, "recvBatch: kind must be IO_KIND_TAP or IO_KIND_PACKET");
  if (slot < IO_MIN_SLOT) return throw_range(env, "recvBatch: slotSize must be at least 64");
  if (maxf < 0) return throw_range(env, "recvBatch: maxFrames must be >= 0");
  if ((uint64_t)slot * (uint64_t)maxf > buflen || (uint64_t)slot * (uint64_t)maxf > UINT32_MAX)
    return throw_range(env, "recvBatch: slotSize * maxFrames exceeds the buffer");
  if (noffs < (size_t)maxf || nlens < (size_t)maxf) return throw_range(env, "recvBatch: offs and lens need maxFrames entries");
  if (ninfo < 3) return throw_range(env, "recvBatch: info needs 3 entries");
  inf[0] = inf[1] = inf[2] = 0;
  uint32_t n = 0, max = (uint32_t)maxf, sz = (uint32_t)slot;

  if (kind == IO_KIND_TAP) {
    while (n < max) {
      ssize_t r = read(fd, buf + (size_t)n * sz, sz);
      if (r < 0) {
        if (!soft_errno(errno)) inf[1] = errno;
        break;
      }
      if ((size_t)r > sz) { inf[0]++; continue; } /* tun reports the full length of a frame it had to cut */
      offs[n] = n * sz;
      lens[n] = (uint32_t)r;
      n++;
    }
    return make_int(env, n);
  }

  struct mmsghdr msgs[IO_BATCH];
  struct iovec iov[IO_BATCH];
  union {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
  } ctl[IO_BATCH];
  int vnet = -1; /* unknown until a tagged frame needs it */
  while (n < max) {
    unsigned k = max - n < IO_BATCH ? max - n : IO_BATCH;
    for (unsigned i = 0; i < k; i++) {
      iov[i].iov_base = buf + (size_t)(n + i) * sz + VLAN_TAG_LEN;
      iov[i].iov_len = sz - VLAN_TAG_LEN;
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = ctl[i].bytes;
      msgs[i].msg_hdr.msg_controllen = sizeof ctl[i].bytes;
      msgs[i].msg_len = 0;
    }
    int r = recvmmsg(fd, msgs, k, MSG_DONTWAIT, NULL);
    if (r < 0) {
      if (!soft_errno(errno)) inf[1] = errno;
      break;
    }
    uint32_t got = 0;
    for (int i = 0; i < r; i++) {
      uint32_t len = msgs[i].msg_len;
      if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || len > sz - VLAN_TAG_LEN) { inf[0]++; continue; }
      uint32_t dst = n + got;
      uint8_t *base = buf + (size_t)dst * sz;
      if (dst != n + (uint32_t)i) memmove(base + VLAN_TAG_LEN, buf + (size_t)(n + i) * sz + VLAN_TAG_LEN, len);
      uint32_t off = dst * sz + VLAN_TAG_LEN;
      for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
            c->cmsg_len < CMSG_LEN(sizeof(struct tpacket_auxdata)))
          continue;
        struct tpacket_auxdata aux;
        memcpy(&aux, CMSG_DATA(c), sizeof aux);
        if (!(aux.tp_status & TP_STATUS_VLAN_VALID) && aux.tp_vlan_tci == 0) break;
        if (vnet < 0) vnet = packet_has_vnet(fd);
        if (len < (vnet ? VNET_HDR_LEN : 0) + 12u) break;
        uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : 0x8100;
        vlan_reinsert(base, &len, vnet, tpid, aux.tp_vlan_tci);
        off = dst * sz;
        break;
      }
      offs[dst] = off;
      lens[dst] = len;
      got++;
    }
    n += got;
    if ((unsigned)r < k) break;
  }
  return make_int(env, n);
}

/*
 * sendBatch(fd, kind, buf, offs, lens, first, count, info) -> frames sent. Never blocks:
 * info[0] = frames dropped because the socket or queue was full (EAGAIN/ENOBUFS ends the batch),
 * info[1] = frames the kernel (or the bounds check) rejected, info[2] = errno of the last rejection.
 */
static napi_value send_batch(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL);
  int32_t fd, kind, first, count;
  uint8_t *buf;
  size_t buflen, noffs, nlens, ninfo;
  uint32_t *offs, *lens;
  int32_t *inf;
  if (argc < 8 || !arg_io(env, argv, &fd, &kind, &buf, &buflen) ||
      !arg_typed(env, argv[3], napi_uint32_array, (void **)&offs, &noffs) ||
      !arg_typed(env, argv[4], napi_uint32_array, (void **)&lens, &nlens) || !arg_int(env, argv[5], &first) ||
      !arg_int(env, argv[6], &count) || !arg_typed(env, argv[7], napi_int32_array, (void **)&inf, &ninfo))
    return throw_type(env, "sendBatch(fd, kind, buf: Buffer, offs: Uint32Array, lens: Uint32Array, first, count, info: Int32Array)");
  if (kind != IO_KIND_TAP && kind != IO_KIND_PACKET) return throw_range(env, "sendBatch: kind must be IO_KIND_TAP or IO_KIND_PACKET");
  if (first < 0 || count < 0) return throw_range(env, "sendBatch: first and count must be >= 0");
  uint64_t end = (uint64_t)first + (uint64_t)count;
  if (end > noffs || end > nlens) return throw_range(env, "sendBatch: first + count exceeds offs or lens");
  if (ninfo < 3) return throw_range(env, "sendBatch: info needs 3 entries");
  inf[0] = inf[1] = inf[2] = 0;
  uint32_t sent = 0, j = (uint32_t)first, stop = (uint32_t)end;
#define IN_BOUNDS(x) ((uint64_t)offs[x] + (uint64_t)lens[x] <= buflen)

  if (kind == IO_KIND_TAP) {
    for (; j < stop; j++) {
      if (!IN_BOUNDS(j)) { inf[1]++; inf[2] = EINVAL; continue; }
      ssize_t r;
      do r = write(fd, buf + offs[j], lens[j]); while (r < 0 && errno == EINTR);
      if (r >= 0) { sent++; continue; }
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) break;
      inf[1]++;
      inf[2] = e;
    }
  } else {
    struct mmsghdr msgs[IO_BATCH];
    struct iovec iov[IO_BATCH];
    while (j < stop) {
      unsigned k = 0;
      for (; j < stop && k < IO_BATCH; j++) {
        if (!IN_BOUNDS(j)) { inf[1]++; inf[2] = EINVAL; continue; }
        iov[k].iov_base = buf + offs[j];
        iov[k].iov_len = lens[j];
        memset(&msgs[k].msg_hdr, 0, sizeof msgs[k].msg_hdr);
        msgs[k].msg_hdr.msg_iov = &iov[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
        msgs[k].msg_len = 0;
        k++;
      }
      unsigned i = 0;
      while (i < k) {
        int r = sendmmsg(fd, msgs + i, k - i, MSG_DONTWAIT);
        if (r > 0) { sent += r; i += r; continue; }
        int e = r == 0 ? EAGAIN : errno;
        if (e == EINTR) continue;
        if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
          inf[0] += k - i; /* this chunk's unsent frames; later chunks are counted below */
          goto full;
        }
        inf[1]++; /* this one frame is bad; the rest of the chunk still goes */
        inf[2] = e;
        i++;
      }
    }
    return make_int(env, sent);
  }
full:
  /* The queue is full: everything not yet tried is dropped (frames out of bounds are still rejections). */
  if (kind == IO_KIND_TAP && j < stop) { inf[0]++; j++; }
  for (; j < stop; j++) {
    if (!IN_BOUNDS(j)) { inf[1]++; inf[2] = EINVAL; }
    else inf[0]++;
  }
#undef IN_BOUNDS
  return make_int(env, sent);
}

/*
 * pollStart(fd, onReadable) -> handle; pollStop(handle). A ref'd uv_poll_t watching the fd for readability that
 * calls onReadable() through napi_make_callback, so process.nextTick and promise jobs run right after it. Stop the
 * poll BEFORE closing its fd.
 *
 * Lifetime: the JS handle (an external) and the uv handle each own the context; it is freed when both are gone.
 * While polling, a strong reference pins the JS handle so a forgotten handle cannot be collected into a poll no one
 * can stop. A cleanup hook closes a still-running poll when the environment (e.g. a Worker) is torn down.
 */
typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref cb;          /* onReadable */
  napi_ref self;        /* strong reference to the JS handle while polling */
  napi_async_context actx;
  int fd;
  unsigned closing : 1;  /* uv_close requested (or about to be) */
  unsigned closed : 1;   /* uv close callback ran */
  unsigned finalized : 1;/* JS handle collected */
  unsigned hook : 1;     /* env cleanup hook registered */
  unsigned in_cb : 1;    /* inside onReadable */
  unsigned js_pending : 1; /* JS references still to release */
} poll_ctx;

static const napi_type_tag POLL_TAG = { 0x6e65746d67727069ULL, 0x706f6c6c68616e64ULL };

static void poll_maybe_free(poll_ctx *c) {
  if (c->closed && c->finalized) free(c);
}

static void poll_on_close(uv_handle_t *h) {
  poll_ctx *c = h->data;
  c->closed = 1;
  poll_maybe_free(c);
}

static void poll_close_uv(poll_ctx *c) {
  if (c->closing) return;
  c->closing = 1;
  uv_poll_stop(&c->poll);
  uv_close((uv_handle_t *)&c->poll, poll_on_close);
}

static void poll_env_cleanup(void *arg) {
  poll_ctx *c = arg;
  c->hook = 0; /* a hook that ran is no longer registered */
  poll_close_uv(c);
}

/* Releases the JS-side references; only from a context where N-API may be called (a call or our uv callback). */
static void poll_release_js(poll_ctx *c) {
  napi_env env = c->env;
  if (c->hook) { napi_remove_env_cleanup_hook(env, poll_env_cleanup, c); c->hook = 0; }
  if (c->cb) { napi_delete_reference(env, c->cb); c->cb = NULL; }
  if (c->actx) { napi_async_destroy(env, c->actx); c->actx = NULL; }
  if (c->self) { napi_delete_reference(env, c->self); c->self = NULL; }
  c->js_pending = 0;
}

static void poll_finalize(napi_env env, void *data, void *hint) {
  poll_ctx *c = data;
  c->finalized = 1;
  /* Only reachable while polling when the environment is going away (the strong reference pins it otherwise). */
  if (c->hook) { napi_remove_env_cleanup_hook(env, poll_env_cleanup, c); c->hook = 0; }
  poll_close_uv(c);
  poll_maybe_free(c);
}

static void poll_on_event(uv_poll_t *h, int status, int events) {
  poll_ctx *c = h->data;
  if (c->closing || !c->cb) return;
  napi_env env = c->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, result;
  if (napi_get_reference_value(env, c->cb, &fn) == napi_ok && fn != NULL) {
    napi_get_global(env, &recv); /* napi_make_callback needs an object receiver */
    c->in_cb = 1;
    napi_status s = napi_make_callback(env, c->actx, recv, fn, 0, NULL, &result);
    c->in_cb = 0;
    if (s != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value exc;
        /* Report it as Node reports any uncaught exception ('uncaughtException', else exit). */
        if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
      }
    }
  }
  if (c->closing) {
    if (c->js_pending) poll_release_js(c); /* pollStop ran inside the callback */
  } else if (status < 0) {
    /*
     * libuv stops a poll whose fd reports POLLERR (e.g. ENETDOWN on a packet socket when its link went down). The
     * callback above let the caller read, and so clear, a socket error: keep watching then, so the port resumes
     * when the link comes back. An fd still in error (a TAP whose device was deleted: EBADFD for good) stays
     * stopped instead of calling back in a busy loop; the caller saw the error in recvBatch's info[1].
     */
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    if (poll(&p, 1, 0) >= 0 && !(p.revents & (POLLERR | POLLNVAL)))
      uv_poll_start(&c->poll, UV_READABLE, poll_on_event);
  }
  napi_close_handle_scope(env, scope);
}

static napi_value poll_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  napi_valuetype t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  if (argc < 2 || !arg_int(env, argv[0], &fd) || t != napi_function) return throw_type(env, "pollStart(fd, onReadable: () => void)");
  if (fd < 0) return throw_errno(env, EBADF, "pollStart", NULL);
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return throw_errno(env, EINVAL, "napi_get_uv_event_loop", NULL);
  poll_ctx *c = calloc(1, sizeof *c);
  if (!c) return throw_errno(env, ENOMEM, "pollStart", NULL);
  c->env = env;
  c->fd = fd;
  int r = uv_poll_init(loop, &c->poll, fd);
  if (r < 0) {
    free(c);
    return throw_errno(env, -r, "uv_poll_init", NULL);
  }
  c->poll.data = c;
  napi_value ext, resource, name;
  if (napi_create_external(env, c, poll_finalize, NULL, &ext) != napi_ok) {
    /* Nothing in JS owns c yet: the close callback alone frees it. */
    c->finalized = 1;
    poll_close_uv(c);
    return NULL;
  }
  napi_type_tag_object(env, ext, &POLL_TAG);
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "netmgr:poll", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &c->actx);
  napi_create_reference(env, argv[1], 1, &c->cb);
  napi_create_reference(env, ext, 1, &c->self);
  c->js_pending = 1;
  napi_add_env_cleanup_hook(env, poll_env_cleanup, c);
  c->hook = 1;
  r = uv_poll_start(&c->poll, UV_READABLE, poll_on_event);
  if (r < 0) {
    poll_close_uv(c);
    poll_release_js(c);
    return throw_errno(env, -r, "uv_poll_start", NULL);
  }
  return ext;
}

static napi_value poll_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool ok = false;
  void *data = NULL;
  if (argc < 1 || napi_check_object_type_tag(env, argv[0], &POLL_TAG, &ok) != napi_ok || !ok ||
      napi_get_value_external(env, argv[0], &data) != napi_ok)
    return throw_type(env, "pollStop(handle): not a handle returned by pollStart");
  poll_ctx *c = data;
  poll_close_uv(c);
  if (c->js_pending && !c->in_cb) poll_release_js(c); /* inside the callback: released once it returns */
  return NULL;
}

/*
 * packetDrops(fd) -> frames the kernel dropped on this AF_PACKET socket since the last call (its receive queue was
 * full: the datapath did not read fast enough). getsockopt(PACKET_STATISTICS) returns the counts and zeroes them,
 * so the caller adds each answer to its own total.
 */
static napi_value packet_drops(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!one_int_arg(env, info, &fd)) return throw_type(env, "packetDrops(fd)");
  struct tpacket_stats st;
  socklen_t len = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0)
    return throw_errno(env, errno, "getsockopt", "PACKET_STATISTICS");
  return make_int(env, st.tp_drops);
}

/* closeFd(fd). */
static napi_value close_fd(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!one_int_arg(env, info, &fd)) return throw_type(env, "closeFd(fd)");
  /* EINTR from close(2) on Linux still means the fd is gone: retrying could close someone else's. */
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, errno, "close", NULL);
  return NULL;
}

/*
 * closeFdLater(fd): close(2) on a thread of its own. Closing an AF_PACKET socket waits for an RCU grace period
 * (packet_release calls synchronize_net): tens of ms each, 8 s for the 200 ports of one apply, during which the
 * forwarding thread that closed them forwarded nothing. One closer thread, started at the first call, takes the
 * descriptors from a queue. The caller must not use fd again; its number is not reused until the close is done.
 * When the thread cannot be started or the queue cannot grow, the close happens here, as closeFd's.
 */
static pthread_mutex_t closer_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t closer_ready = PTHREAD_COND_INITIALIZER;
static int *closer_queue;
static size_t closer_len, closer_cap;
static int closer_started;

static void *closer_main(void *unused) {
  for (;;) {
    pthread_mutex_lock(&closer_mutex);
    while (closer_len == 0) pthread_cond_wait(&closer_ready, &closer_mutex);
    int fd = closer_queue[--closer_len];
    pthread_mutex_unlock(&closer_mutex);
    close(fd);
  }
  return NULL;
}

/* Queues fd for the closer thread (started on first use); 0 when queued, -1 when the caller must close it. */
static int closer_enqueue(int fd) {
  int queued = -1;
  pthread_mutex_lock(&closer_mutex);
  if (!closer_started) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, closer_main, NULL) == 0) closer_started = 1;
    pthread_attr_destroy(&attr);
  }
  if (closer_started && closer_len == closer_cap) {
    size_t cap = closer_cap ? closer_cap * 2 : 256;
    int *q = realloc(closer_queue, cap * sizeof *q);
    if (q) closer_queue = q, closer_cap = cap;
  }
  if (closer_started && closer_len < closer_cap) {
    closer_queue[closer_len++] = fd;
    pthread_cond_signal(&closer_ready);
    queued = 0;
  }
  pthread_mutex_unlock(&closer_mutex);
  return queued;
}

static napi_value close_fd_later(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!one_int_arg(env, info, &fd) || fd < 0) return throw_type(env, "closeFdLater(fd)");
  if (closer_enqueue(fd) < 0 && close(fd) < 0 && errno != EINTR) return throw_errno(env, errno, "close", NULL);
  return NULL;
}

/*
 * sdNotify(socketPath, message) -> bytes sent: one datagram to systemd's notification socket ($NOTIFY_SOCKET), as
 * sd_notify(3) sends it. socketPath is a file system path ('/...') or an abstract name ('@...': the '@' becomes the
 * leading NUL byte). The kernel attaches our credentials itself (systemd sets SO_PASSCRED on its end), which is how
 * systemd knows the message comes from the main process.
 */
static napi_value sd_notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char sock_path[256];
  void *data;
  size_t len;
  if (argc < 2 || !arg_str(env, argv[0], sock_path, sizeof sock_path) || !arg_buf(env, argv[1], &data, &len))
    return throw_type(env, "sdNotify(socketPath: string, message: Buffer)");
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  size_t n = strlen(sock_path);
  if (sock_path[0] != '/' && sock_path[0] != '@')
    return throw_errno(env, EAFNOSUPPORT, "sdNotify", "NOTIFY_SOCKET is neither a path nor an abstract '@' name");
  if (n < 2) return throw_errno(env, EINVAL, "sdNotify", "NOTIFY_SOCKET names no socket");
  if (n > sizeof sa.sun_path - (sock_path[0] == '/')) return throw_errno(env, ENAMETOOLONG, "sdNotify", sock_path);
  memcpy(sa.sun_path, sock_path, n);
  if (sock_path[0] == '@') sa.sun_path[0] = 0;
  /* An abstract name is exactly its n bytes (no terminating NUL); a path is counted with its NUL. */
  socklen_t salen = offsetof(struct sockaddr_un, sun_path) + n + (sock_path[0] == '/');
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket", "sdNotify");
  /* A datagram send blocks while the receiver's queue is full: bound that wait, the event loop is blocked meanwhile. */
  struct timeval tv = { .tv_sec = 5 };
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ssize_t sent;
  do sent = sendto(fd, data, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen); while (sent < 0 && errno == EINTR);
  int e = errno;
  close(fd);
  if (sent < 0) return throw_errno(env, e, "sendto", sock_path);
  return make_int(env, sent);
}

/*
 * udpOpen(address, port, ttl, df) -> fd: a UDP socket bound to address:port (a tunnel port's underlay end; IPv4 or,
 * for an address with a ':', IPv6 only), non-blocking, close-on-exec, with the outer TTL (hop limit) and the
 * don't-fragment policy set (IP(V6)_PMTUDISC_DO: DF set over IPv4, and no local fragmentation over either, so the
 * kernel's path MTU refuses what does not fit; IP_PMTUDISC_DONT clears DF; an IPv6 router never fragments).
 * Synchronous, so that a UDP port already taken (EADDRINUSE) or an address the host does not have (EADDRNOTAVAIL)
 * fails the call itself.
 */
static napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char addr[64];
  int32_t port, ttl;
  bool df = false;
  if (argc < 4 || !arg_str(env, argv[0], addr, sizeof addr) || !arg_int(env, argv[1], &port) ||
      !arg_int(env, argv[2], &ttl) || napi_get_value_bool(env, argv[3], &df) != napi_ok || port < 0 ||
      port > 65535 || ttl < 1 || ttl > 255)
    return throw_type(env, "udpOpen(ipAddress, port 0..65535, ttl 1..255, df)");
  struct sockaddr_in sa4;
  struct sockaddr_in6 sa6;
  memset(&sa4, 0, sizeof sa4);
  memset(&sa6, 0, sizeof sa6);
  int v6 = strchr(addr, ':') != NULL;
  if (v6 ? inet_pton(AF_INET6, addr, &sa6.sin6_addr) != 1 : inet_pton(AF_INET, addr, &sa4.sin_addr) != 1)
    return throw_type(env, "udpOpen(ipAddress, port 0..65535, ttl 1..255, df)");
  sa4.sin_family = AF_INET;
  sa4.sin_port = htons((uint16_t)port);
  sa6.sin6_family = AF_INET6;
  sa6.sin6_port = htons((uint16_t)port);
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket", addr);
  int one = 1;
  int pmtu4 = df ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT;
  int pmtu6 = df ? IPV6_PMTUDISC_DO : IPV6_PMTUDISC_DONT;
  int failed = v6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0 ||
                        setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl) < 0 ||
                        setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu6, sizeof pmtu6) < 0 ||
                        bind(fd, (struct sockaddr *)&sa6, sizeof sa6) < 0
                  : setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) < 0 ||
                        setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu4, sizeof pmtu4) < 0 ||
                        bind(fd, (struct sockaddr *)&sa4, sizeof sa4) < 0;
  if (failed) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "bind", addr);
  }
  return make_int(env, fd);
}

#define EXPORT(name, fn)                                                      \
  do {                                                                        \
    napi_value f;                                                             \
    napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);          \
    napi_set_named_property(env, exports, name, f);                           \
  } while (0)

/*
 * Context-aware (NAPI_MODULE_INIT): the module is initialised once per Node environment that loads it - netmgrd's
 * main thread and its forwarding worker (a worker_threads Worker) each get their own exports. The addon keeps no
 * mutable global state: a poll's state lives in its poll_ctx, bound to the environment that created it, its uv_poll_t
 * runs on that environment's own loop (napi_get_uv_event_loop: the worker's loop in the worker) and a cleanup hook
 * closes it when that environment is torn down; every other call works on its arguments and the stack only, and
 * setns() in in_netns switches the calling thread alone.
 */
NAPI_MODULE_INIT() {
  EXPORT("nlOpen", nl_open);
  EXPORT("nlPortId", nl_port_id);
  EXPORT("nlSend", nl_send);
  EXPORT("nlRecv", nl_recv);
  EXPORT("netnsCreate", netns_create);
  EXPORT("netnsRemove", netns_remove);
  EXPORT("flockExclusive", flock_exclusive);
  EXPORT("sysctlWrite", sysctl_write);
  EXPORT("tapOpen", tap_open);
  EXPORT("packetOpen", packet_open);
  EXPORT("recvBatch", recv_batch);
  EXPORT("sendBatch", send_batch);
  EXPORT("pollStart", poll_start);
  EXPORT("pollStop", poll_stop);
  EXPORT("packetDrops", packet_drops);
  EXPORT("closeFd", close_fd);
  EXPORT("closeFdLater", close_fd_later);
  EXPORT("sdNotify", sd_notify);
  EXPORT("udpOpen", udp_open);
  return exports;
}

