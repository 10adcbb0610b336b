/**
 * The loop-protection keys of the unit schema: the spanning tree (IEEE 802.1D-2004 clause 17, bridge parameters of
 * 17.13 with 17.14's defaults and ranges) and the loop-detection probe under [bridge], the port parameters and guards
 * under [port]. Learning policy only. Relations between keys (17.14's timer inequalities) are checked in stp.ts.
 */
import { row } from './schema-row';

const LEARNING_ONLY = 'Learning policy only.';

export const STP_BRIDGE_ROWS = [
  row('bridge.stp', {
    fills: 'mode',
    type: 'enum',
    values: ['off', 'rstp', 'stp'],
    default: 'off',
    appliesTo: 'bridge',
    doc:
      'Spanning tree: "rstp" runs Rapid Spanning Tree (IEEE 802.1D-2004 clause 17), falling back to legacy STP on a ' +
      'port where an 802.1D-1998 bridge answers; "stp" sends only legacy Configuration and TCN BPDUs (Force ' +
      'Protocol Version 0); "off" runs none and floods BPDUs like multicast, as an unmanaged switch does. ' +
      LEARNING_ONLY,
    example: '"rstp"',
  }),
  row('bridge.stp-priority', {
    fills: 'priority',
    type: 'integer',
    range: [0, 61440],
    step: 4096,
    default: 32768,
    appliesTo: 'bridge',
    doc: 'Bridge Priority (17.13.7), the high part of the Bridge Identifier: the lowest becomes the root bridge.',
    example: '4096',
  }),
  row('bridge.stp-hello-time', {
    fills: 'helloTime',
    type: 'integer',
    range: [1, 10],
    unit: 'seconds',
    default: 2,
    appliesTo: 'bridge',
    doc: 'Hello Time (17.13.6): how often a designated port sends BPDUs.',
    example: '2',
  }),
  row('bridge.stp-max-age', {
    fills: 'maxAge',
    type: 'integer',
    range: [6, 40],
    unit: 'seconds',
    default: 20,
    appliesTo: 'bridge',
    doc:
      'Max Age (17.13.8): how long received root information is kept. It must satisfy 17.14: ' +
      '2 x (stp-forward-delay - 1) >= stp-max-age >= 2 x (stp-hello-time + 1).',
    example: '20',
  }),
  row('bridge.stp-forward-delay', {
    fills: 'forwardDelay',
    type: 'integer',
    range: [4, 30],
    unit: 'seconds',
    default: 15,
    appliesTo: 'bridge',
    doc:
      'Forward Delay (17.13.5): how long a port waits in each of the discarding and learning states when it ' +
      'cannot agree with its neighbour (a legacy STP neighbour or a shared link).',
    example: '15',
  }),
  row('bridge.stp-tx-hold-count', {
    fills: 'txHoldCount',
    type: 'integer',
    range: [1, 10],
    unit: 'BPDUs per second',
    default: 6,
    appliesTo: 'bridge',
    doc: 'Transmit Hold Count (17.13.12): BPDUs a port may send per second at most.',
    example: '6',
  }),
  row('bridge.loop-detect', {
    fills: 'loopDetect',
    type: 'boolean',
    default: true,
    appliesTo: 'bridge',
    doc:
      'Loop detection, with or without a spanning tree: the bridge sends a small probe frame of its own out of each ' +
      'forwarding port, and a port on which one of its own probes comes back is blocked (nothing forwarded or ' +
      'learned there) with a warning naming both ports, until `loop-recovery` has passed. It finds loops through ' +
      'devices that swallow BPDUs. ' +
      LEARNING_ONLY,
    example: 'true',
  }),
  row('bridge.loop-detect-interval', {
    fills: 'loopDetectInterval',
    type: 'integer',
    range: [1, 60],
    unit: 'seconds',
    default: 1,
    appliesTo: 'bridge',
    doc: 'How often a probe is sent out of each forwarding port.',
    example: '1',
  }),
  row('bridge.loop-recovery', {
    fills: 'loopRecovery',
    type: 'integer',
    range: [5, 86400],
    unit: 'seconds',
    default: 300,
    appliesTo: 'bridge',
    doc:
      'How long a port blocked by loop detection stays blocked (then it is probed again), and how long BPDU ' +
      'guard keeps a port err-disabled.',
    example: '300',
  }),
];

export const STP_PORT_ROWS = [
  row('port.stp-cost', {
    fills: 'cost',
    type: 'integer',
    range: [1, 200000000],
    defaultDoc: 'from the link speed, 20000000 / Mbit/s (802.1D-2004 Table 17-3): 20000 for 1 Gbit/s or unknown',
    appliesTo: 'port',
    doc: 'Port Path Cost (17.13.11): the cheapest path to the root bridge wins. ' + LEARNING_ONLY,
    example: '20000',
  }),
  row('port.stp-priority', {
    fills: 'priority',
    type: 'integer',
    range: [0, 240],
    step: 16,
    default: 128,
    appliesTo: 'port',
    doc: 'Port Priority (17.13.10): breaks ties between ports of equal cost; the lowest wins.',
    example: '128',
  }),
  row('port.stp-edge', {
    fills: 'edge',
    type: 'enum-or-boolean',
    values: ['auto'],
    default: 'auto',
    appliesTo: 'port',
    doc:
      '"auto": the port becomes an edge port (forwards at once) when no BPDU arrives within a few seconds ' +
      '(AutoEdgePort, 17.13.3); true: it is an edge port from the start (AdminEdgePort, 17.13.1) and stops being ' +
      'one on the first BPDU; false: never an edge port.',
    example: 'true',
  }),
  row('port.bpdu-guard', {
    fills: 'bpduGuard',
    type: 'boolean',
    default: false,
    appliesTo: 'port',
    doc:
      "A BPDU arriving on the port disables it (err-disabled, logged at warning priority) for the bridge's " +
      'loop-recovery time or until `netmgr stp unblock`: for host ports where no switch belongs.',
    example: 'true',
  }),
  row('port.root-guard', {
    fills: 'rootGuard',
    type: 'boolean',
    default: false,
    appliesTo: 'port',
    doc:
      'The port never becomes the root port: superior BPDUs arriving on it block it while they last (logged), so ' +
      'a switch behind it cannot take over the root.',
    example: 'true',
  }),
  row('port.bpdu-filter', {
    fills: 'bpduFilter',
    type: 'boolean',
    default: false,
    appliesTo: 'port',
    doc: 'BPDUs are neither sent nor processed on the port (dropped); a loop through it goes unseen by the tree.',
    example: 'true',
  }),
];
