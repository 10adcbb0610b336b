/**
 * The learning switch's forwarding decision for one packet (pure): ingress VLAN, source checks, destination
 * lookup, flood set, the ODP actions, and the megaflow mask. The mask holds exactly the fields the decision
 * consulted, as OVS's xlate tracks wildcards: in_port, the VLAN tag, the source MAC (learning must see every new
 * source) and the destination MAC - never L3/L4 fields - so one flow serves every packet of a MAC pair.
 */
import {
  ETH_P,
  MAC_EXACT,
  VLAN_CFI,
  VLAN_VID_MASK,
  type FlowAction,
  type FlowActions,
  type FlowKey,
  type FlowMask,
} from '../../flow';
import { formatMac } from '../../flow/text';
import { OPEN, type PortGate } from './loop-view';
import {
  describeRemote,
  ingressRemote,
  setTunnelAction,
  tunnelIngressMask,
  type Remote,
  type TunnelPortView,
} from './tunnel';
import { describeVlanMode, egressTag, ingressVlan, type PortVlanMode } from './vlan';

const MAC_MULTICAST_BIT = 0x010000000000;
/** 01:80:c2:00:00:00-0f: bridge control protocols (STP, LACP, 802.1X, LLDP), never forwarded by a bridge. */
const LINK_LOCAL_PREFIX = 0x0180c2000000;
/**
 * 01:80:c2:00:00:00, the Bridge Group Address (802.1D 7.12.3): BPDUs. A bridge that runs no spanning tree floods
 * them like multicast (as the Linux bridge with STP off and unmanaged switches do), so that the spanning trees
 * around it still see a loop that runs through it; the rest of the range stays local.
 */
export const BRIDGE_GROUP_MAC = LINK_LOCAL_PREFIX;
export const BROADCAST_MAC = 0xffffffffffff;

export const isMulticastMac = (mac: number): boolean => (Math.floor(mac / MAC_MULTICAST_BIT) & 1) === 1;
export const isLinkLocalMac = (mac: number): boolean => Math.floor(mac / 16) === LINK_LOCAL_PREFIX / 16;
/** A link-local address a bridge never forwards: the reserved range except the Bridge Group Address. */
const isLocalControlMac = (mac: number): boolean => isLinkLocalMac(mac) && mac !== BRIDGE_GROUP_MAC;

/** What the decision may ask of the MAC table. */
export interface MacLookup {
  /** Where (VLAN, MAC) is: its port and, learned from a tunnel port, the remote it is behind. */
  lookup(vlan: number, mac: number): { port: number; static: boolean; remote?: Remote } | undefined;
}

export interface SwitchView extends MacLookup {
  /** Every port of the bridge (the bridge's own port 0 included), by number. */
  ports: ReadonlyMap<number, PortVlanMode>;
  /** What loop protection allows on a port now (absent: every port learns and forwards). */
  gate?(no: number): PortGate;
  /** The tunnel settings of a tunnel port; undefined for any other port (absent: the bridge has none). */
  tunnel?(no: number): TunnelPortView | undefined;
}

const gateOf = (view: SwitchView, no: number): PortGate => view.gate?.(no) ?? OPEN;

export interface Output {
  no: number;
  tagged: boolean;
  /** A tunnel port's output: the remote it goes to, after a set(tunnel(dst=remote)). */
  remote?: Remote;
}

export interface Decision {
  decision: 'forward' | 'flood' | 'drop';
  /** One line saying why; only filled in when explaining (trace). */
  reason: string;
  /** The VLAN the frame is switched in, once known. */
  vlan?: number;
  /** The source to learn on the ingress port in `vlan` (absent when the frame is dropped before learning). */
  learn?: number;
  /** A tunnel port's ingress: the remote the source is learned behind. */
  learnRemote?: Remote;
  /** The destination, when the flow depends on where it is learned (index for revalidation). */
  dst?: number;
  outputs: Output[];
  actions: FlowActions;
  mask: FlowMask;
  /** Explanation lines, only when asked for (trace). */
  steps: string[];
}

/**
 * Decides for a packet with flow key `key` (as the datapath extracted it) received on `key.inPort`. From a tunnel
 * port, the flow also matches tun_id and the remote, and the source is learned behind that remote.
 */
export function decide(view: SwitchView, key: FlowKey, explain = false): Decision {
  const d = decideFrame(view, key, explain);
  const t = view.tunnel?.(key.inPort ?? -1);
  if (t === undefined) return d;
  tunnelIngressMask(d.mask, t);
  const r = ingressRemote(t, key.tunnel);
  if ('remote' in r && d.learn !== undefined) d.learnRemote = r.remote;
  return d;
}

function decideFrame(view: SwitchView, key: FlowKey, explain: boolean): Decision {
  const steps: string[] = [];
  // Explanations are built only for a trace: the slow path runs this for every new flow.
  const text = (f: () => string): string => (explain ? f() : '');
  const say = (f: () => string): void => {
    if (explain) steps.push(f());
  };
  const inPort = key.inPort ?? -1;
  // The destination is always matched exactly, even by flows whose decision never looked at it (an early drop):
  // BPDUs and loop probes must reach the slow path whatever was installed for other frames of the same port.
  const mask: FlowMask = { inPort: 0xffffffff, eth: { src: 0, dst: MAC_EXACT } };
  const eth = mask.eth!;
  const drop = (why: () => string, vlan?: number): Decision => {
    const reason = text(why);
    say(() => `drop: ${reason}`);
    return { decision: 'drop', reason, vlan, outputs: [], actions: [], mask, steps };
  };

  const port = view.ports.get(inPort);
  if (port === undefined) return drop(() => `port ${inPort} is not a port of this bridge`);
  if (key.eth === undefined) return drop(() => 'not an Ethernet frame');
  say(() => `ingress: port ${port.name} (${port.no}), ${describeVlanMode(port)}`);
  const inTunnel = view.tunnel?.(inPort);
  if (inTunnel !== undefined) {
    const r = ingressRemote(inTunnel, key.tunnel);
    if ('drop' in r) return drop(() => r.drop);
    say(() => `tunnel port ${port.name}: VNI ${inTunnel.vni}, from ${describeRemote(r.remote)}`);
  }
  const isTunnel = (no: number): boolean => view.tunnel?.(no) !== undefined;

  // The tag: present (TPID + TCI, VID and CFI exact, PCP wildcarded: nothing depends on it) or absent (a flow
  // without vlan() matches untagged frames only).
  const tagged = key.vlan !== undefined && (key.ethType === ETH_P.VLAN_8021Q || key.ethType === ETH_P.VLAN_8021AD);
  if (tagged) {
    mask.ethType = 0xffff;
    mask.vlan = VLAN_CFI | VLAN_VID_MASK;
    mask.encap = {};
    if (key.ethType === ETH_P.VLAN_8021AD) return drop(() => '802.1ad (QinQ) frames are not switched');
  }
  const vid = tagged ? (key.vlan as number) & VLAN_VID_MASK : undefined;
  const ing = ingressVlan(port, vid);
  if ('drop' in ing) return drop(() => ing.drop);
  const vlan = ing.vlan;
  say(() =>
    vid === undefined
      ? `untagged frame: VLAN ${vlan}`
      : vid === 0
        ? `priority-tagged frame: VLAN ${vlan}`
        : `tagged frame: VLAN ${vlan}`,
  );

  const { src, dst } = key.eth;
  eth.src = MAC_MULTICAST_BIT;
  if (isMulticastMac(src)) return drop(() => `source ${formatMac(src)} is a multicast address`, vlan);
  if (isLocalControlMac(dst))
    return drop(
      () => `destination ${formatMac(dst)} is a link-local control address (01:80:c2:00:00:01-0f), never forwarded`,
      vlan,
    );

  // A port the spanning tree or loop detection holds: nothing is switched from it (17.10), and it learns only in
  // the learning state. Its flows go when its gate changes (the policy revalidates all).
  const inGate = gateOf(view, inPort);
  if (!inGate.forward) {
    const held = drop(() => `ingress port ${port.name} is ${inGate.why ?? 'not forwarding'}`, vlan);
    if (!inGate.learn) return held;
    eth.src = MAC_EXACT;
    return { ...held, learn: src };
  }

  // From here the source is learned, so the flow must match it exactly: a new source has to come up again.
  eth.src = MAC_EXACT;
  const known = view.lookup(vlan, src);
  say(() =>
    known === undefined
      ? `source ${formatMac(src)}: not in the MAC table, learned on ${port.name} in VLAN ${vlan}`
      : known.static
        ? `source ${formatMac(src)}: static entry on port ${view.ports.get(known.port)?.name ?? known.port}`
        : known.port === inPort
          ? `source ${formatMac(src)}: learned on ${port.name}, refreshed`
          : `source ${formatMac(src)}: learned on ${view.ports.get(known.port)?.name ?? known.port}, moves to ${port.name}`,
  );

  let outPorts: PortVlanMode[];
  let decision: 'forward' | 'flood';
  let reason: string;
  let indexDst: number | undefined;
  const floodSet = () => {
    const carrying = [...view.ports.values()]
      .filter((p) => p.no !== inPort && egressTag(p, vlan) !== undefined)
      .sort((a, b) => a.no - b.no);
    for (const p of carrying)
      if (!gateOf(view, p.no).forward) say(() => `not flooded to ${p.name} (${p.no}): ${gateOf(view, p.no).why}`);
    const open = carrying.filter((p) => gateOf(view, p.no).forward);
    if (inTunnel === undefined) return open;
    for (const p of open)
      if (isTunnel(p.no))
        say(() => `split horizon: not flooded to tunnel port ${p.name} (${p.no}), it came from a tunnel`);
    return open.filter((p) => !isTunnel(p.no));
  };
  let toRemote: Remote | undefined;
  if (isMulticastMac(dst)) {
    decision = 'flood';
    outPorts = floodSet();
    reason = text(() =>
      dst === BROADCAST_MAC
        ? `broadcast, flooding in VLAN ${vlan}`
        : dst === BRIDGE_GROUP_MAC
          ? `BPDU (${formatMac(dst)}) and no spanning tree here: flooding in VLAN ${vlan}, as a hub would`
          : `multicast ${formatMac(dst)}, flooding in VLAN ${vlan}`,
    );
  } else {
    indexDst = dst;
    const entry = view.lookup(vlan, dst);
    const to = entry && view.ports.get(entry.port);
    if (entry && to && egressTag(to, vlan) !== undefined) {
      if (entry.port === inPort)
        return {
          ...drop(() => `destination ${formatMac(dst)} is learned on the ingress port ${port.name}`, vlan),
          learn: src,
          dst,
        };
      const outGate = gateOf(view, to.no);
      if (!outGate.forward)
        return {
          ...drop(() => `destination ${formatMac(dst)} is on port ${to.name}, which is ${outGate.why}`, vlan),
          learn: src,
          dst,
        };
      if (inTunnel !== undefined && isTunnel(to.no))
        return {
          ...drop(
            () =>
              `split horizon: destination ${formatMac(dst)} is on tunnel port ${to.name}, and the frame came from a tunnel`,
            vlan,
          ),
          learn: src,
          dst,
        };
      toRemote = entry.remote;
      decision = 'forward';
      outPorts = [to];
      reason = text(
        () =>
          `destination ${formatMac(dst)} ${entry.static ? 'has a static entry' : 'is learned'} on port ${to.name} (${to.no})` +
          `${entry.remote !== undefined ? ` behind ${describeRemote(entry.remote)}` : ''} in VLAN ${vlan}`,
      );
    } else {
      decision = 'flood';
      outPorts = floodSet();
      reason = text(() => `no learned MAC for destination ${formatMac(dst)} in VLAN ${vlan}, flooding`);
    }
  }
  say(() => reason);
  const outputs = outPorts.flatMap((p) => portOutputs(view, p, vlan, toRemote));
  const name = (no: number) => view.ports.get(no)?.name ?? String(no);
  if (outputs.length === 0) say(() => `no other port carries VLAN ${vlan}`);
  else
    say(
      () =>
        `output to ${outputs
          .map(
            (o) =>
              `${name(o.no)} (${o.no}${o.tagged ? `, tagged ${vlan}` : ''}${o.remote !== undefined ? `, ${describeRemote(o.remote)}` : ''})`,
          )
          .join(', ')}`,
    );
  return {
    decision,
    reason,
    vlan,
    learn: src,
    dst: indexDst,
    outputs,
    actions: vlanActions(vid, vlan, outputs, (no) => view.tunnel?.(no)),
    mask,
    steps,
  };
}

/**
 * Outputs grouped by how the frame must look: first the ports that take it as it arrived, then one tag change
 * (pop or push) and the rest, so every copy needs at most one rewrite. A priority tag (VID 0) is popped first.
 */
export function vlanActions(
  vid: number | undefined,
  vlan: number,
  outputs: readonly Output[],
  tunnelOf?: (no: number) => TunnelPortView | undefined,
): FlowActions {
  const actions: FlowAction[] = [];
  if (outputs.length === 0) return actions;
  // A tunnel output is preceded by the set(tunnel(...)) that sends it to its remote (head-end replication).
  const output = (o: Output) => {
    const t = o.remote !== undefined ? tunnelOf?.(o.no) : undefined;
    if (t !== undefined) actions.push(setTunnelAction(t, o.remote!));
    actions.push({ type: 'output', port: o.no });
  };
  let tagged = vid !== undefined && vid !== 0;
  if (vid === 0) actions.push({ type: 'popVlan' });
  const first = outputs.filter((o) => o.tagged === tagged);
  const rest = outputs.filter((o) => o.tagged !== tagged);
  for (const o of first) output(o);
  if (rest.length) {
    actions.push(tagged ? { type: 'popVlan' } : { type: 'pushVlan', tpid: ETH_P.VLAN_8021Q, tci: VLAN_CFI | vlan });
    tagged = !tagged;
    for (const o of rest) output(o);
  }
  return actions;
}

/**
 * The outputs of one port: one, or for a tunnel port one per remote it goes to (`toRemote`, where the destination
 * is learned; else every remote of the port: head-end replication).
 */
function portOutputs(view: SwitchView, p: PortVlanMode, vlan: number, toRemote: Remote | undefined): Output[] {
  const tagged = egressTag(p, vlan) === 'tagged';
  const t = view.tunnel?.(p.no);
  if (t === undefined) return [{ no: p.no, tagged }];
  const remotes = toRemote !== undefined ? [toRemote] : t.remotes;
  return remotes.map((remote) => ({ no: p.no, tagged, remote }));
}
