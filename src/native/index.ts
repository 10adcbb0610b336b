/** Typed access to the C addon (src/native/netmgr_native.c), built by node-gyp on `npm ci`. */
import * as path from 'path';
import { packageRoot } from '../util/paths';

export interface NativeError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

/** `kind` argument of recvBatch/sendBatch: a TAP fd from tapOpen (read/write per frame). */
export const IO_KIND_TAP = 0;
/** `kind` argument of recvBatch/sendBatch: an AF_PACKET fd from packetOpen (recvmmsg/sendmmsg). */
export const IO_KIND_PACKET = 1;

/** A non-persistent TAP device: it disappears when `fd` is closed. The link is left down. */
export interface TapDevice {
  fd: number;
  /** The kernel's actual name (useful when '' asked the kernel to pick one). */
  name: string;
  /** ifindex in the namespace it was created in (it changes only if the link is later moved). */
  ifindex: number;
}

export interface PacketOpenOptions {
  /** Prepend a 10-byte virtio_net_hdr to every frame read and expect one on every frame written. */
  vnetHdr: boolean;
  /** PACKET_MR_PROMISC on the interface (undone by the kernel when the socket closes). */
  promisc: boolean;
  /** SO_RCVBUFFORCE and SO_SNDBUFFORCE; <= 0 keeps the kernel defaults. */
  bufBytes: number;
}

/** Opaque handle of a readiness watcher (an external object). */
export type PollHandle = object;

export interface NativeAddon {
  nlOpen(protocol: number, nsFd: number, rcvbuf: number): number;
  nlPortId(fd: number): number;
  nlSend(fd: number, buf: Buffer, length: number): number;
  nlRecv(fd: number, buf: Buffer, timeoutMs: number): number;
  netnsCreate(dir: string, name: string): void;
  netnsRemove(path: string): void;
  flockExclusive(fd: number, wait: boolean): boolean;
  /** Writes `value` to a /proc/sys file as the namespace open at nsFd (-1: this process's) sees it; throws errno. */
  sysctlWrite(nsFd: number, path: string, value: string): void;

  /**
   * Opens /dev/net/tun as a TAP (IFF_TAP|IFF_NO_PI, |IFF_VNET_HDR with a 10-byte header and TSO/CSUM offloads when
   * vnetHdr). name '' lets the kernel pick (tapN). The fd is non-blocking and stays valid after the link is moved
   * to another namespace.
   */
  tapOpen(name: string, vnetHdr: boolean): TapDevice;
  /**
   * An AF_PACKET socket bound to ifindex (ETH_P_ALL, PACKET_IGNORE_OUTGOING, PACKET_AUXDATA); non-blocking.
   * Throws RangeError for ifindex <= 0 and an errno error (ENODEV, EPERM, ...) when the kernel refuses.
   */
  packetOpen(ifindex: number, opts: PacketOpenOptions): number;
  /**
   * Receives up to maxFrames frames without blocking; frame i lands in slot i (base i*slotSize) at offs[i] with
   * length lens[i] (including the vnet header when there is one); returns n, slots 0..n-1 are valid.
   * PACKET frames arrive at base+4; a VLAN tag the kernel stripped is put back (frame then starts at base, length
   * +4, csum_start +4 when NEEDS_CSUM). Requires slotSize >= 64, slotSize*maxFrames <= buf.length, offs/lens with
   * maxFrames entries, info with 3 (TypeError/RangeError otherwise).
   * info[0] = frames skipped because they did not fit a slot; info[1] = errno that ended the batch, else 0.
   */
  recvBatch(
    fd: number,
    kind: number,
    buf: Buffer,
    slotSize: number,
    maxFrames: number,
    offs: Uint32Array,
    lens: Uint32Array,
    info: Int32Array,
  ): number;
  /**
   * Sends frames buf[offs[j], offs[j]+lens[j]) for j in [first, first+count) without blocking; returns frames sent.
   * info[0] = dropped (EAGAIN/ENOBUFS: the rest of the batch is dropped); info[1] = rejected (the kernel refused
   * that one frame, e.g. EINVAL for a bad virtio_net_hdr, or it lies outside buf), info[2] = errno of the last
   * rejection. sent + info[0] + info[1] === count.
   */
  sendBatch(
    fd: number,
    kind: number,
    buf: Buffer,
    offs: Uint32Array,
    lens: Uint32Array,
    first: number,
    count: number,
    info: Int32Array,
  ): number;
  /**
   * Calls onReadable() (as a top-level callback: nextTicks and microtasks run after it) whenever fd is readable.
   * The handle keeps the event loop alive until pollStop. A throw from onReadable is reported like any uncaught
   * exception. An error on the fd (POLLERR) also calls onReadable, so recvBatch reports it in info[1] (which clears
   * a socket error, e.g. ENETDOWN after a link flap: watching then continues). An fd that stays in error (a TAP whose
   * device was deleted: EBADFD) is not watched any more; pollStop is still needed to release the handle.
   */
  pollStart(fd: number, onReadable: () => void): PollHandle;
  /** Stops and closes the watcher; idempotent, also inside onReadable. Call it BEFORE closing the fd. */
  pollStop(handle: PollHandle): void;
  /**
   * Frames the kernel dropped on an AF_PACKET socket (its receive queue was full) since the previous call:
   * getsockopt(PACKET_STATISTICS), which zeroes the kernel's counts. Throws an errno error (ENOPROTOOPT for a
   * socket that is not AF_PACKET, EBADF).
   */
  packetDrops(fd: number): number;
  /** close(2); throws an errno error (EBADF, ...). */
  closeFd(fd: number): void;
  /**
   * close(2) on netmgr's closer thread, for a descriptor whose close blocks (an AF_PACKET socket's waits for an
   * RCU grace period): returns at once; the caller must not use fd again. Closes here when the thread cannot run.
   */
  closeFdLater(fd: number): void;
  /**
   * Sends message as one datagram to systemd's notification socket, as sd_notify(3) does: socketPath is
   * $NOTIFY_SOCKET, a path ('/run/systemd/notify') or an abstract name ('@...'). Returns the bytes sent; throws an
   * errno error (ENOENT, ECONNREFUSED, EAFNOSUPPORT for any other form, ENAMETOOLONG, EAGAIN after 5 s of a full
   * queue, ...).
   */
  sdNotify(socketPath: string, message: Buffer): number;
  /**
   * A UDP socket bound to address:port ('0.0.0.0' / '::': every address; an address with ':' makes an IPv6-only
   * socket), non-blocking, with the TTL / hop limit `ttl` and DF set or cleared (IP(V6)_MTU_DISCOVER DO / DONT);
   * returns its fd, for dgram's bind({ fd }). Throws an errno error: EADDRINUSE (the port is taken), EADDRNOTAVAIL
   * (the host has no such address), ...
   */
  udpOpen(address: string, port: number, ttl: number, df: boolean): number;
}

let loaded: NativeAddon | undefined;

export function native(): NativeAddon {
  if (!loaded) {
    const file = path.join(packageRoot(), 'build', 'Release', 'netmgr_native.node');
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a .node addon, path known at run time
      loaded = require(file) as NativeAddon;
    } catch (e) {
      throw new Error(
        `netmgr's native addon is missing or broken (${file}): ${(e as Error).message}\n` +
          `  hint: rebuild it with \`npm rebuild\` (needs python3, make and a C compiler)`,
      );
    }
  }
  return loaded;
}
