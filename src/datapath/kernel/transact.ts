/**
 * Pipelined netlink requests, as OVS's nl_transact_multiple: every request of a batch is sent first, each asking
 * for an ack, and the answers are collected afterwards, matched by sequence number. The kernel handles a generic
 * netlink request inside the send, so a batch costs one receive per answer instead of one wait per request.
 */
import { native, type NativeError } from '../../native';
import {
  errnoName,
  NetlinkError,
  NetlinkSocket,
  NLM_F_ACK,
  NLM_F_REQUEST,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  parseError,
  parseMessages,
  writeHeader,
} from '../../netlink/socket';

export interface NetlinkRequest {
  type: number;
  flags: number;
  /** Everything after the nlmsghdr. */
  payload: Buffer;
}

/**
 * Answers are read here. A failure answer carries the whole request back (no NETLINK_CAP_ACK), so it must hold
 * the largest request: an execute of a 64 KiB GSO frame with its key and actions.
 */
const ACK_BUFFER = 1 << 18;
let ackBuffer: Buffer | undefined;

/**
 * Sends every request, then waits for their acks. Returns one entry per request: undefined when the kernel
 * accepted it, else its NetlinkError (a request whose answer never came fails with ETIMEDOUT). Answers to earlier
 * fire-and-forget sends that arrive meanwhile go to the socket's onStaleError.
 */
export function transactMany(
  sock: NetlinkSocket,
  reqs: readonly NetlinkRequest[],
  what: string,
): Array<NetlinkError | undefined> {
  const n = native();
  const out = new Array<NetlinkError | undefined>(reqs.length).fill(undefined);
  const pending = new Map<number, number>();
  for (let i = 0; i < reqs.length; i++) {
    const r = reqs[i];
    const seq = sock.nextSeq();
    const msg = Buffer.allocUnsafe(NLMSG_HDRLEN + r.payload.length);
    writeHeader(msg, msg.length, r.type, r.flags | NLM_F_REQUEST | NLM_F_ACK, seq);
    r.payload.copy(msg, NLMSG_HDRLEN);
    try {
      n.nlSend(sock.fd, msg, msg.length);
      pending.set(seq, i);
    } catch (e) {
      const code = (e as NativeError).code ?? 'EIO';
      out[i] = new NetlinkError(code, 0, undefined, what);
    }
  }
  const rx = (ackBuffer ??= Buffer.allocUnsafe(ACK_BUFFER));
  while (pending.size) {
    let len: number;
    try {
      len = n.nlRecv(sock.fd, rx, sock.timeoutMs);
    } catch (e) {
      const code = (e as NativeError).code ?? 'EIO';
      for (const i of pending.values()) out[i] = new NetlinkError(code, 0, undefined, what);
      break;
    }
    for (const m of parseMessages(rx, len)) {
      if (m.type !== NLMSG_ERROR) continue;
      const i = pending.get(m.seq);
      const { errno, kernelMessage } = parseError(m);
      if (i === undefined) {
        if (errno !== 0) sock.onStaleError?.(errno, kernelMessage);
        continue;
      }
      pending.delete(m.seq);
      if (errno !== 0) out[i] = new NetlinkError(errnoName(errno), errno, kernelMessage, what);
    }
  }
  return out;
}
