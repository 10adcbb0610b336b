/** Printing loop-protection settings in a plan: what differs from the defaults, or from what runs. */
import type { PortStpConfig, StpConfig } from '../model/bridges';
import { defaultStp } from '../units/stp';

/** Bridge fields by unit key, in the man page's order. */
const FIELDS: ReadonlyArray<[keyof Omit<StpConfig, 'ports'>, string]> = [
  ['mode', 'stp'],
  ['priority', 'stp-priority'],
  ['helloTime', 'stp-hello-time'],
  ['maxAge', 'stp-max-age'],
  ['forwardDelay', 'stp-forward-delay'],
  ['txHoldCount', 'stp-tx-hold-count'],
  ['loopDetect', 'loop-detect'],
  ['loopDetectInterval', 'loop-detect-interval'],
  ['loopRecovery', 'loop-recovery'],
];

const value = (v: unknown): string => (v === true ? 'on' : v === false ? 'off' : String(v));

/** `stp-cost 100, stp-edge true, bpdu-guard`: a port's settings that are not defaults. */
export function portStpSettings(p: PortStpConfig): string {
  const parts: string[] = [];
  if (p.cost !== undefined) parts.push(`stp-cost ${p.cost}`);
  if (p.priority !== 128) parts.push(`stp-priority ${p.priority}`);
  if (p.edge !== 'auto') parts.push(`stp-edge ${String(p.edge)}`);
  if (p.bpduGuard) parts.push('bpdu-guard');
  if (p.rootGuard) parts.push('root-guard');
  if (p.bpduFilter) parts.push('bpdu-filter');
  return parts.join(', ') || 'defaults';
}

/**
 * The difference between two settings: `stp off -> rstp` per bridge field (when `from` is undefined: `stp` and
 * `loop-detect`, and what differs from the defaults), then one indented line per port whose settings changed.
 */
export function stpChange(
  from: StpConfig | undefined,
  to: StpConfig | undefined,
): { parts: string[]; lines: string[] } {
  const base = from ?? defaultStp();
  const parts: string[] = [];
  if (to === undefined) return { parts: from ? ['loop protection removed'] : [], lines: [] };
  // Without settings to compare with, the two that decide whether anything runs are always shown.
  for (const [f, key] of FIELDS)
    if (from ? from[f] !== to[f] : f === 'mode' || f === 'loopDetect' || base[f] !== to[f])
      parts.push(from ? `${key} ${value(from[f])} -> ${value(to[f])}` : `${key} ${value(to[f])}`);
  const had = new Map(base.ports.map((p) => [p.port, portStpSettings(p)]));
  const has = new Map(to.ports.map((p) => [p.port, portStpSettings(p)]));
  const lines: string[] = [];
  for (const [port, s] of had) if (has.get(port) !== s) lines.push(`\n    - port ${port}: ${s}`);
  for (const [port, s] of has) if (had.get(port) !== s) lines.push(`\n    + port ${port}: ${s}`);
  return { parts, lines };
}
