/** What the learning policy reports: `netmgr fdb` rows, `netmgr trace` results, and its rate-limited move log. */
import { formatActions, formatFlowKey, type FlowKey, type FlowMask } from '../../flow';
import { formatMac } from '../../flow/text';
import type { FdbEntry, TraceResult } from './api';
import type { Decision } from './decide';
import type { MacEntry, MacTable } from './mac-table';

/** Move log lines: a burst of this many, then one per second (as OVS's VLOG_RATE_LIMIT_INIT(1, 5)). */
const MOVE_LOG_BURST = 5;

type PortName = (no: number) => string;

/** `netmgr fdb show`: every entry, by port, VLAN and MAC. */
export function fdbEntries(table: MacTable, portName: PortName, now: number): FdbEntry[] {
  return table
    .entries()
    .map((e) => ({
      port: e.port,
      portName: portName(e.port),
      vlan: e.vlan,
      mac: formatMac(e.mac),
      age: e.static ? 0 : Math.max(0, Math.floor((now - e.lastSeen) / 1000)),
      static: e.static,
      moves: e.moves,
      ...(e.remote !== undefined ? { remote: e.remote } : {}),
    }))
    .sort((a, b) => a.port - b.port || a.vlan - b.vlan || (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0));
}

/** `netmgr trace`: a decision made with explanations, as the CLI shows it. */
export function traceResult(
  bridge: string,
  d: Decision,
  key: FlowKey,
  mask: FlowMask | undefined,
  portName: PortName,
): TraceResult {
  const inPort = key.inPort ?? -1;
  return {
    bridge,
    flow: formatFlowKey(key, mask),
    inPort: { no: inPort, name: portName(inPort) },
    ...(d.vlan !== undefined ? { vlan: d.vlan } : {}),
    decision: d.decision,
    reason: d.reason,
    steps: d.steps,
    outputs: d.outputs.map((o) => ({ no: o.no, name: portName(o.no), tagged: o.tagged })),
    actions: d.actions.length ? formatActions(d.actions) : 'drop',
    megaflow: formatFlowKey(key, d.mask),
  };
}

/** Logs MAC moves, a burst then one a second, counting the ones it leaves out. */
export class MoveLog {
  private tokens = MOVE_LOG_BURST;
  private tokenTime = 0;
  private suppressed = 0;

  constructor(private readonly out: (line: string) => void) {}

  log(e: MacEntry, from: number, now: number, bridge: string, portName: PortName): void {
    this.tokens = Math.min(MOVE_LOG_BURST, this.tokens + (now - this.tokenTime) / 1000);
    this.tokenTime = now;
    if (this.tokens < 1) {
      this.suppressed++;
      return;
    }
    this.tokens -= 1;
    const suppressed = this.suppressed ? `; ${this.suppressed} more moves not logged` : '';
    this.suppressed = 0;
    this.out(
      `${bridge}: MAC ${formatMac(e.mac)} in VLAN ${e.vlan} moved from port ${portName(from)} (${from}) to ` +
        `${portName(e.port)} (${e.port}), ${e.moves} move${e.moves === 1 ? '' : 's'} so far${e.moves > 1 ? ' (flapping between ports: a loop or a duplicate MAC?)' : ''}${suppressed}`,
    );
  }
}
