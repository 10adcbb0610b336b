/**
 * A policy decides what the datapath cannot: it answers upcalls (misses, userspace actions) for one bridge, as
 * ofproto's translation does for ovs-vswitchd. It never receives upcalls from the datapath directly: the bridge
 * layer's upcall pipeline asks it about each upcall of a batch and runs the answers as one batch of datapath
 * operations (Datapath.operate), then reports each install back (installed()). A policy's log lines that need
 * attention start with "warning: " (the daemon files them at warning priority).
 */
import type { Datapath, FlowInstall, Upcall, UpcallResult } from '../datapath/types';
import type { BridgeConfig, PortConfig } from '../model/bridges';
import type { PolicyType } from '../model/types';
import type { LoopProtectionView } from './learning/loop-view';

/** A learned MAC a stopping netmgrd hands to the next one (a persistent bridge's table; `lastSeen` in ms, wall clock). */
export interface LearnedMac {
  vlan: number;
  mac: number;
  port: number;
  lastSeen: number;
}

export interface Policy {
  readonly kind: PolicyType;
  /**
   * Starts serving this datapath: the policy keeps it to revalidate (delete or replace flows on its own timer or
   * on configure()). It must not set the datapath's upcall handler (the bridge layer owns it).
   */
  attach(dp: Datapath): void;
  /**
   * The bridge's settings and ports changed (ports added/removed, VLAN modes, learning settings): the policy
   * revalidates what it decided before. Called by the bridge layer after every such change, and once before the
   * first upcall. `bridge` is complete: a learning bridge's `learning` has every field (the policy has no
   * defaults of its own). Throws NetmgrError 'invalid' when its settings are missing.
   */
  configure(bridge: BridgeConfig, ports: readonly PortConfig[]): void;
  /**
   * The datapath already holds flows from an earlier netmgrd (a persistent datapath taken over at start-up): take
   * them over as if this policy had installed them, and the MACs the earlier netmgrd had learned (`learned`, from its
   * stop; its flows may have expired while the MACs had not). Called once, after the first configure().
   */
  adopt?(learned?: readonly LearnedMac[]): void;
  /** The learned (not static) MACs, for the next netmgrd: asked when a persistent bridge is left running. */
  learned?(): LearnedMac[];
  /**
   * Decides one upcall: actions for its packet and optionally a flow to install (undefined: drop it). It must
   * not block, must not call the datapath's putFlow or execute for it (the pipeline does, in one batch after
   * the whole batch is decided), and must not keep `u.packet` past the call (the datapath reuses the buffer).
   * It may delete flows (revalidation). A throw drops this packet only.
   */
  upcall(u: Upcall): UpcallResult | undefined;
  /**
   * The outcome of an install this policy asked for (`install` is the object its upcall() returned): `error`
   * undefined when the datapath holds the flow now. Called after the batch ran, in the batch's order.
   */
  installed?(install: FlowInstall, error: Error | undefined): void;
  /**
   * Loop protection's state (the learning policy's spanning tree and loop detection): plain data, cheap to build,
   * read on request. A policy without loop protection has none. It runs its protocol timers itself (from attach()
   * to detach()), wherever the policy runs.
   */
  loopProtectionView?(): LoopProtectionView;
  /** Stops: timers end and the datapath is forgotten. It must not destroy or change the datapath. */
  detach(): void;
}
