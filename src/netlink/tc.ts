/**
 * Traffic control over rtnetlink: the one tc object netmgr needs, an ingress drop on an interface that the
 * userspace datapath has attached with AF_PACKET.
 *
 * Why: a frame received on an attached port is delivered to AF_PACKET taps (the datapath) and then continues into
 * the host's own stack, so the host would answer ARP, ICMP and TCP for traffic that belongs to the switch, and
 * route it. A clsact qdisc with a filter whose verdict is TC_ACT_SHOT stops the frame at tc ingress. AF_PACKET taps
 * still see it, because the kernel hands a received frame to taps (ptype_all) before it runs the ingress
 * classifier; test/integration/host-isolation.test.ts checks that on the running kernel.
 *
 * The filter is a matchall classifier with a gact drop action. Kernels built without either of those
 * (CONFIG_NET_CLS_MATCHALL, CONFIG_NET_ACT_GACT; minimal VM kernels leave them out) answer ENOENT, and netmgr then
 * installs the same drop as a cls_bpf filter in direct-action mode running a two-instruction classic BPF program
 * that returns TC_ACT_SHOT; classic BPF travels inside the netlink message, so no bpf() syscall or object file is
 * needed. Both sit at the same prio and handle, so detection and removal do not care which one was used.
 *
 * Constants carry the kernel's names (include/uapi/linux/rtnetlink.h, pkt_sched.h, pkt_cls.h, tc_act/tc_gact.h,
 * filter.h, bpf_common.h, if_ether.h).
 */
import { LENIENT, NlAttrWriter, RTNETLINK_RULES, attrTable, optU32, readAttrs, readCString } from './attr';
import { hasErrno } from '../util/errors';
import { AF_UNSPEC } from './rtnl';
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NetlinkError, NetlinkSocket } from './socket';

export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_GETQDISC = 38;
export const RTM_NEWTFILTER = 44;
export const RTM_DELTFILTER = 45;
export const RTM_GETTFILTER = 46;

/** struct tcmsg: family u8, 3 bytes padding, ifindex s32, handle u32, parent u32, info u32. */
export const TCMSG_LEN = 20;

export const TCA_KIND = 1;
export const TCA_OPTIONS = 2;
export const TCA_CHAIN = 11;

export const TC_H_MAJ_MASK = 0xffff0000;
export const TC_H_MIN_MASK = 0x0000ffff;
export const TC_H_INGRESS = 0xfffffff1;
export const TC_H_CLSACT = TC_H_INGRESS;
export const TC_H_MIN_INGRESS = 0xfff2;
export const TC_H_MIN_EGRESS = 0xfff3;

/** TC_H_MAKE(maj, min), as an unsigned 32-bit value. */
export const TC_H_MAKE = (maj: number, min: number): number => ((maj & TC_H_MAJ_MASK) | (min & TC_H_MIN_MASK)) >>> 0;

export const ETH_P_ALL = 0x0003;
/** htons(): tcm_info carries the filter's protocol in network byte order in its low 16 bits. */
const htons = (v: number): number => ((v & 0xff) << 8) | ((v >> 8) & 0xff);

export const TCA_MATCHALL_ACT = 2;

export const TCA_ACT_KIND = 1;
export const TCA_ACT_OPTIONS = 2;
export const TCA_ACT_COOKIE = 6;
/** Largest action cookie the kernel accepts (TC_COOKIE_MAX_SIZE). */
export const TC_COOKIE_MAX_SIZE = 16;

export const TCA_GACT_PARMS = 2;
export const TC_ACT_SHOT = 2;
/** struct tc_gact (tc_gen): index u32, capab u32, action s32, refcnt s32, bindcnt s32. */
export const TC_GACT_LEN = 20;

export const TCA_BPF_OPS_LEN = 4;
export const TCA_BPF_OPS = 5;
export const TCA_BPF_FLAGS = 8;
export const TCA_BPF_FLAG_ACT_DIRECT = 1 << 0;
/** Classic BPF opcodes (struct sock_filter: code u16, jt u8, jf u8, k u32). */
export const BPF_LD = 0x00;
export const BPF_W = 0x00;
export const BPF_IMM = 0x00;
export const BPF_RET = 0x06;
export const BPF_K = 0x00;
const SOCK_FILTER_LEN = 8;

/** The clsact qdisc: attached at parent TC_H_CLSACT with handle ffff:0. */
const CLSACT_PARENT = TC_H_CLSACT;
const CLSACT_HANDLE = TC_H_MAKE(TC_H_CLSACT, 0);
/** Filters on the clsact (or ingress) qdisc's ingress hook: `tc filter ... ingress`. */
const INGRESS_PARENT = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
const EGRESS_PARENT = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS);

/** What netmgr installed on one interface, persisted in its ownership record so detach/crash recovery can undo it. */
export interface IngressDrop {
  ifindex: number;
  name: string;
  /** True when netmgr created the clsact qdisc (and so removes it again); false when it was already there. */
  createdQdisc: boolean;
  prio: number;
  handle: number;
}

/**
 * The priority of netmgr's filter. Filters of one hook run in ascending prio order and the first verdict ends the
 * walk. A low number would put netmgr in front of every other tool's ingress program (eBPF agents, mirroring,
 * policing); this high one lets them see the frame first and makes netmgr's drop the last word for whatever they
 * leave undecided. The price: a foreign filter at a lower prio that returns a verdict of its own (`action pass`,
 * TC_ACT_OK) hands the frame to the host stack before netmgr's drop is reached (the integration test shows it).
 * 0xfe01 stays clear of the priorities tc hands out when none is given (49152 = 0xc000 for the first filter of
 * a hook, counting down from there), so a plain `tc filter add` never lands on it, and it is unusual enough to
 * identify netmgr's filter together with the handle. A foreign filter already at this prio makes install fail
 * (EEXIST, or EINVAL when its kind differs) rather than share it.
 */
export const NETMGR_FILTER_PRIO = 0xfe01;
/** The filter's handle, 'NM': with the prio, how netmgr recognises its own filter. */
export const NETMGR_FILTER_HANDLE = 0x4e4d;

/**
 * netmgr marks its filter with whether it created the qdisc, so a repeated install reads the answer back from the
 * kernel even when the first install's record is lost: in the gact action's cookie (opaque to the kernel, echoed
 * in dumps), or, for the cls_bpf form, in the constant the program loads into the accumulator (no effect).
 */
const COOKIE_PREFIX = 'netmgr;qdisc=';
const cookieFor = (createdQdisc: boolean): Buffer => Buffer.from(COOKIE_PREFIX + (createdQdisc ? '1' : '0'), 'ascii');
const BPF_MARK = NETMGR_FILTER_HANDLE << 16;
const bpfMarkFor = (createdQdisc: boolean): number => (BPF_MARK | (createdQdisc ? 1 : 0)) >>> 0;

/** struct tcmsg fields. */
export interface TcMsg {
  ifindex: number;
  handle: number;
  parent: number;
  info: number;
}

export function encodeTcMsg(m: TcMsg): Buffer {
  const b = Buffer.alloc(TCMSG_LEN);
  b.writeUInt8(AF_UNSPEC, 0);
  b.writeInt32LE(m.ifindex, 4);
  b.writeUInt32LE(m.handle >>> 0, 8);
  b.writeUInt32LE(m.parent >>> 0, 12);
  b.writeUInt32LE(m.info >>> 0, 16);
  return b;
}

export function decodeTcMsg(p: Buffer): TcMsg {
  return { ifindex: p.readInt32LE(4), handle: p.readUInt32LE(8), parent: p.readUInt32LE(12), info: p.readUInt32LE(16) };
}

/** tcm_info of a filter: prio in the upper 16 bits, protocol (network order) in the lower. */
const filterInfo = (prio: number, protocol = ETH_P_ALL): number => TC_H_MAKE(prio << 16, htons(protocol));

function encodeGact(action: number): Buffer {
  const b = Buffer.alloc(TC_GACT_LEN);
  b.writeInt32LE(action, 8);
  return b;
}

interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

function encodeClassicBpf(prog: SockFilter[]): Buffer {
  const b = Buffer.alloc(prog.length * SOCK_FILTER_LEN);
  prog.forEach((i, n) => {
    b.writeUInt16LE(i.code, n * SOCK_FILTER_LEN);
    b.writeUInt8(i.jt, n * SOCK_FILTER_LEN + 2);
    b.writeUInt8(i.jf, n * SOCK_FILTER_LEN + 3);
    b.writeUInt32LE(i.k >>> 0, n * SOCK_FILTER_LEN + 4);
  });
  return b;
}

function decodeClassicBpf(b: Buffer): SockFilter[] {
  const out: SockFilter[] = [];
  for (let off = 0; off + SOCK_FILTER_LEN <= b.length; off += SOCK_FILTER_LEN) {
    out.push({
      code: b.readUInt16LE(off),
      jt: b.readUInt8(off + 2),
      jf: b.readUInt8(off + 3),
      k: b.readUInt32LE(off + 4),
    });
  }
  return out;
}

/** `A = mark; return TC_ACT_SHOT`: in direct-action mode the return value is the verdict. */
const dropProgram = (createdQdisc: boolean): SockFilter[] => [
  { code: BPF_LD | BPF_W | BPF_IMM, jt: 0, jf: 0, k: bpfMarkFor(createdQdisc) },
  { code: BPF_RET | BPF_K, jt: 0, jf: 0, k: TC_ACT_SHOT },
];

/** One filter as read from a dump. The dump also lists each prio/protocol with handle 0 and no options. */
export interface FilterRecord {
  ifindex: number;
  parent: number;
  prio: number;
  /** Host byte order, e.g. ETH_P_ALL. */
  protocol: number;
  handle: number;
  chain: number;
  kind: string;
  /** Set when this is netmgr's drop (matchall, or bpf running netmgr's program), with what its mark says about the qdisc. */
  netmgrDrop?: { createdQdisc: boolean };
}

/** A matchall at netmgr's prio and handle is netmgr's; its action cookie, if there, tells whether it made the qdisc. */
function readMatchallDrop(opts: Buffer): { createdQdisc: boolean } {
  const acts = attrTable(opts, LENIENT).get(TCA_MATCHALL_ACT);
  // Actions are nested under their order (1, 2, ...).
  for (const a of acts ? readAttrs(acts, LENIENT) : []) {
    if (attrTable(a.payload, LENIENT).get(TCA_ACT_COOKIE)?.equals(cookieFor(true))) return { createdQdisc: true };
  }
  return { createdQdisc: false };
}

/** bpf in direct-action mode running netmgr's program. */
function readBpfDrop(opts: Buffer): { createdQdisc: boolean } | undefined {
  const t = attrTable(opts, LENIENT);
  const flags = optU32(t.get(TCA_BPF_FLAGS));
  const ops = t.get(TCA_BPF_OPS);
  if (!(flags & TCA_BPF_FLAG_ACT_DIRECT) || !ops) return undefined;
  const prog = decodeClassicBpf(ops);
  for (const created of [true, false]) {
    const want = dropProgram(created);
    if (
      prog.length === want.length &&
      prog.every((i, n) => i.code === want[n].code && i.k === want[n].k && i.jt === 0 && i.jf === 0)
    ) {
      return { createdQdisc: created };
    }
  }
  return undefined;
}

function decodeFilter(payload: Buffer): FilterRecord {
  const hdr = decodeTcMsg(payload);
  const t = attrTable(payload.subarray(TCMSG_LEN), LENIENT);
  const rec: FilterRecord = {
    ifindex: hdr.ifindex,
    parent: hdr.parent,
    prio: hdr.info >>> 16,
    protocol: htons(hdr.info & TC_H_MIN_MASK),
    handle: hdr.handle,
    chain: optU32(t.get(TCA_CHAIN)),
    kind: readCString(t.get(TCA_KIND) ?? Buffer.alloc(0)),
  };
  // Each prio/protocol is also listed once with handle 0 and no options: not a filter, no mark.
  const opts = t.get(TCA_OPTIONS);
  if (opts && hdr.handle !== 0) {
    const drop = rec.kind === 'matchall' ? readMatchallDrop(opts) : rec.kind === 'bpf' ? readBpfDrop(opts) : undefined;
    if (drop) rec.netmgrDrop = drop;
  }
  return rec;
}

/** The filters of one hook (parent) of an interface, every chain. Empty when the interface or qdisc is absent. */
export function dumpFilters(sock: NetlinkSocket, ifindex: number, parent: number): FilterRecord[] {
  const req = encodeTcMsg({ ifindex, handle: 0, parent, info: 0 });
  return sock
    .request(RTM_GETTFILTER, NLM_F_DUMP, req, `dump tc filters of ifindex ${ifindex}`)
    .filter((m) => m.type === RTM_NEWTFILTER)
    .map((m) => decodeFilter(m.payload))
    .filter((f) => f.ifindex === ifindex && f.parent === parent);
}

/** Any filter at this prio and handle on the ingress hook (chain 0), whatever it is. */
function filterAt(
  sock: NetlinkSocket,
  ifindex: number,
  prio = NETMGR_FILTER_PRIO,
  handle = NETMGR_FILTER_HANDLE,
): FilterRecord | undefined {
  return dumpFilters(sock, ifindex, INGRESS_PARENT).find(
    (f) => f.prio === prio && f.handle === handle && f.chain === 0 && f.protocol === ETH_P_ALL,
  );
}

function findNetmgrFilter(sock: NetlinkSocket, ifindex: number): FilterRecord | undefined {
  const f = filterAt(sock, ifindex);
  return f?.netmgrDrop ? f : undefined;
}

/**
 * Whether netmgr's drop filter sits on the interface's ingress hook: a matchall at its prio and handle, or the
 * cls_bpf form there running netmgr's program.
 */
export function hasIngressDrop(sock: NetlinkSocket, ifindex: number): boolean {
  return findNetmgrFilter(sock, ifindex) !== undefined;
}

function qdiscPayload(ifindex: number): Uint8Array {
  return new NlAttrWriter(RTNETLINK_RULES, 32)
    .putStruct(encodeTcMsg({ ifindex, handle: CLSACT_HANDLE, parent: CLSACT_PARENT, info: 0 }))
    .putString(TCA_KIND, 'clsact')
    .finish();
}

function filterPayload(ifindex: number, kind: string | undefined, options?: (w: NlAttrWriter) => void): Uint8Array {
  const w = new NlAttrWriter(RTNETLINK_RULES, 128).putStruct(
    encodeTcMsg({
      ifindex,
      handle: NETMGR_FILTER_HANDLE,
      parent: INGRESS_PARENT,
      info: filterInfo(NETMGR_FILTER_PRIO),
    }),
  );
  if (kind !== undefined) w.putString(TCA_KIND, kind);
  if (options) w.nested(TCA_OPTIONS, options);
  return w.finish();
}

function addMatchallDrop(sock: NetlinkSocket, ifindex: number, name: string, createdQdisc: boolean): void {
  const cookie = cookieFor(createdQdisc);
  if (cookie.length > TC_COOKIE_MAX_SIZE) throw new Error('netmgr action cookie too long');
  const payload = filterPayload(ifindex, 'matchall', (o) => {
    o.nested(TCA_MATCHALL_ACT, (acts) => {
      acts.nested(1, (a) => {
        a.putString(TCA_ACT_KIND, 'gact');
        a.nested(TCA_ACT_OPTIONS, (g) => g.put(TCA_GACT_PARMS, encodeGact(TC_ACT_SHOT)));
        a.put(TCA_ACT_COOKIE, cookie);
      });
    });
  });
  sock.request(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, payload, `add ingress drop filter (matchall) on ${name}`);
}

function addBpfDrop(sock: NetlinkSocket, ifindex: number, name: string, createdQdisc: boolean, why: string): void {
  const prog = dropProgram(createdQdisc);
  const payload = filterPayload(ifindex, 'bpf', (o) => {
    o.putU16(TCA_BPF_OPS_LEN, prog.length);
    o.put(TCA_BPF_OPS, encodeClassicBpf(prog));
    o.putU32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
  });
  sock.request(
    RTM_NEWTFILTER,
    NLM_F_CREATE | NLM_F_EXCL,
    payload,
    `add ingress drop filter (bpf, since ${why}) on ${name}`,
  );
}

/** matchall + gact, or the cls_bpf form when the kernel has no matchall classifier or gact action (ENOENT). */
function addDropFilter(sock: NetlinkSocket, ifindex: number, name: string, createdQdisc: boolean): void {
  try {
    addMatchallDrop(sock, ifindex, name, createdQdisc);
  } catch (e) {
    if (!hasErrno(e, 'ENOENT')) throw e;
    const k = (e as NetlinkError).kernelMessage;
    addBpfDrop(sock, ifindex, name, createdQdisc, `matchall/gact: ENOENT${k ? ` (kernel: ${k})` : ''}`);
  }
}

function deleteQdisc(sock: NetlinkSocket, ifindex: number, name: string): void {
  // TCA_KIND makes the kernel refuse (EINVAL) if what sits there now is not a clsact qdisc.
  sock.request(RTM_DELQDISC, 0, qdiscPayload(ifindex), `delete clsact qdisc of ${name}`);
}

/**
 * Stops frames received on the interface from reaching the host's stack: a clsact qdisc (created unless one is
 * there already) and netmgr's drop filter on its ingress hook. Installing twice is harmless; the answer then
 * reports what the first install did, as its mark on the filter records.
 */
export function installIngressDrop(sock: NetlinkSocket, ifindex: number, name: string): IngressDrop {
  const rec = (createdQdisc: boolean): IngressDrop => ({
    ifindex,
    name,
    createdQdisc,
    prio: NETMGR_FILTER_PRIO,
    handle: NETMGR_FILTER_HANDLE,
  });

  const existing = findNetmgrFilter(sock, ifindex);
  if (existing) return rec(existing.netmgrDrop!.createdQdisc);

  // EEXIST: a clsact (or ingress) qdisc is there already, someone else's; the filter goes on it and it stays.
  // (Asking first would need a qdisc dump, which lists every device's qdiscs whatever tcm_ifindex says.)
  let createdQdisc = false;
  try {
    sock.request(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, qdiscPayload(ifindex), `add clsact qdisc to ${name}`);
    createdQdisc = true;
  } catch (e) {
    if (!hasErrno(e, 'EEXIST')) throw e;
  }

  try {
    addDropFilter(sock, ifindex, name, createdQdisc);
  } catch (e) {
    if (hasErrno(e, 'EEXIST')) {
      // Ours appeared concurrently: installed. Anything else at our prio is a foreign filter: report the clash.
      const now = findNetmgrFilter(sock, ifindex);
      if (now) return rec(now.netmgrDrop!.createdQdisc);
    }
    if (createdQdisc) {
      try {
        deleteQdisc(sock, ifindex, name);
      } catch {
        // The filter error is the one to report; a qdisc that vanished meanwhile needs no undoing.
      }
    }
    throw e;
  }
  return rec(createdQdisc);
}

const GONE = new Set(['ENOENT', 'ENODEV', 'EINVAL']);

function ignoreGone<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch (e) {
    if (!hasErrno(e, ...GONE)) throw e;
    return fallback;
  }
}

/**
 * Undoes installIngressDrop: deletes netmgr's filter, then the clsact qdisc if netmgr created it and no other
 * filter has been put on it since (deleting the qdisc would take those with it). Anything already gone (filter,
 * qdisc, the interface itself) is fine, so this is safe to repeat and to run from crash recovery.
 */
export function removeIngressDrop(sock: NetlinkSocket, rec: IngressDrop): void {
  // prio + protocol select the classifier instance, the handle the one filter in it (handle 0 would delete every
  // filter at that prio). No TCA_KIND: the record does not say whether the matchall or the bpf form went in, so
  // a look first makes sure what sits there carries netmgr's mark; a foreign filter in its place is left alone.
  const slot = ignoreGone(() => filterAt(sock, rec.ifindex, rec.prio, rec.handle), undefined);
  if (slot?.netmgrDrop) {
    const del = encodeTcMsg({
      ifindex: rec.ifindex,
      handle: rec.handle,
      parent: INGRESS_PARENT,
      info: filterInfo(rec.prio),
    });
    ignoreGone(() => sock.request(RTM_DELTFILTER, 0, del, `delete ingress drop filter on ${rec.name}`), undefined);
  }
  if (!rec.createdQdisc) return;
  const others = ignoreGone(
    () => [...dumpFilters(sock, rec.ifindex, INGRESS_PARENT), ...dumpFilters(sock, rec.ifindex, EGRESS_PARENT)],
    [],
  );
  if (others.length > 0) return;
  ignoreGone(() => deleteQdisc(sock, rec.ifindex, rec.name), undefined);
}
