/**
 * The topology as a Graphviz graph (`netmgr show --dot`, and the SVG of netmgrd's status page), from the inputs `show`
 * gathers. Pure. It lives in the daemon layer so that both netmgrd and the CLI draw with the one builder.
 *
 * What is drawn is what is live (the bridges netmgrd runs, the links the kernel has), because that is what
 * forwards packets; the units only add what they ask for and is not there yet, drawn dashed and labelled
 * "pending". Namespaces are clusters holding their interfaces; bridges, the root ends of veth ports and system
 * NICs sit in the root namespace's cluster. Every list is sorted, so the same state always prints the same text.
 */
import type { Ownership } from '../model/ownership';
import type { LiveBridge, PortVlanConfig } from '../model/bridges';
import { findLink, isOwnRoute, type LiveState } from '../live/state';
import { nsKey } from '../live/namespaces';
import { formatRoute } from '../plan/format';
import type { BridgeSpec, Cidr, DesiredState, NamespaceName, PortKind } from '../model/types';
import { resolveDatapath, wantedVlans } from '../plan/bridges';
import { portNumbers, type PortNumberRecord } from '../model/ports';

export interface DotInput {
  /** The units' desired state; null when they have errors (then nothing can be pending). */
  desired: DesiredState | null;
  live: LiveState;
  owned: Ownership;
  /** The bridges netmgrd runs (or, without it, the recorded kernel bridges). */
  bridges: LiveBridge[];
  /** netmgrd's record of its bridges' port numbers: a pending port of a bridge not running is labelled as planned. */
  portNumbers?: PortNumberRecord;
  /** Lines for the graph's caption, e.g. that netmgrd is not running. */
  notes?: string[];
  /** Per bridge, the ports loop protection keeps from forwarding (port name -> why): drawn red and dotted. */
  held?: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** One interface to draw, gathered from every source that mentions it. */
interface Iface {
  ns: NamespaceName;
  name: string;
  kind: string;
  /** A unit asks for it: absent means pending, not missing. */
  wanted: boolean;
  /** Addresses the units ask for. */
  addresses: Cidr[];
}

/** A port attachment (label: number and VLANs) or, with `veth`, the two ends of a veth pair. */
interface Edge {
  from: string;
  to: string;
  label: string[];
  /** Attachments only: the units ask for it and the bridge does not have it. */
  pending?: boolean;
  /** Attachments only: loop protection holds the port (blocked, discarding, err-disabled). */
  held?: boolean;
  veth?: boolean;
}

/**
 * A DOT quoted string. Only `"` needs escaping for Graphviz; backslashes are doubled too so a name holding one
 * cannot turn into a label escape (`\n`, `\N`) or eat the closing quote.
 */
const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, ' ');
const quote = (s: string): string => `"${esc(s)}"`;
/** A multi-line label: each line escaped, joined by DOT's own line break. */
const label = (lines: string[]): string => `"${lines.map(esc).join('\\n')}"`;
const attrs = (a: Record<string, string | undefined>): string =>
  Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${k === 'label' ? v : quote(v as string)}`)
    .join(', ');

// Node ids. Interface and namespace names never contain '/', so "if:<ns>/<name>" is unambiguous ("" = root).
const ifId = (ns: NamespaceName, name: string) => `if:${ns ?? ''}/${name}`;
const bridgeId = (name: string) => `bridge:${name}`;

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const KIND_TEXT: Record<PortKind, string> = {
  veth: 'veth',
  internal: 'internal port',
  system: 'system NIC',
  vxlan: 'VXLAN tunnel',
  geneve: 'Geneve tunnel',
};

function vlanText(v: PortVlanConfig | undefined): string | undefined {
  if (!v) return undefined;
  if (v.access !== undefined) return `access VLAN ${v.access}`;
  const trunk = `trunk VLANs ${v.trunks?.length ? v.trunks.join(',') : 'none'}`;
  return v.native !== undefined ? `${trunk} (native ${v.native})` : trunk;
}

/** Live addresses, then the units' addresses not there yet, marked. */
function addressLines(have: Cidr[] | undefined, want: Cidr[]): string[] {
  if (!have) return [...want];
  return [...have, ...want.filter((a) => !have.includes(a)).map((a) => `${a} (pending)`)];
}

export function formatDot(input: DotInput): string {
  const { desired, live, owned, bridges, notes = [] } = input;
  const held: ReadonlyMap<string, ReadonlyMap<string, string>> = input.held ?? new Map();
  const ifaces = new Map<string, Iface>();
  const addIface = (ns: NamespaceName, name: string, kind: string, wanted = false, addresses: Cidr[] = []): string => {
    const id = ifId(ns, name);
    const i = ifaces.get(id) ?? { ns, name, kind, wanted: false, addresses: [] };
    i.wanted ||= wanted;
    for (const a of addresses) if (!i.addresses.includes(a)) i.addresses.push(a);
    ifaces.set(id, i);
    return id;
  };
  const edges = new Map<string, Edge>();
  // Keyed by both ends in sorted order: a veth named by the ownership record and by its unit is one edge.
  const addEdge = (e: Edge) => {
    const key = [e.from, e.to].sort(byText).join('\u0000');
    if (!edges.has(key)) edges.set(key, e);
  };
  const addVeth = (
    ns1: NamespaceName,
    n1: string,
    ns2: NamespaceName,
    n2: string,
    wanted: boolean,
    addresses1: Cidr[] = [],
    addresses2: Cidr[] = [],
  ) => {
    const a = addIface(ns1, n1, 'veth', wanted, addresses1);
    const b = addIface(ns2, n2, 'veth', wanted, addresses2);
    addEdge({ from: a, to: b, label: ['veth'], veth: true });
  };
  const portLabel = (no: number, vlans: PortVlanConfig | undefined, pending: boolean): string[] =>
    [`port ${no}`, vlanText(vlans), pending ? 'pending' : undefined].filter((l): l is string => l !== undefined);

  // What runs: bridges, their ports (port 0 is the bridge's own interface, drawn as the bridge), owned veths.
  const liveBridges = new Map(bridges.map((b) => [b.name, b]));
  for (const b of bridges) {
    for (const p of b.ports) {
      if (p.no === 0) continue;
      const ns = p.kind === 'internal' ? p.namespace : null;
      const why = held.get(b.name)?.get(p.name);
      addEdge({
        from: bridgeId(b.name),
        to: addIface(ns, p.name, KIND_TEXT[p.kind]),
        label: [...portLabel(p.no, p.vlans, false), ...(why !== undefined ? [`held: ${why}`] : [])],
        ...(why !== undefined ? { held: true } : {}),
      });
    }
  }
  for (const v of owned.veths) addVeth(v.namespace, v.name, v.peerNamespace, v.peer, false);

  // What the units ask for: the same objects again (merged), plus whatever is not live yet.
  const specs = new Map<string, BridgeSpec>(desired ? [...desired.bridges] : []);
  for (const p of desired?.ports.values() ?? []) {
    if (p.kind === 'veth' && p.bridge === undefined) {
      addVeth(p.localNamespace, p.name, p.namespace, p.peer!, true, p.localAddresses, p.addresses);
      continue;
    }
    // Bridge ports: veth and system ports attach in the root namespace; an internal port lives in its own.
    let portIface: string;
    if (p.kind === 'veth') {
      addVeth(null, p.name, p.namespace, p.peer!, true, [], p.addresses);
      portIface = ifId(null, p.name);
    } else if (p.kind === 'internal') portIface = addIface(p.namespace, p.name, KIND_TEXT.internal, true, p.addresses);
    else portIface = addIface(null, p.name, KIND_TEXT.system, true);
    const spec = specs.get(p.bridge!);
    const lb = liveBridges.get(p.bridge!);
    if (!spec || lb?.ports.some((lp) => lp.name === p.name)) continue;
    const learning = spec.policy === 'learning';
    addEdge({
      from: bridgeId(spec.name),
      to: portIface,
      label: portLabel(
        portNumbers(desired!, spec, lb?.ports ?? input.portNumbers?.[spec.name]).get(p.name)!,
        learning ? wantedVlans(p) : undefined,
        true,
      ),
      pending: true,
    });
  }

  // Namespaces: those holding an interface drawn, those netmgr created, those the units name.
  const namespaces = new Set<string>([...owned.namespaces, ...(desired?.namespaces ?? [])]);
  for (const i of ifaces.values()) if (i.ns !== null) namespaces.add(i.ns);

  const out: string[] = [];
  out.push('graph "netmgr" {');
  const graphAttrs: Record<string, string | undefined> = { rankdir: 'LR', fontname: 'Helvetica' };
  if (notes.length) Object.assign(graphAttrs, { label: label(notes), labelloc: 'b' });
  out.push(`  graph [${attrs(graphAttrs)}];`);
  out.push('  node [shape="box", fontname="Helvetica"];');
  out.push('  edge [fontname="Helvetica"];');

  const bridgeNode = (name: string): string => {
    const lb = liveBridges.get(name);
    const spec = specs.get(name);
    const own = findLink(live, null, name);
    const lines = [name];
    if (lb)
      lines.push(
        `bridge, ${lb.datapath} datapath, policy ${lb.policy}`,
        ...(lb.policy === 'flows' ? [`${lb.flows.length} flow(s)`] : []),
      );
    else if (spec) {
      lines.push(
        `bridge, ${resolveDatapath(spec.datapath, live.kernelDatapath === true)} datapath, policy ${spec.policy}`,
        ...(spec.policy === 'flows' ? [`${spec.flows.length} flow(s)`] : []),
      );
    }
    lines.push(...addressLines(lb ? (own?.addresses ?? []) : undefined, spec?.addresses ?? []));
    lines.push(...routeLines(null, name));
    if (!lb) lines.push('pending');
    return `${quote(bridgeId(name))} [${attrs({ shape: 'box3d', label: label(lines), style: lb ? undefined : 'dashed' })}];`;
  };
  /** Undefined for a live interface; else what the units make of its absence. */
  const absence = (i: Iface): string | undefined =>
    findLink(live, i.ns, i.name) ? undefined : i.wanted ? 'pending' : 'missing';
  /** netmgr's routes through an interface, as `ip route` words them. */
  const routeLines = (ns: NamespaceName, name: string): string[] =>
    (live.routes?.get(nsKey(ns)) ?? [])
      .filter((r) => r.link === name && isOwnRoute(r))
      .map((r) => `route ${formatRoute(r)}`)
      .sort(byText);
  const ifaceNode = (id: string, i: Iface): string => {
    const link = findLink(live, i.ns, i.name);
    const lines = [
      i.name,
      link && !link.up ? `${i.kind}, down` : i.kind,
      ...addressLines(link?.addresses, i.addresses),
      ...routeLines(i.ns, i.name),
    ];
    const state = absence(i);
    if (state) lines.push(state);
    return `${quote(id)} [${attrs({ label: label(lines), style: state ? 'dashed' : undefined })}];`;
  };
  const cluster = (id: string, title: string, style: string, nodes: string[]) => {
    out.push(`  subgraph ${quote(id)} {`);
    out.push(`    graph [${attrs({ label: label([title]), style })}];`);
    for (const n of nodes) out.push(`    ${n}`);
    out.push('  }');
  };
  const ifaceNodesIn = (ns: NamespaceName) =>
    [...ifaces]
      .filter(([, i]) => i.ns === ns)
      .sort(([a], [b]) => byText(a, b))
      .map(([id, i]) => ifaceNode(id, i));

  const bridgeNames = [...new Set([...liveBridges.keys(), ...specs.keys()])].sort(byText);
  const root = [...bridgeNames.map(bridgeNode), ...ifaceNodesIn(null)];
  if (root.length) cluster('cluster_root', 'root namespace', 'rounded', root);
  for (const ns of [...namespaces].sort(byText)) {
    const present = live.namespaces.includes(ns);
    const state = present ? '' : desired?.namespaces.includes(ns) ? ' (pending)' : ' (missing)';
    const nodes = ifaceNodesIn(ns);
    // Graphviz does not draw an empty cluster: an invisible point keeps the namespace on the picture.
    if (!nodes.length) nodes.push(`${quote(`ns:${ns}`)} [${attrs({ shape: 'point', style: 'invis' })}];`);
    cluster(`cluster_ns:${ns}`, `namespace ${ns}${state}`, present ? 'rounded' : 'rounded,dashed', nodes);
  }
  const sortedEdges = [...edges.values()].sort((a, b) => byText(a.from, b.from) || byText(a.to, b.to));
  for (const e of sortedEdges) {
    let lines = e.label;
    let style = e.pending ? 'dashed' : undefined;
    if (e.veth) {
      // A pair is there only if both ends are; pending if the units want either end, else missing.
      const ends = [ifaces.get(e.from)!, ifaces.get(e.to)!];
      const states = ends.map(absence);
      const state = states.includes('pending') ? 'pending' : states.includes('missing') ? 'missing' : undefined;
      lines = state ? [...lines, state] : lines;
      style = state ? 'dashed' : 'bold';
    }
    if (e.held) style = 'dotted';
    out.push(
      `  ${quote(e.from)} -- ${quote(e.to)} [${attrs({ label: label(lines), style, color: e.held ? 'red' : undefined })}];`,
    );
  }
  out.push('}');
  return out.join('\n') + '\n';
}
