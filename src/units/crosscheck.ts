/**
 * Rules that relate units to each other (unique names, bridge references, VLANs vs. the bridge's policy, static
 * MAC entries vs. the bridge's ports and their VLANs, veth peer names per namespace), and assembly of the
 * DesiredState from the validated units.
 */
import type {
  BridgeSpec,
  DesiredState,
  FlowSpec,
  Ipv6Settings,
  LinkSettings,
  NamespaceName,
  PortSpec,
  SourcePos,
  StaticMacSpec,
  UnitError,
} from '../model/types';
import type { Loc } from './locate';
import { bridgeStp, portStp, stpPortRules, withPorts } from './stp';
import { didYouMean } from './suggest';
import type { Located, Values } from './unit-values';
import { FileUnit, elementsOf } from './validate';
import { unitRoutes } from './routes';
import { checkTunnelOverlaps, tunnelSpec } from './tunnel';
import { checkPortNumbers } from './port-numbers';
import { IFNAME_MAX_BYTES, byteLength } from './values';

interface Claim {
  unit: FileUnit;
  what: string;
}

const nsKey = (ns: NamespaceName, name: string): string => `${ns ?? ''}\u0000${name}`;
const nsLabel = (ns: NamespaceName): string => (ns === null ? 'the root namespace' : `namespace \`${ns}\``);

/** Cross-file checks over units in file order; the state built from the units, or null when there are errors. */
export function crossCheck(units: FileUnit[], errors: UnitError[]): DesiredState | null {
  const report = (u: FileUnit, at: Loc, message: string, hint?: string): void => {
    errors.push(hint === undefined ? { file: u.file, ...at, message } : { file: u.file, ...at, message, hint });
  };

  // Unit names: bridges and ports are all interfaces, and the maps are keyed by name.
  const byName = new Map<string, FileUnit>();
  const unique: FileUnit[] = [];
  for (const u of units) {
    if (u.name === undefined) continue;
    const first = byName.get(u.name);
    if (first) {
      report(
        u,
        u.nameAt,
        `unit name \`${u.name}\` is already used by the ${first.type} unit in ${first.file}`,
        'bridges and ports share one interface name space; set another `name` in [unit] (or rename the file)',
      );
      continue;
    }
    byName.set(u.name, u);
    unique.push(u);
  }
  const bridgeNames = unique.filter((u) => u.type === 'bridge').map((u) => u.name as string);

  for (const u of units) {
    if (u.type !== 'port') continue;
    const ref = u.values.given('port.bridge');
    if (!ref) continue;
    const name = ref.value;
    const target = byName.get(name);
    if (!target) {
      const guess = didYouMean(name, bridgeNames);
      report(
        u,
        ref.at,
        `bridge \`${name}\` is not defined${guess ? `; did you mean \`${guess}\`?` : ''}`,
        bridgeNames.length > 0
          ? `defined bridges: ${bridgeNames.join(', ')}`
          : 'no bridge unit is defined; add one with [unit] type = "bridge"',
      );
      continue;
    }
    if (target.type !== 'bridge') {
      report(
        u,
        ref.at,
        `\`${name}\` is a port unit (${target.file}), not a bridge`,
        `defined bridges: ${bridgeNames.join(', ') || 'none'}`,
      );
      continue;
    }
    if (target.values.isBad('bridge.policy')) continue;
    const policy = target.values.get('bridge.policy');
    stpPortRules(u, name, policy, (at, message, hint) => report(u, at, message, hint));
    if (policy === 'learning') continue;
    for (const key of ['vlan', 'trunks', 'native-vlan'] as const) {
      const at = u.values.has(`port.${key}`) ? u.loc.keyAt(`port.${key}`) : undefined;
      if (!at) continue;
      report(
        u,
        at,
        `\`${key}\` needs a bridge with policy = "learning"; bridge \`${name}\` uses policy = "${policy}"`,
        'with policy = "flows" the [[bridge.flow]] rules alone decide forwarding: match VLAN tags there, or use policy = "learning"',
      );
    }
  }

  checkStaticMacs(unique, byName, report);
  checkPeers(unique, report);
  checkTunnelOverlaps(unique, report);
  checkPortNumbers(unique, byName, report);
  return errors.length ? null : buildState(unique);
}

type Report = (u: FileUnit, at: Loc, message: string, hint?: string) => void;

/** A port's VLAN settings as the units give them; undefined when one of them is invalid (already reported). */
interface UnitVlans {
  access?: number;
  trunks: number[];
  native?: number;
}

function unitVlans(port: FileUnit): UnitVlans | undefined {
  const v = port.values;
  const keys = ['port.vlan', 'port.trunks', 'port.native-vlan'] as const;
  if (keys.some((k) => v.isBad(k))) return undefined;
  // vlan with trunks, or native-vlan without trunks: reported by the port's own rules.
  const [hasVlan, hasTrunks, hasNative] = keys.map((k) => v.has(k));
  if ((hasVlan && hasTrunks) || (hasNative && !hasTrunks)) return undefined;
  return { access: v.get('port.vlan'), trunks: v.get('port.trunks'), native: v.get('port.native-vlan') };
}

/** The VLAN a static entry without `vlan` is in: the access VLAN, else the native VLAN, else 0 (untagged). */
function defaultStaticVlan(vl: UnitVlans): number {
  return vl.access ?? vl.native ?? 0;
}

const isTrunk = (vl: UnitVlans): boolean =>
  vl.access === undefined && (vl.trunks.length > 0 || vl.native !== undefined);

const vlanList = (vl: UnitVlans): number[] =>
  [...new Set([...vl.trunks, ...(vl.native !== undefined ? [vl.native] : [])])].sort((a, b) => a - b);

/** The port units of a bridge, and the hint that lists them. */
interface BridgePorts {
  names: string[];
  hint: string;
}

/**
 * [[bridge.static-mac]] of learning bridges: the port is a port unit of this bridge, it carries the entry's VLAN,
 * and each (mac, vlan) is listed once per bridge. Errors point at the offending value.
 */
function checkStaticMacs(units: FileUnit[], byName: Map<string, FileUnit>, report: Report): void {
  for (const b of units) {
    if (b.type !== 'bridge' || b.values.isBad('bridge.policy') || b.values.get('bridge.policy') !== 'learning')
      continue;
    const entries = elementsOf(b, 'bridge.static-mac');
    if (!entries.length) continue;
    const names = units
      .filter((u) => u.type === 'port' && u.values.given('port.bridge')?.value === b.name)
      .map((u) => u.name as string)
      .sort();
    const ports = {
      names,
      hint: names.length
        ? `ports of bridge ${b.name}: ${names.join(', ')}`
        : `bridge ${b.name} has no ports yet; add a port unit with bridge = "${b.name}"`,
    };
    const seen = new Map<string, { line: number; col: number }>();
    for (const e of entries) {
      const mac = e.values.given('bridge.static-mac.mac');
      const portRef = e.values.given('bridge.static-mac.port');
      if (!portRef) continue;
      const target = staticMacPort(b, portRef, byName, ports, report);
      if (!target || e.values.isBad('bridge.static-mac.vlan')) continue;
      const vlan = staticMacVlan(b, target, portRef.at, e.values.given('bridge.static-mac.vlan'), report);
      if (vlan === undefined || !mac) continue;
      const key = `${mac.value}/${vlan}`;
      const first = seen.get(key);
      if (first) {
        report(
          b,
          mac.at,
          `static MAC ${mac.value} in ${vlan === 0 ? 'the untagged VLAN 0' : `VLAN ${vlan}`} is already listed (at ${first.line}:${first.col})`,
          'list each MAC once per VLAN: a frame to it can leave through one port only',
        );
        continue;
      }
      seen.set(key, mac.at);
    }
  }
}

/** The port unit a static MAC entry names, when it is a port of this bridge (else reported). */
function staticMacPort(
  b: FileUnit,
  portRef: Located<string>,
  byName: Map<string, FileUnit>,
  ports: BridgePorts,
  report: Report,
): FileUnit | undefined {
  const name = portRef.value;
  const target = byName.get(name);
  if (!target) {
    const guess = didYouMean(name, ports.names);
    report(
      b,
      portRef.at,
      `static MAC port \`${name}\` is not defined${guess ? `; did you mean \`${guess}\`?` : ''}`,
      ports.hint,
    );
    return undefined;
  }
  if (target.type !== 'port') {
    report(b, portRef.at, `\`${name}\` is a bridge unit (${target.file}), not a port`, ports.hint);
    return undefined;
  }
  const owner = target.values.given('port.bridge')?.value;
  if (owner !== b.name) {
    report(
      b,
      portRef.at,
      owner === undefined
        ? `static MAC port \`${name}\` is not attached to a bridge`
        : `static MAC port \`${name}\` is a port of bridge \`${owner}\`, not of \`${b.name}\``,
      ports.hint,
    );
    return undefined;
  }
  return target;
}

/**
 * The VLAN of a static MAC entry on its port: the one given when the port carries it, else the port's default
 * (defaultStaticVlan); undefined when that is wrong (reported) or the port's VLAN settings are invalid.
 */
function staticMacVlan(
  b: FileUnit,
  port: FileUnit,
  portAt: Loc,
  vlanRef: Located<number> | undefined,
  report: Report,
): number | undefined {
  const vl = unitVlans(port);
  if (!vl) return undefined;
  const name = port.name as string;
  if (vlanRef === undefined) {
    if (isTrunk(vl) && vl.native === undefined) {
      report(
        b,
        portAt,
        `static MAC on trunk port \`${name}\` needs \`vlan\`: the port has no native-vlan, so it carries no untagged frames`,
        `add vlan = one of ${vlanList(vl).join(', ') || '(none: the port has no trunks)'}`,
      );
      return undefined;
    }
    return defaultStaticVlan(vl);
  }
  const given = vlanRef.value;
  if (vl.access !== undefined && given !== vl.access) {
    report(
      b,
      vlanRef.at,
      `VLAN ${given} is not carried by port \`${name}\`: it is an access port of VLAN ${vl.access}`,
      `set vlan = ${vl.access}, or omit vlan (the port's access VLAN is the default)`,
    );
    return undefined;
  }
  if (isTrunk(vl) && !vl.trunks.includes(given) && vl.native !== given) {
    const list = vlanList(vl);
    report(
      b,
      vlanRef.at,
      `VLAN ${given} is not carried by trunk port \`${name}\` (trunks ${vl.trunks.join(', ') || 'none'}${vl.native !== undefined ? `, native-vlan ${vl.native}` : ''})`,
      list.length
        ? `use one of its VLANs (${list.join(', ')}), or add ${given} to its trunks`
        : `add ${given} to its trunks`,
    );
    return undefined;
  }
  return given;
}

/** Where a unit's own interface lives, or undefined if that cannot be told (invalid kind or namespace). */
function ownNamespace(u: FileUnit): NamespaceName | undefined {
  if (u.type === 'bridge') return null;
  const v = u.values;
  const kind = v.get('port.kind');
  if (kind === undefined) return undefined;
  const key =
    kind === 'veth' && !v.has('port.bridge') ? 'port.local-namespace' : kind === 'veth' ? null : 'port.namespace';
  if (key === null) return null;
  if (v.isBad(key)) return undefined;
  return v.get(key) ?? null;
}

/** The veth peer's name and namespace, or undefined for non-veths and invalid values. */
function peerOf(u: FileUnit): { name: string; ns: NamespaceName; at: Loc; explicit: boolean } | undefined {
  const v = u.values;
  if (u.type !== 'port' || v.get('port.kind') !== 'veth' || u.name === undefined) return undefined;
  if (v.isBad('port.peer') || v.isBad('port.namespace')) return undefined;
  const ns = v.get('port.namespace') ?? null;
  const given = v.given('port.peer');
  if (given) return { name: given.value, ns, at: given.at, explicit: true };
  const name = `${u.name}-peer`;
  if (byteLength(name) > IFNAME_MAX_BYTES) return undefined; // already reported
  return { name, ns, at: v.given('port.kind')?.at ?? u.unitAt, explicit: false };
}

/** A veth peer must not take a name already used in its namespace by a unit or an earlier peer. */
function checkPeers(units: FileUnit[], report: Report): void {
  const claims = new Map<string, Claim>();
  for (const u of units) {
    const ns = ownNamespace(u);
    if (ns !== undefined)
      claims.set(nsKey(ns, u.name as string), { unit: u, what: `the ${u.type} unit \`${u.name}\`` });
  }
  for (const u of units) {
    const peer = peerOf(u);
    if (!peer) continue;
    const key = nsKey(peer.ns, peer.name);
    const first = claims.get(key);
    const hint = peer.explicit ? 'choose another `peer` name' : 'set `peer` in [port] to another name';
    if (first && first.unit === u) {
      report(
        u,
        peer.at,
        `the veth peer name \`${peer.name}\` is the unit's own name, and both ends are in ${nsLabel(peer.ns)}`,
        `the two ends of a veth in the same namespace need different names; ${hint}`,
      );
    } else if (first) {
      report(
        u,
        peer.at,
        `the veth peer name \`${peer.name}\` is already used in ${nsLabel(peer.ns)} by ${first.what} (${first.unit.file})`,
        hint,
      );
    } else {
      claims.set(key, { unit: u, what: `the peer of veth \`${u.name}\`` });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------

// Building the DesiredState: only from units that passed every check, so required keys are there and every other
// value is the one given or the schema's default (Values.get).

function link(v: Values): LinkSettings {
  const mtu = v.get('link.mtu');
  const mac = v.get('link.mac');
  return {
    ...(mtu !== undefined ? { mtu } : {}),
    ...(mac !== undefined ? { mac } : {}),
    state: v.get('link.state'),
  };
}

/** `dhcp4` (where `dhcp = true` was given), only when it was. */
function dhcp4(u: FileUnit): { dhcp4?: SourcePos } {
  const d = u.values.given('ipv4.dhcp');
  return d?.value ? { dhcp4: { file: u.file, ...d.at } } : {};
}

/** [ipv6] accept-ra, slaac and link-local, each only when given. */
function ipv6(v: Values): Ipv6Settings {
  const acceptRa = v.given('ipv6.accept-ra')?.value;
  const slaac = v.given('ipv6.slaac')?.value;
  const linkLocal = v.given('ipv6.link-local')?.value;
  return {
    ...(acceptRa !== undefined ? { acceptRa } : {}),
    ...(slaac !== undefined ? { slaac } : {}),
    ...(linkLocal !== undefined ? { linkLocal } : {}),
  };
}

function addresses(v: Values): string[] {
  return [...v.get('ipv4.addresses'), ...v.get('ipv6.addresses')];
}

function buildBridge(u: FileUnit, byName: Map<string, FileUnit>): BridgeSpec {
  const v = u.values;
  const flows: FlowSpec[] = elementsOf(u, 'bridge.flow').map((f) => {
    const m = f.values.required('bridge.flow.match');
    const a = f.values.required('bridge.flow.actions');
    return {
      match: m.value,
      actions: a.value,
      source: { file: u.file, ...m.at },
      actionsSource: { file: u.file, ...a.at },
    };
  });
  const staticMacs: StaticMacSpec[] = elementsOf(u, 'bridge.static-mac').map((e) => {
    const mac = e.values.required('bridge.static-mac.mac');
    const port = e.values.required('bridge.static-mac.port').value;
    const target = byName.get(port);
    const vl = target && unitVlans(target);
    return {
      mac: mac.value,
      port,
      vlan: e.values.get('bridge.static-mac.vlan') ?? (vl ? defaultStaticVlan(vl) : 0),
      source: { file: u.file, ...mac.at },
    };
  });
  return {
    type: 'bridge',
    name: u.name as string,
    datapath: v.get('bridge.datapath'),
    policy: v.get('bridge.policy'),
    macAging: v.get('bridge.mac-aging'),
    macTableSize: v.get('bridge.mac-table-size'),
    flows,
    staticMacs,
    stp: bridgeStp(v),
    addresses: addresses(v),
    routes: unitRoutes(u),
    ...dhcp4(u),
    useDns: v.get('ipv4.use-dns'),
    ipv6: ipv6(v),
    link: link(v),
    source: { file: u.file, ...u.unitAt },
  };
}

function buildPort(u: FileUnit): PortSpec {
  const v = u.values;
  const kind = v.required('port.kind');
  const bridge = v.get('port.bridge');
  const localMac = v.get('port.local-mac');
  const vlan = v.get('port.vlan');
  const nativeVlan = v.get('port.native-vlan');
  const number = v.get('port.number');
  const tunnel = tunnelSpec(u);
  // Built in the interface's field order so serialised states read naturally.
  return {
    type: 'port',
    name: u.name as string,
    ...(bridge !== undefined ? { bridge } : {}),
    kind: kind.value,
    namespace: v.get('port.namespace') ?? null,
    ...(kind.value === 'veth' ? { peer: v.get('port.peer') ?? `${u.name}-peer` } : {}),
    localNamespace: v.get('port.local-namespace') ?? null,
    localAddresses: v.get('port.local-addresses'),
    ...(localMac !== undefined ? { localMac } : {}),
    ...(vlan !== undefined ? { vlan } : {}),
    trunks: v.get('port.trunks'),
    ...(nativeVlan !== undefined ? { nativeVlan } : {}),
    stp: portStp(v),
    ...(number !== undefined ? { number } : {}),
    takeOver: v.get('port.take-over'),
    ...(tunnel ? { tunnel } : {}),
    addresses: addresses(v),
    routes: unitRoutes(u),
    ...dhcp4(u),
    useDns: v.get('ipv4.use-dns'),
    ipv6: ipv6(v),
    link: link(v),
    source: { file: u.file, ...u.unitAt },
    kindSource: { file: u.file, ...kind.at },
  };
}

function buildState(units: FileUnit[]): DesiredState {
  const bridges = new Map<string, BridgeSpec>();
  const ports = new Map<string, PortSpec>();
  const namespaces = new Set<string>();
  const byName = new Map(units.map((u) => [u.name as string, u]));
  for (const u of units) {
    if (u.type === 'bridge') {
      bridges.set(u.name as string, buildBridge(u, byName));
    } else {
      const p = buildPort(u);
      ports.set(p.name, p);
      if (p.namespace !== null) namespaces.add(p.namespace);
      if (p.localNamespace !== null) namespaces.add(p.localNamespace);
    }
  }
  for (const b of bridges.values())
    b.stp = withPorts(
      b.stp,
      [...ports.values()].filter((p) => p.bridge === b.name),
    );
  // Plain code-unit order, not localeCompare, so the result does not depend on the machine's locale.
  return { bridges, ports, namespaces: [...namespaces].sort() };
}
