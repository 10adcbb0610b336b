/**
 * The daemon side of `netmgr stp`: loop protection (spanning tree, loop detection, guards) of the bridges with
 * policy = "learning", as `ovs-appctl rstp/show` shows it; and lifting a block before its recovery time.
 */
import type { StpParams, StpResult } from './protocol';
import { RequestError } from './errors';
import { isLearning, learningPolicy, type PolicyBridges } from './fdb';

export function runStp(m: PolicyBridges, req: StpParams): StpResult {
  switch (req.command) {
    case 'show': {
      const bridges = req.bridge !== undefined ? [req.bridge] : m.names().filter((b) => isLearning(m.policy(b)));
      return bridges.map((b) => learningPolicy(m, b, 'it has no loop protection').loopProtectionView());
    }
    case 'unblock': {
      if (req.bridge === undefined || req.port === undefined)
        throw new RequestError({ kind: 'invalid', message: 'stp unblock needs a bridge and a port' });
      const policy = learningPolicy(m, req.bridge, 'it has no loop protection');
      const ports = m
        .datapath(req.bridge)
        .ports()
        .filter((p) => p.no !== 0);
      const port = ports.find((p) => p.name === req.port || String(p.no) === req.port);
      if (port === undefined)
        throw new RequestError({
          kind: 'invalid',
          message: `bridge ${req.bridge} has no port ${req.port} (ports: ${ports.map((p) => `${p.name}(${p.no})`).join(', ')})`,
        });
      return { bridge: req.bridge, port: port.name, portNo: port.no, lifted: policy.loopUnblock(port.no) };
    }
    default:
      throw new RequestError({ kind: 'invalid', message: `unknown stp command ${String(req.command)}` });
  }
}
