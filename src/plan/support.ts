/**
 * What this system can run, checked before anything is applied, with the unit each refusal comes from: a bridge
 * with datapath = "kernel" needs the openvswitch kernel module.
 */
import type { LiveState } from '../live/state';
import type { DesiredState, UnitError } from '../model/types';

export function checkSupported(desired: DesiredState, live: Pick<LiveState, 'kernelDatapath'>): UnitError[] {
  const errors: UnitError[] = [];
  for (const b of desired.bridges.values()) {
    const at = { file: b.source.file, line: b.source.line, col: b.source.col };
    if (b.datapath === 'kernel' && !live.kernelDatapath) {
      errors.push({
        ...at,
        message: `bridge ${b.name}: datapath = "kernel" needs the openvswitch kernel module, which is not loaded (no ovs_datapath generic netlink family)`,
        hint: 'load it with `modprobe openvswitch`, or use datapath = "userspace" (or "auto", which picks the kernel datapath only when it is there)',
      });
    }
  }
  return errors;
}
