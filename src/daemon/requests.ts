/**
 * What netmgrd's request handlers (dpctl, fdb, trace) share: how a request names a bridge, the port table flows
 * from the command line are resolved with, and how flow problems become refusals.
 */
import { FlowError, type PortTable } from '../flow';
import type { Datapath } from '../datapath/types';
import { portTable } from '../model/ports';
import { RequestError } from './errors';

/** The bridge a request names, or the only one when it names none. */
export function pickBridge(m: { names(): string[] }, name: string | undefined): string {
  const names = m.names();
  if (name !== undefined) {
    if (!names.includes(name))
      throw new RequestError({
        kind: 'invalid',
        message: `no bridge named ${name}${names.length ? ` (netmgrd runs: ${names.join(', ')})` : ' (netmgrd runs no bridges)'}`,
      });
    return name;
  }
  if (names.length === 1) return names[0];
  throw new RequestError({
    kind: 'invalid',
    message: names.length ? `netmgrd runs several bridges (${names.join(', ')}): name one` : 'netmgrd runs no bridges',
  });
}

/** The datapath's ports by name and number, so flows may name ports. */
export const portTableOf = (dp: Datapath): PortTable => portTable(new Map(dp.ports().map((p) => [p.name, p.no])));

const flowErr = (e: FlowError) => ({ message: e.message, column: e.column, token: e.token, source: e.source });

/** Runs a parse of command-line flow text; a FlowError becomes a refusal of kind 'flow' (located, with a caret). */
export function parsingFlow<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof FlowError) throw new RequestError({ kind: 'flow', message: e.message, flowErrors: [flowErr(e)] });
    throw e;
  }
}

/** Refuses a flow with every problem found in it, located. */
export function refuseFlowProblems(problems: readonly FlowError[]): void {
  if (problems.length)
    throw new RequestError({ kind: 'flow', message: problems[0].message, flowErrors: problems.map(flowErr) });
}
