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

export interface Ownership {
  version: 1;
  /** Namespaces netmgr created (and so may delete). */
  namespaces: string[];
  veths: OwnedVeth[];
}

/** The record before netmgr has created anything. */
export const emptyOwnership = (): Ownership => ({ version: 1, namespaces: [], veths: [] });
