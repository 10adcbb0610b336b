/*
 * netmgr's thin native addon: only what Node cannot do itself. No switching or netlink logic lives here:
 * framing, codecs and decisions are TypeScript. Every kernel error becomes a JS Error whose `code` is the errno
 * name (EEXIST, ENOENT, ...), `errno` the number and `syscall` the failing call.
 *
 * Calls are synchronous: each one is a handful of syscalls that the kernel answers at once (rtnetlink is
 * processed inside sendmsg), so a blocking call is both the simplest and the fastest shape for the apply path.
 */
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/netlink.h>

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
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (argc < 1 || !arg_int(env, argv[0], &fd)) return throw_type(env, "nlPortId(fd)");
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

#define EXPORT(name, fn)                                                      \
  do {                                                                        \
    napi_value f;                                                             \
    napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);          \
    napi_set_named_property(env, exports, name, f);                           \
  } while (0)

static napi_value init(napi_env env, napi_value exports) {
  EXPORT("nlOpen", nl_open);
  EXPORT("nlPortId", nl_port_id);
  EXPORT("nlSend", nl_send);
  EXPORT("nlRecv", nl_recv);
  EXPORT("netnsCreate", netns_create);
  EXPORT("netnsRemove", netns_remove);
  EXPORT("flockExclusive", flock_exclusive);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
