/**
 * The one place where the bridge layer completes a bridge's settings before a policy gets them: a record written
 * by an older netmgr (adoption at start-up) may lack learning fields the units now always fill. The values come
 * from the unit schema, the single source of defaults.
 */
import type { BridgeConfig, LearningConfig, PortConfig } from '../model/bridges';
import type { DpPortSpec } from '../datapath/types';
import { isTunnelKind } from '../model/types';
import { findEntry } from '../units/schema';

function schemaDefault(key: string): number {
  const d = findEntry('bridge', key)?.default;
  if (typeof d !== 'number') throw new Error(`the unit schema has no numeric default for bridge.${key}`);
  return d;
}

/** A learning bridge's settings with every field present (others unchanged: they have no learning settings). */
export function completeBridgeConfig(cfg: BridgeConfig): BridgeConfig {
  if (cfg.policy !== 'learning') return cfg;
  const l: Partial<LearningConfig> = cfg.learning ?? {};
  const learning: LearningConfig = {
    macAging: l.macAging ?? schemaDefault('mac-aging'),
    macTableSize: l.macTableSize ?? schemaDefault('mac-table-size'),
    staticMacs: l.staticMacs ?? [],
    // Loop protection as given: a record without it (an older netmgr) runs none until the next apply sets it.
    ...(l.stp !== undefined ? { stp: l.stp } : {}),
  };
  return { ...cfg, learning };
}

/** The datapath's spec of a port: a tunnel port carries its settings with its kind. */
export function portSpecOf(cfg: PortConfig): DpPortSpec {
  if (cfg.tunnel !== undefined && isTunnelKind(cfg.kind))
    return { no: cfg.no, name: cfg.name, type: 'tunnel', tunnel: { ...cfg.tunnel, kind: cfg.kind } };
  return { no: cfg.no, name: cfg.name, type: cfg.kind === 'internal' ? 'internal' : 'netdev' };
}

/** The tunnel ports among `ports`, as a kernel datapath being adopted or inspected is told them. */
export const tunnelSpecsOf = (ports: readonly PortConfig[]): DpPortSpec[] =>
  ports.map(portSpecOf).filter((s) => s.type === 'tunnel');
