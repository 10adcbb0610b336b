/**
 * The ownership record: what netmgr created, so that removing a unit removes exactly that and nothing else
 * (netplan's lesson: stateless apply leaves garbage; ifupdown2's: reload must not touch what it does not own).
 * The plan reads it, apply writes it (src/apply/ownership.ts keeps it on disk).
 */
import type { NamespaceName } from './types';

export interface OwnedVeth {
  /** The unit that declared it. */
  unit: string;
  namespace: NamespaceName;
  name: string;
  peerNamespace: NamespaceName;
  peer: string;
}

/** A route moved off a NIC, with the protocol it had (it goes back with it). */
export interface MovedRoute {
  family: 4 | 6;
  to: string;
  via?: string;
  metric: number;
  table: number;
  protocol: number;
}

/**
 * What a `take-over = true` port moved onto its bridge's own port: the NIC's addresses and routes, and its MAC,
 * which the bridge's own port took. They are the bridge's while the port keeps take-over, and go back to the NIC
 * when it stops.
 */
export interface OwnedTakeover {
  /** The port unit (named like the NIC). */
  unit: string;
  bridge: string;
  /** The NIC's MAC, which the bridge's own port took. */
  mac?: string;
  addresses: string[];
  routes: MovedRoute[];
}

export interface Ownership {
  version: 1;
  /** Namespaces netmgr created (and so may delete). */
  namespaces: string[];
  veths: OwnedVeth[];
  /** Uplinks taken over (absent in records written before take-over existed). */
  takeovers?: OwnedTakeover[];
}

/** The record before netmgr has created anything. */
export const emptyOwnership = (): Ownership => ({ version: 1, namespaces: [], veths: [] });
