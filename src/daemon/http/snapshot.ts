/**
 * What the status listener serves, gathered at one moment: `netmgr status --json` and, per bridge, what only the
 * listener shows (link state, the MAC table, loop protection). Plain data: the renderers (metrics, page) are pure
 * functions of it.
 */
import type { FdbEntry, FdbStats } from '../../policy/learning/api';
import type { LoopProtectionView } from '../../policy/learning/loop-view';
import type { StatusReport } from '../status';

/** One bridge's details beyond its counters in the status report. */
export interface BridgeDetail {
  /** The bridge's name, as in status.bridges. */
  name: string;
  /** Port name -> whether its interface is administratively up; a port whose interface was not found is absent. */
  linkUp: Record<string, boolean>;
  /** Learning bridges: the MAC table's counters and entries. */
  fdb?: { stats: FdbStats; entries: FdbEntry[] };
  /** Learning bridges: loop protection (spanning tree, loop detection) as `netmgr stp show` reports it. */
  loop?: LoopProtectionView;
}

/** netmgr's own version and the runtime's, for netmgr_build_info and the page's footer. */
export interface BuildInfo {
  version: string;
  nodejs: string;
}

export interface SwitchSnapshot {
  /** Exactly what `netmgr status --json` prints (from netmgrd). */
  status: StatusReport;
  /** One per bridge of status.bridges, same order. */
  details: BridgeDetail[];
  /** When a reload (SIGHUP, `netmgr reload`, the watcher) last applied successfully; null: none since the start. */
  lastReloadAt: string | null;
  build: BuildInfo;
  /** When it was gathered (ISO time): the page says how fresh it is. */
  takenAt: string;
}

/** A port's loop protection state: a spanning tree state, `blocked` by loop detection, or none (no protection). */
export type PortLoopState = 'forwarding' | 'learning' | 'discarding' | 'blocked';

/** Loop protection's state of one port, or undefined when the bridge runs none. */
export function portLoopState(loop: LoopProtectionView | undefined, portNo: number): PortLoopState | undefined {
  if (!loop) return undefined;
  if (loop.loopDetect?.blocked.some((b) => b.no === portNo)) return 'blocked';
  const rstp = loop.rstp?.ports.find((p) => p.no === portNo);
  if (rstp) return rstp.state;
  return loop.loopDetect ? 'forwarding' : undefined;
}
