/**
 * Per-remote counters of the kernel datapath's tunnel ports. The kernel counts a metadata-mode device's packets
 * as a whole; what went to and came from each remote is in the flows: a flow whose in_port is a tunnel port
 * counts for the remote it matches (its sender), or, for the screen's drop flows, as a receive drop by reason; a
 * flow whose actions send through a tunnel port counts for each set(tunnel(dst)) before such an output. Flow
 * statistics are read when the flows are (dumpFlowStats: the revalidator's rounds, and status), and the growth
 * since the last reading is added to totals that outlive the flows; a flow deleted in between loses what it
 * counted after its last reading (an idle flow, the revalidator's kind, has nothing there). Bytes are those of
 * the inner frames, as on the userspace datapath.
 */
import { tunnelEndpointText as endpoint, vniOfTunId, type FlowActions, type FlowKey, type FlowStats } from '../../flow';
import { canonicalIpText } from '../../flow/text';
import type { DpTunnelConfig, DpTunnelRemoteStats, DpTunnelStats } from '../types';

/** What one flow's packets count for. */
export interface Attribution {
  /** Received on tunnel port `port`: from `remote`, or dropped on receipt for `drop`. */
  rx?: { port: number; remote?: string; drop?: 'rxUnknownRemote' | 'rxOtherVni' };
  /** Sent through tunnel port `port` to `remote`, once per pair. */
  tx: { port: number; remote: string }[];
}

/** What a flow counts for (pure); undefined when it touches no tunnel port. */
export function attribute(
  key: FlowKey,
  actions: FlowActions,
  tunnelOf: (no: number) => DpTunnelConfig | undefined,
): Attribution | undefined {
  const a: Attribution = { tx: [] };
  const inTunnel = key.inPort !== undefined ? tunnelOf(key.inPort) : undefined;
  if (inTunnel !== undefined && key.tunnel !== undefined) {
    const from = endpoint(key.tunnel.src, key.tunnel.ipv6Src);
    const known = from !== undefined && inTunnel.remotes.some((r) => canonicalIpText(r) === from);
    if (!known) a.rx = { port: key.inPort!, drop: 'rxUnknownRemote' };
    else if (vniOfTunId(key.tunnel.tunId) !== inTunnel.vni) a.rx = { port: key.inPort!, drop: 'rxOtherVni' };
    else a.rx = { port: key.inPort!, remote: from };
  }
  let dst: string | undefined;
  for (const act of actions) {
    if (act.type === 'set' && act.key.tunnel !== undefined) dst = endpoint(act.key.tunnel.dst, act.key.tunnel.ipv6Dst);
    else if (act.type === 'output' && dst !== undefined && tunnelOf(act.port) !== undefined) {
      const remote = dst;
      if (!a.tx.some((t) => t.port === act.port && t.remote === remote)) a.tx.push({ port: act.port, remote });
    }
  }
  return a.rx !== undefined || a.tx.length > 0 ? a : undefined;
}

interface Tracked {
  attribution: Attribution;
  packets: number;
  bytes: number;
}

interface PortTotals {
  remotes: Map<string, DpTunnelRemoteStats>;
  rxUnknownRemote: number;
  rxOtherVni: number;
}

const hex = (ufid: Uint8Array): string => Buffer.from(ufid).toString('hex');

export class TunnelRemoteCounters {
  private readonly flows = new Map<string, Tracked>();
  private readonly totals = new Map<number, PortTotals>();

  /**
   * A flow put with these actions: tracked when it counts for a tunnel port. `fresh`: its statistics start at
   * zero (a new flow, or one whose statistics were cleared).
   */
  track(ufid: Uint8Array, attribution: Attribution | undefined, fresh: boolean): void {
    const id = hex(ufid);
    const old = this.flows.get(id);
    if (attribution === undefined) {
      this.flows.delete(id);
      return;
    }
    const keep = old !== undefined && !fresh;
    this.flows.set(id, { attribution, packets: keep ? old.packets : 0, bytes: keep ? old.bytes : 0 });
  }

  /**
   * A flow read from the kernel that is not tracked yet (put by an earlier netmgrd, taken over): tracked from its
   * current statistics on, so only what it counts from now on is added.
   */
  adopt(ufid: Uint8Array, attribution: Attribution | undefined, stats: FlowStats): void {
    const id = hex(ufid);
    if (attribution === undefined || this.flows.has(id)) return;
    this.flows.set(id, { attribution, packets: stats.packets, bytes: stats.bytes });
  }

  /** A reading of a flow's statistics: what it counted since the last one is added to the totals. */
  observe(ufid: Uint8Array, stats: FlowStats): void {
    const t = this.flows.get(hex(ufid));
    if (t === undefined) return;
    // Fewer than before: the flow was replaced under the same UFID and counts from zero again.
    const restarted = stats.packets < t.packets;
    const dp = restarted ? stats.packets : stats.packets - t.packets;
    const db = restarted ? stats.bytes : stats.bytes - t.bytes;
    t.packets = stats.packets;
    t.bytes = stats.bytes;
    if (dp === 0 && db === 0) return;
    const { rx, tx } = t.attribution;
    if (rx?.drop !== undefined) this.port(rx.port)[rx.drop] += dp;
    else if (rx?.remote !== undefined) {
      const r = this.remote(rx.port, rx.remote);
      r.rxPackets += dp;
      r.rxBytes += db;
    }
    for (const o of tx) {
      const r = this.remote(o.port, o.remote);
      r.txPackets += dp;
      r.txBytes += db;
    }
  }

  /** A packet the screen dropped in userspace (the first of its drop flow, which counts the next ones). */
  countScreened(a: Attribution | undefined): void {
    if (a?.rx?.drop !== undefined) this.port(a.rx.port)[a.rx.drop]++;
  }

  /** A flow deleted (or all of them, on a flush): no longer tracked. */
  forget(ufid?: Uint8Array): void {
    if (ufid === undefined) this.flows.clear();
    else this.flows.delete(hex(ufid));
  }

  /** A tunnel port removed: its totals go with it. */
  dropPort(port: number): void {
    this.totals.delete(port);
  }

  /** Port `port`'s counters, one entry per configured remote (in the unit's order) and the drops by reason. */
  stats(port: number, config: DpTunnelConfig): DpTunnelStats {
    const p = this.port(port);
    const remotes = config.remotes.map((address) => ({ ...this.remote(port, canonicalIpText(address)), address }));
    return { remotes, rxUnknownRemote: p.rxUnknownRemote, rxOtherVni: p.rxOtherVni, rxMalformed: 0 };
  }

  private port(port: number): PortTotals {
    let p = this.totals.get(port);
    if (p === undefined) {
      p = { remotes: new Map(), rxUnknownRemote: 0, rxOtherVni: 0 };
      this.totals.set(port, p);
    }
    return p;
  }

  private remote(port: number, address: string): DpTunnelRemoteStats {
    const p = this.port(port);
    let r = p.remotes.get(address);
    if (r === undefined) {
      r = { address, rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 };
      p.remotes.set(address, r);
    }
    return r;
  }
}
