/**
 * The kernel's flow acceptance rules (net/openvswitch/flow_netlink.c: __parse_flow_nlattrs,
 * parse_vlan_from_nlattrs, ovs_key_from_nlattrs, match_validate, __ovs_nla_copy_actions, validate_set), applied to
 * the model before anything is sent, with an explanation and the offending token instead of a bare EINVAL.
 * The accept/reject decision is the kernel's; only the words are ours.
 */
import {
  DP_MAX_PORTS,
  ETH_HLEN,
  ETH_P,
  ETH_P_802_3_MIN,
  IPPROTO,
  IPV6_LABEL_MASK,
  MAX_ACTIONS_BUFSIZE,
  ND_NEIGHBOR_ADVERT,
  ND_NEIGHBOR_SOLICIT,
  OVS_FRAG_TYPE,
  VLAN_CFI,
} from './constants';
import { KEY_ATTR_BY_PROP, attrMaskIsZero, getField, isZeroField, type KeyAttrDef } from './keyattrs';
import { encodeActions, encodeAttrPayload } from './codec';
import { formatAction, singleAttr } from './format';
import { hexAlt } from './text';
import { tunnelKeyProblem } from './tunnel';
import {
  FlowError,
  type Flow,
  type FlowAction,
  type FlowActions,
  type FlowKey,
  type FlowMask,
  type ParsedActions,
  type SourceSpan,
  type TunnelKey,
} from './types';

const isVlanTpid = (t: number | undefined): boolean => t === ETH_P.VLAN_8021Q || t === ETH_P.VLAN_8021AD;
const hex4 = (n: number): string => '0x' + n.toString(16).padStart(4, '0');

class Problems {
  readonly list: FlowError[] = [];
  constructor(
    private readonly flowSpans?: Map<string, SourceSpan>,
    private readonly actionSpans?: Map<string, SourceSpan>,
  ) {}
  flow(path: string, message: string, fallbackToken: string): void {
    const s = this.flowSpans?.get(path) ?? this.flowSpans?.get(path.split('.').slice(0, -1).join('.'));
    this.list.push(new FlowError(message, s?.column ?? 1, s?.token ?? fallbackToken, 'flow'));
  }
  action(path: string, message: string, fallbackToken: string): void {
    const s = this.actionSpans?.get(path);
    this.list.push(new FlowError(message, s?.column ?? 1, s?.token ?? fallbackToken, 'actions'));
  }
}

/** A mask attribute counts as present when any of its bytes is non-zero (the kernel drops all-zero ones). */
function maskPresent(def: KeyAttrDef, m: unknown): boolean {
  if (m === undefined) return false;
  if (def.single) return (m as number) !== 0;
  return def.fields.some((fd) => !isZeroField(getField(m, fd)));
}

interface Level {
  key: FlowKey;
  mask: FlowMask;
  prefix: string;
}

/**
 * Checks a flow (and optionally its actions) against the kernel's rules. Returns every problem found, each with
 * the column and token it refers to; an empty list means the kernel would accept it.
 */
export function validateFlow(flow: Flow, actions?: FlowActions | ParsedActions): FlowError[] {
  const acts = actions === undefined ? undefined : Array.isArray(actions) ? { actions, spans: undefined } : actions;
  const p = new Problems(flow.spans, acts?.spans);
  const inner = validateKey(flow, p);
  if (acts && inner) validateActions(acts.actions, flow, inner, p, '');
  if (acts) {
    const size = encodeActions(acts.actions).length;
    if (size > MAX_ACTIONS_BUFSIZE)
      p.action(
        '0',
        `the action list encodes to ${size} bytes, more than the kernel's ${MAX_ACTIONS_BUFSIZE} ("Flow action size exceeds max")`,
        'actions',
      );
  }
  return p.list;
}

/** Throws the first problem, for callers that want one error. */
export function checkFlow(flow: Flow, actions?: FlowActions | ParsedActions): void {
  const problems = validateFlow(flow, actions);
  if (problems.length) throw problems[0];
}

/** ip_tun_from_nlattr on the key: a TTL is given when its value or its mask is (the key carries the attribute). */
function validateTunnelKey({ key, mask }: Flow, p: Problems): void {
  if (!key.tunnel) return;
  const problem = tunnelKeyProblem(key.tunnel, key.tunnel.ttl !== 0 || (mask.tunnel?.ttl ?? 0) !== 0);
  if (problem) p.flow('tunnel', `tunnel(...) ${problem}`, 'tunnel');
}

/** Validates the key and mask; returns the innermost level (where L3/L4 live), or undefined if L2 was broken. */
function validateKey(flow: Flow, p: Problems): Level | undefined {
  const { key, mask } = flow;
  const before = p.list.length;
  if (key.eth === undefined && key.ethType === undefined) {
    const first = Object.keys(key)[0] ?? 'flow';
    p.flow(
      first,
      'a flow must match eth(...) or eth_type(...): add eth(),eth_type(0x0800) (or another EtherType); the kernel says "Either Ethernet header or EtherType is required."',
      first,
    );
  }
  if (key.inPort !== undefined && key.inPort >= DP_MAX_PORTS) {
    p.flow(
      'inPort',
      `in_port(${key.inPort}) is out of range: datapath ports are 0..${DP_MAX_PORTS - 1} ("Port ${key.inPort} exceeds max allowable ${DP_MAX_PORTS}")`,
      'in_port',
    );
  }

  validateTunnelKey(flow, p);

  // Walk the VLAN levels: at most an outer (802.1ad or 802.1Q) and an inner (C-VLAN) tag.
  let level: Level = { key, mask, prefix: '' };
  for (let depth = 0; ; depth++) {
    const k = level.key;
    const m = level.mask;
    const pre = level.prefix;
    const tag = depth === 0 ? 'VLAN' : 'C-VLAN';
    const vlanFrame = key.eth !== undefined && isVlanTpid(k.ethType);
    if (k.ethType !== undefined && k.ethType < ETH_P_802_3_MIN) {
      p.flow(
        pre + 'ethType',
        `eth_type(${hex4(k.ethType)}) is an 802.3 length, not an EtherType: EtherTypes start at 0x0600 ("EtherType ${k.ethType.toString(16)} is less than min 600")`,
        'eth_type',
      );
    }
    if (!vlanFrame) {
      if (k.vlan !== undefined) {
        p.flow(
          pre + 'vlan',
          'vlan(...) must follow eth(),eth_type(0x8100) or eth_type(0x88a8) and be followed by encap(...) ("VLAN attribute unexpected.")',
          'vlan',
        );
      }
      if (k.encap !== undefined) {
        p.flow(
          pre + 'encap',
          'encap(...) is only valid after eth_type(0x8100|0x88a8),vlan(...): it holds the keys inside a VLAN tag (kernel: "Unknown key attributes")',
          'encap',
        );
      }
      break;
    }
    if (depth >= 2) {
      p.flow(
        pre + 'ethType',
        'the kernel parses at most two VLAN tags (802.1ad outer + 802.1Q inner); a third encap level is not supported',
        'eth_type',
      );
      break;
    }
    if (k.vlan === undefined || k.encap === undefined) {
      p.flow(
        pre + 'ethType',
        `eth_type(${hex4(k.ethType as number)}) makes this a ${tag} frame: it needs vlan(...) and encap(...) after it, e.g. vlan(vid=10),encap(eth_type(0x0800),ipv4()) ("Invalid ${tag} frame.")`,
        'eth_type',
      );
      break;
    }
    if (k.vlan !== 0 && !(k.vlan & VLAN_CFI)) {
      p.flow(
        pre + 'vlan',
        `vlan(...,cfi=0) describes a tag without the CFI bit; a present tag must have it: drop cfi=0 ("${tag} TCI does not have VLAN_CFI_MASK bit set.")`,
        'vlan',
      );
    }
    if (k.vlan === 0 && Object.keys(k.encap).length > 0) {
      p.flow(
        pre + 'encap',
        `vlan() with TCI 0 means a truncated ${tag} header, which cannot carry encap keys: empty encap() or set vid/pcp ("Truncated ${tag} header has non-zero encap attribute.")`,
        'encap',
      );
    }
    if ((m.ethType ?? 0) !== 0xffff) {
      p.flow(
        pre + 'ethType',
        `the TPID eth_type(${hex4(k.ethType as number)}) must be an exact match: remove its /mask ("Must have an exact match on ${tag} TPID")`,
        'eth_type',
      );
    }
    if (!((m.vlan ?? 0) & VLAN_CFI)) {
      p.flow(
        pre + 'vlan',
        `the vlan() mask must match the CFI bit exactly: remove cfi=.../0 ("${tag} TCI mask does not have exact match for VLAN_CFI_MASK bit.")`,
        'vlan',
      );
    }
    level = { key: k.encap, mask: m.encap ?? {}, prefix: pre + 'encap.' };
  }
  validateL3L4(level, key.eth !== undefined, p);
  return p.list.length === before ? level : level;
}

function validateL3L4(lv: Level, hasEth: boolean, p: Problems): void {
  const { key: k, mask: m, prefix: pre } = lv;
  void hasEth;
  for (const [prop, ip] of [
    ['ipv4', k.ipv4],
    ['ipv6', k.ipv6],
  ] as const) {
    if (ip && ip.frag > OVS_FRAG_TYPE.LATER)
      p.flow(
        `${pre}${prop}.frag`,
        `${prop} frag type ${ip.frag} is out of range: use no, first or later ("IPv4 frag type ${ip.frag} is out of range max 2")`,
        'frag',
      );
  }
  if (k.ipv6 && k.ipv6.label > IPV6_LABEL_MASK)
    p.flow(`${pre}ipv6.label`, `ipv6 label ${hexAlt(k.ipv6.label)} is wider than 20 bits`, 'label');
  if (k.arp && k.arp.op & 0xff00)
    p.flow(
      `${pre}arp.op`,
      `arp(op=${k.arp.op}): the kernel only knows ARP opcodes up to 255 ("Unknown ARP opcode (opcode=${k.arp.op}).")`,
      'op',
    );

  // match_validate: what the key values require, and which masks they allow.
  const et = k.ethType;
  const etTok = `eth_type(${et === undefined ? '' : hex4(et)})`;
  const etExact = maskPresent(KEY_ATTR_BY_PROP.get('ethType') as KeyAttrDef, m.ethType); // forced to 0xffff when present
  const missing = (path: string, msg: string, tok: string): void =>
    p.flow(path, `${msg} (the kernel logs "Missing key" and returns EINVAL)`, tok);
  const allowed = new Set<string>();
  if (et === ETH_P.ARP || et === ETH_P.RARP) {
    if (!k.arp)
      missing(pre + 'ethType', `${etTok} requires an arp(...) key; add arp() to match any ARP packet`, 'eth_type');
    if (etExact) allowed.add('arp');
  }
  if (et === ETH_P.MPLS_UC || et === ETH_P.MPLS_MC)
    missing(pre + 'ethType', `${etTok} requires an mpls(...) key, which netmgr does not model yet`, 'eth_type');
  if (et === ETH_P.NSH)
    missing(pre + 'ethType', `${etTok} requires an nsh(...) key, which netmgr does not model yet`, 'eth_type');
  const ipAttr = et === ETH_P.IP ? 'ipv4' : et === ETH_P.IPV6 ? 'ipv6' : undefined;
  if (ipAttr) {
    const ip = k[ipAttr];
    if (!ip) {
      missing(
        pre + 'ethType',
        `${etTok} requires an ${ipAttr}(...) key; add ${ipAttr}() to match any ${ipAttr === 'ipv4' ? 'IPv4' : 'IPv6'} packet`,
        'eth_type',
      );
    } else {
      if (etExact) allowed.add(ipAttr);
      const protoExact = (m[ipAttr]?.proto ?? 0) === 0xff;
      const protoPath = flowPath(pre, ipAttr, 'proto');
      const protoTok = `${ipAttr}(proto=${ip.proto})`;
      if (ip.frag !== OVS_FRAG_TYPE.LATER) {
        const need = (attrs: string[], hint: string): void => {
          const absent = attrs.filter((a) => (k as Record<string, unknown>)[a] === undefined);
          if (absent.length) {
            const names = attrs.map((a) => (a === 'tcpFlags' ? 'tcp_flags(...)' : `${a}(...)`)).join(' and ');
            missing(protoPath, `${protoTok} requires ${names}; ${hint}`, 'proto');
          }
          if (protoExact) attrs.forEach((a) => allowed.add(a));
        };
        if (ip.proto === IPPROTO.TCP)
          need(
            ['tcp', 'tcpFlags'],
            `add ${['tcp', 'tcpFlags']
              .filter((a) => (k as Record<string, unknown>)[a] === undefined)
              .map((a) => (a === 'tcp' ? 'tcp()' : 'tcp_flags(0/0)'))
              .join(',')} to match any TCP packet`,
          );
        if (ip.proto === IPPROTO.UDP) need(['udp'], 'add udp() to match any UDP packet');
        if (ip.proto === IPPROTO.SCTP) need(['sctp'], 'add sctp() to match any SCTP packet');
        if (ipAttr === 'ipv4' && ip.proto === IPPROTO.ICMP) need(['icmp'], 'add icmp() to match any ICMP packet');
        if (ipAttr === 'ipv6' && ip.proto === IPPROTO.ICMPV6) {
          need(['icmpv6'], 'add icmpv6() to match any ICMPv6 packet');
          const t = k.icmpv6?.type;
          if (k.icmpv6 && (t === ND_NEIGHBOR_SOLICIT || t === ND_NEIGHBOR_ADVERT)) {
            if (!k.nd)
              missing(
                flowPath(pre, 'icmpv6', 'type'),
                `icmpv6(type=${t}) is neighbor discovery and requires an nd(...) key; add nd() to match any target`,
                'type',
              );
            if ((m.icmpv6?.type ?? 0) === 0xff) allowed.add('nd');
          }
        }
      }
    }
  }

  // Masks on L3/L4 attributes the kernel does not allow here ("Unexpected mask").
  const l3 = ['ipv4', 'ipv6', 'arp'];
  const l4 = ['tcp', 'tcpFlags', 'udp', 'sctp', 'icmp', 'icmpv6', 'nd'];
  for (const prop of [...l3, ...l4]) {
    const def = KEY_ATTR_BY_PROP.get(prop) as KeyAttrDef;
    if (
      (k as Record<string, unknown>)[prop] === undefined ||
      !maskPresent(def, (m as Record<string, unknown>)[prop]) ||
      allowed.has(prop)
    )
      continue;
    p.flow(pre + prop, unexpectedMaskReason(def, k, m, etExact) + ' ("Unexpected mask")', def.odp);
  }
}

function flowPath(pre: string, attr: string, field: string): string {
  return `${pre}${attr}.${field}`;
}

/** Explains why the kernel refuses a mask for `def` in this key. */
function unexpectedMaskReason(def: KeyAttrDef, k: FlowKey, m: FlowMask, etExact: boolean): string {
  const name = `${def.odp}(...)`;
  const et = k.ethType;
  if (def.prop === 'ipv4' || def.prop === 'ipv6' || def.prop === 'arp') {
    const wants = def.prop === 'ipv4' ? [ETH_P.IP] : def.prop === 'ipv6' ? [ETH_P.IPV6] : [ETH_P.ARP, ETH_P.RARP];
    if (et === undefined || !wants.includes(et as never))
      return `${name} matches fields, but the flow's eth_type is ${et === undefined ? 'absent' : hex4(et)}, not ${hex4(wants[0])}`;
    if (!etExact)
      return `${name} matches fields, which needs an exact eth_type: remove the /0 from eth_type(${hex4(et)}/0)`;
  }
  const ip = k.ipv4 ?? k.ipv6;
  const ipName = k.ipv4 ? 'ipv4' : 'ipv6';
  if (def.prop === 'nd') {
    const t = k.icmpv6?.type;
    if (t !== ND_NEIGHBOR_SOLICIT && t !== ND_NEIGHBOR_ADVERT)
      return `${name} matches fields, but it only applies to icmpv6(type=135) or icmpv6(type=136)`;
    if ((m.icmpv6?.type ?? 0) !== 0xff)
      return `${name} matches fields, which needs an exact icmpv6 type: write icmpv6(type=${t}) without a /mask`;
  }
  if (!ip) return `${name} matches fields, but the flow has no ipv4(...) or ipv6(...) key`;
  if (!etExact) return `${name} matches fields, which needs an exact eth_type`;
  if (ip.frag === OVS_FRAG_TYPE.LATER)
    return `${name} matches fields, but ${ipName}(frag=later) packets carry no L4 header: match frag=first or frag=no`;
  const protoFor: Record<string, number> = { tcp: 6, tcpFlags: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58, nd: 58 };
  if (
    ip.proto !== protoFor[def.prop] ||
    (def.prop === 'icmp' && ipName !== 'ipv4') ||
    (def.prop === 'icmpv6' && ipName !== 'ipv6')
  ) {
    return `${name} matches fields, but ${ipName}(proto=${ip.proto}) is not ${def.odp === 'tcp_flags' ? 'tcp' : def.odp}`;
  }
  return `${name} matches fields, which needs an exact ip protocol: write ${ipName}(proto=${ip.proto}) without a /mask`;
}

// ---------------------------------------------------------------------------------------------------------------

interface ActionContext {
  hasEth: boolean;
  ethType: number | undefined;
  vlanTci: number;
}

function validateActions(
  actions: FlowActions,
  flow: Flow,
  inner: Level,
  p: Problems,
  prefix: string,
  ctx?: ActionContext,
): void {
  const c: ActionContext = ctx
    ? { ...ctx }
    : { hasEth: flow.key.eth !== undefined, ethType: inner.key.ethType, vlanTci: flow.key.vlan ?? 0 };
  const flowIp = inner.key.ipv4 ?? inner.key.ipv6;
  actions.forEach((a, i) => {
    const path = prefix + i;
    const tok = actionToken(a);
    const bad = (msg: string): void => p.action(path, msg, tok);
    switch (a.type) {
      case 'output':
        if (a.port >= DP_MAX_PORTS)
          bad(`output to port ${a.port} is out of range: datapath ports are 0..${DP_MAX_PORTS - 1}`);
        break;
      case 'drop':
        if (i !== actions.length - 1)
          bad("'drop' must be the last action (the kernel rejects a DROP followed by other actions)");
        break;
      case 'userspace':
        if (a.pid === 0)
          bad(
            'userspace(pid=0): PID 0 means "no upcall socket" and the kernel rejects it; use the netlink port id of the upcall socket',
          );
        break;
      case 'trunc':
        if (a.maxLen < ETH_HLEN)
          bad(`trunc(${a.maxLen}) is shorter than an Ethernet header: the kernel requires at least ${ETH_HLEN}`);
        break;
      case 'pushVlan':
        if (!c.hasEth) bad('push_vlan needs an Ethernet packet: the flow has no eth()');
        if (!isVlanTpid(a.tpid))
          bad(`push_vlan(tpid=${hex4(a.tpid)}): the kernel only pushes 802.1Q (0x8100) or 802.1ad (0x88a8) tags`);
        if (!(a.tci & VLAN_CFI))
          bad(
            'push_vlan(...,cfi=0): the kernel requires the CFI bit in the action (it is not written to the packet); drop cfi=0',
          );
        c.vlanTci = a.tci;
        break;
      case 'popVlan':
        if (!c.hasEth) bad('pop_vlan needs an Ethernet packet: the flow has no eth()');
        c.vlanTci = 0;
        break;
      case 'set':
      case 'setMasked':
        validateSet(a, c, flowIp, bad);
        break;
      case 'sample':
      case 'clone':
        validateActions(a.actions, flow, inner, p, `${path}.actions.`, c);
        break;
      case 'recirc':
        break;
    }
  });
}

function actionToken(a: FlowAction): string {
  const s = formatAction(a);
  const paren = s.indexOf('(');
  return paren > 0 && a.type !== 'output' ? s.slice(0, paren) : s;
}

/** validate_set for a tunnel: only unmasked, then ip_tun_from_nlattr's rules; a TTL of 0 counts as none. */
function setTunnelProblem(t: TunnelKey, masked: boolean, name: string, bad: (m: string) => void): void {
  const problem = masked ? 'cannot be masked (kernel: validate_set)' : tunnelKeyProblem(t, t.ttl !== 0);
  if (problem) bad(`${name} ${problem}`);
}

/** validate_set: which keys the kernel can rewrite, given the flow. */
function validateSet(
  a: Extract<FlowAction, { type: 'set' | 'setMasked' }>,
  c: ActionContext,
  flowIp: { proto: number; frag: number } | undefined,
  bad: (m: string) => void,
): void {
  const def = singleAttr(a.key);
  const v = a.key[def.prop];
  const masked = a.type === 'setMasked';
  const m = masked ? a.mask[def.prop] : undefined;
  const name = `set(${def.odp}(...))`;
  if (def.nested) return void setTunnelProblem(v as TunnelKey, masked, name, bad);
  if (masked) {
    // validate_masked: value bits outside the mask are rejected.
    const vb = encodeAttrPayload(def, v);
    const mb = encodeAttrPayload(def, m);
    for (let i = 0; i < vb.length; i++) {
      if (vb[i] & ~mb[i]) {
        bad(
          `${name}: the value has bits outside its mask (byte ${i}: ${hexAlt(vb[i])} vs mask ${hexAlt(mb[i])}); clear them, the kernel rejects masked sets with stray bits`,
        );
        break;
      }
    }
  }
  switch (def.prop) {
    case 'priority':
    case 'skbMark':
      return;
    case 'eth':
      if (!c.hasEth) bad(`${name} needs an Ethernet packet: the flow has no eth()`);
      return;
    case 'ipv4':
    case 'ipv6': {
      const want = def.prop === 'ipv4' ? ETH_P.IP : ETH_P.IPV6;
      if (c.ethType !== want) {
        bad(
          `${name} needs a flow with eth_type(${hex4(want)}); this flow's is ${c.ethType === undefined ? 'absent' : hex4(c.ethType)}`,
        );
        return;
      }
      const ip = v as { proto: number; frag: number; label?: number };
      if (masked) {
        const mm = m as { proto: number; frag: number; label?: number };
        if (mm.proto || mm.frag) bad(`${name}: proto and frag cannot be rewritten; leave them out of the set`);
        if (def.prop === 'ipv6' && ((mm.label ?? 0) >>> 0) & 0xfff00000)
          bad(`${name}: the label mask is wider than 20 bits`);
      } else if (flowIp && (ip.proto !== flowIp.proto || ip.frag !== flowIp.frag)) {
        bad(
          `${name}: a full set must keep proto=${flowIp.proto} and frag as the flow matched them (proto and frag cannot be rewritten); or set only the fields to change, e.g. set(${def.odp}(src=...))`,
        );
      }
      if (def.prop === 'ipv6' && ((ip.label ?? 0) >>> 0) & 0xfff00000)
        bad(`${name}: the flow label is wider than 20 bits`);
      return;
    }
    case 'tcp':
    case 'udp':
    case 'sctp': {
      const want = def.prop === 'tcp' ? IPPROTO.TCP : def.prop === 'udp' ? IPPROTO.UDP : IPPROTO.SCTP;
      if ((c.ethType !== ETH_P.IP && c.ethType !== ETH_P.IPV6) || !flowIp || flowIp.proto !== want) {
        bad(
          `${name} needs a flow that matches ip proto=${want}${flowIp ? `; this flow matches proto=${flowIp.proto}` : ''}`,
        );
      }
      return;
    }
    case 'vlan':
      bad(`${name}: the kernel cannot rewrite a VLAN tag in place; use pop_vlan,push_vlan(vid=...,pcp=...)`);
      return;
    default:
      bad(
        `${name}: the kernel cannot set ${def.odp}; settable keys are skb_priority, skb_mark, eth, ipv4, ipv6, tcp, udp and sctp`,
      );
  }
}

/** Whether a flow's mask leaves an attribute fully wildcarded (helper for callers). */
export function isWildcarded(def: KeyAttrDef, m: unknown): boolean {
  return attrMaskIsZero(def, m);
}
