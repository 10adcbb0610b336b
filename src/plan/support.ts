/**
 * What this system can run, checked before anything is applied, with the unit each refusal comes from: a bridge
 * with datapath = "kernel" needs the openvswitch kernel module; tunnel ports (kind = "vxlan", "geneve") over an
 * IPv6 underlay run on the kernel datapath only.
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
    if (p.tunnel?.family !== 6) continue;
    const b = p.bridge !== undefined ? desired.bridges.get(p.bridge) : undefined;
    const chosen = b?.datapath === 'auto' ? (live.kernelDatapath ? 'kernel' : 'userspace') : b?.datapath;
    if (chosen === 'kernel') continue;
    const at = p.kindSource ?? p.source;
    errors.push({
      file: at.file,
      line: at.line,
      col: at.col,
      message: `port ${p.name}: a ${p.kind} port over an IPv6 underlay is not supported yet on the userspace datapath (IPv4 remotes only)`,
      hint: 'use IPv4 underlay addresses in `remotes` and `local`, or datapath = "kernel" on the bridge',
    });
  }
  return errors;
}
