/** Loop protection of a learning bridge as the model carries it: spanning tree and loop detection settings. */

/** `[bridge] stp`: no spanning tree (BPDUs flooded), RSTP (802.1D-2004 clause 17), or legacy STP (Force Protocol Version 0). */
export type StpMode = 'off' | 'rstp' | 'stp';
/** `stp-edge`: "auto" (AutoEdgePort, 17.13.3), true (AdminEdgePort, 17.13.1), false (neither). */
export type StpEdge = 'auto' | boolean;

/** A port's spanning-tree settings (`[port] stp-*`, guards), with the standard's defaults filled in. */
export interface PortStpSettings {
  /** 17.13.11 Port Path Cost; absent: from the link speed (Table 17-3). */
  cost?: number;
  /** 17.13.10 Port Priority. */
  priority: number;
  edge: StpEdge;
  bpduGuard: boolean;
  rootGuard: boolean;
  bpduFilter: boolean;
}

/** The settings of one port, by its unit name, as the bridge's loop protection carries them. */
export interface PortStpConfig extends PortStpSettings {
  port: string;
}

/**
 * Loop protection of a learning bridge: the spanning tree (17.13's bridge parameters, seconds) and the loop-detection
 * probe, with the per-port settings (by port name, sorted) so that one in-place change carries them all.
 */
export interface StpConfig {
  mode: StpMode;
  priority: number;
  helloTime: number;
  maxAge: number;
  forwardDelay: number;
  txHoldCount: number;
  loopDetect: boolean;
  /** Seconds between probes out of each forwarding port. */
  loopDetectInterval: number;
  /** Seconds a port where a loop was found stays blocked. */
  loopRecovery: number;
  /** The ports whose settings are not all the defaults, sorted by name. */
  ports: PortStpConfig[];
}

const STP_FIELDS = [
  'mode',
  'priority',
  'helloTime',
  'maxAge',
  'forwardDelay',
  'txHoldCount',
  'loopDetect',
  'loopDetectInterval',
  'loopRecovery',
] as const;
const PORT_STP_FIELDS = ['port', 'cost', 'priority', 'edge', 'bpduGuard', 'rootGuard', 'bpduFilter'] as const;

/** One port's settings as text, field by field (records from JSON keep no key order to rely on). */
export const portStpKey = (p: PortStpConfig): string => PORT_STP_FIELDS.map((f) => String(p[f])).join('/');

/** Same loop-protection settings (undefined: none); ports compared as a set. */
export function sameStp(a: StpConfig | undefined, b: StpConfig | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (STP_FIELDS.some((f) => a[f] !== b[f]) || a.ports.length !== b.ports.length) return false;
  const keys = new Set(a.ports.map(portStpKey));
  return b.ports.every((p) => keys.has(portStpKey(p)));
}
