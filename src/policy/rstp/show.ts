/** The view behind `netmgr stp show`: the bridge's spanning tree summary and one row per port, and its text form. */
import type { PortRoleName } from './events';
import type { BlockedReason, PortState } from './types';

export interface RstpPortView {
  no: number;
  name: string;
  /** The Port Identifier in hex, priority and number ("8001"). */
  portId: string;
  role: PortRoleName;
  state: PortState;
  pathCost: number;
  priority: number;
  /** operEdge (17.19.16): an edge port now, by admin or auto edge. */
  edge: boolean;
  pointToPoint: boolean;
  /** What the port speaks on the wire now: 'stp' after migration to a legacy neighbour. */
  protocol: 'rstp' | 'stp';
  /** The designated bridge and port of the attached LAN (17.19.21 portPriority). */
  designatedBridge: string;
  designatedPort: string;
  bpduIn: number;
  bpduOut: number;
  invalidIn: number;
  filteredIn: number;
  /** Why a port that is not forwarding is held, besides its role; undefined when the role alone explains it. */
  blockedReason?: BlockedReason;
  guards: string[];
}

export interface RstpView {
  bridgeId: string;
  rootId: string;
  isRoot: boolean;
  rootPathCost: number;
  rootPort?: { no: number; name: string };
  protocol: 'rstp' | 'stp';
  /** The times in force (the root's, 17.19.29 rootTimes), seconds. */
  helloTime: number;
  maxAge: number;
  forwardDelay: number;
  txHoldCount: number;
  topologyChanges: number;
  ports: RstpPortView[];
}

/** Text for `netmgr stp show`: a summary, then a table of ports. */
export function formatRstpView(v: RstpView): string[] {
  const via = v.isRoot ? '(this bridge)' : `via ${v.rootPort?.name ?? '?'} cost ${v.rootPathCost}`;
  const lines = [
    `bridge ${v.bridgeId} protocol ${v.protocol}`,
    `  root ${v.rootId} ${via}`,
    `  hello ${v.helloTime} max-age ${v.maxAge} forward-delay ${v.forwardDelay} tx-hold ${v.txHoldCount}` +
      ` topology-changes ${v.topologyChanges}`,
  ];
  const header = ['port', 'id', 'role', 'state', 'cost', 'edge', 'proto', 'designated', 'in', 'out', 'note'];
  const rows = v.ports.map((p) => [
    p.name,
    p.portId,
    p.role,
    p.state,
    String(p.pathCost),
    p.edge ? 'yes' : 'no',
    p.protocol,
    `${p.designatedBridge}/${p.designatedPort}`,
    String(p.bpduIn),
    String(p.bpduOut),
    [p.blockedReason, ...p.guards].filter((s) => s !== undefined).join(','),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) lines.push(('  ' + r.map((c, i) => c.padEnd(widths[i])).join('  ')).trimEnd());
  return lines;
}
