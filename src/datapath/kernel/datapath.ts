/**
 * KernelDatapath: the Datapath interface over the openvswitch kernel module, as OVS's dpif-netlink is: one kernel
 * datapath per bridge (ovs_datapath), its ports as vports (ovs_vport), megaflows (ovs_flow) and packet execution
 * (ovs_packet). The kernel switches every packet that matches a flow; a packet that matches none comes up as an
 * OVS_PACKET_CMD_MISS on this process's upcall socket (its port id is every vport's upcall PID) and goes to the
 * policy, whose answer is installed (OVS_FLOW_CMD_NEW) and executed (OVS_PACKET_CMD_EXECUTE).
 *
 * The kernel datapath outlives netmgrd: release() leaves it (and its flows) in place, and adopt() takes it over
 * again at the next start, pointing the upcall PIDs at the new socket. The kernel never expires flows: the
 * policy ages them (learning) or the units own them (flows).
 */
import { applyMask, encodeKey, generateUfid, type FlowActions, type FlowKey, type FlowMask } from '../../flow';
import { formatFlowText } from '../../flow/format';
import { native, type PollHandle } from '../../native';
import { genlPayload, genlRequest, type GenlMessage } from '../../netlink/genl';
import {
  errnoName,
  NetlinkError,
  NetlinkSocket,
  NETLINK_GENERIC,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_ECHO,
} from '../../netlink/socket';
import {
  OVS_DP_CMD,
  OVS_DP_F,
  OVS_DP_F_PROBE_UNKNOWN,
  OVS_FLOW_CMD,
  OVS_PACKET_CMD,
  OVS_UFID_F,
  OVS_VPORT_CMD,
  OVS_VPORT_TYPE,
  OVSP_LOCAL,
} from './abi';
import {
  decodeFlow,
  decodeVport,
  encodeExecuteAttrs,
  encodeFlowAttrs,
  encodeVportAttrs,
  ovsHeader,
  type DatapathInfo,
  type DatapathRequest,
  type FlowInfo,
  type VportInfo,
} from './messages';
import {
  DatapathError,
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
import { hasErrno } from '../../util/errors';
import { transactMany, type NetlinkRequest } from './transact';
import { UpcallReader } from './upcalls';
import { KernelTunnelPorts } from './tunnel';
import { attribute, TunnelRemoteCounters } from './tunnel-counters';
import {
  dpRequest,
  MODULE_MISSING_HINT,
  resolveKernelFamilies,
  upcallPidsPerCpu,
  upcallSettings,
  type KernelFamilies,
} from './families';

/** How often the upcall dispatch settings are checked (another tool may have changed them). */
const UPCALL_CHECK_MS = 1000;

/** CLOCK_MONOTONIC in ms (the clock of OVS_FLOW_ATTR_USED). */
const monotonicMs = (): number => Number(process.hrtime.bigint() / 1_000_000n);

/** A dumped flow's counters, its last use converted to wall-clock ms. */
function statsOf(f: FlowInfo): DpFlow['stats'] {
  const used =
    f.usedMonotonicMs === undefined ? undefined : Date.now() - Math.max(0, monotonicMs() - f.usedMonotonicMs);
  return { packets: f.packets, bytes: f.bytes, used, tcpFlags: f.tcpFlags };
}

/** Kernel errors as DatapathErrors (same codes the userspace datapath uses), other errors unchanged. */
function asDatapathError(e: unknown, what: string): Error {
  if (e instanceof NetlinkError && ['EEXIST', 'ENOENT', 'EINVAL', 'EBUSY', 'EOPNOTSUPP'].includes(e.code)) {
    return new DatapathError(
      e.code as DatapathError['code'],
      `${what}: ${e.code}${e.kernelMessage ? ` (kernel: ${e.kernelMessage})` : ''}`,
    );
  }
  return e as Error;
}

/**
 * A flow's UFID when the caller gives none: a hash of the masked key and the mask, so every packet of one
 * megaflow names the same flow (two misses of it queued before the first install agree on it).
 */
const ufidOf = (key: FlowKey, mask: FlowMask | undefined): Uint8Array =>
  generateUfid(mask ? applyMask(key, mask) : key, mask);

const VPORT_TYPES: Record<string, number> = { internal: OVS_VPORT_TYPE.INTERNAL, netdev: OVS_VPORT_TYPE.NETDEV };

export interface KernelDatapathOptions {
  log?: (line: string) => void;
  /**
   * The tunnel ports netmgr's record says a datapath being adopted or inspected has (their vports are their
   * devices, named after them): shown as those ports, and their devices deleted with them.
   */
  tunnels?: readonly DpPortSpec[];
}

export class KernelDatapath implements Datapath {
  readonly type = 'kernel' as const;
  readonly persistent = true;
  private handler: UpcallHandler | undefined;
  private poll: PollHandle | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly reader: UpcallReader;
  private closed = false;
  /** EXECUTEs the kernel refused (they are sent without waiting; failures come back later). */
  private executeFailures = 0;
  private readonly log: (line: string) => void;
  private readonly tunnels: KernelTunnelPorts;
  /** What the flows sent to and received from each remote of each tunnel port (tunnel-counters.ts). */
  private readonly remoteCounters = new TunnelRemoteCounters();

  private constructor(
    readonly name: string,
    private readonly sock: NetlinkSocket,
    private readonly upcalls: NetlinkSocket,
    private readonly fam: KernelFamilies,
    readonly dpIfindex: number,
    /** The OVS_DP_F_* features the kernel accepted. */
    readonly userFeatures: number,
    opts: KernelDatapathOptions,
  ) {
    this.log = opts.log ?? (() => undefined);
    this.tunnels = new KernelTunnelPorts((line) => this.log(`${name}: ${line}`));
    this.tunnels.remember(opts.tunnels ?? []);
    this.reader = new UpcallReader(
      name,
      upcalls,
      fam.packet.id,
      () => (this.handler === undefined || this.tunnels.size === 0 ? this.handler : this.screened),
      () => this.closed,
      this.log,
    );
    sock.onStaleError = (errno, msg) => this.noteExecuteFailure(errno, msg);
  }

  /** Starts reading upcalls (create and adopt do; inspect does not), and watching how they are dispatched. */
  private serve(): this {
    this.poll ??= native().pollStart(this.upcalls.fd, () => this.onReadable());
    this.watchdog ??= setInterval(() => this.checkUpcallDispatch(), UPCALL_CHECK_MS);
    this.watchdog.unref();
    return this;
  }

  /**
   * Puts the upcall dispatch back when another tool changed it: opening a datapath with ovs-dpctl (even `show`)
   * rewrites its user features, e.g. to per-CPU dispatch without PIDs, after which every miss is lost.
   */
  private checkUpcallDispatch(): void {
    if (this.closed) return;
    try {
      const info = dpRequest(this.sock, this.fam, OVS_DP_CMD.GET, 0, this.dpIfindex, {}, `reading ${this.name}`);
      const pid = this.upcalls.portId;
      const perCpu = (this.userFeatures & OVS_DP_F.DISPATCH_UPCALL_PER_CPU) !== 0;
      const pidsOk =
        !perCpu ||
        (info.perCpuPids !== undefined && info.perCpuPids.length > 0 && info.perCpuPids.every((p) => p === pid));
      if (info.userFeatures === this.userFeatures && pidsOk) return;
      dpRequest(
        this.sock,
        this.fam,
        OVS_DP_CMD.SET,
        0,
        this.dpIfindex,
        upcallSettings(this.userFeatures, pid),
        `restoring ${this.name}'s upcall dispatch`,
      );
      this.log(
        `${this.name}: another program changed the datapath's upcall dispatch (features 0x${(info.userFeatures ?? 0).toString(16)}, netmgr's 0x${this.userFeatures.toString(16)}; ovs-dpctl does that when it opens a datapath): restored`,
      );
    } catch (e) {
      this.log(`${this.name}: checking the upcall dispatch: ${(e as Error).message}`);
    }
  }

  private static openSockets(): { sock: NetlinkSocket; upcalls: NetlinkSocket; fam: KernelFamilies } {
    const sock = new NetlinkSocket(NETLINK_GENERIC);
    let upcalls: NetlinkSocket | undefined;
    try {
      const { families, missing } = resolveKernelFamilies(sock);
      if (!families)
        throw new DatapathError(
          'EOPNOTSUPP',
          `kernel datapath: generic netlink families ${missing.join(', ')} not found: ${MODULE_MISSING_HINT}`,
        );
      upcalls = new NetlinkSocket(NETLINK_GENERIC, -1, 0);
      return { sock, upcalls, fam: families };
    } catch (e) {
      upcalls?.close();
      sock.close();
      throw e;
    }
  }

  /**
   * Creates the kernel datapath `name` (its own internal port 0 is an interface of that name), negotiating user
   * features as OVS's dpif_netlink_open does: first UNALIGNED | VPORT_PIDS plus a bit no kernel knows (a kernel
   * that takes it does not check features: it gets per-vport PIDs); then per-CPU dispatch with this process's
   * socket for every CPU (what current kernels and ovs-dpctl itself use); then per-vport PIDs; then unaligned only.
   */
  static create(name: string, opts: KernelDatapathOptions = {}): KernelDatapath {
    const { sock, upcalls, fam } = KernelDatapath.openSockets();
    try {
      const pid = upcalls.portId;
      const perCpuPids = upcallPidsPerCpu(pid);
      const vportPids = OVS_DP_F.UNALIGNED | OVS_DP_F.VPORT_PIDS;
      const attempts: DatapathRequest[] = [
        { userFeatures: vportPids | OVS_DP_F_PROBE_UNKNOWN },
        { userFeatures: OVS_DP_F.UNALIGNED | OVS_DP_F.DISPATCH_UPCALL_PER_CPU, perCpuPids },
        { userFeatures: vportPids },
        { userFeatures: OVS_DP_F.UNALIGNED },
      ];
      let info: DatapathInfo | undefined;
      for (const features of attempts) {
        try {
          info = dpRequest(
            sock,
            fam,
            OVS_DP_CMD.NEW,
            NLM_F_ECHO,
            0,
            { name, upcallPid: pid, ...features },
            `creating kernel datapath ${name}`,
          );
        } catch (e) {
          if (hasErrno(e, 'EOPNOTSUPP')) continue;
          if (hasErrno(e, 'EEXIST')) {
            throw new DatapathError(
              'EEXIST',
              `a kernel datapath or interface named ${name} already exists and netmgr did not create it (see \`ovs-dpctl show\`; remove it with \`ovs-dpctl del-dp ${name}\` if it is stale)`,
            );
          }
          throw asDatapathError(e, `creating kernel datapath ${name}`);
        }
        if (info && (features.userFeatures ?? 0) & OVS_DP_F_PROBE_UNKNOWN) {
          // The kernel took a bit it cannot know: it does not check features. Set the real ones.
          info = dpRequest(
            sock,
            fam,
            OVS_DP_CMD.SET,
            NLM_F_ECHO,
            0,
            { name, userFeatures: vportPids },
            `setting features of ${name}`,
          );
        }
        break;
      }
      if (!info)
        throw new DatapathError('EOPNOTSUPP', `creating kernel datapath ${name}: the kernel refused every feature set`);
      return new KernelDatapath(name, sock, upcalls, fam, info.dpIfindex, info.userFeatures ?? 0, opts).serve();
    } catch (e) {
      upcalls.close();
      sock.close();
      throw e;
    }
  }

  /** Takes over an existing kernel datapath (one netmgr created before a restart); undefined when it is gone. */
  static adopt(name: string, opts: KernelDatapathOptions = {}): KernelDatapath | undefined {
    const { sock, upcalls, fam } = KernelDatapath.openSockets();
    try {
      let info: DatapathInfo;
      try {
        info = dpRequest(sock, fam, OVS_DP_CMD.GET, 0, 0, { name }, `reading kernel datapath ${name}`);
      } catch (e) {
        if (hasErrno(e, 'ENODEV', 'ENOENT')) {
          upcalls.close();
          sock.close();
          return undefined;
        }
        throw e;
      }
      const pid = upcalls.portId;
      // SET replaces the features (absent = none): give the ones it has, and the per-CPU PIDs if it uses them.
      const features = info.userFeatures ?? 0;
      dpRequest(
        sock,
        fam,
        OVS_DP_CMD.SET,
        0,
        0,
        { name, upcallPid: pid, ...upcallSettings(features, pid) },
        `pointing ${name}'s upcalls at this process`,
      );
      const dp = new KernelDatapath(name, sock, upcalls, fam, info.dpIfindex, features, opts);
      for (const v of dp.vports()) {
        dp.vportRequest(
          OVS_VPORT_CMD.SET,
          0,
          { portNo: v.portNo, upcallPids: [pid] },
          `pointing port ${v.name}'s upcalls at this process`,
        );
      }
      return dp.serve();
    } catch (e) {
      upcalls.close();
      sock.close();
      throw e;
    }
  }

  /**
   * Reads a kernel datapath's ports and flows without taking it over (its upcalls keep going where they go):
   * for `netmgr plan` and `show` when netmgrd is not running. Undefined when there is no such datapath or no
   * openvswitch module.
   */
  static inspect(
    name: string,
    tunnels: readonly DpPortSpec[] = [],
  ): { ports: DpPortInfo[]; flows: DpFlow[] } | undefined {
    const sock = new NetlinkSocket(NETLINK_GENERIC);
    try {
      const { families } = resolveKernelFamilies(sock);
      if (!families) return undefined;
      let info: DatapathInfo;
      try {
        info = dpRequest(sock, families, OVS_DP_CMD.GET, 0, 0, { name }, `reading kernel datapath ${name}`);
      } catch (e) {
        if (hasErrno(e, 'ENODEV', 'ENOENT')) return undefined;
        throw e;
      }
      const dp = new KernelDatapath(name, sock, sock, families, info.dpIfindex, info.userFeatures ?? 0, { tunnels });
      return { ports: dp.ports(), flows: dp.dumpFlows() };
    } finally {
      sock.close();
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Requests

  private vportRequest(
    cmd: number,
    flags: number,
    r: Parameters<typeof encodeVportAttrs>[0],
    what: string,
  ): GenlMessage[] {
    return genlRequest(this.sock, this.fam.vport, cmd, flags, ovsHeader(this.dpIfindex), encodeVportAttrs(r), what);
  }

  private flowRequest(
    cmd: number,
    flags: number,
    r: Parameters<typeof encodeFlowAttrs>[0],
    what: string,
  ): GenlMessage[] {
    return genlRequest(this.sock, this.fam.flow, cmd, flags, ovsHeader(this.dpIfindex), encodeFlowAttrs(r), what);
  }

  private vports(): VportInfo[] {
    return this.vportRequest(OVS_VPORT_CMD.GET, NLM_F_DUMP, {}, `listing the ports of ${this.name}`).map((m) =>
      decodeVport(m.body),
    );
  }

  private toPort(v: VportInfo): DpPortInfo {
    const s = v.stats;
    // A tunnel port's vport is its device: shown as the port.
    const t = this.tunnels.describe(v.portNo, v.name);
    return {
      no: v.portNo,
      name: t?.name ?? v.name,
      type: t !== undefined ? 'tunnel' : v.type === OVS_VPORT_TYPE.INTERNAL ? 'internal' : 'netdev',
      ...(t !== undefined ? { tunnel: t.tunnel, tunnelStats: this.remoteCounters.stats(v.portNo, t.tunnel) } : {}),
      ifindex: v.ifindex ?? 0,
      stats: {
        rxPackets: s?.rxPackets ?? 0,
        rxBytes: s?.rxBytes ?? 0,
        rxDropped: s?.rxDropped ?? 0,
        rxErrors: s?.rxErrors ?? 0,
        txPackets: s?.txPackets ?? 0,
        txBytes: s?.txBytes ?? 0,
        txDropped: s?.txDropped ?? 0,
        txErrors: s?.txErrors ?? 0,
      },
    };
  }

  private toFlow(f: FlowInfo): DpFlow | undefined {
    if (!f.key || !f.mask) return undefined;
    return {
      key: f.key,
      mask: f.mask,
      actions: f.actions ?? [],
      ufid: f.ufid ?? ufidOf(f.key, f.mask),
      stats: statsOf(f),
    };
  }

  // ------------------------------------------------------------------------------------------------------------
  // Datapath interface

  addPort(spec: DpPortSpec): DpPortInfo {
    if (spec.no === OVSP_LOCAL) {
      // Created with the datapath, named after it.
      const local = this.vports().find((v) => v.portNo === OVSP_LOCAL);
      if (!local) throw new DatapathError('ENOENT', `kernel datapath ${this.name} has no local port`);
      return this.toPort(local);
    }
    if (spec.type === 'tunnel')
      return this.tunnels.add(spec, (device) => this.addVport(spec.no, device, OVS_VPORT_TYPE.NETDEV));
    return this.addVport(spec.no, spec.name, VPORT_TYPES[spec.type]);
  }

  /** OVS_VPORT_CMD_NEW for interface `name` as port `no`, its failures in the Datapath interface's terms. */
  private addVport(no: number, name: string, type: number): DpPortInfo {
    const spec = { no, name };
    try {
      const r = this.vportRequest(
        OVS_VPORT_CMD.NEW,
        NLM_F_ECHO,
        { portNo: spec.no, type, name: spec.name, upcallPids: [this.upcalls.portId] },
        `adding port ${spec.name} to ${this.name}`,
      );
      if (r.length) return this.toPort(decodeVport(r[0].body));
    } catch (e) {
      if (hasErrno(e, 'ENODEV'))
        throw new DatapathError('ENOENT', `adding port ${spec.name} to ${this.name}: no interface named ${spec.name}`);
      if (hasErrno(e, 'EBUSY'))
        throw new DatapathError(
          'EBUSY',
          `adding port ${spec.name} to ${this.name}: the interface is already a port of another bridge or datapath`,
        );
      if (hasErrno(e, 'EFBIG'))
        throw new DatapathError(
          'EINVAL',
          `adding port ${spec.name} to ${this.name}: port number ${spec.no} is too large`,
        );
      throw asDatapathError(e, `adding port ${spec.name} to ${this.name}`);
    }
    const v = this.vports().find((p) => p.portNo === spec.no);
    if (!v) throw new DatapathError('ENOENT', `port ${spec.name} vanished from ${this.name} right after it was added`);
    return this.toPort(v);
  }

  removePort(no: number): void {
    if (no === OVSP_LOCAL)
      throw new DatapathError('EINVAL', `port 0 of ${this.name} is the datapath itself; delete the datapath instead`);
    try {
      this.vportRequest(OVS_VPORT_CMD.DEL, 0, { portNo: no }, `removing port ${no} from ${this.name}`);
    } catch (e) {
      // A tunnel port's device goes even when its vport went first.
      if (hasErrno(e, 'ENODEV', 'ENOENT') && !this.tunnels.remove(no))
        throw new DatapathError('ENOENT', `port ${no} of ${this.name} does not exist`);
      if (!hasErrno(e, 'ENODEV', 'ENOENT')) throw asDatapathError(e, `removing port ${no} from ${this.name}`);
      this.remoteCounters.dropPort(no);
      return;
    }
    if (this.tunnels.remove(no)) this.remoteCounters.dropPort(no);
  }

  ports(): DpPortInfo[] {
    // The per-remote counters are as fresh as the flow statistics last read: read them now (whole flows: one taken
    // over from an earlier netmgrd is tracked from here on).
    if (this.tunnels.size > 0) this.dumpFlows();
    return this.vports()
      .map((v) => this.toPort(v))
      .sort((a, b) => a.no - b.no);
  }

  putFlow(flow: FlowPut, actions: FlowActions, opts: FlowPutOptions): DpFlow {
    const put = this.installFlow(flow, actions, opts);
    this.trackTunnelFlow(put.ufid, flow.key, actions, put.stats.packets === 0);
    return put;
  }

  /** Flows that count for a tunnel port's remotes are tracked (statistics at zero when `fresh`). */
  private trackTunnelFlow(ufid: Uint8Array, key: FlowKey, actions: FlowActions, fresh: boolean): void {
    if (this.tunnels.size === 0) return;
    this.remoteCounters.track(
      ufid,
      attribute(key, actions, (no) => this.tunnels.config(no)),
      fresh,
    );
  }

  private installFlow(flow: FlowPut, actions: FlowActions, opts: FlowPutOptions): DpFlow {
    const ufid = flow.ufid ?? ufidOf(flow.key, flow.mask);
    const what = `${opts.mode === 'create' ? 'adding' : 'modifying'} a flow on ${this.name}`;
    const fresh = (): DpFlow => ({
      key: flow.key,
      mask: flow.mask,
      actions,
      ufid,
      stats: { packets: 0, bytes: 0, tcpFlags: 0 },
    });
    // SET replaces the actions of the flow with this UFID; the echoed flow carries its statistics.
    const set = (clear: boolean): DpFlow => {
      const r = this.flowRequest(
        OVS_FLOW_CMD.SET,
        NLM_F_ECHO,
        { key: flow.key, mask: flow.mask, actions, ufid, clear },
        what,
      );
      const f = r.length ? this.toFlow(decodeFlow(r[0].body)) : undefined;
      return f ? { ...f, ufid } : fresh();
    };
    try {
      if (opts.mode === 'create') {
        // NLM_F_CREATE stands for "exclusive": genl reads NLM_F_EXCL as a dump bit (the kernel's own comment).
        this.flowRequest(OVS_FLOW_CMD.NEW, NLM_F_CREATE, { key: flow.key, mask: flow.mask, actions, ufid }, what);
        return fresh();
      }
      if (opts.mayCreate && !opts.clearStats) {
        // Create; if this megaflow is there already (its UFID), replace its actions. (NEW without flags would
        // refuse with ENOENT when the key differs from the installed one in wildcarded bits.)
        try {
          this.flowRequest(OVS_FLOW_CMD.NEW, NLM_F_CREATE, { key: flow.key, mask: flow.mask, actions, ufid }, what);
          return fresh();
        } catch (e) {
          if (!hasErrno(e, 'EEXIST')) throw e;
        }
        return set(false);
      }
      try {
        return set(opts.clearStats === true);
      } catch (e) {
        if (hasErrno(e, 'ENOENT') && opts.mayCreate) {
          this.flowRequest(OVS_FLOW_CMD.NEW, NLM_F_CREATE, { key: flow.key, mask: flow.mask, actions, ufid }, what);
          return fresh();
        }
        throw e;
      }
    } catch (e) {
      if (hasErrno(e, 'EEXIST')) throw new DatapathError('EEXIST', `${what}: the flow already exists`);
      if (hasErrno(e, 'ENOENT')) throw new DatapathError('ENOENT', `${what}: no such flow`);
      if (hasErrno(e, 'EINVAL'))
        throw new DatapathError(
          'EINVAL',
          `${what}: the kernel rejected it (EINVAL)${e instanceof NetlinkError && e.kernelMessage ? `: ${e.kernelMessage}` : "; `dmesg` shows the openvswitch module's reason"}`,
        );
      throw asDatapathError(e, what);
    }
  }

  /** The flow with this UFID, or else the one whose key and mask are these (however it was put). */
  private locate(flow: { key?: FlowKey; mask?: FlowMask; ufid?: Uint8Array }): DpFlow | undefined {
    if (flow.ufid) return this.getByUfid(flow.ufid);
    if (!flow.key) return undefined;
    return this.getByUfid(ufidOf(flow.key, flow.mask)) ?? this.findByMatch(flow.key, flow.mask);
  }

  /** A flow put by someone else (ovs-dpctl without a UFID, or with its own): found by canonical text. */
  private findByMatch(key: FlowKey, mask: FlowMask | undefined): DpFlow | undefined {
    const want = formatFlowText(key, mask ?? key, []).match;
    return this.dumpFlows().find((f) => formatFlowText(f.key, f.mask, []).match === want);
  }

  private getByUfid(ufid: Uint8Array): DpFlow | undefined {
    try {
      const r = this.flowRequest(OVS_FLOW_CMD.GET, 0, { ufid }, `reading a flow of ${this.name}`);
      return r.length ? this.toFlow(decodeFlow(r[0].body)) : undefined;
    } catch (e) {
      if (hasErrno(e, 'ENOENT')) return undefined;
      throw asDatapathError(e, `reading a flow of ${this.name}`);
    }
  }

  deleteFlow(flow: { key?: FlowKey; mask?: FlowMask; ufid?: Uint8Array }): boolean {
    const what = `deleting a flow of ${this.name}`;
    const del = (r: { key?: FlowKey; ufid?: Uint8Array }): boolean => {
      try {
        this.flowRequest(OVS_FLOW_CMD.DEL, 0, r, what);
        return true;
      } catch (e) {
        if (hasErrno(e, 'ENOENT')) return false;
        throw asDatapathError(e, what);
      }
    };
    if (flow.ufid) {
      this.remoteCounters.forget(flow.ufid);
      return del({ ufid: flow.ufid });
    }
    if (!flow.key) return false;
    const byMatch = ufidOf(flow.key, flow.mask);
    this.remoteCounters.forget(byMatch);
    if (del({ ufid: byMatch })) return true;
    const found = this.findByMatch(flow.key, flow.mask);
    if (!found) return false;
    this.remoteCounters.forget(found.ufid);
    return del({ ufid: found.ufid }) || del({ key: found.key });
  }

  getFlow(flow: { key?: FlowKey; mask?: FlowMask; ufid?: Uint8Array }): DpFlow | undefined {
    return this.locate(flow);
  }

  flushFlows(): void {
    this.remoteCounters.forget();
    // DEL without KEY or UFID flushes the table.
    this.flowRequest(OVS_FLOW_CMD.DEL, 0, {}, `flushing the flows of ${this.name}`);
  }

  dumpFlows(): DpFlow[] {
    const out: DpFlow[] = [];
    for (const m of this.flowRequest(OVS_FLOW_CMD.GET, NLM_F_DUMP, {}, `dumping the flows of ${this.name}`)) {
      let f: DpFlow | undefined;
      try {
        f = this.toFlow(decodeFlow(m.body));
      } catch (e) {
        this.log(`${this.name}: skipped a kernel flow netmgr cannot represent: ${(e as Error).message}`);
      }
      if (f) {
        if (this.tunnels.size > 0) {
          const a = attribute(f.key, f.actions, (no) => this.tunnels.config(no));
          this.remoteCounters.adopt(f.ufid, a, f.stats);
        }
        this.remoteCounters.observe(f.ufid, f.stats);
        out.push(f);
      }
    }
    return out;
  }

  dumpFlowStats(): DpFlowStats[] {
    const out: DpFlowStats[] = [];
    // The kernel leaves out key, mask and actions only of flows that have a UFID; one put without (ovs-dpctl) is
    // identified by its key alone, so its UFID (derived from key and mask) comes from a full dump.
    const terse = OVS_UFID_F.OMIT_KEY | OVS_UFID_F.OMIT_MASK | OVS_UFID_F.OMIT_ACTIONS;
    let withoutUfid = false;
    const what = `dumping the flow counters of ${this.name}`;
    for (const m of this.flowRequest(OVS_FLOW_CMD.GET, NLM_F_DUMP, { ufidFlags: terse }, what)) {
      try {
        const f = decodeFlow(m.body);
        if (f.ufid) {
          const stats = statsOf(f);
          this.remoteCounters.observe(f.ufid, stats);
          out.push({ ufid: f.ufid, stats });
        } else withoutUfid = true;
      } catch (e) {
        this.log(`${this.name}: skipped a kernel flow netmgr cannot represent: ${(e as Error).message}`);
      }
    }
    if (!withoutUfid) return out;
    const seen = new Set(out.map((f) => Buffer.from(f.ufid).toString('hex')));
    for (const f of this.dumpFlows())
      if (!seen.has(Buffer.from(f.ufid).toString('hex'))) out.push({ ufid: f.ufid, stats: f.stats });
    return out;
  }

  execute(packet: Uint8Array, actions: FlowActions, inPort: number): void {
    // Only metadata in the key is used; the kernel parses the headers from the packet itself.
    this.executeRaw(packet, encodeKey({ inPort }), actions);
  }

  private executeRaw(packet: Uint8Array, key: Uint8Array, actions: FlowActions): void {
    if (!actions.length) return;
    const body = genlPayload(
      OVS_PACKET_CMD.EXECUTE,
      this.fam.packet.version,
      ovsHeader(this.dpIfindex),
      encodeExecuteAttrs({ packet, key, actions }),
    );
    this.sock.send(this.fam.packet.id, 0, body);
  }

  /**
   * Puts that may create (the upcall pipeline's) and executes go out pipelined; a put whose megaflow is there
   * already (EEXIST) then replaces its actions through putFlow, as do puts of any other mode.
   */
  operate(ops: readonly DpOp[]): Array<Error | undefined> {
    const out = new Array<Error | undefined>(ops.length).fill(undefined);
    const reqs: NetlinkRequest[] = [];
    const opOf: number[] = [];
    for (let i = 0; i < ops.length; i++) {
      const req = this.pipelined(ops[i]);
      if (req === undefined) {
        const op = ops[i];
        if (op.type === 'put') out[i] = this.tryPut(op);
        continue;
      }
      reqs.push(req);
      opOf.push(i);
    }
    const acks = transactMany(this.sock, reqs, `running ${reqs.length} operation(s) on ${this.name}`);
    for (let j = 0; j < acks.length; j++) {
      const e = acks[j];
      const op = ops[opOf[j]];
      if (e === undefined) {
        if (op.type === 'put')
          this.trackTunnelFlow(op.flow.ufid ?? ufidOf(op.flow.key, op.flow.mask), op.flow.key, op.actions, true);
        continue;
      }
      if (op.type === 'put') {
        out[opOf[j]] = e.code === 'EEXIST' ? this.tryPut(op) : asDatapathError(e, `installing a flow on ${this.name}`);
      } else {
        this.noteExecuteFailure(e.errnoNumber, e.kernelMessage);
        out[opOf[j]] = asDatapathError(e, `executing a packet on ${this.name}`);
      }
    }
    return out;
  }

  /** The request an op sends in a pipelined batch; undefined for what must wait for its answer (or is a no-op). */
  private pipelined(op: DpOp): NetlinkRequest | undefined {
    const hdr = ovsHeader(this.dpIfindex);
    if (op.type === 'execute') {
      if (!op.actions.length) return undefined;
      const key = op.rawKey ?? encodeKey({ inPort: op.inPort });
      const attrs = encodeExecuteAttrs({ packet: op.packet, key, actions: op.actions });
      return {
        type: this.fam.packet.id,
        flags: 0,
        payload: genlPayload(OVS_PACKET_CMD.EXECUTE, this.fam.packet.version, hdr, attrs),
      };
    }
    if (op.opts.mode !== 'modify' || !op.opts.mayCreate || op.opts.clearStats) return undefined;
    const { key, mask } = op.flow;
    const attrs = encodeFlowAttrs({ key, mask, actions: op.actions, ufid: op.flow.ufid ?? ufidOf(key, mask) });
    // NLM_F_CREATE stands for "exclusive" (see putFlow).
    return {
      type: this.fam.flow.id,
      flags: NLM_F_CREATE,
      payload: genlPayload(OVS_FLOW_CMD.NEW, this.fam.flow.version, hdr, attrs),
    };
  }

  private tryPut(op: Extract<DpOp, { type: 'put' }>): Error | undefined {
    try {
      this.putFlow(op.flow, op.actions, op.opts);
      return undefined;
    } catch (e) {
      return e as Error;
    }
  }

  /** Counts a packet the kernel refused to execute, logging the first few and then one in a thousand. */
  private noteExecuteFailure(errno: number, msg: string | undefined): void {
    this.executeFailures++;
    if (this.executeFailures <= 5 || this.executeFailures % 1000 === 0) {
      this.log(
        `${this.name}: the kernel refused to execute a packet (${errnoName(errno)}${msg ? `: ${msg}` : ''}); ${this.executeFailures} so far`,
      );
    }
  }

  setUpcallHandler(h: UpcallHandler | undefined): void {
    this.handler = h;
  }

  /**
   * The handler in force behind the tunnel ports' screen: packets from no remote, or of another VNI, are dropped
   * here (a drop flow keeps the next ones in the kernel), as the userspace datapath's tunnel sockets drop them.
   */
  private readonly screened: UpcallHandler = (batch) => {
    const pass: Upcall[] = [];
    const drops: DpOp[] = [];
    for (const u of batch) {
      const flow = u.type === 'miss' ? this.tunnels.screen(u.inPort, u.key) : undefined;
      if (flow === undefined) {
        pass.push(u);
        continue;
      }
      this.remoteCounters.countScreened(attribute(u.key, [], (no) => this.tunnels.config(no)));
      drops.push({ type: 'put', flow, actions: [], opts: { mode: 'modify', mayCreate: true } });
    }
    for (const e of drops.length ? this.operate(drops) : [])
      if (e !== undefined) this.log(`${this.name}: installing a tunnel drop flow: ${e.message}`);
    if (pass.length) this.handler?.(pass);
  };

  stats(): DpStats {
    const info = dpRequest(
      this.sock,
      this.fam,
      OVS_DP_CMD.GET,
      0,
      this.dpIfindex,
      {},
      `reading the counters of ${this.name}`,
    );
    const s = info.stats;
    const m = info.megaflowStats;
    return {
      hit: s?.nHit ?? 0,
      missed: s?.nMissed ?? 0,
      lost: s?.nLost ?? 0,
      flows: s?.nFlows ?? 0,
      masksHit: m?.nMaskHit ?? 0,
      masks: m?.nMasks ?? 0,
    };
  }

  /** Upcalls lost in this process's socket (ENOBUFS), beside the kernel's own `lost` counter. */
  get socketOverruns(): number {
    return this.reader.overruns;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Upcalls

  private onReadable(): void {
    try {
      this.reader.read();
    } finally {
      if (!this.closed) this.sock.drain();
    }
  }

  // ------------------------------------------------------------------------------------------------------------

  private stop(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.poll) native().pollStop(this.poll);
    this.poll = undefined;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    this.handler = undefined;
  }

  /** Stops serving upcalls and closes the sockets; the kernel datapath, its ports and flows stay. */
  release(): void {
    this.stop();
    this.tunnels.close();
    this.upcalls.close();
    this.sock.close();
  }

  /** Deletes the kernel datapath with its ports (internal ports' interfaces go with it) and flows. */
  destroy(): void {
    this.stop();
    try {
      dpRequest(this.sock, this.fam, OVS_DP_CMD.DEL, 0, this.dpIfindex, {}, `deleting kernel datapath ${this.name}`);
    } catch (e) {
      if (!hasErrno(e, 'ENODEV', 'ENOENT')) throw asDatapathError(e, `deleting kernel datapath ${this.name}`);
    } finally {
      // Deleting the datapath detached the tunnel devices; they are netmgr's to delete.
      this.tunnels.destroyAll();
      this.tunnels.close();
      this.upcalls.close();
      this.sock.close();
    }
  }
}
