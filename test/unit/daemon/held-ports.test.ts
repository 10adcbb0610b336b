/** heldPorts: what `netmgr status` says loop protection holds, from the policy's loop-protection view. */
import { heldPorts } from '../../../src/daemon/report';
import type { LoopProtectionView } from '../../../src/policy/learning/loop-view';
import type { RstpPortView, RstpView } from '../../../src/policy/rstp';

const port = (no: number, over: Partial<RstpPortView>): RstpPortView => ({
  no,
  name: `p${no}`,
  portId: `80${no.toString(16).padStart(2, '0')}`,
  role: 'designated',
  state: 'forwarding',
  pathCost: 2000,
  priority: 128,
  edge: false,
  pointToPoint: true,
  protocol: 'rstp',
  designatedBridge: '8000.020000000001',
  designatedPort: '8001',
  bpduIn: 0,
  bpduOut: 0,
  invalidIn: 0,
  filteredIn: 0,
  guards: [],
  ...over,
});

const tree = (ports: RstpPortView[]): RstpView => ({
  bridgeId: '8000.020000000001',
  rootId: '8000.020000000001',
  isRoot: true,
  rootPathCost: 0,
  protocol: 'rstp',
  helloTime: 2,
  maxAge: 20,
  forwardDelay: 15,
  txHoldCount: 6,
  topologyChanges: 0,
  ports,
});

test('nothing held: empty', () => {
  expect(heldPorts({ bridge: 'br0', stp: 'off' })).toEqual([]);
  expect(heldPorts({ bridge: 'br0', stp: 'rstp', rstp: tree([port(1, {})]) })).toEqual([]);
});

test('loop detection blocks, guards and spanning-tree roles, by port number, each port once', () => {
  const v: LoopProtectionView = {
    bridge: 'br0',
    stp: 'rstp',
    rstp: tree([
      port(1, {}),
      port(2, { role: 'alternate', state: 'discarding' }),
      port(3, { role: 'disabled', state: 'discarding', blockedReason: 'bpdu-guard' }),
      port(4, { role: 'designated', state: 'discarding' }),
    ]),
    loopDetect: { intervalS: 2, recoveryS: 300, blocked: [{ no: 4, name: 'p4' }] },
  };
  expect(heldPorts(v)).toEqual([
    { no: 2, name: 'p2', why: 'discarding (spanning tree, alternate port)' },
    { no: 3, name: 'p3', why: 'discarding (bpdu-guard)' },
    { no: 4, name: 'p4', why: 'blocked by loop detection (its own probe came back)' },
  ]);
});
