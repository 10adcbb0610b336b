/**
 * What this system can run, checked before anything is applied, with the unit each refusal comes from: a bridge
 * with datapath = "kernel" needs the openvswitch kernel module; tunnel ports (kind = "vxlan", "geneve") are
 * validated but run by neither datapath yet.
 */
import type { LiveState } from '../live/state';
import { isTunnelKind, type DesiredState, type UnitError } from '../model/types';

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
  for (const p of desired.ports.values()) {
    if (!isTunnelKind(p.kind)) continue;
    const b = p.bridge !== undefined ? desired.bridges.get(p.bridge) : undefined;
    const chosen = b?.datapath === 'auto' ? (live.kernelDatapath ? 'kernel' : 'userspace') : b?.datapath;
    const runsOn = chosen ?? 'userspace';
    const other = runsOn === 'kernel' ? 'userspace' : 'kernel';
    const at = p.kindSource ?? p.source;
    errors.push({
      file: at.file,
      line: at.line,
      col: at.col,
      message:
        `port ${p.name}: kind = "${p.kind}" is not supported yet on the ${runsOn} datapath that bridge ${p.bridge} ` +
        `runs on (nor on the ${other} datapath): netmgr checks a tunnel port's keys, but neither datapath runs tunnel ports yet`,
      hint: 'remove this port unit (or move it out of the unit directory) until netmgr runs tunnel ports; `netmgr validate --offline` still checks it',
    });
  }
  return errors;
}
