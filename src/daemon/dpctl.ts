/**
 * The daemon side of `netmgr dpctl`: ovs-dpctl's commands against the bridges netmgrd runs. Flows from the
 * command line may name ports; they are resolved with the datapath's own port table and checked with the same
 * rules the kernel applies before anything is installed.
 */
import {
  formatDumpLine,
  formatFlowKey,
  formatActions,
  parseActions,
  parseFlow,
  validateFlow,
  formatUfid,
} from '../flow';
import type { BridgeControl } from '../bridge';
import type { Datapath } from '../datapath/types';
import { hasErrno, messageOf } from '../util/errors';
import type { DpctlFlow, DpctlParams, DpctlResult, DpctlShowBridge } from './protocol';
import { RequestError } from './errors';
import { parsingFlow, pickBridge, portTableOf, refuseFlowProblems } from './requests';

function parseOrThrow(dp: Datapath, flowText: string, actionsText: string | undefined) {
  const ports = portTableOf(dp);
  const { flow, actions, problems } = parsingFlow(() => {
    const flow = parseFlow(flowText, { ports });
    const actions = actionsText === undefined ? undefined : parseActions(actionsText, { ports });
    return { flow, actions, problems: validateFlow(flow, actions) };
  });
  refuseFlowProblems(problems);
  return { flow, actions };
}

export function runDpctl(m: BridgeControl, req: DpctlParams): DpctlResult {
  if (req.command === 'show') {
    const names = req.bridge !== undefined ? [pickBridge(m, req.bridge)] : m.names();
    return names.map((name): DpctlShowBridge => {
      const dp = m.datapath(name);
      return { name, type: dp.type, stats: dp.stats(), ports: dp.ports() };
    });
  }
  const bridge = pickBridge(m, req.bridge);
  const dp = m.datapath(bridge);
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof RequestError) throw e;
      throw new RequestError({
        kind: hasErrno(e, 'EEXIST', 'ENOENT', 'EOPNOTSUPP', 'EINVAL') ? 'invalid' : 'error',
        message: messageOf(e),
      });
    }
  };
  switch (req.command) {
    case 'dump-flows': {
      const now = Date.now();
      return {
        bridge,
        flows: dp.dumpFlows().map((f): DpctlFlow => ({
          ufid: formatUfid(f.ufid),
          match: formatFlowKey(f.key, f.mask),
          actions: formatActions(f.actions),
          packets: f.stats.packets,
          bytes: f.stats.bytes,
          usedMsAgo: f.stats.used === undefined ? null : now - f.stats.used,
          tcpFlags: f.stats.tcpFlags,
          line: formatDumpLine(f, now, { verbose: req.more }),
        })),
      };
    }
    case 'add-flow':
    case 'mod-flow': {
      if (req.flow === undefined || req.actions === undefined)
        throw new RequestError({ kind: 'invalid', message: `${req.command} needs a flow and actions` });
      const { flow, actions } = parseOrThrow(dp, req.flow, req.actions);
      const put = wrap(() =>
        dp.putFlow(
          { key: flow.key, mask: flow.mask, ufid: flow.ufid },
          actions!.actions,
          req.command === 'add-flow'
            ? { mode: 'create' }
            : { mode: 'modify', mayCreate: req.mayCreate, clearStats: req.clear },
        ),
      );
      return {
        bridge,
        ufid: formatUfid(put.ufid),
        match: formatFlowKey(put.key, put.mask),
        actions: formatActions(put.actions),
      };
    }
    case 'del-flow': {
      if (req.flow === undefined) throw new RequestError({ kind: 'invalid', message: 'del-flow needs a flow' });
      const { flow } = parseOrThrow(dp, req.flow, undefined);
      const target =
        flow.ufid && Object.keys(flow.key).length === 0 ? { ufid: flow.ufid } : { key: flow.key, mask: flow.mask };
      const existing = dp.getFlow(target);
      if (!existing || !dp.deleteFlow(target))
        throw new RequestError({
          kind: 'invalid',
          message: `no such flow on ${bridge}: ${formatFlowKey(flow.key, flow.mask)}`,
        });
      return { bridge, deleted: 1, ufid: formatUfid(existing.ufid) };
    }
    case 'del-flows': {
      const n = dp.dumpFlows().length;
      dp.flushFlows();
      return { bridge, deleted: n };
    }
  }
  throw new RequestError({ kind: 'invalid', message: `unknown dpctl command ${String(req.command)}` });
}
