/**
 * Port VLAN modes of the learning switch (OVS's vlan_mode, 802.1Q): which VLAN a received frame belongs to, and
 * whether a port carries a VLAN and with or without a tag. Pure functions.
 *
 * - access (`vlan = N`): untagged on the wire, VLAN N inside; priority-tagged frames (VID 0) count as untagged.
 * - trunk (`trunks = [...]`, optional `native-vlan`): tagged for the listed VLANs; the native VLAN is untagged.
 * - no settings: every VLAN tagged, and untagged frames in VLAN 0 (as an OVS port without tag or trunks).
 */
import type { PortVlanConfig } from '../../model/bridges';

/** VLAN 0: untagged frames of ports without VLAN settings. */
export const UNTAGGED_VLAN = 0;

export interface PortVlanMode {
  no: number;
  name: string;
  /** The settings this mode was made from (undefined: none). */
  config?: PortVlanConfig;
  access?: number;
  trunks?: ReadonlySet<number>;
  native?: number;
}

export function portVlanMode(no: number, name: string, cfg: PortVlanConfig | undefined): PortVlanMode {
  return {
    no,
    name,
    ...(cfg !== undefined ? { config: cfg } : {}),
    ...(cfg?.access !== undefined ? { access: cfg.access } : {}),
    ...(cfg?.trunks !== undefined ? { trunks: new Set(cfg.trunks) } : {}),
    ...(cfg?.native !== undefined ? { native: cfg.native } : {}),
  };
}

export function describeVlanMode(p: PortVlanMode): string {
  if (p.access !== undefined) return `access port of VLAN ${p.access}`;
  if (p.trunks !== undefined) {
    const list = [...p.trunks].sort((a, b) => a - b).join(',');
    return `trunk port of VLANs ${list || 'none'}${p.native !== undefined ? `, native VLAN ${p.native} untagged` : ''}`;
  }
  return 'port without VLAN settings (all VLANs tagged, untagged frames in VLAN 0)';
}

/** The VLAN a frame received on `p` is switched in, or why it is dropped. `vid` is undefined for untagged. */
export function ingressVlan(p: PortVlanMode, vid: number | undefined): { vlan: number } | { drop: string } {
  const untagged = vid === undefined || vid === 0;
  if (p.access !== undefined) {
    return untagged
      ? { vlan: p.access }
      : { drop: `port ${p.name} is an access port of VLAN ${p.access}: frames tagged with VLAN ${vid} are dropped` };
  }
  if (p.trunks !== undefined) {
    if (untagged) {
      return p.native !== undefined
        ? { vlan: p.native }
        : { drop: `port ${p.name} is a trunk without native-vlan: untagged frames are dropped` };
    }
    return p.trunks.has(vid) || vid === p.native
      ? { vlan: vid }
      : { drop: `VLAN ${vid} is not among the trunks of port ${p.name}` };
  }
  return { vlan: untagged ? UNTAGGED_VLAN : vid };
}

/** How `p` carries `vlan`: 'untagged', 'tagged', or undefined when it does not carry it. */
export function egressTag(p: PortVlanMode, vlan: number): 'untagged' | 'tagged' | undefined {
  if (p.access !== undefined) return vlan === p.access ? 'untagged' : undefined;
  if (p.trunks !== undefined) {
    if (vlan === p.native) return 'untagged';
    return p.trunks.has(vlan) ? 'tagged' : undefined;
  }
  return vlan === UNTAGGED_VLAN ? 'untagged' : 'tagged';
}
