import { formatTrace, traceCommand } from '../../../src/cli/trace';
import { EXIT_INVALID, EXIT_OK, UsageError } from '../../../src/cli/command';
import type { TraceResult } from '../../../src/policy/learning/api';
import { commandHarness } from './fake-daemon';

const FORWARD: TraceResult = {
  bridge: 'br0',
  flow: 'in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)',
  inPort: { no: 1, name: 'p1' },
  vlan: 10,
  decision: 'forward',
  reason: 'destination learned on p2',
  steps: [
    'in_port p1(1) is an access port of VLAN 10',
    'destination 50:54:00:00:00:02 learned on p2(2) in VLAN 10, 3 s ago',
    'output to p2(2), a trunk: tag with VLAN 10',
  ],
  outputs: [{ no: 2, name: 'p2', tagged: true }],
  actions: 'push_vlan(vid=10,pcp=0),2',
  megaflow: 'in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800)',
};

const FLOOD: TraceResult = {
  bridge: 'br0',
  flow: 'in_port(1),eth(src=50:54:00:00:00:01,dst=ff:ff:ff:ff:ff:ff)',
  inPort: { no: 1, name: 'p1' },
  vlan: 0,
  decision: 'flood',
  reason: 'broadcast destination, flooding',
  steps: ['broadcast destination: flood in VLAN 0'],
  outputs: [
    { no: 0, name: 'br0' },
    { no: 2, name: 'p2' },
    { no: 3, name: 'p3' },
  ],
  actions: '0,2,3',
  megaflow: 'in_port(1),eth(src=50:54:00:00:00:01,dst=ff:ff:ff:ff:ff:ff)',
};

const DROP: TraceResult = {
  bridge: 'br0',
  flow: 'in_port(3),eth(src=50:54:00:00:00:03,dst=50:54:00:00:00:01),eth_type(0x8100),vlan(vid=20,pcp=0),encap(eth_type(0x0800))',
  inPort: { no: 3, name: 'p3' },
  decision: 'drop',
  reason: 'VLAN 20 is not allowed on p3',
  steps: ['in_port p3(3) is a trunk of VLANs 10,30', 'tagged VLAN 20 is not in the trunk: drop'],
  outputs: [],
  actions: 'drop',
  megaflow: 'in_port(3),eth(),eth_type(0x8100),vlan(vid=20,pcp=0/0x0),encap(eth_type(0x0800))',
};

describe('formatTrace', () => {
  test('forward: the flow, each step, the decision, then the megaflow and datapath actions as ofproto/trace ends', () => {
    expect(formatTrace(FORWARD)).toBe(
      `Flow: ${FORWARD.flow}\n` +
        '\n' +
        'bridge("br0")\n' +
        '-------------\n' +
        ' 1. in_port p1(1) is an access port of VLAN 10\n' +
        ' 2. destination 50:54:00:00:00:02 learned on p2(2) in VLAN 10, 3 s ago\n' +
        ' 3. output to p2(2), a trunk: tag with VLAN 10\n' +
        '\n' +
        'Decision: forward in VLAN 10 from p1(1) to p2(2) tagged: destination learned on p2\n' +
        'Megaflow: in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800)\n' +
        'Datapath actions: push_vlan(vid=10,pcp=0),2\n',
    );
  });
  test('flood lists every output port', () => {
    expect(formatTrace(FLOOD).split('\n').slice(-4)).toEqual([
      'Decision: flood in VLAN 0 from p1(1) to br0(0), p2(2), p3(3): broadcast destination, flooding',
      'Megaflow: in_port(1),eth(src=50:54:00:00:00:01,dst=ff:ff:ff:ff:ff:ff)',
      'Datapath actions: 0,2,3',
      '',
    ]);
  });
  test('flood to nobody says so', () => {
    expect(formatTrace({ ...FLOOD, outputs: [] }).split('\n')).toContain(
      'Decision: flood in VLAN 0 from p1(1) to no port: broadcast destination, flooding',
    );
  });
  test('drop before a VLAN is known names no VLAN and no outputs', () => {
    expect(formatTrace(DROP)).toBe(
      `Flow: ${DROP.flow}\n` +
        '\n' +
        'bridge("br0")\n' +
        '-------------\n' +
        ' 1. in_port p3(3) is a trunk of VLANs 10,30\n' +
        ' 2. tagged VLAN 20 is not in the trunk: drop\n' +
        '\n' +
        'Decision: drop from p3(3): VLAN 20 is not allowed on p3\n' +
        `Megaflow: ${DROP.megaflow}\n` +
        'Datapath actions: drop\n',
    );
  });
});

describe('netmgr trace', () => {
  const h = commandHarness(traceCommand);
  const run = h.run;
  const FLOW = 'in_port(p1),eth(src=50:54:00:00:00:01,dst=ff:ff:ff:ff:ff:ff)';

  test('sends the bridge and the flow text as written, prints the trace', async () => {
    h.fake.answer = { ok: true, result: FLOOD };
    expect(await run('br0', FLOW)).toEqual({ code: EXIT_OK, out: formatTrace(FLOOD), err: '' });
    expect(h.fake.requests).toEqual([{ op: 'trace', bridge: 'br0', flow: FLOW }]);
  });
  test('--json prints the raw result', async () => {
    h.fake.answer = { ok: true, result: FLOOD };
    expect(JSON.parse((await run('--json', 'br0', FLOW)).out)).toEqual(FLOOD);
  });
  test('a flow problem is shown with a caret under the token, exit 2', async () => {
    h.fake.answer = {
      ok: false,
      error: {
        kind: 'flow',
        message: 'm',
        flowErrors: [
          {
            message: "trace needs the packet's source MAC: add src=MAC to eth(...)",
            column: 12,
            token: 'eth',
            source: 'flow',
          },
        ],
      },
    };
    const r = await run('br0', 'in_port(p1),eth(dst=ff:ff:ff:ff:ff:ff)');
    expect(r).toEqual({
      code: EXIT_INVALID,
      out: '',
      err: "flow:12: error: trace needs the packet's source MAC: add src=MAC to eth(...)\n  in_port(p1),eth(dst=ff:ff:ff:ff:ff:ff)\n             ^^^\n",
    });
  });
  test('bad command lines are UsageErrors', async () => {
    await expect(run()).rejects.toBeInstanceOf(UsageError);
    await expect(run('br0')).rejects.toBeInstanceOf(UsageError);
    await expect(run('br0', FLOW, 'extra')).rejects.toBeInstanceOf(UsageError);
    expect(h.fake.requests).toEqual([]);
  });
});
