/**
 * IPv6 tunnel endpoints in the packed flow key. The key has one 32-bit word each for the tunnel's source and
 * destination (an IPv4 address); an IPv6 endpoint is written there as an id from 0.0.0.0/8, the "this network"
 * block that is never a source or destination on the wire (RFC 1122, 3.2.1.3), so no IPv4 endpoint is ever such a
 * word. Ids are handed out per datapath, one per address, and kept for its life (there are only as many as the
 * remotes and local addresses of its tunnel ports, and the addresses flows name). Flows cross into and out of the
 * packed table through toTableFlow / fromTableKey, so the policy and `dump-flows` see IPv6 addresses throughout.
 */
import { type FlowKey, type FlowMask, type TunnelKey } from '../../flow';
import { formatIpv6, parseIpv6 } from '../../flow/text';
import { DatapathError } from '../types';

/** The largest id: 0.0.0.0/8 less 0.0.0.0, which means "no endpoint". */
const MAX_ID = 0xffffff;

/** Whether a tunnel endpoint word of the packed key is an IPv6 endpoint's id. */
export const isEndpointId = (word: number): boolean => word !== 0 && word >>> 24 === 0;

const nonZero = (b: Uint8Array): boolean => b.some((x) => x !== 0);
const allOnes = (b: Uint8Array): boolean => b.every((x) => x === 0xff);

export class TunnelEndpointIds {
  private readonly byText = new Map<string, number>();
  private readonly byId: Uint8Array[] = [new Uint8Array(16)];

  /** The id of an IPv6 address given as text (any form parseIpv6 reads). */
  idOfText(text: string): number {
    const a = parseIpv6(text);
    if (a === undefined) throw new DatapathError('EINVAL', `${text} is not an IPv6 address`);
    return this.idOf(a);
  }

  /** The id of an IPv6 address (16 bytes), handed out on first use. */
  idOf(address: Uint8Array): number {
    const text = formatIpv6(address);
    let id = this.byText.get(text);
    if (id !== undefined) return id;
    if (this.byId.length > MAX_ID)
      throw new DatapathError('EBUSY', `more than ${MAX_ID} IPv6 tunnel endpoints in one datapath`);
    id = this.byId.length;
    this.byId.push(Uint8Array.from(address));
    this.byText.set(text, id);
    return id;
  }

  /** The address an id stands for (a copy), or undefined for a word that is no id of this datapath. */
  addressOf(id: number): Uint8Array | undefined {
    const a = isEndpointId(id) ? this.byId[id] : undefined;
    return a && Uint8Array.from(a);
  }
}

/**
 * A flow as the packed table holds it: IPv6 tunnel endpoints of the key replaced by their ids, and an exact mask on
 * them by an exact mask on the id word. A partial IPv6 mask is left as it is (checkTunnelMatch refuses it).
 */
export function toTableFlow<F extends { key?: FlowKey; mask?: FlowMask }>(flow: F, ids: TunnelEndpointIds): F {
  const t = flow.key?.tunnel;
  if (t === undefined || (!nonZero(t.ipv6Src) && !nonZero(t.ipv6Dst))) return flow;
  const key: FlowKey = { ...flow.key, tunnel: endpointsToIds(t, ids) };
  const m = flow.mask?.tunnel;
  if (m === undefined) return { ...flow, key };
  const tunnel: TunnelKey = { ...m };
  for (const [v6, v4] of [
    ['ipv6Src', 'src'],
    ['ipv6Dst', 'dst'],
  ] as const) {
    if (!allOnes(m[v6]) || !nonZero(t[v6])) continue;
    tunnel[v6] = new Uint8Array(16);
    tunnel[v4] = 0xffffffff;
  }
  return { ...flow, key, mask: { ...flow.mask, tunnel } };
}

function endpointsToIds(t: TunnelKey, ids: TunnelEndpointIds): TunnelKey {
  const out: TunnelKey = { ...t };
  if (nonZero(t.ipv6Src)) [out.src, out.ipv6Src] = [ids.idOf(t.ipv6Src), new Uint8Array(16)];
  if (nonZero(t.ipv6Dst)) [out.dst, out.ipv6Dst] = [ids.idOf(t.ipv6Dst), new Uint8Array(16)];
  return out;
}

/** A key of the packed table with its ids turned back into IPv6 endpoints (the key itself when it has none). */
export function fromTableKey(key: FlowKey, ids: TunnelEndpointIds): FlowKey {
  const t = key.tunnel;
  if (t === undefined || (!isEndpointId(t.src) && !isEndpointId(t.dst))) return key;
  const out: TunnelKey = { ...t };
  for (const [v6, v4] of [
    ['ipv6Src', 'src'],
    ['ipv6Dst', 'dst'],
  ] as const) {
    const a = ids.addressOf(t[v4]);
    if (a === undefined) continue;
    out[v6] = a;
    out[v4] = 0;
  }
  return { ...key, tunnel: out };
}

/** The mask that goes with fromTableKey's key: an exact id word becomes an exact IPv6 mask. */
export function fromTableMask(key: FlowKey, mask: FlowMask): FlowMask {
  const t = key.tunnel;
  const m = mask.tunnel;
  if (t === undefined || m === undefined) return mask;
  const out: TunnelKey = { ...m };
  let changed = false;
  for (const [v6, v4] of [
    ['ipv6Src', 'src'],
    ['ipv6Dst', 'dst'],
  ] as const) {
    if (!isEndpointId(t[v4]) || m[v4] !== 0xffffffff) continue;
    out[v6] = new Uint8Array(16).fill(0xff);
    out[v4] = 0;
    changed = true;
  }
  return changed ? { ...mask, tunnel: out } : mask;
}
