/**
 * At start-up: takes over the persistent (kernel) bridges an earlier netmgrd created, as recorded in the state
 * directory. Their upcalls come here from now on; ports the kernel lost are forgotten (the next apply adds them
 * again); vports not in the record (left by an apply that died between the kernel's change and the record) are
 * removed. A learning bridge's policy adopts the flows in the kernel, so forwarding goes on and aging resumes.
 */
import { KernelDatapath } from '../datapath/kernel/datapath';
import type { PortConfig } from '../model/bridges';
import { messageOf } from '../util/errors';
import { startBridge, type ManagedBridge } from './bridge';
import { tunnelSpecsOf } from './config';
import type { KernelBridgeRecord } from './records';

/** The recorded ports the datapath still has; its ports the record lacks are removed. */
function reconcilePorts(
  dp: KernelDatapath,
  rec: KernelBridgeRecord,
  log: (line: string) => void,
): Map<string, PortConfig> {
  const name = rec.config.name;
  const vports = new Map(dp.ports().map((p) => [p.no, p]));
  const ports = new Map<string, PortConfig>();
  for (const p of rec.ports) {
    const v = vports.get(p.no);
    if (v && v.name === p.name) ports.set(p.name, p);
  }
  for (const v of vports.values()) {
    if (v.no === 0 || ports.get(v.name)?.no === v.no) continue;
    log(
      `kernel bridge ${name}: removing port ${v.name} (${v.no}), which netmgr's record does not have (an interrupted apply?)`,
    );
    try {
      dp.removePort(v.no);
    } catch (e) {
      log(`kernel bridge ${name}: could not remove port ${v.name}: ${messageOf(e)}`);
    }
  }
  return ports;
}

/** Takes over one recorded bridge; undefined when it is gone or cannot be opened (logged). */
export function adoptKernelBridge(rec: KernelBridgeRecord, log: (line: string) => void): ManagedBridge | undefined {
  const name = rec.config.name;
  let dp: KernelDatapath | undefined;
  try {
    dp = KernelDatapath.adopt(name, { log, tunnels: tunnelSpecsOf(rec.ports) });
  } catch (e) {
    log(`could not take over kernel bridge ${name}: ${messageOf(e)}`);
    return undefined;
  }
  if (!dp) {
    log(`kernel bridge ${name} is gone (rebooted or removed by hand); the next apply creates it again`);
    return undefined;
  }
  const ports = reconcilePorts(dp, rec, log);
  const b = startBridge(rec.config, dp, ports, log, { learned: rec.learned });
  const flows = dp.stats().flows;
  log(
    `took over kernel bridge ${name} (${ports.size} port${ports.size === 1 ? '' : 's'}, ${flows} flow${flows === 1 ? '' : 's'})`,
  );
  return b;
}
