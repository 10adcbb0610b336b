/**
 * [[bridge.flow]] entries are checked with the shared flow model, exactly as the kernel would check them, and
 * each rejection points at the token inside the unit file (`FILE:LINE:COL`), not at the whole value.
 */
import type * as FlowModel from '../flow';
import type { FlowError } from '../flow';
import type { BridgeSpec, DesiredState, SourcePos, UnitError } from '../model/types';
import { bridgePortNumbers, portTable } from '../model/ports';

/** The value's position is its opening quote; the flow text starts one column later. */
function at(value: SourcePos, e: FlowError, bridge: BridgeSpec, numbers: Map<string, number>): UnitError {
  const unknownPort = /unknown port|port name/i.test(e.message);
  return {
    file: value.file,
    line: value.line,
    col: value.col + e.column,
    message: e.message,
    hint: unknownPort
      ? `ports of bridge ${bridge.name}: ${[...numbers].map(([n, no]) => `${n} (${no})`).join(', ')}`
      : 'the syntax is that of ovs-dpctl add-flow; `netmgr flow check "<flow>" "<actions>"` explains a flow on its own',
  };
}

export function checkBridgeFlows(state: DesiredState): UnitError[] {
  const errors: UnitError[] = [];
  for (const bridge of state.bridges.values()) {
    if (!bridge.flows.length) continue;
    // Loaded only when some unit has flows: most unit sets have none, and apply's start-up time matters.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the line above
    const { FlowError, parseActions, parseFlow, validateFlow } = require('../flow') as typeof FlowModel;
    const numbers = bridgePortNumbers(state, bridge);
    const ports = portTable(numbers);
    /** Runs one parse; a syntax error becomes a located UnitError and yields undefined. */
    const attempt = <T>(parse: () => T, value: SourcePos): T | undefined => {
      try {
        return parse();
      } catch (e) {
        if (!(e instanceof FlowError)) throw e;
        errors.push(at(value, e, bridge, numbers));
        return undefined;
      }
    };
    for (const f of bridge.flows) {
      const flow = attempt(() => parseFlow(f.match, { ports }), f.source);
      const actions = flow && attempt(() => parseActions(f.actions, { ports }), f.actionsSource);
      if (!flow || !actions) continue;
      for (const e of validateFlow(flow, actions))
        errors.push(at(e.source === 'actions' ? f.actionsSource : f.source, e, bridge, numbers));
    }
  }
  return errors;
}
