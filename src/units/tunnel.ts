/**
 * Rules of tunnel ports (kind = "vxlan" or "geneve"): within one unit (required keys, one underlay family, a remote
 * that is not `local`, no host addresses on the port, tunnel keys only on tunnel ports), across units (two tunnel
 * ports that would both receive one remote's packets of one VNI), and the TunnelSpec the model gets.
 */
import { isTunnelKind, type TunnelKind, type TunnelSpec } from '../model/types';
import { pathKey, type Loc, type SourceLocator } from './locate';
import { sectionEntries } from './schema';
import { GENEVE_PORT, VXLAN_PORT } from './schema-tunnel';
import type { UnitType } from './schema';
import type { ArrayElement, Values } from './unit-values';
import type { ErrorSink } from './walker';

/** What these rules read of a unit file (validate.ts's FileUnit). */
interface TunnelUnit {
  file: string;
  type: UnitType;
  name?: string;
  loc: SourceLocator;
  values: Values;
  arrays: ArrayElement[];
}

const TUNNEL_KEYS = ['port.vni', 'port.remotes', 'port.local', 'port.dst-port', 'port.ttl', 'port.df'] as const;
const familyOf = (address: string): 4 | 6 => (address.includes(':') ? 6 : 4);
export const defaultDstPort = (kind: TunnelKind): number => (kind === 'vxlan' ? VXLAN_PORT : GENEVE_PORT);

/** The per-unit rules (see the file comment). */
export function tunnelPortRules(u: TunnelUnit, report: ErrorSink): void {
  const v = u.values;
  const kind = v.get('port.kind');
  if (kind === undefined) return;
  if (!isTunnelKind(kind)) {
    for (const key of TUNNEL_KEYS)
      if (v.has(key))
        report(
          u.loc.keyAt(key),
          `\`${key.slice(5)}\` is only valid for a tunnel port (kind = "vxlan" or "geneve"); this port is of kind "${kind}"`,
          'remove it, or make the port a tunnel with kind = "vxlan"',
        );
    return;
  }
  const kindAt = v.given('port.kind')?.at ?? u.loc.keyAt('port');
  if (!v.has('port.vni'))
    report(
      kindAt,
      `a ${kind} port needs \`vni\`: the segment's virtual network identifier, the same on every host`,
      'add vni = 100 (0..16777215) to [port]',
    );
  const remotes = v.given('port.remotes');
  if (!v.has('port.remotes'))
    report(
      kindAt,
      `a ${kind} port needs \`remotes\`: the underlay addresses of the other hosts of the segment`,
      'add remotes = ["198.18.0.2"] to [port], one address per other host',
    );
  else if (remotes && remotes.value.length === 0)
    report(
      remotes.at,
      '`remotes` is empty: a tunnel port needs at least one remote',
      'list the underlay address of each other host',
    );
  if (remotes) remoteRules(u, remotes.value, report);
  hostKeyRules(u, kind, report);
}

/** One underlay family per port (that of `local`, else of the first remote), and no remote equal to `local`. */
function remoteRules(u: TunnelUnit, remotes: string[], report: ErrorSink): void {
  const local = u.values.given('port.local');
  const family = local ? familyOf(local.value) : remotes.length ? familyOf(remotes[0]) : undefined;
  remotes.forEach((r, i) => {
    const at = u.loc.valueAt(pathKey(['port', 'remotes', i]));
    if (local && r === local.value)
      report(
        at,
        `remote ${r} is this host's own \`local\` address: a tunnel to itself`,
        'list the addresses of the other hosts only',
      );
    else if (familyOf(r) !== family)
      report(
        at,
        `remote ${r} is an IPv${familyOf(r)} address, and this tunnel's underlay is IPv${family} (${local ? `\`local\` ${local.value}` : `the first remote, ${remotes[0]}`})`,
        `a tunnel port has one underlay family: make a second ${u.values.get('port.kind')} port for the IPv${familyOf(r)} remotes`,
      );
  });
}

/** A tunnel port is the switch's and lives where its bridge does: no namespace, host addresses, routes or MAC. */
function hostKeyRules(u: TunnelUnit, kind: TunnelKind, report: ErrorSink): void {
  const v = u.values;
  const what = `a ${kind} port`;
  if (v.has('port.namespace'))
    report(
      u.loc.keyAt('port.namespace'),
      `${what} has no \`namespace\`: it sends and receives in its bridge's namespace`,
      'remove it',
    );
  const linkHints = {
    'link.mtu': 'remove it; what limits the frames a tunnel carries is the underlay MTU minus the encapsulation',
    'link.mac': 'remove it; the frames it carries keep their own MACs',
  } as const;
  for (const [key, hint] of Object.entries(linkHints) as ['link.mtu' | 'link.mac', string][])
    if (v.has(key))
      report(u.loc.keyAt(key), `${what} cannot have \`${key.slice(5)}\`: it is no interface of the host`, hint);
  const hostKeys = [...sectionEntries('ipv4'), ...sectionEntries('ipv6')].filter((e) => v.has(e.name));
  const routes = u.arrays.filter((a) => a.section === 'ipv4.route' || a.section === 'ipv6.route');
  const spots: Loc[] = [...hostKeys.map((e) => u.loc.keyAt(e.name)), ...routes.map((r) => r.at)];
  for (const at of spots)
    report(
      at,
      `${what} carries no host addresses, routes or IP settings`,
      "put them on the bridge unit or an internal port; the underlay's addresses belong to the host's uplink",
    );
}

/** The model's tunnel settings of a port unit that passed every check; undefined for other kinds. */
export function tunnelSpec(u: TunnelUnit): TunnelSpec | undefined {
  const v = u.values;
  const kind = v.required('port.kind').value;
  if (!isTunnelKind(kind)) return undefined;
  const remotes = v.required('port.remotes').value;
  const local = v.get('port.local');
  return {
    vni: v.required('port.vni').value,
    remotes,
    ...(local !== undefined ? { local } : {}),
    family: familyOf(local ?? remotes[0]),
    dstPort: v.get('port.dst-port') ?? defaultDstPort(kind),
    ttl: v.get('port.ttl'),
    df: v.get('port.df'),
  };
}

/** What tells one tunnel's packets from another's on receipt; undefined when a key is invalid (already reported). */
interface TunnelId<U extends TunnelUnit> {
  u: U;
  kind: TunnelKind;
  vni: number;
  dstPort: number;
  local?: string;
  remotes: string[];
}

function tunnelId<U extends TunnelUnit>(u: U): TunnelId<U> | undefined {
  const v = u.values;
  const kind = v.get('port.kind');
  if (u.type !== 'port' || !isTunnelKind(kind) || TUNNEL_KEYS.some((k) => v.isBad(k))) return undefined;
  const vni = v.get('port.vni');
  if (vni === undefined) return undefined;
  const dstPort = v.get('port.dst-port') ?? defaultDstPort(kind);
  return { u, kind, vni, dstPort, local: v.get('port.local'), remotes: v.get('port.remotes') ?? [] };
}

/**
 * Two tunnel ports of the same kind, UDP port and VNI that share a remote, and whose `local` may be the same (one
 * without `local` receives on every address), would both receive that remote's packets: the second is refused, at
 * the first remote it repeats.
 */
export function checkTunnelOverlaps<U extends TunnelUnit>(
  units: U[],
  report: (u: U, at: Loc, message: string, hint?: string) => void,
): void {
  const seen: TunnelId<U>[] = [];
  for (const t of units.map(tunnelId)) {
    if (!t) continue;
    for (const o of seen) {
      if (o.kind !== t.kind || o.dstPort !== t.dstPort || o.vni !== t.vni) continue;
      if (o.local !== undefined && t.local !== undefined && o.local !== t.local) continue;
      const i = t.remotes.findIndex((r) => o.remotes.includes(r));
      if (i < 0) continue;
      const bridge = t.u.values.get('port.bridge');
      const same = bridge === o.u.values.get('port.bridge');
      report(
        t.u,
        t.u.loc.valueAt(pathKey(['port', 'remotes', i])),
        `tunnel ports ${o.u.name} (${o.u.file}) and ${t.u.name} ${same ? `of bridge ${bridge} ` : ''}both ` +
          `carry VNI ${t.vni} to ${t.remotes[i]} on UDP port ${t.dstPort}: that remote's packets could not be told apart`,
        `one ${t.kind} port per VNI and remote: list ${t.remotes[i]} in one of them only, give them different ` +
          '`vni`, or different `local` addresses',
      );
      break;
    }
    seen.push(t);
  }
}
