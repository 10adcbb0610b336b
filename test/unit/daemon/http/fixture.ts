/**
 * A SwitchSnapshot with every part the renderers show: a learning bridge with a MAC table, spanning tree (one
 * port discarding) and loop detection (one port blocked), a link down, a flows bridge without details, the last
 * apply with verification differences, a pending confirm, objects in every state. Names include characters HTML
 * must escape, so the golden page shows they are.
 */
import type { DpPortStats } from '../../../../src/datapath/types';
import type { RstpPortView } from '../../../../src/policy/rstp/show';
import type { SwitchSnapshot } from '../../../../src/daemon/http/snapshot';

const stats = (n: number): DpPortStats => ({
  rxPackets: 10 * n,
  rxBytes: 1000 * n,
  rxDropped: n % 2,
  rxErrors: 0,
  txPackets: 20 * n,
  txBytes: 2000 * n,
  txDropped: 0,
  txErrors: n % 3 === 0 ? 1 : 0,
});

const rstpPort = (no: number, name: string, state: RstpPortView['state']): RstpPortView => ({
  no,
  name,
  portId: `80${no.toString(16).padStart(2, '0')}`,
  role: state === 'forwarding' ? 'designated' : 'alternate',
  state,
  pathCost: 2000,
  priority: 128,
  edge: false,
  pointToPoint: true,
  protocol: 'rstp',
  designatedBridge: '8000.020000000001',
  designatedPort: `80${no.toString(16).padStart(2, '0')}`,
  bpduIn: 5,
  bpduOut: 7,
  invalidIn: 0,
  filteredIn: 0,
  guards: [],
});

export function snapshotFixture(): SwitchSnapshot {
  return {
    status: {
      schema: 'netmgr.status/1',
      daemon: {
        pid: 4242,
        since: '2026-12-04T20:00:00.000Z',
        watching: true,
        unitDir: '/etc/netmgr',
        statusUrl: 'http://127.0.0.1:9477/',
      },
      unitDir: '/etc/netmgr',
      unitsValid: true,
      unitErrors: 0,
      problems: [],
      objects: [
        { object: 'bridge', name: 'sw0', state: 'realised', changes: [] },
        { object: 'bridge', name: 'fl<1>', state: 'pending', changes: ['+ bridge fl<1>'] },
        { object: 'port', name: 'p1', state: 'drifted', changes: ['~ link p1: up -> down'] },
        { object: 'port', name: 'p2', state: 'failed', changes: ['+ veth p2'] },
        { object: 'namespace', name: 'h1', state: 'realised', changes: [] },
      ],
      lastApply: {
        time: '2026-12-04T20:05:00.000Z',
        trigger: 'apply',
        result: 'applied',
        message: 'applied 3 steps',
        steps: 3,
        unitDir: '/etc/netmgr',
        differences: ['link p1 in (root): up differs (want up, have down)'],
      },
      appliedAt: '2026-12-04T20:05:00.000Z',
      counters: { applies: 4, unchanged: 2, failed: 1, invalid: 3, rollbacks: 1 },
      confirm: { appliedAt: '2026-12-04T20:05:00.000Z', deadline: '2026-12-04T20:07:00.000Z', secondsLeft: 95 },
      rolledBack: null,
      bridges: [
        {
          name: 'sw0',
          datapath: 'userspace',
          policy: 'learning',
          stats: { hit: 900, missed: 40, lost: 2, flows: 6, masksHit: 1200, masks: 2 },
          ports: [
            { no: 0, name: 'sw0', stats: stats(0) },
            { no: 1, name: 'p1', stats: stats(1) },
            { no: 2, name: 'p2', stats: stats(2) },
            { no: 3, name: 'p3', stats: stats(3) },
          ],
          held: [
            { no: 2, name: 'p2', why: 'blocked by loop detection (its own probe came back)' },
            { no: 3, name: 'p3', why: 'discarding (spanning tree, alternate port)' },
          ],
        },
        {
          name: 'fl<1>',
          datapath: 'kernel',
          policy: 'flows',
          stats: { hit: 5, missed: 1, lost: 0, flows: 1, masksHit: 5, masks: 1 },
          ports: [{ no: 1, name: 'q"1', stats: stats(4) }],
        },
      ],
    },
    details: [
      {
        name: 'sw0',
        linkUp: { sw0: true, p1: false, p2: true, p3: true },
        fdb: {
          stats: { entries: 3, static: 1, capacity: 2048, learned: 17, expired: 5, evicted: 0, moved: 2, flows: 4 },
          entries: [
            { port: 1, portName: 'p1', vlan: 0, mac: '02:00:00:00:00:01', age: 3, static: false, moves: 0 },
            { port: 2, portName: 'p2', vlan: 10, mac: '02:00:00:00:00:02', age: 0, static: true, moves: 0 },
            { port: 3, portName: 'p3', vlan: 0, mac: '02:00:00:00:00:03', age: 12, static: false, moves: 2 },
          ],
        },
        loop: {
          bridge: 'sw0',
          stp: 'rstp',
          rstp: {
            bridgeId: '8000.020000000001',
            rootId: '8000.020000000001',
            isRoot: true,
            rootPathCost: 0,
            protocol: 'rstp',
            helloTime: 2,
            maxAge: 20,
            forwardDelay: 15,
            txHoldCount: 6,
            topologyChanges: 7,
            ports: [rstpPort(1, 'p1', 'forwarding'), rstpPort(2, 'p2', 'forwarding'), rstpPort(3, 'p3', 'discarding')],
          },
          loopDetect: { intervalS: 5, recoveryS: 30, blocked: [{ no: 2, name: 'p2' }] },
        },
      },
      { name: 'fl<1>', linkUp: { 'q"1': true } },
    ],
    lastReloadAt: '2026-12-04T20:01:00.000Z',
    build: { version: '0.1.0', nodejs: '20.0.0' },
    takenAt: '2026-12-04T20:06:25.000Z',
  };
}
