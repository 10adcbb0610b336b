/**
 * Loop protection in the units: the rules that relate its keys (802.1D-2004 17.14's timer inequalities, learning
 * policy only) and how its values become the model's StpConfig (the bridge's settings with those of its ports).
 */
import { portStpKey, type PortStpConfig, type PortStpSettings, type StpConfig } from '../model/bridges';
import type { PortSpec } from '../model/types';
import type { Loc, SourceLocator } from './locate';
import type { UnitKey } from './schema';
import { STP_BRIDGE_ROWS, STP_PORT_ROWS } from './schema-stp';
import { Values } from './unit-values';
import type { ErrorSink } from './walker';

const BRIDGE_KEYS = STP_BRIDGE_ROWS.map((e) => e.name);
const PORT_KEYS = STP_PORT_ROWS.map((e) => e.name);

/** What the rules read of a unit file (validate.ts's FileUnit has these). */
interface UnitText {
  values: Values;
  loc: SourceLocator;
}

/** The keys of one section given in a unit, with where they are. */
function givenKeys(u: UnitText, keys: readonly UnitKey[]): Array<{ key: string; at: Loc }> {
  return keys.filter((k) => u.values.has(k)).map((k) => ({ key: k.split('.')[1], at: u.loc.keyAt(k) }));
}

/** [bridge]: loop protection needs the learning policy; the timers must satisfy 17.14. */
export function stpBridgeRules(u: UnitText, policy: string, report: ErrorSink): void {
  if (policy !== 'learning') {
    for (const { key, at } of givenKeys(u, BRIDGE_KEYS))
      report(
        at,
        `\`${key}\` needs policy = "learning"; this bridge uses policy = "${policy}"`,
        'with policy = "flows" only the [[bridge.flow]] rules forward: there is no spanning tree or loop detection',
      );
    return;
  }
  const v = u.values;
  const timers = ['bridge.stp-hello-time', 'bridge.stp-max-age', 'bridge.stp-forward-delay'] as const;
  if (timers.some((k) => v.isBad(k)) || !timers.some((k) => v.has(k))) return;
  const hello = v.get('bridge.stp-hello-time');
  const maxAge = v.get('bridge.stp-max-age');
  const fd = v.get('bridge.stp-forward-delay');
  // Point at the key the user wrote: max age when given (it sits between the other two), else the one given.
  const at = u.loc.keyAt(timers.find((k) => k === 'bridge.stp-max-age' && v.has(k)) ?? timers.find((k) => v.has(k))!);
  if (2 * (fd - 1) < maxAge)
    report(
      at,
      `stp-max-age ${maxAge} is more than 2 x (stp-forward-delay ${fd} - 1) = ${2 * (fd - 1)} (802.1D-2004 17.14)`,
      `lower stp-max-age to ${2 * (fd - 1)} or raise stp-forward-delay to ${Math.ceil(maxAge / 2) + 1}`,
    );
  if (maxAge < 2 * (hello + 1))
    report(
      at,
      `stp-max-age ${maxAge} is less than 2 x (stp-hello-time ${hello} + 1) = ${2 * (hello + 1)} (802.1D-2004 17.14)`,
      `raise stp-max-age to ${2 * (hello + 1)} or lower stp-hello-time to ${Math.floor(maxAge / 2) - 1}`,
    );
}

/** [port]: the settings need a bridge, and one of the learning policy (`policy` undefined: no bridge). */
export function stpPortRules(
  u: UnitText,
  bridge: string | undefined,
  policy: string | undefined,
  report: ErrorSink,
): void {
  if (policy === 'learning') return;
  for (const { key, at } of givenKeys(u, PORT_KEYS))
    report(
      at,
      bridge === undefined
        ? `\`${key}\` needs a bridge; this veth joins two namespaces directly`
        : `\`${key}\` needs a bridge with policy = "learning"; bridge \`${bridge}\` uses policy = "${policy}"`,
      'remove it',
    );
}

/** The bridge's settings as its unit gives them (ports are added by withPorts). */
export function bridgeStp(v: Values): StpConfig {
  return {
    mode: v.get('bridge.stp'),
    priority: v.get('bridge.stp-priority'),
    helloTime: v.get('bridge.stp-hello-time'),
    maxAge: v.get('bridge.stp-max-age'),
    forwardDelay: v.get('bridge.stp-forward-delay'),
    txHoldCount: v.get('bridge.stp-tx-hold-count'),
    loopDetect: v.get('bridge.loop-detect'),
    loopDetectInterval: v.get('bridge.loop-detect-interval'),
    loopRecovery: v.get('bridge.loop-recovery'),
    ports: [],
  };
}

export function portStp(v: Values): PortStpSettings {
  const cost = v.get('port.stp-cost');
  return {
    ...(cost !== undefined ? { cost } : {}),
    priority: v.get('port.stp-priority'),
    edge: v.get('port.stp-edge'),
    bpduGuard: v.get('port.bpdu-guard'),
    rootGuard: v.get('port.root-guard'),
    bpduFilter: v.get('port.bpdu-filter'),
  };
}

const DEFAULT_PORT: PortStpConfig = {
  port: '',
  priority: 128,
  edge: 'auto',
  bpduGuard: false,
  rootGuard: false,
  bpduFilter: false,
};

/**
 * The bridge's settings with its ports' that are not all defaults, sorted by name: a port added with the defaults
 * leaves the bridge's settings as they are (no in-place change to plan for it).
 */
export function withPorts(stp: StpConfig, ports: readonly PortSpec[]): StpConfig {
  const list = ports
    .map((p): PortStpConfig => ({ port: p.name, ...p.stp }))
    .filter((p) => portStpKey(p) !== portStpKey({ ...DEFAULT_PORT, port: p.port }))
    .sort((a, b) => (a.port < b.port ? -1 : a.port > b.port ? 1 : 0));
  return { ...stp, ports: list };
}

/** The settings of a bridge unit that sets none of the keys (what a plan shows differences from). */
export const defaultStp = (): StpConfig => bridgeStp(new Values());
