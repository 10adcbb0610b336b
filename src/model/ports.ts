/**
 * Datapath port numbering, a rule of the model: the bridge's own interface is port 0 (OVSP_LOCAL in the kernel),
 * its ports 1, 2, ... in unit-name order. Units check flows with it, the plan numbers ports with it, the datapaths
 * and the CLI read numbers in flows with it, so a number written in a flow means the same everywhere.
 */
import type { PortTable } from '../flow';
import type { BridgeSpec, DesiredState } from './types';

/** The datapath's own port (the bridge's internal interface). */
export const LOCAL_PORT_NO = 0;

/** Port numbers of a bridge's ports, keyed by name; the bridge's own name is LOCAL_PORT_NO. */
export function bridgePortNumbers(state: DesiredState, bridge: BridgeSpec): Map<string, number> {
  const names = [...state.ports.values()]
    .filter((p) => p.bridge === bridge.name)
    .map((p) => p.name)
    .sort();
  return new Map<string, number>([
    [bridge.name, LOCAL_PORT_NO],
    ...names.map((n, i) => [n, i + 1] as [string, number]),
  ]);
}

/** The flow parser's view of a numbering: names to numbers and back. */
export function portTable(numbers: Map<string, number>): PortTable {
  const byNo = new Map([...numbers].map(([n, no]) => [no, n]));
  return { byName: (n) => numbers.get(n), nameOf: (no) => byNo.get(no) };
}
