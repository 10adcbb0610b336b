/**
 * Datapath port numbering, a rule of the model, as Open vSwitch keeps ofports: the bridge's own interface is port 0
 * (OVSP_LOCAL in the kernel); a port whose unit pins a number (`number`, like ofport_request) has it; any other
 * port keeps the number it has in the running datapath, and a new one takes the lowest free number. A port's
 * number so never changes because other ports come or go, and removing a port frees its number. The plan numbers
 * ports with the live bridge (portNumbers with `live`), netmgrd's datapaths and the CLI read numbers back from the
 * datapath, so a number means the same everywhere; units alone know only pinned numbers (pinnedNumbers).
 */
import type { PortTable } from '../flow';
import type { BridgeSpec, DesiredState, PortSpec } from './types';

/** The datapath's own port (the bridge's internal interface). */
export const LOCAL_PORT_NO = 0;

/** The highest number `number` may pin: OpenFlow's OFPP_MAX, as OVS's ofport_request; both datapaths take it. */
export const PORT_NO_MAX = 65279;

/** A running port's name and datapath number (LiveBridge ports). */
export interface NumberedPort {
  name: string;
  no: number;
}

/** The last numbers of bridges by name (netmgrd's record), used for a bridge that is not running. */
export type PortNumberRecord = Record<string, NumberedPort[]>;

/** A bridge's port units in name order (plain code-unit order, independent of the locale). */
export function bridgePorts(state: DesiredState, bridge: BridgeSpec): PortSpec[] {
  return [...state.ports.values()]
    .filter((p) => p.bridge === bridge.name)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Port numbers of a bridge's ports, keyed by name, the bridge's own name LOCAL_PORT_NO: pinned numbers first, then
 * each running port's live number unless a pin took it, then the lowest free number for the rest in name order.
 * Without `live` (a bridge not running yet) that is 1, 2, ... in name order around the pins.
 */
export function portNumbers(
  state: DesiredState,
  bridge: BridgeSpec,
  live: readonly NumberedPort[] = [],
): Map<string, number> {
  const ports = bridgePorts(state, bridge);
  const out = new Map<string, number>([[bridge.name, LOCAL_PORT_NO]]);
  const used = new Set<number>([LOCAL_PORT_NO]);
  const take = (name: string, no: number) => {
    out.set(name, no);
    used.add(no);
  };
  for (const p of ports) if (p.number !== undefined) take(p.name, p.number);
  const liveNo = new Map(live.map((p) => [p.name, p.no]));
  for (const p of ports) {
    const no = liveNo.get(p.name);
    if (!out.has(p.name) && no !== undefined && !used.has(no)) take(p.name, no);
  }
  let next = 1;
  for (const p of ports) {
    if (out.has(p.name)) continue;
    while (used.has(next)) next++;
    take(p.name, next);
  }
  return out;
}

/** The numbers a bridge's units pin, with the port that pins each, the bridge's own LOCAL_PORT_NO included. */
export function pinnedNumbers(state: DesiredState, bridge: BridgeSpec): Map<number, string> {
  const out = new Map<number, string>([[LOCAL_PORT_NO, bridge.name]]);
  for (const p of bridgePorts(state, bridge)) if (p.number !== undefined) out.set(p.number, p.name);
  return out;
}

/** The flow parser's view of a numbering: names to numbers and back. */
export function portTable(numbers: Map<string, number>): PortTable {
  const byNo = new Map([...numbers].map(([n, no]) => [no, n]));
  return { byName: (n) => numbers.get(n), nameOf: (no) => byNo.get(no) };
}
