/** Derives the Linux links the units imply (pure). */
import { DesiredState, PortSpec } from '../model/types';
import { VethEnd } from './types';

export interface WantedVeth {
  unit: string;
  /** The end named by the unit. */
  a: VethEnd;
  /** The peer end. */
  b: VethEnd;
  /** True when end a is a datapath port (the port names a bridge). */
  onBridge: boolean;
}

export function wantedVeth(p: PortSpec): WantedVeth {
  const peer = p.peer as string; // units always fill in the derived name for veths
  if (p.bridge === undefined) {
    return {
      unit: p.name,
      onBridge: false,
      a: {
        namespace: p.localNamespace,
        name: p.name,
        mtu: p.link.mtu,
        mac: p.localMac,
        state: p.link.state,
        addresses: p.localAddresses,
      },
      b: {
        namespace: p.namespace,
        name: peer,
        mtu: p.link.mtu,
        mac: p.link.mac,
        state: p.link.state,
        addresses: p.addresses,
      },
    };
  }
  return {
    unit: p.name,
    onBridge: true,
    a: { namespace: null, name: p.name, mtu: p.link.mtu, state: 'up', addresses: [] },
    b: {
      namespace: p.namespace,
      name: peer,
      mtu: p.link.mtu,
      mac: p.link.mac,
      state: p.link.state,
      addresses: p.addresses,
    },
  };
}

export function wantedVeths(desired: DesiredState): WantedVeth[] {
  return [...desired.ports.values()].filter((p) => p.kind === 'veth').map(wantedVeth);
}
