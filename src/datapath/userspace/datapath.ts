/**
 * The userspace datapath (like OVS's dpif-netdev): internal ports are TAP devices, netdev ports are existing
 * interfaces attached with AF_PACKET, both carrying the virtio-net header so hosts keep their offloads. One
 * event-loop thread polls every port; frames move in batches through the C addon into fixed slots of a
 * per-port receive buffer and are forwarded by reference (a frame is copied only when an action rewrites it).
 * Per frame, in JS: extract the flow key into a reused PacketKey, look it up (EMC, then megaflows), run the
 * actions, queue outputs; per batch: one send call per output port.
 */
import * as fs from 'fs';
import { IO_KIND_PACKET, IO_KIND_TAP, native, type PollHandle } from '../../native';
import {
  extractPacked,
  finishPacketKey,
  formatActions,
  MAC_EXACT,
  MegaflowTable,
  newPacketKey,
  PACKED_WORD,
  FlowTableError,
  unpackPacketKey,
  type FlowAction,
  type FlowActions,
  type FlowKey,
  type FlowMask,
  type MegaflowEntry,
  type TunnelKey,
} from '../../flow';
import {
  DatapathError,
  zeroPortStats,
  type Datapath,
  type DpFlow,
  type DpFlowStats,
  type DpPortInfo,
  type DpPortSpec,
  type DpStats,
  type FlowPut,
  type FlowPutOptions,
  type DpOp,
  type Upcall,
  type UpcallHandler,
} from '../types';
import { checkTunnelMatch, checkTunnelSet, TunnelPorts, type TunnelPort } from './tunnel-port';
import { fromTableKey, fromTableMask, toTableFlow } from './tunnel-endpoints';
import { frameMalformed, popVlan, pushVlan, setEthernet, setIpv4, VNET_HDR_LEN, vnetHeaderValid } from './packet';

/** Frames per receive call and receive calls per readiness event (packet-io.md: 32-64 and ~16). */
export const BATCH = 64;
const ROUNDS_PER_WAKEUP = 16;
/**
 * Misses one port may hand to the upcall handler per wakeup: a port whose frames all miss (a storm of new MACs)
 * costs tens of microseconds per frame, so after one batch of them the loop moves on to the other ready ports,
 * whose cached frames are then never queued behind that port's misses (OVS: per-port upcall fairness).
 */
const MISSES_PER_WAKEUP = 16;
/** A slot holds the largest GSO super-frame plus the virtio-net header and a reinserted VLAN tag. */
export const SLOT_SIZE = 65536 + 64;
/** Headroom before a rewritten frame in the scratch buffer, for push_vlan (twice for QinQ). */
const HEADROOM = 16;
const SCRATCH_SLOTS = 64;
const SOCKET_BUFFER = 4 * 1024 * 1024;
const ENETDOWN = 100;

/** Installs and removes what keeps the host's own stack off an attached interface (tc ingress drop). */
export interface HostIsolation {
  isolate(ifindex: number, name: string): void;
  release(ifindex: number, name: string): void;
}

class IoPort {
  readonly rxBuf: Buffer;
  readonly offs = new Uint32Array(BATCH);
  readonly lens = new Uint32Array(BATCH);
  /** Outputs queued by reference into the receive buffer of the port being processed. */
  readonly qOffs = new Uint32Array(BATCH * 4);
  readonly qLens = new Uint32Array(BATCH * 4);
  qN = 0;
  /** Outputs queued from the scratch buffer (rewritten or injected frames). */
  readonly sOffs = new Uint32Array(SCRATCH_SLOTS * 2);
  readonly sLens = new Uint32Array(SCRATCH_SLOTS * 2);
  sN = 0;
  readonly stats = zeroPortStats();
  poll: PollHandle | undefined;
  /** Its last wakeup used up the miss budget: read only that many frames per wakeup until its frames hit again. */
  missHeavy = false;
  constructor(
    readonly spec: DpPortSpec,
    readonly fd: number,
    readonly kind: number,
    readonly ifindex: number,
  ) {
    this.rxBuf = Buffer.allocUnsafe(BATCH * SLOT_SIZE);
  }
}

export interface UserspaceDatapathOptions {
  isolation?: HostIsolation;
  /** Called with a short description when something the operator should know happens (a port's link fails). */
  log?: (line: string) => void;
}

export class UserspaceDatapath implements Datapath {
  readonly type = 'userspace';
  readonly persistent = false;
  private readonly portsByNo = new Map<number, IoPort>();
  /** Dense array for the hot path: index = port number. */
  private portArray: Array<IoPort | undefined> = [];
  /** Tunnel ports (tunnel-port.ts); numbers are shared with portsByNo. */
  private readonly tunnels = new TunnelPorts();
  private readonly table = new MegaflowTable({ emcSize: 8192 });
  private readonly pk = newPacketKey();
  private readonly info = new Int32Array(4);
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_SLOTS * SLOT_SIZE);
  private scratchUsed = 0;
  /** Ports with queued output, flushed at the end of each batch. */
  private readonly pending: IoPort[] = [];
  /** The receive buffer the queued by-reference outputs point into. */
  private currentRx: Buffer | undefined;
  private upcall: UpcallHandler | undefined;
  /** Misses of the receive round being processed, handed to the upcall handler at its end (reused). */
  private readonly misses: Upcall[] = [];
  private now = Date.now();
  private hit = 0;
  private missed = 0;
  private lost = 0;
  private destroyed = false;

  constructor(
    readonly name: string,
    private readonly opts: UserspaceDatapathOptions = {},
  ) {}

  // ------------------------------------------------------------------------------------------------------------
  // Ports

  addPort(spec: DpPortSpec): DpPortInfo {
    const taken = this.portsByNo.get(spec.no)?.spec.name ?? this.tunnels.get(spec.no)?.name;
    if (taken !== undefined)
      throw new DatapathError('EEXIST', `port ${spec.no} already exists on ${this.name} (${taken})`);
    for (const p of [...this.portsByNo.values()].map((x) => x.spec).concat(this.tunnels.specs()))
      if (p.name === spec.name)
        throw new DatapathError('EEXIST', `${spec.name} is already port ${p.no} of ${this.name}`);
    if (spec.type === 'tunnel') return this.addTunnelPort(spec);
    const addon = native();
    let port: IoPort;
    if (spec.type === 'internal') {
      const tap = addon.tapOpen(spec.name, true);
      if (tap.name !== spec.name) {
        addon.closeFd(tap.fd);
        throw new DatapathError('EINVAL', `the kernel named the TAP device ${tap.name} instead of ${spec.name}`);
      }
      port = new IoPort(spec, tap.fd, IO_KIND_TAP, tap.ifindex);
    } else {
      const ifindex = interfaceIndex(spec.name);
      const fd = addon.packetOpen(ifindex, { vnetHdr: true, promisc: true, bufBytes: SOCKET_BUFFER });
      port = new IoPort(spec, fd, IO_KIND_PACKET, ifindex);
      try {
        this.opts.isolation?.isolate(ifindex, spec.name);
      } catch (e) {
        addon.closeFd(fd);
        throw e;
      }
    }
    this.portsByNo.set(spec.no, port);
    this.reindex();
    port.poll = addon.pollStart(port.fd, () => this.onReadable(port));
    return this.info_(port);
  }

  /** A tunnel port: its socket is bound now (a failure throws before anything is added). */
  private addTunnelPort(spec: DpPortSpec): DpPortInfo {
    const info = this.tunnels.add(
      spec,
      (t, buf, off, len, src, dst) => this.receiveTunnel(t, buf, off, len, src, dst),
      this.opts.log,
    );
    this.reindex();
    return info;
  }

  removePort(no: number): void {
    if (this.tunnels.remove(no)) {
      this.reindex();
      return;
    }
    const port = this.portsByNo.get(no);
    if (!port) throw new DatapathError('ENOENT', `${this.name} has no port ${no}`);
    this.closePort(port);
    this.portsByNo.delete(no);
    this.reindex();
  }

  private closePort(port: IoPort): void {
    const addon = native();
    if (port.poll) addon.pollStop(port.poll);
    port.poll = undefined;
    // A TAP's close removes its interface, which the caller may look for next: closed here. A packet socket's close
    // waits for an RCU grace period (tens of ms) and changes nothing anyone looks at: closed off this thread.
    if (port.kind !== IO_KIND_PACKET) return addon.closeFd(port.fd);
    addon.closeFdLater(port.fd);
    try {
      this.opts.isolation?.release(port.ifindex, port.spec.name);
    } catch (e) {
      this.opts.log?.(`${this.name}: could not remove host isolation from ${port.spec.name}: ${(e as Error).message}`);
    }
  }

  private reindex(): void {
    const max = Math.max(-1, ...this.portsByNo.keys(), ...this.tunnels.numbers());
    this.portArray = new Array<IoPort | undefined>(max + 1).fill(undefined);
    for (const [no, p] of this.portsByNo) this.portArray[no] = p;
    this.tunnels.reindex(max + 1);
    // A port change can make cached decisions wrong (outputs to a removed port).
    this.table.emc?.invalidate();
  }

  private info_(p: IoPort): DpPortInfo {
    // What the kernel dropped before we read it (an AF_PACKET socket's full receive queue) is a receive drop
    // of the port too; the kernel's count is zeroed by each read, so it is added up here, when asked for.
    if (p.kind === IO_KIND_PACKET && !this.destroyed) p.stats.rxDropped += native().packetDrops(p.fd);
    return { ...p.spec, ifindex: p.ifindex, stats: { ...p.stats } };
  }

  ports(): DpPortInfo[] {
    const io = [...this.portsByNo.values()].map((p) => this.info_(p));
    return io.concat(this.tunnels.infos()).sort((a, b) => a.no - b.no);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Flows

  putFlow(put: FlowPut, actions: FlowActions, opts: FlowPutOptions): DpFlow {
    checkSupportedActions(actions);
    const flow = toTableFlow(put, this.tunnels.ids);
    checkTunnelMatch(flow.mask);
    try {
      const e =
        opts.mode === 'create'
          ? this.table.insert(flow, actions, { allowOverlap: true })
          : this.table.put(flow, actions, {
              allowOverlap: true,
              mayCreate: opts.mayCreate,
              clearStats: opts.clearStats,
            });
      return this.toDpFlow(e);
    } catch (e) {
      if (e instanceof FlowTableError) throw new DatapathError(e.code === 'EOVERLAP' ? 'EEXIST' : e.code, e.message);
      throw e;
    }
  }

  deleteFlow(flow: { key?: FlowKey; mask?: FlowMask; ufid?: Uint8Array }): boolean {
    return this.table.delete(toTableFlow(flow, this.tunnels.ids));
  }

  getFlow(flow: { key?: FlowKey; mask?: FlowMask; ufid?: Uint8Array }): DpFlow | undefined {
    const e = this.table.find(toTableFlow(flow, this.tunnels.ids));
    return e && this.toDpFlow(e);
  }

  flushFlows(): void {
    this.table.flush();
  }

  dumpFlows(): DpFlow[] {
    return this.table.dump().map((e) => this.toDpFlow(e));
  }

  dumpFlowStats(): DpFlowStats[] {
    return this.table.dump().map((e) => ({ ufid: e.ufid, stats: { ...e.stats } }));
  }

  setUpcallHandler(h: UpcallHandler | undefined): void {
    this.upcall = h;
  }

  /** A flow of the table as the Datapath interface gives it: IPv6 tunnel endpoints as addresses, not ids. */
  private toDpFlow(e: MegaflowEntry): DpFlow {
    const ids = this.tunnels.ids;
    const [key, mask] = [fromTableKey(e.key, ids), fromTableMask(e.key, e.mask)];
    return { key, mask, actions: e.actions, ufid: e.ufid, stats: { ...e.stats } };
  }

  stats(): DpStats {
    return {
      hit: this.hit,
      missed: this.missed,
      lost: this.lost,
      flows: this.table.size,
      masksHit: this.table.maskProbes,
      masks: this.table.maskCount,
    };
  }

  // ------------------------------------------------------------------------------------------------------------
  // Forwarding

  private onReadable(port: IoPort): void {
    if (this.destroyed || port.poll === undefined) return;
    const addon = native();
    const info = this.info;
    this.now = Date.now();
    const missedBefore = this.missed;
    const batch = port.missHeavy ? MISSES_PER_WAKEUP : BATCH;
    for (let round = 0; round < ROUNDS_PER_WAKEUP; round++) {
      const n = addon.recvBatch(port.fd, port.kind, port.rxBuf, SLOT_SIZE, batch, port.offs, port.lens, info);
      if (info[0] !== 0) port.stats.rxErrors += info[0];
      // ENETDOWN is the socket reporting that its link went down (or came up after a bind while down): a link
      // event, not a frame error.
      if (info[1] !== 0 && info[1] !== ENETDOWN) {
        port.stats.rxErrors++;
        this.opts.log?.(`${this.name}: receive on ${port.spec.name} failed (errno ${info[1]})`);
      }
      if (n === 0) break;
      this.currentRx = port.rxBuf;
      for (let i = 0; i < n; i++) this.receive(port, port.rxBuf, port.offs[i], port.lens[i]);
      if (this.misses.length) this.handleMisses();
      this.flush();
      port.missHeavy = this.missed - missedBefore >= MISSES_PER_WAKEUP;
      if (n < batch || port.missHeavy) break;
    }
    this.currentRx = undefined;
  }

  /** One received frame (virtio-net header first) from `port`. Never throws: bad frames are counted. */
  private receive(port: IoPort, buf: Buffer, off: number, len: number): void {
    if (!vnetHeaderValid(buf, off, len) || frameMalformed(buf, off, len)) {
      port.stats.rxErrors++;
      return;
    }
    port.stats.rxPackets++;
    port.stats.rxBytes += len - VNET_HDR_LEN;
    extractPacked(buf, off + VNET_HDR_LEN, len - VNET_HDR_LEN, port.spec.no, this.pk);
    this.forward(port.spec.no, buf, off, len);
  }

  /**
   * A frame a tunnel port decapsulated (zero virtio-net header first): keyed with its tunnel metadata (tun_id =
   * the port's VNI, the remote as src, the local address as dst) and forwarded at once, as a batch of one.
   */
  private receiveTunnel(t: TunnelPort, buf: Buffer, off: number, len: number, src: number, dst: number): void {
    if (this.destroyed) return;
    if (frameMalformed(buf, off, len)) {
      t.stats.rxErrors++;
      return;
    }
    const w = this.pk.words;
    extractPacked(buf, off + VNET_HDR_LEN, len - VNET_HDR_LEN, t.no, this.pk);
    w[PACKED_WORD.TUN_ID_LO] = t.config.vni;
    w[PACKED_WORD.TUN_SRC] = src;
    w[PACKED_WORD.TUN_DST] = dst;
    finishPacketKey(this.pk);
    this.now = Date.now();
    this.currentRx = buf;
    this.forward(t.no, buf, off, len);
    if (this.misses.length) this.handleMisses();
    this.flush();
    this.currentRx = undefined;
  }

  /** Looks up the frame whose key is in this.pk: a hit runs its flow's actions, a miss is queued for the policy. */
  private forward(inPort: number, buf: Buffer, off: number, len: number): void {
    const pk = this.pk;
    const e = this.table.lookup(pk);
    if (e !== undefined) {
      this.hit++;
      this.table.recordHit(e, len - VNET_HDR_LEN, pk.words[PACKED_WORD.TCP_FLAGS], this.now);
      this.runActions(e.actions, buf, off, len);
      return;
    }
    this.missed++;
    if (this.upcall === undefined) {
      this.lost++;
      return;
    }
    this.misses.push({
      type: 'miss',
      inPort,
      key: fromTableKey(unpackKey(pk), this.tunnels.ids),
      packet: buf.subarray(off + VNET_HDR_LEN, off + len),
    });
  }

  /** The round's misses go to the handler while their frames are still in the receive buffer (operate() uses them). */
  private handleMisses(): void {
    const h = this.upcall;
    try {
      h?.(this.misses);
    } catch (err) {
      this.lost += this.misses.length;
      this.opts.log?.(`${this.name}: the policy failed on ${this.misses.length} miss(es): ${(err as Error).message}`);
    }
    this.misses.length = 0;
  }

  /**
   * Runs ODP actions on a frame. Outputs are queued by reference; a rewrite first moves the frame to a scratch
   * slot when the current copy is the receive buffer or is already queued for an earlier output (ODP actions are
   * sequential: `output:1,push_vlan(..),output:2` sends the original to 1 and the tagged frame to 2).
   */
  private runActions(actions: FlowActions, buf: Buffer, off: number, len: number): void {
    let b = buf,
      o = off,
      l = len;
    let shared = b !== this.scratch;
    /** The set(tunnel(...)) in effect: where an output to a tunnel port sends the frame. */
    let tunnel: TunnelKey | undefined;
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i];
      if (a.type === 'set' && a.key.tunnel !== undefined) {
        tunnel = a.key.tunnel;
        continue;
      }
      switch (a.type) {
        case 'output': {
          const t = this.tunnels.byNo[a.port];
          if (t !== undefined) t.send(b, o, l, tunnel);
          else this.enqueue(a.port, b, o, l);
          shared = true;
          continue;
        }
        case 'drop':
          return;
        case 'userspace':
          this.deliverAction(a, b, o, l);
          continue;
        default: {
          if (shared) {
            const slot = this.copyToScratch(b, o, l);
            if (slot < 0) return;
            b = this.scratch;
            o = slot;
            shared = false;
          }
          const n = rewrite(a, b, o, l);
          if (n === undefined) continue;
          l += o - n;
          o = n;
        }
      }
    }
  }

  private deliverAction(a: Extract<FlowAction, { type: 'userspace' }>, b: Buffer, o: number, l: number): void {
    const h = this.upcall;
    if (h === undefined) {
      this.lost++;
      return;
    }
    const packet = Uint8Array.prototype.slice.call(b, o + VNET_HDR_LEN, o + l);
    this.pk.words.fill(0);
    extractPacked(packet, 0, packet.length, 0, this.pk);
    try {
      const key = fromTableKey(unpackKey(this.pk), this.tunnels.ids);
      h([{ type: 'action', inPort: 0, key, packet, userdata: a.userdata }]);
    } catch (err) {
      this.lost++;
      this.opts.log?.(`${this.name}: the policy failed on a userspace action: ${(err as Error).message}`);
    }
  }

  /** Where a frame starts in a free scratch slot (queued output is flushed first when all slots are in use). */
  private scratchSlot(): number {
    if (this.scratchUsed >= SCRATCH_SLOTS) {
      this.flush();
      this.scratchUsed = 0;
    }
    return this.scratchUsed++ * SLOT_SIZE + HEADROOM;
  }

  /** Copies a frame into a free scratch slot; -1 when it cannot fit one. */
  private copyToScratch(b: Buffer, o: number, l: number): number {
    if (l > SLOT_SIZE - HEADROOM * 2) return -1;
    const slot = this.scratchSlot();
    b.copy(this.scratch, slot, o, o + l);
    return slot;
  }

  private enqueue(no: number, b: Buffer, o: number, l: number): void {
    const p = this.portArray[no];
    if (p === undefined) return;
    if (b === this.scratch) {
      if (p.sN === p.sOffs.length) this.flush();
      if (p.qN === 0 && p.sN === 0) this.pending.push(p);
      p.sOffs[p.sN] = o;
      p.sLens[p.sN++] = l;
    } else {
      if (b !== this.currentRx) {
        // An execute() outside a receive batch: frames from other buffers always go through scratch.
        const slot = this.copyToScratch(b, o, l);
        if (slot >= 0) this.enqueue(no, this.scratch, slot, l);
        return;
      }
      if (p.qN === p.qOffs.length) this.flush();
      if (p.qN === 0 && p.sN === 0) this.pending.push(p);
      p.qOffs[p.qN] = o;
      p.qLens[p.qN++] = l;
    }
  }

  private flush(): void {
    const addon = native();
    const info = this.info;
    for (let i = 0; i < this.pending.length; i++) {
      const p = this.pending[i];
      if (p.qN > 0 && this.currentRx !== undefined) this.send(addon, p, this.currentRx, p.qOffs, p.qLens, p.qN, info);
      if (p.sN > 0) this.send(addon, p, this.scratch, p.sOffs, p.sLens, p.sN, info);
      p.qN = 0;
      p.sN = 0;
    }
    this.pending.length = 0;
    if (this.currentRx === undefined) this.scratchUsed = 0;
  }

  private send(
    addon: ReturnType<typeof native>,
    p: IoPort,
    buf: Buffer,
    offs: Uint32Array,
    lens: Uint32Array,
    n: number,
    info: Int32Array,
  ): void {
    const sent = addon.sendBatch(p.fd, p.kind, buf, offs, lens, 0, n, info);
    p.stats.txPackets += sent;
    let bytes = 0;
    for (let j = 0; j < n; j++) bytes += lens[j] - VNET_HDR_LEN;
    // Exact when every frame went out; otherwise which ones failed is not reported, so prorate.
    p.stats.txBytes += sent === n ? bytes : Math.round((bytes * sent) / n);
    p.stats.txDropped += info[0];
    p.stats.txErrors += info[1];
  }

  execute(packet: Uint8Array, actions: FlowActions, _inPort: number): void {
    checkSupportedActions(actions);
    if (packet.length < 14 || packet.length > SLOT_SIZE - HEADROOM * 2 - VNET_HDR_LEN)
      throw new DatapathError('EINVAL', `cannot execute a ${packet.length}-byte packet`);
    const slot = this.scratchSlot();
    this.scratch.fill(0, slot, slot + VNET_HDR_LEN);
    this.scratch.set(packet, slot + VNET_HDR_LEN);
    this.runActions(actions, this.scratch, slot, packet.length + VNET_HDR_LEN);
    if (this.currentRx === undefined) this.flush();
  }

  /**
   * Applies the ops in order. A packet that is a view into the receive buffer being processed (an upcall's) is
   * forwarded by reference like a hit; any other is copied, as execute() does.
   */
  operate(ops: readonly DpOp[]): Array<Error | undefined> {
    const out = new Array<Error | undefined>(ops.length).fill(undefined);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      try {
        if (op.type === 'put') this.putFlow(op.flow, op.actions, op.opts);
        else this.executeOp(op.packet, op.actions, op.inPort);
      } catch (e) {
        out[i] = e as Error;
      }
    }
    return out;
  }

  private executeOp(packet: Uint8Array, actions: FlowActions, inPort: number): void {
    const rx = this.currentRx;
    if (rx === undefined || packet.buffer !== rx.buffer) return this.execute(packet, actions, inPort);
    // The frame's virtio-net header is still in front of it.
    this.runActions(actions, rx, packet.byteOffset - rx.byteOffset - VNET_HDR_LEN, packet.length + VNET_HDR_LEN);
  }

  /** The datapath lives in this process: releasing it is destroying it. */
  release(): void {
    this.destroy();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of this.portsByNo.values()) this.closePort(p);
    this.tunnels.closeAll();
    this.portsByNo.clear();
    this.portArray = [];
    this.table.flush();
  }
}

const unpackKey = (pk: { words: Uint32Array }): FlowKey => unpackPacketKey(pk.words);

function interfaceIndex(name: string): number {
  try {
    return Number(fs.readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'));
  } catch {
    throw new DatapathError('ENOENT', `interface ${name} does not exist`);
  }
}

/** Actions this datapath executes; anything else is refused when the flow is installed, not when a packet hits it. */
export function checkSupportedActions(actions: FlowActions): void {
  for (const a of actions) {
    switch (a.type) {
      case 'output':
      case 'drop':
      case 'userspace':
      case 'pushVlan':
      case 'popVlan':
        continue;
      case 'set':
      case 'setMasked': {
        const k = a.key;
        const attrs = Object.keys(k).filter((p) => (k as Record<string, unknown>)[p] !== undefined);
        if (attrs.length === 1 && attrs[0] === 'tunnel' && a.type === 'set') {
          checkTunnelSet(k.tunnel!);
          continue;
        }
        if (attrs.length === 1 && (attrs[0] === 'eth' || attrs[0] === 'ipv4')) {
          if (attrs[0] === 'ipv4' && a.type === 'setMasked' && a.mask.ipv4 && (a.mask.ipv4.proto || a.mask.ipv4.frag)) {
            throw new DatapathError(
              'EINVAL',
              'set_masked on ipv4 proto or frag is not allowed (the kernel refuses it too)',
            );
          }
          continue;
        }
        throw new DatapathError(
          'EOPNOTSUPP',
          `the userspace datapath cannot run \`${formatActions([a])}\`: it sets eth(), ipv4() and tunnel() fields only`,
        );
      }
      default:
        throw new DatapathError(
          'EOPNOTSUPP',
          `the userspace datapath does not support the action \`${formatActions([a])}\``,
        );
    }
  }
}

/** Applies one rewriting action in place; returns the frame's new start, or undefined when nothing changed. */
function rewrite(a: FlowAction, b: Buffer, o: number, l: number): number | undefined {
  switch (a.type) {
    case 'pushVlan':
      return pushVlan(b, o, a.tpid, a.tci);
    case 'popVlan':
      return popVlan(b, o, l);
    case 'set':
    case 'setMasked': {
      const masked = a.type === 'setMasked';
      const m = masked ? a.mask : undefined;
      if (a.key.eth) {
        const e = a.key.eth;
        setEthernet(
          b,
          o,
          e.src,
          masked ? (m!.eth?.src ?? 0) : MAC_EXACT,
          e.dst,
          masked ? (m!.eth?.dst ?? 0) : MAC_EXACT,
        );
      } else if (a.key.ipv4) {
        const v = a.key.ipv4;
        const mm = masked
          ? (m!.ipv4 ?? { src: 0, dst: 0, tos: 0, ttl: 0, proto: 0, frag: 0 })
          : { src: 0xffffffff, dst: 0xffffffff, tos: 0xff, ttl: 0xff, proto: 0, frag: 0 };
        setIpv4(b, o, l, {
          src: v.src,
          srcMask: mm.src,
          dst: v.dst,
          dstMask: mm.dst,
          tos: v.tos,
          tosMask: mm.tos,
          ttl: v.ttl,
          ttlMask: mm.ttl,
        });
      }
      return o;
    }
    default:
      return undefined;
  }
}
