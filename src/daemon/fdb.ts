/**
 * The daemon side of `netmgr fdb` and `netmgr trace`: the MAC table of bridges with policy = "learning", and the
 * learning policy's decision for one packet, explained. Trace flows may name ports, as in dpctl; they are resolved
 * with the datapath's own port table.
 */
import { FlowError, MAC_EXACT, parseFlow, validateFlow, type Flow } from '../flow';
import type { Datapath } from '../datapath/types';
import type { TraceResult } from '../policy/learning/api';
import type { LearningPolicy } from '../policy/learning';
import type { Policy } from '../policy/types';
import type { FdbParams, FdbResult, TraceParams } from './protocol';
import { RequestError } from './errors';
import { parsingFlow, pickBridge, portTableOf, refuseFlowProblems } from './requests';

/** What the learning policy reports (fdb show/flush/stats, trace); only a policy of kind 'learning' has it. */
export type LearningReports = Pick<
  LearningPolicy,
  'fdbShow' | 'fdbFlush' | 'fdbStats' | 'trace' | 'loopProtectionView' | 'loopUnblock'
>;

export function isLearning(p: Policy): p is Policy & LearningReports {
  return p.kind === 'learning';
}

/** The part of netmgrd's BridgeManager these requests use. */
export interface PolicyBridges {
  names(): string[];
  datapath(name: string): Datapath;
  policy(name: string): Policy;
}

/** The learning policy of a named bridge; an unknown bridge or another policy is refused (kind 'invalid'). */
export function learningPolicy(m: PolicyBridges, name: string, what: string): Policy & LearningReports {
  const bridge = pickBridge(m, name);
  const p = m.policy(bridge);
  if (!isLearning(p))
    throw new RequestError({ kind: 'invalid', message: `bridge ${bridge} runs policy = "${p.kind}": ${what}` });
  return p;
}

export function runFdb(m: PolicyBridges, req: FdbParams): FdbResult {
  if (!['show', 'flush', 'stats'].includes(req.command))
    throw new RequestError({ kind: 'invalid', message: `unknown fdb command ${String(req.command)}` });
  const targets =
    req.bridge !== undefined
      ? [{ bridge: req.bridge, policy: learningPolicy(m, req.bridge, 'it has no MAC table') }]
      : m.names().flatMap((bridge) => {
          const policy = m.policy(bridge);
          return isLearning(policy) ? [{ bridge, policy }] : [];
        });
  switch (req.command) {
    case 'show':
      return targets.map(({ bridge, policy }) => ({ bridge, entries: policy.fdbShow() }));
    case 'stats':
      return targets.map(({ bridge, policy }) => ({ bridge, stats: policy.fdbStats() }));
    case 'flush':
      return targets.map(({ bridge, policy }) => ({ bridge, flushed: policy.fdbFlush() }));
  }
}

const EXACT_PORT = 0xffffffff;

/** What a trace needs beyond a valid flow: one packet's in_port and Ethernet addresses, exact, on a real port. */
function traceProblems(flow: Flow, dp: Datapath, bridge: string): FlowError[] {
  const { key, mask } = flow;
  const span = (path: string) =>
    flow.spans?.get(path) ?? flow.spans?.get(Object.keys(key)[0]) ?? { column: 1, token: '' };
  const problem = (path: string, message: string) => {
    const s = span(path);
    return new FlowError(message, s.column, s.token);
  };
  const out: FlowError[] = [];
  if (key.inPort === undefined) {
    out.push(problem('inPort', 'trace needs in_port(PORT): the port the packet arrives on, by name or number'));
  } else if (mask.inPort !== EXACT_PORT) {
    out.push(problem('inPort', 'in_port(...) must be exact for a trace (it follows one packet): remove the /mask'));
  } else {
    const ports = dp.ports();
    if (!ports.some((p) => p.no === key.inPort)) {
      out.push(
        problem(
          'inPort',
          `bridge ${bridge} has no port ${key.inPort} (ports: ${ports.map((p) => `${p.name}(${p.no})`).join(', ')})`,
        ),
      );
    }
  }
  if (key.eth === undefined) {
    out.push(problem('eth', "trace needs eth(src=MAC,dst=MAC): the packet's Ethernet addresses"));
  } else {
    for (const f of ['src', 'dst'] as const) {
      const m = mask.eth?.[f] ?? 0;
      if (m === 0)
        out.push(
          problem(
            'eth',
            `trace needs the packet's ${f === 'src' ? 'source' : 'destination'} MAC: add ${f}=MAC to eth(...)`,
          ),
        );
      else if (m !== MAC_EXACT)
        out.push(
          problem(`eth.${f}`, `eth(${f}=...) must be exact for a trace (it follows one packet): remove the /mask`),
        );
    }
  }
  return out;
}

export function runTrace(m: PolicyBridges, req: TraceParams): TraceResult {
  const policy = learningPolicy(
    m,
    req.bridge,
    `trace explains the learning policy's decisions; this bridge forwards by its flows (netmgr dpctl dump-flows ${req.bridge})`,
  );
  const dp = m.datapath(req.bridge);
  const { flow, problems } = parsingFlow(() => {
    const flow = parseFlow(req.flow, { ports: portTableOf(dp) });
    return { flow, problems: validateFlow(flow) };
  });
  // What a trace needs comes first: it says what to write; the kernel's rules apply to what is written.
  const needed = traceProblems(flow, dp, req.bridge);
  refuseFlowProblems(needed.length ? needed : problems);
  return policy.trace(flow.key, flow.mask);
}
