/**
 * Rules that relate units to each other (unique names, bridge references, VLANs vs. the bridge's policy, static
 * MAC entries vs. the bridge's ports and their VLANs, veth peer names per namespace), and assembly of the
 * DesiredState from the validated units.
 */
import type { BridgeSpec, DesiredState, FlowSpec, LinkSettings, NamespaceName, PortSpec, StaticMacSpec, UnitError } from '../model/types';
import type { Loc } from './locate';
import { didYouMean } from './suggest';
import { FileUnit, Values, elementsOf, get } from './validate';
import { IFNAME_MAX_BYTES, byteLength } from './values';

interface Claim {
  unit: FileUnit;
  what: string;
}

const nsKey = (ns: NamespaceName, name: string): string => `${ns ?? ''}\u0000${name}`;
const nsLabel = (ns: NamespaceName): string => (ns === null ? 'the root namespace' : `namespace \`${ns}\``);

/** Cross-file checks over units in file order; returns the state built from the units (valid only if no errors). */
export function crossCheck(units: FileUnit[], errors: UnitError[]): DesiredState {
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
    const ref = u.values.store.get('port.bridge');
    if (!ref) continue;
    const name = ref.value as string;
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
      report(u, ref.at, `\`${name}\` is a port unit (${target.file}), not a bridge`, `defined bridges: ${bridgeNames.join(', ') || 'none'}`);
      continue;
    }
    if (target.values.bad.has('bridge.policy')) continue;
    const policy = get<string>(target.values, 'bridge.policy');
    if (policy === 'learning') continue;
    for (const key of ['vlan', 'trunks', 'native-vlan']) {
      const at = u.values.store.has(`port.${key}`) || u.values.bad.has(`port.${key}`) ? u.loc.keyAt(`port.${key}`) : undefined;
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
  return buildState(unique);
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
  if (['port.vlan', 'port.trunks', 'port.native-vlan'].some((k) => v.bad.has(k))) return undefined;
  // vlan with trunks, or native-vlan without trunks: reported by the port's own rules.
  const [hasVlan, hasTrunks, hasNative] = ['port.vlan', 'port.trunks', 'port.native-vlan'].map((k) => v.store.has(k));
  if ((hasVlan && hasTrunks) || (hasNative && !hasTrunks)) return undefined;
  return { access: get<number>(v, 'port.vlan'), trunks: get<number[]>(v, 'port.trunks') ?? [], native: get<number>(v, 'port.native-vlan') };
}

/** The VLAN a static entry without `vlan` is in: the access VLAN, else the native VLAN, else 0 (untagged). */
function defaultStaticVlan(vl: UnitVlans): number {
  return vl.access ?? vl.native ?? 0;
}

const isTrunk = (vl: UnitVlans): boolean => vl.access === undefined && (vl.trunks.length > 0 || vl.native !== undefined);

const vlanList = (vl: UnitVlans): number[] => [...new Set([...vl.trunks, ...(vl.native !== undefined ? [vl.native] : [])])].sort((a, b) => a - b);

/**
 * [[bridge.static-mac]] of learning bridges: the port is a port unit of this bridge, it carries the entry's VLAN,
 * and each (mac, vlan) is listed once per bridge. Errors point at the offending value.
 */
function checkStaticMacs(units: FileUnit[], byName: Map<string, FileUnit>, report: Report): void {
  for (const b of units) {
    if (b.type !== 'bridge' || b.values.bad.has('bridge.policy') || get<string>(b.values, 'bridge.policy') !== 'learning') continue;
    const entries = elementsOf(b, 'bridge.static-mac');
    if (!entries.length) continue;
    const ports = units
      .filter((u) => u.type === 'port' && u.values.store.get('port.bridge')?.value === b.name)
      .map((u) => u.name as string)
      .sort();
    const portsHint = ports.length ? `ports of bridge ${b.name}: ${ports.join(', ')}` : `bridge ${b.name} has no ports yet; add a port unit with bridge = "${b.name}"`;
    const seen = new Map<string, { line: number; col: number }>();
    for (const e of entries) {
      const mac = e.values.store.get('bridge.static-mac.mac');
      const portRef = e.values.store.get('bridge.static-mac.port');
      const vlanRef = e.values.store.get('bridge.static-mac.vlan');
      if (!portRef) continue;
      const name = portRef.value as string;
      const target = byName.get(name);
      if (!target) {
        const guess = didYouMean(name, ports);
        report(b, portRef.at, `static MAC port \`${name}\` is not defined${guess ? `; did you mean \`${guess}\`?` : ''}`, portsHint);
        continue;
      }
      if (target.type !== 'port') {
        report(b, portRef.at, `\`${name}\` is a bridge unit (${target.file}), not a port`, portsHint);
        continue;
      }
      const owner = target.values.store.get('port.bridge')?.value as string | undefined;
      if (owner !== b.name) {
        report(
          b,
          portRef.at,
          owner === undefined
            ? `static MAC port \`${name}\` is not attached to a bridge`
            : `static MAC port \`${name}\` is a port of bridge \`${owner}\`, not of \`${b.name}\``,
          portsHint,
        );
        continue;
      }
      if (e.values.bad.has('bridge.static-mac.vlan')) continue;
      const vl = unitVlans(target);
      if (!vl) continue;
      const given = vlanRef?.value as number | undefined;
      if (given === undefined && isTrunk(vl) && vl.native === undefined) {
        report(
          b,
          portRef.at,
          `static MAC on trunk port \`${name}\` needs \`vlan\`: the port has no native-vlan, so it carries no untagged frames`,
          `add vlan = one of ${vlanList(vl).join(', ') || '(none: the port has no trunks)'}`,
        );
        continue;
      }
      if (given !== undefined && vlanRef) {
        if (vl.access !== undefined && given !== vl.access) {
          report(
            b,
            vlanRef.at,
            `VLAN ${given} is not carried by port \`${name}\`: it is an access port of VLAN ${vl.access}`,
            `set vlan = ${vl.access}, or omit vlan (the port's access VLAN is the default)`,
          );
          continue;
        }
        if (isTrunk(vl) && !vl.trunks.includes(given) && vl.native !== given) {
          const list = vlanList(vl);
          report(
            b,
            vlanRef.at,
            `VLAN ${given} is not carried by trunk port \`${name}\` (trunks ${vl.trunks.join(', ') || 'none'}${vl.native !== undefined ? `, native-vlan ${vl.native}` : ''})`,
            list.length ? `use one of its VLANs (${list.join(', ')}), or add ${given} to its trunks` : `add ${given} to its trunks`,
          );
          continue;
        }
      }
      if (!mac) continue;
      const vlan = given ?? defaultStaticVlan(vl);
      const key = `${mac.value as string}/${vlan}`;
      const first = seen.get(key);
      if (first) {
        report(
          b,
          mac.at,
          `static MAC ${mac.value as string} in ${vlan === 0 ? 'the untagged VLAN 0' : `VLAN ${vlan}`} is already listed (at ${first.line}:${first.col})`,
          'list each MAC once per VLAN: a frame to it can leave through one port only',
        );
        continue;
      }
      seen.set(key, mac.at);
    }
  }
}

/** Where a unit's own interface lives, or undefined if that cannot be told (invalid kind or namespace). */
function ownNamespace(u: FileUnit): NamespaceName | undefined {
  if (u.type === 'bridge') return null;
  const v = u.values;
  const kind = get<string>(v, 'port.kind');
  if (kind === undefined) return undefined;
  const key = kind === 'veth' && !hasKey(v, 'port.bridge') ? 'port.local-namespace' : kind === 'veth' ? null : 'port.namespace';
  if (key === null) return null;
  if (v.bad.has(key)) return undefined;
  return get<string>(v, key) ?? null;
}

function hasKey(v: Values, key: string): boolean {
  return v.store.has(key) || v.bad.has(key);
}

/** The veth peer's name and namespace, or undefined for non-veths and invalid values. */
function peerOf(u: FileUnit): { name: string; ns: NamespaceName; at: Loc; explicit: boolean } | undefined {
  const v = u.values;
  if (u.type !== 'port' || get<string>(v, 'port.kind') !== 'veth' || u.name === undefined) return undefined;
  if (v.bad.has('port.peer') || v.bad.has('port.namespace')) return undefined;
  const ns = get<string>(v, 'port.namespace') ?? null;
  const given = v.store.get('port.peer');
  if (given) return { name: given.value as string, ns, at: given.at, explicit: true };
  const name = `${u.name}-peer`;
  if (byteLength(name) > IFNAME_MAX_BYTES) return undefined; // already reported
  return { name, ns, at: v.store.get('port.kind')?.at ?? u.unitAt, explicit: false };
}

/** A veth peer must not take a name already used in its namespace by a unit or an earlier peer. */
function checkPeers(units: FileUnit[], report: Report): void {
  const claims = new Map<string, Claim>();
  for (const u of units) {
    const ns = ownNamespace(u);
    if (ns !== undefined) claims.set(nsKey(ns, u.name as string), { unit: u, what: `the ${u.type} unit \`${u.name}\`` });
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

function link(u: FileUnit): LinkSettings {
  const mtu = get<number>(u.values, 'link.mtu');
  const mac = get<string>(u.values, 'link.mac');
  return {
    ...(mtu !== undefined ? { mtu } : {}),
    ...(mac !== undefined ? { mac } : {}),
    state: get<'up' | 'down'>(u.values, 'link.state') ?? 'up',
  };
}

function addresses(v: Values): string[] {
  return [...(get<string[]>(v, 'ipv4.addresses') ?? []), ...(get<string[]>(v, 'ipv6.addresses') ?? [])];
}

function buildBridge(u: FileUnit, byName: Map<string, FileUnit>): BridgeSpec {
  const v = u.values;
  const flows: FlowSpec[] = elementsOf(u, 'bridge.flow').map((f) => {
    const m = f.values.store.get('bridge.flow.match');
    const a = f.values.store.get('bridge.flow.actions');
    return {
      match: (m?.value as string) ?? '',
      actions: (a?.value as string) ?? '',
      source: { file: u.file, ...(m?.at ?? f.at) },
      actionsSource: { file: u.file, ...(a?.at ?? f.at) },
    };
  });
  const staticMacs: StaticMacSpec[] = elementsOf(u, 'bridge.static-mac').map((e) => {
    const mac = e.values.store.get('bridge.static-mac.mac');
    const port = (e.values.store.get('bridge.static-mac.port')?.value as string | undefined) ?? '';
    const target = byName.get(port);
    const vl = target?.type === 'port' ? unitVlans(target) : undefined;
    return {
      mac: (mac?.value as string) ?? '',
      port,
      vlan: get<number>(e.values, 'bridge.static-mac.vlan') ?? (vl ? defaultStaticVlan(vl) : 0),
      source: { file: u.file, ...(mac?.at ?? e.at) },
    };
  });
  return {
    type: 'bridge',
    name: u.name as string,
    datapath: get(v, 'bridge.datapath') ?? 'auto',
    policy: get(v, 'bridge.policy') ?? 'learning',
    macAging: get<number>(v, 'bridge.mac-aging') ?? 300,
    macTableSize: get<number>(v, 'bridge.mac-table-size') ?? 8192,
    flows,
    staticMacs,
    addresses: addresses(v),
    link: link(u),
    source: { file: u.file, ...u.unitAt },
  };
}

function buildPort(u: FileUnit): PortSpec {
  const v = u.values;
  const kind = get<PortSpec['kind']>(v, 'port.kind') ?? 'internal';
  const bridge = get<string>(v, 'port.bridge');
  const localMac = get<string>(v, 'port.local-mac');
  const vlan = get<number>(v, 'port.vlan');
  const nativeVlan = get<number>(v, 'port.native-vlan');
  // Built in the interface's field order so serialised states read naturally.
  return {
    type: 'port',
    name: u.name as string,
    ...(bridge !== undefined ? { bridge } : {}),
    kind,
    namespace: get<string>(v, 'port.namespace') ?? null,
    ...(kind === 'veth' ? { peer: get<string>(v, 'port.peer') ?? `${u.name}-peer` } : {}),
    localNamespace: get<string>(v, 'port.local-namespace') ?? null,
    localAddresses: get<string[]>(v, 'port.local-addresses') ?? [],
    ...(localMac !== undefined ? { localMac } : {}),
    ...(vlan !== undefined ? { vlan } : {}),
    trunks: get<number[]>(v, 'port.trunks') ?? [],
    ...(nativeVlan !== undefined ? { nativeVlan } : {}),
    addresses: addresses(v),
    link: link(u),
    source: { file: u.file, ...u.unitAt },
    kindSource: { file: u.file, ...(v.store.get('port.kind')?.at ?? u.unitAt) },
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
  // Plain code-unit order, not localeCompare, so the result does not depend on the machine's locale.
  return { bridges, ports, namespaces: [...namespaces].sort() };
}
