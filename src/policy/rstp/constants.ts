/**
 * Numbers of IEEE 802.1D-2004 (clause 9: BPDU encoding, clause 17: RSTP), named as the standard names them so that a
 * grep for the clause's term finds the code. Times are whole seconds, as the state machines count them (17.13).
 */

/** 7.12.3: the Bridge Group Address, the destination of every BPDU; bridges never forward it. */
export const BRIDGE_GROUP_ADDRESS = 0x0180c2000000;
/** 7.12.3 / ISO/IEC 8802-2: the LLC header of a BPDU, DSAP 0x42, SSAP 0x42, UI (0x03). */
export const LLC_BPDU_HEADER: readonly number[] = [0x42, 0x42, 0x03];
/** IEEE 802.3 frame: destination, source, length. A length field below this value is a length, not an EtherType. */
export const ETH_HEADER_LEN = 14;
export const ETH_LENGTH_MAX = 1500;
/** The shortest Ethernet frame without FCS: BPDUs are padded to it with zeros. */
export const ETH_ZLEN = 60;

/** 9.3.1-9.3.3: Protocol Identifier (always 0) and Protocol Version Identifiers. */
export const PROTOCOL_ID = 0x0000;
export const PROTOCOL_VERSION = { STP: 0, RSTP: 2 } as const;
/** 9.3.1-9.3.3: BPDU Type octet. */
export const BPDU_TYPE = { CONFIG: 0x00, RST: 0x02, TCN: 0x80 } as const;
/** 9.3.4: the minimum octet counts (after LLC) for each kind to be decoded. */
export const BPDU_MIN_LEN = { CONFIG: 35, TCN: 4, RST: 36, RST_V3: 35 } as const;

/** 9.3.1, 9.3.3: the flags octet (bit 1 is the least significant). */
export const BPDU_FLAG = {
  TC: 0x01,
  PROPOSAL: 0x02,
  PORT_ROLE_MASK: 0x0c,
  PORT_ROLE_SHIFT: 2,
  LEARNING: 0x10,
  FORWARDING: 0x20,
  AGREEMENT: 0x40,
  TCA: 0x80,
} as const;
/** 9.3.3: the Port Role field of an RST BPDU (Alternate and Backup share one code). */
export const BPDU_ROLE = { UNKNOWN: 0, ALTERNATE_BACKUP: 1, ROOT: 2, DESIGNATED: 3 } as const;

/** 9.2.8: timer values travel in units of 1/256 s. */
export const BPDU_TIME_UNIT = 256;

/** 17.13, Table 17-1: bridge parameters, defaults and permitted ranges (seconds where a time). */
export const MIGRATE_TIME = 3;
export const DEFAULT_HELLO_TIME = 2;
export const HELLO_TIME_RANGE = [1, 10] as const;
export const DEFAULT_MAX_AGE = 20;
export const MAX_AGE_RANGE = [6, 40] as const;
export const DEFAULT_FORWARD_DELAY = 15;
export const FORWARD_DELAY_RANGE = [4, 30] as const;
export const DEFAULT_TX_HOLD_COUNT = 6;
export const TX_HOLD_COUNT_RANGE = [1, 10] as const;
export const DEFAULT_AGEING_TIME = 300;
export const AGEING_TIME_RANGE = [10, 1000000] as const;

/** 17.14, Table 17-2: Bridge Priority 0-61440 in steps of 4096 (the low 12 bits are the system ID extension). */
export const DEFAULT_BRIDGE_PRIORITY = 32768;
export const BRIDGE_PRIORITY_STEP = 4096;
export const BRIDGE_PRIORITY_MAX = 61440;
/** 17.14: Port Priority 0-240 in steps of 16 (the high 4 bits of the Port Identifier). */
export const DEFAULT_PORT_PRIORITY = 128;
export const PORT_PRIORITY_STEP = 16;
export const PORT_PRIORITY_MAX = 240;
/** 9.2.7: the Port Number is the low 12 bits of the Port Identifier; 0 is not a port. */
export const PORT_NUMBER_MAX = 4095;

/** 17.14, Table 17-3: recommended Port Path Cost by link speed (20,000,000,000 / speed in kb/s), range 1-200,000,000. */
export const PATH_COST_RANGE = [1, 200_000_000] as const;
export const PATH_COST_BY_SPEED_MBPS: ReadonlyArray<readonly [number, number]> = [
  [0.1, 200_000_000],
  [1, 20_000_000],
  [10, 2_000_000],
  [100, 200_000],
  [1_000, 20_000],
  [10_000, 2_000],
  [100_000, 200],
  [1_000_000, 20],
  [10_000_000, 2],
];
/** The cost used when the speed is unknown: that of 1 Gb/s, the common speed of a port netmgr bridges. */
export const DEFAULT_PATH_COST = 20_000;

/** 17.14, Table 17-3: the recommended cost for a link of `mbps` (the entry of the fastest speed not above it). */
export function pathCostForSpeed(mbps: number): number {
  let cost = PATH_COST_BY_SPEED_MBPS[0][1];
  for (const [speed, c] of PATH_COST_BY_SPEED_MBPS) if (mbps >= speed) cost = c;
  return cost;
}
