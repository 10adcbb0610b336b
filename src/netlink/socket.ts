/**
 * A synchronous netlink socket, opened in any network namespace. Requests are answered by the kernel within
 * sendmsg for rtnetlink and genl, so request/ack round trips are cheap and keep the apply path simple.
 */
import * as fs from 'fs';
import { native } from '../native';
import { LENIENT, attrTable, readCString } from './attr';
import { NetmgrError, type ErrorKind } from '../util/errors';

export const NETLINK_ROUTE = 0;
export const NETLINK_GENERIC = 16;

export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** In NLMSG_ERROR replies: the original request was capped to its header / extended-ack TLVs follow. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

const RECV_BUFFER = 1 << 20;
const DEFAULT_TIMEOUT_MS = 10_000;

/** One received netlink message: header fields plus a view of the payload after the 16-byte header. */
export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

/** A kernel rejection: errno name (`code`, also `errno`) and number, plus the kernel's explanation from an extended ack. */
export class NetlinkError extends NetmgrError {
  constructor(
    readonly code: string,
    readonly errnoNumber: number,
    readonly kernelMessage: string | undefined,
    what: string,
  ) {
    super(kindOfErrno(code), `${what}: ${code}${kernelMessage ? ` (kernel: ${kernelMessage})` : ''}`, code);
  }
}

/** The error kind a kernel errno means to a caller. */
function kindOfErrno(code: string): ErrorKind {
  switch (code) {
    case 'ENOENT':
    case 'ENODEV':
    case 'ESRCH':
      return 'not-found';
    case 'EEXIST':
    case 'EADDRINUSE':
      return 'exists';
    case 'EBUSY':
    case 'EAGAIN':
      return 'busy';
    case 'EOPNOTSUPP':
    case 'ENOSYS':
    case 'EPROTONOSUPPORT':
      return 'unsupported';
    default:
      return 'failed';
  }
}

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  5: 'EIO',
  6: 'ENXIO',
  7: 'E2BIG',
  9: 'EBADF',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  16: 'EBUSY',
  17: 'EEXIST',
  19: 'ENODEV',
  22: 'EINVAL',
  23: 'ENFILE',
  24: 'EMFILE',
  27: 'EFBIG',
  28: 'ENOSPC',
  34: 'ERANGE',
  36: 'ENAMETOOLONG',
  38: 'ENOSYS',
  61: 'ENODATA',
  71: 'EPROTO',
  75: 'EOVERFLOW',
  90: 'EMSGSIZE',
  93: 'EPROTONOSUPPORT',
  95: 'EOPNOTSUPP',
  98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL',
  105: 'ENOBUFS',
  110: 'ETIMEDOUT',
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

export function writeHeader(buf: Buffer, len: number, type: number, flags: number, seq: number): void {
  buf.writeUInt32LE(len, 0);
  buf.writeUInt16LE(type, 4);
  buf.writeUInt16LE(flags, 6);
  buf.writeUInt32LE(seq, 8);
  buf.writeUInt32LE(0, 12);
}

/** Splits one datagram into messages. */
export function parseMessages(buf: Buffer, length: number): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > length) break;
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += (len + 3) & ~3;
  }
  return out;
}

/** Decodes an NLMSG_ERROR payload: 0 for an ack, else a positive errno plus the extended-ack text. */
export function parseError(msg: NetlinkMessage): { errno: number; kernelMessage?: string } {
  const p = msg.payload;
  const errno = -p.readInt32LE(0);
  if (errno === 0 || !(msg.flags & NLM_F_ACK_TLVS)) return { errno };
  // After the error code comes the original request: only its header when capped, else all of it.
  const origLen = p.length >= 8 ? p.readUInt32LE(4) : 0;
  const tlvStart = 4 + (msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : (origLen + 3) & ~3);
  const tlvs = attrTable(p.subarray(Math.min(tlvStart, p.length)), LENIENT);
  const text = tlvs.get(NLMSGERR_ATTR_MSG);
  return { errno, kernelMessage: text ? readCString(text) : undefined };
}

export class NetlinkSocket {
  readonly fd: number;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly rx = Buffer.allocUnsafe(RECV_BUFFER);
  private closed = false;
  /** Called with the errno of a failure answer to an earlier request sent without waiting (send()). */
  onStaleError: ((errno: number, kernelMessage: string | undefined) => void) | undefined;

  /** nsFd: an open fd of /run/netns/NAME (or -1 for this process's namespace). */
  constructor(
    readonly protocol: number,
    nsFd = -1,
    readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.fd = native().nlOpen(protocol, nsFd, 4 << 20);
  }

  get portId(): number {
    return native().nlPortId(this.fd);
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /**
   * Sends one request (payload after the nlmsghdr) and collects the answer: the messages of a dump until
   * NLMSG_DONE, or the ack. Throws NetlinkError on a kernel rejection; `what` names the operation for the message.
   */
  request(type: number, flags: number, payload: Uint8Array, what: string): NetlinkMessage[] {
    if (this.closed) throw new Error(`${what}: netlink socket already closed`);
    const seq = this.nextSeq();
    const msg = Buffer.allocUnsafe(NLMSG_HDRLEN + payload.length);
    writeHeader(msg, msg.length, type, flags | NLM_F_REQUEST | NLM_F_ACK, seq);
    msg.set(payload, NLMSG_HDRLEN);
    const n = native();
    n.nlSend(this.fd, msg, msg.length);
    const replies: NetlinkMessage[] = [];
    const dump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    for (;;) {
      const len = n.nlRecv(this.fd, this.rx, this.timeoutMs);
      for (const m of parseMessages(this.rx, len)) {
        if (m.seq !== seq) {
          // A stale answer: to an abandoned request, or the failure of one sent without waiting.
          this.reportStale(m);
          continue;
        }
        if (m.type === NLMSG_ERROR) {
          const { errno, kernelMessage } = parseError(m);
          if (errno !== 0) throw new NetlinkError(errnoName(errno), errno, kernelMessage, what);
          if (!dump) return replies;
          continue;
        }
        if (m.type === NLMSG_DONE) {
          const errno = m.payload.length >= 4 ? -m.payload.readInt32LE(0) : 0;
          if (errno > 0) throw new NetlinkError(errnoName(errno), errno, undefined, what);
          return replies;
        }
        if (m.type === NLMSG_NOOP) continue;
        // Copy: the receive buffer is reused by the next recv.
        replies.push({ ...m, payload: Buffer.from(m.payload) });
      }
    }
  }

  /**
   * Sends one request without asking for an ack and without waiting: the kernel answers only a failure, which the
   * next request() skips as a stale sequence number. For fire-and-forget work on a hot path (packet execute).
   */
  send(type: number, flags: number, payload: Uint8Array): void {
    if (this.closed) throw new Error('netlink socket already closed');
    const msg = Buffer.allocUnsafe(NLMSG_HDRLEN + payload.length);
    writeHeader(msg, msg.length, type, flags | NLM_F_REQUEST, this.nextSeq());
    msg.set(payload, NLMSG_HDRLEN);
    native().nlSend(this.fd, msg, msg.length);
  }

  private reportStale(m: NetlinkMessage): void {
    if (m.type !== NLMSG_ERROR || !this.onStaleError) return;
    const { errno, kernelMessage } = parseError(m);
    if (errno !== 0) this.onStaleError(errno, kernelMessage);
  }

  /** Reads the failure answers that arrived for send()s (reported through onStaleError), without blocking. */
  drain(): void {
    const n = native();
    for (;;) {
      let len: number;
      try {
        len = n.nlRecv(this.fd, this.rx, 0);
      } catch {
        return; // ETIMEDOUT: nothing waiting
      }
      for (const m of parseMessages(this.rx, len)) {
        this.reportStale(m);
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}
