/** What RstpBridge reports to its caller (takeEvents()), in the order it happened, ports by number within a step. */
import type { BlockedReason, PortState } from './types';

/** The role as show() and events name it (17.7, without the standard's "Port" suffix). */
export type PortRoleName = 'root' | 'designated' | 'alternate' | 'backup' | 'disabled';

export type RstpEvent =
  /** The port's forwarding state changed: gate learning and forwarding on it from now on. */
  | { kind: 'port-state'; port: number; name: string; from: PortState; to: PortState }
  | { kind: 'port-role'; port: number; name: string; from: PortRoleName; to: PortRoleName }
  /** The root bridge or the root port changed (rootPort undefined: this bridge is the root). */
  | { kind: 'root-changed'; root: string; rootPort?: number; rootPathCost: number }
  /**
   * Remove the MACs learned on this port (17.19.7 fdbFlush): 'immediate' in RSTP; 'age' in STP mode, where the
   * entries are to age out within `ageingMs` (the forward delay) instead of the usual ageing time.
   */
  | { kind: 'flush'; port: number; name: string; mode: 'immediate' | 'age'; ageingMs: number }
  /** Same root, new root port (was Alternate): move the MACs learned on `from` to `to` rather than flush them (as OVS). */
  | { kind: 'move-macs'; from: number; to: number }
  /** A topology change started at this port: it began forwarding (detected) or a TC/TCN arrived on it (received). */
  | { kind: 'topology-change'; port: number; name: string; cause: 'detected' | 'received' }
  /** BPDU guard: a BPDU arrived, the port is err-disabled until recoverPort(). */
  | { kind: 'bpdu-guard'; port: number; name: string; source: string }
  /** Root guard: superior information holds the port discarding (blocked), or no longer does. */
  | { kind: 'root-guard'; port: number; name: string; blocked: boolean }
  | { kind: 'port-recovered'; port: number; name: string; reason: BlockedReason };
