/**
 * Kernel bridges as live state: netmgr's record (settings the kernel does not keep) checked against what the
 * kernel reports. A recorded port whose vport is gone (its veth deleted, a namespace removed) is not reported,
 * so the planner adds it again; flows are the kernel's own.
 */
import { formatFlowText } from '../flow/format';
import type { LiveBridge } from '../model/bridges';
import type { DpFlow, DpPortInfo } from '../datapath/types';
import { KernelDatapath } from '../datapath/kernel/datapath';
import { loadKernelBridges, type KernelBridgeRecord } from './records';
import { tunnelSpecsOf } from './config';

/** Pure: the record as the kernel confirms it. */
export function kernelLiveBridge(
  rec: KernelBridgeRecord,
  ports: readonly DpPortInfo[],
  flows: readonly DpFlow[],
): LiveBridge {
  const present = new Set(ports.map((p) => `${p.no}/${p.name}`));
  return {
    ...rec.config,
    ports: rec.ports.filter((p) => present.has(`${p.no}/${p.name}`)).sort((a, b) => a.no - b.no),
    flows: rec.config.policy === 'flows' ? flows.map((f) => formatFlowText(f.key, f.mask, f.actions)) : [],
  };
}

/** The recorded kernel bridges that exist, read from the kernel without taking them over. */
export function readKernelBridges(stateDir: string): LiveBridge[] {
  const out: LiveBridge[] = [];
  for (const rec of loadKernelBridges(stateDir)) {
    const seen = KernelDatapath.inspect(rec.config.name, tunnelSpecsOf(rec.ports));
    if (seen) out.push(kernelLiveBridge(rec, seen.ports, seen.flows));
  }
  return out;
}
