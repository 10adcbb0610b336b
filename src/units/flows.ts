/**
 * [[bridge.flow]] entries are checked with the shared flow model, exactly as the kernel would check them, and
 * each rejection points at the token inside the unit file (`FILE:LINE:COL`), not at the whole value.
 *
 * Ports in flows: a name means that port whatever its number; a number is the datapath's port number, and the
 * units know only pinned ones (`number` in [port], and 0 for the bridge's own port). A port without `number` has
 * the number the datapath gave it, which depends on the bridge's history, so a number that no port pins is refused
 * while the bridge has such a port: it could be that port's on one box and another's elsewhere.
 */
import type * as FlowModel from '../flow';
import type { FlowError, PortTable } from '../flow';
import type { BridgeSpec, DesiredState, SourcePos, UnitError } from '../model/types';
import { bridgePorts, pinnedNumbers, portNumbers, portTable } from '../model/ports';

const NOT_PINNED = 'is not pinned';

/** The hint of a refused or unknown port: what the bridge's ports are, and how to name one. */
function portHint(e: FlowError, bridge: BridgeSpec, numbers: Map<string, number>, pins: Map<number, string>): string {
  if (e.message.includes(NOT_PINNED)) {
    const no = Number(e.token);
    const fresh = [...numbers].find(([, n]) => n === no)?.[0];
    return fresh
      ? `name the port instead (in_port(${fresh}), or ${fresh} as an action), or pin it with \`number = ${no}\` in its [port]; ${fresh} is the port numbered ${no} when the bridge is created from these units`
      : `name the port instead, or pin a port with \`number = ${no}\` in its [port]`;
  }
  const list = [...numbers.keys()].map((n) =>
    n === bridge.name || pins.has(numbers.get(n)!) ? `${n} (${numbers.get(n)})` : n,
  );
  return `ports of bridge ${bridge.name}: ${list.join(', ')}`;
}

/** The value's position is its opening quote; the flow text starts one column later. */
function at(value: SourcePos, e: FlowError, hint: string | undefined): UnitError {
  return {
    file: value.file,
    line: value.line,
    col: value.col + e.column,
    message: e.message,
    hint:
      hint ??
      'the syntax is that of ovs-dpctl add-flow; `netmgr flow check "<flow>" "<actions>"` explains a flow on its own',
  };
}

/** Names resolve to a bridge's numbering as created from the units; numbers must be pinned (see the top). */
function unitPortTable(state: DesiredState, bridge: BridgeSpec, numbers: Map<string, number>): PortTable {
  const pins = pinnedNumbers(state, bridge);
  const unpinned = bridgePorts(state, bridge).some((p) => p.number === undefined);
  return {
    ...portTable(numbers),
    refuseNumber: (no) =>
      pins.has(no) || !unpinned
        ? undefined
        : `port number ${no} ${NOT_PINNED} by any port of bridge ${bridge.name}: ports without \`number\` are numbered by the datapath (kept while they run, the lowest free when added), so flows name them`,
  };
}

export function checkBridgeFlows(state: DesiredState): UnitError[] {
  const errors: UnitError[] = [];
  for (const bridge of state.bridges.values()) {
    if (!bridge.flows.length) continue;
    // Loaded only when some unit has flows: most unit sets have none, and apply's start-up time matters.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the line above
    const { FlowError, parseActions, parseFlow, validateFlow } = require('../flow') as typeof FlowModel;
    const numbers = portNumbers(state, bridge);
    const pins = pinnedNumbers(state, bridge);
    const ports = unitPortTable(state, bridge, numbers);
    const hintOf = (e: FlowError) =>
      /unknown port|port name|not pinned/i.test(e.message) ? portHint(e, bridge, numbers, pins) : undefined;
    /** Runs one parse; a syntax error becomes a located UnitError and yields undefined. */
    const attempt = <T>(parse: () => T, value: SourcePos): T | undefined => {
      try {
        return parse();
      } catch (e) {
        if (!(e instanceof FlowError)) throw e;
        errors.push(at(value, e, hintOf(e)));
        return undefined;
      }
    };
    for (const f of bridge.flows) {
      const flow = attempt(() => parseFlow(f.match, { ports }), f.source);
      const actions = flow && attempt(() => parseActions(f.actions, { ports }), f.actionsSource);
      if (!flow || !actions) continue;
      for (const e of validateFlow(flow, actions))
        errors.push(at(e.source === 'actions' ? f.actionsSource : f.source, e, hintOf(e)));
    }
  }
  return errors;
}
