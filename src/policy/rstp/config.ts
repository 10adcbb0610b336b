/**
 * Bridge and port configuration of RstpBridge: the defaults and ranges of 802.1D-2004 17.13-17.14 in one place,
 * checked when set (a value out of range is the caller's error: NetmgrError 'invalid').
 */
import { NetmgrError } from '../../util/errors';
import {
  AGEING_TIME_RANGE,
  BRIDGE_PRIORITY_MAX,
  BRIDGE_PRIORITY_STEP,
  DEFAULT_AGEING_TIME,
  DEFAULT_BRIDGE_PRIORITY,
  DEFAULT_FORWARD_DELAY,
  DEFAULT_HELLO_TIME,
  DEFAULT_MAX_AGE,
  DEFAULT_PATH_COST,
  DEFAULT_PORT_PRIORITY,
  DEFAULT_TX_HOLD_COUNT,
  FORWARD_DELAY_RANGE,
  HELLO_TIME_RANGE,
  MAX_AGE_RANGE,
  PATH_COST_RANGE,
  PORT_NUMBER_MAX,
  PORT_PRIORITY_MAX,
  PORT_PRIORITY_STEP,
  TX_HOLD_COUNT_RANGE,
  pathCostForSpeed,
} from './constants';

/** 17.13.4 Force Protocol Version: 'stp' (0) sends Configuration and TCN BPDUs only, 'rstp' (2) is the default. */
export type ProtocolVersion = 'stp' | 'rstp';

export interface RstpBridgeConfig {
  /** The bridge's MAC address (48-bit number), the low part of the Bridge Identifier. */
  address: number;
  /** 17.14: 0-61440 in steps of 4096; default 32768. */
  priority?: number;
  protocol?: ProtocolVersion;
  /** Seconds; 17.13: hello 2 (1-10), max age 20 (6-40), forward delay 15 (4-30), with 17.14's relations. */
  helloTime?: number;
  maxAge?: number;
  forwardDelay?: number;
  /** 17.13.12: 1-10, default 6. */
  txHoldCount?: number;
  /** 17.13.2 / 7.9.2: seconds, default 300 (what a flush in STP mode shortens to the forward delay). */
  ageingTime?: number;
}

export interface RstpPortConfig {
  /** For show() and events (an interface name); default `port<no>`. */
  name?: string;
  /** 17.13.11: 1-200,000,000; default from `speedMbps` by Table 17-3, else 20,000 (1 Gb/s). */
  pathCost?: number;
  speedMbps?: number;
  /** 17.13.10: 0-240 in steps of 16; default 128. */
  priority?: number;
  /** 17.13.1 AdminEdgePort: forwards at once, stops being an edge on the first BPDU; default false. */
  adminEdge?: boolean;
  /** 17.13.3 AutoEdgePort: becomes an edge when no BPDU comes for EdgeDelay; default true. */
  autoEdge?: boolean;
  /** 6.4.3 operPointToPointMAC: default true (netmgr assumes a full-duplex link). */
  pointToPoint?: boolean;
  /** A BPDU received err-disables the port (reported; recoverPort() lifts it). */
  bpduGuard?: boolean;
  /** The port is never Root Port; superior information received makes it discard while it lasts (reported). */
  rootGuard?: boolean;
  /** BPDUs are neither sent nor processed. */
  bpduFilter?: boolean;
  /** The source MAC of the port's BPDUs; default the bridge address. */
  mac?: number;
  /** The port is up (link and admin state); default true. */
  up?: boolean;
}

export interface BridgeSettings {
  address: number;
  priority: number;
  protocol: ProtocolVersion;
  helloTime: number;
  maxAge: number;
  forwardDelay: number;
  txHoldCount: number;
  ageingTime: number;
}

const invalid = (msg: string): NetmgrError => new NetmgrError('invalid', `rstp: ${msg}`);

function inRange(name: string, v: number, [lo, hi]: readonly [number, number], step = 1): number {
  if (!Number.isInteger(v) || v < lo || v > hi || v % step !== 0) {
    throw invalid(`${name} ${v} is not in ${lo}-${hi}${step > 1 ? ` in steps of ${step}` : ''}`);
  }
  return v;
}

/** The bridge settings with defaults applied, checked against 17.13's ranges and 17.14's relations. */
export function bridgeSettings(c: RstpBridgeConfig, prev?: BridgeSettings): BridgeSettings {
  const s: BridgeSettings = {
    address: c.address ?? prev?.address,
    priority: c.priority ?? prev?.priority ?? DEFAULT_BRIDGE_PRIORITY,
    protocol: c.protocol ?? prev?.protocol ?? 'rstp',
    helloTime: c.helloTime ?? prev?.helloTime ?? DEFAULT_HELLO_TIME,
    maxAge: c.maxAge ?? prev?.maxAge ?? DEFAULT_MAX_AGE,
    forwardDelay: c.forwardDelay ?? prev?.forwardDelay ?? DEFAULT_FORWARD_DELAY,
    txHoldCount: c.txHoldCount ?? prev?.txHoldCount ?? DEFAULT_TX_HOLD_COUNT,
    ageingTime: c.ageingTime ?? prev?.ageingTime ?? DEFAULT_AGEING_TIME,
  };
  if (!Number.isInteger(s.address) || s.address < 0 || s.address >= 2 ** 48) throw invalid('bridge address');
  inRange('bridge priority', s.priority, [0, BRIDGE_PRIORITY_MAX], BRIDGE_PRIORITY_STEP);
  if (s.protocol !== 'stp' && s.protocol !== 'rstp') throw invalid(`protocol ${String(s.protocol)}`);
  inRange('hello time', s.helloTime, HELLO_TIME_RANGE);
  inRange('max age', s.maxAge, MAX_AGE_RANGE);
  inRange('forward delay', s.forwardDelay, FORWARD_DELAY_RANGE);
  inRange('tx hold count', s.txHoldCount, TX_HOLD_COUNT_RANGE);
  inRange('ageing time', s.ageingTime, AGEING_TIME_RANGE);
  // 17.14: 2 x (Forward Delay - 1) >= Max Age >= 2 x (Hello Time + 1).
  if (2 * (s.forwardDelay - 1) < s.maxAge) throw invalid(`max age ${s.maxAge} > 2 x (forward delay - 1)`);
  if (s.maxAge < 2 * (s.helloTime + 1)) throw invalid(`max age ${s.maxAge} < 2 x (hello time + 1)`);
  return s;
}

export interface PortSettings {
  name: string;
  pathCost: number;
  priority: number;
  adminEdge: boolean;
  autoEdge: boolean;
  pointToPoint: boolean;
  bpduGuard: boolean;
  rootGuard: boolean;
  bpduFilter: boolean;
  mac: number;
}

export function checkPortNumber(no: number): number {
  return inRange('port number', no, [1, PORT_NUMBER_MAX]);
}

/** The port settings with defaults applied (from `prev` when changing a port), checked. */
export function portSettings(no: number, c: RstpPortConfig, bridgeMac: number, prev?: PortSettings): PortSettings {
  const speedCost = c.speedMbps !== undefined ? pathCostForSpeed(c.speedMbps) : undefined;
  const s: PortSettings = {
    name: c.name ?? prev?.name ?? `port${no}`,
    pathCost: c.pathCost ?? speedCost ?? prev?.pathCost ?? DEFAULT_PATH_COST,
    priority: c.priority ?? prev?.priority ?? DEFAULT_PORT_PRIORITY,
    adminEdge: c.adminEdge ?? prev?.adminEdge ?? false,
    autoEdge: c.autoEdge ?? prev?.autoEdge ?? true,
    pointToPoint: c.pointToPoint ?? prev?.pointToPoint ?? true,
    bpduGuard: c.bpduGuard ?? prev?.bpduGuard ?? false,
    rootGuard: c.rootGuard ?? prev?.rootGuard ?? false,
    bpduFilter: c.bpduFilter ?? prev?.bpduFilter ?? false,
    mac: c.mac ?? prev?.mac ?? bridgeMac,
  };
  inRange('path cost', s.pathCost, PATH_COST_RANGE);
  inRange('port priority', s.priority, [0, PORT_PRIORITY_MAX], PORT_PRIORITY_STEP);
  return s;
}
