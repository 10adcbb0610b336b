/**
 * Structured (slow, obviously-correct) matching of a packet's FlowKey against a flow's key and mask, with the
 * kernel's implicit rules. The classifier's flat-word matching must agree with this; tests check that it does.
 */
import { ETH_P } from './constants';
import { KEY_ATTRS, getField, zeroAttr } from './keyattrs';
import type { FlowKey, FlowMask } from './types';

const isVlanTpid = (t: number | undefined): boolean => t === ETH_P.VLAN_8021Q || t === ETH_P.VLAN_8021AD;
const META = new Set(['priority', 'skbMark', 'recircId', 'dpHash', 'inPort', 'eth']);

function fieldMatches(fv: number | Uint8Array, pv: number | Uint8Array, mv: number | Uint8Array): boolean {
  if (typeof fv === 'number') {
    // 48-bit MACs do not fit bitwise ops: compare in two halves.
    const hi = (x: number): number => Math.floor(x / 0x100000000);
    const f = fv,
      p = pv as number,
      m = mv as number;
    return ((f ^ p) & m) >>> 0 === 0 && ((hi(f) ^ hi(p)) & hi(m)) >>> 0 === 0;
  }
  const p = pv as Uint8Array,
    m = mv as Uint8Array;
  for (let i = 0; i < fv.length; i++) if ((fv[i] ^ p[i]) & m[i]) return false;
  return true;
}

function attrsMatch(flow: FlowKey, mask: FlowMask, pkt: FlowKey, which: (prop: string) => boolean): boolean {
  for (const def of KEY_ATTRS) {
    if (!which(def.prop) || def.prop === 'ethType' || def.prop === 'vlan') continue;
    const fv = flow[def.prop];
    if (fv === undefined) continue;
    let mv = mask[def.prop] ?? zeroAttr(def);
    if (def.prop === 'inPort' && mv !== 0) mv = 0xffffffff;
    const pv = pkt[def.prop] ?? zeroAttr(def);
    for (const fd of def.fields) {
      let m = getField(mv, fd);
      if (fd.text === 'tcpflags') m = (m as number) & 0x0fff;
      if (fd.text === 'label') m = (m as number) & 0xfffff;
      if (!fieldMatches(getField(fv, fd), getField(pv, fd), m)) return false;
    }
  }
  return true;
}

/** Does the packet with key `pkt` (as extracted) match the flow `key`/`mask`? */
export function flowMatchesPacket(key: FlowKey, mask: FlowMask, pkt: FlowKey): boolean {
  if (!attrsMatch(key, mask, pkt, (p) => META.has(p))) return false;
  let f = key,
    m = mask,
    p = pkt;
  for (;;) {
    const flowTagged = key.eth !== undefined && isVlanTpid(f.ethType) && f.vlan !== undefined && f.encap !== undefined;
    if (flowTagged) {
      if (p.ethType !== f.ethType || p.vlan === undefined) return false;
      if (((f.vlan as number) ^ p.vlan) & (m.vlan ?? 0)) return false;
      f = f.encap as FlowKey;
      m = m.encap ?? {};
      p = p.encap ?? {};
      continue;
    }
    // No vlan() here: the kernel forces an exact TCI match on 0, i.e. untagged only.
    if (p.vlan !== undefined) return false;
    if (f.ethType !== undefined && m.ethType && f.ethType !== p.ethType) return false;
    return attrsMatch(f, m, p, (x) => !META.has(x));
  }
}

/** key & mask, attribute by attribute: what a datapath stores and dumps for a megaflow. */
export function applyMask(key: FlowKey, mask: FlowMask): FlowKey {
  const out: FlowKey = {};
  for (const def of KEY_ATTRS) {
    const v = key[def.prop];
    if (v === undefined) continue;
    const m = mask[def.prop] ?? zeroAttr(def);
    const and = (a: number | Uint8Array, b: number | Uint8Array): number | Uint8Array => {
      if (typeof a === 'number') {
        const hi = Math.floor(a / 0x100000000) & Math.floor((b as number) / 0x100000000);
        return hi * 0x100000000 + ((a & (b as number)) >>> 0);
      }
      return a.map((x, i) => x & (b as Uint8Array)[i]);
    };
    if (def.single) (out as Record<string, unknown>)[def.prop] = and(v as number, m as number);
    else {
      const o: Record<string, number | Uint8Array> = {};
      for (const fd of def.fields) o[fd.prop] = and(getField(v, fd), getField(m, fd));
      (out as Record<string, unknown>)[def.prop] = o;
    }
  }
  if (key.encap) out.encap = applyMask(key.encap, mask.encap ?? {});
  return out;
}
