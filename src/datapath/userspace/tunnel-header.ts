/**
 * The encapsulation headers of tunnel ports, as pure functions over bytes: VXLAN (RFC 7348) and Geneve (RFC 8926),
 * each carried in the payload of a UDP datagram whose IP and UDP headers the kernel's own socket writes and strips
 * (so the kernel routes and resolves neighbours). Groundwork for tunnel ports on the userspace datapath: nothing runs
 * it yet (tunnel port units are refused before anything is applied).
 */
import type { TunnelKind } from '../../model/types';

/** Both headers are 8 bytes without Geneve options. */
export const TUNNEL_HLEN = 8;
/** VXLAN flags: the I bit says the VNI is valid (RFC 7348 section 5). */
export const VXLAN_FLAG_I = 0x08;
/** Geneve protocol type of an Ethernet frame: Transparent Ethernet Bridging. */
export const ETH_P_TEB = 0x6558;
/** Geneve: O (control packet) and C (critical options present) in the second byte. */
const GENEVE_O = 0x80;
const GENEVE_C = 0x40;
export const VNI_MAX = 0xffffff;

/** A decapsulated frame: the VNI it came with, where the inner Ethernet frame starts, and Geneve's OAM bit. */
export interface Decapsulated {
  vni: number;
  /** Offset of the inner Ethernet frame in the datagram payload. */
  offset: number;
  oam: boolean;
}

/** The UDP payload for `frame` sent on VNI `vni`: header, then the frame. */
export function encapsulate(kind: TunnelKind, vni: number, frame: Uint8Array): Uint8Array {
  if (!Number.isInteger(vni) || vni < 0 || vni > VNI_MAX) throw new RangeError(`VNI ${vni} is not 0..${VNI_MAX}`);
  const out = new Uint8Array(TUNNEL_HLEN + frame.length);
  if (kind === 'vxlan') out[0] = VXLAN_FLAG_I;
  else {
    // Version 0, no options, not OAM, protocol TEB.
    out[2] = ETH_P_TEB >> 8;
    out[3] = ETH_P_TEB & 0xff;
  }
  out[4] = (vni >> 16) & 0xff;
  out[5] = (vni >> 8) & 0xff;
  out[6] = vni & 0xff;
  out.set(frame, TUNNEL_HLEN);
  return out;
}

/**
 * The header of a received UDP payload, or why the datagram is dropped: too short for a header and an Ethernet
 * header, a VXLAN header without the I flag, a Geneve version other than 0, another protocol than Ethernet, or
 * critical options (C bit), which a receiver that understands no option must drop (RFC 8926 section 3.4).
 */
export function decapsulate(kind: TunnelKind, payload: Uint8Array): Decapsulated | { drop: string } {
  const ETH_HLEN = 14;
  if (payload.length < TUNNEL_HLEN + ETH_HLEN)
    return { drop: `${payload.length} bytes: shorter than a ${kind} header and an Ethernet header` };
  const vni = (payload[4] << 16) | (payload[5] << 8) | payload[6];
  if (kind === 'vxlan') {
    if (!(payload[0] & VXLAN_FLAG_I)) return { drop: 'VXLAN header without the I flag (no valid VNI)' };
    return { vni, offset: TUNNEL_HLEN, oam: false };
  }
  const version = payload[0] >> 6;
  if (version !== 0) return { drop: `Geneve version ${version} (only 0 is defined)` };
  const protocol = (payload[2] << 8) | payload[3];
  if (protocol !== ETH_P_TEB) return { drop: `Geneve protocol 0x${protocol.toString(16)} is not Ethernet (0x6558)` };
  if (payload[1] & GENEVE_C) return { drop: 'Geneve critical options (C bit), which netmgr does not understand' };
  const offset = TUNNEL_HLEN + (payload[0] & 0x3f) * 4;
  if (payload.length < offset + ETH_HLEN) return { drop: 'Geneve options run past the datagram' };
  return { vni, offset, oam: (payload[1] & GENEVE_O) !== 0 };
}
